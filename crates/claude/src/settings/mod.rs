//! `~/.claude/settings.json`: pointing Claude Code at the gateway ([`setup`]), taking it back
//! exactly ([`undo`]), and saying how things stand ([`status`]).
//!
//! Setup owns a short list of keys (the [`SetupOptions`] asked for) and touches nothing else:
//! each is set by splicing the text (the rest of the file keeps its bytes), and its previous
//! value — its raw text, or "absent" — is recorded in `<state_dir>/setup.json` before the file
//! is replaced. Undo puts back every key whose value is still the one setup wrote, and leaves
//! alone (and reports) a key the user changed since. Inserting and removing a key are exact
//! inverses, so on an untouched file setup then undo gives back the original bytes; a file setup
//! created is deleted again.
//!
//! The token setup writes is never stored by Switchboard: the record keeps a SHA-256 of each
//! value it wrote, enough to tell whether the value is still ours.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsx::{self, Next, Updated};
use crate::json::edit::{self, EditError, SetOutcome};
use crate::paths::Paths;

mod status;
mod wants;

pub use self::status::status;
use self::wants::{statusline_path, wants};

/// Backups of settings.json kept in `<state_dir>/backups`.
const BACKUPS_KEPT: usize = 10;

/// The largest `API_TIMEOUT_MS` Claude Code accepts (a larger one overflows its timer).
pub const MAX_TIMEOUT_MS: u64 = 2_147_483_647;

/// What [`setup`] writes. Every field but `base_url` is optional; unset ones are not touched
/// (nor is a key an earlier setup wrote: re-running setup changes only what it is given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupOptions {
    /// `env.ANTHROPIC_BASE_URL`: the gateway, e.g. `http://127.0.0.1:8787` (no `/v1`: Claude
    /// Code appends `/v1/messages`).
    pub base_url: String,
    /// `env.ANTHROPIC_AUTH_TOKEN` (sent as `Authorization: Bearer`). The caller obtains it (it
    /// must never come from the command line); `None` writes no token, so Claude Code sends its
    /// own credentials through the gateway.
    pub auth_token: Option<String>,
    /// `env.API_TIMEOUT_MS`, 1 ..= [`MAX_TIMEOUT_MS`].
    pub timeout_ms: Option<u64>,
    /// `env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1"` (any value, even `0`, disables, so
    /// only `1` is ever written).
    pub disable_nonessential_traffic: bool,
    /// `env.CLAUDE_CODE_ATTRIBUTION_HEADER = "0"`: no attribution block in the system prompt.
    pub attribution_header_off: bool,
    /// `attribution.commit` and `attribution.pr` set to `""`: no Claude attribution in commits
    /// and pull requests.
    pub commit_attribution_off: bool,
    /// A profile the gateway should route this user's requests with, sent as the header
    /// `X-Switchboard-Profile` in `env.ANTHROPIC_CUSTOM_HEADERS` (other header lines there are kept).
    pub profile: Option<String>,
    /// The status line command (e.g. `/usr/bin/switchboard statusline`). A status line the user
    /// already has is chained: `<command> --then '<their command>'`.
    pub statusline: Option<String>,
}

/// A managed key and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    /// Dotted path, e.g. `env.ANTHROPIC_BASE_URL`.
    pub key: String,
    pub action: Action,
    /// The new value for display (secrets masked).
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Added,
    Replaced,
    Unchanged,
}

/// What [`setup`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupReport {
    pub path: PathBuf,
    /// The file did not exist and was created (0600).
    pub created_file: bool,
    pub changes: Vec<KeyChange>,
    /// A copy of the file as it was, when it was changed.
    pub backup: Option<PathBuf>,
    /// Things the user should know: conflicting keys, keys they changed since the last setup.
    pub notes: Vec<String>,
}

/// A key [`undo`] did not restore, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftAlone {
    pub key: String,
    pub reason: String,
}

/// What [`undo`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoReport {
    pub path: PathBuf,
    /// Keys given back their previous value (or removed, when they had none).
    pub restored: Vec<String>,
    /// Keys changed by someone since setup: left as they are.
    pub left_alone: Vec<LeftAlone>,
    /// The file setup had created was deleted.
    pub removed_file: bool,
    /// The file is now byte for byte what it was before the first setup.
    pub identical_to_original: bool,
    pub backup: Option<PathBuf>,
}

/// One key as it stands, for [`status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    pub key: String,
    /// For display; secrets masked. `None`: absent.
    pub value: Option<String>,
    /// Setup recorded it (undo knows its previous value).
    pub managed: bool,
    /// Managed and still holding the value setup wrote.
    pub ours: bool,
}

/// The state of the user settings, for `setup claude --status` and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsStatus {
    pub path: PathBuf,
    pub exists: bool,
    /// Why the file cannot be used (malformed, not an object), if so.
    pub problem: Option<String>,
    /// A setup is recorded for this file.
    pub set_up: bool,
    /// The managed keys and the other gateway-related keys that are present.
    pub keys: Vec<KeyStatus>,
    pub warnings: Vec<String>,
}

// ---- the record ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SetupState {
    /// One entry per settings file (keyed by its path), so `CLAUDE_CONFIG_DIR` setups coexist.
    #[serde(default)]
    files: BTreeMap<String, FileRecord>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FileRecord {
    /// The file did not exist before the first setup.
    created_file: bool,
    /// SHA-256 of the file before the first setup (empty when it did not exist).
    original_sha256: String,
    /// SHA-256 of the file as setup last wrote it.
    written_sha256: String,
    keys: Vec<KeyRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct KeyRecord {
    path: Vec<String>,
    /// The raw JSON text before the first setup; `None`: the key was absent.
    before: Option<String>,
    /// SHA-256 of the canonical JSON of the value setup wrote.
    after_sha256: String,
    /// The outermost object setup created along with this key (e.g. `["env"]`), removed by undo
    /// when it is empty again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<Vec<String>>,
    /// The inside (whitespace) of the object the key went into, when that object was empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    emptied: Option<String>,
    /// Mask the value in reports.
    #[serde(default)]
    secret: bool,
}

fn state_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("setup.json")
}

fn file_key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn value_hash(v: &Value) -> String {
    fsx::sha256_hex(v.to_string().as_bytes())
}

fn strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

fn edit_err(path: &Path) -> impl Fn(EditError) -> Error + '_ {
    move |e| Error::Unsupported {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A secret as the rest of Switchboard shows one (`switchboard_config::secret::mask`): its
/// first 10 characters, `…`, its last 4; one of 16 characters or fewer is hidden entirely.
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 16 {
        return "…".to_owned() + &"*".repeat(chars.len().min(4));
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn display(v: &Value, secret: bool) -> String {
    match v {
        Value::String(s) if secret => mask(s),
        Value::String(s) => s.clone(),
        other if secret => mask(&other.to_string()),
        other => other.to_string(),
    }
}
// ---- setup --------------------------------------------------------------------------------

/// Writes the gateway's keys into the user settings (see the module docs). Refuses a malformed
/// file (with its line and column) without writing it.
pub fn setup(paths: &Paths, opts: &SetupOptions) -> Result<SetupReport> {
    let settings = &paths.settings;
    let state_file = state_path(paths);
    let old_state: SetupState = fsx::read_state(&state_file)?;
    let old_record = old_state.files.get(&file_key(settings)).cloned();
    // Checked once up front so a bad option fails before anything is read.
    wants(opts, vec!["statusLine".to_owned()])?;

    let mut report = SetupReport {
        path: settings.clone(),
        created_file: false,
        changes: Vec::new(),
        backup: None,
        notes: Vec::new(),
    };
    // What the file must hold after the write: filled by `edit`, checked by `verify`.
    let expected: RefCell<Vec<(Vec<String>, Value)>> = RefCell::new(Vec::new());
    let state_written = Cell::new(false);
    let mut edit = |text: Option<&str>| -> Result<Next> {
        report.changes.clear();
        report.notes.clear();
        let mut expected = expected.borrow_mut();
        expected.clear();
        let existed = text.is_some();
        let original = text.unwrap_or("{}");
        fsx::parse_object(settings, original)?;
        // A record of a file that has since been deleted says nothing about the new one.
        let mut record = old_record
            .clone()
            .filter(|_| existed)
            .unwrap_or_else(|| FileRecord {
                created_file: !existed,
                original_sha256: text
                    .map(|t| fsx::sha256_hex(t.as_bytes()))
                    .unwrap_or_default(),
                ..FileRecord::default()
            });
        let mut work = original.to_owned();
        for want in wants(opts, statusline_path(original, old_record.as_ref()))? {
            let path = strs(&want.path);
            let key = edit::dotted(&path);
            let current = edit::value_at(&work, &path).map_err(edit_err(settings))?;
            let current_raw = edit::raw_at(&work, &path)
                .map_err(edit_err(settings))?
                .map(str::to_owned);
            let existing = record.keys.iter().position(|k| k.path == want.path);
            let still_ours = existing.is_some_and(|i| {
                current.as_ref().map(value_hash).as_deref() == Some(&record.keys[i].after_sha256)
            });
            // The value this key builds on, and the one undo restores.
            let base: Option<Value> = match existing {
                Some(i) if still_ours => match &record.keys[i].before {
                    Some(raw) => serde_json::from_str(raw).ok(),
                    None => None,
                },
                _ => current.clone(),
            };
            if existing.is_some() && !still_ours {
                report.notes.push(format!(
                    "{key} was changed since the last setup; undo will now restore your value ({})",
                    current
                        .as_ref()
                        .map_or_else(|| "absent".to_owned(), |v| display(v, want.secret))
                ));
            }
            let new_text = (want.value)(base.as_ref());
            let new: Value = serde_json::from_str(&new_text).map_err(|e| Error::State {
                path: settings.clone(),
                message: format!("internal: a value that is not JSON: {e}"),
            })?;
            expected.push((want.path.clone(), new.clone()));
            let shown = display(&new, want.secret);
            if current.as_ref() == Some(&new) && (still_ours || existing.is_none()) {
                if existing.is_none() {
                    record.keys.push(KeyRecord {
                        path: want.path.clone(),
                        before: current_raw,
                        after_sha256: value_hash(&new),
                        created: None,
                        emptied: None,
                        secret: want.secret,
                    });
                }
                report.changes.push(KeyChange {
                    key,
                    action: Action::Unchanged,
                    value: shown,
                });
                continue;
            }
            let (next, outcome) = edit::set(&work, &path, &new_text).map_err(edit_err(settings))?;
            work = next;
            let action = if current.is_some() {
                Action::Replaced
            } else {
                Action::Added
            };
            report.changes.push(KeyChange {
                key,
                action,
                value: shown,
            });
            let fresh = KeyRecord {
                path: want.path.clone(),
                before: current_raw,
                after_sha256: value_hash(&new),
                created: match &outcome {
                    SetOutcome::Created { created, .. } => Some(created.clone()),
                    _ => None,
                },
                emptied: match outcome {
                    SetOutcome::Created { emptied, .. } | SetOutcome::Inserted { emptied } => {
                        emptied
                    }
                    SetOutcome::Replaced { .. } => None,
                },
                secret: want.secret,
            };
            match existing {
                // Still ours: keep what undo restores, and how the key came in.
                Some(i) if still_ours => record.keys[i].after_sha256 = fresh.after_sha256,
                Some(i) => record.keys[i] = fresh,
                None => record.keys.push(fresh),
            }
        }
        notes_for(&work, opts, &mut report.notes);
        if work == original && existed {
            return Ok(Next::Keep);
        }
        if !existed {
            work.push('\n');
        }
        // The record is saved before the file is replaced: if we stop in between, undo still
        // knows every key's previous value.
        record.written_sha256 = fsx::sha256_hex(work.as_bytes());
        let mut state = old_state.clone();
        state.files.insert(file_key(settings), record);
        fsx::write_state(&state_file, &state)?;
        state_written.set(true);
        report.created_file = !existed;
        Ok(Next::Write(work))
    };
    let verify = |text: Option<&str>| {
        text.is_some_and(|t| {
            expected
                .borrow()
                .iter()
                .all(|(path, v)| edit::value_at(t, &strs(path)).ok().flatten().as_ref() == Some(v))
        })
    };
    let outcome = fsx::update(settings, 0o600, &mut edit, &verify);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // The file was not written: put the record back as it was.
            if state_written.get() {
                let _ = fsx::write_state(&state_file, &old_state);
            }
            return Err(e);
        }
    };
    if let Updated::Written {
        before: Some(before),
    } = &outcome
    {
        report.backup = Some(fsx::backup(
            &paths.state_dir,
            "settings.json",
            before.as_bytes(),
            BACKUPS_KEPT,
        )?);
    }
    if opts.auth_token.is_some()
        && let Some(mode) = shared_mode(settings)
    {
        report.notes.push(format!(
            "{} can be read by other users (mode {mode:o}) and holds the token: `chmod 600` it",
            settings.display()
        ));
    }
    Ok(report)
}

/// The file's permission bits when group or others may read it (Unix).
#[cfg(unix)]
fn shared_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn shared_mode(_path: &Path) -> Option<u32> {
    None
}

/// Keys elsewhere in the file that work against the gateway's.
fn notes_for(text: &str, opts: &SetupOptions, notes: &mut Vec<String>) {
    let get = |path: &[&str]| edit::value_at(text, path).ok().flatten();
    if get(&["env", "ANTHROPIC_API_KEY"]).is_some_and(|v| v.as_str() != Some("")) {
        notes.push(
            "env.ANTHROPIC_API_KEY is also set in this file: Claude Code sends it as x-api-key and warns of an auth conflict next to ANTHROPIC_AUTH_TOKEN; remove it if the gateway should get the token"
                .to_owned(),
        );
    }
    if get(&["apiKeyHelper"]).is_some() {
        notes.push(
            "apiKeyHelper is set: its output is sent as the credential too, and may not be what the gateway expects"
                .to_owned(),
        );
    }
    if opts.auth_token.is_none() && get(&["env", "ANTHROPIC_AUTH_TOKEN"]).is_none() {
        notes.push(
            "no token written: Claude Code sends its own login or API key through the gateway (pass-through)"
                .to_owned(),
        );
    }
    if get(&["model"]).is_some() {
        notes.push(
            "`model` is set in this file: it picks the model at start (ANTHROPIC_MODEL and --model beat it)"
                .to_owned(),
        );
    }
}

// ---- undo ---------------------------------------------------------------------------------

/// Restores every key setup recorded whose value is still the one setup wrote; reports the rest.
/// The record is then dropped. A file setup created is deleted when nothing else is left in it.
pub fn undo(paths: &Paths) -> Result<UndoReport> {
    let settings = &paths.settings;
    let state_file = state_path(paths);
    let mut state: SetupState = fsx::read_state(&state_file)?;
    let Some(record) = state.files.get(&file_key(settings)).cloned() else {
        return Err(Error::NotFound(format!(
            "no setup of {} is recorded: nothing to undo",
            settings.display()
        )));
    };
    let mut report = UndoReport {
        path: settings.clone(),
        restored: Vec::new(),
        left_alone: Vec::new(),
        removed_file: false,
        identical_to_original: false,
        backup: None,
    };
    let mut edit = |text: Option<&str>| -> Result<Next> {
        report.restored.clear();
        report.left_alone.clear();
        let Some(text) = text else {
            for k in &record.keys {
                report.left_alone.push(LeftAlone {
                    key: k.path.join("."),
                    reason: "the file no longer exists".to_owned(),
                });
            }
            return Ok(Next::Keep);
        };
        fsx::parse_object(settings, text)?;
        let mut work = text.to_owned();
        for k in record.keys.iter().rev() {
            let path = strs(&k.path);
            let key = edit::dotted(&path);
            let current = match edit::value_at(&work, &path) {
                Ok(v) => v,
                Err(EditError::NotAnObject { path: at }) => {
                    report.left_alone.push(LeftAlone {
                        key,
                        reason: format!("`{at}` is no longer an object"),
                    });
                    continue;
                }
                Err(e) => return Err(edit_err(settings)(e)),
            };
            match &current {
                Some(v) if value_hash(v) == k.after_sha256 => {
                    work = restore_key(&work, k).map_err(edit_err(settings))?;
                    report.restored.push(key);
                }
                None if k.before.is_none() => report.restored.push(key),
                Some(v) => report.left_alone.push(LeftAlone {
                    key,
                    reason: format!("changed since setup (now {})", display(v, k.secret)),
                }),
                None => report.left_alone.push(LeftAlone {
                    key,
                    reason: "removed since setup".to_owned(),
                }),
            }
        }
        if record.created_file && edit::is_empty_object(&work, &[]).unwrap_or(false) {
            return Ok(Next::Delete);
        }
        if work == text {
            return Ok(Next::Keep);
        }
        Ok(Next::Write(work))
    };
    let verify = |_: Option<&str>| true;
    let outcome = fsx::update(settings, 0o600, &mut edit, &verify)?;
    match &outcome {
        Updated::Deleted { before } => {
            report.removed_file = true;
            report.identical_to_original = true;
            report.backup = Some(fsx::backup(
                &paths.state_dir,
                "settings.json",
                before.as_bytes(),
                BACKUPS_KEPT,
            )?);
        }
        Updated::Written { before } => {
            if let Some(before) = before {
                report.backup = Some(fsx::backup(
                    &paths.state_dir,
                    "settings.json",
                    before.as_bytes(),
                    BACKUPS_KEPT,
                )?);
            }
        }
        Updated::Unchanged => {}
    }
    if !report.removed_file {
        report.identical_to_original = fsx::read_text(settings)?
            .is_some_and(|t| fsx::sha256_hex(t.as_bytes()) == record.original_sha256);
    }
    state.files.remove(&file_key(settings));
    fsx::write_state(&state_file, &state)?;
    Ok(report)
}

/// Gives key `k` back its recorded previous value (or removes it, with any object setup
/// created for it that is now empty).
fn restore_key(text: &str, k: &KeyRecord) -> Result<String, EditError> {
    let path = strs(&k.path);
    if let Some(raw) = &k.before {
        return edit::replace_raw(text, &path, raw);
    }
    match &k.created {
        None => Ok(edit::remove(text, &path, k.emptied.as_deref())?
            .map_or_else(|| text.to_owned(), |(t, _)| t)),
        Some(created) => {
            let created = strs(created);
            let mut out =
                edit::remove(text, &path, None)?.map_or_else(|| text.to_owned(), |(t, _)| t);
            // Remove the objects setup created, innermost first, while they are empty.
            for depth in (created.len()..path.len()).rev() {
                let parent = &path[..depth];
                if edit::is_empty_object(&out, parent)? {
                    let emptied = if depth == created.len() {
                        k.emptied.as_deref()
                    } else {
                        None
                    };
                    if let Some((t, _)) = edit::remove(&out, parent, emptied)? {
                        out = t;
                    }
                } else {
                    break;
                }
            }
            Ok(out)
        }
    }
}
