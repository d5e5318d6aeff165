//! Client keys on the request path: who a request comes from, and whether its limits let it
//! start. The control plane installs the keys ([`KeySet`], through `crate::Control`); the
//! pipeline looks each request's key up here ([`Clients::authenticate`], part of admission)
//! and, once the body's `model` is known, asks the limit state for a place
//! ([`Clients::limit`]). What the request spent is charged when its log row completes
//! (`crate::log`).
//!
//! Cost on the request path, for a request with a key: the key's shape checked, its tag (a
//! keyed BLAKE3 of one block) looked up among the keys already verified since the table was
//! installed, then one short lock per limited meter (key, user, team). A key not verified yet
//! costs its HMAC-SHA256 once more (two SHA-256 blocks, the server key's pads precomputed) and
//! one hash-map lookup by digest. Nothing allocates but the names the log row carries. A table
//! of any size is looked up in constant time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use http::{HeaderMap, HeaderName, header};
use serde_json::{Value, json};
use switchboard_auth::KeyHasher;
use switchboard_auth::client_keys::looks_like_key;
use switchboard_core::{KeyId, TeamId, UserId};
use switchboard_limits::{
    Admission, InProcess, KeyHandle, KeySpec, LimitState, Limits, OwnerSpec, Report, Subject,
    Table, Usage, Window,
};
use switchboard_store::Digest;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::ApiError;

/// The name the shared `[server] auth_token` is logged and metered as once client keys are in
/// use: it keeps working as one more key, with no owner and no limits.
pub const SHARED_TOKEN_NAME: &str = "auth_token";

/// A key as the control plane hands it over.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    pub id: KeyId,
    pub name: String,
    /// Its keyed digest (`switchboard_auth::KeyHasher`).
    pub digest: Digest,
    pub user: Option<(UserId, String)>,
    pub team: Option<(TeamId, String)>,
    pub limits: Limits,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every client key with the budgets of users and teams: what [`crate::Control::install_keys`]
/// puts in force.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// `None`: no key was ever made, and requests need none (only the gateway token, when
    /// one is set). Once it is set, every proxy request needs a key or the gateway token.
    pub hasher: Option<KeyHasher>,
    pub keys: Vec<KeyEntry>,
    /// Users and teams with their budgets.
    pub owners: Vec<OwnerSpec>,
}

/// One key on the request path.
pub(crate) struct ClientKey {
    pub(crate) id: KeyId,
    digest: Digest,
    pub(crate) name: String,
    pub(crate) user: Option<String>,
    pub(crate) team: Option<String>,
    pub(crate) limits: Limits,
    /// When it stops working, on the Tokio clock (for the check) and the wall clock (for the
    /// message).
    expires: Option<(Instant, DateTime<Utc>)>,
    revoked: Option<DateTime<Utc>>,
    meter: Option<KeyHandle>,
    /// Nanoseconds after [`Clients`]' base instant, plus one; 0: not used since the start.
    last_used: AtomicU64,
}

struct KeyTable {
    hasher: Option<KeyHasher>,
    by_digest: HashMap<Digest, Arc<ClientKey>>,
    by_id: HashMap<KeyId, Arc<ClientKey>>,
    /// The gateway token as a key (metered, never limited).
    shared: Arc<ClientKey>,
    /// The keys of this table already presented and verified by their digest, by their tag,
    /// so that a key's next requests skip the HMAC (two SHA-256 blocks, most of admission's
    /// cost: `bench/callgrind.py`, json-key). Only a key found in `by_digest` enters, so it
    /// holds at most one entry per key of the table, whatever clients send; a new table
    /// (installed at any change, such as a revocation or rotation, and every minute) starts
    /// empty.
    verified: Verified,
}

/// Tags of verified keys: the first 128 bits of BLAKE3 keyed with a secret derived from the
/// server key (a PRF like the HMAC: without the server key, no input can be made to match a
/// tag, and the map's timing tells nothing about any key). Never stored outside this process.
struct Verified {
    key: [u8; 32],
    tags: ArcSwap<HashMap<[u8; 16], Arc<ClientKey>>>,
}

impl Verified {
    fn new(hasher: Option<&KeyHasher>) -> Self {
        Self {
            key: hasher.map_or([0; 32], |h| {
                h.digest(b"switchboard: the key of verified client keys' tags")
            }),
            tags: ArcSwap::from_pointee(HashMap::new()),
        }
    }

    fn tag(&self, presented: &[u8]) -> [u8; 16] {
        let hash = blake3::keyed_hash(&self.key, presented);
        let mut tag = [0; 16];
        tag.copy_from_slice(&hash.as_bytes()[..16]);
        tag
    }

    fn get(&self, tag: &[u8; 16]) -> Option<Arc<ClientKey>> {
        self.tags.load().get(tag).cloned()
    }

    /// Rare (once per key and table), so the map is copied rather than locked.
    fn insert(&self, tag: [u8; 16], key: &Arc<ClientKey>) {
        self.tags.rcu(|tags| {
            let mut tags = HashMap::clone(tags);
            tags.insert(tag, key.clone());
            tags
        });
    }
}

/// The headers that carried the gateway's own credentials: never forwarded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Strip {
    x_api_key: bool,
    authorization: bool,
}

impl Strip {
    pub(crate) fn contains(self, name: &HeaderName) -> bool {
        (self.x_api_key && name.as_str() == "x-api-key")
            || (self.authorization && name == header::AUTHORIZATION)
    }
}

/// Client keys and the limit state, for the life of the process.
pub(crate) struct Clients {
    table: ArcSwap<KeyTable>,
    state: Arc<dyn LimitState>,
    base: Instant,
    base_wall: DateTime<Utc>,
}

impl KeyTable {
    /// The key `presented` is, if it is one of this table's (revoked and expired ones too).
    fn find(&self, hasher: &KeyHasher, presented: &[u8]) -> Option<Arc<ClientKey>> {
        let tag = self.verified.tag(presented);
        if let Some(k) = self.verified.get(&tag) {
            return Some(k);
        }
        let digest = hasher.digest(presented);
        // The lookup compares digests as any map does; they are keyed (HMAC), so its timing
        // tells nothing about any key. The digest found is compared again in constant time
        // all the same.
        let k = self
            .by_digest
            .get(&digest)
            .filter(|k| switchboard_auth::token::constant_time_eq(&k.digest, &digest))?;
        self.verified.insert(tag, k);
        Some(k.clone())
    }
}

/// The id the gateway token is metered under.
fn shared_id() -> KeyId {
    KeyId(Uuid::nil())
}

fn shared_key(meter: Option<KeyHandle>) -> Arc<ClientKey> {
    Arc::new(ClientKey {
        id: shared_id(),
        digest: [0; 32],
        name: SHARED_TOKEN_NAME.to_owned(),
        user: None,
        team: None,
        limits: Limits::default(),
        expires: None,
        revoked: None,
        meter,
        last_used: AtomicU64::new(0),
    })
}

/// Whether `presented` is the gateway token, in constant time.
fn is_token(presented: &[u8], token: Option<&[u8]>) -> bool {
    token.is_some_and(|t| switchboard_auth::token::constant_time_eq(presented, t))
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            table: ArcSwap::from_pointee(KeyTable {
                hasher: None,
                by_digest: HashMap::new(),
                by_id: HashMap::new(),
                shared: shared_key(None),
                verified: Verified::new(None),
            }),
            state: Arc::new(InProcess::new()),
            base: Instant::now(),
            base_wall: Utc::now(),
        }
    }
}

impl Clients {
    /// Puts `set` in force; returns the keys, users and teams whose new budget windows want
    /// their history from the log (with their names, as the log knows them).
    pub(crate) fn install(&self, set: KeySet) -> Vec<(Subject, String)> {
        let now = Instant::now();
        let wall = Utc::now();
        let mut table = Table {
            keys: Vec::with_capacity(set.keys.len() + 1),
            owners: set.owners,
        };
        table.keys.push(KeySpec {
            id: shared_id(),
            name: SHARED_TOKEN_NAME.to_owned(),
            user: None,
            team: None,
            limits: Limits::default(),
        });
        for k in &set.keys {
            table.keys.push(KeySpec {
                id: k.id,
                name: k.name.clone(),
                user: k.user.as_ref().map(|(id, _)| *id),
                team: k.team.as_ref().map(|(id, _)| *id),
                limits: k.limits.clone(),
            });
        }
        let mut installed = self.state.install(&table, now);
        let old = self.table.load();
        let last_used = |id: &KeyId| {
            old.by_id
                .get(id)
                .map_or(0, |k| k.last_used.load(Ordering::Relaxed))
        };
        let mut by_digest = HashMap::with_capacity(set.keys.len());
        let mut by_id = HashMap::with_capacity(set.keys.len());
        for k in set.keys {
            let expires = k.expires_at.map(|at| {
                let left = (at - wall).to_std().unwrap_or_default();
                (now + left, at)
            });
            let key = Arc::new(ClientKey {
                id: k.id,
                digest: k.digest,
                last_used: AtomicU64::new(last_used(&k.id)),
                meter: installed.keys.remove(&k.id),
                user: k.user.map(|(_, n)| n),
                team: k.team.map(|(_, n)| n),
                name: k.name,
                limits: k.limits,
                expires,
                revoked: k.revoked_at,
            });
            by_id.insert(key.id, key.clone());
            by_digest.insert(k.digest, key);
        }
        let shared = shared_key(installed.keys.remove(&shared_id()));
        shared.last_used.store(
            old.shared.last_used.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.table.store(Arc::new(KeyTable {
            verified: Verified::new(set.hasher.as_ref()),
            hasher: set.hasher,
            by_digest,
            by_id,
            shared,
        }));
        let names: HashMap<Subject, String> = table
            .keys
            .iter()
            .map(|k| (Subject::Key(k.id), k.name.clone()))
            .chain(table.owners.iter().map(|o| (o.subject, o.name.clone())))
            .collect();
        installed
            .fresh
            .into_iter()
            .filter_map(|s| names.get(&s).map(|n| (s, n.clone())))
            .collect()
    }

    /// Charges `history` (the log's spend over `window`, wall-clock times) to the new windows
    /// of `subject`.
    pub(crate) fn seed(
        &self,
        subject: Subject,
        window: Window,
        history: &[(DateTime<Utc>, String, Usage)],
    ) {
        let now = Instant::now();
        let wall = Utc::now();
        let mut rows = history.iter().map(|(at, model, usage)| {
            let back = (wall - *at).to_std().unwrap_or_default();
            (now.checked_sub(back).unwrap_or(now), model.as_str(), *usage)
        });
        self.state.seed(subject, window, &mut rows, now);
    }

    /// Whether keys are required: a key was ever made.
    pub(crate) fn required(&self) -> bool {
        self.table.load().hasher.is_some()
    }

    /// The request's key, from `x-api-key` or `Authorization: Bearer`, and the headers that
    /// carried the gateway's credentials. With no key ever made and no gateway token set,
    /// anyone passes (`None`).
    ///
    /// On refusal, the key when one was recognised (revoked, expired, another client): the
    /// log names it.
    pub(crate) fn authenticate(
        &self,
        headers: &HeaderMap,
        token: Option<&[u8]>,
        now: Instant,
    ) -> Result<(Option<Arc<ClientKey>>, Strip), crate::admission::Refused> {
        let table = self.table.load();
        let hasher = table.hasher.as_ref();
        if hasher.is_none() && token.is_none() {
            return Ok((None, Strip::default()));
        }
        let x_api_key = headers.get("x-api-key").map(http::HeaderValue::as_bytes);
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        let mut strip = Strip::default();
        let mut found: Option<Arc<ClientKey>> = None;
        let mut token_ok = false;
        let mut refused: Option<(ApiError, Option<Arc<ClientKey>>)> = None;
        for (value, is_x) in [(x_api_key, true), (bearer, false)] {
            let Some(value) = value else { continue };
            let mine = if is_token(value, token) {
                token_ok = true;
                true
            } else if let Some(h) = hasher.filter(|_| looks_like_key(value)) {
                match table.find(h, value) {
                    Some(k) => match k.usable(now) {
                        Ok(()) if found.is_none() => found = Some(k),
                        Ok(()) => {}
                        Err(e) => refused = Some((e, Some(k))),
                    },
                    None => {
                        refused.get_or_insert((ApiError::UnknownKey, None));
                    }
                }
                true
            } else {
                false
            };
            if mine {
                if is_x {
                    strip.x_api_key = true;
                } else {
                    strip.authorization = true;
                }
            }
        }
        if let Some(k) = found {
            k.used(self.base, now);
            return Ok((Some(k), strip));
        }
        if token_ok {
            if hasher.is_none() {
                return Ok((None, strip));
            }
            table.shared.used(self.base, now);
            return Ok((Some(table.shared.clone()), strip));
        }
        Err(refused.unwrap_or_else(|| {
            let e = if hasher.is_some() {
                ApiError::KeyRequired
            } else {
                ApiError::Unauthorized
            };
            (e, None)
        }))
    }

    /// Whether `key` may send a request for `model` now: its allowed models, then its limits
    /// and its user's and team's budgets. The admission holds the request's place until its
    /// log row completes.
    pub(crate) fn limit(
        &self,
        key: &ClientKey,
        model: &str,
        metered: bool,
        now: Instant,
    ) -> Result<Option<Admission>, ApiError> {
        if !key.limits.allows_model(model) {
            return Err(ApiError::ModelNotAllowed {
                key: key.name.clone(),
                model: model.to_owned(),
                allowed: key.limits.models.join(", "),
            });
        }
        let Some(meter) = key.meter.as_ref().filter(|_| metered) else {
            return Ok(None);
        };
        self.state
            .admit(meter, model, now)
            .map(Some)
            .map_err(|r| ApiError::Limited(Box::new(r)))
    }

    /// Charges a finished request.
    pub(crate) fn complete(&self, admission: Admission, model: &str, usage: &Usage) {
        self.state.complete(admission, model, usage, Instant::now());
    }

    /// Every meter's state.
    pub(crate) fn report(&self) -> Vec<Report> {
        self.state.report(Instant::now())
    }

    /// When each key was last used since the start (wall clock).
    pub(crate) fn last_used(&self) -> Vec<(KeyId, DateTime<Utc>)> {
        let table = self.table.load();
        table
            .by_id
            .values()
            .chain(std::iter::once(&table.shared))
            .filter_map(|k| {
                let n = k.last_used.load(Ordering::Relaxed);
                let since = std::time::Duration::from_nanos(n.checked_sub(1)?);
                let wall = self.base_wall + chrono::TimeDelta::from_std(since).ok()?;
                Some((k.id, wall))
            })
            .collect()
    }

    /// What `GET /v1/switchboard/usage` answers a key holder: the key, its limits, and the
    /// state of every budget that applies to it (its own, its user's, its team's).
    pub(crate) fn usage_document(&self, key: &ClientKey) -> Value {
        let reports = self.report();
        let find = |s: Subject| reports.iter().find(|r| r.subject == s);
        let mine = find(Subject::Key(key.id));
        let mut budgets = Vec::new();
        let mut owners = vec![("key", mine)];
        for (kind, subject) in [("user", &key.user), ("team", &key.team)] {
            if let Some(name) = subject {
                owners.push((
                    kind,
                    reports
                        .iter()
                        .find(|r| r.subject.kind() == kind && &*r.name == name.as_str()),
                ));
            }
        }
        let wall = Utc::now();
        for (kind, report) in owners {
            let Some(report) = report else { continue };
            for b in &report.budgets {
                budgets.push(budget_json(kind, &report.name, b, wall));
            }
        }
        let expires_at = key.expires.map(|(_, at)| at);
        json!({
            "key": {
                "name": key.name,
                "user": key.user,
                "team": key.team,
                "expires_at": expires_at,
                "limits": key.limits,
            },
            "since_start": mine.map(|r| json!({
                "requests": r.requests,
                "tokens": r.tokens,
                "cost_usd": switchboard_limits::usd(r.nanos),
            })),
            "in_flight": mine.map_or(0, |r| r.in_flight),
            "budgets": budgets,
        })
    }
}

/// One budget's state as the usage documents show it.
pub fn budget_json(
    scope: &str,
    name: &str,
    b: &switchboard_limits::BudgetState,
    wall: DateTime<Utc>,
) -> Value {
    let unit = b.budget.amount.unit();
    let amount = |raw: u64| match unit {
        switchboard_limits::Unit::Usd => json!(switchboard_limits::usd(raw)),
        switchboard_limits::Unit::Tokens => json!(raw),
    };
    let frees_at = b
        .frees_in
        .and_then(|d| chrono::TimeDelta::from_std(d).ok())
        .map(|d| wall + d);
    json!({
        "scope": scope,
        "name": name,
        "budget": b.budget.to_string(),
        "window": b.budget.window.as_str(),
        "family": b.budget.family,
        "unit": unit.as_str(),
        "limit": amount(b.budget.amount.raw()),
        "spent": amount(b.spent),
        "remaining": amount(b.remaining),
        "exhausted": b.frees_in.is_some(),
        "frees_at": frees_at,
    })
}

impl ClientKey {
    /// Revoked and expired keys are refused with what happened.
    fn usable(&self, now: Instant) -> Result<(), ApiError> {
        if let Some(at) = self.revoked {
            return Err(ApiError::KeyRevoked {
                key: self.name.clone(),
                at,
            });
        }
        if let Some((deadline, at)) = self.expires
            && now >= deadline
        {
            return Err(ApiError::KeyExpired {
                key: self.name.clone(),
                at,
            });
        }
        Ok(())
    }

    fn used(&self, base: Instant, now: Instant) {
        let n = u64::try_from(now.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX);
        self.last_used.store(n.saturating_add(1), Ordering::Relaxed);
    }

    /// Whether a client with this `User-Agent` may use the key.
    pub(crate) fn check_client(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.limits.clients.is_empty() {
            return Ok(());
        }
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        if self.limits.allows_client(ua) {
            Ok(())
        } else {
            Err(ApiError::ClientNotAllowed {
                key: self.name.clone(),
                user_agent: ua.unwrap_or("(none)").chars().take(200).collect(),
                allowed: self.limits.clients.join(", "),
            })
        }
    }
}

/// `GET /v1/switchboard/usage`: a key holder's own key, limits and budgets, with the key alone
/// (for a status line or a script; no admin rights).
pub(crate) async fn usage(
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
    match crate::admission::admit(&state, &live, req.headers(), conn.as_ref(), Instant::now(), clients) {
        Ok(crate::admission::Admitted { key: Some(k), .. }) => {
            axum::Json(state.0.clients.usage_document(&k)).into_response()
        }
        Ok(_) => ApiError::NotFound(
            "this gateway has no client keys: usage is reported per key (an admin makes one with `switchboard keys create`)".into(),
        )
        .render(dialect),
        Err((e, _)) => e.render(dialect),
    }
}

/// The `/metrics` series of keys, users and teams: requests, tokens and cost since the start,
/// requests in flight, and each budget's amount, spend and what is left. Their labels are the
/// names of keys, users and teams an admin made: no client input adds a series.
pub(crate) fn render_metrics(reports: &[Report], out: &mut String) {
    use std::fmt::Write as _;
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let families: [(&str, &str, &str); 4] = [
        (
            "switchboard_client_requests_total",
            "counter",
            "Requests completed per client key, user and team since the start.",
        ),
        (
            "switchboard_client_tokens_total",
            "counter",
            "Tokens (input, cache writes, output) per client key, user and team since the start.",
        ),
        (
            "switchboard_client_cost_usd_total",
            "counter",
            "Cost in USD per client key, user and team since the start.",
        ),
        (
            "switchboard_client_in_flight",
            "gauge",
            "Requests in flight per client key.",
        ),
    ];
    for (i, (name, kind, help)) in families.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for r in reports {
            let labels = format!("scope=\"{}\",name=\"{}\"", r.subject.kind(), esc(&r.name));
            let value = match i {
                0 => r.requests.to_string(),
                1 => r.tokens.to_string(),
                2 => format!("{}", switchboard_limits::usd(r.nanos)),
                _ => {
                    if !matches!(r.subject, Subject::Key(_)) {
                        continue;
                    }
                    r.in_flight.to_string()
                }
            };
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
    let budget_families: [(&str, &str); 3] = [
        (
            "switchboard_budget_limit",
            "A budget's amount (USD or tokens, see `unit`) per rolling window.",
        ),
        (
            "switchboard_budget_spent",
            "Spent in a budget's rolling window now.",
        ),
        (
            "switchboard_budget_remaining",
            "Left in a budget's rolling window now (0 once used up).",
        ),
    ];
    for (i, (name, help)) in budget_families.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for r in reports {
            for b in &r.budgets {
                let unit = b.budget.amount.unit();
                let raw = match i {
                    0 => b.budget.amount.raw(),
                    1 => b.spent,
                    _ => b.remaining,
                };
                let value = match unit {
                    switchboard_limits::Unit::Usd => format!("{}", switchboard_limits::usd(raw)),
                    switchboard_limits::Unit::Tokens => raw.to_string(),
                };
                let _ = writeln!(
                    out,
                    "{name}{{scope=\"{}\",name=\"{}\",window=\"{}\",unit=\"{}\",family=\"{}\"}} {value}",
                    r.subject.kind(),
                    esc(&r.name),
                    b.budget.window,
                    unit.as_str(),
                    esc(b.budget.family.as_deref().unwrap_or("")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sb-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const ROTATED: &str = "sb-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    const UNKNOWN: &str = "sb-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

    fn set(hasher: &KeyHasher, secret: &str, revoked: bool) -> KeySet {
        KeySet {
            hasher: Some(hasher.clone()),
            keys: vec![KeyEntry {
                id: KeyId(Uuid::from_u128(7)),
                name: "laptop".into(),
                digest: hasher.digest(secret.as_bytes()),
                user: None,
                team: None,
                limits: Limits::default(),
                expires_at: None,
                revoked_at: revoked.then(Utc::now),
            }],
            owners: Vec::new(),
        }
    }

    fn presenting(secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", secret.parse().expect("header value"));
        h
    }

    /// What the request is admitted as: the key's name, or the refusal's status.
    fn who(clients: &Clients, secret: &str) -> Result<String, u16> {
        match clients.authenticate(&presenting(secret), None, Instant::now()) {
            Ok((Some(k), strip)) => {
                assert!(strip.x_api_key, "the key is not forwarded");
                Ok(k.name.clone())
            }
            Ok((None, _)) => Ok(String::new()),
            Err((e, _)) => Err(e.status(switchboard_protocol::Dialect::Anthropic)),
        }
    }

    #[test]
    fn a_verified_key_is_found_again_and_a_new_table_forgets_it() {
        assert_eq!(KEY.len(), ROTATED.len());
        assert!(looks_like_key(KEY.as_bytes()) && looks_like_key(UNKNOWN.as_bytes()));
        let hasher = KeyHasher::new(&[9; 32]);
        let clients = Clients::default();
        clients.install(set(&hasher, KEY, false));
        // The first request verifies the key by its digest, the next ones by its tag.
        for _ in 0..3 {
            assert_eq!(who(&clients, KEY), Ok("laptop".into()));
            assert_eq!(who(&clients, UNKNOWN), Err(401));
        }
        assert_eq!(clients.table.load().verified.tags.load().len(), 1);
        // Revoked: refused from the next request on, though it was verified before.
        clients.install(set(&hasher, KEY, true));
        assert_eq!(who(&clients, KEY), Err(401));
        // Rotated (same key, a new secret): the old secret is unknown, the new one works.
        clients.install(set(&hasher, ROTATED, false));
        assert_eq!(who(&clients, KEY), Err(401));
        assert_eq!(who(&clients, ROTATED), Ok("laptop".into()));
        assert_eq!(who(&clients, ROTATED), Ok("laptop".into()));
        // Under another server key, nothing verified before matches.
        clients.install(set(&KeyHasher::new(&[1; 32]), UNKNOWN, false));
        assert_eq!(who(&clients, ROTATED), Err(401));
        assert_eq!(who(&clients, UNKNOWN), Ok("laptop".into()));
    }
}
