//! Skills: install from a git repository, a folder or an archive into `~/.claude/skills/NAME/`
//! (or a project's `.claude/skills/NAME/`), list, show, update and remove them.
//!
//! An install fetches the source into a temporary folder, finds the skills in it (a `SKILL.md`
//! at the top, or in folders below), validates the chosen one ([`frontmatter`]), copies it into
//! a staging folder inside the skills folder, validates the copy, and renames it into place:
//! a skill appears whole or not at all, and a refused one leaves nothing behind. Files are
//! copied, never linked to the source ([`tree`] says what happens to links inside it).
//!
//! Switchboard records each install in `<state_dir>/skills.json` — the source (URL or path,
//! ref, subfolder), the commit, and every file's SHA-256 — so `update` can fetch the same
//! source again and say which files were added, removed or modified, and can tell a file the
//! user edited in place (which it will not overwrite without `force`).

pub mod archive;
pub mod frontmatter;
pub mod source;
pub mod tree;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use self::frontmatter::SkillMeta;
pub use self::source::{Source, SourceKind};
pub use self::tree::Diff;
use crate::error::{Error, Result};
use crate::fsx;
use crate::paths::{Paths, project_key};

/// Where skills go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `~/.claude/skills` (or under `CLAUDE_CONFIG_DIR`).
    User,
    /// `<project>/.claude/skills`.
    Project(PathBuf),
}

impl Target {
    /// The project's target, its folder resolved.
    pub fn project(dir: &Path) -> Result<Target> {
        Ok(Target::Project(project_key(dir)?))
    }

    #[must_use]
    pub fn dir(&self, paths: &Paths) -> PathBuf {
        match self {
            Target::User => paths.user_skills.clone(),
            Target::Project(p) => Paths::project_skills(p),
        }
    }

    fn scope(&self) -> &'static str {
        match self {
            Target::User => "user",
            Target::Project(_) => "project",
        }
    }
}

/// An install request.
#[derive(Debug, Clone)]
pub struct Install {
    /// What the user typed: a folder, an archive, a git URL, `OWNER/REPO`.
    pub source: String,
    /// Branch, tag or commit (git).
    pub reference: Option<String>,
    /// A folder inside the source to look in.
    pub subdir: Option<String>,
    /// The skill to pick when the source holds several (its name or its folder's).
    pub name: Option<String>,
    /// Install every skill of the source.
    pub all: bool,
    /// Replace a skill of the same name (after its files were compared: see [`Installed`]).
    pub force: bool,
    pub target: Target,
    /// The `git` binary.
    pub git: PathBuf,
}

impl Install {
    #[must_use]
    pub fn new(source: impl Into<String>, target: Target) -> Install {
        Install {
            source: source.into(),
            reference: None,
            subdir: None,
            name: None,
            all: false,
            force: false,
            target,
            git: PathBuf::from("git"),
        }
    }
}

/// One installed skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    pub name: String,
    pub dir: PathBuf,
    pub source: Source,
    pub commit: Option<String>,
    pub files: usize,
    /// A skill of that name was replaced (`force`).
    pub replaced: bool,
    pub warnings: Vec<String>,
}

/// A skill found in a source.
#[derive(Debug, Clone)]
struct Candidate {
    dir: PathBuf,
    /// Its folder relative to the source's root (`.` for the root).
    rel: String,
    meta: std::result::Result<SkillMeta, Vec<String>>,
}

impl Candidate {
    fn folder_name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn label(&self) -> String {
        match &self.meta {
            Ok(m) => format!("{} ({})", m.name, self.rel),
            Err(_) => format!("{} ({}, invalid)", self.folder_name(), self.rel),
        }
    }

    fn matches(&self, name: &str) -> bool {
        self.meta.as_ref().is_ok_and(|m| m.name == name) || self.folder_name() == name
    }
}

/// How deep below the root skills are looked for (`skills/<name>/SKILL.md` is depth 2).
const DISCOVERY_DEPTH: usize = 4;

/// The skills in `root`: the root itself when it has a `SKILL.md`, else every folder below
/// (not below a skill, not in `.git` or `node_modules`) that has one.
fn discover(root: &Path) -> Vec<Candidate> {
    fn read(dir: &Path, rel: String) -> Candidate {
        let meta = match fs::read_to_string(dir.join("SKILL.md")) {
            Ok(text) => frontmatter::parse(&text),
            Err(e) => Err(vec![format!("SKILL.md cannot be read: {e}")]),
        };
        Candidate {
            dir: dir.to_path_buf(),
            rel,
            meta,
        }
    }
    fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<Candidate>) {
        if depth > DISCOVERY_DEPTH {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(std::result::Result::ok).collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == ".git" || name == "node_modules" || name.starts_with(".switchboard-") {
                continue;
            }
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{}", name)
            };
            let path = e.path();
            if path.join("SKILL.md").is_file() {
                out.push(read(&path, child_rel));
            } else {
                walk(&path, &child_rel, depth + 1, out);
            }
        }
    }
    if root.join("SKILL.md").is_file() {
        return vec![read(root, ".".to_owned())];
    }
    let mut out = Vec::new();
    walk(root, "", 1, &mut out);
    out
}

// ---- the manifest -------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    #[serde(default)]
    skills: Vec<Record>,
}

/// What Switchboard knows of a skill it installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The installed folder.
    pub dir: PathBuf,
    pub name: String,
    pub source: Source,
    /// The skill's folder within the source (`.`: its root).
    pub rel: String,
    pub commit: Option<String>,
    pub installed_at: u64,
    /// Relative path → SHA-256 of each file as installed.
    pub files: tree::Hashes,
}

fn manifest_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("skills.json")
}

fn save_record(paths: &Paths, record: Record) -> Result<()> {
    let path = manifest_path(paths);
    let mut m: Manifest = fsx::read_state(&path)?;
    m.skills.retain(|r| r.dir != record.dir);
    m.skills.push(record);
    fsx::write_state(&path, &m)
}

fn find_record(paths: &Paths, dir: &Path) -> Result<Option<Record>> {
    let m: Manifest = fsx::read_state(&manifest_path(paths))?;
    Ok(m.skills.into_iter().find(|r| r.dir == dir))
}

// ---- install ------------------------------------------------------------------------------

/// Installs the skill(s) `req` names. Errors: [`Error::Ambiguous`] (several skills and no
/// choice: the candidates are listed), [`Error::InvalidSkill`] (with every problem),
/// [`Error::Exists`] (a skill of that name is there and `force` is off), and fetch errors
/// ([`Error::Git`], [`Error::Archive`], [`Error::Source`]). Nothing is left half-installed.
pub fn install(paths: &Paths, req: &Install) -> Result<Vec<Installed>> {
    let source = source::classify(&req.source, req.reference.as_deref(), req.subdir.as_deref())?;
    let fetched = source::fetch(&source, &req.git)?;
    let candidates = discover(&fetched.root);
    let chosen = choose(&source, &candidates, req.name.as_deref(), req.all)?;
    // Check every chosen skill before installing any.
    let mut plans = Vec::new();
    for c in chosen {
        let meta = c.meta.clone().map_err(|problems| Error::InvalidSkill {
            dir: display_dir(&source, c),
            problems,
        })?;
        let dest = req.target.dir(paths).join(&meta.name);
        if dest.exists() && !req.force {
            let hint = if find_record(paths, &dest)?.is_some() {
                "; `skills update` fetches it again, `--force` replaces it"
            } else {
                "; `--force` replaces it"
            };
            return Err(Error::Exists(format!(
                "a skill {:?} is already installed in {}{hint}",
                meta.name,
                dest.display()
            )));
        }
        plans.push((c, meta, dest));
    }
    let mut out = Vec::new();
    for (c, meta, dest) in plans {
        let mut warnings = meta.warnings.clone();
        if c.rel != "." && c.folder_name() != meta.name {
            warnings.push(format!(
                "its folder in the source is {:?}: installed as {:?}, its name",
                c.folder_name(),
                meta.name
            ));
        }
        let (files, replaced, created_dir) =
            place(&req.target.dir(paths), &c.dir, &fetched.top, &meta.name)?;
        if created_dir {
            warnings.push(format!(
                "{} was created: a Claude Code session already running sees it after a restart",
                req.target.dir(paths).display()
            ));
        }
        let count = files.len();
        save_record(
            paths,
            Record {
                dir: dest.clone(),
                name: meta.name.clone(),
                source: source.clone(),
                rel: c.rel.clone(),
                commit: fetched.commit.clone(),
                installed_at: fsx::now_millis(),
                files,
            },
        )?;
        out.push(Installed {
            name: meta.name,
            dir: dest,
            source: source.clone(),
            commit: fetched.commit.clone(),
            files: count,
            replaced,
            warnings,
        });
    }
    Ok(out)
}

fn display_dir(source: &Source, c: &Candidate) -> PathBuf {
    if c.rel == "." {
        PathBuf::from(&source.location)
    } else {
        Path::new(&source.location).join(&c.rel)
    }
}

fn choose<'c>(
    source: &Source,
    candidates: &'c [Candidate],
    name: Option<&str>,
    all: bool,
) -> Result<Vec<&'c Candidate>> {
    if candidates.is_empty() {
        return Err(Error::NotFound(format!(
            "no SKILL.md found in {source} (looked {DISCOVERY_DEPTH} folders deep)"
        )));
    }
    if let Some(name) = name {
        let found: Vec<&Candidate> = candidates.iter().filter(|c| c.matches(name)).collect();
        if found.is_empty() {
            let names: Vec<String> = candidates.iter().map(Candidate::label).collect();
            return Err(Error::NotFound(format!(
                "no skill {name:?} in {source}; it has: {}",
                names.join(", ")
            )));
        }
        return Ok(found.into_iter().take(1).collect());
    }
    if all || candidates.len() == 1 {
        return Ok(candidates.iter().collect());
    }
    Err(Error::Ambiguous {
        source_name: source.to_string(),
        candidates: candidates.iter().map(Candidate::label).collect(),
    })
}

/// Copies skill folder `src` (links allowed under `top`) into `skills_dir/name` through a
/// staging folder inside `skills_dir`, validating the copy, then renames it into place
/// (replacing a folder of that name). Returns the files' hashes, whether a folder was
/// replaced, and whether the skills folder itself was created.
fn place(
    skills_dir: &Path,
    src: &Path,
    top: &Path,
    name: &str,
) -> Result<(tree::Hashes, bool, bool)> {
    let created_dir = !skills_dir.exists();
    fs::create_dir_all(skills_dir).map_err(Error::io(skills_dir, "create the folder"))?;
    // Inside the skills folder (so the final rename is atomic), one level down (so Claude Code,
    // which reads `<skills>/<name>/SKILL.md`, never sees a half-copied skill).
    let staging = tempfile::Builder::new()
        .prefix(".switchboard-staging-")
        .tempdir_in(skills_dir)
        .map_err(Error::io(skills_dir, "create a staging folder in"))?;
    let staged = staging.path().join(name);
    let files = tree::copy(src, top, &staged, tree::SKILL)?;
    let text = fs::read_to_string(staged.join("SKILL.md"))
        .map_err(Error::io(staged.join("SKILL.md"), "read"))?;
    match frontmatter::parse(&text) {
        Ok(m) if m.name == name => {}
        Ok(m) => {
            return Err(Error::InvalidSkill {
                dir: src.to_path_buf(),
                problems: vec![format!(
                    "the copy is named {:?}, not {name:?}: the source changed while it was copied",
                    m.name
                )],
            });
        }
        Err(problems) => {
            return Err(Error::InvalidSkill {
                dir: src.to_path_buf(),
                problems,
            });
        }
    }
    let dest = skills_dir.join(name);
    let replaced = fs::symlink_metadata(&dest).is_ok();
    if replaced {
        let old = staging.path().join(".old");
        fs::rename(&dest, &old).map_err(Error::io(&dest, "move aside"))?;
        if let Err(e) = fs::rename(&staged, &dest) {
            let _ = fs::rename(&old, &dest);
            return Err(Error::Io {
                path: dest,
                op: "move into place",
                source: e,
            });
        }
    } else {
        fs::rename(&staged, &dest).map_err(Error::io(&dest, "move into place"))?;
    }
    Ok((files, replaced, created_dir))
}

// ---- list, show ---------------------------------------------------------------------------

/// A skill in a skills folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillInfo {
    /// Its folder name: the command (`/name`).
    pub name: String,
    pub dir: PathBuf,
    /// `user` or `project`.
    pub scope: &'static str,
    /// `None` when `SKILL.md` is invalid (`problems` says why).
    pub meta: Option<SkillMeta>,
    pub problems: Vec<String>,
    /// Switchboard installed it (from where).
    pub record: Option<Record>,
    /// Files changed since Switchboard installed it.
    pub local_changes: Option<Diff>,
}

/// The skills in the user's folder and, given a project, the project's.
pub fn list(paths: &Paths, project: Option<&Path>) -> Result<Vec<SkillInfo>> {
    let mut targets = vec![Target::User];
    if let Some(p) = project {
        targets.push(Target::project(p)?);
    }
    let manifest: Manifest = fsx::read_state(&manifest_path(paths))?;
    let mut out = Vec::new();
    for target in targets {
        let dir = target.dir(paths);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(std::result::Result::ok).collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if name.starts_with('.') || !path.join("SKILL.md").is_file() {
                continue;
            }
            out.push(info(&target, &name, &path, &manifest));
        }
    }
    Ok(out)
}

fn info(target: &Target, name: &str, dir: &Path, manifest: &Manifest) -> SkillInfo {
    let (meta, mut problems) = match fs::read_to_string(dir.join("SKILL.md")) {
        Ok(text) => match frontmatter::parse(&text) {
            Ok(m) => (Some(m), Vec::new()),
            Err(p) => (None, p),
        },
        Err(e) => (None, vec![format!("SKILL.md cannot be read: {e}")]),
    };
    if let Some(m) = &meta
        && m.name != name
    {
        problems.push(format!(
            "its name is {:?} but its folder is {name:?} (the folder is the command)",
            m.name
        ));
    }
    let record = manifest.skills.iter().find(|r| r.dir == dir).cloned();
    let local_changes = record
        .as_ref()
        .and_then(|r| tree::hashes(dir).map(|now| tree::diff(&r.files, &now)))
        .filter(|d| !d.is_empty());
    SkillInfo {
        name: name.to_owned(),
        dir: dir.to_path_buf(),
        scope: target.scope(),
        meta,
        problems,
        record,
        local_changes,
    }
}

/// One skill, by its folder name.
pub fn show(paths: &Paths, target: &Target, name: &str) -> Result<SkillInfo> {
    let dir = skill_dir(paths, target, name)?;
    let manifest: Manifest = fsx::read_state(&manifest_path(paths))?;
    Ok(info(target, name, &dir, &manifest))
}

fn skill_dir(paths: &Paths, target: &Target, name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return Err(Error::invalid(
            format!("skill {name:?}"),
            "is not a skill folder name",
        ));
    }
    let dir = target.dir(paths).join(name);
    if !dir.join("SKILL.md").is_file() {
        return Err(Error::NotFound(format!(
            "no skill {name:?} in {}",
            target.dir(paths).display()
        )));
    }
    Ok(dir)
}

// ---- update, remove -----------------------------------------------------------------------

/// What [`update`] found (and did, unless `dry_run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Updated {
    pub name: String,
    pub from_commit: Option<String>,
    pub to_commit: Option<String>,
    /// From the installed files to the source's.
    pub changes: Diff,
    /// The new files were put in place.
    pub applied: bool,
    pub warnings: Vec<String>,
}

/// Fetches a Switchboard-installed skill's source again and replaces it when it changed.
/// Refuses (without `force`) when the user edited the installed files.
pub fn update(
    paths: &Paths,
    target: &Target,
    name: &str,
    dry_run: bool,
    force: bool,
    git: &Path,
) -> Result<Updated> {
    let dir = skill_dir(paths, target, name)?;
    let record = find_record(paths, &dir)?.ok_or_else(|| {
        Error::NotFound(format!(
            "{} was not installed by Switchboard: nothing records its source (install it again with `skills install SOURCE --force`)",
            dir.display()
        ))
    })?;
    let now = tree::hashes(&dir).unwrap_or_default();
    let local = tree::diff(&record.files, &now);
    if !local.is_empty() && !force && !dry_run {
        return Err(Error::Exists(format!(
            "{} has local changes ({}): `--force` overwrites them",
            dir.display(),
            summary(&local)
        )));
    }
    let fetched = source::fetch(&record.source, git)?;
    let candidates = discover(&fetched.root);
    let c = candidates
        .iter()
        .find(|c| c.rel == record.rel)
        .or_else(|| candidates.iter().find(|c| c.matches(name)))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{} no longer holds the skill {name:?}",
                record.source
            ))
        })?;
    let meta = c.meta.clone().map_err(|problems| Error::InvalidSkill {
        dir: display_dir(&record.source, c),
        problems,
    })?;
    if meta.name != name {
        return Err(Error::InvalidSkill {
            dir: display_dir(&record.source, c),
            problems: vec![format!(
                "it is now named {:?}, not {name:?}: install it under its new name",
                meta.name
            )],
        });
    }
    // Compare what the source has now with what is installed.
    let probe = tempfile::Builder::new()
        .prefix("switchboard-skill-")
        .tempdir()
        .map_err(Error::io(
            std::env::temp_dir(),
            "create a temporary folder in",
        ))?;
    let incoming = tree::copy(&c.dir, &fetched.top, &probe.path().join(name), tree::SKILL)?;
    let changes = tree::diff(&now, &incoming);
    let mut warnings = meta.warnings.clone();
    if !local.is_empty() {
        warnings.push(format!("local changes overwritten: {}", summary(&local)));
    }
    let applied = !dry_run && !changes.is_empty();
    if applied {
        let (files, _, _) = place(&target.dir(paths), &c.dir, &fetched.top, name)?;
        save_record(
            paths,
            Record {
                files,
                commit: fetched.commit.clone(),
                installed_at: fsx::now_millis(),
                ..record.clone()
            },
        )?;
    } else if !dry_run && fetched.commit != record.commit {
        // Same files at a newer commit: remember the commit.
        save_record(
            paths,
            Record {
                commit: fetched.commit.clone(),
                ..record.clone()
            },
        )?;
    }
    Ok(Updated {
        name: name.to_owned(),
        from_commit: record.commit,
        to_commit: fetched.commit,
        changes,
        applied,
        warnings,
    })
}

fn summary(d: &Diff) -> String {
    let mut parts = Vec::new();
    for (what, list) in [
        ("added", &d.added),
        ("removed", &d.removed),
        ("modified", &d.modified),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what} {}", list.join(", ")));
        }
    }
    parts.join("; ")
}

/// Removes a skill's folder. A skill Switchboard did not install, or one with local changes,
/// is removed only with `force`.
pub fn remove(paths: &Paths, target: &Target, name: &str, force: bool) -> Result<PathBuf> {
    let dir = skill_dir(paths, target, name)?;
    let record = find_record(paths, &dir)?;
    if !force {
        match &record {
            None => {
                return Err(Error::Exists(format!(
                    "{} was not installed by Switchboard: `--force` removes it anyway",
                    dir.display()
                )));
            }
            Some(r) => {
                let now = tree::hashes(&dir).unwrap_or_default();
                let local = tree::diff(&r.files, &now);
                if !local.is_empty() {
                    return Err(Error::Exists(format!(
                        "{} has local changes ({}): `--force` removes it anyway",
                        dir.display(),
                        summary(&local)
                    )));
                }
            }
        }
    }
    // Renamed away first, so Claude Code never sees a half-deleted skill.
    let skills_dir = target.dir(paths);
    let trash = tempfile::Builder::new()
        .prefix(".switchboard-staging-")
        .tempdir_in(&skills_dir)
        .map_err(Error::io(&skills_dir, "create a staging folder in"))?;
    if fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
        // A link the user made: remove the link, never what it points to.
        fs::remove_file(&dir).map_err(Error::io(&dir, "remove"))?;
    } else {
        fs::rename(&dir, trash.path().join(name)).map_err(Error::io(&dir, "remove"))?;
    }
    drop(trash);
    if record.is_some() {
        let path = manifest_path(paths);
        let mut m: Manifest = fsx::read_state(&path)?;
        m.skills.retain(|r| r.dir != dir);
        fsx::write_state(&path, &m)?;
    }
    Ok(dir)
}
