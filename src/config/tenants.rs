//! The `tenants:` section of `infra-manager.yml`: what every tenant file may use.

use std::collections::BTreeMap;

use super::{DEFAULT_TIER, Key, env_list, unknown_keys};
use crate::identity::EnvName;
use crate::yaml::{self, Checker, Node, Pos};

/// Settings for every tenant. Without a `tenants:` section: the default tier, every
/// catalog type and every environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantsConfig {
    /// The tier whose limits tenant files are checked against.
    pub tier: String,
    /// The component types tenant files may use (`None`: the whole catalog).
    pub types: Option<Vec<String>>,
    /// The environments a tenant may list (`None`: every configured environment).
    pub environments: Option<Vec<EnvName>>,
    /// Per component type: whether a request for it (`tenants request`) is committed
    /// straight on the default branch rather than on a branch for review.
    pub auto_approve: BTreeMap<String, bool>,
    /// Who may request a tenant (GitHub logins or `org/team`); `tenants request` checks
    /// logins only (a team needs GitHub to resolve).
    pub requesters: Vec<String>,
    /// Where the section was written, for cross-check errors.
    pub at: Option<Pos>,
}

impl Default for TenantsConfig {
    fn default() -> Self {
        Self {
            tier: DEFAULT_TIER.to_owned(),
            types: None,
            environments: None,
            auto_approve: BTreeMap::new(),
            requesters: Vec::new(),
            at: None,
        }
    }
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "tier", default: "`standard`", meaning: "the tier tenant files are checked against" },
    Key { name: "types", default: "every catalog type", meaning: "the catalog types tenant files may use" },
    Key { name: "environments", default: "every environment", meaning: "the environments tenants may list" },
    Key { name: "auto_approve", default: "none", meaning: "catalog type → whether a request for it skips review" },
    Key { name: "requesters", default: "none", meaning: "GitHub logins or `org/team`s who may request a tenant" },
];

/// Reads the section; cross-checks against tiers, environments and the catalog are
/// [`check`]'s, once the whole file is read.
pub fn read(c: &mut Checker, node: &Node) -> TenantsConfig {
    let mut out = TenantsConfig { at: Some(node.pos), ..TenantsConfig::default() };
    let Some(entries) = c.map("tenants", node) else { return out };
    unknown_keys(c, "tenants", entries, KEYS, "");
    if let Some(n) = yaml::get(entries, "tier")
        && let Some(tier) = c.str("tenants.tier", n)
    {
        out.tier = tier.to_owned();
    }
    if let Some(n) = yaml::get(entries, "types") {
        out.types = c.str_list("tenants.types", n).map(|items| items.into_iter().map(|(s, _)| s).collect());
    }
    if let Some(n) = yaml::get(entries, "environments") {
        out.environments = Some(env_list(c, "tenants.environments", n));
    }
    if let Some(n) = yaml::get(entries, "auto_approve")
        && let Some(fields) = c.map("tenants.auto_approve", n)
    {
        for (key, value) in fields {
            if let Some(b) = c.bool(&format!("tenants.auto_approve.{}", key.name), value) {
                out.auto_approve.insert(key.name.clone(), b);
            }
        }
    }
    if let Some(n) = yaml::get(entries, "requesters") {
        for (who, pos) in c.str_list("tenants.requesters", n).unwrap_or_default() {
            // A login (an App's `<slug>[bot]` too), or a team `org/team`.
            let valid = match who.split_once('/') {
                Some((org, team)) => {
                    crate::github::check_login(org).is_ok()
                        && !team.is_empty()
                        && team.len() <= 100
                        && team.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
                }
                None => crate::github::check_login(&who).is_ok(),
            };
            if valid {
                out.requesters.push(who);
            } else {
                c.error(
                    pos,
                    format!(
                        "`tenants.requesters` entry `{}` is not a GitHub login or `org/team`",
                        crate::diagnostic::shown(&who)
                    ),
                    Some("write a login such as `octocat` or a team such as `acme/platform`".into()),
                );
            }
        }
    }
    out
}

/// Cross-checks: the tier, environments and types named exist.
pub fn check(c: &mut Checker, tenants: &TenantsConfig, tiers: &[&str], environments: &[&str], types: &[&str]) {
    let Some(at) = tenants.at else { return };
    if !tiers.contains(&tenants.tier.as_str()) {
        c.error(
            at,
            format!("`tenants.tier` names unknown tier `{}`", tenants.tier),
            Some(format!("known tiers: {}", tiers.join(", "))),
        );
    }
    for env in tenants.environments.iter().flatten() {
        if !environments.contains(&env.as_str()) {
            c.error(
                at,
                format!("`tenants.environments` lists unknown environment `{env}`"),
                Some(format!("known environments: {}", environments.join(", "))),
            );
        }
    }
    let named = tenants.types.iter().flatten().chain(tenants.auto_approve.keys());
    for ty in named {
        if !types.contains(&ty.as_str()) {
            c.error(
                at,
                format!("`tenants` names unknown component type `{}`", crate::diagnostic::shown(ty)),
                Some(format!("the catalog offers: {}", types.join(", "))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("tenants", super::KEYS);
    }

    #[test]
    fn the_section_is_read_and_cross_checked() {
        let base = std::path::Path::new("/m");
        let text = "tenants:\n  tier: standard\n  types: [queue, database]\n  environments: [staging]\n  auto_approve: { queue: true }\n  requesters: [acme/platform, octocat]\n";
        let config = Config::parse("infra-manager.yml", text, base).expect("valid");
        let t = &config.tenants;
        assert_eq!(t.types.as_deref(), Some(&["queue".to_owned(), "database".to_owned()][..]));
        assert_eq!(t.environments.as_ref().map(Vec::len), Some(1));
        assert_eq!(t.auto_approve.get("queue"), Some(&true));
        assert_eq!(t.requesters, ["acme/platform", "octocat"]);

        let bad = "tenants:\n  tier: gold\n  types: [qeue]\n  environments: [qa]\n  requesters: ['a b']\n";
        let errors = Config::parse("infra-manager.yml", bad, base).expect_err("invalid").0;
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 4, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("unknown tier `gold`")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("unknown component type `qeue`")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("unknown environment `qa`")), "{messages:?}");
    }
}
