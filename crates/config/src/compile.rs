//! The compile phase: from the parsed document to [`Config`], section by section. Each section
//! falls back to its default when a value is wrong, so later sections are still checked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use toml_edit::Table;

use crate::endpoint::{default_endpoint, endpoints};
use crate::fields::{model_map, secret};
use crate::model::{
    AdminConfig, AuditConfig, Config, ConfigSource, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_LISTEN, DEFAULT_LOG_QUEUE, DEFAULT_SHUTDOWN_GRACE, LogFileConfig, RoutingConfig,
    ServerConfig, StorageConfig, TlsFiles,
};
use crate::observe;
use crate::proxy::ProxySetting;
use crate::reader::{Cx, Section, SectionData, missing};

const TOP_KEYS: &[&str] = &[
    "server",
    "endpoints",
    "models",
    "routing",
    "storage",
    "pricing",
    "audit",
    "log_file",
    "opentelemetry",
    "admin",
    "pools",
    "profiles",
];
const SERVER_KEYS: &[&str] = &[
    "listen",
    "auth_token",
    "shutdown_grace",
    "header_timeout",
    "body_timeout",
    "tls_cert",
    "tls_key",
    "allowed_origins",
    "max_body_bytes",
    "max_headers",
    "max_header_bytes",
    "max_json_depth",
    "max_messages",
    "max_tools",
    "max_content_blocks",
];
const ROUTING_KEYS: &[&str] = &[
    "max_retries",
    "backoff",
    "cooldown",
    "failure_cooldown",
    "connect_timeout",
    "first_byte_timeout",
    "idle_timeout",
    "keepalive_interval",
    "proxy",
    "no_proxy",
    "profile",
];
const BACKOFF_KEYS: &[&str] = &["initial", "max"];
const STORAGE_KEYS: &[&str] = &["url", "log_queue", "retention"];

/// Compiles the whole document; `cx` collects the errors.
pub(crate) fn compile_root(cx: &mut Cx<'_>, root: &Table, source: ConfigSource) -> Config {
    let root = SectionData::new(root, String::new(), Some(0..0));
    let root = root.open(cx, TOP_KEYS);
    let server = root.table(cx, "server").map_or_else(default_server, |s| {
        let s = s.open(cx, SERVER_KEYS);
        server(cx, s)
    });
    let endpoints = match root.get("endpoints") {
        None => vec![default_endpoint()],
        Some(item) => endpoints(cx, item),
    };
    let models = root
        .table(cx, "models")
        .map(|s| model_map(cx, s.any()))
        .unwrap_or_default();
    let routing = root
        .table(cx, "routing")
        .map_or_else(RoutingConfig::default, |s| {
            let s = s.open(cx, ROUTING_KEYS);
            routing(cx, s)
        });
    let storage = root
        .table(cx, "storage")
        .map_or_else(StorageConfig::default, |s| {
            let s = s.open(cx, STORAGE_KEYS);
            storage(cx, s)
        });
    let pricing = root
        .table(cx, "pricing")
        .map(|s| {
            let s = s.open(cx, observe::PRICING_KEYS);
            observe::pricing(cx, s)
        })
        .unwrap_or_default();
    let audit = root
        .table(cx, "audit")
        .map_or_else(AuditConfig::default, |s| {
            let s = s.open(cx, observe::AUDIT_KEYS);
            observe::audit(cx, s)
        });
    let log_file = root
        .table(cx, "log_file")
        .map_or_else(LogFileConfig::default, |s| {
            let s = s.open(cx, observe::LOG_FILE_KEYS);
            observe::log_file(cx, s)
        });
    let opentelemetry = root.table(cx, "opentelemetry").and_then(|s| {
        let s = s.open(cx, observe::OPENTELEMETRY_KEYS);
        observe::opentelemetry(cx, s)
    });
    let admin = root
        .table(cx, "admin")
        .map_or_else(AdminConfig::default, |s| {
            let s = s.open(cx, crate::admin::ADMIN_KEYS);
            crate::admin::admin(cx, s)
        });
    let profiles = root
        .get("profiles")
        .map(|item| crate::profile::profiles(cx, item, &endpoints))
        .unwrap_or_default();
    if let Some(active) = &routing.profile {
        crate::profile::check_active(cx, root, active, &profiles);
    }
    let pools = root
        .get("pools")
        .map(|item| crate::pool::pools(cx, item, &endpoints))
        .unwrap_or_default();
    Config {
        source,
        admin,
        pools,
        profiles,
        server,
        endpoints,
        models,
        routing,
        storage,
        pricing,
        audit,
        log_file,
        opentelemetry,
    }
}

pub(crate) fn default_server() -> ServerConfig {
    ServerConfig {
        listen: default_listen(),
        auth_token: None,
        shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        header_timeout: DEFAULT_HEADER_TIMEOUT,
        body_timeout: DEFAULT_BODY_TIMEOUT,
        tls: None,
        allowed_origins: Vec::new(),
        limits: crate::model::InputLimits::default(),
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8787)))
}

fn server(cx: &mut Cx<'_>, s: Section<'_>) -> ServerConfig {
    let mut out = default_server();
    if let Some(listen) = s.string(cx, "listen") {
        match listen.value.trim().parse::<SocketAddr>() {
            Ok(addr) => out.listen = addr,
            Err(_) => cx.error(
                listen.span,
                s.field("listen"),
                format!(
                    "invalid listen address `{}`: expected IP:PORT, like \"127.0.0.1:8787\"",
                    listen.value
                ),
            ),
        }
    }
    out.auth_token = secret(cx, s, "auth_token");
    if let Some(d) = s.duration(cx, "shutdown_grace") {
        out.shutdown_grace = d;
    }
    // Zero would mean "no limit" to the HTTP server: not a value to reach by accident.
    let timeouts: [(&str, &mut Duration); 2] = [
        ("header_timeout", &mut out.header_timeout),
        ("body_timeout", &mut out.body_timeout),
    ];
    for (key, slot) in timeouts {
        if let Some(d) = s.duration(cx, key) {
            if d.is_zero() {
                cx.error(s.value_span(key), s.field(key), "must be longer than zero");
            } else {
                *slot = d;
            }
        }
    }
    let cert = s.string(cx, "tls_cert");
    let key = s.string(cx, "tls_key");
    match (cert, key) {
        (Some(cert), Some(key)) => {
            out.tls = Some(TlsFiles {
                cert: PathBuf::from(cert.value),
                key: PathBuf::from(key.value),
            });
        }
        (Some(_), None) => missing(cx, s, "tls_key", " (the PEM private key of `tls_cert`)"),
        (None, Some(_)) => missing(
            cx,
            s,
            "tls_cert",
            " (the PEM certificate chain of `tls_key`)",
        ),
        (None, None) => {}
    }
    out.allowed_origins = crate::admin::origins(cx, s, "allowed_origins");
    input_limits(cx, s, &mut out.limits);
    out
}

/// `[server] max_*`: each at least 1 (0 would refuse everything, not lift the limit).
fn input_limits(cx: &mut Cx<'_>, s: Section<'_>, l: &mut crate::model::InputLimits) {
    for (key, slot) in [
        ("max_body_bytes", &mut l.max_body_bytes),
        ("max_header_bytes", &mut l.max_header_bytes),
    ] {
        if let Some(n) = s.byte_size(cx, key) {
            if n == 0 {
                cx.error(s.value_span(key), s.field(key), "must be at least 1 byte");
            } else {
                *slot = n;
            }
        }
    }
    for (key, slot, max) in [
        ("max_headers", &mut l.max_headers, 10_000),
        ("max_json_depth", &mut l.max_json_depth, 127),
        ("max_messages", &mut l.max_messages, 10_000_000),
        ("max_tools", &mut l.max_tools, 1_000_000),
        ("max_content_blocks", &mut l.max_content_blocks, 10_000_000),
    ] {
        if let Some(n) = s.integer(cx, key, 1, max) {
            *slot = usize::try_from(n).unwrap_or(*slot);
        }
    }
}

fn routing(cx: &mut Cx<'_>, s: Section<'_>) -> RoutingConfig {
    let mut out = RoutingConfig::default();
    if let Some(n) = s.integer(cx, "max_retries", 0, 100) {
        out.max_retries = u32::try_from(n).unwrap_or(out.max_retries);
    }
    if let Some(b) = s.table(cx, "backoff") {
        let b = b.open(cx, BACKOFF_KEYS);
        let initial = b.duration(cx, "initial");
        let max = b.duration(cx, "max");
        out.backoff_initial = initial.unwrap_or(out.backoff_initial);
        out.backoff_max = max.unwrap_or(out.backoff_max);
        if out.backoff_initial > out.backoff_max && (initial.is_some() || max.is_some()) {
            let key = if max.is_some() { "max" } else { "initial" };
            let message = format!(
                "backoff.max ({}) is shorter than backoff.initial ({})",
                humantime::format_duration(out.backoff_max),
                humantime::format_duration(out.backoff_initial)
            );
            cx.error(b.value_span(key), b.field(key), message);
        }
    }
    if let Some(d) = s.duration(cx, "cooldown") {
        out.cooldown = d;
    }
    if let Some(d) = s.duration(cx, "failure_cooldown") {
        out.failure_cooldown = d;
    }
    let timeouts: [(&str, &mut Duration); 4] = [
        ("connect_timeout", &mut out.connect_timeout),
        ("first_byte_timeout", &mut out.first_byte_timeout),
        ("idle_timeout", &mut out.idle_timeout),
        ("keepalive_interval", &mut out.keepalive_interval),
    ];
    for (key, slot) in timeouts {
        if let Some(d) = s.duration(cx, key) {
            if d.is_zero() {
                cx.error(s.value_span(key), s.field(key), "must be longer than zero");
            } else {
                *slot = d;
            }
        }
    }
    out.profile = s.string(cx, "profile").map(|p| p.value);
    out.proxy = crate::proxy::proxy_setting(cx, s, "proxy");
    if let Some(no_proxy) = crate::proxy::no_proxy(cx, s) {
        let message = match (&out.proxy, s.contains("proxy")) {
            (Some(ProxySetting::Via(_)), _) => {
                out.no_proxy = no_proxy.value;
                None
            }
            (Some(ProxySetting::Direct), _) => {
                Some("has no effect: `proxy` is \"none\", so nothing goes through a proxy")
            }
            (None, false) => Some(
                "applies to `proxy` in this section, which is not set; proxies from the environment follow NO_PROXY (an endpoint's `proxy = \"none\"` connects it directly)",
            ),
            // `proxy` was invalid and reported already.
            (None, true) => None,
        };
        if let Some(message) = message {
            cx.error(no_proxy.span, s.field("no_proxy"), message);
        }
    }
    out
}

fn storage(cx: &mut Cx<'_>, s: Section<'_>) -> StorageConfig {
    let mut out = StorageConfig::default();
    if let Some(url) = s.string(cx, "url") {
        match url::Url::parse(&url.value) {
            Ok(u) if matches!(u.scheme(), "postgres" | "postgresql" | "sqlite") => {
                out.url = Some(url.value)
            }
            Ok(u) => cx.error(
                url.span,
                s.field("url"),
                format!(
                    "unsupported database scheme `{}`: expected postgres:// or sqlite:",
                    u.scheme()
                ),
            ),
            Err(e) => cx.error(
                url.span,
                s.field("url"),
                format!("invalid database URL: {e}"),
            ),
        }
    }
    if let Some(n) = s.integer(cx, "log_queue", 1, 10_000_000) {
        out.log_queue = usize::try_from(n).unwrap_or(DEFAULT_LOG_QUEUE);
    }
    if let Some(d) = s.duration(cx, "retention") {
        if d.is_zero() {
            let message = "must be longer than zero (remove the key to keep requests forever)";
            cx.error(s.value_span("retention"), s.field("retention"), message);
        } else {
            out.retention = Some(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/configuration.md` has a table row for every key the compiler accepts.
    #[test]
    fn configuration_doc_lists_every_key() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
        let doc = std::fs::read_to_string(path).expect("docs/configuration.md");
        let sections: [(&str, &[&str]); 11] = [
            ("[server]", SERVER_KEYS),
            ("[admin]", crate::admin::ADMIN_KEYS),
            ("[[endpoints]]", crate::endpoint::ENDPOINT_KEYS),
            ("[routing]", ROUTING_KEYS),
            ("[storage]", STORAGE_KEYS),
            ("[pricing]", observe::PRICE_KEYS),
            ("[audit]", observe::AUDIT_KEYS),
            ("[log_file]", observe::LOG_FILE_KEYS),
            ("[opentelemetry]", observe::OPENTELEMETRY_KEYS),
            ("[[profiles]]", crate::profile::PROFILE_KEYS),
            ("[profiles.claude]", crate::profile::CLAUDE_KEYS),
        ];
        for (section, keys) in sections {
            assert!(doc.contains(&format!("## `{section}`")), "{section}");
            for key in keys {
                assert!(
                    doc.contains(&format!("| `{key}` |")),
                    "{section} {key} is not documented"
                );
            }
        }
        for key in TOP_KEYS {
            assert!(
                doc.contains(&format!("`[{key}]`")) || doc.contains(&format!("`[[{key}]]`")),
                "{key}"
            );
        }
        for key in BACKOFF_KEYS {
            assert!(doc.contains(&format!("{key} = ")), "backoff.{key}");
        }
    }
}
