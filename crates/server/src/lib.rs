//! The one assembly of a Switchboard gateway: from a configuration to a running data plane and
//! control plane, with their listeners, the request log writer, the secret store, background
//! jobs and hot reload. The CLI (`switchboard serve`), the test harness (`TestGateway`) and the
//! bench launcher all start a gateway with [`start`], so what is tested and measured is what
//! users run.
//!
//! - [`start`] → [`Running`]; [`Running::shutdown`] stops accepting, drains in-flight
//!   requests up to `[server] shutdown_grace`, stops the jobs and flushes the request log.
//! - [`routes`]: every route of the gateway with who may call it, from the two planes' tables.
//! - The door's start-up rules live here: a gateway that listens beyond loopback needs a
//!   gateway token for its proxy routes, unless started with `--insecure-public`.
//!
//! This crate wires; it holds no request-path code of its own.

mod load;
mod reload;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use switchboard_admin::{AdminState, Parts};
use switchboard_auth::vault::Secrets;
use switchboard_auth::{CredentialError, LocalCredential, VaultError};
use switchboard_config::{Config, ConfigError};
use switchboard_core::RouteInfo;
use switchboard_gateway::{AppState, ClientError, Control, Listener, UpstreamOptions};
use switchboard_store::{
    AdminStore, LogSender, Store, StoreError, WriterHandle, WriterOptions, spawn_writer,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use load::{ConfigFile, EnvFn};
pub use tls::{TlsError, server_config as tls_server_config};

/// Every route of the gateway, data plane first, with who may call each.
#[must_use]
pub fn routes() -> Vec<RouteInfo> {
    let mut all = switchboard_gateway::routes();
    all.extend(switchboard_admin::routes());
    all
}

/// Where the request log and the admin data live.
pub enum Stores {
    /// Opened from `[storage] url` (SQLite in the data directory by default).
    Configured,
    /// Given (tests, the bench's log-off mode).
    Given {
        log: Arc<dyn Store>,
        admin: Arc<dyn AdminStore>,
    },
}

/// How to start a gateway.
pub struct Options {
    pub file: ConfigFile,
    pub data_dir: PathBuf,
    /// Overrides `[server] listen`, across reloads too (port 0 picks a free port).
    pub listen: Option<SocketAddr>,
    pub stores: Stores,
    pub log_queue: Option<usize>,
    pub writer: WriterOptions,
    pub upstream: UpstreamOptions,
    /// Serve beyond loopback without a gateway token (`--insecure-public`).
    pub insecure_public: bool,
    /// Watch the config file and reload on change and SIGHUP.
    pub watch: bool,
    /// Run the background jobs: retention and the audit size cap (now and hourly), the
    /// request log file, expired sessions. Tests that control retention themselves turn them
    /// off.
    pub jobs: bool,
    /// `SWITCHBOARD_MASTER_KEY`, when set.
    pub master_key: Option<String>,
    /// Where the log writer, trace export and background jobs run; the current runtime when
    /// `None`. `switchboard serve` gives them a runtime of their own, so that writing the log
    /// never takes a thread that serves requests.
    pub background: Option<tokio::runtime::Handle>,
    /// The home directory whose Claude Code files the control plane's Claude Code routes manage
    /// (`~/.claude`, `~/.claude.json`); `None`: the process's `HOME` and `CLAUDE_CONFIG_DIR`.
    /// Tests point it at a folder of their own.
    pub claude_home: Option<PathBuf>,
}

impl Options {
    /// The production defaults for `file` and `data_dir`.
    #[must_use]
    pub fn new(file: ConfigFile, data_dir: PathBuf) -> Self {
        Self {
            file,
            data_dir,
            listen: None,
            stores: Stores::Configured,
            log_queue: None,
            writer: WriterOptions::default(),
            upstream: UpstreamOptions::default(),
            insecure_public: false,
            watch: true,
            jobs: true,
            master_key: None,
            background: None,
            claude_home: None,
        }
    }
}

/// Why a gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration has errors (each with its line): exit status 2.
    #[error("{} configuration error{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Config(Vec<ConfigError>),
    #[error(
        "not serving {addr} beyond this machine without a gateway token: anyone who can reach it could spend your providers' credits. Set `[server] auth_token` (e.g. auth_token = \"${{SWITCHBOARD_TOKEN}}\") and give clients that token, or give each client a key of its own (`switchboard keys create NAME`), listen on 127.0.0.1, or start with --insecure-public to serve without either"
    )]
    Exposed { addr: SocketAddr },
    #[error(
        "{addr} is already in use — is another switchboard running? use --listen to choose another address"
    )]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot open the secret store: {0}")]
    Vault(#[from] VaultError),
    #[error("{0}")]
    Credential(#[from] CredentialError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] ClientError),
    #[error("{0}")]
    Admin(#[from] switchboard_admin::SetupError),
    #[error("cannot load the client keys: {0}")]
    Keys(String),
}

/// A running gateway.
pub struct Running {
    /// Where clients reach it (the proxy routes; the control plane too unless it has its own).
    pub addr: SocketAddr,
    /// The control plane's own listener (`[admin] listen`), when there is one.
    pub admin_addr: Option<SocketAddr>,
    /// Whether the main listener serves TLS.
    pub tls: bool,
    pub state: AppState,
    pub admin: AdminState,
    pub store: Arc<dyn Store>,
    pub admin_store: Arc<dyn AdminStore>,
    pub secrets: Arc<Secrets>,
    pub log: LogSender,
    /// Whether it serves beyond loopback without a token (`--insecure-public`).
    pub insecure_public: bool,
    /// The main listener's router (tests send requests through it in-process).
    router: axum::Router,
    stop: CancellationToken,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    jobs: Vec<JoinHandle<()>>,
    stop_jobs: CancellationToken,
    writer: Option<WriterHandle>,
}

impl Running {
    /// `http(s)://host:port` of the control plane, for links (a wildcard listen address
    /// becomes loopback).
    #[must_use]
    pub fn admin_url(&self) -> String {
        let addr = client_addr(self.admin_addr.unwrap_or(self.addr));
        let scheme = if self.tls && self.admin_addr.is_none() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{addr}")
    }

    /// `http(s)://host:port` for clients on this machine.
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", client_addr(self.addr))
    }

    /// The data plane's control handle.
    #[must_use]
    pub fn control(&self) -> Control {
        Control::new(&self.state)
    }

    /// Every route of the main listener as a router, for requests sent in-process
    /// (`tower::ServiceExt::oneshot`): what the connection hands everything but the proxy
    /// routes to, and those too.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Resolves when the gateway has been asked to stop ([`Running::stop_handle`]).
    pub fn stop_handle(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops accepting connections, lets in-flight requests finish for up to
    /// `[server] shutdown_grace` (then drops them; each still leaves its log row), stops the
    /// background jobs and flushes the request log.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for s in self.servers.drain(..) {
            match s.await {
                Ok(Err(e)) => tracing::error!(error = %e, "server failed"),
                Err(e) => tracing::error!(error = %e, "server task failed"),
                Ok(Ok(())) => {}
            }
        }
        self.stop_jobs.cancel();
        for j in self.jobs.drain(..) {
            let _ = j.await;
        }
        if let Some(w) = self.writer.take() {
            w.shutdown().await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
        self.stop_jobs.cancel();
    }
}

/// The address a client on this machine uses for `listen`: a wildcard becomes loopback.
#[must_use]
pub fn client_addr(listen: SocketAddr) -> SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Whether the proxy routes on `listen` can be reached from other machines.
fn beyond_loopback(listen: SocketAddr) -> bool {
    !listen.ip().to_canonical().is_loopback()
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartError::AddrInUse { addr }
        } else {
            StartError::Bind { addr, source }
        }
    })
}

/// Builds and starts a gateway; see the crate docs.
///
/// # Errors
/// [`StartError`]: the configuration, the listen address rule, a port in use, the database,
/// the secret store, the credential file, TLS files, the upstream client.
pub async fn start(opts: Options) -> Result<Running, StartError> {
    let Options {
        file,
        data_dir,
        listen,
        stores,
        log_queue,
        writer,
        upstream,
        insecure_public,
        watch,
        jobs: run_jobs,
        master_key,
        background,
        claude_home,
    } = opts;
    let background = background.unwrap_or_else(tokio::runtime::Handle::current);
    let (peeked, _) = file.peek().map_err(StartError::Config)?;
    let listen = listen.unwrap_or(peeked.server.listen);
    // Client keys protect the proxy routes too; whether there are any is known once the store
    // is open (below).
    let exposed = beyond_loopback(listen) && peeked.server.auth_token.is_none();
    std::fs::create_dir_all(&data_dir).map_err(|source| {
        StartError::Store(StoreError::CreateDir {
            path: data_dir.clone(),
            source,
        })
    })?;
    let tcp = bind(listen).await?;
    let admin_tcp = match peeked.admin.listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };

    let (store, admin_store) = match stores {
        Stores::Configured => {
            let url = peeked.storage.url.clone();
            let dir = data_dir.clone();
            background
                .spawn(
                    async move { switchboard_store::open_with_admin(url.as_deref(), &dir).await },
                )
                .await
                .map_err(|e| StartError::Store(StoreError::WriterTask(e)))??
        }
        Stores::Given { log, admin } => (log, admin),
    };
    let secrets =
        Arc::new(Secrets::open(admin_store.clone(), &data_dir, master_key.as_deref()).await?);
    let exposed = exposed
        && switchboard_auth::KeyHasher::load(&secrets)
            .await
            .map_err(|e| StartError::Keys(e.to_string()))?
            .is_none();
    if exposed && !insecure_public {
        return Err(StartError::Exposed { addr: listen });
    }
    let mut config: Config = file
        .load(Some(&secrets))
        .await
        .map_err(StartError::Config)?;
    config.server.listen = tcp.local_addr().map_err(|source| StartError::Bind {
        addr: listen,
        source,
    })?;
    if let Some(a) = &admin_tcp {
        config.admin.listen = a.local_addr().ok();
    }
    let tls = match &config.server.tls {
        Some(files) => Some(Arc::new(ArcSwap::from_pointee(tls::server_config(files)?))),
        None => None,
    };
    if let Some(q) = log_queue {
        config.storage.log_queue = q;
    }
    let credential = LocalCredential::load_or_create(&data_dir)?;

    let (log, writer) = {
        let _rt = background.enter();
        spawn_writer(store.clone(), config.storage.log_queue, writer)
    };
    let state = {
        // Trace export sends its batches on the background runtime, which outlives the
        // server's, so the last spans still go out after the requests stop.
        let _rt = background.enter();
        AppState::with_upstream(config.clone(), log.clone(), data_dir.clone(), upstream)?
    };
    state.set_insecure_public(exposed);
    if exposed {
        tracing::warn!(
            %listen,
            "--insecure-public: serving beyond this machine WITHOUT a gateway token; anyone who can reach {listen} can use your providers' credits"
        );
    }
    let reloader = Arc::new(reload::ConfigReloader {
        file: ArcSwap::from_pointee(file.clone()),
        data_dir: data_dir.clone(),
        on_adopt: std::sync::OnceLock::new(),
        state: state.clone(),
        secrets: secrets.clone(),
        listen: Some(config.server.listen),
        tls: tls.clone(),
        running: tokio::sync::Mutex::new(()),
    });
    let admin = AdminState::new(Parts {
        control: Control::new(&state),
        store: store.clone(),
        admin_store: admin_store.clone(),
        credential,
        secrets: secrets.clone(),
        reloader: reloader.clone(),
        claude: claude_home
            .map(|home| switchboard_claude::Paths::new(&home, None, Some(&data_dir))),
    })
    .await?;
    admin.reload_keys().await.map_err(StartError::Keys)?;

    let stop = CancellationToken::new();
    let stop_jobs = CancellationToken::new();
    let mut jobs = Vec::new();
    if run_jobs {
        let _rt = background.enter();
        jobs.push(switchboard_gateway::maintenance::spawn(
            state.clone(),
            store.clone(),
            stop_jobs.clone(),
        ));
        jobs.push(spawn_session_purge(admin.clone(), stop_jobs.clone()));
        jobs.push(spawn_key_sync(admin.clone(), stop_jobs.clone()));
    }
    if watch {
        // A file the dashboard creates later (the gateway ran on the built-in default) is
        // watched from then on.
        let weak = Arc::downgrade(&reloader);
        let stop = stop_jobs.clone();
        let _ = reloader.on_adopt.set(Box::new(move |path| {
            if let Some(reloader) = weak.upgrade()
                && let Err(e) = reload::spawn_watcher(reloader, path.clone(), stop.clone())
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot watch the configuration file: changes need a restart, SIGHUP or `POST /api/admin/reload`");
            }
        }));
    }
    if watch && let Some(path) = file.path() {
        match reload::spawn_watcher(reloader.clone(), path.to_path_buf(), stop_jobs.clone()) {
            Ok(handle) => jobs.push(handle),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot watch the configuration file: changes need a restart, SIGHUP or `POST /api/admin/reload`")
            }
        }
    }

    let grace = config.server.shutdown_grace;
    let data = switchboard_gateway::app(state.clone());
    let control = switchboard_admin::app(admin.clone());
    let addr = config.server.listen;
    let admin_addr = config.admin.listen;
    let mut servers = Vec::new();
    let main_router = if admin_tcp.is_some() {
        data
    } else {
        data.merge(control.clone())
    };
    let main = Listener {
        tcp,
        tls: tls.clone(),
        proxy: true,
    };
    let cancelled = |stop: &CancellationToken| {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    };
    servers.push(tokio::spawn(switchboard_gateway::serve(
        main,
        state.clone(),
        main_router.clone(),
        cancelled(&stop),
        grace,
    )));
    if let Some(tcp) = admin_tcp {
        // The control plane's own port: its routes and the liveness check, no proxy routes.
        let health = axum::Router::new().route(
            "/health",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        );
        let listener = Listener {
            tcp,
            tls: None,
            proxy: false,
        };
        servers.push(tokio::spawn(switchboard_gateway::serve(
            listener,
            state.clone(),
            control.merge(health),
            cancelled(&stop),
            grace,
        )));
    }
    Ok(Running {
        addr,
        admin_addr,
        tls: tls.is_some(),
        state,
        admin,
        store,
        admin_store,
        secrets,
        log,
        insecure_public: exposed,
        router: main_router,
        stop,
        servers,
        jobs,
        stop_jobs,
        writer: Some(writer),
    })
}

/// Every minute: the client keys read again from the store (changes another gateway on the
/// same database, or the CLI, made; expiry times measured afresh) and their last use written.
fn spawn_key_sync(admin: AdminState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = admin.reload_keys().await {
                tracing::warn!(error = %e, "cannot read the client keys again; the ones in force stay");
            }
            if let Err(e) = admin.flush_key_use().await {
                tracing::warn!(error = %e, "cannot record when client keys were last used; will retry");
            }
        }
        let _ = admin.flush_key_use().await;
    })
}

/// Deletes expired sessions and login links every hour.
fn spawn_session_purge(admin: AdminState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = admin.purge_expired().await {
                tracing::warn!(error = %e, "cannot delete expired admin sessions; will retry");
            }
        }
    })
}
