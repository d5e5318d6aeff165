//! Client keys, teams and budgets as the admin API and `switchboard keys|users|teams` manage
//! them: names checked, limits validated, references resolved by name, keys made and shown
//! once. The store keeps only what this hands it (digests, JSON).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use switchboard_config::SecretString;
use switchboard_limits::{Budget, LimitError, Limits, validate_budgets};
use switchboard_store::{AdminStore, ClientKeyRow, StoreError, TeamRow, User};
use uuid::Uuid;

use crate::client_keys::{self, KeyHasher};
use crate::token::RngError;
use crate::users::validate_name;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid {what} name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName { what: &'static str, name: String },
    #[error("a {what} named {name:?} already exists (names ignore case): choose another name")]
    NameTaken { what: &'static str, name: String },
    #[error("no {what} named {name:?}: `switchboard {what}s list` shows what there is")]
    NotFound { what: &'static str, name: String },
    #[error(
        "{user} is not in team {team}: add them first (`switchboard teams add-member {team} {user}`)"
    )]
    NotAMember { user: String, team: String },
    #[error("the key {0} is revoked: make a new one")]
    Revoked(String),
    #[error("the expiry must be in the future")]
    ExpiryPast,
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("stored limits of {what} {name} are unreadable: {reason}")]
    Unreadable {
        what: &'static str,
        name: String,
        reason: String,
    },
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A key to make.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub name: String,
    /// Whose it is.
    pub user: String,
    /// The team it is charged to; its user must be a member.
    pub team: Option<String>,
    pub limits: Limits,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What to change in a key (`None`: leave as it is).
#[derive(Debug, Clone, Default)]
pub struct KeyChange {
    /// `Some(None)`: no team.
    pub team: Option<Option<String>>,
    pub limits: Option<Limits>,
    /// `Some(None)`: never expires.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// Everything the gateway needs to enforce keys, read in one go.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub keys: Vec<ClientKeyRow>,
    pub users: Vec<User>,
    /// By user id.
    pub user_budgets: Vec<(Uuid, Vec<Budget>)>,
    pub teams: Vec<TeamRow>,
    /// By team id.
    pub team_budgets: Vec<(Uuid, Vec<Budget>)>,
    /// (team, user).
    pub members: Vec<(Uuid, Uuid)>,
}

/// The client-key service. Cheap to clone.
#[derive(Clone)]
pub struct ClientKeys {
    store: Arc<dyn AdminStore>,
}

/// Parses stored limits.
///
/// # Errors
/// The JSON is not limits.
pub fn parse_limits(k: &ClientKeyRow) -> Result<Limits, KeyError> {
    serde_json::from_str(&k.limits).map_err(|e| KeyError::Unreadable {
        what: "key",
        name: k.name.clone(),
        reason: e.to_string(),
    })
}

fn parse_budgets(what: &'static str, name: &str, json: &str) -> Result<Vec<Budget>, KeyError> {
    serde_json::from_str(json).map_err(|e| KeyError::Unreadable {
        what,
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

fn budgets_json(budgets: &[Budget]) -> String {
    serde_json::to_string(budgets).unwrap_or_else(|_| "[]".to_owned())
}

fn limits_json(limits: &Limits) -> String {
    serde_json::to_string(limits).unwrap_or_else(|_| "{}".to_owned())
}

fn check_name(what: &'static str, name: &str) -> Result<(), KeyError> {
    validate_name(name).map_err(|_| KeyError::InvalidName {
        what,
        name: name.chars().take(65).collect(),
    })
}

impl ClientKeys {
    #[must_use]
    pub fn new(store: Arc<dyn AdminStore>) -> Self {
        Self { store }
    }

    async fn user(&self, name: &str) -> Result<User, KeyError> {
        self.store
            .get_user_by_name(name)
            .await?
            .ok_or_else(|| KeyError::NotFound {
                what: "user",
                name: name.to_owned(),
            })
    }

    /// The team named `name` (ignoring case).
    ///
    /// # Errors
    /// No such team; the store failed.
    pub async fn team(&self, name: &str) -> Result<TeamRow, KeyError> {
        self.store
            .list_teams()
            .await?
            .into_iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| KeyError::NotFound {
                what: "team",
                name: name.to_owned(),
            })
    }

    async fn member_team(&self, user: &User, team: &str) -> Result<TeamRow, KeyError> {
        let t = self.team(team).await?;
        let members = self.store.team_members().await?;
        if members.contains(&(t.id, user.id)) {
            Ok(t)
        } else {
            Err(KeyError::NotAMember {
                user: user.name.clone(),
                team: t.name,
            })
        }
    }

    /// Makes a key; the key itself is in the answer and nowhere else.
    ///
    /// # Errors
    /// A bad or taken name, an unknown user or team, a user not in the team, invalid limits,
    /// an expiry in the past, a failed store.
    pub async fn create(
        &self,
        hasher: &KeyHasher,
        new: &NewKey,
        now: DateTime<Utc>,
    ) -> Result<(ClientKeyRow, SecretString), KeyError> {
        check_name("key", &new.name)?;
        new.limits.validate()?;
        if new.expires_at.is_some_and(|t| t <= now) {
            return Err(KeyError::ExpiryPast);
        }
        let user = self.user(&new.user).await?;
        let team = match &new.team {
            Some(t) => Some(self.member_team(&user, t).await?.id),
            None => None,
        };
        let secret = client_keys::generate()?;
        let row = ClientKeyRow {
            id: Uuid::now_v7(),
            name: new.name.clone(),
            key_hash: hasher.digest(secret.expose().as_bytes()),
            hint: client_keys::hint(&secret),
            user_id: user.id,
            team_id: team,
            limits: limits_json(&new.limits),
            created_at: now,
            updated_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        if !self.store.insert_client_key(&row).await? {
            return Err(KeyError::NameTaken {
                what: "key",
                name: new.name.clone(),
            });
        }
        Ok((row, secret))
    }

    /// Every key, revoked ones too, by name.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self) -> Result<Vec<ClientKeyRow>, KeyError> {
        Ok(self.store.list_client_keys().await?)
    }

    /// The key named `name` (ignoring case), or with the id `name`.
    ///
    /// # Errors
    /// No such key; the store failed.
    pub async fn find(&self, name: &str) -> Result<ClientKeyRow, KeyError> {
        if let Ok(id) = name.parse::<Uuid>()
            && let Some(k) = self.store.get_client_key(id).await?
        {
            return Ok(k);
        }
        self.store
            .list_client_keys()
            .await?
            .into_iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| KeyError::NotFound {
                what: "key",
                name: name.to_owned(),
            })
    }

    /// Revokes a key: refused from the next request on.
    ///
    /// # Errors
    /// No such key, revoked already; the store failed.
    pub async fn revoke(&self, name: &str, now: DateTime<Utc>) -> Result<ClientKeyRow, KeyError> {
        let mut k = self.find(name).await?;
        if !self.store.revoke_client_key(k.id, now).await? {
            return Err(KeyError::Revoked(k.name));
        }
        k.revoked_at = Some(now);
        k.updated_at = now;
        Ok(k)
    }

    /// Replaces a key with a new one (same name, owner, limits and usage); the old one is
    /// refused from the next request on.
    ///
    /// # Errors
    /// No such key, revoked; the store failed.
    pub async fn rotate(
        &self,
        hasher: &KeyHasher,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(ClientKeyRow, SecretString), KeyError> {
        let mut k = self.find(name).await?;
        if k.revoked_at.is_some() {
            return Err(KeyError::Revoked(k.name));
        }
        let secret = client_keys::generate()?;
        let digest = hasher.digest(secret.expose().as_bytes());
        let hint = client_keys::hint(&secret);
        if !self
            .store
            .rotate_client_key(k.id, &digest, &hint, now)
            .await?
        {
            return Err(KeyError::Revoked(k.name));
        }
        k.key_hash = digest;
        k.hint = hint;
        k.updated_at = now;
        Ok((k, secret))
    }

    /// Changes a key's team, limits or expiry.
    ///
    /// # Errors
    /// As [`ClientKeys::create`], for what changes.
    pub async fn update(
        &self,
        name: &str,
        change: &KeyChange,
        now: DateTime<Utc>,
    ) -> Result<ClientKeyRow, KeyError> {
        let mut k = self.find(name).await?;
        if let Some(team) = &change.team {
            k.team_id = match team {
                Some(t) => {
                    let user = self.store.get_user(k.user_id).await?.ok_or_else(|| {
                        KeyError::NotFound {
                            what: "user",
                            name: k.user_id.to_string(),
                        }
                    })?;
                    Some(self.member_team(&user, t).await?.id)
                }
                None => None,
            };
        }
        if let Some(limits) = &change.limits {
            limits.validate()?;
            k.limits = limits_json(limits);
        }
        if let Some(expires_at) = change.expires_at {
            k.expires_at = expires_at;
        }
        if !self
            .store
            .update_client_key(k.id, k.team_id, &k.limits, k.expires_at, now)
            .await?
        {
            return Err(KeyError::NotFound {
                what: "key",
                name: name.to_owned(),
            });
        }
        k.updated_at = now;
        Ok(k)
    }

    /// Sets a user's budgets (shared by all their keys).
    ///
    /// # Errors
    /// No such user, invalid budgets; the store failed.
    pub async fn set_user_budgets(
        &self,
        user: &str,
        budgets: &[Budget],
        now: DateTime<Utc>,
    ) -> Result<User, KeyError> {
        validate_budgets(budgets)?;
        let u = self.user(user).await?;
        self.store
            .set_user_budgets(u.id, &budgets_json(budgets), now)
            .await?;
        Ok(u)
    }

    /// Makes a team.
    ///
    /// # Errors
    /// A bad or taken name, invalid budgets; the store failed.
    pub async fn create_team(
        &self,
        name: &str,
        budgets: &[Budget],
        now: DateTime<Utc>,
    ) -> Result<TeamRow, KeyError> {
        check_name("team", name)?;
        validate_budgets(budgets)?;
        let team = TeamRow {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            budgets: budgets_json(budgets),
            created_at: now,
            updated_at: now,
        };
        if !self.store.create_team(&team).await? {
            return Err(KeyError::NameTaken {
                what: "team",
                name: name.to_owned(),
            });
        }
        Ok(team)
    }

    /// Sets a team's budgets (shared by all the keys charged to it).
    ///
    /// # Errors
    /// No such team, invalid budgets; the store failed.
    pub async fn set_team_budgets(
        &self,
        team: &str,
        budgets: &[Budget],
        now: DateTime<Utc>,
    ) -> Result<TeamRow, KeyError> {
        validate_budgets(budgets)?;
        let mut t = self.team(team).await?;
        t.budgets = budgets_json(budgets);
        self.store.set_team_budgets(t.id, &t.budgets, now).await?;
        t.updated_at = now;
        Ok(t)
    }

    /// Removes a team; its keys stay, charged to no team.
    ///
    /// # Errors
    /// No such team; the store failed.
    pub async fn remove_team(&self, team: &str) -> Result<TeamRow, KeyError> {
        let t = self.team(team).await?;
        self.store.delete_team(t.id).await?;
        Ok(t)
    }

    /// Adds `user` to `team`; `false` when they were in it.
    ///
    /// # Errors
    /// No such team or user; the store failed.
    pub async fn add_member(
        &self,
        team: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, KeyError> {
        let t = self.team(team).await?;
        let u = self.user(user).await?;
        Ok(self.store.add_team_member(t.id, u.id, now).await?)
    }

    /// Takes `user` out of `team`; their keys charged to it stay so until changed.
    ///
    /// # Errors
    /// No such team or user; the store failed.
    pub async fn remove_member(&self, team: &str, user: &str) -> Result<bool, KeyError> {
        let t = self.team(team).await?;
        let u = self.user(user).await?;
        Ok(self.store.remove_team_member(t.id, u.id).await?)
    }

    /// Everything the gateway enforces, read from the store. Budgets that no longer parse
    /// (written by a newer version) are an error, not silently dropped.
    ///
    /// # Errors
    /// The store failed; stored limits are unreadable.
    pub async fn snapshot(&self) -> Result<Snapshot, KeyError> {
        let keys = self.store.list_client_keys().await?;
        for k in &keys {
            parse_limits(k)?;
        }
        let users = self.store.list_users().await?;
        let mut user_budgets = Vec::new();
        for (id, json) in self.store.user_budgets().await? {
            let name = users
                .iter()
                .find(|u| u.id == id)
                .map_or_else(|| id.to_string(), |u| u.name.clone());
            user_budgets.push((id, parse_budgets("user", &name, &json)?));
        }
        let teams = self.store.list_teams().await?;
        let team_budgets = teams
            .iter()
            .map(|t| Ok((t.id, parse_budgets("team", &t.name, &t.budgets)?)))
            .collect::<Result<_, KeyError>>()?;
        let members = self.store.team_members().await?;
        Ok(Snapshot {
            keys,
            users,
            user_budgets,
            teams,
            team_budgets,
            members,
        })
    }

    /// Records when keys were last used (the gateway keeps it in memory; this makes it last).
    ///
    /// # Errors
    /// The store failed.
    pub async fn touch(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), KeyError> {
        Ok(self.store.touch_client_keys(used).await?)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_store::Role;

    use super::*;
    use crate::Users;
    use crate::test_support::{at, store};

    fn budget(s: &str) -> Budget {
        s.parse().expect("budget")
    }

    #[tokio::test]
    async fn keys_are_shown_once_stored_hashed_and_checked_on_the_way_in() {
        let (_dir, store) = store().await;
        let users = Users::new(store.clone());
        users
            .add("alice", Role::Member, None, at(0))
            .await
            .expect("alice");
        users
            .add("bob", Role::Member, None, at(0))
            .await
            .expect("bob");
        let keys = ClientKeys::new(store.clone());
        let hasher = KeyHasher::new(&[7; 32]);
        let team = keys
            .create_team("platform", &[budget("3usd/day")], at(1))
            .await
            .expect("team");
        keys.add_member("Platform", "alice", at(2))
            .await
            .expect("member");

        let new = NewKey {
            name: "ci".into(),
            user: "alice".into(),
            team: Some("platform".into()),
            limits: Limits {
                rpm: Some(60),
                budgets: vec![budget("opus:10usd/week")],
                ..Limits::default()
            },
            expires_at: Some(at(86_400)),
        };
        let (row, secret) = keys.create(&hasher, &new, at(3)).await.expect("create");
        assert!(client_keys::looks_like_key(secret.expose().as_bytes()));
        assert_eq!(row.key_hash, hasher.digest(secret.expose().as_bytes()));
        assert_eq!(row.team_id, Some(team.id));
        assert_eq!(parse_limits(&row).expect("limits"), new.limits);
        let stored = keys.find("CI").await.expect("find");
        assert_eq!(stored, row);
        assert!(
            !format!("{stored:?}").contains(secret.expose()),
            "the key itself is stored nowhere"
        );

        for (bad, want) in [
            (
                NewKey {
                    name: "ci".into(),
                    ..new.clone()
                },
                "already exists",
            ),
            (
                NewKey {
                    name: "x".into(),
                    user: "bob".into(),
                    ..new.clone()
                },
                "bob is not in team platform",
            ),
            (
                NewKey {
                    name: "x".into(),
                    user: "carol".into(),
                    ..new.clone()
                },
                "no user named \"carol\"",
            ),
            (
                NewKey {
                    name: "bad name".into(),
                    ..new.clone()
                },
                "invalid key name",
            ),
            (
                NewKey {
                    name: "old".into(),
                    expires_at: Some(at(0)),
                    ..new.clone()
                },
                "in the future",
            ),
        ] {
            let e = keys.create(&hasher, &bad, at(3)).await.expect_err(want);
            assert!(e.to_string().contains(want), "{e}");
        }

        let (rotated, again) = keys.rotate(&hasher, "ci", at(4)).await.expect("rotate");
        assert_ne!(again, secret);
        assert_eq!(rotated.key_hash, hasher.digest(again.expose().as_bytes()));
        let changed = keys
            .update(
                "ci",
                &KeyChange {
                    team: Some(None),
                    limits: Some(Limits::default()),
                    expires_at: Some(None),
                },
                at(5),
            )
            .await
            .expect("update");
        assert_eq!(
            (changed.team_id, changed.limits.as_str(), changed.expires_at),
            (None, "{}", None)
        );
        keys.revoke("ci", at(6)).await.expect("revoke");
        assert!(matches!(
            keys.revoke("ci", at(7)).await,
            Err(KeyError::Revoked(_))
        ));
        assert!(matches!(
            keys.rotate(&hasher, "ci", at(7)).await,
            Err(KeyError::Revoked(_))
        ));

        keys.set_user_budgets("alice", &[budget("1usd/day")], at(8))
            .await
            .expect("user budgets");
        let snap = keys.snapshot().await.expect("snapshot");
        assert_eq!(snap.keys.len(), 1);
        assert_eq!(snap.teams.len(), 1);
        assert_eq!(snap.team_budgets[0].1, vec![budget("3usd/day")]);
        let alice = snap
            .users
            .iter()
            .find(|u| u.name == "alice")
            .expect("alice");
        let alices = snap.user_budgets.iter().find(|(id, _)| *id == alice.id);
        assert_eq!(
            alices.map(|(_, b)| b.clone()),
            Some(vec![budget("1usd/day")])
        );
        assert_eq!(snap.members, vec![(team.id, alice.id)]);
        keys.remove_team("platform").await.expect("remove team");
        assert!(keys.snapshot().await.expect("snapshot").teams.is_empty());
    }
}
