//! Issue 24 items 1 and 6 through the real binary, real Terraform, a real Git manager
//! repository and the local store: `overview` over a fleet with one target failing, one
//! drifted, one expiring, one locked, one waiting for approval and a tenant with an open
//! provisioning request, in text, JSON and the job summary's Markdown (snapshots, times
//! and commits normalised); its filters; `plans list` marking the plan an apply takes.

use std::collections::BTreeMap;

use crate::support::cli::{Output, Run, v1_variables};
use crate::support::manager::Manager;

/// Five customers (one with production, whose applies need alice's approval) and tenants
/// of two priced catalog types; `acme/trial` expires in three days and a few hours.
fn registry(expires: &str) -> String {
    let mut text = String::from("customers:\n  - repo: acme/shop\n    environments: [staging, production]\n");
    for name in ["broken", "drifted", "trial", "locked"] {
        text.push_str(&format!("  - repo: acme/{name}\n    environments: [staging]\n"));
        if name == "trial" {
            text.push_str(&format!("    expires_at: {{ staging: \"{expires}\" }}\n"));
        }
    }
    text
}

const SETTINGS: &str = "environments:
  staging: { auto_apply: true }
  production: { auto_apply: false, approval: { reviewers: [alice] } }
catalog:
  queue: { module: catalog/queue, price: { monthly: 2 } }
  bucket: { module: catalog/bucket, price: { monthly: 1.5 } }
tenants:
  types: [queue, bucket]
  environments: [staging]
  auto_approve: { queue: true }
";

/// A checkout of the v1 customer file under `customers/<name>/`; staging only unless `production`.
fn checkout(m: &Manager, name: &str, production: bool) {
    let infra = m.sb.path().join("customers").join(name).join("infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    let text = std::fs::read_to_string(v1_variables()).expect("fixture");
    let text: String = text
        .lines()
        .filter(|l| production || !l.trim_start().starts_with("production:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(infra.join("variables.yml"), text).expect("write");
}

/// `infra-manager --json <args>` in the sandbox, with the manager checkout at `manager/`.
fn run(m: &Manager, args: &[&str]) -> Output {
    Run::new(m.sb.path()).args(["--json"]).args(args).args(["--repo", "manager"]).run()
}

fn ok(out: &Output, what: &str) -> serde_json::Value {
    assert_eq!(out.code, 0, "{what}: {}\n{}", out.stdout, out.stderr);
    out.json()
}

fn customer(m: &Manager, verb: &str, name: &str, env: &str) -> Output {
    let dir = format!("customers/{name}");
    Run::new(m.sb.path()).args(["--json", verb, "--source-dir", &dir, "--customer", name, "--env", env]).run()
}

fn plan_and_apply(m: &Manager, name: &str) {
    ok(&customer(m, "plan", name, "staging"), &format!("plan {name}"));
    ok(&customer(m, "apply", name, "staging"), &format!("apply {name}"));
}

fn state_file(m: &Manager, name: &str) -> std::path::PathBuf {
    m.sb.store().join("state").join(name).join("staging/terraform.tfstate")
}

/// Commits and times change from run to run: each commit becomes `[SHA-n]` (in the order
/// the JSON names them, full and as its 7-character prefix), each time `[TIME]`, each age
/// `[AGE]`, and the sandbox's path `[SANDBOX]`.
fn normalised(text: &str, json: &serde_json::Value, sandbox: &std::path::Path) -> String {
    let mut shas: Vec<String> = Vec::new();
    for row in json["results"].as_array().expect("results") {
        for sha in [&row["applied"]["sha"], &row["latest"]["sha"], &row["waiting"]["sha"]] {
            if let Some(sha) = sha.as_str().filter(|s| !shas.iter().any(|k| k == s)) {
                shas.push(sha.to_owned());
            }
        }
    }
    let mut out = text.replace(&sandbox.display().to_string(), "[SANDBOX]");
    for (i, sha) in shas.iter().enumerate() {
        out = out.replace(sha, &format!("[SHA-{}]", i + 1)).replace(&sha[..7], &format!("[SHA-{}]", i + 1));
    }
    let patterns = [
        (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[TIME]"),
        (r"\d+h \d+m \d+s|\d+m \d+s", "[AGE]"),
        (r#""age_seconds": \d+"#, r#""age_seconds": "[AGE]""#),
        (r"sha256:[0-9a-f]+", "sha256:[DIGEST]"),
    ];
    for (pattern, with) in patterns {
        out = regex::Regex::new(pattern).expect("regex").replace_all(&out, with).into_owned();
    }
    out
}

#[test]
fn the_overview_shows_the_fleet_in_one_table_in_text_json_and_markdown() {
    let m = Manager::new();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3 * 24 + 6);
    m.sb.add_config(&registry(&expires.to_string()));
    m.sb.add_config(SETTINGS);
    checkout(&m, "acme/shop", true);
    for name in ["acme/broken", "acme/drifted", "acme/trial", "acme/locked"] {
        checkout(&m, name, false);
    }

    // In sync and healthy: staging applied; production planned, waiting for alice.
    plan_and_apply(&m, "acme/shop");
    ok(&customer(&m, "plan", "acme/shop", "production"), "plan production");
    // Failing: a later change's plan fails its checks at apply (its stored file altered).
    plan_and_apply(&m, "acme/broken");
    let variables = m.sb.path().join("customers/acme/broken/infra/variables.yml");
    let text = std::fs::read_to_string(&variables).expect("read");
    std::fs::write(&variables, text.replace("max_instances: 2", "max_instances: 3")).expect("write");
    let plan = ok(&customer(&m, "plan", "acme/broken", "staging"), "plan the change");
    let key = plan["plan_key"].as_str().expect("key").to_owned();
    let mut bytes = std::fs::read(&key).expect("plan file");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&key, bytes).expect("tamper");
    assert_eq!(customer(&m, "apply", "acme/broken", "staging").code, 1, "the altered plan is refused");
    // Drifted: a resource removed from the state behind the service's back, then checked.
    plan_and_apply(&m, "acme/drifted");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(&m, "acme/drifted")).expect("state")).expect("json");
    state["resources"].as_array_mut().expect("resources").retain(|r| r["name"] != "security_group");
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
    std::fs::write(state_file(&m, "acme/drifted"), state.to_string()).expect("write");
    let drift = run(&m, &["drift", "--customer", "acme/drifted", "--source-root", "customers"]);
    assert_eq!(ok(&drift, "drift")["drifted"], 1, "{}", drift.stdout);
    // Expiring in three days.
    plan_and_apply(&m, "acme/trial");
    plan_and_apply(&m, "acme/locked");
    // A tenant made by a request (applied), with a second request still under review.
    let request = |id: &str, type_name: &str| {
        m.run(&["request", "--request-id", id, "--tenant", "billing", "--type", type_name, "--inputs", "{}"])
    };
    ok(&request("r-1", "queue"), "request r-1");
    m.plan("billing");
    m.apply("billing", None);
    let review = ok(&request("r-2", "bucket"), "request r-2");
    assert_eq!(review["branch"], "tenant-request/r-2", "{review}");

    // Locked: the lock info Terraform's local backend keeps beside the state while an apply
    // holds it (as Terraform 1.11 writes it), taken two hours and 20 seconds ago: its age
    // keeps its width (`2h 0m 2Xs`) while the test runs, so the text table's does.
    let taken = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(2 * 3600 + 20);
    let info = serde_json::json!({
        "ID": "5b0c6e02-lock", "Operation": "OperationTypeApply", "Info": "", "Who": "runner@build-7",
        "Version": "1.11.4", "Created": taken.to_string(), "Path": state_file(&m, "acme/locked"),
    });
    let lock_info = state_file(&m, "acme/locked").with_file_name(".terraform.tfstate.lock.info");
    std::fs::write(&lock_info, info.to_string()).expect("lock");

    let summary = m.sb.path().join("summary.md");
    let outputs = m.sb.path().join("outputs");
    let json = Run::new(m.sb.path())
        .args(["--json", "overview", "--repo", "manager"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .run();
    let report = ok(&json, "overview --json");
    let rows = report["results"].as_array().expect("rows");
    let attention: BTreeMap<String, Vec<String>> = rows
        .iter()
        .map(|r| {
            let key = format!(
                "{} {}",
                r["customer"].as_str().unwrap_or_default(),
                r["environment"].as_str().unwrap_or_default()
            );
            let what =
                r["attention"].as_array().expect("attention").iter().filter_map(|a| a.as_str().map(str::to_owned));
            (key, what.collect())
        })
        .collect();
    let expected: BTreeMap<String, Vec<String>> = [
        ("acme/shop staging", vec![]),
        ("acme/shop production", vec!["awaiting-approval"]),
        ("acme/broken staging", vec!["failing"]),
        ("acme/drifted staging", vec!["drifted"]),
        ("acme/trial staging", vec!["expiring"]),
        ("acme/locked staging", vec!["locked"]),
        ("tenants/billing staging", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(attention, expected, "{}", json.stdout);
    let billing = rows.iter().find(|r| r["customer"] == "tenants/billing").expect("tenant row");
    assert_eq!((billing["kind"].as_str(), billing["monthly_cost"].as_f64()), (Some("tenant"), Some(2.0)), "{billing}");
    assert_eq!(billing["requests"][0]["request_id"], "r-2", "the open request: {billing}");
    assert_eq!(rows.iter().find(|r| r["customer"] == "acme/trial").expect("trial")["expiry"]["days_left"], 3);
    insta::assert_snapshot!("json", normalised(&json.stdout, &report, m.sb.path()));

    let markdown = std::fs::read_to_string(&summary).expect("the job summary");
    insta::assert_snapshot!("markdown", normalised(&markdown, &report, m.sb.path()));
    // Each output is `name<<delimiter`, its value, the delimiter.
    let outputs = std::fs::read_to_string(&outputs).expect("step outputs");
    let lines: Vec<&str> = outputs.lines().collect();
    let values: BTreeMap<&str, &str> =
        lines.windows(2).filter_map(|w| Some((w[0].split_once("<<")?.0, w[1]))).collect();
    let expected =
        [("drifted", "1"), ("expiring", "1"), ("failing", "1"), ("locked", "1"), ("targets", "7"), ("waiting", "2")];
    assert_eq!(values, BTreeMap::from(expected), "{outputs}");

    let text = Run::new(m.sb.path()).args(["overview", "--repo", "manager"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("text", normalised(&text.stdout, &report, m.sb.path()));

    // The filters: one owner, one environment; a target outside the fleet is refused.
    let tenant = ok(&run(&m, &["overview", "--tenant", "billing"]), "--tenant");
    assert_eq!(tenant["targets"], 1, "{tenant}");
    let production = ok(&run(&m, &["overview", "--env", "production"]), "--env");
    let owners: Vec<&str> =
        production["results"].as_array().expect("rows").iter().filter_map(|r| r["customer"].as_str()).collect();
    assert_eq!(owners, ["acme/shop"], "{production}");
    let shop = ok(&run(&m, &["overview", "--customer", "acme/shop", "--env", "staging"]), "--customer --env");
    assert_eq!((shop["targets"].as_u64(), shop["results"][0]["environment"].as_str()), (Some(1), Some("staging")));
    let nobody = run(&m, &["overview", "--customer", "acme/nobody"]);
    assert_eq!(nobody.code, 2, "{}", nobody.stdout);
    assert!(
        nobody.json()["errors"][0]["message"].as_str().is_some_and(|e| e.contains("`acme/nobody`")),
        "{}",
        nobody.stdout
    );

    // plans list: the failing target's plans, newest first; the one an apply would take
    // (the latest, refused above) and the one applied before it.
    let plans = ok(
        &Run::new(m.sb.path()).args(["--json", "plans", "list", "--customer", "acme/broken", "--env", "staging"]).run(),
        "plans list",
    );
    let listed: Vec<(bool, bool)> = plans["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|p| (p["latest"].as_bool().unwrap_or_default(), p["applied_at"].is_string()))
        .collect();
    assert_eq!(listed, [(true, false), (false, true)], "{plans}");
    assert_eq!(
        plans["plans"][0]["sha"],
        rows.iter().find(|r| r["customer"] == "acme/broken").expect("row")["waiting"]["sha"]
    );
    let text = Run::new(m.sb.path()).args(["plans", "list", "--customer", "acme/broken", "--env", "staging"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[0].contains("acme/broken staging: 2 stored plans, newest first"), "{}", text.stdout);
    assert!(lines[1].starts_with("* ") && !lines[1].contains("applied at"), "{}", text.stdout);
    assert!(lines[2].starts_with("  ") && lines[2].contains("applied at"), "{}", text.stdout);
}
