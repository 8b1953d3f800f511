//! Terraform's "Invalid value for variable" error diagnostic of a module call, read from its
//! `-json` stream (the diagnostic's fields, never its human text): which module call, which
//! bytes of which root file, and the variables its validation condition names. The pipeline
//! maps it back to the customer's line ([`crate::pipeline::invalid_value`]).

use serde_json::Value;

/// The `summary` Terraform gives a variable whose validation failed.
pub const SUMMARY: &str = "Invalid value for variable";

/// One failed validation of a module input, as Terraform located it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The module call's name (`web` for `module.web`).
    pub module: String,
    /// The root file and byte range of the argument that passed the value.
    pub filename: String,
    pub start: usize,
    pub end: usize,
    /// The variables the failed condition names (`min_instances` for `var.min_instances`).
    pub variables: Vec<String>,
    /// Terraform's detail: the module's error message, then where the rule is.
    pub detail: String,
}

/// The invalid value `diagnostic` reports, when it is one of a module call's input.
pub fn read(diagnostic: &Value) -> Option<InvalidValue> {
    if diagnostic["summary"] != SUMMARY {
        return None;
    }
    let module = diagnostic["snippet"]["context"].as_str()?.strip_prefix("module.")?;
    // A nested call (`module.a.module.b`) is inside a catalog module, not the customer's.
    if module.contains('.') {
        return None;
    }
    let range = &diagnostic["range"];
    let byte = |at: &str| range[at]["byte"].as_u64().and_then(|b| usize::try_from(b).ok());
    let variables = diagnostic["snippet"]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["traversal"].as_str()?.strip_prefix("var.").map(str::to_owned))
        .filter(|name| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .collect();
    Some(InvalidValue {
        module: module.to_owned(),
        filename: range["filename"].as_str()?.to_owned(),
        start: byte("start")?,
        end: byte("end")?,
        variables,
        detail: diagnostic["detail"].as_str().unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Terraform 1.11 prints it for a module call's input.
    const DIAGNOSTIC: &str = r#"{"severity":"error","summary":"Invalid value for variable","detail":"The name must start with x.\n\nThis was checked by the validation rule at modules/thing/variables.tf:3,3-13.","range":{"filename":"main.tf.json","start":{"line":1,"column":103,"byte":102},"end":{"line":1,"column":136,"byte":135}},"snippet":{"context":"module.web","code":"…","start_line":1,"highlight_start_offset":102,"highlight_end_offset":135,"values":[{"traversal":"var.name","statement":"is \"abc\""}]}}"#;

    #[test]
    fn a_module_inputs_invalid_value_is_read_from_the_diagnostics_fields() {
        let d: Value = serde_json::from_str(DIAGNOSTIC).expect("json");
        let read = read(&d).expect("an invalid value");
        assert_eq!(
            (read.module.as_str(), read.filename.as_str(), read.start, read.end),
            ("web", "main.tf.json", 102, 135)
        );
        assert_eq!(read.variables, ["name"]);
        assert!(read.detail.starts_with("The name must start with x."));

        let mut other = d.clone();
        other["summary"] = "Unsupported argument".into();
        assert_eq!(super::read(&other), None);
        let mut root = d.clone();
        root["snippet"]["context"] = Value::Null;
        assert_eq!(super::read(&root), None, "a root variable is infra-manager's, not a component input");
        let mut nested = d;
        nested["snippet"]["context"] = "module.web.module.inner".into();
        assert_eq!(super::read(&nested), None);
    }
}
