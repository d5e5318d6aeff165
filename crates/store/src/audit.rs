//! Audit data: what was sent and received for one request, stored zstd-compressed in the `audit`
//! table, apart from the request log.
//!
//! One row per [`AuditEntry`]: `(request_id, seq, kind, created_at, raw_size, size, data)`, where
//! `data` is `zstd(meta JSON + "\n" + body)`. The meta JSON carries everything but the body
//! (headers, URL, status, chunk lengths and arrival offsets); serde_json never writes a raw
//! newline, so the first `\n` ends it. Compression happens in the log writer, never on the
//! request path.

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// zstd level: fast, and JSON and SSE compress well at it (typically 5–15×).
const ZSTD_LEVEL: i32 = 3;
/// zstd level for entries under [`SMALL_ENTRY`] bytes: a negative level leaves literals
/// uncompressed, and building the Huffman and FSE tables was most of the cost of compressing a
/// small body (~53k instructions each at level 3, ~24k at -1 under callgrind, for output ~25 %
/// larger: tens of bytes). Either level writes an ordinary zstd frame.
const ZSTD_LEVEL_SMALL: i32 = -1;
const SMALL_ENTRY: usize = 4 * 1024;
/// Bundles larger than this (in raw bytes) are compressed on the blocking pool.
const INLINE_COMPRESS_MAX: usize = 256 * 1024;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// The request as the client sent it.
    ClientRequest,
    /// The request sent to an endpoint (after model mapping and translation), one per attempt.
    UpstreamRequest,
    /// The endpoint's answer, one per attempt that got one. For streams, the body is the chunks
    /// as they arrived.
    UpstreamResponse,
    /// What the client got. For streams, the chunks as they were sent.
    ClientResponse,
}

impl AuditKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRequest => "client_request",
            Self::UpstreamRequest => "upstream_request",
            Self::UpstreamResponse => "upstream_response",
            Self::ClientResponse => "client_response",
        }
    }

    /// The kind named by [`AuditKind::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ClientRequest,
            Self::UpstreamRequest,
            Self::UpstreamResponse,
            Self::ClientResponse,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One captured message (a request or a response, with its head and body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub kind: AuditKind,
    /// Index of the attempt in the failover chain (0-based), for upstream entries.
    pub attempt: Option<u32>,
    pub endpoint: Option<String>,
    pub method: Option<String>,
    /// The URL (upstream entries) or path and query (client entries).
    pub url: Option<String>,
    pub status: Option<u16>,
    /// Headers in order, secrets already masked by the capturer.
    pub headers: Vec<(String, String)>,
    /// The body: one element, or for streams one element per chunk.
    pub body: Vec<Bytes>,
    /// For streams: when each chunk of `body` arrived (upstream) or was sent (client), in
    /// milliseconds since the request started. Empty for whole bodies.
    pub offsets_ms: Vec<u64>,
    /// Part of the body was not captured (the per-request cap was reached).
    pub truncated: bool,
    /// A note from the capturer, e.g. the error when there was no response.
    pub note: Option<String>,
}

impl AuditEntry {
    /// An empty entry of `kind`.
    #[must_use]
    pub fn new(kind: AuditKind) -> Self {
        Self {
            kind,
            attempt: None,
            endpoint: None,
            method: None,
            url: None,
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            offsets_ms: Vec::new(),
            truncated: false,
            note: None,
        }
    }

    /// The whole body as one buffer.
    #[must_use]
    pub fn body_bytes(&self) -> Bytes {
        match self.body.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            parts => {
                let mut buf = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
                for p in parts {
                    buf.extend_from_slice(p);
                }
                buf.freeze()
            }
        }
    }

    /// Bytes held: body plus headers, roughly what the capture costs in memory.
    #[must_use]
    pub fn size(&self) -> usize {
        self.body.iter().map(Bytes::len).sum::<usize>()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// Everything captured for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBundle {
    pub request_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// In the order they happened; stored with `seq` = index.
    pub entries: Vec<AuditEntry>,
}

impl AuditBundle {
    /// Bytes held by the entries.
    #[must_use]
    pub fn size(&self) -> usize {
        self.entries.iter().map(AuditEntry::size).sum()
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// Lengths of the body parts, when there is more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    chunks: Vec<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    offsets_ms: Vec<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// One `audit` row, encoded.
pub(crate) struct AuditRow {
    pub(crate) request_id: Uuid,
    pub(crate) seq: i32,
    pub(crate) kind: &'static str,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) raw_size: i64,
    pub(crate) data: Vec<u8>,
}

impl AuditRow {
    pub(crate) fn size(&self) -> i64 {
        i64::try_from(self.data.len()).unwrap_or(i64::MAX)
    }
}

fn encode(
    entry: &AuditEntry,
    zstd: &mut zstd::bulk::Compressor<'_>,
) -> Result<(Vec<u8>, usize), std::io::Error> {
    let meta = Meta {
        attempt: entry.attempt,
        endpoint: entry.endpoint.clone(),
        method: entry.method.clone(),
        url: entry.url.clone(),
        status: entry.status,
        headers: entry.headers.clone(),
        chunks: if entry.body.len() > 1 {
            entry.body.iter().map(Bytes::len).collect()
        } else {
            Vec::new()
        },
        offsets_ms: entry.offsets_ms.clone(),
        truncated: entry.truncated,
        note: entry.note.clone(),
    };
    let mut raw = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
    raw.push(b'\n');
    for part in &entry.body {
        raw.extend_from_slice(part);
    }
    zstd.set_compression_level(if raw.len() < SMALL_ENTRY {
        ZSTD_LEVEL_SMALL
    } else {
        ZSTD_LEVEL
    })?;
    let data = zstd.compress(&raw)?;
    Ok((data, raw.len()))
}

/// The searchable prompt text of one audited request (see [`crate::prompt`]).
pub(crate) struct PromptRow {
    pub(crate) request_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) text: String,
}

/// Audit rows and prompt texts of a batch of bundles.
pub(crate) struct Encoded {
    pub(crate) rows: Vec<AuditRow>,
    pub(crate) prompts: Vec<PromptRow>,
}

fn encode_bundles(bundles: &[AuditBundle]) -> Result<Encoded, std::io::Error> {
    let mut rows = Vec::new();
    let mut prompts = Vec::new();
    // One compression context for the batch: creating one per body (four per request) was a
    // fresh workspace allocation and initialisation each time.
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    for b in bundles {
        if let Some(text) = b
            .entries
            .iter()
            .find(|e| e.kind == AuditKind::ClientRequest)
            .and_then(|e| crate::prompt::last_user_text(&e.body_bytes()))
        {
            prompts.push(PromptRow {
                request_id: b.request_id,
                created_at: b.created_at,
                text,
            });
        }
        for (seq, e) in (0_i32..).zip(&b.entries) {
            let (data, raw) = encode(e, &mut zstd)?;
            rows.push(AuditRow {
                request_id: b.request_id,
                seq,
                kind: e.kind.as_str(),
                created_at: b.created_at,
                raw_size: i64::try_from(raw).unwrap_or(i64::MAX),
                data,
            });
        }
    }
    Ok(Encoded { rows, prompts })
}

/// Compresses `bundles` into rows and extracts their prompt text: inline when small, else on the
/// blocking pool so a large bundle never stalls the runtime's worker.
pub(crate) async fn encode_rows(bundles: &[AuditBundle]) -> Result<Encoded, std::io::Error> {
    if bundles.iter().map(AuditBundle::size).sum::<usize>() <= INLINE_COMPRESS_MAX {
        return encode_bundles(bundles);
    }
    let owned = bundles.to_vec(); // cheap: bodies are reference-counted
    tokio::task::spawn_blocking(move || encode_bundles(&owned))
        .await
        .map_err(std::io::Error::other)?
}

/// Decodes a stored row back into its entry.
pub(crate) fn decode(kind: &str, data: &[u8]) -> Result<AuditEntry, std::io::Error> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let kind = AuditKind::parse(kind).ok_or_else(|| invalid("unknown audit kind"))?;
    let raw = zstd::stream::decode_all(data)?;
    let split = raw
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| invalid("audit entry without a meta line"))?;
    let meta: Meta = serde_json::from_slice(&raw[..split]).map_err(std::io::Error::other)?;
    let body = Bytes::from(raw).slice(split + 1..);
    let parts = if meta.chunks.is_empty() {
        if body.is_empty() {
            Vec::new()
        } else {
            vec![body]
        }
    } else {
        let mut parts = Vec::with_capacity(meta.chunks.len());
        let mut at = 0;
        for len in &meta.chunks {
            let end = at + len;
            if end > body.len() {
                return Err(invalid("audit chunk lengths exceed the body"));
            }
            parts.push(body.slice(at..end));
            at = end;
        }
        parts
    };
    Ok(AuditEntry {
        kind,
        attempt: meta.attempt,
        endpoint: meta.endpoint,
        method: meta.method,
        url: meta.url,
        status: meta.status,
        headers: meta.headers,
        body: parts,
        offsets_ms: meta.offsets_ms,
        truncated: meta.truncated,
        note: meta.note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_encoding() {
        let mut e = AuditEntry::new(AuditKind::UpstreamResponse);
        e.attempt = Some(2);
        e.status = Some(200);
        e.headers = vec![("content-type".into(), "text/event-stream".into())];
        e.body = vec![
            Bytes::from_static(b"event: a\ndata: {}\n\n"),
            Bytes::new(),
            Bytes::from_static(b"data: \n\n"),
        ];
        e.offsets_ms = vec![1, 2, 300];
        e.truncated = true;
        // One context for both, as a batch uses it: a reused context must not leak state.
        let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("zstd");
        let (data, raw) = encode(&e, &mut zstd).expect("encode");
        assert!(raw > e.size());
        assert_eq!(decode("upstream_response", &data).expect("decode"), e);

        let empty = AuditEntry::new(AuditKind::ClientRequest);
        let (data, _) = encode(&empty, &mut zstd).expect("encode");
        assert_eq!(decode("client_request", &data).expect("decode"), empty);
        assert!(decode("nonsense", &data).is_err());

        // Past SMALL_ENTRY the same context compresses at ZSTD_LEVEL, and back again.
        let mut big = AuditEntry::new(AuditKind::ClientRequest);
        let text = r#"{"role":"user","content":"make the flaky integration test pass"},"#;
        big.body = vec![Bytes::from(text.repeat(200))];
        let (data, raw) = encode(&big, &mut zstd).expect("encode");
        assert!(
            raw > SMALL_ENTRY && data.len() * 10 < raw,
            "{} of {raw}",
            data.len()
        );
        assert_eq!(decode("client_request", &data).expect("decode"), big);
        let (data, _) = encode(&e, &mut zstd).expect("encode");
        assert_eq!(decode("upstream_response", &data).expect("decode"), e);
    }
}
