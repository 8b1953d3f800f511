//! `GithubHost` against `fake-github`: the real client over real HTTP on 127.0.0.1, with
//! GitHub's request schemas checked and every request the fake did not expect named.
//! Each test starts its own fake, so they run in parallel.

use std::time::Duration;

use fake_github::{ACTIONS_BOT_LOGIN, FakeGithub, Fault};
use infra_manager::codehost::{
    Branch, CodeHostError, CommentOutcome, CommitStatus, Files, Provenance, PullRequest, Reporter, StatusState,
};
use infra_manager::diagnostic::FileProblem;
use infra_manager::github::{GithubHost, GithubToken, RetryPolicy};
use infra_manager::identity::{RepoId, Sha};
use infra_manager::limits::CUSTOMER_FILE_BYTES as MAX_FILE_BYTES;
use serde_json::json;

const SHA: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
const MARKER: &str = "<!-- infra-manager:plan:staging -->";

fn customer() -> RepoId {
    RepoId::parse("acme/web").expect("valid customer")
}

fn owner() -> infra_manager::identity::Owner {
    infra_manager::identity::Owner::Customer(customer())
}

fn sha() -> Sha {
    Sha::parse(SHA).expect("valid sha")
}

fn host(fake: &FakeGithub) -> GithubHost {
    host_with(fake, RetryPolicy::fast())
}

fn host_with(fake: &FakeGithub, policy: RetryPolicy) -> GithubHost {
    let token = GithubToken::new("ghs_test_token").expect("token");
    GithubHost::new(&fake.url(), token, policy).expect("client")
}

/// Every test ends here: GitHub's contracts held and nothing unexpected was asked.
fn assert_clean(fake: &FakeGithub) {
    let violations = fake.violations();
    assert!(violations.is_empty(), "schema violations: {violations:#?}");
    let unexpected = fake.unexpected();
    assert!(unexpected.is_empty(), "unexpected requests: {unexpected:#?}");
}

fn count(fake: &FakeGithub, method: &str, path_prefix: &str) -> usize {
    fake.requests().iter().filter(|r| r.method == method && r.path.starts_with(path_prefix)).count()
}

fn status(state: StatusState, description: &str) -> CommitStatus {
    CommitStatus {
        state,
        context: "infra/terraform-deploy/staging".to_owned(),
        description: description.to_owned(),
        target_url: Some("https://github.com/provider/manager/actions/runs/42".to_owned()),
    }
}

#[tokio::test]
async fn reads_a_file_at_the_sha_and_a_missing_file_is_none() {
    let fake = FakeGithub::start().await;
    let text = "project_name: web\ncloud_provider: aws\n# ünïcode ✓\n";
    fake.put_file("acme/web", SHA, "infra/variables.yml", text);
    fake.put_file("acme/web", "main", "infra/variables.yml", "project_name: something-else\n");
    let github = host(&fake);

    let read = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect("read");
    assert_eq!(read.as_deref(), Some(text));
    assert_eq!(github.read_file(&owner(), "infra/missing.yml", &sha()).await.expect("read"), None);

    let requests = fake.requests();
    assert_eq!(requests[0].path, "/repos/acme/web/contents/infra/variables.yml");
    assert_eq!(requests[0].query.as_deref(), Some(format!("ref={SHA}").as_str()));
    assert_eq!(fake.write_count(), 0);
    // What a commit holds never changes: a second read of it (another environment) is kept.
    let again = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect("read");
    assert_eq!((again.as_deref(), fake.requests().len()), (Some(text), requests.len()));
    assert_clean(&fake);
}

#[tokio::test]
async fn a_sha_that_is_not_in_the_repository_is_an_error_not_a_missing_file() {
    let fake = FakeGithub::start().await;
    fake.put_file("acme/web", "main", "infra/variables.yml", "x: 1\n");
    let github = host(&fake);

    let err = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect_err("unknown commit");
    let message = err.to_string();
    assert!(matches!(err, CodeHostError::Read { .. }), "{err:?}");
    assert!(message.contains(&format!("commit `{SHA}` is not in `acme/web`")), "{message}");
    assert_clean(&fake);
}

#[tokio::test]
async fn an_unknown_repository_is_an_error_not_a_missing_file() {
    let fake = FakeGithub::start().await;
    let github = host(&fake);

    let err = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect_err("no such repo");
    assert!(err.to_string().contains("repository `acme/web` does not exist or the token can't read it"), "{err}");
    assert_clean(&fake);
}

#[tokio::test]
async fn files_over_64_kib_are_refused() {
    let fake = FakeGithub::start().await;
    fake.put_file("acme/web", SHA, "infra/variables.yml", "#".repeat(MAX_FILE_BYTES + 1));
    fake.put_file("acme/web", SHA, "infra/just-fits.yml", "#".repeat(MAX_FILE_BYTES));
    let github = host(&fake);

    let err = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect_err("too large");
    assert!(
        matches!(err, CodeHostError::Unusable { problem: FileProblem::TooLarge { limit, .. }, .. } if limit == MAX_FILE_BYTES as u64),
        "{err:?}"
    );
    let fits = github.read_file(&owner(), "infra/just-fits.yml", &sha()).await.expect("read");
    assert_eq!(fits.map(|t| t.len()), Some(MAX_FILE_BYTES));
    assert_clean(&fake);
}

#[tokio::test]
async fn sets_a_status_with_state_context_description_and_target_url() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let github = host(&fake);

    github.set_status(&owner(), &sha(), &status(StatusState::Pending, "Planning staging")).await.expect("pending");
    let long = "Plan: 3 to add, 1 to change, 0 to destroy — ".repeat(10);
    github.set_status(&owner(), &sha(), &status(StatusState::Success, &long)).await.expect("success");

    let statuses = fake.statuses("acme/web", SHA);
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0].state, "pending");
    assert_eq!(statuses[0].context, "infra/terraform-deploy/staging");
    assert_eq!(statuses[0].description.as_deref(), Some("Planning staging"));
    assert_eq!(statuses[0].target_url.as_deref(), Some("https://github.com/provider/manager/actions/runs/42"));
    assert_eq!(statuses[1].state, "success");
    let description = statuses[1].description.clone().unwrap_or_default();
    assert_eq!(description.chars().count(), 140, "cut to GitHub's limit on a character boundary");
    assert!(description.ends_with('…'));
    assert_clean(&fake);
}

#[tokio::test]
async fn first_upsert_creates_and_the_second_edits_in_place_on_page_two() {
    let fake = FakeGithub::start().await;
    fake.add_comments("acme/web", 7, 150, |i| format!("an unrelated review comment {i}"));
    let github = host(&fake);

    let first = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nPlan: 1 to add")).await.expect("create");
    assert_eq!(first, CommentOutcome::Created);
    let created = fake.comments("acme/web", 7);
    assert_eq!(created.len(), 151);
    let sticky_id = created[150].id;

    let second = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nPlan: 2 to add")).await.expect("edit");
    assert_eq!(second, CommentOutcome::Updated);
    let after = fake.comments("acme/web", 7);
    assert_eq!(after.len(), 151, "edited in place, no new comment");
    assert_eq!(after[150].id, sticky_id);
    assert_eq!(after[150].body, format!("{MARKER}\nPlan: 2 to add"));

    let pages: Vec<Option<String>> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/repos/acme/web/issues/7/comments")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        pages,
        vec![
            Some("per_page=100".to_owned()),
            Some("per_page=100&page=2".to_owned()),
            Some("per_page=100".to_owned()),
            Some("per_page=100&page=2".to_owned()),
        ],
        "every page is read, following the Link header"
    );
    assert_eq!(count(&fake, "PATCH", &format!("/repos/acme/web/issues/comments/{sticky_id}")), 1);
    assert_eq!(fake.write_count(), 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn an_unchanged_comment_is_not_rewritten() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let github = host(&fake);
    let body = format!("{MARKER}\nNo changes");

    assert_eq!(github.upsert_comment(&owner(), 3, MARKER, &body).await.expect("create"), CommentOutcome::Created);
    assert_eq!(github.upsert_comment(&owner(), 3, MARKER, &body).await.expect("same"), CommentOutcome::Updated);
    assert_eq!(fake.write_count(), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_posted_twice() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject("POST", "/repos/acme/web/issues/9/comments", Fault::LostResponse(502));
    let github = host(&fake);

    let outcome = github.upsert_comment(&owner(), 9, MARKER, &format!("{MARKER}\nplan")).await.expect("upsert");
    assert_eq!(outcome, CommentOutcome::Created);
    assert_eq!(fake.comments("acme/web", 9).len(), 1, "the re-list found the comment the lost answer created");
    assert_eq!(count(&fake, "POST", "/repos/acme/web/issues/9/comments"), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_create_that_failed_before_landing_is_posted_again_after_a_fresh_look() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject("POST", "/repos/acme/web/issues/9/comments", Fault::Status(503));
    let github = host(&fake);

    let outcome = github.upsert_comment(&owner(), 9, MARKER, &format!("{MARKER}\nplan")).await.expect("upsert");
    assert_eq!(outcome, CommentOutcome::Created);
    assert_eq!(fake.comments("acme/web", 9).len(), 1);
    assert_eq!(count(&fake, "POST", "/repos/acme/web/issues/9/comments"), 2);
    assert_eq!(count(&fake, "GET", "/repos/acme/web/issues/9/comments"), 2, "looked before posting again");
    assert_clean(&fake);
}

#[tokio::test]
async fn a_body_without_its_marker_is_refused_before_any_call() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let github = host(&fake);

    let err = github.upsert_comment(&owner(), 1, MARKER, "no marker here").await.expect_err("refused");
    assert!(err.to_string().contains("does not start with its marker"), "{err}");
    let err = github.upsert_comment(&owner(), 1, MARKER, &format!("> {MARKER}")).await.expect_err("refused");
    assert!(err.to_string().contains("does not start with its marker"), "{err}");
    let too_long = format!("{MARKER}{}", "x".repeat(65_536));
    let err = github.upsert_comment(&owner(), 1, MARKER, &too_long).await.expect_err("refused");
    assert!(err.to_string().contains("GitHub accepts at most 65536"), "{err}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn one_502_is_retried() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject("POST", "/repos/acme/web/statuses/", Fault::Status(502));
    let github = host(&fake);

    github.set_status(&owner(), &sha(), &status(StatusState::Pending, "Planning")).await.expect("retried");
    assert_eq!(count(&fake, "POST", "/repos/acme/web/statuses/"), 2);
    assert_eq!(fake.statuses("acme/web", SHA).len(), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_secondary_rate_limit_is_retried_after_the_wait_github_asks_for() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject("POST", "/repos/acme/web/statuses/", Fault::SecondaryRateLimit);
    let cap = Duration::from_millis(150);
    let github = host_with(&fake, RetryPolicy { max_server_delay: cap, ..RetryPolicy::fast() });

    let started = std::time::Instant::now();
    github.set_status(&owner(), &sha(), &status(StatusState::Pending, "Planning")).await.expect("retried");
    assert!(started.elapsed() >= cap, "Retry-After (capped at {cap:?}) was honoured, waited {:?}", started.elapsed());
    assert_eq!(count(&fake, "POST", "/repos/acme/web/statuses/"), 2);
    assert_eq!(fake.statuses("acme/web", SHA).len(), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_429_with_an_exhausted_rate_limit_is_retried() {
    let fake = FakeGithub::start().await;
    fake.put_file("acme/web", SHA, "infra/variables.yml", "x: 1\n");
    fake.inject("GET", "/repos/acme/web/contents/", Fault::RateLimited);
    let github = host(&fake);

    let read = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect("retried");
    assert_eq!(read.as_deref(), Some("x: 1\n"));
    assert_eq!(count(&fake, "GET", "/repos/acme/web/contents/"), 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = FakeGithub::start().await;
    fake.put_file("acme/web", SHA, "infra/variables.yml", "x: 1\n");
    fake.inject("GET", "/repos/acme/web/contents/", Fault::Delay(Duration::from_secs(3)));
    let github = host_with(&fake, RetryPolicy { request_timeout: Duration::from_millis(300), ..RetryPolicy::fast() });

    let read = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect("retried");
    assert_eq!(read.as_deref(), Some("x: 1\n"));
    assert_eq!(count(&fake, "GET", "/repos/acme/web/contents/"), 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_persistent_500_fails_after_the_bound_naming_the_call() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject_times("POST", "/repos/acme/web/statuses/", Fault::Status(500), 10);
    let github = host(&fake);

    let err =
        github.set_status(&owner(), &sha(), &status(StatusState::Failure, "Plan failed")).await.expect_err("gives up");
    assert_eq!(
        err.to_string(),
        format!(
            "GitHub call `POST /repos/acme/web/statuses/{SHA}` failed: 500 Internal Server Error (gave up after 4 attempts)"
        )
    );
    assert_eq!(count(&fake, "POST", "/repos/acme/web/statuses/"), 4);
    assert!(fake.statuses("acme/web", SHA).is_empty());
    assert_clean(&fake);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let fake = FakeGithub::start().await;
    let github = host(&fake);

    // No such repository: GitHub's 404 is final.
    let err = github.set_status(&owner(), &sha(), &status(StatusState::Pending, "Planning")).await.expect_err("404");
    assert_eq!(err.to_string(), format!("GitHub call `POST /repos/acme/web/statuses/{SHA}` failed: 404 Not Found"));
    assert_eq!(fake.requests().len(), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let fake = FakeGithub::start().await;
    let url = fake.url();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let token = GithubToken::new("t").expect("token");
    let github = GithubHost::new(&url, token, RetryPolicy::fast()).expect("client");

    let err = github.read_file(&owner(), "infra/variables.yml", &sha()).await.expect_err("nobody listens");
    let message = err.to_string();
    assert!(message.contains(&format!("GET /repos/acme/web/contents/infra/variables.yml?ref={SHA}")), "{message}");
    assert!(message.contains("after 4 attempts"), "{message}");
}

#[tokio::test]
async fn a_dispatch_matches_githubs_schema() {
    let fake = FakeGithub::start().await;
    fake.add_repo("Provider/infra-manager");
    let github = host(&fake);
    let payload = json!({
        "repository": "acme/web",
        "sha": SHA,
        "ref": "refs/heads/feature",
        "pull_request": 7,
        "event": "pull_request",
    });

    github.send_dispatch("Provider/infra-manager", "infra-plan", payload.clone()).await.expect("dispatch");
    assert_eq!(
        fake.dispatches("Provider/infra-manager"),
        vec![json!({"event_type": "infra-plan", "client_payload": payload})]
    );

    let too_many: serde_json::Map<String, serde_json::Value> = (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    let err = github.send_dispatch("Provider/infra-manager", "infra-plan", json!(too_many)).await.expect_err("refused");
    assert!(err.to_string().contains("at most 10"), "{err}");
    let err = github.send_dispatch("not a repo", "infra-plan", json!({})).await.expect_err("refused");
    assert!(err.to_string().contains("`not a repo` is not a GitHub repository name"), "{err}");
    assert_eq!(fake.write_count(), 1, "refused dispatches are never sent");
    assert_clean(&fake);
}

#[tokio::test]
async fn the_token_is_sent_as_a_bearer_header_but_never_printed() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let github = host(&fake);
    github.set_status(&owner(), &sha(), &status(StatusState::Pending, "Planning")).await.expect("authenticated");
    assert!(!format!("{github:?}").contains("ghs_test_token"));
    assert_clean(&fake);
}

/// Issue 9, item 2: a PR author who posts the marker first must not get the service's plan
/// written into a comment they can edit later.
#[tokio::test]
async fn a_marker_comment_planted_by_the_pr_author_is_never_edited() {
    let fake = FakeGithub::start().await;
    let planted_body = format!("{MARKER}\nplanted by the PR author");
    let planted = fake.add_comment_by("acme/web", 7, "mallory", &planted_body);
    let quoted = fake.add_comment_by("acme/web", 7, "reviewer", &format!("> {MARKER}\n> Plan: 1 to add\nLGTM"));
    let github = host(&fake);

    let first = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nPlan: 1 to add")).await;
    assert_eq!(first.expect("create"), CommentOutcome::Created, "the planted comment is not ours: a new one");
    let second = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nPlan: 2 to add")).await;
    assert_eq!(second.expect("edit"), CommentOutcome::Updated);

    let comments = fake.comments("acme/web", 7);
    assert_eq!(comments.len(), 3, "one comment of the service's own, the others untouched");
    assert_eq!((comments[0].id, comments[0].body.as_str()), (planted, planted_body.as_str()));
    assert_eq!(comments[1].id, quoted);
    assert_eq!(comments[2].user, ACTIONS_BOT_LOGIN);
    assert_eq!(comments[2].body, format!("{MARKER}\nPlan: 2 to add"));
    for id in [planted, quoted] {
        assert_eq!(count(&fake, "PATCH", &format!("/repos/acme/web/issues/comments/{id}")), 0, "{id} never edited");
    }
    assert_eq!(count(&fake, "GET", "/user"), 1, "the identity is learned once: GITHUB_TOKEN gets 403, so the bot");
    assert_clean(&fake);
}

#[tokio::test]
async fn the_bots_own_comment_is_edited_in_place_across_pages() {
    let fake = FakeGithub::start().await;
    fake.add_comments("acme/web", 7, 120, |i| format!("review chatter {i}"));
    // Someone else's copy of the marker on page 1, the bot's own comment on page 2.
    let impostor = fake.add_comment_by("acme/web", 7, "mallory", &format!("{MARKER}\nfake plan"));
    fake.add_comments("acme/web", 7, 30, |i| format!("more chatter {i}"));
    let own = fake.add_comment_by("acme/web", 7, ACTIONS_BOT_LOGIN, &format!("{MARKER}\nPlan: 1 to add"));
    fake.add_comments("acme/web", 7, 60, |i| format!("later chatter {i}"));
    let github = host(&fake);

    let outcome = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nPlan: 3 to add")).await;
    assert_eq!(outcome.expect("edit"), CommentOutcome::Updated);

    let comments = fake.comments("acme/web", 7);
    assert_eq!(comments.len(), 212, "edited in place, nothing created");
    let body_of = |id: u64| comments.iter().find(|c| c.id == id).map(|c| c.body.clone()).unwrap_or_default();
    assert_eq!(body_of(own), format!("{MARKER}\nPlan: 3 to add"));
    assert_eq!(body_of(impostor), format!("{MARKER}\nfake plan"));
    assert_eq!(count(&fake, "PATCH", "/repos/acme/web/issues/comments/"), 1);
    assert_eq!(count(&fake, "PATCH", &format!("/repos/acme/web/issues/comments/{own}")), 1);
    assert_eq!(count(&fake, "GET", "/repos/acme/web/issues/7/comments"), 2, "page 2 was read");
    assert_clean(&fake);
}

#[tokio::test]
async fn a_personal_token_is_the_login_get_user_names() {
    let fake = FakeGithub::start().await;
    fake.add_token("ghp_provider_pat", "provider-ci");
    let bots = fake.add_comment_by("acme/web", 7, ACTIONS_BOT_LOGIN, &format!("{MARKER}\nby another workflow"));
    let own = fake.add_comment_by("acme/web", 7, "Provider-CI", &format!("{MARKER}\nold"));
    let token = GithubToken::new("ghp_provider_pat").expect("token");
    let github = GithubHost::new(&fake.url(), token, RetryPolicy::fast()).expect("client");

    assert_eq!(github.identity().await.expect("identity"), "provider-ci");
    let outcome = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nnew")).await.expect("upsert");
    assert_eq!(outcome, CommentOutcome::Updated);
    let comments = fake.comments("acme/web", 7);
    assert_eq!(comments.iter().find(|c| c.id == own).map(|c| c.body.as_str()), Some(format!("{MARKER}\nnew").as_str()));
    assert_eq!(
        comments.iter().find(|c| c.id == bots).map(|c| c.body.as_str()),
        Some(format!("{MARKER}\nby another workflow").as_str())
    );
    assert_eq!(count(&fake, "GET", "/user"), 1, "learned once, logins compared without case");
    assert_clean(&fake);
}

#[tokio::test]
async fn a_configured_identity_is_used_without_asking_github() {
    let fake = FakeGithub::start().await;
    fake.add_token("ghs_app_installation", "infra-bot[bot]");
    let own = fake.add_comment_by("acme/web", 7, "infra-bot[bot]", &format!("{MARKER}\nold"));
    let token = GithubToken::new("ghs_app_installation").expect("token");
    let github = GithubHost::new(&fake.url(), token, RetryPolicy::fast())
        .and_then(|host| host.with_identity("infra-bot[bot]"))
        .expect("client");

    let outcome = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nnew")).await.expect("upsert");
    assert_eq!(outcome, CommentOutcome::Updated);
    assert_eq!(fake.comments("acme/web", 7)[0].id, own);
    assert_eq!(fake.comments("acme/web", 7).len(), 1);
    assert_eq!(count(&fake, "GET", "/user"), 0);
    assert_clean(&fake);

    let token = GithubToken::new("t").expect("token");
    let err = GithubHost::new(&fake.url(), token, RetryPolicy::fast())
        .and_then(|host| host.with_identity("evil\n::add-mask::x"))
        .expect_err("not a login");
    assert!(err.to_string().contains("is not a GitHub login"), "{err}");
}

#[tokio::test]
async fn a_refused_token_is_an_error_naming_get_user() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    fake.inject("GET", "/user", Fault::Status(401));
    let token = GithubToken::new("ghp_revoked").expect("token");
    let github = GithubHost::new(&fake.url(), token, RetryPolicy::fast()).expect("client");

    let err = github.upsert_comment(&owner(), 7, MARKER, &format!("{MARKER}\nplan")).await.expect_err("no identity");
    assert_eq!(err.to_string(), "GitHub call `GET /user` failed: 401 Unauthorized");
    assert_eq!(fake.write_count(), 0, "nothing is posted without knowing whose comments are ours");
}

// ----- provenance (issue 9: bind every dispatch to the customer's repository) -----

const BASE1: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const BASE2: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const SIDE: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
const MERGE: &str = "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e";

fn sha_of(text: &str) -> Sha {
    Sha::parse(text).expect("valid sha")
}

#[tokio::test]
async fn a_pull_request_reports_its_head_state_and_repositories() {
    use fake_github::PullRequest as Seed;
    let fake = FakeGithub::start().await;
    fake.put_pull_request("Acme/Web", Seed::open(7, SHA).with_merge_commit(MERGE));
    fake.put_pull_request("Acme/Web", Seed::open(8, SHA).from_fork("Mallory/Web"));
    fake.put_pull_request("Acme/Web", Seed::open(9, SHA).merged());
    fake.put_pull_request("Acme/Web", Seed::open(10, SHA).closed());
    let github = host(&fake);

    let pr = github.pull_request(&customer(), 7).await.expect("read").expect("exists");
    assert_eq!(
        pr,
        PullRequest {
            head_sha: sha(),
            open: true,
            base_repo: "acme/web".to_owned(),
            head_repo: Some("acme/web".to_owned()),
            merge_commit_sha: Some(sha_of(MERGE)),
        }
    );
    assert!(!pr.is_from_fork());
    let fork = github.pull_request(&customer(), 8).await.expect("read").expect("exists");
    assert_eq!(fork.head_repo.as_deref(), Some("mallory/web"));
    assert!(fork.is_from_fork() && fork.open);
    for closed in [9, 10] {
        let pr = github.pull_request(&customer(), closed).await.expect("read").expect("exists");
        assert!(!pr.open, "PR {closed}");
    }

    // A new push moves the head.
    fake.put_pull_request("acme/web", Seed::open(7, SIDE));
    let moved = github.pull_request(&customer(), 7).await.expect("read").expect("exists");
    assert_eq!(moved.head_sha, sha_of(SIDE));
    assert_eq!(fake.write_count(), 0);
    assert_clean(&fake);
}

#[tokio::test]
async fn an_unknown_pull_request_is_none_and_an_invisible_repository_an_error() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let github = host(&fake);

    assert_eq!(github.pull_request(&customer(), 404).await.expect("visible repository"), None);
    let other = RepoId::parse("acme/secret").expect("valid");
    let err = github.pull_request(&other, 1).await.expect_err("not visible");
    assert_eq!(
        err.to_string(),
        "GitHub call `GET /repos/acme/secret/pulls/1` failed: repository `acme/secret` does not exist or the token can't read it"
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn the_default_branch_is_its_name_and_head() {
    let fake = FakeGithub::start().await;
    fake.set_branch("acme/web", "main", BASE1);
    fake.set_branch("acme/web", "release/2026", BASE2);
    let github = host(&fake);

    let main = github.default_branch(&customer()).await.expect("main");
    assert_eq!(main, Branch { name: "main".to_owned(), head: sha_of(BASE1) });

    fake.set_default_branch("acme/web", "release/2026");
    let release = github.default_branch(&customer()).await.expect("a branch name with a slash");
    assert_eq!(release, Branch { name: "release/2026".to_owned(), head: sha_of(BASE2) });
    assert_eq!(count(&fake, "GET", "/repos/acme/web/branches/release/2026"), 1);

    fake.set_default_branch("acme/web", "gone");
    let err = github.default_branch(&customer()).await.expect_err("no such branch");
    assert_eq!(
        err.to_string(),
        "GitHub call `GET /repos/acme/web/branches/gone` failed: 404 Not Found: Branch not found"
    );
    let other = RepoId::parse("acme/secret").expect("valid");
    let err = github.default_branch(&other).await.expect_err("not visible");
    assert!(err.to_string().contains("repository `acme/secret` does not exist or the token can't read it"), "{err}");
    assert_clean(&fake);
}

#[tokio::test]
async fn descends_from_follows_the_commit_graph() {
    let fake = FakeGithub::start().await;
    //   BASE1 ─ BASE2 ─ SHA        SIDE branches off BASE1; MERGE is unrelated.
    fake.add_commit("acme/web", BASE2, &[BASE1]);
    fake.add_commit("acme/web", SHA, &[BASE2]);
    fake.add_commit("acme/web", SIDE, &[BASE1]);
    fake.add_commit("acme/web", MERGE, &[]);
    let github = host(&fake);
    let unknown = "9".repeat(40);

    let cases = [
        (BASE1, SHA, true, "ahead by two"),
        (BASE2, SHA, true, "ahead by one"),
        (SHA, SHA, true, "identical"),
        (SHA, BASE1, false, "behind: an older commit replayed"),
        (SIDE, SHA, false, "diverged"),
        (BASE1, MERGE, false, "no common ancestor"),
        (BASE1, unknown.as_str(), false, "descendant unknown to the repository"),
        (unknown.as_str(), SHA, false, "ancestor unknown to the repository"),
    ];
    for (ancestor, descendant, expected, case) in cases {
        let got = github.descends_from(&customer(), &sha_of(ancestor), &sha_of(descendant)).await;
        assert_eq!(got.expect(case), expected, "{case}");
    }
    let first = &fake.requests()[0];
    assert_eq!(first.path, format!("/repos/acme/web/compare/{BASE1}...{SHA}"));
    assert_eq!(first.query.as_deref(), Some("per_page=1"));

    let other = RepoId::parse("acme/secret").expect("valid");
    let err = github.descends_from(&other, &sha_of(BASE1), &sha()).await.expect_err("not visible");
    assert!(err.to_string().contains("repository `acme/secret` does not exist or the token can't read it"), "{err}");
    assert_eq!(fake.write_count(), 0);
    assert_clean(&fake);
}

#[tokio::test]
async fn provenance_calls_keep_the_retry_policy() {
    use fake_github::PullRequest as Seed;
    let fake = FakeGithub::start().await;
    fake.put_pull_request("acme/web", Seed::open(7, SHA));
    fake.set_branch("acme/web", "main", SHA);
    fake.inject("GET", "/repos/acme/web/pulls/7", Fault::Status(502));
    fake.inject("GET", "/repos/acme/web/branches/main", Fault::SecondaryRateLimit);
    fake.inject("GET", "/repos/acme/web/compare/", Fault::Delay(Duration::from_secs(3)));
    let github = host_with(&fake, RetryPolicy { request_timeout: Duration::from_millis(300), ..RetryPolicy::fast() });

    assert!(github.pull_request(&customer(), 7).await.expect("retried").is_some());
    assert_eq!(github.default_branch(&customer()).await.expect("retried").head, sha());
    assert!(github.descends_from(&customer(), &sha(), &sha()).await.expect("retried"));
    assert_eq!(count(&fake, "GET", "/repos/acme/web/pulls/7"), 2);
    assert_eq!(count(&fake, "GET", "/repos/acme/web/branches/main"), 2);
    assert_eq!(count(&fake, "GET", "/repos/acme/web/compare/"), 2);

    fake.inject_times("GET", "/repos/acme/web/pulls/7", Fault::Status(503), 10);
    let err = github.pull_request(&customer(), 7).await.expect_err("gives up");
    assert_eq!(
        err.to_string(),
        "GitHub call `GET /repos/acme/web/pulls/7` failed: 503 Service Unavailable (gave up after 4 attempts)"
    );
    assert_clean(&fake);
}
