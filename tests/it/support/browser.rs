//! Headless Chromium for the status page's test: Debian's `chromium` package, which
//! `scripts/tools.sh --test-extras` unpacks into `.tools/` (`.tools/bin/chromium`) when
//! the machine has none. Missing, it fails the test with how to get it; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `chromium` on PATH, else `.tools/bin/chromium`; panics with the way to install it.
pub(crate) fn chromium() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("chromium")).find(|p| p.is_file()));
    let tools = super::cli::repo_root().join(".tools/bin/chromium");
    on_path.or_else(|| tools.is_file().then_some(tools)).expect(
        "chromium is missing: run `source scripts/tools.sh --test-extras` (it unpacks Debian's chromium package into .tools/), or install it (`apt-get install --no-install-recommends chromium`)",
    )
}

/// Headless, offline, with a profile of its own in `profile`: nothing is fetched, nothing
/// of the machine's is read.
fn headless(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The page's console (a Content-Security-Policy violation) on stderr.
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// What Chromium made of `page`: the DOM after its scripts ran, serialized, and the
/// browser's log.
pub(crate) fn dump_dom(page: &Path, profile: &Path) -> (String, String) {
    let out = headless(profile).arg("--dump-dom").arg(file_url(page)).output().expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium --dump-dom {}: {:?}\n{stderr}", page.display(), out.status);
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A 1280×900 screenshot of `page` at `png`.
pub(crate) fn screenshot(page: &Path, profile: &Path, png: &Path) {
    let out = headless(profile)
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,900")
        .arg(file_url(page))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium --screenshot: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

fn file_url(page: &Path) -> String {
    format!("file://{}", page.canonicalize().expect("page").display())
}

/// Where tests keep what a person may want to look at after a run:
/// `target/test-artifacts/` (under `CARGO_TARGET_DIR` when set).
pub(crate) fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::cli::repo_root().join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("mkdir test-artifacts");
    dir
}
