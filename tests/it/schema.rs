//! The JSON Schema `infra-manager schema` prints, checked by an independent JSON Schema
//! validator (`jsonschema`, no network resolution) against what `validate` decides.
//!
//! Every v1 file of the project — the v1 customer file, the fuzz seed and the whole hostile
//! corpus (`tests/hostile/variables/`) — and every v2 one — the customer template and the
//! good and bad fixtures (`tests/fixtures/v2/`) — is read as an editor would (YAML to JSON
//! with serde-saphyr, bounded like the product's reader) and validated against the schema.
//! The schema must never refuse a file `validate` accepts, and must refuse every file
//! `validate` refuses unless the reason is one JSON Schema cannot express: those files are
//! listed in [`BEYOND_SCHEMA`] (v1) and [`BEYOND_SCHEMA_V2`], each with its reason, and the
//! lists are kept exact (a listed file the schema now refuses, or `validate` accepts, fails
//! the test).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use infra_manager::catalog::Catalog;
use infra_manager::config::Config;
use infra_manager::identity::RepoId;
use infra_manager::source_file;
use infra_manager::variables::document::Document;
use infra_manager::variables::{Rules, Variables};
use infra_manager::yaml::MAX_FILE_BYTES;
use serde_json::{Value, json};

use crate::support::cli::{Run, Sandbox, repo_root, v1_variables};

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

/// Bad v2 fixtures `validate` refuses for a reason JSON Schema cannot express, and why.
const BEYOND_SCHEMA_V2: &[(&str, &str)] = &[
    (
        "component-name-too-long.yml",
        "the resource name joins `metadata.name`, the component name and each environment: a length of three values together",
    ),
    ("component-name-twice.yml", "a name unique across list items: JSON Schema's `uniqueItems` compares whole items"),
    (
        "override-environment-not-listed.yml",
        "an override's environment must be one `spec.environments` lists: a value checked against another value",
    ),
];

/// The schema the real binary prints in `cwd` (the sandbox configuration: the shipped
/// catalog, the default tier, every environment, unless `cwd`'s config says otherwise).
fn printed_schema(cwd: &Path, args: &[&str]) -> Value {
    let out = Run::new(cwd).args(["schema"]).args(args).run();
    assert_eq!(out.code, 0, "schema failed: {}", out.stderr);
    out.json()
}

/// The configuration the binary reads in `sb`, for `validate`'s library path.
fn config_of(sb: &Sandbox) -> Config {
    let text = std::fs::read_to_string(sb.path().join("infra-manager.yml")).expect("read config");
    Config::parse("infra-manager.yml", &text, sb.path()).expect("valid config")
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

/// What `validate` decides, through the library path it takes (see `tests/it/hostile_variables.rs`).
fn validate_accepts(path: &Path, config: &Config) -> bool {
    let Ok(text) = source_file::read(path, MAX_FILE_BYTES) else { return false };
    let customer = infra_manager::identity::Owner::Customer(RepoId::parse("local/validate").expect("valid"));
    Variables::parse(&path.display().to_string(), &text, &customer, &Rules::for_owner(config, None)).is_ok()
}

/// Every v1 file of the project.
fn corpus() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![v1_variables(), root.join("fuzz/corpus/variables/documented-example.yml")];
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

fn template() -> Value {
    as_json(&repo_root().join("customer-template/infra/variables.yml")).expect("the template is YAML")
}

/// The errors of `value`, each with where it is.
fn errors(schema: &jsonschema::Validator, value: &Value) -> Vec<String> {
    schema.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn the_schema_validates_the_v2_template_and_refuses_wrong_inputs() {
    let sb = Sandbox::new();
    let schema = validator(&printed_schema(sb.path(), &[]));
    let template = template();
    assert_eq!(template["apiVersion"], "infra-manager/v2", "the template is schema v2");
    let refused = errors(&schema, &template);
    assert!(refused.is_empty(), "the template is refused: {refused:?}");

    let web = "/spec/components/0";
    let mut wrong = template.clone();
    *wrong.pointer_mut(&format!("{web}/inputs/max_instances")).expect("max_instances") = json!("two");
    let refused = errors(&schema, &wrong);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("is not of type \"number\""), "{refused:?}");
    assert!(refused[0].ends_with(&format!("{web}/inputs/max_instances")), "{refused:?}");

    for (path, value) in [
        // A string for a number, and the other way round, in inputs and in overrides.
        ("/spec/components/0/inputs/min_instances", json!("1")),
        ("/spec/components/0/inputs/region", json!(12)),
        ("/spec/components/0/environments/production/max_instances", json!([4])),
        ("/spec/components/1/inputs/versioning", json!("yes")),
        ("/spec/components/1/inputs/retention_days", json!(null)),
        // Out of the module's range, and out of what the default tier allows.
        ("/spec/components/0/inputs/availability_zones", json!(7)),
        ("/spec/components/0/inputs/max_instances", json!(5)),
        ("/spec/components/0/environments/production/instance_type", json!("t3.large")),
        ("/spec/components/1/inputs/retention_days", json!(400)),
        // An unknown component type, a name that is no DNS label, a bad tag.
        ("/spec/components/1/type", json!("buckett")),
        ("/spec/components/1/name", json!("Uploads")),
        ("/spec/tags/aws:owner", json!("me")),
        ("/spec/tags/customer", json!("a\u{7}b")),
        ("/metadata/name", json!("customer_app")),
        ("/kind", json!("Tenant")),
        ("/apiVersion", json!("infra-manager/v3")),
    ] {
        let mut bad = template.clone();
        let (parent, key) = path.rsplit_once('/').expect("a path");
        bad.pointer_mut(parent).expect(parent)[key] = value.clone();
        assert!(!schema.is_valid(&bad), "{path} = {value} is accepted");
    }

    for (what, parent, key) in [
        ("an unknown input", "/spec/components/0/inputs", "instance_typ"),
        ("a standard input", "/spec/components/1/inputs", "customer"),
        ("an override for an environment the service does not offer", "/spec/components/0/environments", "prod"),
        ("an unknown component key", "/spec/components/1", "input"),
        ("an unknown spec key", "/spec", "component"),
    ] {
        let mut bad = template.clone();
        bad.pointer_mut(parent).expect(parent)[key] = json!({});
        assert!(!schema.is_valid(&bad), "{what} is accepted");
    }
}

#[test]
fn the_schema_still_checks_a_v1_file_as_strictly_as_before() {
    let sb = Sandbox::new();
    let schema = validator(&printed_schema(sb.path(), &[]));
    let v1 = as_json(&v1_variables()).expect("the v1 file is YAML");
    let refused = errors(&schema, &v1);
    assert!(refused.is_empty(), "the v1 file is refused: {refused:?}");

    let mut wrong = v1.clone();
    wrong["environments"]["staging"]["min_instances"] = Value::from("two");
    let refused = errors(&schema, &wrong);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("is not of type \"integer\""), "{refused:?}");
    assert!(refused[0].contains("/environments/staging/min_instances"), "{refused:?}");

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
        let mut bad = v1.clone();
        *bad.pointer_mut(path).expect(path) = value.clone();
        assert!(!schema.is_valid(&bad), "{path} = {value} is accepted");
    }
    let mut templated = v1;
    templated["tags"]["name"] = Value::from("{{project_name}}-{{ environment }} of {{\tcustomer }}");
    templated["environments"]["staging"]["region"] = Value::from("{{ environment }}");
    assert!(schema.is_valid(&templated), "allowed placeholders are refused");
}

#[test]
fn with_customer_the_schema_names_that_customers_tier_and_environments() {
    let sb = Sandbox::new();
    sb.add_config("tiers:\n  tiny:\n    instance_types: [t3.nano]\n    max_instances: 1\n    regions: [eu-west-1]\ncustomers:\n  - repo: acme/webshop\n    tier: tiny\n    environments: [staging]\n");
    let schema = printed_schema(sb.path(), &["--customer", "acme/webshop"]);
    let env = &schema["$defs"]["v1"]["properties"]["environments"];
    assert_eq!(env["propertyNames"]["enum"], json!(["staging"]));
    let fields = &env["additionalProperties"]["properties"];
    assert_eq!(fields["region"]["anyOf"][0]["enum"], json!(["eu-west-1"]));
    assert_eq!(fields["instance_type"]["anyOf"][0]["enum"], json!(["t3.nano"]));
    assert_eq!(fields["max_instances"]["maximum"], 1);
    let spec = &schema["$defs"]["v2"]["properties"]["spec"]["properties"];
    assert_eq!(spec["environments"]["items"]["enum"], json!(["staging"]));
    // The sandbox catalog limits only the default tier: `tiny` gets the module's own range.
    let app = &schema["$defs"]["inputs-app-environment"]["properties"];
    assert_eq!((&app["max_instances"]["minimum"], &app["max_instances"]["maximum"]), (&json!(1), &json!(20)));

    // Without `--customer`, in the plain sandbox (whose tiers are the built-in ones): the
    // default tier's limits.
    let plain = Sandbox::new();
    let default = printed_schema(plain.path(), &[]);
    let app = &default["$defs"]["inputs-app-environment"]["properties"];
    assert_eq!(app["max_instances"]["maximum"], 4, "the default tier's limit");
    assert_eq!(app["instance_type"]["enum"], json!(["t3.micro", "t3.small"]));
    assert_eq!(
        default["$defs"]["v2"]["properties"]["spec"]["properties"]["environments"]["items"]["enum"],
        json!(["staging", "production"])
    );

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
    let sb = Sandbox::new();
    let schema = validator(&printed_schema(sb.path(), &[]));
    let config = config_of(&sb);
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

/// What `validate` decides on a v2 fixture, through the library path it takes, with the
/// configuration and `--customer` of the sandbox the fixture is run in.
fn validate_accepts_v2(path: &Path, config: &Config, customer: Option<&RepoId>) -> bool {
    let Ok(text) = source_file::read(path, MAX_FILE_BYTES) else { return false };
    let given = customer.cloned().map(infra_manager::identity::Owner::Customer);
    let id = given
        .clone()
        .unwrap_or_else(|| infra_manager::identity::Owner::Customer(RepoId::parse("local/validate").expect("valid")));
    let rules = Rules::for_owner(config, given.as_ref());
    Document::parse(&path.display().to_string(), &text, &id, &rules, || Catalog::load(config)).is_ok()
}

/// Every v2 fixture, good and bad, with the extra arguments `EXPECT.tsv` runs it with.
fn v2_corpus() -> Vec<(PathBuf, Vec<String>)> {
    let root = repo_root().join("tests/fixtures/v2");
    let mut files = vec![(repo_root().join("customer-template/infra/variables.yml"), Vec::new())];
    let mut good: Vec<PathBuf> = std::fs::read_dir(root.join("good"))
        .expect("list good")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    good.sort();
    files.extend(good.into_iter().map(|p| (p, Vec::new())));
    let expect = std::fs::read_to_string(root.join("bad/EXPECT.tsv")).expect("read EXPECT.tsv");
    for line in expect.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let args = if fields[1] == "-" { Vec::new() } else { fields[1].split(' ').map(str::to_owned).collect() };
        files.push((root.join("bad").join(fields[0]), args));
    }
    files
}

#[test]
fn the_schema_agrees_with_validate_on_every_v2_file() {
    // The sandbox of `tests/it/tenants/v2.rs`: only `staging` is enabled for `acme/shop`.
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: acme/shop\n    environments: [staging]\n");
    let config = config_of(&sb);
    let beyond: BTreeMap<&str, &str> = BEYOND_SCHEMA_V2.iter().copied().collect();
    let mut schemas: BTreeMap<Vec<String>, jsonschema::Validator> = BTreeMap::new();
    let mut tally = Tally::default();
    let mut wrong = Vec::new();
    for (path, args) in v2_corpus() {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let schema = schemas.entry(args.clone()).or_insert_with(|| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            validator(&printed_schema(sb.path(), &args))
        });
        let customer = match args.as_slice() {
            [flag, id] if flag == "--customer" => Some(RepoId::parse(id).expect("customer")),
            [] => None,
            other => panic!("{name}: unexpected arguments {other:?}"),
        };
        let accepted = validate_accepts_v2(&path, &config, customer.as_ref());
        let labelled_good = path.parent().is_some_and(|p| !p.ends_with("bad"));
        assert_eq!(accepted, labelled_good, "{name}: `validate` disagrees with where the fixture is filed");
        let document = as_json(&path);
        let schema_accepts = document.as_ref().is_some_and(|d| schema.is_valid(d));
        match (accepted, schema_accepts, beyond.get(name.as_str())) {
            (true, true, None) => tally.both_accept += 1,
            (true, false, _) => {
                let refused = document.iter().flat_map(|d| errors(schema, d)).collect::<Vec<_>>();
                wrong.push(format!("{name}: `validate` accepts it, the schema refuses it: {refused:?}"));
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
        "schema vs validate over {tried} v2 files: {} agree ({} both accept, {} both refuse, {} not one readable YAML document), {} refused by validate for a reason JSON Schema cannot express, {} wrong",
        tally.both_accept + tally.both_refuse + tally.unreadable,
        tally.both_accept,
        tally.both_refuse,
        tally.unreadable,
        tally.beyond_schema,
        wrong.len(),
    );
    assert!(wrong.is_empty(), "{} files where the schema and `validate` disagree:\n{}", wrong.len(), wrong.join("\n"));
    assert!(tried >= 45, "the v2 corpus shrank to {tried} files");
}
