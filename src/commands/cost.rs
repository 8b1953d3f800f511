//! `cost --all`: the fleet's monthly cost per customer and tenant (showback), offline. Each
//! environment's figure is the one its last applied plan recorded (`cost_after_cents` of
//! the plan run of the commit last applied), by the catalog's prices at that time.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::CostArgs;
use crate::context::Context;
use crate::cost::Cents;
use crate::error::CommandError;

/// One environment's monthly cost (`None`: nothing applied, or not priced).
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentCost {
    pub owner: String,
    pub kind: &'static str,
    pub environment: String,
    pub monthly: Option<f64>,
}

/// The fleet's monthly cost: per environment, per owner, in all.
#[derive(Debug, Serialize)]
pub struct FleetCost {
    pub environments: Vec<EnvironmentCost>,
    pub owners: BTreeMap<String, f64>,
    pub total: f64,
}

impl Outcome for FleetCost {}

impl fmt::Display for FleetCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.environments {
            let monthly = e.monthly.map_or_else(|| "-".to_owned(), |m| Cents::from_units(m).to_string());
            writeln!(f, "{} {} {}: {monthly}", e.kind, crate::output::neutralise(&e.owner), e.environment)?;
        }
        for (owner, monthly) in &self.owners {
            writeln!(f, "total {}: {}", crate::output::neutralise(owner), Cents::from_units(*monthly))?;
        }
        write!(f, "fleet: {} a month", Cents::from_units(self.total))
    }
}

pub async fn run(ctx: &Context<'_>, args: &CostArgs) -> Result<FleetCost, CommandError> {
    if !args.all {
        return Err(CommandError::usage("`cost` needs `--all`", "run `infra-manager cost --all`"));
    }
    let config = ctx.config().await?;
    let manager = ctx.manager_repo(&args.manager.repo);
    let selection = crate::fleet::select(config, &manager, crate::fleet::Filter::default()).await?;
    let store = ctx.store().await?;
    let mut environments = Vec::new();
    let mut owners: BTreeMap<String, f64> = BTreeMap::new();
    for target in selection.targets() {
        let cents = crate::cost::applied(&store.history(&target.owner, Some(&target.env)).await?);
        let owner = target.owner.to_string();
        let monthly = cents.map(Cents::units);
        *owners.entry(owner.clone()).or_default() += monthly.unwrap_or_default();
        environments.push(EnvironmentCost {
            owner,
            kind: target.owner.kind(),
            environment: target.env.to_string(),
            monthly,
        });
    }
    let total = Cents::from_units(owners.values().sum()).units();
    Ok(FleetCost { environments, owners, total })
}
