//! `switchboard keys|users|teams`: client keys, the users they belong to and teams, with their
//! limits and budgets — the same operations as the admin API, for scripts and headless servers.
//!
//! When the gateway runs, it does the work (so a change is in force at once); when it does not,
//! this process opens the store and the secret store itself, and the gateway reads the change
//! when it starts. A key is printed once, alone on stdout (`KEY=$(switchboard keys create ci)`);
//! everything else goes to stderr or is a table.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use switchboard_auth::vault::{MASTER_KEY_ENV, Secrets};
use switchboard_auth::{ClientKeys, KeyChange, KeyHasher, NewKey, Users, parse_limits};
use switchboard_limits::{Budget, Limits};
use switchboard_store::{AdminStore, Role};

use crate::commands::admin::read_secret;
use crate::commands::remote::{Remote, RemoteError};
use crate::commands::{data_dir, open_admin_store, print_out, table};

/// Where the configuration (and so the database) is, for every command here.
#[derive(Debug, Args)]
pub(crate) struct Place {
    /// Configuration file naming the database (resolved as for `serve`).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    pub(crate) command: KeysCommand,
    #[command(flatten)]
    pub(crate) place: Place,
}

/// A key's limits, as flags.
#[derive(Debug, Args, Default)]
pub(crate) struct LimitFlags {
    /// Models it may ask for (globs: `claude-sonnet-*`); repeat or separate with commas.
    #[arg(long, value_name = "GLOB", num_args = 1.., value_delimiter = ',')]
    models: Vec<String>,
    /// Endpoints its requests may go to (their names).
    #[arg(long, value_name = "NAME", num_args = 1.., value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Clients that may use it, by User-Agent glob (`claude-cli/*`: Claude Code only).
    #[arg(long, value_name = "PATTERN", num_args = 1.., value_delimiter = ',')]
    clients: Vec<String>,
    /// Requests per minute.
    #[arg(long, value_name = "N")]
    rpm: Option<u32>,
    /// Tokens per minute (input, cache writes and output).
    #[arg(long, value_name = "N")]
    tpm: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N")]
    concurrency: Option<u32>,
    /// Budgets, `[FAMILY:]AMOUNT/WINDOW`: `5usd/day`, `2000000tok/5h`, `opus:10usd/week`.
    #[arg(long, value_name = "AMOUNT/WINDOW", num_args = 1.., value_delimiter = ',')]
    budget: Vec<Budget>,
}

impl LimitFlags {
    fn limits(&self) -> Limits {
        Limits {
            models: self.models.clone(),
            endpoints: self.endpoints.clone(),
            clients: self.clients.clone(),
            concurrency: self.concurrency,
            rpm: self.rpm,
            tpm: self.tpm,
            budgets: self.budget.clone(),
        }
    }

    fn any(&self) -> bool {
        self.limits() != Limits::default()
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a client key; it is printed once, on stdout.
    Create {
        name: String,
        /// Whose it is (default: the local admin).
        #[arg(long)]
        user: Option<String>,
        /// The team its spend is also charged to (the user must be in it).
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        limits: LimitFlags,
        /// How long it works: `30d`, `12h`.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// Every key with its owner, state, last use and budgets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One key: limits, usage since the gateway started, each budget's spend and what is left.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a key's limits (replaced by the flags given), team or expiry.
    Limit {
        name: String,
        #[command(flatten)]
        limits: LimitFlags,
        /// Remove every limit.
        #[arg(long, conflicts_with_all = ["models", "endpoints", "clients", "rpm", "tpm", "concurrency", "budget"])]
        none: bool,
        #[arg(long)]
        team: Option<String>,
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// Revoke a key: refused from the next request on.
    Revoke { name: String },
    /// A new key in place of the old one (same name, owner, limits), printed once.
    Rotate { name: String },
}

#[derive(Debug, Args)]
pub(crate) struct UsersArgs {
    #[command(subcommand)]
    pub(crate) command: UsersCommand,
    #[command(flatten)]
    pub(crate) place: Place,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Add a user (a member unless --admin); keys are made for users.
    Add {
        name: String,
        /// An admin rather than a member.
        #[arg(long)]
        admin: bool,
        /// Also set a password (prompted for, or one line of stdin) to sign in to the
        /// dashboard, where a member sees their own keys and usage.
        #[arg(long)]
        password: bool,
        /// Budgets all the user's keys share: `5usd/day`, `opus:10usd/week`.
        #[arg(long, value_name = "AMOUNT/WINDOW", num_args = 1.., value_delimiter = ',')]
        budget: Vec<Budget>,
    },
    /// Every user with their role, teams and budgets.
    List,
    /// Set a user's budgets (none given: no budget).
    Budget {
        name: String,
        #[arg(value_name = "AMOUNT/WINDOW")]
        budgets: Vec<Budget>,
    },
    /// Remove a user with their keys and sessions.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub(crate) struct TeamsArgs {
    #[command(subcommand)]
    pub(crate) command: TeamsCommand,
    #[command(flatten)]
    pub(crate) place: Place,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TeamsCommand {
    /// Make a team.
    Add {
        name: String,
        /// Budgets all the team's keys share.
        #[arg(long, value_name = "AMOUNT/WINDOW", num_args = 1.., value_delimiter = ',')]
        budget: Vec<Budget>,
    },
    /// Every team with its members and budgets.
    List,
    /// Set a team's budgets (none given: no budget).
    Budget {
        name: String,
        #[arg(value_name = "AMOUNT/WINDOW")]
        budgets: Vec<Budget>,
    },
    /// Put a user in a team.
    AddMember { team: String, user: String },
    /// Take a user out of a team.
    RemoveMember { team: String, user: String },
    /// Remove a team; its keys stay, charged to no team.
    Remove { name: String },
}

/// The running gateway, when this user can reach it.
struct Via {
    remote: Option<Remote>,
}

impl Via {
    fn new(place: &Place) -> Self {
        Self {
            remote: Remote::locate(None, place.config.clone()).ok(),
        }
    }

    /// The gateway's answer; `None` when no gateway answers (do it locally).
    async fn ask(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Option<Value>> {
        let Some(r) = &self.remote else {
            return Ok(None);
        };
        let body = body.unwrap_or_else(|| json!({}));
        let answer = match method {
            "GET" => r.get(path).await,
            "POST" => r.post(path, &body).await,
            "PUT" => r.put(path, &body).await,
            _ => r.delete(path).await,
        };
        match answer {
            Ok(v) => Ok(Some(v)),
            Err(RemoteError::Unreachable { .. }) => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }
}

/// The store and the vault, opened by this process.
struct Local {
    store: Arc<dyn AdminStore>,
}

impl Local {
    async fn open(place: &Place) -> anyhow::Result<Self> {
        let (_, store) = open_admin_store(place.config.clone()).await?;
        Ok(Self { store })
    }

    async fn hasher(&self) -> anyhow::Result<KeyHasher> {
        let env = std::env::var(MASTER_KEY_ENV).ok();
        let secrets = Secrets::open(self.store.clone(), &data_dir()?, env.as_deref()).await?;
        Ok(KeyHasher::load_or_create(&secrets, Utc::now()).await?)
    }

    fn keys(&self) -> ClientKeys {
        ClientKeys::new(self.store.clone())
    }
}

const NOT_RUNNING: &str = "The gateway is not running: it reads this change when it starts.";

fn path_part(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn expires_at(d: Option<&str>) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    d.map(|d| {
        let d = humantime::parse_duration(d)
            .with_context(|| format!("--expires {d:?}: expected a duration such as 30d or 12h"))?;
        Ok(Utc::now() + chrono::TimeDelta::from_std(d).context("--expires is too long")?)
    })
    .transpose()
}

pub(crate) async fn keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let via = Via::new(&args.place);
    match args.command {
        KeysCommand::Create {
            name,
            user,
            team,
            limits,
            expires,
        } => {
            let limits = limits.limits();
            limits.validate()?;
            let body = json!({"name": name, "user": user, "team": team, "limits": limits, "expires_in": expires});
            let (secret, hint) =
                if let Some(v) = via.ask("POST", "/api/admin/keys", Some(body)).await? {
                    (
                        v["key"].as_str().unwrap_or_default().to_owned(),
                        v["hint"].as_str().unwrap_or_default().to_owned(),
                    )
                } else {
                    let local = Local::open(&args.place).await?;
                    let hasher = local.hasher().await?;
                    let new = NewKey {
                        name: name.clone(),
                        user: user.unwrap_or_else(|| switchboard_auth::LOCAL_ADMIN.to_owned()),
                        team,
                        limits,
                        expires_at: expires_at(expires.as_deref())?,
                    };
                    let (row, secret) = local.keys().create(&hasher, &new, Utc::now()).await?;
                    eprintln!("{NOT_RUNNING}");
                    (secret.expose().to_owned(), row.hint)
                };
            eprintln!(
                "Made the key {name} ({hint}). It is shown this once: the gateway keeps only a digest of it."
            );
            eprintln!("Use it as ANTHROPIC_API_KEY (x-api-key) or ANTHROPIC_AUTH_TOKEN (Bearer).");
            print_out(&format!("{secret}\n"))?;
        }
        KeysCommand::List { json: as_json } => {
            let v = match via.ask("GET", "/api/admin/keys", None).await? {
                Some(v) => v,
                None => local_keys_json(&Local::open(&args.place).await?).await?,
            };
            if as_json {
                print_out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut rows = vec![
                [
                    "NAME",
                    "KEY",
                    "USER",
                    "TEAM",
                    "STATE",
                    "LAST USED",
                    "LIMITS",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            for k in v["keys"].as_array().into_iter().flatten() {
                rows.push(vec![
                    text(&k["name"]),
                    text(&k["hint"]),
                    text(&k["user"]),
                    text(&k["team"]),
                    text(&k["state"]),
                    k["last_used_at"]
                        .as_str()
                        .map_or_else(|| "never".to_owned(), short_time),
                    limits_summary(&k["limits"]),
                ]);
            }
            print_out(&table(&rows, ""))?;
        }
        KeysCommand::Show {
            name,
            json: as_json,
        } => {
            let path = format!("/api/admin/keys/{}", path_part(&name));
            let v = match via.ask("GET", &path, None).await? {
                Some(v) => v,
                None => {
                    let local = Local::open(&args.place).await?;
                    let all = local_keys_json(&local).await?;
                    all["keys"]
                        .as_array()
                        .and_then(|ks| {
                            ks.iter()
                                .find(|k| text(&k["name"]).eq_ignore_ascii_case(&name))
                                .cloned()
                        })
                        .with_context(|| format!("no key named {name:?}"))?
                }
            };
            if as_json {
                print_out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
            } else {
                print_out(&show_key(&v))?;
            }
        }
        KeysCommand::Limit {
            name,
            limits,
            none,
            team,
            expires,
        } => {
            let mut body = json!({});
            if none || limits.any() {
                body["limits"] = json!(limits.limits());
            }
            if let Some(t) = &team {
                body["team"] = if t.is_empty() { Value::Null } else { json!(t) };
            }
            if let Some(e) = &expires {
                body["expires_in"] = json!(e);
            }
            let path = format!("/api/admin/keys/{}", path_part(&name));
            if via.ask("PUT", &path, Some(body)).await?.is_none() {
                let local = Local::open(&args.place).await?;
                let change = KeyChange {
                    team: team.map(|t| (!t.is_empty()).then_some(t)),
                    limits: (none || limits.any()).then(|| limits.limits()),
                    expires_at: match expires {
                        Some(e) => Some(expires_at(Some(&e))?),
                        None => None,
                    },
                };
                local.keys().update(&name, &change, Utc::now()).await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Changed the key {name}.");
        }
        KeysCommand::Revoke { name } => {
            let path = format!("/api/admin/keys/{}/revoke", path_part(&name));
            if via.ask("POST", &path, None).await?.is_none() {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .revoke(&name, Utc::now())
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Revoked the key {name}: it is refused from the next request on.");
        }
        KeysCommand::Rotate { name } => {
            let path = format!("/api/admin/keys/{}/rotate", path_part(&name));
            let secret = if let Some(v) = via.ask("POST", &path, None).await? {
                v["key"].as_str().unwrap_or_default().to_owned()
            } else {
                let local = Local::open(&args.place).await?;
                let hasher = local.hasher().await?;
                let (_, secret) = local.keys().rotate(&hasher, &name, Utc::now()).await?;
                eprintln!("{NOT_RUNNING}");
                secret.expose().to_owned()
            };
            eprintln!(
                "Rotated the key {name}: the old one is refused from now on; the new one is shown this once."
            );
            print_out(&format!("{secret}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The keys as `GET /api/admin/keys` lists them, from the store (no usage: the gateway is not
/// running).
async fn local_keys_json(local: &Local) -> anyhow::Result<Value> {
    let snap = local.keys().snapshot().await?;
    let name_of = |id| {
        snap.users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
    };
    let team_of = |id| {
        snap.teams
            .iter()
            .find(|t| Some(t.id) == id)
            .map(|t| t.name.clone())
    };
    let now = Utc::now();
    let keys: Vec<Value> = snap
        .keys
        .iter()
        .map(|k| {
            let state = if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at.is_some_and(|t| t <= now) {
                "expired"
            } else {
                "active"
            };
            json!({
                "id": k.id, "name": k.name, "hint": k.hint, "user": name_of(k.user_id),
                "team": team_of(k.team_id), "limits": parse_limits(k).unwrap_or_default(),
                "state": state, "created_at": k.created_at, "expires_at": k.expires_at,
                "revoked_at": k.revoked_at, "last_used_at": k.last_used_at, "budgets": [],
            })
        })
        .collect();
    Ok(json!({"keys": keys}))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn short_time(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t).map_or_else(
        |_| t.to_owned(),
        |t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// `rpm 60, 5usd/day, models claude-sonnet-*` or `-`.
fn limits_summary(l: &Value) -> String {
    let mut parts = Vec::new();
    for (k, label) in [("rpm", "rpm"), ("tpm", "tpm"), ("concurrency", "at once")] {
        if let Some(n) = l[k].as_u64() {
            parts.push(format!("{label} {n}"));
        }
    }
    for b in l["budgets"].as_array().into_iter().flatten() {
        parts.push(text(b));
    }
    for (k, label) in [
        ("models", "models"),
        ("endpoints", "endpoints"),
        ("clients", "clients"),
    ] {
        let list: Vec<String> = l[k].as_array().into_iter().flatten().map(text).collect();
        if !list.is_empty() {
            parts.push(format!("{label} {}", list.join(" ")));
        }
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

fn show_key(k: &Value) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, v: String| {
        out.push_str(&format!("{label:<12} {v}\n"));
    };
    line(
        &mut out,
        "key",
        format!("{} ({})", text(&k["name"]), text(&k["hint"])),
    );
    line(&mut out, "user", text(&k["user"]));
    line(&mut out, "team", text(&k["team"]));
    line(&mut out, "state", text(&k["state"]));
    line(&mut out, "expires", text(&k["expires_at"]));
    line(&mut out, "last used", text(&k["last_used_at"]));
    line(&mut out, "limits", limits_summary(&k["limits"]));
    if let Some(s) = k["since_start"].as_object() {
        line(
            &mut out,
            "since start",
            format!(
                "{} requests, {} tokens, ${:.4}",
                s.get("requests").map_or_else(String::new, text),
                s.get("tokens").map_or_else(String::new, text),
                s.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0)
            ),
        );
    }
    for b in k["budgets"].as_array().into_iter().flatten() {
        let state = if b["exhausted"] == true {
            format!("used up until {}", text(&b["frees_at"]))
        } else {
            format!("{} left", text(&b["remaining"]))
        };
        line(
            &mut out,
            "budget",
            format!(
                "{} {} {}: {} spent, {state}",
                text(&b["scope"]),
                text(&b["name"]),
                text(&b["budget"]),
                text(&b["spent"])
            ),
        );
    }
    out
}

pub(crate) async fn users(args: UsersArgs) -> anyhow::Result<ExitCode> {
    let via = Via::new(&args.place);
    match args.command {
        UsersCommand::Add {
            name,
            admin,
            password,
            budget,
        } => {
            let password = if password {
                Some(read_secret(&format!("Password for {name}: "), true)?)
            } else {
                None
            };
            let role = if admin { "admin" } else { "member" };
            let body = json!({"name": name, "role": role, "password": password.as_ref().map(|p| p.expose())});
            let path = format!("/api/admin/users/{}/budgets", path_part(&name));
            if via
                .ask("POST", "/api/admin/users", Some(body))
                .await?
                .is_some()
            {
                if !budget.is_empty() {
                    via.ask("PUT", &path, Some(json!({"budgets": budget})))
                        .await?;
                }
            } else {
                let local = Local::open(&args.place).await?;
                let role = if admin { Role::Admin } else { Role::Member };
                Users::new(local.store.clone())
                    .add(&name, role, password.as_ref(), Utc::now())
                    .await?;
                if !budget.is_empty() {
                    local
                        .keys()
                        .set_user_budgets(&name, &budget, Utc::now())
                        .await?;
                }
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Added {name} ({role}).");
        }
        UsersCommand::List => {
            let v = match via.ask("GET", "/api/admin/users", None).await? {
                Some(v) => v,
                None => local_users_json(&Local::open(&args.place).await?).await?,
            };
            let mut rows = vec![
                ["NAME", "ROLE", "TEAMS", "BUDGETS"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for u in v["users"].as_array().into_iter().flatten() {
                let list = |k: &str| {
                    let l: Vec<String> = u[k].as_array().into_iter().flatten().map(text).collect();
                    if l.is_empty() {
                        "-".to_owned()
                    } else {
                        l.join(", ")
                    }
                };
                rows.push(vec![
                    text(&u["name"]),
                    text(&u["role"]),
                    list("teams"),
                    list("budgets"),
                ]);
            }
            print_out(&table(&rows, ""))?;
        }
        UsersCommand::Budget { name, budgets } => {
            let path = format!("/api/admin/users/{}/budgets", path_part(&name));
            if via
                .ask("PUT", &path, Some(json!({"budgets": budgets})))
                .await?
                .is_none()
            {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .set_user_budgets(&name, &budgets, Utc::now())
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Set the budgets of {name}.");
        }
        UsersCommand::Remove { name } => {
            if name.eq_ignore_ascii_case(switchboard_auth::LOCAL_ADMIN) {
                anyhow::bail!(
                    "the local admin is this machine's own (the credential file): it cannot be removed"
                );
            }
            let path = format!("/api/admin/users/{}", path_part(&name));
            if via.ask("DELETE", &path, None).await?.is_none() {
                let local = Local::open(&args.place).await?;
                Users::new(local.store.clone()).remove(&name).await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Removed {name} with their keys and sessions.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn local_users_json(local: &Local) -> anyhow::Result<Value> {
    let snap = local.keys().snapshot().await?;
    let users: Vec<Value> = snap
        .users
        .iter()
        .map(|u| {
            let teams: Vec<&str> = snap
                .members
                .iter()
                .filter(|(_, user)| *user == u.id)
                .filter_map(|(t, _)| snap.teams.iter().find(|x| x.id == *t))
                .map(|t| t.name.as_str())
                .collect();
            let budgets = snap
                .user_budgets
                .iter()
                .find(|(id, _)| *id == u.id)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            json!({"name": u.name, "role": u.role.as_str(), "teams": teams, "budgets": budgets})
        })
        .collect();
    Ok(json!({"users": users}))
}

pub(crate) async fn teams(args: TeamsArgs) -> anyhow::Result<ExitCode> {
    let via = Via::new(&args.place);
    let now = Utc::now();
    match args.command {
        TeamsCommand::Add { name, budget } => {
            let body = json!({"name": name, "budgets": budget});
            if via
                .ask("POST", "/api/admin/teams", Some(body))
                .await?
                .is_none()
            {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .create_team(&name, &budget, now)
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Made the team {name}.");
        }
        TeamsCommand::List => {
            let v = match via.ask("GET", "/api/admin/teams", None).await? {
                Some(v) => v,
                None => {
                    let snap = Local::open(&args.place).await?.keys().snapshot().await?;
                    let teams: Vec<Value> = snap
                        .teams
                        .iter()
                        .map(|t| {
                            let members: Vec<&str> = snap
                                .members
                                .iter()
                                .filter(|(team, _)| *team == t.id)
                                .filter_map(|(_, u)| snap.users.iter().find(|x| x.id == *u))
                                .map(|u| u.name.as_str())
                                .collect();
                            let budgets: Value =
                                serde_json::from_str(&t.budgets).unwrap_or_else(|_| json!([]));
                            json!({"name": t.name, "members": members, "budgets": budgets})
                        })
                        .collect();
                    json!({"teams": teams})
                }
            };
            let mut rows = vec![["TEAM", "MEMBERS", "BUDGETS"].map(str::to_owned).to_vec()];
            for t in v["teams"].as_array().into_iter().flatten() {
                let list = |k: &str| {
                    let l: Vec<String> = t[k].as_array().into_iter().flatten().map(text).collect();
                    if l.is_empty() {
                        "-".to_owned()
                    } else {
                        l.join(", ")
                    }
                };
                rows.push(vec![text(&t["name"]), list("members"), list("budgets")]);
            }
            print_out(&table(&rows, ""))?;
        }
        TeamsCommand::Budget { name, budgets } => {
            let path = format!("/api/admin/teams/{}", path_part(&name));
            if via
                .ask("PUT", &path, Some(json!({"budgets": budgets})))
                .await?
                .is_none()
            {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .set_team_budgets(&name, &budgets, now)
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Set the budgets of team {name}.");
        }
        TeamsCommand::AddMember { team, user } => {
            let path = format!("/api/admin/teams/{}/members", path_part(&team));
            if via
                .ask("POST", &path, Some(json!({"user": user})))
                .await?
                .is_none()
            {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .add_member(&team, &user, now)
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Added {user} to team {team}.");
        }
        TeamsCommand::RemoveMember { team, user } => {
            let path = format!(
                "/api/admin/teams/{}/members/{}",
                path_part(&team),
                path_part(&user)
            );
            if via.ask("DELETE", &path, None).await?.is_none() {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .remove_member(&team, &user)
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Took {user} out of team {team}.");
        }
        TeamsCommand::Remove { name } => {
            let path = format!("/api/admin/teams/{}", path_part(&name));
            if via.ask("DELETE", &path, None).await?.is_none() {
                Local::open(&args.place)
                    .await?
                    .keys()
                    .remove_team(&name)
                    .await?;
                eprintln!("{NOT_RUNNING}");
            }
            eprintln!("Removed the team {name}; its keys stay, charged to no team.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
