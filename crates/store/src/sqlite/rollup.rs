//! Aggregates from the hourly `request_rollups` table (migration 0002) plus the raw rows of the
//! partial hours at the edges of the range.
//!
//! Invariant: for any query without a free-text search, the sum over the whole hours of the
//! range from `request_rollups` plus the sum over the edges from `requests` equals the sum over
//! the range from `requests` (the parts don't overlap, and rollups are kept exact: new rows are
//! added by [`add_new_rows`] in the transaction that inserts them; replaced and deleted rows move
//! through the triggers of migration 0002, which see the old row).

use std::collections::BTreeMap;

use sqlx::{QueryBuilder, Row, Sqlite};
use switchboard_core::Outcome;

use super::{AGGREGATES, Range, push_filters, totals_from_row};
use crate::query::{BreakdownBy, Query, Totals, from_db, to_db};
use crate::{LogRecord, SqliteStore, StoreError};

const HOUR: i64 = 3_600_000_000;

/// Adds one group's sums to its rollup row (the same arithmetic as migration 0002's triggers).
const ADD_GROUP: &str = "INSERT INTO request_rollups VALUES \
     (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (hour, requested_model, routed_model, endpoint, client_key, status, outcome, stream) \
     DO UPDATE SET requests = requests + excluded.requests, ok = ok + excluded.ok, \
     input_tokens = input_tokens + excluded.input_tokens, \
     output_tokens = output_tokens + excluded.output_tokens, \
     cache_creation_input_tokens = cache_creation_input_tokens + excluded.cache_creation_input_tokens, \
     cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens, \
     cost_usd = cost_usd + excluded.cost_usd, \
     unknown_cost_requests = unknown_cost_requests + excluded.unknown_cost_requests, \
     ttfb_requests = ttfb_requests + excluded.ttfb_requests";

/// A rollup row's key: hour, requested model, routed model, endpoint, client key ('' for
/// NULL), status, outcome, stream.
type RollupKey<'a> = (i64, &'a str, &'a str, &'a str, &'a str, u16, &'a str, bool);

/// The sums of one rollup row, in column order after `requests`.
#[derive(Default)]
struct RollupSums {
    requests: i64,
    ok: i64,
    input_tokens: i64,
    output_tokens: i64,
    cache_creation_input_tokens: i64,
    cache_read_input_tokens: i64,
    cost_usd: f64,
    unknown_cost_requests: i64,
    ttfb_requests: i64,
}

/// Adds `records`, rows just inserted into `requests` (not replacements), to the hourly rollups:
/// one upsert per group, where a trigger cost one per row. Runs in the inserting transaction, on
/// the writer connection ([`super::write`]).
pub(super) fn add_new_rows(
    conn: &rusqlite::Connection,
    records: &[&LogRecord],
) -> rusqlite::Result<()> {
    let mut groups: BTreeMap<RollupKey<'_>, RollupSums> = BTreeMap::new();
    for r in records {
        let started = r.started_at.timestamp_micros();
        let key = (
            started.div_euclid(HOUR) * HOUR,
            r.requested_model.as_deref().unwrap_or(""),
            r.routed_model.as_deref().unwrap_or(""),
            r.endpoint.as_deref().unwrap_or(""),
            r.client_key.as_deref().unwrap_or(""),
            r.status,
            r.outcome.as_str(),
            r.stream,
        );
        let g = groups.entry(key).or_default();
        g.requests += 1;
        g.ok += i64::from(r.outcome == Outcome::Ok);
        g.input_tokens = g.input_tokens.saturating_add(to_db(r.input_tokens));
        g.output_tokens = g.output_tokens.saturating_add(to_db(r.output_tokens));
        g.cache_creation_input_tokens = g
            .cache_creation_input_tokens
            .saturating_add(to_db(r.cache_creation_input_tokens));
        g.cache_read_input_tokens = g
            .cache_read_input_tokens
            .saturating_add(to_db(r.cache_read_input_tokens));
        g.cost_usd += r.cost_usd.unwrap_or(0.0);
        g.unknown_cost_requests += i64::from(r.cost_usd.is_none());
        g.ttfb_requests += i64::from(r.ttfb_ms.is_some());
    }
    if groups.is_empty() {
        return Ok(());
    }
    let mut statement = conn.prepare_cached(ADD_GROUP)?;
    for ((hour, requested, routed, endpoint, key, status, outcome, stream), g) in groups {
        statement.execute(rusqlite::params![
            hour,
            requested,
            routed,
            endpoint,
            key,
            i64::from(status),
            outcome,
            stream,
            g.requests,
            g.ok,
            g.input_tokens,
            g.output_tokens,
            g.cache_creation_input_tokens,
            g.cache_read_input_tokens,
            g.cost_usd,
            g.unknown_cost_requests,
            g.ttfb_requests,
        ])?;
    }
    Ok(())
}

/// The sums of [`AGGREGATES`] for rollup rows, in the same column order, plus the ttfb count.
const ROLLUP_AGGREGATES: &str = "COALESCE(SUM(requests), 0), COALESCE(SUM(ok), 0), \
     COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), \
     COALESCE(SUM(cache_creation_input_tokens), 0), COALESCE(SUM(cache_read_input_tokens), 0), \
     TOTAL(cost_usd), COALESCE(SUM(unknown_cost_requests), 0), COALESCE(SUM(ttfb_requests), 0)";

/// What to group the aggregate by.
#[derive(Debug, Clone, Copy)]
pub(super) enum Group {
    All,
    Bucket(i64),
    Key(BreakdownBy),
    /// A bucket and a key: two columns.
    BucketKey(i64, BreakdownBy),
}

/// A group's key: `Unit` for [`Group::All`], the bucket start, or the breakdown key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum GroupKey {
    Unit,
    Time(i64),
    Text(Option<String>),
    TimeText(i64, Option<String>),
}

fn raw_key(by: BreakdownBy) -> &'static str {
    match by {
        BreakdownBy::Model => "COALESCE(routed_model, requested_model)",
        BreakdownBy::Endpoint => "endpoint",
        BreakdownBy::ClientKey => "client_key",
        BreakdownBy::ClientUser => "client_user",
        BreakdownBy::ClientTeam => "client_team",
        BreakdownBy::Session => "session_id",
    }
}

fn rollup_key(by: BreakdownBy) -> &'static str {
    match by {
        BreakdownBy::Model => "COALESCE(NULLIF(routed_model, ''), NULLIF(requested_model, ''))",
        BreakdownBy::Endpoint => "NULLIF(endpoint, '')",
        BreakdownBy::ClientKey => "NULLIF(client_key, '')",
        // Not in the rollups: `Group::in_rollups` sends these groups to the raw rows.
        BreakdownBy::ClientUser | BreakdownBy::ClientTeam | BreakdownBy::Session => "NULL",
    }
}

impl Group {
    fn raw_expr(self) -> String {
        match self {
            Self::All => "0".to_owned(),
            Self::Bucket(w) => format!("(started_at / {w}) * {w}"),
            Self::Key(by) => raw_key(by).to_owned(),
            Self::BucketKey(w, by) => format!("(started_at / {w}) * {w}, {}", raw_key(by)),
        }
    }

    fn rollup_expr(self) -> String {
        match self {
            Self::All => "0".to_owned(),
            Self::Bucket(w) => format!("(hour / {w}) * {w}"),
            Self::Key(by) => rollup_key(by).to_owned(),
            Self::BucketKey(w, by) => format!("(hour / {w}) * {w}, {}", rollup_key(by)),
        }
    }

    /// Whether the rollups have the group's key (they have no user or team).
    fn in_rollups(self) -> bool {
        match self {
            Self::Key(by) | Self::BucketKey(_, by) => !matches!(
                by,
                BreakdownBy::ClientUser | BreakdownBy::ClientTeam | BreakdownBy::Session
            ),
            Self::All | Self::Bucket(_) => true,
        }
    }

    /// How many columns the group's key takes (the aggregates follow them).
    fn width(self) -> usize {
        match self {
            Self::BucketKey(..) => 2,
            _ => 1,
        }
    }

    /// Whether hourly rollups can answer the group: a bucket narrower than an hour (or not a
    /// whole number of hours) needs the raw rows.
    fn whole_hours(self) -> bool {
        match self {
            Self::Bucket(w) | Self::BucketKey(w, _) => w % HOUR == 0,
            Self::All | Self::Key(_) => true,
        }
    }

    fn group_by(self) -> &'static str {
        match self {
            Self::BucketKey(..) => " GROUP BY 1, 2",
            _ => " GROUP BY 1",
        }
    }

    fn key(self, row: &sqlx::sqlite::SqliteRow) -> Result<GroupKey, sqlx::Error> {
        Ok(match self {
            Self::All => GroupKey::Unit,
            Self::Bucket(_) => GroupKey::Time(row.try_get(0)?),
            Self::Key(_) => GroupKey::Text(row.try_get(0)?),
            Self::BucketKey(..) => GroupKey::TimeText(row.try_get(0)?, row.try_get(1)?),
        })
    }
}

/// Totals and the number of requests with a ttfb, per group.
pub(super) type Groups = BTreeMap<GroupKey, (Totals, u64)>;

/// `[from, to)` in microseconds split into whole hours (read from rollups) and the raw edges.
#[derive(Debug, PartialEq)]
struct Split {
    hours: Option<Range>,
    raw: Vec<Range>,
}

fn split(range: Range) -> Split {
    let (from, to) = range;
    let first_hour = from.map(|f| f.div_euclid(HOUR) * HOUR + if f % HOUR == 0 { 0 } else { HOUR });
    let end_hour = to.map(|t| t.div_euclid(HOUR) * HOUR);
    if let (Some(a), Some(b)) = (first_hour, end_hour)
        && a >= b
    {
        return Split {
            hours: None,
            raw: vec![range],
        };
    }
    let mut raw = Vec::new();
    if let (Some(f), Some(a)) = (from, first_hour)
        && f < a
    {
        raw.push((Some(f), Some(a)));
    }
    if let (Some(b), Some(t)) = (end_hour, to)
        && b < t
    {
        raw.push((Some(b), Some(t)));
    }
    Split {
        hours: Some((first_hour, end_hour)),
        raw,
    }
}

/// Rollups can answer `query` unless it searches text or filters on a user or team (neither in
/// the rollups) or filters on an empty string (the rollups' stand-in for NULL).
fn rollups_apply(query: &Query) -> bool {
    query.like_pattern().is_none()
        && query.client_user.is_none()
        && query.client_team.is_none()
        && query.session.is_none()
        && [&query.model, &query.endpoint, &query.client_key]
            .iter()
            .all(|v| v.as_deref() != Some(""))
}

fn add(into: &mut (Totals, u64), t: &Totals, ttfb: u64) {
    let (acc, acc_ttfb) = into;
    acc.add(t);
    *acc_ttfb += ttfb;
}

impl SqliteStore {
    /// Totals per group over the requests matching `query`.
    pub(super) async fn aggregate(
        &self,
        query: &Query,
        group: Group,
    ) -> Result<Groups, StoreError> {
        let range = (
            query.from.map(|t| t.timestamp_micros()),
            query.to.map(|t| t.timestamp_micros()),
        );
        let parts = if rollups_apply(query) && group.whole_hours() && group.in_rollups() {
            split(range)
        } else {
            Split {
                hours: None,
                raw: vec![range],
            }
        };
        let mut groups = Groups::new();
        for raw in parts.raw {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {} AS g, {AGGREGATES}, COUNT(ttfb_ms) FROM requests",
                group.raw_expr()
            ));
            push_filters(&mut qb, query, raw);
            qb.push(group.group_by());
            self.merge(&mut qb, group, &mut groups).await?;
        }
        if let Some((first_hour, end_hour)) = parts.hours {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {} AS g, {ROLLUP_AGGREGATES} FROM request_rollups WHERE 1 = 1",
                group.rollup_expr()
            ));
            if let Some(a) = first_hour {
                qb.push(" AND hour >= ").push_bind(a);
            }
            if let Some(b) = end_hour {
                qb.push(" AND hour < ").push_bind(b);
            }
            push_rollup_filters(&mut qb, query);
            qb.push(group.group_by());
            self.merge(&mut qb, group, &mut groups).await?;
        }
        groups.retain(|_, (t, _)| t.requests > 0);
        Ok(groups)
    }

    async fn merge(
        &self,
        qb: &mut QueryBuilder<'_, Sqlite>,
        group: Group,
        groups: &mut Groups,
    ) -> Result<(), StoreError> {
        let first = group.width();
        for row in qb.build().fetch_all(&self.pool).await? {
            let totals = totals_from_row(&row, first)?;
            let ttfb = from_db(row.try_get(first + 8)?);
            add(groups.entry(group.key(&row)?).or_default(), &totals, ttfb);
        }
        Ok(())
    }
}

/// The filters of `query` other than time and search, on `request_rollups` columns.
fn push_rollup_filters<'a>(qb: &mut QueryBuilder<'a, Sqlite>, query: &'a Query) {
    if let Some(class) = query.status_class {
        let (lo, hi) = class.range();
        qb.push(" AND status >= ")
            .push_bind(lo)
            .push(" AND status < ")
            .push_bind(hi);
    }
    if let Some(outcome) = &query.outcome {
        qb.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(model) = &query.model {
        qb.push(" AND (requested_model = ")
            .push_bind(model.as_str())
            .push(" OR routed_model = ")
            .push_bind(model.as_str())
            .push(")");
    }
    if let Some(endpoint) = &query.endpoint {
        qb.push(" AND endpoint = ").push_bind(endpoint.as_str());
    }
    if let Some(key) = &query.client_key {
        qb.push(" AND client_key = ").push_bind(key.as_str());
    }
    if let Some(stream) = query.stream {
        qb.push(" AND stream = ").push_bind(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ranges_into_whole_hours_and_edges() {
        let h = HOUR;
        assert_eq!(
            split((None, None)),
            Split {
                hours: Some((None, None)),
                raw: vec![]
            }
        );
        assert_eq!(
            split((Some(h + 5), Some(4 * h + 7))),
            Split {
                hours: Some((Some(2 * h), Some(4 * h))),
                raw: vec![(Some(h + 5), Some(2 * h)), (Some(4 * h), Some(4 * h + 7))],
            }
        );
        assert_eq!(
            split((Some(h), Some(3 * h))),
            Split {
                hours: Some((Some(h), Some(3 * h))),
                raw: vec![]
            }
        );
        assert_eq!(
            split((Some(h + 5), Some(h + 9))),
            Split {
                hours: None,
                raw: vec![(Some(h + 5), Some(h + 9))]
            }
        );
        assert_eq!(
            split((None, Some(2 * h + 1))),
            Split {
                hours: Some((None, Some(2 * h))),
                raw: vec![(Some(2 * h), Some(2 * h + 1))]
            }
        );
    }
}
