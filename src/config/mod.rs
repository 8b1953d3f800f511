//! The manager's configuration, `infra-manager.yml`.
//!
//! Every key has a default. No file at all means local mode: local state under
//! `.infra-manager/`, the provider-free sandbox module, no customer registry. Unknown keys and
//! bad values are reported together, each at its line.
//!
//! One module per section holds its settings, defaults, reader and [`Key`] table (every key
//! it accepts; a test in each module checks the table against `docs/manager-config.md`).
//! This module puts them together: [`Config::parse`] reads the sections, then checks what
//! one section says about another (a customer's tier exists, and so on).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostic::Diagnostics;
use crate::identity::{EnvName, RepoId};
use crate::yaml::{self, Checker, Node};

mod approval;
pub mod catalog;
mod customers;
mod environments;
mod health;
mod notify;
mod oidc;
mod policy;
mod retry;
mod state;
pub mod tenants;
mod terraform;
mod tiers;
mod windows;

pub use crate::store::s3::LockMode;
pub use approval::ApprovalRule;
use catalog::CatalogConfig;
pub(crate) use customers::parse_expiry;
pub use customers::{Customer, DEFAULT_TRIGGER_WORKFLOW};
pub use environments::EnvironmentConfig;
pub(crate) use environments::env_list;
pub use health::HealthConfig;
pub use notify::{Format as NotifyFormat, NotifyConfig, Webhook};
pub use policy::PolicyConfig;
pub use retry::{MAX_ATTEMPTS, RetryConfig};
pub use state::{BackendKind, StateConfig};
use tenants::TenantsConfig;
pub use terraform::TerraformConfig;
pub use tiers::{DEFAULT_TIER, Tier};
pub use windows::{Freeze, Window, day_name};

/// One key a section accepts: the table each section module keeps is what its reader checks
/// for unknown keys and what the docs must list.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// As written in the file; a key nested below another is written as its path below the
    /// section's entry, e.g. `tiers.<tier>.<input>.min` in the catalog.
    pub name: &'static str,
    /// As the docs write it (a value in backticks, or `none`, `required`, ...).
    pub default: &'static str,
    /// One line.
    pub meaning: &'static str,
}

/// The sections, in the order the "known keys" hint lists them.
const SECTIONS: [&str; 12] = [
    "terraform",
    "state",
    "health",
    "retry",
    "environments",
    "tiers",
    "customers",
    "oidc",
    "catalog",
    "tenants",
    "policy",
    "notify",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub terraform: TerraformConfig,
    pub state: StateConfig,
    pub health: HealthConfig,
    pub retry: RetryConfig,
    /// In file order.
    pub environments: Vec<(EnvName, EnvironmentConfig)>,
    pub tiers: BTreeMap<String, Tier>,
    pub customers: Vec<Customer>,
    /// The OIDC issuer whose tokens authenticate dispatches (`oidc.issuer`).
    pub oidc_issuer: String,
    /// The component types offered (`catalog:`), or the shipped sandbox types.
    pub catalog: CatalogConfig,
    /// What tenant files may use (`tenants:`).
    pub tenants: TenantsConfig,
    /// The Rego policies (`policy:`, issue 22).
    pub policy: PolicyConfig,
    /// The webhooks told of transitions (`notify:`).
    pub notify: NotifyConfig,
    /// The file it came from; `None` for built-in defaults (local mode).
    pub source: Option<PathBuf>,
}

impl Config {
    /// Built-in defaults, the same with a file or without one: the local backend and the
    /// provider-free sandbox module. The S3 backend and a real-cloud module are chosen
    /// explicitly (`state.backend: s3`, `terraform.module`), so adding a file (say, to list
    /// customers) never switches a local setup to AWS unasked.
    pub fn defaults(base: &Path) -> Self {
        let tiers = tiers::defaults();
        let mut catalog = CatalogConfig::sandbox(DEFAULT_TIER);
        catalog.limit_v1_type(&tiers);
        Self {
            terraform: TerraformConfig::defaults(base),
            state: StateConfig::defaults(base),
            health: HealthConfig::default(),
            retry: RetryConfig::default(),
            environments: environments::defaults(),
            tiers,
            customers: Vec::new(),
            oidc_issuer: crate::oidc::DEFAULT_ISSUER.to_owned(),
            catalog,
            tenants: TenantsConfig::default(),
            policy: PolicyConfig::defaults(base),
            notify: NotifyConfig::default(),
            source: None,
        }
    }

    /// Loads `path`, or the local-mode defaults when it does not exist (and `required` is false).
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        // Terraform runs inside working directories, so every configured path is made absolute.
        let base = std::path::absolute(&base).unwrap_or(base);
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text, &base)
                .map(|c| Self { source: Some(path.to_path_buf()), ..c })
                .map_err(ConfigError::Invalid),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Self::defaults(&base)),
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// Parses a config file's text; relative paths are resolved against `base`.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Self, Diagnostics> {
        let root = yaml::parse_within(file, text, yaml::Bounds::MANAGER).map_err(|d| Diagnostics(vec![d]))?;
        let mut config = Self::defaults(base);
        let mut c = Checker::new(file);
        if !matches!(root.value, yaml::Value::Null)
            && let Some(entries) = c.map("", &root)
        {
            let mut customers = Vec::new();
            c.unknown_keys("", entries, &SECTIONS);
            for (key, node) in entries {
                match key.name.as_str() {
                    "terraform" => terraform::read(&mut c, node, base, &mut config.terraform),
                    "state" => state::read(&mut c, node, base, &mut config.state),
                    "health" => health::read(&mut c, node, &mut config.health),
                    "retry" => retry::read(&mut c, node, &mut config.retry),
                    "environments" => config.environments = environments::read(&mut c, node),
                    "tiers" => config.tiers = tiers::read(&mut c, node),
                    "customers" => customers = customers::read(&mut c, node),
                    "oidc" => oidc::read(&mut c, node, &mut config.oidc_issuer),
                    "catalog" => config.catalog = catalog::read(&mut c, node),
                    "tenants" => config.tenants = tenants::read(&mut c, node),
                    "policy" => policy::read(&mut c, node, base, &mut config.policy),
                    "notify" => notify::read(&mut c, node, &mut config.notify),
                    _ => {}
                }
            }
            check_references(&mut c, &customers, &config);
            if config.catalog.from_file {
                catalog::check_tiers(&mut c, &config.catalog, config.tiers.keys().map(String::as_str));
            } else {
                // The built-in types' limits name the default tier, which a file may not have.
                for ty in &mut config.catalog.types {
                    ty.tiers.retain(|t| config.tiers.contains_key(&t.tier));
                }
                config.catalog.limit_v1_type(&config.tiers);
            }
            let tiers: Vec<&str> = config.tiers.keys().map(String::as_str).collect();
            let types: Vec<&str> = config.catalog.types.iter().map(|t| t.name.as_str()).collect();
            tenants::check(&mut c, &config.tenants, &tiers, &config.environment_names(), &types);
            config.customers = customers.into_iter().map(|(customer, _)| customer).collect();
        }
        if c.diagnostics.is_empty() { Ok(config) } else { Err(Diagnostics(c.diagnostics)) }
    }

    /// Whether a customer registry is configured. Without one (local mode), any customer may plan.
    pub fn has_registry(&self) -> bool {
        !self.customers.is_empty()
    }

    pub fn customer(&self, id: &RepoId) -> Option<&Customer> {
        self.customers.iter().find(|c| &c.repo == id)
    }

    pub fn environment(&self, name: &EnvName) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }

    pub fn environment_names(&self) -> Vec<&str> {
        self.environments.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// A lock or a `started` run older than this has no live run behind it: no run lasts
    /// longer than its bound plus the time an interrupted Terraform gets to stop.
    pub fn abandoned_after(&self) -> Duration {
        self.terraform.run_timeout + self.terraform.stop_timeout
    }

    /// Where a local source directory's earlier versions of `variables.yml` are kept
    /// ([`crate::local_host::LocalHost::with_history`]).
    pub fn local_history_dir(&self) -> PathBuf {
        self.state.local_dir.join("sources")
    }

    /// The module directory that rendering copies into a working directory.
    pub fn module_dir(&self) -> PathBuf {
        self.terraform.modules_dir.join(&self.terraform.module)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("can't read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Reports every entry that is not a key of `keys` directly below `parent` (`""`: the
/// entry itself), with a "did you mean" hint.
fn unknown_keys(c: &mut Checker, path: &str, entries: &[(yaml::Key, Node)], keys: &[Key], parent: &str) {
    let known: Vec<&str> = keys
        .iter()
        .filter_map(|k| match k.name.rsplit_once('.') {
            Some((p, name)) if p == parent => Some(name),
            None if parent.is_empty() => Some(k.name),
            _ => None,
        })
        .collect();
    c.unknown_keys(path, entries, &known);
}

/// The helpers below read one scalar into its setting, reporting a bad value at its place.
fn read_string(c: &mut Checker, path: &str, node: &Node, target: &mut String) {
    if let Some(s) = c.str(path, node) {
        *target = s.to_owned();
    }
}

fn read_path(c: &mut Checker, path: &str, node: &Node, base: &Path, target: &mut PathBuf) {
    if let Some(s) = c.str(path, node) {
        *target = base.join(s);
    }
}

fn read_duration(c: &mut Checker, path: &str, node: &Node, target: &mut Duration) {
    if let Some(s) = c.str(path, node) {
        match crate::duration::parse(s) {
            Ok(d) => *target = d,
            Err(e) => {
                c.error(node.pos, format!("`{path}`: {e}"), Some("write a duration such as `90s`, `2m` or `1h`".into()))
            }
        }
    }
}

/// Reads a number of attempts in all, the first included (1 to [`MAX_ATTEMPTS`]).
fn read_attempts(c: &mut Checker, path: &str, node: &Node, target: &mut u32) {
    match c.int(path, node).map(u32::try_from) {
        Some(Ok(n)) if (1..=MAX_ATTEMPTS).contains(&n) => *target = n,
        Some(_) => c.error(
            node.pos,
            format!("`{path}` must be between 1 and {MAX_ATTEMPTS}"),
            Some("write e.g. `3` (1: never retry)".into()),
        ),
        None => {}
    }
}

/// Cross-checks: tiers and environments named by customers exist.
fn check_references(c: &mut Checker, customers: &[(Customer, yaml::Pos)], config: &Config) {
    for (customer, pos) in customers {
        if !config.tiers.contains_key(&customer.tier) {
            let known: Vec<&str> = config.tiers.keys().map(String::as_str).collect();
            let hint = crate::suggest::did_you_mean(&customer.tier, known.iter().copied())
                .map_or_else(|| format!("known tiers: {}", known.join(", ")), |s| format!("did you mean `{s}`?"));
            c.error(*pos, format!("customer `{}` uses unknown tier `{}`", customer.repo, customer.tier), Some(hint));
        }
        for env in &customer.environments {
            if config.environment(env).is_none() {
                c.error(
                    *pos,
                    format!("customer `{}` lists unknown environment `{env}`", customer.repo),
                    Some(format!("known environments: {}", config.environment_names().join(", "))),
                );
            }
        }
    }
}

/// Asserts that `docs/manager-config.md` has a row for each of `keys` in the table under
/// `section`'s heading, showing the same default (a remark may follow it), and no row for
/// a key the table lacks: the docs and the reader can't drift apart.
#[cfg(test)]
fn assert_documented(section: &str, keys: &[Key]) {
    const DOC: &str = include_str!("../../docs/manager-config.md");
    let heading = format!("\n## `{section}`");
    let start = DOC.find(&heading).unwrap_or_else(|| panic!("no `{heading}` heading")) + heading.len();
    let body = &DOC[start..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let rows: Vec<Vec<&str>> = body
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    for key in keys {
        let cell = format!("`{}`", key.name);
        let row = rows.iter().find(|r| r[0] == cell);
        let row = row.unwrap_or_else(|| panic!("`{section}.{}` is not in the docs' table", key.name));
        let default = row.last().copied().unwrap_or_default();
        assert!(
            default.starts_with(key.default),
            "`{section}.{}`: docs say `{default}`, code `{}`",
            key.name,
            key.default
        );
    }
    for row in rows {
        assert!(
            keys.iter().any(|k| format!("`{}`", k.name) == row[0]),
            "docs of `{section}` list {}, not a key",
            row[0]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
terraform:
  binary: terraform
  modules_dir: manager-terraform
  module: aws-app-environment
state:
  backend: s3
  bucket: service-provider-terraform-state
  region: us-east-1
  endpoint: null
  key_prefix: customers
  lock: dynamodb
environments:
  staging:    { auto_apply: true }
  production: { auto_apply: false }
tiers:
  standard:
    instance_types: [t3.micro, t3.small]
    max_instances: 4
    regions: [us-east-1, us-west-2]
customers:
  - repo: acme/webshop
    tier: standard
    environments: [staging, production]
"#;

    #[test]
    fn the_design_example_loads() {
        let config = Config::parse("infra-manager.yml", EXAMPLE, Path::new("/m")).expect("valid");
        assert_eq!(config.state.backend, BackendKind::S3);
        assert_eq!(config.terraform.modules_dir, Path::new("/m/manager-terraform"));
        assert_eq!(config.customers.len(), 1);
        assert_eq!(config.customers[0].repo.to_string(), "acme/webshop");
        assert!(config.has_registry());
        assert_eq!(config.environment_names(), ["staging", "production"]);
    }

    #[test]
    fn an_empty_file_takes_the_same_defaults_as_no_file() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        assert_eq!(config.state.backend, BackendKind::Local);
        assert_eq!(config.terraform.module, "sandbox-app-environment");
        let registry =
            Config::parse("infra-manager.yml", "customers:\n  - repo: acme/web\n", Path::new(".")).expect("valid");
        assert_eq!(registry.state.backend, BackendKind::Local, "a registry alone switches nothing to AWS");
    }

    #[test]
    fn s3_settings_under_the_local_backend_are_refused_at_their_line() {
        let err = Config::parse("infra-manager.yml", "state:\n  local_dir: x\n  bucket: b\n", Path::new("."))
            .expect_err("invalid");
        assert_eq!((err.0[0].line, err.0[0].column), (3, 3));
        assert!(err.0[0].message.contains("`state.bucket` is an S3 setting, but `state.backend` is `local`"));
        assert!(err.0[0].hint.as_deref().is_some_and(|h| h.contains("state.backend: s3")));
    }

    #[test]
    fn a_registry_of_ten_thousand_customers_loads_and_a_larger_file_is_refused_whole() {
        // The fleet's size is the provider's: a customer file's bounds would stop it at about
        // a thousand customers.
        let entry = |i: usize| format!("  - repo: fleet/app{i:05}\n    environments: [staging, production]\n");
        let registry: String = (0..10_000).map(entry).collect();
        let text = format!("customers:\n{registry}");
        assert!(text.len() > yaml::MAX_FILE_BYTES * 8, "{} bytes", text.len());
        let config = Config::parse("infra-manager.yml", &text, Path::new(".")).expect("valid");
        assert_eq!(config.customers.len(), 10_000);
        let huge = format!("{text}# {}\n", "x".repeat(crate::limits::MANAGER_CONFIG_BYTES));
        let err = Config::parse("infra-manager.yml", &huge, Path::new(".")).expect_err("too large");
        assert_eq!((err.0.len(), err.0[0].line), (1, 1), "{err:?}");
        assert!(err.0[0].message.contains("larger than the 4194304-byte limit"), "{err:?}");
    }

    #[test]
    fn a_missing_file_means_local_mode() {
        let config = Config::load(Path::new("/nonexistent/infra-manager.yml"), false).expect("defaults");
        assert_eq!(config.state.backend, BackendKind::Local);
        assert_eq!(config.terraform.module, "sandbox-app-environment");
        assert!(config.source.is_none());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_with_their_lines() {
        let text = "state:\n  backnd: s3\n  lock: redis\n  key_prefix: ../up\ncustomers:\n  - repo: Acme/Web\n  - repo: acme/web\n    tier: gold\n";
        let err = Config::parse("infra-manager.yml", text, Path::new(".")).expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
        assert_eq!(
            lines,
            [
                "2:3 unknown key `backnd` in `state`",
                "3:9 unknown lock mode `redis`",
                "4:15 `state.key_prefix` `../up` is not a safe key prefix: it contains `..`",
                "3:3 `state.lock` is an S3 setting, but `state.backend` is `local` (the default)",
                "6:11 owner `Acme` may only contain lowercase letters, digits, `.`, `_` and `-`, and may not contain `..`",
                "7:5 customer `acme/web` uses unknown tier `gold`",
            ],
        );
        assert_eq!(err.0[0].hint.as_deref(), Some("did you mean `backend`?"));
    }
}
