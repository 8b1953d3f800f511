//! A network namespace with no route out: a user + network + mount namespace made by
//! `unshare`, with only `lo` up, extra addresses on `lo` (so `169.254.169.254` can be
//! listened on), its own `/etc/hosts`, and a recording listener
//! (`tests/fixtures/recording_listener.py`) as the process holding it. Commands run inside it
//! through `nsenter`. Nothing in it can leave the machine. `unshare`, `nsenter`, `ip` and
//! `python3` are required: a missing one fails the test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::cli::{Output, repo_root};

pub(crate) struct Netns {
    holder: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Netns {
    /// A namespace with `addresses` (`169.254.169.254/32`, `fd00:ec2::254/128`) on `lo`,
    /// `hosts` as its `/etc/hosts`, and a listener on each of `listen` (`HOST:PORT`).
    pub(crate) fn start(addresses: &[&str], hosts: &str, listen: &[String]) -> Self {
        for tool in ["unshare", "nsenter", "ip", "python3"] {
            let found =
                std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
            assert!(
                found,
                "`{tool}` is not on PATH: the network-namespace tests need util-linux, iproute2 and python3"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts_file = dir.path().join("hosts");
        std::fs::write(&hosts_file, hosts).expect("hosts");
        let log = dir.path().join("connections.log");
        let mut setup = String::from("set -eu\nip link set lo up\n");
        for address in addresses {
            setup.push_str(&format!("ip addr add {address} dev lo\n"));
        }
        setup.push_str("mount --bind \"$1\" /etc/hosts\nshift\nexec python3 \"$@\"\n");
        let mut holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--net", "--mount", "--", "sh", "-c", &setup, "sh"])
            .arg(&hosts_file)
            .arg(repo_root().join("tests/fixtures/recording_listener.py"))
            .arg(&log)
            .args(listen)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run unshare");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read the listener");
        if line.trim() != "ready" {
            let status = holder.wait().expect("wait");
            panic!("the network namespace could not be set up ({status}); unshare needs unprivileged user namespaces");
        }
        Self { holder, log, _dir: dir }
    }

    /// Runs `command` inside the namespace, in `cwd`, with the test's environment.
    pub(crate) fn run(&self, command: &Command, cwd: &Path) -> Output {
        let mut nsenter = Command::new("nsenter");
        nsenter
            .args(["--preserve-credentials", "-U", "-n", "-m", "-t", &self.holder.id().to_string()])
            .arg(format!("--wd={}", cwd.display()))
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => nsenter.env(key, value),
                None => nsenter.env_remove(key),
            };
        }
        let out = nsenter.output().expect("run nsenter");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `HOST:PORT` each connection so far reached, in order.
    pub(crate) fn connections(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).expect("the listener's log").lines().map(str::to_owned).collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // The listener holds the namespace: ending it ends the namespace.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
