//! What a `plan -json` stream says about the plan it saved: the messages that describe
//! changes (not progress), kept as Terraform wrote them. [`super::summary`] counts them by
//! the same rules as `show -json`.

use serde_json::Value;

/// The message types that describe a plan, in Terraform's and OpenTofu's machine-readable UI.
const PLAN_MESSAGES: [&str; 7] = [
    "planned_change",
    "resource_drift",
    "change_summary",
    "outputs",
    "deferred_change",
    "planned_action_invocation",
    "diagnostic",
];

/// The plan-describing messages of one `plan -json` run, and whether it stopped with an error.
#[derive(Debug, Clone, Default)]
pub struct StreamedPlan {
    pub(crate) messages: Vec<Value>,
    /// `plan` exited 1 (an error) and still saved a plan: partial, never to be applied.
    pub errored: bool,
}

impl StreamedPlan {
    /// From messages as they came (any message; the ones that don't describe the plan are
    /// dropped).
    pub fn new(messages: impl IntoIterator<Item = Value>, errored: bool) -> Self {
        Self { messages: messages.into_iter().filter(is_plan_message).collect(), errored }
    }

    /// The messages of `kind` (`planned_change`, …), in stream order.
    pub(crate) fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.messages.iter().filter(move |m| m["type"] == kind)
    }
}

/// Whether a stream message describes the plan (kept), rather than its progress.
pub(crate) fn is_plan_message(msg: &Value) -> bool {
    msg["type"].as_str().is_some_and(|t| PLAN_MESSAGES.contains(&t))
}

/// The version a stream's first message announces: `{"type":"version","terraform":"1.11.4"}`
/// (OpenTofu: `"tofu"`).
pub(crate) fn announced_version(msg: &Value) -> Option<&str> {
    (msg["type"] == "version").then(|| msg["terraform"].as_str().or_else(|| msg["tofu"].as_str())).flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_version_message_of_terraform_and_opentofu_is_read() {
        assert_eq!(announced_version(&json!({"type": "version", "terraform": "1.11.4", "ui": "1.2"})), Some("1.11.4"));
        assert_eq!(announced_version(&json!({"type": "version", "tofu": "1.9.0", "ui": "1.2"})), Some("1.9.0"));
        assert_eq!(announced_version(&json!({"type": "log", "terraform": "1.11.4"})), None);
    }

    #[test]
    fn progress_messages_are_not_kept() {
        let plan = StreamedPlan::new(
            [
                json!({"type": "refresh_start"}),
                json!({"type": "planned_change", "change": {}}),
                json!({"type": "version"}),
                json!({"type": "change_summary"}),
            ],
            false,
        );
        assert_eq!(plan.messages.len(), 2);
        assert_eq!(plan.of_type("planned_change").count(), 1);
    }
}
