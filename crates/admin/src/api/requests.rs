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
        Self {
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
    let audit = store.get_audit(id).await?;
    Ok(Json(Detail {
        record,
        audit: audit.into_iter().map(Into::into).collect(),
    }))
}
