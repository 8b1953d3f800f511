//! The overview for people: a line that counts what needs a look, one aligned row per
//! target, then the errors of the failing ones (kept out of the table, whose rows stay one
//! short line each). Printed through `output`, whose rule makes untrusted text inert.

use super::{Counts, Row, cells};

const HEADERS: [&str; 11] = [
    "OWNER",
    "ENV",
    "APPLIED",
    "LATEST",
    "PLAN WAITING",
    "DRIFT",
    "HEALTH",
    "EXPIRES",
    "LOCK",
    "COST/MONTH",
    "REQUESTS",
];

/// The cells of one row, in [`HEADERS`]' order.
fn cells(row: &Row) -> [String; 11] {
    let esc: cells::Escape<'_> = &str::to_owned;
    let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "-".to_owned());
    [
        row.customer.clone(),
        row.environment.clone(),
        or_dash(cells::applied(row.applied.as_ref(), esc)),
        or_dash(cells::latest(row.latest.as_ref())),
        or_dash(cells::waiting(row.waiting.as_ref(), esc)),
        or_dash(cells::drift(row.drift.as_ref())),
        or_dash(cells::health(row.health.as_ref())),
        or_dash(cells::expiry(row.expiry.as_ref(), esc)),
        or_dash(cells::lock(row.lock.as_ref(), esc)),
        or_dash(cells::cost(row.monthly_cost)),
        or_dash(cells::requests(&row.requests, esc)),
    ]
}

/// The whole text: the counts, the table, the errors.
pub fn render(rows: &[Row], counts: &Counts) -> String {
    let mut out = format!("infra-manager overview: {}\n", counts.sentence());
    if rows.is_empty() {
        return out;
    }
    let table: Vec<[String; 11]> = std::iter::once(HEADERS.map(str::to_owned)).chain(rows.iter().map(cells)).collect();
    let mut widths = [0usize; 11];
    for line in &table {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    out.push('\n');
    for line in &table {
        let mut text = String::new();
        for (cell, width) in line.iter().zip(widths) {
            text.push_str(cell);
            text.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    let errors: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            let latest = r.latest.as_ref().and_then(|l| l.error.as_ref().map(|e| (crate::report::name_of(&l.step), e)));
            let drift = r.drift.as_ref().and_then(|d| d.error.as_ref().map(|e| ("drift check failed".to_owned(), e)));
            latest
                .into_iter()
                .chain(drift)
                .map(move |(what, error)| format!("  {} {}: {what}: {error}", r.customer, r.environment))
        })
        .collect();
    if !errors.is_empty() {
        out.push_str("\nErrors:\n");
        for line in errors {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
