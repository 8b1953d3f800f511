//! The one place that writes to the terminal: data to stdout, everything else to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

/// Writes command data (a comment, a JSON object, a path) to stdout.
pub fn data(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Writes a line of progress or tool output to stderr.
pub fn log(line: &str) {
    eprintln!("{line}");
}
