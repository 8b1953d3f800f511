//! The input document the policies read (`input.*`), written down with an example of each
//! field in `docs/policy.md`. Built from what the plan already has: the `show -json`
//! document Terraform printed ([`super::plan`]), the target, what the run is for, the
//! validated file's components, the cost, the request that made the change
//! ([`super::request`]).

use serde_json::{Map, Value, json};

use crate::identity::{Owner, Target};
use crate::pipeline::DestroyReason;
use crate::pipeline::prepare::Validated;
use crate::terraform::PlanKind;

/// Everything `input` holds but the plan.
pub struct Facts<'a> {
    pub target: &'a Target,
    /// The owner's tier.
    pub tier: Option<&'a str>,
    pub run: Run,
    pub file: &'a Validated,
    /// `input.cost`: `null` when nothing the environment uses is priced.
    pub cost: Value,
    /// `input.request`: `null` unless a request is proven to have made the change.
    pub request: Value,
    pub now: jiff::Timestamp,
}

/// What the run is for (`input.run`): a plan of the configuration at a commit, or the
/// destroy of the environment and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub kind: PlanKind,
    pub reason: DestroyReason,
}

impl Run {
    /// `{"kind": "plan", "reason": "change"}`, or `{"kind": "destroy", "reason":
    /// "offboard"|"expiry"}`.
    fn json(self) -> Value {
        let (kind, reason) = match (self.kind, self.reason) {
            (PlanKind::Update, _) => ("plan", "change"),
            (PlanKind::Destroy, DestroyReason::Offboard) => ("destroy", "offboard"),
            (PlanKind::Destroy, DestroyReason::Expiry) => ("destroy", "expiry"),
        };
        json!({ "kind": kind, "reason": reason })
    }
}

/// `input`: `plan` (the masked `show -json` document; `null` when the plan was read as
/// counts only), `target`, `run`, `components`, `cost`, `request` and `now`. The plan is
/// already regorus's value: the rest is small, converted here.
pub fn document(facts: &Facts<'_>, plan: Option<regorus::Value>) -> regorus::Value {
    let target = facts.target;
    let (kind, owner) = match &target.owner {
        Owner::Customer(repo) => ("customer", repo.to_string()),
        Owner::Tenant(name) => ("tenant", name.to_string()),
    };
    let rest = json!({
        "plan": Value::Null,
        "target": {
            "kind": kind,
            "owner": owner,
            "environment": target.env.as_str(),
            "tier": facts.tier,
        },
        "run": facts.run.json(),
        "components": components(facts.file, target.env.as_str()),
        "cost": facts.cost,
        "request": facts.request,
        "now": facts.now.to_string(),
    });
    let mut input = regorus::Value::from(rest);
    if let (Some(plan), Ok(fields)) = (plan, input.as_object_mut()) {
        fields.insert(regorus::Value::from("plan"), plan);
    }
    input
}

/// Each component of a v2 file with its type and its inputs resolved for `env`; a v1 file
/// has none.
fn components(file: &Validated, env: &str) -> Value {
    let mut out = Map::new();
    if let Validated::V2(customer, _) = file {
        for component in &customer.components {
            let inputs = component
                .environments
                .iter()
                .find(|(e, _)| e.as_str() == env)
                .map(|(_, inputs)| json!(inputs))
                .unwrap_or_else(|| json!({}));
            out.insert(component.name.clone(), json!({ "type": component.type_name, "inputs": inputs }));
        }
    }
    Value::Object(out)
}
