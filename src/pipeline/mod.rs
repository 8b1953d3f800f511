//! The request pipeline: how one plan or apply request flows, one way, through named steps.
//!
//! ```text
//! admit (registry, expiry, last applied, fetch → validate, protected removals)
//!       → [frame: record started, status pending]
//!       → render → prepare (init) → Terraform → store → report
//!       → [frame: status success/failure, record finished]
//! ```
//!
//! Admission ([`admit`]) refuses before anything is written; every destroy goes through
//! [`destroy`].
//!
//! Each step is a function that takes the previous step's value and returns the next
//! ([`prepare`]); the frame ([`frame::framed`]) writes the run record and the commit status
//! around the steps, so no step writes either. [`plan`], [`apply`] and [`drift`] are the
//! three flows built from these steps.

pub mod admit;
pub mod apply;
pub mod approval;
pub mod destroy;
pub mod drift;
pub mod errored_state;
pub mod frame;
pub mod governance;
pub mod health;
pub mod invalid_value;
pub mod lock_owner;
pub mod plan;
pub mod prepare;
pub mod previous;
pub mod provenance;
pub mod retry;
pub mod reviewed;
pub mod rollback;
pub mod state_versions;
pub mod supersede;
pub mod verify;
pub mod window;

use crate::codehost::{Files, Reporter};
use crate::config::Config;
use crate::identity::{Sha, Target};
use crate::store::Store;
use crate::terraform::Terraform;
use crate::workspace::WorkRoot;

/// One plan or apply request: which target, at which commit of its file, for which PR.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    /// The commit whose configuration is planned or applied.
    pub sha: Sha,
    pub pull_request: Option<u64>,
    /// The commit the run is about, when it is not `sha`: a deleted tenant's destroy plans
    /// the configuration last applied, but reports on the pushed deletion a backend polls.
    pub report_to: Option<Sha>,
    /// A destroy that the operator allowed to take protected components too
    /// (`destroy --allow-protected`).
    pub allow_protected: bool,
    /// An apply outside the environment's windows, allowed with its approval
    /// (`apply --break-glass REASON`): the reason, recorded.
    pub break_glass: Option<String>,
    /// Why a destroy plan is made (what policies read as `input.run.reason`).
    pub destroy_reason: DestroyReason,
}

/// Why an environment is destroyed, for the policies: a "no destroys in production" rule
/// that stops a component's removal must still let an owner go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DestroyReason {
    /// `destroy`: an owner or an environment taken off (a customer offboarded, a tenant file
    /// deleted, an environment dropped from it).
    #[default]
    Offboard,
    /// `reap`: the environment's expiry passed.
    Expiry,
}

impl Request {
    pub fn new(target: Target, sha: Sha) -> Self {
        Self {
            target,
            sha,
            pull_request: None,
            report_to: None,
            allow_protected: false,
            break_glass: None,
            destroy_reason: DestroyReason::default(),
        }
    }

    /// The commit statuses and check runs go to.
    pub fn reported_sha(&self) -> &Sha {
        self.report_to.as_ref().unwrap_or(&self.sha)
    }
}

/// The seams a flow runs against.
pub struct Deps<'a> {
    pub config: &'a Config,
    /// Where the owner's file is read.
    pub files: &'a dyn Files,
    /// Where the run's results go.
    pub reporter: &'a dyn Reporter,
    pub store: &'a dyn Store,
    pub terraform: &'a dyn Terraform,
    pub work: &'a WorkRoot,
    /// The manager workflow run, linked from statuses and comments.
    pub run_url: Option<String>,
    /// The manager repository commit the run's code and configuration come from
    /// (`GITHUB_SHA`); `None` outside GitHub Actions.
    pub manager_commit: Option<String>,
    /// GETs the health check URL after an apply.
    pub probe: &'a dyn health::Probe,
    /// The run's request to stop (signals, `terraform.run_timeout`), for waits outside Terraform.
    pub cancel: crate::cancel::Cancel,
    /// Who this run is, stamped on its records.
    pub identity: lock_owner::RunIdentity,
    /// GitHub's answer to whether another workflow run has ended (a lock it left); `None`
    /// without a GitHub credential.
    pub actions: Option<&'a dyn crate::codehost::ActionsRuns>,
    /// Where an apply's approval is read (GitHub); `None` without a GitHub credential.
    pub approvals: Option<&'a dyn approval::Approvals>,
    /// The webhooks told of the target's transitions (`notify:`).
    pub notifier: &'a crate::notify::Notifier,
}

/// Runs a locking Terraform call; if the state is locked by an abandoned run, releases that
/// lock and runs the call once more. Any other outcome is the call's own.
pub async fn locking<T>(
    deps: &Deps<'_>,
    target: &Target,
    call: impl AsyncFn() -> Result<T, crate::terraform::TerraformError>,
) -> Result<T, crate::terraform::TerraformError> {
    // A lock whose run is known to have ended is freed first, instead of waiting for it.
    lock_owner::free_if_dead(deps, target).await;
    retrying_once_unlocked(deps, target, call).await
}

/// [`locking`] where the caller has already freed a dead run's lock
/// ([`lock_owner::free_if_dead`], e.g. while `init` ran).
pub async fn retrying_once_unlocked<T>(
    deps: &Deps<'_>,
    target: &Target,
    call: impl AsyncFn() -> Result<T, crate::terraform::TerraformError>,
) -> Result<T, crate::terraform::TerraformError> {
    match call().await {
        Err(crate::terraform::TerraformError::Locked { .. }) if release_abandoned_lock(deps, target).await => {
            call().await
        }
        other => other,
    }
}

/// After Terraform reported the state locked: releases the lock if it is abandoned (older
/// than any live run can be, so its run was killed) and says whether to try again. A lock
/// younger than that belongs to a run that may be alive, and is never taken from it.
async fn release_abandoned_lock(deps: &Deps<'_>, target: &Target) -> bool {
    let Some(locks) = deps.store.locks() else { return false };
    match locks.release_lock(target, deps.config.abandoned_after(), false).await {
        Ok(crate::store::s3::ReleaseOutcome::Released { lock }) => {
            crate::output::log(&format!(
                "released an abandoned lock on {target} (held by `{}` for `{}` since {}); trying again",
                lock.who,
                lock.operation,
                lock.created.map_or_else(|| "an unknown time".to_owned(), |t| t.to_string())
            ));
            true
        }
        // Released by its own run meanwhile: try again.
        Ok(crate::store::s3::ReleaseOutcome::NotLocked) => true,
        Err(_) => false,
    }
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Now, RFC 3339 in UTC.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
pub(crate) mod testing;
