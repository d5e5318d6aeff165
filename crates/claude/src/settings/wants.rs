//! What [`super::setup`] writes: the managed keys its options ask for, each with its new
//! value computed from the value it builds on.

use serde_json::Value;

use super::{FileRecord, MAX_TIMEOUT_MS, SetupOptions};
use crate::error::{Error, Result};
use crate::json::edit;

/// One key setup manages: where, whether it is secret, and its new value (JSON text, members
/// in the order they are written) given the value it builds on (the user's own, i.e. the one
/// undo would restore).
pub(super) struct Want {
    pub(super) path: Vec<String>,
    pub(super) secret: bool,
    pub(super) value: ValueFn,
}

/// A managed key's new value (JSON text) from the value it builds on.
type ValueFn = Box<dyn Fn(Option<&Value>) -> String>;

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn env_want(name: &str, value: String, secret: bool) -> Want {
    Want {
        path: vec!["env".to_owned(), name.to_owned()],
        secret,
        value: Box::new(move |_| json_string(&value)),
    }
}

/// Checks the options and lists the keys they set. `statusline_path` is where the status line
/// command goes (see [`statusline_path`]).
pub(super) fn wants(opts: &SetupOptions, statusline_path: Vec<String>) -> Result<Vec<Want>> {
    validate_base_url(&opts.base_url)?;
    let mut out = vec![env_want("ANTHROPIC_BASE_URL", opts.base_url.clone(), false)];
    if let Some(token) = &opts.auth_token {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "token",
                "must be non-empty, without spaces or line breaks (it is sent as an HTTP header)",
            ));
        }
        out.push(env_want("ANTHROPIC_AUTH_TOKEN", token.clone(), true));
    }
    if let Some(ms) = opts.timeout_ms {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            return Err(Error::invalid(
                "timeout",
                format!(
                    "{ms} ms is out of range: 1 ..= {MAX_TIMEOUT_MS} (Claude Code's timer overflows above)"
                ),
            ));
        }
        out.push(env_want("API_TIMEOUT_MS", ms.to_string(), false));
    }
    if opts.disable_nonessential_traffic {
        out.push(env_want(
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
            "1".to_owned(),
            false,
        ));
    }
    if opts.attribution_header_off {
        out.push(env_want(
            "CLAUDE_CODE_ATTRIBUTION_HEADER",
            "0".to_owned(),
            false,
        ));
    }
    if opts.commit_attribution_off {
        for key in ["commit", "pr"] {
            out.push(Want {
                path: vec!["attribution".to_owned(), key.to_owned()],
                secret: false,
                value: Box::new(|_| json_string("")),
            });
        }
    }
    if let Some(profile) = &opts.profile {
        if profile.is_empty()
            || !profile
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid(
                "profile",
                format!("{profile:?}: use letters, digits, `-`, `_` and `.`"),
            ));
        }
        let line = format!("X-Switchboard-Profile: {profile}");
        out.push(Want {
            path: vec!["env".to_owned(), "ANTHROPIC_CUSTOM_HEADERS".to_owned()],
            secret: false,
            value: Box::new(move |base| {
                let mut lines: Vec<&str> = base
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .split('\n')
                    .filter(|l| {
                        !l.trim().is_empty()
                            && !l.to_ascii_lowercase().starts_with("x-switchboard-profile:")
                    })
                    .collect();
                lines.push(&line);
                json_string(&lines.join("\n"))
            }),
        });
    }
    if let Some(command) = &opts.statusline {
        let command = command.clone();
        let whole = statusline_path.len() == 1;
        out.push(Want {
            path: statusline_path,
            secret: false,
            value: Box::new(move |base| {
                if whole {
                    format!(
                        r#"{{"type":"command","command":{},"padding":0}}"#,
                        json_string(&command)
                    )
                } else {
                    match base
                        .and_then(Value::as_str)
                        .filter(|c| !c.trim().is_empty())
                    {
                        Some(theirs) => {
                            json_string(&format!("{command} --then {}", shell_quote(theirs)))
                        }
                        None => json_string(&command),
                    }
                }
            }),
        });
    }
    Ok(out)
}

/// The base URL is an http(s) URL with a host, without `/v1` at the end.
fn validate_base_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            Error::invalid("url", format!("{url:?} is not an http:// or https:// URL"))
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid("url", format!("{url:?} has no host")));
    }
    let path = rest[host.len()..].trim_end_matches('/');
    if path.ends_with("/v1") {
        return Err(Error::invalid(
            "url",
            format!(
                "{url:?} ends in /v1: Claude Code appends /v1/messages itself (give the URL without /v1)"
            ),
        ));
    }
    Ok(())
}

/// `s` as one single-quoted POSIX shell word.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Where the status line command goes: `statusLine.command` when the user has a command status
/// line (so their other fields stay), else the whole `statusLine`. An earlier setup's choice wins.
pub(super) fn statusline_path(text: &str, record: Option<&FileRecord>) -> Vec<String> {
    let command = vec!["statusLine".to_owned(), "command".to_owned()];
    let whole = vec!["statusLine".to_owned()];
    if let Some(r) = record {
        if r.keys.iter().any(|k| k.path == command) {
            return command;
        }
        if r.keys.iter().any(|k| k.path == whole) {
            return whole;
        }
    }
    match edit::value_at(text, &["statusLine", "command"]) {
        Ok(Some(Value::String(_))) => command,
        _ => whole,
    }
}
