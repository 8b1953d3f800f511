//! Reading `terraform show -json` of a saved plan into what the summary reads, and no more.
//!
//! The document repeats every resource's values in `planned_values` and the prior state in
//! `prior_state`, and carries the whole `configuration`: on a 5,000-resource plan that is
//! over half of it. Parsed into one `Value` tree it would take several times its size in
//! memory; here only `outputs` is kept of those three (the summary reads which outputs are
//! sensitive there), each resource change keeps only what the summary reads of it (and,
//! for a change Terraform acts on, its known `after` values flattened for
//! [`super::reviewable`]), and every other top-level key is kept as it is.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::reviewable;

/// `{"outputs": …}`: the only part of `planned_values` (and of `prior_state.values` and
/// `configuration.root_module`) the summary reads; everything else is skipped unparsed.
#[derive(Deserialize)]
struct WithOutputs {
    #[serde(default)]
    outputs: Value,
}

/// Of a resource change's `change`, what the summary reads: the actions and whether it
/// imports; its `before` values are skipped unparsed, and its `after` values are kept only
/// as [`super::reviewable`] flattens them (known values, unknown paths, secrets as digests).
#[derive(Deserialize)]
struct ChangeActions {
    #[serde(default)]
    actions: Value,
    #[serde(default)]
    importing: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    after_unknown: Value,
    #[serde(default)]
    after_sensitive: Value,
}

#[derive(Deserialize)]
struct PriorState {
    values: Option<WithOutputs>,
}

#[derive(Deserialize)]
struct Configuration {
    root_module: Option<WithOutputs>,
}

/// The `show -json` document with `planned_values`, `prior_state` and `configuration`
/// trimmed to their outputs.
pub(super) fn read(text: &str) -> Result<Value, serde_json::Error> {
    let doc: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
    let mut out = Map::new();
    for (key, raw) in doc {
        let value = match key.as_str() {
            "planned_values" => {
                let v: Option<WithOutputs> = serde_json::from_str(raw.get())?;
                json!({ "outputs": v.map_or(Value::Null, |v| v.outputs) })
            }
            "prior_state" => {
                let v: Option<PriorState> = serde_json::from_str(raw.get())?;
                json!({ "values": { "outputs": v.and_then(|v| v.values).map_or(Value::Null, |v| v.outputs) } })
            }
            "configuration" => {
                let v: Option<Configuration> = serde_json::from_str(raw.get())?;
                json!({ "root_module": { "outputs": v.and_then(|v| v.root_module).map_or(Value::Null, |v| v.outputs) } })
            }
            "resource_changes" | "resource_drift" => changes(raw)?,
            _ => serde_json::from_str(raw.get())?,
        };
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

/// The keys of a resource change the summary reads (`change` trimmed to its actions).
const CHANGE_KEYS: [&str; 5] = ["address", "previous_address", "deposed", "action_reason", "mode"];

/// One resource change as the summary reads it, built while parsing: the other keys (and
/// the `before`/`after` values) are skipped without being held.
struct TrimmedChange(Value);

impl<'de> Deserialize<'de> for TrimmedChange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = TrimmedChange;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a resource change object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TrimmedChange, A::Error> {
                let mut kept = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "change" {
                        let c: ChangeActions = map.next_value()?;
                        let actions: Vec<String> = serde_json::from_value(c.actions.clone()).unwrap_or_default();
                        let mut change = Map::new();
                        change.insert("actions".to_owned(), c.actions);
                        if !c.importing.is_null() {
                            change.insert("importing".to_owned(), c.importing);
                        }
                        if reviewable::acts(&actions) {
                            let (known, unknown) =
                                reviewable::known_after(&c.after, &c.after_unknown, &c.after_sensitive);
                            change.insert(reviewable::KNOWN_AFTER.to_owned(), json!(known));
                            change.insert(reviewable::UNKNOWN_AFTER.to_owned(), json!(unknown));
                        }
                        kept.insert(key, Value::Object(change));
                    } else if CHANGE_KEYS.contains(&key.as_str()) {
                        kept.insert(key, map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(TrimmedChange(Value::Object(kept)))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// A list of resource changes, trimmed as [`TrimmedChange`] says.
fn changes(raw: &RawValue) -> Result<Value, serde_json::Error> {
    let items: Option<Vec<TrimmedChange>> = serde_json::from_str(raw.get())?;
    Ok(items.map_or(Value::Null, |items| Value::Array(items.into_iter().map(|c| c.0).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_the_same_from_the_trimmed_document() {
        let full = json!({
            "format_version": "1.2",
            "resource_changes": [
                {"address": "a.b", "mode": "managed", "type": "t", "change": {"actions": ["create"], "after": {"big": "value"}}},
                {"address": "a.c", "previous_address": "a.x", "change": {"actions": ["no-op"], "importing": {"id": "i-1"}}},
            ],
            "resource_drift": [{"address": "a.d", "change": {"actions": ["update"], "before": {}, "after": {}}}],
            "output_changes": {"url": {"actions": ["create"], "after": "x"}},
            "planned_values": {"outputs": {"url": {"sensitive": false}}, "root_module": {"resources": [{"big": 1}]}},
            "prior_state": {"values": {"outputs": {"old": {"sensitive": true}}, "root_module": {}}},
            "configuration": {"root_module": {"outputs": {"url": {"sensitive": false}}, "resources": [1, 2]}},
            "errored": false,
        });
        let trimmed = read(&full.to_string()).expect("valid");
        assert_eq!(trimmed["planned_values"], json!({"outputs": {"url": {"sensitive": false}}}));
        assert_eq!(trimmed["prior_state"]["values"]["outputs"]["old"]["sensitive"], true);
        assert_eq!(trimmed["configuration"]["root_module"], json!({"outputs": {"url": {"sensitive": false}}}));
        assert_eq!(
            trimmed["resource_changes"],
            json!([
                {"address": "a.b", "mode": "managed", "change": {"actions": ["create"], "known_after": {"big": "value"}, "unknown_after": []}},
                {"address": "a.c", "previous_address": "a.x", "change": {"actions": ["no-op"], "importing": {"id": "i-1"}}},
            ])
        );
        let summary = |doc: &Value| format!("{:?}", crate::terraform::summary::summarize(doc));
        assert_eq!(summary(&trimmed), summary(&full));
        assert!(read("not json").is_err());
        let empty = read(r#"{"prior_state": null, "resource_changes": []}"#).expect("valid");
        assert_eq!(empty["prior_state"]["values"]["outputs"], Value::Null);
    }
}
