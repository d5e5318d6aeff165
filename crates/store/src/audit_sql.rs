//! Audit data on both backends (the formats are in [`crate::audit`] and
//! [`crate::audit::chunked`]). The `Store` impls delegate here; SQLite's writes run on its writer
//! connection (`sqlite/audit.rs`), its reads and PostgreSQL's everything through sqlx.
//!
//! On PostgreSQL every transaction that changes audit data first locks the stored-bytes counter
//! row (`audit_usage`, kept by triggers): the log writer and retention then never interleave
//! their reference counting, and take their row locks in one order.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::audit::chunked::{
    Encoded, StoredRow, chunk_ids, counted, encode_async, pack, read_row, unpack,
};
use crate::audit::{AuditBundle, AuditCheck, AuditEntry, ZSTD_LEVEL, decode_all};
use crate::query::from_db;
use crate::{PostgresStore, SqliteStore, StoreError};

/// Rows deleted per retention statement on PostgreSQL.
const DELETE_CHUNK: i64 = 5_000;
/// Requests deleted per size-cap transaction on PostgreSQL.
const TRIM_STEP: usize = 256;
/// Chunk ids read per statement (SQLite binds each as a parameter).
const READ_CHUNKS: usize = 500;

fn io(e: std::io::Error) -> StoreError {
    StoreError::Audit(e.to_string())
}

/// The entries of a stored row, given the plain bytes of its chunks.
fn entries_of(row: StoredRow, chunks: &HashMap<i64, Bytes>) -> Result<Vec<AuditEntry>, StoreError> {
    row.entries(chunks).map_err(io)
}

/// The distinct ids of `row`'s chunk list.
fn distinct(row: &StoredRow) -> Vec<i64> {
    let mut ids: Vec<i64> = row.chunk_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl SqliteStore {
    pub(crate) async fn audit_insert(&self, bundles: &[AuditBundle]) -> Result<(), StoreError> {
        if bundles.is_empty() {
            return Ok(());
        }
        let encoded = encode_async(bundles, self.recent()).await.map_err(io)?;
        self.write_audit(encoded).await
    }

    /// The request's row and its chunks in one read transaction (a snapshot: retention cannot
    /// take a chunk away between the two reads); rows of the legacy format when there is none.
    pub(crate) async fn audit_get(&self, request_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT data, chunks FROM audit_request WHERE request_id = ?")
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
        let entries = if let Some((data, list)) = row {
            let row = read_row(&data, list.as_deref()).map_err(io)?;
            let mut chunks = HashMap::new();
            for ids in distinct(&row).chunks(READ_CHUNKS) {
                let mut qb =
                    QueryBuilder::new("SELECT id, data FROM audit_chunk_data WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                qb.push(")");
                let rows: Vec<(i64, Vec<u8>)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                for (id, data) in rows {
                    chunks.insert(id, unpack(&data).map_err(io)?);
                }
            }
            entries_of(row, &chunks)?
        } else {
            let rows: Vec<(i32, String, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, kind, data FROM audit WHERE request_id = ? ORDER BY seq",
            )
            .bind(request_id)
            .fetch_all(&mut *tx)
            .await?;
            decode_all(&rows).map_err(io)?
        };
        tx.commit().await?;
        Ok(entries)
    }
}

/// Locks the stored-bytes counter row for the transaction, and reads it.
async fn lock_usage(tx: &mut Transaction<'_, Postgres>) -> Result<u64, StoreError> {
    let bytes: i64 = sqlx::query_scalar("SELECT bytes FROM audit_usage WHERE id = 0 FOR UPDATE")
        .fetch_one(&mut **tx)
        .await?;
    Ok(from_db(bytes))
}

/// Adds the batch's references to its chunks, storing (compressed) those not stored yet;
/// returns each chunk's id.
async fn add_chunks(
    tx: &mut Transaction<'_, Postgres>,
    encoded: &Encoded,
) -> Result<Vec<i64>, StoreError> {
    if encoded.chunks.is_empty() {
        return Ok(Vec::new());
    }
    let hashes: Vec<&[u8]> = encoded.chunks.iter().map(|c| &c.hash[..]).collect();
    let uses: Vec<i64> = encoded.chunks.iter().map(|c| c.uses).collect();
    let known: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "UPDATE audit_chunk AS c SET refs = c.refs + v.uses \
         FROM UNNEST($1::BYTEA[], $2::BIGINT[]) AS v(hash, uses) \
         WHERE c.hash = v.hash RETURNING c.hash, c.id",
    )
    .bind(&hashes)
    .bind(&uses)
    .fetch_all(&mut **tx)
    .await?;
    let mut ids: HashMap<Vec<u8>, i64> = known.into_iter().collect();
    let new: Vec<usize> = (0..encoded.chunks.len())
        .filter(|&i| !ids.contains_key(&encoded.chunks[i].hash[..]))
        .collect();
    if !new.is_empty() {
        let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(io)?;
        let mut data = Vec::with_capacity(new.len());
        for &i in &new {
            data.push(pack(&encoded.chunks[i].plain, &mut zstd).map_err(io)?);
        }
        let sizes: Vec<i64> = data
            .iter()
            .map(|d| i64::try_from(d.len()).unwrap_or(i64::MAX))
            .collect();
        let added: Vec<(Vec<u8>, i64)> = sqlx::query_as(
            "INSERT INTO audit_chunk (hash, refs, size) \
             SELECT * FROM UNNEST($1::BYTEA[], $2::BIGINT[], $3::BIGINT[]) RETURNING hash, id",
        )
        .bind(new.iter().map(|&i| hashes[i]).collect::<Vec<_>>())
        .bind(new.iter().map(|&i| uses[i]).collect::<Vec<_>>())
        .bind(&sizes)
        .fetch_all(&mut **tx)
        .await?;
        ids.extend(added);
        let new_ids: Vec<i64> = new
            .iter()
            .map(|&i| ids.get(&encoded.chunks[i].hash[..]).copied().unwrap_or(0))
            .collect();
        sqlx::query(
            "INSERT INTO audit_chunk_data (id, data) SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[])",
        )
        .bind(&new_ids)
        .bind(&data)
        .execute(&mut **tx)
        .await?;
    }
    encoded
        .chunks
        .iter()
        .map(|c| {
            ids.get(&c.hash[..])
                .copied()
                .ok_or_else(|| StoreError::Audit("a chunk was neither found nor stored".into()))
        })
        .collect()
}

/// Takes one reference per listed occurrence from the chunks of `lists`, deleting those left
/// with none.
async fn release_chunks(
    tx: &mut Transaction<'_, Postgres>,
    lists: &[Vec<u8>],
) -> Result<(), StoreError> {
    let mut all = Vec::new();
    for list in lists {
        all.extend(chunk_ids(list).map_err(io)?);
    }
    if all.is_empty() {
        return Ok(());
    }
    let (ids, n): (Vec<i64>, Vec<i64>) = counted(all).into_iter().unzip();
    let left: Vec<(i64, i64)> = sqlx::query_as(
        "UPDATE audit_chunk AS c SET refs = c.refs - v.n \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS v(id, n) WHERE c.id = v.id \
         RETURNING c.id, c.refs",
    )
    .bind(&ids)
    .bind(&n)
    .fetch_all(&mut **tx)
    .await?;
    let gone: Vec<i64> = left
        .into_iter()
        .filter(|(_, refs)| *refs <= 0)
        .map(|(id, _)| id)
        .collect();
    if !gone.is_empty() {
        for table in ["audit_chunk", "audit_chunk_data"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE id = ANY($1)"))
                .bind(&gone)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Deletes the requests' audit rows (both formats; not their prompt texts), releasing their
/// chunks; returns how many entries.
async fn delete_requests(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> Result<u64, StoreError> {
    let gone: Vec<(i32, Option<Vec<u8>>)> = sqlx::query_as(
        "DELETE FROM audit_request WHERE request_id = ANY($1) RETURNING entries, chunks",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    let entries: u64 = gone.iter().map(|(n, _)| from_db(i64::from(*n))).sum();
    let lists: Vec<Vec<u8>> = gone.into_iter().filter_map(|(_, l)| l).collect();
    release_chunks(tx, &lists).await?;
    let legacy = sqlx::query("DELETE FROM audit WHERE request_id = ANY($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(entries + legacy)
}

impl PostgresStore {
    pub(crate) async fn audit_insert(&self, bundles: &[AuditBundle]) -> Result<(), StoreError> {
        if bundles.is_empty() {
            return Ok(());
        }
        let encoded = encode_async(bundles, self.recent()).await.map_err(io)?;
        let mut tx = self.pool().begin().await?;
        lock_usage(&mut tx).await?;
        // The batch's references first, so that a chunk a replaced row shares with its
        // replacement never drops to 0 on the way.
        let chunk_ids = add_chunks(&mut tx, &encoded).await?;
        let ids: Vec<Uuid> = encoded.rows.iter().map(|r| r.request_id).collect();
        delete_requests(&mut tx, &ids).await?;
        let mut seen = HashSet::new();
        // Of rows sharing a request id, the last wins.
        for r in encoded.rows.iter().rev() {
            if !seen.insert(r.request_id) {
                let list = Encoded::chunk_list(r, &chunk_ids);
                release_chunks(&mut tx, list.as_slice()).await?;
                continue;
            }
            let list = Encoded::chunk_list(r, &chunk_ids);
            let size = r.data.len() + list.as_ref().map_or(0, Vec::len);
            sqlx::query(
                "INSERT INTO audit_request (request_id, created_at, entries, raw_size, size, \
                 data, chunks) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(r.request_id)
            .bind(r.created_at)
            .bind(i32::try_from(r.entries).unwrap_or(i32::MAX))
            .bind(r.raw_size)
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(&r.data)
            .bind(list)
            .execute(&mut *tx)
            .await?;
        }
        for p in &encoded.prompts {
            sqlx::query(
                "INSERT INTO prompt_text (request_id, created_at, text) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_id) DO UPDATE SET created_at = EXCLUDED.created_at, \
                 text = EXCLUDED.text",
            )
            .bind(p.request_id)
            .bind(p.created_at)
            .bind(&p.text)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// As SQLite's: one snapshot (`REPEATABLE READ`) for the row and its chunks.
    pub(crate) async fn audit_get(&self, request_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT data, chunks FROM audit_request WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
        let entries = if let Some((data, list)) = row {
            let row = read_row(&data, list.as_deref()).map_err(io)?;
            let rows: Vec<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT id, data FROM audit_chunk_data WHERE id = ANY($1)")
                    .bind(distinct(&row))
                    .fetch_all(&mut *tx)
                    .await?;
            let mut chunks = HashMap::with_capacity(rows.len());
            for (id, data) in rows {
                chunks.insert(id, unpack(&data).map_err(io)?);
            }
            entries_of(row, &chunks)?
        } else {
            let rows: Vec<(i32, String, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, kind, data FROM audit WHERE request_id = $1 ORDER BY seq",
            )
            .bind(request_id)
            .fetch_all(&mut *tx)
            .await?;
            decode_all(&rows).map_err(io)?
        };
        tx.commit().await?;
        Ok(entries)
    }

    pub(crate) async fn audit_delete(&self, ids: &[Uuid]) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        lock_usage(&mut tx).await?;
        let entries = delete_requests(&mut tx, ids).await?;
        sqlx::query("DELETE FROM prompt_text WHERE request_id = ANY($1)")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(entries)
    }

    /// Oldest first, [`DELETE_CHUNK`] requests per transaction.
    pub(crate) async fn audit_delete_older_than(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let mut tx = self.pool().begin().await?;
            lock_usage(&mut tx).await?;
            let gone: Vec<(i32, Option<Vec<u8>>)> = sqlx::query_as(
                "DELETE FROM audit_request WHERE request_id IN (SELECT request_id \
                 FROM audit_request WHERE created_at < $1 ORDER BY created_at LIMIT $2) \
                 RETURNING entries, chunks",
            )
            .bind(before)
            .bind(DELETE_CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            let more = gone.len() as u64 >= u64::try_from(DELETE_CHUNK).unwrap_or(u64::MAX);
            deleted += gone
                .iter()
                .map(|(n, _)| from_db(i64::from(*n)))
                .sum::<u64>();
            let lists: Vec<Vec<u8>> = gone.into_iter().filter_map(|(_, l)| l).collect();
            release_chunks(&mut tx, &lists).await?;
            if !more {
                deleted += sqlx::query("DELETE FROM audit WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("DELETE FROM prompt_text WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            if !more {
                return Ok(deleted);
            }
        }
    }

    pub(crate) async fn audit_stored_bytes(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT bytes FROM audit_usage WHERE id = 0")
            .fetch_one(self.pool())
            .await?;
        Ok(from_db(n))
    }

    /// The oldest requests' audit data, one request at a time, until at most `max_bytes`
    /// remain; [`TRIM_STEP`] requests per transaction.
    pub(crate) async fn audit_trim(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let start = self.audit_stored_bytes().await?;
        loop {
            let mut tx = self.pool().begin().await?;
            let mut stored = lock_usage(&mut tx).await?;
            let mut steps = 0;
            let mut exhausted = false;
            while stored > max_bytes && steps < TRIM_STEP {
                let oldest: Option<Uuid> = sqlx::query_scalar(
                    "SELECT request_id FROM (\
                     (SELECT created_at, request_id FROM audit_request \
                      ORDER BY created_at, request_id LIMIT 1) UNION ALL \
                     (SELECT created_at, request_id FROM audit ORDER BY created_at LIMIT 1)) o \
                     ORDER BY created_at LIMIT 1",
                )
                .fetch_optional(&mut *tx)
                .await?;
                let Some(id) = oldest else {
                    exhausted = true;
                    break;
                };
                delete_requests(&mut tx, &[id]).await?;
                sqlx::query("DELETE FROM prompt_text WHERE request_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                stored = from_db(
                    sqlx::query_scalar::<_, i64>("SELECT bytes FROM audit_usage WHERE id = 0")
                        .fetch_one(&mut *tx)
                        .await?,
                );
                steps += 1;
            }
            tx.commit().await?;
            if stored <= max_bytes || exhausted || steps == 0 {
                return Ok(start.saturating_sub(stored));
            }
        }
    }

    pub(crate) async fn audit_check(&self) -> Result<AuditCheck, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let mut out = AuditCheck::default();
        let mut stored: i64 = 0;
        let mut listed: HashMap<i64, i64> = HashMap::new();
        let rows: Vec<(i64, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT size, chunks FROM audit_request")
                .fetch_all(&mut *tx)
                .await?;
        for (size, list) in rows {
            out.requests += 1;
            stored += size;
            if let Some(list) = list {
                for id in chunk_ids(&list).map_err(io)? {
                    *listed.entry(id).or_default() += 1;
                    out.references += 1;
                }
            }
        }
        let with_data: HashSet<i64> = sqlx::query_scalar("SELECT id FROM audit_chunk_data")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let chunks: Vec<(i64, i64, i64)> = sqlx::query_as("SELECT id, refs, size FROM audit_chunk")
            .fetch_all(&mut *tx)
            .await?;
        let mut seen = HashSet::new();
        for (id, refs, size) in chunks {
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
        stored += sqlx::query_scalar::<_, i64>("SELECT COALESCE(SUM(size), 0)::BIGINT FROM audit")
            .fetch_one(&mut *tx)
            .await?;
        out.stored_bytes = from_db(stored);
        out.counted_bytes = from_db(
            sqlx::query_scalar::<_, i64>("SELECT bytes FROM audit_usage WHERE id = 0")
                .fetch_one(&mut *tx)
                .await?,
        );
        tx.commit().await?;
        Ok(out)
    }
}
