//! Chunking a body against the previous body of its session, so that cutting and hashing cost
//! what is new rather than the whole body.
//!
//! A Claude Code request is the previous one with a few turns inserted at the end of `messages`
//! and the cache marker moved: a common prefix (the earlier turns), a changed middle, and a common
//! suffix (the system prompt and the tools, which come after `messages`). FastCDC's cut points
//! depend only on the bytes from a chunk's start, so:
//! - every chunk of the previous body that ends inside the common prefix is a chunk of this
//!   one, with the same hash (but not the previous body's last chunk, which ended because the
//!   data did: here the data goes on, and its cut may fall elsewhere);
//! - from there, cutting resumes on this body; as soon as a cut falls inside the common suffix at
//!   a place that is a cut of the previous body (shifted by the difference in length), every
//!   later chunk is the previous body's, shifted, with the same hash.
//!
//! Only the chunks in between are cut and hashed. The result is exactly what cutting the whole
//! body from its start gives (tested against it); the prefix and suffix are found by comparing
//! bytes (memcmp), so a wrong guess of which body came before costs time, never correctness.

use std::collections::VecDeque;

use bytes::Bytes;

use super::AuditKind;
use super::chunked::{Hash, cut};

/// Bodies remembered, the most recent last.
const KEEP: usize = 8;
/// Most bytes of bodies remembered (they are the captured bodies themselves, shared, not
/// copies; this bounds what the cache keeps alive).
const KEEP_BYTES: usize = 8 << 20;

/// A body and its chunks: `(end offset, hash)` in order.
pub(crate) struct Chunked {
    pub(crate) body: Bytes,
    pub(crate) chunks: Vec<(usize, Hash)>,
}

/// The chunked bodies of recent requests, by session (see [`key`]).
#[derive(Default)]
pub(crate) struct Recent {
    entries: VecDeque<(Vec<u8>, AuditKind, Chunked)>,
}

impl std::fmt::Debug for Recent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent")
            .field("bodies", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// What names a body's session: Claude Code's session header when the entry has one, else the
/// body's first 256 bytes (a request's model, the start of its first message). Any key will do:
/// a body compared with the wrong predecessor is cut in full.
pub(crate) fn key(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-claude-code-session-id"))
        .map_or_else(
            || body[..body.len().min(256)].to_vec(),
            |(_, v)| v.as_bytes().to_vec(),
        )
}

impl Recent {
    /// Cuts and hashes `body`, reusing what it shares with the last body remembered under
    /// (`key`, `kind`), and remembers it there.
    pub(crate) fn chunk(&mut self, key: Vec<u8>, kind: AuditKind, body: Bytes) -> &Chunked {
        let at = self
            .entries
            .iter()
            .position(|(k, kd, _)| *kd == kind && *k == key);
        let previous = at.and_then(|i| self.entries.remove(i)).map(|(_, _, c)| c);
        let chunks = chunk_after(previous.as_ref(), &body);
        self.entries
            .push_back((key, kind, Chunked { body, chunks }));
        while self.entries.len() > KEEP
            || self
                .entries
                .iter()
                .map(|(_, _, c)| c.body.len())
                .sum::<usize>()
                > KEEP_BYTES
        {
            if self.entries.len() == 1 {
                break;
            }
            self.entries.pop_front();
        }
        let last = self.entries.len() - 1;
        &self.entries[last].2
    }
}

fn hash(bytes: &[u8]) -> Hash {
    blake3::hash(bytes).into()
}

/// The chunks of `body`, as cutting it whole would give them, reusing `previous`'s.
pub(crate) fn chunk_after(previous: Option<&Chunked>, body: &Bytes) -> Vec<(usize, Hash)> {
    let Some(p) = previous else {
        return cut(body).map(|r| (r.end, hash(&body[r]))).collect();
    };
    let old = &p.body[..];
    if old == &body[..] {
        return p.chunks.clone();
    }
    let prefix = old
        .iter()
        .zip(body.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(body.len()));
    let mut out: Vec<(usize, Hash)> = Vec::with_capacity(p.chunks.len() + 4);
    // Chunks inside the common prefix, but never the previous body's last (cut by its end).
    let mut start = 0;
    for &(end, h) in &p.chunks[..p.chunks.len().saturating_sub(1)] {
        if end > prefix {
            break;
        }
        out.push((end, h));
        start = end;
    }
    // The common suffix, not reaching back into what was reused.
    let room = old.len().min(body.len()) - start;
    let suffix = old[start..]
        .iter()
        .rev()
        .zip(body[start..].iter().rev())
        .take(room)
        .position(|(a, b)| a != b)
        .unwrap_or(room);
    let new_suffix_at = body.len() - suffix;
    let old_suffix_at = old.len() - suffix;
    for r in cut(&body[start..]) {
        let (a, b) = (start + r.start, start + r.end);
        out.push((b, hash(&body[a..b])));
        if b >= new_suffix_at && b < body.len() {
            // Where this cut falls in the previous body.
            let b_old = b - new_suffix_at + old_suffix_at;
            if let Ok(i) = p.chunks.binary_search_by_key(&b_old, |c| c.0) {
                out.extend(
                    p.chunks[i + 1..]
                        .iter()
                        .map(|&(end, h)| (end - old_suffix_at + new_suffix_at, h)),
                );
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text-like bytes from `seed`.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"abcdefgh ijklmnop qrstuvwxyz\n{}\":,"[usize::try_from(x % 34).expect("small")]
            })
            .collect()
    }

    fn whole(body: &[u8]) -> Vec<(usize, Hash)> {
        cut(body).map(|r| (r.end, hash(&body[r]))).collect()
    }

    /// Every kind of edit gives exactly the chunks of cutting the new body whole.
    #[test]
    fn reuse_gives_the_chunks_of_a_whole_cut() {
        let base = text(1, 300_000);
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for (at, insert, remove) in [
            (150_000, 4_000, 0),
            (150_000, 0, 3_000),
            (10, 7, 7),
            (299_990, 50_000, 0),
            (0, 100, 0),
            (120_000, 2, 60_000),
        ] {
            let mut b = base.clone();
            b.splice(at..at + remove, text(at as u64 + 9, insert));
            cases.push(b);
        }
        let mut marker = base.clone();
        marker[100_000] = b'#';
        marker.splice(200_000..200_000, text(77, 5_000));
        cases.push(marker);
        cases.push(base[..250_000].to_vec()); // cut short
        let mut longer = base.clone();
        longer.extend(text(5, 10_000)); // grown at the end
        cases.push(longer);
        cases.push(base.clone()); // the same
        cases.push(text(2, 1_000)); // unrelated
        let previous = Chunked {
            body: Bytes::from(base.clone()),
            chunks: whole(&base),
        };
        for (i, new) in cases.into_iter().enumerate() {
            let new = Bytes::from(new);
            assert_eq!(chunk_after(Some(&previous), &new), whole(&new), "case {i}");
        }
    }

    /// A session's turns through the cache: each turn's chunks as cut whole, and the cache
    /// bounded.
    #[test]
    fn a_session_through_the_cache() {
        let mut recent = Recent::default();
        let mut body = text(3, 100_000);
        for turn in 0..20 {
            let at = 60_000 + turn * 4_000;
            body.splice(at..at, text(100 + turn as u64, 4_000));
            let key = key(&[("X-Claude-Code-Session-Id".into(), "s1".into())], &body);
            let got = recent
                .chunk(key, AuditKind::ClientRequest, Bytes::from(body.clone()))
                .chunks
                .clone();
            assert_eq!(got, whole(&body), "turn {turn}");
            // Other sessions in between.
            let other = text(1000 + turn as u64, 50_000);
            recent.chunk(
                other[..256].to_vec(),
                AuditKind::ClientRequest,
                Bytes::from(other),
            );
        }
        assert!(recent.entries.len() <= KEEP);
    }
}
