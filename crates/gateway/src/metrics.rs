//! Prometheus metrics, `GET /metrics` in the text exposition format (version 0.0.4), written by
//! hand.
//!
//! Counters and histograms are updated once per request, when its log row completes
//! (`RequestLog::finish`), under one short lock; gauges (in flight, endpoint health, log queue)
//! are read when scraped. Label values are endpoint and model names from the config and the
//! requests, so their number is bounded by what the gateway routes to.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;
use parking_lot::Mutex;
use switchboard_core::{AttemptDisposition, Outcome};
use switchboard_store::{LogRecord, WriterStats};

/// Histogram bucket bounds, seconds: from a fast cache hit to a long thinking stream.
const BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (slot, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Series by endpoint, then model: looked up with the record's borrowed names, so counting a
/// request allocates nothing once its series exist.
#[derive(Default)]
struct Registry {
    endpoints: HashMap<String, EndpointSeries>,
    /// Attempts by the attempted endpoint, then the router's disposition.
    attempts: HashMap<String, HashMap<AttemptDisposition, u64>>,
}

#[derive(Default)]
struct EndpointSeries {
    /// By model (routed, else requested).
    models: HashMap<String, ModelSeries>,
    latency: Histogram,
    ttfb: Histogram,
}

#[derive(Default)]
struct ModelSeries {
    /// By (status class, outcome); a handful at most.
    requests: Vec<(&'static str, Outcome, u64)>,
    /// input, output, cache_creation, cache_read.
    tokens: [u64; 4],
    /// Cost of the priced requests, and how many there were.
    cost: f64,
    priced: u64,
    unpriced: u64,
}

/// The entry for `key`, created (with an owned key) only when missing.
fn slot<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    map.entry_ref(key).or_default()
}

/// The gateway's metrics registry.
#[derive(Default)]
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    /// Stored audit bytes, as of the last maintenance run.
    pub(crate) audit_stored_bytes: AtomicU64,
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "none",
    }
}

/// Milliseconds of one request fit an f64 exactly.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

impl Metrics {
    /// Counts one completed request under the model label `model` (one the config routes to,
    /// or `other`: see `Live::model_label`), so no client input can add series.
    pub(crate) fn observe(&self, r: &LogRecord, model: &str) {
        let endpoint = r.endpoint.as_deref().unwrap_or_default();
        let class = status_class(r.status);
        let mut reg = self.registry.lock();
        let ep = slot(&mut reg.endpoints, endpoint);
        ep.latency.observe(seconds(r.latency_ms));
        if let Some(ttfb) = r.ttfb_ms {
            ep.ttfb.observe(seconds(ttfb));
        }
        let m = slot(&mut ep.models, model);
        match m
            .requests
            .iter_mut()
            .find(|(c, o, _)| *c == class && *o == r.outcome)
        {
            Some((_, _, n)) => *n += 1,
            None => m.requests.push((class, r.outcome, 1)),
        }
        m.tokens[0] += r.input_tokens;
        m.tokens[1] += r.output_tokens;
        m.tokens[2] += r.cache_creation_input_tokens;
        m.tokens[3] += r.cache_read_input_tokens;
        match r.cost_usd {
            Some(c) => {
                m.cost += c;
                m.priced += 1;
            }
            None => m.unpriced += 1,
        }
        for a in &r.attempts {
            *slot(&mut reg.attempts, &a.endpoint)
                .entry(a.disposition)
                .or_default() += 1;
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (&'a str, &'a Histogram)>,
) {
    family(out, name, "histogram", help);
    for (endpoint, h) in series.filter(|(_, h)| h.count > 0) {
        let ep = esc(endpoint);
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(out, "{name}_bucket{{endpoint=\"{ep}\",le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{endpoint=\"{ep}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "{name}_sum{{endpoint=\"{ep}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{endpoint=\"{ep}\"}} {}", h.count);
    }
}

/// `map` in key order.
fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&str, &V)> {
    let mut v: Vec<_> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    v.sort_unstable_by_key(|(k, _)| *k);
    v
}

/// The gauges and counters read at scrape time, from outside the registry.
pub(crate) struct Scrape<'a> {
    /// Each enabled endpoint and whether it takes traffic now.
    pub(crate) endpoints: Vec<(&'a str, bool)>,
    pub(crate) in_flight: u64,
    /// Tasks alive on the server's runtime.
    pub(crate) tasks: Option<usize>,
    pub(crate) log: WriterStats,
    pub(crate) log_file_dropped: u64,
}

/// The whole exposition.
pub(crate) fn render(m: &Metrics, s: &Scrape<'_>) -> String {
    let mut out = String::with_capacity(4096);
    {
        let reg = m.registry.lock();
        let endpoints = sorted(&reg.endpoints);
        // (endpoint, model, series), in label order.
        let series: Vec<(&str, &str, &ModelSeries)> = endpoints
            .iter()
            .flat_map(|(ep, e)| sorted(&e.models).into_iter().map(move |(m, s)| (*ep, m, s)))
            .collect();
        family(
            &mut out,
            "switchboard_requests_total",
            "counter",
            "Completed requests by endpoint, model (routed, else requested), status class and outcome.",
        );
        for (ep, model, s) in &series {
            let mut requests: Vec<_> = s.requests.iter().collect();
            requests.sort_unstable_by_key(|(class, outcome, _)| (*class, outcome.as_str()));
            for (class, outcome, n) in requests {
                let _ = writeln!(
                    out,
                    "switchboard_requests_total{{endpoint=\"{}\",model=\"{}\",status_class=\"{class}\",outcome=\"{}\"}} {n}",
                    esc(ep),
                    esc(model),
                    outcome.as_str()
                );
            }
        }
        family(
            &mut out,
            "switchboard_tokens_total",
            "counter",
            "Tokens by kind (input excludes cache reads and writes).",
        );
        for (ep, model, s) in &series {
            for (kind, n) in ["input", "output", "cache_creation", "cache_read"]
                .iter()
                .zip(s.tokens)
            {
                let _ = writeln!(
                    out,
                    "switchboard_tokens_total{{endpoint=\"{}\",model=\"{}\",kind=\"{kind}\"}} {n}",
                    esc(ep),
                    esc(model)
                );
            }
        }
        family(
            &mut out,
            "switchboard_cost_usd_total",
            "counter",
            "Cost in USD of requests whose model has a price.",
        );
        for (ep, model, s) in series.iter().filter(|(_, _, s)| s.priced > 0) {
            let _ = writeln!(
                out,
                "switchboard_cost_usd_total{{endpoint=\"{}\",model=\"{}\"}} {}",
                esc(ep),
                esc(model),
                s.cost
            );
        }
        family(
            &mut out,
            "switchboard_unpriced_requests_total",
            "counter",
            "Requests whose cost is unknown (no price for the model).",
        );
        for (ep, model, s) in series.iter().filter(|(_, _, s)| s.unpriced > 0) {
            let _ = writeln!(
                out,
                "switchboard_unpriced_requests_total{{endpoint=\"{}\",model=\"{}\"}} {}",
                esc(ep),
                esc(model),
                s.unpriced
            );
        }
        histogram(
            &mut out,
            "switchboard_request_duration_seconds",
            "Time from request to the last byte of the response.",
            endpoints.iter().map(|(ep, e)| (*ep, &e.latency)),
        );
        histogram(
            &mut out,
            "switchboard_ttfb_seconds",
            "Time from request to the first byte sent to the client.",
            endpoints.iter().map(|(ep, e)| (*ep, &e.ttfb)),
        );
        family(
            &mut out,
            "switchboard_upstream_attempts_total",
            "counter",
            "Attempts against endpoints by the router's disposition (ok, retry, cooldown, next, returned, partial…).",
        );
        for (ep, dispositions) in sorted(&reg.attempts) {
            let mut dispositions: Vec<_> = dispositions.iter().collect();
            dispositions.sort_unstable_by_key(|(d, _)| d.as_str());
            for (disposition, n) in dispositions {
                let _ = writeln!(
                    out,
                    "switchboard_upstream_attempts_total{{endpoint=\"{}\",disposition=\"{}\"}} {n}",
                    esc(ep),
                    disposition.as_str()
                );
            }
        }
    }

    family(
        &mut out,
        "switchboard_endpoint_healthy",
        "gauge",
        "1 when the endpoint takes traffic, 0 while it is cooling down (enabled endpoints only).",
    );
    for (name, up) in &s.endpoints {
        let _ = writeln!(
            out,
            "switchboard_endpoint_healthy{{endpoint=\"{}\"}} {}",
            esc(name),
            u8::from(*up)
        );
    }
    family(
        &mut out,
        "switchboard_in_flight_requests",
        "gauge",
        "Requests being served now.",
    );
    let _ = writeln!(out, "switchboard_in_flight_requests {}", s.in_flight);
    if let Some(tasks) = s.tasks {
        family(
            &mut out,
            "switchboard_runtime_alive_tasks",
            "gauge",
            "Tasks alive on the server's async runtime (connections, streams, upstream connections).",
        );
        let _ = writeln!(out, "switchboard_runtime_alive_tasks {tasks}");
    }

    let log = &s.log;
    let counters = [
        (
            "switchboard_log_records_written_total",
            "Request log records written to the store.",
            log.written,
        ),
        (
            "switchboard_log_records_dropped_total",
            "Request log records dropped because the log queue was full (the database is slower than the traffic).",
            log.dropped,
        ),
        (
            "switchboard_log_records_lost_total",
            "Request log records lost in batches that failed every retry.",
            log.lost,
        ),
        (
            "switchboard_log_write_retries_total",
            "Log writes retried after a database error (locked, slow or unreachable).",
            log.retries,
        ),
        (
            "switchboard_log_batches_failed_total",
            "Log batches given up on after every retry failed.",
            log.failed_batches,
        ),
        (
            "switchboard_audit_written_total",
            "Requests whose audit data was stored.",
            log.audit_written,
        ),
        (
            "switchboard_audit_dropped_total",
            "Requests whose audit data was dropped because the queue held too much audit data.",
            log.audit_dropped,
        ),
        (
            "switchboard_audit_lost_total",
            "Requests whose audit data was lost to a failed write.",
            log.audit_lost,
        ),
        (
            "switchboard_log_file_lines_dropped_total",
            "Log file lines dropped because the file writer fell behind.",
            s.log_file_dropped,
        ),
    ];
    for (name, help, value) in counters {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        &mut out,
        "switchboard_log_queue_depth",
        "gauge",
        "Records accepted but not yet written.",
    );
    let _ = writeln!(out, "switchboard_log_queue_depth {}", log.queued);
    family(
        &mut out,
        "switchboard_audit_stored_bytes",
        "gauge",
        "Compressed audit data stored, as of the last maintenance run.",
    );
    let _ = writeln!(
        out,
        "switchboard_audit_stored_bytes {}",
        m.audit_stored_bytes.load(Ordering::Relaxed)
    );
    out
}
