//! The one place that writes to the terminal: data to stdout, everything else to stderr.
//!
//! Both sinks apply one escaping rule, [`neutralise`], to everything they write, so no byte a
//! customer controls can start a GitHub Actions workflow command or reach the terminal raw.
//! The program's own workflow commands are written by [`crate::actions`] to its own writer.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::io::Write;

/// Writes command data (a comment, a JSON object, a path) to stdout, neutralised.
///
/// The escapes [`neutralise`] uses are JSON string escapes and the characters it escapes can
/// only appear inside strings of serialized JSON, so a JSON document stays valid and decodes
/// to the same value.
pub fn data(text: &str) {
    let mut out = std::io::stdout().lock();
    let safe = neutralise(text);
    let _ = out.write_all(safe.as_bytes());
    if !safe.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Writes a line of progress or tool output to stderr, neutralised. Text with several lines
/// (`\n`) is written as several lines, each neutralised on its own.
pub fn log(line: &str) {
    let safe = neutralise(line);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(safe.as_bytes());
    let _ = err.write_all(b"\n");
    let _ = err.flush();
}

/// Writes a tool's text (Terraform's messages, a health check's output) to stderr in the
/// `│` gutter: every line of it, without the colour sequences tools write even when asked
/// for JSON, each line neutralised. Blank lines at either end are dropped.
pub fn gutter(text: &str) {
    let plain = without_color(text);
    let body = plain.trim_matches('\n').trim_end();
    if body.trim().is_empty() {
        return;
    }
    let framed: Vec<String> = body.lines().map(|line| format!("  │ {}", line.trim_end())).collect();
    log(&framed.join("\n"));
}

/// `text` without ANSI colour sequences (`ESC [ … m`): `init -json` leaves some in its
/// messages and its unstructured lines, which would reach the log as escaped noise. Any other
/// ESC is kept, to be shown escaped.
fn without_color(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // A CSI sequence: `[`, parameter bytes, and a final byte in `@`..=`~`.
        let end =
            after.strip_prefix('[').and_then(|csi| csi.find(|c: char| ('@'..='~').contains(&c)).map(|i| 1 + i + 1));
        match end {
            Some(end) => rest = &after[end..],
            None => {
                out.push('\u{1b}');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A writer to stderr that neutralises what it is given, for code that logs through a
/// `std::io::Write` (the `tracing` subscriber: `.with_writer(output::log_writer)`, with
/// `.with_ansi(false)` since colour codes would be shown escaped). Each `write` is taken as
/// whole lines, as `tracing`'s formatter writes one event per call.
pub fn log_writer() -> LogWriter {
    LogWriter { inner: std::io::stderr() }
}

/// See [`log_writer`]; [`LogWriter::new`] wraps any writer.
#[derive(Debug)]
pub struct LogWriter<W = std::io::Stderr> {
    inner: W,
}

impl<W: Write> LogWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for LogWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut safe = neutralise(text.strip_suffix('\n').unwrap_or(&text));
        safe.push('\n');
        self.inner.write_all(safe.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The escaping rule for the runner log and the terminal.
///
/// The one rule for the log: everything written to stdout and stderr passes through it
/// (the functions above and [`LogWriter`]), so no other code escapes text for the log.
///
/// The GitHub runner reads a step's output line by line, ending a line at LF, CR or CRLF
/// (.NET `StreamReader.ReadLine`), and takes a line as a workflow command when
///
/// - after trimming leading white space (.NET `char.IsWhiteSpace`: the Unicode `White_Space`
///   set) it starts with `::` and holds a second `::` (`ActionCommand.TryParseV2`), or
/// - it contains `##[` anywhere, followed by a `]` (`ActionCommand.TryParse`, the legacy form).
///
/// Both checks use .NET's culture-aware `StartsWith`/`IndexOf`, which skip "ignorable"
/// characters such as U+00AD or U+200B, so an invisible character does not break a match.
///
/// Lines are kept at `\n` (the only break left unescaped). In each line:
///
/// - every control character (C0, DEL, C1 — so also CR, tab, ESC of ANSI sequences, U+0085),
///   the line and paragraph separators U+2028/U+2029, bidirectional controls and other
///   invisible default-ignorable characters are written as `\uXXXX` (surrogate pairs above
///   U+FFFF);
/// - the `[` of every `##[` is written `\u005b`;
/// - a line whose first non-white-space characters are `::` gets its first `:` written
///   `\u003a`.
///
/// The result has no raw control character other than `\n`, and no line of it is a workflow
/// command.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        neutralise_line(line, &mut out);
    }
    out
}

fn neutralise_line(line: &str, out: &mut String) {
    let start = out.len();
    let mut hashes = 0usize;
    // The last character written as itself, for emoji sequences.
    let mut previous: Option<char> = None;
    for ch in line.chars() {
        if joins_emoji(previous, ch) {
            out.push(ch);
            previous = Some(ch);
            continue;
        }
        previous = Some(ch).filter(|c| !must_escape(*c));
        if must_escape(ch) {
            push_escaped(ch, out);
            hashes = 0;
        } else if ch == '[' && hashes >= 2 {
            out.push_str("\\u005b");
            hashes = 0;
        } else {
            out.push(ch);
            hashes = if ch == '#' { hashes + 1 } else { 0 };
        }
    }
    let written = &out[start..];
    let lead = written.len() - written.trim_start().len();
    if written[lead..].starts_with("::") {
        out.replace_range(start + lead..start + lead + 1, "\\u003a");
    }
}

/// Whether `ch`, a variation selector (U+FE0E text, U+FE0F emoji presentation) or the zero
/// width joiner of an emoji sequence, is written as itself: only right after a non-ASCII
/// character that was (`⚠️`, `👩‍💻`). After ASCII it is escaped, since the runner skips it
/// as ignorable and `:` + U+FE0F + `:` would read as `::`.
fn joins_emoji(previous: Option<char>, ch: char) -> bool {
    matches!(ch, '\u{FE0E}' | '\u{FE0F}' | '\u{200D}') && previous.is_some_and(|p| !p.is_ascii())
}

fn push_escaped(ch: char, out: &mut String) {
    let mut units = [0u16; 2];
    for unit in ch.encode_utf16(&mut units) {
        let _ = write!(out, "\\u{unit:04x}");
    }
}

/// Characters shown escaped: controls, line separators, bidi controls and invisible
/// (default-ignorable) characters.
pub fn must_escape(ch: char) -> bool {
    ch.is_control()
        || matches!(
            ch,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the runner would take `line` as a workflow command (see [`neutralise`]).
    fn runner_would_parse(line: &str) -> bool {
        let visible: String = line.chars().filter(|c| !must_escape(*c) || c.is_whitespace()).collect();
        let trimmed = visible.trim_start();
        (trimmed.starts_with("::") && trimmed[2..].contains("::"))
            || visible.find("##[").is_some_and(|at| visible[at..].contains(']'))
    }

    /// Splits like the runner: at LF, CR and CRLF.
    fn runner_lines(text: &str) -> Vec<&str> {
        text.split(['\n', '\r']).collect()
    }

    #[test]
    fn emoji_are_printed_as_themselves_and_a_selector_after_ascii_is_not() {
        assert_eq!(neutralise("⚠\u{fe0f} drifted"), "⚠\u{fe0f} drifted");
        assert_eq!(neutralise("👩\u{200d}💻 ok"), "👩\u{200d}💻 ok");
        // After ASCII the runner would skip a raw selector: `:` + U+FE0F + `:` would be `::`.
        assert_eq!(neutralise(":\u{fe0f}:warning::x"), ":\\ufe0f:warning::x");
        assert_eq!(neutralise("#\u{200d}#[x]"), "#\\u200d#[x]");
        assert!(!runner_would_parse(&neutralise("  ⚠\u{fe0f}::error::x")));
        // A selector after an escaped character is escaped too.
        assert_eq!(neutralise("\u{202e}\u{fe0f}"), "\\u202e\\ufe0f");
    }

    #[test]
    fn a_tools_text_stays_inside_the_gutter_without_colour() {
        let message = "\u{1b}[0m\u{1b}[32m\nSuccessfully configured the backend \"local\"! Terraform will\nuse this backend.\u{1b}[0m\n";
        let plain = without_color(message);
        let framed: Vec<String> = plain.trim_matches('\n').lines().map(|l| format!("  │ {l}")).collect();
        assert_eq!(
            framed,
            ["  │ Successfully configured the backend \"local\"! Terraform will", "  │ use this backend."]
        );
        assert_eq!(without_color("\u{1b}[0m\u{1b}[1m"), "");
        assert_eq!(without_color("plain │ text"), "plain │ text");
        // An ESC that starts no colour sequence is kept, to be shown escaped.
        assert_eq!(neutralise(&without_color("a\u{1b}]0;title\u{7}")), "a\\u001b]0;title\\u0007");
    }

    #[test]
    fn hostile_lines_come_out_neutralised() {
        let cases = [
            ("\n::add-mask::x", "\n\\u003a:add-mask::x"),
            ("::stop-commands::t", "\\u003a:stop-commands::t"),
            ("  ::error::x", "  \\u003a:error::x"),
            ("\u{a0}\u{3000}::warning::x", "\u{a0}\u{3000}\\u003a:warning::x"),
            ("\r::error::x", "\\u000d::error::x"),
            ("a\r\n::error::x", "a\\u000d\n\\u003a:error::x"),
            ("\t::error::x", "\\u0009::error::x"),
            ("\u{85}::error::x", "\\u0085::error::x"),
            ("\u{2028}::error::x", "\\u2028::error::x"),
            ("\u{200b}::error::x", "\\u200b::error::x"),
            ("red \x1b[31mtext\x1b[0m", "red \\u001b[31mtext\\u001b[0m"),
            ("\u{9b}31m", "\\u009b31m"),
            ("key `x##[add-mask]secret`", "key `x##\\u005badd-mask]secret`"),
            ("###[a]", "###\\u005ba]"),
            ("#\u{ad}#[add-mask]s", "#\\u00ad#[add-mask]s"),
            ("bidi \u{202e}txt.exe", "bidi \\u202etxt.exe"),
            ("tag \u{e0041}", "tag \\udb40\\udc41"),
            ("plain: text :: fine", "plain: text :: fine"),
            ("ünïcödé ✓", "ünïcödé ✓"),
        ];
        for (input, expected) in cases {
            let out = neutralise(input);
            assert_eq!(out, expected, "{input:?}");
            for line in runner_lines(&out) {
                assert!(!runner_would_parse(line), "{input:?} gives a command line {line:?}");
            }
            assert!(!out.chars().any(|c| c != '\n' && must_escape(c)), "{input:?}: raw control in {out:?}");
        }
    }

    #[test]
    fn the_log_writer_neutralises_what_tracing_writes() {
        let mut out = Vec::new();
        let mut w = LogWriter::new(&mut out);
        w.write_all(b" WARN replacing a pointer error=bad\n::add-mask::x \x1b[31m\n").expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            " WARN replacing a pointer error=bad\n\\u003a:add-mask::x \\u001b[31m\n"
        );
    }

    #[test]
    fn neutralised_json_stays_valid_and_decodes_to_the_same_value() {
        let value = serde_json::json!({
            "message": "unknown key `##[add-mask]x` \u{7f}\u{85}\u{2028}\u{202e}\u{feff}\u{e0041}",
            "list": ["::error::x", "\n::x::"],
        });
        let text = serde_json::to_string_pretty(&value).expect("json");
        let safe = neutralise(&text);
        assert!(!safe.contains("##["), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
    }
}
