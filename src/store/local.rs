//! The local store: state, plans and run records under one directory (local mode).
//!
//! Layout under the root (`.infra-manager/` by default):
//! `state/<owner>/<repo>/<env>/terraform.tfstate`, `plans/<owner>/<repo>/<env>/<sha>.tfplan`
//! with `<sha>.json` metadata, `<sha>.reviewable.json` (what apply compares across a
//! merge) and `latest.json`, `records/<owner>/<repo>/<run_id>.json`, and the state's
//! versions under `state-versions/<owner>/<repo>/<env>/` ([`versions`]).
//! Files are written to a temporary name and renamed, so a crash never leaves half a file.
//! `latest.json` only moves forward in time: it is read and replaced under an exclusive
//! `latest.lock` file, and a plan made before the one it names is stored but reported as
//! [`StoreError::Superseded`], like the S3 store does.

mod versions;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Backend, PlanKey, PlanMeta, RunRecord, Store, StoreError};
use crate::identity::{Sha, Target};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Latest {
    sha: String,
    created_at: String,
}

impl LocalStore {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|source| io("create", root, source))?;
        let root = root.canonicalize().map_err(|source| io("resolve", root, source))?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn target_dir(&self, kind: &str, target: &Target) -> PathBuf {
        let (first, second) = target.owner.key_segments();
        self.root.join(kind).join(first).join(second).join(target.env.as_str())
    }

    fn plan_path(&self, target: &Target, sha: &str, ext: &str) -> PathBuf {
        self.target_dir("plans", target).join(format!("{sha}.{ext}"))
    }

    fn state_path(&self, target: &Target) -> PathBuf {
        self.target_dir("state", target).join("terraform.tfstate")
    }

    /// Where Terraform's local backend keeps its lock info while it holds the state's lock
    /// (`.<state file name>.lock.info`, removed when it unlocks).
    fn lock_info_path(&self, target: &Target) -> PathBuf {
        self.target_dir("state", target).join(".terraform.tfstate.lock.info")
    }

    /// Every target directory under `state/` (`state/<owner>/<repo>/<env>/`) that names a
    /// target of ours; anything else there is not ours.
    fn state_dirs(&self) -> Result<Vec<Target>, StoreError> {
        let root = self.root.join("state");
        let mut targets = Vec::new();
        for owner in dir_names(&root)? {
            for repo in dir_names(&root.join(&owner))? {
                for env in dir_names(&root.join(&owner).join(&repo))? {
                    if let (Some(owner), Ok(env)) =
                        (crate::identity::Owner::from_key(&owner, &repo), crate::identity::EnvName::parse(&env))
                    {
                        targets.push(Target { owner, env });
                    }
                }
            }
        }
        Ok(targets)
    }

    fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt { location: path.display().to_string(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io("read", path, source)),
        }
    }
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { action, location: path.display().to_string(), source }
}

/// Writes via a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| io("create", parent, source))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", fastrand::u64(..)));
    std::fs::write(&tmp, bytes).map_err(|source| io("write", &tmp, source))?;
    std::fs::rename(&tmp, path).map_err(|source| io("write", path, source))
}

fn parse_time(value: &str) -> Result<jiff::Timestamp, String> {
    value.parse::<jiff::Timestamp>().map_err(|e| format!("`created_at` `{value}` is not an RFC 3339 timestamp: {e}"))
}

/// An exclusively created lock file, removed on drop. A file older than [`PointerLock::STALE`]
/// was left by a process that died holding it and is taken over.
struct PointerLock(PathBuf);

impl PointerLock {
    const STALE: Duration = Duration::from_secs(30);

    fn acquire(path: PathBuf) -> Result<Self, StoreError> {
        let deadline = Instant::now() + Self::STALE * 2;
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(Self(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|age| age > Self::STALE) {
                        let _ = std::fs::remove_file(&path);
                    } else if Instant::now() > deadline {
                        return Err(io("lock", &path, e));
                    } else {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                Err(source) => return Err(io("create", &path, source)),
            }
        }
    }
}

impl Drop for PointerLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

#[async_trait]
impl Store for LocalStore {
    fn states(&self) -> Option<&dyn super::States> {
        Some(self)
    }

    fn versions(&self) -> Option<&dyn super::StateVersions> {
        Some(self)
    }

    fn backend(&self, target: &Target) -> Backend {
        let path = self.state_path(target);
        let mut settings = Map::new();
        settings.insert("path".into(), Value::String(path.display().to_string()));
        Backend { kind: "local", settings }
    }

    fn plan_key(&self, target: &Target, sha: &Sha) -> PlanKey {
        self.plan_path(target, sha.as_str(), "tfplan").display().to_string()
    }

    async fn put_plan(&self, target: &Target, plan: &[u8], meta: &PlanMeta) -> Result<PlanKey, StoreError> {
        let plan_path = self.plan_path(target, &meta.sha, "tfplan");
        let dir = self.target_dir("plans", target);
        let latest_path = dir.join("latest.json");
        let ours = parse_time(&meta.created_at)
            .map_err(|message| StoreError::Corrupt { location: plan_path.display().to_string(), message })?;
        write_atomic(&plan_path, plan)?;
        write_atomic(&self.plan_path(target, &meta.sha, "json"), &to_json(meta))?;
        let _lock = PointerLock::acquire(dir.join("latest.lock"))?;
        let current: Option<Latest> = Self::read_json(&latest_path).unwrap_or_else(|error| {
            tracing::warn!(%error, "replacing an unreadable latest-plan pointer");
            None
        });
        if let Some(current) = current
            && parse_time(&current.created_at).is_ok_and(|theirs| theirs > ours)
        {
            return Err(StoreError::Superseded {
                target: target.to_string(),
                sha: meta.sha.clone(),
                newer: current.sha,
            });
        }
        let latest = Latest { sha: meta.sha.clone(), created_at: meta.created_at.clone() };
        write_atomic(&latest_path, &to_json(&latest))?;
        Ok(plan_path.display().to_string())
    }

    async fn latest_plan(&self, target: &Target) -> Result<Option<PlanMeta>, StoreError> {
        let latest: Option<Latest> = Self::read_json(&self.target_dir("plans", target).join("latest.json"))?;
        match latest {
            Some(latest) => Self::read_json(&self.plan_path(target, &latest.sha, "json")),
            None => Ok(None),
        }
    }

    async fn list_plans(&self, target: &Target, limit: usize) -> Result<Vec<PlanMeta>, StoreError> {
        let dir = self.target_dir("plans", target);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io("read", &dir, source)),
        };
        // `<sha>.json` only: not `latest.json`, not a temporary file being written.
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .take(super::LIST_PLANS_SCAN)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension().is_some_and(|e| e == "json")
                    && path.file_stem().and_then(|s| s.to_str()).is_some_and(|s| Sha::parse(s).is_ok())
            })
            .map(|path| (std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), path))
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut metas = Vec::new();
        for (_, path) in found.into_iter().take(limit) {
            match Self::read_json::<PlanMeta>(&path) {
                Ok(Some(meta)) => metas.push(meta),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "leaving out unreadable plan metadata"),
            }
        }
        super::newest_first(&mut metas);
        Ok(metas)
    }

    async fn get_plan(&self, target: &Target, sha: &Sha) -> Result<(Vec<u8>, PlanMeta), StoreError> {
        let no_plan = || StoreError::NoPlan { target: format!("{target} at {sha}") };
        let meta: PlanMeta = Self::read_json(&self.plan_path(target, sha.as_str(), "json"))?.ok_or_else(no_plan)?;
        let path = self.plan_path(target, sha.as_str(), "tfplan");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_plan()),
            Err(source) => return Err(io("read", &path, source)),
        };
        Ok((bytes, meta))
    }

    async fn put_reviewable(&self, target: &Target, sha: &Sha, document: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.plan_path(target, sha.as_str(), "reviewable.json"), document)
    }

    async fn get_reviewable(&self, target: &Target, sha: &Sha) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.plan_path(target, sha.as_str(), "reviewable.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io("read", &path, source)),
        }
    }

    async fn put_errored_state(&self, target: &Target, state: &[u8]) -> Result<String, StoreError> {
        let name = format!("{}-{:08x}", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ"), fastrand::u32(..));
        let path = self.target_dir("errored", target).join(format!("{name}.tfstate"));
        write_atomic(&path, state)?;
        Ok(path.display().to_string())
    }

    async fn record_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        let file = record.run_id.replace(['/', '\\', ':'], "_");
        let path = self.root.join("records").join(&record.customer).join(format!("{file}.json"));
        write_atomic(&path, &to_json(record))
    }

    /// The lock info Terraform's local backend keeps beside each state it holds locked. A
    /// process killed while it held the lock leaves the file behind (the lock itself went
    /// with the process): such a lock shows with its age, as an abandoned one does on S3.
    async fn held_locks(&self) -> Result<Vec<super::s3::LockInfo>, super::s3::LockError> {
        let mut locks = Vec::new();
        for target in self.state_dirs()? {
            let path = self.lock_info_path(&target);
            match std::fs::read_to_string(&path) {
                Ok(info) => {
                    let location = path.display().to_string();
                    locks.push(super::s3::LockInfo::from_terraform(&location, target, &info));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io("read", &path, source).into()),
            }
        }
        locks.sort_by(|a, b| a.lock_id.cmp(&b.lock_id));
        Ok(locks)
    }

    async fn records(&self, partition: &str, env: Option<&str>) -> Result<Vec<RunRecord>, StoreError> {
        let dir = self.root.join("records").join(partition);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io("read", &dir, source)),
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            // Only records: another process's half-written temporary file is not one yet.
            if entry.path().extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            if let Some(record) = Self::read_json::<RunRecord>(&entry.path())?
                && env.is_none_or(|e| e == record.environment)
            {
                records.push(record);
            }
        }
        records.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.run_id.cmp(&a.run_id)));
        Ok(records)
    }
}

#[async_trait]
impl super::States for LocalStore {
    async fn state_targets(&self) -> Result<Vec<Target>, StoreError> {
        Ok(self.state_dirs()?.into_iter().filter(|t| self.state_path(t).is_file()).collect())
    }

    async fn state_resources(&self, target: &Target) -> Result<Option<usize>, StoreError> {
        let path = self.state_path(target);
        match std::fs::read(&path) {
            Ok(bytes) => super::count_resources(&bytes)
                .map(Some)
                .map_err(|message| StoreError::Corrupt { location: path.display().to_string(), message }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io("read", &path, source)),
        }
    }
}

/// The names of the directories in `dir` (none when it does not exist).
fn dir_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io("list", dir, source)),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, RepoId};
    use crate::store::{RunKind, RunStatus};

    fn target() -> Target {
        Target {
            owner: crate::identity::Owner::Customer(RepoId::parse("acme/web").expect("id")),
            env: EnvName::parse("staging").expect("env"),
        }
    }

    fn meta(sha: &str, created_at: &str) -> PlanMeta {
        PlanMeta { terraform_version: "1.15.0".into(), ..PlanMeta::example(sha, created_at) }
    }

    #[tokio::test]
    async fn plans_round_trip_and_the_latest_wins() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        assert_eq!(store.latest_plan(&target()).await.expect("read"), None);
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        store.put_plan(&target(), b"plan-a", &meta(&a, "2026-01-01T00:00:00Z")).await.expect("put");
        let key = store.put_plan(&target(), b"plan-b", &meta(&b, "2026-01-01T00:00:01Z")).await.expect("put");
        assert!(key.ends_with(&format!("plans/acme/web/staging/{b}.tfplan")), "{key}");
        assert_eq!(store.latest_plan(&target()).await.expect("read").map(|m| m.sha), Some(b.clone()));
        let (bytes, m) = store.get_plan(&target(), &Sha::parse(&a).expect("sha")).await.expect("get");
        assert_eq!((bytes.as_slice(), m.sha.as_str()), (b"plan-a".as_slice(), a.as_str()));
        let missing = store.get_plan(&target(), &Sha::parse(&"c".repeat(40)).expect("sha")).await.expect_err("none");
        assert!(matches!(missing, StoreError::NoPlan { .. }));
    }

    #[tokio::test]
    async fn an_older_plan_never_moves_the_pointer_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        let (newer, older) = ("b".repeat(40), "a".repeat(40));
        store.put_plan(&target(), b"plan-b", &meta(&newer, "2026-01-01T10:00:00Z")).await.expect("put");
        // Made earlier (an offset, compared as an instant), stored later.
        let error =
            store.put_plan(&target(), b"plan-a", &meta(&older, "2026-01-01T10:30:00+01:00")).await.expect_err("older");
        match &error {
            StoreError::Superseded { sha, newer: n, .. } => assert_eq!((sha, n), (&older, &newer)),
            other => panic!("expected Superseded, got {other}"),
        }
        assert_eq!(store.latest_plan(&target()).await.expect("read").map(|m| m.sha), Some(newer.clone()));
        // The older plan is still stored (apply refuses it as superseded), and no lock file is left.
        store.get_plan(&target(), &Sha::parse(&older).expect("sha")).await.expect("stored");
        assert!(!store.root().join("plans/acme/web/staging/latest.lock").exists());
        // The same instant is not older: the later writer wins.
        let same = "c".repeat(40);
        store.put_plan(&target(), b"plan-c", &meta(&same, "2026-01-01T10:00:00Z")).await.expect("same instant");
        assert_eq!(store.latest_plan(&target()).await.expect("read").map(|m| m.sha), Some(same));
        let bad =
            store.put_plan(&target(), b"plan-d", &meta(&"d".repeat(40), "yesterday")).await.expect_err("bad time");
        assert!(matches!(bad, StoreError::Corrupt { .. }), "{bad}");
    }

    #[tokio::test]
    async fn listing_plans_is_newest_first_bounded_and_skips_the_pointer() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        assert!(store.list_plans(&target(), 10).await.expect("empty").is_empty());
        for (sha, at) in [("a", "2026-01-01T00:00:00Z"), ("b", "2026-01-03T00:00:00Z"), ("c", "2026-01-02T00:00:00Z")] {
            store.put_plan(&target(), b"plan", &meta(&sha.repeat(40), at)).await.ok();
        }
        let shas = |metas: Vec<PlanMeta>| metas.into_iter().map(|m| m.sha[..1].to_owned()).collect::<Vec<_>>();
        assert_eq!(shas(store.list_plans(&target(), 10).await.expect("list")), ["b", "c", "a"]);
        assert_eq!(store.list_plans(&target(), 2).await.expect("list").len(), 2);
        let other = Target { env: EnvName::parse("production").expect("env"), ..target() };
        assert!(store.list_plans(&other, 10).await.expect("other target").is_empty());
    }

    #[tokio::test]
    async fn history_is_newest_first_and_filters_by_environment() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        for (i, env) in ["staging", "production", "staging"].iter().enumerate() {
            let record = RunRecord {
                run_id: format!("2026-01-0{}T00:00:00Z#{i}", i + 1),
                customer: "acme/web".into(),
                environment: (*env).into(),
                sha: "a".repeat(40),
                started_at: format!("2026-01-0{}T00:00:00Z", i + 1),
                ..RunRecord::empty(RunKind::Plan, RunStatus::Succeeded)
            };
            store.record_run(&record).await.expect("record");
        }
        let all = store.records("acme/web", None).await.expect("history");
        assert_eq!(
            all.iter().map(|r| r.started_at.as_str()).collect::<Vec<_>>(),
            ["2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]
        );
        assert_eq!(store.records("acme/web", Some("staging")).await.expect("history").len(), 2);
    }

    /// Terraform's local backend writes this file beside the state while it holds the lock
    /// (recorded from Terraform 1.11.4 during an apply) and removes it when it unlocks.
    const LOCK_INFO: &str = r#"{"ID":"54b6d500-39ab-56b7-108c-85c1aa19b9bc","Operation":"OperationTypeApply","Info":"","Who":"root@vm","Version":"1.11.4","Created":"2026-12-07T18:26:16.122045228Z","Path":"/tmp/st/terraform.tfstate"}"#;

    #[tokio::test]
    async fn the_locks_held_are_the_lock_info_files_terraform_keeps_beside_the_states() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalStore::open(dir.path()).expect("open");
        assert!(store.held_locks().await.expect("none").is_empty());
        let locked = store.lock_info_path(&target());
        std::fs::create_dir_all(locked.parent().expect("dir")).expect("mkdir");
        std::fs::write(&locked, LOCK_INFO).expect("write");
        // A state without a lock, and a directory that names no target of ours.
        let other = Target { env: EnvName::parse("production").expect("env"), ..target() };
        std::fs::create_dir_all(store.target_dir("state", &other)).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("state/stray")).expect("mkdir");
        let locks = store.held_locks().await.expect("read");
        assert_eq!(locks.len(), 1, "{locks:?}");
        let lock = &locks[0];
        assert_eq!((lock.customer.as_ref(), lock.environment.as_ref()), (Some(&target().owner), Some(&target().env)));
        assert_eq!((lock.who.as_str(), lock.operation.as_str()), ("root@vm", "OperationTypeApply"));
        assert_eq!(lock.created.map(|t| t.to_string()), Some("2026-12-07T18:26:16.122045228Z".to_owned()));
        // Terraform removes the file when it unlocks.
        std::fs::remove_file(&locked).expect("unlock");
        assert!(store.held_locks().await.expect("read").is_empty());
    }
}
