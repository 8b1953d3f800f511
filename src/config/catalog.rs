//! The `catalog:` section of `infra-manager.yml`: component type name → module directory,
//! description, `protect_destroy` and per-tier limits on the module's inputs. Without the
//! section the shipped sandbox types apply ([`CatalogConfig::sandbox`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Number;

use super::{Key, Tier, unknown_keys};
use crate::yaml::{self, Checker, Node, Pos};

/// The types the provider offers, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogConfig {
    pub types: Vec<TypeConfig>,
    /// Whether the section was written (`false`: the built-in sandbox catalog).
    pub from_file: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeConfig {
    pub name: String,
    /// A directory under `terraform.modules_dir`.
    pub module: String,
    pub description: String,
    /// Removing a component of this type takes two reviewed changes.
    pub protect_destroy: bool,
    /// In file order.
    pub tiers: Vec<TierLimits>,
    /// What a component of this type costs a month (`price:`; issue 22, [`crate::cost`]).
    pub price: Option<Price>,
    pub pos: Pos,
}

/// `catalog.<type>.price`: a monthly base, plus a price per unit of numeric inputs (per
/// instance, per GB, ...), each a monthly figure in the provider's currency.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Price {
    pub monthly: f64,
    /// Input name → price per unit of its value, in file order.
    pub per: Vec<(String, f64)>,
}

/// One tier's limits on a type's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct TierLimits {
    pub tier: String,
    pub pos: Pos,
    pub inputs: Vec<InputLimit>,
}

/// What a tier allows for one input: it may only narrow what the module allows.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct InputLimit {
    #[serde(skip)]
    pub input: String,
    #[serde(skip)]
    pub pos: Pos,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
}

/// Where the shipped sandbox types live under `modules_dir`.
pub const SANDBOX_DIR: &str = "catalog";
/// The built-in type whose module is the schema v1 sandbox module, for migrated files.
pub const V1_SANDBOX_TYPE: &str = "app-environment-v1";
/// The schema v1 sandbox module, under `modules_dir` (`terraform.module` in local mode).
pub const V1_SANDBOX_MODULE: &str = "sandbox-app-environment";

impl CatalogConfig {
    /// The shipped provider-free types, with limits for the default tier.
    pub fn sandbox(default_tier: &str) -> Self {
        let limit = |input: &str, min: Option<i64>, max: Option<i64>, allowed: &[&str]| InputLimit {
            input: input.to_owned(),
            pos: Pos::default(),
            min: min.map(Number::from),
            max: max.map(Number::from),
            allowed: (!allowed.is_empty()).then(|| allowed.iter().map(|s| serde_json::json!(s)).collect()),
        };
        let ty = |name: &str, description: &str, protect_destroy: bool, inputs: Vec<InputLimit>| TypeConfig {
            name: name.to_owned(),
            module: format!("{SANDBOX_DIR}/{name}"),
            description: description.to_owned(),
            protect_destroy,
            tiers: vec![TierLimits { tier: default_tier.to_owned(), pos: Pos::default(), inputs }],
            price: None,
            pos: Pos::default(),
        };
        Self {
            types: vec![
                ty(
                    "app-environment",
                    "An application environment: network, security group and an autoscaling group of instances.",
                    false,
                    vec![
                        limit("max_instances", None, Some(4), &[]),
                        limit("instance_type", None, None, &["t3.micro", "t3.small"]),
                    ],
                ),
                ty("bucket", "An object storage bucket.", false, vec![limit("retention_days", None, Some(365), &[])]),
                ty(
                    "queue",
                    "A message queue with a dead-letter queue.",
                    false,
                    vec![limit("max_receive_count", None, Some(10), &[])],
                ),
                ty(
                    "database",
                    "A managed relational database.",
                    true,
                    vec![
                        limit("storage_gb", None, Some(100), &[]),
                        limit("instance_class", None, None, &["db.t3.micro", "db.t3.small"]),
                    ],
                ),
                ty(
                    "connector",
                    "A data connector for one user and one source system: a bucket, an ingestion job, a transformation job and a dataset of authorized views, named from the user id.",
                    false,
                    vec![limit("retention_days", None, Some(365), &[])],
                ),
                ty(
                    "poc-environment",
                    "A proof-of-concept environment sized small, medium or large; it ends with its environment's `expires_at`.",
                    false,
                    vec![limit("size", None, None, &["small", "medium"]), limit("seats", None, Some(50), &[])],
                ),
                // Its limits are the tiers' own v1 rules: see `limit_v1_type`.
                TypeConfig {
                    module: V1_SANDBOX_MODULE.to_owned(),
                    tiers: Vec::new(),
                    ..ty(
                        V1_SANDBOX_TYPE,
                        "The schema v1 application environment, for files `infra-manager migrate` wrote: its resources keep their v1 names, so one per file.",
                        false,
                        Vec::new(),
                    )
                },
            ],
            from_file: false,
        }
    }

    pub fn get(&self, name: &str) -> Option<&TypeConfig> {
        self.types.iter().find(|t| t.name == name)
    }

    /// Gives the built-in v1 type each tier's v1 rules (instance types, regions, most
    /// instances) as its limits, so a migrated file is held to exactly what held it in v1.
    pub fn limit_v1_type(&mut self, tiers: &BTreeMap<String, Tier>) {
        let Some(ty) = self.types.iter_mut().find(|t| t.name == V1_SANDBOX_TYPE) else { return };
        let allowed = |values: &[String]| Some(values.iter().map(|v| serde_json::json!(v)).collect());
        ty.tiers = tiers
            .iter()
            .map(|(name, tier)| TierLimits {
                tier: name.clone(),
                pos: Pos::default(),
                inputs: vec![
                    InputLimit { input: "region".into(), allowed: allowed(&tier.regions), ..InputLimit::default() },
                    InputLimit {
                        input: "instance_type".into(),
                        allowed: allowed(&tier.instance_types),
                        ..InputLimit::default()
                    },
                    InputLimit {
                        input: "max_instances".into(),
                        max: Some(Number::from(tier.max_instances)),
                        ..InputLimit::default()
                    },
                ],
            })
            .collect();
    }
}

/// The keys of one type, in the order the "known keys" hint lists them; a tier's limits on
/// one input are the keys below `tiers.<tier>.<input>`.
pub(super) const KEYS: &[Key] = &[
    Key { name: "module", default: "required", meaning: "the module directory, relative to `terraform.modules_dir`" },
    Key { name: "description", default: "empty", meaning: "one line for people" },
    Key { name: "protect_destroy", default: "`false`", meaning: "removing a component takes two reviewed changes" },
    Key { name: "tiers", default: "none", meaning: "tier → input → that tier's limits on the input" },
    Key { name: "price", default: "none", meaning: "what a component of this type costs a month" },
    Key { name: "price.monthly", default: "`0`", meaning: "the monthly base price of one component" },
    Key { name: "price.per.<input>", default: "none", meaning: "the monthly price per unit of a numeric input" },
    Key { name: "tiers.<tier>.<input>.min", default: "none", meaning: "the smallest number allowed" },
    Key { name: "tiers.<tier>.<input>.max", default: "none", meaning: "the largest number allowed" },
    Key { name: "tiers.<tier>.<input>.allowed", default: "none", meaning: "the values allowed" },
];

/// Where a tier's limits on one input sit among [`KEYS`].
const LIMIT: &str = "tiers.<tier>.<input>";

/// Reads the `catalog:` section; every problem goes to `c` at its place.
pub fn read(c: &mut Checker, node: &Node) -> CatalogConfig {
    let mut out = CatalogConfig { types: Vec::new(), from_file: true };
    let Some(entries) = c.map("catalog", node) else { return out };
    for (key, value) in entries {
        let path = format!("catalog.{}", key.name);
        if !is_type_name(&key.name) {
            c.error(
                key.pos,
                format!("`{path}` is not a component type name"),
                Some("use lowercase letters, digits and `-`, starting with a letter, e.g. `bucket`".into()),
            );
            continue;
        }
        let Some(fields) = c.map(&path, value) else { continue };
        unknown_keys(c, &path, fields, KEYS, "");
        let module = match yaml::get(fields, "module") {
            Some(n) => c.str(&format!("{path}.module"), n).and_then(|s| {
                if is_module_path(s) {
                    Some(s.to_owned())
                } else {
                    c.error(
                        n.pos,
                        format!("`{path}.module` `{s}` is not a directory under `modules_dir`"),
                        Some("write a relative path of lowercase names such as `catalog/bucket`, without `..`".into()),
                    );
                    None
                }
            }),
            None => {
                c.error(
                    value.pos,
                    format!("`{path}` has no `module`"),
                    Some("add `module: <directory under modules_dir>`".into()),
                );
                None
            }
        };
        let description = yaml::get(fields, "description")
            .and_then(|n| c.str(&format!("{path}.description"), n).map(str::to_owned))
            .unwrap_or_default();
        let protect_destroy = yaml::get(fields, "protect_destroy")
            .and_then(|n| c.bool(&format!("{path}.protect_destroy"), n))
            .unwrap_or(false);
        let tiers = yaml::get(fields, "tiers").map(|n| read_tiers(c, &format!("{path}.tiers"), n)).unwrap_or_default();
        let price = yaml::get(fields, "price").and_then(|n| read_price(c, &format!("{path}.price"), n));
        if let Some(module) = module {
            out.types.push(TypeConfig {
                name: key.name.clone(),
                module,
                description,
                protect_destroy,
                tiers,
                price,
                pos: key.pos,
            });
        }
    }
    out
}

/// Cross-check: every tier a type limits exists in `tiers:`.
pub fn check_tiers<'a>(c: &mut Checker, catalog: &CatalogConfig, known: impl Iterator<Item = &'a str> + Clone) {
    for ty in &catalog.types {
        for limits in &ty.tiers {
            if !known.clone().any(|k| k == limits.tier) {
                let names: Vec<&str> = known.clone().collect();
                let hint = crate::suggest::did_you_mean(&limits.tier, names.iter().copied())
                    .map_or_else(|| format!("known tiers: {}", names.join(", ")), |s| format!("did you mean `{s}`?"));
                c.error(
                    limits.pos,
                    format!("`catalog.{}` sets limits for unknown tier `{}`", ty.name, limits.tier),
                    Some(hint),
                );
            }
        }
    }
}

fn read_tiers(c: &mut Checker, path: &str, node: &Node) -> Vec<TierLimits> {
    let mut out = Vec::new();
    let Some(entries) = c.map(path, node) else { return out };
    for (tier, inputs) in entries {
        let tier_path = format!("{path}.{}", tier.name);
        let Some(inputs) = c.map(&tier_path, inputs) else { continue };
        let mut limits = Vec::new();
        for (input, limit) in inputs {
            let input_path = format!("{tier_path}.{}", input.name);
            let Some(fields) = c.map(&input_path, limit) else { continue };
            unknown_keys(c, &input_path, fields, KEYS, LIMIT);
            let mut l = InputLimit { input: input.name.clone(), pos: input.pos, ..InputLimit::default() };
            l.min = yaml::get(fields, "min").and_then(|n| number(c, &format!("{input_path}.min"), n));
            l.max = yaml::get(fields, "max").and_then(|n| number(c, &format!("{input_path}.max"), n));
            if let (Some(min), Some(max)) = (&l.min, &l.max)
                && min.as_f64() > max.as_f64()
            {
                c.error(input.pos, format!("`{input_path}`: `min` {min} is larger than `max` {max}"), None);
            }
            if let Some(n) = yaml::get(fields, "allowed") {
                l.allowed = allowed(c, &format!("{input_path}.allowed"), n);
            }
            limits.push(l);
        }
        out.push(TierLimits { tier: tier.name.clone(), pos: tier.pos, inputs: limits });
    }
    out
}

/// `price: { monthly: N, per: { <input>: N } }`; every figure a finite number, at least 0.
fn read_price(c: &mut Checker, path: &str, node: &Node) -> Option<Price> {
    let fields = c.map(path, node)?;
    c.unknown_keys(path, fields, &["monthly", "per"]);
    let mut price = Price::default();
    let figure = |c: &mut Checker, path: &str, node: &Node| {
        let value = number(c, path, node).and_then(|n| n.as_f64())?;
        if value < 0.0 {
            c.error(node.pos, format!("`{path}` is {value}, a price can't be negative"), None);
            return None;
        }
        Some(value)
    };
    if let Some(n) = yaml::get(fields, "monthly") {
        price.monthly = figure(c, &format!("{path}.monthly"), n).unwrap_or_default();
    }
    if let Some(per) = yaml::get(fields, "per").and_then(|n| c.map(&format!("{path}.per"), n)) {
        for (input, n) in per {
            if let Some(v) = figure(c, &format!("{path}.per.{}", input.name), n) {
                price.per.push((input.name.clone(), v));
            }
        }
    }
    Some(price)
}

fn number(c: &mut Checker, path: &str, node: &Node) -> Option<Number> {
    match node.value {
        yaml::Value::Int(i) => Some(Number::from(i)),
        yaml::Value::Float(f) => Number::from_f64(f).or_else(|| {
            c.error(node.pos, format!("`{path}` must be a finite number"), None);
            None
        }),
        ref other => {
            c.error(node.pos, format!("`{path}` must be a number, found {}", other.type_name()), None);
            None
        }
    }
}

/// A non-empty list of strings, numbers or booleans.
fn allowed(c: &mut Checker, path: &str, node: &Node) -> Option<Vec<serde_json::Value>> {
    let yaml::Value::Seq(items) = &node.value else {
        c.error(
            node.pos,
            format!("`{path}` must be a list, found {}", node.value.type_name()),
            Some("write e.g. `[small, medium]`".into()),
        );
        return None;
    };
    if items.is_empty() {
        c.error(
            node.pos,
            format!("`{path}` is empty: no value would be allowed"),
            Some("list at least one value, or leave `allowed` out".into()),
        );
        return None;
    }
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            yaml::Value::Str(s) => out.push(serde_json::json!(s)),
            yaml::Value::Bool(b) => out.push(serde_json::json!(b)),
            yaml::Value::Int(i) => out.push(serde_json::json!(i)),
            yaml::Value::Float(f) => out.push(serde_json::json!(f)),
            other => {
                c.error(
                    item.pos,
                    format!("`{path}` may only list strings, numbers or booleans, found {}", other.type_name()),
                    None,
                );
                return None;
            }
        }
    }
    Some(out)
}

fn is_type_name(s: &str) -> bool {
    s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A relative path of slug segments: no `..`, no absolute path, nothing outside `modules_dir`.
fn is_module_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.')
        })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn errors(text: &str) -> Vec<String> {
        Config::parse("infra-manager.yml", text, Path::new("."))
            .expect_err("invalid")
            .0
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}{}",
                    d.line,
                    d.column,
                    d.message,
                    d.hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("catalog", super::KEYS);
    }

    #[test]
    fn the_section_is_read_in_file_order_with_its_limits() {
        let text = "catalog:\n  queue:\n    module: catalog/queue\n    description: A queue.\n    tiers:\n      standard:\n        max_receive_count: { min: 1, max: 5 }\n  database:\n    module: catalog/database\n    protect_destroy: true\n    tiers:\n      standard:\n        instance_class: { allowed: [db.t3.micro] }\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        let catalog = &config.catalog;
        assert!(catalog.from_file);
        let names: Vec<&str> = catalog.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["queue", "database"]);
        let queue = &catalog.types[0];
        assert_eq!(
            (queue.module.as_str(), queue.description.as_str(), queue.protect_destroy),
            ("catalog/queue", "A queue.", false)
        );
        let limit = &queue.tiers[0].inputs[0];
        assert_eq!((limit.input.as_str(), limit.pos.line, limit.pos.column), ("max_receive_count", 7, 9));
        assert_eq!((limit.min.clone(), limit.max.clone()), (Some(1.into()), Some(5.into())));
        assert!(catalog.types[1].protect_destroy);
        assert_eq!(catalog.types[1].tiers[0].inputs[0].allowed, Some(vec![serde_json::json!("db.t3.micro")]));
    }

    #[test]
    fn without_the_section_the_sandbox_types_apply() {
        let config = Config::parse("infra-manager.yml", "", Path::new(".")).expect("valid");
        let names: Vec<&str> = config.catalog.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["app-environment", "bucket", "queue", "database", "connector", "poc-environment", "app-environment-v1"]
        );
        assert!(!config.catalog.from_file);
        assert!(config.catalog.get("database").is_some_and(|t| t.protect_destroy));
        assert_eq!(config.catalog.get("bucket").map(|t| t.module.as_str()), Some("catalog/bucket"));
        assert_eq!(
            config.catalog.get("app-environment-v1").map(|t| t.module.as_str()),
            Some("sandbox-app-environment"),
            "the v1 module itself, so migrated files keep their resources"
        );
    }

    #[test]
    fn every_problem_is_reported_at_its_line_and_column() {
        let text = "\
catalog:
  Bucket:
    module: catalog/bucket
  queue:
    modul: catalog/queue
  db:
    module: catalog/db
    protect_destroy: maybe
    tiers:
      gold:
        size: { max: 1 }
      standard:
        size: { min: 10, max: 1, allowd: [1] }
        engine: { allowed: [] }
  up:
    module: ../outside
";
        assert_eq!(
            errors(text),
            [
                "2:3 `catalog.Bucket` is not a component type name (use lowercase letters, digits and `-`, starting with a letter, e.g. `bucket`)",
                "5:5 unknown key `modul` in `catalog.queue` (did you mean `module`?)",
                "5:5 `catalog.queue` has no `module` (add `module: <directory under modules_dir>`)",
                "8:22 `catalog.db.protect_destroy` must be `true` or `false`, found a string (write `catalog.db.protect_destroy` as `true` or `false`)",
                "13:34 unknown key `allowd` in `catalog.db.tiers.standard.size` (did you mean `allowed`?)",
                "13:9 `catalog.db.tiers.standard.size`: `min` 10 is larger than `max` 1",
                "14:28 `catalog.db.tiers.standard.engine.allowed` is empty: no value would be allowed (list at least one value, or leave `allowed` out)",
                "16:13 `catalog.up.module` `../outside` is not a directory under `modules_dir` (write a relative path of lowercase names such as `catalog/bucket`, without `..`)",
                "10:7 `catalog.db` sets limits for unknown tier `gold` (known tiers: standard)",
            ]
        );
    }
}
