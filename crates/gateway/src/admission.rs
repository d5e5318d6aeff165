//! Admission: the first step of the proxy pipeline (admit → read → route → respond), before
//! the body is read. A request the gateway will not serve is refused here, in the caller's
//! dialect, and never reaches an upstream.
//!
//! It is a step of the pipeline, not a tower layer: the proxy routes are served past axum's
//! router (`crate::routes::direct_route`), where a layer would never run.
//!
//! 1. Browsers: a request from a web page of another origin (an `Origin` the gateway does not
//!    answer to: `crate::hosts`), or with a body type a cross-site form or `fetch` can send
//!    without asking (`text/plain`, form encodings), is refused. The SDKs and Claude Code send
//!    neither.
//! 2. Credentials: the gateway token, when one is configured (`[server] auth_token`), as
//!    `x-api-key` or `Authorization: Bearer`; the headers that carried it are never forwarded.

use http::{HeaderMap, HeaderName, header};

use crate::connection::ConnInfo;
use crate::error::ApiError;
use crate::state::Live;

/// What admission learned about an admitted request.
pub(crate) struct Admitted {
    /// Headers that carried the gateway's own credentials (never forwarded).
    pub(crate) strip: Vec<HeaderName>,
}

/// Admits a proxy request or says why not.
pub(crate) fn admit(
    live: &Live,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Result<Admitted, ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let local = conn.and_then(|c| c.local);
        let allowed = origin
            .to_str()
            .is_ok_and(|o| live.hosts.allows_origin(o, local));
        if !allowed {
            let shown = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            return Err(ApiError::ForeignOrigin(shown));
        }
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE)
        && !is_json(ct.as_bytes())
    {
        let shown = String::from_utf8_lossy(ct.as_bytes()).into_owned();
        return Err(ApiError::NotJson(shown));
    }
    Ok(Admitted {
        strip: check_token(live, headers)?,
    })
}

/// `application/json` or a `+json` type, any parameters, any case.
fn is_json(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() > 5
            && essence[essence.len() - 5..].eq_ignore_ascii_case(b"+json")
            && essence.contains(&b'/'))
}

/// Checks the gateway token; returns the headers that carried it.
fn check_token(live: &Live, headers: &HeaderMap) -> Result<Vec<HeaderName>, ApiError> {
    let Some(token) = &live.config.server.auth_token else {
        return Ok(Vec::new());
    };
    let token = token.expose().as_bytes();
    let mut carried = Vec::new();
    if headers
        .get("x-api-key")
        .is_some_and(|v| constant_time_eq(v.as_bytes(), token))
    {
        carried.push(HeaderName::from_static("x-api-key"));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if bearer.is_some_and(|v| constant_time_eq(v, token)) {
        carried.push(header::AUTHORIZATION);
    }
    if carried.is_empty() {
        Err(ApiError::Unauthorized)
    } else {
        Ok(carried)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_told_from_the_rest() {
        for ok in [
            &b"application/json"[..],
            b"Application/JSON; charset=utf-8",
            b"application/vnd.api+json",
            b" application/json ",
        ] {
            assert!(is_json(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"text/plain"[..],
            b"text/plain;charset=UTF-8",
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
            b"+json",
            b"",
        ] {
            assert!(!is_json(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
