//! `drift`: re-plan the configuration each target last applied, without applying; report
//! drift (an open pull request's plan is never mistaken for it).
//! Local mode checks one directory; on GitHub every registered customer (or one).

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::{append_summary, local_customer, local_host, set_outputs};
use crate::cli::{DriftArgs, Verb};
use crate::codehost::CodeHost;
use crate::config::Config;
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};
use crate::identity::{CustomerId, EnvName, Target};
use crate::output;
use crate::pipeline::drift::{DriftResult, DriftState, check};
use crate::report::markdown::code;
use crate::report::prefix;

/// Every target's result, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct DriftReport {
    pub command: Verb,
    pub drifted: usize,
    pub errors: usize,
    pub results: Vec<DriftResult>,
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
        Ok(())
    }
}

pub async fn run(ctx: &Context<'_>, args: &DriftArgs) -> Result<DriftReport, CommandError> {
    let config = ctx.config().await?;
    let only_env = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let local;
    let (host, targets): (&dyn CodeHost, Vec<Target>) = match &args.source_dir {
        Some(dir) => {
            local = local_host(dir)?;
            let customer = local_customer(args.customer.as_deref(), dir)?;
            let targets = config
                .environments
                .iter()
                .filter(|(env, _)| only_env.as_ref().is_none_or(|only| only == env))
                .map(|(env, _)| Target { customer: customer.clone(), env: env.clone() })
                .collect();
            (&local, targets)
        }
        None => {
            let targets = fleet(config, args.customer.as_deref(), only_env.as_ref())?;
            (ctx.github().await?, targets)
        }
    };
    // Refused before any target is checked when there is nowhere to open issues.
    let issues = if args.open_issues { Some(crate::drift_issues::tracker(ctx).await?) } else { None };
    let work = ctx.work_root().await?;
    let deps = ctx.deps(host, &work, "drift".to_owned()).await?;
    let parallel = args
        .parallel
        .map_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get), usize::from);
    let results = check_all(&deps, &targets, parallel).await;
    let count = |state: DriftState| results.iter().filter(|r| r.result == state).count();
    let report = DriftReport {
        command: Verb::Drift,
        drifted: count(DriftState::Drifted),
        errors: count(DriftState::Error),
        results,
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

/// Checks every target, `parallel` at a time, each in its own working directory; one
/// failure never stops the others. A progress line goes to the log as each finishes;
/// the results come back in the targets' order.
async fn check_all(deps: &crate::pipeline::Deps<'_>, targets: &[Target], parallel: usize) -> Vec<DriftResult> {
    use futures_util::stream::{self, StreamExt};
    let total = targets.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, DriftResult)> = stream::iter(targets.iter().enumerate())
        .map(|(index, target)| {
            let done = &done;
            async move {
                let started = std::time::Instant::now();
                let result = check(deps, target).await;
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                output::log(&format!(
                    "[{finished}/{total}] {} {}: {} ({:.1} s)",
                    target.customer,
                    target.env,
                    crate::report::name_of(&result.result),
                    started.elapsed().as_secs_f64()
                ));
                (index, result)
            }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Every registered customer environment (optionally one customer or environment).
fn fleet(config: &Config, customer: Option<&str>, env: Option<&EnvName>) -> Result<Vec<Target>, CommandError> {
    if !config.has_registry() {
        return Err(CommandError::usage(
            "no customers are registered in infra-manager.yml",
            "use `--source-dir DIR` for a local check",
        ));
    }
    let only = customer.map(CustomerId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    Ok(config
        .customers
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o == &c.repo))
        .flat_map(|c| c.environments.iter().map(move |e| Target { customer: c.repo.clone(), env: e.clone() }))
        .filter(|t| env.is_none_or(|e| e == &t.env))
        .collect())
}
