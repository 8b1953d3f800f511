//! A plan summary from `terraform show -json PLANFILE`: counts per action, each changed
//! resource with its action, and output changes with sensitive values kept as `(sensitive)`.

use serde::Serialize;
use serde_json::Value;

/// What happens to one resource or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Read,
    NoOp,
}

impl Action {
    /// From a change's `actions` list, as Terraform writes it.
    fn from_actions(actions: &Value) -> Self {
        let names: Vec<&str> =
            actions.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        match names.as_slice() {
            ["create"] => Action::Create,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["read"] => Action::Read,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            _ => Action::NoOp,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "destroy",
            Action::Read => "read",
            Action::NoOp => "no-op",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    pub address: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    /// The planned value for display: JSON text, `(sensitive)` or `(known after apply)`.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PlanSummary {
    /// Counted as Terraform counts them: a replacement is one add and one destroy.
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    pub replace: u32,
    pub resources: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
}

impl PlanSummary {
    /// Whether applying would change anything (resources or outputs).
    pub fn has_changes(&self) -> bool {
        !self.resources.is_empty() || self.outputs.iter().any(|o| o.action != Action::NoOp)
    }

    /// `Plan: 3 to add, 0 to change, 0 to destroy` (or `No changes`).
    pub fn headline(&self) -> String {
        if !self.has_changes() {
            return "No changes".to_owned();
        }
        if self.resources.is_empty() {
            return "Only output values change".to_owned();
        }
        format!("Plan: {} to add, {} to change, {} to destroy", self.add, self.change, self.destroy)
    }
}

/// Longest output value shown before it is cut.
const MAX_VALUE_CHARS: usize = 200;

/// Summarises a `show -json` document.
pub fn summarize(plan: &Value) -> PlanSummary {
    let mut summary = PlanSummary::default();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let action = Action::from_actions(&rc["change"]["actions"]);
        match action {
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Delete => summary.destroy += 1,
            Action::Replace => {
                summary.add += 1;
                summary.destroy += 1;
                summary.replace += 1;
            }
            Action::Read | Action::NoOp => continue,
        }
        let address = rc["address"].as_str().unwrap_or("(unknown)").to_owned();
        summary.resources.push(ResourceChange { address, action });
    }
    if let Some(outputs) = plan["output_changes"].as_object() {
        for (name, change) in outputs {
            let action = Action::from_actions(&change["actions"]);
            summary.outputs.push(OutputChange { name: name.clone(), action, value: display_value(change) });
        }
    }
    summary
}

fn display_value(change: &Value) -> String {
    if action_deletes(change) {
        return "(removed)".to_owned();
    }
    if is_truthy(&change["after_sensitive"]) {
        return "(sensitive)".to_owned();
    }
    if is_truthy(&change["after_unknown"]) {
        return "(known after apply)".to_owned();
    }
    let text = change["after"].to_string();
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn action_deletes(change: &Value) -> bool {
    change["actions"].as_array().is_some_and(|a| a.len() == 1 && a[0] == "delete")
}

/// `true`, or any nested `true` (a partly sensitive or partly unknown value counts whole).
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(is_truthy),
        Value::Object(map) => map.values().any(is_truthy),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replacements_count_as_one_add_and_one_destroy() {
        let plan = json!({"resource_changes": [
            {"address": "a.x", "change": {"actions": ["delete", "create"]}},
            {"address": "a.y", "change": {"actions": ["no-op"]}},
            {"address": "data.a.z", "change": {"actions": ["read"]}},
            {"address": "a.w", "change": {"actions": ["update"]}}
        ]});
        let s = summarize(&plan);
        assert_eq!((s.add, s.change, s.destroy, s.replace), (1, 1, 1, 1));
        assert_eq!(s.resources.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(), ["a.x", "a.w"]);
        assert_eq!(s.headline(), "Plan: 1 to add, 1 to change, 1 to destroy");
    }

    #[test]
    fn nested_sensitive_and_unknown_values_are_masked() {
        let plan = json!({"output_changes": {
            "a": {"actions": ["create"], "after": {"k": "secret"}, "after_sensitive": {"k": true}, "after_unknown": false},
            "b": {"actions": ["create"], "after": null, "after_sensitive": false, "after_unknown": true},
            "c": {"actions": ["no-op"], "after": [1, 2], "after_sensitive": false, "after_unknown": false}
        }});
        let s = summarize(&plan);
        let values: Vec<&str> = s.outputs.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["(sensitive)", "(known after apply)", "[1,2]"]);
        assert!(s.has_changes());
        assert_eq!(s.headline(), "Only output values change");
    }
}
