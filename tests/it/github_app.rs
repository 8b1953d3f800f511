//! GitHub App authentication end to end: the real binary against the fake GitHub with the
//! test App installed (`crates/fake-github/test-keys/`, a test-only key pair). The App's
//! JWT is verified by the fake, each repository's installation token is narrowed to it,
//! renewed near expiry, and comments, statuses and check runs come from `<slug>[bot]`.

use fake_github::{FakeGithub, PullRequest, TEST_APP_PRIVATE_KEY, TEST_INSTALLATION_ID};
use serde_json::json;

use crate::support::cli::{Output, Run, Sandbox, require_terraform, v1_variables};

const CUSTOMER: &str = "acme/webshop";
const MANAGER: &str = "provider/manager";
const SHA: &str = "1111111111111111111111111111111111111111";
const PR: u64 = 7;
const APP_ID: u64 = 90_210;
const SLUG: &str = "infra-deployer";
const BOT: &str = "infra-deployer[bot]";
const MARKER: &str = "<!-- infra-manager:plan:staging -->";
const RUN_URL: &str = "https://github.com/provider/manager/actions/runs/4242";

/// The v1 example file (its lines are the ones the annotations point at).
fn template() -> String {
    std::fs::read_to_string(v1_variables()).expect("the v1 example")
}

/// A manager run as the test App, against a fake where the App is on `installed_on`.
struct AppManager {
    sb: Sandbox,
    fake: FakeGithub,
}

impl AppManager {
    async fn new(installed_on: &[&str]) -> Self {
        let sb = Sandbox::new();
        sb.add_config("customers:\n  - repo: acme/webshop\n    environments: [staging, production]\n");
        std::fs::write(sb.path().join("app-key.pem"), TEST_APP_PRIVATE_KEY).expect("key file");
        let fake = FakeGithub::start().await;
        fake.add_repo(CUSTOMER);
        fake.add_repo(MANAGER);
        fake.install_app(APP_ID, SLUG, installed_on);
        Self { sb, fake }
    }

    /// `plan --env staging` for `SHA`, the head of the open PR, as the App.
    async fn plan(&self) -> Output {
        self.plan_after(&[]).await
    }

    /// [`AppManager::plan`] with `global` flags before the command.
    async fn plan_after(&self, global: &[&str]) -> Output {
        self.fake.put_pull_request(CUSTOMER, PullRequest::open(PR, SHA));
        let mut event = fake_github::example_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!("infra-plan");
        event["client_payload"] = json!({"repository": CUSTOMER, "sha": SHA, "ref": "refs/heads/feature", "pull_request": PR, "event": "pull_request"});
        let event_path = self.sb.path().join("event.json");
        std::fs::write(&event_path, event.to_string()).expect("event");
        Run::new(self.sb.path())
            .args(global)
            .args(["plan", "--env", "staging", "--github-app-id", &APP_ID.to_string()])
            .args(["--github-app-private-key-file", "app-key.pem"])
            .env_remove("GITHUB_TOKEN")
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "repository_dispatch")
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", MANAGER)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", "abcdefabcdefabcdefabcdefabcdefabcdefabcd")
            .env("GITHUB_OUTPUT", self.sb.path().join("github_output"))
            .env("RUNNER_TEMP", self.sb.path().join("runner_temp"))
            .run_async()
            .await
    }

    fn assert_clean(&self, out: &Output) {
        assert!(self.fake.violations().is_empty(), "schema violations: {:#?}", self.fake.violations());
        assert!(self.fake.unexpected().is_empty(), "unexpected requests: {:#?}", self.fake.unexpected());
        // Neither the key nor an installation token ever reaches the log.
        for secret in ["PRIVATE KEY", "ghs_fakeApp", "eyJ"] {
            assert!(!out.stderr.contains(secret) && !out.stdout.contains(secret), "{secret} printed");
        }
    }

    fn requests(&self, method: &str, path: &str) -> usize {
        self.fake.requests().iter().filter(|r| r.method == method && r.path == path).count()
    }
}

/// What a customer-repository token asks for: that repository and nothing more.
fn assert_narrowed(fake: &FakeGithub) {
    for request in fake.token_requests() {
        assert_eq!(request.installation_id, TEST_INSTALLATION_ID);
        assert_eq!(request.repositories, ["webshop"]);
        assert_eq!(
            request.permissions,
            json!({"contents": "read", "pull_requests": "write", "statuses": "write", "checks": "write"})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_as_the_app_comments_and_checks_as_its_bot_and_leaves_a_planted_marker_alone() {
    require_terraform();
    let m = AppManager::new(&[CUSTOMER]).await;
    m.fake.put_file(CUSTOMER, SHA, "infra/variables.yml", template());
    let planted = m.fake.add_comment_by(CUSTOMER, PR, "mallory", &format!("{MARKER}\nplanted"));
    let out = m.plan().await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // The JWT was accepted: the App and its installation were found, one token exchanged.
    assert_eq!(m.requests("GET", "/app"), 1);
    assert_eq!(m.requests("GET", "/repos/acme/webshop/installation"), 1);
    assert_eq!(m.fake.token_requests().len(), 1, "an hour-long token is reused");
    assert_narrowed(&m.fake);

    let comments = m.fake.comments(CUSTOMER, PR);
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert_eq!((comments[0].id, comments[0].user.as_str()), (planted, "mallory"));
    assert_eq!(comments[0].body, format!("{MARKER}\nplanted"), "someone else's marker comment is left alone");
    assert_eq!(comments[1].user, BOT);
    assert!(comments[1].body.starts_with(MARKER));

    let statuses = m.fake.statuses(CUSTOMER, SHA);
    // A pending status comes first only when the plan takes over a second.
    let states: Vec<&str> = statuses.iter().map(|s| s.state.as_str()).filter(|s| *s != "pending").collect();
    assert_eq!(states, ["success"]);
    assert!(statuses.iter().all(|s| s.creator == BOT), "{statuses:#?}");

    let runs = m.fake.check_runs(CUSTOMER);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(
        (run.name.as_str(), run.head_sha.as_str(), run.author.as_str()),
        ("infra/terraform-deploy/staging", SHA, BOT)
    );
    assert_eq!((run.status.as_str(), run.conclusion.as_deref()), ("completed", Some("success")));
    assert_eq!(run.details_url.as_deref(), Some(RUN_URL));
    let text = run.output["text"].as_str().expect("plan text");
    assert!(text.contains("<details><summary>Full plan</summary>") && text.contains("will be created"), "{text}");
    insta::assert_json_snapshot!(
        "plan_check_run",
        json!({
            "conclusion": run.conclusion,
            "title": run.output["title"],
            "summary": run.output["summary"],
            "annotations": run.annotations,
        })
    );
    m.assert_clean(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_fails_the_check_run_with_annotations_at_its_lines() {
    let m = AppManager::new(&[CUSTOMER]).await;
    let bad = template()
        .replace("project_name: customer-app-name", "project_name: Bad_Name")
        .replace("availability_zones: 2", "availability_zones: 9");
    m.fake.put_file(CUSTOMER, SHA, "infra/variables.yml", bad);
    let out = m.plan().await;
    assert_eq!(out.code, 2, "{}", out.stderr);

    let runs = m.fake.check_runs(CUSTOMER);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!((runs[0].conclusion.as_deref(), runs[0].author.as_str()), (Some("failure"), BOT));
    let places: Vec<(u64, u64)> = runs[0]
        .annotations
        .iter()
        .map(|a| (a["start_line"].as_u64().unwrap_or(0), a["start_column"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(places, [(10, 15), (24, 23)]);
    insta::assert_json_snapshot!(
        "invalid_check_run",
        json!({
            "conclusion": runs[0].conclusion,
            "title": runs[0].output["title"],
            "summary": runs[0].output["summary"],
            "annotations": runs[0].annotations,
        })
    );
    let statuses = m.fake.statuses(CUSTOMER, SHA);
    assert_eq!(statuses.last().map(|s| (s.state.as_str(), s.creator.as_str())), Some(("failure", BOT)));
    assert_eq!(m.fake.comments(CUSTOMER, PR).last().map(|c| c.user.clone()).as_deref(), Some(BOT));
    m.assert_clean(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_expiry_is_renewed_before_the_next_call() {
    let m = AppManager::new(&[CUSTOMER]).await;
    // Every token the fake issues now has less than the 5 minutes the client wants left.
    m.fake.set_app_token_lifetime(200);
    m.fake.put_file(CUSTOMER, SHA, "infra/variables.yml", "project_name: Bad_Name\n");
    let out = m.plan().await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let repo_calls = m
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/repos/acme/webshop/") && !r.path.ends_with("/installation"))
        .count();
    assert!(repo_calls > 3, "{repo_calls}");
    assert_eq!(m.fake.token_requests().len(), repo_calls, "one fresh token per call");
    assert_eq!(m.requests("GET", "/repos/acme/webshop/installation"), 1, "the installation is looked up once");
    assert_narrowed(&m.fake);
    assert_eq!(m.fake.check_runs(CUSTOMER)[0].conclusion.as_deref(), Some("failure"));
    m.assert_clean(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_not_installed_on_the_repository_fails_with_zero_writes() {
    let m = AppManager::new(&[MANAGER]).await;
    m.fake.put_file(CUSTOMER, SHA, "infra/variables.yml", template());
    let out = m.plan().await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("is not installed on `acme/webshop`"), "{}", out.stderr);
    assert_eq!(m.fake.write_count(), 0, "{:#?}", m.fake.requests());
    assert!(m.fake.token_requests().is_empty());
    m.assert_clean(&out);
}

#[test]
fn the_app_flags_exclude_the_token() {
    let out = Run::new(&std::env::temp_dir())
        .args(["plan", "--env", "staging", "--github-token", "t", "--github-app-id", "1"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_given_before_the_command_is_refused_beside_the_app_with_zero_calls() {
    let m = AppManager::new(&[CUSTOMER]).await;
    m.fake.put_file(CUSTOMER, SHA, "infra/variables.yml", template());
    // `--github-token` belongs to the commands that talk to GitHub: before one, it is unknown.
    let out = m.plan_after(&["--github-token", "ghs_x"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("unexpected argument '--github-token'"), "{}", out.stderr);
    assert_ne!(out.code, 0);
    assert!(m.fake.requests().is_empty(), "{:#?}", m.fake.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_past_fifty_go_in_further_updates_of_the_check_run() {
    use infra_manager::codehost::{CheckAnnotation, CheckConclusion, CheckReport, Reporter};
    use infra_manager::github::{GithubApp, GithubHost, RetryPolicy};
    use infra_manager::identity::{RepoId, Sha};

    let fake = FakeGithub::start().await;
    fake.install_app(APP_ID, SLUG, &[CUSTOMER]);
    let app = GithubApp::new(&APP_ID.to_string(), TEST_APP_PRIVATE_KEY).expect("test app");
    let host = GithubHost::with_app(&fake.url(), app, RetryPolicy::fast()).expect("client");
    assert_eq!(host.identity().await.expect("identity"), BOT);
    let shown = format!("{host:?}");
    assert!(shown.contains(r#"key: "***""#) && !shown.contains("PRIVATE KEY"), "{shown}");
    let (repo, sha) = (RepoId::parse(CUSTOMER).expect("repo"), Sha::parse(SHA).expect("sha"));
    let id = host
        .start_check(
            &infra_manager::identity::Owner::Customer(repo.clone()),
            &sha,
            "infra/terraform-deploy/staging",
            None,
        )
        .await
        .expect("start");
    let id = id.expect("an App has check runs");
    let annotation = |line: u64| CheckAnnotation {
        path: "infra/variables.yml".to_owned(),
        start_line: line,
        end_line: line,
        start_column: None,
        end_column: None,
        annotation_level: "failure",
        message: format!("problem {line}"),
    };
    let report = CheckReport {
        conclusion: CheckConclusion::Failure,
        title: "75 problems".to_owned(),
        summary: "s".to_owned(),
        text: None,
        annotations: (1..=75).map(annotation).collect(),
    };
    host.finish_check(&infra_manager::identity::Owner::Customer(repo.clone()), id, &report).await.expect("finish");
    let runs = fake.check_runs(CUSTOMER);
    assert_eq!((runs[0].status.as_str(), runs[0].conclusion.as_deref()), ("completed", Some("failure")));
    let lines: Vec<u64> = runs[0].annotations.iter().filter_map(|a| a["start_line"].as_u64()).collect();
    assert_eq!(lines, (1..=75).collect::<Vec<_>>());
    let patches = fake.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 2, "50, then 25");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}
