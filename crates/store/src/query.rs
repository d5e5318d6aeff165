//! What the admin API asks of the log ([`Query`]) and what it gets back ([`Page`], [`Stats`],
//! [`TimeBucket`], [`BreakdownRow`]). Shared by both backends so they answer alike.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::Outcome;
use uuid::Uuid;

use crate::{LogRecord, StoreError};

/// Page size when [`Query::limit`] is unset.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page [`Store::list`](crate::Store::list) returns, whatever the query asks.
pub const MAX_LIMIT: u32 = 1000;

/// A filter over the request log. Every field narrows the set; `Default` is "everything".
///
/// `list` uses every field; `stats`, `timeseries` and `breakdown` ignore `limit` and `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Requests started at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Requests started strictly before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Final status sent to the client, by class.
    pub status_class: Option<StatusClass>,
    /// Exact [`LogRecord::outcome`].
    pub outcome: Option<Outcome>,
    /// Matches the requested model OR the routed model.
    pub model: Option<String>,
    pub endpoint: Option<String>,
    pub client_key: Option<String>,
    /// The client key's user (see [`LogRecord::client_user`]).
    pub client_user: Option<String>,
    /// The client key's team.
    pub client_team: Option<String>,
    /// A Claude Code session: [`LogRecord::session_id`] (`x-claude-code-session-id`).
    pub session: Option<String>,
    pub stream: Option<bool>,
    /// Case-insensitive substring of [`LogRecord::error`] (ASCII case folding on SQLite) or of
    /// the prompt text of an audited request (the last user turn; see [`crate::prompt`]).
    pub search: Option<String>,
    /// Page size for `list`; [`DEFAULT_LIMIT`] when unset, capped at [`MAX_LIMIT`].
    pub limit: Option<u32>,
    /// [`Page::next_cursor`] of the previous page.
    pub cursor: Option<String>,
}

impl Query {
    pub(crate) fn page_size(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The decoded cursor, if any.
    pub(crate) fn keyset(&self) -> Result<Option<Cursor>, StoreError> {
        self.cursor.as_deref().map(str::parse).transpose()
    }

    /// [`Query::search`] as an FTS5 phrase for the trigram index, when it is long enough to
    /// contain a trigram (shorter searches scan instead).
    pub(crate) fn fts_phrase(&self) -> Option<String> {
        self.search
            .as_deref()
            .filter(|s| s.chars().count() >= 3)
            .map(|s| format!("\"{}\"", s.replace('"', "\"\"")))
    }

    /// The `LIKE` pattern for [`Query::search`], with `\` as the escape character.
    pub(crate) fn like_pattern(&self) -> Option<String> {
        self.search.as_deref().filter(|s| !s.is_empty()).map(|s| {
            let mut pattern = String::with_capacity(s.len() + 2);
            pattern.push('%');
            for c in s.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            pattern
        })
    }
}

/// HTTP status class of the response sent to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusClass {
    #[serde(rename = "2xx")]
    Success,
    #[serde(rename = "4xx")]
    ClientError,
    #[serde(rename = "5xx")]
    ServerError,
}

impl StatusClass {
    /// Inclusive lower and exclusive upper status bound.
    pub(crate) fn range(self) -> (i32, i32) {
        match self {
            Self::Success => (200, 300),
            Self::ClientError => (400, 500),
            Self::ServerError => (500, 600),
        }
    }
}

impl FromStr for StatusClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2xx" => Ok(Self::Success),
            "4xx" => Ok(Self::ClientError),
            "5xx" => Ok(Self::ServerError),
            other => Err(format!(
                "unknown status class {other:?}: expected 2xx, 4xx or 5xx"
            )),
        }
    }
}

/// One page of [`Store::list`](crate::Store::list), newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Records with their attempts, ordered by `(started_at, id)` descending.
    pub records: Vec<LogRecord>,
    /// Pass as [`Query::cursor`] for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Sums over a set of requests. Used for the whole set ([`Stats`]), per time bucket and per group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    /// Requests whose outcome is `ok`.
    pub ok: u64,
    /// Every request that is not `ok` (`requests - ok`).
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// Sum over requests with a known cost.
    pub cost_usd: f64,
    /// Requests whose cost is unknown (`cost_usd` is `None`), not included in `cost_usd`.
    pub unknown_cost_requests: u64,
}

impl Totals {
    /// Adds `t`'s sums to these (the two sets are disjoint).
    pub fn add(&mut self, t: &Totals) {
        self.requests += t.requests;
        self.ok += t.ok;
        self.input_tokens += t.input_tokens;
        self.output_tokens += t.output_tokens;
        self.cache_creation_input_tokens += t.cache_creation_input_tokens;
        self.cache_read_input_tokens += t.cache_read_input_tokens;
        self.cost_usd += t.cost_usd;
        self.unknown_cost_requests += t.unknown_cost_requests;
        self.errors = self.requests.saturating_sub(self.ok);
    }

    /// `ok / requests`; `None` for an empty set.
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "a ratio; 2^52 requests is not a concern"
    )]
    pub fn success_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.ok as f64 / self.requests as f64)
    }

    /// `cache_read / (input + cache_read + cache_creation)`: the share of prompt tokens served
    /// from the provider's cache. `None` when there were no prompt tokens.
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "a ratio; 2^52 tokens is not a concern"
    )]
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let prompt = self
            .input_tokens
            .saturating_add(self.cache_read_input_tokens)
            .saturating_add(self.cache_creation_input_tokens);
        (prompt > 0).then(|| self.cache_read_input_tokens as f64 / prompt as f64)
    }
}

/// Nearest-rank percentiles (the value at rank `ceil(p * n)`, an observed value, as Postgres'
/// `percentile_disc`), `None` over an empty set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
}

/// The fractions behind [`Percentiles`], in field order.
pub(crate) const PERCENTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// 0-based row offset of the nearest-rank percentile `p` in `n` sorted rows (`n > 0`), computed
/// exactly as Postgres' `percentile_disc` does, so both backends pick the same row.
#[must_use]
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "row counts are far below 2^52 and the product is in [0, n]"
)]
pub(crate) fn percentile_offset(p: f64, n: u64) -> u64 {
    let rank = (p * n as f64).ceil() as u64;
    rank.clamp(1, n) - 1
}

impl Percentiles {
    pub(crate) fn from_array(values: [Option<u64>; 3]) -> Self {
        let [p50, p95, p99] = values;
        Self { p50, p95, p99 }
    }
}

/// Aggregate view of the requests matching a [`Query`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    #[serde(flatten)]
    pub totals: Totals,
    /// [`Totals::success_rate`], precomputed for the API.
    pub success_rate: Option<f64>,
    pub latency_ms: Percentiles,
    /// Over the requests that have a time to first byte.
    pub ttfb_ms: Percentiles,
}

/// Width of a [`TimeBucket`]; buckets are aligned to UTC quarter hours, hours or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// 15 minutes: the slots the control plane regroups into local hours and days of a time
    /// zone whose offset is not a whole number of hours (India, Nepal, Chatham…). Read from the
    /// raw rows (the rollups are hourly).
    QuarterHour,
    Hour,
    Day,
}

impl Bucket {
    #[must_use]
    pub fn micros(self) -> i64 {
        match self {
            Self::QuarterHour => 900_000_000,
            Self::Hour => 3_600_000_000,
            Self::Day => 86_400_000_000,
        }
    }
}

/// Totals for the requests of one key (see [`BreakdownBy`]) started in `[start, start +
/// bucket)`; only non-empty ones are returned, oldest first, then by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyedBucket {
    pub start: DateTime<Utc>,
    pub key: Option<String>,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The failovers among the requests matching a query: which endpoint gave way to which, why,
/// and what the router did then ([`crate::Store::failovers`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Failovers {
    /// Requests that moved from one endpoint to another at least once.
    pub requests_with_failover: u64,
    /// Most frequent first.
    pub transitions: Vec<Transition>,
    /// The scan stopped at its limit: the figures cover the newest requests only, back to
    /// [`Failovers::covered_from`].
    pub truncated: bool,
    /// When truncated: the start of the oldest request counted.
    pub covered_from: Option<DateTime<Utc>>,
}

/// One kind of move from an endpoint to the next, and how often it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    /// Why `from` failed: its attempt's error class (`429 rate_limit_error`, `timeout`,
    /// `cooling_down`, …), else its status, else its disposition.
    pub reason: String,
    /// What the router decided after `from`'s attempt (`cooldown`, `next`, `skipped`, …).
    pub disposition: String,
    pub count: u64,
}

/// One attempt of a recent request, for an endpoint's recent error rate and latency
/// ([`crate::Store::recent_attempts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentAttempt {
    pub endpoint: String,
    pub disposition: switchboard_core::AttemptDisposition,
    /// The whole request's latency (from the client's point of view).
    pub request_latency_ms: u64,
}

/// Folds attempts (in request and sequence order) into the transitions of [`Failovers`].
pub(crate) fn fold_failovers(rows: &[FailoverRow]) -> Vec<Transition> {
    let mut counts: std::collections::BTreeMap<(String, String, String, String), u64> =
        std::collections::BTreeMap::new();
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.request != b.request || a.endpoint == b.endpoint {
            continue;
        }
        let reason = a
            .error_class
            .clone()
            .or_else(|| a.status.map(|s| s.to_string()))
            .unwrap_or_else(|| a.disposition.clone());
        *counts
            .entry((
                a.endpoint.clone(),
                b.endpoint.clone(),
                reason,
                a.disposition.clone(),
            ))
            .or_default() += 1;
    }
    let mut out: Vec<Transition> = counts
        .into_iter()
        .map(|((from, to, reason, disposition), count)| Transition {
            from,
            to,
            reason,
            disposition,
            count,
        })
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.count));
    out
}

/// An attempt of a request that failed over, as both backends read it.
#[derive(Debug, Clone)]
pub(crate) struct FailoverRow {
    pub(crate) request: Uuid,
    pub(crate) endpoint: String,
    pub(crate) status: Option<u16>,
    pub(crate) error_class: Option<String>,
    pub(crate) disposition: String,
}

/// How many of the newest failed-over requests the failover figures read at most.
pub const FAILOVER_SCAN_LIMIT: u32 = 20_000;

/// Totals for the requests started in `[start, start + bucket)`. Only non-empty buckets are
/// returned, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeBucket {
    pub start: DateTime<Utc>,
    #[serde(flatten)]
    pub totals: Totals,
}

/// What [`Store::breakdown`](crate::Store::breakdown) groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakdownBy {
    /// The routed model, or the requested model when the request was never routed.
    Model,
    Endpoint,
    ClientKey,
    /// The client key's user.
    ClientUser,
    /// The client key's team.
    ClientTeam,
    /// The Claude Code session ([`LogRecord::session_id`]): requests without one are left out,
    /// and each row has its first and last request's start ([`BreakdownRow::first_seen`]).
    Session,
}

/// Totals for one group; `key` is `None` for requests without a value (e.g. no client key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub key: Option<String>,
    #[serde(flatten)]
    pub totals: Totals,
    /// [`Totals::cache_hit_ratio`], precomputed for the API.
    pub cache_hit_ratio: Option<f64>,
    /// When the group's first request started ([`BreakdownBy::Session`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// When the group's last request started ([`BreakdownBy::Session`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

impl BreakdownRow {
    pub(crate) fn new(key: Option<String>, totals: Totals) -> Self {
        let cache_hit_ratio = totals.cache_hit_ratio();
        Self {
            key,
            totals,
            cache_hit_ratio,
            first_seen: None,
            last_seen: None,
        }
    }
}

/// Sorts groups by request count, largest first, then by key (`None` last) so that both backends
/// return the same order.
pub(crate) fn sort_breakdown(rows: &mut [BreakdownRow]) {
    rows.sort_by(|a, b| {
        b.totals
            .requests
            .cmp(&a.totals.requests)
            .then_with(|| match (&a.key, &b.key) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
    });
}

/// Sorts sessions by their last request, most recent first, then by key.
pub(crate) fn sort_sessions(rows: &mut [BreakdownRow]) {
    rows.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// Position in the `(started_at, id)` descending order: the last row of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) started_at_micros: i64,
    pub(crate) id: Uuid,
}

impl Cursor {
    pub(crate) fn after(record: &LogRecord) -> Self {
        Self {
            started_at_micros: record.started_at.timestamp_micros(),
            id: record.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.started_at_micros, self.id.simple())
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || StoreError::InvalidCursor(s.to_owned());
        let (micros, id) = s.split_once('_').ok_or_else(invalid)?;
        Ok(Self {
            started_at_micros: micros.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// Builds the page from `limit + 1` fetched rows: the extra row only says there is a next page.
pub(crate) fn into_page(mut records: Vec<LogRecord>, limit: u32) -> Page {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if records.len() > limit {
        records.truncate(limit);
        records.last().map(|r| Cursor::after(r).to_string())
    } else {
        None
    };
    Page {
        records,
        next_cursor,
    }
}

/// Keeps the last record for each id, in order of last occurrence: a batch may hold both the
/// "started" and the "completed" version of one request, and the later one wins.
pub(crate) fn dedup_last(records: &[LogRecord]) -> Vec<&LogRecord> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    let mut out: Vec<&LogRecord> = records.iter().rev().filter(|r| seen.insert(r.id)).collect();
    out.reverse();
    out
}

/// Stores `u64` counters in signed database columns, saturating at `i64::MAX`.
pub(crate) fn to_db(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Reads a signed database column back into a `u64` counter; negatives (never written) read as 0.
pub(crate) fn from_db(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Reads a status column back; out-of-range values (never written) read as 0.
pub(crate) fn status_from_db(v: i64) -> u16 {
    u16::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = Cursor {
            started_at_micros: 1_700_000_000_123_456,
            id: Uuid::now_v7(),
        };
        assert_eq!(c.to_string().parse::<Cursor>().expect("valid cursor"), c);
        assert!("nope".parse::<Cursor>().is_err());
        assert!("12_nope".parse::<Cursor>().is_err());
    }

    #[test]
    fn percentile_offsets_match_nearest_rank() {
        assert_eq!(percentile_offset(0.5, 1), 0);
        assert_eq!(percentile_offset(0.5, 10), 4);
        assert_eq!(percentile_offset(0.95, 10), 9);
        assert_eq!(percentile_offset(0.99, 100), 98);
        assert_eq!(percentile_offset(0.95, 20), 18);
    }

    #[test]
    fn search_escapes_like_wildcards() {
        let q = Query {
            search: Some("50%_a\\b".into()),
            ..Query::default()
        };
        assert_eq!(q.like_pattern().as_deref(), Some("%50\\%\\_a\\\\b%"));
    }
}
