//! Bounded retries of an apply that failed for a transient reason
//! ([`crate::terraform::transient`]): how long to wait before the next attempt, what each
//! attempt did (for the record, the status and `--json`), and why retrying stopped.
//!
//! The rule for whether to retry at all lives with the flows: a reviewed plan is applied
//! again only while the failure left the state as it was ([`super::apply`]); a flow that
//! plans for itself plans again (`reap`). A retry always goes through the normal checks.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::health::human;
use crate::cancel::Cancel;
use crate::config::RetryConfig;
use crate::output;
use crate::terraform::TerraformError;

/// One attempt at an apply.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Attempt {
    /// From 1.
    pub number: u32,
    /// The attempts allowed (`retry.attempts`).
    pub of: u32,
    pub result: AttemptResult,
    /// Why it failed: `transient: 503 from provider`, or `not transient`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The wait before the next attempt, when there was one.
    #[serde(
        rename = "retried_after_secs",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "secs",
        deserialize_with = "from_secs"
    )]
    pub retried_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Applied,
    Failed,
}

fn from_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let secs: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(secs.filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64))
}

fn secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    let secs = d.unwrap_or_default().as_secs_f64();
    s.serialize_f64((secs * 10.0).round() / 10.0)
}

impl Attempt {
    pub fn applied(number: u32, of: u32) -> Self {
        Self { number, of, result: AttemptResult::Applied, reason: None, retried_after: None }
    }

    pub fn failed(number: u32, of: u32, error: &TerraformError) -> Self {
        let reason = match error.transient() {
            Some(reason) => format!("transient: {reason}"),
            None => "not transient".to_owned(),
        };
        Self { number, of, result: AttemptResult::Failed, reason: Some(reason), retried_after: None }
    }
}

impl fmt::Display for Attempt {
    /// `attempt 1/3 failed (transient: 503 from provider), retried after 10.0 s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt {}/{} ", self.number, self.of)?;
        match self.result {
            AttemptResult::Applied => f.write_str("applied")?,
            AttemptResult::Failed => write!(f, "failed ({})", self.reason.as_deref().unwrap_or("unknown"))?,
        }
        match self.retried_after {
            Some(wait) => write!(f, ", retried after {}", human(wait)),
            None => Ok(()),
        }
    }
}

/// The attempts as one line: `attempt 1/3 failed (…), retried after 10.0 s; attempt 2/3 applied`.
pub fn line(attempts: &[Attempt]) -> String {
    attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The wait before attempt `failed + 1`: `backoff` doubling per attempt up to `max_backoff`,
/// with jitter (`jitter` in `0.0..=1.0` keeps between half and all of it), so runs that
/// failed together do not retry together.
pub fn wait(policy: &RetryConfig, failed: u32, jitter: f64) -> Duration {
    let n = usize::try_from(failed.saturating_sub(1)).unwrap_or(usize::MAX);
    let full = crate::duration::doubling(policy.backoff, policy.max_backoff).nth(n).unwrap_or(policy.max_backoff);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Whether the failed last attempt may be followed by another: a transient failure with
/// attempts left.
pub fn may_retry(policy: &RetryConfig, attempts: &[Attempt], error: &TerraformError) -> bool {
    error.transient().is_some() && u32::try_from(attempts.len()).unwrap_or(u32::MAX) < policy.attempts
}

/// Waits before the next attempt (noting the wait on the last one), or stops when the run
/// is asked to stop.
pub async fn backoff(policy: &RetryConfig, attempts: &mut [Attempt], cancel: &Cancel) -> Result<(), TerraformError> {
    let Some(last) = attempts.last_mut() else { return Ok(()) };
    let wait = wait(policy, last.number, fastrand::f64());
    last.retried_after = Some(wait);
    output::log(&format!("{last}"));
    if cancel.sleep(wait).await {
        Ok(())
    } else {
        Err(TerraformError::Cancelled { step: "apply (waiting to retry)", reason: cancel.reason(), ended: None })
    }
}

/// Why an apply that was, or could have been, retried stopped without applying.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// Every attempt allowed failed, or a later one failed for a deterministic reason (or
    /// was cancelled): its status, exit code and hint are the last failure's.
    #[error("apply failed: {}\n{last}", line(.attempts))]
    Stopped { attempts: Vec<Attempt>, last: TerraformError },
    /// A transient failure changed the state: the reviewed plan no longer describes the
    /// change, so applying it again is not the change reviewers approved.
    #[error("apply failed and changed the state, so the stored plan no longer applies: re-plan needed ({})\n{last}", line(.attempts))]
    ReplanNeeded { attempts: Vec<Attempt>, last: TerraformError },
}

impl RetryError {
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            Self::Stopped { attempts, .. } | Self::ReplanNeeded { attempts, .. } => attempts,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Stopped { .. } => None,
            Self::ReplanNeeded { .. } => Some(
                "nothing more was applied: run `infra-manager plan` again, review the new plan, then apply it"
                    .to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryConfig {
        RetryConfig { attempts: 4, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(25) }
    }

    #[test]
    fn waits_double_up_to_the_bound_and_jitter_keeps_at_least_half() {
        let p = policy();
        let full: Vec<Duration> = (1..=4).map(|n| wait(&p, n, 1.0)).collect();
        assert_eq!(full, [10, 20, 25, 25].map(Duration::from_secs));
        assert_eq!(wait(&p, 1, 0.0), Duration::from_secs(5));
        assert_eq!(wait(&p, 2, 0.5), Duration::from_secs(15));
        assert_eq!(wait(&p, 1, 7.0), Duration::from_secs(10), "jitter is clamped");
    }

    #[test]
    fn only_a_transient_failure_with_attempts_left_is_retried() {
        let p = RetryConfig { attempts: 2, ..policy() };
        let transient =
            TerraformError::Failed { step: "apply", code: 1, details: vec![], transient: Some("timeout".into()) };
        let deterministic = TerraformError::Failed { step: "apply", code: 1, details: vec![], transient: None };
        let one = [Attempt::failed(1, 2, &transient)];
        assert!(may_retry(&p, &one, &transient));
        assert!(!may_retry(&p, &one, &deterministic));
        let two = [one[0].clone(), Attempt::failed(2, 2, &transient)];
        assert!(!may_retry(&p, &two, &transient), "no attempt left");
        let locked = TerraformError::Locked { waited_secs: 120, details: vec![] };
        assert!(may_retry(&p, &one, &locked), "a lock held past the wait");
    }

    #[test]
    fn attempts_read_as_one_line() {
        let transient = TerraformError::Failed {
            step: "apply",
            code: 1,
            details: vec![],
            transient: Some("503 from provider".into()),
        };
        let mut failed = Attempt::failed(1, 3, &transient);
        failed.retried_after = Some(Duration::from_secs(10));
        assert_eq!(
            line(&[failed, Attempt::applied(2, 3)]),
            "attempt 1/3 failed (transient: 503 from provider), retried after 10.0 s; attempt 2/3 applied"
        );
    }

    #[tokio::test]
    async fn a_cancelled_run_stops_waiting_to_retry() {
        let cancel = Cancel::new();
        cancel.cancel("received SIGTERM");
        let error = TerraformError::Locked { waited_secs: 0, details: vec![] };
        let mut attempts = [Attempt::failed(1, 3, &error)];
        let stopped = backoff(&RetryConfig::default(), &mut attempts, &cancel).await.expect_err("cancelled");
        assert!(matches!(stopped, TerraformError::Cancelled { .. }), "{stopped:?}");
    }
}
