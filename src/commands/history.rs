//! `history`: a customer's runs from the records table (or the local store), newest first.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::Outcome;
use crate::cli::{HistoryArgs, OwnerArgs};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner, RepoId};
use crate::output;
use crate::report::name_of;
use crate::store::{RunKind, RunRecord, RunStatus};

/// A customer's runs, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub customer: String,
    /// The environment asked for, or `null` for all.
    pub environment: Option<String>,
    /// Newest first.
    pub runs: Vec<Run>,
}

/// One run, and whether it was abandoned: still `started` long after any live run ends.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub record: RunRecord,
    pub abandoned: bool,
}

impl Outcome for History {}

/// The customer or tenant `--customer` / `--tenant` names, checked.
pub fn owner(args: &OwnerArgs) -> Result<Owner, CommandError> {
    owner_of(args.customer.as_deref(), args.tenant.as_deref())
}

/// The customer `owner/repo`, or the tenant when one is named.
pub fn owner_of(customer: Option<&str>, tenant: Option<&str>) -> Result<Owner, CommandError> {
    match tenant {
        Some(tenant) => Ok(Owner::Tenant(super::target::tenant_name(tenant)?)),
        None => {
            RepoId::parse(customer.unwrap_or_default()).map(Owner::Customer).map_err(|e| CommandError::bad_customer(&e))
        }
    }
}

pub async fn run(ctx: &Context<'_>, args: &HistoryArgs) -> Result<History, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let owner = owner(&args.owner)?;
    let customer = owner.to_string();
    let env_name = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let env = env_name.as_ref().map(EnvName::as_str);
    let abandoned_after = ctx.config().await?.abandoned_after();
    let mut runs = ctx.store().await?.history(&owner, env_name.as_ref()).await?;
    if let Some(limit) = args.limit {
        runs.truncate(limit);
    }
    let now = jiff::Timestamp::now();
    let runs: Vec<Run> =
        runs.into_iter().map(|record| Run { abandoned: is_abandoned(&record, now, abandoned_after), record }).collect();
    if runs.is_empty() {
        let scope = env.map(|e| format!(" in `{e}`")).unwrap_or_default();
        output::log(&format!("no runs recorded for `{customer}`{scope}"));
    }
    Ok(History { customer, environment: env.map(str::to_owned), runs })
}

/// The column headers above [`record_line`]'s columns.
const HEADER: &str = "STARTED (UTC)         KIND      ENVIRONMENT   REVISION      STATUS     CHANGES      PR      RUN";

impl fmt::Display for History {
    /// A header, then one line per run: started, kind, environment, revision, status,
    /// counts, PR, run URL, and what the run found or why it failed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.runs.is_empty() {
            writeln!(f, "{HEADER}")?;
        }
        for run in &self.runs {
            writeln!(f, "{}", line(run))?;
        }
        Ok(())
    }
}

/// A run still `started` when no live run could be.
fn is_abandoned(run: &RunRecord, now: jiff::Timestamp, after: std::time::Duration) -> bool {
    let Ok(started) = run.started_at.parse::<jiff::Timestamp>() else { return false };
    run.status == RunStatus::Started && Duration::try_from(now.duration_since(started)).is_ok_and(|age| age > after)
}

fn line(run: &Run) -> String {
    let abandoned = if run.abandoned { "  (abandoned)" } else { "" };
    format!("{}{abandoned}", record_line(&run.record))
}

fn record_line(run: &RunRecord) -> String {
    let started = run
        .started_at
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| run.started_at.clone(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let kind = name_of(&run.kind);
    let status = name_of(&run.status);
    let counts = crate::report::counts(run.add, run.change, run.destroy).unwrap_or_else(|| "-".to_owned());
    let pr = run.pull_request.map_or_else(|| "-".to_owned(), |n| format!("#{n}"));
    let revision = run.revision.shown(&run.sha);
    let url = run.run_url.as_deref().unwrap_or("-");
    let line = format!(
        "{started}  {kind:<8}  {:<12}  {revision:<12}  {status:<9}  {counts:<11}  {pr:<6}  {url}",
        run.environment
    );
    let line = match &run.governance.approver {
        Some(login) => format!("{line}  approved by {}", crate::diagnostic::shown(login)),
        None => line,
    };
    // What a drift run found (it succeeds either way), and why any run failed.
    let said = run.message.as_deref().and_then(|m| m.lines().next());
    match (run.kind, run.status, said) {
        (RunKind::Drift, _, Some(outcome)) => format!("{line}  {outcome}"),
        (_, RunStatus::Failed, Some(error)) => format!("{line}  {error}"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_one_aligned_line() {
        let run = RunRecord {
            run_id: "x".into(),
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            pull_request: Some(12),
            started_at: "2026-01-02T03:04:05.123456789Z".into(),
            run_url: Some("https://github.com/p/m/actions/runs/1".into()),
            add: Some(8),
            change: Some(0),
            destroy: Some(1),
            ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded)
        };
        assert_eq!(
            record_line(&run),
            "2026-01-02T03:04:05Z  apply     staging       0123456       succeeded  +8 ~0 -1     #12     https://github.com/p/m/actions/runs/1"
        );
        let started = RunRecord {
            kind: RunKind::Plan,
            status: RunStatus::Started,
            add: None,
            change: None,
            destroy: None,
            pull_request: None,
            run_url: None,
            ..run
        };
        assert_eq!(
            record_line(&started),
            "2026-01-02T03:04:05Z  plan      staging       0123456       started    -            -       -"
        );
        // Started two hours ago with a one-hour bound: its run is gone.
        let now: jiff::Timestamp = "2026-01-02T05:04:05Z".parse().expect("time");
        assert!(is_abandoned(&started, now, Duration::from_secs(3600)));
        assert!(!is_abandoned(&started, now, Duration::from_secs(3 * 3600)));
        let finished = RunRecord { status: RunStatus::Failed, ..started.clone() };
        assert!(!is_abandoned(&finished, now, Duration::from_secs(3600)));
        let shown = Run { record: started, abandoned: true };
        assert!(line(&shown).ends_with("  (abandoned)"), "{}", line(&shown));
    }

    #[test]
    fn a_drift_run_says_what_it_found() {
        let drift = |status: RunStatus, message: &str| RunRecord {
            run_id: "x".into(),
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            started_at: "2026-01-02T03:04:05Z".into(),
            add: Some(1),
            change: Some(0),
            destroy: Some(0),
            message: Some(message.into()),
            ..RunRecord::empty(RunKind::Drift, status)
        };
        let drifted = "drifted: 2 changed outside Terraform; 1 to add, 0 to change, 0 to destroy";
        assert_eq!(
            record_line(&drift(RunStatus::Succeeded, drifted)),
            format!(
                "2026-01-02T03:04:05Z  drift     staging       0123456       succeeded  +1 ~0 -0     -       -  {drifted}"
            )
        );
        assert!(record_line(&drift(RunStatus::Succeeded, "in sync")).ends_with("-  in sync"));
        let failed = record_line(&drift(RunStatus::Failed, "terraform plan failed\nsecond line"));
        assert!(failed.contains("  failed  ") && failed.ends_with("-  terraform plan failed"), "{failed}");
    }

    #[test]
    fn history_has_headers_failed_rows_say_why_and_a_file_digest_is_no_commit() {
        let failed = RunRecord {
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            started_at: "2026-01-02T03:04:05Z".into(),
            message: Some("`terraform apply` failed: Error: creating bucket\nmore".into()),
            revision: crate::store::Revision::FileDigest,
            ..RunRecord::empty(RunKind::Apply, RunStatus::Failed)
        };
        let history = History {
            customer: "acme/web".into(),
            environment: None,
            runs: vec![Run { record: failed, abandoned: false }],
        };
        let text = history.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "2026-01-02T03:04:05Z  apply     staging       file:0123456  failed     -            -       -  `terraform apply` failed: Error: creating bucket"
        );
        // Each header starts where its column does.
        for (header, value) in [("KIND", "apply"), ("REVISION", "file:"), ("STATUS", "failed"), ("RUN", "-  `")] {
            assert_eq!(lines[0].find(header), lines[1].find(value), "{header}");
        }
        assert_eq!(History { runs: Vec::new(), ..history }.to_string(), "");
    }
}
