//! The log row of one request, completed when the response ends — or, if the client goes away
//! first, when the response is dropped. Sending never blocks (see `switchboard_store::LogSender`).

use switchboard_core::{AttemptDisposition, Outcome};
use switchboard_protocol::Usage;
use switchboard_protocol::observe::Summary;
use switchboard_router::AttemptLog;
use switchboard_store::{AttemptRecord, LogRecord, LogSender};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::state::Live;

pub(crate) struct RequestLog {
    rec: Option<LogRecord>,
    started: Instant,
    sender: LogSender,
    /// The live feed (`/api/live`); see [`RequestLog::with_events`].
    events: Option<broadcast::Sender<std::sync::Arc<LogRecord>>>,
    /// Cost, metrics, log file and audit; see [`RequestLog::observed`].
    obs: Option<Observe>,
    /// Cache writes with the 1-hour TTL: priced at their own rate, not stored as a column.
    cache_1h: u64,
    /// Where the completed record also goes: a request the control plane injected
    /// (`crate::inject`).
    done: Option<tokio::sync::oneshot::Sender<LogRecord>>,
    /// The request's place under its client key's limits: charged with the row's cost and
    /// tokens when it completes.
    metered: Option<switchboard_limits::Admission>,
    /// The profile the request was routed with (a Claude Code session's status line shows it).
    profile: Option<std::sync::Arc<str>>,
}

/// What completing a row also feeds: the price table and config of the request's snapshot,
/// the metrics and log file of the process, the request's audit capture (when enabled) and its
/// trace (when exported).
struct Observe {
    state: crate::state::AppState,
    live: std::sync::Arc<Live>,
    audit: Option<std::sync::Arc<crate::audit::Capture>>,
    trace: Option<crate::otel::RequestTrace>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RequestLog {
    pub(crate) fn new(rec: LogRecord, sender: LogSender) -> Self {
        Self {
            rec: Some(rec),
            started: Instant::now(),
            sender,
            events: None,
            obs: None,
            cache_1h: 0,
            done: None,
            metered: None,
            profile: None,
        }
    }

    /// Records the profile the request is routed with.
    pub(crate) fn set_profile(&mut self, profile: Option<&std::sync::Arc<str>>) {
        self.profile = profile.cloned();
    }

    /// Also hands the completed record to `done`.
    pub(crate) fn on_done(mut self, done: tokio::sync::oneshot::Sender<LogRecord>) -> Self {
        self.done = Some(done);
        self
    }

    /// Also prices the row, counts it in the metrics, writes its log file line and, when audit
    /// is on, captures the request's bodies (see `crate::audit`).
    pub(crate) fn observed(
        mut self,
        state: &crate::state::AppState,
        live: &std::sync::Arc<Live>,
    ) -> Self {
        let audit = &live.config.audit;
        self.obs = Some(Observe {
            state: state.clone(),
            live: live.clone(),
            audit: audit.enabled.then(|| {
                std::sync::Arc::new(crate::audit::Capture::new(
                    self.started,
                    audit.max_request_bytes,
                ))
            }),
            trace: None,
        });
        self
    }

    /// Also exports the request's spans, when trace export is on, as children of the client's
    /// `traceparent` if it sent one.
    pub(crate) fn traced(mut self, headers: &http::HeaderMap) -> Self {
        if let Some(o) = self.obs.as_mut()
            && o.state.0.telemetry.is_on()
        {
            o.trace = Some(crate::otel::RequestTrace::from_headers(headers));
        }
        self
    }

    fn trace(&mut self) -> Option<&mut crate::otel::RequestTrace> {
        self.obs.as_mut().and_then(|o| o.trace.as_mut())
    }

    /// The request's audit capture, when audit is on.
    pub(crate) fn audit(&self) -> Option<&std::sync::Arc<crate::audit::Capture>> {
        self.obs.as_ref().and_then(|o| o.audit.as_ref())
    }

    /// Also publishes the record to the live feed: once when a stream's first byte goes out
    /// (outcome `in_progress`) and once when it completes. Publishing never blocks, and with
    /// no subscriber it does not even clone the record.
    pub(crate) fn with_events(
        mut self,
        events: broadcast::Sender<std::sync::Arc<LogRecord>>,
    ) -> Self {
        self.events = Some(events);
        self
    }

    fn publish(&self, r: &LogRecord, in_progress: bool) {
        if let Some(tx) = self.events.as_ref().filter(|tx| tx.receiver_count() > 0) {
            let mut r = r.clone();
            if in_progress {
                r.outcome = Outcome::InProgress;
                r.latency_ms = millis(self.started.elapsed());
            }
            // Err only means every subscriber has gone: nothing to do.
            let _ = tx.send(std::sync::Arc::new(r));
        }
    }

    /// Charges the request to its key's limits when it completes (see `crate::clients`).
    pub(crate) fn metered(&mut self, admission: switchboard_limits::Admission) {
        self.metered = Some(admission);
    }

    pub(crate) fn record(&mut self) -> Option<&mut LogRecord> {
        self.rec.as_mut()
    }

    /// Marks the first byte sent to the client.
    pub(crate) fn first_byte(&mut self) {
        let elapsed = millis(self.started.elapsed());
        if let Some(r) = self.rec.as_mut()
            && r.ttfb_ms.is_none()
        {
            r.ttfb_ms = Some(elapsed);
            if let Some(r) = self.rec.as_ref().filter(|r| r.stream) {
                self.publish(r, true);
            }
        }
    }

    pub(crate) fn attempts(
        &mut self,
        live: &Live,
        profile: Option<&crate::profile::LiveProfile>,
        requested: Option<&str>,
        attempts: &[AttemptLog],
    ) {
        let started = self.started;
        if let Some(t) = self.trace() {
            t.attempts(started, attempts);
        }
        let Some(r) = self.rec.as_mut() else { return };
        r.attempts = attempts
            .iter()
            .map(|a| AttemptRecord {
                endpoint: a.endpoint.clone(),
                model: requested.and_then(|m| {
                    live.endpoints
                        .iter()
                        .find(|e| e.cfg.name == a.endpoint)
                        .map(|e| live.map_model(profile, e, m).to_owned())
                }),
                status: a.status,
                latency_ms: millis(a.latency),
                error: a.error.clone(),
                disposition: a.disposition,
                offset_ms: Some(millis(a.started.saturating_duration_since(started))),
                // The upstream answered (a status): that is when its first byte came.
                first_byte_ms: a.status.map(|_| millis(a.latency)),
                stream_ms: None,
                error_class: error_class(a),
            })
            .collect();
        if let Some(last) = attempts.last() {
            r.endpoint = Some(last.endpoint.clone());
            if r.routed_model.is_none() {
                r.routed_model = r.attempts.last().and_then(|a| a.model.clone());
            }
        }
    }

    pub(crate) fn summary(&mut self, s: &Summary) {
        if let Some(t) = self.trace() {
            t.response_model(s.model.as_deref());
        }
        let Some(r) = self.rec.as_mut() else { return };
        set_usage(r, &s.usage);
        self.cache_1h = s.usage.cache_creation_1h_input_tokens;
        if s.stop_reason.is_some() {
            r.stop_reason.clone_from(&s.stop_reason);
        }
    }

    /// Completes and sends the row.
    pub(crate) fn finish(&mut self, status: u16, outcome: Outcome, error: Option<String>) {
        let elapsed = self.started.elapsed();
        if let Some(t) = self.trace() {
            t.finished(elapsed);
        }
        let latency = millis(elapsed);
        if let Some(mut r) = self.rec.take() {
            r.status = status;
            r.outcome = outcome;
            if error.is_some() {
                r.error = error;
            }
            r.latency_ms = latency;
            if r.stream
                && let Some(a) = r
                    .attempts
                    .last_mut()
                    .filter(|a| a.disposition == AttemptDisposition::Ok)
            {
                let committed = a.offset_ms.unwrap_or(0).saturating_add(a.latency_ms);
                a.stream_ms = Some(latency.saturating_sub(committed));
            }
            let cache_1h = self.cache_1h;
            let audit = self.obs.as_ref().and_then(|o| o.complete(&mut r, cache_1h));
            if let Some(o) = &self.obs {
                o.state.0.sessions.observe(&r, self.profile.as_ref());
            }
            if let (Some(admission), Some(o)) = (self.metered.take(), self.obs.as_ref()) {
                // The cost the log records is the cost budgets are charged.
                let usage = switchboard_limits::Usage {
                    input_tokens: r.input_tokens,
                    output_tokens: r.output_tokens,
                    cache_creation_input_tokens: r.cache_creation_input_tokens,
                    cache_read_input_tokens: r.cache_read_input_tokens,
                    cost_usd: r.cost_usd,
                };
                let model = r.requested_model.as_deref().unwrap_or_default();
                o.state.0.clients.complete(admission, model, &usage);
            }
            self.publish(&r, false);
            if let Some(done) = self.done.take() {
                // Err only means the control plane stopped waiting.
                let _ = done.send(r.clone());
            }
            self.sender.send_with_audit(r, audit);
        }
    }
}

impl Observe {
    /// Prices `r`, counts it, logs its line, exports its spans, and hands back its audit data.
    fn complete(&self, r: &mut LogRecord, cache_1h: u64) -> Option<switchboard_store::AuditBundle> {
        // One lookup in the price table serves the cost and the metrics label.
        let price = crate::pricing::price(&self.live.pricing, r);
        if r.cost_usd.is_none() {
            r.cost_usd = price.map(|p| crate::pricing::cost(p, r, cache_1h));
        }
        let shared = &self.state.0;
        let model = r.routed_model.as_deref().or(r.requested_model.as_deref());
        let label = self.live.model_label(model, price);
        shared.metrics.observe(r, label);
        let lf = &self.live.config.log_file;
        if lf.enabled {
            shared
                .log_file
                .offer(&shared.data_dir, lf.dir.as_deref(), r);
        }
        if let Some(t) = &self.trace {
            shared.telemetry.export(r, t, &self.live.config.endpoints);
        }
        let entries = self.audit.as_ref()?.take_entries();
        (!entries.is_empty()).then(|| switchboard_store::AuditBundle {
            request_id: r.id,
            created_at: r.started_at,
            entries,
        })
    }
}

/// An attempt's failure in a few words, for the waterfall and the failover figures: the status
/// with the error type it stands for (`429 rate_limit_error`), the failure kind (`timeout`,
/// `connect`, `protocol`, `unsupported`), or `cooling_down` for an endpoint passed over.
fn error_class(a: &AttemptLog) -> Option<String> {
    match (a.status, a.failure, a.disposition) {
        (_, _, AttemptDisposition::Ok) => None,
        (_, _, AttemptDisposition::Skipped) => Some("cooling_down".to_owned()),
        (Some(status), Some("status"), _) => Some(format!(
            "{status} {}",
            switchboard_protocol::error::ErrorKind::from_status(status).anthropic_type()
        )),
        (_, Some(kind), _) => Some(kind.to_owned()),
        (Some(status), None, _) => Some(status.to_string()),
        (None, None, d) => Some(d.as_str().to_owned()),
    }
}

fn set_usage(r: &mut LogRecord, u: &Usage) {
    r.input_tokens = u.input_tokens;
    r.output_tokens = u.output_tokens;
    r.cache_creation_input_tokens = u.cache_creation_input_tokens;
    r.cache_read_input_tokens = u.cache_read_input_tokens;
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if self.rec.is_some() {
            let status = self.rec.as_ref().map_or(0, |r| r.status);
            self.finish(
                status,
                Outcome::ClientClosed,
                Some("client disconnected before the response ended".into()),
            );
        }
    }
}
