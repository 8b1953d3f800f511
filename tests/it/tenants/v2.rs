//! Schema v2 customer files through the real binary: every bad file in
//! `tests/fixtures/v2/bad/` makes `validate` exit 2 with an error (and a hint) at the line
//! and column `EXPECT.tsv` names; the good files exit 0; `render` writes one module call
//! per component (plans and applies are in `v2_plans.rs`).

use super::v2_fixtures;
use crate::support::cli::{Run, Sandbox};

/// The sandbox config, with a registry that enables only `staging` for `acme/shop`.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: acme/shop\n    environments: [staging]\n");
    sb
}

struct Expected {
    file: String,
    args: Vec<String>,
    line: u64,
    column: u64,
    fragment: String,
}

fn expectations() -> Vec<Expected> {
    let text = std::fs::read_to_string(v2_fixtures().join("bad/EXPECT.tsv")).expect("read EXPECT.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 5, "bad EXPECT.tsv row {line:?}");
            Expected {
                file: f[0].to_owned(),
                args: if f[1] == "-" { Vec::new() } else { f[1].split(' ').map(str::to_owned).collect() },
                line: f[2].parse().expect("line"),
                column: f[3].parse().expect("column"),
                fragment: f[4].to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_bad_v2_file_exits_2_with_its_error_at_the_expected_place() {
    let sb = sandbox();
    let expected = expectations();
    let mut listed: Vec<String> = expected.iter().map(|e| e.file.clone()).collect();
    listed.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(v2_fixtures().join("bad"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk, "every bad file has exactly one EXPECT.tsv row");
    assert!(expected.len() >= 30, "the corpus holds at least 30 files");

    let mut failures = Vec::new();
    for e in &expected {
        let path = v2_fixtures().join("bad").join(&e.file);
        let out =
            Run::new(sb.path()).args(["--json".as_ref(), "validate".as_ref(), path.as_os_str()]).args(&e.args).run();
        if out.code != 2 {
            failures.push(format!("{}: exit {} (stderr: {})", e.file, out.code, out.stderr));
            continue;
        }
        let json = out.json();
        let errors = json["errors"].as_array().cloned().unwrap_or_default();
        let placed = |err: &serde_json::Value| err["line"].as_u64().is_some() && err["column"].as_u64().is_some();
        let hinted = |err: &serde_json::Value| err["hint"].as_str().is_some_and(|h| !h.is_empty());
        if let Some(bad) = errors.iter().find(|err| !placed(err) || !hinted(err)) {
            failures.push(format!("{}: an error without a place or a hint: {bad}", e.file));
        }
        let found = errors.iter().any(|err| {
            err["line"].as_u64() == Some(e.line)
                && err["column"].as_u64() == Some(e.column)
                && err["message"].as_str().is_some_and(|m| m.contains(&e.fragment))
        });
        if !found {
            failures.push(format!(
                "{}: no error at {}:{} containing {:?}; got {errors:#?}",
                e.file, e.line, e.column, e.fragment
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn good_v2_files_validate_with_exit_0() {
    let sb = sandbox();
    for name in ["four-components.yml", "minimal.yml"] {
        let path = v2_fixtures().join("good").join(name);
        let out = Run::new(sb.path()).args(["validate".as_ref(), path.as_os_str()]).run();
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(out.stderr.contains("is valid (environments: staging"), "{name}: {}", out.stderr);
    }
    // Many files in one run (the catalog loaded once): each verdict in `results`.
    let dir = v2_fixtures().join("good");
    let many = Run::new(sb.path()).args(["--json".as_ref(), "validate".as_ref(), dir.as_os_str()]).run();
    assert_eq!(many.code, 0, "{}", many.stdout);
    assert_eq!((many.json()["files"].as_u64(), many.json()["invalid"].as_u64()), (Some(2), Some(0)));
    // The registered customer's enabled environment passes for a file that lists only it.
    let minimal = v2_fixtures().join("good/minimal.yml");
    let out = Run::new(sb.path())
        .args(["validate".as_ref(), minimal.as_os_str(), "--customer".as_ref(), "acme/shop".as_ref()])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn all_problems_of_one_file_are_reported_in_one_run() {
    let sb = sandbox();
    let text = "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: shop }\nspec:\n  environments: [staging]\n  components:\n    - { name: web, type: app-enviroment }\n    - { name: db, type: database, inputs: { storage_gb: 5000, sise: 1 } }\n    - { name: db, type: bucket }\n";
    std::fs::write(sb.variables(), text).expect("write");
    let out = Run::new(sb.path()).args(["validate", "shop/infra/variables.yml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    for expected in [
        "shop/infra/variables.yml:7:26: unknown component type `app-enviroment`",
        "shop/infra/variables.yml:8:57: `spec.components[1].inputs.storage_gb` is 5000, above the maximum 100",
        "shop/infra/variables.yml:8:63: unknown input `sise` for component type `database`",
        "shop/infra/variables.yml:9:15: component name `db` is used twice",
    ] {
        assert!(out.stderr.contains(expected), "missing {expected:?} in:\n{}", out.stderr);
    }
}

#[test]
fn render_writes_one_module_call_per_component_and_each_type_once() {
    let sb = Sandbox::new();
    let good = std::fs::read_to_string(v2_fixtures().join("good/four-components.yml")).expect("read");
    std::fs::write(sb.variables(), good).expect("write");
    let out_dir = sb.path().join("rendered");
    let out = Run::new(sb.path())
        .args(["render", "--source-dir", "shop", "--env", "production", "--out"])
        .args([&out_dir])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out_dir.join(name)).expect(name)).expect("json")
    };
    let root = read("main.tf.json");
    let calls: Vec<&String> = root["module"].as_object().expect("module").keys().collect();
    assert_eq!(calls, ["db", "jobs", "uploads", "web"]);
    assert_eq!(root["module"]["db"]["source"], "./modules/database");
    for ty in ["app-environment", "bucket", "database", "queue"] {
        assert!(out_dir.join("modules").join(ty).join("main.tf").is_file(), "{ty} copied");
    }
    let tfvars = read("customer.auto.tfvars.json");
    assert_eq!((tfvars["environment"].as_str(), tfvars["project_name"].as_str()), (Some("production"), Some("shop")));
    assert_eq!(tfvars["components"]["db"]["storage_gb"], 100, "the production override");
    assert_eq!(tfvars["components"]["web"]["tags"]["team"], "web", "spec.tags reach each component's tags");
}
