//! A catalog type's inputs as JSON Schema, accepting what `v2::value::typed` and
//! `Bounds::check` accept: the JSON type from the module's HCL type, and the module's
//! limits narrowed by the tier (`CatalogInput::limits_for`) as `minimum`, `maximum` and
//! `enum`. The standard inputs are left out, so `additionalProperties: false` refuses them.

use serde_json::{Map, Value, json};

use crate::catalog::{CatalogInput, ComponentType, InputType};

/// The `inputs` mapping of `ty` (and of each environment's overrides).
pub(super) fn of_type(ty: &ComponentType, tier: Option<&str>) -> Value {
    let settable = ty.inputs.iter().filter(|i| !i.standard);
    let properties: Map<String, Value> = settable.clone().map(|i| (i.input.name.clone(), input(i, tier))).collect();
    let required: Vec<&str> = settable.filter(|i| i.input.default.is_none()).map(|i| i.input.name.as_str()).collect();
    let mut description = format!("The inputs of `{}`: the module's variables, but the standard names.", ty.name);
    if !required.is_empty() {
        description.push_str(&format!(
            " Required, in `inputs` or for every environment (checked by `validate`): {}.",
            required.join(", ")
        ));
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": description,
        "properties": properties
    })
}

fn input(i: &CatalogInput, tier: Option<&str>) -> Value {
    let mut schema = of_hcl_type(&i.input.ty);
    let limits = tier.map_or_else(|| i.input.limits.clone(), |t| i.limits_for(t));
    let narrowed_by = tier.filter(|t| i.tiers.contains_key(*t));
    if let Some(min) = &limits.min {
        schema["minimum"] = json!(min);
    }
    if let Some(max) = &limits.max {
        schema["maximum"] = json!(max);
    }
    if let Some(allowed) = &limits.allowed {
        schema["enum"] = json!(allowed);
    }
    if let Some(default) = &i.input.default {
        schema["default"] = default.clone();
    }
    let mut notes: Vec<String> = i.input.description.iter().cloned().collect();
    notes.push(format!("Terraform type `{}`.", i.input.ty));
    if let Some(tier) = narrowed_by {
        notes.push(format!("Limited by tier `{tier}`."));
    }
    // `validate` checks a module's pattern with RE2 (Terraform's syntax); JSON Schema's is
    // ECMA-262. The two read plain patterns alike, so those become `pattern`; one using
    // RE2-only syntax is only named, so the schema never refuses what `validate` accepts.
    if let Some(pattern) = &limits.pattern {
        if ecma_compatible(pattern) {
            schema["pattern"] = json!(pattern);
        }
        notes.push(format!("The module requires a match of `{pattern}`."));
    }
    for message in &i.input.validated_by_module {
        notes.push(format!("The module checks: {message}"));
    }
    schema["description"] = json!(notes.join(" "));
    schema
}

/// Whether `pattern` avoids the RE2 syntax ECMA-262 reads differently or not at all: flag
/// groups, `\A`/`\z`, POSIX classes, `\Q…\E`, `\C`.
fn ecma_compatible(pattern: &str) -> bool {
    !["(?", "\\A", "\\z", "[[:", "\\Q", "\\C"].iter().any(|syntax| pattern.contains(syntax))
}

/// The JSON values `typed` accepts for `ty`: `null` only for `any`.
fn of_hcl_type(ty: &InputType) -> Value {
    match ty {
        InputType::Any => json!({}),
        InputType::String => json!({ "type": "string" }),
        InputType::Number => json!({ "type": "number" }),
        InputType::Bool => json!({ "type": "boolean" }),
        // `typed` does not require a set's items to differ.
        InputType::List(item) | InputType::Set(item) => json!({ "type": "array", "items": of_hcl_type(item) }),
        InputType::Map(item) => json!({ "type": "object", "additionalProperties": of_hcl_type(item) }),
        InputType::Tuple(items) => json!({
            "type": "array",
            "prefixItems": items.iter().map(of_hcl_type).collect::<Vec<_>>(),
            "minItems": items.len(),
            "maxItems": items.len()
        }),
        InputType::Object(fields) => {
            let properties: Map<String, Value> = fields.iter().map(|f| (f.name.clone(), of_hcl_type(&f.ty))).collect();
            let required: Vec<&str> = fields.iter().filter(|f| !f.optional).map(|f| f.name.as_str()).collect();
            json!({ "type": "object", "additionalProperties": false, "properties": properties, "required": required })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::variables::ObjectField;

    #[test]
    fn every_hcl_type_takes_what_typed_takes() {
        let object = InputType::Object(vec![
            ObjectField { name: "a".into(), ty: InputType::String, optional: false },
            ObjectField { name: "b".into(), ty: InputType::Number, optional: true },
        ]);
        let tuple = InputType::Tuple(vec![InputType::String, InputType::Bool]);
        let set = InputType::Set(Box::new(InputType::Number));
        let map = InputType::Map(Box::new(InputType::String));
        for (ty, good, bad) in [
            (&InputType::Any, vec![json!(null), json!([1]), json!("x")], vec![]),
            (&InputType::Number, vec![json!(1), json!(2.5)], vec![json!("1"), json!(null)]),
            (&set, vec![json!([1, 1]), json!([])], vec![json!([1, "2"]), json!(1)]),
            (&map, vec![json!({ "k": "v" }), json!({})], vec![json!({ "k": 7 }), json!(["v"])]),
            (&tuple, vec![json!(["x", true])], vec![json!(["x"]), json!(["x", true, 1]), json!([true, "x"])]),
            (
                &object,
                vec![json!({ "a": "x" }), json!({ "a": "x", "b": 2 })],
                vec![json!({ "b": 2 }), json!({ "a": "x", "c": 1 })],
            ),
        ] {
            let validator = jsonschema::validator_for(&of_hcl_type(ty)).expect("compiles");
            for value in good {
                assert!(validator.is_valid(&value), "{ty} refuses {value}");
            }
            for value in bad {
                assert!(!validator.is_valid(&value), "{ty} accepts {value}");
            }
        }
    }
}
