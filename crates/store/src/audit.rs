//! Audit data: what was sent and received for one request, stored zstd-compressed apart from the
//! request log. Written in the chunked format of [`chunked`] (one row per request, bodies in
//! content-defined chunks stored once across requests); rows of the format before it, described
//! here, are still read.
//!
//! The legacy `audit` table: one row per [`AuditEntry`]: `(request_id, seq, kind, created_at, raw_size, size, data)`, where
//! `data` is `meta JSON + "\n" + body`, zstd-compressed unless under [`RAW_MAX`] bytes (a zstd
//! frame starts with its magic number, the meta JSON with `{`). The meta JSON carries everything
//! but the body (headers, URL, status, chunk lengths and arrival offsets); serde_json never writes
//! a raw newline, so the first `\n` ends it. A body byte-for-byte equal to an earlier entry's of
//! the same request (a passthrough's upstream request is the client's, its client response the
//! upstream's) is stored once: the later entry's meta names the earlier one (`body_of`) and its
//! body is empty. Compression happens in the log writer, never on the request path.

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) mod chunked;
pub(crate) mod recent;

/// zstd level: fast, and JSON and SSE compress well at it (typically 5–15×).
pub(crate) const ZSTD_LEVEL: i32 = 3;
/// zstd level for entries under [`SMALL_ENTRY`] bytes: a negative level leaves literals
/// uncompressed, and building the Huffman and FSE tables was most of the cost of compressing a
/// small body (~53k instructions each at level 3, ~24k at -1 under callgrind, for output ~25 %
/// larger: tens of bytes). Either level writes an ordinary zstd frame.
const ZSTD_LEVEL_SMALL: i32 = -1;
const SMALL_ENTRY: usize = 4 * 1024;
/// Entries under this many bytes are stored uncompressed. zstd's fixed cost (its sequence
/// tables) was ~22k instructions per entry whatever the size, four entries per request, for
/// little: the small passthrough request's entries (290–430 bytes) came out 0–6 % smaller, and
/// the upstream request's 3 % larger (callgrind and the bench's database, docs/benchmarks.md).
pub(crate) const RAW_MAX: usize = 1024;
/// The first bytes of every zstd frame (RFC 8878, little-endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

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

/// What [`Store::check_audit`](crate::Store::check_audit) found: whether the stored chunks and
/// their reference counts agree with the request rows that list them, and the stored-bytes
/// counter with the tables. A consistent store has no leaked or missing chunk and equal byte
/// figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    /// Requests with audit data in the chunked format.
    pub requests: u64,
    /// Stored chunks.
    pub chunks: u64,
    /// Chunk references listed by the request rows.
    pub references: u64,
    /// Chunks whose reference count differs from the times they are listed (0 included: a chunk
    /// no request lists), or without their data.
    pub leaked_chunks: u64,
    /// Chunk ids listed by a request row but not stored.
    pub missing_chunks: u64,
    /// The stored-bytes counter (what the size cap reads).
    pub counted_bytes: u64,
    /// The stored bytes, summed over the tables.
    pub stored_bytes: u64,
}

impl AuditCheck {
    /// No leaked or missing chunk, and the counter agrees with the tables.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.leaked_chunks == 0
            && self.missing_chunks == 0
            && self.counted_bytes == self.stored_bytes
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
    /// The body is that of the entry with this `seq` (of the same request), stored there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_of: Option<u32>,
}

/// One legacy `audit` row, encoded (what the writer stored before the chunked format; tests
/// write such rows to check they still read).
#[cfg(test)]
pub(crate) struct AuditRow {
    pub(crate) seq: i32,
    pub(crate) kind: &'static str,
    pub(crate) data: Vec<u8>,
}

/// Whether two bodies (each a list of parts) hold the same bytes, however they are split.
fn same_body(a: &[Bytes], b: &[Bytes]) -> bool {
    let len = |parts: &[Bytes]| parts.iter().map(Bytes::len).sum::<usize>();
    if len(a) != len(b) {
        return false;
    }
    // Slice against slice (memcmp), not byte by byte: a Claude Code request is ~200 KiB.
    let (mut a, mut b) = (a.iter(), b.iter());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            match a.next() {
                Some(part) => x = part,
                None => return true, // as long as `b`, and equal so far
            }
        }
        while y.is_empty() {
            match b.next() {
                Some(part) => y = part,
                None => return true,
            }
        }
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return false;
        }
        (x, y) = (&x[n..], &y[n..]);
    }
}

/// Encodes `entry` in the legacy format; `body_of` is the `seq` of an earlier entry with the
/// same body, whose row holds it. Returns the row's data and its size before compression.
#[cfg(test)]
fn encode(
    entry: &AuditEntry,
    body_of: Option<u32>,
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
        body_of,
    };
    let mut raw = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
    raw.push(b'\n');
    if body_of.is_none() {
        for part in &entry.body {
            raw.extend_from_slice(part);
        }
    }
    let len = raw.len();
    if len < RAW_MAX {
        return Ok((raw, len));
    }
    zstd.set_compression_level(if len < SMALL_ENTRY {
        ZSTD_LEVEL_SMALL
    } else {
        ZSTD_LEVEL
    })?;
    Ok((zstd.compress(&raw)?, len))
}

/// The searchable prompt text of one audited request (see [`crate::prompt`]).
pub(crate) struct PromptRow {
    pub(crate) request_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) text: String,
}

/// Legacy audit rows of a batch of bundles, as the writer stored them before the chunked format.
#[cfg(test)]
fn encode_bundles(bundles: &[AuditBundle]) -> Result<Vec<AuditRow>, std::io::Error> {
    let mut rows = Vec::new();
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    for b in bundles {
        for (i, e) in b.entries.iter().enumerate() {
            let body_of = b.entries[..i]
                .iter()
                .position(|earlier| !e.body.is_empty() && same_body(&earlier.body, &e.body))
                .map(u32::try_from)
                .transpose()
                .map_err(std::io::Error::other)?;
            let seq = i32::try_from(i).map_err(std::io::Error::other)?;
            let (data, _raw) = encode(e, body_of, &mut zstd)?;
            rows.push(AuditRow {
                seq,
                kind: e.kind.as_str(),
                data,
            });
        }
    }
    Ok(rows)
}

/// Decodes the legacy rows of one request, `(seq, kind, data)`, back into its entries.
pub(crate) fn decode_all(
    rows: &[(i32, String, Vec<u8>)],
) -> Result<Vec<AuditEntry>, std::io::Error> {
    let decoded = rows
        .iter()
        .map(|(seq, kind, data)| Ok((*seq, decode_row(kind, data)?)))
        .collect::<Result<Vec<_>, std::io::Error>>()?;
    let bodies = decoded
        .iter()
        .map(|(_, row)| match row.body_of {
            None => Ok(row.body.clone()),
            Some(of) => decoded
                .iter()
                .find(|(seq, _)| i64::from(*seq) == i64::from(of))
                .map(|(_, owner)| owner.body.clone())
                .ok_or_else(|| invalid("audit entry refers to a missing entry's body")),
        })
        .collect::<Result<Vec<_>, std::io::Error>>()?;
    decoded
        .into_iter()
        .zip(bodies)
        .map(|((_, row), body)| {
            let mut entry = row.entry;
            entry.body = split_body(&body, &row.chunks)?;
            Ok(entry)
        })
        .collect()
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

/// One stored row, decoded: the entry without its body, and how to make the body.
struct DecodedRow {
    entry: AuditEntry,
    /// The body's part lengths, when it has several.
    chunks: Vec<usize>,
    /// The `seq` of the entry whose row holds the body.
    body_of: Option<u32>,
    /// The body bytes this row holds (empty when `body_of` is set).
    body: Bytes,
}

fn decode_row(kind: &str, data: &[u8]) -> Result<DecodedRow, std::io::Error> {
    let kind = AuditKind::parse(kind).ok_or_else(|| invalid("unknown audit kind"))?;
    let raw = if data.starts_with(&ZSTD_MAGIC) {
        zstd::stream::decode_all(data)?
    } else {
        data.to_vec()
    };
    let split = raw
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| invalid("audit entry without a meta line"))?;
    let meta: Meta = serde_json::from_slice(&raw[..split]).map_err(std::io::Error::other)?;
    let body = Bytes::from(raw).slice(split + 1..);
    Ok(DecodedRow {
        entry: AuditEntry {
            kind,
            attempt: meta.attempt,
            endpoint: meta.endpoint,
            method: meta.method,
            url: meta.url,
            status: meta.status,
            headers: meta.headers,
            body: Vec::new(),
            offsets_ms: meta.offsets_ms,
            truncated: meta.truncated,
            note: meta.note,
        },
        chunks: meta.chunks,
        body_of: meta.body_of,
        body,
    })
}

/// `body` cut into parts of the lengths in `chunks` (one part, or none when empty, if `chunks`
/// is).
fn split_body(body: &Bytes, chunks: &[usize]) -> Result<Vec<Bytes>, std::io::Error> {
    if chunks.is_empty() {
        return Ok(if body.is_empty() {
            Vec::new()
        } else {
            vec![body.clone()]
        });
    }
    let mut parts = Vec::with_capacity(chunks.len());
    let mut at = 0;
    for len in chunks {
        let end = at + len;
        if end > body.len() {
            return Err(invalid("audit chunk lengths exceed the body"));
        }
        parts.push(body.slice(at..end));
        at = end;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(entries: Vec<AuditEntry>) -> AuditBundle {
        AuditBundle {
            request_id: Uuid::nil(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            entries,
        }
    }

    /// The rows `encode_bundles` makes of `entries`, as `audit_get` reads them back.
    fn stored(entries: &[AuditEntry]) -> Vec<(i32, String, Vec<u8>)> {
        encode_bundles(&[bundle(entries.to_vec())])
            .expect("encode")
            .into_iter()
            .map(|r| (r.seq, r.kind.to_owned(), r.data))
            .collect()
    }

    fn entry(kind: AuditKind, parts: &[&[u8]]) -> AuditEntry {
        let mut e = AuditEntry::new(kind);
        e.body = parts.iter().map(|p| Bytes::copy_from_slice(p)).collect();
        e
    }

    #[test]
    fn entries_round_trip_through_encoding() {
        let mut stream = entry(
            AuditKind::UpstreamResponse,
            &[b"event: a\ndata: {}\n\n", b"", b"data: \n\n"],
        );
        stream.attempt = Some(2);
        stream.status = Some(200);
        stream.headers = vec![("content-type".into(), "text/event-stream".into())];
        stream.offsets_ms = vec![1, 2, 300];
        stream.truncated = true;
        stream.note = Some("cut".into());
        let empty = AuditEntry::new(AuditKind::ClientRequest);
        let text = r#"{"role":"user","content":"make the flaky integration test pass"},"#;
        // Past SMALL_ENTRY: ZSTD_LEVEL; between RAW_MAX and SMALL_ENTRY: ZSTD_LEVEL_SMALL; the
        // entries after them show that the batch's one context keeps no state between bodies.
        let big = entry(AuditKind::ClientRequest, &[text.repeat(200).as_bytes()]);
        let mid = entry(AuditKind::UpstreamRequest, &[text.repeat(30).as_bytes()]);
        let mut after = stream.clone();
        after.body = vec![Bytes::from_static(b"data: [DONE]\n\n")];
        let entries = vec![stream, empty, big, mid, after];
        let rows = stored(&entries);
        assert_eq!(decode_all(&rows).expect("decode"), entries);

        let compressed: Vec<bool> = rows
            .iter()
            .map(|(_, _, data)| data.starts_with(&ZSTD_MAGIC))
            .collect();
        assert_eq!(compressed, [false, false, true, true, false]);
        assert!(
            rows[0].2.starts_with(b"{"),
            "small entries are stored as they are"
        );
        assert!(
            rows[2].2.len() * 10 < text.len() * 200,
            "the big body compresses"
        );

        let mut bad = rows.clone();
        bad[1].1 = "nonsense".into();
        assert!(decode_all(&bad).is_err());
        let mut bad = rows;
        bad[0].2.truncate(5);
        assert!(decode_all(&bad).is_err(), "a row without its meta line");
    }

    /// Rows written before small entries were stored raw are zstd frames of any size.
    #[test]
    fn small_rows_written_compressed_still_decode() {
        let mut e = entry(AuditKind::ClientResponse, &[b"{\"ok\":true}"]);
        e.status = Some(200);
        let (raw, _) =
            encode(&e, None, &mut zstd::bulk::Compressor::new(3).expect("zstd")).expect("encode");
        assert!(raw.len() < RAW_MAX && raw.starts_with(b"{"));
        let frame = zstd::bulk::compress(&raw, 3).expect("compress");
        let rows = vec![(0, "client_response".to_owned(), frame)];
        assert_eq!(decode_all(&rows).expect("decode"), vec![e]);
    }

    /// A body equal to an earlier entry's is stored once, whatever the split into parts; a body
    /// that differs, even in one byte or by its length, is stored itself.
    #[test]
    fn a_repeated_body_is_stored_once() {
        let request = br#"{"model":"claude-sonnet-4-5","messages":[]}"#.repeat(100);
        let mut changed = request.clone();
        changed[10] = b'X';
        let events: [&[u8]; 3] = [b"event: a\ndata: {}\n\n", b"event: b\n", b"data: {}\n\n"];
        let entries = vec![
            entry(AuditKind::ClientRequest, &[&request]),
            entry(AuditKind::UpstreamRequest, &[&changed]),
            entry(AuditKind::UpstreamRequest, &[&request]),
            entry(AuditKind::UpstreamResponse, &events),
            entry(
                AuditKind::ClientResponse,
                &[&events.concat()[..24], &events.concat()[24..]],
            ),
            entry(AuditKind::ClientResponse, &[&events.concat()[1..]]),
        ];
        let rows = stored(&entries);
        assert_eq!(decode_all(&rows).expect("decode"), entries);
        let sizes: Vec<usize> = rows.iter().map(|(_, _, d)| d.len()).collect();
        for referring in [2, 4] {
            assert!(
                sizes[referring] < 100,
                "entry {referring} stores {} bytes",
                sizes[referring]
            );
        }
        for own in [0, 1, 3, 5] {
            assert!(sizes[own] > 20, "entry {own} stores its body");
        }
        assert!(
            sizes[5] > sizes[4],
            "a body one byte shorter is not the same body"
        );

        // A reference to a row that is not there is an error, not an empty body.
        let missing: Vec<_> = rows.into_iter().filter(|(seq, _, _)| *seq != 3).collect();
        assert!(decode_all(&missing).is_err());
    }
}
