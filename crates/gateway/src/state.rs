//! Shared state: a cheap handle (`AppState`) over what lives for the whole process (upstream
//! clients, health, log queue, metrics, the live feed) and the reloadable part (`Live`), swapped
//! atomically on reload.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use hashbrown::HashSet;
use parking_lot::Mutex;
use switchboard_config::{Config, ConfigSource};
use switchboard_router::{Health, Policy};
use switchboard_store::{LogRecord, LogSender};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::client::{ClientError, Resolve};
use crate::egress::{Egress, ProxyEnv};
use crate::endpoint::Endpoint;

/// Everything a config reload replaces.
#[derive(Debug)]
pub struct Live {
    pub config: Config,
    /// Enabled endpoints, in priority order.
    pub endpoints: Vec<Arc<Endpoint>>,
    pub policy: Policy,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// The built-in price table with the config's `[pricing]` overrides.
    pub pricing: switchboard_pricing::Pricing,
    /// The `Host` and `Origin` names the gateway answers to (the DNS rebinding guard).
    pub hosts: crate::hosts::HostPolicy,
    /// `[[profiles]]` over the enabled endpoints, and the one in force.
    pub profiles: crate::profile::Profiles,
    /// The model names the config routes to (each mapping's exact names): the model labels of
    /// `/metrics` besides the price table's ids ([`Live::model_label`]).
    configured_models: HashSet<String>,
}

impl Live {
    /// Each enabled endpoint gets its route (its proxy, chosen once here) from `egress`.
    pub(crate) fn new(config: Config, egress: &Egress) -> Self {
        let endpoints: Vec<Arc<Endpoint>> = config
            .endpoints
            .iter()
            .filter(|e| e.enabled)
            .map(|e| {
                let route = egress.route(e, &config.routing);
                Arc::new(Endpoint::new(e.clone(), route))
            })
            .collect();
        let profiles = crate::profile::Profiles::new(&config, &endpoints);
        let r = &config.routing;
        let policy = Policy {
            max_retries: r.max_retries,
            backoff_initial: r.backoff_initial,
            backoff_max: r.backoff_max,
            default_cooldown: r.cooldown,
            failure_cooldown: r.failure_cooldown,
        };
        let pricing = crate::pricing::table(&config.pricing);
        let configured_models = config
            .endpoints
            .iter()
            .map(|e| &e.models)
            .chain(std::iter::once(&config.models))
            .chain(config.profiles.iter().map(|p| &p.models))
            .flat_map(|m| &m.rules)
            .flat_map(|rule| [&rule.pattern, &rule.target])
            .filter(|name| !switchboard_config::is_model_pattern(name))
            .cloned()
            .collect();
        Self {
            hosts: crate::hosts::HostPolicy::new(&config),
            profiles,
            config,
            endpoints,
            policy,
            pricing,
            loaded_at: chrono::Utc::now(),
            configured_models,
        }
    }

    /// The model to send to `ep` for a requested model: the request's profile's mapping, else
    /// the endpoint's own, else the global mapping, else unchanged.
    #[must_use]
    pub fn map_model<'a>(
        &'a self,
        profile: Option<&'a crate::profile::LiveProfile>,
        ep: &'a Endpoint,
        requested: &'a str,
    ) -> &'a str {
        profile
            .and_then(|p| p.models.resolve(requested))
            .or_else(|| ep.cfg.models.resolve(requested))
            .or_else(|| self.config.models.resolve(requested))
            .unwrap_or(requested)
    }

    /// The `/metrics` label for `model` (the routed model, else the requested one), whose price
    /// is `price`: the name itself when the config routes to it, else the id of its entry in the
    /// price table (dated variants share their model's id), else `other`; none for no model. A
    /// client choosing model names cannot grow the registry: the labels are bounded by the
    /// config and the price table.
    #[must_use]
    pub fn model_label<'a>(
        &'a self,
        model: Option<&'a str>,
        price: Option<&'a switchboard_pricing::Price>,
    ) -> &'a str {
        match model {
            None => "",
            Some(m) if self.configured_models.contains(m) => m,
            Some(_) => price.map_or("other", |p| p.id.as_str()),
        }
    }
}

/// Result of the last reload attempt, for `/status`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReloadStatus {
    pub reloads: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Process-wide state. Cloning is cheap.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    live: ArcSwap<Live>,
    pub(crate) health: Health,
    /// The upstream clients: the direct one and one per proxy in use ([`crate::egress`]).
    pub(crate) egress: Egress,
    pub(crate) log: LogSender,
    pub(crate) data_dir: PathBuf,
    pub(crate) started: Instant,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) reload: Mutex<ReloadStatus>,
    pub(crate) in_flight: AtomicU64,
    pub(crate) served: AtomicU64,
    /// New and updated request records, for the live feed (`/api/live`). Bounded: a subscriber
    /// that falls behind loses the oldest events and is told how many.
    pub(crate) events: broadcast::Sender<Arc<LogRecord>>,
    /// Prometheus counters, updated as log rows complete.
    pub(crate) metrics: crate::metrics::Metrics,
    /// The request log file's queue.
    pub(crate) log_file: crate::logfile::LogFile,
    /// Trace export (`[opentelemetry]`), off when the section is absent.
    pub(crate) telemetry: crate::otel::Telemetry,
    /// Set when the operator chose to serve beyond loopback without the protections that
    /// requires (`--insecure-public`); shown in `/status`.
    pub(crate) insecure_public: std::sync::atomic::AtomicBool,
    /// Client keys and their limit state ([`crate::Control::install_keys`]).
    pub(crate) clients: crate::clients::Clients,
    /// Claude Code sessions seen since the start (`GET /v1/switchboard/session`).
    pub(crate) sessions: crate::sessions::Sessions,
}

/// How the upstream leg is set up; the defaults are production's.
#[derive(Default)]
pub struct UpstreamOptions {
    /// Resolves upstream and proxy host names instead of the system's resolver (tests).
    pub resolver: Option<Arc<dyn Resolve>>,
    /// The proxy variables; `None` reads the process environment once, now.
    pub proxy_env: Option<ProxyEnv>,
}

/// Capacity of the live feed ([`AppState::request_events`]).
const EVENTS_CAPACITY: usize = 1024;

impl AppState {
    /// Builds the state. Trace export, when configured, sends its batches on the Tokio runtime
    /// current here (if any).
    ///
    /// # Errors
    /// The upstream HTTP client could not be built (its TLS configuration was refused).
    pub fn new(config: Config, log: LogSender, data_dir: PathBuf) -> Result<Self, ClientError> {
        Self::with_upstream(config, log, data_dir, UpstreamOptions::default())
    }

    /// As [`AppState::new`], with the upstream leg set up as `options` say (tests give names
    /// to loopback servers with a resolver, and choose the proxy variables).
    ///
    /// # Errors
    /// As [`AppState::new`].
    pub fn with_upstream(
        config: Config,
        log: LogSender,
        data_dir: PathBuf,
        options: UpstreamOptions,
    ) -> Result<Self, ClientError> {
        // Responses are observed (usage, stop reason) and SSE must never be compressed on the way
        // to the client: the client decompresses nothing, and each attempt asks for identity
        // encoding (`HttpUpstream::headers`).
        let env = options.proxy_env.unwrap_or_else(ProxyEnv::from_process);
        let egress = Egress::new(config.routing.connect_timeout, options.resolver, env)?;
        let telemetry = crate::otel::Telemetry::new(config.opentelemetry.as_ref());
        let live = Live::new(config, &egress);
        Ok(Self(Arc::new(Inner {
            live: ArcSwap::from_pointee(live),
            health: Health::new(),
            egress,
            log,
            data_dir,
            started: Instant::now(),
            started_at: chrono::Utc::now(),
            reload: Mutex::new(ReloadStatus::default()),
            in_flight: AtomicU64::new(0),
            served: AtomicU64::new(0),
            events: broadcast::channel(EVENTS_CAPACITY).0,
            metrics: crate::metrics::Metrics::default(),
            log_file: crate::logfile::LogFile::default(),
            telemetry,
            insecure_public: std::sync::atomic::AtomicBool::new(false),
            clients: crate::clients::Clients::default(),
            sessions: crate::sessions::Sessions::default(),
        })))
    }

    /// The live feed of request records: the proxy publishes each request when it completes (and
    /// streams once when their first byte goes out). Sending never blocks; with no subscriber it
    /// costs nothing.
    #[must_use]
    pub fn request_events(&self) -> &broadcast::Sender<Arc<LogRecord>> {
        &self.0.events
    }

    /// The configuration in force now. Each request takes one snapshot and keeps it: a reload
    /// never changes a request half-way.
    #[must_use]
    pub fn live(&self) -> Arc<Live> {
        self.0.live.load_full()
    }

    /// Replaces the configuration (in-flight requests keep their snapshot). Proxy settings take
    /// effect here: each endpoint's route is chosen again, and the clients of proxies no longer
    /// used are dropped (requests in flight keep theirs).
    pub fn swap_config(&self, config: Config) {
        self.0.telemetry.reconfigure(config.opentelemetry.as_ref());
        let live = Live::new(config, &self.0.egress);
        self.0
            .egress
            .retain(live.endpoints.iter().map(|e| &e.route));
        self.0.live.store(Arc::new(live));
        let mut r = self.0.reload.lock();
        r.reloads += 1;
        r.last_error = None;
        r.last_error_at = None;
    }

    /// Records a failed reload: the running config stays.
    pub fn reload_failed(&self, error: String) {
        let mut r = self.0.reload.lock();
        r.last_error = Some(error);
        r.last_error_at = Some(chrono::Utc::now());
    }

    #[must_use]
    pub fn reload_status(&self) -> ReloadStatus {
        self.0.reload.lock().clone()
    }

    #[must_use]
    pub fn health(&self) -> &Health {
        &self.0.health
    }

    #[must_use]
    pub fn log(&self) -> &LogSender {
        &self.0.log
    }

    #[must_use]
    pub fn config_source(&self) -> ConfigSource {
        self.live().config.source.clone()
    }

    /// Requests being served right now.
    #[must_use]
    pub fn in_flight(&self) -> u64 {
        self.0.in_flight.load(Ordering::Relaxed)
    }

    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        &self.0.data_dir
    }

    /// Marks this gateway as started with `--insecure-public` (shown in `/status`).
    pub fn set_insecure_public(&self, on: bool) {
        self.0.insecure_public.store(on, Ordering::Relaxed);
    }

    /// Sends every span ended so far and waits for the collector's answer (tests, and before a
    /// planned stop). Returns `false` when export is off or the flush failed.
    pub async fn flush_traces(&self) -> bool {
        self.0.telemetry.flush().await
    }

    /// Stops trace export after sending what is queued (up to five seconds). Blocks: call it
    /// outside the runtimes, while the runtime exports run on is still up.
    pub fn shutdown_traces(&self) {
        self.0.telemetry.shutdown();
    }
}

/// Counts a request in flight for as long as it lives (dropped with the response body).
pub(crate) struct InFlight(Arc<Inner>);

impl InFlight {
    pub(crate) fn new(state: &AppState) -> Self {
        state.0.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(state.0.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.served.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use switchboard_config::{ConfigSource, compile_str};
    use switchboard_store::LogRecord;

    use super::*;

    /// Whatever model names clients send, `/metrics` gets a bounded set of labels: the config's
    /// own names, the price table's ids, and `other`.
    #[tokio::test]
    async fn metric_labels_stay_bounded_whatever_models_clients_name() {
        let config = compile_str(
            "[[endpoints]]\nname = \"a\"\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:9\"\n\
             [endpoints.models]\nsonnet = \"vendor-model-x\"\n\"my-exact-model\" = \"vendor-model-y\"\n",
            ConfigSource::Default,
            &|_| None,
        )
        .expect("config");
        let egress = Egress::new(Duration::from_secs(1), None, ProxyEnv::none()).expect("egress");
        let live = Live::new(config, &egress);
        let metrics = crate::metrics::Metrics::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..10_000 {
            let model = match i % 4 {
                0 => format!("random-{:016x}", next()),
                1 => format!("claude-sonnet-4-5-2025{:04}", next() % 10_000),
                2 => format!("gpt-{:x}", next()),
                _ => ["my-exact-model", "vendor-model-x", "claude-opus-4-1"][(next() % 3) as usize]
                    .to_owned(),
            };
            let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
            r.endpoint = Some("a".into());
            r.requested_model = Some(model.clone());
            r.status = 200;
            r.outcome = switchboard_core::Outcome::Ok;
            let price = crate::pricing::price(&live.pricing, &r);
            metrics.observe(&r, live.model_label(Some(&model), price));
        }
        let scrape = crate::metrics::Scrape {
            endpoints: Vec::new(),
            in_flight: 0,
            tasks: None,
            log: switchboard_store::WriterStats::default(),
            log_file_dropped: 0,
        };
        let text = crate::metrics::render(&metrics, &scrape);
        let labels: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.split("model=\"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let expected: BTreeSet<&str> = [
            "other",
            "my-exact-model",
            "vendor-model-x",
            "claude-sonnet-4-5",
            "claude-opus-4-1",
        ]
        .into_iter()
        .collect();
        assert_eq!(labels, expected, "{text}");
        let series = text
            .lines()
            .filter(|l| l.starts_with("switchboard_requests_total{"))
            .count();
        assert_eq!(series, expected.len());
    }
}
