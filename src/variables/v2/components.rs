//! `spec.components`: each a catalog type with inputs and per-environment overrides,
//! checked against the catalog and the customer's tier; every problem is reported.

use std::collections::BTreeMap;

use super::value::{self, Bounds};
use super::{Component, DNS_LABEL_HINT, dns_label_problem, missing};
use crate::catalog::{Catalog, CatalogInput, ComponentType, STANDARD_INPUTS};
use crate::diagnostic::shown;
use crate::identity::EnvName;
use crate::variables::Rules;
use crate::yaml::{self, Checker, Key, Node, Pos, Value};

pub(crate) const COMPONENT_KEYS: [&str; 5] = ["name", "type", "inputs", "environments", "allow_destroy"];
/// Resource names are `<project>-<component>-<env>`, one DNS label.
pub(crate) const MAX_RESOURCE_NAME: usize = 63;

/// What every component is checked against.
pub(super) struct Context<'a> {
    pub rules: &'a Rules<'a>,
    pub catalog: &'a Catalog,
    /// `metadata.name`, when valid.
    pub project: Option<&'a str>,
    /// `spec.environments`, the valid ones.
    pub environments: &'a [(EnvName, Pos)],
}

/// The inputs a component sets, checked, with where each value is.
pub(super) type Inputs = BTreeMap<String, (serde_json::Value, Pos)>;

pub(super) fn all(c: &mut Checker, node: &Node, ctx: &Context<'_>) -> Vec<Component> {
    let Value::Seq(items) = &node.value else {
        c.error(
            node.pos,
            format!("`spec.components` must be a list, found {}", node.value.type_name()),
            Some("write each component as a list item: `- name: web`".into()),
        );
        return Vec::new();
    };
    let mut seen: Vec<(String, Pos)> = Vec::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(component) = one(c, &format!("spec.components[{i}]"), item, ctx, &mut seen) {
            out.push(component);
        }
    }
    unnamed_once(c, &out, ctx.catalog);
    out
}

/// A type whose module does not take `component` names its resources `<project>-<env>`:
/// two components of it would fight over the same resources.
fn unnamed_once(c: &mut Checker, components: &[Component], catalog: &Catalog) {
    for (i, component) in components.iter().enumerate() {
        let Some(ty) = catalog.get(&component.type_name).filter(|t| !t.names_component()) else { continue };
        if let Some(first) = components[..i].iter().find(|other| other.type_name == ty.name) {
            c.error(
                component.at,
                format!("component `{}`: type `{}` can be used once per file, and `{}` uses it", component.name, ty.name, first.name),
                Some(format!(
                    "its module names resources `<project>-<env>`, without the component; use another type, or remove one (the first is at line {})",
                    first.at.line
                )),
            );
        }
    }
}

fn one(
    c: &mut Checker,
    path: &str,
    node: &Node,
    ctx: &Context<'_>,
    seen: &mut Vec<(String, Pos)>,
) -> Option<Component> {
    let fields = c.map(path, node)?;
    c.unknown_keys(path, fields, &COMPONENT_KEYS);
    let ty = match yaml::get(fields, "type") {
        Some(n) => component_type(c, path, n, ctx.catalog),
        None => {
            let types: Vec<&str> = ctx.catalog.types.iter().map(|t| t.name.as_str()).collect();
            c.error(
                node.pos,
                format!("missing required key `{path}.type`"),
                Some(format!("add `type:` with one of the catalog's types: {}", types.join(", "))),
            );
            None
        }
    };
    let name = match yaml::get(fields, "name") {
        Some(n) => component_name(c, path, n, ctx, seen, ty.is_none_or(ComponentType::names_component)),
        None => {
            missing(c, node.pos, &format!("{path}.name"), "web");
            None
        }
    };
    // Without a known type, the inputs cannot be checked; say so once rather than guess.
    let ty = ty?;
    let tier = ctx.rules.tier.map(|(name, _)| name);
    let base = match yaml::get(fields, "inputs") {
        Some(n) => inputs(c, &format!("{path}.inputs"), n, ty, tier),
        None => Some(Inputs::new()),
    };
    let overrides = match yaml::get(fields, "environments") {
        Some(n) => overrides(c, path, n, ty, ctx),
        None => Some(BTreeMap::new()),
    };
    let allow_destroy =
        yaml::get(fields, "allow_destroy").map(|n| c.bool(&format!("{path}.allow_destroy"), n)).unwrap_or(Some(false));
    let (base, overrides, allow_destroy) = (base?, overrides?, allow_destroy?);
    required(c, path, node.pos, ty, &base, &overrides, ctx);
    let environments: Vec<(EnvName, BTreeMap<String, serde_json::Value>)> = ctx
        .environments
        .iter()
        .map(|(env, _)| {
            let mut values: BTreeMap<String, serde_json::Value> = ty
                .inputs
                .iter()
                .filter(|i| !i.standard)
                .filter_map(|i| Some((i.input.name.clone(), i.input.default.clone()?)))
                .collect();
            values.extend(base.iter().map(|(k, (v, _))| (k.clone(), v.clone())));
            if let Some(set) = overrides.get(env.as_str()) {
                values.extend(set.iter().map(|(k, (v, _))| (k.clone(), v.clone())));
            }
            (env.clone(), values)
        })
        .collect();
    let name = name?;
    let component = super::validations::Component {
        path,
        name: &name,
        at: node.pos,
        ty,
        project: ctx.project,
        base: &base,
        overrides: &overrides,
    };
    super::validations::check(c, &component, &environments);
    let places = ctx
        .environments
        .iter()
        .map(|(env, _)| {
            let mut set: BTreeMap<String, (String, Pos)> =
                base.iter().map(|(k, (_, pos))| (k.clone(), (format!("{path}.inputs.{k}"), *pos))).collect();
            for (k, (_, pos)) in overrides.get(env.as_str()).into_iter().flatten() {
                set.insert(k.clone(), (format!("{path}.environments.{env}.{k}"), *pos));
            }
            (env.to_string(), set)
        })
        .collect();
    Some(Component { name, type_name: ty.name.clone(), environments, allow_destroy, at: node.pos, places })
}

fn component_name(
    c: &mut Checker,
    path: &str,
    node: &Node,
    ctx: &Context<'_>,
    seen: &mut Vec<(String, Pos)>,
    in_resource_names: bool,
) -> Option<String> {
    let name = c.str(&format!("{path}.name"), node)?;
    if let Some(problem) = dns_label_problem(&format!("{path}.name"), name) {
        c.error(node.pos, problem, Some(DNS_LABEL_HINT.into()));
        return None;
    }
    if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
        c.error(
            node.pos,
            format!("component name `{name}` is used twice"),
            Some(format!("the first `{name}` is at line {}; give each component its own name", first.line)),
        );
        return None;
    }
    seen.push((name.to_owned(), node.pos));
    if let Some(project) = ctx.project.filter(|_| in_resource_names) {
        for (env, _) in ctx.environments {
            let resource = format!("{project}-{name}-{env}");
            if resource.len() > MAX_RESOURCE_NAME {
                c.error(
                    node.pos,
                    format!(
                        "resource name `{resource}` (`<project>-<component>-<env>`) is {} characters, more than {MAX_RESOURCE_NAME}",
                        resource.len()
                    ),
                    Some("shorten the component name or `metadata.name`".into()),
                );
                return None;
            }
        }
    }
    Some(name.to_owned())
}

fn component_type<'a>(c: &mut Checker, path: &str, node: &Node, catalog: &'a Catalog) -> Option<&'a ComponentType> {
    let name = c.str(&format!("{path}.type"), node)?;
    if let Some(ty) = catalog.get(name) {
        return Some(ty);
    }
    let types: Vec<&str> = catalog.types.iter().map(|t| t.name.as_str()).collect();
    let hint = crate::suggest::did_you_mean(name, types.iter().copied()).map_or_else(
        || format!("the catalog's types: {}; `infra-manager catalog` lists them", types.join(", ")),
        |s| format!("did you mean `{s}`?"),
    );
    c.error(node.pos, format!("unknown component type `{}`", shown(name)), Some(hint));
    None
}

/// A mapping of input name → value, each checked against the type's input.
fn inputs(c: &mut Checker, path: &str, node: &Node, ty: &ComponentType, tier: Option<&str>) -> Option<Inputs> {
    let entries = c.map(path, node)?;
    let mut out = Inputs::new();
    let mut ok = true;
    for (key, value) in entries {
        match input(c, path, key, value, ty, tier) {
            Some(v) => {
                out.insert(key.name.clone(), (v, value.pos));
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn input(
    c: &mut Checker,
    path: &str,
    key: &Key,
    value: &Node,
    ty: &ComponentType,
    tier: Option<&str>,
) -> Option<serde_json::Value> {
    let Some(declared) = ty.inputs.iter().find(|i| i.input.name == key.name) else {
        let names: Vec<&str> = settable(ty).map(|i| i.input.name.as_str()).collect();
        let hint = crate::suggest::did_you_mean(&key.name, names.iter().copied()).map_or_else(
            || format!("type `{}` takes: {}", ty.name, names.join(", ")),
            |s| format!("did you mean `{s}`?"),
        );
        c.error(key.pos, format!("unknown input `{}` for component type `{}`", shown(&key.name), ty.name), Some(hint));
        return None;
    };
    if declared.standard {
        c.error(
            key.pos,
            format!("`{path}.{}` is a name infra-manager sets", key.name),
            Some(format!(
                "{} come from the registry and `metadata`; remove it",
                STANDARD_INPUTS.map(|n| format!("`{n}`")).join(", ")
            )),
        );
        return None;
    }
    let full = format!("{path}.{}", key.name);
    let json = value::typed(c, &full, value, &declared.input.ty)?;
    let bounds = Bounds {
        limits: tier.map_or_else(|| declared.input.limits.clone(), |t| declared.limits_for(t)),
        module: &declared.input.limits,
        tier,
    };
    bounds.check(c, &full, value, &json).then_some(json)
}

fn settable(ty: &ComponentType) -> impl Iterator<Item = &CatalogInput> {
    ty.inputs.iter().filter(|i| !i.standard)
}

/// `environments: {<env>: {<input>: value}}`, for environments in `spec.environments`.
fn overrides(
    c: &mut Checker,
    path: &str,
    node: &Node,
    ty: &ComponentType,
    ctx: &Context<'_>,
) -> Option<BTreeMap<String, Inputs>> {
    let path = format!("{path}.environments");
    let entries = c.map(&path, node)?;
    let tier = ctx.rules.tier.map(|(name, _)| name);
    let listed: Vec<&str> = ctx.environments.iter().map(|(e, _)| e.as_str()).collect();
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        if !listed.contains(&key.name.as_str()) {
            ok = false;
            let enabled = ctx.rules.enabled.as_ref().is_none_or(|e| e.contains(&key.name.as_str()));
            let offered = ctx.rules.environments.contains(&key.name.as_str());
            let message = if offered && !enabled {
                format!("environment `{}` is not enabled for this repository", shown(&key.name))
            } else {
                format!("overrides for environment `{}`, which `spec.environments` does not list", shown(&key.name))
            };
            let hint = match crate::suggest::did_you_mean(&key.name, listed.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None if offered && enabled => format!("add `{}` to `spec.environments`", key.name),
                None => format!("`spec.environments` lists: {}", listed.join(", ")),
            };
            c.error(key.pos, message, Some(hint));
            continue;
        }
        match inputs(c, &format!("{path}.{}", key.name), value, ty, tier) {
            Some(set) => {
                out.insert(key.name.clone(), set);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A required input (no default in the module) must be set in `inputs` or in every
/// environment's overrides.
fn required(
    c: &mut Checker,
    path: &str,
    pos: Pos,
    ty: &ComponentType,
    base: &Inputs,
    overrides: &BTreeMap<String, Inputs>,
    ctx: &Context<'_>,
) {
    for input in settable(ty).filter(|i| i.input.required && i.input.default.is_none()) {
        let name = &input.input.name;
        if base.contains_key(name) {
            continue;
        }
        let lacking: Vec<&str> = ctx
            .environments
            .iter()
            .map(|(e, _)| e.as_str())
            .filter(|e| !overrides.get(*e).is_some_and(|set| set.contains_key(name)))
            .collect();
        if !lacking.is_empty() {
            c.error(
                pos,
                format!(
                    "`{path}` (type `{}`) does not set required input `{name}` (for {})",
                    ty.name,
                    lacking.join(", ")
                ),
                Some(format!("add `{name}:` (a `{}`) under `inputs`", input.input.ty)),
            );
        }
    }
}
