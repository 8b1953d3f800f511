//! Retries of an apply that failed for a transient reason, end to end: the real binary,
//! real Terraform (local state) and the `flaky-app` test module, whose provisioner fails as
//! the customer's tags say (once with a 503, or every time with an invalid value).

use std::path::{Path, PathBuf};

use crate::support::cli::{Output, Run, Sandbox, repo_root, require_terraform};

const CUSTOMER: &str = "acme/shop";

/// A manager using the `flaky-app` module with short retry waits, `acme/shop` registered
/// for staging (expiring at `expires_at`), and its checkout under `customers/` telling the
/// module to fail on `fail_on` with `fail_with`, counting its runs in `markers/`.
fn sandbox(fail_on: &str, fail_with: &str) -> Sandbox {
    let sb = Sandbox::new();
    write_config(&sb, "2099-01-01");
    let markers = markers(&sb);
    std::fs::create_dir_all(&markers).expect("mkdir");
    let infra = checkout(&sb).join("infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    let variables = format!(
        "project_name: shop\ncloud_provider: aws\nenvironments:\n  staging: {{ region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }}\nnetworking:\n  vpc_cidr: \"10.0.0.0/16\"\n  availability_zones: 2\ntags:\n  marker_dir: \"{}\"\n  fail_on: {fail_on}\n  fail_with: {fail_with}\n",
        markers.display()
    );
    std::fs::write(infra.join("variables.yml"), variables).expect("variables");
    sb
}

fn write_config(sb: &Sandbox, expires_at: &str) {
    let config = format!(
        "terraform:\n  modules_dir: {}\n  module: flaky-app\nstate:\n  backend: local\n  local_dir: {}\nretry:\n  attempts: 3\n  backoff: 100ms\n  max_backoff: 200ms\ncustomers:\n  - repo: {CUSTOMER}\n    environments: [staging]\n    expires_at: {{ staging: \"{expires_at}\" }}\n",
        repo_root().join("tests/fixtures/modules").display(),
        sb.store().display(),
    );
    std::fs::write(sb.path().join("infra-manager.yml"), config).expect("config");
}

fn markers(sb: &Sandbox) -> PathBuf {
    sb.path().join("markers")
}

fn checkout(sb: &Sandbox) -> PathBuf {
    sb.path().join("customers").join(CUSTOMER)
}

/// How many times the failing provisioner ran.
fn provisioner_runs(sb: &Sandbox) -> usize {
    std::fs::read_to_string(markers(sb).join("attempts")).map_or(0, |t| t.lines().count())
}

fn run(sb: &Sandbox, verb: &str) -> Output {
    let dir = checkout(sb);
    Run::new(sb.path())
        .args(["--json", verb, "--source-dir"])
        .args([dir.as_path(), Path::new("--customer"), Path::new(CUSTOMER), Path::new("--env"), Path::new("staging")])
        .run()
}

/// The run records, newest first: `(kind, status, message)`.
fn history(sb: &Sandbox) -> Vec<(String, String, String)> {
    let out = Run::new(sb.path()).args(["--json", "history", "--customer", CUSTOMER]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let field = |r: &serde_json::Value, k: &str| r[k].as_str().unwrap_or_default().to_owned();
    out.json()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| (field(r, "kind"), field(r, "status"), field(r, "message")))
        .collect()
}

fn resources_in_state(sb: &Sandbox) -> usize {
    let path = sb.store().join("state").join(CUSTOMER).join("staging/terraform.tfstate");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("state")).expect("json");
    state["resources"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_transient_failure_of_the_destroy_path_is_retried_and_succeeds() {
    require_terraform();
    let sb = sandbox("destroy", "transient");
    for verb in ["plan", "apply"] {
        let out = run(&sb, verb);
        assert_eq!(out.code, 0, "{verb}:\n{}", out.stderr);
    }
    assert_eq!(resources_in_state(&sb), 1);
    write_config(&sb, "2026-01-01");

    let reap = Run::new(sb.path()).args(["--json", "reap", "--source-root", "customers"]).run();
    assert_eq!(reap.code, 0, "{}", reap.stderr);
    let result = &reap.json()["results"][0];
    assert_eq!(result["result"], "reaped", "{result}");
    let attempts = result["attempts"].as_array().expect("attempts");
    let seen: Vec<(u64, u64, &str)> = attempts
        .iter()
        .map(|a| (a["number"].as_u64().unwrap_or(0), a["of"].as_u64().unwrap_or(0), a["result"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(seen, [(1, 3, "failed"), (2, 3, "applied")], "{result}");
    assert_eq!(attempts[0]["reason"], "transient: 503 from provider");
    assert!(attempts[0]["retried_after_secs"].is_number(), "{result}");
    assert_eq!(provisioner_runs(&sb), 2, "the provisioner ran once per attempt");
    assert_eq!(resources_in_state(&sb), 0, "destroyed");

    let runs = history(&sb);
    // The failed destroy moved the state (Terraform wrote it), so reap planned again: each
    // attempt is a destroy plan and its apply.
    let kinds: Vec<String> = runs.iter().map(|(kind, status, _)| format!("{kind} {status}")).collect();
    assert_eq!(
        kinds,
        [
            "apply succeeded",
            "destroy succeeded",
            "apply failed",
            "destroy succeeded",
            "apply succeeded",
            "plan succeeded"
        ]
    );
    assert!(runs[2].2.contains("re-plan needed (attempt 1/3 failed (transient: 503 from provider))"), "{runs:?}");
    let (kind, status, message) = &runs[0];
    assert_eq!((kind.as_str(), status.as_str()), ("apply", "succeeded"), "{runs:?}");
    assert!(message.starts_with("Applied after 2 attempts: 0 added, 0 changed, 1 destroyed"), "{message}");
    assert!(
        message.contains("attempt 1/3 failed (transient: 503 from provider), retried after ")
            && message.ends_with("; attempt 2/3 applied"),
        "{message}"
    );
}

#[test]
fn an_invalid_value_at_apply_is_tried_once() {
    require_terraform();
    let sb = sandbox("create", "invalid");
    assert_eq!(run(&sb, "plan").code, 0);
    let apply = run(&sb, "apply");
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert_eq!(apply.json()["status"], "failed");
    assert_eq!(provisioner_runs(&sb), 1, "tried once");
    assert!(apply.stderr.contains("invalid value for the instance size"), "{}", apply.stderr);
    assert!(!apply.stderr.contains("attempt 2"), "{}", apply.stderr);
    let applies: Vec<_> = history(&sb).into_iter().filter(|(kind, _, _)| kind == "apply").collect();
    assert_eq!(applies.len(), 1, "{applies:?}");
    assert_eq!(applies[0].1, "failed");
    assert!(applies[0].2.starts_with("Failed: terraform apply failed (exit 1)"), "{applies:?}");
}

#[test]
fn a_transient_failure_that_changed_the_state_stops_a_reviewed_plan_until_it_is_planned_again() {
    require_terraform();
    let sb = sandbox("create", "transient");
    assert_eq!(run(&sb, "plan").code, 0);
    // The resource is created, then its provisioner fails: Terraform keeps it, tainted.
    let apply = run(&sb, "apply");
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert_eq!(provisioner_runs(&sb), 1, "the reviewed plan is not applied again");
    let message = apply.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("re-plan needed (attempt 1/3 failed (transient: 503 from provider))"), "{message}");
    assert!(
        apply.json()["errors"][0]["hint"].as_str().is_some_and(|h| h.contains("`infra-manager plan` again")),
        "{}",
        apply.stdout
    );

    // A new plan (replacing the tainted resource) is reviewed and applies.
    assert_eq!(run(&sb, "plan").code, 0);
    let again = run(&sb, "apply");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(provisioner_runs(&sb), 2);
    assert_eq!(again.json()["attempts"].as_array().map(Vec::len), Some(1));
}
