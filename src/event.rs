//! GitHub Actions events: what the customer side dispatches and what the manager receives.
//!
//! The `repository_dispatch` payload is untrusted: only its repository name and SHA are used
//! (validated here), the PR number is taken as a number, and everything else about the
//! customer is re-read from GitHub with the provider's token.

use serde::Serialize;
use serde_json::{Value, json};

use crate::identity::{NameError, RepoId, Sha, ShaError};

/// The `event_type` of a dispatch for a pull request.
pub const PLAN_EVENT: &str = "infra-plan";
/// The `event_type` of a dispatch for a push to the default branch.
pub const APPLY_EVENT: &str = "infra-apply";
/// The payload's `event` for a merge queue's commit (a plan with no pull request).
const MERGE_GROUP: &str = "merge_group";
/// The branches a merge queue makes: `gh-readonly-queue/<base branch>/pr-<number>-<sha>`.
const QUEUE_REF_PREFIX: &str = "refs/heads/gh-readonly-queue/";

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("can't read the event file `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("the event file is not valid JSON: {0}")]
    Json(String),
    #[error("the event has no `{0}`")]
    Missing(&'static str),
    #[error("event `{0}` is not supported here; expected {1}")]
    Unsupported(String, &'static str),
    #[error("dispatch payload: {0}")]
    Name(#[from] NameError),
    #[error("dispatch payload: {0}")]
    Sha(#[from] ShaError),
    /// Values are bounded before anything echoes them into an error or the log.
    #[error("dispatch payload: `{field}` is {length} characters, more than the {max} it may have")]
    TooLong { field: &'static str, length: usize, max: usize },
    #[error(
        "dispatch payload: a merge_group `ref` must be a merge queue branch (`{QUEUE_REF_PREFIX}<base>/pr-<number>-<sha>`)"
    )]
    NotQueueRef,
}

/// The longest payload string read at all (a repository is at most 100 + 1 + 100).
const MAX_PAYLOAD_STRING: usize = 256;
/// An OIDC ID token is a JWT of a few kilobytes.
const MAX_OIDC_TOKEN: usize = 16 * 1024;

/// What the manager acts on, from a `repository_dispatch` event's `client_payload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub event_type: String,
    pub customer: RepoId,
    pub sha: Sha,
    pub pull_request: Option<u64>,
    /// The customer's Git ref the event was for (`refs/heads/main`), when the payload has it.
    pub git_ref: Option<String>,
    /// A GitHub Actions OIDC ID token from the customer's workflow, when it attached one.
    pub oidc_token: Option<String>,
    /// Set for a plan of a merge queue's commit (payload `event: merge_group`).
    pub merge_queue: Option<MergeQueue>,
}

/// A merge queue entry, from its branch name: what the queue commit claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeQueue {
    /// `refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>`.
    pub git_ref: String,
    /// The branch the queue merges into.
    pub base: String,
    /// The pull request this entry merges.
    pub pull_request: u64,
}

impl MergeQueue {
    /// Parses a merge queue branch ref; `None` for any other ref.
    pub fn from_ref(git_ref: &str) -> Option<Self> {
        let (base, entry) = git_ref.strip_prefix(QUEUE_REF_PREFIX)?.rsplit_once('/')?;
        let (number, sha) = entry.strip_prefix("pr-")?.split_once('-')?;
        let valid_base = !base.is_empty()
            && base.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && base.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
        let pull_request = number.parse::<u64>().ok().filter(|n| *n > 0 && !number.starts_with('0'))?;
        (valid_base && Sha::parse(sha).is_ok()).then(|| Self {
            git_ref: git_ref.to_owned(),
            base: base.to_owned(),
            pull_request,
        })
    }
}

/// The string at `payload[field]`, bounded in length; `None` when absent or not a string.
fn bounded<'a>(payload: &'a Value, field: &'static str, max: usize) -> Result<Option<&'a str>, EventError> {
    match payload[field].as_str() {
        Some(text) if text.chars().count() > max => {
            Err(EventError::TooLong { field, length: text.chars().count(), max })
        }
        other => Ok(other),
    }
}

/// Reads the event JSON at `path` (`GITHUB_EVENT_PATH`).
pub fn read(path: &str) -> Result<Value, EventError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EventError::Read { path: path.to_owned(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| EventError::Json(e.to_string()))
}

/// Parses a `repository_dispatch` event. GitHub repository names are case-insensitive;
/// they are compared and used in lowercase.
pub fn parse_dispatch(event: &Value) -> Result<Dispatch, EventError> {
    let event_type = event["action"].as_str().ok_or(EventError::Missing("action"))?;
    if event_type != PLAN_EVENT && event_type != APPLY_EVENT {
        return Err(EventError::Unsupported(crate::diagnostic::shown(event_type), "`infra-plan` or `infra-apply`"));
    }
    let payload = &event["client_payload"];
    let repository =
        bounded(payload, "repository", MAX_PAYLOAD_STRING)?.ok_or(EventError::Missing("client_payload.repository"))?;
    let sha = bounded(payload, "sha", MAX_PAYLOAD_STRING)?.ok_or(EventError::Missing("client_payload.sha"))?;
    let pull_request = payload["pull_request"].as_u64().filter(|n| *n > 0);
    let git_ref = bounded(payload, "ref", MAX_PAYLOAD_STRING)?;
    let merge_queue = match payload["event"].as_str() {
        Some(MERGE_GROUP) => Some(git_ref.and_then(MergeQueue::from_ref).ok_or(EventError::NotQueueRef)?),
        _ => None,
    };
    Ok(Dispatch {
        event_type: event_type.to_owned(),
        customer: RepoId::parse(&repository.to_lowercase())?,
        sha: Sha::parse(sha)?,
        pull_request,
        git_ref: git_ref.map(str::to_owned),
        oidc_token: bounded(payload, "oidc_token", MAX_OIDC_TOKEN)?.map(str::to_owned),
        merge_queue,
    })
}

/// The dispatch a customer's event calls for: event type and `client_payload`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outgoing {
    pub event_type: &'static str,
    pub client_payload: Value,
}

/// What to dispatch for a `pull_request`, `push` or `merge_group` event; `None` when the
/// event needs no run (a closed PR, a push to another branch or a tag, a deleted branch).
/// A merge queue's commit gets a plan (its statuses are what the queue waits for) with no
/// pull request: nothing to comment on.
pub fn outgoing(event_name: &str, event: &Value) -> Result<Option<Outgoing>, EventError> {
    let repository =
        event["repository"]["full_name"].as_str().ok_or(EventError::Missing("repository.full_name"))?.to_lowercase();
    match event_name {
        "pull_request" | "pull_request_target" => {
            let action = event["action"].as_str().unwrap_or_default();
            if !matches!(action, "opened" | "synchronize" | "reopened" | "ready_for_review" | "edited") {
                return Ok(None);
            }
            let number = event["number"]
                .as_u64()
                .or_else(|| event["pull_request"]["number"].as_u64())
                .ok_or(EventError::Missing("number"))?;
            let sha =
                event["pull_request"]["head"]["sha"].as_str().ok_or(EventError::Missing("pull_request.head.sha"))?;
            let head_ref =
                event["pull_request"]["head"]["ref"].as_str().ok_or(EventError::Missing("pull_request.head.ref"))?;
            Sha::parse(sha)?;
            Ok(Some(Outgoing {
                event_type: PLAN_EVENT,
                client_payload: json!({
                    "repository": repository,
                    "sha": sha,
                    "ref": format!("refs/heads/{head_ref}"),
                    "pull_request": number,
                    "event": "pull_request",
                }),
            }))
        }
        "push" => {
            let git_ref = event["ref"].as_str().ok_or(EventError::Missing("ref"))?;
            let sha = event["after"].as_str().ok_or(EventError::Missing("after"))?;
            let default_branch = event["repository"]["default_branch"]
                .as_str()
                .ok_or(EventError::Missing("repository.default_branch"))?;
            if event["deleted"] == true || git_ref != format!("refs/heads/{default_branch}") {
                return Ok(None);
            }
            Sha::parse(sha)?;
            Ok(Some(Outgoing {
                event_type: APPLY_EVENT,
                client_payload: json!({
                    "repository": repository,
                    "sha": sha,
                    "ref": git_ref,
                    "pull_request": null,
                    "event": "push",
                }),
            }))
        }
        "merge_group" => {
            if event["action"].as_str() != Some("checks_requested") {
                return Ok(None);
            }
            let group = &event["merge_group"];
            let sha = group["head_sha"].as_str().ok_or(EventError::Missing("merge_group.head_sha"))?;
            let head_ref = group["head_ref"].as_str().ok_or(EventError::Missing("merge_group.head_ref"))?;
            Sha::parse(sha)?;
            MergeQueue::from_ref(head_ref).ok_or(EventError::NotQueueRef)?;
            Ok(Some(Outgoing {
                event_type: PLAN_EVENT,
                client_payload: json!({
                    "repository": repository,
                    "sha": sha,
                    "ref": head_ref,
                    "pull_request": null,
                    "event": MERGE_GROUP,
                }),
            }))
        }
        other => {
            Err(EventError::Unsupported(crate::diagnostic::shown(other), "`pull_request`, `push` or `merge_group`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> Value {
        fake_github::example_event(name)
    }

    #[test]
    fn a_pull_request_dispatches_a_plan_with_exactly_five_keys() {
        let out = outgoing("pull_request", &shared("pull_request.opened.0.json")).expect("ok").expect("dispatch");
        assert_eq!(out.event_type, "infra-plan");
        assert_eq!(
            out.client_payload,
            json!({"repository": "codertocat/hello-world", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "ref": "refs/heads/changes", "pull_request": 2, "event": "pull_request"})
        );
    }

    #[test]
    fn a_closed_pull_request_and_a_tag_push_dispatch_nothing() {
        assert_eq!(outgoing("pull_request", &shared("pull_request.closed.1.json")).expect("ok"), None);
        assert_eq!(outgoing("push", &shared("push.0.json")).expect("ok"), None);
        assert_eq!(outgoing("push", &shared("push.1.json")).expect("ok"), None);
    }

    #[test]
    fn a_push_to_the_default_branch_dispatches_an_apply() {
        let mut event = shared("push.0.json");
        event["ref"] = json!("refs/heads/master");
        let out = outgoing("push", &event).expect("ok").expect("dispatch");
        assert_eq!(out.event_type, "infra-apply");
        assert_eq!(out.client_payload["pull_request"], Value::Null);
        assert_eq!(out.client_payload["sha"], "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    }

    #[test]
    fn a_merge_group_dispatches_a_plan_of_the_queue_commit_without_a_pull_request() {
        let out =
            outgoing("merge_group", &shared("merge_group.checks_requested.0.json")).expect("ok").expect("dispatch");
        assert_eq!(out.event_type, "infra-plan");
        assert_eq!(
            out.client_payload,
            json!({"repository": "octo-org/octo-repo", "sha": "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", "ref": "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", "pull_request": null, "event": "merge_group"})
        );
        let mut destroyed = shared("merge_group.checks_requested.0.json");
        destroyed["action"] = json!("destroyed");
        assert_eq!(outgoing("merge_group", &destroyed).expect("ok"), None);
    }

    #[test]
    fn a_merge_group_dispatch_names_its_queue_entry() {
        let mut event = shared("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!("infra-plan");
        let queue_ref = format!("refs/heads/gh-readonly-queue/release/v2/pr-104-{}", "b".repeat(40));
        event["client_payload"] = json!({"repository": "acme/web", "sha": "a".repeat(40), "ref": queue_ref, "pull_request": null, "event": "merge_group"});
        let d = parse_dispatch(&event).expect("valid");
        let queue = d.merge_queue.expect("a merge queue entry");
        assert_eq!((queue.base.as_str(), queue.pull_request, d.pull_request), ("release/v2", 104, None));

        let sha = "b".repeat(40);
        for bad in [
            "refs/heads/main".to_owned(),
            format!("refs/heads/gh-readonly-queue/main/pr-0-{sha}"),
            format!("refs/heads/gh-readonly-queue/main/pr-x-{sha}"),
            format!("refs/heads/gh-readonly-queue/../pr-1-{sha}"),
            format!("refs/heads/gh-readonly-queue/pr-1-{sha}"),
            "refs/heads/gh-readonly-queue/main/pr-1-HEAD".to_owned(),
        ] {
            event["client_payload"]["ref"] = json!(bad);
            assert!(matches!(parse_dispatch(&event), Err(EventError::NotQueueRef)), "{bad}");
        }
    }

    #[test]
    fn dispatch_payloads_are_validated() {
        let mut event = shared("repository_dispatch.on-demand-test.0.json");
        event["action"] = json!("infra-plan");
        event["client_payload"] =
            json!({"repository": "Acme/Web", "sha": "a".repeat(40), "pull_request": 7, "extra": "ignored"});
        let d = parse_dispatch(&event).expect("valid");
        assert_eq!((d.customer.to_string(), d.pull_request), ("acme/web".to_owned(), Some(7)));

        for (repository, sha) in [
            ("../x", "a".repeat(40)),
            ("acme/web/../../b", "a".repeat(40)),
            ("acme/web", "HEAD".to_owned()),
            ("acme/web", "../../etc".to_owned()),
        ] {
            event["client_payload"] = json!({"repository": repository, "sha": sha});
            assert!(parse_dispatch(&event).is_err(), "{repository} {sha}");
        }
        event["action"] = json!("on-demand-test");
        assert!(matches!(parse_dispatch(&event), Err(EventError::Unsupported(..))));
    }
}
