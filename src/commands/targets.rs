//! `targets`: the matrix of (customer, environment) jobs for the dispatch that started
//! this run, or (`--all`) for the whole registry, split into matrices GitHub accepts.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use super::Outcome;
use super::target::{dispatch_event, set_outputs};
use crate::cli::TargetsArgs;
use crate::codehost::Files;
use crate::config::Config;
use crate::context::Context;
use crate::error::CommandError;
use crate::event::Dispatch;
use crate::fleet::Selection;
use crate::identity::Owner;
use crate::refusal::Refusal;

/// GitHub runs at most this many jobs from one matrix.
pub const MAX_MATRIX_JOBS: usize = 256;

/// The matrices; text and `--json` both print each `{"include": [...]}` on a line of its own.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Matrix(Vec<Value>);

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(Value::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// `{"include": [...]}` matrices of at most [`MAX_MATRIX_JOBS`] jobs each.
fn matrices(jobs: Vec<Value>) -> Vec<Value> {
    jobs.chunks(MAX_MATRIX_JOBS).map(|chunk| json!({ "include": chunk })).collect()
}

/// Every target of the fleet: a job names a customer (`customer`) or a tenant (`tenant`),
/// its environment, and whether it has expired (an expired target is only reaped).
fn all(selection: &Selection) -> Matrix {
    let now = jiff::Timestamp::now();
    let jobs = selection
        .targets
        .iter()
        .map(|s| {
            let mut job = match &s.target.owner {
                Owner::Customer(repo) => json!({"customer": repo.to_string(), "environment": s.target.env.as_str()}),
                Owner::Tenant(name) => json!({"tenant": name.as_str(), "environment": s.target.env.as_str()}),
            };
            // Only `reap` acts on an expired target; a job can skip it on this flag.
            if s.expires_at.is_some_and(|at| at <= now) {
                job["expired"] = true.into();
            }
            job
        })
        .collect();
    Matrix(matrices(jobs))
}

impl Outcome for Matrix {
    const ENVELOPE: bool = false;
}

pub async fn run(ctx: &Context<'_>, args: &TargetsArgs) -> Result<Matrix, CommandError> {
    let config = ctx.config().await?;
    if args.all {
        let manager = ctx.manager_repo(&args.manager.repo);
        let selection = crate::fleet::select(config, &manager, crate::fleet::Filter::default()).await?;
        let matrix = all(&selection);
        let outputs = [("matrices", Value::Array(matrix.0.clone()).to_string()), ("count", matrix.0.len().to_string())];
        set_outputs(ctx.settings.runner.output.as_deref(), &outputs);
        report_orphans(ctx, args, &selection).await;
        return Ok(matrix);
    }
    let dispatch = dispatch_event(
        &ctx.settings.runner,
        "pass `--all` for every registered target (with `--source-root DIR` for local checkouts)",
    )?;
    let owner = Owner::Customer(dispatch.customer.clone());
    let enabled: Vec<String> = match config.registration(&owner) {
        Some(r) => match r.environments {
            Some(envs) => envs.iter().map(ToString::to_string).collect(),
            None => config.environment_names().iter().map(|s| (*s).to_owned()).collect(),
        },
        None => return Err(Refusal::NotRegistered { owner }.into()),
    };
    let defined = defined_environments(config, ctx.github().await?, &dispatch).await;
    // Run the environments the file asks for; if it names none we can run (or can't be
    // read), run them all so each reports the problem on its own status.
    let mut envs: Vec<&String> = enabled.iter().filter(|e| defined.contains(e)).collect();
    if envs.is_empty() {
        envs = enabled.iter().collect();
    }
    let include: Vec<_> =
        envs.iter().map(|e| json!({"customer": dispatch.customer.to_string(), "environment": e})).collect();
    let matrix = json!({ "include": include });
    set_outputs(ctx.settings.runner.output.as_deref(), &[("matrix", matrix.to_string())]);
    Ok(Matrix(vec![matrix]))
}

/// Reports states without a registry entry: a warning each, the `orphans` output and a
/// job summary section. A store that can't be listed is a warning, not a failed matrix.
pub async fn report_orphans(ctx: &Context<'_>, args: &TargetsArgs, selection: &Selection) {
    let Some(orphans) = orphans_warned(ctx, args.source_root.as_deref(), selection, true).await else { return };
    let runner = &ctx.settings.runner;
    let json = serde_json::to_string(&orphans).unwrap_or_else(|_| "[]".to_owned());
    set_outputs(runner.output.as_deref(), &[("orphans", json)]);
    if !orphans.is_empty() {
        crate::commands::target::append_summary(runner.summary.as_deref(), &crate::orphans::summary_section(&orphans));
    }
}

/// States without a registry entry, each with a warning on stderr; `None` (and a warning)
/// when they can't be looked for: orphans are a report, never a reason to fail a run.
/// `default_branches`: whether each customer's default branch on GitHub is read too (an
/// environment removed from its file), a few calls per customer: `targets --all` does; a
/// drift run does not, its budget being a call per target (issue 23 item 4).
pub(super) async fn orphans_warned(
    ctx: &Context<'_>,
    source_root: Option<&std::path::Path>,
    selection: &Selection,
    default_branches: bool,
) -> Option<Vec<crate::orphans::Orphan>> {
    match find_orphans(ctx, source_root, selection, default_branches).await {
        Ok(orphans) => {
            let mut log = std::io::stderr();
            for orphan in &orphans {
                crate::actions::warning(&mut log, &format!("orphaned state: {}", orphan.describe()));
            }
            Some(orphans)
        }
        Err(e) => {
            crate::output::log(&format!("warning: can't look for orphaned states: {e}"));
            None
        }
    }
}

async fn find_orphans(
    ctx: &Context<'_>,
    source_root: Option<&std::path::Path>,
    selection: &Selection,
    default_branches: bool,
) -> Result<Vec<crate::orphans::Orphan>, CommandError> {
    use crate::orphans::{DefaultBranches, find};
    let config = ctx.config().await?;
    let Some(states) = ctx.store().await?.states() else { return Ok(Vec::new()) };
    let local;
    let files = match source_root {
        Some(root) => {
            local = crate::local_host::LocalHost::per_customer(root).with_history(&config.local_history_dir());
            Some(DefaultBranches::Local(&local))
        }
        // Without a token only the registry is compared; with one, each default branch too.
        None if default_branches && ctx.settings.github.token.as_deref().is_some_and(|t| !t.is_empty()) => {
            Some(DefaultBranches::GitHub(ctx.github().await?))
        }
        None => None,
    };
    Ok(find(config, states, selection, files.as_ref()).await?)
}

async fn defined_environments(config: &Config, host: &dyn Files, dispatch: &Dispatch) -> Vec<String> {
    let owner = Owner::Customer(dispatch.customer.clone());
    crate::orphans::defined_environments(config, host, &owner, &dispatch.sha).await.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_split_into_matrices_github_accepts() {
        let jobs: Vec<Value> =
            (0..600).map(|i| json!({"customer": format!("c/{i}"), "environment": "staging"})).collect();
        let sizes: Vec<usize> = matrices(jobs).iter().map(|m| m["include"].as_array().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, [256, 256, 88]);
        assert!(matrices(Vec::new()).is_empty());
    }
}
