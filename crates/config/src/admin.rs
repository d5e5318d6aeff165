//! `[admin]`: the control plane's door (its listener, the host names it answers to, who may
//! read `/metrics`, how long dashboard sessions last, from where Claude Code's files may be changed), and the origin lists it shares with
//! `[server]`.

use std::net::SocketAddr;

use crate::fields::secret;
use crate::model::{AdminConfig, ClaudeFilesAccess, MetricsAccess};
use crate::reader::{Cx, Section, string_list, unknown_value};

pub(crate) const ADMIN_KEYS: &[&str] = &[
    "listen",
    "hosts",
    "metrics",
    "metrics_token",
    "session_lifetime",
    "session_idle",
    "claude_files",
];

pub(crate) fn admin(cx: &mut Cx<'_>, s: Section<'_>) -> AdminConfig {
    let mut out = AdminConfig::default();
    if let Some(listen) = s.string(cx, "listen") {
        match listen.value.trim().parse::<SocketAddr>() {
            Ok(addr) => out.listen = Some(addr),
            Err(_) => cx.error(
                listen.span,
                s.field("listen"),
                format!(
                    "invalid listen address `{}`: expected IP:PORT, like \"127.0.0.1:8788\"",
                    listen.value
                ),
            ),
        }
    }
    for host in string_list(cx, s, "hosts").unwrap_or_default() {
        let name = host.value.trim().trim_end_matches('.').to_ascii_lowercase();
        let bare = name.strip_prefix("*.").unwrap_or(&name);
        let valid = !bare.is_empty()
            && bare.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']')
            });
        if valid {
            out.hosts.push(name);
        } else {
            cx.error(
                host.span,
                s.field("hosts"),
                format!(
                    "`{}` is not a host name: write a name like \"gateway.example.com\" or \"*.example.com\" (no scheme, port or path)",
                    host.value
                ),
            );
        }
    }
    if let Some(m) = s.string(cx, "metrics") {
        match m.value.as_str() {
            "admin" => out.metrics = MetricsAccess::Admin,
            "open" => out.metrics = MetricsAccess::Open,
            _ => unknown_value(cx, s, "metrics", &m, "metrics access", &["admin", "open"]),
        }
    }
    out.metrics_token = secret(cx, s, "metrics_token");
    if let Some(m) = s.string(cx, "claude_files") {
        match m.value.as_str() {
            "local" => out.claude_files = ClaudeFilesAccess::Local,
            "any" => out.claude_files = ClaudeFilesAccess::Any,
            _ => unknown_value(
                cx,
                s,
                "claude_files",
                &m,
                "Claude Code files access",
                &["local", "any"],
            ),
        }
    }
    for (key, slot) in [
        ("session_lifetime", &mut out.session_lifetime),
        ("session_idle", &mut out.session_idle),
    ] {
        if let Some(d) = s.duration(cx, key) {
            if d.is_zero() {
                cx.error(s.value_span(key), s.field(key), "must be longer than zero");
            } else {
                *slot = d;
            }
        }
    }
    out
}

/// A list of web origins (`scheme://host[:port]`, no path), lower-cased.
pub(crate) fn origins(cx: &mut Cx<'_>, s: Section<'_>, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for o in string_list(cx, s, key).unwrap_or_default() {
        let text = o.value.trim().trim_end_matches('/').to_ascii_lowercase();
        let well_formed = url::Url::parse(&text).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && u.query().is_none()
                && u.username().is_empty()
        });
        if well_formed {
            out.push(text);
        } else {
            cx.error(
                o.span,
                s.field(key),
                format!(
                    "`{}` is not a web origin: write scheme, host and optional port, like \"https://app.example.com\"",
                    o.value
                ),
            );
        }
    }
    out
}
