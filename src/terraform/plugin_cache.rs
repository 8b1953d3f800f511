//! One plugin cache (`TF_PLUGIN_CACHE_DIR`) shared by parallel inits: fill once, then share.
//!
//! Terraform does not lock its plugin cache: two inits that install the same provider into
//! it at once can leave a torn package that later inits link (hashicorp/terraform#31964).
//! An init only *writes* the cache when a provider it selects is not there yet; one that
//! finds every provider cached only reads (links or copies) them. So:
//!
//! - the first init of each distinct provider requirement set runs alone, under the fill
//!   lock, and may download into the cache;
//! - once it has succeeded, later inits of the same set run in parallel: every provider they
//!   need is already cached. The lock file the fill wrote is put in place for a later init
//!   that has none, so it selects exactly the cached versions (without it, a provider
//!   released since the fill would be downloaded — a write, in parallel).
//!
//! The requirement set's key is a digest of everything that decides which providers an
//! init installs: every `*.tf` and `*.tf.json` file (with the backend block of a `.tf.json`
//! root removed: it differs per target and never names a provider) and the lock file the
//! directory already has. When in doubt the key is `None` and the init serialises: a
//! module from anywhere but a local path (it may require providers the key cannot see),
//! or a directory that can't be read.
//!
//! A fill that succeeded is also remembered in the cache itself (`.infra-manager-filled/`,
//! with the lock file it wrote), so a later run sharing the cache (the next fleet run, a
//! shard whose cache was restored) does not serialise its first init again: the cache and
//! what it says of itself are only ever removed together, and Terraform ignores an entry
//! that is not a registry host name. Runs at the same moment are not coordinated with:
//! before one of them has filled a set, each may fill it.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

const LOCK_FILE: &str = ".terraform.lock.hcl";

/// Where a filled set is remembered, inside the cache: `<key>.lock.hcl` (the lock file its
/// fill wrote) or `<key>.none` (it wrote none).
const FILLED_DIR: &str = ".infra-manager-filled";

/// The fill lock and the requirement sets already in the cache.
#[derive(Debug, Default)]
pub(crate) struct PluginCacheGate {
    fill: tokio::sync::Mutex<()>,
    /// Key → the lock file its fill wrote (`None`: it wrote none, no providers).
    filled: std::sync::Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl PluginCacheGate {
    /// Runs `init` for `dir`: alone when it may fill the cache, alongside others when every
    /// provider it needs is already there.
    pub(crate) async fn init<T, E>(
        &self,
        cache: &Path,
        dir: &Path,
        init: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let key = requirements_key(dir);
        if let Some(key) = &key
            && self.share(cache, key, dir)
        {
            return init().await;
        }
        let fill = self.fill.lock().await;
        // Another init may have filled this set while this one waited.
        if let Some(key) = &key
            && self.share(cache, key, dir)
        {
            drop(fill);
            return init().await;
        }
        let result = init().await;
        if result.is_ok()
            && let Some(key) = key
        {
            let written = std::fs::read(dir.join(LOCK_FILE)).ok();
            remember(cache, &key, written.as_deref());
            self.filled.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, written);
        }
        result
    }

    /// Whether `key` is filled (by this process, or by an earlier one as the cache says), so
    /// an init of `dir` only reads the cache; puts the fill's lock file in place when `dir`
    /// has none (and says no if that fails).
    fn share(&self, cache: &Path, key: &str, dir: &Path) -> bool {
        let mut filled = self.filled.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !filled.contains_key(key)
            && let Some(written) = remembered(cache, key)
        {
            filled.insert(key.to_owned(), written);
        }
        match filled.get(key) {
            None => false,
            Some(None) => true,
            Some(Some(lock)) => {
                let path = dir.join(LOCK_FILE);
                path.exists() || std::fs::write(&path, lock).is_ok()
            }
        }
    }
}

/// What an earlier fill of `key` left in `cache`: `Some(lock file)` or `Some(None)` when it
/// was filled, `None` when it never was (or it can't be read: the init then fills).
fn remembered(cache: &Path, key: &str) -> Option<Option<Vec<u8>>> {
    let dir = cache.join(FILLED_DIR);
    match std::fs::read(dir.join(format!("{key}.lock.hcl"))) {
        Ok(lock) => Some(Some(lock)),
        Err(_) => dir.join(format!("{key}.none")).is_file().then_some(None),
    }
}

/// Remembers in `cache` that `key` is filled, with the lock file its fill wrote; best
/// effort (a later run that can't read it fills again), and whole or not at all.
fn remember(cache: &Path, key: &str, lock: Option<&[u8]>) {
    let dir = cache.join(FILLED_DIR);
    let (name, bytes) = match lock {
        Some(lock) => (format!("{key}.lock.hcl"), lock),
        None => (format!("{key}.none"), &[][..]),
    };
    let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&partial, bytes))
        .and_then(|()| std::fs::rename(&partial, dir.join(&name)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        tracing::debug!(error = %e, "the plugin cache's fill could not be remembered");
    }
}

/// The digest of `dir`'s provider requirements, or `None` when it can't be known safely.
pub(crate) fn requirements_key(dir: &Path) -> Option<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files).ok()?;
    files.sort();
    let mut hash = Sha256::new();
    for (relative, bytes) in &files {
        let content = if relative.ends_with(".tf.json") { without_backend(bytes)? } else { hcl(bytes)? };
        for part in [relative.as_bytes(), &content] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
    }
    match std::fs::read(dir.join(LOCK_FILE)) {
        Ok(lock) => hash.update(&lock),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => hash.update(b"no lock file"),
        Err(_) => return None,
    }
    Some(hex::encode(hash.finalize()))
}

/// Every configuration file under `dir`, by path relative to `root` (`.terraform/` and other
/// hidden folders left out: Terraform's own, not configuration).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') {
                collect(root, &path, out)?;
            }
        } else if name.ends_with(".tf") || name.ends_with(".tf.json") {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            out.push((relative, std::fs::read(&path)?));
        }
    }
    Ok(())
}

/// A `.tf.json` file without its `terraform.backend` (per target, never a provider); `None`
/// when it calls a module that is not on a local path.
fn without_backend(bytes: &[u8]) -> Option<Vec<u8>> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(bytes) else {
        // Terraform will reject it; the key only has to be stable.
        return Some(bytes.to_vec());
    };
    let blocks = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    };
    for modules in blocks(&doc["module"]) {
        for call in modules.as_object().into_iter().flat_map(|m| m.values()).flat_map(blocks) {
            if !call["source"].as_str().is_some_and(is_local) {
                return None;
            }
        }
    }
    match &mut doc["terraform"] {
        Value::Object(block) => drop(block.remove("backend")),
        Value::Array(items) => {
            items.iter_mut().filter_map(Value::as_object_mut).for_each(|b| drop(b.remove("backend")))
        }
        _ => {}
    }
    serde_json::to_vec(&doc).ok()
}

/// An HCL file as it is; `None` when it has a `module` block whose `source` is not a local
/// path (read line by line: conservative, any such `source` in the file counts).
fn hcl(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let has_module =
        text.lines().any(|l| l.trim_start().starts_with("module ") || l.trim_start().starts_with("module\""));
    if has_module {
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix("source") else { continue };
            let Some(value) = rest.trim_start().strip_prefix('=') else { continue };
            if !is_local(value.trim().trim_matches('"')) {
                return None;
            }
        }
    }
    Some(bytes.to_vec())
}

fn is_local(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    const MODULE: &str = "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n";

    fn root(key: &str) -> String {
        format!(
            r#"{{"terraform": {{"backend": {{"s3": {{"key": "{key}"}}}}}}, "module": {{"app": {{"source": "./modules/app"}}}}}}"#
        )
    }

    #[test]
    fn targets_of_one_module_share_a_key_whatever_their_backend() {
        let a = dir_with(&[("main.tf.json", &root("acme/staging")), ("modules/app/versions.tf", MODULE)]);
        let b = dir_with(&[("main.tf.json", &root("beta/prod")), ("modules/app/versions.tf", MODULE)]);
        let key = requirements_key(a.path()).expect("a key");
        assert_eq!(requirements_key(b.path()), Some(key.clone()));
        // Terraform's own folder is not configuration.
        std::fs::create_dir_all(b.path().join(".terraform/modules")).expect("mkdir");
        std::fs::write(b.path().join(".terraform/modules/x.tf"), "whatever").expect("write");
        assert_eq!(requirements_key(b.path()), Some(key.clone()));
        // Another requirement, or a lock file, is another set.
        std::fs::write(b.path().join(LOCK_FILE), "provider \"registry.terraform.io/hashicorp/aws\" {}").expect("write");
        assert_ne!(requirements_key(b.path()), Some(key.clone()));
        let c = dir_with(&[("main.tf.json", &root("acme/staging")), ("modules/app/versions.tf", "# other\n")]);
        assert_ne!(requirements_key(c.path()), Some(key));
    }

    #[test]
    fn a_module_from_elsewhere_has_no_key_so_its_init_serialises() {
        let remote_json = r#"{"module": {"app": {"source": "terraform-aws-modules/vpc/aws"}}}"#;
        let remote_hcl = "module \"vpc\" {\n  source = \"git::https://example.com/vpc.git\"\n}\n";
        let local_hcl = "module \"vpc\" {\n  source = \"./vpc\"\n}\n";
        assert_eq!(requirements_key(dir_with(&[("main.tf.json", remote_json)]).path()), None);
        assert_eq!(requirements_key(dir_with(&[("main.tf", remote_hcl)]).path()), None);
        assert!(requirements_key(dir_with(&[("main.tf", local_hcl)]).path()).is_some());
    }

    /// The first init of a set runs alone; once it succeeded, the others run side by side
    /// (all five meet at a barrier, which serialised inits never could) and get its lock file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_first_init_fills_alone_then_the_others_share() {
        const SHARING: usize = 5;
        let gate = Arc::new(PluginCacheGate::default());
        let cache = Arc::new(tempfile::tempdir().expect("cache"));
        let dirs: Vec<_> = (0..=SHARING).map(|i| dir_with(&[("main.tf.json", &root(&format!("t{i}")))])).collect();
        let running = Arc::new(AtomicUsize::new(0));
        let fills = Arc::new(AtomicUsize::new(0));
        let met = Arc::new(tokio::sync::Barrier::new(SHARING));
        let mut tasks = Vec::new();
        for dir in &dirs {
            let (gate, running, fills, met) = (gate.clone(), running.clone(), fills.clone(), met.clone());
            let (path, cache) = (dir.path().to_path_buf(), cache.clone());
            tasks.push(tokio::spawn(async move {
                gate.init(cache.path(), &path, async || {
                    running.fetch_add(1, Ordering::SeqCst);
                    if path.join(LOCK_FILE).exists() {
                        let wait = tokio::time::timeout(std::time::Duration::from_secs(30), met.wait()).await;
                        assert!(wait.is_ok(), "the inits of a filled set run side by side");
                    } else {
                        // A fill: nobody else runs meanwhile; it writes the lock file.
                        fills.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        assert_eq!(running.load(Ordering::SeqCst), 1, "a fill runs alone");
                        std::fs::write(path.join(LOCK_FILE), "locked").expect("write");
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, ()>(())
                })
                .await
            }));
        }
        for task in tasks {
            task.await.expect("task").expect("init");
        }
        assert_eq!(fills.load(Ordering::SeqCst), 1, "one fill");
        for dir in &dirs {
            assert_eq!(std::fs::read_to_string(dir.path().join(LOCK_FILE)).expect("lock"), "locked");
        }
    }

    #[tokio::test]
    async fn a_failed_fill_fills_nothing() {
        let gate = PluginCacheGate::default();
        let cache = tempfile::tempdir().expect("cache");
        let dir = dir_with(&[("main.tf.json", &root("t"))]);
        let failed: Result<(), ()> = gate.init(cache.path(), dir.path(), async || Err(())).await;
        assert!(failed.is_err());
        let key = requirements_key(dir.path()).expect("key");
        assert!(!gate.share(cache.path(), &key, dir.path()));
        assert!(!PluginCacheGate::default().share(cache.path(), &key, dir.path()), "nothing remembered");
    }

    /// A later process sharing the cache (a new gate) knows the set is filled, shares at
    /// once and gets the fill's lock file; one with another cache does not.
    #[tokio::test]
    async fn a_fill_is_remembered_in_the_cache_for_a_later_run() {
        let cache = tempfile::tempdir().expect("cache");
        let first = dir_with(&[("main.tf.json", &root("a"))]);
        let filled: Result<(), ()> = PluginCacheGate::default()
            .init(cache.path(), first.path(), async || {
                std::fs::write(first.path().join(LOCK_FILE), "locked").expect("write");
                Ok(())
            })
            .await;
        assert!(filled.is_ok());
        let later = dir_with(&[("main.tf.json", &root("b"))]);
        let key = requirements_key(later.path()).expect("key");
        assert!(PluginCacheGate::default().share(cache.path(), &key, later.path()), "remembered");
        assert_eq!(std::fs::read_to_string(later.path().join(LOCK_FILE)).expect("lock"), "locked");
        let elsewhere = tempfile::tempdir().expect("another cache");
        let other = dir_with(&[("main.tf.json", &root("c"))]);
        assert!(!PluginCacheGate::default().share(elsewhere.path(), &key, other.path()));
        // A set whose fill wrote no lock file is remembered as such.
        let bare = dir_with(&[("main.tf", "terraform {}\n")]);
        let none: Result<(), ()> = PluginCacheGate::default().init(cache.path(), bare.path(), async || Ok(())).await;
        assert!(none.is_ok());
        let bare_key = requirements_key(bare.path()).expect("key");
        let again = dir_with(&[("main.tf", "terraform {}\n")]);
        assert!(PluginCacheGate::default().share(cache.path(), &bare_key, again.path()));
        assert!(!again.path().join(LOCK_FILE).exists());
    }
}
