//! `audit`: every apply and destroy of the fleet, from the run records, oldest first: its
//! target, commit, plan digest, counts, requester, approver, policy results and time.
//! `--json` prints one JSON object a line (JSON Lines), for a log pipeline.
//!
//! The owners are the fleet's (registered customers, the manager checkout's tenant files):
//! an owner taken off the registry keeps its records, read with `history`.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::AuditArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::fleet::{self, Filter};
use crate::report::prefix;
use crate::store::{RunKind, RunRecord};

/// One audited run.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// When it started (RFC 3339).
    pub time: String,
    pub finished_at: Option<String>,
    /// `apply` or `destroy` (a destroy's plan; its apply is an `apply`).
    pub kind: RunKind,
    /// The owner: `owner/repo`, or `tenants/<name>`.
    pub target: String,
    pub environment: String,
    pub commit: String,
    pub plan_sha256: Option<String>,
    pub status: crate::store::RunStatus,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    /// The author of the pull request merged as the commit.
    pub requester: Option<String>,
    pub approver: Option<String>,
    pub approval_source: Option<String>,
    pub break_glass_reason: Option<String>,
    /// What the policies said of the plan applied (its own record's, else the plan's).
    pub policy_denies: Vec<crate::store::governance::PolicyMessage>,
    pub policy_warnings: Vec<crate::store::governance::PolicyMessage>,
    pub run_url: Option<String>,
}

impl Entry {
    fn of(record: RunRecord) -> Self {
        let g = record.governance;
        Self {
            time: record.started_at,
            finished_at: record.finished_at,
            kind: record.kind,
            target: record.customer,
            environment: record.environment,
            commit: record.sha,
            plan_sha256: g.plan_sha256,
            status: record.status,
            add: record.add,
            change: record.change,
            destroy: record.destroy,
            requester: g.requester,
            approver: g.approver,
            approval_source: g.approval_source,
            break_glass_reason: g.break_glass_reason,
            policy_denies: g.policy_denies,
            policy_warnings: g.policy_warnings,
            run_url: record.run_url,
        }
    }
}

/// The audited runs; printed as text, or as JSON Lines with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub entries: Vec<Entry>,
    #[serde(skip)]
    json_lines: bool,
}

impl Outcome for Audit {
    const ENVELOPE: bool = false;
}

/// `--since`: a date (`2026-12-01`, midnight UTC) or a timestamp.
fn since(text: &str) -> Result<jiff::Timestamp, CommandError> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            CommandError::usage(
                format!("`--since` `{}` is not a date", crate::diagnostic::shown(text)),
                "write a date such as `2026-12-01` (midnight UTC) or a timestamp such as `2026-12-01T09:00:00Z`",
            )
        })
}

pub async fn run(ctx: &Context<'_>, args: &AuditArgs, json_lines: bool) -> Result<Audit, CommandError> {
    let since = args.since.as_deref().map(since).transpose()?;
    let config = ctx.config().await?;
    let manager = ctx.manager_repo(&args.repo.repo);
    let selection = fleet::select(config, &manager, Filter::default()).await?;
    let mut owners: Vec<_> = selection.targets().into_iter().map(|t| t.owner).collect();
    owners.dedup();
    owners.sort_by_key(ToString::to_string);
    owners.dedup();
    let store = ctx.store().await?;
    let mut entries = Vec::new();
    for owner in owners {
        let history = store.history(&owner, None).await?;
        // The policy results of each commit's plan, for applies whose record has none.
        let mut plan_policy: std::collections::HashMap<(String, String), &crate::store::Governance> =
            std::collections::HashMap::new();
        for record in history.iter().rev().filter(|r| matches!(r.kind, RunKind::Plan | RunKind::Destroy)) {
            plan_policy.insert((record.environment.clone(), record.sha.clone()), &record.governance);
        }
        for record in history.iter().cloned() {
            if !matches!(record.kind, RunKind::Apply | RunKind::Destroy) {
                continue;
            }
            let planned = plan_policy.get(&(record.environment.clone(), record.sha.clone())).copied();
            let started = record.started_at.parse::<jiff::Timestamp>().ok();
            if since.is_some_and(|s| started.is_none_or(|t| t < s)) {
                continue;
            }
            let mut entry = Entry::of(record);
            if entry.policy_denies.is_empty()
                && entry.policy_warnings.is_empty()
                && let Some(planned) = planned
            {
                entry.policy_denies.clone_from(&planned.policy_denies);
                entry.policy_warnings.clone_from(&planned.policy_warnings);
            }
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(Audit { entries, json_lines })
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            if self.json_lines {
                writeln!(f, "{}", serde_json::to_string(entry).map_err(|_| fmt::Error)?)?;
            } else {
                writeln!(f, "{}", line(entry))?;
            }
        }
        Ok(())
    }
}

fn line(e: &Entry) -> String {
    let n = |v: Option<u32>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
    let who = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), crate::diagnostic::shown);
    let mut out = format!(
        "{}  {:<7}  {} {}  {}  plan {}  +{} ~{} -{}  {}  requested by {}  approved by {}",
        e.time,
        crate::report::name_of(&e.kind),
        e.target,
        e.environment,
        prefix(&e.commit, 7),
        e.plan_sha256.as_deref().map_or("-", |d| prefix(d, 12)),
        n(e.add),
        n(e.change),
        n(e.destroy),
        crate::report::name_of(&e.status),
        who(&e.requester),
        who(&e.approver),
    );
    if !e.policy_warnings.is_empty() || !e.policy_denies.is_empty() {
        out.push_str(&format!("  policy: {} deny, {} warn", e.policy_denies.len(), e.policy_warnings.len()));
    }
    if let Some(reason) = &e.break_glass_reason {
        out.push_str(&format!("  break glass: {}", crate::diagnostic::shown(reason)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_at_midnight_utc_or_a_timestamp_and_refuses_anything_else() {
        assert_eq!(since("2026-12-01").expect("date").to_string(), "2026-12-01T00:00:00Z");
        assert_eq!(since("2026-12-01T09:30:00Z").expect("time").to_string(), "2026-12-01T09:30:00Z");
        let error = since("last tuesday").expect_err("refused");
        assert!(error.to_string().contains("`--since` `last tuesday` is not a date"), "{error}");
    }

    #[test]
    fn a_text_line_names_who_asked_and_who_approved_and_escapes_them() {
        let mut record = RunRecord::started(
            RunKind::Apply,
            &crate::identity::Target {
                owner: crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/web").expect("repo")),
                env: crate::identity::EnvName::parse("production").expect("env"),
            },
            &crate::identity::Sha::parse(&"1".repeat(40)).expect("sha"),
            None,
            None,
        );
        record.governance.approver = Some("alice".into());
        record.governance.requester = Some("paula".into());
        record.governance.break_glass_reason = Some("outage\n::error::x".into());
        let text = Audit { entries: vec![Entry::of(record)], json_lines: false }.to_string();
        assert!(text.contains("acme/web production  1111111"), "{text}");
        assert!(text.contains("requested by paula  approved by alice  break glass: "), "{text}");
        assert_eq!(text.lines().count(), 1, "the reason can't start a line: {text}");
    }
}
