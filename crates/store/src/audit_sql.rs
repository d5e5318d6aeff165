//! The `audit` table on both backends (see [`crate::audit`] for the row format). The `Store`
//! impls delegate here.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::audit::{AuditBundle, AuditEntry, decode_all, encode_rows};
use crate::query::from_db;
use crate::{PostgresStore, SqliteStore, StoreError};

/// Rows deleted per statement by retention.
const DELETE_CHUNK: i64 = 5_000;
/// Rows read per step when trimming to the size cap.
const TRIM_SCAN: i64 = 2_000;

fn io(e: std::io::Error) -> StoreError {
    StoreError::Audit(e.to_string())
}

/// The oldest request ids whose audit data adds up to at least `excess` bytes, from `rows` of
/// `(request_id, size)` in age order.
fn oldest_covering(rows: &[(Uuid, i64)], excess: u64) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut freed = 0_u64;
    for (id, size) in rows {
        if freed >= excess {
            break;
        }
        if seen.insert(*id) {
            ids.push(*id);
        }
        freed += from_db(*size);
    }
    ids
}

impl SqliteStore {
    pub(crate) async fn audit_insert(&self, bundles: &[AuditBundle]) -> Result<(), StoreError> {
        if bundles.is_empty() {
            return Ok(());
        }
        let encoded = encode_rows(bundles).await.map_err(io)?;
        let ids: Vec<Uuid> = bundles.iter().map(|b| b.request_id).collect();
        self.write_audit(ids, encoded).await
    }

    pub(crate) async fn audit_get(&self, request_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i32, String, Vec<u8>)> =
            sqlx::query_as("SELECT seq, kind, data FROM audit WHERE request_id = ? ORDER BY seq")
                .bind(request_id)
                .fetch_all(self.pool())
                .await?;
        decode_all(&rows).map_err(io)
    }

    pub(crate) async fn audit_delete_older_than(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM audit WHERE rowid IN \
                 (SELECT rowid FROM audit WHERE created_at < ? LIMIT ?)",
            )
            .bind(before.timestamp_micros())
            .bind(DELETE_CHUNK)
            .execute(self.pool())
            .await?
            .rows_affected();
            deleted += done;
            if done < u64::try_from(DELETE_CHUNK).unwrap_or(u64::MAX) {
                break;
            }
        }
        loop {
            let done = sqlx::query(
                "DELETE FROM prompt_text WHERE rowid IN \
                 (SELECT rowid FROM prompt_text WHERE created_at < ? LIMIT ?)",
            )
            .bind(before.timestamp_micros())
            .bind(DELETE_CHUNK)
            .execute(self.pool())
            .await?
            .rows_affected();
            if done < u64::try_from(DELETE_CHUNK).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
        }
    }

    pub(crate) async fn audit_stored_bytes(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM audit")
            .fetch_one(self.pool())
            .await?;
        Ok(from_db(n))
    }

    pub(crate) async fn audit_trim(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let mut freed = 0;
        loop {
            let total = self.audit_stored_bytes().await?;
            if total <= max_bytes {
                return Ok(freed);
            }
            let rows: Vec<(Uuid, i64)> = sqlx::query_as(
                "SELECT request_id, size FROM audit ORDER BY created_at, request_id, seq LIMIT ?",
            )
            .bind(TRIM_SCAN)
            .fetch_all(self.pool())
            .await?;
            let ids = oldest_covering(&rows, total - max_bytes);
            if ids.is_empty() {
                return Ok(freed);
            }
            let mut tx = self.pool().begin().await?;
            for table in ["audit", "prompt_text"] {
                let mut qb =
                    QueryBuilder::new(format!("DELETE FROM {table} WHERE request_id IN ("));
                let mut list = qb.separated(", ");
                for id in &ids {
                    list.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            freed += total.saturating_sub(self.audit_stored_bytes().await?);
        }
    }
}

impl PostgresStore {
    pub(crate) async fn audit_insert(&self, bundles: &[AuditBundle]) -> Result<(), StoreError> {
        if bundles.is_empty() {
            return Ok(());
        }
        let encoded = encode_rows(bundles).await.map_err(io)?;
        let ids: Vec<Uuid> = bundles.iter().map(|b| b.request_id).collect();
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM audit WHERE request_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
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
        for r in &encoded.rows {
            sqlx::query(
                "INSERT INTO audit (request_id, seq, kind, created_at, raw_size, size, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(r.request_id)
            .bind(r.seq)
            .bind(r.kind)
            .bind(r.created_at)
            .bind(r.raw_size)
            .bind(r.size())
            .bind(&r.data)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit_get(&self, request_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i32, String, Vec<u8>)> =
            sqlx::query_as("SELECT seq, kind, data FROM audit WHERE request_id = $1 ORDER BY seq")
                .bind(request_id)
                .fetch_all(self.pool())
                .await?;
        decode_all(&rows).map_err(io)
    }

    pub(crate) async fn audit_delete_older_than(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("DELETE FROM audit WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM prompt_text WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn audit_stored_bytes(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(size), 0)::BIGINT FROM audit")
            .fetch_one(self.pool())
            .await?;
        Ok(from_db(n))
    }

    pub(crate) async fn audit_trim(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let mut freed = 0;
        loop {
            let total = self.audit_stored_bytes().await?;
            if total <= max_bytes {
                return Ok(freed);
            }
            let rows: Vec<(Uuid, i64)> = sqlx::query_as(
                "SELECT request_id, size FROM audit ORDER BY created_at, request_id, seq LIMIT $1",
            )
            .bind(TRIM_SCAN)
            .fetch_all(self.pool())
            .await?;
            let ids = oldest_covering(&rows, total - max_bytes);
            if ids.is_empty() {
                return Ok(freed);
            }
            let mut tx = self.pool().begin().await?;
            for table in ["audit", "prompt_text"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE request_id = ANY($1)"))
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            freed += total.saturating_sub(self.audit_stored_bytes().await?);
        }
    }
}
