//! What drifted, attribute by attribute (issue 23 item 5): from `show -json` of a drift
//! plan, for each resource it lists, the attributes whose value differs between what was
//! applied and what is there now.
//!
//! - A `resource_drift` entry is a change Terraform found outside itself: `before` is what
//!   it recorded (applied), `after` what it read back (found).
//! - A `resource_changes` entry is what the plan would do to undo it: `before` is what is
//!   there (found), `after` what the configuration sets (applied). A value the plan does
//!   not know yet (`after_unknown`, such as an output recomputed on apply) is not compared.
//!
//! Values are customer data: a sensitive one (`before_sensitive`/`after_sensitive`) is
//! compared by its digest and shown as `(sensitive)`, every other one as its JSON, cut to
//! [`VALUE_CHARS`]; renderers escape them for their sink. The document is read one change
//! at a time and only the differences are kept, bounded ([`MAX_RESOURCES`],
//! [`MAX_ATTRIBUTES`]), so a large plan's values are never all held at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reviewable;

/// Resources whose differing attributes are kept (the first in the document).
pub const MAX_RESOURCES: usize = 50;
/// Differing attributes kept per resource; the count is always whole.
pub const MAX_ATTRIBUTES: usize = 5;
/// Characters of a value shown.
pub const VALUE_CHARS: usize = 80;

/// One attribute whose value differs: its path (`input.ingress[0].cidr_ipv4`), what was
/// applied and what was found, each shown as JSON, `(sensitive)` or `(absent)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub path: String,
    pub applied: String,
    pub found: String,
}

/// A resource's differing attributes: the first [`MAX_ATTRIBUTES`], and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub attributes: Vec<Attribute>,
    pub total: u32,
}

/// The differing attributes of the first [`MAX_RESOURCES`] resources that have any, by
/// address: those changed outside Terraform, and those the plan would change back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    pub outside: HashMap<String, Changed>,
    pub planned: HashMap<String, Changed>,
}

/// Reads `show -json` text.
pub fn read(text: &str) -> Result<Differences, serde_json::Error> {
    let doc: Doc = serde_json::from_str(text)?;
    Ok(Differences { outside: doc.resource_drift.0, planned: doc.resource_changes.0 })
}

/// The two lists of a plan document; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    resource_drift: Entries<true>,
    #[serde(default)]
    resource_changes: Entries<false>,
}

/// One list's differences, read one entry at a time. `OUTSIDE`: a `resource_drift` list
/// (`before` applied, `after` found), else a `resource_changes` one (the other way round).
#[derive(Default)]
struct Entries<const OUTSIDE: bool>(HashMap<String, Changed>);

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    address: String,
    #[serde(default)]
    change: Values,
}

#[derive(Default, Deserialize)]
struct Values {
    #[serde(default)]
    before: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    before_sensitive: Value,
    #[serde(default)]
    after_sensitive: Value,
    #[serde(default)]
    after_unknown: Value,
}

impl<'de, const OUTSIDE: bool> Deserialize<'de> for Entries<OUTSIDE> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List<const OUTSIDE: bool>;
        impl<'de, const OUTSIDE: bool> Visitor<'de> for List<OUTSIDE> {
            type Value = Entries<OUTSIDE>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resource changes")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut kept = HashMap::new();
                while let Some(entry) = seq.next_element::<Entry>()? {
                    if kept.len() == MAX_RESOURCES {
                        continue;
                    }
                    let changed = diff_entry(&entry.change, OUTSIDE);
                    if changed.total > 0 {
                        kept.insert(entry.address, changed);
                    }
                }
                Ok(Entries(kept))
            }
        }
        deserializer.deserialize_any(List::<OUTSIDE>)
    }
}

/// The differing attributes of one change. A side that is `null` (created, deleted) has
/// no attributes to compare. Each side is flattened as the reviewed plan flattens `after`
/// ([`reviewable::known_after`]): a value per leaf path, a sensitive one as its digest.
fn diff_entry(values: &Values, outside: bool) -> Changed {
    if values.before.is_null() || values.after.is_null() {
        return Changed::default();
    }
    let before = reviewable::known_after(&values.before, &Value::Null, &values.before_sensitive);
    let after = reviewable::known_after(&values.after, &values.after_unknown, &values.after_sensitive);
    let (applied, found) = if outside { (&before, &after) } else { (&after, &before) };
    diff(applied, found)
}

/// One side's known values by leaf path, and the paths not known yet.
type Side = (BTreeMap<String, Value>, BTreeSet<String>);

/// Compares two sides leaf by leaf, in path order. Skipped: a path not known yet on either
/// side (or below one), and an empty container on one side where the other has values below
/// it (those values say it).
fn diff((applied, applied_unknown): &Side, (found, found_unknown): &Side) -> Changed {
    let mut changed = Changed::default();
    let unknown: Vec<&String> = applied_unknown.iter().chain(found_unknown).collect();
    let mut paths: Vec<&String> = applied.keys().chain(found.keys().filter(|p| !applied.contains_key(*p))).collect();
    paths.sort();
    for path in paths {
        let (a, f) = (applied.get(path), found.get(path));
        if a == f
            || unknown.iter().any(|u| within(path, u))
            || (a.is_none() && holds_below(applied, path))
            || (f.is_none() && holds_below(found, path))
        {
            continue;
        }
        changed.total += 1;
        if changed.attributes.len() < MAX_ATTRIBUTES {
            changed.attributes.push(Attribute { path: path.clone(), applied: shown(a), found: shown(f) });
        }
    }
    changed
}

/// Whether `path` is `container` or below it.
fn within(path: &str, container: &str) -> bool {
    container.is_empty()
        || path.strip_prefix(container).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Whether `side` holds a value below `path` (not at it).
fn holds_below(side: &BTreeMap<String, Value>, path: &str) -> bool {
    side.range::<str, _>((std::ops::Bound::Excluded(path), std::ops::Bound::Unbounded))
        .take_while(|(p, _)| p.starts_with(path))
        .any(|(p, _)| within(p, path))
}

/// A value as shown ([`reviewable::shown_value`]), cut to [`VALUE_CHARS`].
fn shown(value: Option<&Value>) -> String {
    crate::report::truncate_chars(&reviewable::shown_value(value), VALUE_CHARS)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attribute(path: &str, applied: &str, found: &str) -> Attribute {
        Attribute { path: path.into(), applied: applied.into(), found: found.into() }
    }

    #[test]
    fn drift_reads_before_as_applied_and_a_plan_the_other_way_round() {
        let doc = json!({
            "planned_values": {"root_module": {"resources": [{"huge": "skipped"}]}},
            "resource_drift": [
                {"address": "aws_s3_bucket.assets", "change": {"actions": ["update"],
                    "before": {"bucket": "a", "tags": {"env": "prod"}},
                    "after": {"bucket": "a", "tags": {"env": "prod", "owner": "someone-by-hand"}},
                    "before_sensitive": {"tags": {}}, "after_sensitive": {"tags": {}}}},
                {"address": "aws_security_group.gone", "change": {"actions": ["delete"], "before": {"id": "sg-1"}, "after": null}},
            ],
            "resource_changes": [
                {"address": "terraform_data.sg", "change": {"actions": ["update"],
                    "before": {"input": {"cidr": "10.0.0.0/8", "port": 443}, "output": {"cidr": "10.0.0.0/8"}},
                    "after": {"input": {"cidr": "0.0.0.0/0", "port": 443}},
                    "after_unknown": {"output": true}}},
                {"address": "terraform_data.new", "change": {"actions": ["create"], "before": null, "after": {"a": 1}}},
            ],
        });
        let d = read(&doc.to_string()).expect("read");
        assert_eq!(
            d.outside["aws_s3_bucket.assets"],
            Changed { attributes: vec![attribute("tags.owner", "(absent)", "\"someone-by-hand\"")], total: 1 }
        );
        assert!(!d.outside.contains_key("aws_security_group.gone"), "deleted: nothing to compare");
        assert_eq!(
            d.planned["terraform_data.sg"],
            Changed { attributes: vec![attribute("input.cidr", "\"0.0.0.0/0\"", "\"10.0.0.0/8\"")], total: 1 },
            "an output known only after apply is not compared"
        );
        assert!(!d.planned.contains_key("terraform_data.new"));
        assert_eq!(read(r#"{"resource_drift": null}"#).expect("read"), Differences::default());
    }

    #[test]
    fn sensitive_values_are_compared_never_shown_and_long_ones_are_cut() {
        let long = "x".repeat(500);
        let doc = json!({"resource_drift": [{"address": "aws_db_instance.db", "change": {
            "before": {"password": "old-secret", "note": "a", "tags": {"k": "same"}},
            "after": {"password": "new-secret", "note": long},
            "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}}]});
        let d = read(&doc.to_string()).expect("read");
        let changed = &d.outside["aws_db_instance.db"];
        let text = format!("{changed:?}");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(changed.attributes[1], attribute("password", "(sensitive)", "(sensitive)"));
        assert_eq!(changed.attributes[0].found.chars().count(), VALUE_CHARS);
        assert_eq!(changed.attributes[2], attribute("tags.k", "\"same\"", "(absent)"));
        assert_eq!(changed.total, 3);
    }

    #[test]
    fn attributes_and_resources_are_bounded_and_counted_whole() {
        let many: serde_json::Map<String, Value> = (0..20).map(|i| (format!("k{i:02}"), json!(i))).collect();
        let entry = |i: usize| json!({"address": format!("r.x{i}"), "change": {"before": {}, "after": many}});
        let doc = json!({"resource_drift": (0..MAX_RESOURCES + 10).map(entry).collect::<Vec<_>>()});
        let d = read(&doc.to_string()).expect("read");
        assert_eq!(d.outside.len(), MAX_RESOURCES);
        let first = &d.outside["r.x0"];
        assert_eq!((first.attributes.len(), first.total), (MAX_ATTRIBUTES, 20));
        assert_eq!(first.attributes[0], attribute("k00", "(absent)", "0"));
        assert!(!d.outside.contains_key(&format!("r.x{MAX_RESOURCES}")));
    }

    #[test]
    fn an_emptied_container_is_told_by_its_values() {
        let doc = json!({"resource_drift": [{"address": "r.x", "change": {
            "before": {"a": [1], "aB": 1, "tags": {}}, "after": {"a": [], "aB": 1, "tags": {"k": "v"}}}}]});
        let paths: Vec<String> =
            read(&doc.to_string()).expect("read").outside["r.x"].attributes.iter().map(|a| a.path.clone()).collect();
        assert_eq!(paths, ["a[0]", "tags.k"]);
    }
}
