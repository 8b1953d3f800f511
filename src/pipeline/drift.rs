//! The drift flow: re-plan the configuration of the commit last *applied* to a target
//! (never a pull request's plan), without applying, and say whether the real state has
//! moved away from it. Nothing is written to customer repos.

use serde::Serialize;

use super::admit::Admitted;
use super::frame::{Finished, Frame, framed};
use super::prepare::prepare;
use super::{Deps, Request};
use crate::error::CommandError;
use crate::identity::Target;
use crate::limits::RECORD_MESSAGE_CHARS;
use crate::report::truncate_chars;
use crate::store::RunKind;
use crate::terraform::summary::{PlanSummary, ResourceChange, summarize_saved};
use crate::terraform::{PlanDetail, PlanKind, TerraformError};

/// At most this many resources changed outside Terraform are kept per result (the count
/// is always whole).
pub const MAX_LISTED_DRIFT: usize = 100;

/// The drift plan's file name inside the working directory.
const DRIFT_PLAN_FILE: &str = "infra-manager-drift.tfplan";

/// What drift found for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    InSync,
    Drifted,
    /// Nothing was ever applied to the target: there is nothing to drift from.
    NeverApplied,
    Error,
}

/// The result for one target.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DriftResult {
    pub customer: String,
    pub environment: String,
    pub sha: Option<String>,
    pub result: DriftState,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    /// Resources changed outside Terraform (`resource_drift`).
    pub changed_outside: u32,
    /// Which ones (the first [`MAX_LISTED_DRIFT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<ResourceChange>,
    pub message: Option<String>,
}

/// A plan made only to be looked at (drift, fleet re-plans): never stored.
pub(super) struct Replanned(pub(super) PlanSummary);

impl Finished for Replanned {
    fn counts(&self) -> (u32, u32, u32) {
        (self.0.add, self.0.change, self.0.destroy)
    }

    fn status_line(&self) -> String {
        self.0.status_description()
    }

    fn changed_outside(&self) -> Option<u32> {
        Some(self.0.drift)
    }

    /// What drift found, for `history`: the run succeeded either way.
    fn record_message(&self) -> Option<String> {
        let s = &self.0;
        Some(if is_drift(s) {
            format!(
                "drifted: {} changed outside Terraform; {} to add, {} to change, {} to destroy",
                s.drift, s.add, s.change, s.destroy
            )
        } else {
            "in sync".to_owned()
        })
    }
}

/// Whether a re-plan of what was applied finds drift: changes to make, or changes made
/// outside Terraform.
fn is_drift(summary: &PlanSummary) -> bool {
    summary.has_changes() || summary.drift > 0
}

impl DriftState {
    /// What the drift check a `record` keeps found: the same rule as [`is_drift`], read
    /// from the counts and `changed_outside` (never from the message). `None` for a record
    /// that is not a finished drift check.
    pub fn of_record(record: &crate::store::RunRecord) -> Option<Self> {
        use crate::store::RunStatus;
        if record.kind != RunKind::Drift {
            return None;
        }
        match record.status {
            RunStatus::Started => None,
            RunStatus::Failed | RunStatus::Cancelled => Some(Self::Error),
            RunStatus::Succeeded => {
                let counts = [record.add, record.change, record.destroy, record.changed_outside];
                Some(if counts.iter().any(|n| n.unwrap_or(0) > 0) { Self::Drifted } else { Self::InSync })
            }
        }
    }
}

/// Checks one target against the configuration of the commit last applied to it. Never
/// fails: an error is this target's result, and the others go on.
pub async fn check(deps: &Deps<'_>, target: &Target) -> DriftResult {
    let result = DriftResult {
        customer: target.owner.to_string(),
        environment: target.env.to_string(),
        sha: None,
        result: DriftState::NeverApplied,
        add: 0,
        change: 0,
        destroy: 0,
        changed_outside: 0,
        outside: Vec::new(),
        message: None,
    };
    let error = |message: String, result: DriftResult| DriftResult {
        result: DriftState::Error,
        message: Some(message),
        ..result
    };
    let sha = match super::admit::last_applied(deps.store, target).await {
        Ok(Some(applied)) => applied.sha,
        Ok(None) => return result,
        Err(e) => return error(e.status_line(), result),
    };
    let result = DriftResult { sha: Some(sha.to_string()), ..result };
    let req = Request::new(target.clone(), sha);
    let admitted = match super::admit::admit(deps, &req, super::admit::Intent::Drift).await {
        Ok(admitted) => admitted,
        Err(e) => return error(truncate_chars(&e.status_line(), RECORD_MESSAGE_CHARS), result),
    };
    let frame = Frame { kind: RunKind::Drift, pending: None };
    match framed(deps, frame, &req, replan(deps, &req, admitted)).await {
        Ok(Replanned(summary)) => DriftResult {
            result: if is_drift(&summary) { DriftState::Drifted } else { DriftState::InSync },
            add: summary.add,
            change: summary.change,
            destroy: summary.destroy,
            changed_outside: summary.drift,
            outside: summary.drifted.into_iter().take(MAX_LISTED_DRIFT).collect(),
            ..result
        },
        Err(e) => error(truncate_chars(&e.to_string(), RECORD_MESSAGE_CHARS), result),
    }
}

/// `init` and `plan` only: drift needs the counts, never the plan text (no `show`).
pub(super) async fn replan(deps: &Deps<'_>, req: &Request, admitted: Admitted) -> Result<Replanned, CommandError> {
    let file = admitted.file.unwrap_or_else(|| unreachable!("a re-plan's admission reads the file"))?;
    let prepared = prepare(deps, req, &file).await?;
    let dir = prepared.workspace.path();
    let saved = deps.terraform.plan(dir, DRIFT_PLAN_FILE, PlanKind::Update, PlanDetail::Counts).await;
    prepared.workspace.remove_file(DRIFT_PLAN_FILE)?;
    let saved = saved?;
    let summary = summarize_saved(&saved);
    if summary.errored() || summary.incomplete() {
        return Err(TerraformError::PlanErrored { plan: Box::new(saved), details: Vec::new() }.into());
    }
    Ok(Replanned(summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunRecord, RunStatus};

    /// A drift record says drifted when the re-plan had changes or found changes made
    /// outside Terraform (which a plan without changes still reports), read from its fields.
    #[test]
    fn a_drift_record_tells_its_state_from_its_counts_and_changed_outside() {
        let record = |status: RunStatus, counts: (u32, u32), outside: Option<u32>| RunRecord {
            add: Some(counts.0),
            change: Some(counts.1),
            destroy: Some(0),
            changed_outside: outside,
            ..RunRecord::empty(RunKind::Drift, status)
        };
        let state = |r: &RunRecord| DriftState::of_record(r);
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), Some(0))), Some(DriftState::InSync));
        assert_eq!(state(&record(RunStatus::Succeeded, (1, 0), Some(0))), Some(DriftState::Drifted));
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), Some(2))), Some(DriftState::Drifted), "outside only");
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), None)), Some(DriftState::InSync), "an older record");
        assert_eq!(state(&record(RunStatus::Failed, (0, 0), None)), Some(DriftState::Error));
        assert_eq!(state(&record(RunStatus::Started, (0, 0), None)), None, "still running");
        let apply = RunRecord { add: Some(3), ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded) };
        assert_eq!(state(&apply), None, "not a drift check");
    }
}
