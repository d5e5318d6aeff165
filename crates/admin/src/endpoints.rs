//! The endpoints as the dashboard edits them: listed with their live state and recent figures,
//! added, edited, removed, enabled and disabled, reordered — every change written back to the
//! configuration file ([`crate::config::write`]) — and tested with a real request.
//!
//! An API key typed into the form never reaches the file: it goes to the secret store as
//! `endpoint-NAME-key` and the file gets `api_key = "secret:endpoint-NAME-key"`. A value that is
//! already a reference (`secret:NAME`, `${VAR}`) is written as it is.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use chrono::{Duration, Utc};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_auth::SecretString;
use switchboard_config::edit::{self, Field};
use switchboard_config::{AuthStyle, EndpointConfig, ProxySetting, SECRET_PREFIX, mask};
use switchboard_core::AttemptDisposition;
use switchboard_store::{Percentiles, RecentAttempt};

use crate::AdminState;
use crate::config::{self as file, expected_version};
use crate::error::ApiError;

/// The keys of an endpoint the form may set (those of `[[endpoints]]`).
const KEYS: &[&str] = &[
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

/// Requests of the last hour read for the recent figures, at most.
const RECENT_REQUESTS: u32 = 50_000;

fn body<T>(b: Result<Json<T>, JsonRejection>, what: &str) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::BadRequest(format!("expected {what}: {}", e.body_text())))
}

/// `GET /api/admin/endpoints`: every configured endpoint in priority order, with its
/// configuration (keys masked; `secret:NAME` and `${VAR}` shown as written), its live state and
/// the last hour's error rate and latency.
pub(crate) async fn list(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let current = file::current(&state).await?;
    let written: HashMap<String, Option<String>> = edit::endpoint_strings(&current.text, "api_key")
        .unwrap_or_default()
        .into_iter()
        .collect();
    let live = state.control().live();
    let health = state.control().health();
    let (attempts, truncated) = state
        .store()
        .recent_attempts(Utc::now() - Duration::hours(1), RECENT_REQUESTS)
        .await?;
    let endpoints: Vec<Value> = live
        .config
        .endpoints
        .iter()
        .zip(health)
        .enumerate()
        .map(|(priority, (e, h))| {
            let mut v = endpoint_json(e, written.get(&e.name).and_then(Option::as_deref));
            v["priority"] = json!(priority);
            v["state"] = json!(h.state);
            v["cooldown_until"] = json!(h.cooldown_until);
            v["reason"] = json!(h.reason);
            v["consecutive_failures"] = json!(h.consecutive_failures);
            v["recent"] = recent(&attempts, &e.name, truncated);
            v
        })
        .collect();
    Ok(Json(json!({
        "path": current.path.display().to_string(),
        "version": current.version,
        "endpoints": endpoints,
    })))
}

/// How an endpoint's key is shown: a reference as written, a literal masked.
fn shown_key(e: &EndpointConfig, written: Option<&str>) -> Value {
    match (written, &e.api_key) {
        (Some(w), _) if w.starts_with(SECRET_PREFIX) || w.starts_with("${") => json!(w),
        (_, Some(k)) => json!(k.masked()),
        (Some(w), None) => json!(mask(w)),
        (None, None) => Value::Null,
    }
}

fn endpoint_json(e: &EndpointConfig, written_key: Option<&str>) -> Value {
    let secretish = |name: &str| {
        let n = name.to_ascii_lowercase();
        ["auth", "key", "token", "secret", "cookie"]
            .iter()
            .any(|w| n.contains(w))
    };
    let headers: Map<String, Value> = e
        .headers
        .iter()
        .map(|(k, v)| {
            let v = if secretish(k) { mask(v) } else { v.clone() };
            (k.clone(), json!(v))
        })
        .collect();
    json!({
        "name": e.name,
        "kind": kind_word(e.kind),
        "preset": e.preset,
        "base_url": e.base_url.as_str(),
        "api_key": shown_key(e, written_key),
        "credentials": if e.api_key.is_some() { "own" } else { "pass-through" },
        "auth": match e.auth {
            AuthStyle::XApiKey => "x-api-key",
            AuthStyle::Bearer => "bearer",
            AuthStyle::GoogApiKey => "x-goog-api-key",
        },
        "headers": headers,
        "models": e.models.rules.iter().map(|r| json!({"pattern": r.pattern, "target": r.target})).collect::<Vec<_>>(),
        "max_output_tokens": e.max_output_tokens,
        "count_tokens": e.count_tokens,
        "enabled": e.enabled,
        "proxy": match &e.proxy {
            None => Value::Null,
            Some(ProxySetting::Direct) => json!("none"),
            Some(ProxySetting::Via(url)) => json!(url.masked()),
        },
    })
}

pub(crate) fn kind_word(kind: switchboard_protocol::Dialect) -> &'static str {
    match kind {
        switchboard_protocol::Dialect::Anthropic => "anthropic",
        switchboard_protocol::Dialect::OpenAiChat => "openai",
        switchboard_protocol::Dialect::Gemini => "gemini",
    }
}

/// The last hour of one endpoint: attempts (endpoints passed over while cooling down not
/// counted), failed ones, and the latency of the requests it served.
fn recent(attempts: &[RecentAttempt], name: &str, truncated: bool) -> Value {
    let mine = attempts
        .iter()
        .filter(|a| a.endpoint == name && a.disposition != AttemptDisposition::Skipped);
    let mut total = 0_u64;
    let mut failed = 0_u64;
    let mut latencies = Vec::new();
    for a in mine {
        total += 1;
        if a.disposition == AttemptDisposition::Ok {
            latencies.push(a.request_latency_ms);
        } else {
            failed += 1;
        }
    }
    latencies.sort_unstable();
    let pick = |p: f64| {
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "nearest rank over a few thousand values"
        )]
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies.get(rank - 1).copied()
    };
    let p = if latencies.is_empty() {
        Percentiles::default()
    } else {
        Percentiles {
            p50: pick(0.5),
            p95: pick(0.95),
            p99: pick(0.99),
        }
    };
    #[expect(clippy::cast_precision_loss, reason = "a ratio")]
    let error_rate = (total > 0).then(|| failed as f64 / total as f64);
    json!({
        "window_s": 3600,
        "attempts": total,
        "failures": failed,
        "error_rate": error_rate,
        "latency_p50_ms": p.p50,
        "latency_p95_ms": p.p95,
        "truncated": truncated,
    })
}

/// The name the secret store keeps an endpoint's typed key under.
pub(crate) fn secret_name(endpoint: &str) -> String {
    let mut n = format!("endpoint-{endpoint}-key");
    if n.len() > 64 {
        n = format!("endpoint-{}-key", &endpoint[..endpoint.len().min(51)]);
    }
    n
}

/// The form's fields as edits of the file; a typed key is stored in the secret store first.
async fn fields(
    state: &AdminState,
    name: &str,
    form: &Map<String, Value>,
) -> Result<Vec<(String, Field)>, ApiError> {
    if let Some(key) = form
        .keys()
        .find(|k| *k != "version" && !KEYS.contains(&k.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "unknown endpoint field {key:?}; expected one of {}",
            KEYS.join(", ")
        )));
    }
    let mut out = Vec::new();
    // In the order of the reference (docs/configuration.md), as a person writes them: JSON
    // objects keep none.
    for (key, value) in KEYS.iter().filter_map(|k| form.get_key_value(*k)) {
        let field = match (key.as_str(), value) {
            (_, Value::Null) => Field::Remove,
            ("api_key", Value::String(k))
                if k.starts_with(SECRET_PREFIX) || k.starts_with("${") =>
            {
                Field::Text(k.clone())
            }
            ("api_key", Value::String(k)) => {
                if k.trim().is_empty() {
                    return Err(ApiError::BadRequest(
                        "api_key is empty: give a key, or null for the client's own credentials"
                            .into(),
                    ));
                }
                let secret = secret_name(name);
                state
                    .0
                    .secrets
                    .set(&secret, &SecretString::new(k.clone()), Utc::now())
                    .await?;
                Field::Text(format!("{SECRET_PREFIX}{secret}"))
            }
            ("models", Value::Array(rules)) => Field::Map(
                rules
                    .iter()
                    .map(|r| {
                        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                        s("pattern").zip(s("target")).ok_or_else(|| {
                            ApiError::BadRequest(
                                "models: expected [{\"pattern\", \"target\"}, …]".into(),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            ("models" | "headers", Value::Object(m)) => Field::Map(
                m.iter()
                    .map(|(k, v)| {
                        v.as_str()
                            .map(|v| (k.clone(), v.to_owned()))
                            .ok_or_else(|| {
                                ApiError::BadRequest(format!("{key}.{k}: expected a string"))
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (_, Value::String(s)) => Field::Text(s.clone()),
            (_, Value::Bool(b)) => Field::Bool(*b),
            (_, Value::Number(n)) if n.is_i64() => Field::Integer(n.as_i64().unwrap_or_default()),
            (_, Value::Number(n)) => Field::Number(n.as_f64().unwrap_or_default()),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "{key}: not a value this field takes"
                )));
            }
        };
        out.push((key.clone(), field));
    }
    Ok(out)
}

fn written(w: &file::Written, extra: Value) -> Json<Value> {
    let mut v = w.json();
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    Json(v)
}

/// `POST /api/admin/endpoints`: adds an endpoint (the lowest priority).
pub(crate) async fn add(
    State(state): State<AdminState>,
    headers: HeaderMap,
    form: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(form, "an endpoint object")?;
    let name = form
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("an endpoint needs a `name`".into()))?
        .to_owned();
    let expected = expected_version(&headers, form.get("version").and_then(Value::as_str));
    let fields = fields(&state, &name, &form).await?;
    let w = file::write(&state, expected, false, |text| {
        Ok(edit::add_endpoint(text, &fields)?)
    })
    .await?;
    Ok(written(&w, json!({"endpoint": name})))
}

/// `PUT /api/admin/endpoints/{name}`: sets the fields given (`null` removes one); the rest of
/// its table stays as written.
pub(crate) async fn update(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(form, "an object of endpoint fields")?;
    let expected = expected_version(&headers, form.get("version").and_then(Value::as_str));
    let new_name = form
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&name)
        .to_owned();
    let fields = fields(&state, &new_name, &form).await?;
    let w = file::write(&state, expected, false, |text| {
        Ok(edit::update_endpoint(text, &name, &fields)?)
    })
    .await?;
    Ok(written(&w, json!({"endpoint": new_name})))
}

/// `DELETE /api/admin/endpoints/{name}`.
pub(crate) async fn remove(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let expected = expected_version(&headers, None);
    let w = file::write(&state, expected, false, |text| {
        Ok(edit::remove_endpoint(text, &name)?)
    })
    .await?;
    Ok(written(&w, json!({"deleted": name})))
}

async fn set_enabled(
    state: &AdminState,
    name: &str,
    headers: &HeaderMap,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    let expected = expected_version(headers, None);
    let w = file::write(state, expected, false, |text| {
        // `enabled = true` is the default: enabling removes the key rather than adding one.
        let field = if enabled {
            Field::Remove
        } else {
            Field::Bool(false)
        };
        Ok(edit::update_endpoint(
            text,
            name,
            &[("enabled".to_owned(), field)],
        )?)
    })
    .await?;
    Ok(written(&w, json!({"endpoint": name, "enabled": enabled})))
}

/// `POST /api/admin/endpoints/{name}/enable`.
pub(crate) async fn enable(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, &name, &headers, true).await
}

/// `POST /api/admin/endpoints/{name}/disable`.
pub(crate) async fn disable(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, &name, &headers, false).await
}

#[derive(Deserialize)]
pub(crate) struct Order {
    order: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    version: Option<String>,
}

/// `PUT /api/admin/endpoints/order` `{"order": [names…], "dry_run"}`: the new priority order;
/// a dry run answers the order and the file's diff without writing.
pub(crate) async fn reorder(
    State(state): State<AdminState>,
    headers: HeaderMap,
    form: Result<Json<Order>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(form, "{\"order\": [names…], \"dry_run\": bool}")?;
    let expected = expected_version(&headers, form.version.as_deref());
    let w = file::write(&state, expected, form.dry_run, |text| {
        Ok(edit::reorder_endpoints(text, &form.order)?)
    })
    .await?;
    let order = edit::endpoint_names(&w.text).unwrap_or_default();
    Ok(written(
        &w,
        json!({"order": order, "dry_run": form.dry_run}),
    ))
}
