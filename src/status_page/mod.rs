//! The status page (`report --html DIR`): a static, self-contained site made from the same
//! rows as `overview` ([`crate::overview::read`]) — a fleet page (`index.html`, the targets
//! that need a look first, sortable by any column) and one page per target with its
//! timeline of runs, from the records the rows were made from (read once).
//!
//! Rendering is pure ([`render`]: the site's files as text); [`write`] puts them in place
//! all at once. Every customer-supplied string goes through the one HTML rule,
//! `report::html::escape`; file names come from [`slug`], links to workflow runs from
//! [`link`].

pub mod fleet;
pub mod layout;
pub mod link;
pub mod slug;
pub mod target;
pub mod write;

use crate::overview::read::TargetRead;

pub use write::{SiteError, replace};

/// What the site is made of.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub generated_at: jiff::Timestamp,
    /// The manager repository (`GITHUB_REPOSITORY`), or where its checkout is.
    pub manager: &'a str,
    /// The manager commit the page was made at, when known (`GITHUB_SHA`).
    pub manager_commit: Option<&'a str>,
    /// The targets in the fleet's order, with their records.
    pub targets: &'a [TargetRead],
}

/// One file of the site: its path below the site's folder (`index.html`,
/// `targets/<slug>.html`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

/// Every file of the site.
pub fn render(site: &Site<'_>) -> Vec<File> {
    let mut files = Vec::with_capacity(site.targets.len() + 1);
    files.push(File { path: "index.html".to_owned(), text: fleet::page(site) });
    for read in site.targets {
        files.push(File { path: slug::path(&read.target), text: target::page(site, read) });
    }
    files
}

/// `2026-12-07 18:26:16Z`.
fn shown_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// The line under each page's title: when, and from which manager repository.
fn provenance(site: &Site<'_>) -> String {
    use crate::report::html::escape;
    let commit = site
        .manager_commit
        .map(|c| format!(" at <code>{}</code>", escape(crate::report::prefix(c, 7))))
        .unwrap_or_default();
    format!(
        "<p>Generated at <time datetime=\"{at}\">{shown}</time> from the manager repository <code>{manager}</code>{commit} by <code>infra-manager report --html</code>.</p>\n",
        at = escape(&site.generated_at.to_string()),
        shown = escape(&shown_time(site.generated_at)),
        manager = escape(site.manager),
    )
}

#[cfg(test)]
mod tests;
