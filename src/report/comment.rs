//! The sticky PR comment: one per environment, found again by its hidden marker.
//!
//! It shows the plan's digest (the same digest apply verifies), a summary table, each changed
//! resource and output, and the full plan in a collapsed block. GitHub refuses comments over
//! 65,536 characters, so the plan text is cut to fit, with a pointer to the workflow run.

use std::fmt::Write;

use super::prefix;
use crate::diagnostic::Diagnostic;
use crate::terraform::summary::PlanSummary;

/// GitHub's hard limit on a comment body, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// The hidden marker that identifies the comment for `env`.
pub fn marker(env: &str) -> String {
    format!("<!-- infra-manager:plan:{env} -->")
}

/// What a plan comment shows.
#[derive(Debug, Clone)]
pub struct PlanComment<'a> {
    pub environment: &'a str,
    pub customer: &'a str,
    pub sha: &'a str,
    /// Full hex sha256 of the plan file; the comment shows its first 12 characters.
    pub plan_sha256: &'a str,
    pub summary: &'a PlanSummary,
    /// `terraform show` text, for people.
    pub plan_text: &'a str,
    pub run_url: Option<&'a str>,
}

/// The comment for a successful plan, never longer than [`MAX_COMMENT_CHARS`].
pub fn plan_comment(c: &PlanComment<'_>) -> String {
    let head = plan_head(c);
    let tail = footer(c.run_url);
    let full = details(c.plan_text, None);
    let body = format!("{head}{full}{tail}");
    if body.chars().count() <= MAX_COMMENT_CHARS {
        return body;
    }
    let total = c.plan_text.chars().count();
    // Size the cut from the frame around it, leaving room for the note's own digits.
    let note_probe = details("", Some((total, total, c.run_url)));
    let frame = head.chars().count() + tail.chars().count() + note_probe.chars().count();
    let budget = MAX_COMMENT_CHARS.saturating_sub(frame + 16);
    let kept = cut_at_line(c.plan_text, budget);
    let shown = kept.chars().count();
    format!("{head}{}{tail}", details(kept, Some((shown, total, c.run_url))))
}

fn plan_head(c: &PlanComment<'_>) -> String {
    let s = c.summary;
    let icon = if s.has_changes() { "📝" } else { "✅" };
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(c.environment));
    let _ = writeln!(out, "### {icon} Terraform plan for `{}`: {}", c.environment, s.headline());
    let _ = writeln!(out);
    let _ = writeln!(out, "| Customer | Environment | Commit | Plan digest |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    let (short_sha, digest) = (prefix(c.sha, 7), prefix(c.plan_sha256, 12));
    let _ = writeln!(out, "| `{}` | `{}` | `{short_sha}` | `sha256:{digest}` |", c.customer, c.environment);
    let _ = writeln!(out);
    let _ = writeln!(out, "| Add | Change | Destroy | Replace |");
    let _ = writeln!(out, "| ---: | ---: | ---: | ---: |");
    let _ = writeln!(out, "| {} | {} | {} | {} |", s.add, s.change, s.destroy, s.replace);
    if !s.resources.is_empty() {
        let _ = writeln!(out, "\n**Resources**\n");
        let _ = writeln!(out, "| Action | Address |");
        let _ = writeln!(out, "| --- | --- |");
        for r in &s.resources {
            let _ = writeln!(out, "| {} | `{}` |", r.action.label(), escape_cell(&r.address));
        }
    }
    let changed: Vec<_> = s.outputs.iter().filter(|o| o.action != crate::terraform::summary::Action::NoOp).collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\n**Outputs**\n");
        let _ = writeln!(out, "| Output | Action | Value |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for o in changed {
            let _ = writeln!(out, "| `{}` | {} | `{}` |", o.name, o.action.label(), escape_cell(&o.value));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Apply runs exactly this plan: its digest is checked before applying.");
    let _ = writeln!(out);
    out
}

/// Keeps a table cell on one line and its backticks balanced.
fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'").replace('\n', " ")
}

/// A fence longer than any backtick run in `text`, so plan text cannot close it.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// The collapsed block; `cut` is (shown, total, run URL) when the text was truncated.
fn details(text: &str, cut: Option<(usize, usize, Option<&str>)>) -> String {
    let fence = fence(text);
    let mut out = String::from("<details><summary>Full plan</summary>\n\n");
    let _ = writeln!(out, "{fence}text");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}");
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

/// The longest prefix of `text` with at most `max` characters, ending at a line break if one
/// is near.
fn cut_at_line(text: &str, max: usize) -> &str {
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    let prefix = &text[..end];
    match prefix.rfind('\n') {
        Some(nl) if nl + 1 >= end.saturating_sub(2000) => &prefix[..=nl],
        _ => prefix,
    }
}

fn footer(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("\n<sub>infra-manager · [workflow run]({url})</sub>\n"),
        None => "\n<sub>infra-manager · local run</sub>\n".to_owned(),
    }
}

/// The comment for a `variables.yml` that did not validate.
pub fn invalid_comment(
    environment: &str,
    customer: &str,
    sha: &str,
    errors: &[Diagnostic],
    run_url: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(environment));
    let count = errors.len();
    let plural = if count == 1 { "" } else { "s" };
    let _ = writeln!(out, "### ❌ `infra/variables.yml` has {count} problem{plural} (`{environment}`)");
    let _ = writeln!(out);
    let short_sha = prefix(sha, 7);
    let _ =
        writeln!(out, "Customer `{customer}`, commit `{short_sha}`. Nothing was planned; fix these and push again:");
    let _ = writeln!(out);
    for d in errors.iter().take(100) {
        let _ = write!(out, "- `{}:{}:{}` {}", d.file, d.line, d.column, escape_inline(&d.message));
        if let Some(hint) = &d.hint {
            let _ = write!(out, " — _{}_", escape_inline(hint));
        }
        let _ = writeln!(out);
    }
    if count > 100 {
        let _ = writeln!(out, "- … and {} more", count - 100);
    }
    out.push_str(&footer(run_url));
    out
}

/// The comment for a plan that failed to run.
pub fn failed_comment(environment: &str, customer: &str, sha: &str, message: &str, run_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(environment));
    let _ = writeln!(out, "### ⚠️ Terraform plan for `{environment}` failed");
    let _ = writeln!(out);
    let short_sha = prefix(sha, 7);
    let _ = writeln!(out, "Customer `{customer}`, commit `{short_sha}`.");
    let _ = writeln!(out);
    let text = crate::report::truncate_chars(message, 20_000);
    let fence = fence(&text);
    let _ = writeln!(out, "{fence}text\n{text}\n{fence}");
    out.push_str(&footer(run_url));
    out
}

/// Customer text in Markdown prose: no HTML, no mentions or links that ping or render.
fn escape_inline(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;").replace('@', "@\u{200b}")
}

#[cfg(test)]
mod tests;
