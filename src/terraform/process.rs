//! [`ProcessTerraform`]: the real `terraform` (or `tofu`) executable.
//!
//! The executable is found once ([`ProcessTerraform::locate`]); each call logs a line saying
//! what runs. Tool output is streamed to the log as it comes; on failure the error
//! diagnostics are kept for the message.
//!
//! Processes per flow: a plan is `init` and `plan` (plus `show -json` and `show`, side by
//! side, for [`PlanDetail::Full`]); an apply is `init` and `apply`. The version comes from
//! the first message of any `-json` stream, the prior state from the saved plan file.
//! (`init -json` needs Terraform 1.9 or later, or OpenTofu.)

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::plugin_cache::PluginCacheGate;
use super::streamed::{StreamedPlan, announced_version, is_plan_message};
use super::transient;
use super::{Outputs, PlanDetail, PlanKind, PlanView, SavedPlan, StateId, Terraform, TerraformError, planfile};
use crate::cancel::Cancel;
use crate::output;
use crate::process::{self, find_executable};

/// The executable and the environment it runs with.
#[derive(Debug, Clone)]
pub struct ProcessTerraform {
    program: PathBuf,
    plugin_cache_dir: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
    /// How long plan, apply and destroy wait for a state lock held by another run.
    lock_timeout: Duration,
    /// Asks a running Terraform to stop; it then has `stop_timeout` to do so.
    cancel: Cancel,
    stop_timeout: Duration,
    /// Inits that may fill the shared plugin cache run one at a time; inits that only read
    /// it run side by side (see [`super::plugin_cache`]).
    cache_gate: Arc<PluginCacheGate>,
    /// The version the executable announced (every `-json` stream starts with it).
    version: Arc<OnceLock<String>>,
}

impl ProcessTerraform {
    /// Finds `wanted` (a name looked up in `search_path`, i.e. `PATH`, or a path); a missing
    /// `terraform` falls back to `tofu`.
    pub fn locate(wanted: &str, search_path: Option<&OsStr>) -> Result<Self, TerraformError> {
        let found = find_executable(wanted, search_path)
            .or_else(|| (wanted == "terraform").then(|| find_executable("tofu", search_path)).flatten());
        match found {
            Some(program) => Ok(Self {
                program,
                plugin_cache_dir: None,
                extra_env: Vec::new(),
                lock_timeout: Duration::ZERO,
                cancel: Cancel::new(),
                stop_timeout: Duration::from_secs(60),
                cache_gate: Arc::default(),
                version: Arc::default(),
            }),
            None => Err(TerraformError::NotFound { wanted: wanted.to_owned() }),
        }
    }

    /// Shares provider downloads between working directories.
    pub fn with_plugin_cache(mut self, dir: &Path) -> Self {
        self.plugin_cache_dir = Some(dir.to_path_buf());
        self
    }

    /// Adds an environment variable for every invocation (e.g. backend credentials).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Waits up to `timeout` for a state lock another run holds (`-lock-timeout`).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Interrupts Terraform once when `cancel` fires, and kills it if it has not stopped
    /// within `stop_timeout`.
    pub fn with_cancel(mut self, cancel: Cancel, stop_timeout: Duration) -> Self {
        self.cancel = cancel;
        self.stop_timeout = stop_timeout;
        self
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .current_dir(dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C in a terminal reaches this process only, which
            // interrupts Terraform once (a second interrupt would make it quit uncleanly).
            // Never killed with the engine's handle: a Terraform mid-apply that loses its
            // engine goes on to its end, saving state and releasing its lock.
            .process_group(0)
            .kill_on_drop(false);
        if let Some(cache) = &self.plugin_cache_dir
            && std::fs::create_dir_all(cache).is_ok()
        {
            cmd.env("TF_PLUGIN_CACHE_DIR", cache);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `terraform show -json PLANFILE`: trimmed as the summary reads it, and as printed.
    async fn show_json(&self, dir: &Path, planfile: &str) -> Result<(Value, String), TerraformError> {
        let out = self.capture(dir, "show", &["show", "-json", planfile]).await?;
        let json = super::show_json::read(&out)
            .map_err(|e| TerraformError::BadOutput { step: "show", message: e.to_string() })?;
        Ok((json, out))
    }

    /// What drifted, from `show -json PLANFILE`; `None` (logged) when it can't be read: the
    /// drift check still has the stream's counts and addresses.
    async fn differences(&self, dir: &Path, planfile: &str) -> Option<super::differences::Differences> {
        let read = self.capture(dir, "show", &["show", "-json", planfile]).await.and_then(|out| {
            super::differences::read(&out)
                .map_err(|e| TerraformError::BadOutput { step: "show", message: e.to_string() })
        });
        read.map_err(|e| output::log(&format!("warning: can't read what drifted: {e}"))).ok()
    }

    /// `terraform show PLANFILE` as plain text, for people (never parsed).
    async fn show_text(&self, dir: &Path, planfile: &str) -> Result<String, TerraformError> {
        let mut text = self.capture(dir, "show", &["show", "-no-color", planfile]).await?;
        // In place: a large plan's text is held once.
        let blank = text.len() - text.trim_start_matches('\n').len();
        text.drain(..blank);
        Ok(text)
    }

    fn spawn_error(&self, source: std::io::Error) -> TerraformError {
        TerraformError::Spawn { program: self.program.display().to_string(), source }
    }

    /// The saved plan `planfile`: its bytes, its prior state (from the file) and, as `detail`
    /// says, `show -json` and `show` or what its stream said.
    async fn saved_plan(
        &self,
        dir: &Path,
        planfile: &str,
        detail: PlanDetail,
        version: String,
        streamed: StreamedPlan,
    ) -> Result<SavedPlan, TerraformError> {
        let path = dir.join(planfile);
        let bytes =
            tokio::fs::read(&path).await.map_err(|source| TerraformError::ReadPlan { path: path.clone(), source })?;
        let prior_state = planfile::prior_state(&bytes).map_err(|e| TerraformError::ReadPlan {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let view = match detail {
            PlanDetail::Full => {
                // Both read the same saved plan: run side by side.
                let ((json, raw), text) =
                    tokio::try_join!(self.show_json(dir, planfile), self.show_text(dir, planfile))?;
                PlanView::Shown { json, raw, text }
            }
            PlanDetail::Counts | PlanDetail::Drift => PlanView::Streamed(streamed),
        };
        let differences = match detail {
            PlanDetail::Drift if view_lists_changes(&view) => self.differences(dir, planfile).await,
            _ => None,
        };
        Ok(SavedPlan { bytes, version, prior_state, view, differences })
    }

    /// `-lock-timeout=<seconds>s`.
    fn lock_timeout_arg(&self) -> String {
        format!("-lock-timeout={}s", self.lock_timeout.as_secs())
    }

    /// Runs to completion and returns stdout; stderr is kept for the error.
    async fn capture(&self, dir: &Path, step: &'static str, args: &[&str]) -> Result<String, TerraformError> {
        let ran = self.run(dir, step, args, Stdout::Capture).await?;
        if ran.code == 0 { Ok(ran.stdout) } else { Err(ran.failure(step)) }
    }

    /// Streams a `-json` UI command: each message goes to the log, error diagnostics are kept.
    /// Exit codes in `ok` count as success; the code is returned.
    async fn stream_json(
        &self,
        dir: &Path,
        step: &'static str,
        args: &[&str],
        ok: &[i32],
    ) -> Result<(i32, Outputs), TerraformError> {
        let mut ran = self.run(dir, step, args, Stdout::Json).await?;
        if ok.contains(&ran.code) {
            return Ok((ran.code, std::mem::take(&mut ran.outputs)));
        }
        Err(self.failure(ran, step))
    }

    /// The error for a command that exited with a code it should not have.
    fn failure(&self, ran: Ran, step: &'static str) -> TerraformError {
        match ran.failure(step) {
            TerraformError::Locked { details, .. } => {
                TerraformError::Locked { waited_secs: self.lock_timeout.as_secs(), details }
            }
            other => other,
        }
    }

    /// After a failed apply: what it created that the state does not hold (Terraform was
    /// killed, or could not write the state), read back from the state itself. Said in the
    /// error, so the run never claims a clean end it did not check.
    async fn read_back(&self, dir: &Path, error: TerraformError, created: &[(String, String)]) -> TerraformError {
        if created.is_empty() {
            return error;
        }
        let held = match self.capture(dir, "state pull", &["state", "pull"]).await {
            Ok(out) => super::state_addresses(&out),
            // The state can't be read (the store is gone): every created resource is in doubt.
            Err(_) => Vec::new(),
        };
        let missing: Vec<String> = created
            .iter()
            .filter(|(addr, _)| !held.contains(addr))
            .map(|(addr, id)| if id.is_empty() { addr.clone() } else { format!("{addr} (id {id})") })
            .collect();
        if missing.is_empty() {
            return error;
        }
        TerraformError::StateIncomplete { inner: Box::new(error), missing }
    }

    /// Runs one command: stdout handled as `mode` says, stderr copied to the log and kept.
    /// A cancellation interrupts it once and waits (bounded) for it to stop.
    async fn run(&self, dir: &Path, step: &'static str, args: &[&str], mode: Stdout) -> Result<Ran, TerraformError> {
        let (exit, mut ran) = self.run_to_end(dir, step, args, mode).await?;
        ran.code = exit?;
        Ok(ran)
    }

    /// [`ProcessTerraform::run`], keeping what the stream said even when the wait for the
    /// process ended in an error (a cancelled apply's created resources, for the read-back).
    async fn run_to_end(
        &self,
        dir: &Path,
        step: &'static str,
        args: &[&str],
        mode: Stdout,
    ) -> Result<(Result<i32, TerraformError>, Ran), TerraformError> {
        if self.cancel.is_cancelled() {
            return Err(TerraformError::Cancelled { step, reason: self.cancel.reason(), ended: None });
        }
        // Terraform writes to files the engine follows, never to a pipe: a pipe whose reader
        // died (the engine killed by a runner's cancel or the OOM killer) would kill Terraform
        // at its next line, mid-apply, before it saves state or releases its lock.
        let files = process::OutputFiles::create(dir, step).map_err(|source| self.spawn_error(source))?;
        let (out, err) = files.stdio().map_err(|source| self.spawn_error(source))?;
        let mut command = self.command(dir, args);
        command.stdout(out).stderr(err);
        let mut child = command.spawn().map_err(|source| {
            files.remove();
            self.spawn_error(source)
        })?;
        let (finished, followers) = files.follow();
        let stdout = tokio::spawn(read_stdout(BufReader::new(followers.stdout), mode));
        let stderr = process::pump(followers.stderr, true);
        let exit = self.wait(&mut child, step).await;
        let _ = finished.send(true);
        let out = stdout.await.unwrap_or_default();
        let stderr = process::collect(Some(stderr)).await;
        files.remove();
        if let Some(version) = &out.version {
            // The executable does not change under a running process: the first word counts.
            let _ = self.version.set(version.clone());
        }
        let ran = Ran {
            code: -1,
            stdout: out.text,
            diagnostics: out.diagnostics,
            errors: out.errors,
            invalid_values: out.invalid_values,
            locked: out.locked,
            stale: out.stale,
            outputs: out.outputs,
            stderr,
            version: out.version,
            plan: out.plan,
            created: out.created,
        };
        Ok((exit, ran))
    }

    /// Waits for the child (see [`process::wait`]); a cancelled step is
    /// [`TerraformError::Cancelled`].
    async fn wait(&self, child: &mut tokio::process::Child, step: &'static str) -> Result<i32, TerraformError> {
        let what = format!("terraform {step}");
        let stop = process::Stop { cancel: &self.cancel, timeout: self.stop_timeout, what: &what };
        process::wait(child, &stop).await.map_err(|e| match e {
            process::WaitError::Io(source) => self.spawn_error(source),
            process::WaitError::Cancelled(ended) => {
                TerraformError::Cancelled { step, reason: self.cancel.reason(), ended: Some(ended) }
            }
        })
    }
}

/// Whether a streamed plan lists any change or drift (what `show -json` would detail).
pub(super) fn view_lists_changes(view: &PlanView) -> bool {
    match view {
        PlanView::Streamed(s) => {
            ["planned_change", "resource_drift"].iter().any(|kind| s.of_type(kind).next().is_some())
        }
        PlanView::Shown { .. } => false,
    }
}

/// What to do with a command's stdout.
#[derive(Debug, Clone, Copy)]
enum Stdout {
    /// Keep it (small machine-readable output: `show -json`, `version -json`, `state pull`).
    Capture,
    /// A `-json` UI stream: log each message, keep error diagnostics and the version.
    Json,
    /// A `plan -json` stream: as [`Stdout::Json`], and keep the messages that describe the plan.
    Plan,
}

#[derive(Debug, Default)]
struct StdoutRead {
    text: String,
    diagnostics: Vec<String>,
    /// The error diagnostics as Terraform typed them, for [`transient::classify`].
    errors: Vec<transient::Diagnostic>,
    /// The errors that are a module input's failed validation.
    invalid_values: Vec<super::invalid_value::InvalidValue>,
    locked: bool,
    stale: bool,
    /// The last `outputs` message (apply), sensitive values already dropped.
    outputs: Outputs,
    version: Option<String>,
    plan: Vec<Value>,
    /// What the stream said it created (`apply_complete` of a create): address and id.
    created: Vec<(String, String)>,
}

/// A finished command.
struct Ran {
    code: i32,
    stdout: String,
    diagnostics: Vec<String>,
    errors: Vec<transient::Diagnostic>,
    invalid_values: Vec<super::invalid_value::InvalidValue>,
    locked: bool,
    stale: bool,
    outputs: Outputs,
    stderr: Vec<String>,
    /// What its `-json` stream's first message announced.
    version: Option<String>,
    /// A `plan -json` stream's messages that describe the plan.
    plan: Vec<Value>,
    /// What an apply's stream said it created: address and id.
    created: Vec<(String, String)>,
}

impl Ran {
    /// Whether every error was a module input's failed validation (and there was one).
    fn only_invalid_values(&self) -> bool {
        !self.invalid_values.is_empty() && self.invalid_values.len() == self.errors.len()
    }

    /// The error for a command that exited with a code it should not have.
    fn failure(self, step: &'static str) -> TerraformError {
        let only_invalid_values = self.only_invalid_values();
        let details = if self.diagnostics.is_empty() { self.stderr } else { self.diagnostics };
        if self.locked {
            TerraformError::Locked { waited_secs: 0, details }
        } else if self.stale {
            TerraformError::StalePlan { details }
        } else if only_invalid_values {
            TerraformError::InvalidValues { step, values: self.invalid_values, details }
        } else {
            let transient = transient::classify(&self.errors);
            TerraformError::Failed { step, code: self.code, details, transient }
        }
    }
}

async fn read_stdout<R: tokio::io::AsyncBufRead + Unpin>(reader: R, mode: Stdout) -> StdoutRead {
    let mut read = StdoutRead::default();
    match mode {
        Stdout::Capture => {
            let mut reader = reader;
            let mut bytes = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes).await;
            // One copy: a large `show -json` is only held once.
            read.text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        }
        Stdout::Json | Stdout::Plan => {
            let mut lines = reader.lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                    output::gutter(&line);
                    continue;
                };
                if let Some(text) = msg["@message"].as_str() {
                    output::gutter(text);
                }
                if read.version.is_none()
                    && let Some(version) = announced_version(&msg)
                {
                    read.version = Some(version.to_owned());
                }
                if msg["type"] == "outputs" {
                    read.outputs = Outputs::from_message(&msg["outputs"]);
                }
                if msg["type"] == "apply_complete"
                    && matches!(msg["hook"]["action"].as_str(), Some("create" | "replace"))
                    && let Some(addr) = msg["hook"]["resource"]["addr"].as_str()
                {
                    let id = msg["hook"]["id_value"].as_str().unwrap_or_default();
                    read.created.push((addr.to_owned(), id.to_owned()));
                }
                if msg["type"] == "diagnostic" && msg["diagnostic"]["severity"] == "error" {
                    let d = &msg["diagnostic"];
                    read.locked |= is_lock_error(d);
                    read.stale |= is_stale_plan(d);
                    let summary = d["summary"].as_str().unwrap_or_default();
                    let detail = d["detail"].as_str().unwrap_or_default();
                    read.errors.push(transient::Diagnostic { summary: summary.to_owned(), detail: detail.to_owned() });
                    read.invalid_values.extend(super::invalid_value::read(d));
                    read.diagnostics.push(if detail.is_empty() {
                        summary.to_owned()
                    } else {
                        format!("{summary}: {detail}")
                    });
                }
                if matches!(mode, Stdout::Plan) && is_plan_message(&msg) {
                    read.plan.push(msg);
                }
            }
        }
    }
    read
}

#[async_trait]
impl Terraform for ProcessTerraform {
    /// The version any `-json` command announced; `terraform version -json` only when none
    /// has run yet.
    async fn version(&self) -> Result<String, TerraformError> {
        if let Some(version) = self.version.get() {
            return Ok(version.clone());
        }
        let out = self.capture(Path::new("."), "version", &["version", "-json"]).await?;
        let doc: Value = serde_json::from_str(&out)
            .map_err(|e| TerraformError::BadOutput { step: "version", message: e.to_string() })?;
        let version = doc["terraform_version"]
            .as_str()
            .ok_or_else(|| TerraformError::BadOutput { step: "version", message: "no `terraform_version`".into() })?;
        Ok(self.version.get_or_init(|| version.to_owned()).clone())
    }

    /// `terraform init -json` (its first message gives the version). With a shared plugin
    /// cache, only an init that may fill the cache runs alone.
    async fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        let init = async || {
            output::log(&format!("» terraform init ({})", dir.display()));
            self.stream_json(dir, "init", &["init", "-json", "-input=false", "-reconfigure"], &[0]).await.map(drop)
        };
        match &self.plugin_cache_dir {
            Some(cache) => self.cache_gate.init(cache, dir, init).await,
            None => init().await,
        }
    }

    /// `terraform plan -json -out=PLANFILE`; for [`PlanDetail::Full`], then `show -json` and
    /// `show` of the saved plan. An errored plan (exit 1 with a saved plan) is
    /// [`TerraformError::PlanErrored`], with what it could plan.
    async fn plan(
        &self,
        dir: &Path,
        planfile: &str,
        kind: PlanKind,
        detail: PlanDetail,
    ) -> Result<SavedPlan, TerraformError> {
        let out = format!("-out={planfile}");
        let lock = self.lock_timeout_arg();
        let mut args = vec!["plan", "-json", "-input=false", "-detailed-exitcode", &lock, &out];
        if kind == PlanKind::Destroy {
            output::log("» terraform plan -destroy");
            args.push("-destroy");
        } else {
            output::log("» terraform plan");
        }
        // A plan file left by an earlier run must never pass for this run's.
        match tokio::fs::remove_file(dir.join(planfile)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(TerraformError::ReadPlan { path: dir.join(planfile), source: e });
            }
            _ => {}
        }
        // Only a Counts or Drift plan reads the plan from the stream; a Full one keeps none of it.
        let mode = if detail == PlanDetail::Full { Stdout::Json } else { Stdout::Plan };
        let mut ran = self.run(dir, "plan", &args, mode).await?;
        // A plan stopped only by module inputs' validations is the customer's values refused,
        // not a partial plan to review: [`TerraformError::InvalidValues`].
        if ran.code == 1 && ran.only_invalid_values() {
            return Err(self.failure(ran, "plan"));
        }
        // An errored plan is still saved: show what it could plan, and why it stopped.
        let errored = ran.code == 1 && !ran.locked && !ran.stale && dir.join(planfile).is_file();
        if !matches!(ran.code, 0 | 2) && !errored {
            return Err(self.failure(ran, "plan"));
        }
        let version = match ran.version.take() {
            Some(version) => version,
            None => self.version().await?,
        };
        let streamed = StreamedPlan::new(std::mem::take(&mut ran.plan), errored);
        let saved = match self.saved_plan(dir, planfile, detail, version, streamed).await {
            Ok(saved) => saved,
            // A plan Terraform failed to write whole (a full disk, a permission): its own
            // diagnostics say why ("Failed to write plan file"), not the unreadable file.
            Err(_) if errored => return Err(self.failure(ran, "plan")),
            Err(e) => return Err(e),
        };
        if errored {
            let details = if ran.diagnostics.is_empty() { ran.stderr } else { ran.diagnostics };
            return Err(TerraformError::PlanErrored { plan: Box::new(saved), details });
        }
        Ok(saved)
    }

    /// `terraform apply -json PLANFILE`; the outputs come from the stream's `outputs` message.
    async fn apply(&self, dir: &Path, planfile: &str) -> Result<Outputs, TerraformError> {
        output::log("» terraform apply (saved plan)");
        let lock = self.lock_timeout_arg();
        let args = ["apply", "-json", "-input=false", &lock, planfile];
        let (exit, mut ran) = self.run_to_end(dir, "apply", &args, Stdout::Json).await?;
        let created = std::mem::take(&mut ran.created);
        let error = match exit {
            Ok(0) => return Ok(std::mem::take(&mut ran.outputs)),
            Ok(code) => self.failure(Ran { code, ..ran }, "apply"),
            // A Terraform left running (a second signal) is still writing the state: its
            // error says what it may leave; one that stopped or was killed is read back.
            Err(e @ TerraformError::Cancelled { ended: Some(crate::process::StopEnd::LeftRunning), .. }) => {
                return Err(e);
            }
            Err(e) => e,
        };
        Err(self.read_back(dir, error, &created).await)
    }

    async fn destroy(&self, dir: &Path) -> Result<(), TerraformError> {
        output::log("» terraform destroy");
        let lock = self.lock_timeout_arg();
        let args = ["destroy", "-json", "-input=false", "-auto-approve", &lock];
        self.stream_json(dir, "destroy", &args, &[0]).await.map(drop)
    }

    /// `terraform state pull` → the state's lineage and serial.
    async fn state_id(&self, dir: &Path) -> Result<Option<StateId>, TerraformError> {
        let out = self.capture(dir, "state pull", &["state", "pull"]).await?;
        if out.trim().is_empty() {
            return Ok(None);
        }
        let doc: Value = serde_json::from_str(&out)
            .map_err(|e| TerraformError::BadOutput { step: "state pull", message: e.to_string() })?;
        Ok(match (doc["lineage"].as_str(), doc["serial"].as_u64()) {
            (Some(lineage), Some(serial)) => Some(StateId { lineage: lineage.to_owned(), serial }),
            _ => None,
        })
    }
}

/// A lock conflict: Terraform and OpenTofu both report it as a diagnostic whose summary
/// names the state lock; the detail carries the lock's holder.
fn is_lock_error(diagnostic: &Value) -> bool {
    diagnostic["summary"].as_str().is_some_and(|s| s.to_lowercase().contains("state lock"))
}

/// A saved plan whose prior state is no longer the current one: `Saved plan is stale` (the
/// serial moved: another apply changed the state first) or `Saved plan does not match the
/// given state` (another lineage: the state was replaced), the same summaries in Terraform
/// and OpenTofu.
fn is_stale_plan(diagnostic: &Value) -> bool {
    diagnostic["summary"].as_str().is_some_and(|s| {
        let s = s.to_lowercase();
        s.contains("saved plan is stale") || s.contains("saved plan does not match the given state")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_stale_plan_diagnostics_are_recognised() {
        let diagnostic = |summary: &str| serde_json::json!({ "severity": "error", "summary": summary });
        assert!(is_lock_error(&diagnostic("Error acquiring the state lock")));
        assert!(is_stale_plan(&diagnostic("Saved plan is stale")));
        assert!(is_stale_plan(&diagnostic("Saved plan does not match the given state")));
        assert!(!is_stale_plan(&diagnostic("Error acquiring the state lock")));
        assert!(!is_lock_error(&diagnostic("Saved plan is stale")));
    }

    #[tokio::test]
    async fn the_apply_stream_yields_its_outputs_without_sensitive_values() {
        let stream = concat!(
            r#"{"@message":"Apply complete!","type":"change_summary"}"#,
            "\n",
            r#"{"@message":"Outputs: 2","type":"outputs","outputs":{"#,
            r#""health_check_url":{"sensitive":false,"type":"string","value":"https://app.example.com/health"},"#,
            r#""password":{"sensitive":true,"type":"string","value":"hunter2"}}}"#,
            "\n",
        );
        let read = read_stdout(stream.as_bytes(), Stdout::Json).await;
        use crate::terraform::Output;
        assert_eq!(
            read.outputs.get("health_check_url"),
            Some(&Output::Value(serde_json::json!("https://app.example.com/health")))
        );
        assert_eq!(read.outputs.get("password"), Some(&Output::Sensitive));
        assert!(!format!("{:?}", read.outputs).contains("hunter2"), "a sensitive value is never kept");
    }
}
