//! The sticky PR comment: found by its hidden marker across every page of the PR's
//! comments, edited in place, created only when absent.
//!
//! Creating is the one call that is not safe to repeat: a create that failed in a way
//! that may have reached GitHub (5xx, timeout, dropped connection) is followed by a fresh
//! look for the marker before anything is posted again, so a lost answer never leaves two
//! sticky comments.

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{Api, Attempt, Call, refused};
use super::error::GithubError;
use super::pagination::next_link;
use super::repo_path;
use crate::codehost::{CodeHostError, CommentOutcome};
use crate::identity::CustomerId;
use crate::limits::COMMENT_CHARS;

/// Comments per page when listing (GitHub's maximum).
const PER_PAGE: u32 = 100;
/// A PR with more pages than this is not worth walking (100,000 comments).
const MAX_PAGES: usize = 1000;

#[derive(Debug, Clone, Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// Creates or edits in place the comment on `pr` whose body contains `marker`.
pub(crate) async fn upsert(
    api: &Api,
    repo: &CustomerId,
    pr: u64,
    marker: &str,
    body: &str,
) -> Result<CommentOutcome, CodeHostError> {
    let create_path = format!("{}/issues/{pr}/comments", repo_path(repo));
    let refuse = |message: String| CodeHostError::Call { call: format!("POST {create_path}"), message };
    if marker.trim().is_empty() {
        return Err(refuse("the sticky comment marker is empty".to_owned()));
    }
    if !body.contains(marker) {
        return Err(refuse(format!(
            "the comment body does not contain its marker `{marker}`, so it could never be found again"
        )));
    }
    let chars = body.chars().count();
    if chars > COMMENT_CHARS {
        return Err(refuse(format!("the comment body is {chars} characters; GitHub accepts at most {COMMENT_CHARS}")));
    }

    if let Some(existing) = find(api, repo, pr, marker).await? {
        if existing.body.as_deref() == Some(body) {
            return Ok(CommentOutcome::Updated);
        }
        if edit(api, repo, existing.id, body).await? {
            return Ok(CommentOutcome::Updated);
        }
        // Deleted between listing and editing: fall through and create it again.
    }
    Ok(create(api, repo, pr, marker, body, &create_path).await?)
}

/// The oldest comment on `pr` whose body contains `marker`, following `Link` pagination.
async fn find(api: &Api, repo: &CustomerId, pr: u64, marker: &str) -> Result<Option<IssueComment>, GithubError> {
    let mut path = format!("{}/issues/{pr}/comments?per_page={PER_PAGE}", repo_path(repo));
    for _ in 0..MAX_PAGES {
        let call = Call::get(path);
        let reply = api.expect(&call, StatusCode::OK).await?;
        let page: Vec<IssueComment> = reply.json(&call)?;
        if let Some(found) = page.into_iter().find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker))) {
            return Ok(Some(found));
        }
        let Some(next) = reply.header("link").and_then(next_link) else { return Ok(None) };
        let next = api.relative_path(&call, &next)?;
        if next == call.path {
            return Err(GithubError::Unexpected {
                call: call.name(),
                reason: "the next page link points to the same page".to_owned(),
            });
        }
        path = next;
    }
    Err(GithubError::Unexpected {
        call: format!("GET {}/issues/{pr}/comments", repo_path(repo)),
        reason: format!("more than {MAX_PAGES} pages of comments"),
    })
}

/// Edits comment `id`; `Ok(false)` when it no longer exists.
async fn edit(api: &Api, repo: &CustomerId, id: u64, body: &str) -> Result<bool, GithubError> {
    let payload = json!({ "body": body });
    let call = Call::patch(format!("{}/issues/comments/{id}", repo_path(repo)), &payload);
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(refused(&call, &reply)),
    }
}

/// Creates the comment. After a failure that may have reached GitHub, looks for the
/// marker again before posting again.
async fn create(
    api: &Api,
    repo: &CustomerId,
    pr: u64,
    marker: &str,
    body: &str,
    path: &str,
) -> Result<CommentOutcome, GithubError> {
    let payload = json!({ "body": body });
    let call = Call::post(path.to_owned(), &payload);
    let mut failures = 0;
    loop {
        match api.attempt(&call).await? {
            Attempt::Answer(reply) if reply.status == StatusCode::CREATED => return Ok(CommentOutcome::Created),
            Attempt::Answer(reply) => return Err(refused(&call, &reply)),
            Attempt::Retry { reason, hint, maybe_applied } => {
                failures += 1;
                api.back_off(&call, failures, reason, hint).await?;
                if maybe_applied && let Some(landed) = find(api, repo, pr, marker).await? {
                    tracing::info!(call = %call.name(), comment = landed.id, "the failed create had reached GitHub; not posting again");
                    if landed.body.as_deref() == Some(body) {
                        return Ok(CommentOutcome::Created);
                    }
                    return if edit(api, repo, landed.id, body).await? {
                        Ok(CommentOutcome::Updated)
                    } else {
                        Err(GithubError::Unexpected {
                            call: call.name(),
                            reason: format!("comment {} vanished while it was being edited", landed.id),
                        })
                    };
                }
            }
        }
    }
}
