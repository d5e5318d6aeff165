//! Bench-only gateway launcher: starts Switchboard the way `switchboard serve` does
//! (`config::load_file` → `store::open` → `spawn_writer` → `AppState` → `server::serve`, the log
//! writer on a runtime of its own), so the benchmark is not blocked on the CLI and can switch
//! the request log off.
//!
//! `bench-gateway --config FILE --listen ADDR --data-dir DIR [--log sqlite|off]`
//!
//! `--log off` keeps the whole logging path on the request side (records are built and queued)
//! but the writer stores them nowhere, isolating the database writer's cost.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_store::{
    BreakdownBy, BreakdownRow, Bucket, LogRecord, Page, Query, Stats, Store, StoreError,
    TimeBucket, WriterOptions,
};
use uuid::Uuid;

/// The same allocator, built with the same configuration (../../.cargo/config.toml), as the
/// `switchboard` binary.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A store that accepts and forgets.
struct NullStore;

#[async_trait::async_trait]
impl Store for NullStore {
    fn backend(&self) -> &'static str {
        "null"
    }
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn insert_batch(&self, _records: &[LogRecord]) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get(&self, _id: Uuid) -> Result<Option<LogRecord>, StoreError> {
        Ok(None)
    }
    async fn list(&self, _q: &Query) -> Result<Page, StoreError> {
        Ok(Page::default())
    }
    async fn stats(&self, _q: &Query) -> Result<Stats, StoreError> {
        Ok(Stats::default())
    }
    async fn timeseries(&self, _q: &Query, _b: Bucket) -> Result<Vec<TimeBucket>, StoreError> {
        Ok(Vec::new())
    }
    async fn breakdown(
        &self,
        _q: &Query,
        _by: BreakdownBy,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        Ok(Vec::new())
    }
    async fn count(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn delete_older_than(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config_path = PathBuf::from(flag(&args, "--config").expect("--config FILE"));
    let data_dir = PathBuf::from(flag(&args, "--data-dir").unwrap_or_else(|| ".".into()));
    let log_on = flag(&args, "--log").as_deref() != Some("off");
    let mut config = match switchboard_config::load_file(
        &config_path,
        &switchboard_config::env_from_process(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", switchboard_config::render_errors(&e));
            std::process::exit(2);
        }
    };
    if let Some(l) = flag(&args, "--listen") {
        config.server.listen = l.parse::<SocketAddr>().expect("--listen IP:PORT");
    }
    // The runtimes of `switchboard serve` (crates/cli/src/commands/serve.rs): the server's,
    // multi-threaded with one worker per core the process may use (so one under `taskset -c 0`),
    // and a one-worker runtime for the log writer, so that writing the log never runs on a
    // thread that serves requests.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let log_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("switchboard-log")
        .enable_all()
        .build()
        .expect("log runtime");
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let store: Arc<dyn Store> = if log_on {
        log_rt
            .block_on(switchboard_store::open(
                config.storage.url.as_deref(),
                &data_dir,
            ))
            .expect("open store")
    } else {
        Arc::new(NullStore)
    };
    let (log, writer) = {
        let _rt = log_rt.enter();
        switchboard_store::spawn_writer(
            Arc::clone(&store),
            config.storage.log_queue,
            WriterOptions::default(),
        )
    };
    let listen = config.server.listen;
    let grace = config.server.shutdown_grace;
    let state = {
        let _rt = log_rt.enter();
        switchboard_server::AppState::new(config, log, data_dir)
            .expect("state")
            .with_store(Arc::clone(&store))
    };
    // Retention and the audit size cap, now and hourly, beside the writer, as `switchboard
    // serve` runs them (the idle-memory scenario measures the gateway after this first run).
    let stop_jobs = tokio_util::sync::CancellationToken::new();
    let jobs = {
        let _rt = log_rt.enter();
        switchboard_server::maintenance::spawn(state.clone(), store, stop_jobs.clone())
    };
    server_rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
        eprintln!(
            "bench-gateway listening on {listen} (log {})",
            if log_on { "on" } else { "off" }
        );
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        };
        switchboard_server::serve(listener, state, shutdown, grace.min(Duration::from_secs(2)))
            .await
            .expect("serve");
    });
    server_rt.shutdown_timeout(Duration::from_secs(1));
    stop_jobs.cancel();
    let _ = log_rt.block_on(jobs);
    log_rt.block_on(writer.shutdown());
}
