//! The control plane's one way into the data plane: [`Control`], a narrow handle over the
//! gateway's state. The admin API, the query API, `/status` and `/metrics` (crate
//! `switchboard-admin`) see the data plane only through it: they can swap the configuration,
//! read and reset endpoint health, follow the live feed of requests and read the status and
//! metrics documents — nothing on the request path.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use switchboard_config::{AuthStyle, Config};
use switchboard_store::LogRecord;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::egress::proxy_for;
use crate::inject::{InjectError, Injected, Injection};
use crate::state::{AppState, Live, ReloadStatus};

/// One endpoint's health, for the dashboard's endpoint list ([`Control::health`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EndpointHealth {
    pub name: String,
    /// `healthy`, `cooling_down`, `degraded` (failing, not cooling down) or `disabled`.
    pub state: &'static str,
    pub cooldown_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it cools down, else its last error.
    pub reason: Option<String>,
    pub consecutive_failures: u32,
}

/// A handle for the control plane. Cheap to clone.
#[derive(Clone)]
pub struct Control(AppState);

impl Control {
    #[must_use]
    pub fn new(state: &AppState) -> Self {
        Self(state.clone())
    }

    /// The configuration in force (read-only: change it with [`Control::swap_config`]).
    #[must_use]
    pub fn live(&self) -> Arc<Live> {
        self.0.live()
    }

    /// Puts `config` in force for the next requests; requests in flight keep theirs.
    pub fn swap_config(&self, config: Config) {
        self.0.swap_config(config);
    }

    /// Records a reload that failed: the running configuration stays, `/status` says why.
    pub fn reload_failed(&self, error: String) {
        self.0.reload_failed(error);
    }

    #[must_use]
    pub fn reload_status(&self) -> ReloadStatus {
        self.0.reload_status()
    }

    /// Clears an endpoint's cooldown and failure counts: it takes traffic at once.
    pub fn reset_health(&self, endpoint: &str) {
        self.0.health().reset(endpoint);
    }

    /// Each request as it starts streaming and as it completes. A subscriber that falls behind
    /// is told how many it missed (`RecvError::Lagged`).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LogRecord>> {
        self.0.request_events().subscribe()
    }

    /// The `/status` document: version, config source and reload state, log queue, tasks, and
    /// each endpoint's health, cooldown and proxy (keys masked).
    #[must_use]
    pub fn status(&self) -> serde_json::Value {
        status_json(&self.0)
    }

    /// The Prometheus exposition (text format 0.0.4).
    #[must_use]
    pub fn metrics(&self) -> String {
        let state = &self.0;
        let live = state.live();
        let names = live.endpoints.iter().map(|e| e.cfg.name.as_str());
        let health = state.health().snapshot(names, Instant::now());
        let scrape = crate::metrics::Scrape {
            endpoints: live
                .endpoints
                .iter()
                .zip(health)
                .map(|(e, h)| (e.cfg.name.as_str(), h.cooldown_remaining.is_none()))
                .collect(),
            in_flight: state.in_flight(),
            tasks: alive_tasks(),
            log: state.log().stats(),
            log_file_dropped: state.0.log_file.dropped(),
        };
        let mut text = crate::metrics::render(&state.0.metrics, &scrape);
        crate::clients::render_metrics(&state.0.clients.report(), &mut text);
        text
    }

    /// Sends a request through the pipeline on an operator's behalf (a replay, an endpoint
    /// test): see [`Injection`]. The answer is logged like any request.
    ///
    /// # Errors
    /// The named endpoint is not configured, or the dialect has no client route.
    pub async fn inject(&self, injection: Injection) -> Result<Injected, InjectError> {
        crate::inject::inject(&self.0, injection).await
    }

    /// Each endpoint's health as the router sees it now, in configuration order (disabled
    /// ones included).
    #[must_use]
    pub fn health(&self) -> Vec<EndpointHealth> {
        let live = self.0.live();
        let now = Instant::now();
        let names = live.config.endpoints.iter().map(|e| e.name.as_str());
        let wall = chrono::Utc::now();
        live.config
            .endpoints
            .iter()
            .zip(self.0.health().snapshot(names, now))
            .map(|(e, h)| EndpointHealth {
                name: e.name.clone(),
                state: if !e.enabled {
                    "disabled"
                } else if h.cooldown_remaining.is_some() {
                    "cooling_down"
                } else if h.consecutive_failures > 0 {
                    "degraded"
                } else {
                    "healthy"
                },
                cooldown_until: h
                    .cooldown_remaining
                    .and_then(|d| chrono::TimeDelta::from_std(d).ok())
                    .map(|d| wall + d),
                reason: h.cooldown_reason.clone().or(h.last_error.clone()),
                consecutive_failures: h.consecutive_failures,
            })
            .collect()
    }

    #[must_use]
    pub fn data_dir(&self) -> &Path {
        self.0.data_dir()
    }

    /// Puts a set of client keys, users and teams in force from the next request on (requests
    /// in flight keep their places). Returns those whose new budget windows want their history
    /// from the log ([`Control::seed_usage`]), with the names the log knows them by.
    pub fn install_keys(&self, set: crate::KeySet) -> Vec<(switchboard_limits::Subject, String)> {
        self.0.0.clients.install(set)
    }

    /// Charges the log's spend over `window` (wall-clock times, requested model, usage) to the
    /// new windows of `subject`.
    pub fn seed_usage(
        &self,
        subject: switchboard_limits::Subject,
        window: switchboard_limits::Window,
        history: &[(
            chrono::DateTime<chrono::Utc>,
            String,
            switchboard_limits::Usage,
        )],
    ) {
        self.0.0.clients.seed(subject, window, history);
    }

    /// Whether proxy requests need a client key (one was ever made).
    #[must_use]
    pub fn keys_required(&self) -> bool {
        self.0.0.clients.required()
    }

    /// Every key's, user's and team's meter: requests, tokens and cost since the start, requests
    /// in flight, each budget's spend and what is left.
    #[must_use]
    pub fn key_reports(&self) -> Vec<switchboard_limits::Report> {
        self.0.0.clients.report()
    }

    /// When each key was last used since the start (the gateway token under the nil id).
    #[must_use]
    pub fn keys_last_used(&self) -> Vec<(switchboard_core::KeyId, chrono::DateTime<chrono::Utc>)> {
        self.0.0.clients.last_used()
    }
}

/// The `/status` document.
fn status_json(state: &AppState) -> serde_json::Value {
    let live = state.live();
    let now = Instant::now();
    let names = live.config.endpoints.iter().map(|e| e.name.as_str());
    let health = state.health().snapshot(names, now);
    let env = state.0.egress.env();
    let endpoints: Vec<_> = live
        .config
        .endpoints
        .iter()
        .zip(health)
        .map(|(e, h)| {
            let state = if !e.enabled {
                "disabled"
            } else if h.cooldown_remaining.is_some() {
                "cooling_down"
            } else if h.consecutive_failures > 0 {
                "degraded"
            } else {
                "healthy"
            };
            // How its connections go out: `null` is direct.
            let proxy = proxy_for(e, &live.config.routing, env)
                .map(|p| json!({"url": p.url, "from": p.source.to_string()}));
            json!({
                "name": e.name,
                "kind": e.kind.as_str(),
                "base_url": e.base_url.as_str(),
                "preset": e.preset,
                "credentials": match (&e.api_key, e.auth) {
                    (None, _) => "pass-through".to_owned(),
                    (Some(k), AuthStyle::XApiKey) => format!("x-api-key {}", k.masked()),
                    (Some(k), AuthStyle::Bearer) => format!("bearer {}", k.masked()),
                    (Some(k), AuthStyle::GoogApiKey) => format!("x-goog-api-key {}", k.masked()),
                },
                "proxy": proxy,
                "state": state,
                "cooldown_remaining_s": h.cooldown_remaining.map(|d| d.as_secs_f64()),
                "cooldown_reason": h.cooldown_reason,
                "consecutive_failures": h.consecutive_failures,
                "successes": h.successes,
                "failures": h.failures,
                "last_error": h.last_error,
                "since_last_success_s": h.since_last_success.map(|d| d.as_secs_f64()),
            })
        })
        .collect();
    let log = state.log().stats();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.0.started_at.to_rfc3339(),
        "uptime_s": state.0.started.elapsed().as_secs(),
        "listen": live.config.server.listen.to_string(),
        "config_source": live.config.source.to_string(),
        "config_loaded_at": live.loaded_at.to_rfc3339(),
        "reload": state.reload_status(),
        "data_dir": state.data_dir().display().to_string(),
        "in_flight": state.in_flight(),
        "insecure_public": state.0.insecure_public.load(std::sync::atomic::Ordering::Relaxed),
        "served": state.0.served.load(std::sync::atomic::Ordering::Relaxed),
        "tasks": alive_tasks(),
        "log": {
            "queued": log.queued,
            "written": log.written,
            "dropped": log.dropped,
            "failed_batches": log.failed_batches,
            "lost": log.lost,
            "retries": log.retries,
            "last_error": log.last_error,
            "audit_written": log.audit_written,
            "audit_dropped": log.audit_dropped,
            "audit_lost": log.audit_lost,
        },
        "endpoints": endpoints,
        "opentelemetry": state.0.telemetry.status(),
    })
}

/// Tasks alive on the runtime serving this call (connections, streams, upstream connections,
/// background jobs): a leak shows as a count that never comes back down. `None` outside a
/// runtime.
pub(crate) fn alive_tasks() -> Option<usize> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|h| h.metrics().num_alive_tasks())
}
