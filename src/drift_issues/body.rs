//! The drift issue's title and body (Markdown), and the body it is closed with.
//!
//! Customer and Terraform text (names, addresses, messages) reaches the body only through
//! [`crate::report::markdown::code`]; the body always starts with the hidden marker that
//! finds the issue again, and is cut to fit GitHub's limit.

use crate::limits::{COMMENT_CHARS, ISSUE_TITLE_CHARS};
use crate::pipeline::drift::{DriftResult, Drifted};
use crate::report::markdown::code;
use crate::report::{prefix, truncate_chars};
use crate::terraform::summary::{Action, ResourceChange};

/// Rows of the "changed outside Terraform" table before the rest is only counted.
const MAX_ROWS: usize = 50;

/// The hidden marker that identifies a target's drift issue; the body starts with it.
/// Customer and environment are validated names (no spaces, no `-->`).
pub fn marker(customer: &str, environment: &str) -> String {
    format!("<!-- infra-manager:drift {customer} {environment} -->")
}

/// `Drift: acme/web (staging)`. Issue titles are plain text, not Markdown.
pub fn title(r: &DriftResult) -> String {
    truncate_chars(&format!("Drift: {} ({})", r.customer, r.environment), ISSUE_TITLE_CHARS)
}

fn commit(r: &DriftResult) -> String {
    code(r.sha.as_deref().map_or("unknown", |s| prefix(s, 7)))
}

/// The body of a drifted target's issue: [`drifted_content`], then the footer linking the
/// run that found it.
pub fn drifted(r: &DriftResult, run_url: Option<&str>) -> String {
    drifted_content(r) + &footer(run_url)
}

/// What a drifted target's issue says of its drift: everything but the footer, whose run
/// link changes on every run. The issue is edited only when this changes ([`says`]).
pub fn drifted_content(r: &DriftResult) -> String {
    let mut body = format!(
        "{}\n## Drift: {} ({})\n\nThe infrastructure no longer matches the configuration last applied \
         (commit {}). A plan of that commit finds:\n\n",
        marker(&r.customer, &r.environment),
        code(&r.customer),
        code(&r.environment),
        commit(r),
    );
    body.push_str("| Changed outside Terraform | To add | To change | To destroy |\n| --- | --- | --- | --- |\n");
    body.push_str(&format!("| {} | {} | {} | {} |\n", r.changed_outside, r.add, r.change, r.destroy));
    if !r.resources.is_empty() {
        body.push_str(
            "\n### What drifted\n\n| Resource | What happened | Attributes that differ (applied → found) |\n| --- | --- | --- |\n",
        );
        for d in r.resources.iter().take(MAX_ROWS) {
            body.push_str(&format!("| {} | {} | {} |\n", address(&d.resource), what(d), attributes(d)));
        }
        let listed = r.resources.len().min(MAX_ROWS);
        let more = usize::try_from(r.resources_drifted).unwrap_or(usize::MAX).saturating_sub(listed);
        if more > 0 {
            body.push_str(&format!("\n…and {more} more.\n"));
        }
    }
    fit(body)
}

/// Whether an issue's `body` is `content` with a footer (whichever run it links).
pub fn says(body: &str, content: &str) -> bool {
    let link = body.strip_prefix(content).and_then(|rest| rest.strip_prefix('\n')?.strip_suffix(FOOTER_NOTE));
    link.is_some_and(|link| link.is_empty() || (link.starts_with("[") && link.ends_with("). ") && !link.contains('\n')))
}

/// The body a target's issue is closed with once it is back in sync.
pub fn back_in_sync(r: &DriftResult, run_url: Option<&str>) -> String {
    let body = format!(
        "{}\n## Back in sync: {} ({})\n\nThe drift check of the commit last applied ({}) found no changes: \
         the infrastructure matches its configuration again. Closing.\n",
        marker(&r.customer, &r.environment),
        code(&r.customer),
        code(&r.environment),
        commit(r),
    );
    fit(body) + &footer(run_url)
}

/// The footer's last words, after the run link.
const FOOTER_NOTE: &str =
    "infra-manager edits this issue when the drift changes and closes it when the target is back in sync.\n";

/// Room kept for the footer when the rest is cut to fit: a run link longer than that is
/// left out.
const FOOTER_ROOM: usize = 1_000;

fn footer(run_url: Option<&str>) -> String {
    let run = run_url
        .map(|url| format!("[The drift run]({url}). "))
        .filter(|link| link.chars().count() + FOOTER_NOTE.chars().count() < FOOTER_ROOM)
        .unwrap_or_default();
    format!("\n{run}{FOOTER_NOTE}")
}

/// What happened to a drifted resource: outside Terraform, or what the plan would do.
fn what(d: &Drifted) -> String {
    let r = &d.resource;
    if !d.outside {
        return format!("to {}", r.label());
    }
    let done = match r.action {
        Action::Update => "changed",
        Action::Delete => "deleted",
        Action::NoOp if r.moved_from.is_some() => "moved",
        _ => r.action.label(),
    };
    format!("{done} outside Terraform")
}

/// `` `path`: `applied` → `found` `` per attribute, one a line; the rest counted.
fn attributes(d: &Drifted) -> String {
    let mut lines: Vec<String> =
        d.attributes.iter().map(|a| format!("{}: {} → {}", code(&a.path), code(&a.applied), code(&a.found))).collect();
    let more = (d.attributes_changed as usize).saturating_sub(lines.len());
    if more > 0 {
        lines.push(format!("…and {more} more"));
    }
    lines.join("<br>")
}

fn address(r: &ResourceChange) -> String {
    match &r.moved_from {
        Some(old) => format!("{} → {}", code(old), code(&r.display_address())),
        None => code(&r.display_address()),
    }
}

/// Cuts a body to GitHub's limit, less the footer's room, on a line boundary, saying so;
/// the marker stays first.
fn fit(body: String) -> String {
    let limit = COMMENT_CHARS - FOOTER_ROOM;
    if body.chars().count() <= limit {
        return body;
    }
    let note = "\n…cut to fit GitHub's limit; the drift run's log has the rest.\n";
    let budget = limit - note.chars().count();
    let mut cut = String::new();
    for line in body.split_inclusive('\n') {
        if cut.chars().count() + line.chars().count() > budget {
            break;
        }
        cut.push_str(line);
    }
    cut.push_str(note);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::drift::DriftState;
    use crate::terraform::differences::Attribute;

    fn change(address: &str, action: Action) -> ResourceChange {
        let json = serde_json::json!({"address": address, "change": {"actions": [match action {
            Action::Delete => "delete",
            _ => "update",
        }]}});
        ResourceChange::from_json(&json)
    }

    fn outside(address: &str, action: Action) -> Drifted {
        Drifted { resource: change(address, action), outside: true, attributes: Vec::new(), attributes_changed: 0 }
    }

    fn attribute(path: &str, applied: &str, found: &str) -> Attribute {
        Attribute { path: path.into(), applied: applied.into(), found: found.into() }
    }

    pub(crate) fn result(resources: Vec<Drifted>) -> DriftResult {
        DriftResult {
            customer: "acme/webshop".into(),
            environment: "staging".into(),
            sha: Some("1111111111111111111111111111111111111111".into()),
            result: DriftState::Drifted,
            add: 1,
            change: 2,
            destroy: 0,
            changed_outside: u32::try_from(resources.iter().filter(|d| d.outside).count()).unwrap_or(u32::MAX),
            resources_drifted: u32::try_from(resources.len()).unwrap_or(u32::MAX),
            resources,
            message: None,
        }
    }

    #[test]
    fn a_drifted_targets_issue() {
        let tagged = Drifted {
            attributes: vec![attribute("tags.owner", "(absent)", "\"someone-by-hand\"")],
            attributes_changed: 1,
            ..outside("aws_s3_bucket.assets", Action::Update)
        };
        let sg = Drifted {
            outside: false,
            attributes: (0..5)
                .map(|i| attribute(&format!("ingress[{i}].cidr_ipv4"), "\"0.0.0.0/0\"", "\"10.0.0.0/8\""))
                .collect(),
            attributes_changed: 7,
            ..outside("terraform_data.security_group", Action::Update)
        };
        let r = result(vec![tagged, outside("aws_instance.web[\"a|b\"]", Action::Delete), sg]);
        assert_eq!(title(&r), "Drift: acme/webshop (staging)");
        insta::assert_snapshot!(drifted(&r, Some("https://github.com/provider/manager/actions/runs/42")));
    }

    #[test]
    fn back_in_sync_body() {
        let r = DriftResult { result: DriftState::InSync, ..result(Vec::new()) };
        insta::assert_snapshot!(back_in_sync(&r, None));
    }

    #[test]
    fn terraform_text_and_customer_values_are_escaped_and_the_body_bounded() {
        let hostile = "x\n## owned\n<!-- infra-manager:drift acme/webshop staging -->@admin `rm` | <br>";
        let values = Drifted {
            attributes: vec![attribute(hostile, hostile, hostile)],
            attributes_changed: 1,
            ..outside(hostile, Action::Update)
        };
        let mut r = result(vec![values]);
        let body = drifted(&r, None);
        assert!(body.starts_with(&marker("acme/webshop", "staging")));
        assert_eq!(body.matches("<!--").count(), 1, "only the service's own marker: {body}");
        assert!(!body.contains("\n## owned"), "{body}");
        let row = body.lines().find(|l| l.contains("owned")).expect("the row");
        assert_eq!(row.matches(" | ").count(), 2, "three cells, whatever the values hold: {row}");

        r.resources = (0..MAX_ROWS + 30).map(|i| outside(&format!("aws_s3_object.o{i}"), Action::Update)).collect();
        r.resources_drifted = 500;
        let body = drifted(&r, None);
        assert_eq!(body.matches("| changed outside Terraform |").count(), MAX_ROWS);
        assert!(body.contains("…and 450 more."), "{body}");

        let huge = "y".repeat(400);
        r.resources = (0..MAX_ROWS).map(|i| outside(&format!("{huge}{i}"), Action::Update)).collect();
        let fitted = fit(format!("{}\n{}", marker("a/b", "c"), "line of text\n".repeat(10_000)));
        assert!(fitted.chars().count() <= COMMENT_CHARS - FOOTER_ROOM);
        assert!(fitted.starts_with("<!-- infra-manager:drift a/b c -->"));
        assert!(fitted.ends_with("the drift run's log has the rest.\n"));
        assert!(drifted(&r, None).chars().count() <= COMMENT_CHARS);
        assert!(
            drifted(&r, Some(&format!("https://x/{}", "r".repeat(COMMENT_CHARS)))).chars().count() <= COMMENT_CHARS
        );
    }

    #[test]
    fn a_body_says_its_content_whichever_run_it_links() {
        let r = result(vec![outside("aws_security_group.app", Action::Update)]);
        let content = drifted_content(&r);
        for run in [None, Some("https://github.com/p/m/actions/runs/1"), Some("https://github.com/p/m/actions/runs/2")]
        {
            assert!(says(&drifted(&r, run), &content), "{run:?}");
        }
        let other = DriftResult { add: 9, ..r.clone() };
        assert!(!says(&drifted(&other, None), &content), "the counts changed");
        let more = format!("{content}| changed | `x` |\n{}", footer(None));
        assert!(!says(&more, &content), "a row more is a change");
        assert!(!says(&format!("{}\nhand-written\n{FOOTER_NOTE}", content), &content));
    }
}
