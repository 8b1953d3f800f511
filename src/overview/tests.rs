//! The row rules, from hand-made facts: no store.

use super::*;
use crate::config::ApprovalRule;
use crate::identity::{EnvName, Owner, RepoId, TenantName};
use crate::store::{HealthState, PlanMeta, RunKind, RunRecord, RunStatus};

const NOW: &str = "2026-12-07T12:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().expect("time")
}

fn target() -> Target {
    Target {
        owner: Owner::Customer(RepoId::parse("acme/web").expect("repo")),
        env: EnvName::parse("staging").expect("env"),
    }
}

/// A run of `kind` at commit `sha` (one letter, repeated), started at `hour` on the day of
/// [`NOW`] and finished a minute later.
fn run(kind: RunKind, status: RunStatus, sha: &str, hour: u8) -> RunRecord {
    let at = format!("2026-12-07T{hour:02}:00:00Z");
    RunRecord {
        run_id: format!("{at}#{kind:?}"),
        customer: "acme/web".into(),
        environment: "staging".into(),
        sha: sha.repeat(40),
        started_at: at,
        finished_at: (status != RunStatus::Started).then(|| format!("2026-12-07T{hour:02}:01:00Z")),
        add: Some(0),
        change: Some(0),
        destroy: Some(0),
        ..RunRecord::empty(kind, status)
    }
}

fn applied_at(sha: &str, hour: u8) -> [RunRecord; 2] {
    let apply =
        RunRecord { health: Some(HealthState::Healthy), ..run(RunKind::Apply, RunStatus::Succeeded, sha, hour + 1) };
    [apply, run(RunKind::Plan, RunStatus::Succeeded, sha, hour)]
}

static TARGET: std::sync::LazyLock<Target> = std::sync::LazyLock::new(target);

fn facts(records: &[RunRecord]) -> Facts<'_> {
    Facts {
        target: &TARGET,
        expires_at: None,
        approval: None,
        records,
        latest_plan: None,
        lock: None,
        requests: &[],
        now: now(),
    }
}

fn plan_meta(sha: &str, hour: u8, add: u32) -> PlanMeta {
    PlanMeta {
        add,
        has_changes: add > 0,
        ..PlanMeta::example(&sha.repeat(40), &format!("2026-12-07T{hour:02}:00:30Z"))
    }
}

#[test]
fn an_applied_healthy_target_needs_no_look() {
    let records = applied_at("a", 1);
    let row = row(&facts(&records));
    assert_eq!(
        row.applied,
        Some(Applied {
            sha: "a".repeat(40),
            revision: crate::store::Revision::Commit,
            at: "2026-12-07T02:01:00Z".into()
        })
    );
    assert_eq!(row.latest.as_ref().map(|l| l.step), Some(Step::Healthy));
    assert_eq!(row.health.as_ref().map(|h| h.state), Some(HealthState::Healthy));
    assert_eq!((row.customer.as_str(), row.kind, row.environment.as_str()), ("acme/web", "customer", "staging"));
    assert!(row.attention.is_empty(), "{:?}", row.attention);
    assert_eq!((row.waiting, row.drift, row.expiry, row.lock, row.monthly_cost), (None, None, None, None, None));
}

#[test]
fn a_failed_latest_change_is_failing_with_its_first_line() {
    let mut records = applied_at("a", 1).to_vec();
    records.insert(
        0,
        RunRecord {
            message: Some("infra/variables.yml:1:1: not valid\nsecond line".into()),
            ..run(RunKind::Plan, RunStatus::Failed, "b", 5)
        },
    );
    let row = row(&facts(&records));
    let latest = row.latest.expect("latest");
    assert_eq!((latest.step, latest.error.as_deref()), (Step::Failed, Some("infra/variables.yml:1:1: not valid")));
    assert_eq!(latest.sha, "b".repeat(40));
    assert_eq!(row.applied.map(|a| a.sha), Some("a".repeat(40)), "what is applied is still the older commit");
    assert_eq!(row.attention, [Attention::Failing]);
}

#[test]
fn a_newer_plan_waits_and_says_who_must_approve_it() {
    let mut records = applied_at("a", 1).to_vec();
    records.insert(0, run(RunKind::Plan, RunStatus::Succeeded, "b", 5));
    let newer = plan_meta("b", 5, 3);
    let rule = ApprovalRule::Reviewers(vec!["alice".into(), "bob".into()]);
    let row = row(&Facts { latest_plan: Some(&newer), approval: Some(&rule), ..facts(&records) });
    let waiting = row.waiting.expect("waiting");
    assert_eq!((waiting.sha.as_str(), waiting.add), ("b".repeat(40).as_str(), 3));
    assert_eq!(waiting.approval.as_deref(), Some("one of alice, bob"));
    assert!(!waiting.destroys_environment);
    assert_eq!(row.attention, [Attention::AwaitingApproval]);

    // Without a rule it waits for nobody's approval.
    let row = super::row(&Facts { latest_plan: Some(&newer), ..facts(&records) });
    assert_eq!(row.waiting.map(|w| w.approval), Some(None));
    assert!(row.attention.is_empty());
}

#[test]
fn an_applied_plan_or_one_without_changes_waits_for_nothing_and_a_destroy_plan_says_so() {
    let records = applied_at("a", 1);
    let applied = plan_meta("a", 1, 3);
    assert_eq!(row(&Facts { latest_plan: Some(&applied), ..facts(&records) }).waiting, None, "applied");
    let mut records = records.to_vec();
    records.insert(0, run(RunKind::Plan, RunStatus::Succeeded, "b", 5));
    let nothing = plan_meta("b", 5, 0);
    assert_eq!(row(&Facts { latest_plan: Some(&nothing), ..facts(&records) }).waiting, None, "no changes");

    // The same commit planned again after its apply waits again.
    let again = plan_meta("a", 6, 1);
    assert!(row(&Facts { latest_plan: Some(&again), ..facts(&records) }).waiting.is_some());

    records.insert(0, run(RunKind::Destroy, RunStatus::Succeeded, "a", 7));
    let destroy = PlanMeta { destroy: 8, ..plan_meta("a", 7, 0) };
    let destroy = PlanMeta { has_changes: true, ..destroy };
    let waiting = row(&Facts { latest_plan: Some(&destroy), ..facts(&records) }).waiting.expect("waiting");
    assert!(waiting.destroys_environment, "{waiting:?}");
}

#[test]
fn drift_comes_from_the_last_check_after_the_last_apply() {
    let drifted =
        RunRecord { add: Some(1), changed_outside: Some(2), ..run(RunKind::Drift, RunStatus::Succeeded, "a", 5) };
    let in_progress = run(RunKind::Drift, RunStatus::Started, "a", 6);
    let mut records = vec![in_progress, drifted.clone()];
    records.extend(applied_at("a", 1));
    let row = row(&facts(&records));
    let drift = row.drift.expect("drift");
    assert_eq!(
        (drift.state, drift.changed_outside, drift.at.as_str()),
        (DriftState::Drifted, Some(2), "2026-12-07T05:01:00Z")
    );
    assert_eq!(row.attention, [Attention::Drifted]);

    // An apply after the check replaced what it checked.
    let mut records = applied_at("b", 7).to_vec();
    records.push(drifted);
    records.extend(applied_at("a", 1));
    assert_eq!(super::row(&facts(&records)).drift, None);

    // A check that could not run says why.
    let mut records = vec![RunRecord {
        message: Some("Error: state is locked\nmore".into()),
        ..run(RunKind::Drift, RunStatus::Failed, "a", 5)
    }];
    records.extend(applied_at("a", 1));
    let row = super::row(&facts(&records));
    assert_eq!(row.drift.and_then(|d| d.error), Some("Error: state is locked".into()));
    assert_eq!(row.attention, [Attention::DriftError]);
}

#[test]
fn health_is_the_last_check_after_an_apply() {
    let mut records = vec![RunRecord {
        health: Some(HealthState::Unhealthy),
        message: Some("applied, but unhealthy: https://x/ answered 503".into()),
        ..run(RunKind::Apply, RunStatus::Failed, "b", 6)
    }];
    records.insert(0, run(RunKind::Apply, RunStatus::Failed, "b", 7));
    records.insert(1, run(RunKind::Plan, RunStatus::Succeeded, "b", 5));
    records.extend(applied_at("a", 1));
    let row = row(&facts(&records));
    assert_eq!(row.health.map(|h| (h.state, h.at)), Some((HealthState::Unhealthy, "2026-12-07T06:01:00Z".into())));
    assert_eq!(row.attention, [Attention::Failing, Attention::Unhealthy]);
}

#[test]
fn expiry_counts_whole_days_and_warns_within_the_week() {
    let records = applied_at("a", 1);
    let at = |text: &str| Some(text.parse::<jiff::Timestamp>().expect("time"));
    let expiry = |when: &str| row(&Facts { expires_at: at(when), ..facts(&records) });
    let soon = expiry("2026-12-10T18:00:00Z");
    assert_eq!(soon.expiry.as_ref().map(|e| (e.days_left, e.expired)), Some((3, false)));
    assert_eq!(soon.attention, [Attention::Expiring]);
    let later = expiry("2027-01-06T12:00:00Z");
    assert_eq!(later.expiry.as_ref().map(|e| e.days_left), Some(30));
    assert!(later.attention.is_empty());
    let past = expiry("2026-12-06T00:00:00Z");
    assert_eq!(past.expiry.as_ref().map(|e| (e.days_left, e.expired)), Some((-2, true)));
    assert_eq!(past.attention, [Attention::Expired]);
}

#[test]
fn a_lock_held_shows_its_holder_and_age() {
    let records = applied_at("a", 1);
    let info = r#"{"ID":"l-1","Operation":"OperationTypeApply","Who":"runner@host","Version":"1.11.4","Created":"2026-12-07T11:45:00Z","Path":"x"}"#;
    let lock = LockInfo::from_terraform("x", target(), info);
    let row = row(&Facts { lock: Some(&lock), ..facts(&records) });
    let held = row.lock.expect("lock");
    assert_eq!(
        (held.who.as_str(), held.operation.as_str(), held.age_seconds),
        ("runner@host", "OperationTypeApply", Some(900))
    );
    assert_eq!(row.attention, [Attention::Locked]);
}

#[test]
fn only_requests_still_under_way_are_open_and_the_cost_is_what_was_applied() {
    let mut records = applied_at("a", 1).to_vec();
    records[1].governance.cost_after_cents = Some(1_250);
    let request = |id: &str, step: Step| RequestHere { request_id: id.into(), requested_at: NOW.into(), step };
    let requests = [
        request("r-3", Step::Planned),
        request("r-2", Step::Requested),
        request("r-1", Step::Applied),
        request("r-0", Step::Superseded),
    ];
    let tenant = Target { owner: Owner::Tenant(TenantName::parse("billing").expect("name")), ..target() };
    let row = row(&Facts { target: &tenant, requests: &requests, ..facts(&records) });
    let open: Vec<&str> = row.requests.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(open, ["r-3", "r-2"]);
    assert_eq!((row.customer.as_str(), row.kind), ("tenants/billing", "tenant"));
    assert_eq!(row.monthly_cost, Some(12.5));
}

#[test]
fn the_counts_say_what_needs_a_look_in_one_sentence() {
    let records = applied_at("a", 1);
    let quiet = row(&facts(&records));
    assert_eq!(Counts::of(std::slice::from_ref(&quiet)).sentence(), "1 target: nothing needs a look.");
    let newer = plan_meta("b", 5, 3);
    let rule = ApprovalRule::Reviewers(vec!["alice".into()]);
    let waiting = row(&Facts { latest_plan: Some(&newer), approval: Some(&rule), ..facts(&records) });
    let mut failing = quiet.clone();
    failing.attention = vec![Attention::Failing, Attention::Locked];
    let counts = Counts::of(&[quiet, waiting, failing]);
    assert_eq!(
        (counts.targets, counts.failing, counts.locked, counts.waiting, counts.awaiting_approval),
        (3, 1, 1, 1, 1)
    );
    assert_eq!(counts.sentence(), "3 targets: 1 failing, 1 locked, 1 plan waiting (1 awaiting approval).");
}

/// Every renderer shows the same rows: the text table for people, the Markdown of the job
/// summary; text from a store or a lock is a code span in Markdown whatever it holds.
#[test]
fn the_text_and_the_markdown_render_the_same_rows() {
    let healthy = applied_at("a", 1);
    let mut failing = applied_at("a", 1).to_vec();
    failing.insert(
        0,
        RunRecord {
            message: Some("Error: `x` | <!-- y --> # z".into()),
            ..run(RunKind::Plan, RunStatus::Failed, "b", 5)
        },
    );
    let info = r#"{"ID":"l-1","Operation":"OperationTypeApply","Who":"eve|`@host","Created":"2026-12-07T11:45:00Z"}"#;
    let lock = LockInfo::from_terraform("x", target(), info);
    let newer = plan_meta("c", 5, 2);
    let rule = ApprovalRule::Reviewers(vec!["alice".into()]);
    let tenant = Target { owner: Owner::Tenant(TenantName::parse("billing").expect("name")), ..target() };
    let requests = [RequestHere { request_id: "req-7".into(), requested_at: NOW.into(), step: Step::Planned }];
    let expires = "2026-12-09T12:00:00Z".parse().ok();
    let rows = vec![
        row(&facts(&healthy)),
        row(&Facts { lock: Some(&lock), latest_plan: Some(&newer), approval: Some(&rule), ..facts(&failing) }),
        row(&Facts { target: &tenant, requests: &requests, expires_at: expires, ..facts(&healthy) }),
    ];
    let report = crate::commands::overview::report(rows);
    insta::assert_snapshot!("text", report.to_string());
    let markdown = report.0.to_string();
    let error = crate::report::markdown::code("Error: `x` | <!-- y --> # z");
    assert!(markdown.contains(&format!("❌ failed: {error} |")), "{markdown}");
    assert!(markdown.contains(&crate::report::markdown::code("eve|`@host")), "{markdown}");
    insta::assert_snapshot!("markdown", markdown);
}
