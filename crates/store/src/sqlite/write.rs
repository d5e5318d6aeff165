//! The request log's batch insert and its audit data's, on a connection of its own opened with
//! rusqlite and used on a blocking thread
//! ([`SqliteStore::insert_batch_shared`](crate::Store::insert_batch_shared),
//! [`SqliteStore::insert_audit`](crate::Store::insert_audit), in `audit.rs` with retention).
//! Migrations and queries go through the sqlx pool.
//!
//! Why not sqlx here: a logged request's row costs about as much to hand to sqlx as to write.
//! sqlx boxes and copies every bound argument on the async thread (26 per row), sends it to its
//! connection's worker thread, binds it there and clears the bindings after each statement; on
//! one core that work delays the requests being served meanwhile. Here a batch is bound straight
//! from the records (text and blobs by reference; SQLite copies them once) into cached
//! statements, all of it off the async runtime.
//!
//! Columns are written as sqlx writes and reads them: ids as 16-byte blobs (sqlx's `Uuid`),
//! timestamps as integer microseconds, booleans as 0/1, counters as saturated `i64`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, OpenFlags, TransactionBehavior};
use uuid::Uuid;

use super::rollup;
use crate::query::{dedup_last, to_db};
use crate::{AttemptRecord, LogRecord, sql};

/// Rows per statement when a batch is written, largest first: a batch of n rows takes about
/// n / 64 + 9 statements instead of 3 per row. SQLite copies every page a statement touches into
/// its statement journal (`requests` has a trigger and four indexes), and neighbouring rows of a
/// batch (time-ordered ids) share pages, so wider statements cost less per row. Measured with
/// callgrind (small passthrough request, log on): one cached single-row statement per row costs
/// 162k instructions per request, these sizes 133k; widest 8 rows 136k, 16 or 32 or 256 rows
/// within 1 % of 64. Four sizes keep the prepared-statement cache small; 64 rows × 26 columns
/// stays far below SQLite's 32,766 bound parameters.
pub(super) const ROWS_PER_STATEMENT: [usize; 4] = [64, 16, 4, 1];
const SIZES: usize = ROWS_PER_STATEMENT.len();

/// The upsert of `requests` for each size in [`ROWS_PER_STATEMENT`].
static UPSERT: LazyLock<[String; SIZES]> =
    LazyLock::new(|| ROWS_PER_STATEMENT.map(|n| sql::upsert_rows(n, |_| "?".to_owned())));
/// `DELETE FROM attempts WHERE request_id IN (…)` for each size in [`ROWS_PER_STATEMENT`].
static DELETE_ATTEMPTS: LazyLock<[String; SIZES]> = LazyLock::new(|| {
    ROWS_PER_STATEMENT.map(|n| {
        format!(
            "DELETE FROM attempts WHERE request_id IN ({})",
            vec!["?"; n].join(", ")
        )
    })
});
/// `SELECT id FROM requests WHERE id IN (…)` for each size in [`ROWS_PER_STATEMENT`].
static EXISTING_IDS: LazyLock<[String; SIZES]> = LazyLock::new(|| {
    ROWS_PER_STATEMENT.map(|n| {
        format!(
            "SELECT id FROM requests WHERE id IN ({})",
            vec!["?"; n].join(", ")
        )
    })
});
/// The insert of `attempts` for each size in [`ROWS_PER_STATEMENT`].
static INSERT_ATTEMPT: LazyLock<[String; SIZES]> =
    LazyLock::new(|| ROWS_PER_STATEMENT.map(|n| sql::insert_attempt_rows(n, |_| "?".to_owned())));

/// SQLite virtual-machine steps between two yields of the writer's thread (about a third of a
/// logged row, a few microseconds; see [`open`]).
const YIELD_EVERY_STEPS: i32 = 50;

/// Columns bound per `requests` row and per `attempts` row.
const REQUEST_PARAMS: usize = sql::REQUEST_COLUMNS.len();
const ATTEMPT_PARAMS: usize = sql::ATTEMPT_PARAMS;

/// Opens the writer connection to the (existing) database at `path`, with the pragmas of the
/// sqlx pool's connections (`SqliteStore::open_with`) but a smaller page cache. Read-only when
/// the store is: its writes
/// then fail as the pool's would.
pub(super) fn open(
    path: &Path,
    busy_timeout: Duration,
    read_only: bool,
    behind: Arc<AtomicBool>,
) -> rusqlite::Result<Connection> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    // Used by one thread at a time (behind the store's mutex), like sqlx's connections.
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(busy_timeout)?;
    // A 2 MiB page cache, not the readers' 32: a writer appends, and the pages it comes back to
    // (the right edges of the tables and indexes) are few. With 32 MiB, every page of audit
    // data and of the full-text index it wrote stayed cached: the soak test's RSS rose 33 MiB
    // and stayed there; with 8 MiB, 5 MiB. 8 → 2 MiB took 6-7 MiB off the RSS after the bench's
    // c=512 phase (30,000 rows written) and did not slow ingestion (`bench-querylog --rows
    // 20000 --ingest 400000`, twice each: 126k records/s with 8 MiB, 149k-204k with 2 MiB).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL; \
         PRAGMA cache_size = -2048; PRAGMA temp_store = memory;",
    )?;
    // Four statement kinds in four sizes, the rollup upsert, and the audit data's and
    // retention's (`audit.rs`).
    conn.set_prepared_statement_cache_capacity(4 * SIZES + 32);
    // A batch is milliseconds of CPU. Where the writer shares a core with the server (one core,
    // or a busy machine), the scheduler lets it run out its time slice while a request that has
    // just arrived waits: at concurrency 1 on one core, p99.9 rose from ~1 ms (sqlx, which hands
    // each statement to another thread and so pauses between them) to ~2 ms. Offering the core
    // every few microseconds brings it to ~0.4-0.5 ms; with nothing else to run, a yield is a
    // cheap system call, a few per logged row.
    //
    // But on Linux (EEVDF, 6.6+) each yield made while another thread is runnable puts the
    // yielding thread a whole time slice further back: under load that never lets up, a batch's
    // hundreds of yields left the writer with nothing of the core until the load stopped (on one
    // core saturated by the bench, not one batch completed during a 0.6 s phase; the queue
    // reached its 10,000-record limit, 12 % of the records were dropped, and their ~25 MiB of
    // heap stayed with the process). While the batch writer is behind (`behind`, raised from a
    // few thousand queued records) it writes without yielding, and first sleeps once: a thread
    // that wakes up is placed afresh, without the debt of the yields it made.
    let mut was_behind = false;
    conn.progress_handler(
        YIELD_EVERY_STEPS,
        Some(move || {
            let now_behind = behind.load(Ordering::Relaxed);
            if !now_behind {
                std::thread::yield_now();
            } else if !was_behind {
                std::thread::sleep(Duration::from_micros(1));
            }
            was_behind = now_behind;
            false
        }),
    );
    Ok(conn)
}

/// Splits `items` into runs of the sizes in [`ROWS_PER_STATEMENT`] (largest that fits first),
/// each with the index of its size.
pub(super) fn statement_chunks<T>(mut items: &[T]) -> impl Iterator<Item = (usize, &[T])> {
    std::iter::from_fn(move || {
        let size = ROWS_PER_STATEMENT.iter().position(|&n| n <= items.len())?;
        let (chunk, rest) = items.split_at(ROWS_PER_STATEMENT[size]);
        items = rest;
        Some((size, chunk))
    })
}

/// One statement kind's cached statements, one per size, taken from the connection's cache on
/// first use in a batch (so its SQL is hashed once per batch, not once per chunk).
struct BySize<'c> {
    conn: &'c Connection,
    sql: &'static [String; SIZES],
    statements: [Option<CachedStatement<'c>>; SIZES],
}

impl<'c> BySize<'c> {
    fn new(conn: &'c Connection, sql: &'static [String; SIZES]) -> Self {
        Self {
            conn,
            sql,
            statements: Default::default(),
        }
    }

    fn get(&mut self, size: usize) -> rusqlite::Result<&mut CachedStatement<'c>> {
        match &mut self.statements[size] {
            Some(statement) => Ok(statement),
            slot @ None => Ok(slot.insert(self.conn.prepare_cached(&self.sql[size])?)),
        }
    }
}

/// Inserts or replaces (by id) each record and its attempts in one `BEGIN IMMEDIATE`
/// transaction, and adds the new rows to the rollups: the semantics of
/// [`Store::insert_batch`](crate::Store::insert_batch). Of records sharing an id, the last wins.
pub(super) fn insert_batch(conn: &mut Connection, records: &[LogRecord]) -> rusqlite::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let records = dedup_last(records);
    // IMMEDIATE: the batch reads (which ids exist) before it writes, and in WAL mode a read
    // transaction cannot become a write one once another connection has committed (retention,
    // audit): it would fail at once with "database is locked" instead of waiting its turn.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Rows already stored are replaced by the upsert, whose trigger moves them between rollup
    // groups; the others are new, and are added to the rollups below, a group at a time.
    let existing = existing_ids(&tx, &records)?;
    let mut upserts = BySize::new(&tx, &UPSERT);
    for (size, chunk) in statement_chunks(&records) {
        let statement = upserts.get(size)?;
        for (row, r) in chunk.iter().enumerate() {
            bind_request(statement, row * REQUEST_PARAMS, r)?;
        }
        statement.raw_execute()?;
    }
    drop(upserts);
    // A replaced request's attempts are replaced too.
    let replaced: Vec<Uuid> = existing.iter().copied().collect();
    let mut deletes = BySize::new(&tx, &DELETE_ATTEMPTS);
    for (size, chunk) in statement_chunks(&replaced) {
        let statement = deletes.get(size)?;
        for (i, id) in chunk.iter().enumerate() {
            statement.raw_bind_parameter(i + 1, id.as_bytes())?;
        }
        statement.raw_execute()?;
    }
    drop(deletes);
    let attempts: Vec<(&LogRecord, i64, &AttemptRecord)> = records
        .iter()
        .flat_map(|r| (0_i64..).zip(&r.attempts).map(move |(seq, a)| (*r, seq, a)))
        .collect();
    let mut inserts = BySize::new(&tx, &INSERT_ATTEMPT);
    for (size, chunk) in statement_chunks(&attempts) {
        let statement = inserts.get(size)?;
        for (row, (r, seq, a)) in chunk.iter().enumerate() {
            bind_attempt(statement, row * ATTEMPT_PARAMS, r.id, *seq, a)?;
        }
        statement.raw_execute()?;
    }
    drop(inserts);
    let new: Vec<&LogRecord> = if existing.is_empty() {
        records
    } else {
        records
            .into_iter()
            .filter(|r| !existing.contains(&r.id))
            .collect()
    };
    rollup::add_new_rows(&tx, &new)?;
    tx.commit()
}

/// Prompt texts that wait for the trigram index before the writer indexes them together
/// (migration 0007): each indexing costs a segment flush and its share of merges, paid once per
/// this many texts instead of once per transaction. Searches scan the waiting texts, at most
/// this many plus one batch's.
pub(super) const PROMPT_INDEX_BATCH: usize = 64;

/// Moves every waiting prompt text into the trigram index, within `conn`'s transaction.
pub(super) fn index_prompts(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "INSERT INTO prompt_fts (rowid, text) \
         SELECT p.rowid, p.text FROM prompt_unindexed u JOIN prompt_text p ON p.rowid = u.id; \
         DELETE FROM prompt_unindexed;",
    )
}

/// Deletes up to `limit` requests (and their attempts) started before `before` (microseconds),
/// oldest first, in one transaction; returns how many. The rollups follow by trigger.
pub(super) fn delete_requests_before(
    conn: &mut Connection,
    before: i64,
    limit: i64,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let chunk = "SELECT id FROM requests WHERE started_at < ?1 ORDER BY started_at LIMIT ?2";
    tx.prepare_cached(&format!(
        "DELETE FROM attempts WHERE request_id IN ({chunk})"
    ))?
    .execute(rusqlite::params![before, limit])?;
    let done = tx
        .prepare_cached(&format!("DELETE FROM requests WHERE id IN ({chunk})"))?
        .execute(rusqlite::params![before, limit])?;
    tx.commit()?;
    Ok(done as u64)
}

/// The ids of `records` already in `requests`.
fn existing_ids(conn: &Connection, records: &[&LogRecord]) -> rusqlite::Result<HashSet<Uuid>> {
    let mut existing = HashSet::new();
    let mut selects = BySize::new(conn, &EXISTING_IDS);
    for (size, chunk) in statement_chunks(records) {
        let statement = selects.get(size)?;
        for (i, r) in chunk.iter().enumerate() {
            statement.raw_bind_parameter(i + 1, r.id.as_bytes())?;
        }
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            existing.insert(Uuid::from_bytes(row.get(0)?));
        }
    }
    Ok(existing)
}

/// Binds `r` to the 30 parameters after the first `offset`, in [`sql::REQUEST_COLUMNS`] order.
fn bind_request(
    statement: &mut CachedStatement<'_>,
    offset: usize,
    r: &LogRecord,
) -> rusqlite::Result<()> {
    let values: [&dyn ToSql; REQUEST_PARAMS] = [
        r.id.as_bytes(),
        &r.started_at.timestamp_micros(),
        &r.client_addr.as_deref(),
        &r.client_key.as_deref(),
        &r.user_agent.as_deref(),
        &r.session_id.as_deref(),
        &r.method.as_str(),
        &r.path.as_str(),
        &r.client_dialect.as_str(),
        &r.requested_model.as_deref(),
        &r.routed_model.as_deref(),
        &r.endpoint.as_deref(),
        &r.stream,
        &i64::from(r.status),
        &r.outcome.as_str(),
        &r.error.as_deref(),
        &r.stop_reason.as_deref(),
        &r.ttfb_ms.map(to_db),
        &to_db(r.latency_ms),
        &to_db(r.input_tokens),
        &to_db(r.output_tokens),
        &to_db(r.cache_creation_input_tokens),
        &to_db(r.cache_read_input_tokens),
        &r.cost_usd,
        &to_db(r.request_bytes),
        &to_db(r.response_bytes),
        &r.replay_of.as_ref().map(Uuid::as_bytes),
        &r.failovers(),
        &r.client_user.as_deref(),
        &r.client_team.as_deref(),
    ];
    for (i, value) in values.into_iter().enumerate() {
        statement.raw_bind_parameter(offset + i + 1, value)?;
    }
    Ok(())
}

/// Binds attempt `seq` of request `id` to the 12 parameters after the first `offset`, in
/// [`sql::ATTEMPT_COLUMNS`] order.
fn bind_attempt(
    statement: &mut CachedStatement<'_>,
    offset: usize,
    id: Uuid,
    seq: i64,
    a: &AttemptRecord,
) -> rusqlite::Result<()> {
    let values: [&dyn ToSql; ATTEMPT_PARAMS] = [
        id.as_bytes(),
        &seq,
        &a.endpoint.as_str(),
        &a.model.as_deref(),
        &a.status.map(i64::from),
        &to_db(a.latency_ms),
        &a.error.as_deref(),
        &a.disposition.as_str(),
        &a.offset_ms.map(to_db),
        &a.first_byte_ms.map(to_db),
        &a.stream_ms.map(to_db),
        &a.error_class.as_deref(),
    ];
    for (i, value) in values.into_iter().enumerate() {
        statement.raw_bind_parameter(offset + i + 1, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_split_into_the_fewest_statements_of_cached_sizes() {
        let sizes = |n: usize| {
            let v: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = statement_chunks(&v).map(|(_, c)| c).collect();
            assert_eq!(chunks.concat(), v, "every row once, in order");
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(7), [4, 1, 1, 1]);
        assert_eq!(sizes(64), [64]);
        assert_eq!(sizes(150), [64, 64, 16, 4, 1, 1]);
        let (size, chunk) = statement_chunks(&[0; 20]).next().expect("a chunk");
        assert_eq!(ROWS_PER_STATEMENT[size], chunk.len());
    }
}
