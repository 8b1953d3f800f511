//! One resource instance's planned change, read from a `resource_changes`, `resource_drift` or
//! `deferred_changes` entry: its action by Terraform's own action list, where it moved from,
//! whether it is imported, and why Terraform chose the action. No attribute value is read here.

use serde::Serialize;
use serde_json::Value;

/// What happens to one resource instance or output, as Terraform's `actions` list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// `["delete","create"]` or, with create_before_destroy, `["create","delete"]`.
    Replace,
    Delete,
    /// `["forget"]`: a `removed` block with `destroy = false`; the object leaves the state
    /// but is not destroyed.
    Forget,
    /// `["create","forget"]`: replaced, and the old object is forgotten instead of destroyed.
    CreateThenForget,
    /// A data source read during apply.
    Read,
    NoOp,
    /// An action list this version does not know; shown loudly rather than dropped.
    Unknown,
}

impl Action {
    /// From a change's `actions` list, as Terraform writes it.
    pub(crate) fn from_actions(actions: &Value) -> Self {
        let names: Vec<&str> =
            actions.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        match names.as_slice() {
            ["create"] => Action::Create,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["read"] => Action::Read,
            ["no-op"] => Action::NoOp,
            ["forget"] => Action::Forget,
            ["create", "forget"] => Action::CreateThenForget,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            _ => Action::Unknown,
        }
    }

    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "destroy",
            Action::Forget => "forget",
            Action::CreateThenForget => "replace, forget old",
            Action::Read => "read",
            Action::NoOp => "no-op",
            Action::Unknown => "unknown action",
        }
    }

    /// Destroys an object or drops it from the state (or might: an unknown action).
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Replace | Action::Forget | Action::CreateThenForget | Action::Unknown)
    }
}

/// One resource instance that the plan changes, moves, imports or reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResourceChange {
    pub address: String,
    pub action: Action,
    /// The address before a `moved` block (or a refactoring) moved it: shown `old → new`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// The plan imports this object (an `import` block).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub importing: bool,
    /// The key of a deposed object (left over from a failed create_before_destroy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// Why Terraform chose the action, in words, when the plan says (`not in configuration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<std::borrow::Cow<'static, str>>,
}

impl ResourceChange {
    /// Reads a `resource_changes` / `resource_drift` entry (or a deferred change's
    /// `resource_change`).
    pub(crate) fn from_json(rc: &Value) -> Self {
        let address = rc["address"].as_str().unwrap_or("(unknown address)").to_owned();
        let moved_from =
            rc["previous_address"].as_str().filter(|prev| !prev.is_empty() && *prev != address).map(str::to_owned);
        let importing = rc["change"]["importing"].is_object();
        let deposed = rc["deposed"].as_str().filter(|d| !d.is_empty()).map(str::to_owned);
        let action = Action::from_actions(&rc["change"]["actions"]);
        // Terraform gives a forget the reason of a delete; its renderer says this instead.
        let reason = match action {
            Action::Forget | Action::CreateThenForget => Some("destroy = false is set in the configuration".into()),
            _ => rc["action_reason"].as_str().and_then(reason_text).map(Into::into),
        };
        ResourceChange { action, reason, address, moved_from, importing, deposed }
    }

    /// Whether Terraform lists this change in its plan (a no-op only when moved or imported).
    pub fn is_listed(&self) -> bool {
        self.action != Action::NoOp || self.moved_from.is_some() || self.importing
    }

    /// The module call the object is in (`module.<name>.…` → `<name>`): in a v2 root, the
    /// customer's component; `None` for an object of the root module.
    pub fn component(&self) -> Option<&str> {
        let rest = self.address.strip_prefix("module.")?;
        rest.split(['.', '[']).next().filter(|name| !name.is_empty())
    }

    /// `import, update`, `move`, `destroy`: the action with what else happens to the object.
    pub fn label(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if self.importing {
            parts.push("import");
        }
        if self.action != Action::NoOp {
            parts.push(self.action.label());
        }
        if self.moved_from.is_some() {
            parts.push("move");
        }
        parts.join(", ")
    }

    /// The address as Terraform shows it, with a deposed object's key.
    pub fn display_address(&self) -> String {
        match &self.deposed {
            Some(key) => format!("{} (deposed object {key})", self.address),
            None => self.address.clone(),
        }
    }
}

/// Terraform's `action_reason` values, in the words of its own plan renderer.
fn reason_text(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "replace_because_cannot_update" => "cannot be updated in place",
        "replace_because_tainted" => "tainted",
        "replace_by_request" => "replacement requested",
        "replace_by_triggers" => "replace_triggered_by changed",
        "delete_because_no_resource_config" => "not in configuration",
        "delete_because_wrong_repetition" => "count or for_each changed",
        "delete_because_count_index" => "index out of range for count",
        "delete_because_each_key" => "key not in for_each",
        "delete_because_no_module" => "module not in configuration",
        "delete_because_no_move_target" => "moved to an address not in configuration",
        "read_because_config_unknown" => "config refers to values not yet known",
        "read_because_dependency_pending" => "depends on changes pending",
        "read_because_check_nested" => "config reloaded to verify a check block",
        _ => return None,
    })
}

/// Why Terraform deferred a change, in the words of its own plan renderer.
pub(crate) fn deferred_reason_text(reason: &str) -> &'static str {
    match reason {
        "instance_count_unknown" => "the number of resource instances is unknown",
        "resource_config_unknown" => "the resource configuration is unknown",
        "provider_config_unknown" => "the provider configuration is unknown",
        "deferred_prereq" => "a prerequisite for this resource is deferred",
        "absent_prereq" => "a prerequisite for this resource has not yet been created",
        "excluded" => "the resource was excluded",
        "not_included" => "the resource was not included",
        _ => "an unknown reason",
    }
}
