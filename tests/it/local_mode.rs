//! Local mode end to end: the real binary, real Terraform, a local store.

use crate::support::cli::{Run, Sandbox, repo_root, require_terraform, walk};

fn state_file(sb: &Sandbox) -> std::path::PathBuf {
    sb.store().join("state/local/shop/staging/terraform.tfstate")
}

#[test]
fn plan_apply_then_replan_shows_no_changes() {
    require_terraform();
    let sb = Sandbox::new();
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let report = plan.json();
    assert_eq!(report["status"], "ok");
    assert_eq!(report["customer"], "local/shop");
    assert_eq!(report["has_changes"], true);
    assert_eq!(
        (report["add"].as_u64(), report["change"].as_u64(), report["destroy"].as_u64()),
        (Some(8), Some(0), Some(0))
    );
    let plan_key = report["plan_key"].as_str().expect("plan_key");
    assert!(std::path::Path::new(plan_key).is_file(), "{plan_key}");
    assert!(!state_file(&sb).exists(), "plan must not write state");

    // A dry run checks everything and changes nothing.
    let dry =
        Run::new(sb.path()).args(["--json", "apply", "--source-dir", "shop", "--env", "staging", "--dry-run"]).run();
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let report = dry.json();
    assert_eq!((report["status"].as_str(), report["dry_run"].as_bool()), (Some("ok"), Some(true)));
    assert_eq!(
        report["checks"],
        serde_json::json!(["newest", "target", "checksum", "configuration", "terraform-version", "state"])
    );
    assert!(!state_file(&sb).exists(), "a dry run must not write state");

    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(apply.json()["status"], "ok");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(&sb)).expect("state written")).expect("json");
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(7), "7 resource blocks (subnet has count 2)");

    let replan = sb.run("plan", "staging");
    assert_eq!(replan.code, 0, "{}", replan.stderr);
    let report = replan.json();
    assert_eq!(report["has_changes"], false);
    assert_eq!(report["add"], 0);
}

#[test]
fn text_mode_prints_the_comment_on_stdout_and_logs_on_stderr() {
    require_terraform();
    let sb = Sandbox::new();
    let out = Run::new(sb.path()).args(["plan", "--source-dir", "shop", "--env", "production"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("<!-- infra-manager:plan:production -->\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Plan: 8 to add, 0 to change, 0 to destroy"));
    assert!(out.stdout.contains("<details><summary>Full plan</summary>"));
    assert!(out.stderr.contains("» terraform plan"), "{}", out.stderr);
}

#[test]
fn apply_refuses_a_tampered_plan() {
    require_terraform();
    let sb = Sandbox::new();
    let plan = sb.run("plan", "staging").json();
    let key = plan["plan_key"].as_str().expect("key").to_owned();
    let mut bytes = std::fs::read(&key).expect("plan file");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&key, bytes).expect("tamper");

    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    let report = apply.json();
    assert_eq!(report["status"], "refused");
    let message = report["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("does not match its checksum"), "{message}");
    assert!(!state_file(&sb).exists(), "nothing applied");
}

#[test]
fn apply_refuses_a_stale_plan() {
    require_terraform();
    let sb = Sandbox::new();
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(sb.run("apply", "staging").code, 0);
    let serial_after_first = std::fs::read_to_string(state_file(&sb)).expect("state");

    // The same saved plan again: the state moved on since it was made.
    let again = sb.run("apply", "staging");
    assert_eq!(again.code, 1, "{}", again.stderr);
    let report = again.json();
    assert_eq!(report["status"], "refused");
    let message = report["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("the plan is stale"), "{message}");
    assert!(report["errors"][0]["hint"].as_str().is_some_and(|h| h.contains("plan")));
    assert_eq!(std::fs::read_to_string(state_file(&sb)).expect("state"), serial_after_first, "state untouched");
}

#[test]
fn apply_refuses_without_a_plan_and_when_the_file_changed_since_the_plan() {
    require_terraform();
    let sb = Sandbox::new();
    let none = sb.run("apply", "staging");
    assert_eq!(none.code, 1);
    assert!(
        none.json()["errors"][0]["message"].as_str().is_some_and(|m| m.contains("no stored plan")),
        "{}",
        none.stdout
    );

    assert_eq!(sb.run("plan", "staging").code, 0);
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(sb.variables(), text.replace("max_instances: 2", "max_instances: 3")).expect("edit");
    let changed = sb.run("apply", "staging");
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    let message = changed.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("no stored plan for commit"), "{message}");
    assert!(!state_file(&sb).exists());
}

#[test]
fn an_invalid_file_exits_2_with_every_error_and_runs_no_terraform() {
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(
        sb.variables(),
        text.replace("project_name: customer-app-name", "project_nam: X")
            .replace("availability_zones: 2", "availability_zones: 9"),
    )
    .expect("edit");
    let out = sb.run("plan", "staging");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "invalid");
    let errors: Vec<String> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{} {}",
                e["file"].as_str().unwrap_or(""),
                e["line"],
                e["column"],
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(errors.contains(&"infra/variables.yml:10:1 unknown key `project_nam`".to_owned()), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("missing required key `project_name`")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.starts_with("infra/variables.yml:24:23 ")), "{errors:#?}");
    assert!(!sb.store().join("work/local/shop/staging").exists(), "no working directory: Terraform never ran");
}

#[test]
fn an_unregistered_customer_is_refused_with_exit_2_and_nothing_written() {
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: acme/webshop\n    environments: [staging]\n");
    let out = Run::new(sb.path())
        .args(["--json", "plan", "--source-dir", "shop", "--env", "staging", "--customer", "evil/other"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "refused");
    assert!(report["errors"][0]["message"].as_str().is_some_and(|m| m.contains("not a registered customer")));
    let written: Vec<_> = walk(&sb.store());
    assert!(written.iter().all(|p| !p.contains("records") && !p.contains("plans")), "{written:?}");
}

#[test]
fn names_that_could_escape_a_key_are_refused_before_anything_runs() {
    let sb = Sandbox::new();
    for bad in ["../x", "a/b/c", "Acme/web", ""] {
        let out = Run::new(sb.path())
            .args(["--json", "plan", "--source-dir", "shop", "--env", "staging", "--customer", bad])
            .run();
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert_eq!(out.json()["status"], "refused", "{bad}");
    }
    let out = Run::new(sb.path()).args(["--json", "plan", "--source-dir", "shop", "--env", "../prod"]).run();
    assert_eq!(out.code, 2);
    assert!(walk(&sb.store()).is_empty(), "nothing written");
}

#[test]
fn validate_exits_0_or_2_with_positions() {
    let sb = Sandbox::new();
    let ok = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.contains("is valid (environments: staging, production)"), "{}", ok.stderr);

    std::fs::write(sb.variables(), "project_name: shop\ncloud_provider: aws\nenvironments:\n  stagin: {}\nnetworking: { vpc_cidr: \"10.0.0.0/16\" }\n").expect("write");
    let bad = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("error: shop/infra/variables.yml:4:3: unknown environment `stagin`"), "{}", bad.stderr);
    assert!(bad.stderr.contains("hint: did you mean `staging`?"), "{}", bad.stderr);
}

/// Issue 21, item 15: the structured error's place is the first bad byte's, as its message says.
#[test]
fn validate_reports_a_file_that_is_not_utf8_at_its_first_bad_byte() {
    let sb = Sandbox::new();
    let mut bytes = std::fs::read(sb.variables()).expect("read");
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let line_9 = lines[..8].iter().map(|l| l.len() + 1).sum::<usize>();
    bytes.insert(line_9 + 2, 0xe9);
    std::fs::write(sb.variables(), bytes).expect("write");
    let out = Run::new(sb.path()).args(["--json", "validate", "shop/infra/variables.yml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = &out.json()["errors"][0];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(9), Some(3)), "{error}");
    assert_eq!(error["message"], "file is not UTF-8 text: the first invalid byte is at line 9, column 3");
    let text = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert!(text.stderr.contains("error: shop/infra/variables.yml:9:3: file is not UTF-8 text"), "{}", text.stderr);
}

/// Issue 21, item 14: from a customer's checkout (no `manager-terraform/` beside it), a v2
/// file gets one error saying where the catalog is, not one per module blamed on its line 1.
#[test]
fn validate_of_a_v2_file_without_the_catalog_says_where_the_catalog_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("infra")).expect("mkdir");
    let template = repo_root().join("customer-template/infra/variables.yml");
    std::fs::copy(template, dir.path().join("infra/variables.yml")).expect("copy");
    let out = Run::new(dir.path()).args(["--json", "validate", "infra/variables.yml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let errors = out.json()["errors"].as_array().cloned().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let message = errors[0]["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "can't check `infra/variables.yml` here: a schema v2 file is checked against the component catalog"
        ),
        "{message}"
    );
    assert!(message.contains("in the manager repository"), "{message}");
    assert!(errors[0]["hint"].as_str().is_some_and(|h| h.contains("infra-manager schema")), "{errors:#?}");
    let text = Run::new(dir.path()).args(["validate", "infra/variables.yml"]).run();
    assert_eq!(text.code, 2);
    assert!(!text.stderr.contains("does not exist"), "{}", text.stderr);
    assert_eq!(text.stderr.matches("error:").count(), 1, "{}", text.stderr);
}

#[test]
fn validate_checks_several_files_or_a_directory_in_one_run() {
    let sb = Sandbox::new();
    let dir = sb.path().join("fleet");
    let template = std::fs::read_to_string(sb.variables()).expect("read");
    for i in 0..5 {
        let customer = dir.join(format!("c{i}"));
        std::fs::create_dir_all(&customer).expect("mkdir");
        let text = if i == 3 { template.replace("t3.micro", "t3.huge") } else { template.clone() };
        std::fs::write(customer.join("variables.yml"), text).expect("write");
    }
    std::fs::write(dir.join("README.md"), "not yaml").expect("write");
    let out = Run::new(sb.path()).args(["--json", "validate", "fleet"]).run();
    assert_eq!(out.code, 2, "one invalid file: exit 2\n{}", out.stderr);
    let report = out.json();
    assert_eq!((report["files"].as_u64(), report["invalid"].as_u64()), (Some(5), Some(1)), "{report}");
    let bad = &report["results"][3];
    assert_eq!((bad["file"].as_str(), bad["status"].as_str()), (Some("fleet/c3/variables.yml"), Some("invalid")));
    assert!(bad["errors"][0]["line"].as_u64().is_some(), "{bad}");

    let ok = Run::new(sb.path()).args(["validate", "fleet/c0/variables.yml", "fleet/c1/variables.yml"]).run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout.trim(), "2 files checked, 0 invalid");
}

#[test]
fn validate_with_a_customer_applies_their_tier() {
    let sb = Sandbox::new();
    sb.add_config("tiers:\n  tiny:\n    instance_types: [t3.micro]\n    max_instances: 1\n    regions: [us-east-1]\ncustomers:\n  - repo: acme/webshop\n    tier: tiny\n    environments: [staging, production]\n");
    let out = Run::new(sb.path())
        .args(["--json", "validate", "shop/infra/variables.yml", "--customer", "acme/webshop"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let messages: Vec<String> = out.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(messages.iter().any(|m| m.contains("above your tier's limit of 1")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("`us-west-2` is not allowed by tier `tiny`")), "{messages:#?}");
}

#[test]
fn schema_is_a_json_schema_naming_the_environments() {
    let sb = Sandbox::new();
    let out = Run::new(sb.path()).args(["schema"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let schema = out.json();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let both = serde_json::json!(["staging", "production"]);
    assert_eq!(schema["$defs"]["v1"]["properties"]["environments"]["propertyNames"]["enum"], both);
    assert_eq!(schema["$defs"]["v2"]["properties"]["spec"]["properties"]["environments"]["items"]["enum"], both);

    // The v2 part is built from the catalog's modules: without them there is no schema.
    let out = Run::new(&repo_root()).args(["--config", "/nonexistent/infra-manager.yml", "schema"]).run();
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("module directory `/nonexistent/manager-terraform/catalog/bucket` does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn drift_reports_state_that_moved_away_from_the_last_plan() {
    require_terraform();
    let sb = Sandbox::new();
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(sb.run("apply", "staging").code, 0);
    let drift =
        |sb: &Sandbox| Run::new(sb.path()).args(["--json", "drift", "--source-dir", "shop", "--parallel", "2"]).run();

    let clean = drift(&sb);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    // Both environments checked at once, a progress line as each finishes, results in order.
    let progress: Vec<&str> = clean.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(progress.len(), 2, "{}", clean.stderr);
    assert!(progress.iter().any(|l| l.contains("local/shop staging: in-sync (")), "{progress:?}");
    assert!(progress.iter().any(|l| l.contains("local/shop production: never-applied (")), "{progress:?}");
    let report = clean.json();
    let results = report["results"].as_array().expect("results");
    assert_eq!(
        results.iter().map(|r| (r["environment"].as_str(), r["result"].as_str())).collect::<Vec<_>>(),
        [(Some("staging"), Some("in-sync")), (Some("production"), Some("never-applied"))]
    );

    // Someone removes a resource behind the service's back.
    sb.remove_from_state("staging", "security_group");

    let drifted = drift(&sb);
    assert_eq!(drifted.code, 0, "{}", drifted.stderr);
    let report = drifted.json();
    assert_eq!(report["drifted"], 1);
    let staging = &report["results"][0];
    assert_eq!(staging["result"], "drifted");
    assert!(staging["add"].as_u64() >= Some(1), "{staging}");
    let history = std::fs::read_dir(sb.store().join("records/local/shop")).expect("records").count();
    assert!(history >= 4, "plan, apply and two drift runs recorded");

    // Issue 23 item 5: `--exit-code` as `terraform plan -detailed-exitcode`: 2 drifted,
    // 0 in sync, 1 on an error (an invalid input's 2 included).
    let exit_code =
        |env: &str| Run::new(sb.path()).args(["drift", "--source-dir", "shop", "--env", env, "--exit-code"]).run().code;
    assert_eq!(exit_code("staging"), 2, "drifted");
    assert_eq!(exit_code("production"), 0, "never applied: nothing drifted");
    assert_eq!(exit_code("Not An Env"), 1, "an invalid input");
    assert_eq!(Run::new(sb.path()).args(["drift", "--source-dir", "shop", "--env", "staging"]).run().code, 0);
}

/// Issue 23 item 5: only the environments the registry enables for the customer are
/// checked, as in a fleet run.
#[test]
fn drift_checks_only_the_environments_enabled_for_the_customer() {
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: local/shop\n    environments: [production]\n");
    let out = Run::new(sb.path()).args(["--json", "drift", "--source-dir", "shop"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = out.json()["results"].clone();
    let checked: Vec<&str> =
        results.as_array().into_iter().flatten().filter_map(|r| r["environment"].as_str()).collect();
    assert_eq!(checked, ["production"], "{results}");
    let staging = Run::new(sb.path()).args(["--json", "drift", "--source-dir", "shop", "--env", "staging"]).run();
    assert_eq!((staging.code, staging.json()["results"].clone()), (0, serde_json::json!([])), "{}", staging.stderr);
}

#[test]
fn render_writes_the_working_directory_and_prints_its_path() {
    let sb = Sandbox::new();
    let out_dir = sb.path().join("rendered");
    let text = Run::new(sb.path())
        .args(["render", "--source-dir", "shop", "--env", "staging", "--out"])
        .args([&out_dir])
        .run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout.trim(), out_dir.display().to_string());
    let tfvars: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("customer.auto.tfvars.json")).expect("tfvars"))
            .expect("json");
    assert_eq!(tfvars["environment"], "staging");
    assert_eq!(tfvars["tags"]["environment"], "staging", "templates expanded");
    assert!(out_dir.join("modules/sandbox-app-environment/main.tf").is_file());

    let json = Run::new(sb.path()).args(["--json", "render", "--source-dir", "shop", "--env", "staging"]).run();
    assert_eq!(json.code, 0, "{}", json.stderr);
    let report = json.json();
    assert!(report["work_dir"].as_str().is_some_and(|d| d.ends_with("work/local/shop/staging")), "{report}");
}

#[test]
fn targets_all_lists_every_registered_customer_environment_as_matrices() {
    let sb = Sandbox::new();
    sb.add_config(
        "customers:\n  - repo: acme/web\n    environments: [staging, production]\n  - repo: beta/api\n    environments: [staging]\n",
    );
    let out = Run::new(sb.path()).args(["targets", "--all"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(l).expect("a matrix per line")).collect();
    assert_eq!(
        lines,
        [serde_json::json!({"include": [
            {"customer": "acme/web", "environment": "staging"},
            {"customer": "acme/web", "environment": "production"},
            {"customer": "beta/api", "environment": "staging"},
        ]})]
    );
    let unregistered = Run::new(Sandbox::new().path()).args(["targets", "--all"]).run();
    assert_eq!(unregistered.code, 2, "{}", unregistered.stderr);
}

#[test]
fn a_destroy_plan_is_reviewed_then_applied_with_the_same_checks_and_leaves_no_resources() {
    require_terraform();
    let sb = Sandbox::new();
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(sb.run("apply", "staging").code, 0);

    let destroy = Run::new(sb.path()).args(["plan", "--source-dir", "shop", "--env", "staging", "--destroy"]).run();
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert!(destroy.stdout.contains("8 to destroy"), "the comment counts the destroys:\n{}", destroy.stdout);
    assert!(destroy.stderr.contains("terraform plan -destroy"), "{}", destroy.stderr);

    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(apply.json()["destroy"], 8);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(&sb)).expect("state")).expect("json");
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(0), "nothing left in state");

    let history = Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop"]).run();
    let kinds = history.run_kinds();
    assert_eq!(kinds, ["apply succeeded", "destroy succeeded", "apply succeeded", "plan succeeded"]);
}

/// Issue 13 (onboarding): the shipped example configuration, copied as `infra-manager.yml`
/// beside the modules, keeps the local defaults (the demo's plan and apply work with it),
/// and in GitHub Actions a run that would keep state on the runner's disk without saying so
/// is refused before anything is written.
#[test]
fn the_example_config_runs_the_demo_locally_and_actions_needs_an_explicit_backend() {
    require_terraform();
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(repo_root().join("infra-manager.example.yml"), dir.path().join("infra-manager.yml")).expect("copy");
    std::os::unix::fs::symlink(repo_root().join("manager-terraform"), dir.path().join("manager-terraform"))
        .expect("link");
    let checkout = dir.path().join("customer-template/infra");
    std::fs::create_dir_all(&checkout).expect("mkdir");
    std::fs::copy(repo_root().join("customer-template/infra/variables.yml"), checkout.join("variables.yml"))
        .expect("copy");
    let run = |extra: &[(&str, &str)], verb: &str| {
        let mut run =
            Run::new(dir.path()).args(["--json", verb, "--source-dir", "customer-template", "--env", "staging"]);
        for (k, v) in extra {
            run = run.env(k, v);
        }
        run.run()
    };
    let refused = run(&[("GITHUB_ACTIONS", "true")], "plan");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stdout.contains("no `state.backend` in the configuration"), "{}", refused.stdout);
    assert!(!dir.path().join(".infra-manager").exists(), "nothing written");

    for verb in ["plan", "apply"] {
        let out = run(&[], verb);
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    assert!(dir.path().join(".infra-manager/state/local/customer-template/staging/terraform.tfstate").is_file());
}

/// Issue 13 (help and output): `apply` says its result once on stdout; the log has the
/// status line (GitHub's commit status, locally), not another copy of the result.
#[test]
fn apply_prints_its_result_once_and_a_missing_env_lists_the_choices() {
    require_terraform();
    let sb = Sandbox::new();
    let run = |args: &[&str]| Run::new(sb.path()).args(args).run();
    assert_eq!(run(&["plan", "--source-dir", "shop", "--env", "staging"]).code, 0);
    let apply = run(&["apply", "--source-dir", "shop", "--env", "staging"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(apply.stdout.lines().filter(|l| l.starts_with("Applied plan sha256:")).count(), 1, "{}", apply.stdout);
    // Terraform's own streamed lines start with `│`.
    let copies = apply.stderr.lines().filter(|l| l.contains("0 destroyed") && !l.trim_start().starts_with('│')).count();
    assert_eq!(copies, 1, "only the status line: {}", apply.stderr);

    let missing = run(&["plan", "--source-dir", "shop"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("configured environments: staging, production"), "{}", missing.stderr);
    let help = run(&["validate", "--help"]);
    assert!(!help.stdout.contains("--github-token"), "validate never talks to GitHub: {}", help.stdout);
    assert!(run(&["plan", "--help"]).stdout.contains("--github-token"));
}

/// Issue 24 item 4, the plan in the customer's terms: a v2 file's first plan says every
/// component is new; once applied, a changed input shows `old → new` under its component,
/// above the resources grouped by component, and `plan --json` carries the same diff.
#[test]
fn a_changed_input_shows_old_to_new_under_its_component() {
    require_terraform();
    let sb = Sandbox::new();
    let template = std::fs::read_to_string(repo_root().join("customer-template/infra/variables.yml")).expect("read");
    std::fs::write(sb.variables(), &template).expect("write");
    let first = sb.run("plan", "staging");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let diff = &first.json()["file_changes"];
    assert_eq!(diff["first_apply"], true, "{diff}");
    let added = serde_json::json!([{"name": "web", "type": "app-environment"}, {"name": "uploads", "type": "bucket"}]);
    assert_eq!(diff["added"], added);
    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    std::fs::write(sb.variables(), template.replace("max_instances: 2", "max_instances: 3")).expect("edit");
    let out = Run::new(sb.path()).args(["plan", "--source-dir", "shop", "--env", "staging"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let comment = &out.stdout;
    let at = |text: &str| comment.find(text).unwrap_or_else(|| panic!("{text:?} is not in:\n{comment}"));
    let changed = at("**Component `web` (`app-environment`)**\n\n- `max_instances`: `2` → `3`\n");
    assert!(at("#### 📄 What changed in `infra/variables.yml` for `staging`") < changed);
    assert!(changed < at("**Resources**\n\nComponent `web`\n\n| Action | Address |"), "{comment}");
    assert!(!comment.contains("uploads` (`bucket`)"), "the bucket is as applied: {comment}");

    let json = sb.run("plan", "staging").json();
    let inputs = serde_json::json!([{"input": "max_instances", "old": 2, "new": 3}]);
    let changed = serde_json::json!([{"name": "web", "type": "app-environment", "inputs": inputs}]);
    assert_eq!(json["file_changes"]["changed"], changed, "{}", json["file_changes"]);
    assert_eq!(json["file_changes"]["added"], serde_json::json!([]));
}
