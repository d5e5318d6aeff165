//! The secret store over HTTP: names and masked values only ever leave it. A value is set
//! here (or with `switchboard secrets set NAME`, from stdin) and used from the config as
//! `api_key = "secret:NAME"`; setting or deleting one reloads the configuration.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_auth::{MasterKey, SecretString, VaultError};

use crate::AdminState;
use crate::error::ApiError;

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::NotFound { .. } => Self::NotFound(e.to_string()),
            VaultError::InvalidName { .. }
            | VaultError::InvalidValue { .. }
            | VaultError::InvalidKey { .. }
            | VaultError::RotationNeedsKey
            | VaultError::SameKey { .. } => Self::BadRequest(e.to_string()),
            VaultError::Reserved { .. } => Self::Conflict(e.to_string()),
            VaultError::Store(s) => Self::Store(s),
            e => Self::Internal(e.to_string()),
        }
    }
}

/// `GET /api/admin/secrets`: each secret's name and masked value.
pub(crate) async fn list(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let secrets = state.0.secrets.list().await?;
    let rows: Vec<Value> = secrets
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "masked": s.masked,
                "created_at": s.created_at,
                "updated_at": s.updated_at,
            })
        })
        .collect();
    Ok(Json(json!({"secrets": rows})))
}

#[derive(Deserialize)]
pub(crate) struct SecretValue {
    value: String,
}

/// `PUT /api/admin/secrets/{name}` `{"value"}`: stores (encrypted) or replaces a secret, then
/// reloads the configuration so endpoints that refer to it use the new value.
pub(crate) async fn set(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Result<Json<SecretValue>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(v) = body
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"value\"}}: {}", e.body_text())))?;
    let value = SecretString::new(v.value);
    state.0.secrets.set(&name, &value, Utc::now()).await?;
    let reload = state.0.reloader.reload().await;
    Ok(Json(json!({
        "name": name,
        "masked": value.masked(),
        "reload": reload_json(&reload),
    })))
}

/// `DELETE /api/admin/secrets/{name}`.
pub(crate) async fn remove(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state.0.secrets.delete(&name).await? {
        return Err(ApiError::NotFound(format!("no secret named {name:?}")));
    }
    let reload = state.0.reloader.reload().await;
    Ok(Json(
        json!({"deleted": name, "reload": reload_json(&reload)}),
    ))
}

pub(crate) fn reload_json(r: &Result<bool, String>) -> Value {
    match r {
        Ok(reloaded) => json!({"ok": true, "reloaded": reloaded}),
        Err(e) => json!({"ok": false, "error": e}),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Rotate {
    /// The new key (base64 or hex of 32 bytes), required when the key in use comes from
    /// `SWITCHBOARD_MASTER_KEY`; with a key file a random one is made.
    new_key: Option<String>,
}

/// `POST /api/admin/secrets/rotate-master`: reseals every secret with a new master key in one
/// transaction and makes it the key in use (the key file is swapped safely; with the key in
/// `SWITCHBOARD_MASTER_KEY`, the caller sets the variable to the new key before the next
/// start).
pub(crate) async fn rotate_master(
    State(state): State<AdminState>,
    body: Option<Json<Rotate>>,
) -> Result<Json<Value>, ApiError> {
    let Json(r) = body.unwrap_or_default();
    let new_key = match r.new_key {
        Some(k) => Some(MasterKey::parse(&k, switchboard_auth::KeySource::Given)?),
        None => None,
    };
    let rotated = state.0.secrets.rotate_master(new_key, Utc::now()).await?;
    Ok(Json(json!({
        "previous_key_id": rotated.previous_key_id,
        "key_id": rotated.key_id,
        "resealed": rotated.resealed,
    })))
}
