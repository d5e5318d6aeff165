//! Anthropic Messages ⇄ OpenAI Chat Completions.
//!
//! Placeholder signatures: each returns "not implemented" until the dialect lands.

use switchboard_protocol::observe::Summary;
use switchboard_protocol::sse;

use crate::{RequestOptions, ResponseContext, StreamTranslator, TranslateError, Translated};

fn todo_err() -> TranslateError {
    TranslateError::new("", "OpenAI translation is not implemented yet")
}

/// Anthropic Messages request → OpenAI chat request.
pub fn from_anthropic_request(_body: &[u8], _opts: &RequestOptions) -> Result<Translated, TranslateError> {
    Err(todo_err())
}

/// OpenAI chat request → Anthropic Messages request.
pub fn to_anthropic_request(_body: &[u8], _opts: &RequestOptions) -> Result<Translated, TranslateError> {
    Err(todo_err())
}

/// OpenAI chat completion → Anthropic message.
pub fn to_anthropic_response(_body: &[u8], _ctx: &ResponseContext) -> Result<(Vec<u8>, Summary), TranslateError> {
    Err(todo_err())
}

/// Anthropic message → OpenAI chat completion.
pub fn from_anthropic_response(_body: &[u8], _ctx: &ResponseContext) -> Result<(Vec<u8>, Summary), TranslateError> {
    Err(todo_err())
}

/// OpenAI chunks → Anthropic events.
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

/// Anthropic events → OpenAI chunks.
pub struct FromAnthropicStream {
    summary: Summary,
}

impl FromAnthropicStream {
    #[must_use]
    pub fn new(_ctx: ResponseContext) -> Self {
        Self { summary: Summary::default() }
    }
}

impl StreamTranslator for FromAnthropicStream {
    fn push(&mut self, _ev: &sse::Event, _out: &mut Vec<sse::Event>) {}
    fn finish(&mut self, _out: &mut Vec<sse::Event>) {}
    fn summary(&self) -> &Summary {
        &self.summary
    }
}
