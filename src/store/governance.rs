//! What governance adds to a run record: every field optional and defaulted, so records
//! written before it read back unchanged and a run without governance writes nothing more.
//! (Policy results, cost, approvals, the reviewed plan and window overrides add theirs
//! here, each documented where it is decided.)

use serde::{Deserialize, Serialize};

/// Flattened into [`super::RunRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
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
}
