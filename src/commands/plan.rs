//! `plan`: validate, render, plan, summarise, report, and store the plan for apply.

use std::fmt;

use serde::Serialize;

use super::target::{self, Source};
use super::{Outcome, TargetResult};
use crate::cli::{PlanArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::file_diff::FileDiff;
use crate::pipeline::Request;
use crate::pipeline::plan::{Planned, plan_kind};
use crate::terraform::PlanKind;

/// A stored plan, as `--json` prints it; people see the comment (local mode).
#[derive(Debug, Serialize)]
pub struct PlanOutcome {
    #[serde(flatten)]
    pub result: TargetResult,
    /// The environment's monthly cost before, after and the delta, when the catalog prices
    /// it (issue 22; `crate::cost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<serde_json::Value>,
    /// What changed in the owner's file since the configuration last applied, as the
    /// comment says it (issue 24 item 4); none for a destroy plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_changes: Option<FileDiff>,
    #[serde(skip)]
    pub shown: String,
}

impl fmt::Display for PlanOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Outcome for PlanOutcome {}

pub async fn run(ctx: &Context<'_>, args: &PlanArgs) -> Result<PlanOutcome, CommandError> {
    let (req, source) = target::request(ctx, &args.target).await?;
    let kind = match (args.destroy, &source) {
        (false, _) => PlanKind::Update,
        (true, Source::Local(_)) => {
            // The one destroy path: from the configuration last applied.
            let req = super::destroy::at_last_applied(ctx, &req).await?;
            return planned(ctx, Verb::Plan, &req, &source, PlanKind::Destroy).await;
        }
        // A dispatch is a customer's request; destroying is the provider's decision.
        (true, _) => {
            return Err(CommandError::usage(
                "`plan --destroy` is local only, and never run from a dispatch",
                "offboard a customer environment with `infra-manager destroy --customer OWNER/REPO --env ENV` \
                 (the manager's destroy workflow)",
            ));
        }
    };
    planned(ctx, Verb::Plan, &req, &source, kind).await
}

/// Runs the plan flow for `req` and reports it: on GitHub to the runner (the comment goes to
/// the job summary), locally as the printed comment.
pub(super) async fn planned(
    ctx: &Context<'_>,
    verb: Verb,
    req: &Request,
    source: &Source,
    kind: PlanKind,
) -> Result<PlanOutcome, CommandError> {
    let result = target::with_deps(ctx, verb, req, source, async |deps| plan_kind(deps, req, kind).await)
        .await
        .map(|planned| {
            let outcome = PlanOutcome {
                result: fields(req, &planned),
                cost: planned.policy.cost.as_ref().map(crate::cost::Change::json),
                file_changes: planned.file_changes,
                shown: String::new(),
            };
            (outcome, planned.comment)
        })
        .map_err(|e| e.about(target::subject(req)));
    if source.on_github() {
        // On GitHub the comment is posted and goes to the job summary; printed to the log
        // it would be customer text outside the stop-commands block.
        let shown = result.as_ref().map(|(outcome, comment)| (&outcome.result, comment.as_str()));
        target::report_to_runner(&ctx.settings.runner, verb, shown);
        return result.map(|(outcome, _)| outcome);
    }
    result.map(|(outcome, comment)| PlanOutcome { shown: comment, ..outcome })
}

fn fields(req: &Request, planned: &Planned) -> TargetResult {
    let summary = &planned.summary;
    TargetResult {
        has_changes: Some(summary.has_changes()),
        add: Some(summary.add),
        change: Some(summary.change),
        destroy: Some(summary.destroy),
        plan_key: Some(planned.plan_key.clone()),
        plan_sha256: Some(planned.plan_sha256.clone()),
        ..TargetResult::from(&target::subject(req))
    }
}
