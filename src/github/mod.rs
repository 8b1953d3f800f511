//! The GitHub side of [`Files`] and [`Reporter`]: customer files, commit statuses and the sticky PR
//! comment over GitHub's REST API, plus `repository_dispatch` to the manager repository;
//! of [`Provenance`]: pull requests, the default branch and commit ancestry; and of
//! [`crate::codehost::IssueTracker`]: drift issues in the manager repository.
//!
//! Built on octocrab's raw request methods with octocrab's retry layer compiled out: the
//! retry policy is [`RetryPolicy`] (5xx, connection errors and timeouts, secondary and
//! primary rate limits, with exponential backoff and jitter, honouring `Retry-After` and
//! `x-ratelimit-reset`). The API base is passed in (the settings take it from
//! `GITHUB_API_URL`), so tests and GitHub Enterprise Server point it elsewhere.
//!
//! **Authentication.** One token for every call ([`GithubHost::new`]: a personal access
//! token or an Actions `GITHUB_TOKEN`), or a GitHub App ([`GithubHost::with_app`]): each
//! repository's calls then carry an installation token for that repository only, with the
//! permissions its [`Access`] needs, renewed before it expires (see `app`). Check runs
//! exist only with an App.
//!
//! **Identity.** The sticky comment is only ever a comment the service's own identity
//! wrote and that starts with the marker; anyone else's comment is left alone, whatever it
//! contains. The identity is the login set with [`GithubHost::with_identity`], else learned
//! once: with an App, `<app-slug>[bot]` from `GET /app`; with a token, from `GET /user` (a
//! personal access token's login, or `github-actions[bot]` when GitHub answers 403).
//!
//! Call [`install_crypto_provider`] once at start-up (the client also calls it).

mod api;
mod app;
mod approvals;
pub mod budget;
mod checks;
mod comments;
mod contents;
mod dispatch;
mod error;
mod identity;

/// The one rule for a GitHub login (a person, or an App's `<slug>[bot]`).
pub use self::identity::check_login;
mod issues;
mod pagination;
mod provenance;
mod retry;
pub mod setup;
mod statuses;
mod tls;
mod token;

use async_trait::async_trait;
use serde_json::Value;

pub use self::app::{Access, AppError, GithubApp, RENEW_BEFORE_SECS};
pub use self::error::GithubError;
pub use self::identity::ACTIONS_BOT_LOGIN;
pub use self::issues::GithubIssues;
pub use self::retry::RetryPolicy;
pub use self::tls::install_crypto_provider;
pub use self::token::{GithubToken, TokenError};
use crate::codehost::{
    Branch, CheckReport, CodeHostError, CommentOutcome, CommitStatus, Files, Provenance, PullRequest, Reporter,
    repository,
};
use crate::identity::{Owner, RepoId, Sha};

/// The REST API base when `GITHUB_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// `/repos/{owner}/{repo}`; both parts are validated names, safe in a URL path.
fn repo_path(repo: &RepoId) -> String {
    format!("/repos/{}/{}", repo.owner(), repo.repo())
}

/// [`Files`], [`Reporter`] and [`Provenance`] on the GitHub REST API.
pub struct GithubHost {
    api: api::Api,
    /// The login whose comments the service may edit; set, or learned on first need.
    identity: tokio::sync::OnceCell<String>,
    /// The files read, by repository, path and commit.
    files: contents::Cache,
}

impl GithubHost {
    /// A client for the API at `api_url` (e.g. `https://api.github.com`, or a GitHub
    /// Enterprise Server's `https://HOST/api/v3`).
    ///
    /// Must be called inside a Tokio runtime (octocrab spawns its request buffer there).
    ///
    /// The service's identity is learned from `GET /user` when first needed; see
    /// [`GithubHost::with_identity`] to set it.
    pub fn new(api_url: &str, token: GithubToken, retry: RetryPolicy) -> Result<Self, GithubError> {
        Ok(Self {
            api: api::Api::new(api_url, api::Auth::Token(token), retry)?,
            identity: tokio::sync::OnceCell::new(),
            files: contents::Cache::default(),
        })
    }

    /// A client that acts as the GitHub App `app`: each repository's calls carry an
    /// installation token for that repository only (see `app`), comments and check runs
    /// are the App's, and the identity is `<app-slug>[bot]` from `GET /app`.
    pub fn with_app(api_url: &str, app: GithubApp, retry: RetryPolicy) -> Result<Self, GithubError> {
        let auth = api::Auth::App(app::AppAuth::new(app));
        Ok(Self {
            api: api::Api::new(api_url, auth, retry)?,
            identity: tokio::sync::OnceCell::new(),
            files: contents::Cache::default(),
        })
    }

    /// Ends the waits between attempts when `cancel` fires (see [`api::Api`]).
    pub fn with_cancel(self, cancel: crate::cancel::Cancel) -> Self {
        Self { api: self.api.with_cancel(cancel), ..self }
    }

    /// Sets the login the token writes as (e.g. `infra-bot[bot]` for a GitHub App
    /// installation token), instead of learning it from `GET /user`. Refuses what can't be
    /// a GitHub login.
    pub fn with_identity(self, login: &str) -> Result<Self, GithubError> {
        let login = login.trim();
        identity::check_login(login)
            .map_err(|reason| GithubError::Login { login: crate::diagnostic::shown(login), reason })?;
        Ok(Self { identity: tokio::sync::OnceCell::new_with(Some(login.to_owned())), ..self })
    }

    /// The login whose comments the service may edit: the one set with
    /// [`GithubHost::with_identity`], else learned once from `GET /user` (a personal
    /// access token's login, or [`ACTIONS_BOT_LOGIN`] when GitHub answers 403).
    pub async fn identity(&self) -> Result<&str, CodeHostError> {
        let login = self.identity.get_or_try_init(|| identity::learn(&self.api)).await?;
        Ok(login.as_str())
    }

    /// The issues of `repo` (`owner/name`, the manager repository), where drift is
    /// reported; refuses what is not a repository name.
    pub fn issues(&self, repo: &str) -> Result<GithubIssues<'_>, CodeHostError> {
        GithubIssues::new(self, repo)
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
            .field("app", &self.api.app())
            .field("identity", &self.identity.get())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Files for GithubHost {
    async fn read_file(&self, owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        self.files.read(&self.api, repository(owner, HOST)?, path, sha).await
    }

    async fn contains(&self, owner: &Owner, commit: &Sha, ancestor: &Sha) -> Result<Option<bool>, CodeHostError> {
        provenance::descends_from(&self.api, repository(owner, HOST)?, ancestor, commit).await.map(Some)
    }
}

#[async_trait]
impl Reporter for GithubHost {
    async fn set_status(&self, owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        statuses::set_status(&self.api, repository(owner, HOST)?, sha, status).await
    }

    async fn upsert_comment(
        &self,
        owner: &Owner,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        let repo = repository(owner, HOST)?;
        // A body that can't be posted is refused before any call, even `GET /user`.
        comments::check(repo, pr, marker, body)?;
        let identity = self.identity().await?;
        comments::upsert(&self.api, identity, repo, pr, marker, body).await
    }

    /// Check runs are the App's: with a token, `None` (GitHub refuses them to tokens).
    async fn start_check(
        &self,
        owner: &Owner,
        sha: &Sha,
        name: &str,
        details_url: Option<&str>,
    ) -> Result<Option<u64>, CodeHostError> {
        if self.api.app().is_none() {
            return Ok(None);
        }
        checks::start(&self.api, repository(owner, HOST)?, sha, name, details_url).await.map(Some)
    }

    async fn finish_check(&self, owner: &Owner, id: u64, report: &CheckReport) -> Result<(), CodeHostError> {
        checks::finish(&self.api, repository(owner, HOST)?, id, report).await
    }

    async fn merged_pull_requests(&self, owner: &Owner, sha: &Sha) -> Result<Vec<u64>, CodeHostError> {
        let pulls = provenance::merged_as(&self.api, repository(owner, HOST)?, sha).await?;
        Ok(pulls.into_iter().map(|p| p.number).collect())
    }

    async fn merged_pulls(&self, owner: &Owner, sha: &Sha) -> Result<Vec<crate::codehost::MergedPull>, CodeHostError> {
        provenance::merged_as(&self.api, repository(owner, HOST)?, sha).await
    }

    async fn latest_status(
        &self,
        owner: &Owner,
        sha: &Sha,
        context: &str,
    ) -> Result<Option<crate::codehost::StatusState>, CodeHostError> {
        let state = statuses::latest_state(&self.api, repository(owner, HOST)?, sha, context).await?;
        Ok(state.and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok()))
    }
}

/// How errors name this host.
const HOST: &str = "GitHub";

#[async_trait]
impl crate::pipeline::approval::Approvals for GithubHost {
    async fn merged_pulls(
        &self,
        repo: &RepoId,
        sha: &Sha,
    ) -> Result<Vec<crate::pipeline::approval::MergedPull>, CodeHostError> {
        approvals::merged_pulls(&self.api, repo, sha).await
    }

    async fn reviews(
        &self,
        repo: &RepoId,
        number: u64,
    ) -> Result<Vec<crate::pipeline::approval::Review>, CodeHostError> {
        approvals::reviews(&self.api, repo, number).await
    }

    async fn run_approvals(
        &self,
        repo: &RepoId,
        run_id: u64,
    ) -> Result<Option<Vec<crate::pipeline::approval::RunApproval>>, CodeHostError> {
        approvals::run_approvals(&self.api, repo, run_id).await
    }
}

#[async_trait]
impl crate::codehost::ActionsRuns for GithubHost {
    async fn run_ended(&self, repo: &RepoId, run_id: u64, attempt: u32) -> Result<Option<bool>, CodeHostError> {
        let call = api::Call::get(format!("{}/actions/runs/{run_id}", repo_path(repo)));
        let reply = self.api.send(&call).await?;
        if reply.status == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if reply.status != http::StatusCode::OK {
            return Err(CodeHostError::Call { call: call.name(), message: format!("answered {}", reply.status) });
        }
        let run: Value = reply.json(&call)?;
        let completed = run["status"] == "completed";
        let later_attempt = run["run_attempt"].as_u64().is_some_and(|a| a > u64::from(attempt));
        Ok(Some(completed || later_attempt))
    }
}

#[async_trait]
impl Provenance for GithubHost {
    async fn pull_request(&self, repo: &RepoId, number: u64) -> Result<Option<PullRequest>, CodeHostError> {
        provenance::pull_request(&self.api, repo, number).await
    }

    async fn default_branch(&self, repo: &RepoId) -> Result<Branch, CodeHostError> {
        provenance::default_branch(&self.api, repo).await
    }

    async fn branch_head(&self, repo: &RepoId, branch: &str) -> Result<Option<Sha>, CodeHostError> {
        provenance::branch_head(&self.api, repo, branch).await
    }

    async fn descends_from(&self, repo: &RepoId, ancestor: &Sha, descendant: &Sha) -> Result<bool, CodeHostError> {
        provenance::descends_from(&self.api, repo, ancestor, descendant).await
    }
}
