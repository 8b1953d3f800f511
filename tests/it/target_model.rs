//! Issue 19: customers and provider tenants are one kind of target. A real Git manager
//! repository made by the test, real Terraform, the local store: a tenant is a target of
//! every fleet verb and of the per-target verbs with `--tenant`; admission refuses before
//! anything is written; every destroy meets one protected-removal rule; `tenants changed`
//! reads validated files; `status` tells the change last planned or applied for real.

use std::path::Path;

use crate::support::cli::{Output, Run, v1_variables};
use crate::support::manager::Manager;

fn tenant(name: &str, extra_spec: &str, components: &str) -> String {
    format!(
        "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: {name}\nspec:\n  environments: [staging]\n{extra_spec}  components:\n{components}"
    )
}

const QUEUE: &str = "    - { name: jobs, type: queue }\n";
const DB: &str = "    - { name: db, type: database, inputs: { engine: postgres, storage_gb: 20 } }\n";
const PAST: &str = "  expiresAt: 2020-01-01T00:00:00Z\n";
const FUTURE: &str = "  expiresAt: 2999-01-01T00:00:00Z\n";

/// `infra-manager --json <args>` in the sandbox, with the manager checkout at `manager/`.
fn run(m: &Manager, args: &[&str]) -> Output {
    let reads_files = !matches!(args.first(), Some(&("history" | "status")));
    let repo: &[&str] = if reads_files { &["--repo", "manager"] } else { &[] };
    Run::new(m.sb.path()).args(["--json"]).args(args).args(repo).run()
}

fn ok(out: &Output, what: &str) -> serde_json::Value {
    assert_eq!(out.code, 0, "{what}: {}\n{}", out.stdout, out.stderr);
    out.json()
}

/// A customer checkout `customers/<owner>/<repo>/infra/variables.yml`.
fn customer(m: &Manager, repo: &str, text: &str) {
    let infra = m.sb.path().join("customers").join(repo).join("infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    std::fs::write(infra.join("variables.yml"), text).expect("write");
}

fn customer_run(m: &Manager, verb: &str, repo: &str) -> Output {
    let dir = format!("customers/{repo}");
    run(m, &[verb, "--source-dir", &dir, "--customer", repo, "--env", "staging"])
}

fn results_of<'a>(report: &'a serde_json::Value, owner: &str) -> Vec<&'a serde_json::Value> {
    report["results"].as_array().expect("results").iter().filter(|r| r["customer"] == owner).collect()
}

fn state_resources(store: &Path, owner: &str) -> usize {
    let path = store.join(format!("state/{owner}/staging/terraform.tfstate"));
    let Ok(text) = std::fs::read_to_string(&path) else { return 0 };
    let state: serde_json::Value = serde_json::from_str(&text).expect("json");
    state["resources"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_tenant_is_a_target_of_every_fleet_verb_and_of_the_per_target_verbs() {
    let m = Manager::new();
    m.sb.add_config("customers:\n  - repo: acme/shop\n    environments: [staging]\n");
    // The v1 file minus production: the customer is enabled for staging only.
    let v1: String = std::fs::read_to_string(v1_variables())
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim_start().starts_with("production:"))
        .map(|l| format!("{l}\n"))
        .collect();
    customer(&m, "acme/shop", &v1);
    m.write("alpha", &tenant("alpha", "", QUEUE));
    m.commit("add alpha");

    // The per-target verbs take `--tenant` as they take `--customer`.
    ok(&customer_run(&m, "plan", "acme/shop"), "customer plan");
    ok(&customer_run(&m, "apply", "acme/shop"), "customer apply");
    ok(&run(&m, &["plan", "--tenant", "alpha", "--env", "staging"]), "tenant plan");
    let applied = ok(&run(&m, &["apply", "--tenant", "alpha", "--env", "staging"]), "tenant apply");
    assert_eq!(applied["customer"], "tenants/alpha");
    assert!(state_resources(&m.sb.store(), "tenants/alpha") > 0);

    // plan --all re-plans customers and tenants alike; it is never a target's change.
    let all = ok(&run(&m, &["plan", "--all", "--source-root", "customers"]), "plan --all");
    assert_eq!(all["targets"], 2, "{all}");
    for owner in ["acme/shop", "tenants/alpha"] {
        let r = results_of(&all, owner);
        assert_eq!((r.len(), r[0]["status"].as_str()), (1, Some("ok")), "{owner}: {all}");
    }
    let status = ok(&run(&m, &["status", "--tenant", "alpha", "--env", "staging"]), "status");
    assert_eq!(status["environments"][0]["current"], "applied", "{status}");

    // drift --all checks the tenant and records it.
    let drift = ok(&run(&m, &["drift", "--all", "--source-root", "customers"]), "drift --all");
    let r = results_of(&drift, "tenants/alpha");
    assert_eq!(r[0]["result"], "in-sync", "{drift}");
    assert_eq!(results_of(&drift, "acme/shop")[0]["result"], "in-sync", "{drift}");
    let history = ok(&run(&m, &["history", "--tenant", "alpha"]), "history");
    let kinds: Vec<&str> =
        history["runs"].as_array().expect("runs").iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["drift", "replan", "apply", "plan"], "{history}");

    // targets --all lists the tenant's job; a tenant state without a file is an orphan.
    let ghost = m.sb.store().join("state/tenants/ghost/staging");
    std::fs::create_dir_all(&ghost).expect("mkdir");
    let state = r#"{"version":4,"resources":[{"type":"terraform_data","name":"x","instances":[{}]}]}"#;
    std::fs::write(ghost.join("terraform.tfstate"), state).expect("write");
    let targets =
        Run::new(m.sb.path()).args(["targets", "--all", "--source-root", "customers", "--repo", "manager"]).run();
    assert_eq!(targets.code, 0, "{}", targets.stderr);
    let matrix: serde_json::Value = serde_json::from_str(targets.stdout.trim()).expect("matrix");
    let jobs = matrix["include"].as_array().expect("include");
    assert!(jobs.contains(&serde_json::json!({"tenant": "alpha", "environment": "staging"})), "{matrix}");
    assert!(jobs.contains(&serde_json::json!({"customer": "acme/shop", "environment": "staging"})), "{matrix}");
    assert!(
        targets.stderr.lines().any(|l| l.starts_with("::warning::orphaned state: `tenants/ghost` `staging`")),
        "{}",
        targets.stderr
    );
    assert!(!targets.stderr.contains("`tenants/alpha`"), "a tenant with its file is no orphan: {}", targets.stderr);

    // destroy --tenant plans from the commit last applied; apply --last-applied applies it.
    let destroy = ok(&run(&m, &["destroy", "--tenant", "alpha", "--env", "staging"]), "destroy");
    assert!(destroy["destroy"].as_u64().is_some_and(|n| n > 0), "{destroy}");
    ok(&run(&m, &["apply", "--tenant", "alpha", "--env", "staging", "--last-applied"]), "apply the destroy");
    assert_eq!(state_resources(&m.sb.store(), "tenants/alpha"), 0);
    let status = ok(&run(&m, &["status", "--tenant", "alpha", "--env", "staging"]), "status");
    assert_eq!(status["environments"][0]["current"], "destroyed", "{status}");

    // The old spelling still works one release, and says what replaces it.
    let old = run(&m, &["tenants", "plan", "--tenant", "alpha", "--env", "staging"]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(old.stderr.contains("`infra-manager tenants plan` is deprecated"), "{}", old.stderr);
    assert!(old.stderr.contains("use `infra-manager plan --tenant NAME --env ENV`"), "{}", old.stderr);
}

#[test]
fn an_expired_tenant_is_refused_with_no_record_no_status_and_no_terraform() {
    let m = Manager::new();
    m.write("old", &tenant("old", PAST, QUEUE));
    m.commit("add an expired tenant");
    let out = run(&m, &["plan", "--tenant", "old", "--env", "staging"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("expired"), "{}", out.stdout);
    assert!(!m.sb.store().join("records/tenants/old").exists(), "no record");
    assert!(!out.stderr.contains("status infra/terraform-deploy"), "no status: {}", out.stderr);
    assert!(!m.sb.store().join("work/tenants/old").exists(), "no working directory, so no Terraform");
}

#[test]
fn reap_destroys_nothing_of_an_expired_target_with_a_protected_component_and_reaps_the_rest() {
    let m = Manager::new();
    let registry = |expiry: &str| {
        format!(
            "customers:\n  - repo: acme/vault\n    environments: [staging]\n    expires_at: {{ staging: \"{expiry}\" }}\n"
        )
    };
    m.sb.add_config(&registry("2999-01-01"));
    let db = format!(
        "apiVersion: infra-manager/v2\nkind: Customer\nmetadata:\n  name: vault\nspec:\n  environments: [staging]\n  components:\n{DB}"
    );
    customer(&m, "acme/vault", &db);
    m.write("vault", &tenant("vault", FUTURE, DB));
    m.write("temp", &tenant("temp", FUTURE, QUEUE));
    m.commit("add tenants");
    ok(&customer_run(&m, "plan", "acme/vault"), "customer plan");
    ok(&customer_run(&m, "apply", "acme/vault"), "customer apply");
    for name in ["vault", "temp"] {
        ok(&run(&m, &["plan", "--tenant", name, "--env", "staging"]), name);
        ok(&run(&m, &["apply", "--tenant", name, "--env", "staging"]), name);
    }
    let before = |owner: &str| state_resources(&m.sb.store(), owner);
    let (customer_db, tenant_db) = (before("acme/vault"), before("tenants/vault"));
    assert!(customer_db > 0 && tenant_db > 0 && before("tenants/temp") > 0);

    // Everything expires; one more file below tenants/ is not even UTF-8.
    let config = m.sb.path().join("infra-manager.yml");
    let text = std::fs::read_to_string(&config).expect("config").replace("2999-01-01", "2020-01-01");
    std::fs::write(&config, text).expect("write");
    m.write("vault", &tenant("vault", PAST, DB));
    m.write("temp", &tenant("temp", PAST, QUEUE));
    std::fs::write(m.repo().join("tenants/broken.yml"), [0xff, 0xfe, b'\n']).expect("write");
    m.commit("expire everything");

    // Expired is not failed: the fleet re-plan and the matrix say so, and stay green.
    let all = ok(&run(&m, &["plan", "--all", "--source-root", "customers"]), "plan --all");
    assert_eq!(all["failed"], 0, "{all}");
    assert!(all["results"].as_array().expect("results").iter().all(|r| r["expired"].is_string()), "{all}");
    let targets = Run::new(m.sb.path()).args(["targets", "--all", "--repo", "manager"]).run();
    assert_eq!(targets.code, 0, "{}", targets.stderr);
    let matrix: serde_json::Value = serde_json::from_str(targets.stdout.trim()).expect("matrix");
    let expected = serde_json::json!({"tenant": "temp", "environment": "staging", "expired": true});
    assert!(matrix["include"].as_array().expect("include").contains(&expected), "{matrix}");

    let reap = run(&m, &["reap", "--source-root", "customers"]);
    let report = ok(&reap, "reap");
    let result = |owner: &str| results_of(&report, owner)[0]["result"].as_str().map(str::to_owned);
    assert_eq!(result("acme/vault").as_deref(), Some("expired-protected"), "{report}");
    assert_eq!(result("tenants/vault").as_deref(), Some("expired-protected"), "{report}");
    assert_eq!(result("tenants/temp").as_deref(), Some("reaped"), "{report}");
    for owner in ["acme/vault", "tenants/vault"] {
        let message = results_of(&report, owner)[0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("component `db` (type `database`, protected)"), "{message}");
        assert!(message.contains("allow_destroy: true"), "{message}");
    }
    assert!(reap.stderr.contains("`tenants/broken.yml` can't be read"), "{}", reap.stderr);
    assert_eq!((before("acme/vault"), before("tenants/vault")), (customer_db, tenant_db), "nothing destroyed");
    assert_eq!(before("tenants/temp"), 0, "the rest is reaped");
    // The refusal is on record, and the summary says why.
    let history = ok(&run(&m, &["history", "--tenant", "vault"]), "history");
    let last = &history["runs"][0];
    assert_eq!((last["kind"].as_str(), last["status"].as_str()), (Some("destroy"), Some("failed")), "{history}");
    assert!(last["message"].as_str().is_some_and(|m| m.contains("expired, protected")), "{history}");
    let status = ok(&run(&m, &["status", "--tenant", "temp", "--env", "staging"]), "status");
    assert_eq!(status["environments"][0]["current"], "destroyed", "{status}");

    // Offboarding meets the same rule, and one text: refused at the component's place...
    let destroy = ["destroy", "--source-dir", "customers/acme/vault", "--customer", "acme/vault", "--env", "staging"];
    let runs = |m: &Manager| ok(&run(m, &["history", "--customer", "acme/vault"]), "history")["runs"].clone();
    let before = runs(&m);
    let refused = run(&m, &destroy);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let error = &refused.json()["errors"][0];
    assert!(error["message"].as_str().is_some_and(|m| m.contains("`db` (type `database`, protected)")), "{error}");
    assert_eq!(runs(&m), before, "a refusal writes no record");
    // ... unless the operator says so, which the plan's record keeps.
    let allowed = ok(&run(&m, &[&destroy[..], &["--allow-protected"]].concat()), "destroy --allow-protected");
    assert!(allowed["destroy"].as_u64().is_some_and(|n| n > 0), "{allowed}");
    let history = ok(&run(&m, &["history", "--customer", "acme/vault"]), "history");
    let last = &history["runs"][0];
    assert_eq!(last["kind"], "destroy", "{history}");
    assert!(last["message"].as_str().is_some_and(|m| m.contains("operator override")), "{history}");
}

#[test]
fn tenants_changed_reads_validated_head_files_and_a_broken_base_can_be_fixed_and_deleted() {
    let m = Manager::new();
    let c0 = m.git(&["rev-parse", "HEAD"]);
    m.write("alpha", &tenant("alpha", "", QUEUE));
    let c1 = m.commit("add alpha");
    assert_eq!(m.changed(&c0, &c1), ["create alpha staging"]);
    ok(&run(&m, &["plan", "--tenant", "alpha", "--env", "staging"]), "plan");
    ok(&run(&m, &["apply", "--tenant", "alpha", "--env", "staging"]), "apply");

    // A typo in an environment is an error at its line, never an update plus a destroy.
    m.write("alpha", &tenant("alpha", "", QUEUE).replace("[staging]", "[stagin]"));
    let typo = m.commit("typo");
    let out = m.run(&["changed", "--base", &c1, "--head", &typo]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("tenants/alpha.yml") && out.stdout.contains("stagin"), "{}", out.stdout);
    assert!(!out.stdout.contains("\"action\""), "no job at all: {}", out.stdout);

    // A base that does not parse contributes nothing: fixing it updates, deleting it
    // destroys what the stored states hold.
    m.write("alpha", "apiVersion: infra-manager/v2\nspec: [\n");
    let broken = m.commit("break alpha");
    assert_eq!(m.run(&["changed", "--base", &c1, "--head", &broken]).code, 2);
    m.write("alpha", &tenant("alpha", "", QUEUE));
    let fixed = m.commit("fix alpha");
    assert_eq!(m.changed(&broken, &fixed), ["update alpha staging"]);
    m.git(&["checkout", "--quiet", &broken]);
    std::fs::remove_file(m.repo().join("tenants/alpha.yml")).expect("rm");
    let deleted = m.commit("delete broken alpha");
    assert_eq!(m.changed(&broken, &deleted), ["destroy alpha staging"]);
}
