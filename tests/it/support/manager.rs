//! The manager repository of tenant tests: a sandbox config, a local store and a real Git
//! work tree at `manager/` made by the test.

use std::path::PathBuf;
use std::process::Command;

use super::cli::{Output, Run, Sandbox, require_terraform};

/// The manager repository: a sandbox config and a Git work tree at `manager/`.
pub(crate) struct Manager {
    pub sb: Sandbox,
}

impl Manager {
    pub(crate) fn new() -> Self {
        require_terraform();
        let sb = Sandbox::new();
        let m = Self { sb };
        std::fs::create_dir_all(m.repo().join("tenants")).expect("mkdir");
        m.git(&["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(m.repo().join("README.md"), "manager\n").expect("write");
        m.commit("initial");
        m
    }

    /// Gives the repository a bare `origin` (at `remote.git`) holding `main`, as the
    /// workflow's checkout has: what counts as done is what reached it.
    pub(crate) fn with_remote(self) -> Self {
        let remote = self.sb.path().join("remote.git");
        let out = Command::new("git").args(["init", "--quiet", "--bare"]).arg(&remote).output().expect("git");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        self.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
        self.git(&["push", "--quiet", "origin", "main"]);
        self
    }

    pub(crate) fn repo(&self) -> PathBuf {
        self.sb.path().join("manager")
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.repo())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub(crate) fn write(&self, name: &str, text: &str) {
        std::fs::write(self.repo().join(format!("tenants/{name}.yml")), text).expect("write");
    }

    /// Commits everything and returns the commit's SHA.
    pub(crate) fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Run::new(self.sb.path()).args(["--json", "tenants"]).args(args).args(["--repo", "manager"]).run()
    }

    /// `tenants changed` as `action tenant environment` lines.
    pub(crate) fn changed(&self, base: &str, head: &str) -> Vec<String> {
        self.matrix(&["changed", "--base", base, "--head", head])
    }

    /// `tenants changed --pending` (at `HEAD`) as `action tenant environment` lines.
    pub(crate) fn pending(&self) -> Vec<String> {
        self.matrix(&["changed", "--pending"])
    }

    /// A `tenants changed` matrix as `action tenant environment` lines.
    fn matrix(&self, args: &[&str]) -> Vec<String> {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()["include"]
            .as_array()
            .expect("include")
            .iter()
            .map(|j| {
                format!(
                    "{} {} {}",
                    j["action"].as_str().unwrap_or(""),
                    j["tenant"].as_str().unwrap_or(""),
                    j["environment"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    pub(crate) fn plan(&self, tenant: &str) -> Output {
        let out = self.run(&["plan", "--tenant", tenant, "--env", "staging"]);
        assert_eq!(out.code, 0, "{tenant}: {}", out.stderr);
        out
    }

    pub(crate) fn apply(&self, tenant: &str, sha: Option<&str>) {
        let mut args = vec!["apply", "--tenant", tenant, "--env", "staging"];
        if let Some(sha) = sha {
            args.extend(["--sha", sha]);
        }
        let out = self.run(&args);
        assert_eq!(out.code, 0, "{tenant}: {}", out.stderr);
        assert_eq!(out.json()["status"], "ok");
    }

    pub(crate) fn state(&self, tenant: &str) -> PathBuf {
        self.sb.store().join(format!("state/tenants/{tenant}/staging/terraform.tfstate"))
    }

    pub(crate) fn resources(&self, tenant: &str) -> usize {
        let text = std::fs::read_to_string(self.state(tenant)).expect("state written");
        let state: serde_json::Value = serde_json::from_str(&text).expect("json");
        state["resources"].as_array().map_or(0, Vec::len)
    }

    pub(crate) fn plans_of(&self, tenant: &str) -> usize {
        super::cli::walk(&self.sb.store().join(format!("plans/tenants/{tenant}/staging")))
            .iter()
            .filter(|p| p.ends_with(".tfplan"))
            .count()
    }
}
