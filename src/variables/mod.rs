//! The customer's `infra/variables.yml`, schema v1: parse, validate, resolve per environment.
//! Schema v2 (`apiVersion: infra-manager/v2`) is [`v2`]; [`tenant`] tells the two apart.
//!
//! Validation walks the position-keeping YAML tree and reports every problem in one run, each
//! at its `line:column` with a hint ([`check`]). Templated strings are then expanded for every
//! environment and every rule runs on the expanded text ([`rules`]); a string that cannot be
//! expanded is an error at its place. What a successful parse keeps is exactly those checked,
//! expanded values, one [`Resolved`] per environment: nothing unexpanded or unchecked can reach
//! Terraform (which gets them as JSON data).

mod check;
pub mod document;
pub mod migrate;
mod rules;
pub mod schema;
pub mod template;
pub mod v2;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Tier;
use crate::diagnostic::{Diagnostic, Diagnostics, FileProblem};
use crate::identity::{EnvName, Owner};
use crate::yaml::{self, Checker};

/// Where the file lives in a customer repository.
pub const PATH: &str = "infra/variables.yml";

/// What the file is checked against: the manager's environments, the customer's tier and,
/// for a registered customer, the environments enabled for them.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub environments: Vec<&'a str>,
    pub tier: Option<(&'a str, &'a Tier)>,
    pub enabled: Option<Vec<&'a str>>,
}

impl<'a> Rules<'a> {
    /// The rules for `owner` under `config` (`None`: no owner known, default tier), as
    /// the registry says.
    pub fn for_owner(config: &'a crate::config::Config, owner: Option<&Owner>) -> Self {
        let registration = owner.and_then(|o| config.registration(o));
        let enabled = registration.as_ref().and_then(|r| r.environments);
        Self {
            environments: config.environment_names(),
            tier: config.tier_for(owner),
            enabled: enabled.map(|envs| envs.iter().map(EnvName::as_str).collect()),
        }
    }
}

/// A validated `variables.yml`: the checked values of each environment it defines.
#[derive(Debug, Clone, PartialEq)]
pub struct Variables {
    project_name: String,
    /// In file order, one per environment.
    environments: Vec<(EnvName, Resolved)>,
}

/// The values for one environment: exactly what goes into `customer.auto.tfvars.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub customer: String,
    pub project_name: String,
    pub environment: String,
    pub region: String,
    pub instance_type: String,
    pub min_instances: i64,
    pub max_instances: i64,
    pub vpc_cidr: String,
    pub availability_zones: i64,
    pub tags: BTreeMap<String, String>,
}

/// Why an environment could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{PATH}` does not define environment `{env}`; it defines: {defined}")]
    MissingEnvironment { env: String, defined: String },
}

impl Variables {
    /// Parses and validates `text` for `customer`. `file` names the file in diagnostics.
    pub fn parse(file: &str, text: &str, customer: &Owner, rules: &Rules<'_>) -> Result<Self, Diagnostics> {
        let root = yaml::parse(file, text).map_err(|d| Diagnostics(vec![d]))?;
        let mut c = Checker::new(file);
        let parsed = check::file(&mut c, &root, &customer.to_string(), rules);
        match parsed {
            Some(vars) if c.diagnostics.is_empty() => Ok(vars),
            _ => {
                let mut diagnostics = c.diagnostics;
                diagnostics.sort_by_key(|d| (d.line, d.column));
                Err(Diagnostics(diagnostics))
            }
        }
    }

    pub fn project_name(&self) -> &str {
        &self.project_name
    }

    /// The environments the file defines, in file order.
    pub fn environments(&self) -> impl Iterator<Item = &EnvName> {
        self.environments.iter().map(|(name, _)| name)
    }

    /// The values for `env`, as checked during [`Variables::parse`].
    pub fn resolve(&self, env: &EnvName) -> Result<Resolved, ResolveError> {
        match self.environments.iter().find(|(name, _)| name == env) {
            Some((_, resolved)) => Ok(resolved.clone()),
            None => {
                let defined: Vec<&str> = self.environments().map(EnvName::as_str).collect();
                Err(ResolveError::MissingEnvironment { env: env.to_string(), defined: defined.join(", ") })
            }
        }
    }
}

/// The diagnostic for a `variables.yml` refused as a whole before it could be parsed — larger
/// than the limit (at line 1, column 1 of `file`), or not UTF-8 (at the first bad byte). For the command layer when
/// the code host reports such a file (e.g. GitHub's contents API): the run is then "invalid"
/// (exit 2) with this error, like any other problem in the file.
pub fn file_problem(file: &str, problem: &FileProblem) -> Diagnostic {
    Diagnostic::whole_file(file, problem)
}

#[cfg(test)]
mod tests;
