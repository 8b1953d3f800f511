//! A target's page: its row (as on the fleet page, with the same marks), the outputs of its
//! last successful apply, and its timeline of runs, newest first — kind, status, commit,
//! when, the counts, a link to the workflow run, and what it found or why it failed — from
//! the records its row was made from.

use std::fmt::Write as _;

use super::fleet::{cells_of, marks, state};
use super::{Site, layout, link};
use crate::overview::cells;
use crate::overview::read::TargetRead;
use crate::report::html::escape;
use crate::report::name_of;
use crate::store::{RunKind, RunRecord, RunStatus};

/// The most runs a page lists; older ones are counted (`history` lists them all).
pub const MAX_RUNS: usize = 200;

const TIMELINE: [&str; 7] = ["Started", "Kind", "Status", "Revision", "Changes", "Workflow run", "Says"];

/// `targets/<slug>.html`.
pub fn page(site: &Site<'_>, read: &TargetRead) -> String {
    let row = &read.row;
    let title = format!("{} · {}", row.customer, row.environment);
    let mut body = String::from("<header>\n<p><a href=\"../index.html\">← Fleet status</a></p>\n");
    let _ = writeln!(body, "<h1>{}</h1>", escape(&title));
    body.push_str(&super::provenance(site));
    body.push_str("</header>\n");
    let (_, words, _) = state(row);
    let _ = writeln!(
        body,
        "<table id=\"target\">\n<tbody>\n<tr {}><th>State</th><td class=\"state\">{}{}</td></tr>",
        marks(row),
        if row.attention.is_empty() { "" } else { "⚠ " },
        escape(&words)
    );
    let _ = writeln!(body, "<tr><th>Kind</th><td>{}</td></tr>", escape(row.kind));
    for (label, cell, _) in cells_of(row) {
        let _ = writeln!(body, "<tr><th>{}</th><td>{cell}</td></tr>", escape(label));
    }
    body.push_str("</tbody>\n</table>\n");
    let outputs = read
        .records
        .iter()
        .find(|r| r.kind == RunKind::Apply && r.status == RunStatus::Succeeded)
        .and_then(|r| r.outputs.as_deref());
    if let Some(outputs) = outputs {
        let _ = writeln!(body, "<h2>Outputs of the last apply</h2>\n<pre id=\"outputs\">{}</pre>", escape(outputs));
    }
    body.push_str("<h2>Runs, newest first</h2>\n");
    if read.records.is_empty() {
        body.push_str("<p>No run recorded.</p>\n");
    } else {
        body.push_str("<table id=\"runs\" class=\"sortable\">\n<thead><tr>");
        for header in TIMELINE {
            body.push_str(&layout::sortable_header(header));
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        for record in read.records.iter().take(MAX_RUNS) {
            body.push_str(&run_row(record));
        }
        body.push_str("</tbody>\n</table>\n");
        let older = read.records.len().saturating_sub(MAX_RUNS);
        if older > 0 {
            let _ =
                writeln!(body, "<p>… and {older} older runs (<code>infra-manager history</code> lists them all).</p>");
        }
    }
    layout::page(&escape(&title), &body)
}

/// One run of the timeline.
fn run_row(record: &RunRecord) -> String {
    let esc: cells::Escape<'_> = &escape;
    let status = name_of(&record.status);
    let counts = crate::report::counts(record.add, record.change, record.destroy).unwrap_or_else(|| "—".to_owned());
    let run = match record.run_url.as_deref().and_then(link::workflow_run) {
        Some(url) => {
            let id = url.rsplit('/').next().unwrap_or_default().to_owned();
            format!("<a href=\"{}\" rel=\"noopener noreferrer\">run {}</a>", escape(&url), escape(&id))
        }
        None => "—".to_owned(),
    };
    // What a drift run found (it succeeds either way), and why any run failed.
    let says = match (record.kind, record.status, record.message.as_deref()) {
        (RunKind::Drift, _, Some(said)) | (_, RunStatus::Failed | RunStatus::Cancelled, Some(said)) => escape(said),
        _ => String::new(),
    };
    format!(
        "<tr class=\"{status}\" data-status=\"{status}\"><td data-sort=\"{sort}\">{started}</td><td>{kind}</td><td>{status}</td><td>{revision}</td><td>{counts}</td><td>{run}</td><td class=\"says\">{says}</td></tr>\n",
        status = escape(&status),
        sort = escape(&record.started_at),
        started = cells::time(&record.started_at, esc),
        kind = escape(&name_of(&record.kind)),
        revision = escape(&record.revision.shown(&record.sha)),
    )
}
