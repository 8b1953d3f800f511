//! The fake's memory: repositories, files, statuses, comments, dispatches, and a record of
//! every request, schema violation and unexpected call.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::app::{CheckRun, FakeApp, TokenRequest};
use crate::clock;
use crate::faults::QueuedFault;
use crate::git::Graph;

/// A commit status as the fake stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    /// Whoever the token that set it stands for.
    pub creator: String,
}

/// An issue or pull-request comment as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// The author's login (`user.login`): whoever the token that created it stands for.
    pub user: String,
}

/// An issue as the fake stores it (pull requests are not issues here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `completed`, `not_planned`, `reopened` or `None`.
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    /// The author's login: whoever the token that created it stands for.
    pub user: String,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

/// A pull request as a test seeds it ([`crate::FakeGithub::put_pull_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The commit at the tip of the PR's head branch.
    pub head_sha: String,
    /// The head branch name, `feature` by default.
    pub head_ref: String,
    /// `owner/name` of the repository the head branch is in: `None` for the PR's own
    /// repository, `Some` for a fork.
    pub head_repo: Option<String>,
    /// The branch the PR targets, `main` by default.
    pub base_ref: String,
    /// `open` (the default) or `closed`.
    pub state: String,
    pub merged: bool,
    /// The test merge commit GitHub keeps for an open PR (`refs/pull/N/merge`).
    pub merge_commit_sha: Option<String>,
    /// The PR author's login, `octocat` by default.
    pub user: String,
}

impl PullRequest {
    /// An open PR from branch `feature` of the same repository into `main`.
    pub fn open(number: u64, head_sha: &str) -> Self {
        Self {
            number,
            head_sha: head_sha.to_owned(),
            head_ref: "feature".to_owned(),
            head_repo: None,
            base_ref: "main".to_owned(),
            state: "open".to_owned(),
            merged: false,
            merge_commit_sha: None,
            user: "octocat".to_owned(),
        }
    }

    /// Closed without merging.
    pub fn closed(self) -> Self {
        Self { state: "closed".to_owned(), merged: false, ..self }
    }

    /// Closed by merging.
    pub fn merged(self) -> Self {
        Self { state: "closed".to_owned(), merged: true, ..self }
    }

    /// Opened from a fork: the head branch is in `owner_repo`.
    pub fn from_fork(self, owner_repo: &str) -> Self {
        Self { head_repo: Some(owner_repo.to_owned()), ..self }
    }

    pub fn with_merge_commit(self, sha: &str) -> Self {
        Self { merge_commit_sha: Some(sha.to_owned()), ..self }
    }
}

/// One request the fake received, whatever it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    pub query: Option<String>,
    /// The body parsed as JSON, a JSON string when it was not JSON, `null` when empty.
    pub body: Value,
}

impl RecordedRequest {
    /// `GET`, `HEAD` and `OPTIONS` read; everything else is a write.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

impl fmt::Display for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// A request that broke the operation's contract (body schema, query parameters, or a
/// documented GitHub limit such as the 65,536-character comment body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub method: String,
    pub path: String,
    /// GitHub's `operationId`, e.g. `repos/create-commit-status`.
    pub operation: String,
    pub errors: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}): {}", self.method, self.path, self.operation, self.errors.join("; "))
    }
}

/// A workflow run's state: `queued`, `in_progress` or `completed`, its conclusion, its attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    pub status: String,
    pub conclusion: Option<String>,
    pub attempt: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredStatus {
    pub id: u64,
    pub status: Status,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredComment {
    pub id: u64,
    pub issue_number: u64,
    pub body: String,
    pub user: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A pull request review, as a test submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub login: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING`.
    pub state: String,
    /// The commit the review was submitted on.
    pub commit_id: String,
}

/// An entry of a workflow run's review history (an environment approval or rejection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunApproval {
    pub login: String,
    /// `approved`, `rejected` or `pending`.
    pub state: String,
    /// The environments it approved or rejected.
    pub environments: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub id: u64,
    /// `owner/repo` with the casing it was first seeded with.
    pub full_name: String,
    pub default_branch: String,
    /// ref or SHA → path → contents.
    pub files: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// SHA → statuses in the order they were set.
    pub statuses: BTreeMap<String, Vec<StoredStatus>>,
    /// Workflow runs by id, as a test set them.
    pub workflow_runs: BTreeMap<u64, WorkflowRun>,
    pub comments: Vec<StoredComment>,
    /// Issues in the order they were created (numbers ascending).
    pub issues: Vec<Issue>,
    pub dispatches: Vec<Value>,
    pub check_runs: Vec<CheckRun>,
    pub pulls: BTreeMap<u64, PullRequest>,
    /// Pull request number → its reviews, in the order they were submitted.
    pub reviews: BTreeMap<u64, Vec<Review>>,
    /// Workflow run id → its environment approvals (the review history), oldest first.
    pub run_approvals: BTreeMap<u64, Vec<RunApproval>>,
    /// Branch name → the SHA at its tip.
    pub branches: BTreeMap<String, String>,
    pub graph: Graph,
}

impl Repo {
    /// A branch's tip, or a commit the repository knows (in the graph, or a SHA that
    /// files were stored at); `None` for anything else.
    pub(crate) fn resolve(&self, reference: &str) -> Option<String> {
        if let Some(sha) = self.branches.get(reference) {
            return Some(sha.clone());
        }
        let is_sha = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
        (is_sha && (self.graph.contains(reference) || self.files.contains_key(reference)))
            .then(|| reference.to_ascii_lowercase())
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub base_url: String,
    repos: BTreeMap<String, Repo>,
    next_id: u64,
    pub requests: Vec<RecordedRequest>,
    pub violations: Vec<Violation>,
    pub unexpected: Vec<RecordedRequest>,
    pub faults: Vec<QueuedFault>,
    /// token → login, for tokens a test registered (and the App's installation tokens).
    pub tokens: BTreeMap<String, String>,
    /// token → its `X-OAuth-Scopes` (classic personal access tokens a test registered).
    pub token_scopes: BTreeMap<String, String>,
    /// (owner/repo lowercase, environment) → its required reviewers' logins.
    pub environments: BTreeMap<(String, String), Vec<String>>,
    /// The GitHub App a test installed.
    pub app: Option<FakeApp>,
    /// Every installation token request, in order.
    pub token_requests: Vec<TokenRequest>,
}

/// The login GitHub gives an Actions `GITHUB_TOKEN`: the fake's login for an unregistered
/// `ghs_` token.
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";
/// The login of any other unregistered token (a personal access token).
pub const DEFAULT_USER_LOGIN: &str = "fake-user";
/// The author of comments seeded with `add_comment` and `add_comments`.
pub const SEEDED_COMMENT_LOGIN: &str = "octocat";

/// Whether `token` is a GitHub App installation token or an Actions `GITHUB_TOKEN`
/// (`ghs_`): GitHub answers `GET /user` with 403 for those.
pub(crate) fn is_installation_token(token: &str) -> bool {
    token.starts_with("ghs_")
}

/// GitHub names are case-insensitive.
fn key(owner_repo: &str) -> String {
    owner_repo.to_ascii_lowercase()
}

impl State {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            repos: BTreeMap::new(),
            next_id: 1_000_001,
            requests: Vec::new(),
            violations: Vec::new(),
            unexpected: Vec::new(),
            faults: Vec::new(),
            tokens: BTreeMap::new(),
            token_scopes: BTreeMap::new(),
            environments: BTreeMap::new(),
            app: None,
            token_requests: Vec::new(),
        }
    }

    /// Who `token` stands for: the login a test registered, else `github-actions[bot]`
    /// for a `ghs_` token and `fake-user` for any other.
    pub(crate) fn login_for(&self, token: &str) -> String {
        match self.tokens.get(token) {
            Some(login) => login.clone(),
            None if is_installation_token(token) => ACTIONS_BOT_LOGIN.to_owned(),
            None => DEFAULT_USER_LOGIN.to_owned(),
        }
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn repo(&self, owner_repo: &str) -> Option<&Repo> {
        self.repos.get(&key(owner_repo))
    }

    pub(crate) fn repo_mut(&mut self, owner_repo: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&key(owner_repo))
    }

    /// The repository, created (default branch `main`) if the fake has not seen it yet.
    pub(crate) fn ensure_repo(&mut self, owner_repo: &str) -> &mut Repo {
        assert!(
            owner_repo.split('/').count() == 2 && !owner_repo.starts_with('/') && !owner_repo.ends_with('/'),
            "fake-github: `{owner_repo}` is not `owner/repo`"
        );
        if !self.repos.contains_key(&key(owner_repo)) {
            let id = self.next_id();
            self.repos.insert(
                key(owner_repo),
                Repo {
                    id,
                    full_name: owner_repo.to_owned(),
                    default_branch: "main".to_owned(),
                    files: BTreeMap::new(),
                    statuses: BTreeMap::new(),
                    workflow_runs: BTreeMap::new(),
                    comments: Vec::new(),
                    issues: Vec::new(),
                    dispatches: Vec::new(),
                    check_runs: Vec::new(),
                    pulls: BTreeMap::new(),
                    reviews: BTreeMap::new(),
                    run_approvals: BTreeMap::new(),
                    branches: BTreeMap::new(),
                    graph: Graph::default(),
                },
            );
        }
        self.repos.get_mut(&key(owner_repo)).expect("inserted above")
    }

    pub(crate) fn add_comment(&mut self, owner_repo: &str, issue_number: u64, user: &str, body: String) -> u64 {
        let id = self.next_id();
        let now = clock::now_rfc3339();
        self.ensure_repo(owner_repo).comments.push(StoredComment {
            id,
            issue_number,
            body,
            user: user.to_owned(),
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// Opens an issue by `user`; its number follows every issue, pull request and
    /// commented-on number the repository has, as GitHub numbers them in one sequence.
    pub(crate) fn add_issue(
        &mut self,
        owner_repo: &str,
        user: &str,
        title: String,
        body: Option<String>,
        labels: Vec<String>,
    ) -> u64 {
        let now = clock::now_rfc3339();
        let repo = self.ensure_repo(owner_repo);
        let number = repo
            .issues
            .iter()
            .map(|i| i.number)
            .chain(repo.pulls.keys().copied())
            .chain(repo.comments.iter().map(|c| c.issue_number))
            .max()
            .unwrap_or(0)
            + 1;
        repo.issues.push(Issue {
            number,
            title,
            body,
            state: "open".to_owned(),
            state_reason: None,
            labels,
            user: user.to_owned(),
            created_at: now.clone(),
            updated_at: now,
            closed_at: None,
        });
        number
    }

    pub(crate) fn add_status(&mut self, owner_repo: &str, sha: &str, status: Status) -> StoredStatus {
        let stored = StoredStatus { id: self.next_id(), status, created_at: clock::now_rfc3339() };
        self.ensure_repo(owner_repo).statuses.entry(sha.to_owned()).or_default().push(stored.clone());
        stored
    }
}
