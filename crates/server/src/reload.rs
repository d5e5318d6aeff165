//! Hot reload: the config file is watched (its directory, since editors replace files) and
//! re-read on change, on SIGHUP, and when the admin API asks (a secret changed, or
//! `POST /api/admin/reload`). A broken edit keeps the running config and is reported in the
//! log and in `/status`. In-flight requests keep the snapshot they started with. The TLS
//! certificate and key are re-read with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use switchboard_auth::vault::Secrets;
use switchboard_gateway::AppState;
use tokio_util::sync::CancellationToken;

use crate::load::ConfigFile;

/// Re-reads the configuration and puts it in force.
pub(crate) struct ConfigReloader {
    /// The file in force; replaced once when the dashboard writes the first file of a gateway
    /// that ran on the built-in default ([`switchboard_admin::Reloader::adopt`]).
    pub(crate) file: ArcSwap<ConfigFile>,
    /// Where that first file goes: `config.toml` in the data directory, the file `serve`
    /// picks when started without `--config`.
    pub(crate) data_dir: PathBuf,
    /// Watches an adopted file (set when the gateway watches its configuration).
    pub(crate) on_adopt: std::sync::OnceLock<Box<dyn Fn(PathBuf) + Send + Sync>>,
    pub(crate) state: AppState,
    pub(crate) secrets: Arc<Secrets>,
    /// `--listen`, which outlives reloads.
    pub(crate) listen: Option<SocketAddr>,
    /// The TLS configuration of the listener, when it serves TLS.
    pub(crate) tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// One reload at a time.
    pub(crate) running: tokio::sync::Mutex<()>,
}

impl ConfigReloader {
    /// `Ok(true)`: a new configuration is in force; `Ok(false)`: there is no file (the built-in
    /// default); `Err`: why not, the running configuration stays.
    pub(crate) async fn reload_now(&self) -> Result<bool, String> {
        let _one = self.running.lock().await;
        let file = self.file.load_full();
        let Some(path) = file.path().map(Path::to_path_buf) else {
            return Ok(false);
        };
        let mut config = match file.load(Some(&self.secrets)).await {
            Ok(c) => c,
            Err(errors) => {
                let text = switchboard_config::render_errors(&errors);
                tracing::error!(path = %path.display(), "configuration not reloaded, keeping the running one:\n{text}");
                self.state.reload_failed(text.clone());
                return Err(text);
            }
        };
        let old = self.state.live();
        match self.listen {
            Some(listen) => config.server.listen = listen,
            None if config.server.listen != old.config.server.listen => {
                tracing::warn!(
                    old = %old.config.server.listen,
                    new = %config.server.listen,
                    "server.listen changed: restart to move the listener; everything else is reloaded"
                );
                config.server.listen = old.config.server.listen;
            }
            None => {}
        }
        if config.admin.listen != old.config.admin.listen {
            tracing::warn!("admin.listen changed: restart to move the admin listener");
        }
        match (&self.tls, &config.server.tls) {
            (Some(slot), Some(files)) => match crate::tls::server_config(files) {
                Ok(tls) => slot.store(Arc::new(tls)),
                Err(e) => {
                    let text = format!("{e}");
                    tracing::error!("configuration not reloaded, keeping the running one: {text}");
                    self.state.reload_failed(text.clone());
                    return Err(text);
                }
            },
            (None, None) => {}
            _ => tracing::warn!(
                "server.tls_cert/tls_key added or removed: restart to switch TLS on or off"
            ),
        }
        self.state.swap_config(config);
        tracing::info!(path = %path.display(), "configuration reloaded");
        Ok(true)
    }
}

#[async_trait::async_trait]
impl switchboard_admin::Reloader for ConfigReloader {
    async fn reload(&self) -> Result<bool, String> {
        self.reload_now().await
    }

    fn config_path(&self) -> switchboard_admin::ConfigPath {
        match self.file.load().path() {
            Some(path) => switchboard_admin::ConfigPath {
                path: path.to_path_buf(),
                exists: true,
            },
            None => switchboard_admin::ConfigPath {
                path: self.data_dir.join(DEFAULT_FILE_NAME),
                exists: false,
            },
        }
    }

    async fn check(&self, text: &str) -> Result<(), String> {
        let path = self.config_path().path;
        let file = self.file.load_full();
        file.load_text(text, &path, Some(&self.secrets))
            .await
            .map(drop)
            .map_err(|e| switchboard_config::render_errors(&e))
    }

    async fn adopt(&self, path: &Path) -> Result<bool, String> {
        let mut file = ConfigFile::clone(&self.file.load_full());
        file.path = Some(path.to_path_buf());
        self.file.store(Arc::new(file));
        tracing::info!(path = %path.display(), "configuration file created; it is the one in force from now on");
        if let Some(watch) = self.on_adopt.get() {
            watch(path.to_path_buf());
        }
        self.reload_now().await
    }
}

/// The file a gateway without one gets when the dashboard first writes its configuration:
/// `$SWITCHBOARD_HOME/config.toml`, which `switchboard serve` reads when it exists.
pub(crate) const DEFAULT_FILE_NAME: &str = "config.toml";

/// Watches `path` and reloads on change or SIGHUP until `shutdown` fires.
///
/// # Errors
/// The file watcher could not be created.
pub(crate) fn spawn_watcher(
    reloader: Arc<ConfigReloader>,
    path: PathBuf,
    shutdown: CancellationToken,
) -> notify::Result<tokio::task::JoinHandle<()>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let file_name = path.file_name().map(std::ffi::OsStr::to_os_string);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let ours = ev
                .paths
                .iter()
                .any(|p| p.file_name().map(std::ffi::OsStr::to_os_string) == file_name);
            if ours && !ev.kind.is_access() {
                let _ = tx.send(());
            }
        }
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    Ok(tokio::spawn(async move {
        let _watcher = watcher; // dropped with the task
        loop {
            #[cfg(unix)]
            let sighup = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let sighup = std::future::pending::<Option<()>>();
            tokio::select! {
                () = shutdown.cancelled() => return,
                got = rx.recv() => {
                    if got.is_none() { return; }
                    // Editors write in several steps: let them settle, then read once.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    while rx.try_recv().is_ok() {}
                }
                _ = sighup => tracing::info!("SIGHUP: reloading configuration"),
            }
            let _ = reloader.reload_now().await;
        }
    }))
}
