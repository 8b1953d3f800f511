//! `bootstrap`: create the state bucket and tables that the S3 backend needs, idempotently.
//! With `state.backend: local` there is nothing to create: the local store makes its
//! directory on first use.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::config::BackendKind;
use crate::context::Context;
use crate::error::CommandError;
use crate::store::s3::ResourceReport;

/// What `bootstrap` did, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Bootstrapped {
    pub backend: BackendKind,
    /// One entry per resource, in creation order (bucket, lock table, records table).
    pub resources: Vec<ResourceReport>,
    /// Whether anything was created or fixed.
    pub changed: bool,
    /// Set when there is nothing to bootstrap.
    pub message: Option<String>,
}

/// One line per resource: ``state bucket `b`: created``.
impl fmt::Display for Bootstrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(message) = &self.message {
            writeln!(f, "{message}")?;
        }
        for resource in &self.resources {
            writeln!(f, "{resource}")?;
        }
        Ok(())
    }
}

impl Outcome for Bootstrapped {}

pub async fn run(ctx: &Context<'_>) -> Result<Bootstrapped, CommandError> {
    let config = ctx.config().await?;
    if config.state.backend == BackendKind::Local {
        return Ok(Bootstrapped {
            backend: BackendKind::Local,
            resources: Vec::new(),
            changed: false,
            message: Some(format!(
                "nothing to bootstrap: `state.backend` is `local`, which keeps state, plans and records under `{}`",
                config.state.local_dir.display()
            )),
        });
    }
    let store = ctx.store().await?;
    let Some(bootstrapper) = store.bootstrapper() else {
        return Err(CommandError::usage("this store has nothing to bootstrap", "set `state.backend: s3`"));
    };
    let report = bootstrapper.bootstrap().await?;
    Ok(Bootstrapped {
        backend: config.state.backend,
        changed: report.changed(),
        resources: report.resources,
        message: None,
    })
}
