//! `targets`: the matrix of (customer, environment) jobs for the dispatch that started
//! this run.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use super::Outcome;
use super::target::{dispatch_event, set_outputs};
use crate::codehost::CodeHost;
use crate::config::Config;
use crate::context::Context;
use crate::error::CommandError;
use crate::event::Dispatch;
use crate::refusal::Refusal;
use crate::variables::{self, Rules, Variables};

/// The matrix; text and `--json` both print `{"include": [...]}` on one line.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Matrix(Value);

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Outcome for Matrix {
    const ENVELOPE: bool = false;
}

pub async fn run(ctx: &Context<'_>) -> Result<Matrix, CommandError> {
    let config = ctx.config().await?;
    let dispatch = dispatch_event(&ctx.settings.runner)?;
    let enabled: Vec<String> = match config.customer(&dispatch.customer) {
        Some(c) => c.environments.iter().map(ToString::to_string).collect(),
        None if !config.has_registry() => config.environment_names().iter().map(|s| (*s).to_owned()).collect(),
        None => return Err(Refusal::NotRegistered { customer: dispatch.customer }.into()),
    };
    let defined = defined_environments(config, ctx.github().await?, &dispatch).await;
    // Run the environments the file asks for; if it names none we can run (or can't be
    // read), run them all so each reports the problem on its own status.
    let mut envs: Vec<&String> = enabled.iter().filter(|e| defined.contains(e)).collect();
    if envs.is_empty() {
        envs = enabled.iter().collect();
    }
    let include: Vec<_> =
        envs.iter().map(|e| json!({"customer": dispatch.customer.to_string(), "environment": e})).collect();
    let matrix = json!({ "include": include });
    set_outputs(ctx.settings.runner.output.as_deref(), &[("matrix", matrix.to_string())]);
    Ok(Matrix(matrix))
}

async fn defined_environments(config: &Config, host: &dyn CodeHost, dispatch: &Dispatch) -> Vec<String> {
    let Ok(Some(text)) = host.read_file(&dispatch.customer, variables::PATH, &dispatch.sha).await else {
        return Vec::new();
    };
    let rules = Rules::for_customer(config, Some(&dispatch.customer));
    match Variables::parse(variables::PATH, &text, &dispatch.customer, &rules) {
        Ok(vars) => vars.environments().map(ToString::to_string).collect(),
        Err(_) => Vec::new(),
    }
}
