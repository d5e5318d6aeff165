//! The embedded default: one SQLite file in WAL mode.
//!
//! Timestamps are stored as microseconds since the Unix epoch so that range scans and keyset
//! comparisons are integer comparisons. Two wide covering indexes keep every query inside an
//! index: `requests_time` (pagination, edge aggregates) and `requests_latency` / `requests_ttfb`
//! (percentiles). Totals come from the hourly rollups in [`rollup`].

mod dashboard;
pub(crate) use dashboard::recent;
mod audit;
mod rollup;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use self::rollup::{Group, GroupKey};
use crate::query::{
    BreakdownBy, BreakdownRow, Bucket, Cursor, PERCENTILES, Page, Percentiles, Query, Stats,
    TimeBucket, Totals, from_db, into_page, percentile_offset, sort_breakdown, sort_sessions,
    status_from_db, to_db,
};
use crate::{AttemptRecord, LogRecord, Store, StoreError, sql};

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows deleted per transaction by retention, so the writer is never locked out for long.
const DELETE_CHUNK: i64 = 5_000;

/// Sums shared by stats, timeseries and breakdown; read back by [`totals_from_row`].
pub(super) const AGGREGATES: &str = "COUNT(*), COALESCE(SUM(outcome = 'ok'), 0), \
     COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), \
     COALESCE(SUM(cache_creation_input_tokens), 0), COALESCE(SUM(cache_read_input_tokens), 0), \
     TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd)";

/// SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The request log's batch insert has a connection of its own, used on a blocking thread
    /// ([`write`]); the mutex only ever waits when batches are inserted concurrently.
    writer: Arc<Mutex<rusqlite::Connection>>,
    /// Raised while the batch writer is behind ([`Store::behind_flag`]): the writer connection
    /// then writes without offering its core back ([`write::open`]).
    behind: Arc<AtomicBool>,
    /// Recent audit bodies, so a session's next request is cut and hashed only where it is new
    /// (`audit::recent`).
    recent: Arc<Mutex<crate::audit::recent::Recent>>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) the database file at `path`.
    /// Call [`Store::migrate`] before use ([`crate::open`] does).
    ///
    /// # Errors
    /// The directory cannot be created or the file cannot be opened as a database.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_busy_timeout(path, BUSY_TIMEOUT).await
    }

    /// [`SqliteStore::open`] with another wait for a write lock held elsewhere (the default is
    /// 5 s). Tests that lock the database use a short one, so a batch fails in milliseconds.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_with_busy_timeout(
        path: &Path,
        busy_timeout: Duration,
    ) -> Result<Self, StoreError> {
        Self::open_with(path, busy_timeout, false).await
    }

    /// Opens an existing, migrated database read-only: queries work, every write fails (a
    /// reporting tool that must not touch the log; tests of a database that refuses writes).
    ///
    /// # Errors
    /// The file cannot be opened as a database.
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, BUSY_TIMEOUT, true).await
    }

    async fn open_with(
        path: &Path,
        busy_timeout: Duration,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| StoreError::CreateDir {
                    path: parent.to_owned(),
                    source,
                })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(false)
            // 32 MiB of page cache per connection, temp b-trees in memory.
            .pragma("cache_size", "-32768")
            .pragma("temp_store", "memory")
            .read_only(read_only);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        // After the pool, which creates the file and puts it in WAL mode.
        let path = path.to_owned();
        let behind = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&behind);
        let writer =
            tokio::task::spawn_blocking(move || write::open(&path, busy_timeout, read_only, flag))
                .await??;
        Ok(Self {
            pool,
            writer: Arc::new(Mutex::new(writer)),
            behind,
            recent: Arc::default(),
        })
    }

    /// Stores an encoded audit batch with the writer connection ([`audit::insert`]).
    pub(crate) async fn write_audit(
        &self,
        encoded: crate::audit::chunked::Encoded,
    ) -> Result<(), StoreError> {
        self.on_writer(move |conn| audit::insert(conn, &encoded))
            .await
    }

    /// Deletes the audit data of `ids` ([`audit::delete`]).
    pub(crate) async fn audit_delete(&self, ids: Vec<Uuid>) -> Result<u64, StoreError> {
        self.on_writer(move |conn| audit::delete(conn, &ids)).await
    }

    /// Retention of audit data, a step ([`audit::retention_step`]) per turn of the writer
    /// connection, so log batches are written between them.
    pub(crate) async fn audit_delete_older_than(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let before = before.timestamp_micros();
        let mut deleted = 0;
        loop {
            let (n, more) = self
                .on_writer(move |conn| audit::retention_step(conn, before))
                .await?;
            deleted += n;
            if !more {
                return Ok(deleted);
            }
        }
    }

    /// Bytes of stored audit data, from the counter the triggers keep (no scan).
    pub(crate) async fn audit_stored_bytes(&self) -> Result<u64, StoreError> {
        self.on_writer(|conn| Ok(audit::usage(conn)?)).await
    }

    /// The size cap, a step ([`audit::trim_step`]) per turn of the writer connection.
    pub(crate) async fn audit_trim(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let before = self.audit_stored_bytes().await?;
        while self
            .on_writer(move |conn| audit::trim_step(conn, max_bytes))
            .await?
        {}
        Ok(before.saturating_sub(self.audit_stored_bytes().await?))
    }

    /// [`Store::check_audit`] on the writer connection.
    pub(crate) async fn audit_check(&self) -> Result<crate::AuditCheck, StoreError> {
        self.on_writer(audit::check).await
    }

    /// Moves the prompt texts still waiting for the trigram index into it now; the writer does
    /// this itself once [`write::PROMPT_INDEX_BATCH`] wait (searches find waiting texts too).
    pub async fn index_prompt_texts(&self) -> Result<(), StoreError> {
        self.on_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            write::index_prompts(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    /// Runs `write` with the writer connection ([`write`]) on a blocking thread. A write that
    /// failed (or panicked) rolled its transaction back as it unwound (rusqlite's `Transaction`
    /// does on drop): the connection is fit for the next one.
    async fn on_writer<T: Send + 'static>(
        &self,
        write: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || write(&mut writer.lock())).await?
    }

    pub(crate) fn recent(&self) -> &Arc<Mutex<crate::audit::recent::Recent>> {
        &self.recent
    }

    /// The underlying pool, for maintenance tasks and tests.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
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
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {} FROM attempts WHERE request_id IN (",
            sql::ATTEMPT_COLUMNS
        ));
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY request_id, seq");
        for row in qb.build().fetch_all(&self.pool).await? {
            let id: Uuid = row.try_get("request_id")?;
            out.entry(id).or_default().push(attempt_from_row(&row)?);
        }
        Ok(out)
    }

    /// The nearest-rank percentiles of `column` over the filtered rows, `n` of which have a
    /// non-null `column`. Each is one `ORDER BY column LIMIT 1 OFFSET k` walk of the column's
    /// index, taken from whichever end is closer.
    async fn percentiles(
        &self,
        query: &Query,
        column: &str,
        n: u64,
    ) -> Result<Percentiles, StoreError> {
        let index = format!("requests_{}", column.trim_end_matches("_ms"));
        let mut values = [None; 3];
        if n == 0 {
            return Ok(Percentiles::from_array(values));
        }
        for (slot, p) in values.iter_mut().zip(PERCENTILES) {
            let offset = percentile_offset(p, n);
            let from_top = n - 1 - offset;
            let (order, skip) = if from_top < offset {
                ("DESC", from_top)
            } else {
                ("ASC", offset)
            };
            let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {column} FROM requests"));
            if query.like_pattern().is_none() {
                // Every other filter is in the value index, so the walk never leaves it. Left to
                // itself the planner prefers a time-range scan plus a sort of the whole range.
                qb.push(format!(" INDEXED BY {index}"));
            }
            let mut w = push_filters(&mut qb, query, time_range(query));
            w.and(&mut qb).push(column).push(" IS NOT NULL");
            qb.push(format!(" ORDER BY {column} {order} LIMIT 1 OFFSET "))
                .push_bind(to_db(skip));
            let v: Option<i64> = qb.build_query_scalar().fetch_optional(&self.pool).await?;
            *slot = v.map(from_db);
        }
        Ok(Percentiles::from_array(values))
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    fn behind_flag(&self) -> Option<Arc<AtomicBool>> {
        Some(Arc::clone(&self.behind))
    }

    /// Copies the records to take them to the writer's thread; the batch writer shares its
    /// batch instead ([`Store::insert_batch_shared`]).
    async fn insert_batch(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.insert_batch_shared(records.into()).await
    }

    /// On a blocking thread, with the writer connection ([`write::insert_batch`]).
    async fn insert_batch_shared(&self, records: Arc<[LogRecord]>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.on_writer(move |conn| Ok(write::insert_batch(conn, &records)?))
            .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<LogRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM requests WHERE id = ?",
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
            QueryBuilder::<Sqlite>::new(format!("SELECT {} FROM requests", *sql::SELECT_COLUMNS));
        let mut w = push_filters(&mut qb, query, time_range(query));
        if let Some(Cursor {
            started_at_micros,
            id,
        }) = query.keyset()?
        {
            w.and(&mut qb)
                .push("(started_at, id) < (")
                .push_bind(started_at_micros)
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
        let (totals, ttfb_n) = self
            .aggregate(query, Group::All)
            .await?
            .into_values()
            .next()
            .unwrap_or_default();
        let latency_ms = self
            .percentiles(query, "latency_ms", totals.requests)
            .await?;
        let ttfb_ms = self.percentiles(query, "ttfb_ms", ttfb_n).await?;
        Ok(Stats {
            success_rate: totals.success_rate(),
            totals,
            latency_ms,
            ttfb_ms,
        })
    }

    async fn timeseries(
        &self,
        query: &Query,
        bucket: Bucket,
    ) -> Result<Vec<TimeBucket>, StoreError> {
        let groups = self
            .aggregate(query, Group::Bucket(bucket.micros()))
            .await?;
        groups
            .into_iter()
            .map(|(key, (totals, _))| {
                let GroupKey::Time(start) = key else {
                    return Err(sqlx::Error::Decode("bucket key is not a time".into()).into());
                };
                Ok(TimeBucket {
                    start: micros_to_time(start)?,
                    totals,
                })
            })
            .collect()
    }

    async fn breakdown(
        &self,
        query: &Query,
        by: BreakdownBy,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        if by == BreakdownBy::Session {
            return self.sessions(query).await;
        }
        let groups = self.aggregate(query, Group::Key(by)).await?;
        let mut out: Vec<BreakdownRow> = groups
            .into_iter()
            .map(|(key, (totals, _))| {
                let key = match key {
                    GroupKey::Text(key) => key,
                    GroupKey::Unit | GroupKey::Time(_) | GroupKey::TimeText(..) => None,
                };
                BreakdownRow::new(key, totals)
            })
            .collect();
        sort_breakdown(&mut out);
        Ok(out)
    }

    async fn timeseries_by(
        &self,
        query: &Query,
        bucket: Bucket,
        by: BreakdownBy,
    ) -> Result<Vec<crate::KeyedBucket>, StoreError> {
        self.keyed_timeseries(query, bucket, by).await
    }

    async fn failovers(&self, query: &Query, limit: u32) -> Result<crate::Failovers, StoreError> {
        self.failover_figures(query, limit).await
    }

    async fn recent_attempts(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<(Vec<crate::RecentAttempt>, bool), StoreError> {
        self.attempts_since(since, limit).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&self.pool)
            .await?;
        Ok(from_db(n))
    }

    /// On the writer connection, [`DELETE_CHUNK`] requests per turn of it: the deleted rows'
    /// pages pass through its small page cache, not a read connection's (which kept them).
    async fn delete_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = before.timestamp_micros();
        let mut deleted = 0;
        loop {
            let done = self
                .on_writer(move |conn| {
                    Ok(write::delete_requests_before(conn, before, DELETE_CHUNK)?)
                })
                .await?;
            deleted += done;
            if done < u64::try_from(DELETE_CHUNK).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
        }
    }

    async fn insert_audit(&self, bundles: &[crate::AuditBundle]) -> Result<(), StoreError> {
        self.audit_insert(bundles).await
    }

    async fn get_audit(&self, request_id: Uuid) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.audit_get(request_id).await
    }

    async fn delete_audit(&self, request_ids: &[Uuid]) -> Result<u64, StoreError> {
        self.audit_delete(request_ids.to_vec()).await
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

/// Tracks whether the next condition needs `WHERE` or `AND`.
pub(super) struct Where {
    started: bool,
}

impl Where {
    pub(super) fn and<'q, 'a>(
        &mut self,
        qb: &'q mut QueryBuilder<'a, Sqlite>,
    ) -> &'q mut QueryBuilder<'a, Sqlite> {
        qb.push(if self.started { " AND " } else { " WHERE " });
        self.started = true;
        qb
    }
}

/// `[from, to)` in microseconds; `None` is unbounded.
pub(super) type Range = (Option<i64>, Option<i64>);

pub(super) fn time_range(query: &Query) -> Range {
    (
        query.from.map(|t| t.timestamp_micros()),
        query.to.map(|t| t.timestamp_micros()),
    )
}

/// Appends the `WHERE` clause for every filter of `query` except its time range, which is
/// `range` instead, and the cursor.
pub(super) fn push_filters<'a>(
    qb: &mut QueryBuilder<'a, Sqlite>,
    query: &'a Query,
    (from, to): Range,
) -> Where {
    let mut w = Where { started: false };
    if let Some(from) = from {
        w.and(qb).push("started_at >= ").push_bind(from);
    }
    if let Some(to) = to {
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
        // The error message (through the partial index of failed requests), or the prompt text
        // of an audited request (through the trigram index when the search is long enough to
        // have trigrams, else by scanning the stored prompts). The matching rows are collected
        // once; every index the outer query walks carries the rowid, so testing membership
        // costs no table lookup.
        w.and(qb)
            .push("rowid IN (SELECT rowid FROM requests WHERE error IS NOT NULL AND error LIKE ")
            .push_bind(pattern.clone())
            .push(
                " ESCAPE '\\' UNION SELECT r.rowid FROM prompt_text p \
                 JOIN requests r ON r.id = p.request_id WHERE ",
            );
        match query.fts_phrase() {
            // Texts still waiting for the index (migration 0007) are scanned beside it.
            Some(phrase) => qb
                .push("p.rowid IN (SELECT rowid FROM prompt_fts WHERE prompt_fts MATCH ")
                .push_bind(phrase)
                .push(
                    " UNION ALL SELECT w.rowid FROM prompt_unindexed u \
                     JOIN prompt_text w ON w.rowid = u.id WHERE w.text LIKE ",
                )
                .push_bind(pattern)
                .push(" ESCAPE '\\')"),
            None => qb
                .push("p.text LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\'"),
        };
        qb.push(")");
    }
    w
}

impl SqliteStore {
    /// [`BreakdownBy::Session`]: from the raw rows (the rollups have no session), with each
    /// session's first and last request.
    async fn sessions(&self, query: &Query) -> Result<Vec<BreakdownRow>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT session_id, {AGGREGATES}, MIN(started_at), MAX(started_at) FROM requests"
        ));
        let mut w = push_filters(
            &mut qb,
            query,
            (
                query.from.map(|t| t.timestamp_micros()),
                query.to.map(|t| t.timestamp_micros()),
            ),
        );
        w.and(&mut qb).push("session_id IS NOT NULL");
        qb.push(" GROUP BY 1");
        let mut out = Vec::new();
        for row in qb.build().fetch_all(&self.pool).await? {
            let mut r = BreakdownRow::new(row.try_get(0)?, totals_from_row(&row, 1)?);
            r.first_seen = Some(micros_to_time(row.try_get(9)?)?);
            r.last_seen = Some(micros_to_time(row.try_get(10)?)?);
            out.push(r);
        }
        sort_sessions(&mut out);
        Ok(out)
    }
}

pub(super) fn micros_to_time(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp {micros} out of range").into()))
}

pub(super) fn totals_from_row(row: &SqliteRow, first: usize) -> Result<Totals, sqlx::Error> {
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

fn record_from_row(row: &SqliteRow) -> Result<LogRecord, sqlx::Error> {
    let int = |name: &str| row.try_get::<i64, _>(name).map(from_db);
    Ok(LogRecord {
        id: row.try_get("id")?,
        started_at: micros_to_time(row.try_get("started_at")?)?,
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
        status: status_from_db(row.try_get("status")?),
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

fn attempt_from_row(row: &SqliteRow) -> Result<AttemptRecord, sqlx::Error> {
    Ok(AttemptRecord {
        endpoint: row.try_get("endpoint")?,
        model: row.try_get("model")?,
        status: row.try_get::<Option<i64>, _>("status")?.map(status_from_db),
        latency_ms: from_db(row.try_get("latency_ms")?),
        error: row.try_get("error")?,
        disposition: crate::sql::word(row.try_get("disposition")?)?,
        offset_ms: opt_u64(row, "offset_ms")?,
        first_byte_ms: opt_u64(row, "first_byte_ms")?,
        stream_ms: opt_u64(row, "stream_ms")?,
        error_class: row.try_get("error_class")?,
    })
}

fn opt_u64(row: &SqliteRow, name: &str) -> Result<Option<u64>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(name)?.map(from_db))
}
