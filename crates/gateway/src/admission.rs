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
//! 2. Size: more or larger headers than `[server] max_headers`/`max_header_bytes` allow.
//! 3. Credentials: once a client key exists, a valid key (not revoked, not expired) or the
//!    gateway token (`[server] auth_token`, which works as one more key); before that, the
//!    gateway token when one is set. As `x-api-key` or `Authorization: Bearer`; the headers that
//!    carried them are never forwarded. A key limited to some clients checks the `User-Agent`.
//!
//! The key's allowed models and its rate, concurrency and budget limits need the body's
//! `model`: the pipeline checks them once the body is read (`crate::clients::Clients::limit`),
//! still before anything is sent upstream.

use std::sync::Arc;

use http::{HeaderMap, header};
use tokio::time::Instant;

use crate::clients::{ClientKey, Strip};
use crate::connection::ConnInfo;
use crate::error::ApiError;
use crate::state::{AppState, Live};

/// What admission learned about an admitted request.
pub(crate) struct Admitted {
    /// Headers that carried the gateway's own credentials (never forwarded).
    pub(crate) strip: Strip,
    /// The client key, when keys are in use (the gateway token counts as one).
    pub(crate) key: Option<Arc<ClientKey>>,
}

/// Why a request was refused, with its key when one was recognised (the log names it).
pub(crate) type Refused = (ApiError, Option<Arc<ClientKey>>);

/// Whether admission checks a key's allowed clients (`User-Agent`): for the proxy routes; not
/// for a key holder asking for their own usage (a status line runs `curl`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clients {
    Checked,
    Any,
}

/// Admits a proxy request or says why not.
pub(crate) fn admit(
    state: &AppState,
    live: &Live,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    now: Instant,
    clients: Clients,
) -> Result<Admitted, Refused> {
    let gate = Gate {
        keys: &state.0.clients,
        hosts: &live.hosts,
        server: &live.config.server,
    };
    gate.admit(headers, conn, now, clients)
}

/// What admission reads: the key table, the names the gateway answers to, `[server]`.
pub(crate) struct Gate<'a> {
    pub(crate) keys: &'a crate::clients::Clients,
    pub(crate) hosts: &'a crate::hosts::HostPolicy,
    pub(crate) server: &'a switchboard_config::ServerConfig,
}

impl Gate<'_> {
    /// See [`admit`].
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        conn: Option<&ConnInfo>,
        now: Instant,
        clients: Clients,
    ) -> Result<Admitted, Refused> {
        admit_with(self, headers, conn, now, clients)
    }
}

fn admit_with(
    gate: &Gate<'_>,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    now: Instant,
    clients: Clients,
) -> Result<Admitted, Refused> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let local = conn.and_then(|c| c.local);
        let allowed = origin
            .to_str()
            .is_ok_and(|o| gate.hosts.allows_origin(o, local));
        if !allowed {
            let shown = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            return Err((ApiError::ForeignOrigin(shown), None));
        }
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE)
        && !is_json(ct.as_bytes())
    {
        let shown = String::from_utf8_lossy(ct.as_bytes()).into_owned();
        return Err((ApiError::NotJson(shown), None));
    }
    check_headers(headers, &gate.server.limits).map_err(|e| (e, None))?;
    let token = gate
        .server
        .auth_token
        .as_ref()
        .map(|t| t.expose().as_bytes());
    let (key, strip) = gate.keys.authenticate(headers, token, now)?;
    if let Some(k) = key.as_ref().filter(|_| clients == Clients::Checked) {
        k.check_client(headers).map_err(|e| (e, Some(k.clone())))?;
    }
    Ok(Admitted { strip, key })
}

/// `[server] max_headers` and `max_header_bytes` (hyper refuses far beyond them on its own:
/// see `crate::connection`).
fn check_headers(
    headers: &HeaderMap,
    limits: &switchboard_config::InputLimits,
) -> Result<(), ApiError> {
    if headers.len() > limits.max_headers {
        return Err(ApiError::HeadersTooLarge(format!(
            "the request has {} headers, more than the {} this gateway accepts (`[server] max_headers`)",
            headers.len(),
            limits.max_headers
        )));
    }
    let bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if bytes as u64 > limits.max_header_bytes {
        return Err(ApiError::HeadersTooLarge(format!(
            "the request's headers take {bytes} bytes, more than the {} this gateway accepts (`[server] max_header_bytes`)",
            limits.max_header_bytes
        )));
    }
    Ok(())
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
