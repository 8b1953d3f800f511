//! Where a target's latest change is: its steps `requested → validated → planned →
//! applying → applied → healthy` (`destroyed` for a destroy), or `failed` / `cancelled`,
//! each with its time, read from the run records of its plan and of the apply of that
//! plan. Fleet re-plans and drift checks are never a change: only plans, destroys and
//! applies are read. Pure: the records come in,
//! the status goes out.

use serde::Serialize;

use crate::store::{HealthState, RunKind, RunRecord, RunStatus};

/// One step of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Requested,
    Validated,
    Planned,
    Applying,
    Applied,
    Healthy,
    /// The change applied was a destroy: the environment holds nothing any more.
    Destroyed,
    Failed,
    Cancelled,
    /// A provisioning request whose file was changed again before any run carried it out.
    Superseded,
    /// A provisioning request whose commit is on no branch (its review closed unmerged).
    NotMerged,
}

/// A step and when it was reached (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepAt {
    pub step: Step,
    pub at: String,
}

/// The latest change of one (customer or tenant, environment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    pub customer: String,
    pub environment: String,
    pub sha: String,
    /// What `sha` is: a commit, or a local file's digest.
    #[serde(skip_serializing_if = "crate::store::Revision::is_commit")]
    pub revision: crate::store::Revision,
    /// The last of `steps`.
    pub current: Step,
    pub steps: Vec<StepAt>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// After an apply: the outputs not marked sensitive.
    pub outputs: Option<serde_json::Value>,
    /// The workflow run of the latest step.
    pub run_url: Option<String>,
}

/// The status of the latest change among one target's `records` (newest first): the newest
/// plan or apply names the commit; that commit's newest plan, and the apply after it, give
/// the steps. `None` when the target has no plan or apply on record.
pub fn of_target(records: &[RunRecord]) -> Option<TargetStatus> {
    let is_plan = |r: &RunRecord| matches!(r.kind, RunKind::Plan | RunKind::Destroy);
    let latest = records.iter().find(|r| is_plan(r) || r.kind == RunKind::Apply)?;
    let plan = records.iter().find(|r| is_plan(r) && r.sha == latest.sha);
    let apply = records
        .iter()
        .filter(|r| r.kind == RunKind::Apply && r.sha == latest.sha)
        .find(|r| plan.is_none_or(|p| r.started_at >= p.started_at));
    let mut status = TargetStatus {
        customer: latest.customer.clone(),
        environment: latest.environment.clone(),
        sha: latest.sha.clone(),
        revision: latest.revision,
        current: Step::Requested,
        steps: Vec::new(),
        error: None,
        outputs: None,
        run_url: latest.run_url.clone(),
    };
    if let Some(plan) = plan {
        status.reach(Step::Requested, &plan.started_at);
        match (plan.status, &plan.finished_at) {
            (RunStatus::Succeeded, Some(at)) => {
                // A plan is stored only after its file validated: both end with the plan.
                status.reach(Step::Validated, at);
                status.reach(Step::Planned, at);
            }
            (RunStatus::Failed | RunStatus::Cancelled, _) => return Some(status.ended(plan)),
            _ => {}
        }
    }
    if let Some(apply) = apply {
        status.reach(Step::Applying, &apply.started_at);
        status.outputs = apply.outputs.as_deref().and_then(|o| serde_json::from_str(o).ok());
        status.run_url.clone_from(&apply.run_url);
        let at = apply.finished_at.as_deref().unwrap_or(&apply.started_at);
        match apply.status {
            RunStatus::Succeeded if plan.is_some_and(|p| p.kind == RunKind::Destroy) => {
                status.reach(Step::Destroyed, at);
            }
            RunStatus::Succeeded => {
                status.reach(Step::Applied, at);
                if apply.health == Some(HealthState::Healthy) {
                    status.reach(Step::Healthy, at);
                }
            }
            RunStatus::Failed if apply.health == Some(HealthState::Unhealthy) => {
                // Applied, but the service never came up.
                status.reach(Step::Applied, at);
                return Some(status.ended(apply));
            }
            RunStatus::Failed | RunStatus::Cancelled => return Some(status.ended(apply)),
            RunStatus::Started => {}
        }
    }
    Some(status)
}

impl TargetStatus {
    fn reach(&mut self, step: Step, at: &str) {
        self.current = step;
        self.steps.push(StepAt { step, at: at.to_owned() });
    }

    /// The run `record` failed or was cancelled: its step, time and message end the status.
    fn ended(mut self, record: &RunRecord) -> Self {
        let step = if record.status == RunStatus::Cancelled { Step::Cancelled } else { Step::Failed };
        self.reach(step, record.finished_at.as_deref().unwrap_or(&record.started_at));
        self.error.clone_from(&record.message);
        self.run_url.clone_from(&record.run_url);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: RunKind, status: RunStatus, started: &str, finished: Option<&str>) -> RunRecord {
        RunRecord {
            run_id: format!("{started}#1"),
            customer: "tenants/acme".into(),
            environment: "staging".into(),
            sha: "a".repeat(40),
            started_at: started.into(),
            finished_at: finished.map(Into::into),
            ..RunRecord::empty(kind, status)
        }
    }

    fn steps(s: &TargetStatus) -> Vec<Step> {
        s.steps.iter().map(|s| s.step).collect()
    }

    #[test]
    fn a_change_that_ends_healthy_has_every_step_with_its_time_and_the_outputs() {
        let plan = record(RunKind::Plan, RunStatus::Succeeded, "2026-12-02T10:00:00Z", Some("2026-12-02T10:01:00Z"));
        let apply = RunRecord {
            health: Some(HealthState::Healthy),
            outputs: Some(r#"{"poc_service_url":"https://acme.example"}"#.into()),
            ..record(RunKind::Apply, RunStatus::Succeeded, "2026-12-02T10:02:00Z", Some("2026-12-02T10:03:00Z"))
        };
        let status = of_target(&[apply, plan]).expect("a status");
        assert_eq!(
            steps(&status),
            [Step::Requested, Step::Validated, Step::Planned, Step::Applying, Step::Applied, Step::Healthy]
        );
        assert_eq!(status.current, Step::Healthy);
        assert_eq!(status.steps[3].at, "2026-12-02T10:02:00Z");
        assert_eq!(status.outputs, Some(serde_json::json!({"poc_service_url": "https://acme.example"})));
        assert_eq!(status.error, None);
    }

    #[test]
    fn a_health_check_that_never_passes_is_applied_then_failed_with_its_error() {
        let plan = record(RunKind::Plan, RunStatus::Succeeded, "2026-12-02T10:00:00Z", Some("2026-12-02T10:01:00Z"));
        let apply = RunRecord {
            health: Some(HealthState::Unhealthy),
            message: Some("Failed: applied, but unhealthy: https://x/ answered 503".into()),
            ..record(RunKind::Apply, RunStatus::Failed, "2026-12-02T10:02:00Z", Some("2026-12-02T10:09:00Z"))
        };
        let status = of_target(&[apply, plan]).expect("a status");
        assert_eq!(
            steps(&status),
            [Step::Requested, Step::Validated, Step::Planned, Step::Applying, Step::Applied, Step::Failed]
        );
        assert!(status.error.as_deref().is_some_and(|e| e.contains("unhealthy")));
    }

    #[test]
    fn in_progress_failed_and_cancelled_plans_and_a_newer_commit() {
        let started = record(RunKind::Plan, RunStatus::Started, "2026-12-02T10:00:00Z", None);
        assert_eq!(of_target(std::slice::from_ref(&started)).map(|s| s.current), Some(Step::Requested));
        let failed = RunRecord {
            message: Some("infra/variables.yml has 1 problem".into()),
            ..record(RunKind::Plan, RunStatus::Failed, "2026-12-02T10:00:00Z", Some("2026-12-02T10:00:05Z"))
        };
        let status = of_target(&[failed]).expect("a status");
        assert_eq!(
            (steps(&status), status.error.as_deref()),
            (vec![Step::Requested, Step::Failed], Some("infra/variables.yml has 1 problem"))
        );
        let cancelled =
            record(RunKind::Apply, RunStatus::Cancelled, "2026-12-02T11:00:00Z", Some("2026-12-02T11:00:09Z"));
        assert_eq!(of_target(&[cancelled]).map(|s| s.current), Some(Step::Cancelled));

        // The newest commit's plan wins over an older commit's apply; drift runs don't count.
        let old_apply =
            record(RunKind::Apply, RunStatus::Succeeded, "2026-12-01T10:00:00Z", Some("2026-12-01T10:01:00Z"));
        let drift = RunRecord {
            sha: "c".repeat(40),
            ..record(RunKind::Drift, RunStatus::Succeeded, "2026-12-03T10:00:00Z", None)
        };
        let new_plan = RunRecord { sha: "b".repeat(40), ..started };
        let status = of_target(&[drift, new_plan, old_apply]).expect("a status");
        assert_eq!((status.sha.as_str(), status.current), ("b".repeat(40).as_str(), Step::Requested));
        assert_eq!(of_target(&[]), None);
    }
}
