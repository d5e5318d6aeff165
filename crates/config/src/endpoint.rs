//! Compiling `[[endpoints]]`: presets, defaults by kind, URL and header checks.

use std::collections::HashMap;

use switchboard_protocol::Dialect;
use toml_edit::Item;
use url::Url;

use crate::error::Span;
use crate::fields::{headers, model_map, secret};
use crate::model::{AuthStyle, EndpointConfig, ModelMap};
use crate::preset::{Preset, preset, preset_names};
use crate::reader::{Cx, Section, Spanned, missing, table_array, unknown_value};

pub(crate) const ENDPOINT_KEYS: &[&str] = &[
    "name",
    "kind",
    "preset",
    "base_url",
    "api_key",
    "auth",
    "headers",
    "max_output_tokens",
    "count_tokens",
    "enabled",
    "models",
    "proxy",
];
const KINDS: &[&str] = &["anthropic", "openai", "gemini"];
const AUTH_STYLES: &[&str] = &["x-api-key", "bearer", "x-goog-api-key"];
/// API paths the server appends; a base URL that already ends with one is a mistake.
const API_PATHS: &[&str] = &["/chat/completions", "/messages", "/v1/messages", "/models"];

/// The endpoint used when the file has no `endpoints` key: transparent pass-through to
/// Anthropic with the client's own credentials.
#[must_use]
pub(crate) fn default_endpoint() -> EndpointConfig {
    EndpointConfig {
        name: "anthropic".to_owned(),
        kind: Dialect::Anthropic,
        base_url: anthropic_url(),
        api_key: None,
        auth: AuthStyle::XApiKey,
        headers: Vec::new(),
        models: ModelMap::default(),
        preset: None,
        max_output_tokens: None,
        count_tokens: true,
        enabled: true,
        proxy: None,
    }
}

fn anthropic_url() -> Url {
    Url::parse("https://api.anthropic.com").expect("a literal URL parses")
}

/// Every endpoint of the `endpoints` array, in priority order.
pub(crate) fn endpoints(cx: &mut Cx<'_>, item: &Item) -> Vec<EndpointConfig> {
    let tables = table_array(cx, item, "endpoints");
    if tables.is_empty() && item.as_array().is_some_and(toml_edit::Array::is_empty) {
        cx.error(
            item.span(),
            "endpoints",
            "no endpoints configured; add an [[endpoints]] table, or remove the key for the default \
             pass-through to https://api.anthropic.com",
        );
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for data in &tables {
        let s = data.open(cx, ENDPOINT_KEYS);
        if let Some(e) = endpoint(cx, s, &mut seen) {
            out.push(e);
        }
    }
    out
}

fn endpoint(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    seen: &mut HashMap<String, Span>,
) -> Option<EndpointConfig> {
    let name = endpoint_name(cx, s, seen);
    let preset = s.string(cx, "preset").and_then(|p| {
        let found = preset(&p.value);
        if found.is_none() {
            unknown_value(cx, s, "preset", &p, "preset", &preset_names());
        }
        found
    });
    let kind = s.string(cx, "kind").and_then(|k| {
        let kind = parse_kind(&k.value);
        if kind.is_none() {
            unknown_value(cx, s, "kind", &k, "kind", KINDS);
        }
        kind.map(|value| Spanned {
            value,
            span: k.span,
        })
    });
    let base_url = s
        .string(cx, "base_url")
        .and_then(|u| match parse_base_url(&u.value) {
            Ok(url) => Some(url),
            Err(message) => {
                cx.error(u.span, s.field("base_url"), message);
                None
            }
        });
    let api_key = secret(cx, s, "api_key");
    let auth = s.string(cx, "auth").and_then(|a| {
        let auth = parse_auth(&a.value);
        if auth.is_none() {
            unknown_value(cx, s, "auth", &a, "auth style", AUTH_STYLES);
        }
        auth
    });
    let headers = s
        .table(cx, "headers")
        .map(|h| headers(cx, h.any()))
        .unwrap_or_default();
    let max_output_tokens = s
        .integer(cx, "max_output_tokens", 1, i64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok());
    let count_tokens = s.bool(cx, "count_tokens");
    let enabled = s.bool(cx, "enabled").unwrap_or(true);
    let proxy = crate::proxy::proxy_setting(cx, s, "proxy");
    let models = s
        .table(cx, "models")
        .map(|m| model_map(cx, m.any()))
        .unwrap_or_default();

    let kind = resolve_kind(cx, s, kind, preset, s.contains("base_url"));
    let base_url = match (base_url, preset) {
        (Some(url), _) => Some(url),
        (None, Some(p)) => parse_base_url(p.base_url).ok(),
        (None, None) => {
            // An unknown preset was reported already; its missing URL would only add noise.
            if !s.contains("base_url") && !s.contains("preset") {
                missing(cx, s, "base_url", " (or set `preset`)");
            }
            None
        }
    };
    let (Some(name), Some(kind), Some(base_url)) = (name, kind, base_url) else {
        return None;
    };
    Some(EndpointConfig {
        name,
        kind,
        base_url,
        api_key,
        auth: auth
            .or(preset.map(|p| p.auth))
            .unwrap_or(default_auth(kind)),
        headers,
        models,
        preset: preset.map(|p| p.name.to_owned()),
        max_output_tokens: max_output_tokens.or(preset.and_then(|p| p.max_output_tokens)),
        count_tokens: count_tokens
            .or(preset.map(|p| p.count_tokens))
            .unwrap_or(kind == Dialect::Anthropic),
        enabled,
        proxy,
    })
}

/// The endpoint's kind: explicit, else the preset's. Overriding the preset's kind without
/// overriding its URL would send one dialect to another dialect's URL, so that is an error.
fn resolve_kind(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    kind: Option<Spanned<Dialect>>,
    preset: Option<&Preset>,
    has_url: bool,
) -> Option<Dialect> {
    match (kind, preset) {
        (Some(k), Some(p)) if k.value != p.kind && !has_url => {
            let message = format!(
                "kind `{}` differs from preset `{}` ({}); set `base_url` too, or pick a preset of that kind",
                k.value, p.name, p.kind
            );
            cx.error(k.span, s.field("kind"), message);
            None
        }
        (Some(k), _) => Some(k.value),
        (None, Some(p)) => Some(p.kind),
        (None, None) => {
            if !s.contains("kind") && !s.contains("preset") {
                missing(
                    cx,
                    s,
                    "kind",
                    ": one of anthropic, openai, gemini (or set `preset`)",
                );
            }
            None
        }
    }
}

fn endpoint_name(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    seen: &mut HashMap<String, Span>,
) -> Option<String> {
    let Some(name) = s.string(cx, "name") else {
        if !s.contains("name") {
            missing(cx, s, "name", "");
        }
        return None;
    };
    let valid = !name.value.is_empty()
        && name.value.len() <= 64
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        let message = format!(
            "invalid endpoint name `{}`: use 1 to 64 letters, digits, `-`, `_` or `.`",
            name.value
        );
        cx.error(name.span, s.field("name"), message);
        return None;
    }
    if seen.contains_key(&name.value) {
        let message = format!(
            "duplicate endpoint name `{}`: names must be unique",
            name.value
        );
        cx.error(name.span, s.field("name"), message);
        return None;
    }
    seen.insert(name.value.clone(), name.span);
    Some(name.value)
}

fn parse_kind(s: &str) -> Option<Dialect> {
    match s {
        "anthropic" => Some(Dialect::Anthropic),
        "openai" => Some(Dialect::OpenAiChat),
        "gemini" => Some(Dialect::Gemini),
        _ => None,
    }
}

fn parse_auth(s: &str) -> Option<AuthStyle> {
    match s.to_ascii_lowercase().as_str() {
        "x-api-key" => Some(AuthStyle::XApiKey),
        "bearer" => Some(AuthStyle::Bearer),
        "x-goog-api-key" => Some(AuthStyle::GoogApiKey),
        _ => None,
    }
}

/// How each kind authenticates unless told otherwise.
#[must_use]
pub(crate) fn default_auth(kind: Dialect) -> AuthStyle {
    match kind {
        Dialect::Anthropic => AuthStyle::XApiKey,
        Dialect::OpenAiChat => AuthStyle::Bearer,
        Dialect::Gemini => AuthStyle::GoogApiKey,
    }
}

/// An absolute http(s) URL without query or fragment, stored without a trailing slash.
pub(crate) fn parse_base_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme `{}`: expected http or https",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("URL has no host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("base URL must not have a query string or fragment".to_owned());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if let Some(api) = API_PATHS.iter().find(|p| path.ends_with(*p)) {
        return Err(format!(
            "base URL ends with the API path `{api}`; leave it out, the server appends it"
        ));
    }
    url.set_path(if path.is_empty() { "/" } else { &path });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_and_checked() {
        assert_eq!(
            parse_base_url("https://api.openai.com/v1/")
                .unwrap()
                .as_str(),
            "https://api.openai.com/v1"
        );
        assert_eq!(
            parse_base_url("https://api.anthropic.com")
                .unwrap()
                .as_str(),
            "https://api.anthropic.com/"
        );
        assert_eq!(
            parse_base_url("api.anthropic.com").unwrap_err(),
            "relative URL without a base"
        );
        assert!(
            parse_base_url("ftp://x.org")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(
            parse_base_url("https://x.org/v1/chat/completions")
                .unwrap_err()
                .contains("/chat/completions")
        );
        assert!(parse_base_url("https://x.org/v1?a=b").is_err());
    }
}
