//! Runs the real `infra-manager` binary with a clean environment and captures its output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (where `manager-terraform/` and `customer-template/` are).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A schema v1 customer file (the customer template before it moved to v2): the tests of
/// one-module customers, whose edits and line numbers are v1's, start from it.
pub(crate) fn v1_variables() -> PathBuf {
    repo_root().join("tests/fixtures/v1/variables.yml")
}

/// Fails loudly when no Terraform can be found: these tests never skip silently.
pub(crate) fn require_terraform() {
    if let Ok(path) = std::env::var("INFRA_MANAGER_TERRAFORM") {
        assert!(Path::new(&path).is_file(), "INFRA_MANAGER_TERRAFORM={path} does not exist");
        return;
    }
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("terraform").is_file() || d.join("tofu").is_file()))
        .unwrap_or(false);
    assert!(found, "no terraform or tofu on PATH: run `source scripts/tools.sh` (or scripts/test) first");
}

/// One finished run of the binary.
#[derive(Debug)]
pub(crate) struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// `history --json`'s runs, newest first, each as `kind status` (`apply succeeded`).
    pub(crate) fn run_kinds(&self) -> Vec<String> {
        self.json()["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| format!("{} {}", r["kind"].as_str().unwrap_or_default(), r["status"].as_str().unwrap_or_default()))
            .collect()
    }
}

/// Every file below `dir` (none when it does not exist).
pub(crate) fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// A builder for one invocation.
pub(crate) struct Run {
    cmd: Command,
}

impl Run {
    pub(crate) fn new(cwd: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_infra-manager"));
        cmd.current_dir(cwd);
        // The tests must behave the same inside GitHub Actions and outside it.
        for (key, _) in std::env::vars() {
            if key.starts_with("GITHUB_") || key.starts_with("RUNNER_") || key.starts_with("ACTIONS_") || key == "CI" {
                cmd.env_remove(&key);
            }
        }
        Self { cmd }
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs without blocking the async runtime (for tests that serve a fake in-process).
    pub(crate) async fn run_async(self) -> Output {
        let out = tokio::process::Command::from(self.cmd).output().await.expect("run infra-manager");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A step of manager workflow run `run_id` in GitHub Actions, started by `event_name` with
    /// the payload at `event`; the step's output, summary and temp files under `dir`. (The
    /// GitHub API, token and repository are the caller's.)
    pub(crate) fn in_actions(self, dir: &Path, event_name: &str, event: &Path, run_id: &str) -> Self {
        self.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_EVENT_PATH", event)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", run_id)
            .env("GITHUB_SHA", "abcdefabcdefabcdefabcdefabcdefabcdefabcd")
            .env("GITHUB_OUTPUT", dir.join("github_output"))
            .env("GITHUB_STEP_SUMMARY", dir.join("step_summary.md"))
            .env("RUNNER_TEMP", dir.join("runner_temp"))
    }

    pub(crate) fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// The configured command, for callers that spawn it themselves.
    pub(crate) fn into_command(self) -> Command {
        self.cmd
    }

    pub(crate) fn run(mut self) -> Output {
        let out = self.cmd.output().expect("run infra-manager");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A scratch manager setup: a config using the sandbox module and a local store in a temp dir,
/// and a copy of the v1 customer file ([`v1_variables`]) as the customer checkout named `shop`.
pub(crate) struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!(
            "terraform:\n  modules_dir: {}\n  module: sandbox-app-environment\nstate:\n  backend: local\n  local_dir: {}\n",
            repo_root().join("manager-terraform").display(),
            dir.path().join("store").display(),
        );
        std::fs::write(dir.path().join("infra-manager.yml"), config).expect("write config");
        let infra = dir.path().join("shop/infra");
        std::fs::create_dir_all(&infra).expect("mkdir");
        std::fs::copy(v1_variables(), infra.join("variables.yml")).expect("copy");
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    pub(crate) fn variables(&self) -> PathBuf {
        self.path().join("shop/infra/variables.yml")
    }

    /// Someone removes the resource `name` from the state of `shop`'s `env` behind the
    /// service's back (the serial moves on, as Terraform's would); returns the state as it was.
    pub(crate) fn remove_from_state(&self, env: &str, name: &str) -> String {
        let path = self.store().join(format!("state/local/shop/{env}/terraform.tfstate"));
        let original = std::fs::read_to_string(&path).expect("state");
        let mut state: serde_json::Value = serde_json::from_str(&original).expect("json");
        state["resources"].as_array_mut().expect("resources").retain(|r| r["name"] != name);
        state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
        std::fs::write(&path, state.to_string()).expect("write");
        original
    }

    /// Appends to the manager config (e.g. a customer registry).
    pub(crate) fn add_config(&self, text: &str) {
        let path = self.path().join("infra-manager.yml");
        let mut config = std::fs::read_to_string(&path).expect("read");
        config.push_str(text);
        std::fs::write(path, config).expect("write");
    }

    /// `infra-manager --json <command> --source-dir shop --env <env>`.
    pub(crate) fn run(&self, command: &str, env: &str) -> Output {
        Run::new(self.path()).args(["--json", command, "--source-dir", "shop", "--env", env]).run()
    }
}
