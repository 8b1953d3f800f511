//! Report text for people: the sticky PR comment and the commit status line.

pub mod comment;

/// GitHub's limit on a commit status description.
pub const STATUS_DESCRIPTION_MAX: usize = 140;

/// Cuts `text` to at most `max` characters (on a char boundary), marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The commit status context for an environment.
pub fn status_context(env: &str) -> String {
    format!("infra/terraform-deploy/{env}")
}
