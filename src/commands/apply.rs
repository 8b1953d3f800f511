//! `apply`: apply exactly the stored plan that reviewers saw, or refuse.
//!
//! Before Terraform runs, the plan must be the newest one for the target, its bytes must match
//! the recorded sha256, the rebuilt configuration and Terraform version must be the ones it was
//! made with, and the state must still be the one it was made against.

use super::plan::PLAN_FILE;
use super::workdir::prepare;
use super::{Context, Outcome, Report, Request, Stop, admit, now, sha256_hex};
use crate::codehost::StatusState;
use crate::output;
use crate::report::prefix;
use crate::store::{PlanMeta, RunKind, RunStatus, StoreError};
use crate::terraform::TerraformError;

pub async fn run(ctx: &Context<'_>, req: &Request) -> Report {
    let report = Report::new("apply", req);
    if let Err(stop) = admit(ctx.config, &req.target) {
        return report.stop(stop);
    }
    let mut record = ctx.new_record(RunKind::Apply, req);
    ctx.record(&record).await;
    let result = apply(ctx, req).await;
    record.finished_at = Some(now());
    let report = match result {
        Ok(meta) => {
            record.status = RunStatus::Succeeded;
            (record.add, record.change, record.destroy) = (Some(meta.add), Some(meta.change), Some(meta.destroy));
            Report {
                status: Outcome::Ok,
                has_changes: Some(meta.has_changes),
                add: Some(meta.add),
                change: Some(meta.change),
                destroy: Some(meta.destroy),
                plan_key: Some(ctx.store.plan_key(&req.target, &req.sha)),
                plan_sha256: Some(meta.plan_sha256),
                ..report
            }
        }
        Err(stop) => {
            record.status = RunStatus::Failed;
            record.message = Some(stop.status_line());
            ctx.fail_status(req, &stop).await;
            report.stop(stop)
        }
    };
    ctx.record(&record).await;
    report
}

async fn apply(ctx: &Context<'_>, req: &Request) -> Result<PlanMeta, Stop> {
    let target = &req.target;
    let store_failed = |e: StoreError| Stop::Failed(e.to_string());
    let plan_again = format!("run `infra-manager plan` for `{}` again, review it, then apply", target.env);
    let latest = ctx.store.latest_plan(target).await.map_err(store_failed)?.ok_or_else(|| {
        Stop::refused(
            format!("no stored plan for {target}"),
            format!("run `infra-manager plan` for `{}` first", target.env),
        )
    })?;
    let newest = prefix(&latest.sha, 7);
    let (bytes, meta) = match ctx.store.get_plan(target, &req.sha).await {
        Ok(found) => found,
        Err(StoreError::NoPlan { .. }) => {
            return Err(Stop::refused(
                format!("no stored plan for commit {} of {target} (the newest plan is for {newest})", req.sha.short()),
                "run `infra-manager plan` for this commit first".to_string(),
            ));
        }
        // A store that verifies the plan's digest itself (S3) reports a mismatch like this.
        Err(e @ StoreError::Checksum { .. }) => {
            return Err(Stop::refused(e.to_string(), format!("the plan file was altered or corrupted; {plan_again}")));
        }
        Err(e @ StoreError::Corrupt { .. }) => {
            return Err(Stop::refused(format!("the stored plan can't be used: {e}"), plan_again));
        }
        Err(e) => return Err(store_failed(e)),
    };
    if latest.sha != req.sha.as_str() {
        return Err(Stop::refused(
            format!("plan for {} is superseded by a newer plan for {newest}", req.sha.short()),
            "apply the newest plan (its commit), or plan this commit again",
        ));
    }
    let actual = sha256_hex(&bytes);
    if actual != meta.plan_sha256 {
        return Err(Stop::refused(
            format!(
                "stored plan does not match its checksum (expected sha256:{}, found sha256:{})",
                prefix(&meta.plan_sha256, 12),
                prefix(&actual, 12)
            ),
            format!("the plan file was altered or corrupted; {plan_again}"),
        ));
    }
    ctx.status(req, StatusState::Pending, &format!("Applying plan sha256:{}…", prefix(&meta.plan_sha256, 12))).await?;
    let prepared = prepare(ctx, req).await?;
    if prepared.config_sha256 != meta.config_sha256 {
        return Err(Stop::refused(
            "the configuration differs from the one the plan was made with (variables, module or provider lock changed)",
            plan_again,
        ));
    }
    let tf = ctx.terraform;
    let failed = |e: TerraformError| match e {
        TerraformError::Locked { .. } => {
            Stop::refused(e.to_string(), "another run holds the lock; wait for it to finish, then plan and apply again")
        }
        TerraformError::StalePlan { .. } => Stop::refused(e.to_string(), plan_again.clone()),
        other => Stop::Failed(other.to_string()),
    };
    let version = tf.version().await.map_err(failed)?;
    if version != meta.terraform_version {
        return Err(Stop::refused(
            format!("the plan was made with Terraform {}, this run has {version}", meta.terraform_version),
            format!("use Terraform {} or {plan_again}", meta.terraform_version),
        ));
    }
    let state = tf.state_id(&prepared.dir).await.map_err(failed)?;
    let planned = (meta.state_lineage.as_deref(), meta.state_serial);
    let now_state = (state.as_ref().map(|s| s.lineage.as_str()), state.as_ref().map(|s| s.serial));
    if planned != now_state {
        let serial = |s: Option<u64>| s.map_or_else(|| "none".to_owned(), |v| v.to_string());
        return Err(Stop::refused(
            format!(
                "the plan is stale: the state changed since it was made (serial {} → {})",
                serial(planned.1),
                serial(now_state.1)
            ),
            plan_again,
        ));
    }
    let plan_path = prepared.dir.join(PLAN_FILE);
    std::fs::write(&plan_path, &bytes)
        .map_err(|e| Stop::Failed(format!("can't write `{}`: {e}", plan_path.display())))?;
    tf.apply(&prepared.dir, PLAN_FILE).await.map_err(failed)?;
    let headline = format!("Applied: {} added, {} changed, {} destroyed", meta.add, meta.change, meta.destroy);
    ctx.status(req, StatusState::Success, &headline).await?;
    output::log(&headline);
    Ok(meta)
}
