//! The body of a streamed response: upstream SSE forwarded event by event as it arrives, never
//! buffered beyond the event being completed, with a tee that reads usage and stop reason.
//!
//! After the first byte has gone to the client there is no failover: an upstream failure ends the
//! stream with a well-formed error event, the attempt counts as a failure of that endpoint, and
//! the log row records the partial response. While the upstream is silent the client gets `ping`
//! events, so idle timeouts along the way don't cut a long thinking pause. Dropping this stream
//! (the client went away) drops the upstream request and completes the log row.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use switchboard_core::Outcome;
use switchboard_protocol::Dialect;
use switchboard_protocol::error::{ErrorKind, anthropic_body, openai_body};
use switchboard_protocol::observe::{AnthropicStreamObserver, OpenAiStreamObserver, Summary};
use switchboard_protocol::sse::{self, Decoder, Event, FrameSplitter};
use switchboard_store::AuditKind;
use switchboard_translate::StreamTranslator;
use tokio::time::Instant;

use crate::body_stream::{BodyStream, GATHER_MAX_BYTES, next_ready};
use crate::log::RequestLog;
use crate::state::{AppState, InFlight};

enum Mode {
    /// Same dialect both sides: forward raw frames, observe a few of them.
    Passthrough {
        splitter: FrameSplitter,
        observer: Observer,
    },
    /// Translated: decode, translate, re-encode.
    Translate {
        decoder: Decoder,
        translator: Box<dyn StreamTranslator>,
        scratch: Vec<Event>,
    },
}

enum Observer {
    Anthropic(AnthropicStreamObserver),
    OpenAi(OpenAiStreamObserver),
}

impl Observer {
    fn summary(&self) -> &Summary {
        match self {
            Self::Anthropic(o) => &o.summary,
            Self::OpenAi(o) => &o.summary,
        }
    }
}

pub(crate) struct ProxyStream {
    rest: BodyStream,
    first: Vec<Bytes>,
    mode: Mode,
    out: VecDeque<Bytes>,
    ended: bool,
    failure: Option<String>,
    client: Dialect,
    state: AppState,
    endpoint: String,
    keepalive: Duration,
    idle_timeout: Duration,
    silent_since: Instant,
    /// Fires when the next ping (or the idle timeout) is due. One timer for the whole stream,
    /// moved forward for each wait: arming a fresh `tokio::time::timeout` per chunk registered
    /// and cancelled a timer-wheel entry every time.
    timer: Pin<Box<tokio::time::Sleep>>,
    log: RequestLog,
    response_bytes: u64,
    /// The log row has been completed.
    done: bool,
    _in_flight: InFlight,
}

pub(crate) struct StreamParts {
    pub(crate) rest: BodyStream,
    pub(crate) first: Vec<Bytes>,
    pub(crate) client: Dialect,
    pub(crate) translator: Option<Box<dyn StreamTranslator>>,
    pub(crate) state: AppState,
    pub(crate) endpoint: String,
    pub(crate) keepalive: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) log: RequestLog,
    pub(crate) in_flight: InFlight,
}

impl ProxyStream {
    pub(crate) fn new(p: StreamParts) -> Self {
        let mode = match p.translator {
            Some(translator) => Mode::Translate {
                decoder: Decoder::default(),
                translator,
                scratch: Vec::new(),
            },
            None => Mode::Passthrough {
                splitter: FrameSplitter::default(),
                observer: match p.client {
                    Dialect::OpenAiChat => Observer::OpenAi(OpenAiStreamObserver::default()),
                    _ => Observer::Anthropic(AnthropicStreamObserver::default()),
                },
            },
        };
        Self {
            rest: p.rest,
            first: p.first,
            mode,
            out: VecDeque::new(),
            ended: false,
            failure: None,
            client: p.client,
            state: p.state,
            endpoint: p.endpoint,
            keepalive: p.keepalive,
            idle_timeout: p.idle_timeout,
            silent_since: Instant::now(),
            timer: Box::pin(tokio::time::sleep(p.keepalive)),
            log: p.log,
            response_bytes: 0,
            done: false,
            _in_flight: p.in_flight,
        }
    }

    /// As a body stream for axum.
    pub(crate) fn into_body(self) -> axum::body::Body {
        let s = futures::stream::unfold(self, |mut s| async move {
            s.next_chunk()
                .await
                .map(|b| (Ok::<_, std::convert::Infallible>(b), s))
        });
        axum::body::Body::from_stream(s)
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(b) = self.take_out() {
                if self.response_bytes == 0 {
                    self.log.first_byte();
                }
                if let Some(a) = self.log.audit() {
                    a.chunk(AuditKind::ClientResponse, &b);
                }
                self.response_bytes += b.len() as u64;
                return Some(b);
            }
            if self.ended {
                self.complete();
                return None;
            }
            if !self.first.is_empty() {
                // Already gathered (`upstream::peek_first_event`): it goes out with the head.
                for c in std::mem::take(&mut self.first) {
                    self.process(&c);
                    if self.ended {
                        break;
                    }
                }
                continue;
            }
            let now = Instant::now();
            let ping_at = now.checked_add(self.keepalive);
            let idle_at = self.silent_since.checked_add(self.idle_timeout);
            let deadline = match (ping_at, idle_at) {
                (Some(p), Some(i)) => p.min(i).max(now),
                (Some(d), None) | (None, Some(d)) => d.max(now),
                (None, None) => now + Duration::from_secs(86_400 * 365),
            };
            self.timer.as_mut().reset(deadline);
            let next = tokio::select! {
                biased;
                item = self.rest.next() => Ok(item),
                () = self.timer.as_mut() => Err(()),
            };
            match next {
                Err(()) => {
                    if self.silent_since.elapsed() >= self.idle_timeout {
                        self.fail(format!(
                            "upstream silent for {}s",
                            self.idle_timeout.as_secs()
                        ));
                    } else if self.at_event_boundary() {
                        self.out.push_back(self.ping());
                    }
                }
                Ok(Some(item)) => {
                    self.silent_since = Instant::now();
                    self.received(item);
                    self.gather().await;
                }
                Ok(None) => self.upstream_ended(),
            }
        }
    }

    fn received(&mut self, item: Result<Bytes, hyper::Error>) {
        match item {
            Ok(chunk) => {
                if let Some(a) = self.log.audit() {
                    a.chunk(AuditKind::UpstreamResponse, &chunk);
                }
                self.process(&chunk);
            }
            Err(e) => self.fail(format!(
                "upstream connection broke: {}",
                crate::client::error_chain(&e)
            )),
        }
    }

    /// Takes in what the upstream has already delivered, without waiting for more, so that
    /// events which arrived together reach the client in one write (see [`next_ready`]).
    async fn gather(&mut self) {
        let mut held = self.out_len();
        while !self.ended && held < GATHER_MAX_BYTES {
            match next_ready(&mut self.rest).await {
                Some(Some(item)) => {
                    held += item.as_ref().map_or(0, Bytes::len);
                    self.silent_since = Instant::now();
                    self.received(item);
                }
                Some(None) => self.upstream_ended(),
                None => break,
            }
        }
    }

    fn out_len(&self) -> usize {
        self.out.iter().map(Bytes::len).sum()
    }

    /// What is ready for the client, as one chunk.
    fn take_out(&mut self) -> Option<Bytes> {
        match self.out.len() {
            0 => None,
            1 => self.out.pop_front(),
            _ => {
                let mut buf = BytesMut::with_capacity(self.out_len());
                for b in self.out.drain(..) {
                    buf.extend_from_slice(&b);
                }
                Some(buf.freeze())
            }
        }
    }

    fn at_event_boundary(&self) -> bool {
        match &self.mode {
            Mode::Passthrough { splitter, .. } => splitter.pending_len() == 0,
            Mode::Translate { .. } => true,
        }
    }

    fn ping(&self) -> Bytes {
        match self.client {
            Dialect::OpenAiChat => Bytes::from_static(b": ping\n\n"),
            _ => Bytes::from_static(b"event: ping\ndata: {\"type\": \"ping\"}\n\n"),
        }
    }

    fn process(&mut self, chunk: &Bytes) {
        match &mut self.mode {
            Mode::Passthrough { splitter, observer } => {
                let was_empty = splitter.pending_len() == 0;
                let frames = splitter.push(chunk);
                for f in &frames {
                    observe_frame(observer, f);
                }
                let pending = splitter.pending_len();
                if was_empty && pending == 0 && !frames.is_empty() {
                    // The chunk is exactly whole events: forward it as is, no copy.
                    self.out.push_back(chunk.clone());
                } else {
                    self.out.extend(frames);
                }
                if pending > sse::DEFAULT_MAX_LINE {
                    self.fail(format!(
                        "upstream sent an SSE event larger than {} bytes",
                        sse::DEFAULT_MAX_LINE
                    ));
                }
            }
            Mode::Translate {
                decoder,
                translator,
                scratch,
            } => match decoder.push(chunk) {
                Ok(events) => {
                    for ev in &events {
                        translator.push(ev, scratch);
                    }
                    if let Some(b) = encode_all(scratch) {
                        self.out.push_back(b);
                    }
                }
                Err(e) => self.fail(format!("upstream sent a malformed stream: {e}")),
            },
        }
    }

    fn upstream_ended(&mut self) {
        match &mut self.mode {
            Mode::Passthrough { splitter, observer } => {
                let rest = splitter.remainder();
                if !rest.trim_ascii().is_empty() {
                    let mut frame = BytesMut::from(&rest[..]);
                    frame.extend_from_slice(b"\n\n");
                    let frame = frame.freeze();
                    observe_frame(observer, &frame);
                    self.out.push_back(frame);
                }
                let s = observer.summary();
                if !s.complete {
                    let why = s.error.clone().unwrap_or_else(|| {
                        "upstream closed the stream before it was complete".into()
                    });
                    self.fail(why);
                    return;
                }
            }
            Mode::Translate {
                decoder,
                translator,
                scratch,
            } => {
                if let Ok(Some(ev)) = decoder.finish() {
                    translator.push(&ev, scratch);
                }
                translator.finish(scratch);
                if let Some(b) = encode_all(scratch) {
                    self.out.push_back(b);
                }
                let s = translator.summary();
                if !s.complete || s.error.is_some() {
                    self.failure = Some(
                        s.error
                            .clone()
                            .unwrap_or_else(|| "upstream stream ended early".into()),
                    );
                }
            }
        }
        self.ended = true;
    }

    /// Ends the stream after an upstream failure with a well-formed error event.
    fn fail(&mut self, reason: String) {
        tracing::warn!(endpoint = %self.endpoint, %reason, "stream failed after commit");
        match &mut self.mode {
            Mode::Passthrough { splitter, observer } => {
                let _partial = splitter.remainder();
                let already_errored = observer.summary().error.is_some();
                if !already_errored {
                    self.out.push_back(error_event(self.client, &reason));
                }
            }
            Mode::Translate {
                translator,
                scratch,
                ..
            } => {
                translator.finish(scratch);
                let has_error = scratch
                    .iter()
                    .any(|e| e.event.as_deref() == Some("error") || e.data.contains("\"error\""));
                if let Some(b) = encode_all(scratch) {
                    self.out.push_back(b);
                }
                if !has_error && translator.summary().error.is_none() {
                    self.out.push_back(error_event(self.client, &reason));
                }
            }
        }
        self.failure = Some(reason);
        self.ended = true;
    }

    fn summary(&self) -> &Summary {
        match &self.mode {
            Mode::Passthrough { observer, .. } => observer.summary(),
            Mode::Translate { translator, .. } => translator.summary(),
        }
    }

    /// Copies what was observed so far into the log row.
    fn record_progress(&mut self) {
        let summary = self.summary().clone();
        self.log.summary(&summary);
        if let Some(r) = self.log.record() {
            r.response_bytes = self.response_bytes;
        }
    }

    fn complete(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.record_progress();
        let health = self.state.health();
        match self.failure.take() {
            None => {
                health.record_success(&self.endpoint, Instant::now());
                self.log.finish(200, Outcome::Ok, None);
            }
            Some(reason) => {
                health.record_failure(&self.endpoint, &reason);
                self.log.finish(200, Outcome::Partial, Some(reason));
            }
        }
    }
}

impl Drop for ProxyStream {
    /// The client went away mid-stream: keep what was observed (the row itself is completed as
    /// `client_closed` by the log's own drop). Not counted against the endpoint.
    fn drop(&mut self) {
        if !self.done {
            self.record_progress();
        }
    }
}

/// Reads usage, stop reason and errors from the few events that carry them.
fn observe_frame(observer: &mut Observer, frame: &[u8]) {
    // Content blocks (start, deltas, stop) and pings carry nothing the observers read.
    if frame.starts_with(b"event: content_block_") || frame.starts_with(b"event: ping") {
        return;
    }
    let mut d = Decoder::default();
    let Ok(mut events) = d.push(frame) else {
        return;
    };
    if let Ok(Some(ev)) = d.finish() {
        events.push(ev);
    }
    for ev in &events {
        match observer {
            Observer::Anthropic(o) => o.observe(ev),
            Observer::OpenAi(o) => o.observe(ev),
        }
    }
}

fn encode_all(events: &mut Vec<Event>) -> Option<Bytes> {
    if events.is_empty() {
        return None;
    }
    let mut buf = BytesMut::with_capacity(events.iter().map(|e| e.data.len() + 32).sum());
    for ev in events.drain(..) {
        sse::encode_into(&ev, &mut buf);
    }
    Some(buf.freeze())
}

/// A terminal error event in the client's dialect.
pub(crate) fn error_event(client: Dialect, message: &str) -> Bytes {
    match client {
        Dialect::OpenAiChat => {
            let body = openai_body(ErrorKind::Api, message);
            sse::encode(&Event::data(body.to_string()))
        }
        _ => sse::encode(&Event::new(
            "error",
            anthropic_body(ErrorKind::Api, message).to_string(),
        )),
    }
}
