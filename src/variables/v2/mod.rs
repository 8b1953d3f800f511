//! Schema v2 of `infra/variables.yml`: `apiVersion: infra-manager/v2`, `kind: Customer`,
//! `metadata` (who) and `spec` (environments, components, tags). Validation only: every
//! problem in one run, each at its `line:column` with a hint; a valid file gives each
//! component's inputs resolved per environment (module defaults, then `inputs`, then the
//! environment's overrides). Turning components into Terraform is not done here.

pub(crate) mod components;
mod validations;
mod value;

use std::collections::BTreeMap;

use serde::Serialize;

use super::Rules;
use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostics, shown};
use crate::identity::EnvName;
use crate::yaml::{self, Checker, Node, Pos, Value};

pub const API_VERSION: &str = "infra-manager/v2";
pub const KIND: &str = "Customer";

pub(crate) const ROOT_KEYS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
pub(crate) const METADATA_KEYS: [&str; 2] = ["name", "displayName"];
pub(crate) const SPEC_KEYS: [&str; 3] = ["environments", "components", "tags"];
/// A tenant's `spec` may also say when it ends (a proof-of-concept environment).
const TENANT_SPEC_KEYS: [&str; 4] = ["environments", "components", "tags", "expiresAt"];
/// Tags the modules add themselves count against AWS's 50, as in v1.
pub(crate) const MAX_TAGS: usize = 45;
pub(crate) const MAX_DISPLAY_NAME: usize = 256;

/// A validated v2 file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    /// `metadata.name`: the project, first part of every resource name.
    pub name: String,
    pub display_name: Option<String>,
    /// `spec.environments`, in file order.
    pub environments: Vec<EnvName>,
    pub tags: BTreeMap<String, String>,
    pub components: Vec<Component>,
    /// `spec.expiresAt` (tenants only): after it, `reap` destroys every environment.
    pub expires_at: Option<jiff::Timestamp>,
}

/// One component: a catalog type and its inputs, resolved for every environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// In the order of `spec.environments`: the inputs the module gets there (the
    /// standard names excepted, which infra-manager sets).
    pub environments: Vec<(EnvName, BTreeMap<String, serde_json::Value>)>,
    /// `allow_destroy: true`: the first of the two reviewed changes that remove a component
    /// of a protected type (`protect_destroy`); once applied, the removal may follow.
    pub allow_destroy: bool,
    /// Where the component starts in the file.
    #[serde(skip)]
    pub at: crate::yaml::Pos,
    /// Environment → input → where the file sets its value there (key path and place), for
    /// placing an error Terraform reports about that input.
    #[serde(skip)]
    pub places: BTreeMap<String, BTreeMap<String, (String, crate::yaml::Pos)>>,
}

impl Customer {
    /// Checks a v2 file's tree (its header already accepted by `document::detect`) against
    /// the manager's environments, the customer's tier and the catalog.
    pub fn parse(file: &str, root: &Node, rules: &Rules<'_>, catalog: &Catalog) -> Result<Self, Diagnostics> {
        let mut c = Checker::new(file);
        let parsed = customer(&mut c, root, rules, catalog);
        match parsed {
            Some(customer) if c.diagnostics.is_empty() => Ok(customer),
            _ => {
                let mut diagnostics = c.diagnostics;
                diagnostics.sort_by_key(|d| (d.line, d.column));
                Err(Diagnostics(diagnostics))
            }
        }
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

fn missing(c: &mut Checker, pos: Pos, path: &str, example: &str) {
    let key = path.rsplit('.').next().unwrap_or(path);
    c.error(pos, format!("missing required key `{path}`"), Some(format!("add `{key}: {example}`")));
}

fn customer(c: &mut Checker, root: &Node, rules: &Rules<'_>, catalog: &Catalog) -> Option<Customer> {
    let Value::Map(entries) = &root.value else { return None };
    c.unknown_keys("", entries, &ROOT_KEYS);
    let (name, display_name) = match yaml::get(entries, "metadata") {
        Some(node) => metadata(c, node),
        None => {
            missing(c, root.pos, "metadata", "{ name: my-app }");
            (None, None)
        }
    };
    let Some(spec) = yaml::get(entries, "spec") else {
        missing(c, root.pos, "spec", "{ environments: [staging], components: [] }");
        return None;
    };
    let fields = c.map("spec", spec)?;
    let tenant = yaml::get(entries, "kind")
        .is_some_and(|k| matches!(&k.value, Value::Str(s) if s == super::document::TENANT_KIND));
    c.unknown_keys("spec", fields, if tenant { &TENANT_SPEC_KEYS[..] } else { &SPEC_KEYS[..] });
    let expires_at = yaml::get(fields, "expiresAt").filter(|_| tenant).and_then(|node| expiry(c, node));
    let environments = match yaml::get(fields, "environments") {
        Some(node) => environments(c, node, rules),
        None => {
            missing(c, spec.pos, "spec.environments", "[staging, production]");
            Vec::new()
        }
    };
    let tags = yaml::get(fields, "tags").map(|node| tags(c, node)).unwrap_or_default();
    let components = match yaml::get(fields, "components") {
        Some(node) => {
            let ctx = components::Context { rules, catalog, project: name.as_deref(), environments: &environments };
            components::all(c, node, &ctx)
        }
        None => {
            missing(c, spec.pos, "spec.components", "[{ name: web, type: app-environment }]");
            Vec::new()
        }
    };
    Some(Customer {
        name: name?,
        display_name,
        environments: environments.into_iter().map(|(e, _)| e).collect(),
        tags,
        components,
        expires_at,
    })
}

fn metadata(c: &mut Checker, node: &Node) -> (Option<String>, Option<String>) {
    let Some(fields) = c.map("metadata", node) else { return (None, None) };
    c.unknown_keys("metadata", fields, &METADATA_KEYS);
    let name = match yaml::get(fields, "name") {
        Some(n) => c.str("metadata.name", n).and_then(|s| match dns_label_problem("metadata.name", s) {
            Some(problem) => {
                c.error(n.pos, problem, Some(DNS_LABEL_HINT.into()));
                None
            }
            None => Some(s.to_owned()),
        }),
        None => {
            missing(c, node.pos, "metadata.name", "my-app");
            None
        }
    };
    let display = yaml::get(fields, "displayName").and_then(|n| {
        let s = c.str("metadata.displayName", n)?;
        if s.chars().count() > MAX_DISPLAY_NAME || s.chars().any(char::is_control) {
            c.error(
                n.pos,
                format!(
                    "`metadata.displayName` must be at most {MAX_DISPLAY_NAME} characters without control characters"
                ),
                Some("shorten it to one plain line".into()),
            );
            return None;
        }
        Some(s.to_owned())
    });
    (name, display)
}

pub(crate) const DNS_LABEL_HINT: &str =
    "use 1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`";

/// Why `name` is not a DNS label (as `project_name` in v1), if it is not.
pub(crate) fn dns_label_problem(path: &str, name: &str) -> Option<String> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let starts = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if name.is_empty() {
        Some(format!("`{path}` is empty"))
    } else if name.chars().count() > 63 {
        Some(format!("`{path}` is {} characters, more than 63", name.chars().count()))
    } else if !valid_chars || !starts || name.ends_with('-') {
        Some(format!("`{path}` `{}` is not a DNS label", shown(name)))
    } else {
        None
    }
}

/// `spec.environments`: names the service offers and the customer has enabled, once each.
fn environments(c: &mut Checker, node: &Node, rules: &Rules<'_>) -> Vec<(EnvName, Pos)> {
    let mut out: Vec<(EnvName, Pos)> = Vec::new();
    let Some(items) = c.str_list("spec.environments", node) else { return out };
    if items.is_empty() {
        c.error(
            node.pos,
            "`spec.environments` is empty",
            Some("list at least one environment, e.g. `[staging]`".into()),
        );
    }
    for (name, pos) in items {
        if !rules.environments.contains(&name.as_str()) {
            let hint = match crate::suggest::did_you_mean(&name, rules.environments.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the service offers: {}", rules.environments.join(", ")),
            };
            c.error(pos, format!("unknown environment `{}`", shown(&name)), Some(hint));
            continue;
        }
        if let Some(enabled) = &rules.enabled
            && !enabled.contains(&name.as_str())
        {
            c.error(
                pos,
                format!("environment `{name}` is not enabled for this repository"),
                Some(format!("enabled: {}; ask the platform team to enable more", enabled.join(", "))),
            );
            continue;
        }
        if let Some((_, first)) = out.iter().find(|(e, _)| e.as_str() == name) {
            c.error(
                pos,
                format!("environment `{name}` is listed twice"),
                Some(format!("it is already listed at line {}; remove one", first.line)),
            );
            continue;
        }
        if let Ok(env) = EnvName::parse(&name) {
            out.push((env, pos));
        }
    }
    out
}

/// `spec.expiresAt`: a date (`2027-03-31`, the start of that day in UTC) or an RFC 3339 time.
fn expiry(c: &mut Checker, node: &Node) -> Option<jiff::Timestamp> {
    let text = c.str("spec.expiresAt", node)?;
    let at = crate::config::parse_expiry(text);
    if at.is_none() {
        c.error(
            node.pos,
            format!("`spec.expiresAt` is not a date or time: `{}`", shown(text)),
            Some("write a date such as `2027-03-31` or a UTC time such as `2027-03-31T18:00:00Z`".into()),
        );
    }
    at
}

/// `spec.tags`: plain strings, added to every component's `tags`.
fn tags(c: &mut Checker, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(entries) = c.map("spec.tags", node) else { return out };
    if entries.len() > MAX_TAGS {
        c.error(
            node.pos,
            format!("`spec.tags` has {} tags, more than {MAX_TAGS}", entries.len()),
            Some("AWS allows 50 per resource and the modules add their own; remove some".into()),
        );
    }
    for (key, value) in entries {
        let path = format!("spec.tags.{}", shown(&key.name));
        let bad_key = key.name.is_empty() || key.name.chars().count() > 128 || key.name.starts_with("aws:");
        if bad_key || key.name.chars().any(char::is_control) {
            c.error(
                key.pos,
                format!("tag key `{}` is not allowed", shown(&key.name)),
                Some("use 1 to 128 printable characters, not starting with `aws:`".into()),
            );
            continue;
        }
        if let Some(v) = c.str(&path, value) {
            if v.chars().count() > 256 || v.chars().any(char::is_control) {
                c.error(
                    value.pos,
                    format!("`{path}` must be at most 256 printable characters"),
                    Some("shorten the value".into()),
                );
                continue;
            }
            out.insert(key.name.clone(), v.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests;
