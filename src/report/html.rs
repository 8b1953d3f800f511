//! The one escaping rule for the HTML sink (the status page, `report --html`).
//!
//! **Customer-controlled text is never HTML.** Names, environments, messages, errors,
//! outputs, commits, lock holders — anything a customer, a tenant file or a backend wrote —
//! reaches a page only through [`escape`], as element text or as a double-quoted attribute
//! value (the pages quote every attribute with `"`). There it can't open or close an
//! element, a comment, an attribute or a `<script>`/`<style>` block:
//!
//! - `&`, `<`, `>`, `"` and `'` become character references, so no markup, no entity of
//!   the text's own making, and no way out of either kind of quoted attribute;
//! - control characters (but line feeds and tabs), the line and paragraph separators, the
//!   bidirectional overrides and isolates and the invisible characters
//!   (`output::must_escape`) are shown as escapes (`\u{202e}`), so text can't reorder
//!   what a reader sees around it (Trojan Source) or hide in the page;
//! - text is cut to [`MAX_CHARS`], so one value can't fill the page.
//!
//! A URL is never taken from such text: the only links the pages make are to pages of
//! their own and to workflow runs rebuilt from validated parts (`status_page::link`).

/// Longest text shown from one value before it is cut.
pub const MAX_CHARS: usize = 2_000;

/// `text` as HTML element text or a double-quoted attribute value.
pub fn escape(text: &str) -> String {
    let cut = super::truncate_chars(text, MAX_CHARS);
    let mut out = String::with_capacity(cut.len() + 16);
    for ch in cut.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(ch),
            // The log's set: controls, separators, bidi controls, invisible characters.
            c if crate::output::must_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters that could end or start markup: none survives escaping.
    fn inert(escaped: &str) -> bool {
        !escaped.contains(['<', '>', '"', '\''])
            && escaped
                .match_indices('&')
                .all(|(i, _)| ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| escaped[i..].starts_with(e)))
    }

    #[test]
    fn markup_in_hostile_values_is_shown_never_parsed() {
        let cases = [
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
            ("' onmouseover='alert(1)", "&#39; onmouseover=&#39;alert(1)"),
            ("</style><script>x()</script>", "&lt;/style&gt;&lt;script&gt;x()&lt;/script&gt;"),
            ("<!-- hidden -->", "&lt;!-- hidden --&gt;"),
            ("&lt;b&gt; is already escaped", "&amp;lt;b&amp;gt; is already escaped"),
            ("&#x3C;script&#x3E;", "&amp;#x3C;script&amp;#x3E;"),
            // A URL is text like any other: shown, and the pages never make it an href.
            ("javascript:alert(document.cookie)", "javascript:alert(document.cookie)"),
            ("acme/web", "acme/web"),
            ("", ""),
        ];
        for (hostile, shown) in cases {
            let escaped = escape(hostile);
            assert_eq!(escaped, shown, "{hostile}");
            assert!(inert(&escaped), "{hostile} → {escaped}");
        }
    }

    #[test]
    fn controls_and_bidirectional_overrides_are_shown_as_escapes() {
        // Trojan Source: an override that would reverse the rest of the line.
        assert_eq!(escape("ok\u{202e}gnp.exe"), "ok\\u{202e}gnp.exe");
        assert_eq!(escape("a\u{2066}b\u{2069}c"), "a\\u{2066}b\\u{2069}c");
        assert_eq!(escape("bell\u{7}nul\u{0}esc\u{1b}[31m"), "bell\\u{7}nul\\u{0}esc\\u{1b}[31m");
        assert_eq!(escape("cr\rls\u{2028}bom\u{feff}"), "cr\\u{d}ls\\u{2028}bom\\u{feff}");
        // Invisible characters can't hide a word from the reader either.
        assert_eq!(escape("ad\u{200b}min\u{ad}"), "ad\\u{200b}min\\u{ad}");
        // Line breaks and tabs are whitespace in HTML: kept, they can't start anything.
        assert_eq!(escape("line one\n\tline two"), "line one\n\tline two");
        assert_eq!(escape("naïve — ünïcode ✓"), "naïve — ünïcode ✓");
    }

    #[test]
    fn a_very_long_value_is_cut_and_stays_inert() {
        let hostile = "<img src=x onerror=alert(1)>".repeat(10_000);
        let escaped = escape(&hostile);
        assert!(inert(&escaped));
        assert!(escaped.ends_with('…'), "cut where it is marked");
        let shown: String = super::super::truncate_chars(&hostile, MAX_CHARS);
        assert_eq!(escaped, escape(&shown), "the cut comes before escaping, never inside an entity");
        // An entity is never split by the cut.
        assert!(escape(&"&".repeat(MAX_CHARS * 2)).trim_end_matches('…').ends_with("&amp;"));
    }
}
