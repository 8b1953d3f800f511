//! The registry: for any owner, a customer repository or a provider tenant, what it may
//! do and where its file comes from. Customers come from `customers:` (any customer with
//! the default tier when no registry is configured, as in local mode); tenants from
//! `tenants:`. Every check that depends on who the owner is asks here, so a customer and a
//! tenant meet the same rules through the same code.

use crate::config::{Config, DEFAULT_TIER, Tier};
use crate::identity::{EnvName, Owner};

/// Where an owner's file is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    /// `infra/variables.yml` in the customer's repository, at a commit of it.
    Repository,
    /// `tenants/<name>.yml` in the manager checkout, at a commit of it.
    ManagerCheckout,
}

/// What the registry says of one owner.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration<'a> {
    pub owner: Owner,
    /// The tier whose limits the owner's file is checked against.
    pub tier: &'a str,
    /// The component types the owner may use (`None`: the whole catalog).
    pub types: Option<&'a [String]>,
    /// The environments the owner may use (`None`: every configured environment).
    pub environments: Option<&'a [EnvName]>,
    /// When an environment ends, by the registry (a tenant's file may say so too).
    pub expires_at: &'a [(EnvName, jiff::Timestamp)],
    /// Dispatches must carry a GitHub Actions OIDC token from `trigger_workflow`.
    pub require_oidc: bool,
    pub trigger_workflow: Option<&'a str>,
    pub source: FileSource,
}

impl Registration<'_> {
    /// Whether the owner may use `env` (before the manager's own environments are asked).
    pub fn allows(&self, env: &EnvName) -> bool {
        self.environments.is_none_or(|enabled| enabled.contains(env))
    }

    /// When `env` expires by the registry, if it does.
    pub fn expiry(&self, env: &EnvName) -> Option<jiff::Timestamp> {
        self.expires_at.iter().find(|(e, _)| e == env).map(|(_, at)| *at)
    }

    /// The tier's limits, when the tier is configured.
    pub fn tier_limits<'c>(&self, config: &'c Config) -> Option<(&'c str, &'c Tier)> {
        config.tiers.get_key_value(self.tier).map(|(k, v)| (k.as_str(), v))
    }
}

impl Config {
    /// What the registry says of `owner`; `None` when a registry is configured and the
    /// customer is not in it. A tenant is always the provider's own, under `tenants:`.
    pub fn registration(&self, owner: &Owner) -> Option<Registration<'_>> {
        match owner {
            Owner::Customer(repo) => match self.customer(repo) {
                Some(c) => Some(Registration {
                    owner: owner.clone(),
                    tier: &c.tier,
                    types: None,
                    environments: Some(&c.environments),
                    expires_at: &c.expires_at,
                    require_oidc: c.require_oidc,
                    trigger_workflow: Some(&c.trigger_workflow),
                    source: FileSource::Repository,
                }),
                None if self.has_registry() => None,
                None => Some(Registration {
                    owner: owner.clone(),
                    tier: DEFAULT_TIER,
                    types: None,
                    environments: None,
                    expires_at: &[],
                    require_oidc: false,
                    trigger_workflow: None,
                    source: FileSource::Repository,
                }),
            },
            Owner::Tenant(_) => Some(Registration {
                owner: owner.clone(),
                tier: &self.tenants.tier,
                types: self.tenants.types.as_deref(),
                environments: self.tenants.environments.as_deref(),
                expires_at: &[],
                require_oidc: false,
                trigger_workflow: None,
                source: FileSource::ManagerCheckout,
            }),
        }
    }

    /// The tier that applies to `owner` (the default tier for an unknown one).
    pub fn tier_for(&self, owner: Option<&Owner>) -> Option<(&str, &Tier)> {
        let name = owner.and_then(|o| self.registration(o)).map_or(DEFAULT_TIER, |r| r.tier);
        self.tiers.get_key_value(name).map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{RepoId, TenantName};

    #[test]
    fn one_registry_answers_for_customers_and_tenants() {
        let text = "customers:\n  - repo: acme/web\n    tier: standard\n    environments: [staging]\n    expires_at: { staging: 2026-01-01 }\ntenants:\n  tier: standard\n  types: [queue]\n  environments: [production]\n";
        let config = Config::parse("infra-manager.yml", text, std::path::Path::new("/m")).expect("valid");
        let staging = EnvName::parse("staging").expect("env");
        let production = EnvName::parse("production").expect("env");
        let customer =
            config.registration(&Owner::Customer(RepoId::parse("acme/web").expect("id"))).expect("registered");
        assert_eq!(
            (customer.source, customer.allows(&staging), customer.allows(&production)),
            (FileSource::Repository, true, false)
        );
        assert!(customer.expiry(&staging).is_some());
        let tenant = config.registration(&Owner::Tenant(TenantName::parse("billing").expect("name"))).expect("tenant");
        assert_eq!(
            (tenant.source, tenant.allows(&staging), tenant.allows(&production)),
            (FileSource::ManagerCheckout, false, true)
        );
        assert_eq!(tenant.types, Some(&["queue".to_owned()][..]));
        assert_eq!(config.registration(&Owner::Customer(RepoId::parse("acme/other").expect("id"))), None);
        // Any owner name is a repository's: a customer may be called `tenants/…`.
        let named = "customers:\n  - repo: tenants/billing\n    environments: [staging]\n";
        let config = Config::parse("infra-manager.yml", named, std::path::Path::new("/m")).expect("valid");
        assert!(config.registration(&Owner::Customer(RepoId::parse("tenants/billing").expect("id"))).is_some());
    }
}
