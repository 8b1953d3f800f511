//! The sticky PR comment: one per environment, found again by its hidden marker.
//!
//! A plan comment says everything Terraform will do, destroys first: the headline in
//! Terraform's words, a counts table, what changed in the owner's file since the last apply
//! in its own terms (components added and removed, inputs `old → new`), the objects
//! destroyed, replaced or forgotten (never collapsed), the actions it runs, what is deferred
//! and why, what changed outside Terraform, the other changes grouped by component, the
//! outputs, and the full plan in a collapsed block.
//!
//! GitHub refuses comments over 65,536 characters, so every comment is bounded by
//! per-section budgets, in this order of priority: the headline, counts and footer are never
//! cut; nor is the destroy list, unless it alone would pass the limit; the file's changes
//! and the other lists end with `… and N more`; the plan text gets what is left, cut with a
//! pointer to the run. Customer-controlled text only reaches a comment through
//! [`super::markdown`].

mod file_changes;
mod sections;

use crate::identity::Owner;
use std::fmt::Write;

use super::markdown::{code, cut_at_line_bytes, fenced};
use super::prefix;
use crate::diagnostic::Diagnostic;
use crate::terraform::summary::{Action, PlanSummary};
use sections::{chars, cut_text};

/// GitHub's limit on a comment body, in characters ([`crate::limits`]).
pub const MAX_COMMENT_CHARS: usize = crate::limits::COMMENT_CHARS;

/// Most characters Terraform's check messages may take in a comment.
const MAX_ERRORS_CHARS: usize = 10_000;
/// Most characters each list below the destroy list may take.
const MAX_ACTIONS_CHARS: usize = 6_000;
const MAX_DEFERRED_CHARS: usize = 6_000;
const MAX_DRIFT_CHARS: usize = 6_000;
const MAX_RESOURCES_CHARS: usize = 30_000;
const MAX_OUTPUTS_CHARS: usize = 6_000;
/// Most characters what changed in the owner's file may take.
const MAX_FILE_CHANGES_CHARS: usize = 8_000;
/// Kept back for the lists after the destroy list when it is huge: enough for each to say
/// `… and N more (see the run)` under its title, and for the plan text's frame.
const RESERVE_CHARS: usize = 3_000;
/// Most characters of failure text shown in a failure comment.
const MAX_FAILURE_CHARS: usize = 20_000;
/// Most diagnostics listed in an invalid-file comment, and most characters they take.
const MAX_DIAGNOSTICS: usize = 100;
const MAX_DIAGNOSTICS_CHARS: usize = 50_000;

/// The hidden marker that identifies the comment of `owner` for `env`. A customer's
/// pull request has one per environment; a manager pull request has one per tenant and
/// environment, so a tenant's marker names it too.
pub fn marker(owner: &Owner, env: &str) -> String {
    match owner {
        Owner::Tenant(tenant) => format!("<!-- infra-manager:plan:{env}:tenants/{tenant} -->"),
        Owner::Customer(_) => format!("<!-- infra-manager:plan:{env} -->"),
    }
}

/// What a plan comment shows.
#[derive(Debug, Clone)]
pub struct PlanComment<'a> {
    pub environment: &'a str,
    pub customer: &'a Owner,
    pub sha: &'a str,
    /// Full hex sha256 of the plan file; the comment shows its first 12 characters.
    pub plan_sha256: &'a str,
    pub summary: &'a PlanSummary,
    /// `terraform show` text, for people.
    pub plan_text: &'a str,
    pub run_url: Option<&'a str>,
    /// What reviewers must not miss, shown loudly above everything else.
    pub warnings: &'a [Warning],
    /// What changed in the owner's file against the configuration last applied, shown above
    /// the resources (`None`: not compared, as for a destroy).
    pub file_changes: Option<&'a crate::file_diff::FileDiff>,
}

/// A loud note above the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A destroy plan (offboarding, expiry): applying it ends the environment.
    Destroy,
    /// The environment expires at `at` (RFC 3339), in `days` whole days (0: today, or past).
    Expires { at: String, days: i64 },
    /// The plan destroys `destroys` resources of a schema v2 component (replacements
    /// included); `removed` when the component is no longer in the file.
    ComponentDestroys { component: String, destroys: u32, removed: bool },
    /// What the manager's policies said (issue 22): denies fail the plan, warnings pass.
    Policy(crate::policy::report::PolicyNote),
}

impl Warning {
    /// The warning within 7 days of an expiry at `at`, seen at `now`; `None` before that.
    pub fn expiry(at: jiff::Timestamp, now: jiff::Timestamp) -> Option<Self> {
        const WEEK_SECONDS: i64 = 7 * 24 * 3600;
        let left = at.as_second() - now.as_second();
        (left < WEEK_SECONDS).then(|| Self::Expires { at: at.to_string(), days: (left / (24 * 3600)).max(0) })
    }

    /// One warning per component whose resources the plan destroys, removed components
    /// first, then by name. `components` are those still in the file: every `module.<name>`
    /// of a v2 root is a component's call.
    pub fn component_destroys(summary: &PlanSummary, components: &[String]) -> Vec<Self> {
        let mut counts: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
        for r in summary.resources.iter().filter(|r| matches!(r.action, Action::Delete | Action::Replace)) {
            if let Some(component) = r.component() {
                *counts.entry(component).or_default() += 1;
            }
        }
        let mut out: Vec<Self> = counts
            .into_iter()
            .map(|(component, destroys)| Self::ComponentDestroys {
                component: component.to_owned(),
                destroys,
                removed: !components.iter().any(|c| c == component),
            })
            .collect();
        out.sort_by_key(|w| !matches!(w, Self::ComponentDestroys { removed: true, .. }));
        out
    }

    fn markdown(&self, summary: &PlanSummary) -> String {
        match self {
            Self::Destroy => format!(
                "> [!CAUTION]\n> **This plan destroys the environment: {} resources are destroyed.** Applying it \
                 deletes them and their data; only apply it to offboard or reap this environment.\n",
                summary.destroy
            ),
            Self::Expires { at, days: 0 } => format!(
                "> [!WARNING]\n> This environment expired at {}: `reap` destroys it on its next run.\n",
                code(at)
            ),
            Self::Expires { at, days } => format!(
                "> [!WARNING]\n> This environment expires at {} (in {days} day{}): `reap` destroys it then. Ask \
                 the platform team to extend `expires_at` to keep it.\n",
                code(at),
                if *days == 1 { "" } else { "s" }
            ),
            Self::Policy(note) => note.markdown(),
            Self::ComponentDestroys { component, destroys, removed } => {
                let what = if *destroys == 1 { "resource" } else { "resources" };
                let why = if *removed {
                    "it was removed from the file, and applying this plan deletes its resources and their data"
                } else {
                    "a change to its inputs replaces or removes them; applying this plan deletes them and their data"
                };
                format!(
                    "> [!CAUTION]\n> **This plan destroys {destroys} {what} of component {}**: {why}.\n",
                    code(component)
                )
            }
        }
    }
}

/// What the sticky comment says once its plan is applied.
#[derive(Debug, Clone)]
pub struct AppliedComment<'a> {
    pub environment: &'a str,
    pub customer: &'a Owner,
    pub sha: &'a str,
    pub plan_sha256: &'a str,
    pub counts: (u32, u32, u32),
    /// The health check's line (`healthy (HTTP 200 after 3 polls, 4.2 s)`).
    pub health: Option<String>,
    /// The outputs not marked sensitive (a v2 file's as `<component>_<output>`).
    pub outputs: &'a std::collections::BTreeMap<String, serde_json::Value>,
    /// Whether the plan applied is the plan reviewed on the merged PR, as Markdown
    /// ([`crate::pipeline::reviewed::Reviewed::markdown`], already escaped).
    pub reviewed: Option<String>,
    pub run_url: Option<&'a str>,
    /// Who approved the apply (a GitHub login), when its environment requires approval.
    pub approved_by: Option<&'a str>,
}

/// The sticky comment after an apply: what was applied, the health check, and the
/// outputs, never longer than [`MAX_COMMENT_CHARS`]. Output values are module output (so
/// possibly customer text): code spans only.
pub fn applied_comment(c: &AppliedComment<'_>) -> String {
    let (add, change, destroy) = c.counts;
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(c.customer, c.environment));
    let _ = writeln!(
        out,
        "### ✅ Applied to {}: {add} added, {change} changed, {destroy} destroyed\n",
        code(c.environment)
    );
    out.push_str(&which_plan(c.customer, c.environment, c.sha, c.plan_sha256));
    let _ = writeln!(out);
    if let Some(reviewed) = &c.reviewed {
        let _ = writeln!(out, "{reviewed}");
    }
    if let Some(login) = c.approved_by {
        let _ = writeln!(out, "Approved by {}\n", code(login));
    }
    if let Some(health) = &c.health {
        let _ = writeln!(out, "Health check: {}\n", code(health));
    }
    let tail = footer(c.run_url);
    let rows: Vec<String> =
        c.outputs.iter().map(|(name, value)| format!("| {} | {} |", code(name), code(&value.to_string()))).collect();
    let budget = MAX_COMMENT_CHARS.saturating_sub(chars(&out) + chars(&tail));
    out.push_str(&sections::table("#### Outputs", "| Output | Value |\n| --- | --- |", &rows, budget, c.run_url));
    out.push_str(&tail);
    bounded(out, &tail)
}

/// The comment for a plan, never longer than [`MAX_COMMENT_CHARS`]. An errored plan gets a
/// failure comment with Terraform's diagnostics; it never reads "No changes".
pub fn plan_comment(c: &PlanComment<'_>) -> String {
    let s = c.summary;
    let head = plan_head(c);
    let note = if s.errored() {
        String::new()
    } else if s.incomplete() {
        "This is a partial plan (Terraform says it is not complete): the deferred changes above can \
         only be planned after it is applied.\n\n"
            .to_owned()
    } else {
        "Apply runs exactly this plan: its digest is checked before applying.\n\n".to_owned()
    };
    let tail = footer(c.run_url);
    let mut left = MAX_COMMENT_CHARS.saturating_sub(chars(&head) + chars(&note) + chars(&tail));

    let errors =
        if s.errored() { spend(sections::errored(s, MAX_ERRORS_CHARS.min(left)), &mut left) } else { String::new() };
    let destructive = spend(sections::destructive(s, left.saturating_sub(RESERVE_CHARS), c.run_url), &mut left);
    // The other lists share what is left, each within its cap, keeping room for the plan
    // text's frame and for the lists after it.
    let run_url = c.run_url;
    let share = |cap: usize, left: usize| cap.min(left.saturating_sub(RESERVE_CHARS / 2));
    let file = c.file_changes.map_or_else(String::new, |diff| {
        file_changes::section(diff, &c.customer.file(), c.environment, share(MAX_FILE_CHANGES_CHARS, left))
    });
    let file = spend(file, &mut left);
    let actions = spend(sections::actions(s, share(MAX_ACTIONS_CHARS, left), run_url), &mut left);
    let deferred = spend(sections::deferred(s, share(MAX_DEFERRED_CHARS, left), run_url), &mut left);
    let drift = spend(sections::drift(s, share(MAX_DRIFT_CHARS, left), run_url), &mut left);
    let resources = spend(sections::constructive(s, share(MAX_RESOURCES_CHARS, left), run_url), &mut left);
    let outputs = spend(sections::outputs(s, share(MAX_OUTPUTS_CHARS, left), run_url), &mut left);
    let plan = plan_details(c.plan_text, left, c.run_url);

    let mut body = head;
    for section in [errors, file, destructive, actions, deferred, drift, resources, outputs] {
        if !section.is_empty() {
            body.push_str(&section);
            body.push('\n');
        }
    }
    body.push_str(&note);
    body.push_str(&plan);
    body.push_str(&tail);
    bounded(body, &tail)
}

/// Counts `section` (and the blank line after it) against the budget left.
fn spend(section: String, left: &mut usize) -> String {
    *left = left.saturating_sub(chars(&section) + 1);
    section
}

/// Last line of defence, for a plan whose every list is at its worst at once: the body cut
/// at a line break, the footer kept.
fn bounded(body: String, tail: &str) -> String {
    if chars(&body) <= MAX_COMMENT_CHARS {
        return body;
    }
    let note = "\n_(comment cut to fit GitHub's limit; the full plan is in the run log)_\n";
    let keep = MAX_COMMENT_CHARS - chars(tail) - chars(note);
    let end = body.char_indices().nth(keep).map_or(body.len(), |(i, _)| i);
    let kept = cut_at_line_bytes(&body, end);
    format!("{kept}{note}{tail}")
}

/// The table naming the customer, environment, commit and plan digest a comment is about.
fn which_plan(customer: &Owner, environment: &str, sha: &str, plan_sha256: &str) -> String {
    let digest = format!("sha256:{}", prefix(plan_sha256, 12));
    format!(
        "| Customer | Environment | Commit | Plan digest |\n| --- | --- | --- | --- |\n| {} | {} | {} | {} |\n",
        code(&customer.to_string()),
        code(environment),
        code(prefix(sha, 7)),
        code(&digest)
    )
}

fn plan_head(c: &PlanComment<'_>) -> String {
    let s = c.summary;
    let icon = if s.errored() {
        "❌"
    } else if s.is_destructive() || s.incomplete() {
        "⚠️"
    } else if s.has_changes() {
        "📝"
    } else {
        "✅"
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(c.customer, c.environment));
    let _ = writeln!(out, "### {icon} Terraform plan for {}: {}", code(c.environment), s.headline());
    let _ = writeln!(out);
    for warning in c.warnings {
        let _ = writeln!(out, "{}", warning.markdown(s));
    }
    out.push_str(&which_plan(c.customer, c.environment, c.sha, c.plan_sha256));
    let _ = writeln!(out);
    out.push_str(&sections::counts(s));
    let _ = writeln!(out);
    out
}

/// The collapsed plan text within `budget` characters, cut with a note when it does not fit.
/// The check run's output text is the same block ([`super::check_run`]).
pub(super) fn plan_details(text: &str, budget: usize, run_url: Option<&str>) -> String {
    let whole = details(text, None);
    if chars(&whole) <= budget {
        return whole;
    }
    let total = chars(text);
    let mut room = budget.saturating_sub(chars(&details("", Some((total, total, run_url)))) + 16);
    loop {
        let (kept, _) = cut_text(text, room);
        let shown = chars(kept);
        let out = details(kept, Some((shown, total, run_url)));
        let over = chars(&out).saturating_sub(budget);
        if over == 0 || room == 0 {
            return out;
        }
        // Escapes made the block longer than its text: take that much more off.
        room = room.saturating_sub(over + 16);
    }
}

/// The collapsed block; `cut` is (shown, total, run URL) when the text was truncated.
fn details(text: &str, cut: Option<(usize, usize, Option<&str>)>) -> String {
    let mut out = String::from("<details><summary>Full plan</summary>\n\n");
    out.push_str(&fenced(text, "text"));
    out.push_str("</details>\n");
    if let Some((shown, total, run_url)) = cut {
        let place = match run_url {
            Some(url) => format!("the [workflow run]({url}) log"),
            None => "the run log".to_owned(),
        };
        let _ = write!(
            out,
            "\n> [!NOTE]\n> The plan output was truncated: {shown} of {total} characters are shown. The full plan is in {place}.\n"
        );
    }
    out
}

fn footer(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("\n<sub>infra-manager · [workflow run]({url})</sub>\n"),
        None => "\n<sub>infra-manager · local run</sub>\n".to_owned(),
    }
}

/// The comment for a `variables.yml` that did not validate: each problem with its place and
/// hint. The message and hint quote the customer's file, so each is a code span.
pub fn invalid_comment(
    environment: &str,
    customer: &Owner,
    sha: &str,
    errors: &[Diagnostic],
    run_url: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(customer, environment));
    let count = errors.len();
    let plural = if count == 1 { "" } else { "s" };
    let _ = writeln!(out, "### ❌ `infra/variables.yml` has {count} problem{plural} ({})", code(environment));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Customer {}, commit {}. Nothing was planned; fix these and push again:",
        code(&customer.to_string()),
        code(prefix(sha, 7))
    );
    let _ = writeln!(out);
    let mut shown = 0;
    let mut used = 0;
    for d in errors.iter().take(MAX_DIAGNOSTICS) {
        let place = format!("{}:{}:{}", d.file, d.line, d.column);
        let mut item = format!("- {} {}", code(&place), code(&d.message));
        if let Some(hint) = &d.hint {
            let _ = write!(item, " — hint: {}", code(hint));
        }
        used += chars(&item) + 1;
        if used > MAX_DIAGNOSTICS_CHARS {
            break;
        }
        let _ = writeln!(out, "{item}");
        shown += 1;
    }
    if count > shown {
        let _ = writeln!(out, "- … and {} more {}", count - shown, sections::see_the_run(run_url));
    }
    out.push_str(&footer(run_url));
    out
}

/// The comment for a plan that failed to run; the failure text is fenced.
pub fn failed_comment(environment: &str, customer: &Owner, sha: &str, message: &str, run_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(customer, environment));
    let _ = writeln!(out, "### ⚠️ Terraform plan for {} failed", code(environment));
    let _ = writeln!(out);
    let _ = writeln!(out, "Customer {}, commit {}.", code(&customer.to_string()), code(prefix(sha, 7)));
    let _ = writeln!(out);
    out.push_str(&fenced(&super::truncate_chars(message, MAX_FAILURE_CHARS), "text"));
    out.push_str(&footer(run_url));
    out
}

#[cfg(test)]
mod tests;
