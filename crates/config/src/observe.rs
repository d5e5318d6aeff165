//! The observability sections: `[pricing]`, `[audit]` and `[log_file]`.

use std::path::PathBuf;

use crate::model::{AuditConfig, LogFileConfig, PriceOverride};
use crate::reader::{Cx, Section, missing};

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
