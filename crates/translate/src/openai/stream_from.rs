//! Anthropic Messages events → OpenAI `chat.completion.chunk` stream.
//!
//! Output: a first chunk with `role: assistant`, content / `reasoning_content` / `tool_calls`
//! chunks, a chunk with `finish_reason`, a usage chunk (`choices: []`) when the client asked for
//! `stream_options.include_usage`, then `data: [DONE]`. An upstream `event: error`, or an end
//! before `message_stop`, becomes a `data: {"error": …}` chunk followed by `[DONE]`.

use serde_json::Value;
use switchboard_protocol::anthropic::{ContentBlock, Delta, StreamEvent};
use switchboard_protocol::error::{ErrorKind, openai_body};
use switchboard_protocol::observe::Summary;
use switchboard_protocol::{Usage, openai as o, sse};

use crate::common::{finish_reason_from_anthropic, unix_now, usage_to_openai};
use crate::tools::restore_name;
use crate::{ResponseContext, StreamTranslator};

use super::response::completion_id;

#[derive(Debug)]
enum Block {
    Text,
    Thinking,
    Tool {
        /// Position among the tool calls (`tool_calls[].index`).
        call_index: u32,
        sent_args: bool,
        /// `content_block_start.input` when it was not empty; sent at the block's end if no
        /// `input_json_delta` came (streams produced from whole calls).
        initial: Option<Value>,
    },
    Other,
}

/// Anthropic events → OpenAI chunks.
#[derive(Debug)]
pub struct FromAnthropicStream {
    ctx: ResponseContext,
    summary: Summary,
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    role_sent: bool,
    done: bool,
    blocks: Vec<(u32, Block)>,
    next_call: u32,
    usage: Usage,
    stop_reason: Option<String>,
}

impl FromAnthropicStream {
    /// A translator for one response; `ctx` comes from the request's translation.
    #[must_use]
    pub fn new(ctx: ResponseContext) -> Self {
        let include_usage = ctx.include_usage;
        Self {
            model: ctx.requested_model.clone(),
            ctx,
            summary: Summary::default(),
            include_usage,
            id: String::new(),
            created: unix_now(),
            role_sent: false,
            done: false,
            blocks: Vec::new(),
            next_call: 0,
            usage: Usage::default(),
            stop_reason: None,
        }
    }

    /// Whether to end with a usage chunk (`choices: []`), as the client's
    /// `stream_options.include_usage` asks (`ResponseContext::include_usage` sets it).
    #[must_use]
    pub fn with_include_usage(mut self, include_usage: bool) -> Self {
        self.include_usage = include_usage;
        self
    }

    fn send(
        &self,
        choices: Vec<o::ChunkChoice>,
        usage: Option<o::Usage>,
        out: &mut Vec<sse::Event>,
    ) {
        let chunk = o::ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            system_fingerprint: None,
            error: None,
        };
        let data = serde_json::to_string(&chunk).unwrap_or_else(|_| String::from("{}"));
        out.push(sse::Event::data(data));
    }

    fn delta(&mut self, delta: o::ChunkDelta, out: &mut Vec<sse::Event>) {
        self.ensure_role(out);
        let choice = o::ChunkChoice {
            index: 0,
            delta,
            finish_reason: None,
            stop_reason: None,
        };
        self.send(vec![choice], None, out);
    }

    fn ensure_role(&mut self, out: &mut Vec<sse::Event>) {
        if self.role_sent {
            return;
        }
        self.role_sent = true;
        if self.id.is_empty() {
            self.id = completion_id("");
        }
        let delta = o::ChunkDelta {
            role: Some("assistant".into()),
            content: Some(String::new()),
            ..o::ChunkDelta::default()
        };
        let choice = o::ChunkChoice {
            index: 0,
            delta,
            finish_reason: None,
            stop_reason: None,
        };
        self.send(vec![choice], None, out);
    }

    fn content(&mut self, text: String, out: &mut Vec<sse::Event>) {
        if !text.is_empty() {
            self.delta(
                o::ChunkDelta {
                    content: Some(text),
                    ..o::ChunkDelta::default()
                },
                out,
            );
        }
    }

    fn reasoning(&mut self, text: String, out: &mut Vec<sse::Event>) {
        if !text.is_empty() {
            self.delta(
                o::ChunkDelta {
                    reasoning_content: Some(text),
                    ..o::ChunkDelta::default()
                },
                out,
            );
        }
    }

    fn arguments(&mut self, call_index: u32, args: String, out: &mut Vec<sse::Event>) {
        let call = o::ToolCallDelta {
            index: call_index,
            id: None,
            kind: None,
            function: Some(o::FunctionCallDelta {
                name: None,
                arguments: Some(args),
            }),
        };
        self.delta(
            o::ChunkDelta {
                tool_calls: Some(vec![call]),
                ..o::ChunkDelta::default()
            },
            out,
        );
    }

    fn block_start(&mut self, index: u32, block: ContentBlock, out: &mut Vec<sse::Event>) {
        let kind = match block {
            ContentBlock::Text(t) => {
                self.content(t.text, out);
                Block::Text
            }
            ContentBlock::Thinking(t) => {
                self.reasoning(t.thinking, out);
                Block::Thinking
            }
            ContentBlock::ToolUse(t) => {
                let call_index = self.next_call;
                self.next_call += 1;
                let call = o::ToolCallDelta {
                    index: call_index,
                    id: Some(t.id),
                    kind: Some("function".into()),
                    function: Some(o::FunctionCallDelta {
                        name: Some(restore_name(&self.ctx.tool_names, &t.name).to_owned()),
                        arguments: Some(String::new()),
                    }),
                };
                self.delta(
                    o::ChunkDelta {
                        tool_calls: Some(vec![call]),
                        ..o::ChunkDelta::default()
                    },
                    out,
                );
                let initial = t
                    .input
                    .as_object()
                    .filter(|m| !m.is_empty())
                    .map(|_| t.input.clone());
                Block::Tool {
                    call_index,
                    sent_args: false,
                    initial,
                }
            }
            _ => Block::Other,
        };
        self.blocks.retain(|(i, _)| *i != index);
        self.blocks.push((index, kind));
    }

    fn block_delta(&mut self, index: u32, delta: Delta, out: &mut Vec<sse::Event>) {
        let block = self
            .blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b);
        match (delta, block) {
            (Delta::TextDelta { text }, _) => self.content(text, out),
            (Delta::ThinkingDelta { thinking }, _) => self.reasoning(thinking, out),
            (
                Delta::InputJsonDelta { partial_json },
                Some(Block::Tool {
                    call_index,
                    sent_args,
                    ..
                }),
            ) if !partial_json.is_empty() => {
                *sent_args = true;
                let call_index = *call_index;
                self.arguments(call_index, partial_json, out);
            }
            _ => {}
        }
    }

    fn block_stop(&mut self, index: u32, out: &mut Vec<sse::Event>) {
        let pending =
            self.blocks
                .iter_mut()
                .find(|(i, _)| *i == index)
                .and_then(|(_, b)| match b {
                    Block::Tool {
                        call_index,
                        sent_args: false,
                        initial,
                    } => initial.take().map(|v| (*call_index, v)),
                    _ => None,
                });
        if let Some((call_index, input)) = pending {
            self.arguments(call_index, input.to_string(), out);
        }
    }

    fn finish_normally(&mut self, out: &mut Vec<sse::Event>) {
        self.ensure_role(out);
        let stop_reason = self
            .stop_reason
            .clone()
            .unwrap_or_else(|| "end_turn".into());
        let any_tool = self
            .blocks
            .iter()
            .any(|(_, b)| matches!(b, Block::Tool { .. }));
        let finish = if any_tool {
            "tool_calls"
        } else {
            finish_reason_from_anthropic(&stop_reason)
        };
        let choice = o::ChunkChoice {
            index: 0,
            delta: o::ChunkDelta::default(),
            finish_reason: Some(finish.into()),
            stop_reason: None,
        };
        self.send(vec![choice], None, out);
        if self.include_usage {
            self.send(Vec::new(), Some(usage_to_openai(&self.usage)), out);
        }
        out.push(sse::Event::data("[DONE]"));
        self.summary.stop_reason = Some(stop_reason);
        self.summary.complete = true;
        self.done = true;
    }

    fn error(&mut self, kind: ErrorKind, message: String, out: &mut Vec<sse::Event>) {
        out.push(sse::Event::data(openai_body(kind, &message).to_string()));
        out.push(sse::Event::data("[DONE]"));
        self.summary.error = Some(message);
        self.done = true;
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<sse::Event>) {
        match ev {
            StreamEvent::MessageStart { message } => {
                if self.id.is_empty() {
                    self.id = completion_id(&message.id);
                }
                if self.model.is_empty() {
                    self.model.clone_from(&message.model);
                }
                if !message.model.is_empty() {
                    self.summary.model = Some(message.model);
                }
                self.usage.merge_from(&Usage::from(&message.usage));
                self.summary.usage = self.usage;
                self.ensure_role(out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(index, content_block, out),
            StreamEvent::ContentBlockDelta { index, delta } => self.block_delta(index, delta, out),
            StreamEvent::ContentBlockStop { index } => self.block_stop(index, out),
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(sr) = delta.stop_reason {
                    self.stop_reason = Some(sr);
                }
                if let Some(u) = usage {
                    self.usage.merge_from(&Usage::from(&u));
                    self.summary.usage = self.usage;
                }
            }
            StreamEvent::MessageStop => self.finish_normally(out),
            StreamEvent::Error { error } => {
                let kind = ErrorKind::from_type_str(&error.kind).unwrap_or(ErrorKind::Api);
                self.error(kind, error.message, out);
            }
            StreamEvent::Ping | StreamEvent::Unknown(_) => {}
        }
    }
}

impl StreamTranslator for FromAnthropicStream {
    fn push(&mut self, ev: &sse::Event, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        match serde_json::from_str::<StreamEvent>(data) {
            Ok(parsed) => self.event(parsed, out),
            Err(e) => self.error(
                ErrorKind::Api,
                format!("upstream sent a malformed event: {e}"),
                out,
            ),
        }
    }

    fn finish(&mut self, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        if self.stop_reason.is_some() {
            // `message_delta` arrived, only `message_stop` is missing: the answer is whole.
            self.finish_normally(out);
        } else {
            self.error(
                ErrorKind::Api,
                "upstream stream ended before message_stop".into(),
                out,
            );
        }
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}
