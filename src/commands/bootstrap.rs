//! `bootstrap`: create the state bucket and tables that the S3 backend needs, idempotently.
//!
//! With `state.backend: local` there is nothing to create: the local store makes its
//! directory on first use.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{Outcome, Stop};
use crate::config::BackendKind;
use crate::store::s3::{self, ResourceReport, S3Store};

/// What `bootstrap` did, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Bootstrapped {
    pub command: &'static str,
    pub status: Outcome,
    pub backend: BackendKind,
    /// One entry per resource, in creation order (bucket, lock table, records table).
    pub resources: Vec<ResourceReport>,
    /// Whether anything was created or fixed.
    pub changed: bool,
    /// Set when there is nothing to bootstrap.
    pub message: Option<String>,
}

/// Bootstraps `store`; `None` means the local backend, whose directory is `local_dir`.
pub async fn run(store: Option<&S3Store>, local_dir: PathBuf) -> Result<Bootstrapped, Stop> {
    let Some(store) = store else {
        return Ok(Bootstrapped {
            command: "bootstrap",
            status: Outcome::Ok,
            backend: BackendKind::Local,
            resources: Vec::new(),
            changed: false,
            message: Some(format!(
                "nothing to bootstrap: `state.backend` is `local`, which keeps state, plans and records under `{}`",
                local_dir.display()
            )),
        });
    };
    let report = s3::bootstrap(store).await.map_err(|e| Stop::Failed(e.to_string()))?;
    Ok(Bootstrapped {
        command: "bootstrap",
        status: Outcome::Ok,
        backend: BackendKind::S3,
        changed: report.changed(),
        resources: report.resources,
        message: None,
    })
}

impl fmt::Display for Bootstrapped {
    /// One line per resource: ``state bucket `b`: created``.
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
