//! A problem found in a user's file, at a place: `file:line:column: message` plus a hint.

use std::fmt;

use serde::Serialize;

/// One problem in an input file. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// A problem with the file as a whole (too large, not UTF-8, not a regular file), found
    /// before its text could be read: reported at line 1, column 1 of `file`, except a byte
    /// that is not UTF-8, reported where it is (when known), so the error's place and its
    /// message agree.
    pub fn whole_file(file: &str, problem: &FileProblem) -> Self {
        let (message, hint) = match problem {
            FileProblem::TooLarge { size: Some(size), limit } => {
                (format!("file is {size} bytes, larger than the {limit}-byte limit"), SMALL_HINT)
            }
            FileProblem::TooLarge { size: None, limit } => {
                (format!("file is larger than the {limit}-byte limit"), SMALL_HINT)
            }
            FileProblem::NotUtf8 { line: Some(line), column: Some(column) } => (
                format!("file is not UTF-8 text: the first invalid byte is at line {line}, column {column}"),
                UTF8_HINT,
            ),
            FileProblem::NotUtf8 { .. } => ("file is not UTF-8 text".to_owned(), UTF8_HINT),
            FileProblem::NotRegular { kind } => {
                (format!("`{file}` is {kind}, not a regular file"), "point at an ordinary file")
            }
            FileProblem::OutsideRoot { target } => (
                format!("`{file}` is a symbolic link to `{target}`, outside the source directory"),
                "replace the link with the file itself",
            ),
        };
        let (line, column) = match problem {
            FileProblem::NotUtf8 { line: Some(line), column: Some(column) } => (*line, *column),
            _ => (1, 1),
        };
        Self { file: file.to_owned(), line, column, message, hint: Some(hint.to_owned()) }
    }
}

/// How a value from the user's file appears inside a message: at most [`SHOWN_CHARS`]
/// characters (then `…`), with control, invisible and non-ASCII white-space characters written
/// as `\u{..}` so the reader sees exactly what is there.
///
/// The one rule for untrusted values quoted in diagnostics and error messages (the user's
/// files, event payloads, what GitHub or an OIDC issuer sent): quote through it rather than
/// cutting or escaping by hand. The whole message then meets its sink's own rule, the log's
/// ([`crate::output::neutralise`]) or Markdown's ([`crate::report::markdown::code`]).
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, ch) in value.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if crate::output::must_escape(ch) || (ch.is_whitespace() && ch != ' ') {
            out.push_str(&ch.escape_unicode().to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The longest value [`shown`] prints whole.
pub const SHOWN_CHARS: usize = 64;

const SMALL_HINT: &str = "keep the file small: it describes requirements, not data";
const UTF8_HINT: &str = "save the file as UTF-8 (no UTF-16, no Latin-1)";

/// Why a whole file was refused before its text could be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// Larger than `limit` bytes; `size` when known.
    TooLarge { size: Option<u64>, limit: u64 },
    /// Not UTF-8; where the first invalid byte is, when known.
    NotUtf8 { line: Option<u64>, column: Option<u64> },
    /// A FIFO, device, socket or directory (`kind` says which, e.g. `a FIFO`).
    NotRegular { kind: String },
    /// A symbolic link whose target leaves the directory it was read from.
    OutsideRoot { target: String },
}

/// A list of diagnostics that together mean "this file is not acceptable".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The one diagnostic for a file refused as a whole, see [`Diagnostic::whole_file`].
    pub fn whole_file(file: &str, problem: &FileProblem) -> Self {
        Self(vec![Diagnostic::whole_file(file, problem)])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(f, "{count} problem{} found:", if count == 1 { "" } else { "s" })?;
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_file_problems_are_at_line_1_column_1_with_a_hint_and_a_bad_byte_at_its_place() {
        let problems = [
            (
                FileProblem::TooLarge { size: Some(70_000), limit: 65_536 },
                "file is 70000 bytes, larger than the 65536-byte limit",
            ),
            (FileProblem::TooLarge { size: None, limit: 65_536 }, "file is larger than the 65536-byte limit"),
            (
                FileProblem::NotUtf8 { line: Some(3), column: Some(9) },
                "file is not UTF-8 text: the first invalid byte is at line 3, column 9",
            ),
            (FileProblem::NotUtf8 { line: None, column: None }, "file is not UTF-8 text"),
            (FileProblem::NotRegular { kind: "a FIFO".into() }, "`v.yml` is a FIFO, not a regular file"),
        ];
        for (problem, message) in problems {
            let d = Diagnostic::whole_file("v.yml", &problem);
            // Issue 21, item 15: the structured place is the message's place.
            let at = if matches!(problem, FileProblem::NotUtf8 { line: Some(_), .. }) { (3, 9) } else { (1, 1) };
            assert_eq!((d.line, d.column, d.message.as_str()), (at.0, at.1, message));
            assert!(d.hint.is_some());
        }
        assert_eq!(Diagnostics::whole_file("v.yml", &FileProblem::NotUtf8 { line: None, column: None }).0.len(), 1);
    }

    #[test]
    fn values_are_shown_visible_and_bounded() {
        assert_eq!(shown("a b\n\t\u{a0}\u{1b}[31m\u{202e}"), "a b\\u{a}\\u{9}\\u{a0}\\u{1b}[31m\\u{202e}");
        let long = shown(&"x".repeat(1000));
        assert_eq!(long.chars().count(), SHOWN_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(shown("ünïcödé"), "ünïcödé");
    }
}
