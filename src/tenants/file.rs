//! The tenant file a request writes, and what a request may change in one that exists.
//!
//! A request writes one layout: YAML whose values are JSON, keys in a fixed order, a header
//! naming the request. A file that is that layout byte for byte, re-rendered from its own
//! content, was made by requests alone; any other was written or edited by a person (and
//! reviewed). A request only ever puts its own component (named after its type) into the
//! file and keeps everything else; it may be auto-approved only on a tenant it creates or
//! on a file requests alone made, and never when it would change what other components get.
//! Pure: text in, text out.

use serde_json::{Map, Value};

use crate::diagnostic::shown;
use crate::error::CommandError;
use crate::identity::{RequestId, TenantName};

const HEADER: &str = "# Written by `infra-manager tenants request` for request ";

/// What a request puts in its tenant's file.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub id: &'a RequestId,
    pub tenant: &'a TenantName,
    pub type_name: &'a str,
    pub inputs: &'a Map<String, Value>,
    /// The registry's tenant environments: used for a new tenant only (an existing tenant
    /// keeps its own; dropping one would destroy it there).
    pub environments: &'a [String],
    pub expires_at: Option<&'a str>,
}

/// The file after the request, and whether it may skip review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub text: String,
    /// `None`: auto-approval may apply; `Some(why)`: the change needs a review.
    pub review: Option<String>,
}

/// The file `ask` makes from `existing` (the tenant's file at the base, if any).
pub fn write(ask: &Ask<'_>, existing: Option<&str>) -> Result<Written, CommandError> {
    let own = component(ask);
    let Some(text) = existing else {
        let mut spec = Map::new();
        if let Some(at) = ask.expires_at {
            spec.insert("expiresAt".into(), Value::from(at));
        }
        spec.insert("environments".into(), Value::from(ask.environments.to_vec()));
        spec.insert("components".into(), Value::Array(vec![Value::Object(own)]));
        return Ok(Written { text: render(ask.id, &document(ask.tenant, spec)), review: None });
    };
    let file = ask.tenant.file();
    let unreadable = |why: &str| {
        CommandError::usage(
            format!("`{file}` can't be read as a tenant file: {why}"),
            "fix the file by a pull request, then send the request again",
        )
    };
    let mut doc: Map<String, Value> =
        match serde_saphyr::from_str_with_options::<Value>(text, crate::yaml::read_options()) {
            Ok(Value::Object(doc)) => doc,
            Ok(_) => return Err(unreadable("it is not a mapping")),
            Err(e) => return Err(unreadable(&crate::output::neutralise(&e.to_string()))),
        };
    let by_requests =
        header_id(text).and_then(|id| RequestId::parse(id).ok()).is_some_and(|id| render(&id, &doc) == text);
    let Some(Value::Object(spec)) = doc.get_mut("spec") else {
        return Err(unreadable("it has no `spec` mapping"));
    };
    let Some(Value::Array(components)) = spec.get_mut("components") else {
        return Err(unreadable("it has no `spec.components` list"));
    };
    let mut review = (!by_requests).then(|| {
        format!(
            "`{file}` was written or edited by a person, not by requests alone: a request changes it only by review"
        )
    });
    let others = components.iter().filter(|c| c["name"] != ask.type_name).count();
    match components.iter_mut().find(|c| c["name"] == ask.type_name) {
        Some(Value::Object(mine)) if mine.get("type").and_then(Value::as_str) == Some(ask.type_name) => {
            // Its own component: the inputs are the request's, anything a review added stays.
            match own.get("inputs") {
                Some(inputs) => mine.insert("inputs".into(), inputs.clone()),
                None => mine.remove("inputs"),
            };
        }
        Some(other) => {
            let kind = other.get("type").and_then(Value::as_str).unwrap_or("?");
            return Err(CommandError::usage(
                format!(
                    "tenant `{}` already has a component `{}` of type `{}`: a request manages only the component named after its type",
                    ask.tenant,
                    ask.type_name,
                    shown(kind)
                ),
                "change that component by a pull request, or request another tenant",
            ));
        }
        None => components.push(Value::Object(own)),
    }
    if let Some(at) = ask.expires_at
        && spec.get("expiresAt").and_then(Value::as_str) != Some(at)
    {
        if others > 0 {
            review.get_or_insert_with(|| {
                format!("the new expiry `{at}` also ends the tenant's {others} other component(s): that takes a review")
            });
        }
        spec.insert("expiresAt".into(), Value::from(at));
    }
    Ok(Written { text: render(ask.id, &doc), review })
}

/// The request's component: named after its type, the inputs left out when there are none.
fn component(ask: &Ask<'_>) -> Map<String, Value> {
    let mut own = Map::new();
    own.insert("name".into(), Value::from(ask.type_name));
    own.insert("type".into(), Value::from(ask.type_name));
    if !ask.inputs.is_empty() {
        own.insert("inputs".into(), Value::Object(ask.inputs.clone()));
    }
    own
}

fn document(tenant: &TenantName, spec: Map<String, Value>) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::from(tenant.as_str()));
    let mut doc = Map::new();
    doc.insert("apiVersion".into(), Value::from(crate::variables::v2::API_VERSION));
    doc.insert("kind".into(), Value::from(crate::variables::document::TENANT_KIND));
    doc.insert("metadata".into(), Value::Object(metadata));
    doc.insert("spec".into(), Value::Object(spec));
    doc
}

/// The request id in a request-made file's first line.
fn header_id(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix(HEADER)?.strip_suffix('.')
}

/// The layout every request writes. Every key is kept, in a fixed order (the known ones
/// first, then the rest sorted), so re-rendering a file tells whether anyone edited it.
fn render(id: &RequestId, doc: &Map<String, Value>) -> String {
    let mut out = format!("{HEADER}{id}.\n# Change it with a new request (or a reviewed edit).\n");
    for (key, value) in ordered(doc, &["apiVersion", "kind", "metadata", "spec"]) {
        match (key, value) {
            ("metadata", Value::Object(m)) => {
                out.push_str("metadata:\n");
                for (k, v) in ordered(m, &["name"]) {
                    out.push_str(&format!("  {}: {}\n", scalar(k), inline(v)));
                }
            }
            ("spec", Value::Object(spec)) => {
                out.push_str("spec:\n");
                for (k, v) in ordered(spec, &["expiresAt", "environments", "components"]) {
                    match (k, v) {
                        ("environments", Value::Array(envs)) if envs.iter().all(|e| e.as_str().is_some()) => {
                            let names: Vec<String> = envs.iter().map(inline).collect();
                            out.push_str(&format!("  environments: [{}]\n", names.join(", ")));
                        }
                        ("components", Value::Array(list)) if list.iter().all(Value::is_object) => {
                            out.push_str("  components:\n");
                            for c in list.iter().filter_map(Value::as_object) {
                                for (i, (ck, cv)) in ordered(c, &["name", "type"]).into_iter().enumerate() {
                                    let lead = if i == 0 { "    - " } else { "      " };
                                    out.push_str(&format!("{lead}{}: {}\n", scalar(ck), inline(cv)));
                                }
                            }
                        }
                        _ => out.push_str(&format!("  {}: {}\n", scalar(k), inline(v))),
                    }
                }
            }
            _ => out.push_str(&format!("{}: {}\n", scalar(key), inline(value))),
        }
    }
    out
}

/// `first` in that order where present, then the other keys sorted.
fn ordered<'a>(map: &'a Map<String, Value>, first: &[&str]) -> Vec<(&'a str, &'a Value)> {
    let mut out: Vec<(&str, &Value)> =
        first.iter().filter_map(|k| map.get_key_value(*k)).map(|(k, v)| (k.as_str(), v)).collect();
    let mut rest: Vec<(&str, &Value)> =
        map.iter().filter(|(k, _)| !first.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v)).collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    out.extend(rest);
    out
}

/// A value on one line: a plain word where YAML reads it back as the same string, else JSON
/// (which YAML reads as it is: every string quoted and escaped).
fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => scalar(s),
        other => other.to_string(),
    }
}

fn scalar(s: &str) -> String {
    let word = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'))
        && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"].contains(&s.to_ascii_lowercase().as_str());
    match word {
        true => s.to_owned(),
        false => Value::from(s).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask<'a>(
        id: &'a RequestId,
        tenant: &'a TenantName,
        type_name: &'a str,
        inputs: &'a Map<String, Value>,
    ) -> Ask<'a> {
        Ask { id, tenant, type_name, inputs, environments: &[], expires_at: None }
    }

    fn map(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).expect("an object")
    }

    /// A new tenant's file is the layout the requests have always written.
    #[test]
    fn a_new_tenant_gets_one_component_named_after_its_type() {
        let (id, tenant) = (RequestId::parse("r-1").expect("id"), TenantName::parse("alice-xero").expect("name"));
        let inputs = map(r#"{"user_id": "al\"ice\n", "retention_days": 7}"#);
        let envs = ["staging".to_owned(), "production".to_owned()];
        let a = Ask {
            environments: &envs,
            expires_at: Some("2999-01-01T00:00:00Z"),
            ..ask(&id, &tenant, "connector", &inputs)
        };
        let written = write(&a, None).expect("written");
        assert_eq!(written.review, None);
        assert_eq!(
            written.text,
            "# Written by `infra-manager tenants request` for request r-1.\n\
             # Change it with a new request (or a reviewed edit).\n\
             apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: alice-xero\n\
             spec:\n  expiresAt: \"2999-01-01T00:00:00Z\"\n  environments: [staging, production]\n  components:\n\
             \x20   - name: connector\n      type: connector\n      inputs: {\"retention_days\":7,\"user_id\":\"al\\\"ice\\n\"}\n"
        );
    }

    /// Issue 21, item 1: a request keeps every component it did not add; on a file requests
    /// alone made it may change its own, anything else is a review.
    #[test]
    fn a_request_keeps_what_it_did_not_add_and_edited_files_go_to_review() {
        let tenant = TenantName::parse("shop").expect("name");
        let (r1, r2) = (RequestId::parse("r-1").expect("id"), RequestId::parse("r-2").expect("id"));
        let envs = ["staging".to_owned()];
        let first = map(r#"{"fifo": true}"#);
        let made = write(&Ask { environments: &envs, ..ask(&r1, &tenant, "queue", &first) }, None).expect("new").text;

        // Its own component, in a file requests made: no review, the inputs replaced.
        let second = map(r#"{"fifo": false}"#);
        let changed = write(&ask(&r2, &tenant, "queue", &second), Some(&made)).expect("changed");
        assert_eq!(changed.review, None, "{}", changed.text);
        assert!(
            changed.text.contains("inputs: {\"fifo\":false}") && !changed.text.contains("true"),
            "{}",
            changed.text
        );
        // Another type added beside it: nothing taken away, no review.
        let added = write(&ask(&r2, &tenant, "bucket", &Map::new()), Some(&made)).expect("added");
        assert_eq!(added.review, None);
        assert!(added.text.contains("- name: queue") && added.text.contains("- name: bucket"), "{}", added.text);

        // A reviewed file (a comment, a protected removal's first step): kept whole, reviewed.
        let reviewed = "apiVersion: infra-manager/v2\nkind: Tenant\nmetadata:\n  name: shop\nspec:\n  environments: [staging]\n  components:\n    - name: db\n      type: database\n      allow_destroy: true\n    - { name: queue, type: queue, inputs: { fifo: true } }\n";
        let out = write(&ask(&r2, &tenant, "queue", &second), Some(reviewed)).expect("merged");
        assert!(out.review.as_deref().is_some_and(|w| w.contains("edited by a person")), "{out:?}");
        assert!(out.text.contains("- name: db\n      type: database\n      allow_destroy: true\n"), "{}", out.text);
        assert!(out.text.contains("inputs: {\"fifo\":false}"), "{}", out.text);
        // A file with a request's header but edited after it is not the requests' any more.
        let edited = made.replace("components:", "components: # reviewed");
        assert!(write(&ask(&r2, &tenant, "queue", &second), Some(&edited)).expect("merged").review.is_some());

        // A new expiry for a tenant with other components ends those too: a review.
        let two = added.text;
        let a = Ask { expires_at: Some("2999-01-01T00:00:00Z"), ..ask(&r2, &tenant, "queue", &first) };
        assert!(write(&a, Some(&two)).expect("written").review.is_some_and(|w| w.contains("1 other component")));

        // A component of another type under the request's name is never replaced.
        let clash = reviewed.replace("type: queue,", "type: bucket,");
        let error = write(&ask(&r2, &tenant, "queue", &second), Some(&clash)).expect_err("clash").to_string();
        assert!(error.contains("already has a component `queue` of type `bucket`"), "{error}");
    }

    #[test]
    fn words_yaml_would_read_otherwise_are_quoted() {
        for (value, expected) in [
            ("staging", "staging"),
            ("no", "\"no\""),
            ("7", "\"7\""),
            ("a b", "\"a b\""),
            ("True", "\"True\""),
            ("expiresAt", "expiresAt"),
        ] {
            assert_eq!(scalar(value), expected);
        }
    }
}
