//! `GET /api/export`: the filtered set as JSON, NDJSON or CSV, optionally gzip- or
//! zstd-compressed. Streamed: the store is paged through with keyset pagination, one page in
//! memory at a time, and each page is encoded (and compressed) as it arrives.

use std::io;
use std::sync::Arc;

use async_compression::tokio::bufread::{GzipEncoder, ZstdEncoder};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, header};
use switchboard_store::{LogRecord, Page, Query, Store};
use tokio_util::io::{ReaderStream, StreamReader};

use super::ApiError;
use super::params::{Kind, Params, Spec};
use crate::AdminState;

pub(crate) const FORMAT: Spec = Spec {
    name: "format",
    description: "json: one array of records; ndjson: one record per line; csv: a header row, then one row per record (attempts as a JSON column; an empty cell is null).",
    kind: Kind::OneOf(&["json", "ndjson", "csv"]),
};

pub(crate) const COMPRESS: Spec = Spec {
    name: "compress",
    description: "Compress the file (served as application/gzip or application/zstd).",
    kind: Kind::OneOf(&["none", "gzip", "zstd"]),
};

/// Records fetched per store query.
const PAGE: u32 = 500;

/// The CSV columns, in order. Every `LogRecord` field, `attempts` as JSON.
pub(crate) const CSV_COLUMNS: [&str; 27] = [
    "id",
    "started_at",
    "client_addr",
    "client_key",
    "user_agent",
    "session_id",
    "method",
    "path",
    "client_dialect",
    "requested_model",
    "routed_model",
    "endpoint",
    "stream",
    "status",
    "outcome",
    "error",
    "stop_reason",
    "ttfb_ms",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cost_usd",
    "request_bytes",
    "response_bytes",
    "attempts",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Ndjson,
    Csv,
}

pub(crate) async fn export(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut query = params.filter(&[FORMAT, COMPRESS])?;
    let format = match params.one_of(&FORMAT)? {
        "ndjson" => Format::Ndjson,
        "csv" => Format::Csv,
        _ => Format::Json,
    };
    let compress = params.one_of(&COMPRESS)?;
    let store = state.store().clone();
    // `limit` caps the whole export; pages are our own business.
    let remaining = query.limit.map(u64::from);
    query.limit = Some(page_size(remaining));
    // The first page is fetched before answering, so that a bad cursor or a failing store is
    // still an error response rather than a truncated file.
    let first = store.list(&query).await?;
    let pager = Pager {
        store,
        query,
        first: Some(first),
        next_cursor: None,
        remaining,
        encoder: Encoder::new(format),
        done: false,
    };
    let chunks = futures::stream::unfold(pager, |mut p| async move {
        p.next_chunk().await.map(|c| (c, p))
    });

    let (ext, content_type) = match format {
        Format::Json => ("json", "application/json"),
        Format::Ndjson => ("ndjson", "application/x-ndjson"),
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
    };
    let (body, suffix, content_type) = match compress {
        "gzip" => (
            Body::from_stream(ReaderStream::new(GzipEncoder::new(StreamReader::new(
                chunks,
            )))),
            ".gz",
            "application/gzip",
        ),
        "zstd" => (
            Body::from_stream(ReaderStream::new(ZstdEncoder::new(StreamReader::new(
                chunks,
            )))),
            ".zst",
            "application/zstd",
        ),
        _ => (Body::from_stream(chunks), "", content_type),
    };
    let disposition = format!("attachment; filename=\"switchboard-requests.{ext}{suffix}\"");
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::try_from(disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

fn page_size(remaining: Option<u64>) -> u32 {
    remaining.map_or(PAGE, |r| u32::try_from(r).unwrap_or(PAGE).clamp(1, PAGE))
}

/// Walks the filtered set page by page.
struct Pager {
    store: Arc<dyn Store>,
    query: Query,
    first: Option<Page>,
    next_cursor: Option<String>,
    /// Records still allowed by the caller's `limit`.
    remaining: Option<u64>,
    encoder: Encoder,
    done: bool,
}

impl Pager {
    /// The encoding of the next page, the closing bytes, or `None` at the end. A store error
    /// mid-way ends the body with an error, so the client sees a broken transfer, never a
    /// silently short file.
    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        if self.done {
            return None;
        }
        let page = match self.first.take() {
            Some(page) => page,
            None => {
                let Some(cursor) = self.next_cursor.take() else {
                    self.done = true;
                    return Some(Ok(self.encoder.finish()));
                };
                self.query.cursor = Some(cursor);
                self.query.limit = Some(page_size(self.remaining));
                match self.store.list(&self.query).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, "export: log store failed mid-way");
                        self.done = true;
                        return Some(Err(io::Error::other(e)));
                    }
                }
            }
        };
        let mut records = page.records;
        self.next_cursor = page.next_cursor;
        if let Some(remaining) = self.remaining.as_mut() {
            records.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining = remaining.saturating_sub(records.len() as u64);
            if *remaining == 0 {
                self.next_cursor = None;
            }
        }
        Some(self.encoder.page(&records))
    }
}

/// Turns pages of records into bytes of one format.
struct Encoder {
    format: Format,
    /// Whether anything was written yet (the JSON `[` or the CSV header).
    started: bool,
}

impl Encoder {
    fn new(format: Format) -> Self {
        Self {
            format,
            started: false,
        }
    }

    fn page(&mut self, records: &[LogRecord]) -> io::Result<Bytes> {
        let mut out = Vec::with_capacity(records.len() * 1024);
        match self.format {
            Format::Json => {
                for r in records {
                    out.push(if self.started { b',' } else { b'[' });
                    self.started = true;
                    out.push(b'\n');
                    serde_json::to_writer(&mut out, r)?;
                }
            }
            Format::Ndjson => {
                for r in records {
                    serde_json::to_writer(&mut out, r)?;
                    out.push(b'\n');
                }
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut out);
                if !self.started {
                    self.started = true;
                    w.write_record(CSV_COLUMNS)?;
                }
                for r in records {
                    w.write_record(csv_row(r)?)?;
                }
                w.flush()?;
            }
        }
        Ok(Bytes::from(out))
    }

    /// The closing bytes: JSON's `]` (or the whole `[]`), the CSV header of an empty export.
    fn finish(&mut self) -> Bytes {
        let started = std::mem::replace(&mut self.started, true);
        match (self.format, started) {
            (Format::Json, true) => Bytes::from_static(b"\n]\n"),
            (Format::Json, false) => Bytes::from_static(b"[]\n"),
            (Format::Csv, false) => {
                let mut line = CSV_COLUMNS.join(",");
                line.push_str("\r\n");
                Bytes::from(line)
            }
            _ => Bytes::new(),
        }
    }
}

fn csv_row(r: &LogRecord) -> io::Result<[String; 27]> {
    fn opt<T: ToString>(v: Option<&T>) -> String {
        v.map(ToString::to_string).unwrap_or_default()
    }
    Ok([
        r.id.to_string(),
        r.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        opt(r.client_addr.as_ref()),
        opt(r.client_key.as_ref()),
        opt(r.user_agent.as_ref()),
        opt(r.session_id.as_ref()),
        r.method.clone(),
        r.path.clone(),
        r.client_dialect.clone(),
        opt(r.requested_model.as_ref()),
        opt(r.routed_model.as_ref()),
        opt(r.endpoint.as_ref()),
        r.stream.to_string(),
        r.status.to_string(),
        r.outcome.to_string(),
        opt(r.error.as_ref()),
        opt(r.stop_reason.as_ref()),
        opt(r.ttfb_ms.as_ref()),
        r.latency_ms.to_string(),
        r.input_tokens.to_string(),
        r.output_tokens.to_string(),
        r.cache_creation_input_tokens.to_string(),
        r.cache_read_input_tokens.to_string(),
        opt(r.cost_usd.as_ref()),
        r.request_bytes.to_string(),
        r.response_bytes.to_string(),
        serde_json::to_string(&r.attempts)?,
    ])
}
