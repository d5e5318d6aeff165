//! OpenAI chat completions request → Anthropic Messages request (protocol-notes §4, "Reverse").
//!
//! System and developer messages are hoisted into `system`; consecutive `tool` messages become
//! one user turn of `tool_result` blocks; adjacent turns of the same role are merged so roles
//! alternate as Anthropic requires.

use serde_json::Value;
use switchboard_protocol::anthropic::{self as a, ContentBlock};
use switchboard_protocol::openai as o;

use crate::common::clamp_max_tokens;
use crate::{RequestOptions, ResponseContext, TranslateError, Translated};

/// Anthropic requires `max_tokens`; OpenAI doesn't.
const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;

/// See [`super::to_anthropic_request`].
pub(super) fn to_anthropic(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    let req: o::ChatRequest = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("invalid OpenAI request: {e}")))?;
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::new(
            "n",
            "n > 1 (several choices) is not supported by this endpoint",
        ));
    }

    let mut system = Vec::new();
    let mut turns: Vec<a::Message> = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        match m.role {
            o::Role::System | o::Role::Developer => {
                let text = content_text(m.content.as_ref(), &path)?;
                if !text.is_empty() {
                    system.push(ContentBlock::Text(a::TextBlock::new(text)));
                }
            }
            o::Role::User => {
                let blocks = user_blocks(m.content.as_ref(), &path)?;
                push_turn(&mut turns, a::Role::User, blocks);
            }
            o::Role::Assistant => {
                let blocks = assistant_blocks(m, &path)?;
                push_turn(&mut turns, a::Role::Assistant, blocks);
            }
            o::Role::Tool => {
                let id = m.tool_call_id.clone().ok_or_else(|| {
                    TranslateError::new(
                        format!("{path}.tool_call_id"),
                        "a tool message needs tool_call_id",
                    )
                })?;
                let text = content_text(m.content.as_ref(), &path)?;
                let block = ContentBlock::ToolResult(a::ToolResultBlock {
                    tool_use_id: id,
                    content: Some(a::ToolResultContent::Text(text)),
                    is_error: None,
                    cache_control: None,
                });
                push_turn(&mut turns, a::Role::User, vec![block]);
            }
            o::Role::Function => {
                return Err(TranslateError::new(
                    format!("{path}.role"),
                    "legacy `function` messages are not supported; use `tool` messages",
                ));
            }
        }
    }

    let tools: Vec<a::Tool> = req
        .tools
        .iter()
        .flatten()
        .map(|t| a::Tool {
            name: t.function.name.clone(),
            description: t.function.description.clone(),
            input_schema: Some(
                t.function
                    .parameters
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            ),
            ..a::Tool::default()
        })
        .collect();
    let disable_parallel = (req.parallel_tool_calls == Some(false)).then_some(true);
    let tool_choice = if tools.is_empty() {
        None
    } else {
        tool_choice(req.tool_choice.as_ref(), disable_parallel)?
    };

    let requested = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let max_tokens = clamp_max_tokens(requested, opts.max_output_tokens);
    let thinking = thinking(req.reasoning_effort.as_deref(), max_tokens);
    let stream = req.stream.unwrap_or(false);
    let stop_sequences = req.stop.clone().map(o::Stop::into_vec).unwrap_or_default();
    let model = if opts.target_model.is_empty() {
        req.model.clone()
    } else {
        opts.target_model.clone()
    };

    let out = a::MessagesRequest {
        model,
        messages: turns,
        system: (!system.is_empty()).then_some(a::System::Blocks(system)),
        max_tokens: Some(max_tokens),
        stop_sequences: (!stop_sequences.is_empty()).then(|| stop_sequences.clone()),
        stream: stream.then_some(true),
        // Anthropic accepts 0..=1 (OpenAI 0..=2), and only the default with thinking on.
        temperature: if thinking.is_some() {
            None
        } else {
            req.temperature.map(|t| t.clamp(0.0, 1.0))
        },
        top_p: if thinking.is_some() { None } else { req.top_p },
        top_k: None,
        metadata: req.user.clone().map(|u| a::Metadata {
            user_id: Some(u),
            extra: serde_json::Map::new(),
        }),
        tool_choice,
        tools: (!tools.is_empty()).then_some(tools),
        thinking: thinking.clone(),
        output_config: output_format(req.response_format.as_ref()),
        extra: serde_json::Map::new(),
    };
    let body = serde_json::to_vec(&out).map_err(|e| TranslateError::new("", e.to_string()))?;
    let include_usage = req
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    Ok(Translated {
        body,
        path: "/v1/messages".into(),
        ctx: ResponseContext {
            requested_model: req.model,
            stream,
            tool_names: Vec::new(),
            stop_sequences,
            thinking: thinking.is_some(),
            include_usage,
        },
    })
}

/// Appends blocks as a turn of `role`, merging into the previous turn when it has the same role.
fn push_turn(turns: &mut Vec<a::Message>, role: a::Role, mut blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = turns.last_mut().filter(|t| t.role == role) {
        let mut merged =
            std::mem::replace(&mut last.content, a::Content::Blocks(Vec::new())).into_blocks();
        merged.append(&mut blocks);
        // Anthropic wants a user turn's tool results before its other blocks.
        if role == a::Role::User {
            let (mut results, rest): (Vec<_>, Vec<_>) = merged
                .into_iter()
                .partition(|b| matches!(b, ContentBlock::ToolResult(_)));
            results.extend(rest);
            merged = results;
        }
        last.content = a::Content::Blocks(merged);
        return;
    }
    turns.push(a::Message {
        role,
        content: a::Content::Blocks(blocks),
    });
}

/// Text of a system, developer or tool message (text parts joined by "\n").
fn content_text(content: Option<&o::MessageContent>, path: &str) -> Result<String, TranslateError> {
    Ok(match content {
        None => String::new(),
        Some(o::MessageContent::Text(t)) => t.clone(),
        Some(o::MessageContent::Parts(parts)) => {
            let mut texts = Vec::new();
            for (j, p) in parts.iter().enumerate() {
                match p {
                    o::ContentPart::Text { text } => texts.push(text.as_str()),
                    o::ContentPart::Refusal { refusal } => texts.push(refusal.as_str()),
                    other => return Err(unsupported_part(other, &format!("{path}.content[{j}]"))),
                }
            }
            texts.join("\n")
        }
    })
}

fn unsupported_part(part: &o::ContentPart, path: &str) -> TranslateError {
    let kind = match part {
        o::ContentPart::Unknown(v) => v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        o::ContentPart::ImageUrl { .. } => "image_url".into(),
        o::ContentPart::Text { .. } => "text".into(),
        o::ContentPart::Refusal { .. } => "refusal".into(),
    };
    TranslateError::new(
        path,
        format!("content part type `{kind}` is not supported here"),
    )
}

fn user_blocks(
    content: Option<&o::MessageContent>,
    path: &str,
) -> Result<Vec<ContentBlock>, TranslateError> {
    let parts = match content {
        None => return Ok(Vec::new()),
        Some(o::MessageContent::Text(t)) => {
            return Ok(vec![ContentBlock::Text(a::TextBlock::new(t.clone()))]);
        }
        Some(o::MessageContent::Parts(p)) => p,
    };
    let mut out = Vec::new();
    for (j, p) in parts.iter().enumerate() {
        match p {
            o::ContentPart::Text { text } => {
                out.push(ContentBlock::Text(a::TextBlock::new(text.clone())))
            }
            o::ContentPart::ImageUrl { image_url } => {
                out.push(ContentBlock::Image(a::ImageBlock {
                    source: image_source(
                        &image_url.url,
                        &format!("{path}.content[{j}].image_url.url"),
                    )?,
                    cache_control: None,
                }))
            }
            other => return Err(unsupported_part(other, &format!("{path}.content[{j}]"))),
        }
    }
    Ok(out)
}

/// `data:<mime>;base64,<data>` → a base64 source; anything else is a URL.
fn image_source(url: &str, path: &str) -> Result<a::ImageSource, TranslateError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Ok(a::ImageSource::url(url));
    };
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| TranslateError::new(path, "malformed data URL: no ',' separator"))?;
    let media_type = meta
        .strip_suffix(";base64")
        .ok_or_else(|| TranslateError::new(path, "data URL images must be base64-encoded"))?;
    Ok(a::ImageSource::base64(media_type, data))
}

fn assistant_blocks(m: &o::ChatMessage, path: &str) -> Result<Vec<ContentBlock>, TranslateError> {
    let mut out = Vec::new();
    // Unsigned reasoning can't be sent back to Anthropic as thinking; it is dropped.
    let text = match &m.content {
        None => String::new(),
        Some(o::MessageContent::Text(t)) => t.clone(),
        Some(o::MessageContent::Parts(_)) => content_text(m.content.as_ref(), path)?,
    };
    if !text.is_empty() {
        out.push(ContentBlock::Text(a::TextBlock::new(text)));
    }
    for (k, call) in m.tool_calls.iter().flatten().enumerate() {
        let args = call.function.arguments.trim();
        let input = if args.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(args).map_err(|e| {
                TranslateError::new(
                    format!("{path}.tool_calls[{k}].function.arguments"),
                    format!("arguments are not valid JSON: {e}"),
                )
            })?
        };
        out.push(ContentBlock::ToolUse(a::ToolUseBlock {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input,
            cache_control: None,
        }));
    }
    Ok(out)
}

fn tool_choice(
    tc: Option<&o::ToolChoice>,
    disable: Option<bool>,
) -> Result<Option<a::ToolChoice>, TranslateError> {
    let disable_parallel_tool_use = disable;
    Ok(match tc {
        None => disable.map(|_| a::ToolChoice::Auto {
            disable_parallel_tool_use,
        }),
        Some(o::ToolChoice::Mode(m)) => Some(match m.as_str() {
            "auto" => a::ToolChoice::Auto {
                disable_parallel_tool_use,
            },
            "required" => a::ToolChoice::Any {
                disable_parallel_tool_use,
            },
            "none" => a::ToolChoice::None {},
            other => {
                return Err(TranslateError::new(
                    "tool_choice",
                    format!("unknown tool_choice `{other}`"),
                ));
            }
        }),
        Some(o::ToolChoice::Named(n)) => Some(a::ToolChoice::Tool {
            name: n.function.name.clone(),
            disable_parallel_tool_use,
        }),
    })
}

/// `reasoning_effort` → a thinking budget below `max_tokens`; none when it doesn't fit.
fn thinking(effort: Option<&str>, max_tokens: u32) -> Option<a::Thinking> {
    let budget: u32 = match effort? {
        "low" => 2048,
        "medium" => 8192,
        "high" | "xhigh" => 24576,
        _ => return None, // "none", "minimal"
    };
    let budget = budget.min(max_tokens.saturating_sub(1));
    (budget >= MIN_THINKING_BUDGET).then(|| a::Thinking {
        kind: "enabled".into(),
        budget_tokens: Some(budget),
        display: None,
    })
}

/// `response_format: {type: json_schema, json_schema: {schema}}` → `output_config.format`.
fn output_format(rf: Option<&Value>) -> Option<a::OutputConfig> {
    let rf = rf?;
    if rf.get("type").and_then(Value::as_str) != Some("json_schema") {
        return None;
    }
    let schema = rf.get("json_schema")?.get("schema")?.clone();
    Some(a::OutputConfig {
        effort: None,
        format: Some(serde_json::json!({"type": "json_schema", "schema": schema})),
        extra: serde_json::Map::new(),
    })
}
