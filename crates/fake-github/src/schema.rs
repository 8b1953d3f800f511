//! A small validator for the JSON Schema keywords that GitHub's request and response bodies use.
//!
//! The OpenAPI subset only uses a handful of validation keywords (`type`, `nullable`,
//! `enum`, `required`, `properties`, `additionalProperties`, `maxProperties`, `minLength`,
//! `maxLength`, `items`, `oneOf`, `anyOf`, `allOf`), in request and response bodies alike.
//! [`check_supported`] refuses a schema that uses anything else, so a newer description
//! with new keywords fails loudly instead of being half-checked.

use serde_json::Value;

/// Keywords that only annotate a schema and never reject a value.
const ANNOTATIONS: &[&str] =
    &["description", "default", "example", "examples", "title", "format", "deprecated", "readOnly", "writeOnly"];

/// Keywords [`validate`] enforces.
const ENFORCED: &[&str] = &[
    "type",
    "nullable",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "maxProperties",
    "minProperties",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "oneOf",
    "anyOf",
    "allOf",
];

/// One way a value broke its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    /// Dotted path to the offending value, `` (empty) for the root.
    pub field: String,
    /// GitHub's error code style: `missing_field`, `invalid` or `unprocessable`.
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.field, self.message)
        }
    }
}

/// Refuses a schema that uses a keyword this validator does not know.
pub(crate) fn check_supported(schema: &Value, at: &str) -> Result<(), String> {
    let Some(object) = schema.as_object() else {
        return if schema.is_boolean() { Ok(()) } else { Err(format!("{at}: a schema must be an object")) };
    };
    for (key, value) in object {
        // `x-github-breaking-changes` and other vendor extensions only annotate.
        if ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        if !ENFORCED.contains(&key.as_str()) {
            return Err(format!("{at}: unsupported JSON Schema keyword `{key}`"));
        }
        match key.as_str() {
            "properties" => {
                for (name, sub) in value.as_object().into_iter().flatten() {
                    check_supported(sub, &format!("{at}.properties.{name}"))?;
                }
            }
            "items" | "additionalProperties" => check_supported(value, &format!("{at}.{key}"))?,
            "oneOf" | "anyOf" | "allOf" => {
                for (i, sub) in value.as_array().into_iter().flatten().enumerate() {
                    check_supported(sub, &format!("{at}.{key}[{i}]"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Validates `value` against `schema`, collecting every error.
pub(crate) fn validate(schema: &Value, value: &Value) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn join(field: &str, name: &str) -> String {
    if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") }
}

fn error(errors: &mut Vec<SchemaError>, field: &str, code: &'static str, message: String) {
    errors.push(SchemaError { field: field.to_owned(), code, message });
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    let actual = type_name(value);
    actual == expected || (expected == "number" && actual == "integer")
}

fn check(schema: &Value, value: &Value, field: &str, errors: &mut Vec<SchemaError>) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            error(errors, field, "invalid", "is not allowed".to_owned());
        }
        return;
    };
    let nullable = schema.get("nullable").and_then(Value::as_bool).unwrap_or(false);
    if value.is_null() && nullable {
        return;
    }

    if let Some(expected) = schema.get("type") {
        let ok = match expected {
            Value::String(t) => type_matches(t, value),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_matches(t, value)),
            _ => true,
        };
        if !ok {
            error(errors, field, "invalid", format!("is {}, expected {}", type_name(value), expected));
            return;
        }
    }

    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        error(errors, field, "invalid", format!("{value} is not one of {}", Value::Array(allowed.clone())));
    }

    if let Value::String(s) = value {
        let len = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            error(errors, field, "invalid", format!("is {len} characters long, the maximum is {max}"));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            error(errors, field, "invalid", format!("is {len} characters long, the minimum is {min}"));
        }
    }

    if let Some(n) = value.as_f64() {
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            error(errors, field, "invalid", format!("{n} is above the maximum {max}"));
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            error(errors, field, "invalid", format!("{n} is below the minimum {min}"));
        }
    }

    if let Value::Array(items) = value {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            error(errors, field, "invalid", format!("has {} items, the maximum is {max}", items.len()));
        }
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            error(errors, field, "invalid", format!("has {} items, the minimum is {min}", items.len()));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{field}[{i}]"), errors);
            }
        }
    }

    if let Value::Object(map) = value {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !map.contains_key(name)
            {
                error(errors, &join(field, name), "missing_field", "is required but missing".to_owned());
            }
        }
        if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
            && map.len() as u64 > max
        {
            error(errors, field, "invalid", format!("has {} properties, the maximum is {max}", map.len()));
        }
        if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
            && (map.len() as u64) < min
        {
            error(errors, field, "invalid", format!("has {} properties, the minimum is {min}", map.len()));
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, sub_value) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(sub_schema) => check(sub_schema, sub_value, &join(field, name), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        error(errors, &join(field, name), "invalid", "is not a permitted property".to_owned());
                    }
                    Some(extra @ Value::Object(_)) => check(extra, sub_value, &join(field, name), errors),
                    _ => {}
                },
            }
        }
    }

    if let Some(Value::Array(options)) = schema.get("oneOf") {
        let matching = options.iter().filter(|option| validate(option, value).is_empty()).count();
        if matching != 1 {
            error(
                errors,
                field,
                "invalid",
                format!("matches {matching} of the `oneOf` alternatives, expected exactly 1"),
            );
        }
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            check(part, value, field, errors);
        }
    }
    if let Some(Value::Array(options)) = schema.get("anyOf")
        && !options.iter().any(|option| validate(option, value).is_empty())
    {
        error(errors, field, "invalid", "matches none of the `anyOf` alternatives".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": ["error", "failure", "pending", "success"]},
                "target_url": {"type": "string", "nullable": true},
                "description": {"type": "string", "nullable": true},
                "context": {"type": "string", "default": "default"}
            },
            "required": ["state"]
        })
    }

    #[test]
    fn table_of_values_against_the_status_schema() {
        let cases = [
            (json!({"state": "success"}), 0),
            (json!({"state": "success", "target_url": null, "description": null}), 0),
            (json!({"state": "done"}), 1),
            (json!({"context": "x"}), 1),
            (json!({"state": 1}), 1),
            (json!({"state": "pending", "description": 5}), 1),
            (json!("state"), 1),
        ];
        for (value, expected) in cases {
            assert_eq!(validate(&status_schema(), &value).len(), expected, "{value}");
        }
    }

    #[test]
    fn lengths_properties_and_one_of() {
        let schema = json!({
            "type": "object",
            "required": ["event_type"],
            "properties": {
                "event_type": {"type": "string", "minLength": 1, "maxLength": 3},
                "client_payload": {"type": "object", "additionalProperties": true, "maxProperties": 2},
                "label": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            },
            "additionalProperties": false
        });
        assert!(validate(&schema, &json!({"event_type": "abc", "label": 3})).is_empty());
        assert_eq!(validate(&schema, &json!({"event_type": "abcd"}))[0].field, "event_type");
        assert_eq!(validate(&schema, &json!({"event_type": ""})).len(), 1);
        assert_eq!(validate(&schema, &json!({"event_type": "a", "client_payload": {"a": 1, "b": 2, "c": 3}})).len(), 1);
        assert_eq!(validate(&schema, &json!({"event_type": "a", "other": 1}))[0].field, "other");
        assert_eq!(validate(&schema, &json!({"event_type": "a", "label": true})).len(), 1);
    }

    #[test]
    fn unknown_keywords_are_refused() {
        assert!(check_supported(&status_schema(), "status").is_ok());
        let err =
            check_supported(&json!({"type": "string", "pattern": "^a"}), "x").expect_err("pattern is unsupported");
        assert!(err.contains("`pattern`"), "{err}");
    }
}
