//! A run's check run output (GitHub App only): the verdict as the title, the counts with
//! destroys first as the summary, the plan as the text (the comment's collapsed block, cut
//! the same way to GitHub's 65,535-character limit), and an annotation at each problem of
//! an invalid `infra/variables.yml`.

use std::fmt::Write;

use super::comment::plan_details;
use super::markdown::fenced;
use super::truncate_chars;
use crate::codehost::{CheckAnnotation, CheckConclusion, CheckReport};
use crate::diagnostic::Diagnostic;
use crate::limits::CHECK_OUTPUT_CHARS;

/// Most annotations a check run gets (GitHub shows 50 per request; the rest are in the run).
const MAX_ANNOTATIONS: usize = 100;
/// Room kept for the text's frame (fence, note) when the failure text is cut.
const FRAME_CHARS: usize = 2_000;

/// A run that finished: `success`, or `neutral` when it changed nothing.
pub fn finished(counts: (u32, u32, u32), title: &str, plan_text: Option<&str>, run_url: Option<&str>) -> CheckReport {
    let (add, change, destroy) = counts;
    let conclusion =
        if (add, change, destroy) == (0, 0, 0) { CheckConclusion::Neutral } else { CheckConclusion::Success };
    CheckReport {
        conclusion,
        title: title.to_owned(),
        summary: counts_table(counts),
        text: plan_text.filter(|t| !t.is_empty()).map(|t| plan_details(t, CHECK_OUTPUT_CHARS, run_url)),
        annotations: Vec::new(),
    }
}

/// A run that failed (or was cancelled): its error as the text, each diagnostic of the
/// customer's file as an annotation.
pub fn failed(cancelled: bool, title: &str, error_text: &str, diagnostics: &[Diagnostic]) -> CheckReport {
    let conclusion = if cancelled { CheckConclusion::Cancelled } else { CheckConclusion::Failure };
    let mut summary = String::new();
    if diagnostics.is_empty() {
        summary.push_str("The run failed; the error is below and in the run log.\n");
    } else {
        let count = diagnostics.len();
        let _ = writeln!(
            summary,
            "`infra/variables.yml` has {count} problem{}: nothing was planned. Each is annotated at its line.",
            if count == 1 { "" } else { "s" }
        );
    }
    let text = fenced(&truncate_chars(error_text, CHECK_OUTPUT_CHARS - FRAME_CHARS), "text");
    CheckReport {
        conclusion,
        title: title.to_owned(),
        summary,
        text: Some(text),
        annotations: diagnostics.iter().take(MAX_ANNOTATIONS).map(annotation).collect(),
    }
}

/// Destroys first: what reviewers must not miss.
fn counts_table((add, change, destroy): (u32, u32, u32)) -> String {
    format!("| Destroy | Change | Add |\n| ---: | ---: | ---: |\n| {destroy} | {change} | {add} |\n")
}

fn annotation(d: &Diagnostic) -> CheckAnnotation {
    let message = match &d.hint {
        Some(hint) => format!("{}\nhint: {hint}", d.message),
        None => d.message.clone(),
    };
    CheckAnnotation {
        path: d.file.clone(),
        start_line: d.line.max(1),
        end_line: d.line.max(1),
        start_column: Some(d.column.max(1)),
        end_column: Some(d.column.max(1)),
        annotation_level: "failure",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_changes_is_neutral_and_the_counts_put_destroys_first() {
        let report = finished((0, 0, 0), "No changes.", Some(""), None);
        assert_eq!(report.conclusion, CheckConclusion::Neutral);
        assert_eq!(report.text, None);
        let report = finished((2, 1, 3), "Plan: 2 to add, 1 to change, 3 to destroy.", Some("plan"), None);
        assert_eq!(report.conclusion, CheckConclusion::Success);
        assert!(report.summary.contains("| Destroy | Change | Add |\n| ---: | ---: | ---: |\n| 3 | 1 | 2 |"));
    }

    #[test]
    fn a_huge_plan_is_cut_to_the_checks_limit() {
        let plan = "resource \"x\" \"y\" {}\n".repeat(10_000);
        let text = finished((1, 0, 0), "t", Some(&plan), Some("https://run")).text.expect("text");
        assert!(text.chars().count() <= CHECK_OUTPUT_CHARS);
        assert!(text.contains("The plan output was truncated"));
    }

    #[test]
    fn diagnostics_become_annotations_at_their_line() {
        let d = Diagnostic {
            file: "infra/variables.yml".to_owned(),
            line: 4,
            column: 7,
            message: "unknown key".to_owned(),
            hint: Some("remove it".to_owned()),
        };
        let report = failed(false, "invalid", "error", std::slice::from_ref(&d));
        assert_eq!(report.conclusion, CheckConclusion::Failure);
        assert_eq!(report.annotations[0].start_line, 4);
        assert_eq!(report.annotations[0].start_column, Some(7));
        assert_eq!(report.annotations[0].message, "unknown key\nhint: remove it");
        assert_eq!(failed(true, "t", "e", &[]).conclusion, CheckConclusion::Cancelled);
    }
}
