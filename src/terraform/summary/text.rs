//! The summary in one line: the headline (Terraform's own `Plan: …` wording) and the commit
//! status description (destructive counts first, bounded to GitHub's 140 characters).

use super::{Action, PlanSummary};
use crate::report::{STATUS_DESCRIPTION_MAX, truncate_chars};

/// Whether Terraform prints a `Plan:` line: it lists a resource change or runs an action.
fn has_plan_line(s: &PlanSummary) -> bool {
    !s.resources.is_empty() || s.invoke > 0
}

fn outputs_change(s: &PlanSummary) -> bool {
    s.outputs.iter().any(|o| o.action != Action::NoOp)
}

/// `Plan: 1 to import, 2 to add, 0 to change, 1 to destroy, 1 to forget, 1 to move. Actions:
/// 1 to invoke`: Terraform's line, with the forgets and moves it lists without counting.
fn plan_line(s: &PlanSummary) -> String {
    let mut line = String::from("Plan: ");
    if s.import > 0 {
        line.push_str(&format!("{} to import, ", s.import));
    }
    line.push_str(&format!("{} to add, {} to change, {} to destroy", s.add, s.change, s.destroy));
    if s.forget > 0 {
        line.push_str(&format!(", {} to forget", s.forget));
    }
    if s.moved > 0 {
        line.push_str(&format!(", {} to move", s.moved));
    }
    if s.invoke > 0 {
        line.push_str(&format!(". Actions: {} to invoke", s.invoke));
    }
    line
}

fn outside(n: u32) -> String {
    format!("{n} changed outside of Terraform")
}

pub(super) fn headline(s: &PlanSummary) -> String {
    if s.errored {
        return "Planning failed".to_owned();
    }
    let mut parts = Vec::new();
    if has_plan_line(s) {
        parts.push(plan_line(s));
    } else if outputs_change(s) {
        parts.push("Only output values change".to_owned());
    } else if !s.deferred.is_empty() {
        parts.push("No current changes".to_owned());
    } else if s.drift > 0 {
        parts.push(outside(s.drift));
    } else {
        return "No changes".to_owned();
    }
    if !s.deferred.is_empty() {
        parts.push(format!("{} deferred", s.deferred.len()));
    }
    if s.drift > 0 && (has_plan_line(s) || outputs_change(s) || !s.deferred.is_empty()) {
        parts.push(outside(s.drift));
    }
    parts.join("; ")
}

pub(super) fn status_description(s: &PlanSummary) -> String {
    let counted = |pairs: &[(u32, &str)]| -> Vec<String> {
        pairs.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect()
    };
    let destructive = counted(&[(s.destroy, "to destroy"), (s.forget, "to forget")]);
    let others = counted(&[
        (s.import, "to import"),
        (s.add, "to add"),
        (s.change, "to change"),
        (s.moved, "to move"),
        (s.read, "to read"),
        (s.invoke, "to invoke"),
    ]);
    let unknown = s.resources.iter().filter(|r| r.action == Action::Unknown).count();
    let mut groups = Vec::new();
    if s.errored {
        groups.push("Planning failed".to_owned());
    }
    if !destructive.is_empty() || unknown > 0 {
        let mut loud = destructive;
        if unknown > 0 {
            loud.push(format!("{unknown} unknown"));
        }
        groups.push(format!("⚠ {}", loud.join(", ")));
    }
    if !others.is_empty() {
        groups.push(others.join(", "));
    }
    if groups.is_empty() || (s.errored && groups.len() == 1) {
        if outputs_change(s) {
            groups.push("Only output values change".to_owned());
        } else if !s.errored && s.deferred.is_empty() && s.drift == 0 {
            groups.push("No changes".to_owned());
        }
    }
    if !s.deferred.is_empty() {
        groups.push(format!("{} deferred", s.deferred.len()));
    }
    if s.drift > 0 {
        groups.push(outside(s.drift));
    }
    truncate_chars(&groups.join(" · "), STATUS_DESCRIPTION_MAX)
}
