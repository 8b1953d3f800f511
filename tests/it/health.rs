//! The health check after an apply, end to end: the real binary, real Terraform (local
//! mode), and an HTTP server on 127.0.0.1 that the module's `health_check_url` output
//! points at.

use crate::support::cli::{Output, Run, Sandbox, repo_root, require_terraform};
use crate::support::health_server::Server;

/// A manager using the `health-app` test module, with short health bounds, and a customer
/// whose `health_check_url` tag is `url`.
fn sandbox(url: &str, health: &str) -> Sandbox {
    let sb = Sandbox::new();
    let config = format!(
        "terraform:\n  modules_dir: {}\n  module: health-app\nstate:\n  backend: local\n  local_dir: {}\nhealth:\n{health}",
        repo_root().join("tests/fixtures/modules").display(),
        sb.store().display(),
    );
    std::fs::write(sb.path().join("infra-manager.yml"), config).expect("config");
    let variables = format!(
        "project_name: shop\ncloud_provider: aws\nenvironments:\n  staging: {{ region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }}\nnetworking:\n  vpc_cidr: \"10.0.0.0/16\"\n  availability_zones: 2\ntags:\n  health_check_url: \"{url}\"\n"
    );
    std::fs::write(sb.variables(), variables).expect("variables");
    sb
}

fn plan_then_apply(sb: &Sandbox) -> Output {
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    sb.run("apply", "staging")
}

/// The message of the newest apply record in the local store.
fn apply_record_message(sb: &Sandbox) -> String {
    let out = Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let runs = out.json();
    let runs = runs["runs"].as_array().cloned().unwrap_or_default();
    let apply = runs.iter().find(|r| r["kind"] == "apply").unwrap_or_else(|| panic!("an apply record in {runs:?}"));
    apply["message"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_service_that_comes_up_after_a_few_polls_makes_the_apply_say_healthy() {
    require_terraform();
    let server = Server::start(2);
    let sb = sandbox(&server.url, "  timeout: 20s\n  interval: 50ms\n  max_interval: 200ms\n");
    let apply = plan_then_apply(&sb);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let health = &apply.json()["health"];
    assert_eq!(health["state"], "healthy", "{health}");
    assert_eq!((health["status"].as_u64(), health["polls"].as_u64()), (Some(200), Some(3)), "{health}");
    assert_eq!(health["url"], server.url.as_str());
    assert_eq!(server.requests(), 3);
    let message = apply_record_message(&sb);
    assert!(
        message.starts_with("Applied: 1 added, 0 changed, 0 destroyed; healthy (HTTP 200 after 3 polls, "),
        "{message}"
    );
    // `status` shows every step of the change, ending healthy, with the outputs.
    let status = status_of(&sb);
    assert_eq!(status["current"], "healthy", "{status}");
    assert_eq!(steps(&status), ["requested", "validated", "planned", "applying", "applied", "healthy"]);
    assert_eq!(status["outputs"]["health_check_url"], server.url.as_str(), "{status}");
    assert_eq!(status["error"], serde_json::Value::Null);
}

/// `status --json` of `local/shop` in staging.
fn status_of(sb: &Sandbox) -> serde_json::Value {
    let out = Run::new(sb.path()).args(["--json", "status", "--customer", "local/shop", "--env", "staging"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["environments"][0].clone()
}

fn steps(status: &serde_json::Value) -> Vec<String> {
    let steps = status["steps"].as_array().cloned().unwrap_or_default();
    steps.iter().map(|s| s["step"].as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn a_service_that_never_comes_up_fails_the_apply_naming_the_status_and_the_wait() {
    require_terraform();
    let server = Server::start(usize::MAX);
    let sb = sandbox(&server.url, "  timeout: 1s\n  interval: 50ms\n  max_interval: 200ms\n");
    let apply = plan_then_apply(&sb);
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    let polls = server.requests();
    assert!(polls >= 2, "polled more than once: {polls}");
    let expected = format!("applied, but unhealthy: {} answered 503 after {polls} polls over ", server.url);
    assert!(apply.stderr.contains(&expected), "expected `{expected}` in:\n{}", apply.stderr);
    assert!(apply.stderr.contains("(expected 200)"), "{}", apply.stderr);
    assert_eq!(apply.json()["status"], "failed");
    assert!(apply_record_message(&sb).starts_with(&format!("Failed: {expected}")));
    // Applied, then failed: the status names the error.
    let status = status_of(&sb);
    assert_eq!(steps(&status), ["requested", "validated", "planned", "applying", "applied", "failed"]);
    assert!(status["error"].as_str().is_some_and(|e| e.contains(&expected)), "{status}");
}

#[test]
fn a_module_without_the_output_skips_the_check_and_says_so() {
    require_terraform();
    let sb = Sandbox::new();
    let apply = plan_then_apply(&sb);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let health = &apply.json()["health"];
    assert_eq!(health["state"], "skipped");
    assert_eq!(health["reason"], "the module has no `health_check_url` output");
    assert!(apply.stderr.contains("no health check: the module has no `health_check_url` output"), "{}", apply.stderr);
}
