//! The one escaping rule for the Slack sink (a notification webhook's `slack` format).
//!
//! Slack reads `<…>` in a message as a control sequence: a link (`<https://x|click>`), a
//! mention (`<@U123>`), a broadcast (`<!channel>`, `<!here>`). Its rule for text that must
//! show as written is to escape `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`, and nothing
//! else; once they are escaped no text can open a control sequence. Every string a
//! customer, a tenant file, Terraform or a policy wrote reaches a Slack message only
//! through [`text`], which also keeps it on one line (line breaks and other control
//! characters shown as escapes, as the log shows them) and cuts it to a length.
//!
//! Slack's emphasis (`*bold*`, `_italic_`) has no escape; a value can at most change how
//! itself looks, never link, mention or notify anyone.

/// Longest text shown for one value before it is cut.
pub const MAX_VALUE_CHARS: usize = 500;

/// `value` escaped for a Slack message, on one line, cut to [`MAX_VALUE_CHARS`].
pub fn text(value: &str) -> String {
    let cut = super::truncate_chars(value, MAX_VALUE_CHARS);
    let mut out = String::with_capacity(cut.len() + 8);
    for ch in cut.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if crate::output::must_escape(c) || (c.is_whitespace() && c != ' ') => {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_links_and_mentions_are_shown_not_followed() {
        assert_eq!(text("<!channel> & <@U123>"), "&lt;!channel&gt; &amp; &lt;@U123&gt;");
        assert_eq!(text("<https://evil.example|click>"), "&lt;https://evil.example|click&gt;");
        // An escape written by the sender stays text: `&lt;` shows as `&lt;`, not `<`.
        assert_eq!(text("&lt;!here&gt;"), "&amp;lt;!here&amp;gt;");
        assert_eq!(text("a\nb\u{202e}c"), "a\\u{a}b\\u{202e}c");
        assert_eq!(text(&"x".repeat(600)).chars().count(), MAX_VALUE_CHARS);
        assert_eq!(text("acme/web staging"), "acme/web staging");
    }
}
