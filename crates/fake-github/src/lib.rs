//! A stateful fake of the GitHub REST API subset that infra-manager calls, for tests.
//!
//! The fake is built from GitHub's own REST description (`openapi-subset.json`): requests
//! are matched to its operations, bodies are checked against the operations' request
//! schemas, and answers start from GitHub's example responses. Each test starts its own
//! fake on `127.0.0.1:0`, so tests run in parallel.
//!
//! ```no_run
//! # async fn demo() {
//! let github = fake_github::FakeGithub::start().await;
//! github.put_file("acme/web", "main", "infra/variables.yml", "project_name: web\n");
//! // point the code under test at github.url() (GITHUB_API_URL) ...
//! assert!(github.violations().is_empty());
//! assert!(github.unexpected().is_empty());
//! # }
//! ```
//!
//! Repositories exist once seeded (any `put_file`, `add_comments`, `add_issue_by`,
//! `set_default_branch`, `set_branch`, `add_commit`, `put_pull_request` or `add_repo`);
//! requests for other repositories get GitHub's 404.

mod app;
mod approvals;
mod clock;
mod faults;
mod git;
mod issues;
pub mod oidc;
mod routes;
mod schema;
mod server;
mod spec;
mod state;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::oneshot;

pub use crate::app::{
    CheckRun, MAX_ANNOTATIONS_PER_REQUEST, MAX_CHECK_OUTPUT_CHARS, TEST_APP_PRIVATE_KEY, TEST_APP_PUBLIC_KEY,
    TEST_INSTALLATION_ID, TokenRequest,
};
pub use crate::faults::Fault;
pub use crate::oidc::FakeOidcIssuer;
pub use crate::routes::{MAX_COMMENT_CHARS, MAX_DISPATCH_PAYLOAD_BYTES, MAX_STATUS_DESCRIPTION_CHARS};
pub use crate::spec::{OPENAPI_ENV, github_api_dir};
pub use crate::state::{
    ACTIONS_BOT_LOGIN, Comment, DEFAULT_USER_LOGIN, Issue, PullRequest, RecordedRequest, Review, RunApproval,
    SEEDED_COMMENT_LOGIN, Status, Violation, WorkflowRun,
};

use crate::faults::QueuedFault;
use crate::server::{App, lock};
use crate::spec::Spec;
use crate::state::State;

/// A running fake GitHub API; it shuts down when dropped.
pub struct FakeGithub {
    url: String,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeGithub {
    /// Starts a fake on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When GitHub's description can't be loaded (the message names the path and
    /// [`OPENAPI_ENV`]) or no local port can be bound.
    pub async fn start() -> FakeGithub {
        match Self::try_start().await {
            Ok(fake) => fake,
            Err(message) => panic!("{message}"),
        }
    }

    /// Starts a fake on `127.0.0.1:0`, or says why it can't.
    pub async fn try_start() -> Result<FakeGithub, String> {
        let spec = Spec::shared()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("fake-github: can't bind 127.0.0.1:0: {e}"))?;
        let address = listener.local_addr().map_err(|e| format!("fake-github: no local address: {e}"))?;
        let url = format!("http://{address}");
        let state = Arc::new(Mutex::new(State::new(url.clone())));
        let app = Arc::new(App { state: Arc::clone(&state), spec });
        let router = axum::Router::new().fallback(server::handle).with_state(app);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FakeGithub { url, state, shutdown: Some(shutdown) })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`; use it as `GITHUB_API_URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    // ----- seeding -----

    /// Makes `owner/repo` exist (default branch `main`).
    pub fn add_repo(&self, owner_repo: &str) {
        lock(&self.state).ensure_repo(owner_repo);
    }

    /// Sets the branch used by contents requests without `ref`.
    pub fn set_default_branch(&self, owner_repo: &str, branch: &str) {
        lock(&self.state).ensure_repo(owner_repo).default_branch = branch.to_owned();
    }

    /// Stores `contents` at `path` as of `git_ref_or_sha` (a branch name or a commit SHA).
    /// The ref then exists for the contents API, even for paths not stored under it.
    pub fn put_file(&self, owner_repo: &str, git_ref_or_sha: &str, path: &str, contents: impl AsRef<[u8]>) {
        let path = path.trim_matches('/').to_owned();
        lock(&self.state)
            .ensure_repo(owner_repo)
            .files
            .entry(git_ref_or_sha.to_owned())
            .or_default()
            .insert(path, contents.as_ref().to_vec());
    }

    /// Makes `git_ref_or_sha` exist in the repository with no files, so reads there answer
    /// "Not Found" rather than "No commit found for the ref".
    pub fn add_ref(&self, owner_repo: &str, git_ref_or_sha: &str) {
        lock(&self.state).ensure_repo(owner_repo).files.entry(git_ref_or_sha.to_owned()).or_default();
    }

    /// Adds commit `sha` with `parents` to the repository's commit graph (parents it does
    /// not know yet become parentless commits). The compare API answers from this graph.
    /// Sets workflow run `id` of `owner_repo` (`GET /repos/{owner}/{repo}/actions/runs/{id}`).
    pub fn put_workflow_run(&self, owner_repo: &str, id: u64, run: WorkflowRun) {
        lock(&self.state).ensure_repo(owner_repo).workflow_runs.insert(id, run);
    }

    pub fn add_commit(&self, owner_repo: &str, sha: &str, parents: &[&str]) {
        lock(&self.state).ensure_repo(owner_repo).graph.add(sha, parents);
    }

    /// Points `branch` at `sha` (added to the graph as a parentless commit if unknown).
    /// `GET /branches/{branch}` answers it; `set_default_branch` picks the default.
    pub fn set_branch(&self, owner_repo: &str, branch: &str, sha: &str) {
        let mut state = lock(&self.state);
        let repo = state.ensure_repo(owner_repo);
        if !repo.graph.contains(sha) {
            repo.graph.add(sha, &[]);
        }
        repo.branches.insert(branch.to_owned(), sha.to_owned());
    }

    /// Creates or replaces pull request `pr.number` (e.g. a new push moves its head).
    pub fn put_pull_request(&self, owner_repo: &str, pr: PullRequest) {
        lock(&self.state).ensure_repo(owner_repo).pulls.insert(pr.number, pr);
    }

    /// Adds `n` comments by [`SEEDED_COMMENT_LOGIN`] to issue or PR `issue_number`, the
    /// `i`th (from 0) with body `body_fn(i)`; returns their ids in order.
    pub fn add_comments(
        &self,
        owner_repo: &str,
        issue_number: u64,
        n: usize,
        body_fn: impl FnMut(usize) -> String,
    ) -> Vec<u64> {
        self.add_comments_by(owner_repo, issue_number, SEEDED_COMMENT_LOGIN, n, body_fn)
    }

    /// Adds `n` comments by `login`, like [`FakeGithub::add_comments`].
    pub fn add_comments_by(
        &self,
        owner_repo: &str,
        issue_number: u64,
        login: &str,
        n: usize,
        mut body_fn: impl FnMut(usize) -> String,
    ) -> Vec<u64> {
        let mut state = lock(&self.state);
        (0..n).map(|i| state.add_comment(owner_repo, issue_number, login, body_fn(i))).collect()
    }

    /// Adds one comment by [`SEEDED_COMMENT_LOGIN`]; returns its id.
    pub fn add_comment(&self, owner_repo: &str, issue_number: u64, body: &str) -> u64 {
        self.add_comment_by(owner_repo, issue_number, SEEDED_COMMENT_LOGIN, body)
    }

    /// Adds one comment by `login` (e.g. a PR author, or the bot); returns its id.
    pub fn add_comment_by(&self, owner_repo: &str, issue_number: u64, login: &str, body: &str) -> u64 {
        lock(&self.state).add_comment(owner_repo, issue_number, login, body.to_owned())
    }

    /// Opens an issue by `login` (e.g. a person who copied the service's marker); returns
    /// its number.
    pub fn add_issue_by(&self, owner_repo: &str, login: &str, title: &str, body: &str, labels: &[&str]) -> u64 {
        let labels = labels.iter().map(|l| (*l).to_owned()).collect();
        lock(&self.state).add_issue(owner_repo, login, title.to_owned(), Some(body.to_owned()), labels)
    }

    /// Requests that carry `token` act as `login`: comments they create are by `login`, and
    /// `GET /user` answers `login` (except for `ghs_` tokens, which get GitHub's 403 there
    /// whatever they stand for). Unregistered tokens stand for [`ACTIONS_BOT_LOGIN`]
    /// (`ghs_...`) or [`DEFAULT_USER_LOGIN`] (anything else).
    pub fn add_token(&self, token: &str, login: &str) {
        lock(&self.state).tokens.insert(token.to_owned(), login.to_owned());
    }

    /// Installs the test GitHub App (id `app_id`, slug `slug`, key
    /// [`TEST_APP_PRIVATE_KEY`]) on `repos`: its JWT is then accepted, and the
    /// installation tokens it gets stand for `<slug>[bot]` and live one hour.
    pub fn install_app(&self, app_id: u64, slug: &str, repos: &[&str]) {
        let mut state = lock(&self.state);
        for repo in repos {
            state.ensure_repo(repo);
        }
        state.app = Some(crate::app::FakeApp {
            id: app_id,
            slug: slug.to_owned(),
            repos: repos.iter().map(|r| r.to_ascii_lowercase()).collect(),
            token_lifetime: 3600,
            tokens: std::collections::BTreeMap::new(),
            permissions: crate::app::default_permissions(),
        });
    }

    /// The installed App's permissions from now on (a JSON object such as
    /// `{"contents": "read"}`); by default, everything infra-manager asks for.
    pub fn set_app_permissions(&self, permissions: Value) {
        if let Some(app) = lock(&self.state).app.as_mut() {
            app.permissions = permissions;
        }
    }

    /// Answers for `token` carry `X-OAuth-Scopes: scopes`, as GitHub's answers for a
    /// classic personal access token do (e.g. `"repo, workflow"`).
    pub fn set_token_scopes(&self, token: &str, scopes: &str) {
        lock(&self.state).token_scopes.insert(token.to_owned(), scopes.to_owned());
    }

    /// A deployment environment `name` in `owner_repo`, with these required reviewers
    /// (none: an environment without protection rules).
    pub fn put_environment(&self, owner_repo: &str, name: &str, reviewers: &[&str]) {
        let mut state = lock(&self.state);
        state.ensure_repo(owner_repo);
        state.environments.insert(
            (owner_repo.to_ascii_lowercase(), name.to_owned()),
            reviewers.iter().map(|r| (*r).to_owned()).collect(),
        );
    }

    /// A review by `login` on pull request `number`, submitted on `commit_id`, in `state`
    /// (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`).
    pub fn add_review(&self, owner_repo: &str, number: u64, login: &str, state: &str, commit_id: &str) {
        let review = Review { login: login.to_owned(), state: state.to_owned(), commit_id: commit_id.to_owned() };
        lock(&self.state).ensure_repo(owner_repo).reviews.entry(number).or_default().push(review);
    }

    /// An entry in workflow run `run_id`'s review history: `login` `state` (`approved`,
    /// `rejected`) the deployment to `environments`.
    pub fn add_run_approval(&self, owner_repo: &str, run_id: u64, login: &str, state: &str, environments: &[&str]) {
        let approval = RunApproval {
            login: login.to_owned(),
            state: state.to_owned(),
            environments: environments.iter().map(|e| (*e).to_owned()).collect(),
        };
        lock(&self.state).ensure_repo(owner_repo).run_approvals.entry(run_id).or_default().push(approval);
    }

    /// Installation tokens issued from now on live `seconds` (GitHub: 3600).
    pub fn set_app_token_lifetime(&self, seconds: u64) {
        if let Some(app) = lock(&self.state).app.as_mut() {
            app.token_lifetime = seconds;
        }
    }

    // ----- inspection -----

    /// Every installation token request, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        lock(&self.state).token_requests.clone()
    }

    /// The check runs of `owner_repo`, oldest first.
    pub fn check_runs(&self, owner_repo: &str) -> Vec<CheckRun> {
        lock(&self.state).repo(owner_repo).map(|r| r.check_runs.clone()).unwrap_or_default()
    }

    /// The statuses set on `sha`, oldest first.
    pub fn statuses(&self, owner_repo: &str, sha: &str) -> Vec<Status> {
        lock(&self.state)
            .repo(owner_repo)
            .and_then(|r| r.statuses.get(sha))
            .map(|s| s.iter().map(|stored| stored.status.clone()).collect())
            .unwrap_or_default()
    }

    /// The comments on issue or PR `issue_number`, oldest first.
    pub fn comments(&self, owner_repo: &str, issue_number: u64) -> Vec<Comment> {
        lock(&self.state)
            .repo(owner_repo)
            .map(|r| {
                r.comments
                    .iter()
                    .filter(|c| c.issue_number == issue_number)
                    .map(|c| Comment { id: c.id, body: c.body.clone(), user: c.user.clone() })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The issues of `owner_repo`, open and closed, in the order they were opened.
    pub fn issues(&self, owner_repo: &str) -> Vec<Issue> {
        lock(&self.state).repo(owner_repo).map(|r| r.issues.clone()).unwrap_or_default()
    }

    /// The full bodies of the `repository_dispatch` events sent to `owner_repo`, in order.
    pub fn dispatches(&self, owner_repo: &str) -> Vec<Value> {
        lock(&self.state).repo(owner_repo).map(|r| r.dispatches.clone()).unwrap_or_default()
    }

    /// Every request received, in order, whatever the answer was.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests were writes (any method but `GET`/`HEAD`/`OPTIONS`), accepted or not.
    pub fn write_count(&self) -> usize {
        lock(&self.state).requests.iter().filter(|r| r.is_write()).count()
    }

    /// Requests that broke their operation's contract (body schema, query parameters,
    /// documented GitHub limits); a correct client leaves this empty. Answers of the fake
    /// that break GitHub's response schema (a bug in the fake) are recorded here too.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.state).violations.clone()
    }

    /// Requests that matched no operation the fake answers; they got a 404 naming them.
    pub fn unexpected(&self) -> Vec<RecordedRequest> {
        lock(&self.state).unexpected.clone()
    }

    // ----- faults -----

    /// Queues `fault` for the next request whose method is `method` (or `*`) and whose path
    /// starts with `path_prefix`.
    pub fn inject(&self, method: &str, path_prefix: &str, fault: Fault) {
        self.inject_times(method, path_prefix, fault, 1);
    }

    /// Queues `fault` for the next `times` matching requests.
    pub fn inject_times(&self, method: &str, path_prefix: &str, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.state).faults.push(QueuedFault {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_owned(),
            fault,
            remaining: times,
        });
    }

    /// Faults still waiting for a request.
    pub fn pending_faults(&self) -> usize {
        lock(&self.state).faults.iter().map(|f| f.remaining).sum()
    }
}

/// One of GitHub's example webhook payloads committed in `github-api/events/`, e.g.
/// `pull_request.opened.0.json` (the JSON an Actions run finds at `GITHUB_EVENT_PATH`).
///
/// # Panics
/// When the file is missing or not JSON; the message names the path.
pub fn example_event(name: &str) -> Value {
    let path = github_api_dir().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fake-github: `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fake-github: `{}` is not JSON: {e}", path.display()))
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl std::fmt::Debug for FakeGithub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGithub").field("url", &self.url).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_loads_and_every_implemented_operation_has_its_examples() {
        let spec = Spec::shared().expect("the OpenAPI subset loads");
        for (id, status) in [
            ("repos/get-content", 200),
            ("repos/create-commit-status", 201),
            ("issues/list-comments", 200),
            ("issues/create-comment", 201),
            ("issues/update-comment", 200),
            ("repos/get", 200),
            ("rate-limit/get", 200),
            ("users/get-authenticated", 200),
            ("pulls/get", 200),
            ("repos/list-pull-requests-associated-with-commit", 200),
            ("repos/get-branch", 200),
            ("repos/compare-commits-with-basehead", 200),
            ("issues/list-for-repo", 200),
            ("issues/create", 201),
            ("issues/get", 200),
            ("issues/update", 200),
        ] {
            let op = spec.operation(id).unwrap_or_else(|| panic!("{id} is in the description"));
            assert!(op.example(status, None).is_some(), "{id} has a {status} example");
        }
        let dispatch = spec.operation("repos/create-dispatch-event").expect("dispatch is in the description");
        assert!(dispatch.request_schema.is_some());
    }

    #[test]
    fn the_reference_data_is_committed_in_this_crate() {
        let dir = github_api_dir();
        assert!(dir.starts_with(env!("CARGO_MANIFEST_DIR")), "{}", dir.display());
        assert!(dir.join("openapi-subset.json").is_file());
        assert!(std::fs::read_to_string(dir.join("README.md")).is_ok_and(|r| r.contains("stands alone")));
        assert_eq!(example_event("repository_dispatch.on-demand-test.0.json")["action"], "on-demand-test");
        assert!(example_event("pull_request.opened.0.json")["pull_request"]["head"]["sha"].is_string());
    }

    #[test]
    fn a_missing_description_fails_loudly_with_its_path() {
        let err = Spec::load(std::path::Path::new("/nonexistent/openapi.json")).expect_err("missing file");
        assert!(err.contains("/nonexistent/openapi.json") && err.contains(OPENAPI_ENV), "{err}");
    }
}
