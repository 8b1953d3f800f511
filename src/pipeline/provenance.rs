//! Binding a dispatch to the customer's repository: the payload's SHA and PR number are
//! claims anyone holding a dispatch token can make, so they are checked against GitHub
//! before anything is written. A plan runs only for the head of an open pull request of
//! that repository, or for a merge queue's commit that holds a pull request's head on top
//! of the default branch's head; an apply only for the head of its default branch, and
//! only for a commit that descends from the last one applied to the target (no replay of
//! old configuration).

use crate::cli::Verb;
use crate::codehost::Provenance;
use crate::error::CommandError;
use crate::event::{APPLY_EVENT, Dispatch, MergeQueue, PLAN_EVENT};
use crate::identity::Target;
use crate::oidc;
use crate::refusal::Refusal;
use crate::store::Store;

/// What the dispatch was checked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// The head of this open pull request.
    PullRequest { number: u64, merge_commit: Option<crate::identity::Sha> },
    /// The head of the default branch.
    DefaultBranch { branch: String },
    /// A merge queue's commit, on this queue branch (`refs/heads/gh-readonly-queue/…`).
    MergeQueue { git_ref: String },
}

/// What an OIDC check needs besides the dispatch.
#[derive(Debug, Clone)]
pub struct OidcCheck<'a> {
    pub issuer: &'a str,
    /// The manager repository, `owner/name`: the token's audience.
    pub audience: &'a str,
    /// The trigger workflow's path in the customer repository.
    pub trigger_workflow: &'a str,
}

/// Verifies the dispatch's OIDC token: issued by GitHub Actions to the customer's trigger
/// workflow, for this manager, for the very commit and ref the dispatch was bound to.
pub async fn verify_oidc(check: &OidcCheck<'_>, dispatch: &Dispatch, bound: &Bound) -> Result<(), CommandError> {
    let token =
        dispatch.oidc_token.as_deref().ok_or_else(|| Refusal::OidcMissing { customer: dispatch.customer.clone() })?;
    // A pull_request run's token names the PR's test merge commit and ref.
    let (sha, git_ref) = match bound {
        Bound::PullRequest { number, merge_commit } => {
            let merge = merge_commit.as_ref().ok_or_else(|| Refusal::OidcRejected {
                reason: format!("pull request #{number} has no test merge commit to compare the token with"),
            })?;
            (merge.to_string(), format!("refs/pull/{number}/merge"))
        }
        Bound::DefaultBranch { branch } => (dispatch.sha.to_string(), format!("refs/heads/{branch}")),
        // A merge_group run's token names the queue commit and the queue branch.
        Bound::MergeQueue { git_ref } => (dispatch.sha.to_string(), git_ref.clone()),
    };
    let customer = dispatch.customer.to_string();
    let job_workflow_ref = format!("{customer}/{}@{git_ref}", check.trigger_workflow);
    let expected =
        oidc::Expected::new(check.audience, &customer, sha, git_ref, job_workflow_ref).with_issuer(check.issuer);
    let jwks = oidc::fetch_jwks(check.issuer).await?;
    oidc::verify(token, &jwks, &expected, jiff::Timestamp::now())
        .map_err(|e| Refusal::OidcRejected { reason: e.to_string() })?;
    Ok(())
}

/// A merge queue's commit: the queued pull request is open, the queue is for the default
/// branch, the commit is the head of the queue branch the ref names (GitHub resolves a SHA
/// across the whole fork network, so only a branch head says the commit is in this
/// repository's queue), and it holds both the pull request's head and the default branch's
/// head (the queue builds on it, and a queue that merged an earlier entry moved the branch
/// to an ancestor). It is only ever planned, never applied from this dispatch.
async fn bind_merge_queue(
    github: &dyn Provenance,
    dispatch: &Dispatch,
    queue: &MergeQueue,
) -> Result<Bound, CommandError> {
    let repo = &dispatch.customer;
    let number = queue.pull_request;
    let pull = github
        .pull_request(repo, number)
        .await?
        .filter(|pull| pull.base_repo == repo.to_string())
        .ok_or_else(|| Refusal::PullNotInRepo { customer: repo.clone(), number })?;
    let refuse = |reason: String| Refusal::NotQueueCommit { sha: dispatch.sha.clone(), reason };
    if !pull.open {
        return Err(refuse(format!("pull request #{number} is closed, and only an open pull request is queued")).into());
    }
    let branch = github.default_branch(repo).await?;
    if queue.base != branch.name {
        return Err(refuse(format!("its queue is not for the default branch `{}`", branch.name)).into());
    }
    let queue_branch = queue.git_ref.strip_prefix("refs/heads/").unwrap_or(&queue.git_ref);
    match github.branch_head(repo, queue_branch).await? {
        None => {
            return Err(refuse(format!("`{queue_branch}` is not a branch of {repo} (the entry left the queue)")).into());
        }
        Some(head) if head != dispatch.sha => {
            return Err(refuse(format!("it is not the head of `{queue_branch}` (its head is {})", head.short())).into());
        }
        Some(_) => {}
    }
    if !github.descends_from(repo, &pull.head_sha, &dispatch.sha).await? {
        return Err(refuse(format!(
            "it does not contain {}, the head of pull request #{number}",
            pull.head_sha.short()
        ))
        .into());
    }
    if !github.descends_from(repo, &branch.head, &dispatch.sha).await? {
        return Err(refuse(format!("it is not built on {}, the head of `{}`", branch.head.short(), branch.name)).into());
    }
    Ok(Bound::MergeQueue { git_ref: queue.git_ref.clone() })
}

/// Checks `dispatch` for `verb` on `target`; refuses (exit 2, nothing written) unless the
/// repository vouches for it.
pub async fn bind(
    github: &dyn Provenance,
    store: &dyn Store,
    dispatch: &Dispatch,
    target: &Target,
    verb: Verb,
) -> Result<Bound, CommandError> {
    let repo = &dispatch.customer;
    match dispatch.event_type.as_str() {
        PLAN_EVENT => {
            if verb == Verb::Apply {
                return Err(Refusal::ApplyFromPullRequest.into());
            }
            if let Some(queue) = &dispatch.merge_queue {
                return bind_merge_queue(github, dispatch, queue).await;
            }
            let number = dispatch.pull_request.ok_or(Refusal::NoPullRequest)?;
            let pull = github
                .pull_request(repo, number)
                .await?
                .filter(|pull| pull.base_repo == repo.to_string())
                .ok_or_else(|| Refusal::PullNotInRepo { customer: repo.clone(), number })?;
            if !pull.open {
                return Err(Refusal::PullClosed { customer: repo.clone(), number }.into());
            }
            if pull.head_sha != dispatch.sha {
                return Err(Refusal::NotPullHead { number, sha: dispatch.sha.clone(), head: pull.head_sha }.into());
            }
            Ok(Bound::PullRequest { number, merge_commit: pull.merge_commit_sha })
        }
        APPLY_EVENT => {
            let branch = github.default_branch(repo).await?;
            if branch.head != dispatch.sha {
                return Err(Refusal::NotDefaultHead {
                    customer: repo.clone(),
                    branch: branch.name,
                    sha: dispatch.sha.clone(),
                    head: branch.head,
                }
                .into());
            }
            if let Some(ancestor) = super::admit::last_applied(store, target).await?.map(|a| a.sha)
                && ancestor != dispatch.sha
                && !github.descends_from(repo, &ancestor, &dispatch.sha).await?
            {
                return Err(Refusal::NotDescendant {
                    target: target.clone(),
                    sha: dispatch.sha.clone(),
                    applied: ancestor.to_string(),
                }
                .into());
            }
            Ok(Bound::DefaultBranch { branch: branch.name })
        }
        // parse_dispatch accepts only the two event types.
        other => Err(CommandError::usage(
            format!("dispatch event `{other}` is not one infra-manager runs"),
            "send `infra-plan` or `infra-apply` with `infra-manager dispatch`",
        )),
    }
}
