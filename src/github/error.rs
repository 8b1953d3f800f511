//! Errors of the GitHub client; each names the call that failed.

use crate::codehost::CodeHostError;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("invalid GitHub API URL `{url}`: {reason}")]
    ApiUrl { url: String, reason: String },
    #[error("can't set up the GitHub client: {0}")]
    Client(String),
    /// The configured identity of the service is not a GitHub login.
    #[error("`{login}` is not a GitHub login: {reason}")]
    Login { login: String, reason: String },
    /// Every attempt failed with something worth retrying.
    #[error("GitHub call `{call}` failed after {attempts} attempts: {reason}")]
    GaveUp { call: String, attempts: u32, reason: String },
    /// GitHub answered with a status the call does not accept (and retrying can't fix).
    #[error("GitHub call `{call}` failed: {reason}")]
    Refused { call: String, status: u16, reason: String },
    /// GitHub answered, but not with what the call expects.
    #[error("GitHub call `{call}` returned an unexpected answer: {reason}")]
    Unexpected { call: String, reason: String },
    /// The request could not be built or was refused before sending.
    #[error("GitHub call `{call}` could not be made: {reason}")]
    Request { call: String, reason: String },
    /// The run was asked to stop while the call waited to be tried again.
    #[error("GitHub call `{call}` was not tried again: the run was cancelled (last failure: {reason})")]
    Cancelled { call: String, reason: String },
}

impl From<GithubError> for CodeHostError {
    fn from(error: GithubError) -> Self {
        match error {
            GithubError::GaveUp { call, attempts, reason } => {
                CodeHostError::Unavailable { call, message: format!("{reason} (gave up after {attempts} attempts)") }
            }
            GithubError::Cancelled { call, reason } => CodeHostError::Cancelled { call, reason },
            GithubError::Refused { call, reason, .. } => CodeHostError::Call { call, message: reason },
            GithubError::Unexpected { call, reason } => {
                CodeHostError::Call { call, message: format!("unexpected answer: {reason}") }
            }
            GithubError::Request { call, reason } => CodeHostError::Call { call, message: reason },
            setup @ (GithubError::ApiUrl { .. } | GithubError::Client(_) | GithubError::Login { .. }) => {
                CodeHostError::Call { call: "(client set-up)".to_owned(), message: setup.to_string() }
            }
        }
    }
}
