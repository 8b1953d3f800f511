//! The `oidc:` section of `infra-manager.yml`: the issuer whose tokens authenticate
//! dispatches.

use super::{Key, read_string, unknown_keys};
use crate::yaml::{self, Checker, Node};

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[Key {
    name: "issuer",
    default: "`https://token.actions.githubusercontent.com`",
    meaning: "the OIDC issuer of dispatch tokens",
}];

pub(super) fn read(c: &mut Checker, node: &Node, issuer: &mut String) {
    let Some(entries) = c.map("oidc", node) else { return };
    unknown_keys(c, "oidc", entries, KEYS, "");
    if let Some(value) = yaml::get(entries, "issuer") {
        read_string(c, "oidc.issuer", value, issuer);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("oidc", super::KEYS);
        assert_eq!(super::KEYS[0].default, format!("`{}`", crate::oidc::DEFAULT_ISSUER));
    }
}
