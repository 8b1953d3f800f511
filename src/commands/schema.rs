//! `schema`: the JSON Schema of `infra/variables.yml` (v1 and v2), naming the configured
//! environments, the catalog's types and inputs, and (for `--customer`, else the default
//! tier) what the tier allows: v1's regions, instance types and instance count, v2's input
//! limits.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::catalog::Catalog;
use crate::cli::SchemaArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::RepoId;
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
        args.customer.as_deref().map(RepoId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    let config = ctx.config().await?;
    // As `validate --customer`: a customer the registry does not list has no tier to show.
    let owner = customer.map(crate::identity::Owner::Customer);
    if let Some(owner) = &owner
        && config.registration(owner).is_none()
    {
        return Err(CommandError::from(Refusal::NotRegistered { owner: owner.clone() }));
    }
    // The v2 part names each catalog type's inputs, read from its module.
    let catalog = Catalog::load(config).map_err(CommandError::Invalid)?;
    Ok(Schema(variables::schema::json_schema(&Rules::for_owner(config, owner.as_ref()), &catalog)))
}
