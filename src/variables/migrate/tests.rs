//! Migration of v1 files: the customer template's v2 form (snapshot), the same module
//! address and inputs once rendered, tags split by whether they vary, comments kept, and
//! every refusal.

use std::path::Path;

use serde_json::Value as Json;

use super::*;
use crate::config::Config;
use crate::identity::EnvName;
use crate::render::{ROOT_FILE, Rendered, TFVARS_FILE, render, render_v2};
use crate::store::Backend;
use crate::variables::document::{Schema, detect};

const TEMPLATE: &str = include_str!("../../../tests/fixtures/v1/variables.yml");

fn config() -> Config {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
    let text = format!("terraform:\n  modules_dir: {}\n  module: sandbox-app-environment\n", modules.display());
    Config::parse("infra-manager.yml", &text, Path::new("/")).expect("valid config")
}

fn shop() -> RepoId {
    RepoId::parse("acme/shop").expect("id")
}

fn run(text: &str, customer: Option<&RepoId>, type_name: Option<&str>) -> Result<Migrated, MigrateError> {
    let config = config();
    let rules = Rules::for_owner(&config, None);
    let request = Request {
        file: "infra/variables.yml",
        text,
        customer,
        rules: &rules,
        module: &config.terraform.module,
        type_name,
    };
    migrate(&request, || Catalog::load(&config))
}

fn local_backend(env: &str) -> Backend {
    let mut settings = serde_json::Map::new();
    settings.insert("path".into(), Json::String(format!("/state/acme/shop/{env}/terraform.tfstate")));
    Backend { kind: "local", settings }
}

fn json(rendered: &Rendered, name: &str) -> Json {
    let (_, text) = rendered.files.iter().find(|(p, _)| p == Path::new(name)).expect("file rendered");
    serde_json::from_str(text).expect("json")
}

#[test]
fn the_customer_template_migrates_with_its_comments() {
    let migrated = run(TEMPLATE, None, None).expect("migrates");
    assert_eq!(migrated.type_name, "app-environment-v1");
    assert!(matches!(detect("v.yml", &migrated.text), Ok(Schema::V2 { .. })));
    insta::assert_snapshot!(migrated.text);
}

#[test]
fn the_v2_form_renders_the_same_module_address_and_inputs_as_v1() {
    let config = config();
    let rules = Rules::for_owner(&config, None);
    let catalog = Catalog::load(&config).expect("catalog loads");
    let migrated = run(TEMPLATE, Some(&shop()), None).expect("migrates");
    let v1 = Variables::parse("v1.yml", TEMPLATE, &crate::identity::Owner::Customer(shop()), &rules).expect("valid v1");
    let root = yaml::parse("v2.yml", &migrated.text).expect("yaml");
    let v2 = Customer::parse("v2.yml", &root, &rules, &catalog).expect("valid v2");
    for env in ["staging", "production"] {
        let env = EnvName::parse(env).expect("env");
        let backend = local_backend(env.as_str());
        let old = render(&v1.resolve(&env).expect("env"), &config.module_dir(), &backend).expect("v1 renders");
        let new =
            render_v2(&v2, "acme/shop", &env, &catalog, &config.terraform.modules_dir, &backend).expect("v2 renders");
        let (old_root, new_root) = (json(&old, ROOT_FILE), json(&new, ROOT_FILE));
        let modules = |root: &Json| root["module"].as_object().expect("modules").keys().cloned().collect::<Vec<_>>();
        assert_eq!(modules(&old_root), ["app"], "{env}");
        assert_eq!(modules(&new_root), ["app"], "{env}: the same address, `module.app`");
        assert_eq!(old_root["terraform"], new_root["terraform"], "{env}: the same backend, so the same state");
        let (old_vars, new_vars) = (json(&old, TFVARS_FILE), json(&new, TFVARS_FILE));
        let inputs = &new_vars["components"]["app"];
        let old_inputs = old_vars.as_object().expect("object");
        for (name, value) in old_inputs {
            let given = if STANDARD.contains(&name.as_str()) { &new_vars[name] } else { &inputs[name] };
            assert_eq!(given, value, "{env}: input `{name}`");
        }
        assert_eq!(
            inputs.as_object().expect("inputs").len() + STANDARD.len(),
            old_inputs.len(),
            "{env}: no other input"
        );
        // The same module text: only where it is copied to (and so its `source`) differs.
        let module_files = |r: &Rendered, dir: &str| -> Vec<(String, String)> {
            r.files
                .iter()
                .filter_map(|(p, text)| Some((p.strip_prefix(dir).ok()?.display().to_string(), text.clone())))
                .collect()
        };
        let old_module = module_files(&old, "modules/sandbox-app-environment");
        assert!(!old_module.is_empty());
        assert_eq!(old_module, module_files(&new, "modules/app-environment-v1"), "{env}");
    }
}

#[test]
fn tags_the_same_everywhere_are_spec_tags_and_varying_ones_are_expanded_per_environment() {
    let text = "project_name: shop
cloud_provider: aws
environments:
  staging: { region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }
  production: { region: us-west-2, instance_type: t3.small, min_instances: 2, max_instances: 4 }
networking: { vpc_cidr: \"10.1.0.0/16\" }
tags:
  team: web
  name: \"{{ project_name }}-{{ environment }}\"
  owner: \"{{ customer }}\"
  \"cost center\": \"1 + 2\"
";
    let err = run(text, None, None).expect_err("`{{ customer }}` needs the customer");
    assert!(matches!(err, MigrateError::NeedsCustomer), "{err}");
    assert!(err.hint().contains("--customer"));
    let migrated = run(text, Some(&shop()), None).expect("migrates").text;
    let expected = "spec:
  environments: [staging, production]
  tags:
    team: web
    owner: acme/shop
    \"cost center\": \"1 + 2\"
";
    assert!(migrated.contains(expected), "{migrated}");
    assert!(migrated.contains("        availability_zones: 2\n"), "v1's default, spelt out: {migrated}");
    assert!(migrated.contains("          tags:\n            name: shop-staging\n"), "{migrated}");
    assert!(migrated.contains("          tags:\n            name: shop-production\n"), "{migrated}");
}

#[test]
fn comments_above_keys_and_at_line_ends_move_with_their_keys() {
    let text = "# Header.

# The project.
project_name: shop # inline
# Always aws.
cloud_provider: aws
environments:
  # Only staging.
  staging:
    region: us-east-1 # east
    instance_type: t3.micro
    min_instances: 1
    max_instances: 2
networking:
  vpc_cidr: \"10.0.0.0/16\"  # quoted \"#\" is not a comment
";
    let migrated = run(text, None, None).expect("migrates").text;
    assert!(migrated.starts_with("# Header.\n\napiVersion: infra-manager/v2\n"), "{migrated}");
    assert!(migrated.contains("# The project.\nmetadata:\n  name: shop # inline\n"), "{migrated}");
    assert!(!migrated.contains("aws"), "`cloud_provider` and its comment are gone: {migrated}");
    assert!(migrated.contains("        # Only staging.\n        staging:\n"), "{migrated}");
    assert!(migrated.contains("          region: us-east-1 # east\n"), "{migrated}");
    assert!(migrated.contains("        vpc_cidr: \"10.0.0.0/16\"  # quoted \"#\" is not a comment\n"), "{migrated}");
}

#[test]
fn trailing_comments_are_found_outside_quotes_only() {
    assert_eq!(trailing_comment("a: b # c"), Some((1, "# c")));
    assert_eq!(trailing_comment("a: \"b # c\""), None);
    assert_eq!(trailing_comment("a: 'b # c'   # d"), Some((3, "# d")));
    assert_eq!(trailing_comment("a: \"b\\\" # c\"\t# d"), Some((1, "# d")));
    assert_eq!(trailing_comment("a: b#c"), None);
    assert_eq!(trailing_comment("  # a whole line"), None);
}

#[test]
fn scalars_that_would_read_back_as_something_else_are_quoted() {
    for (value, written) in [
        ("t3.micro", "t3.micro"),
        ("us-east-1", "us-east-1"),
        ("10.0.0.0/16", "\"10.0.0.0/16\""),
        ("yes", "\"yes\""),
        ("Off", "\"Off\""),
        ("a b", "\"a b\""),
        ("", "\"\""),
        ("a:b", "\"a:b\""),
        ("line\nbreak", "\"line\\nbreak\""),
    ] {
        assert_eq!(scalar(value), written, "{value:?}");
    }
}

#[test]
fn an_invalid_v1_file_gives_its_own_errors_at_their_place() {
    let text = TEMPLATE.replace("max_instances: 4", "max_instances: 40");
    let Err(MigrateError::Invalid(diagnostics)) = run(&text, None, None) else { panic!("invalid") };
    let d = &diagnostics.0[0];
    assert_eq!((d.file.as_str(), d.line), ("infra/variables.yml", 20));
    assert!(d.message.contains("above your tier's limit"), "{}", d.message);
}

#[test]
fn the_type_is_the_one_of_the_v1_module_unless_chosen() {
    let err = run(TEMPLATE, None, Some("app-environment")).expect_err("renames");
    assert!(matches!(err, MigrateError::RenamesResources { .. }), "{err}");
    let err = run(TEMPLATE, None, Some("app-env")).expect_err("unknown");
    assert!(err.hint().contains("`app-environment-v1`"), "{}", err.hint());
    let migrated = run(TEMPLATE, None, Some("app-environment-v1")).expect("the v1 type by name");
    assert_eq!(migrated.type_name, "app-environment-v1");

    let config = config();
    let rules = Rules::for_owner(&config, None);
    let request = Request {
        file: "v.yml",
        text: TEMPLATE,
        customer: None,
        rules: &rules,
        module: "aws-app-environment",
        type_name: None,
    };
    let err = migrate(&request, || Catalog::load(&config)).expect_err("no type for the AWS module");
    assert!(matches!(err, MigrateError::NoType { .. }), "{err}");
    assert!(err.hint().contains("`module: aws-app-environment`"), "{}", err.hint());
}

#[test]
fn a_v2_file_may_use_a_type_without_component_names_once() {
    let config = config();
    let rules = Rules::for_owner(&config, None);
    let catalog = Catalog::load(&config).expect("catalog loads");
    let twice = run(TEMPLATE, None, None).expect("migrates").text.replace(
        "  components:\n",
        "  components:\n    - name: other\n      type: app-environment-v1\n      inputs: { region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 1, vpc_cidr: \"10.9.0.0/16\", availability_zones: 1 }\n",
    );
    let root = yaml::parse("v.yml", &twice).expect("yaml");
    let errors = Customer::parse("v.yml", &root, &rules, &catalog).expect_err("refused").0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("can be used once per file"), "{}", errors[0].message);
}

#[test]
fn the_v1_type_holds_a_migrated_file_to_its_tiers_v1_rules() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
    let text = format!(
        "terraform:\n  modules_dir: {}\n  module: sandbox-app-environment\ntiers:\n  small:\n    instance_types: [t3.micro]\n    max_instances: 2\n    regions: [us-east-1]\ncustomers:\n  - repo: acme/shop\n    tier: small\n    environments: [staging]\n",
        modules.display()
    );
    let config = Config::parse("infra-manager.yml", &text, Path::new("/")).expect("valid config");
    let rules = Rules::for_owner(&config, Some(&crate::identity::Owner::Customer(shop())));
    let v1 = "project_name: shop\ncloud_provider: aws\nenvironments:\n  staging: { region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }\nnetworking: { vpc_cidr: \"10.0.0.0/16\" }\n";
    let request = Request {
        file: "v.yml",
        text: v1,
        customer: Some(&shop()),
        rules: &rules,
        module: "sandbox-app-environment",
        type_name: None,
    };
    let migrated = migrate(&request, || Catalog::load(&config)).expect("migrates").text;
    let catalog = Catalog::load(&config).expect("catalog loads");
    for (from, to) in [
        ("region: us-east-1", "region: us-west-2"),
        ("instance_type: t3.micro", "instance_type: t3.small"),
        ("max_instances: 2", "max_instances: 3"),
    ] {
        let edited = migrated.replace(from, to);
        assert_ne!(edited, migrated, "{from}");
        let root = yaml::parse("v.yml", &edited).expect("yaml");
        let errors = Customer::parse("v.yml", &root, &rules, &catalog).expect_err(to).0;
        assert!(errors[0].hint.as_deref().is_some_and(|h| h.contains("tier `small`")), "{to}: {errors:?}");
    }
}

#[test]
fn a_rewrite_the_type_does_not_accept_is_refused_with_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("mini");
    std::fs::create_dir_all(&module).expect("mkdir");
    let variables: String = ["customer", "environment", "project_name", "region"]
        .iter()
        .map(|n| format!("variable \"{n}\" {{\n  type = string\n}}\n"))
        .collect();
    std::fs::write(module.join("variables.tf"), variables).expect("write");
    let text = format!(
        "terraform:\n  modules_dir: {}\n  module: mini\ncatalog:\n  mini:\n    module: mini\n",
        dir.path().display()
    );
    let config = Config::parse("infra-manager.yml", &text, Path::new("/")).expect("valid config");
    let rules = Rules::for_owner(&config, None);
    let request =
        Request { file: "v.yml", text: TEMPLATE, customer: None, rules: &rules, module: "mini", type_name: None };
    let err = migrate(&request, || Catalog::load(&config)).expect_err("the module lacks v1's inputs");
    let MigrateError::Unverified { name, problems } = &err else { panic!("{err}") };
    assert_eq!(name, "mini");
    assert!(problems.iter().any(|p| p.contains("unknown input `instance_type`")), "{problems:?}");
    assert!(err.hint().contains("infra-manager catalog"), "{}", err.hint());
}
