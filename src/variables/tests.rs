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
    Config::defaults(Path::new("."))
}

fn customer() -> crate::identity::Owner {
    crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/webshop").expect("valid"))
}

fn check(text: &str) -> Result<Variables, Diagnostics> {
    let config = config();
    Variables::parse(PATH, text, &customer(), &Rules::for_owner(&config, None))
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
            "10:3 tag key `bad#key` has a character AWS does not allow in tags (`#`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a|b\"",
            "10:13 tag `customer` value `a|b` has a character AWS does not allow in tags (`|`)",
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
    config.customers.push(crate::config::Customer::new(
        crate::identity::RepoId::parse("acme/webshop").expect("valid"),
        "standard",
        vec![EnvName::parse("staging").expect("env")],
    ));
    let err =
        Variables::parse(PATH, VALID, &customer(), &Rules::for_owner(&config, Some(&customer()))).expect_err("invalid");
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

/// Issue 9, item 5: a value whose template cannot be expanded is an error at its place, and
/// the tier check runs on every expanded value; nothing unexpanded reaches the result.
#[test]
fn a_failed_expansion_is_an_error_and_never_skips_the_tier_check() {
    let fuel = format!("\"{}\"", "{{ environment }}".repeat(99));
    let cases = [
        (
            "region: us-east-1,",
            format!("region: {fuel},"),
            "4:25 `environments.staging.region`: template could not be expanded",
        ),
        (
            "instance_type: t3.micro,",
            format!("instance_type: {fuel},"),
            "4:51 `environments.staging.instance_type`: template could not be expanded",
        ),
        (
            "region: us-east-1,",
            "region: \"{{\u{a0}environment }}\",".to_owned(),
            "4:25 `environments.staging.region`: unknown template expression",
        ),
        ("\"10.0.0.0/16\"", fuel.clone(), "7:13 `networking.vpc_cidr`: template could not be expanded"),
        (
            "customer: customer-name",
            format!("customer: {fuel}"),
            "10:13 `tags.customer`: template could not be expanded",
        ),
    ];
    for (from, to, expected) in cases {
        let text = VALID.replacen(from, &to, 1);
        let found = problems(&text);
        assert!(found.iter().any(|p| p.starts_with(expected)), "{to}: expected `{expected}`, got {found:#?}");
    }
}

#[test]
fn rules_run_on_the_expanded_value() {
    // A template that expands to a region outside the tier, or to no region at all.
    let text = VALID.replacen("region: us-east-1,", "region: \"us-{{ environment }}-1\",", 1);
    assert_eq!(
        problems(&text),
        [
            "4:25 `environments.staging.region` `us-staging-1` is not allowed by tier `standard` (`us-{{ environment }}-1` expanded for `staging`)"
        ]
    );
    let text = VALID.replacen("region: us-east-1,", "region: \"{{ customer }}\",", 1);
    assert_eq!(
        problems(&text),
        [
            "4:25 `environments.staging.region` `acme/webshop` is not an AWS region name (`{{ customer }}` expanded for `staging`)"
        ]
    );
    let text = VALID.replacen("customer: customer-name", "customer: \"{{ customer }}\\t\"", 1);
    let found = problems(&text);
    assert!(
        found[0].starts_with("10:13 tag `customer` value `acme/webshop\\u{9}` has a character AWS does not allow"),
        "{found:?}"
    );
    // Without a tier, the format is still checked.
    let mut config = config();
    config.tiers.clear();
    let rules = Rules::for_owner(&config, None);
    let text = VALID.replacen("region: us-east-1,", "region: \"us-east-1\\n\",", 1);
    let err = Variables::parse(PATH, &text, &customer(), &rules).expect_err("no tier, still checked");
    assert_eq!(err.0[0].message, "`environments.staging.region` `us-east-1\\u{a}` is not an AWS region name");
    let vars = Variables::parse(PATH, &VALID.replace("t3.small", "m5.large"), &customer(), &rules).expect("no tier");
    assert_eq!(vars.resolve(&EnvName::parse("production").expect("env")).expect("resolves").instance_type, "m5.large");
}

/// Issue 9, item 6.
#[test]
fn cidr_prefix_tricks_and_control_characters_in_tags_are_refused_at_their_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "\"10.0.0.0/16\"",
            "\"10.0.0.0/+16\"",
            "7:13 `networking.vpc_cidr` `10.0.0.0/+16` is not a valid IPv4 CIDR block",
        ),
        (
            "\"10.0.0.0/16\"",
            "\"10.0.0.0/016\"",
            "7:13 `networking.vpc_cidr` `10.0.0.0/016` is not a valid IPv4 CIDR block",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\nb\"",
            "10:13 tag `customer` value `a\\u{a}b` has a character AWS does not allow in tags (`\\u{a}`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\tb\"",
            "10:13 tag `customer` value `a\\u{9}b` has a character AWS does not allow in tags (`\\u{9}`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\rb\"",
            "10:13 tag `customer` value `a\\u{d}b` has a character AWS does not allow in tags (`\\u{d}`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\Nb\"",
            "10:13 tag `customer` value `a\\u{85}b` has a character AWS does not allow in tags (`\\u{85}`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\u202Eb\"",
            "10:13 tag `customer` value `a\\u{202e}b` has a character AWS does not allow in tags (`\\u{202e}`)",
        ),
        (
            "  customer: customer-name",
            "  customer: \"a\\x9bb\"",
            "10:13 tag `customer` value `a\\u{9b}b` has a character AWS does not allow in tags (`\\u{9b}`)",
        ),
        (
            "  customer: customer-name",
            "  \"a\\nb\": x",
            "10:3 tag key `a\\u{a}b` has a character AWS does not allow in tags (`\\u{a}`)",
        ),
        (
            "  customer: customer-name",
            "  \"a\\u2066b\": x",
            "10:3 tag key `a\\u{2066}b` has a character AWS does not allow in tags (`\\u{2066}`)",
        ),
    ];
    for (from, to, expected) in cases {
        let text = VALID.replacen(from, to, 1);
        let found = problems(&text);
        assert!(found.iter().any(|p| p == expected), "{to}: expected `{expected}`, got {found:#?}");
    }
}

/// Issue 9, item 6: YAML 1.1 typing never rewrites a key.
#[test]
fn typed_keys_keep_their_text() {
    let text = VALID.replace("  customer: customer-name\n", "  on: yes-text\n  0x1F: hex\n  1.10: version\n");
    let vars = check(&text).expect("valid");
    let tags = vars.resolve(&EnvName::parse("staging").expect("env")).expect("resolves").tags;
    let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
    assert_eq!(keys, ["0x1F", "1.10", "environment", "on", "project"]);
    let text = VALID.replace("  customer: customer-name", "  ~: tilde");
    assert_eq!(problems(&text), ["10:3 tag key `~` has a character AWS does not allow in tags (`~`)"]);
    let text = VALID.replace("  staging:", "  on:");
    assert_eq!(problems(&text)[0], "4:3 unknown environment `on`");
    let text = VALID.replace("  customer: customer-name", "  customer: on");
    let err = check(&text).expect_err("a boolean value");
    assert_eq!(err.0[0].message, "`tags.customer` must be a string, found a boolean `on`");
}

/// Issue 9, item 7.
#[test]
fn out_of_range_counts_have_hints_and_whole_file_problems_are_at_1_1() {
    for (from, to) in [
        ("min_instances: 1,", "min_instances: -1,"),
        ("availability_zones: 2", "availability_zones: 7"),
        ("availability_zones: 2", "availability_zones: 0"),
    ] {
        let err = check(&VALID.replacen(from, to, 1)).expect_err(to);
        assert!(err.0[0].hint.is_some(), "{to}: {err}");
    }
    let d = file_problem(PATH, &crate::diagnostic::FileProblem::NotUtf8 { line: None, column: None });
    assert_eq!((d.file.as_str(), d.line, d.column, d.message.as_str()), (PATH, 1, 1, "file is not UTF-8 text"));
    let d = file_problem(PATH, &crate::diagnostic::FileProblem::TooLarge { size: None, limit: 65_536 });
    assert_eq!((d.line, d.column), (1, 1));
}

#[test]
fn resolved_values_are_the_checked_expansions() {
    let vars = check(VALID).expect("valid");
    let envs: Vec<&str> = vars.environments().map(EnvName::as_str).collect();
    assert_eq!(envs, ["staging", "production"]);
    let staging = vars.resolve(&EnvName::parse("staging").expect("env")).expect("resolves");
    assert_eq!(staging.tags["environment"], "staging");
    assert_eq!(staging.vpc_cidr, "10.0.0.0/16");
    assert_eq!(staging.availability_zones, 2);
    assert_eq!(vars.project_name(), "customer-app-name");
}

#[test]
fn an_empty_file_or_a_non_mapping_root_is_named_plainly() {
    assert_eq!(problems(""), ["1:1 the file has no content"]);
    assert_eq!(problems("# only a comment\n"), ["1:1 the file has no content"]);
    assert_eq!(problems("- a\n- b\n"), ["1:1 the file must be a mapping of keys, found a list"]);
}

#[test]
fn a_vpc_too_small_for_its_zones_does_not_hide_tag_problems() {
    let text =
        VALID.replace("\"10.0.0.0/16\"", "\"10.0.0.0/28\"").replace("customer: customer-name", "customer: \"a|b\"");
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[1].starts_with("10:13 tag `customer` value `a|b`"), "{found:#?}");
}
