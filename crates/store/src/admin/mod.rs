//! Admin data: users, admin sessions, one-time login links and sealed secrets
//! ([`AdminStore`]), on both backends (`sqlite.rs`, `postgres.rs`; schema in migration
//! `sqlite/0009_admin.sql` and `postgres/0005_admin.sql`, applied by [`crate::Store::migrate`]).
//!
//! The store keeps what the `switchboard-auth` crate hands it and decides nothing: tokens arrive
//! as SHA-256 digests ([`Digest`]), passwords as PHC strings, secrets already sealed. It never
//! reads the clock either: every time is an argument, so tests control it.
//!
//! Invariants the schema holds on both backends:
//! - user names are unique without regard to ASCII case (`Alice` and `alice` are one user);
//! - deleting a user deletes their sessions and login links (a foreign key with `ON DELETE
//!   CASCADE` on PostgreSQL; a trigger on SQLite, whose pool runs with foreign keys off);
//! - a login link is redeemed by one conditional `UPDATE … RETURNING`, so it is used at most
//!   once even when two requests race;
//! - every stored secret carries the id of the master key that sealed it, and
//!   [`AdminStore::put_secret`] refuses to mix keys, so "which key are the secrets sealed with"
//!   always has one answer (master-key rotation relies on it to recover from a crash).

mod postgres;
mod sqlite;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{PostgresStore, SQLITE_FILE_NAME, SqliteStore, Store, StoreError};

/// SHA-256 of a token: what the store keeps instead of the token.
pub type Digest = [u8; 32];

/// What a user may do. Admins pass the control-plane door; members are the teams issue's
/// (client keys and budgets), and have no admin access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    /// The stored form: `admin` or `member`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// The role stored as `s`, if it is one.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user: the one users table, which the teams issue extends.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// UUID v7.
    pub id: Uuid,
    /// As entered; unique without regard to ASCII case.
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string; `None`: the user cannot log in with a password (the local admin,
    /// who comes in through the credential file and one-time links).
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The password hash is not a password, but it is offline-attackable: not printed.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// An admin session as stored. The cookie value itself is never stored, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the cookie value: the key the session is looked up by.
    pub token_hash: Digest,
    /// A public id (UUID v7) for listing and revoking, so the lookup key never leaves the store.
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the session's CSRF token.
    pub csrf_hash: Digest,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, whatever its activity.
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// A one-time login link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLinkRow {
    /// SHA-256 of the link's token.
    pub token_hash: Digest,
    /// The user the link logs in as.
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed; `None` while unused.
    pub used_at: Option<DateTime<Utc>>,
}

/// A secret sealed by the vault (XChaCha20-Poly1305 in `switchboard-auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    pub name: String,
    /// Id of the master key that sealed it.
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One secret sealed anew by a master-key rotation ([`AdminStore::reseal_all_secrets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    pub name: String,
    /// The nonce the row had when it was read: a row that changed since (set again by someone
    /// else) no longer has it, and the rotation is refused rather than overwriting it.
    pub previous_nonce: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// What [`AdminStore::put_secret`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutSecret {
    Stored,
    /// Nothing was written: other secrets are sealed with the master key `key_id`, and one
    /// table never mixes keys.
    OtherKey {
        key_id: String,
    },
}

/// Storage for the control plane's own data. Every time is passed in; nothing here reads the
/// clock. Both backends pass one behaviour suite (`tests/it/admin.rs`). Client keys, teams and
/// budgets are its supertrait, [`crate::KeyStore`].
#[async_trait::async_trait]
pub trait AdminStore: crate::KeyStore + Send + Sync + 'static {
    // Users.

    /// Inserts `user`; `false` (and nothing written) when the name is taken, in any case.
    async fn create_user(&self, user: &User) -> Result<bool, StoreError>;

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, StoreError>;

    /// The user named `name`, without regard to ASCII case.
    async fn get_user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;

    /// Every user, by name (ASCII case folded).
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Sets (or with `None` clears) a user's password hash and `updated_at`; `false` when there
    /// is no such user.
    async fn set_password_hash(
        &self,
        id: Uuid,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes a user with their sessions and login links; `false` when there was none.
    async fn delete_user(&self, id: Uuid) -> Result<bool, StoreError>;

    // Admin sessions.

    async fn insert_session(&self, session: &SessionRow) -> Result<(), StoreError>;

    /// The session whose cookie hashes to `token_hash`, with its user, in one query (it runs on
    /// every admin request).
    async fn get_session(
        &self,
        token_hash: &Digest,
    ) -> Result<Option<(SessionRow, User)>, StoreError>;

    /// Moves `last_seen_at` forward to `now` (never back); `false` when there is no such
    /// session or it was already seen at or after `now`.
    async fn touch_session(
        &self,
        token_hash: &Digest,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the session whose cookie hashes to `token_hash` (logout).
    async fn delete_session(&self, token_hash: &Digest) -> Result<bool, StoreError>;

    /// Deletes the session with public id `id` (revoke).
    async fn delete_session_by_id(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Deletes every session of `user_id` except the one with public id `except`; returns how
    /// many.
    async fn delete_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<u64, StoreError>;

    /// Sessions of `user_id` (of everyone with `None`), oldest first.
    async fn list_sessions(&self, user_id: Option<Uuid>) -> Result<Vec<SessionRow>, StoreError>;

    /// Deletes sessions past their absolute end (`expires_at <= now`) or idle since
    /// `idle_since` (`last_seen_at <= idle_since`); returns how many.
    async fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    // One-time login links.

    async fn insert_login_link(&self, link: &LoginLinkRow) -> Result<(), StoreError>;

    /// Marks the link used at `now` if it is unused and unexpired, atomically (one conditional
    /// `UPDATE`), and returns the user it logs in as; `None` for a used, expired or unknown
    /// link. Of two concurrent redemptions exactly one gets the user.
    async fn redeem_login_link(
        &self,
        token_hash: &Digest,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError>;

    /// Deletes links that expired at or before `now`, used or not; returns how many.
    async fn delete_expired_login_links(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    // Sealed secrets.

    /// Inserts or replaces (by name, keeping `created_at`) a sealed secret, unless a stored
    /// secret (the one it would replace included) is sealed with another master key: then
    /// nothing is written.
    async fn put_secret(&self, secret: &SecretRow) -> Result<PutSecret, StoreError>;

    async fn get_secret(&self, name: &str) -> Result<Option<SecretRow>, StoreError>;

    /// Every secret, by name.
    async fn list_secrets(&self) -> Result<Vec<SecretRow>, StoreError>;

    async fn delete_secret(&self, name: &str) -> Result<bool, StoreError>;

    /// The distinct master-key ids the stored secrets carry (empty, or one: see
    /// [`AdminStore::put_secret`]), sorted.
    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError>;

    /// Master-key rotation, in one transaction: every row of `resealed` replaces the stored
    /// secret of its name, now sealed with `key_id`, provided the stored row still has
    /// `previous_nonce`; and afterwards every stored secret must carry `key_id`. `false`, with
    /// nothing changed, when a secret was set, added or deleted since it was read.
    async fn reseal_all_secrets(
        &self,
        key_id: &str,
        resealed: &[Resealed],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// [`crate::open`] for a gateway that also needs the admin tables: one store, migrated, behind
/// both traits (`sqlite:`/`postgres://` URLs as [`crate::open`] reads them).
///
/// # Errors
/// As [`crate::open`].
pub async fn open_with_admin(
    url: Option<&str>,
    data_dir: &Path,
) -> Result<(Arc<dyn Store>, Arc<dyn AdminStore>), StoreError> {
    fn both<S: Store + AdminStore>(s: S) -> (Arc<dyn Store>, Arc<dyn AdminStore>) {
        let s = Arc::new(s);
        (Arc::clone(&s) as Arc<dyn Store>, s)
    }
    let (store, admin) = match url {
        None => both(SqliteStore::open(&data_dir.join(SQLITE_FILE_NAME)).await?),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            both(PostgresStore::connect(url).await?)
        }
        Some(url) if url.starts_with("sqlite:") => {
            let rest = url.trim_start_matches("sqlite:");
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split('?').next().unwrap_or(rest);
            both(SqliteStore::open(&data_dir.join(path)).await?)
        }
        Some(url) => {
            return Err(StoreError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            });
        }
    };
    store.migrate().await?;
    Ok((store, admin))
}

/// A role read back from the database.
fn role_from_db(s: &str) -> Result<Role, sqlx::Error> {
    Role::parse(s).ok_or_else(|| sqlx::Error::Decode(format!("unknown user role {s:?}").into()))
}

/// A digest read back from the database.
pub(crate) fn digest_from_db(bytes: &[u8]) -> Result<Digest, sqlx::Error> {
    bytes.try_into().map_err(|_| {
        sqlx::Error::Decode(format!("token digest of {} bytes, not 32", bytes.len()).into())
    })
}
