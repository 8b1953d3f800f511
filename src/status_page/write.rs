//! Putting the site in place all at once: its files are written to a new folder next to
//! `DIR`, which then takes `DIR`'s place in one rename (an exchange with the previous site,
//! `renameat2(RENAME_EXCHANGE)`, when there is one), so a reader — or a publishing step —
//! never sees half a site, and a failed write leaves the previous one as it was.
//!
//! `DIR` is replaced only when it is empty or a site this wrote before (it holds
//! [`MARKER`]): a mistyped `--html .` never removes anything else.

use std::path::{Path, PathBuf};

use super::File;

/// The file that says a folder is a status page infra-manager wrote.
pub const MARKER: &str = ".infra-manager-status-page";

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("can't {action} `{}`: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a status page this wrote: it is {what}", .path.display())]
    NotOurs { path: PathBuf, what: &'static str },
}

impl SiteError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotOurs { .. } => Some(format!(
                "name a new or empty folder for `--html`; a folder holding `{MARKER}` (a status page written before) is replaced"
            )),
            Self::Io { .. } => None,
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SiteError {
    let path = path.to_path_buf();
    move |source| SiteError::Io { action, path, source }
}

/// Writes `files` as the site at `dir`, replacing the site there.
pub fn replace(dir: &Path, files: &[File]) -> Result<(), SiteError> {
    let previous = check_replaceable(dir)?;
    let name =
        dir.file_name().ok_or_else(|| SiteError::NotOurs { path: dir.to_path_buf(), what: "not a folder name" })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let staging =
        parent.join(format!(".{}.new-{}-{:08x}", name.to_string_lossy(), std::process::id(), fastrand::u32(..)));
    std::fs::create_dir(&staging).map_err(io("create", &staging))?;
    let written = write_all(&staging, files).and_then(|()| swap_in(&staging, dir, previous));
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Whether `dir` holds a site to replace (`true`), is absent (`false`), or may not be
/// replaced.
fn check_replaceable(dir: &Path) -> Result<bool, SiteError> {
    let not_ours = |what| Err(SiteError::NotOurs { path: dir.to_path_buf(), what });
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io("read", dir)(e)),
        Ok(meta) if meta.file_type().is_symlink() => not_ours("a symbolic link"),
        Ok(meta) if !meta.is_dir() => not_ours("not a folder"),
        Ok(_) if dir.join(MARKER).is_file() => Ok(true),
        Ok(_) => match std::fs::read_dir(dir).map_err(io("read", dir))?.next() {
            None => Ok(true),
            Some(_) => not_ours("a folder with other files in it"),
        },
    }
}

fn write_all(staging: &Path, files: &[File]) -> Result<(), SiteError> {
    let marker = staging.join(MARKER);
    std::fs::write(&marker, "written by `infra-manager report --html`; replaced whole by the next one\n")
        .map_err(io("write", &marker))?;
    for file in files {
        let path = staging.join(&file.path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io("create", folder))?;
        }
        std::fs::write(&path, &file.text).map_err(io("write", &path))?;
    }
    Ok(())
}

/// `staging` becomes `dir`; the previous site, if any, is removed after.
fn swap_in(staging: &Path, dir: &Path, previous: bool) -> Result<(), SiteError> {
    if !previous {
        return std::fs::rename(staging, dir).map_err(io("rename into place", dir));
    }
    let exchanged =
        rustix::fs::renameat_with(rustix::fs::CWD, staging, rustix::fs::CWD, dir, rustix::fs::RenameFlags::EXCHANGE);
    if exchanged.is_err() {
        // A file system without the exchange: the old site is moved aside first, so the
        // new one still appears whole (with a moment where `dir` is absent).
        let aside = staging.with_extension("old");
        std::fs::rename(dir, &aside).map_err(io("move aside", dir))?;
        if let Err(e) = std::fs::rename(staging, dir) {
            let _ = std::fs::rename(&aside, dir);
            return Err(io("rename into place", dir)(e));
        }
        let _ = std::fs::remove_dir_all(&aside);
        return Ok(());
    }
    // `staging` now holds the previous site.
    std::fs::remove_dir_all(staging).map_err(io("remove the previous site", staging))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(text: &str) -> Vec<File> {
        vec![
            File { path: "index.html".into(), text: text.into() },
            File { path: "targets/a.x.html".into(), text: text.into() },
        ]
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_site_replaces_the_previous_one_whole_and_leaves_nothing_beside_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let site = tmp.path().join("site");
        replace(&site, &files("one")).expect("first");
        assert_eq!(listing(&site), [MARKER, "index.html", "targets"]);
        std::fs::write(site.join("targets/stale.html"), "a target gone since").expect("write");
        replace(&site, &files("two")).expect("second");
        assert_eq!(std::fs::read_to_string(site.join("index.html")).expect("index"), "two");
        assert_eq!(listing(&site.join("targets")), ["a.x.html"], "nothing of the previous site is left");
        assert_eq!(listing(tmp.path()), ["site"], "no staging folder is left beside it");
        // An empty folder is taken too.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        replace(&empty, &files("x")).expect("empty folder");
    }

    #[test]
    fn a_folder_that_is_not_a_site_is_never_replaced() {
        let tmp = tempfile::tempdir().expect("tmp");
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).expect("mkdir");
        std::fs::write(home.join("notes.txt"), "mine").expect("write");
        let refused = replace(&home, &files("x")).expect_err("refused");
        assert!(matches!(refused, SiteError::NotOurs { .. }), "{refused}");
        assert!(refused.hint().is_some_and(|h| h.contains(MARKER)));
        assert_eq!(listing(&home), ["notes.txt"]);
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(replace(&file, &files("x")), Err(SiteError::NotOurs { .. })));
        assert!(matches!(replace(Path::new("/"), &files("x")), Err(SiteError::NotOurs { .. })));
        assert_eq!(listing(tmp.path()), ["file", "home"], "no staging folder is left");
    }

    #[test]
    fn a_failed_write_leaves_the_previous_site_as_it_was() {
        let tmp = tempfile::tempdir().expect("tmp");
        let site = tmp.path().join("site");
        replace(&site, &files("one")).expect("first");
        // A file where a folder must go: the write fails half way.
        let broken = vec![
            File { path: "index.html".into(), text: "two".into() },
            File { path: "index.html/x.html".into(), text: "two".into() },
        ];
        assert!(matches!(replace(&site, &broken), Err(SiteError::Io { .. })));
        assert_eq!(std::fs::read_to_string(site.join("index.html")).expect("index"), "one");
        assert_eq!(listing(tmp.path()), ["site"]);
    }
}
