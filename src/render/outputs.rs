//! The `output` blocks a module declares, read from its top-level `.tf` files with the HCL
//! parser (`hcl-rs`, which also reads the catalog's `variables.tf`): the root module passes
//! a module's outputs through by name, and leaves out the sensitive ones.
//!
//! A parser rather than a line scan, so comments, heredocs and braces inside strings or
//! nested values can't make a block appear, vanish or end early.

use std::path::{Path, PathBuf};

use hcl::Expression;

/// One `output "<name>" { ... }` block of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOutput {
    pub name: String,
    /// `sensitive = true`. Only the literal counts, as Terraform requires a constant here.
    pub sensitive: bool,
    /// `description` as written, when it is a string or heredoc (a `${…}` is left as is).
    pub description: Option<String>,
}

/// The outputs declared by a module's files (relative path → text), in file then block
/// order. Only top-level `.tf` files count: Terraform reads no other file of a module.
pub fn module_outputs(files: &[(PathBuf, String)]) -> Vec<ModuleOutput> {
    files
        .iter()
        .filter(|(rel, _)| rel.parent() == Some(Path::new("")) && rel.extension().is_some_and(|e| e == "tf"))
        .flat_map(|(_, text)| declared(text))
        .collect()
}

/// The `output` blocks at the top level of HCL `text`, in order. A file that does not
/// parse declares none here: Terraform reports its syntax error, with its own position,
/// when it reads the module.
pub(super) fn declared(text: &str) -> Vec<ModuleOutput> {
    let Ok(body) = hcl::parse(text) else { return Vec::new() };
    body.blocks()
        .filter(|block| block.identifier() == "output")
        .filter_map(|block| {
            let [label] = block.labels() else { return None };
            let attr = |key: &str| block.body().attributes().find(|a| a.key() == key).map(hcl::Attribute::expr);
            Some(ModuleOutput {
                name: label.as_str().to_owned(),
                sensitive: matches!(attr("sensitive"), Some(Expression::Bool(true))),
                description: match attr("description") {
                    Some(Expression::String(text)) => Some(text.clone()),
                    Some(Expression::TemplateExpr(template)) => Some(match template.as_ref() {
                        hcl::TemplateExpr::QuotedString(text) => text.clone(),
                        hcl::TemplateExpr::Heredoc(heredoc) => heredoc.template.clone(),
                    }),
                    _ => None,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, bool)> {
        declared(text).into_iter().map(|o| (o.name, o.sensitive)).collect()
    }

    fn pairs(list: &[(&str, bool)]) -> Vec<(String, bool)> {
        list.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
    }

    #[test]
    fn outputs_are_read_with_their_sensitivity_in_order() {
        let text = "output \"a\" {\n  value = \"${x}\"\n}\n\noutput \"secret\" {\n  value     = y\n  sensitive = true\n}\n\
                    output \"d\" { value = 1 }\noutput  \"health_check_url\"  {\n  value = \"https://x/\"\n  sensitive = false\n}\n";
        assert_eq!(names(text), pairs(&[("a", false), ("secret", true), ("d", false), ("health_check_url", false)]));
    }

    #[test]
    fn comments_do_not_declare_outputs() {
        let text = "# output \"c\" {\n// output \"d\" {}\n/* output \"e\" {\n} */\noutput \"f\" {\n  value = 1 # }\n  // sensitive = true\n}\n";
        assert_eq!(names(text), pairs(&[("f", false)]));
    }

    #[test]
    fn braces_inside_strings_and_nested_values_do_not_end_a_block() {
        let text = "output \"e\" {\n  value = { k = \"}\", nested = { deeper = [\"{\"] } } # }\n  sensitive = true\n}\noutput \"g\" { value = \"}\" }\n";
        assert_eq!(names(text), pairs(&[("e", true), ("g", false)]));
    }

    #[test]
    fn heredocs_are_text_not_blocks() {
        let text = "output \"h\" {\n  description = <<-EOT\n    Not a block: output \"fake\" {\n    }\n  EOT\n  value = 1\n}\n";
        let outputs = declared(text);
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].name, "h");
        let description = outputs[0].description.as_deref().unwrap_or_default();
        assert!(description.contains("Not a block: output \"fake\" {"), "{description:?}");
        let text = "output \"p\" {\n  description = \"The URL\"\n  value = 1\n}\n";
        assert_eq!(declared(text)[0].description.as_deref(), Some("The URL"));
    }

    #[test]
    fn only_top_level_output_blocks_with_one_label_count() {
        let text = "module \"m\" {\n  source = \"./m\"\n}\noutput \"health_check_url_2\" { value = 1 }\nresource \"x\" \"y\" {\n  output \"n\" {}\n}\n";
        assert_eq!(names(text), pairs(&[("health_check_url_2", false)]));
        assert!(declared("output \"health_check_url\" {").is_empty(), "a file that does not parse declares none");
    }

    #[test]
    fn only_the_modules_top_level_tf_files_count() {
        let file = |rel: &str, text: &str| (PathBuf::from(rel), text.to_owned());
        let files = [
            file("health.tf", "output \"health_check_url\" { value = 1 }\n"),
            file("nested/x.tf", "output \"health_check_status\" {}\n"),
            file("template.tftpl", "output \"t\" {}\n"),
            file("outputs.tf", "output \"z\" {\n  value = 2\n  sensitive = true\n}\n"),
        ];
        let found: Vec<_> = module_outputs(&files).into_iter().map(|o| (o.name, o.sensitive)).collect();
        assert_eq!(found, pairs(&[("health_check_url", false), ("z", true)]));
    }
}
