//! Server-Sent Events framing (WHATWG `text/event-stream`), incremental and allocation-light.
//!
//! [`Decoder::push`] accepts bytes split anywhere (inside a line, inside a UTF-8 sequence,
//! between `\r` and `\n`) and yields complete [`Event`]s. Lines longer than the configured limit
//! are an error rather than unbounded memory growth. [`Decoder::split_frames`] is the cheap
//! variant for passthrough: it returns the raw bytes of complete events so they can be forwarded
//! untouched.

use bytes::{Bytes, BytesMut};

/// Default cap on one SSE line (a whole `data:` JSON payload). Real Anthropic events are small;
/// a base64 image echoed in a tool result can be a few MiB.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// One dispatched SSE event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
}

impl Event {
    /// An event with a name and data.
    #[must_use]
    pub fn new(event: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            event: Some(event.into()),
            data: data.into(),
            id: None,
        }
    }

    /// A data-only event (OpenAI and Gemini streams).
    #[must_use]
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            event: None,
            data: data.into(),
            id: None,
        }
    }
}

/// Errors from decoding an event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("SSE line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("SSE stream is not valid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
}

/// Incremental SSE decoder.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    /// Bytes of `buf` already scanned for a line end (so each byte is scanned once).
    scanned: usize,
    max_line: usize,
    pending: Event,
    has_data: bool,
    has_fields: bool,
    consumed: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl Decoder {
    /// A decoder that rejects lines longer than `max_line` bytes.
    #[must_use]
    pub fn new(max_line: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanned: 0,
            max_line,
            pending: Event::default(),
            has_data: false,
            has_fields: false,
            consumed: 0,
        }
    }

    /// Feed bytes; returns the events they complete.
    ///
    /// # Errors
    /// A line over the limit, or a line that is not UTF-8. The decoder should not be used after an
    /// error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, DecodeError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some((line_end, next)) = find_line_end(&self.buf, self.scanned) {
            let line = self.buf.split_to(next);
            self.scanned = 0;
            let offset = self.consumed;
            self.consumed += next;
            let text =
                std::str::from_utf8(&line[..line_end]).map_err(|e| DecodeError::InvalidUtf8 {
                    offset: offset + e.valid_up_to(),
                })?;
            if let Some(ev) = self.line(text) {
                out.push(ev);
            }
        }
        // A lone trailing '\r' may be the first half of "\r\n": rescan it next time.
        self.scanned = self.buf.len().saturating_sub(1);
        if self.buf.len() > self.max_line {
            return Err(DecodeError::LineTooLong {
                limit: self.max_line,
            });
        }
        Ok(out)
    }

    /// Signal end of input: a final event without its blank line is dispatched (servers that close
    /// right after the last `data:` line are common).
    ///
    /// # Errors
    /// The unterminated last line is not UTF-8.
    pub fn finish(&mut self) -> Result<Option<Event>, DecodeError> {
        if !self.buf.is_empty() {
            let rest = self.buf.split();
            let text = std::str::from_utf8(&rest)
                .map_err(|e| DecodeError::InvalidUtf8 {
                    offset: self.consumed + e.valid_up_to(),
                })?
                .trim_end_matches('\r')
                .to_owned();
            if let Some(ev) = self.line(&text) {
                return Ok(Some(ev));
            }
        }
        Ok(self.dispatch())
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // comment
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => {
                self.pending.event = Some(value.to_owned());
                self.has_fields = true;
            }
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
                self.has_fields = true;
            }
            "id" => {
                self.pending.id = Some(value.to_owned());
                self.has_fields = true;
            }
            _ => {} // "retry" and unknown fields are ignored
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        if !self.has_fields {
            return None;
        }
        self.has_data = false;
        self.has_fields = false;
        Some(std::mem::take(&mut self.pending))
    }
}

/// Finds the first line terminator at or after `from`: returns (end of line content, start of next).
fn find_line_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    // memchr scans a word or a vector at a time: byte by byte, this loop was the largest cost
    // of forwarding a stream (callgrind, docs/benchmarks.md).
    let i = from + memchr::memchr2(b'\n', b'\r', buf.get(from..)?)?;
    if buf[i] == b'\n' {
        return Some((i, i + 1));
    }
    match buf.get(i + 1) {
        Some(b'\n') => Some((i, i + 2)),
        Some(_) => Some((i, i + 1)),
        None => None, // need one more byte to know whether "\r\n"
    }
}

/// Splits a byte stream into the raw bytes of complete events, for forwarding untouched.
///
/// Each returned frame ends with its blank-line terminator. Bytes of an incomplete event stay
/// buffered until it completes; [`FrameSplitter::remainder`] returns them at end of stream.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buf: BytesMut,
    /// Start of the current, unfinished line within `buf`.
    line_start: usize,
    /// Where scanning resumes (each byte is scanned about once, even for long lines).
    scan: usize,
}

impl FrameSplitter {
    /// Feed a chunk; returns complete frames (possibly none).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some((end, next)) = find_line_end(&self.buf, self.scan) {
            if end == self.line_start {
                out.push(self.buf.split_to(next).freeze());
                self.line_start = 0;
                self.scan = 0;
            } else {
                self.line_start = next;
                self.scan = next;
            }
        }
        // A trailing '\r' may be half of "\r\n": rescan it next time.
        self.scan = self.buf.len().saturating_sub(1).max(self.line_start);
        out
    }

    /// Whatever is buffered after the last complete frame.
    #[must_use]
    pub fn remainder(&mut self) -> Bytes {
        self.line_start = 0;
        self.scan = 0;
        self.buf.split().freeze()
    }

    /// Bytes waiting for the end of their event.
    #[must_use]
    pub fn pending_len(&self) -> usize {
        self.buf.len()
    }
}

/// Encodes an event as `event: …\ndata: …\n\n` (multi-line data split into several `data:`
/// lines, as the spec requires).
#[must_use]
pub fn encode(ev: &Event) -> Bytes {
    let mut out = BytesMut::with_capacity(ev.data.len() + 32);
    encode_into(ev, &mut out);
    out.freeze()
}

/// [`encode`], appended to `out` (several events into one buffer without a copy each).
pub fn encode_into(ev: &Event, out: &mut BytesMut) {
    if let Some(name) = &ev.event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n");
    }
    if let Some(id) = &ev.id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\n");
    }
    for line in ev.data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<Event> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.push(c).expect("decode"));
        }
        out.extend(d.finish().expect("finish"));
        out
    }

    #[test]
    fn decodes_named_events_with_crlf_and_padding() {
        let evs = decode_all(&[
            b"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\nevent: x\ndata: a\ndata: b\n\n",
        ]);
        assert_eq!(
            evs,
            vec![
                Event::new("ping", "{\"type\": \"ping\"}"),
                Event::new("x", "a\nb")
            ]
        );
    }

    #[test]
    fn comments_are_ignored_and_final_event_without_blank_line_is_dispatched() {
        let evs = decode_all(&[b": keepalive\n\ndata: [DONE]"]);
        assert_eq!(evs, vec![Event::data("[DONE]")]);
    }

    #[test]
    fn rejects_overlong_lines() {
        let mut d = Decoder::new(8);
        assert_eq!(
            d.push(b"data: 0123456789"),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
    }

    #[test]
    fn rejects_invalid_utf8() {
        let mut d = Decoder::default();
        assert!(matches!(
            d.push(b"data: \xff\xfe\n\n"),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn frame_splitter_returns_whole_frames_only() {
        let mut s = FrameSplitter::default();
        assert!(s.push(b"event: a\ndata: 1").is_empty());
        let f = s.push(b"\n\nevent: b\r\ndata: 2\r\n\r\nevent: c\n");
        assert_eq!(
            f,
            vec![
                Bytes::from_static(b"event: a\ndata: 1\n\n"),
                Bytes::from_static(b"event: b\r\ndata: 2\r\n\r\n")
            ]
        );
        assert_eq!(s.remainder(), Bytes::from_static(b"event: c\n"));
    }

    proptest! {
        #[test]
        fn decoding_is_independent_of_chunking(split in proptest::collection::vec(0usize..200, 0..12)) {
            let input: &[u8] = b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n: c\n\ndata: x\ndata: y\n\nevent: e\rdata: \xc3\xa9t\xc3\xa9\r\r";
            let whole = decode_all(&[input]);
            let mut cuts: Vec<usize> = split.into_iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts { chunks.push(&input[last..c]); last = c; }
            chunks.push(&input[last..]);
            prop_assert_eq!(decode_all(&chunks), whole);
        }

        #[test]
        fn frame_splitting_is_independent_of_chunking(split in proptest::collection::vec(0usize..120, 0..10)) {
            let input: &[u8] = b"event: a\r\ndata: 1\r\n\r\nevent: b\ndata: 2\n\ndata: 3\r\rdata: 4\n\n";
            let mut cuts: Vec<usize> = split.into_iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut s = FrameSplitter::default();
            let mut frames = Vec::new();
            let mut last = 0;
            for c in cuts { frames.extend(s.push(&input[last..c])); last = c; }
            frames.extend(s.push(&input[last..]));
            let joined: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
            prop_assert_eq!(&joined[..], input);
            prop_assert_eq!(frames.len(), 4);
        }
    }
}
