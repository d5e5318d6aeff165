//! Anthropic Messages request → OpenAI chat completions request (protocol-notes §4).

use serde_json::Value;
use switchboard_protocol::anthropic::{self as a, ContentBlock};
use switchboard_protocol::openai as o;

use crate::common::clamp_max_tokens;
use crate::tools::{OPENAI_NAMES, ToolNameMap, openai_parameters};
use crate::{RequestOptions, ResponseContext, TranslateError, Translated};

/// Claude Code's first system block, a per-conversation billing marker meaningless elsewhere.
const BILLING_HEADER: &str = "x-anthropic-billing-header";
/// Claude Code's stand-in for tools loaded later through ToolSearch.
const DEFERRED_PLACEHOLDER: &str = "DeferredToolPlaceholder";

/// Provider quirks that change the request shape.
#[derive(Debug, Clone, Copy)]
struct Quirks {
    /// DeepSeek: thinking goes back as `reasoning_content`, `thinking: {type}` switches modes,
    /// and `tool_choice` is rejected by reasoner models.
    deepseek: bool,
    /// o-series and gpt-5: `max_completion_tokens`, reasoning models.
    openai_reasoning: bool,
    /// Known OpenAI models without reasoning (`gpt-4o`, …), which reject `reasoning_effort`.
    openai_plain: bool,
}

impl Quirks {
    fn new(opts: &RequestOptions, model: &str) -> Self {
        let m = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let o_series = m.len() > 1 && m.starts_with('o') && m.as_bytes()[1].is_ascii_digit();
        let deepseek = opts.preset.as_deref() == Some("deepseek");
        Self {
            deepseek,
            openai_reasoning: o_series || m.starts_with("gpt-5"),
            openai_plain: m.starts_with("gpt-4")
                || m.starts_with("gpt-3")
                || m.starts_with("chatgpt-"),
        }
    }
}

/// See [`super::from_anthropic_request`].
pub(super) fn from_anthropic(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    let req: a::MessagesRequest = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("invalid Anthropic request: {e}")))?;
    let model = if opts.target_model.is_empty() {
        req.model.clone()
    } else {
        opts.target_model.clone()
    };
    let quirks = Quirks::new(opts, &model);
    let mut names = ToolNameMap::default();

    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        let text = system_text(system);
        if !text.is_empty() {
            messages.push(o::ChatMessage::new(
                o::Role::System,
                Some(o::MessageContent::Text(text)),
            ));
        }
    }
    for (i, m) in req.messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        match m.role {
            a::Role::System => {
                let text = match &m.content {
                    a::Content::Text(t) => t.clone(),
                    a::Content::Blocks(b) => join_text(b),
                };
                messages.push(o::ChatMessage::new(
                    o::Role::System,
                    Some(o::MessageContent::Text(text)),
                ));
            }
            a::Role::User => user_turn(&m.content, &path, &mut messages)?,
            a::Role::Assistant => {
                if let Some(msg) = assistant_turn(&m.content, quirks, &mut names) {
                    messages.push(msg);
                }
            }
        }
    }

    let tools = tools(req.tools.as_deref(), &mut names)?;
    let has_tools = !tools.is_empty();
    let (tool_choice, parallel_tool_calls) = match (&req.tool_choice, has_tools) {
        (Some(tc), true) => tool_choice(tc, quirks, &mut names),
        _ => (None, None),
    };

    let stop_sequences = req.stop_sequences.clone().unwrap_or_default();
    let max_tokens = req
        .max_tokens
        .map(|m| clamp_max_tokens(m, opts.max_output_tokens));
    let (max_tokens, max_completion_tokens) = if quirks.openai_reasoning {
        (None, max_tokens)
    } else {
        (max_tokens, None)
    };
    let (reasoning_effort, thinking) = reasoning(&req, quirks);
    let stream = req.stream.unwrap_or(false);

    let out = o::ChatRequest {
        model,
        messages,
        max_tokens,
        max_completion_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        n: None,
        stop: (!stop_sequences.is_empty())
            .then(|| o::Stop::Many(stop_sequences.iter().take(4).cloned().collect())),
        stream: stream.then_some(true),
        stream_options: stream.then_some(o::StreamOptions {
            include_usage: Some(true),
        }),
        tools: has_tools.then_some(tools),
        tool_choice,
        parallel_tool_calls,
        user: req.metadata.as_ref().and_then(|m| m.user_id.clone()),
        reasoning_effort,
        response_format: response_format(req.output_config.as_ref()),
        thinking,
        extra: serde_json::Map::new(),
    };
    let body = if opts.preset.as_deref() == Some("openrouter") {
        let mut v =
            serde_json::to_value(&out).map_err(|e| TranslateError::new("", e.to_string()))?;
        super::cache::add_openrouter_hints(body, &mut v);
        serde_json::to_vec(&v)
    } else {
        serde_json::to_vec(&out)
    }
    .map_err(|e| TranslateError::new("", e.to_string()))?;
    Ok(Translated {
        body,
        path: "/chat/completions".into(),
        ctx: ResponseContext {
            requested_model: req.model,
            stream,
            tool_names: names.into_pairs(),
            stop_sequences,
            thinking: req.thinking.as_ref().is_some_and(a::Thinking::is_on),
            include_usage: false,
        },
    })
}

/// The system prompt as one string: text blocks joined by "\n", without Claude Code's billing
/// header.
fn system_text(system: &a::System) -> String {
    match system {
        a::System::Text(t) => t.clone(),
        a::System::Blocks(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text(t) if !t.text.starts_with(BILLING_HEADER) => {
                    Some(t.text.as_str())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn join_text(blocks: &[ContentBlock]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn image_part(source: &a::ImageSource, path: &str) -> Result<o::ContentPart, TranslateError> {
    let url = match source.kind.as_str() {
        "base64" => format!(
            "data:{};base64,{}",
            source.media_type.as_deref().unwrap_or("image/png"),
            source.data.as_deref().unwrap_or("")
        ),
        "url" => source.url.clone().unwrap_or_default(),
        other => {
            return Err(TranslateError::new(
                format!("{path}.source"),
                format!("image source type `{other}` is not supported by the OpenAI chat endpoint"),
            ));
        }
    };
    Ok(o::ContentPart::ImageUrl {
        image_url: o::ImageUrl { url, detail: None },
    })
}

fn document_error(path: &str) -> TranslateError {
    TranslateError::new(
        path,
        "document blocks (PDF) are not supported by the OpenAI chat endpoint",
    )
}

fn tool_reference_text(r: &a::ToolReferenceBlock) -> String {
    format!("Tool {} loaded", r.tool_name)
}

/// Parts as message content: one text part becomes a plain string.
fn parts_content(mut parts: Vec<o::ContentPart>) -> o::MessageContent {
    if let [o::ContentPart::Text { .. }] = parts.as_slice()
        && let Some(o::ContentPart::Text { text }) = parts.pop()
    {
        return o::MessageContent::Text(text);
    }
    o::MessageContent::Parts(parts)
}

/// A user turn: its tool results become `role: tool` messages first (they must follow the
/// assistant's tool calls), then its text and images, plus any images the tool results carried
/// (tool messages take text only), go into one user message.
fn user_turn(
    content: &a::Content,
    path: &str,
    out: &mut Vec<o::ChatMessage>,
) -> Result<(), TranslateError> {
    let blocks = match content {
        a::Content::Text(t) => {
            out.push(o::ChatMessage::new(
                o::Role::User,
                Some(o::MessageContent::Text(t.clone())),
            ));
            return Ok(());
        }
        a::Content::Blocks(b) => b,
    };
    let mut parts = Vec::new();
    let mut moved_images = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content[{j}]");
        match block {
            ContentBlock::Text(t) => parts.push(o::ContentPart::Text {
                text: t.text.clone(),
            }),
            ContentBlock::Image(img) => parts.push(image_part(&img.source, &bpath)?),
            ContentBlock::Document(_) => return Err(document_error(&bpath)),
            ContentBlock::ToolReference(r) => parts.push(o::ContentPart::Text {
                text: tool_reference_text(r),
            }),
            ContentBlock::ToolResult(r) => {
                let (text, images) = tool_result(r, &bpath)?;
                let mut msg =
                    o::ChatMessage::new(o::Role::Tool, Some(o::MessageContent::Text(text)));
                msg.tool_call_id = Some(r.tool_use_id.clone());
                out.push(msg);
                if !images.is_empty() {
                    moved_images.push(o::ContentPart::Text {
                        text: format!("Images returned by tool call {}:", r.tool_use_id),
                    });
                    moved_images.extend(images);
                }
            }
            // Thinking in a user turn, echoed tool_use and unknown blocks have no meaning here.
            ContentBlock::Thinking(_)
            | ContentBlock::RedactedThinking(_)
            | ContentBlock::ToolUse(_)
            | ContentBlock::Unknown(_) => {}
        }
    }
    moved_images.extend(parts);
    if !moved_images.is_empty() {
        out.push(o::ChatMessage::new(
            o::Role::User,
            Some(parts_content(moved_images)),
        ));
    }
    Ok(())
}

/// A tool result's text (with "Error: " when `is_error`) and the images it carried.
fn tool_result(
    r: &a::ToolResultBlock,
    path: &str,
) -> Result<(String, Vec<o::ContentPart>), TranslateError> {
    let mut texts = Vec::new();
    let mut images = Vec::new();
    match &r.content {
        None => {}
        Some(a::ToolResultContent::Text(t)) => texts.push(t.clone()),
        Some(a::ToolResultContent::Blocks(blocks)) => {
            for (k, b) in blocks.iter().enumerate() {
                let bpath = format!("{path}.content[{k}]");
                match b {
                    ContentBlock::Text(t) => texts.push(t.text.clone()),
                    ContentBlock::Image(img) => images.push(image_part(&img.source, &bpath)?),
                    ContentBlock::ToolReference(tr) => texts.push(tool_reference_text(tr)),
                    ContentBlock::Document(_) => return Err(document_error(&bpath)),
                    _ => {}
                }
            }
        }
    }
    let mut text = texts.join("\n");
    if r.is_error == Some(true) {
        text = format!("Error: {text}");
    }
    Ok((text, images))
}

/// An assistant turn: text → `content` (null when there is none), tool_use → `tool_calls` with
/// ids verbatim, thinking → `reasoning_content` for DeepSeek only (else dropped).
fn assistant_turn(
    content: &a::Content,
    quirks: Quirks,
    names: &mut ToolNameMap,
) -> Option<o::ChatMessage> {
    let blocks = match content {
        a::Content::Text(t) => {
            return Some(o::ChatMessage::new(
                o::Role::Assistant,
                Some(o::MessageContent::Text(t.clone())),
            ));
        }
        a::Content::Blocks(b) => b,
    };
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b {
            ContentBlock::Text(t) => texts.push(t.text.as_str()),
            ContentBlock::Thinking(t) if quirks.deepseek => reasoning.push(t.thinking.as_str()),
            ContentBlock::ToolUse(t) => calls.push(o::ToolCall {
                id: t.id.clone(),
                kind: "function".into(),
                function: o::FunctionCall {
                    name: names.map(&t.name, OPENAI_NAMES),
                    arguments: if t.input.is_null() {
                        "{}".into()
                    } else {
                        t.input.to_string()
                    },
                },
            }),
            _ => {}
        }
    }
    if texts.is_empty() && calls.is_empty() && reasoning.is_empty() {
        return None;
    }
    let text = texts.join("");
    let mut msg = o::ChatMessage::new(
        o::Role::Assistant,
        (!text.is_empty() || calls.is_empty()).then_some(o::MessageContent::Text(text)),
    );
    msg.tool_calls = (!calls.is_empty()).then_some(calls);
    msg.reasoning_content = (!reasoning.is_empty()).then(|| reasoning.join(""));
    Some(msg)
}

fn tools(
    tools: Option<&[a::Tool]>,
    names: &mut ToolNameMap,
) -> Result<Vec<o::Tool>, TranslateError> {
    let mut out = Vec::new();
    for (i, t) in tools.unwrap_or_default().iter().enumerate() {
        if t.is_server_tool() {
            let kind = t.kind.as_deref().unwrap_or("");
            let base = kind
                .rsplit_once('_')
                .filter(|(_, v)| v.chars().all(|c| c.is_ascii_digit()))
                .map_or(kind, |(b, _)| b);
            return Err(TranslateError::new(
                format!("tools[{i}]"),
                format!("server tool {base} is not supported by this endpoint"),
            ));
        }
        if t.name == DEFERRED_PLACEHOLDER {
            continue;
        }
        out.push(o::Tool {
            kind: "function".into(),
            function: o::FunctionDef {
                name: names.map(&t.name, OPENAI_NAMES),
                description: t.description.clone(),
                parameters: Some(openai_parameters(t.input_schema.clone())),
                strict: None,
            },
        });
    }
    Ok(out)
}

fn tool_choice(
    tc: &a::ToolChoice,
    quirks: Quirks,
    names: &mut ToolNameMap,
) -> (Option<o::ToolChoice>, Option<bool>) {
    let mode = |s: &str| Some(o::ToolChoice::Mode(s.into()));
    let (choice, disable) = match tc {
        a::ToolChoice::Auto {
            disable_parallel_tool_use,
        } => {
            // `auto` is the default; DeepSeek reasoners reject an explicit tool_choice.
            (
                if quirks.deepseek { None } else { mode("auto") },
                *disable_parallel_tool_use,
            )
        }
        a::ToolChoice::Any {
            disable_parallel_tool_use,
        } => (mode("required"), *disable_parallel_tool_use),
        a::ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        } => (
            Some(o::ToolChoice::Named(o::NamedToolChoice {
                kind: "function".into(),
                function: o::FunctionName {
                    name: names.map(name, OPENAI_NAMES),
                },
            })),
            *disable_parallel_tool_use,
        ),
        a::ToolChoice::None {} => (mode("none"), None),
    };
    (choice, (disable == Some(true)).then_some(false))
}

/// Effort from `output_config.effort`, else from the thinking budget.
fn effort(req: &a::MessagesRequest) -> Option<&'static str> {
    let from_config = req
        .output_config
        .as_ref()
        .and_then(|c| c.effort.as_deref())
        .map(|e| match e {
            "low" | "minimal" => "low",
            "medium" => "medium",
            _ => "high",
        });
    let from_budget = req
        .thinking
        .as_ref()
        .and_then(|t| t.budget_tokens)
        .map(|b| match b {
            0..4096 => "low",
            4096..16384 => "medium",
            _ => "high",
        });
    from_config.or(from_budget)
}

/// `reasoning_effort` and DeepSeek's `thinking`. Thinking off never sends an effort, since
/// "disabled + effort" is a contradiction DeepSeek rejects (anthropics/claude-code#65863).
fn reasoning(req: &a::MessagesRequest, quirks: Quirks) -> (Option<String>, Option<Value>) {
    let on = req.thinking.as_ref().is_some_and(a::Thinking::is_on);
    let disabled = req.thinking.as_ref().is_some_and(|t| t.kind == "disabled");
    if quirks.deepseek {
        if on {
            let effort = effort(req).map(str::to_owned);
            return (effort, Some(serde_json::json!({"type": "enabled"})));
        }
        if disabled {
            return (None, Some(serde_json::json!({"type": "disabled"})));
        }
        return (None, None);
    }
    if on && !quirks.openai_plain {
        let effort = effort(req).unwrap_or("medium");
        return (Some(effort.to_owned()), None);
    }
    (None, None)
}

/// `output_config.format: {type: json_schema, schema}` → `response_format`.
fn response_format(cfg: Option<&a::OutputConfig>) -> Option<Value> {
    let format = cfg?.format.as_ref()?;
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return None;
    }
    let mut schema = format
        .get("schema")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    if let Value::Object(m) = &mut schema {
        m.remove("$schema");
    }
    let mut json_schema = serde_json::Map::new();
    json_schema.insert(
        "name".into(),
        format
            .get("name")
            .cloned()
            .unwrap_or_else(|| Value::String("response".into())),
    );
    json_schema.insert("schema".into(), schema);
    if let Some(strict) = format.get("strict") {
        json_schema.insert("strict".into(), strict.clone());
    }
    Some(serde_json::json!({"type": "json_schema", "json_schema": json_schema}))
}
