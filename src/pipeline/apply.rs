//! The apply flow: apply exactly the stored plan that reviewers saw, or refuse.
//!
//! admit → [frame] → look up the stored plan → check it (newest, target, checksum) →
//! prepare (rebuild the configuration) → verify (digest, Terraform version, state) →
//! Terraform apply → after the apply: the other stored plans of the target are marked
//! superseded ([`super::supersede`]), and the module's health check URL, if it has one, is
//! polled ([`super::health`]). The checks are [`super::verify`]'s pure functions; this
//! module only gathers their inputs and performs the effects.
//!
//! An apply runs two Terraform processes, `init` and `apply`: the version is the one `init`
//! announced, and the state is checked by Terraform itself, which refuses a saved plan whose
//! prior state is not the current one (turned into the same [`Refusal::StaleState`] a dry
//! run gives). A dry run reads the state (`state pull`) to report every check.
//!
//! A transient failure is tried again, within `retry.attempts` ([`super::retry`]), only
//! while the state is as the plan found it (see `steps`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::admit::{Admitted, Intent, admit};
use super::frame::{Finished, Frame, framed_with};
use super::health::{self, Backoff, Health, Wanted};
use super::plan::PLAN_FILE;
use super::prepare::{Prepared, rebuild};
use super::retry::{self, Attempt, RetryError};
use super::reviewed::Reviewed;
use super::verify::{self, Check, Lookup, Rebuilt, StateCheck, Stored, Verified};
use super::{Deps, Request};
use crate::error::CommandError;
use crate::refusal::Refusal;
use crate::report::comment;
use crate::store::{HealthState, PlanMeta, RunKind, Store, StoreError};
use crate::terraform::TerraformError;

/// Whether to apply, or only to say what would be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Every check, no effect: no status, no record, no Terraform apply.
    DryRun,
}

/// An applied (or, in a dry run, verified) plan.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub meta: PlanMeta,
    pub plan_key: String,
    pub checks: Vec<Check>,
    /// The check after the apply (`None` in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The root module's outputs not marked sensitive (a v2 file's as
    /// `<component>_<output>`); empty in a dry run.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Each attempt at the apply, the last one the one that applied (none in a dry run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The plan applied compared with the plan reviewed on the pull request merged as the
    /// commit; `None` where no pull request was (and in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<Reviewed>,
    /// Who approved the apply, when its environment requires approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

impl Finished for Applied {
    fn counts(&self) -> (u32, u32, u32) {
        (self.meta.add, self.meta.change, self.meta.destroy)
    }

    fn status_line(&self) -> String {
        let after = match self.attempts.len() {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        let mut applied = format!(
            "Applied{after}: {} added, {} changed, {} destroyed",
            self.meta.add, self.meta.change, self.meta.destroy
        );
        if let Some(login) = &self.approved_by {
            applied = format!("{applied}; approved by {login}");
        }
        // Before the health check's part: the status is cut at 140 characters.
        if let Some(part) = self.reviewed.as_ref().and_then(Reviewed::status_part) {
            applied = format!("{applied}; {part}");
        }
        match &self.health {
            Some(health) => format!("{applied}; {}", health.status_line()),
            None => applied,
        }
    }

    /// The record says what the status says (whether the service came up) and, after a
    /// retry, what each attempt did.
    fn record_message(&self) -> Option<String> {
        Some(match self.attempts.len() {
            0 | 1 => self.status_line(),
            _ => format!("{}; {}", self.status_line(), retry::line(&self.attempts)),
        })
    }

    fn health(&self) -> Option<HealthState> {
        self.health.as_ref().map(|h| match h {
            Health::Healthy { .. } => HealthState::Healthy,
            Health::Skipped { .. } => HealthState::Skipped,
        })
    }

    fn outputs(&self) -> Option<String> {
        serde_json::to_string(&self.outputs).ok()
    }

    fn record_reviewed(&self, governance: &mut crate::store::Governance) {
        if let Some(reviewed) = &self.reviewed {
            reviewed.record(governance);
        }
    }

    fn plan_sha256(&self) -> Option<String> {
        Some(self.meta.plan_sha256.clone())
    }
}

pub async fn apply(deps: &Deps<'_>, req: &Request, mode: Mode) -> Result<Applied, CommandError> {
    let admitted = admit(deps, req, Intent::Apply).await;
    let admitted = match mode {
        Mode::Apply => super::governance::report_refusal(deps, req, admitted).await?,
        Mode::DryRun => admitted?,
    };
    match mode {
        Mode::DryRun => {
            let (_, verified) = verified(deps, req, mode).await?;
            Ok(applied(deps, req, verified, None, BTreeMap::new(), Vec::new()))
        }
        Mode::Apply => framed_steps(deps, req, admitted, Vec::new()).await,
    }
}

/// Applies the stored plan after `earlier` failed attempts at the same change: a flow that
/// plans for itself plans again after a transient failure that changed the state (`reap`),
/// and the attempts count on.
pub async fn apply_again(deps: &Deps<'_>, req: &Request, earlier: Vec<Attempt>) -> Result<Applied, CommandError> {
    let admitted = super::governance::report_refusal(deps, req, admit(deps, req, Intent::Apply).await).await?;
    framed_steps(deps, req, admitted, earlier).await
}

async fn framed_steps(
    deps: &Deps<'_>,
    req: &Request,
    admitted: Admitted,
    earlier: Vec<Attempt>,
) -> Result<Applied, CommandError> {
    let pending = Some("Applying the stored plan…".to_owned());
    let frame = Frame { kind: RunKind::Apply, pending, expires_at: admitted.expires_at };
    framed_with(deps, frame, req, admitted.governance.clone(), steps(deps, req, &admitted, earlier)).await
}

/// Each attempt runs every check again (the stored plan, the rebuilt configuration) before
/// Terraform applies. A failure is retried only when it is transient, attempts are left,
/// and the state is as the plan found it (the serial did not move): the same stored plan is
/// then the same reviewed change. A failure that moved the state stops with "re-plan
/// needed", since the reviewed plan no longer describes what applying it would do.
async fn steps(
    deps: &Deps<'_>,
    req: &Request,
    admitted: &Admitted,
    mut attempts: Vec<Attempt>,
) -> Result<Applied, CommandError> {
    let policy = &deps.config.retry;
    // The stored plans are compared once, before Terraform runs (never a reason to stop).
    let reviewed = super::reviewed::compare(deps, req).await;
    loop {
        let number = u32::try_from(attempts.len()).unwrap_or(u32::MAX).saturating_add(1);
        let (prepared, verified) = verified(deps, req, Mode::Apply).await?;
        prepared.workspace.write_file(PLAN_FILE, &verified.bytes)?;
        let dir = prepared.workspace.path();
        let error = match super::locking(deps, &req.target, async || deps.terraform.apply(dir, PLAN_FILE).await).await {
            Ok(outputs) => {
                attempts.push(Attempt::applied(number, policy.attempts));
                let previous = admitted.last_applied.as_ref().and_then(|a| a.started_at);
                super::supersede::supersede_siblings(deps, req, previous, jiff::Timestamp::now()).await;
                let health = check_health(deps, &outputs).await?;
                let mut applied =
                    Applied { reviewed, ..applied(deps, req, verified, Some(health), outputs.public(), attempts) };
                applied.approved_by.clone_from(&admitted.governance.approver);
                comment_applied(deps, req, &applied).await;
                // The status and the command's result say it; a log line would be a third copy.
                return Ok(applied);
            }
            Err(TerraformError::StalePlan { details }) => return Err(stale(deps, dir, &verified.meta, details).await),
            Err(error) => error,
        };
        // The only copy of what exists, when Terraform could not save it: kept, never retried over.
        if let Some(kept) = super::errored_state::keep(deps, req, &prepared.workspace).await {
            return Err(TerraformError::StateNotSaved { inner: Box::new(error), kept: kept.message() }.into());
        }
        // A Terraform that ended without releasing its lock (killed, or still stopping): the
        // run says so, read back from the store, rather than claim a clean end.
        let error = super::lock_owner::lock_left(deps, &req.target, error).await;
        attempts.push(Attempt::failed(number, policy.attempts, &error));
        if !retry::may_retry(policy, &attempts, &error) {
            return Err(match attempts.len() {
                1 => error.into(),
                _ => RetryError::Stopped { attempts, last: error }.into(),
            });
        }
        let current = deps.terraform.state_id(dir).await?.map(|s| s.serial);
        if current != verified.meta.state_serial {
            // An attempt that never took the lock wrote nothing: the state moved under another
            // run, so the plan is stale (as the next attempt would be told), not this run's.
            if matches!(error, TerraformError::Locked { .. }) {
                return Err(Refusal::StaleState { planned: verified.meta.state_serial, current }.into());
            }
            return Err(RetryError::ReplanNeeded { attempts, last: error }.into());
        }
        retry::backoff(policy, &mut attempts, &deps.cancel).await?;
    }
}

/// The sticky comment of the PR merged as the applied commit becomes the apply's result:
/// what was applied, the health check, the outputs. Best effort: the apply has happened,
/// so a comment that can't be posted is a warning.
async fn comment_applied(deps: &Deps<'_>, req: &Request, applied: &Applied) {
    let customer = &req.target.owner;
    let pulls = match deps.reporter.merged_pull_requests(customer, req.reported_sha()).await {
        Ok(pulls) => pulls,
        Err(e) => return crate::output::log(&format!("warning: could not find the merged pull request: {e}")),
    };
    let m = &applied.meta;
    let body = comment::applied_comment(&comment::AppliedComment {
        environment: req.target.env.as_str(),
        customer,
        sha: req.sha.as_str(),
        plan_sha256: &m.plan_sha256,
        counts: (m.add, m.change, m.destroy),
        health: applied.health.as_ref().map(Health::status_line),
        outputs: &applied.outputs,
        reviewed: applied.reviewed.as_ref().map(Reviewed::markdown),
        run_url: deps.run_url.as_deref(),
        approved_by: applied.approved_by.as_deref(),
    });
    let marker = comment::marker(customer, req.target.env.as_str());
    for pr in pulls {
        if let Err(e) = deps.reporter.upsert_comment(customer, pr, &marker, &body).await {
            crate::output::log(&format!("warning: could not update the comment on #{pr}: {e}"));
        }
    }
}

/// Polls the module's health check URL, or says why there is none to poll.
async fn check_health(deps: &Deps<'_>, outputs: &crate::terraform::Outputs) -> Result<Health, CommandError> {
    match health::wanted(outputs)? {
        Wanted::Skip(reason) => Ok(Health::Skipped { reason: reason.to_owned() }),
        Wanted::Check(check) => {
            let bounds = &deps.config.health;
            Ok(health::poll(deps.probe, &check, &Backoff::from(bounds), bounds.request_timeout, &deps.cancel).await?)
        }
    }
}

fn applied(
    deps: &Deps<'_>,
    req: &Request,
    verified: Verified,
    health: Option<Health>,
    outputs: BTreeMap<String, serde_json::Value>,
    attempts: Vec<Attempt>,
) -> Applied {
    Applied {
        plan_key: deps.store.plan_key(&req.target, &req.sha),
        meta: verified.meta,
        checks: verified.checks,
        health,
        outputs,
        attempts,
        reviewed: None,
        approved_by: None,
    }
}

/// Terraform refused the saved plan because the state moved since it was made (nothing was
/// applied): the refusal a dry run gives for a moved state, with the current serial read for
/// the message (a `state pull`, only on this path). If even that can't be read, Terraform's
/// own refusal stands (the same status and exit code).
async fn stale(deps: &Deps<'_>, dir: &std::path::Path, meta: &PlanMeta, details: Vec<String>) -> CommandError {
    match deps.terraform.state_id(dir).await {
        Ok(current) => Refusal::StaleState { planned: meta.state_serial, current: current.map(|s| s.serial) }.into(),
        Err(_) => TerraformError::StalePlan { details }.into(),
    }
}

/// The stored plan, checked, and the working directory rebuilt and verified against it.
async fn verified(deps: &Deps<'_>, req: &Request, mode: Mode) -> Result<(Prepared, Verified), CommandError> {
    crate::policy::gate::refuse_denied(deps, req).await?;
    let stored = stored(deps.store, req).await?;
    verify::check_stored(req, &stored)?;
    let prepared = rebuild(deps, req).await?;
    let state = match mode {
        Mode::DryRun => StateCheck::Current(deps.terraform.state_id(prepared.workspace.path()).await?),
        Mode::Apply => StateCheck::AtApply,
    };
    let rebuilt = Rebuilt {
        config_sha256: prepared.config_sha256.clone(),
        terraform_version: deps.terraform.version().await?,
        state,
    };
    let verified = verify::verify(req, &stored, &rebuilt)?;
    Ok((prepared, verified))
}

/// The newest plan and the requested one, as found; a store that can't answer fails.
async fn stored(store: &dyn Store, req: &Request) -> Result<Stored, CommandError> {
    let latest = store.latest_plan(&req.target).await?;
    if latest.is_none() {
        return Ok(Stored { latest, requested: Lookup::Missing });
    }
    let requested = match store.get_plan(&req.target, &req.sha).await {
        Ok((bytes, meta)) => Lookup::Found { bytes, meta: Box::new(meta) },
        Err(StoreError::NoPlan { .. }) => Lookup::Missing,
        Err(StoreError::Checksum { expected, actual, .. }) => Lookup::ChecksumMismatch { expected, actual },
        Err(e @ StoreError::Corrupt { .. }) => Lookup::Unreadable { message: e.to_string() },
        Err(e) => return Err(e.into()),
    };
    Ok(Stored { latest, requested })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codehost::StatusState;
    use crate::error::ExitStatus;
    use crate::pipeline::plan::plan;
    use crate::pipeline::testing::{Harness, SHA};
    use crate::refusal::Refusal;
    use crate::terraform::{StateId, TerraformError};

    async fn planned(h: &Harness) {
        plan(&h.deps(), &h.request()).await.expect("plan");
    }

    fn refusal(error: CommandError) -> Refusal {
        assert_eq!(error.exit_status(), ExitStatus::Failure, "{error}");
        match error {
            CommandError::Refused(refusal) => *refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_fresh_plan_applies_and_the_frame_reports_success() {
        let h = Harness::new();
        planned(&h).await;
        let planned_calls = h.terraform.calls().len();
        let applied = apply(&h.deps(), &h.request(), Mode::Apply).await.expect("apply");
        assert_eq!(applied.meta.add, 1);
        assert_eq!(h.terraform.calls()[planned_calls..], ["init", "apply"], "two processes");
        assert_eq!(h.host.states(), [StatusState::Success, StatusState::Success]);
        assert_eq!(
            h.host.last_description(),
            "Applied: 1 added, 0 changed, 0 destroyed; no health check: the module has no `health_check_url` output"
        );
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        let statuses: Vec<_> = runs.iter().map(|r| (r.kind, r.status)).collect();
        use crate::store::{RunKind::*, RunStatus::*};
        assert_eq!(statuses, [(Apply, Succeeded), (Plan, Succeeded)]);
    }

    fn health_outputs(url: &str) -> crate::terraform::Outputs {
        crate::terraform::Outputs::from_message(&serde_json::json!({
            "health_check_url": { "sensitive": false, "type": "string", "value": url },
        }))
    }

    #[tokio::test]
    async fn a_module_without_a_health_url_is_applied_and_says_it_has_no_check() {
        let h = Harness::new();
        planned(&h).await;
        let applied = apply(&h.deps(), &h.request(), Mode::Apply).await.expect("apply");
        assert!(matches!(applied.health, Some(Health::Skipped { .. })));
        assert!(h.probe.polled.lock().expect("lock").is_empty(), "nothing polled");
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(
            runs[0].message.as_deref(),
            Some(
                "Applied: 1 added, 0 changed, 0 destroyed; no health check: the module has no `health_check_url` output"
            )
        );
    }

    #[tokio::test]
    async fn a_service_that_comes_up_makes_the_status_and_record_say_healthy() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.outputs = health_outputs("https://app.example/health"));
        *h.probe.answers.lock().expect("lock") =
            vec![Err(health::ProbeError::Unreachable("connection refused".into())), Ok(503), Ok(200)];
        let applied = apply(&h.deps(), &h.request(), Mode::Apply).await.expect("apply");
        assert!(matches!(applied.health, Some(Health::Healthy { status: 200, polls: 3, .. })), "{:?}", applied.health);
        assert_eq!(h.host.states().last(), Some(&StatusState::Success));
        let description = h.host.last_description();
        assert!(description.starts_with("Applied: 1 added, 0 changed, 0 destroyed; healthy (HTTP 200 after 3 polls, "));
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs[0].message.as_deref(), Some(description.as_str()));
    }

    #[tokio::test]
    async fn a_service_that_stays_down_fails_the_apply_run_naming_what_it_saw() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.outputs = health_outputs("https://app.example/health"));
        *h.probe.answers.lock().expect("lock") = vec![Ok(503)];
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("unhealthy");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        let polls = h.probe.polled.lock().expect("lock").len();
        let description = h.host.last_description();
        assert_eq!(h.host.states().last(), Some(&StatusState::Failure));
        assert!(
            description.starts_with(&format!(
                "Failed: applied, but unhealthy: https://app.example/health answered 503 after {polls} polls over "
            )),
            "{description}"
        );
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs[0].status, crate::store::RunStatus::Failed);
        assert!(error.hint().is_some_and(|hint| hint.contains("`health.timeout`")));
    }

    #[tokio::test]
    async fn a_url_that_is_not_http_is_never_polled_and_fails_the_run() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.outputs = health_outputs("file:///etc/passwd"));
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("bad url");
        assert!(error.to_string().contains("only `http://` and `https://`"), "{error}");
        assert!(h.probe.polled.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn the_apply_marks_the_other_plans_of_the_target_superseded() {
        let h = Harness::new();
        let sibling = crate::pipeline::Request {
            sha: crate::identity::Sha::parse(&"2".repeat(40)).expect("valid"),
            pull_request: Some(8),
            ..h.request()
        };
        plan(&h.deps(), &sibling).await.expect("sibling plan");
        planned(&h).await;
        apply(&h.deps(), &h.request(), Mode::Apply).await.expect("apply");
        let sibling_statuses = h.host.statuses_of(sibling.sha.as_str());
        let last = sibling_statuses.last().expect("a status on the sibling");
        assert_eq!(last.state, StatusState::Failure);
        assert_eq!(last.context, "infra/terraform-deploy/staging");
        assert_eq!(last.description, "superseded by the apply of 1111111; push again to re-plan");
        assert_eq!(last.target_url.as_deref(), Some("https://github.com/p/m/actions/runs/1"));
        let ours = h.host.statuses_of(SHA);
        assert_eq!(ours.last().map(|s| s.state), Some(StatusState::Success));
        assert!(ours.iter().all(|s| s.state != StatusState::Failure), "the applied commit is never superseded");

        // The next apply leaves the plans the previous one already superseded alone.
        let statuses = h.host.statuses_of(sibling.sha.as_str()).len();
        planned(&h).await;
        apply(&h.deps(), &h.request(), Mode::Apply).await.expect("apply again");
        assert_eq!(h.host.statuses_of(sibling.sha.as_str()).len(), statuses);
    }

    #[tokio::test]
    async fn a_changed_configuration_is_refused_before_terraform_applies() {
        let h = Harness::new();
        planned(&h).await;
        // The provider lock file changes between plan and apply (same variables).
        h.terraform.set(|s| s.lock_file = Some("provider \"x\" {}".to_owned()));
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!(refusal(error), Refusal::ConfigChanged);
        assert!(!h.terraform.calls().contains(&"apply".to_owned()));
        assert_eq!(h.host.states().last(), Some(&StatusState::Failure));
    }

    #[tokio::test]
    async fn another_terraform_version_is_refused() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.version = "1.15.5".to_owned());
        let planned_calls = h.terraform.calls().len();
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!(refusal(error), Refusal::TerraformVersion { planned: "1.11.4".into(), running: "1.15.5".into() });
        assert_eq!(h.terraform.calls()[planned_calls..], ["init"], "refused before apply, the version known from init");
    }

    /// Terraform refuses the stale saved plan; users see the refusal a dry run gives.
    #[tokio::test]
    async fn a_state_that_moved_is_refused_as_stale() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.state = Some(StateId { lineage: "lineage-1".into(), serial: 4 }));
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!(error.status(), crate::error::Status::Refused);
        assert_eq!(refusal(error), Refusal::StaleState { planned: Some(3), current: Some(4) });
        assert_eq!(h.host.states().last(), Some(&StatusState::Failure));
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!((runs[0].kind, runs[0].status), (RunKind::Apply, crate::store::RunStatus::Failed));
        let dry = apply(&h.deps(), &h.request(), Mode::DryRun).await.expect_err("refused");
        assert_eq!(refusal(dry), Refusal::StaleState { planned: Some(3), current: Some(4) });
    }

    #[tokio::test]
    async fn a_stale_plan_whose_state_cannot_be_read_is_still_refused() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| {
            s.state = Some(StateId { lineage: "lineage-1".into(), serial: 4 });
            s.fail = Some(("state", || TerraformError::Failed {
                step: "state pull",
                code: 1,
                details: vec![],
                transient: None,
            }));
        });
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!((error.status(), error.exit_status()), (crate::error::Status::Refused, ExitStatus::Failure));
        assert!(error.hint().is_some_and(|h| h.contains("plan` again")), "{:?}", error.hint());
    }

    #[tokio::test]
    async fn no_plan_and_another_commit_are_refused_before_any_terraform_call() {
        let h = Harness::new();
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert!(matches!(refusal(error), Refusal::NoPlan { .. }));
        planned(&h).await;
        let calls = h.terraform.calls().len();
        let other = crate::pipeline::Request {
            sha: crate::identity::Sha::parse(&"2".repeat(40)).expect("valid"),
            ..h.request()
        };
        let error = apply(&h.deps(), &other, Mode::Apply).await.expect_err("refused");
        assert!(matches!(refusal(error), Refusal::NoPlanForCommit { .. }));
        assert_eq!(h.terraform.calls().len(), calls, "refused before any Terraform call");
    }

    #[tokio::test]
    async fn a_held_lock_is_a_refusal_with_exit_1() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| {
            s.fail = Some(("apply", || TerraformError::Locked { waited_secs: 0, details: vec!["held by x".into()] }))
        });
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("locked");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        assert_eq!(error.status(), crate::error::Status::Refused);
        assert!(error.hint().is_some_and(|h| h.contains("another run holds the lock")));
    }

    fn unavailable() -> TerraformError {
        TerraformError::Failed {
            step: "apply",
            code: 1,
            details: vec!["Error: 503 Service Unavailable".into()],
            transient: Some("503 from provider".into()),
        }
    }

    fn invalid() -> TerraformError {
        TerraformError::Failed { step: "apply", code: 1, details: vec!["Invalid value".into()], transient: None }
    }

    async fn apply_record(h: &Harness) -> crate::store::RunRecord {
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        runs.into_iter().find(|r| r.kind == RunKind::Apply).expect("an apply record")
    }

    #[tokio::test]
    async fn a_transient_failure_that_left_the_state_alone_is_applied_again_after_the_checks() {
        let h = Harness::new();
        planned(&h).await;
        let planned_calls = h.terraform.calls().len();
        h.terraform.set(|s| {
            s.fail = Some(("apply", unavailable));
            s.fails_left = Some(1);
        });
        let applied = apply(&h.deps(), &h.request(), Mode::Apply).await.expect("applied on the second attempt");
        assert_eq!(
            h.terraform.calls()[planned_calls..],
            ["init", "apply", "state", "init", "apply"],
            "the state is read, then every check runs again"
        );
        let attempts: Vec<_> = applied.attempts.iter().map(|a| (a.number, a.of, a.result)).collect();
        use crate::pipeline::retry::AttemptResult::*;
        assert_eq!(attempts, [(1, 3, Failed), (2, 3, Applied)]);
        assert!(
            h.host.last_description().starts_with("Applied after 2 attempts: 1 added"),
            "{}",
            h.host.last_description()
        );
        let record = apply_record(&h).await;
        assert_eq!(record.status, crate::store::RunStatus::Succeeded);
        let message = record.message.expect("a message");
        assert!(
            message.contains("; attempt 1/3 failed (transient: 503 from provider), retried after ")
                && message.ends_with("; attempt 2/3 applied"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_transient_failure_that_moved_the_state_stops_and_says_re_plan_needed() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| {
            s.fail = Some(("apply", unavailable));
            s.failure_moves_state = true;
        });
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("re-plan needed");
        assert_eq!(h.terraform.calls().iter().filter(|c| *c == "apply").count(), 1, "tried once");
        assert!(matches!(error.retry(), Some(RetryError::ReplanNeeded { .. })), "{error:?}");
        assert!(error.hint().is_some_and(|hint| hint.contains("`infra-manager plan` again")));
        assert_eq!(h.host.states().last(), Some(&StatusState::Failure));
        let message = apply_record(&h).await.message.expect("a message");
        assert!(message.contains("re-plan needed (attempt 1/3 failed (transient: 503 from provider))"), "{message}");
    }

    /// A lock another run held past the wait, and that run applied meanwhile: nothing of
    /// this run's was written, so its plan is stale and it is refused as such, not told that
    /// its own failure moved the state (seen with four concurrent applies on moto).
    #[tokio::test]
    async fn a_lock_held_by_a_run_that_applied_meanwhile_refuses_the_stale_plan() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| {
            s.fail = Some(("apply", || TerraformError::Locked { waited_secs: 120, details: Vec::new() }));
            s.failure_moves_state = true;
        });
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("stale");
        assert_eq!(h.terraform.calls().iter().filter(|c| *c == "apply").count(), 1, "tried once");
        assert!(error.retry().is_none(), "{error:?}");
        assert!(error.to_string().contains("stale"), "{error}");
        assert_eq!(error.status(), crate::error::Status::Refused, "{error:?}");
    }

    #[tokio::test]
    async fn a_deterministic_failure_is_tried_once() {
        let h = Harness::new();
        planned(&h).await;
        h.terraform.set(|s| s.fail = Some(("apply", invalid)));
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("fails");
        assert_eq!(h.terraform.calls().iter().filter(|c| *c == "apply").count(), 1);
        assert!(matches!(error, CommandError::Terraform(TerraformError::Failed { .. })), "{error:?}");
        assert!(!h.terraform.calls().contains(&"state".to_owned()), "nothing to compare");
    }

    #[tokio::test]
    async fn a_failure_that_never_passes_stops_after_the_attempts_allowed() {
        let mut h = Harness::new();
        h.config.retry.attempts = 2;
        planned(&h).await;
        h.terraform.set(|s| s.fail = Some(("apply", unavailable)));
        let error = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("fails");
        assert_eq!(h.terraform.calls().iter().filter(|c| *c == "apply").count(), 2);
        let Some(RetryError::Stopped { attempts, .. }) = error.retry() else { panic!("{error:?}") };
        assert_eq!(attempts.len(), 2);
        assert!(
            error
                .status_line()
                .starts_with("Failed: apply failed: attempt 1/2 failed (transient: 503 from provider), retried after "),
            "{}",
            error.status_line()
        );
    }

    #[tokio::test]
    async fn a_dry_run_checks_everything_and_changes_nothing() {
        let h = Harness::new();
        planned(&h).await;
        let statuses = h.host.states().len();
        let planned_calls = h.terraform.calls().len();
        let applied = apply(&h.deps(), &h.request(), Mode::DryRun).await.expect("dry run");
        assert_eq!(applied.checks, Check::ALL);
        assert_eq!(h.terraform.calls()[planned_calls..], ["init", "state"], "the dry run reads the state");
        assert!(!h.terraform.calls().contains(&"apply".to_owned()));
        assert_eq!(h.host.states().len(), statuses, "no status");
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs.len(), 1, "no record beyond the plan's");
    }

    #[tokio::test]
    async fn an_unregistered_customer_is_refused_with_exit_2_and_nothing_written() {
        let mut h = Harness::new();
        h.config.customers.push(crate::config::Customer::new(
            crate::identity::RepoId::parse("acme/other").expect("valid"),
            "standard",
            vec![crate::identity::EnvName::parse("staging").expect("valid")],
        ));
        for error in [
            apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused"),
            plan(&h.deps(), &h.request()).await.expect_err("refused"),
        ] {
            assert_eq!(error.exit_status(), ExitStatus::Usage);
            assert!(matches!(error.refusal(), Some(Refusal::NotRegistered { .. })));
        }
        assert!(h.host.states().is_empty());
        assert!(h.terraform.calls().is_empty());
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert!(runs.is_empty());
    }
}
