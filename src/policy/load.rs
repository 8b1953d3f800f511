//! Reading a target's policy set: `<dir>/*.rego`, then `<dir>/tiers/<tier>/*.rego`, then
//! `<dir>/environments/<env>/*.rego`, each directory's files by name; `*_test.rego` files are
//! the policies' own tests (`policy test`), never evaluated on a plan. Bounded: at most
//! [`MAX_FILES`] files of at most [`MAX_FILE_BYTES`] each.

use std::path::{Path, PathBuf};

use super::{MAX_FILE_BYTES, MAX_FILES, PolicyError};

/// One policy file: its name relative to the policy directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    pub name: String,
    pub text: String,
}

/// Which files of a directory to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The policies (`*.rego` but `*_test.rego`).
    Policies,
    /// The tests (`*_test.rego`).
    Tests,
}

/// The policy set of a target of `tier` in `env`; empty when `dir` does not exist.
pub fn set(dir: &Path, tier: Option<&str>, env: &str) -> Result<Vec<PolicyFile>, PolicyError> {
    let mut subdirs = vec![PathBuf::new()];
    if let Some(tier) = tier {
        subdirs.push(Path::new("tiers").join(tier));
    }
    subdirs.push(Path::new("environments").join(env));
    files(dir, &subdirs, Kind::Policies)
}

/// Every file of `kind` under `dir`, in every subdirectory (for `policy test`).
pub fn all(dir: &Path, kind: Kind) -> Result<Vec<PolicyFile>, PolicyError> {
    let mut subdirs = vec![PathBuf::new()];
    for group in ["tiers", "environments"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(group)) {
            let mut names: Vec<PathBuf> =
                entries.flatten().filter(|e| e.path().is_dir()).map(|e| Path::new(group).join(e.file_name())).collect();
            names.sort();
            subdirs.extend(names);
        }
    }
    files(dir, &subdirs, kind)
}

fn files(dir: &Path, subdirs: &[PathBuf], kind: Kind) -> Result<Vec<PolicyFile>, PolicyError> {
    let mut out = Vec::new();
    for sub in subdirs {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".rego") && (n.ends_with("_test.rego") == (kind == Kind::Tests)))
            .collect();
        names.sort();
        for name in names {
            let rel = sub.join(&name).to_string_lossy().into_owned();
            if out.len() >= MAX_FILES {
                return Err(PolicyError::TooLarge {
                    dir: dir.display().to_string(),
                    detail: format!("more than {MAX_FILES} policy files"),
                });
            }
            let path = dir.join(sub).join(&name);
            let read = |e: std::io::Error| PolicyError::Read { file: rel.clone(), detail: e.to_string() };
            let len = std::fs::metadata(&path).map_err(read)?.len();
            if len > MAX_FILE_BYTES {
                return Err(PolicyError::TooLarge {
                    dir: dir.display().to_string(),
                    detail: format!("`{rel}` has {len} bytes, over {MAX_FILE_BYTES}"),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(read)?;
            out.push(PolicyFile { name: rel, text });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_the_root_then_the_tier_then_the_environment_without_tests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |p: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "package infra_manager\n").expect("write");
        };
        for p in ["b.rego", "a.rego", "a_test.rego", "tiers/gold/t.rego", "environments/production/p.rego", "x.txt"] {
            write(p);
        }
        let names = |v: Vec<PolicyFile>| v.into_iter().map(|f| f.name).collect::<Vec<_>>();
        assert_eq!(
            names(set(dir.path(), Some("gold"), "production").expect("set")),
            ["a.rego", "b.rego", "tiers/gold/t.rego", "environments/production/p.rego"]
        );
        assert_eq!(names(set(dir.path(), Some("standard"), "staging").expect("set")), ["a.rego", "b.rego"]);
        assert_eq!(names(all(dir.path(), Kind::Tests).expect("tests")), ["a_test.rego"]);
        assert!(set(&dir.path().join("none"), None, "staging").expect("empty").is_empty());
    }
}
