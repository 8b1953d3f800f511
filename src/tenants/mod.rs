//! Provider-managed tenants: `tenants/<name>.yml` files in the manager repository itself,
//! in the v2 format with `kind: Tenant`. A tenant's states and records live under the
//! reserved owner `tenants` ([`crate::identity::RepoId::tenant`]), so every flow (plan,
//! apply, destroy) runs for it exactly as for a customer; what differs is where the file
//! comes from (the manager checkout's Git history, [`git`]) and how changes are found
//! ([`changes`]: added, modified and deleted files between two commits).

pub mod changes;
pub mod git;
pub mod host;
pub mod request;

// The `tenants:` section's reader lives with the other sections in `crate::config`; this
// keeps its old path working.
pub use crate::config::tenants as registry;
