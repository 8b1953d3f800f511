//! Root module output changes, with every value that any part of the plan marks sensitive
//! shown as `(sensitive)`.
//!
//! Sensitivity is read by structure, in every format version: `after_sensitive` and
//! `before_sensitive` (`true`, or a structure of trues mirroring the value) from format 0.2
//! on, and `sensitive: true` on the output in `planned_values`, `prior_state` or the
//! configuration — the only marks a format 0.1 plan (Terraform 0.12) has.

use serde::Serialize;
use serde_json::Value;

use super::change::Action;

/// Longest output value shown before it is cut.
const MAX_VALUE_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    /// The planned value for display: JSON text, `(sensitive)`, `(known after apply)` or
    /// `(removed)`.
    pub value: String,
}

/// Every entry of `output_changes`, in name order.
pub(crate) fn output_changes(plan: &Value) -> Vec<OutputChange> {
    let Some(outputs) = plan["output_changes"].as_object() else {
        return Vec::new();
    };
    outputs
        .iter()
        .map(|(name, change)| OutputChange {
            name: name.clone(),
            action: Action::from_actions(&change["actions"]),
            value: display_value(change, marked_sensitive(plan, name)),
        })
        .collect()
}

/// Whether the output is marked sensitive anywhere outside its change.
fn marked_sensitive(plan: &Value, name: &str) -> bool {
    [
        &plan["planned_values"]["outputs"][name]["sensitive"],
        &plan["prior_state"]["values"]["outputs"][name]["sensitive"],
        &plan["configuration"]["root_module"]["outputs"][name]["sensitive"],
    ]
    .into_iter()
    .any(|v| v.as_bool() == Some(true))
}

fn display_value(change: &Value, marked_sensitive: bool) -> String {
    if Action::from_actions(&change["actions"]) == Action::Delete {
        return "(removed)".to_owned();
    }
    if marked_sensitive || is_truthy(&change["after_sensitive"]) || is_truthy(&change["before_sensitive"]) {
        return "(sensitive)".to_owned();
    }
    if is_truthy(&change["after_unknown"]) {
        return "(known after apply)".to_owned();
    }
    let text = change["after"].to_string();
    crate::report::truncate_chars(&text, MAX_VALUE_CHARS)
}

/// `true`, or any nested `true` (a partly sensitive or partly unknown value counts whole).
pub(crate) fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(is_truthy),
        Value::Object(map) => map.values().any(is_truthy),
        _ => false,
    }
}
