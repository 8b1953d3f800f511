//! The local `CodeHost`: a directory stands in for the customer repository.
//!
//! Files are read from the directory (there is only one version of them, so the SHA is not
//! used to pick one); statuses go to the log; the comment is returned to the command, which
//! prints it to stdout.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::codehost::{CodeHost, CodeHostError, CommentOutcome, CommitStatus};
use crate::identity::{CustomerId, Sha};
use crate::output;
use crate::source_file;
use crate::yaml::MAX_FILE_BYTES;

#[derive(Debug, Clone)]
pub struct LocalHost {
    root: PathBuf,
    /// Whether `root` holds one checkout per customer, at `<owner>/<repo>/`.
    per_customer: bool,
}

impl LocalHost {
    /// One customer repository checkout at `root`.
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf(), per_customer: false }
    }

    /// Many customers: `root/<owner>/<repo>/` is each one's checkout (fleet runs in local
    /// mode). Customer names are validated identities, so the joined path stays below `root`.
    pub fn per_customer(root: &Path) -> Self {
        Self { root: root.to_path_buf(), per_customer: true }
    }

    /// The stand-in commit of `repo`'s checkout: the digest of its `variables.yml` (of an
    /// empty file when there is none; fetch then refuses the missing file).
    pub fn head(&self, repo: &CustomerId) -> Result<Sha, CodeHostError> {
        Ok(content_sha(&self.read(repo, crate::variables::PATH)?.unwrap_or_default()))
    }

    fn checkout(&self, repo: &CustomerId) -> PathBuf {
        if self.per_customer { self.root.join(repo.owner()).join(repo.repo()) } else { self.root.clone() }
    }

    /// Reads a file of the source directory through [`source_file::read_in`]: bounded, no
    /// FIFO or device, no link out of the directory, UTF-8 only.
    fn read(&self, repo: &CustomerId, path: &str) -> Result<Option<String>, CodeHostError> {
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

/// The "reference" a local read names in its errors.
const WORKING_TREE: &str = "working tree";

#[async_trait]
impl CodeHost for LocalHost {
    async fn read_file(&self, repo: &CustomerId, path: &str, _sha: &Sha) -> Result<Option<String>, CodeHostError> {
        self.read(repo, path)
    }

    async fn set_status(&self, _repo: &CustomerId, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        let state = crate::report::name_of(&status.state);
        output::log(&format!("status {} @ {}: {state} — {}", status.context, sha.short(), status.description));
        Ok(())
    }

    async fn upsert_comment(
        &self,
        _repo: &CustomerId,
        _pr: u64,
        _marker: &str,
        _body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        Ok(CommentOutcome::Printed)
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

    fn customer() -> CustomerId {
        CustomerId::parse("local/shop").expect("valid")
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
            async move { host.read_file(&customer(), path, &sha()).await }
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
}
