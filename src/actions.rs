//! The GitHub Actions runner interface: workflow commands, step outputs and the job summary.
//!
//! Every `::command::` this program emits goes through here, to a writer the caller gives,
//! so tests can read them back. Customer-controlled text (plan output, YAML) is printed only
//! between `::stop-commands::TOKEN` and `::TOKEN::`, where the runner ignores commands, and
//! every other line goes through [`crate::output`]'s escaping. Text inside a command is escaped
//! by GitHub's rules (`ActionCommand` in actions/runner): `%`, CR and LF in the message, also
//! `:` and `,` in property values; other control characters are shown as `\uXXXX`.

use std::io::Write;
use std::path::Path;

/// GitHub's limit on one step's summary ([`crate::limits`]).
pub const MAX_SUMMARY_BYTES: usize = crate::limits::STEP_SUMMARY_BYTES;

/// Escapes a workflow command's message: `%`, CR and LF as the runner unescapes them; any
/// other control or invisible character as `\uXXXX` so it never reaches the log raw.
fn escape_data(s: &str) -> String {
    escape(s, false)
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c if crate::output::must_escape(c) => out.push_str(&crate::output::neutralise(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

/// `::add-mask::VALUE` when running under GitHub Actions (`in_actions`, from the settings
/// layer's `GITHUB_ACTIONS=true`): the runner replaces the value with `***` in every later
/// log line. Outside Actions nothing is written: a terminal would show the secret.
pub fn add_mask_if(w: &mut impl Write, secret: &str, in_actions: bool) {
    if in_actions && !secret.is_empty() {
        let _ = writeln!(w, "::add-mask::{}", escape_data(secret));
    }
}

/// An error annotation on a file position (`::error file=..,line=..,col=..::message`).
pub fn error_at(w: &mut impl Write, file: &str, line: u64, column: u64, message: &str) {
    let _ = writeln!(w, "::error file={},line={line},col={column}::{}", escape_property(file), escape_data(message));
}

/// An error annotation without a position.
pub fn error(w: &mut impl Write, message: &str) {
    let _ = writeln!(w, "::error::{}", escape_data(message));
}

/// A warning annotation without a position.
pub fn warning(w: &mut impl Write, message: &str) {
    let _ = writeln!(w, "::warning::{}", escape_data(message));
}

/// Turns workflow commands off until [`CommandsOff::resume`]; the token is random, so text
/// printed in between cannot guess it and turn them back on.
pub struct CommandsOff {
    token: String,
}

impl CommandsOff {
    pub fn begin(w: &mut impl Write) -> Self {
        let token = format!("infra-manager-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let _ = writeln!(w, "::stop-commands::{token}");
        Self { token }
    }

    pub fn resume(self, w: &mut impl Write) {
        let _ = writeln!(w, "::{}::", self.token);
    }
}

/// Appends `name=value` step outputs to the `GITHUB_OUTPUT` file, in the multi-line form
/// with a random delimiter so no value can inject another output.
pub fn set_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    for (name, value) in outputs {
        let delimiter = format!("ghadelimiter_{:016x}", fastrand::u64(..));
        writeln!(file, "{name}<<{delimiter}\n{value}\n{delimiter}")?;
    }
    Ok(())
}

/// Appends Markdown to the `GITHUB_STEP_SUMMARY` file, cut to what is left of the 1 MiB limit.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let used = std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0);
    let room = MAX_SUMMARY_BYTES.saturating_sub(used);
    let text = if markdown.len() <= room {
        markdown.to_owned()
    } else {
        let note = "\n\n_(summary truncated at GitHub's 1 MiB limit)_\n";
        if room < note.len() {
            return Ok(());
        }
        // Cut at a line end outside any code fence, so no span or fence is left open.
        let kept = crate::report::markdown::cut_at_line_bytes(markdown, room.saturating_sub(note.len()));
        format!("{kept}{note}")
    };
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_could_break_out_of_them() {
        let mut out = Vec::new();
        error_at(&mut out, "infra/vars,x.yml", 3, 5, "bad\nvalue 100%\r::set-output name=x::y");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "::error file=infra/vars%2Cx.yml,line=3,col=5::bad%0Avalue 100%25%0D::set-output name=x::y\n"
        );
    }

    #[test]
    fn messages_and_properties_escape_by_githubs_rules_and_show_controls() {
        let mut out = Vec::new();
        error_at(&mut out, "a:b,c%\n.yml", 1, 2, "x\u{1b}[31m \u{85}\u{202e} 50%\r\n::add-mask::s");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "::error file=a%3Ab%2Cc%25%0A.yml,line=1,col=2::x\\u001b[31m \\u0085\\u202e 50%25%0D%0A::add-mask::s\n"
        );
    }

    #[test]
    fn the_mask_is_written_only_under_github_actions() {
        let mut out = Vec::new();
        add_mask_if(&mut out, "ghp_secret", false);
        assert!(out.is_empty(), "a terminal would show the token");
        add_mask_if(&mut out, "", true);
        assert!(out.is_empty());
        add_mask_if(&mut out, "ghp_%se\ncret", true);
        assert_eq!(String::from_utf8(out).expect("utf8"), "::add-mask::ghp_%25se%0Acret\n");
    }

    #[test]
    fn stop_commands_pairs_with_its_own_random_token() {
        let mut out = Vec::new();
        let off = CommandsOff::begin(&mut out);
        off.resume(&mut out);
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        let token = lines[0].strip_prefix("::stop-commands::").expect("begin");
        assert!(token.len() > 30);
        assert_eq!(lines[1], format!("::{token}::"));
    }

    #[test]
    fn outputs_use_delimited_values_and_the_summary_is_capped() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("output");
        set_outputs(&out, &[("status", "ok".into()), ("evil", "x\nstatus=pwned".into())]).expect("write");
        let text = std::fs::read_to_string(&out).expect("read");
        assert!(text.starts_with("status<<ghadelimiter_"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("status")).count(),
            1 + 1,
            "the injected line stays inside a value"
        );

        let summary = dir.path().join("summary");
        append_summary(&summary, &"x".repeat(MAX_SUMMARY_BYTES - 10)).expect("write");
        append_summary(&summary, &"é".repeat(1000)).expect("write");
        let len = std::fs::metadata(&summary).expect("meta").len() as usize;
        assert!(len <= MAX_SUMMARY_BYTES, "{len}");
    }
}
