//! Rendering a schema v2 file for one environment: one `module "<component>"` call per
//! component, each sourcing its catalog type's module (copied once per type under
//! `modules/<type>`). As in v1 the root module holds no customer value: every input goes
//! into `customer.auto.tfvars.json`, as the root variable `components` (component name →
//! input name → value) next to the standard `customer`, `environment` and `project_name`.
//! The backend, and so the state key, is v1's: one state per customer environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{ROOT_FILE, RenderError, Rendered, TFVARS_FILE, collect_module_files, literal_json, pretty};
use crate::catalog::{Catalog, ComponentType};
use crate::identity::EnvName;
use crate::store::Backend;
use crate::variables::v2::Customer;

/// The root variable holding every component's inputs.
pub const COMPONENTS_VARIABLE: &str = "components";
/// The module input that gets `spec.tags` (under the component's own `tags`).
const TAGS_INPUT: &str = "tags";

/// One component's call, ready to render.
struct Call<'a> {
    name: &'a str,
    ty: &'a ComponentType,
    inputs: BTreeMap<String, Value>,
    outputs: Vec<String>,
}

/// Plans the working directory of `customer` (whose id is `customer_id`) for `env`.
/// `modules_dir` is where the catalog's module directories are.
pub fn render_v2(
    customer: &Customer,
    customer_id: &str,
    env: &EnvName,
    catalog: &Catalog,
    modules_dir: &Path,
    backend: &Backend,
) -> Result<Rendered, RenderError> {
    let mut modules: BTreeMap<&str, Vec<(PathBuf, String)>> = BTreeMap::new();
    let mut calls = Vec::new();
    for component in &customer.components {
        let Some((_, values)) = component.environments.iter().find(|(e, _)| e == env) else { continue };
        // Validation checked every type against this catalog; a miss here is a config change.
        let ty = catalog.get(&component.type_name).ok_or_else(|| RenderError::ModuleMissing {
            module: component.type_name.clone(),
            path: modules_dir.to_path_buf(),
        })?;
        if !modules.contains_key(ty.name.as_str()) {
            let dir = modules_dir.join(&ty.module);
            if !dir.is_dir() {
                return Err(RenderError::ModuleMissing { module: ty.module.clone(), path: dir });
            }
            let mut files = Vec::new();
            collect_module_files(&dir, Path::new(""), &mut files)?;
            files.sort();
            modules.insert(&ty.name, files);
        }
        let files = &modules[ty.name.as_str()];
        // The root passes only the public outputs through: a sensitive one would need
        // `sensitive = true` there too.
        let outputs = super::module_outputs(files).into_iter().filter(|o| !o.sensitive).map(|o| o.name).collect();
        calls.push(Call { name: &component.name, ty, inputs: module_inputs(customer, ty, values), outputs });
    }
    let tfvars = json!({
        "customer": customer_id,
        "environment": env.as_str(),
        "project_name": customer.name,
        COMPONENTS_VARIABLE: calls.iter().map(|c| (c.name.to_owned(), json!(c.inputs))).collect::<Map<_, _>>(),
    });
    let mut files = vec![
        (PathBuf::from(ROOT_FILE), pretty(&root_module(&calls, backend))),
        (PathBuf::from(TFVARS_FILE), pretty(&tfvars)),
    ];
    for (ty, module_files) in modules {
        for (rel, contents) in module_files {
            files.push((Path::new("modules").join(ty).join(rel), contents));
        }
    }
    let components = Some(calls.iter().map(|c| c.name.to_owned()).collect());
    Ok(Rendered { files, components, expires_at: customer.expires_at })
}

/// What a component's module gets in one environment: its resolved `values`, with
/// `spec.tags` under the component's own `tags` (its own win).
pub fn module_inputs(
    customer: &Customer,
    ty: &ComponentType,
    values: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    let mut inputs = values.clone();
    if ty.inputs.iter().any(|i| i.input.name == TAGS_INPUT) && !customer.tags.is_empty() {
        let mut tags: Map<String, Value> =
            customer.tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        if let Some(Value::Object(own)) = inputs.get(TAGS_INPUT) {
            tags.extend(own.clone());
        }
        inputs.insert(TAGS_INPUT.into(), Value::Object(tags));
    }
    inputs
}

fn root_module(calls: &[Call<'_>], backend: &Backend) -> Value {
    let settings = literal_json(&Value::Object(backend.settings.clone()));
    let mut variables = Map::new();
    for name in ["customer", "environment", "project_name"] {
        variables.insert(name.into(), json!({ "type": "string" }));
    }
    // `any`: each component's inputs have their own shape; the module's own variable types
    // convert and check them.
    variables.insert(COMPONENTS_VARIABLE.into(), json!({ "type": "any" }));
    let mut module = Map::new();
    let mut outputs = Map::new();
    for call in calls {
        let mut args = Map::new();
        args.insert("source".into(), Value::String(format!("./modules/{}", call.ty.name)));
        for input in call.ty.inputs.iter().filter(|i| i.standard) {
            let name = &input.input.name;
            // Component names are DNS labels, so a literal here is never a template.
            let value = if name == "component" { call.name.to_owned() } else { format!("${{var.{name}}}") };
            args.insert(name.clone(), Value::String(value));
        }
        for name in call.inputs.keys() {
            let value = format!("${{var.{COMPONENTS_VARIABLE}[\"{}\"].{name}}}", call.name);
            args.insert(name.clone(), Value::String(value));
        }
        module.insert(call.name.to_owned(), Value::Object(args));
        for output in &call.outputs {
            let value = format!("${{module.{}.{output}}}", call.name);
            outputs.insert(format!("{}_{output}", call.name), json!({ "value": value }));
        }
    }
    // The environment's health check (polled after an apply) is the first component, in file
    // order, whose module declares one: its outputs under the names the check reads.
    if let Some(call) = calls.iter().find(|c| c.outputs.iter().any(|o| o == super::OPTIONAL_OUTPUTS[0])) {
        for name in super::OPTIONAL_OUTPUTS.into_iter().filter(|n| call.outputs.iter().any(|o| o == n)) {
            outputs.insert(name.to_owned(), json!({ "value": format!("${{module.{}.{name}}}", call.name) }));
        }
    }
    let mut root = Map::new();
    root.insert(
        "//".into(),
        json!("Generated by infra-manager. Do not edit: customer values are in customer.auto.tfvars.json."),
    );
    root.insert("terraform".into(), json!({ "backend": { backend.kind: settings } }));
    root.insert("variable".into(), Value::Object(variables));
    if !module.is_empty() {
        root.insert("module".into(), Value::Object(module));
    }
    if !outputs.is_empty() {
        root.insert("output".into(), Value::Object(outputs));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests;
