//! Provider-managed tenants: `tenants/<name>.yml` files in the manager repository itself,
//! in the v2 format with `kind: Tenant`. A tenant is an owner like a customer
//! ([`crate::identity::Owner::Tenant`]), so every flow (plan, apply, destroy, drift, the
//! fleet verbs) runs for it through the same code; what differs is where the file comes from
//! (the manager checkout's Git history, [`git`], [`host`]) and how changes are found
//! ([`changes`]: added, modified and deleted files between two commits).

pub mod changes;
pub mod file;
pub mod follow;
pub mod git;
pub mod host;
pub mod names;
pub mod plain_file;
pub mod request;

// The `tenants:` section's reader lives with the other sections in `crate::config`; this
// keeps its old path working.
pub use crate::config::tenants as registry;
