//! The summary's counts against Terraform's own: every fixture configuration
//! (`tests/fixtures/plans/configs/`) is planned again with real Terraform at test time, and the
//! summary of `show -json` on the saved plan must say what the `Plan: …` / `Actions: …` line
//! of `terraform show` (human output) says on the same plan, so the two can never drift
//! apart. This is the only place human output is read, and only to check.
//!
//! Also here: a plan of 5,000 resources, generated (not committed), through the comment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use infra_manager::report::STATUS_DESCRIPTION_MAX;
use infra_manager::report::comment::{MAX_COMMENT_CHARS, PlanComment, plan_comment};
use infra_manager::terraform::summary::{PlanSummary, summarize};

use crate::support::cli::{repo_root, require_terraform};

fn configs_dir() -> PathBuf {
    repo_root().join("tests/fixtures/plans/configs")
}

/// The Terraform to run: `INFRA_MANAGER_TERRAFORM`, else `terraform` (or `tofu`) on PATH.
fn terraform_bin() -> PathBuf {
    require_terraform();
    if let Ok(path) = std::env::var("INFRA_MANAGER_TERRAFORM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("terraform"), d.join("tofu")])
        .find(|p| p.is_file())
        .expect("require_terraform found one")
}

/// One `terraform` invocation in `dir`, with the machine's settings kept out.
fn terraform(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(terraform_bin());
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("TF_CLI_ARGS") || matches!(key.as_str(), "TF_WORKSPACE" | "TF_DATA_DIR" | "TF_LOG") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("TF_IN_AUTOMATION", "1").env("TF_INPUT", "0").env("CHECKPOINT_DISABLE", "1");
    cmd.output().unwrap_or_else(|e| panic!("run terraform {args:?}: {e}"))
}

fn ok(dir: &Path, args: &[&str]) {
    let out = terraform(dir, args);
    assert!(
        out.status.success(),
        "terraform {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the configuration files and folders of `from` into `to`, after deleting the
/// top-level configuration files `to` had (as `record.sh` does).
fn use_config(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(to).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if path.is_file() && [".tf", ".tf.json", ".tfvars", ".tfvars.json"].iter().any(|ext| name.ends_with(ext)) {
            std::fs::remove_file(&path).expect("remove");
        }
    }
    copy_tree(from, to);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// One saved plan, summarised and shown by Terraform.
struct Planned {
    _dir: tempfile::TempDir,
    summary: PlanSummary,
    /// `terraform show -no-color PLANFILE`.
    human: String,
    /// `terraform plan -detailed-exitcode`.
    exit_code: i32,
}

/// Plans configuration `config` (a `configs/` folder: `step1/` applied first when present,
/// then `step2/` planned) the way `record.sh` records it.
fn plan(config: &Path) -> Planned {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    if config.join("uses-sandbox-module").exists() {
        copy_tree(
            &repo_root().join("manager-terraform/sandbox-app-environment"),
            &work.join("modules/sandbox-app-environment"),
        );
    }
    let mut planned = config.join("step2");
    if config.join("step1").is_dir() {
        use_config(&config.join("step1"), work);
        ok(work, &["init", "-input=false", "-no-color"]);
        ok(work, &["apply", "-input=false", "-no-color", "-auto-approve"]);
        if !planned.is_dir() {
            planned = config.join("step1");
        }
    }
    use_config(&planned, work);
    ok(work, &["init", "-input=false", "-no-color"]);
    let extra = std::fs::read_to_string(config.join("plan-args")).unwrap_or_default();
    let mut args = vec!["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=plan.tfplan"];
    args.extend(extra.split_whitespace());
    let out = terraform(work, &args);
    let exit_code = out.status.code().unwrap_or(-1);
    assert!(
        work.join("plan.tfplan").is_file(),
        "{}: no saved plan (exit {exit_code}):\n{}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = terraform(work, &["show", "-json", "plan.tfplan"]);
    assert!(json.status.success(), "show -json: {}", String::from_utf8_lossy(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("show -json is JSON");
    let human = terraform(work, &["show", "-no-color", "plan.tfplan"]);
    Planned {
        summary: summarize(&doc),
        human: String::from_utf8_lossy(&human.stdout).into_owned(),
        exit_code,
        _dir: dir,
    }
}

/// The `N to what` pairs of the `Plan: …` and `Actions: …` lines, or `None` when there is
/// no `Plan:` line (Terraform prints none for a plan without resource changes or actions).
fn counted_line(text: &str) -> Option<BTreeMap<String, u32>> {
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if !(line.starts_with("Plan: ") || line.starts_with("Actions: ")) {
            continue;
        }
        let counts: &mut BTreeMap<String, u32> = found.get_or_insert_with(BTreeMap::new);
        let words: Vec<&str> =
            line.split([' ', ',', '.', ';']).filter(|w| !w.is_empty() && *w != "Plan:" && *w != "Actions:").collect();
        for triple in words.windows(3) {
            if let (Ok(n), "to") = (triple[0].parse::<u32>(), triple[1]) {
                counts.insert(triple[2].to_owned(), n);
            }
        }
    }
    found
}

/// The summary's count for one of Terraform's words.
fn ours(s: &PlanSummary, what: &str) -> u32 {
    match what {
        "import" => s.import,
        "add" => s.add,
        "change" => s.change,
        "destroy" => s.destroy,
        "forget" => s.forget,
        "invoke" => s.invoke,
        other => panic!("Terraform counts `{other}`, which the summary does not know"),
    }
}

/// The comparison itself, for one configuration.
fn compare(name: &str) -> Planned {
    let p = plan(&configs_dir().join(name));
    let s = &p.summary;
    let context = format!("{name}: summary {:?}, Terraform said:\n{}", s.headline(), p.human);
    match counted_line(&p.human) {
        Some(theirs) => {
            for (what, n) in &theirs {
                assert_eq!(ours(s, what), *n, "`{what}` differs. {context}");
            }
            if !s.errored() {
                // Our headline says the same, plus only what Terraform lists without counting.
                let mine = counted_line(&s.headline()).unwrap_or_else(|| panic!("no Plan: line. {context}"));
                for (what, n) in &mine {
                    match theirs.get(what) {
                        Some(t) => assert_eq!(t, n, "{context}"),
                        None => assert!(matches!(what.as_str(), "forget" | "move"), "extra `{what}`. {context}"),
                    }
                }
            }
        }
        None => {
            for what in ["import", "add", "change", "destroy", "invoke"] {
                assert_eq!(ours(s, what), 0, "`{what}` counted where Terraform has no Plan: line. {context}");
            }
            assert!(!s.headline().starts_with("Plan:"), "{context}");
        }
    }
    match p.exit_code {
        0 => assert!(!s.has_changes() && !s.errored(), "exit 0 but changes. {context}"),
        2 => assert!(s.has_changes() && !s.errored(), "exit 2 but no changes. {context}"),
        1 => assert!(s.errored(), "exit 1 but not errored. {context}"),
        other => panic!("plan exited {other}. {context}"),
    }
    p
}

macro_rules! configs {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                compare(stringify!($name));
            }
        )*

        /// A configuration added to `configs/` without a test here would never be compared.
        #[test]
        fn every_configuration_is_compared() {
            let listed: Vec<&str> = vec![$(stringify!($name)),*];
            let mut on_disk: Vec<String> = std::fs::read_dir(configs_dir())
                .expect("configs")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, listed);
        }
    };
}

configs!(
    create,
    delete,
    drift,
    errored,
    forget,
    import,
    import_update,
    mixed,
    moved,
    moved_update,
    no_changes,
    outputs_only,
    read,
    replace,
    sensitive,
    update,
);

#[test]
fn the_parser_reads_terraforms_lines() {
    let human = "Plan: 1 to import, 2 to add, 0 to change, 1 to destroy. Actions: 3 to invoke.\n";
    let counts = counted_line(human).expect("a line");
    let pairs: Vec<(&str, u32)> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(pairs, [("add", 2), ("change", 0), ("destroy", 1), ("import", 1), ("invoke", 3)]);
    assert_eq!(counted_line("No changes. Your infrastructure matches the configuration."), None);
}

/// 5,000 resources created and 3 destroyed, planned by real Terraform: the counts agree and
/// the comment fits GitHub with the destroy list whole.
#[test]
fn five_thousand_resources() {
    let config = tempfile::tempdir().expect("tempdir");
    let step1 = config.path().join("step1");
    let step2 = config.path().join("step2");
    std::fs::create_dir_all(&step1).expect("mkdir");
    std::fs::create_dir_all(&step2).expect("mkdir");
    std::fs::write(
        step1.join("main.tf"),
        "resource \"terraform_data\" \"retired\" {\n  count = 3\n  input = count.index\n}\n",
    )
    .expect("write");
    std::fs::write(
        step2.join("main.tf"),
        "resource \"terraform_data\" \"member\" {\n  count = 5000\n  input = \"member-${count.index}\"\n}\n",
    )
    .expect("write");
    let p = plan(config.path());
    let s = &p.summary;
    let theirs = counted_line(&p.human).expect("a Plan: line");
    assert_eq!(theirs.get("add"), Some(&5000));
    assert_eq!(theirs.get("destroy"), Some(&3));
    assert_eq!((s.add, s.change, s.destroy), (5000, 0, 3));
    let fleet =
        infra_manager::identity::Owner::Customer(infra_manager::identity::RepoId::parse("acme/fleet").expect("valid"));
    let body = plan_comment(&PlanComment {
        environment: "staging",
        customer: &fleet,
        sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        plan_sha256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        summary: s,
        plan_text: &p.human,
        run_url: Some("https://github.com/provider/manager/actions/runs/5000"),
        warnings: &[],
        file_changes: None,
    });
    let chars = body.chars().count();
    assert!(chars <= MAX_COMMENT_CHARS, "{chars}");
    for i in 0..3 {
        assert!(body.contains(&format!("| **destroy** | `terraform_data.retired[{i}]` |")), "destroy {i}");
    }
    assert!(body.contains("more (see the [run](https://github.com/provider/manager/actions/runs/5000))"));
    assert!(body.contains("The plan output was truncated"));
    let status = s.status_description();
    assert!(status.chars().count() <= STATUS_DESCRIPTION_MAX);
    assert_eq!(status, "⚠ 3 to destroy · 5000 to add");
}
