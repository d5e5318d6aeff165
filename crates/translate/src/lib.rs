//! Pure conversions between the Anthropic Messages, OpenAI Chat Completions and Gemini dialects.
//!
//! Anthropic Messages is the hub: every other dialect converts to it and from it, so
//! OpenAI → Gemini is two hops. Everything here is synchronous and free of I/O (no tokio, no
//! network, no files): the server feeds bytes and events in, and gets bytes and events out.
//!
//! The facade the server uses:
//! - [`translate_request`]: a client body in one dialect → an upstream body in another, plus the
//!   [`ResponseContext`] the response translation needs (tool-name map, requested model, …).
//! - [`translate_response`]: a non-streaming upstream body → the client's dialect.
//! - [`stream_translator`]: a state machine turning upstream SSE events into client SSE events.
//! - [`translate_error`]: an upstream error body → the client's error shape and status.
//!
//! Passthrough (same dialect on both sides) never comes here: the server forwards bytes.

use switchboard_protocol::Dialect;
use switchboard_protocol::observe::Summary;
use switchboard_protocol::sse;

/// A translation failure, naming where in the input it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TranslateError {
    /// JSON path of the offending field, e.g. `messages[3].content[0].source`.
    pub path: String,
    pub reason: String,
}

impl TranslateError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// What the target endpoint is and what it tolerates. Filled by the server from the endpoint's
/// config and preset.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The model to send upstream (after mapping).
    pub target_model: String,
    /// Clamp `max_tokens` to this.
    pub max_output_tokens: Option<u32>,
    /// Provider quirks, by preset name (`deepseek`, `openrouter`, `gemini`, …); empty for none.
    pub preset: Option<String>,
}

/// Facts carried from a request's translation to its response's translation.
#[derive(Debug, Clone, Default)]
pub struct ResponseContext {
    /// The model the client asked for (echoed in `message.model` / `model`).
    pub requested_model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Upstream tool name → the client's original tool name, for names that had to be shortened.
    pub tool_names: Vec<(String, String)>,
    /// Stop sequences the client sent (to report `stop_sequence` when one matched).
    pub stop_sequences: Vec<String>,
    /// Whether the client asked for thinking (so reasoning is shown as thinking blocks).
    pub thinking: bool,
    /// OpenAI clients: `stream_options.include_usage` (a final usage chunk is sent).
    pub include_usage: bool,
}

/// The upstream request produced by [`translate_request`].
#[derive(Debug, Clone)]
pub struct Translated {
    pub body: Vec<u8>,
    /// Path (and query) relative to the endpoint's base URL, e.g. `/chat/completions` or
    /// `/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`.
    pub path: String,
    pub ctx: ResponseContext,
}

/// A streaming translator: upstream events in, client events out.
pub trait StreamTranslator: Send {
    /// Translate one upstream event, appending client events to `out`.
    fn push(&mut self, ev: &sse::Event, out: &mut Vec<sse::Event>);
    /// The upstream ended (cleanly or not): close open blocks and emit the terminal events, so the
    /// client always receives a well-formed stream. An upstream that ended without its terminal
    /// event yields an error event.
    fn finish(&mut self, out: &mut Vec<sse::Event>);
    /// Usage (Anthropic definition), stop reason and errors seen so far.
    fn summary(&self) -> &Summary;
}

mod common;
mod count;
pub mod gemini;
pub mod openai;

pub use count::estimate_input_tokens;
mod tools;

fn unsupported(from: Dialect, to: Dialect) -> TranslateError {
    TranslateError::new("", format!("no translation from {from} to {to}"))
}

/// Translate a client request body from `from` into the `to` dialect.
///
/// # Errors
/// The body isn't valid for `from`, or uses something `to` cannot express (naming the field).
pub fn translate_request(
    from: Dialect,
    to: Dialect,
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    match (from, to) {
        (Dialect::Anthropic, Dialect::OpenAiChat) => openai::from_anthropic_request(body, opts),
        (Dialect::Anthropic, Dialect::Gemini) => gemini::from_anthropic_request(body, opts),
        (Dialect::OpenAiChat, Dialect::Anthropic) => openai::to_anthropic_request(body, opts),
        (Dialect::OpenAiChat, Dialect::Gemini) => {
            // Two hops through the hub. The client-facing facts (requested model, stream flag)
            // come from the first hop; the tool-name map from the second.
            let hub = openai::to_anthropic_request(body, opts)?;
            let mut out = gemini::from_anthropic_request(&hub.body, opts)?;
            out.ctx.requested_model = hub.ctx.requested_model;
            out.ctx.stream = hub.ctx.stream;
            out.ctx.include_usage = hub.ctx.include_usage;
            Ok(out)
        }
        (from, to) => Err(unsupported(from, to)),
    }
}

/// Translate a non-streaming upstream response body (`from`) into the client's dialect (`to`).
///
/// # Errors
/// The body isn't a valid `from` response.
pub fn translate_response(
    from: Dialect,
    to: Dialect,
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    match (from, to) {
        (Dialect::OpenAiChat, Dialect::Anthropic) => openai::to_anthropic_response(body, ctx),
        (Dialect::Gemini, Dialect::Anthropic) => gemini::to_anthropic_response(body, ctx),
        (Dialect::Anthropic, Dialect::OpenAiChat) => openai::from_anthropic_response(body, ctx),
        (Dialect::Gemini, Dialect::OpenAiChat) => {
            let (hub, summary) = gemini::to_anthropic_response(body, ctx)?;
            let (out, _) = openai::from_anthropic_response(&hub, ctx)?;
            Ok((out, summary))
        }
        (from, to) => Err(unsupported(from, to)),
    }
}

/// A stream translator from upstream dialect `from` to client dialect `to`, or `None` when the
/// pair has no translation (the server rejects such routes before sending anything).
#[must_use]
pub fn stream_translator(
    from: Dialect,
    to: Dialect,
    ctx: ResponseContext,
) -> Option<Box<dyn StreamTranslator>> {
    Some(match (from, to) {
        (Dialect::OpenAiChat, Dialect::Anthropic) => Box::new(openai::ToAnthropicStream::new(ctx)),
        (Dialect::Gemini, Dialect::Anthropic) => Box::new(gemini::ToAnthropicStream::new(ctx)),
        (Dialect::Anthropic, Dialect::OpenAiChat) => {
            Box::new(openai::FromAnthropicStream::new(ctx))
        }
        (Dialect::Gemini, Dialect::OpenAiChat) => Box::new(Chain {
            first: gemini::ToAnthropicStream::new(ctx.clone()),
            second: openai::FromAnthropicStream::new(ctx),
            hub: Vec::new(),
        }),
        _ => return None,
    })
}

/// Two stream translators in a row, through the Anthropic hub. Usage and stop reason are
/// reported from the first (it sees the upstream's own numbers).
struct Chain<A, B> {
    first: A,
    second: B,
    hub: Vec<sse::Event>,
}

impl<A: StreamTranslator, B: StreamTranslator> StreamTranslator for Chain<A, B> {
    fn push(&mut self, ev: &sse::Event, out: &mut Vec<sse::Event>) {
        self.first.push(ev, &mut self.hub);
        for hub_ev in self.hub.drain(..) {
            self.second.push(&hub_ev, out);
        }
    }

    fn finish(&mut self, out: &mut Vec<sse::Event>) {
        self.first.finish(&mut self.hub);
        for hub_ev in self.hub.drain(..) {
            self.second.push(&hub_ev, out);
        }
        self.second.finish(out);
    }

    fn summary(&self) -> &Summary {
        self.first.summary()
    }
}

/// Prefixes of the thinking signatures this gateway makes (for reasoning from OpenAI-compatible
/// and Gemini upstreams). Anthropic rejects them, so they are stripped before a request reaches
/// an Anthropic endpoint.
pub const GATEWAY_SIGNATURE_PREFIXES: &[&str] = &["sb1:", "gemini."];

/// Whether a thinking signature was made by this gateway rather than by Anthropic.
#[must_use]
pub fn is_gateway_signature(signature: &str) -> bool {
    GATEWAY_SIGNATURE_PREFIXES
        .iter()
        .any(|p| signature.starts_with(p))
}

/// Translate an upstream error (`from` dialect, HTTP `status`) into the client's error status and
/// body (`to`): rate limit → 429 `rate_limit_error`, overload → 529 (503 for OpenAI clients),
/// auth → 401, bad request → 400.
#[must_use]
pub fn translate_error(from: Dialect, to: Dialect, status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let _ = from;
    let (kind, message) = match switchboard_protocol::error::parse_any(body) {
        Some((kind, msg)) => (
            kind.unwrap_or_else(|| switchboard_protocol::error::ErrorKind::from_status(status)),
            msg,
        ),
        None => (
            switchboard_protocol::error::ErrorKind::from_status(status),
            String::from_utf8_lossy(body).chars().take(500).collect(),
        ),
    };
    match to {
        Dialect::OpenAiChat => (
            kind.openai_status(),
            switchboard_protocol::error::openai_body(kind, &message)
                .to_string()
                .into_bytes(),
        ),
        _ => (
            kind.status(),
            switchboard_protocol::error::anthropic_body(kind, &message)
                .to_string()
                .into_bytes(),
        ),
    }
}
