//! Where a skill comes from — a git repository, a local folder, an archive — and fetching it
//! into a temporary folder. The only thing in this crate that may reach the network is the
//! `git` binary run here for a remote repository.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::archive;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Git,
    Folder,
    Archive,
}

/// A skill's source as recorded in the manifest, enough to fetch it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// A URL git understands, or an absolute path.
    pub location: String,
    /// Branch, tag or commit (git only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A folder inside the source to look in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdir: Option<String>,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location)?;
        if let Some(r) = &self.reference {
            write!(f, " @ {r}")?;
        }
        if let Some(s) = &self.subdir {
            write!(f, " : {s}")?;
        }
        Ok(())
    }
}

/// Reads what the user typed as a source: an existing folder or archive, a URL git
/// understands (`https://`, `ssh://`, `git://`, `file://`, `user@host:path`, `….git`), or
/// GitHub's `owner/repo` and `https://github.com/owner/repo/tree/REF/PATH` forms.
pub fn classify(input: &str, reference: Option<&str>, subdir: Option<&str>) -> Result<Source> {
    if let Some(r) = reference {
        check_ref(r)?;
    }
    let subdir = subdir.map(check_subdir).transpose()?;
    let path = Path::new(input);
    if path.exists() {
        let abs = path
            .canonicalize()
            .map_err(Error::io(path, "open the source"))?;
        let location = abs.to_string_lossy().into_owned();
        if abs.is_dir() {
            // A ref names a commit: then the folder is read as a git repository.
            let kind = if reference.is_some() {
                SourceKind::Git
            } else {
                SourceKind::Folder
            };
            return Ok(Source {
                kind,
                location,
                reference: reference.map(str::to_owned),
                subdir,
            });
        }
        if archive::kind_of(&abs).is_none() {
            return Err(Error::invalid(
                format!("source {input:?}"),
                "is a file but not a zip, tar or tar.gz archive",
            ));
        }
        if reference.is_some() {
            return Err(Error::invalid("--ref", "applies to git repositories only"));
        }
        return Ok(Source {
            kind: SourceKind::Archive,
            location,
            reference: None,
            subdir,
        });
    }
    let git = |location: String, reference: Option<String>, subdir: Option<String>| Source {
        kind: SourceKind::Git,
        location,
        reference,
        subdir,
    };
    // https://github.com/OWNER/REPO/tree/REF[/PATH]: the browser's address of a folder.
    if let Some(rest) = input.strip_prefix("https://github.com/") {
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if parts.len() >= 4 && parts[2] == "tree" {
            let url = format!("https://github.com/{}/{}.git", parts[0], parts[1]);
            let tree_ref = parts[3].to_owned();
            check_ref(&tree_ref)?;
            let tree_path = (parts.len() > 4).then(|| parts[4..].join("/"));
            return Ok(git(
                url,
                reference.map(str::to_owned).or(Some(tree_ref)),
                subdir.or(tree_path),
            ));
        }
    }
    let lower = input.to_ascii_lowercase();
    let is_archive_url = [".zip", ".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    let has_scheme = [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "file://",
        "git+ssh://",
    ]
    .iter()
    .any(|s| lower.starts_with(s));
    if has_scheme && is_archive_url && !lower.starts_with("file://") {
        return Err(Error::invalid(
            format!("source {input:?}"),
            "an archive URL: download it, then install from the file",
        ));
    }
    let scp_like = input
        .split_once(':')
        .is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if has_scheme || scp_like || lower.ends_with(".git") {
        return Ok(git(input.to_owned(), reference.map(str::to_owned), subdir));
    }
    // OWNER/REPO on GitHub.
    let parts: Vec<&str> = input.split('/').collect();
    let word = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() == 2 && parts.iter().all(|p| word(p)) {
        return Ok(git(
            format!("https://github.com/{}/{}.git", parts[0], parts[1]),
            reference.map(str::to_owned),
            subdir,
        ));
    }
    Err(Error::invalid(
        format!("source {input:?}"),
        "is not an existing folder or archive, nor a git URL (https://…, ssh://…, file://…, user@host:path, OWNER/REPO)",
    ))
}

/// A git ref that cannot be taken for an option or smuggle anything.
fn check_ref(r: &str) -> Result<()> {
    if r.is_empty()
        || r.starts_with('-')
        || r.contains("..")
        || r.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
    {
        return Err(Error::invalid(
            "--ref",
            format!("{r:?} is not a branch, tag or commit name"),
        ));
    }
    Ok(())
}

/// A relative folder inside the source, with only plain parts.
fn check_subdir(s: &str) -> Result<String> {
    let trimmed = s.trim_end_matches('/');
    let ok = !trimmed.is_empty()
        && !trimmed.starts_with('/')
        && Path::new(trimmed)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !ok {
        return Err(Error::invalid(
            "--path",
            format!("{s:?} must be a folder inside the source (no `..`, not absolute)"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A source fetched into a temporary folder (or, for a local folder, read where it is).
pub(crate) struct Fetched {
    /// Where to look for skills (the source's top, or its `subdir`).
    pub(crate) root: PathBuf,
    /// The source's top: symbolic links may point anywhere under it.
    pub(crate) top: PathBuf,
    /// The commit checked out (git).
    pub(crate) commit: Option<String>,
    /// Removed when dropped.
    _tmp: Option<tempfile::TempDir>,
}

/// Fetches `source` (`git` is the binary to run for a repository).
pub(crate) fn fetch(source: &Source, git: &Path) -> Result<Fetched> {
    let (top, commit, tmp) = match source.kind {
        SourceKind::Folder => (PathBuf::from(&source.location), None, None),
        SourceKind::Archive => {
            let tmp = scratch()?;
            archive::extract(Path::new(&source.location), tmp.path())?;
            (tmp.path().to_path_buf(), None, Some(tmp))
        }
        SourceKind::Git => {
            let tmp = scratch()?;
            let dir = tmp.path().join("repo");
            let commit = clone(git, &source.location, source.reference.as_deref(), &dir)?;
            (dir, Some(commit), Some(tmp))
        }
    };
    let root = match &source.subdir {
        Some(sub) => {
            let root = top.join(sub);
            let inside = root
                .canonicalize()
                .ok()
                .zip(top.canonicalize().ok())
                .is_some_and(|(r, t)| r.starts_with(t));
            if !root.is_dir() || !inside {
                return Err(Error::NotFound(format!(
                    "no folder {sub:?} in {}",
                    source.location
                )));
            }
            root
        }
        None => top.clone(),
    };
    Ok(Fetched {
        root,
        top,
        commit,
        _tmp: tmp,
    })
}

fn scratch() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("switchboard-skill-")
        .tempdir()
        .map_err(Error::io(
            std::env::temp_dir(),
            "create a temporary folder in",
        ))
}

/// Runs git with prompts off (a private repository without credentials fails instead of
/// waiting for a password) and the `ext::` transport refused.
fn run_git(git: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(git)
        .args([
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git {
            args: args.join(" "),
            stderr: format!("cannot run {}: {e}", git.display()),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(Error::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Clones `url` into `dir` at `reference`, shallow where git allows it: a branch or tag in one
/// commit; a commit id with a full clone (servers need not serve an arbitrary commit shallowly).
/// Submodules are not fetched. Returns the commit checked out.
fn clone(git: &Path, url: &str, reference: Option<&str>, dir: &Path) -> Result<String> {
    let dir_s = dir.to_string_lossy();
    let shallow = match reference {
        Some(r) => run_git(
            git,
            &[
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--no-tags",
                "--single-branch",
                "--branch",
                r,
                "--",
                url,
                &dir_s,
            ],
        ),
        None => run_git(
            git,
            &[
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--no-tags",
                "--single-branch",
                "--",
                url,
                &dir_s,
            ],
        ),
    };
    match (shallow, reference) {
        (Ok(_), _) => {}
        (Err(e), None) => return Err(e),
        (Err(first), Some(r)) => {
            // Perhaps a commit id: clone everything, then check it out.
            let _ = std::fs::remove_dir_all(dir);
            run_git(
                git,
                &["clone", "--quiet", "--no-checkout", "--", url, &dir_s],
            )
            .map_err(|_| first)?;
            run_git(
                git,
                &["-C", &dir_s, "checkout", "--quiet", "--detach", r, "--"],
            )
            .map_err(|e| Error::Git {
                args: format!("checkout {r}"),
                stderr: format!("{r:?} is not a branch, tag or commit of {url}: {e}"),
            })?;
        }
    }
    run_git(git, &["-C", &dir_s, "rev-parse", "HEAD"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_git_forms() {
        let s = classify(
            "https://github.com/anthropics/skills/tree/main/skills/pdf",
            None,
            None,
        )
        .expect("tree url");
        assert_eq!(
            (
                s.location.as_str(),
                s.reference.as_deref(),
                s.subdir.as_deref()
            ),
            (
                "https://github.com/anthropics/skills.git",
                Some("main"),
                Some("skills/pdf")
            )
        );
        let s = classify("anthropics/skills", Some("v1"), Some("skills/x/")).expect("shorthand");
        assert_eq!(s.location, "https://github.com/anthropics/skills.git");
        assert_eq!(s.subdir.as_deref(), Some("skills/x"));
        for git in [
            "git@github.com:a/b.git",
            "ssh://git@host/x",
            "file:///tmp/nowhere/repo",
            "https://gitlab.example/a/b",
        ] {
            assert_eq!(classify(git, None, None).expect(git).kind, SourceKind::Git);
        }
    }

    #[test]
    fn refuses_what_it_cannot_or_must_not_use() {
        assert!(classify("https://example.com/skill.zip", None, None).is_err());
        assert!(classify("no/such/thing/here", None, None).is_err());
        assert!(classify("a/b", Some("--upload-pack=x"), None).is_err());
        assert!(classify("a/b", None, Some("../x")).is_err());
        assert!(classify("a/b", None, Some("/etc")).is_err());
    }
}
