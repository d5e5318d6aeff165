//! Request translation: every (from, to) pair through `translate_request`, with arbitrary bytes
//! and (through the structure-aware mutator) structured mutations of real requests.
//!
//! Input: byte 0 = pair (low nibble) and options (high nibble: preset, max_output_tokens clamp);
//! the rest is the client body. Invariants: no panic; an `Ok` body is JSON with a path starting
//! with `/`; tool names sent to OpenAI or Gemini are at most 64 characters and unique, and every
//! shortened name maps back to exactly one client name.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use serde_json::Value;
use switchboard_fuzz::{PRESETS, Shape, mutate, pair};
use switchboard_protocol::Dialect;
use switchboard_translate::{RequestOptions, translate_request};

fuzz_target!(|data: &[u8]| {
    let Some((&hdr, body)) = data.split_first() else {
        return;
    };
    let (from, to) = pair(hdr);
    let opts_bits = hdr >> 4;
    let opts = RequestOptions {
        target_model: if opts_bits & 8 == 0 {
            "target-model".into()
        } else {
            "gemini-2.5-pro".into()
        },
        max_output_tokens: [None, Some(8192), Some(1), Some(0)][usize::from(opts_bits & 3)],
        preset: PRESETS[usize::from(opts_bits >> 1) % PRESETS.len()].map(str::to_owned),
    };
    let Ok(out) = translate_request(from, to, body, &opts) else {
        return;
    };
    assert!(from != to, "{from} -> {to} is passthrough, not translation");
    assert!(out.path.starts_with('/'), "path {:?}", out.path);
    let v: Value = match serde_json::from_slice(&out.body) {
        Ok(v) => v,
        Err(e) => panic!("{from} -> {to}: upstream body is not JSON: {e}"),
    };
    let names: Vec<&str> = match to {
        Dialect::OpenAiChat => v["tools"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["function"]["name"].as_str())
                    .collect()
            })
            .unwrap_or_default(),
        Dialect::Gemini => v["tools"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["functionDeclarations"].as_array())
                    .flatten()
                    .filter_map(|d| d["name"].as_str())
                    .collect()
            })
            .unwrap_or_default(),
        Dialect::Anthropic => Vec::new(),
    };
    for n in &names {
        assert!(
            n.chars().count() <= 64,
            "{from} -> {to}: tool name {n:?} is longer than 64"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (upstream, _client) in &out.ctx.tool_names {
        assert!(
            seen.insert(upstream),
            "{from} -> {to}: upstream name {upstream:?} mapped twice"
        );
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 1, Shape::Json)
});
