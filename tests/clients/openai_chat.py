#!/usr/bin/env python3
"""Scenario: official `openai` SDK against ${SWITCHBOARD_URL}/v1/chat/completions.

Steps (all with model $SWITCHBOARD_MODEL, default gpt-4o-mini):
  1. non-streaming, no tools, prompt "Say hello in one short sentence."
       -> choices[0].message.content non-empty, finish_reason "stop", usage.prompt_tokens > 0
  2. streaming, no tools, stream_options={"include_usage": true}
       -> concatenated delta.content non-empty, a finish_reason "stop", and a usage chunk
          (choices == []) with prompt_tokens > 0
  3. non-streaming with tool `get_weather` {location: string, required},
     prompt "TOOL: What is the weather in Paris? Use the get_weather tool."
       -> message.tool_calls[0] type "function", name get_weather, arguments parse as JSON object
          with "location"; finish_reason "tool_calls"; usage.prompt_tokens > 0
  4. same as 3 but streaming + include_usage -> tool call reassembled from deltas (id and name in
     the first delta, arguments concatenated by index), finish_reason "tool_calls", usage chunk
  5. non-streaming follow-up: the assistant tool_calls message + {"role":"tool","tool_call_id",
     "content":"Sunny, 21 C"} -> non-empty content, finish_reason "stop"

The "TOOL" marker lets mock upstreams decide to answer with a tool call.
Env: see _common.py. Output: one JSON line. Exit 0 ok / 1 failure.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Scenario, short  # noqa: E402

try:
    import openai  # noqa: E402
except ImportError as e:  # wrong interpreter: use .venv/bin/python (scripts/setup-test-deps.sh)
    from _common import missing_sdk
    missing_sdk(__file__, e)

PROMPT = "Say hello in one short sentence."
TOOL_PROMPT = "TOOL: What is the weather in Paris? Use the get_weather tool."
TOOL_RESULT = "Sunny, 21 C"
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    },
}]


def collect_stream(stream):
    """Return (content, finish_reasons, tool_calls{index: {...}}, usage, n_chunks)."""
    content, finishes, calls, usage, n = [], [], {}, None, 0
    for chunk in stream:
        n += 1
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices or []:
            d = ch.delta
            if d is not None:
                if d.content:
                    content.append(d.content)
                for tc in d.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": None, "type": None, "name": "", "arguments": ""})
                    if tc.id:
                        slot["id"] = tc.id
                    if tc.type:
                        slot["type"] = tc.type
                    if tc.function is not None:
                        if tc.function.name:
                            slot["name"] += tc.function.name
                        if tc.function.arguments:
                            slot["arguments"] += tc.function.arguments
            if ch.finish_reason:
                finishes.append(ch.finish_reason)
    return "".join(content), finishes, calls, usage, n


def parse_args(s):
    try:
        v = json.loads(s)
    except Exception:
        return None
    return v if isinstance(v, dict) else None


def scenario(sc):
    client = openai.OpenAI(base_url=sc.url + "/v1", api_key=sc.api_key,
                           timeout=sc.timeout, max_retries=sc.max_retries)
    user = [{"role": "user", "content": PROMPT}]
    tool_user = [{"role": "user", "content": TOOL_PROMPT}]

    # 1. non-streaming text
    r = client.chat.completions.create(model=sc.model, messages=user, max_tokens=256)
    c = r.choices[0]
    sc.details["chat"] = {"content": short(c.message.content), "finish_reason": c.finish_reason,
                          "usage": r.usage.model_dump() if r.usage else None}
    sc.check("chat_object", r.object == "chat.completion", r.object)
    sc.check("chat_content", bool((c.message.content or "").strip()))
    sc.check("chat_finish_stop", c.finish_reason == "stop", c.finish_reason)
    sc.check("chat_usage", r.usage is not None and r.usage.prompt_tokens > 0, sc.details["chat"]["usage"])

    # 2. streaming text + include_usage
    text, fins, _, usage, n = collect_stream(client.chat.completions.create(
        model=sc.model, messages=user, max_tokens=256, stream=True,
        stream_options={"include_usage": True}))
    sc.details["chat_stream"] = {"content": short(text), "finish_reasons": fins, "chunks": n,
                                 "usage": usage.model_dump() if usage else None}
    sc.check("chat_stream_content", bool(text.strip()))
    sc.check("chat_stream_finish_stop", "stop" in fins, fins)
    sc.check("chat_stream_usage", usage is not None and usage.prompt_tokens > 0,
             sc.details["chat_stream"]["usage"])

    # 3. non-streaming tool call
    r = client.chat.completions.create(model=sc.model, messages=tool_user, tools=TOOLS, max_tokens=256)
    c = r.choices[0]
    tcs = c.message.tool_calls or []
    sc.details["tool"] = {"finish_reason": c.finish_reason, "content": short(c.message.content),
                          "tool_calls": [tc.model_dump() for tc in tcs],
                          "usage": r.usage.model_dump() if r.usage else None}
    sc.check("tool_calls_present", len(tcs) >= 1)
    tc = tcs[0]
    args = parse_args(tc.function.arguments)
    sc.check("tool_call_type_function", tc.type == "function", tc.type)
    sc.check("tool_call_id", bool(tc.id), tc.id)
    sc.check("tool_call_name", tc.function.name == "get_weather", tc.function.name)
    sc.check("tool_call_args_json", args is not None and isinstance(args.get("location"), str),
             tc.function.arguments)
    sc.check("tool_finish_tool_calls", c.finish_reason == "tool_calls", c.finish_reason)
    sc.check("tool_usage", r.usage is not None and r.usage.prompt_tokens > 0, sc.details["tool"]["usage"])
    first_call = tc

    # 4. streaming tool call + include_usage
    text, fins, calls, usage, n = collect_stream(client.chat.completions.create(
        model=sc.model, messages=tool_user, tools=TOOLS, max_tokens=256, stream=True,
        stream_options={"include_usage": True}))
    sc.details["tool_stream"] = {"finish_reasons": fins, "chunks": n, "tool_calls": calls,
                                 "content": short(text), "usage": usage.model_dump() if usage else None}
    sc.check("tool_stream_calls_present", 0 in calls, list(calls))
    sargs = parse_args(calls[0]["arguments"])
    sc.check("tool_stream_id", bool(calls[0]["id"]), calls[0]["id"])
    sc.check("tool_stream_name", calls[0]["name"] == "get_weather", calls[0]["name"])
    sc.check("tool_stream_args_json", sargs is not None and isinstance(sargs.get("location"), str),
             calls[0]["arguments"])
    sc.check("tool_stream_finish_tool_calls", "tool_calls" in fins, fins)
    sc.check("tool_stream_usage", usage is not None and usage.prompt_tokens > 0,
             sc.details["tool_stream"]["usage"])

    # 5. follow-up with the tool result
    msgs = tool_user + [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": first_call.id, "type": "function",
            "function": {"name": first_call.function.name, "arguments": first_call.function.arguments}}]},
        {"role": "tool", "tool_call_id": first_call.id, "content": TOOL_RESULT},
    ]
    r = client.chat.completions.create(model=sc.model, messages=msgs, tools=TOOLS, max_tokens=256)
    c = r.choices[0]
    sc.details["tool_result"] = {"content": short(c.message.content), "finish_reason": c.finish_reason}
    sc.check("tool_result_content", bool((c.message.content or "").strip()))
    sc.check("tool_result_finish_stop", c.finish_reason == "stop", c.finish_reason)


if __name__ == "__main__":
    sys.exit(Scenario("openai_chat", "gpt-4o-mini").run(scenario))
