//! Audit data on the SQLite writer connection (rusqlite, a blocking thread): storing a batch,
//! deleting requests' audit data, retention and the size cap, each a transaction that keeps
//! every chunk's reference count equal to the times the request rows list it (the format is in
//! [`crate::audit::chunked`]). Reads go through the sqlx pool (`audit_sql.rs`).
//!
//! Maintenance scans only what it deletes: retention walks the `created_at` indexes up to its
//! bound, the size cap takes the oldest request by the same indexes one at a time and reads the
//! stored-bytes counter (`audit_usage`, kept by triggers), and deleting a request reads only its
//! own chunk list. It runs on this connection, whose page cache is small (`write::open`), in
//! steps that each take the writer's lock briefly, so the log writer goes on between them.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use uuid::Uuid;

use super::write::{PROMPT_INDEX_BATCH, index_prompts};
use crate::StoreError;
use crate::audit::AuditCheck;
use crate::audit::chunked::{Encoded, chunk_ids, counted, pack};
use crate::query::from_db;

/// Rows deleted per retention step (one transaction).
pub(super) const RETENTION_STEP: i64 = 1_000;
/// Requests deleted per size-cap step (one transaction).
const TRIM_STEP: usize = 256;

fn io(e: std::io::Error) -> StoreError {
    StoreError::Audit(e.to_string())
}

/// Stores the batch's rows, chunks and prompt texts in one `BEGIN IMMEDIATE` transaction,
/// replacing what each request already had: the semantics of
/// [`Store::insert_audit`](crate::Store::insert_audit).
pub(super) fn insert(conn: &mut Connection, encoded: &Encoded) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The batch's references first, so that a chunk a replaced row shares with its replacement
    // never drops to 0 on the way.
    let ids = add_chunks(&tx, encoded)?;
    let legacy = has_legacy_rows(&tx)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit_request (request_id, created_at, entries, raw_size, size, data, \
             chunks) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )?;
        for row in &encoded.rows {
            delete_request(&tx, row.request_id, legacy)?;
            let list = Encoded::chunk_list(row, &ids);
            let size = row.data.len() + list.as_ref().map_or(0, Vec::len);
            insert.execute(rusqlite::params![
                row.request_id.as_bytes(),
                row.created_at.timestamp_micros(),
                row.entries,
                row.raw_size,
                i64::try_from(size).unwrap_or(i64::MAX),
                row.data,
                list,
            ])?;
        }
        let mut prompt = tx.prepare_cached(
            "INSERT INTO prompt_text (request_id, created_at, text) VALUES (?, ?, ?) \
             ON CONFLICT (request_id) DO UPDATE SET created_at = excluded.created_at, \
             text = excluded.text",
        )?;
        for p in &encoded.prompts {
            prompt.execute(rusqlite::params![
                p.request_id.as_bytes(),
                p.created_at.timestamp_micros(),
                p.text,
            ])?;
        }
    }
    if !encoded.prompts.is_empty() {
        let waiting: usize = tx.query_row("SELECT count(*) FROM prompt_unindexed", [], |row| {
            row.get(0)
        })?;
        if waiting >= PROMPT_INDEX_BATCH {
            index_prompts(&tx)?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Adds the batch's references to its chunks, storing (compressed) those not stored yet;
/// returns each chunk's id.
fn add_chunks(tx: &Transaction<'_>, encoded: &Encoded) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(encoded.chunks.len());
    if encoded.chunks.is_empty() {
        return Ok(ids);
    }
    let mut known =
        tx.prepare_cached("UPDATE audit_chunk SET refs = refs + ? WHERE hash = ? RETURNING id")?;
    let mut add =
        tx.prepare_cached("INSERT INTO audit_chunk (hash, refs, size) VALUES (?, ?, ?)")?;
    let mut add_data =
        tx.prepare_cached("INSERT INTO audit_chunk_data (id, data) VALUES (?, ?)")?;
    let mut zstd = None;
    for c in &encoded.chunks {
        let id: Option<i64> = known
            .query_row(rusqlite::params![c.uses, &c.hash[..]], |r| r.get(0))
            .optional()?;
        let id = match id {
            Some(id) => id,
            None => {
                let zstd = match &mut zstd {
                    Some(z) => z,
                    slot @ None => slot
                        .insert(zstd::bulk::Compressor::new(crate::audit::ZSTD_LEVEL).map_err(io)?),
                };
                let data = pack(&c.plain, zstd).map_err(io)?;
                add.execute(rusqlite::params![
                    &c.hash[..],
                    c.uses,
                    i64::try_from(data.len()).unwrap_or(i64::MAX),
                ])?;
                let id = tx.last_insert_rowid();
                add_data.execute(rusqlite::params![id, data])?;
                id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Takes one reference per listed occurrence from the chunks in `list`, deleting those left
/// with none.
fn release_chunks(tx: &Transaction<'_>, list: &[u8]) -> Result<(), StoreError> {
    let ids = chunk_ids(list).map_err(io)?;
    let mut release =
        tx.prepare_cached("UPDATE audit_chunk SET refs = refs - ? WHERE id = ? RETURNING refs")?;
    let mut delete = tx.prepare_cached("DELETE FROM audit_chunk WHERE id = ?")?;
    let mut delete_data = tx.prepare_cached("DELETE FROM audit_chunk_data WHERE id = ?")?;
    for (id, n) in counted(ids) {
        let left: Option<i64> = release
            .query_row(rusqlite::params![n, id], |r| r.get(0))
            .optional()?;
        if left.is_some_and(|left| left <= 0) {
            delete.execute([id])?;
            delete_data.execute([id])?;
        }
    }
    Ok(())
}

/// Whether the legacy `audit` table has rows (after an upgrade, until retention empties it).
fn has_legacy_rows(tx: &Transaction<'_>) -> rusqlite::Result<bool> {
    tx.query_row("SELECT EXISTS (SELECT 1 FROM audit)", [], |r| r.get(0))
}

/// Deletes one request's audit rows (both formats; not its prompt text), releasing its chunks;
/// returns how many entries.
fn delete_request(tx: &Transaction<'_>, id: Uuid, legacy: bool) -> Result<u64, StoreError> {
    let mut entries = 0;
    let gone: Option<(i64, Option<Vec<u8>>)> = tx
        .prepare_cached("DELETE FROM audit_request WHERE request_id = ? RETURNING entries, chunks")?
        .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((n, list)) = gone {
        entries += from_db(n);
        if let Some(list) = list {
            release_chunks(tx, &list)?;
        }
    }
    if legacy {
        entries += tx
            .prepare_cached("DELETE FROM audit WHERE request_id = ?")?
            .execute([id.as_bytes()])? as u64;
    }
    Ok(entries)
}

/// [`Store::delete_audit`](crate::Store::delete_audit): the requests' audit data and prompt
/// texts, in one transaction.
pub(super) fn delete(conn: &mut Connection, ids: &[Uuid]) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let legacy = has_legacy_rows(&tx)?;
    let mut entries = 0;
    for id in ids {
        entries += delete_request(&tx, *id, legacy)?;
        tx.prepare_cached("DELETE FROM prompt_text WHERE request_id = ?")?
            .execute([id.as_bytes()])?;
    }
    tx.commit()?;
    Ok(entries)
}

/// One step of retention: deletes up to [`RETENTION_STEP`] rows of each audit table (and of
/// `prompt_text`) created before `before` (microseconds), oldest first. Returns the entries
/// deleted and whether rows older than `before` may be left.
pub(super) fn retention_step(
    conn: &mut Connection,
    before: i64,
) -> Result<(u64, bool), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let step = u64::try_from(RETENTION_STEP).unwrap_or(u64::MAX);
    let mut entries = 0;
    let mut more = false;
    {
        let mut rows = tx.prepare_cached(
            "DELETE FROM audit_request WHERE rowid IN (SELECT rowid FROM audit_request \
             WHERE created_at < ? ORDER BY created_at LIMIT ?) RETURNING entries, chunks",
        )?;
        let gone: Vec<(i64, Option<Vec<u8>>)> = rows
            .query_map(rusqlite::params![before, RETENTION_STEP], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        more |= gone.len() as u64 >= step;
        for (n, list) in gone {
            entries += from_db(n);
            if let Some(list) = list {
                release_chunks(&tx, &list)?;
            }
        }
    }
    let legacy = tx
        .prepare_cached(
            "DELETE FROM audit WHERE rowid IN \
             (SELECT rowid FROM audit WHERE created_at < ? LIMIT ?)",
        )?
        .execute(rusqlite::params![before, RETENTION_STEP])? as u64;
    entries += legacy;
    more |= legacy >= step;
    let prompts = tx
        .prepare_cached(
            "DELETE FROM prompt_text WHERE rowid IN \
             (SELECT rowid FROM prompt_text WHERE created_at < ? LIMIT ?)",
        )?
        .execute(rusqlite::params![before, RETENTION_STEP])? as u64;
    more |= prompts >= step;
    tx.commit()?;
    Ok((entries, more))
}

/// Bytes of stored audit data, from the counter.
pub(super) fn usage(conn: &Connection) -> rusqlite::Result<u64> {
    let bytes: i64 = conn.query_row("SELECT bytes FROM audit_usage WHERE id = 0", [], |r| {
        r.get(0)
    })?;
    Ok(from_db(bytes))
}

/// One step of the size cap: deletes the oldest requests' audit data, one request at a time,
/// until at most `max_bytes` are stored or [`TRIM_STEP`] requests are gone. Returns whether
/// more is stored than `max_bytes`.
pub(super) fn trim_step(conn: &mut Connection, max_bytes: u64) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let legacy = has_legacy_rows(&tx)?;
    let mut over = usage(&tx)? > max_bytes;
    for _ in 0..TRIM_STEP {
        if !over {
            break;
        }
        let Some(id) = oldest(&tx, legacy)? else {
            break;
        };
        delete_request(&tx, id, legacy)?;
        tx.prepare_cached("DELETE FROM prompt_text WHERE request_id = ?")?
            .execute([id.as_bytes()])?;
        over = usage(&tx)? > max_bytes;
    }
    let nothing_left = oldest(&tx, legacy)?.is_none();
    tx.commit()?;
    Ok(over && !nothing_left)
}

/// The request whose audit data is oldest, in either format (by the `created_at` indexes).
fn oldest(tx: &Transaction<'_>, legacy: bool) -> rusqlite::Result<Option<Uuid>> {
    let first = |sql: &str| -> rusqlite::Result<Option<(i64, Uuid)>> {
        tx.prepare_cached(sql)?
            .query_row([], |r| {
                Ok((r.get(0)?, Uuid::from_bytes(r.get::<_, [u8; 16]>(1)?)))
            })
            .optional()
    };
    let new = first(
        "SELECT created_at, request_id FROM audit_request ORDER BY created_at, request_id LIMIT 1",
    )?;
    let old = if legacy {
        first("SELECT created_at, request_id FROM audit ORDER BY created_at LIMIT 1")?
    } else {
        None
    };
    Ok(match (new, old) {
        (Some(n), Some(o)) => Some(if o.0 <= n.0 { o.1 } else { n.1 }),
        (n, o) => n.or(o).map(|(_, id)| id),
    })
}

/// [`Store::check_audit`](crate::Store::check_audit), in one read transaction.
pub(super) fn check(conn: &mut Connection) -> Result<AuditCheck, StoreError> {
    let tx = conn.transaction()?;
    let mut listed: HashMap<i64, i64> = HashMap::new();
    let mut out = AuditCheck::default();
    let mut stored: i64 = 0;
    {
        let mut rows = tx.prepare("SELECT size, chunks FROM audit_request")?;
        let mut rows = rows.query([])?;
        while let Some(row) = rows.next()? {
            out.requests += 1;
            stored += row.get::<_, i64>(0)?;
            if let Some(list) = row.get::<_, Option<Vec<u8>>>(1)? {
                for id in chunk_ids(&list).map_err(io)? {
                    *listed.entry(id).or_default() += 1;
                    out.references += 1;
                }
            }
        }
        let with_data: HashSet<i64> = tx
            .prepare("SELECT id FROM audit_chunk_data")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut chunks = tx.prepare("SELECT id, refs, size FROM audit_chunk")?;
        let mut chunks = chunks.query([])?;
        let mut seen = HashSet::new();
        while let Some(row) = chunks.next()? {
            let (id, refs, size): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            out.chunks += 1;
            stored += size;
            seen.insert(id);
            if listed.get(&id).copied().unwrap_or(0) != refs
                || refs <= 0
                || !with_data.contains(&id)
            {
                out.leaked_chunks += 1;
            }
        }
        out.leaked_chunks += with_data.difference(&seen).count() as u64;
        out.missing_chunks = listed.keys().filter(|id| !seen.contains(id)).count() as u64;
        stored += tx.query_row("SELECT COALESCE(SUM(size), 0) FROM audit", [], |r| {
            r.get::<_, i64>(0)
        })?;
    }
    out.stored_bytes = from_db(stored);
    out.counted_bytes = usage(&tx)?;
    tx.commit()?;
    Ok(out)
}
