//! Printing a verb's result: its outcome (JSON or text on stdout) or its error (JSON on
//! stdout, or text on stderr), and the exit status that goes with it.

use serde::Serialize;

use crate::cli::Verb;
use crate::commands::{Outcome, TargetResult};
use crate::error::{CommandError, ErrorItem, ExitStatus, Status};
use crate::output;

/// `--json`: the verb's fields between `command`/`status` and `errors`.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    command: Verb,
    status: Status,
    #[serde(flatten)]
    body: &'a T,
    errors: Vec<ErrorItem>,
}

pub(super) fn result<O: Outcome>(verb: Verb, json: bool, result: Result<O, CommandError>) -> ExitStatus {
    match result {
        Ok(outcome) => {
            if json {
                if O::ENVELOPE {
                    data_json(&Envelope { command: verb, status: Status::Ok, body: &outcome, errors: Vec::new() });
                } else {
                    data_json(&outcome);
                }
            } else {
                let text = outcome.to_string();
                if !text.is_empty() {
                    output::data(&text);
                }
            }
            outcome.exit_status()
        }
        Err(error) => {
            if json {
                let body = error.subject().map(TargetResult::from).unwrap_or_default();
                data_json(&Envelope { command: verb, status: error.status(), body: &body, errors: error.items() });
            } else {
                output::log(error.text().trim_end());
            }
            error.exit_status()
        }
    }
}

fn data_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => output::data(&text),
        Err(e) => output::log(&format!("error: can't print the result as JSON: {e}")),
    }
}
