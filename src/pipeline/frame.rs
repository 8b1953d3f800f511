//! The frame around a flow's steps: the run record's lifecycle (started → outcome →
//! finished), the commit status (pending after a second → success or failure) and, with a GitHub App,
//! the check run of the same name (in progress → completed), written here and nowhere else.
//!
//! With an App the commit status stays: both carry the same name and verdict, set at the
//! same points, so a required check configured on either source (a status, or the App's
//! check run) keeps working, and switching from a token to an App needs no change to
//! branch protection.

use std::future::Future;

use super::{Deps, Request, now};
use crate::codehost::{CodeHostError, CommitStatus, StatusState};
use crate::error::CommandError;
use crate::error::Status;
use crate::limits::{RECORD_MESSAGE_CHARS, RECORD_OUTPUTS_CHARS, STATUS_DESCRIPTION_CHARS};
use crate::output;
use crate::report::{check_run, status_context, truncate_chars};
use crate::store::{HealthState, RunKind, RunRecord, RunStatus};

/// What a finished flow tells the frame: its counts for the record, its status line.
pub trait Finished {
    /// `(add, change, destroy)`.
    fn counts(&self) -> (u32, u32, u32);
    /// The commit status description on success.
    fn status_line(&self) -> String;
    /// The run record's message on success, when the outcome needs more than the counts
    /// (drift: drifted or in sync; apply: healthy).
    fn record_message(&self) -> Option<String> {
        None
    }
    /// The plan's text, for the check run's output.
    fn plan_text(&self) -> Option<&str> {
        None
    }
    /// Resources changed outside Terraform, for a re-plan of what was applied (`None` for
    /// other flows).
    fn changed_outside(&self) -> Option<u32> {
        None
    }
    /// What the health check after an apply found (`None` for other flows).
    fn health(&self) -> Option<HealthState> {
        None
    }
    /// The outputs not marked sensitive, as a JSON object (`None` for other flows).
    fn outputs(&self) -> Option<String> {
        None
    }
    /// The reviewed plan across the merge, as the record keeps it ([`super::reviewed`]).
    fn record_reviewed(&self, _governance: &mut crate::store::Governance) {}
    /// What the policies said and what it costs, as the record keeps it ([`crate::policy`]).
    fn record_policy(&self, _governance: &mut crate::store::Governance) {}
    /// The applied plan's digest, for the record (`None` for other flows).
    fn plan_sha256(&self) -> Option<String> {
        None
    }
    /// Whether a re-plan of what was applied found drift (`None` for other flows).
    fn drifted(&self) -> Option<bool> {
        None
    }
}

/// Which record a flow writes, and whether it reports a commit status.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: RunKind,
    /// The pending status description, set once the steps have taken a second
    /// ([`PENDING_AFTER`]); `None` for a flow that sets no status (drift).
    pub pending: Option<String>,
    /// When the target expires, as admission read it: for the notification of the week
    /// before ([`crate::notify`]).
    pub expires_at: Option<jiff::Timestamp>,
}

/// Runs `steps` inside the frame: the record is written as started, the pending status
/// set, then the steps run; their outcome sets the final status and finishes the record.
/// A run that can't record its start stops there (with a failure status): it would
/// otherwise act with no trace in `history` or `status`.
pub async fn framed<T: Finished>(
    deps: &Deps<'_>,
    frame: Frame,
    req: &Request,
    steps: impl Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    framed_with(deps, frame, req, crate::store::Governance::default(), steps).await
}

/// [`framed`] with what admission's governance found written into the record.
pub async fn framed_with<T: Finished>(
    deps: &Deps<'_>,
    frame: Frame,
    req: &Request,
    governance: crate::store::Governance,
    steps: impl Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    let mut record = new_record(deps, frame.kind, req);
    record.governance = governance;
    // An apply (and a destroy's apply) writes the state: its record keeps the version it
    // wrote, whether it then succeeded or not.
    let writes_state = frame.kind == RunKind::Apply;
    let state_before = match writes_state {
        true => super::state_versions::current(deps, &req.target).await,
        false => None,
    };
    if let Err(e) = deps.store.record_run(&record).await {
        let error = CommandError::from(e);
        if frame.pending.is_some()
            && let Err(e) = set_status(deps, req, StatusState::Failure, &error.status_line()).await
        {
            output::log(&format!("warning: could not set the failure status: {e}"));
        }
        return Err(error);
    }
    let check = match frame.pending {
        Some(_) => start_check(deps, req).await,
        None => None,
    };
    let (mut result, pending_unsure) = match &frame.pending {
        Some(pending) => pending_if_slow(deps, req, pending, steps).await,
        None => (steps.await, false),
    };
    if frame.pending.is_some() {
        result = final_status(deps, req, result, pending_unsure).await;
    }
    if let Some(id) = check {
        finish_check(deps, req, id, &result).await;
    }
    record.finished_at = Some(now());
    if writes_state {
        record.state = super::state_versions::written(deps, &req.target, state_before.as_ref()).await;
    }
    match &result {
        Ok(done) => {
            let (add, change, destroy) = done.counts();
            record.status = RunStatus::Succeeded;
            (record.add, record.change, record.destroy) = (Some(add), Some(change), Some(destroy));
            record.message = done.record_message().map(|m| truncate_chars(&m, RECORD_MESSAGE_CHARS));
            record.changed_outside = done.changed_outside();
            record.health = done.health();
            record.outputs = done.outputs().filter(|o| o.chars().count() <= RECORD_OUTPUTS_CHARS);
            done.record_reviewed(&mut record.governance);
            done.record_policy(&mut record.governance);
            record.governance.plan_sha256 = done.plan_sha256();
            record.drifted = done.drifted().filter(|_| frame.kind == RunKind::Drift);
        }
        Err(error) => {
            record.status = match error.status() {
                Status::Cancelled => RunStatus::Cancelled,
                _ => RunStatus::Failed,
            };
            record.message = Some(truncate_chars(&error.status_line(), RECORD_MESSAGE_CHARS));
            record.health = error.is_unhealthy().then_some(HealthState::Unhealthy);
            crate::policy::record(error.policy().and_then(|e| e.verdict()).as_ref(), &mut record.governance);
        }
    }
    let github = crate::github::budget::so_far();
    if github.calls > 0 {
        (record.github_calls, record.github_writes) = (Some(github.calls), Some(github.writes));
    }
    write_record(deps, &record).await;
    // Told once the record is written: the next run decides its own transitions from it.
    if let Some(told) = crate::notify::after_run(deps, req, &record, frame.expires_at).await {
        record.notifications = Some(truncate_chars(&told, RECORD_MESSAGE_CHARS));
        write_record(deps, &record).await;
    }
    result
}

/// How long the steps may take before the pending status is set: a run that ends sooner
/// goes straight to its final status (one call instead of two, issue 23 item 4).
const PENDING_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `steps`, setting the pending status only once they have taken [`PENDING_AFTER`]
/// (the steps go on meanwhile; the final status always comes after it). Returns their result
/// and whether the pending status is unsure (GitHub did not take it: it may land late).
async fn pending_if_slow<T>(
    deps: &Deps<'_>,
    req: &Request,
    pending: &str,
    steps: impl Future<Output = T>,
) -> (T, bool) {
    let mut steps = std::pin::pin!(steps);
    tokio::select! {
        biased;
        done = &mut steps => return (done, false),
        () = tokio::time::sleep(PENDING_AFTER) => {}
    }
    let pending = async {
        // The pending status only says the run started: one GitHub can't take now must not
        // stop the run, whose final status is delivered with a budget of its own. GitHub may
        // still carry it out later, over the final one: that is read back after it.
        let set = set_status(deps, req, StatusState::Pending, pending).await;
        set.map_err(|e| output::log(&format!("warning: could not set the pending status: {e}"))).is_err()
    };
    tokio::join!(steps, pending)
}

/// The failure status of a run that stopped before it could be recorded (the store can't
/// be read); a status that can't be set either is logged.
pub(super) async fn report_unrecorded(deps: &Deps<'_>, req: &Request, error: &CommandError) {
    if let Err(e) = set_status(deps, req, StatusState::Failure, &error.status_line()).await {
        output::log(&format!("warning: could not set the failure status: {e}"));
    }
}

/// How long the final status may take in all, across GitHub's bursts of 5xx and rate
/// limits that outlast one call's own retries: the commit must not stay `pending`. A
/// signal cuts it short (the runner's cancel window is 10 seconds).
const FINAL_STATUS_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// [`set_status`] for the final status: tried again while GitHub is unavailable, within
/// [`FINAL_STATUS_BUDGET`] and until the run is cancelled.
async fn deliver(deps: &Deps<'_>, req: &Request, state: StatusState, description: &str) -> Result<(), CommandError> {
    let started = std::time::Instant::now();
    loop {
        match set_status(deps, req, state, description).await {
            Err(CommandError::CodeHost(CodeHostError::Unavailable { .. }))
                if started.elapsed() < FINAL_STATUS_BUDGET && !deps.cancel.is_cancelled() =>
            {
                output::log("warning: GitHub did not take the final status; trying again");
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
                    () = deps.cancel.cancelled() => {}
                }
            }
            other => return other,
        }
    }
}

/// Success or failure status; a success status that can't be set fails the run (the
/// customer would otherwise wait on `pending`), a failure status that can't be set is logged.
async fn final_status<T: Finished>(
    deps: &Deps<'_>,
    req: &Request,
    result: Result<T, CommandError>,
    pending_unsure: bool,
) -> Result<T, CommandError> {
    let result = match result {
        Ok(done) => match deliver(deps, req, StatusState::Success, &done.status_line()).await {
            Ok(()) => {
                if pending_unsure {
                    read_back(deps, req, StatusState::Success, &done.status_line()).await;
                }
                return Ok(done);
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    // A cancelled run is GitHub's `error` (the check did not run to a verdict).
    let state = |error: &CommandError| match error.status() {
        Status::Cancelled => StatusState::Error,
        _ => StatusState::Failure,
    };
    if let Err(error) = &result {
        match deliver(deps, req, state(error), &error.status_line()).await {
            Ok(()) if pending_unsure => read_back(deps, req, state(error), &error.status_line()).await,
            Ok(()) => {}
            Err(e) => output::log(&format!("warning: could not set the failure status: {e}")),
        }
    }
    result
}

/// After a pending status GitHub did not acknowledge (it may carry it out late, over the
/// final one): reads the context's newest status back and writes the final one again if
/// something else is newest. Best effort: the final status was delivered once.
async fn read_back(deps: &Deps<'_>, req: &Request, state: StatusState, description: &str) {
    let context = status_context(req.target.env.as_str());
    match deps.reporter.latest_status(&req.target.owner, req.reported_sha(), &context).await {
        Ok(Some(latest)) if latest != state => {
            output::log(&format!(
                "a late `{}` status overtook the final one; setting it again",
                crate::report::name_of(&latest)
            ));
            if let Err(e) = deliver(deps, req, state, description).await {
                output::log(&format!("warning: could not set the final status again: {e}"));
            }
        }
        Ok(_) => {}
        Err(e) => output::log(&format!("warning: could not read the final status back: {e}")),
    }
}

async fn set_status(deps: &Deps<'_>, req: &Request, state: StatusState, description: &str) -> Result<(), CommandError> {
    let status = CommitStatus {
        state,
        context: status_context(req.target.env.as_str()),
        description: truncate_chars(description, STATUS_DESCRIPTION_CHARS),
        target_url: deps.run_url.clone(),
    };
    Ok(deps.reporter.set_status(&req.target.owner, req.reported_sha(), &status).await?)
}

/// The run's check run, in progress; `None` without one (no App, local mode), or when it
/// can't be created (logged: the commit status still reports the run).
async fn start_check(deps: &Deps<'_>, req: &Request) -> Option<u64> {
    let name = status_context(req.target.env.as_str());
    match deps.reporter.start_check(&req.target.owner, req.reported_sha(), &name, deps.run_url.as_deref()).await {
        Ok(id) => id,
        Err(e) => {
            output::log(&format!("warning: could not create the check run: {e}"));
            None
        }
    }
}

/// Completes the check run with the run's outcome; a failure to do so is logged.
async fn finish_check<T: Finished>(deps: &Deps<'_>, req: &Request, id: u64, result: &Result<T, CommandError>) {
    let run_url = deps.run_url.as_deref();
    let report = match result {
        Ok(done) => check_run::finished(done.counts(), &done.status_line(), done.plan_text(), run_url),
        Err(error) => {
            let text = match error.hint() {
                Some(hint) => format!("{error}\nhint: {hint}"),
                None => error.to_string(),
            };
            let cancelled = error.status() == Status::Cancelled;
            check_run::failed(cancelled, &error.status_line(), &text, error.diagnostics())
        }
    };
    if let Err(e) = deps.reporter.finish_check(&req.target.owner, id, &report).await {
        output::log(&format!("warning: could not complete the check run: {e}"));
    }
}

/// The record a run of `kind` starts with: who runs it, and what its revision is.
pub(crate) fn new_record(deps: &Deps<'_>, kind: RunKind, req: &Request) -> RunRecord {
    let mut record = RunRecord::started(kind, &req.target, &req.sha, req.pull_request, deps.run_url.clone());
    record.revision = deps.files.revision(&req.target.owner, &req.sha);
    deps.identity.stamp(&mut record);
    record
}

/// The outcome of a run that has acted: a failure to record it can't undo the run, so it
/// is logged as an error and the run's own outcome stands.
async fn write_record(deps: &Deps<'_>, record: &RunRecord) {
    if let Err(e) = deps.store.record_run(record).await {
        output::log(&format!(
            "error: could not record the run's outcome ({}): {e}",
            crate::report::name_of(&record.status)
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::pipeline::testing::Harness;

    struct Done;

    impl Finished for Done {
        fn counts(&self) -> (u32, u32, u32) {
            (0, 0, 0)
        }

        fn status_line(&self) -> String {
            "No changes".to_owned()
        }
    }

    /// A plan's frame around steps that take `took`; the statuses it set, and how long it ran.
    async fn frame_steps_taking(took: Duration) -> (Vec<StatusState>, Duration) {
        let h = Harness::new();
        let frame = Frame { kind: RunKind::Plan, pending: Some("Planning…".to_owned()), expires_at: None };
        let started = tokio::time::Instant::now();
        let steps = async {
            tokio::time::sleep(took).await;
            Ok(Done)
        };
        framed(&h.deps(), frame, &h.request(), steps).await.expect("framed");
        (h.host.states(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_that_ends_within_a_second_sets_only_its_final_status() {
        let (states, _) = frame_steps_taking(Duration::from_millis(900)).await;
        assert_eq!(states, [StatusState::Success]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slower_run_sets_pending_after_a_second_while_its_steps_go_on() {
        let (states, took) = frame_steps_taking(Duration::from_secs(5)).await;
        assert_eq!(states, [StatusState::Pending, StatusState::Success]);
        assert_eq!(took.as_secs(), 5, "the pending status did not hold the steps up: {took:?}");
    }
}
