//! The door: one layer in front of every control-plane route, deciding from the route table who
//! may pass (`Access`):
//!
//! 1. `Host` must name this gateway (`switchboard_gateway::HostPolicy`): a page whose DNS name
//!    was rebound to 127.0.0.1 says `Host: its-own-name` and is refused, whatever its address.
//!    A browser `Origin`, when sent, must be one the gateway answers to as well.
//! 2. Admin routes need an admin, member routes any signed-in user (their handlers show a
//!    member only what is theirs): the local credential (`admin.token` in the data directory) as
//!    `Authorization: Bearer` — how the CLI of the user who runs the gateway comes in — or a
//!    session cookie (`HttpOnly; SameSite=Strict`, `Secure` under TLS) from a one-time link or
//!    a password login.
//! 3. A state-changing route called with a session cookie also needs the session's CSRF token
//!    in `x-csrf-token`. (A bearer credential is not sent by the browser on its own, so it
//!    needs none.)
//!
//! `/metrics` is an admin route unless `[admin] metrics = "open"`, and also takes the scrape
//! token (`[admin] metrics_token`) as a bearer token.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, header};
use switchboard_auth::Session;
use switchboard_config::MetricsAccess;
use switchboard_core::Access;
use switchboard_gateway::ConnInfo;
use switchboard_store::{Role, User};

use crate::AdminState;
use crate::error::ApiError;

/// The header a state-changing request carries its session's CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who came through the door.
#[derive(Clone)]
pub(crate) enum Principal {
    /// The local credential: the user who runs the gateway, through the CLI.
    Local(User),
    /// A signed-in user.
    Session(Arc<Session>),
    /// `/metrics` by scrape token or open access: no user.
    Scraper,
}

impl Principal {
    /// The user, unless it is a scraper.
    pub(crate) fn user(&self) -> Option<&User> {
        match self {
            Self::Local(u) => Some(u),
            Self::Session(s) => Some(&s.user),
            Self::Scraper => None,
        }
    }
}

/// The session cookie's name. Cookies are shared by every port of a host, so the port is part
/// of the name: two gateways on one machine don't sign each other out.
pub(crate) fn cookie_name(conn: Option<&ConnInfo>) -> String {
    match conn.and_then(|c| c.local) {
        Some(local) => format!("sb_session_{}", local.port()),
        None => "sb_session".to_owned(),
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The layer: see the module docs.
pub(crate) async fn guard(
    State(state): State<AdminState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(access) = path
        .as_deref()
        .and_then(|p| crate::routes::access(req.method().as_str(), p))
    else {
        return ApiError::NotFound("no such route".into()).into_response();
    };
    let conn = req.extensions().get::<ConnInfo>().copied();
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    let seen = Seen {
        headers: req.headers(),
        conn: conn.as_ref(),
        authority: authority.as_deref(),
    };
    match admit(&state, &seen, access, path.as_deref()).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(None) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// What the door looks at (borrowed from the request, whose body is not `Sync`).
struct Seen<'a> {
    headers: &'a HeaderMap,
    conn: Option<&'a ConnInfo>,
    /// The request target's authority (HTTP/2 `:authority`).
    authority: Option<&'a str>,
}

async fn admit(
    state: &AdminState,
    seen: &Seen<'_>,
    access: Access,
    path: Option<&str>,
) -> Result<Option<Principal>, ApiError> {
    let (mutates, members) = match access {
        Access::Open | Access::Proxy => return Ok(None),
        Access::Login => (false, false),
        Access::Admin { mutates } => (mutates, false),
        Access::Member { mutates } => (mutates, true),
    };
    let headers = seen.headers;
    let conn = seen.conn;
    let live = state.control().live();
    let local = conn.and_then(|c| c.local);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(seen.authority);
    match host {
        Some(h) if live.hosts.allows_host(h, local) => {}
        Some(h) => return Err(ApiError::ForeignHost(h.to_owned())),
        None => return Err(ApiError::ForeignHost(String::new())),
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| live.hosts.allows_origin(o, local));
        if !allowed {
            return Err(ApiError::Forbidden(
                "requests from other sites' pages are refused".into(),
            ));
        }
    }
    if access == Access::Login {
        return Ok(None);
    }
    if path == Some("/metrics") {
        let admin = &live.config.admin;
        if admin.metrics == MetricsAccess::Open {
            return Ok(Some(Principal::Scraper));
        }
        if let (Some(token), Some(presented)) = (&admin.metrics_token, bearer(headers))
            && switchboard_auth::token::constant_time_eq(
                presented.as_bytes(),
                token.expose().as_bytes(),
            )
        {
            return Ok(Some(Principal::Scraper));
        }
    }
    let principal = authenticate(state, headers, conn).await?;
    let Some(user) = principal.user() else {
        return Err(ApiError::Unauthorized);
    };
    if user.role != Role::Admin && !members {
        return Err(ApiError::Forbidden(format!(
            "{} is not an admin: only admins may use this route",
            user.name
        )));
    }
    if mutates && let Principal::Session(session) = &principal {
        let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !switchboard_auth::Sessions::verify_csrf(session, presented) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(Some(principal))
}

/// The admin behind the request's credentials: the local credential as a bearer token, else
/// the session cookie.
pub(crate) async fn authenticate(
    state: &AdminState,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Result<Principal, ApiError> {
    if let Some(token) = bearer(headers) {
        return if state.0.credential.verify(token) {
            Ok(Principal::Local(state.0.local_admin.clone()))
        } else {
            Err(ApiError::Unauthorized)
        };
    }
    let Some(value) = cookie(headers, &cookie_name(conn)) else {
        return Err(ApiError::Unauthorized);
    };
    match state.sessions().authenticate(&value, Utc::now()).await {
        Ok(Some(session)) => Ok(Principal::Session(Arc::new(session))),
        Ok(None) => Err(ApiError::Unauthorized),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; sb_session_8787=sbs_x; sb_session=other"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=\"2\""));
        assert_eq!(cookie(&h, "sb_session_8787").as_deref(), Some("sbs_x"));
        assert_eq!(cookie(&h, "sb_session").as_deref(), Some("other"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "sb_session_9"), None);
    }
}
