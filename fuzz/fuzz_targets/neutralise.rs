//! The log escaping rule on arbitrary text: no output line can be taken as a workflow command
//! by the GitHub runner, no raw control or invisible character is left, and serialized JSON
//! stays valid and means the same.
#![no_main]

use infra_manager::output::{must_escape, neutralise};
use libfuzzer_sys::fuzz_target;

/// The runner's two parsers (see `output::neutralise`), with invisible characters dropped as
/// its culture-aware matching does.
fn runner_command(line: &str) -> bool {
    let visible: String = line.chars().filter(|c| !must_escape(*c) || c.is_whitespace()).collect();
    let trimmed = visible.trim_start();
    (trimmed.starts_with("::") && trimmed[2..].contains("::"))
        || visible.find("##[").is_some_and(|at| visible[at..].contains(']'))
}

fuzz_target!(|text: &str| {
    let out = neutralise(text);
    assert!(!out.chars().any(|c| c != '\n' && must_escape(c)), "raw control in {out:?}");
    for line in out.split(['\n', '\r']) {
        assert!(!runner_command(line), "{text:?} gives the command line {line:?}");
    }
    assert_eq!(out.matches('\n').count(), text.matches('\n').count(), "lines added or lost");
    let value = serde_json::json!({ "message": text, "list": [text, "x"] });
    for json in [serde_json::to_string(&value), serde_json::to_string_pretty(&value)] {
        let json = json.expect("serializes");
        let back: serde_json::Value = serde_json::from_str(&neutralise(&json)).expect("still JSON");
        assert_eq!(back, value);
    }
});
