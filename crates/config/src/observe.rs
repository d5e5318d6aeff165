//! The observability sections: `[pricing]`, `[audit]`, `[log_file]` and `[opentelemetry]`.

use std::path::PathBuf;

use url::Url;

use crate::model::{
    AuditConfig, DEFAULT_OTEL_SERVICE_NAME, DEFAULT_OTEL_TIMEOUT, LogFileConfig,
    OpenTelemetryConfig, PriceOverride,
};
use crate::reader::{Cx, Section, missing};
use crate::secret::SecretString;

pub(crate) const PRICING_KEYS: &[&str] = &["models"];
pub(crate) const PRICE_KEYS: &[&str] = &[
    "input",
    "output",
    "cache_write",
    "cache_write_1h",
    "cache_read",
];
pub(crate) const AUDIT_KEYS: &[&str] = &["enabled", "retention", "max_bytes", "max_request_bytes"];
pub(crate) const LOG_FILE_KEYS: &[&str] = &["enabled", "dir"];
pub(crate) const OPENTELEMETRY_KEYS: &[&str] = &[
    "enabled",
    "endpoint",
    "headers",
    "service_name",
    "sample_ratio",
    "timeout",
];

/// Highest price accepted, USD per million tokens: far above any real one, low enough to catch a
/// price written per token or per thousand by mistake… in the other direction.
const MAX_PRICE: f64 = 100_000.0;

/// `[pricing]` with `[pricing.models."id-or-glob"]` tables.
pub(crate) fn pricing(cx: &mut Cx<'_>, s: Section<'_>) -> Vec<PriceOverride> {
    let Some(models) = s.table(cx, "models") else {
        return Vec::new();
    };
    let models = models.any();
    let mut out = Vec::new();
    for (key, _) in models.entries() {
        if key.trim().is_empty() {
            cx.error(
                models.key_span(key),
                models.field(key),
                "model pattern is empty",
            );
            continue;
        }
        let Some(table) = models.table(cx, key) else {
            continue;
        };
        let t = table.open(cx, PRICE_KEYS);
        let price = |cx: &mut Cx<'_>, k: &str| t.number(cx, k, 0.0, MAX_PRICE);
        let input = price(cx, "input");
        let output = price(cx, "output");
        let cache_write = price(cx, "cache_write");
        let cache_write_1h = price(cx, "cache_write_1h");
        let cache_read = price(cx, "cache_read");
        for (k, v) in [("input", input), ("output", output)] {
            if v.is_none() && !t.contains(k) {
                missing(cx, t, k, " (USD per million tokens)");
            }
        }
        let (Some(input), Some(output)) = (input, output) else {
            continue;
        };
        let cache_write = cache_write.unwrap_or(input);
        out.push(PriceOverride {
            pattern: key.to_owned(),
            input,
            output,
            cache_write,
            cache_write_1h: cache_write_1h.unwrap_or(cache_write),
            cache_read: cache_read.unwrap_or(input),
        });
    }
    out
}

pub(crate) fn audit(cx: &mut Cx<'_>, s: Section<'_>) -> AuditConfig {
    let mut out = AuditConfig::default();
    if let Some(b) = s.bool(cx, "enabled") {
        out.enabled = b;
    }
    if let Some(d) = s.duration(cx, "retention") {
        if d.is_zero() {
            cx.error(
                s.value_span("retention"),
                s.field("retention"),
                "must be longer than zero (set `enabled = false` to turn audit off)",
            );
        } else {
            out.retention = d;
        }
    }
    if let Some(n) = s.byte_size(cx, "max_bytes") {
        out.max_bytes = n;
    }
    if let Some(n) = s.byte_size(cx, "max_request_bytes") {
        out.max_request_bytes = n;
    }
    out
}

pub(crate) fn log_file(cx: &mut Cx<'_>, s: Section<'_>) -> LogFileConfig {
    let mut out = LogFileConfig::default();
    if let Some(b) = s.bool(cx, "enabled") {
        out.enabled = b;
    }
    if let Some(dir) = s.string(cx, "dir") {
        if dir.value.trim().is_empty() {
            cx.error(
                dir.span,
                s.field("dir"),
                "is empty; set a directory or remove the key",
            );
        } else {
            out.dir = Some(PathBuf::from(dir.value));
        }
    }
    out
}

/// `[opentelemetry]`: `None` when `enabled = false` (the rest is still checked).
pub(crate) fn opentelemetry(cx: &mut Cx<'_>, s: Section<'_>) -> Option<OpenTelemetryConfig> {
    let enabled = s.bool(cx, "enabled").unwrap_or(true);
    let endpoint = match s.string(cx, "endpoint") {
        Some(e) => match parse_otlp_endpoint(&e.value) {
            Ok(url) => Some(url),
            Err(message) => {
                cx.error(e.span, s.field("endpoint"), message);
                None
            }
        },
        None => {
            if enabled && !s.contains("endpoint") {
                let hint = " (the collector's OTLP/HTTP address, like \"http://127.0.0.1:4318\")";
                missing(cx, s, "endpoint", hint);
            }
            None
        }
    };
    let mut headers = Vec::new();
    if let Some(h) = s.table(cx, "headers") {
        let h = h.any();
        for (name, value) in crate::fields::headers(cx, h) {
            if value.trim().is_empty() {
                let message = "is empty; set a value or remove the header";
                cx.error(h.value_span(&name), h.field(&name), message);
            } else {
                headers.push((name, SecretString::new(value)));
            }
        }
    }
    let mut service_name = DEFAULT_OTEL_SERVICE_NAME.to_owned();
    if let Some(name) = s.string(cx, "service_name") {
        if name.value.trim().is_empty() {
            let message = "is empty; set a name or remove the key (default \"switchboard\")";
            cx.error(name.span, s.field("service_name"), message);
        } else {
            service_name = name.value;
        }
    }
    let sample_ratio = s.number(cx, "sample_ratio", 0.0, 1.0).unwrap_or(1.0);
    let mut timeout = DEFAULT_OTEL_TIMEOUT;
    if let Some(d) = s.duration(cx, "timeout") {
        if d.is_zero() {
            cx.error(
                s.value_span("timeout"),
                s.field("timeout"),
                "must be longer than zero",
            );
        } else {
            timeout = d;
        }
    }
    let endpoint = endpoint?;
    enabled.then_some(OpenTelemetryConfig {
        endpoint,
        headers,
        service_name,
        sample_ratio,
        timeout,
    })
}

/// An OTLP/HTTP base URL: http(s), a host, no query, fragment or credentials (those belong in
/// `headers`, which are masked wherever the configuration is shown). Kept without a trailing
/// `/`; the signal path (`/v1/traces`) is appended when exporting.
pub(crate) fn parse_otlp_endpoint(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme `{}`: OTLP/HTTP needs http or https (gRPC on port 4317 is not supported; use the collector's HTTP port, usually 4318)",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("URL has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL would be shown wherever it is; send them in `headers`"
                .to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("endpoint must not have a query string or fragment".to_owned());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if path.ends_with("/v1/traces") {
        return Err(
            "endpoint ends with `/v1/traces`; give the collector's base URL, the path is appended"
                .to_owned(),
        );
    }
    url.set_path(if path.is_empty() { "/" } else { &path });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use crate::reader::parse_byte_size;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_byte_size("8 MiB"), Some(8 << 20));
        assert_eq!(parse_byte_size("512kb"), Some(512_000));
        assert_eq!(parse_byte_size("100"), Some(100));
        assert_eq!(parse_byte_size("1.5GB"), None);
        assert_eq!(parse_byte_size("GB"), None);
        assert_eq!(parse_byte_size("3 parsecs"), None);
    }
}

#[cfg(test)]
mod otlp_tests {
    use super::parse_otlp_endpoint;

    #[test]
    fn otlp_endpoints_are_normalised_and_checked() {
        let traces = |e: &str| {
            let endpoint = parse_otlp_endpoint(e).expect("valid endpoint");
            crate::OpenTelemetryConfig {
                endpoint,
                headers: Vec::new(),
                service_name: "s".into(),
                sample_ratio: 1.0,
                timeout: crate::DEFAULT_OTEL_TIMEOUT,
            }
            .traces_url()
            .to_string()
        };
        assert_eq!(
            traces("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces("https://otlp.example.com/otlp/"),
            "https://otlp.example.com/otlp/v1/traces"
        );
        for bad in [
            "127.0.0.1:4318",
            "grpc://127.0.0.1:4317",
            "http://user:pw@collector:4318",
            "http://collector:4318/v1/traces",
            "http://collector:4318?x=1",
        ] {
            assert!(parse_otlp_endpoint(bad).is_err(), "{bad}");
        }
    }
}
