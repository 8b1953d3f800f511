//! The section above the resources that says what changed in the owner's file, in its own
//! terms ([`crate::file_diff`]): components added and removed, and under each component the
//! inputs that changed, `old → new`. Values are customer text: code spans only, each cut to
//! [`MAX_VALUE_CHARS`], and the section ends within its budget with a count of what was left.

use crate::file_diff::{ComponentRef, FileDiff, InputChange};
use crate::report::markdown::code;
use crate::report::truncate_chars;

use super::sections::chars;

/// Most characters of one value shown (before escaping).
const MAX_VALUE_CHARS: usize = 200;

/// The section for `diff` of `file` in `env`, within `budget` characters.
pub(super) fn section(diff: &FileDiff, file: &str, env: &str, budget: usize) -> String {
    let mut out = format!("#### 📄 What changed in {} for {}\n\n", code(file), code(env));
    let since = diff.since.as_deref().map(|sha| code(crate::report::prefix(sha, 7)));
    if let Some(why) = &diff.unavailable {
        let since = since.unwrap_or_default();
        out.push_str(&format!(
            "The configuration last applied (commit {since}) can't be compared with this one: {}\n",
            code(why)
        ));
        return out;
    }
    match (&since, diff.first_apply, diff.is_empty()) {
        (_, true, _) => out.push_str(&format!("Nothing was applied to {} yet: every component is new.\n\n", code(env))),
        (Some(since), _, true) => {
            out.push_str(&format!("Nothing: the file is as last applied (commit {since}).\n"));
            return out;
        }
        (Some(since), _, false) => out.push_str(&format!("Since the configuration last applied (commit {since}):\n\n")),
        (None, _, _) => {}
    }
    let mut lines = Vec::new();
    if let Some(renamed) = &diff.project {
        lines.push(Line::Item(format!(
            "- project name: {} → {} (every resource's name starts with it)",
            code(&renamed.old),
            code(&renamed.new)
        )));
    }
    lines.extend(diff.added.iter().map(|c| Line::Item(format!("- added: {}", component(c)))));
    lines.extend(diff.removed.iter().map(|c| Line::Item(format!("- removed: {}", component(c)))));
    for changed in &diff.changed {
        lines.push(Line::Heading(format!("\n**Component {}**\n", component(&changed.component))));
        lines.extend(changed.inputs.iter().map(|i| Line::Item(format!("- {}", input(i)))));
    }
    out.push_str(&within(lines, budget.saturating_sub(chars(&out))));
    out
}

/// A line of the section: a component's heading, or an item a reader may miss if cut.
enum Line {
    Heading(String),
    Item(String),
}

/// As many `lines` as fit in `budget`, then a line counting the items left out. A heading
/// is shown only with its first item.
fn within(lines: Vec<Line>, budget: usize) -> String {
    let total = lines.iter().filter(|l| matches!(l, Line::Item(_))).count();
    let more = |n: usize| format!("- … and {n} more (the full plan below shows what they do)\n");
    let room = budget.saturating_sub(chars(&more(total)) + 1);
    let cost = |line: Option<&Line>| match line {
        Some(Line::Heading(text) | Line::Item(text)) => chars(text) + 1,
        None => 0,
    };
    let mut out = String::new();
    let mut shown = 0;
    for (i, line) in lines.iter().enumerate() {
        let needed = match line {
            Line::Heading(_) => cost(Some(line)) + cost(lines.get(i + 1)),
            Line::Item(_) => cost(Some(line)),
        };
        if chars(&out) + needed > room {
            out.push_str(&more(total - shown));
            return out;
        }
        let (Line::Heading(text) | Line::Item(text)) = line;
        out.push_str(text);
        out.push('\n');
        shown += usize::from(matches!(line, Line::Item(_)));
    }
    out
}

/// `` `web` (`app-environment`) ``: a component and its catalog type.
fn component(c: &ComponentRef) -> String {
    match &c.type_name {
        Some(ty) => format!("{} ({})", code(&c.name), code(ty)),
        None => code(&c.name),
    }
}

/// `` `max_instances`: `2` → `3` ``; a sensitive input without its values.
fn input(change: &InputChange) -> String {
    if change.sensitive {
        return format!("{}: changed (sensitive: its values are not shown)", code(&change.input));
    }
    format!("{}: {} → {}", code(&change.input), value(change.old.as_ref()), value(change.new.as_ref()))
}

/// A value as the customer wrote it: a string bare, anything else as JSON; unset in words.
fn value(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "_(not set)_".to_owned(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => code(&truncate_chars(s, MAX_VALUE_CHARS)),
        Some(other) => code(&truncate_chars(&other.to_string(), MAX_VALUE_CHARS)),
    }
}
