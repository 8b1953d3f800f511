//! One module per CLI verb. Each has `run(ctx, args) -> Result<Outcome, CommandError>`,
//! where the outcome is the verb's own type: `Serialize` for `--json`, `Display` for people.
//! Plan, apply and drift run the request pipeline ([`crate::pipeline`]); the others are
//! small.

pub mod apply;
pub mod audit;
pub mod bootstrap;
pub mod catalog;
pub mod cost;
pub mod destroy;
pub mod dispatch;
pub mod doctor;
mod doctor_github;
pub mod drift;
pub mod fleet_merge;
pub mod history;
pub mod locks;
pub mod migrate;
pub mod overview;
pub mod plan;
pub mod plan_all;
pub mod plans;
pub mod policy;
pub mod reap;
pub mod render;
pub mod report;
pub mod requests;
pub mod schema;
pub mod state;
pub mod status;
pub mod target;
pub mod targets;
pub mod tenant_request;
pub mod tenants;
pub mod validate;

use serde::Serialize;

use crate::error::{ExitStatus, Subject};

/// What a verb returns on success: printed as JSON (`--json`) or as text.
pub trait Outcome: Serialize + std::fmt::Display {
    /// Whether `--json` wraps the outcome's fields with `command`, `status` and `errors`;
    /// documents of their own (a JSON Schema, a job matrix) are printed as they are.
    const ENVELOPE: bool = true;

    /// A verb whose run went through but found problems (drift with errors) says so here.
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// The documented `--json` fields of `plan`, `apply`, `validate` and `render`; fields that
/// do not apply are `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetResult {
    pub customer: Option<String>,
    pub environment: Option<String>,
    pub sha: Option<String>,
    pub has_changes: Option<bool>,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    pub plan_key: Option<String>,
    pub plan_sha256: Option<String>,
}

impl From<&Subject> for TargetResult {
    fn from(subject: &Subject) -> Self {
        Self {
            customer: subject.customer.clone(),
            environment: subject.environment.clone(),
            sha: subject.sha.clone(),
            ..Self::default()
        }
    }
}
