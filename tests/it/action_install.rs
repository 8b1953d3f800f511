//! The action's cold start (`scripts/action-install`, which action.yml runs): a release
//! served from 127.0.0.1, checksums in a stand-in action-checksums.txt. A listed asset
//! installs only when it verifies, a tampered or missing one fails with nothing
//! installed, and only an unlisted version falls back to a source build.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::support::cli::repo_root;

const ASSET: &str = "infra-manager-x86_64-unknown-linux-gnu.tar.gz";

/// A release server: `/<version>/<asset>` → bytes, 404 for anything else; counts requests.
struct Releases {
    url: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Releases {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (served, seen) = (files.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                reader.read_line(&mut line).ok();
                let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                // The rest of the request head.
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                seen.lock().expect("lock").push(path.clone());
                let body = served.lock().expect("lock").get(&path).cloned();
                let (status, body) = match body {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", b"Not Found".to_vec()),
                };
                let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).ok();
                stream.write_all(&body).ok();
            }
        });
        Self { url, files, requests }
    }

    fn serve(&self, version: &str, asset: &str, bytes: Vec<u8>) {
        self.files.lock().expect("lock").insert(format!("/{version}/{asset}"), bytes);
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

/// A release tarball holding a stand-in `infra-manager` that prints `version_line`.
fn tarball(dir: &Path, version_line: &str) -> Vec<u8> {
    let stage = dir.join(format!("stage-{}", fastrand::u32(..)));
    std::fs::create_dir_all(&stage).expect("stage");
    let exe = stage.join("infra-manager");
    std::fs::write(&exe, format!("#!/bin/sh\necho '{version_line}'\n")).expect("write exe");
    let status = Command::new("chmod").arg("755").arg(&exe).status().expect("chmod");
    assert!(status.success());
    let out = dir.join(format!("asset-{}.tar.gz", fastrand::u32(..)));
    let status =
        Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(&stage).arg("infra-manager").status().expect("tar");
    assert!(status.success());
    std::fs::read(out).expect("read tarball")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One runner: its temp folder, `GITHUB_OUTPUT` and the action's checksum file.
struct Runner {
    dir: tempfile::TempDir,
}

struct Run {
    code: Option<i32>,
    log: String,
    outputs: String,
}

impl Run {
    fn output(&self, key: &str) -> Option<&str> {
        self.outputs.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
    }
}

impl Runner {
    fn new(checksums: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("temp")).expect("temp");
        std::fs::write(dir.path().join("action-checksums.txt"), checksums).expect("checksums");
        Self { dir }
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("temp")
    }

    fn install(&self, releases: &Releases, version: &str) -> Run {
        let outputs = self.dir.path().join(format!("output-{}", fastrand::u32(..)));
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/action-install"))
            .arg("install")
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.temp())
            .env("GITHUB_OUTPUT", &outputs)
            .env("INPUT_VERSION", version)
            .env("INFRA_MANAGER_CHECKSUMS", self.dir.path().join("action-checksums.txt"))
            .env("INFRA_MANAGER_RELEASES_URL", &releases.url)
            .env_remove("ACTION_REF")
            .env_remove("ACTION_REPOSITORY")
            .output()
            .expect("run scripts/action-install");
        Run {
            code: out.status.code(),
            log: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            outputs: std::fs::read_to_string(outputs).unwrap_or_default(),
        }
    }

    /// Every file named `infra-manager` under the runner's temp folder.
    fn installed(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.file_name().is_some_and(|n| n == "infra-manager") {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.temp(), &mut found);
        found
    }

    /// Every release tarball (or partial download) under the runner's temp folder.
    fn tarballs(&self) -> Vec<PathBuf> {
        let cache = self.temp().join("infra-manager-release");
        let mut found = Vec::new();
        for version in std::fs::read_dir(cache).into_iter().flatten().flatten() {
            for target in std::fs::read_dir(version.path()).into_iter().flatten().flatten() {
                found.extend(std::fs::read_dir(target.path()).into_iter().flatten().flatten().map(|e| e.path()));
            }
        }
        found
    }
}

fn listed(sha256: &str, version: &str) -> String {
    format!("# checksums\n{sha256}  {version}/{ASSET}\n")
}

#[test]
fn a_listed_asset_that_verifies_is_installed_and_runs() {
    let releases = Releases::start();
    let runner = Runner::new("");
    let good = tarball(runner.dir.path(), "infra-manager 1.0.0");
    std::fs::write(runner.dir.path().join("action-checksums.txt"), listed(&sha256_hex(&good), "v1.0.0"))
        .expect("checksums");
    releases.serve("v1.0.0", ASSET, good);

    let run = runner.install(&releases, "v1.0.0");
    assert_eq!(run.code, Some(0), "{}", run.log);
    assert_eq!(run.output("build"), Some("false"));
    assert_eq!(run.output("target"), Some("x86_64-unknown-linux-gnu"));
    let bin = run.output("bin").expect("bin output");
    let version = Command::new(bin).arg("--version").output().expect("run the installed binary");
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "infra-manager 1.0.0");
    assert_eq!(releases.requests(), [format!("/v1.0.0/{ASSET}")]);

    // A second run (a restored cache) verifies the cached tarball and downloads nothing.
    let again = runner.install(&releases, "v1.0.0");
    assert_eq!(again.code, Some(0), "{}", again.log);
    assert_eq!(again.output("bin"), Some(bin));
    assert_eq!(releases.requests().len(), 1);
}

#[test]
fn a_tampered_asset_fails_and_installs_nothing() {
    let releases = Releases::start();
    let runner = Runner::new("");
    let good = tarball(runner.dir.path(), "infra-manager 1.0.0");
    let evil = tarball(runner.dir.path(), "pwned");
    std::fs::write(runner.dir.path().join("action-checksums.txt"), listed(&sha256_hex(&good), "v1.0.0"))
        .expect("checksums");
    releases.serve("v1.0.0", ASSET, evil);

    let run = runner.install(&releases, "v1.0.0");
    assert_eq!(run.code, Some(1), "{}", run.log);
    assert!(run.log.contains("checksum mismatch"), "{}", run.log);
    assert_eq!(run.output("bin"), None);
    assert_ne!(run.output("build"), Some("true"), "a mismatch never falls back to a source build");
    assert_eq!(runner.installed(), Vec::<PathBuf>::new());
    assert_eq!(runner.tarballs(), Vec::<PathBuf>::new());
}

#[test]
fn a_tampered_cache_entry_is_downloaded_again() {
    let releases = Releases::start();
    let runner = Runner::new("");
    let good = tarball(runner.dir.path(), "infra-manager 1.0.0");
    std::fs::write(runner.dir.path().join("action-checksums.txt"), listed(&sha256_hex(&good), "v1.0.0"))
        .expect("checksums");
    releases.serve("v1.0.0", ASSET, good);
    let cached = runner.temp().join("infra-manager-release/v1.0.0/x86_64-unknown-linux-gnu");
    std::fs::create_dir_all(&cached).expect("cache dir");
    std::fs::write(cached.join(ASSET), tarball(runner.dir.path(), "pwned")).expect("poison the cache");

    let run = runner.install(&releases, "v1.0.0");
    assert_eq!(run.code, Some(0), "{}", run.log);
    let version = Command::new(run.output("bin").expect("bin")).arg("--version").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "infra-manager 1.0.0");
    assert_eq!(releases.requests().len(), 1);
}

#[test]
fn a_listed_asset_that_is_missing_fails_without_falling_back() {
    let releases = Releases::start();
    let runner = Runner::new(&listed(&"a".repeat(64), "v1.0.0"));

    let run = runner.install(&releases, "v1.0.0");
    assert_eq!(run.code, Some(1), "{}", run.log);
    assert!(run.log.contains("download of v1.0.0/"), "{}", run.log);
    assert_ne!(run.output("build"), Some("true"));
    assert_eq!(run.output("bin"), None);
    assert_eq!(runner.installed(), Vec::<PathBuf>::new());
    assert_eq!(runner.tarballs(), Vec::<PathBuf>::new());
}

#[test]
fn an_unlisted_version_falls_back_to_a_source_build() {
    let releases = Releases::start();
    let runner = Runner::new(&listed(&"a".repeat(64), "v1.0.0"));

    let run = runner.install(&releases, "v2.0.0");
    assert_eq!(run.code, Some(0), "{}", run.log);
    assert_eq!(run.output("build"), Some("true"));
    assert!(run.log.contains("build from source: no checksum for v2.0.0/"), "{}", run.log);
    assert_eq!(run.output("bin"), None);
    assert_eq!(releases.requests(), Vec::<String>::new(), "nothing is downloaded for an unlisted version");
}

#[test]
fn a_version_that_is_not_a_release_tag_is_refused() {
    let releases = Releases::start();
    let runner = Runner::new("");
    for version in ["../../etc", "v1.0.0/../x", "v1 .0"] {
        let run = runner.install(&releases, version);
        assert_eq!(run.code, Some(1), "{version}: {}", run.log);
        assert!(run.log.contains("invalid version"), "{}", run.log);
        assert!(!run.log.contains(version), "the rejected value is not echoed: {}", run.log);
    }
    assert_eq!(releases.requests(), Vec::<String>::new());
}
