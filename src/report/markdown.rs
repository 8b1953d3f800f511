//! The one escaping rule for the Markdown sink (PR comments and job summaries).
//!
//! **Customer-controlled text is never Markdown.** Addresses, values, diagnostics, hints,
//! failure text and plan text reach a comment only through [`code`] (an inline code span on
//! one line, also safe in a table cell) or [`fenced`] (a fenced code block). Inside those
//! GitHub renders nothing: no heading, list, image, link, autolink, HTML, mention, issue
//! reference or emoji. What could still break out is neutralised here and nowhere else:
//!
//! - the delimiters are longer than any backtick run in the text, so it cannot close them;
//! - in a span, line breaks and every other control character are shown as escapes (`\n`,
//!   `\u{1b}`), since a line that starts with `#` or `|` would start a new block; `|` is
//!   escaped for GFM tables, which split cells on it even inside code;
//! - in a block, control characters other than line feeds and tabs are shown as escapes;
//! - `<!--` is broken up, so no text can carry another comment's hidden marker.
//!
//! Text is also cut to a length, so one value cannot fill a comment.

/// Longest text shown in one code span before it is cut.
pub const MAX_SPAN_CHARS: usize = 500;

/// `text` as an inline code span on one line, safe in a table cell and in prose.
///
/// The one rule for untrusted text inline in Markdown (PR comments, check runs, job
/// summaries, issues): such text is shown only through it (or [`fenced`] for a block),
/// never in hand-made backticks.
pub fn code(text: &str) -> String {
    let cut = super::truncate_chars(text, MAX_SPAN_CHARS);
    let mut flat = String::with_capacity(cut.len() + 8);
    for ch in cut.chars() {
        match ch {
            // A backslash just before our `\|` would pair with it in the table scanner.
            '|' if flat.ends_with('\\') => flat.push_str("\u{200b}\\|"),
            '|' => flat.push_str("\\|"),
            _ => push_visible(&mut flat, ch, false),
        }
    }
    if flat.is_empty() {
        return "` `".to_owned();
    }
    let flat = break_comment_openers(&flat);
    let ticks = "`".repeat(longest_run(&flat, '`') + 1);
    // CommonMark strips one space from each end of a span that starts and ends with one,
    // and a span can't start or end with a backtick: pad so the text shows exactly.
    let pad = flat.starts_with(['`', ' ']) || flat.ends_with(['`', ' ']);
    let space = if pad { " " } else { "" };
    format!("{ticks}{space}{flat}{space}{ticks}")
}

/// `text` as a fenced code block with the info string `info` (`text`, `diff`), ending with a
/// line break. Lines are kept; nothing in the text can end the block early.
pub fn fenced(text: &str, info: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut body = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        push_visible(&mut body, ch, true);
    }
    let body = break_comment_openers(&body);
    let ticks = "`".repeat((longest_run(&body, '`') + 1).max(3));
    let newline = if body.is_empty() || body.ends_with('\n') { "" } else { "\n" };
    format!("{ticks}{info}\n{body}{newline}{ticks}\n")
}

/// Appends `ch`, or its escape when it is a control character (or a line/paragraph
/// separator, or a bidirectional override) that could change how the text reads.
fn push_visible(out: &mut String, ch: char, block: bool) {
    match ch {
        '\n' | '\t' if block => out.push(ch),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
        {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
        c => out.push(c),
    }
}

/// `<!--` → `<` + zero-width space + `!--`: the same text to a reader, never a marker.
fn break_comment_openers(text: &str) -> String {
    text.replace("<!--", "<\u{200b}!--")
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == of { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// The longest prefix of `markdown` of at most `max_bytes` bytes that ends at a line break,
/// so a cut can never leave a code span open (spans never hold a line break) — an open
/// fenced block only runs to the end, which is safe.
pub fn cut_at_line_bytes(markdown: &str, max_bytes: usize) -> &str {
    if markdown.len() <= max_bytes {
        return markdown;
    }
    let mut end = max_bytes;
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    match markdown[..end].rfind('\n') {
        Some(nl) => &markdown[..=nl],
        None => "",
    }
}

/// The text of `markdown` that renders as Markdown — everything outside fenced code blocks
/// and code spans, read by CommonMark's rules (and GFM's for table rows) — for tests that
/// prove customer text never gets there.
#[cfg(test)]
pub(crate) fn outside_code(markdown: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<(char, usize)> = None;
    for line in markdown.split(['\n', '\r']) {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let trimmed = if indent <= 3 { line.trim_start_matches(' ') } else { line };
        if let Some((ch, len)) = fence {
            let run = trimmed.chars().take_while(|c| *c == ch).count();
            if indent <= 3 && run >= len && trimmed.trim_end().chars().all(|c| c == ch) {
                fence = None;
            }
            continue;
        }
        let opener = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        if let Some(ch) = opener {
            let run = trimmed.chars().take_while(|c| *c == ch).count();
            if indent <= 3 && run >= 3 && !(ch == '`' && trimmed[run..].contains('`')) {
                fence = Some((ch, run));
                continue;
            }
        }
        if trimmed.starts_with('|') {
            // GFM splits a table row on every `|` not escaped as `\|`, even inside code.
            for cell in split_cells(trimmed) {
                out.push_str(&strip_spans(&cell.replace("\\|", "|")));
                out.push_str(" | ");
            }
        } else {
            out.push_str(&strip_spans(line));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
fn split_cells(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push_str("\\|");
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// `line` without its code spans: a run of n backticks opens one that the next run of
/// exactly n closes; an unmatched run is literal text.
#[cfg(test)]
fn strip_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => i = j + n,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_code_sees_through_spans_blocks_and_cells_only() {
        let md = "# Title `hidden` shown\n| `a\\|b` | `c` |\n````text\nhidden\n```\nhidden\n````\nafter `open\n";
        let seen = outside_code(md);
        assert!(!seen.contains("hidden"), "{seen}");
        assert!(seen.contains("# Title  shown") && seen.contains("after `open"), "{seen}");
        // What the old escaping let through is caught: a pipe inside a code span still splits
        // a table cell, and a line break ends a list item's span.
        assert!(outside_code("| `a|b` |\n").contains('`'));
        assert!(outside_code("- `file` x\n## PWNED\n").contains("## PWNED"));
        assert!(outside_code("```text\nx\n```\n![PWNED](u)\n").contains("![PWNED](u)"));
    }

    #[test]
    fn spans_hold_any_text_on_one_line() {
        let cases = [
            ("plain", "`plain`"),
            ("a`b", "``a`b``"),
            ("`x`", "`` `x` ``"),
            (" padded ", "`  padded  `"),
            ("", "` `"),
            ("a|b", "`a\\|b`"),
            ("a\\|b", "`a\\\u{200b}\\|b`"),
            ("one\n## two", "`one\\n## two`"),
            ("\u{1b}[31mred", "`\\u{1b}[31mred`"),
            ("<!-- infra-manager:plan:prod -->", "`<\u{200b}!-- infra-manager:plan:prod -->`"),
        ];
        for (text, want) in cases {
            assert_eq!(code(text), want, "{text:?}");
        }
    }

    #[test]
    fn spans_are_cut_to_a_length() {
        let long = "x".repeat(10_000);
        assert_eq!(code(&long).chars().count(), MAX_SPAN_CHARS + 2);
    }

    #[test]
    fn blocks_cannot_be_closed_by_their_text() {
        let block = fenced("a\n```\n````\nb\r\nc\u{7}", "text");
        assert!(block.starts_with("`````text\na\n```\n````\nb\nc\\u{7}\n`````\n"), "{block}");
        assert_eq!(fenced("", "text"), "```text\n```\n");
    }

    #[test]
    fn cuts_end_at_a_line_break_on_a_char_boundary() {
        assert_eq!(cut_at_line_bytes("ab\ncd\nef", 7), "ab\ncd\n");
        assert_eq!(cut_at_line_bytes("é\né\n", 4), "é\n");
        assert_eq!(cut_at_line_bytes("short", 10), "short");
        assert_eq!(cut_at_line_bytes("no line break", 4), "");
    }
}
