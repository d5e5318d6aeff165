#!/usr/bin/env python3
"""Regenerates the checked-in seed corpora fuzz/corpus/<target>/seed-*.

Sources: the recorded streams and requests in ../shared/fixtures (falling back to
crates/translate/tests/fixtures), crates/*/tests/fixtures, examples/*.toml, the TOML blocks of
docs/*.md and the raw TOML strings of crates/config/tests/config.rs, plus a few hand-written
bodies for shapes no recording covers. Byte 0 of the header-taking targets selects the dialect
pair (see fuzz/src/lib.rs: pair() and header()). Run from anywhere: python3 fuzz/make_seeds.py
"""
import glob
import hashlib
import json
import os
import re
import shutil

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures"))
TESTFIX = os.path.join(ROOT, "crates", "translate", "tests", "fixtures")

A, O, G = 0, 1, 2  # DIALECTS order in lib.rs


def hdr(frm, to, opts=0):
    return bytes([(opts << 4) | (frm * 3 + to)])


def fixture_files(pattern):
    seen = {}
    for base in (SHARED, TESTFIX):
        for p in sorted(glob.glob(os.path.join(base, pattern))):
            rel = os.path.relpath(p, base)
            seen.setdefault(rel, p)
    return [seen[k] for k in sorted(seen)]


def read(p):
    with open(p, "rb") as f:
        return f.read()


def jsonl_to_sse(path, named):
    out = b""
    for line in read(path).decode().splitlines():
        if not line.strip():
            continue
        if named:
            t = json.loads(line).get("type", "")
            out += f"event: {t}\n".encode()
        out += b"data: " + line.encode() + b"\n\n"
    return out


def request_body(path):
    d = json.loads(read(path))
    b = d.get("body")
    if b is None:
        return None
    if isinstance(b, str):
        try:
            b = json.loads(b)
        except ValueError:
            return None
    return json.dumps(b, ensure_ascii=False).encode()


def shrink_claude_code(body):
    """A small Claude-Code-shaped body: 3 tools, short system and tool descriptions."""
    v = json.loads(body)
    if isinstance(v.get("tools"), list):
        v["tools"] = v["tools"][:3]
        for t in v["tools"]:
            if isinstance(t.get("description"), str):
                t["description"] = t["description"][:80]
    if isinstance(v.get("system"), list):
        for b in v["system"]:
            if isinstance(b.get("text"), str):
                b["text"] = b["text"][:120]
    for m in v.get("messages", []):
        if isinstance(m.get("content"), list):
            for b in m["content"]:
                if isinstance(b.get("text"), str):
                    b["text"] = b["text"][:200]
    return json.dumps(v, ensure_ascii=False).encode()


corpora = {}


def add(target, data):
    corpora.setdefault(target, [])
    if data not in corpora[target]:
        corpora[target].append(data)


# ---- streams -------------------------------------------------------------------------------
anthropic_sse = [read(p) for p in fixture_files("anthropic/*.sse")]
anthropic_sse += [jsonl_to_sse(p, True) for p in fixture_files("anthropic/*.chunks.jsonl")]
openai_sse = [read(p) for p in fixture_files("openai/*.sse")]
gemini_sse = [read(p) for p in fixture_files("gemini/*.sse")]
gemini_sse += [jsonl_to_sse(p, False) for p in fixture_files("gemini/*.chunks.jsonl")]

# Hand-made streams for cases the recordings lack.
openai_sse += [
    # parallel tool calls, arguments split mid-token, usage-only final chunk
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"Read","arguments":"{\\"pa"}},{"index":1,"id":"call_b","type":"function","function":{"name":"Bash","arguments":""}}]},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\\":1}"}},{"index":1,"function":{"arguments":"{\\"command\\":\\"ls\\"}"}}]},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}}\n\n'
    b"data: [DONE]\n\n",
    # error mid-stream
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"error":{"message":"rate limited","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}\n\n',
    # abrupt end, no [DONE]
    b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"think"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"length"}]}\n\n',
]
anthropic_sse += [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
]
gemini_sse += [
    b'data: {"candidates":[{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"Read","args":{"p":1}}},{"functionCall":{"name":"Bash","args":{}}}],"role":"model"},"index":0}]}\r\n\r\n'
    b'data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"cachedContentTokenCount":4,"thoughtsTokenCount":2}}\r\n\r\n',
    b'data: {"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}\r\n\r\n',
    b'data: {"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}\r\n\r\n',
]

edge_sse = [
    b"",
    b"\n",
    b"\r\n\r\n",
    b"data: a\rdata: b\r\r",
    b": comment\n\ndata\n\nid: 7\n\nretry: 10\n\n",
    b"event: x\r\ndata: \xc3\xa9\r\n\r\ndata: [DONE]",
    b"data:no-space\n\ndata:  two\n\n",
]

for s in anthropic_sse + openai_sse + gemini_sse + edge_sse:
    add("sse_decoder", b"\x00" + s)
for s in anthropic_sse + openai_sse + gemini_sse:
    add("observe", b"\x00" + s)

for s in openai_sse:
    for opts in (0, 1):
        add("translate_stream", hdr(O, A, opts) + s)
for s in gemini_sse:
    add("translate_stream", hdr(G, A, 1) + s)
    add("translate_stream", hdr(G, O, 0) + s)
for s in anthropic_sse:
    add("translate_stream", hdr(A, O, 0) + s)

# ---- requests ------------------------------------------------------------------------------
anthropic_reqs = []
for p in fixture_files("claude-code/*.json") + fixture_files("gemini/claude-code-*-request.json"):
    b = request_body(p)
    if b and b.startswith(b"{") and b'"messages"' in b:
        anthropic_reqs.append(b)
for p in fixture_files("anthropic/*.request.json"):
    b = request_body(p)
    if b:
        anthropic_reqs.append(b)
small_cc = [shrink_claude_code(b) for b in anthropic_reqs if len(b) > 20000]
anthropic_reqs += small_cc
anthropic_reqs += [
    json.dumps(v).encode()
    for v in [
        {"model": "m", "max_tokens": 64000, "stream": True, "system": "be brief", "stop_sequences": ["END"],
         "temperature": 0.2, "top_p": 0.9, "top_k": 5,
         "messages": [{"role": "user", "content": [
             {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
             {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
             {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}]},
        {"model": "m", "max_tokens": 100, "thinking": {"type": "enabled", "budget_tokens": 2048},
         "tool_choice": {"type": "tool", "name": "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name"},
         "tools": [{"name": "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name",
                    "description": "d", "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                    "properties": {"n": {"type": "integer", "exclusiveMinimum": 0}, "m": {"type": "object", "propertyNames": {"pattern": "^a"},
                    "additionalProperties": {"type": "string", "format": "uri"}}, "k": {"allOf": [{"type": "string"}, {"const": "x"}]}},
                    "required": ["n"], "additionalProperties": False}},
                   {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                   {"name": "Deferred", "description": "d", "defer_loading": True, "input_schema": {"type": "object"}}],
         "messages": [
             {"role": "user", "content": "hi"},
             {"role": "assistant", "content": [
                 {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                 {"type": "redacted_thinking", "data": "xyz"},
                 {"type": "text", "text": "calling"},
                 {"type": "tool_use", "id": "toolu_01", "name": "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name", "input": {"n": 1}},
                 {"type": "tool_use", "id": "toolu_02", "name": "Deferred", "input": {}}]},
             {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": True, "content": "boom"},
                 {"type": "tool_result", "tool_use_id": "toolu_02", "content": [
                     {"type": "text", "text": "ok"},
                     {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
                     {"type": "tool_reference", "tool_name": "Deferred"}]}]},
             {"role": "system", "content": "mid-conversation system"}],
         "metadata": {"user_id": "{\"device_id\":\"d\",\"session_id\":\"s\"}"},
         "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}},
         "context_management": {"edits": [{"type": "clear_thinking_20251015"}]}},
        {"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"}, "system": [{"type": "text", "text": "s"}],
         "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
         "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
    ]
]

openai_reqs = []
for p in fixture_files("openai/*.request.json"):
    b = request_body(p)
    if b:
        openai_reqs.append(b)
openai_reqs += [
    json.dumps(v).encode()
    for v in [
        {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}, "max_completion_tokens": 50,
         "reasoning_effort": "high", "stop": ["x", "y"], "n": 1, "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
         "tool_choice": {"type": "function", "function": {"name": "Read"}},
         "tools": [{"type": "function", "function": {"name": "Read", "description": "r", "parameters": {"type": "object", "properties": {"p": {"type": "string"}}}}}],
         "messages": [
             {"role": "developer", "content": "dev"},
             {"role": "system", "content": [{"type": "text", "text": "sys"}]},
             {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
                                          {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
             {"role": "assistant", "content": None, "reasoning_content": "why", "tool_calls": [
                 {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": "{\"p\":\"a\"}"}},
                 {"id": "call_2", "type": "function", "function": {"name": "Read", "arguments": "not json"}}]},
             {"role": "tool", "tool_call_id": "call_1", "content": "data"},
             {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "more"}]},
             {"role": "user", "content": "go on", "name": "bob"}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 2, "tool_choice": "required",
         "tools": [{"type": "function", "function": {"name": "f"}}]},
    ]
]

gemini_reqs = [request_body(p) for p in fixture_files("gemini/stream-*.request.json")]

for b in anthropic_reqs:
    add("translate_request", hdr(A, O) + b)
    add("translate_request", hdr(A, G) + b)
for b in small_cc:
    add("translate_request", hdr(A, O, 3) + b)  # deepseek preset, clamp 8192
for b in openai_reqs:
    add("translate_request", hdr(O, A) + b)
    add("translate_request", hdr(O, G) + b)
for b in gemini_reqs[:1]:
    add("translate_request", hdr(G, A) + b)  # unsupported pair: an error, not a panic

# ---- non-streaming responses ---------------------------------------------------------------
openai_resps = [
    {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello", "refusal": None}, "finish_reason": "stop"}],
     "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25, "prompt_tokens_details": {"cached_tokens": 8}}},
    {"id": "chatcmpl-2", "object": "chat.completion", "model": "deepseek-reasoner",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "reasoning_content": "think",
                  "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "short_1", "arguments": "{\"a\":1}"}},
                                 {"id": "call_2", "type": "function", "function": {"name": "Bash", "arguments": "{oops"}}]},
                  "finish_reason": "tool_calls"}],
     "usage": {"prompt_tokens": 20, "completion_tokens": 5, "prompt_cache_hit_tokens": 10}},
    {"id": "x", "choices": [{"message": {"content": "cut"}, "finish_reason": "length"}]},
    {"error": {"message": "bad", "type": "invalid_request_error"}},
]
anthropic_resps = [
    {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
     "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "hi"},
                 {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": 1}}],
     "stop_reason": "tool_use", "stop_sequence": None,
     "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 6}},
    {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude", "content": [{"type": "text", "text": "x"}],
     "stop_reason": "stop_sequence", "stop_sequence": "STOP", "usage": {"input_tokens": 1, "output_tokens": 1}},
]
gemini_resps = []
for s in gemini_sse:
    for line in s.decode("utf-8", "replace").splitlines():
        if line.startswith("data: "):
            gemini_resps.append(line[6:].strip().encode())

for v in openai_resps:
    add("translate_response", hdr(O, A, 1) + json.dumps(v).encode())
for v in anthropic_resps:
    add("translate_response", hdr(A, O) + json.dumps(v).encode())
for b in gemini_resps:
    add("translate_response", hdr(G, A, 1) + b)
    add("translate_response", hdr(G, O) + b)
for v in openai_resps + anthropic_resps:
    add("observe", b"\x00" + json.dumps(v).encode())

# ---- error bodies --------------------------------------------------------------------------
errors = [
    (529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    (429, b'{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}'),
    (429, b'[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]'),
    (400, b'{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}'),
    (401, b'{"error":"invalid key"}'),
    (502, b"<html>Bad Gateway</html>"),
    (503, b""),
]
for status, body in errors:
    for frm, to in ((O, A), (A, O), (G, A), (G, O)):
        add("error_parse", status.to_bytes(2, "big") + hdr(frm, to) + body)

# ---- config --------------------------------------------------------------------------------
tomls = [read(p) for p in sorted(glob.glob(os.path.join(ROOT, "examples", "*.toml")))]
for md in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
    for block in re.findall(r"```toml\n(.*?)```", read(md).decode(), re.S):
        tomls.append(block.encode())
cfg_tests = os.path.join(ROOT, "crates", "config", "tests", "config.rs")
if os.path.exists(cfg_tests):
    for block in re.findall(r'r#"(.*?)"#', read(cfg_tests).decode(), re.S):
        if "=" in block:
            tomls.append(block.encode())
for t in tomls:
    add("config", t)

# ---- write ---------------------------------------------------------------------------------
for target, seeds in corpora.items():
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for old in glob.glob(os.path.join(d, "seed-*")):
        if not os.path.basename(old).startswith("seed-regression-"):  # past findings stay
            os.remove(old)
    for s in seeds:
        name = "seed-" + hashlib.sha1(s).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(s)
    print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds))} bytes")
