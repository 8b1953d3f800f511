//! Schema v2 files planned and applied through the real binary, real Terraform, local mode:
//! the four shipped catalog types across two environments apply and re-plan clean; removing
//! a component plans exactly its resources' destruction; changing one input plans changes
//! of that component only; a protected component (a database) is only removed in two
//! applied changes.

use std::path::PathBuf;

use super::{counts, v2_fixtures};
use crate::support::cli::{Output, Run, Sandbox, require_terraform};

/// The protected component: a database (`module.db`, type `database`: `protect_destroy`).
const DB: &str = "    - name: db
      type: database
      inputs: { engine: postgres, storage_gb: 20 }
      environments:
        production: { storage_gb: 100, multi_az: true, instance_class: db.t3.small }
";

/// The component removed in one test: a queue (`module.jobs`).
const JOBS: &str = "    - name: jobs
      type: queue
      inputs: { fifo: true }
      environments:
        staging: { max_receive_count: 3 }
";

fn four_components() -> String {
    let text = std::fs::read_to_string(v2_fixtures().join("good/four-components.yml")).expect("read fixture");
    assert!(text.contains(JOBS), "the fixture still has the `jobs` component as written here");
    assert!(text.contains(DB), "the fixture still has the `db` component as written here");
    text
}

fn sandbox(text: &str) -> Sandbox {
    require_terraform();
    let sb = Sandbox::new();
    std::fs::write(sb.variables(), text).expect("write");
    sb
}

fn state_file(sb: &Sandbox, env: &str) -> PathBuf {
    sb.store().join(format!("state/local/shop/{env}/terraform.tfstate"))
}

/// The resource addresses Terraform said it plans to act on, from the streamed log.
fn planned_addresses(out: &Output) -> Vec<String> {
    out.stderr
        .lines()
        .filter_map(|line| line.split_once(": Plan to "))
        .map(|(address, _)| address.trim_start_matches([' ', '│']).to_owned())
        .collect()
}

/// Resource instances of `module` in the state of `env`.
fn instances_of(sb: &Sandbox, env: &str, module: &str) -> usize {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(sb, env)).expect("state written")).expect("json");
    state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["module"] == module)
        .map(|r| r["instances"].as_array().map_or(0, Vec::len))
        .sum()
}

fn plan_and_apply(sb: &Sandbox, env: &str) -> (u64, u64, u64) {
    let plan = sb.run("plan", env);
    assert_eq!(plan.code, 0, "{env}: {}", plan.stderr);
    let planned = counts(&plan);
    let apply = sb.run("apply", env);
    assert_eq!(apply.code, 0, "{env}: {}", apply.stderr);
    assert_eq!(apply.json()["status"], "ok");
    planned
}

#[test]
fn four_components_in_two_environments_apply_and_replan_with_no_changes() {
    let sb = sandbox(&four_components());
    for env in ["staging", "production"] {
        let (add, change, destroy) = plan_and_apply(&sb, env);
        assert_eq!((change, destroy), (0, 0), "{env}");
        // One state per customer environment, holding every component's resources.
        for module in ["module.web", "module.uploads", "module.jobs", "module.db"] {
            assert!(instances_of(&sb, env, module) > 0, "{env}: no resources of {module}");
        }
        let total: usize = ["module.web", "module.uploads", "module.jobs", "module.db"]
            .iter()
            .map(|m| instances_of(&sb, env, m))
            .sum();
        assert_eq!(add, total as u64, "{env}: the plan added exactly the components' resources");
        let replan = sb.run("plan", env);
        assert_eq!(replan.code, 0, "{env}: {}", replan.stderr);
        assert_eq!(replan.json()["has_changes"], false, "{env}: {}", replan.stderr);
        assert_eq!(counts(&replan), (0, 0, 0), "{env}");
        // Every component's outputs reach the root as `<component>_<output>`.
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state_file(&sb, env)).expect("state")).expect("json");
        let outputs: Vec<&String> = state["outputs"].as_object().expect("outputs").keys().collect();
        assert_eq!(outputs.len(), 14, "{env}: {outputs:?}");
        for name in ["web_vpc_id", "uploads_bucket_name", "jobs_queue_arn", "db_endpoint"] {
            assert!(outputs.iter().any(|o| *o == name), "{env}: no {name} in {outputs:?}");
        }
        assert_eq!(state["outputs"]["db_endpoint"]["value"].as_str().map(|e| e.contains(env)), Some(true));
        // ... and back to the customer: applying the (empty) re-plan reports them, as state has them.
        let applied = sb.run("apply", env);
        assert_eq!(applied.code, 0, "{}", applied.stderr);
        let reported = applied.json()["outputs"].clone();
        for name in &outputs {
            assert_eq!(reported[name.as_str()], state["outputs"][name.as_str()]["value"], "{env}: {name}");
        }
    }
}

#[test]
fn removing_a_component_plans_exactly_its_resources_destruction() {
    let text = four_components();
    let sb = sandbox(&text);
    plan_and_apply(&sb, "staging");
    let jobs = instances_of(&sb, "staging", "module.jobs");
    assert!(jobs > 0);
    std::fs::write(sb.variables(), text.replace(JOBS, "")).expect("write");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(counts(&plan), (0, 0, jobs as u64), "{}", plan.stderr);
    let addresses = planned_addresses(&plan);
    assert_eq!(addresses.len(), jobs, "{addresses:?}");
    assert!(addresses.iter().all(|a| a.starts_with("module.jobs.")), "{addresses:?}");
    // The comment says it first and loudly, per component.
    let shown = Run::new(sb.path()).args(["plan", "--source-dir", "shop", "--env", "staging"]).run();
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let caution =
        format!("> **This plan destroys {jobs} resources of component `jobs`**: it was removed from the file");
    let at = shown.stdout.find(&caution).unwrap_or_else(|| panic!("{}", shown.stdout));
    assert!(at < shown.stdout.find("| Customer |").expect("the table"), "above everything else");
}

#[test]
fn changing_one_input_plans_changes_of_that_component_only() {
    let text = four_components();
    let sb = sandbox(&text);
    plan_and_apply(&sb, "staging");
    let changed = text.replace("inputs: { retention_days: 30,", "inputs: { retention_days: 60,");
    assert_ne!(changed, text, "the fixture still sets `uploads`' retention_days to 30");
    std::fs::write(sb.variables(), changed).expect("write");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let (add, change, destroy) = counts(&plan);
    assert!(
        change > 0 && add == 0 && destroy == 0,
        "an update in place: {:?}\n{}",
        (add, change, destroy),
        plan.stderr
    );
    let addresses = planned_addresses(&plan);
    assert_eq!(addresses.len() as u64, change, "{addresses:?}");
    assert!(addresses.iter().all(|a| a.starts_with("module.uploads.")), "{addresses:?}");
}

/// Local mode reads the configuration last applied from the kept versions of the file, so
/// the two-step rule holds without a Git history: removing `db` is refused at its line (as
/// applied) with nothing planned; after `allow_destroy: true` is applied, the removal plans
/// exactly `db`'s destruction.
#[test]
fn a_protected_component_is_removed_only_after_allow_destroy_is_applied() {
    let text = four_components();
    let sb = sandbox(&text);
    plan_and_apply(&sb, "staging");
    let db = instances_of(&sb, "staging", "module.db");
    let (db_start, _) = text.split_once(DB).expect("db in the fixture");
    let db_line = db_start.lines().count() + 1;
    let without_db = text.replace(DB, "");

    std::fs::write(sb.variables(), &without_db).expect("write");
    let refused = sb.run("plan", "staging");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let error = &refused.json()["errors"][0];
    assert_eq!(
        (&error["file"], &error["line"], &error["column"]),
        (&"infra/variables.yml".into(), &db_line.into(), &7.into())
    );
    assert!(
        refused.stdout.contains("component `db` (type `database`, protected) would be destroyed"),
        "{}",
        refused.stdout
    );
    assert!(refused.stdout.contains("allow_destroy: true"), "{}", refused.stdout);
    assert!(planned_addresses(&refused).is_empty(), "nothing is planned: {}", refused.stderr);

    // Setting the flag alone is refused too until it is applied: the rule reads what was applied.
    let allowed = text.replace(DB, &format!("{DB}      allow_destroy: true\n"));
    std::fs::write(sb.variables(), &allowed).expect("write");
    assert_eq!(plan_and_apply(&sb, "staging"), (0, 0, 0), "the flag changes no resource");
    std::fs::write(sb.variables(), &without_db).expect("write");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(counts(&plan), (0, 0, db as u64), "{}", plan.stderr);
    assert!(planned_addresses(&plan).iter().all(|a| a.starts_with("module.db.")), "{}", plan.stderr);
}
