//! What makes an MCP server entry acceptable to Claude Code: its name and its fields, checked
//! before anything is written (docs:mcp; the messages follow Claude Code's own where it has one).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How Claude Code talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// A local process (`command`, `args`, `env`); no `type`, or `"stdio"`.
    Stdio,
    /// Streamable HTTP (`"http"`, or its alias `"streamable-http"`).
    Http,
    /// Server-sent events (`"sse"`, deprecated by Claude Code but still read).
    Sse,
    /// WebSocket (`"ws"`, configuration files only).
    Ws,
}

impl Transport {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
            Transport::Sse => "sse",
            Transport::Ws => "ws",
        }
    }
}

/// Names Claude Code keeps for its own servers.
const RESERVED: &[&str] = &["workspace", "claude-in-chrome", "computer-use"];

/// A server name: letters, digits, `-` and `_` (Claude Code's rule), not one it reserves.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            format!("server name {name:?}"),
            "use letters, digits, `-` and `_` only",
        ));
    }
    if RESERVED.contains(&name) {
        return Err(Error::invalid(
            format!("server name {name:?}"),
            "is reserved by Claude Code",
        ));
    }
    Ok(())
}

/// Checks a server entry: its transport's required fields and the type of every field Claude
/// Code reads. Fields it does not know are accepted and kept. Returns the transport and
/// warnings (settings Claude Code ignores).
pub fn validate_entry(name: &str, entry: &Value) -> Result<(Transport, Vec<String>)> {
    let bad = |field: &str, reason: &str| {
        Error::invalid(format!("server {name:?}: `{field}`"), reason.to_owned())
    };
    let Value::Object(map) = entry else {
        return Err(Error::invalid(
            format!("server {name:?}"),
            "the entry must be a JSON object",
        ));
    };
    let transport = match map.get("type") {
        None => {
            if map.contains_key("url") {
                // Claude Code's own message for this mistake.
                return Err(Error::invalid(
                    format!("MCP server {name:?}"),
                    "has a \"url\" but no \"type\" (add \"type\": \"http\", or \"sse\")",
                ));
            }
            Transport::Stdio
        }
        Some(Value::String(t)) => match t.as_str() {
            "stdio" => Transport::Stdio,
            "http" | "streamable-http" => Transport::Http,
            "sse" => Transport::Sse,
            "ws" => Transport::Ws,
            other => {
                return Err(bad(
                    "type",
                    &format!("{other:?} is not one of stdio, http, streamable-http, sse, ws"),
                ));
            }
        },
        Some(_) => return Err(bad("type", "must be a string")),
    };
    let mut warnings = Vec::new();
    match transport {
        Transport::Stdio => {
            match map.get("command") {
                Some(Value::String(c)) if !c.trim().is_empty() => {}
                Some(Value::String(_)) | None => {
                    return Err(bad("command", "a stdio server needs a command to run"));
                }
                Some(_) => return Err(bad("command", "must be a string")),
            }
            if map.contains_key("url") {
                return Err(bad(
                    "url",
                    "a stdio server has no url (set \"type\" for an http, sse or ws server)",
                ));
            }
            string_array(map, "args").map_err(|r| bad("args", r))?;
            string_map(map, "env").map_err(|r| bad("env", r))?;
            if map.contains_key("cwd") {
                warnings.push(format!(
                    "server {name:?}: Claude Code ignores `cwd`; wrap the command (`sh -c 'cd DIR && exec …'`) instead"
                ));
            }
        }
        Transport::Http | Transport::Sse | Transport::Ws => {
            let schemes: &[&str] = if transport == Transport::Ws {
                &["ws://", "wss://"]
            } else {
                &["http://", "https://"]
            };
            match map.get("url") {
                Some(Value::String(u)) if !u.trim().is_empty() => {
                    // `${VAR}` may expand to the scheme; only a literal URL can be checked.
                    if !u.starts_with("${") && !schemes.iter().any(|s| u.starts_with(s)) {
                        return Err(bad(
                            "url",
                            &format!("{u:?} must start with {}", schemes.join(" or ")),
                        ));
                    }
                }
                Some(Value::String(_)) | None => {
                    return Err(bad(
                        "url",
                        &format!("a {} server needs a url", transport.as_str()),
                    ));
                }
                Some(_) => return Err(bad("url", "must be a string")),
            }
            if map.contains_key("command") {
                return Err(bad(
                    "command",
                    &format!("a {} server has no command", transport.as_str()),
                ));
            }
            string_map(map, "headers").map_err(|r| bad("headers", r))?;
            if map.get("headersHelper").is_some_and(|v| !v.is_string()) {
                return Err(bad("headersHelper", "must be a string (a command)"));
            }
            if map.get("oauth").is_some_and(|v| !v.is_object()) {
                return Err(bad("oauth", "must be an object"));
            }
        }
    }
    match map.get("timeout") {
        None => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| (0.0..1000.0).contains(&t)) => {
            warnings.push(format!(
                "server {name:?}: a timeout under 1000 ms is ignored by Claude Code"
            ));
        }
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| t >= 0.0) => {}
        Some(_) => return Err(bad("timeout", "must be a number of milliseconds")),
    }
    if map.get("alwaysLoad").is_some_and(|v| !v.is_boolean()) {
        return Err(bad("alwaysLoad", "must be true or false"));
    }
    Ok((transport, warnings))
}

fn string_array(map: &Map<String, Value>, key: &str) -> Result<(), &'static str> {
    match map.get(key) {
        None => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err("must be an array of strings"),
    }
}

fn string_map(map: &Map<String, Value>, key: &str) -> Result<(), &'static str> {
    match map.get(key) {
        None => Ok(()),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(()),
        Some(_) => Err("must be an object of string values"),
    }
}

/// Words that mark an env variable or header as a secret, masked by [`masked`].
const SECRET_WORDS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "AUTH",
    "CREDENTIAL",
    "COOKIE",
    "SESSION",
];

/// A copy of `entry` with secret-looking `env` and `headers` values masked, for display.
#[must_use]
pub fn masked(entry: &Value) -> Value {
    let mut out = entry.clone();
    for field in ["env", "headers"] {
        if let Some(Value::Object(map)) = out.get_mut(field) {
            for (k, v) in map.iter_mut() {
                let upper = k.to_ascii_uppercase();
                if SECRET_WORDS.iter().any(|w| upper.contains(w))
                    && let Value::String(s) = v
                {
                    *s = crate::settings::mask(s);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_follow_claude_codes_rule() {
        for ok in ["github", "my_tools-2", "A"] {
            validate_name(ok).expect(ok);
        }
        for bad in ["", "my tools", "a.b", "é", "workspace", "a/b"] {
            validate_name(bad).expect_err(bad);
        }
    }

    #[test]
    fn entries_are_checked_by_transport() {
        let cases = [
            (
                json!({"command": "npx", "args": ["-y", "x"], "env": {"A": "1"}}),
                Ok("stdio"),
            ),
            (
                json!({"type": "http", "url": "https://mcp.example/mcp", "headers": {"A": "b"}}),
                Ok("http"),
            ),
            (
                json!({"type": "sse", "url": "${BASE:-https://x}/sse"}),
                Ok("sse"),
            ),
            (json!({"type": "ws", "url": "wss://x"}), Ok("ws")),
            (
                json!({"url": "https://x"}),
                Err("has a \"url\" but no \"type\""),
            ),
            (json!({"type": "http"}), Err("needs a url")),
            (
                json!({"type": "http", "url": "ftp://x"}),
                Err("must start with http:// or https://"),
            ),
            (json!({"args": []}), Err("needs a command")),
            (
                json!({"command": "x", "args": "a b"}),
                Err("array of strings"),
            ),
            (
                json!({"command": "x", "env": {"A": 1}}),
                Err("string values"),
            ),
            (json!({"type": "grpc", "url": "x"}), Err("is not one of")),
            (
                json!({"command": "x", "timeout": "5s"}),
                Err("milliseconds"),
            ),
            (json!(["x"]), Err("must be a JSON object")),
        ];
        for (entry, want) in cases {
            match (validate_entry("s", &entry), want) {
                (Ok((t, _)), Ok(name)) => assert_eq!(t.as_str(), name, "{entry}"),
                (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{entry}: {e}"),
                (got, want) => panic!("{entry}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_pass_and_ignored_ones_warn() {
        let (_, warnings) = validate_entry(
            "s",
            &json!({"command": "x", "cwd": "/tmp", "timeout": 10, "x-mine": {"k": 1}}),
        )
        .expect("valid");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn masks_secret_looking_values_only() {
        let m = masked(
            &json!({"env": {"GITHUB_TOKEN": "ghp_0123456789abcdef", "API_KEY": "short-key", "MODE": "dev"}, "headers": {"Authorization": "Bearer 0123456789abcdef"}}),
        );
        assert_eq!(m["env"]["GITHUB_TOKEN"], "ghp_012345…cdef");
        assert_eq!(m["env"]["API_KEY"], "…****");
        assert_eq!(m["env"]["MODE"], "dev");
        assert_eq!(m["headers"]["Authorization"], "Bearer 012…cdef");
    }
}
