//! `plan --all`: re-plan every registered (customer, environment) in one process, after a
//! change to the modules. Plan only: nothing is stored, applied, or written to customer
//! repositories; each plan is recorded, and the table says what each target would do.

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use super::Outcome;
use super::target::{append_summary, set_outputs};
use crate::cli::{PlanArgs, Verb};
use crate::codehost::{CodeHost, Provenance};
use crate::context::Context;
use crate::error::{CommandError, ExitStatus, Status};
use crate::fleet;
use crate::identity::{Sha, Target};
use crate::local_host::LocalHost;
use crate::pipeline::{Deps, Request};
use crate::report::markdown::code;
use crate::report::{name_of, prefix, truncate_chars};

/// One target's re-plan.
#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    pub customer: String,
    pub environment: String,
    /// The commit planned: the head of the customer's default branch.
    pub sha: Option<String>,
    pub status: Status,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    pub seconds: f64,
    /// Why it failed: one line, bounded.
    pub message: Option<String>,
}

/// Every target's re-plan, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct FleetPlan {
    pub command: Verb,
    pub targets: usize,
    pub changed: usize,
    pub failed: usize,
    pub results: Vec<TargetPlan>,
}

impl Outcome for FleetPlan {
    /// Its own `command` and counts.
    const ENVELOPE: bool = false;

    /// One failed target fails the run; the others were still planned.
    fn exit_status(&self) -> ExitStatus {
        if self.failed > 0 { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

/// The job summary table (text mode prints it too).
impl fmt::Display for FleetPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "## infra-manager plan --all\n")?;
        writeln!(f, "{} targets: {} with changes, {} failed.\n", self.targets, self.changed, self.failed)?;
        writeln!(f, "| Customer | Environment | Commit | Result | Time |\n| --- | --- | --- | --- | --- |")?;
        for r in &self.results {
            let sha = r.sha.as_deref().map_or("—", |s| prefix(s, 7));
            writeln!(
                f,
                "| {} | {} | {} | {} | {:.1} s |",
                code(&r.customer),
                code(&r.environment),
                code(sha),
                outcome_cell(r),
                r.seconds
            )?;
        }
        Ok(())
    }
}

/// The Result cell: counts, or the failure's first line as a code span (Terraform's text
/// can carry customer values).
fn outcome_cell(r: &TargetPlan) -> String {
    match (r.status, r.add, r.change, r.destroy) {
        (Status::Ok, Some(add), Some(change), Some(destroy)) => {
            let phrase = fleet::counts_phrase(add, change, destroy);
            if destroy > 0 { format!("⚠️ {phrase}") } else { phrase }
        }
        _ => format!("❌ {}: {}", name_of(&r.status), code(r.message.as_deref().unwrap_or("failed"))),
    }
}

fn describe(r: &TargetPlan) -> String {
    match (r.status, r.add, r.change, r.destroy) {
        (Status::Ok, Some(add), Some(change), Some(destroy)) => fleet::counts_phrase(add, change, destroy),
        _ => format!("{}: {}", name_of(&r.status), r.message.as_deref().unwrap_or_default()),
    }
}

pub async fn run(ctx: &Context<'_>, args: &PlanArgs) -> Result<FleetPlan, CommandError> {
    let config = ctx.config().await?;
    let targets = fleet::registered(config, None, None)?;
    let local;
    let (host, commits): (&dyn CodeHost, Commits<'_>) = match &args.source_root {
        Some(root) => {
            if !root.is_dir() {
                return Err(CommandError::usage(
                    format!("source root `{}` does not exist", root.display()),
                    "pass a directory holding one checkout per customer at `<owner>/<repo>/`",
                ));
            }
            local = LocalHost::per_customer(root).with_history(&config.local_history_dir());
            (&local, Commits::Local(&local))
        }
        None => {
            let github = ctx.github().await?;
            (github, Commits::DefaultBranch(github))
        }
    };
    let work = ctx.work_root().await?;
    let manager_commit = ctx.settings.runner.manager_commit.clone().unwrap_or_else(|| "local".to_owned());
    let parallel = args.parallel.map_or_else(fleet::default_parallel, usize::from);
    ctx.run_in_parallel(parallel);
    let deps = ctx.deps(host, &work, manager_commit).await?;
    let results =
        fleet::each(&targets, parallel, async |t: &Target| plan_one(&deps, &commits, t).await, describe).await;
    let report = FleetPlan {
        command: Verb::Plan,
        targets: results.len(),
        changed: results
            .iter()
            .filter(|r| {
                r.status == Status::Ok && r.add.unwrap_or(0) + r.change.unwrap_or(0) + r.destroy.unwrap_or(0) > 0
            })
            .count(),
        failed: results.iter().filter(|r| r.status != Status::Ok).count(),
        results,
    };
    let runner = &ctx.settings.runner;
    set_outputs(
        runner.output.as_deref(),
        &[("changed", report.changed.to_string()), ("failed", report.failed.to_string())],
    );
    append_summary(runner.summary.as_deref(), &report.to_string());
    Ok(report)
}

/// Where each target's commit comes from.
enum Commits<'a> {
    /// The head of the customer's default branch.
    DefaultBranch(&'a dyn Provenance),
    /// A local checkout: the file's digest stands in for a commit.
    Local(&'a LocalHost),
}

impl Commits<'_> {
    async fn head(&self, target: &Target) -> Result<Sha, CommandError> {
        match self {
            Commits::DefaultBranch(github) => Ok(github.default_branch(&target.customer).await?.head),
            Commits::Local(host) => Ok(host.head(&target.customer)?),
        }
    }
}

async fn plan_one(deps: &Deps<'_>, commits: &Commits<'_>, target: &Target) -> TargetPlan {
    let started = Instant::now();
    let mut result = TargetPlan {
        customer: target.customer.to_string(),
        environment: target.env.to_string(),
        sha: None,
        status: Status::Ok,
        add: None,
        change: None,
        destroy: None,
        seconds: 0.0,
        message: None,
    };
    let planned = match commits.head(target).await {
        Ok(sha) => {
            result.sha = Some(sha.to_string());
            let req = Request { target: target.clone(), sha, pull_request: None };
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
