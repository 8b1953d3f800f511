//! `reap`: destroy every environment whose `expires_at` has passed, through the destroy
//! path (a destroy plan of the configuration last applied, stored, then applied with the
//! checks of any apply). The registry entry's expiry is the approval. `--dry-run` lists.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::{append_summary, set_outputs};
use crate::cli::{ReapArgs, Verb};
use crate::codehost::CodeHost;
use crate::config::Config;
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};
use crate::fleet;
use crate::identity::{CustomerId, Target, TenantName};
use crate::local_host::LocalHost;
use crate::pipeline::apply::apply_again;
use crate::pipeline::plan::plan_with;
use crate::pipeline::prepare::{Validated, validate};
use crate::pipeline::retry::{self, Attempt, RetryError};
use crate::pipeline::{Deps, Request, last_applied_sha};
use crate::report::markdown::code;
use crate::report::{name_of, prefix, truncate_chars};
use crate::tenants::git::{ManagerRepo, TENANTS_DIR};
use crate::tenants::host::TenantHost;
use crate::terraform::{PlanDetail, PlanKind};

/// What reaping one environment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReapState {
    /// Destroyed: the destroy plan was applied.
    Reaped,
    /// `--dry-run`: would be destroyed.
    WouldReap,
    /// The state holds nothing any more (reaped before).
    AlreadyEmpty,
    /// Nothing was ever applied: no state to destroy.
    NeverApplied,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reaped {
    pub customer: String,
    pub environment: String,
    pub expires_at: String,
    /// The commit last applied, whose configuration planned the destroy.
    pub sha: Option<String>,
    pub result: ReapState,
    pub destroyed: Option<u32>,
    pub message: Option<String>,
    /// Each attempt at the destroy's apply, when one was made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Serialize)]
pub struct ReapReport {
    pub command: Verb,
    pub dry_run: bool,
    pub expired: usize,
    pub failed: usize,
    pub results: Vec<Reaped>,
}

impl Outcome for ReapReport {
    const ENVELOPE: bool = false;

    fn exit_status(&self) -> ExitStatus {
        if self.failed > 0 { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

impl fmt::Display for ReapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = if self.dry_run { "reap --dry-run" } else { "reap" };
        writeln!(f, "## infra-manager {title}\n")?;
        writeln!(f, "{} expired environments, {} failed.\n", self.expired, self.failed)?;
        if self.results.is_empty() {
            return Ok(());
        }
        writeln!(f, "| Customer | Environment | Expired at | Commit | Result |\n| --- | --- | --- | --- | --- |")?;
        for r in &self.results {
            let result = match (r.result, r.destroyed) {
                (ReapState::Reaped, Some(n)) => format!("🗑️ reaped: {n} destroyed"),
                (ReapState::Failed, _) => format!("❌ {}", code(r.message.as_deref().unwrap_or("failed"))),
                (state, _) => name_of(&state),
            };
            writeln!(
                f,
                "| {} | {} | {} | {} | {result} |",
                code(&r.customer),
                code(&r.environment),
                code(&r.expires_at),
                code(r.sha.as_deref().map_or("—", |s| prefix(s, 7)))
            )?;
        }
        Ok(())
    }
}

/// Every registered environment whose expiry is at or before `now`.
fn expired(config: &Config, now: jiff::Timestamp) -> Vec<(Target, jiff::Timestamp)> {
    config
        .customers
        .iter()
        .flat_map(|c| {
            c.expires_at
                .iter()
                .filter(|(_, at)| *at <= now)
                .map(|(env, at)| (Target { customer: c.repo.clone(), env: env.clone() }, *at))
        })
        .collect()
}

/// Every environment of each tenant whose `spec.expiresAt`, in its file at the manager
/// checkout's HEAD, is at or before `now`. A file that no longer validates is reported and
/// left (its expiry can't be read); a checkout without `tenants/` has none.
async fn expired_tenants(
    config: &Config,
    repo: &ManagerRepo,
    root: &std::path::Path,
    now: jiff::Timestamp,
) -> Result<Vec<(Target, jiff::Timestamp)>, CommandError> {
    if !root.join(TENANTS_DIR).is_dir() {
        return Ok(Vec::new());
    }
    let head = repo.commit("HEAD").await?;
    let mut due = Vec::new();
    for path in repo.tenant_files(&head).await? {
        let name = path.trim_start_matches(&format!("{TENANTS_DIR}/")).trim_end_matches(".yml");
        let Ok(tenant) = TenantName::parse(name) else { continue };
        let Some(text) = repo.read(&head, &path).await? else { continue };
        let customer = CustomerId::tenant(&tenant);
        match validate(config, &customer, &text) {
            Ok(Validated::V2(file, _)) => {
                if let Some(at) = file.expires_at.filter(|at| *at <= now) {
                    due.extend(
                        file.environments
                            .iter()
                            .map(|env| (Target { customer: customer.clone(), env: env.clone() }, at)),
                    );
                }
            }
            Ok(Validated::V1(_)) => {}
            Err(e) => crate::output::log(&format!(
                "warning: `{path}` is not valid at HEAD, its expiry is not read: {}",
                e.status_line()
            )),
        }
    }
    Ok(due)
}

pub async fn run(ctx: &Context<'_>, args: &ReapArgs) -> Result<ReapReport, CommandError> {
    let config = ctx.config().await?;
    let now = jiff::Timestamp::now();
    let repo = ManagerRepo::new(&args.manager_repo);
    let tenants_due = expired_tenants(config, &repo, &args.manager_repo, now).await?;
    let due = expired(config, now);
    let mut results = Vec::new();
    if !due.is_empty() {
        let local;
        let host: &dyn CodeHost = match &args.source_root {
            Some(root) => {
                local = LocalHost::per_customer(root).with_history(&config.local_history_dir());
                &local
            }
            None => ctx.github().await?,
        };
        results.extend(reap_all(ctx, args, host, &due).await?);
    }
    if !tenants_due.is_empty() {
        // A tenant's destroy plans from its file as last applied, read from Git history.
        let host = TenantHost::new(repo);
        results.extend(reap_all(ctx, args, &host, &tenants_due).await?);
    }
    let report = report(args.dry_run, results);
    let runner = &ctx.settings.runner;
    set_outputs(
        runner.output.as_deref(),
        &[("expired", report.expired.to_string()), ("failed", report.failed.to_string())],
    );
    append_summary(runner.summary.as_deref(), &report.to_string());
    Ok(report)
}

/// Reaps `due` (targets and their expiry) through `host`, `--parallel` at a time.
async fn reap_all(
    ctx: &Context<'_>,
    args: &ReapArgs,
    host: &dyn CodeHost,
    due: &[(Target, jiff::Timestamp)],
) -> Result<Vec<Reaped>, CommandError> {
    let work = ctx.work_root().await?;
    let manager_commit = ctx.settings.runner.manager_commit.clone().unwrap_or_else(|| "local".to_owned());
    let parallel = args.parallel.map_or_else(fleet::default_parallel, usize::from);
    ctx.run_in_parallel(parallel);
    let deps = ctx.deps(host, &work, manager_commit).await?;
    let targets: Vec<Target> = due.iter().map(|(t, _)| t.clone()).collect();
    let dry_run = args.dry_run;
    Ok(fleet::each(
        &targets,
        parallel,
        async |t: &Target| {
            let at = due.iter().find(|(d, _)| d == t).map(|(_, at)| at.to_string()).unwrap_or_default();
            reap_one(&deps, t, at, dry_run).await
        },
        |r: &Reaped| name_of(&r.result),
    )
    .await)
}

fn report(dry_run: bool, results: Vec<Reaped>) -> ReapReport {
    ReapReport {
        command: Verb::Reap,
        dry_run,
        expired: results.len(),
        failed: results.iter().filter(|r| r.result == ReapState::Failed).count(),
        results,
    }
}

async fn reap_one(deps: &Deps<'_>, target: &Target, expires_at: String, dry_run: bool) -> Reaped {
    let mut reaped = Reaped {
        customer: target.customer.to_string(),
        environment: target.env.to_string(),
        expires_at,
        sha: None,
        result: ReapState::NeverApplied,
        destroyed: None,
        message: None,
        attempts: Vec::new(),
    };
    match destroy(deps, target, dry_run, &mut reaped).await {
        Ok(state) => reaped.result = state,
        Err(error) => {
            reaped.result = ReapState::Failed;
            reaped.message = Some(truncate_chars(&error.status_line(), crate::limits::RECORD_MESSAGE_CHARS));
        }
    }
    reaped
}

/// The destroy path: a destroy plan of the configuration last applied, then its apply.
async fn destroy(deps: &Deps<'_>, target: &Target, dry_run: bool, out: &mut Reaped) -> Result<ReapState, CommandError> {
    let Some(sha) = last_applied_sha(deps.store, target).await? else { return Ok(ReapState::NeverApplied) };
    out.sha = Some(sha.to_string());
    if dry_run {
        return Ok(ReapState::WouldReap);
    }
    let req = Request { target: target.clone(), sha, pull_request: None };
    // A transient failure that moved the state is retried here, with a new destroy plan (no
    // reviewer approved the old one: the expiry is the approval); the apply retries the
    // same plan itself while the state is unchanged.
    let mut earlier = Vec::new();
    loop {
        // No reviewer reads this plan: counts only (`init` and `plan`, no `show`).
        let planned = plan_with(deps, &req, PlanKind::Destroy, PlanDetail::Counts).await?;
        if !planned.summary.has_changes() {
            return Ok(ReapState::AlreadyEmpty);
        }
        match apply_again(deps, &req, earlier).await {
            Ok(applied) => {
                out.destroyed = Some(applied.meta.destroy);
                out.attempts = applied.attempts;
                return Ok(ReapState::Reaped);
            }
            Err(error) => match error.retry() {
                Some(RetryError::ReplanNeeded { attempts, .. }) => {
                    earlier = attempts.clone();
                    retry::backoff(&deps.config.retry, &mut earlier, &deps.cancel).await?;
                }
                Some(stopped) => {
                    out.attempts = stopped.attempts().to_vec();
                    return Err(error);
                }
                None => return Err(error),
            },
        }
    }
}
