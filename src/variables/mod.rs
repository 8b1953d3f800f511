//! The customer's `infra/variables.yml`, schema v1: parse, validate, resolve per environment.
//!
//! Validation walks the position-keeping YAML tree and reports every problem in one run, each
//! at its `line:column` with a hint. The result of a successful parse can be resolved into the
//! plain values for one environment, which is all that ever reaches Terraform (as JSON data).

pub mod schema;
pub mod template;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::config::{Config, Tier};
use crate::diagnostic::Diagnostics;
use crate::identity::{CustomerId, EnvName};
use crate::yaml::{self, Checker, Key, Node, Pos, Value};
use template::TemplateContext;

/// Where the file lives in a customer repository.
pub const PATH: &str = "infra/variables.yml";

const ROOT_KEYS: [&str; 5] = ["project_name", "cloud_provider", "environments", "networking", "tags"];
const ENV_KEYS: [&str; 4] = ["region", "instance_type", "min_instances", "max_instances"];
const NETWORK_KEYS: [&str; 2] = ["vpc_cidr", "availability_zones"];
/// Tags the modules add themselves (`Name`, `managed-by`, …) count against AWS's 50.
const MAX_CUSTOMER_TAGS: usize = 45;

/// What the file is checked against: the manager's environments, the customer's tier and,
/// for a registered customer, the environments enabled for them.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub environments: Vec<&'a str>,
    pub tier: Option<(&'a str, &'a Tier)>,
    pub enabled: Option<Vec<&'a str>>,
}

impl<'a> Rules<'a> {
    /// The rules for `customer` under `config` (`None`: no customer known, default tier).
    pub fn for_customer(config: &'a Config, customer: Option<&CustomerId>) -> Self {
        let registered = customer.and_then(|id| config.customer(id));
        Self {
            environments: config.environment_names(),
            tier: config.tier_for(customer),
            enabled: registered.map(|c| c.environments.iter().map(EnvName::as_str).collect()),
        }
    }
}

/// A string value and where it was written, kept unexpanded until an environment is chosen.
#[derive(Debug, Clone, PartialEq)]
struct Text {
    raw: String,
    pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
struct EnvSpec {
    region: Text,
    instance_type: Text,
    min_instances: i64,
    max_instances: i64,
}

/// A validated `variables.yml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variables {
    customer: String,
    project_name: String,
    environments: Vec<(EnvName, EnvSpec)>,
    vpc_cidr: Text,
    availability_zones: i64,
    tags: Vec<(String, Text)>,
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
    pub fn parse(file: &str, text: &str, customer: &CustomerId, rules: &Rules<'_>) -> Result<Self, Diagnostics> {
        let root = yaml::parse(file, text).map_err(|d| Diagnostics(vec![d]))?;
        let mut c = Checker::new(file);
        let parsed = check_root(&mut c, &root, &customer.to_string(), rules);
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

    /// The values for `env`, templates expanded.
    pub fn resolve(&self, env: &EnvName) -> Result<Resolved, ResolveError> {
        let Some((_, spec)) = self.environments.iter().find(|(name, _)| name == env) else {
            let defined: Vec<&str> = self.environments().map(EnvName::as_str).collect();
            return Err(ResolveError::MissingEnvironment { env: env.to_string(), defined: defined.join(", ") });
        };
        let ctx =
            TemplateContext { environment: env.as_str(), customer: &self.customer, project_name: &self.project_name };
        // Every string was expanded for every environment during validation, so this cannot fail.
        let expand = |t: &Text| template::expand(&t.raw, &ctx).unwrap_or_else(|_| t.raw.clone());
        Ok(Resolved {
            customer: self.customer.clone(),
            project_name: self.project_name.clone(),
            environment: env.to_string(),
            region: expand(&spec.region),
            instance_type: expand(&spec.instance_type),
            min_instances: spec.min_instances,
            max_instances: spec.max_instances,
            vpc_cidr: expand(&self.vpc_cidr),
            availability_zones: self.availability_zones,
            tags: self.tags.iter().map(|(k, v)| (k.clone(), expand(v))).collect(),
        })
    }
}

fn missing(c: &mut Checker, pos: Pos, path: &str, key: &str, example: &str) {
    let full = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    c.error(pos, format!("missing required key `{full}`"), Some(format!("add `{key}: {example}`")));
}

fn check_root(c: &mut Checker, root: &Node, customer: &str, rules: &Rules<'_>) -> Option<Variables> {
    let entries = c.map("the file", root)?;
    c.unknown_keys("", entries, &ROOT_KEYS);

    let project_name = match yaml::get(entries, "project_name") {
        Some(node) => check_project_name(c, node),
        None => {
            missing(c, root.pos, "", "project_name", "my-app");
            None
        }
    };
    match yaml::get(entries, "cloud_provider") {
        Some(node) => {
            if let Some(p) = c.str("cloud_provider", node)
                && p != "aws"
            {
                c.error(node.pos, format!("cloud provider `{p}` is not supported"), Some("use `aws`".into()));
            }
        }
        None => missing(c, root.pos, "", "cloud_provider", "aws"),
    }
    let environments = match yaml::get(entries, "environments") {
        Some(node) => check_environments(c, node, rules),
        None => {
            missing(c, root.pos, "", "environments", "{ staging: { ... } }");
            Vec::new()
        }
    };
    let (vpc_cidr, availability_zones) = match yaml::get(entries, "networking") {
        Some(node) => check_networking(c, node),
        None => {
            missing(c, root.pos, "", "networking", "{ vpc_cidr: \"10.0.0.0/16\", availability_zones: 2 }");
            (None, None)
        }
    };
    let tags = yaml::get(entries, "tags").map(|node| check_tags(c, node)).unwrap_or_default();

    let ctx_project = project_name.as_deref().unwrap_or("project");
    let network = Network { vpc_cidr: vpc_cidr.as_ref(), availability_zones };
    check_expansions(c, customer, ctx_project, &environments, &network, &tags, rules);
    Some(Variables {
        customer: customer.to_owned(),
        project_name: project_name?,
        environments,
        vpc_cidr: vpc_cidr?,
        availability_zones: availability_zones?.0,
        tags,
    })
}

fn check_project_name(c: &mut Checker, node: &Node) -> Option<String> {
    let name = c.str("project_name", node)?;
    let valid_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let starts = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let problem = if name.is_empty() {
        Some("`project_name` is empty".to_owned())
    } else if name.len() > 63 {
        Some(format!("`project_name` is {} characters, more than 63", name.len()))
    } else if !valid_chars || !starts || name.ends_with('-') {
        Some(format!("`project_name` `{name}` is not a DNS label"))
    } else {
        None
    };
    match problem {
        Some(message) => {
            c.error(
                node.pos,
                message,
                Some(
                    "use 1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`"
                        .into(),
                ),
            );
            None
        }
        None => Some(name.to_owned()),
    }
}

fn text(c: &mut Checker, path: &str, node: &Node) -> Option<Text> {
    let raw = c.str(path, node)?;
    if let Err(e) = template::check(raw) {
        c.error(node.pos, format!("`{path}`: {}", e.message), Some(e.hint));
        return None;
    }
    Some(Text { raw: raw.to_owned(), pos: node.pos })
}

fn check_environments(c: &mut Checker, node: &Node, rules: &Rules<'_>) -> Vec<(EnvName, EnvSpec)> {
    let mut out = Vec::new();
    let Some(entries) = c.map("environments", node) else { return out };
    if entries.is_empty() {
        c.error(node.pos, "`environments` is empty", Some("define at least one environment, e.g. `staging`".into()));
    }
    for (key, value) in entries {
        let env = check_env_name(c, key, rules);
        let path = format!("environments.{}", key.name);
        let Some(fields) = c.map(&path, value) else { continue };
        c.unknown_keys(&path, fields, &ENV_KEYS);
        let field = |c: &mut Checker, name: &str, example: &str| {
            let found = yaml::get(fields, name);
            if found.is_none() {
                missing(c, value.pos, &path, name, example);
            }
            found
        };
        let region = field(c, "region", "us-east-1").and_then(|n| text(c, &format!("{path}.region"), n));
        let instance_type =
            field(c, "instance_type", "t3.micro").and_then(|n| text(c, &format!("{path}.instance_type"), n));
        let min =
            field(c, "min_instances", "1").and_then(|n| Some((c.int(&format!("{path}.min_instances"), n)?, n.pos)));
        let max =
            field(c, "max_instances", "2").and_then(|n| Some((c.int(&format!("{path}.max_instances"), n)?, n.pos)));
        if let Some((min, pos)) = min
            && min < 0
        {
            c.error(pos, format!("`{path}.min_instances` is {min}, it must be at least 0"), None);
        }
        if let (Some((min, _)), Some((max, pos))) = (min, max)
            && min > max
        {
            c.error(
                pos,
                format!("`{path}.max_instances` is {max}, less than `min_instances` ({min})"),
                Some("`min_instances` must not exceed `max_instances`".into()),
            );
        }
        if let (Some((_, tier)), Some((max, pos))) = (rules.tier, max)
            && max > tier.max_instances
        {
            c.error(
                pos,
                format!("`{path}.max_instances` is {max}, above your tier's limit of {}", tier.max_instances),
                Some(format!("use at most {} or ask the platform team for a larger tier", tier.max_instances)),
            );
        }
        if let (Some(env), Some(region), Some(instance_type), Some((min, _)), Some((max, _))) =
            (env, region, instance_type, min, max)
        {
            out.push((env, EnvSpec { region, instance_type, min_instances: min, max_instances: max }));
        }
    }
    out
}

fn check_env_name(c: &mut Checker, key: &Key, rules: &Rules<'_>) -> Option<EnvName> {
    if !rules.environments.contains(&key.name.as_str()) {
        let hint = match crate::suggest::did_you_mean(&key.name, rules.environments.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the service offers: {}", rules.environments.join(", ")),
        };
        c.error(key.pos, format!("unknown environment `{}`", key.name), Some(hint));
        return None;
    }
    if let Some(enabled) = &rules.enabled
        && !enabled.contains(&key.name.as_str())
    {
        c.error(
            key.pos,
            format!("environment `{}` is not enabled for this repository", key.name),
            Some(format!("enabled: {}; ask the platform team to enable more", enabled.join(", "))),
        );
        return None;
    }
    EnvName::parse(&key.name).ok()
}

fn check_networking(c: &mut Checker, node: &Node) -> (Option<Text>, Option<(i64, Pos)>) {
    let Some(fields) = c.map("networking", node) else { return (None, None) };
    c.unknown_keys("networking", fields, &NETWORK_KEYS);
    let vpc_cidr = match yaml::get(fields, "vpc_cidr") {
        Some(n) => text(c, "networking.vpc_cidr", n),
        None => {
            missing(c, node.pos, "networking", "vpc_cidr", "\"10.0.0.0/16\"");
            None
        }
    };
    let azs = match yaml::get(fields, "availability_zones") {
        Some(n) => c.int("networking.availability_zones", n).and_then(|v| {
            if (1..=6).contains(&v) {
                Some((v, n.pos))
            } else {
                c.error(n.pos, format!("`networking.availability_zones` is {v}, it must be from 1 to 6"), None);
                None
            }
        }),
        None => Some((2, node.pos)),
    };
    (vpc_cidr, azs)
}

fn check_tags(c: &mut Checker, node: &Node) -> Vec<(String, Text)> {
    let mut out = Vec::new();
    if matches!(node.value, Value::Null) {
        return out;
    }
    let Some(entries) = c.map("tags", node) else { return out };
    if entries.len() > MAX_CUSTOMER_TAGS {
        c.error(
            node.pos,
            format!("{} tags, more than the {MAX_CUSTOMER_TAGS} allowed", entries.len()),
            Some("AWS allows 50 tags per resource and the service adds its own".into()),
        );
    }
    for (key, value) in entries {
        if let Some(problem) = tag_key_problem(&key.name) {
            c.error(key.pos, format!("tag key `{}` {problem}", key.name), Some("AWS tag keys are 1 to 128 characters of letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`".into()));
            continue;
        }
        if let Some(t) = text(c, &format!("tags.{}", key.name), value) {
            out.push((key.name.clone(), t));
        }
    }
    out
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars().all(|ch| ch.is_alphanumeric() || ch.is_whitespace() || "_.:/=+-@".contains(ch))
}

fn tag_key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() || key.chars().count() > 128 {
        Some("must be 1 to 128 characters")
    } else if key.to_lowercase().starts_with("aws:") {
        Some("uses the reserved `aws:` prefix")
    } else if !tag_chars_ok(key) {
        Some("has characters AWS does not allow in tags")
    } else {
        None
    }
}

/// Expands every templated value for every environment and checks the results: tier limits on
/// region and instance type, the CIDR, and tag values.
fn check_expansions(
    c: &mut Checker,
    customer: &str,
    project_name: &str,
    environments: &[(EnvName, EnvSpec)],
    network: &Network<'_>,
    tags: &[(String, Text)],
    rules: &Rules<'_>,
) {
    let mut seen = std::collections::HashSet::new();
    let mut once = |c: &mut Checker, pos: Pos, message: String, hint: Option<String>| {
        if seen.insert((pos.line, pos.column, message.clone())) {
            c.error(pos, message, hint);
        }
    };
    // With no valid environment, env-independent values are still checked once.
    let fallback = [rules.environments.first().copied().unwrap_or("staging")];
    let names: Vec<&str> = if environments.is_empty() {
        fallback.to_vec()
    } else {
        environments.iter().map(|(e, _)| e.as_str()).collect()
    };
    for name in names {
        let ctx = TemplateContext { environment: name, customer, project_name };
        let expand = |t: &Text| template::expand(&t.raw, &ctx);
        if let Some(cidr) = network.vpc_cidr {
            match expand(cidr) {
                Ok(value) => match check_cidr(&value) {
                    Err((message, hint)) => once(c, cidr.pos, format!("`networking.vpc_cidr` {message}"), Some(hint)),
                    Ok(prefix) => {
                        if let Some((zones, pos)) = network.availability_zones {
                            let fits = subnets_in(prefix);
                            if zones > fits {
                                once(
                                    c,
                                    pos,
                                    format!(
                                        "`networking.availability_zones` is {zones}, but `{value}` holds only {fits} subnet{} of /28 or larger",
                                        if fits == 1 { "" } else { "s" }
                                    ),
                                    Some("use a larger `vpc_cidr` or fewer zones".into()),
                                );
                            }
                        }
                    }
                },
                Err(e) => once(c, cidr.pos, e.message, Some(e.hint)),
            }
        }
        for (key, value) in tags {
            match expand(value) {
                Ok(v) if v.chars().count() > 256 => once(
                    c,
                    value.pos,
                    format!("tag `{key}` value is longer than 256 characters"),
                    Some("shorten the value".into()),
                ),
                Ok(v) if !tag_chars_ok(&v) => once(
                    c,
                    value.pos,
                    format!("tag `{key}` value `{v}` has characters AWS does not allow in tags"),
                    Some("use letters, digits, spaces and `_ . : / = + - @`".into()),
                ),
                Ok(_) => {}
                Err(e) => once(c, value.pos, e.message, Some(e.hint)),
            }
        }
    }
    for (env, spec) in environments {
        let ctx = TemplateContext { environment: env.as_str(), customer, project_name };
        let expand = |t: &Text| template::expand(&t.raw, &ctx);
        let path = format!("environments.{env}");
        if let (Ok(region), Some((tier_name, tier))) = (expand(&spec.region), rules.tier)
            && !tier.regions.contains(&region)
        {
            once(
                c,
                spec.region.pos,
                format!("`{path}.region` `{region}` is not allowed by tier `{tier_name}`"),
                Some(format!("allowed regions: {}", tier.regions.join(", "))),
            );
        }
        if let (Ok(instance_type), Some((tier_name, tier))) = (expand(&spec.instance_type), rules.tier)
            && !tier.instance_types.contains(&instance_type)
        {
            once(
                c,
                spec.instance_type.pos,
                format!("`{path}.instance_type` `{instance_type}` is not allowed by tier `{tier_name}`"),
                Some(format!("allowed instance types: {}", tier.instance_types.join(", "))),
            );
        }
    }
}

/// The VPC settings that are checked together.
struct Network<'a> {
    vpc_cidr: Option<&'a Text>,
    availability_zones: Option<(i64, Pos)>,
}

/// How many per-zone subnets a VPC of this prefix holds: the modules carve 1/16ths of it,
/// but never smaller than /28, AWS's smallest subnet.
fn subnets_in(prefix: u8) -> i64 {
    1 << 4.min(28 - i64::from(prefix))
}

/// Checks an IPv4 CIDR: dotted quad, prefix from /16 to /28, no host bits set; gives the prefix.
fn check_cidr(cidr: &str) -> Result<u8, (String, String)> {
    let hint = "write an IPv4 network such as `10.0.0.0/16` (prefix from /16 to /28)".to_owned();
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return Err((format!("`{cidr}` is not a CIDR block"), hint));
    };
    let (Ok(addr), Ok(prefix)) = (addr.parse::<Ipv4Addr>(), prefix.parse::<u8>()) else {
        return Err((format!("`{cidr}` is not a valid IPv4 CIDR block"), hint));
    };
    if !(16..=28).contains(&prefix) {
        return Err((format!("`{cidr}` has prefix /{prefix}; AWS VPCs take /16 to /28"), hint));
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    let bits = u32::from(addr);
    if bits & !mask != 0 {
        let network = Ipv4Addr::from(bits & mask);
        return Err((format!("`{cidr}` has host bits set"), format!("did you mean `{network}/{prefix}`?")));
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests;
