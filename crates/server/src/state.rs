//! Shared state: a cheap handle (`AppState`) over what lives for the whole process (upstream
//! clients, health, log queue) and the reloadable part (`Live`), swapped atomically on reload.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use http::{HeaderValue, Uri};
use parking_lot::Mutex;
use switchboard_config::{AuthStyle, Config, ConfigSource, EndpointConfig};
use switchboard_protocol::Dialect;
use switchboard_router::{Health, Policy, Target};
use switchboard_store::{LogRecord, LogSender, Store};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::client::{ClientError, Resolve};
use crate::egress::{Egress, ProxyEnv, Route};

/// The paths passthrough requests go to (see `HttpUpstream::passthrough_url`), parsed once per
/// endpoint: parsing the URL again for every request cost ~6k instructions (callgrind).
const PASSTHROUGH_PATHS: [&str; 5] = [
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/chat/completions",
    "/models",
    "/v1/models",
];

/// An endpoint ready to receive requests: its config plus the URLs derived from it, and how its
/// requests go out (directly or through its proxy).
#[derive(Debug)]
pub struct Endpoint {
    pub cfg: EndpointConfig,
    base: String,
    /// `base` + each of [`PASSTHROUGH_PATHS`], parsed (absent if it does not parse).
    parsed: Vec<(&'static str, Uri)>,
    /// `host[:port]` for a plain-HTTP base URL, the `Host` header of every request to it (made
    /// once here: hyper-util's client formats it per request, ~2.5k instructions with a port).
    /// None for HTTPS, where the connection may be HTTP/2 and the client sets `:authority`.
    pub(crate) host_header: Option<HeaderValue>,
    /// The endpoint's name as the value of `x-switchboard-endpoint` (None if it is not one).
    pub(crate) name_header: Option<HeaderValue>,
    pub(crate) route: Route,
}

impl Endpoint {
    pub(crate) fn new(cfg: EndpointConfig, route: Route) -> Self {
        let base = cfg.base_url.as_str().trim_end_matches('/').to_owned();
        let name_header = HeaderValue::try_from(cfg.name.as_str()).ok();
        let mut ep = Self {
            cfg,
            base,
            parsed: Vec::new(),
            host_header: None,
            name_header,
            route,
        };
        ep.parsed = PASSTHROUGH_PATHS
            .iter()
            .filter_map(|p| Some((*p, ep.uri(p).ok()?)))
            .collect();
        ep.host_header = ep.parsed.first().and_then(|(_, u)| plain_http_host(u));
        ep
    }

    /// `base_url` + `path` (path starts with `/`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// [`Endpoint::url`] parsed for sending, read as the `url` crate reads it (the config's base
    /// URL was normalised by it already). A `path` that crate would leave as it is (the API
    /// paths, ordinary model names and query strings) is taken as is; anything else (a space, a
    /// quote, non-ASCII, a dot segment) goes through `url` first, which percent-encodes it and
    /// resolves dot segments, so the upstream gets what it got before the gateway left reqwest.
    pub(crate) fn uri(&self, path: &str) -> Result<Uri, String> {
        to_uri(&self.base, path)
    }

    /// [`Endpoint::uri`] already parsed, for the fixed passthrough paths.
    pub(crate) fn parsed_uri(&self, path: &str) -> Option<Uri> {
        self.parsed
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, u)| u.clone())
    }

    #[must_use]
    pub fn kind(&self) -> Dialect {
        self.cfg.kind
    }
}

/// The `Host` header for requests to `uri` when it is plain HTTP: the host, and the port unless
/// it is 80 (what hyper-util's client would set on an HTTP/1 connection).
fn plain_http_host(uri: &Uri) -> Option<HeaderValue> {
    if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return None;
    }
    let host = uri.host()?;
    let value = match uri.port_u16() {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    HeaderValue::try_from(value).ok()
}

/// See [`Endpoint::uri`].
fn to_uri(base: &str, path: &str) -> Result<Uri, String> {
    let invalid = |e: &dyn std::fmt::Display| {
        let url = crate::audit::masked_url(&format!("{base}{path}"));
        format!("invalid upstream URL {url}: {e}")
    };
    let text = format!("{base}{path}");
    if is_plain(path) {
        return Uri::try_from(text).map_err(|e| invalid(&e));
    }
    let url = url::Url::parse(&text).map_err(|e| invalid(&e))?;
    Uri::try_from(url.as_str()).map_err(|e| invalid(&e))
}

/// A path (and query) that the `url` crate would not change: only characters it never
/// percent-encodes in a path or a special scheme's query, and no `.` or `..` segment.
fn is_plain(path: &str) -> bool {
    let plain_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%?".contains(&b);
    let encoded_dot = |w: &[u8]| matches!(w, [b'%', b'2', b'e' | b'E']);
    path.bytes().all(plain_byte)
        && !path.contains("/.")
        && !path.as_bytes().windows(3).any(encoded_dot)
}

impl Target for Endpoint {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn has_own_credentials(&self) -> bool {
        self.cfg.api_key.is_some()
    }
}

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
}

impl Live {
    /// Each enabled endpoint gets its route (its proxy, chosen once here) from `egress`.
    pub(crate) fn new(config: Config, egress: &Egress) -> Self {
        let endpoints = config
            .endpoints
            .iter()
            .filter(|e| e.enabled)
            .map(|e| {
                let route = egress.route(e, &config.routing);
                Arc::new(Endpoint::new(e.clone(), route))
            })
            .collect();
        let r = &config.routing;
        let policy = Policy {
            max_retries: r.max_retries,
            backoff_initial: r.backoff_initial,
            backoff_max: r.backoff_max,
            default_cooldown: r.cooldown,
            failure_cooldown: r.failure_cooldown,
        };
        let pricing = crate::pricing::table(&config.pricing);
        Self {
            config,
            endpoints,
            policy,
            pricing,
            loaded_at: chrono::Utc::now(),
        }
    }

    /// The model to send to `ep` for a requested model: the endpoint's own mapping, else the
    /// global mapping, else unchanged.
    #[must_use]
    pub fn map_model<'a>(&'a self, ep: &'a Endpoint, requested: &'a str) -> &'a str {
        ep.cfg
            .models
            .resolve(requested)
            .or_else(|| self.config.models.resolve(requested))
            .unwrap_or(requested)
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
    /// The log store the query API reads; set by [`AppState::with_store`].
    pub(crate) store: parking_lot::RwLock<Option<Arc<dyn Store>>>,
    /// New and updated request records, for the live feed (`/api/live`). Bounded: a subscriber
    /// that falls behind loses the oldest events and is told how many.
    pub(crate) events: broadcast::Sender<Arc<LogRecord>>,
    /// Prometheus counters, updated as log rows complete.
    pub(crate) metrics: crate::metrics::Metrics,
    /// The request log file's queue.
    pub(crate) log_file: crate::logfile::LogFile,
    /// Trace export (`[opentelemetry]`), off when the section is absent.
    pub(crate) telemetry: crate::otel::Telemetry,
}

/// How the upstream leg is set up; the defaults are production's.
#[derive(Default)]
pub struct UpstreamOptions {
    /// Resolves upstream and proxy host names instead of the system's resolver (tests).
    pub resolver: Option<Arc<dyn Resolve>>,
    /// The proxy variables; `None` reads the process environment once, now.
    pub proxy_env: Option<ProxyEnv>,
}

/// Capacity of [`AppState::request_events`].
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

    /// As [`AppState::new`], with upstream host names resolved by `resolver` instead of the
    /// system's resolver. Tests use it to give names to loopback servers and to make a name fail
    /// to resolve without asking a real DNS server.
    ///
    /// # Errors
    /// As [`AppState::new`].
    pub fn with_resolver(
        config: Config,
        log: LogSender,
        data_dir: PathBuf,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Self, ClientError> {
        let options = UpstreamOptions {
            resolver: Some(resolver),
            ..UpstreamOptions::default()
        };
        Self::with_upstream(config, log, data_dir, options)
    }

    /// As [`AppState::new`], with the upstream leg set up as `options` say.
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
            store: parking_lot::RwLock::new(None),
            events: broadcast::channel(EVENTS_CAPACITY).0,
            metrics: crate::metrics::Metrics::default(),
            log_file: crate::logfile::LogFile::default(),
            telemetry,
        })))
    }

    /// Gives the query API (`/api/…`) read access to the log store. Without one, those routes
    /// answer 503.
    #[must_use]
    pub fn with_store(self, store: Arc<dyn Store>) -> Self {
        *self.0.store.write() = Some(store);
        self
    }

    /// The log store, when one was given.
    #[must_use]
    pub fn store(&self) -> Option<Arc<dyn Store>> {
        self.0.store.read().clone()
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
}

/// How the gateway authenticates to an endpoint with its own key.
pub(crate) fn auth_header(style: AuthStyle) -> &'static str {
    match style {
        AuthStyle::XApiKey => "x-api-key",
        AuthStyle::Bearer => "authorization",
        AuthStyle::GoogApiKey => "x-goog-api-key",
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
    use super::*;

    /// What the upstream was sent before: the text parsed by `url`, then as a URI.
    fn through_url(text: &str) -> Uri {
        let url = url::Url::parse(text).expect("url");
        Uri::try_from(url.as_str()).expect("uri")
    }

    #[test]
    fn uris_are_what_the_url_crate_makes_of_the_same_text() {
        let base = "https://api.example.com/v1";
        for path in [
            "/v1/messages",
            "/v1/messages?beta=true",
            "/v1/messages?a=1&b=x%20y&c=:@!$()*+,;",
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "/v1beta/models/my model:generateContent",
            "/v1beta/models/caf\u{e9}:generateContent",
            "/v1beta/models/{x}\"y\":generateContent",
            "/v1beta/models/../secret:generateContent",
            "/v1beta/models/%2e%2E/x",
            "/v1/messages?q=<a>&r='b'",
            "/v1/messages?q=\u{e9}",
        ] {
            let text = format!("{base}{path}");
            assert_eq!(to_uri(base, path), Ok(through_url(&text)), "{path}");
        }
        assert!(is_plain("/v1/messages?beta=true"));
        assert!(is_plain(
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        ));
        assert!(!is_plain("/a/./b"));
        assert!(!is_plain("/a/%2E%2e/b"));
    }
}
