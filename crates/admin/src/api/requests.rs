//! `GET /api/requests` and `GET /api/requests/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use switchboard_store::{AuditEntry, AuditKind, LogRecord, Page};
use uuid::Uuid;

use super::ApiError;
use super::params::Params;
use crate::AdminState;

/// One page of matching requests, newest first, with their attempts.
pub(crate) async fn list(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<Page>, ApiError> {
    let query = params.filter(&[])?;
    Ok(Json(state.store().list(&query).await?))
}

/// `/api/requests/{id}`: the record, its attempts, and what the audit captured.
#[derive(Debug, Serialize)]
pub(crate) struct Detail {
    #[serde(flatten)]
    record: LogRecord,
    /// Captured messages in capture order; empty when audit was off for this request.
    audit: Vec<AuditView>,
    /// When the client got its first byte and its first token (first content delta), in
    /// milliseconds since the request started; `first_token_ms` needs the audited stream.
    timeline: Timeline,
}

#[derive(Debug, Serialize)]
struct Timeline {
    first_byte_ms: Option<u64>,
    first_token_ms: Option<u64>,
}

/// An [`AuditEntry`] as JSON: bodies as text (invalid UTF-8 replaced), streams also as a
/// timeline of chunks.
#[derive(Debug, Serialize)]
struct AuditView {
    kind: AuditKind,
    attempt: Option<u32>,
    endpoint: Option<String>,
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
    /// For streams: each chunk with its arrival (upstream) or send (client) time, in
    /// milliseconds since the request started. Empty for whole bodies.
    chunks: Vec<Chunk>,
    truncated: bool,
    note: Option<String>,
    /// Streams: the offset of the first chunk that carries content (text, thinking, a tool
    /// call's input) rather than framing — the first token, against `chunks[0]`, the first
    /// byte.
    first_content_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Chunk {
    offset_ms: u64,
    data: String,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        let body = String::from_utf8_lossy(&e.body_bytes()).into_owned();
        let chunks = if e.offsets_ms.is_empty() {
            Vec::new()
        } else {
            e.body
                .iter()
                .zip(&e.offsets_ms)
                .map(|(data, offset_ms)| Chunk {
                    offset_ms: *offset_ms,
                    data: String::from_utf8_lossy(data).into_owned(),
                })
                .collect()
        };
        let first_content_ms = chunks
            .iter()
            .find(|c| has_content(&c.data))
            .map(|c| c.offset_ms);
        Self {
            first_content_ms,
            kind: e.kind,
            attempt: e.attempt,
            endpoint: e.endpoint,
            method: e.method,
            url: e.url,
            status: e.status,
            headers: e.headers,
            body,
            chunks,
            truncated: e.truncated,
            note: e.note,
        }
    }
}

/// One request with its attempts and audit data.
pub(crate) async fn detail(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Detail>, ApiError> {
    params.filter(&[])?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad("id", format!("not a request id (a UUID): {id:?}")))?;
    let store = state.store();
    let record = store
        .get(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no request with id {id}")))?;
    let audit: Vec<AuditView> = store
        .get_audit(id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let timeline = Timeline {
        first_byte_ms: record.ttfb_ms,
        first_token_ms: audit
            .iter()
            .find(|a| a.kind == AuditKind::ClientResponse)
            .and_then(|a| a.first_content_ms),
    };
    Ok(Json(Detail {
        record,
        audit,
        timeline,
    }))
}

/// Whether an SSE chunk carries content in any dialect: an Anthropic `content_block_delta`,
/// an OpenAI delta with non-empty `content`, `reasoning_content` or `tool_calls`, a Gemini
/// part with `text`.
pub(crate) fn has_content(data: &str) -> bool {
    let non_empty = |key: &str| {
        data.match_indices(key)
            .any(|(i, _)| !data[i + key.len()..].starts_with('"'))
    };
    data.contains("\"content_block_delta\"")
        || non_empty("\"content\":\"")
        || non_empty("\"reasoning_content\":\"")
        || data.contains("\"tool_calls\":[{")
        || non_empty("\"text\":\"")
}

#[cfg(test)]
mod tests {
    use super::has_content;

    #[test]
    fn content_is_told_from_framing() {
        assert!(has_content(
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        ));
        assert!(!has_content(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n"
        ));
        assert!(!has_content(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        ));
        assert!(has_content(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
        ));
        assert!(!has_content("event: ping\ndata: {\"type\": \"ping\"}\n\n"));
    }
}
