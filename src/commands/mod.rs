//! Commands: each orchestrates the seams for one CLI verb and returns a [`Report`].
//!
//! Plan and apply are the same flow in local mode and on GitHub; only the seams differ
//! (a directory or the GitHub API as [`CodeHost`], a directory or S3 as [`Store`]).

pub mod apply;
pub mod bootstrap;
pub mod drift;
pub mod history;
pub mod locks;
pub mod plan;
pub mod workdir;

use std::path::PathBuf;

use serde::Serialize;

use crate::codehost::{CodeHost, CommitStatus, StatusState};
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::identity::{Sha, Target};
use crate::output;
use crate::report::{STATUS_DESCRIPTION_MAX, status_context, truncate_chars};
use crate::store::{RunKind, RunRecord, RunStatus, Store};
use crate::terraform::Terraform;

/// Everything a plan or apply needs from the outside world.
pub struct Context<'a> {
    pub config: &'a Config,
    pub host: &'a dyn CodeHost,
    pub store: &'a dyn Store,
    pub terraform: &'a Terraform,
    /// Working directories go under `<work_root>/<owner>/<repo>/<env>`.
    pub work_root: PathBuf,
    /// The manager workflow run, linked from statuses and comments.
    pub run_url: Option<String>,
    /// The manager repository commit (`GITHUB_SHA`), or `local`.
    pub manager_commit: String,
}

/// One plan or apply request.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub sha: Sha,
    pub pull_request: Option<u64>,
}

/// The result of a command, as `--json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    Invalid,
    Refused,
}

/// One error in the `--json` result: a place in a file when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorItem {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<&Diagnostic> for ErrorItem {
    fn from(d: &Diagnostic) -> Self {
        Self {
            file: Some(d.file.clone()),
            line: Some(d.line),
            column: Some(d.column),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// What a command did, for `--json` and for the exit code.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: &'static str,
    pub customer: Option<String>,
    pub environment: Option<String>,
    pub sha: Option<String>,
    pub status: Outcome,
    pub has_changes: Option<bool>,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    pub plan_key: Option<String>,
    pub plan_sha256: Option<String>,
    pub errors: Vec<ErrorItem>,
    /// `render`: the working directory written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<String>,
    /// The comment text (plan): printed in local mode, posted on GitHub.
    #[serde(skip)]
    pub comment: Option<String>,
    /// Exit code: 0 ok, 1 operational failure, 2 invalid input or usage.
    #[serde(skip)]
    pub exit_code: u8,
}

impl Report {
    pub fn new(command: &'static str, req: &Request) -> Self {
        Self {
            command,
            customer: Some(req.target.customer.to_string()),
            environment: Some(req.target.env.to_string()),
            sha: Some(req.sha.to_string()),
            status: Outcome::Ok,
            has_changes: None,
            add: None,
            change: None,
            destroy: None,
            plan_key: None,
            plan_sha256: None,
            errors: Vec::new(),
            work_dir: None,
            comment: None,
            exit_code: 0,
        }
    }

    /// A report for a command that stopped before it had a target.
    pub fn bare(command: &'static str) -> Self {
        Self { customer: None, environment: None, sha: None, ..Self::new(command, &placeholder_request()) }
    }

    pub fn stop(mut self, stop: Stop) -> Self {
        match stop {
            Stop::Invalid(diagnostics) => {
                self.status = Outcome::Invalid;
                self.exit_code = 2;
                self.errors = diagnostics.iter().map(ErrorItem::from).collect();
            }
            Stop::Refused { message, hint, exit_code } => {
                self.status = Outcome::Refused;
                self.exit_code = exit_code;
                self.errors.push(ErrorItem { file: None, line: None, column: None, message, hint });
            }
            Stop::Failed(message) => {
                self.status = Outcome::Failed;
                self.exit_code = 1;
                self.errors.push(ErrorItem { file: None, line: None, column: None, message, hint: None });
            }
        }
        self
    }

    /// The errors as terminal text.
    pub fn error_text(&self) -> String {
        let mut out = String::new();
        for e in &self.errors {
            match (&e.file, e.line, e.column) {
                (Some(f), Some(l), Some(c)) => out.push_str(&format!("error: {f}:{l}:{c}: {}\n", e.message)),
                _ => out.push_str(&format!("error: {}\n", e.message)),
            }
            if let Some(hint) = &e.hint {
                out.push_str(&format!("  hint: {hint}\n"));
            }
        }
        out
    }
}

fn placeholder_request() -> Request {
    Request {
        target: Target {
            customer: crate::identity::CustomerId::parse("local/none")
                .unwrap_or_else(|_| unreachable!("valid literal")),
            env: crate::identity::EnvName::parse("none").unwrap_or_else(|_| unreachable!("valid literal")),
        },
        sha: Sha::parse(&"0".repeat(40)).unwrap_or_else(|_| unreachable!("valid literal")),
        pull_request: None,
    }
}

/// Why a flow stopped early.
#[derive(Debug, Clone)]
pub enum Stop {
    /// The customer's file is not acceptable (exit 2).
    Invalid(Vec<Diagnostic>),
    /// The request is not allowed or the plan cannot be applied; nothing was changed.
    Refused { message: String, hint: Option<String>, exit_code: u8 },
    /// Something failed while running (exit 1).
    Failed(String),
}

impl Stop {
    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Stop::Refused { message: message.into(), hint: Some(hint.into()), exit_code: 1 }
    }

    /// A one-line commit status description for this stop.
    fn status_line(&self) -> String {
        match self {
            Stop::Failed(message) => format!("Failed: {}", message.lines().next().unwrap_or_default()),
            other => other.message(),
        }
    }

    /// The whole message, for logs and run records.
    pub fn message(&self) -> String {
        match self {
            Stop::Invalid(d) => {
                format!("infra/variables.yml has {} problem{}", d.len(), if d.len() == 1 { "" } else { "s" })
            }
            Stop::Refused { message, .. } | Stop::Failed(message) => message.clone(),
        }
    }
}

/// Checks the request against the registry before anything is written anywhere.
pub fn admit(config: &Config, target: &Target) -> Result<(), Stop> {
    let usage = |message: String, hint: String| Stop::Refused { message, hint: Some(hint), exit_code: 2 };
    if config.has_registry() {
        let Some(customer) = config.customer(&target.customer) else {
            return Err(usage(
                format!("repository `{}` is not a registered customer", target.customer),
                "ask the platform team to add it under `customers:` in infra-manager.yml".into(),
            ));
        };
        if !customer.environments.contains(&target.env) {
            return Err(usage(
                format!("environment `{}` is not enabled for `{}`", target.env, target.customer),
                format!("enabled: {}", customer.environments.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")),
            ));
        }
    }
    if config.environment(&target.env).is_none() {
        return Err(usage(
            format!("unknown environment `{}`", target.env),
            format!("configured environments: {}", config.environment_names().join(", ")),
        ));
    }
    Ok(())
}

impl Context<'_> {
    /// Sets the commit status for the request's environment.
    pub async fn status(&self, req: &Request, state: StatusState, description: &str) -> Result<(), Stop> {
        let status = CommitStatus {
            state,
            context: status_context(req.target.env.as_str()),
            description: truncate_chars(description, STATUS_DESCRIPTION_MAX),
            target_url: self.run_url.clone(),
        };
        self.host.set_status(&req.target.customer, &req.sha, &status).await.map_err(|e| Stop::Failed(e.to_string()))
    }

    /// Sets the failure status for a stop; a failure to do so is logged, the stop stands.
    pub async fn fail_status(&self, req: &Request, stop: &Stop) {
        if let Err(e) = self.status(req, StatusState::Failure, &stop.status_line()).await {
            output::log(&format!("warning: could not set the failure status: {}", e.message()));
        }
    }

    /// The working directory for a target.
    pub fn work_dir(&self, target: &Target) -> PathBuf {
        work_dir(&self.work_root, target)
    }

    /// Writes a run record; the store being unreachable is logged, not fatal to the run.
    pub async fn record(&self, record: &RunRecord) {
        if let Err(e) = self.store.record_run(record).await {
            output::log(&format!("warning: could not record the run: {e}"));
        }
    }

    pub fn new_record(&self, kind: RunKind, req: &Request) -> RunRecord {
        let now = now();
        RunRecord {
            run_id: format!("{now}#{:08x}", fastrand::u32(..)),
            kind,
            customer: req.target.customer.to_string(),
            environment: req.target.env.to_string(),
            sha: req.sha.to_string(),
            pull_request: req.pull_request,
            status: RunStatus::Started,
            started_at: now,
            finished_at: None,
            run_url: self.run_url.clone(),
            add: None,
            change: None,
            destroy: None,
            message: None,
        }
    }
}

/// `<root>/<owner>/<repo>/<env>`: one working directory per target.
pub fn work_dir(root: &std::path::Path, target: &Target) -> PathBuf {
    root.join(target.customer.owner()).join(target.customer.repo()).join(target.env.as_str())
}

/// Now, RFC 3339 in UTC.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
