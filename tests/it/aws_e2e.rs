//! The S3 side end to end: the real binary, real Terraform, state, plans, locks and run
//! records on a private moto server per test (S3 + DynamoDB on 127.0.0.1).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::support;
use crate::support::aws::AwsSandbox;
use crate::support::cli::{Output, Run, Sandbox, require_terraform};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_C: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// How long one run may take before it counts as hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn dir(customer: &str) -> String {
    format!("customers/{customer}/staging")
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(out.code, 0, "{what} failed:\n{}\n{}", out.stdout, out.stderr);
}

/// A run refused with exit 1; returns its first error message.
fn refused_message(out: &Output, what: &str) -> String {
    assert_eq!(out.code, 1, "{what} should be refused:\n{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "refused", "{what}: {report}");
    report["errors"][0]["message"].as_str().expect("a message").to_owned()
}

/// The stored state as JSON, checked to be a whole state with all 7 resource blocks.
fn assert_intact_state(sb: &AwsSandbox, customer: &str) -> serde_json::Value {
    let key = format!("{}/terraform.tfstate", dir(customer));
    let state: serde_json::Value =
        serde_json::from_slice(&sb.object(&key)).unwrap_or_else(|e| panic!("{key} is not JSON: {e}"));
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(7), "{key}: 7 resource blocks (subnet has count 2)");
    state
}

/// Only Terraform's `-md5` digest items are left in the lock table: no lock survived a run.
fn assert_no_lock_items(sb: &AwsSandbox, states: usize) {
    let ids = sb.lock_ids();
    assert_eq!(ids.len(), states, "one digest item per state: {ids:?}");
    assert!(ids.iter().all(|id| id.ends_with("-md5")), "a lock item remains: {ids:?}");
    let listed = sb.run(["--json", "locks", "list"]);
    assert_ok(&listed, "locks list");
    assert_eq!(listed.json()["locks"], serde_json::json!([]));
}

fn history(sb: &AwsSandbox, customer: &str) -> Vec<(String, String, String)> {
    let out = sb.run(["--json", "history", "--customer", customer]);
    assert_ok(&out, "history");
    let report = out.json();
    assert_eq!((report["command"].as_str(), report["customer"].as_str()), (Some("history"), Some(customer)));
    let runs = report["runs"].as_array().expect("runs");
    let started: Vec<&str> = runs.iter().filter_map(|r| r["started_at"].as_str()).collect();
    let stamps: Vec<jiff::Timestamp> = started.iter().map(|s| s.parse().expect("RFC 3339")).collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "not newest first: {started:?}");
    runs.iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (field("kind"), field("sha")[..7].to_owned(), field("status"))
        })
        .collect()
}

fn run_entry(kind: &str, sha: &str, status: &str) -> (String, String, String) {
    (kind.to_owned(), sha[..7].to_owned(), status.to_owned())
}

#[test]
fn bootstrap_twice_is_idempotent_and_the_bucket_is_versioned_and_encrypted() {
    let sb = AwsSandbox::new("boot");
    let first = sb.run(["bootstrap"]);
    assert_ok(&first, "bootstrap");
    assert_eq!(
        first.stdout.lines().collect::<Vec<_>>(),
        [
            "state bucket `boot-state`: created",
            "lock table `boot-locks`: created",
            "records table `boot-runs`: created"
        ]
    );

    let second = sb.run(["--json", "bootstrap"]);
    assert_ok(&second, "second bootstrap");
    let report = second.json();
    assert_eq!((report["command"].as_str(), report["changed"].as_bool()), (Some("bootstrap"), Some(false)), "{report}");
    let outcomes: Vec<(&str, &str)> = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| (r["name"].as_str().unwrap_or_default(), r["outcome"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        outcomes,
        [("boot-state", "already_existed"), ("boot-locks", "already_existed"), ("boot-runs", "already_existed")]
    );
    let text = sb.run(["bootstrap"]);
    assert!(text.stdout.lines().all(|l| l.ends_with(": already existed")), "{}", text.stdout);

    // Read raw: moto's GetBucketVersioning body has a root element the SDK refuses.
    let versioning = sb.moto.raw_get("/boot-state?versioning");
    assert!(versioning.contains("<Status>Enabled</Status>"), "{versioning}");
    let encryption = sb.block_on(sb.s3().get_bucket_encryption().bucket("boot-state").send()).expect("encryption");
    let algorithm = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().clone());
    assert_eq!(algorithm, Some(ServerSideEncryption::Aes256));
}

#[test]
fn plan_and_apply_for_two_customers_keep_one_state_each_with_their_plans_beside_it() {
    require_terraform();
    let sb = AwsSandbox::new("two");
    sb.bootstrap();
    for (customer, sha) in [("acme/one", SHA_A), ("acme/two", SHA_B)] {
        let plan = sb.plan(customer, sha);
        assert_ok(&plan, "plan");
        let report = plan.json();
        let expected_key = format!("s3://two-state/{}/plans/{sha}.tfplan", dir(customer));
        assert_eq!(report["plan_key"].as_str(), Some(expected_key.as_str()));
        assert_eq!((report["status"].as_str(), report["add"].as_u64()), (Some("ok"), Some(8)));
        let apply = sb.apply(customer, sha);
        assert_ok(&apply, "apply");
        assert_eq!(apply.json()["status"], "ok");
    }

    let mut expected = BTreeSet::new();
    for (customer, sha) in [("acme/one", SHA_A), ("acme/two", SHA_B)] {
        let d = dir(customer);
        expected.extend([
            format!("{d}/terraform.tfstate"),
            format!("{d}/plans/{sha}.tfplan"),
            format!("{d}/plans/{sha}.json"),
            // What an apply after a merge compares (issue 22 item 4).
            format!("{d}/plans/{sha}.reviewable.json"),
            format!("{d}/plans/latest.json"),
        ]);
    }
    let keys: BTreeSet<String> = sb.object_keys().into_iter().collect();
    assert_eq!(keys, expected);
    let states: Vec<_> = keys.iter().filter(|k| k.ends_with(".tfstate")).collect();
    assert_eq!(states.len(), 2, "{states:?}");

    for key in &keys {
        let head = sb.block_on(sb.s3().head_object().bucket("two-state").key(key).send()).expect("head");
        assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256), "{key} is not encrypted");
    }
    for (customer, sha) in [("acme/one", SHA_A), ("acme/two", SHA_B)] {
        assert_intact_state(&sb, customer);
        let meta: serde_json::Value =
            serde_json::from_slice(&sb.object(&format!("{}/plans/{sha}.json", dir(customer)))).expect("metadata");
        assert_eq!((meta["customer"].as_str(), meta["sha"].as_str()), (Some(customer), Some(sha)));
        assert!(meta["terraform_version"].as_str().is_some_and(|v| !v.is_empty()), "{meta}");
    }
    assert_no_lock_items(&sb, 2);
    // Per-run working directories are removed afterwards.
    let work = sb.path().join("local/work");
    assert_eq!(std::fs::read_dir(&work).map(|d| d.count()).unwrap_or(0), 0, "{} is not empty", work.display());

    assert_eq!(
        history(&sb, "acme/one"),
        [run_entry("apply", SHA_A, "succeeded"), run_entry("plan", SHA_A, "succeeded")]
    );
    let text = sb.run(["history", "--customer", "acme/two", "--env", "staging"]);
    assert_ok(&text, "history");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two runs: {}", text.stdout);
    assert!(lines[0].starts_with("STARTED (UTC)"), "{}", lines[0]);
    for (line, kind) in lines[1..].iter().zip(["apply", "plan"]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[1..6], [kind, "staging", &SHA_B[..7], "succeeded", "+8"], "{line}");
    }
    let limited = sb.run(["--json", "history", "--customer", "acme/two", "--limit", "1"]);
    assert_eq!(limited.json()["runs"].as_array().map(Vec::len), Some(1));
}

#[test]
#[allow(clippy::print_stderr)]
fn four_concurrent_applies_end_with_one_intact_state_and_clear_refusals() {
    require_terraform();
    let sb = AwsSandbox::new("race");
    sb.bootstrap();
    assert_ok(&sb.plan("acme/one", SHA_A), "plan");

    let started = Instant::now();
    let deadline = started + RUN_TIMEOUT;
    let children: Vec<_> =
        (1..=4).map(|n| sb.spawn(&format!("apply-{n}"), AwsSandbox::target_args("apply", "acme/one", SHA_A))).collect();
    let outputs: Vec<(String, Output)> =
        children.into_iter().map(|c| (c.label.clone(), c.wait_until(deadline))).collect();
    let elapsed = started.elapsed();

    let (mut applied, mut locked, mut stale) = (0, 0, 0);
    for (label, out) in &outputs {
        match out.code {
            0 => {
                assert_eq!(out.json()["status"], "ok", "{label}");
                applied += 1;
            }
            _ => {
                let message = refused_message(out, label);
                if message.contains("locked by another run") {
                    locked += 1;
                } else if message.contains("stale") {
                    stale += 1;
                } else {
                    panic!("{label} was refused without a lock or stale-plan message: {message}");
                }
            }
        }
    }
    eprintln!(
        "4 concurrent applies in {elapsed:?}: {applied} applied, {locked} refused (lock held), {stale} refused (stale plan)"
    );
    assert_eq!(applied, 1, "exactly one apply may win; the plan is stale for the others");

    assert_intact_state(&sb, "acme/one");
    let keys = sb.object_keys();
    assert_eq!(keys.iter().filter(|k| k.ends_with(".tfstate")).count(), 1, "{keys:?}");
    assert_no_lock_items(&sb, 1);
    let runs = history(&sb, "acme/one");
    assert_eq!(runs.len(), 5, "{runs:?}");
    assert_eq!(runs.iter().filter(|r| r.2 == "succeeded").count(), 2, "the plan and one apply: {runs:?}");
    assert_eq!(runs.iter().filter(|r| r.2 == "failed").count(), 3, "{runs:?}");
}

#[test]
fn apply_of_a_superseded_plan_is_refused() {
    require_terraform();
    let sb = AwsSandbox::new("super");
    sb.bootstrap();
    assert_ok(&sb.plan("acme/one", SHA_A), "plan A");
    assert_ok(&sb.plan("acme/one", SHA_B), "plan B");

    let message = refused_message(&sb.apply("acme/one", SHA_A), "apply A");
    assert!(message.contains("superseded"), "{message}");
    assert!(!sb.object_keys().iter().any(|k| k.ends_with(".tfstate")), "nothing may be applied");
    assert_eq!(
        history(&sb, "acme/one"),
        [
            run_entry("apply", SHA_A, "failed"),
            run_entry("plan", SHA_B, "succeeded"),
            run_entry("plan", SHA_A, "succeeded")
        ]
    );
}

#[test]
fn a_plan_that_finishes_after_a_newer_one_is_refused_and_leaves_the_pointer() {
    require_terraform();
    let sb = AwsSandbox::new("late");
    sb.bootstrap();
    assert_ok(&sb.plan("acme/one", SHA_B), "plan B");
    // Stand-in for a plan of B that was made later than the plan of C below finishes.
    let latest = format!("{}/plans/latest.json", dir("acme/one"));
    let mut pointer: serde_json::Value = serde_json::from_slice(&sb.object(&latest)).expect("pointer");
    pointer["created_at"] = "2999-01-01T00:00:00Z".into();
    sb.put_object(&latest, serde_json::to_vec(&pointer).expect("json"));

    let plan = sb.plan("acme/one", SHA_C);
    let message = refused_message(&plan, "plan C");
    assert!(message.contains("superseded"), "{message}");
    let after: serde_json::Value = serde_json::from_slice(&sb.object(&latest)).expect("pointer");
    assert_eq!(after["sha"], SHA_B, "the pointer must not move back");
    assert_eq!(history(&sb, "acme/one")[0], run_entry("plan", SHA_C, "failed"));
}

#[test]
fn apply_of_a_tampered_plan_is_refused() {
    require_terraform();
    let sb = AwsSandbox::new("tamper");
    sb.bootstrap();
    assert_ok(&sb.plan("acme/one", SHA_A), "plan");
    let key = format!("{}/plans/{SHA_A}.tfplan", dir("acme/one"));
    let mut bytes = sb.object(&key);
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    sb.put_object(&key, bytes);

    let message = refused_message(&sb.apply("acme/one", SHA_A), "apply");
    assert!(message.contains("does not match its checksum"), "{message}");
    assert!(!sb.object_keys().iter().any(|k| k.ends_with(".tfstate")), "nothing may be applied");
}

#[test]
fn names_crafted_to_escape_a_key_are_refused_before_any_aws_call() {
    let sb = AwsSandbox::new("names");
    sb.bootstrap();
    let before = (sb.object_keys(), sb.record_keys(), sb.lock_ids());
    // The same runs against a config whose endpoint has nothing listening: a refusal that
    // came after a call would be a connection failure (exit 1) there.
    let dead = sb.path().join("dead.yml");
    let config = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("config");
    let endpoint = sb.moto.endpoint().to_owned();
    std::fs::write(&dead, config.replace(&endpoint, "http://127.0.0.1:9")).expect("write");

    let bad_customers = ["../x", "acme/../x", "a/b/c", "Acme/web", "acme/", ""];
    let bad_envs = ["../x", "a/b", "Staging", ""];
    let mut cases: Vec<Vec<String>> = Vec::new();
    for customer in bad_customers {
        for command in ["plan", "apply"] {
            cases.push(AwsSandbox::target_args(command, customer, SHA_A));
        }
        cases.push(["--json", "history", "--customer", customer].map(str::to_owned).to_vec());
        cases.push(
            ["--json", "locks", "release", "--customer", customer, "--env", "staging", "--force"]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    for env in bad_envs {
        for command in ["plan", "apply"] {
            let mut args = AwsSandbox::target_args(command, "acme/one", SHA_A);
            args[5] = env.to_owned();
            cases.push(args);
        }
        cases.push(["--json", "history", "--customer", "acme/one", "--env", env].map(str::to_owned).to_vec());
        cases.push(
            ["--json", "locks", "release", "--customer", "acme/one", "--env", env, "--force"]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    for args in &cases {
        for config in [None, Some(&dead)] {
            let mut run = sb.command(args);
            if let Some(path) = config {
                run = run.args([std::ffi::OsStr::new("--config"), path.as_os_str()]);
            }
            let out = run.run();
            assert_eq!(
                out.code, 2,
                "{args:?} (config {config:?}) should be refused as invalid:\n{}\n{}",
                out.stdout, out.stderr
            );
            let report = out.json();
            assert_eq!(report["status"], "refused", "{args:?}: {report}");
            let message = report["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(
                ["owner", "repository", "customer", "environment"].iter().any(|w| message.contains(w)),
                "{args:?}: {message}"
            );
        }
    }
    assert_eq!((sb.object_keys(), sb.record_keys(), sb.lock_ids()), before, "a refused name reached AWS");
}

#[test]
fn locks_are_listed_and_a_stale_one_released_only_when_old_enough_or_forced() {
    let sb = AwsSandbox::new("locks");
    sb.bootstrap();
    let lock_id = format!("locks-state/{}/terraform.tfstate", dir("acme/one"));
    let put_lock_on = |lock_id: &str, id: &str, created: jiff::Timestamp| {
        let info = serde_json::json!({
            "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": "runner@ci-host",
            "Version": "1.11.4", "Created": created.to_string(), "Path": lock_id,
        });
        let request = sb
            .dynamodb()
            .put_item()
            .table_name("locks-locks")
            .item("LockID", AttributeValue::S(lock_id.to_owned()))
            .item("Info", AttributeValue::S(info.to_string()));
        sb.block_on(request.send()).expect("put lock");
    };
    let put_lock = |id: &str, created: jiff::Timestamp| put_lock_on(&lock_id, id, created);
    put_lock("young-lock", jiff::Timestamp::now() - jiff::SignedDuration::from_mins(5));

    let listed = sb.run(["locks", "list"]);
    assert_ok(&listed, "locks list");
    let line = listed.stdout.trim();
    assert!(line.starts_with("acme/one (staging)  OperationTypeApply  held by `runner@ci-host`  since "), "{line}");
    assert!(line.contains("(5m ") && line.ends_with("lock ID `young-lock`"), "{line}");

    let release = ["--json", "locks", "release", "--customer", "acme/one", "--env", "staging"];
    let message = refused_message(&sb.run(release), "release of a 5-minute-old lock");
    assert!(message.contains("younger than 15m 0s"), "{message}");
    assert_eq!(sb.lock_ids(), std::slice::from_ref(&lock_id), "a refused release deleted the lock");

    let older = sb.run(release.iter().copied().chain(["--older-than", "2m"]));
    assert_ok(&older, "release with a 2m guard");
    assert_eq!(older.json()["result"]["outcome"], "released");
    assert_eq!(older.json()["result"]["lock"]["id"], "young-lock");

    put_lock("fresh-lock", jiff::Timestamp::now());
    let forced = sb.run(["locks", "release", "--customer", "acme/one", "--env", "staging", "--force"]);
    assert_ok(&forced, "forced release");
    assert!(forced.stdout.starts_with("released the lock on acme/one (staging): "), "{}", forced.stdout);
    assert_eq!(sb.lock_ids(), Vec::<String>::new());
    let none = sb.run(["locks", "release", "--customer", "acme/one", "--env", "staging"]);
    assert_ok(&none, "release without a lock");
    assert_eq!(none.stdout.trim(), "acme/one (staging) is not locked; nothing to release");

    let bad_age = sb.run(["locks", "release", "--customer", "acme/one", "--env", "staging", "--older-than", "soon"]);
    assert_eq!(bad_age.code, 2, "{}", bad_age.stderr);
    assert!(bad_age.stderr.contains("`soon` is not a duration"), "{}", bad_age.stderr);

    // Issue 19: a tenant's lock is listed as the tenant's, and released with `--tenant`.
    let tenant_lock = "locks-state/customers/tenants/billing/staging/terraform.tfstate";
    put_lock_on(tenant_lock, "tenant-lock", jiff::Timestamp::now());
    let listed = sb.run(["locks", "list"]);
    assert_ok(&listed, "locks list");
    assert!(listed.stdout.trim().starts_with("tenants/billing (staging)  OperationTypeApply"), "{}", listed.stdout);
    let released = sb.run(["locks", "release", "--tenant", "billing", "--env", "staging", "--force"]);
    assert_ok(&released, "release the tenant's lock");
    assert_eq!(sb.lock_ids(), Vec::<String>::new());
}

#[test]
fn with_the_local_backend_bootstrap_has_nothing_to_do_locks_refuse_and_history_works() {
    require_terraform();
    let sb = Sandbox::new();
    let boot = Run::new(sb.path()).args(["bootstrap"]).run();
    assert_ok(&boot, "bootstrap");
    assert!(boot.stdout.starts_with("nothing to bootstrap: `state.backend` is `local`"), "{}", boot.stdout);
    let boot = Run::new(sb.path()).args(["--json", "bootstrap"]).run();
    assert_eq!(
        (boot.json()["backend"].as_str(), boot.json()["resources"].as_array().map(Vec::len)),
        (Some("local"), Some(0))
    );

    for args in [
        &["--json", "locks", "list"][..],
        &["--json", "locks", "release", "--customer", "local/shop", "--env", "staging"],
    ] {
        let out = Run::new(sb.path()).args(args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("`state.backend` is `local`"), "{message}");
    }

    assert_ok(&sb.run("plan", "staging"), "plan");
    assert_ok(&sb.run("apply", "staging"), "apply");
    let out = Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop"]).run();
    assert_ok(&out, "history");
    let runs = out.json()["runs"].clone();
    let kinds: Vec<(&str, &str)> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| (r["kind"].as_str().unwrap_or_default(), r["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(kinds, [("apply", "succeeded"), ("plan", "succeeded")]);
}

#[test]
fn aws_endpoint_url_reaches_terraform_and_lockfile_mode_leaves_no_lock_object() {
    require_terraform();
    let sb = AwsSandbox::new("envurl");
    let endpoint = sb.moto.endpoint().to_owned();
    // No `endpoint:` in the config: the binary and Terraform get it from AWS_ENDPOINT_URL.
    sb.edit_config(|text| {
        text.replace(&format!("  endpoint: {endpoint}\n"), "").replace("lock: dynamodb", "lock: lockfile")
    });
    let config = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("config");
    assert!(!config.contains("endpoint:") && config.contains("lock: lockfile"), "{config}");
    let run = |args: Vec<String>| sb.command(args).env("AWS_ENDPOINT_URL", &endpoint).run();
    let words = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();

    let boot = run(words(&["bootstrap"]));
    assert_ok(&boot, "bootstrap");
    assert_eq!(
        boot.stdout.lines().collect::<Vec<_>>(),
        ["state bucket `envurl-state`: created", "records table `envurl-runs`: created"],
        "no lock table in lockfile mode"
    );
    assert_ok(&run(AwsSandbox::target_args("plan", "acme/one", SHA_A)), "plan");
    assert_ok(&run(AwsSandbox::target_args("apply", "acme/one", SHA_A)), "apply");

    assert_intact_state(&sb, "acme/one");
    let keys = sb.object_keys();
    assert!(!keys.iter().any(|k| k.ends_with(".tflock")), "a lock object remains: {keys:?}");
    let listed = run(words(&["--json", "locks", "list"]));
    assert_ok(&listed, "locks list");
    assert_eq!(listed.json()["locks"], serde_json::json!([]));
}

#[test]
fn unusable_s3_settings_are_refused_with_exit_2_before_any_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("infra-manager.yml"),
        "state:\n  backend: s3\n  bucket: Bad_Bucket\n  endpoint: http://127.0.0.1:9\n",
    )
    .expect("write config");
    for args in
        [&["--json", "bootstrap"][..], &["--json", "history", "--customer", "acme/one"], &["--json", "locks", "list"]]
    {
        let out = Run::new(dir.path())
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .run();
        assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
        let error = &out.json()["errors"][0];
        assert_eq!(error["message"], "state bucket `Bad_Bucket` is not a valid S3 bucket name", "{args:?}");
        assert!(error["hint"].as_str().is_some_and(|h| h.contains("3 to 63 characters")), "{args:?}: {error}");
    }
}

/// Issue 13 (onboarding): a store that can't be reached, or no AWS credentials, is one
/// clear error with what to do (never the SDK's debug dump), and the run stops before any
/// effect: it can't record itself, so it plans nothing and its status says why.
#[test]
fn an_unreachable_store_or_missing_credentials_stop_the_run_with_one_clear_error() {
    require_terraform();
    let sb = Sandbox::new();
    let config = format!(
        "terraform:\n  modules_dir: {}\nstate:\n  backend: s3\n  bucket: my-state\n  endpoint: http://127.0.0.1:9\n  call_timeout: 2s\n",
        support::cli::repo_root().join("manager-terraform").display()
    );
    std::fs::write(sb.path().join("infra-manager.yml"), config).expect("write config");
    let plan = |credentials: bool| {
        let mut run = Run::new(sb.path())
            .args(["--json", "plan", "--source-dir", "shop", "--env", "staging"])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", sb.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", sb.path().join("none"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
            .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        run = if credentials {
            run.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing")
        } else {
            run.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_SESSION_TOKEN")
        };
        run.run()
    };
    for (credentials, message, hint) in [
        // Admission reads the records first (the commit last applied).
        (false, "no AWS credentials found for the dynamodb call `Query`", "configure-aws-credentials"),
        (true, "can't reach dynamodb for `Query`", "state.endpoint"),
    ] {
        let out = plan(credentials);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        let error = &out.json()["errors"][0];
        assert!(error["message"].as_str().is_some_and(|m| m.starts_with(message)), "{error}");
        assert!(error["hint"].as_str().is_some_and(|h| h.contains(hint)), "{error}");
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains("DispatchFailure") && !text.contains("ProviderError"), "no debug dump: {text}");
        }
        assert!(!out.stderr.contains("pending"), "nothing started: {}", out.stderr);
        assert!(out.stderr.contains(": failure — Failed: "), "the status says why: {}", out.stderr);
        assert!(!out.stderr.contains("Plan to"), "Terraform never ran: {}", out.stderr);
    }
}
