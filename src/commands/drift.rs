//! `drift`: re-plan the configuration each target last applied, without applying; report
//! drift (an open pull request's plan is never mistaken for it).
//! Local mode checks one directory; on GitHub every registered customer (or one).

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::{FleetHosts, append_summary, local_customer, local_host, set_outputs};
use crate::cli::{DriftArgs, Verb};
use crate::codehost::{Files, LogReporter, Reporter};
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};
use crate::identity::{EnvName, Owner, Target};
use crate::orphans::Orphan;
use crate::pipeline::drift::{DriftResult, DriftState, check};
use crate::report::markdown::code;
use crate::report::prefix;
use crate::tenants::git::ManagerRepo;

/// Every target's result, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct DriftReport {
    pub command: Verb,
    pub drifted: usize,
    pub errors: usize,
    pub results: Vec<DriftResult>,
    /// States without a registry entry (a whole-fleet run only): reported, never destroyed.
    pub orphans: Vec<Orphan>,
}

impl Outcome for DriftReport {
    /// Its own `command` and counts (`errors` is a count here).
    const ENVELOPE: bool = false;

    /// A target that could not be checked fails the run; drift alone does not.
    fn exit_status(&self) -> ExitStatus {
        if self.errors > 0 { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

/// The job summary table.
impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "## infra-manager drift\n")?;
        writeln!(f, "| Customer | Environment | Commit | Result |\n| --- | --- | --- | --- |")?;
        for r in &self.results {
            let sha = r.sha.as_deref().map_or("—", |s| prefix(s, 7));
            let detail = match r.result {
                DriftState::Drifted => format!(
                    "⚠️ drifted: {} changed outside Terraform; {} to add, {} to change, {} to destroy",
                    r.changed_outside, r.add, r.change, r.destroy
                ),
                DriftState::InSync => "✅ in sync".to_owned(),
                DriftState::NeverApplied => "never applied".to_owned(),
                // Terraform's error text can carry customer values: a code span, one line.
                DriftState::Error => {
                    format!("❌ {}", code(r.message.as_deref().unwrap_or("error").lines().next().unwrap_or_default()))
                }
            };
            writeln!(f, "| {} | {} | {} | {detail} |", code(&r.customer), code(&r.environment), code(sha))?;
        }
        if !self.orphans.is_empty() {
            write!(f, "\n{}", crate::orphans::summary_section(&self.orphans))?;
        }
        Ok(())
    }
}

pub async fn run(ctx: &Context<'_>, args: &DriftArgs) -> Result<DriftReport, CommandError> {
    let config = ctx.config().await?;
    let only_env = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let manager = ManagerRepo::new(&args.manager.repo);
    let local;
    let fleet;
    let owners;
    let mut selection = None;
    // A drift check sets no commit status: it reports to the log, the summary and issues.
    let (files, reporter, targets): (&dyn Files, &dyn Reporter, Vec<Target>) = match &args.source_dir {
        Some(dir) => {
            local = local_host(config, dir)?;
            let customer = Owner::Customer(local_customer(args.customer.as_deref(), dir)?);
            let targets = config
                .environments
                .iter()
                .filter(|(env, _)| only_env.as_ref().is_none_or(|only| only == env))
                .map(|(env, _)| Target { owner: customer.clone(), env: env.clone() })
                .collect();
            (&local, &LogReporter { name_owner: true }, targets)
        }
        None => {
            // Names are checked before anything is read.
            let only = match (&args.customer, &args.tenant) {
                (None, None) => None,
                (customer, tenant) => Some(super::history::owner_of(customer.as_deref(), tenant.as_deref())?),
            };
            let filter = crate::fleet::Filter { owner: only.as_ref(), env: only_env.as_ref() };
            let selected = crate::fleet::select(config, &manager, filter).await?;
            let targets = selected.targets();
            selection = Some(selected);
            fleet = FleetHosts::new(config, args.source_root.as_deref(), &manager)?;
            owners = fleet.hosts(ctx, &targets).await?;
            (&owners.0, &owners.1, targets)
        }
    };
    // Refused before any target is checked when there is nowhere to open issues.
    let issues = if args.open_issues { Some(crate::drift_issues::tracker(ctx).await?) } else { None };
    let work = ctx.work_root().await?;
    let parallel = args.parallel.map_or_else(crate::fleet::default_parallel, usize::from);
    ctx.run_in_parallel(parallel);
    let deps = ctx.deps(files, reporter, &work).await?;
    let results = crate::fleet::each(
        &targets,
        parallel,
        async |t: &Target| check(&deps, t).await,
        |r: &DriftResult| crate::report::name_of(&r.result),
    )
    .await;
    // The whole fleet was checked: states outside it are orphans.
    let whole_fleet = args.customer.is_none() && args.tenant.is_none() && only_env.is_none();
    let orphans = match &selection {
        Some(selection) if whole_fleet => {
            super::targets::orphans_warned(ctx, args.source_root.as_deref(), selection).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let count = |state: DriftState| results.iter().filter(|r| r.result == state).count();
    let report = DriftReport {
        command: Verb::Drift,
        drifted: count(DriftState::Drifted),
        errors: count(DriftState::Error),
        results,
        orphans,
    };
    let runner = &ctx.settings.runner;
    set_outputs(
        runner.output.as_deref(),
        &[("drifted", report.drifted.to_string()), ("errors", report.errors.to_string())],
    );
    append_summary(runner.summary.as_deref(), &report.to_string());
    if let Some(tracker) = &issues {
        crate::drift_issues::sync(&report.results, tracker, runner.run_url.as_deref()).await?;
    }
    Ok(report)
}
