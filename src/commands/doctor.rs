//! `doctor`: checks a manager set-up once, one line per check, each failure with what to
//! do: the configuration parses, every module and catalog type resolves, Terraform runs,
//! the store is there and protected, and (with a GitHub credential) the credential can do
//! what the workflows need. It reads and never writes: run it after set-up and on a
//! schedule. Exit 1 when a check failed.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::Outcome;
use crate::cli::DoctorArgs;
use crate::config::{BackendKind, Config};
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Failed,
    /// Not checked: what it needs failed or is not configured.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `config`, `module`, `catalog`, `terraform`, `store`, `github`.
    pub area: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    pub(super) fn ok(area: &'static str, detail: impl Into<String>) -> Self {
        Self { area, verdict: Verdict::Ok, detail: detail.into(), hint: None }
    }

    pub(super) fn failed(area: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { area, verdict: Verdict::Failed, detail: detail.into(), hint: Some(hint.into()) }
    }

    pub(super) fn skipped(area: &'static str, detail: impl Into<String>) -> Self {
        Self { area, verdict: Verdict::Skipped, detail: detail.into(), hint: None }
    }

    /// A command error as a failed check: its first item, where it has a place, and hint.
    pub(super) fn from_error(area: &'static str, error: &CommandError) -> Self {
        let item = error.items().into_iter().next();
        let (detail, hint) = match item {
            Some(i) => {
                let at = match (&i.file, i.line, i.column) {
                    (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: "),
                    _ => String::new(),
                };
                (format!("{at}{}", i.message), i.hint)
            }
            None => (error.to_string(), error.hint()),
        };
        Self { area, verdict: Verdict::Failed, detail, hint }
    }
}

/// The report, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Doctor {
    pub checks: Vec<Check>,
    pub failed: usize,
}

impl fmt::Display for Doctor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = match check.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Failed => "FAIL",
                Verdict::Skipped => "skip",
            };
            writeln!(f, "{mark} {:<9} {}", check.area, check.detail)?;
            if let Some(hint) = &check.hint {
                writeln!(f, "     {:<9} hint: {hint}", "")?;
            }
        }
        match self.failed {
            0 => writeln!(f, "all checks passed"),
            n => writeln!(f, "{n} of {} checks failed", self.checks.len()),
        }
    }
}

impl Outcome for Doctor {
    fn exit_status(&self) -> ExitStatus {
        if self.failed == 0 { ExitStatus::Success } else { ExitStatus::Failure }
    }
}

pub async fn run(ctx: &Context<'_>, args: &DoctorArgs) -> Result<Doctor, CommandError> {
    let mut checks = Vec::new();
    match ctx.config().await {
        Ok(config) => {
            checks.push(config_line(ctx.settings.config_path.as_path(), config));
            checks.push(module(config));
            checks.push(catalog(config));
            checks.push(terraform(ctx).await);
            checks.extend(store(ctx, config).await);
            checks.extend(super::doctor_github::checks(ctx, config, args).await);
        }
        Err(e) => {
            checks.push(Check::from_error("config", &e));
            for area in ["module", "catalog", "terraform", "store", "github"] {
                checks.push(Check::skipped(area, "needs the configuration"));
            }
        }
    }
    let failed = checks.iter().filter(|c| c.verdict == Verdict::Failed).count();
    Ok(Doctor { checks, failed })
}

fn config_line(path: &Path, config: &Config) -> Check {
    let what = if path.exists() {
        format!("`{}`", path.display())
    } else {
        format!("no `{}`: local mode with the built-in defaults", path.display())
    };
    let environments: Vec<&str> = config.environments.iter().map(|(e, _)| e.as_str()).collect();
    Check::ok(
        "config",
        format!(
            "{what}: {} customers, environments {}, state backend `{}`",
            config.customers.len(),
            environments.join(", "),
            match config.state.backend {
                BackendKind::S3 => "s3",
                BackendKind::Local => "local",
            }
        ),
    )
}

/// The schema v1 module (`terraform.module` under `modules_dir`).
fn module(config: &Config) -> Check {
    let dir = config.module_dir();
    if dir.join("variables.tf").is_file() || dir.join("main.tf").is_file() {
        Check::ok("module", format!("`{}`", dir.display()))
    } else if dir.is_dir() {
        Check::failed(
            "module",
            format!("`{}` has no `main.tf` or `variables.tf`", dir.display()),
            "point `terraform.module` at a Terraform module directory under `terraform.modules_dir`",
        )
    } else {
        Check::failed(
            "module",
            format!("`{}` does not exist", dir.display()),
            "set `terraform.modules_dir` (relative to infra-manager.yml) and `terraform.module` to the module schema v1 files render",
        )
    }
}

/// Every catalog type's module, read as `catalog` reads it.
fn catalog(config: &Config) -> Check {
    match super::catalog::listing(config, None) {
        Ok(listing) => {
            let names: Vec<&str> = listing.types.iter().map(|t| t.name.as_str()).collect();
            Check::ok("catalog", format!("{} types: {}", names.len(), names.join(", ")))
        }
        Err(e) => Check::from_error("catalog", &e),
    }
}

async fn terraform(ctx: &Context<'_>) -> Check {
    let terraform = match ctx.terraform().await {
        Ok(t) => t,
        Err(e) => return Check::from_error("terraform", &e),
    };
    match terraform.version().await {
        Ok(version) => Check::ok("terraform", format!("Terraform {version}")),
        Err(e) => Check::failed(
            "terraform",
            format!("`terraform version` failed: {e}"),
            "install Terraform (or OpenTofu), or point INFRA_MANAGER_TERRAFORM at it",
        ),
    }
}

/// The local store's directory, or each of the S3 store's resources and protections.
async fn store(ctx: &Context<'_>, config: &Config) -> Vec<Check> {
    let store = match ctx.store().await {
        Ok(s) => s,
        Err(e) => return vec![Check::from_error("store", &e)],
    };
    if config.state.backend == BackendKind::Local {
        return vec![Check::ok("store", format!("local, under `{}`", config.state.local_dir.display()))];
    }
    let Some(bootstrapper) = store.bootstrapper() else {
        return vec![Check::skipped("store", "this store has nothing to inspect")];
    };
    match bootstrapper.inspect().await {
        Ok(found) => found
            .into_iter()
            .map(|line| match line.problem {
                None => Check::ok("store", line.what),
                Some(problem) => Check {
                    area: "store",
                    verdict: Verdict::Failed,
                    detail: format!("{}: {problem}", line.what),
                    hint: line.hint,
                },
            })
            .collect(),
        Err(e) => vec![Check::from_error("store", &CommandError::from(e))],
    }
}
