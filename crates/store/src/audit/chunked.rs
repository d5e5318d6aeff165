//! The audit format since migrations 0008 (SQLite) and 0004 (PostgreSQL): one `audit_request` row
//! per request, its bodies cut into content-defined chunks stored once across requests.
//!
//! Claude Code sends the whole conversation again at every turn: the bodies of a session's
//! requests are the previous one with a little inserted (the new turns, at the end of
//! `messages`) and a little changed (the `cache_control` marker moves). Stored whole, audit data
//! grew with the square of a session's length. Here a body of [`INLINE_MAX`] bytes or more is cut
//! where its content says (FastCDC, a gear hash over the bytes: an insertion moves the cut
//! points around it only), each chunk is named by the BLAKE3 hash of its plain bytes, and a chunk
//! already stored is referenced, not stored again. So a turn stores what is new plus about two
//! chunks around each change.
//!
//! Row format:
//! - `audit_request.data`: `metas JSON + "\n" + inline bodies`, zstd-compressed from
//!   [`ROW_RAW_MAX`] bytes with the dictionary [`DICT_V1`] (then it starts with
//!   [`DICT_V1_MARK`]; the plain JSON starts with `[`). The
//!   metas are one [`EntryMeta`] per entry in capture order; each says where its body is: inline
//!   (the next `inline` bytes after the newline), in chunks (the next `chunks` ids of the row's
//!   chunk list), or the body of an earlier entry of the request (`body_of`).
//! - `audit_request.chunks`: the row's chunk ids in order of use, as LEB128 varints (a chunk
//!   used twice is listed twice).
//! - `audit_chunk`: `(id, hash, refs, size)`, `refs` the number of times it is listed in
//!   `audit_request.chunks` over all rows; `audit_chunk_data`: `(id, data)`, the chunk
//!   zstd-compressed (or plain under [`super::RAW_MAX`], or when compressing does not make it
//!   smaller). A chunk is deleted in the transaction that takes its `refs` to 0, so deleting
//!   requests (retention, the size cap, replacement) frees exactly what no other request uses.
//!
//! Chunking, hashing and compressing the request rows happen in the log writer, never on the
//! request path; chunks are compressed only when new, in the transaction that stores them.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuditBundle, AuditEntry, AuditKind, PromptRow, RAW_MAX, ZSTD_MAGIC, same_body};

/// Bodies shorter than this are stored inside the request's row: a chunk row and its index
/// entries cost more than deduplicating a small body saves.
pub(crate) const INLINE_MAX: usize = 2 * 1024;
/// FastCDC's bounds: no chunk shorter than `CHUNK_MIN` (but a body's last), none longer than
/// `CHUNK_MAX`, `CHUNK_AVG` on average. An edit costs about one chunk before it and one after
/// it, so the average sets what a turn stores beyond its new bytes; smaller chunks mean longer
/// chunk lists and more chunk rows per request (each a hash lookup on write).
pub(crate) const CHUNK_MIN: usize = 1024;
pub(crate) const CHUNK_AVG: usize = 4 * 1024;
pub(crate) const CHUNK_MAX: usize = 32 * 1024;

/// A zstd raw-content dictionary for request rows: what the heads and small bodies of
/// Anthropic and OpenAI traffic have in common (header names and values, JSON keys, SSE event
/// lines, the meta JSON's own keys). A row of a small request is ~1.5 KB of such text, and
/// compressed alone it came out ~925 bytes at level -1 (literals left as they are), more than the
/// request's log row and indexes; with the dictionary, ~400. Part of the storage format: rows
/// name it by their first byte ([`DICT_V1_MARK`]), and a new dictionary needs a new mark, this
/// one kept for reading.
const DICT_V1: &[u8] = include_bytes!("dict_v1.txt");
/// First byte of a request row compressed with [`DICT_V1`] (plain rows start with `[`, frames
/// without a dictionary with zstd's magic number).
const DICT_V1_MARK: u8 = 0x01;
/// The level rows are compressed at with the dictionary.
const ROW_LEVEL: i32 = 3;
/// Rows shorter than this are stored as they are. Compressing a small request's row (~1.5 KB:
/// four heads, two small bodies) cost ~47k instructions at level -1 (925 bytes out) and ~60-90k
/// with the dictionary (480-570 bytes), a sixth of everything the gateway spends on such a
/// request with audit on (callgrind.py, json-audit), so it is stored as it is, as the entries of
/// the format before were under 1 KiB each. Above it (a 12-event stream's ~2.6 KB row: 453k →
/// 509k instructions for the stream; a Claude Code turn's ~4 KB of heads and stream metas),
/// the dictionary pays: at 4 KiB the conversation of `bench/audit_growth.py` stored 4.0 KiB of
/// rows per turn, at 2 KiB 1.3.
const ROW_RAW_MAX: usize = 2 * 1024;
static ROW_ENCODER: LazyLock<zstd::dict::EncoderDictionary<'static>> =
    LazyLock::new(|| zstd::dict::EncoderDictionary::copy(DICT_V1, ROW_LEVEL));
static ROW_DECODER: LazyLock<zstd::dict::DecoderDictionary<'static>> =
    LazyLock::new(|| zstd::dict::DecoderDictionary::copy(DICT_V1));

/// BLAKE3 of a chunk's plain bytes: its name. A collision would show one request's bytes in
/// another's audit, so the hash must be cryptographic; BLAKE3 is the fastest of those here and
/// runs on SSE4.1/AVX2, which valgrind also runs (SHA-NI it does not).
pub(crate) type Hash = [u8; 32];

/// Where an entry's body is, and the rest of its head (the legacy `Meta` without `body_of`'s
/// scope change: `body_of` names an earlier entry of the same request, by index).
#[derive(Serialize, Deserialize)]
pub(crate) struct EntryMeta {
    kind: AuditKind,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    /// Lengths of the body parts, when there is more than one (stream chunks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    offsets_ms: Vec<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The body is the next this many bytes of the inline section.
    #[serde(default, skip_serializing_if = "is_zero")]
    inline: usize,
    /// The body is the next this many chunks of the row's chunk list, concatenated.
    #[serde(default, skip_serializing_if = "is_zero")]
    chunks: usize,
    /// The body is that of the entry with this index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_of: Option<u32>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One distinct chunk of a batch.
pub(crate) struct NewChunk {
    pub(crate) hash: Hash,
    /// The plain bytes (a slice of the captured body: no copy).
    pub(crate) plain: Bytes,
    /// How many times the batch's rows list it.
    pub(crate) uses: i64,
}

/// One `audit_request` row, encoded, with its chunk list as indexes into the batch's chunks.
pub(crate) struct RequestRow {
    pub(crate) request_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) entries: i64,
    pub(crate) raw_size: i64,
    pub(crate) data: Vec<u8>,
    pub(crate) chunks: Vec<usize>,
}

/// A batch of bundles, encoded: its rows, its distinct chunks and its prompt texts.
pub(crate) struct Encoded {
    pub(crate) rows: Vec<RequestRow>,
    pub(crate) chunks: Vec<NewChunk>,
    pub(crate) prompts: Vec<PromptRow>,
}

impl Encoded {
    /// The chunk list of `row` as stored, given the ids the batch's chunks got.
    pub(crate) fn chunk_list(row: &RequestRow, ids: &[i64]) -> Option<Vec<u8>> {
        if row.chunks.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(row.chunks.len() * 3);
        for &i in &row.chunks {
            put_varint(&mut out, u64::try_from(ids[i]).unwrap_or(0));
        }
        Some(out)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
        v >>= 7;
    }
    out.push(u8::try_from(v).unwrap_or(0));
}

/// The ids of a stored chunk list, in order (with repeats).
pub(crate) fn chunk_ids(list: &[u8]) -> Result<Vec<i64>, std::io::Error> {
    let mut ids = Vec::with_capacity(list.len() / 2);
    let (mut v, mut shift) = (0_u64, 0_u32);
    for &b in list {
        if shift > 63 {
            return Err(invalid("audit chunk list: varint too long"));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            ids.push(i64::try_from(v).map_err(|_| invalid("audit chunk id out of range"))?);
            (v, shift) = (0, 0);
        } else {
            shift += 7;
        }
    }
    if shift != 0 {
        return Err(invalid("audit chunk list: cut varint"));
    }
    Ok(ids)
}

/// Each id of `ids` with the number of times it occurs, sorted by id.
pub(crate) fn counted(ids: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => out.push((id, 1)),
        }
    }
    out
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

/// The cut points of `body` (ranges of bytes), by FastCDC with [`CHUNK_MIN`], [`CHUNK_AVG`],
/// [`CHUNK_MAX`].
pub(crate) fn cut(body: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    fastcdc::v2020::FastCDC::new(body, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX)
        .map(|c| c.offset..c.offset + c.length)
}

/// Compresses `raw` for storage: as it is under [`RAW_MAX`] bytes or when zstd does not make
/// it smaller (a zstd frame is told apart by its magic number, which the plain data of a chunk
/// may also start with: such a chunk is always stored compressed).
pub(crate) fn pack(
    raw: &[u8],
    zstd: &mut zstd::bulk::Compressor<'_>,
) -> Result<Vec<u8>, std::io::Error> {
    if raw.len() < RAW_MAX && !raw.starts_with(&ZSTD_MAGIC) {
        return Ok(raw.to_vec());
    }
    zstd.set_compression_level(if raw.len() < super::SMALL_ENTRY {
        super::ZSTD_LEVEL_SMALL
    } else {
        super::ZSTD_LEVEL
    })?;
    let packed = zstd.compress(raw)?;
    if packed.len() >= raw.len() && !raw.starts_with(&ZSTD_MAGIC) {
        return Ok(raw.to_vec());
    }
    Ok(packed)
}

/// Compresses a request row with [`DICT_V1`], unless short or incompressible.
fn pack_row(raw: &[u8], zstd: &mut zstd::bulk::Compressor<'_>) -> Result<Vec<u8>, std::io::Error> {
    if raw.len() < ROW_RAW_MAX {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::with_capacity(raw.len() / 2 + 16);
    out.push(DICT_V1_MARK);
    out.extend_from_slice(&zstd.compress(raw)?);
    if out.len() >= raw.len() {
        return Ok(raw.to_vec());
    }
    Ok(out)
}

/// The plain bytes of a stored request row ([`pack_row`]'s inverse).
fn unpack_row(data: &[u8]) -> Result<Bytes, std::io::Error> {
    match data.strip_prefix(&[DICT_V1_MARK]) {
        Some(frame) => {
            let mut out = Vec::with_capacity(frame.len() * 3);
            zstd::stream::read::Decoder::with_prepared_dictionary(frame, &ROW_DECODER)?
                .read_to_end(&mut out)?;
            Ok(out.into())
        }
        None => unpack(data),
    }
}

/// The plain bytes of a stored chunk ([`pack`]'s inverse).
pub(crate) fn unpack(data: &[u8]) -> Result<Bytes, std::io::Error> {
    if data.starts_with(&ZSTD_MAGIC) {
        Ok(zstd::stream::decode_all(data)?.into())
    } else {
        Ok(Bytes::copy_from_slice(data))
    }
}

/// Chunks, hashes and encodes `bundles` (no database access). Of bundles sharing a request id,
/// each is encoded; the store keeps the last.
pub(crate) fn encode(
    bundles: &[AuditBundle],
    recent: &mut super::recent::Recent,
) -> Result<Encoded, std::io::Error> {
    let mut rows = Vec::with_capacity(bundles.len());
    let mut chunks: Vec<NewChunk> = Vec::new();
    let mut by_hash: HashMap<Hash, usize> = HashMap::new();
    let mut prompts = Vec::new();
    // One compression context for the batch (see `ZSTD_LEVEL_SMALL`), with the rows'
    // dictionary.
    let mut zstd = zstd::bulk::Compressor::with_prepared_dictionary(&ROW_ENCODER)?;
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
        let mut metas = Vec::with_capacity(b.entries.len());
        let mut inline = Vec::new();
        let mut row_chunks = Vec::new();
        let mut raw_size = 0_usize;
        for (i, e) in b.entries.iter().enumerate() {
            raw_size += e.size();
            let mut meta = head(e);
            let len: usize = e.body.iter().map(Bytes::len).sum();
            if len == 0 {
                // No body.
            } else if let Some(of) = b.entries[..i]
                .iter()
                .position(|earlier| same_body(&earlier.body, &e.body))
            {
                meta.body_of = Some(u32::try_from(of).map_err(std::io::Error::other)?);
            } else if len < INLINE_MAX {
                for part in &e.body {
                    inline.extend_from_slice(part);
                }
                meta.inline = len;
            } else {
                let body = e.body_bytes();
                let key = super::recent::key(&e.headers, &body);
                let mut start = 0;
                for &(end, hash) in &recent.chunk(key, e.kind, body.clone()).chunks {
                    let range = start..end;
                    start = end;
                    let at = *by_hash.entry(hash).or_insert_with(|| {
                        chunks.push(NewChunk {
                            hash,
                            plain: body.slice(range),
                            uses: 0,
                        });
                        chunks.len() - 1
                    });
                    chunks[at].uses += 1;
                    row_chunks.push(at);
                    meta.chunks += 1;
                }
            }
            metas.push(meta);
        }
        let mut raw = serde_json::to_vec(&metas).map_err(std::io::Error::other)?;
        raw.push(b'\n');
        raw.extend_from_slice(&inline);
        rows.push(RequestRow {
            request_id: b.request_id,
            created_at: b.created_at,
            entries: i64::try_from(b.entries.len()).unwrap_or(i64::MAX),
            raw_size: i64::try_from(raw_size).unwrap_or(i64::MAX),
            data: pack_row(&raw, &mut zstd)?,
            chunks: row_chunks,
        });
    }
    Ok(Encoded {
        rows,
        chunks,
        prompts,
    })
}

/// Bundles larger than this (in raw bytes) are encoded on the blocking pool.
const INLINE_ENCODE_MAX: usize = 256 * 1024;

/// [`encode`] with the store's recent bodies, inline when small, else on the blocking pool so a
/// large bundle never stalls the runtime's worker.
pub(crate) async fn encode_async(
    bundles: &[AuditBundle],
    recent: &std::sync::Arc<parking_lot::Mutex<super::recent::Recent>>,
) -> Result<Encoded, std::io::Error> {
    if bundles.iter().map(AuditBundle::size).sum::<usize>() <= INLINE_ENCODE_MAX {
        return encode(bundles, &mut recent.lock());
    }
    let owned = bundles.to_vec(); // cheap: bodies are reference-counted
    let recent = std::sync::Arc::clone(recent);
    tokio::task::spawn_blocking(move || encode(&owned, &mut recent.lock()))
        .await
        .map_err(std::io::Error::other)?
}

fn head(e: &AuditEntry) -> EntryMeta {
    EntryMeta {
        kind: e.kind,
        attempt: e.attempt,
        endpoint: e.endpoint.clone(),
        method: e.method.clone(),
        url: e.url.clone(),
        status: e.status,
        headers: e.headers.clone(),
        parts: if e.body.len() > 1 {
            e.body.iter().map(Bytes::len).collect()
        } else {
            Vec::new()
        },
        offsets_ms: e.offsets_ms.clone(),
        truncated: e.truncated,
        note: e.note.clone(),
        inline: 0,
        chunks: 0,
        body_of: None,
    }
}

/// A stored row, read: its metas and inline bytes, and the chunk ids its bodies need.
pub(crate) struct StoredRow {
    metas: Vec<EntryMeta>,
    inline: Bytes,
    pub(crate) chunk_ids: Vec<i64>,
}

/// Reads a row's `data` and `chunks` columns; [`StoredRow::entries`] then needs the chunks.
pub(crate) fn read_row(data: &[u8], chunks: Option<&[u8]>) -> Result<StoredRow, std::io::Error> {
    let raw = unpack_row(data)?;
    let split = raw
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| invalid("audit row without a meta line"))?;
    let metas: Vec<EntryMeta> =
        serde_json::from_slice(&raw[..split]).map_err(std::io::Error::other)?;
    Ok(StoredRow {
        metas,
        inline: raw.slice(split + 1..),
        chunk_ids: chunks.map(chunk_ids).transpose()?.unwrap_or_default(),
    })
}

impl StoredRow {
    /// The entries, with `chunks` the plain bytes of every id in [`StoredRow::chunk_ids`].
    pub(crate) fn entries(
        self,
        chunks: &HashMap<i64, Bytes>,
    ) -> Result<Vec<AuditEntry>, std::io::Error> {
        let mut inline_at = 0;
        let mut ids = self.chunk_ids.iter();
        let mut bodies: Vec<Bytes> = Vec::with_capacity(self.metas.len());
        for m in &self.metas {
            let body = if let Some(of) = m.body_of {
                bodies
                    .get(usize::try_from(of).unwrap_or(usize::MAX))
                    .cloned()
                    .ok_or_else(|| invalid("audit entry refers to a missing entry's body"))?
            } else if m.chunks > 0 {
                let mut buf = BytesMut::new();
                for _ in 0..m.chunks {
                    let id = ids
                        .next()
                        .ok_or_else(|| invalid("audit chunk list shorter than its entries"))?;
                    let chunk = chunks
                        .get(id)
                        .ok_or_else(|| invalid("audit chunk missing"))?;
                    buf.extend_from_slice(chunk);
                }
                buf.freeze()
            } else {
                let end = inline_at + m.inline;
                if end > self.inline.len() {
                    return Err(invalid("audit inline bodies shorter than their entries"));
                }
                let body = self.inline.slice(inline_at..end);
                inline_at = end;
                body
            };
            bodies.push(body);
        }
        self.metas
            .into_iter()
            .zip(bodies)
            .map(|(m, body)| {
                Ok(AuditEntry {
                    kind: m.kind,
                    attempt: m.attempt,
                    endpoint: m.endpoint,
                    method: m.method,
                    url: m.url,
                    status: m.status,
                    headers: m.headers,
                    body: super::split_body(&body, &m.parts)?,
                    offsets_ms: m.offsets_ms,
                    truncated: m.truncated,
                    note: m.note,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: AuditKind, parts: &[&[u8]]) -> AuditEntry {
        let mut e = AuditEntry::new(kind);
        e.body = parts.iter().map(|p| Bytes::copy_from_slice(p)).collect();
        e
    }

    fn bundle(entries: Vec<AuditEntry>) -> AuditBundle {
        AuditBundle {
            request_id: Uuid::now_v7(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            entries,
        }
    }

    /// Decodes `encoded`'s rows as a store would, with chunk ids = indexes + 1.
    fn round_trip(encoded: &Encoded) -> Vec<Vec<AuditEntry>> {
        let ids: Vec<i64> = (1..=i64::try_from(encoded.chunks.len()).expect("few")).collect();
        let chunks: HashMap<i64, Bytes> = encoded
            .chunks
            .iter()
            .zip(&ids)
            .map(|(c, id)| (*id, c.plain.clone()))
            .collect();
        encoded
            .rows
            .iter()
            .map(|r| {
                let list = Encoded::chunk_list(r, &ids);
                read_row(&r.data, list.as_deref())
                    .and_then(|row| row.entries(&chunks))
                    .expect("decode")
            })
            .collect()
    }

    /// Prose-like bytes that differ with `seed`.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "the ", "parser ", "flaky ", "test ", "should ", "retry ", "when ", "a ", "stream ",
            "ends ", "early, ", "so ",
        ];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(WORDS[usize::try_from(x % 12).expect("small")].as_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn varints_round_trip_and_reject_damage() {
        let ids = [1_i64, 127, 128, 1, 1 << 40, 300];
        let row = RequestRow {
            request_id: Uuid::nil(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            entries: 0,
            raw_size: 0,
            data: Vec::new(),
            chunks: (0..ids.len()).collect(),
        };
        let list = Encoded::chunk_list(&row, &ids).expect("a list");
        assert_eq!(chunk_ids(&list).expect("decode"), ids);
        assert!(chunk_ids(&list[..list.len() - 1]).is_err(), "cut varint");
        assert!(chunk_ids(&[0xff; 11]).is_err(), "too long");
        assert_eq!(counted([3, 1, 3, 2, 3]), [(1, 1), (2, 1), (3, 3)]);
    }

    /// Every kind of body (none, inline, chunked, stream parts, a repeat of an earlier entry's)
    /// comes back byte for byte with its head.
    #[test]
    fn entries_round_trip() {
        let big = text(1, 100_000);
        let mut stream = entry(
            AuditKind::UpstreamResponse,
            &[
                b"event: a\ndata: {}\n\n",
                b"",
                &big[..5000],
                &big[5000..9000],
            ],
        );
        stream.attempt = Some(1);
        stream.endpoint = Some("primary".into());
        stream.status = Some(200);
        stream.headers = vec![("content-type".into(), "text/event-stream".into())];
        stream.offsets_ms = vec![1, 2, 3, 300];
        stream.truncated = true;
        stream.note = Some("cut".into());
        let mut client = entry(AuditKind::ClientRequest, &[&big]);
        client.method = Some("POST".into());
        client.url = Some("/v1/messages?beta=true".into());
        let forwarded = entry(
            AuditKind::UpstreamRequest,
            &[&big[..50_000], &big[50_000..]],
        );
        let small = entry(AuditKind::ClientResponse, &[b"{\"ok\":true}"]);
        let entries = vec![
            client,
            AuditEntry::new(AuditKind::UpstreamRequest),
            forwarded,
            stream,
            small,
        ];
        let encoded = encode(&[bundle(entries.clone())], &mut Default::default()).expect("encode");
        assert_eq!(round_trip(&encoded), vec![entries]);
        // The forwarded copy is the client's body: referenced, not chunked again.
        let row = &encoded.rows[0];
        let listed = row.chunks.len();
        assert!(
            (listed as f64) < 1.5 * (100_000.0 / CHUNK_AVG as f64) + 3.0,
            "{listed} chunks"
        );
    }

    /// A conversation's next turn: the same body with text inserted in the middle and one byte
    /// changed near the start shares all but a few chunks with it.
    #[test]
    fn an_edited_body_shares_most_chunks() {
        let before = text(2, 200_000);
        let mut after = before.clone();
        after.splice(120_000..120_000, text(3, 4_000));
        after[10_000] = b'#';
        let encoded = encode(
            &[
                bundle(vec![entry(AuditKind::ClientRequest, &[&before])]),
                bundle(vec![entry(AuditKind::ClientRequest, &[&after])]),
            ],
            &mut Default::default(),
        )
        .expect("encode");
        let first: std::collections::HashSet<usize> =
            encoded.rows[0].chunks.iter().copied().collect();
        let new_bytes: usize = encoded.rows[1]
            .chunks
            .iter()
            .filter(|i| !first.contains(i))
            .map(|&i| encoded.chunks[i].plain.len())
            .sum();
        assert!(
            new_bytes < 4_000 + 4 * CHUNK_AVG,
            "the second turn adds {new_bytes} bytes of chunks"
        );
        let uses: i64 = encoded.chunks.iter().map(|c| c.uses).sum();
        let listed = encoded.rows.iter().map(|r| r.chunks.len()).sum::<usize>();
        assert_eq!(uses, i64::try_from(listed).expect("small"));
        assert_eq!(round_trip(&encoded).len(), 2);
    }

    #[test]
    fn damaged_rows_are_errors() {
        let big = text(4, 20_000);
        let encoded = encode(
            &[bundle(vec![
                entry(AuditKind::ClientRequest, &[&big]),
                entry(AuditKind::ClientResponse, &[b"0123456789"]),
            ])],
            &mut Default::default(),
        )
        .expect("encode");
        let row = &encoded.rows[0];
        let ids: Vec<i64> = (1..=i64::try_from(encoded.chunks.len()).expect("few")).collect();
        let list = Encoded::chunk_list(row, &ids).expect("chunked");
        let stored = read_row(&row.data, Some(&list)).expect("read");
        assert!(
            stored.entries(&HashMap::new()).is_err(),
            "a missing chunk is an error, not an empty body"
        );
        let short = read_row(&row.data, Some(&list[..1])).expect("read");
        let all: HashMap<i64, Bytes> = ids
            .iter()
            .zip(&encoded.chunks)
            .map(|(id, c)| (*id, c.plain.clone()))
            .collect();
        assert!(short.entries(&all).is_err(), "a chunk list cut short");
        assert!(read_row(b"no meta line", None).is_err());
    }

    /// A small request's row (four entries with their heads, two small bodies) is stored as it
    /// is; with Claude Code's heads it is over [`ROW_RAW_MAX`] and compressed with the
    /// dictionary to well under half its size. Both read back.
    #[test]
    fn rows_are_plain_when_small_else_compressed_with_the_dictionary() {
        let mut client = entry(
            AuditKind::ClientRequest,
            &[br#"{"model":"claude-opus-4-5","max_tokens":256,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}"#],
        );
        client.method = Some("POST".into());
        client.url = Some("/v1/messages".into());
        client.headers = vec![
            ("host".into(), "127.0.0.1:8787".into()),
            ("content-type".into(), "application/json".into()),
            ("x-api-key".into(), "sk-ant-api…****".into()),
            ("content-length".into(), "120".into()),
        ];
        let mut forwarded = client.clone();
        forwarded.kind = AuditKind::UpstreamRequest;
        forwarded.attempt = Some(0);
        forwarded.endpoint = Some("anthropic".into());
        let mut upstream = entry(
            AuditKind::UpstreamResponse,
            &[br#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-opus-4-5","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":14,"output_tokens":12}}"#],
        );
        upstream.status = Some(200);
        upstream.headers = vec![
            ("date".into(), "Mon, 07 Dec 2026 06:00:00 GMT".into()),
            ("content-type".into(), "application/json".into()),
            ("request-id".into(), "req_011CUjzc4Jdkd8ZxVHm1v6GN".into()),
        ];
        let mut answered = upstream.clone();
        answered.kind = AuditKind::ClientResponse;
        let mut entries = vec![client, forwarded, upstream, answered];
        let encoded = encode(&[bundle(entries.clone())], &mut Default::default()).expect("encode");
        assert_eq!(encoded.rows[0].data[0], b'[', "stored as it is");
        assert_eq!(round_trip(&encoded), vec![entries.clone()]);

        let claude_code = [
            ("accept", "application/json"),
            ("user-agent", "claude-cli/2.1.330 (external, sdk-cli)"),
            (
                "x-claude-code-session-id",
                "b5362d82-8fab-4731-ae9e-a9c61c57cdfe",
            ),
            ("x-stainless-arch", "x64"),
            ("x-stainless-lang", "js"),
            ("x-stainless-os", "Linux"),
            ("x-stainless-package-version", "0.128.0"),
            ("x-stainless-retry-count", "0"),
            ("x-stainless-runtime", "node"),
            ("x-stainless-runtime-version", "v26.12.1"),
            ("x-stainless-timeout", "600"),
            (
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            ),
            ("anthropic-version", "2023-06-01"),
            ("x-app", "cli"),
        ];
        for e in &mut entries {
            for _ in 0..2 {
                e.headers.extend(
                    claude_code
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                );
            }
        }
        let encoded = encode(&[bundle(entries.clone())], &mut Default::default()).expect("encode");
        let row = &encoded.rows[0];
        assert_eq!(row.data[0], DICT_V1_MARK);
        let raw = unpack_row(&row.data).expect("unpack");
        assert!(raw.len() >= ROW_RAW_MAX);
        assert!(
            row.data.len() * 5 < raw.len() * 2,
            "{} of {}",
            row.data.len(),
            raw.len()
        );
        assert_eq!(round_trip(&encoded), vec![entries]);
    }

    /// Plain data that happens to start with zstd's magic number is stored compressed, so
    /// reading never takes it for a frame.
    #[test]
    fn plain_data_never_passes_for_a_frame() {
        let mut zstd = zstd::bulk::Compressor::new(3).expect("zstd");
        let mut tricky = ZSTD_MAGIC.to_vec();
        tricky.extend_from_slice(b"not a frame");
        for raw in [tricky, b"{\"small\":1}".to_vec(), text(5, 10_000)] {
            let packed = pack(&raw, &mut zstd).expect("pack");
            assert_eq!(unpack(&packed).expect("unpack"), raw);
        }
    }
}
