//! Rendering a Terraform working directory for one customer environment.
//!
//! The root module (`main.tf.json`) is the same for every customer: a backend block from the
//! store, variable declarations, one call of the configured module (copied under `modules/`
//! so the directory is self-contained) and its outputs. Customer values go only into
//! `customer.auto.tfvars.json`, which Terraform reads as data: in `.tf.json` every string is a
//! template (`${…}` is live), so no customer value is ever written there.
//!
//! A schema v2 file renders one module call per component ([`render_v2`], in
//! `render/components.rs`), with the same backend and the same rule for customer values.
//!
//! Rendering is planned first ([`render`] returns the files) and carried out by
//! [`Rendered::write`], so the digest of what Terraform will see is known before anything runs.

mod components;
mod outputs;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::store::Backend;
use crate::variables::Resolved;

pub use components::{COMPONENTS_VARIABLE, module_inputs, render_v2};
pub use outputs::{ModuleOutput, module_outputs};

/// The file customer values go to.
pub const TFVARS_FILE: &str = "customer.auto.tfvars.json";
/// The generated root module.
pub const ROOT_FILE: &str = "main.tf.json";

/// Module inputs: name and Terraform type. Both manager modules take exactly these.
const INPUTS: [(&str, &str); 10] = [
    ("customer", "string"),
    ("project_name", "string"),
    ("environment", "string"),
    ("region", "string"),
    ("instance_type", "string"),
    ("min_instances", "number"),
    ("max_instances", "number"),
    ("vpc_cidr", "string"),
    ("availability_zones", "number"),
    ("tags", "map(string)"),
];

/// Module outputs passed through to the root module.
const OUTPUTS: [&str; 7] = [
    "name_prefix",
    "vpc_id",
    "subnet_ids",
    "security_group_id",
    "launch_template_id",
    "autoscaling_group_name",
    "desired_capacity",
];

/// Outputs passed through only when the module declares them (an `output "<name>"` block in
/// one of its top-level `.tf` files): the health check after an apply reads them.
pub(crate) const OPTIONAL_OUTPUTS: [&str; 2] = ["health_check_url", "health_check_status"];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("module `{module}` not found at `{}`", path.display())]
    ModuleMissing { module: String, path: PathBuf },
    #[error("can't {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A rendered working directory, not yet written: relative path → contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub files: Vec<(PathBuf, String)>,
    /// A schema v2 file's components in this environment (each `module "<name>"` of the
    /// root); `None` for v1, whose one module call is not a component of the customer's.
    pub components: Option<Vec<String>>,
    /// A tenant file's `spec.expiresAt`.
    pub expires_at: Option<jiff::Timestamp>,
}

impl Rendered {
    /// sha256 over every file's path and contents, in path order: the configuration digest
    /// that a stored plan records and apply checks.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for (path, contents) in &self.files {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(contents.as_bytes());
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }

    /// Writes the files under `dir`, removing rendered files from an earlier run first but
    /// keeping Terraform's `.terraform/` cache.
    pub fn write(&self, dir: &Path) -> Result<(), RenderError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| RenderError::Io { action, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let modules = dir.join("modules");
        if modules.exists() {
            std::fs::remove_dir_all(&modules).map_err(io("clean", &modules))?;
        }
        for (rel, contents) in &self.files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            std::fs::write(&path, contents).map_err(io("write", &path))?;
        }
        Ok(())
    }
}

/// Plans the working directory for `values` with the module at `module_dir`.
pub fn render(values: &Resolved, module_dir: &Path, backend: &Backend) -> Result<Rendered, RenderError> {
    let module = module_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !module_dir.is_dir() {
        return Err(RenderError::ModuleMissing { module, path: module_dir.to_path_buf() });
    }
    let mut module_files = Vec::new();
    collect_module_files(module_dir, Path::new(""), &mut module_files)?;
    module_files.sort();
    let declared = module_outputs(&module_files);
    let optional: Vec<&str> =
        OPTIONAL_OUTPUTS.into_iter().filter(|name| declared.iter().any(|o| o.name == *name)).collect();
    let mut files = vec![
        (PathBuf::from(ROOT_FILE), pretty(&root_module(&module, backend, &optional))),
        (PathBuf::from(TFVARS_FILE), pretty(&serde_json::to_value(values).unwrap_or(Value::Null))),
    ];
    for (rel, contents) in module_files {
        files.push((Path::new("modules").join(&module).join(rel), contents));
    }
    Ok(Rendered { files, components: None, expires_at: None })
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Strings in `.tf.json` are templates; this makes one literal.
fn literal(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

fn literal_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(literal(s)),
        Value::Array(items) => Value::Array(items.iter().map(literal_json).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), literal_json(v))).collect()),
        other => other.clone(),
    }
}

fn root_module(module: &str, backend: &Backend, optional_outputs: &[&str]) -> Value {
    let settings = literal_json(&Value::Object(backend.settings.clone()));
    let variables: Map<String, Value> =
        INPUTS.iter().map(|(name, ty)| ((*name).to_owned(), json!({ "type": ty }))).collect();
    let mut call = Map::new();
    call.insert("source".into(), Value::String(format!("./modules/{module}")));
    for (name, _) in INPUTS {
        call.insert(name.into(), Value::String(format!("${{var.{name}}}")));
    }
    let outputs: Map<String, Value> = OUTPUTS
        .iter()
        .chain(optional_outputs)
        .map(|name| ((*name).to_owned(), json!({ "value": format!("${{module.app.{name}}}") })))
        .collect();
    json!({
        "//": "Generated by infra-manager. Do not edit: customer values are in customer.auto.tfvars.json.",
        "terraform": { "backend": { backend.kind: settings } },
        "variable": variables,
        "module": { "app": call },
        "output": outputs,
    })
}

fn collect_module_files(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), RenderError> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|source| RenderError::Io { action: "read", path: dir.clone(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| RenderError::Io { action: "read", path: dir.clone(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Terraform's own caches and state never belong to the rendered configuration.
        if name.starts_with('.') || name.ends_with(".tfstate") || name.ends_with(".tfstate.backup") {
            continue;
        }
        let child = rel.join(&name);
        let path = entry.path();
        if path.is_dir() {
            collect_module_files(root, &child, out)?;
        } else if name.ends_with(".tf") || name.ends_with(".tf.json") || name.ends_with(".tftpl") {
            let contents = std::fs::read_to_string(&path).map_err(|source| RenderError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            out.push((child, contents));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn values() -> Resolved {
        Resolved {
            customer: "acme/webshop".into(),
            project_name: "shop".into(),
            environment: "staging".into(),
            region: "us-east-1".into(),
            instance_type: "t3.micro".into(),
            min_instances: 1,
            max_instances: 2,
            vpc_cidr: "10.0.0.0/16".into(),
            availability_zones: 2,
            tags: BTreeMap::from([("note".into(), "${file(\"/etc/passwd\")}".into())]),
        }
    }

    fn module_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let module = dir.path().join("sandbox-app-environment");
        std::fs::create_dir_all(module.join(".terraform")).expect("mkdir");
        std::fs::write(module.join("main.tf"), "resource \"terraform_data\" \"x\" {}\n").expect("write");
        std::fs::write(module.join(".terraform/junk"), "x").expect("write");
        std::fs::write(module.join("README.md"), "docs").expect("write");
        dir
    }

    fn local_backend() -> Backend {
        let mut settings = Map::new();
        settings.insert("path".into(), Value::String("/state/acme/webshop/staging/terraform.tfstate".into()));
        Backend { kind: "local", settings }
    }

    #[test]
    fn root_module_and_tfvars_snapshot() {
        let dir = module_dir();
        let rendered =
            render(&values(), &dir.path().join("sandbox-app-environment"), &local_backend()).expect("renders");
        let names: Vec<String> = rendered.files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(names, [ROOT_FILE, TFVARS_FILE, "modules/sandbox-app-environment/main.tf"]);
        insta::assert_snapshot!("root_module", rendered.files[0].1);
        insta::assert_snapshot!("tfvars", rendered.files[1].1);
    }

    #[test]
    fn customer_values_only_reach_the_tfvars_data_file() {
        let dir = module_dir();
        let rendered =
            render(&values(), &dir.path().join("sandbox-app-environment"), &local_backend()).expect("renders");
        let mut root: Value = serde_json::from_str(&rendered.files[0].1).expect("json");
        // Only the store's backend block names the customer (validated names, see identity).
        root["terraform"] = Value::Null;
        let root = root.to_string();
        assert!(!root.contains("passwd") && !root.contains("acme") && !root.contains("webshop"), "{root}");
        // In the data file the value stays verbatim: Terraform does not evaluate tfvars strings.
        assert!(rendered.files[1].1.contains(r#""note": "${file(\"/etc/passwd\")}""#));
    }

    #[test]
    fn health_outputs_pass_through_only_when_the_module_declares_them() {
        let dir = module_dir();
        let module = dir.path().join("sandbox-app-environment");
        let root = |rendered: &Rendered| serde_json::from_str::<Value>(&rendered.files[0].1).expect("json");
        let plain = render(&values(), &module, &local_backend()).expect("renders");
        assert!(root(&plain)["output"].get("health_check_url").is_none());
        std::fs::write(module.join("health.tf"), "output  \"health_check_url\" {\n  value = \"https://x/\"\n}\n")
            .expect("write");
        std::fs::create_dir_all(module.join("nested")).expect("mkdir");
        std::fs::write(module.join("nested/x.tf"), "output \"health_check_status\" {}\n").expect("write");
        let rendered = render(&values(), &module, &local_backend()).expect("renders");
        let outputs = &root(&rendered)["output"];
        assert_eq!(outputs["health_check_url"]["value"], "${module.app.health_check_url}");
        assert!(outputs.get("health_check_status").is_none(), "only the module's top-level files count");
    }

    #[test]
    fn backend_strings_are_made_literal() {
        let mut backend = local_backend();
        backend.settings.insert("path".into(), Value::String("/odd/${path}/%{x}".into()));
        let root = root_module("m", &backend, &[]);
        assert_eq!(root["terraform"]["backend"]["local"]["path"], "/odd/$${path}/%%{x}");
    }

    #[test]
    fn the_digest_changes_with_any_file() {
        let dir = module_dir();
        let module = dir.path().join("sandbox-app-environment");
        let a = render(&values(), &module, &local_backend()).expect("renders");
        let mut other = values();
        other.max_instances = 3;
        let b = render(&other, &module, &local_backend()).expect("renders");
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), render(&values(), &module, &local_backend()).expect("renders").digest());
    }

    #[test]
    fn a_missing_module_is_named() {
        let err = render(&values(), Path::new("/nowhere/mod-x"), &local_backend()).expect_err("missing");
        assert_eq!(err.to_string(), "module `mod-x` not found at `/nowhere/mod-x`");
    }
}
