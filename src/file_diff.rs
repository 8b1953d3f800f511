//! What changed in an owner's file for one environment against the configuration last
//! applied there (issue 24 item 4): the plan in the customer's terms. Components added and
//! removed, the project renamed, and each input whose value the module gets changed,
//! `old → new`.
//!
//! Pure: two parsed configurations in ([`Configuration`]), their difference out
//! ([`diff`]). Both sides are read with today's catalog, so a default the provider changed
//! in a module is not the customer's change. An input the module marks `sensitive` keeps no
//! value past [`diff`], only that it changed, so no sink (comment, `--json`) can show one.
//! A schema v1 file is one component, `app` (its module call, `module.app`, as
//! [`crate::variables::migrate`] names it); its inputs are the schema's fixed ones, none of
//! them secret.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, STANDARD_INPUTS};
use crate::identity::EnvName;
use crate::variables::Variables;
use crate::variables::v2::Customer;

/// One environment of a file, as its modules get it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Configuration {
    /// `metadata.name` (v1: `project_name`): the first part of every resource name.
    pub project: String,
    /// In file order.
    pub components: Vec<ComponentConfig>,
}

/// One component in one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentConfig {
    pub name: String,
    /// The catalog type; `None` for a v1 file's one module.
    pub type_name: Option<String>,
    /// Input → the value the module gets (module defaults, the file's values, `spec.tags`).
    pub inputs: BTreeMap<String, Value>,
    /// The inputs the module marks `sensitive`.
    pub sensitive: BTreeSet<String>,
}

impl Configuration {
    /// A v1 file's `env`; `None` when the file does not define it.
    pub fn v1(vars: &Variables, env: &EnvName) -> Option<Self> {
        let resolved = vars.resolve(env).ok()?;
        let Ok(Value::Object(values)) = serde_json::to_value(&resolved) else { return None };
        let inputs = values.into_iter().filter(|(k, _)| !STANDARD_INPUTS.contains(&k.as_str())).collect();
        let app = ComponentConfig {
            name: crate::variables::migrate::COMPONENT.to_owned(),
            type_name: None,
            inputs,
            sensitive: BTreeSet::new(),
        };
        Some(Self { project: resolved.project_name, components: vec![app] })
    }

    /// A v2 file's `env`: its components there, with the inputs their modules get.
    pub fn v2(customer: &Customer, catalog: &Catalog, env: &EnvName) -> Self {
        let components = customer
            .components
            .iter()
            .filter_map(|component| {
                let (_, values) = component.environments.iter().find(|(e, _)| e == env)?;
                let ty = catalog.get(&component.type_name);
                let inputs = match ty {
                    Some(ty) => crate::render::module_inputs(customer, ty, values),
                    None => values.clone(),
                };
                let sensitive = ty
                    .into_iter()
                    .flat_map(|t| &t.inputs)
                    .filter(|i| i.input.sensitive)
                    .map(|i| i.input.name.clone())
                    .collect();
                Some(ComponentConfig {
                    name: component.name.clone(),
                    type_name: Some(component.type_name.clone()),
                    inputs,
                    sensitive,
                })
            })
            .collect();
        Self { project: customer.name.clone(), components }
    }

    fn component(&self, name: &str) -> Option<&ComponentConfig> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// What changed in the file for one environment.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FileDiff {
    /// Nothing was applied to the environment yet: every component is new.
    pub first_apply: bool,
    /// The commit last applied there, compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Why the configuration last applied could not be compared (the lists are then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// `metadata.name` changed: every resource is renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<Renamed>,
    /// In the file's order; a component whose type changed is removed and added again.
    pub added: Vec<ComponentRef>,
    pub removed: Vec<ComponentRef>,
    /// Components kept whose inputs changed, in the file's order.
    pub changed: Vec<ComponentChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Renamed {
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentRef {
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentChange {
    #[serde(flatten)]
    pub component: ComponentRef,
    /// By input name.
    pub inputs: Vec<InputChange>,
}

/// One input whose value changed. `old`/`new` absent: the input was not set then (or is
/// not any more), or it is sensitive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputChange {
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// The module marks the input `sensitive`: its values are withheld.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl FileDiff {
    /// The configuration last applied at `since` could not be read or checked: `why`.
    pub fn unavailable(since: &str, why: String) -> Self {
        Self { since: Some(since.to_owned()), unavailable: Some(why), ..Self::default() }
    }

    /// Whether anything in the file changed (a first apply always has).
    pub fn is_empty(&self) -> bool {
        self.project.is_none() && self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What changed from `previous` (the configuration last applied; `None`: nothing was) to
/// `current`.
pub fn diff(previous: Option<&Configuration>, current: &Configuration) -> FileDiff {
    let Some(previous) = previous else {
        return FileDiff {
            first_apply: true,
            added: current.components.iter().map(reference).collect(),
            ..FileDiff::default()
        };
    };
    let same_type = |a: &ComponentConfig, b: &ComponentConfig| a.type_name == b.type_name;
    let kept = |c: &ComponentConfig, other: &Configuration| other.component(&c.name).is_some_and(|o| same_type(c, o));
    let project = (previous.project != current.project)
        .then(|| Renamed { old: previous.project.clone(), new: current.project.clone() });
    let added = current.components.iter().filter(|c| !kept(c, previous)).map(reference).collect();
    let removed = previous.components.iter().filter(|c| !kept(c, current)).map(reference).collect();
    let changed = current
        .components
        .iter()
        .filter_map(|now| {
            let before = previous.component(&now.name).filter(|b| same_type(b, now))?;
            let inputs = inputs(before, now);
            (!inputs.is_empty()).then(|| ComponentChange { component: reference(now), inputs })
        })
        .collect();
    FileDiff { project, added, removed, changed, ..FileDiff::default() }
}

fn reference(c: &ComponentConfig) -> ComponentRef {
    ComponentRef { name: c.name.clone(), type_name: c.type_name.clone() }
}

/// Each input of either side whose value differs; a sensitive one (by either side's
/// module) without its values.
fn inputs(before: &ComponentConfig, now: &ComponentConfig) -> Vec<InputChange> {
    let names: BTreeSet<&String> = before.inputs.keys().chain(now.inputs.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (before.inputs.get(name), now.inputs.get(name));
            if old == new {
                return None;
            }
            let sensitive = before.sensitive.contains(name) || now.sensitive.contains(name);
            let shown = |v: Option<&Value>| v.filter(|_| !sensitive).cloned();
            Some(InputChange { input: name.clone(), old: shown(old), new: shown(new), sensitive })
        })
        .collect()
}

#[cfg(test)]
mod tests;
