//! The diff of two parsed configurations: first apply, inputs per component and
//! environment, components added, removed and retyped, sensitive inputs, v1 files.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::config::Config;
use crate::identity::{Owner, RepoId};
use crate::variables::Rules;
use crate::variables::document::Document;

fn config() -> Config {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
    Config::parse("infra-manager.yml", &format!("terraform:\n  modules_dir: {}\n", modules.display()), Path::new("/"))
        .expect("valid config")
}

fn owner() -> Owner {
    Owner::Customer(RepoId::parse("acme/shop").expect("id"))
}

fn env(name: &str) -> EnvName {
    EnvName::parse(name).expect("env")
}

/// `text` (a valid v2 file) in `environment`, read with `catalog`.
fn v2_with(text: &str, environment: &str, catalog: &Catalog) -> Configuration {
    let config = config();
    let rules = Rules::for_owner(&config, None);
    match Document::parse("v.yml", text, &owner(), &rules, || Ok(catalog.clone())) {
        Ok(Document::V2(customer)) => Configuration::v2(&customer, catalog, &env(environment)),
        other => panic!("not a valid v2 file: {other:?}"),
    }
}

fn v2(text: &str, environment: &str) -> Configuration {
    v2_with(text, environment, &Catalog::load(&config()).expect("catalog"))
}

const FILE: &str = "apiVersion: infra-manager/v2
kind: Customer
metadata: { name: shop }
spec:
  environments: [staging, production]
  tags: { team: web }
  components:
    - name: web
      type: app-environment
      inputs: { instance_type: t3.micro, max_instances: 2 }
      environments:
        production: { max_instances: 4 }
    - name: uploads
      type: bucket
      inputs: { retention_days: 30 }
";

fn change(input: &str, old: Value, new: Value) -> InputChange {
    InputChange { input: input.into(), old: Some(old), new: Some(new), sensitive: false }
}

fn named(name: &str, type_name: &str) -> ComponentRef {
    ComponentRef { name: name.into(), type_name: Some(type_name.into()) }
}

#[test]
fn a_first_apply_says_every_component_is_new_in_file_order() {
    let d = diff(None, &v2(FILE, "staging"));
    assert!(d.first_apply);
    assert_eq!(d.added, [named("web", "app-environment"), named("uploads", "bucket")]);
    assert!(d.removed.is_empty() && d.changed.is_empty() && d.project.is_none());
}

#[test]
fn the_same_file_has_no_changes() {
    let now = v2(FILE, "production");
    let d = diff(Some(&now), &now);
    assert!(d.is_empty() && !d.first_apply, "{d:?}");
}

/// An override changes one environment only; an input of `inputs` changes every one.
#[test]
fn each_changed_input_is_listed_per_component_and_environment_old_then_new() {
    let edited = FILE.replace("production: { max_instances: 4 }", "production: { max_instances: 3 }");
    let production = diff(Some(&v2(FILE, "production")), &v2(&edited, "production"));
    assert_eq!(
        production.changed,
        [ComponentChange {
            component: named("web", "app-environment"),
            inputs: vec![change("max_instances", json!(4), json!(3))]
        }]
    );
    assert!(diff(Some(&v2(FILE, "staging")), &v2(&edited, "staging")).is_empty(), "staging keeps its 2");

    let both = FILE.replace("retention_days: 30", "retention_days: 60, storage_class: STANDARD_IA");
    let staging = diff(Some(&v2(FILE, "staging")), &v2(&both, "staging"));
    assert_eq!(
        staging.changed[0].inputs,
        [
            change("retention_days", json!(30), json!(60)),
            change("storage_class", json!("STANDARD"), json!("STANDARD_IA"))
        ],
        "the module's default is the old value"
    );
}

/// `spec.tags` reaches every component's `tags`: a change there is a change of each.
#[test]
fn a_changed_spec_tag_is_a_change_of_every_component_s_tags() {
    let retagged = FILE.replace("team: web", "team: shop");
    let d = diff(Some(&v2(FILE, "staging")), &v2(&retagged, "staging"));
    let names: Vec<(&str, &str)> = d
        .changed
        .iter()
        .flat_map(|c| c.inputs.iter().map(move |i| (c.component.name.as_str(), i.input.as_str())))
        .collect();
    assert_eq!(names, [("web", "tags"), ("uploads", "tags")]);
    assert_eq!(d.changed[0].inputs[0].new, Some(json!({"team": "shop"})));
}

#[test]
fn components_added_removed_and_retyped_are_named_with_their_types() {
    let previous = v2(FILE, "staging");
    let added = format!("{FILE}    - {{ name: jobs, type: queue }}\n");
    let d = diff(Some(&previous), &v2(&added, "staging"));
    assert_eq!((d.added.as_slice(), d.removed.as_slice()), ([named("jobs", "queue")].as_slice(), [].as_slice()));

    let removed = FILE.replace("    - name: uploads\n      type: bucket\n      inputs: { retention_days: 30 }\n", "");
    let d = diff(Some(&previous), &v2(&removed, "staging"));
    assert_eq!(d.removed, [named("uploads", "bucket")]);
    assert!(d.added.is_empty() && d.changed.is_empty());

    // Another module at the same address: all of it is destroyed and created again.
    let retyped = FILE.replace("type: bucket\n      inputs: { retention_days: 30 }", "type: queue");
    let d = diff(Some(&previous), &v2(&retyped, "staging"));
    assert_eq!((d.added, d.removed), (vec![named("uploads", "queue")], vec![named("uploads", "bucket")]));
    assert!(d.changed.is_empty(), "a retyped component's inputs are not compared");
}

#[test]
fn a_renamed_project_is_said_once() {
    let d = diff(Some(&v2(FILE, "staging")), &v2(&FILE.replace("name: shop", "name: store"), "staging"));
    assert_eq!(d.project, Some(Renamed { old: "shop".into(), new: "store".into() }));
}

/// An input the module marks `sensitive` says it changed, never its values, in any sink.
#[test]
fn a_sensitive_input_changes_without_its_values() {
    let mut catalog = Catalog::load(&config()).expect("catalog");
    let bucket = catalog.types.iter_mut().find(|t| t.name == "bucket").expect("bucket");
    bucket.inputs.iter_mut().find(|i| i.input.name == "retention_days").expect("input").input.sensitive = true;
    let edited = FILE.replace("retention_days: 30", "retention_days: 31");
    let d = diff(Some(&v2_with(FILE, "staging", &catalog)), &v2_with(&edited, "staging", &catalog));
    assert_eq!(
        d.changed[0].inputs,
        [InputChange { input: "retention_days".into(), old: None, new: None, sensitive: true }]
    );
    let json = serde_json::to_string(&d).expect("json");
    assert!(!json.contains("30") && !json.contains("31"), "{json}");
    assert!(json.contains(r#"{"input":"retention_days","sensitive":true}"#), "{json}");
}

/// A v1 file is one component, `app`, of no catalog type; its standard names are not inputs.
#[test]
fn a_v1_file_is_the_component_app() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/variables.yml"))
        .expect("fixture");
    let config = config();
    let rules = Rules::for_owner(&config, None);
    let parse = |text: &str| Variables::parse("v.yml", text, &owner(), &rules).expect("valid v1");
    let before = Configuration::v1(&parse(&text), &env("staging")).expect("staging");
    assert_eq!(before.components.len(), 1);
    assert_eq!(before.components[0].name, "app");
    let keys: Vec<&str> = before.components[0].inputs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["availability_zones", "instance_type", "max_instances", "min_instances", "region", "tags", "vpc_cidr"]
    );
    let edited = text.replace("min_instances: 1, max_instances: 2", "min_instances: 1, max_instances: 3");
    let after = Configuration::v1(&parse(&edited), &env("staging")).expect("staging");
    let d = diff(Some(&before), &after);
    assert_eq!(
        d.changed,
        [ComponentChange {
            component: ComponentRef { name: "app".into(), type_name: None },
            inputs: vec![change("max_instances", json!(2), json!(3))]
        }]
    );
    assert!(d.added.is_empty() && d.removed.is_empty());
}
