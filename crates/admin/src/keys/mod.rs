//! Client keys, teams and budgets on the control plane: the admin API (`/api/admin/keys`,
//! `/api/admin/teams`, `/api/admin/usage`, users' budgets) and keeping the data plane's key
//! table in step with the store.
//!
//! Every change is written to the store first, then [`AdminState::reload_keys`] reads
//! everything back and installs it in the data plane (`Control::install_keys`) before the
//! answer goes out: a key revoked through the API is refused from the next request on. The
//! assembly also reloads every minute (changes made by another gateway on the same database, or
//! by the CLI while this one ran) and writes the keys' last use to the store.
//!
//! Budget windows that start empty (a new budget, a new key, a restart) are seeded from the
//! request log: the spend of the key, user or team over each window, read back in slices.

mod api;
pub(crate) mod openapi;

use std::collections::HashMap;

use chrono::Utc;
use switchboard_auth::{ClientKeys, KeyHasher, Snapshot, parse_limits};
use switchboard_core::{KeyId, TeamId, UserId};
use switchboard_gateway::{KeyEntry, KeySet};
use switchboard_limits::{OwnerSpec, Subject, Usage, Window};
use switchboard_store::UsageOf;

pub(crate) use api::{
    add_member, create_key, create_team, get_key, list_keys, list_teams, remove_member,
    remove_team, revoke_key, rotate_key, set_team_budgets, set_user_budgets, update_key, usage,
};

use crate::AdminState;

/// What the control plane keeps for keys: one reload at a time.
#[derive(Default)]
pub(crate) struct KeysState {
    reload: tokio::sync::Mutex<()>,
}

impl AdminState {
    pub(crate) fn client_keys(&self) -> ClientKeys {
        ClientKeys::new(self.0.admin_store.clone())
    }

    /// Reads every key, user and team from the store and puts them in force on the data plane;
    /// new budget windows are seeded from the request log.
    ///
    /// # Errors
    /// The store or the secret store failed, or stored limits are unreadable: the keys in
    /// force stay as they were.
    pub async fn reload_keys(&self) -> Result<(), String> {
        let _one = self.0.keys.reload.lock().await;
        let snap = self
            .client_keys()
            .snapshot()
            .await
            .map_err(|e| e.to_string())?;
        let hasher = KeyHasher::load(&self.0.secrets)
            .await
            .map_err(|e| e.to_string())?;
        let set = key_set(&snap, hasher)?;
        let fresh = self.control().install_keys(set);
        if !fresh.is_empty() {
            self.seed(&fresh).await?;
        }
        Ok(())
    }

    /// Reads the log's spend of `fresh` over each window and charges it to their new windows.
    async fn seed(&self, fresh: &[(Subject, String)]) -> Result<(), String> {
        let mut of = UsageOf::default();
        for (s, name) in fresh {
            match s {
                Subject::Key(_) => of.keys.push(name.clone()),
                Subject::User(_) => of.users.push(name.clone()),
                Subject::Team(_) => of.teams.push(name.clone()),
            }
        }
        let now = Utc::now();
        for window in Window::ALL {
            let span = window.duration();
            let since = now - chrono::TimeDelta::from_std(span).map_err(|e| e.to_string())?;
            let slice = span / u32::try_from(switchboard_limits::ring::SLICES).unwrap_or(60);
            let rows = self
                .0
                .admin_store
                .usage_history(since, slice, &of)
                .await
                .map_err(|e| e.to_string())?;
            for (subject, name) in fresh {
                let history: Vec<_> = rows
                    .iter()
                    .filter(|r| {
                        let v = match subject {
                            Subject::Key(_) => &r.client_key,
                            Subject::User(_) => &r.client_user,
                            Subject::Team(_) => &r.client_team,
                        };
                        v.as_deref() == Some(name.as_str())
                    })
                    .map(|r| {
                        (
                            r.bucket,
                            r.requested_model.clone().unwrap_or_default(),
                            Usage {
                                input_tokens: r.input_tokens,
                                output_tokens: r.output_tokens,
                                cache_creation_input_tokens: r.cache_creation_input_tokens,
                                cache_read_input_tokens: r.cache_read_input_tokens,
                                cost_usd: Some(r.cost_usd),
                            },
                        )
                    })
                    .collect();
                self.control().seed_usage(*subject, window, &history);
            }
        }
        Ok(())
    }

    /// Writes when each key was last used (kept in memory on the request path) to the store.
    ///
    /// # Errors
    /// The store failed.
    pub async fn flush_key_use(&self) -> Result<(), String> {
        let used: Vec<_> = self
            .control()
            .keys_last_used()
            .into_iter()
            .filter(|(id, _)| !id.0.is_nil())
            .map(|(id, at)| (id.0, at))
            .collect();
        if used.is_empty() {
            return Ok(());
        }
        self.client_keys()
            .touch(&used)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The data plane's view of a snapshot.
fn key_set(snap: &Snapshot, hasher: Option<KeyHasher>) -> Result<KeySet, String> {
    let users: HashMap<_, _> = snap.users.iter().map(|u| (u.id, u.name.clone())).collect();
    let teams: HashMap<_, _> = snap.teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let mut keys = Vec::with_capacity(snap.keys.len());
    for k in &snap.keys {
        keys.push(KeyEntry {
            id: KeyId(k.id),
            name: k.name.clone(),
            digest: k.key_hash,
            user: users
                .get(&k.user_id)
                .map(|n| (UserId(k.user_id), n.clone())),
            team: k
                .team_id
                .and_then(|t| teams.get(&t).map(|n| (TeamId(t), n.clone()))),
            limits: parse_limits(k).map_err(|e| e.to_string())?,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        });
    }
    let mut owners = Vec::new();
    for (id, budgets) in &snap.user_budgets {
        if let Some(name) = users.get(id) {
            owners.push(OwnerSpec {
                subject: Subject::User(UserId(*id)),
                name: name.clone(),
                budgets: budgets.clone(),
            });
        }
    }
    for (id, budgets) in &snap.team_budgets {
        if let Some(name) = teams.get(id) {
            owners.push(OwnerSpec {
                subject: Subject::Team(TeamId(*id)),
                name: name.clone(),
                budgets: budgets.clone(),
            });
        }
    }
    Ok(KeySet {
        hasher,
        keys,
        owners,
    })
}
