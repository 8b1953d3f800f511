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

/// The most commits [`ManagerRepo::request_commits`] reads: the requests one apply can
/// carry out, with room.
pub const REQUEST_COMMITS: usize = 100;

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

    /// The text of `path` at `sha`; `None` when the commit has no such file. Only a plain
    /// file is read: a symbolic link (mode `120000`, whose "text" is its target), a
    /// submodule or a directory is refused, and so is a blob over the size limit, from its
    /// size as Git lists it, before a byte of it is read.
    pub async fn read(&self, sha: &Sha, path: &str) -> Result<Option<String>, CodeHostError> {
        // `ls-tree -l` tells a missing file from a failing Git, and gives the entry's mode,
        // object and size; `cat-file` then reads that object.
        let listed = self.git(&["ls-tree", "-z", "-l", "--full-tree", sha.as_str(), "--", path], sha.as_str()).await?;
        if listed.is_empty() {
            return Ok(None);
        }
        let entry = TreeEntry::parse(&listed)
            .ok_or_else(|| self.error(sha.as_str(), path, "unexpected `git ls-tree` output".into()))?;
        let unusable = |problem| CodeHostError::Unusable {
            repo: REPO.into(),
            path: path.into(),
            reference: sha.to_string(),
            problem,
        };
        if let Some(kind) = entry.not_plain() {
            return Err(unusable(crate::diagnostic::FileProblem::NotRegular { kind: kind.to_owned() }));
        }
        let limit = MAX_FILE_BYTES as u64;
        if entry.size.is_none_or(|size| size > limit) {
            return Err(unusable(crate::diagnostic::FileProblem::TooLarge { size: entry.size, limit }));
        }
        let bytes = self.git(&["cat-file", "blob", &entry.object], sha.as_str()).await?;
        if bytes.len() > MAX_FILE_BYTES {
            let size = Some(bytes.len() as u64);
            return Err(unusable(crate::diagnostic::FileProblem::TooLarge { size, limit }));
        }
        String::from_utf8(bytes).map(Some).map_err(|e| {
            let (line, column) = crate::source_file::invalid_utf8_at(&e);
            unusable(crate::diagnostic::FileProblem::NotUtf8 { line: Some(line), column: Some(column) })
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

    /// Every path that differs between `base` and `head`, anywhere in the checkout (a
    /// rename gives both its old and its new path).
    pub async fn changed_paths(&self, base: &Sha, head: &Sha) -> Result<Vec<String>, CodeHostError> {
        let range = format!("{base}..{head}");
        let args = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base.as_str(), head.as_str(), "--"];
        let out = self.git(&args, &range).await?;
        let text = String::from_utf8(out).map_err(|_| self.error(&range, ".", "a path is not UTF-8".into()))?;
        Ok(text.split('\0').filter(|p| !p.is_empty()).map(str::to_owned).collect())
    }

    /// The `Request-Id` trailers of the commits that changed `path`, held by `until` and not
    /// by `since` (every one held by `until` without it), newest first and at most
    /// [`REQUEST_COMMITS`] commits, each with its commit.
    pub async fn request_commits(
        &self,
        path: &str,
        since: Option<&Sha>,
        until: &Sha,
    ) -> Result<Vec<(String, Sha)>, CodeHostError> {
        let range = since.map_or_else(|| until.to_string(), |since| format!("{since}..{until}"));
        let changes = self.changes_with_trailers(&range, path, REQUEST_COMMITS).await?;
        Ok(changes
            .into_iter()
            .flat_map(|(sha, trailers)| {
                trailers
                    .into_iter()
                    .filter(|(key, value)| key.eq_ignore_ascii_case(super::request::TRAILER) && !value.is_empty())
                    .map(move |(_, value)| (value, sha.clone()))
            })
            .collect())
    }

    /// The commit that last changed `path` at or before `sha` (`git log -1`, which follows a
    /// merge to the side the file came from), with its message's trailers: what the message
    /// says, not what is true. `None`: no commit changed it.
    pub async fn last_change(
        &self,
        sha: &Sha,
        path: &str,
    ) -> Result<Option<(Sha, Vec<(String, String)>)>, CodeHostError> {
        Ok(self.changes_with_trailers(sha.as_str(), path, 1).await?.into_iter().next())
    }

    /// The commits of `range` that changed `path`, newest first and at most `max`, each with
    /// its message's trailers (`Key: value`, unfolded, in order). The one reading of
    /// trailers: a request's commits (notifications) and a change's claim (policies) read
    /// the same words the same way.
    async fn changes_with_trailers(
        &self,
        range: &str,
        path: &str,
        max: usize,
    ) -> Result<Vec<(Sha, Vec<(String, String)>)>, CodeHostError> {
        let count = format!("--max-count={max}");
        let format = "--format=%H%x1f%(trailers:only,unfold,separator=%x1e)%x1d";
        let out = self.git(&["log", format, &count, range, "--", path], range).await?;
        let text = String::from_utf8_lossy(&out);
        let mut found = Vec::new();
        for entry in text.split('\x1d') {
            let Some((sha, trailers)) = entry.trim_start().split_once('\x1f') else { continue };
            let Ok(sha) = Sha::parse(sha) else { continue };
            let trailers = trailers
                .split('\x1e')
                .filter_map(|t| t.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            found.push((sha, trailers));
        }
        Ok(found)
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

    /// Whether `sha` is a commit this checkout has.
    pub async fn has_commit(&self, sha: &Sha) -> Result<bool, CodeHostError> {
        let spec = format!("{sha}^{{commit}}");
        Ok(self.run(&["cat-file", "-e", &spec], None, &[], sha.as_str()).await?.success())
    }

    /// Whether `sha` has reached the remote: it is on a remote-tracking branch (which a
    /// push or a fetch moves). A checkout with no remote is its own remote (local mode):
    /// there, a branch of its own counts. A commit made and never pushed never counts.
    pub async fn published(&self, sha: &Sha) -> Result<bool, CodeHostError> {
        let remotes = self.git(&["remote"], "HEAD").await?;
        let refs = if remotes.iter().all(u8::is_ascii_whitespace) { "refs/heads" } else { "refs/remotes" };
        self.on_a_branch(sha, &[refs]).await
    }

    /// Whether any branch, local or remote-tracking, holds `sha`: a review branch deleted
    /// unmerged leaves its commit on none.
    pub async fn on_any_branch(&self, sha: &Sha) -> Result<bool, CodeHostError> {
        self.on_a_branch(sha, &["refs/heads", "refs/remotes"]).await
    }

    async fn on_a_branch(&self, sha: &Sha, refs: &[&str]) -> Result<bool, CodeHostError> {
        if !self.has_commit(sha).await? {
            return Ok(false);
        }
        let contains = format!("--contains={sha}");
        let args = [&["for-each-ref", "--count=1", "--format=%(refname)", &contains][..], refs].concat();
        Ok(!self.git(&args, sha.as_str()).await?.iter().all(u8::is_ascii_whitespace))
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
    /// new `HEAD`, so the checkout does not show the commit undone. No write follows a
    /// link ([`crate::tenants::plain_file::replace`]).
    /// Whether [`ManagerRepo::sync_path`] could write `path` in the work tree (no linked
    /// directory on the way), checked before anything is committed.
    pub fn check_writable(&self, path: &str) -> Result<(), CodeHostError> {
        crate::tenants::plain_file::check(&self.dir, path)
            .map_err(|e| self.error("HEAD", path, format!("the work tree can't take the file: {e}")))
    }

    pub async fn sync_path(&self, path: &str, content: Option<&[u8]>) -> Result<(), CodeHostError> {
        crate::tenants::plain_file::replace(&self.dir, path, content)
            .map_err(|e| self.error("HEAD", path, format!("can't update the work tree: {e}")))?;
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

/// One entry of `git ls-tree -z -l`: `<mode> <type> <object> <size>\t<path>\0`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeEntry {
    mode: String,
    object: String,
    /// `None` for an entry with no size (a tree, a submodule).
    size: Option<u64>,
}

impl TreeEntry {
    fn parse(listed: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(listed).ok()?;
        let (meta, _path) = text.split('\0').next()?.split_once('\t')?;
        let mut fields = meta.split_whitespace();
        let (mode, _kind, object, size) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        Some(Self { mode: mode.to_owned(), object: object.to_owned(), size: size.parse().ok() })
    }

    /// What the entry is when it is not a plain file (`100644`, `100755`).
    fn not_plain(&self) -> Option<&'static str> {
        match self.mode.as_str() {
            "100644" | "100755" => None,
            "120000" => Some("a symbolic link"),
            "160000" => Some("a submodule"),
            "040000" => Some("a directory"),
            _ => Some("not a plain file"),
        }
    }
}

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

    /// `git` in `dir`, which must succeed.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .expect("git is needed for these tests");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Issue 21, item 7: a committed symbolic link was read as a tenant file (its target's
    /// path as the text), and a blob of any size was read whole before its size was checked.
    #[tokio::test]
    async fn only_plain_tenant_blobs_within_the_limit_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "--quiet"]);
        std::fs::create_dir(root.join("tenants")).expect("mkdir");
        std::fs::write(root.join("tenants/plain.yml"), "kind: Tenant\n").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", root.join("tenants/link.yml")).expect("link");
        std::os::unix::fs::symlink("plain.yml", root.join("tenants/inside.yml")).expect("link");
        let big = MAX_FILE_BYTES + 1;
        std::fs::write(root.join("tenants/big.yml"), "#".repeat(big)).expect("write");
        std::fs::create_dir(root.join("tenants/dir.yml")).expect("mkdir");
        std::fs::write(root.join("tenants/dir.yml/x"), "x").expect("write");
        git(root, &["add", "-A"]);
        git(root, &["commit", "--quiet", "-m", "tenants"]);
        let repo = ManagerRepo::new(root);
        let head = repo.commit("HEAD").await.expect("head");
        assert_eq!(repo.read(&head, "tenants/plain.yml").await.expect("read").as_deref(), Some("kind: Tenant\n"));
        assert_eq!(repo.read(&head, "tenants/none.yml").await.expect("read"), None);
        for (path, kind) in [
            ("tenants/link.yml", "a symbolic link"),
            ("tenants/inside.yml", "a symbolic link"),
            ("tenants/dir.yml", "a directory"),
        ] {
            match repo.read(&head, path).await {
                Err(CodeHostError::Unusable {
                    problem: crate::diagnostic::FileProblem::NotRegular { kind: k },
                    ..
                }) => {
                    assert_eq!(k, kind, "{path}");
                }
                other => panic!("{path}: expected a refusal, got {other:?}"),
            }
        }
        match repo.read(&head, "tenants/big.yml").await {
            Err(CodeHostError::Unusable { problem: crate::diagnostic::FileProblem::TooLarge { size, .. }, .. }) => {
                assert_eq!(size, Some(big as u64), "the size Git lists, known before reading");
            }
            other => panic!("expected too large, got {other:?}"),
        }
    }

    /// One reading of trailers for both readers: a request's commits over a range and the
    /// last change's claim, keys matched in any case, folded values unfolded, other
    /// trailers and commits to other files left out.
    #[tokio::test]
    async fn trailers_are_read_once_the_same_way_for_a_range_and_for_the_last_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "--quiet"]);
        std::fs::create_dir(root.join("tenants")).expect("mkdir");
        let commit = |file: &str, text: &str, message: &str| {
            std::fs::write(root.join(file), text).expect("write");
            git(root, &["add", "-A"]);
            git(root, &["commit", "--quiet", "-m", message]);
            git(root, &["rev-parse", "HEAD"])
        };
        let first = commit("tenants/a.yml", "1", "tenants: a\n\nRequest-Id: r-1\nRequested-By: octocat");
        let second =
            commit("tenants/a.yml", "2", "tenants: a again\n\nrequest-id: r-2\nSigned-off-by: x <x@example.com>");
        commit("tenants/b.yml", "1", "tenants: b\n\nRequest-Id: r-3");
        let third = commit("tenants/a.yml", "3", "tenants: a, folded\n\nRequested-By: a\n  long name\nRequest-Id: r-4");
        let repo = ManagerRepo::new(root);
        let head = repo.commit("HEAD").await.expect("head");
        let sha = |s: &str| Sha::parse(s).expect("sha");
        assert_eq!(
            repo.request_commits("tenants/a.yml", None, &head).await.expect("read"),
            vec![("r-4".to_owned(), sha(&third)), ("r-2".to_owned(), sha(&second)), ("r-1".to_owned(), sha(&first))]
        );
        assert_eq!(
            repo.request_commits("tenants/a.yml", Some(&sha(&second)), &head).await.expect("read"),
            vec![("r-4".to_owned(), sha(&third))]
        );
        let (last, trailers) = repo.last_change(&head, "tenants/a.yml").await.expect("read").expect("a change");
        assert_eq!(last, sha(&third));
        assert_eq!(
            trailers,
            vec![("Requested-By".to_owned(), "a long name".to_owned()), ("Request-Id".to_owned(), "r-4".to_owned())]
        );
        assert_eq!(repo.last_change(&head, "tenants/none.yml").await.expect("read"), None);
    }

    #[test]
    fn ls_tree_entries_are_read_with_mode_object_and_size() {
        let entry = TreeEntry::parse(b"120000 blob 0123abcd      11\ttenants/a.yml\0").expect("parsed");
        assert_eq!((entry.mode.as_str(), entry.object.as_str(), entry.size), ("120000", "0123abcd", Some(11)));
        assert_eq!(entry.not_plain(), Some("a symbolic link"));
        let tree = TreeEntry::parse(b"040000 tree 0123abcd       -\ttenants/d\0").expect("parsed");
        assert_eq!((tree.size, tree.not_plain()), (None, Some("a directory")));
        assert_eq!(TreeEntry::parse(b"garbage"), None);
    }

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
