//! Bench-only gateway launcher: starts Switchboard with the one assembly `switchboard serve`
//! uses (`switchboard_server::start`, the log writer on a runtime of its own), so the benchmark
//! is not blocked on the CLI and can switch the request log off.
//!
//! `bench-gateway --config FILE --listen ADDR --data-dir DIR [--log sqlite|off] [--client-keys N]`
//!
//! `--client-keys N` makes N client keys before serving (the first with two limits: a rate and
//! a budget, both far above what the bench sends) and writes the first to `DIR/bench.key`:
//! what admission costs with keys, and with many of them.
//!
//! `--log off` keeps the whole logging path on the request side (records are built and queued)
//! but the writer stores them nowhere, isolating the database writer's cost.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_server::{ConfigFile, Options, StartError, Stores};
use switchboard_store::{
    BreakdownBy, BreakdownRow, Bucket, LogRecord, Page, Query, Stats, Store, StoreError,
    TimeBucket,
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
    let mut options = Options::new(ConfigFile::new(Some(config_path)), data_dir.clone());
    options.listen = flag(&args, "--listen").map(|l| l.parse::<SocketAddr>().expect("--listen IP:PORT"));
    options.background = Some(log_rt.handle().clone());
    options.watch = false;
    if !log_on {
        // The admin data (the door's) still needs a database; the request log goes nowhere.
        let (_, admin) = log_rt
            .block_on(switchboard_store::open_with_admin(None, &data_dir))
            .expect("open the admin store");
        options.stores = Stores::Given {
            log: Arc::new(NullStore),
            admin,
        };
    }
    let running = match server_rt.block_on(switchboard_server::start(options)) {
        Ok(r) => r,
        Err(StartError::Config(e)) => {
            eprintln!("{}", switchboard_config::render_errors(&e));
            std::process::exit(2);
        }
        Err(e) => panic!("gateway did not start: {e}"),
    };
    if let Some(n) = flag(&args, "--client-keys") {
        let n: usize = n.parse().expect("--client-keys N");
        server_rt.block_on(make_keys(&running, n, &data_dir));
    }
    eprintln!(
        "bench-gateway listening on {} (log {})",
        running.addr,
        if log_on { "on" } else { "off" }
    );
    server_rt.block_on(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        running.shutdown().await;
    });
    server_rt.shutdown_timeout(Duration::from_secs(1));
}

/// Makes `n` client keys; the first, with a rate and a budget, is written to `dir/bench.key`.
async fn make_keys(running: &switchboard_server::Running, n: usize, dir: &std::path::Path) {
    let now = Utc::now();
    let hasher = switchboard_auth::KeyHasher::load_or_create(&running.secrets, now)
        .await
        .expect("client key hasher");
    let keys = switchboard_auth::ClientKeys::new(running.admin_store.clone());
    let mut first = None;
    for i in 0..n {
        let limits: switchboard_limits::Limits = if i == 0 {
            serde_json::from_str(r#"{"rpm": 10000000, "budgets": ["1000000usd/day"]}"#)
                .expect("limits")
        } else {
            switchboard_limits::Limits::default()
        };
        let new = switchboard_auth::NewKey {
            name: format!("bench-{i}"),
            user: "local".into(),
            team: None,
            limits,
            expires_at: None,
        };
        let (_, secret) = keys.create(&hasher, &new, now).await.expect("create key");
        first.get_or_insert(secret);
    }
    running.admin.reload_keys().await.expect("keys in force");
    // Written once the keys are in force: the harness waits for it.
    if let Some(k) = first {
        std::fs::write(dir.join("bench.key"), k.expose()).expect("write bench.key");
    }
}
