//! Audit capture: what the client sent, what each attempt forwarded and got back, and what the
//! client received, with stream chunks and their arrival times.
//!
//! Capturing must not slow the request: bodies are [`Bytes`] the proxy already holds, so keeping
//! one is a reference-count increment, never a copy; the only work on the request path is masking
//! a few headers. A per-request byte budget (`audit.max_request_bytes`) bounds what one request
//! can hold (bodies beyond it are cut with zero-copy slices and marked truncated). Compression
//! and storage happen in the log writer, after the record is sent (see `RequestLog::finish`).

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http::HeaderMap;
use parking_lot::Mutex;
use switchboard_store::{AuditEntry, AuditKind};
use tokio::time::Instant;

/// Words that make a header (or query parameter) secret wherever they appear in its lower-case
/// name: `x-api-key`, `authorization`, `proxy-authorization`, `x-goog-api-key`, `cookie`,
/// `set-cookie`, and anything else that looks like a key, token, secret or credential.
const SECRET_WORDS: [&str; 7] = [
    "key",
    "token",
    "secret",
    "auth",
    "cookie",
    "password",
    "credential",
];

/// Whether a header (lower-case name) may carry a secret: its name contains one of
/// [`SECRET_WORDS`]. One pass over the name that compares a word only where its first byte is:
/// seven `str::contains` per header (each building a substring searcher) were ~18k instructions
/// per audited small request, four entries of ~8 headers (callgrind).
pub(crate) fn is_secret_header(name: &str) -> bool {
    let name = name.as_bytes();
    (0..name.len()).any(|i| {
        let rest = &name[i..];
        SECRET_WORDS
            .iter()
            .any(|w| w.as_bytes()[0] == rest[0] && rest.starts_with(w.as_bytes()))
    })
}

/// A secret value as first 10 + `…` + last 4; an auth scheme (`Bearer `) is kept readable.
pub(crate) fn mask_value(value: &str) -> String {
    for scheme in ["Bearer ", "Basic ", "bearer ", "Token "] {
        if let Some(rest) = value.strip_prefix(scheme) {
            return format!("{scheme}{}", switchboard_config::mask(rest.trim()));
        }
    }
    switchboard_config::mask(value)
}

/// `headers` in order, secrets masked. Non-UTF-8 values are shown as `<binary>`.
pub(crate) fn masked_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str();
            let value = match value.to_str() {
                Ok(v) if is_secret_header(name) => mask_value(v),
                Ok(v) => v.to_owned(),
                Err(_) => "<binary>".to_owned(),
            };
            (name.to_owned(), value)
        })
        .collect()
}

/// `url` with the values of credential-like query parameters (`key=`, `api_key=`, `token=`…)
/// masked.
pub(crate) fn masked_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if is_secret_header(&k.to_ascii_lowercase()) => {
                format!("{k}={}", switchboard_config::mask(v))
            }
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// An entry with its head: `url` and credential-like query parameters masked, headers masked.
pub(crate) fn entry(
    kind: AuditKind,
    attempt: Option<u32>,
    endpoint: Option<&str>,
    status: Option<u16>,
    headers: &HeaderMap,
) -> AuditEntry {
    let mut e = AuditEntry::new(kind);
    e.attempt = attempt;
    e.endpoint = endpoint.map(str::to_owned);
    e.status = status;
    e.headers = masked_headers(headers);
    e
}

/// Records the response the client gets (`body`, when it is whole and at hand). Streamed bodies
/// are added chunk by chunk by the stream.
pub(crate) fn client_response(
    capture: Option<&Capture>,
    resp: &axum::response::Response,
    body: Option<&Bytes>,
    note: Option<String>,
) {
    if let Some(c) = capture {
        let mut e = entry(
            AuditKind::ClientResponse,
            None,
            None,
            Some(resp.status().as_u16()),
            resp.headers(),
        );
        e.note = note;
        c.push(e, body);
    }
}

/// The audit data of one request while it runs. Shared by the request's log row, its upstream
/// attempts and its response stream.
pub(crate) struct Capture {
    started: Instant,
    budget: u64,
    next_attempt: AtomicU32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    used: u64,
    entries: Vec<AuditEntry>,
}

impl Capture {
    pub(crate) fn new(started: Instant, budget: u64) -> Self {
        Self {
            started,
            budget,
            next_attempt: AtomicU32::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Numbers the attempts of the failover chain: 0, 1, 2…
    pub(crate) fn next_attempt(&self) -> u32 {
        self.next_attempt.fetch_add(1, Ordering::Relaxed)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records `entry` with `body` (cut to what is left of the budget).
    pub(crate) fn push(&self, mut entry: AuditEntry, body: Option<&Bytes>) {
        // Only bodies count against the budget: heads are small and always kept.
        let mut st = self.state.lock();
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            let kept = take(&mut st.used, self.budget, body);
            entry.truncated |= kept.len() < body.len();
            entry.body.push(kept);
        }
        st.entries.push(entry);
    }

    /// Appends a stream chunk, with its time, to the latest entry of `kind`.
    pub(crate) fn chunk(&self, kind: AuditKind, chunk: &Bytes) {
        let at = self.elapsed_ms();
        let mut st = self.state.lock();
        let State { used, entries } = &mut *st;
        let Some(entry) = entries.iter_mut().rev().find(|e| e.kind == kind) else {
            return;
        };
        if entry.truncated {
            return;
        }
        let kept = take(used, self.budget, chunk);
        if kept.len() < chunk.len() {
            entry.truncated = true;
        }
        if !kept.is_empty() {
            // A stream chunk is a slice of the connection's read buffer: keeping the slice would
            // pin the whole buffer for the life of the stream (~250 KiB per open stream was
            // measured in bench/). Copy out just the event bytes.
            entry.body.push(Bytes::copy_from_slice(&kept));
            entry.offsets_ms.push(at);
        }
    }

    /// Everything captured, leaving the capture empty.
    pub(crate) fn take_entries(&self) -> Vec<AuditEntry> {
        std::mem::take(&mut self.state.lock().entries)
    }
}

/// The part of `bytes` that fits in the budget (a zero-copy slice), counted as used.
fn take(used: &mut u64, budget: u64, bytes: &Bytes) -> Bytes {
    let room = usize::try_from(budget.saturating_sub(*used)).unwrap_or(usize::MAX);
    let kept = bytes.slice(..bytes.len().min(room));
    *used += kept.len() as u64;
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_secret_when_its_name_contains_a_secret_word() {
        for name in [
            "x-api-key",
            "authorization",
            "proxy-authorization",
            "x-goog-api-key",
            "api-key",
            "cookie",
            "set-cookie",
            "x-auth-token",
            "client-secret",
            "x-amz-security-token",
            "password",
            "x-credential",
            "key",
            "monkey",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "content-type",
            "content-length",
            "anthropic-version",
            "user-agent",
            "accept",
            "host",
            "x-request-id",
            "ke",
            "toke",
            "",
            "k",
        ] {
            assert!(!is_secret_header(name), "{name}");
        }
        // The same answer as the plain definition, non-ASCII names included.
        for name in [
            "authoriz\u{e9}",
            "\u{e9}key",
            "s\u{e9}cret",
            "x-t\u{f6}ken",
            "cookiejar",
        ] {
            assert_eq!(
                is_secret_header(name),
                SECRET_WORDS.iter().any(|w| name.contains(w)),
                "{name}"
            );
        }
    }

    #[test]
    fn masks_secret_headers_and_keeps_the_rest() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-api-key",
            "sk-ant-api03-abcdefghijklmnop-XYZW".parse().expect("v"),
        );
        h.insert(
            "authorization",
            "Bearer sk-proj-0123456789abcdef-WXYZ".parse().expect("v"),
        );
        h.insert(
            "x-goog-api-key",
            "AIzaSyA-0123456789-abcd".parse().expect("v"),
        );
        h.insert("cookie", "session=0123456789abcdefghij".parse().expect("v"));
        h.insert("anthropic-version", "2023-06-01".parse().expect("v"));
        let m = masked_headers(&h);
        let get = |n: &str| m.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("x-api-key"), Some("sk-ant-api…XYZW"));
        assert_eq!(get("authorization"), Some("Bearer sk-proj-01…WXYZ"));
        assert_eq!(get("x-goog-api-key"), Some("AIzaSyA-01…abcd"));
        assert_eq!(get("cookie"), Some("session=01…ghij"));
        assert_eq!(get("anthropic-version"), Some("2023-06-01"));
        assert_eq!(
            masked_url("https://g.example/v1?alt=sse&key=AIzaSyA-0123456789-abcd"),
            "https://g.example/v1?alt=sse&key=AIzaSyA-01…abcd"
        );
    }

    #[test]
    fn budget_cuts_bodies_and_chunks() {
        let c = Capture::new(Instant::now(), 10);
        c.push(
            AuditEntry::new(AuditKind::ClientRequest),
            Some(&Bytes::from_static(b"0123456")),
        );
        c.push(AuditEntry::new(AuditKind::ClientResponse), None);
        c.chunk(AuditKind::ClientResponse, &Bytes::from_static(b"abc"));
        c.chunk(AuditKind::ClientResponse, &Bytes::from_static(b"def"));
        c.chunk(AuditKind::ClientResponse, &Bytes::from_static(b"ghi"));
        let e = c.take_entries();
        assert_eq!(e[0].body, vec![Bytes::from_static(b"0123456")]);
        assert!(!e[0].truncated);
        assert_eq!(e[1].body_bytes(), Bytes::from_static(b"abc"));
        assert!(e[1].truncated);
        assert_eq!(e[1].offsets_ms.len(), e[1].body.len());
    }
}
