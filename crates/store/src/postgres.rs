//! PostgreSQL backend, for deployments that already run one or keep logs for long.
//!
//! Stats read totals and both sets of percentiles (`percentile_disc`, the same nearest-rank
//! definition as the SQLite backend) in one scan.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::query::{
    BreakdownBy, BreakdownRow, Bucket, Cursor, FailoverRow, Failovers, KeyedBucket, Page,
    Percentiles, Query, RecentAttempt, Stats, TimeBucket, Totals, dedup_last, fold_failovers,
    from_db, into_page, sort_breakdown, sort_sessions, status_from_db, to_db,
};
use crate::{AttemptRecord, LogRecord, Store, StoreError, sql};

static UPSERT: LazyLock<String> = LazyLock::new(|| sql::upsert(|i| format!("${i}")));
static INSERT_ATTEMPT: LazyLock<String> =
    LazyLock::new(|| sql::insert_attempt(|i| format!("${i}")));

/// Sums shared by stats, timeseries and breakdown; read back by [`totals_from_row`].
const AGGREGATES: &str = "COUNT(*), COUNT(*) FILTER (WHERE outcome = 'ok'), \
     COALESCE(SUM(input_tokens), 0)::BIGINT, COALESCE(SUM(output_tokens), 0)::BIGINT, \
     COALESCE(SUM(cache_creation_input_tokens), 0)::BIGINT, \
     COALESCE(SUM(cache_read_input_tokens), 0)::BIGINT, \
     COALESCE(SUM(cost_usd), 0)::DOUBLE PRECISION, COUNT(*) - COUNT(cost_usd)";

/// The fractions of [`Percentiles`], as a Postgres array literal.
const PERCENTILE_ARRAY: &str = "ARRAY[0.5, 0.95, 0.99]::DOUBLE PRECISION[]";

/// PostgreSQL-backed [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Recent audit bodies, so a session's next request is cut and hashed only where it is new
    /// (`audit::recent`).
    recent: std::sync::Arc<parking_lot::Mutex<crate::audit::recent::Recent>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db?options=…`). Call [`Store::migrate`]
    /// before use ([`crate::open`] does).
    ///
    /// # Errors
    /// The URL does not parse or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options, e.g. a `search_path` set through
    /// [`PgConnectOptions::options`].
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            recent: std::sync::Arc::default(),
        })
    }

    pub(crate) fn recent(
        &self,
    ) -> &std::sync::Arc<parking_lot::Mutex<crate::audit::recent::Recent>> {
        &self.recent
    }

    /// The underlying pool, for maintenance tasks and tests.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn attempts_for(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<AttemptRecord>>, StoreError> {
        let mut out: HashMap<Uuid, Vec<AttemptRecord>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows = sqlx::query(&format!(
            "SELECT {} FROM attempts WHERE request_id = ANY($1) ORDER BY request_id, seq",
            sql::ATTEMPT_COLUMNS
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let id: Uuid = row.try_get("request_id")?;
            out.entry(id).or_default().push(attempt_from_row(&row)?);
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_batch(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for r in dedup_last(records) {
            sqlx::query(&UPSERT)
                .bind(r.id)
                .bind(r.started_at)
                .bind(r.client_addr.as_deref())
                .bind(r.client_key.as_deref())
                .bind(r.user_agent.as_deref())
                .bind(r.session_id.as_deref())
                .bind(&r.method)
                .bind(&r.path)
                .bind(&r.client_dialect)
                .bind(r.requested_model.as_deref())
                .bind(r.routed_model.as_deref())
                .bind(r.endpoint.as_deref())
                .bind(r.stream)
                .bind(i32::from(r.status))
                .bind(r.outcome.as_str())
                .bind(r.error.as_deref())
                .bind(r.stop_reason.as_deref())
                .bind(r.ttfb_ms.map(to_db))
                .bind(to_db(r.latency_ms))
                .bind(to_db(r.input_tokens))
                .bind(to_db(r.output_tokens))
                .bind(to_db(r.cache_creation_input_tokens))
                .bind(to_db(r.cache_read_input_tokens))
                .bind(r.cost_usd)
                .bind(to_db(r.request_bytes))
                .bind(to_db(r.response_bytes))
                .bind(r.replay_of)
                .bind(i32::try_from(r.failovers()).unwrap_or(i32::MAX))
                .bind(r.client_user.as_deref())
                .bind(r.client_team.as_deref())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM attempts WHERE request_id = $1")
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
            for (seq, a) in (0_i32..).zip(&r.attempts) {
                sqlx::query(&INSERT_ATTEMPT)
                    .bind(r.id)
                    .bind(seq)
                    .bind(&a.endpoint)
                    .bind(a.model.as_deref())
                    .bind(a.status.map(i32::from))
                    .bind(to_db(a.latency_ms))
                    .bind(a.error.as_deref())
                    .bind(a.disposition.as_str())
                    .bind(a.offset_ms.map(to_db))
                    .bind(a.first_byte_ms.map(to_db))
                    .bind(a.stream_ms.map(to_db))
                    .bind(a.error_class.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<LogRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM requests WHERE id = $1",
            *sql::SELECT_COLUMNS
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = record_from_row(&row)?;
        record.attempts = self
            .attempts_for(&[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(Some(record))
    }

    async fn list(&self, query: &Query) -> Result<Page, StoreError> {
        let limit = query.page_size();
        let mut qb =
            QueryBuilder::<Postgres>::new(format!("SELECT {} FROM requests", *sql::SELECT_COLUMNS));
        let mut w = push_filters(&mut qb, query);
        if let Some(Cursor {
            started_at_micros,
            id,
        }) = query.keyset()?
        {
            let started_at =
                DateTime::from_timestamp_micros(started_at_micros).ok_or_else(|| {
                    StoreError::InvalidCursor(query.cursor.clone().unwrap_or_default())
                })?;
            w.and(&mut qb)
                .push("(started_at, id) < (")
                .push_bind(started_at)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut records = rows
            .iter()
            .map(record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
        let mut attempts = self.attempts_for(&ids).await?;
        for r in &mut records {
            r.attempts = attempts.remove(&r.id).unwrap_or_default();
        }
        Ok(into_page(records, limit))
    }

    async fn stats(&self, query: &Query) -> Result<Stats, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {AGGREGATES}, \
             percentile_disc({PERCENTILE_ARRAY}) WITHIN GROUP (ORDER BY latency_ms), \
             percentile_disc({PERCENTILE_ARRAY}) WITHIN GROUP (ORDER BY ttfb_ms) \
             FROM requests"
        ));
        push_filters(&mut qb, query);
        let row = qb.build().fetch_one(&self.pool).await?;
        let totals = totals_from_row(&row, 0)?;
        let latency: Option<Vec<Option<i64>>> = row.try_get(8)?;
        let ttfb: Option<Vec<Option<i64>>> = row.try_get(9)?;
        Ok(Stats {
            success_rate: totals.success_rate(),
            totals,
            latency_ms: percentiles(latency),
            ttfb_ms: percentiles(ttfb),
        })
    }

    async fn timeseries(
        &self,
        query: &Query,
        bucket: Bucket,
    ) -> Result<Vec<TimeBucket>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {} AS bucket, {AGGREGATES} FROM requests",
            bucket_expr(bucket)
        ));
        push_filters(&mut qb, query);
        qb.push(" GROUP BY 1 ORDER BY 1");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(TimeBucket {
                    start: row.try_get(0)?,
                    totals: totals_from_row(row, 1)?,
                })
            })
            .collect()
    }

    async fn breakdown(
        &self,
        query: &Query,
        by: BreakdownBy,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        let key = breakdown_key(by);
        let session = by == BreakdownBy::Session;
        let seen = if session {
            ", MIN(started_at), MAX(started_at)"
        } else {
            ""
        };
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {key} AS k, {AGGREGATES}{seen} FROM requests"
        ));
        let mut w = push_filters(&mut qb, query);
        if session {
            // Requests without a session are not a session.
            w.and(&mut qb).push("session_id IS NOT NULL");
        }
        qb.push(" GROUP BY 1");
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut out = rows
            .iter()
            .map(|row| {
                let mut r = BreakdownRow::new(row.try_get(0)?, totals_from_row(row, 1)?);
                if session {
                    r.first_seen = Some(row.try_get(9)?);
                    r.last_seen = Some(row.try_get(10)?);
                }
                Ok(r)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if session {
            sort_sessions(&mut out);
        } else {
            sort_breakdown(&mut out);
        }
        Ok(out)
    }

    async fn timeseries_by(
        &self,
        query: &Query,
        bucket: Bucket,
        by: BreakdownBy,
    ) -> Result<Vec<KeyedBucket>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {} AS bucket, {} AS k, {AGGREGATES} FROM requests",
            bucket_expr(bucket),
            breakdown_key(by)
        ));
        push_filters(&mut qb, query);
        qb.push(" GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(KeyedBucket {
                    start: row.try_get(0)?,
                    key: row.try_get(1)?,
                    totals: totals_from_row(row, 2)?,
                })
            })
            .collect()
    }

    async fn failovers(&self, query: &Query, limit: u32) -> Result<Failovers, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(
            "SELECT r.id, r.started_at, a.endpoint, a.status, a.error_class, a.disposition \
             FROM (SELECT id, started_at FROM requests",
        );
        let mut w = push_filters(&mut qb, query);
        // The partial index of migration 0006 holds only these.
        w.and(&mut qb).push("failovers > 0");
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1)
            .push(
                ") r JOIN attempts a ON a.request_id = r.id \
                 ORDER BY r.started_at DESC, r.id DESC, a.seq",
            );
        let mut rows = Vec::new();
        let mut starts: Vec<(Uuid, DateTime<Utc>)> = Vec::new();
        for row in qb.build().fetch_all(&self.pool).await? {
            let id: Uuid = row.try_get(0)?;
            if starts.last().is_none_or(|(last, _)| *last != id) {
                starts.push((id, row.try_get(1)?));
            }
            rows.push(FailoverRow {
                request: id,
                endpoint: row.try_get(2)?,
                status: row
                    .try_get::<Option<i32>, _>(3)?
                    .map(|s| status_from_db(i64::from(s))),
                error_class: row.try_get(4)?,
                disposition: row.try_get(5)?,
            });
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let truncated = starts.len() > limit;
        if truncated {
            starts.truncate(limit);
            if let Some((last, _)) = starts.last().copied() {
                let keep = rows
                    .iter()
                    .rposition(|r| r.request == last)
                    .map_or(0, |i| i + 1);
                rows.truncate(keep);
            }
        }
        Ok(Failovers {
            requests_with_failover: starts.len() as u64,
            transitions: fold_failovers(&rows),
            truncated,
            covered_from: starts.last().filter(|_| truncated).map(|(_, t)| *t),
        })
    }

    async fn recent_attempts(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<(Vec<RecentAttempt>, bool), StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, a.endpoint, a.disposition, r.latency_ms \
             FROM (SELECT id, started_at, latency_ms FROM requests WHERE started_at >= $1 \
                   ORDER BY started_at DESC LIMIT $2) r \
             JOIN attempts a ON a.request_id = r.id ORDER BY r.started_at DESC, r.id, a.seq",
        )
        .bind(since)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        crate::sqlite::recent(
            rows.iter().map(|row| {
                Ok((
                    row.try_get::<Uuid, _>(0)?,
                    RecentAttempt {
                        endpoint: row.try_get(1)?,
                        disposition: crate::sql::word(row.try_get(2)?)?,
                        request_latency_ms: from_db(row.try_get(3)?),
                    },
                ))
            }),
            limit,
        )
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&self.pool)
            .await?;
        Ok(from_db(n))
    }

    async fn delete_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        // Attempts go with their request (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM requests WHERE started_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_audit(&self, bundles: &[crate::AuditBundle]) -> Result<(), StoreError> {
        self.audit_insert(bundles).await
    }

    async fn get_audit(&self, request_id: Uuid) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.audit_get(request_id).await
    }

    async fn delete_audit(&self, request_ids: &[Uuid]) -> Result<u64, StoreError> {
        self.audit_delete(request_ids).await
    }

    async fn check_audit(&self) -> Result<crate::AuditCheck, StoreError> {
        self.audit_check().await
    }

    async fn delete_audit_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.audit_delete_older_than(before).await
    }

    async fn audit_size(&self) -> Result<u64, StoreError> {
        self.audit_stored_bytes().await
    }

    async fn trim_audit(&self, max_bytes: u64) -> Result<u64, StoreError> {
        self.audit_trim(max_bytes).await
    }
}

/// The start of a row's bucket, in UTC.
fn bucket_expr(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::QuarterHour => "to_timestamp(floor(extract(epoch FROM started_at) / 900) * 900)",
        Bucket::Hour => "date_trunc('hour', started_at, 'UTC')",
        Bucket::Day => "date_trunc('day', started_at, 'UTC')",
    }
}

fn breakdown_key(by: BreakdownBy) -> &'static str {
    match by {
        BreakdownBy::Model => "COALESCE(routed_model, requested_model)",
        BreakdownBy::Endpoint => "endpoint",
        BreakdownBy::ClientKey => "client_key",
        BreakdownBy::ClientUser => "client_user",
        BreakdownBy::ClientTeam => "client_team",
        BreakdownBy::Session => "session_id",
    }
}

fn percentiles(values: Option<Vec<Option<i64>>>) -> Percentiles {
    let mut out = [None; 3];
    for (slot, v) in out.iter_mut().zip(values.unwrap_or_default()) {
        *slot = v.map(from_db);
    }
    Percentiles::from_array(out)
}

/// Tracks whether the next condition needs `WHERE` or `AND`.
struct Where {
    started: bool,
}

impl Where {
    fn and<'q, 'a>(
        &mut self,
        qb: &'q mut QueryBuilder<'a, Postgres>,
    ) -> &'q mut QueryBuilder<'a, Postgres> {
        qb.push(if self.started { " AND " } else { " WHERE " });
        self.started = true;
        qb
    }
}

/// Appends the `WHERE` clause for every filter of `query` except the cursor.
fn push_filters<'a>(qb: &mut QueryBuilder<'a, Postgres>, query: &'a Query) -> Where {
    let mut w = Where { started: false };
    if let Some(from) = query.from {
        w.and(qb).push("started_at >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        w.and(qb).push("started_at < ").push_bind(to);
    }
    if let Some(class) = query.status_class {
        let (lo, hi) = class.range();
        w.and(qb)
            .push("status >= ")
            .push_bind(lo)
            .push(" AND status < ")
            .push_bind(hi);
    }
    if let Some(outcome) = &query.outcome {
        w.and(qb).push("outcome = ").push_bind(outcome.as_str());
    }
    if let Some(model) = &query.model {
        w.and(qb)
            .push("(requested_model = ")
            .push_bind(model.as_str())
            .push(" OR routed_model = ")
            .push_bind(model.as_str())
            .push(")");
    }
    if let Some(endpoint) = &query.endpoint {
        w.and(qb).push("endpoint = ").push_bind(endpoint.as_str());
    }
    if let Some(key) = &query.client_key {
        w.and(qb).push("client_key = ").push_bind(key.as_str());
    }
    if let Some(user) = &query.client_user {
        w.and(qb).push("client_user = ").push_bind(user.as_str());
    }
    if let Some(team) = &query.client_team {
        w.and(qb).push("client_team = ").push_bind(team.as_str());
    }
    if let Some(session) = &query.session {
        w.and(qb).push("session_id = ").push_bind(session.as_str());
    }
    if let Some(stream) = query.stream {
        w.and(qb).push("stream = ").push_bind(stream);
    }
    if let Some(pattern) = query.like_pattern() {
        // The error message, or the prompt text of an audited request.
        w.and(qb)
            .push("(error ILIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR id IN (SELECT request_id FROM prompt_text WHERE text ILIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\'))");
    }
    w
}

fn totals_from_row(row: &PgRow, first: usize) -> Result<Totals, sqlx::Error> {
    let int = |i: usize| row.try_get::<i64, _>(first + i).map(from_db);
    let requests = int(0)?;
    let ok = int(1)?;
    Ok(Totals {
        requests,
        ok,
        errors: requests.saturating_sub(ok),
        input_tokens: int(2)?,
        output_tokens: int(3)?,
        cache_creation_input_tokens: int(4)?,
        cache_read_input_tokens: int(5)?,
        cost_usd: row.try_get(first + 6)?,
        unknown_cost_requests: int(7)?,
    })
}

fn record_from_row(row: &PgRow) -> Result<LogRecord, sqlx::Error> {
    let int = |name: &str| row.try_get::<i64, _>(name).map(from_db);
    Ok(LogRecord {
        id: row.try_get("id")?,
        started_at: row.try_get("started_at")?,
        client_addr: row.try_get("client_addr")?,
        client_key: row.try_get("client_key")?,
        client_user: row.try_get("client_user")?,
        client_team: row.try_get("client_team")?,
        user_agent: row.try_get("user_agent")?,
        session_id: row.try_get("session_id")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        client_dialect: row.try_get("client_dialect")?,
        requested_model: row.try_get("requested_model")?,
        routed_model: row.try_get("routed_model")?,
        endpoint: row.try_get("endpoint")?,
        stream: row.try_get("stream")?,
        status: status_from_db(i64::from(row.try_get::<i32, _>("status")?)),
        outcome: crate::sql::word(row.try_get("outcome")?)?,
        error: row.try_get("error")?,
        stop_reason: row.try_get("stop_reason")?,
        ttfb_ms: row.try_get::<Option<i64>, _>("ttfb_ms")?.map(from_db),
        latency_ms: int("latency_ms")?,
        input_tokens: int("input_tokens")?,
        output_tokens: int("output_tokens")?,
        cache_creation_input_tokens: int("cache_creation_input_tokens")?,
        cache_read_input_tokens: int("cache_read_input_tokens")?,
        cost_usd: row.try_get("cost_usd")?,
        request_bytes: int("request_bytes")?,
        response_bytes: int("response_bytes")?,
        attempts: Vec::new(),
        replay_of: row.try_get("replay_of")?,
    })
}

fn attempt_from_row(row: &PgRow) -> Result<AttemptRecord, sqlx::Error> {
    Ok(AttemptRecord {
        endpoint: row.try_get("endpoint")?,
        model: row.try_get("model")?,
        status: row
            .try_get::<Option<i32>, _>("status")?
            .map(|s| status_from_db(i64::from(s))),
        latency_ms: from_db(row.try_get("latency_ms")?),
        error: row.try_get("error")?,
        disposition: crate::sql::word(row.try_get("disposition")?)?,
        offset_ms: opt_u64(row, "offset_ms")?,
        first_byte_ms: opt_u64(row, "first_byte_ms")?,
        stream_ms: opt_u64(row, "stream_ms")?,
        error_class: row.try_get("error_class")?,
    })
}

fn opt_u64(row: &PgRow, name: &str) -> Result<Option<u64>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(name)?.map(from_db))
}
