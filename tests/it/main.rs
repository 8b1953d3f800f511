//! The integration tests, linked as one test binary (`it`) instead of one per file: each
//! test binary links the whole library and its AWS SDK dependencies, so the suite links
//! once (see docs/performance.md). Each module below was a `tests/<name>.rs` of its own;
//! `support/` holds the helpers they share. Snapshots are under `snapshots/`, named after
//! the module path (`it__plan_summary__create.snap`).
//!
//! Run one module with `cargo nextest run --test it -E 'test(/^local_mode::/)'` (or
//! `cargo test --test it local_mode::`).

mod support;

mod action_install;
mod aws_e2e;
mod aws_store;
mod catalog_modules;
mod docs_commands;
mod doctor;
mod example_fleet;
mod fleet;
mod github_app;
mod github_client;
mod github_mode;
mod governance;
mod health;
mod hostile_variables;
mod local_mode;
mod migrate;
mod notify;
mod oidc;
mod overview;
mod plan_detail;
mod plan_summary;
mod plugin_cache;
mod policy;
mod reliability;
mod retries;
mod reviewed_plan;
mod schema;
mod seed_types;
mod state_rollback;
mod status_page;
mod summary_vs_terraform;
mod target_model;
mod tenants;
mod tools_script;
mod workflows_e2e;
