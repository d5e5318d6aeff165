//! Hot reload: the config file is watched (its directory, since editors replace files) and
//! re-read on change and on SIGHUP. A broken edit keeps the running config and is reported in the
//! log and in `/status`. In-flight requests keep the snapshot they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How the process environment is read when the config is (re)compiled.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Re-reads `path` and swaps it in; returns whether the new config is in force.
pub fn reload_now(state: &AppState, path: &Path, env: &EnvFn) -> bool {
    match switchboard_config::load_file(path, &|k| env(k)) {
        Ok(config) => {
            let old = state.live();
            if config.server.listen != old.config.server.listen {
                tracing::warn!(
                    old = %old.config.server.listen,
                    new = %config.server.listen,
                    "server.listen changed: restart to move the listener; everything else is reloaded"
                );
            }
            state.swap_config(config);
            tracing::info!(path = %path.display(), "configuration reloaded");
            true
        }
        Err(errors) => {
            let text = switchboard_config::render_errors(&errors);
            tracing::error!(path = %path.display(), "configuration not reloaded, keeping the running one:\n{text}");
            state.reload_failed(text);
            false
        }
    }
}

/// Watches `path` and reloads on change or SIGHUP until `shutdown` fires.
///
/// # Errors
/// The file watcher could not be created.
pub fn spawn_watcher(
    state: AppState,
    path: PathBuf,
    env: EnvFn,
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
            reload_now(&state, &path, &env);
        }
    }))
}
