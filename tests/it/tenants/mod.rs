//! Tenants and schema v2 files through the real binary, one submodule per concern:
//!
//! - `lifecycle`: provider-managed tenants (`tenants/<name>.yml` in a manager repository
//!   made by the test) created, updated and destroyed from its Git history;
//! - `request_rules`: what a request may change, its idempotence, its status and names;
//! - `requests`: provisioning requests committed as tenant files, then planned, applied,
//!   health-checked and reaped;
//! - `v2`: schema v2 files validated (the `tests/fixtures/v2/` corpus) and rendered;
//! - `v2_plans`: schema v2 files planned and applied in local mode.
//!
//! All but `v2` run real Terraform.

mod lifecycle;
mod request_rules;
mod requests;
mod v2;
mod v2_plans;

use std::path::PathBuf;

use crate::support::cli::{Output, repo_root};

/// The schema v2 fixtures: `good/`, and `bad/` with its `EXPECT.tsv`.
fn v2_fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/v2")
}

/// `(add, change, destroy)` of a `--json plan` report.
fn counts(out: &Output) -> (u64, u64, u64) {
    let r = out.json();
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no `{k}` in {r}"));
    (n("add"), n("change"), n("destroy"))
}
