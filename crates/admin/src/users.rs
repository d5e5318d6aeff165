//! Admin users and their sessions: `switchboard admin add|passwd|list|remove` and the
//! dashboard's settings call these routes.

use axum::Json;
use axum::extract::{Extension, Path, State};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_auth::{SecretString, UserError};
use switchboard_store::{Role, User};
use uuid::Uuid;

use crate::AdminState;
use crate::account::role_name;
use crate::door::Principal;
use crate::error::ApiError;

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "role": role_name(u.role),
        "has_password": u.password_hash.is_some(),
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    })
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::InvalidName { .. }
            | UserError::ReservedName
            | UserError::PasswordTooShort
            | UserError::PasswordTooLong => Self::BadRequest(e.to_string()),
            UserError::NameTaken { .. } => Self::Conflict(e.to_string()),
            UserError::NotFound { .. } => Self::NotFound(e.to_string()),
            UserError::Store(s) => Self::Store(s),
            e => Self::Internal(e.to_string()),
        }
    }
}

/// `GET /api/admin/users`: with each user's teams and budgets.
pub(crate) async fn list(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let users = state.0.users.list().await?;
    let store = &state.0.admin_store;
    let budgets = store.user_budgets().await?;
    let teams = store.list_teams().await?;
    let members = store.team_members().await?;
    let rows: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut v = user_json(u);
            v["teams"] = json!(
                members
                    .iter()
                    .filter(|(_, user)| *user == u.id)
                    .filter_map(|(t, _)| teams.iter().find(|x| x.id == *t))
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
            );
            let b = budgets
                .iter()
                .find(|(id, _)| *id == u.id)
                .map(|(_, b)| b.as_str());
            v["budgets"] = serde_json::from_str(b.unwrap_or("[]")).unwrap_or_else(|_| json!([]));
            v
        })
        .collect();
    Ok(Json(json!({"users": rows})))
}

#[derive(Deserialize)]
pub(crate) struct NewUser {
    name: String,
    password: Option<String>,
    role: Option<String>,
}

fn parse_role(role: Option<&str>) -> Result<Role, ApiError> {
    match role.unwrap_or("admin") {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        other => Err(ApiError::BadRequest(format!(
            "unknown role {other:?}: expected admin or member"
        ))),
    }
}

/// `POST /api/admin/users` `{"name", "password", "role"}`: adds a user (an admin by default).
pub(crate) async fn add(
    State(state): State<AdminState>,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(new) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"name\", \"password\", \"role\"}}: {}",
            e.body_text()
        ))
    })?;
    let role = parse_role(new.role.as_deref())?;
    let password = new.password.map(SecretString::new);
    let user = state
        .0
        .users
        .add(&new.name, role, password.as_ref(), Utc::now())
        .await?;
    Ok(Json(user_json(&user)))
}

#[derive(Deserialize)]
pub(crate) struct NewPassword {
    password: String,
}

/// `PUT /api/admin/users/{name}/password` `{"password"}`: sets a password; the user's other
/// sessions end.
pub(crate) async fn passwd(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Result<Json<NewPassword>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(p) = body.map_err(|e| {
        ApiError::BadRequest(format!("expected {{\"password\"}}: {}", e.body_text()))
    })?;
    let user = state
        .0
        .users
        .passwd(&name, &SecretString::new(p.password), Utc::now())
        .await?;
    Ok(Json(user_json(&user)))
}

/// `DELETE /api/admin/users/{name}`: removes a user and their sessions. The local admin (the
/// machine's own) and the caller themselves cannot be removed this way.
pub(crate) async fn remove(
    State(state): State<AdminState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if name.eq_ignore_ascii_case(switchboard_auth::LOCAL_ADMIN) {
        return Err(ApiError::Conflict(
            "the local admin is the machine's own (the credential file): it cannot be removed"
                .into(),
        ));
    }
    if principal
        .user()
        .is_some_and(|u| u.name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::Conflict(
            "you cannot remove yourself: sign in as another admin".into(),
        ));
    }
    let user = state.0.users.remove(&name).await?;
    Ok(Json(json!({"removed": user_json(&user)})))
}

/// `GET /api/admin/sessions`: every live session (no secret in them); `current` marks the
/// caller's.
pub(crate) async fn sessions(
    State(state): State<AdminState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let list = state
        .sessions()
        .list(None, now)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let users = state.0.users.list().await?;
    let current = match &principal {
        Principal::Session(s) => Some(s.id),
        _ => None,
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|s| {
            let user = users.iter().find(|u| u.id == s.user_id).map(|u| &u.name);
            json!({
                "id": s.id,
                "user": user,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "expires_at": s.expires_at,
                "client_addr": s.client_addr,
                "user_agent": s.user_agent,
                "current": Some(s.id) == current,
            })
        })
        .collect();
    Ok(Json(json!({"sessions": rows})))
}

/// `DELETE /api/admin/sessions/{id}`: signs a session out.
pub(crate) async fn revoke_session(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad("id", "not a session id"))?;
    let revoked = state
        .sessions()
        .revoke(id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !revoked {
        return Err(ApiError::NotFound(format!("no session {id}")));
    }
    Ok(Json(json!({"revoked": id})))
}

/// `POST /api/admin/sessions/revoke-others`: signs out every other session of the caller.
pub(crate) async fn revoke_other_sessions(
    State(state): State<AdminState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let Principal::Session(s) = &principal else {
        return Err(ApiError::BadRequest(
            "only a signed-in session has others to sign out".into(),
        ));
    };
    let n = state
        .sessions()
        .revoke_others(s.user.id, s.id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(json!({"revoked": n})))
}
