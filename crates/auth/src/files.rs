//! Small files only their owner may read (the admin credential, the master key), written so that
//! they are never readable by anyone else, not even for an instant: the bytes go to a fresh
//! temporary name created with mode 0600 (`O_CREAT | O_EXCL`, so a planted file or symlink is
//! refused, not followed), are flushed to disk, then move to their name in one step.
//!
//! On other platforms than Unix the files are written the same way without a mode: their
//! protection is the data directory's ACL.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::token::random_bytes;

/// Mode bits of a private file.
#[cfg(unix)]
const PRIVATE_MODE: u32 = 0o600;

/// The contents of a private file, and whether others may read or write it.
pub(crate) struct Private {
    pub(crate) contents: zeroize::Zeroizing<String>,
    /// The mode's group and other bits, when any are set (Unix only); `None` otherwise.
    pub(crate) loose_mode: Option<u32>,
}

/// Reads `path`; `Ok(None)` when it does not exist. The mode is checked on the file that was
/// opened (`fstat`), not on the name, so a swap between the check and the read shows.
pub(crate) fn read(path: &Path) -> io::Result<Option<Private>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let loose_mode = loose_mode(&file.metadata()?);
    // The files are a line each; anything longer is not ours.
    let mut contents = zeroize::Zeroizing::new(String::new());
    (&file).take(4096).read_to_string(&mut contents)?;
    Ok(Some(Private {
        contents,
        loose_mode,
    }))
}

#[cfg(unix)]
fn loose_mode(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_: &fs::Metadata) -> Option<u32> {
    None
}

/// Creates `path` with `contents` unless it exists; `Ok(false)` when it did (two processes
/// starting at once: the first one's file stays, and both read it). The file appears whole:
/// it is linked to its name only once written.
pub(crate) fn create_new(path: &Path, contents: &str) -> io::Result<bool> {
    let tmp = write_temp(path, contents)?;
    // A hard link fails if the name exists, unlike a rename: the no-clobber, atomic publish.
    let created = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links (some network and FAT mounts): check, then rename.
        // Two processes creating the same file in the same instant could then both succeed,
        // the second one's file replacing the first's; only where hard links are missing.
        Err(_) if path.exists() => Ok(false),
        Err(_) => fs::rename(&tmp, path).map(|()| true),
    };
    let _ = fs::remove_file(&tmp);
    if matches!(created, Ok(true)) {
        sync_parent(path);
    }
    created
}

/// Writes `contents` to `path`, replacing any file there, in one step.
pub(crate) fn replace(path: &Path, contents: &str) -> io::Result<()> {
    let tmp = write_temp(path, contents)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path);
    Ok(())
}

/// Renames `from` over `to` and makes the rename durable.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_parent(to);
    Ok(())
}

/// Creates the directory (and its parents) if missing; a new directory gets mode 0700.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// `contents` in a new private file beside `path`, flushed to disk; returns its name.
fn write_temp(path: &Path, contents: &str) -> io::Result<PathBuf> {
    let suffix = hex::encode(random_bytes::<8>().map_err(io::Error::other)?);
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".tmp-{suffix}"));
    let tmp = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // The mode applies at creation (less the umask, which can only remove bits).
        options.mode(PRIVATE_MODE);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Flushes the directory entry of `path` so a rename or link survives a power cut. Best effort:
/// some platforms cannot open a directory.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The mode of `path` (Unix), for tests.
#[cfg(all(test, unix))]
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_writes_private_files_and_never_clobbers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        assert!(create_new(&path, "one\n").expect("create"));
        assert!(!create_new(&path, "two\n").expect("second create"));
        let read = read(&path).expect("read").expect("exists");
        assert_eq!(read.contents.as_str(), "one\n");
        assert_eq!(read.loose_mode, None);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let left: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["f"], "no temporary file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn loose_modes_are_reported_and_replace_tightens() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        fs::write(&path, "x").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let read = read(&path).expect("read").expect("exists");
        assert_eq!(read.loose_mode, Some(0o644));
        replace(&path, "y").expect("replace");
        assert_eq!(mode(&path), 0o600);
        assert!(
            super::read(dir.path().join("missing").as_path())
                .expect("read")
                .is_none()
        );
    }
}
