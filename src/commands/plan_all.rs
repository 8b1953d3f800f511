//! `plan --all`: re-plan every target of the fleet (registered customers and the tenant
//! files at the manager checkout's head) in one process, after a change to the modules. Plan only: nothing is stored, applied, or written to customer
//! repositories; each plan is recorded, and the table says what each target would do.

use std::time::Instant;

use serde::Serialize;

use super::target::{FleetHosts, publish};
use crate::change_scope;
use crate::cli::{PlanArgs, Verb};
use crate::codehost::Provenance;
use crate::config::Config;
use crate::context::Context;
use crate::error::{CommandError, Status};
use crate::fleet;
use crate::identity::{Owner, Sha, Target};
use crate::local_host::LocalHost;
use crate::pipeline::{Deps, Request};
use crate::report::fleet::{FleetReport, FleetRow, Layout, counts};
use crate::report::markdown::code;
use crate::report::{name_of, truncate_chars};
use crate::tenants::git::ManagerRepo;

/// One target's re-plan.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TargetPlan {
    pub customer: String,
    pub environment: String,
    /// The commit planned: the head of the customer's default branch.
    pub sha: Option<String>,
    pub status: Status,
    /// When the target expired, if it has: it is not planned (`reap` destroys it).
    pub expired: Option<String>,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    pub seconds: f64,
    /// Why it failed: one line, bounded.
    pub message: Option<String>,
}

/// Every target's re-plan: the fleet report ([`FleetReport`]).
pub type FleetPlan = FleetReport<TargetPlan>;

impl FleetRow for TargetPlan {
    fn target(&self) -> (&str, &str, Option<&str>) {
        (&self.customer, &self.environment, self.sha.as_deref())
    }

    fn result(&self) -> String {
        outcome_cell(self)
    }

    fn after_result(&self) -> Vec<String> {
        vec![crate::duration::human(std::time::Duration::from_secs_f64(self.seconds))]
    }
}

/// The report of `results`, with its counts.
pub fn report(results: Vec<TargetPlan>) -> FleetPlan {
    let changed = results
        .iter()
        .filter(|r| r.status == Status::Ok && r.add.unwrap_or(0) + r.change.unwrap_or(0) + r.destroy.unwrap_or(0) > 0)
        .count();
    let failed = results.iter().filter(|r| r.status != Status::Ok).count();
    let targets = results.len();
    FleetReport {
        command: Verb::Plan,
        counts: counts(&[("targets", targets.into()), ("changed", changed.into()), ("failed", failed.into())]),
        results,
        orphans: None,
        shard: None,
        changes: None,
        github: None,
        layout: Layout {
            title: "plan --all".to_owned(),
            summary: Some(format!("{targets} targets: {changed} with changes, {failed} failed.")),
            after_result: &["Time"],
            failed: failed > 0,
            outputs: &["changed", "failed"],
            header_when_empty: true,
            ..Layout::default()
        },
    }
}

/// The Result cell: counts, or the failure's first line as a code span (Terraform's text
/// can carry customer values).
fn outcome_cell(r: &TargetPlan) -> String {
    if let Some(at) = &r.expired {
        return format!("⏳ expired at {}: not planned (`reap` destroys it)", code(at));
    }
    match (r.status, r.add, r.change, r.destroy) {
        (Status::Ok, Some(add), Some(change), Some(destroy)) => {
            let phrase = fleet::counts_phrase(add, change, destroy);
            if destroy > 0 { format!("⚠ {phrase}") } else { phrase }
        }
        _ => format!("❌ {}: {}", name_of(&r.status), code(r.message.as_deref().unwrap_or("failed"))),
    }
}

fn describe(r: &TargetPlan) -> String {
    if r.expired.is_some() {
        return "expired".to_owned();
    }
    match (r.status, r.add, r.change, r.destroy) {
        (Status::Ok, Some(add), Some(change), Some(destroy)) => fleet::counts_phrase(add, change, destroy),
        _ => format!("{}: {}", name_of(&r.status), r.message.as_deref().unwrap_or_default()),
    }
}

pub async fn run(ctx: &Context<'_>, args: &PlanArgs) -> Result<FleetPlan, CommandError> {
    let config = ctx.config().await?;
    let manager = ctx.manager_repo(&args.target.manager.repo);
    let mut selection = fleet::select(config, &manager, fleet::Filter::default()).await?;
    let all = selection.keep_shard(args.shard);
    let targets = selection.targets();
    let sources = FleetHosts::new(config, args.source_root.as_deref(), &manager)?;
    let (files, reporter) = sources.hosts(ctx, &targets).await?;
    let github = match sources.local() {
        None if targets.iter().any(|t| matches!(t.owner, Owner::Customer(_))) => Some(ctx.github().await?),
        _ => None,
    };
    let commits = Commits { github: github.map(|g| g as &dyn Provenance), local: sources.local(), manager: &manager };
    let (targets, changes) = match &args.changed_since {
        Some(since) => {
            let scope = changed_scope(ctx, config, &manager, since).await?;
            let (kept, changes) = select_changed(config, &files, &commits, &scope, since, targets).await;
            (kept, Some(changes))
        }
        None => (targets, None),
    };
    let work = ctx.work_root().await?;
    let parallel = args.parallel.map_or_else(fleet::default_parallel, usize::from);
    ctx.run_in_parallel(parallel);
    let deps = ctx.deps(&files, &reporter, &work).await?;
    let now = jiff::Timestamp::now();
    let results = fleet::each(
        &targets,
        parallel,
        async |t: &Target| {
            let expired =
                selection.targets.iter().find(|s| &s.target == t).and_then(|s| s.expires_at).filter(|at| *at <= now);
            plan_one(&deps, &commits, t, expired).await
        },
        describe,
    )
    .await;
    let mut report = report(results).of_shard(args.shard, &all);
    report.changes = changes;
    publish(&ctx.settings.runner, &mut report);
    Ok(report)
}

/// What changed in the manager checkout since `since`, as [`change_scope::Scope`].
async fn changed_scope(
    ctx: &Context<'_>,
    config: &Config,
    manager: &ManagerRepo,
    since: &str,
) -> Result<change_scope::Scope, CommandError> {
    let base = manager.commit(since).await?;
    let head = manager.commit("HEAD").await?;
    let changed = manager.changed_paths(&base, &head).await?;
    let root = std::fs::canonicalize(manager.dir()).unwrap_or_else(|_| manager.dir().to_path_buf());
    let relative = |path: &std::path::Path| {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        path.strip_prefix(&root).ok().map(|r| r.to_string_lossy().into_owned())
    };
    let modules_dir = relative(&config.terraform.modules_dir);
    let config_path = relative(&ctx.settings.config_path);
    let old = match &config_path {
        Some(path) => match manager.read(&base, path).await {
            Ok(Some(text)) => {
                let dir = std::path::absolute(&ctx.settings.config_path)
                    .ok()
                    .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or_default();
                Config::parse(path, &text, &dir).ok()
            }
            _ => None,
        },
        None => None,
    };
    let layout = change_scope::Layout { modules_dir: modules_dir.as_deref(), config: config_path.as_deref() };
    Ok(change_scope::scope(&changed, &layout, old.as_ref(), config))
}

/// The targets `scope` selects (each target's file read at its head to tell what it
/// renders), and the selection as the report shows it.
async fn select_changed(
    config: &Config,
    files: &dyn crate::codehost::Files,
    commits: &Commits<'_>,
    scope: &change_scope::Scope,
    since: &str,
    targets: Vec<Target>,
) -> (Vec<Target>, change_scope::ChangeSelection) {
    let mut kept = Vec::new();
    let mut selected = Vec::new();
    let total = targets.len();
    for target in targets {
        let uses = if scope.all.is_none() && !scope.owners.contains_key(&target.owner) {
            uses(config, files, commits, &target).await
        } else {
            None
        };
        if let Some(why) = change_scope::why(scope, &target.owner, uses.as_ref()) {
            crate::output::log(&format!("selected {} {}: {why}", target.owner, target.env));
            selected.push(change_scope::SelectedTarget {
                customer: target.owner.to_string(),
                environment: target.env.to_string(),
                why,
            });
            kept.push(target);
        }
    }
    let skipped = total - kept.len();
    crate::output::log(&format!("--changed-since {since}: {} of {total} targets selected", kept.len()));
    let changes = change_scope::ChangeSelection { since: since.to_owned(), all: scope.all.clone(), selected, skipped };
    (kept, changes)
}

/// The modules `target`'s file renders at its head, and its tier; `None` when the file
/// can't be read or checked (a doubt: the caller selects it).
async fn uses(
    config: &Config,
    files: &dyn crate::codehost::Files,
    commits: &Commits<'_>,
    target: &Target,
) -> Option<change_scope::Uses> {
    let sha = commits.head(target).await.ok()?;
    let text = files.read_file(&target.owner, &target.owner.file(), &sha).await.ok()??;
    let modules = match crate::pipeline::prepare::validate(config, &target.owner, &text).ok()? {
        crate::pipeline::prepare::Validated::V1(_) => [config.terraform.module.clone()].into(),
        crate::pipeline::prepare::Validated::V2(file, _) => file
            .components
            .iter()
            .filter_map(|c| config.catalog.types.iter().find(|t| t.name == c.type_name).map(|t| t.module.clone()))
            .collect(),
    };
    let tier = config.registration(&target.owner).map(|r| r.tier.to_owned());
    Some(change_scope::Uses { modules, tier })
}

/// Where each target's commit comes from: a customer's default branch head (or, locally,
/// its checkout's stand-in commit); a tenant's file at the manager checkout's head.
struct Commits<'a> {
    github: Option<&'a dyn Provenance>,
    local: Option<&'a LocalHost>,
    manager: &'a ManagerRepo,
}

impl Commits<'_> {
    async fn head(&self, target: &Target) -> Result<Sha, CommandError> {
        match (&target.owner, self.local, self.github) {
            (Owner::Tenant(_), _, _) => Ok(self.manager.commit("HEAD").await?),
            (Owner::Customer(repo), Some(local), _) => Ok(local.head(repo)?),
            (Owner::Customer(repo), None, Some(github)) => Ok(github.default_branch(repo).await?.head),
            (Owner::Customer(_), None, None) => {
                Err(CommandError::usage("no source for customer files", "pass `--source-root DIR` or a GitHub token"))
            }
        }
    }
}

async fn plan_one(
    deps: &Deps<'_>,
    commits: &Commits<'_>,
    target: &Target,
    expired: Option<jiff::Timestamp>,
) -> TargetPlan {
    let started = Instant::now();
    let mut result = TargetPlan {
        customer: target.owner.to_string(),
        environment: target.env.to_string(),
        sha: None,
        status: Status::Ok,
        expired: None,
        add: None,
        change: None,
        destroy: None,
        seconds: 0.0,
        message: None,
    };
    // An expired target is not planned (only `reap` destroys it), and not a failure.
    if let Some(at) = expired {
        result.expired = Some(at.to_string());
        return result;
    }
    let planned = match commits.head(target).await {
        Ok(sha) => {
            result.sha = Some(sha.to_string());
            let req = Request::new(target.clone(), sha);
            crate::pipeline::plan::preview(deps, &req).await
        }
        Err(e) => Err(e),
    };
    match planned {
        Ok(summary) => {
            (result.add, result.change, result.destroy) =
                (Some(summary.add), Some(summary.change), Some(summary.destroy));
        }
        Err(error) => {
            result.status = error.status();
            // The first problem with its place says more than "has 1 problem".
            let line = match error.diagnostics().first() {
                Some(d) => format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message),
                None => error.status_line(),
            };
            result.message = Some(truncate_chars(&line, crate::limits::RECORD_MESSAGE_CHARS));
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}
