//! `drift --open-issues`: one issue per drifted target in the manager repository, kept in
//! step with each drift check (issue 11).
//!
//! A target's issue is the oldest open issue labelled [`LABEL`] that the service itself
//! opened and whose body starts with the target's marker ([`body::marker`]); the
//! [`IssueTracker`] lists only the service's own issues. What each result does to it is
//! decided first, without side effects ([`plan`]), then carried out ([`sync`]):
//!
//! | result | no open issue | open issue |
//! | --- | --- | --- |
//! | drifted | open one | edit it in place (title and body) when the drift changed |
//! | in sync | nothing | close it (the body says it is back in sync) |
//! | error, never applied | nothing | leave it as it is: nothing new is known |
//!
//! So a run writes only on a transition: an issue opened, edited because what drifted
//! changed (never for the run link or time alone), or closed. A run where nothing drifted
//! and no issue is open makes one call, the listing.
//!
//! A target whose issue was closed earlier and that drifts again gets a **new** issue
//! (closed issues are not listed): each episode of drift has its own history. An open issue
//! of a target the run did not check (another `--customer`, a target removed from the
//! registry) is never touched.

pub mod body;

use crate::codehost::{CodeHostError, IssueEdit, IssueTracker, TrackedIssue};
use crate::context::Context;
use crate::error::CommandError;
use crate::github::GithubIssues;
use crate::output;
use crate::pipeline::drift::{DriftResult, DriftState};

/// The label every drift issue carries; only open issues with it are looked at.
pub const LABEL: &str = "infra-drift";

/// What to do to one target's issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Open {
        title: String,
        body: String,
    },
    Edit {
        number: u64,
        title: String,
        body: String,
    },
    Close {
        number: u64,
        title: String,
        body: String,
    },
    /// The issue already says this.
    Unchanged {
        number: u64,
    },
    /// The target could not be checked (or was never applied): its issue stays as it is.
    Leave {
        number: u64,
    },
}

/// One target's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub customer: String,
    pub environment: String,
    pub step: Step,
}

/// What a sync did, by issue number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    pub opened: Vec<u64>,
    pub edited: Vec<u64>,
    pub closed: Vec<u64>,
    /// Left as they are: already up to date, or their target was in error.
    pub left: Vec<u64>,
}

/// The tracker for `drift --open-issues`: the issues of the manager repository
/// (`GITHUB_REPOSITORY`) through the GitHub client. Refused before any drift check when
/// the repository is not known.
pub async fn tracker<'c>(ctx: &'c Context<'_>) -> Result<GithubIssues<'c>, CommandError> {
    let Some(repo) = ctx.settings.runner.repository.as_deref().filter(|r| !r.is_empty()) else {
        return Err(CommandError::usage(
            "`--open-issues` needs the manager repository to open issues in",
            "set GITHUB_REPOSITORY to `owner/name` (GitHub Actions sets it)",
        ));
    };
    Ok(ctx.github().await?.issues(repo)?)
}

/// Decides each checked target's step from its result and the open drift issues.
pub fn plan(results: &[DriftResult], open: &[TrackedIssue], run_url: Option<&str>) -> Vec<Planned> {
    results
        .iter()
        .filter_map(|r| {
            let marker = body::marker(&r.customer, &r.environment);
            let issue = open.iter().filter(|i| i.body.starts_with(&marker)).min_by_key(|i| i.number);
            let step = match (r.result, issue) {
                (DriftState::Drifted, None) => Step::Open { title: body::title(r), body: body::drifted(r, run_url) },
                (DriftState::Drifted, Some(issue)) => {
                    // Edited when what it says of the drift changed, not for a new run's link.
                    let title = body::title(r);
                    if issue.title == title && body::says(&issue.body, &body::drifted_content(r)) {
                        Step::Unchanged { number: issue.number }
                    } else {
                        Step::Edit { number: issue.number, title, body: body::drifted(r, run_url) }
                    }
                }
                (DriftState::InSync, Some(issue)) => {
                    Step::Close { number: issue.number, title: body::title(r), body: body::back_in_sync(r, run_url) }
                }
                (DriftState::Error | DriftState::NeverApplied, Some(issue)) => Step::Leave { number: issue.number },
                (_, None) => return None,
            };
            Some(Planned { customer: r.customer.clone(), environment: r.environment.clone(), step })
        })
        .collect()
}

/// Brings the manager repository's drift issues in step with `results`. Every step is
/// tried; a step that fails is logged and the first failure is returned after the rest.
pub async fn sync(
    results: &[DriftResult],
    tracker: &dyn IssueTracker,
    run_url: Option<&str>,
) -> Result<Synced, CodeHostError> {
    let open = tracker.open_issues(LABEL).await?;
    let mut synced = Synced::default();
    let mut first_failure = None;
    for planned in plan(results, &open, run_url) {
        let target = format!("{} {}", planned.customer, planned.environment);
        let done = match planned.step {
            Step::Open { title, body } => tracker.create_issue(&title, &body, LABEL).await.map(|number| {
                output::log(&format!("drift issue #{number} opened for {target}"));
                synced.opened.push(number);
            }),
            Step::Edit { number, title, body } => {
                tracker.edit_issue(number, &IssueEdit { title, body, close: None }).await.map(|()| {
                    output::log(&format!("drift issue #{number} updated for {target}"));
                    synced.edited.push(number);
                })
            }
            Step::Close { number, title, body } => {
                tracker.edit_issue(number, &IssueEdit { title, body, close: Some(true) }).await.map(|()| {
                    output::log(&format!("drift issue #{number} closed: {target} is back in sync"));
                    synced.closed.push(number);
                })
            }
            Step::Unchanged { number } | Step::Leave { number } => {
                synced.left.push(number);
                Ok(())
            }
        };
        if let Err(e) = done {
            output::log(&format!("warning: could not update the drift issue of {target}: {e}"));
            first_failure.get_or_insert(e);
        }
    }
    match first_failure {
        Some(e) => Err(e),
        None => Ok(synced),
    }
}

#[cfg(test)]
mod tests;
