//! The fake itself, through real HTTP: GitHub-shaped answers, pagination `Link` headers,
//! schema validation, faults that fire once, and the catch-all for unexpected requests.

use std::time::{Duration, Instant};

use fake_github::{FakeGithub, Fault};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

/// An HTTP/1.1 answer, headers lowercased.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A deliberately tiny HTTP client (one request per connection) so the fake's tests do not
/// depend on the client under test.
async fn send(fake: &FakeGithub, method: &str, path: &str, body: Option<&str>, extra: &[(&str, &str)]) -> Answer {
    let address = fake.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect to the fake");
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let raw = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer { status, headers, body: body.to_owned() }
}

async fn authed(fake: &FakeGithub, method: &str, path: &str, body: Option<&str>) -> Answer {
    send(fake, method, path, body, &[("authorization", "Bearer test-token")]).await
}

#[tokio::test]
async fn pagination_link_headers_follow_github() {
    let fake = FakeGithub::start().await;
    fake.add_comments("acme/web", 7, 250, |i| format!("comment {i}"));

    let first = authed(&fake, "GET", "/repos/acme/web/issues/7/comments?per_page=100", None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json().as_array().map(Vec::len), Some(100));
    let base = fake.url();
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                r#"<{base}/repos/acme/web/issues/7/comments?per_page=100&page=2>; rel="next", <{base}/repos/acme/web/issues/7/comments?per_page=100&page=3>; rel="last""#
            )
            .as_str()
        )
    );

    let last = authed(&fake, "GET", "/repos/acme/web/issues/7/comments?per_page=100&page=3", None).await;
    let items = last.json();
    assert_eq!(items.as_array().map(Vec::len), Some(50));
    assert_eq!(items[0]["body"], "comment 200");
    assert_eq!(
        last.header("link"),
        Some(
            format!(
                r#"<{base}/repos/acme/web/issues/7/comments?per_page=100&page=2>; rel="prev", <{base}/repos/acme/web/issues/7/comments?per_page=100&page=1>; rel="first""#
            )
            .as_str()
        )
    );

    let default_page = authed(&fake, "GET", "/repos/acme/web/issues/7/comments", None).await;
    assert_eq!(default_page.json().as_array().map(Vec::len), Some(30), "GitHub's default per_page is 30");

    let other_pr = authed(&fake, "GET", "/repos/acme/web/issues/8/comments", None).await;
    assert_eq!(other_pr.json(), json!([]));
    assert_eq!(other_pr.header("link"), None, "one page, no Link header");
    assert!(fake.violations().is_empty() && fake.unexpected().is_empty());
}

#[tokio::test]
async fn answers_have_githubs_shape_with_the_fakes_state() {
    let fake = FakeGithub::start().await;
    fake.put_file("acme/web", SHA, "infra/variables.yml", "project_name: web\n");

    let file = authed(&fake, "GET", &format!("/repos/acme/web/contents/infra/variables.yml?ref={SHA}"), None).await;
    assert_eq!(file.status, 200);
    let file = file.json();
    assert_eq!(file["type"], "file");
    assert_eq!(file["encoding"], "base64");
    assert_eq!(file["path"], "infra/variables.yml");
    assert_eq!(file["name"], "variables.yml");
    assert_eq!(file["size"], 18);
    assert!(file["_links"]["self"].is_string(), "GitHub's fields are kept: {file}");

    let raw = send(
        &fake,
        "GET",
        &format!("/repos/acme/web/contents/infra/variables.yml?ref={SHA}"),
        None,
        &[("authorization", "token t"), ("accept", "application/vnd.github.raw")],
    )
    .await;
    assert_eq!(raw.body, "project_name: web\n");

    let dir = authed(&fake, "GET", &format!("/repos/acme/web/contents/infra?ref={SHA}"), None).await;
    assert_eq!(dir.json()[0]["path"], "infra/variables.yml");

    let missing = authed(&fake, "GET", &format!("/repos/acme/web/contents/nope.yml?ref={SHA}"), None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "Not Found");
    let unknown_ref =
        authed(&fake, "GET", &format!("/repos/acme/web/contents/nope.yml?ref={}", "a".repeat(40)), None).await;
    assert_eq!(unknown_ref.status, 404);
    assert!(unknown_ref.json()["message"].as_str().is_some_and(|m| m.starts_with("No commit found for the ref")));

    let created = authed(&fake, "POST", "/repos/acme/web/issues/3/comments", Some(r#"{"body":"hello"}"#)).await;
    assert_eq!(created.status, 201);
    let comment = created.json();
    let id = comment["id"].as_u64().expect("an id");
    assert_eq!(comment["body"], "hello");
    assert!(comment["user"]["login"].is_string());
    assert_eq!(
        created.header("location"),
        Some(format!("{}/repos/acme/web/issues/comments/{id}", fake.url()).as_str())
    );

    // octocrab's update_comment uses POST; GitHub's description says PATCH. Both work.
    for (method, text) in [("PATCH", "edited"), ("POST", "edited again")] {
        let body = json!({ "body": text }).to_string();
        let edited = authed(&fake, method, &format!("/repos/acme/web/issues/comments/{id}"), Some(&body)).await;
        assert_eq!(edited.status, 200, "{method}");
        assert_eq!(edited.json()["body"], text);
    }
    assert_eq!(fake.comments("acme/web", 3).len(), 1);
    assert_eq!(fake.comments("acme/web", 3)[0].body, "edited again");

    let repo = authed(&fake, "GET", "/repos/acme/web", None).await.json();
    assert_eq!(repo["full_name"], "acme/web");
    assert_eq!(repo["default_branch"], "main");
    let limits = authed(&fake, "GET", "/rate_limit", None).await;
    assert_eq!(limits.status, 200);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    assert!(fake.unexpected().is_empty(), "{:#?}", fake.unexpected());
}

#[tokio::test]
async fn validation_rejects_a_bad_status_state_and_records_it() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let path = format!("/repos/acme/web/statuses/{SHA}");

    let bad =
        authed(&fake, "POST", &path, Some(r#"{"state":"done","context":"infra/terraform-deploy/staging"}"#)).await;
    assert_eq!(bad.status, 422);
    let body = bad.json();
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(body["errors"][0]["field"], "state");
    assert!(fake.statuses("acme/web", SHA).is_empty(), "a rejected status is not stored");
    let violations = fake.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].operation, "repos/create-commit-status");

    let not_json = authed(&fake, "POST", &path, Some("state=success")).await;
    assert_eq!(not_json.status, 400);
    let too_long = json!({"state": "success", "description": "x".repeat(141)}).to_string();
    assert_eq!(authed(&fake, "POST", &path, Some(&too_long)).await.status, 422);
    let payload: serde_json::Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    let dispatch = json!({"event_type": "infra-plan", "client_payload": payload}).to_string();
    assert_eq!(authed(&fake, "POST", "/repos/acme/web/dispatches", Some(&dispatch)).await.status, 422);
    assert_eq!(fake.violations().len(), 4);

    let good = json!({"state": "pending", "context": "infra/terraform-deploy/staging", "description": "Planning", "target_url": null});
    let ok = authed(&fake, "POST", &path, Some(&good.to_string())).await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.json()["state"], "pending");
    assert_eq!(fake.statuses("acme/web", SHA).len(), 1);
    assert_eq!(fake.statuses("acme/web", SHA)[0].context, "infra/terraform-deploy/staging");
}

#[tokio::test]
async fn faults_fire_once_then_the_request_succeeds() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");
    let path = format!("/repos/acme/web/statuses/{SHA}");
    let body = r#"{"state":"success"}"#;

    fake.inject("POST", "/repos/acme/web/statuses", Fault::Status(502));
    assert_eq!(authed(&fake, "POST", &path, Some(body)).await.status, 502);
    assert_eq!(authed(&fake, "POST", &path, Some(body)).await.status, 201);
    assert_eq!(fake.statuses("acme/web", SHA).len(), 1, "the 502 stored nothing");

    fake.inject("POST", "/repos/acme/web/statuses", Fault::SecondaryRateLimit);
    let limited = authed(&fake, "POST", &path, Some(body)).await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(limited.json()["message"].as_str().is_some_and(|m| m.contains("You have exceeded a secondary rate limit")));

    fake.inject("*", "/repos/acme/web", Fault::RateLimited);
    let limited = authed(&fake, "GET", "/repos/acme/web", None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(limited.header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()).is_some());

    fake.inject("POST", "/repos/acme/web/issues/1/comments", Fault::LostResponse(502));
    assert_eq!(authed(&fake, "POST", "/repos/acme/web/issues/1/comments", Some(r#"{"body":"x"}"#)).await.status, 502);
    assert_eq!(fake.comments("acme/web", 1).len(), 1, "a lost response still wrote");

    fake.inject("GET", "/rate_limit", Fault::Delay(Duration::from_millis(200)));
    let started = Instant::now();
    assert_eq!(authed(&fake, "GET", "/rate_limit", None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(authed(&fake, "POST", &path, Some(body)).await.status, 201);
}

#[tokio::test]
async fn unexpected_and_unauthenticated_requests_are_named() {
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/web");

    let unauthenticated = send(&fake, "GET", "/repos/acme/web", None, &[]).await;
    assert_eq!(unauthenticated.status, 401);

    let stray = authed(&fake, "DELETE", "/repos/acme/web/git/refs/heads/main", None).await;
    assert_eq!(stray.status, 404);
    assert_eq!(
        stray.json()["message"],
        "Not Found (fake-github: unexpected DELETE /repos/acme/web/git/refs/heads/main)"
    );
    let unexpected = fake.unexpected();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(unexpected[0].to_string(), "DELETE /repos/acme/web/git/refs/heads/main");

    let unknown_repo =
        authed(&fake, "POST", "/repos/acme/other/dispatches", Some(r#"{"event_type":"infra-plan"}"#)).await;
    assert_eq!(unknown_repo.status, 404);
    assert!(fake.dispatches("acme/other").is_empty());

    let sent = json!({"event_type": "infra-plan", "client_payload": {"sha": SHA}});
    let dispatched = authed(&fake, "POST", "/repos/acme/web/dispatches", Some(&sent.to_string())).await;
    assert_eq!(dispatched.status, 204);
    assert_eq!(dispatched.body, "");
    assert_eq!(fake.dispatches("acme/web"), vec![sent]);

    assert_eq!(fake.requests().len(), 4);
    assert_eq!(fake.write_count(), 3);
}

async fn as_token(fake: &FakeGithub, token: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    send(fake, method, path, body, &[("authorization", &format!("Bearer {token}"))]).await
}

#[tokio::test]
async fn comments_are_by_whoever_the_token_stands_for() {
    let fake = FakeGithub::start().await;
    fake.add_token("ghp_mallory", "mallory");
    fake.add_token("ghs_app_installation", "infra-bot[bot]");
    let seeded = fake.add_comment("acme/web", 7, "seeded");
    let planted = fake.add_comment_by("acme/web", 7, "eve", "<!-- marker -->");
    let path = "/repos/acme/web/issues/7/comments";

    for (token, login) in [
        ("ghp_mallory", "mallory"),
        ("ghs_app_installation", "infra-bot[bot]"),
        ("ghs_unregistered", fake_github::ACTIONS_BOT_LOGIN),
        ("ghp_unregistered", fake_github::DEFAULT_USER_LOGIN),
    ] {
        let created = as_token(&fake, token, "POST", path, Some(r#"{"body":"hi"}"#)).await;
        assert_eq!(created.status, 201, "{token}");
        assert_eq!(created.json()["user"]["login"], login, "{token}");
        let kind = if login.ends_with("[bot]") { "Bot" } else { "User" };
        assert_eq!(created.json()["user"]["type"], kind, "{token}");
    }

    let listed = as_token(&fake, "ghp_x", "GET", path, None).await.json();
    let authors: Vec<&str> =
        listed.as_array().into_iter().flatten().filter_map(|c| c["user"]["login"].as_str()).collect();
    assert_eq!(
        authors,
        ["octocat", "eve", "mallory", "infra-bot[bot]", "github-actions[bot]", "fake-user"],
        "seeded comments are by octocat unless a login is given"
    );
    let comments = fake.comments("acme/web", 7);
    assert_eq!((comments[0].id, comments[0].user.as_str()), (seeded, "octocat"));
    assert_eq!((comments[1].id, comments[1].user.as_str()), (planted, "eve"));
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

#[tokio::test]
async fn get_user_names_a_personal_token_and_refuses_installation_tokens() {
    let fake = FakeGithub::start().await;
    fake.add_token("ghp_provider", "provider-ci");
    fake.add_token("ghs_registered", "infra-bot[bot]");

    let user = as_token(&fake, "ghp_provider", "GET", "/user", None).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["login"], "provider-ci");
    assert_eq!(user.json()["type"], "User");
    assert!(user.json()["url"].as_str().is_some_and(|u| u == format!("{}/users/provider-ci", fake.url())));
    let default = as_token(&fake, "github_pat_unregistered", "GET", "/user", None).await;
    assert_eq!(default.json()["login"], fake_github::DEFAULT_USER_LOGIN);

    for token in ["ghs_registered", "ghs_unregistered"] {
        let refused = as_token(&fake, token, "GET", "/user", None).await;
        assert_eq!(refused.status, 403, "{token}");
        assert_eq!(refused.json()["message"], "Resource not accessible by integration");
    }
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    assert!(fake.unexpected().is_empty());
}

const MAIN1: &str = "1111111111111111111111111111111111111111";
const MAIN2: &str = "2222222222222222222222222222222222222222";
const TOPIC: &str = "3333333333333333333333333333333333333333";
const OTHER: &str = "4444444444444444444444444444444444444444";

#[tokio::test]
async fn pull_requests_answer_with_their_head_state_and_repositories() {
    use fake_github::PullRequest;
    let fake = FakeGithub::start().await;
    fake.set_branch("Acme/Web", "main", MAIN1);
    fake.put_pull_request("Acme/Web", PullRequest::open(7, TOPIC).with_merge_commit(OTHER));
    fake.put_pull_request("Acme/Web", PullRequest::open(8, TOPIC).from_fork("mallory/web").merged());
    fake.put_pull_request("Acme/Web", PullRequest::open(9, TOPIC).closed());

    let open = authed(&fake, "GET", "/repos/acme/web/pulls/7", None).await;
    assert_eq!(open.status, 200);
    let pr = open.json();
    assert_eq!(
        (pr["number"].as_u64(), pr["state"].as_str(), pr["merged"].as_bool()),
        (Some(7), Some("open"), Some(false))
    );
    assert_eq!(pr["head"]["sha"], TOPIC);
    assert_eq!(pr["head"]["ref"], "feature");
    assert_eq!(pr["head"]["label"], "Acme:feature");
    assert_eq!(pr["head"]["repo"]["full_name"], "Acme/Web");
    assert_eq!(pr["base"]["repo"]["full_name"], "Acme/Web");
    assert_eq!(pr["base"]["sha"], MAIN1);
    assert_eq!(pr["merge_commit_sha"], OTHER);
    assert_eq!(pr["url"], format!("{}/repos/Acme/Web/pulls/7", fake.url()));

    let fork = authed(&fake, "GET", "/repos/acme/web/pulls/8", None).await.json();
    assert_eq!((fork["state"].as_str(), fork["merged"].as_bool()), (Some("closed"), Some(true)));
    assert_eq!(fork["head"]["repo"]["full_name"], "mallory/web");
    assert_eq!(fork["head"]["repo"]["fork"], true);
    assert_eq!(fork["head"]["label"], "mallory:feature");
    assert_eq!(fork["base"]["repo"]["full_name"], "Acme/Web");
    let closed = authed(&fake, "GET", "/repos/acme/web/pulls/9", None).await.json();
    assert_eq!((closed["state"].as_str(), closed["merged"].as_bool()), (Some("closed"), Some(false)));

    assert_eq!(authed(&fake, "GET", "/repos/acme/web/pulls/10", None).await.status, 404);
    assert_eq!(authed(&fake, "GET", "/repos/acme/other/pulls/7", None).await.status, 404);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    assert!(fake.unexpected().is_empty());
}

#[tokio::test]
async fn branches_answer_with_their_tip_and_unknown_ones_are_404() {
    let fake = FakeGithub::start().await;
    fake.add_commit("acme/web", MAIN2, &[MAIN1]);
    fake.set_branch("acme/web", "main", MAIN2);
    fake.set_branch("acme/web", "release/v1", MAIN1);

    let main = authed(&fake, "GET", "/repos/acme/web/branches/main", None).await;
    assert_eq!(main.status, 200);
    assert_eq!(main.json()["name"], "main");
    assert_eq!(main.json()["commit"]["sha"], MAIN2);
    assert_eq!(main.json()["commit"]["parents"][0]["sha"], MAIN1);
    let release = authed(&fake, "GET", "/repos/acme/web/branches/release/v1", None).await.json();
    assert_eq!((release["name"].as_str(), release["commit"]["sha"].as_str()), (Some("release/v1"), Some(MAIN1)));
    let missing = authed(&fake, "GET", "/repos/acme/web/branches/nope", None).await;
    assert_eq!((missing.status, missing.json()["message"].as_str()), (404, Some("Branch not found")));
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

#[tokio::test]
async fn compare_answers_from_the_commit_graph() {
    let fake = FakeGithub::start().await;
    fake.add_commit("acme/web", MAIN2, &[MAIN1]);
    fake.add_commit("acme/web", TOPIC, &[MAIN1]);
    fake.add_commit("acme/web", OTHER, &[]);
    fake.set_branch("acme/web", "main", MAIN2);

    let compare = |basehead: String| {
        let fake = &fake;
        async move { authed(fake, "GET", &format!("/repos/acme/web/compare/{basehead}"), None).await }
    };
    let ahead = compare(format!("{MAIN1}...{MAIN2}")).await;
    assert_eq!(ahead.status, 200);
    let body = ahead.json();
    assert_eq!(
        (body["status"].as_str(), body["ahead_by"].as_u64(), body["behind_by"].as_u64()),
        (Some("ahead"), Some(1), Some(0))
    );
    assert_eq!(body["commits"][0]["sha"], MAIN2);
    assert_eq!(body["merge_base_commit"]["sha"], MAIN1);
    assert_eq!(compare(format!("{MAIN2}...{MAIN2}")).await.json()["status"], "identical");
    assert_eq!(compare(format!("{MAIN2}...{MAIN1}")).await.json()["status"], "behind");
    assert_eq!(compare(format!("{MAIN2}...{TOPIC}")).await.json()["status"], "diverged");
    assert_eq!(compare(format!("{MAIN1}...main")).await.json()["status"], "ahead", "branch names resolve");
    let paged = authed(&fake, "GET", &format!("/repos/acme/web/compare/{MAIN1}...{MAIN2}?per_page=1"), None).await;
    assert_eq!(paged.json()["commits"].as_array().map(Vec::len), Some(1));

    let unrelated = compare(format!("{MAIN1}...{OTHER}")).await;
    assert_eq!(unrelated.status, 404);
    assert_eq!(unrelated.json()["message"], format!("No common ancestor between {MAIN1} and {OTHER}."));
    let unknown = compare(format!("{MAIN1}...{}", "5".repeat(40))).await;
    assert_eq!((unknown.status, unknown.json()["message"].as_str()), (404, Some("Not Found")));
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    assert!(fake.unexpected().is_empty());
}

#[tokio::test]
async fn issues_are_created_listed_by_state_label_and_creator_paginated_and_updated() {
    let fake = FakeGithub::start().await;
    fake.add_repo("provider/manager");
    let theirs = fake.add_issue_by("provider/manager", "mallory", "Drift", "<!-- m -->", &["infra-drift"]);
    let mut numbers = Vec::new();
    for i in 0..3 {
        let body = json!({"title": format!("Drift {i}"), "body": "<!-- m -->\nbody", "labels": ["infra-drift"]});
        let created =
            as_token(&fake, "ghs_bot", "POST", "/repos/provider/manager/issues", Some(&body.to_string())).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let issue = created.json();
        assert_eq!(
            (issue["user"]["login"].as_str(), issue["state"].as_str()),
            (Some("github-actions[bot]"), Some("open"))
        );
        assert_eq!(issue["labels"][0]["name"], "infra-drift");
        assert!(issue.get("pull_request").is_none(), "an issue is not a pull request");
        numbers.push(issue["number"].as_u64().expect("number"));
    }
    assert!(numbers.iter().all(|n| *n > theirs), "{numbers:?} follow {theirs}");

    let list = "/repos/provider/manager/issues?state=open&labels=infra-drift&creator=github-actions%5Bbot%5D&direction=asc&per_page=2";
    let page1 = authed(&fake, "GET", list, None).await;
    assert_eq!(page1.status, 200, "{}", page1.body);
    let got: Vec<u64> = page1.json().as_array().expect("list").iter().filter_map(|i| i["number"].as_u64()).collect();
    assert_eq!(got, numbers[..2]);
    let next = page1.header("link").and_then(|l| l.split(['<', '>']).nth(1)).expect("a next link").to_owned();
    let page2 = authed(&fake, "GET", next.trim_start_matches(&fake.url()), None).await;
    let got: Vec<u64> = page2.json().as_array().expect("list").iter().filter_map(|i| i["number"].as_u64()).collect();
    assert_eq!(got, numbers[2..]);

    let close =
        json!({"state": "closed", "state_reason": "completed", "body": "<!-- m -->\nback in sync", "title": "Drift"});
    let path = format!("/repos/provider/manager/issues/{}", numbers[0]);
    let closed = authed(&fake, "PATCH", &path, Some(&close.to_string())).await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(
        (closed.json()["state"].as_str(), closed.json()["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
    assert!(closed.json()["closed_at"].is_string());
    let fetched = authed(&fake, "GET", &path, None).await.json();
    assert_eq!(fetched["body"], "<!-- m -->\nback in sync");

    let open: Vec<u64> = authed(&fake, "GET", "/repos/provider/manager/issues?labels=infra-drift", None)
        .await
        .json()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["number"].as_u64())
        .collect();
    assert_eq!(open, [numbers[2], numbers[1], theirs], "open ones, newest first by default");
    assert_eq!(authed(&fake, "GET", "/repos/provider/manager/issues/999", None).await.status, 404);
    let too_long = json!({"title": "x".repeat(257)}).to_string();
    assert_eq!(authed(&fake, "POST", "/repos/provider/manager/issues", Some(&too_long)).await.status, 422);
    assert_eq!(fake.violations().len(), 1, "only the over-long title: {:#?}", fake.violations());
    assert!(fake.unexpected().is_empty());
}

/// A JWT of the test App (`iss` = `app_id`), signed with the test key, issued at `iat`
/// and expiring at `exp`.
fn app_jwt(app_id: u64, iat: u64, exp: u64) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(fake_github::TEST_APP_PRIVATE_KEY.as_bytes()).expect("test key");
    let claims = json!({ "iat": iat, "exp": exp, "iss": app_id.to_string() });
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).expect("sign")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[tokio::test]
async fn the_app_jwt_is_checked_and_installation_tokens_are_scoped_and_expire() {
    let fake = FakeGithub::start().await;
    fake.install_app(77, "deployer", &["acme/web"]);
    fake.add_repo("acme/other");
    let now = unix_now();
    let jwt = app_jwt(77, now - 60, now + 540);

    let app = as_token(&fake, &jwt, "GET", "/app", None).await;
    assert_eq!((app.status, app.json()["slug"].clone()), (200, json!("deployer")));
    for bad in [app_jwt(78, now - 60, now + 540), app_jwt(77, now - 60, now + 700), app_jwt(77, now - 700, now - 10)] {
        assert_eq!(as_token(&fake, &bad, "GET", "/app", None).await.status, 401, "{bad}");
    }
    assert_eq!(as_token(&fake, "ghp_not_a_jwt", "GET", "/app", None).await.status, 401);
    assert_eq!(as_token(&fake, &jwt, "GET", "/repos/acme/web/installation", None).await.json()["id"], json!(4242));
    assert_eq!(as_token(&fake, &jwt, "GET", "/repos/acme/other/installation", None).await.status, 404);
    assert_eq!(as_token(&fake, &jwt, "GET", "/repos/acme/web", None).await.status, 401, "a JWT is for App endpoints");

    let body = r#"{"repositories":["web"],"permissions":{"checks":"write"}}"#;
    let issued = as_token(&fake, &jwt, "POST", "/app/installations/4242/access_tokens", Some(body)).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.json()["token"].as_str().expect("token").to_owned();
    let check = r#"{"name":"infra/terraform-deploy/staging","head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","status":"in_progress"}"#;
    assert_eq!(as_token(&fake, &token, "POST", "/repos/acme/web/check-runs", Some(check)).await.status, 201);
    assert_eq!(fake.check_runs("acme/web")[0].author, "deployer[bot]");
    assert_eq!(as_token(&fake, &token, "GET", "/repos/acme/other", None).await.status, 404, "another repository");
    assert_eq!(as_token(&fake, "ghp_pat", "POST", "/repos/acme/web/check-runs", Some(check)).await.status, 403);

    fake.set_app_token_lifetime(0);
    let issued = as_token(&fake, &jwt, "POST", "/app/installations/4242/access_tokens", Some(body)).await;
    let expired = issued.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(as_token(&fake, &expired, "GET", "/repos/acme/web", None).await.status, 401, "expired");
    assert_eq!(fake.token_requests().len(), 2);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}
