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

/// Every policy rule and how often it fired across the fleet's run records.
#[derive(Debug, Serialize)]
pub struct PolicyCoverage {
    pub dir: String,
    /// Records read.
    pub records: usize,
    pub never_fired: usize,
    pub rules: Vec<crate::policy::coverage::RuleCoverage>,
}

impl Outcome for PolicyCoverage {}

impl fmt::Display for PolicyCoverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rules {
            let shown = crate::output::neutralise(&r.policy);
            match r.fired {
                0 => writeln!(f, "{shown} {}: never fired", r.rule)?,
                n => writeln!(f, "{shown} {}: fired {n} time{}", r.rule, if n == 1 { "" } else { "s" })?,
            }
        }
        write!(f, "{} of {} rules never fired ({} run records)", self.never_fired, self.rules.len(), self.records)
    }
}

pub async fn coverage(
    ctx: &Context<'_>,
    args: &crate::cli::PolicyCoverageArgs,
) -> Result<PolicyCoverage, CommandError> {
    let config = ctx.config().await?;
    let files = crate::policy::load::all(&config.policy.dir, crate::policy::load::Kind::Policies)?;
    let manager = ctx.manager_repo(&args.manager.repo);
    let selection = crate::fleet::select(config, &manager, crate::fleet::Filter::default()).await?;
    let store = ctx.store().await?;
    let mut records = Vec::new();
    let mut owners: Vec<crate::identity::Owner> = selection.targets().into_iter().map(|t| t.owner).collect();
    owners.dedup();
    for owner in owners {
        records.extend(store.history(&owner, None).await?);
    }
    let rules = crate::policy::coverage::coverage(&files, &records);
    Ok(PolicyCoverage {
        dir: config.policy.dir.display().to_string(),
        records: records.len(),
        never_fired: rules.iter().filter(|r| r.fired == 0).count(),
        rules,
    })
}
