//! `infra-manager migrate` through the real binary, real Terraform, local mode: a v1 file
//! applied in both environments, rewritten in place as v2, plans no change anywhere (the
//! same `module.app` addresses, names and values); a v2 file is left alone; an invalid v1
//! file gets its errors at their place and is not touched.

use crate::support::cli::{Output, Run, Sandbox, repo_root, require_terraform};

const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

fn v1_template() -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures/v1/variables.yml")).expect("read fixture")
}

fn sandbox(text: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::write(sb.variables(), text).expect("write");
    sb
}

fn migrate(sb: &Sandbox, args: &[&str]) -> Output {
    Run::new(sb.path()).args(["migrate", "shop/infra/variables.yml"]).args(args).run()
}

/// `(add, change, destroy)` of a `--json plan` report.
fn counts(out: &Output) -> (u64, u64, u64) {
    let r = out.json();
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no `{k}` in {r}"));
    (n("add"), n("change"), n("destroy"))
}

#[test]
fn a_migrated_v1_file_plans_no_change_in_any_environment() {
    require_terraform();
    let sb = sandbox(&v1_template());
    for env in ENVIRONMENTS {
        let plan = sb.run("plan", env);
        assert_eq!(plan.code, 0, "{env}: {}", plan.stderr);
        let (add, _, _) = counts(&plan);
        assert!(add > 0, "{env}: v1 creates the environment");
        let apply = sb.run("apply", env);
        assert_eq!(apply.code, 0, "{env}: {}", apply.stderr);
    }

    let printed = migrate(&sb, &[]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    assert_eq!(std::fs::read_to_string(sb.variables()).expect("read"), v1_template(), "printing writes nothing");
    let written = migrate(&sb, &["--write"]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert!(written.stdout.is_empty(), "{}", written.stdout);
    let text = std::fs::read_to_string(sb.variables()).expect("read");
    assert_eq!(text.trim_end(), printed.stdout.trim_end(), "`--write` writes what was printed");
    assert!(text.contains("apiVersion: infra-manager/v2"), "{text}");
    let validate = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert_eq!(validate.code, 0, "{}", validate.stderr);

    for env in ENVIRONMENTS {
        let plan = sb.run("plan", env);
        assert_eq!(plan.code, 0, "{env}: {}", plan.stderr);
        assert_eq!(counts(&plan), (0, 0, 0), "{env}: the same resources\n{}", plan.stderr);
        // Only the root outputs are renamed, `<component>_<output>` as for any component.
        assert!(plan.stderr.contains("Only output values change"), "{env}: {}", plan.stderr);
    }
}

#[test]
fn a_v2_file_is_left_as_it_is() {
    let sb = sandbox(&v1_template());
    assert_eq!(migrate(&sb, &["--write"]).code, 0);
    let v2 = std::fs::read_to_string(sb.variables()).expect("read");
    let again = Run::new(sb.path()).args(["--json", "migrate", "shop/infra/variables.yml", "--write"]).run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["migrated"], false, "{}", again.stdout);
    assert!(again.stderr.contains("already schema v2"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(sb.variables()).expect("read"), v2);
}

#[test]
fn an_invalid_v1_file_gets_its_errors_at_their_place_and_is_not_touched() {
    let text = v1_template().replace("max_instances: 4", "max_instances: 40");
    let sb = sandbox(&text);
    let out = migrate(&sb, &["--write"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("shop/infra/variables.yml:20:") && out.stderr.contains("above your tier's limit"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(sb.variables()).expect("read"), text);
}

/// Issue 21, item 12: `--write` refuses a symbolic link (it would become a plain copy and
/// leave the shared target v1) and a read-only file; nothing is changed.
#[test]
fn write_refuses_a_link_and_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox(&v1_template());
    let shared = sb.path().join("shared.yml");
    std::fs::rename(sb.variables(), &shared).expect("move");
    std::os::unix::fs::symlink(&shared, sb.variables()).expect("link");
    let linked = migrate(&sb, &["--write"]);
    assert_eq!(linked.code, 2, "{}", linked.stderr);
    assert!(linked.stderr.contains("is a symbolic link"), "{}", linked.stderr);
    assert!(std::fs::symlink_metadata(sb.variables()).expect("meta").file_type().is_symlink(), "still a link");
    assert_eq!(std::fs::read_to_string(&shared).expect("read"), v1_template(), "the target is unchanged");

    std::fs::remove_file(sb.variables()).expect("unlink");
    std::fs::rename(&shared, sb.variables()).expect("move back");
    std::fs::set_permissions(sb.variables(), std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let read_only = migrate(&sb, &["--write"]);
    assert_eq!(read_only.code, 2, "{}", read_only.stderr);
    assert!(read_only.stderr.contains("is read-only"), "{}", read_only.stderr);
    assert_eq!(std::fs::read_to_string(sb.variables()).expect("read"), v1_template(), "unchanged");
}
