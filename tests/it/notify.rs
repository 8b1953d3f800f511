//! Issue 24 item 3: notifications on transitions. The real binary, real Terraform and the
//! local store; a receiver on 127.0.0.1 checks each signature and counts the deliveries.
//! Drift is made as a person would make it: a resource removed from the state behind the
//! service's back, then put back.

use crate::support::cli::{Output, Run, Sandbox, require_terraform};
use crate::support::webhook::{Receiver, down_url};

const KEY: &str = "test-signing-key";

fn state_file(sb: &Sandbox) -> std::path::PathBuf {
    sb.store().join("state/local/shop/staging/terraform.tfstate")
}

/// A sandbox whose `staging` is applied, with `notify:` set to `webhooks` (a YAML list).
fn applied(webhooks: &str) -> Sandbox {
    require_terraform();
    let sb = Sandbox::new();
    sb.add_config(&format!("notify:\n  backoff: 10ms\n  timeout: 5s\n  webhooks:\n{webhooks}"));
    for verb in ["plan", "apply"] {
        let out = sb.run(verb, "staging");
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    sb
}

/// `drift` of the sandbox's customer, with the webhooks' variables set.
fn drift(sb: &Sandbox, vars: &[(&str, &str)]) -> Output {
    let mut run = Run::new(sb.path()).args(["--json", "drift", "--source-dir", "shop", "--env", "staging"]);
    for (key, value) in vars {
        run = run.env(key, value);
    }
    let out = run.run();
    assert_eq!(out.code, 0, "drift never fails for a notification: {}", out.stderr);
    out
}

/// Someone puts the state `original` back, with a newer serial.
fn put_back(sb: &Sandbox, original: &str) {
    let mut state: serde_json::Value = serde_json::from_str(original).expect("json");
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 2);
    std::fs::write(state_file(sb), state.to_string()).expect("write");
}

/// The newest drift record's `notifications` line.
fn notifications(sb: &Sandbox) -> String {
    let out = Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop", "--env", "staging"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let history = out.json();
    let runs = history["runs"].as_array().expect("runs");
    let drift = runs.iter().find(|r| r["kind"] == "drift").expect("a drift record");
    drift["notifications"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn three_drift_runs_drifted_still_drifted_back_in_sync_make_exactly_two_signed_deliveries() {
    let receiver = Receiver::start(&[204]);
    let sb = applied("    - name: ops\n      url_env: OPS_URL\n      secret_env: OPS_SECRET\n");
    let vars = [("OPS_URL", receiver.url.as_str()), ("OPS_SECRET", KEY)];
    // In sync, as after every apply: nothing to tell.
    drift(&sb, &vars);
    assert_eq!(receiver.received().len(), 0);

    let original = sb.remove_from_state("staging", "security_group");
    let drifted = drift(&sb, &vars);
    assert_eq!(drifted.json()["drifted"], 1, "{}", drifted.stdout);
    drift(&sb, &vars); // still drifted
    put_back(&sb, &original);
    let synced = drift(&sb, &vars);
    assert_eq!(synced.json()["drifted"], 0, "{}", synced.stdout);

    let received = receiver.received();
    let events: Vec<String> = received.iter().map(|r| r.json()["event"].as_str().unwrap_or("?").to_owned()).collect();
    assert_eq!(events, ["drifted", "back-in-sync"], "one delivery per transition");
    for r in &received {
        assert!(r.signed_with(KEY.as_bytes()), "signed: {:?}", r.headers);
        assert!(!r.signed_with(b"another key"));
        let body = r.json();
        assert_eq!((body["owner"].as_str(), body["environment"].as_str()), (Some("local/shop"), Some("staging")));
        assert_eq!(r.headers.get("x-infra-manager-event"), body["event"].as_str().map(str::to_owned).as_ref());
        assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/json"));
    }
    assert!(
        received[0].json()["summary"].as_str().is_some_and(|s| s.starts_with("drifted: ")),
        "{}",
        received[0].json()
    );
    assert_eq!(received[1].json()["summary"], "in sync");
    assert_eq!(notifications(&sb), "ops back-in-sync: delivered (HTTP 204, 1 attempt)");
    assert!(
        synced.stderr.contains("webhook `ops` (back-in-sync, local/shop (staging)): delivered"),
        "{}",
        synced.stderr
    );
}

#[test]
fn a_receiver_answering_500_then_200_gets_the_same_delivery_again() {
    let receiver = Receiver::start(&[500, 200]);
    let sb = applied("    - name: ops\n      url_env: OPS_URL\n      secret_env: OPS_SECRET\n");
    sb.remove_from_state("staging", "security_group");
    drift(&sb, &[("OPS_URL", receiver.url.as_str()), ("OPS_SECRET", KEY)]);
    let received = receiver.received();
    assert_eq!(received.len(), 2, "tried again after the 500");
    assert_eq!(received[0].body, received[1].body, "the same payload");
    assert!(received.iter().all(|r| r.signed_with(KEY.as_bytes())));
    assert_eq!(notifications(&sb), "ops drifted: delivered (HTTP 200, 2 attempts)");
}

#[test]
fn a_receiver_that_is_down_is_a_warning_and_a_record_and_the_run_still_succeeds() {
    let receiver = Receiver::start(&[200]);
    let webhooks = "    - name: down\n      url_env: DOWN_URL\n      format: slack\n      events: [drifted]\n    - name: chat\n      url_env: CHAT_URL\n      format: slack\n";
    let sb = applied(webhooks);
    sb.remove_from_state("staging", "security_group");
    let down = down_url();
    let out = drift(&sb, &[("DOWN_URL", down.as_str()), ("CHAT_URL", receiver.url.as_str())]);
    let warning =
        out.stderr.lines().find(|l| l.starts_with("::warning::webhook `down` (drifted, local/shop (staging))"));
    let warning = warning.unwrap_or_else(|| panic!("a warning: {}", out.stderr));
    assert!(warning.contains("not delivered after 3 attempts"), "{warning}");
    assert!(!warning.contains(&down), "the URL, a secret, is not shown: {warning}");
    // The other webhook got its message all the same.
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].json()["text"]
            .as_str()
            .is_some_and(|t| t.starts_with(":warning: *Drifted*: customer `local/shop` `staging`"))
    );
    let told = notifications(&sb);
    assert!(told.starts_with("down drifted: not delivered after 3 attempts: "), "{told}");
    assert!(told.ends_with("; chat drifted: delivered (HTTP 200, 1 attempt)"), "{told}");
}

#[test]
fn a_tenant_apply_that_carries_out_a_provisioning_request_says_so_once() {
    let receiver = Receiver::start(&[204]);
    let m = crate::support::manager::Manager::new();
    m.sb.add_config(concat!(
        "tenants:\n  types: [connector]\n  environments: [staging]\n  auto_approve: { connector: true }\n",
        "notify:\n  webhooks:\n    - name: backend\n      url_env: BACKEND_URL\n      secret_env: BACKEND_SECRET\n",
        "      events: [request-applied, request-failed]\n",
    ));
    let inputs = r#"{"user_id": "alice", "connector": "xero", "retention_days": 7}"#;
    let args =
        ["request", "--request-id", "req-7", "--tenant", "alice-xero", "--type", "connector", "--inputs", inputs];
    let out = m.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tenant = |verb: &str| {
        let out = Run::new(m.sb.path())
            .args([verb, "--tenant", "alice-xero", "--env", "staging", "--repo", "manager"])
            .env("BACKEND_URL", &receiver.url)
            .env("BACKEND_SECRET", KEY)
            .run();
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    };
    tenant("plan");
    tenant("apply");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the plan is no request event; the apply is");
    let body = received[0].json();
    assert_eq!(
        (body["event"].as_str(), body["request"].as_str(), body["owner_kind"].as_str(), body["owner"].as_str()),
        (Some("request-applied"), Some("req-7"), Some("tenant"), Some("tenants/alice-xero"))
    );
    assert!(received[0].signed_with(KEY.as_bytes()));
    // Applied again (nothing new): the request was carried out already.
    tenant("plan");
    tenant("apply");
    assert_eq!(receiver.received().len(), 1);
}
