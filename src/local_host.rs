//! The local [`Files`]: a directory stands in for the customer repository (its results go
//! to the log, [`crate::codehost::LogReporter`]).
//!
//! A directory has one version of its files, but the flows also read the configuration as
//! it was at an earlier "commit" (the last applied one: protected components, drift,
//! destroy). The stand-in commit of a checkout is the digest of its `variables.yml`, so with
//! a history directory ([`LocalHost::with_history`]) every version the host hands out is
//! kept there under its digest and read back by it: content-addressed, so a kept file is
//! checked against its name before use.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::codehost::{CodeHostError, Files, repository};
use crate::identity::{Owner, RepoId, Sha};
use crate::source_file;
use crate::yaml::MAX_FILE_BYTES;

#[derive(Debug, Clone)]
pub struct LocalHost {
    root: PathBuf,
    /// Whether `root` holds one checkout per customer, at `<owner>/<repo>/`.
    per_customer: bool,
    /// Where the versions of `variables.yml` handed out are kept, at
    /// `<owner>/<repo>/<sha>.yml`.
    history: Option<PathBuf>,
}

impl LocalHost {
    /// One customer repository checkout at `root`.
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf(), per_customer: false, history: None }
    }

    /// Many customers: `root/<owner>/<repo>/` is each one's checkout (fleet runs in local
    /// mode). Customer names are validated identities, so the joined path stays below `root`.
    pub fn per_customer(root: &Path) -> Self {
        Self { root: root.to_path_buf(), per_customer: true, history: None }
    }

    /// Keeps each version of `variables.yml` this host hands out (when a flow reads it, so a
    /// refusal before that writes nothing) under `dir`, so that a later run can read the
    /// configuration of an earlier stand-in commit.
    pub fn with_history(mut self, dir: &Path) -> Self {
        self.history = Some(dir.to_path_buf());
        self
    }

    /// The stand-in commit of `repo`'s checkout: the digest of its `variables.yml` (of an
    /// empty file when there is none; fetch then refuses the missing file).
    pub fn head(&self, repo: &RepoId) -> Result<Sha, CodeHostError> {
        Ok(content_sha(&self.read(repo, crate::variables::PATH)?.unwrap_or_default()))
    }

    /// Where the version `sha` of `repo`'s `variables.yml` is kept. Customer names are
    /// validated identities and a SHA is hex, so the path stays below the history directory.
    fn kept(&self, repo: &RepoId, sha: &Sha) -> Option<PathBuf> {
        let dir = self.history.as_ref()?;
        Some(dir.join(repo.owner()).join(repo.repo()).join(format!("{sha}.yml")))
    }

    /// The kept version `sha` of `repo`'s `variables.yml`, if it is kept and intact.
    fn read_kept(&self, repo: &RepoId, sha: &Sha) -> Option<String> {
        let path = self.kept(repo, sha)?;
        let text = source_file::read(&path, MAX_FILE_BYTES).ok()?;
        (content_sha(&text) == *sha).then_some(text)
    }

    fn checkout(&self, repo: &RepoId) -> PathBuf {
        if self.per_customer { self.root.join(repo.owner()).join(repo.repo()) } else { self.root.clone() }
    }

    /// Reads a file of the source directory through [`source_file::read_in`]: bounded, no
    /// FIFO or device, no link out of the directory, UTF-8 only.
    fn read(&self, repo: &RepoId, path: &str) -> Result<Option<String>, CodeHostError> {
        source_file::read_in(&self.checkout(repo), path, MAX_FILE_BYTES).map_err(|e| match e.problem() {
            Some(problem) => CodeHostError::Unusable {
                repo: repo.to_string(),
                path: path.to_owned(),
                reference: WORKING_TREE.into(),
                problem,
            },
            None => CodeHostError::Read {
                repo: repo.to_string(),
                path: path.to_owned(),
                reference: WORKING_TREE.into(),
                message: e.kind.to_string(),
            },
        })
    }
}

/// Writes `text` at `path` unless it is there: through a temporary file and a rename, so a
/// reader never sees half a file.
fn keep(path: &Path, text: &str) -> std::io::Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path)
}

/// The "reference" a local read names in its errors.
const WORKING_TREE: &str = "working tree";

#[async_trait]
impl Files for LocalHost {
    /// A checkout's stand-in commit is its file's digest (the current file's, or a kept
    /// version's); a SHA given with `--sha` names a commit.
    fn revision(&self, owner: &Owner, sha: &Sha) -> crate::store::Revision {
        let Ok(repo) = repository(owner, "a local checkout") else { return crate::store::Revision::Commit };
        let current = self.head(repo).is_ok_and(|head| head == *sha);
        if current || self.read_kept(repo, sha).is_some() {
            crate::store::Revision::FileDigest
        } else {
            crate::store::Revision::Commit
        }
    }

    /// `variables.yml` at the directory's own stand-in commit is read (and kept in the
    /// history); at an earlier one it comes from the history. Anything else, and a version
    /// never kept, comes from the directory.
    async fn read_file(&self, owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        let repo = repository(owner, "a local checkout")?;
        let current = self.read(repo, path)?;
        if path != crate::variables::PATH {
            return Ok(current);
        }
        match &current {
            Some(text) if content_sha(text) == *sha => {
                if let Some(kept) = self.kept(repo, sha) {
                    keep(&kept, text).map_err(|e| CodeHostError::Read {
                        repo: repo.to_string(),
                        path: kept.display().to_string(),
                        reference: WORKING_TREE.into(),
                        message: format!("can't keep this version of the file: {e}"),
                    })?;
                }
                Ok(current)
            }
            _ => Ok(self.read_kept(repo, sha).or(current)),
        }
    }
}

/// The stand-in SHA of a local source: the first 40 hex characters of the file's sha256, so a
/// changed file is a new "commit" and an older plan is recognisably superseded.
pub fn content_sha(text: &str) -> Sha {
    let digest = crate::pipeline::sha256_hex(text.as_bytes());
    Sha::parse(&digest[..40]).unwrap_or_else(|_| unreachable!("hex digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> RepoId {
        RepoId::parse("local/shop").expect("valid")
    }

    fn sha() -> Sha {
        Sha::parse(&"a".repeat(40)).expect("valid")
    }

    /// Issue 9, item 9: the local code host reads through the bounded reader.
    #[tokio::test]
    async fn reads_are_bounded_never_block_and_stay_in_the_source_directory() {
        let root = tempfile::tempdir().expect("tmp");
        let infra = root.path().join("infra");
        std::fs::create_dir(&infra).expect("mkdir");
        let host = LocalHost::new(root.path());
        let read = |path: &'static str| {
            let host = host.clone();
            async move { host.read_file(&Owner::Customer(customer()), path, &sha()).await }
        };
        assert!(read("infra/variables.yml").await.expect("missing is not an error").is_none());

        std::fs::write(infra.join("variables.yml"), "x".repeat(MAX_FILE_BYTES + 1)).expect("write");
        assert!(matches!(read("infra/variables.yml").await, Err(CodeHostError::Unusable { .. })));

        std::fs::remove_file(infra.join("variables.yml")).expect("rm");
        let status = std::process::Command::new("mkfifo").arg(infra.join("variables.yml")).status().expect("mkfifo");
        assert!(status.success());
        let err = read("infra/variables.yml").await.expect_err("a FIFO");
        assert!(err.to_string().contains("is a FIFO, not a regular file"), "{err}");

        std::fs::remove_file(infra.join("variables.yml")).expect("rm");
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("secret"), "token").expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret"), infra.join("variables.yml")).expect("link");
        let err = read("infra/variables.yml").await.expect_err("a link out");
        assert!(err.to_string().contains("outside"), "{err}");

        assert!(read("../etc/passwd").await.is_err());
    }

    /// An earlier version comes back by its stand-in commit from the history, only intact;
    /// without a history (or for a version never handed out) the directory's file is read.
    #[tokio::test]
    async fn earlier_versions_are_read_back_from_the_history_by_their_digest() {
        let root = tempfile::tempdir().expect("tmp");
        let history = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(root.path().join("infra")).expect("mkdir");
        let file = root.path().join("infra/variables.yml");
        let host = LocalHost::new(root.path()).with_history(history.path());
        let read = |sha: Sha| {
            let host = host.clone();
            async move { host.read_file(&Owner::Customer(customer()), crate::variables::PATH, &sha).await.expect("read") }
        };
        std::fs::write(&file, "first").expect("write");
        let first = host.head(&customer()).expect("head");
        assert_eq!(read(first.clone()).await.as_deref(), Some("first"), "read, and so kept");
        std::fs::write(&file, "second").expect("write");
        let second = host.head(&customer()).expect("head");
        assert_eq!(read(first.clone()).await.as_deref(), Some("first"));
        assert_eq!(read(second).await.as_deref(), Some("second"));
        assert_eq!(read(sha()).await.as_deref(), Some("second"), "a version never kept: the directory's");

        let kept = history.path().join(format!("local/shop/{first}.yml"));
        std::fs::write(&kept, "tampered").expect("write");
        assert_eq!(
            read(first.clone()).await.as_deref(),
            Some("second"),
            "a kept file that isn't its digest is ignored"
        );
        let plain = LocalHost::new(root.path());
        assert_eq!(
            plain
                .read_file(&Owner::Customer(customer()), crate::variables::PATH, &first)
                .await
                .expect("read")
                .as_deref(),
            Some("second")
        );
    }
}
