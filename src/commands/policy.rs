//! `policy test`: the Rego policies' own tests (`crate::policy::tests`), one line each.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::context::Context;
use crate::error::{CommandError, ExitStatus};
use crate::policy::test_runner::{self as tests, TestResult};

/// Every test's result; exit 1 when one failed or erred.
#[derive(Debug, Serialize)]
pub struct PolicyTests {
    pub dir: String,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub tests: Vec<TestResult>,
}

impl Outcome for PolicyTests {
    fn exit_status(&self) -> ExitStatus {
        if self.failed + self.errors > 0 { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

impl fmt::Display for PolicyTests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tests {
            let word = match t.outcome {
                tests::Outcome::Pass => "PASS",
                tests::Outcome::Fail => "FAIL",
                tests::Outcome::Error => "ERROR",
            };
            writeln!(f, "{}: {}: {word}", crate::output::neutralise(&t.file), crate::output::neutralise(&t.name))?;
            if let Some(detail) = &t.detail {
                writeln!(f, "  {}", crate::output::neutralise(detail))?;
            }
        }
        write!(f, "PASS: {}/{}", self.passed, self.tests.len())?;
        if self.failed > 0 {
            write!(f, "\nFAIL: {}/{}", self.failed, self.tests.len())?;
        }
        if self.errors > 0 {
            write!(f, "\nERROR: {}/{}", self.errors, self.tests.len())?;
        }
        Ok(())
    }
}

pub async fn test(ctx: &Context<'_>) -> Result<PolicyTests, CommandError> {
    let config = ctx.config().await?;
    let dir = &config.policy.dir;
    let results = tests::run(dir, config.policy.timeout)?;
    let count = |o: tests::Outcome| results.iter().filter(|t| t.outcome == o).count();
    Ok(PolicyTests {
        dir: dir.display().to_string(),
        passed: count(tests::Outcome::Pass),
        failed: count(tests::Outcome::Fail),
        errors: count(tests::Outcome::Error),
        tests: results,
    })
}
