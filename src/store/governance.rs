//! What governance adds to a run record: every field optional and defaulted, so records
//! written before it read back unchanged and a run without governance writes nothing more.
//! (Policy results, cost, approvals, the reviewed plan and window overrides add theirs
//! here, each documented where it is decided.)

use serde::{Deserialize, Serialize};

/// Flattened into [`super::RunRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
    // --- policy and cost (issue 22 items 1-2, `crate::policy`, `crate::cost`) ---
    /// Every `deny` message of the plan's policies (a plan with any is never stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_denies: Vec<PolicyMessage>,
    /// Every `warn` message of the plan's policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_warnings: Vec<PolicyMessage>,
    /// The environment's monthly cost, in cents, by the catalog's prices: of the
    /// configuration last applied, and of this plan's (`crate::cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_before_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_after_cents: Option<i64>,
    // --- end policy ---
}

/// One message of a policy: which file said it, and about which component (when it says).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyMessage {
    /// The policy file, relative to `policy.dir`.
    pub policy: String,
    /// The rule that produced it: `deny` or `warn`.
    pub rule: String,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

impl PolicyMessage {
    /// `policy: [component: ]msg`, one line (for a status, a log, a record).
    pub fn line(&self) -> String {
        match &self.component {
            Some(c) => format!("{}: {c}: {}", self.policy, self.msg),
            None => format!("{}: {}", self.policy, self.msg),
        }
    }
}
