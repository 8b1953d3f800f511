//! The seed sandbox types through the real binary, real Terraform, local mode: `connector`
//! for three users and two source systems (six components) plans and applies, naming each
//! connector's resources from its user id, sanitised (`<user>-<connector>-ingestion`,
//! `-transformation`, `<user>_views`); a user id the module's validation refuses (spaces,
//! non-ASCII letters, `../`, 200 characters) is an error at its line and column before
//! Terraform runs, as is a `poc-environment` size the tier does not allow; a
//! `poc-environment` ends with its environment's `expires_at`, destroyed by `reap`.

use crate::support::cli::{Run, Sandbox, require_terraform, walk};

/// `(component, user id, connector)`: mixed case and `.`/`@`/`+`/`_`, a leading digit, and
/// an id longer than a name may be.
const CONNECTORS: [(&str, &str, &str); 6] = [
    ("jane-xero", "Jane.Doe@Example.COM", "xero"),
    ("jane-stripe", "Jane.Doe@Example.COM", "stripe"),
    ("u42-shopify", "42_Bob+test", "shopify"),
    ("u42-hubspot", "42_Bob+test", "hubspot"),
    ("long-salesforce", "A-very-long-user-identifier.from.the.backend-0123456789", "salesforce"),
    ("long-xero", "A-very-long-user-identifier.from.the.backend-0123456789", "xero"),
];

/// The sanitised user of each id above.
fn user(id: &str) -> &'static str {
    match id {
        "Jane.Doe@Example.COM" => "jane-doe-example-com",
        "42_Bob+test" => "u-42-bob-test",
        _ => "a-very-long-user-identifier-fr",
    }
}

fn file(components: &str) -> String {
    format!(
        "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: {{ name: shop }}\nspec:\n  environments: [staging]\n  components:\n{components}"
    )
}

fn connectors() -> String {
    let mut out: String = CONNECTORS
        .iter()
        .map(|(name, id, connector)| {
            format!(
                "    - name: {name}\n      type: connector\n      inputs: {{ user_id: \"{id}\", connector: {connector}, retention_days: 90 }}\n"
            )
        })
        .collect();
    out.push_str("    - name: trial\n      type: poc-environment\n      inputs: { size: medium, seats: 20 }\n");
    file(&out)
}

#[test]
fn six_connectors_apply_with_their_names_derived_from_the_user_ids() {
    require_terraform();
    let sb = Sandbox::new();
    std::fs::write(sb.variables(), connectors()).expect("write");
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.store().join("state/local/shop/staging/terraform.tfstate")).expect("state"),
    )
    .expect("json");
    let output = |name: &str| state["outputs"][name]["value"].as_str().map(str::to_owned);
    // What each resource was given, by module and resource name.
    let input = |module: &str, resource: &str| {
        state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["module"] == format!("module.{module}") && r["name"] == resource)
            .map(|r| r["instances"][0]["attributes"]["output"]["value"].clone())
            .unwrap_or_else(|| panic!("no {resource} in module.{module}"))
    };
    let mut buckets = Vec::new();
    for (name, id, connector) in CONNECTORS {
        let user = user(id);
        let ingestion = format!("{user}-{connector}-ingestion");
        let transformation = format!("{user}-{connector}-transformation");
        let views = format!("{}_views", user.replace('-', "_"));
        assert_eq!(output(&format!("{name}_ingestion_job_name")), Some(ingestion.clone()), "{name}");
        assert_eq!(output(&format!("{name}_transformation_job_name")), Some(transformation.clone()), "{name}");
        assert_eq!(output(&format!("{name}_dataset_view")), Some(views.clone()), "{name}");
        assert_eq!(input(name, "ingestion_job")["name"], ingestion.as_str());
        assert_eq!(input(name, "transformation_job")["name"], transformation.as_str());
        assert_eq!(input(name, "dataset_view")["dataset_id"], views.as_str());
        let bucket = output(&format!("{name}_bucket_name")).expect("bucket_name");
        // Every name fits Cloud Run's and Cloud Storage's 63 and their alphabet.
        for n in [&ingestion, &transformation, &bucket] {
            assert!(n.len() <= 63, "{n}");
            assert!(n.starts_with(|c: char| c.is_ascii_lowercase()), "{n}");
            assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{n}");
        }
        assert!(bucket.starts_with(&format!("{user}-{connector}-")), "{bucket}");
        let account = input(name, "service_account")["account_id"].as_str().expect("account_id").to_owned();
        assert!((6..=30).contains(&account.len()), "{account}");
        buckets.push(bucket);
    }
    buckets.sort();
    buckets.dedup();
    assert_eq!(buckets.len(), CONNECTORS.len(), "one bucket per user and connector: {buckets:?}");
    assert_eq!(output("trial_service_url").as_deref(), Some("https://shop-trial-staging.poc.internal"));
    assert_eq!(state["outputs"]["trial_instances"]["value"], 2, "medium: two instances");
    let replan = sb.run("plan", "staging");
    assert_eq!(replan.code, 0, "{}", replan.stderr);
    assert_eq!(replan.json()["has_changes"], false, "{}", replan.stderr);
}

#[test]
fn a_user_id_the_module_refuses_is_an_error_at_its_place_before_terraform_runs() {
    let sb = Sandbox::new();
    let long = "A".repeat(200);
    let hostile = [("spaces", "Jane Doe"), ("unicode", "zoë"), ("dots", "../../etc/passwd"), ("long", long.as_str())];
    let mut components: String = hostile
        .iter()
        .map(|(name, id)| {
            format!(
                "    - name: {name}\n      type: connector\n      inputs: {{ connector: xero, user_id: \"{id}\" }}\n"
            )
        })
        .collect();
    components.push_str("    - name: trial\n      type: poc-environment\n      inputs: { size: large }\n");
    std::fs::write(sb.variables(), file(&components)).expect("write");

    let out = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    // Components start at line 7, three lines each; `user_id`'s value is at column 43.
    for (i, (_, id)) in hostile.iter().enumerate() {
        let line = 9 + 3 * i;
        let expected = format!(
            "shop/infra/variables.yml:{line}:43: `spec.components[{i}].inputs.user_id` is \"{}",
            id.chars().take(40).collect::<String>()
        );
        assert!(out.stderr.contains(&expected), "missing {expected:?} in:\n{}", out.stderr);
    }
    assert_eq!(
        out.stderr.matches("which does not match the module's pattern").count(),
        hostile.len(),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "shop/infra/variables.yml:21:23: `spec.components[4].inputs.size` is \"large\", not an allowed value"
        ),
        "{}",
        out.stderr
    );

    // `plan` refuses the same file before Terraform runs: the refusal is recorded, but no
    // state and no plan exist.
    let plan = sb.run("plan", "staging");
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let written = walk(&sb.store());
    assert!(
        written.iter().all(|f| !f.contains("/state/") && !f.contains("/plans/") && !f.ends_with(".tfplan")),
        "{written:?}"
    );
}

#[test]
fn a_poc_environment_is_reaped_with_its_expired_environment() {
    require_terraform();
    let sb = Sandbox::new();
    let base = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("read");
    let registry = |expires_at: &str| {
        let entry = format!(
            "customers:\n  - repo: acme/poc\n    environments: [staging]\n    expires_at: {{ staging: \"{expires_at}\" }}\n"
        );
        std::fs::write(sb.path().join("infra-manager.yml"), format!("{base}{entry}")).expect("write");
    };
    let infra = sb.path().join("customers/acme/poc/infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    std::fs::write(
        infra.join("variables.yml"),
        file("    - name: trial\n      type: poc-environment\n      inputs: { size: small, seats: 3 }\n"),
    )
    .expect("write");
    registry("2099-01-01");
    for verb in ["plan", "apply"] {
        let out = Run::new(sb.path())
            .args(["--json", verb, "--source-dir", "customers/acme/poc", "--customer", "acme/poc", "--env", "staging"])
            .run();
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    let state = sb.store().join("state/acme/poc/staging/terraform.tfstate");
    let resources = || {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
        state["resources"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(resources(), 3, "service, database and DNS record");

    // The provider set the date; once it has passed, `reap` destroys the environment.
    registry("2026-01-01");
    let reap = Run::new(sb.path()).args(["--json", "reap", "--source-root", "customers"]).run();
    assert_eq!(reap.code, 0, "{}", reap.stderr);
    let result = &reap.json()["results"][0];
    assert_eq!((result["result"].as_str(), result["destroyed"].as_u64()), (Some("reaped"), Some(3)), "{result}");
    assert_eq!(resources(), 0);
}
