//! The seams between a flow and where its owner lives: [`Files`] (where an owner's file is
//! read at a commit: a customer repository on GitHub, a local checkout, the manager
//! checkout for a tenant), [`Reporter`] (statuses, the sticky comment, check runs: GitHub,
//! or the log) and [`Provenance`] (where a dispatched commit comes from: GitHub only).
//!
//! `Provenance` is a separate trait so that sources without pull requests or branches
//! need not pretend to have them.

use async_trait::async_trait;
use serde::Serialize;

use crate::diagnostic::FileProblem;
use crate::identity::{Owner, RepoId, RequestId, Sha};

/// A commit status state, as GitHub names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// How a check run ended, as GitHub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckConclusion {
    Success,
    Failure,
    /// Finished with nothing to do (a plan or apply without changes).
    Neutral,
    Cancelled,
}

/// A note on a line of a file in the commit (an invalid `infra/variables.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckAnnotation {
    pub path: String,
    pub start_line: u64,
    pub end_line: u64,
    /// Only on single-line annotations (GitHub ignores columns across lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u64>,
    /// `failure` for a problem that stops the run.
    pub annotation_level: &'static str,
    pub message: String,
}

/// What a completed check run shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub conclusion: CheckConclusion,
    pub title: String,
    /// Markdown, at most [`crate::limits::CHECK_OUTPUT_CHARS`] characters.
    pub summary: String,
    /// Markdown, at most [`crate::limits::CHECK_OUTPUT_CHARS`] characters.
    pub text: Option<String>,
    pub annotations: Vec<CheckAnnotation>,
}

/// Errors of a code host, naming the call that failed.
#[derive(Debug, thiserror::Error)]
pub enum CodeHostError {
    #[error("can't read `{path}` at {repo}@{reference}: {message}")]
    Read { repo: String, path: String, reference: String, message: String },
    #[error("`{path}` at {repo}@{reference} can't be used: {}", crate::diagnostic::Diagnostic::whole_file(path, problem).message)]
    Unusable { repo: String, path: String, reference: String, problem: FileProblem },
    #[error("GitHub call `{call}` failed: {message}")]
    Call { call: String, message: String },
    /// Every attempt failed with something worth retrying (5xx, rate limits): GitHub may
    /// answer later.
    #[error("GitHub call `{call}` failed: {message}")]
    Unavailable { call: String, message: String },
    /// The run was asked to stop while a call waited to be tried again.
    #[error("GitHub call `{call}` was not tried again: the run was cancelled (last failure: {reason})")]
    Cancelled { call: String, reason: String },
    /// A host asked about an owner it does not hold (a tenant of a customer host).
    #[error("{owner} is not read or reported through {host}")]
    NotHere { owner: String, host: &'static str },
}

/// Where an owner's files come from: a customer repository on GitHub, a local checkout, or
/// the manager checkout's Git history (a tenant's file).
#[async_trait]
pub trait Files: Send + Sync {
    /// Reads a text file at a commit; `Ok(None)` when the file does not exist there.
    async fn read_file(&self, owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError>;

    /// Whether `commit` contains `ancestor` (is it, or descends from it); `None` where the
    /// source can't tell.
    async fn contains(&self, _owner: &Owner, _commit: &Sha, _ancestor: &Sha) -> Result<Option<bool>, CodeHostError> {
        Ok(None)
    }

    /// What `sha` of `owner` is here: a commit, or the digest of a local file.
    fn revision(&self, _owner: &Owner, _sha: &Sha) -> crate::store::Revision {
        crate::store::Revision::Commit
    }

    /// The provisioning requests named (`Request-Id:` trailers) by the commits that changed
    /// `owner`'s file, held by `until` and not by `since`, newest first, with their commits;
    /// none where requests are not kept (customers). A trailer only points: the caller
    /// checks each against the request's record ([`crate::notify`]).
    async fn request_commits(
        &self,
        _owner: &Owner,
        _since: Option<&Sha>,
        _until: &Sha,
    ) -> Result<Vec<(String, Sha)>, CodeHostError> {
        Ok(Vec::new())
    }

    /// What the commit that last changed `owner`'s file at or before `sha` says of the
    /// provisioning request that made it; `None` where owners make no requests (a customer's
    /// repository) or the commit names none.
    async fn request_claim(&self, _owner: &Owner, _sha: &Sha) -> Result<Option<RequestClaim>, CodeHostError> {
        Ok(None)
    }
}

/// A commit's message naming the provisioning request that made it (`Request-Id:` and
/// `Requested-By:` trailers). Anyone who can push writes a message: a claim is believed
/// only where the request's record names this very commit (`crate::policy::request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestClaim {
    /// The commit that last changed the owner's file.
    pub commit: Sha,
    pub request_id: RequestId,
    pub requested_by: Option<String>,
}

/// Where a run's results go: commit statuses, the sticky comment, check runs. GitHub, or
/// the log where there is no repository to report to (local mode, a tenant without a
/// GitHub credential).
#[async_trait]
pub trait Reporter: Send + Sync {
    /// Sets a commit status on `sha`.
    async fn set_status(&self, owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError>;

    /// Creates or edits in place the one comment on `pr` that the service itself wrote and
    /// that starts with `marker` (the body must start with it too); a comment by anyone
    /// else is never edited, whatever it contains.
    async fn upsert_comment(
        &self,
        owner: &Owner,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError>;

    /// The pull requests merged as `sha` (where an apply's result is reported); none where
    /// there are no pull requests (local mode).
    async fn merged_pull_requests(&self, _owner: &Owner, _sha: &Sha) -> Result<Vec<u64>, CodeHostError> {
        Ok(Vec::new())
    }

    /// The pull requests merged as `sha`, each with its head when merged (the commit its
    /// reviewers last saw planned); by default those of
    /// [`Reporter::merged_pull_requests`], with no head known.
    async fn merged_pulls(&self, owner: &Owner, sha: &Sha) -> Result<Vec<MergedPull>, CodeHostError> {
        let numbers = self.merged_pull_requests(owner, sha).await?;
        Ok(numbers.into_iter().map(|number| MergedPull { number, head_sha: None }).collect())
    }

    /// The state of the newest status of `context` on `sha`; `None` where statuses can't be
    /// read back (the log).
    async fn latest_status(
        &self,
        _owner: &Owner,
        _sha: &Sha,
        _context: &str,
    ) -> Result<Option<StatusState>, CodeHostError> {
        Ok(None)
    }

    /// Starts the check run `name` on `sha`, in progress, linking to `details_url`;
    /// returns its id, or `None` where there are no check runs (local mode, a token that
    /// is not a GitHub App's).
    async fn start_check(
        &self,
        _owner: &Owner,
        _sha: &Sha,
        _name: &str,
        _details_url: Option<&str>,
    ) -> Result<Option<u64>, CodeHostError> {
        Ok(None)
    }

    /// Completes the check run `id` that [`Reporter::start_check`] started.
    async fn finish_check(&self, _owner: &Owner, _id: u64, _report: &CheckReport) -> Result<(), CodeHostError> {
        Ok(())
    }
}

/// Reports to the log: one line per status (naming the owner), comments returned to the
/// command, which prints them (local mode, a tenant without a GitHub credential).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogReporter {
    /// Whether status lines name the owner (many owners share the log of a fleet run or
    /// of a tenant workflow).
    pub name_owner: bool,
}

#[async_trait]
impl Reporter for LogReporter {
    async fn set_status(&self, owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        log_status(self.name_owner.then_some(owner), sha, status);
        Ok(())
    }

    async fn upsert_comment(
        &self,
        _owner: &Owner,
        _pr: u64,
        _marker: &str,
        _body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        Ok(CommentOutcome::Printed)
    }
}

/// The repository of a customer `owner`; a tenant is refused, naming `host`.
pub fn repository<'a>(owner: &'a Owner, host: &'static str) -> Result<&'a RepoId, CodeHostError> {
    owner.repository().ok_or_else(|| CodeHostError::NotHere { owner: owner.to_string(), host })
}

/// Every owner's files through one source: customers' through `customers` (GitHub, or
/// local checkouts), tenants' through `tenants` (the manager checkout). Fleet verbs run
/// over both kinds of target with it.
pub struct OwnerFiles<'a> {
    pub customers: &'a dyn Files,
    pub tenants: &'a dyn Files,
}

impl OwnerFiles<'_> {
    fn of(&self, owner: &Owner) -> &dyn Files {
        match owner {
            Owner::Customer(_) => self.customers,
            Owner::Tenant(_) => self.tenants,
        }
    }
}

#[async_trait]
impl Files for OwnerFiles<'_> {
    async fn read_file(&self, owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        self.of(owner).read_file(owner, path, sha).await
    }

    async fn contains(&self, owner: &Owner, commit: &Sha, ancestor: &Sha) -> Result<Option<bool>, CodeHostError> {
        self.of(owner).contains(owner, commit, ancestor).await
    }

    fn revision(&self, owner: &Owner, sha: &Sha) -> crate::store::Revision {
        self.of(owner).revision(owner, sha)
    }

    async fn request_claim(&self, owner: &Owner, sha: &Sha) -> Result<Option<RequestClaim>, CodeHostError> {
        self.of(owner).request_claim(owner, sha).await
    }
}

/// Every owner's results through one reporter: customers' to `customers`, tenants' to
/// `tenants`.
pub struct OwnerReporter<'a> {
    pub customers: &'a dyn Reporter,
    pub tenants: &'a dyn Reporter,
}

impl OwnerReporter<'_> {
    fn of(&self, owner: &Owner) -> &dyn Reporter {
        match owner {
            Owner::Customer(_) => self.customers,
            Owner::Tenant(_) => self.tenants,
        }
    }
}

#[async_trait]
impl Reporter for OwnerReporter<'_> {
    async fn set_status(&self, owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        self.of(owner).set_status(owner, sha, status).await
    }

    async fn upsert_comment(
        &self,
        owner: &Owner,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        self.of(owner).upsert_comment(owner, pr, marker, body).await
    }

    async fn merged_pull_requests(&self, owner: &Owner, sha: &Sha) -> Result<Vec<u64>, CodeHostError> {
        self.of(owner).merged_pull_requests(owner, sha).await
    }

    async fn merged_pulls(&self, owner: &Owner, sha: &Sha) -> Result<Vec<MergedPull>, CodeHostError> {
        self.of(owner).merged_pulls(owner, sha).await
    }

    async fn latest_status(
        &self,
        owner: &Owner,
        sha: &Sha,
        context: &str,
    ) -> Result<Option<StatusState>, CodeHostError> {
        self.of(owner).latest_status(owner, sha, context).await
    }

    async fn start_check(
        &self,
        owner: &Owner,
        sha: &Sha,
        name: &str,
        details_url: Option<&str>,
    ) -> Result<Option<u64>, CodeHostError> {
        self.of(owner).start_check(owner, sha, name, details_url).await
    }

    async fn finish_check(&self, owner: &Owner, id: u64, report: &CheckReport) -> Result<(), CodeHostError> {
        self.of(owner).finish_check(owner, id, report).await
    }
}

/// A pull request merged as a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPull {
    pub number: u64,
    /// Its head commit (`head.sha`), when the host says.
    pub head_sha: Option<Sha>,
}

/// A pull request, as the dispatch admission checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The commit at the tip of the PR's head branch now.
    pub head_sha: Sha,
    /// `state: open` (a merged or closed PR is not open).
    pub open: bool,
    /// `owner/name` of the repository the PR is in (its base), lowercase.
    pub base_repo: String,
    /// `owner/name` of the repository the head branch is in, lowercase: `base_repo` for a
    /// branch of the same repository, another for a fork, `None` when that fork was deleted.
    pub head_repo: Option<String>,
    /// The test merge commit GitHub keeps for an open PR (`refs/pull/N/merge`), when it has
    /// computed one. A workflow run for a `pull_request` event runs on this commit
    /// (`GITHUB_SHA`), and its OIDC token names it in the `sha` claim, not `head_sha`.
    pub merge_commit_sha: Option<Sha>,
}

impl PullRequest {
    /// Whether the head branch is in another repository than the PR (a fork, or a deleted one).
    pub fn is_from_fork(&self) -> bool {
        self.head_repo.as_deref() != Some(self.base_repo.as_str())
    }
}

/// A repository's default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub name: String,
    /// The commit at its tip now.
    pub head: Sha,
}

/// Where a dispatched commit comes from: what binds a `repository_dispatch` payload (a
/// repository, a SHA, a PR number) to the customer's repository (issue 9).
///
/// GitHub resolves a SHA across a repository's whole fork network: a commit pushed only
/// to a fork can be read, and compared, through the parent repository. So
/// [`Provenance::descends_from`] says nothing about which branch a commit is on; pair it
/// with [`Provenance::default_branch`] (the head of the default branch) or
/// [`Provenance::pull_request`] (the head of the PR).
#[async_trait]
pub trait Provenance: Send + Sync {
    /// The PR `number` of `repo`: its head SHA, whether it is open, and the repositories its
    /// head and base are in; `None` when `repo` has no such PR (404). A repository the
    /// token can't see is an error, not `None`.
    async fn pull_request(&self, repo: &RepoId, number: u64) -> Result<Option<PullRequest>, CodeHostError>;

    /// `repo`'s default branch: its name and head commit.
    async fn default_branch(&self, repo: &RepoId) -> Result<Branch, CodeHostError>;

    /// The head commit of `repo`'s branch `branch` (a merge queue's `gh-readonly-queue/…`);
    /// `None` when `repo` has no such branch (404). A repository the token can't see is an
    /// error, not `None`.
    async fn branch_head(&self, repo: &RepoId, branch: &str) -> Result<Option<Sha>, CodeHostError>;

    /// Whether `descendant` is `ancestor` or descends from it (compare
    /// `ancestor...descendant`: status `identical` or `ahead`). A SHA unknown to `repo`
    /// (404), or two commits with no common ancestor, is `false`, not an error; a
    /// repository the token can't see is an error.
    async fn descends_from(&self, repo: &RepoId, ancestor: &Sha, descendant: &Sha) -> Result<bool, CodeHostError>;
}

/// A status where there is no repository to set it on (local mode, a tenant without a
/// GitHub credential): one log line, naming `subject` when the context doesn't.
pub fn log_status(subject: Option<&Owner>, sha: &Sha, status: &CommitStatus) {
    let state = crate::report::name_of(&status.state);
    let subject = subject.map(|s| format!(" {s}")).unwrap_or_default();
    crate::output::log(&format!(
        "status {}{subject} @ {}: {state} — {}",
        status.context,
        sha.short(),
        status.description
    ));
}

/// Workflow runs of the manager repository: whether the run that left a lock has ended.
#[async_trait]
pub trait ActionsRuns: Send + Sync {
    /// Whether attempt `attempt` of workflow run `run_id` of `repo` has ended (the run is
    /// `completed`, or a later attempt started); `None` when GitHub does not know the run.
    async fn run_ended(&self, repo: &RepoId, run_id: u64, attempt: u32) -> Result<Option<bool>, CodeHostError>;
}

/// An open issue the service opened in the manager repository, as [`IssueTracker`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedIssue {
    pub number: u64,
    pub title: String,
    pub body: String,
}

/// A change to an issue: a new title and body, and optionally its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueEdit {
    pub title: String,
    pub body: String,
    /// `Some(true)` closes it (as completed), `Some(false)` reopens it, `None` leaves it.
    pub close: Option<bool>,
}

/// Issues in the manager repository: where drift is reported (issue 11). The manager
/// repository is not a customer repository, so this is its own seam, bound to one
/// repository and one label; `drift` without `--open-issues` never opens it.
#[async_trait]
pub trait IssueTracker: Send + Sync {
    /// Every open issue labelled `label` that the service itself opened (all pages),
    /// oldest first. An issue anyone else opened is never listed, whatever it contains.
    async fn open_issues(&self, label: &str) -> Result<Vec<TrackedIssue>, CodeHostError>;

    /// Opens an issue labelled `label`; returns its number.
    async fn create_issue(&self, title: &str, body: &str, label: &str) -> Result<u64, CodeHostError>;

    /// Edits issue `number` in place.
    async fn edit_issue(&self, number: u64, edit: &IssueEdit) -> Result<(), CodeHostError>;
}
