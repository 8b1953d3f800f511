//! `drift`: re-plan the configuration each target last applied, without applying; report
//! drift (an open pull request's plan is never mistaken for it).
//! Local mode checks one directory; on GitHub every registered customer (or one).

use super::target::{FleetHosts, local_customer, local_host, publish};
use crate::cli::{DriftArgs, Verb};
use crate::codehost::{Files, LogReporter, Reporter};
use crate::config::Config;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner, Target};
use crate::orphans::Orphan;
use crate::pipeline::drift::{DriftResult, DriftState, check, named};
use crate::report::fleet::{FleetReport, FleetRow, Layout, counts};
use crate::report::markdown::code;

/// How many drifted resources a table row names, and attributes of each.
const TABLE_RESOURCES: usize = 3;
const TABLE_ATTRIBUTES: usize = 3;

/// Every target's result: the fleet report ([`FleetReport`]), with the orphaned states.
pub type DriftReport = FleetReport<DriftResult>;

impl FleetRow for DriftResult {
    fn target(&self) -> (&str, &str, Option<&str>) {
        (&self.customer, &self.environment, self.sha.as_deref())
    }

    fn result(&self) -> String {
        match self.result {
            DriftState::Drifted => {
                let mut cell = format!(
                    "⚠ drifted: {} changed outside Terraform; {} to add, {} to change, {} to destroy",
                    self.changed_outside, self.add, self.change, self.destroy
                );
                // What drifted, each resource with the attributes that differ: customer
                // data, as code spans.
                let named: Vec<String> =
                    self.resources.iter().take(TABLE_RESOURCES).map(|d| code(&named(d, TABLE_ATTRIBUTES))).collect();
                if !named.is_empty() {
                    cell.push_str(&format!(": {}", named.join(", ")));
                }
                let more = usize::try_from(self.resources_drifted).unwrap_or(usize::MAX).saturating_sub(named.len());
                if more > 0 {
                    cell.push_str(&format!(" and {more} more"));
                }
                cell
            }
            DriftState::InSync => "✅ in sync".to_owned(),
            DriftState::NeverApplied => "never applied".to_owned(),
            // Terraform's error text can carry customer values: a code span, one line.
            DriftState::Error => {
                format!("❌ {}", code(self.message.as_deref().unwrap_or("error").lines().next().unwrap_or_default()))
            }
        }
    }
}

/// Whether any target drifted (`--exit-code`).
pub fn drifted(report: &DriftReport) -> bool {
    report.results.iter().any(|r| r.result == DriftState::Drifted)
}

/// The report of `results` and `orphans`; a target that could not be checked fails the
/// run, drift alone does not.
pub fn report(results: Vec<DriftResult>, orphans: Vec<Orphan>) -> DriftReport {
    let count = |state: DriftState| results.iter().filter(|r| r.result == state).count();
    let (drifted, errors) = (count(DriftState::Drifted), count(DriftState::Error));
    FleetReport {
        command: Verb::Drift,
        counts: counts(&[("drifted", drifted.into()), ("errors", errors.into())]),
        results,
        orphans: Some(orphans),
        shard: None,
        changes: None,
        github: None,
        layout: Layout {
            title: "drift".to_owned(),
            failed: errors > 0,
            header_when_empty: true,
            outputs: &["drifted", "errors"],
            ..Layout::default()
        },
    }
}

/// The targets `--source-dir` checks: the environments the registry enables for the
/// customer, as `fleet::select` does for the fleet (every configured one when it has no
/// entry: admission then says why), or only `--env`'s.
fn local_targets(config: &Config, customer: &Owner, only: Option<&EnvName>) -> Vec<Target> {
    let registration = config.registration(customer);
    config
        .environments
        .iter()
        .map(|(env, _)| env)
        .filter(|env| only.is_none_or(|only| only == *env))
        .filter(|env| registration.as_ref().is_none_or(|r| r.allows(env)))
        .map(|env| Target { owner: customer.clone(), env: env.clone() })
        .collect()
}

pub async fn run(ctx: &Context<'_>, args: &DriftArgs) -> Result<DriftReport, CommandError> {
    let config = ctx.config().await?;
    let only_env = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let manager = ctx.manager_repo(&args.manager.repo);
    let local;
    let fleet;
    let owners;
    let mut selection = None;
    let mut all = Vec::new();
    // A drift check sets no commit status: it reports to the log, the summary and issues.
    let (files, reporter, targets): (&dyn Files, &dyn Reporter, Vec<Target>) = match &args.source_dir {
        Some(dir) => {
            local = local_host(config, dir)?;
            let customer = Owner::Customer(local_customer(args.customer.as_deref(), dir)?);
            (&local, &LogReporter { name_owner: true }, local_targets(config, &customer, only_env.as_ref()))
        }
        None => {
            // Names are checked before anything is read.
            let only = match (&args.customer, &args.tenant) {
                (None, None) => None,
                (customer, tenant) => Some(super::history::owner_of(customer.as_deref(), tenant.as_deref())?),
            };
            let filter = crate::fleet::Filter { owner: only.as_ref(), env: only_env.as_ref() };
            let whole = crate::fleet::select(config, &manager, filter).await?;
            let mut selected = whole.clone();
            all = selected.keep_shard(args.shard);
            let targets = selected.targets();
            // Orphans are states outside the whole list, not outside this shard.
            selection = Some(whole);
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
            super::targets::orphans_warned(ctx, args.source_root.as_deref(), selection, false).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut report = report(results, orphans).of_shard(args.shard, &all);
    let runner = &ctx.settings.runner;
    // The issues first, so the report counts their calls; a failed sync after the report.
    let synced = match &issues {
        Some(tracker) => crate::drift_issues::sync(&report.results, tracker, runner.run_url.as_deref()).await.map(drop),
        None => Ok(()),
    };
    publish(runner, &mut report);
    synced?;
    Ok(report)
}
