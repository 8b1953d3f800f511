//! The `environments:` section of `infra-manager.yml`: environment name → whether its
//! applies run without review.

use super::{Key, unknown_keys};
use crate::identity::EnvName;
use crate::yaml::{self, Checker, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub auto_apply: bool,
}

/// The keys of one environment, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[Key {
    name: "auto_apply",
    default: "`true`",
    meaning: "apply without review (`false`: the apply waits for a reviewer)",
}];

/// Without the section: `staging` applies at once, `production` after review.
pub(super) fn defaults() -> Vec<(EnvName, EnvironmentConfig)> {
    let env = |name: &str| EnvName::parse(name).unwrap_or_else(|_| unreachable!("valid literal"));
    vec![
        (env("staging"), EnvironmentConfig { auto_apply: true }),
        (env("production"), EnvironmentConfig { auto_apply: false }),
    ]
}

/// In file order.
pub(super) fn read(c: &mut Checker, node: &Node) -> Vec<(EnvName, EnvironmentConfig)> {
    let mut out = Vec::new();
    let Some(entries) = c.map("environments", node) else { return out };
    for (key, value) in entries {
        let name = match EnvName::parse(&key.name) {
            Ok(n) => n,
            Err(e) => {
                c.error(key.pos, e.to_string(), None);
                continue;
            }
        };
        let mut env = EnvironmentConfig { auto_apply: name.as_str() != "production" };
        let path = format!("environments.{name}");
        if !matches!(value.value, yaml::Value::Null)
            && let Some(fields) = c.map(&path, value)
        {
            unknown_keys(c, &path, fields, KEYS, "");
            if let Some(v) = yaml::get(fields, "auto_apply")
                && let Some(b) = c.bool(&format!("{path}.auto_apply"), v)
            {
                env.auto_apply = b;
            }
        }
        out.push((name, env));
    }
    out
}

/// A list of environment names at `path`, each checked at its place (a bad one is left out).
pub(crate) fn env_list(c: &mut Checker, path: &str, node: &Node) -> Vec<EnvName> {
    let items = c.str_list(path, node).unwrap_or_default();
    items
        .into_iter()
        .filter_map(|(s, pos)| match EnvName::parse(&s) {
            Ok(e) => Some(e),
            Err(e) => {
                c.error(pos, e.to_string(), None);
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("environments", super::KEYS);
    }
}
