//! The fleet page (`index.html`): one row per target × environment, every target once, the
//! ones that need a look first (by their most urgent [`Attention`], then in the fleet's
//! order). A row that needs a look is marked three ways — a class and a `data-state`
//! attribute for styling and tests, and the words in its State column — never by colour
//! alone.

use std::fmt::Write as _;

use super::{Site, layout, slug};
use crate::overview::read::TargetRead;
use crate::overview::{Attention, Counts, Row, cells};
use crate::report::html::escape;
use crate::report::name_of;

/// The columns before the cells: the state, then who and where.
const LEADING: [&str; 4] = ["State", "Owner", "Kind", "Environment"];

/// The columns after the owner, kind and environment, in the order [`cells_of`] fills them:
/// the fleet page's headers and the target page's labels are these words alone.
const CELLS: [&str; 9] =
    ["Applied", "Latest change", "Plan waiting", "Drift", "Health", "Expires", "Lock", "Cost / month", "Requests"];

/// Where a row goes: those that need a look first, the most urgent first; the others keep
/// the fleet's order (the sort is stable).
fn urgency(row: &Row) -> (bool, Option<Attention>) {
    (row.attention.is_empty(), row.attention.first().copied())
}

/// `failing`, `drifted, locked`, or `ok`: the state in words, and its sort key.
pub(super) fn state(row: &Row) -> (String, String, usize) {
    match row.attention.first() {
        None => ("ok".to_owned(), "ok".to_owned(), usize::MAX),
        Some(first) => {
            let words: Vec<String> = row.attention.iter().map(name_of).collect();
            (name_of(first), words.join(", "), *first as usize)
        }
    }
}

/// The row's class and `data-state` attributes: every attention as a class, the most
/// urgent as the state.
pub(super) fn marks(row: &Row) -> String {
    let (state, _, _) = state(row);
    let classes: Vec<String> = row.attention.iter().map(name_of).collect();
    let class = if classes.is_empty() { "ok".to_owned() } else { format!("attention {}", classes.join(" ")) };
    format!("class=\"{}\" data-state=\"{}\"", escape(&class), escape(&state))
}

/// The cells after the owner, kind and environment (as `overview` words them), shared with
/// the target page's summary.
pub(super) fn cells_of(row: &Row) -> [(&'static str, String, Option<String>); 9] {
    let esc: cells::Escape<'_> = &escape;
    let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "—".to_owned());
    let latest = match &row.latest {
        Some(l) => {
            let step = escape(&name_of(&l.step));
            match &l.error {
                Some(error) => format!("{step}: <span class=\"error\">{}</span>", escape(error)),
                None => step,
            }
        }
        None => "—".to_owned(),
    };
    let drift_error = row.drift.as_ref().and_then(|d| d.error.as_ref()).map(|e| format!(": {}", escape(e)));
    let drift = cells::drift(row.drift.as_ref()).map(|d| format!("{d}{}", drift_error.unwrap_or_default()));
    let cells: [(String, Option<String>); 9] = [
        (or_dash(cells::applied(row.applied.as_ref(), esc)), row.applied.as_ref().map(|a| escape(&a.at))),
        (latest, None),
        (or_dash(cells::waiting(row.waiting.as_ref(), esc)), None),
        (or_dash(drift), None),
        (or_dash(cells::health(row.health.as_ref())), None),
        (or_dash(cells::expiry(row.expiry.as_ref(), esc)), row.expiry.as_ref().map(|e| e.days_left.to_string())),
        (or_dash(cells::lock(row.lock.as_ref(), esc)), None),
        (or_dash(cells::cost(row.monthly_cost)), row.monthly_cost.map(|c| format!("{c:.2}"))),
        (or_dash(cells::requests(&row.requests, esc)), None),
    ];
    let mut label = CELLS.into_iter();
    cells.map(|(cell, sort)| (label.next().unwrap_or_default(), cell, sort))
}

/// `index.html`.
pub fn page(site: &Site<'_>) -> String {
    let mut order: Vec<&TargetRead> = site.targets.iter().collect();
    order.sort_by_key(|read| urgency(&read.row));
    let rows: Vec<Row> = site.targets.iter().map(|r| r.row.clone()).collect();
    let mut body = String::from("<header>\n<h1>Fleet status</h1>\n");
    body.push_str(&super::provenance(site));
    body.push_str("</header>\n");
    let _ = writeln!(body, "<p class=\"summary\">{}</p>", escape(&Counts::of(&rows).sentence()));
    body.push_str("<table id=\"fleet\" class=\"sortable\">\n<thead><tr>");
    for header in LEADING.into_iter().chain(CELLS) {
        body.push_str(&layout::sortable_header(header));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for read in order {
        let row = &read.row;
        let (_, words, rank) = state(row);
        let mark = if row.attention.is_empty() { "" } else { "⚠ " };
        let _ = write!(
            body,
            "<tr {marks}><td class=\"state\" data-sort=\"{rank}\">{mark}{words}</td><td><a href=\"{href}\">{owner}</a></td><td>{kind}</td><td>{env}</td>",
            marks = marks(row),
            rank = rank.min(99),
            words = escape(&words),
            href = escape(&slug::path(&read.target)),
            owner = escape(&row.customer),
            kind = escape(row.kind),
            env = escape(&row.environment),
        );
        for (_, cell, sort) in cells_of(row) {
            match sort {
                Some(key) => {
                    let _ = write!(body, "<td data-sort=\"{key}\">{cell}</td>");
                }
                None => {
                    let _ = write!(body, "<td>{cell}</td>");
                }
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    layout::page("Fleet status", &body)
}
