//! The input document the policies read (`input.*`), written down with an example of each
//! field in `docs/policy.md`. Built from what the plan already has: the `show -json`
//! document the summary reads, the target, the validated file's components.

use serde_json::{Map, Value, json};

use crate::identity::{Owner, Target};
use crate::pipeline::prepare::Validated;

/// What a policy sees of the target.
pub struct Subject<'a> {
    pub target: &'a Target,
    pub tier: Option<&'a str>,
}

/// `input` for a plan of `subject`: `plan` (`null` when the plan was read as counts only),
/// `target`, `components`, `cost` (`null` until prices are configured), `request` and `now`.
pub fn document(subject: &Subject<'_>, plan: Option<&Value>, file: &Validated, now: jiff::Timestamp) -> Value {
    let target = subject.target;
    let (kind, owner) = match &target.owner {
        Owner::Customer(repo) => ("customer", repo.to_string()),
        Owner::Tenant(name) => ("tenant", name.to_string()),
    };
    json!({
        "plan": plan.cloned().unwrap_or(Value::Null),
        "target": {
            "kind": kind,
            "owner": owner,
            "environment": target.env.as_str(),
            "tier": subject.tier,
        },
        "components": components(file, target.env.as_str()),
        "cost": Value::Null,
        "request": Value::Null,
        "now": now.to_string(),
    })
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
