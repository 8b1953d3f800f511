//! `schema`: the JSON Schema of `infra/variables.yml`, naming the configured environments.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::context::Context;
use crate::error::CommandError;
use crate::variables;

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

pub async fn run(ctx: &Context<'_>) -> Result<Schema, CommandError> {
    let config = ctx.config().await?;
    Ok(Schema(variables::schema::json_schema(&config.environment_names())))
}
