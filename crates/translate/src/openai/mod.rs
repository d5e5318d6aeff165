//! Anthropic Messages ⇄ OpenAI Chat Completions, both directions, streaming and not
//! (protocol-notes §4).
//!
//! - [`from_anthropic_request`] / [`to_anthropic_request`]: request bodies.
//! - [`to_anthropic_response`] / [`from_anthropic_response`]: non-streaming response bodies.
//! - [`ToAnthropicStream`] / [`FromAnthropicStream`]: stream state machines.
//!
//! Files: `request.rs` (Anthropic → OpenAI request), `reverse.rs` (OpenAI → Anthropic request),
//! `response.rs` (both non-streaming responses), `stream_to.rs` and `stream_from.rs`.

mod cache;
mod request;
mod response;
mod reverse;
mod stream_from;
mod stream_to;

use switchboard_protocol::observe::Summary;

use crate::{RequestOptions, ResponseContext, TranslateError, Translated};

pub use stream_from::FromAnthropicStream;
pub use stream_to::ToAnthropicStream;

/// Anthropic Messages request → OpenAI chat request (`path` is `/chat/completions`; the
/// endpoint's base URL includes `/v1`).
///
/// # Errors
/// The body isn't a Messages request, or uses what chat completions can't express (documents,
/// server tools), naming the field.
pub fn from_anthropic_request(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    request::from_anthropic(body, opts)
}

/// OpenAI chat request → Anthropic Messages request (`path` is `/v1/messages`).
///
/// # Errors
/// The body isn't a chat request, or uses what Messages can't express (`n > 1`, audio parts,
/// invalid tool-call arguments), naming the field.
pub fn to_anthropic_request(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    reverse::to_anthropic(body, opts)
}

/// OpenAI chat completion → Anthropic message.
///
/// # Errors
/// The body isn't a chat completion (or is an error body).
pub fn to_anthropic_response(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    response::to_anthropic(body, ctx)
}

/// Anthropic message → OpenAI chat completion.
///
/// # Errors
/// The body isn't an Anthropic message (or is an error body).
pub fn from_anthropic_response(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    response::from_anthropic(body, ctx)
}
