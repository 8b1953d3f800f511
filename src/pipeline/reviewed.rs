//! The reviewed plan across the merge (issue 22 item 4): reviewers read the plan of a pull
//! request's head, the apply applies the plan of the merge commit. At apply the two stored
//! [`Reviewable`] documents are compared ([`crate::terraform::reviewable::compare`]) and the
//! result is shown: in the applied comment (equal or not), and when they differ in the
//! commit status and the job summary too, with the time it was first shown recorded
//! ([`shown_at`]) for an approval that must come after it.
//!
//! Finding the reviewed plan: the pull request merged as the applied commit (GitHub's
//! `commits/{sha}/pulls`, [`crate::codehost::Reporter::merged_pulls`]), its head SHA, and the
//! plan stored for that SHA on the same target. Where there is no such pull request (local
//! mode, a push that no pull request merged, a tenant), nothing is compared and nothing is
//! shown. A missing document is "no reviewed plan found for #N", never an error: the
//! comparison informs reviewers, it does not fail an apply.

use serde::Serialize;

use super::{Deps, Request};
use crate::identity::{Sha, Target};
use crate::output;
use crate::report::markdown::code;
use crate::store::{Governance, RunRecord, Store, StoreError};
use crate::terraform::reviewable::{self, Change, Difference, Reviewable};
use crate::terraform::{PlanKind, PlanView, SavedPlan};

/// How many differences are listed before "and K more".
pub const SHOWN_CHANGES: usize = 20;

/// The longest value shown in a difference, in characters (then `…`).
const SHOWN_VALUE_CHARS: usize = 80;

/// What the comparison found for the applied commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviewed {
    /// The pull request merged as the applied commit.
    pub pull_request: u64,
    /// Its head: the commit whose plan its reviewers saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    #[serde(flatten)]
    pub result: Comparison,
    /// When the difference was shown (RFC 3339); only when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shown_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Comparison {
    Equal,
    Different {
        difference: Difference,
    },
    /// Nothing to compare with: why.
    NotCompared {
        reason: String,
    },
}

/// The reviewable document of a saved plan, and its bytes, to keep beside it
/// ([`crate::store::Store::put_plan_and_reviewable`]). A plan read as counts only has none.
/// Best effort: a document that can't be written is a warning, and a later comparison says
/// "no reviewed plan found".
pub fn document(req: &Request, kind: PlanKind, saved: &SavedPlan) -> Option<(Reviewable, Vec<u8>)> {
    let PlanView::Shown { json, .. } = &saved.view else { return None };
    let document = Reviewable { destroy: kind == PlanKind::Destroy, ..Reviewable::from_show_json(json) };
    match serde_json::to_vec(&document) {
        Ok(bytes) => Some((document, bytes)),
        Err(e) => {
            output::log(&format!("warning: can't write the reviewable plan of {}: {e}", req.sha.short()));
            None
        }
    }
}

/// Says that the reviewable document of `req.sha` could not be kept.
pub fn not_kept(req: &Request, error: &StoreError) {
    output::log(&format!(
        "warning: can't keep the reviewable plan of {} (it can't be compared after a merge): {error}",
        req.sha.short()
    ));
}

/// Compares the plan of `req.sha` with the last plan of the pull request merged as it;
/// `None` where no pull request was merged as it (or the host can't say: logged), and for a
/// destroy plan (the commit's last update plan is what its PR reviewed, not the destroy).
pub async fn compare(deps: &Deps<'_>, req: &Request) -> Option<Reviewed> {
    let applied = match deps.store.get_reviewable(&req.target, &req.sha).await {
        Ok(bytes) => read(bytes),
        Err(e) => {
            output::log(&format!("warning: can't read the reviewable plan of {}: {e}", req.sha.short()));
            None
        }
    };
    compare_with(deps, req, applied).await
}

/// [`compare`] with the document of `req.sha`'s plan at hand (the plan step has just made
/// it: reading it back from the store would be a call for nothing).
pub async fn compare_with(deps: &Deps<'_>, req: &Request, applied: Option<Reviewable>) -> Option<Reviewed> {
    if applied.as_ref().is_some_and(|d| d.destroy) {
        return None;
    }
    let pulls = match deps.reporter.merged_pulls(&req.target.owner, req.reported_sha()).await {
        Ok(pulls) => pulls,
        Err(e) => {
            output::log(&format!("warning: can't find the pull request merged as {}: {e}", req.sha.short()));
            return None;
        }
    };
    let pull = pulls.into_iter().next()?;
    let number = pull.number;
    let Some(head) = pull.head_sha else {
        return Some(not_compared(number, None, format!("GitHub did not say which commit #{number} ended at")));
    };
    let reviewed = deps.store.get_reviewable(&req.target, &head).await.map(read);
    let result = match (reviewed, applied) {
        (Ok(Some(reviewed)), Some(applied)) => {
            let difference = reviewable::compare(&reviewed, &applied);
            if difference.is_empty() { Comparison::Equal } else { Comparison::Different { difference } }
        }
        (Ok(None), _) => {
            Comparison::NotCompared { reason: format!("no reviewed plan found for #{number} ({})", head.short()) }
        }
        (Ok(_), None) => Comparison::NotCompared {
            reason: format!(
                "the plan of {} was made without a reviewable document; plan it again to compare",
                req.sha.short()
            ),
        },
        (Err(e), _) => Comparison::NotCompared { reason: format!("can't read the reviewed plan: {e}") },
    };
    let shown_at = matches!(result, Comparison::Different { .. }).then(super::now);
    let reviewed = Reviewed { pull_request: number, head_sha: Some(head.to_string()), result, shown_at };
    for line in reviewed.log_lines() {
        output::log(&line);
    }
    Some(reviewed)
}

fn not_compared(number: u64, head: Option<&Sha>, reason: String) -> Reviewed {
    Reviewed {
        pull_request: number,
        head_sha: head.map(ToString::to_string),
        result: Comparison::NotCompared { reason },
        shown_at: None,
    }
}

/// A stored document; one that is unreadable, or of another format, is `None`.
fn read(bytes: Option<Vec<u8>>) -> Option<Reviewable> {
    bytes.and_then(|b| serde_json::from_slice::<Reviewable>(&b).ok()).filter(|d| d.format == reviewable::FORMAT)
}

impl Reviewed {
    /// `#7 (2222222)`.
    fn which(&self) -> String {
        match &self.head_sha {
            Some(sha) => format!("#{} ({})", self.pull_request, crate::report::prefix(sha, 7)),
            None => format!("#{}", self.pull_request),
        }
    }

    /// The part of the commit status about it: only when the plans differ.
    pub fn status_part(&self) -> Option<String> {
        let Comparison::Different { difference } = &self.result else { return None };
        let first = difference.changes.first().map(|c| crate::diagnostic::shown(c.address())).unwrap_or_default();
        Some(format!(
            "NOT the plan reviewed on {}: {} address(es) differ ({first}…), see the summary",
            self.which(),
            difference.addresses()
        ))
    }

    /// A Markdown section for the applied comment and the job summary.
    pub fn markdown(&self) -> String {
        match &self.result {
            Comparison::Equal => format!("The plan applied is the plan reviewed on {}.\n", self.which()),
            Comparison::NotCompared { reason } => {
                format!("Not compared with the plan reviewed on #{}: {}.\n", self.pull_request, code(reason))
            }
            Comparison::Different { difference } => {
                let mut out = format!(
                    "#### ⚠️ Not the plan reviewed on {}\n\nThe plan applied differs from the last plan of #{} at {} \
                     address(es) (values Terraform did not know yet are not compared):\n\n\
                     | Address | Reviewed on #{} | Applied |\n| --- | --- | --- |\n",
                    self.which(),
                    self.pull_request,
                    difference.addresses(),
                    self.pull_request
                );
                for change in difference.changes.iter().take(SHOWN_CHANGES) {
                    let (what, reviewed, applied) = cells(change);
                    out.push_str(&format!("| {what} | {reviewed} | {applied} |\n"));
                }
                let more = difference.changes.len().saturating_sub(SHOWN_CHANGES);
                if more > 0 {
                    out.push_str(&format!("\nand {more} more.\n"));
                }
                out
            }
        }
    }

    /// What the log says (each line goes through [`output::log`], the log's rule).
    pub fn log_lines(&self) -> Vec<String> {
        match &self.result {
            Comparison::Equal => vec![format!("the plan applied is the plan reviewed on {}", self.which())],
            Comparison::NotCompared { reason } => vec![format!("not compared with the reviewed plan: {reason}")],
            Comparison::Different { difference } => {
                let mut lines = vec![format!(
                    "warning: the plan applied is NOT the plan reviewed on {}: {} address(es) differ",
                    self.which(),
                    difference.addresses()
                )];
                for change in difference.changes.iter().take(SHOWN_CHANGES) {
                    lines.push(format!("  {}", line(change)));
                }
                let more = difference.changes.len().saturating_sub(SHOWN_CHANGES);
                if more > 0 {
                    lines.push(format!("  and {more} more"));
                }
                lines
            }
        }
    }

    /// Its fields of the run record.
    pub fn record(&self, governance: &mut Governance) {
        governance.reviewed_pr = Some(self.pull_request);
        governance.reviewed_sha.clone_from(&self.head_sha);
        governance.reviewed_difference_shown_at.clone_from(&self.shown_at);
        match &self.result {
            Comparison::Equal => governance.reviewed_plan_equal = Some(true),
            Comparison::Different { difference } => {
                governance.reviewed_plan_equal = Some(false);
                governance.reviewed_differences = Some(u32::try_from(difference.addresses()).unwrap_or(u32::MAX));
            }
            Comparison::NotCompared { reason } => governance.reviewed_note = Some(reason.clone()),
        }
    }
}

fn value(v: Option<&serde_json::Value>) -> String {
    crate::report::truncate_chars(&reviewable::shown_value(v), SHOWN_VALUE_CHARS)
}

/// A table row's cells, every untrusted part through [`code`].
fn cells(change: &Change) -> (String, String, String) {
    let none = "(not in the plan)".to_owned();
    match change {
        Change::Added { address, actions } => (code(address), none, code(&actions.join(", "))),
        Change::Removed { address, actions } => (code(address), code(&actions.join(", ")), none),
        Change::Actions { address, reviewed, applied } => (code(address), code(reviewed), code(applied)),
        Change::Value { address, path, reviewed, applied } => (
            format!("{} {}", code(address), code(path)),
            code(&value(reviewed.as_ref())),
            code(&value(applied.as_ref())),
        ),
    }
}

/// One log line, untrusted parts through [`crate::diagnostic::shown`].
fn line(change: &Change) -> String {
    use crate::diagnostic::shown;
    match change {
        Change::Added { address, actions } => {
            format!("{}: only in the applied plan ({})", shown(address), actions.join(", "))
        }
        Change::Removed { address, actions } => {
            format!("{}: only in the reviewed plan ({})", shown(address), actions.join(", "))
        }
        Change::Actions { address, reviewed, applied } => {
            format!("{}: {} → {}", shown(address), shown(reviewed), shown(applied))
        }
        Change::Value { address, path, reviewed, applied } => format!(
            "{} {}: {} → {}",
            shown(address),
            shown(path),
            shown(&value(reviewed.as_ref())),
            shown(&value(applied.as_ref()))
        ),
    }
}

/// When the difference between the plan applied at `sha` and the reviewed one was first
/// shown on `target`, from the run records; `None` when it never was (equal, or not
/// compared). For the approval check of an environment that requires approval: an
/// approval given before this time was given without seeing the difference.
pub async fn shown_at(store: &dyn Store, target: &Target, sha: &Sha) -> Result<Option<jiff::Timestamp>, StoreError> {
    let records = store.history(&target.owner, Some(&target.env)).await?;
    Ok(first_shown(&records, sha))
}

/// The earliest `reviewed_difference_shown_at` among the records of `sha`.
pub fn first_shown(records: &[RunRecord], sha: &Sha) -> Option<jiff::Timestamp> {
    records
        .iter()
        .filter(|r| r.sha == sha.as_str())
        .filter_map(|r| r.governance.reviewed_difference_shown_at.as_deref())
        .filter_map(|at| at.parse::<jiff::Timestamp>().ok())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn different(n: usize) -> Reviewed {
        let changes = (0..n)
            .map(|i| Change::Value {
                address: format!("terraform_data.x[{i}]"),
                path: "input.tags.Name".into(),
                reviewed: Some(json!("web|`<!-- -->")),
                applied: Some(json!("web-2")),
            })
            .collect();
        Reviewed {
            pull_request: 7,
            head_sha: Some("2".repeat(40)),
            result: Comparison::Different { difference: Difference { changes } },
            shown_at: Some("2026-01-01T00:00:00Z".into()),
        }
    }

    #[test]
    fn a_difference_is_listed_escaped_and_bounded() {
        let shown = different(SHOWN_CHANGES + 3).markdown();
        assert!(shown.contains("and 3 more."), "{shown}");
        assert_eq!(shown.matches("| `terraform_data.x[").count(), SHOWN_CHANGES);
        assert!(!shown.contains("<!-- -->"), "comment openers are broken: {shown}");
    }

    /// The applied comment of a merge whose plan is not the one reviewed on its PR.
    #[test]
    fn applied_comment_with_a_difference_snapshot() {
        let customer = crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/webshop").expect("id"));
        let body = crate::report::comment::applied_comment(&crate::report::comment::AppliedComment {
            environment: "staging",
            customer: &customer,
            sha: &"1".repeat(40),
            plan_sha256: &"0f".repeat(32),
            counts: (1, 1, 0),
            health: None,
            outputs: &Default::default(),
            reviewed: Some(different(2).markdown()),
            run_url: Some("https://github.com/provider/manager/actions/runs/1"),
            approved_by: None,
        });
        insta::assert_snapshot!(body);
    }

    #[test]
    fn the_status_part_fits_and_equal_plans_add_nothing_to_the_status() {
        let status = different(3).status_part().expect("a difference");
        assert_eq!(
            status,
            "NOT the plan reviewed on #7 (2222222): 3 address(es) differ (terraform_data.x[0]…), see the summary"
        );
        let equal = Reviewed { result: Comparison::Equal, shown_at: None, ..different(0) };
        assert_eq!(equal.status_part(), None);
        assert_eq!(equal.markdown(), "The plan applied is the plan reviewed on #7 (2222222).\n");
    }

    #[test]
    fn the_record_says_what_was_found_and_when_it_was_shown() {
        let mut g = Governance::default();
        different(2).record(&mut g);
        assert_eq!(
            (g.reviewed_pr, g.reviewed_plan_equal, g.reviewed_differences, g.reviewed_difference_shown_at.as_deref()),
            (Some(7), Some(false), Some(2), Some("2026-01-01T00:00:00Z"))
        );
        let sha = Sha::parse(&"1".repeat(40)).expect("sha");
        let target = crate::identity::Target {
            owner: crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/web").expect("id")),
            env: crate::identity::EnvName::parse("staging").expect("env"),
        };
        let mut records = Vec::new();
        for at in ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"] {
            let mut r = RunRecord::started(crate::store::RunKind::Apply, &target, &sha, None, None);
            r.governance.reviewed_difference_shown_at = Some(at.into());
            records.push(r);
        }
        records.push(RunRecord::started(crate::store::RunKind::Apply, &target, &sha, None, None));
        assert_eq!(first_shown(&records, &sha), Some("2026-01-01T00:00:00Z".parse().expect("time")));
        assert_eq!(first_shown(&records, &Sha::parse(&"2".repeat(40)).expect("sha")), None);
    }
}
