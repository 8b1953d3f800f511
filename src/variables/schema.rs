//! The JSON Schema of `infra/variables.yml`, for editors (`infra-manager schema`): one
//! document for both schemas, told apart as `document::detect` does (a mapping with
//! `apiVersion` is v2 ([`v2`]), anything else v1).
//!
//! As strict as JSON Schema can say: every rule `validate` applies to one value is here as a
//! `pattern`, an `enum` or a bound, written to accept exactly what `validate` accepts (see
//! [`patterns`]), so an editor flags in place what `validate` would refuse and never flags
//! what it accepts. What needs two values compared, or a value expanded, stays with
//! `validate` and is named in the `description` where it applies:
//!
//! - `min_instances` must not exceed `max_instances` (JSON Schema cannot compare two values);
//! - a templated region, instance type or tag value is checked after expansion for each
//!   environment (its length, and the tier's lists, apply to the expanded text);
//! - number types: JSON has one, so `2.0` is an integer to JSON Schema, while `validate`
//!   refuses a count YAML typed as a float;
//! - YAML itself: duplicate keys, anchors and aliases, YAML 1.1 forms and the size limits are
//!   refused by `validate`'s reader before any value is looked at;
//! - v2: what ties values together (the list [`v2`] gives).

mod inputs;
mod patterns;
mod v2;

use serde_json::{Value, json};

use super::document::API_VERSIONS;
use super::{Rules, rules};
use crate::catalog::Catalog;

/// The schema for files checked under `rules` (and, for v2, against `catalog`): its
/// environments (the enabled ones, for a registered customer) are the allowed ones, and
/// its tier (if any) bounds v1's regions, instance types and instance counts and v2's
/// component inputs.
pub fn json_schema(rules: &Rules<'_>, catalog: &Catalog) -> Value {
    let environments: Vec<&str> = match &rules.enabled {
        Some(enabled) => rules.environments.iter().copied().filter(|e| enabled.contains(e)).collect(),
        None => rules.environments.clone(),
    };
    let mut defs = serde_json::Map::new();
    defs.insert("v1".into(), v1(rules, &environments));
    defs.extend(v2::definitions(rules, catalog, &environments));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://infra-manager.dev/schemas/variables.json",
        "title": "infra-manager customer variables (schema v1 and v2)",
        "description": format!("Infrastructure requirements of one customer repository. With `apiVersion: {}` the file is schema v2 (components of the catalog); without `apiVersion`, schema v1. `infra-manager validate` checks what this schema cannot (see each part's description) and the YAML itself (duplicate keys, aliases, size).", API_VERSIONS.join("`, `")),
        "if": { "type": "object", "required": ["apiVersion"] },
        "then": { "$ref": "#/$defs/v2" },
        "else": { "$ref": "#/$defs/v1" },
        "$defs": defs
    })
}

/// Schema v1: one application per file.
fn v1(rules: &Rules<'_>, environments: &[&str]) -> Value {
    let tier = rules.tier;
    let tier_note = match tier {
        Some((name, _)) => format!(" Limited by tier `{name}`."),
        None => String::new(),
    };
    let max_instances = tier.map_or(i64::MAX, |(_, t)| t.max_instances);
    let region = name_or_template(
        "[a-z0-9-]",
        patterns::REGION,
        tier.map(|(_, t)| allowed(&t.regions, |v| rules::region("", v).is_ok())),
        format!("The AWS region, such as `us-east-1`.{tier_note}"),
    );
    let instance_type = name_or_template(
        "[a-z0-9.-]",
        patterns::INSTANCE_TYPE,
        tier.map(|(_, t)| allowed(&t.instance_types, |v| rules::instance_type("", v).is_ok())),
        format!("The EC2 instance type, such as `t3.micro`.{tier_note}"),
    );
    json!({
        "title": "schema v1",
        "description": "Region, instance type and tag values may use {{ environment }}, {{ customer }} and {{ project_name }} (nothing else inside {{ }}, no {% %} or {# #}); they are checked again after expansion by `infra-manager validate`, which also checks what this schema cannot: min_instances <= max_instances and counts written as floats (2.0).",
        "type": "object",
        "additionalProperties": false,
        "required": ["project_name", "cloud_provider", "environments", "networking"],
        "properties": {
            "project_name": {
                "type": "string",
                "pattern": patterns::DNS_LABEL,
                "description": "A DNS label naming the application: 1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`. Not templated."
            },
            "cloud_provider": { "enum": ["aws"] },
            "environments": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": { "enum": environments },
                "description": "One entry per environment the service offers (for a registered customer: enabled for it).",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["region", "instance_type", "min_instances", "max_instances"],
                    "properties": {
                        "region": region,
                        "instance_type": instance_type,
                        "min_instances": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": max_instances,
                            "description": "Instances at least; must not exceed `max_instances` (checked by `validate`)."
                        },
                        "max_instances": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": max_instances,
                            "description": format!("Instances at most; at least `min_instances` (checked by `validate`).{tier_note}")
                        }
                    }
                }
            },
            "networking": networking(),
            "tags": tags()
        }
    })
}

/// The tier's entries `validate` can accept: those of the form the modules check too (a
/// misspelt entry in the registry is refused by `validate`, so the schema leaves it out).
fn allowed(list: &[String], form: impl Fn(&str) -> bool) -> Vec<&str> {
    list.iter().map(String::as_str).filter(|v| form(v)).collect()
}

/// A region or instance type: a name of the tier's list (or of the modules' form without a
/// tier), or a templated value of the same characters, checked after expansion.
fn name_or_template(chars: &str, form: &str, allowed: Option<Vec<&str>>, description: String) -> Value {
    let plain = match allowed {
        Some(list) => json!({ "enum": list }),
        None => json!({ "pattern": form }),
    };
    json!({
        "type": "string",
        "description": format!("{description} May use {{{{ environment }}}} or {{{{ project_name }}}}; the expanded value is checked by `validate`."),
        "anyOf": [
            plain,
            { "allOf": [{ "pattern": patterns::HAS_TEMPLATE }, { "pattern": patterns::templated_name(chars) }] }
        ]
    })
}

fn networking() -> Value {
    // Per-zone subnets are 1/16th of the VPC and never smaller than /28 (`rules::subnets_in`):
    // a /26 holds 4, a /27 2, a /28 1 — and the default of 2 zones does not fit a /28.
    let fits = |prefix: u8, zones: i64| {
        let then = if zones < 2 {
            json!({ "required": ["availability_zones"], "properties": { "availability_zones": { "maximum": zones } } })
        } else {
            json!({ "properties": { "availability_zones": { "maximum": zones } } })
        };
        json!({
            "if": { "required": ["vpc_cidr"], "properties": { "vpc_cidr": { "type": "string", "pattern": patterns::cidr_with_prefix(prefix) } } },
            "then": then
        })
    };
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["vpc_cidr"],
        "properties": {
            "vpc_cidr": {
                "type": "string",
                "pattern": patterns::vpc_cidr(),
                "description": "The VPC's IPv4 network, such as `10.0.0.0/16`: prefix /16 to /28, no host bits set, octets without leading zeros. Not templated."
            },
            "availability_zones": {
                "type": "integer",
                "minimum": 1,
                "maximum": 6,
                "default": 2,
                "description": "Zones to spread instances over, each with its own subnet of the VPC (a /26 holds 4, a /27 2, a /28 1)."
            }
        },
        "allOf": [fits(26, 4), fits(27, 2), fits(28, 1)]
    })
}

fn tags() -> Value {
    json!({
        "type": ["object", "null"],
        "maxProperties": 45,
        "description": "Tags added to every resource (at most 45: the service adds its own, AWS allows 50). Letters, digits, spaces and `_ . : / = + - @` only: no tabs, line breaks, control or invisible characters.",
        "propertyNames": {
            "minLength": 1,
            "maxLength": 128,
            "pattern": patterns::tag_key(),
            "not": { "pattern": "^[aA][wW][sS]:" }
        },
        "additionalProperties": {
            "type": "string",
            "pattern": patterns::tag_value(),
            "description": "At most 256 characters once expanded (checked by `validate` for a templated value).",
            "anyOf": [{ "maxLength": 256 }, { "pattern": patterns::HAS_TEMPLATE }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The default configuration, with the shipped sandbox catalog.
    fn schema() -> Value {
        let config = Config::defaults(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
        let catalog = Catalog::load(&config).expect("the sandbox catalog loads");
        json_schema(&Rules::for_owner(&config, None), &catalog)
    }

    #[test]
    fn the_schema_of_the_default_tier() {
        insta::assert_json_snapshot!(schema());
    }

    #[test]
    fn a_float_count_is_beyond_json_schema() {
        let schema = schema();
        let count =
            &schema["$defs"]["v1"]["properties"]["environments"]["additionalProperties"]["properties"]["min_instances"];
        let validator = jsonschema::validator_for(count).expect("compiles");
        // JSON has one number type: what `validate` refuses as a YAML float passes here.
        assert!(validator.is_valid(&json!(2.0)));
        assert!(!validator.is_valid(&json!(2.5)));
        assert!(!validator.is_valid(&json!(9_223_372_036_854_775_808_u64)), "past i64::MAX");
        assert!(!validator.is_valid(&json!(-1)));
    }

    #[test]
    fn availability_zones_are_bounded_by_what_the_vpc_holds() {
        let validator = jsonschema::validator_for(&networking()).expect("compiles");
        for prefix in 16..=28u8 {
            let cidr = format!("10.0.0.0/{prefix}");
            for zones in [None, Some(1), Some(2), Some(3), Some(4), Some(5), Some(6), Some(7), Some(0)] {
                let value = match zones {
                    Some(z) => json!({ "vpc_cidr": cidr, "availability_zones": z }),
                    None => json!({ "vpc_cidr": cidr }),
                };
                let z = zones.unwrap_or(2);
                let fits = (1..=6).contains(&z) && z <= super::super::rules::subnets_in(prefix);
                assert_eq!(validator.is_valid(&value), fits, "{value}");
            }
        }
    }
}
