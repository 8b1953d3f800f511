//! The `policy:` section of `infra-manager.yml`: where the Rego policies live and how long
//! one policy file may evaluate (issue 22; see `docs/policy.md`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Key, read_duration, unknown_keys};
use crate::yaml::{Checker, Node};

/// Where the policies are and their evaluation bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// `policies/` next to `infra-manager.yml` unless set; a directory that does not exist
    /// means no policies.
    pub dir: PathBuf,
    /// The most one policy file may take to evaluate (regorus's execution timer); past it
    /// the plan fails closed, naming the file.
    pub timeout: Duration,
}

impl PolicyConfig {
    pub fn defaults(base: &Path) -> Self {
        Self { dir: base.join("policies"), timeout: Duration::from_secs(2) }
    }
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "dir", default: "`policies`", meaning: "the directory of `.rego` files, relative to this file" },
    Key {
        name: "timeout",
        default: "`2s`",
        meaning: "the longest one policy file may evaluate; past it the plan fails",
    },
];

pub(super) fn read(c: &mut Checker, node: &Node, base: &Path, p: &mut PolicyConfig) {
    let Some(entries) = c.map("policy", node) else { return };
    unknown_keys(c, "policy", entries, KEYS, "");
    for (key, value) in entries {
        let path = format!("policy.{}", key.name);
        match key.name.as_str() {
            "dir" => {
                if let Some(dir) = c.str(&path, value) {
                    p.dir = base.join(dir);
                }
            }
            "timeout" => read_duration(c, &path, value, &mut p.timeout),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("policy", super::KEYS);
    }
}
