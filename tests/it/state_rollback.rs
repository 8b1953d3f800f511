//! Issue 24 item 5: state versions and rollback, with the real binary and real Terraform.
//! On moto's versioned bucket (a private moto per test) and on the local store, for a
//! customer and a tenant: every apply's record names the state version it wrote, `state
//! versions` lists them with those runs, `state rollback` writes an earlier version back
//! as a new one (serial above the current) under the state lock and plans the commit last
//! applied against it, and every refusal writes nothing (no version, no record, no lock).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::support::aws::AwsSandbox;
use crate::support::cli::{Output, Run, Sandbox, require_terraform};
use crate::support::manager::Manager;
use crate::support::unversioned::Unversioned;

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHOP: &str = "acme/shop";
const STATE_KEY: &str = "customers/acme/shop/staging/terraform.tfstate";

fn ok(out: &Output, what: &str) -> serde_json::Value {
    assert_eq!(out.code, 0, "{what} failed:\n{}\n{}", out.stdout, out.stderr);
    out.json()
}

/// One more availability zone: one more subnet in the plan.
fn widen(variables: &std::path::Path) {
    let text = std::fs::read_to_string(variables).expect("read");
    let wider = text.replace("availability_zones: 2", "availability_zones: 3");
    assert_ne!(text, wider, "the fixture has two zones");
    std::fs::write(variables, wider).expect("write");
}

fn resources(state: &[u8]) -> serde_json::Value {
    let state: serde_json::Value = serde_json::from_slice(state).expect("a state document");
    state["resources"].clone()
}

fn serial(state: &[u8]) -> u64 {
    let state: serde_json::Value = serde_json::from_slice(state).expect("a state document");
    state["serial"].as_u64().expect("a serial")
}

/// The state object's versions on moto, newest first: (id, content).
fn s3_versions(sb: &AwsSandbox) -> Vec<(String, Vec<u8>)> {
    let listed = sb
        .block_on(sb.s3().list_object_versions().bucket(sb.bucket()).prefix(STATE_KEY).send())
        .expect("list versions");
    listed
        .versions()
        .iter()
        .filter(|v| v.key() == Some(STATE_KEY))
        .map(|v| {
            let id = v.version_id().expect("an id").to_owned();
            let got = sb
                .block_on(sb.s3().get_object().bucket(sb.bucket()).key(STATE_KEY).version_id(&id).send())
                .expect("get version");
            (id, sb.block_on(got.body.collect()).expect("body").into_bytes().to_vec())
        })
        .collect()
}

/// The records of `acme/shop`, newest first, as `history --json` gives them.
fn runs(sb: &AwsSandbox) -> Vec<serde_json::Value> {
    let out = sb.run(["--json", "history", "--customer", SHOP]);
    ok(&out, "history")["runs"].as_array().expect("runs").clone()
}

fn rollback_args(to: &str) -> Vec<String> {
    ["--json", "state", "rollback", "--source-dir", "shop", "--customer", SHOP, "--env", "staging", "--to", to]
        .map(str::to_owned)
        .to_vec()
}

#[test]
fn a_rollback_on_a_versioned_bucket_restores_the_earlier_state_as_a_new_version_and_the_plan_shows_the_difference() {
    require_terraform();
    let sb = AwsSandbox::new("roll");
    sb.bootstrap();
    ok(&sb.plan(SHOP, SHA_A), "plan A");
    ok(&sb.apply(SHOP, SHA_A), "apply A");
    widen(&sb.path().join("shop/infra/variables.yml"));
    let plan_b = ok(&sb.plan(SHOP, SHA_B), "plan B");
    assert_eq!(plan_b["add"], 1, "one more subnet");
    ok(&sb.apply(SHOP, SHA_B), "apply B");

    // Each apply's record names the version it wrote, as S3 keeps it.
    let versions = s3_versions(&sb);
    let applies: Vec<serde_json::Value> = runs(&sb).into_iter().filter(|r| r["kind"] == "apply").collect();
    assert_eq!(applies.len(), 2);
    let (b_run, a_run) = (&applies[0], &applies[1]);
    assert_eq!(b_run["state_version"].as_str(), Some(versions[0].0.as_str()), "apply B wrote the current version");
    assert_eq!(b_run["state_serial"].as_u64(), Some(serial(&versions[0].1)));
    let a_version = a_run["state_version"].as_str().expect("apply A's version").to_owned();
    let (_, a_content) = versions.iter().find(|(id, _)| *id == a_version).expect("apply A's version is kept");
    assert_eq!(resources(a_content).as_array().map(Vec::len), Some(7), "two subnets: one resource block");

    let listed = ok(&sb.run(["--json", "state", "versions", "--customer", SHOP, "--env", "staging"]), "versions");
    let listed = listed["versions"].as_array().expect("versions").clone();
    assert_eq!(listed.len(), versions.len());
    assert_eq!(
        (listed[0]["version_id"].as_str(), listed[0]["current"].as_bool()),
        (Some(versions[0].0.as_str()), Some(true))
    );
    assert_eq!(listed[0]["run"]["run_id"], b_run["run_id"]);
    let a_listed = listed.iter().find(|v| v["version_id"] == a_version.as_str()).expect("listed");
    assert_eq!(
        (a_listed["run"]["run_id"].clone(), a_listed["run"]["kind"].clone()),
        (a_run["run_id"].clone(), "apply".into())
    );
    assert_eq!(a_listed["serial"].as_u64(), Some(serial(a_content)));
    assert!(a_listed["lineage"].as_str().is_some_and(|l| l.len() == 36), "{a_listed}");

    let current_serial = serial(&versions[0].1);
    let out = sb.run(rollback_args("previous"));
    let report = ok(&out, "rollback");
    assert_eq!(report["command"], "state rollback");
    assert_eq!(report["restored"]["version_id"].as_str(), Some(a_version.as_str()), "previous: apply A's state");
    assert_eq!(report["restored_by"], a_run["run_id"]);
    // The plan of the commit last applied (B) against the restored state (A's): B's change again.
    assert_eq!(report["plan"]["sha"].as_str(), Some(SHA_B));
    assert_eq!(report["plan"]["has_changes"].as_bool(), Some(true));
    let counts = |r: &serde_json::Value| (r["add"].as_u64(), r["change"].as_u64(), r["destroy"].as_u64());
    assert_eq!(counts(&report["plan"]), counts(&plan_b));

    // A new version: A's resources, a serial above the state it replaced, same lineage.
    let after = s3_versions(&sb);
    assert_eq!(after.len(), versions.len() + 1, "one version written, and the plan wrote none");
    let (new_id, new_content) = &after[0];
    assert_eq!(report["written"]["version_id"].as_str(), Some(new_id.as_str()));
    assert_eq!(resources(new_content), resources(a_content));
    assert_eq!(serial(new_content), current_serial + 1);
    assert_eq!(report["written"]["serial"].as_u64(), Some(current_serial + 1));
    assert_eq!(report["written"]["lineage"], a_listed["lineage"]);
    // Terraform's digest item holds the new object's MD5 (Terraform read it for the plan),
    // and no lock is left.
    let ids = sb.lock_ids();
    assert_eq!(ids, [format!("roll-state/{STATE_KEY}-md5")], "only the digest item: {ids:?}");

    let rollback = &runs(&sb)[1];
    assert_eq!((rollback["kind"].as_str(), rollback["status"].as_str()), (Some("rollback"), Some("succeeded")));
    assert_eq!(rollback["run_id"], report["run_id"]);
    assert_eq!(rollback["sha"].as_str(), Some(SHA_B), "recorded at the commit last applied");
    assert_eq!(rollback["restored_version"].as_str(), Some(a_version.as_str()));
    assert_eq!(rollback["state_version"].as_str(), Some(new_id.as_str()));
    assert_eq!(runs(&sb)[0]["kind"], "plan", "then the plan, stored for review; nothing applied");

    // The text lists it too, newest first, the rollback current.
    let text = sb.run(["state", "versions", "--customer", SHOP, "--env", "staging"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[0].starts_with("VERSION") && lines[0].ends_with("RUN"), "{}", text.stdout);
    assert!(
        lines[1].starts_with(new_id.as_str()) && lines[1].contains(" rollback ") && lines[1].ends_with("(current)"),
        "{}",
        text.stdout
    );
}

#[test]
fn refusals_on_s3_write_nothing_a_held_lock_unknown_or_foreign_versions_and_a_bucket_without_versioning() {
    require_terraform();
    let sb = AwsSandbox::new("refuse");
    sb.bootstrap();
    ok(&sb.plan(SHOP, SHA_A), "plan");
    ok(&sb.apply(SHOP, SHA_A), "apply");
    let current = s3_versions(&sb)[0].clone();
    // A version of another lineage under the same key (a state removed and made again),
    // then the current content again on top: same bytes, so Terraform's digest still holds.
    let foreign = String::from_utf8(current.1.clone()).expect("utf-8");
    let lineage = serde_json::from_slice::<serde_json::Value>(&current.1).expect("json")["lineage"]
        .as_str()
        .expect("lineage")
        .to_owned();
    sb.put_object(STATE_KEY, foreign.replace(&lineage, "11111111-2222-4333-8444-555555555555").into_bytes());
    let foreign_id = s3_versions(&sb)[0].0.clone();
    sb.put_object(STATE_KEY, current.1.clone());
    let current_id = s3_versions(&sb)[0].0.clone();

    let snapshot = |sb: &AwsSandbox| (s3_versions(sb).len(), runs(sb).len(), sb.lock_ids());
    let refused = |to: &str, code: i32, says: &str| {
        let before = snapshot(&sb);
        let out = sb.run(rollback_args(to));
        assert_eq!(out.code, code, "--to {to}:\n{}\n{}", out.stdout, out.stderr);
        let report = out.json();
        assert_eq!(report["status"], "refused", "--to {to}: {report}");
        let message = report["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(says), "--to {to}: {message}");
        assert!(report["errors"][0]["hint"].as_str().is_some_and(|h| !h.is_empty()), "--to {to}: {report}");
        assert_eq!(snapshot(&sb), before, "--to {to} wrote something");
    };
    refused("no-such-version", 2, "has no state version `no-such-version`");
    refused(&current_id, 2, "is acme/shop (staging)'s current state");
    refused(&foreign_id, 1, "is another state: its lineage is `11111111-2222-4333-8444-555555555555`");
    refused("2026-01-01T00:00:00Z#00000000", 2, "has no run `2026-01-01T00:00:00Z#00000000`");

    // A lock another run holds: named, and left where it is.
    let lock_id = format!("refuse-state/{STATE_KEY}");
    let info = serde_json::json!({
        "ID": "held-1", "Operation": "OperationTypeApply", "Info": "", "Who": "runner@ci-host",
        "Version": "1.11.4", "Created": jiff::Timestamp::now().to_string(), "Path": lock_id,
    });
    let put = sb.dynamodb().put_item().table_name("refuse-locks").item("LockID", AttributeValue::S(lock_id.clone()));
    sb.block_on(put.item("Info", AttributeValue::S(info.to_string())).send()).expect("put lock");
    refused("previous", 1, "is locked: held by `runner@ci-host` for `OperationTypeApply`");
    assert!(sb.lock_ids().contains(&lock_id), "the other run's lock is kept");
    let delete = sb.dynamodb().delete_item().table_name("refuse-locks").key("LockID", AttributeValue::S(lock_id));
    sb.block_on(delete.send()).expect("delete lock");

    // Versioning suspended: nothing can be rolled back, and bootstrap turns it on again.
    let suspended = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
        .build();
    let put = sb.s3().put_bucket_versioning().bucket(sb.bucket()).versioning_configuration(suspended);
    sb.block_on(put.send()).expect("suspend versioning");
    refused("previous", 1, "keeps no versions of acme/shop (staging)'s state");
    let fixed = sb.run(["bootstrap"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert!(fixed.stdout.contains("(fixed: versioning enabled)"), "{}", fixed.stdout);
}

#[test]
fn bootstrap_refuses_an_s3_compatible_store_that_cannot_keep_versions_with_a_hint() {
    let sb = AwsSandbox::new("plain");
    let proxy = Unversioned::start(sb.moto.endpoint());
    sb.edit_config(|text| text.replace(sb.moto.endpoint(), proxy.endpoint()));
    let out = sb.run(["--json", "bootstrap"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let error = &out.json()["errors"][0];
    let message = error["message"].as_str().expect("message");
    assert_eq!(
        message,
        "the state bucket `s3://plain-state` can't keep object versions: it answered `NotImplemented` to turning versioning on"
    );
    let hint = error["hint"].as_str().expect("hint");
    assert!(hint.contains("needs a versioned state bucket") && hint.contains("`state rollback` has nothing"), "{hint}");
    // It stopped at the bucket: no table was made.
    let tables = sb.block_on(sb.dynamodb().list_tables().send()).expect("list tables");
    assert!(tables.table_names().is_empty(), "{:?}", tables.table_names());
}

/// A process other than this one holding the `fcntl` lock Terraform's local backend takes,
/// with Terraform's lock info beside the state; released when dropped.
struct FcntlHolder(std::process::Child);

impl FcntlHolder {
    fn hold(state: &std::path::Path) -> Self {
        let info = state.with_file_name(".terraform.tfstate.lock.info");
        let script = "import fcntl, sys\n\
                      f = open(sys.argv[1], 'r+')\n\
                      fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n\
                      open(sys.argv[2], 'w').write(sys.argv[3])\n\
                      print('locked', flush=True)\n\
                      sys.stdin.read()\n";
        let who = r#"{"ID":"local-1","Operation":"OperationTypeApply","Who":"someone@laptop","Created":"2026-01-01T00:00:00Z"}"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(state)
            .arg(&info)
            .arg(who)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed to hold a lock from another process");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("read");
        assert_eq!(line.trim(), "locked", "the holder did not take the lock");
        Self(child)
    }
}

impl Drop for FcntlHolder {
    fn drop(&mut self) {
        // Closing its stdin ends it, and its lock with it.
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

#[test]
fn on_the_local_store_a_run_id_names_the_version_and_a_lock_held_by_another_process_is_refused() {
    require_terraform();
    let sb = Sandbox::new();
    let run = |args: &[&str]| Run::new(sb.path()).args(["--json"]).args(args).run();
    ok(&sb.run("plan", "staging"), "plan");
    ok(&sb.run("apply", "staging"), "apply");
    widen(&sb.variables());
    let wider = ok(&sb.run("plan", "staging"), "plan wider");
    ok(&sb.run("apply", "staging"), "apply wider");
    let history = ok(&run(&["history", "--customer", "local/shop"]), "history");
    let first =
        history["runs"].as_array().expect("runs").iter().rev().find(|r| r["kind"] == "apply").expect("apply").clone();
    let first_run = first["run_id"].as_str().expect("run id").to_owned();

    let state = sb.store().join("state/local/shop/staging/terraform.tfstate");
    let files = || (std::fs::read(&state).expect("state"), crate::support::cli::walk(&sb.store()));
    let before = files();
    {
        let _held = FcntlHolder::hold(&state);
        let held = files();
        let out = run(&["state", "rollback", "--source-dir", "shop", "--env", "staging", "--to", &first_run]);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        let message = out.json()["errors"][0]["message"].as_str().expect("message").to_owned();
        assert!(message.contains("is locked: held by `someone@laptop` for `OperationTypeApply`"), "{message}");
        // Compared without the content, which would print as bytes.
        assert!(files() == held, "a refused rollback wrote something: {:?}", files().1);
    }

    let out = run(&["state", "rollback", "--source-dir", "shop", "--env", "staging", "--to", &first_run]);
    let report = ok(&out, "rollback to the first apply's run");
    assert_eq!(report["restored"]["version_id"], first["state_version"]);
    let counts = |r: &serde_json::Value| (r["add"].as_u64(), r["change"].as_u64(), r["destroy"].as_u64());
    assert_eq!(counts(&report["plan"]), counts(&wider), "the wider file's change, planned again");
    let restored = std::fs::read(&state).expect("state");
    assert_eq!(resources(&restored).as_array().map(Vec::len), Some(7));
    assert_eq!(serial(&restored), serial(&before.0) + 1);
    assert!(!state.with_file_name(".terraform.tfstate.lock.info").exists(), "the lock is released");

    // Text: the rollback's line, then the plan as people read it.
    let text = Run::new(sb.path()).args(["state", "versions", "--customer", "local/shop", "--env", "staging"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout.lines().count(), 4, "a header and three versions:\n{}", text.stdout);
}

#[test]
fn a_tenant_rolls_back_through_the_same_code() {
    let m = Manager::new();
    let tenant = |components: &str| {
        format!(
            "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: billing\nspec:\n  environments: [staging]\n  components:\n{components}"
        )
    };
    let queue = "    - { name: jobs, type: queue }\n";
    m.write("billing", &tenant(queue));
    let first = m.commit("billing");
    m.plan("billing");
    m.apply("billing", Some(&first));
    let one = m.resources("billing");
    m.write("billing", &tenant(&format!("{queue}    - {{ name: mail, type: queue }}\n")));
    let second = m.commit("billing: mail");
    m.plan("billing");
    m.apply("billing", Some(&second));
    assert!(m.resources("billing") > one);

    let out = Run::new(m.sb.path())
        .args([
            "--json", "state", "rollback", "--tenant", "billing", "--env", "staging", "--to", "previous", "--repo",
            "manager",
        ])
        .run();
    let report = ok(&out, "tenant rollback");
    assert_eq!(
        (report["customer"].as_str(), report["plan"]["sha"].as_str()),
        (Some("tenants/billing"), Some(second.as_str()))
    );
    assert_eq!(m.resources("billing"), one, "the first apply's resources are back in the state");
    assert!(report["plan"]["add"].as_u64().is_some_and(|n| n > 0), "the plan adds `mail` again: {report}");
    let listed =
        Run::new(m.sb.path()).args(["--json", "state", "versions", "--tenant", "billing", "--env", "staging"]).run();
    let kinds: Vec<String> = ok(&listed, "versions")["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["run"]["kind"].as_str().unwrap_or("-").to_owned())
        .collect();
    assert_eq!(kinds, ["rollback", "apply", "apply"]);
}
