//! `fleet merge`: joins the `--json` reports of a fleet run's shards (`plan --all`,
//! `drift --all` or `reap` with `--shard K/N`) into the report one run would have given:
//! the rows in the whole list's order, the counts, the table in the job summary, the exit
//! status — and, for drift with `--open-issues`, the drift issues, written here once and
//! never by shards racing each other.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Outcome;
use super::target::publish;
use crate::cli::FleetMergeArgs;
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};
use crate::orphans::Orphan;
use crate::report::fleet::ShardPart;

/// A shard report is a few kilobytes a target; this bounds what one file may hold.
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// One shard's report, as `--json` wrote it.
#[derive(Deserialize)]
struct Part {
    command: String,
    #[serde(default)]
    shard: Option<ShardPart>,
    #[serde(default)]
    dry_run: Option<bool>,
    results: Vec<serde_json::Value>,
    #[serde(default)]
    orphans: Option<Vec<Orphan>>,
    /// The shard's GitHub calls.
    #[serde(default)]
    github: Option<crate::github::budget::Usage>,
}

/// The merged report: the one the verb gives.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Merged {
    Plan(super::plan_all::FleetPlan),
    Drift(super::drift::DriftReport),
    Reap(super::reap::ReapReport),
}

impl fmt::Display for Merged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plan(r) => r.fmt(f),
            Self::Drift(r) => r.fmt(f),
            Self::Reap(r) => r.fmt(f),
        }
    }
}

impl Merged {
    /// Whether a merged drift report found drift (`--exit-code`).
    pub fn drifted(&self) -> bool {
        matches!(self, Self::Drift(report) if super::drift::drifted(report))
    }
}

impl Outcome for Merged {
    const ENVELOPE: bool = false;

    fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Plan(r) => r.exit_status(),
            Self::Drift(r) => r.exit_status(),
            Self::Reap(r) => r.exit_status(),
        }
    }
}

pub async fn run(ctx: &Context<'_>, args: &FleetMergeArgs) -> Result<Merged, CommandError> {
    let parts: Vec<(String, Part)> = report_files(&args.reports)?
        .iter()
        .map(|p| read(p).map(|part| (p.display().to_string(), part)))
        .collect::<Result<_, _>>()?;
    let command = one_command(&parts)?;
    check_shards(&parts)?;
    for (set, flag) in [(args.open_issues, "--open-issues"), (args.exit_code, "--exit-code")] {
        if set && command != "drift" {
            return Err(CommandError::usage(
                format!("`{flag}` merges drift reports; these are `{command}` reports"),
                format!("drop `{flag}`"),
            ));
        }
    }
    // Refused before anything is written when there is nowhere to open issues.
    let issues = if args.open_issues { Some(crate::drift_issues::tracker(ctx).await?) } else { None };
    let mut rows: Vec<(usize, &serde_json::Value)> = Vec::new();
    for (_, part) in &parts {
        let positions = part.shard.as_ref().map(|s| s.positions.as_slice()).unwrap_or_default();
        rows.extend(positions.iter().copied().zip(&part.results));
    }
    rows.sort_by_key(|(position, _)| *position);
    let runner = &ctx.settings.runner;
    let shards_github = parts.iter().filter_map(|(_, p)| p.github).fold(Default::default(), std::ops::Add::add);
    let mut merged = match command.as_str() {
        "plan" => Merged::Plan(super::plan_all::report(typed(&parts, &rows)?)),
        "reap" => {
            let dry_run = parts.iter().any(|(_, p)| p.dry_run == Some(true));
            Merged::Reap(super::reap::report(dry_run, typed(&parts, &rows)?))
        }
        _ => {
            // Every shard looked for orphans against the whole list: the first says it.
            let orphans = parts.iter().find_map(|(_, p)| p.orphans.clone()).unwrap_or_default();
            Merged::Drift(super::drift::report(typed(&parts, &rows)?, orphans))
        }
    };
    // The issues first, so the report counts their calls; a failed sync after the report.
    let synced = match (&issues, &merged) {
        (Some(tracker), Merged::Drift(report)) => {
            crate::drift_issues::sync(&report.results, tracker, runner.run_url.as_deref()).await.map(drop)
        }
        _ => Ok(()),
    };
    match &mut merged {
        Merged::Plan(r) => publish_with(runner, r, shards_github),
        Merged::Drift(r) => publish_with(runner, r, shards_github),
        Merged::Reap(r) => publish_with(runner, r, shards_github),
    }
    synced?;
    Ok(merged)
}

/// Publishes the merged report, its GitHub calls the shards' and the merge's own.
fn publish_with<R: crate::report::fleet::FleetRow>(
    runner: &crate::settings::Runner,
    report: &mut crate::report::fleet::FleetReport<R>,
    shards: crate::github::budget::Usage,
) {
    report.github = Some(shards);
    publish(runner, report);
}

/// The report files: each path given, a directory standing for its `*.json` files (a
/// workflow downloads the shards' artifacts into one), in name order.
fn report_files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, CommandError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let unreadable = |e: std::io::Error| {
            CommandError::usage(format!("`{}` can't be listed: {e}", path.display()), "pass the shard reports' paths")
        };
        let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map_err(unreadable)?
            .map(|entry| entry.map(|e| e.path()).map_err(unreadable))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
            .collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// One report file, size-checked before it is read.
fn read(path: &Path) -> Result<Part, CommandError> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| CommandError::usage(format!("`{shown}` can't be read: {e}"), "pass the shard reports' paths"))?
        .len();
    if size > MAX_REPORT_BYTES {
        return Err(CommandError::usage(
            format!("`{shown}` is {size} bytes, over the {MAX_REPORT_BYTES} a shard report may be"),
            "pass the `--json` report of `plan --all`, `drift --all` or `reap` with `--shard K/N`",
        ));
    }
    let text = std::fs::read(path)
        .map_err(|e| CommandError::usage(format!("`{shown}` can't be read: {e}"), "pass the shard reports' paths"))?;
    serde_json::from_slice(&text).map_err(|e| {
        CommandError::usage(
            format!("`{shown}` is not a fleet report: {e} (line {}, column {})", e.line(), e.column()),
            "pass the `--json` report of `plan --all`, `drift --all` or `reap` with `--shard K/N`",
        )
    })
}

/// The verb all the reports are of.
fn one_command(parts: &[(String, Part)]) -> Result<String, CommandError> {
    let Some((_, first)) = parts.first() else {
        return Err(CommandError::usage("no shard reports", "pass each shard's `--json` report"));
    };
    if !matches!(first.command.as_str(), "plan" | "drift" | "reap") {
        return Err(CommandError::usage(
            format!("`{}` reports can't be merged", crate::diagnostic::shown(&first.command)),
            "merge the reports of `plan --all`, `drift --all` or `reap`",
        ));
    }
    if let Some((path, other)) = parts.iter().find(|(_, p)| p.command != first.command) {
        return Err(CommandError::usage(
            format!(
                "`{path}` is a `{}` report, the first is `{}`",
                crate::diagnostic::shown(&other.command),
                first.command
            ),
            "merge the shards of one run at a time",
        ));
    }
    Ok(first.command.clone())
}

/// Every shard of one split, each once: `1/N` to `N/N`.
fn check_shards(parts: &[(String, Part)]) -> Result<(), CommandError> {
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let mut count = None;
    for (path, part) in parts {
        let Some(shard) = part.shard.as_ref().map(|s| s.shard) else {
            return Err(CommandError::usage(
                format!("`{path}` is not a shard's report"),
                "run each part with `--shard K/N --json` and merge those reports",
            ));
        };
        if *count.get_or_insert(shard.count) != shard.count {
            return Err(CommandError::usage(
                format!("`{path}` is shard {shard}, the others are of {}", count.unwrap_or_default()),
                "merge the shards of one run at a time",
            ));
        }
        if let Some(earlier) = seen.insert(shard.index, path) {
            return Err(CommandError::usage(
                format!("shard {shard} is given twice: `{earlier}` and `{path}`"),
                "pass each shard's report once",
            ));
        }
        if part.shard.as_ref().is_some_and(|s| s.positions.len() != part.results.len()) {
            return Err(CommandError::usage(
                format!(
                    "`{path}` places {} rows of {}",
                    part.shard.as_ref().map_or(0, |s| s.positions.len()),
                    part.results.len()
                ),
                "pass the report as the shard wrote it",
            ));
        }
    }
    let count = count.unwrap_or_default();
    let missing: Vec<String> = (1..=count).filter(|k| !seen.contains_key(k)).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(CommandError::usage(
            format!("shard {} missing: its targets would be left out", missing.join(", ")),
            "wait for every shard's job and pass all their reports",
        ));
    }
    Ok(())
}

/// The rows as the verb's own type.
fn typed<T: DeserializeOwned>(
    parts: &[(String, Part)],
    rows: &[(usize, &serde_json::Value)],
) -> Result<Vec<T>, CommandError> {
    let command = parts.first().map_or("", |(_, p)| p.command.as_str());
    rows.iter()
        .map(|(_, row)| {
            serde_json::from_value((*row).clone()).map_err(|e| {
                CommandError::usage(
                    format!("a `{command}` row can't be read: {e}"),
                    "pass the reports as the shards wrote them",
                )
            })
        })
        .collect()
}
