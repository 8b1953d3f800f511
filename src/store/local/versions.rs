//! The local store's state versions: a copy of the state each time a run wrote it, under
//! `state-versions/<owner>/<repo>/<env>/<id>.tfstate`, `<id>` = `<UTC time to the
//! microsecond>-<first 16 hex digits of the content's sha256>` (so names sort by time and
//! the same content is not kept twice in a row).
//!
//! The lock is the one Terraform's local backend takes: an `fcntl` write lock on the whole
//! state file, with its holder in `.terraform.tfstate.lock.info` beside it. `fcntl` locks
//! belong to the process and end when any of its descriptors of the file closes, so while
//! the lock is held the state file is read and written through the locked descriptor only.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{LocalStore, io, write_atomic};
use crate::identity::Target;
use crate::store::StoreError;
use crate::store::s3::{LockError, LockInfo};
use crate::store::versions::{HEADER_BYTES, Holder, LockedState, StateVersion, StateVersions, lock_info_json};

const EXT: &str = "tfstate";
/// Terraform's lock info file beside a local state (`.<state file>.lock.info`).
const LOCK_INFO: &str = ".terraform.tfstate.lock.info";

impl LocalStore {
    fn versions_dir(&self, target: &Target) -> PathBuf {
        self.target_dir("state-versions", target)
    }

    /// The ids of `target`'s versions, newest first.
    fn version_ids(&self, target: &Target) -> Result<Vec<String>, StoreError> {
        let dir = self.versions_dir(target);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io("list", &dir, source)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(&format!(".{EXT}")).map(str::to_owned))
            .filter(|id| parse_id(id).is_some())
            .collect();
        ids.sort_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// Keeps `content` as `target`'s newest version, unless the newest already is it.
    fn keep(&self, target: &Target, content: &[u8]) -> Result<StateVersion, StoreError> {
        let digest = &crate::pipeline::sha256_hex(content)[..16];
        if let Some(newest) = self.version_ids(target)?.into_iter().next()
            && parse_id(&newest).is_some_and(|(_, d)| d == digest)
        {
            return Ok(version(newest, content, true));
        }
        let id = format!("{}-{digest}", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.6fZ"));
        write_atomic(&self.versions_dir(target).join(format!("{id}.{EXT}")), content)?;
        Ok(version(id, content, true))
    }
}

/// `<time>-<digest>`: the time as RFC 3339 and the digest, when `id` is one of ours.
fn parse_id(id: &str) -> Option<(String, &str)> {
    let (time, digest) = id.split_once('-')?;
    if digest.len() != 16 || !digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S%.fZ", time).ok()?;
    Some((jiff::tz::TimeZone::UTC.to_timestamp(at).ok()?.to_string(), digest))
}

fn version(id: String, content: &[u8], current: bool) -> StateVersion {
    let written_at = parse_id(&id).map(|(at, _)| at);
    StateVersion::of(id, written_at, content, current)
}

/// The first `HEADER_BYTES` of a file (`None`: no file).
fn head(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io("read", path, source)),
    };
    let mut bytes = Vec::new();
    file.take(HEADER_BYTES as u64).read_to_end(&mut bytes).map_err(|source| io("read", path, source))?;
    Ok(Some(bytes))
}

/// A file's whole content, `None` when there is none (no file, or empty).
fn content(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(None),
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io("read", path, source)),
    }
}

#[async_trait]
impl StateVersions for LocalStore {
    async fn unversioned(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn keep_current(&self, target: &Target) -> Result<Option<StateVersion>, StoreError> {
        match content(&self.state_path(target))? {
            Some(bytes) => self.keep(target, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn version_list(&self, target: &Target, limit: usize) -> Result<Vec<StateVersion>, StoreError> {
        let current = content(&self.state_path(target))?.map(|c| crate::pipeline::sha256_hex(&c)[..16].to_owned());
        let mut seen_current = false;
        let mut versions = Vec::new();
        for id in self.version_ids(target)?.into_iter().take(limit) {
            let is_current = !seen_current && parse_id(&id).map(|(_, d)| d) == current.as_deref();
            seen_current |= is_current;
            versions.push(version(id, b"", is_current));
        }
        Ok(versions)
    }

    async fn read_head(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // Only an id of ours names a file: nothing else reaches a path.
        if parse_id(version_id).is_none() {
            return Ok(None);
        }
        head(&self.versions_dir(target).join(format!("{version_id}.{EXT}")))
    }

    async fn read_version(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // Only an id of ours names a file: nothing else reaches a path.
        if parse_id(version_id).is_none() {
            return Ok(None);
        }
        content(&self.versions_dir(target).join(format!("{version_id}.{EXT}")))
    }

    async fn lock_state<'s>(
        &'s self,
        target: &Target,
        holder: &Holder,
    ) -> Result<Box<dyn LockedState + 's>, LockError> {
        let path = self.state_path(target);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| io("create", &dir, source))?;
        let existed = path.exists();
        // Read and write, created when missing: what Terraform's local backend opens and locks.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| io("open", &path, source))?;
        let info_path = dir.join(LOCK_INFO);
        match rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                let info = std::fs::read_to_string(&info_path).ok();
                let lock = LockInfo::held(&path.display().to_string(), target, info.as_deref());
                return Err(LockError::Held { target: target.to_string(), lock: Box::new(lock) });
            }
            Err(e) => return Err(io("lock", &path, e.into()).into()),
        }
        let info = lock_info_json(holder, &path.display().to_string());
        if let Err(e) = write_atomic(&info_path, info.as_bytes()) {
            drop(file);
            return Err(e.into());
        }
        Ok(Box::new(LocalLocked { store: self, target: target.clone(), path, info_path, file, created: !existed }))
    }
}

/// A target's local state while this run holds its `fcntl` lock.
struct LocalLocked<'s> {
    store: &'s LocalStore,
    target: Target,
    path: PathBuf,
    info_path: PathBuf,
    /// The locked descriptor: every read and write of the state goes through it.
    file: std::fs::File,
    /// The state file did not exist before the lock made it (and is removed again if nothing
    /// is written).
    created: bool,
}

impl LocalLocked<'_> {
    fn read_locked(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(|source| io("read", &self.path, source))?;
        self.file.read_to_end(&mut bytes).map_err(|source| io("read", &self.path, source))?;
        Ok((!bytes.is_empty()).then_some(bytes))
    }
}

#[async_trait]
impl LockedState for LocalLocked<'_> {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_locked()
    }

    async fn write(&mut self, state: &[u8]) -> Result<StateVersion, StoreError> {
        // The state written over is kept first: it may be one no run recorded (a failed apply's).
        if let Some(current) = self.read_locked()? {
            self.store.keep(&self.target, &current)?;
        }
        // In place, as Terraform's local backend writes: a rename would leave the lock on
        // the old file.
        let path = self.path.clone();
        let write = |file: &mut std::fs::File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(state)?;
            file.sync_all()
        };
        write(&mut self.file).map_err(|source| io("write", &path, source))?;
        self.created = false;
        self.store.keep(&self.target, state)
    }

    async fn release(self: Box<Self>) -> Result<(), LockError> {
        let _ = std::fs::remove_file(&self.info_path);
        if self.created && self.file.metadata().is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(&self.path);
        }
        // Closing the descriptor releases the lock.
        drop(self.file);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, Owner, RepoId};

    fn target() -> Target {
        Target {
            owner: Owner::Customer(RepoId::parse("acme/web").expect("id")),
            env: EnvName::parse("staging").expect("env"),
        }
    }

    fn state(serial: u64) -> Vec<u8> {
        format!("{{\"version\": 4, \"serial\": {serial}, \"lineage\": \"l-1\", \"resources\": []}}").into_bytes()
    }

    fn holder() -> Holder {
        Holder { who: "me@here".into(), operation: "rollback".into(), info: String::new() }
    }

    #[tokio::test]
    async fn each_state_a_run_wrote_is_kept_once_newest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        assert_eq!(store.keep_current(&target()).await.expect("none"), None);
        let path = store.state_path(&target());
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        for serial in [1, 2, 2, 3] {
            std::fs::write(&path, state(serial)).expect("write");
            let kept = store.keep_current(&target()).await.expect("kept").expect("a version");
            assert_eq!((kept.serial, kept.current), (Some(serial), true));
        }
        let listed = store.list_versions(&target(), 10).await.expect("list");
        let serials: Vec<_> = listed.iter().map(|v| (v.serial, v.current)).collect();
        assert_eq!(serials, [(Some(3), true), (Some(2), false), (Some(1), false)], "the same state kept once");
        assert!(listed[0].written_at.as_deref().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{listed:?}");
        assert_eq!(store.list_versions(&target(), 2).await.expect("list").len(), 2);
        let oldest = &listed[2].version_id;
        assert_eq!(store.read_version(&target(), oldest).await.expect("read"), Some(state(1)));
        for bad in ["../../state/acme/web/staging/terraform", "x", ""] {
            assert_eq!(store.read_version(&target(), bad).await.expect("refused"), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_write_under_the_lock_keeps_the_state_it_replaces_and_releases_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        let path = store.state_path(&target());
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, state(5)).expect("unrecorded state");
        let mut locked = store.lock_state(&target(), &holder()).await.expect("locked");
        let info = std::fs::read_to_string(path.with_file_name(LOCK_INFO)).expect("lock info beside the state");
        assert!(info.contains("\"Who\":\"me@here\""), "{info}");
        assert_eq!(locked.read().await.expect("read"), Some(state(5)));
        let written = locked.write(&state(6)).await.expect("written");
        assert_eq!((written.serial, written.current), (Some(6), true));
        locked.release().await.expect("released");
        assert!(!path.with_file_name(LOCK_INFO).exists(), "lock info removed");
        assert_eq!(std::fs::read(&path).expect("state"), state(6));
        let serials: Vec<_> =
            store.list_versions(&target(), 10).await.expect("list").iter().map(|v| v.serial).collect();
        assert_eq!(serials, [Some(6), Some(5)], "the replaced state was kept too");
    }

    #[tokio::test]
    async fn a_lock_on_no_state_that_writes_nothing_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        let mut locked = store.lock_state(&target(), &holder()).await.expect("locked");
        assert_eq!(locked.read().await.expect("read"), None);
        locked.release().await.expect("released");
        assert!(!store.state_path(&target()).exists());
    }
}
