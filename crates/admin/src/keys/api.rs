//! The admin API of client keys, teams, budgets and usage. Admins see and change everything;
//! a member (`Access::Member`) sees only their own keys and their own usage, and changes
//! nothing.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, Query, State};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_auth::{KeyChange, KeyError, KeyHasher, NewKey, parse_limits};
use switchboard_gateway::budget_json;
use switchboard_limits::{Budget, Limits, Report, Subject};
use switchboard_store::{BreakdownBy, Bucket, ClientKeyRow, Role, TeamRow, User};
use uuid::Uuid;

use crate::AdminState;
use crate::door::Principal;
use crate::error::ApiError;

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::InvalidName { .. }
            | KeyError::NotAMember { .. }
            | KeyError::ExpiryPast
            | KeyError::Limit(_) => Self::BadRequest(e.to_string()),
            KeyError::NameTaken { .. } | KeyError::Revoked(_) => Self::Conflict(e.to_string()),
            KeyError::NotFound { .. } => Self::NotFound(e.to_string()),
            KeyError::Store(s) => Self::Store(s),
            e => Self::Internal(e.to_string()),
        }
    }
}

/// A JSON body, or a 400 saying what the route takes.
fn body<T>(b: Result<Json<T>, JsonRejection>, takes: &str) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::BadRequest(format!("expected {takes}: {}", e.body_text())))
}

/// The caller, and whether they see everything.
fn caller(p: &Principal) -> Result<(&User, bool), ApiError> {
    let user = p.user().ok_or(ApiError::Unauthorized)?;
    Ok((user, user.role == Role::Admin))
}

/// Everything a key's JSON is made from.
struct Names {
    users: HashMap<Uuid, String>,
    teams: HashMap<Uuid, String>,
    reports: Vec<Report>,
    last_used: HashMap<Uuid, DateTime<Utc>>,
}

impl Names {
    async fn load(state: &AdminState) -> Result<Self, ApiError> {
        let store = &state.0.admin_store;
        let users = store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        let teams = store
            .list_teams()
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let last_used = state
            .control()
            .keys_last_used()
            .into_iter()
            .map(|(id, at)| (id.0, at))
            .collect();
        Ok(Self {
            users,
            teams,
            reports: state.control().key_reports(),
            last_used,
        })
    }

    fn report(&self, kind: &str, name: &str) -> Option<&Report> {
        self.reports
            .iter()
            .find(|r| r.subject.kind() == kind && &*r.name == name)
    }

    fn key_json(&self, k: &ClientKeyRow) -> Value {
        let now = Utc::now();
        let user = self.users.get(&k.user_id);
        let team = k.team_id.and_then(|t| self.teams.get(&t));
        let state = if k.revoked_at.is_some() {
            "revoked"
        } else if k.expires_at.is_some_and(|t| t <= now) {
            "expired"
        } else {
            "active"
        };
        let last_used = match (k.last_used_at, self.last_used.get(&k.id)) {
            (Some(a), Some(b)) => Some(a.max(*b)),
            (a, b) => a.or(b.copied()),
        };
        let limits = parse_limits(k).unwrap_or_default();
        let mine = self
            .reports
            .iter()
            .find(|r| r.subject == Subject::Key(KeyId(k.id)));
        let mut budgets = Vec::new();
        for (kind, name) in [("key", Some(&k.name)), ("user", user), ("team", team)] {
            if let Some(r) = name.and_then(|n| self.report(kind, n)) {
                budgets.extend(r.budgets.iter().map(|b| budget_json(kind, &r.name, b, now)));
            }
        }
        json!({
            "id": k.id,
            "name": k.name,
            "hint": k.hint,
            "user": user,
            "team": team,
            "limits": limits,
            "state": state,
            "created_at": k.created_at,
            "updated_at": k.updated_at,
            "expires_at": k.expires_at,
            "revoked_at": k.revoked_at,
            "last_used_at": last_used,
            "in_flight": mine.map_or(0, |r| r.in_flight),
            "since_start": mine.map(|r| json!({
                "requests": r.requests,
                "tokens": r.tokens,
                "cost_usd": switchboard_limits::usd(r.nanos),
            })),
            "budgets": budgets,
        })
    }
}

use switchboard_core::KeyId;

/// Puts the store's keys in force before answering (see the module docs of `crate::keys`).
async fn in_force(state: &AdminState) -> Result<(), ApiError> {
    state
        .reload_keys()
        .await
        .map_err(|e| ApiError::Internal(format!("saved, but not in force yet: {e}")))
}

/// `GET /api/admin/keys`: every key (a member: their own), with usage since the start and
/// the state of each budget that applies.
pub(crate) async fn list_keys(
    State(state): State<AdminState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let (me, all) = caller(&p)?;
    let keys = state.client_keys().list().await?;
    let names = Names::load(&state).await?;
    let rows: Vec<Value> = keys
        .iter()
        .filter(|k| all || k.user_id == me.id)
        .map(|k| names.key_json(k))
        .collect();
    Ok(Json(json!({
        "keys": rows,
        "required": state.control().keys_required(),
    })))
}

/// `GET /api/admin/keys/{key}` (name or id): one key; a member's own only (another's is "not
/// found", as if it did not exist).
pub(crate) async fn get_key(
    State(state): State<AdminState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (me, all) = caller(&p)?;
    let k = state.client_keys().find(&key).await?;
    if !all && k.user_id != me.id {
        return Err(KeyError::NotFound {
            what: "key",
            name: key,
        }
        .into());
    }
    let names = Names::load(&state).await?;
    Ok(Json(names.key_json(&k)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
    name: String,
    /// Default: the caller.
    user: Option<String>,
    team: Option<String>,
    #[serde(default)]
    limits: Limits,
    expires_at: Option<DateTime<Utc>>,
    /// `30d`, `12h`…: from now.
    expires_in: Option<String>,
}

fn expiry(
    at: Option<DateTime<Utc>>,
    within: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match (at, within) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give expires_at or expires_in, not both".into(),
        )),
        (at, None) => Ok(at),
        (None, Some(d)) => {
            let d = humantime::parse_duration(d).map_err(|e| {
                ApiError::BadRequest(format!("expires_in {d:?}: {e} (e.g. \"30d\", \"12h\")"))
            })?;
            let d = TimeDelta::from_std(d)
                .map_err(|_| ApiError::BadRequest("expires_in is too long".into()))?;
            Ok(Some(now + d))
        }
    }
}

/// The key itself, shown this once.
fn with_secret(mut v: Value, secret: &switchboard_auth::SecretString) -> Value {
    v["key"] = json!(secret.expose());
    v["shown_once"] = json!(true);
    v
}

/// `POST /api/admin/keys` `{"name", "user", "team", "limits", "expires_in"|"expires_at"}`:
/// makes a key. The answer's `key` is the key itself, shown this once: only its digest is kept.
pub(crate) async fn create_key(
    State(state): State<AdminState>,
    Extension(p): Extension<Principal>,
    b: Result<Json<NewKeyBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(
        b,
        "{\"name\", \"user\", \"team\", \"limits\", \"expires_in\" or \"expires_at\"}",
    )?;
    let (me, _) = caller(&p)?;
    let now = Utc::now();
    let new = NewKey {
        name: b.name,
        user: b.user.unwrap_or_else(|| me.name.clone()),
        team: b.team,
        limits: b.limits,
        expires_at: expiry(b.expires_at, b.expires_in.as_deref(), now)?,
    };
    let hasher = KeyHasher::load_or_create(&state.0.secrets, now)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (row, secret) = state.client_keys().create(&hasher, &new, now).await?;
    in_force(&state).await?;
    tracing::info!(key = %row.name, user = %new.user, "client key created");
    let names = Names::load(&state).await?;
    Ok(Json(with_secret(names.key_json(&row), &secret)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyChangeBody {
    /// `null`: no team.
    #[serde(default, with = "double_option")]
    team: Option<Option<String>>,
    limits: Option<Limits>,
    /// `null`: never expires.
    #[serde(default, with = "double_option")]
    expires_at: Option<Option<DateTime<Utc>>>,
    expires_in: Option<String>,
}

/// `Option<Option<T>>` from JSON: a missing field is `None`, `null` is `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PUT /api/admin/keys/{key}` `{"team", "limits", "expires_at"|"expires_in"}`: changes what
/// is given (limits are replaced whole).
pub(crate) async fn update_key(
    State(state): State<AdminState>,
    Path(key): Path<String>,
    b: Result<Json<KeyChangeBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(
        b,
        "{\"team\", \"limits\", \"expires_at\" or \"expires_in\"}",
    )?;
    let now = Utc::now();
    let expires_at = match (b.expires_at, b.expires_in) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give expires_at or expires_in, not both".into(),
            ));
        }
        (Some(at), None) => Some(at),
        (None, Some(d)) => Some(expiry(None, Some(&d), now)?),
        (None, None) => None,
    };
    let change = KeyChange {
        team: b.team,
        limits: b.limits,
        expires_at,
    };
    let row = state.client_keys().update(&key, &change, now).await?;
    in_force(&state).await?;
    let names = Names::load(&state).await?;
    Ok(Json(names.key_json(&row)))
}

/// `POST /api/admin/keys/{key}/revoke`: refused from the next request on.
pub(crate) async fn revoke_key(
    State(state): State<AdminState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = state.client_keys().revoke(&key, Utc::now()).await?;
    in_force(&state).await?;
    tracing::info!(key = %row.name, "client key revoked");
    let names = Names::load(&state).await?;
    Ok(Json(names.key_json(&row)))
}

/// `POST /api/admin/keys/{key}/rotate`: a new key in place of the old (same name, owner,
/// limits and budgets), shown this once; the old one is refused from the next request on.
pub(crate) async fn rotate_key(
    State(state): State<AdminState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let hasher = KeyHasher::load_or_create(&state.0.secrets, now)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (row, secret) = state.client_keys().rotate(&hasher, &key, now).await?;
    in_force(&state).await?;
    tracing::info!(key = %row.name, "client key rotated");
    let names = Names::load(&state).await?;
    Ok(Json(with_secret(names.key_json(&row), &secret)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetsBody {
    budgets: Vec<Budget>,
}

/// `PUT /api/admin/users/{name}/budgets` `{"budgets": ["5usd/day", …]}`: budgets all the
/// user's keys share.
pub(crate) async fn set_user_budgets(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    b: Result<Json<BudgetsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(b, "{\"budgets\": [\"5usd/day\", …]}")?;
    let user = state
        .client_keys()
        .set_user_budgets(&name, &b.budgets, Utc::now())
        .await?;
    in_force(&state).await?;
    Ok(Json(json!({"user": user.name, "budgets": b.budgets})))
}

fn team_json(t: &TeamRow, members: &[String], names: &Names) -> Value {
    let budgets: Vec<Budget> = serde_json::from_str(&t.budgets).unwrap_or_default();
    let now = Utc::now();
    let state: Vec<Value> = names
        .report("team", &t.name)
        .map(|r| {
            r.budgets
                .iter()
                .map(|b| budget_json("team", &r.name, b, now))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": t.id,
        "name": t.name,
        "budgets": budgets,
        "budget_state": state,
        "members": members,
        "created_at": t.created_at,
    })
}

/// `GET /api/admin/teams`: every team with its members and budgets (a member: the teams they
/// are in, with no other member named).
pub(crate) async fn list_teams(
    State(state): State<AdminState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let (me, all) = caller(&p)?;
    let store = &state.0.admin_store;
    let teams = store.list_teams().await?;
    let members = store.team_members().await?;
    let names = Names::load(&state).await?;
    let rows: Vec<Value> = teams
        .iter()
        .filter(|t| all || members.contains(&(t.id, me.id)))
        .map(|t| {
            let names_in: Vec<String> = members
                .iter()
                .filter(|(team, user)| *team == t.id && (all || *user == me.id))
                .filter_map(|(_, u)| names.users.get(u).cloned())
                .collect();
            team_json(t, &names_in, &names)
        })
        .collect();
    Ok(Json(json!({"teams": rows})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTeamBody {
    name: String,
    #[serde(default)]
    budgets: Vec<Budget>,
}

/// `POST /api/admin/teams` `{"name", "budgets"}`.
pub(crate) async fn create_team(
    State(state): State<AdminState>,
    b: Result<Json<NewTeamBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(b, "{\"name\", \"budgets\"}")?;
    let t = state
        .client_keys()
        .create_team(&b.name, &b.budgets, Utc::now())
        .await?;
    in_force(&state).await?;
    let names = Names::load(&state).await?;
    Ok(Json(team_json(&t, &[], &names)))
}

/// `PUT /api/admin/teams/{name}` `{"budgets"}`: budgets all the team's keys share.
pub(crate) async fn set_team_budgets(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    b: Result<Json<BudgetsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(b, "{\"budgets\": [\"5usd/day\", …]}")?;
    let t = state
        .client_keys()
        .set_team_budgets(&name, &b.budgets, Utc::now())
        .await?;
    in_force(&state).await?;
    let names = Names::load(&state).await?;
    Ok(Json(team_json(&t, &[], &names)))
}

/// `DELETE /api/admin/teams/{name}`: its keys stay, charged to no team.
pub(crate) async fn remove_team(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = state.client_keys().remove_team(&name).await?;
    in_force(&state).await?;
    Ok(Json(json!({"removed": t.name})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    user: String,
}

/// `POST /api/admin/teams/{name}/members` `{"user"}`.
pub(crate) async fn add_member(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    b: Result<Json<MemberBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let b = body(b, "{\"user\"}")?;
    let added = state
        .client_keys()
        .add_member(&name, &b.user, Utc::now())
        .await?;
    Ok(Json(json!({"team": name, "user": b.user, "added": added})))
}

/// `DELETE /api/admin/teams/{name}/members/{user}`.
pub(crate) async fn remove_member(
    State(state): State<AdminState>,
    Path((name, user)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let removed = state.client_keys().remove_member(&name, &user).await?;
    Ok(Json(
        json!({"team": name, "user": user, "removed": removed}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageParams {
    by: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    bucket: Option<String>,
}

/// `GET /api/admin/usage?by=key|user|team&from&to&bucket=hour|day`: usage per key, user or
/// team from the request log (the sum of its rows), with each one's budgets and what is left
/// of them now, and with `bucket` the same over time. A member sees their own keys (`by=key`)
/// and themselves (`by=user`), never a team's sum of others' requests.
pub(crate) async fn usage(
    State(state): State<AdminState>,
    Extension(p): Extension<Principal>,
    q: Result<Query<UsageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let (me, all) = caller(&p)?;
    let (by, kind) = match q.by.as_deref().unwrap_or("key") {
        "key" => (BreakdownBy::ClientKey, "key"),
        "user" => (BreakdownBy::ClientUser, "user"),
        "team" => (BreakdownBy::ClientTeam, "team"),
        other => {
            return Err(ApiError::bad(
                "by",
                format!("expected key, user or team, not {other:?}"),
            ));
        }
    };
    let bucket = match q.bucket.as_deref() {
        None => None,
        Some("hour") => Some(Bucket::Hour),
        Some("day") => Some(Bucket::Day),
        Some(other) => {
            return Err(ApiError::bad(
                "bucket",
                format!("expected hour or day, not {other:?}"),
            ));
        }
    };
    // What a member may see: their keys' names, or their own name.
    let visible: Option<Vec<String>> = if all {
        None
    } else {
        match kind {
            "key" => Some(
                state
                    .client_keys()
                    .list()
                    .await?
                    .into_iter()
                    .filter(|k| k.user_id == me.id)
                    .map(|k| k.name)
                    .collect(),
            ),
            "user" => Some(vec![me.name.clone()]),
            _ => {
                return Err(ApiError::Forbidden(
                    "a team's usage is its members' together: only admins see it".into(),
                ));
            }
        }
    };
    let shown = |name: &Option<String>| {
        name.as_ref()
            .is_some_and(|n| visible.as_ref().is_none_or(|v| v.contains(n)))
    };
    let now = Utc::now();
    let query = switchboard_store::Query {
        from: Some(q.from.unwrap_or(now - TimeDelta::days(30))),
        to: q.to,
        ..switchboard_store::Query::default()
    };
    let rows = state.store().breakdown(&query, by).await?;
    let names = Names::load(&state).await?;
    let mut out: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| shown(&r.key)) {
        let name = r.key.clone().unwrap_or_default();
        let budgets: Vec<Value> = names
            .report(kind, &name)
            .map(|rep| {
                rep.budgets
                    .iter()
                    .map(|b| budget_json(kind, &rep.name, b, now))
                    .collect()
            })
            .unwrap_or_default();
        out.push(json!({"name": name, "totals": r.totals, "budgets": budgets}));
        seen.push(name);
    }
    // Those with budgets and no request in the range yet.
    for rep in names.reports.iter().filter(|r| r.subject.kind() == kind) {
        let name = rep.name.to_string();
        if seen.contains(&name) || !shown(&Some(name.clone())) || rep.budgets.is_empty() {
            continue;
        }
        let budgets: Vec<Value> = rep
            .budgets
            .iter()
            .map(|b| budget_json(kind, &rep.name, b, now))
            .collect();
        out.push(json!({"name": name, "totals": switchboard_store::Totals::default(), "budgets": budgets}));
    }
    let mut doc = json!({
        "by": kind,
        "from": query.from,
        "to": query.to,
        "rows": out,
    });
    if let Some(bucket) = bucket {
        let series: Vec<Value> = state
            .store()
            .timeseries_by(&query, bucket, by)
            .await?
            .into_iter()
            .filter(|b| shown(&b.key))
            .map(|b| json!({"start": b.start, "name": b.key, "totals": b.totals}))
            .collect();
        doc["series"] = json!(series);
    }
    Ok(Json(doc))
}
