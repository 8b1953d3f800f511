//! The one report of a fleet run (`plan --all`, `drift`, `reap`): its counts, one row per
//! target, and the orphaned states when the whole fleet was looked at. `--json` prints it
//! as it is; people and the job summary see one Markdown table, written here for every
//! fleet verb, each target's owner, environment and commit as code spans and the verb's
//! own result cell.

use std::fmt;

use serde::Serialize;

use super::markdown::code;
use super::prefix;
use crate::cli::Verb;
use crate::commands::Outcome;
use crate::error::ExitStatus;
use crate::identity::Target;
use crate::orphans::Orphan;
use crate::shard::Shard;

/// One target's row: what the table shows of it.
pub trait FleetRow: Serialize {
    /// The owner as people know it (`acme/web`, `tenants/billing`), the environment, and
    /// the commit looked at, if one was.
    fn target(&self) -> (&str, &str, Option<&str>);
    /// The verb's columns between Environment and Commit (reap: `Expired at`).
    fn before_commit(&self) -> Vec<String> {
        Vec::new()
    }
    /// The Result cell: Markdown, any untrusted text already a code span.
    fn result(&self) -> String;
    /// The verb's columns after Result (`plan --all`: `Time`).
    fn after_result(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A fleet run's report.
#[derive(Debug, Serialize)]
pub struct FleetReport<R> {
    pub command: Verb,
    /// The verb's counts (`targets`, `changed`, `failed`; `drifted`, `errors`; `dry_run`,
    /// `expired`, `failed`), as top-level fields of `--json`.
    #[serde(flatten)]
    pub counts: serde_json::Map<String, serde_json::Value>,
    pub results: Vec<R>,
    /// States without a registry entry, when the whole fleet was looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphans: Option<Vec<Orphan>>,
    /// With `--shard`: which shard this is, for `fleet merge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardPart>,
    /// With `plan --all --changed-since`: which targets the change selected, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::change_scope::ChangeSelection>,
    /// The run's GitHub API calls (with `fleet merge`, its shards' and its own), when it
    /// made any; set as the report is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github: Option<crate::github::budget::Usage>,
    #[serde(skip)]
    pub layout: Layout,
}

/// A shard's part of a fleet run: which shard, and each row's place in the whole target
/// list, so that `fleet merge` puts the rows back in the order one run gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ShardPart {
    pub shard: Shard,
    pub positions: Vec<usize>,
}

impl<R: FleetRow> FleetReport<R> {
    /// Marks the report as `shard`'s part: each row's place among `places` (the whole
    /// list's targets, in order).
    #[must_use]
    pub fn of_shard(mut self, shard: Option<Shard>, places: &[Target]) -> Self {
        self.shard = shard.map(|shard| {
            let positions = self
                .results
                .iter()
                .map(|r| {
                    let (owner, env, _) = r.target();
                    places
                        .iter()
                        .position(|t| t.owner.to_string() == owner && t.env.as_str() == env)
                        .unwrap_or(usize::MAX)
                })
                .collect();
            ShardPart { shard, positions }
        });
        self
    }
}

/// How the table reads, for people.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// After `infra-manager`: `plan --all`, `drift`, `reap --dry-run`.
    pub title: String,
    /// A line under the title (`20 targets: 3 with changes, 1 failed.`).
    pub summary: Option<String>,
    /// The verb's column headers between Environment and Commit, and after Result.
    pub before_commit: &'static [&'static str],
    pub after_result: &'static [&'static str],
    /// Whether the run failed (one target could not be planned, checked or reaped).
    pub failed: bool,
    /// Whether an empty report still shows the table's header.
    pub header_when_empty: bool,
    /// The counts a workflow step outputs (`changed`, `failed`).
    pub outputs: &'static [&'static str],
    /// The Commit and Result columns' headers where the verb's say more (`overview`: the
    /// commit last applied, and its latest change); `Commit` and `Result` otherwise.
    pub commit_and_result: Option<[&'static str; 2]>,
}

impl<R: FleetRow> fmt::Display for FleetReport<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = &self.layout;
        writeln!(f, "## infra-manager {}\n", layout.title)?;
        if let Some(summary) = &layout.summary {
            writeln!(f, "{summary}\n")?;
        }
        if !self.results.is_empty() || layout.header_when_empty {
            let headers: Vec<&str> = ["Owner", "Environment"]
                .into_iter()
                .chain(layout.before_commit.iter().copied())
                .chain(layout.commit_and_result.unwrap_or(["Commit", "Result"]))
                .chain(layout.after_result.iter().copied())
                .collect();
            writeln!(f, "| {} |", headers.join(" | "))?;
            writeln!(f, "|{}", " --- |".repeat(headers.len()))?;
        }
        for r in &self.results {
            let (owner, environment, sha) = r.target();
            let sha = sha.map_or("—", |s| prefix(s, 7));
            let cells: Vec<String> = [code(owner), code(environment)]
                .into_iter()
                .chain(r.before_commit())
                .chain([code(sha), r.result()])
                .chain(r.after_result())
                .collect();
            writeln!(f, "| {} |", cells.join(" | "))?;
        }
        if let Some(orphans) = self.orphans.as_deref().filter(|o| !o.is_empty()) {
            write!(f, "\n{}", crate::orphans::summary_section(orphans))?;
        }
        if let Some(changes) = &self.changes {
            write_changes(f, changes)?;
        }
        if let Some(github) = self.github {
            writeln!(f, "\n{}.", github.line(Some(self.results.len())))?;
        }
        Ok(())
    }
}

impl<R: FleetRow> Outcome for FleetReport<R> {
    /// Its own `command` and counts.
    const ENVELOPE: bool = false;

    /// One target that failed fails the run; the others were still run.
    fn exit_status(&self) -> ExitStatus {
        if self.layout.failed { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

/// The targets a `--changed-since` selection kept, and why (the first
/// [`LISTED_SELECTIONS`]).
fn write_changes(f: &mut fmt::Formatter<'_>, changes: &crate::change_scope::ChangeSelection) -> fmt::Result {
    let selected = changes.selected.len();
    write!(f, "\nChanged since {}: {selected} targets re-planned, {} left out", code(&changes.since), changes.skipped)?;
    if let Some(all) = &changes.all {
        return writeln!(f, " (every target: {}).", code(all));
    }
    writeln!(f, ".\n")?;
    for s in changes.selected.iter().take(LISTED_SELECTIONS) {
        writeln!(f, "- {} {}: {}", code(&s.customer), code(&s.environment), code(&s.why))?;
    }
    if selected > LISTED_SELECTIONS {
        writeln!(f, "- and {} more", selected - LISTED_SELECTIONS)?;
    }
    Ok(())
}

/// How many selected targets the table's note lists.
const LISTED_SELECTIONS: usize = 50;

/// `{"name": n, ...}` for [`FleetReport::counts`].
pub fn counts(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use crate::commands::{Outcome, drift, plan_all, reap};
    use crate::error::Status;
    use crate::pipeline::drift::{DriftResult, DriftState};

    const SHA: &str = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d";

    fn planned(owner: &str, status: Status, counts: Option<(u32, u32, u32)>) -> plan_all::TargetPlan {
        plan_all::TargetPlan {
            customer: owner.into(),
            environment: "staging".into(),
            sha: Some(SHA.into()),
            status,
            expired: None,
            add: counts.map(|c| c.0),
            change: counts.map(|c| c.1),
            destroy: counts.map(|c| c.2),
            seconds: 4.06,
            message: counts.is_none().then(|| "tenants/x.yml:3:5: unknown `| type`".to_owned()),
        }
    }

    /// Customers and tenants in one table; an expired target is not a failure; untrusted
    /// text (Terraform's, a file's) is a code span whatever it holds.
    #[test]
    fn plan_all_table() {
        let expired = plan_all::TargetPlan {
            expired: Some("2020-01-01T00:00:00Z".into()),
            sha: None,
            ..planned("acme/old", Status::Ok, None)
        };
        let report = plan_all::report(vec![
            planned("acme/web", Status::Ok, Some((3, 0, 1))),
            planned("tenants/billing", Status::Ok, Some((0, 0, 0))),
            planned("tenants/x", Status::Invalid, None),
            expired,
        ]);
        assert_eq!(report.counts["failed"], 1, "the invalid one; not the expired one");
        insta::assert_snapshot!(report.to_string());
    }

    #[test]
    fn drift_table() {
        let row = |owner: &str, result: DriftState, message: Option<&str>| DriftResult {
            customer: owner.into(),
            environment: "production".into(),
            sha: Some(SHA.into()),
            result,
            add: 1,
            change: 0,
            destroy: 0,
            changed_outside: 2,
            resources: Vec::new(),
            resources_drifted: 0,
            message: message.map(str::to_owned),
        };
        let orphan = crate::orphans::Orphan {
            customer: "tenants/ghost".into(),
            environment: "staging".into(),
            reason: crate::orphans::Reason::Unregistered,
            resources: 3,
        };
        let drifted = DriftResult {
            resources: vec![crate::pipeline::drift::Drifted {
                resource: crate::terraform::summary::ResourceChange::from_json(
                    &serde_json::json!({"address": "aws_security_group.app", "change": {"actions": ["update"]}}),
                ),
                outside: true,
                attributes: vec![crate::terraform::differences::Attribute {
                    path: "tags[\"a|b\"]".into(),
                    applied: "(absent)".into(),
                    found: "\"x\"".into(),
                }],
                attributes_changed: 4,
            }],
            resources_drifted: 3,
            ..row("acme/web", DriftState::Drifted, None)
        };
        let report = drift::report(
            vec![
                drifted,
                row("tenants/billing", DriftState::InSync, None),
                row("acme/new", DriftState::NeverApplied, None),
                row("acme/bad", DriftState::Error, Some("Error: `x`\nsecond line")),
            ],
            vec![orphan],
        );
        insta::assert_snapshot!(report.to_string());
    }

    #[test]
    fn reap_table() {
        let row = |owner: &str, result: reap::ReapState, destroyed: Option<u32>, message: Option<&str>| reap::Reaped {
            customer: owner.into(),
            environment: "staging".into(),
            expires_at: "2020-01-01T00:00:00Z".into(),
            sha: Some(SHA.into()),
            result,
            destroyed,
            message: message.map(str::to_owned),
            attempts: Vec::new(),
        };
        let report = reap::report(
            false,
            vec![
                row("acme/trial", reap::ReapState::Reaped, Some(8), None),
                row("tenants/vault", reap::ReapState::ExpiredProtected, None, Some("expired, protected: `db`")),
                row("acme/gone", reap::ReapState::Failed, None, Some("terraform apply failed")),
            ],
        );
        assert_eq!(report.exit_status(), crate::error::ExitStatus::Failure, "one failed");
        insta::assert_snapshot!(report.to_string());
    }
}
