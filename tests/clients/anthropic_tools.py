#!/usr/bin/env python3
"""Scenario: official `anthropic` SDK tool round trip against ${SWITCHBOARD_URL}/v1/messages,
done twice: once non-streaming (messages.create) and once streaming (messages.stream helper,
so tool input arrives as input_json_delta and is reassembled by the SDK).

Each round: (1) user prompt + tool `get_weather` {location: string, required} -> expect a
`tool_use` block for get_weather with a dict input containing "location", stop_reason
"tool_use"; (2) send the assistant turn back plus a user `tool_result` for that tool_use_id ->
expect a non-empty text answer.

Prompt sent first: "TOOL: What is the weather in Paris? Use the get_weather tool."
(the "TOOL" marker lets mock upstreams decide to answer with a tool call).
Tool result content sent: "Sunny, 21 C".
Env: see _common.py (SWITCHBOARD_URL required; SWITCHBOARD_MODEL default claude-sonnet-5-5).
Output: one JSON line. Exit 0 ok / 1 failure.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Scenario, collapse, short  # noqa: E402

from anthropic_basic import make_client, text_of  # noqa: E402

PROMPT = "TOOL: What is the weather in Paris? Use the get_weather tool."
TOOL_RESULT = "Sunny, 21 C"
TOOLS = [{
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name"}},
        "required": ["location"],
    },
}]


def call(client, sc, stream, messages, events_out):
    kw = dict(model=sc.model, max_tokens=512, tools=TOOLS, messages=messages)
    if not stream:
        return client.messages.create(**kw)
    with client.messages.stream(**kw) as s:
        for ev in s:
            if ev.type not in ("text", "input_json", "citation", "thinking", "signature"):
                events_out.append(ev.type)
        return s.get_final_message()


def round_trip(client, sc, stream):
    tag = "stream" if stream else "nonstream"
    info = {}
    sc.details[tag] = info
    events1, events2 = [], []

    messages = [{"role": "user", "content": PROMPT}]
    first = call(client, sc, stream, messages, events1)
    uses = [b for b in first.content if b.type == "tool_use"]
    info["turn1"] = {"stop_reason": first.stop_reason, "blocks": [b.type for b in first.content],
                     "input_tokens": first.usage.input_tokens}
    if stream:
        info["turn1"]["events"] = collapse(events1)
    sc.check(f"{tag}_tool_use_block", len(uses) >= 1, info["turn1"]["blocks"])
    tu = uses[0]
    info["turn1"]["tool_use"] = {"id": tu.id, "name": tu.name, "input": tu.input}
    sc.check(f"{tag}_tool_name", tu.name == "get_weather", tu.name)
    sc.check(f"{tag}_tool_id", isinstance(tu.id, str) and len(tu.id) > 0, tu.id)
    sc.check(f"{tag}_tool_input_dict", isinstance(tu.input, dict), type(tu.input).__name__)
    sc.check(f"{tag}_tool_input_location", isinstance(tu.input.get("location"), str), json.dumps(tu.input))
    sc.check(f"{tag}_stop_reason_tool_use", first.stop_reason == "tool_use", first.stop_reason)
    sc.check(f"{tag}_turn1_input_tokens", (first.usage.input_tokens or 0) > 0, first.usage.input_tokens)

    # Echo the assistant turn verbatim (as real agents do) and answer the tool call.
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tu.id, "content": TOOL_RESULT},
    ]})
    second = call(client, sc, stream, messages, events2)
    text = text_of(second)
    info["turn2"] = {"stop_reason": second.stop_reason, "blocks": [b.type for b in second.content],
                     "text": short(text), "input_tokens": second.usage.input_tokens}
    if stream:
        info["turn2"]["events"] = collapse(events2)
    sc.check(f"{tag}_final_text", len(text.strip()) > 0)
    sc.check(f"{tag}_final_stop_reason", second.stop_reason in ("end_turn", "stop_sequence", "max_tokens"),
             second.stop_reason)
    sc.check(f"{tag}_turn2_input_tokens", (second.usage.input_tokens or 0) > 0, second.usage.input_tokens)


def scenario(sc):
    client = make_client(sc)
    round_trip(client, sc, stream=False)
    round_trip(client, sc, stream=True)


if __name__ == "__main__":
    sys.exit(Scenario("anthropic_tools", "claude-sonnet-5-5").run(scenario))
