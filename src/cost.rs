//! Cost from the catalog, offline (issue 22 item 2): each catalog type's `price` (a monthly
//! base and a price per unit of numeric inputs) turns an environment's resolved component
//! inputs into a monthly figure. No network, no API key: the provider's own price list.
//! Figures are kept in cents so records compare exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::catalog::CatalogConfig;
use crate::variables::v2::Customer;

/// An amount in cents of the provider's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// `units` (e.g. dollars) rounded to the cent.
    pub fn from_units(units: f64) -> Self {
        Self((units * 100.0).round() as i64)
    }

    pub fn units(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// An environment's monthly cost, in all and per component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Monthly {
    pub total: Cents,
    pub components: BTreeMap<String, Cents>,
}

/// The monthly cost of `customer`'s components in `env` by the catalog's prices; `None`
/// when no type it uses has a price (nothing to say).
pub fn monthly(customer: &Customer, catalog: &CatalogConfig, env: &str) -> Option<Monthly> {
    let mut priced = false;
    let mut components = BTreeMap::new();
    let mut total = 0.0;
    for component in &customer.components {
        let Some(inputs) = component.environments.iter().find(|(e, _)| e.as_str() == env).map(|(_, i)| i) else {
            continue;
        };
        let Some(price) = catalog.get(&component.type_name).and_then(|t| t.price.as_ref()) else { continue };
        priced = true;
        let mut cost = price.monthly;
        for (input, per) in &price.per {
            if let Some(n) = inputs.get(input).and_then(serde_json::Value::as_f64) {
                cost += per * n;
            }
        }
        total += cost;
        components.insert(component.name.clone(), Cents::from_units(cost));
    }
    priced.then(|| Monthly { total: Cents::from_units(total), components })
}

/// The monthly cost of what a target last applied: the figure the plan of the commit last
/// applied recorded (`cost_after_cents`), among the target's `runs` (newest first). `None`:
/// nothing applied, or its plan was not priced.
pub fn applied(runs: &[crate::store::RunRecord]) -> Option<Cents> {
    use crate::store::{RunKind, RunStatus};
    let applied = runs.iter().find(|r| r.kind == RunKind::Apply && r.status == RunStatus::Succeeded)?;
    runs.iter()
        .filter(|r| r.kind == RunKind::Plan && r.status == RunStatus::Succeeded && r.sha == applied.sha)
        .find_map(|r| r.governance.cost_after_cents)
        .map(Cents)
}

/// What a plan changes in its environment's monthly cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The configuration last applied (`None`: nothing applied yet, or not priced).
    pub before: Option<Cents>,
    pub after: Cents,
    pub delta: Cents,
}

impl Change {
    pub fn new(before: Option<&Monthly>, after: &Monthly) -> Self {
        let before = before.map(|m| m.total);
        Self { before, after: after.total, delta: Cents(after.total.0 - before.map_or(0, |b| b.0)) }
    }

    /// `plan --json`'s `cost`: `{before, after, delta}` in units (`before` `null` when
    /// nothing was applied).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"before": self.before.map(Cents::units), "after": self.after.units(), "delta": self.delta.units()})
    }

    /// `input.cost` for policies, in units (not cents).
    pub fn input(&self, after: &Monthly) -> serde_json::Value {
        let components: BTreeMap<&String, f64> = after.components.iter().map(|(k, v)| (k, v.units())).collect();
        serde_json::json!({
            "before": self.before.map(Cents::units),
            "after": self.after.units(),
            "delta": self.delta.units(),
            "components": components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_show_as_units_with_two_decimals() {
        assert_eq!(Cents::from_units(12.345).to_string(), "12.35");
        assert_eq!(Cents(-805).to_string(), "-8.05");
        assert_eq!(Cents(0).to_string(), "0.00");
    }

    /// What a target costs is what its last apply's plan recorded, not a later plan's.
    #[test]
    fn the_applied_cost_is_the_figure_of_the_plan_of_the_commit_last_applied() {
        use crate::store::{RunKind, RunRecord, RunStatus};
        let run = |kind: RunKind, sha: &str, cents: Option<i64>| {
            let mut r = RunRecord { sha: sha.repeat(40), ..RunRecord::empty(kind, RunStatus::Succeeded) };
            r.governance.cost_after_cents = cents;
            r
        };
        let newer_plan = run(RunKind::Plan, "b", Some(9_900));
        let apply = run(RunKind::Apply, "a", None);
        let plan = run(RunKind::Plan, "a", Some(1_250));
        assert_eq!(applied(&[newer_plan.clone(), apply, plan]), Some(Cents(1_250)));
        assert_eq!(applied(&[newer_plan]), None, "nothing applied");
    }
}
