//! `status`: where each environment's latest change is, from the records table (or the
//! local store): its steps with times, the error if any, and the outputs ([`crate::status`]).
//! What a backend polls after asking for a change.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::StatusArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::EnvName;
use crate::report::{name_of, prefix};
use crate::status::{TargetStatus, of_target};

/// Every environment's status, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Statuses {
    pub customer: String,
    /// In the order of the configured environments; those with nothing on record are left out.
    pub environments: Vec<TargetStatus>,
}

impl Outcome for Statuses {}

pub async fn run(ctx: &Context<'_>, args: &StatusArgs) -> Result<Statuses, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let customer = super::history::owner(&args.owner)?;
    let only = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let config = ctx.config().await?;
    let store = ctx.store().await?;
    let mut environments = Vec::new();
    for (env, _) in config.environments.iter().filter(|(env, _)| only.as_ref().is_none_or(|o| o == env)) {
        let records = store.history(&customer.to_string(), Some(env.as_str())).await?;
        environments.extend(of_target(&records));
    }
    if environments.is_empty() {
        let scope = only.map(|e| format!(" in `{e}`")).unwrap_or_default();
        return Err(CommandError::usage(
            format!("no change of `{customer}` is on record{scope}"),
            "a change shows here once its plan has started",
        ));
    }
    Ok(Statuses { customer: customer.to_string(), environments })
}

impl fmt::Display for Statuses {
    /// Per environment: `env @ sha7: current`, then one line per step, the error and the outputs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.environments.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{} {} @ {}: {}", self.customer, s.environment, prefix(&s.sha, 7), name_of(&s.current))?;
            for step in &s.steps {
                writeln!(f, "  {:<10} {}", name_of(&step.step), step.at)?;
            }
            if let Some(error) = &s.error {
                writeln!(f, "  error: {error}")?;
            }
            // As JSON: one line whatever a value holds.
            if let Some(serde_json::Value::Object(outputs)) = &s.outputs {
                for (name, value) in outputs {
                    writeln!(f, "  {name} = {value}")?;
                }
            }
        }
        Ok(())
    }
}
