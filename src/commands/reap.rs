//! `reap`: destroy every environment whose `expires_at` has passed, through the destroy
//! path (a destroy plan of the configuration last applied, stored, then applied with the
//! checks of any apply). The registry entry's expiry is the approval. `--dry-run` lists.

use serde::Serialize;

use super::target::{FleetHosts, publish};
use crate::cli::{ReapArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::fleet;
use crate::identity::Target;
use crate::pipeline::admit::last_applied;
use crate::pipeline::apply::apply_again;
use crate::pipeline::destroy::{self, Verdict};
use crate::pipeline::plan::plan_with;
use crate::pipeline::prepare::{fetch, validate};
use crate::pipeline::retry::{self, Attempt, RetryError};
use crate::pipeline::{Deps, DestroyReason, Request};
use crate::report::fleet::{FleetReport, FleetRow, Layout, counts};
use crate::report::markdown::code;
use crate::report::{name_of, truncate_chars};
use crate::store::RunKind;
use crate::tenants::git::ManagerRepo;
use crate::terraform::{PlanDetail, PlanKind};

/// What reaping one environment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// Expired, but it holds a protected component its applied configuration does not
    /// allow to destroy: nothing of it was destroyed.
    ExpiredProtected,
    Failed,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

/// What reaping did: the fleet report ([`FleetReport`]).
pub type ReapReport = FleetReport<Reaped>;

impl FleetRow for Reaped {
    fn target(&self) -> (&str, &str, Option<&str>) {
        (&self.customer, &self.environment, self.sha.as_deref())
    }

    fn before_commit(&self) -> Vec<String> {
        vec![code(&self.expires_at)]
    }

    // The emoji are written without a variation selector (U+FE0F): the table is printed
    // on the terminal too, whose one escaping rule writes that invisible character out.
    fn result(&self) -> String {
        match (self.result, self.destroyed) {
            (ReapState::Reaped, Some(n)) => format!("🗑 reaped: {n} destroyed"),
            (ReapState::Failed, _) => format!("❌ {}", code(self.message.as_deref().unwrap_or("failed"))),
            // The message says `expired, protected: …` and why.
            (ReapState::ExpiredProtected, _) => {
                format!("🛡 {}", code(self.message.as_deref().unwrap_or("expired, protected")))
            }
            (state, _) => name_of(&state),
        }
    }
}

pub async fn run(ctx: &Context<'_>, args: &ReapArgs) -> Result<ReapReport, CommandError> {
    let config = ctx.config().await?;
    let now = jiff::Timestamp::now();
    let manager = ctx.manager_repo(&args.manager.repo);
    // The fleet's one selection: registered customers, and the tenant files at the manager
    // checkout's head (one that can't be read is a warning; the others are reaped).
    let mut selection = fleet::select(config, &manager, fleet::Filter::default()).await?;
    let all = selection.keep_shard(args.shard);
    let due: Vec<(Target, jiff::Timestamp)> = selection
        .targets
        .iter()
        .filter_map(|s| s.expires_at.filter(|at| *at <= now).map(|at| (s.target.clone(), at)))
        .collect();
    let results = if due.is_empty() { Vec::new() } else { reap_all(ctx, args, &manager, &due).await? };
    let mut report = report(args.dry_run, results).of_shard(args.shard, &all);
    publish(&ctx.settings.runner, &mut report);
    Ok(report)
}

/// Reaps `due` (targets and their expiry), `--parallel` at a time.
async fn reap_all(
    ctx: &Context<'_>,
    args: &ReapArgs,
    manager: &ManagerRepo,
    due: &[(Target, jiff::Timestamp)],
) -> Result<Vec<Reaped>, CommandError> {
    let config = ctx.config().await?;
    let targets: Vec<Target> = due.iter().map(|(t, _)| t.clone()).collect();
    let sources = FleetHosts::new(config, args.source_root.as_deref(), manager)?;
    let (files, reporter) = sources.hosts(ctx, &targets).await?;
    let work = ctx.work_root().await?;
    let parallel = args.parallel.map_or_else(fleet::default_parallel, usize::from);
    ctx.run_in_parallel(parallel);
    let deps = ctx.deps(&files, &reporter, &work).await?;
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

/// The report of `results`; an expired target that could not be reaped fails the run (one
/// that is protected does not: it is reported, as the rule asks).
pub fn report(dry_run: bool, results: Vec<Reaped>) -> ReapReport {
    let (expired, failed) = (results.len(), results.iter().filter(|r| r.result == ReapState::Failed).count());
    FleetReport {
        command: Verb::Reap,
        counts: counts(&[("dry_run", dry_run.into()), ("expired", expired.into()), ("failed", failed.into())]),
        results,
        orphans: None,
        shard: None,
        changes: None,
        github: None,
        layout: Layout {
            title: if dry_run { "reap --dry-run" } else { "reap" }.to_owned(),
            summary: Some(format!("{expired} expired environments, {failed} failed.")),
            before_commit: &["Expired at"],
            failed: failed > 0,
            outputs: &["expired", "failed"],
            ..Layout::default()
        },
    }
}

async fn reap_one(deps: &Deps<'_>, target: &Target, expires_at: String, dry_run: bool) -> Reaped {
    let mut reaped = Reaped {
        customer: target.owner.to_string(),
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

/// The destroy path: a destroy plan of the configuration last applied, then its apply. A
/// target holding a protected component without `allow_destroy: true` is not destroyed:
/// it is reported `expired, protected`, with a warning and a record.
async fn destroy(deps: &Deps<'_>, target: &Target, dry_run: bool, out: &mut Reaped) -> Result<ReapState, CommandError> {
    let Some(applied) = last_applied(deps.store, target).await? else { return Ok(ReapState::NeverApplied) };
    out.sha = Some(applied.sha.to_string());
    let req = Request { destroy_reason: DestroyReason::Expiry, ..Request::new(target.clone(), applied.sha.clone()) };
    let file = fetch(deps.files, &req).await.and_then(|text| validate(deps.config, &target.owner, &text));
    let file = file.map_err(|e| destroy::unreadable(target, &applied.sha, &e))?;
    if let Verdict::Protected(refused) = destroy::verdict(target, &applied.sha, &file) {
        let message = protected_message(&refused);
        crate::actions::warning(&mut std::io::stderr(), &format!("{target}: {message}"));
        out.message = Some(truncate_chars(&message, crate::limits::RECORD_MESSAGE_CHARS));
        if !dry_run {
            record_protected(deps, &req, &message).await;
        }
        return Ok(ReapState::ExpiredProtected);
    }
    if dry_run {
        return Ok(ReapState::WouldReap);
    }
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

/// One line naming the protected components and what allows their destruction.
fn protected_message(refused: &[crate::diagnostic::Diagnostic]) -> String {
    let first =
        refused.first().map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message)).unwrap_or_default();
    let hint = refused.first().and_then(|d| d.hint.clone()).unwrap_or_default();
    format!("expired, protected: nothing was destroyed; {first}; {hint}")
}

/// The record of a reap that destroyed nothing because of protected components: a destroy
/// that did not run, with why, so `history` shows it.
async fn record_protected(deps: &Deps<'_>, req: &Request, message: &str) {
    let mut record = crate::pipeline::frame::new_record(deps, RunKind::Destroy, req);
    record.status = crate::store::RunStatus::Failed;
    record.finished_at = Some(crate::pipeline::now());
    record.message = Some(truncate_chars(message, crate::limits::RECORD_MESSAGE_CHARS));
    if let Err(e) = deps.store.record_run(&record).await {
        crate::output::log(&format!("warning: could not record the protected reap of {}: {e}", req.target));
    }
}
