//! GitHub mode end to end: the real binary, real Terraform, the fake GitHub API on
//! 127.0.0.1 and GitHub's own event payloads (`crates/fake-github/github-api/events/`).

use std::path::PathBuf;

use fake_github::{FakeGithub, Fault, PullRequest};
use serde_json::{Value, json};

use crate::support;
use crate::support::cli::{Output, Run, Sandbox, require_terraform, v1_variables};

const CUSTOMER: &str = "acme/webshop";
const MANAGER: &str = "provider/manager";
const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const PR: u64 = 7;

/// GitHub's example payload `name`, from the copy committed in `crates/fake-github/github-api/events/`.
fn shared_event(name: &str) -> Value {
    fake_github::example_event(name)
}

fn template() -> String {
    std::fs::read_to_string(v1_variables()).expect("the v1 customer file")
}

/// A manager run environment: sandbox config with a registry, the fake GitHub, event files.
struct Manager {
    sb: Sandbox,
    fake: FakeGithub,
}

impl Manager {
    async fn new() -> Self {
        Self::with_config("customers:\n  - repo: acme/webshop\n    environments: [staging, production]\n").await
    }

    /// A manager whose `infra-manager.yml` ends with `config` (the registry and more).
    async fn with_config(config: &str) -> Self {
        let sb = Sandbox::new();
        sb.add_config(config);
        let fake = FakeGithub::start().await;
        fake.add_repo(CUSTOMER);
        fake.add_repo(MANAGER);
        Self { sb, fake }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sb.path().join(name)
    }

    /// A `repository_dispatch` event file built from GitHub's example payload.
    fn dispatch_event(&self, action: &str, repository: &str, sha: &str, pr: Option<u64>) -> PathBuf {
        let mut event = shared_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!(action);
        event["client_payload"] = json!({"repository": repository, "sha": sha, "ref": "refs/heads/feature", "pull_request": pr, "event": "pull_request"});
        let path = self.path(&format!("event-{}.json", fastrand::u32(..)));
        std::fs::write(&path, event.to_string()).expect("write event");
        path
    }

    fn run(&self, event_name: &str, event: &std::path::Path, args: &[&str]) -> Run {
        Run::new(self.sb.path())
            .args(args)
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_TOKEN", "ghs_manager_token_value")
            .env("GITHUB_REPOSITORY", MANAGER)
            .in_actions(self.sb.path(), event_name, event, "4242")
    }

    /// Plans `sha` as the head of the open pull request [`PR`] (as a push to it would).
    async fn plan(&self, sha: &str) -> Output {
        self.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, sha));
        let event = self.dispatch_event("infra-plan", CUSTOMER, sha, Some(PR));
        self.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await
    }

    /// Holds a plan's steps past the second after which its pending status is set (the
    /// sticky comment's listing answers after 1.5 s), so the run sets one.
    fn hold_the_steps_past_a_second(&self) {
        self.fake.inject("GET", "/repos/acme/webshop/issues/", Fault::Delay(std::time::Duration::from_millis(1500)));
    }

    fn assert_clean(&self) {
        assert!(self.fake.violations().is_empty(), "schema violations: {:#?}", self.fake.violations());
        assert!(self.fake.unexpected().is_empty(), "unexpected requests: {:#?}", self.fake.unexpected());
    }

    fn marker_comments(&self) -> Vec<fake_github::Comment> {
        self.fake
            .comments(CUSTOMER, PR)
            .into_iter()
            .filter(|c| c.body.contains("<!-- infra-manager:plan:staging -->"))
            .collect()
    }
}

const RUN_URL: &str = "https://github.com/provider/manager/actions/runs/4242";

/// Runs `dispatch` for a `pull_request` event, inside GitHub Actions or outside it.
async fn dispatch_pull_request(m: &Manager, in_actions: bool) -> Output {
    let event = m.path("pr.json");
    std::fs::write(&event, shared_event("pull_request.opened.0.json").to_string()).expect("write");
    let run = Run::new(m.sb.path())
        .args(["dispatch", "--manager-repo", MANAGER])
        .env("GITHUB_API_URL", m.fake.url())
        .env("GITHUB_TOKEN", "ghs_customer_token")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event);
    let run = if in_actions { run.env("GITHUB_ACTIONS", "true") } else { run };
    run.run_async().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_from_a_pull_request_sends_exactly_one_well_formed_event() {
    let m = Manager::new().await;
    let out = dispatch_pull_request(&m, true).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dispatches = m.fake.dispatches(MANAGER);
    assert_eq!(dispatches.len(), 1, "{dispatches:#?}");
    assert_eq!(
        dispatches[0],
        json!({"event_type": "infra-plan", "client_payload": {
            "repository": "codertocat/hello-world",
            "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            "ref": "refs/heads/changes",
            "pull_request": 2,
            "event": "pull_request"
        }})
    );
    // The token appears once: in the line that tells the runner to mask it.
    let with_token: Vec<&str> =
        out.stderr.lines().chain(out.stdout.lines()).filter(|l| l.contains("ghs_customer_token")).collect();
    assert_eq!(with_token, ["::add-mask::ghs_customer_token"]);
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_github_actions_the_token_is_never_printed() {
    let m = Manager::new().await;
    let out = dispatch_pull_request(&m, false).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("ghs_customer_token") && !out.stdout.contains("ghs_customer_token"), "{out:?}");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_the_default_branch_dispatches_an_apply() {
    let m = Manager::new().await;
    let mut push = shared_event("push.0.json");
    push["ref"] = json!("refs/heads/master");
    let event = m.path("push.json");
    std::fs::write(&event, push.to_string()).expect("write");
    let out = Run::new(m.sb.path())
        .args(["dispatch", "--manager-repo", MANAGER])
        .env("GITHUB_API_URL", m.fake.url())
        .env("GITHUB_TOKEN", "t")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", &event)
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dispatches = m.fake.dispatches(MANAGER);
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0]["event_type"], "infra-apply");
    assert_eq!(dispatches[0]["client_payload"]["event"], "push");
    m.assert_clean();
}

/// GitHub's `merge_group` example: queue commit `QUEUE_SHA` on the queue branch of PR
/// #104 (head `QUEUED_PR_HEAD`) for `main` at `QUEUE_BASE`, in `octo-org/octo-repo`.
const QUEUE_CUSTOMER: &str = "octo-org/octo-repo";
const QUEUE_SHA: &str = "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d";
const QUEUE_BASE: &str = "380387fbc80638b734a49e1be1c4dfec1c01b33c";
const QUEUED_PR_HEAD: &str = "929f8209d40f77f4abc622a499c93a83babdbe64";

/// Runs `dispatch` for GitHub's `merge_group` example payload; returns what was sent.
async fn dispatch_merge_group(m: &Manager) -> Value {
    let event = m.path("merge_group.json");
    std::fs::write(&event, shared_event("merge_group.checks_requested.0.json").to_string()).expect("write");
    let out = Run::new(m.sb.path())
        .args(["dispatch", "--manager-repo", MANAGER])
        .env("GITHUB_API_URL", m.fake.url())
        .env("GITHUB_TOKEN", "ghs_customer_token")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "merge_group")
        .env("GITHUB_EVENT_PATH", &event)
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dispatches = m.fake.dispatches(MANAGER);
    assert_eq!(dispatches.len(), 1, "{dispatches:#?}");
    dispatches[0].clone()
}

/// A manager for the merge queue's customer, whose queue commit holds PR #104's head on
/// top of `main` (as GitHub builds it), with `infra/variables.yml` at the queue commit.
async fn merge_queue_manager() -> Manager {
    merge_queue_manager_with("", "").await
}

/// [`merge_queue_manager`] with `top` config before the registry and `entry` lines in
/// the customer's registry entry.
async fn merge_queue_manager_with(top: &str, entry: &str) -> Manager {
    let config =
        format!("{top}customers:\n  - repo: octo-org/octo-repo\n    environments: [staging, production]\n{entry}");
    let m = Manager::with_config(&config).await;
    m.fake.add_repo(QUEUE_CUSTOMER);
    m.fake.add_commit(QUEUE_CUSTOMER, QUEUE_BASE, &[]);
    m.fake.add_commit(QUEUE_CUSTOMER, QUEUED_PR_HEAD, &[QUEUE_BASE]);
    m.fake.add_commit(QUEUE_CUSTOMER, QUEUE_SHA, &[QUEUE_BASE, QUEUED_PR_HEAD]);
    m.fake.set_branch(QUEUE_CUSTOMER, "main", QUEUE_BASE);
    m.fake.set_branch(QUEUE_CUSTOMER, &format!("gh-readonly-queue/main/pr-104-{QUEUED_PR_HEAD}"), QUEUE_SHA);
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(104, QUEUED_PR_HEAD));
    m.fake.put_file(QUEUE_CUSTOMER, QUEUE_SHA, "infra/variables.yml", template());
    m
}

/// The manager's `repository_dispatch` event for what `dispatch` sent.
fn received(m: &Manager, sent: &Value) -> PathBuf {
    let mut event = shared_event("repository_dispatch.on-demand-test.0.json");
    event["action"] = sent["event_type"].clone();
    event["client_payload"] = sent["client_payload"].clone();
    let path = m.path(&format!("event-{}.json", fastrand::u32(..)));
    std::fs::write(&path, event.to_string()).expect("write event");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_queue_commit_gets_a_plan_and_its_status_without_a_comment() {
    require_terraform();
    let m = merge_queue_manager().await;
    let sent = dispatch_merge_group(&m).await;
    assert_eq!(
        sent,
        json!({"event_type": "infra-plan", "client_payload": {
            "repository": QUEUE_CUSTOMER,
            "sha": QUEUE_SHA,
            "ref": format!("refs/heads/gh-readonly-queue/main/pr-104-{QUEUED_PR_HEAD}"),
            "pull_request": null,
            "event": "merge_group"
        }})
    );

    let event = received(&m, &sent);
    let out = m.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let statuses = m.fake.statuses(QUEUE_CUSTOMER, QUEUE_SHA);
    // A pending status comes first only when the plan takes over a second.
    let states: Vec<(&str, &str)> =
        statuses.iter().map(|s| (s.context.as_str(), s.state.as_str())).filter(|s| s.1 != "pending").collect();
    assert_eq!(states, [("infra/terraform-deploy/staging", "success")], "the queue's commit gets the required status");
    assert!(m.fake.comments(QUEUE_CUSTOMER, 104).is_empty(), "no PR comment for a queue commit");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_queue_dispatch_must_name_a_queue_commit_of_that_repository() {
    // Dispatched against another fake, so that this one counts only the manager's writes.
    let sent = dispatch_merge_group(&merge_queue_manager().await).await;
    let m = merge_queue_manager().await;
    let plan = |sent: &Value| {
        let event = received(&m, sent);
        m.run("repository_dispatch", &event, &["plan", "--env", "staging"])
    };
    // The queue commit does not hold the queued PR's head (a planted commit).
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(104, SHA1));
    m.fake.add_commit(QUEUE_CUSTOMER, SHA1, &[QUEUE_BASE]);
    assert_refused_without_writes(&m, &plan(&sent).run_async().await, "does not contain 1111111");
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(104, QUEUED_PR_HEAD));
    // `main` moved to a commit the queue commit is not built on (a stale queue).
    m.fake.set_branch(QUEUE_CUSTOMER, "main", SHA2);
    assert_refused_without_writes(&m, &plan(&sent).run_async().await, "is not built on 2222222");
    m.fake.set_branch(QUEUE_CUSTOMER, "main", QUEUE_BASE);
    // A queue for another branch, and a ref that is no queue branch at all.
    let mut other = sent.clone();
    other["client_payload"]["ref"] = json!(format!("refs/heads/gh-readonly-queue/release/pr-104-{QUEUED_PR_HEAD}"));
    assert_refused_without_writes(&m, &plan(&other).run_async().await, "not for the default branch `main`");
    other["client_payload"]["ref"] = json!("refs/heads/main");
    assert_refused_without_writes(&m, &plan(&other).run_async().await, "must be a merge queue branch");
    // A queue commit's plan dispatch never applies.
    let event = received(&m, &sent);
    let apply = m.run("repository_dispatch", &event, &["apply", "--env", "staging"]).run_async().await;
    assert_refused_without_writes(&m, &apply, "can't start an apply");
}

/// Issue 21, item 11: with any customer's dispatch token, a `merge_group` payload naming an
/// old, closed PR and a commit that exists only in a fork (GitHub resolves SHAs across the
/// fork network, so the ancestry checks alone pass) planned that commit. Only the head of
/// an open PR's queue branch is planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_group_plan_needs_an_open_pr_and_the_head_of_its_queue_branch() {
    let m = merge_queue_manager().await;
    // PR #7, closed long ago; a commit pushed only to a fork, built on `main` and PR #7's head.
    let (old_head, fork_commit) = (SHA1, "5555555555555555555555555555555555555555");
    m.fake.add_commit(QUEUE_CUSTOMER, old_head, &[QUEUE_BASE]);
    m.fake.add_commit(QUEUE_CUSTOMER, fork_commit, &[QUEUE_BASE, old_head]);
    m.fake.put_file(QUEUE_CUSTOMER, fork_commit, "infra/variables.yml", template());
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(7, old_head).closed());
    let payload = |pr: u64, head: &str, sha: &str| {
        json!({"event_type": "infra-plan", "client_payload": {
            "repository": QUEUE_CUSTOMER, "sha": sha,
            "ref": format!("refs/heads/gh-readonly-queue/main/pr-{pr}-{head}"),
            "pull_request": null, "event": "merge_group"
        }})
    };
    let plan = |sent: &Value| m.run("repository_dispatch", &received(&m, sent), &["plan", "--env", "staging"]);
    let forged = payload(7, old_head, fork_commit);
    assert_refused_without_writes(&m, &plan(&forged).run_async().await, "pull request #7 is closed");
    // Reopened, but nothing is queued for it: there is no queue branch.
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(7, old_head));
    let missing = format!("`gh-readonly-queue/main/pr-7-{old_head}` is not a branch of {QUEUE_CUSTOMER}");
    assert_refused_without_writes(&m, &plan(&forged).run_async().await, &missing);
    // Queued, but the queue branch's head is another commit.
    m.fake.set_branch(QUEUE_CUSTOMER, &format!("gh-readonly-queue/main/pr-7-{old_head}"), QUEUE_SHA);
    let moved = format!("it is not the head of `gh-readonly-queue/main/pr-7-{old_head}` (its head is 2ffea6d)");
    assert_refused_without_writes(&m, &plan(&forged).run_async().await, &moved);
    // The real queue entry's commit, on PR #104's queue branch, under PR #7's name: refused too.
    assert_refused_without_writes(&m, &plan(&payload(7, old_head, QUEUE_SHA)).run_async().await, "does not contain");
    // A merged PR has left the queue.
    m.fake.put_pull_request(QUEUE_CUSTOMER, PullRequest::open(104, QUEUED_PR_HEAD).merged());
    let merged = plan(&payload(104, QUEUED_PR_HEAD, QUEUE_SHA)).run_async().await;
    assert_refused_without_writes(&m, &merged, "pull request #104 is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_queue_dispatch_that_requires_oidc_needs_a_token_for_the_queue_commit_and_branch() {
    require_terraform();
    let issuer = fake_github::FakeOidcIssuer::start(support::oidc::jwks_document()).await;
    let sent = dispatch_merge_group(&merge_queue_manager().await).await;
    let m = merge_queue_manager_with(&format!("oidc:\n  issuer: {}\n", issuer.url()), "    require_oidc: true\n").await;
    let queue_ref = format!("refs/heads/gh-readonly-queue/main/pr-104-{QUEUED_PR_HEAD}");
    let now = jiff::Timestamp::now().as_second();
    // A merge_group run's token names the queue commit and the queue branch.
    let token = |git_ref: &str| {
        support::oidc::signed(&json!({
            "iss": issuer.url(), "aud": MANAGER, "sub": format!("repo:{QUEUE_CUSTOMER}:ref:{git_ref}"),
            "repository": QUEUE_CUSTOMER, "sha": QUEUE_SHA, "ref": git_ref,
            "job_workflow_ref": format!("{QUEUE_CUSTOMER}/.github/workflows/infra.yml@{git_ref}"),
            "iat": now, "nbf": now, "exp": now + 300,
        }))
    };
    let plan_with = |token: String| {
        let mut sent = sent.clone();
        sent["client_payload"]["oidc_token"] = json!(token);
        m.run("repository_dispatch", &received(&m, &sent), &["plan", "--env", "staging"])
    };

    let main_token = plan_with(token("refs/heads/main")).run_async().await;
    assert_refused_without_writes(&m, &main_token, "the OIDC token's `ref` is");
    let good = plan_with(token(&queue_ref)).run_async().await;
    assert_eq!(good.code, 0, "{}", good.stderr);
    let last = m.fake.statuses(QUEUE_CUSTOMER, QUEUE_SHA).pop().map(|s| s.state);
    assert_eq!(last.as_deref(), Some("success"));
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_sets_pending_then_success_and_creates_one_comment() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.hold_the_steps_past_a_second();
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let statuses = m.fake.statuses(CUSTOMER, SHA1);
    let states: Vec<&str> = statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["pending", "success"], "{statuses:#?}");
    for s in &statuses {
        assert_eq!(s.context, "infra/terraform-deploy/staging");
        assert_eq!(s.target_url.as_deref(), Some(RUN_URL));
    }
    assert_eq!(statuses[1].description.as_deref(), Some("8 to add"));

    let comments = m.fake.comments(CUSTOMER, PR);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.starts_with("<!-- infra-manager:plan:staging -->"));
    assert!(comments[0].body.contains("`1111111`"), "commit shown");
    assert!(comments[0].body.contains(RUN_URL));

    let outputs = std::fs::read_to_string(m.path("github_output")).expect("outputs written");
    for (name, value) in [("status", "ok"), ("has_changes", "true"), ("add", "8"), ("change", "0"), ("destroy", "0")] {
        assert!(output_value(&outputs, name).as_deref() == Some(value), "{name} in {outputs}");
    }
    let summary = std::fs::read_to_string(m.path("step_summary.md")).expect("summary written");
    assert!(summary.contains("## infra-manager plan: `acme/webshop` (`staging`)"), "{summary}");
    assert!(summary.contains("Plan: 8 to add"));
    assert!(!out.stdout.contains("<!-- infra-manager"), "comment must not be printed to the log");
    assert!(out.stderr.contains("::stop-commands::"), "terraform output is fenced");
    m.assert_clean();
}

/// Reads `name<<DELIM\nvalue\nDELIM` from a GITHUB_OUTPUT file.
fn output_value(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(delim) = line.strip_prefix(&format!("{name}<<")) {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            return Some(value.join("\n"));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_push_edits_the_comment_in_place_even_on_page_two() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.add_comments(CUSTOMER, PR, 150, |i| format!("chatter {i}"));
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.put_file(CUSTOMER, SHA2, "infra/variables.yml", template().replace("max_instances: 2", "max_instances: 3"));
    assert_eq!(m.plan(SHA1).await.code, 0);
    let first = m.marker_comments();
    assert_eq!(first.len(), 1);

    let out = m.plan(SHA2).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = m.marker_comments();
    assert_eq!(after.len(), 1, "edited in place, not a second comment");
    assert_eq!(after[0].id, first[0].id);
    assert!(after[0].body.contains("`2222222`"), "shows the new commit");
    assert_eq!(m.fake.comments(CUSTOMER, PR).len(), 151);
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_fails_with_errors_in_the_comment_and_annotations() {
    let m = Manager::new().await;
    let bad = template()
        .replace("project_name: customer-app-name", "project_name: Bad_Name")
        .replace("availability_zones: 2", "availability_zones: 9");
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", bad);
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let statuses = m.fake.statuses(CUSTOMER, SHA1);
    assert_eq!(statuses.last().map(|s| s.state.as_str()), Some("failure"));
    assert_eq!(
        statuses.last().and_then(|s| s.description.clone()).as_deref(),
        Some("infra/variables.yml has 2 problems")
    );
    let comments = m.marker_comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("`infra/variables.yml:10:15` `` `project_name` `Bad_Name` is not a DNS label ``"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("`infra/variables.yml:24:23`"), "{}", comments[0].body);
    assert!(
        out.stderr
            .contains("::error file=infra/variables.yml,line=10,col=15::`project_name` `Bad_Name` is not a DNS label"),
        "{}",
        out.stderr
    );
    assert!(!m.path("store/work").exists() && !m.path("runner_temp/infra-manager").exists(), "no terraform ran");
    let outputs = std::fs::read_to_string(m.path("github_output")).expect("outputs");
    assert_eq!(output_value(&outputs, "status").as_deref(), Some("invalid"));
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_repository_gets_exit_2_and_zero_writes() {
    let m = Manager::new().await;
    m.fake.add_repo("evil/other");
    m.fake.put_file("evil/other", SHA1, "infra/variables.yml", template());
    let event = m.dispatch_event("infra-plan", "evil/other", SHA1, Some(PR));
    let out = m.run("repository_dispatch", &event, &["--json", "plan", "--env", "staging"]).run_async().await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.json()["status"], "refused");
    assert_eq!(m.fake.write_count(), 0);
    assert!(m.fake.requests().is_empty(), "not even a read: {:#?}", m.fake.requests());
    assert!(!m.sb.store().join("records").exists(), "no run record");

    let targets = m.run("repository_dispatch", &event, &["targets"]).run_async().await;
    assert_eq!(targets.code, 2);
    assert_eq!(m.fake.write_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_a_clear_failure() {
    let m = Manager::new().await;
    m.fake.add_ref(CUSTOMER, SHA1);
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let last = m.fake.statuses(CUSTOMER, SHA1).pop().expect("status");
    assert_eq!(last.state, "failure");
    assert_eq!(last.description.as_deref(), Some("`infra/variables.yml` not found at acme/webshop@1111111"));
    assert!(m.marker_comments()[0].body.contains("not found"));
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_and_a_secondary_rate_limit_are_retried_and_the_run_succeeds() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.inject("POST", "/repos/acme/webshop/statuses", Fault::Status(502));
    m.fake.inject("GET", "/repos/acme/webshop/contents", Fault::SecondaryRateLimit);
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(m.fake.pending_faults(), 0, "both faults fired");
    let states: Vec<String> = m.fake.statuses(CUSTOMER, SHA1).into_iter().map(|s| s.state).collect();
    // The 502 met the pending status, or the final one when the plan took under a second.
    assert_eq!(states.iter().filter(|s| *s != "pending").collect::<Vec<_>>(), ["success"]);
    assert_eq!(m.marker_comments().len(), 1);
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_over_70000_characters_yields_a_comment_within_the_limit() {
    require_terraform();
    let m = Manager::new().await;
    // 45 tags of 250 characters on each of 8 resources: well over 70,000 characters of plan.
    let mut text = template();
    for i in 0..42 {
        text.push_str(&format!("  tag{i:02}: \"{}\"\n", "v".repeat(250)));
    }
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", text);
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let comment = &m.marker_comments()[0].body;
    let chars = comment.chars().count();
    assert!(chars <= 65_536, "{chars}");
    assert!(comment.contains("The plan output was truncated"), "plan was not large enough to truncate");
    assert!(comment.contains(RUN_URL));
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_prints_the_matrix_of_defined_and_enabled_environments() {
    let m = Manager::new().await;
    let only_staging = template().replace(
        "  production: { region: us-west-2, instance_type: t3.small, min_instances: 2, max_instances: 4 }\n",
        "",
    );
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", only_staging);
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA1, Some(PR));
    let out = m.run("repository_dispatch", &event, &["targets"]).run_async().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let matrix: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(matrix, json!({"include": [{"customer": "acme/webshop", "environment": "staging"}]}));
    let outputs = std::fs::read_to_string(m.path("github_output")).expect("outputs");
    assert_eq!(output_value(&outputs, "matrix").as_deref(), Some(matrix.to_string().as_str()));
    assert_eq!(m.fake.write_count(), 0, "targets only reads");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_after_merge_applies_the_plan_for_the_dispatched_sha() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let plan_event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    let plan = m.run("repository_dispatch", &plan_event, &["plan", "--env", "staging"]).run_async().await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(m.fake.comments(CUSTOMER, PR).is_empty(), "a push has no PR to comment on");
    let apply = m.run("repository_dispatch", &plan_event, &["--json", "apply", "--env", "staging"]).run_async().await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(apply.json()["add"], 8);
    let last = m.fake.statuses(CUSTOMER, SHA1).pop().expect("status");
    assert_eq!(
        (last.state.as_str(), last.description.as_deref()),
        (
            "success",
            Some(
                "Applied: 8 added, 0 changed, 0 destroyed; no health check: the module has no `health_check_url` output"
            )
        )
    );
    // The outputs not marked sensitive: in `--json`, as one JSON step output, and in the job summary.
    let reported = apply.json()["outputs"].clone();
    assert!(reported.as_object().is_some_and(|o| !o.is_empty()), "{reported}");
    let outputs = std::fs::read_to_string(m.path("github_output")).expect("outputs written");
    let step: serde_json::Value =
        serde_json::from_str(&output_value(&outputs, "outputs").expect("an `outputs` step output")).expect("json");
    assert_eq!(step, reported);
    let summary = std::fs::read_to_string(m.path("step_summary.md")).expect("summary written");
    assert!(summary.contains("| Output | Value |"), "{summary}");
    m.assert_clean();
}

/// Issue 12 item 6: after an apply, the sticky comment of the PR merged as the applied
/// commit becomes the result, with the outputs; a PR whose head is the commit but that was
/// not merged as it is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merged_pull_requests_comment_shows_the_apply_and_its_outputs() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA2).merged().with_merge_commit(SHA1));
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR + 1, SHA1));
    let event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    let plan = m.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let apply = m.run("repository_dispatch", &event, &["--json", "apply", "--env", "staging"]).run_async().await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let comments = m.fake.comments(CUSTOMER, PR);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let body = &comments[0].body;
    assert!(body.starts_with("<!-- infra-manager:plan:staging -->\n### ✅ Applied to `staging`: 8 added"), "{body}");
    assert!(body.contains("#### Outputs"), "{body}");
    for name in apply.json()["outputs"].as_object().expect("outputs").keys() {
        assert!(body.contains(&format!("| `{name}` |")), "{name} in {body}");
    }
    assert!(m.fake.comments(CUSTOMER, PR + 1).is_empty(), "not merged as the commit");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_one_pull_requests_plan_supersedes_a_sibling_pull_requests_plan() {
    require_terraform();
    let m = Manager::new().await;
    for sha in [SHA1, SHA2] {
        m.fake.put_file(CUSTOMER, sha, "infra/variables.yml", template());
    }
    // PR B (#8, SHA2) plans, then PR A (#7, SHA1): both commits show a successful plan.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(8, SHA2));
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA2, Some(8));
    let plan_b = m.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await;
    assert_eq!(plan_b.code, 0, "{}", plan_b.stderr);
    let plan_a = m.plan(SHA1).await;
    assert_eq!(plan_a.code, 0, "{}", plan_a.stderr);
    assert_eq!(m.fake.statuses(CUSTOMER, SHA2).last().map(|s| s.state.clone()).as_deref(), Some("success"));

    // A is merged and applied.
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    let apply = m.run("repository_dispatch", &event, &["apply", "--env", "staging"]).run_async().await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let a = m.fake.statuses(CUSTOMER, SHA1).pop().expect("A's status");
    assert_eq!(a.state, "success");
    let b = m.fake.statuses(CUSTOMER, SHA2).pop().expect("B's status");
    assert_eq!(
        (b.state.as_str(), b.context.as_str(), b.description.as_deref(), b.target_url.as_deref()),
        (
            "failure",
            "infra/terraform-deploy/staging",
            Some("superseded by the apply of 1111111; push again to re-plan"),
            Some(RUN_URL)
        )
    );
    m.assert_clean();
}

/// Issue 19: the merged pull request's own plan is not superseded by the apply of the merge
/// commit that contains it (every merged PR would otherwise show a red check); a sibling's
/// plan, which the merge does not contain, is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merged_pull_requests_plan_is_not_superseded_by_the_apply_of_its_merge() {
    require_terraform();
    const MERGE: &str = "3333333333333333333333333333333333333333";
    let m = Manager::new().await;
    for sha in [SHA1, SHA2, MERGE] {
        m.fake.put_file(CUSTOMER, sha, "infra/variables.yml", template());
    }
    // PR #8 (SHA2) is a sibling; PR #7 (SHA1) is merged as MERGE, whose parent is SHA1.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(8, SHA2));
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA2, Some(8));
    assert_eq!(m.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await.code, 0);
    assert_eq!(m.plan(SHA1).await.code, 0);
    m.fake.add_commit(CUSTOMER, SHA1, &[]);
    m.fake.add_commit(CUSTOMER, MERGE, &[SHA1]);
    m.fake.set_branch(CUSTOMER, "main", MERGE);
    let event = m.dispatch_event("infra-apply", CUSTOMER, MERGE, None);
    let plan = m.run("repository_dispatch", &event, &["plan", "--env", "staging"]).run_async().await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let apply = m.run("repository_dispatch", &event, &["apply", "--env", "staging"]).run_async().await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let merged = m.fake.statuses(CUSTOMER, SHA1).pop().expect("the merged PR's status");
    assert_eq!(merged.state, "success", "{merged:?}");
    let sibling = m.fake.statuses(CUSTOMER, SHA2).pop().expect("the sibling's status");
    assert_eq!(
        (sibling.state.as_str(), sibling.description.as_deref()),
        ("failure", Some("superseded by the apply of 3333333; push again to re-plan"))
    );
    m.assert_clean();
}

/// A dispatch that GitHub does not vouch for: refused with exit 2 before any write.
fn assert_refused_without_writes(m: &Manager, out: &Output, expected: &str) {
    assert_eq!(out.code, 2, "{expected}: {}", out.stderr);
    assert!(out.stderr.contains(expected), "expected `{expected}` in:\n{}", out.stderr);
    assert_eq!(m.fake.write_count(), 0, "{expected}: nothing written to GitHub");
    assert!(!m.sb.store().join("records").exists(), "{expected}: no run record");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_dispatch_must_name_the_head_of_an_open_pull_request_of_that_repository() {
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    let plan = |sha: &str, pr: Option<u64>| {
        let event = m.dispatch_event("infra-plan", CUSTOMER, sha, pr);
        m.run("repository_dispatch", &event, &["plan", "--env", "staging"])
    };
    // No such pull request in the customer's repository (it may exist elsewhere).
    m.fake.put_pull_request("other/repo", PullRequest::open(PR, SHA1));
    assert_refused_without_writes(&m, &plan(SHA1, Some(PR)).run_async().await, "has no pull request #7");
    // The PR exists, but its head is another commit: a planted SHA, or an old one.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA2));
    assert_refused_without_writes(&m, &plan(SHA1, Some(PR)).run_async().await, "is not the head of pull request #7");
    // A closed PR is not planned, and a plan dispatch must name a PR.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA1).closed());
    assert_refused_without_writes(&m, &plan(SHA1, Some(PR)).run_async().await, "is closed");
    assert_refused_without_writes(&m, &plan(SHA1, None).run_async().await, "names no pull request");
    // And a plan dispatch never applies.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA1));
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA1, Some(PR));
    let apply = m.run("repository_dispatch", &event, &["apply", "--env", "staging"]).run_async().await;
    assert_refused_without_writes(&m, &apply, "can't start an apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_dispatch_must_name_the_default_branch_head_and_never_replay_an_older_commit() {
    require_terraform();
    let m = Manager::new().await;
    for sha in [SHA1, SHA2] {
        m.fake.put_file(CUSTOMER, sha, "infra/variables.yml", template());
    }
    let run = |verb: &'static str, sha: &str| {
        let event = m.dispatch_event("infra-apply", CUSTOMER, sha, None);
        m.run("repository_dispatch", &event, &["--json", verb, "--env", "staging"])
    };
    // An unmerged commit (the default branch is elsewhere) is refused before any write.
    m.fake.add_commit(CUSTOMER, SHA1, &[]);
    m.fake.add_commit(CUSTOMER, SHA2, &[SHA1]);
    m.fake.set_branch(CUSTOMER, "main", SHA2);
    assert_refused_without_writes(
        &m,
        &run("plan", SHA1).run_async().await,
        "is not the head of `acme/webshop`'s default branch `main`",
    );

    // The head of the default branch plans and applies.
    assert_eq!(run("plan", SHA2).run_async().await.code, 0);
    let applied = run("apply", SHA2).run_async().await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    // The branch is moved back to the older commit (a force-push): applying it would
    // replay old configuration over what was applied.
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let writes = m.fake.write_count();
    let replay = run("apply", SHA1).run_async().await;
    assert_eq!(replay.code, 2, "{}", replay.stderr);
    assert!(replay.stderr.contains("does not descend from 2222222"), "{}", replay.stderr);
    assert_eq!(m.fake.write_count(), writes, "a replay writes nothing");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_that_requires_oidc_is_served_only_with_a_token_from_its_own_workflow_for_that_commit() {
    require_terraform();
    let issuer = fake_github::FakeOidcIssuer::start(support::oidc::jwks_document()).await;
    let config = format!(
        "oidc:\n  issuer: {}\ncustomers:\n  - repo: acme/webshop\n    environments: [staging, production]\n    require_oidc: true\n",
        issuer.url()
    );
    let m = Manager::with_config(&config).await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let now = jiff::Timestamp::now().as_second();
    let claims = |sha: &str| {
        json!({
            "iss": issuer.url(), "aud": MANAGER, "sub": "repo:acme/webshop:ref:refs/heads/main",
            "repository": CUSTOMER, "sha": sha, "ref": "refs/heads/main",
            "job_workflow_ref": "acme/webshop/.github/workflows/infra.yml@refs/heads/main",
            "iat": now, "nbf": now, "exp": now + 300,
        })
    };
    let plan_with = |token: Option<String>| {
        let path = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        if let Some(token) = token {
            event["client_payload"]["oidc_token"] = json!(token);
        }
        std::fs::write(&path, event.to_string()).expect("write");
        m.run("repository_dispatch", &path, &["plan", "--env", "staging"])
    };

    let none = plan_with(None).run_async().await;
    assert_refused_without_writes(&m, &none, "requires an OIDC-authenticated dispatch");
    let other_commit = plan_with(Some(support::oidc::signed(&claims(SHA2)))).run_async().await;
    assert_refused_without_writes(&m, &other_commit, "the OIDC token's `sha` is");
    let forged = support::oidc::sign(support::oidc::rs256("test-key-a"), &claims(SHA1), &support::oidc::key("b"));
    assert_refused_without_writes(&m, &plan_with(Some(forged)).run_async().await, "signature does not verify");

    let good = plan_with(Some(support::oidc::signed(&claims(SHA1)))).run_async().await;
    assert_eq!(good.code, 0, "{}", good.stderr);
    assert!(!good.stderr.contains("eyJ"), "the token is never printed");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_too_large_is_invalid_input_at_line_1_and_one_not_utf8_at_its_bad_byte_with_a_comment() {
    let m = Manager::new().await;
    let mut not_utf8 = b"project_name: shop\ntags:\n  owner: ".to_vec();
    not_utf8.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let cases: [(Vec<u8>, &str, &str); 2] = [
        (format!("# {}\n", "x".repeat(70 * 1024)).into_bytes(), "1:1", "larger than the 65536-byte limit"),
        // Issue 21, item 15: the error's place is the bad byte's, as its message says.
        (not_utf8, "3:10", "file is not UTF-8 text: the first invalid byte is at line 3, column 10"),
    ];
    for (contents, at, expected) in cases {
        m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", contents);
        let out = m.plan(SHA1).await;
        assert_eq!(out.code, 2, "{expected}: {}", out.stderr);
        assert!(out.stderr.contains(&format!("error: infra/variables.yml:{at}: ")), "{}", out.stderr);
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
        let comment = m.marker_comments().pop().expect("a failure comment");
        assert!(comment.body.contains(expected), "{}", comment.body);
    }
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failing_past_the_retry_bound_fails_the_run_and_leaves_no_pending_status() {
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    // Every read of the file fails; statuses still go through.
    m.fake.inject_times("GET", "/repos/acme/webshop/contents", Fault::Status(502), 100);
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("after 4 attempts"), "names the bounded retries: {}", out.stderr);
    let states: Vec<String> = m.fake.statuses(CUSTOMER, SHA1).into_iter().map(|s| s.state).collect();
    assert_eq!(states.last().map(String::as_str), Some("failure"), "never left pending: {states:?}");
}

/// Hostile `repository_dispatch` payloads: each is refused (exit 2) before any write, the
/// process never panics, and nothing it prints can start a workflow command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_dispatch_payloads_are_refused_before_any_write() {
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA1));
    m.fake.set_branch(CUSTOMER, "main", SHA2);
    let long = "a".repeat(1 << 20);
    let payload = |action: &str, fields: Value| {
        let mut event = shared_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!(action);
        event["client_payload"] = fields;
        event
    };
    let ok = |repo: &str, sha: &str, pr: Value| json!({"repository": repo, "sha": sha, "ref": "refs/heads/x", "pull_request": pr});
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("unregistered repository", payload("infra-plan", ok("evil/repo", SHA1, json!(PR))), &["plan"]),
        ("another registered customer's PR number", payload("infra-plan", ok(CUSTOMER, SHA1, json!(99))), &["plan"]),
        ("a SHA that is not the PR head", payload("infra-plan", ok(CUSTOMER, SHA2, json!(PR))), &["plan"]),
        ("a plan dispatch asked to apply", payload("infra-plan", ok(CUSTOMER, SHA1, json!(PR))), &["apply"]),
        ("an apply of an unmerged commit", payload("infra-apply", ok(CUSTOMER, SHA1, json!(null))), &["plan", "apply"]),
        ("no repository", payload("infra-plan", json!({"sha": SHA1, "pull_request": PR})), &["plan", "targets"]),
        ("no sha", payload("infra-plan", json!({"repository": CUSTOMER, "pull_request": PR})), &["plan"]),
        (
            "repository not a string",
            payload(
                "infra-plan",
                ok("", SHA1, json!(PR))
                    .as_object()
                    .map(|o| {
                        let mut o = o.clone();
                        o.insert("repository".into(), json!(42));
                        Value::Object(o)
                    })
                    .unwrap_or_default(),
            ),
            &["plan"],
        ),
        ("a 1 MiB repository", payload("infra-plan", ok(&long, SHA1, json!(PR))), &["plan", "targets"]),
        ("a 1 MiB sha", payload("infra-plan", ok(CUSTOMER, &long, json!(PR))), &["plan"]),
        ("path traversal in the repository", payload("infra-plan", ok("../../etc", SHA1, json!(PR))), &["plan"]),
        ("three path segments", payload("infra-plan", ok("acme/webshop/extra", SHA1, json!(PR))), &["plan"]),
        (
            "URL as repository",
            payload("infra-plan", ok("https://evil.example/acme/webshop", SHA1, json!(PR))),
            &["plan"],
        ),
        ("short sha", payload("infra-plan", ok(CUSTOMER, "1111111", json!(PR))), &["plan"]),
        ("uppercase non-hex sha", payload("infra-plan", ok(CUSTOMER, &"Z".repeat(40), json!(PR))), &["plan"]),
        (
            "sha with a newline and a workflow command",
            payload("infra-plan", ok(CUSTOMER, &format!("{SHA1}\n::add-mask::x"), json!(PR))),
            &["plan"],
        ),
        (
            "repository with a workflow command",
            payload("infra-plan", ok("acme/web\n::stop-commands::x", SHA1, json!(PR))),
            &["plan", "targets"],
        ),
        ("repository with ANSI escapes", payload("infra-plan", ok("acme/\u{1b}[31mweb", SHA1, json!(PR))), &["plan"]),
        ("repository with a NUL", payload("infra-plan", ok("acme/web\u{0}shop", SHA1, json!(PR))), &["plan"]),
        (
            "repository with a right-to-left override",
            payload("infra-plan", ok("acme/\u{202e}pohsbew", SHA1, json!(PR))),
            &["plan"],
        ),
        ("unicode look-alike repository", payload("infra-plan", ok("аcme/webshop", SHA1, json!(PR))), &["plan"]),
        ("negative PR number", payload("infra-plan", ok(CUSTOMER, SHA1, json!(-7))), &["plan"]),
        ("PR number as a string", payload("infra-plan", ok(CUSTOMER, SHA1, json!("7"))), &["plan"]),
        ("huge PR number", payload("infra-plan", ok(CUSTOMER, SHA1, json!(u64::MAX))), &["plan"]),
        ("PR number zero", payload("infra-plan", ok(CUSTOMER, SHA1, json!(0))), &["plan"]),
        ("unknown event type", payload("infra-destroy", ok(CUSTOMER, SHA1, json!(PR))), &["plan", "targets"]),
        (
            "event type with a workflow command",
            payload("infra-plan\n::add-mask::x", ok(CUSTOMER, SHA1, json!(PR))),
            &["plan"],
        ),
        ("no client payload", payload("infra-plan", json!(null)), &["plan", "targets"]),
        ("client payload is a list", payload("infra-plan", json!([CUSTOMER, SHA1])), &["plan"]),
        (
            "a 1 MiB OIDC token",
            payload("infra-plan", {
                let mut p = ok(CUSTOMER, SHA1, json!(PR));
                p["oidc_token"] = json!(long);
                p
            }),
            &["plan"],
        ),
        (
            "a 1 MiB ref",
            payload("infra-plan", {
                let mut p = ok(CUSTOMER, SHA1, json!(PR));
                p["ref"] = json!(long);
                p
            }),
            &["plan"],
        ),
        (
            "an apply dispatch of an old commit with a PR number",
            payload("infra-apply", ok(CUSTOMER, SHA1, json!(PR))),
            &["apply"],
        ),
    ];
    let mut tried = 0;
    for (name, event, verbs) in &cases {
        let path = m.path("hostile.json");
        std::fs::write(&path, event.to_string()).expect("write");
        for verb in *verbs {
            tried += 1;
            let args: Vec<&str> = if *verb == "targets" { vec!["targets"] } else { vec![verb, "--env", "staging"] };
            let out = m.run("repository_dispatch", &path, &args).run_async().await;
            assert_eq!(out.code, 2, "{name} ({verb}): {}", out.stderr);
            assert_eq!(m.fake.write_count(), 0, "{name} ({verb}): nothing written");
            for line in out.stderr.lines().chain(out.stdout.lines()) {
                let line = line.trim_start();
                let ours = line.starts_with("::add-mask::ghs_manager_token_value")
                    || line.starts_with("::error")
                    || line.starts_with("::stop-commands::infra-manager-")
                    || line.starts_with("::infra-manager-");
                assert!(!line.starts_with("::") || ours, "{name} ({verb}): a workflow command leaked: {line:?}");
                assert!(
                    !line.contains('\u{1b}') && line.len() < 4096,
                    "{name} ({verb}): raw or unbounded: {line:.120}"
                );
            }
        }
    }
    assert!(!m.sb.store().join("records").exists(), "no run record for any hostile payload");
    m.assert_clean();
    // The count docs/reliability.md reports.
    assert_eq!((cases.len(), tried), (32, 38));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_pull_requests_plan_is_not_drift_drift_replans_what_was_applied() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let apply_event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    for verb in ["plan", "apply"] {
        let out = m.run("repository_dispatch", &apply_event, &[verb, "--env", "staging"]).run_async().await;
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    // An open PR changes the configuration and is planned, not applied.
    let changed = template().replace("max_instances: 2", "max_instances: 3");
    m.fake.put_file(CUSTOMER, SHA2, "infra/variables.yml", changed);
    let pr_plan = m.plan(SHA2).await;
    assert_eq!(pr_plan.code, 0, "{}", pr_plan.stderr);

    let drift = m.run("schedule", &apply_event, &["--json", "drift", "--env", "staging"]).run_async().await;
    assert_eq!(drift.code, 0, "{}", drift.stderr);
    let report = drift.json();
    let result = &report["results"][0];
    assert_eq!((result["sha"].as_str(), result["result"].as_str()), (Some(SHA1), Some("in-sync")), "{report}");
    assert_eq!(report["drifted"], 0);
    assert_eq!(report["orphans"], json!([]), "a filtered run looks for no orphans");

    // A customer offboarded from the registry without a destroy leaves its state: the
    // whole-fleet run reports it, and destroys nothing.
    let orphan = m.sb.store().join("state/gone/shop/staging/terraform.tfstate");
    std::fs::create_dir_all(orphan.parent().expect("dir")).expect("mkdir");
    std::fs::copy(staging_state(&m), &orphan).expect("copy state");
    let fleet = m.run("schedule", &apply_event, &["--json", "drift", "--all"]).run_async().await;
    assert_eq!(fleet.code, 0, "{}", fleet.stderr);
    let orphans = fleet.json()["orphans"].clone();
    assert_eq!(orphans.as_array().map(Vec::len), Some(1), "{orphans}");
    assert_eq!(
        (orphans[0]["customer"].as_str(), orphans[0]["reason"].as_str()),
        (Some("gone/shop"), Some("unregistered"))
    );
    assert!(orphans[0]["resources"].as_u64().is_some_and(|n| n > 0), "{orphans}");
    assert!(fleet.stderr.contains("::warning::orphaned state: `gone/shop` `staging`"), "{}", fleet.stderr);
    assert!(orphan.is_file(), "never destroyed implicitly");
}

/// The local store's state file of `acme/webshop` `staging`.
fn staging_state(m: &Manager) -> PathBuf {
    m.sb.store().join("state/acme/webshop/staging/terraform.tfstate")
}

/// Rewrites the state behind the tool's back: `edit` changes it, and the serial moves on
/// past whatever the state holds now (Terraform refuses to go back).
fn rewrite_state(m: &Manager, state: &Value, edit: impl FnOnce(&mut Value)) {
    let now: Value =
        serde_json::from_str(&std::fs::read_to_string(staging_state(m)).expect("state")).expect("state is JSON");
    let mut state = state.clone();
    edit(&mut state);
    state["serial"] = json!(now["serial"].as_u64().unwrap_or(0) + 1);
    std::fs::write(staging_state(m), state.to_string()).expect("write state");
}

fn issue_requests(m: &Manager) -> Vec<fake_github::RecordedRequest> {
    m.fake.requests().into_iter().filter(|r| r.path.starts_with("/repos/provider/manager/issues")).collect()
}

/// Issue 23, item 1: sharded drift jobs write no issue; the one merge job does, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_drift_writes_no_issue_and_the_merge_opens_it_once() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let apply_event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    for verb in ["plan", "apply"] {
        let out = m.run("repository_dispatch", &apply_event, &[verb, "--env", "staging"]).run_async().await;
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    let applied: Value =
        serde_json::from_str(&std::fs::read_to_string(staging_state(&m)).expect("state")).expect("state is JSON");
    rewrite_state(&m, &applied, |state| {
        let resources = state["resources"].as_array_mut().expect("resources");
        resources.retain(|r| r["name"] != "security_group");
    });
    let mut reports = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = m.run("schedule", &apply_event, &["--json", "drift", "--shard", &shard]).run_async().await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let path = m.sb.path().join(format!("drift-{k}.json"));
        std::fs::write(&path, &out.stdout).expect("report");
        reports.push(path.display().to_string());
    }
    assert!(issue_requests(&m).is_empty(), "no shard calls the issues API");
    let mut args = vec!["--json", "fleet", "merge", "--open-issues"];
    args.extend(reports.iter().map(String::as_str));
    let merged = m.run("schedule", &apply_event, &args).run_async().await;
    assert_eq!(merged.code, 0, "{}{}", merged.stderr, merged.stdout);
    assert_eq!(merged.json()["drifted"], 1, "{}", merged.stdout);
    let issues = m.fake.issues(MANAGER);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert!(issues[0].title.contains("acme/webshop"), "{issues:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_opens_one_issue_edits_it_on_the_next_run_and_closes_it_back_in_sync() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let marker = "<!-- infra-manager:drift acme/webshop staging -->";
    // Someone else's issue with the label and the marker is never the service's.
    let planted = m.fake.add_issue_by(MANAGER, "mallory", "Drift", &format!("{marker}\nmine"), &["infra-drift"]);
    let apply_event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    for verb in ["plan", "apply"] {
        let out = m.run("repository_dispatch", &apply_event, &[verb, "--env", "staging"]).run_async().await;
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    let applied: Value =
        serde_json::from_str(&std::fs::read_to_string(staging_state(&m)).expect("state")).expect("state is JSON");
    // Each scheduled run has its own run id, so its own link in the issue.
    let drift = |open_issues: bool, run_id: &str| {
        let mut args = vec!["--json", "drift", "--env", "staging"];
        if open_issues {
            args.push("--open-issues");
        }
        m.run("schedule", &apply_event, &args).env("GITHUB_RUN_ID", run_id).run_async()
    };

    // Someone removes a resource behind the service's back.
    rewrite_state(&m, &applied, |state| {
        let resources = state["resources"].as_array_mut().expect("resources");
        resources.retain(|r| r["name"] != "security_group");
    });
    let plain = drift(false, "4242").await;
    assert_eq!((plain.code, plain.json()["drifted"].as_u64()), (0, Some(1)), "{}", plain.stderr);
    assert!(issue_requests(&m).is_empty(), "drift without --open-issues never calls the issues API");

    let first = drift(true, "4242").await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let ours = |m: &Manager| -> Vec<fake_github::Issue> {
        m.fake.issues(MANAGER).into_iter().filter(|i| i.number != planted).collect()
    };
    let opened = ours(&m);
    assert_eq!(opened.len(), 1, "{opened:#?}");
    let issue = &opened[0];
    assert_eq!((issue.state.as_str(), issue.user.as_str()), ("open", "github-actions[bot]"));
    assert_eq!(
        (issue.title.as_str(), issue.labels.as_slice()),
        ("Drift: acme/webshop (staging)", ["infra-drift".to_owned()].as_slice())
    );
    let body = issue.body.clone().unwrap_or_default();
    assert!(body.starts_with(marker), "{body}");
    assert!(
        body.contains("(commit `1111111`)") && body.contains("| 0 | 1 | 1 | 0 |") && body.contains(RUN_URL),
        "{body}"
    );
    assert!(first.stderr.contains(&format!("drift issue #{} opened for acme/webshop staging", issue.number)));

    // Still drifted the same way: a new run, but nothing new to say; no write.
    let writes = m.fake.write_count();
    let second = drift(true, "4343").await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(m.fake.write_count(), writes, "the same drift is not written again");
    assert_eq!(ours(&m).pop().and_then(|i| i.body), Some(body.clone()), "still the first run's link");

    // The drift changed (someone also relaxed the launch template's metadata tokens): the
    // same issue is edited, naming the attribute, and no second one is opened.
    rewrite_state(&m, &applied, |state| {
        let resources = state["resources"].as_array_mut().expect("resources");
        resources.retain(|r| r["name"] != "security_group");
        let template = resources.iter_mut().find(|r| r["name"] == "launch_template").expect("a launch template");
        template["instances"][0]["attributes"]["input"]["value"]["http_tokens"] = json!("optional");
    });
    let changed = drift(true, "4343").await;
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert_eq!(ours(&m).len(), 1);
    let creates = issue_requests(&m).into_iter().filter(|r| r.method == "POST").count();
    assert_eq!(creates, 1);
    let edits: Vec<_> = issue_requests(&m).into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(edits.len(), 1, "{edits:#?}");
    assert_eq!(edits[0].path, format!("/repos/provider/manager/issues/{}", issue.number));
    assert_eq!(edits[0].body.get("state"), None, "edited, not closed");
    let edited = ours(&m).pop().and_then(|i| i.body).unwrap_or_default();
    assert!(edited.contains("actions/runs/4343") && !edited.contains("actions/runs/4242"), "{edited}");
    let row = edited.lines().find(|l| l.contains("launch_template`")).unwrap_or_default();
    assert!(row.ends_with("| to update | `input.http_tokens`: `\"required\"` → `\"optional\"` |"), "{edited}");
    // The report names it too, attribute, applied and found.
    let named = &changed.json()["results"][0]["resources"];
    let template = named
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"].as_str().is_some_and(|a| a.ends_with("launch_template")));
    assert_eq!(
        template.map(|t| t["attributes"].clone()),
        Some(json!([{"path": "input.http_tokens", "applied": "\"required\"", "found": "\"optional\""}])),
        "{named}"
    );

    // The resource is back: the issue is closed, saying so.
    rewrite_state(&m, &applied, |_| {});
    let third = drift(true, "4444").await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(third.json()["results"][0]["result"], "in-sync");
    let closed = ours(&m);
    assert_eq!((closed.len(), closed[0].number, closed[0].state.as_str()), (1, issue.number, "closed"));
    assert_eq!(closed[0].state_reason.as_deref(), Some("completed"));
    assert!(closed[0].body.as_deref().is_some_and(|b| b.starts_with(marker) && b.contains("Back in sync")));
    let mallorys = m.fake.issues(MANAGER).into_iter().find(|i| i.number == planted).expect("planted issue");
    assert_eq!((mallorys.state.as_str(), mallorys.body.as_deref()), ("open", Some(format!("{marker}\nmine").as_str())));

    // The records table says what each drift run found.
    let history = Run::new(m.sb.path()).args(["history", "--customer", CUSTOMER, "--env", "staging"]).run_async().await;
    assert_eq!(history.code, 0, "{}", history.stderr);
    let drift_lines: Vec<&str> = history.stdout.lines().filter(|l| l.contains("  drift  ")).collect();
    assert_eq!(drift_lines.len(), 5, "{}", history.stdout);
    assert!(drift_lines[0].ends_with("  in sync"), "newest first: {drift_lines:#?}");
    assert!(drift_lines[1].contains("launch_template (input.http_tokens)"), "{drift_lines:#?}");
    for line in &drift_lines[2..] {
        assert!(line.contains("drifted: 0 changed outside Terraform; 1 to add, 1 to change, 0 to destroy"), "{line}");
    }
    m.assert_clean();
}

/// Issue 23 item 4: a drift run writes only on a transition. One where nothing drifted, and
/// one where the drift is what the open issue already says, write nothing and make at most
/// one GitHub call per target: each customer's file read once for its environments (the
/// same commit), and the issues listed once (bench/run reads the printed figure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_run_with_nothing_new_writes_nothing_and_makes_at_most_one_call_per_target() {
    require_terraform();
    const CUSTOMERS: [&str; 2] = [CUSTOMER, "acme/blog"];
    let registry = CUSTOMERS.map(|c| format!("  - repo: {c}\n    environments: [staging, production]\n")).concat();
    let m = Manager::with_config(&format!("customers:\n{registry}")).await;
    let mut event = PathBuf::new();
    for customer in CUSTOMERS {
        m.fake.add_repo(customer);
        m.fake.put_file(customer, SHA1, "infra/variables.yml", template());
        m.fake.set_branch(customer, "main", SHA1);
        event = m.dispatch_event("infra-apply", customer, SHA1, None);
        for env in ["staging", "production"] {
            for verb in ["plan", "apply"] {
                let out = m.run("repository_dispatch", &event, &[verb, "--env", env]).run_async().await;
                assert_eq!(out.code, 0, "{customer} {env} {verb}: {}", out.stderr);
            }
        }
    }
    let targets = CUSTOMERS.len() * 2;
    // As drift.yml runs it, the service's login named (no `GET /user`).
    let drift = |run_id: &'static str| {
        m.run("schedule", &event, &["--json", "drift", "--all", "--open-issues"])
            .env("INFRA_MANAGER_GITHUB_LOGIN", fake_github::ACTIONS_BOT_LOGIN)
            .env("GITHUB_RUN_ID", run_id)
            .run_async()
    };
    // The calls and writes of one drift run, checked against what the run says of itself.
    let measured = async |run_id: &'static str, drifted: u64| {
        let before = m.fake.requests().len();
        let out = drift(run_id).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let report = out.json();
        assert_eq!(report["drifted"], drifted, "{report}");
        let calls: Vec<String> =
            m.fake.requests()[before..].iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        let writes = m.fake.requests()[before..].iter().filter(|r| r.is_write()).count();
        assert_eq!(report["github"]["calls"].as_u64(), Some(calls.len() as u64), "{calls:#?}");
        (calls, writes)
    };

    let (calls, writes) = measured("5001", 0).await;
    assert_eq!(writes, 0, "nothing drifted: {calls:#?}");
    assert!(calls.len() <= targets, "at most one call per target: {calls:#?}");
    // bench/run reads this line.
    #[allow(clippy::print_stdout)]
    {
        println!(
            "github api calls per target of a drift run, nothing drifted: {:.2}",
            calls.len() as f64 / targets as f64
        );
    }

    // One target drifts: its issue is opened once; the next run, the same drift, writes nothing.
    rewrite_state(
        &m,
        &serde_json::from_str(&std::fs::read_to_string(staging_state(&m)).expect("state")).expect("json"),
        |state| {
            state["resources"].as_array_mut().expect("resources").retain(|r| r["name"] != "security_group");
        },
    );
    let (_, writes) = measured("5002", 1).await;
    assert_eq!((writes, m.fake.issues(MANAGER).len()), (1, 1), "the issue opened");
    let (calls, writes) = measured("5003", 1).await;
    assert_eq!(writes, 0, "the same drift: {calls:#?}");
    assert!(calls.len() <= targets, "at most one call per target: {calls:#?}");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_issues_without_the_manager_repository_is_refused_before_any_check() {
    let m = Manager::new().await;
    let event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    let out = m
        .run("schedule", &event, &["drift", "--env", "staging", "--open-issues"])
        .env_remove("GITHUB_REPOSITORY")
        .run_async()
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("`--open-issues` needs the manager repository"), "{}", out.stderr);
    assert!(m.fake.requests().is_empty(), "{:#?}", m.fake.requests());
    assert!(!m.sb.store().join("records").exists(), "no drift run recorded");
}

/// The GitHub API calls of one PR plan run, on a PR that already holds 100 comments
/// (bench/run reports this count; docs/performance.md records it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_plan_run_makes_at_most_six_github_api_calls() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    // 99 reviews and, after the first run, the service's own comment: 100 in all.
    m.fake.add_comments(CUSTOMER, PR, 99, |i| format!("review comment {i}"));
    let first = m.plan(SHA1).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    // The second run finds its comment among the 100 and edits it.
    m.fake.put_file(CUSTOMER, SHA2, "infra/variables.yml", template().replace("max_instances: 2", "max_instances: 3"));
    let before = m.fake.requests().len();
    // The workflows name the service's login (vars.INFRA_MANAGER_GITHUB_LOGIN), so no
    // `GET /user` is spent learning it.
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA2));
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA2, Some(PR));
    let second = m
        .run("repository_dispatch", &event, &["plan", "--env", "staging"])
        .env("INFRA_MANAGER_GITHUB_LOGIN", fake_github::ACTIONS_BOT_LOGIN)
        .run_async()
        .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let calls: Vec<String> = m.fake.requests()[before..].iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    // bench/run reads this line.
    #[allow(clippy::print_stdout)]
    {
        println!("github api calls per PR plan run: {}", calls.len());
    }
    assert!(calls.len() <= 6, "{calls:#?}");
    // Issue 23 item 4: the run counts them itself, in the job summary and its record.
    let writes = m.fake.requests()[before..].iter().filter(|r| r.is_write()).count();
    let said = format!("{} GitHub API calls ({writes} creating content)", calls.len());
    let summary = std::fs::read_to_string(m.path("step_summary.md")).expect("summary");
    assert!(summary.trim_end().ends_with(&format!("{said}.")), "{said} in {summary}");
    let history = Run::new(m.sb.path()).args(["--json", "history", "--customer", CUSTOMER]).run_async().await;
    let newest = &history.json()["runs"][0];
    assert_eq!((newest["kind"].as_str(), newest["github_calls"].as_u64()), (Some("plan"), Some(calls.len() as u64)));
    assert_eq!(newest["github_writes"].as_u64(), Some(writes as u64));
    m.assert_clean();
}

/// Offboarding from the manager's destroy workflow: the destroy is planned from the commit
/// last applied, shown with a warning, and applied by `apply --customer --sha` with the
/// checks of any apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destroy_workflow_plans_from_the_last_applied_commit_and_its_apply_empties_the_state() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.set_branch(CUSTOMER, "main", SHA1);
    let apply_event = m.dispatch_event("infra-apply", CUSTOMER, SHA1, None);
    for verb in ["plan", "apply"] {
        let out = m.run("repository_dispatch", &apply_event, &[verb, "--env", "staging"]).run_async().await;
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
    }
    // The default branch moved on, but the state was made by SHA1's configuration.
    m.fake.set_branch(CUSTOMER, "main", SHA2);

    let destroy = m
        .run("workflow_dispatch", &apply_event, &["--json", "destroy", "--customer", CUSTOMER, "--env", "staging"])
        .run_async()
        .await;
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    let planned = destroy.json();
    assert_eq!(planned["sha"], SHA1, "planned from the last applied commit");
    let destroyed = planned["destroy"].as_u64().expect("a count");
    assert!(destroyed > 0);
    let summary = std::fs::read_to_string(m.path("step_summary.md")).expect("summary");
    assert!(
        summary.contains("> [!CAUTION]") && summary.contains(&format!("{destroyed} resources are destroyed")),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(m.path("github_output")).expect("outputs");
    assert!(outputs.contains(SHA1), "the apply job gets the commit from the `sha` output: {outputs}");

    // A commit other than the one planned is refused; the planned one applies.
    let wrong = m
        .run(
            "workflow_dispatch",
            &apply_event,
            &["--json", "apply", "--customer", CUSTOMER, "--env", "staging", "--sha", SHA2],
        )
        .run_async()
        .await;
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    let apply = m
        .run(
            "workflow_dispatch",
            &apply_event,
            &["--json", "apply", "--customer", CUSTOMER, "--env", "staging", "--sha", SHA1],
        )
        .run_async()
        .await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(apply.json()["destroy"].as_u64(), Some(destroyed));
    let state: Value = serde_json::from_str(&std::fs::read_to_string(staging_state(&m)).expect("state")).expect("json");
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(0), "nothing left in state");
    let history =
        m.run("workflow_dispatch", &apply_event, &["--json", "history", "--customer", CUSTOMER]).run_async().await;
    let kinds = history.run_kinds();
    // The refused apply of the wrong commit is on record too.
    assert_eq!(kinds[..3], ["apply succeeded", "apply failed", "destroy succeeded"].map(str::to_owned), "{kinds:?}");
    m.assert_clean();
}

/// Issue 20, item 6: the final status is delivered through a burst of 5xx and a secondary
/// rate limit that outlast one call's own retries (10 failures in a row): the commit never
/// stays `pending`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_final_status_is_delivered_through_a_burst_of_5xx_and_a_secondary_rate_limit() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    for fault in [Fault::Status(502), Fault::SecondaryRateLimit] {
        m.fake.inject_times("POST", "/repos/acme/webshop/statuses", fault.clone(), 10);
        let out = m.plan(SHA1).await;
        assert_eq!(out.code, 0, "{fault:?}: {}", out.stderr);
        let last = m.fake.statuses(CUSTOMER, SHA1).pop().expect("a status");
        assert_eq!(last.state, "success", "{fault:?}: {last:?}");
        assert!(out.stderr.contains("trying again"), "{fault:?}: {}", out.stderr);
    }
    m.assert_clean();
}

/// Issue 20, item 6: a SIGTERM while a call waits out GitHub's `Retry-After` stops the run
/// within a second, as cancelled (exit 130), instead of after the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_during_a_retry_after_wait_stops_the_run_within_a_second() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA1));
    m.fake.inject("GET", "/repos/acme/webshop/contents", Fault::SecondaryRateLimitFor(60));
    let event = m.dispatch_event("infra-plan", CUSTOMER, SHA1, Some(PR));
    let mut command = tokio::process::Command::from(
        m.run("repository_dispatch", &event, &["--json", "plan", "--env", "staging"]).into_command(),
    );
    let child =
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    // The fetch meets the rate limit at once; the client then waits its minute.
    let waiting = std::time::Instant::now();
    while m.fake.requests().iter().all(|r| !r.path.contains("/contents/")) {
        assert!(waiting.elapsed() < std::time::Duration::from_secs(20), "the fetch never came");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pid = child.id().expect("pid");
    let sent = std::time::Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid"),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let out = child.wait_with_output().await.expect("wait");
    let took = sent.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(took < std::time::Duration::from_secs(1), "stopped after {took:?}");
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"status\": \"cancelled\"") || stdout.contains("\"status\":\"cancelled\""), "{stdout}");
}

/// Issue 20, item 6: a pending status GitHub carries out late lands after the final one;
/// the run reads the context back and sets the final status again, so it does not end
/// `pending`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_pending_status_that_overtakes_the_final_one_is_set_again() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, SHA1, "infra/variables.yml", template());
    // Each attempt at the pending status is answered 502 and carried out 8 s later.
    m.fake.inject_times("POST", "/repos/acme/webshop/statuses", Fault::LateWrite(std::time::Duration::from_secs(8)), 4);
    // The read-back comes after every late write has landed.
    m.fake.inject("GET", "/repos/acme/webshop/commits/", Fault::Delay(std::time::Duration::from_secs(15)));
    m.hold_the_steps_past_a_second();
    let out = m.plan(SHA1).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("a late `pending` status overtook the final one"), "{}", out.stderr);
    let states: Vec<String> = m.fake.statuses(CUSTOMER, SHA1).into_iter().map(|s| s.state).collect();
    assert_eq!(states.last().map(String::as_str), Some("success"), "{states:?}");
    let first_success = states.iter().position(|s| s == "success").expect("a success");
    assert!(states[first_success..].iter().any(|s| s == "pending"), "a late pending landed after it: {states:?}");
    m.assert_clean();
}
