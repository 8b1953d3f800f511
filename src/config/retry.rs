//! The `retry:` section of `infra-manager.yml`: how often an apply that failed for a
//! transient reason is tried again, and the waits between the attempts.

use std::time::Duration;

use super::{Key, read_attempts, read_duration, unknown_keys};
use crate::yaml::{Checker, Node};

/// Retries of an apply that failed for a transient reason (`retry:`): how many attempts in
/// all, and the waits between them (see [`crate::pipeline::retry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts in all, the first included: 1 never retries.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

/// The most attempts `retry.attempts` allows: a failure that outlasts that many is not passing.
pub const MAX_ATTEMPTS: u32 = 10;

impl Default for RetryConfig {
    fn default() -> Self {
        Self { attempts: 3, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(120) }
    }
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "attempts", default: "`3`", meaning: "attempts in all, the first included (1 to 10)" },
    Key { name: "backoff", default: "`10s`", meaning: "the wait before the second attempt, doubling" },
    Key { name: "max_backoff", default: "`2m`", meaning: "the longest wait between attempts" },
];

pub(super) fn read(c: &mut Checker, node: &Node, r: &mut RetryConfig) {
    let Some(entries) = c.map("retry", node) else { return };
    unknown_keys(c, "retry", entries, KEYS, "");
    for (key, value) in entries {
        let path = format!("retry.{}", key.name);
        match key.name.as_str() {
            "attempts" => read_attempts(c, &path, value, &mut r.attempts),
            "backoff" | "max_backoff" => {
                let target = if key.name == "backoff" { &mut r.backoff } else { &mut r.max_backoff };
                read_duration(c, &path, value, target);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::RetryConfig;
    use crate::config::Config;

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("retry", super::KEYS);
    }

    #[test]
    fn retries_default_to_three_attempts_and_are_bounded() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        assert_eq!(
            config.retry,
            RetryConfig { attempts: 3, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(120) }
        );
        let text = "retry:\n  attempts: 1\n  backoff: 200ms\n  max_backoff: 1s\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        assert_eq!(
            config.retry,
            RetryConfig { attempts: 1, backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(1) }
        );
        let err = Config::parse("infra-manager.yml", "retry:\n  attempts: 11\n  backof: 1s\n", Path::new("."))
            .expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
        assert_eq!(lines, ["3:3 unknown key `backof` in `retry`", "2:13 `retry.attempts` must be between 1 and 10"]);
        for zero in ["0", "-1"] {
            let text = format!("retry:\n  attempts: {zero}\n");
            assert!(Config::parse("infra-manager.yml", &text, Path::new(".")).is_err(), "{zero}");
        }
    }
}
