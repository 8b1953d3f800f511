//! Reading one small text file from disk: bounded, never hanging, never leaving its root.
//!
//! Customer files (`infra/variables.yml` in a `--source-dir`, a file named to `validate`) are
//! read only through here. A file is refused, with a [`SourceFileError`] that says what and
//! where, when it is
//!
//! - not a regular file (a FIFO, a device such as `/dev/zero`, a socket, a directory): checked
//!   on the path's metadata before opening, and again on the opened handle, which is opened
//!   with `O_NONBLOCK` so that even a FIFO swapped in between cannot block the open;
//! - larger than the limit: at most `limit + 1` bytes are ever read;
//! - not UTF-8;
//! - (when read under a root) a symbolic link, or in a linked directory, that leads out of
//!   the root.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Diagnostic, FileProblem};

/// `O_NONBLOCK`: opening a FIFO for reading returns at once instead of waiting for a writer.
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const O_NONBLOCK: i32 = 0x0004;

/// `O_NOCTTY`: opening a terminal device never makes it the controlling terminal.
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NOCTTY: i32 = 0o400;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const O_NOCTTY: i32 = 0x20000;

/// Why a file could not be read, and which file.
#[derive(Debug, thiserror::Error)]
#[error("can't read `{}`: {kind}", path.display())]
pub struct SourceFileError {
    pub path: PathBuf,
    pub kind: SourceFileErrorKind,
}

/// What was wrong with the file.
#[derive(Debug)]
pub enum SourceFileErrorKind {
    NotFound,
    /// `kind` names the file type: `a FIFO`, `a character device`, …
    NotRegular {
        kind: &'static str,
    },
    /// A symbolic link (of the file or a directory on its path) leads to `target`.
    OutsideRoot {
        target: PathBuf,
        root: PathBuf,
    },
    /// The relative path itself is absolute or has `..` or empty segments.
    UnsafePath,
    TooLarge {
        limit: usize,
    },
    /// `line` and `column` (1-based, columns in characters) of the first invalid byte.
    NotUtf8 {
        line: u64,
        column: u64,
    },
    Io(std::io::Error),
}

impl fmt::Display for SourceFileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => write!(f, "it does not exist"),
            Self::NotRegular { kind } => write!(f, "it is {kind}, not a regular file"),
            Self::OutsideRoot { target, root } => {
                write!(f, "it leads to `{}`, outside `{}`", target.display(), root.display())
            }
            Self::UnsafePath => write!(f, "the path must be relative, with no empty or `..` segments"),
            Self::TooLarge { limit } => write!(f, "it is larger than the {limit}-byte limit"),
            Self::NotUtf8 { line, column } => {
                write!(f, "it is not UTF-8 text (first invalid byte at line {line}, column {column})")
            }
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl SourceFileError {
    fn new(path: &Path, kind: SourceFileErrorKind) -> Self {
        Self { path: path.to_path_buf(), kind }
    }

    /// The problem, when it is the file's own fault (too large, not UTF-8, not a regular
    /// file, a link out of the root) rather than a missing file or an I/O failure.
    pub fn problem(&self) -> Option<FileProblem> {
        match &self.kind {
            SourceFileErrorKind::TooLarge { limit } => Some(FileProblem::TooLarge { size: None, limit: *limit as u64 }),
            SourceFileErrorKind::NotUtf8 { line, column } => {
                Some(FileProblem::NotUtf8 { line: Some(*line), column: Some(*column) })
            }
            SourceFileErrorKind::NotRegular { kind } => Some(FileProblem::NotRegular { kind: (*kind).to_owned() }),
            SourceFileErrorKind::OutsideRoot { target, .. } => {
                Some(FileProblem::OutsideRoot { target: target.display().to_string() })
            }
            SourceFileErrorKind::NotFound | SourceFileErrorKind::UnsafePath | SourceFileErrorKind::Io(_) => None,
        }
    }

    /// The problem as a diagnostic at line 1, column 1 of `file` (how the file is named to
    /// the user), when it is the file's own fault; see [`Self::problem`].
    pub fn diagnostic(&self, file: &str) -> Option<Diagnostic> {
        self.problem().map(|p| Diagnostic::whole_file(file, &p))
    }
}

/// Reads the text file at `path` (symbolic links followed), refusing anything that is not a
/// regular file, is larger than `limit` bytes or is not UTF-8.
pub fn read(path: &Path, limit: usize) -> Result<String, SourceFileError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    regular(path, &meta.file_type())?;
    read_opened(path, open(path, false)?, limit)
}

/// Reads `relative` under `root`, like [`read`], but refuses a path that leaves the root,
/// itself or through a symbolic link. `Ok(None)` when there is no such file.
pub fn read_in(root: &Path, relative: &str, limit: usize) -> Result<Option<String>, SourceFileError> {
    let full = root.join(relative);
    let unsafe_path =
        Path::new(relative).components().any(|c| !matches!(c, Component::Normal(_)) && !matches!(c, Component::CurDir))
            || relative.is_empty()
            || relative.split('/').any(str::is_empty);
    if unsafe_path {
        return Err(SourceFileError::new(&full, SourceFileErrorKind::UnsafePath));
    }
    match std::fs::symlink_metadata(&full) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&full, e)),
    }
    let canonical_root = root.canonicalize().map_err(|e| io_error(root, e))?;
    let target = match full.canonicalize() {
        Ok(t) => t,
        // A dangling link: there is no file to read.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&full, e)),
    };
    if !target.starts_with(&canonical_root) {
        return Err(SourceFileError::new(&full, SourceFileErrorKind::OutsideRoot { target, root: canonical_root }));
    }
    let meta = std::fs::metadata(&target).map_err(|e| io_error(&full, e))?;
    regular(&full, &meta.file_type())?;
    // The canonical path has no link left in it; O_NOFOLLOW refuses one swapped in since.
    let file = open(&target, true).map_err(|e| SourceFileError::new(&full, e.kind))?;
    read_opened(&full, file, limit).map(Some)
}

fn io_error(path: &Path, e: std::io::Error) -> SourceFileError {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        SourceFileErrorKind::NotFound
    } else {
        SourceFileErrorKind::Io(e)
    };
    SourceFileError::new(path, kind)
}

/// `O_NOFOLLOW`: the open fails if the last component is a symbolic link.
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NOFOLLOW: i32 = 0o400000;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const O_NOFOLLOW: i32 = 0x0100;

fn open(path: &Path, no_follow: bool) -> Result<File, SourceFileError> {
    let flags = O_NONBLOCK | O_NOCTTY | if no_follow { O_NOFOLLOW } else { 0 };
    OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(|e| io_error(path, e))
}

fn regular(path: &Path, file_type: &std::fs::FileType) -> Result<(), SourceFileError> {
    let kind = if file_type.is_file() {
        return Ok(());
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(SourceFileError::new(path, SourceFileErrorKind::NotRegular { kind }))
}

fn read_opened(path: &Path, file: File, limit: usize) -> Result<String, SourceFileError> {
    // Checked again on the handle: the path may have been swapped since its metadata was read.
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    regular(path, &meta.file_type())?;
    if meta.len() > limit as u64 {
        return Err(SourceFileError::new(path, SourceFileErrorKind::TooLarge { limit }));
    }
    let mut bytes = Vec::with_capacity(limit.min(meta.len() as usize) + 1);
    file.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(|e| io_error(path, e))?;
    if bytes.len() > limit {
        return Err(SourceFileError::new(path, SourceFileErrorKind::TooLarge { limit }));
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = invalid_utf8_at(&e);
        SourceFileError::new(path, SourceFileErrorKind::NotUtf8 { line, column })
    })
}

/// Where (1-based line and column) the first byte that is not UTF-8 is.
pub fn invalid_utf8_at(error: &std::string::FromUtf8Error) -> (u64, u64) {
    position_after(&error.as_bytes()[..error.utf8_error().valid_up_to()])
}

/// The 1-based line and column (in characters) just after `valid`, which is UTF-8.
fn position_after(valid: &[u8]) -> (u64, u64) {
    let text = std::str::from_utf8(valid).unwrap_or_default();
    let line = text.matches('\n').count() as u64 + 1;
    let last = text.rsplit('\n').next().unwrap_or_default();
    (line, last.chars().count() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 * 1024;

    fn kind(result: Result<impl fmt::Debug, SourceFileError>) -> SourceFileErrorKind {
        result.expect_err("should be refused").kind
    }

    #[test]
    fn a_small_utf8_file_is_read_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("v.yml");
        std::fs::write(&path, "a: ✓\n").expect("write");
        assert_eq!(read(&path, LIMIT).expect("read"), "a: ✓\n");
        std::fs::write(&path, "x".repeat(LIMIT)).expect("write");
        assert_eq!(read(&path, LIMIT).expect("exactly the limit").len(), LIMIT);
    }

    #[test]
    fn one_byte_over_the_limit_is_too_large() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("v.yml");
        std::fs::write(&path, "x".repeat(LIMIT + 1)).expect("write");
        let err = read(&path, LIMIT).expect_err("too large");
        assert!(matches!(err.kind, SourceFileErrorKind::TooLarge { limit: LIMIT }), "{err}");
        assert_eq!(err.to_string(), format!("can't read `{}`: it is larger than the 65536-byte limit", path.display()));
        let d = err.diagnostic("v.yml").expect("a file problem");
        assert_eq!((d.line, d.column), (1, 1));
    }

    #[test]
    fn dev_zero_is_refused_without_reading_it() {
        let err = read(Path::new("/dev/zero"), LIMIT).expect_err("a device");
        assert!(matches!(err.kind, SourceFileErrorKind::NotRegular { kind: "a character device" }), "{err}");
        assert_eq!(
            err.diagnostic("/dev/zero").expect("problem").message,
            "`/dev/zero` is a character device, not a regular file"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tmp");
        let fifo = dir.path().join("variables.yml");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
        assert!(status.success(), "mkfifo failed");
        let started = std::time::Instant::now();
        assert!(matches!(kind(read(&fifo, LIMIT)), SourceFileErrorKind::NotRegular { kind: "a FIFO" }));
        assert!(matches!(
            kind(read_in(dir.path(), "variables.yml", LIMIT)),
            SourceFileErrorKind::NotRegular { kind: "a FIFO" }
        ));
        // Opening the handle itself (the race the metadata check cannot close) does not block.
        let err = read_opened(&fifo, open(&fifo, true).expect("non-blocking open"), LIMIT).expect_err("fifo");
        assert!(matches!(err.kind, SourceFileErrorKind::NotRegular { kind: "a FIFO" }));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        assert!(matches!(kind(read(dir.path(), LIMIT)), SourceFileErrorKind::NotRegular { kind: "a directory" }));
    }

    #[test]
    fn invalid_utf8_is_refused_at_its_place() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("v.yml");
        std::fs::write(&path, b"a: 1\nb: \xc3\xa9\xff\n").expect("write");
        let err = read(&path, LIMIT).expect_err("latin-1");
        assert!(matches!(err.kind, SourceFileErrorKind::NotUtf8 { line: 2, column: 5 }), "{err}");
        let d = err.diagnostic("v.yml").expect("problem");
        assert_eq!((d.line, d.column), (2, 5), "the error's place is the message's (issue 21, item 15)");
        assert!(d.message.contains("line 2, column 5"), "{}", d.message);
    }

    #[test]
    fn links_may_not_leave_the_root() {
        let outside = tempfile::tempdir().expect("tmp");
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "token").expect("write");
        let root = tempfile::tempdir().expect("tmp");
        let infra = root.path().join("infra");
        std::fs::create_dir(&infra).expect("mkdir");
        std::os::unix::fs::symlink(&secret, infra.join("variables.yml")).expect("link");
        let err = read_in(root.path(), "infra/variables.yml", LIMIT).expect_err("escapes");
        assert!(matches!(err.kind, SourceFileErrorKind::OutsideRoot { .. }), "{err}");
        assert!(err.to_string().contains("outside"), "{err}");

        // A linked directory on the way out is refused the same way.
        let root2 = tempfile::tempdir().expect("tmp");
        std::os::unix::fs::symlink(outside.path(), root2.path().join("infra")).expect("link");
        assert!(matches!(kind(read_in(root2.path(), "infra/secret", LIMIT)), SourceFileErrorKind::OutsideRoot { .. }));

        // A link that stays inside is fine; a dangling one is no file.
        std::fs::write(infra.join("real.yml"), "a: 1\n").expect("write");
        std::fs::remove_file(infra.join("variables.yml")).expect("rm");
        std::os::unix::fs::symlink("real.yml", infra.join("variables.yml")).expect("link");
        assert_eq!(read_in(root.path(), "infra/variables.yml", LIMIT).expect("inside").as_deref(), Some("a: 1\n"));
        std::os::unix::fs::symlink("nowhere.yml", infra.join("dangling.yml")).expect("link");
        assert!(read_in(root.path(), "infra/dangling.yml", LIMIT).expect("no file").is_none());

        // Without a root (`validate FILE`), links are followed.
        assert_eq!(read(&secret, LIMIT).expect("followed"), "token");
    }

    #[test]
    fn relative_paths_that_climb_out_are_refused_and_missing_files_are_none() {
        let root = tempfile::tempdir().expect("tmp");
        for bad in ["../x", "/etc/passwd", "a//b", "", "a/../../b"] {
            assert!(matches!(kind(read_in(root.path(), bad, LIMIT)), SourceFileErrorKind::UnsafePath), "{bad}");
        }
        assert!(read_in(root.path(), "infra/variables.yml", LIMIT).expect("missing").is_none());
        assert!(matches!(kind(read(&root.path().join("nope"), LIMIT)), SourceFileErrorKind::NotFound));
    }
}
