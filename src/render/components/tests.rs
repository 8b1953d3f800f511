//! The v2 root module and tfvars for the shipped catalog, and that customer values stay out
//! of `main.tf.json`.

use super::*;
use crate::config::Config;
use crate::identity::RepoId;
use crate::variables::Rules;
use crate::variables::document::Document;

const FILE: &str = "apiVersion: infra-manager/v2
kind: Customer
metadata: { name: shop }
spec:
  environments: [staging, production]
  tags: { team: web, note: '${file(\"/etc/passwd\")}' }
  components:
    - name: web
      type: app-environment
      inputs: { instance_type: t3.micro, tags: { tier: front } }
    - name: uploads
      type: bucket
      inputs: { retention_days: 30 }
      environments:
        production: { retention_days: 90 }
";

fn config() -> Config {
    let mut config = Config::defaults(Path::new("/unused"));
    config.terraform.modules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
    config
}

fn parsed(config: &Config) -> (Customer, Catalog) {
    let id = crate::identity::Owner::Customer(RepoId::parse("acme/shop").expect("id"));
    let rules = Rules::for_owner(config, None);
    let catalog = Catalog::load(config).expect("catalog");
    match Document::parse("v.yml", FILE, &id, &rules, || Ok(catalog.clone())).expect("valid") {
        Document::V2(customer) => (customer, catalog),
        Document::V1(_) => panic!("a v2 file"),
    }
}

fn local_backend() -> Backend {
    let mut settings = Map::new();
    settings.insert("path".into(), Value::String("/state/acme/shop/staging/terraform.tfstate".into()));
    Backend { kind: "local", settings }
}

fn rendered(env: &str) -> Rendered {
    let config = config();
    let (customer, catalog) = parsed(&config);
    let env = EnvName::parse(env).expect("env");
    render_v2(&customer, "acme/shop", &env, &catalog, &config.terraform.modules_dir, &local_backend()).expect("renders")
}

#[test]
fn root_module_and_tfvars_snapshot() {
    let rendered = rendered("staging");
    let names: Vec<String> = rendered.files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(&names[..2], [ROOT_FILE, TFVARS_FILE]);
    // Each type's module is copied once, under its type name.
    assert!(names.iter().any(|n| n == "modules/app-environment/main.tf"), "{names:?}");
    assert!(names.iter().any(|n| n == "modules/bucket/variables.tf"), "{names:?}");
    assert!(names[2..].iter().all(|n| n.starts_with("modules/app-environment/") || n.starts_with("modules/bucket/")));
    insta::assert_snapshot!("v2_root_module", rendered.files[0].1);
    insta::assert_snapshot!("v2_tfvars", rendered.files[1].1);
}

#[test]
fn environments_differ_only_in_the_tfvars() {
    let (staging, production) = (rendered("staging"), rendered("production"));
    assert_eq!(staging.files[0], production.files[0], "same root module");
    let tfvars: Value = serde_json::from_str(&production.files[1].1).expect("json");
    assert_eq!(tfvars["environment"], "production");
    assert_eq!(tfvars[COMPONENTS_VARIABLE]["uploads"]["retention_days"], 90);
}

#[test]
fn customer_values_only_reach_the_tfvars_data_file() {
    let rendered = rendered("staging");
    let mut root: Value = serde_json::from_str(&rendered.files[0].1).expect("json");
    root["terraform"] = Value::Null;
    let root = root.to_string();
    for value in ["passwd", "acme", "t3.micro", "front", "team"] {
        assert!(!root.contains(value), "{value} in {root}");
    }
    // spec.tags go under the component's own tags, verbatim: tfvars strings are data.
    let tfvars: Value = serde_json::from_str(&rendered.files[1].1).expect("json");
    let tags = &tfvars[COMPONENTS_VARIABLE]["web"]["tags"];
    assert_eq!((tags["team"].as_str(), tags["tier"].as_str()), (Some("web"), Some("front")));
    assert_eq!(tags["note"], "${file(\"/etc/passwd\")}");
}

#[test]
fn a_missing_module_is_named() {
    let config = config();
    let (customer, mut catalog) = parsed(&config);
    catalog.types[0].module = "catalog/nowhere".into();
    let env = EnvName::parse("staging").expect("env");
    let err =
        render_v2(&customer, "acme/shop", &env, &catalog, Path::new("/m"), &local_backend()).expect_err("missing");
    assert_eq!(err.to_string(), "module `catalog/nowhere` not found at `/m/catalog/nowhere`");
}

/// The environment's health check is the first component (file order) whose module
/// declares `health_check_url`: its outputs are passed through under the names the check
/// after an apply reads, beside their `<component>_` copies.
#[test]
fn the_first_component_with_a_health_check_is_the_environments() {
    let ty = |name: &str| ComponentType {
        name: name.to_owned(),
        module: format!("catalog/{name}"),
        description: String::new(),
        protect_destroy: false,
        inputs: Vec::new(),
    };
    fn call<'a>(name: &'a str, ty: &'a ComponentType, outputs: &[&str]) -> Call<'a> {
        Call { name, ty, inputs: BTreeMap::new(), outputs: outputs.iter().map(|o| (*o).to_owned()).collect() }
    }
    let (queue, app) = (ty("queue"), ty("app"));
    let calls = [
        call("jobs", &queue, &["queue_name"]),
        call("web", &app, &["health_check_url", "health_check_status"]),
        call("api", &app, &["health_check_url"]),
    ];
    let root = root_module(&calls, &local_backend());
    assert_eq!(root["output"]["health_check_url"]["value"], "${module.web.health_check_url}");
    assert_eq!(root["output"]["health_check_status"]["value"], "${module.web.health_check_status}");
    assert_eq!(root["output"]["api_health_check_url"]["value"], "${module.api.health_check_url}");
    let none = root_module(&calls[..1], &local_backend());
    assert!(none["output"].get("health_check_url").is_none());
}
