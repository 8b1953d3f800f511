//! Schema v2 through the tenant entry point: resolution per environment, the header, and
//! every kind of component problem reported in one run, each at its `line:column`.

use std::path::Path;

use super::*;
use crate::config::Config;
use crate::identity::RepoId;
use crate::variables::document::{Document, Schema, detect};

fn config() -> Config {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
    Config::parse("infra-manager.yml", &format!("terraform:\n  modules_dir: {}\n", modules.display()), Path::new("/"))
        .expect("valid config")
}

fn parse(text: &str) -> Result<Document, Vec<String>> {
    let config = config();
    let rules = Rules::for_owner(&config, None);
    let id = crate::identity::Owner::Customer(RepoId::parse("acme/shop").expect("id"));
    Document::parse("v.yml", text, &id, &rules, || Catalog::load(&config))
        .map_err(|d| d.0.iter().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).collect())
}

const GOOD: &str = "apiVersion: infra-manager/v2
kind: Customer
metadata:
  name: shop
  displayName: The Shop
spec:
  environments: [staging, production]
  tags: { team: web }
  components:
    - name: web
      type: app-environment
      inputs: { instance_type: t3.small }
      environments:
        production: { max_instances: 4 }
    - name: uploads
      type: bucket
      inputs: { retention_days: 30 }
";

#[test]
fn a_good_file_resolves_defaults_then_inputs_then_overrides_per_environment() {
    let Ok(Document::V2(customer)) = parse(GOOD) else { panic!("valid v2: {:?}", parse(GOOD)) };
    assert_eq!(customer.name, "shop");
    assert_eq!(customer.display_name.as_deref(), Some("The Shop"));
    let web = customer.component("web").expect("web");
    let (staging, production) = (&web.environments[0], &web.environments[1]);
    assert_eq!(staging.0.as_str(), "staging");
    assert_eq!(staging.1["instance_type"], serde_json::json!("t3.small"));
    assert_eq!(staging.1["max_instances"], serde_json::json!(2), "the module's default");
    assert_eq!(production.1["max_instances"], serde_json::json!(4), "the override");
    assert!(!staging.1.contains_key("customer"), "standard names are infra-manager's");
    assert_eq!(customer.component("uploads").expect("uploads").environments[0].1["retention_days"], 30);
}

#[test]
fn a_file_without_api_version_is_v1_and_unknown_headers_are_errors_at_their_place() {
    assert_eq!(detect("v.yml", "project_name: x\n").expect("v1"), Schema::V1);
    assert_eq!(detect("v.yml", ": : :\n").expect("left to v1"), Schema::V1);
    assert_eq!(
        detect("v.yml", "apiVersion: infra-manager/v2\nkind: Customer\n").expect("v2"),
        Schema::V2 { api_version: Pos { line: 1, column: 13 } }
    );
    let errors = parse("apiVersion: infra-manager/v3\nkind: Kustomer\n").expect_err("unknown");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("1:13: unknown `apiVersion` `infra-manager/v3`; this build accepts `infra-manager/v2`")
    );
    assert!(errors[1].starts_with("2:7: unknown `kind` `Kustomer`"));
}

/// Issue 14: `kind: Tenant` is the manager repository's; a customer repository can't use it.
#[test]
fn a_customer_file_may_not_be_a_tenant() {
    let errors = parse(&GOOD.replace("kind: Customer", "kind: Tenant")).expect_err("refused");
    assert_eq!(errors, ["2:7: `kind: Tenant` is not allowed here"]);
}

#[test]
fn every_component_problem_is_reported_in_one_run() {
    let text = "apiVersion: infra-manager/v2
kind: Customer
metadata: { name: shop }
spec:
  environments: [staging]
  components:
    - name: web
      type: app-enviroment
    - name: db
      type: database
      inputs: { storage_gb: 5000, engine: oracle, multi_az: \"yes\", customer: x, sise: 1 }
      environments:
        prod: { storage_gb: 30 }
    - name: db
      type: bucket
";
    let errors = parse(text).expect_err("invalid");
    let expected = [
        "8:13: unknown component type `app-enviroment`",
        "11:29: `spec.components[1].inputs.storage_gb` is 5000, above the maximum 100",
        "11:43: `spec.components[1].inputs.engine` is \"oracle\", not an allowed value",
        "11:61: `spec.components[1].inputs.multi_az` must be `bool`, found a string",
        "11:68: `spec.components[1].inputs.customer` is a name infra-manager sets",
        "11:81: unknown input `sise` for component type `database`",
        "13:9: overrides for environment `prod`, which `spec.environments` does not list",
        "14:13: component name `db` is used twice",
    ];
    assert_eq!(errors, expected);
}

#[test]
fn the_v1_file_parses_as_v1_and_the_v2_template_as_v2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let v1 = std::fs::read_to_string(root.join("tests/fixtures/v1/variables.yml")).expect("read the v1 file");
    assert!(matches!(parse(&v1), Ok(Document::V1(_))), "{:?}", parse(&v1));
    let template =
        std::fs::read_to_string(root.join("customer-template/infra/variables.yml")).expect("read the template");
    assert!(matches!(parse(&template), Ok(Document::V2(_))), "{:?}", parse(&template));
}

#[test]
fn a_required_input_must_be_set_in_inputs_or_in_every_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("thing");
    std::fs::create_dir_all(&module).expect("mkdir");
    let standard: String =
        crate::catalog::STANDARD_INPUTS.iter().map(|n| format!("variable \"{n}\" {{\n  type = string\n}}\n")).collect();
    std::fs::write(module.join("variables.tf"), format!("{standard}variable \"size\" {{\n  type = number\n}}\n"))
        .expect("write");
    let config = Config::parse(
        "infra-manager.yml",
        &format!("terraform:\n  modules_dir: {}\ncatalog:\n  thing:\n    module: thing\n", dir.path().display()),
        Path::new("/"),
    )
    .expect("valid config");
    let rules = Rules::for_owner(&config, None);
    let catalog = Catalog::load(&config).expect("catalog");
    let head = "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: shop }\nspec:\n  environments: [staging, production]\n  components:\n";
    let check = |components: &str| {
        let root = crate::yaml::parse("v.yml", &format!("{head}{components}")).expect("yaml");
        Customer::parse("v.yml", &root, &rules, &catalog)
            .map_err(|d| d.0.iter().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).collect::<Vec<_>>())
    };
    let errors = check("    - name: a\n      type: thing\n      environments:\n        staging: { size: 1 }\n")
        .expect_err("production lacks size");
    assert_eq!(
        errors,
        ["7:7: `spec.components[0]` (type `thing`) does not set required input `size` (for production)"]
    );
    let ok = check("    - name: a\n      type: thing\n      inputs: { size: 2 }\n      environments:\n        staging: { size: 1 }\n")
        .expect("set in inputs");
    let sizes: Vec<&serde_json::Value> = ok.components[0].environments.iter().map(|(_, v)| &v["size"]).collect();
    assert_eq!(sizes, [&serde_json::json!(1), &serde_json::json!(2)]);
}

/// Issue 21, item 14: a boolean input written as a YAML 1.1 word is refused with a hint, as
/// the JSON Schema refuses it in the editor; `true` and `false` are booleans.
#[test]
fn yaml11_words_for_a_boolean_input_are_refused_with_a_hint() {
    let text = "apiVersion: infra-manager/v2
kind: Customer
metadata: { name: shop }
spec:
  environments: [staging]
  components:
    - name: files
      type: bucket
      inputs: { versioning: yes }
      allow_destroy: on
    - name: jobs
      type: queue
      inputs: { fifo: Off }
    - name: more
      type: queue
      inputs: { fifo: true }
";
    let errors = parse(text).expect_err("YAML 1.1 booleans");
    assert_eq!(
        errors,
        [
            "9:29: `spec.components[0].inputs.versioning` must be `true` or `false`, found `yes`",
            "10:22: `spec.components[0].allow_destroy` must be `true` or `false`, found `on`",
            "13:23: `spec.components[1].inputs.fifo` must be `true` or `false`, found `Off`",
        ]
    );
}

/// Issue 21, item 13: what the module's validations refuse, `validate` refuses at the value's
/// line with the module's message: a CIDR that is not IPv4, host bits set, a fractional count,
/// `min_instances` above `max_instances` (a validation naming two inputs: at both lines).
#[test]
fn the_modules_validations_refuse_each_bad_value_at_its_line() {
    let text = "apiVersion: infra-manager/v2
kind: Customer
metadata: { name: shop }
spec:
  environments: [staging, production]
  components:
    - name: web
      type: app-environment
      inputs:
        vpc_cidr: 10.0.0.1/16
        min_instances: 1.5
      environments:
        production: { min_instances: 3, max_instances: 2 }
    - name: api
      type: app-environment
      inputs: { vpc_cidr: 999.0.0.0/16, availability_zones: 2.5 }
    - name: old
      type: app-environment-v1
      inputs: { region: us-east-1, instance_type: t3.micro, vpc_cidr: 10.1.0.0/16, availability_zones: 2, min_instances: 2, max_instances: 1 }
";
    let errors = parse(text).expect_err("the module refuses them");
    let c0 = "spec.components[0]";
    assert_eq!(
        errors,
        [
            format!("10:19: `{c0}.inputs.vpc_cidr` is \"10.0.0.1/16\": The vpc_cidr must be a network address, with no host bits set: such as \"10.0.0.0/16\", not \"10.0.0.1/16\"."),
            format!("11:24: `{c0}.inputs.min_instances` is 1.5: The min_instances must be a whole number."),
            format!("13:38: `{c0}.environments.production.min_instances` is 3 and `{c0}.environments.production.max_instances` is 2: The max_instances must be at least min_instances."),
            format!("13:56: `{c0}.environments.production.max_instances` is 2 and `{c0}.environments.production.min_instances` is 3: The max_instances must be at least min_instances."),
            "16:27: `spec.components[1].inputs.vpc_cidr` is \"999.0.0.0/16\": The vpc_cidr must be an IPv4 CIDR block from /16 to /28, such as \"10.0.0.0/16\".".into(),
            "16:61: `spec.components[1].inputs.availability_zones` is 2.5: The availability_zones must be a whole number.".into(),
            "19:122: `spec.components[2].inputs.min_instances` is 2 and `spec.components[2].inputs.max_instances` is 1: The max_instances must be at least min_instances.".into(),
            "19:140: `spec.components[2].inputs.max_instances` is 1 and `spec.components[2].inputs.min_instances` is 2: The max_instances must be at least min_instances.".into(),
        ]
    );
}
