//! Claude Code sessions as the gateway saw them since it started: each session's requests,
//! tokens and cost, and where its last request went. A status line asks for its own session
//! (`GET /v1/switchboard/session` with `x-claude-code-session-id`) many times a minute: the
//! answer comes from memory, never from the log's database.
//!
//! Bounded: at most [`MAX_SESSIONS`] sessions are kept; past that the ones idle longest go.
//! Updated once per completed request that carries a session id (one short lock), never on
//! the way to the upstream.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{Value, json};
use switchboard_store::LogRecord;

/// Sessions kept at most (a few hundred bytes each).
pub(crate) const MAX_SESSIONS: usize = 4096;

/// One session's totals.
#[derive(Debug, Clone, Default)]
struct Tally {
    requests: u64,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    cost_usd: f64,
    /// Requests with no price (a model the price table does not know).
    unpriced: u64,
    last_endpoint: Option<String>,
    last_model: Option<String>,
    last_profile: Option<Arc<str>>,
    last_status: u16,
    last_at: Option<DateTime<Utc>>,
    /// The client key of the session's requests (the last one's): only it may read the session.
    key: Option<String>,
    /// Order of last use, for eviction.
    seq: u64,
}

#[derive(Default)]
pub(crate) struct Sessions {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_id: HashMap<Box<str>, Tally>,
    seq: u64,
}

impl Sessions {
    /// Counts a completed request of `r.session_id`'s session (nothing without one).
    pub(crate) fn observe(&self, r: &LogRecord, profile: Option<&Arc<str>>) {
        let Some(id) = r.session_id.as_deref() else {
            return;
        };
        // A session id is a UUID; anything much longer is not Claude Code's.
        if id.len() > 128 {
            return;
        }
        let mut t = self.inner.lock();
        t.seq += 1;
        let seq = t.seq;
        if !t.by_id.contains_key(id) && t.by_id.len() >= MAX_SESSIONS {
            evict(&mut t.by_id);
        }
        let s = t.by_id.entry(id.into()).or_default();
        s.seq = seq;
        s.requests += 1;
        if r.status >= 400 || r.status == 0 {
            s.errors += 1;
        }
        s.input_tokens += r.input_tokens;
        s.output_tokens += r.output_tokens;
        s.cache_creation_input_tokens += r.cache_creation_input_tokens;
        s.cache_read_input_tokens += r.cache_read_input_tokens;
        match r.cost_usd {
            Some(c) => s.cost_usd += c,
            None if r.input_tokens + r.output_tokens > 0 => s.unpriced += 1,
            None => {}
        }
        if r.endpoint.is_some() {
            s.last_endpoint.clone_from(&r.endpoint);
            s.last_model = r.routed_model.clone().or_else(|| r.requested_model.clone());
        }
        s.last_profile = profile.cloned();
        s.last_status = r.status;
        s.last_at = Some(r.started_at);
        s.key.clone_from(&r.client_key);
    }

    /// The session's totals as `GET /v1/switchboard/session` shows them to a caller with the
    /// client key `key`; `None`: not seen, or the session's requests came with another key (a
    /// key holder reads their own sessions only).
    pub(crate) fn document(&self, id: &str, key: Option<&str>) -> Option<Value> {
        let t = self.inner.lock();
        let s = t.by_id.get(id)?;
        if s.key.is_some() && s.key.as_deref() != key {
            return None;
        }
        let s = s.clone();
        drop(t);
        Some(json!({
            "requests": s.requests,
            "errors": s.errors,
            "input_tokens": s.input_tokens,
            "output_tokens": s.output_tokens,
            "cache_creation_input_tokens": s.cache_creation_input_tokens,
            "cache_read_input_tokens": s.cache_read_input_tokens,
            "cost_usd": s.cost_usd,
            "unpriced_requests": s.unpriced,
            "last": {
                "endpoint": s.last_endpoint,
                "model": s.last_model,
                "profile": s.last_profile.as_deref(),
                "status": s.last_status,
                "at": s.last_at,
            },
        }))
    }
}

/// `GET /v1/switchboard/session`: the session named by `x-claude-code-session-id` (its totals
/// since the gateway started, and where its last request went), the profile its next request
/// gets (the one `X-Switchboard-Profile` names, else the one in force), and — for a client key —
/// the key's budgets. For `switchboard statusline`; with the credential the session uses.
pub(crate) async fn session(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let conn = req
        .extensions()
        .get::<crate::connection::ConnInfo>()
        .copied();
    let live = state.live();
    let dialect = switchboard_protocol::Dialect::Anthropic;
    let clients = crate::admission::Clients::Any;
    let admitted = match crate::admission::admit(
        &state,
        &live,
        req.headers(),
        conn.as_ref(),
        tokio::time::Instant::now(),
        clients,
    ) {
        Ok(a) => a,
        Err((e, _)) => return e.render(dialect),
    };
    let profile = match live.profiles.for_request(req.headers()) {
        Ok(p) => p.map(|p| &*p.name),
        Err(e) => return e.render(dialect),
    };
    let id = req
        .headers()
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let budgets = admitted
        .key
        .as_ref()
        .and_then(|k| state.0.clients.usage_document(k).get("budgets").cloned());
    axum::Json(json!({
        "session_id": (!id.is_empty()).then_some(id),
        "session": state.0.sessions.document(id, admitted.key.as_ref().map(|k| k.name.as_str())),
        "profile": profile,
        "key": admitted.key.as_ref().map(|k| &k.name),
        "budgets": budgets,
    }))
    .into_response()
}

/// Drops the least recently used quarter of the sessions (one sort, then room for many more).
fn evict(by_id: &mut HashMap<Box<str>, Tally>) {
    let mut seqs: Vec<u64> = by_id.values().map(|s| s.seq).collect();
    seqs.sort_unstable();
    let cut = seqs.get(seqs.len() / 4).copied().unwrap_or(0);
    by_id.retain(|_, s| s.seq > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(session: &str, endpoint: &str, cost: f64) -> LogRecord {
        let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
        r.session_id = Some(session.to_owned());
        r.endpoint = Some(endpoint.to_owned());
        r.status = 200;
        r.input_tokens = 10;
        r.output_tokens = 5;
        r.cost_usd = Some(cost);
        r
    }

    #[test]
    fn a_session_adds_up_and_remembers_its_last_endpoint() {
        let s = Sessions::default();
        let p: Arc<str> = "cheap".into();
        s.observe(&rec("s1", "a", 0.25), None);
        s.observe(&rec("s1", "b", 0.5), Some(&p));
        s.observe(&rec("s2", "a", 1.0), None);
        let d = s.document("s1", None).expect("seen");
        assert_eq!(d["requests"], 2);
        assert_eq!(d["input_tokens"], 20);
        assert_eq!(d["cost_usd"], 0.75);
        assert_eq!(d["last"]["endpoint"], "b");
        assert_eq!(d["last"]["profile"], "cheap");
        assert!(s.document("s3", None).is_none());
    }

    #[test]
    fn a_session_made_with_a_key_is_read_with_that_key_only() {
        let s = Sessions::default();
        let mut r = rec("s1", "a", 0.25);
        r.client_key = Some("laptop".into());
        s.observe(&r, None);
        assert!(s.document("s1", Some("laptop")).is_some());
        assert!(s.document("s1", Some("other")).is_none());
        assert!(s.document("s1", None).is_none());
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_the_recent_sessions() {
        let s = Sessions::default();
        for i in 0..MAX_SESSIONS + 10 {
            s.observe(&rec(&format!("s{i}"), "a", 0.0), None);
        }
        assert!(s.inner.lock().by_id.len() <= MAX_SESSIONS);
        assert!(
            s.document(&format!("s{}", MAX_SESSIONS + 9), None)
                .is_some()
        );
        assert!(s.document("s0", None).is_none());
    }
}
