//! One function per GitHub operation the fake answers. Each starts from GitHub's own
//! example response for the operation and overwrites the fields the fake keeps state for,
//! so the shape is GitHub's.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::app;
use crate::approvals;
use crate::clock;
use crate::issues;
use crate::server::{Call, add_github_headers, error, json_response, percent_encode};
use crate::state::{Repo, State, Status, StoredComment, Violation, is_installation_token};

/// GitHub refuses comment bodies longer than this.
pub const MAX_COMMENT_CHARS: usize = 65_536;
/// GitHub refuses commit status descriptions longer than this.
pub const MAX_STATUS_DESCRIPTION_CHARS: usize = 140;
/// GitHub refuses dispatch payloads of this size or more.
pub const MAX_DISPATCH_PAYLOAD_BYTES: usize = 64 * 1024;
/// Above this size GitHub's contents API leaves `content` empty (`encoding: none`).
const MAX_INLINE_CONTENT_BYTES: usize = 1024 * 1024;

pub(crate) fn answer(state: &mut State, call: &Call<'_>) -> Response {
    if let Some(refused) = app::guard(state, call) {
        return refused;
    }
    match call.operation.id.as_str() {
        "apps/get-authenticated" => app::get_app(state, call),
        "apps/get-repo-installation" => app::get_installation(state, call),
        "apps/create-installation-access-token" => app::create_token(state, call),
        "checks/create" => app::create_check(state, call),
        "checks/update" => app::update_check(state, call),
        "repos/get" => get_repo(state, call),
        "repos/get-content" => get_content(state, call),
        "repos/create-commit-status" => create_status(state, call),
        "repos/list-commit-statuses-for-ref" => list_statuses(state, call),
        "actions/get-workflow-run" => get_workflow_run(state, call),
        "issues/list-comments" => list_comments(state, call),
        "issues/create-comment" => create_comment(state, call),
        "issues/update-comment" => update_comment(state, call),
        "repos/create-dispatch-event" => create_dispatch(state, call),
        "rate-limit/get" => rate_limit(call),
        "users/get-authenticated" => get_user(state, call),
        "pulls/get" => get_pull(state, call),
        "repos/list-pull-requests-associated-with-commit" => pulls_of_commit(state, call),
        "repos/get-branch" => get_branch(state, call),
        "repos/compare-commits-with-basehead" => compare(state, call),
        "issues/list-for-repo" => issues::list(state, call),
        "issues/create" => issues::create(state, call),
        "issues/get" => issues::get(state, call),
        "issues/update" => issues::update(state, call),
        "repos/get-environment" => get_environment(state, call),
        "pulls/list-reviews" => approvals::list_reviews(state, call),
        "actions/get-reviews-for-run" => approvals::run_reviews(state, call),
        other => error(StatusCode::NOT_FOUND, &format!("Not Found (fake-github: `{other}` is not implemented)"), ""),
    }
}

/// `GET /repos/{owner}/{repo}/environments/{environment_name}`: its required reviewers as
/// a `required_reviewers` protection rule (none without reviewers).
fn get_environment(state: &mut State, call: &Call<'_>) -> Response {
    let name = call.param("environment_name").to_owned();
    let Some(reviewers) = state.environments.get(&(call.repo().to_ascii_lowercase(), name.clone())).cloned() else {
        return not_found(call);
    };
    let base = state.base_url.clone();
    let mut body = example(call, 200, None);
    set(&mut body, "/name", json!(name));
    let user_template = body["protection_rules"]
        .as_array()
        .and_then(|rules| rules.iter().find_map(|r| r["reviewers"].as_array()?.first().map(|x| x["reviewer"].clone())))
        .unwrap_or_else(|| json!({}));
    let rules = if reviewers.is_empty() {
        json!([])
    } else {
        let reviewers: Vec<Value> = reviewers
            .iter()
            .map(|login| json!({"type": "User", "reviewer": user_json(&user_template, &base, login)}))
            .collect();
        json!([{"id": 3515, "node_id": "MDQ6R2F0ZTM1MTU=", "type": "required_reviewers", "prevent_self_review": false, "reviewers": reviewers}])
    };
    set(&mut body, "/protection_rules", rules);
    json_response(StatusCode::OK, &body)
}

pub(crate) fn not_found(call: &Call<'_>) -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", &call.operation.docs_url)
}

/// GitHub's example for the operation; the description is the fake's contract, so a
/// missing example is a broken description.
pub(crate) fn example(call: &Call<'_>, status: u16, name: Option<&str>) -> Value {
    call.operation
        .example(status, name)
        .unwrap_or_else(|| panic!("fake-github: the description has no {status} example for `{}`", call.operation.id))
}

pub(crate) fn set(target: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = target.pointer_mut(pointer) {
        *slot = value;
    }
}

/// Records a documented GitHub limit that the request broke, and answers GitHub's 422.
pub(crate) fn limit_violation(state: &mut State, call: &Call<'_>, field: &str, message: String) -> Response {
    state.violations.push(Violation {
        method: call.method.to_owned(),
        path: call.path.to_owned(),
        operation: call.operation.id.clone(),
        errors: vec![message.clone()],
    });
    let body = json!({
        "message": "Validation Failed",
        "errors": [{"resource": "Resource", "code": "custom", "field": field, "message": message}],
        "documentation_url": call.operation.docs_url,
        "status": "422",
    });
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

pub(crate) fn with_location(mut response: Response, location: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn get_repo(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let full = &repo.full_name;
    let (owner, name) = full.split_once('/').unwrap_or((full, full));
    let mut body = example(call, 200, None);
    set(&mut body, "/id", json!(repo.id));
    set(&mut body, "/name", json!(name));
    set(&mut body, "/full_name", json!(full));
    set(&mut body, "/owner/login", json!(owner));
    set(&mut body, "/html_url", json!(format!("https://github.com/{full}")));
    set(&mut body, "/url", json!(format!("{base}/repos/{full}")));
    set(&mut body, "/default_branch", json!(repo.default_branch));
    // GitHub's example omits `language`, which its schema requires (nullable).
    for pointer in ["", "/source"] {
        if let Some(Value::Object(object)) = body.pointer_mut(pointer) {
            object.entry("language").or_insert(Value::Null);
        }
    }
    json_response(StatusCode::OK, &body)
}

/// A stable stand-in for a git blob SHA.
fn blob_sha(contents: &[u8]) -> String {
    let mut a = DefaultHasher::new();
    contents.hash(&mut a);
    let mut b = DefaultHasher::new();
    (contents.len(), "blob").hash(&mut b);
    contents.hash(&mut b);
    format!("{:016x}{:016x}{:08x}", a.finish(), b.finish(), contents.len() as u32)
}

/// Base64 the way the contents API sends it: lines of 60 characters, each ending in `\n`.
fn github_base64(contents: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(contents);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn content_entry(template: Value, base: &str, repo: &Repo, reference: &str, path: &str, file: Option<&[u8]>) -> Value {
    let full = &repo.full_name;
    let encoded_path = percent_encode(path, true);
    let name = path.rsplit('/').next().unwrap_or(path);
    let sha = blob_sha(file.unwrap_or(path.as_bytes()));
    let url = format!("{base}/repos/{full}/contents/{encoded_path}?ref={}", percent_encode(reference, false));
    let git_url = format!("{base}/repos/{full}/git/{}/{sha}", if file.is_some() { "blobs" } else { "trees" });
    let html_url = format!(
        "https://github.com/{full}/{}/{reference}/{encoded_path}",
        if file.is_some() { "blob" } else { "tree" }
    );
    let mut body = template;
    set(&mut body, "/type", json!(if file.is_some() { "file" } else { "dir" }));
    set(&mut body, "/size", json!(file.map_or(0, <[u8]>::len)));
    set(&mut body, "/name", json!(name));
    set(&mut body, "/path", json!(path));
    set(&mut body, "/sha", json!(sha));
    set(&mut body, "/url", json!(url));
    set(&mut body, "/git_url", json!(git_url));
    set(&mut body, "/html_url", json!(html_url));
    set(
        &mut body,
        "/download_url",
        match file {
            Some(_) => json!(format!("https://raw.githubusercontent.com/{full}/{reference}/{encoded_path}")),
            None => Value::Null,
        },
    );
    set(&mut body, "/_links", json!({"self": url, "git": git_url, "html": html_url}));
    body
}

fn get_content(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let reference = call.query("ref").unwrap_or(&repo.default_branch).to_owned();
    let Some(tree) = repo.files.get(&reference) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No commit found for the ref {reference}"),
            &call.operation.docs_url,
        );
    };
    let path = call.param("path").trim_end_matches('/');
    if let Some(contents) = tree.get(path) {
        let accept = call.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if accept.contains("application/vnd.github.raw") {
            let mut response = (StatusCode::OK, Body::from(contents.clone())).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.github.raw"));
            add_github_headers(headers);
            return response;
        }
        let template = example(call, 200, Some("response-if-content-is-a-file"));
        let mut body = content_entry(template, &base, repo, &reference, path, Some(contents));
        if contents.len() > MAX_INLINE_CONTENT_BYTES {
            set(&mut body, "/content", json!(""));
            set(&mut body, "/encoding", json!("none"));
        } else {
            set(&mut body, "/content", json!(github_base64(contents)));
            set(&mut body, "/encoding", json!("base64"));
        }
        return json_response(StatusCode::OK, &body);
    }

    // A directory: its direct children, files and sub-directories, like GitHub lists them.
    let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
    let mut children: Vec<(String, Option<&[u8]>)> = Vec::new();
    for (file_path, contents) in tree.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        let rest = &file_path[prefix.len()..];
        match rest.split_once('/') {
            None => children.push((file_path.clone(), Some(contents.as_slice()))),
            Some((dir, _)) => {
                let dir_path = format!("{prefix}{dir}");
                if !children.iter().any(|(p, _)| p == &dir_path) {
                    children.push((dir_path, None));
                }
            }
        }
    }
    if children.is_empty() {
        return not_found(call);
    }
    let template = example(call, 200, Some("response-if-content-is-a-directory"))
        .as_array()
        .and_then(|entries| entries.first().cloned())
        .unwrap_or_else(|| json!({}));
    let entries: Vec<Value> = children
        .into_iter()
        .map(|(p, contents)| content_entry(template.clone(), &base, repo, &reference, &p, contents))
        .collect();
    json_response(StatusCode::OK, &Value::Array(entries))
}

fn is_commit_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn create_status(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Some(full) = state.repo(&owner_repo).map(|r| r.full_name.clone()) else { return not_found(call) };
    let sha = call.param("sha").to_owned();
    if !is_commit_sha(&sha) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {sha}"),
            &call.operation.docs_url,
        );
    }
    let text = |name: &str| call.body.get(name).and_then(Value::as_str).map(str::to_owned);
    let status = Status {
        state: text("state").unwrap_or_default(),
        context: text("context").unwrap_or_else(|| "default".to_owned()),
        description: text("description"),
        target_url: text("target_url"),
        creator: state.login_for(&call.token),
    };
    if let Some(description) = &status.description {
        let chars = description.chars().count();
        if chars > MAX_STATUS_DESCRIPTION_CHARS {
            let message =
                format!("description is too long (maximum is {MAX_STATUS_DESCRIPTION_CHARS} characters, got {chars})");
            return limit_violation(state, call, "description", message);
        }
    }
    let base = state.base_url.clone();
    let stored = state.add_status(&owner_repo, &sha, status);
    let mut body = example(call, 201, None);
    set(&mut body, "/id", json!(stored.id));
    set(&mut body, "/url", json!(format!("{base}/repos/{full}/statuses/{sha}")));
    set(&mut body, "/state", json!(stored.status.state));
    set(&mut body, "/context", json!(stored.status.context));
    set(&mut body, "/description", json!(stored.status.description));
    set(&mut body, "/target_url", json!(stored.status.target_url));
    set(&mut body, "/created_at", json!(stored.created_at));
    set(&mut body, "/updated_at", json!(stored.created_at));
    with_location(json_response(StatusCode::CREATED, &body), &format!("{base}/repos/{full}/statuses/{sha}"))
}

/// A workflow run of the repository: its status and attempt, as a test set them.
fn get_workflow_run(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Some(repo) = state.repo(&owner_repo) else { return not_found(call) };
    let Ok(id) = call.param("run_id").parse::<u64>() else { return not_found(call) };
    let Some(run) = repo.workflow_runs.get(&id).cloned() else { return not_found(call) };
    let mut body = example(call, 200, None);
    set(&mut body, "/id", json!(id));
    set(&mut body, "/status", json!(run.status));
    set(&mut body, "/conclusion", json!(run.conclusion));
    set(&mut body, "/run_attempt", json!(run.attempt));
    json_response(StatusCode::OK, &body)
}

/// The statuses of a commit, newest first (one page: the fake never has more).
fn list_statuses(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Some(repo) = state.repo(&owner_repo) else { return not_found(call) };
    let sha = call.param("ref").to_owned();
    let template = example(call, 200, None).get(0).cloned().unwrap_or(Value::Null);
    let items: Vec<Value> = repo
        .statuses
        .get(&sha)
        .map(|all| {
            all.iter()
                .rev()
                .map(|stored| {
                    let mut item = template.clone();
                    set(&mut item, "/id", json!(stored.id));
                    set(&mut item, "/state", json!(stored.status.state));
                    set(&mut item, "/context", json!(stored.status.context));
                    set(&mut item, "/description", json!(stored.status.description));
                    set(&mut item, "/target_url", json!(stored.status.target_url));
                    set(&mut item, "/created_at", json!(stored.created_at));
                    set(&mut item, "/updated_at", json!(stored.created_at));
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    json_response(StatusCode::OK, &Value::Array(items))
}

/// A stable stand-in for a user id.
fn user_id(login: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    login.to_ascii_lowercase().hash(&mut hasher);
    hasher.finish() % 100_000_000 + 1
}

/// GitHub's example user (`octocat`) turned into `login`: every URL names `login`, and a
/// `[bot]` login is of type `Bot`.
pub(crate) fn user_json(template: &Value, base: &str, login: &str) -> Value {
    let encoded = percent_encode(login, false);
    let mut user = template.clone();
    if let Value::Object(fields) = &mut user {
        for value in fields.values_mut() {
            if let Value::String(text) = value
                && text.contains("/octocat")
            {
                *text = text.replace("https://api.github.com", base).replace("/octocat", &format!("/{encoded}"));
            }
        }
    }
    let id = user_id(login);
    set(&mut user, "/login", json!(login));
    set(&mut user, "/id", json!(id));
    set(&mut user, "/node_id", json!(format!("U_fake{id}")));
    set(&mut user, "/type", json!(if login.ends_with("[bot]") { "Bot" } else { "User" }));
    user
}

/// `GET /user`: who the token stands for; GitHub's 403 for installation and Actions tokens.
fn get_user(state: &mut State, call: &Call<'_>) -> Response {
    if is_installation_token(&call.token) {
        return error(StatusCode::FORBIDDEN, "Resource not accessible by integration", &call.operation.docs_url);
    }
    let login = state.login_for(&call.token);
    let template = example(call, 200, Some("response-with-public-and-private-profile-information"));
    let user = user_json(&template, &state.base_url, &login);
    json_response(StatusCode::OK, &user)
}

fn comment_json(template: Value, base: &str, full: &str, comment: &StoredComment) -> Value {
    let mut body = template;
    if let Some(user) = body.get("user").filter(|u| u.is_object()) {
        body["user"] = user_json(user, base, &comment.user);
    }
    set(&mut body, "/id", json!(comment.id));
    set(&mut body, "/node_id", json!(format!("IC_fake{}", comment.id)));
    set(&mut body, "/url", json!(format!("{base}/repos/{full}/issues/comments/{}", comment.id)));
    set(
        &mut body,
        "/html_url",
        json!(format!("https://github.com/{full}/pull/{}#issuecomment-{}", comment.issue_number, comment.id)),
    );
    set(&mut body, "/body", json!(comment.body));
    set(&mut body, "/created_at", json!(comment.created_at));
    set(&mut body, "/updated_at", json!(comment.updated_at));
    set(&mut body, "/issue_url", json!(format!("{base}/repos/{full}/issues/{}", comment.issue_number)));
    body
}

pub(crate) fn issue_number(call: &Call<'_>) -> Option<u64> {
    call.param("issue_number").parse().ok()
}

fn list_comments(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let Some(number) = issue_number(call) else { return not_found(call) };
    let per_page = call.query("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = call.query("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let all: Vec<&StoredComment> = repo.comments.iter().filter(|c| c.issue_number == number).collect();
    let template = example(call, 200, None).as_array().and_then(|a| a.first().cloned()).unwrap_or_else(|| json!({}));
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|c| comment_json(template.clone(), &base, &repo.full_name, c))
        .collect();
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    let last = all.len().div_ceil(per_page).max(1);
    let url = format!("{base}/repos/{}/issues/{number}/comments", repo.full_name);
    add_link_header(&mut response, call, &url, page, last);
    response
}

/// Sets the `Link` header of page `page` of `last` of a listing at `url`: each link keeps
/// the call's query with its own `page`.
pub(crate) fn add_link_header(response: &mut Response, call: &Call<'_>, url: &str, page: usize, last: usize) {
    let page_url = |n: usize| {
        let mut query: Vec<String> = call
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k, false), percent_encode(v, false)))
            .collect();
        query.push(format!("page={n}"));
        format!("{url}?{}", query.join("&"))
    };
    if let Some(link) = link_header(page, last, page_url)
        && let Ok(value) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, value);
    }
}

/// GitHub's `Link` header: `prev`, `next`, `last`, `first`, each only where it applies;
/// no header at all when everything fits on one page.
fn link_header(page: usize, last: usize, url: impl Fn(usize) -> String) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url(1)));
    }
    Some(links.join(", "))
}

fn comment_too_long(state: &mut State, call: &Call<'_>, body: &str) -> Option<Response> {
    let chars = body.chars().count();
    (chars > MAX_COMMENT_CHARS).then(|| {
        let message = format!("Body is too long (maximum is {MAX_COMMENT_CHARS} characters, got {chars})");
        limit_violation(state, call, "body", message)
    })
}

fn create_comment(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Some(full) = state.repo(&owner_repo).map(|r| r.full_name.clone()) else { return not_found(call) };
    let Some(number) = issue_number(call) else { return not_found(call) };
    let text = call.body.get("body").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(rejection) = comment_too_long(state, call, &text) {
        return rejection;
    }
    let login = state.login_for(&call.token);
    let id = state.add_comment(&owner_repo, number, &login, text);
    let base = state.base_url.clone();
    let Some(stored) = state.repo(&owner_repo).and_then(|r| r.comments.iter().find(|c| c.id == id)).cloned() else {
        return not_found(call);
    };
    let body = comment_json(example(call, 201, None), &base, &full, &stored);
    with_location(json_response(StatusCode::CREATED, &body), &format!("{base}/repos/{full}/issues/comments/{id}"))
}

fn update_comment(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    let Ok(id) = call.param("comment_id").parse::<u64>() else { return not_found(call) };
    let text = call.body.get("body").and_then(Value::as_str).unwrap_or_default().to_owned();
    if state.repo(&owner_repo).is_none_or(|r| !r.comments.iter().any(|c| c.id == id)) {
        return not_found(call);
    }
    if let Some(rejection) = comment_too_long(state, call, &text) {
        return rejection;
    }
    let base = state.base_url.clone();
    let Some(repo) = state.repo_mut(&owner_repo) else { return not_found(call) };
    let full = repo.full_name.clone();
    let Some(comment) = repo.comments.iter_mut().find(|c| c.id == id) else { return not_found(call) };
    comment.body = text;
    comment.updated_at = clock::now_rfc3339();
    let comment = comment.clone();
    json_response(StatusCode::OK, &comment_json(example(call, 200, None), &base, &full, &comment))
}

fn create_dispatch(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    if state.repo(&owner_repo).is_none() {
        return not_found(call);
    }
    if let Some(payload) = call.body.get("client_payload") {
        let size = payload.to_string().len();
        if size >= MAX_DISPATCH_PAYLOAD_BYTES {
            let message = format!("client_payload is {size} bytes, it must be less than {MAX_DISPATCH_PAYLOAD_BYTES}");
            return limit_violation(state, call, "client_payload", message);
        }
    }
    state.ensure_repo(&owner_repo).dispatches.push(call.body.clone());
    let mut response = StatusCode::NO_CONTENT.into_response();
    add_github_headers(response.headers_mut());
    response
}

fn rate_limit(call: &Call<'_>) -> Response {
    let mut body = example(call, 200, None);
    let reset = clock::now_unix() + 3600;
    for pointer in ["/rate/reset", "/resources/core/reset"] {
        set(&mut body, pointer, json!(reset));
    }
    json_response(StatusCode::OK, &body)
}

/// Rewrites GitHub's example repository `octocat/Hello-World` (and its API host) in every
/// string of `value` to `full` at `base`.
fn rename_repo(value: &mut Value, base: &str, full: &str) {
    match value {
        Value::String(text) if text.contains("octocat/Hello-World") || text.starts_with("https://api.github.com") => {
            *text = text.replace("https://api.github.com", base).replace("octocat/Hello-World", full);
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_repo(item, base, full)),
        Value::Object(fields) => fields.values_mut().for_each(|field| rename_repo(field, base, full)),
        _ => {}
    }
}

/// A `repository` object for `full` (`owner/name`), from GitHub's example one.
fn repo_object(template: &Value, base: &str, full: &str, id: u64, default_branch: &str, fork: bool) -> Value {
    let (owner, name) = full.split_once('/').unwrap_or((full, full));
    let mut repo = template.clone();
    rename_repo(&mut repo, base, full);
    set(&mut repo, "/id", json!(id));
    set(&mut repo, "/name", json!(name));
    set(&mut repo, "/full_name", json!(full));
    set(&mut repo, "/fork", json!(fork));
    set(&mut repo, "/default_branch", json!(default_branch));
    if let Some(template_owner) = template.get("owner") {
        repo["owner"] = user_json(template_owner, base, owner);
    }
    repo
}

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}`.
fn get_pull(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let Some(pr) = call.param("pull_number").parse::<u64>().ok().and_then(|n| repo.pulls.get(&n)).cloned() else {
        return not_found(call);
    };
    let full = repo.full_name.clone();
    let head_full = pr.head_repo.clone().unwrap_or_else(|| full.clone());
    let head_id = state.repo(&head_full).map_or_else(|| user_id(&head_full), |r| r.id);
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let template = example(call, 200, None);
    let mut body = template.clone();
    rename_repo(&mut body, &base, &full);
    let number = pr.number;
    for pointer in ["/url", "/_links/self/href", "/_links/issue/href", "/_links/comments/href", "/_links/html/href"] {
        if let Some(Value::String(text)) = body.pointer_mut(pointer) {
            *text = text.replace("/1347", &format!("/{number}"));
        }
    }
    set(&mut body, "/html_url", json!(format!("https://github.com/{full}/pull/{number}")));
    set(&mut body, "/number", json!(number));
    set(&mut body, "/state", json!(pr.state));
    set(&mut body, "/merged", json!(pr.merged));
    set(&mut body, "/draft", json!(false));
    let closed = pr.state == "closed";
    set(&mut body, "/closed_at", if closed { json!(clock::now_rfc3339()) } else { Value::Null });
    set(&mut body, "/merged_at", if pr.merged { json!(clock::now_rfc3339()) } else { Value::Null });
    if !pr.merged {
        set(&mut body, "/merged_by", Value::Null);
    }
    set(&mut body, "/merge_commit_sha", json!(pr.merge_commit_sha));
    // GitHub's example team lacks the `type` its schema requires; the fake has no teams.
    set(&mut body, "/requested_teams", json!([]));
    if let Some(user) = template.get("user") {
        body["user"] = user_json(user, &base, &pr.user);
    }
    let head_owner = head_full.split_once('/').map_or(head_full.as_str(), |(owner, _)| owner);
    let base_owner = full.split_once('/').map_or(full.as_str(), |(owner, _)| owner);
    let base_sha = repo.branches.get(&pr.base_ref).cloned().unwrap_or_else(|| pr.head_sha.clone());
    for (side, owner, repo_full, id, git_ref, sha, fork) in [
        ("head", head_owner, head_full.as_str(), head_id, &pr.head_ref, &pr.head_sha, pr.head_repo.is_some()),
        ("base", base_owner, full.as_str(), repo.id, &pr.base_ref, &base_sha, false),
    ] {
        set(&mut body, &format!("/{side}/label"), json!(format!("{owner}:{git_ref}")));
        set(&mut body, &format!("/{side}/ref"), json!(git_ref));
        set(&mut body, &format!("/{side}/sha"), json!(sha));
        if let Some(user) = template.pointer(&format!("/{side}/user")) {
            body[side]["user"] = user_json(user, &base, owner);
        }
        if let Some(repo_template) = template.pointer(&format!("/{side}/repo")) {
            body[side]["repo"] = repo_object(repo_template, &base, repo_full, id, &repo.default_branch, fork);
        }
    }
    json_response(StatusCode::OK, &body)
}

/// `GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls`: the PRs whose head is the
/// commit, or that were merged as it (GitHub's association), from GitHub's example item.
fn pulls_of_commit(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let sha = call.param("commit_sha").to_owned();
    let full = repo.full_name.clone();
    let template = example(call, 200, None).get(0).cloned().unwrap_or_default();
    let items: Vec<Value> = repo
        .pulls
        .values()
        .filter(|pr| pr.head_sha == sha || pr.merge_commit_sha.as_deref() == Some(sha.as_str()))
        .map(|pr| {
            let mut item = template.clone();
            rename_repo(&mut item, &base, &full);
            set(&mut item, "/number", json!(pr.number));
            set(&mut item, "/state", json!(pr.state));
            set(&mut item, "/html_url", json!(format!("https://github.com/{full}/pull/{}", pr.number)));
            set(&mut item, "/merge_commit_sha", json!(pr.merge_commit_sha));
            set(&mut item, "/merged_at", if pr.merged { json!(clock::now_rfc3339()) } else { Value::Null });
            set(&mut item, "/head/sha", json!(pr.head_sha));
            set(&mut item, "/head/ref", json!(pr.head_ref));
            set(&mut item, "/base/ref", json!(pr.base_ref));
            set(&mut item, "/requested_teams", json!([]));
            if let Some(user) = template.get("user") {
                item["user"] = user_json(user, &base, &pr.user);
            }
            item
        })
        .collect();
    json_response(StatusCode::OK, &json!(items))
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`.
fn get_branch(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let name = call.param("branch");
    let Some(sha) = repo.branches.get(name) else {
        return error(StatusCode::NOT_FOUND, "Branch not found", &call.operation.docs_url);
    };
    let full = &repo.full_name;
    let mut body = example(call, 200, None);
    rename_repo(&mut body, &base, full);
    set(&mut body, "/name", json!(name));
    if let Some(template) = body.get("commit").cloned() {
        body["commit"] = commit_json(&template, &base, full, sha, repo.graph.parents(sha));
    }
    let encoded = percent_encode(name, true);
    set(&mut body, "/_links/self", json!(format!("{base}/repos/{full}/branches/{encoded}")));
    set(&mut body, "/_links/html", json!(format!("https://github.com/{full}/tree/{encoded}")));
    set(&mut body, "/protected", json!(false));
    set(&mut body, "/protection_url", json!(format!("{base}/repos/{full}/branches/{encoded}/protection")));
    json_response(StatusCode::OK, &body)
}

/// A commit object (as in a branch or a comparison) for `sha`, from GitHub's example one.
fn commit_json(template: &Value, base: &str, full: &str, sha: &str, parents: &[String]) -> Value {
    let mut commit = template.clone();
    rename_repo(&mut commit, base, full);
    set(&mut commit, "/sha", json!(sha));
    set(&mut commit, "/node_id", json!(format!("C_fake{}", &sha[..sha.len().min(12)])));
    set(&mut commit, "/url", json!(format!("{base}/repos/{full}/commits/{sha}")));
    set(&mut commit, "/html_url", json!(format!("https://github.com/{full}/commit/{sha}")));
    set(&mut commit, "/comments_url", json!(format!("{base}/repos/{full}/commits/{sha}/comments")));
    set(&mut commit, "/commit/url", json!(format!("{base}/repos/{full}/git/commits/{sha}")));
    let parents: Vec<Value> = parents
        .iter()
        .map(|parent| {
            json!({
                "sha": parent,
                "url": format!("{base}/repos/{full}/commits/{parent}"),
                "html_url": format!("https://github.com/{full}/commit/{parent}"),
            })
        })
        .collect();
    set(&mut commit, "/parents", Value::Array(parents));
    commit
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`, from the repository's commit graph.
fn compare(state: &mut State, call: &Call<'_>) -> Response {
    let base_url = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let basehead = call.param("basehead").to_owned();
    let Some((base_ref, head_ref)) = basehead.split_once("...") else { return not_found(call) };
    let (Some(base), Some(head)) = (repo.resolve(base_ref), repo.resolve(head_ref)) else {
        return not_found(call);
    };
    let Some(comparison) = repo.graph.compare(&base, &head) else {
        let message = format!("No common ancestor between {base_ref} and {head_ref}.");
        return error(StatusCode::NOT_FOUND, &message, &call.operation.docs_url);
    };
    let full = &repo.full_name;
    let template = example(call, 200, None);
    let commit_template = template.pointer("/commits/0").cloned().unwrap_or_else(|| json!({}));
    let commit = |sha: &str| commit_json(&commit_template, &base_url, full, sha, repo.graph.parents(sha));
    let per_page = call.query("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(250).clamp(1, 250);
    let page = call.query("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let commits: Vec<Value> =
        comparison.commits.iter().skip((page - 1) * per_page).take(per_page).map(|sha| commit(sha)).collect();
    let mut body = template.clone();
    rename_repo(&mut body, &base_url, full);
    set(&mut body, "/url", json!(format!("{base_url}/repos/{full}/compare/{basehead}")));
    set(&mut body, "/html_url", json!(format!("https://github.com/{full}/compare/{basehead}")));
    set(&mut body, "/permalink_url", json!(format!("https://github.com/{full}/compare/{base}...{head}")));
    set(&mut body, "/diff_url", json!(format!("https://github.com/{full}/compare/{basehead}.diff")));
    set(&mut body, "/patch_url", json!(format!("https://github.com/{full}/compare/{basehead}.patch")));
    set(&mut body, "/base_commit", commit(&base));
    set(&mut body, "/merge_base_commit", commit(&comparison.merge_base));
    set(&mut body, "/status", json!(comparison.status));
    set(&mut body, "/ahead_by", json!(comparison.ahead_by));
    set(&mut body, "/behind_by", json!(comparison.behind_by));
    set(&mut body, "/total_commits", json!(comparison.ahead_by));
    set(&mut body, "/commits", Value::Array(commits));
    set(&mut body, "/files", json!([]));
    json_response(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_names_the_pages_that_exist() {
        let url = |n: usize| format!("http://x/c?per_page=100&page={n}");
        assert_eq!(link_header(1, 1, url), None);
        assert_eq!(
            link_header(1, 3, url).as_deref(),
            Some(r#"<http://x/c?per_page=100&page=2>; rel="next", <http://x/c?per_page=100&page=3>; rel="last""#)
        );
        assert_eq!(
            link_header(2, 3, url).as_deref(),
            Some(
                r#"<http://x/c?per_page=100&page=1>; rel="prev", <http://x/c?per_page=100&page=3>; rel="next", <http://x/c?per_page=100&page=3>; rel="last", <http://x/c?per_page=100&page=1>; rel="first""#
            )
        );
        assert_eq!(
            link_header(3, 3, url).as_deref(),
            Some(r#"<http://x/c?per_page=100&page=2>; rel="prev", <http://x/c?per_page=100&page=1>; rel="first""#)
        );
    }

    #[test]
    fn base64_is_wrapped_like_github() {
        let encoded = github_base64(&[b'a'; 100]);
        assert!(encoded.lines().all(|line| line.len() <= 60));
        assert!(encoded.ends_with('\n'));
    }
}
