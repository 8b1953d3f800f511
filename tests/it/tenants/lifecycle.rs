//! Issue 14, items 1 and 2: provider-managed tenants (`tenants/<name>.yml` in the manager
//! repository) created, updated and destroyed from the manager's Git history. A real Git
//! repository made by the test, real Terraform, local state: adding, changing and deleting
//! tenant files plans create, update and destroy of exactly those tenants; a rename is
//! refused; a tenant with a protected component is not destroyed by its deletion alone.

use std::path::Path;

use super::counts;
use crate::support::cli::{Output, Run};
use crate::support::manager::Manager;

fn tenant(name: &str, components: &str) -> String {
    format!(
        "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: {name}\nspec:\n  environments: [staging]\n  components:\n{components}"
    )
}

const QUEUE: &str = "    - { name: jobs, type: queue }\n";
const FIFO_QUEUE: &str = "    - { name: jobs, type: queue, inputs: { fifo: true } }\n";
const BUCKET: &str = "    - { name: files, type: bucket }\n";
const DB: &str = "    - { name: db, type: database, inputs: { engine: postgres, storage_gb: 20 } }\n";

/// Every address Terraform plans to act on belongs to `tenant`'s state (the streamed log
/// names only modules; the key names the tenant).
fn planned_in(out: &Output, tenant: &str) {
    let key = format!("tenants/{tenant}/staging");
    assert_eq!(out.json()["customer"], format!("tenants/{tenant}"), "{}", out.stdout);
    assert!(out.json()["plan_key"].as_str().is_some_and(|k| k.contains(&key)), "{}", out.stdout);
}

#[test]
fn adding_changing_and_deleting_tenant_files_creates_updates_and_destroys_exactly_those_tenants() {
    let m = Manager::new();
    let c0 = m.git(&["rev-parse", "HEAD"]);

    // Two tenants added: each is created, under its own state key.
    m.write("alpha", &tenant("alpha", QUEUE));
    m.write("beta", &tenant("beta", BUCKET));
    let c1 = m.commit("add alpha and beta");
    assert_eq!(m.changed(&c0, &c1), ["create alpha staging", "create beta staging"]);
    for name in ["alpha", "beta"] {
        let plan = m.plan(name);
        planned_in(&plan, name);
        let (add, change, destroy) = counts(&plan);
        assert!(add > 0 && change == 0 && destroy == 0, "{name}: {}", plan.stdout);
        m.apply(name, None);
        assert!(m.resources(name) > 0, "{name}: state at tenants/{name}/staging");
    }
    let beta_resources = m.resources("beta");

    // alpha changed and beta deleted: an update of alpha, a destroy of beta, nothing else.
    m.write("alpha", &tenant("alpha", FIFO_QUEUE));
    std::fs::remove_file(m.repo().join("tenants/beta.yml")).expect("rm");
    let c2 = m.commit("change alpha, delete beta");
    assert_eq!(m.changed(&c1, &c2), ["update alpha staging", "destroy beta staging"]);

    let update = m.plan("alpha");
    planned_in(&update, "alpha");
    let (add, change, destroy) = counts(&update);
    assert!(add + change + destroy > 0, "the input change plans something: {}", update.stdout);
    m.apply("alpha", None);

    // The deleted file plans from its last applied version, through the destroy path.
    let plan = m.run(&["destroy", "--tenant", "beta", "--env", "staging"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    planned_in(&plan, "beta");
    assert_eq!(counts(&plan), (0, 0, beta_resources as u64), "{}", plan.stdout);
    let applied_at = plan.json()["sha"].as_str().expect("sha").to_owned();
    assert_eq!(applied_at, c1, "the destroy uses the commit last applied");
    // A plain apply reads HEAD, where the file is gone: it names the apply that works.
    let plain =
        Run::new(m.sb.path()).args(["apply", "--tenant", "beta", "--env", "staging", "--repo", "manager"]).run();
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(
        plain.stderr.contains("infra-manager apply --tenant beta --env staging --last-applied"),
        "{}",
        plain.stderr
    );
    let out = m.run(&["apply", "--tenant", "beta", "--env", "staging", "--last-applied"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["sha"], c1.as_str());
    assert_eq!(m.resources("beta"), 0, "beta destroyed");
    assert!(m.resources("alpha") > 0, "alpha untouched");

    // The runs are recorded under the tenant's identity.
    let history = Run::new(m.sb.path()).args(["--json", "history", "--tenant", "beta"]).run();
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert_eq!(
        history.run_kinds()[..3],
        ["apply succeeded", "apply failed", "destroy succeeded"],
        "the refused plain apply is recorded too: {}",
        history.stdout
    );
    // ... and `status` tells the latest change step by step: the destroy, applied.
    let status = Run::new(m.sb.path()).args(["--json", "status", "--tenant", "beta", "--env", "staging"]).run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let beta = &status.json()["environments"][0];
    assert_eq!(
        (beta["customer"].as_str(), beta["current"].as_str()),
        (Some("tenants/beta"), Some("destroyed")),
        "{beta}"
    );

    // A plan for the deleted tenant at HEAD finds no file.
    let gone = m.run(&["plan", "--tenant", "beta", "--env", "staging"]);
    assert_eq!(gone.code, 2, "{}", gone.stderr);

    // A rename is refused, naming both files; nothing is planned.
    m.git(&["mv", "tenants/alpha.yml", "tenants/gamma.yml"]);
    let c3 = m.commit("rename alpha");
    let renamed = m.run(&["changed", "--base", &c2, "--head", &c3]);
    assert_eq!(renamed.code, 2, "{}", renamed.stdout);
    let text = format!("{}{}", renamed.stdout, renamed.stderr);
    assert!(text.contains("`tenants/alpha.yml` was renamed to `tenants/gamma.yml`"), "{text}");
    assert!(text.contains("orphan"), "{text}");

    // An edit that loses `spec.environments` is an error, never a destroy of everything.
    m.write("gamma", &tenant("alpha", FIFO_QUEUE).replace("  environments: [staging]\n", ""));
    let broken = m.commit("break gamma");
    let out = m.run(&["changed", "--base", &c3, "--head", &broken]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("missing required key `spec.environments`"), "{}", out.stdout);

    // No change to tenants: an empty matrix.
    let c4 = m.commit("nothing");
    assert!(m.changed(&broken, &c4).is_empty());
}

#[test]
fn a_deleted_tenant_with_a_protected_component_is_not_destroyed_until_allowed() {
    let m = Manager::new();
    let c0 = m.git(&["rev-parse", "HEAD"]);
    m.write("store", &tenant("store", DB));
    let c1 = m.commit("add store");
    assert_eq!(m.changed(&c0, &c1), ["create store staging"]);
    m.plan("store");
    m.apply("store", None);
    let before = m.plans_of("store");

    std::fs::remove_file(m.repo().join("tenants/store.yml")).expect("rm");
    let c2 = m.commit("delete store");
    assert_eq!(m.changed(&c1, &c2), ["destroy store staging"]);
    let refused = m.run(&["destroy", "--tenant", "store", "--env", "staging"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let error = &refused.json()["errors"][0];
    assert_eq!(error["file"], "tenants/store.yml", "{error}");
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(8), Some(7)), "{error}");
    assert!(
        error["message"].as_str().is_some_and(|m| m.contains("component `db` (type `database`, protected)")),
        "{error}"
    );
    assert_eq!(m.plans_of("store"), before, "refused before any plan is stored");
    assert!(m.resources("store") > 0, "nothing destroyed");

    // Restored with `allow_destroy: true` and applied: the deletion then destroys.
    let allowed = DB.replace("type: database,", "type: database, allow_destroy: true,");
    m.write("store", &tenant("store", &allowed));
    m.commit("allow destroying store's database");
    m.plan("store");
    m.apply("store", None);
    std::fs::remove_file(m.repo().join("tenants/store.yml")).expect("rm");
    m.commit("delete store");
    let plan = m.run(&["destroy", "--tenant", "store", "--env", "staging"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(counts(&plan).0, 0);
    assert!(counts(&plan).2 > 0, "{}", plan.stdout);
}

#[test]
fn a_tenant_file_is_kind_tenant_named_after_its_file() {
    let m = Manager::new();
    m.write("alpha", &tenant("beta", QUEUE).replace("kind: Tenant", "kind: Customer"));
    m.commit("a wrong tenant file");
    let out = m.run(&["plan", "--tenant", "alpha", "--env", "staging"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let errors = out.json()["errors"].clone();
    let at: Vec<(u64, u64, String)> = errors
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["column"].as_u64().unwrap_or(0),
                e["file"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(at, [(2, 7, "tenants/alpha.yml".to_owned()), (4, 9, "tenants/alpha.yml".to_owned())], "{errors}");
    assert!(!Path::new(&m.state("alpha")).exists());

    // `validate` checks a manager checkout's tenant files as tenants.
    let out = Run::new(m.sb.path()).args(["--json", "validate", "manager/tenants/alpha.yml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.json()["errors"].as_array().map(Vec::len), Some(2), "{}", out.stdout);
    m.write("alpha", &tenant("alpha", QUEUE));
    let out = Run::new(m.sb.path()).args(["--json", "validate", "manager/tenants/alpha.yml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Tenants are schema v2 only: a v1-looking file is refused, not read as v1.
    m.write("old", "project_name: old\n");
    m.commit("a v1 tenant file");
    let out = m.run(&["plan", "--tenant", "old", "--env", "staging"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = &out.json()["errors"][0];
    assert!(error["message"].as_str().is_some_and(|m| m.contains("schema v2 only")), "{error}");
}

#[test]
fn tenant_files_may_only_use_the_types_the_registry_allows() {
    let m = Manager::new();
    m.sb.add_config("tenants:\n  types: [queue]\n  environments: [staging]\n");
    let c0 = m.git(&["rev-parse", "HEAD"]);
    m.write("alpha", &tenant("alpha", BUCKET));
    std::fs::write(m.repo().join("tenants/README.md"), "notes\n").expect("write");
    let c1 = m.commit("a tenant with a bucket, and a README");
    // Issue 19: the matrix reads validated files, so the type is refused there already.
    let changed = m.run(&["changed", "--base", &c0, "--head", &c1]);
    assert_eq!(changed.code, 2, "{}", changed.stdout);
    for out in [changed, m.run(&["plan", "--tenant", "alpha", "--env", "staging"])] {
        assert_eq!(out.code, 2, "{}", out.stderr);
        let error = &out.json()["errors"][0];
        assert_eq!((error["file"].as_str(), error["line"].as_u64()), (Some("tenants/alpha.yml"), Some(8)), "{error}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("`bucket`")), "{error}");
    }
    assert!(!m.state("alpha").exists(), "nothing planned");
    // The README alone is no tenant.
    std::fs::remove_file(m.repo().join("tenants/alpha.yml")).expect("rm");
    let c2 = m.commit("only the README");
    assert!(m.changed(&c0, &c2).is_empty(), "the README is no tenant");
}

/// Issue 23, item 3: an apply run takes what is pending from the files and the records,
/// not from its event. Two tenant changes merged in quick succession, the first run
/// dropped by the concurrency group: the second run applies both, and once every tenant
/// is at its file nothing is pending.
#[test]
fn a_dropped_apply_run_is_caught_up_by_the_next() {
    let m = Manager::new();
    m.write("alpha", &tenant("alpha", QUEUE));
    let first = m.commit("add alpha");
    m.write("beta", &tenant("beta", BUCKET));
    let second = m.commit("add beta");
    // The second run's event names only its own change...
    assert_eq!(m.changed(&first, &second), ["create beta staging"]);
    // ... but what is pending is both, and the run applies both.
    assert_eq!(m.pending(), ["create alpha staging", "create beta staging"]);
    for name in ["alpha", "beta"] {
        m.plan(name);
        m.apply(name, None);
        assert!(m.resources(name) > 0, "{name} applied");
    }
    assert!(m.pending().is_empty(), "converged");

    // An edit is an update, a deletion a destroy, until each is applied.
    m.write("alpha", &tenant("alpha", FIFO_QUEUE));
    std::fs::remove_file(m.repo().join("tenants/beta.yml")).expect("rm");
    m.commit("change alpha, delete beta");
    assert_eq!(m.pending(), ["update alpha staging", "destroy beta staging"]);
    m.plan("alpha");
    m.apply("alpha", None);
    let destroy = m.run(&["destroy", "--tenant", "beta", "--env", "staging"]);
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    let out = m.run(&["apply", "--tenant", "beta", "--env", "staging", "--last-applied"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(m.pending().is_empty(), "converged again");
}
