//! Signing in and out: one-time links (what the banner prints and `switchboard ui` opens),
//! password logins (rate-limited per address and per user), the session document the
//! dashboard reads its CSRF token from, and logout.

use std::net::{IpAddr, Ipv4Addr};

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{TimeDelta, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_auth::{DEFAULT_LINK_TTL, NewSession, SecretString};
use switchboard_gateway::ConnInfo;
use switchboard_store::{Role, User};
use uuid::Uuid;

use crate::AdminState;
use crate::door::{Principal, cookie, cookie_name};
use crate::error::ApiError;

/// Where the dashboard lives; a redeemed link lands there.
pub(crate) const DASHBOARD: &str = "/ui/";

/// Mints a one-time link for `user` (`/ui/login?token=…`).
pub(crate) async fn mint_link(state: &AdminState, user: Uuid) -> Result<String, ApiError> {
    let token = state
        .0
        .links
        .mint(user, Utc::now(), DEFAULT_LINK_TTL)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("/ui/login?token={}", token.expose()))
}

/// `POST /api/admin/links`: a one-time link for the caller, valid for a few minutes, as a path
/// to append to the gateway's address (`switchboard ui` does this).
pub(crate) async fn create_link(
    State(state): State<AdminState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let user = principal.user().ok_or(ApiError::Unauthorized)?;
    let path = mint_link(&state, user.id).await?;
    let ttl = DEFAULT_LINK_TTL.num_seconds();
    Ok(Json(json!({"path": path, "expires_in_s": ttl})))
}

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    token: Option<String>,
}

/// `GET /ui/login?token=…`: exchanges a one-time link for a session and goes to the dashboard.
/// A link works once, for a few minutes.
pub(crate) async fn redeem_link(
    State(state): State<AdminState>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
    conn: Option<Extension<ConnInfo>>,
) -> Result<Response, ApiError> {
    let conn = conn.map(|Extension(c)| c);
    let token = q.token.unwrap_or_default();
    let now = Utc::now();
    let user = match state.0.links.redeem(&token, now).await {
        Ok(Some(id)) => state
            .0
            .admin_store
            .get_user(id)
            .await
            .map_err(ApiError::from)?,
        Ok(None) => None,
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    let Some(user) = user else {
        return Ok(link_refused());
    };
    let session = start_session(&state, &user, &headers, conn.as_ref()).await?;
    let mut resp = Redirect::to(DASHBOARD).into_response();
    set_cookie(&mut resp, conn.as_ref(), &session);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(resp)
}

/// The page a used or expired link leads to.
fn link_refused() -> Response {
    let body = "<!doctype html><meta charset=utf-8><title>Switchboard: link expired</title>\
        <h1>This sign-in link has been used or has expired</h1>\
        <p>Each link works once, for a few minutes. Run <code>switchboard ui</code> for a new one, \
        or sign in with a password at <a href=\"/ui/\">/ui/</a>.</p>";
    let mut resp = (StatusCode::FORBIDDEN, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Deserialize)]
pub(crate) struct Login {
    name: String,
    password: String,
}

/// `POST /api/admin/login` `{"name", "password"}`: signs in and sets the session cookie.
pub(crate) async fn login(
    State(state): State<AdminState>,
    headers: HeaderMap,
    conn: Option<Extension<ConnInfo>>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let conn = conn.map(|Extension(c)| c);
    let Json(login) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"name\": \"…\", \"password\": \"…\"}}: {}",
            e.body_text()
        ))
    })?;
    let addr = conn
        .map(|c| c.remote.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    state
        .0
        .limiter
        .admit(addr, &login.name)
        .map_err(|t| ApiError::Throttled {
            message: t.to_string(),
            retry_after: t.retry_after,
        })?;
    let password = SecretString::new(login.password);
    let user = state
        .0
        .users
        .verify_login(&login.name, &password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user else {
        tracing::warn!(user = %login.name, %addr, "failed admin login");
        return Err(ApiError::BadLogin);
    };
    state.0.limiter.succeeded(addr, &login.name);
    let session = start_session(&state, &user, &headers, conn.as_ref()).await?;
    let mut resp = Json(session_document(
        &user,
        Some(&session.csrf_token),
        "password",
    ))
    .into_response();
    set_cookie(&mut resp, conn.as_ref(), &session);
    Ok(resp)
}

async fn start_session(
    state: &AdminState,
    user: &User,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Result<NewSession, ApiError> {
    let addr = conn.map(|c| c.remote.ip().to_string());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let session = state
        .sessions()
        .create(user, addr.as_deref(), agent, Utc::now())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(user = %user.name, addr = addr.as_deref().unwrap_or("-"), "admin signed in");
    Ok(session)
}

fn set_cookie(resp: &mut Response, conn: Option<&ConnInfo>, s: &NewSession) {
    let lifetime = (s.expires_at - Utc::now()).max(TimeDelta::zero());
    let secure = if conn.is_some_and(|c| c.tls) {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        cookie_name(conn),
        s.cookie_value.expose(),
        lifetime.num_seconds()
    );
    if let Ok(v) = HeaderValue::try_from(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn session_document(user: &User, csrf: Option<&SecretString>, via: &str) -> Value {
    json!({
        "user": {"name": user.name, "role": role_name(user.role)},
        "via": via,
        "csrf_token": csrf.map(SecretString::expose),
    })
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Member => "member",
    }
}

/// `GET /api/admin/session`: who is signed in, and the CSRF token every state-changing request
/// of this session must carry in `x-csrf-token`.
pub(crate) async fn session(Extension(principal): Extension<Principal>) -> Json<Value> {
    Json(match &principal {
        Principal::Session(s) => {
            let mut doc = session_document(&s.user, Some(s.csrf_token()), "session");
            doc["expires_at"] = json!(s.expires_at);
            doc
        }
        Principal::Local(user) => session_document(user, None, "local_credential"),
        Principal::Scraper => json!({"user": null}),
    })
}

/// `POST /api/admin/logout`: ends the caller's session and clears its cookie.
pub(crate) async fn logout(
    State(state): State<AdminState>,
    headers: HeaderMap,
    conn: Option<Extension<ConnInfo>>,
) -> Result<Response, ApiError> {
    let conn = conn.map(|Extension(c)| c);
    let name = cookie_name(conn.as_ref());
    if let Some(value) = cookie(&headers, &name) {
        state
            .sessions()
            .logout(&value)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let mut resp = Json(json!({"signed_out": true})).into_response();
    let clear = format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::try_from(clear) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
