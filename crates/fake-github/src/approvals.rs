//! Who approved what: a pull request's reviews (`pulls/list-reviews`, paginated) and a
//! workflow run's environment review history (`actions/get-reviews-for-run`), from
//! GitHub's example items with the fields the fake keeps overwritten.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::routes::{add_link_header, example, not_found, set, user_json};
use crate::server::{Call, json_response};
use crate::state::State;

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews`: oldest first, `per_page` and
/// `page` as GitHub takes them.
pub(crate) fn list_reviews(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let Some(number) = call.param("pull_number").parse::<u64>().ok().filter(|n| repo.pulls.contains_key(n)) else {
        return not_found(call);
    };
    let per_page = call.query("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = call.query("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let all = repo.reviews.get(&number).cloned().unwrap_or_default();
    let full = repo.full_name.clone();
    let template = first_item(call);
    let items: Vec<Value> = all
        .iter()
        .enumerate()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(i, review)| {
            let mut item = template.clone();
            let id = 80 + i as u64;
            set(&mut item, "/id", json!(id));
            if let Some(user) = template.get("user") {
                item["user"] = user_json(user, &base, &review.login);
            }
            set(&mut item, "/state", json!(review.state));
            set(&mut item, "/commit_id", json!(review.commit_id));
            let html = format!("https://github.com/{full}/pull/{number}#pullrequestreview-{id}");
            let api = format!("{base}/repos/{full}/pulls/{number}");
            set(&mut item, "/html_url", json!(html));
            set(&mut item, "/pull_request_url", json!(api));
            set(&mut item, "/_links/html/href", json!(html));
            set(&mut item, "/_links/pull_request/href", json!(api));
            item
        })
        .collect();
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    let last = all.len().div_ceil(per_page).max(1);
    add_link_header(&mut response, call, &format!("{base}/repos/{full}/pulls/{number}/reviews"), page, last);
    response
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`: the run's review history
/// (404 for a run the fake does not know, as GitHub answers).
pub(crate) fn run_reviews(state: &mut State, call: &Call<'_>) -> Response {
    let base = state.base_url.clone();
    let Some(repo) = state.repo(&call.repo()) else { return not_found(call) };
    let Some(run_id) = call.param("run_id").parse::<u64>().ok() else { return not_found(call) };
    let Some(entries) =
        repo.run_approvals.get(&run_id).cloned().or_else(|| repo.workflow_runs.contains_key(&run_id).then(Vec::new))
    else {
        return not_found(call);
    };
    let full = repo.full_name.clone();
    let template = first_item(call);
    let env_template = template.pointer("/environments/0").cloned().unwrap_or_else(|| json!({}));
    let items: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut item = template.clone();
            set(&mut item, "/state", json!(entry.state));
            if let Some(user) = template.get("user") {
                item["user"] = user_json(user, &base, &entry.login);
            }
            let environments: Vec<Value> = entry
                .environments
                .iter()
                .map(|name| {
                    let mut env = env_template.clone();
                    set(&mut env, "/name", json!(name));
                    set(&mut env, "/url", json!(format!("{base}/repos/{full}/environments/{name}")));
                    set(
                        &mut env,
                        "/html_url",
                        json!(format!("https://github.com/{full}/deployments/activity_log?environments_filter={name}")),
                    );
                    env
                })
                .collect();
            set(&mut item, "/environments", json!(environments));
            item
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(items))
}

fn first_item(call: &Call<'_>) -> Value {
    example(call, 200, None).as_array().and_then(|a| a.first().cloned()).unwrap_or_else(|| json!({}))
}
