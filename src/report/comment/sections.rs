//! The sections of a plan comment, each rendered within a character budget.
//!
//! A list that does not fit ends with `… and N more (see the run)`: nothing is dropped
//! without being counted. Every customer-controlled text goes through [`markdown::code`] or
//! [`markdown::fenced`].

use std::fmt::Write;

use crate::report::markdown::{code, fenced};
use crate::terraform::summary::{Action, PlanSummary, ResourceChange, Trigger};

/// Characters in `s`, as GitHub counts a comment's length.
pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Where "the run" points in a `… and N more` line.
pub(super) fn see_the_run(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("(see the [run]({url}))"),
        None => "(see the run)".to_owned(),
    }
}

/// A titled table: as many of `rows` as fit in `budget` characters, then a line counting the
/// rest. Empty when there are no rows. At worst (a budget too small for even one row) it is
/// the title and the count line.
pub(super) fn table(title: &str, header: &str, rows: &[String], budget: usize, run_url: Option<&str>) -> String {
    grouped(title, header, &[(None, rows)], budget, run_url)
}

/// [`table`] with its rows in groups, each its own table under its subtitle (none: no
/// subtitle); when they do not all fit, a subtitle is shown only with its first row, and
/// one line at the end counts every row left out.
pub(super) fn grouped(
    title: &str,
    header: &str,
    groups: &[(Option<String>, &[String])],
    budget: usize,
    run_url: Option<&str>,
) -> String {
    let total: usize = groups.iter().map(|(_, rows)| rows.len()).sum();
    if total == 0 {
        return String::new();
    }
    let opening = |subtitle: &Option<String>| match subtitle {
        Some(subtitle) => format!("\n{subtitle}\n\n{header}\n"),
        None => format!("\n{header}\n"),
    };
    let mut out = format!("{title}\n");
    let all: usize = groups
        .iter()
        .map(|(subtitle, rows)| chars(&opening(subtitle)) + rows.iter().map(|r| chars(r) + 1).sum::<usize>())
        .sum();
    // Room for the count line, whatever number it shows.
    let more_room = if chars(&out) + all <= budget { 0 } else { chars(&more_line(total, run_url)) + 1 };
    let mut used = chars(&out);
    let mut shown = 0;
    'groups: for (subtitle, rows) in groups {
        let mut opened = false;
        for row in rows.iter() {
            let open = if opened { String::new() } else { opening(subtitle) };
            let cost = chars(&open) + chars(row) + 1;
            if used + cost + more_room > budget {
                break 'groups;
            }
            out.push_str(&open);
            out.push_str(row);
            out.push('\n');
            used += cost;
            shown += 1;
            opened = true;
        }
    }
    if shown < total {
        out.push('\n');
        out.push_str(&more_line(total - shown, run_url));
    }
    out
}

fn more_line(n: usize, run_url: Option<&str>) -> String {
    format!("… and {n} more {}\n", see_the_run(run_url))
}

/// `` `old` → `new` `` for a moved object, else the address.
fn address_cell(r: &ResourceChange) -> String {
    match &r.moved_from {
        Some(old) => format!("{} → {}", code(old), code(&r.display_address())),
        None => code(&r.display_address()),
    }
}

/// The counts table: the four columns Terraform's line has always had, then each other kind
/// that occurs.
pub(super) fn counts(s: &PlanSummary) -> String {
    let deferred = u32::try_from(s.deferred.len()).unwrap_or(u32::MAX);
    let optional = [
        ("Import", s.import),
        ("Forget", s.forget),
        ("Move", s.moved),
        ("Read", s.read),
        ("Invoke", s.invoke),
        ("Deferred", deferred),
        ("Changed outside", s.drift),
    ];
    let mut columns = vec![("Add", s.add), ("Change", s.change), ("Destroy", s.destroy), ("Replace", s.replace)];
    columns.extend(optional.into_iter().filter(|(_, n)| *n > 0));
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = columns.iter().map(|(_, n)| n.to_string()).collect();
    format!("| {} |\n|{}\n| {} |\n", names.join(" | "), " ---: |".repeat(columns.len()), values.join(" | "))
}

/// Why the plan cannot be applied: Terraform's failed checks, fenced.
pub(super) fn errored(s: &PlanSummary, budget: usize) -> String {
    let mut out = String::from(
        "> [!CAUTION]\n> **Planning failed.** Terraform encountered an error while generating this plan, so it \
         cannot be applied. The changes below are only what Terraform planned before it stopped.\n\n",
    );
    if s.diagnostics.is_empty() {
        out.push_str("Terraform's error is at the end of the plan output below and in the run log.\n");
        return out;
    }
    let mut text = String::new();
    for d in &s.diagnostics {
        let _ = writeln!(text, "Error: {}: {}", d.address, d.message);
    }
    // The fence and escapes add a little; leave them room.
    let room = budget.saturating_sub(chars(&out) + 200);
    let text = cut_text(&text, room);
    out.push_str("**Errors**\n\n");
    out.push_str(&fenced(text.0, "text"));
    if text.1 {
        out.push_str("\n_(errors cut to fit the comment; all of them are in the run log)_\n");
    }
    out
}

/// Objects destroyed, replaced or forgotten: never collapsed, and never cut unless the list
/// alone would pass GitHub's limit.
pub(super) fn destructive(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let rows: Vec<String> = s
        .destructive()
        .map(|r| {
            let why = r.reason.as_deref().unwrap_or_default();
            format!("| **{}** | {} | {why} |", r.label(), address_cell(r))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let (destroy, replace, forget) = (
        s.resources.iter().filter(|r| r.action == Action::Delete).count(),
        s.resources.iter().filter(|r| r.action == Action::Replace).count(),
        s.resources.iter().filter(|r| matches!(r.action, Action::Forget | Action::CreateThenForget)).count(),
    );
    let mut what = Vec::new();
    for (n, verb) in
        [(destroy, "destroyed"), (replace, "replaced (destroyed and created again)"), (forget, "forgotten")]
    {
        if n > 0 {
            what.push(format!("{n} {verb}"));
        }
    }
    let unknown = s.resources.iter().filter(|r| r.action == Action::Unknown).count();
    if unknown > 0 {
        what.push(format!("{unknown} with an action this version does not know (read the full plan)"));
    }
    let mut title = format!("#### ⚠️ Destroyed, replaced or forgotten\n\n> [!WARNING]\n> {}.", what.join(", "));
    if forget > 0 {
        title.push_str(
            " A forgotten object leaves Terraform's state but is not destroyed: nothing manages it afterwards.",
        );
    }
    table(&title, "| Action | Address | Why |\n| --- | --- | --- |", &rows, budget, run_url)
}

/// Creates, updates, imports, moves and reads, grouped by the component they belong to
/// (`module.<component>`), in the order Terraform lists them; objects of the root module
/// last.
pub(super) fn constructive(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let mut groups: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for r in s.constructive() {
        let row = format!("| {} | {} |", r.label(), address_cell(r));
        match groups.iter_mut().find(|(component, _)| *component == r.component()) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((r.component(), vec![row])),
        }
    }
    groups.sort_by_key(|(component, _)| component.is_none());
    // A root of no module calls (not an owner's file) has nothing to group.
    let only_root = matches!(groups.as_slice(), [(None, _)]);
    let groups: Vec<(Option<String>, &[String])> = groups
        .iter()
        .map(|(component, rows)| {
            let subtitle = match component {
                Some(name) => Some(format!("Component {}", code(name))),
                None if only_root => None,
                None => Some("Outside any component".to_owned()),
            };
            (subtitle, rows.as_slice())
        })
        .collect();
    grouped("**Resources**", "| Action | Address |\n| --- | --- |", &groups, budget, run_url)
}

pub(super) fn deferred(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let rows: Vec<String> = s
        .deferred
        .iter()
        .map(|d| format!("| {} | {} | because {} |", code(&d.action), code(&d.address), d.reason))
        .collect();
    let title = "**Deferred**: Terraform could not plan these yet. This is a partial plan; they need another \
                 plan once it is applied.";
    table(title, "| Action | Address | Why |\n| --- | --- | --- |", &rows, budget, run_url)
}

pub(super) fn drift(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let rows: Vec<String> = s
        .drifted
        .iter()
        .map(|r| {
            let what = match r.action {
                Action::Update => "changed",
                Action::Delete => "deleted",
                Action::NoOp if r.moved_from.is_some() => "moved",
                _ => r.action.label(),
            };
            format!("| {what} | {} |", address_cell(r))
        })
        .collect();
    let title = "**Changed outside of Terraform** since the last apply (Terraform's plan accounts for these):";
    table(title, "| Change | Address |\n| --- | --- |", &rows, budget, run_url)
}

pub(super) fn actions(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let rows: Vec<String> = s
        .actions
        .iter()
        .map(|a| {
            let trigger = match &a.trigger {
                Trigger::Invoked { calling_resource: None } => "invoked directly".to_owned(),
                Trigger::Invoked { calling_resource: Some(r) } => format!("invoked directly, for {}", code(r)),
                Trigger::Lifecycle { event, resource } => format!("{} of {}", code(event), code(resource)),
            };
            format!("| {} | {trigger} |", code(&a.address))
        })
        .collect();
    table("**Actions to invoke**", "| Action | Trigger |\n| --- | --- |", &rows, budget, run_url)
}

pub(super) fn outputs(s: &PlanSummary, budget: usize, run_url: Option<&str>) -> String {
    let rows: Vec<String> = s
        .outputs
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .map(|o| format!("| {} | {} | {} |", code(&o.name), o.action.label(), code(&o.value)))
        .collect();
    table("**Outputs**", "| Output | Action | Value |\n| --- | --- | --- |", &rows, budget, run_url)
}

/// The longest prefix of `text` with at most `max` characters, ending at a line break if one
/// is near; and whether it was cut.
pub(super) fn cut_text(text: &str, max: usize) -> (&str, bool) {
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    if end == text.len() {
        return (text, false);
    }
    let prefix = &text[..end];
    let kept = match prefix.rfind('\n') {
        Some(nl) if nl + 1 >= end.saturating_sub(2000) => &prefix[..=nl],
        _ => prefix,
    };
    (kept, true)
}
