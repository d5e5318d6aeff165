//! Request-log storage. The proxy sends [`LogRecord`]s through a [`LogSender`] to a bounded queue
//! owned by a writer task ([`spawn_writer`]) that batches them into a [`Store`]: SQLite (WAL, the
//! embedded default, [`SqliteStore`]) or PostgreSQL ([`PostgresStore`]).
//!
//! This crate must never be on the request path: a full queue drops the record and counts the
//! loss; a failing database is retried by the writer, then the batch is dropped and counted. No
//! error from here ever reaches a client.
//!
//! - [`Store`]: the storage trait; both backends pass one behaviour suite (`tests/it`).
//! - [`Query`] → [`Page`] (keyset pagination, newest first), [`Stats`], [`TimeBucket`]s,
//!   [`BreakdownRow`]s.
//! - [`open`]: picks a backend from the configured URL.
//! - Schema: `migrations/{sqlite,postgres}/`, applied by [`Store::migrate`].
//! - [`AdminStore`]: the control plane's users, sessions, login links and sealed secrets, on
//!   both backends ([`open_with_admin`] opens one store behind both traits); client keys,
//!   teams and budgets through its supertrait [`KeyStore`].
//! - Audit data ([`AuditBundle`]: bodies, headers, stream chunks) rides the same queue
//!   ([`LogSender::send_with_audit`]); the writer cuts its bodies into content-defined chunks,
//!   stores each distinct chunk once (compressed, reference-counted) and a row per request
//!   listing them (`audit::chunked`).

mod admin;
mod audit;
mod audit_sql;
mod error;
mod keys;
mod postgres;
pub mod prompt;
mod query;
mod record;
mod sql;
mod sqlite;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use admin::{
    AdminStore, Digest, LoginLinkRow, PutSecret, Resealed, Role, SecretRow, SessionRow, User,
    open_with_admin,
};
pub use audit::{AuditBundle, AuditCheck, AuditEntry, AuditKind};
pub use error::StoreError;
pub use keys::{ClientKeyRow, KeyStore, TeamRow, UsageOf, UsageRow};
pub use postgres::PostgresStore;
pub use query::{
    BreakdownBy, BreakdownRow, Bucket, DEFAULT_LIMIT, FAILOVER_SCAN_LIMIT, Failovers, KeyedBucket,
    MAX_LIMIT, Page, Percentiles, Query, RecentAttempt, Stats, StatusClass, TimeBucket, Totals,
    Transition,
};
pub use record::{AttemptRecord, LogRecord};
pub use sqlite::SqliteStore;
pub use writer::{
    LogSender, MAX_QUEUED_AUDIT_BYTES, WriterHandle, WriterOptions, WriterStats, spawn_writer,
};

/// File name of the default SQLite database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "switchboard.db";

/// Storage for the request log. Timestamps are kept at microsecond precision.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`, for status output.
    fn backend(&self) -> &'static str;

    /// Brings the schema up to date. Idempotent; [`open`] calls it.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Inserts or replaces (by id) each record and its attempts, atomically per batch. The proxy
    /// writes each request once, when it completes; a record sent again with the same id replaces
    /// the stored one in every aggregate too.
    async fn insert_batch(&self, records: &[LogRecord]) -> Result<(), StoreError>;

    /// [`Store::insert_batch`] of a batch shared rather than lent, which the batch writer uses: a
    /// backend that writes on a thread of its own (SQLite) takes the records there without
    /// copying them, and the writer keeps its reference to retry a failed batch. The default
    /// lends the batch to `insert_batch`.
    async fn insert_batch_shared(&self, records: Arc<[LogRecord]>) -> Result<(), StoreError> {
        self.insert_batch(&records).await
    }

    /// The flag through which the batch writer says it is behind: raised once its queue has
    /// backed up (the traffic outruns the writes), lowered once it has caught up. A backend that
    /// paces its writes to leave the CPU to requests (SQLite offers its core back every few
    /// steps) reads it and stops pacing while it is raised, so a burst on a busy core is
    /// written, not dropped, and its records don't pile up in memory. `None` (the default): the
    /// backend doesn't pace.
    fn behind_flag(&self) -> Option<Arc<AtomicBool>> {
        None
    }

    /// One record with its attempts.
    async fn get(&self, id: Uuid) -> Result<Option<LogRecord>, StoreError>;

    /// One page of matching records (with attempts), newest first.
    async fn list(&self, query: &Query) -> Result<Page, StoreError>;

    /// Totals and latency percentiles of the matching records.
    async fn stats(&self, query: &Query) -> Result<Stats, StoreError>;

    /// Totals per UTC hour or day, oldest first, non-empty buckets only.
    async fn timeseries(
        &self,
        query: &Query,
        bucket: Bucket,
    ) -> Result<Vec<TimeBucket>, StoreError>;

    /// Totals per model, endpoint or client key, most requests first.
    async fn breakdown(
        &self,
        query: &Query,
        by: BreakdownBy,
    ) -> Result<Vec<BreakdownRow>, StoreError>;

    /// Totals per bucket and per model, endpoint or client key: oldest first, then by key,
    /// non-empty only. The default (test doubles) has none.
    async fn timeseries_by(
        &self,
        query: &Query,
        bucket: Bucket,
        by: BreakdownBy,
    ) -> Result<Vec<KeyedBucket>, StoreError> {
        let _ = (query, bucket, by);
        Ok(Vec::new())
    }

    /// The failovers among the matching requests (which endpoint gave way to which, and why),
    /// read from the newest `limit` requests that failed over at most. The default (test
    /// doubles) has none.
    async fn failovers(&self, query: &Query, limit: u32) -> Result<Failovers, StoreError> {
        let _ = (query, limit);
        Ok(Failovers::default())
    }

    /// The attempts of the requests started since `since`, newest requests first, at most
    /// `limit` requests' worth; `true` when there were more. The default (test doubles) has
    /// none.
    async fn recent_attempts(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<(Vec<RecentAttempt>, bool), StoreError> {
        let _ = (since, limit);
        Ok((Vec::new(), false))
    }

    /// Number of stored requests.
    async fn count(&self) -> Result<u64, StoreError>;

    /// Deletes requests (and their attempts) started before `before`; returns how many.
    async fn delete_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Stores audit data (compressed), replacing what each request already had. Backends
    /// without an audit table (test doubles) accept and drop it.
    async fn insert_audit(&self, bundles: &[AuditBundle]) -> Result<(), StoreError> {
        let _ = bundles;
        Ok(())
    }

    /// The audit entries of one request, in capture order; empty when there are none.
    async fn get_audit(&self, request_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let _ = request_id;
        Ok(Vec::new())
    }

    /// Deletes the audit data of `request_ids` (their log rows stay); returns how many entries.
    /// Chunks that other requests still use stay.
    async fn delete_audit(&self, request_ids: &[Uuid]) -> Result<u64, StoreError> {
        let _ = request_ids;
        Ok(0)
    }

    /// Checks the stored audit data's chunks against the request rows that list them, and the
    /// stored-bytes counter against the tables (a scan of every audit table: for tests and
    /// operators, never run by the gateway itself).
    async fn check_audit(&self) -> Result<AuditCheck, StoreError> {
        Ok(AuditCheck::default())
    }

    /// Deletes audit data captured before `before`; returns how many entries.
    async fn delete_audit_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _ = before;
        Ok(0)
    }

    /// Bytes of stored (compressed) audit data, as counted on every write (no scan).
    async fn audit_size(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Deletes the oldest requests' audit data until at most `max_bytes` remain; returns the
    /// bytes freed.
    async fn trim_audit(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let _ = max_bytes;
        Ok(0)
    }
}

/// Opens and migrates the log store named by `url`:
///
/// - `None` → SQLite at `data_dir/switchboard.db`;
/// - `postgres://…` or `postgresql://…` → PostgreSQL;
/// - `sqlite://PATH` or `sqlite:PATH` → SQLite at `PATH`, relative to `data_dir` unless absolute.
///
/// # Errors
/// An unsupported scheme, an unreachable database, or a failed migration.
pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match url {
        None => Arc::new(SqliteStore::open(&data_dir.join(SQLITE_FILE_NAME)).await?),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(PostgresStore::connect(url).await?)
        }
        Some(url) if url.starts_with("sqlite:") => {
            let rest = url.trim_start_matches("sqlite:");
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split('?').next().unwrap_or(rest);
            Arc::new(SqliteStore::open(&data_dir.join(path)).await?)
        }
        Some(url) => {
            return Err(StoreError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            });
        }
    };
    store.migrate().await?;
    Ok(store)
}
