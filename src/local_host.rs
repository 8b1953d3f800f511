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
use crate::yaml::MAX_FILE_BYTES;

#[derive(Debug, Clone)]
pub struct LocalHost {
    root: PathBuf,
}

impl LocalHost {
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf() }
    }

    /// Reads a file of the source directory without following it out of the directory.
    fn read(&self, repo: &CustomerId, path: &str) -> Result<Option<String>, CodeHostError> {
        let err = |message: String| CodeHostError::Read {
            repo: repo.to_string(),
            path: path.to_owned(),
            reference: "working tree".into(),
            message,
        };
        if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
            return Err(err("path leaves the source directory".into()));
        }
        let full = self.root.join(path);
        match std::fs::metadata(&full) {
            Ok(meta) if meta.len() > MAX_FILE_BYTES as u64 => {
                return Err(CodeHostError::TooLarge {
                    repo: repo.to_string(),
                    path: path.to_owned(),
                    reference: "working tree".into(),
                    limit: MAX_FILE_BYTES,
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e.to_string())),
        }
        std::fs::read_to_string(&full).map(Some).map_err(|e| err(e.to_string()))
    }
}

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
