//! Compiling `[[pools]]`: named groups of endpoints (accounts) serving the same models, with a
//! selection strategy, priority tiers, a fallback pool, session affinity and a breaker each.
//!
//! Nothing routes through pools yet (issue 19): this is the section's shape and its checks, so
//! that the gateway can be wired to a validated [`PoolConfig`].

use std::collections::HashMap;
use std::time::Duration;

use toml_edit::{Item, Value};

use crate::error::Span;
use crate::model::{
    AffinitySettings, BreakerSettings, EndpointConfig, PoolConfig, PoolMember, PoolStrategy,
};
use crate::reader::{Cx, Section, SectionData, Spanned, missing, table_array, unknown_value};

pub(crate) const POOL_KEYS: &[&str] = &[
    "name", "members", "strategy", "fallback", "affinity", "breaker",
];
pub(crate) const MEMBER_KEYS: &[&str] = &["endpoint", "weight", "tier"];
pub(crate) const AFFINITY_KEYS: &[&str] = &["enabled", "ttl", "header", "max_sessions"];
pub(crate) const BREAKER_KEYS: &[&str] = &[
    "consecutive_failures",
    "failure_rate",
    "min_requests",
    "window",
    "open_for",
];

/// The longest affinity TTL: a week (Anthropic's longest prompt-cache TTL is an hour). The
/// error message says "7 days".
const MAX_AFFINITY_TTL: Duration = Duration::from_secs(7 * 86_400);
const MAX_TIER: i64 = 16;
const MAX_WEIGHT: i64 = 1_000_000;

fn is_pool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// An HTTP header name (RFC 9110 token), as `affinity.header` must be.
fn is_header_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Every pool of the `pools` array, in file order. Members name `endpoints` (the compiled
/// ones); fallbacks name other pools and may not form a cycle.
pub(crate) fn pools(cx: &mut Cx<'_>, item: &Item, endpoints: &[EndpointConfig]) -> Vec<PoolConfig> {
    let tables = table_array(cx, item, "pools");
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    let mut fallbacks: HashMap<String, (String, Span)> = HashMap::new();
    for data in &tables {
        let s = data.open(cx, POOL_KEYS);
        if let Some((pool, fallback)) = pool(cx, s, &mut seen, endpoints) {
            if let Some(f) = fallback {
                fallbacks.insert(pool.name.clone(), (s.field("fallback"), f.span));
            }
            out.push(pool);
        }
    }
    check_fallbacks(cx, &mut out, &fallbacks);
    out
}

fn pool(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    seen: &mut HashMap<String, Span>,
    endpoints: &[EndpointConfig],
) -> Option<(PoolConfig, Option<Spanned<String>>)> {
    let name = match s.string(cx, "name") {
        Some(n) if !is_pool_name(&n.value) => {
            let message = format!(
                "invalid pool name `{}`: use 1 to 64 letters, digits, `-`, `_` or `.`",
                n.value
            );
            cx.error(n.span, s.field("name"), message);
            None
        }
        Some(n) if seen.contains_key(&n.value) => {
            let message = format!("duplicate pool name `{}`: names must be unique", n.value);
            cx.error(n.span, s.field("name"), message);
            None
        }
        Some(n) if endpoints.iter().any(|e| e.name == n.value) => {
            let message = format!(
                "`{}` is already an endpoint's name: a pool needs a name of its own, so that a rule naming it is not ambiguous",
                n.value
            );
            cx.error(n.span, s.field("name"), message);
            None
        }
        Some(n) => {
            seen.insert(n.value.clone(), n.span);
            Some(n.value)
        }
        None => {
            if !s.contains("name") {
                missing(cx, s, "name", "");
            }
            None
        }
    };
    let strategy = match s.string(cx, "strategy") {
        None => PoolStrategy::Priority,
        Some(v) => match PoolStrategy::from_name(v.value.trim()) {
            Some(st) => st,
            None => {
                unknown_value(cx, s, "strategy", &v, "strategy", PoolStrategy::NAMES);
                PoolStrategy::Priority
            }
        },
    };
    let members = members(cx, s, endpoints, strategy);
    let fallback = s.string(cx, "fallback");
    let affinity = s
        .table(cx, "affinity")
        .map_or_else(AffinitySettings::default, |a| {
            let a = a.open(cx, AFFINITY_KEYS);
            affinity(cx, a)
        });
    let breaker = s
        .table(cx, "breaker")
        .map_or_else(BreakerSettings::default, |b| {
            let b = b.open(cx, BREAKER_KEYS);
            breaker(cx, b)
        });
    let pool = PoolConfig {
        name: name?,
        members: members?,
        strategy,
        fallback: fallback.as_ref().map(|f| f.value.clone()),
        affinity,
        breaker,
    };
    Some((pool, fallback))
}

/// `members = ["a", { endpoint = "b", weight = 3, tier = 2 }]`.
fn members(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    endpoints: &[EndpointConfig],
    strategy: PoolStrategy,
) -> Option<Vec<PoolMember>> {
    let field = s.field("members");
    let Some(item) = s.get("members") else {
        missing(cx, s, "members", " (the endpoints in this pool)");
        return None;
    };
    let Some(array) = item.as_array() else {
        let message = format!(
            "expected an array of endpoint names or {{ endpoint, weight, tier }} tables, found {}",
            item.type_name()
        );
        cx.error(s.value_span("members"), field, message);
        return None;
    };
    if array.is_empty() {
        cx.error(
            s.value_span("members"),
            field,
            "names no endpoint; a pool needs at least one member",
        );
        return None;
    }
    let mut out: Vec<PoolMember> = Vec::new();
    let mut ok = true;
    for (i, v) in array.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let member = match v {
            Value::String(_) => {
                let Some(name) = string_value(cx, v, &at) else {
                    ok = false;
                    continue;
                };
                Some((
                    name,
                    PoolMember {
                        endpoint: String::new(),
                        weight: 1,
                        tier: 1,
                    },
                ))
            }
            Value::InlineTable(t) => {
                let data = SectionData::new(t, at.clone(), v.span());
                let m = data.open(cx, MEMBER_KEYS);
                member(cx, m, strategy)
            }
            other => {
                let message = format!(
                    "expected an endpoint name or a {{ endpoint, weight, tier }} table, found {}",
                    other.type_name()
                );
                cx.error(other.span(), at.clone(), message);
                None
            }
        };
        let Some((name, mut m)) = member else {
            ok = false;
            continue;
        };
        if out.iter().any(|o| o.endpoint == name.value) {
            cx.error(name.span, at, format!("`{}` is listed twice", name.value));
            ok = false;
        } else if endpoints.iter().any(|e| e.name == name.value) {
            m.endpoint = name.value;
            out.push(m);
        } else {
            let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
            let message = format!(
                "no endpoint named `{}`; the endpoints are: {}",
                name.value,
                names.join(", ")
            );
            cx.error(name.span, at, message);
            ok = false;
        }
    }
    ok.then_some(out)
}

/// A bare string in `members`, with `${VAR}` expanded like any string.
fn string_value(cx: &mut Cx<'_>, v: &Value, field: &str) -> Option<Spanned<String>> {
    let raw = v.as_str()?;
    match crate::env::substitute(raw, cx.env) {
        Ok(value) => Some(Spanned {
            value,
            span: v.span(),
        }),
        Err(errors) => {
            for e in errors {
                cx.error(v.span(), field.to_owned(), e.to_string());
            }
            None
        }
    }
}

fn member(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    strategy: PoolStrategy,
) -> Option<(Spanned<String>, PoolMember)> {
    let name = s.string(cx, "endpoint");
    if name.is_none() && !s.contains("endpoint") {
        missing(cx, s, "endpoint", " (the name of one of the [[endpoints]])");
    }
    let mut m = PoolMember {
        endpoint: String::new(),
        weight: 1,
        tier: 1,
    };
    if let Some(w) = s.integer(cx, "weight", 0, MAX_WEIGHT) {
        if strategy == PoolStrategy::Weighted {
            m.weight = u32::try_from(w).unwrap_or(1);
        } else {
            let message = format!(
                "has no effect with strategy \"{}\": weights are read by strategy = \"weighted\"",
                strategy.as_str()
            );
            cx.error(s.value_span("weight"), s.field("weight"), message);
        }
    }
    if let Some(t) = s.integer(cx, "tier", 1, MAX_TIER) {
        m.tier = u32::try_from(t).unwrap_or(1);
    }
    Some((name?, m))
}

fn affinity(cx: &mut Cx<'_>, s: Section<'_>) -> AffinitySettings {
    let mut out = AffinitySettings::default();
    if let Some(b) = s.bool(cx, "enabled") {
        out.enabled = b;
    }
    if let Some(d) = s.duration(cx, "ttl") {
        if d.is_zero() || d > MAX_AFFINITY_TTL {
            let message = "must be longer than zero and at most 7 days (it should cover the prompt cache's TTL: 5 minutes or an hour)";
            cx.error(s.value_span("ttl"), s.field("ttl"), message);
        } else {
            out.ttl = d;
        }
    }
    if let Some(h) = s.string(cx, "header") {
        if is_header_name(&h.value) {
            out.header = Some(h.value.to_ascii_lowercase());
        } else {
            let message = format!("`{}` is not a valid HTTP header name", h.value);
            cx.error(h.span, s.field("header"), message);
        }
    }
    if let Some(n) = s.integer(cx, "max_sessions", 1, 10_000_000) {
        out.max_sessions = usize::try_from(n).unwrap_or(out.max_sessions);
    }
    out
}

fn breaker(cx: &mut Cx<'_>, s: Section<'_>) -> BreakerSettings {
    let mut out = BreakerSettings::default();
    if let Some(n) = s.integer(cx, "consecutive_failures", 0, 10_000) {
        out.consecutive_failures = u32::try_from(n).unwrap_or(out.consecutive_failures);
    }
    if let Some(n) = s.integer(cx, "failure_rate", 0, 100) {
        out.failure_rate_percent = u8::try_from(n).unwrap_or(out.failure_rate_percent);
    }
    if let Some(n) = s.integer(cx, "min_requests", 1, 1_000_000) {
        out.min_requests = u32::try_from(n).unwrap_or(out.min_requests);
    }
    for (key, slot) in [("window", &mut out.window), ("open_for", &mut out.open_for)] {
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

/// Each fallback names another pool, and following fallbacks never comes back to a pool
/// already visited. A fallback in error is dropped, so that each cycle is reported once.
fn check_fallbacks(
    cx: &mut Cx<'_>,
    pools: &mut [PoolConfig],
    fallbacks: &HashMap<String, (String, Span)>,
) {
    let names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
    let index = |name: &str| names.iter().position(|n| n == name);
    for i in 0..pools.len() {
        let Some(f) = pools[i].fallback.clone() else {
            continue;
        };
        let Some((field, span)) = fallbacks.get(&pools[i].name) else {
            continue;
        };
        let message = if f == pools[i].name {
            "a pool cannot fall back to itself".to_owned()
        } else if index(&f).is_none() {
            format!("no pool named `{f}`; the pools are: {}", names.join(", "))
        } else {
            // Follow the chain: at most one step per pool before it ends or loops.
            let mut at = i;
            let mut path = vec![pools[i].name.as_str()];
            let mut cycle = false;
            for _ in 0..pools.len() {
                let Some(next) = pools[at].fallback.as_deref().and_then(index) else {
                    break;
                };
                path.push(&names[next]);
                if next == i {
                    cycle = true;
                    break;
                }
                at = next;
            }
            if !cycle {
                continue;
            }
            format!("fallbacks form a cycle: {}", path.join(" → "))
        };
        cx.error(span.clone(), field.clone(), message);
        pools[i].fallback = None;
    }
}

#[cfg(test)]
mod tests;
