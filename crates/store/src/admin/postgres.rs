//! [`AdminStore`] on PostgreSQL. Deleting a user cascades through foreign keys; the secrets
//! table is locked by the two statements that must see it whole (a put checking that it mixes no
//! keys, a rotation resealing everything).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{
    AdminStore, Digest, LoginLinkRow, PutSecret, Resealed, SecretRow, SessionRow, User,
    digest_from_db, role_from_db,
};
use crate::{PostgresStore, StoreError};

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at, updated_at";
const SECRET_COLUMNS: &str = "name, key_id, nonce, ciphertext, created_at, updated_at";
/// `admin_sessions` columns, qualified by `s.` so they can be joined with `users u`.
const SESSION_COLUMNS: &str = "s.token_hash, s.id, s.user_id, s.csrf_hash, s.created_at, \
     s.last_seen_at, s.expires_at, s.client_addr, s.user_agent";

fn user_from_row(row: &PgRow, first: usize) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get(first)?,
        name: row.try_get(first + 1)?,
        role: role_from_db(row.try_get(first + 2)?)?,
        password_hash: row.try_get(first + 3)?,
        created_at: row.try_get(first + 4)?,
        updated_at: row.try_get(first + 5)?,
    })
}

fn session_from_row(row: &PgRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        token_hash: digest_from_db(row.try_get(0)?)?,
        id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        csrf_hash: digest_from_db(row.try_get(3)?)?,
        created_at: row.try_get(4)?,
        last_seen_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        client_addr: row.try_get(7)?,
        user_agent: row.try_get(8)?,
    })
}

fn secret_from_row(row: &PgRow) -> Result<SecretRow, sqlx::Error> {
    Ok(SecretRow {
        name: row.try_get(0)?,
        key_id: row.try_get(1)?,
        nonce: row.try_get(2)?,
        ciphertext: row.try_get(3)?,
        created_at: row.try_get(4)?,
        updated_at: row.try_get(5)?,
    })
}

#[async_trait::async_trait]
impl AdminStore for PostgresStore {
    async fn create_user(&self, user: &User) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT ((lower(name))) DO NOTHING"
        ))
        .bind(user.id)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.password_hash.as_deref())
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| user_from_row(&r, 0)).transpose()?)
    }

    async fn get_user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        // Through the unique index `users_name` on lower(name).
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(name) = lower($1)"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| user_from_row(&r, 0)).transpose()?)
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY lower(name), id"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| user_from_row(r, 0))
            .collect::<Result<_, _>>()?)
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(now)
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user(&self, id: Uuid) -> Result<bool, StoreError> {
        // Sessions and links go with it: ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, id, user_id, csrf_hash, created_at, \
             last_seen_at, expires_at, client_addr, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.token_hash[..])
        .bind(s.id)
        .bind(s.user_id)
        .bind(&s.csrf_hash[..])
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(s.client_addr.as_deref())
        .bind(s.user_agent.as_deref())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn get_session(
        &self,
        token_hash: &Digest,
    ) -> Result<Option<(SessionRow, User)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS}, u.id, u.name, u.role, u.password_hash, u.created_at, \
             u.updated_at FROM admin_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1"
        ))
        .bind(&token_hash[..])
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((session_from_row(&row)?, user_from_row(&row, 9)?)))
    }

    async fn touch_session(
        &self,
        token_hash: &Digest,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE admin_sessions SET last_seen_at = $1 \
             WHERE token_hash = $2 AND last_seen_at < $1",
        )
        .bind(now)
        .bind(&token_hash[..])
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_session(&self, token_hash: &Digest) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
            .bind(&token_hash[..])
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_session_by_id(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM admin_sessions WHERE user_id = $1 AND ($2::UUID IS NULL OR id <> $2)",
        )
        .bind(user_id)
        .bind(except)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_sessions(&self, user_id: Option<Uuid>) -> Result<Vec<SessionRow>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SESSION_COLUMNS} FROM admin_sessions s"
        ));
        if let Some(user_id) = user_id {
            qb.push(" WHERE s.user_id = ").push_bind(user_id);
        }
        qb.push(" ORDER BY s.created_at, s.id");
        let rows = qb.build().fetch_all(self.pool()).await?;
        Ok(rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(idle_since)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected())
    }

    async fn insert_login_link(&self, link: &LoginLinkRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_links (token_hash, user_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&link.token_hash[..])
        .bind(link.user_id)
        .bind(link.created_at)
        .bind(link.expires_at)
        .bind(link.used_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn redeem_login_link(
        &self,
        token_hash: &Digest,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError> {
        // One statement: a racing second UPDATE waits for the first's row lock, then re-checks
        // its WHERE against the committed row (READ COMMITTED), finds `used_at` set, matches
        // nothing.
        let user = sqlx::query_scalar(
            "UPDATE login_links SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(&token_hash[..])
        .fetch_optional(self.pool())
        .await?;
        Ok(user)
    }

    async fn delete_expired_login_links(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_links WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn put_secret(&self, secret: &SecretRow) -> Result<PutSecret, StoreError> {
        let mut tx = self.pool().begin().await?;
        // SHARE ROW EXCLUSIVE conflicts with itself and with a rotation's EXCLUSIVE, not with
        // readers: puts and rotations take turns, so the check below sees the whole table.
        sqlx::query("LOCK TABLE secrets IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let other: Option<String> =
            sqlx::query_scalar("SELECT key_id FROM secrets WHERE key_id <> $1 LIMIT 1")
                .bind(&secret.key_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(key_id) = other {
            tx.rollback().await?;
            return Ok(PutSecret::OtherKey { key_id });
        }
        sqlx::query(&format!(
            "INSERT INTO secrets ({SECRET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, \
             nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
             updated_at = excluded.updated_at"
        ))
        .bind(&secret.name)
        .bind(&secret.key_id)
        .bind(&secret.nonce)
        .bind(&secret.ciphertext)
        .bind(secret.created_at)
        .bind(secret.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PutSecret::Stored)
    }

    async fn get_secret(&self, name: &str) -> Result<Option<SecretRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(secret_from_row).transpose()?)
    }

    async fn list_secrets(&self) -> Result<Vec<SecretRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SECRET_COLUMNS} FROM secrets ORDER BY name"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(secret_from_row).collect::<Result<_, _>>()?)
    }

    async fn delete_secret(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM secrets WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT key_id FROM secrets ORDER BY key_id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    async fn reseal_all_secrets(
        &self,
        key_id: &str,
        resealed: &[Resealed],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Readers go on; no secret is set, added or deleted until the commit.
        sqlx::query("LOCK TABLE secrets IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        for r in resealed {
            let done = sqlx::query(
                "UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3, updated_at = $4 \
                 WHERE name = $5 AND nonce = $6",
            )
            .bind(key_id)
            .bind(&r.nonce)
            .bind(&r.ciphertext)
            .bind(now)
            .bind(&r.name)
            .bind(&r.previous_nonce)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secrets WHERE key_id <> $1")
            .bind(key_id)
            .fetch_one(&mut *tx)
            .await?;
        if left != 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}
