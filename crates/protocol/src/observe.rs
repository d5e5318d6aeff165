//! Read-only observers for passthrough traffic: they pick usage, stop reason and errors out of a
//! response without changing a byte of it. Only the events that carry those facts are parsed.

use serde::Deserialize;

use crate::Usage;
use crate::sse::Event;

/// What was learnt from a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub usage: Usage,
    pub stop_reason: Option<String>,
    /// The upstream's own model id, when it reports one.
    pub model: Option<String>,
    /// An error reported inside a 200 response (`event: error`, `data: {"error": …}`).
    pub error: Option<String>,
    /// The stream ended properly (`message_stop`, `[DONE]`).
    pub complete: bool,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
}

/// The split of cache writes by TTL.
#[derive(Deserialize)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    fn into_usage(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_creation_input_tokens: self.cache_creation_input_tokens.unwrap_or(0),
            cache_read_input_tokens: self.cache_read_input_tokens.unwrap_or(0),
            cache_creation_1h_input_tokens: self
                .cache_creation
                .and_then(|c| c.ephemeral_1h_input_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
struct AnthropicMessage {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct MessageStart {
    message: AnthropicMessage,
}

#[derive(Deserialize)]
struct MessageDelta {
    #[serde(default)]
    delta: Option<DeltaBody>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct DeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Observes an Anthropic Messages SSE stream.
#[derive(Debug, Default)]
pub struct AnthropicStreamObserver {
    pub summary: Summary,
}

impl AnthropicStreamObserver {
    /// Look at one event. Only `message_start`, `message_delta`, `message_stop` and `error` are
    /// parsed; content deltas are skipped by name without touching their JSON.
    pub fn observe(&mut self, ev: &Event) {
        let name = ev.event.as_deref().unwrap_or_else(|| sniff_type(&ev.data));
        match name {
            "message_start" => {
                if let Ok(ms) = serde_json::from_str::<MessageStart>(&ev.data) {
                    if let Some(u) = ms.message.usage {
                        self.summary.usage.merge_from(&u.into_usage());
                    }
                    self.summary.model = ms.message.model;
                }
            }
            "message_delta" => {
                if let Ok(md) = serde_json::from_str::<MessageDelta>(&ev.data) {
                    if let Some(u) = md.usage {
                        self.summary.usage.merge_from(&u.into_usage());
                    }
                    if let Some(sr) = md.delta.and_then(|d| d.stop_reason) {
                        self.summary.stop_reason = Some(sr);
                    }
                }
            }
            "message_stop" => self.summary.complete = true,
            "error" => {
                let msg = crate::error::parse_any(ev.data.as_bytes())
                    .map_or_else(|| ev.data.clone(), |(_, m)| m);
                self.summary.error = Some(msg);
            }
            _ => {}
        }
    }
}

/// Finds `"type":"…"` near the start of a data payload (for data-only Anthropic-like streams).
fn sniff_type(data: &str) -> &str {
    for name in ["message_start", "message_delta", "message_stop", "error"] {
        if data.len() < 256 && data.contains(name) {
            return name;
        }
    }
    ""
}

/// Summarises a non-streaming Anthropic Messages response body.
#[must_use]
pub fn anthropic_response(body: &[u8]) -> Summary {
    let mut s = Summary::default();
    if let Ok(m) = serde_json::from_slice::<AnthropicMessage>(body) {
        s.usage = m.usage.map(AnthropicUsage::into_usage).unwrap_or_default();
        s.stop_reason = m.stop_reason;
        s.model = m.model;
        s.complete = true;
    }
    s
}

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<OpenAiPromptDetails>,
    /// DeepSeek reports cache hits here.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OpenAiPromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl OpenAiUsage {
    /// Into Anthropic's definition: cached tokens move out of `input_tokens`.
    fn into_usage(self) -> Usage {
        let cached = self
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .unwrap_or(0);
        Usage {
            input_tokens: self.prompt_tokens.saturating_sub(cached),
            output_tokens: self.completion_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
            cache_creation_1h_input_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct OpenAiChunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<OpenAiChoice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    #[serde(default)]
    finish_reason: Option<String>,
}

/// Observes an OpenAI Chat Completions SSE stream.
#[derive(Debug, Default)]
pub struct OpenAiStreamObserver {
    pub summary: Summary,
}

impl OpenAiStreamObserver {
    /// Look at one event.
    pub fn observe(&mut self, ev: &Event) {
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.summary.complete = true;
            return;
        }
        // Content chunks without usage or finish_reason carry nothing for us; a cheap substring
        // test skips their JSON parse.
        if !(data.contains("\"usage\"")
            || data.contains("finish_reason\":\"")
            || data.contains("\"error\""))
        {
            if self.summary.model.is_none()
                && let Ok(c) = serde_json::from_str::<OpenAiChunk>(data)
            {
                self.summary.model = c.model;
            }
            return;
        }
        if let Ok(c) = serde_json::from_str::<OpenAiChunk>(data) {
            if let Some(u) = c.usage {
                self.summary.usage = u.into_usage();
            }
            if let Some(fr) = c.choices.into_iter().find_map(|ch| ch.finish_reason) {
                self.summary.stop_reason = Some(fr);
            }
            if let Some(e) = c.error {
                self.summary.error = Some(
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .map_or_else(|| e.to_string(), str::to_owned),
                );
            }
            if self.summary.model.is_none() {
                self.summary.model = c.model;
            }
        }
    }
}

/// Summarises a non-streaming OpenAI chat completion body.
#[must_use]
pub fn openai_response(body: &[u8]) -> Summary {
    let mut s = Summary::default();
    if let Ok(c) = serde_json::from_slice::<OpenAiChunk>(body) {
        s.usage = c.usage.map(OpenAiUsage::into_usage).unwrap_or_default();
        s.stop_reason = c.choices.into_iter().find_map(|ch| ch.finish_reason);
        s.model = c.model;
        s.complete = true;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_stream_usage_is_merged_from_start_and_delta() {
        let mut o = AnthropicStreamObserver::default();
        o.observe(&Event::new(
            "message_start",
            r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":10,"cache_creation_input_tokens":3068,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":68,"ephemeral_1h_input_tokens":3000},"output_tokens":1}}}"#,
        ));
        o.observe(&Event::new("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"message_delta"}}"#));
        o.observe(&Event::new(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42,"cache_read_input_tokens":6289}}  "#,
        ));
        o.observe(&Event::new(
            "message_stop",
            r#"{"type":"message_stop"      }"#,
        ));
        assert_eq!(
            o.summary.usage,
            Usage {
                input_tokens: 10,
                output_tokens: 42,
                cache_creation_input_tokens: 3068,
                cache_read_input_tokens: 6289,
                cache_creation_1h_input_tokens: 3000,
            }
        );
        assert_eq!(o.summary.stop_reason.as_deref(), Some("end_turn"));
        assert!(o.summary.complete);
    }

    #[test]
    fn openai_usage_moves_cached_tokens_out_of_input() {
        let mut o = OpenAiStreamObserver::default();
        o.observe(&Event::data(
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
        ));
        o.observe(&Event::data(
            r#"{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}}"#,
        ));
        o.observe(&Event::data("[DONE]"));
        assert_eq!(
            o.summary.usage,
            Usage {
                input_tokens: 40,
                output_tokens: 7,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 60,
                cache_creation_1h_input_tokens: 0,
            }
        );
        assert_eq!(o.summary.stop_reason.as_deref(), Some("stop"));
        assert!(o.summary.complete);
    }
}
