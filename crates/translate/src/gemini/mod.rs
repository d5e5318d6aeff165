//! Anthropic Messages ⇄ Gemini generateContent.
//!
//! Placeholder signatures: each returns "not implemented" until the dialect lands.

use switchboard_protocol::observe::Summary;
use switchboard_protocol::sse;

use crate::{RequestOptions, ResponseContext, StreamTranslator, TranslateError, Translated};

fn todo_err() -> TranslateError {
    TranslateError::new("", "Gemini translation is not implemented yet")
}

/// Anthropic Messages request → Gemini request (`path` names the model and the streaming verb).
pub fn from_anthropic_request(_body: &[u8], _opts: &RequestOptions) -> Result<Translated, TranslateError> {
    Err(todo_err())
}

/// Gemini response → Anthropic message.
pub fn to_anthropic_response(_body: &[u8], _ctx: &ResponseContext) -> Result<(Vec<u8>, Summary), TranslateError> {
    Err(todo_err())
}

/// Gemini stream frames → Anthropic events.
pub struct ToAnthropicStream {
    summary: Summary,
}

impl ToAnthropicStream {
    #[must_use]
    pub fn new(_ctx: ResponseContext) -> Self {
        Self { summary: Summary::default() }
    }
}

impl StreamTranslator for ToAnthropicStream {
    fn push(&mut self, _ev: &sse::Event, _out: &mut Vec<sse::Event>) {}
    fn finish(&mut self, _out: &mut Vec<sse::Event>) {}
    fn summary(&self) -> &Summary {
        &self.summary
    }
}
