//! Names a component's resources take from its inputs, so that two tenants asking for the
//! same names are told apart before anything is written. The connector names its jobs,
//! bucket and datasets from its user id, cleaned (`manager-terraform/catalog/connector/names/main.tf`:
//! lowercased, each run of other characters than `a-z0-9` one `-`, `u-` in front unless it
//! starts with a letter, at most 30): `Alice.X` and `alice-x` both become `alice-x`, and
//! their `xero` connectors would share `alice-x-xero-ingestion`. The derivation is not
//! changed (it would rename every deployed connector); a request that would share names
//! with another tenant is refused, naming it.

use serde_json::{Map, Value};

/// The catalog type whose names come from its inputs.
const CONNECTOR: &str = "connector";

/// What a component's resource names are made of: two components with the same key name
/// the same resources. `None` for a type whose names come from its tenant and component.
pub fn key(type_name: &str, inputs: &Map<String, Value>) -> Option<String> {
    if type_name != CONNECTOR {
        return None;
    }
    let user = inputs.get("user_id")?.as_str()?;
    let connector = inputs.get("connector")?.as_str()?;
    Some(format!("{}-{connector}", user_name(user)))
}

/// The connector's user as a name, as `names/main.tf` derives it.
pub fn user_name(user_id: &str) -> String {
    let mut cleaned = String::new();
    for c in user_id.chars().flat_map(char::to_lowercase) {
        match c.is_ascii_lowercase() || c.is_ascii_digit() {
            true => cleaned.push(c),
            false if !cleaned.ends_with('-') => cleaned.push('-'),
            false => {}
        }
    }
    let cleaned = cleaned.trim_matches('-');
    let lettered = match cleaned.starts_with(|c: char| c.is_ascii_lowercase()) {
        true => cleaned.to_owned(),
        false => format!("u-{cleaned}"),
    };
    // Terraform's substr counts characters; every one is ASCII here.
    lettered.chars().take(30).collect::<String>().trim_matches('-').to_owned()
}

/// The keys of every component in a tenant file's text, with the user id each came from
/// (a file that can't be read names nothing: the validator has refused it elsewhere).
pub fn keys_in(text: &str) -> Vec<(String, String)> {
    let Ok(doc) = serde_saphyr::from_str_with_options::<Value>(text, crate::yaml::read_options()) else {
        return Vec::new();
    };
    let components = doc.pointer("/spec/components").and_then(Value::as_array).cloned().unwrap_or_default();
    components
        .iter()
        .filter_map(|c| {
            let inputs = c.get("inputs")?.as_object()?;
            let key = key(c.get("type")?.as_str()?, inputs)?;
            Some((key, inputs.get("user_id")?.as_str()?.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same names as `names/main.tf` gives (tests/it/seed_types.rs applies those).
    #[test]
    fn user_names_are_derived_as_the_connector_module_derives_them() {
        for (id, name) in [
            ("Jane.Doe@Example.COM", "jane-doe-example-com"),
            ("42_Bob+test", "u-42-bob-test"),
            ("A-very-long-user-identifier.from.the.backend-0123456789", "a-very-long-user-identifier-fr"),
            ("Alice.X", "alice-x"),
            ("alice-x", "alice-x"),
            ("a.-.b", "a-b"),
        ] {
            assert_eq!(user_name(id), name, "{id}");
        }
    }

    #[test]
    fn only_the_connector_s_names_come_from_its_inputs() {
        let inputs: Map<String, Value> =
            serde_json::from_str(r#"{"user_id": "Alice.X", "connector": "xero"}"#).expect("object");
        assert_eq!(key("connector", &inputs).as_deref(), Some("alice-x-xero"));
        assert_eq!(key("queue", &inputs), None);
        let file = "spec:\n  components:\n    - { name: connector, type: connector, inputs: { user_id: alice-x, connector: xero } }\n";
        assert_eq!(keys_in(file), [("alice-x-xero".to_owned(), "alice-x".to_owned())]);
    }
}
