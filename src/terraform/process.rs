//! [`ProcessTerraform`]: the real `terraform` (or `tofu`) executable.
//!
//! The executable is found once ([`ProcessTerraform::locate`]); each call logs a line saying
//! what runs. Tool output is streamed to the log as it comes; on failure the error
//! diagnostics are kept for the message.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::{SavedPlan, StateId, Terraform, TerraformError};
use crate::output;

/// The executable and the environment it runs with.
#[derive(Debug, Clone)]
pub struct ProcessTerraform {
    program: PathBuf,
    plugin_cache_dir: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
}

impl ProcessTerraform {
    /// Finds `wanted` (a name looked up in `search_path`, i.e. `PATH`, or a path); a missing
    /// `terraform` falls back to `tofu`.
    pub fn locate(wanted: &str, search_path: Option<&OsStr>) -> Result<Self, TerraformError> {
        let found = find_executable(wanted, search_path)
            .or_else(|| (wanted == "terraform").then(|| find_executable("tofu", search_path)).flatten());
        match found {
            Some(program) => Ok(Self { program, plugin_cache_dir: None, extra_env: Vec::new() }),
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
            .kill_on_drop(true);
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

    /// `terraform show -json PLANFILE`.
    async fn show_json(&self, dir: &Path, planfile: &str) -> Result<Value, TerraformError> {
        let out = self.capture(dir, "show", &["show", "-json", planfile]).await?;
        serde_json::from_str(&out).map_err(|e| TerraformError::BadOutput { step: "show", message: e.to_string() })
    }

    /// `terraform show PLANFILE` as plain text, for people (never parsed).
    async fn show_text(&self, dir: &Path, planfile: &str) -> Result<String, TerraformError> {
        let text = self.capture(dir, "show", &["show", "-no-color", planfile]).await?;
        Ok(text.trim_start_matches('\n').to_owned())
    }

    /// Runs to completion and returns stdout; stderr is kept for the error.
    async fn capture(&self, dir: &Path, step: &'static str, args: &[&str]) -> Result<String, TerraformError> {
        let out = self
            .command(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|source| self.spawn_error(source))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            Err(TerraformError::Failed { step, code: out.status.code().unwrap_or(-1), details: vec![stderr] })
        }
    }

    fn spawn_error(&self, source: std::io::Error) -> TerraformError {
        TerraformError::Spawn { program: self.program.display().to_string(), source }
    }

    /// Starts a command with both streams piped; stderr is already being copied to the log
    /// (and kept for the error message) by a task whose lines [`collect`] returns.
    fn spawn_streaming(
        &self,
        dir: &Path,
        args: &[&str],
    ) -> Result<(tokio::process::Child, Option<Pump>), TerraformError> {
        let mut child = self
            .command(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_error(source))?;
        let stderr = child.stderr.take().map(|s| tokio::spawn(pump(BufReader::new(s), true)));
        Ok((child, stderr))
    }

    /// Streams a plain-text command's output to the log.
    async fn stream_text(&self, dir: &Path, step: &'static str, args: &[&str]) -> Result<(), TerraformError> {
        let (mut child, stderr) = self.spawn_streaming(dir, args)?;
        let stdout = child.stdout.take().map(|s| tokio::spawn(pump(BufReader::new(s), false)));
        let status = child.wait().await.map_err(|source| self.spawn_error(source))?;
        if let Some(task) = stdout {
            let _ = task.await;
        }
        let captured = collect(stderr).await;
        if status.success() {
            Ok(())
        } else {
            Err(TerraformError::Failed { step, code: status.code().unwrap_or(-1), details: captured })
        }
    }

    /// Streams a `-json` UI command: each message goes to the log, error diagnostics are kept.
    /// Exit codes in `ok` count as success; the code is returned.
    async fn stream_json(
        &self,
        dir: &Path,
        step: &'static str,
        args: &[&str],
        ok: &[i32],
    ) -> Result<i32, TerraformError> {
        let (mut child, stderr) = self.spawn_streaming(dir, args)?;
        let mut diagnostics = Vec::new();
        let mut locked = false;
        let mut stale = false;
        if let Some(stdout) = child.stdout.take() {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(msg) => {
                        if let Some(text) = msg["@message"].as_str() {
                            output::log(&format!("  │ {text}"));
                        }
                        if msg["type"] == "diagnostic" && msg["diagnostic"]["severity"] == "error" {
                            let d = &msg["diagnostic"];
                            let summary = d["summary"].as_str().unwrap_or_default();
                            locked |= is_lock_error(d);
                            stale |= is_stale_plan(d);
                            let detail = d["detail"].as_str().unwrap_or_default();
                            diagnostics.push(if detail.is_empty() {
                                summary.to_owned()
                            } else {
                                format!("{summary}: {detail}")
                            });
                        }
                    }
                    Err(_) => output::log(&format!("  │ {line}")),
                }
            }
        }
        let status = child.wait().await.map_err(|source| self.spawn_error(source))?;
        let stderr_lines = collect(stderr).await;
        let code = status.code().unwrap_or(-1);
        if ok.contains(&code) {
            return Ok(code);
        }
        if diagnostics.is_empty() {
            diagnostics = stderr_lines;
        }
        if locked {
            Err(TerraformError::Locked { details: diagnostics })
        } else if stale {
            Err(TerraformError::StalePlan { details: diagnostics })
        } else {
            Err(TerraformError::Failed { step, code, details: diagnostics })
        }
    }
}

#[async_trait]
impl Terraform for ProcessTerraform {
    /// `terraform version -json` → the version string.
    async fn version(&self) -> Result<String, TerraformError> {
        let out = self.capture(Path::new("."), "version", &["version", "-json"]).await?;
        let doc: Value = serde_json::from_str(&out)
            .map_err(|e| TerraformError::BadOutput { step: "version", message: e.to_string() })?;
        doc["terraform_version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| TerraformError::BadOutput { step: "version", message: "no `terraform_version`".into() })
    }

    async fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        output::log(&format!("» terraform init ({})", dir.display()));
        self.stream_text(dir, "init", &["init", "-input=false", "-no-color", "-reconfigure"]).await
    }

    /// `terraform plan -out=PLANFILE`, then `show -json` and `show` of the saved plan.
    async fn plan(&self, dir: &Path, planfile: &str) -> Result<SavedPlan, TerraformError> {
        output::log("» terraform plan");
        let out = format!("-out={planfile}");
        self.stream_json(dir, "plan", &["plan", "-json", "-input=false", "-detailed-exitcode", &out], &[0, 2]).await?;
        let json = self.show_json(dir, planfile).await?;
        let text = self.show_text(dir, planfile).await?;
        let path = dir.join(planfile);
        let bytes = tokio::fs::read(&path).await.map_err(|source| TerraformError::ReadPlan { path, source })?;
        Ok(SavedPlan { bytes, json, text })
    }

    async fn apply(&self, dir: &Path, planfile: &str) -> Result<(), TerraformError> {
        output::log("» terraform apply (saved plan)");
        self.stream_json(dir, "apply", &["apply", "-json", "-input=false", planfile], &[0]).await.map(drop)
    }

    async fn destroy(&self, dir: &Path) -> Result<(), TerraformError> {
        output::log("» terraform destroy");
        self.stream_json(dir, "destroy", &["destroy", "-json", "-input=false", "-auto-approve"], &[0]).await.map(drop)
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

/// A task copying one stream to the log.
type Pump = tokio::task::JoinHandle<Vec<String>>;

/// The lines a pump kept.
async fn collect(pump: Option<Pump>) -> Vec<String> {
    match pump {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    }
}

/// A saved plan whose prior state is no longer the current one (`Saved plan is stale`, the
/// same summary in Terraform and OpenTofu): another apply changed the state first.
fn is_stale_plan(diagnostic: &Value) -> bool {
    diagnostic["summary"].as_str().is_some_and(|s| s.to_lowercase().contains("saved plan is stale"))
}

/// Copies lines to the log; returns them when `keep` (bounded, for error messages).
async fn pump<R: tokio::io::AsyncBufRead + Unpin>(reader: R, keep: bool) -> Vec<String> {
    const KEEP: usize = 200;
    let mut kept = Vec::new();
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        output::log(&format!("  │ {line}"));
        if keep && kept.len() < KEEP {
            kept.push(line);
        }
    }
    kept
}

fn find_executable(name: &str, search_path: Option<&OsStr>) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    std::env::split_paths(search_path?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_stale_plan_diagnostics_are_recognised() {
        let diagnostic = |summary: &str| serde_json::json!({ "severity": "error", "summary": summary });
        assert!(is_lock_error(&diagnostic("Error acquiring the state lock")));
        assert!(is_stale_plan(&diagnostic("Saved plan is stale")));
        assert!(!is_stale_plan(&diagnostic("Error acquiring the state lock")));
        assert!(!is_lock_error(&diagnostic("Saved plan is stale")));
    }
}
