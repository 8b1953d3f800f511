//! Evaluating a policy set on one input: each file in an engine of its own (so each message
//! and each failure names its file), `deny` then `warn`, under regorus's execution timer.

use std::num::NonZeroU32;
use std::time::Duration;

use regorus::utils::limits::{ExecutionTimerConfig, LimitError};

use super::load::PolicyFile;
use super::{MAX_MESSAGE_CHARS, MAX_MESSAGES, PolicyError, Verdict};
use crate::store::governance::PolicyMessage;

/// The rules evaluated, in order.
pub const RULES: [&str; 2] = ["deny", "warn"];

/// How often (in regorus's work units) the timer looks at the clock.
const TIMER_CHECK_INTERVAL: u32 = 64;

/// A fresh Rego v1 engine holding `files`, bounded by `timeout`.
pub fn engine(files: &[&PolicyFile], timeout: Duration) -> Result<regorus::Engine, PolicyError> {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: timeout,
        check_interval: NonZeroU32::new(TIMER_CHECK_INTERVAL).unwrap_or(NonZeroU32::MIN),
    });
    for file in files {
        engine.add_policy(file.name.clone(), file.text.clone()).map_err(|e| PolicyError::Syntax {
            file: file.name.clone(),
            detail: e.to_string().trim_start().to_owned(),
        })?;
    }
    Ok(engine)
}

/// Every `deny` and `warn` message of `files` on `input`; the first failure stops (closed).
pub fn evaluate(files: &[PolicyFile], input: &regorus::Value, timeout: Duration) -> Result<Verdict, PolicyError> {
    let mut verdict = Verdict::default();
    for file in files {
        let mut engine = engine(&[file], timeout)?;
        engine.set_input(input.clone());
        for rule in RULES {
            let messages = eval_rule(&mut engine, file, rule, timeout)?;
            let out = if rule == "deny" { &mut verdict.denies } else { &mut verdict.warnings };
            for m in messages {
                if out.len() < MAX_MESSAGES {
                    out.push(m);
                }
            }
        }
    }
    Ok(verdict)
}

/// `data.infra_manager.<rule>` of one file's engine, as messages (undefined: none).
pub fn eval_rule(
    engine: &mut regorus::Engine,
    file: &PolicyFile,
    rule: &str,
    timeout: Duration,
) -> Result<Vec<PolicyMessage>, PolicyError> {
    let query = format!("data.infra_manager.{rule}");
    let results = engine.eval_query(query, false).map_err(|e| failed(file, rule, &e, timeout))?;
    let mut out = Vec::new();
    for result in results.result {
        for expression in result.expressions {
            let value = serde_json::to_value(&expression.value).map_err(|e| PolicyError::Eval {
                file: file.name.clone(),
                rule: rule.to_owned(),
                detail: e.to_string(),
            })?;
            let items = match value {
                serde_json::Value::Array(items) => items,
                other => {
                    return Err(PolicyError::Eval {
                        file: file.name.clone(),
                        rule: rule.to_owned(),
                        detail: format!("`{rule}` must be a set of messages, it is {}", kind(&other)),
                    });
                }
            };
            for item in items {
                out.push(message(file, rule, item)?);
            }
        }
    }
    Ok(out)
}

/// A timer stop is told from any other failure by its type, never by its text.
fn failed(file: &PolicyFile, rule: &str, error: &anyhow::Error, timeout: Duration) -> PolicyError {
    let stopped = error
        .chain()
        .any(|cause| matches!(cause.downcast_ref::<LimitError>(), Some(LimitError::TimeLimitExceeded { .. })));
    if stopped {
        PolicyError::TimeLimit { file: file.name.clone(), rule: rule.to_owned(), limit_ms: timeout.as_millis() }
    } else {
        PolicyError::Eval { file: file.name.clone(), rule: rule.to_owned(), detail: error.to_string() }
    }
}

/// One message: a string, or an object with `msg` and optionally `component` (bounded).
fn message(file: &PolicyFile, rule: &str, item: serde_json::Value) -> Result<PolicyMessage, PolicyError> {
    let bounded = |s: &str| s.chars().take(MAX_MESSAGE_CHARS).collect::<String>();
    let (msg, component) = match &item {
        serde_json::Value::String(s) => (bounded(s), None),
        serde_json::Value::Object(o) => match (o.get("msg"), o.get("component")) {
            (Some(serde_json::Value::String(m)), None | Some(serde_json::Value::Null)) => (bounded(m), None),
            (Some(serde_json::Value::String(m)), Some(serde_json::Value::String(c))) => (bounded(m), Some(bounded(c))),
            _ => return Err(bad_message(file, rule, &item)),
        },
        _ => return Err(bad_message(file, rule, &item)),
    };
    Ok(PolicyMessage { policy: file.name.clone(), rule: rule.to_owned(), msg, component })
}

fn bad_message(file: &PolicyFile, rule: &str, item: &serde_json::Value) -> PolicyError {
    PolicyError::Eval {
        file: file.name.clone(),
        rule: rule.to_owned(),
        detail: format!(
            "a message must be a string or an object with a string `msg` (and optionally a string `component`), not {}",
            kind(item)
        ),
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str, text: &str) -> PolicyFile {
        PolicyFile { name: name.to_owned(), text: text.to_owned() }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn deny_and_warn_messages_are_strings_or_objects_and_name_their_file() {
        let p = file(
            "prod.rego",
            r#"package infra_manager
deny contains "no destroys" if { some rc in input.plan.resource_changes; "delete" in rc.change.actions }
warn contains {"msg": "big", "component": "db"} if { input.target.environment == "production" }
"#,
        );
        let input = regorus::Value::from(
            json!({"plan": {"resource_changes": [{"change": {"actions": ["delete"]}}]}, "target": {"environment": "production"}}),
        );
        let v = evaluate(&[p], &input, SECOND).expect("evaluates");
        assert_eq!(v.denies.len(), 1);
        assert_eq!(v.denies[0].line(), "prod.rego: no destroys");
        assert_eq!(v.warnings[0].line(), "prod.rego: db: big");
        let calm =
            regorus::Value::from(json!({"plan": {"resource_changes": []}, "target": {"environment": "staging"}}));
        let p = file("prod.rego", "package infra_manager\ndeny contains \"x\" if { input.plan.resource_changes[_] }\n");
        assert_eq!(evaluate(&[p], &calm, SECOND).expect("evaluates"), Verdict::default());
    }

    #[test]
    fn a_syntax_error_fails_closed_with_the_file_and_line() {
        let p = file("bad.rego", "package infra_manager\n\ndeny contains msg if {\n  msg := \n}\n");
        let error = evaluate(&[p], &regorus::Value::from(json!({})), SECOND).expect_err("fails closed");
        assert!(matches!(error, PolicyError::Syntax { ref file, .. } if file == "bad.rego"), "{error:?}");
        assert!(error.to_string().contains("bad.rego:4:7"), "{error}");
    }

    #[test]
    fn a_policy_that_never_ends_is_stopped_by_the_timer_and_named() {
        let p = file(
            "loop.rego",
            "package infra_manager\ndeny contains a if { some a in input.xs; some b in input.xs; some c in input.xs; a + b + c < 0 }\n",
        );
        let xs: Vec<u32> = (0..2000).collect();
        let started = std::time::Instant::now();
        let error =
            evaluate(&[p], &regorus::Value::from(json!({"xs": xs})), Duration::from_millis(200)).expect_err("stopped");
        assert!(matches!(error, PolicyError::TimeLimit { ref file, .. } if file == "loop.rego"), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn a_message_of_the_wrong_shape_fails_closed() {
        let p = file("shape.rego", "package infra_manager\ndeny contains 42 if { true }\n");
        let error = evaluate(&[p], &regorus::Value::from(json!({})), SECOND).expect_err("fails");
        assert!(matches!(error, PolicyError::Eval { .. }), "{error:?}");
    }
}
