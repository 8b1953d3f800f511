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
}
