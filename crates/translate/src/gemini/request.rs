//! Anthropic Messages request → Gemini `generateContent` request.
//!
//! The Anthropic body is read as a `serde_json::Value`, so fields Claude Code adds tomorrow are
//! simply not translated instead of failing the parse. What Gemini cannot express is dropped
//! (`metadata`, `context_management`, `cache_control`, `safeguards`, foreign thinking blocks) or,
//! for server tools, rejected with the field named.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use switchboard_protocol::gemini::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerationConfig, Part, SKIP_THOUGHT_SIGNATURE,
    ThinkingConfig, Tool, ToolConfig,
};

use super::ids::{self, SigKind};
use super::schema;
use crate::tools::{GEMINI_NAMES, ToolNameMap};
use crate::{RequestOptions, ResponseContext, TranslateError, Translated};

/// Gemini takes at most this many stop sequences.
const MAX_STOP_SEQUENCES: usize = 5;

/// Thinking budgets valid for every Gemini 2.5 model (Pro: 128–32768, Flash: 0–24576,
/// Flash-Lite: 512–24576).
const BUDGET_RANGE: (u64, u64) = (1024, 24576);

pub(crate) fn from_anthropic_request(
    body: &[u8],
    opts: &RequestOptions,
) -> Result<Translated, TranslateError> {
    let req: Value = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("request body is not valid JSON: {e}")))?;
    let Some(obj) = req.as_object() else {
        return Err(TranslateError::new(
            "",
            "request body must be a JSON object",
        ));
    };
    let requested_model = obj
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = if opts.target_model.is_empty() {
        &requested_model
    } else {
        &opts.target_model
    };

    let mut tool_names = ToolNameMap::default();
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) => m.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => return Err(TranslateError::new("messages", "must be an array")),
    };
    let tools = tools(obj.get("tools"), messages, &mut tool_names)?;
    let tool_config = if tools.is_empty() {
        None
    } else {
        tool_choice(obj.get("tool_choice"), &mut tool_names)?
    };
    let contents = contents(messages, &mut tool_names)?;
    let (generation_config, thinking) = generation_config(obj, opts, model)?;

    let out = GenerateContentRequest {
        contents,
        system_instruction: system(obj.get("system"))?,
        tools: if tools.is_empty() {
            Vec::new()
        } else {
            vec![Tool {
                function_declarations: tools,
                extra: Map::new(),
            }]
        },
        tool_config,
        generation_config: Some(generation_config),
        extra: Map::new(),
    };
    let body = serde_json::to_vec(&out)
        .map_err(|e| TranslateError::new("", format!("cannot serialise Gemini request: {e}")))?;
    let path = if stream {
        format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/v1beta/models/{model}:generateContent")
    };
    let stop_sequences = obj
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Translated {
        body,
        path,
        ctx: ResponseContext {
            requested_model,
            stream,
            tool_names: tool_names.into_pairs(),
            stop_sequences,
            thinking,
            include_usage: false,
        },
    })
}

/// `system` (string or text blocks) → `systemInstruction`. Claude Code's
/// `x-anthropic-billing-header` block is dropped: it changes every conversation and would defeat
/// Gemini's implicit prefix caching.
fn system(system: Option<&Value>) -> Result<Option<Content>, TranslateError> {
    let parts: Vec<Part> = match system {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![Part::text(s.clone())],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .filter(|t| !t.starts_with("x-anthropic-billing-header"))
            .map(Part::text)
            .collect(),
        Some(_) => {
            return Err(TranslateError::new(
                "system",
                "must be a string or an array",
            ));
        }
    };
    let parts: Vec<Part> = parts
        .into_iter()
        .filter(|p| p.text.as_deref().is_some_and(|t| !t.is_empty()))
        .collect();
    Ok((!parts.is_empty()).then_some(Content { role: None, parts }))
}

/// Names of tools loaded through tool search (`tool_reference` blocks anywhere in the history).
fn referenced_tools(messages: &[Value]) -> HashSet<String> {
    fn walk(v: &Value, out: &mut HashSet<String>) {
        match v {
            Value::Object(o) => {
                if o.get("type").and_then(Value::as_str) == Some("tool_reference")
                    && let Some(n) = o.get("tool_name").and_then(Value::as_str)
                {
                    out.insert(n.to_owned());
                }
                if let Some(c) = o.get("content") {
                    walk(c, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    for m in messages {
        walk(m, &mut out);
    }
    out
}

/// `tools` → function declarations. Server tools can't run here, so they are rejected by name.
/// `DeferredToolPlaceholder` is dropped, and a `defer_loading` tool is declared only once a
/// `tool_reference` in the history has loaded it (Anthropic's tool-search semantics).
fn tools(
    tools: Option<&Value>,
    messages: &[Value],
    map: &mut ToolNameMap,
) -> Result<Vec<FunctionDeclaration>, TranslateError> {
    let Some(Value::Array(tools)) = tools else {
        return Ok(Vec::new());
    };
    let loaded = referenced_tools(messages);
    let mut out = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        if let Some(ty) = tool.get("type").and_then(Value::as_str)
            && ty != "custom"
        {
            let what = if name.is_empty() { ty } else { name };
            return Err(TranslateError::new(
                format!("tools[{i}]"),
                format!("server tool {what} is not supported by this endpoint"),
            ));
        }
        if name.is_empty() {
            return Err(TranslateError::new(
                format!("tools[{i}].name"),
                "is required",
            ));
        }
        let deferred = tool
            .get("defer_loading")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if name == "DeferredToolPlaceholder" || (deferred && !loaded.contains(name)) {
            continue;
        }
        out.push(FunctionDeclaration {
            name: map.map(name, GEMINI_NAMES),
            description: tool
                .get("description")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            parameters: tool.get("input_schema").and_then(schema::clean_parameters),
            parameters_json_schema: None,
        });
    }
    Ok(out)
}

fn tool_choice(
    choice: Option<&Value>,
    map: &mut ToolNameMap,
) -> Result<Option<ToolConfig>, TranslateError> {
    let Some(choice) = choice.filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    let ty = choice
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (mode, allowed) = match ty {
        "auto" => ("AUTO", Vec::new()),
        "any" => ("ANY", Vec::new()),
        "none" => ("NONE", Vec::new()),
        "tool" => {
            let Some(name) = choice.get("name").and_then(Value::as_str) else {
                return Err(TranslateError::new(
                    "tool_choice.name",
                    "is required for type tool",
                ));
            };
            ("ANY", vec![map.map(name, GEMINI_NAMES)])
        }
        other => {
            return Err(TranslateError::new(
                "tool_choice.type",
                format!("unknown tool_choice type {other:?}"),
            ));
        }
    };
    Ok(Some(ToolConfig {
        function_calling_config: Some(FunctionCallingConfig {
            mode: Some(mode.to_owned()),
            allowed_function_names: allowed,
        }),
    }))
}

/// Gemini's role for an Anthropic one. Mid-conversation `system` messages become user text.
fn role(role: &str, i: usize) -> Result<&'static str, TranslateError> {
    match role {
        "user" | "system" => Ok("user"),
        "assistant" => Ok("model"),
        other => Err(TranslateError::new(
            format!("messages[{i}].role"),
            format!("unknown role {other:?}"),
        )),
    }
}

fn blocks_of(content: Option<&Value>) -> Vec<Value> {
    match content {
        Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

fn contents(messages: &[Value], map: &mut ToolNameMap) -> Result<Vec<Content>, TranslateError> {
    // tool_use id → the name Gemini knows the function by, to name the functionResponse.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for m in messages {
        for b in blocks_of(m.get("content")) {
            if b.get("type").and_then(Value::as_str) == Some("tool_use")
                && let (Some(id), Some(name)) = (
                    b.get("id").and_then(Value::as_str),
                    b.get("name").and_then(Value::as_str),
                )
            {
                call_names.insert(id.to_owned(), map.map(name, GEMINI_NAMES));
            }
        }
    }

    let mut out: Vec<Content> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role_str = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let role = role(role_str, i)?;
        let blocks = blocks_of(m.get("content"));
        let parts = if role_str == "system" {
            system_reminder(&blocks)
        } else {
            let mut parts = Vec::new();
            let mut pending_sig: Option<String> = None;
            for (j, b) in blocks.iter().enumerate() {
                let path = format!("messages[{i}].content[{j}]");
                block(b, &path, &call_names, map, &mut pending_sig, &mut parts)?;
            }
            parts
        };
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => out.push(Content {
                role: Some(role.to_owned()),
                parts,
            }),
        }
    }
    // Function responses lead their user turn, answering the model turn just before it.
    for c in &mut out {
        if c.role.as_deref() == Some("user") {
            let (mut responses, rest): (Vec<Part>, Vec<Part>) = c
                .parts
                .drain(..)
                .partition(|p| p.function_response.is_some());
            responses.extend(rest);
            c.parts = responses;
        }
    }
    Ok(out)
}

/// A `role: "system"` message as one user text part. Merging it into `systemInstruction` would
/// change the cached prefix on every turn.
fn system_reminder(blocks: &[Value]) -> Vec<Part> {
    let text: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .collect();
    if text.is_empty() {
        return Vec::new();
    }
    vec![Part::text(format!(
        "<system-reminder>\n{}\n</system-reminder>",
        text.join("\n")
    ))]
}

fn block(
    b: &Value,
    path: &str,
    call_names: &HashMap<String, String>,
    map: &mut ToolNameMap,
    pending_sig: &mut Option<String>,
    parts: &mut Vec<Part>,
) -> Result<(), TranslateError> {
    let ty = b.get("type").and_then(Value::as_str).unwrap_or_default();
    match ty {
        "text" => {
            let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
            if !text.is_empty() || pending_sig.is_some() {
                let mut p = Part::text(text);
                p.thought_signature = pending_sig.take();
                parts.push(p);
            }
        }
        "image" | "document" => parts.extend(media(b, path)?),
        "tool_use" => {
            let id = b.get("id").and_then(Value::as_str).unwrap_or_default();
            let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
            let args = match b.get("input") {
                Some(v @ Value::Object(_)) => v.clone(),
                Some(Value::Null) | None => json!({}),
                Some(other) => json!({ "input": other }),
            };
            let (gemini_id, signature) = match ids::decode_tool_id(id) {
                Some(d) => (d.gemini_id, d.signature),
                // A call some other model made: Gemini 3 would reject it unsigned.
                None => (None, Some(SKIP_THOUGHT_SIGNATURE.to_owned())),
            };
            parts.push(Part {
                function_call: Some(FunctionCall {
                    id: gemini_id,
                    name: map.map(name, GEMINI_NAMES),
                    args: Some(args),
                    ..FunctionCall::default()
                }),
                thought_signature: signature,
                ..Part::default()
            });
        }
        "tool_result" => tool_result(b, path, call_names, parts)?,
        "thinking" => {
            // Only our own signatures carry anything Gemini can use; Anthropic's are dropped.
            let sig = b
                .get("signature")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match ids::decode_thinking_signature(sig) {
                Some((SigKind::Thought, s)) => parts.push(Part {
                    text: Some(
                        b.get("thinking")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ),
                    thought: Some(true),
                    thought_signature: Some(s.to_owned()),
                    ..Part::default()
                }),
                Some((SigKind::Text, s)) => *pending_sig = Some(s.to_owned()),
                None => {}
            }
        }
        "tool_reference" => {
            let name = b
                .get("tool_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            parts.push(Part::text(format!("Tool {name} loaded")));
        }
        // redacted_thinking, server tool blocks, unknown kinds: nothing Gemini can use.
        _ => {}
    }
    Ok(())
}

/// An image or document block → `inlineData` / `fileData` parts (text documents → text).
fn media(b: &Value, path: &str) -> Result<Vec<Part>, TranslateError> {
    let is_doc = b.get("type").and_then(Value::as_str) == Some("document");
    let Some(source) = b.get("source") else {
        return Err(TranslateError::new(format!("{path}.source"), "is required"));
    };
    let default_mime = if is_doc {
        "application/pdf"
    } else {
        "image/png"
    };
    let mime = source.get("media_type").and_then(Value::as_str);
    match source
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "base64" => Ok(vec![Part {
            inline_data: Some(Blob {
                mime_type: mime.unwrap_or(default_mime).to_owned(),
                data: source
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            ..Part::default()
        }]),
        "url" => {
            let url = source
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mime = mime.map(str::to_owned).or_else(|| {
                if is_doc {
                    Some(default_mime.to_owned())
                } else {
                    guess_image_mime(url)
                }
            });
            Ok(vec![Part {
                file_data: Some(FileData {
                    mime_type: mime,
                    file_uri: url.to_owned(),
                }),
                ..Part::default()
            }])
        }
        "text" => {
            let data = source
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(if data.is_empty() {
                Vec::new()
            } else {
                vec![Part::text(data)]
            })
        }
        "content" => {
            let mut parts = Vec::new();
            for (k, inner) in blocks_of(source.get("content")).iter().enumerate() {
                let inner_path = format!("{path}.source.content[{k}]");
                match inner.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = inner.get("text").and_then(Value::as_str) {
                            parts.push(Part::text(t));
                        }
                    }
                    Some("image") => parts.extend(media(inner, &inner_path)?),
                    _ => {}
                }
            }
            Ok(parts)
        }
        other => Err(TranslateError::new(
            format!("{path}.source.type"),
            format!("source type {other:?} is not supported by this endpoint"),
        )),
    }
}

fn guess_image_mime(url: &str) -> Option<String> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit('.').next()?;
    let mime = match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    };
    Some(mime.to_owned())
}

/// A `tool_result` → `functionResponse` (named after the call it answers; `response` is an
/// object: `{content: …}` or `{error: …}`), followed by any images it carried as `inlineData`.
fn tool_result(
    b: &Value,
    path: &str,
    call_names: &HashMap<String, String>,
    parts: &mut Vec<Part>,
) -> Result<(), TranslateError> {
    let id = b
        .get("tool_use_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(name) = call_names.get(id) else {
        return Err(TranslateError::new(
            format!("{path}.tool_use_id"),
            format!("no earlier tool_use with id {id:?}; Gemini matches results by function name"),
        ));
    };
    let gemini_id = ids::decode_tool_id(id).and_then(|d| d.gemini_id);
    let mut texts = Vec::new();
    let mut extra = Vec::new();
    for (k, inner) in blocks_of(b.get("content")).iter().enumerate() {
        match inner.get("type").and_then(Value::as_str) {
            Some("text") => {
                if let Some(t) = inner.get("text").and_then(Value::as_str) {
                    texts.push(t.to_owned());
                }
            }
            Some("image" | "document") => {
                extra.extend(media(inner, &format!("{path}.content[{k}]"))?)
            }
            Some("tool_reference") => {
                let n = inner
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                texts.push(format!("Tool {n} loaded"));
            }
            Some("search_result") => {
                for t in blocks_of(inner.get("content")) {
                    if let Some(t) = t.get("text").and_then(Value::as_str) {
                        texts.push(t.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let text = texts.join("\n");
    let is_error = b.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    let response = if is_error {
        json!({ "error": text })
    } else {
        json!({ "content": text })
    };
    parts.push(Part {
        function_response: Some(FunctionResponse {
            id: gemini_id,
            name: name.clone(),
            response,
        }),
        ..Part::default()
    });
    parts.extend(extra);
    Ok(())
}

fn generation_config(
    obj: &Map<String, Value>,
    opts: &RequestOptions,
    model: &str,
) -> Result<(GenerationConfig, bool), TranslateError> {
    let mut g = GenerationConfig::default();
    if let Some(max) = obj.get("max_tokens").and_then(Value::as_u64) {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        g.max_output_tokens = Some(opts.max_output_tokens.map_or(max, |limit| max.min(limit)));
    }
    g.temperature = obj.get("temperature").and_then(Value::as_f64);
    g.top_p = obj.get("top_p").and_then(Value::as_f64);
    g.top_k = obj
        .get("top_k")
        .and_then(Value::as_u64)
        .and_then(|k| u32::try_from(k).ok());
    if let Some(Value::Array(stops)) = obj.get("stop_sequences") {
        g.stop_sequences = stops
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .take(MAX_STOP_SEQUENCES)
            .map(str::to_owned)
            .collect();
    }

    let output_config = obj.get("output_config");
    if let Some(format) = output_config
        .and_then(|o| o.get("format"))
        .filter(|f| !f.is_null())
    {
        match format.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                g.response_mime_type = Some("application/json".to_owned());
                g.response_json_schema = format.get("schema").map(schema::clean_response_schema);
            }
            other => {
                return Err(TranslateError::new(
                    "output_config.format.type",
                    format!("format {other:?} is not supported by this endpoint"),
                ));
            }
        }
    }

    let effort = output_config
        .and_then(|o| o.get("effort"))
        .and_then(Value::as_str);
    let thinking = obj.get("thinking");
    let thinking_type = thinking.and_then(|t| t.get("type")).and_then(Value::as_str);
    let model = model.to_ascii_lowercase();
    // Gemini 1.x and 2.0 don't think; a thinkingConfig is rejected there.
    let can_think = !(model.contains("gemini-1") || model.contains("gemini-2.0"));
    let level_models = !model.contains("gemini-2");
    let config = match thinking_type {
        Some("enabled") if can_think => {
            let budget = thinking
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64)
                .unwrap_or(BUDGET_RANGE.0)
                .clamp(BUDGET_RANGE.0, BUDGET_RANGE.1);
            let budget = match g.max_output_tokens {
                // Gemini 2.5 counts thoughts inside maxOutputTokens: leave room for the answer.
                Some(max) if u64::from(max) <= budget => u64::from(max / 2).max(BUDGET_RANGE.0),
                _ => budget,
            };
            Some(ThinkingConfig {
                thinking_budget: i64::try_from(budget).ok(),
                thinking_level: None,
                include_thoughts: Some(true),
            })
        }
        Some("adaptive") if can_think => Some(if level_models {
            let level = match effort {
                Some("low") => "low",
                // Gemini 3 Pro accepts only low/high; Flash also has medium.
                Some("medium") if model.contains("flash") => "medium",
                _ => "high",
            };
            ThinkingConfig {
                thinking_budget: None,
                thinking_level: Some(level.to_owned()),
                include_thoughts: Some(true),
            }
        } else {
            // Gemini 2.5 has no levels; -1 is its dynamic ("adaptive") budget.
            ThinkingConfig {
                thinking_budget: Some(-1),
                thinking_level: None,
                include_thoughts: Some(true),
            }
        }),
        _ => None,
    };
    let thinking_on = config.is_some();
    g.thinking_config = config;
    Ok((g, thinking_on))
}
