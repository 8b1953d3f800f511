//! `scripts/tools.sh` is sourced by the README's "run it yourself" step, in the reader's
//! own interactive shell: it must hand that shell back with its options as they were, so
//! that the first failing command (a `validate` exiting 2) does not close the terminal.
//! With `--test-extras` it provides the test tools, Chromium among them.

use std::path::Path;
use std::process::Command;

/// Runs `script` in a fresh bash at the repository root and returns its stdout.
fn bash(script: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash").arg("-c").arg(script).current_dir(root).output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bash -c {script:?} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The options that matter, as `name=on|off` lines.
const SHOW_OPTIONS: &str =
    r#"for o in errexit nounset pipefail; do if [[ -o $o ]]; then echo "$o=on"; else echo "$o=off"; fi; done"#;

#[test]
fn sourcing_leaves_an_interactive_shells_options_alone() {
    let out = bash(&format!(
        "source scripts/tools.sh 2>/dev/null; echo sourced=$?; {SHOW_OPTIONS}; false; echo still-running"
    ));
    assert_eq!(out, "sourced=0\nerrexit=off\nnounset=off\npipefail=off\nstill-running\n");
}

#[test]
fn sourcing_keeps_a_scripts_strict_options() {
    let out = bash(&format!(
        "set -euo pipefail; source scripts/tools.sh 2>/dev/null; {SHOW_OPTIONS}; echo \"terraform=${{INFRA_MANAGER_TERRAFORM:+set}}\""
    ));
    assert_eq!(out, "errexit=on\nnounset=on\npipefail=on\nterraform=set\n");
}

/// `--test-extras` gives the status page's browser test a Chromium: the machine's, or
/// Debian's package unpacked into `.tools/` (this machine has no `/usr/bin/chromium`).
#[test]
fn the_test_set_up_provides_a_chromium_that_runs() {
    let out = bash("source scripts/tools.sh --test-extras 2>/dev/null; command -v chromium; chromium --version");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with("/chromium"), "{out}");
    assert!(lines[1].starts_with("Chromium "), "{out}");
    let found = crate::support::browser::chromium();
    assert!(found.ends_with("chromium"), "{}", found.display());
}
