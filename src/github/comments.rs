//! The sticky PR comment: found by its hidden marker across every page of the PR's
//! comments, edited in place, created only when absent.
//!
//! **Whose comment.** The sticky comment is the oldest comment on the PR that
//! 1. was written by the service's own identity (`user.login`, see `identity`), and
//! 2. *starts* with the marker.
//!
//! A comment by anyone else is never edited, whatever it contains: a PR author who posts
//! the marker first would otherwise get the service's plan written into a comment they
//! can edit afterwards. Such a comment is ignored and the service creates its own.
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
use super::identity::same_login;
use super::repo_path;
use crate::codehost::{CodeHostError, CommentOutcome};
use crate::identity::RepoId;
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
    /// `null` for a deleted account.
    #[serde(default)]
    user: Option<Author>,
}

#[derive(Debug, Clone, Deserialize)]
struct Author {
    login: String,
}

impl IssueComment {
    /// Whether this is the sticky comment: written by `identity`, starting with `marker`.
    fn is_sticky(&self, identity: &str, marker: &str) -> bool {
        self.user.as_ref().is_some_and(|u| same_login(&u.login, identity))
            && self.body.as_deref().is_some_and(|b| b.starts_with(marker))
    }
}

/// Creates or edits in place the comment on `pr` that `identity` wrote and that starts
/// with `marker`.
pub(crate) async fn upsert(
    api: &Api,
    identity: &str,
    repo: &RepoId,
    pr: u64,
    marker: &str,
    body: &str,
) -> Result<CommentOutcome, CodeHostError> {
    check(repo, pr, marker, body)?;
    let create_path = format!("{}/issues/{pr}/comments", repo_path(repo));
    if let Some(existing) = find(api, identity, repo, pr, marker).await? {
        if existing.body.as_deref() == Some(body) {
            return Ok(CommentOutcome::Updated);
        }
        if edit(api, repo, existing.id, body).await? {
            return Ok(CommentOutcome::Updated);
        }
        // Deleted between listing and editing: fall through and create it again.
    }
    Ok(create(api, identity, repo, pr, marker, body, &create_path).await?)
}

/// Refuses a comment that can't be posted or could never be found again.
pub(crate) fn check(repo: &RepoId, pr: u64, marker: &str, body: &str) -> Result<(), CodeHostError> {
    let refuse = |message: String| CodeHostError::Call {
        call: format!("POST {}/issues/{pr}/comments", repo_path(repo)),
        message,
    };
    if marker.trim().is_empty() {
        return Err(refuse("the sticky comment marker is empty".to_owned()));
    }
    if !body.starts_with(marker) {
        return Err(refuse(format!(
            "the comment body does not start with its marker `{marker}`, so it could never be found again"
        )));
    }
    let chars = body.chars().count();
    if chars > COMMENT_CHARS {
        return Err(refuse(format!("the comment body is {chars} characters; GitHub accepts at most {COMMENT_CHARS}")));
    }
    Ok(())
}

/// The oldest comment on `pr` that `identity` wrote and that starts with `marker`,
/// following `Link` pagination.
async fn find(
    api: &Api,
    identity: &str,
    repo: &RepoId,
    pr: u64,
    marker: &str,
) -> Result<Option<IssueComment>, GithubError> {
    let mut call = Call::get(format!("{}/issues/{pr}/comments?per_page={PER_PAGE}", repo_path(repo)));
    for _ in 0..MAX_PAGES {
        let reply = api.expect(&call, StatusCode::OK).await?;
        let page: Vec<IssueComment> = reply.json(&call)?;
        if let Some(found) = page.into_iter().find(|c| c.is_sticky(identity, marker)) {
            return Ok(Some(found));
        }
        let Some(next) = api.next_page(&call, &reply)? else { return Ok(None) };
        call = call.next(next);
    }
    Err(GithubError::Unexpected {
        call: format!("GET {}/issues/{pr}/comments", repo_path(repo)),
        reason: format!("more than {MAX_PAGES} pages of comments"),
    })
}

/// Edits comment `id`; `Ok(false)` when it no longer exists.
async fn edit(api: &Api, repo: &RepoId, id: u64, body: &str) -> Result<bool, GithubError> {
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
    identity: &str,
    repo: &RepoId,
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
                if maybe_applied && let Some(landed) = find(api, identity, repo, pr, marker).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(login: Option<&str>, body: Option<&str>) -> IssueComment {
        IssueComment {
            id: 1,
            body: body.map(str::to_owned),
            user: login.map(|login| Author { login: login.to_owned() }),
        }
    }

    #[test]
    fn only_the_services_own_comment_starting_with_the_marker_is_sticky() {
        let marker = "<!-- infra-manager:plan:staging -->";
        let own = format!("{marker}\nPlan: 1 to add");
        let quoted = format!("> {marker}\nlooks good");
        let cases = [
            (Some("github-actions[bot]"), Some(own.as_str()), true),
            (Some("GitHub-Actions[bot]"), Some(own.as_str()), true),
            (Some("mallory"), Some(own.as_str()), false),
            (Some("github-actions"), Some(own.as_str()), false),
            (None, Some(own.as_str()), false),
            (Some("github-actions[bot]"), Some(quoted.as_str()), false),
            (Some("github-actions[bot]"), Some("no marker"), false),
            (Some("github-actions[bot]"), None, false),
        ];
        for (login, body, sticky) in cases {
            assert_eq!(comment(login, body).is_sticky("github-actions[bot]", marker), sticky, "{login:?} {body:?}");
        }
    }
}
