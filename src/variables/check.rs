//! The walk over one file's YAML tree: structure, types and required keys first, then every
//! templated string expanded for every environment and the value rules run on the results.
//!
//! A value is kept only once it has been expanded and checked; a failed expansion is an
//! error at the value's place, never a reason to skip a rule.

use std::collections::{BTreeMap, HashSet};

use super::template::{self, TemplateContext};
use super::{Resolved, Rules, Variables, rules};
use crate::diagnostic::shown;
use crate::identity::EnvName;
use crate::yaml::{self, Checker, Key, Node, Pos, Value};

const ROOT_KEYS: [&str; 5] = ["project_name", "cloud_provider", "environments", "networking", "tags"];
const ENV_KEYS: [&str; 4] = ["region", "instance_type", "min_instances", "max_instances"];
const NETWORK_KEYS: [&str; 2] = ["vpc_cidr", "availability_zones"];
/// Tags the modules add themselves (`Name`, `managed-by`, …) count against AWS's 50.
const MAX_CUSTOMER_TAGS: usize = 45;
/// Zones used when `networking.availability_zones` is not given.
const DEFAULT_ZONES: i64 = 2;

/// A string value as written (templates unexpanded) and where it was written.
#[derive(Debug, Clone)]
struct Text {
    raw: String,
    pos: Pos,
}

/// One environment's entries, before expansion.
struct EnvDraft {
    name: EnvName,
    region: Text,
    instance_type: Text,
    min_instances: i64,
    max_instances: i64,
}

/// The VPC settings, checked together.
struct Network {
    vpc_cidr: Option<Text>,
    availability_zones: Option<(i64, Pos)>,
}

/// Checks the whole file. The result is only meaningful when no diagnostic was recorded.
pub(super) fn file(c: &mut Checker, root: &Node, customer: &str, rules: &Rules<'_>) -> Option<Variables> {
    let start = "start from the documented example; `infra-manager schema` prints every key";
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => {
            c.error(root.pos, "the file has no content", Some(start.into()));
            return None;
        }
        other => {
            c.error(
                root.pos,
                format!("the file must be a mapping of keys, found {}", other.type_name()),
                Some(start.into()),
            );
            return None;
        }
    };
    c.unknown_keys("", entries, &ROOT_KEYS);

    let project_name = match yaml::get(entries, "project_name") {
        Some(node) => project_name(c, node),
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
                c.error(node.pos, format!("cloud provider `{}` is not supported", shown(p)), Some("use `aws`".into()));
            }
        }
        None => missing(c, root.pos, "", "cloud_provider", "aws"),
    }
    let environments = match yaml::get(entries, "environments") {
        Some(node) => environments(c, node, rules),
        None => {
            missing(c, root.pos, "", "environments", "{ staging: { ... } }");
            Vec::new()
        }
    };
    let network = match yaml::get(entries, "networking") {
        Some(node) => networking(c, node),
        None => {
            missing(c, root.pos, "", "networking", "{ vpc_cidr: \"10.0.0.0/16\", availability_zones: 2 }");
            Network { vpc_cidr: None, availability_zones: None }
        }
    };
    let tags = yaml::get(entries, "tags").map(|node| tags(c, node)).unwrap_or_default();

    let mut expansion = Expansion {
        customer,
        project_name: project_name.as_deref().unwrap_or("project"),
        network: &network,
        tags: &tags,
        rules,
        seen: HashSet::new(),
    };
    let resolved = expansion.all(c, &environments);
    Some(Variables { project_name: project_name?, environments: resolved })
}

fn missing(c: &mut Checker, pos: Pos, path: &str, key: &str, example: &str) {
    let full = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    c.error(pos, format!("missing required key `{full}`"), Some(format!("add `{key}: {example}`")));
}

fn project_name(c: &mut Checker, node: &Node) -> Option<String> {
    let name = c.str("project_name", node)?;
    let valid_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let starts = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let problem = if name.is_empty() {
        Some("`project_name` is empty".to_owned())
    } else if name.chars().count() > 63 {
        Some(format!("`project_name` is {} characters, more than 63", name.chars().count()))
    } else if !valid_chars || !starts || name.ends_with('-') {
        Some(format!("`project_name` `{}` is not a DNS label", shown(name)))
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

/// A string that may hold templates: its form is checked here, its expansion later.
fn text(c: &mut Checker, path: &str, node: &Node) -> Option<Text> {
    let raw = c.str(path, node)?;
    if let Err(e) = template::check(raw) {
        c.error(node.pos, format!("`{path}`: {}", e.message), Some(e.hint));
        return None;
    }
    Some(Text { raw: raw.to_owned(), pos: node.pos })
}

fn environments(c: &mut Checker, node: &Node, rules: &Rules<'_>) -> Vec<EnvDraft> {
    let mut out = Vec::new();
    let Some(entries) = c.map("environments", node) else { return out };
    if entries.is_empty() {
        c.error(node.pos, "`environments` is empty", Some("define at least one environment, e.g. `staging`".into()));
    }
    for (key, value) in entries {
        let name = env_name(c, key, rules);
        let path = format!("environments.{}", shown(&key.name));
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
            c.error(
                pos,
                format!("`{path}.min_instances` is {min}, it must be at least 0"),
                Some("use 0 or more (0 runs no instance until you scale up)".into()),
            );
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
        if let (Some(name), Some(region), Some(instance_type), Some((min, _)), Some((max, _))) =
            (name, region, instance_type, min, max)
        {
            out.push(EnvDraft { name, region, instance_type, min_instances: min, max_instances: max });
        }
    }
    out
}

fn env_name(c: &mut Checker, key: &Key, rules: &Rules<'_>) -> Option<EnvName> {
    if !rules.environments.contains(&key.name.as_str()) {
        let hint = match crate::suggest::did_you_mean(&key.name, rules.environments.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the service offers: {}", rules.environments.join(", ")),
        };
        c.error(key.pos, format!("unknown environment `{}`", shown(&key.name)), Some(hint));
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

fn networking(c: &mut Checker, node: &Node) -> Network {
    let Some(fields) = c.map("networking", node) else { return Network { vpc_cidr: None, availability_zones: None } };
    c.unknown_keys("networking", fields, &NETWORK_KEYS);
    let vpc_cidr = match yaml::get(fields, "vpc_cidr") {
        Some(n) => text(c, "networking.vpc_cidr", n),
        None => {
            missing(c, node.pos, "networking", "vpc_cidr", "\"10.0.0.0/16\"");
            None
        }
    };
    let availability_zones = match yaml::get(fields, "availability_zones") {
        Some(n) => c.int("networking.availability_zones", n).and_then(|v| {
            if (1..=6).contains(&v) {
                Some((v, n.pos))
            } else {
                c.error(
                    n.pos,
                    format!("`networking.availability_zones` is {v}, it must be from 1 to 6"),
                    Some(format!("use 1 to 6 zones, or leave the key out for {DEFAULT_ZONES}")),
                );
                None
            }
        }),
        None => Some((DEFAULT_ZONES, node.pos)),
    };
    Network { vpc_cidr, availability_zones }
}

fn tags(c: &mut Checker, node: &Node) -> Vec<(String, Text)> {
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
        if let Err((message, hint)) = rules::tag_key(&key.name) {
            c.error(key.pos, message, Some(hint));
            continue;
        }
        if let Some(t) = text(c, &format!("tags.{}", key.name), value) {
            out.push((key.name.clone(), t));
        }
    }
    out
}

/// Expands the templated values for each environment and runs the value rules on the results.
struct Expansion<'a> {
    customer: &'a str,
    project_name: &'a str,
    network: &'a Network,
    tags: &'a [(String, Text)],
    rules: &'a Rules<'a>,
    /// Problems already reported, so a value wrong in every environment is reported once.
    seen: HashSet<(u64, u64, String)>,
}

impl Expansion<'_> {
    /// The checked values of every environment whose values all passed.
    fn all(&mut self, c: &mut Checker, environments: &[EnvDraft]) -> Vec<(EnvName, Resolved)> {
        if environments.is_empty() {
            // With no valid environment, the values shared by all are still checked once.
            let name = self.rules.environments.first().copied().unwrap_or("staging");
            let _ = self.shared(c, name);
            return Vec::new();
        }
        environments.iter().filter_map(|env| Some((env.name.clone(), self.environment(c, env)?))).collect()
    }

    fn once(&mut self, c: &mut Checker, pos: Pos, message: String, hint: String) {
        if self.seen.insert((pos.line, pos.column, message.clone())) {
            c.error(pos, message, Some(hint));
        }
    }

    /// `text` expanded for `env` and checked by `rule`; `None` (with the error recorded at the
    /// value's place) when either fails.
    fn value(
        &mut self,
        c: &mut Checker,
        env: &str,
        path: &str,
        text: &Text,
        rule: impl FnOnce(&str) -> Result<(), rules::Problem>,
    ) -> Option<String> {
        let ctx = TemplateContext { environment: env, customer: self.customer, project_name: self.project_name };
        let expanded = match template::expand(&text.raw, &ctx) {
            Ok(v) => v,
            Err(e) => {
                self.once(c, text.pos, format!("`{path}`: {}", e.message), e.hint);
                return None;
            }
        };
        match rule(&expanded) {
            Ok(()) => Some(expanded),
            Err((message, hint)) => {
                let from = if expanded == text.raw {
                    String::new()
                } else {
                    format!(" (`{}` expanded for `{env}`)", shown(&text.raw))
                };
                self.once(c, text.pos, format!("{message}{from}"), hint);
                None
            }
        }
    }

    /// The values every environment shares (the VPC and the tags), expanded for `env`.
    fn shared(&mut self, c: &mut Checker, env: &str) -> Option<(String, i64, BTreeMap<String, String>)> {
        let network = self.network;
        let mut prefix = None;
        let vpc_cidr = network.vpc_cidr.as_ref().and_then(|cidr| {
            self.value(c, env, "networking.vpc_cidr", cidr, |v| {
                let p = rules::cidr(v).map_err(|(m, h)| (format!("`networking.vpc_cidr` {m}"), h))?;
                prefix = Some(p);
                Ok(())
            })
        });
        let mut zones_fit = true;
        if let (Some(value), Some(prefix), Some((zones, pos))) = (&vpc_cidr, prefix, network.availability_zones) {
            let fits = rules::subnets_in(prefix);
            if zones > fits {
                zones_fit = false;
                self.once(
                    c,
                    pos,
                    format!(
                        "`networking.availability_zones` is {zones}, but `{value}` holds only {fits} subnet{} of /28 or larger",
                        if fits == 1 { "" } else { "s" }
                    ),
                    "use a larger `vpc_cidr` or fewer zones".into(),
                );
            }
        }
        let mut tags = BTreeMap::new();
        let mut tags_ok = true;
        for (key, value) in self.tags {
            match self.value(c, env, &format!("tags.{key}"), value, |v| rules::tag_value(key, v)) {
                Some(v) => {
                    tags.insert(key.clone(), v);
                }
                None => tags_ok = false,
            }
        }
        let (zones, _) = network.availability_zones?;
        match (vpc_cidr, tags_ok && zones_fit) {
            (Some(vpc_cidr), true) => Some((vpc_cidr, zones, tags)),
            _ => None,
        }
    }

    /// The checked values of one environment.
    fn environment(&mut self, c: &mut Checker, env: &EnvDraft) -> Option<Resolved> {
        let name = env.name.as_str();
        let path = format!("environments.{name}");
        let tier = self.rules.tier;
        let region_path = format!("{path}.region");
        let region = self.value(c, name, &region_path, &env.region, |v| {
            rules::region(&region_path, v)?;
            match tier {
                Some((tier_name, tier)) if !tier.regions.iter().any(|r| r == v) => Err((
                    format!("`{region_path}` `{v}` is not allowed by tier `{tier_name}`"),
                    format!("allowed regions: {}", tier.regions.join(", ")),
                )),
                _ => Ok(()),
            }
        });
        let type_path = format!("{path}.instance_type");
        let instance_type = self.value(c, name, &type_path, &env.instance_type, |v| {
            rules::instance_type(&type_path, v)?;
            match tier {
                Some((tier_name, tier)) if !tier.instance_types.iter().any(|t| t == v) => Err((
                    format!("`{type_path}` `{v}` is not allowed by tier `{tier_name}`"),
                    format!("allowed instance types: {}", tier.instance_types.join(", ")),
                )),
                _ => Ok(()),
            }
        });
        let shared = self.shared(c, name);
        let (vpc_cidr, availability_zones, tags) = shared?;
        Some(Resolved {
            customer: self.customer.to_owned(),
            project_name: self.project_name.to_owned(),
            environment: name.to_owned(),
            region: region?,
            instance_type: instance_type?,
            min_instances: env.min_instances,
            max_instances: env.max_instances,
            vpc_cidr,
            availability_zones,
            tags,
        })
    }
}
