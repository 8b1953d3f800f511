//! A component input's value that Terraform refused at plan time (a module validation
//! `validate` could not evaluate, [`crate::catalog::validation`]), placed at the customer's
//! line: the invalid value's module call is the component, the argument Terraform points at
//! (in the root file infra-manager rendered) is the input, and the other variables its
//! condition names are reported at their lines too.

use std::path::Path;

use super::prepare::Validated;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::identity::EnvName;
use crate::render::{COMPONENTS_VARIABLE, ROOT_FILE};
use crate::terraform::TerraformError;
use crate::terraform::invalid_value::InvalidValue;
use crate::variables::v2::Customer;

/// `error` as the customer's invalid input when it is Terraform refusing component inputs of
/// a v2 file; any other error as it is.
pub fn placed(error: TerraformError, file: &Validated, file_name: &str, env: &EnvName, dir: &Path) -> CommandError {
    let (TerraformError::InvalidValues { values, .. }, Validated::V2(customer, _)) = (&error, file) else {
        return error.into();
    };
    let root = std::fs::read(dir.join(ROOT_FILE)).unwrap_or_default();
    let mut diagnostics: Vec<Diagnostic> =
        values.iter().flat_map(|v| diagnostics(file_name, customer, env, &root, v)).collect();
    // Terraform's order is its own evaluation order: the file's reads top to bottom.
    diagnostics.sort_by_key(|d| (d.line, d.column));
    if diagnostics.is_empty() { error.into() } else { CommandError::Invalid(diagnostics) }
}

/// The diagnostics for one refused value: at each involved input's line the file sets, or at
/// the component when it sets none of them.
fn diagnostics(file: &str, customer: &Customer, env: &EnvName, root: &[u8], value: &InvalidValue) -> Vec<Diagnostic> {
    let Some(component) = customer.component(&value.module) else { return Vec::new() };
    let resolved = component.environments.iter().find(|(e, _)| e == env).map(|(_, v)| v);
    let argument = (value.filename == ROOT_FILE).then(|| argument(root, value)).flatten();
    let mut involved: Vec<String> = argument.into_iter().collect();
    for name in &value.variables {
        if !involved.contains(name) && resolved.is_some_and(|r| r.contains_key(name)) {
            involved.push(name.clone());
        }
    }
    // Terraform's detail starts with the module's own `error_message`; where the rule is
    // follows after a blank line, in the module's files, which the customer never sees.
    let message = value.detail.split("\n\n").next().unwrap_or_default().trim();
    let hint = format!(
        "the module `{}` refuses the value, checked by Terraform at plan time; change the value",
        component.type_name
    );
    let places = component.places.get(env.as_str());
    let mut out: Vec<Diagnostic> = involved
        .iter()
        .filter_map(|input| places?.get(input))
        .map(|(path, pos)| Diagnostic {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: format!("`{path}` (in `{env}`): {message}"),
            hint: Some(hint.clone()),
        })
        .collect();
    if out.is_empty() {
        let named = involved.first().map_or_else(String::new, |i| format!(" input `{i}`"));
        out.push(Diagnostic {
            file: file.to_owned(),
            line: component.at.line,
            column: component.at.column,
            message: format!("component `{}`{named} (in `{env}`): {message}", component.name),
            hint: Some(hint),
        });
    }
    out
}

/// The input whose argument Terraform points at: the root file's bytes there are the
/// argument's value, `"${var.components["<component>"].<input>}"`, as rendering wrote it.
fn argument(root: &[u8], value: &InvalidValue) -> Option<String> {
    let token = root.get(value.start..value.end)?;
    let text: String = serde_json::from_slice(token).ok()?;
    let prefix = format!("${{var.{COMPONENTS_VARIABLE}[\"{}\"].", value.module);
    let input = text.strip_prefix(&prefix)?.strip_suffix('}')?;
    input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-').then(|| input.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argument_is_read_from_the_rendered_root_file() {
        let root = br#"{ "module": { "web": { "max_instances": "${var.components[\"web\"].max_instances}" } } }"#;
        let start = root.windows(2).position(|w| w == b"\"$").expect("token");
        let end = start + root[start + 1..].windows(2).position(|w| w == b"}\"").expect("end") + 3;
        let value = InvalidValue {
            module: "web".into(),
            filename: ROOT_FILE.into(),
            start,
            end,
            variables: vec![],
            detail: String::new(),
        };
        assert_eq!(argument(root, &value).as_deref(), Some("max_instances"));
        assert_eq!(argument(root, &InvalidValue { module: "api".into(), ..value.clone() }), None);
        assert_eq!(argument(root, &InvalidValue { end: root.len() + 5, ..value }), None);
    }
}
