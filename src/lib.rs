//! infra-manager: managed infrastructure for customer repositories.
//!
//! The binary is a thin CLI ([`cli`]) over this library. Commands ([`commands`]) orchestrate;
//! everything that touches the outside world sits behind a seam: [`codehost::Files`] (GitHub,
//! a local directory, the manager checkout) and [`codehost::Reporter`] (GitHub or the log), [`store::Store`] (S3 + DynamoDB or a local directory) and
//! [`terraform::Terraform`] (the `terraform` or `tofu` executable). The pure parts —
//! [`variables`], [`render`], [`terraform::summary`], [`report`] — take data in and give data out.

pub mod actions;
pub mod app;
pub mod cancel;
pub mod catalog;
pub mod change_scope;
pub mod cli;
pub mod codehost;
pub mod commands;
pub mod config;
pub mod context;
pub mod cost;
pub mod diagnostic;
pub mod drift_issues;
pub mod duration;
pub mod egress;
pub mod error;
pub mod event;
pub mod file_diff;
pub mod fleet;
pub mod github;
pub mod http;
pub mod identity;
pub mod limits;
pub mod local_host;
pub mod notify;
pub mod oidc;
pub mod orphans;
pub mod output;
pub mod overview;
pub mod pipeline;
pub mod policy;
pub mod process;
pub mod refusal;
pub mod registry;
pub mod render;
pub mod report;
pub mod settings;
pub mod shard;
pub mod source_file;
pub mod status;
pub mod status_page;
pub mod store;
pub mod suggest;
pub mod tenants;
pub mod terraform;
pub mod variables;
pub mod workspace;
pub mod yaml;
