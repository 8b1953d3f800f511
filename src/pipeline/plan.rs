//! The plan flow: admit → [frame] → prepare → Terraform plan → store → report comment.
//!
//! Terraform runs `init` and `plan` (the version and the prior state come with them), plus
//! `show -json` and `show` side by side for a [`PlanDetail::Full`] plan.

use super::admit::{Admitted, Intent, admit};
use super::frame::{Finished, Frame, framed};
use super::prepare::{Prepared, prepare};
use super::{Deps, Request, now};
use crate::error::CommandError;
use crate::file_diff::FileDiff;
use crate::output;
use crate::refusal::Refusal;
use crate::report::comment::{self, PlanComment, Warning};
use crate::report::prefix;
use crate::store::{PlanMeta, RunKind, StoreError};
use crate::terraform::summary::{PlanSummary, summarize_saved};
use crate::terraform::{PlanDetail, PlanKind, SavedPlan, TerraformError};

/// The saved plan's file name inside the working directory.
pub const PLAN_FILE: &str = "infra-manager.tfplan";

/// A stored plan and what reviewers see of it.
#[derive(Debug)]
pub struct Planned {
    pub summary: PlanSummary,
    pub plan_key: String,
    pub plan_sha256: String,
    /// The sticky comment (posted on the PR; local mode prints it).
    pub comment: String,
    /// `terraform show` text (empty for a counts-only plan), for the check run.
    pub plan_text: String,
    /// What the operator allowed that the rules alone would not (its record says so).
    pub overridden: Option<String>,
    /// After a merge: this plan compared with the one reviewed on the merged pull request,
    /// shown before the apply can be approved ([`super::reviewed`]).
    pub reviewed: Option<super::reviewed::Reviewed>,
    /// What the manager's policies said (warnings only: a deny fails the plan).
    pub policy: crate::policy::Verdict,
    /// What changed in the owner's file since the configuration last applied (`None` for
    /// a destroy plan).
    pub file_changes: Option<FileDiff>,
}

impl Finished for Planned {
    fn counts(&self) -> (u32, u32, u32) {
        (self.summary.add, self.summary.change, self.summary.destroy)
    }

    fn status_line(&self) -> String {
        match self.reviewed.as_ref().and_then(super::reviewed::Reviewed::status_part) {
            Some(part) => format!("{}; {part}", self.summary.status_description()),
            None => self.summary.status_description(),
        }
    }

    fn record_reviewed(&self, governance: &mut crate::store::Governance) {
        if let Some(reviewed) = &self.reviewed {
            reviewed.record(governance);
        }
    }

    fn plan_text(&self) -> Option<&str> {
        Some(&self.plan_text)
    }

    fn record_message(&self) -> Option<String> {
        self.overridden.clone()
    }

    fn record_policy(&self, governance: &mut crate::store::Governance) {
        crate::policy::record(Some(&self.policy), governance);
    }
}

pub async fn plan(deps: &Deps<'_>, req: &Request) -> Result<Planned, CommandError> {
    plan_kind(deps, req, PlanKind::Update).await
}

/// A plan of `kind`; a destroy plan is recorded as a `destroy` run, stored and applied
/// exactly like any other plan (same checks), and its comment lists the destroys first.
pub async fn plan_kind(deps: &Deps<'_>, req: &Request, kind: PlanKind) -> Result<Planned, CommandError> {
    plan_with(deps, req, kind, PlanDetail::Full).await
}

/// A plan of `kind`, read back as `detail` says: [`PlanDetail::Full`] for a reviewer (the
/// comment holds the plan text), [`PlanDetail::Counts`] for a fleet re-plan (two Terraform
/// processes, `init` and `plan`; the comment, if any, has no plan text or output values).
pub async fn plan_with(
    deps: &Deps<'_>,
    req: &Request,
    kind: PlanKind,
    detail: PlanDetail,
) -> Result<Planned, CommandError> {
    // A refused request gets nothing written anywhere: no status, no record, no Terraform.
    let intent = match kind {
        PlanKind::Update => Intent::Plan,
        PlanKind::Destroy => Intent::Destroy,
    };
    let admitted = admit(deps, req, intent).await?;
    let (run, pending) = match kind {
        PlanKind::Update => (RunKind::Plan, "Planning…"),
        PlanKind::Destroy => (RunKind::Destroy, "Planning the destroy…"),
    };
    let frame = Frame { kind: run, pending: Some(pending.to_owned()), expires_at: admitted.expires_at };
    let result = framed(deps, frame, req, steps(deps, req, kind, detail, admitted)).await;
    // A plan the policies denied already has its comment: the plan and every message.
    if let Err(error) = &result
        && error.policy().and_then(crate::policy::PolicyError::verdict).is_none()
    {
        post_comment(deps, req, &failure_comment(deps, req, error)).await;
    }
    result
}

/// A re-plan only to see it (a fleet run after a module change): recorded as a plan run,
/// but never stored (it is not the plan a customer's reviewers approved), and no status or
/// comment is written to the customer's repository. `init` and `plan` only (no `show`).
pub async fn preview(deps: &Deps<'_>, req: &Request) -> Result<PlanSummary, CommandError> {
    let admitted = admit(deps, req, Intent::Preview).await?;
    // Recorded as a re-plan: it is never a target's latest change (`status`).
    let frame = Frame { kind: RunKind::Replan, pending: None, expires_at: admitted.expires_at };
    let replanned = super::drift::replan(deps, req, admitted, PlanDetail::Counts);
    framed(deps, frame, req, replanned).await.map(|replanned| replanned.summary)
}

async fn steps(
    deps: &Deps<'_>,
    req: &Request,
    kind: PlanKind,
    detail: PlanDetail,
    admitted: Admitted,
) -> Result<Planned, CommandError> {
    let overridden = admitted.overridden;
    let file = admitted.file.unwrap_or_else(|| unreachable!("a plan's admission reads the file"))?;
    let previous = admitted.previous.unwrap_or_else(|| unreachable!("a plan's admission reads the last applied"));
    // In the customer's terms, above the resources (issue 24 item 4); a destroy plans the
    // configuration last applied itself.
    let file_changes = (kind == PlanKind::Update).then(|| previous.diff(&file, &req.target.env));
    // The target's lock is read (and freed if its run is over) while `init` runs: a store
    // call `init` need not wait for.
    let (prepared, _) = tokio::join!(prepare(deps, req, &file), super::lock_owner::free_if_dead(deps, &req.target));
    let prepared = prepared?;
    let dir = prepared.workspace.path();
    let plan = async || deps.terraform.plan(dir, PLAN_FILE, kind, detail).await;
    let mut saved = super::retrying_once_unlocked(deps, &req.target, plan)
        .await
        // A value a module refused is the customer's to fix, at its line.
        .map_err(|e| super::invalid_value::placed(e, &file, &req.target.owner.file(), &req.target.env, dir))?;
    let summary = summarize_saved(&saved);
    if summary.errored() || summary.incomplete() {
        return Err(TerraformError::PlanErrored { plan: Box::new(saved), details: Vec::new() }.into());
    }
    let mut warnings = warnings(deps, req, kind, &summary, prepared.components.as_deref());
    // Policies read the plan; a denied plan is shown with its messages and never stored.
    let printed = saved.take_raw();
    let checked = crate::policy::gate::check(deps, req, kind, printed.as_deref(), &file, previous.file(&file)).await;
    drop(printed);
    let policy = match checked {
        Ok(verdict) => verdict,
        Err(error) => {
            if let Some(verdict) = error.policy().and_then(crate::policy::PolicyError::verdict) {
                warnings.insert(0, Warning::Policy(verdict.note()));
                let shown = Shown { summary: &summary, warnings: &warnings, file_changes: file_changes.as_ref() };
                post_comment(deps, req, &plan_comment(deps, req, &saved, &shown)).await;
            }
            return Err(error);
        }
    };
    if !policy.note().is_empty() {
        warnings.insert(0, Warning::Policy(policy.note()));
    }
    let meta = plan_meta(deps, req, &prepared, &saved, &summary);
    // Kept before the plan becomes the newest: what a merge's apply compares with (issue 22
    // item 4).
    let document = super::reviewed::document(req, kind, &saved);
    let plan_key = store(deps, req, &saved, &meta, document.as_ref().map(|(_, bytes)| bytes.as_slice())).await?;
    // A push's plan after a merge: compared with the merged PR's, in the status and the job
    // summary (the comment's copy), before anyone approves its apply. Compared before the
    // comment is written, so the document is freed before it (a push posts no comment).
    let reviewed = match (kind, req.pull_request, document) {
        (PlanKind::Update, None, document) => {
            super::reviewed::compare_with(deps, req, document.map(|(document, _)| document)).await
        }
        _ => None,
    };
    let shown = Shown { summary: &summary, warnings: &warnings, file_changes: file_changes.as_ref() };
    let mut comment = plan_comment(deps, req, &saved, &shown);
    post_comment(deps, req, &comment).await;
    if let Some(reviewed) = &reviewed {
        comment.push_str(&format!("\n{}", reviewed.markdown()));
    }
    output::log(&format!("plan stored at {plan_key} (sha256:{})", prefix(&meta.plan_sha256, 12)));
    let plan_text = saved.text().unwrap_or_default().to_owned();
    Ok(Planned {
        summary,
        plan_key,
        plan_sha256: meta.plan_sha256,
        comment,
        plan_text,
        overridden,
        reviewed,
        policy,
        file_changes,
    })
}

/// What reviewers of this plan must not miss: that it destroys the environment, or which
/// components lose resources (a v2 file's, given its `components`), or that the
/// environment expires within a week.
fn warnings(
    deps: &Deps<'_>,
    req: &Request,
    kind: PlanKind,
    summary: &PlanSummary,
    components: Option<&[String]>,
) -> Vec<Warning> {
    let destroy = match (kind, components) {
        (PlanKind::Destroy, _) => vec![Warning::Destroy],
        (_, Some(components)) => Warning::component_destroys(summary, components),
        (_, None) => Vec::new(),
    };
    let expiry = deps
        .config
        .registration(&req.target.owner)
        .and_then(|r| r.expiry(&req.target.env))
        .and_then(|at| Warning::expiry(at, jiff::Timestamp::now()));
    destroy.into_iter().chain(expiry).collect()
}

/// What a plan comment shows besides the saved plan itself.
struct Shown<'a> {
    summary: &'a PlanSummary,
    warnings: &'a [Warning],
    file_changes: Option<&'a FileDiff>,
}

/// The sticky comment for a saved plan (an errored one renders as a failure).
fn plan_comment(deps: &Deps<'_>, req: &Request, saved: &SavedPlan, shown: &Shown<'_>) -> String {
    comment::plan_comment(&PlanComment {
        environment: req.target.env.as_str(),
        customer: &req.target.owner,
        sha: req.sha.as_str(),
        plan_sha256: &super::sha256_hex(&saved.bytes),
        summary: shown.summary,
        plan_text: saved.text().unwrap_or_default(),
        run_url: deps.run_url.as_deref(),
        warnings: shown.warnings,
        file_changes: shown.file_changes,
    })
}

/// What apply will check the stored plan against: the version that made it and the state it
/// was made against come with the saved plan.
fn plan_meta(
    deps: &Deps<'_>,
    req: &Request,
    prepared: &Prepared,
    saved: &SavedPlan,
    summary: &PlanSummary,
) -> PlanMeta {
    let state = saved.prior_state.as_ref();
    PlanMeta {
        customer: req.target.owner.to_string(),
        environment: req.target.env.to_string(),
        sha: req.sha.to_string(),
        plan_sha256: super::sha256_hex(&saved.bytes),
        terraform_version: saved.version.clone(),
        config_sha256: prepared.config_sha256.clone(),
        manager_commit: deps.manager_commit.clone().unwrap_or_else(|| crate::store::LOCAL_MANAGER_COMMIT.to_owned()),
        created_at: now(),
        run_url: deps.run_url.clone(),
        state_lineage: state.map(|s| s.lineage.clone()),
        state_serial: state.map(|s| s.serial),
        has_changes: summary.has_changes(),
        add: summary.add,
        change: summary.change,
        destroy: summary.destroy,
    }
}

/// store: the plan file, its metadata and its reviewable document (when it has one), as the
/// newest plan for the target.
async fn store(
    deps: &Deps<'_>,
    req: &Request,
    saved: &SavedPlan,
    meta: &PlanMeta,
    reviewable: Option<&[u8]>,
) -> Result<String, CommandError> {
    let stored = match reviewable {
        Some(document) => {
            let (kept, stored) =
                deps.store.put_plan_and_reviewable(&req.target, &saved.bytes, meta, &req.sha, document).await;
            if let Err(e) = kept {
                super::reviewed::not_kept(req, &e);
            }
            stored
        }
        None => deps.store.put_plan(&req.target, &saved.bytes, meta).await,
    };
    stored.map_err(|e| match e {
        // A newer plan finished first: this one is kept, but it must not become the one to apply.
        StoreError::Superseded { newer, .. } => Refusal::SupersededWhilePlanning { sha: req.sha.clone(), newer }.into(),
        other => other.into(),
    })
}

/// report: upserts the sticky comment when the request is for a pull request.
async fn post_comment(deps: &Deps<'_>, req: &Request, body: &str) {
    let Some(pr) = req.pull_request else { return };
    let marker = comment::marker(&req.target.owner, req.target.env.as_str());
    match deps.reporter.upsert_comment(&req.target.owner, pr, &marker, body).await {
        Ok(outcome) => output::log(&format!("comment on #{pr}: {outcome:?}")),
        Err(e) => output::log(&format!("warning: could not post the plan comment: {e}")),
    }
}

fn failure_comment(deps: &Deps<'_>, req: &Request, error: &CommandError) -> String {
    let customer = &req.target.owner;
    let env = req.target.env.as_str();
    let run_url = deps.run_url.as_deref();
    if let Some(saved) = error.errored_plan() {
        let summary = summarize_saved(saved);
        return plan_comment(deps, req, saved, &Shown { summary: &summary, warnings: &[], file_changes: None });
    }
    let diagnostics = error.diagnostics();
    if diagnostics.is_empty() {
        let text = match error.hint() {
            Some(hint) => format!("{error}\nhint: {hint}"),
            None => error.to_string(),
        };
        comment::failed_comment(env, customer, req.sha.as_str(), &text, run_url)
    } else {
        comment::invalid_comment(env, customer, req.sha.as_str(), diagnostics, run_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codehost::StatusState;
    use crate::error::ExitStatus;
    use crate::pipeline::testing::Harness;

    #[tokio::test]
    async fn a_plan_is_stored_commented_and_reported() {
        let h = Harness::new();
        let planned = plan(&h.deps(), &h.request()).await.expect("plan");
        assert_eq!((planned.summary.add, planned.summary.has_changes()), (1, true));
        assert_eq!(h.host.states(), [StatusState::Success]);
        assert_eq!(h.host.last_description(), planned.summary.status_description());
        let comments = h.host.comments.lock().expect("lock").clone();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].0, 7);
        assert!(comments[0].1.contains(&comment::marker(&h.request().target.owner, "staging")));
        assert_eq!(h.terraform.calls(), ["init", "plan", "show"]);
        let stored = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        let stored = stored.expect("stored");
        assert_eq!((stored.terraform_version.as_str(), stored.state_serial), ("1.11.4", Some(3)));
    }

    #[tokio::test]
    async fn a_counts_plan_runs_init_and_plan_only_and_stores_the_same_facts() {
        let h = Harness::new();
        let planned = plan_with(&h.deps(), &h.request(), PlanKind::Update, PlanDetail::Counts).await.expect("plan");
        assert_eq!(h.terraform.calls(), ["init", "plan"]);
        assert_eq!((planned.summary.add, planned.summary.has_changes()), (1, true));
        assert_eq!(h.host.states(), [StatusState::Success]);
        let stored = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        let stored = stored.expect("stored");
        assert_eq!((stored.terraform_version.as_str(), stored.state_lineage.as_deref()), ("1.11.4", Some("lineage-1")));
    }

    /// A drift check in sync runs `init` and `plan` only, like a shell loop; one that finds
    /// drift also one `show -json`, for what drifted.
    #[tokio::test]
    async fn a_drift_replan_runs_init_and_plan_and_a_show_only_for_drift() {
        let h = Harness::new();
        plan(&h.deps(), &h.request()).await.expect("plan");
        crate::pipeline::apply::apply(&h.deps(), &h.request(), crate::pipeline::apply::Mode::Apply)
            .await
            .expect("apply");
        let before = h.terraform.calls().len();
        let drift = crate::pipeline::drift::check(&h.deps(), &h.request().target).await;
        assert_eq!(drift.result, crate::pipeline::drift::DriftState::Drifted, "{drift:?}");
        assert_eq!(drift.add, 1);
        assert_eq!(h.terraform.calls()[before..], ["init", "plan", "show"]);
        let named: Vec<String> = drift.resources.iter().map(|d| crate::pipeline::drift::named(d, 3)).collect();
        assert_eq!(named, ["terraform_data.app"]);

        h.terraform.set(|s| s.plan_stream.retain(|m| m["type"] != "planned_change"));
        let before = h.terraform.calls().len();
        let drift = crate::pipeline::drift::check(&h.deps(), &h.request().target).await;
        assert_eq!(drift.result, crate::pipeline::drift::DriftState::InSync, "{drift:?}");
        assert_eq!(h.terraform.calls()[before..], ["init", "plan"]);
    }

    #[tokio::test]
    async fn an_errored_counts_plan_fails_and_is_never_stored() {
        let h = Harness::new();
        h.terraform.set(|s| s.plan_json["errored"] = serde_json::json!(true));
        let error =
            plan_with(&h.deps(), &h.request(), PlanKind::Update, PlanDetail::Counts).await.expect_err("errored");
        assert!(error.errored_plan().is_some(), "{error:?}");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        let latest = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        assert!(latest.is_none(), "an errored plan must never become the plan to apply");
    }

    #[tokio::test]
    async fn an_invalid_file_exits_2_with_a_failure_status_and_comment_and_no_terraform() {
        let h = Harness::new();
        h.set_file("project_name: Bad Name\n");
        let error = plan(&h.deps(), &h.request()).await.expect_err("invalid");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert!(!error.diagnostics().is_empty());
        assert_eq!(h.host.states(), [StatusState::Failure]);
        assert_eq!(h.host.comments.lock().expect("lock").len(), 1);
        assert!(h.terraform.calls().is_empty());
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs[0].status, crate::store::RunStatus::Failed);
    }

    #[tokio::test]
    async fn a_missing_file_is_refused_with_exit_2() {
        let h = Harness::new();
        h.host.files.lock().expect("lock").clear();
        let error = plan(&h.deps(), &h.request()).await.expect_err("missing");
        assert!(matches!(error.refusal(), Some(Refusal::FileMissing { .. })));
        assert_eq!(error.exit_status(), ExitStatus::Usage);
    }

    #[tokio::test]
    async fn a_yaml_syntax_error_is_invalid_input() {
        let h = Harness::new();
        h.set_file("not: [valid");
        let error = plan(&h.deps(), &h.request()).await.expect_err("invalid");
        assert_eq!((error.exit_status(), error.status()), (ExitStatus::Usage, crate::error::Status::Invalid));
    }

    #[tokio::test]
    async fn a_terraform_failure_is_an_operational_failure_with_exit_1() {
        let h = Harness::new();
        h.terraform.set(|s| {
            s.fail = Some(("init", || crate::terraform::TerraformError::Failed {
                step: "init",
                code: 1,
                details: vec!["boom".into()],
                transient: None,
            }))
        });
        let error = plan(&h.deps(), &h.request()).await.expect_err("fails");
        assert_eq!((error.exit_status(), error.status()), (ExitStatus::Failure, crate::error::Status::Failed));
        assert!(error.status_line().starts_with("Failed: terraform init failed"), "{}", error.status_line());
        assert_eq!(h.host.states(), [StatusState::Failure]);
    }

    #[tokio::test]
    async fn a_plan_superseded_while_it_ran_is_refused_with_exit_1() {
        let h = Harness::new();
        // A newer plan (by created_at) is already the latest for this target.
        let newer = crate::store::PlanMeta {
            plan_sha256: crate::pipeline::sha256_hex(b"x"),
            config_sha256: "c".into(),
            has_changes: false,
            add: 0,
            ..crate::store::PlanMeta::example(&"2".repeat(40), "2999-01-01T00:00:00Z")
        };
        let target = h.request().target;
        crate::store::Store::put_plan(&h.store, &target, b"x", &newer).await.expect("stored");
        let error = plan(&h.deps(), &h.request()).await.expect_err("superseded");
        assert!(matches!(error.refusal(), Some(Refusal::SupersededWhilePlanning { .. })), "{error:?}");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
    }

    #[tokio::test]
    async fn an_errored_plan_fails_is_shown_to_reviewers_and_is_never_stored() {
        let h = Harness::new();
        h.terraform.set(|s| {
            s.plan_json["errored"] = serde_json::json!(true);
            s.plan_json["complete"] = serde_json::json!(false);
        });
        let error = plan(&h.deps(), &h.request()).await.expect_err("errored");
        assert!(error.errored_plan().is_some(), "{error:?}");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        assert_eq!(h.host.states(), [StatusState::Failure]);
        let comments = h.host.comments.lock().expect("lock").clone();
        assert!(!comments[0].1.contains("No changes"), "{}", comments[0].1);
        let latest = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        assert!(latest.is_none(), "an errored plan must never become the plan to apply");
    }

    #[tokio::test]
    async fn a_run_record_keeps_a_bounded_one_line_message_not_terraform_s_whole_output() {
        let h = Harness::new();
        h.terraform.set(|s| {
            s.fail = Some(("plan", || crate::terraform::TerraformError::Failed {
                step: "plan",
                code: 1,
                details: vec![format!("secret-ish customer value {}\nsecond line", "x".repeat(10_000))],
                transient: None,
            }))
        });
        plan(&h.deps(), &h.request()).await.expect_err("fails");
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        let message = runs[0].message.clone().expect("a message");
        assert!(message.chars().count() <= crate::limits::RECORD_MESSAGE_CHARS, "{}", message.len());
        assert!(!message.contains('\n') && !message.contains("second line"), "{message}");
    }
}
