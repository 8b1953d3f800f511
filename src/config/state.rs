//! The `state:` section of `infra-manager.yml`: where Terraform state, stored plans and run
//! records live (the local backend, or S3 and DynamoDB).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Key, read_duration, read_path, read_string, unknown_keys};
use crate::store::s3::{LockMode, S3Settings};
use crate::yaml::{self, Checker, Node};

/// Where Terraform state and stored plans live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    S3,
    Local,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    pub backend: BackendKind,
    /// Whether the file names `state.backend`: under GitHub Actions the default (local)
    /// backend is refused, so state is never left on a runner's disk by accident.
    pub backend_set: bool,
    /// The S3 backend's bucket, tables, endpoint, key prefix and lock mode.
    pub s3: S3Settings,
    /// Local backend: state, plans and records under this directory.
    pub local_dir: PathBuf,
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "backend", default: "`local`", meaning: "`local` or `s3`" },
    Key {
        name: "bucket",
        default: "`service-provider-terraform-state`",
        meaning: "S3: the bucket of states and plans",
    },
    Key { name: "region", default: "`us-east-1`", meaning: "S3 and DynamoDB region" },
    Key { name: "endpoint", default: "none", meaning: "an S3-compatible endpoint" },
    Key { name: "force_path_style", default: "`false`", meaning: "path-style S3 addressing" },
    Key { name: "key_prefix", default: "`customers`", meaning: "the first part of every state key" },
    Key { name: "lock", default: "`dynamodb`", meaning: "`dynamodb` or `lockfile`: how a state is locked" },
    Key { name: "lock_table", default: "`terraform-state-locks`", meaning: "DynamoDB table of state locks" },
    Key { name: "records_table", default: "`infra-manager-runs`", meaning: "DynamoDB table of run records" },
    Key { name: "local_dir", default: "`.infra-manager`", meaning: "local backend: state, plans and run records" },
    Key { name: "call_timeout", default: "`30s`", meaning: "per S3/DynamoDB call attempt" },
];

/// The `state` keys that only the S3 backend reads.
const S3_ONLY: [&str; 8] =
    ["bucket", "region", "endpoint", "force_path_style", "key_prefix", "lock", "lock_table", "records_table"];

impl StateConfig {
    pub(super) fn defaults(base: &Path) -> Self {
        Self {
            backend: BackendKind::Local,
            backend_set: false,
            s3: S3Settings::default(),
            local_dir: base.join(".infra-manager"),
        }
    }
}

pub(super) fn read(c: &mut Checker, node: &Node, base: &Path, s: &mut StateConfig) {
    let Some(entries) = c.map("state", node) else { return };
    unknown_keys(c, "state", entries, KEYS, "");
    for (key, value) in entries {
        let path = format!("state.{}", key.name);
        match key.name.as_str() {
            "backend" => match c.str(&path, value) {
                Some("s3") => (s.backend, s.backend_set) = (BackendKind::S3, true),
                Some("local") => (s.backend, s.backend_set) = (BackendKind::Local, true),
                Some(other) => {
                    c.error(value.pos, format!("unknown backend `{other}`"), Some("use `s3` or `local`".into()))
                }
                None => {}
            },
            "lock" => match c.str(&path, value) {
                Some("dynamodb") => s.s3.lock = LockMode::Dynamodb,
                Some("lockfile") => s.s3.lock = LockMode::Lockfile,
                Some(other) => c.error(
                    value.pos,
                    format!("unknown lock mode `{other}`"),
                    Some("use `dynamodb` or `lockfile`".into()),
                ),
                None => {}
            },
            "endpoint" => {
                s.s3.endpoint = match &value.value {
                    yaml::Value::Null => None,
                    _ => c.str(&path, value).map(str::to_owned),
                }
            }
            "force_path_style" => {
                if let Some(b) = c.bool(&path, value) {
                    s.s3.force_path_style = b;
                }
            }
            "key_prefix" => {
                if let Some(p) = c.str(&path, value) {
                    match crate::store::s3::keys::prefix_problem(p) {
                        None => s.s3.key_prefix = p.to_owned(),
                        Some(reason) => c.error(
                            value.pos,
                            format!("`state.key_prefix` `{p}` is not a safe key prefix: {reason}"),
                            Some("use a relative prefix such as `customers`, made of `A-Z a-z 0-9 . _ - /`".into()),
                        ),
                    }
                }
            }
            "bucket" => read_string(c, &path, value, &mut s.s3.bucket),
            "region" => read_string(c, &path, value, &mut s.s3.region),
            "lock_table" => read_string(c, &path, value, &mut s.s3.lock_table),
            "records_table" => read_string(c, &path, value, &mut s.s3.records_table),
            "local_dir" => read_path(c, &path, value, base, &mut s.local_dir),
            "call_timeout" => read_duration(c, &path, value, &mut s.s3.call_timeout),
            _ => {}
        }
    }
    // S3 settings under the local backend are a setup that meant S3 and would silently keep
    // its state on the runner's disk.
    if s.backend == BackendKind::Local
        && let Some((key, _)) = entries.iter().find(|(k, _)| S3_ONLY.contains(&k.name.as_str()))
    {
        c.error(
            key.pos,
            format!("`state.{}` is an S3 setting, but `state.backend` is `local` (the default)", key.name),
            Some("set `state.backend: s3` to keep state in S3, or remove the S3 settings".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("state", super::KEYS);
        assert!(super::S3_ONLY.iter().all(|k| super::KEYS.iter().any(|key| key.name == *k)));
    }
}
