//! [`KeyStore`] on SQLite. Times are microseconds since the Unix epoch; the triggers of migration
//! 0011 stand in for the foreign keys the pool runs without.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{ClientKeyRow, KeyStore, TeamRow, UsageOf, UsageRow, bucket_secs};
use crate::admin::digest_from_db;
use crate::query::from_db;
use crate::{Digest, SqliteStore, StoreError};

const KEY_COLUMNS: &str = "id, name, key_hash, hint, user_id, team_id, limits, created_at, \
     updated_at, expires_at, revoked_at, last_used_at";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp {micros} out of range").into()))
}

fn opt_time(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    micros.map(time).transpose()
}

fn key_from_row(row: &SqliteRow) -> Result<ClientKeyRow, sqlx::Error> {
    Ok(ClientKeyRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        key_hash: digest_from_db(row.try_get(2)?)?,
        hint: row.try_get(3)?,
        user_id: row.try_get(4)?,
        team_id: row.try_get(5)?,
        limits: row.try_get(6)?,
        created_at: time(row.try_get(7)?)?,
        updated_at: time(row.try_get(8)?)?,
        expires_at: opt_time(row.try_get(9)?)?,
        revoked_at: opt_time(row.try_get(10)?)?,
        last_used_at: opt_time(row.try_get(11)?)?,
    })
}

fn team_from_row(row: &SqliteRow) -> Result<TeamRow, sqlx::Error> {
    Ok(TeamRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        budgets: row.try_get(2)?,
        created_at: time(row.try_get(3)?)?,
        updated_at: time(row.try_get(4)?)?,
    })
}

/// `column IN (?, …)` for a non-empty list, else nothing (and `false`).
fn push_in<'a>(
    qb: &mut QueryBuilder<'a, Sqlite>,
    first: &mut bool,
    column: &str,
    values: &'a [String],
) {
    if values.is_empty() {
        return;
    }
    qb.push(if *first { "" } else { " OR " });
    *first = false;
    qb.push(column).push(" IN (");
    let mut sep = qb.separated(", ");
    for v in values {
        sep.push_bind(v.as_str());
    }
    qb.push(")");
}

#[async_trait::async_trait]
impl KeyStore for SqliteStore {
    async fn insert_client_key(&self, k: &ClientKeyRow) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO client_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO NOTHING"
        ))
        .bind(k.id)
        .bind(&k.name)
        .bind(&k.key_hash[..])
        .bind(&k.hint)
        .bind(k.user_id)
        .bind(k.team_id)
        .bind(&k.limits)
        .bind(micros(k.created_at))
        .bind(micros(k.updated_at))
        .bind(k.expires_at.map(micros))
        .bind(k.revoked_at.map(micros))
        .bind(k.last_used_at.map(micros))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_client_keys(&self) -> Result<Vec<ClientKeyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM client_keys ORDER BY name, id"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }

    async fn get_client_key(&self, id: Uuid) -> Result<Option<ClientKeyRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM client_keys WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(key_from_row).transpose()?)
    }

    async fn update_client_key(
        &self,
        id: Uuid,
        team_id: Option<Uuid>,
        limits: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_keys SET team_id = ?, limits = ?, expires_at = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(team_id)
        .bind(limits)
        .bind(expires_at.map(micros))
        .bind(micros(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_client_key(
        &self,
        id: Uuid,
        key_hash: &Digest,
        hint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_keys SET key_hash = ?, hint = ?, updated_at = ? \
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(&key_hash[..])
        .bind(hint)
        .bind(micros(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_client_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_keys SET revoked_at = ?, updated_at = ? \
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(micros(now))
        .bind(micros(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_client_keys(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (id, at) in used {
            sqlx::query(
                "UPDATE client_keys SET last_used_at = ? \
                 WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            )
            .bind(micros(*at))
            .bind(*id)
            .bind(micros(*at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_budgets(&self) -> Result<Vec<(Uuid, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, budgets FROM users ORDER BY name, id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn set_user_budgets(
        &self,
        user_id: Uuid,
        budgets: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET budgets = ?, updated_at = ? WHERE id = ?")
            .bind(budgets)
            .bind(micros(now))
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_team(&self, t: &TeamRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO teams (id, name, budgets, created_at, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.budgets)
        .bind(micros(t.created_at))
        .bind(micros(t.updated_at))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_teams(&self) -> Result<Vec<TeamRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, budgets, created_at, updated_at FROM teams ORDER BY name, id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(team_from_row).collect::<Result<_, _>>()?)
    }

    async fn set_team_budgets(
        &self,
        team_id: Uuid,
        budgets: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE teams SET budgets = ?, updated_at = ? WHERE id = ?")
            .bind(budgets)
            .bind(micros(now))
            .bind(team_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_team(&self, team_id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM teams WHERE id = ?")
            .bind(team_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_team_member(
        &self,
        team_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO team_members (team_id, user_id, added_at) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_team_member(&self, team_id: Uuid, user_id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = ? AND user_id = ?")
            .bind(team_id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn team_members(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        let rows = sqlx::query(
            "SELECT team_id, user_id FROM team_members ORDER BY added_at, team_id, user_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn usage_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
        of: &UsageOf,
    ) -> Result<Vec<UsageRow>, StoreError> {
        if of.is_empty() {
            return Ok(Vec::new());
        }
        let w = bucket_secs(bucket).saturating_mul(1_000_000);
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT (started_at / {w}) * {w}, client_key, client_user, client_team, \
             requested_model, COUNT(*), COALESCE(SUM(input_tokens), 0), \
             COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_creation_input_tokens), 0), \
             COALESCE(SUM(cache_read_input_tokens), 0), TOTAL(cost_usd) \
             FROM requests WHERE started_at >= "
        ));
        qb.push_bind(micros(since)).push(" AND (");
        let mut first = true;
        push_in(&mut qb, &mut first, "client_key", &of.keys);
        push_in(&mut qb, &mut first, "client_user", &of.users);
        push_in(&mut qb, &mut first, "client_team", &of.teams);
        qb.push(") GROUP BY 1, 2, 3, 4, 5 ORDER BY 1");
        let rows = qb.build().fetch_all(self.pool()).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let int = |i: usize| r.try_get::<i64, _>(i).map(from_db);
                Ok(UsageRow {
                    bucket: time(r.try_get(0)?)?,
                    client_key: r.try_get(1)?,
                    client_user: r.try_get(2)?,
                    client_team: r.try_get(3)?,
                    requested_model: r.try_get(4)?,
                    requests: int(5)?,
                    input_tokens: int(6)?,
                    output_tokens: int(7)?,
                    cache_creation_input_tokens: int(8)?,
                    cache_read_input_tokens: int(9)?,
                    cost_usd: r.try_get(10)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
