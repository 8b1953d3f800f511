//! The JSON Schema `infra-manager schema` prints, checked by an independent JSON Schema
//! validator (`jsonschema`, no network resolution) against what `validate` decides.
//!
//! Every v1 file of the project — the customer template, the fuzz seed and the whole hostile
//! corpus (`tests/hostile/variables/`) — is read as an editor would (YAML to JSON with
//! serde-saphyr, bounded like the product's reader) and validated against the schema. The
//! schema must never refuse a file `validate` accepts, and must refuse every file `validate`
//! refuses unless the reason is one JSON Schema cannot express: those files are listed in
//! [`BEYOND_SCHEMA`], each with its reason, and the list is kept exact (a listed file the
//! schema now refuses, or `validate` accepts, fails the test).

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use infra_manager::config::Config;
use infra_manager::identity::CustomerId;
use infra_manager::source_file;
use infra_manager::variables::{Rules, Variables};
use infra_manager::yaml::MAX_FILE_BYTES;
use serde_json::Value;
use support::cli::{Run, Sandbox, repo_root};

/// Hostile files `validate` refuses for a reason JSON Schema cannot express, and why.
const BEYOND_SCHEMA: &[(&str, &str)] = &[
    ("huge-65537-bytes.yml", "larger than the 64 KiB file limit: a size in bytes of the file, not of a value"),
    (
        "template-expands-outside-tier.yml",
        "a templated value is checked against the tier after expansion, per environment",
    ),
    (
        "template-fuel-99-environment-instance-type.yml",
        "99 placeholders exhaust the expansion's fuel: a budget of the template engine",
    ),
    (
        "template-fuel-99-environment-region.yml",
        "99 placeholders exhaust the expansion's fuel: a budget of the template engine",
    ),
    ("tier-min-above-max.yml", "`min_instances` above `max_instances`: JSON Schema cannot compare two values"),
];

/// The schema the real binary prints (default configuration: default tier, every environment).
fn printed_schema(cwd: &Path, args: &[&str]) -> Value {
    let out = Run::new(cwd).args(["schema"]).args(args).run();
    assert_eq!(out.code, 0, "schema failed: {}", out.stderr);
    out.json()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// The file as an editor's JSON Schema support sees it: YAML read into JSON data (bounded
/// like the product's reader, so a bomb is refused rather than expanded, and with its reading
/// of `!!binary` and null keys); `None` when it is not one readable YAML document (not UTF-8,
/// duplicate keys, bombs, too deep, several documents): an editor reports those before any
/// schema applies, and `validate` refuses them too.
fn as_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    // An empty document is null, as an editor reads it.
    serde_saphyr::from_str_with_options::<Option<Value>>(&text, infra_manager::yaml::read_options())
        .ok()
        .map(|d| d.unwrap_or(Value::Null))
}

/// What `validate` decides, through the library path it takes (see `tests/hostile_variables.rs`).
fn validate_accepts(path: &Path, config: &Config) -> bool {
    let Ok(text) = source_file::read(path, MAX_FILE_BYTES) else { return false };
    let customer = CustomerId::parse("local/validate").expect("valid");
    Variables::parse(&path.display().to_string(), &text, &customer, &Rules::for_customer(config, None)).is_ok()
}

/// Every v1 file of the project.
fn corpus() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![
        root.join("customer-template/infra/variables.yml"),
        root.join("fuzz/corpus/variables/documented-example.yml"),
    ];
    let hostile = root.join("tests/hostile/variables");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&hostile)
        .expect("list corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    names.sort();
    files.extend(names);
    files
}

#[test]
fn the_schema_validates_the_template_and_refuses_a_wrong_input_type() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let schema = validator(&printed_schema(cwd.path(), &[]));
    let template = as_json(&repo_root().join("customer-template/infra/variables.yml")).expect("template is YAML");
    let errors: Vec<String> = schema.iter_errors(&template).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "the template is refused: {errors:?}");

    let mut wrong = template.clone();
    wrong["environments"]["staging"]["min_instances"] = Value::from("two");
    let errors: Vec<String> = schema.iter_errors(&wrong).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("is not of type \"integer\""), "{errors:?}");
    assert!(errors[0].contains("/environments/staging/min_instances"), "{errors:?}");

    for (path, value) in [
        ("/tags/environment", Value::from("{{ secret }}")),
        ("/tags/environment", Value::from("${var.secret}")),
        ("/tags/environment", Value::from("%{ if true }x%{ endif }")),
        ("/tags/environment", Value::from("{% include 'x' %}")),
        ("/tags/environment", Value::from("a\u{200b}b")),
        ("/networking/vpc_cidr", Value::from("10.0.0.1/16")),
        ("/networking/vpc_cidr", Value::from("010.0.0.0/16")),
        ("/environments/staging/max_instances", Value::from(5)),
        ("/environments/staging/region", Value::from("eu-west-1")),
    ] {
        let mut bad = template.clone();
        *bad.pointer_mut(path).expect(path) = value.clone();
        assert!(!schema.is_valid(&bad), "{path} = {value} is accepted");
    }
    let mut templated = template;
    templated["tags"]["name"] = Value::from("{{project_name}}-{{ environment }} of {{\tcustomer }}");
    templated["environments"]["staging"]["region"] = Value::from("{{ environment }}");
    assert!(schema.is_valid(&templated), "allowed placeholders are refused");
}

#[test]
fn with_customer_the_schema_names_that_customers_tier_and_environments() {
    let sb = Sandbox::new();
    sb.add_config("tiers:\n  tiny:\n    instance_types: [t3.nano]\n    max_instances: 1\n    regions: [eu-west-1]\ncustomers:\n  - repo: acme/webshop\n    tier: tiny\n    environments: [staging]\n");
    let schema = printed_schema(sb.path(), &["--customer", "acme/webshop"]);
    let env = &schema["properties"]["environments"];
    assert_eq!(env["propertyNames"]["enum"], serde_json::json!(["staging"]));
    let fields = &env["additionalProperties"]["properties"];
    assert_eq!(fields["region"]["anyOf"][0]["enum"], serde_json::json!(["eu-west-1"]));
    assert_eq!(fields["instance_type"]["anyOf"][0]["enum"], serde_json::json!(["t3.nano"]));
    assert_eq!(fields["max_instances"]["maximum"], 1);

    let out = Run::new(sb.path()).args(["--json", "schema", "--customer", "evil/other"]).run();
    assert_eq!(out.code, 2, "an unregistered customer is refused: {}", out.stdout);
}

#[derive(Debug, Default)]
struct Tally {
    both_accept: usize,
    both_refuse: usize,
    unreadable: usize,
    beyond_schema: usize,
}

#[test]
fn the_schema_refuses_what_validate_refuses_whenever_json_schema_can_say_it() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let schema = validator(&printed_schema(cwd.path(), &[]));
    let config = Config::defaults(cwd.path());
    let beyond: BTreeMap<&str, &str> = BEYOND_SCHEMA.iter().copied().collect();
    let mut tally = Tally::default();
    let mut wrong = Vec::new();
    for path in corpus() {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let accepted = validate_accepts(&path, &config);
        let document = as_json(&path);
        let schema_accepts = document.as_ref().is_some_and(|d| schema.is_valid(d));
        let listed = beyond.get(name.as_str());
        match (accepted, schema_accepts, listed) {
            (true, true, None) => tally.both_accept += 1,
            (true, false, _) => {
                let errors: Vec<String> = document
                    .iter()
                    .flat_map(|d| schema.iter_errors(d).map(|e| e.to_string()).collect::<Vec<_>>())
                    .collect();
                wrong.push(format!("{name}: `validate` accepts it, the schema refuses it: {errors:?}"));
            }
            (false, false, None) if document.is_none() => tally.unreadable += 1,
            (false, false, None) => tally.both_refuse += 1,
            (false, true, Some(_)) => tally.beyond_schema += 1,
            (false, true, None) => wrong.push(format!("{name}: `validate` refuses it, the schema accepts it")),
            (_, _, Some(reason)) => {
                wrong.push(format!("{name} is listed as beyond the schema ({reason}) but both now agree"))
            }
        }
    }
    let tried = tally.both_accept + tally.both_refuse + tally.unreadable + tally.beyond_schema + wrong.len();
    let _ = writeln!(
        std::io::stderr(),
        "schema vs validate over {tried} v1 files: {} agree ({} both accept, {} both refuse, {} not one readable YAML document), {} refused by validate for a reason JSON Schema cannot express, {} wrong",
        tally.both_accept + tally.both_refuse + tally.unreadable,
        tally.both_accept,
        tally.both_refuse,
        tally.unreadable,
        tally.beyond_schema,
        wrong.len(),
    );
    assert!(wrong.is_empty(), "{} files where the schema and `validate` disagree:\n{}", wrong.len(), wrong.join("\n"));
    assert!(tried >= 150, "the corpus shrank to {tried} files");
}
