//! The shipped catalog modules (`manager-terraform/catalog/*`) with real Terraform, offline:
//! each is formatted, initialises without a backend and validates; called together from one
//! root with only the standard names (and what a type requires), they apply and name their
//! resources `<project>-<component>-<environment>` (a connector's, from its user id). The
//! Terraform state and data directory live in a temporary directory, never in the source
//! tree. The Google Cloud connector module keeps the sandbox connector's input contract.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;
use crate::support::cli::{repo_root, require_terraform};

const TYPES: [&str; 6] = ["app-environment", "bucket", "queue", "database", "connector", "poc-environment"];

/// The inputs a type requires besides the standard names (the connector's user and source).
fn required_inputs(ty: &str) -> &'static str {
    match ty {
        "connector" => "  user_id      = \"Jane.Doe@example.com\"\n  connector    = \"stripe\"\n",
        _ => "",
    }
}

fn terraform() -> String {
    std::env::var("INFRA_MANAGER_TERRAFORM").unwrap_or_else(|_| "terraform".to_owned())
}

fn catalog_dir() -> PathBuf {
    repo_root().join("manager-terraform").join("catalog")
}

/// Runs Terraform in `dir` with its data directory under `data`; panics with its output on failure.
fn run(dir: &Path, data: &Path, args: &[&str]) -> String {
    let out = Command::new(terraform())
        .arg(format!("-chdir={}", dir.display()))
        .args(args)
        .env("TF_DATA_DIR", data)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "terraform {args:?} in {} failed:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_catalog_module_is_formatted_and_validates() {
    require_terraform();
    let found: Vec<String> = std::fs::read_dir(catalog_dir())
        .expect("manager-terraform/catalog")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for ty in TYPES {
        assert!(found.iter().any(|f| f == ty), "manager-terraform/catalog/{ty} is missing: {found:?}");
    }
    run(&catalog_dir(), Path::new("unused"), &["fmt", "-check", "-recursive", "-diff"]);
    for ty in TYPES {
        let data = tempfile::tempdir().expect("tempdir");
        let dir = catalog_dir().join(ty);
        run(&dir, data.path(), &["init", "-backend=false", "-input=false", "-no-color"]);
        let json = run(&dir, data.path(), &["validate", "-json", "-no-color"]);
        let result: serde_json::Value = serde_json::from_str(&json).expect("validate -json");
        assert_eq!(result["valid"], true, "{ty}: {result:#}");
        assert_eq!(result["warning_count"], 0, "{ty}: {result:#}");
    }
}

#[test]
fn the_catalog_modules_apply_with_only_the_standard_names_and_name_resources_by_component() {
    require_terraform();
    let root = tempfile::tempdir().expect("tempdir");
    let calls: String = TYPES
        .iter()
        .map(|ty| {
            let component = ty.replace("-environment", "");
            format!(
                "module \"{component}\" {{\n  source       = \"{}\"\n  customer     = \"acme/shop\"\n  project_name = \"shop\"\n  environment  = \"staging\"\n  component    = \"{component}\"\n{}}}\n\noutput \"{component}\" {{\n  value = module.{component}\n}}\n\n",
                catalog_dir().join(ty).display(),
                required_inputs(ty)
            )
        })
        .collect();
    std::fs::write(root.path().join("main.tf"), calls).expect("write root");
    let data = root.path().join(".terraform");
    run(root.path(), &data, &["init", "-input=false", "-no-color"]);
    run(root.path(), &data, &["apply", "-auto-approve", "-input=false", "-no-color"]);
    let outputs: serde_json::Value =
        serde_json::from_str(&run(root.path(), &data, &["output", "-json"])).expect("output -json");
    let value = |component: &str, output: &str| outputs[component]["value"][output].clone();
    assert_eq!(value("app", "name_prefix"), "shop-app-staging");
    assert_eq!(value("bucket", "bucket_name"), "shop-bucket-staging");
    assert_eq!(value("bucket", "bucket_arn"), "arn:aws:s3:::shop-bucket-staging");
    assert_eq!(value("queue", "queue_name"), "shop-queue-staging");
    assert_eq!(value("queue", "dead_letter_queue_name"), "shop-queue-staging-dlq");
    assert_eq!(value("database", "database_identifier"), "shop-database-staging");
    assert_eq!(value("database", "endpoint"), "shop-database-staging.db.internal:5432");
    assert_eq!(value("connector", "ingestion_job_name"), "jane-doe-example-com-stripe-ingestion");
    assert_eq!(value("connector", "dataset_view"), "jane_doe_example_com_views");
    assert_eq!(value("poc", "service_url"), "https://shop-poc-staging.poc.internal");
    for (name, output) in outputs.as_object().expect("outputs") {
        assert_eq!(output["sensitive"], false, "{name}: the catalog's outputs are for the customer");
    }
    // Re-planning what was applied changes nothing.
    let plan = run(root.path(), &data, &["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    assert!(plan.contains("No changes"), "{plan}");
}

#[test]
fn the_catalog_verb_lists_the_shipped_types_in_local_mode() {
    let out =
        support::cli::Run::new(&repo_root()).args(["--config", "no-such-infra-manager.yml", "--json", "catalog"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["command"], "catalog");
    assert_eq!(json["status"], "ok");
    let names: Vec<&str> = json["types"].as_array().expect("types").iter().filter_map(|t| t["name"].as_str()).collect();
    // The catalog modules, then the v1 module as the type `migrate` rewrites v1 files to.
    assert_eq!(names[..TYPES.len()], TYPES);
    assert_eq!(names[TYPES.len()..], ["app-environment-v1"]);
    assert_eq!(json["types"][TYPES.len()]["module"], "sandbox-app-environment");
    assert_eq!(json["types"][3]["protect_destroy"], true);
}

#[test]
fn a_catalog_that_does_not_fit_its_modules_exits_2_with_each_problem_at_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "terraform:\n  modules_dir: {}\ncatalog:\n  bucket:\n    module: catalog/bucket\n    tiers:\n      standard:\n        retention_day: {{ max: 30 }}\n        storage_class: {{ allowed: [COLD] }}\n",
        repo_root().join("manager-terraform").display()
    );
    std::fs::write(dir.path().join("infra-manager.yml"), config).expect("write config");
    let out = support::cli::Run::new(dir.path()).args(["--json", "catalog"]).run();
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let json = out.json();
    assert_eq!(json["status"], "invalid");
    let errors: Vec<String> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| format!("{}:{} {}", e["line"], e["column"], e["message"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        errors,
        [
            "8:9 component type `bucket` has no input `retention_day` (tier `standard`)",
            "9:9 `catalog.bucket.tiers.standard.storage_class`: allowed value \"COLD\" is not one the module allows",
        ]
    );
}

/// The `variable` blocks of `<manager-terraform>/<module>/variables.tf`, read by the catalog.
fn inputs_of(module: &str) -> Vec<infra_manager::catalog::Input> {
    let file = repo_root().join("manager-terraform").join(module).join("variables.tf");
    let text = std::fs::read_to_string(&file).expect("read variables.tf");
    infra_manager::catalog::variables::parse(&file.display().to_string(), &text).expect("variables.tf parses")
}

/// Every top-level block of the module's `.tf` files.
fn blocks_of(module: &str) -> Vec<hcl::Block> {
    let dir = repo_root().join("manager-terraform").join(module);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("module dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "tf") {
            let body: hcl::Body = hcl::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parses");
            out.extend(body.into_blocks());
        }
    }
    out
}

/// The labels of the `<kind>` blocks, joined with `.`, sorted.
fn labels_of(blocks: &[hcl::Block], kind: &str) -> Vec<String> {
    let mut out: Vec<String> = blocks
        .iter()
        .filter(|b| b.identifier() == kind)
        .map(|b| b.labels().iter().map(|l| l.as_str().to_owned()).collect::<Vec<_>>().join("."))
        .collect();
    out.sort();
    out
}

/// The value of `key` in `block` as HCL text.
fn attribute(block: &hcl::Block, key: &str) -> Option<String> {
    block.body().attributes().find(|a| a.key() == key).map(|a| a.expr().to_string())
}

#[test]
fn the_google_cloud_connector_keeps_the_sandbox_connectors_contract() {
    let sandbox = inputs_of("catalog/connector");
    let gcp = inputs_of("gcp-connector");
    for input in &sandbox {
        let theirs = gcp.iter().find(|i| i.name == input.name);
        assert_eq!(theirs, Some(input), "gcp-connector declares `{}` as the sandbox type does", input.name);
    }
    // Nothing more: every variable of a catalog module is an input the customer may set,
    // and the Google Cloud settings (project, region, images, key) are the provider's.
    let extra: Vec<&str> =
        gcp.iter().filter(|i| !sandbox.iter().any(|s| s.name == i.name)).map(|i| i.name.as_str()).collect();
    assert!(extra.is_empty(), "gcp-connector takes inputs the sandbox type does not: {extra:?}");
    let blocks = blocks_of("gcp-connector");
    assert_eq!(labels_of(&blocks, "output"), labels_of(&blocks_of("catalog/connector"), "output"), "the same outputs");
    assert!(
        blocks
            .iter()
            .filter(|b| b.identifier() == "terraform")
            .all(|t| !t.body().blocks().any(|b| b.identifier() == "backend")),
        "the rendered root declares the S3 backend, the module none"
    );
    // Self-contained, as infra-manager copies a module alone into the rendered root: its
    // names come from its own copy of the sandbox type's `names` module.
    for call in blocks.iter().filter(|b| b.identifier() == "module") {
        let source = attribute(call, "source").unwrap_or_default();
        assert!(source.starts_with("\"./"), "module {:?} has source {source}: outside the module", call.labels());
    }
    let names = |module: &str| {
        std::fs::read_to_string(repo_root().join("manager-terraform").join(module).join("names/main.tf"))
            .expect("names/main.tf")
    };
    assert_eq!(names("gcp-connector"), names("catalog/connector"), "the two copies of names/main.tf differ");
    let resources = labels_of(&blocks, "resource");
    for expected in [
        "google_cloud_run_v2_job.ingestion",
        "google_cloud_run_v2_job.transformation",
        "google_storage_bucket.raw",
        "google_bigquery_dataset.views",
        "google_bigquery_dataset_access.authorized_view",
        "google_service_account.connector",
    ] {
        assert!(resources.iter().any(|r| r == expected), "no {expected} in {resources:?}");
    }
    let bucket = blocks
        .iter()
        .find(|b| b.identifier() == "resource" && b.labels()[0].as_str() == "google_storage_bucket")
        .expect("bucket");
    assert_eq!(attribute(bucket, "uniform_bucket_level_access").as_deref(), Some("true"));
    assert_eq!(attribute(bucket, "public_access_prevention").as_deref(), Some("\"enforced\""));
    // The service account's roles, each on its own resource only: no project-wide data
    // access, no bindings or policies that would replace others' members.
    let mut grants: Vec<(String, String)> = blocks
        .iter()
        .filter(|b| b.identifier() == "resource" && b.labels()[0].as_str().contains("_iam_"))
        .map(|b| (b.labels()[0].as_str().to_owned(), attribute(b, "role").unwrap_or_default()))
        .collect();
    grants.sort();
    let expected = [
        ("google_bigquery_dataset_iam_member", "roles/bigquery.dataEditor"),
        ("google_cloud_run_v2_job_iam_member", "roles/run.invoker"),
        ("google_project_iam_member", "roles/bigquery.jobUser"),
        ("google_storage_bucket_iam_member", "roles/storage.objectAdmin"),
    ];
    let grants: Vec<(&str, &str)> = grants.iter().map(|(k, r)| (k.as_str(), r.trim_matches('"'))).collect();
    assert_eq!(grants, expected);
}

/// Issue 21, item 13: a module validation `validate` cannot evaluate (here `startswith`, which
/// infra-manager does not provide) passes `validate`, and when real Terraform refuses the
/// value at plan time, the error is at the component input's line in the customer's file —
/// both inputs' lines for a validation naming two — not at the module's `variables.tf`.
/// What `validate` does evaluate (the shipped app-environment's CIDR) is refused before
/// Terraform, with the same line and the module's message.
#[test]
fn a_value_terraform_refuses_at_plan_time_is_placed_at_the_customers_line() {
    require_terraform();
    let dir = tempfile::tempdir().expect("tempdir");
    let modules = dir.path().join("modules");
    let thing = modules.join("thing");
    std::fs::create_dir_all(&thing).expect("mkdir");
    let standard: String = infra_manager::catalog::STANDARD_INPUTS
        .iter()
        .map(|n| format!("variable \"{n}\" {{\n  type = string\n}}\n\n"))
        .collect();
    let own = r#"variable "prefix" {
  type    = string
  default = "x"
}

variable "name" {
  type = string

  validation {
    condition     = startswith(var.name, var.prefix)
    error_message = "The name must start with the prefix."
  }
}

variable "label" {
  type    = string
  default = "ok"

  validation {
    condition     = endswith(var.label, "ok")
    error_message = "The label must end with ok."
  }
}
"#;
    std::fs::write(thing.join("variables.tf"), format!("{standard}{own}")).expect("write");
    std::fs::write(thing.join("main.tf"), "resource \"terraform_data\" \"this\" {\n  input = var.name\n}\n")
        .expect("write");
    let app = modules.join("app-environment");
    std::fs::create_dir_all(&app).expect("mkdir");
    for f in ["main.tf", "outputs.tf", "variables.tf", "versions.tf"] {
        let from = repo_root().join("manager-terraform/catalog/app-environment").join(f);
        std::fs::copy(from, app.join(f)).expect("copy");
    }
    let config = format!(
        "terraform:\n  modules_dir: {}\nstate:\n  backend: local\n  local_dir: {}\ncatalog:\n  thing:\n    module: thing\n  app-environment:\n    module: app-environment\n",
        modules.display(),
        dir.path().join("store").display()
    );
    std::fs::write(dir.path().join("infra-manager.yml"), config).expect("write config");
    let infra = dir.path().join("shop/infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    let file = "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: shop }\nspec:\n  environments: [staging]\n  components:\n    - name: one\n      type: thing\n      inputs:\n        prefix: q\n        name: xyz\n        label: fine\n";
    std::fs::write(infra.join("variables.yml"), file).expect("write");

    let run = |args: &[&str]| support::cli::Run::new(dir.path()).args(args.iter().copied()).run();
    let validated = run(&["validate", "shop/infra/variables.yml"]);
    assert_eq!(validated.code, 0, "`startswith` and `endswith` are left to Terraform: {}", validated.stderr);

    let plan = run(&["--json", "plan", "--source-dir", "shop", "--env", "staging"]);
    assert_eq!(plan.code, 2, "the customer's input: {}{}", plan.stdout, plan.stderr);
    let json = plan.json();
    assert_eq!(json["status"], "invalid", "{json}");
    let placed: Vec<String> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{} {}",
                e["file"].as_str().unwrap_or_default(),
                e["line"],
                e["column"],
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            "infra/variables.yml:10:17 `spec.components[0].inputs.prefix` (in `staging`): The name must start with the prefix.",
            "infra/variables.yml:11:15 `spec.components[0].inputs.name` (in `staging`): The name must start with the prefix.",
            "infra/variables.yml:12:16 `spec.components[0].inputs.label` (in `staging`): The label must end with ok.",
        ],
        "{json}"
    );
    assert!(!plan.stdout.contains("variables.tf"), "never the module's file: {}", plan.stdout);

    // What `validate` evaluates is refused before Terraform, at the same place.
    let cidr = file.replace(
        "      type: thing\n      inputs:\n        prefix: q\n        name: xyz\n        label: fine\n",
        "      type: app-environment\n      inputs:\n        vpc_cidr: 10.0.0.1/16\n",
    );
    std::fs::write(infra.join("variables.yml"), cidr).expect("write");
    let plan = run(&["--json", "plan", "--source-dir", "shop", "--env", "staging"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let error = &plan.json()["errors"][0];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(10), Some(19)), "{error}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("no host bits set")), "{error}");
    assert!(!plan.stderr.contains("terraform plan"), "refused before Terraform: {}", plan.stderr);
}
