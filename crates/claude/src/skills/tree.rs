//! Copying a skill's folder: files are copied (never linked back to the source), with limits
//! on how much, and each file's SHA-256 recorded so a later update can tell what changed.
//!
//! Symbolic links inside a source folder or repository: a link to a file or folder *inside* the
//! source is copied as what it points to (many skill repositories share a script that way); a
//! link that leads out of the source, or to nothing, is refused, as are sockets, devices and
//! pipes. `.git` is never copied. (Archives are stricter: a link entry refuses the whole archive,
//! see [`super::archive`].)

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How much one skill may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_files: usize,
    pub(crate) max_bytes: u64,
}

/// A skill is instructions and a few scripts or references: 2,000 files or 50 MiB is far past
/// any published one, and well short of a `node_modules` copied by mistake.
pub(crate) const SKILL: Limits = Limits {
    max_files: 2_000,
    max_bytes: 50 * 1024 * 1024,
};

/// Folders never copied: version control.
const SKIPPED: &[&str] = &[".git"];

/// Relative path (with `/`) → SHA-256 of every file.
pub(crate) type Hashes = BTreeMap<String, String>;

struct Walk<'a> {
    root: PathBuf,
    limits: Limits,
    files: usize,
    bytes: u64,
    hashes: Hashes,
    /// Folders being copied, to stop a link cycle.
    stack: Vec<PathBuf>,
    dst: &'a Path,
}

/// Copies folder `src` to `dst` (created), where links may point anywhere under `root` (the
/// source's top: the repository, archive or folder). Returns the files' hashes.
pub(crate) fn copy(src: &Path, root: &Path, dst: &Path, limits: Limits) -> Result<Hashes> {
    let root = root
        .canonicalize()
        .map_err(Error::io(root, "open the source folder"))?;
    let mut walk = Walk {
        root,
        limits,
        files: 0,
        bytes: 0,
        hashes: Hashes::new(),
        stack: Vec::new(),
        dst,
    };
    fs::create_dir_all(dst).map_err(Error::io(dst, "create the folder"))?;
    walk.dir(src, "")?;
    Ok(walk.hashes)
}

impl Walk<'_> {
    fn refuse(&self, path: &Path, reason: impl Into<String>) -> Error {
        Error::Source {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn dir(&mut self, dir: &Path, rel: &str) -> Result<()> {
        let real = dir
            .canonicalize()
            .map_err(Error::io(dir, "open the folder"))?;
        if self.stack.contains(&real) {
            return Err(self.refuse(dir, "a symbolic link makes a cycle"));
        }
        self.stack.push(real);
        let mut entries: Vec<_> = fs::read_dir(dir)
            .map_err(Error::io(dir, "list the folder"))?
            .collect::<std::io::Result<_>>()
            .map_err(Error::io(dir, "list the folder"))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        fs::create_dir_all(self.dst.join(rel))
            .map_err(Error::io(self.dst.join(rel), "create the folder"))?;
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if SKIPPED.contains(&name.as_ref()) {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(Error::io(&path, "read"))?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target = path.canonicalize().map_err(|_| {
                    self.refuse(
                        &path,
                        format!("the symbolic link {child_rel} points to nothing"),
                    )
                })?;
                if !target.starts_with(&self.root) {
                    return Err(self.refuse(
                        &path,
                        format!(
                            "the symbolic link {child_rel} leads out of the source (to {})",
                            target.display()
                        ),
                    ));
                }
                let tmeta = fs::metadata(&target).map_err(Error::io(&target, "read"))?;
                if tmeta.is_dir() {
                    self.dir(&target, &child_rel)?;
                } else if tmeta.is_file() {
                    self.file(&target, &child_rel, &tmeta)?;
                } else {
                    return Err(self.refuse(&path, format!("{child_rel} is not a file or folder")));
                }
            } else if ft.is_dir() {
                self.dir(&path, &child_rel)?;
            } else if ft.is_file() {
                self.file(&path, &child_rel, &meta)?;
            } else {
                return Err(self.refuse(
                    &path,
                    format!("{child_rel} is a special file (socket, device or pipe)"),
                ));
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn file(&mut self, src: &Path, rel: &str, meta: &fs::Metadata) -> Result<()> {
        self.files += 1;
        self.bytes += meta.len();
        if self.files > self.limits.max_files {
            return Err(self.refuse(src, format!("more than {} files", self.limits.max_files)));
        }
        if self.bytes > self.limits.max_bytes {
            return Err(self.refuse(
                src,
                format!("more than {} MiB", self.limits.max_bytes / (1024 * 1024)),
            ));
        }
        let dst = self.dst.join(rel);
        let hash = copy_file(src, &dst, executable(meta))?;
        self.hashes.insert(rel.to_owned(), hash);
        Ok(())
    }
}

#[cfg(unix)]
fn executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_meta: &fs::Metadata) -> bool {
    false
}

/// Copies one file's bytes (not its owner or times), 0755 if executable else 0644, and returns
/// its SHA-256.
pub(crate) fn copy_file(src: &Path, dst: &Path, exec: bool) -> Result<String> {
    let mut input = fs::File::open(src).map_err(Error::io(src, "open"))?;
    write_file(&mut input, dst, exec, u64::MAX).map(|(hash, _)| hash)
}

/// Writes what `input` yields (at most `limit` bytes: more is an error) to a new file `dst`.
/// Returns its SHA-256 and length.
pub(crate) fn write_file(
    input: &mut dyn std::io::Read,
    dst: &Path,
    exec: bool,
    limit: u64,
) -> Result<(String, u64)> {
    use sha2::Digest as _;
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(Error::io(parent, "create the folder"))?;
    }
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)
        .map_err(Error::io(dst, "create"))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut limited = input.take(limit.saturating_add(1));
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(Error::io(dst, "read the source of"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(Error::Source {
                path: dst.to_path_buf(),
                reason: "the file is larger than its archive entry says".to_owned(),
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Error::io(dst, "write"))?;
    }
    out.sync_all().map_err(Error::io(dst, "write"))?;
    set_mode(dst, exec)?;
    Ok((hex(&hasher.finalize()), total))
}

#[cfg(unix)]
fn set_mode(path: &Path, exec: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = if exec { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(Error::io(path, "set the permissions of"))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _exec: bool) -> Result<()> {
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hashes of every file under `dir` as it is now (links followed, `.git` skipped), without
/// copying; `None` for an unreadable tree.
pub(crate) fn hashes(dir: &Path) -> Option<Hashes> {
    fn walk(dir: &Path, rel: &str, out: &mut Hashes, depth: usize) -> Option<()> {
        if depth > 32 {
            return None;
        }
        let mut entries: Vec<_> = fs::read_dir(dir)
            .ok()?
            .filter_map(std::result::Result::ok)
            .collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if SKIPPED.contains(&name.as_str()) {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let path = e.path();
            let meta = fs::metadata(&path).ok()?;
            if meta.is_dir() {
                walk(&path, &child, out, depth + 1)?;
            } else {
                use sha2::Digest as _;
                let bytes = fs::read(&path).ok()?;
                out.insert(child, hex(&sha2::Sha256::digest(&bytes)));
            }
        }
        Some(())
    }
    let mut out = Hashes::new();
    walk(dir, "", &mut out, 0)?;
    Some(out)
}

/// What differs between two trees.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub modified: Vec<String>,
}

impl Diff {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

pub(crate) fn diff(old: &Hashes, new: &Hashes) -> Diff {
    let mut d = Diff::default();
    for (path, hash) in new {
        match old.get(path) {
            None => d.added.push(path.clone()),
            Some(h) if h != hash => d.modified.push(path.clone()),
            Some(_) => {}
        }
    }
    d.removed = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .cloned()
        .collect();
    d
}
