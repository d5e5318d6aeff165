//! MCP servers in Claude Code's three scopes: list, show, add, edit, remove, enable, disable.
//!
//! | scope | file | JSON path |
//! |---|---|---|
//! | user | `~/.claude.json` | `mcpServers` |
//! | local | `~/.claude.json` | `projects["/abs/project"].mcpServers` |
//! | project | `<project>/.mcp.json` | `mcpServers` |
//!
//! Claude Code rewrites `~/.claude.json` while it runs, so every change is a fresh
//! read-modify-write (`fsx`, whose docs say what window remains): nothing of the file is cached between calls (a server
//! the user removed is never brought back), only the one entry changed is touched (other
//! entries, other keys and the fields of an entry this crate does not know keep their bytes),
//! and the file is re-read after the write to check the change is there.
//!
//! # Disabling
//!
//! What Claude Code itself honours decides how a server is turned off:
//! - **project** (`.mcp.json`, usually committed and shared): the name goes into
//!   `disabledMcpjsonServers` (and out of `enabledMcpjsonServers`) in the project's
//!   `.claude/settings.local.json` — exactly what answering "no" to Claude Code's approval prompt
//!   records. `.mcp.json` itself is not touched; `enable` records the approval.
//! - **user and local**: Claude Code has no global off switch for these (its `/mcp` toggle,
//!   `projects[path].disabledMcpServers`, is per project), so the entry is moved out of
//!   `~/.claude.json` into Switchboard's stash (`<state_dir>/mcp-disabled.json`), with the text
//!   around it, and `enable` puts it back where it was, byte for byte when the file around it has
//!   not changed. Every Claude Code version then sees the server gone, and its fields survive.
//!   Enabling refuses to overwrite a server of the same name added meanwhile.
//!
//! A name in `projects[path].disabledMcpServers` (Claude Code's `/mcp` toggle) is shown as such
//! in [`list`], and left to Claude Code.

pub mod entry;
mod toggle;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::entry::{Transport, masked, validate_entry, validate_name};
pub use self::toggle::{Toggled, disable, enable};
use crate::error::{Error, Result};
use crate::fsx::{self, Next, Updated};
use crate::json::edit::{self, EditError, Removed};
use crate::json::parse::parse;
use crate::paths::{Paths, project_key};

/// Backups of `~/.claude.json` kept (before each change Switchboard makes to it).
const BACKUPS_KEPT: usize = 5;

/// Where a server is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    User,
    Local,
    Project,
}

impl Scope {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Local => "local",
            Scope::Project => "project",
        }
    }
}

/// A scope with its project where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    User,
    /// `projects[<dir>].mcpServers` in `~/.claude.json`.
    Local(PathBuf),
    /// `<dir>/.mcp.json`.
    Project(PathBuf),
}

impl Location {
    /// `scope` for the project in `dir` (resolved as Claude Code names it; ignored for user).
    pub fn new(scope: Scope, dir: &Path) -> Result<Location> {
        Ok(match scope {
            Scope::User => Location::User,
            Scope::Local => Location::Local(project_key(dir)?),
            Scope::Project => Location::Project(project_key(dir)?),
        })
    }

    #[must_use]
    pub fn scope(&self) -> Scope {
        match self {
            Location::User => Scope::User,
            Location::Local(_) => Scope::Local,
            Location::Project(_) => Scope::Project,
        }
    }

    #[must_use]
    pub fn project(&self) -> Option<&Path> {
        match self {
            Location::User => None,
            Location::Local(p) | Location::Project(p) => Some(p),
        }
    }

    /// The file holding this scope's servers.
    #[must_use]
    pub fn file(&self, paths: &Paths) -> PathBuf {
        match self {
            Location::User | Location::Local(_) => paths.claude_json.clone(),
            Location::Project(dir) => Paths::mcp_json(dir),
        }
    }

    /// The JSON path of the `mcpServers` object in [`Location::file`].
    fn parent(&self) -> Vec<String> {
        match self {
            Location::User | Location::Project(_) => vec!["mcpServers".to_owned()],
            Location::Local(dir) => vec![
                "projects".to_owned(),
                dir.to_string_lossy().into_owned(),
                "mcpServers".to_owned(),
            ],
        }
    }

    fn describe(&self) -> String {
        match self {
            Location::User => "the user scope".to_owned(),
            Location::Local(dir) => format!("the local scope of {}", dir.display()),
            Location::Project(dir) => format!("{}", Paths::mcp_json(dir).display()),
        }
    }

    /// New files: `~/.claude.json` private, `.mcp.json` readable (it is meant to be shared).
    fn new_mode(&self) -> u32 {
        match self {
            Location::User | Location::Local(_) => 0o600,
            Location::Project(_) => 0o644,
        }
    }
}

/// Whether Claude Code will start a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Enabled,
    /// Moved to Switchboard's stash by `disable` (user and local scope).
    DisabledBySwitchboard,
    /// Listed in `disabledMcpjsonServers` (project scope).
    DisabledForProject,
    /// Listed in the project's `disabledMcpServers` (Claude Code's `/mcp` toggle).
    DisabledInMcpMenu,
    /// A `.mcp.json` server not yet approved: Claude Code asks before starting it (`-p` does not).
    NeedsApproval,
}

/// One configured server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    pub scope: Scope,
    pub project: Option<PathBuf>,
    /// The file it is in (for a stashed server, the file it came from).
    pub file: PathBuf,
    /// The entry as written (secrets not masked: see [`masked`]).
    pub entry: Value,
    /// `None` when the entry is invalid (`problem` says why).
    pub transport: Option<Transport>,
    pub problem: Option<String>,
    pub warnings: Vec<String>,
    pub status: Status,
    /// A server of the same name in a scope Claude Code prefers (local > project > user).
    pub shadowed_by: Option<Scope>,
}

impl Server {
    /// `command args…` or the URL, for a one-line listing.
    #[must_use]
    pub fn target(&self) -> String {
        if let Some(url) = self.entry.get("url").and_then(Value::as_str) {
            return url.to_owned();
        }
        let mut out = self
            .entry
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(Value::Array(args)) = self.entry.get("args") {
            for a in args.iter().filter_map(Value::as_str) {
                out.push(' ');
                out.push_str(a);
            }
        }
        out
    }
}

/// One change to a server entry for [`edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldEdit {
    /// Set the field at this path inside the entry (e.g. `["env", "TOKEN"]`) to JSON text.
    Set { path: Vec<String>, json: String },
    /// Remove the field at this path (nothing happens if it is absent).
    Remove { path: Vec<String> },
    /// Replace the whole entry with JSON text.
    Replace { json: String },
}

// ---- the stash ----------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stash {
    #[serde(default)]
    servers: Vec<Stashed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stashed {
    /// The file it was taken from.
    file: String,
    scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    name: String,
    removed: Removed,
    disabled_at: u64,
}

impl Stashed {
    fn is(&self, paths: &Paths, loc: &Location, name: &str) -> bool {
        self.name == name
            && self.scope == loc.scope()
            && self.file == loc.file(paths).to_string_lossy()
            && self.project.as_deref() == loc.project().map(|p| p.to_string_lossy()).as_deref()
    }
}

fn stash_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("mcp-disabled.json")
}

// ---- reading ------------------------------------------------------------------------------

fn strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

fn edit_err(path: &Path) -> impl Fn(EditError) -> Error + '_ {
    move |e| Error::Unsupported {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// How many members of the object at `parent` are named `name` (JSON allows duplicates;
/// Claude Code reads the last).
pub(super) fn occurrences(text: &str, parent: &[&str], name: &str) -> usize {
    parse(text)
        .ok()
        .and_then(|doc| {
            doc.find(parent)
                .and_then(|n| n.members())
                .map(|m| m.iter().filter(|m| m.key == name).count())
        })
        .unwrap_or(0)
}

/// The servers of the object at `parent` in `text`, in file order.
fn servers_in(text: &str, parent: &[&str]) -> Vec<(String, Value)> {
    let Ok(doc) = parse(text) else {
        return Vec::new();
    };
    let Some(members) = doc.find(parent).and_then(|n| n.members()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Value)> = Vec::new();
    for m in members {
        let Ok(v) = serde_json::from_str(&text[m.value.span.clone()]) else {
            continue;
        };
        // A duplicate name: the last one is the one Claude Code reads.
        out.retain(|(n, _)| n != &m.key);
        out.push((m.key.clone(), v));
    }
    out
}

/// The file's text, `None` when absent; refused when malformed or not an object.
fn read_json(path: &Path) -> Result<Option<String>> {
    let Some(text) = fsx::read_text(path)? else {
        return Ok(None);
    };
    fsx::parse_object(path, &text)?;
    Ok(Some(text))
}

fn server(name: &str, loc: &Location, file: PathBuf, entry: Value, status: Status) -> Server {
    let (transport, problem, warnings) = match validate_entry(name, &entry) {
        Ok((t, w)) => (Some(t), None, w),
        Err(e) => (None, Some(e.to_string()), Vec::new()),
    };
    Server {
        name: name.to_owned(),
        scope: loc.scope(),
        project: loc.project().map(Path::to_path_buf),
        file,
        entry,
        transport,
        problem,
        warnings,
        status,
        shadowed_by: None,
    }
}

/// Names in a string array at `path` of a JSON text.
fn names_at(text: Option<&str>, path: &[&str]) -> Vec<String> {
    text.and_then(|t| edit::value_at(t, path).ok().flatten())
        .and_then(|v| match v {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// Every server Claude Code would see for `project` (or only the user scope without one), in
/// scope order (local, project, user) and file order, stashed ones included.
pub fn list(paths: &Paths, project: Option<&Path>) -> Result<Vec<Server>> {
    let claude_json = read_json(&paths.claude_json)?;
    let stash: Stash = fsx::read_state(&stash_path(paths))?;
    let project = project.map(project_key).transpose()?;
    let mut locations = Vec::new();
    if let Some(dir) = &project {
        locations.push(Location::Local(dir.clone()));
        locations.push(Location::Project(dir.clone()));
    }
    locations.push(Location::User);
    // Claude Code's `/mcp` toggle for this project, and `.mcp.json` approvals.
    let menu_off = project.as_ref().map_or_else(Vec::new, |dir| {
        names_at(
            claude_json.as_deref(),
            &["projects", &dir.to_string_lossy(), "disabledMcpServers"],
        )
    });
    let mut out: Vec<Server> = Vec::new();
    for loc in &locations {
        let file = loc.file(paths);
        let text = match loc {
            Location::Project(_) => read_json(&file)?,
            _ => claude_json.clone(),
        };
        let approvals = match loc {
            Location::Project(dir) => Some(Approvals::read(paths, dir)),
            _ => None,
        };
        let parent = loc.parent();
        for (name, entry) in servers_in(text.as_deref().unwrap_or("{}"), &strs(&parent)) {
            let status = if menu_off.contains(&name) {
                Status::DisabledInMcpMenu
            } else if let Some(a) = &approvals {
                a.status(&name)
            } else {
                Status::Enabled
            };
            out.push(server(&name, loc, file.clone(), entry, status));
        }
        for s in stash.servers.iter().filter(|s| s.is(paths, loc, &s.name)) {
            let entry = serde_json::from_str(&s.removed.raw).unwrap_or(Value::Null);
            out.push(server(
                &s.name,
                loc,
                file.clone(),
                entry,
                Status::DisabledBySwitchboard,
            ));
        }
    }
    // Shadowing: the first enabled server of a name (in scope order) wins.
    for i in 0..out.len() {
        if out[i].status != Status::Enabled {
            continue;
        }
        let winner = out[..i]
            .iter()
            .find(|s| s.name == out[i].name && s.status == Status::Enabled)
            .map(|s| s.scope);
        out[i].shadowed_by = winner;
    }
    Ok(out)
}

/// `.mcp.json` approvals from the project's local and shared settings and the user settings.
struct Approvals {
    enabled: Vec<String>,
    disabled: Vec<String>,
    all: bool,
}

impl Approvals {
    fn read(paths: &Paths, dir: &Path) -> Approvals {
        let mut a = Approvals {
            enabled: Vec::new(),
            disabled: Vec::new(),
            all: false,
        };
        for file in [
            Paths::local_settings(dir),
            dir.join(".claude").join("settings.json"),
            paths.settings.clone(),
        ] {
            let Ok(text) = fsx::read_text(&file) else {
                continue;
            };
            a.enabled
                .extend(names_at(text.as_deref(), &["enabledMcpjsonServers"]));
            a.disabled
                .extend(names_at(text.as_deref(), &["disabledMcpjsonServers"]));
            a.all |= text.as_deref().and_then(|t| {
                edit::value_at(t, &["enableAllProjectMcpServers"])
                    .ok()
                    .flatten()
            }) == Some(Value::Bool(true));
        }
        a
    }

    fn status(&self, name: &str) -> Status {
        let name = name.to_owned();
        if self.disabled.contains(&name) {
            Status::DisabledForProject
        } else if self.all || self.enabled.contains(&name) {
            Status::Enabled
        } else {
            Status::NeedsApproval
        }
    }
}

/// One server of `loc` (stashed ones included).
pub fn get(paths: &Paths, loc: &Location, name: &str) -> Result<Server> {
    let project = loc.project();
    list(paths, project)?
        .into_iter()
        .find(|s| s.name == name && s.scope == loc.scope())
        .ok_or_else(|| not_found(loc, name))
}

fn not_found(loc: &Location, name: &str) -> Error {
    Error::NotFound(format!("no MCP server {name:?} in {}", loc.describe()))
}

// ---- writing ------------------------------------------------------------------------------

/// Runs one read-modify-write of `loc`'s file: `change` gets the current text (`"{}"` for a
/// missing file) and returns the new one (or `None`: nothing to do); `check` is run on the text
/// read back. `~/.claude.json` is backed up first.
fn change_file(
    paths: &Paths,
    loc: &Location,
    change: &mut dyn FnMut(&str) -> Result<Option<String>>,
    check: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let file = loc.file(paths);
    let mut edit = |text: Option<&str>| -> Result<Next> {
        let existed = text.is_some();
        let text = text.unwrap_or("{}");
        fsx::parse_object(&file, text)?;
        Ok(match change(text)? {
            None => Next::Keep,
            Some(mut new) => {
                if !existed {
                    new.push('\n');
                }
                Next::Write(new)
            }
        })
    };
    let verify = |text: Option<&str>| text.is_some_and(check);
    let outcome = fsx::update(&file, loc.new_mode(), &mut edit, &verify)?;
    if let (
        Updated::Written {
            before: Some(before),
        },
        Location::User | Location::Local(_),
    ) = (&outcome, loc)
    {
        fsx::backup(
            &paths.state_dir,
            "claude.json",
            before.as_bytes(),
            BACKUPS_KEPT,
        )?;
    }
    Ok(())
}

fn entry_path(loc: &Location, name: &str) -> Vec<String> {
    let mut p = loc.parent();
    p.push(name.to_owned());
    p
}

fn parse_entry(name: &str, json: &str) -> Result<Value> {
    parse(json).map_err(|e| {
        Error::invalid(
            format!("server {name:?}"),
            format!(
                "the entry is not valid JSON: {}:{}: {}",
                e.line, e.column, e.message
            ),
        )
    })?;
    serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("server {name:?}"), e.to_string()))
}

fn is_stashed(paths: &Paths, loc: &Location, name: &str) -> Result<bool> {
    let stash: Stash = fsx::read_state(&stash_path(paths))?;
    Ok(stash.servers.iter().any(|s| s.is(paths, loc, name)))
}

/// Adds server `name` to `loc` with the entry `json` (JSON text; its fields keep their order).
/// Refuses an invalid name or entry, and a name already used in that scope. Returns warnings.
pub fn add(paths: &Paths, loc: &Location, name: &str, json: &str) -> Result<Vec<String>> {
    validate_name(name)?;
    let entry = parse_entry(name, json)?;
    let (_, warnings) = validate_entry(name, &entry)?;
    if is_stashed(paths, loc, name)? {
        return Err(Error::Exists(format!(
            "a disabled server {name:?} exists in {}: enable it, or remove it first",
            loc.describe()
        )));
    }
    let path = entry_path(loc, name);
    let file = loc.file(paths);
    change_file(
        paths,
        loc,
        &mut |text| {
            if edit::raw_at(text, &strs(&path))
                .map_err(edit_err(&file))?
                .is_some()
            {
                return Err(Error::Exists(format!(
                    "MCP server {name:?} already exists in {} (use edit, or remove it first)",
                    loc.describe()
                )));
            }
            let (new, _) = edit::set(text, &strs(&path), json).map_err(edit_err(&file))?;
            Ok(Some(new))
        },
        &|text| edit::value_at(text, &strs(&path)).ok().flatten().as_ref() == Some(&entry),
    )?;
    Ok(warnings)
}

/// Applies `edits` to server `name` of `loc` (in the file, or in the stash when it is
/// disabled), then validates the result before anything is written. Returns warnings.
pub fn edit(paths: &Paths, loc: &Location, name: &str, edits: &[FieldEdit]) -> Result<Vec<String>> {
    let stash_file = stash_path(paths);
    let mut stash: Stash = fsx::read_state(&stash_file)?;
    if let Some(s) = stash.servers.iter_mut().find(|s| s.is(paths, loc, name)) {
        let (raw, warnings) = apply_edits(&stash_file, &s.removed.raw, &[], name, edits)?;
        // Re-laid out in the file's style when it is put back.
        s.removed.raw = raw.clone();
        s.removed.cut = String::new();
        fsx::write_state(&stash_file, &stash)?;
        return Ok(warnings);
    }
    let path = entry_path(loc, name);
    let file = loc.file(paths);
    let mut warnings = Vec::new();
    // What the entry must be once written: set by the edit, checked on the text read back.
    let expected = std::cell::RefCell::new(Value::Null);
    change_file(
        paths,
        loc,
        &mut |text| {
            if edit::raw_at(text, &strs(&path))
                .map_err(edit_err(&file))?
                .is_none()
            {
                return Err(not_found(loc, name));
            }
            let (new, w) = apply_edits(&file, text, &path, name, edits)?;
            warnings = w;
            *expected.borrow_mut() = edit::value_at(&new, &strs(&path))
                .ok()
                .flatten()
                .unwrap_or(Value::Null);
            Ok((new != text).then_some(new))
        },
        &|text| {
            edit::value_at(text, &strs(&path)).ok().flatten().as_ref() == Some(&*expected.borrow())
        },
    )?;
    Ok(warnings)
}

/// `edits` applied to the entry at `prefix` of `text`, validated.
fn apply_edits(
    file: &Path,
    text: &str,
    prefix: &[String],
    name: &str,
    edits: &[FieldEdit],
) -> Result<(String, Vec<String>)> {
    let mut work = text.to_owned();
    for e in edits {
        work = match e {
            FieldEdit::Set { path, json } => {
                parse_entry(name, json)?;
                let full: Vec<String> = prefix.iter().chain(path).cloned().collect();
                edit::set(&work, &strs(&full), json)
                    .map_err(edit_err(file))?
                    .0
            }
            FieldEdit::Remove { path } => {
                let full: Vec<String> = prefix.iter().chain(path).cloned().collect();
                match edit::remove(&work, &strs(&full), None) {
                    Ok(Some((t, _))) => t,
                    Ok(None) | Err(EditError::Missing { .. }) => work,
                    Err(e) => return Err(edit_err(file)(e)),
                }
            }
            FieldEdit::Replace { json } => {
                parse_entry(name, json)?;
                if prefix.is_empty() {
                    json.clone()
                } else {
                    edit::set(&work, &strs(prefix), json)
                        .map_err(edit_err(file))?
                        .0
                }
            }
        };
    }
    let entry = edit::value_at(&work, &strs(prefix))
        .map_err(edit_err(file))?
        .unwrap_or(Value::Null);
    let (_, warnings) = validate_entry(name, &entry)?;
    Ok((work, warnings))
}

/// Removes server `name` from `loc` (or from the stash when it is disabled).
pub fn remove(paths: &Paths, loc: &Location, name: &str) -> Result<()> {
    let stash_file = stash_path(paths);
    let mut stash: Stash = fsx::read_state(&stash_file)?;
    let before = stash.servers.len();
    stash.servers.retain(|s| !s.is(paths, loc, name));
    if stash.servers.len() != before {
        return fsx::write_state(&stash_file, &stash);
    }
    let path = entry_path(loc, name);
    let file = loc.file(paths);
    change_file(
        paths,
        loc,
        &mut |text| {
            // Every entry of that name: a duplicate (which Claude Code shadows by the last one)
            // would otherwise come back into effect.
            let mut work = text.to_owned();
            loop {
                match edit::remove(&work, &strs(&path), None) {
                    Ok(Some((new, _))) => work = new,
                    Ok(None) | Err(EditError::Missing { .. }) => break,
                    Err(e) => return Err(edit_err(&file)(e)),
                }
            }
            if work == text {
                return Err(not_found(loc, name));
            }
            Ok(Some(work))
        },
        &|text| {
            matches!(
                edit::raw_at(text, &strs(&path)),
                Ok(None) | Err(EditError::Missing { .. })
            )
        },
    )
}
