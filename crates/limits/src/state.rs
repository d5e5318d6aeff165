//! The state limits are enforced from: per key, user and team, requests in flight, rate limits
//! and the rolling windows of budgets — behind [`LimitState`], with the in-process
//! implementation [`InProcess`].
//!
//! ## The hot path never waits
//!
//! [`LimitState::admit`] and [`LimitState::complete`] are synchronous and touch only memory: a
//! short `parking_lot` lock per key, user and team involved, never held across an await. A
//! request that starts reserves a place in flight and one request of its rate; its spend is
//! charged when it ends, from the cost the request log computes for it.
//!
//! ## Overspend is bounded by what is in flight
//!
//! Admission refuses a new request once a budget is reached (spent ≥ amount), but requests
//! already admitted go on and are charged when they end: a budget can be exceeded by at most
//! the cost of the requests that were in flight when it was reached (each at most its
//! `max_tokens` of output plus its input), so by at most `concurrency × the most one request can
//! cost` for a key with a concurrency cap. Tokens per minute are bounded the same way.
//!
//! ## Several gateways
//!
//! Another implementation (Redis, next) keeps these same local meters as its view and
//! exchanges deltas in the background — each gateway adds what it charged to shared per-slice
//! counters (`INCRBY` on keys with a TTL of the window) and reads back the others' sums every
//! second or so — so that the request path still never makes a round trip. The price is that
//! each gateway sees the others' spend up to one exchange late: the overspend bound grows by
//! what the other gateways admit in that time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use hashbrown::HashMap;
use parking_lot::Mutex;
use switchboard_core::{KeyId, TeamId, UserId};
use tokio::time::Instant;

use crate::rate::Gcra;
use crate::ring::{Ring, Spend};
use crate::spec::{Budget, Limits, Unit, Window, family_matches};

/// Who a meter counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Key(KeyId),
    User(UserId),
    Team(TeamId),
}

impl Subject {
    /// `key`, `user` or `team`.
    #[must_use]
    pub fn kind(self) -> &'static str {
        match self {
            Self::Key(_) => "key",
            Self::User(_) => "user",
            Self::Team(_) => "team",
        }
    }
}

/// A key as the limits see it.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub id: KeyId,
    pub name: String,
    pub user: Option<UserId>,
    pub team: Option<TeamId>,
    pub limits: Limits,
}

/// A user or team: a name and budgets shared by all its keys.
#[derive(Debug, Clone)]
pub struct OwnerSpec {
    pub subject: Subject,
    pub name: String,
    pub budgets: Vec<Budget>,
}

/// Every key, user and team with their limits.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub keys: Vec<KeySpec>,
    /// Users and teams.
    pub owners: Vec<OwnerSpec>,
}

/// What a finished request spent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// USD, as the request log prices it.
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// The tokens rate limits and token budgets count: input, cache writes and output. Cache
    /// reads are not counted, as Anthropic's own input rate limits leave them out: Claude Code
    /// re-reads its whole cached context on every turn.
    #[must_use]
    pub fn tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_creation_input_tokens)
    }

    fn spend(&self) -> Spend {
        Spend {
            nanos: self.cost_usd.map_or(0, crate::spec::nanos),
            tokens: self.tokens(),
        }
    }
}

/// Why a request may not start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key's requests in flight are at its `concurrency`.
    Concurrency { key: Arc<str>, limit: u32 },
    /// The key's `rpm` or `tpm`.
    Rate {
        key: Arc<str>,
        unit: RateUnit,
        limit: u64,
        retry_after: Duration,
    },
    /// A budget of the key, its user or its team is used up.
    Budget(Box<Exhausted>),
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Requests,
    Tokens,
}

/// A used-up budget: whose, which, how much, and when it frees up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub subject: Subject,
    /// The key's, user's or team's name.
    pub name: Arc<str>,
    pub budget: Budget,
    /// Spent in the window, in the budget's unit (nano-dollars or tokens).
    pub spent: u64,
    /// From now until enough spend has left the window for a request to start again.
    pub frees_in: Duration,
}

impl Refusal {
    /// How long the client should wait before trying again.
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Concurrency { .. } => Duration::from_secs(1),
            Self::Rate { retry_after, .. } => *retry_after,
            Self::Budget(e) => e.frees_in,
        }
    }
}

/// `1h 05m`, `12m 30s`, `45s`: a wait as a person reads it (rounded up to the second).
#[must_use]
pub fn human(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (days, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

impl Exhausted {
    /// What a client is told: whose budget, which, how much of it is spent, and when it frees
    /// up (`at`: that moment as a wall-clock time, when the caller knows it). Claude Code
    /// shows this text to the user as it is.
    #[must_use]
    pub fn message(&self, at: Option<&str>) -> String {
        let unit = self.budget.amount.unit();
        let whose = match self.subject {
            Subject::Key(_) => format!("this key ({})", self.name),
            Subject::User(_) => format!("user {}", self.name),
            Subject::Team(_) => format!("team {}", self.name),
        };
        let scope = match &self.budget.family {
            Some(f) => format!(" for {f} models"),
            None => String::new(),
        };
        let when = match at {
            Some(at) => format!("in {} (at {at})", human(self.frees_in)),
            None => format!("in {}", human(self.frees_in)),
        };
        format!(
            "Budget used up: {whose} has spent {} of its {} per {}{scope} ({}). It frees up {when}. Ask your Switchboard admin to raise it{}.",
            crate::Amount::show(unit, self.spent),
            crate::Amount::show(unit, self.budget.amount.raw()),
            self.budget.window.describe(),
            self.budget,
            if self.budget.family.is_some() {
                ", or use another model"
            } else {
                ""
            },
        )
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Concurrency { key, limit } => write!(
                f,
                "Too many requests at once: the key {key} may have {limit} in flight; retry when one has finished."
            ),
            Self::Rate {
                key,
                unit,
                limit,
                retry_after,
            } => {
                let what = match unit {
                    RateUnit::Requests => "requests",
                    RateUnit::Tokens => "tokens",
                };
                write!(
                    f,
                    "Rate limit: the key {key} may use {limit} {what} per minute; retry in {}.",
                    human(*retry_after)
                )
            }
            Self::Budget(e) => f.write_str(&e.message(None)),
        }
    }
}

/// A budget's state, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetState {
    pub budget: Budget,
    /// Spent in the window, in the budget's unit.
    pub spent: u64,
    pub remaining: u64,
    /// When a used-up budget frees up; `None` while there is some left.
    pub frees_in: Option<Duration>,
}

/// A key's, user's or team's meter, for reports and `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub subject: Subject,
    pub name: Arc<str>,
    /// Requests of a key in flight now (0 for users and teams).
    pub in_flight: u32,
    /// Requests, tokens and nano-dollars counted since the gateway started.
    pub requests: u64,
    pub tokens: u64,
    pub nanos: u64,
    pub budgets: Vec<BudgetState>,
}

/// The limit state. Its request-path half ([`LimitState::admit`], [`LimitState::complete`]) is
/// synchronous and local; see the module docs.
pub trait LimitState: Send + Sync + 'static {
    /// Puts a table of keys, users and teams in force. Meters of subjects still there are kept
    /// (with their windows and requests in flight); a budget over a window or model family not
    /// counted before starts empty, and its subject is returned so that its history can be
    /// read back from the log ([`LimitState::seed`]).
    fn install(&self, table: &Table, now: Instant) -> Installed;

    /// Charges history to the windows of `subject` over `window` that started empty: `(when,
    /// requested model, spend)` for the requests the log holds over that window, `when` mapped
    /// onto the Tokio clock (history lands in slices of the window: see [`crate::ring`]).
    fn seed(
        &self,
        subject: Subject,
        window: Window,
        history: &mut dyn Iterator<Item = (Instant, &str, Usage)>,
        now: Instant,
    );

    /// Whether a request for `model` on `key` may start now; the [`Admission`] it gets holds its
    /// place in flight until it is completed or dropped.
    ///
    /// # Errors
    /// The first limit that refuses it.
    fn admit(&self, key: &KeyHandle, model: &str, now: Instant) -> Result<Admission, Refusal>;

    /// Charges what a request spent to its key, user and team, and ends its place in flight.
    fn complete(&self, admission: Admission, model: &str, usage: &Usage, now: Instant);

    /// Every meter's state, keys first, then users and teams, by name.
    fn report(&self, now: Instant) -> Vec<Report>;
}

/// What [`LimitState::install`] gives back.
#[derive(Default)]
pub struct Installed {
    /// Each key's handle, for [`LimitState::admit`].
    pub keys: HashMap<KeyId, KeyHandle>,
    /// Subjects with windows to seed from the log.
    pub fresh: Vec<Subject>,
}

/// One key's meters: its own, its user's and its team's.
#[derive(Clone)]
pub struct KeyHandle {
    key: Arc<Meter>,
    user: Option<Arc<Meter>>,
    team: Option<Arc<Meter>>,
    /// Nothing to check: no rate, concurrency or budget on the key, its user or team.
    unlimited: bool,
}

impl std::fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyHandle")
            .field("key", &self.key.subject)
            .finish_non_exhaustive()
    }
}

/// A request's place: released when completed or dropped.
pub struct Admission {
    key: Arc<Meter>,
    user: Option<Arc<Meter>>,
    team: Option<Arc<Meter>>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("key", &self.key.subject)
            .finish_non_exhaustive()
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.key.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One subject's counters.
struct Meter {
    subject: Subject,
    in_flight: AtomicU32,
    requests: AtomicU64,
    tokens: AtomicU64,
    nanos: AtomicU64,
    inner: Mutex<MeterState>,
}

struct MeterState {
    name: Arc<str>,
    concurrency: Option<u32>,
    rpm: Option<u64>,
    tpm: Option<u64>,
    rpm_state: Gcra,
    tpm_state: Gcra,
    /// Each budget with the index of its window in `windows`.
    budgets: Vec<(Budget, usize)>,
    windows: Vec<Counted>,
}

/// A rolling window of one model family (or all).
struct Counted {
    window: Window,
    /// Lower-cased; `None`: every model.
    family: Option<String>,
    ring: Ring,
    /// Its history has been read back from the log (or there was none to read).
    seeded: bool,
}

impl Counted {
    fn counts(&self, model: &str) -> bool {
        self.family
            .as_deref()
            .is_none_or(|f| family_matches(f, model))
    }
}

impl MeterState {
    fn new(name: Arc<str>) -> Self {
        Self {
            name,
            concurrency: None,
            rpm: None,
            tpm: None,
            rpm_state: Gcra::default(),
            tpm_state: Gcra::default(),
            budgets: Vec::new(),
            windows: Vec::new(),
        }
    }

    /// Sets the budgets, keeping the windows that still count for one; returns whether a new
    /// window had to start.
    fn set_budgets(&mut self, budgets: &[Budget], now: Instant) -> bool {
        let mut windows: Vec<Counted> = Vec::new();
        let mut fresh = false;
        let mut assigned = Vec::with_capacity(budgets.len());
        for b in budgets {
            let family = b.family.as_ref().map(|f| f.to_ascii_lowercase());
            let at = windows
                .iter()
                .position(|w| w.window == b.window && w.family == family);
            let at = if let Some(i) = at {
                i
            } else {
                let kept = self
                    .windows
                    .iter()
                    .position(|w| w.window == b.window && w.family == family)
                    .map(|i| self.windows.swap_remove(i));
                let counted = kept.unwrap_or_else(|| {
                    fresh = true;
                    Counted {
                        window: b.window,
                        family,
                        ring: Ring::new(b.window.duration(), now),
                        seeded: false,
                    }
                });
                windows.push(counted);
                windows.len() - 1
            };
            assigned.push((b.clone(), at));
        }
        self.windows = windows;
        self.budgets = assigned;
        fresh
    }

    /// The first budget that counts `model` and is used up.
    fn exhausted(&mut self, subject: Subject, model: &str, now: Instant) -> Option<Exhausted> {
        for (budget, i) in &self.budgets {
            if !budget.applies_to(model) {
                continue;
            }
            let unit = budget.amount.unit();
            let limit = budget.amount.raw();
            let ring = &mut self.windows[*i].ring;
            let spent = ring.total(now).of(unit);
            if spent >= limit {
                let frees_at = ring.frees_at(unit, limit, now);
                return Some(Exhausted {
                    subject,
                    name: self.name.clone(),
                    budget: budget.clone(),
                    spent,
                    frees_in: frees_at.saturating_duration_since(now),
                });
            }
        }
        None
    }

    fn charge(&mut self, model: &str, spend: Spend, now: Instant) {
        for w in &mut self.windows {
            if w.counts(model) {
                w.ring.charge(spend, now);
            }
        }
    }

    fn budget_states(&mut self, now: Instant) -> Vec<BudgetState> {
        let mut out = Vec::with_capacity(self.budgets.len());
        for (budget, i) in &self.budgets {
            let unit: Unit = budget.amount.unit();
            let limit = budget.amount.raw();
            let ring = &mut self.windows[*i].ring;
            let spent = ring.total(now).of(unit);
            let frees_in = (spent >= limit).then(|| {
                ring.frees_at(unit, limit, now)
                    .saturating_duration_since(now)
            });
            out.push(BudgetState {
                budget: budget.clone(),
                spent,
                remaining: limit.saturating_sub(spent),
                frees_in,
            });
        }
        out
    }
}

impl Meter {
    fn new(subject: Subject, name: Arc<str>) -> Self {
        Self {
            subject,
            in_flight: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            inner: Mutex::new(MeterState::new(name)),
        }
    }

    fn count(&self, spend: Spend) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(spend.tokens, Ordering::Relaxed);
        self.nanos.fetch_add(spend.nanos, Ordering::Relaxed);
    }
}

/// The limit state of one gateway process.
#[derive(Default)]
pub struct InProcess {
    meters: Mutex<HashMap<Subject, Arc<Meter>>>,
}

impl InProcess {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The meter of `subject`, made if new, named `name`.
    fn meter(
        all: &mut HashMap<Subject, Arc<Meter>>,
        kept: &mut HashMap<Subject, Arc<Meter>>,
        subject: Subject,
        name: &str,
    ) -> Arc<Meter> {
        let m = all
            .remove(&subject)
            .or_else(|| kept.get(&subject).cloned())
            .unwrap_or_else(|| Arc::new(Meter::new(subject, Arc::from(name))));
        {
            let mut s = m.inner.lock();
            if &*s.name != name {
                s.name = Arc::from(name);
            }
        }
        kept.insert(subject, m.clone());
        m
    }
}

impl LimitState for InProcess {
    fn install(&self, table: &Table, now: Instant) -> Installed {
        let mut all = self.meters.lock();
        let mut previous = std::mem::take(&mut *all);
        let mut kept: HashMap<Subject, Arc<Meter>> = HashMap::new();
        let mut fresh = Vec::new();
        let mut owners: HashMap<Subject, (Arc<Meter>, bool)> = HashMap::new();
        for o in &table.owners {
            let m = Self::meter(&mut previous, &mut kept, o.subject, &o.name);
            let mut s = m.inner.lock();
            if s.set_budgets(&o.budgets, now) {
                fresh.push(o.subject);
            }
            let limited = !s.budgets.is_empty();
            drop(s);
            owners.insert(o.subject, (m, limited));
        }
        let mut keys = HashMap::with_capacity(table.keys.len());
        for k in &table.keys {
            let subject = Subject::Key(k.id);
            let m = Self::meter(&mut previous, &mut kept, subject, &k.name);
            let mut s = m.inner.lock();
            let l = &k.limits;
            s.concurrency = l.concurrency;
            s.rpm = l.rpm.map(u64::from);
            s.tpm = l.tpm;
            if s.set_budgets(&l.budgets, now) {
                fresh.push(subject);
            }
            let mut unlimited = s.budgets.is_empty()
                && s.concurrency.is_none()
                && s.rpm.is_none()
                && s.tpm.is_none();
            drop(s);
            let mut owner = |s: Option<Subject>| {
                s.and_then(|s| owners.get(&s)).map(|(m, limited)| {
                    if *limited {
                        unlimited = false;
                    }
                    m.clone()
                })
            };
            let user = owner(k.user.map(Subject::User));
            let team = owner(k.team.map(Subject::Team));
            keys.insert(
                k.id,
                KeyHandle {
                    key: m,
                    user,
                    team,
                    unlimited,
                },
            );
        }
        *all = kept;
        fresh.sort();
        fresh.dedup();
        Installed { keys, fresh }
    }

    fn seed(
        &self,
        subject: Subject,
        window: Window,
        history: &mut dyn Iterator<Item = (Instant, &str, Usage)>,
        now: Instant,
    ) {
        let Some(m) = self.meters.lock().get(&subject).cloned() else {
            return;
        };
        let mut s = m.inner.lock();
        let fresh: Vec<usize> = (0..s.windows.len())
            .filter(|i| !s.windows[*i].seeded && s.windows[*i].window == window)
            .collect();
        for (at, model, usage) in history {
            let spend = usage.spend();
            for &i in &fresh {
                let w = &mut s.windows[i];
                if w.counts(model) {
                    w.ring.charge_at(spend, at, now);
                }
            }
        }
        for i in fresh {
            s.windows[i].seeded = true;
        }
    }

    fn admit(&self, key: &KeyHandle, model: &str, now: Instant) -> Result<Admission, Refusal> {
        let meter = &key.key;
        let admission = Admission {
            key: meter.clone(),
            user: key.user.clone(),
            team: key.team.clone(),
        };
        let in_flight = meter.in_flight.fetch_add(1, Ordering::Relaxed);
        if key.unlimited {
            return Ok(admission);
        }
        // From here, a refusal drops `admission`, which gives its place back.
        {
            let mut s = meter.inner.lock();
            if let Some(limit) = s.concurrency
                && in_flight >= limit
            {
                return Err(Refusal::Concurrency {
                    key: s.name.clone(),
                    limit,
                });
            }
            if let Some(limit) = s.tpm
                && let Err(retry_after) = s.tpm_state.check(limit, now)
            {
                return Err(Refusal::Rate {
                    key: s.name.clone(),
                    unit: RateUnit::Tokens,
                    limit,
                    retry_after,
                });
            }
            if let Some(e) = s.exhausted(meter.subject, model, now) {
                return Err(Refusal::Budget(Box::new(e)));
            }
        }
        for owner in [&key.user, &key.team].into_iter().flatten() {
            let mut s = owner.inner.lock();
            if let Some(e) = s.exhausted(owner.subject, model, now) {
                return Err(Refusal::Budget(Box::new(e)));
            }
        }
        // Last, so that a request refused by another limit does not use up one of its rate.
        let mut s = meter.inner.lock();
        if let Some(limit) = s.rpm {
            if let Err(retry_after) = s.rpm_state.check(limit, now) {
                return Err(Refusal::Rate {
                    key: s.name.clone(),
                    unit: RateUnit::Requests,
                    limit,
                    retry_after,
                });
            }
            s.rpm_state.charge(limit, 1, now);
        }
        Ok(admission)
    }

    fn complete(&self, admission: Admission, model: &str, usage: &Usage, now: Instant) {
        let spend = usage.spend();
        {
            let meter = &admission.key;
            meter.count(spend);
            let mut s = meter.inner.lock();
            if let Some(limit) = s.tpm {
                s.tpm_state.charge(limit, spend.tokens, now);
            }
            s.charge(model, spend, now);
        }
        for owner in [&admission.user, &admission.team].into_iter().flatten() {
            owner.count(spend);
            owner.inner.lock().charge(model, spend, now);
        }
        drop(admission);
    }

    fn report(&self, now: Instant) -> Vec<Report> {
        let meters: Vec<Arc<Meter>> = self.meters.lock().values().cloned().collect();
        let mut out: Vec<Report> = meters
            .iter()
            .map(|m| {
                let mut s = m.inner.lock();
                Report {
                    subject: m.subject,
                    name: s.name.clone(),
                    in_flight: m.in_flight.load(Ordering::Relaxed),
                    requests: m.requests.load(Ordering::Relaxed),
                    tokens: m.tokens.load(Ordering::Relaxed),
                    nanos: m.nanos.load(Ordering::Relaxed),
                    budgets: s.budget_states(now),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let rank = |s: Subject| match s {
                Subject::Key(_) => 0,
                Subject::User(_) => 1,
                Subject::Team(_) => 2,
            };
            (rank(a.subject), &a.name).cmp(&(rank(b.subject), &b.name))
        });
        out
    }
}
