//! Reading and writing files without ever leaving one half-written: atomic replacement (a
//! temporary file in the same directory, fsynced, renamed over the old one, the directory
//! fsynced), optimistic read-modify-write against other writers, backups, and Switchboard's own
//! state files.
//!
//! # The concurrency window
//!
//! Claude Code rewrites `~/.claude.json` (and sometimes `settings.json`) while it runs, without a
//! lock anyone else could take. [`update`] therefore reads the file, computes the new text from
//! what it read (nothing is cached between calls), writes and fsyncs it to a temporary file,
//! looks at the file once more and starts over if it changed, renames, and re-reads the file to
//! check that the change is there (starting over if another writer's rename replaced it). The one
//! window left is between that last look and the rename — a read and a rename, microseconds: a
//! write another program completes inside it is replaced by ours. No lock-free scheme closes it
//! against a writer that takes no lock; Claude Code's own window (it rewrites the file from what
//! it read, without looking again) is its whole read-modify-write.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::json::parse::{Doc, SyntaxError, line_column, parse};

/// How many times [`update`] starts over before giving up with [`Error::Contended`].
pub(crate) const ATTEMPTS: u32 = 8;

/// The file's text, `None` when it does not exist. Text that is not UTF-8 is malformed (JSON
/// files are UTF-8), reported at the first bad byte.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..valid]);
                let (line, column) = line_column(&prefix, prefix.len());
                Err(Error::Malformed {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: "not UTF-8 text".to_owned(),
                })
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io {
            path: path.to_path_buf(),
            op: "read the file",
            source: e,
        }),
    }
}

/// Parses a JSON file's text whose root must be an object.
pub(crate) fn parse_object(path: &Path, text: &str) -> Result<Doc> {
    let doc = parse(text).map_err(
        |SyntaxError {
             line,
             column,
             message,
         }| Error::Malformed {
            path: path.to_path_buf(),
            line,
            column,
            message,
        },
    )?;
    if doc.root.members().is_none() {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            message: "the top level is not a JSON object".to_owned(),
        });
    }
    Ok(doc)
}

/// The file a path names, following symbolic links (a settings file kept in a dotfiles
/// repository and linked into place stays a link: the file it points to is replaced).
pub(crate) fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    fs::read_link(&current).map_err(Error::io(&current, "read the link"))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::Unsupported {
        path: path.to_path_buf(),
        message: "too many levels of symbolic links".to_owned(),
    })
}

/// Replaces the file at `path` with `contents` atomically. An existing file keeps its
/// permissions; a new one gets `new_mode` (Unix), and missing directories are created.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> Result<()> {
    prepare(path, contents, new_mode)?.commit()
}

/// New content written and synced next to its file, waiting to be renamed over it (dropped:
/// the temporary file is removed and the file is untouched).
pub(crate) struct Prepared {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
}

/// The slow half of an atomic write (create, write, fsync), done before the last check for
/// other writers so that the window between that check and the rename stays short.
pub(crate) fn prepare(path: &Path, contents: &[u8], new_mode: u32) -> Result<Prepared> {
    let target = resolve_links(path)?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    fs::create_dir_all(&dir).map_err(Error::io(&dir, "create the directory"))?;
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.switchboard-"))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(Error::io(&dir, "create a temporary file in"))?;
    let permissions = match fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(_) => new_permissions(new_mode),
    };
    if let Some(permissions) = permissions {
        fs::set_permissions(tmp.path(), permissions)
            .map_err(Error::io(tmp.path(), "set the permissions of"))?;
    }
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(Error::io(tmp.path(), "write"))?;
    Ok(Prepared { tmp, target, dir })
}

impl Prepared {
    /// Renames the new content over the file and syncs the directory.
    pub(crate) fn commit(self) -> Result<()> {
        let Prepared { tmp, target, dir } = self;
        tmp.persist(&target).map_err(|e| Error::Io {
            path: target.clone(),
            op: "replace the file",
            source: e.error,
        })?;
        sync_dir(&dir);
        Ok(())
    }
}

#[cfg(unix)]
fn new_permissions(mode: u32) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn new_permissions(_mode: u32) -> Option<fs::Permissions> {
    None
}

/// Makes a rename durable. Best effort: some file systems refuse to sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Updated {
    /// The edit needed no change.
    Unchanged,
    /// The file was written; `before` is what it held (`None`: it did not exist).
    Written { before: Option<String> },
    /// The file was deleted.
    Deleted { before: String },
}

/// The new content an edit wants: the text, or the file gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    Keep,
    Write(String),
    Delete,
}

/// Read-modify-write of `path` against concurrent writers (see the module docs). `edit` gets the
/// current text (`None`: no file) and says what it should become; `verify` checks, on the text
/// read back after the write, that the change is there.
pub(crate) fn update(
    path: &Path,
    new_mode: u32,
    edit: &mut dyn FnMut(Option<&str>) -> Result<Next>,
    verify: &dyn Fn(Option<&str>) -> bool,
) -> Result<Updated> {
    update_with_hook(path, new_mode, edit, verify, &mut |_| {})
}

/// [`update`] with a hook run after each edit is computed and before the file is compared
/// again: tests use it to play another writer at exactly that moment.
pub(crate) fn update_with_hook(
    path: &Path,
    new_mode: u32,
    edit: &mut dyn FnMut(Option<&str>) -> Result<Next>,
    verify: &dyn Fn(Option<&str>) -> bool,
    hook: &mut dyn FnMut(u32),
) -> Result<Updated> {
    for attempt in 0..ATTEMPTS {
        let before = read_text(path)?;
        let next = edit(before.as_deref())?;
        if next == Next::Keep {
            return Ok(Updated::Unchanged);
        }
        let prepared = match &next {
            Next::Write(text) => Some(prepare(path, text.as_bytes(), new_mode)?),
            Next::Keep | Next::Delete => None,
        };
        hook(attempt);
        // The last look for another writer: from here to the rename is the window.
        if read_text(path)? != before {
            continue;
        }
        match next {
            Next::Keep => {}
            Next::Write(_) => {
                if let Some(prepared) = prepared {
                    prepared.commit()?;
                }
                if verify(read_text(path)?.as_deref()) {
                    return Ok(Updated::Written { before });
                }
            }
            Next::Delete => {
                let target = resolve_links(path)?;
                match fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::Io {
                            path: target,
                            op: "remove the file",
                            source: e,
                        });
                    }
                }
                if let Some(dir) = target.parent() {
                    sync_dir(dir);
                }
                if let Some(before) = before {
                    return Ok(Updated::Deleted { before });
                }
                return Ok(Updated::Unchanged);
            }
        }
    }
    Err(Error::Contended {
        path: path.to_path_buf(),
        attempts: ATTEMPTS,
    })
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Saves `contents` as `<state_dir>/backups/<name>.<millis>` (0600) and keeps the newest `keep`
/// backups of that name. Returns the backup's path.
pub(crate) fn backup(
    state_dir: &Path,
    name: &str,
    contents: &[u8],
    keep: usize,
) -> Result<PathBuf> {
    let dir = state_dir.join("backups");
    create_private_dir(&dir)?;
    let stamp = now_millis();
    let mut path = dir.join(format!("{name}.{stamp:013}"));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{name}.{stamp:013}-{n}"));
        n += 1;
    }
    write_atomic(&path, contents, 0o600)?;
    let prefix = format!("{name}.");
    let mut existing: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(Error::io(&dir, "list"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    existing.sort();
    let excess = existing.len().saturating_sub(keep);
    for old in &existing[..excess] {
        let _ = fs::remove_file(old);
    }
    Ok(path)
}

/// Creates `dir` (and its parents), the last one 0700 on Unix when new.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(Error::io(dir, "create the directory"))
}

/// One of Switchboard's own JSON state files; a missing file is the default value.
pub(crate) fn read_state<T: DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match read_text(path)? {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::State {
            path: path.to_path_buf(),
            message: format!(
                "unreadable ({e}); move it away to start afresh (it records what Switchboard changed)"
            ),
        }),
    }
}

/// Writes one of Switchboard's state files (0600, in a 0700 directory), atomically.
pub(crate) fn write_state<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes(), 0o600)
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    #[test]
    fn starts_over_when_another_writer_gets_in_between() {
        let dir = tmp();
        let path = dir.path().join("f.json");
        fs::write(&path, "{\"n\": 0}").expect("seed");
        let mut calls = 0;
        let out = update_with_hook(
            &path,
            0o600,
            &mut |text| {
                calls += 1;
                let text = text.expect("exists");
                Ok(Next::Write(text.replace('}', ", \"ours\": 1}")))
            },
            &|text| text.is_some_and(|t| t.contains("ours")),
            &mut |attempt| {
                if attempt == 0 {
                    fs::write(&path, "{\"n\": 1}").expect("other writer");
                }
            },
        )
        .expect("update");
        assert_eq!(calls, 2);
        assert!(matches!(out, Updated::Written { .. }));
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "{\"n\": 1, \"ours\": 1}"
        );
    }

    #[test]
    fn gives_up_when_the_file_changes_every_time() {
        let dir = tmp();
        let path = dir.path().join("f.json");
        fs::write(&path, "0").expect("seed");
        let mut n = 0;
        let e = update_with_hook(
            &path,
            0o600,
            &mut |_| Ok(Next::Write("x".to_owned())),
            &|_| true,
            &mut |_| {
                n += 1;
                fs::write(&path, n.to_string()).expect("other writer");
            },
        )
        .expect_err("contended");
        assert!(matches!(
            e,
            Error::Contended {
                attempts: ATTEMPTS,
                ..
            }
        ));
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            ATTEMPTS.to_string()
        );
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_writes_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tmp();
        let real = dir.path().join("dotfiles").join("settings.json");
        fs::create_dir_all(real.parent().expect("parent")).expect("mkdir");
        fs::write(&real, "{}").expect("seed");
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink("dotfiles/settings.json", &link).expect("symlink");
        write_atomic(&link, b"{\"a\": 1}", 0o600).expect("write");
        assert!(
            fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).expect("read"), "{\"a\": 1}");
        let mode = fs::metadata(&real).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.path().join("new").join("f.json");
        write_atomic(&fresh, b"{}", 0o600).expect("write");
        let mode = fs::metadata(&fresh).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn reports_non_utf8_at_the_bad_byte() {
        let dir = tmp();
        let path = dir.path().join("f.json");
        fs::write(&path, b"{\n  \"a\": \"\xff\"\n}").expect("seed");
        let e = read_text(&path).expect_err("not utf-8");
        assert!(
            matches!(
                e,
                Error::Malformed {
                    line: 2,
                    column: 9,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn backups_keep_the_newest() {
        let dir = tmp();
        for i in 0..5 {
            backup(dir.path(), "settings.json", format!("{i}").as_bytes(), 3).expect("backup");
        }
        let mut names: Vec<String> = fs::read_dir(dir.path().join("backups"))
            .expect("list")
            .map(|e| fs::read_to_string(e.expect("entry").path()).expect("read"))
            .collect();
        names.sort();
        assert_eq!(names, ["2", "3", "4"]);
    }
}
