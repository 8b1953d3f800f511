//! Table-driven tests of every validation rule, each with its exact `line:column`.

use super::*;
use crate::config::Config;
use std::path::Path;

const VALID: &str = r#"project_name: customer-app-name
cloud_provider: aws
environments:
  staging:    { region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }
  production: { region: us-west-2, instance_type: t3.small, min_instances: 2, max_instances: 4 }
networking:
  vpc_cidr: "10.0.0.0/16"
  availability_zones: 2
tags:
  customer: customer-name
  project: customer-project
  environment: "{{ environment }}"
"#;

fn config() -> Config {
    Config::defaults(Path::new("."), true)
}

fn customer() -> CustomerId {
    CustomerId::parse("acme/webshop").expect("valid")
}

fn check(text: &str) -> Result<Variables, Diagnostics> {
    let config = config();
    Variables::parse(PATH, text, &customer(), &Rules::for_customer(&config, None))
}

/// `line:column message` of each diagnostic.
fn problems(text: &str) -> Vec<String> {
    check(text)
        .expect_err("should be invalid")
        .0
        .into_iter()
        .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
        .collect()
}

#[test]
fn the_documented_example_is_valid_and_resolves_per_environment() {
    let vars = check(VALID).expect("valid");
    let staging = vars.resolve(&EnvName::parse("staging").expect("env")).expect("resolves");
    assert_eq!(staging.region, "us-east-1");
    assert_eq!(staging.tags["environment"], "staging");
    assert_eq!(staging.customer, "acme/webshop");
    let production = vars.resolve(&EnvName::parse("production").expect("env")).expect("resolves");
    assert_eq!(production.tags["environment"], "production");
    assert_eq!(production.max_instances, 4);
}

#[test]
fn resolving_an_environment_the_file_does_not_define_is_an_error() {
    let text = VALID.replace(
        "  production: { region: us-west-2, instance_type: t3.small, min_instances: 2, max_instances: 4 }\n",
        "",
    );
    let vars = check(&text).expect("valid");
    let err = vars.resolve(&EnvName::parse("production").expect("env")).expect_err("missing");
    assert!(err.to_string().contains("does not define environment `production`"), "{err}");
}

/// Each rule: a replacement applied to the valid file, and the one diagnostic it must give.
#[test]
fn each_rule_reports_its_exact_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "project_name: customer-app-name",
            "project_name: Customer_App",
            "1:15 `project_name` `Customer_App` is not a DNS label",
        ),
        (
            "project_name: customer-app-name",
            "project_name: a234567890123456789012345678901234567890123456789012345678901234",
            "1:15 `project_name` is 64 characters, more than 63",
        ),
        ("project_name: customer-app-name", "project_name: app-", "1:15 `project_name` `app-` is not a DNS label"),
        (
            "project_name: customer-app-name",
            "project_name: 12",
            "1:15 `project_name` must be a string, found an integer `12`",
        ),
        ("cloud_provider: aws", "cloud_provider: gcp", "2:17 cloud provider `gcp` is not supported"),
        ("  staging:    {", "  qa:    {", "4:3 unknown environment `qa`"),
        (
            "min_instances: 1, max_instances: 2",
            "min_instances: 3, max_instances: 2",
            "4:94 `environments.staging.max_instances` is 2, less than `min_instances` (3)",
        ),
        (
            "min_instances: 1, max_instances: 2",
            "min_instances: -1, max_instances: 2",
            "4:76 `environments.staging.min_instances` is -1, it must be at least 0",
        ),
        (
            "min_instances: 2, max_instances: 4",
            "min_instances: 2, max_instances: 10",
            "5:94 `environments.production.max_instances` is 10, above your tier's limit of 4",
        ),
        (
            "instance_type: t3.small",
            "instance_type: m5.24xlarge",
            "5:51 `environments.production.instance_type` `m5.24xlarge` is not allowed by tier `standard`",
        ),
        (
            "region: us-west-2",
            "region: eu-west-1",
            "5:25 `environments.production.region` `eu-west-1` is not allowed by tier `standard`",
        ),
        (
            "min_instances: 1, max_instances: 2",
            "min_instances: one, max_instances: 2",
            "4:76 `environments.staging.min_instances` must be an integer, found a string",
        ),
        (
            "\"10.0.0.0/16\"",
            "\"10.0.0.0/8\"",
            "7:13 `networking.vpc_cidr` `10.0.0.0/8` has prefix /8; AWS VPCs take /16 to /28",
        ),
        (
            "\"10.0.0.0/16\"",
            "\"10.0.0.0/30\"",
            "7:13 `networking.vpc_cidr` `10.0.0.0/30` has prefix /30; AWS VPCs take /16 to /28",
        ),
        ("\"10.0.0.0/16\"", "\"10.0.1.0/16\"", "7:13 `networking.vpc_cidr` `10.0.1.0/16` has host bits set"),
        ("\"10.0.0.0/16\"", "\"10.0.0/16\"", "7:13 `networking.vpc_cidr` `10.0.0/16` is not a valid IPv4 CIDR block"),
        (
            "\"10.0.0.0/16\"",
            "\"256.0.0.0/16\"",
            "7:13 `networking.vpc_cidr` `256.0.0.0/16` is not a valid IPv4 CIDR block",
        ),
        (
            "availability_zones: 2",
            "availability_zones: 7",
            "8:23 `networking.availability_zones` is 7, it must be from 1 to 6",
        ),
        (
            "availability_zones: 2",
            "availability_zones: 0",
            "8:23 `networking.availability_zones` is 0, it must be from 1 to 6",
        ),
        ("  customer: customer-name", "  aws:owner: me", "10:3 tag key `aws:owner` uses the reserved `aws:` prefix"),
        (
            "  customer: customer-name",
            "  \"bad#key\": me",
            "10:3 tag key `bad#key` has characters AWS does not allow in tags",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a|b\"",
            "10:13 tag `customer` value `a|b` has characters AWS does not allow in tags",
        ),
        (
            "\"{{ environment }}\"",
            "\"{{ secret }}\"",
            "12:16 `tags.environment`: unknown template expression `{{ secret }}`",
        ),
        (
            "\"{{ environment }}\"",
            "\"{% include 'x' %}\"",
            "12:16 `tags.environment`: template tag `{%` is not allowed",
        ),
        (
            "\"{{ environment }}\"",
            "\"{% for i in range(999999999) %}x{% endfor %}\"",
            "12:16 `tags.environment`: template tag `{%` is not allowed",
        ),
        ("networking:", "networkin:", "6:1 unknown key `networkin`"),
    ];
    for (from, to, expected) in cases {
        assert!(VALID.contains(from), "fixture lacks {from}");
        let text = VALID.replacen(from, to, 1);
        let found = problems(&text);
        assert!(found.iter().any(|p| p == expected), "{to}: expected `{expected}`, got {found:#?}");
    }
}

#[test]
fn small_vpcs_must_hold_one_subnet_per_zone() {
    let text = VALID.replace("\"10.0.0.0/16\"", "\"10.0.0.0/28\"");
    assert_eq!(
        problems(&text),
        ["8:23 `networking.availability_zones` is 2, but `10.0.0.0/28` holds only 1 subnet of /28 or larger"]
    );
    let text = VALID.replace("\"10.0.0.0/16\"", "\"10.0.0.0/27\"");
    check(&text).expect("a /27 holds two /28 subnets");
}

#[test]
fn a_long_tag_value_is_refused() {
    let text = VALID.replace("customer: customer-name", &format!("customer: {}", "x".repeat(257)));
    assert_eq!(problems(&text), ["10:13 tag `customer` value is longer than 256 characters"]);
}

#[test]
fn unknown_keys_get_did_you_mean_hints() {
    let text = VALID.replace("project_name:", "projct_name:").replace("min_instances: 1,", "min_instance: 1,");
    let err = check(&text).expect_err("invalid");
    let hints: Vec<(String, Option<String>)> = err.0.iter().map(|d| (d.message.clone(), d.hint.clone())).collect();
    assert!(
        hints.contains(&("unknown key `projct_name`".into(), Some("did you mean `project_name`?".into()))),
        "{hints:#?}"
    );
    assert!(
        hints.contains(&(
            "unknown key `min_instance` in `environments.staging`".into(),
            Some("did you mean `min_instances`?".into())
        )),
        "{hints:#?}"
    );
    let env = VALID.replace("  staging:", "  stagin:");
    let err = check(&env).expect_err("invalid");
    assert_eq!(err.0[0].hint.as_deref(), Some("did you mean `staging`?"));
}

#[test]
fn wrong_types_name_the_expected_type() {
    let text = VALID
        .replace("networking:\n  vpc_cidr: \"10.0.0.0/16\"\n  availability_zones: 2\n", "networking: [10.0.0.0/16]\n");
    let err = check(&text).expect_err("invalid");
    assert_eq!(err.0[0].message, "`networking` must be a mapping, found a list");
    assert_eq!(err.0[0].hint.as_deref(), Some("write `networking` as a mapping"));
    assert_eq!((err.0[0].line, err.0[0].column), (6, 13));
}

#[test]
fn five_different_errors_are_all_reported_in_one_run() {
    let text = r#"project_name: Bad_Name
cloud_provider: aws
colour: blue
environments:
  staging: { region: us-east-1, instance_type: t3.micro, min_instances: 3, max_instances: 2 }
networking:
  vpc_cidr: "10.0.0.0/8"
  availability_zones: 9
"#;
    assert_eq!(
        problems(text),
        [
            "1:15 `project_name` `Bad_Name` is not a DNS label",
            "3:1 unknown key `colour`",
            "5:91 `environments.staging.max_instances` is 2, less than `min_instances` (3)",
            "7:13 `networking.vpc_cidr` `10.0.0.0/8` has prefix /8; AWS VPCs take /16 to /28",
            "8:23 `networking.availability_zones` is 9, it must be from 1 to 6",
        ]
    );
}

#[test]
fn missing_required_keys_are_named() {
    let found = problems("project_name: app\n");
    assert_eq!(
        found,
        [
            "1:1 missing required key `cloud_provider`",
            "1:1 missing required key `environments`",
            "1:1 missing required key `networking`",
        ]
    );
    let found = problems(&VALID.replace("region: us-east-1, ", ""));
    assert_eq!(found, ["4:15 missing required key `environments.staging.region`"]);
}

#[test]
fn a_registered_customer_may_only_use_enabled_environments() {
    let mut config = config();
    config.customers.push(crate::config::Customer {
        repo: customer(),
        tier: "standard".into(),
        environments: vec![EnvName::parse("staging").expect("env")],
    });
    let err = Variables::parse(PATH, VALID, &customer(), &Rules::for_customer(&config, Some(&customer())))
        .expect_err("invalid");
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].message, "environment `production` is not enabled for this repository");
    assert_eq!((err.0[0].line, err.0[0].column), (5, 3));
}

#[test]
fn oversized_files_and_alias_bombs_are_refused_with_a_clear_error() {
    let big = format!("{VALID}# {}\n", "x".repeat(70_000));
    assert!(problems(&big)[0].contains("larger than the 65536-byte limit"));
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    let found = problems(bomb);
    assert!(found[0].contains("invalid YAML"), "{found:?}");
}
