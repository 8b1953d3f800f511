//! The issue operations: list a repository's issues (filtered by `state`, `labels` and
//! `creator`, paginated), create one, get one, and update its title, body, labels and
//! state. Answers start from GitHub's example issue, like the other routes.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock;
use crate::routes::{
    MAX_COMMENT_CHARS, add_link_header, example, issue_number, limit_violation, not_found, set, user_json,
    with_location,
};
use crate::server::{Call, json_response, percent_encode};
use crate::state::{Issue, State};

/// GitHub refuses issue titles longer than this.
pub(crate) const MAX_ISSUE_TITLE_CHARS: usize = 256;

/// GitHub's example issue for the call's operation: the first of a list, and the
/// `value` inside the examples that carry `x-github-breaking-changes`.
fn template(call: &Call<'_>, status: u16) -> Value {
    let mut example = example(call, status, None);
    if let Value::Array(items) = example {
        example = items.into_iter().next().unwrap_or_else(|| json!({}));
    }
    match example.get("value") {
        Some(inner) if example.get("x-github-breaking-changes").is_some() => inner.clone(),
        _ => example,
    }
}

fn issue_json(template: &Value, base: &str, full: &str, repo_id: u64, issue: &Issue) -> Value {
    let mut body = template.clone();
    let number = issue.number;
    let url = format!("{base}/repos/{full}/issues/{number}");
    set(&mut body, "/id", json!(repo_id * 100_000 + number));
    set(&mut body, "/node_id", json!(format!("I_fake{repo_id}_{number}")));
    set(&mut body, "/url", json!(url));
    set(&mut body, "/repository_url", json!(format!("{base}/repos/{full}")));
    set(&mut body, "/labels_url", json!(format!("{url}/labels{{/name}}")));
    set(&mut body, "/comments_url", json!(format!("{url}/comments")));
    set(&mut body, "/events_url", json!(format!("{url}/events")));
    set(&mut body, "/html_url", json!(format!("https://github.com/{full}/issues/{number}")));
    set(&mut body, "/number", json!(number));
    set(&mut body, "/state", json!(issue.state));
    set(&mut body, "/state_reason", json!(issue.state_reason));
    set(&mut body, "/title", json!(issue.title));
    set(&mut body, "/body", json!(issue.body));
    set(&mut body, "/created_at", json!(issue.created_at));
    set(&mut body, "/updated_at", json!(issue.updated_at));
    set(&mut body, "/closed_at", json!(issue.closed_at));
    set(&mut body, "/closed_by", Value::Null);
    set(&mut body, "/assignee", Value::Null);
    set(&mut body, "/assignees", json!([]));
    set(&mut body, "/milestone", Value::Null);
    set(&mut body, "/locked", json!(false));
    set(&mut body, "/comments", json!(0));
    if let Some(user) = template.get("user").filter(|u| u.is_object()) {
        body["user"] = user_json(user, base, &issue.user);
    }
    let label_template = template.pointer("/labels/0").cloned().unwrap_or_else(|| json!({}));
    let labels: Vec<Value> = issue
        .labels
        .iter()
        .map(|name| {
            let mut label = label_template.clone();
            set(&mut label, "/name", json!(name));
            set(&mut label, "/url", json!(format!("{base}/repos/{full}/labels/{}", percent_encode(name, false))));
            set(&mut label, "/default", json!(false));
            label
        })
        .collect();
    set(&mut body, "/labels", Value::Array(labels));
    // An issue is not a pull request: GitHub sends `pull_request` only for those.
    if let Value::Object(fields) = &mut body {
        fields.remove("pull_request");
    }
    body
}

/// The labels of a request body: names, or label objects with a `name`.
fn labels_of(body: &Value) -> Option<Vec<String>> {
    let items = body.get("labels")?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|l| l.as_str().or_else(|| l.get("name").and_then(Value::as_str)))
            .map(str::to_owned)
            .collect(),
    )
}

/// A title given as GitHub accepts it: a string, or a number.
fn title_of(body: &Value) -> Option<String> {
    match body.get("title")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Refuses a title or body over GitHub's limits (a 422, recorded as a violation).
fn over_limits(state: &mut State, call: &Call<'_>, title: Option<&str>, body: Option<&str>) -> Option<Response> {
    if let Some(title) = title {
        let chars = title.chars().count();
        if chars > MAX_ISSUE_TITLE_CHARS {
            let message = format!("title is too long (maximum is {MAX_ISSUE_TITLE_CHARS} characters, got {chars})");
            return Some(limit_violation(state, call, "title", message));
        }
    }
    if let Some(body) = body {
        let chars = body.chars().count();
        if chars > MAX_COMMENT_CHARS {
            let message = format!("Body is too long (maximum is {MAX_COMMENT_CHARS} characters, got {chars})");
            return Some(limit_violation(state, call, "body", message));
        }
    }
    None
}

/// `GET /repos/{owner}/{repo}/issues`: `state` (default `open`), `labels` (all of them),
/// `creator`, `direction` (default `desc`, newest first), `per_page`, `page`.
pub(crate) fn list(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let wanted_state = call.query("state").unwrap_or("open");
    let labels: Vec<&str> = call
        .query("labels")
        .map(|l| l.split(',').map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let creator = call.query("creator");
    let per_page = call.query("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = call.query("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let mut matching: Vec<&Issue> = repo
        .issues
        .iter()
        .filter(|i| wanted_state == "all" || i.state == wanted_state)
        .filter(|i| labels.iter().all(|l| i.labels.iter().any(|have| have.eq_ignore_ascii_case(l))))
        .filter(|i| creator.is_none_or(|c| c.eq_ignore_ascii_case(&i.user)))
        .collect();
    if call.query("direction") != Some("asc") {
        matching.reverse();
    }
    let template = template(call, 200);
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|i| issue_json(&template, &base, &repo.full_name, repo.id, i))
        .collect();
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    let last = matching.len().div_ceil(per_page).max(1);
    add_link_header(&mut response, call, &format!("{base}/repos/{}/issues", repo.full_name), page, last);
    response
}

/// `POST /repos/{owner}/{repo}/issues`, by whoever the token stands for.
pub(crate) fn create(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    if state.repo(&owner_repo).is_none() {
        return not_found(call);
    }
    let title = title_of(call.body).unwrap_or_default();
    let body = call.body.get("body").and_then(Value::as_str).map(str::to_owned);
    if let Some(rejection) = over_limits(state, call, Some(&title), body.as_deref()) {
        return rejection;
    }
    let login = state.login_for(&call.token);
    let number = state.add_issue(&owner_repo, &login, title, body, labels_of(call.body).unwrap_or_default());
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&owner_repo) else { return not_found(call) };
    let Some(issue) = repo.issues.iter().find(|i| i.number == number) else { return not_found(call) };
    let json = issue_json(&template(call, 201), &base, &repo.full_name, repo.id, issue);
    let location = format!("{base}/repos/{}/issues/{number}", repo.full_name);
    with_location(json_response(StatusCode::CREATED, &json), &location)
}

/// `GET /repos/{owner}/{repo}/issues/{issue_number}`.
pub(crate) fn get(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let Some(issue) = issue_number(call).and_then(|n| repo.issues.iter().find(|i| i.number == n)) else {
        return not_found(call);
    };
    json_response(StatusCode::OK, &issue_json(&template(call, 200), &base, &repo.full_name, repo.id, issue))
}

/// `PATCH /repos/{owner}/{repo}/issues/{issue_number}`: `title`, `body`, `labels`,
/// `state` (closing sets `closed_at` and, by default, `state_reason: completed`).
pub(crate) fn update(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Some(number) = issue_number(call) else { return not_found(call) };
    if state.repo(&owner_repo).is_none_or(|r| !r.issues.iter().any(|i| i.number == number)) {
        return not_found(call);
    }
    let title = title_of(call.body);
    let body = call.body.get("body").map(|b| b.as_str().map(str::to_owned));
    if let Some(rejection) = over_limits(state, call, title.as_deref(), body.clone().flatten().as_deref()) {
        return rejection;
    }
    let base = state.base_url.clone();
    let Some(repo) = state.repo_mut(&owner_repo) else { return not_found(call) };
    let (full, repo_id) = (repo.full_name.clone(), repo.id);
    let Some(issue) = repo.issues.iter_mut().find(|i| i.number == number) else { return not_found(call) };
    let now = clock::now_rfc3339();
    if let Some(title) = title {
        issue.title = title;
    }
    if let Some(body) = body {
        issue.body = body;
    }
    if let Some(labels) = labels_of(call.body) {
        issue.labels = labels;
    }
    let reason = call.body.get("state_reason").and_then(Value::as_str).map(str::to_owned);
    match call.body.get("state").and_then(Value::as_str) {
        Some("closed") if issue.state != "closed" => {
            issue.state = "closed".to_owned();
            issue.state_reason = Some(reason.unwrap_or_else(|| "completed".to_owned()));
            issue.closed_at = Some(now.clone());
        }
        Some("open") if issue.state != "open" => {
            issue.state = "open".to_owned();
            issue.state_reason = Some("reopened".to_owned());
            issue.closed_at = None;
        }
        _ => {}
    }
    issue.updated_at = now;
    let issue = issue.clone();
    json_response(StatusCode::OK, &issue_json(&template(call, 200), &base, &full, repo_id, &issue))
}
