//! The configuration file as the dashboard reads and writes it: `GET /api/admin/config`, its
//! download, and [`write`], through which every change the dashboard makes goes.
//!
//! A write reads the file, checks the caller's version (`If-Match`, or `version` in the body:
//! the SHA-256 of the bytes it last saw), edits the text (`switchboard_config::edit`), compiles
//! the result as the gateway would (its `${VAR}`s and secrets), writes it atomically (a
//! temporary file in the same directory, flushed to disk, renamed over the old one with its
//! permissions) and reloads. A gateway that ran on the built-in default gets its first file
//! where `serve` looks for one, and reads it from then on.
//!
//! When the file changed underneath (an editor, another tab), the write is refused with 409,
//! the current version and a unified diff from the text the caller saw to the file's: the texts
//! served recently are remembered by version for that.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_config::edit::{EditError, NEW_FILE};

use crate::AdminState;
use crate::error::ApiError;
use crate::secrets::reload_json;

/// How many served texts are remembered for the diffs of a 409.
const REMEMBERED: usize = 32;

/// The texts served or written recently, by version; one write at a time holds it.
#[derive(Default)]
pub(crate) struct Files {
    seen: VecDeque<(String, Arc<str>)>,
}

impl Files {
    fn remember(&mut self, version: &str, text: &Arc<str>) {
        if self.seen.iter().any(|(v, _)| v == version) {
            return;
        }
        if self.seen.len() == REMEMBERED {
            self.seen.pop_front();
        }
        self.seen.push_back((version.to_owned(), text.clone()));
    }

    fn text_of(&self, version: &str) -> Option<Arc<str>> {
        self.seen
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, t)| t.clone())
    }
}

/// The SHA-256 of `bytes`, in hex: a text's version.
pub(crate) fn version(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The file as it is now.
pub(crate) struct Current {
    pub(crate) path: PathBuf,
    /// `false`: no file yet; `text` is what the first write starts from.
    pub(crate) exists: bool,
    pub(crate) text: Arc<str>,
    pub(crate) version: String,
}

async fn read_current(state: &AdminState) -> Result<Current, ApiError> {
    let at = state.0.reloader.config_path();
    let text: Arc<str> = if at.exists {
        let path = at.path.clone();
        tokio::fs::read_to_string(&path).await.map_err(|e| {
            ApiError::Internal(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?
    } else {
        // A file created meanwhile where the first one goes counts as the current one.
        match tokio::fs::read_to_string(&at.path).await {
            Ok(t) => t,
            Err(_) => NEW_FILE.to_owned(),
        }
    }
    .into();
    Ok(Current {
        version: version(text.as_bytes()),
        path: at.path,
        exists: at.exists,
        text,
    })
}

/// The file as it is now, remembered for a later 409's diff.
pub(crate) async fn current(state: &AdminState) -> Result<Current, ApiError> {
    let c = read_current(state).await?;
    state.0.files.lock().await.remember(&c.version, &c.text);
    Ok(c)
}

/// `GET /api/admin/config`: `{path, text, version, exists}`.
pub(crate) async fn get(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let c = current(&state).await?;
    Ok(Json(json!({
        "path": c.path.display().to_string(),
        "exists": c.exists,
        "text": &*c.text,
        "version": c.version,
    })))
}

/// `GET /api/admin/config/download`: the file as an attachment (no secret is ever written in
/// it by the dashboard: typed keys go to the secret store).
pub(crate) async fn download(State(state): State<AdminState>) -> Result<Response, ApiError> {
    let c = current(&state).await?;
    let name = c
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.chars().all(|c| c.is_ascii_graphic() && c != '"'))
        .unwrap_or("config.toml")
        .to_owned();
    let mut resp = c.text.to_string().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::try_from(format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::try_from(format!("\"{}\"", c.version)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}

/// The version a write is based on: `If-Match` (quotes and `W/` ignored), else the body's
/// `version`; `None` when the caller gave neither (the write then applies to the file as it
/// is).
pub(crate) fn expected_version(headers: &HeaderMap, body: Option<&str>) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        })
        .filter(|v| !v.is_empty() && v != "*")
        .or_else(|| body.map(str::to_owned))
}

/// What a write did.
pub(crate) struct Written {
    pub(crate) path: PathBuf,
    pub(crate) version: String,
    /// Unified diff from the old text to the new.
    pub(crate) diff: String,
    /// `None` for a dry run.
    pub(crate) reload: Option<Result<bool, String>>,
    /// The new text.
    pub(crate) text: String,
}

impl Written {
    pub(crate) fn json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "version": self.version,
            "diff": self.diff,
            "reload": self.reload.as_ref().map(reload_json),
        })
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NoEndpoint(_) => Self::NotFound(e.to_string()),
            EditError::Exists(_) => Self::Conflict(e.to_string()),
            EditError::Syntax(_) | EditError::Shape(_) => Self::BadRequest(e.to_string()),
        }
    }
}

/// Applies `edit` to the configuration file (see the module docs); `dry_run` computes the
/// result and its diff without writing.
///
/// # Errors
/// 409 [`ApiError::VersionConflict`] when the file is not at `expected`; the edit's own
/// error; 400 when the result does not compile (nothing is written); the write failed.
pub(crate) async fn write(
    state: &AdminState,
    expected: Option<String>,
    dry_run: bool,
    edit: impl FnOnce(&str) -> Result<String, ApiError>,
) -> Result<Written, ApiError> {
    let mut files = state.0.files.lock().await;
    let c = read_current(state).await?;
    files.remember(&c.version, &c.text);
    if let Some(expected) = expected
        && expected != c.version
    {
        let diff = files
            .text_of(&expected)
            .map(|seen| unified_diff(&seen, &c.text, &c.path));
        return Err(ApiError::VersionConflict {
            current_version: c.version,
            diff,
        });
    }
    let new = edit(&c.text)?;
    state.0.reloader.check(&new).await.map_err(|errors| {
        ApiError::InvalidConfig(format!(
            "the change was not saved: the configuration would not load:\n{errors}"
        ))
    })?;
    let diff = unified_diff(&c.text, &new, &c.path);
    let version = version(new.as_bytes());
    if dry_run {
        return Ok(Written {
            path: c.path,
            version,
            diff,
            reload: None,
            text: new,
        });
    }
    let path = c.path.clone();
    let bytes = new.clone().into_bytes();
    tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("the write did not finish: {e}")))?
        .map_err(|e| {
            ApiError::Internal(format!(
                "cannot write the configuration file {}: {e}",
                c.path.display()
            ))
        })?;
    let new_text: Arc<str> = new.as_str().into();
    files.remember(&version, &new_text);
    let reload = if c.exists {
        state.0.reloader.reload().await
    } else {
        state.0.reloader.adopt(&c.path).await
    };
    Ok(Written {
        path: c.path,
        version,
        diff,
        reload: Some(reload),
        text: new,
    })
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never part of
/// one: a temporary file in the same directory (so the rename stays on one file system),
/// flushed to disk, given the old file's permissions, renamed over it; then the directory is
/// flushed so the rename survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(p) = permissions {
            f.set_permissions(p)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A unified diff (3 lines of context) from `old` to `new`, both named by `path`.
pub(crate) fn unified_diff(old: &str, new: &str, path: &Path) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_sha256_hex() {
        assert_eq!(
            version(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn if_match_wins_over_the_body_and_drops_quotes() {
        let mut h = HeaderMap::new();
        assert_eq!(expected_version(&h, Some("b")), Some("b".to_owned()));
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert_eq!(expected_version(&h, Some("b")), Some("abc".to_owned()));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(expected_version(&h, None), None);
    }

    #[test]
    fn a_write_replaces_the_file_and_keeps_its_permissions() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "old").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        }
        write_atomically(&path, b"new").expect("atomic write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn diffs_are_unified() {
        let d = unified_diff("a\nb\n", "a\nc\n", Path::new("x.toml"));
        assert!(
            d.contains("--- a/x.toml") && d.contains("-b") && d.contains("+c"),
            "{d}"
        );
    }
}
