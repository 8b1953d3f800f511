//! The `CodeHost` seam: where customer files come from and where results are reported.
//!
//! The real implementation talks to the GitHub REST API (`github` module); the local one
//! (`local_host`) reads a directory and reports to the terminal.

use async_trait::async_trait;
use serde::Serialize;

use crate::identity::{CustomerId, Sha};

/// A commit status state, as GitHub names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
}

/// A commit status to set on a customer commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub state: StatusState,
    /// `infra/terraform-deploy/<env>`.
    pub context: String,
    /// At most 140 characters (GitHub's limit); longer text is cut by the implementation.
    pub description: String,
    pub target_url: Option<String>,
}

/// What an upsert of the sticky comment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentOutcome {
    Created,
    Updated,
    /// Local mode: printed instead of posted.
    Printed,
}

/// Errors of a code host, naming the call that failed.
#[derive(Debug, thiserror::Error)]
pub enum CodeHostError {
    #[error("can't read `{path}` at {repo}@{reference}: {message}")]
    Read { repo: String, path: String, reference: String, message: String },
    #[error("`{path}` is larger than {limit} bytes at {repo}@{reference}")]
    TooLarge { repo: String, path: String, reference: String, limit: usize },
    #[error("GitHub call `{call}` failed: {message}")]
    Call { call: String, message: String },
}

#[async_trait]
pub trait CodeHost: Send + Sync {
    /// Reads a text file at a commit; `Ok(None)` when the file does not exist there.
    async fn read_file(&self, repo: &CustomerId, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError>;

    /// Sets a commit status on `sha`.
    async fn set_status(&self, repo: &CustomerId, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError>;

    /// Creates or edits in place the one comment on `pr` that the service itself wrote and
    /// that starts with `marker` (the body must start with it too); a comment by anyone
    /// else is never edited, whatever it contains.
    async fn upsert_comment(
        &self,
        repo: &CustomerId,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError>;
}
