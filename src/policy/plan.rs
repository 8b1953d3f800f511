//! `input.plan`: the `terraform show -json` document whole, as Terraform printed it, with
//! every value Terraform marks sensitive replaced by [`MASK`]. Read straight from the
//! printed text into regorus's values ([`super::json_value`]), then masked in place: no
//! second tree, no conversion.
//!
//! What Terraform marks, and where (`docs/policy.md`): a change's `before`/`after` by its
//! `before_sensitive`/`after_sensitive` (resource changes, drift, deferred changes, output
//! changes); a module's resource `values` by `sensitive_values` (`planned_values`,
//! `prior_state`); an output's `value` where `sensitive` is true; a variable's `value` (and
//! its `default` in `configuration`) where the configuration declares it `sensitive`. The
//! marks themselves are kept, so a policy can tell a masked value from a string.

use regorus::Value;

use super::PolicyError;

/// What a sensitive value reads as.
pub const MASK: &str = "(sensitive)";

/// The document `raw` (`show -json`) as `input.plan`, sensitive values masked.
pub fn document(raw: &str) -> Result<Value, PolicyError> {
    let mut doc = super::json_value::read(raw).map_err(|e| PolicyError::Input { detail: e.to_string() })?;
    mask_document(&mut doc);
    Ok(doc)
}

fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    get(value, &Value::from(name))
}

fn field_mut<'a>(value: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    get_mut(value, &Value::from(name))
}

fn get<'a>(value: &'a Value, key: &Value) -> Option<&'a Value> {
    value.as_object().ok()?.get(key)
}

fn get_mut<'a>(value: &'a mut Value, key: &Value) -> Option<&'a mut Value> {
    value.as_object_mut().ok()?.get_mut(key)
}

/// The keys looked up in each of a plan's thousands of changes and resources, made once.
struct Hot {
    change: Value,
    changes: [(Value, Value); 2],
    values: Value,
    sensitive_values: Value,
}

impl Hot {
    fn new() -> Self {
        let key = Value::from;
        Self {
            change: key("change"),
            changes: [(key("before"), key("before_sensitive")), (key("after"), key("after_sensitive"))],
            values: key("values"),
            sensitive_values: key("sensitive_values"),
        }
    }
}

/// Each element of the array at `value.name`.
fn each_mut(value: &mut Value, name: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(list) = field_mut(value, name).and_then(|l| l.as_array_mut().ok()) {
        list.iter_mut().for_each(&mut f);
    }
}

/// Each member of the object at `value.name`.
fn each_member_mut(value: &mut Value, name: &str, mut f: impl FnMut(&mut Value)) {
    let Some(members) = field_mut(value, name) else { return };
    for key in names(Some(members)) {
        if let Some(member) = members.as_object_mut().ok().and_then(|o| o.get_mut(&key)) {
            f(member);
        }
    }
}

/// The names of `value`'s object members (an object's keys as strings).
fn names(value: Option<&Value>) -> Vec<Value> {
    value.and_then(|v| v.as_object().ok()).map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn mask_document(doc: &mut Value) {
    let hot = Hot::new();
    let secret_variables: Vec<Value> = {
        let declared =
            field(doc, "configuration").and_then(|c| field(c, "root_module")).and_then(|m| field(m, "variables"));
        names(declared)
            .into_iter()
            .filter(|name| {
                let flag = declared.and_then(|d| d.as_object().ok()?.get(name)).and_then(|v| field(v, "sensitive"));
                flag == Some(&Value::Bool(true))
            })
            .collect()
    };
    for list in ["resource_changes", "resource_drift"] {
        each_mut(doc, list, |rc| {
            if let Some(change) = get_mut(rc, &hot.change) {
                mask_change(change, &hot);
            }
        });
    }
    each_mut(doc, "deferred_changes", |deferred| {
        if let Some(change) = field_mut(deferred, "resource_change").and_then(|rc| get_mut(rc, &hot.change)) {
            mask_change(change, &hot);
        }
    });
    each_member_mut(doc, "output_changes", |change| mask_change(change, &hot));
    if let Some(values) = field_mut(doc, "planned_values") {
        mask_values(values, &hot);
    }
    if let Some(values) = field_mut(doc, "prior_state").and_then(|s| field_mut(s, "values")) {
        mask_values(values, &hot);
    }
    if let Some(variables) = field_mut(doc, "variables").and_then(|v| v.as_object_mut().ok()) {
        for name in &secret_variables {
            if let Some(value) = variables.get_mut(name).and_then(|v| field_mut(v, "value")) {
                *value = Value::from(MASK);
            }
        }
    }
    if let Some(root) = field_mut(doc, "configuration").and_then(|c| field_mut(c, "root_module")) {
        mask_module_config(root);
    }
}

/// A change's `before` and `after` by its `before_sensitive` and `after_sensitive`.
fn mask_change(change: &mut Value, hot: &Hot) {
    for (value, marks) in &hot.changes {
        let Some(marks) = get(change, marks).filter(|m| marks_any(m)).cloned() else { continue };
        if let Some(value) = get_mut(change, value) {
            mask(value, &marks);
        }
    }
}

/// `planned_values` or `prior_state.values`: the outputs marked sensitive, and each
/// module's resources by their `sensitive_values`.
fn mask_values(values: &mut Value, hot: &Hot) {
    each_member_mut(values, "outputs", |output| mask_if_declared(output, "value"));
    if let Some(root) = field_mut(values, "root_module") {
        mask_module(root, hot);
    }
}

fn mask_module(module: &mut Value, hot: &Hot) {
    each_mut(module, "resources", |resource| {
        let Some(marks) = get(resource, &hot.sensitive_values).filter(|m| marks_any(m)).cloned() else { return };
        if let Some(values) = get_mut(resource, &hot.values) {
            mask(values, &marks);
        }
    });
    each_mut(module, "child_modules", |child| mask_module(child, hot));
}

/// Whether `marks` marks anything sensitive (most changes' marks are `false` or empty
/// objects: nothing to walk, nothing to copy).
fn marks_any(marks: &Value) -> bool {
    match marks {
        Value::Bool(b) => *b,
        Value::Object(o) => o.values().any(marks_any),
        Value::Array(a) => a.iter().any(marks_any),
        _ => false,
    }
}

/// A module's configuration: the `default` of each variable declared `sensitive`, in it and
/// in the modules it calls.
fn mask_module_config(module: &mut Value) {
    each_member_mut(module, "variables", |variable| mask_if_declared(variable, "default"));
    each_member_mut(module, "module_calls", |call| {
        if let Some(called) = field_mut(call, "module") {
            mask_module_config(called);
        }
    });
}

/// Masks `member.name` where the member is declared `"sensitive": true` (an output's
/// `value`, a variable's `default`).
fn mask_if_declared(member: &mut Value, name: &str) {
    if field(member, "sensitive") == Some(&Value::Bool(true))
        && let Some(value) = field_mut(member, name)
    {
        *value = Value::from(MASK);
    }
}

/// Replaces each part of `value` that `marks` marks: `true` marks the value whole, an object
/// or an array of marks its members or elements.
fn mask(value: &mut Value, marks: &Value) {
    match marks {
        Value::Bool(true) => *value = Value::from(MASK),
        Value::Object(marks) if !marks.is_empty() => {
            let Ok(parts) = value.as_object_mut() else { return };
            for (name, mark) in marks.iter() {
                if let Some(part) = parts.get_mut(name) {
                    mask(part, mark);
                }
            }
        }
        Value::Array(marks) if !marks.is_empty() => {
            let Ok(parts) = value.as_array_mut() else { return };
            for (i, mark) in marks.iter().enumerate() {
                if let Some(part) = parts.get_mut(i) {
                    mask(part, mark);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn masked(doc: serde_json::Value) -> serde_json::Value {
        serde_json::to_value(document(&doc.to_string()).expect("valid")).expect("json")
    }

    #[test]
    fn values_terraform_marks_sensitive_are_masked_everywhere_and_the_rest_is_kept_whole() {
        let change = |before: serde_json::Value, after: serde_json::Value| {
            json!({
                "actions": ["update"],
                "before": before, "after": after,
                "before_sensitive": {"password": true, "tags": {}},
                "after_sensitive": {"password": true, "nested": [false, {"token": true}], "tags": {}},
                "after_unknown": {"id": true},
            })
        };
        let doc = json!({
            "format_version": "1.2",
            "variables": {"db_password": {"value": "hunter2"}, "region": {"value": "eu-west-1"}},
            "resource_changes": [{
                "address": "module.db.aws_db_instance.this", "mode": "managed", "type": "aws_db_instance",
                "change": change(
                    json!({"password": "old", "size": 10, "tags": {"a": "b"}}),
                    json!({"password": "new", "size": 20, "nested": [{"x": 1}, {"token": "t", "keep": 2}], "tags": {"a": "b"}}),
                ),
            }],
            "resource_drift": [{"address": "x.y", "change": change(json!({"password": "d"}), json!({"password": "e"}))}],
            "deferred_changes": [{"reason": "x", "resource_change": {"change": change(json!(null), json!({"password": "f"}))}}],
            "output_changes": {
                "url": {"actions": ["create"], "before": null, "after": "https://x", "after_sensitive": false, "before_sensitive": false},
                "secret": {"actions": ["create"], "before": null, "after": "s3cret", "after_sensitive": true, "before_sensitive": false},
            },
            "planned_values": {
                "outputs": {"url": {"sensitive": false, "value": "https://x"}, "secret": {"sensitive": true, "value": "s3cret"}},
                "root_module": {
                    "resources": [{"address": "a.b", "values": {"password": "new", "size": 20}, "sensitive_values": {"password": true}}],
                    "child_modules": [{"resources": [{"address": "module.c.a.b", "values": {"key": "k", "n": 1}, "sensitive_values": {"key": true}}]}],
                },
            },
            "prior_state": {"values": {
                "outputs": {"secret": {"sensitive": true, "value": "old-s3cret"}},
                "root_module": {"resources": [{"address": "a.b", "values": {"password": "old"}, "sensitive_values": {"password": true}}]},
            }},
            "configuration": {"root_module": {
                "variables": {"db_password": {"sensitive": true, "default": "hunter2"}, "region": {"default": "eu-west-1"}},
                "module_calls": {"db": {"module": {"variables": {"key": {"sensitive": true, "default": "k"}}}}},
            }},
        });
        let m = masked(doc);
        let rc = &m["resource_changes"][0];
        assert_eq!(rc["address"], "module.db.aws_db_instance.this", "{m}");
        assert_eq!(rc["change"]["before"], json!({"password": MASK, "size": 10, "tags": {"a": "b"}}));
        assert_eq!(
            rc["change"]["after"],
            json!({"password": MASK, "size": 20, "nested": [{"x": 1}, {"token": MASK, "keep": 2}], "tags": {"a": "b"}})
        );
        assert_eq!(rc["change"]["after_sensitive"]["password"], true, "the marks are kept");
        assert_eq!(rc["change"]["after_unknown"], json!({"id": true}));
        assert_eq!(m["resource_drift"][0]["change"]["after"]["password"], MASK);
        assert_eq!(m["deferred_changes"][0]["resource_change"]["change"]["after"]["password"], MASK);
        assert_eq!(m["output_changes"]["url"]["after"], "https://x");
        assert_eq!(m["output_changes"]["secret"]["after"], MASK);
        assert_eq!(m["planned_values"]["outputs"]["url"]["value"], "https://x");
        assert_eq!(m["planned_values"]["outputs"]["secret"]["value"], MASK);
        assert_eq!(m["planned_values"]["root_module"]["resources"][0]["values"], json!({"password": MASK, "size": 20}));
        assert_eq!(m["planned_values"]["root_module"]["child_modules"][0]["resources"][0]["values"]["key"], MASK);
        assert_eq!(m["prior_state"]["values"]["outputs"]["secret"]["value"], MASK);
        assert_eq!(m["prior_state"]["values"]["root_module"]["resources"][0]["values"]["password"], MASK);
        assert_eq!(m["variables"], json!({"db_password": {"value": MASK}, "region": {"value": "eu-west-1"}}));
        let config = &m["configuration"]["root_module"];
        assert_eq!(config["variables"]["db_password"]["default"], MASK);
        assert_eq!(config["variables"]["region"]["default"], "eu-west-1");
        assert_eq!(config["module_calls"]["db"]["module"]["variables"]["key"]["default"], MASK);
        for secret in ["hunter2", "s3cret", "\"new\"", "\"old\"", "\"t\"", "\"k\""] {
            assert!(!m.to_string().contains(secret), "{secret} leaked: {m}");
        }
    }

    #[test]
    fn a_document_without_marks_reads_as_printed() {
        let doc = json!({"format_version": "1.2", "resource_changes": [{"address": "a.b", "change": {"actions": ["create"], "after": {"n": 1.5, "s": "x"}}}], "errored": false});
        assert_eq!(masked(doc.clone()), doc);
        assert!(matches!(document("not json"), Err(PolicyError::Input { .. })));
    }
}
