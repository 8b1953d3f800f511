//! `drift`: re-plan what was last planned for each target, without applying, and report
//! whether the real state has moved away from it. Nothing is written to customer repos.

use serde::Serialize;

use super::workdir::prepare;
use super::{Context, Request, Stop, now};
use crate::identity::{Sha, Target};
use crate::store::{RunKind, RunStatus};
use crate::terraform::summary::summarize;

/// The drift plan's file name inside the working directory.
const DRIFT_PLAN_FILE: &str = "infra-manager-drift.tfplan";

/// The result for one target.
#[derive(Debug, Clone, Serialize)]
pub struct DriftResult {
    pub customer: String,
    pub environment: String,
    pub sha: Option<String>,
    /// `in-sync`, `drifted`, `never-planned` or `error`.
    pub result: &'static str,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    pub message: Option<String>,
}

/// Checks one target against the configuration of its newest stored plan.
pub async fn check(ctx: &Context<'_>, target: &Target) -> DriftResult {
    let mut result = DriftResult {
        customer: target.customer.to_string(),
        environment: target.env.to_string(),
        sha: None,
        result: "never-planned",
        add: 0,
        change: 0,
        destroy: 0,
        message: None,
    };
    let latest = match ctx.store.latest_plan(target).await {
        Ok(Some(meta)) => meta,
        Ok(None) => return result,
        Err(e) => return DriftResult { result: "error", message: Some(e.to_string()), ..result },
    };
    let Ok(sha) = Sha::parse(&latest.sha) else {
        return DriftResult {
            result: "error",
            message: Some(format!("stored plan names an invalid SHA `{}`", latest.sha)),
            ..result
        };
    };
    result.sha = Some(sha.to_string());
    let req = Request { target: target.clone(), sha, pull_request: None };
    let mut record = ctx.new_record(RunKind::Drift, &req);
    ctx.record(&record).await;
    let outcome = plan_only(ctx, &req).await;
    record.finished_at = Some(now());
    let result = match outcome {
        Ok(summary) => {
            record.status = RunStatus::Succeeded;
            (record.add, record.change, record.destroy) =
                (Some(summary.add), Some(summary.change), Some(summary.destroy));
            DriftResult {
                result: if summary.has_changes() { "drifted" } else { "in-sync" },
                add: summary.add,
                change: summary.change,
                destroy: summary.destroy,
                ..result
            }
        }
        Err(stop) => {
            record.status = RunStatus::Failed;
            let message = stop.message();
            record.message = Some(message.clone());
            DriftResult { result: "error", message: Some(message), ..result }
        }
    };
    ctx.record(&record).await;
    result
}

async fn plan_only(ctx: &Context<'_>, req: &Request) -> Result<crate::terraform::summary::PlanSummary, Stop> {
    let prepared = prepare(ctx, req).await?;
    let failed = |e: crate::terraform::TerraformError| Stop::Failed(e.to_string());
    ctx.terraform.plan(&prepared.dir, DRIFT_PLAN_FILE).await.map_err(failed)?;
    let doc = ctx.terraform.show_json(&prepared.dir, DRIFT_PLAN_FILE).await.map_err(failed)?;
    let _ = std::fs::remove_file(prepared.dir.join(DRIFT_PLAN_FILE));
    Ok(summarize(&doc))
}

/// The job summary table for a drift run.
pub fn summary_table(results: &[DriftResult]) -> String {
    let mut out = String::from(
        "## infra-manager drift\n\n| Customer | Environment | Commit | Result |\n| --- | --- | --- | --- |\n",
    );
    for r in results {
        let sha = r.sha.as_deref().map_or("—", |s| crate::report::prefix(s, 7));
        let detail = match r.result {
            "drifted" => format!("⚠️ drifted: {} to add, {} to change, {} to destroy", r.add, r.change, r.destroy),
            "in-sync" => "✅ in sync".to_owned(),
            "never-planned" => "never planned".to_owned(),
            _ => format!(
                "❌ {}",
                r.message.as_deref().unwrap_or("error").lines().next().unwrap_or_default().replace('|', "\\|")
            ),
        };
        out.push_str(&format!("| `{}` | `{}` | `{sha}` | {detail} |\n", r.customer, r.environment));
    }
    out
}
