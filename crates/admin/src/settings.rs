//! Settings the dashboard edits besides endpoints — `[audit]`, `[log_file]` and the price
//! overrides `[pricing.models."…"]` — read from the configuration in force and written back to
//! the file like every change ([`crate::config::write`]); and the model-mapping tester.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use http::HeaderMap;
use serde_json::{Map, Value, json};
use switchboard_config::edit::{self, Field};
use switchboard_config::{ModelMap, ModelRule, glob_match};

use crate::AdminState;
use crate::config::{self as file, expected_version};
use crate::error::ApiError;

const AUDIT_KEYS: &[&str] = &["enabled", "retention", "max_bytes", "max_request_bytes"];
const LOG_FILE_KEYS: &[&str] = &["enabled", "dir"];
const PRICE_KEYS: &[&str] = &[
    "input",
    "output",
    "cache_write",
    "cache_write_1h",
    "cache_read",
];

/// A duration as the configuration writes it: `14d`, `12h`, `30m`, `45s`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `GET /api/admin/settings`: the settings in force, and the file's version to write against.
pub(crate) async fn get(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let current = file::current(&state).await?;
    let live = state.control().live();
    let c = &live.config;
    Ok(Json(json!({
        "path": current.path.display().to_string(),
        "version": current.version,
        "audit": {
            "enabled": c.audit.enabled,
            "retention": duration_text(c.audit.retention),
            "max_bytes": c.audit.max_bytes,
            "max_request_bytes": c.audit.max_request_bytes,
        },
        "log_file": {
            "enabled": c.log_file.enabled,
            "dir": c.log_file.dir.as_ref().map(|d| d.display().to_string()),
        },
        "pricing": c.pricing.iter().map(|p| json!({
            "pattern": p.pattern,
            "input": p.input,
            "output": p.output,
            "cache_write": p.cache_write,
            "cache_write_1h": p.cache_write_1h,
            "cache_read": p.cache_read,
        })).collect::<Vec<_>>(),
    })))
}

fn field(key: &str, v: &Value) -> Result<Field, ApiError> {
    Ok(match v {
        Value::Null => Field::Remove,
        Value::Bool(b) => Field::Bool(*b),
        Value::String(s) => Field::Text(s.clone()),
        Value::Number(n) if n.is_i64() => Field::Integer(n.as_i64().unwrap_or_default()),
        Value::Number(n) => Field::Number(n.as_f64().unwrap_or_default()),
        _ => return Err(ApiError::BadRequest(format!("{key}: not a value it takes"))),
    })
}

fn section(name: &str, v: &Value, keys: &[&str]) -> Result<Vec<(String, Field)>, ApiError> {
    let m = v
        .as_object()
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: expected an object")))?;
    m.iter()
        .map(|(k, v)| {
            if !keys.contains(&k.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "{name}.{k}: unknown; expected one of {}",
                    keys.join(", ")
                )));
            }
            Ok((k.clone(), field(&format!("{name}.{k}"), v)?))
        })
        .collect()
}

type Prices = Vec<(String, Vec<(String, Field)>)>;

fn prices(v: &Value) -> Result<Prices, ApiError> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(ApiError::BadRequest("pricing: expected a list".into())),
    };
    list.iter()
        .map(|p| {
            let pattern = p
                .get("pattern")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ApiError::BadRequest("pricing: each needs a `pattern`".into()))?;
            let mut fields = Vec::new();
            for key in PRICE_KEYS {
                match p.get(*key) {
                    None | Some(Value::Null) => fields.push(((*key).to_owned(), Field::Remove)),
                    Some(v) => {
                        let x = v.as_f64().ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "pricing {pattern:?}.{key}: expected USD per million tokens"
                            ))
                        })?;
                        fields.push(((*key).to_owned(), Field::Number(x)));
                    }
                }
            }
            Ok((pattern.to_owned(), fields))
        })
        .collect()
}

/// `PUT /api/admin/settings` with any of `audit`, `log_file` (objects of the keys to set;
/// `null` removes one) and `pricing` (the whole list of overrides): written back to the file.
pub(crate) async fn put(
    State(state): State<AdminState>,
    headers: HeaderMap,
    form: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(form) = form.map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"audit\", \"log_file\", \"pricing\"}}: {}",
            e.body_text()
        ))
    })?;
    for key in form.keys() {
        if !["audit", "log_file", "pricing", "version"].contains(&key.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown setting {key:?}; expected audit, log_file or pricing"
            )));
        }
    }
    let audit = form
        .get("audit")
        .map(|v| section("audit", v, AUDIT_KEYS))
        .transpose()?;
    let log_file = form
        .get("log_file")
        .map(|v| section("log_file", v, LOG_FILE_KEYS))
        .transpose()?;
    let pricing = form.get("pricing").map(prices).transpose()?;
    let expected = expected_version(&headers, form.get("version").and_then(Value::as_str));
    let w = file::write(&state, expected, false, |text| {
        let mut text = text.to_owned();
        if let Some(f) = &audit {
            text = edit::set_values(&text, &["audit"], f)?;
        }
        if let Some(f) = &log_file {
            text = edit::set_values(&text, &["log_file"], f)?;
        }
        if let Some(p) = &pricing {
            text = edit::set_prices(&text, p)?;
        }
        Ok(text)
    })
    .await?;
    Ok(Json(w.json()))
}

/// Which rule of `map` gives `requested` its model, and how it matched: the order of
/// [`ModelMap::resolve`] (exact name, glob in file order, role word, `small-fast` for haiku).
fn explain<'a>(map: &'a ModelMap, requested: &str) -> Option<(&'a ModelRule, &'static str)> {
    if let Some(r) = map.rules.iter().find(|r| r.pattern == requested) {
        return Some((r, "exact"));
    }
    let lower = requested.to_ascii_lowercase();
    if let Some(r) = map
        .rules
        .iter()
        .find(|r| r.pattern.contains(['*', '?']) && glob_match(&r.pattern, &lower))
    {
        return Some((r, "glob"));
    }
    let role = |name: &str| map.rules.iter().find(|r| r.pattern == name);
    for word in ["opus", "sonnet", "haiku", "fable"] {
        if lower.contains(word) {
            if let Some(r) = role(word) {
                return Some((r, "role"));
            }
            if word == "haiku"
                && let Some(r) = role("small-fast")
            {
                return Some((r, "role"));
            }
        }
    }
    None
}

/// `POST /api/admin/models/resolve` `{"model", "endpoint": null|name}`: for each endpoint (or
/// the one), the model it would be sent and the rule that decided it: the endpoint's own map,
/// else the global `[models]`, else the name unchanged.
pub(crate) async fn resolve(
    State(state): State<AdminState>,
    form: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(form) = form.map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"model\", \"endpoint\"}}: {}",
            e.body_text()
        ))
    })?;
    let model = form
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::BadRequest("`model` is required".into()))?;
    let only = form.get("endpoint").and_then(Value::as_str);
    let live = state.control().live();
    let endpoints: Vec<_> = live
        .config
        .endpoints
        .iter()
        .filter(|e| only.is_none_or(|o| o == e.name))
        .collect();
    if let Some(o) = only
        && endpoints.is_empty()
    {
        return Err(ApiError::NotFound(format!("no endpoint named {o:?}")));
    }
    let rows: Vec<Value> = endpoints
        .into_iter()
        .map(|e| {
            let (rule, source) = match explain(&e.models, model) {
                Some(found) => (Some(found), "endpoint"),
                None => (explain(&live.config.models, model), "global"),
            };
            json!({
                "endpoint": e.name,
                "enabled": e.enabled,
                "model": rule.map_or(model, |(r, _)| r.target.as_str()),
                "rule": rule.map(|(r, how)| json!({
                    "source": source,
                    "pattern": r.pattern,
                    "target": r.target,
                    "match": how,
                })),
            })
        })
        .collect();
    Ok(Json(json!({"model": model, "endpoints": rows})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_agrees_with_resolve() {
        let map = ModelMap {
            rules: [
                ("opus", "big"),
                ("claude-3-5-haiku*", "old-small"),
                ("claude-opus-5-5", "exact"),
                ("small-fast", "tiny"),
            ]
            .iter()
            .map(|(p, t)| ModelRule {
                pattern: (*p).into(),
                target: (*t).into(),
            })
            .collect(),
        };
        for m in [
            "claude-opus-5-5",
            "claude-opus-4-1",
            "claude-3-5-haiku-2024",
            "claude-haiku-4-5",
            "gpt-4o",
        ] {
            assert_eq!(
                explain(&map, m).map(|(r, _)| r.target.as_str()),
                map.resolve(m),
                "{m}"
            );
        }
        assert_eq!(
            explain(&map, "claude-opus-4-1").map(|(_, h)| h),
            Some("role")
        );
        assert_eq!(duration_text(Duration::from_secs(14 * 86_400)), "14d");
        assert_eq!(duration_text(Duration::from_secs(90)), "90s");
    }
}
