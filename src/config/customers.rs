//! The `customers:` section of `infra-manager.yml`, the registry: each customer
//! repository with its tier, environments, dispatch authentication and expiry dates.

use super::{DEFAULT_TIER, Key, env_list, unknown_keys};
use crate::identity::{EnvName, RepoId};
use crate::yaml::{self, Checker, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub repo: RepoId,
    pub tier: String,
    pub environments: Vec<EnvName>,
    /// Dispatches must carry a GitHub Actions OIDC token from the customer's trigger
    /// workflow, verified against the issuer's keys.
    pub require_oidc: bool,
    /// The trigger workflow's path in the customer repository (`job_workflow_ref`).
    pub trigger_workflow: String,
    /// When an environment ends (`expires_at: {poc: 2026-12-31}`): `reap` destroys it then,
    /// and plans warn in the week before.
    pub expires_at: Vec<(EnvName, jiff::Timestamp)>,
}

/// Where the customer template's trigger workflow lives.
pub const DEFAULT_TRIGGER_WORKFLOW: &str = ".github/workflows/infra.yml";

/// The keys of one customer, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "repo", default: "required", meaning: "`owner/name` of the customer repository" },
    Key { name: "tier", default: "`standard`", meaning: "one of `tiers`" },
    Key { name: "environments", default: "none", meaning: "the environments enabled for this customer" },
    Key {
        name: "require_oidc",
        default: "`false`",
        meaning: "dispatches must carry the trigger workflow's OIDC token",
    },
    Key {
        name: "trigger_workflow",
        default: "`.github/workflows/infra.yml`",
        meaning: "the workflow path that token must name",
    },
    Key { name: "expires_at", default: "none", meaning: "environment → the date or time it ends" },
];

impl Customer {
    /// A registered customer with the defaults: no OIDC requirement, the template's
    /// trigger workflow.
    pub fn new(repo: RepoId, tier: &str, environments: Vec<EnvName>) -> Self {
        Self {
            repo,
            tier: tier.to_owned(),
            environments,
            require_oidc: false,
            trigger_workflow: DEFAULT_TRIGGER_WORKFLOW.to_owned(),
            expires_at: Vec::new(),
        }
    }

    /// When `env` expires, if it does.
    pub fn expiry(&self, env: &EnvName) -> Option<jiff::Timestamp> {
        self.expires_at.iter().find(|(e, _)| e == env).map(|(_, at)| *at)
    }
}

/// `expires_at`: environment → an RFC 3339 time (`2026-12-31T18:00:00Z`) or a date
/// (`2026-12-31`, the start of that day in UTC), each an environment the customer has.
fn read_expiry(c: &mut Checker, path: &str, node: &Node, environments: &[EnvName]) -> Vec<(EnvName, jiff::Timestamp)> {
    let mut out = Vec::new();
    let Some(entries) = c.map(path, node) else { return out };
    for (key, value) in entries {
        let env = match EnvName::parse(&key.name) {
            Ok(env) if environments.contains(&env) => env,
            Ok(env) => {
                let hint = format!("`{path}` may only name the customer's environments: {}", names(environments));
                c.error(key.pos, format!("`{path}.{env}` names an environment the customer does not have"), Some(hint));
                continue;
            }
            Err(e) => {
                c.error(key.pos, e.to_string(), None);
                continue;
            }
        };
        let Some(text) = c.str(&format!("{path}.{env}"), value) else { continue };
        match parse_expiry(text) {
            Some(at) => out.push((env, at)),
            None => c.error(
                value.pos,
                format!("`{path}.{env}` is not a date or time: `{text}`"),
                Some("write a date such as `2026-12-31` or a UTC time such as `2026-12-31T18:00:00Z`".into()),
            ),
        }
    }
    out
}

pub(super) fn read(c: &mut Checker, node: &Node) -> Vec<(Customer, yaml::Pos)> {
    let mut out = Vec::new();
    let yaml::Value::Seq(items) = &node.value else {
        if !matches!(node.value, yaml::Value::Null) {
            c.error(node.pos, "`customers` must be a list", Some("write each customer as `- repo: owner/name`".into()));
        }
        return out;
    };
    // A fleet's registry is long: duplicates are found through a set, not a scan per entry.
    let mut listed = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("customers[{i}]");
        let Some(fields) = c.map(&path, item) else { continue };
        unknown_keys(c, &path, fields, KEYS, "");
        let repo = match yaml::get(fields, "repo") {
            Some(n) => c.str(&format!("{path}.repo"), n).and_then(|s| match RepoId::parse(s) {
                Ok(id) => Some(id),
                Err(e) => {
                    c.error(n.pos, e.to_string(), None);
                    None
                }
            }),
            None => {
                c.error(item.pos, format!("`{path}` has no `repo`"), Some("add `repo: owner/name`".into()));
                None
            }
        };
        let tier = yaml::get(fields, "tier")
            .and_then(|n| c.str(&format!("{path}.tier"), n).map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_TIER.to_owned());
        let environments = yaml::get(fields, "environments")
            .map(|n| env_list(c, &format!("{path}.environments"), n))
            .unwrap_or_default();
        if let Some(repo) = repo {
            if !listed.insert(repo.clone()) {
                c.error(item.pos, format!("customer `{repo}` is listed twice"), None);
            }
            let require_oidc = yaml::get(fields, "require_oidc")
                .and_then(|n| c.bool(&format!("{path}.require_oidc"), n))
                .unwrap_or(false);
            let trigger_workflow = yaml::get(fields, "trigger_workflow")
                .and_then(|n| c.str(&format!("{path}.trigger_workflow"), n).map(str::to_owned))
                .unwrap_or_else(|| DEFAULT_TRIGGER_WORKFLOW.to_owned());
            let expires_at = yaml::get(fields, "expires_at")
                .map(|n| read_expiry(c, &format!("{path}.expires_at"), n, &environments))
                .unwrap_or_default();
            out.push((Customer { repo, tier, environments, require_oidc, trigger_workflow, expires_at }, item.pos));
        }
    }
    out
}

fn names(environments: &[EnvName]) -> String {
    environments.iter().map(EnvName::as_str).collect::<Vec<_>>().join(", ")
}

/// A date (`2026-12-31`, the start of that day in UTC) or an RFC 3339 time.
pub(crate) fn parse_expiry(text: &str) -> Option<jiff::Timestamp> {
    // A time says its offset: `2027-03-31T23:00:00` alone would otherwise be read as the
    // date, midnight, 23 hours early.
    if text.contains(['T', 't', ' ', ':']) {
        return text.parse::<jiff::Timestamp>().ok();
    }
    let date = text.parse::<jiff::civil::Date>().ok()?;
    format!("{date}T00:00:00Z").parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::parse_expiry;
    use crate::config::Config;
    use crate::identity::EnvName;

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("customers", super::KEYS);
    }

    #[test]
    fn an_environment_may_expire_at_a_date_or_a_time_and_only_one_the_customer_has() {
        let text =
            "customers:\n  - repo: acme/poc\n    environments: [staging]\n    expires_at:\n      staging: 2026-12-31\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        let poc = &config.customers[0];
        let staging = EnvName::parse("staging").expect("valid");
        assert_eq!(poc.expiry(&staging).map(|t| t.to_string()), Some("2026-12-31T00:00:00Z".to_owned()));
        assert_eq!(parse_expiry("2026-12-31T18:30:00Z").map(|t| t.to_string()), Some("2026-12-31T18:30:00Z".into()));
        assert_eq!(parse_expiry("next week"), None);

        let text = "customers:\n  - repo: acme/poc\n    environments: [staging]\n    expires_at:\n      production: 2026-12-31\n      staging: soon\n";
        let messages: Vec<String> = Config::parse("infra-manager.yml", text, Path::new("."))
            .expect_err("invalid")
            .0
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0]
                .contains("5:7: `customers[0].expires_at.production` names an environment the customer does not have"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("6:16: `customers[0].expires_at.staging` is not a date or time: `soon`"),
            "{messages:?}"
        );
    }
}
