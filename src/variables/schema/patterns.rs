//! The ECMA-262 regular expressions of the schema, built to say exactly what the rules in
//! `rules.rs` and `template.rs` check. They use only what both an editor (a JavaScript
//! `RegExp` with the `u` flag) and the Rust validators understand: character classes,
//! Unicode property escapes, alternation and counted repetition.

use crate::variables::template::VARIABLES;

/// Characters tags may hold besides letters and digits (`rules::TAG_PUNCTUATION`), escaped
/// for a character class.
const TAG_PUNCTUATION: &str = " _.:/=+\\-@";

/// One allowed placeholder, padded by ASCII spaces and tabs only, as `template::check` reads it.
fn placeholder(names: &[&str]) -> String {
    format!("\\{{\\{{[ \\t]*(?:{})[ \\t]*\\}}\\}}", names.join("|"))
}

/// A string made of `chars` (a character class without `{`) and the `names` placeholders:
/// any other `{{ … }}`, `{%` or `{#` — and `${`, `%{` whenever `$`, `%` or `{` are not in
/// `chars` — does not match.
fn templated(chars: &str, names: &[&str]) -> String {
    format!("^(?:{chars}|{})*$", placeholder(names))
}

/// The characters tags may hold: `char::is_alphanumeric` is Unicode `Alphabetic` or a
/// number. Code points unassigned in the regex engine's Unicode tables (`Cn`) are let through:
/// `validate` may know them as letters from a newer Unicode, and the schema must not refuse
/// what `validate` accepts (it still refuses every control, format and separator character).
fn tag_chars() -> String {
    format!("[\\p{{Alphabetic}}\\p{{N}}\\p{{Cn}}{TAG_PUNCTUATION}]")
}

/// A tag value as written: tag characters and the three placeholders, whose expansions are
/// themselves tag characters.
pub(super) fn tag_value() -> String {
    templated(&tag_chars(), &VARIABLES)
}

/// A tag key (never templated).
pub(super) fn tag_key() -> String {
    format!("^{}*$", tag_chars())
}

/// A region or instance type written with placeholders. `{{ customer }}` always expands to
/// `owner/repo`, whose `/` no region or instance type holds, so only the other two may appear.
pub(super) fn templated_name(chars: &str) -> String {
    templated(chars, &["environment", "project_name"])
}

/// A DNS label as `v2::dns_label_problem` and v1's `project_name` check it: 1 to 63
/// lowercase letters, digits and `-`, starting with a letter, not ending with `-`.
pub(super) const DNS_LABEL: &str = "^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$";

/// No control character (`char::is_control`: general category `Cc`), as v2 checks
/// `displayName` and tags.
pub(super) const NO_CONTROL: &str = "^\\P{Cc}*$";

/// The AWS region form the modules check (`rules::region`).
pub(super) const REGION: &str = "^[a-z]{2}(?:-[a-z]+)+-[0-9]$";

/// The EC2 instance type form the modules check (`rules::instance_type`).
pub(super) const INSTANCE_TYPE: &str = "^[a-z][a-z0-9-]*\\.[a-z0-9]+$";

/// Holds a placeholder opening (the value is then checked after expansion).
pub(super) const HAS_TEMPLATE: &str = "\\{\\{";

/// An IPv4 network as `rules::cidr` accepts it: octets 0–255 in plain decimal (no leading
/// zero), prefix /16 to /28, and no host bit set — for each prefix, the octets it leaves to
/// hosts are zero and the one it splits is a multiple of the block size. A placeholder can
/// never expand into a CIDR (every expansion starts with a letter), so none is allowed.
pub(super) fn vpc_cidr() -> String {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let per_prefix: Vec<String> = (16u32..=28)
        .map(|prefix| {
            let (third, fourth) = if prefix <= 24 {
                (multiples(1 << (24 - prefix)), "0".to_owned())
            } else {
                (octet.to_owned(), multiples(1 << (32 - prefix)))
            };
            format!("{octet}\\.{octet}\\.{third}\\.{fourth}/{prefix}")
        })
        .collect();
    format!("^(?:{})$", per_prefix.join("|"))
}

/// The octet values that are multiples of `step`, as an alternation (any octet for step 1).
fn multiples(step: u32) -> String {
    if step == 1 {
        return "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])".to_owned();
    }
    let values: Vec<String> = (0..256).step_by(step as usize).map(|v| v.to_string()).collect();
    format!("(?:{})", values.join("|"))
}

/// A VPC of exactly `/prefix`.
pub(super) fn cidr_with_prefix(prefix: u8) -> String {
    format!("/{prefix}$")
}

#[cfg(test)]
mod tests {
    //! Each pattern against the rule it mirrors, over many values: they must agree on all.

    use serde_json::json;

    use super::*;
    use crate::variables::{rules, template};

    fn matcher(pattern: &str) -> impl Fn(&str) -> bool + use<> {
        let validator = jsonschema::validator_for(&json!({ "type": "string", "pattern": pattern })).expect("compiles");
        move |s| validator.is_valid(&json!(s))
    }

    #[test]
    fn the_cidr_pattern_is_the_cidr_rule() {
        let matches = matcher(&vpc_cidr());
        let mut tried = 0;
        for prefix in ["14", "15", "16", "17", "18", "20", "23", "24", "25", "26", "27", "28", "29", "016", "+16"] {
            for third in (0..=255).chain([256, 300]) {
                for fourth in ["0", "1", "8", "16", "64", "128", "192", "240", "255", "00", "01", "256"] {
                    for first in ["10", "192", "010", "0"] {
                        let cidr = format!("{first}.168.{third}.{fourth}/{prefix}");
                        assert_eq!(matches(&cidr), rules::cidr(&cidr).is_ok(), "{cidr}");
                        tried += 1;
                    }
                }
            }
        }
        for odd in ["10.0.0.0/16 ", " 10.0.0.0/16", "10.0.0.0", "10.0.0.0/16/16", "10.0.0/16", "10.0.0.0.0/16"] {
            assert!(!matches(odd) && rules::cidr(odd).is_err(), "{odd}");
        }
        assert!(tried > 50_000);
    }

    #[test]
    fn the_tag_patterns_are_the_tag_rules_for_every_character() {
        let key = matcher(&tag_key());
        let value = matcher(&tag_value());
        let unassigned = matcher("^\\p{Cn}$");
        // Every scalar value of the planes that assign letters (0 to 3): the patterns never
        // refuse what the rules accept, and agree exactly except on code points the regex
        // tables do not assign (yet: Unicode 17's new letters are known to `char` already).
        for ch in (0..=0x3FFFF).filter_map(char::from_u32) {
            let text = format!("a{ch}b");
            for (pattern, rule, what) in [
                (value(&text), rules::tag_value("k", &text).is_ok(), "value"),
                (key(&text), rules::tag_key(&text).is_ok(), "key"),
            ] {
                if pattern != rule {
                    assert!(pattern && unassigned(&ch.to_string()), "tag {what} with {}", ch.escape_unicode());
                }
            }
        }
    }

    #[test]
    fn the_template_patterns_are_the_template_scanner() {
        let value = matcher(&tag_value());
        for text in [
            "{{ environment }}",
            "{{environment}}-{{\tcustomer\t}}",
            "x {{ project_name }} y",
            "{{ secret }}",
            "{{ environment | upper }}",
            "{{ environment",
            "{{{ environment }}",
            "{{ environment }}}",
            "{{ environment }x}}",
            "{{\u{a0}environment }}",
            "{% include 'x' %}",
            "{# c #}",
            "${var.x}",
            "%{ if x }",
            "a { b",
            "}} a",
            "{{- environment }}",
        ] {
            // What `validate` does with a tag value: scan, expand, check the result.
            let ctx = template::TemplateContext { environment: "staging", customer: "acme/web", project_name: "shop" };
            let validate = template::expand(text, &ctx).is_ok_and(|v| rules::tag_value("k", &v).is_ok());
            assert_eq!(value(text), validate, "{text}");
        }
        let name = matcher(&templated_name("[a-z0-9-]"));
        assert!(name("{{ environment }}-east-1"));
        assert!(!name("{{ customer }}"), "`owner/repo` is never a region");
    }
}
