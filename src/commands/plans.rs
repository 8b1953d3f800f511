//! `plans list`: a target's stored plans (`Store::list_plans`), newest first, marking the
//! one an apply would take (the store's latest pointer: apply refuses any other as
//! superseded) and those already applied (from the target's run records).

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::PlansListArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Target};
use crate::overview::cells;
use crate::report::prefix;
use crate::store::{PlanMeta, RunKind, RunStatus};

/// A target's plans, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct PlanList {
    pub customer: String,
    pub environment: String,
    /// Newest first.
    pub plans: Vec<ListedPlan>,
}

/// One stored plan.
#[derive(Debug, Clone, Serialize)]
pub struct ListedPlan {
    #[serde(flatten)]
    pub meta: PlanMeta,
    /// The plan the store's latest pointer names: the one `apply` takes.
    pub latest: bool,
    /// When an apply of this plan's commit (after it was made) succeeded.
    pub applied_at: Option<String>,
}

impl Outcome for PlanList {}

pub async fn list(ctx: &Context<'_>, args: &PlansListArgs) -> Result<PlanList, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let owner = super::history::owner(&args.owner)?;
    let env = EnvName::parse(&args.env).map_err(|e| CommandError::bad_env(&e))?;
    let target = Target { owner, env };
    let store = ctx.store().await?;
    let metas = store.list_plans(&target, usize::from(args.limit)).await?;
    let latest = store.latest_plan(&target).await?.map(|m| m.sha);
    let runs = store.history(&target.owner, Some(&target.env)).await?;
    let plans: Vec<ListedPlan> = metas
        .into_iter()
        .map(|meta| {
            let made = meta.created_at.parse::<jiff::Timestamp>().ok();
            // Newest first: the first apply after the plan was made is the last one here.
            let applied_at = runs
                .iter()
                .rfind(|r| {
                    r.kind == RunKind::Apply
                        && r.status == RunStatus::Succeeded
                        && r.sha == meta.sha
                        && r.started_at.parse::<jiff::Timestamp>().ok() >= made
                })
                .map(|r| r.finished_at.clone().unwrap_or_else(|| r.started_at.clone()));
            ListedPlan { latest: latest.as_ref() == Some(&meta.sha), applied_at, meta }
        })
        .collect();
    if plans.is_empty() {
        crate::output::log(&format!("no stored plan for {target}"));
    }
    Ok(PlanList { customer: target.owner.to_string(), environment: target.env.to_string(), plans })
}

impl fmt::Display for PlanList {
    /// One line per plan: the mark of the one apply takes, commit, time, counts, applied.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let esc: cells::Escape<'_> = &str::to_owned;
        writeln!(
            f,
            "{} {}: {} stored plans, newest first (* = the one `apply` takes)",
            self.customer,
            self.environment,
            self.plans.len()
        )?;
        for p in &self.plans {
            let m = &p.meta;
            let mark = if p.latest { "*" } else { " " };
            let counts = crate::fleet::counts_phrase(m.add, m.change, m.destroy);
            let applied =
                p.applied_at.as_deref().map(|at| format!("  applied at {}", cells::time(at, esc))).unwrap_or_default();
            writeln!(f, "{mark} {}  {}  {counts}{applied}", prefix(&m.sha, 7), cells::time(&m.created_at, esc))?;
        }
        Ok(())
    }
}
