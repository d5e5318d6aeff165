//! [`status`]: the user settings as they bear on the gateway.

use std::path::Path;

use serde_json::Value;

use super::{
    KeyStatus, SettingsStatus, SetupOptions, SetupState, display, file_key, notes_for, state_path,
    strs, value_hash,
};
use crate::error::{Error, Result};
use crate::fsx;
use crate::json::edit;
use crate::paths::Paths;

/// Keys worth showing when present, beyond the managed ones.
const SHOWN: &[(&[&str], bool)] = &[
    (&["env", "ANTHROPIC_BASE_URL"], false),
    (&["env", "ANTHROPIC_AUTH_TOKEN"], true),
    (&["env", "ANTHROPIC_API_KEY"], true),
    (&["env", "API_TIMEOUT_MS"], false),
    (&["env", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], false),
    (&["env", "CLAUDE_CODE_ATTRIBUTION_HEADER"], false),
    // Headers such as `Authorization: Bearer …`: shown masked.
    (&["env", "ANTHROPIC_CUSTOM_HEADERS"], true),
    (&["apiKeyHelper"], false),
    (&["statusLine", "command"], false),
    (&["model"], false),
];

/// The user settings as they bear on the gateway: the managed keys (ours or changed since), the
/// other gateway-related keys, and warnings — including a project's settings that override the
/// user's in that project (`project`: its directory).
pub fn status(paths: &Paths, project: Option<&Path>) -> Result<SettingsStatus> {
    let settings = &paths.settings;
    let state: SetupState = fsx::read_state(&state_path(paths))?;
    let record = state.files.get(&file_key(settings));
    let mut out = SettingsStatus {
        path: settings.clone(),
        exists: false,
        problem: None,
        set_up: record.is_some(),
        keys: Vec::new(),
        warnings: Vec::new(),
    };
    let text = match fsx::read_text(settings) {
        Ok(t) => t,
        Err(e @ Error::Malformed { .. }) => {
            out.exists = true;
            out.problem = Some(e.to_string());
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    let Some(text) = text else {
        return Ok(out);
    };
    out.exists = true;
    if let Err(e) = fsx::parse_object(settings, &text) {
        out.problem = Some(e.to_string());
        return Ok(out);
    }
    let mut seen: Vec<Vec<String>> = Vec::new();
    let managed = record.map(|r| r.keys.as_slice()).unwrap_or(&[]);
    for k in managed {
        let current = edit::value_at(&text, &strs(&k.path)).ok().flatten();
        out.keys.push(KeyStatus {
            key: k.path.join("."),
            value: current.as_ref().map(|v| display(v, k.secret)),
            managed: true,
            ours: current
                .as_ref()
                .is_some_and(|v| value_hash(v) == k.after_sha256),
        });
        seen.push(k.path.clone());
    }
    for (path, secret) in SHOWN {
        let owned: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        // Already shown as (or inside) a managed key.
        if seen.iter().any(|m| owned.starts_with(m)) {
            continue;
        }
        if let Some(v) = edit::value_at(&text, path).ok().flatten() {
            out.keys.push(KeyStatus {
                key: owned.join("."),
                value: Some(display(&v, *secret)),
                managed: false,
                ours: false,
            });
        }
    }
    if let Some(Value::String(url)) = edit::value_at(&text, &["env", "ANTHROPIC_BASE_URL"])
        .ok()
        .flatten()
        && url.trim_end_matches('/').ends_with("/v1")
    {
        out.warnings.push(format!(
            "env.ANTHROPIC_BASE_URL ends in /v1 ({url}): Claude Code will call /v1/v1/messages"
        ));
    }
    let probe = SetupOptions {
        auth_token: Some(String::new()),
        ..SetupOptions::default()
    };
    notes_for(&text, &probe, &mut out.warnings);
    if let Some(project) = project {
        for file in [
            project.join(".claude").join("settings.json"),
            Paths::local_settings(project),
        ] {
            let Ok(Some(t)) = fsx::read_text(&file) else {
                continue;
            };
            for key in [
                "ANTHROPIC_BASE_URL",
                "ANTHROPIC_AUTH_TOKEN",
                "ANTHROPIC_API_KEY",
            ] {
                if edit::value_at(&t, &["env", key]).ok().flatten().is_some() {
                    out.warnings.push(format!(
                        "{} sets env.{key}, which overrides the user settings in that project",
                        file.display()
                    ));
                }
            }
        }
    }
    Ok(out)
}
