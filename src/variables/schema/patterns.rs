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

/// A tag value as written: tag characters (`char::is_alphanumeric` is Unicode `Alphabetic`
/// or a number) and the three placeholders, whose expansions are themselves tag characters.
pub(super) fn tag_value() -> String {
    templated(&format!("[\\p{{Alphabetic}}\\p{{N}}{TAG_PUNCTUATION}]"), &VARIABLES)
}

/// A tag key (never templated).
pub(super) fn tag_key() -> String {
    format!("^[\\p{{Alphabetic}}\\p{{N}}{TAG_PUNCTUATION}]*$")
}

/// A region or instance type written with placeholders. `{{ customer }}` always expands to
/// `owner/repo`, whose `/` no region or instance type holds, so only the other two may appear.
pub(super) fn templated_name(chars: &str) -> String {
    templated(chars, &["environment", "project_name"])
}

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
