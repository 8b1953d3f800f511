//! The manager's configuration, `infra-manager.yml`.
//!
//! Every key has a default. No file at all means local mode: local state under
//! `.infra-manager/`, the provider-free sandbox module, no customer registry. Unknown keys and
//! bad values are reported together, each at its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogConfig;
use crate::diagnostic::Diagnostics;
use crate::identity::{EnvName, RepoId};
pub use crate::store::s3::LockMode;
use crate::store::s3::S3Settings;
use crate::yaml::{self, Checker, Node};

pub mod catalog;
pub mod tenants;

/// Where Terraform state and stored plans live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    S3,
    Local,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TerraformConfig {
    /// `terraform`, `tofu` or a path; `INFRA_MANAGER_TERRAFORM` overrides it.
    pub binary: String,
    pub modules_dir: PathBuf,
    pub module: String,
    pub plugin_cache_dir: PathBuf,
    /// How long plan and apply wait for a state lock another run holds.
    pub lock_timeout: Duration,
    /// How long an interrupted Terraform gets to stop cleanly before it is killed.
    pub stop_timeout: Duration,
    /// The most a whole run may take; past it the run is stopped like on SIGTERM.
    pub run_timeout: Duration,
}

/// The check after an apply (`health:`): how long to poll the module's
/// `health_check_url`, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// How long to wait for the expected answer before the apply run fails.
    pub timeout: Duration,
    /// The wait before the second poll; each later wait doubles, up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
    /// The bound on one request (connect, send, answer headers).
    pub request_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Retries of an apply that failed for a transient reason (`retry:`): how many attempts in
/// all, and the waits between them (see [`crate::pipeline::retry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts in all, the first included: 1 never retries.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

/// The most attempts `retry.attempts` allows: a failure that outlasts that many is not passing.
pub const MAX_ATTEMPTS: u32 = 10;

impl Default for RetryConfig {
    fn default() -> Self {
        Self { attempts: 3, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(120) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    pub backend: BackendKind,
    /// Whether the file names `state.backend`: under GitHub Actions the default (local)
    /// backend is refused, so state is never left on a runner's disk by accident.
    pub backend_set: bool,
    /// The S3 backend's bucket, tables, endpoint, key prefix and lock mode.
    pub s3: S3Settings,
    /// Local backend: state, plans and records under this directory.
    pub local_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub auto_apply: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub instance_types: Vec<String>,
    pub max_instances: i64,
    pub regions: Vec<String>,
}

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
    pub tenants: tenants::TenantsConfig,
    /// The file it came from; `None` for built-in defaults (local mode).
    pub source: Option<PathBuf>,
}

/// The tier used when a customer is not in a registry (local mode without one).
pub const DEFAULT_TIER: &str = "standard";

impl Config {
    /// Built-in defaults, the same with a file or without one: the local backend and the
    /// provider-free sandbox module. The S3 backend and a real-cloud module are chosen
    /// explicitly (`state.backend: s3`, `terraform.module`), so adding a file (say, to list
    /// customers) never switches a local setup to AWS unasked.
    pub fn defaults(base: &Path) -> Self {
        let mut tiers = BTreeMap::new();
        tiers.insert(
            DEFAULT_TIER.to_owned(),
            Tier {
                instance_types: vec!["t3.micro".into(), "t3.small".into()],
                max_instances: 4,
                regions: vec!["us-east-1".into(), "us-west-2".into()],
            },
        );
        let env = |name: &str| EnvName::parse(name).unwrap_or_else(|_| unreachable!("valid literal"));
        let mut catalog = CatalogConfig::sandbox(DEFAULT_TIER);
        catalog.limit_v1_type(&tiers);
        Self {
            terraform: TerraformConfig {
                binary: "terraform".into(),
                modules_dir: base.join("manager-terraform"),
                module: "sandbox-app-environment".into(),
                plugin_cache_dir: base.join(".terraform-plugin-cache"),
                lock_timeout: Duration::from_secs(120),
                stop_timeout: Duration::from_secs(60),
                run_timeout: Duration::from_secs(3600),
            },
            state: StateConfig {
                backend: BackendKind::Local,
                backend_set: false,
                s3: S3Settings::default(),
                local_dir: base.join(".infra-manager"),
            },
            health: HealthConfig::default(),
            retry: RetryConfig::default(),
            environments: vec![
                (env("staging"), EnvironmentConfig { auto_apply: true }),
                (env("production"), EnvironmentConfig { auto_apply: false }),
            ],
            tiers,
            customers: Vec::new(),
            oidc_issuer: crate::oidc::DEFAULT_ISSUER.to_owned(),
            catalog,
            tenants: tenants::TenantsConfig::default(),
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
        let root = yaml::parse(file, text).map_err(|d| Diagnostics(vec![d]))?;
        let mut config = Self::defaults(base);
        let mut c = Checker::new(file);
        if !matches!(root.value, yaml::Value::Null)
            && let Some(entries) = c.map("", &root)
        {
            let mut customers = Vec::new();
            c.unknown_keys(
                "",
                entries,
                &[
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
                ],
            );
            for (key, node) in entries {
                match key.name.as_str() {
                    "terraform" => read_terraform(&mut c, node, base, &mut config.terraform),
                    "state" => read_state(&mut c, node, base, &mut config.state),
                    "health" => read_health(&mut c, node, &mut config.health),
                    "retry" => read_retry(&mut c, node, &mut config.retry),
                    "environments" => config.environments = read_environments(&mut c, node),
                    "tiers" => config.tiers = read_tiers(&mut c, node),
                    "customers" => customers = read_customers(&mut c, node),
                    "oidc" => read_oidc(&mut c, node, &mut config.oidc_issuer),
                    "catalog" => config.catalog = catalog::read(&mut c, node),
                    "tenants" => config.tenants = tenants::read(&mut c, node),
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

    /// The module directory that rendering copies into a working directory.
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

fn read_terraform(c: &mut Checker, node: &Node, base: &Path, t: &mut TerraformConfig) {
    let Some(entries) = c.map("terraform", node) else { return };
    let known = ["binary", "modules_dir", "module", "plugin_cache_dir", "lock_timeout", "stop_timeout", "run_timeout"];
    c.unknown_keys("terraform", entries, &known);
    for (key, value) in entries {
        match key.name.as_str() {
            "binary" => read_string(c, "terraform.binary", value, &mut t.binary),
            "modules_dir" => read_path(c, "terraform.modules_dir", value, base, &mut t.modules_dir),
            "plugin_cache_dir" => read_path(c, "terraform.plugin_cache_dir", value, base, &mut t.plugin_cache_dir),
            "lock_timeout" => read_duration(c, "terraform.lock_timeout", value, &mut t.lock_timeout),
            "stop_timeout" => read_duration(c, "terraform.stop_timeout", value, &mut t.stop_timeout),
            "run_timeout" => read_duration(c, "terraform.run_timeout", value, &mut t.run_timeout),
            "module" => {
                if let Some(s) = c.str("terraform.module", value) {
                    if is_slug(s) {
                        t.module = s.to_owned();
                    } else {
                        c.error(
                            value.pos,
                            format!("`terraform.module` `{s}` is not a module name"),
                            Some("use a directory name under `modules_dir`, e.g. `aws-app-environment` or `sandbox-app-environment`".into()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn read_state(c: &mut Checker, node: &Node, base: &Path, s: &mut StateConfig) {
    let Some(entries) = c.map("state", node) else { return };
    let known = [
        "backend",
        "bucket",
        "region",
        "endpoint",
        "force_path_style",
        "key_prefix",
        "lock",
        "lock_table",
        "records_table",
        "local_dir",
        "call_timeout",
    ];
    c.unknown_keys("state", entries, &known);
    for (key, value) in entries {
        let path = format!("state.{}", key.name);
        match key.name.as_str() {
            "backend" => match c.str(&path, value) {
                Some("s3") => (s.backend, s.backend_set) = (BackendKind::S3, true),
                Some("local") => (s.backend, s.backend_set) = (BackendKind::Local, true),
                Some(other) => {
                    c.error(value.pos, format!("unknown backend `{other}`"), Some("use `s3` or `local`".into()))
                }
                None => {}
            },
            "lock" => match c.str(&path, value) {
                Some("dynamodb") => s.s3.lock = LockMode::Dynamodb,
                Some("lockfile") => s.s3.lock = LockMode::Lockfile,
                Some(other) => c.error(
                    value.pos,
                    format!("unknown lock mode `{other}`"),
                    Some("use `dynamodb` or `lockfile`".into()),
                ),
                None => {}
            },
            "endpoint" => {
                s.s3.endpoint = match &value.value {
                    yaml::Value::Null => None,
                    _ => c.str(&path, value).map(str::to_owned),
                }
            }
            "force_path_style" => {
                if let Some(b) = c.bool(&path, value) {
                    s.s3.force_path_style = b;
                }
            }
            "key_prefix" => {
                if let Some(p) = c.str(&path, value) {
                    match crate::store::s3::keys::prefix_problem(p) {
                        None => s.s3.key_prefix = p.to_owned(),
                        Some(reason) => c.error(
                            value.pos,
                            format!("`state.key_prefix` `{p}` is not a safe key prefix: {reason}"),
                            Some("use a relative prefix such as `customers`, made of `A-Z a-z 0-9 . _ - /`".into()),
                        ),
                    }
                }
            }
            "bucket" => read_string(c, &path, value, &mut s.s3.bucket),
            "region" => read_string(c, &path, value, &mut s.s3.region),
            "lock_table" => read_string(c, &path, value, &mut s.s3.lock_table),
            "records_table" => read_string(c, &path, value, &mut s.s3.records_table),
            "local_dir" => read_path(c, &path, value, base, &mut s.local_dir),
            "call_timeout" => read_duration(c, &path, value, &mut s.s3.call_timeout),
            _ => {}
        }
    }
    // S3 settings under the local backend are a setup that meant S3 and would silently keep
    // its state on the runner's disk.
    if s.backend == BackendKind::Local
        && let Some((key, _)) = entries.iter().find(|(k, _)| S3_ONLY.contains(&k.name.as_str()))
    {
        c.error(
            key.pos,
            format!("`state.{}` is an S3 setting, but `state.backend` is `local` (the default)", key.name),
            Some("set `state.backend: s3` to keep state in S3, or remove the S3 settings".into()),
        );
    }
}

/// The `state` keys that only the S3 backend reads.
const S3_ONLY: [&str; 8] =
    ["bucket", "region", "endpoint", "force_path_style", "key_prefix", "lock", "lock_table", "records_table"];

fn read_health(c: &mut Checker, node: &Node, h: &mut HealthConfig) {
    let Some(entries) = c.map("health", node) else { return };
    c.unknown_keys("health", entries, &["timeout", "interval", "max_interval", "request_timeout"]);
    for (key, value) in entries {
        let path = format!("health.{}", key.name);
        let target = match key.name.as_str() {
            "timeout" => &mut h.timeout,
            "interval" => &mut h.interval,
            "max_interval" => &mut h.max_interval,
            "request_timeout" => &mut h.request_timeout,
            _ => continue,
        };
        read_duration(c, &path, value, target);
        // A zero wait would poll in a busy loop, a zero request bound would never get an answer.
        if key.name != "timeout" && target.is_zero() {
            c.error(value.pos, format!("`{path}` must be longer than zero"), Some("write e.g. `2s`".into()));
        }
    }
}

fn read_retry(c: &mut Checker, node: &Node, r: &mut RetryConfig) {
    let Some(entries) = c.map("retry", node) else { return };
    c.unknown_keys("retry", entries, &["attempts", "backoff", "max_backoff"]);
    for (key, value) in entries {
        let path = format!("retry.{}", key.name);
        match key.name.as_str() {
            "attempts" => match c.int(&path, value).map(u32::try_from) {
                Some(Ok(n)) if (1..=MAX_ATTEMPTS).contains(&n) => r.attempts = n,
                Some(_) => c.error(
                    value.pos,
                    format!("`{path}` must be between 1 and {MAX_ATTEMPTS}"),
                    Some("write e.g. `3` (1: never retry)".into()),
                ),
                None => {}
            },
            "backoff" | "max_backoff" => {
                let target = if key.name == "backoff" { &mut r.backoff } else { &mut r.max_backoff };
                read_duration(c, &path, value, target);
            }
            _ => {}
        }
    }
}

fn read_environments(c: &mut Checker, node: &Node) -> Vec<(EnvName, EnvironmentConfig)> {
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
            c.unknown_keys(&path, fields, &["auto_apply"]);
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

fn read_tiers(c: &mut Checker, node: &Node) -> BTreeMap<String, Tier> {
    let mut out = BTreeMap::new();
    let Some(entries) = c.map("tiers", node) else { return out };
    for (key, value) in entries {
        let path = format!("tiers.{}", key.name);
        let Some(fields) = c.map(&path, value) else { continue };
        c.unknown_keys(&path, fields, &["instance_types", "max_instances", "regions"]);
        let list = |c: &mut Checker, name: &str| {
            yaml::get(fields, name)
                .and_then(|n| c.str_list(&format!("{path}.{name}"), n))
                .map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let instance_types = list(c, "instance_types");
        let regions = list(c, "regions");
        let max_instances = match yaml::get(fields, "max_instances") {
            Some(n) => match c.int(&format!("{path}.max_instances"), n) {
                Some(v) if v >= 0 => v,
                Some(v) => {
                    c.error(n.pos, format!("`{path}.max_instances` is {v}, it must be at least 0"), None);
                    0
                }
                None => 0,
            },
            None => 4,
        };
        out.insert(key.name.clone(), Tier { instance_types, max_instances, regions });
    }
    out
}

fn read_oidc(c: &mut Checker, node: &Node, issuer: &mut String) {
    let Some(entries) = c.map("oidc", node) else { return };
    c.unknown_keys("oidc", entries, &["issuer"]);
    if let Some(value) = yaml::get(entries, "issuer") {
        read_string(c, "oidc.issuer", value, issuer);
    }
}

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

fn names(environments: &[EnvName]) -> String {
    environments.iter().map(EnvName::as_str).collect::<Vec<_>>().join(", ")
}

/// A date (`2026-12-31`, the start of that day in UTC) or an RFC 3339 time.
pub(crate) fn parse_expiry(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        let date = text.parse::<jiff::civil::Date>().ok()?;
        format!("{date}T00:00:00Z").parse().ok()
    })
}

/// Where the customer template's trigger workflow lives.
pub const DEFAULT_TRIGGER_WORKFLOW: &str = ".github/workflows/infra.yml";

fn read_customers(c: &mut Checker, node: &Node) -> Vec<(Customer, yaml::Pos)> {
    let mut out = Vec::new();
    let yaml::Value::Seq(items) = &node.value else {
        if !matches!(node.value, yaml::Value::Null) {
            c.error(node.pos, "`customers` must be a list", Some("write each customer as `- repo: owner/name`".into()));
        }
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("customers[{i}]");
        let Some(fields) = c.map(&path, item) else { continue };
        c.unknown_keys(
            &path,
            fields,
            &["repo", "tier", "environments", "require_oidc", "trigger_workflow", "expires_at"],
        );
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
            if out.iter().any(|(x, _): &(Customer, yaml::Pos)| x.repo == repo) {
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

    #[test]
    fn retries_default_to_three_attempts_and_are_bounded() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        assert_eq!(
            config.retry,
            RetryConfig { attempts: 3, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(120) }
        );
        let text = "retry:\n  attempts: 1\n  backoff: 200ms\n  max_backoff: 1s\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        assert_eq!(
            config.retry,
            RetryConfig { attempts: 1, backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(1) }
        );
        let err = Config::parse("infra-manager.yml", "retry:\n  attempts: 11\n  backof: 1s\n", Path::new("."))
            .expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
        assert_eq!(lines, ["3:3 unknown key `backof` in `retry`", "2:13 `retry.attempts` must be between 1 and 10"]);
        for zero in ["0", "-1"] {
            let text = format!("retry:\n  attempts: {zero}\n");
            assert!(Config::parse("infra-manager.yml", &text, Path::new(".")).is_err(), "{zero}");
        }
    }

    #[test]
    fn health_bounds_take_durations_and_default_to_five_minutes() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        assert_eq!(config.health, HealthConfig::default());
        assert_eq!(config.health.timeout, Duration::from_secs(300));
        let text = "health:\n  timeout: 3s\n  interval: 100ms\n  max_interval: 1s\n  request_timeout: 2s\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        assert_eq!(
            config.health,
            HealthConfig {
                timeout: Duration::from_secs(3),
                interval: Duration::from_millis(100),
                max_interval: Duration::from_secs(1),
                request_timeout: Duration::from_secs(2),
            }
        );
        let err = Config::parse("infra-manager.yml", "health:\n  interval: 0s\n  timout: 1m\n", Path::new("."))
            .expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
        assert_eq!(lines, ["3:3 unknown key `timout` in `health`", "2:13 `health.interval` must be longer than zero"]);
    }
}
