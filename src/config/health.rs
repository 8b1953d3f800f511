//! The `health:` section of `infra-manager.yml`: the check after an apply, how long to poll
//! the module's `health_check_url` and how often.

use std::time::Duration;

use super::{Key, read_duration, unknown_keys};
use crate::yaml::{Checker, Node};

/// The check after an apply (`health:`): how long to poll the module's
/// `health_check_url`, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// How long to wait for the expected answer before the apply run fails.
    pub timeout: Duration,
    /// The wait before the second poll; each later wait doubles, up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
    /// The bound on one request (connect, send, answer headers).
    pub request_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "timeout", default: "`5m`", meaning: "how long to poll before the run fails" },
    Key { name: "interval", default: "`2s`", meaning: "the first wait between polls, doubling" },
    Key { name: "max_interval", default: "`30s`", meaning: "the longest wait between polls" },
    Key { name: "request_timeout", default: "`10s`", meaning: "the bound on one poll" },
];

pub(super) fn read(c: &mut Checker, node: &Node, h: &mut HealthConfig) {
    let Some(entries) = c.map("health", node) else { return };
    unknown_keys(c, "health", entries, KEYS, "");
    for (key, value) in entries {
        let path = format!("health.{}", key.name);
        let target = match key.name.as_str() {
            "timeout" => &mut h.timeout,
            "interval" => &mut h.interval,
            "max_interval" => &mut h.max_interval,
            "request_timeout" => &mut h.request_timeout,
            _ => continue,
        };
        read_duration(c, &path, value, target);
        // A zero wait would poll in a busy loop, a zero request bound would never get an answer.
        if key.name != "timeout" && target.is_zero() {
            c.error(value.pos, format!("`{path}` must be longer than zero"), Some("write e.g. `2s`".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::HealthConfig;
    use crate::config::Config;

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("health", super::KEYS);
    }

    #[test]
    fn health_bounds_take_durations_and_default_to_five_minutes() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        assert_eq!(config.health, HealthConfig::default());
        assert_eq!(config.health.timeout, Duration::from_secs(300));
        let text = "health:\n  timeout: 3s\n  interval: 100ms\n  max_interval: 1s\n  request_timeout: 2s\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        assert_eq!(
            config.health,
            HealthConfig {
                timeout: Duration::from_secs(3),
                interval: Duration::from_millis(100),
                max_interval: Duration::from_secs(1),
                request_timeout: Duration::from_secs(2),
            }
        );
        let err = Config::parse("infra-manager.yml", "health:\n  interval: 0s\n  timout: 1m\n", Path::new("."))
            .expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
        assert_eq!(lines, ["3:3 unknown key `timout` in `health`", "2:13 `health.interval` must be longer than zero"]);
    }
}
