//! Issue 22 item 1 through the real binary, real Terraform and the local store: a `deny` on
//! destroying anything in production fails the plan of a component removal there (the
//! comment and the record list the message, the apply is refused) while staging passes, and
//! the same rule reading `input.run` lets the environment's offboarding through; a `warn`
//! passes and is shown; a policy with a syntax error fails the plan closed at its line;
//! policies read the plan's values; a tenant's change gets its provisioning request in
//! `input.request` only when the request's record names the commit (a real Git repository).

use crate::support::cli::{Output, Run, Sandbox, repo_root, require_terraform};
use crate::support::manager::Manager;

const NO_PRODUCTION_DESTROYS: &str = r#"package infra_manager

deny contains {"msg": sprintf("%s would be destroyed in production", [rc.address]), "component": component} if {
	input.target.environment == "production"
	some rc in input.plan.resource_changes
	"delete" in rc.change.actions
	component := split(rc.address, ".")[1]
}

warn contains "every change is reviewed by the platform team" if {
	count(input.plan.resource_changes) > 0
}
"#;

const JOBS: &str = "    - name: jobs
      type: queue
      inputs: { fifo: true }
      environments:
        staging: { max_receive_count: 3 }
";

fn sandbox(policy: &str) -> Sandbox {
    require_terraform();
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/v2/good/four-components.yml")).expect("read");
    assert!(text.contains(JOBS), "the fixture still has the `jobs` component as written here");
    std::fs::write(sb.variables(), text).expect("write");
    std::fs::create_dir_all(sb.path().join("policies")).expect("mkdir");
    std::fs::write(sb.path().join("policies/production.rego"), policy).expect("write policy");
    sb
}

fn comment(sb: &Sandbox, env: &str) -> Output {
    Run::new(sb.path()).args(["plan", "--source-dir", "shop", "--env", env]).run()
}

fn report_destroys(out: &Output) -> u64 {
    out.json()["destroy"].as_u64().expect("destroy")
}

fn history(sb: &Sandbox, env: &str) -> serde_json::Value {
    let out = Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop", "--env", env]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

#[test]
fn a_deny_on_production_destroys_fails_the_removal_there_and_its_apply_while_staging_passes() {
    let sb = sandbox(NO_PRODUCTION_DESTROYS);
    for env in ["staging", "production"] {
        let plan = sb.run("plan", env);
        assert_eq!(plan.code, 0, "{env}: {}", plan.stderr);
        let apply = sb.run("apply", env);
        assert_eq!(apply.code, 0, "{env}: {}", apply.stderr);
    }
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(sb.variables(), text.replace(JOBS, "")).expect("write");

    let staging = sb.run("plan", "staging");
    assert_eq!(staging.code, 0, "staging passes: {}", staging.stderr);
    assert!(staging.json()["destroy"].as_u64().is_some_and(|n| n > 0));

    let production = sb.run("plan", "production");
    assert_eq!(production.code, 1, "{}", production.stderr);
    let report = production.json();
    assert_eq!(report["status"], "failed", "{report}");
    let message = report["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("denied by policy: production.rego: jobs: module.jobs."), "{message}");
    assert!(message.contains("would be destroyed in production"), "{message}");

    // Local mode has no pull request: the error lists every message (the PR comment's
    // rendering is `policy::gate`'s unit tests and the `policy::report` snapshot).
    let shown = comment(&sb, "production");
    assert_eq!(shown.code, 1);
    assert!(shown.stderr.contains("error: denied by policy: production.rego: jobs: module.jobs."), "{}", shown.stderr);
    let listed = shown.stderr.matches("\n- production.rego: jobs: module.jobs.").count();
    assert_eq!(listed as u64 + 1, report_destroys(&staging), "every message is listed: {}", shown.stderr);

    let runs = history(&sb, "production");
    let denied = &runs["runs"][0];
    assert_eq!((denied["kind"].as_str(), denied["status"].as_str()), (Some("plan"), Some("failed")), "{runs}");
    let denies = denied["policy_denies"].as_array().expect("the record lists the denies");
    assert!(!denies.is_empty() && denies.iter().all(|d| d["component"] == "jobs" && d["policy"] == "production.rego"));
    assert_eq!(denied["policy_warnings"][0]["msg"], "every change is reviewed by the platform team");

    let apply = sb.run("apply", "production");
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    let refused = apply.json();
    assert_eq!(refused["status"], "refused", "{refused}");
    assert!(refused["errors"][0]["message"].as_str().is_some_and(|m| m.contains("was denied by policy")), "{refused}");
}

#[test]
fn a_warn_passes_and_is_shown() {
    let sb = sandbox(
        "package infra_manager\n\nwarn contains \"new resources cost money\" if {\n\tsome rc in input.plan.resource_changes\n\t\"create\" in rc.change.actions\n}\n",
    );
    let shown = comment(&sb, "staging");
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("**Policy warnings** (the plan passes)"), "{}", shown.stdout);
    assert!(shown.stdout.contains("`new resources cost money`"), "{}", shown.stdout);
    assert_eq!(sb.run("apply", "staging").code, 0);
}

#[test]
fn a_policy_with_a_syntax_error_fails_the_plan_closed_at_its_line() {
    let sb = sandbox("package infra_manager\n\ndeny contains msg if {\n\tmsg := \n}\n");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let report = plan.json();
    let message = report["errors"][0]["message"].as_str().expect("a message");
    assert!(
        message.contains("policy `production.rego` does not compile") && message.contains("production.rego:4:"),
        "{message}"
    );
    assert_eq!(sb.run("apply", "staging").code, 1, "no plan was stored");
}

/// Prices for the fixture's four types, and a tier budget production's configuration passes.
const PRICED: &str = "catalog:
  app-environment:
    module: catalog/app-environment
    price: { monthly: 10, per: { max_instances: 5 } }
  bucket:
    module: catalog/bucket
    price: { monthly: 1.5 }
  queue:
    module: catalog/queue
    price: { monthly: 2 }
  database:
    module: catalog/database
    protect_destroy: true
    price: { monthly: 20, per: { storage_gb: 0.5 } }
tiers:
  standard:
    max_monthly_cost: 100
";

#[test]
fn the_comment_shows_the_cost_before_after_and_delta_and_a_cost_over_the_tier_s_max_is_denied() {
    let sb = sandbox("package infra_manager\n");
    sb.add_config(PRICED);
    let first = comment(&sb, "staging");
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("**Monthly cost** of this environment: nothing applied → **53.50** (+53.50)"),
        "{}",
        first.stdout
    );
    assert_eq!(sb.run("apply", "staging").code, 0);

    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(sb.variables(), text.replace(JOBS, "")).expect("write");
    let second = comment(&sb, "staging");
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains("**Monthly cost** of this environment: 53.50 → **51.50** (-2.00)"),
        "{}",
        second.stdout
    );
    let runs = history(&sb, "staging");
    assert_eq!(
        (runs["runs"][0]["cost_before_cents"].as_i64(), runs["runs"][0]["cost_after_cents"].as_i64()),
        (Some(5350), Some(5150)),
        "{runs}"
    );

    // Staging: web 10 + 2 (the module default) × 5, uploads 1.50, jobs 2, db 20 + 20 × 0.50.
    // Production: web 10 + 4 × 5, uploads 1.50, jobs gone, db 20 + 100 × 0.50.
    let production = sb.run("plan", "production");
    assert_eq!(production.code, 1, "{}", production.stderr);
    let message = production.json()["errors"][0]["message"].as_str().expect("a message").to_owned();
    assert!(
        message.contains("tiers.standard.max_monthly_cost: the monthly cost would be 101.50, over the tier's max_monthly_cost of 100.00"),
        "{message}"
    );
    assert_eq!(sb.run("apply", "production").code, 1, "a plan over the budget is never applicable");
}

#[test]
fn policy_test_passes_and_fails_as_opa_test_would() {
    let sb = sandbox(NO_PRODUCTION_DESTROYS);
    let test = |body: &str| {
        std::fs::write(sb.path().join("policies/production_test.rego"), body).expect("write test");
        Run::new(sb.path()).args(["policy", "test"]).run()
    };
    let passing = "package infra_manager_test\n\nimport data.infra_manager\n\ntest_production_destroys_are_denied if {\n\tcount(infra_manager.deny) == 1 with input as {\"target\": {\"environment\": \"production\"}, \"plan\": {\"resource_changes\": [{\"address\": \"module.db.x\", \"change\": {\"actions\": [\"delete\"]}}]}}\n}\n\ntest_staging_destroys_pass if {\n\tcount(infra_manager.deny) == 0 with input as {\"target\": {\"environment\": \"staging\"}, \"plan\": {\"resource_changes\": [{\"address\": \"module.db.x\", \"change\": {\"actions\": [\"delete\"]}}]}}\n}\n";
    let ok = test(passing);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("PASS: 2/2"), "{}", ok.stdout);
    let failing = passing.replace("count(infra_manager.deny) == 0", "count(infra_manager.deny) == 1");
    let failed = test(&failing);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(failed.stdout.contains("data.infra_manager_test.test_staging_destroys_pass: FAIL"), "{}", failed.stdout);
    assert!(failed.stdout.contains("FAIL: 1/2"), "{}", failed.stdout);
}

#[test]
fn cost_all_shows_the_fleet_s_monthly_cost_per_customer_from_what_was_applied() {
    let sb = sandbox("package infra_manager\n");
    sb.add_config(PRICED);
    sb.add_config("customers:\n  - repo: local/shop\n    tier: standard\n    environments: [staging, production]\n");
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(sb.run("apply", "staging").code, 0);
    let out = Run::new(sb.path()).args(["--json", "cost", "--all"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["owners"]["local/shop"], 53.5, "{report}");
    assert_eq!(report["total"], 53.5, "{report}");
    let production = report["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["environment"] == "production")
        .cloned();
    assert_eq!(
        production.map(|p| p["monthly"].clone()),
        Some(serde_json::Value::Null),
        "nothing applied there: {report}"
    );
    let text = Run::new(sb.path()).args(["cost", "--all"]).run();
    assert!(text.stdout.contains("fleet: 53.50 a month"), "{}", text.stdout);
}

#[test]
fn policy_coverage_lists_the_rules_that_never_fired() {
    let sb = sandbox(NO_PRODUCTION_DESTROYS);
    std::fs::write(
        sb.path().join("policies/quiet.rego"),
        "package infra_manager\n\ndeny contains \"never\" if false\n",
    )
    .expect("write");
    sb.add_config("customers:\n  - repo: local/shop\n    environments: [staging, production]\n");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let out = Run::new(sb.path()).args(["policy", "coverage"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(
            "production.rego deny: never fired\nquiet.rego deny: never fired\nproduction.rego warn: fired 1 time"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2 of 3 rules never fired"), "{}", out.stdout);
}

/// `docs/policy.md`'s offboarding example: no destroys in production by a change.
const NO_PRODUCTION_DESTROYS_BUT_OFFBOARDING: &str = r#"package infra_manager

# Nothing is destroyed in production by a change; offboarding (`destroy`) and expiry pass.
deny contains {"msg": sprintf("%s would be destroyed in production", [rc.address]), "component": component} if {
	input.target.environment == "production"
	input.run.kind == "plan"
	some rc in input.plan.resource_changes
	"delete" in rc.change.actions
	component := split(rc.address, ".")[1]
}
"#;

#[test]
fn offboarding_passes_a_production_destroys_rule_that_reads_input_run_and_a_removal_does_not() {
    let sb = sandbox(NO_PRODUCTION_DESTROYS);
    assert_eq!(sb.run("plan", "production").code, 0);
    assert_eq!(sb.run("apply", "production").code, 0);
    // The fixture's database is protected: the operator allows it, as an offboarding does.
    let destroy = || {
        Run::new(sb.path())
            .args(["--json", "destroy", "--source-dir", "shop", "--env", "production", "--allow-protected"])
            .run()
    };
    let denied = destroy();
    assert_eq!(denied.code, 1, "the rule without `input.run` stops offboarding: {}{}", denied.stdout, denied.stderr);
    assert!(denied.json()["errors"][0]["message"].as_str().is_some_and(|m| m.contains("denied by policy")));

    let docs = std::fs::read_to_string(repo_root().join("docs/policy.md")).expect("read");
    assert!(
        docs.contains(NO_PRODUCTION_DESTROYS_BUT_OFFBOARDING),
        "docs/policy.md shows this policy as it is run here"
    );
    std::fs::write(sb.path().join("policies/production.rego"), NO_PRODUCTION_DESTROYS_BUT_OFFBOARDING).expect("write");
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(sb.variables(), text.replace(JOBS, "")).expect("write");
    let removal = sb.run("plan", "production");
    assert_eq!(removal.code, 1, "a component's removal is still denied: {}", removal.stderr);
    std::fs::write(sb.variables(), text).expect("write");

    let offboard = destroy();
    assert_eq!(offboard.code, 0, "{}", offboard.stderr);
    let destroyed = offboard.json()["destroy"].as_u64().expect("a count");
    assert!(destroyed > 0, "{}", offboard.stdout);
    let apply = sb.run("apply", "production");
    assert_eq!((apply.code, apply.json()["destroy"].as_u64()), (0, Some(destroyed)), "{}", apply.stderr);
}

const MAX_RECEIVE_COUNT: &str = r#"package infra_manager

warn contains sprintf("%s maxReceiveCount %v -> %v", [rc.address, before, after]) if {
	some rc in input.plan.resource_changes
	before := object.get(rc.change, ["before", "input", "redrive_policy", "maxReceiveCount"], "none")
	after := rc.change.after.input.redrive_policy.maxReceiveCount
	before != after
}

warn contains "no provisioning request made this change" if input.request == null
"#;

#[test]
fn policies_read_the_plans_before_and_after_values_and_a_customer_has_no_request() {
    let sb = sandbox(MAX_RECEIVE_COUNT);
    let warnings = || {
        let runs = history(&sb, "staging");
        let said = runs["runs"][0]["policy_warnings"].as_array().expect("warnings").clone();
        said.iter().filter_map(|w| w["msg"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(
        warnings(),
        ["module.jobs.terraform_data.queue maxReceiveCount none -> 3", "no provisioning request made this change"]
    );
    assert_eq!(sb.run("apply", "staging").code, 0);
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    std::fs::write(sb.variables(), text.replace("max_receive_count: 3", "max_receive_count: 5")).expect("write");
    assert_eq!(sb.run("plan", "staging").code, 0);
    assert_eq!(
        warnings(),
        ["module.jobs.terraform_data.queue maxReceiveCount 3 -> 5", "no provisioning request made this change"]
    );
}

/// Tenants for the request test: a connector is committed on `main`, a queue on a review
/// branch.
const TENANTS: &str =
    "tenants:\n  types: [connector, queue]\n  environments: [staging]\n  auto_approve: { connector: true }\n";

const NO_REQUESTED_CONNECTORS: &str = r#"package infra_manager

deny contains sprintf("request %s asks for a %s (%s)", [input.request.id, input.request.type, input.request.action]) if {
	input.request.type in {"connector", "queue"}
}

warn contains sprintf("requested by %s", [input.request.requested_by]) if is_string(input.request.requested_by)

warn contains "no provisioning request made this change" if input.request == null
"#;

#[test]
fn a_requests_commit_gives_policies_its_request_and_a_forged_trailer_gives_null() {
    let m = Manager::new();
    m.sb.add_config(TENANTS);
    std::fs::create_dir_all(m.sb.path().join("policies")).expect("mkdir");
    std::fs::write(m.sb.path().join("policies/requests.rego"), NO_REQUESTED_CONNECTORS).expect("write");
    let plan = |tenant: &str| m.run(&["plan", "--tenant", tenant, "--env", "staging"]);
    let record = |tenant: &str| {
        let out = Run::new(m.sb.path()).args(["--json", "history", "--tenant", tenant, "--env", "staging"]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()["runs"][0].clone()
    };

    let inputs = r#"{"user_id": "alice", "connector": "xero", "retention_days": 7}"#;
    let args = ["request", "--request-id", "r-1", "--tenant", "alice-xero", "--type", "connector", "--inputs", inputs];
    let out = m.run(&[&args[..], &["--requester", "octocat"]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let denied = plan("alice-xero");
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let message = denied.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("request r-1 asks for a connector (write)"), "{message}");
    let run = record("alice-xero");
    assert_eq!(run["policy_warnings"][0]["msg"], "requested by octocat", "{run}");

    // A hand-made commit copying the request's trailers: the record names another commit.
    let file = m.git(&["show", "HEAD:tenants/alice-xero.yml"]);
    m.write("alice-xero", &file.replace("\"retention_days\":7", "\"retention_days\":14"));
    let forged = m.commit("tenants: longer retention\n\nRequest-Id: r-1\nRequested-By: octocat");
    assert_eq!(m.git(&["log", "-1", "--format=%(trailers:key=Request-Id,valueonly)"]), "r-1");
    let passed = plan("alice-xero");
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert!(passed.stderr.contains("names request `r-1`, whose record does not name that commit"), "{}", passed.stderr);
    let run = record("alice-xero");
    assert_eq!(run["sha"], forged.as_str(), "{run}");
    assert_eq!(run["policy_warnings"][0]["msg"], "no provisioning request made this change", "{run}");
    assert!(run["policy_denies"].as_array().is_none_or(Vec::is_empty), "{run}");

    // A review branch merged with a merge commit: the file's last change is the request's.
    let out = m.run(&[
        "request",
        "--request-id",
        "q-1",
        "--tenant",
        "jobs",
        "--type",
        "queue",
        "--inputs",
        r#"{"fifo": true}"#,
    ]);
    assert_eq!((out.code, out.json()["branch"].as_str()), (0, Some("tenant-request/q-1")), "{}", out.stderr);
    m.git(&["merge", "--quiet", "--no-ff", "-m", "Merge tenant-request/q-1", "tenant-request/q-1"]);
    let denied = plan("jobs");
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let message = denied.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("request q-1 asks for a queue (write)"), "{message}");
}
