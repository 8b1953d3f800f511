//! The `tiers:` section of `infra-manager.yml`: tier name → what a schema v1 file may ask
//! for (v2 component inputs are limited per tier in the catalog).

use std::collections::BTreeMap;

use super::{Key, unknown_keys};
use crate::yaml::{self, Checker, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub instance_types: Vec<String>,
    pub max_instances: i64,
    pub regions: Vec<String>,
    /// A plan whose environment would cost more a month is denied (issue 22, [`crate::cost`]).
    pub max_monthly_cost: Option<crate::cost::Cents>,
}

/// The tier used when a customer is not in a registry (local mode without one).
pub const DEFAULT_TIER: &str = "standard";

/// The keys of one tier, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "instance_types", default: "none", meaning: "the instance types a v1 file may ask for" },
    Key { name: "max_instances", default: "`4`", meaning: "the most instances a v1 file may ask for" },
    Key { name: "regions", default: "none", meaning: "the regions a v1 file may ask for" },
    Key { name: "max_monthly_cost", default: "none", meaning: "a plan over this monthly cost is denied" },
];

/// Without the section: the [`DEFAULT_TIER`], sized for the sandbox.
pub(super) fn defaults() -> BTreeMap<String, Tier> {
    let mut tiers = BTreeMap::new();
    tiers.insert(
        DEFAULT_TIER.to_owned(),
        Tier {
            instance_types: vec!["t3.micro".into(), "t3.small".into()],
            max_instances: 4,
            regions: vec!["us-east-1".into(), "us-west-2".into()],
            max_monthly_cost: None,
        },
    );
    tiers
}

pub(super) fn read(c: &mut Checker, node: &Node) -> BTreeMap<String, Tier> {
    let mut out = BTreeMap::new();
    let Some(entries) = c.map("tiers", node) else { return out };
    for (key, value) in entries {
        let path = format!("tiers.{}", key.name);
        let Some(fields) = c.map(&path, value) else { continue };
        unknown_keys(c, &path, fields, KEYS, "");
        let list = |c: &mut Checker, name: &str| {
            yaml::get(fields, name)
                .and_then(|n| c.str_list(&format!("{path}.{name}"), n))
                .map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let instance_types = list(c, "instance_types");
        let regions = list(c, "regions");
        let max_instances = match yaml::get(fields, "max_instances") {
            Some(n) => match c.int(&format!("{path}.max_instances"), n) {
                Some(v) if v >= 0 => v,
                Some(v) => {
                    c.error(n.pos, format!("`{path}.max_instances` is {v}, it must be at least 0"), None);
                    0
                }
                None => 0,
            },
            None => 4,
        };
        let max_monthly_cost = yaml::get(fields, "max_monthly_cost").and_then(|n| match n.value {
            yaml::Value::Int(i) if i >= 0 => Some(crate::cost::Cents::from_units(i as f64)),
            yaml::Value::Float(f) if f.is_finite() && f >= 0.0 => Some(crate::cost::Cents::from_units(f)),
            _ => {
                c.error(n.pos, format!("`{path}.max_monthly_cost` must be a number, at least 0"), None);
                None
            }
        });
        out.insert(key.name.clone(), Tier { instance_types, max_instances, regions, max_monthly_cost });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("tiers", super::KEYS);
    }
}
