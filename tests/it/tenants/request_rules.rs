//! Issue 21, items 1, 2, 3, 8 and 9: provisioning requests measured as a hostile requester,
//! in a real Git repository with a bare `origin` and real Terraform. A request never takes
//! away what it did not add; a request id is bound to its content and only a commit that
//! reached the remote counts; `status --request` follows the request's own commit; names
//! derived from user ids never collide; the request's run is shown.

use crate::support;
use crate::support::cli::{Output, Run};
use crate::support::manager::Manager;

const REGISTRY: &str = "tenants:\n  types: [connector, queue, bucket, database]\n  environments: [staging]\n  auto_approve: { connector: true, queue: true }\n";

fn ask(m: &Manager, id: &str, tenant: &str, type_name: &str, inputs: &str) -> Output {
    m.run(&["request", "--request-id", id, "--tenant", tenant, "--type", type_name, "--inputs", inputs])
}

fn connector(user: &str, source: &str, days: u32) -> String {
    format!(r#"{{"user_id": "{user}", "connector": "{source}", "retention_days": {days}}}"#)
}

fn status(m: &Manager, id: &str) -> serde_json::Value {
    let out = Run::new(m.sb.path()).args(["--json", "status", "--request", id, "--repo", "manager"]).run();
    assert_eq!(out.code, 0, "{id}: {}{}", out.stdout, out.stderr);
    out.json()
}

fn current(m: &Manager, id: &str) -> String {
    status(m, id)["environments"][0]["current"].as_str().unwrap_or_default().to_owned()
}

/// The requests' own records (not the index that lists them).
fn records(m: &Manager) -> usize {
    support::cli::walk(&m.sb.store().join("records/requests")).iter().filter(|p| !p.contains("/_index/")).count()
}

fn plan_at(m: &Manager, tenant: &str, sha: &str) -> (u64, u64, u64) {
    let out = m.run(&["plan", "--tenant", tenant, "--env", "staging", "--sha", sha]);
    assert_eq!(out.code, 0, "{tenant}@{sha}: {}{}", out.stdout, out.stderr);
    super::counts(&out)
}

/// Item 1: an auto-approved request for a tenant a person wrote (a bucket and a queue), and
/// for one whose applied file holds a protected removal's first step (`allow_destroy`), goes
/// to a review branch, keeps every other component, and its plan destroys nothing.
#[test]
fn a_request_never_takes_away_what_it_did_not_add() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let reviewed = [
        ("shop", "    - { name: files, type: bucket }\n    - { name: queue, type: queue, inputs: { fifo: true } }\n"),
        ("ledger", "    - { name: db, type: database, allow_destroy: true }\n"),
    ];
    for (tenant, components) in reviewed {
        let file = format!(
            "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: {tenant}\nspec:\n  environments: [staging]\n  components:\n{components}"
        );
        m.write(tenant, &file);
    }
    let main = m.commit("reviewed tenants");
    for (tenant, _) in reviewed {
        m.plan(tenant);
        m.apply(tenant, None);
    }
    for (id, tenant, keeps) in [("q-shop", "shop", "- name: files"), ("q-ledger", "ledger", "- name: db")] {
        // An input changed in place (`fifo` would rename, so replace, the queue).
        let out = ask(&m, id, tenant, "queue", r#"{"fifo": true, "max_receive_count": 5}"#);
        assert_eq!(out.code, 0, "{id}: {}{}", out.stdout, out.stderr);
        let r = out.json();
        let branch = format!("tenant-request/{id}");
        assert_eq!((r["branch"].as_str(), r["auto_approved"].as_bool()), (Some(branch.as_str()), Some(false)), "{r}");
        assert_eq!(m.git(&["rev-parse", "main"]), main, "{id}: main untouched");
        let file = m.git(&["show", &format!("{branch}:tenants/{tenant}.yml")]);
        assert!(file.contains(keeps) && file.contains("inputs: {\"fifo\":true,\"max_receive_count\":5}"), "{file}");
        let (_, _, destroy) = plan_at(&m, tenant, r["sha"].as_str().expect("sha"));
        assert_eq!(destroy, 0, "{id}: the request's plan destroys nothing");
    }
    // A tenant requests made: its own component changes without review, and another
    // type's component is added beside it, nothing taken away.
    let out = ask(&m, "c-1", "alice-xero", "connector", &connector("alice", "xero", 7));
    assert_eq!((out.code, out.json()["auto_approved"].as_bool()), (0, Some(true)), "{}", out.stdout);
    m.plan("alice-xero");
    m.apply("alice-xero", None);
    let out = ask(&m, "c-2", "alice-xero", "queue", "{}");
    assert_eq!((out.code, out.json()["branch"].as_str()), (0, Some("main")), "{}{}", out.stdout, out.stderr);
    let (add, _, destroy) = counts_of(&m.plan("alice-xero"));
    assert!(add > 0 && destroy == 0, "only the queue is added: {add} to add, {destroy} to destroy");
}

fn counts_of(out: &Output) -> (u64, u64, u64) {
    super::counts(out)
}

/// Item 2: the same id with the same content names its commit; with other content it is
/// refused (exit 2, naming what differs, nothing written); a trailer planted in a commit
/// message blocks nothing; a commit that never reached the remote is not done.
#[test]
fn a_request_id_is_bound_to_its_content_and_only_a_pushed_commit_counts() {
    let m = Manager::new().with_remote();
    m.sb.add_config(REGISTRY);
    let first = ask(&m, "r-1", "alice-xero", "connector", &connector("alice", "xero", 7));
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let sha = first.json()["sha"].as_str().expect("sha").to_owned();
    // Not pushed (the push step failed): a retry is told to push the same commit.
    let retry = ask(&m, "r-1", "alice-xero", "connector", &connector("alice", "xero", 7));
    let r = retry.json();
    assert_eq!((retry.code, r["committed"].as_bool(), r["sha"].as_str()), (0, Some(true), Some(sha.as_str())), "{r}");
    assert_eq!(m.git(&["rev-parse", "main"]), sha, "no second commit");
    m.git(&["push", "--quiet", "origin", "main"]);
    let done = ask(&m, "r-1", "alice-xero", "connector", &connector("alice", "xero", 7));
    let r = done.json();
    assert_eq!((done.code, r["committed"].as_bool(), r["already_committed"].as_bool()), (0, Some(false), Some(true)));
    let text = m.run(&["request", "--request-id", "r-1", "--tenant", "alice-xero", "--type", "connector"]);
    assert_eq!(text.code, 2, "no inputs is other content: {}", text.stdout);
    let out = Run::new(m.sb.path())
        .args(["tenants", "request", "--repo", "manager", "--request-id", "r-1", "--tenant", "alice-xero"])
        .args(["--type", "connector", "--inputs", &connector("alice", "xero", 7)])
        .run();
    assert!(out.stdout.contains(&format!("already committed at {sha}")), "{}", out.stdout);

    // The same id with other content: refused, naming what differs, nothing written.
    let before = (m.git(&["rev-parse", "main"]), m.git(&["branch", "--list"]), records(&m));
    for (what, tenant, type_name, inputs) in [
        ("tenant `alice-xero` then, `bob-xero` now", "bob-xero", "connector", connector("alice", "xero", 7)),
        ("other inputs", "alice-xero", "connector", connector("alice", "xero", 14)),
        ("type `connector` then, `queue` now", "alice-xero", "queue", "{}".to_owned()),
    ] {
        let out = ask(&m, "r-1", tenant, type_name, &inputs);
        assert_eq!(out.code, 2, "{what}: {}", out.stdout);
        let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(what) && message.contains("request `r-1`"), "{what}: {message}");
    }
    let expires = ["request", "--request-id", "r-1", "--tenant", "alice-xero", "--type", "connector"];
    let inputs = connector("alice", "xero", 7);
    let out = m.run(&[&expires[..], &["--inputs", &inputs, "--expires-at", "2999-01-01"]].concat());
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("other expires_at"), "{}", out.stdout);
    assert_eq!((m.git(&["rev-parse", "main"]), m.git(&["branch", "--list"]), records(&m)), before, "zero writes");

    // A planted trailer blocks nothing.
    m.git(&["commit", "--quiet", "--allow-empty", "-m", "chore\n\nRequest-Id: p-1"]);
    m.git(&["push", "--quiet", "origin", "main"]);
    let planted = ask(&m, "p-1", "carol-xero", "connector", &connector("carol", "xero", 7));
    assert_eq!((planted.code, planted.json()["committed"].as_bool()), (0, Some(true)), "{}", planted.stdout);

    // The store fails after the commit is made: the branch has not moved, and the retry
    // commits (rather than finding a local commit and calling it done).
    let head = m.git(&["rev-parse", "main"]);
    let blocker = m.sb.store().join("records/requests/s-1");
    std::fs::create_dir_all(blocker.parent().expect("parent")).expect("mkdir");
    std::fs::write(&blocker, "not a directory").expect("write");
    let failed = ask(&m, "s-1", "dave-xero", "connector", &connector("dave", "xero", 7));
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert_eq!(m.git(&["rev-parse", "main"]), head, "main not moved");
    assert!(!m.repo().join("tenants/dave-xero.yml").exists(), "no file");
    std::fs::remove_file(&blocker).expect("rm");
    let retried = ask(&m, "s-1", "dave-xero", "connector", &connector("dave", "xero", 7));
    assert_eq!((retried.code, retried.json()["committed"].as_bool()), (0, Some(true)), "{}", retried.stdout);
    assert_ne!(m.git(&["rev-parse", "main"]), head);
}

/// Item 3: a request on a review branch is `requested` while another request's change of
/// the same tenant is applied; `not_merged` once its branch is deleted unmerged; a request
/// whose file was changed again before any plan is `superseded`, the later one `applied`.
#[test]
fn status_follows_the_request_s_own_commit() {
    let m = Manager::new();
    m.sb.add_config(&REGISTRY.replace(", queue: true", ""));
    let out = ask(&m, "a-1", "jobs", "connector", &connector("jobs", "xero", 7));
    assert_eq!(out.code, 0, "{}", out.stderr);
    m.plan("jobs");
    m.apply("jobs", None);
    assert_eq!(current(&m, "a-1"), "applied");

    let out = ask(&m, "q-1", "jobs", "queue", "{}");
    assert_eq!((out.code, out.json()["branch"].as_str()), (0, Some("tenant-request/q-1")), "{}", out.stdout);
    let s = status(&m, "q-1");
    assert_eq!(s["environments"][0]["current"], "requested", "{s}");
    assert_eq!(s["environments"][0]["steps"].as_array().map(Vec::len), Some(1), "{s}");
    m.git(&["branch", "-D", "tenant-request/q-1"]);
    assert_eq!(current(&m, "q-1"), "not_merged");

    for (id, days) in [("c-2", 14), ("c-3", 21)] {
        let out = ask(&m, id, "jobs", "connector", &connector("jobs", "xero", days));
        assert_eq!(out.code, 0, "{id}: {}", out.stderr);
    }
    assert_eq!(current(&m, "c-2"), "requested", "not planned yet");
    m.plan("jobs");
    m.apply("jobs", None);
    assert_eq!(current(&m, "c-2"), "superseded");
    assert_eq!(current(&m, "c-3"), "applied");
    assert_eq!(current(&m, "a-1"), "applied", "its own apply, still");
    let text = Run::new(m.sb.path()).args(["status", "--request", "c-2", "--repo", "manager"]).run();
    assert!(text.stdout.contains("superseded"), "{}", text.stdout);

    // Item 6: `requests list` lists them newest first, each where `status --request` says.
    let list = Run::new(m.sb.path()).args(["--json", "requests", "list", "--repo", "manager"]).run();
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed: Vec<(String, String)> = list.json()["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            let at = r["environments"][0]["current"].as_str().unwrap_or_default();
            (r["request_id"].as_str().unwrap_or_default().to_owned(), at.to_owned())
        })
        .collect();
    let expected = [("c-3", "applied"), ("c-2", "superseded"), ("q-1", "not_merged"), ("a-1", "applied")];
    assert_eq!(listed, expected.map(|(id, at)| (id.to_owned(), at.to_owned())), "{}", list.stdout);
    let list = Run::new(m.sb.path()).args(["requests", "list", "--limit", "2", "--repo", "manager"]).run();
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.starts_with("c-3  "), "{}", list.stdout);
    assert!(list.stdout.contains("tenant jobs  write connector  on `main` (auto-approved)"), "{}", list.stdout);
    assert!(list.stdout.contains("  staging: superseded at "), "{}", list.stdout);
    assert!(!list.stdout.contains("q-1"), "two at most: {}", list.stdout);
    let other =
        Run::new(m.sb.path()).args(["--json", "requests", "list", "--tenant", "other", "--repo", "manager"]).run();
    assert_eq!((other.code, other.json()["requests"].as_array().map(Vec::len)), (0, Some(0)), "{}", other.stdout);
}

/// Item 8: user ids that clean up to the same name (`Alice.X`, `alice-x`) would give two
/// tenants the same jobs: the second request is refused, naming the first; another source
/// system is no collision. The names are the connector module's (real Terraform).
#[test]
fn connector_user_ids_that_clean_up_alike_are_refused() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let out = ask(&m, "n-1", "alice-xero", "connector", &connector("Alice.X", "xero", 7));
    assert_eq!(out.code, 0, "{}", out.stderr);
    m.plan("alice-xero");
    m.apply("alice-xero", None);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.state("alice-xero")).expect("state")).expect("json");
    assert_eq!(
        state["outputs"]["connector_ingestion_job_name"]["value"], "alice-x-xero-ingestion",
        "{}",
        state["outputs"]
    );

    let head = m.git(&["rev-parse", "HEAD"]);
    for (id, user) in [("n-2", "alice-x"), ("n-3", "ALICE__X"), ("n-4", "alice.x.")] {
        let out = ask(&m, id, "ax-xero", "connector", &connector(user, "xero", 7));
        assert_eq!(out.code, 2, "{user}: {}", out.stdout);
        let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("tenant `alice-xero` (user id `Alice.X`)"), "{message}");
    }
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    assert_eq!(records(&m), 1, "nothing recorded");
    let out = ask(&m, "n-5", "ax-stripe", "connector", &connector("alice-x", "stripe", 7));
    assert_eq!(out.code, 0, "another source system: {}", out.stdout);
    // The tenant itself may change its own connector.
    let out = ask(&m, "n-6", "alice-xero", "connector", &connector("Alice.X", "xero", 30));
    assert_eq!(out.code, 0, "{}", out.stdout);
}

/// Item 9: the provision run that took the request is in its record and in `status
/// --request`: the id GitHub answers a `workflow_dispatch` with (`return_run_details`).
#[test]
fn status_of_a_request_names_the_run_that_took_it() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let out = Run::new(m.sb.path())
        .args(["--json", "tenants", "request", "--repo", "manager", "--request-id", "g-1", "--tenant", "jobs"])
        .args(["--type", "queue", "--inputs", "{}"])
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "provider/manager")
        .env("GITHUB_RUN_ID", "4242")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let s = status(&m, "g-1");
    assert_eq!(s["run"]["id"], 4242, "{s}");
    assert_eq!(s["run"]["url"], "https://github.com/provider/manager/actions/runs/4242", "{s}");
    let text = Run::new(m.sb.path()).args(["status", "--request", "g-1", "--repo", "manager"]).run();
    assert!(
        text.stdout.contains("run: https://github.com/provider/manager/actions/runs/4242 (run 4242)"),
        "{}",
        text.stdout
    );
}
