//! The fleet at a glance (`overview`): one row per target (customers and tenants alike) ×
//! environment, saying what a platform team asks first — what is applied and since when,
//! what waits to be applied (and whether it needs approval), drift, health, expiry, a lock
//! held, the monthly cost and the provisioning requests still under way.
//!
//! A row is made by one pure function, [`row`], from what the store says about the target
//! ([`Facts`]), so its rules are tested without a store; [`read`] gathers those facts with
//! one read of each kind per target, and [`text`] writes the table for people (the
//! Markdown of the job summary is the fleet report's, `commands/overview.rs`). Every
//! renderer of the fleet (the text, the Markdown, a status page) renders these rows.

pub mod cells;
pub mod read;
pub mod text;

use serde::Serialize;

use crate::config::ApprovalRule;
use crate::identity::Target;
use crate::pipeline::drift::DriftState;
use crate::status::{Step, of_target};
use crate::store::s3::LockInfo;
use crate::store::{HealthState, PlanMeta, RunKind, RunRecord, RunStatus};

/// One target's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The owner as people know it (`acme/web`, `tenants/billing`).
    pub customer: String,
    /// `customer` or `tenant`.
    pub kind: &'static str,
    pub environment: String,
    /// The commit last applied, and when.
    pub applied: Option<Applied>,
    /// Where the latest change is (`status`'s steps): its last step, and why it failed.
    pub latest: Option<Latest>,
    /// A stored plan newer than what was applied, waiting to be applied.
    pub waiting: Option<Waiting>,
    /// What the last drift check found, unless an apply came after it (it then checked a
    /// configuration that is no longer the applied one).
    pub drift: Option<Drift>,
    /// The last health check after an apply.
    pub health: Option<Health>,
    pub expiry: Option<Expiry>,
    /// The Terraform state lock held on the target, if any.
    pub lock: Option<Lock>,
    /// The monthly cost of what was last applied, by the catalog's prices (none when not
    /// priced).
    pub monthly_cost: Option<f64>,
    /// Provisioning requests for the target that have not ended, newest first.
    pub requests: Vec<OpenRequest>,
    /// What needs a look, most urgent first; empty when nothing does.
    pub attention: Vec<Attention>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub sha: String,
    /// What `sha` is: a commit, or a local file's digest.
    #[serde(skip_serializing_if = "crate::store::Revision::is_commit")]
    pub revision: crate::store::Revision,
    /// When the apply finished (RFC 3339).
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Latest {
    pub step: Step,
    pub sha: String,
    /// When it reached that step.
    pub at: String,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub sha: String,
    pub created_at: String,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    /// A destroy plan (offboarding, expiry): applying it ends the environment.
    pub destroys_environment: bool,
    /// Who must approve its apply (`environments.<env>.approval`); `None` when nobody must.
    pub approval: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub state: DriftState,
    /// When the check finished.
    pub at: String,
    /// Resources changed outside Terraform (on records that keep it).
    pub changed_outside: Option<u32>,
    /// Why the check failed.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub state: HealthState,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub at: String,
    /// Whole days left (negative once past).
    pub days_left: i64,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// `user@host` of the holder.
    pub who: String,
    /// `OperationTypeApply`, …
    pub operation: String,
    /// Terraform's lock ID.
    pub id: String,
    pub since: Option<String>,
    /// How long it has been held, in seconds.
    pub age_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenRequest {
    pub request_id: String,
    pub requested_at: String,
    /// Where its change is in this environment (`requests list`'s steps).
    pub step: Step,
}

/// What needs a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attention {
    /// The latest change failed.
    Failing,
    /// The last health check after an apply failed.
    Unhealthy,
    Drifted,
    /// The last drift check could not run.
    DriftError,
    Expired,
    /// Expires within the week plan comments warn in.
    Expiring,
    Locked,
    /// A plan waits for an approval before it can be applied.
    AwaitingApproval,
}

/// A provisioning request for the target, and where its change is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHere {
    pub request_id: String,
    pub requested_at: String,
    pub step: Step,
}

/// What the store (and the registry) say about one target: everything [`row`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub target: &'a Target,
    /// When it expires (the registry or its file).
    pub expires_at: Option<jiff::Timestamp>,
    /// `environments.<env>.approval`.
    pub approval: Option<&'a ApprovalRule>,
    /// The target's run records, newest first.
    pub records: &'a [RunRecord],
    /// The plan the store's latest pointer names: the one an apply would take.
    pub latest_plan: Option<&'a PlanMeta>,
    pub lock: Option<&'a LockInfo>,
    /// The recent provisioning requests for the target, with where each is here.
    pub requests: &'a [RequestHere],
    pub now: jiff::Timestamp,
}

/// The longest error text a row keeps (one line).
const ERROR_CHARS: usize = 200;

/// The row of one target. Pure: the facts come in, the row goes out.
pub fn row(facts: &Facts<'_>) -> Row {
    let records = facts.records;
    let last_apply = records.iter().find(|r| r.kind == RunKind::Apply && r.status == RunStatus::Succeeded);
    let applied = last_apply.map(|r| Applied { sha: r.sha.clone(), revision: r.revision, at: finished(r).to_owned() });
    let latest = of_target(records).map(|s| Latest {
        step: s.current,
        at: s.steps.last().map(|s| s.at.clone()).unwrap_or_default(),
        sha: s.sha,
        error: s.error.as_deref().map(one_line),
    });
    let waiting = facts.latest_plan.filter(|p| p.has_changes && !applied_since(records, p)).map(|p| Waiting {
        sha: p.sha.clone(),
        created_at: p.created_at.clone(),
        add: p.add,
        change: p.change,
        destroy: p.destroy,
        destroys_environment: records.iter().any(|r| r.kind == RunKind::Destroy && r.sha == p.sha),
        approval: facts.approval.map(ApprovalRule::who),
    });
    let drift = records
        .iter()
        .find_map(|r| DriftState::of_record(r).map(|state| (r, state)))
        .filter(|(r, _)| last_apply.is_none_or(|a| instant(&r.started_at) >= instant(&a.started_at)))
        .map(|(r, state)| Drift {
            state,
            at: finished(r).to_owned(),
            changed_outside: r.changed_outside,
            error: (state == DriftState::Error).then(|| one_line(r.message.as_deref().unwrap_or("error"))),
        });
    // The newest apply that reached its health check (one that succeeded, or failed it).
    let health = records
        .iter()
        .find(|r| r.kind == RunKind::Apply && (r.status == RunStatus::Succeeded || r.health.is_some()))
        .and_then(|r| r.health.map(|state| Health { state, at: finished(r).to_owned() }));
    let expiry = facts.expires_at.map(|at| {
        let left = at.as_second() - facts.now.as_second();
        Expiry { at: at.to_string(), days_left: left.div_euclid(DAY_SECONDS), expired: left <= 0 }
    });
    let lock = facts.lock.map(|l| Lock {
        who: l.who.clone(),
        operation: l.operation.clone(),
        id: l.id.clone(),
        since: l.created.map(|t| t.to_string()),
        age_seconds: l.age(facts.now).map(|age| age.as_secs()),
    });
    let requests: Vec<OpenRequest> = facts
        .requests
        .iter()
        .filter(|r| matches!(r.step, Step::Requested | Step::Validated | Step::Planned | Step::Applying))
        .map(|r| OpenRequest { request_id: r.request_id.clone(), requested_at: r.requested_at.clone(), step: r.step })
        .collect();
    let expiring = facts.expires_at.and_then(|at| crate::report::comment::Warning::expiry(at, facts.now)).is_some();
    let attention = [
        (Attention::Failing, latest.as_ref().is_some_and(|l| l.step == Step::Failed)),
        (Attention::Unhealthy, health.as_ref().is_some_and(|h| h.state == HealthState::Unhealthy)),
        (Attention::Drifted, drift.as_ref().is_some_and(|d| d.state == DriftState::Drifted)),
        (Attention::DriftError, drift.as_ref().is_some_and(|d| d.state == DriftState::Error)),
        (Attention::Expired, expiry.as_ref().is_some_and(|e| e.expired)),
        (Attention::Expiring, expiring && expiry.as_ref().is_some_and(|e| !e.expired)),
        (Attention::Locked, lock.is_some()),
        (Attention::AwaitingApproval, waiting.as_ref().is_some_and(|w| w.approval.is_some())),
    ]
    .into_iter()
    .filter_map(|(what, yes)| yes.then_some(what))
    .collect();
    Row {
        customer: facts.target.owner.to_string(),
        kind: facts.target.owner.kind(),
        environment: facts.target.env.to_string(),
        applied,
        latest,
        waiting,
        drift,
        health,
        expiry,
        lock,
        monthly_cost: crate::cost::applied(records).map(crate::cost::Cents::units),
        requests,
        attention,
    }
}

const DAY_SECONDS: i64 = 24 * 3600;

/// When a run ended (when it started, if it has not).
fn finished(record: &RunRecord) -> &str {
    record.finished_at.as_deref().unwrap_or(&record.started_at)
}

/// A record's time as an instant; an unreadable one is the earliest.
fn instant(at: &str) -> Option<jiff::Timestamp> {
    at.parse().ok()
}

/// Whether `plan` was applied: a successful apply of its commit started after it was made.
fn applied_since(records: &[RunRecord], plan: &PlanMeta) -> bool {
    let made = instant(&plan.created_at);
    records.iter().any(|r| {
        r.kind == RunKind::Apply
            && r.status == RunStatus::Succeeded
            && r.sha == plan.sha
            && instant(&r.started_at) >= made
    })
}

/// The first line of `text`, cut to [`ERROR_CHARS`].
fn one_line(text: &str) -> String {
    crate::report::truncate_chars(text.lines().next().unwrap_or_default(), ERROR_CHARS)
}

/// The fleet's counts: how many targets, and how many need each kind of look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub targets: usize,
    pub failing: usize,
    pub drifted: usize,
    /// Expired or expiring within the week.
    pub expiring: usize,
    pub locked: usize,
    pub waiting: usize,
    pub awaiting_approval: usize,
}

impl Counts {
    pub fn of(rows: &[Row]) -> Self {
        let with = |a: Attention| rows.iter().filter(|r| r.attention.contains(&a)).count();
        Self {
            targets: rows.len(),
            failing: with(Attention::Failing),
            drifted: with(Attention::Drifted),
            expiring: rows
                .iter()
                .filter(|r| r.attention.iter().any(|a| matches!(a, Attention::Expired | Attention::Expiring)))
                .count(),
            locked: with(Attention::Locked),
            waiting: rows.iter().filter(|r| r.waiting.is_some()).count(),
            awaiting_approval: with(Attention::AwaitingApproval),
        }
    }

    /// `6 targets: 1 failing, 1 drifted, 1 expiring, 1 locked, 2 plans waiting (1 for approval).`
    pub fn sentence(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.failing, "failing"),
            (self.drifted, "drifted"),
            (self.expiring, "expiring or expired"),
            (self.locked, "locked"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if self.waiting > 0 {
            let plans = if self.waiting == 1 { "plan" } else { "plans" };
            let approval = match self.awaiting_approval {
                0 => String::new(),
                n => format!(" ({n} awaiting approval)"),
            };
            parts.push(format!("{} {plans} waiting{approval}", self.waiting));
        }
        let targets = if self.targets == 1 { "target" } else { "targets" };
        match parts.is_empty() {
            true => format!("{} {targets}: nothing needs a look.", self.targets),
            false => format!("{} {targets}: {}.", self.targets, parts.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests;
