//! Working directories: where a target's Terraform configuration is written and run.
//! Commands never touch the filesystem themselves; they ask a [`Workspace`].

use std::path::{Path, PathBuf};

use crate::identity::Target;
use crate::render::Rendered;

/// A working directory could not be prepared or read.
#[derive(Debug, thiserror::Error)]
#[error("can't {action} `{}`: {source}", .path.display())]
pub struct WorkspaceError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorkspaceError {
    let path = path.to_path_buf();
    move |source| WorkspaceError { action, path, source }
}

/// Where working directories go: `<root>/<owner>/<repo>/<env>`. A scratch root (one per
/// run, for the shared S3 backend) is removed when this is dropped.
#[derive(Debug)]
pub struct WorkRoot {
    path: PathBuf,
    scratch: bool,
    /// A scratch root that holds what must outlive the run (an errored state): renamed
    /// `kept-…` when the run ends instead of removed.
    keep: std::sync::atomic::AtomicBool,
}

impl WorkRoot {
    /// A root shared by runs on this machine (local mode: one directory per target).
    pub fn shared(path: PathBuf) -> Self {
        Self { path, scratch: false, keep: std::sync::atomic::AtomicBool::new(false) }
    }

    /// A root of its own for this run, `<parent>/run-<pid>-<random>`, so that overlapping
    /// runs against shared state never write into each other's `.terraform/`.
    /// Scratch roots that a killed run left behind (its process is gone) are removed first.
    pub fn scratch(parent: &Path) -> Result<Self, WorkspaceError> {
        remove_abandoned(parent);
        let path = parent.join(format!("run-{}-{:08x}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&path).map_err(io("create", &path))?;
        Ok(Self { path, scratch: true, keep: std::sync::atomic::AtomicBool::new(false) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps this root when the run ends, and says where `workspace` will then be: a
    /// scratch root is renamed `kept-<pid>-<random>` (never removed as abandoned), a shared
    /// one stays where it is.
    pub fn keep(&self, workspace: &Workspace) -> PathBuf {
        self.keep.store(true, std::sync::atomic::Ordering::SeqCst);
        let kept = self.kept_path();
        match workspace.path().strip_prefix(&self.path) {
            Ok(rest) => kept.join(rest),
            Err(_) => workspace.path().to_path_buf(),
        }
    }

    /// Where a kept root ends up.
    fn kept_path(&self) -> PathBuf {
        if !self.scratch {
            return self.path.clone();
        }
        let name = self.path.file_name().map(|n| n.to_string_lossy().replacen("run-", "kept-", 1)).unwrap_or_default();
        self.path.with_file_name(name)
    }

    /// The working directory for `target` (not created yet).
    pub fn workspace(&self, target: &Target) -> Workspace {
        let (first, second) = target.owner.key_segments();
        Workspace::at(self.path.join(first).join(second).join(target.env.as_str()))
    }
}

/// Removes `run-<pid>-*` directories under `parent` whose process no longer exists.
fn remove_abandoned(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(scratch_pid) else { continue };
        let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            crate::output::log(&format!("removing `{}`, left by a run that is gone", entry.path().display()));
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process ID in a scratch root's name, `run-<pid>-<random>`.
fn scratch_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("run-")?;
    let (pid, random) = rest.split_once('-')?;
    (random.len() == 8 && random.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
    pid.parse().ok()
}

impl Drop for WorkRoot {
    fn drop(&mut self) {
        if !self.scratch {
            return;
        }
        if self.keep.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = std::fs::rename(&self.path, self.kept_path());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One target's working directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes the rendered files (creating the directory).
    pub fn write(&self, rendered: &Rendered) -> Result<(), crate::render::RenderError> {
        rendered.write(&self.dir)
    }

    /// Terraform's dependency lock file; `None` when the configuration has no providers
    /// (Terraform writes none). Any other read error is an error, never an empty file.
    pub fn lock_file(&self) -> Result<Option<Vec<u8>>, WorkspaceError> {
        let path = self.dir.join(".terraform.lock.hcl");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Puts a stored plan file in place for `terraform apply`.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), WorkspaceError> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).map_err(io("write", &path))
    }

    /// Removes a file if it is there.
    pub fn remove_file(&self, name: &str) -> Result<(), WorkspaceError> {
        let path = self.dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_root_is_removed_with_its_contents_and_a_shared_one_is_kept() {
        let parent = tempfile::tempdir().expect("tempdir");
        let scratch = WorkRoot::scratch(parent.path()).expect("scratch");
        let path = scratch.path().to_path_buf();
        std::fs::write(path.join("f"), "x").expect("write");
        drop(scratch);
        assert!(!path.exists());
        let shared = WorkRoot::shared(parent.path().join("work"));
        std::fs::create_dir_all(shared.path()).expect("create");
        let kept = shared.path().to_path_buf();
        drop(shared);
        assert!(kept.exists());
    }

    #[test]
    fn scratch_roots_of_runs_that_are_gone_are_removed_and_live_ones_kept() {
        let parent = tempfile::tempdir().expect("tempdir");
        // PID 0x7fff_fff0 is never a live process; this test's own PID is.
        let gone = parent.path().join("run-2147483632-0000abcd");
        let live = parent.path().join(format!("run-{}-0000abcd", std::process::id()));
        let other = parent.path().join("run-notes");
        for dir in [&gone, &live, &other] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        let scratch = WorkRoot::scratch(parent.path()).expect("scratch");
        assert!(!gone.exists(), "a dead run's scratch root is removed");
        assert!(live.exists() && other.exists(), "a live run's root and other names are kept");
        drop(scratch);
        assert_eq!(scratch_pid("run-12-0123abcd"), Some(12));
        assert_eq!(scratch_pid("run-12-xyz"), None);
    }

    /// Issue 20: a scratch root holding an errored state outlives the run, under a name
    /// that no later run removes as abandoned.
    #[test]
    fn a_kept_scratch_root_is_renamed_not_removed() {
        let parent = tempfile::tempdir().expect("tempdir");
        let scratch = WorkRoot::scratch(parent.path()).expect("scratch");
        let workspace = Workspace::at(scratch.path().join("acme/web/staging"));
        std::fs::create_dir_all(workspace.path()).expect("mkdir");
        std::fs::write(workspace.path().join("errored.tfstate"), "{}").expect("write");
        let kept = scratch.keep(&workspace);
        drop(scratch);
        assert!(kept.join("errored.tfstate").is_file(), "{}", kept.display());
        assert!(kept.to_string_lossy().contains("/kept-"), "{}", kept.display());
        drop(WorkRoot::scratch(parent.path()).expect("a later run"));
        assert!(kept.join("errored.tfstate").is_file(), "never removed as abandoned");
    }

    #[test]
    fn a_missing_lock_file_is_none_and_an_unreadable_one_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::at(dir.path().to_path_buf());
        assert_eq!(ws.lock_file().expect("missing is fine"), None);
        std::fs::create_dir(dir.path().join(".terraform.lock.hcl")).expect("a directory in its place");
        assert!(ws.lock_file().is_err());
    }
}
