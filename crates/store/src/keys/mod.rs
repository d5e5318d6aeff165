//! Client keys, teams and budgets ([`KeyStore`], a supertrait of [`crate::AdminStore`]), on both
//! backends (`sqlite.rs`, `postgres.rs`; schema in migrations `sqlite/0011_client_keys.sql` and
//! `postgres/0007_client_keys.sql`), and the request log's spend read back per key, user and
//! team ([`KeyStore::usage_history`]) to seed budget windows at start.
//!
//! As for the rest of the admin data, the store decides nothing: keys arrive as digests (the
//! `switchboard-auth` crate makes and checks them), limits and budgets as JSON text it never
//! reads, and every time is an argument.
//!
//! Invariants on both backends:
//! - key names are unique ignoring ASCII case, revoked keys included (the log names keys);
//! - deleting a user deletes their keys and memberships; deleting a team deletes its
//!   memberships and leaves its keys without a team;
//! - a key is revoked once ([`KeyStore::revoke_client_key`] never moves `revoked_at`), and its
//!   last use only moves forward.

mod postgres;
mod sqlite;

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Digest, StoreError};

/// A client key as stored: its digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyRow {
    /// UUID v7.
    pub id: Uuid,
    pub name: String,
    /// The key's keyed digest (HMAC-SHA256).
    pub key_hash: Digest,
    /// The key masked, for lists: `sb-AbCdEfGh…wxyz`.
    pub hint: String,
    pub user_id: Uuid,
    /// The team whose budgets it is charged to, besides its user's.
    pub team_id: Option<Uuid>,
    /// JSON (`switchboard_limits::Limits`).
    pub limits: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    /// JSON array of budgets.
    pub budgets: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Spend in one time bucket by one key (with its user and team) on one requested model.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    /// Start of the bucket.
    pub bucket: DateTime<Utc>,
    pub client_key: Option<String>,
    pub client_user: Option<String>,
    pub client_team: Option<String>,
    pub requested_model: Option<String>,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// USD of the priced requests.
    pub cost_usd: f64,
}

/// Whose spend [`KeyStore::usage_history`] reads: requests of any of these keys, users or teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageOf {
    pub keys: Vec<String>,
    pub users: Vec<String>,
    pub teams: Vec<String>,
}

impl UsageOf {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.users.is_empty() && self.teams.is_empty()
    }
}

/// Storage for client keys, teams and budgets. Both backends pass one behaviour suite
/// (`tests/it/keys.rs`).
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Inserts `key`; `false` (nothing written) when its name is taken, in any case.
    async fn insert_client_key(&self, key: &ClientKeyRow) -> Result<bool, StoreError>;

    /// Every key, revoked ones included, by name (ASCII case folded).
    async fn list_client_keys(&self) -> Result<Vec<ClientKeyRow>, StoreError>;

    async fn get_client_key(&self, id: Uuid) -> Result<Option<ClientKeyRow>, StoreError>;

    /// Sets a key's team, limits and expiry; `false` when there is no such key.
    async fn update_client_key(
        &self,
        id: Uuid,
        team_id: Option<Uuid>,
        limits: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Replaces a key that is not revoked with a new one (its digest and hint); `false` when
    /// there is no such key or it is revoked.
    async fn rotate_client_key(
        &self,
        id: Uuid,
        key_hash: &Digest,
        hint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Revokes a key at `now`; `false` when there is no such key or it was revoked already.
    async fn revoke_client_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Moves each key's last use forward to the time given (never back).
    async fn touch_client_keys(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), StoreError>;

    /// Every user's budgets (JSON), by user id.
    async fn user_budgets(&self) -> Result<Vec<(Uuid, String)>, StoreError>;

    /// Sets a user's budgets; `false` when there is no such user.
    async fn set_user_budgets(
        &self,
        user_id: Uuid,
        budgets: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Inserts `team`; `false` when its name is taken, in any case.
    async fn create_team(&self, team: &TeamRow) -> Result<bool, StoreError>;

    /// Every team, by name.
    async fn list_teams(&self) -> Result<Vec<TeamRow>, StoreError>;

    /// Sets a team's budgets; `false` when there is no such team.
    async fn set_team_budgets(
        &self,
        team_id: Uuid,
        budgets: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes a team and its memberships; its keys lose their team. `false` when there was
    /// none.
    async fn delete_team(&self, team_id: Uuid) -> Result<bool, StoreError>;

    /// Adds a user to a team; `false` when they were in it already.
    async fn add_team_member(
        &self,
        team_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Takes a user out of a team; `false` when they were not in it.
    async fn remove_team_member(&self, team_id: Uuid, user_id: Uuid) -> Result<bool, StoreError>;

    /// Every membership as (team, user).
    async fn team_members(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError>;

    /// The request log's spend since `since` by the keys, users and teams of `of`, per bucket of
    /// `bucket` (a whole number of seconds, from the Unix epoch), key and requested model.
    async fn usage_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
        of: &UsageOf,
    ) -> Result<Vec<UsageRow>, StoreError>;
}

/// Bucket width in whole seconds, at least one.
fn bucket_secs(bucket: Duration) -> i64 {
    i64::try_from(bucket.as_secs().max(1)).unwrap_or(i64::MAX)
}
