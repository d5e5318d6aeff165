#!/usr/bin/env python3
"""Scenario: official `anthropic` SDK, one non-streaming message + one streaming message
(via the SDK's `messages.stream` helper) against ${SWITCHBOARD_URL}/v1/messages.

Checks: text received in both; usage.input_tokens > 0 in both; the stream starts with
message_start and ends with message_stop, with content_block_start/delta/stop and message_delta
in between; the streamed text equals the final accumulated message text.

Env: see _common.py (SWITCHBOARD_URL required; SWITCHBOARD_MODEL default claude-sonnet-5-5).
Prompt sent: "Say hello in one short sentence."  Output: one JSON line. Exit 0 ok / 1 failure.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Scenario, collapse, short  # noqa: E402

try:
    import anthropic  # noqa: E402
except ImportError as e:  # wrong interpreter: use .venv/bin/python (scripts/setup-test-deps.sh)
    from _common import missing_sdk
    missing_sdk(__file__, e)

PROMPT = "Say hello in one short sentence."


def make_client(sc):
    """SWITCHBOARD_AUTH: "sdk" (default) = whatever the pinned SDK does with api_key (2.12.0 sends
    `Authorization: Bearer <key>`), "bearer" = auth_token (also `Authorization: Bearer`),
    "x-api-key" = force the classic `x-api-key: <key>` header with no Authorization header."""
    kw = dict(base_url=sc.url, timeout=sc.timeout, max_retries=sc.max_retries)
    if sc.auth == "bearer":
        kw["auth_token"] = sc.api_key
    elif sc.auth == "x-api-key":
        kw["api_key"] = sc.api_key
        kw["default_headers"] = {"x-api-key": sc.api_key, "Authorization": anthropic.omit}
    else:
        kw["api_key"] = sc.api_key
    sc.details["auth"] = sc.auth
    return anthropic.Anthropic(**kw)


def text_of(msg):
    return "".join(b.text for b in msg.content if getattr(b, "type", None) == "text")


def scenario(sc):
    client = make_client(sc)

    # 1. non-streaming
    msg = client.messages.create(
        model=sc.model,
        max_tokens=256,
        messages=[{"role": "user", "content": PROMPT}],
    )
    text = text_of(msg)
    sc.details["nonstream"] = {
        "id": msg.id, "model": msg.model, "stop_reason": msg.stop_reason, "text": short(text),
        "input_tokens": msg.usage.input_tokens, "output_tokens": msg.usage.output_tokens,
    }
    sc.check("nonstream_type_message", msg.type == "message" and msg.role == "assistant")
    sc.check("nonstream_text", len(text.strip()) > 0)
    sc.check("nonstream_stop_reason", msg.stop_reason is not None, msg.stop_reason)
    sc.check("nonstream_input_tokens", (msg.usage.input_tokens or 0) > 0, msg.usage.input_tokens)

    # 2. streaming via the stream helper
    events = []
    streamed = []
    with client.messages.stream(
        model=sc.model,
        max_tokens=256,
        messages=[{"role": "user", "content": PROMPT}],
    ) as stream:
        for event in stream:
            events.append(event.type)
            if event.type == "text":
                streamed.append(event.text)
        final = stream.get_final_message()
    raw = [e for e in events if e not in ("text", "input_json", "citation", "thinking", "signature")]
    stext = "".join(streamed)
    ftext = text_of(final)
    sc.details["stream"] = {
        "events": collapse(raw), "text": short(stext), "stop_reason": final.stop_reason,
        "input_tokens": final.usage.input_tokens, "output_tokens": final.usage.output_tokens,
    }
    sc.check("stream_starts_with_message_start", raw[:1] == ["message_start"], raw[:3])
    sc.check("stream_ends_with_message_stop", raw[-1:] == ["message_stop"], raw[-3:])
    for name in ("content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
        sc.check(f"stream_has_{name}", name in raw)
    sc.check("stream_text", len(stext.strip()) > 0)
    sc.check("stream_text_matches_final", stext == ftext, f"{short(stext, 60)!r} vs {short(ftext, 60)!r}")
    sc.check("stream_stop_reason", final.stop_reason is not None, final.stop_reason)
    sc.check("stream_input_tokens", (final.usage.input_tokens or 0) > 0, final.usage.input_tokens)


if __name__ == "__main__":
    sys.exit(Scenario("anthropic_basic", "claude-sonnet-5-5").run(scenario))
