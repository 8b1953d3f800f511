//! The `Terraform` seam: [`Terraform`] is what commands call; [`process::ProcessTerraform`]
//! runs the `terraform` (or `tofu`) executable, and a fake stands in for it in unit tests.
//!
//! Only machine-readable output is parsed (`-json` UI streams, `show -json`,
//! `version -json`, `state pull`, the saved plan's `tfstate`), so Terraform and OpenTofu
//! behave the same.

pub mod differences;
#[cfg(test)]
pub mod fake;
pub mod go_runtime;
pub mod invalid_value;
pub mod planfile;
mod plugin_cache;
pub mod process;
pub mod reviewable;
mod show_json;
pub mod streamed;
pub mod summary;
pub mod transient;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::Value;

pub use streamed::StreamedPlan;

/// Errors from running Terraform, each naming the step.
#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error("no `{wanted}` executable found on PATH")]
    NotFound { wanted: String },
    #[error("can't run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// `transient`: why trying again may pass ([`transient::classify`]); `None`: it would
    /// fail the same way.
    #[error("terraform {step} failed (exit {code}){}{}", killed(*code), render_details(details))]
    Failed { step: &'static str, code: i32, details: Vec<String>, transient: Option<String> },
    /// Every error was a module input's validation failing: the customer's value, which the
    /// pipeline places at its line ([`invalid_value`]).
    #[error("terraform {step} refused a component input's value{}", render_details(details))]
    InvalidValues { step: &'static str, values: Vec<invalid_value::InvalidValue>, details: Vec<String> },
    #[error("the state is locked by another run (waited {waited_secs}s for it){}", render_details(details))]
    Locked { waited_secs: u64, details: Vec<String> },
    #[error(
        "terraform refused the saved plan as stale: the state changed after the plan was made (another run applied first){}",
        render_details(details)
    )]
    StalePlan { details: Vec<String> },
    #[error("terraform {step} printed output that is not valid JSON: {message}")]
    BadOutput { step: &'static str, message: String },
    /// Terraform saved a plan that is errored or incomplete: it must not be applied, and
    /// reviewers see what it could plan and why it stopped.
    #[error("terraform plan is errored or incomplete: it can't be applied{}", render_details(details))]
    PlanErrored { plan: Box<SavedPlan>, details: Vec<String> },
    /// An apply whose Terraform ended without releasing the state lock (read back).
    #[error("{inner}; the state is still locked (held by `{holder}`): once no run holds it, `{release}` frees it")]
    LockLeft { inner: Box<TerraformError>, holder: String, release: String },
    /// An apply whose state Terraform could not save; `kept` says where it is.
    #[error("{kept} ({inner})")]
    StateNotSaved { inner: Box<TerraformError>, kept: String },
    /// An apply that failed after creating resources the state does not hold.
    #[error(
        "{} resource(s) were created but are not in the state: {} ({inner})",
        missing.len(),
        missing.join(", ")
    )]
    StateIncomplete { inner: Box<TerraformError>, missing: Vec<String> },
    #[error("terraform {step} was stopped: {reason}{}", stop_end(*.ended))]
    Cancelled { step: &'static str, reason: String, ended: Option<crate::process::StopEnd> },
    #[error("can't read the saved plan `{}`: {source}", .path.display())]
    ReadPlan {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TerraformError {
    /// Why the failure may pass when tried again: Terraform's diagnostics named a transient
    /// cause, or the state lock was still held when the wait ran out. `None`: deterministic.
    /// Whether the run was cancelled, through the wrappers that say what it left.
    pub fn is_cancelled(&self) -> bool {
        match self {
            Self::Cancelled { .. } => true,
            Self::StateIncomplete { inner, .. } | Self::LockLeft { inner, .. } | Self::StateNotSaved { inner, .. } => {
                inner.is_cancelled()
            }
            _ => false,
        }
    }

    /// Terraform's first line of its own on why it failed (its first error diagnostic, or
    /// stderr), for one-line reports: a status, a record.
    pub fn first_detail(&self) -> Option<&str> {
        let details = match self {
            Self::Failed { details, .. }
            | Self::InvalidValues { details, .. }
            | Self::Locked { details, .. }
            | Self::StalePlan { details } => details,
            Self::PlanErrored { details, .. } => details,
            _ => return None,
        };
        details.iter().flat_map(|d| d.lines()).map(str::trim).find(|l| !l.is_empty())
    }

    pub fn transient(&self) -> Option<&str> {
        match self {
            Self::Failed { transient, .. } => transient.as_deref(),
            Self::Locked { .. } => Some("the state lock was held past the wait"),
            _ => None,
        }
    }
}

/// Every resource instance address a state document holds (`module.app.x.y[0]`).
pub fn state_addresses(state: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(state) else { return Vec::new() };
    let mut out = Vec::new();
    for r in doc["resources"].as_array().into_iter().flatten() {
        let module = r["module"].as_str().map(|m| format!("{m}.")).unwrap_or_default();
        let data = if r["mode"] == "data" { "data." } else { "" };
        let base = format!(
            "{module}{data}{}.{}",
            r["type"].as_str().unwrap_or_default(),
            r["name"].as_str().unwrap_or_default()
        );
        for instance in r["instances"].as_array().into_iter().flatten() {
            out.push(match &instance["index_key"] {
                serde_json::Value::Number(n) => format!("{base}[{n}]"),
                serde_json::Value::String(k) => format!("{base}[{k:?}]"),
                _ => base.clone(),
            });
        }
    }
    out
}

/// What an exit code above 128 means: Terraform was killed by a signal, so it may not have
/// saved the state or released its lock.
fn killed(code: i32) -> String {
    if code > 128 {
        format!(
            ": killed by signal {}, so it may not have saved the state or released its lock (`infra-manager locks list`; plan again to see what the state lacks)",
            code - 128
        )
    } else {
        String::new()
    }
}

/// How an interrupted Terraform ended, as the cancellation's message says it.
fn stop_end(ended: Option<crate::process::StopEnd>) -> String {
    use crate::process::StopEnd;
    match ended {
        None => String::new(),
        Some(StopEnd::Stopped(code)) => format!(" (Terraform stopped on its own, exit {code})"),
        Some(StopEnd::Killed) => " (Terraform did not stop within `terraform.stop_timeout` and was killed)".to_owned(),
        Some(StopEnd::LeftRunning) => {
            " (the run ended on a second signal while Terraform was still stopping)".to_owned()
        }
    }
}

fn render_details(details: &[String]) -> String {
    if details.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n  ┌─ terraform said:");
    for line in details.iter().flat_map(|d| d.lines()) {
        s.push_str("\n  │ ");
        s.push_str(line);
    }
    s.push_str("\n  └─");
    s
}

/// A state's identity: a saved plan only applies to the state it was made against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateId {
    pub lineage: String,
    pub serial: u64,
}

/// A saved plan: the file's bytes (what apply runs), the Terraform version that made it, the
/// state it was made against, and what it will do ([`PlanView`]).
#[derive(Debug, Clone)]
pub struct SavedPlan {
    pub bytes: Vec<u8>,
    /// From the `plan -json` stream's first message.
    pub version: String,
    /// The prior state's lineage and serial, read from the plan file itself (`None`: the
    /// plan was made against no state).
    pub prior_state: Option<StateId>,
    pub view: PlanView,
    /// What drifted, attribute by attribute: read with [`PlanDetail::Drift`] when the plan
    /// has anything to show, else `None`.
    pub differences: Option<differences::Differences>,
}

impl SavedPlan {
    /// `show` text for reviewers, when the plan was made with [`PlanDetail::Full`].
    pub fn text(&self) -> Option<&str> {
        match &self.view {
            PlanView::Shown { text, .. } => Some(text),
            PlanView::Streamed(_) => None,
        }
    }

    /// The printed `show -json`, taken out (empty after): the policies are its only reader,
    /// and a large plan's is megabytes the rest of the run need not hold.
    pub fn take_raw(&mut self) -> Option<String> {
        match &mut self.view {
            PlanView::Shown { raw, .. } => Some(std::mem::take(raw)),
            PlanView::Streamed(_) => None,
        }
    }
}

/// What a saved plan says it will do, as its [`PlanDetail`] read it.
#[derive(Debug, Clone)]
pub enum PlanView {
    /// `show -json` trimmed to what the summary reads (`json`), the same output whole as
    /// Terraform printed it (`raw`: what policies read, `crate::policy::plan`; taken by the
    /// plan step, [`SavedPlan::take_raw`]), and `show` text (what reviewers read; never
    /// parsed).
    Shown { json: Value, raw: String, text: String },
    /// The plan's own `-json` stream: every change, counted the same way, without attribute
    /// or output values.
    Streamed(StreamedPlan),
}

/// How much of a plan to read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanDetail {
    /// `show -json` and `show` of the saved plan (two more processes, side by side): for a
    /// pull request comment with the plan text and output values.
    Full,
    /// Only the `plan -json` stream, no `show` at all: counts, addresses and actions, for
    /// fleet re-plans.
    Counts,
    /// The stream, and when it lists a change or drift, `show -json` read for the values
    /// that differ ([`differences`]): a drift check, which names what drifted; an in-sync
    /// target runs no `show`.
    Drift,
}

/// The root module's outputs after an apply, from the `-json` stream's `outputs` message.
/// A sensitive output is kept by name only: its value is never read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs(BTreeMap<String, Output>);

/// One output: its value, or only the fact that it is sensitive.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Value(Value),
    Sensitive,
}

impl Outputs {
    /// Reads the `outputs` object of an `outputs` message
    /// (`{"name": {"sensitive": false, "type": "string", "value": "…"}}`); a value is kept
    /// only when the output is marked `"sensitive": false`.
    pub fn from_message(outputs: &Value) -> Self {
        let Some(map) = outputs.as_object() else { return Self::default() };
        let read = |o: &Value| match o["sensitive"].as_bool() {
            Some(false) => Output::Value(o.get("value").cloned().unwrap_or(Value::Null)),
            _ => Output::Sensitive,
        };
        Self(map.iter().map(|(name, o)| (name.clone(), read(o))).collect())
    }

    pub fn get(&self, name: &str) -> Option<&Output> {
        self.0.get(name)
    }

    /// The outputs that may be shown (to the customer, in step outputs): every one not
    /// marked sensitive, with its value.
    pub fn public(&self) -> BTreeMap<String, Value> {
        self.0
            .iter()
            .filter_map(|(name, o)| match o {
                Output::Value(v) => Some((name.clone(), v.clone())),
                Output::Sensitive => None,
            })
            .collect()
    }
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Make the state match the configuration.
    Update,
    /// Remove everything in the state (`plan -destroy`): offboarding.
    Destroy,
}

/// The operations the service needs from Terraform, each in a working directory.
#[async_trait]
pub trait Terraform: Send + Sync {
    /// The version string (`1.11.4`); a plan only applies with the version that made it.
    /// Free once any command has run (`init` says it first); a process otherwise.
    async fn version(&self) -> Result<String, TerraformError>;

    /// `init` in `dir`.
    async fn init(&self, dir: &Path) -> Result<(), TerraformError>;

    /// Plans into `planfile` (with [`PlanKind::Destroy`], a plan that destroys everything
    /// in the state) and returns the saved plan, read back as `detail` says.
    async fn plan(
        &self,
        dir: &Path,
        planfile: &str,
        kind: PlanKind,
        detail: PlanDetail,
    ) -> Result<SavedPlan, TerraformError>;

    /// Applies exactly the saved plan `planfile`; returns the root module's outputs as the
    /// apply reported them. Terraform itself refuses a plan whose prior state is no longer
    /// the current one ([`TerraformError::StalePlan`]).
    async fn apply(&self, dir: &Path, planfile: &str) -> Result<Outputs, TerraformError>;

    /// Destroys everything in the state of `dir`'s configuration.
    async fn destroy(&self, dir: &Path) -> Result<(), TerraformError>;

    /// The current state's lineage and serial (`None` when there is no state yet): a
    /// process of its own, so only for a dry run and for explaining a stale plan.
    async fn state_id(&self, dir: &Path) -> Result<Option<StateId>, TerraformError>;
}

#[cfg(test)]
mod state_address_tests {
    /// The addresses a state holds, as Terraform's `-json` stream names them.
    #[test]
    fn state_addresses_read_like_the_stream_names_them() {
        let state = r#"{"resources":[
            {"module":"module.app","mode":"managed","type":"terraform_data","name":"x","instances":[{}]},
            {"mode":"managed","type":"aws_s3_bucket","name":"b","instances":[{"index_key":0},{"index_key":1}]},
            {"module":"module.db","mode":"data","type":"aws_ami","name":"a","instances":[{"index_key":"eu"}]}
        ]}"#;
        assert_eq!(
            super::state_addresses(state),
            [
                "module.app.terraform_data.x",
                "aws_s3_bucket.b[0]",
                "aws_s3_bucket.b[1]",
                "module.db.data.aws_ami.a[\"eu\"]"
            ]
        );
        assert!(super::state_addresses("not json").is_empty());
    }
}
