//! The control plane of Switchboard: the admin API (`/api/admin/…`), the query API over the
//! request log (`/api/…`), `/status`, `/metrics`, and the dashboard — all behind one door.
//!
//! - [`app`] builds the control plane's router over an [`AdminState`]; [`routes`] lists its
//!   routes with who may call each, from the same table ([`routes.rs`](crate::routes)).
//! - The door ([`door`](crate::door)) is an ordinary tower layer over every route here (unlike
//!   the proxy routes, nothing on this side bypasses axum's router): the `Host` must name this
//!   gateway (DNS rebinding), the caller must be an admin — by session cookie (with a CSRF
//!   token on every state change) or by the local credential as a bearer token (the CLI) —
//!   and logins are rate-limited.
//! - It reaches the data plane only through [`switchboard_gateway::Control`]: swap the
//!   configuration, read and reset health, follow the live feed, read status and metrics. It
//!   reads the log store directly, and the admin data (users, sessions, login links, secrets)
//!   through `switchboard-auth`.
//!
//! This crate must never be on the proxy's request path, and never shows a secret: keys are
//! masked (first 10 + `…` + last 4), credentials are only ever compared.

mod account;
mod api;
mod claude;
mod config;
mod door;
mod endpoints;
mod error;
mod keys;
mod ops;
mod profiles;
mod routes;
mod secrets;
mod send;
mod settings;
mod ui;
mod users;

use std::sync::Arc;

use axum::Router;
use chrono::Utc;
use switchboard_auth::{
    Links, LocalCredential, LoginLimiter, SessionPolicy, Sessions, Users, vault::Secrets,
};
use switchboard_gateway::Control;
use switchboard_store::{AdminStore, Store, User};

pub use routes::routes;

/// Re-reads the configuration (the file and the secrets it refers to) and puts it in force:
/// what the assembly (`switchboard-server`) does on a file change, SIGHUP, and when the admin
/// API changes a secret or asks for a reload.
#[async_trait::async_trait]
pub trait Reloader: Send + Sync + 'static {
    /// `Ok(true)`: a new configuration is in force; `Ok(false)`: nothing to reload (the
    /// built-in default); `Err`: the text of every error, the running configuration stays.
    async fn reload(&self) -> Result<bool, String>;

    /// The configuration file in force, or where the first one would be created.
    fn config_path(&self) -> ConfigPath;

    /// Compiles `text` as the file would be compiled (its `${VAR}`s, the secret store) without
    /// putting it in force: `Err` has the text of every error.
    async fn check(&self, text: &str) -> Result<(), String>;

    /// Makes `path` (just created where [`Reloader::config_path`] said) the configuration
    /// file: read, watched and reloaded from now on. Reloads it.
    async fn adopt(&self, path: &std::path::Path) -> Result<bool, String>;
}

/// Where the configuration file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    pub path: std::path::PathBuf,
    /// `false`: the gateway runs on the built-in default and `path` is where the dashboard
    /// would create its first file.
    pub exists: bool,
}

/// What the control plane is built from.
pub struct Parts {
    pub control: Control,
    /// The request log (query API).
    pub store: Arc<dyn Store>,
    /// Users, sessions, login links, secrets.
    pub admin_store: Arc<dyn AdminStore>,
    /// The local admin credential (the data directory's `admin.token`).
    pub credential: LocalCredential,
    pub secrets: Arc<Secrets>,
    pub reloader: Arc<dyn Reloader>,
    /// Claude Code's files the Claude Code routes manage; `None`: the process's `HOME` and
    /// `CLAUDE_CONFIG_DIR`, read at each call.
    pub claude: Option<switchboard_claude::Paths>,
}

/// The control plane's state. Cloning is cheap.
#[derive(Clone)]
pub struct AdminState(Arc<Inner>);

struct Inner {
    control: Control,
    store: Arc<dyn Store>,
    admin_store: Arc<dyn AdminStore>,
    users: Users,
    links: Links,
    limiter: LoginLimiter,
    credential: LocalCredential,
    secrets: Arc<Secrets>,
    reloader: Arc<dyn Reloader>,
    /// The user the local credential acts as (made on first start).
    local_admin: User,
    /// The configuration file's recent texts; held through each write (one at a time).
    files: tokio::sync::Mutex<config::Files>,
    /// Client keys: one reload at a time (`crate::keys`).
    keys: keys::KeysState,
    claude: Option<switchboard_claude::Paths>,
}

/// Why the control plane could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the local admin: {0}")]
pub struct SetupError(#[from] switchboard_auth::UserError);

impl AdminState {
    /// Builds the state; makes the local admin user on first start.
    ///
    /// # Errors
    /// The admin store failed.
    pub async fn new(parts: Parts) -> Result<Self, SetupError> {
        let users = Users::new(parts.admin_store.clone());
        let local_admin = users.ensure_local_admin(Utc::now()).await?;
        Ok(Self(Arc::new(Inner {
            links: Links::new(parts.admin_store.clone()),
            admin_store: parts.admin_store,
            limiter: LoginLimiter::new(switchboard_auth::LimitPolicy::default()),
            users,
            control: parts.control,
            store: parts.store,
            credential: parts.credential,
            secrets: parts.secrets,
            reloader: parts.reloader,
            local_admin,
            files: tokio::sync::Mutex::default(),
            keys: keys::KeysState::default(),
            claude: parts.claude,
        })))
    }

    /// Claude Code's files (`crate::claude`).
    pub(crate) fn claude_paths(&self) -> Result<switchboard_claude::Paths, error::ApiError> {
        claude::paths(self.0.claude.as_ref())
    }

    pub(crate) fn control(&self) -> &Control {
        &self.0.control
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// The session service under the session lifetimes in force (`[admin]`, reloadable).
    pub(crate) fn sessions(&self) -> Sessions {
        let live = self.0.control.live();
        Sessions::new(
            self.0.admin_store.clone(),
            session_policy(&live.config.admin),
        )
    }

    /// A one-time login link for the local admin, as a path and query
    /// (`/ui/login?token=…`): what the banner prints and `switchboard ui` opens.
    ///
    /// # Errors
    /// The store failed.
    pub async fn login_link(&self) -> Result<String, String> {
        account::mint_link(self, self.0.local_admin.id)
            .await
            .map_err(|e| e.to_string())
    }

    /// Deletes expired sessions and login links; returns how many sessions went.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_expired(&self) -> Result<u64, String> {
        self.sessions()
            .purge_expired(Utc::now())
            .await
            .map_err(|e| e.to_string())
    }
}

fn session_policy(admin: &switchboard_config::AdminConfig) -> SessionPolicy {
    let delta = |d: std::time::Duration| chrono::TimeDelta::from_std(d).ok();
    let default = SessionPolicy::default();
    SessionPolicy {
        lifetime: delta(admin.session_lifetime).unwrap_or(default.lifetime),
        idle_timeout: delta(admin.session_idle).unwrap_or(default.idle_timeout),
        ..default
    }
}

/// The control plane's router: every route of [`routes`], behind the door.
pub fn app(state: AdminState) -> Router {
    routes::router(state.clone()).with_state(state)
}
