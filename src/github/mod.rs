//! The GitHub side of [`CodeHost`]: customer files, commit statuses and the sticky PR
//! comment over GitHub's REST API, plus `repository_dispatch` to the manager repository.
//!
//! Built on octocrab's raw request methods with octocrab's retry layer compiled out: the
//! retry policy is [`RetryPolicy`] (5xx, connection errors and timeouts, secondary and
//! primary rate limits, with exponential backoff and jitter, honouring `Retry-After` and
//! `x-ratelimit-reset`). The API base is passed in (the settings take it from
//! `GITHUB_API_URL`), so tests and GitHub Enterprise Server point it elsewhere.
//!
//! Call [`install_crypto_provider`] once at start-up (the client also calls it).

mod api;
mod comments;
mod contents;
mod dispatch;
mod error;
mod pagination;
mod retry;
mod statuses;
mod tls;
mod token;

use async_trait::async_trait;
use serde_json::Value;

pub use self::error::GithubError;
pub use self::retry::RetryPolicy;
pub use self::tls::install_crypto_provider;
pub use self::token::{GithubToken, TokenError};
use crate::codehost::{CodeHost, CodeHostError, CommentOutcome, CommitStatus};
use crate::identity::{CustomerId, Sha};

/// The REST API base when `GITHUB_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// `/repos/{owner}/{repo}`; both parts are validated names, safe in a URL path.
fn repo_path(repo: &CustomerId) -> String {
    format!("/repos/{}/{}", repo.owner(), repo.repo())
}

/// [`CodeHost`] on the GitHub REST API.
pub struct GithubHost {
    api: api::Api,
}

impl GithubHost {
    /// A client for the API at `api_url` (e.g. `https://api.github.com`, or a GitHub
    /// Enterprise Server's `https://HOST/api/v3`).
    ///
    /// Must be called inside a Tokio runtime (octocrab spawns its request buffer there).
    pub fn new(api_url: &str, token: GithubToken, retry: RetryPolicy) -> Result<Self, GithubError> {
        Ok(Self { api: api::Api::new(api_url, &token, retry)? })
    }

    /// The API base in use, without a trailing slash.
    pub fn api_url(&self) -> &str {
        self.api.base_url()
    }

    /// Sends a `repository_dispatch` event to `repo` (`owner/name`, usually the manager
    /// repository). `client_payload` must be a JSON object of at most 10 properties.
    pub async fn send_dispatch(
        &self,
        repo: &str,
        event_type: &str,
        client_payload: Value,
    ) -> Result<(), CodeHostError> {
        dispatch::send(&self.api, repo, event_type, client_payload).await
    }
}

impl std::fmt::Debug for GithubHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubHost")
            .field("api_url", &self.api.base_url())
            .field("retry", self.api.policy())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CodeHost for GithubHost {
    async fn read_file(&self, repo: &CustomerId, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        contents::read_file(&self.api, repo, path, sha).await
    }

    async fn set_status(&self, repo: &CustomerId, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        statuses::set_status(&self.api, repo, sha, status).await
    }

    async fn upsert_comment(
        &self,
        repo: &CustomerId,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        comments::upsert(&self.api, repo, pr, marker, body).await
    }
}
