//! The module's own `validation` blocks, evaluated for a component's values in every
//! environment ([`crate::catalog::validation`]): a value the module refuses is refused here, at
//! its line, with the module's message, instead of by Terraform at plan time pointing at the
//! module's `variables.tf`. A validation that names other inputs too (`var.max >= var.min`) is
//! reported at each of their lines the file sets.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::components::Inputs;
use crate::catalog::validation::{self, Verdict};
use crate::catalog::{COMPONENT_INPUT, ComponentType};
use crate::diagnostic::shown;
use crate::identity::EnvName;
use crate::yaml::{Checker, Pos};

/// Where a value of one environment came from.
struct Source {
    /// The key path in the file, or `None` for the module's default.
    path: Option<String>,
    pos: Pos,
}

/// One component's values and where each was set.
pub(super) struct Component<'a> {
    /// `spec.components[i]`.
    pub path: &'a str,
    pub name: &'a str,
    pub at: Pos,
    pub ty: &'a ComponentType,
    pub project: Option<&'a str>,
    pub base: &'a Inputs,
    pub overrides: &'a BTreeMap<String, Inputs>,
}

/// Checks every unread validation of every input the customer may set, in every environment;
/// each failure is recorded once.
pub(super) fn check(c: &mut Checker, component: &Component<'_>, environments: &[(EnvName, BTreeMap<String, Json>)]) {
    for (env, values) in environments {
        let vars = module_vars(component, env, values);
        for input in component.ty.inputs.iter().filter(|i| !i.standard) {
            let name = &input.input.name;
            for v in &input.input.validations {
                match validation::check(&v.condition, &vars) {
                    Verdict::Holds => {}
                    Verdict::Unchecked(why) => {
                        tracing::debug!(component = component.name, input = %name, %why, "validation left to Terraform");
                    }
                    Verdict::Fails => {
                        let others: Vec<String> = validation::references(&v.condition)
                            .into_iter()
                            .filter(|r| r != name && values.contains_key(r))
                            .collect();
                        report(c, component, env, values, name, &others, &v.error_message);
                    }
                }
            }
        }
    }
}

/// `var` as the module sees it: the standard names infra-manager sets (those it knows before
/// Terraform runs) and the component's values.
fn module_vars(
    component: &Component<'_>,
    env: &EnvName,
    values: &BTreeMap<String, Json>,
) -> serde_json::Map<String, Json> {
    let mut vars: serde_json::Map<String, Json> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.insert("environment".into(), Json::String(env.to_string()));
    vars.insert(COMPONENT_INPUT.into(), Json::String(component.name.to_owned()));
    if let Some(project) = component.project {
        vars.insert("project_name".into(), Json::String(project.to_owned()));
    }
    vars
}

fn source(component: &Component<'_>, env: &EnvName, name: &str) -> Source {
    let path = component.path;
    if let Some((_, pos)) = component.overrides.get(env.as_str()).and_then(|set| set.get(name)) {
        return Source { path: Some(format!("{path}.environments.{env}.{name}")), pos: *pos };
    }
    if let Some((_, pos)) = component.base.get(name) {
        return Source { path: Some(format!("{path}.inputs.{name}")), pos: *pos };
    }
    Source { path: None, pos: component.at }
}

/// The failure at the failing input's place, and at the place of each other input the
/// condition names that the file sets.
fn report(
    c: &mut Checker,
    component: &Component<'_>,
    env: &EnvName,
    values: &BTreeMap<String, Json>,
    name: &str,
    others: &[String],
    error_message: &str,
) {
    let described = |input: &str| {
        let value = values.get(input).map_or_else(|| "null".to_owned(), |v| shown(&v.to_string()));
        match source(component, env, input).path {
            Some(path) => format!("`{path}` is {value}"),
            None => format!("`{input}` is {value} (the module's default, in `{env}`)"),
        }
    };
    let module = &component.ty.module;
    let hint = format!(
        "the module `{module}` refuses this value (its validation of `{name}`); change the value{}",
        if others.is_empty() { "" } else { " or the other one named" }
    );
    let involved: Vec<&str> = std::iter::once(name).chain(others.iter().map(String::as_str)).collect();
    let sentence = |first: &str| {
        let mut message = described(first);
        for other in involved.iter().filter(|o| **o != first) {
            message.push_str(&format!(" and {}", described(other)));
        }
        format!("{message}: {error_message}")
    };
    // At each input the file sets; when it sets none of them (the module's defaults fail), at
    // the component.
    let set: Vec<(&str, Pos)> = involved
        .iter()
        .filter_map(|i| {
            let at = source(component, env, i);
            at.path.map(|_| (*i, at.pos))
        })
        .collect();
    if set.is_empty() {
        push_once(c, component.at, sentence(name), hint.clone());
    }
    for (input, pos) in set {
        push_once(c, pos, sentence(input), hint.clone());
    }
}

/// Records the error unless the same one is already recorded (each environment evaluates the
/// same values set once in `inputs`).
fn push_once(c: &mut Checker, pos: Pos, message: String, hint: String) {
    let seen = c.diagnostics.iter().any(|d| d.line == pos.line && d.column == pos.column && d.message == message);
    if !seen {
        c.error(pos, message, Some(hint));
    }
}
