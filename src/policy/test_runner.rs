//! `policy test`: the policies' own tests, as `opa test` runs them. Every policy file and
//! every `*_test.rego` file is loaded into one engine; each rule named `test_*` of a test
//! file's package passes when it evaluates to `true`, fails when it is `false` or undefined,
//! and errs when its evaluation fails (each bounded by `policy.timeout`).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::load::{self, Kind, PolicyFile};
use super::{PolicyError, evaluate};

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// `data.<package>.<rule>`.
    pub name: String,
    pub file: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Error,
}

/// Runs every test under `dir`.
pub fn run(dir: &Path, timeout: Duration) -> Result<Vec<TestResult>, PolicyError> {
    let policies = load::all(dir, Kind::Policies)?;
    let tests = load::all(dir, Kind::Tests)?;
    let files: Vec<&PolicyFile> = policies.iter().chain(&tests).collect();
    let mut engine = evaluate::engine(&files, timeout)?;
    let mut out = Vec::new();
    for file in &tests {
        let package = package_of(&mut engine, file)?;
        for rule in test_rules(&file.text) {
            let name = format!("{package}.{rule}");
            let (outcome, detail) = match engine.eval_query(name.clone(), false) {
                Ok(results) => {
                    let passed = results
                        .result
                        .iter()
                        .flat_map(|r| &r.expressions)
                        .any(|e| e.value == regorus::Value::from(true));
                    (if passed { Outcome::Pass } else { Outcome::Fail }, None)
                }
                Err(e) => (Outcome::Error, Some(e.to_string().trim_start().to_owned())),
            };
            out.push(TestResult { name, file: file.name.clone(), outcome, detail });
        }
    }
    Ok(out)
}

/// `data.<package>` of a test file, from the engine's parse (not the text).
fn package_of(engine: &mut regorus::Engine, file: &PolicyFile) -> Result<String, PolicyError> {
    let packages = engine.get_packages().map_err(|e| PolicyError::Eval {
        file: file.name.clone(),
        rule: "package".into(),
        detail: e.to_string(),
    })?;
    // Packages are listed in load order; the test file declares one of them.
    packages.into_iter().find(|p| declares(&file.text, p)).ok_or_else(|| PolicyError::Eval {
        file: file.name.clone(),
        rule: "package".into(),
        detail: "no package".into(),
    })
}

fn declares(text: &str, package: &str) -> bool {
    let name = package.trim_start_matches("data.");
    text.lines().any(|l| l.trim() == format!("package {name}"))
}

/// The names of the `test_*` rules a test file defines, each once, in file order (a rule
/// head starts a line: `test_name if {`, `test_name := …`, `test_name {`).
fn test_rules(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if name.starts_with("test_") && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_pass_fail_and_err_as_opa_test_says() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("prod.rego"),
            "package infra_manager\n\ndeny contains \"no\" if input.target.environment == \"production\"\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("prod_test.rego"),
            "package infra_manager_test\n\nimport data.infra_manager\n\ntest_denies_production if {\n\tinfra_manager.deny == {\"no\"} with input as {\"target\": {\"environment\": \"production\"}}\n}\n\ntest_staging_passes if {\n\tcount(infra_manager.deny) == 0 with input as {\"target\": {\"environment\": \"staging\"}}\n}\n\ntest_wrong if {\n\tcount(infra_manager.deny) == 0 with input as {\"target\": {\"environment\": \"production\"}}\n}\n\ntest_errs if {\n\tx := 1 / 0\n\tx == 1\n}\n",
        )
        .expect("write");
        let results = run(dir.path(), Duration::from_secs(1)).expect("runs");
        let got: Vec<(String, Outcome)> = results.iter().map(|r| (r.name.clone(), r.outcome)).collect();
        assert_eq!(got[0], ("data.infra_manager_test.test_denies_production".into(), Outcome::Pass), "{results:?}");
        assert_eq!(got[1].1, Outcome::Pass, "{results:?}");
        assert_eq!(got[2].1, Outcome::Fail, "{results:?}");
        assert_ne!(got[3].1, Outcome::Pass, "{results:?}");
    }
}
