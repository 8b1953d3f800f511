//! Report text for people: the sticky PR comment, the check run's output and the commit
//! status line, and the one escaping rule for customer-controlled text in Markdown
//! ([`markdown`]), in Slack messages ([`slack`]) and in the status page's HTML ([`html`]).

pub mod check_run;
pub mod comment;
pub mod fleet;
pub mod html;
pub mod markdown;
pub mod slack;

/// GitHub's limit on a commit status description ([`crate::limits`]).
pub const STATUS_DESCRIPTION_MAX: usize = crate::limits::STATUS_DESCRIPTION_CHARS;

/// Cuts `text` to at most `max` characters (on a char boundary), marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The first `n` characters of a SHA or digest, as shown to people (`1a2b3c4`).
pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// The name an enum serializes to (`pending`, `succeeded`, …), for text output.
pub fn name_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `+8 ~0 -1`: a run's counts (`?` for one not known), or `None` when it has none.
pub fn counts(add: Option<u32>, change: Option<u32>, destroy: Option<u32>) -> Option<String> {
    let n = |v: Option<u32>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
    (add.is_some() || change.is_some() || destroy.is_some())
        .then(|| format!("+{} ~{} -{}", n(add), n(change), n(destroy)))
}

/// The commit status context for an environment.
pub fn status_context(env: &str) -> String {
    format!("infra/terraform-deploy/{env}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stop_at_the_string_end_and_on_char_boundaries() {
        assert_eq!(prefix("1a2b3c4d5e", 7), "1a2b3c4");
        assert_eq!(prefix("abc", 7), "abc");
        assert_eq!(prefix("éé", 1), "é");
    }
}
