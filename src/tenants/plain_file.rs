//! Tenant files in the manager checkout are plain files: a write below the checkout never
//! follows a symbolic link. [`replace`] refuses a linked directory on the way to the file and
//! puts the new content in place by renaming a fresh file over the old entry, so a link
//! there is replaced, never written through. (Reading is Git's side: `ManagerRepo::read`
//! refuses a link, mode `120000`, and a blob over the size limit before reading it.)

use std::io::Write as _;
use std::path::{Component, Path};

/// Makes `relative` below `root` hold `content` (or be gone, for `None`) without
/// following any link: every directory on the way must be a real directory (a missing one
/// is created), and the file itself is replaced by rename, so a link at its place is
/// replaced, not written through.
pub fn replace(root: &Path, relative: &str, content: Option<&[u8]>) -> std::io::Result<()> {
    walk(root, relative, true)?;
    let file = root.join(relative);
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return Err(refused("an empty path".to_owned()));
    };
    let Some(bytes) = content else {
        // Removes a link itself, never what it points at.
        return std::fs::remove_file(&file)
            .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) });
    };
    // A new file of its own (`O_CREAT | O_EXCL` never follows a link), then renamed over
    // the old entry.
    let temp = dir.join(format!(".{}.infra-manager-{:08x}", name.to_string_lossy(), fastrand::u32(..)));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, &file));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Whether [`replace`] could write `relative` below `root`, found without writing: run
/// before anything is committed, so a linked directory in the work tree refuses the
/// request instead of leaving a moved branch with a work tree that could not follow.
pub fn check(root: &Path, relative: &str) -> std::io::Result<()> {
    walk(root, relative, false)
}

/// Checks every directory on the way to `relative` is a real directory (creating the
/// missing ones when `create`) and the file's place is not a directory.
fn walk(root: &Path, relative: &str, create: bool) -> std::io::Result<()> {
    let relative = Path::new(relative);
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            _ => return Err(refused(format!("`{}` is not a plain path below the checkout", relative.display()))),
        }
    }
    let Some((name, dirs)) = parts.split_last() else {
        return Err(refused("an empty path".to_owned()));
    };
    let mut dir = root.to_path_buf();
    for part in dirs {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refused(format!("`{}` is a symbolic link; tenant files are plain files", dir.display())));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(refused(format!("`{}` is not a directory", dir.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => std::fs::create_dir(&dir)?,
            // Missing: nothing below it can be a link either.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let file = dir.join(name);
    if std::fs::symlink_metadata(&file).is_ok_and(|meta| meta.is_dir()) {
        return Err(refused(format!("`{}` is a directory", file.display())));
    }
    Ok(())
}

fn refused(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_file_is_replaced_and_its_target_left_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "kept").expect("write");
        std::fs::create_dir(root.path().join("tenants")).expect("mkdir");
        let link = root.path().join("tenants/a.yml");
        std::os::unix::fs::symlink(&secret, &link).expect("link");
        replace(root.path(), "tenants/a.yml", Some(b"new")).expect("replaced");
        assert_eq!(std::fs::read_to_string(&secret).expect("read"), "kept", "nothing written through the link");
        assert!(!std::fs::symlink_metadata(&link).expect("meta").file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&link).expect("read"), "new");
        // Removing a link removes the link.
        std::fs::remove_file(&link).expect("rm");
        std::os::unix::fs::symlink(&secret, &link).expect("link");
        replace(root.path(), "tenants/a.yml", None).expect("removed");
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert_eq!(std::fs::read_to_string(&secret).expect("read"), "kept");
        let left: Vec<_> = std::fs::read_dir(root.path().join("tenants")).expect("dir").collect();
        assert!(left.is_empty(), "no temporary file left: {left:?}");
    }

    #[test]
    fn a_linked_directory_on_the_way_is_refused_before_any_write() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), root.path().join("tenants")).expect("link");
        let error = replace(root.path(), "tenants/a.yml", Some(b"new")).expect_err("refused");
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let early = check(root.path(), "tenants/a.yml").expect_err("refused before any commit");
        assert!(early.to_string().contains("is a symbolic link"), "{early}");
        let fresh = tempfile::tempdir().expect("tempdir");
        check(fresh.path(), "tenants/a.yml").expect("a missing directory is fine");
        assert!(!fresh.path().join("tenants").exists(), "check creates nothing");
        assert_eq!(std::fs::read_dir(outside.path()).expect("dir").count(), 0, "nothing written outside");
        for bad in ["../a.yml", "/etc/a.yml", "tenants/../../a.yml", ""] {
            assert!(replace(root.path(), bad, Some(b"x")).is_err(), "{bad}");
        }
    }
}
