//! The health check after an apply, end to end: the real binary, real Terraform (local
//! mode), and an HTTP server on 127.0.0.1 that the module's `health_check_url` output
//! points at.

use base64::Engine as _;

use crate::support::cli::{Output, Run, Sandbox, repo_root, require_terraform};
use crate::support::health_server::Server;
use crate::support::netns::Netns;

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

/// Every spelling of the cloud metadata address, and names resolving to refused addresses:
/// the binary, in a network namespace with no route out where `169.254.169.254:80`,
/// `[fd00:ec2::254]:80` and `127.0.0.1:8080` are real listeners that record each connection.
/// Each refused form fails the apply's check naming the address, with zero connections;
/// the control URLs (a loopback address and a name resolving to it) are connected to.
#[test]
fn no_spelling_of_a_metadata_address_is_connected_to() {
    require_terraform();
    let hosts = "127.0.0.1 localhost service.test\n169.254.169.254 metadata.test\nfd00:ec2::254 metadata6.test\n";
    let listen = ["169.254.169.254:80".to_owned(), "[fd00:ec2::254]:80".to_owned(), "127.0.0.1:8080".to_owned()];
    let ns = Netns::start(&["169.254.169.254/32", "fd00:ec2::254/128"], hosts, &listen);
    let refused = [
        ("http://169.254.169.254/latest/meta-data/", "`169.254.169.254`"),
        ("http://2852039166/", "`169.254.169.254`"),
        ("http://0xa9fea9fe/", "`169.254.169.254`"),
        ("http://0251.0376.0251.0376/", "`169.254.169.254`"),
        ("http://169.254.43518/", "`169.254.169.254`"),
        ("http://169.16689662/", "`169.254.169.254`"),
        ("http://169.254.169.254./", "`169.254.169.254`"),
        ("http://%31%36%39.254.169.254/", "`169.254.169.254`"),
        ("http://[::ffff:169.254.169.254]/", "(`169.254.169.254`)"),
        ("http://[::ffff:a9fe:a9fe]/", "(`169.254.169.254`)"),
        ("http://[fd00:ec2::254]/", "`fd00:ec2::254`"),
        ("http://metadata.test/", "its host `metadata.test` resolves to `169.254.169.254`"),
        ("http://metadata6.test/", "its host `metadata6.test` resolves to `fd00:ec2::254`"),
    ];
    let sb = sandbox("http://127.0.0.1:8080/", "  timeout: 5s\n  interval: 50ms\n  max_interval: 200ms\n");
    let run = |command: &str| {
        let cmd =
            Run::new(sb.path()).args(["--json", command, "--source-dir", "shop", "--env", "staging"]).into_command();
        ns.run(&cmd, sb.path())
    };
    let apply_with = |url: &str| {
        let variables = std::fs::read_to_string(sb.variables()).expect("variables");
        let (head, _) = variables.split_once("  health_check_url").expect("the url tag");
        let encoded = base64::engine::general_purpose::STANDARD.encode(url);
        std::fs::write(sb.variables(), format!("{head}  health_check_url_b64: \"{encoded}\"\n")).expect("variables");
        let plan = run("plan");
        assert_eq!(plan.code, 0, "{url}: {}", plan.stderr);
        run("apply")
    };
    for (url, address) in refused {
        let apply = apply_with(url);
        assert_eq!(apply.code, 1, "{url}: {}", apply.stderr);
        let message = apply.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("can't be polled: its host"), "{url}: {message}");
        assert!(message.contains(address), "{url}: expected {address} in {message}");
        assert_eq!(ns.connections(), Vec::<String>::new(), "{url} was connected to");
    }
    // The controls: the listener is reachable, by address and by a name from the same hosts file.
    for (url, seen) in [("http://127.0.0.1:8080/", 1), ("http://service.test:8080/ready", 2)] {
        let apply = apply_with(url);
        assert_eq!(apply.code, 0, "{url}: {}", apply.stderr);
        assert_eq!(apply.json()["health"]["state"], "healthy", "{url}");
        assert_eq!(ns.connections().len(), seen, "{url}");
    }
    assert_eq!(ns.connections(), ["127.0.0.1:8080", "127.0.0.1:8080"]);
}
