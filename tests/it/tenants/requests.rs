//! Issue 14, item 3: provisioning requests. `tenants request` turns a backend's one call
//! into a commit of `tenants/<name>.yml` in a real Git repository made by the test; the
//! commits then flow through `tenants changed`, plan and apply (real Terraform, local
//! state) like any tenant file. A refused request writes nothing: no file, no commit, no
//! record; the same request twice makes one commit; `status --request` tells its steps.

use crate::support;
use crate::support::cli::{Output, Run};
use crate::support::health_server::Server;
use crate::support::manager::Manager;

const REGISTRY: &str =
    "tenants:\n  types: [connector, queue]\n  environments: [staging]\n  auto_approve: { connector: true }\n";

fn request(m: &Manager, id: &str, tenant: &str, type_name: &str, inputs: &str) -> Output {
    m.run(&["request", "--request-id", id, "--tenant", tenant, "--type", type_name, "--inputs", inputs])
}

fn connector(user: &str, source: &str) -> String {
    format!(r#"{{"user_id": "{user}", "connector": "{source}", "retention_days": 7}}"#)
}

fn commits(m: &Manager, rev: &str) -> usize {
    m.git(&["rev-list", "--count", rev]).parse().expect("a count")
}

/// The requests' own records (not the index that lists them).
fn records(m: &Manager) -> Vec<String> {
    support::cli::walk(&m.sb.store().join("records/requests")).into_iter().filter(|p| !p.contains("/_index/")).collect()
}

#[test]
fn three_users_times_two_connectors_end_in_six_isolated_states() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let before = m.git(&["rev-parse", "HEAD"]);
    let mut tenants = Vec::new();
    for user in ["alice", "bob", "carol"] {
        for source in ["xero", "stripe"] {
            let tenant = format!("{user}-{source}");
            let out = request(&m, &format!("req-{tenant}"), &tenant, "connector", &connector(user, source));
            assert_eq!(out.code, 0, "{tenant}: {}{}", out.stdout, out.stderr);
            let r = out.json();
            assert_eq!((r["committed"].as_bool(), r["auto_approved"].as_bool()), (Some(true), Some(true)), "{r}");
            assert_eq!(r["branch"], "main", "{r}");
            tenants.push(tenant);
        }
    }
    assert_eq!(commits(&m, "HEAD"), 7, "one commit per request on main");
    let message = m.git(&["log", "-1", "--format=%B"]);
    assert!(message.contains("Request-Id: req-carol-stripe"), "{message}");
    // The checkout follows the commits: nothing shows as changed.
    assert_eq!(m.git(&["status", "--porcelain"]), "");

    let head = m.git(&["rev-parse", "HEAD"]);
    let expected: Vec<String> = {
        let mut t = tenants.clone();
        t.sort();
        t.iter().map(|t| format!("create {t} staging")).collect()
    };
    assert_eq!(m.changed(&before, &head), expected);
    for tenant in &tenants {
        m.plan(tenant);
        m.apply(tenant, None);
        assert!(m.resources(tenant) > 0, "{tenant}: state at tenants/{tenant}/staging");
    }
    let states: Vec<String> = support::cli::walk(&m.sb.store().join("state"))
        .into_iter()
        .filter(|p| p.ends_with("terraform.tfstate"))
        .collect();
    assert_eq!(states.len(), 6, "{states:?}");

    // `status --request` shows the request's steps, `requested` at the request's time.
    let out =
        Run::new(m.sb.path()).args(["--json", "status", "--request", "req-alice-xero", "--repo", "manager"]).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let s = out.json();
    assert_eq!((s["tenant"].as_str(), s["branch"].as_str()), (Some("alice-xero"), Some("main")), "{s}");
    let env = &s["environments"][0];
    let steps: Vec<&str> = env["steps"].as_array().expect("steps").iter().filter_map(|s| s["step"].as_str()).collect();
    assert_eq!(steps, ["requested", "validated", "planned", "applying", "applied"], "{env}");
    assert_eq!(env["steps"][0]["at"], s["requested_at"], "{s}");
    let text = Run::new(m.sb.path()).args(["status", "--request", "req-alice-xero", "--repo", "manager"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("request req-alice-xero for tenant alice-xero"), "{}", text.stdout);
    assert!(text.stdout.contains("tenants/alice-xero staging"), "{}", text.stdout);
}

#[test]
fn the_same_request_twice_makes_one_commit_and_an_update_changes_the_file() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let first = request(&m, "r1", "alice-xero", "connector", &connector("alice", "xero"));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let after_first = commits(&m, "HEAD");
    let again = request(&m, "r1", "alice-xero", "connector", &connector("alice", "xero"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["committed"], false, "{}", again.stdout);
    assert_eq!(commits(&m, "HEAD"), after_first, "no second commit");
    assert_eq!(records(&m).len(), 1, "one record");

    // A new request for the same tenant updates it.
    let update = request(&m, "r2", "alice-xero", "connector", &connector("alice", "xero").replace('7', "14"));
    assert_eq!(update.code, 0, "{}", update.stderr);
    assert_eq!(update.json()["committed"], true);
    let file = m.git(&["show", "HEAD:tenants/alice-xero.yml"]);
    assert!(file.contains("\"retention_days\":14") && file.contains("request r2"), "{file}");

    // `tenants remove` deletes through a reviewed branch; merged, it is a destroy.
    let head = m.git(&["rev-parse", "HEAD"]);
    let removed = m.run(&["remove", "--request-id", "r3", "--tenant", "alice-xero"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert_eq!(removed.json()["branch"], "tenant-request/r3");
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head, "main untouched");
    assert_eq!(m.changed(&head, "tenant-request/r3"), ["destroy alice-xero staging"]);
}

#[test]
fn a_request_outside_the_registry_s_rules_is_refused_with_zero_writes() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let head = m.git(&["rev-parse", "HEAD"]);
    let cases = [
        ("unknown component type `conector`", "alice-x", "conector", connector("alice", "xero")),
        ("type `bucket` is not offered to tenants", "alice-x", "bucket", "{}".to_owned()),
        (
            "retention_days` is 9999, above the maximum 365",
            "alice-x",
            "connector",
            connector("alice", "xero").replace('7', "9999"),
        ),
        ("\"myspace\", not an allowed value", "alice-x", "connector", connector("alice", "myspace")),
        ("`Alice_Xero` must be a DNS label", "Alice_Xero", "connector", connector("alice", "xero")),
        ("`inputs` is not a JSON object", "alice-x", "connector", "[1]".to_owned()),
    ];
    // Each refused for its own reason, named in the error (out of tier: the tier's limit).
    for (what, tenant, type_name, inputs) in &cases {
        let out = request(&m, "bad-1", tenant, type_name, inputs);
        assert_eq!(out.code, 2, "{what}: {}{}", out.stdout, out.stderr);
        let status = out.json()["status"].as_str().unwrap_or_default().to_owned();
        assert!(["invalid", "refused"].contains(&status.as_str()), "{what}: {}", out.stdout);
        let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(what), "{what}: {message}");
    }
    for (what, args) in [
        ("bad request id", vec!["--request-id", "../x"]),
        ("wrong tier", vec!["--tier", "gold"]),
        ("an expiry that is no date", vec!["--expires-at", "soon"]),
    ] {
        let mut all = vec!["request", "--tenant", "alice-x", "--type", "queue"];
        if what != "bad request id" {
            all.extend(["--request-id", "bad-2"]);
        }
        all.extend(args);
        let out = m.run(&all);
        assert_eq!(out.code, 2, "{what}: {}{}", out.stdout, out.stderr);
    }
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head, "no commit");
    assert_eq!(m.git(&["branch", "--list"]), "* main", "no branch");
    assert_eq!(m.git(&["status", "--porcelain"]), "", "no file");
    assert!(records(&m).is_empty(), "no record");
    let status = Run::new(m.sb.path()).args(["--json", "status", "--request", "bad-1", "--repo", "manager"]).run();
    assert_eq!(status.code, 2, "{}", status.stdout);
}

#[test]
fn a_type_without_auto_approve_commits_on_a_review_branch() {
    let m = Manager::new();
    m.sb.add_config(REGISTRY);
    let head = m.git(&["rev-parse", "HEAD"]);
    let out = request(&m, "q-1", "jobs", "queue", r#"{"fifo": true}"#);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["branch"].as_str(), r["auto_approved"].as_bool()), (Some("tenant-request/q-1"), Some(false)));
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head, "main untouched");
    assert_eq!(m.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main", "still on main");
    assert_eq!(commits(&m, "tenant-request/q-1"), 2);
    assert_eq!(m.changed(&head, "tenant-request/q-1"), ["create jobs staging"]);
    let again = request(&m, "q-1", "jobs", "queue", r#"{"fifo": true}"#);
    assert_eq!((again.code, again.json()["committed"].as_bool()), (0, Some(false)), "{}", again.stdout);
    assert_eq!(commits(&m, "tenant-request/q-1"), 2);

    // A fresh clone (as the workflow's checkout) has the review branch only on its remote:
    // the request is found there, and nothing is committed again.
    let clone = m.sb.path().join("clone");
    m.git(&["clone", "--quiet", m.repo().to_str().expect("utf-8"), clone.to_str().expect("utf-8")]);
    let out = Run::new(m.sb.path())
        .args(["--json", "tenants", "request", "--repo", "clone", "--request-id", "q-1", "--tenant", "jobs"])
        .args(["--type", "queue", "--inputs", r#"{"fifo": true}"#])
        .run();
    assert_eq!((out.code, out.json()["committed"].as_bool()), (0, Some(false)), "{}{}", out.stdout, out.stderr);

    // As the workflow passes it: every value from the environment, unset optional inputs
    // as empty strings.
    let out = Run::new(m.sb.path())
        .args(["--json", "tenants", "request", "--repo", "manager"])
        .env("INFRA_MANAGER_REQUEST_ID", "q-2")
        .env("INFRA_MANAGER_REQUEST_TENANT", "jobs2")
        .env("INFRA_MANAGER_REQUEST_TYPE", "queue")
        .env("INFRA_MANAGER_REQUEST_INPUTS", "{}")
        .env("INFRA_MANAGER_REQUEST_TIER", "")
        .env("INFRA_MANAGER_REQUEST_EXPIRES_AT", "")
        .env("INFRA_MANAGER_REQUEST_REQUESTER", "octocat")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["branch"], "tenant-request/q-2", "{}", out.stdout);
    let message = m.git(&["log", "-1", "--format=%B", "tenant-request/q-2"]);
    assert!(message.contains("Request-Id: q-2\nRequested-By: octocat"), "{message}");

    // Before any plan: the request is `requested` in its environment.
    let status = Run::new(m.sb.path()).args(["--json", "status", "--request", "q-1", "--repo", "manager"]).run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let env = &status.json()["environments"][0];
    assert_eq!((env["environment"].as_str(), env["current"].as_str()), (Some("staging"), Some("requested")), "{env}");
}

#[test]
fn only_listed_requesters_may_ask_when_the_registry_lists_them() {
    let m = Manager::new();
    m.sb.add_config(&format!("{REGISTRY}  requesters: [octocat, acme/platform]\n"));
    let head = m.git(&["rev-parse", "HEAD"]);
    let ask = |who: Option<&str>| {
        let mut args = vec!["request", "--request-id", "w-1", "--tenant", "jobs", "--type", "queue"];
        if let Some(who) = who {
            args.extend(["--requester", who]);
        }
        m.run(&args)
    };
    for who in [None, Some("mallory"), Some("acme/platform"), Some("bad login")] {
        let out = ask(who);
        assert_eq!(out.code, 2, "{who:?}: {}", out.stdout);
    }
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(m.git(&["branch", "--list"]), "* main");
    assert!(records(&m).is_empty());
    let out = ask(Some("octocat"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // Issue 21, item 4: a removal is asked by the same rule, and says who asked.
    let on_main = "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: jobs\nspec:\n  environments: [staging]\n  components:\n    - { name: queue, type: queue }\n";
    m.write("jobs", on_main);
    m.commit("jobs on main");
    let remove = |who: &str| m.run(&["remove", "--request-id", "w-2", "--tenant", "jobs", "--requester", who]);
    let before = m.git(&["branch", "--list"]);
    assert_eq!(remove("mallory").code, 2, "an unlisted requester can't remove");
    assert_eq!(m.git(&["branch", "--list"]), before, "nothing committed");
    let out = remove("octocat");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let message = m.git(&["log", "-1", "--format=%B", "tenant-request/w-2"]);
    assert!(message.contains("Requested-By: octocat"), "{message}");
}

/// Issue 21, item 4: a GitHub App backend (actor `<slug>[bot]`, the recommended set-up)
/// may ask, and be listed.
#[test]
fn a_github_app_backend_may_ask() {
    let m = Manager::new();
    m.sb.add_config(&format!("{REGISTRY}  requesters: [\"provisioner[bot]\"]\n"));
    let args =
        ["request", "--request-id", "b-1", "--tenant", "jobs", "--type", "queue", "--requester", "provisioner[bot]"];
    let out = m.run(&args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// Issue 14, item 4: a request for a component with a health check ends `healthy`, and one
/// whose service never comes up ends `failed` after `applied`, with the error, as `status
/// --request` tells it. The catalog here is one test type whose health check URL is an
/// input, pointed at a local server.
#[test]
fn status_of_a_request_that_ends_healthy_and_of_one_whose_health_check_never_passes() {
    let m = Manager::new();
    let config = format!(
        "terraform:\n  modules_dir: {}\n  module: health-app\nstate:\n  backend: local\n  local_dir: {}\n\
         health:\n  timeout: 1s\n  interval: 50ms\n  max_interval: 200ms\n\
         catalog:\n  service:\n    module: catalog-service\n    description: A service with a health check.\n\
         tenants:\n  types: [service]\n  environments: [staging]\n  auto_approve: {{ service: true }}\n",
        support::cli::repo_root().join("tests/fixtures/modules").display(),
        m.sb.store().display(),
    );
    std::fs::write(m.sb.path().join("infra-manager.yml"), config).expect("config");
    let (up, down) = (Server::start(1), Server::start(usize::MAX));
    for (tenant, server) in [("up", &up), ("down", &down)] {
        let inputs = format!(r#"{{"url": "{}"}}"#, server.url);
        let out = request(&m, &format!("req-{tenant}"), tenant, "service", &inputs);
        assert_eq!(out.code, 0, "{tenant}: {}{}", out.stdout, out.stderr);
    }
    // Plans and applies at the head, which holds both requests' commits.
    m.plan("up");
    m.plan("down");
    m.apply("up", None);
    let failed = m.run(&["apply", "--tenant", "down", "--env", "staging"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);

    let status = |id: &str| {
        let out = Run::new(m.sb.path()).args(["--json", "status", "--request", id, "--repo", "manager"]).run();
        assert_eq!(out.code, 0, "{id}: {}{}", out.stdout, out.stderr);
        out.json()["environments"][0].clone()
    };
    let steps = |env: &serde_json::Value| -> Vec<String> {
        env["steps"].as_array().expect("steps").iter().filter_map(|s| s["step"].as_str().map(str::to_owned)).collect()
    };
    let healthy = status("req-up");
    assert_eq!(steps(&healthy), ["requested", "validated", "planned", "applying", "applied", "healthy"], "{healthy}");
    assert_eq!(healthy["outputs"]["service_health_check_url"], up.url.as_str(), "{healthy}");
    let unhealthy = status("req-down");
    assert_eq!(steps(&unhealthy), ["requested", "validated", "planned", "applying", "applied", "failed"]);
    assert!(unhealthy["error"].as_str().is_some_and(|e| e.contains("unhealthy")), "{unhealthy}");
    assert!(down.requests() >= 2, "polled until the timeout");
}

/// Issue 14: a proof-of-concept tenant requested with an expiry is reaped once it passes:
/// `expires_at` becomes the file's `spec.expiresAt`, and `reap` reads it from the manager
/// checkout's HEAD and destroys every environment of the tenant through the destroy path.
#[test]
fn a_tenant_requested_with_an_expiry_is_reaped_after_it() {
    let m = Manager::new();
    m.sb.add_config("tenants:\n  types: [queue]\n  environments: [staging]\n  auto_approve: { queue: true }\n");
    let ask = |id: &str, expires_at: &str| {
        let args = ["request", "--request-id", id, "--tenant", "acme-poc", "--type", "queue", "--inputs", "{}"];
        let out = m.run(&args.into_iter().chain(["--expires-at", expires_at]).collect::<Vec<_>>());
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    };
    ask("req-poc", "2999-01-01");
    m.plan("acme-poc");
    m.apply("acme-poc", None);
    assert!(m.resources("acme-poc") > 0);
    // An expiry that has passed is refused (issue 21): nothing is committed.
    let head = m.git(&["rev-parse", "HEAD"]);
    let args = ["request", "--request-id", "req-past", "--tenant", "acme-poc", "--type", "queue", "--inputs", "{}"];
    let past = m.run(&args.into_iter().chain(["--expires-at", "2020-01-01"]).collect::<Vec<_>>());
    assert_eq!(past.code, 2, "{}", past.stdout);
    assert!(past.stdout.contains("has passed"), "{}", past.stdout);
    assert_eq!(m.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    // The backend moves the expiry to a moment away; once it passes, the file says so and no
    // plan may bring the tenant back.
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    ask("req-poc-end", &soon);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let file = std::fs::read_to_string(m.repo().join("tenants/acme-poc.yml")).expect("written");
    assert!(file.contains(&format!("expiresAt: \"{soon}\"")), "{file}");
    let refused = m.run(&["plan", "--tenant", "acme-poc", "--env", "staging"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stdout.contains("spec.expiresAt"), "{}", refused.stdout);

    let reap = |extra: &[&str]| {
        let out = Run::new(m.sb.path()).args(["--json", "reap", "--repo", "manager"]).args(extra).run();
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        out.json()
    };
    let listed = reap(&["--dry-run"]);
    assert_eq!(listed["results"][0]["result"], "would-reap", "{listed}");
    assert!(m.resources("acme-poc") > 0, "a dry run destroys nothing");
    let reaped = reap(&[]);
    let r = &reaped["results"][0];
    assert_eq!(
        (r["customer"].as_str(), r["environment"].as_str(), r["result"].as_str()),
        (Some("tenants/acme-poc"), Some("staging"), Some("reaped")),
        "{reaped}"
    );
    assert_eq!(r["expires_at"], soon.as_str());
    assert_eq!(m.resources("acme-poc"), 0, "the tenant's state is empty");
}
