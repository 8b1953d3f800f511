//! The `Terraform` seam: the `terraform` (or `tofu`) executable.
//!
//! The executable is found once ([`Terraform::locate`]); each call carries a human summary for
//! the log. Only machine-readable output is parsed (`-json` UI streams, `show -json`,
//! `version -json`, `state pull`), so Terraform and OpenTofu behave the same. Tool output is
//! streamed to the log as it comes; on failure the error diagnostics are kept for the message.

pub mod summary;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::output;

/// Errors from running Terraform, each naming the step.
#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error(
        "no `{wanted}` executable found on PATH\n  hint: install Terraform or OpenTofu (`scripts/tools.sh` installs one), or set INFRA_MANAGER_TERRAFORM to its path"
    )]
    NotFound { wanted: String },
    #[error("can't run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("terraform {step} failed (exit {code}){}", render_details(details))]
    Failed { step: &'static str, code: i32, details: Vec<String> },
    #[error("the state is locked by another run{}", render_details(details))]
    Locked { details: Vec<String> },
    #[error(
        "terraform refused the saved plan as stale: the state changed after the plan was made (another run applied first){}",
        render_details(details)
    )]
    StalePlan { details: Vec<String> },
    #[error("terraform {step} printed output that is not valid JSON: {message}")]
    BadOutput { step: &'static str, message: String },
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

/// The executable and the environment it runs with.
#[derive(Debug, Clone)]
pub struct Terraform {
    program: PathBuf,
    plugin_cache_dir: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
}

impl Terraform {
    /// Finds the executable: `INFRA_MANAGER_TERRAFORM` if set, else `configured` (a name on
    /// PATH or a path); a missing `terraform` falls back to `tofu`.
    pub fn locate(configured: &str) -> Result<Self, TerraformError> {
        let wanted = std::env::var("INFRA_MANAGER_TERRAFORM")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| configured.to_owned());
        let found =
            find_executable(&wanted).or_else(|| (wanted == "terraform").then(|| find_executable("tofu")).flatten());
        match found {
            Some(program) => Ok(Self { program, plugin_cache_dir: None, extra_env: Vec::new() }),
            None => Err(TerraformError::NotFound { wanted }),
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

    /// `terraform version -json` → the version string.
    pub async fn version(&self) -> Result<String, TerraformError> {
        let out = self.capture(Path::new("."), "version", &["version", "-json"]).await?;
        let doc: Value = serde_json::from_str(&out)
            .map_err(|e| TerraformError::BadOutput { step: "version", message: e.to_string() })?;
        doc["terraform_version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| TerraformError::BadOutput { step: "version", message: "no `terraform_version`".into() })
    }

    /// `terraform init`.
    pub async fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        output::log(&format!("» terraform init ({})", dir.display()));
        self.stream_text(dir, "init", &["init", "-input=false", "-no-color", "-reconfigure"]).await
    }

    /// `terraform plan -out=PLANFILE`; returns whether Terraform saw changes.
    pub async fn plan(&self, dir: &Path, planfile: &str) -> Result<bool, TerraformError> {
        output::log("» terraform plan");
        let out = format!("-out={planfile}");
        let code = self
            .stream_json(dir, "plan", &["plan", "-json", "-input=false", "-detailed-exitcode", &out], &[0, 2])
            .await?;
        Ok(code == 2)
    }

    /// `terraform show -json PLANFILE`.
    pub async fn show_json(&self, dir: &Path, planfile: &str) -> Result<Value, TerraformError> {
        let out = self.capture(dir, "show", &["show", "-json", planfile]).await?;
        serde_json::from_str(&out).map_err(|e| TerraformError::BadOutput { step: "show", message: e.to_string() })
    }

    /// `terraform show PLANFILE` as plain text, for people (never parsed).
    pub async fn show_text(&self, dir: &Path, planfile: &str) -> Result<String, TerraformError> {
        self.capture(dir, "show", &["show", "-no-color", planfile]).await
    }

    /// `terraform apply PLANFILE`: applies exactly the saved plan.
    pub async fn apply(&self, dir: &Path, planfile: &str) -> Result<(), TerraformError> {
        output::log("» terraform apply (saved plan)");
        self.stream_json(dir, "apply", &["apply", "-json", "-input=false", planfile], &[0]).await.map(drop)
    }

    /// `terraform destroy -auto-approve`.
    pub async fn destroy(&self, dir: &Path) -> Result<(), TerraformError> {
        output::log("» terraform destroy");
        self.stream_json(dir, "destroy", &["destroy", "-json", "-input=false", "-auto-approve"], &[0]).await.map(drop)
    }

    /// `terraform state pull` → the state's lineage and serial (`None` when there is no state).
    pub async fn state_id(&self, dir: &Path) -> Result<Option<StateId>, TerraformError> {
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

fn find_executable(name: &str) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
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
