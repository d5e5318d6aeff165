//! Profiles as the dashboard and `switchboard profile` see them: listed from the configuration
//! in force, and switched by writing `[routing] profile` back to the file
//! ([`crate::config::write`]: comments kept, checked, reloaded before the answer), so the next
//! request follows the new choice with nothing restarted.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_config::edit::{self, Field};
use switchboard_config::{Config, Profile};

use crate::AdminState;
use crate::config::{self as file, expected_version};
use crate::error::ApiError;

/// One profile as the API shows it.
pub(crate) fn profile_json(c: &Config, p: &Profile) -> Value {
    let endpoints: Vec<&str> = if p.endpoints.is_empty() {
        c.endpoints.iter().map(|e| e.name.as_str()).collect()
    } else {
        p.endpoints.iter().map(String::as_str).collect()
    };
    let disabled: Vec<&str> = endpoints
        .iter()
        .copied()
        .filter(|n| c.endpoints.iter().any(|e| e.name == *n && !e.enabled))
        .collect();
    let env: Map<String, Value> = p
        .claude
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    json!({
        "name": p.name,
        "active": c.routing.profile.as_deref() == Some(p.name.as_str()),
        "endpoints": endpoints,
        "all_endpoints": p.endpoints.is_empty(),
        "disabled_endpoints": disabled,
        "models": p.models.rules.iter().map(|r| json!({"pattern": r.pattern, "target": r.target})).collect::<Vec<_>>(),
        "claude_env": env,
    })
}

/// `GET /api/admin/profiles`: every profile of the configuration in force, the one in force,
/// and the file's version to switch against.
pub(crate) async fn list(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let current = file::current(&state).await?;
    let live = state.control().live();
    let c = &live.config;
    Ok(Json(json!({
        "path": current.path.display().to_string(),
        "version": current.version,
        "active": c.routing.profile,
        "profiles": c.profiles.iter().map(|p| profile_json(c, p)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Use {
    /// The profile to put in force; `null` for none (every endpoint, the top-level maps).
    profile: Option<String>,
    version: Option<String>,
}

/// `PUT /api/admin/profiles/active` `{"profile": NAME | null}`: writes `[routing] profile`
/// and reloads; the next request is routed with it.
pub(crate) async fn set_active(
    State(state): State<AdminState>,
    headers: HeaderMap,
    form: Result<Json<Use>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(form) = form.map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"profile\": NAME or null}}: {}",
            e.body_text()
        ))
    })?;
    if let Some(name) = &form.profile {
        let live = state.control().live();
        if !live.config.profiles.iter().any(|p| &p.name == name) {
            let names: Vec<&str> = live
                .config
                .profiles
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(ApiError::NotFound(if names.is_empty() {
                format!("no profile named {name:?}: the configuration has no [[profiles]]")
            } else {
                format!(
                    "no profile named {name:?}; the profiles are: {}",
                    names.join(", ")
                )
            }));
        }
    }
    let expected = expected_version(&headers, form.version.as_deref());
    let field = form
        .profile
        .as_ref()
        .map_or(Field::Remove, |n| Field::Text(n.clone()));
    let w = file::write(&state, expected, false, |text| {
        Ok(edit::set_values(
            text,
            &["routing"],
            &[("profile".to_owned(), field)],
        )?)
    })
    .await?;
    let mut v = w.json();
    v["active"] = json!(form.profile);
    Ok(Json(v))
}
