//! Skill archives (zip, tar, tar.gz): every entry is checked before anything is extracted —
//! no path that climbs out (`../`) or starts at the root, no links (symbolic or hard), no
//! devices or pipes, and limits on the number of entries and their total size — and the
//! extraction then holds each entry to the size its header declared (a lying header cannot
//! inflate a file past the limits).

use std::fs;
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The archive file itself.
const MAX_ARCHIVE_BYTES: u64 = 256 * 1024 * 1024;
/// Entries in one archive (a repository snapshot with several skills fits easily).
const MAX_ENTRIES: usize = 20_000;
/// Everything the archive unpacks to.
const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Zip,
    Tar,
    TarGz,
}

/// What kind of archive `path` is, by its first bytes (and its name for plain tar).
pub(crate) fn kind_of(path: &Path) -> Option<Kind> {
    let mut head = [0u8; 512];
    let n = fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut head))
        .ok()?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Kind::TarGz);
    }
    if n >= 262 && &head[257..262] == b"ustar" {
        return Some(Kind::Tar);
    }
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".tar").then_some(Kind::Tar)
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// One entry as checked: where it goes (relative, clean) and what it is.
struct Entry {
    rel: PathBuf,
    dir: bool,
    exec: bool,
    size: u64,
}

fn refuse(archive: &Path, reason: impl Into<String>) -> Error {
    Error::Archive {
        path: archive.to_path_buf(),
        reason: reason.into(),
    }
}

/// A relative path with only normal parts; `None` for `..`, a root or a drive.
fn clean(name: &str) -> Option<PathBuf> {
    // Some zip tools write `\`; a name is judged with either separator.
    let name = name.replace('\\', "/");
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(&name).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn check_totals(archive: &Path, entries: &[Entry]) -> Result<()> {
    if entries.len() > MAX_ENTRIES {
        return Err(refuse(archive, format!("more than {MAX_ENTRIES} entries")));
    }
    let total: u64 = entries.iter().map(|e| e.size).fold(0, u64::saturating_add);
    if total > MAX_UNPACKED_BYTES {
        return Err(refuse(
            archive,
            format!(
                "it unpacks to more than {} MiB",
                MAX_UNPACKED_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(())
}

/// Checks the whole archive, then extracts it into `dst` (an empty folder).
pub(crate) fn extract(archive: &Path, dst: &Path) -> Result<()> {
    let meta = fs::metadata(archive).map_err(Error::io(archive, "open the archive"))?;
    if meta.len() > MAX_ARCHIVE_BYTES {
        return Err(refuse(
            archive,
            format!("larger than {} MiB", MAX_ARCHIVE_BYTES / (1024 * 1024)),
        ));
    }
    match kind_of(archive) {
        Some(Kind::Zip) => zip_extract(archive, dst),
        Some(kind) => tar_extract(archive, dst, kind),
        None => Err(refuse(archive, "not a zip, tar or tar.gz archive")),
    }
}

// ---- zip ----------------------------------------------------------------------------------

fn zip_open(archive: &Path) -> Result<zip::ZipArchive<fs::File>> {
    let file = fs::File::open(archive).map_err(Error::io(archive, "open the archive"))?;
    zip::ZipArchive::new(file).map_err(|e| refuse(archive, format!("not a readable zip: {e}")))
}

/// File-type bits of a Unix mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

fn zip_entries<R: Read + Seek>(archive: &Path, zip: &mut zip::ZipArchive<R>) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(zip.len());
    if zip.len() > MAX_ENTRIES {
        return Err(refuse(archive, format!("more than {MAX_ENTRIES} entries")));
    }
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|e| refuse(archive, format!("entry {i} is unreadable: {e}")))?;
        let name = f.name().to_owned();
        let rel = clean(&name).ok_or_else(|| {
            refuse(
                archive,
                format!("the entry {name:?} would be written outside the folder"),
            )
        })?;
        let mode = f.unix_mode();
        let dir = match mode.map(|m| m & S_IFMT) {
            Some(S_IFLNK) => {
                return Err(refuse(
                    archive,
                    format!("the entry {name:?} is a symbolic link"),
                ));
            }
            Some(S_IFDIR) => true,
            Some(S_IFREG) | None | Some(0) => f.is_dir(),
            Some(_) => {
                return Err(refuse(
                    archive,
                    format!("the entry {name:?} is a special file (device, pipe or socket)"),
                ));
            }
        };
        out.push(Entry {
            rel,
            dir,
            exec: mode.is_some_and(|m| m & 0o111 != 0),
            size: f.size(),
        });
    }
    check_totals(archive, &out)?;
    Ok(out)
}

fn zip_extract(archive: &Path, dst: &Path) -> Result<()> {
    let mut zip = zip_open(archive)?;
    let entries = zip_entries(archive, &mut zip)?;
    for (i, e) in entries.iter().enumerate() {
        let target = dst.join(&e.rel);
        if e.dir || e.rel.as_os_str().is_empty() {
            fs::create_dir_all(&target).map_err(Error::io(&target, "create the folder"))?;
            continue;
        }
        let mut f = zip.by_index(i).map_err(|err| {
            refuse(
                archive,
                format!("entry {} is unreadable: {err}", e.rel.display()),
            )
        })?;
        super::tree::write_file(&mut f, &target, e.exec, e.size).map_err(|err| match err {
            Error::Source { reason, .. } => {
                refuse(archive, format!("{}: {reason}", e.rel.display()))
            }
            other => other,
        })?;
    }
    Ok(())
}

// ---- tar ----------------------------------------------------------------------------------

fn tar_open(archive: &Path, kind: Kind) -> Result<tar::Archive<Box<dyn Read>>> {
    let file = fs::File::open(archive).map_err(Error::io(archive, "open the archive"))?;
    let reader: Box<dyn Read> = match kind {
        Kind::TarGz => Box::new(flate2::read::GzDecoder::new(file)),
        Kind::Tar | Kind::Zip => Box::new(file),
    };
    Ok(tar::Archive::new(reader))
}

/// Reads the tar's headers (and skips its contents) to check every entry.
fn tar_check(archive: &Path, kind: Kind) -> Result<Vec<Entry>> {
    let mut tar = tar_open(archive, kind)?;
    let broken = |e: std::io::Error| refuse(archive, format!("not a readable tar archive: {e}"));
    let mut out = Vec::new();
    for entry in tar.entries().map_err(broken)? {
        let entry = entry.map_err(broken)?;
        let path = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        let rel = clean(&path).ok_or_else(|| {
            refuse(
                archive,
                format!("the entry {path:?} would be written outside the folder"),
            )
        })?;
        let header = entry.header();
        let dir = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => false,
            tar::EntryType::Directory => true,
            tar::EntryType::Symlink => {
                return Err(refuse(
                    archive,
                    format!("the entry {path:?} is a symbolic link"),
                ));
            }
            tar::EntryType::Link => {
                return Err(refuse(
                    archive,
                    format!("the entry {path:?} is a hard link"),
                ));
            }
            other => {
                return Err(refuse(
                    archive,
                    format!("the entry {path:?} is not a file or folder ({other:?})"),
                ));
            }
        };
        let size = header.size().map_err(broken)?;
        let exec = header.mode().is_ok_and(|m| m & 0o111 != 0);
        out.push(Entry {
            rel,
            dir,
            exec,
            size,
        });
        if out.len() > MAX_ENTRIES {
            return Err(refuse(archive, format!("more than {MAX_ENTRIES} entries")));
        }
    }
    check_totals(archive, &out)?;
    Ok(out)
}

fn tar_extract(archive: &Path, dst: &Path, kind: Kind) -> Result<()> {
    let checked = tar_check(archive, kind)?;
    let mut tar = tar_open(archive, kind)?;
    let broken = |e: std::io::Error| refuse(archive, format!("not a readable tar archive: {e}"));
    // The second pass sees the same entries in the same order (the file is not ours to change,
    // but a changed file shows as a mismatch and is refused).
    let mut entries = tar.entries().map_err(broken)?;
    for e in &checked {
        let mut entry = entries
            .next()
            .ok_or_else(|| refuse(archive, "the archive changed while it was read"))?
            .map_err(broken)?;
        let same = entry
            .path()
            .ok()
            .and_then(|p| clean(&p.to_string_lossy()))
            .is_some_and(|p| p == e.rel);
        if !same {
            return Err(refuse(archive, "the archive changed while it was read"));
        }
        let target = dst.join(&e.rel);
        if e.dir || e.rel.as_os_str().is_empty() {
            fs::create_dir_all(&target).map_err(Error::io(&target, "create the folder"))?;
            continue;
        }
        super::tree::write_file(&mut entry, &target, e.exec, e.size).map_err(|err| match err {
            Error::Source { reason, .. } => {
                refuse(archive, format!("{}: {reason}", e.rel.display()))
            }
            other => other,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_paths_that_climb_out() {
        assert_eq!(clean("a/./b.md"), Some(PathBuf::from("a/b.md")));
        assert_eq!(clean("./"), Some(PathBuf::new()));
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\..\\..\\x",
            "a/..",
        ] {
            assert_eq!(clean(bad), None, "{bad}");
        }
    }
}
