//! The schema v2 part: `apiVersion`, `kind`, `metadata` and `spec`, every mapping closed,
//! and `spec.components` items told apart by their catalog `type` (one branch per type,
//! whose `inputs` and per-environment overrides are the type's inputs, [`super::inputs`]).
//!
//! What `validate` checks across values stays with it, and is named in the descriptions:
//! a component name used twice, the resource name `<metadata.name>-<name>-<env>` longer
//! than 63 characters (only bounded here by the shortest environment name), overrides for
//! an environment `spec.environments` does not list, and a required input (no module
//! default) set neither in `inputs` nor for every environment.

use serde_json::{Map, Value, json};

use super::{inputs, patterns};
use crate::catalog::Catalog;
use crate::variables::Rules;
use crate::variables::document::{API_VERSIONS, KINDS};
use crate::variables::v2::components::MAX_RESOURCE_NAME;
use crate::variables::v2::{MAX_DISPLAY_NAME, MAX_TAGS};

/// `$defs` entries: `v2` (the file), `component` (one item of `spec.components`) and
/// `inputs-<type>` (the inputs of each catalog type).
pub(super) fn definitions(rules: &Rules<'_>, catalog: &Catalog, environments: &[&str]) -> Map<String, Value> {
    let tier = rules.tier.map(|(name, _)| name);
    let mut defs = Map::new();
    defs.insert("v2".into(), customer(environments));
    defs.insert("component".into(), component(catalog, environments));
    for ty in &catalog.types {
        defs.insert(format!("inputs-{}", ty.name), inputs::of_type(ty, tier));
    }
    defs
}

fn customer(environments: &[&str]) -> Value {
    json!({
        "title": "schema v2",
        "description": "A customer's components, each a type of the provider's catalog (`infra-manager catalog` lists them).",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": { "enum": API_VERSIONS },
            "kind": { "enum": KINDS },
            "metadata": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": patterns::DNS_LABEL,
                        "description": "The project: a DNS label (1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`). It starts every resource name."
                    },
                    "displayName": {
                        "type": "string",
                        "maxLength": MAX_DISPLAY_NAME,
                        "pattern": patterns::NO_CONTROL,
                        "description": format!("A name for people: at most {MAX_DISPLAY_NAME} characters, no control characters.")
                    }
                }
            },
            "spec": {
                "type": "object",
                "additionalProperties": false,
                "required": ["environments", "components"],
                "properties": {
                    "environments": {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": true,
                        "items": { "enum": environments },
                        "description": "The environments the components exist in, each once: ones the service offers (for a registered customer: enabled for it)."
                    },
                    "components": {
                        "type": "array",
                        "items": { "$ref": "#/$defs/component" },
                        "description": "The components, in order; each name once (checked by `validate`)."
                    },
                    "tags": tags()
                }
            }
        }
    })
}

/// `spec.tags` as `v2::tags` checks them (keys not templated, `aws:` refused as written).
fn tags() -> Value {
    json!({
        "type": "object",
        "maxProperties": MAX_TAGS,
        "description": format!("Tags added to every component's `tags` input (a component's own win): at most {MAX_TAGS}; keys 1 to 128 characters not starting with `aws:`, values at most 256; no control characters."),
        "propertyNames": {
            "minLength": 1,
            "maxLength": 128,
            "pattern": patterns::NO_CONTROL,
            "not": { "pattern": "^aws:" }
        },
        "additionalProperties": { "type": "string", "maxLength": 256, "pattern": patterns::NO_CONTROL }
    })
}

fn component(catalog: &Catalog, environments: &[&str]) -> Value {
    let types: Vec<&str> = catalog.types.iter().map(|t| t.name.as_str()).collect();
    // The shortest resource name: a one-letter project, this component, the shortest
    // environment; `validate` checks the real one.
    let name_room = environments.iter().map(|e| e.len()).min().map(|e| MAX_RESOURCE_NAME.saturating_sub(e + 3));
    let mut name = json!({
        "type": "string",
        "pattern": patterns::DNS_LABEL,
        "description": "A DNS label, unique in the file; `<metadata.name>-<name>-<environment>` must fit in 63 characters for every environment (checked by `validate`)."
    });
    if let Some(room) = name_room {
        name["maxLength"] = json!(room);
    }
    let branches: Vec<Value> = catalog
        .types
        .iter()
        .map(|ty| {
            let inputs = json!({ "$ref": format!("#/$defs/inputs-{}", ty.name) });
            json!({
                "if": { "required": ["type"], "properties": { "type": { "const": ty.name } } },
                "then": {
                    "properties": {
                        "inputs": inputs,
                        "environments": { "additionalProperties": inputs }
                    }
                }
            })
        })
        .collect();
    let described: Vec<String> = catalog
        .types
        .iter()
        .map(|t| {
            let protected = if t.protect_destroy { " (removal needs `allow_destroy: true` applied first)" } else { "" };
            format!("`{}`: {}{protected}", t.name, t.description)
        })
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "type"],
        "properties": {
            "name": name,
            "type": { "enum": types, "description": format!("A catalog type. {}", described.join("; ")) },
            "inputs": {
                "type": "object",
                "description": "Input name → value, for every environment; a required input (no module default) is set here or for every environment (checked by `validate`)."
            },
            "environments": {
                "type": "object",
                "propertyNames": { "enum": environments },
                "additionalProperties": { "type": "object" },
                "description": "Environment → input overrides there; each environment must be listed in `spec.environments` (checked by `validate`)."
            },
            "allow_destroy": {
                "type": "boolean",
                "description": "`true` allows the removal of a component of a protected type, in a later change."
            }
        },
        "allOf": branches
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::v2::components::COMPONENT_KEYS;
    use crate::variables::v2::{METADATA_KEYS, ROOT_KEYS, SPEC_KEYS};

    fn keys(schema: &Value) -> Vec<&str> {
        let mut out: Vec<&str> =
            schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
        out.sort_unstable();
        out
    }

    fn sorted<const N: usize>(mut names: [&'static str; N]) -> Vec<&'static str> {
        names.sort_unstable();
        names.to_vec()
    }

    #[test]
    fn the_closed_mappings_have_exactly_the_keys_validate_knows() {
        let file = customer(&["staging"]);
        assert_eq!(keys(&file), sorted(ROOT_KEYS));
        assert_eq!(keys(&file["properties"]["metadata"]), sorted(METADATA_KEYS));
        assert_eq!(keys(&file["properties"]["spec"]), sorted(SPEC_KEYS));
        let item = component(&Catalog { types: Vec::new() }, &["staging"]);
        assert_eq!(keys(&item), sorted(COMPONENT_KEYS));
        assert_eq!(item["properties"]["name"]["maxLength"], 53, "63 less `a-`, `-` and `staging`");
    }
}
