//! Anthropic Messages wire types (`POST /v1/messages`), requests, responses and stream events.
//!
//! Forward compatibility: content blocks, deltas and stream events whose `type` is unknown parse
//! into an `Unknown(serde_json::Value)` variant instead of failing, and serialise back unchanged.
//! Top-level request fields the gateway has no use for (`context_management`, `safeguards`, …)
//! are kept in `extra`. A *known* `type` with a malformed body is still an error, so mistakes are
//! reported rather than silently dropped.
//!
//! Reference: <https://docs.anthropic.com/en/api/messages> and
//! <https://docs.anthropic.com/en/docs/build-with-claude/streaming>.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Deserialises `T` from `value` when its `type` tag is one of `known`; otherwise returns `None`
/// so the caller can keep the value as `Unknown`.
pub(crate) fn parse_known<T: DeserializeOwned, E: serde::de::Error>(
    value: &Value,
    known: &[&str],
) -> Result<Option<T>, E> {
    let tag = value.get("type").and_then(Value::as_str).unwrap_or("");
    if !known.contains(&tag) {
        return Ok(None);
    }
    T::deserialize(value).map(Some).map_err(E::custom)
}

/// A `null` read as the type's default (OpenAI and others send `"tool_calls": null`).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/// A Messages API request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Required by the API; optional here so a missing value is reported by the translator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// `{effort, format}` (effort and structured-outputs betas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// Everything else (`context_management`, `safeguards`, `service_tier`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `system`: a string or a list of text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum System {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// A message role. `system` is not documented but Claude Code sends it inside `messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Content,
}

/// Message content: a string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl Content {
    /// The content as blocks (a string becomes one text block).
    #[must_use]
    pub fn into_blocks(self) -> Vec<ContentBlock> {
        match self {
            Self::Text(text) => vec![ContentBlock::Text(TextBlock::new(text))],
            Self::Blocks(b) => b,
        }
    }
}

/// A content block, in requests and responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text(TextBlock),
    Image(ImageBlock),
    Document(DocumentBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    Thinking(ThinkingBlock),
    RedactedThinking(RedactedThinkingBlock),
    /// Claude Code's tool-search result: `{type: tool_reference, tool_name}`.
    ToolReference(ToolReferenceBlock),
    /// A block type this gateway doesn't know; serialised back unchanged.
    #[serde(untagged)]
    Unknown(Value),
}

const CONTENT_BLOCK_TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "tool_reference",
];

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownBlock {
    Text(TextBlock),
    Image(ImageBlock),
    Document(DocumentBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    Thinking(ThinkingBlock),
    RedactedThinking(RedactedThinkingBlock),
    ToolReference(ToolReferenceBlock),
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        if !value.is_object() {
            return Err(D::Error::custom("content block must be an object"));
        }
        Ok(
            match parse_known::<KnownBlock, D::Error>(&value, CONTENT_BLOCK_TYPES)? {
                Some(KnownBlock::Text(b)) => Self::Text(b),
                Some(KnownBlock::Image(b)) => Self::Image(b),
                Some(KnownBlock::Document(b)) => Self::Document(b),
                Some(KnownBlock::ToolUse(b)) => Self::ToolUse(b),
                Some(KnownBlock::ToolResult(b)) => Self::ToolResult(b),
                Some(KnownBlock::Thinking(b)) => Self::Thinking(b),
                Some(KnownBlock::RedactedThinking(b)) => Self::RedactedThinking(b),
                Some(KnownBlock::ToolReference(b)) => Self::ToolReference(b),
                None => Self::Unknown(value),
            },
        )
    }
}

/// `{type: text, text}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

impl TextBlock {
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cache_control: None,
            citations: None,
        }
    }
}

/// `{type: image, source}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    pub source: ImageSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

/// An image source: `{type: base64, media_type, data}`, `{type: url, url}` or `{type: file, file_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageSource {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ImageSource {
    #[must_use]
    pub fn base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            kind: "base64".into(),
            media_type: Some(media_type.into()),
            data: Some(data.into()),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            kind: "url".into(),
            url: Some(url.into()),
            ..Self::default()
        }
    }
}

/// `{type: document, source, …}` (PDF, plain text, …), kept loosely typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    pub source: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{type: tool_use, id, name, input}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

/// `{type: tool_result, tool_use_id, content, is_error}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ToolResultContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

/// A tool result's content: a string or blocks (text, image, tool_reference, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// `{type: thinking, thinking, signature}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThinkingBlock {
    #[serde(default)]
    pub thinking: String,
    #[serde(default)]
    pub signature: String,
}

/// `{type: redacted_thinking, data}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    #[serde(default)]
    pub data: String,
}

/// `{type: tool_reference, tool_name}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolReferenceBlock {
    pub tool_name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool definition. Custom tools have no `type` (or `"custom"`); server tools have a versioned
/// type such as `web_search_20250305`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defer_loading: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tool {
    /// A server tool (executed by Anthropic: web search, code execution, …), not a custom one.
    #[must_use]
    pub fn is_server_tool(&self) -> bool {
        self.kind.as_deref().is_some_and(|k| k != "custom")
    }
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    None {},
}

/// `thinking`: `{type: enabled, budget_tokens}`, `{type: adaptive}` or `{type: disabled}`, with an
/// optional `display`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thinking {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Thinking {
    /// Thinking is on (`enabled` or `adaptive`).
    #[must_use]
    pub fn is_on(&self) -> bool {
        matches!(self.kind.as_str(), "enabled" | "adaptive")
    }
}

/// `output_config`: `{effort: low|medium|high|max, format: {type: json_schema, schema}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

/// Usage as Anthropic reports it. The three input buckets are disjoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, deserialize_with = "null_default")]
    pub input_tokens: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub cache_creation_input_tokens: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub cache_read_input_tokens: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub output_tokens: u64,
    /// `{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&Usage> for crate::Usage {
    fn from(u: &Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            cache_creation_1h_input_tokens: u
                .cache_creation
                .as_ref()
                .and_then(|c| c.get("ephemeral_1h_input_tokens"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
        }
    }
}

impl From<&crate::Usage> for Usage {
    fn from(u: &crate::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            output_tokens: u.output_tokens,
            cache_creation: (u.cache_creation_1h_input_tokens != 0).then(|| {
                serde_json::json!({
                    "ephemeral_5m_input_tokens": u
                        .cache_creation_input_tokens
                        .saturating_sub(u.cache_creation_1h_input_tokens),
                    "ephemeral_1h_input_tokens": u.cache_creation_1h_input_tokens,
                })
            }),
            extra: Map::new(),
        }
    }
}

/// A Messages API response (`type: message`); also the `message` of `message_start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    #[serde(default = "assistant_role")]
    pub role: String,
    #[serde(default)]
    pub model: String,
    #[serde(default, deserialize_with = "null_default")]
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    #[serde(default)]
    pub usage: Usage,
}

fn message_type() -> String {
    "message".into()
}

fn assistant_role() -> String {
    "assistant".into()
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

/// One SSE event of a Messages stream (the `data:` payload; its `type` is also the `event:` name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessagesResponse,
    },
    ContentBlockStart {
        index: u32,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
    #[serde(untagged)]
    Unknown(Value),
}

const STREAM_EVENT_TYPES: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownEvent {
    MessageStart {
        message: MessagesResponse,
    },
    ContentBlockStart {
        index: u32,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<Usage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
}

impl<'de> Deserialize<'de> for StreamEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(
            match parse_known::<KnownEvent, D::Error>(&value, STREAM_EVENT_TYPES)? {
                Some(KnownEvent::MessageStart { message }) => Self::MessageStart { message },
                Some(KnownEvent::ContentBlockStart {
                    index,
                    content_block,
                }) => Self::ContentBlockStart {
                    index,
                    content_block,
                },
                Some(KnownEvent::ContentBlockDelta { index, delta }) => {
                    Self::ContentBlockDelta { index, delta }
                }
                Some(KnownEvent::ContentBlockStop { index }) => Self::ContentBlockStop { index },
                Some(KnownEvent::MessageDelta { delta, usage }) => {
                    Self::MessageDelta { delta, usage }
                }
                Some(KnownEvent::MessageStop) => Self::MessageStop,
                Some(KnownEvent::Ping) => Self::Ping,
                Some(KnownEvent::Error { error }) => Self::Error { error },
                None => Self::Unknown(value),
            },
        )
    }
}

impl StreamEvent {
    /// The SSE `event:` name, which is the payload's `type`.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Ping => "ping",
            Self::Error { .. } => "error",
            Self::Unknown(v) => v.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// As an SSE event with `event:` and JSON `data:`.
    #[must_use]
    pub fn to_sse(&self) -> crate::sse::Event {
        // Serialising these types cannot fail: every map key is a string.
        let data = serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"));
        crate::sse::Event::new(self.name(), data)
    }
}

/// A `content_block_delta`'s delta.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    /// `citations_delta` and anything newer.
    #[serde(untagged)]
    Unknown(Value),
}

const DELTA_TYPES: &[&str] = &[
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
];

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants mirror Anthropic's delta types"
)]
enum KnownDelta {
    TextDelta {
        #[serde(default)]
        text: String,
    },
    InputJsonDelta {
        #[serde(default)]
        partial_json: String,
    },
    ThinkingDelta {
        #[serde(default)]
        thinking: String,
    },
    SignatureDelta {
        #[serde(default)]
        signature: String,
    },
}

impl<'de> Deserialize<'de> for Delta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(
            match parse_known::<KnownDelta, D::Error>(&value, DELTA_TYPES)? {
                Some(KnownDelta::TextDelta { text }) => Self::TextDelta { text },
                Some(KnownDelta::InputJsonDelta { partial_json }) => {
                    Self::InputJsonDelta { partial_json }
                }
                Some(KnownDelta::ThinkingDelta { thinking }) => Self::ThinkingDelta { thinking },
                Some(KnownDelta::SignatureDelta { signature }) => {
                    Self::SignatureDelta { signature }
                }
                None => Self::Unknown(value),
            },
        )
    }
}

/// `message_delta.delta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `error` object of an error body or `event: error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_blocks_and_events_round_trip() {
        let b: ContentBlock =
            serde_json::from_str(r#"{"type":"server_tool_use","id":"x","name":"web_search"}"#)
                .expect("parse");
        assert!(matches!(b, ContentBlock::Unknown(_)));
        let s = serde_json::to_string(&b).expect("ser");
        assert_eq!(
            s,
            r#"{"id":"x","name":"web_search","type":"server_tool_use"}"#
        );
        let e: StreamEvent =
            serde_json::from_str(r#"{"type":"future_event","x":1}"#).expect("parse");
        assert_eq!(e.name(), "future_event");
    }

    #[test]
    fn known_events_parse_with_padding() {
        let e: StreamEvent =
            serde_json::from_str(r#"{"type":"content_block_stop","index":1        }"#)
                .expect("parse");
        assert_eq!(e, StreamEvent::ContentBlockStop { index: 1 });
        let e: StreamEvent = serde_json::from_str(r#"{"type": "ping"}"#).expect("parse");
        assert_eq!(e.to_sse().data, r#"{"type":"ping"}"#);
    }

    #[test]
    fn malformed_known_block_is_an_error() {
        assert!(serde_json::from_str::<ContentBlock>(r#"{"type":"tool_use","id":1}"#).is_err());
    }

    #[test]
    fn tool_result_content_string_or_blocks() {
        let b: ContentBlock = serde_json::from_str(
            r#"{"type":"tool_result","tool_use_id":"t","content":[{"type":"tool_reference","tool_name":"mcp__a__b"}]}"#,
        )
        .expect("parse");
        let ContentBlock::ToolResult(r) = b else {
            panic!("not a tool_result")
        };
        assert!(matches!(r.content, Some(ToolResultContent::Blocks(_))));
    }
}
