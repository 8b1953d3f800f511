//! The request pipeline: how one plan or apply request flows, one way, through named steps.
//!
//! ```text
//! admit → [frame: record started, status pending]
//!       → fetch → validate → render → prepare (init) → Terraform → store → report
//!       → [frame: status success/failure, record finished]
//! ```
//!
//! Each step is a function that takes the previous step's value and returns the next
//! ([`prepare`]); the frame ([`frame::framed`]) writes the run record and the commit status
//! around the steps, so no step writes either. [`plan`], [`apply`] and [`drift`] are the
//! three flows built from these steps.

pub mod admit;
pub mod apply;
pub mod drift;
pub mod frame;
pub mod plan;
pub mod prepare;
pub mod verify;

use crate::codehost::CodeHost;
use crate::config::Config;
use crate::identity::{Sha, Target};
use crate::store::Store;
use crate::terraform::Terraform;
use crate::workspace::WorkRoot;

/// One plan or apply request: which target, at which customer commit, for which PR.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub sha: Sha,
    pub pull_request: Option<u64>,
}

/// The seams a flow runs against.
pub struct Deps<'a> {
    pub config: &'a Config,
    pub host: &'a dyn CodeHost,
    pub store: &'a dyn Store,
    pub terraform: &'a dyn Terraform,
    pub work: &'a WorkRoot,
    /// The manager workflow run, linked from statuses and comments.
    pub run_url: Option<String>,
    /// The manager repository commit (`GITHUB_SHA`), or `local`.
    pub manager_commit: String,
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
