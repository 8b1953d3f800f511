//! `locks list` and `locks release`: Terraform's state locks on the S3 backend.
//!
//! Releasing is for a lock whose run is gone (a cancelled job, a lost runner): it is refused
//! for a lock younger than `--older-than` unless `--force`, and never deletes a lock that
//! changed since it was read. With `state.backend: local` there are no such locks.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{Outcome, Stop};
use crate::identity::Target;
use crate::store::s3::locks::human_duration;
use crate::store::s3::{LockError, LockInfo, ReleaseOutcome, S3Store, list_locks, release_lock};

/// The locks held, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct LockList {
    pub command: &'static str,
    pub status: Outcome,
    pub locks: Vec<LockInfo>,
}

/// What `locks release` did, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    pub command: &'static str,
    pub status: Outcome,
    pub customer: String,
    pub environment: String,
    pub result: ReleaseOutcome,
}

/// `locks` needs the S3 backend; the local one has no lock table or lock objects.
fn require_s3(store: Option<&S3Store>) -> Result<&S3Store, Stop> {
    store.ok_or_else(|| Stop::Refused {
        message: "`locks` manages Terraform's S3 state locks, but `state.backend` is `local`".into(),
        hint: Some("the local backend locks the state file itself; set `state.backend: s3` in infra-manager.yml to use `locks`".into()),
        exit_code: 2,
    })
}

pub async fn list(store: Option<&S3Store>) -> Result<LockList, Stop> {
    let store = require_s3(store)?;
    let locks = list_locks(store).await.map_err(lock_stop)?;
    if locks.is_empty() {
        crate::output::log("no state locks held");
    }
    Ok(LockList { command: "locks list", status: Outcome::Ok, locks })
}

pub async fn release(
    store: Option<&S3Store>,
    target: &Target,
    older_than: Duration,
    force: bool,
) -> Result<Released, Stop> {
    let store = require_s3(store)?;
    let result = release_lock(store, target, older_than, force).await.map_err(lock_stop)?;
    Ok(Released {
        command: "locks release",
        status: Outcome::Ok,
        customer: target.customer.to_string(),
        environment: target.env.to_string(),
        result,
    })
}

/// A lock error as a stop: a lock too young or one that changed is refused (exit 1), with
/// the message's `hint:` line as the hint; a store failure fails.
fn lock_stop(error: LockError) -> Stop {
    match error {
        LockError::Store(e) => Stop::Failed(e.to_string()),
        refused => {
            let text = refused.to_string();
            let (message, hint) = match text.split_once("\nhint: ") {
                Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
                None => (text, None),
            };
            Stop::Refused { message, hint, exit_code: 1 }
        }
    }
}

/// Parses a guard age such as `15m`, `1h 30m`, `90s` or `2 days` (a day is 24 hours).
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let span: jiff::Span =
        text.trim().parse().map_err(|e| format!("`{text}` is not a duration such as `15m` or `1h 30m`: {e}"))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("`{text}` can't be used as an age: {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("`{text}` is negative"))
}

impl fmt::Display for LockList {
    /// One line per lock: subject, operation, holder, since when, Terraform's lock ID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = jiff::Timestamp::now();
        for lock in &self.locks {
            writeln!(f, "{}  {}", lock.subject(), describe(lock, now))?;
        }
        Ok(())
    }
}

fn describe(lock: &LockInfo, now: jiff::Timestamp) -> String {
    let operation = if lock.operation.is_empty() { "unknown operation" } else { lock.operation.as_str() };
    let who = if lock.who.is_empty() { "unknown" } else { lock.who.as_str() };
    let since = match (lock.created, lock.age(now)) {
        (Some(created), Some(age)) => {
            format!("since {} ({} ago)", created.strftime("%Y-%m-%dT%H:%M:%SZ"), human_duration(age))
        }
        _ => "since an unknown time".to_owned(),
    };
    format!("{operation}  held by `{who}`  {since}  lock ID `{}`", lock.id)
}

impl fmt::Display for Released {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            ReleaseOutcome::Released { lock } => {
                writeln!(f, "released the lock on {}: {}", lock.subject(), describe(lock, jiff::Timestamp::now()))
            }
            ReleaseOutcome::NotLocked => {
                writeln!(f, "{} ({}) is not locked; nothing to release", self.customer, self.environment)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_in_friendly_and_iso_forms() {
        let cases = [("15m", 900), ("1h 30m", 5400), ("90s", 90), ("2 days", 172_800), ("PT1H", 3600), ("0s", 0)];
        for (text, secs) in cases {
            assert_eq!(parse_age(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "soon", "15", "-5m", "1 month"] {
            let error = parse_age(bad).expect_err(bad);
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }
}
