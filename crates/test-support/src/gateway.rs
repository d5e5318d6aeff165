//! A real gateway on an ephemeral loopback port, configured from TOML like a user would.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchboard_gateway::{AppState, ProxyEnv, UpstreamOptions};
use switchboard_server::{ConfigFile, Options, Running, Stores};
use switchboard_store::{LogRecord, Query, Store, WriterOptions};

/// Builds a [`TestGateway`] from TOML pieces.
#[must_use]
pub struct TestGatewayBuilder {
    endpoints: String,
    extra: String,
    routing: String,
    server: String,
    watch: bool,
    resolver: Option<Arc<dyn switchboard_gateway::Resolve>>,
    insecure_public: bool,
    proxy_env: Option<ProxyEnv>,
    log_queue: usize,
    writer: WriterOptions,
    busy_timeout: Option<Duration>,
    read_only: bool,
}

impl Default for TestGatewayBuilder {
    fn default() -> Self {
        Self {
            endpoints: String::new(),
            extra: String::new(),
            // Fast backoff so failover tests take milliseconds; spacing itself is tested with
            // paused time in the router's own tests.
            routing: "max_retries = 2\nbackoff = { initial = \"1ms\", max = \"4ms\" }\nfailure_cooldown = \"0s\"\n".into(),
            server: String::new(),
            watch: false,
            resolver: None,
            proxy_env: None,
            log_queue: 10_000,
            writer: WriterOptions {
                flush_interval: Duration::from_millis(10),
                ..WriterOptions::default()
            },
            busy_timeout: None,
            read_only: false,
            insecure_public: false,
        }
    }
}

impl TestGatewayBuilder {
    /// Adds an endpoint; `extra` is more TOML lines for it (e.g. `api_key = "k"`).
    pub fn endpoint(mut self, name: &str, kind: &str, base_url: &str, extra: &str) -> Self {
        let _ = write!(
            self.endpoints,
            "[[endpoints]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{base_url}\"\n{extra}\n\n"
        );
        self
    }

    /// Replaces the `[routing]` body.
    pub fn routing(mut self, toml: &str) -> Self {
        self.routing = toml.to_owned();
        self
    }

    /// Lines added to `[server]`.
    pub fn server(mut self, toml: &str) -> Self {
        self.server = toml.to_owned();
        self
    }

    /// More top-level TOML (e.g. a `[models]` table), appended last.
    pub fn extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    /// Serve as if started with `--insecure-public`.
    pub fn insecure_public(mut self) -> Self {
        self.insecure_public = true;
        self
    }

    /// Watch the config file for changes (hot reload).
    pub fn watch(mut self) -> Self {
        self.watch = true;
        self
    }

    /// Resolves upstream host names with `resolver` (e.g. [`crate::FakeDns`]) instead of the
    /// system's resolver.
    pub fn resolver(mut self, resolver: impl switchboard_gateway::Resolve + 'static) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The proxy environment variables the gateway sees (`HTTPS_PROXY`…). By default it sees
    /// none, whatever the test process's environment holds.
    pub fn proxy_env(mut self, env: ProxyEnv) -> Self {
        self.proxy_env = Some(env);
        self
    }

    /// The log queue's capacity (10,000 by default, as `storage.log_queue`).
    pub fn log_queue(mut self, capacity: usize) -> Self {
        self.log_queue = capacity;
        self
    }

    /// How the log writer batches and retries (by default: a 10 ms flush interval, otherwise the
    /// production defaults).
    pub fn writer(mut self, opts: WriterOptions) -> Self {
        self.writer = opts;
        self
    }

    /// A SQLite log that refuses every write: created and migrated, then opened read-only.
    pub fn sqlite_read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// How long a SQLite write waits for a lock held by another connection (5 s in production).
    pub fn sqlite_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = Some(timeout);
        self
    }

    fn toml(&self) -> String {
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n{}\n[routing]\n{}\n{}\n{}",
            self.server, self.routing, self.endpoints, self.extra
        )
    }

    /// Starts the gateway with the one assembly the CLI and the bench use
    /// (`switchboard_server::start`).
    pub async fn start(mut self) -> TestGateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = dir.path().join("switchboard.toml");
        std::fs::write(&config_path, self.toml()).expect("write config");
        let path = dir.path().join(switchboard_store::SQLITE_FILE_NAME);
        let test_store = match self.busy_timeout {
            // SQLite-specific knobs (the locked and read-only database tests): always SQLite.
            _ if self.read_only => {
                let store = switchboard_store::SqliteStore::open(&path)
                    .await
                    .expect("create store");
                store.migrate().await.expect("migrate");
                store.pool().close().await;
                let store = switchboard_store::SqliteStore::open_read_only(&path)
                    .await
                    .expect("open store read-only");
                // The admin tables (the door's) in a writable database of their own.
                let admin = switchboard_store::SqliteStore::open(&dir.path().join("admin.db"))
                    .await
                    .expect("open admin store");
                admin.migrate().await.expect("migrate admin store");
                crate::TestStore::from_stores(Arc::new(store), Arc::new(admin))
            }
            None => crate::TestStore::open(dir.path()).await,
            Some(busy) => {
                let store = switchboard_store::SqliteStore::open_with_busy_timeout(&path, busy)
                    .await
                    .expect("open store");
                store.migrate().await.expect("migrate");
                crate::TestStore::from_store(store)
            }
        };
        let store = test_store.store.clone();
        let mut options = Options::new(
            ConfigFile::new(Some(config_path.clone())),
            dir.path().to_path_buf(),
        );
        options.stores = Stores::Given {
            log: store.clone(),
            admin: test_store.admin.clone(),
        };
        options.log_queue = Some(self.log_queue);
        options.writer = self.writer.clone();
        options.upstream = UpstreamOptions {
            resolver: self.resolver.clone(),
            proxy_env: Some(self.proxy_env.take().unwrap_or_else(ProxyEnv::none)),
        };
        options.watch = self.watch;
        // Retention runs when a test runs it (`maintenance::run_once`/`spawn`): a job of its own
        // would delete the old records tests insert on purpose.
        options.jobs = false;
        options.insecure_public = self.insecure_public;
        // Never the real ~/.claude: the Claude Code routes work on a home of the test's own.
        options.claude_home = Some(dir.path().join("home"));
        let running = match switchboard_server::start(options).await {
            Ok(r) => r,
            Err(switchboard_server::StartError::Config(e)) => panic!(
                "test config does not compile:\n{}",
                switchboard_config::render_errors(&e)
            ),
            Err(e) => panic!("gateway did not start: {e}"),
        };
        let admin_token = switchboard_auth::LocalCredential::read(dir.path())
            .expect("the gateway made its admin credential")
            .token()
            .expose()
            .to_owned();
        TestGateway {
            url: running.url(),
            admin_url: running.admin_url(),
            state: running.state.clone(),
            store,
            test_store,
            admin_token,
            running: Some(running),
            config_path,
            dir: Some(dir),
            http: reqwest::Client::new(),
        }
    }
}

/// A running gateway. Shut it down with [`TestGateway::shutdown`] to flush the log.
pub struct TestGateway {
    pub url: String,
    /// Where the control plane answers (the same as `url` unless `[admin] listen` is set).
    pub admin_url: String,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// Keeps a PostgreSQL test schema alive (see [`crate::TestStore`]).
    test_store: crate::TestStore,
    /// The local admin credential the gateway made in its data directory (what the CLI reads).
    pub admin_token: String,
    running: Option<Running>,
    pub config_path: PathBuf,
    dir: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
}

impl TestGateway {
    pub fn builder() -> TestGatewayBuilder {
        TestGatewayBuilder::default()
    }

    /// POSTs a JSON body to `path` with an `x-api-key`.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", "sk-client-key-0123456789")
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .expect("request to gateway")
    }

    /// Waits (bounded) until at least `n` log rows are stored, and returns them newest first.
    pub async fn wait_for_logs(&self, n: usize) -> Vec<LogRecord> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let page = self
                .store
                .list(&Query {
                    limit: Some(1000),
                    ..Query::default()
                })
                .await
                .expect("list");
            if page.records.len() >= n {
                return page.records;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} log rows (have {})",
                page.records.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Rewrites the config file (the watcher picks it up).
    pub fn rewrite_config(&self, toml: &str) {
        std::fs::write(&self.config_path, toml).expect("rewrite config");
    }

    /// A GET of the control plane at `path`, as the local admin (the CLI's credential).
    pub fn admin_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.admin_url))
            .bearer_auth(&self.admin_token)
    }

    /// A request of the control plane, as the local admin.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.admin_url))
            .bearer_auth(&self.admin_token)
    }

    /// The database behind the admin tables (users, sessions, links, secrets).
    #[must_use]
    pub fn admin_store(&self) -> Arc<dyn switchboard_store::AdminStore> {
        self.test_store.admin.clone()
    }

    /// The gateway's data directory.
    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        self.config_path
            .parent()
            .unwrap_or(std::path::Path::new("."))
    }

    /// Current `/status` document.
    pub async fn status(&self) -> serde_json::Value {
        self.admin_get("/status")
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("status json")
    }

    /// The SQLite file of the request log.
    #[must_use]
    pub fn database(&self) -> PathBuf {
        self.config_path
            .with_file_name(switchboard_store::SQLITE_FILE_NAME)
    }

    /// Current `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.admin_get("/metrics")
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Graceful shutdown: stop accepting, drain, flush the log. The store stays readable.
    pub async fn shutdown(mut self) -> Stopped {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        Stopped {
            store: self.store.clone(),
            _test_store: self.test_store.clone(),
            _dir: self.dir.take(),
        }
    }
}

/// A gateway that has shut down; its data directory lives as long as this.
pub struct Stopped {
    pub store: Arc<dyn Store>,
    _test_store: crate::TestStore,
    _dir: Option<tempfile::TempDir>,
}
