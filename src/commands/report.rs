//! `report --html DIR`: the status page ([`crate::status_page`]) of the targets `overview`
//! selects, from the same rows, written to `DIR` all at once.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::ReportArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::overview::Counts;

/// What was written.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The site's folder, as given.
    pub html: String,
    /// Its pages: `index.html`, then one per target.
    pub pages: Vec<String>,
    pub counts: Counts,
}

impl Outcome for Report {}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.pages.len().saturating_sub(1);
        let pages = if targets == 1 { "page" } else { "pages" };
        write!(
            f,
            "wrote the status page to {}/index.html (and {targets} target {pages}): {}",
            self.html.trim_end_matches('/'),
            self.counts.sentence()
        )
    }
}

pub async fn run(ctx: &Context<'_>, args: &ReportArgs) -> Result<Report, CommandError> {
    let targets = super::overview::read(ctx, &args.overview).await?;
    let runner = &ctx.settings.runner;
    let checkout = args.overview.manager.repo.display().to_string();
    let site = crate::status_page::Site {
        generated_at: jiff::Timestamp::now(),
        manager: runner.repository.as_deref().unwrap_or(&checkout),
        manager_commit: runner.manager_commit.as_deref(),
        targets: &targets,
    };
    let files = crate::status_page::render(&site);
    crate::status_page::replace(&args.html, &files)?;
    let rows: Vec<crate::overview::Row> = targets.into_iter().map(|read| read.row).collect();
    Ok(Report {
        html: args.html.display().to_string(),
        pages: files.into_iter().map(|file| file.path).collect(),
        counts: Counts::of(&rows),
    })
}
