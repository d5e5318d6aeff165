//! Anthropic Messages ⇄ Gemini `generateContent` / `streamGenerateContent?alt=sse`.
//!
//! - [`from_anthropic_request`] ([`request`]): Messages request → Gemini request; tool schemas are
//!   reduced to Gemini's subset ([`schema`]) and long tool names shortened ([`names`]).
//! - [`ToAnthropicStream`] ([`stream`]): Gemini SSE frames → Anthropic events.
//! - [`to_anthropic_response`] ([`response`]): a `generateContent` body → an Anthropic message,
//!   by running the stream state machine over it.
//!
//! Gemini's `thoughtSignature`s and function-call ids survive the round trip through Claude Code
//! inside the ids and signatures Claude Code echoes verbatim ([`ids`]). Mapping rules and their
//! sources: the protocol notes, §5 (Anthropic ↔ Gemini).

mod ids;
mod request;
mod response;
mod schema;
mod stream;

use switchboard_protocol::observe::Summary;

use crate::{RequestOptions, ResponseContext, TranslateError, Translated};

pub use stream::ToAnthropicStream;

/// Anthropic Messages request → Gemini request (`path` names the model and the streaming verb).
///
/// # Errors
/// The body isn't a JSON object, or uses what Gemini can't express (server tools such as
/// `web_search`, file sources, unknown `tool_choice`), naming the field.
pub fn from_anthropic_request(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    request::from_anthropic_request(body, opts)
}

/// Gemini response → Anthropic message.
///
/// # Errors
/// The body isn't JSON, or is a Gemini error body.
pub fn to_anthropic_response(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    response::to_anthropic_response(body, ctx)
}

/// Anthropic `stop_reason` for a Gemini `finishReason`; `None` for reasons that are failures
/// (a malformed or unexpected tool call), which become errors. Gemini says `STOP` after function
/// calls, so `tool_use` is decided by whether any was emitted.
pub(crate) fn stop_reason(finish: &str, saw_tool_use: bool) -> Option<&'static str> {
    Some(match finish {
        "MAX_TOKENS" => "max_tokens",
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => "refusal",
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => return None,
        _ if saw_tool_use => "tool_use",
        _ => "end_turn",
    })
}

#[cfg(test)]
mod tests {
    use super::stop_reason;

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        assert_eq!(stop_reason("STOP", false), Some("end_turn"));
        assert_eq!(stop_reason("STOP", true), Some("tool_use"));
        assert_eq!(stop_reason("MAX_TOKENS", true), Some("max_tokens"));
        assert_eq!(stop_reason("SPII", false), Some("refusal"));
        assert_eq!(stop_reason("MALFORMED_FUNCTION_CALL", false), None);
    }
}
