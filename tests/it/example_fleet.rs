//! `examples/README.md` walks a newcomer through an example fleet: its `sh` code blocks
//! run here exactly as written, in order, in one bash with `set -euo pipefail`, from the
//! repository root (real Git, real Terraform, the local store), so the walk cannot rot.

use std::path::Path;
use std::process::Command;

/// The `sh` code blocks of a Markdown text, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn the_example_fleet_walk_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let walk = std::fs::read_to_string(root.join("examples/README.md")).expect("examples/README.md");
    let blocks = sh_blocks(&walk);
    assert!(blocks.len() >= 6, "the walk's code blocks: {blocks:?}");
    // The walk ends in the fleet's directory: print it so the test can look inside.
    let script = format!("set -euo pipefail\n{}\necho \"FLEET=$PWD\"\n", blocks.concat());

    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = Path::new(env!("CARGO_BIN_EXE_infra-manager")).parent().expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root)
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env_remove("INFRA_MANAGER_CONFIG")
        .envs([
            ("GIT_AUTHOR_NAME", "walker"),
            ("GIT_AUTHOR_EMAIL", "walker@example.com"),
            ("GIT_COMMITTER_NAME", "walker"),
            ("GIT_COMMITTER_EMAIL", "walker@example.com"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ])
        .env("HOME", tmp.path())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the walk failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);

    // What the page says each step shows.
    assert!(stdout.contains("3 files checked, 0 invalid"), "{stdout}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(stdout.contains("4 targets: 4 with changes, 0 failed."), "{stdout}");
    assert!(stdout.contains("| `tenants/trial-acme` | `staging` |"), "{stdout}");
    assert!(stdout.contains("infra-manager overview: 4 targets: nothing needs a look."), "{stdout}");
    assert!(stdout.contains("OWNER  ") && stdout.contains("in sync"), "{stdout}");
    assert!(stdout.contains("update trial-acme staging"), "{stdout}");
    assert!(stdout.contains("Plan: 4 to add, 0 to change, 0 to destroy"), "{stdout}");
    assert!(stdout.contains("would-reap"), "{stdout}");
    assert!(stdout.contains("| 🗑 reaped: 6 destroyed |"), "our own emoji print as they are: {stdout}");
    assert!(stdout.contains("tenants/trial-acme staging @"), "{stdout}");

    // The customer's state is kept, the reaped tenant's holds nothing.
    let fleet = stdout.lines().find_map(|l| l.strip_prefix("FLEET=")).expect("the fleet's directory");
    let resources = |owner: &str| {
        let path = Path::new(fleet).join(format!(".infra-manager/state/{owner}/staging/terraform.tfstate"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let state: serde_json::Value = serde_json::from_str(&text).expect("state json");
        state["resources"].as_array().map_or(0, Vec::len)
    };
    assert!(resources("acme/webshop") > 0, "acme/webshop applied");
    assert_eq!(resources("tenants/trial-acme"), 0, "trial-acme reaped");
}
