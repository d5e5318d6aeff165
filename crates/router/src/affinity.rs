//! Session affinity: requests of one Claude Code session stay on the account that served it,
//! so rotation and failover don't throw away its prompt cache (Anthropic's cache is per
//! account: after a switch the first turn is a full miss).
//!
//! - [`session_id`] finds the session: Claude Code's `x-claude-code-session-id` header, else the
//!   `session_id` in `metadata.user_id` (a JSON string since Claude Code 2.1.78, a
//!   `user_…_account_…_session_<uuid>` string before), else a configured header. Subagents send
//!   their parent's session id (with an agent id of their own), so they follow it.
//! - [`Affinity`] maps (pool, session) to a member with a sliding TTL (one hour by default: at
//!   least the longest prompt-cache TTL). A binding moves when its account can't serve, and
//!   stays moved when the old account recovers. The table is bounded: session ids come from
//!   clients, so past `capacity` the least recently used binding is evicted.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use tokio::time::Instant;

/// Claude Code's session header (official, `docs/llm-gateway-protocol.md`).
pub const SESSION_HEADER: &str = "x-claude-code-session-id";

/// Longer ids are not session ids (CLIProxyAPI's bound).
pub const MAX_SESSION_ID_LEN: usize = 256;

/// Where the session id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSource {
    Header,
    /// `metadata.user_id` as a JSON string with `session_id` (Claude Code ≥ 2.1.78).
    MetadataJson,
    /// `metadata.user_id` as `user_<hex>_account_<uuid>_session_<uuid>`.
    MetadataLegacy,
    ConfiguredHeader,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId {
    pub id: String,
    pub source: SessionSource,
}

fn valid(id: &str) -> Option<&str> {
    let id = id.trim();
    (!id.is_empty() && id.len() <= MAX_SESSION_ID_LEN && !id.chars().any(char::is_control))
        .then_some(id)
}

/// The session of a request: from its headers (names in any case), the body's
/// `metadata.user_id` if the caller has it ([`metadata_user_id`]), and the configured fallback
/// header. Invalid ids (empty, over [`MAX_SESSION_ID_LEN`], control characters) are skipped.
#[must_use]
pub fn session_id<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    user_id: Option<&str>,
    configured_header: Option<&str>,
) -> Option<SessionId> {
    let mut from_header = None;
    let mut from_configured = None;
    for (name, value) in headers {
        if from_header.is_none() && name.eq_ignore_ascii_case(SESSION_HEADER) {
            from_header = valid(value);
        } else if from_configured.is_none()
            && configured_header.is_some_and(|h| name.eq_ignore_ascii_case(h))
        {
            from_configured = valid(value);
        }
    }
    let found = |id: &str, source| {
        Some(SessionId {
            id: id.to_owned(),
            source,
        })
    };
    if let Some(id) = from_header {
        return found(id, SessionSource::Header);
    }
    if let Some((id, source)) = user_id.and_then(session_from_user_id) {
        return found(&id, source);
    }
    from_configured.and_then(|id| found(id, SessionSource::ConfiguredHeader))
}

fn session_from_user_id(user_id: &str) -> Option<(String, SessionSource)> {
    let user_id = user_id.trim();
    if user_id.starts_with('{') {
        #[derive(Deserialize)]
        struct UserId {
            session_id: Option<String>,
        }
        let parsed: UserId = serde_json::from_str(user_id).ok()?;
        let id = valid(parsed.session_id.as_deref()?)?.to_owned();
        return Some((id, SessionSource::MetadataJson));
    }
    // `_session_([a-f0-9-]+)$`
    let (_, tail) = user_id.rsplit_once("_session_")?;
    (!tail.is_empty()
        && tail.len() <= MAX_SESSION_ID_LEN
        && tail.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
    .then(|| (tail.to_owned(), SessionSource::MetadataLegacy))
}

/// `metadata.user_id` from a Messages request body, if it has one (other fields are skipped
/// without being built).
#[must_use]
pub fn metadata_user_id(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        metadata: Option<Metadata>,
    }
    #[derive(Deserialize)]
    struct Metadata {
        user_id: Option<String>,
    }
    serde_json::from_slice::<Body>(body).ok()?.metadata?.user_id
}

/// Table settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffinityConfig {
    /// A binding not used for this long is forgotten; every use renews it.
    pub ttl: Duration,
    /// The most bindings kept; past it the least recently used goes.
    pub capacity: usize,
}

impl Default for AffinityConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            capacity: 10_000,
        }
    }
}

#[derive(Debug)]
struct Entry {
    member: usize,
    touched: Instant,
    seq: u64,
}

#[derive(Debug, Default)]
struct Table {
    map: HashMap<String, Entry>,
    /// (last use, sequence) → key: the least recently used binding first.
    order: BTreeMap<(Instant, u64), String>,
    seq: u64,
}

impl Table {
    fn touch(&mut self, key: &str, now: Instant) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(e) = self.map.get_mut(key)
            && let Some(k) = self.order.remove(&(e.touched, e.seq))
        {
            e.touched = now;
            e.seq = seq;
            self.order.insert((now, seq), k);
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(e) = self.map.remove(key) {
            self.order.remove(&(e.touched, e.seq));
        }
    }

    fn insert(&mut self, key: String, member: usize, now: Instant, ttl: Duration, capacity: usize) {
        self.remove(&key);
        // Expired bindings are the oldest: drop them from the front first, then the least
        // recently used while full.
        while let Some((&(touched, _), _)) = self.order.first_key_value() {
            if touched + ttl > now && self.map.len() < capacity.max(1) {
                break;
            }
            if let Some((_, k)) = self.order.pop_first() {
                self.map.remove(&k);
            }
        }
        self.seq += 1;
        self.order.insert((now, self.seq), key.clone());
        self.map.insert(
            key,
            Entry {
                member,
                touched: now,
                seq: self.seq,
            },
        );
    }
}

fn key(pool: &str, session: &str) -> String {
    let mut k = String::with_capacity(pool.len() + 1 + session.len());
    k.push_str(pool);
    k.push('\0');
    k.push_str(session);
    k
}

/// Session → member bindings of every pool.
#[derive(Debug, Default)]
pub struct Affinity {
    config: AffinityConfig,
    table: Mutex<Table>,
}

impl Affinity {
    #[must_use]
    pub fn new(config: AffinityConfig) -> Self {
        Self {
            config,
            table: Mutex::default(),
        }
    }

    /// The member `session` is bound to in `pool`, renewing the binding; `None` if unbound or
    /// expired.
    #[must_use]
    pub fn get(&self, pool: &str, session: &str, now: Instant) -> Option<usize> {
        let k = key(pool, session);
        let mut t = self.table.lock();
        let e = t.map.get(&k)?;
        if e.touched + self.config.ttl <= now {
            t.remove(&k);
            return None;
        }
        let member = e.member;
        t.touch(&k, now);
        Some(member)
    }

    /// The member `session` is bound to in `pool`, without renewing the binding.
    #[must_use]
    pub fn peek(&self, pool: &str, session: &str, now: Instant) -> Option<usize> {
        let t = self.table.lock();
        t.map
            .get(&key(pool, session))
            .filter(|e| e.touched + self.config.ttl > now)
            .map(|e| e.member)
    }

    /// Binds `session` to `member` (replacing any binding).
    pub fn bind(&self, pool: &str, session: &str, member: usize, now: Instant) {
        let c = self.config;
        self.table
            .lock()
            .insert(key(pool, session), member, now, c.ttl, c.capacity);
    }

    /// The member for this request: the bound one if it can serve now (`usable`), else one from
    /// `choose` (the pool's strategy over the members that can), which becomes the binding. The
    /// old member is not remembered: when it recovers the session stays where it moved.
    pub fn resolve(
        &self,
        pool: &str,
        session: &str,
        now: Instant,
        usable: impl Fn(usize) -> bool,
        choose: impl FnOnce() -> Option<usize>,
    ) -> Option<usize> {
        if let Some(m) = self.get(pool, session, now).filter(|m| usable(*m)) {
            return Some(m);
        }
        let m = choose()?;
        self.bind(pool, session, m, now);
        Some(m)
    }

    /// Forgets a binding.
    pub fn unbind(&self, pool: &str, session: &str) {
        self.table.lock().remove(&key(pool, session));
    }

    /// Bindings held (expired ones may still be counted until something evicts them).
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.lock().map.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
