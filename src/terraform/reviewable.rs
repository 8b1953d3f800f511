//! The reviewable part of a plan, and the difference between two of them (issue 22 item 4).
//!
//! Reviewers read the plan of a pull request's head; after the merge, the plan of the merge
//! commit is applied. Both are kept as a [`Reviewable`] document beside the stored plan, and
//! the apply compares them with [`compare`]. What is compared, and what is not:
//!
//! - every resource instance Terraform will act on (`resource_changes` whose actions are not
//!   `["no-op"]`, or that move): its address, its actions, its previous address;
//! - of each, the **known** `after` values, one per leaf path (`input.tags.Name`,
//!   `ingress[0].port`). A value Terraform does not know yet (`after_unknown`) is not
//!   compared: a path unknown in either plan (or under an unknown container) is skipped,
//!   since whether an id is known depends on what was applied before, not on what the change
//!   does. A sensitive value (`after_sensitive`) is kept as its sha256 only, so a changed
//!   secret is a difference but never shown.
//!
//! Not compared, on purpose: `before` values and resources Terraform leaves alone (`no-op`),
//! which only describe the state each plan was made against (another merge, an apply or a
//! refresh moves them — what made a fingerprint of `resource_changes` differ after every
//! merge); `action_reason`; outputs; the order of `resource_changes`. No rendered value
//! carries the commit SHA (see `render.rs`), so nothing is excluded for that.
//!
//! Pure: a document in, a document out; two documents in, a [`Difference`] out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The format of the stored document; one that says another is not compared.
pub const FORMAT: u32 = 1;

/// The key a sensitive leaf is kept under, with the sha256 of its JSON value.
const SENSITIVE_KEY: &str = "(sensitive sha256)";

/// What of a plan reviewers reviewed: per resource instance address, what Terraform will do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewable {
    pub format: u32,
    /// A destroy plan's (`plan --destroy`, `destroy`, `reap`): never compared with a pull
    /// request's, since nobody reviews a destroy on one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
    pub resources: BTreeMap<String, ResourceReview>,
}

/// One resource instance Terraform acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceReview {
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// Known `after` values by leaf path (sensitive ones as `{"(sensitive sha256)": hex}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub known: BTreeMap<String, Value>,
    /// Paths Terraform does not know yet (a container's path covers what is under it).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unknown: BTreeSet<String>,
}

/// A change's known `after` values, flattened: what [`Reviewable`] keeps of `after`,
/// `after_unknown` and `after_sensitive`. `show_json` calls it while it parses, so the
/// `after` values themselves are never held for the whole plan.
pub fn known_after(after: &Value, unknown: &Value, sensitive: &Value) -> (BTreeMap<String, Value>, BTreeSet<String>) {
    let mut known = BTreeMap::new();
    let mut unknowns = BTreeSet::new();
    walk(String::new(), after, unknown, sensitive, &mut known, &mut unknowns);
    (known, unknowns)
}

fn walk(
    path: String,
    after: &Value,
    unknown: &Value,
    sensitive: &Value,
    known: &mut BTreeMap<String, Value>,
    unknowns: &mut BTreeSet<String>,
) {
    if unknown == &Value::Bool(true) {
        unknowns.insert(path);
        return;
    }
    if sensitive == &Value::Bool(true) {
        let digest = crate::pipeline::sha256_hex(after.to_string().as_bytes());
        known.insert(path, Value::Object(Map::from_iter([(SENSITIVE_KEY.to_owned(), Value::String(digest))])));
        return;
    }
    match after {
        Value::Object(map) if !map.is_empty() || unknown.as_object().is_some_and(|u| !u.is_empty()) => {
            for (key, value) in map {
                walk(join_key(&path, key), value, &unknown[key.as_str()], &sensitive[key.as_str()], known, unknowns);
            }
            // An unknown key with no known value (Terraform leaves it out of `after`).
            if let Value::Object(u) = unknown {
                for (key, flag) in u {
                    if !map.contains_key(key) && flag == &Value::Bool(true) {
                        unknowns.insert(join_key(&path, key));
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, value) in items.iter().enumerate() {
                walk(format!("{path}[{i}]"), value, &unknown[i], &sensitive[i], known, unknowns);
            }
        }
        leaf => {
            known.insert(path, leaf.clone());
        }
    }
}

/// `path.key`, or `path["key"]` for a key that is not a plain name.
fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_owned())),
    }
}

impl Reviewable {
    /// From a `show -json` document, as `show_json::read` trims it (each change's
    /// `known_after`/`unknown_after`) or untrimmed (`after`, `after_unknown`,
    /// `after_sensitive`).
    pub fn from_show_json(doc: &Value) -> Self {
        let mut resources = BTreeMap::new();
        for rc in doc["resource_changes"].as_array().into_iter().flatten() {
            let change = &rc["change"];
            let actions: Vec<String> = change["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            let moved_from = rc["previous_address"].as_str().map(str::to_owned);
            if !acts(&actions) && moved_from.is_none() {
                continue;
            }
            let Some(address) = rc["address"].as_str() else { continue };
            let address = match rc["deposed"].as_str() {
                Some(key) => format!("{address} (deposed {key})"),
                None => address.to_owned(),
            };
            let (known, unknown) = match change.get(KNOWN_AFTER) {
                // A move Terraform does nothing else to: its values are the state's.
                _ if !acts(&actions) => Default::default(),
                Some(trimmed) => (
                    serde_json::from_value(trimmed.clone()).unwrap_or_default(),
                    serde_json::from_value(change[UNKNOWN_AFTER].clone()).unwrap_or_default(),
                ),
                None => known_after(&change["after"], &change["after_unknown"], &change["after_sensitive"]),
            };
            resources.insert(address, ResourceReview { actions, moved_from, known, unknown });
        }
        Self { format: FORMAT, destroy: false, resources }
    }
}

/// Where `show_json::read` keeps a change's flattened known values and unknown paths.
pub const KNOWN_AFTER: &str = "known_after";
pub const UNKNOWN_AFTER: &str = "unknown_after";

/// Whether Terraform acts on a resource with these actions (anything but a lone `no-op`).
pub fn acts(actions: &[String]) -> bool {
    !(actions.is_empty() || actions.iter().all(|a| a == "no-op"))
}

/// One way the applied plan differs from the reviewed one, at one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Only the applied plan acts on it.
    Added { address: String, actions: Vec<String> },
    /// Only the reviewed plan acted on it.
    Removed { address: String, actions: Vec<String> },
    /// Both act on it, differently (or it moves from another address).
    Actions { address: String, reviewed: String, applied: String },
    /// A known value differs (`None`: not there in that plan).
    Value { address: String, path: String, reviewed: Option<Value>, applied: Option<Value> },
}

impl Change {
    pub fn address(&self) -> &str {
        match self {
            Self::Added { address, .. }
            | Self::Removed { address, .. }
            | Self::Actions { address, .. }
            | Self::Value { address, .. } => address,
        }
    }
}

/// Every way the applied plan differs from the reviewed one, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub changes: Vec<Change>,
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many addresses differ.
    pub fn addresses(&self) -> usize {
        self.changes.iter().map(Change::address).collect::<BTreeSet<_>>().len()
    }
}

/// How the applied plan differs from the reviewed one; empty when they do the same.
pub fn compare(reviewed: &Reviewable, applied: &Reviewable) -> Difference {
    let mut changes = Vec::new();
    let addresses: BTreeSet<&String> = reviewed.resources.keys().chain(applied.resources.keys()).collect();
    for address in addresses {
        match (reviewed.resources.get(address), applied.resources.get(address)) {
            (None, Some(a)) => changes.push(Change::Added { address: address.clone(), actions: a.actions.clone() }),
            (Some(r), None) => changes.push(Change::Removed { address: address.clone(), actions: r.actions.clone() }),
            (Some(r), Some(a)) => {
                if r.actions != a.actions || r.moved_from != a.moved_from {
                    changes.push(Change::Actions {
                        address: address.clone(),
                        reviewed: describe(r),
                        applied: describe(a),
                    });
                }
                values(address, r, a, &mut changes);
            }
            (None, None) => {}
        }
    }
    Difference { changes }
}

/// The known values that differ; a path unknown in either plan is not compared.
fn values(address: &str, r: &ResourceReview, a: &ResourceReview, changes: &mut Vec<Change>) {
    let paths: BTreeSet<&String> = r.known.keys().chain(a.known.keys()).collect();
    for path in paths {
        if is_unknown(&r.unknown, path) || is_unknown(&a.unknown, path) {
            continue;
        }
        let (before, after) = (r.known.get(path), a.known.get(path));
        if before != after {
            changes.push(Change::Value {
                address: address.to_owned(),
                path: path.clone(),
                reviewed: before.cloned(),
                applied: after.cloned(),
            });
        }
    }
}

/// Whether `path` is unknown: it, or a container above it, is.
fn is_unknown(unknown: &BTreeSet<String>, path: &str) -> bool {
    unknown.iter().any(|u| {
        u.is_empty()
            || path == u
            || path.strip_prefix(u.as_str()).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// `create`, `delete, create`, `update (moved from x)`.
fn describe(r: &ResourceReview) -> String {
    let actions = r.actions.join(", ");
    match &r.moved_from {
        Some(from) => format!("{actions} (moved from {from})"),
        None => actions,
    }
}

/// A value as people see it: `(sensitive)`, or its JSON, or `(absent)`.
pub fn shown_value(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(Value::Object(map)) if map.len() == 1 && map.contains_key(SENSITIVE_KEY) => "(sensitive)".to_owned(),
        Some(value) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(changes: Value) -> Reviewable {
        Reviewable::from_show_json(&json!({ "resource_changes": changes }))
    }

    fn create(address: &str, after: Value, unknown: Value) -> Value {
        json!({"address": address, "change": {"actions": ["create"], "after": after, "after_unknown": unknown}})
    }

    #[test]
    fn values_are_flattened_by_path_with_unknowns_and_secrets_apart() {
        let (known, unknown) = known_after(
            &json!({"input": {"tags": {"Name": "web", "a.b": 1}, "ports": [80, 443], "empty": {}}, "password": "s3cret"}),
            &json!({"id": true, "input": {"ports": [false, false], "vpc_id": true}}),
            &json!({"password": true}),
        );
        assert_eq!(
            known.keys().map(String::as_str).collect::<Vec<_>>(),
            ["input.empty", "input.ports[0]", "input.ports[1]", "input.tags.Name", "input.tags[\"a.b\"]", "password"]
        );
        assert_eq!(unknown.iter().map(String::as_str).collect::<Vec<_>>(), ["id", "input.vpc_id"]);
        assert_eq!(shown_value(known.get("password")), "(sensitive)");
        assert!(!serde_json::to_string(&known).expect("json").contains("s3cret"), "a secret is never kept");
    }

    #[test]
    fn the_same_changes_in_another_order_with_other_no_ops_are_equal() {
        let reviewed = doc(json!([
            create("a.x", json!({"v": 1}), json!({"id": true})),
            {"address": "a.same", "change": {"actions": ["no-op"], "after": {"id": "old"}}},
            create("a.y", json!({"v": 2}), json!({})),
        ]));
        let applied = doc(json!([
            create("a.y", json!({"v": 2}), json!({})),
            {"address": "a.same", "change": {"actions": ["no-op"], "after": {"id": "refreshed"}}},
            create("a.x", json!({"v": 1, "id": "known-now"}), json!({})),
        ]));
        assert!(compare(&reviewed, &applied).is_empty(), "{:?}", compare(&reviewed, &applied));
        assert!(!reviewed.resources.contains_key("a.same"), "no-ops are not kept");
    }

    /// The table: each case a reviewed and an applied change list, and the difference.
    #[test]
    fn every_kind_of_difference_is_found() {
        let cases: Vec<(&str, Value, Value, Vec<Change>)> = vec![
            (
                "added and removed addresses",
                json!([create("a.x", json!({}), json!({}))]),
                json!([create("a.y", json!({}), json!({}))]),
                vec![
                    Change::Removed { address: "a.x".into(), actions: vec!["create".into()] },
                    Change::Added { address: "a.y".into(), actions: vec!["create".into()] },
                ],
            ),
            (
                "an update became a replacement",
                json!([{"address": "a.x", "change": {"actions": ["update"], "after": {"v": 1}}}]),
                json!([{"address": "a.x", "change": {"actions": ["delete", "create"], "after": {"v": 1}}}]),
                vec![Change::Actions {
                    address: "a.x".into(),
                    reviewed: "update".into(),
                    applied: "delete, create".into(),
                }],
            ),
            (
                "a known value changed, one appeared",
                json!([create("a.x", json!({"tags": {"env": "staging"}}), json!({}))]),
                json!([create("a.x", json!({"tags": {"env": "prod", "new": "x"}}), json!({}))]),
                vec![
                    Change::Value {
                        address: "a.x".into(),
                        path: "tags.env".into(),
                        reviewed: Some(json!("staging")),
                        applied: Some(json!("prod")),
                    },
                    Change::Value {
                        address: "a.x".into(),
                        path: "tags.new".into(),
                        reviewed: None,
                        applied: Some(json!("x")),
                    },
                ],
            ),
            (
                "a value unknown in one plan is not compared, even under a container",
                json!([create("a.x", json!({"net": {"id": "n-1"}}), json!({}))]),
                json!([create("a.x", json!({}), json!({"net": true}))]),
                vec![],
            ),
            (
                "a move is an action difference",
                json!([{"address": "a.x", "change": {"actions": ["no-op"]}, "previous_address": "a.old"}]),
                json!([{"address": "a.x", "change": {"actions": ["no-op"]}}]),
                vec![Change::Removed { address: "a.x".into(), actions: vec!["no-op".into()] }],
            ),
        ];
        for (name, reviewed, applied, expected) in cases {
            assert_eq!(compare(&doc(reviewed), &doc(applied)).changes, expected, "{name}");
        }
    }

    #[test]
    fn a_changed_secret_is_a_difference_that_never_shows_the_secret() {
        let with = |secret: &str| {
            doc(
                json!([{"address": "a.x", "change": {"actions": ["create"], "after": {"pw": secret}, "after_sensitive": {"pw": true}}}]),
            )
        };
        let difference = compare(&with("one"), &with("two"));
        assert_eq!(difference.addresses(), 1);
        let Change::Value { reviewed, applied, .. } = &difference.changes[0] else { panic!("{difference:?}") };
        assert_eq!(
            (shown_value(reviewed.as_ref()), shown_value(applied.as_ref())),
            ("(sensitive)".into(), "(sensitive)".into())
        );
        assert!(compare(&with("one"), &with("one")).is_empty());
    }

    #[test]
    fn the_trimmed_show_json_gives_the_same_document_as_the_full_one() {
        let full = json!({
            "resource_changes": [
                {"address": "a.x", "change": {"actions": ["create"], "before": null,
                  "after": {"v": 1, "pw": "x"}, "after_unknown": {"id": true}, "after_sensitive": {"pw": true}}},
                {"address": "a.n", "change": {"actions": ["no-op"], "after": {"v": 2}}},
            ],
        });
        let trimmed = crate::terraform::show_json::read(&full.to_string()).expect("valid");
        assert_eq!(Reviewable::from_show_json(&trimmed), Reviewable::from_show_json(&full));
        assert_eq!(Reviewable::from_show_json(&full).resources["a.x"].unknown.len(), 1);
    }
}
