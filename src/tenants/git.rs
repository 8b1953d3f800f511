//! The manager checkout's own Git history, through the `git` binary: which tenant files
//! changed between two commits, and a file's text at a commit. No GitHub call: the
//! workflow's checkout (with enough history) is the source.
//!
//! `git` is found on `PATH` once per process and run through [`crate::process`], as
//! Terraform is: stderr read while it runs and kept (bounded) for the failure's message,
//! and a cancelled run interrupts it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::codehost::CodeHostError;
use crate::identity::Sha;
use crate::yaml::MAX_FILE_BYTES;

/// The directory of tenant files in the manager repository.
pub const TENANTS_DIR: &str = "tenants";

/// A Git repository checkout (the manager repository).
#[derive(Debug, Clone)]
pub struct ManagerRepo {
    dir: PathBuf,
    cancel: Cancel,
}

/// How long an interrupted `git` has to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `git` executable, looked up on `PATH` once.
fn git_program() -> Option<&'static Path> {
    static GIT: OnceLock<Option<PathBuf>> = OnceLock::new();
    GIT.get_or_init(|| crate::process::find_executable("git", std::env::var_os("PATH").as_deref())).as_deref()
}

/// How a path changed between two commits (`git diff --name-status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Added(String),
    Modified(String),
    Deleted(String),
    /// Renamed (or copied, or any status this build does not handle): from, to.
    Renamed(String, String),
    /// A status this build does not handle (`T` type change, `U` unmerged, …).
    Other(char, String),
}

impl ManagerRepo {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), cancel: Cancel::new() }
    }

    /// Interrupts a running `git` when `cancel` fires (and runs none after).
    pub fn with_cancel(self, cancel: Cancel) -> Self {
        Self { cancel, ..self }
    }

    /// The checkout's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `rev` (`HEAD`, a branch or a SHA) as a full commit SHA.
    pub async fn commit(&self, rev: &str) -> Result<Sha, CodeHostError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.git(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec], rev).await?;
        let text = String::from_utf8_lossy(&out);
        Sha::parse(text.trim()).map_err(|e| self.error(rev, TENANTS_DIR, e.to_string()))
    }

    /// The text of `path` at `sha`; `None` when the commit has no such file.
    pub async fn read(&self, sha: &Sha, path: &str) -> Result<Option<String>, CodeHostError> {
        // `ls-tree` tells a missing file from a failing Git; `cat-file` then reads it.
        let listed = self.git(&["ls-tree", "-z", "--full-tree", sha.as_str(), "--", path], sha.as_str()).await?;
        if listed.is_empty() {
            return Ok(None);
        }
        let bytes = self.git(&["cat-file", "blob", &format!("{sha}:{path}")], sha.as_str()).await?;
        if bytes.len() > MAX_FILE_BYTES {
            let problem = crate::diagnostic::FileProblem::TooLarge {
                size: Some(bytes.len() as u64),
                limit: MAX_FILE_BYTES as u64,
            };
            return Err(CodeHostError::Unusable {
                repo: REPO.into(),
                path: path.into(),
                reference: sha.to_string(),
                problem,
            });
        }
        String::from_utf8(bytes).map(Some).map_err(|e| {
            let (line, column) = crate::source_file::invalid_utf8_at(&e);
            CodeHostError::Unusable {
                repo: REPO.into(),
                path: path.into(),
                reference: sha.to_string(),
                problem: crate::diagnostic::FileProblem::NotUtf8 { line: Some(line), column: Some(column) },
            }
        })
    }

    /// The tenant files (`tenants/<name>.yml`) at `sha`, by path.
    pub async fn tenant_files(&self, sha: &Sha) -> Result<Vec<String>, CodeHostError> {
        let dir = format!("{TENANTS_DIR}/");
        let out =
            self.git(&["ls-tree", "-z", "--name-only", "--full-tree", sha.as_str(), "--", &dir], sha.as_str()).await?;
        let text = String::from_utf8_lossy(&out);
        Ok(text.split('\0').filter(|p| p.ends_with(".yml")).map(str::to_owned).collect())
    }

    /// Every change below `tenants/` from `base` to `head`, with rename detection on, so a
    /// rename shows as one (and is refused by the caller) rather than a delete and an add.
    pub async fn changes(&self, base: &Sha, head: &Sha) -> Result<Vec<FileChange>, CodeHostError> {
        let range = format!("{base}..{head}");
        let args =
            ["diff", "--name-status", "-z", "--find-renames", "--no-ext-diff", base.as_str(), head.as_str(), "--"];
        let out = self.git(&[&args[..], &[TENANTS_DIR]].concat(), &range).await?;
        let text = String::from_utf8(out).map_err(|_| self.error(&range, TENANTS_DIR, "a path is not UTF-8".into()))?;
        parse_name_status(&text).ok_or_else(|| self.error(&range, TENANTS_DIR, "unexpected `git diff` output".into()))
    }

    /// The branch checked out, `None` when `HEAD` is detached.
    pub async fn current_branch(&self) -> Result<Option<String>, CodeHostError> {
        let out = self.run(&["symbolic-ref", "--quiet", "--short", "HEAD"], None, &[], "HEAD").await?;
        Ok(out.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// Whether `descendant` is `ancestor` or descends from it (`git merge-base
    /// --is-ancestor`); an unknown commit is `false`.
    pub async fn is_ancestor(&self, ancestor: &Sha, descendant: &Sha) -> Result<bool, CodeHostError> {
        let args = ["merge-base", "--is-ancestor", ancestor.as_str(), descendant.as_str()];
        Ok(self.run(&args, None, &[], descendant.as_str()).await?.success())
    }

    /// The commit `refs/heads/<branch>` names, `None` when there is no such branch.
    pub async fn branch(&self, branch: &str) -> Result<Option<Sha>, CodeHostError> {
        let spec = format!("refs/heads/{branch}");
        let out = self.run(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec], None, &[], &spec).await?;
        if !out.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Sha::parse(text.trim()).map(Some).map_err(|e| self.error(branch, TENANTS_DIR, e.to_string()))
    }

    /// Whether any commit of the checkout (every branch, remote-tracking ones included)
    /// carries the trailer `key: value`: a request's commit may be on its review branch,
    /// on the remote only (a fresh clone), or already merged into the default branch.
    pub async fn has_trailer(&self, key: &str, value: &str) -> Result<bool, CodeHostError> {
        let format = format!("--format=%(trailers:key={key},valueonly,separator=%x00)");
        let out = self.git(&["log", "--all", &format, "--"], "--all").await?;
        Ok(String::from_utf8_lossy(&out).split(['\0', '\n']).any(|v| v.trim() == value))
    }

    /// A new commit on top of `parent` where `path` holds `content` (or is gone, for
    /// `None`), made through a private index: the checkout's own index and files are left
    /// alone, so nothing else in the work tree can slip into the commit.
    pub async fn commit_file(
        &self,
        parent: &Sha,
        path: &str,
        content: Option<&[u8]>,
        message: &str,
    ) -> Result<Sha, CodeHostError> {
        // Its own name per call: two requests in one checkout never share an index.
        let name = format!("infra-manager-request-{:08x}.index", fastrand::u32(..));
        let index = self.git(&["rev-parse", "--git-path", &name], "HEAD").await?;
        // Relative to the checkout; absolute, as Git reads `GIT_INDEX_FILE` from its own cwd.
        let index = std::path::absolute(self.dir.join(String::from_utf8_lossy(&index).trim()))
            .map_err(|e| self.error("HEAD", path, format!("can't place a private index: {e}")))?;
        let result = self.commit_with_index(&index, parent, path, content, message).await;
        let _ = std::fs::remove_file(&index);
        result
    }

    async fn commit_with_index(
        &self,
        index: &Path,
        parent: &Sha,
        path: &str,
        content: Option<&[u8]>,
        message: &str,
    ) -> Result<Sha, CodeHostError> {
        let env = [("GIT_INDEX_FILE", index.as_os_str())];
        let at = parent.as_str();
        self.checked(&["read-tree", at], None, &env, at).await?;
        match content {
            Some(bytes) => {
                let blob = self.checked(&["hash-object", "-w", "--stdin"], Some(bytes), &env, at).await?;
                let entry = format!("100644,{},{path}", String::from_utf8_lossy(&blob).trim());
                self.checked(&["update-index", "--add", "--cacheinfo", &entry], None, &env, at).await?;
            }
            None => {
                self.checked(&["update-index", "--force-remove", "--", path], None, &env, at).await?;
            }
        }
        let tree = self.checked(&["write-tree"], None, &env, at).await?;
        let tree = String::from_utf8_lossy(&tree).trim().to_owned();
        let commit =
            self.checked(&["commit-tree", &tree, "-p", at, "-F", "-"], Some(message.as_bytes()), &env, at).await?;
        Sha::parse(String::from_utf8_lossy(&commit).trim()).map_err(|e| self.error(at, path, e.to_string()))
    }

    /// Points `refs/heads/<branch>` at `new`, only if it still names `old` (`None`: only
    /// if the branch does not exist yet), so a concurrent writer is never overwritten.
    pub async fn move_branch(&self, branch: &str, new: &Sha, old: Option<&Sha>) -> Result<(), CodeHostError> {
        let reference = format!("refs/heads/{branch}");
        let old = old.map_or_else(|| "0".repeat(40), ToString::to_string);
        self.git(&["update-ref", "-m", "infra-manager tenants request", &reference, new.as_str(), &old], branch)
            .await?;
        Ok(())
    }

    /// After the checked-out branch moved: `path` in the work tree and the index as in the
    /// new `HEAD`, so the checkout does not show the commit undone.
    pub async fn sync_path(&self, path: &str, content: Option<&[u8]>) -> Result<(), CodeHostError> {
        let file = self.dir.join(path);
        let written = match content {
            Some(bytes) => {
                std::fs::create_dir_all(self.dir.join(TENANTS_DIR)).and_then(|()| std::fs::write(&file, bytes))
            }
            None => std::fs::remove_file(&file)
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }),
        };
        written.map_err(|e| self.error("HEAD", path, format!("can't update the work tree: {e}")))?;
        self.git(&["reset", "--quiet", "HEAD", "--", path], "HEAD").await?;
        Ok(())
    }

    async fn git(&self, args: &[&str], reference: &str) -> Result<Vec<u8>, CodeHostError> {
        self.checked(args, None, &[], reference).await
    }

    /// `git` that must succeed: its standard output.
    async fn checked(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &std::ffi::OsStr)],
        reference: &str,
    ) -> Result<Vec<u8>, CodeHostError> {
        let out = self.run(args, stdin, env, reference).await?;
        if out.success() {
            return Ok(out.stdout);
        }
        let first = out.stderr.first().map_or("no message", String::as_str);
        let message = match out.code {
            // `rev-parse --verify --quiet` says nothing for an unknown revision.
            1 if out.stderr.iter().all(|line| line.trim().is_empty()) => {
                "no such commit in the checkout (fetch more history?)".to_owned()
            }
            _ => format!("`git {}` failed: {}", args.first().unwrap_or(&""), crate::output::neutralise(first)),
        };
        Err(self.error(reference, TENANTS_DIR, message))
    }

    /// One `git` run, whatever its exit status. Commits made here are infra-manager's
    /// unless the environment names someone (`GIT_AUTHOR_NAME`, … override `-c`).
    async fn run(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &std::ffi::OsStr)],
        reference: &str,
    ) -> Result<crate::process::Captured, CodeHostError> {
        let program = git_program().ok_or_else(|| {
            self.error(
                reference,
                TENANTS_DIR,
                "no `git` executable found on PATH; install git (e.g. `apt-get install git`) or put it on PATH"
                    .to_owned(),
            )
        })?;
        let mut command = tokio::process::Command::new(program);
        command
            .arg("-C")
            .arg(&self.dir)
            .args(["-c", "core.quotePath=false", "--no-pager"])
            .args(["-c", "user.name=infra-manager", "-c", "user.email=infra-manager@users.noreply.github.com"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .envs(env.iter().copied());
        let what = format!("git {}", args.first().unwrap_or(&""));
        let stop = crate::process::Stop { cancel: &self.cancel, timeout: STOP_TIMEOUT, what: &what };
        // Not echoed: Git's stderr matters only when it fails, and then its first line is
        // the message.
        crate::process::capture(command, stdin, false, &stop).await.map_err(|e| match e {
            crate::process::CaptureError::Io(e) => self.error(reference, TENANTS_DIR, format!("can't run `git`: {e}")),
            crate::process::CaptureError::Cancelled => {
                self.error(reference, TENANTS_DIR, format!("`{what}` was stopped: {}", self.cancel.reason()))
            }
        })
    }

    fn error(&self, reference: &str, path: &str, message: String) -> CodeHostError {
        CodeHostError::Read {
            repo: format!("{REPO} `{}`", self.dir.display()),
            path: path.to_owned(),
            reference: crate::output::neutralise(reference),
            message,
        }
    }
}

/// How errors name the repository.
const REPO: &str = "the manager repository";

/// `git diff --name-status -z` output: `S\0path\0` or `R100\0from\0to\0`.
fn parse_name_status(text: &str) -> Option<Vec<FileChange>> {
    let mut fields = text.split('\0').filter(|f| !f.is_empty());
    let mut out = Vec::new();
    while let Some(status) = fields.next() {
        let letter = status.chars().next()?;
        let path = fields.next()?.to_owned();
        out.push(match letter {
            'A' => FileChange::Added(path),
            'M' => FileChange::Modified(path),
            'D' => FileChange::Deleted(path),
            'R' | 'C' => FileChange::Renamed(path, fields.next()?.to_owned()),
            other => FileChange::Other(other, path),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_output_is_read_with_renames_as_pairs() {
        let text = "A\0tenants/a.yml\0M\0tenants/b.yml\0D\0tenants/c.yml\0R097\0tenants/d.yml\0tenants/e.yml\0T\0tenants/f.yml\0";
        assert_eq!(
            parse_name_status(text).expect("parsed"),
            vec![
                FileChange::Added("tenants/a.yml".into()),
                FileChange::Modified("tenants/b.yml".into()),
                FileChange::Deleted("tenants/c.yml".into()),
                FileChange::Renamed("tenants/d.yml".into(), "tenants/e.yml".into()),
                FileChange::Other('T', "tenants/f.yml".into()),
            ]
        );
        assert_eq!(parse_name_status("R100\0tenants/x.yml\0"), None, "a rename without its target");
    }
}
