//! Google Gemini wire types (`generateContent`, `streamGenerateContent?alt=sse`).
//!
//! Field names are camelCase on the wire. Every type is lenient: missing fields default, and the
//! fields this crate doesn't model are kept in `extra` so nothing the API adds later is lost when a
//! value is read and written back. Request-side snake_case spellings (`thought_signature`,
//! `function_call`, …), which the API also accepts, are read as aliases.
//!
//! Reference: <https://ai.google.dev/api/generate-content>, and for Vertex-only streamed function
//! arguments (`partialArgs`, `willContinue`):
//! <https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Content#FunctionCall>.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Sentinel accepted by Gemini in place of a real `thoughtSignature`, for function calls that a
/// different model made (used by CLIProxyAPI and OmniRoute; see OmniRoute#3414).
pub const SKIP_THOUGHT_SIGNATURE: &str = "skip_thought_signature_validator";

/// Body of `generateContent` / `streamGenerateContent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "system_instruction"
    )]
    pub system_instruction: Option<Content>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "tool_config"
    )]
    pub tool_config: Option<ToolConfig>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "generation_config"
    )]
    pub generation_config: Option<GenerationConfig>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One turn: a role (`user` or `model`) and its parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A part is a union on the wire (exactly one of `text`, `inlineData`, `functionCall`, …), with
/// `thought` and `thoughtSignature` beside it. Modelled as optional fields so that unknown part
/// kinds still parse (they land in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `true` on thought summaries (`thinkingConfig.includeThoughts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Opaque signature of the model's reasoning; must be echoed on the same part next turn.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "thought_signature"
    )]
    pub thought_signature: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "inline_data"
    )]
    pub inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "file_data")]
    pub file_data: Option<FileData>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "function_call"
    )]
    pub function_call: Option<FunctionCall>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "function_response"
    )]
    pub function_response: Option<FunctionResponse>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Part {
    /// A plain text part.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Whether this is a thought (reasoning summary) part.
    #[must_use]
    pub fn is_thought(&self) -> bool {
        self.thought == Some(true)
    }
}

/// Inline bytes (base64).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    #[serde(default)]
    pub data: String,
}

/// A file referenced by URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileData {
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "mime_type")]
    pub mime_type: Option<String>,
    #[serde(default, alias = "file_uri")]
    pub file_uri: String,
}

/// A function call predicted by the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// Vertex only: argument fragments streamed incrementally.
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "partial_args")]
    pub partial_args: Vec<PartialArg>,
    /// Vertex only: more fragments of this call follow.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "will_continue"
    )]
    pub will_continue: Option<bool>,
}

/// Vertex streamed function-call argument: a JSON path (RFC 9535, e.g. `$.foo.bar[0]`) and one
/// value. String values arrive in chunks to be appended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialArg {
    #[serde(default, alias = "json_path")]
    pub json_path: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "string_value"
    )]
    pub string_value: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "number_value"
    )]
    pub number_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "bool_value")]
    pub bool_value: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "null_value")]
    pub null_value: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "will_continue"
    )]
    pub will_continue: Option<bool>,
}

/// The result of a function call, sent back in a `user` turn. `response` must be a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub response: Value,
}

/// A tool: here only function declarations are modelled; other kinds (`googleSearch`,
/// `codeExecution`, …) stay in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "function_declarations"
    )]
    pub function_declarations: Vec<FunctionDeclaration>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One callable function. `parameters` is Gemini's OpenAPI-subset schema;
/// `parametersJsonSchema` accepts fuller JSON Schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "parameters_json_schema"
    )]
    pub parameters_json_schema: Option<Value>,
}

/// `toolConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "function_calling_config"
    )]
    pub function_calling_config: Option<FunctionCallingConfig>,
}

/// `toolConfig.functionCallingConfig`: `mode` is `AUTO`, `ANY`, `NONE` (or `VALIDATED`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "allowed_function_names"
    )]
    pub allowed_function_names: Vec<String>,
}

/// `generationConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "max_output_tokens"
    )]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "top_p")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "top_k")]
    pub top_k: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "stop_sequences"
    )]
    pub stop_sequences: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "response_mime_type"
    )]
    pub response_mime_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "response_json_schema"
    )]
    pub response_json_schema: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "thinking_config"
    )]
    pub thinking_config: Option<ThinkingConfig>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `generationConfig.thinkingConfig`: a token budget (Gemini 2.5; `-1` is dynamic) or a level
/// (Gemini 3: `low`, `medium`, `high`, …), and whether thought summaries are returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "thinking_budget"
    )]
    pub thinking_budget: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "thinking_level"
    )]
    pub thinking_level: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "include_thoughts"
    )]
    pub include_thoughts: Option<bool>,
}

/// A `generateContent` response, or one frame of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One candidate answer (the gateway only asks for one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION`, `MALFORMED_FUNCTION_CALL`, … kept as a string
    /// so new reasons don't break parsing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Set when the prompt itself was blocked (then there are no candidates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason_message: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Token counts; cumulative across the frames of a stream.
///
/// `promptTokenCount` includes `cachedContentTokenCount`; `thoughtsTokenCount` is billed as output
/// but is not part of `candidatesTokenCount`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
    #[serde(default)]
    pub total_token_count: u64,
}

impl UsageMetadata {
    /// In Anthropic's definition: cache reads move out of `input_tokens`, thoughts count as
    /// output.
    #[must_use]
    pub fn to_usage(&self) -> crate::Usage {
        crate::Usage {
            input_tokens: self
                .prompt_token_count
                .saturating_sub(self.cached_content_token_count),
            output_tokens: self
                .candidates_token_count
                .saturating_add(self.thoughts_token_count),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: self.cached_content_token_count,
            cache_creation_1h_input_tokens: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stream_frame_and_keeps_unknown_fields() {
        let frame = r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_country","args": {}},"thoughtSignature": "EpwI"}],"role": "model"},"index": 0, "safetyRatings": []}],"usageMetadata": {"promptTokenCount": 29,"candidatesTokenCount": 10,"totalTokenCount": 241,"thoughtsTokenCount": 202, "cachedContentTokenCount": 4},"modelVersion": "gemini-3-pro-preview","responseId": "QUVV"}"#;
        let r: GenerateContentResponse = serde_json::from_str(frame).expect("frame");
        let part = &r.candidates[0].content.as_ref().expect("content").parts[0];
        assert_eq!(part.thought_signature.as_deref(), Some("EpwI"));
        assert_eq!(
            part.function_call.as_ref().map(|f| f.name.as_str()),
            Some("get_country")
        );
        assert!(r.candidates[0].extra.contains_key("safetyRatings"));
        let u = r.usage_metadata.expect("usage").to_usage();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_input_tokens),
            (25, 212, 4)
        );
    }

    #[test]
    fn serialises_camel_case_and_skips_empty_fields() {
        let p = Part {
            thought_signature: Some("s".into()),
            ..Part::text("hi")
        };
        assert_eq!(
            serde_json::to_value(&p).expect("part"),
            serde_json::json!({"text": "hi", "thoughtSignature": "s"})
        );
    }
}
