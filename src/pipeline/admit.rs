//! Admission: the request is checked against the registry before anything is read or
//! written anywhere (no API call, no status, no record for a refused request).

use crate::config::Config;
use crate::identity::Target;
use crate::refusal::Refusal;

/// [`admit`], and for a plan that is not a destroy: the environment has not expired. An
/// expired environment is only destroyed (`reap`); planning it again would re-create what
/// expiry ended.
pub fn admit_plan(config: &Config, target: &Target) -> Result<(), Refusal> {
    admit(config, target)?;
    match config.customer(&target.customer).and_then(|c| c.expiry(&target.env)) {
        Some(at) if at <= jiff::Timestamp::now() => {
            Err(Refusal::Expired { target: target.clone(), at: at.to_string() })
        }
        _ => Ok(()),
    }
}

pub fn admit(config: &Config, target: &Target) -> Result<(), Refusal> {
    if target.customer.as_tenant().is_some() {
        // A tenant is the provider's own: the `tenants:` section says where it may run.
        if let Some(enabled) = &config.tenants.environments
            && !enabled.contains(&target.env)
        {
            return Err(Refusal::EnvNotEnabled {
                customer: target.customer.clone(),
                env: target.env.clone(),
                enabled: enabled.iter().map(ToString::to_string).collect(),
            });
        }
    } else if config.has_registry() {
        let Some(customer) = config.customer(&target.customer) else {
            return Err(Refusal::NotRegistered { customer: target.customer.clone() });
        };
        if !customer.environments.contains(&target.env) {
            return Err(Refusal::EnvNotEnabled {
                customer: target.customer.clone(),
                env: target.env.clone(),
                enabled: customer.environments.iter().map(ToString::to_string).collect(),
            });
        }
    }
    if config.environment(&target.env).is_none() {
        return Err(Refusal::UnknownEnv {
            env: target.env.clone(),
            configured: config.environment_names().iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Ok(())
}
