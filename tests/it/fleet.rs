//! Fleet runs end to end: many customers in one process (local mode, real Terraform).

use crate::support::cli::{Run, Sandbox, require_terraform, v1_variables, walk};

/// `count` customers `fleet/app<i>` registered for staging, each with a checkout of the
/// template under `customers/fleet/app<i>/`.
fn fleet(sb: &Sandbox, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count).map(|i| format!("fleet/app{i:02}")).collect();
    let mut registry = String::from("customers:\n");
    for name in &names {
        registry.push_str(&format!("  - repo: {name}\n    environments: [staging]\n"));
        checkout(sb, name);
    }
    sb.add_config(&registry);
    names
}

/// A checkout of the v1 customer file for `name` under `customers/`, minus production: these
/// customers are enabled for staging only.
fn checkout(sb: &Sandbox, name: &str) {
    let infra = sb.path().join("customers").join(name).join("infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    let template = std::fs::read_to_string(v1_variables()).expect("read");
    let staging: String =
        template.lines().filter(|l| !l.trim_start().starts_with("production:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(infra.join("variables.yml"), staging).expect("write");
}

fn variables(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    sb.path().join("customers").join(name).join("infra/variables.yml")
}

#[test]
fn plan_all_plans_every_target_and_one_broken_customer_never_stops_the_others() {
    require_terraform();
    let sb = Sandbox::new();
    let names = fleet(&sb, 20);
    std::fs::write(variables(&sb, &names[7]), "project_name: [not valid\n").expect("break one");

    let out =
        Run::new(sb.path()).args(["--json", "plan", "--all", "--parallel", "2", "--source-root", "customers"]).run();
    assert_eq!(out.code, 1, "a failed target fails the run:\n{}", out.stderr);
    let report = out.json();
    assert_eq!((report["command"].as_str(), report["targets"].as_u64()), (Some("plan"), Some(20)));
    assert_eq!(report["failed"], 1);
    let results = report["results"].as_array().expect("results");
    let broken: Vec<&serde_json::Value> = results.iter().filter(|r| r["status"] != "ok").collect();
    assert_eq!(broken.len(), 1);
    assert_eq!((broken[0]["customer"].as_str(), broken[0]["status"].as_str()), (Some("fleet/app07"), Some("invalid")));
    assert!(broken[0]["message"].as_str().is_some_and(|m| m.contains("infra/variables.yml:1:")), "{}", broken[0]);
    for r in results.iter().filter(|r| r["status"] == "ok") {
        assert_eq!((r["add"].as_u64(), r["destroy"].as_u64()), (Some(8), Some(0)), "{r}");
    }

    // A progress line per target, as each finishes.
    let progress: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with('[') && l.contains("/20] ")).collect();
    assert_eq!(progress.len(), 20, "{}", out.stderr);
    assert!(progress.iter().any(|l| l.contains("fleet/app03 staging: 8 to add (")), "{progress:?}");

    // Plan only: recorded, but nothing stored as a plan to apply, and no state written.
    let written = walk(&sb.store());
    assert!(!written.iter().any(|p| p.contains("/plans/")), "{written:?}");
    assert!(!written.iter().any(|p| p.contains("/store/state/")), "{written:?}");
    let history = Run::new(sb.path()).args(["--json", "history", "--customer", "fleet/app03"]).run();
    let runs = history.json()["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0]["kind"].as_str(), runs[0]["status"].as_str()), (Some("replan"), Some("succeeded")));

    // Text mode prints the summary table.
    let text = Run::new(sb.path()).args(["plan", "--all", "--source-root", "customers"]).run();
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("20 targets: 19 with changes, 1 failed."), "{}", text.stdout);
    assert!(text.stdout.contains("| `fleet/app07` | `staging` |"), "{}", text.stdout);
}

#[test]
fn plan_all_needs_a_registry_and_refuses_single_target_flags() {
    let sb = Sandbox::new();
    let out = Run::new(sb.path()).args(["plan", "--all", "--source-root", "customers"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = Run::new(sb.path()).args(["plan", "--all", "--env", "staging"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = Run::new(sb.path()).args(["plan", "--source-dir", "shop"]).run();
    assert_eq!(out.code, 2, "--env is required for one target:\n{}", out.stderr);
    assert!(out.stderr.contains("`--env` is required"), "{}", out.stderr);
}

/// Plans and applies `name`'s staging from its checkout under `customers/`.
fn plan_and_apply(sb: &Sandbox, name: &str) {
    let dir = format!("customers/{name}");
    for verb in ["plan", "apply"] {
        let out = Run::new(sb.path())
            .args(["--json", verb, "--source-dir", &dir, "--customer", name, "--env", "staging"])
            .run();
        assert_eq!(out.code, 0, "{verb} {name}:\n{}", out.stderr);
    }
}

fn resources_in_state(sb: &Sandbox, name: &str) -> usize {
    let path = sb.store().join("state").join(name).join("staging/terraform.tfstate");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("state")).expect("json");
    state["resources"].as_array().map_or(0, Vec::len)
}

fn history(sb: &Sandbox, name: &str) -> Vec<String> {
    Run::new(sb.path()).args(["--json", "history", "--customer", name]).run().run_kinds()
}

#[test]
fn reap_destroys_expired_environments_through_the_destroy_path_and_keeps_the_others() {
    require_terraform();
    let sb = Sandbox::new();
    // Three customers: one that expires (after it was applied), one expiring in 2.5 days,
    // one without expiry.
    let soon = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(60)).expect("time");
    let base = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("read");
    let registry = |poc_expiry: &str| {
        let mut registry = String::from("customers:\n");
        for (name, expiry) in
            [("acme/poc", poc_expiry.to_owned()), ("acme/trial", soon.to_string()), ("acme/shop", String::new())]
        {
            registry.push_str(&format!("  - repo: {name}\n    environments: [staging]\n"));
            if !expiry.is_empty() {
                registry.push_str(&format!("    expires_at: {{ staging: \"{expiry}\" }}\n"));
            }
        }
        std::fs::write(sb.path().join("infra-manager.yml"), format!("{base}{registry}")).expect("write");
    };
    registry("2099-01-01");
    for name in ["acme/poc", "acme/trial", "acme/shop"] {
        checkout(&sb, name);
    }

    // The week before expiry, plan comments warn.
    let plan = Run::new(sb.path())
        .args(["plan", "--source-dir", "customers/acme/trial", "--customer", "acme/trial", "--env", "staging"])
        .run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("> [!WARNING]") && plan.stdout.contains("(in 2 days)"), "{}", plan.stdout);
    for name in ["acme/poc", "acme/trial", "acme/shop"] {
        plan_and_apply(&sb, name);
    }
    registry("2026-01-01");

    let applied = resources_in_state(&sb, "acme/poc");
    assert!(applied > 0);
    let dry = Run::new(sb.path()).args(["--json", "reap", "--dry-run", "--source-root", "customers"]).run();
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let report = dry.json();
    assert_eq!(report["expired"], 1);
    assert_eq!(
        (report["results"][0]["customer"].as_str(), report["results"][0]["result"].as_str()),
        (Some("acme/poc"), Some("would-reap"))
    );
    assert_eq!(resources_in_state(&sb, "acme/poc"), applied, "a dry run destroys nothing");

    let reap = Run::new(sb.path()).args(["--json", "reap", "--source-root", "customers"]).run();
    assert_eq!(reap.code, 0, "{}", reap.stderr);
    let report = reap.json();
    assert_eq!(
        (report["results"][0]["result"].as_str(), report["results"][0]["destroyed"].as_u64()),
        (Some("reaped"), Some(8))
    );
    assert_eq!(resources_in_state(&sb, "acme/poc"), 0, "nothing left in state");
    assert_eq!(resources_in_state(&sb, "acme/trial"), applied, "not expired yet");
    assert_eq!(resources_in_state(&sb, "acme/shop"), applied);
    assert_eq!(history(&sb, "acme/poc"), ["apply succeeded", "destroy succeeded", "apply succeeded", "plan succeeded"]);

    // An expired environment is not planned again (that would re-create it).
    let replan = Run::new(sb.path())
        .args(["--json", "plan", "--source-dir", "customers/acme/poc", "--customer", "acme/poc", "--env", "staging"])
        .run();
    assert_eq!(replan.code, 2, "{}", replan.stderr);
    assert!(
        replan.json()["errors"][0]["message"].as_str().is_some_and(|m| m.contains("expired at")),
        "{}",
        replan.stdout
    );

    // Reaping again finds nothing left to destroy, and applies nothing.
    let again = Run::new(sb.path()).args(["--json", "reap", "--source-root", "customers"]).run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["results"][0]["result"], "already-empty");
}

#[test]
fn destroy_refuses_an_environment_never_applied_and_plans_from_the_last_applied_commit() {
    require_terraform();
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: local/shop\n    environments: [staging, production]\n");
    let out = Run::new(sb.path()).args(["--json", "destroy", "--customer", "local/shop", "--env", "staging"]).run();
    assert_eq!(out.code, 2, "nothing applied, nothing to destroy:\n{}", out.stderr);
    assert!(out.json()["errors"][0]["message"].as_str().is_some_and(|m| m.contains("nothing was ever applied")));

    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(sb.run("apply", "staging").code, 0);
    let destroy = Run::new(sb.path()).args(["destroy", "--source-dir", "shop", "--env", "staging"]).run();
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert!(
        destroy.stdout.contains("> [!CAUTION]") && destroy.stdout.contains("8 resources are destroyed"),
        "{}",
        destroy.stdout
    );
    let apply = sb.run("apply", "staging");
    assert_eq!((apply.code, apply.json()["destroy"].as_u64()), (0, Some(8)), "{}", apply.stderr);
}

#[test]
fn states_without_a_registry_entry_are_reported_as_orphans_and_never_destroyed() {
    require_terraform();
    let sb = Sandbox::new();
    let config = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("read");
    let registry = |customers: &str| {
        std::fs::write(sb.path().join("infra-manager.yml"), format!("{config}customers:\n{customers}")).expect("write")
    };
    registry(
        "  - repo: acme/gone\n    environments: [staging]\n  - repo: acme/shop\n    environments: [staging, production]\n",
    );
    checkout(&sb, "acme/gone");
    let shop = sb.path().join("customers/acme/shop/infra");
    std::fs::create_dir_all(&shop).expect("mkdir");
    let template = std::fs::read_to_string(v1_variables()).expect("read");
    std::fs::write(shop.join("variables.yml"), &template).expect("write");
    plan_and_apply(&sb, "acme/gone");
    for verb in ["plan", "apply"] {
        let out = Run::new(sb.path())
            .args([
                "--json",
                verb,
                "--source-dir",
                "customers/acme/shop",
                "--customer",
                "acme/shop",
                "--env",
                "production",
            ])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let clean = Run::new(sb.path()).args(["targets", "--all", "--source-root", "customers"]).run();
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(!clean.stderr.contains("orphaned state"), "{}", clean.stderr);

    // Offboarded without a destroy, and an environment dropped from the customer's file.
    registry("  - repo: acme/shop\n    environments: [staging, production]\n");
    let staging_only: String =
        template.lines().filter(|l| !l.trim_start().starts_with("production:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(shop.join("variables.yml"), staging_only).expect("write");

    let out = Run::new(sb.path()).args(["targets", "--all", "--source-root", "customers"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let matrix: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one matrix");
    assert_eq!(matrix["include"].as_array().map(Vec::len), Some(2), "the matrix is the registry: {matrix}");
    let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("::warning::orphaned state")).collect();
    assert_eq!(warnings.len(), 2, "{}", out.stderr);
    assert!(
        warnings[0].contains("`acme/gone` `staging`") && warnings[0].contains("no longer registered"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("`acme/shop` `production`") && warnings[1].contains("removed from its file"),
        "{warnings:?}"
    );
    assert!(resources_in_state(&sb, "acme/gone") > 0, "an orphan is never destroyed implicitly");
    assert_eq!(history(&sb, "acme/gone"), ["apply succeeded", "plan succeeded"], "records outlive the registry entry");
}

/// `--json` report of `args` in the sandbox, written to `file`, with its exit code.
fn json_report(sb: &Sandbox, args: &[&str], file: &str) -> (i32, serde_json::Value) {
    let out = Run::new(sb.path()).args(["--json"]).args(args).run();
    std::fs::write(sb.path().join(file), &out.stdout).expect("write report");
    (out.code, out.json())
}

/// A report's rows without the times, which differ from run to run.
fn rows(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().expect("row").remove("seconds");
            r
        })
        .collect()
}

#[test]
fn shards_partition_the_fleet_and_their_merge_is_the_report_of_one_run() {
    require_terraform();
    let sb = Sandbox::new();
    let names = fleet(&sb, 12);
    std::fs::write(variables(&sb, &names[5]), "project_name: [not valid\n").expect("break one");
    let all = ["plan", "--all", "--parallel", "2", "--source-root", "customers"];
    let (code, one) = json_report(&sb, &all, "one.json");
    assert_eq!(code, 1, "one broken target fails the run: {one}");

    // Every target in exactly one of three shards.
    let mut seen = Vec::new();
    let mut files = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let file = format!("shard{k}.json");
        let args: Vec<&str> = all.iter().copied().chain(["--shard", shard.as_str()]).collect();
        let (_, part) = json_report(&sb, &args, &file);
        assert_eq!(part["shard"]["shard"], serde_json::json!({"index": k, "count": 3}), "{part}");
        seen.extend(rows(&part).into_iter().map(|r| r["customer"].as_str().expect("owner").to_owned()));
        files.push(file);
    }
    seen.sort();
    assert_eq!(seen, names, "each target once across the shards");
    // The same target, the same shard, run after run.
    let args: Vec<&str> = all.iter().copied().chain(["--shard", "2/3"]).collect();
    let (_, again) = json_report(&sb, &args, "again.json");
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path().join("shard2.json")).expect("read")).expect("json");
    assert_eq!(
        rows(&again).iter().map(|r| r["customer"].clone()).collect::<Vec<_>>(),
        rows(&before).iter().map(|r| r["customer"].clone()).collect::<Vec<_>>()
    );

    // The merge is the one run's report: rows in its order, its counts, its exit status.
    let merge = Run::new(sb.path()).args(["--json", "fleet", "merge"]).args(&files).run();
    assert_eq!(merge.code, 1, "{}", merge.stderr);
    let merged = merge.json();
    assert_eq!(rows(&merged), rows(&one));
    for key in ["command", "targets", "changed", "failed"] {
        assert_eq!(merged[key], one[key], "{key}");
    }
    assert!(merged.get("shard").is_none(), "{merged}");
    let dir = sb.path().join("reports");
    std::fs::create_dir(&dir).expect("mkdir");
    for file in &files {
        std::fs::copy(sb.path().join(file), dir.join(file)).expect("copy");
    }
    let text = Run::new(sb.path()).args(["fleet", "merge", "reports"]).run();
    assert!(
        text.stdout.starts_with("## infra-manager plan --all\n\n12 targets: 11 with changes, 1 failed."),
        "{}",
        text.stdout
    );

    // A missing shard, a shard twice, a report that is no shard's: refused, naming it.
    let missing = Run::new(sb.path()).args(["fleet", "merge", "shard1.json", "shard3.json"]).run();
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("shard 2/3 missing"), "{}", missing.stderr);
    let twice =
        Run::new(sb.path()).args(["fleet", "merge", "shard1.json", "shard1.json", "shard2.json", "shard3.json"]).run();
    assert!(twice.stderr.contains("shard 1/3 is given twice"), "{}", twice.stderr);
    let whole = Run::new(sb.path()).args(["fleet", "merge", "one.json"]).run();
    assert!(whole.stderr.contains("`one.json` is not a shard's report"), "{}", whole.stderr);
}

#[test]
fn a_sharded_drift_run_leaves_the_issues_to_the_merge() {
    let sb = Sandbox::new();
    fleet(&sb, 2);
    let out = Run::new(sb.path())
        .args(["drift", "--all", "--source-root", "customers", "--shard", "1/2", "--open-issues"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--open-issues"), "{}", out.stderr);
}

/// Issue 23 item 5: `fleet merge --exit-code` of drift reports exits as `drift --exit-code`
/// would have (2 drifted, 0 in sync, 1 on an error); other reports refuse it.
#[test]
fn fleet_merge_of_drift_reports_decides_the_detailed_exit_code() {
    let sb = Sandbox::new();
    fleet(&sb, 6);
    let mut reports = Vec::new();
    for k in 1..=2 {
        let (code, report) = json_report(
            &sb,
            &["drift", "--all", "--source-root", "customers", "--shard", &format!("{k}/2")],
            &format!("drift{k}.json"),
        );
        assert_eq!(code, 0, "{report}");
        reports.push(report);
    }
    let merge = |files: &[&str]| Run::new(sb.path()).args(["fleet", "merge", "--exit-code"]).args(files).run();
    assert_eq!(merge(&["drift1.json", "drift2.json"]).code, 0, "never applied: nothing drifted");
    // One shard found a target drifted.
    let (k, report) =
        reports.iter().enumerate().find(|(_, r)| r["results"][0].is_object()).expect("a shard with targets");
    let mut drifted = report.clone();
    drifted["results"][0]["result"] = serde_json::json!("drifted");
    std::fs::write(sb.path().join(format!("drift{}.json", k + 1)), drifted.to_string()).expect("write");
    assert_eq!(merge(&["drift1.json", "drift2.json"]).code, 2);
    assert_eq!(Run::new(sb.path()).args(["fleet", "merge", "drift1.json", "drift2.json"]).run().code, 0);
    // A shard missing is an error: 1, not the 2 it would be without `--exit-code`.
    assert_eq!(merge(&["drift1.json"]).code, 1);
    for (k, report) in reports.iter().enumerate() {
        let mut plan = report.clone();
        plan["command"] = serde_json::json!("plan");
        std::fs::write(sb.path().join(format!("plan{}.json", k + 1)), plan.to_string()).expect("write");
    }
    let refused = merge(&["plan1.json", "plan2.json"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("`--exit-code` merges drift reports"), "{}", refused.stderr);
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A v2 customer file with one component of `type_name`.
fn v2_file(name: &str, type_name: &str) -> String {
    format!(
        "apiVersion: infra-manager/v2\nkind: Customer\nmetadata:\n  name: {name}\nspec:\n  environments: [staging]\n  components:\n    - {{ name: main, type: {type_name} }}\n"
    )
}

/// The targets a `--changed-since` run planned, by owner.
fn planned(report: &serde_json::Value) -> Vec<String> {
    let mut owners: Vec<String> =
        rows(report).iter().map(|r| r["customer"].as_str().expect("owner").to_owned()).collect();
    owners.sort();
    owners
}

#[test]
fn changed_since_replans_the_users_of_a_changed_module_and_everything_on_a_doubt() {
    require_terraform();
    let sb = Sandbox::new();
    let root = sb.path();
    // The sandbox is the manager checkout: its configuration, its modules, its customers.
    let copied = std::process::Command::new("cp")
        .args(["-r", &crate::support::cli::repo_root().join("manager-terraform").display().to_string(), "."])
        .current_dir(root)
        .status()
        .expect("cp");
    assert!(copied.success());
    let mut config = format!(
        "terraform:\n  modules_dir: manager-terraform\n  module: sandbox-app-environment\nstate:\n  backend: local\n  local_dir: {}\ncustomers:\n",
        root.join("store").display()
    );
    let kinds = [("v1", ""), ("queue", "queue"), ("bucket", "bucket")];
    for (kind, type_name) in kinds {
        for i in 0..2 {
            let name = format!("acme/{kind}{i}");
            config.push_str(&format!("  - repo: {name}\n    environments: [staging]\n"));
            if type_name.is_empty() {
                checkout(&sb, &name);
            } else {
                let infra = root.join("customers").join(&name).join("infra");
                std::fs::create_dir_all(&infra).expect("mkdir");
                std::fs::write(infra.join("variables.yml"), v2_file(&format!("{kind}{i}"), type_name)).expect("write");
            }
        }
    }
    std::fs::write(root.join("infra-manager.yml"), config).expect("config");
    std::fs::write(root.join(".gitignore"), "store/\n").expect("gitignore");
    git(root, &["init", "--quiet"]);
    git(root, &["add", "--all"]);
    git(root, &["commit", "--quiet", "-m", "fleet"]);

    // A change to the queue module: its two users, and nothing else.
    let queue = root.join("manager-terraform/catalog/queue/main.tf");
    let text = std::fs::read_to_string(&queue).expect("read");
    std::fs::write(&queue, format!("{text}\n# a comment\n")).expect("write");
    git(root, &["commit", "--quiet", "-am", "queue: a comment"]);
    let args = ["plan", "--all", "--source-root", "customers", "--repo", ".", "--changed-since", "HEAD~1"];
    let (code, report) = json_report(&sb, &args, "changed.json");
    assert_eq!(code, 0, "{report}");
    assert_eq!(planned(&report), ["acme/queue0", "acme/queue1"], "{report}");
    let changes = &report["changes"];
    assert_eq!((changes["skipped"].as_u64(), changes["all"].as_str()), (Some(4), None), "{changes}");
    assert_eq!(changes["selected"][0]["why"], "it uses `catalog/queue`, which changed", "{changes}");

    // A change the selection can't attribute (a file outside any module): every target.
    std::fs::write(root.join("notes.txt"), "x").expect("write");
    git(root, &["add", "notes.txt"]);
    git(root, &["commit", "--quiet", "-m", "notes"]);
    let (_, all) = json_report(&sb, &args, "all.json");
    assert_eq!(planned(&all).len(), 6, "{all}");
    assert_eq!(all["changes"]["all"], "`notes.txt` changed", "{all}");

    // A registry entry changed (not only its text): that customer alone.
    let config = std::fs::read_to_string(root.join("infra-manager.yml")).expect("read");
    let config = config.replacen(
        "  - repo: acme/bucket1\n    environments: [staging]\n",
        "  - repo: acme/bucket1\n    environments: [staging]\n    expires_at: { staging: 2999-01-01 }\n",
        1,
    );
    std::fs::write(root.join("infra-manager.yml"), config).expect("write");
    git(root, &["commit", "--quiet", "-am", "bucket1: tier"]);
    let (_, registry) = json_report(&sb, &args, "registry.json");
    assert_eq!(planned(&registry), ["acme/bucket1"], "{registry}");
}
