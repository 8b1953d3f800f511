//! The tiny template language allowed in customer strings.
//!
//! Only `{{ environment }}`, `{{ customer }}` and `{{ project_name }}` are allowed. A string is
//! first checked by a strict scanner (anything else inside `{{ }}`, any `{% %}` or `{# #}` is
//! refused at its place); the expansion itself then runs in a minijinja sandbox with strict
//! undefined, a small fuel budget and no loader, so a scanner bug cannot open anything more.

use minijinja::{Environment, UndefinedBehavior};

/// The variables a customer string may use.
pub const VARIABLES: [&str; 3] = ["environment", "customer", "project_name"];

/// Fuel for one expansion: plenty for a few substitutions, far too little for a loop.
const FUEL: u64 = 200;

/// Why a template string was refused. `offset` is the character offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

/// Values for the template variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContext<'a> {
    pub environment: &'a str,
    pub customer: &'a str,
    pub project_name: &'a str,
}

/// Checks that `text` only uses the allowed `{{ variable }}` forms.
pub fn check(text: &str) -> Result<(), TemplateError> {
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = find_open(rest) {
        let opener = &rest[start..start + 2];
        let offset = char_offset(text, base + start);
        if opener != "{{" {
            return Err(TemplateError {
                offset,
                message: format!("template tag `{opener}` is not allowed"),
                hint: allowed_hint(),
            });
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError {
                offset,
                message: "`{{` is not closed by `}}`".to_owned(),
                hint: allowed_hint(),
            });
        };
        // Only ASCII spaces and tabs pad a name, as in minijinja's own syntax: a no-break
        // space or any other character makes the expression unknown here, not at expansion.
        let name = after[..end].trim_matches([' ', '\t']);
        if !VARIABLES.contains(&name) {
            let shown = crate::diagnostic::shown(name);
            let suggestion = crate::suggest::did_you_mean(name.trim(), VARIABLES)
                .map(|s| format!("did you mean `{{{{ {s} }}}}`? "))
                .unwrap_or_default();
            return Err(TemplateError {
                offset,
                message: format!("unknown template expression `{{{{ {shown} }}}}`"),
                hint: format!("{suggestion}{}", allowed_hint()),
            });
        }
        let consumed = start + 2 + end + 2;
        rest = &rest[consumed..];
        base += consumed;
    }
    Ok(())
}

/// Whether `text` (accepted by [`check`]) uses the variable `name`.
pub fn uses(text: &str, name: &str) -> bool {
    text.split("{{")
        .skip(1)
        .any(|rest| rest.split_once("}}").is_some_and(|(inner, _)| inner.trim_matches([' ', '\t']) == name))
}

fn find_open(s: &str) -> Option<usize> {
    ["{{", "{%", "{#"].iter().filter_map(|o| s.find(o)).min()
}

fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

fn allowed_hint() -> String {
    "only `{{ environment }}`, `{{ customer }}` and `{{ project_name }}` may be used".to_owned()
}

/// Expands `text` after [`check`] accepts it.
pub fn expand(text: &str, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
    check(text)?;
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    sandbox_render(text, ctx)
}

/// Renders in the minijinja sandbox. Public within the crate so tests can show the sandbox
/// refuses what the scanner would already have refused.
pub(crate) fn sandbox_render(text: &str, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(4);
    let context = minijinja::context! {
        environment => ctx.environment,
        customer => ctx.customer,
        project_name => ctx.project_name,
    };
    env.render_str(text, context).map_err(|e| {
        let hint = if e.kind() == minijinja::ErrorKind::OutOfFuel {
            "use fewer template expressions in one value".to_owned()
        } else {
            allowed_hint()
        };
        TemplateError { offset: 0, message: format!("template could not be expanded: {}", e.kind()), hint }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: TemplateContext<'static> =
        TemplateContext { environment: "staging", customer: "acme/web", project_name: "shop" };

    #[test]
    fn allowed_variables_expand() {
        assert_eq!(
            expand("{{ project_name }}-{{environment}} of {{ customer }}", &CTX).expect("ok"),
            "shop-staging of acme/web"
        );
        assert_eq!(expand("plain", &CTX).expect("ok"), "plain");
    }

    #[test]
    fn the_scanner_refuses_everything_else_at_its_offset() {
        let cases = [
            ("x {{ secret }}", 2, "unknown template expression"),
            ("{% include 'other' %}", 0, "`{%` is not allowed"),
            ("ab{% for i in range(99999999) %}x{% endfor %}", 2, "`{%` is not allowed"),
            ("{# comment #}", 0, "`{#` is not allowed"),
            ("{{ environment | upper }}", 0, "unknown template expression"),
            ("{{ environment", 0, "not closed"),
            ("é{{ enviroment }}", 1, "unknown template expression"),
            ("{{\u{a0}environment }}", 0, "unknown template expression `{{ \\u{a0}environment }}`"),
            ("{{ environment\u{3000}}}", 0, "unknown template expression"),
            ("{{ environment.__class__ }}", 0, "unknown template expression"),
            ("{{ environment[0] }}", 0, "unknown template expression"),
            ("{{ customer|e }}", 0, "unknown template expression"),
        ];
        for (text, offset, message) in cases {
            let err = check(text).expect_err(text);
            assert_eq!(err.offset, offset, "{text}");
            assert!(err.message.contains(message), "{text}: {}", err.message);
        }
        check("{{environment}}-{{\tcustomer\t}}").expect("ASCII padding is fine");
        assert!(uses("{{environment}}-{{\tcustomer\t}}", "customer"));
        assert!(!uses("customer {{ project_name }}", "customer"));
        let err = check("{{ enviroment }}").expect_err("typo");
        assert!(err.hint.contains("did you mean `{{ environment }}`"), "{}", err.hint);
    }

    #[test]
    fn the_sandbox_itself_refuses_unknown_variables_includes_and_loop_bombs() {
        let unknown = sandbox_render("{{ secret }}", &CTX).expect_err("strict undefined");
        assert!(unknown.message.contains("expanded"), "{}", unknown.message);
        sandbox_render("{% include 'x' %}", &CTX).expect_err("no loader");
        sandbox_render("{% for a in 'abcdefghij' %}{% for b in 'abcdefghij' %}{% for c in 'abcdefghij' %}x{% endfor %}{% endfor %}{% endfor %}", &CTX)
            .expect_err("out of fuel");
        let many = "{{ environment }}".repeat(99);
        let err = expand(&many, &CTX).expect_err("fuel runs out");
        assert!(err.message.contains("could not be expanded"), "{}", err.message);
        assert_eq!(err.hint, "use fewer template expressions in one value");
    }
}
