//! The words of each column of a row, written once for every renderer (the text table, the
//! Markdown of the job summary). Text that came from a store, a lock or a file goes through
//! the sink's own escaping rule, passed in as `esc` (`markdown::code` for Markdown; the
//! terminal's rule is applied to everything `output` prints); `None` is an empty cell, shown
//! as the renderer's placeholder.

use super::{Applied, Drift, Expiry, Health, Latest, Lock, OpenRequest, Waiting};
use crate::pipeline::drift::DriftState;
use crate::report::{name_of, prefix};
use crate::store::HealthState;

/// A sink's rule for untrusted text.
pub type Escape<'a> = &'a dyn Fn(&str) -> String;

/// `2026-12-07 18:26:16Z`: a record's time to the second, in UTC.
pub fn time(at: &str, esc: Escape<'_>) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        Err(_) => esc(at),
    }
}

/// A commit as people see it: its first 7 characters.
pub fn sha(sha: &str, esc: Escape<'_>) -> String {
    esc(prefix(sha, 7))
}

/// `1a2b3c4 at 2026-12-07 18:26:16Z`.
pub fn applied(applied: Option<&Applied>, esc: Escape<'_>) -> Option<String> {
    applied.map(|a| format!("{} at {}", esc(&a.revision.shown(&a.sha)), time(&a.at, esc)))
}

/// The latest change's step (`applied`, `failed`, …).
pub fn latest(latest: Option<&Latest>) -> Option<String> {
    latest.map(|l| name_of(&l.step))
}

/// `9f8e7d6 (+3 ~1 -0), approval: one of alice`.
pub fn waiting(waiting: Option<&Waiting>, esc: Escape<'_>) -> Option<String> {
    waiting.map(|w| {
        let mut cell = format!("{} (+{} ~{} -{})", sha(&w.sha, esc), w.add, w.change, w.destroy);
        if w.destroys_environment {
            cell.push_str(", destroys the environment");
        }
        // The configuration's words, with an environment name it does not check.
        if let Some(who) = &w.approval {
            cell.push_str(&format!(", approval: {}", esc(who)));
        }
        cell
    })
}

/// `in sync`, `drifted (2 outside Terraform)`, `check failed`.
pub fn drift(drift: Option<&Drift>) -> Option<String> {
    drift.map(|d| match d.state {
        DriftState::InSync => "in sync".to_owned(),
        DriftState::Drifted => match d.changed_outside {
            Some(n) if n > 0 => format!("drifted ({n} outside Terraform)"),
            _ => "drifted".to_owned(),
        },
        DriftState::Error => "check failed".to_owned(),
        DriftState::NeverApplied => "never applied".to_owned(),
    })
}

/// `healthy`, `unhealthy`, `no check`.
pub fn health(health: Option<&Health>) -> Option<String> {
    health.map(|h| {
        match h.state {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Skipped => "no check",
        }
        .to_owned()
    })
}

/// `2026-12-10 00:00:00Z (2 days left)`, `expired at 2026-12-01 00:00:00Z`.
pub fn expiry(expiry: Option<&Expiry>, esc: Escape<'_>) -> Option<String> {
    expiry.map(|e| match (e.expired, e.days_left) {
        (true, _) => format!("expired at {}", time(&e.at, esc)),
        (false, 0) => format!("{} (today)", time(&e.at, esc)),
        (false, 1) => format!("{} (1 day left)", time(&e.at, esc)),
        (false, days) => format!("{} ({days} days left)", time(&e.at, esc)),
    })
}

/// `held 3m 0s by root@vm`.
pub fn lock(lock: Option<&Lock>, esc: Escape<'_>) -> Option<String> {
    lock.map(|l| {
        let who = if l.who.is_empty() { "an unknown holder".to_owned() } else { esc(&l.who) };
        match l.age_seconds {
            Some(age) => format!("held {} by {who}", crate::duration::hms(std::time::Duration::from_secs(age))),
            None => format!("held by {who}"),
        }
    })
}

/// `12.50` a month.
pub fn cost(monthly: Option<f64>) -> Option<String> {
    monthly.map(|m| crate::cost::Cents::from_units(m).to_string())
}

/// `req-1 (planned), req-2 (requested)`.
pub fn requests(requests: &[OpenRequest], esc: Escape<'_>) -> Option<String> {
    (!requests.is_empty()).then(|| {
        requests.iter().map(|r| format!("{} ({})", esc(&r.request_id), name_of(&r.step))).collect::<Vec<_>>().join(", ")
    })
}
