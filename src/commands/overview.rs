//! `overview`: the fleet at a glance ([`crate::overview`]). Every target of the one target
//! list (`fleet::select`), filtered by `--customer`/`--tenant` and `--env`, with what the
//! records and the store say about it: a table for people, the rows for `--json`, and the
//! fleet report's Markdown table (with its counts as step outputs) for the job summary.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::publish;
use crate::cli::{OverviewArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::EnvName;
use crate::overview::read::TargetRead;
use crate::overview::{Attention, Counts, Row, cells};
use crate::report::fleet::{FleetReport, FleetRow, Layout, counts};
use crate::report::markdown::code;

/// The rows as a fleet report: `--json` prints its counts and rows, the job summary its
/// Markdown table, and people the text table.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Overview(pub FleetReport<Row>);

impl Outcome for Overview {
    /// Its own `command` and counts, as every fleet report.
    const ENVELOPE: bool = false;
}

impl fmt::Display for Overview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = &self.0.results;
        f.write_str(crate::overview::text::render(rows, &Counts::of(rows)).trim_end())
    }
}

impl FleetRow for Row {
    fn target(&self) -> (&str, &str, Option<&str>) {
        (&self.customer, &self.environment, self.applied.as_ref().map(|a| a.sha.as_str()))
    }

    /// The latest change's step; a failure's first line as a code span.
    fn result(&self) -> String {
        match &self.latest {
            Some(l) => match &l.error {
                Some(error) if self.attention.contains(&Attention::Failing) => {
                    format!("❌ failed: {}", code(error))
                }
                Some(error) => format!("{}: {}", crate::report::name_of(&l.step), code(error)),
                None => crate::report::name_of(&l.step),
            },
            None => "—".to_owned(),
        }
    }

    fn after_result(&self) -> Vec<String> {
        let esc: cells::Escape<'_> = &code;
        let warn = |cell: Option<String>, attention: &[Attention]| match cell {
            Some(cell) if attention.iter().any(|a| self.attention.contains(a)) => format!("⚠ {cell}"),
            Some(cell) => cell,
            None => "—".to_owned(),
        };
        vec![
            warn(self.applied.as_ref().map(|a| cells::time(&a.at, esc)), &[]),
            warn(cells::waiting(self.waiting.as_ref(), esc), &[Attention::AwaitingApproval]),
            warn(cells::drift(self.drift.as_ref()), &[Attention::Drifted, Attention::DriftError]),
            warn(cells::health(self.health.as_ref()), &[Attention::Unhealthy]),
            warn(cells::expiry(self.expiry.as_ref(), esc), &[Attention::Expired, Attention::Expiring]),
            warn(cells::lock(self.lock.as_ref(), esc), &[Attention::Locked]),
            warn(cells::cost(self.monthly_cost), &[]),
            warn(cells::requests(&self.requests, esc), &[]),
        ]
    }
}

/// The report of `rows`: the fleet's counts, one row per target.
pub fn report(rows: Vec<Row>) -> Overview {
    let c = Counts::of(&rows);
    Overview(FleetReport {
        command: Verb::Overview,
        counts: counts(&[
            ("targets", c.targets.into()),
            ("failing", c.failing.into()),
            ("drifted", c.drifted.into()),
            ("expiring", c.expiring.into()),
            ("locked", c.locked.into()),
            ("waiting", c.waiting.into()),
            ("awaiting_approval", c.awaiting_approval.into()),
        ]),
        results: rows,
        orphans: None,
        shard: None,
        changes: None,
        github: None,
        layout: Layout {
            title: "overview".to_owned(),
            summary: Some(c.sentence()),
            after_result: &[
                "Applied at",
                "Plan waiting",
                "Drift",
                "Health",
                "Expires",
                "Lock",
                "Cost / month",
                "Requests",
            ],
            header_when_empty: true,
            outputs: &["targets", "failing", "drifted", "expiring", "locked", "waiting"],
            commit_and_result: Some(["Applied", "Latest change"]),
            ..Layout::default()
        },
    })
}

pub async fn run(ctx: &Context<'_>, args: &OverviewArgs) -> Result<Overview, CommandError> {
    let rows = read(ctx, args).await?.into_iter().map(|read| read.row).collect();
    let mut overview = report(rows);
    publish(&ctx.settings.runner, &mut overview.0);
    Ok(overview)
}

/// The targets `args` select, each with its row and the records it was made from (the
/// status page, `report --html`, renders the same).
pub async fn read(ctx: &Context<'_>, args: &OverviewArgs) -> Result<Vec<TargetRead>, CommandError> {
    // Names are checked before anything is read, so a crafted one never reaches a key.
    let only = match (&args.customer, &args.tenant) {
        (None, None) => None,
        (customer, tenant) => Some(super::history::owner_of(customer.as_deref(), tenant.as_deref())?),
    };
    let env = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let config = ctx.config().await?;
    let manager = ctx.manager_repo(&args.manager.repo);
    let filter = crate::fleet::Filter { owner: only.as_ref(), env: env.as_ref() };
    let selection = crate::fleet::select(config, &manager, filter).await?;
    if selection.targets.is_empty() && (only.is_some() || env.is_some()) {
        let what = match (&only, &env) {
            (Some(owner), Some(env)) => format!("`{owner}` in `{env}`"),
            (Some(owner), None) => format!("`{owner}`"),
            (None, _) => format!("environment `{}`", env.as_ref().map(EnvName::as_str).unwrap_or_default()),
        };
        return Err(CommandError::usage(
            format!("no target of the fleet is {what}"),
            "the fleet is the registered customers' environments and the tenant files at the manager checkout's head (`--repo DIR`)",
        ));
    }
    let store = ctx.store().await?;
    let sources = crate::overview::read::Sources { config, store, manager: &manager, env: env.as_ref() };
    crate::overview::read::with_records(&sources, &selection.targets, jiff::Timestamp::now()).await
}
