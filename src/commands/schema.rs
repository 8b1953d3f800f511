//! `schema`: the JSON Schema of `infra/variables.yml`, naming the configured environments
//! and (for `--customer`, else the default tier) the regions, instance types and instance
//! count the tier allows.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::SchemaArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::CustomerId;
use crate::refusal::Refusal;
use crate::variables::{self, Rules};

/// The schema; text and `--json` print the same document.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Schema(serde_json::Value);

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string_pretty(&self.0).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Outcome for Schema {
    const ENVELOPE: bool = false;
}

pub async fn run(ctx: &Context<'_>, args: &SchemaArgs) -> Result<Schema, CommandError> {
    let customer =
        args.customer.as_deref().map(CustomerId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    let config = ctx.config().await?;
    // As `validate --customer`: a customer the registry does not list has no tier to show.
    if let Some(id) = &customer
        && config.has_registry()
        && config.customer(id).is_none()
    {
        return Err(CommandError::from(Refusal::NotRegistered { customer: id.clone() }));
    }
    Ok(Schema(variables::schema::json_schema(&Rules::for_customer(config, customer.as_ref()))))
}
