//! The `environments:` section of `infra-manager.yml`: environment name → whether its
//! applies run without review, who must approve them ([`super::approval`]) and when they
//! may run ([`super::windows`]).

use super::{Key, unknown_keys};
use crate::identity::EnvName;
use crate::yaml::{self, Checker, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub auto_apply: bool,
    /// Governance: approvals, windows and freezes (issue 22).
    pub approval: Option<super::approval::ApprovalRule>,
    pub windows: Vec<super::windows::Window>,
    pub freezes: Vec<super::windows::Freeze>,
}

impl EnvironmentConfig {
    fn new(auto_apply: bool) -> Self {
        Self { auto_apply, approval: None, windows: Vec::new(), freezes: Vec::new() }
    }
}

/// The keys of one environment, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key {
        name: "auto_apply",
        default: "`true`",
        meaning: "apply without review (`false`: the apply waits for a reviewer)",
    },
    Key { name: "approval", default: "none", meaning: "who must approve an apply, verified before Terraform runs" },
    Key { name: "windows", default: "none", meaning: "weekly windows outside which applies are refused" },
    Key { name: "freezes", default: "none", meaning: "dated freezes during which applies are refused" },
];

/// Without the section: `staging` applies at once, `production` after review.
pub(super) fn defaults() -> Vec<(EnvName, EnvironmentConfig)> {
    let env = |name: &str| EnvName::parse(name).unwrap_or_else(|_| unreachable!("valid literal"));
    vec![(env("staging"), EnvironmentConfig::new(true)), (env("production"), EnvironmentConfig::new(false))]
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
        let mut env = EnvironmentConfig::new(name.as_str() != "production");
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
            if let Some(v) = yaml::get(fields, "approval") {
                env.approval = super::approval::read(c, &format!("{path}.approval"), v);
            }
            if let Some(v) = yaml::get(fields, "windows") {
                env.windows = super::windows::read_windows(c, &format!("{path}.windows"), v);
            }
            if let Some(v) = yaml::get(fields, "freezes") {
                env.freezes = super::windows::read_freezes(c, &format!("{path}.freezes"), v);
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
