//! What governance adds to a run record: every field optional and defaulted, so records
//! written before it read back unchanged and a run without governance writes nothing more.
//! (Policy results, cost, approvals, the reviewed plan and window overrides add theirs
//! here, each documented where it is decided.)

use serde::{Deserialize, Serialize};

/// Flattened into [`super::RunRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
    // --- The reviewed plan across the merge (issue 22 item 4, `pipeline/reviewed.rs`) ---
    /// The pull request merged as the applied commit, whose last plan was compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_pr: Option<u64>,
    /// That pull request's head: the commit whose plan its reviewers saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_sha: Option<String>,
    /// Whether the applied plan equals the reviewed one; `None` when there was nothing to
    /// compare with (`reviewed_note` says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_plan_equal: Option<bool>,
    /// How many addresses differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_differences: Option<u32>,
    /// When the difference was shown (RFC 3339): an approval must come after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_difference_shown_at: Option<String>,
    /// Why nothing was compared (`no reviewed plan found for #7 (2222222)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_note: Option<String>,
    // --- end of the reviewed plan ---
    // --- Approvals, windows and audit (issue 22 items 3, 5, 6) ---
    /// Who approved the apply (a GitHub login), when its environment requires approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// Where the approval was read: `environment:<name>` (the run's deployment review) or
    /// `review:#<pr>` (an approving pull request review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_source: Option<String>,
    /// Who asked for the change: the author of the pull request merged as the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// An apply outside the environment's windows (`--break-glass`): the reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_reason: Option<String>,
    /// The stored plan's digest (hex sha256) the apply or destroy applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    // --- end of issue 22 items 3, 5, 6 ---
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
