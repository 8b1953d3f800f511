//! `plan`: validate, render, plan, summarise, report, and store the plan for apply.

use super::workdir::{Prepared, prepare};
use super::{Context, Outcome, Report, Request, Stop, admit, now, sha256_hex};
use crate::codehost::StatusState;
use crate::output;
use crate::report::comment::{self, PlanComment};
use crate::report::prefix;
use crate::store::{PlanMeta, RunKind, RunStatus, StoreError};
use crate::terraform::summary::{PlanSummary, summarize};

/// The saved plan's file name inside the working directory.
pub const PLAN_FILE: &str = "infra-manager.tfplan";

pub async fn run(ctx: &Context<'_>, req: &Request) -> Report {
    let report = Report::new("plan", req);
    // An unregistered repository gets nothing written anywhere: no status, no record.
    if let Err(stop) = admit(ctx.config, &req.target) {
        return report.stop(stop);
    }
    let mut record = ctx.new_record(RunKind::Plan, req);
    ctx.record(&record).await;
    let result = plan(ctx, req).await;
    record.finished_at = Some(now());
    let report = match result {
        Ok(done) => {
            record.status = RunStatus::Succeeded;
            record.add = Some(done.summary.add);
            record.change = Some(done.summary.change);
            record.destroy = Some(done.summary.destroy);
            done.into_report(report)
        }
        Err(stop) => {
            record.status = RunStatus::Failed;
            record.message = Some(stop.status_line());
            ctx.fail_status(req, &stop).await;
            let body = failure_comment(ctx, req, &stop);
            post_comment(ctx, req, &body).await;
            Report { comment: Some(body), ..report.stop(stop) }
        }
    };
    ctx.record(&record).await;
    report
}

struct Planned {
    summary: PlanSummary,
    plan_sha256: String,
    plan_key: String,
    comment: String,
}

impl Planned {
    fn into_report(self, mut report: Report) -> Report {
        report.status = Outcome::Ok;
        report.has_changes = Some(self.summary.has_changes());
        report.add = Some(self.summary.add);
        report.change = Some(self.summary.change);
        report.destroy = Some(self.summary.destroy);
        report.plan_key = Some(self.plan_key);
        report.plan_sha256 = Some(self.plan_sha256);
        report.comment = Some(self.comment);
        report
    }
}

async fn plan(ctx: &Context<'_>, req: &Request) -> Result<Planned, Stop> {
    ctx.status(req, StatusState::Pending, "Planning…").await?;
    let Prepared { dir, config_sha256, .. } = prepare(ctx, req).await?;
    let tf = ctx.terraform;
    let failed = |e: crate::terraform::TerraformError| Stop::Failed(e.to_string());
    let version = tf.version().await.map_err(failed)?;
    let state = tf.state_id(&dir).await.map_err(failed)?;
    tf.plan(&dir, PLAN_FILE).await.map_err(failed)?;
    let doc = tf.show_json(&dir, PLAN_FILE).await.map_err(failed)?;
    let text = tf.show_text(&dir, PLAN_FILE).await.map_err(failed)?.trim_start_matches('\n').to_owned();
    let summary = summarize(&doc);
    let plan_path = dir.join(PLAN_FILE);
    let bytes =
        std::fs::read(&plan_path).map_err(|e| Stop::Failed(format!("can't read `{}`: {e}", plan_path.display())))?;
    let plan_sha256 = sha256_hex(&bytes);
    let meta = PlanMeta {
        customer: req.target.customer.to_string(),
        environment: req.target.env.to_string(),
        sha: req.sha.to_string(),
        plan_sha256: plan_sha256.clone(),
        terraform_version: version,
        config_sha256,
        manager_commit: ctx.manager_commit.clone(),
        created_at: now(),
        run_url: ctx.run_url.clone(),
        state_lineage: state.as_ref().map(|s| s.lineage.clone()),
        state_serial: state.as_ref().map(|s| s.serial),
        has_changes: summary.has_changes(),
        add: summary.add,
        change: summary.change,
        destroy: summary.destroy,
    };
    let plan_key = ctx.store.put_plan(&req.target, &bytes, &meta).await.map_err(|e| match e {
        // A newer plan finished first: this one is kept, but it must not become the one to apply.
        StoreError::Superseded { newer, .. } => Stop::refused(
            format!(
                "plan for {} is superseded: a newer plan for {} was stored while this one ran",
                req.sha.short(),
                prefix(&newer, 7)
            ),
            "review and apply the newest plan, or plan this commit again",
        ),
        other => Stop::Failed(other.to_string()),
    })?;
    let customer = req.target.customer.to_string();
    let body = comment::plan_comment(&PlanComment {
        environment: req.target.env.as_str(),
        customer: &customer,
        sha: req.sha.as_str(),
        plan_sha256: &plan_sha256,
        summary: &summary,
        plan_text: &text,
        run_url: ctx.run_url.as_deref(),
    });
    post_comment(ctx, req, &body).await;
    ctx.status(req, StatusState::Success, &summary.headline()).await?;
    output::log(&format!("plan stored at {plan_key} (sha256:{})", prefix(&plan_sha256, 12)));
    Ok(Planned { summary, plan_sha256, plan_key, comment: body })
}

/// Upserts the sticky comment when the request is for a pull request.
async fn post_comment(ctx: &Context<'_>, req: &Request, body: &str) {
    let Some(pr) = req.pull_request else { return };
    let marker = comment::marker(req.target.env.as_str());
    match ctx.host.upsert_comment(&req.target.customer, pr, &marker, body).await {
        Ok(outcome) => output::log(&format!("comment on #{pr}: {outcome:?}")),
        Err(e) => output::log(&format!("warning: could not post the plan comment: {e}")),
    }
}

fn failure_comment(ctx: &Context<'_>, req: &Request, stop: &Stop) -> String {
    let customer = req.target.customer.to_string();
    let env = req.target.env.as_str();
    match stop {
        Stop::Invalid(diagnostics) => {
            comment::invalid_comment(env, &customer, req.sha.as_str(), diagnostics, ctx.run_url.as_deref())
        }
        Stop::Refused { message, hint, .. } => {
            let text = match hint {
                Some(h) => format!("{message}\nhint: {h}"),
                None => message.clone(),
            };
            comment::failed_comment(env, &customer, req.sha.as_str(), &text, ctx.run_url.as_deref())
        }
        Stop::Failed(message) => {
            comment::failed_comment(env, &customer, req.sha.as_str(), message, ctx.run_url.as_deref())
        }
    }
}
