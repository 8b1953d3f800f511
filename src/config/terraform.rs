//! The `terraform:` section of `infra-manager.yml`: the Terraform binary, where the modules
//! are, and the bounds on a Terraform run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Key, read_duration, read_path, read_string, unknown_keys};
use crate::yaml::{Checker, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct TerraformConfig {
    /// `terraform`, `tofu` or a path; `INFRA_MANAGER_TERRAFORM` overrides it.
    pub binary: String,
    pub modules_dir: PathBuf,
    pub module: String,
    pub plugin_cache_dir: PathBuf,
    /// How long plan and apply wait for a state lock another run holds.
    pub lock_timeout: Duration,
    /// How long an interrupted Terraform gets to stop cleanly before it is killed.
    pub stop_timeout: Duration,
    /// The most a whole run may take; past it the run is stopped like on SIGTERM.
    pub run_timeout: Duration,
}

/// The section's keys, in the order the "known keys" hint lists them.
pub(super) const KEYS: &[Key] = &[
    Key { name: "binary", default: "`terraform`", meaning: "the Terraform (or OpenTofu) executable" },
    Key { name: "modules_dir", default: "`manager-terraform`", meaning: "where the modules are" },
    Key {
        name: "module",
        default: "`sandbox-app-environment`",
        meaning: "the module a schema v1 file renders, a directory under `modules_dir`",
    },
    Key { name: "plugin_cache_dir", default: "`.terraform-plugin-cache`", meaning: "Terraform's provider cache" },
    Key { name: "lock_timeout", default: "`2m`", meaning: "how long a run waits for a state lock another run holds" },
    Key { name: "stop_timeout", default: "`60s`", meaning: "how long an interrupted Terraform gets to stop" },
    Key { name: "run_timeout", default: "`1h`", meaning: "a Terraform run longer than this is interrupted" },
];

impl TerraformConfig {
    pub(super) fn defaults(base: &Path) -> Self {
        Self {
            binary: "terraform".into(),
            modules_dir: base.join("manager-terraform"),
            module: "sandbox-app-environment".into(),
            plugin_cache_dir: base.join(".terraform-plugin-cache"),
            lock_timeout: Duration::from_secs(120),
            stop_timeout: Duration::from_secs(60),
            run_timeout: Duration::from_secs(3600),
        }
    }
}

pub(super) fn read(c: &mut Checker, node: &Node, base: &Path, t: &mut TerraformConfig) {
    let Some(entries) = c.map("terraform", node) else { return };
    unknown_keys(c, "terraform", entries, KEYS, "");
    for (key, value) in entries {
        match key.name.as_str() {
            "binary" => read_string(c, "terraform.binary", value, &mut t.binary),
            "modules_dir" => read_path(c, "terraform.modules_dir", value, base, &mut t.modules_dir),
            "plugin_cache_dir" => read_path(c, "terraform.plugin_cache_dir", value, base, &mut t.plugin_cache_dir),
            "lock_timeout" => read_duration(c, "terraform.lock_timeout", value, &mut t.lock_timeout),
            "stop_timeout" => read_duration(c, "terraform.stop_timeout", value, &mut t.stop_timeout),
            "run_timeout" => read_duration(c, "terraform.run_timeout", value, &mut t.run_timeout),
            "module" => {
                if let Some(s) = c.str("terraform.module", value) {
                    if is_slug(s) {
                        t.module = s.to_owned();
                    } else {
                        c.error(
                            value.pos,
                            format!("`terraform.module` `{s}` is not a module name"),
                            Some("use a directory name under `modules_dir`, e.g. `aws-app-environment` or `sandbox-app-environment`".into()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_documented() {
        super::super::assert_documented("terraform", super::KEYS);
    }
}
