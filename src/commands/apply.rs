//! `apply`: apply exactly the stored plan that reviewers saw, or refuse. `--dry-run` runs
//! every check and says what would be applied.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::target;
use super::{Outcome, TargetResult};
use crate::cli::{ApplyArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::pipeline::Request;
use crate::pipeline::apply::{Applied, Mode, apply};
use crate::pipeline::health::Health;
use crate::pipeline::retry::Attempt;
use crate::pipeline::reviewed::Reviewed;
use crate::pipeline::verify::Check;
use crate::report::prefix;

/// An applied (or, with `--dry-run`, verified) plan, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct ApplyOutcome {
    #[serde(flatten)]
    pub result: TargetResult,
    /// Only with `--dry-run`: nothing was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Only with `--dry-run`: the checks that passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<Check>>,
    /// Not with `--dry-run`: the health check after the apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Not with `--dry-run`: the outputs not marked sensitive.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Value>,
    /// Not with `--dry-run`: each attempt at the apply, the last the one that applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// Not with `--dry-run`: the plan applied compared with the plan reviewed on the pull
    /// request merged as the commit, where one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<Reviewed>,
}

impl fmt::Display for ApplyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.result;
        let (add, change, destroy) = (r.add.unwrap_or(0), r.change.unwrap_or(0), r.destroy.unwrap_or(0));
        let plan = r.plan_sha256.as_deref().map_or("", |s| prefix(s, 12));
        let customer = r.customer.as_deref().unwrap_or_default();
        let env = r.environment.as_deref().unwrap_or_default();
        match &self.checks {
            Some(checks) => {
                writeln!(
                    f,
                    "Would apply plan sha256:{plan} to {customer} ({env}): {add} to add, {change} to change, {destroy} to destroy"
                )?;
                let names: Vec<String> = checks.iter().map(crate::report::name_of).collect();
                write!(f, "Checks passed: {}", names.join(", "))
            }
            None => {
                f.write_str(&self.headline())?;
                // As JSON: one line whatever the value holds, never a workflow command.
                for (name, value) in &self.outputs {
                    write!(f, "\n  {name} = {value}")?;
                }
                Ok(())
            }
        }
    }
}

impl Outcome for ApplyOutcome {}

impl ApplyOutcome {
    /// What was applied, and the health check's line. The URL is customer text: only the
    /// job summary names it, escaped.
    fn headline(&self) -> String {
        let r = &self.result;
        let after = match self.attempts.len() {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        let line = format!(
            "Applied plan sha256:{} to {} ({}){after}: {} added, {} changed, {} destroyed",
            r.plan_sha256.as_deref().map_or("", |s| prefix(s, 12)),
            r.customer.as_deref().unwrap_or_default(),
            r.environment.as_deref().unwrap_or_default(),
            r.add.unwrap_or(0),
            r.change.unwrap_or(0),
            r.destroy.unwrap_or(0)
        );
        match &self.health {
            Some(health) => format!("{line}; {}", health.status_line()),
            None => line,
        }
    }
}

pub async fn run(ctx: &Context<'_>, args: &ApplyArgs) -> Result<ApplyOutcome, CommandError> {
    let mut named = args.target.clone();
    if args.last_applied {
        // A placeholder: the commit applied is the one last applied, set below.
        named.sha = Some("0".repeat(40));
    }
    let (mut req, source) = target::request(ctx, &named).await?;
    if args.last_applied {
        req = super::destroy::at_last_applied(ctx, &req).await?;
    }
    req.break_glass.clone_from(&args.break_glass);
    let mode = if args.dry_run { Mode::DryRun } else { Mode::Apply };
    applied(ctx, Verb::Apply, &req, &source, mode).await
}

/// Runs the apply flow for `req` and reports it: on GitHub to the runner (job summary,
/// step outputs), locally as the returned outcome.
pub(super) async fn applied(
    ctx: &Context<'_>,
    verb: Verb,
    req: &Request,
    source: &target::Source,
    mode: Mode,
) -> Result<ApplyOutcome, CommandError> {
    let result = target::with_deps(ctx, verb, req, source, async |deps| apply(deps, req, mode).await)
        .await
        .map(|applied| outcome(req, applied, mode))
        .map_err(|e| e.about(target::subject(req)));
    if source.on_github() {
        let body = result.as_ref().map(|o| (&o.result, summary(o)));
        target::report_to_runner(
            &ctx.settings.runner,
            verb,
            body.as_ref().map(|(r, b)| (*r, b.as_str())).map_err(|e| *e),
        );
        // For later steps: `fromJSON(steps.<id>.outputs.outputs).web_vpc_id`.
        if let Ok(o) = &result {
            let json = serde_json::to_string(&o.outputs).unwrap_or_default();
            target::set_outputs(ctx.settings.runner.output.as_deref(), &[("outputs", json)]);
        }
    }
    result
}

/// The job summary: the status line, the URL polled, and the outputs, every value (module
/// output, so possibly customer text) as a code span.
fn summary(outcome: &ApplyOutcome) -> String {
    use crate::report::markdown::code;
    let mut out = format!("{}.\n{}", outcome.headline(), health_url_line(outcome));
    if let Some(reviewed) = &outcome.reviewed {
        out.push_str(&format!("\n{}", reviewed.markdown()));
    }
    if !outcome.outputs.is_empty() {
        out.push_str("\n| Output | Value |\n| --- | --- |\n");
        for (name, value) in &outcome.outputs {
            out.push_str(&format!("| {} | {} |\n", code(name), code(&value.to_string())));
        }
    }
    out
}

/// For the job summary: the URL that was polled, as a code span.
fn health_url_line(outcome: &ApplyOutcome) -> String {
    match &outcome.health {
        Some(Health::Healthy { url, .. }) => format!("\nHealth check URL: {}\n", crate::report::markdown::code(url)),
        _ => String::new(),
    }
}

fn outcome(req: &Request, applied: Applied, mode: Mode) -> ApplyOutcome {
    let meta = applied.meta;
    let result = TargetResult {
        has_changes: Some(meta.has_changes),
        add: Some(meta.add),
        change: Some(meta.change),
        destroy: Some(meta.destroy),
        plan_key: Some(applied.plan_key),
        plan_sha256: Some(meta.plan_sha256),
        ..TargetResult::from(&target::subject(req))
    };
    match mode {
        Mode::Apply => ApplyOutcome {
            result,
            dry_run: None,
            checks: None,
            health: applied.health,
            outputs: applied.outputs,
            attempts: applied.attempts,
            reviewed: applied.reviewed,
        },
        Mode::DryRun => ApplyOutcome {
            result,
            dry_run: Some(true),
            checks: Some(applied.checks),
            health: None,
            outputs: BTreeMap::new(),
            attempts: Vec::new(),
            reviewed: None,
        },
    }
}
