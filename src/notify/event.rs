//! What is worth a notification: a target's state changing, decided from its run records
//! alone. [`transitions`] takes the records before a run and the run's own, and gives the
//! events of that change: drifted after in sync, in sync after drifted, an apply failing
//! after one that did not, and so on. The same state again is no event, so a webhook hears
//! of a drift once, not on every scheduled run. Pure: records in, events out.

use serde::{Deserialize, Serialize};

use crate::store::{HealthState, RunKind, RunRecord, RunStatus};

/// The kinds of event a webhook may ask for (`notify.webhooks[].events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A drift check found drift after one that did not (or after none).
    Drifted,
    /// A drift check found none after one that did.
    BackInSync,
    /// An apply failed (not for its health) after one that did not.
    ApplyFailed,
    /// An apply went through but its health check failed, after one that did not.
    Unhealthy,
    /// The environment's expiry came within [`EXPIRING_WITHIN_DAYS`] days since its previous run.
    Expiring,
    /// A tenant apply carried out a provisioning request.
    RequestApplied,
    /// A tenant apply carrying a provisioning request failed, for the first time.
    RequestFailed,
    /// A plan or apply was denied by a policy after one that was not.
    PolicyDenied,
}

impl EventKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Self; 8] = [
        Self::Drifted,
        Self::BackInSync,
        Self::ApplyFailed,
        Self::Unhealthy,
        Self::Expiring,
        Self::RequestApplied,
        Self::RequestFailed,
        Self::PolicyDenied,
    ];

    /// As written in `infra-manager.yml` and in payloads: `back-in-sync`.
    pub fn name(self) -> String {
        crate::report::name_of(&self)
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How close an expiry must be for [`EventKind::Expiring`]: the week plan comments warn in.
pub const EXPIRING_WITHIN_DAYS: i64 = 7;

/// One event of a run: its kind, and one line saying what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// `drifted: 1 changed outside Terraform; …`, `expires 2026-12-31T00:00:00Z (in 5 days)`.
    pub summary: String,
    /// The provisioning request, for the request events.
    pub request: Option<String>,
}

/// A provisioning request a tenant apply carried out, and whether an earlier apply since
/// the last successful one had carried it and failed (its failure was told then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub request: String,
    pub failed_before: bool,
}

/// What is known of the run beyond its records.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// When the target expires (the registry's or its file's), if it does.
    pub expires_at: Option<jiff::Timestamp>,
    /// For a tenant apply: the requests it carried out.
    pub carried: Vec<Carried>,
}

/// The events of run `now`, given the target environment's records `before` it (newest
/// first, `now` not among them).
pub fn transitions(before: &[RunRecord], now: &RunRecord, context: &Context) -> Vec<Event> {
    let mut events = Vec::new();
    let mut push = |kind, summary: String| events.push(Event { kind, summary, request: None });
    let finished = |r: &&RunRecord| matches!(r.status, RunStatus::Succeeded | RunStatus::Failed);
    let summary = || now.message.clone().unwrap_or_default();
    match (now.kind, now.status) {
        (RunKind::Drift, RunStatus::Succeeded) => {
            // Only drift checks that said either way count: a failed check says neither.
            let previous = before.iter().filter(|r| r.kind == RunKind::Drift).find_map(|r| r.drifted);
            match (now.drifted, previous) {
                (Some(true), None | Some(false)) => push(EventKind::Drifted, summary()),
                (Some(false), Some(true)) => push(EventKind::BackInSync, summary()),
                _ => {}
            }
        }
        (RunKind::Apply, RunStatus::Failed) => {
            let previous = before.iter().filter(|r| r.kind == RunKind::Apply).find(finished);
            if now.health == Some(HealthState::Unhealthy) {
                if previous.is_none_or(|p| p.health != Some(HealthState::Unhealthy)) {
                    push(EventKind::Unhealthy, summary());
                }
            } else if previous.is_none_or(|p| !failed_to_apply(p)) && !denied(now) {
                push(EventKind::ApplyFailed, summary());
            }
        }
        _ => {}
    }
    if denied(now) {
        let previous = before.iter().filter(|r| r.kind == now.kind).find(finished);
        if previous.is_none_or(|p| !denied(p)) {
            let rules: Vec<String> = now.governance.policy_denies.iter().map(|m| m.line()).collect();
            push(EventKind::PolicyDenied, rules.join("; "));
        }
    }
    if let Some(at) = context.expires_at
        && let Some(summary) = expiring(at, before.first(), now)
    {
        push(EventKind::Expiring, summary);
    }
    if now.kind == RunKind::Apply {
        for carried in &context.carried {
            let kind = match now.status {
                RunStatus::Succeeded => EventKind::RequestApplied,
                RunStatus::Failed if !carried.failed_before => EventKind::RequestFailed,
                _ => continue,
            };
            events.push(Event { kind, summary: summary(), request: Some(carried.request.clone()) });
        }
    }
    events
}

/// An apply that failed to apply (a health failure is told as [`EventKind::Unhealthy`]).
fn failed_to_apply(record: &RunRecord) -> bool {
    record.status == RunStatus::Failed && record.health != Some(HealthState::Unhealthy)
}

fn denied(record: &RunRecord) -> bool {
    !record.governance.policy_denies.is_empty()
}

/// `Some(summary)` when the expiry `at` came within [`EXPIRING_WITHIN_DAYS`] days between
/// the previous run (`previous`, any kind) and `now`: once, at the first run in that week.
fn expiring(at: jiff::Timestamp, previous: Option<&RunRecord>, now: &RunRecord) -> Option<String> {
    let started = |r: &RunRecord| r.started_at.parse::<jiff::Timestamp>().ok();
    let now_at = started(now)?;
    let from = at.checked_sub(jiff::SignedDuration::from_hours(24 * EXPIRING_WITHIN_DAYS)).ok()?;
    let within = |t: jiff::Timestamp| t >= from && t < at;
    if !within(now_at) || previous.and_then(started).is_some_and(|p| p >= from) {
        return None;
    }
    let hours = at.duration_since(now_at).as_hours();
    let left = match hours / 24 {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        days => format!("in {days} days"),
    };
    Some(format!("expires {at} ({left})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::governance::PolicyMessage;

    fn record(kind: RunKind, status: RunStatus, started_at: &str) -> RunRecord {
        RunRecord {
            run_id: format!("{started_at}#1"),
            customer: "acme/web".into(),
            environment: "staging".into(),
            started_at: started_at.into(),
            message: Some(format!("{kind:?} {status:?}")),
            ..RunRecord::empty(kind, status)
        }
    }

    fn drift(drifted: Option<bool>, at: &str) -> RunRecord {
        RunRecord { drifted, ..record(RunKind::Drift, RunStatus::Succeeded, at) }
    }

    fn kinds(before: &[RunRecord], now: &RunRecord) -> Vec<EventKind> {
        transitions(before, now, &Context::default()).into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn drift_is_told_when_it_starts_and_when_it_ends_not_on_every_check() {
        let t = |n: u32| format!("2026-01-0{n}T00:00:00Z");
        let (synced, drifted) = (|n| drift(Some(false), &t(n)), |n| drift(Some(true), &t(n)));
        // The scenario of the issue: in sync, drifted, still drifted, back in sync.
        let runs = [synced(1), drifted(2), drifted(3), synced(4)];
        let mut told = Vec::new();
        for i in 0..runs.len() {
            let before: Vec<RunRecord> = runs[..i].iter().rev().cloned().collect();
            told.push(kinds(&before, &runs[i]));
        }
        assert_eq!(told, [vec![], vec![EventKind::Drifted], vec![], vec![EventKind::BackInSync]]);
        // The first check ever: drift is news, being in sync is not.
        assert_eq!(kinds(&[], &drifted(1)), [EventKind::Drifted]);
        assert_eq!(kinds(&[], &synced(1)), []);
        // A failed check, or one recorded before drift was kept, says neither: the one before counts.
        let failed = RunRecord { drifted: None, ..record(RunKind::Drift, RunStatus::Failed, &t(3)) };
        assert_eq!(kinds(&[failed.clone(), drifted(2)], &drifted(4)), []);
        assert_eq!(kinds(&[drift(None, &t(3)), drifted(2)], &synced(4)), [EventKind::BackInSync]);
        assert_eq!(kinds(&[drifted(2)], &failed), [], "a failed check is no drift news");
        // Other runs between the checks change nothing.
        let apply = record(RunKind::Apply, RunStatus::Succeeded, &t(3));
        assert_eq!(kinds(&[apply, drifted(2)], &drifted(4)), []);
    }

    #[test]
    fn a_failing_apply_is_told_once_and_health_apart() {
        let at = |n: u32| format!("2026-01-0{n}T00:00:00Z");
        let ok = |n| record(RunKind::Apply, RunStatus::Succeeded, &at(n));
        let failed = |n| record(RunKind::Apply, RunStatus::Failed, &at(n));
        let unhealthy = |n| RunRecord { health: Some(HealthState::Unhealthy), ..failed(n) };
        assert_eq!(kinds(&[ok(1)], &failed(2)), [EventKind::ApplyFailed]);
        assert_eq!(kinds(&[], &failed(2)), [EventKind::ApplyFailed]);
        assert_eq!(kinds(&[failed(2), ok(1)], &failed(3)), [], "still failing");
        assert_eq!(kinds(&[ok(3), failed(2)], &failed(4)), [EventKind::ApplyFailed], "failing again");
        // A cancelled or abandoned run between says nothing either way.
        let cancelled = record(RunKind::Apply, RunStatus::Cancelled, &at(3));
        assert_eq!(kinds(&[cancelled, failed(2)], &failed(4)), []);
        // An unhealthy service is its own event, told once.
        assert_eq!(kinds(&[ok(1)], &unhealthy(2)), [EventKind::Unhealthy]);
        assert_eq!(kinds(&[unhealthy(2), ok(1)], &unhealthy(3)), []);
        assert_eq!(kinds(&[unhealthy(2)], &failed(3)), [EventKind::ApplyFailed]);
        assert_eq!(kinds(&[failed(2)], &unhealthy(3)), [EventKind::Unhealthy]);
        // A success is no event.
        assert_eq!(kinds(&[failed(1)], &ok(2)), []);
    }

    #[test]
    fn a_policy_denial_is_told_when_it_starts_with_the_rules_that_denied() {
        let deny = |kind, at: &str| {
            let mut r = record(kind, RunStatus::Failed, at);
            r.governance.policy_denies = vec![PolicyMessage {
                policy: "size.rego".into(),
                rule: "deny".into(),
                msg: "too big".into(),
                component: Some("db".into()),
            }];
            r
        };
        let plan = deny(RunKind::Plan, "2026-01-02T00:00:00Z");
        let events = transitions(&[], &plan, &Context::default());
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].kind, events[0].summary.as_str()), (EventKind::PolicyDenied, "size.rego: db: too big"));
        assert_eq!(kinds(&[deny(RunKind::Plan, "2026-01-01T00:00:00Z")], &plan), []);
        let passed = record(RunKind::Plan, RunStatus::Succeeded, "2026-01-01T00:00:00Z");
        assert_eq!(kinds(&[passed], &plan), [EventKind::PolicyDenied]);
        // A denied apply is a denial, not a failure to apply.
        assert_eq!(kinds(&[], &deny(RunKind::Apply, "2026-01-02T00:00:00Z")), [EventKind::PolicyDenied]);
    }

    #[test]
    fn expiry_is_told_by_the_first_run_of_its_last_week() {
        let expires: jiff::Timestamp = "2026-12-31T00:00:00Z".parse().expect("time");
        let context = Context { expires_at: Some(expires), carried: Vec::new() };
        let at = |t: &str| drift(Some(false), t);
        let told = |before: &[RunRecord], now: &RunRecord| {
            transitions(before, now, &context).into_iter().map(|e| (e.kind, e.summary)).collect::<Vec<_>>()
        };
        let first = at("2026-12-26T06:00:00Z");
        assert_eq!(
            told(&[at("2026-12-23T06:00:00Z")], &first),
            [(EventKind::Expiring, "expires 2026-12-31T00:00:00Z (in 4 days)".to_owned())]
        );
        assert_eq!(told(std::slice::from_ref(&first), &at("2026-12-27T06:00:00Z")), [], "told already");
        assert_eq!(told(&[], &at("2026-12-30T12:00:00Z")).len(), 1, "the first run ever, in the week");
        assert_eq!(told(&[], &at("2026-12-30T12:00:00Z"))[0].1, "expires 2026-12-31T00:00:00Z (today)");
        assert_eq!(told(&[], &at("2026-12-20T00:00:00Z")), [], "not yet");
        assert_eq!(told(&[], &at("2027-01-02T00:00:00Z")), [], "expired: reap says so");
    }

    #[test]
    fn a_request_is_told_applied_or_failed_once() {
        let carried = |failed_before| Context {
            expires_at: None,
            carried: vec![Carried { request: "r-1".into(), failed_before }],
        };
        let told = |status, context: &Context| {
            let now = record(RunKind::Apply, status, "2026-01-02T00:00:00Z");
            transitions(&[], &now, context).into_iter().map(|e| (e.kind, e.request)).collect::<Vec<_>>()
        };
        let r1 = Some("r-1".to_owned());
        assert_eq!(told(RunStatus::Succeeded, &carried(false)), [(EventKind::RequestApplied, r1.clone())]);
        assert_eq!(told(RunStatus::Succeeded, &carried(true)), [(EventKind::RequestApplied, r1.clone())]);
        assert_eq!(
            told(RunStatus::Failed, &carried(false)),
            [(EventKind::ApplyFailed, None), (EventKind::RequestFailed, r1)]
        );
        assert_eq!(told(RunStatus::Failed, &carried(true)), [(EventKind::ApplyFailed, None)]);
        assert_eq!(told(RunStatus::Cancelled, &carried(false)), []);
    }

    #[test]
    fn kinds_are_named_as_the_config_writes_them() {
        let names: Vec<String> = EventKind::ALL.into_iter().map(EventKind::name).collect();
        assert_eq!(
            names,
            [
                "drifted",
                "back-in-sync",
                "apply-failed",
                "unhealthy",
                "expiring",
                "request-applied",
                "request-failed",
                "policy-denied"
            ]
        );
        assert_eq!(EventKind::parse("back-in-sync"), Some(EventKind::BackInSync));
        assert_eq!(EventKind::parse("drift"), None);
    }
}
