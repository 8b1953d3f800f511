//! Issue 22 items 3, 5 and 6 end to end: the real binary, real Terraform, a local store
//! and the fake GitHub (its approvals and reviews routes from GitHub's REST description).
//! An apply to an environment that requires approval is refused without one and goes
//! through with one; an apply outside the window is refused and a plan is not; `audit`
//! lists the applies with requester and approver.

use std::path::PathBuf;

use fake_github::{FakeGithub, PullRequest};
use serde_json::{Value, json};

use crate::support::cli::{Output, Run, Sandbox, require_terraform, v1_variables};

const CUSTOMER: &str = "acme/webshop";
const MANAGER: &str = "provider/manager";
/// The merge commit applied, and the pull request's head commit that reviewers saw.
const MERGE: &str = "1111111111111111111111111111111111111111";
const HEAD: &str = "2222222222222222222222222222222222222222";
const OLDER: &str = "3333333333333333333333333333333333333333";
const PR: u64 = 7;
const RUN_ID: u64 = 4242;

struct Manager {
    sb: Sandbox,
    fake: FakeGithub,
}

impl Manager {
    /// A manager whose `staging` environment is configured by `staging` (YAML flow map).
    async fn new(staging: &str) -> Self {
        let sb = Sandbox::new();
        sb.add_config(&format!(
            "environments:\n  staging: {staging}\n  production: {{ auto_apply: false }}\ncustomers:\n  - repo: {CUSTOMER}\n    environments: [staging, production]\n"
        ));
        let fake = FakeGithub::start().await;
        fake.add_repo(CUSTOMER);
        fake.add_repo(MANAGER);
        fake.put_file(CUSTOMER, MERGE, "infra/variables.yml", std::fs::read_to_string(v1_variables()).expect("v1"));
        fake.set_branch(CUSTOMER, "main", MERGE);
        let pull =
            PullRequest { user: "paula".into(), ..PullRequest::open(PR, HEAD).merged().with_merge_commit(MERGE) };
        fake.put_pull_request(CUSTOMER, pull);
        Self { sb, fake }
    }

    fn event(&self) -> PathBuf {
        let mut event = fake_github::example_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!("infra-apply");
        event["client_payload"] = json!({"repository": CUSTOMER, "sha": MERGE, "ref": "refs/heads/main", "pull_request": null, "event": "push"});
        let path = self.sb.path().join(format!("event-{}.json", fastrand::u32(..)));
        std::fs::write(&path, event.to_string()).expect("write event");
        path
    }

    async fn run(&self, args: &[&str]) -> Output {
        let event = self.event();
        Run::new(self.sb.path())
            .args(args)
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_TOKEN", "ghs_manager_token_value")
            .env("GITHUB_REPOSITORY", MANAGER)
            .in_actions(self.sb.path(), "repository_dispatch", &event, &RUN_ID.to_string())
            .run_async()
            .await
    }

    async fn plan(&self) {
        let plan = self.run(&["plan", "--env", "staging"]).await;
        assert_eq!(plan.code, 0, "{}", plan.stderr);
    }

    async fn apply(&self) -> Output {
        self.run(&["--json", "apply", "--env", "staging"]).await
    }

    fn last_status(&self) -> (String, String) {
        let last = self.fake.statuses(CUSTOMER, MERGE).pop().expect("a status");
        (last.state, last.description.unwrap_or_default())
    }

    fn apply_records(&self) -> Vec<Value> {
        let history =
            Run::new(self.sb.path()).args(["--json", "history", "--customer", CUSTOMER, "--env", "staging"]).run();
        assert_eq!(history.code, 0, "{}", history.stderr);
        let runs = history.json()["runs"].as_array().cloned().unwrap_or_default();
        runs.into_iter().filter(|r| r["kind"] == "apply").collect()
    }

    fn assert_clean(&self) {
        assert!(self.fake.violations().is_empty(), "schema violations: {:#?}", self.fake.violations());
        assert!(self.fake.unexpected().is_empty(), "unexpected requests: {:#?}", self.fake.unexpected());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_needing_a_review_is_refused_without_one_then_applied_with_one_and_audited() {
    require_terraform();
    let m = Manager::new("{ approval: { reviewers: [alice, bob] } }").await;
    m.plan().await;
    // Not one of the reviewers, and alice's approval of an older commit: no approval.
    m.fake.add_review(CUSTOMER, PR, "mallory", "APPROVED", HEAD);
    m.fake.add_review(CUSTOMER, PR, "alice", "APPROVED", OLDER);
    let refused = m.apply().await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.json()["status"], "refused");
    let (state, description) = m.last_status();
    assert_eq!(state, "failure");
    assert!(description.contains("needs an approval by one of alice, bob"), "{description}");
    assert!(m.apply_records().is_empty(), "nothing applied, nothing recorded as applied");

    m.fake.add_review(CUSTOMER, PR, "bob", "APPROVED", HEAD);
    let applied = m.apply().await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let (state, description) = m.last_status();
    assert_eq!(state, "success");
    assert!(description.contains("; approved by bob"), "{description}");
    let comment = m.fake.comments(CUSTOMER, PR).pop().expect("the applied comment");
    assert!(comment.body.contains("Approved by `bob`"), "{}", comment.body);
    let records = m.apply_records();
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!((records[0]["approver"].as_str(), records[0]["requester"].as_str()), (Some("bob"), Some("paula")));
    assert_eq!(records[0]["approval_source"], "review:#7");

    let audit = Run::new(m.sb.path()).args(["--json", "audit", "--since", "2020-01-01"]).run();
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let lines: Vec<Value> =
        audit.stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    assert_eq!(lines.len(), 1, "{}", audit.stdout);
    let entry = &lines[0];
    assert_eq!((entry["kind"].as_str(), entry["target"].as_str()), (Some("apply"), Some(CUSTOMER)));
    assert_eq!((entry["commit"].as_str(), entry["environment"].as_str()), (Some(MERGE), Some("staging")));
    assert_eq!((entry["requester"].as_str(), entry["approver"].as_str()), (Some("paula"), Some("bob")));
    assert_eq!(entry["add"], 8);
    assert_eq!(entry["plan_sha256"].as_str().map(str::len), Some(64));
    let later = Run::new(m.sb.path()).args(["--json", "audit", "--since", "2999-01-01"]).run();
    assert_eq!((later.code, later.stdout.trim()), (0, ""), "{}", later.stderr);
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_approval_is_read_from_the_runs_review_history() {
    require_terraform();
    let m = Manager::new("{ approval: { environment: staging-apply } }").await;
    m.plan().await;
    m.fake.add_run_approval(MANAGER, RUN_ID, "dan", "approved", &["production-apply"]);
    let refused = m.apply().await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(m.last_status().1.contains("required reviewer of the GitHub environment `staging-apply`"));
    m.fake.add_run_approval(MANAGER, RUN_ID, "carol", "approved", &["staging-apply"]);
    let applied = m.apply().await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let records = m.apply_records();
    assert_eq!(records[0]["approver"], "carol");
    assert_eq!(records[0]["approval_source"], "environment:staging-apply");
    m.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_outside_the_window_is_refused_and_a_plan_is_not() {
    require_terraform();
    // A window only on a day that is not today (UTC), so now is outside it.
    let tomorrow = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date().tomorrow().expect("date");
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow.weekday().to_monday_zero_offset() as usize];
    let m =
        Manager::new(&format!("{{ windows: [{{ days: [{day}], from: \"09:00\", to: \"17:00\", time_zone: UTC }}] }}"))
            .await;
    m.plan().await;
    let refused = m.apply().await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let (state, description) = m.last_status();
    assert_eq!(state, "failure");
    assert!(
        description.contains(&format!("outside its apply windows; next window: {day} {tomorrow} 09:00 UTC")),
        "{description}"
    );
    assert!(m.apply_records().is_empty());
    m.assert_clean();
}
