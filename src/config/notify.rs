//! The `notify:` section of `infra-manager.yml`: the webhooks told of a target's
//! transitions (see [`crate::notify`]), and how hard a delivery is tried.
//!
//! A webhook's URL and signing key are secrets, so the file names the environment
//! variables that hold them, never the values.

use std::time::Duration;

use super::{Key, read_attempts, read_duration, unknown_keys};
use crate::diagnostic::shown;
use crate::notify::EventKind;
use crate::yaml::{self, Checker, Node};

/// The webhooks and their delivery bounds (`notify:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub webhooks: Vec<Webhook>,
    /// Attempts per event and webhook, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles.
    pub backoff: Duration,
    /// The bound on one attempt (connect, send, answer headers).
    pub timeout: Duration,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// For logs and records: `[a-z0-9-]`, unique.
    pub name: String,
    /// The environment variable holding the URL.
    pub url_env: String,
    pub format: Format,
    /// The events it wants.
    pub events: Vec<EventKind>,
}

/// What a webhook is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// The generic JSON payload, signed with HMAC-SHA256 by the key in this variable.
    Json { secret_env: String },
    /// Slack's incoming-webhook message (`{"text": …}`); the URL is the secret.
    Slack,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self { webhooks: Vec::new(), attempts: 3, backoff: Duration::from_secs(1), timeout: Duration::from_secs(10) }
    }
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "webhooks", default: "none", meaning: "the endpoints told of transitions, a list" },
    Key { name: "webhooks.name", default: "required", meaning: "the webhook's name in logs and records" },
    Key { name: "webhooks.url_env", default: "required", meaning: "the environment variable holding the URL" },
    Key { name: "webhooks.format", default: "`json`", meaning: "`json` (signed) or `slack`" },
    Key { name: "webhooks.secret_env", default: "required for `json`", meaning: "the variable holding the HMAC key" },
    Key { name: "webhooks.events", default: "every event", meaning: "the events the webhook wants" },
    Key { name: "attempts", default: "`3`", meaning: "attempts per event and webhook (1 to 10)" },
    Key { name: "backoff", default: "`1s`", meaning: "the wait before the second attempt, doubling" },
    Key { name: "timeout", default: "`10s`", meaning: "the bound on one attempt" },
];

pub(super) fn read(c: &mut Checker, node: &Node, n: &mut NotifyConfig) {
    let Some(entries) = c.map("notify", node) else { return };
    unknown_keys(c, "notify", entries, KEYS, "");
    for (key, value) in entries {
        let path = format!("notify.{}", key.name);
        match key.name.as_str() {
            "webhooks" => n.webhooks = webhooks(c, &path, value),
            "attempts" => read_attempts(c, &path, value, &mut n.attempts),
            "backoff" | "timeout" => {
                let target = if key.name == "backoff" { &mut n.backoff } else { &mut n.timeout };
                read_duration(c, &path, value, target);
                if target.is_zero() {
                    c.error(value.pos, format!("`{path}` must be longer than zero"), Some("write e.g. `1s`".into()));
                }
            }
            _ => {}
        }
    }
}

fn webhooks(c: &mut Checker, path: &str, node: &Node) -> Vec<Webhook> {
    let yaml::Value::Seq(items) = &node.value else {
        c.error(node.pos, format!("`{path}` must be a list of webhooks"), Some("write `- name: ops` entries".into()));
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(fields) = c.map(&at, item) else { continue };
        unknown_keys(c, &at, fields, KEYS, "webhooks");
        let text = |c: &mut Checker, key: &str| {
            let node = yaml::get(fields, key)?;
            c.str(&format!("{at}.{key}"), node).map(|s| (s.to_owned(), node.pos))
        };
        let name = text(c, "name");
        let url_env = text(c, "url_env");
        let secret_env = text(c, "secret_env");
        let format = text(c, "format");
        let events = yaml::get(fields, "events").map(|n| events(c, &format!("{at}.events"), n));
        let Some((name, name_at)) = name else {
            c.error(item.pos, format!("`{at}` needs `name`"), Some("e.g. `name: ops`".into()));
            continue;
        };
        if !valid_name(&name) {
            c.error(
                name_at,
                format!("`{at}.name` `{}` may only contain lowercase letters, digits and `-`", shown(&name)),
                None,
            );
        } else if names.contains(&name) {
            c.error(
                name_at,
                format!("webhook `{name}` is listed twice"),
                Some("give each webhook its own name".into()),
            );
        }
        names.push(name.clone());
        let variable = |c: &mut Checker, key: &str, found: Option<(String, yaml::Pos)>| match found {
            Some((var, pos)) if !valid_variable(&var) => {
                c.error(pos, format!("`{at}.{key}` `{}` is not an environment variable name", shown(&var)), None);
                None
            }
            Some((var, _)) => Some(var),
            None => None,
        };
        let url_env = variable(c, "url_env", url_env);
        let secret_env = variable(c, "secret_env", secret_env);
        let format = match format.as_ref().map(|(f, pos)| (f.as_str(), *pos)) {
            None | Some(("json", _)) => match secret_env {
                Some(secret_env) => Some(Format::Json { secret_env }),
                None => {
                    c.error(
                        item.pos,
                        format!("`{at}` sends the signed JSON payload but names no `secret_env`"),
                        Some("name the variable holding the signing key (`secret_env: OPS_WEBHOOK_SECRET`)".into()),
                    );
                    None
                }
            },
            Some(("slack", _)) => Some(Format::Slack),
            Some((other, pos)) => {
                c.error(
                    pos,
                    format!("`{at}.format` `{}` is not a format", shown(other)),
                    Some("write `json` or `slack`".into()),
                );
                None
            }
        };
        if yaml::get(fields, "url_env").is_none() {
            c.error(item.pos, format!("`{at}` needs `url_env`"), Some("e.g. `url_env: OPS_WEBHOOK_URL`".into()));
        }
        let Some(url_env) = url_env else { continue };
        if let Some(format) = format {
            let events = events.unwrap_or_else(|| EventKind::ALL.to_vec());
            out.push(Webhook { name, url_env, format, events });
        }
    }
    out
}

fn events(c: &mut Checker, path: &str, node: &Node) -> Vec<EventKind> {
    let mut out = Vec::new();
    for (name, pos) in c.str_list(path, node).unwrap_or_default() {
        match EventKind::parse(&name) {
            Some(kind) if !out.contains(&kind) => out.push(kind),
            Some(_) => {}
            None => {
                let known: Vec<String> = EventKind::ALL.into_iter().map(EventKind::name).collect();
                let hint = crate::suggest::did_you_mean(&name, known.iter().map(String::as_str))
                    .map_or_else(|| format!("events are {}", known.join(", ")), |s| format!("did you mean `{s}`?"));
                c.error(pos, format!("`{path}` `{}` is not an event", shown(&name)), Some(hint));
            }
        }
    }
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A POSIX-style variable name: a letter or `_`, then letters, digits and `_`.
fn valid_variable(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 128
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("notify", super::KEYS);
    }

    fn parse(text: &str) -> Result<NotifyConfig, Vec<String>> {
        Config::parse("infra-manager.yml", text, Path::new("."))
            .map(|c| c.notify)
            .map_err(|e| e.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect())
    }

    #[test]
    fn webhooks_name_their_variables_formats_and_events() {
        assert_eq!(parse(""), Ok(NotifyConfig::default()));
        let text = "notify:\n  attempts: 5\n  backoff: 200ms\n  timeout: 2s\n  webhooks:\n    - name: ops\n      url_env: OPS_URL\n      secret_env: OPS_SECRET\n      events: [drifted, back-in-sync]\n    - name: chat\n      url_env: SLACK_URL\n      format: slack\n";
        let config = parse(text).expect("valid");
        assert_eq!(
            (config.attempts, config.backoff, config.timeout),
            (5, Duration::from_millis(200), Duration::from_secs(2))
        );
        assert_eq!(
            config.webhooks,
            [
                Webhook {
                    name: "ops".into(),
                    url_env: "OPS_URL".into(),
                    format: Format::Json { secret_env: "OPS_SECRET".into() },
                    events: vec![EventKind::Drifted, EventKind::BackInSync],
                },
                Webhook {
                    name: "chat".into(),
                    url_env: "SLACK_URL".into(),
                    format: Format::Slack,
                    events: EventKind::ALL.to_vec(),
                },
            ]
        );
    }

    #[test]
    fn a_webhook_that_could_not_be_sent_as_meant_is_refused_at_its_line() {
        let text = "notify:\n  attempts: 0\n  webhooks:\n    - name: ops\n      url_env: https://hooks.example/x\n      events: [drift]\n    - name: ops\n      url_env: U\n      format: teams\n    - url_env: U\n      format: slack\n      secret: x\n";
        assert_eq!(
            parse(text).expect_err("invalid"),
            [
                "2:13 `notify.attempts` must be between 1 and 10",
                "6:16 `notify.webhooks[0].events` `drift` is not an event",
                "5:16 `notify.webhooks[0].url_env` `https://hooks.example/x` is not an environment variable name",
                "4:7 `notify.webhooks[0]` sends the signed JSON payload but names no `secret_env`",
                "7:13 webhook `ops` is listed twice",
                "9:15 `notify.webhooks[1].format` `teams` is not a format",
                "12:7 unknown key `secret` in `notify.webhooks[2]`",
                "10:7 `notify.webhooks[2]` needs `name`",
            ]
        );
    }
}
