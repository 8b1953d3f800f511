//! `state versions` and `state rollback`: the versions the store keeps of a target's
//! Terraform state, with the runs that wrote them, and one written back as the newest
//! ([`crate::pipeline::rollback`]), followed by the plan of the commit last applied, so a
//! reviewer sees what applying the configuration would now change. Customers and tenants
//! alike.

use std::fmt;

use serde::Serialize;

use super::plan::{PlanOutcome, planned};
use super::{Outcome, TargetResult, target};
use crate::cli::{RollbackArgs, StateVersionsArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Target, owner_flag};
use crate::output;
use crate::pipeline::{Request, admit, rollback::RolledBack};
use crate::report::{name_of, prefix};
use crate::store::versions::{self, To};
use crate::store::{RunRecord, StateVersion, StateVersions, Store};
use crate::terraform::PlanKind;

/// A target's state versions, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub customer: String,
    pub environment: String,
    /// Newest first.
    pub versions: Vec<Listed>,
}

/// One version and the run that recorded writing it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub version: StateVersion,
    pub run: Option<WrittenBy>,
}

/// The run that wrote a version.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenBy {
    pub run_id: String,
    pub kind: crate::store::RunKind,
    pub sha: String,
    pub status: crate::store::RunStatus,
}

impl Outcome for Versions {}

/// The store's versions, or why it has none to offer.
fn store_versions<'s>(store: &'s dyn Store, target: &Target) -> Result<&'s dyn StateVersions, CommandError> {
    store.versions().ok_or_else(|| {
        crate::refusal::Refusal::NotVersioned { target: target.clone(), why: "this store keeps no versions".into() }
            .into()
    })
}

pub async fn versions(ctx: &Context<'_>, args: &StateVersionsArgs) -> Result<Versions, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let owner = super::history::owner(&args.owner)?;
    let env = EnvName::parse(&args.env).map_err(|e| CommandError::bad_env(&e))?;
    let target = Target { owner, env };
    let store = ctx.store().await?;
    let kept = store_versions(store, &target)?;
    if let Some(why) = kept.unversioned().await? {
        output::log(&format!(
            "warning: {why}: each write replaces the state; `infra-manager bootstrap` turns versioning on"
        ));
    }
    let limit = args.limit.map_or(versions::LIST_DEFAULT, usize::from);
    let listed = kept.list_versions(&target, limit).await?;
    let runs = store.history(&target.owner, Some(&target.env)).await?;
    if listed.is_empty() {
        output::log(&format!("no state versions kept for {target}"));
    }
    let versions = listed.into_iter().map(|version| Listed { run: written_by(&runs, &version), version }).collect();
    Ok(Versions { customer: target.owner.to_string(), environment: target.env.to_string(), versions })
}

/// The newest run that recorded writing `version`.
fn written_by(runs: &[RunRecord], version: &StateVersion) -> Option<WrittenBy> {
    let run = runs.iter().find(|r| r.state.state_version.as_ref() == Some(&version.version_id))?;
    Some(WrittenBy { run_id: run.run_id.clone(), kind: run.kind, sha: run.sha.clone(), status: run.status })
}

impl fmt::Display for Versions {
    /// A header, then one aligned line per version: id, time, serial, lineage, the run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.versions.iter().map(|v| v.version.version_id.len()).max().unwrap_or(0).max(7);
        writeln!(f, "{:<width$}  {:<20}  {:<6}  {:<8}  RUN", "VERSION", "WRITTEN", "SERIAL", "LINEAGE")?;
        for listed in &self.versions {
            let v = &listed.version;
            let written = v
                .written_at
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map_or_else(|| "-".to_owned(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
            let serial = v.serial.map_or_else(|| "?".to_owned(), |s| s.to_string());
            let lineage = v.lineage.as_deref().map_or("?", |l| prefix(l, 8));
            let run = listed.run.as_ref().map_or_else(
                || "-".to_owned(),
                |r| format!("{} {} ({}, {})", name_of(&r.kind), r.run_id, prefix(&r.sha, 7), name_of(&r.status)),
            );
            let current = if v.current { "  (current)" } else { "" };
            writeln!(f, "{:<width$}  {written:<20}  {serial:<6}  {lineage:<8}  {run}{current}", v.version_id)?;
        }
        Ok(())
    }
}

/// A rollback and the plan that followed it, as `--json` prints them.
#[derive(Debug, Serialize)]
pub struct RolledBackOutcome {
    pub customer: String,
    pub environment: String,
    #[serde(flatten)]
    pub rolled_back: RolledBack,
    /// The plan of the commit last applied, against the restored state.
    pub plan: TargetResult,
    #[serde(skip)]
    shown: String,
}

impl Outcome for RolledBackOutcome {}

impl fmt::Display for RolledBackOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.rolled_back.line())?;
        if !self.shown.is_empty() {
            writeln!(f, "\n{}", self.shown)?;
        }
        Ok(())
    }
}

pub async fn rollback(ctx: &Context<'_>, args: &RollbackArgs) -> Result<RolledBackOutcome, CommandError> {
    let to = To::parse(&args.to).map_err(|message| {
        CommandError::usage(
            message,
            "pass `--to previous`, a run id from `history --json` or a version id from `state versions`",
        )
    })?;
    // The commit planned is the one last applied, set below.
    let (req, source) = target::request(ctx, &target::at_placeholder(&args.target, &args.env)).await?;
    let req = at_last_applied(ctx, &req).await?;
    let rolled_back = target::with_deps(ctx, Verb::StateRollback, &req, &source, async |deps| {
        crate::pipeline::rollback::rollback(deps, &req, &to).await
    })
    .await
    .map_err(|e| e.about(target::subject(&req)))?;
    output::log(&format!("{}: {}; planning the commit last applied against it", req.target, rolled_back.line()));
    let plan = planned(ctx, Verb::StateRollback, &req, &source, PlanKind::Update).await.inspect_err(|_| {
        output::log(&format!(
            "the state of {} was rolled back (run `{}`), but the plan after it failed: plan again with `infra-manager plan`",
            req.target, rolled_back.run_id
        ));
    })?;
    let PlanOutcome { result, shown, .. } = plan;
    Ok(RolledBackOutcome {
        customer: req.target.owner.to_string(),
        environment: req.target.env.to_string(),
        rolled_back,
        plan: result,
        shown,
    })
}

/// `req`'s target at the commit last applied to it: the configuration the plan after the
/// rollback compares the restored state with. The registry is asked first, so an unknown
/// target never reaches the store.
async fn at_last_applied(ctx: &Context<'_>, req: &Request) -> Result<Request, CommandError> {
    admit::registered(ctx.config().await?, &req.target)?;
    match admit::last_applied(ctx.store().await?, &req.target).await? {
        Some(applied) => Ok(Request::new(req.target.clone(), applied.sha)),
        None => Err(CommandError::usage(
            format!("nothing was ever applied to {}: there is no configuration to plan a rollback against", req.target),
            format!(
                "`infra-manager history {} --env {}` lists the runs",
                owner_flag(&req.target.owner),
                req.target.env
            ),
        )),
    }
}
