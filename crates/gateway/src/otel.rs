//! Optional OpenTelemetry trace export (`[opentelemetry]`): one span per proxied request, with one
//! child span per upstream attempt, following the GenAI semantic conventions
//! (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>), exported over OTLP/HTTP
//! (protobuf) by the SDK's batch span processor.
//!
//! Spans are built from the completed [`LogRecord`] with explicit start and end times, where the
//! log file line is written (`crate::log`), so nothing is traced while a request runs. Ending a
//! span only offers it to the processor's bounded queue: when the queue is full the span is
//! dropped, and a slow or failing collector never makes a request wait or fail. The processor's
//! thread sends each batch with reqwest on the runtime the exporter was started on (the log
//! runtime in `switchboard serve`), never on the request's task.
//!
//! Only counts, names, ids, timings and the gateway's own error messages go into spans: never a
//! prompt, a response or a credential. With no `[opentelemetry]` section nothing is built and a
//! request pays one pointer load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use parking_lot::Mutex;
use switchboard_config::{EndpointConfig, OpenTelemetryConfig};
use switchboard_core::AttemptDisposition;
use switchboard_protocol::Dialect;
use switchboard_store::LogRecord;
use tokio::runtime::Handle;
use tokio::time::Instant;

/// Spans waiting for export at most; beyond this they are dropped.
const QUEUE: usize = 8192;
/// Spans per export request.
const BATCH: usize = 512;
/// How long a span may wait for its batch.
const DELAY: Duration = Duration::from_secs(5);
/// Longest error message put in a span status.
const MAX_DESCRIPTION: usize = 256;
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The process's exporter, replaced when a reload changes `[opentelemetry]`.
pub(crate) struct Telemetry {
    /// The runtime export requests run on: the one current when the state was built.
    runtime: Option<Handle>,
    current: ArcSwapOption<Exporter>,
    stats: Arc<ExportStats>,
}

struct Exporter {
    config: OpenTelemetryConfig,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

/// Export outcomes, for `/status`.
#[derive(Default)]
struct ExportStats {
    exported: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Telemetry {
    /// Starts exporting when `config` says so. Exports run on the current Tokio runtime.
    pub(crate) fn new(config: Option<&OpenTelemetryConfig>) -> Self {
        let t = Self {
            runtime: Handle::try_current().ok(),
            current: ArcSwapOption::empty(),
            stats: Arc::default(),
        };
        t.reconfigure(config);
        t
    }

    /// Whether spans are exported now.
    pub(crate) fn is_on(&self) -> bool {
        self.current.load().is_some()
    }

    /// Applies a (re)loaded `[opentelemetry]`: an unchanged section keeps its exporter; a changed
    /// one gets a new exporter, and the old one flushes what it holds on a thread of its own.
    pub(crate) fn reconfigure(&self, config: Option<&OpenTelemetryConfig>) {
        let unchanged = self.current.load().as_ref().map(|e| &e.config) == config;
        if unchanged {
            return;
        }
        let next = config.and_then(|c| match self.start(c) {
            Ok(e) => {
                tracing::info!(endpoint = %c.traces_url(), service = %c.service_name, "exporting traces over OTLP/HTTP");
                Some(Arc::new(e))
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the OpenTelemetry trace exporter; traces are off");
                None
            }
        });
        if let Some(old) = self.current.swap(next) {
            retire(old);
        }
    }

    fn start(&self, config: &OpenTelemetryConfig) -> Result<Exporter, String> {
        let Some(runtime) = self.runtime.clone() else {
            return Err("no Tokio runtime to send exports on".to_owned());
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let headers: HashMap<String, String> = config
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OnRuntime {
                http,
                runtime,
                stats: self.stats.clone(),
            })
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.traces_url().as_str())
            .with_timeout(config.timeout)
            .with_headers(headers)
            .build()
            .map_err(|e| e.to_string())?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE)
            .with_max_export_batch_size(BATCH)
            .with_scheduled_delay(DELAY)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", VERSION))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio,
            ))))
            .with_resource(resource)
            .build();
        let scope = InstrumentationScope::builder("switchboard")
            .with_version(VERSION)
            .build();
        let tracer = provider.tracer_with_scope(scope);
        Ok(Exporter {
            config: config.clone(),
            provider,
            tracer,
        })
    }

    /// Exports `r`'s spans, when export is on. Never waits.
    pub(crate) fn export(&self, r: &LogRecord, trace: &RequestTrace, endpoints: &[EndpointConfig]) {
        if let Some(exporter) = self.current.load().as_ref() {
            exporter.emit(r, trace, endpoints);
        }
    }

    /// Sends every span ended so far and waits for the collector's answer (tests, and before a
    /// planned stop). Returns `false` when export is off or the flush failed.
    pub(crate) async fn flush(&self) -> bool {
        let Some(e) = self.current.load_full() else {
            return false;
        };
        tokio::task::spawn_blocking(move || e.provider.force_flush().is_ok())
            .await
            .unwrap_or(false)
    }

    /// Stops trace export after sending what is queued (up to five seconds). Blocks: call it
    /// outside the runtimes, while the runtime exports run on is still up.
    pub(crate) fn shutdown(&self) {
        if let Some(e) = self.current.swap(None)
            && let Err(error) = e.provider.shutdown()
        {
            tracing::warn!(%error, "trace export did not finish cleanly");
        }
    }

    /// `/status`: where spans go (headers masked) and how exports went; `null` when off.
    pub(crate) fn status(&self) -> serde_json::Value {
        let Some(e) = self.current.load_full() else {
            return serde_json::Value::Null;
        };
        let headers: serde_json::Map<String, serde_json::Value> = e
            .config
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.masked().into()))
            .collect();
        serde_json::json!({
            "endpoint": e.config.traces_url().as_str(),
            "service_name": e.config.service_name,
            "sample_ratio": e.config.sample_ratio,
            "headers": headers,
            "exported_batches": self.stats.exported.load(Ordering::Relaxed),
            "failed_batches": self.stats.failed.load(Ordering::Relaxed),
            "last_error": self.stats.last_error.lock().clone(),
        })
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(old) = self.current.swap(None) {
            retire(old);
        }
    }
}

/// Flushes and stops an exporter on a thread of its own: shutting down blocks until the last
/// batch is sent, which must not hold up a runtime worker (or the reload that replaced it).
fn retire(exporter: Arc<Exporter>) {
    let spawned = std::thread::Builder::new()
        .name("switchboard-otel-stop".into())
        .spawn(move || {
            let _ = exporter.provider.shutdown();
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot stop the old trace exporter cleanly");
    }
}

/// An [`HttpClient`] for the exporter: the batch processor polls exports on its own thread,
/// outside any runtime, so each request is handed to the runtime reqwest needs.
#[derive(Debug)]
struct OnRuntime {
    http: reqwest::Client,
    runtime: Handle,
    stats: Arc<ExportStats>,
}

impl std::fmt::Debug for ExportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportStats").finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let sent = self
            .runtime
            .spawn(async move { http.send_bytes(request).await })
            .await;
        let result = sent.unwrap_or_else(|e| Err(Box::new(e) as HttpError));
        match &result {
            Ok(_) => {
                self.stats.exported.fetch_add(1, Ordering::Relaxed);
                if self.stats.last_error.lock().take().is_some() {
                    tracing::info!("trace export works again");
                }
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                // reqwest's message names the URL and status, never the headers.
                let message = e.to_string();
                let mut last = self.stats.last_error.lock();
                if last.is_none() {
                    tracing::warn!(error = %message, "trace export failed; spans are dropped until it works again");
                }
                *last = Some(message);
            }
        }
        result
    }
}

/// What the spans need beyond the log record, gathered while the request runs (only when export
/// is on).
#[derive(Default)]
pub(crate) struct RequestTrace {
    /// The client's `traceparent`, when it sent a valid one.
    parent: Context,
    /// Per attempt, in order: when it started (from the request's start) and its failure kind.
    attempts: Vec<(Duration, Option<&'static str>)>,
    /// The model the upstream said answered.
    response_model: Option<String>,
    /// From the request's start to its completion.
    elapsed: Duration,
}

impl RequestTrace {
    /// Reads a W3C `traceparent` (and `tracestate`) from the client's headers.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let parent =
            TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
        Self {
            parent,
            ..Self::default()
        }
    }

    pub(crate) fn attempts(
        &mut self,
        started: Instant,
        attempts: &[switchboard_router::AttemptLog],
    ) {
        self.attempts = attempts
            .iter()
            .map(|a| (a.started.saturating_duration_since(started), a.failure))
            .collect();
    }

    pub(crate) fn response_model(&mut self, model: Option<&str>) {
        if let Some(m) = model {
            self.response_model = Some(m.to_owned());
        }
    }

    pub(crate) fn finished(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
    }
}

impl Exporter {
    fn emit(&self, r: &LogRecord, t: &RequestTrace, endpoints: &[EndpointConfig]) {
        let start = SystemTime::from(r.started_at);
        let endpoint = |name: &str| endpoints.iter().find(|e| e.name == name);
        let answered = r.endpoint.as_deref().and_then(endpoint);
        let operation = operation(&r.path);
        let name = match &r.requested_model {
            Some(m) => format!("{operation} {m}"),
            None => operation.to_owned(),
        };
        let mut attrs = vec![
            KeyValue::new("gen_ai.operation.name", operation),
            KeyValue::new(
                "gen_ai.provider.name",
                provider(answered, &r.client_dialect),
            ),
        ];
        if let Some(m) = &r.requested_model {
            attrs.push(KeyValue::new("gen_ai.request.model", m.clone()));
        }
        if r.stream {
            attrs.push(KeyValue::new("gen_ai.request.stream", true));
        }
        if let Some(e) = answered {
            attrs.extend(server(e));
        }
        if let Some(m) = t.response_model.as_ref().or(r.routed_model.as_ref()) {
            attrs.push(KeyValue::new("gen_ai.response.model", m.clone()));
        }
        if let Some(reason) = &r.stop_reason {
            let reasons = Array::String(vec![StringValue::from(reason.clone())]);
            attrs.push(KeyValue::new(
                "gen_ai.response.finish_reasons",
                Value::Array(reasons),
            ));
        }
        let cached = r.cache_creation_input_tokens + r.cache_read_input_tokens;
        if r.input_tokens + cached + r.output_tokens > 0 {
            // The convention's input count includes cached tokens; the log keeps Anthropic's,
            // which excludes them (docs/configuration.md, `[pricing]`).
            let tokens = [
                ("gen_ai.usage.input_tokens", r.input_tokens + cached),
                ("gen_ai.usage.output_tokens", r.output_tokens),
                (
                    "gen_ai.usage.cache_creation.input_tokens",
                    r.cache_creation_input_tokens,
                ),
                (
                    "gen_ai.usage.cache_read.input_tokens",
                    r.cache_read_input_tokens,
                ),
            ];
            attrs.extend(tokens.map(|(k, v)| KeyValue::new(k, int(v))));
        }
        if let Some(session) = &r.session_id {
            attrs.push(KeyValue::new("gen_ai.conversation.id", session.clone()));
        }
        if r.stream
            && let Some(ms) = r.ttfb_ms
        {
            attrs.push(KeyValue::new(
                "gen_ai.response.time_to_first_chunk",
                Duration::from_millis(ms).as_secs_f64(),
            ));
        }
        attrs.push(KeyValue::new("http.request.method", r.method.clone()));
        attrs.push(KeyValue::new("url.path", r.path.clone()));
        if r.status > 0 {
            attrs.push(KeyValue::new(
                "http.response.status_code",
                i64::from(r.status),
            ));
        }
        let failed = !r.outcome.is_success();
        if failed {
            let kind = if r.status >= 400 {
                r.status.to_string()
            } else {
                r.outcome.to_string()
            };
            attrs.push(KeyValue::new("error.type", kind));
        }
        attrs.extend([
            KeyValue::new("switchboard.request_id", r.id.to_string()),
            KeyValue::new("switchboard.outcome", r.outcome.as_str()),
            KeyValue::new("switchboard.client_dialect", r.client_dialect.clone()),
            KeyValue::new("switchboard.stream", r.stream),
            KeyValue::new("switchboard.attempts", int(r.attempts.len() as u64)),
        ]);
        if let Some(e) = &r.endpoint {
            attrs.push(KeyValue::new("switchboard.endpoint", e.clone()));
        }
        if let Some(m) = &r.routed_model {
            attrs.push(KeyValue::new("switchboard.routed_model", m.clone()));
        }
        if let Some(c) = r.cost_usd {
            attrs.push(KeyValue::new("switchboard.cost_usd", c));
        }
        if let Some(ms) = r.ttfb_ms {
            attrs.push(KeyValue::new("switchboard.ttfb_ms", int(ms)));
        }

        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_start_time(start)
            .with_attributes(attrs)
            .start_with_context(&self.tracer, &t.parent);
        if failed {
            span.set_status(Status::error(description(
                r.error.as_deref(),
                r.outcome.as_str(),
            )));
        }
        if !span.span_context().is_sampled() {
            return;
        }
        let cx = Context::new().with_span(span);
        for (i, a) in r.attempts.iter().enumerate() {
            let (offset, failure) = t.attempts.get(i).copied().unwrap_or_default();
            let attempt_start = start + offset;
            let mut attrs = vec![
                KeyValue::new("switchboard.endpoint", a.endpoint.clone()),
                KeyValue::new("switchboard.attempt", int(i as u64)),
                KeyValue::new("switchboard.disposition", a.disposition.as_str()),
                KeyValue::new("switchboard.latency_ms", int(a.latency_ms)),
            ];
            if let Some(e) = endpoint(&a.endpoint) {
                attrs.extend(server(e));
            }
            if let Some(m) = &a.model {
                attrs.push(KeyValue::new("switchboard.routed_model", m.clone()));
            }
            if let Some(s) = a.status {
                attrs.push(KeyValue::new("http.response.status_code", i64::from(s)));
            }
            let failed = a.disposition != AttemptDisposition::Ok;
            if failed {
                let kind = match (a.status, failure) {
                    (Some(s), _) if s >= 400 => s.to_string(),
                    (_, Some(f)) => f.to_owned(),
                    _ => a.disposition.to_string(),
                };
                attrs.push(KeyValue::new("error.type", kind));
            }
            let mut child = self
                .tracer
                .span_builder(format!("attempt {}", a.endpoint))
                .with_kind(SpanKind::Client)
                .with_start_time(attempt_start)
                .with_attributes(attrs)
                .start_with_context(&self.tracer, &cx);
            if failed {
                child.set_status(Status::error(description(
                    a.error.as_deref(),
                    a.disposition.as_str(),
                )));
            }
            child.end_with_timestamp(attempt_start + Duration::from_millis(a.latency_ms));
        }
        cx.span().end_with_timestamp(start + t.elapsed);
    }
}

/// `gen_ai.operation.name` for a proxied path: `chat` for Messages and Chat Completions (the
/// convention's name for both); token counting has no name in the convention, so its own.
fn operation(path: &str) -> &'static str {
    if path.ends_with("/count_tokens") {
        "count_tokens"
    } else {
        "chat"
    }
}

/// `gen_ai.provider.name`: the convention's value for the endpoint's preset where it lists one,
/// the preset's name otherwise, and by wire protocol for endpoints without a preset (or, before
/// any endpoint was tried, by the client's dialect).
fn provider(endpoint: Option<&EndpointConfig>, client_dialect: &str) -> String {
    let Some(e) = endpoint else {
        return match client_dialect {
            "openai" => "openai".to_owned(),
            _ => "anthropic".to_owned(),
        };
    };
    let by_kind = match e.kind {
        Dialect::Anthropic => "anthropic",
        Dialect::OpenAiChat => "openai",
        Dialect::Gemini => "gcp.gemini",
    };
    match e.preset.as_deref() {
        None | Some("anthropic" | "openai" | "gemini") => by_kind.to_owned(),
        Some("deepseek" | "deepseek-anthropic") => "deepseek".to_owned(),
        Some("xai") => "x_ai".to_owned(),
        Some("moonshot" | "kimi-anthropic") => "moonshot_ai".to_owned(),
        Some("zhipu" | "glm-anthropic") => "zhipu".to_owned(),
        Some(other) => other.to_owned(),
    }
}

/// `server.address` and `server.port` of an endpoint.
fn server(e: &EndpointConfig) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(2);
    if let Some(host) = e.base_url.host_str() {
        out.push(KeyValue::new("server.address", host.to_owned()));
    }
    if let Some(port) = e.base_url.port_or_known_default() {
        out.push(KeyValue::new("server.port", i64::from(port)));
    }
    out
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A span status description: the gateway's error message (which never holds credentials or
/// content), capped, or the outcome when there is none.
fn description(error: Option<&str>, fallback: &str) -> String {
    let text = error.unwrap_or(fallback);
    match text.char_indices().nth(MAX_DESCRIPTION) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_capped() {
        assert_eq!(description(None, "exhausted"), "exhausted");
        let long = "x".repeat(1000);
        assert_eq!(
            description(Some(&long), "").chars().count(),
            MAX_DESCRIPTION + 1
        );
    }

    #[test]
    fn providers_by_preset_then_kind() {
        let config = switchboard_config::compile_str(
            r#"
[[endpoints]]
name = "a"
kind = "anthropic"
base_url = "https://gw.example.com"
[[endpoints]]
name = "b"
preset = "deepseek-anthropic"
[[endpoints]]
name = "c"
preset = "gemini"
[[endpoints]]
name = "d"
preset = "xai"
[[endpoints]]
name = "e"
preset = "openrouter"
"#,
            switchboard_config::ConfigSource::Default,
            &|_| None,
        )
        .expect("valid config");
        let names: Vec<String> = config
            .endpoints
            .iter()
            .map(|e| provider(Some(e), "anthropic"))
            .collect();
        assert_eq!(
            names,
            ["anthropic", "deepseek", "gcp.gemini", "x_ai", "openrouter"]
        );
        assert_eq!(provider(None, "openai"), "openai");
        let port = |e: &EndpointConfig| server(e)[1].value.as_str().into_owned();
        assert_eq!(port(&config.endpoints[0]), "443");
    }

    #[test]
    fn operations_by_path() {
        assert_eq!(operation("/v1/messages"), "chat");
        assert_eq!(operation("/v1/chat/completions"), "chat");
        assert_eq!(operation("/v1/messages/count_tokens"), "count_tokens");
    }
}
