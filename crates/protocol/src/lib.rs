//! Wire-level vocabulary of Switchboard: the three API dialects, Server-Sent Events framing,
//! the shared [`Usage`] record and the error bodies each dialect expects.
//!
//! This crate owns *shapes*, never behaviour that touches the outside world: no tokio, no sockets,
//! no files. Everything here is synchronous and can be tested with plain `#[test]`s.
//!
//! - [`Dialect`]: which wire protocol a request or an endpoint speaks.
//! - [`sse`]: an incremental SSE [`sse::Decoder`] (bytes in, events out, however the bytes are split)
//!   and [`sse::encode`].
//! - [`Usage`]: token counts in Anthropic's definition (the three input buckets are disjoint).
//! - [`error`]: the error kinds a gateway reports and their bodies in each dialect.
//! - [`observe`]: read-only observers that pick usage and stop reason out of a passthrough stream
//!   or body without re-serialising it.

pub mod anthropic;
pub mod error;
pub mod gemini;
pub mod observe;
pub mod openai;
pub mod sse;

use serde::{Deserialize, Serialize};

/// A wire protocol. An endpoint speaks one; a client request arrives in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    #[serde(rename = "openai")]
    OpenAiChat,
    /// Google Gemini (`generateContent` / `streamGenerateContent?alt=sse`).
    Gemini,
}

impl Dialect {
    /// The name used in config files and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAiChat => "openai",
            Self::Gemini => "gemini",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token usage of one response, in Anthropic's definition: `input_tokens` excludes cache reads and
/// cache writes, so the three input buckets add up to the prompt size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// Of `cache_creation_input_tokens`, those written with the 1-hour TTL (Anthropic's
    /// `usage.cache_creation.ephemeral_1h_input_tokens`), which cost more than 5-minute writes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_creation_1h_input_tokens: u64,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Usage {
    /// Overwrite the fields that `other` reports (non-zero), keeping the rest. Streams report
    /// usage in pieces (`message_start`, then cumulative `message_delta`).
    pub fn merge_from(&mut self, other: &Usage) {
        if other.input_tokens != 0 {
            self.input_tokens = other.input_tokens;
        }
        if other.output_tokens != 0 {
            self.output_tokens = other.output_tokens;
        }
        if other.cache_creation_input_tokens != 0 {
            self.cache_creation_input_tokens = other.cache_creation_input_tokens;
        }
        if other.cache_read_input_tokens != 0 {
            self.cache_read_input_tokens = other.cache_read_input_tokens;
        }
        if other.cache_creation_1h_input_tokens != 0 {
            self.cache_creation_1h_input_tokens = other.cache_creation_1h_input_tokens;
        }
    }

    /// Whether any count is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}
