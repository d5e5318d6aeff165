//! `GET /api/report`: an analysis of the filtered set as Markdown or self-contained HTML: a
//! summary, cost by day, top models, errors, the slowest requests and cache efficiency per
//! endpoint. Built as a list of tables, then rendered, so both formats say the same thing.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use http::{HeaderValue, header};
use switchboard_core::Outcome;
use switchboard_store::{BreakdownBy, Bucket, LogRecord, MAX_LIMIT, Query, Stats, Store};

use super::ApiError;
use super::params::{Kind, Params, Spec};
use crate::AdminState;

pub(crate) const FORMAT: Spec = Spec {
    name: "format",
    description: "markdown (text/markdown) or html (one self-contained page).",
    kind: Kind::OneOf(&["markdown", "html"]),
};

/// Section titles, in order (tests look for them).
pub(crate) const SECTIONS: [&str; 6] = [
    "Summary",
    "Cost by day",
    "Top models",
    "Errors",
    "Slowest requests",
    "Cache efficiency by endpoint",
];

/// Outcomes of requests that were not served, as the proxy writes them.
const ERROR_OUTCOMES: [Outcome; 6] = [
    Outcome::ClientError,
    Outcome::UpstreamError,
    Outcome::Exhausted,
    Outcome::Partial,
    Outcome::ClientClosed,
    Outcome::Rejected,
];

/// Most records read for the slowest requests and the error messages (newest first).
const SCAN_MAX: u64 = 20_000;
/// Rows in the "top" tables.
const TOP: usize = 10;

pub(crate) async fn report(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut query = params.filter(&[FORMAT])?;
    query.limit = None;
    query.cursor = None;
    let html = params.one_of(&FORMAT)? == "html";
    let store = state.store();
    let sections = gather(store.as_ref(), &query).await?;
    let title = "Switchboard usage report";
    let subtitle = format!(
        "Generated {} · filters: {}",
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        describe(&query)
    );
    let (body, content_type) = if html {
        (
            render_html(title, &subtitle, &sections),
            "text/html; charset=utf-8",
        )
    } else {
        (
            render_markdown(title, &subtitle, &sections),
            "text/markdown; charset=utf-8",
        )
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

/// One titled part of the report: notes, then tables.
struct Section {
    title: &'static str,
    notes: Vec<String>,
    tables: Vec<Table>,
}

struct Table {
    caption: Option<String>,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn table(headers: &[&'static str], rows: Vec<Vec<String>>) -> Table {
    Table {
        caption: None,
        headers: headers.to_vec(),
        rows,
    }
}

async fn gather(store: &dyn Store, query: &Query) -> Result<Vec<Section>, ApiError> {
    let stats = store.stats(query).await?;
    let days = store.timeseries(query, Bucket::Day).await?;
    let models = store.breakdown(query, BreakdownBy::Model).await?;
    let endpoints = store.breakdown(query, BreakdownBy::Endpoint).await?;
    let mut outcomes = Vec::new();
    for outcome in ERROR_OUTCOMES {
        if query.outcome.is_some_and(|o| o != outcome) {
            continue;
        }
        let q = Query {
            outcome: Some(outcome),
            ..query.clone()
        };
        let n = store.stats(&q).await?.totals.requests;
        if n > 0 {
            outcomes.push((outcome, n));
        }
    }
    let scan = scan(store, query).await?;

    let mut sections = vec![summary(&stats)];

    sections.push(Section {
        title: SECTIONS[1],
        notes: vec![],
        tables: vec![table(
            &[
                "Day (UTC)",
                "Requests",
                "Errors",
                "Input tokens",
                "Output tokens",
                "Cache write",
                "Cache read",
                "Cost (USD)",
                "Unknown cost",
            ],
            days.iter()
                .map(|d| {
                    let t = &d.totals;
                    vec![
                        d.start.format("%Y-%m-%d").to_string(),
                        t.requests.to_string(),
                        t.errors.to_string(),
                        t.input_tokens.to_string(),
                        t.output_tokens.to_string(),
                        t.cache_creation_input_tokens.to_string(),
                        t.cache_read_input_tokens.to_string(),
                        usd(t.cost_usd),
                        t.unknown_cost_requests.to_string(),
                    ]
                })
                .collect(),
        )],
    });

    let mut top_models = models.clone();
    top_models.sort_by(|a, b| b.totals.cost_usd.total_cmp(&a.totals.cost_usd));
    sections.push(Section {
        title: SECTIONS[2],
        notes: vec![format!(
            "By cost, then requests; {} of {} models shown.",
            models.len().min(TOP),
            models.len()
        )],
        tables: vec![table(
            &[
                "Model",
                "Requests",
                "Success rate",
                "Input tokens",
                "Output tokens",
                "Cost (USD)",
                "Cache hit ratio",
            ],
            top_models
                .iter()
                .take(TOP)
                .map(|m| {
                    let t = &m.totals;
                    vec![
                        key(m.key.as_deref()),
                        t.requests.to_string(),
                        pct(t.success_rate()),
                        t.input_tokens.to_string(),
                        t.output_tokens.to_string(),
                        usd(t.cost_usd),
                        pct(m.cache_hit_ratio),
                    ]
                })
                .collect(),
        )],
    });

    let errors = stats.totals.errors;
    let mut errors_table = table(
        &["Outcome", "Requests", "Share of errors"],
        outcomes
            .iter()
            .map(|(o, n)| vec![o.to_string(), n.to_string(), share(*n, errors)])
            .collect(),
    );
    errors_table.caption = Some("By outcome".to_owned());
    let mut messages_table = table(&["Error message", "Requests"], scan.top_errors);
    messages_table.caption = Some(format!(
        "Most frequent messages{}",
        scan_scope(scan.scanned, scan.truncated)
    ));
    sections.push(Section {
        title: SECTIONS[3],
        notes: vec![format!(
            "{errors} of {} requests failed ({}).",
            stats.totals.requests,
            pct(stats.success_rate.map(|s| 1.0 - s))
        )],
        tables: vec![errors_table, messages_table],
    });

    sections.push(Section {
        title: SECTIONS[4],
        notes: vec![format!(
            "The {TOP} slowest by total latency{}.",
            scan_scope(scan.scanned, scan.truncated)
        )],
        tables: vec![table(
            &[
                "Started (UTC)",
                "Request id",
                "Model",
                "Endpoint",
                "Status",
                "Latency (ms)",
                "TTFB (ms)",
            ],
            scan.slowest
                .iter()
                .map(|r| {
                    vec![
                        r.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        r.id.to_string(),
                        key(r.routed_model.as_deref().or(r.requested_model.as_deref())),
                        key(r.endpoint.as_deref()),
                        r.status.to_string(),
                        r.latency_ms.to_string(),
                        opt(r.ttfb_ms),
                    ]
                })
                .collect(),
        )],
    });

    sections.push(Section {
        title: SECTIONS[5],
        notes: vec![
            "Cache hit ratio: cache-read tokens over all prompt tokens (input + cache write + cache read)."
                .to_owned(),
        ],
        tables: vec![table(
            &[
                "Endpoint",
                "Requests",
                "Input tokens",
                "Cache write",
                "Cache read",
                "Cache hit ratio",
            ],
            endpoints
                .iter()
                .map(|e| {
                    let t = &e.totals;
                    vec![
                        key(e.key.as_deref()),
                        t.requests.to_string(),
                        t.input_tokens.to_string(),
                        t.cache_creation_input_tokens.to_string(),
                        t.cache_read_input_tokens.to_string(),
                        pct(e.cache_hit_ratio),
                    ]
                })
                .collect(),
        )],
    });
    Ok(sections)
}

fn summary(stats: &Stats) -> Section {
    let t = &stats.totals;
    let p = |p: &switchboard_store::Percentiles| {
        format!("{} / {} / {}", opt(p.p50), opt(p.p95), opt(p.p99))
    };
    let rows = vec![
        ("Requests", t.requests.to_string()),
        ("Success rate", pct(stats.success_rate)),
        ("Errors", t.errors.to_string()),
        ("Input tokens", t.input_tokens.to_string()),
        ("Output tokens", t.output_tokens.to_string()),
        (
            "Cache write tokens",
            t.cache_creation_input_tokens.to_string(),
        ),
        ("Cache read tokens", t.cache_read_input_tokens.to_string()),
        ("Cache hit ratio", pct(t.cache_hit_ratio())),
        ("Cost (USD)", usd(t.cost_usd)),
        (
            "Requests with unknown cost",
            t.unknown_cost_requests.to_string(),
        ),
        ("Latency p50 / p95 / p99 (ms)", p(&stats.latency_ms)),
        ("TTFB p50 / p95 / p99 (ms)", p(&stats.ttfb_ms)),
    ];
    Section {
        title: SECTIONS[0],
        notes: vec![],
        tables: vec![table(
            &["Metric", "Value"],
            rows.into_iter()
                .map(|(k, v)| vec![k.to_owned(), v])
                .collect(),
        )],
    }
}

struct Scan {
    slowest: Vec<LogRecord>,
    top_errors: Vec<Vec<String>>,
    scanned: u64,
    truncated: bool,
}

/// Reads the newest [`SCAN_MAX`] matching records, page by page, keeping only the slowest and
/// the error message counts: the store has no latency order, and messages are free text.
async fn scan(store: &dyn Store, query: &Query) -> Result<Scan, ApiError> {
    let mut q = Query {
        limit: Some(MAX_LIMIT),
        ..query.clone()
    };
    let mut slowest: Vec<LogRecord> = Vec::with_capacity(TOP + 1);
    let mut messages: HashMap<String, u64> = HashMap::new();
    let mut scanned = 0u64;
    let truncated = loop {
        let page = store.list(&q).await?;
        for mut r in page.records {
            scanned += 1;
            if let Some(e) = &r.error {
                let msg: String = e.chars().take(160).collect();
                *messages.entry(msg).or_default() += 1;
            }
            if slowest.len() < TOP || slowest.last().is_some_and(|s| r.latency_ms > s.latency_ms) {
                r.attempts.clear();
                let at = slowest.partition_point(|s| s.latency_ms >= r.latency_ms);
                slowest.insert(at, r);
                slowest.truncate(TOP);
            }
        }
        match page.next_cursor {
            Some(_) if scanned >= SCAN_MAX => break true,
            Some(c) => q.cursor = Some(c),
            None => break false,
        }
    };
    let mut top: Vec<(String, u64)> = messages.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Scan {
        slowest,
        top_errors: top
            .into_iter()
            .take(TOP)
            .map(|(m, n)| vec![m, n.to_string()])
            .collect(),
        scanned,
        truncated,
    })
}

fn scan_scope(scanned: u64, truncated: bool) -> String {
    if truncated {
        format!(" among the {scanned} most recent matching requests")
    } else {
        String::new()
    }
}

/// The filters in force, as `name=value` pairs.
fn describe(q: &Query) -> String {
    let mut parts = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(q) {
        for (k, v) in map {
            // The query-string names, not the store's.
            let k = match k.as_str() {
                "status_class" => "status",
                "search" => "q",
                k => k,
            };
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => parts.push(format!("{k}={s}")),
                v => parts.push(format!("{k}={v}")),
            }
        }
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

fn key(k: Option<&str>) -> String {
    k.unwrap_or("(none)").to_owned()
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

#[expect(
    clippy::cast_precision_loss,
    reason = "a displayed percentage; counts are far below 2^52"
)]
fn share(n: u64, of: u64) -> String {
    pct((of > 0).then(|| n as f64 / of as f64))
}

fn usd(v: f64) -> String {
    format!("${v:.4}")
}

fn render_markdown(title: &str, subtitle: &str, sections: &[Section]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut out = format!("# {title}\n\n{subtitle}\n");
    for s in sections {
        let _ = write!(out, "\n## {}\n", s.title);
        for n in &s.notes {
            let _ = write!(out, "\n{n}\n");
        }
        for t in &s.tables {
            if let Some(c) = &t.caption {
                let _ = write!(out, "\n### {c}\n");
            }
            if t.rows.is_empty() {
                out.push_str("\n_None._\n");
                continue;
            }
            let _ = write!(out, "\n| {} |\n", t.headers.join(" | "));
            let _ = writeln!(
                out,
                "|{}|",
                t.headers
                    .iter()
                    .map(|_| "---")
                    .collect::<Vec<_>>()
                    .join("|")
            );
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;\
padding:0 1rem;color:#1d1d1f}h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}\
h3{font-size:1rem}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.25rem .6rem;\
border:1px solid #ddd;text-align:left;vertical-align:top}th{background:#f5f5f7}\
td{font-variant-numeric:tabular-nums}.sub{color:#666}.none{color:#888;font-style:italic}";

fn render_html(title: &str, subtitle: &str, sections: &[Section]) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n\
         <p class=\"sub\">{s}</p>\n",
        t = escape(title),
        s = escape(subtitle),
    );
    for s in sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(s.title));
        for n in &s.notes {
            let _ = writeln!(out, "<p>{}</p>", escape(n));
        }
        for t in &s.tables {
            if let Some(c) = &t.caption {
                let _ = writeln!(out, "<h3>{}</h3>", escape(c));
            }
            if t.rows.is_empty() {
                out.push_str("<p class=\"none\">None.</p>\n");
                continue;
            }
            out.push_str("<table>\n<thead><tr>");
            for h in &t.headers {
                let _ = write!(out, "<th>{}</th>", escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in &t.rows {
                out.push_str("<tr>");
                for c in row {
                    let _ = write!(out, "<td>{}</td>", escape(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_it_is_given() {
        let sections = vec![Section {
            title: "Errors",
            notes: vec!["<script>alert(1)</script>".into()],
            tables: vec![table(
                &["Error message"],
                vec![vec!["a & \"b\" <c>".into()]],
            )],
        }];
        let html = render_html("T", "S", &sections);
        assert!(!html.contains("<script>"));
        assert!(html.contains("a &amp; &quot;b&quot; &lt;c&gt;"));
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let sections = vec![Section {
            title: "Errors",
            notes: vec![],
            tables: vec![table(&["Error message"], vec![vec!["a|b\nc".into()]])],
        }];
        let md = render_markdown("T", "S", &sections);
        assert!(md.contains("| a\\|b c |"), "{md}");
    }
}
