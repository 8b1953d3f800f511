//! Issue 22 item 4, end to end: the plan applied after a merge compared with the plan
//! reviewed on the merged pull request (the real binary, real Terraform, the local store,
//! the fake GitHub for the pull request merged as the commit).

use std::path::PathBuf;

use fake_github::{FakeGithub, PullRequest};
use serde_json::json;

use crate::support::cli::{Output, Run, Sandbox, require_terraform, v1_variables};

const CUSTOMER: &str = "acme/webshop";
const MANAGER: &str = "provider/manager";
const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "3333333333333333333333333333333333333333";
const PR: u64 = 7;

struct Manager {
    sb: Sandbox,
    fake: FakeGithub,
    /// The merge commit's plan: its status description and the job summary then.
    plan_status: std::sync::OnceLock<Option<String>>,
    plan_summary: std::sync::OnceLock<String>,
}

impl Manager {
    async fn new() -> Self {
        let sb = Sandbox::new();
        sb.add_config("customers:\n  - repo: acme/webshop\n    environments: [staging, production]\n");
        let fake = FakeGithub::start().await;
        fake.add_repo(CUSTOMER);
        fake.add_repo(MANAGER);
        Self { sb, fake, plan_status: Default::default(), plan_summary: Default::default() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sb.path().join(name)
    }

    fn event(&self, action: &str, sha: &str, pr: Option<u64>) -> PathBuf {
        let mut event = fake_github::example_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!(action);
        event["client_payload"] = json!({"repository": CUSTOMER, "sha": sha, "ref": "refs/heads/feature", "pull_request": pr, "event": "pull_request"});
        let path = self.path(&format!("event-{}.json", fastrand::u32(..)));
        std::fs::write(&path, event.to_string()).expect("write event");
        path
    }

    async fn run(&self, event: &std::path::Path, args: &[&str]) -> Output {
        Run::new(self.sb.path())
            .args(args)
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_TOKEN", "ghs_manager_token_value")
            .env("GITHUB_REPOSITORY", MANAGER)
            .in_actions(self.sb.path(), "repository_dispatch", event, "4242")
            .run_async()
            .await
    }

    /// PR #7 (head `HEAD`, `head_file`) is planned, then merged as `MERGE` (`merge_file`),
    /// which is planned and applied as a push to the default branch.
    async fn review_merge_and_apply(&self, head_file: &str, merge_file: &str) -> Output {
        self.fake.put_file(CUSTOMER, HEAD, "infra/variables.yml", head_file);
        self.fake.put_file(CUSTOMER, MERGE, "infra/variables.yml", merge_file);
        self.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, HEAD));
        let plan = self.run(&self.event("infra-plan", HEAD, Some(PR)), &["plan", "--env", "staging"]).await;
        assert_eq!(plan.code, 0, "{}", plan.stderr);

        self.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, HEAD).merged().with_merge_commit(MERGE));
        self.fake.add_commit(CUSTOMER, HEAD, &[]);
        self.fake.add_commit(CUSTOMER, MERGE, &[HEAD]);
        self.fake.set_branch(CUSTOMER, "main", MERGE);
        let event = self.event("infra-apply", MERGE, None);
        let plan = self.run(&event, &["plan", "--env", "staging"]).await;
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        self.plan_status.set(self.fake.statuses(CUSTOMER, MERGE).pop().and_then(|s| s.description)).ok();
        self.plan_summary.set(self.summary()).ok();
        let apply = self.run(&event, &["--json", "apply", "--env", "staging"]).await;
        assert_eq!(apply.code, 0, "{}", apply.stderr);
        assert!(self.fake.violations().is_empty(), "{:#?}", self.fake.violations());
        assert!(self.fake.unexpected().is_empty(), "{:#?}", self.fake.unexpected());
        apply
    }

    fn applied_comment(&self) -> String {
        let comments = self.fake.comments(CUSTOMER, PR);
        assert_eq!(comments.len(), 1, "one sticky comment: {comments:#?}");
        comments[0].body.clone()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("step_summary.md")).expect("summary written")
    }

    /// The apply run's record, as `history --json` lists it.
    fn apply_record(&self) -> serde_json::Value {
        let out = Run::new(self.sb.path()).args(["--json", "history", "--customer", CUSTOMER]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let runs = out.json()["runs"].as_array().cloned().unwrap_or_default();
        runs.into_iter().find(|r| r["kind"] == "apply").unwrap_or_else(|| panic!("no apply record in {}", out.stdout))
    }
}

fn template() -> String {
    std::fs::read_to_string(v1_variables()).expect("the v1 customer file")
}

/// The merge commit's plan and the PR head's plan are made at different commits (and the
/// merge's after the PR's): Terraform's own ids are unknown in both, and nothing else
/// differs, so they are equal — unlike a fingerprint of `resource_changes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_whose_plan_equals_the_reviewed_plan_says_so_in_the_applied_comment() {
    require_terraform();
    let m = Manager::new().await;
    let apply = m.review_merge_and_apply(&template(), &template()).await;

    let body = m.applied_comment();
    assert!(body.contains("The plan applied is the plan reviewed on #7 (1111111)."), "{body}");
    assert!(m.summary().contains("The plan applied is the plan reviewed on #7 (1111111)."), "{}", m.summary());
    let status = m.fake.statuses(CUSTOMER, MERGE).pop().expect("status");
    assert_eq!(status.state, "success");
    assert!(!status.description.unwrap_or_default().contains("reviewed"), "equal plans add nothing to the status");
    assert_eq!(apply.json()["reviewed"]["result"], "equal");
    let record = m.apply_record();
    assert_eq!((record["reviewed_pr"].as_u64(), record["reviewed_plan_equal"].as_bool()), (Some(7), Some(true)));
    assert_eq!(record["reviewed_sha"], HEAD);
    assert!(record.get("reviewed_difference_shown_at").is_none(), "{record}");
}

/// Another change reached the default branch between the review and the merge: the plan
/// applied is not the plan reviewed, and the comment, status and job summary say where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_whose_plan_differs_from_the_reviewed_plan_shows_the_difference() {
    require_terraform();
    let m = Manager::new().await;
    let merged = template().replace("project: customer-project", "project: other-project");
    assert_ne!(merged, template());
    let apply = m.review_merge_and_apply(&template(), &merged).await;

    let body = m.applied_comment();
    assert!(body.contains("#### ⚠️ Not the plan reviewed on #7 (1111111)"), "{body}");
    assert!(body.contains("at 8 address(es)"), "{body}");
    let row = "| `module.app.terraform_data.vpc` `input.tags.project` | `\"customer-project\"` | `\"other-project\"` |";
    assert!(body.contains(row), "{body}");
    let summary = m.summary();
    assert!(summary.contains("Not the plan reviewed on #7 (1111111)"), "{summary}");
    assert!(summary.contains("`\"other-project\"`"), "{summary}");
    let status = m.fake.statuses(CUSTOMER, MERGE).pop().expect("status");
    let description = status.description.unwrap_or_default();
    assert_eq!(status.state, "success", "the comparison never fails an apply");
    assert!(
        description.starts_with("Applied: 8 added, 0 changed, 0 destroyed; NOT the plan reviewed on #7 (1111111): "),
        "{description}"
    );
    assert!(description.chars().count() <= 140);
    assert!(apply.stderr.contains("the plan applied is NOT the plan reviewed on #7"), "{}", apply.stderr);
    assert_eq!(apply.json()["reviewed"]["result"], "different");
    let record = m.apply_record();
    assert_eq!(
        (record["reviewed_plan_equal"].as_bool(), record["reviewed_differences"].as_u64()),
        (Some(false), Some(8))
    );
    assert!(record["reviewed_difference_shown_at"].is_string(), "{record}");

    // The merge commit's plan, before any approval of the apply, already showed it.
    let plan_status = m.plan_status.get().cloned().flatten().unwrap_or_default();
    assert!(plan_status.contains("; NOT the plan reviewed on #7 (1111111): 8 address(es) differ"), "{plan_status}");
    let plan_summary = m.plan_summary.get().cloned().unwrap_or_default();
    assert!(plan_summary.contains("#### ⚠️ Not the plan reviewed on #7 (1111111)"), "{plan_summary}");
    let out = Run::new(m.sb.path()).args(["--json", "history", "--customer", CUSTOMER]).run();
    let runs = out.json()["runs"].as_array().cloned().unwrap_or_default();
    let shown: Vec<&str> = runs.iter().filter_map(|r| r["reviewed_difference_shown_at"].as_str()).collect();
    assert_eq!(shown.len(), 2, "the merge's plan and its apply: {runs:#?}");
    let first = shown.iter().filter_map(|t| t.parse::<jiff::Timestamp>().ok()).min();
    let plan_run = runs.iter().find(|r| r["kind"] == "plan" && r["sha"] == MERGE).expect("the merge's plan run");
    assert_eq!(first, plan_run["reviewed_difference_shown_at"].as_str().and_then(|t| t.parse().ok()));
}

/// A merged pull request whose head was never planned: said, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_pull_request_without_a_stored_plan_is_reported_not_failed() {
    require_terraform();
    let m = Manager::new().await;
    m.fake.put_file(CUSTOMER, MERGE, "infra/variables.yml", template());
    m.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, HEAD).merged().with_merge_commit(MERGE));
    m.fake.set_branch(CUSTOMER, "main", MERGE);
    let event = m.event("infra-apply", MERGE, None);
    assert_eq!(m.run(&event, &["plan", "--env", "staging"]).await.code, 0);
    let apply = m.run(&event, &["--json", "apply", "--env", "staging"]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let body = m.applied_comment();
    assert!(body.contains("no reviewed plan found for #7 (1111111)"), "{body}");
    assert_eq!(m.apply_record()["reviewed_note"], "no reviewed plan found for #7 (1111111)");
}

/// Local mode has no pull request: nothing is compared and nothing is said about it.
#[test]
fn local_mode_compares_nothing_and_says_nothing() {
    require_terraform();
    let sb = Sandbox::new();
    assert_eq!(sb.run("plan", "staging").code, 0);
    let apply = sb.run("apply", "staging");
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(apply.json().get("reviewed").is_none(), "{}", apply.stdout);
    assert!(!apply.stderr.contains("reviewed"), "{}", apply.stderr);
    let kept = crate::support::cli::walk(&sb.store()).into_iter().filter(|p| p.ends_with(".reviewable.json")).count();
    assert_eq!(kept, 1, "the plan keeps its reviewable document beside it");
}

/// A destroy plans from the commit last applied (the merge), over that commit's stored plan:
/// nobody reviewed a destroy on the pull request, so its apply compares nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destroy_of_a_merged_commit_is_not_compared_with_its_pull_request() {
    require_terraform();
    let m = Manager::new().await;
    m.review_merge_and_apply(&template(), &template()).await;
    let event = m.event("infra-apply", MERGE, None);
    let destroy = m.run(&event, &["--json", "destroy", "--customer", CUSTOMER, "--env", "staging"]).await;
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert_eq!(destroy.json()["sha"], MERGE);
    let apply = m.run(&event, &["--json", "apply", "--customer", CUSTOMER, "--env", "staging", "--sha", MERGE]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(apply.json()["destroy"].as_u64().is_some_and(|n| n > 0));
    assert!(apply.json().get("reviewed").is_none(), "{}", apply.stdout);
    assert!(!m.applied_comment().contains("reviewed on #7"), "{}", m.applied_comment());
}
