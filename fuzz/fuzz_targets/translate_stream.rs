//! Streaming translators: arbitrary upstream event sequences through every
//! `stream_translator(from, to, ctx)`.
//!
//! Input: byte 0 = pair (low nibble, see `switchboard_fuzz::pair`) and context options (high
//! nibble: thinking, tool-name map, stop sequences, requested model + include_usage); the rest is
//! the upstream SSE stream. Invariants: no panic; pairs without a translator give `None`; the
//! client always receives a valid event sequence for its API (Anthropic: `check_anthropic_stream`,
//! OpenAI: `check_openai_stream`), however the upstream stream is malformed or truncated.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use switchboard_fuzz::{
    Shape, check_anthropic_stream, check_openai_stream, decode_events, mutate, pair, show,
};
use switchboard_protocol::Dialect;
use switchboard_translate::{ResponseContext, stream_translator};

fuzz_target!(|data: &[u8]| {
    let Some((&hdr, payload)) = data.split_first() else {
        return;
    };
    let (from, to) = pair(hdr);
    let opts = hdr >> 4;
    let ctx = ResponseContext {
        requested_model: if opts & 8 == 0 {
            "claude-sonnet-4-5".into()
        } else {
            String::new()
        },
        stream: true,
        tool_names: if opts & 2 == 0 {
            Vec::new()
        } else {
            vec![
                (
                    "mcp__srv__tool_3f2a".into(),
                    "mcp__a_very_long_server_name__with_a_tool_name_longer_than_sixty_four".into(),
                ),
                ("get_weather".into(), "Weather".into()),
            ]
        },
        stop_sequences: if opts & 4 == 0 {
            Vec::new()
        } else {
            vec!["STOP".into(), "".into(), "\n\nHuman:".into()]
        },
        thinking: opts & 1 == 1,
        // OpenAI clients: with and without the final usage chunk.
        include_usage: opts & 8 == 0,
        ..ResponseContext::default()
    };
    let Some(mut t) = stream_translator(from, to, ctx) else {
        assert!(
            from == to || to == Dialect::Gemini,
            "no translator for {from} -> {to}"
        );
        return;
    };
    let events = decode_events(payload);
    let mut out = Vec::new();
    for ev in &events {
        t.push(ev, &mut out);
        std::hint::black_box(t.summary());
    }
    t.finish(&mut out);
    std::hint::black_box(t.summary());
    let verdict = match to {
        Dialect::Anthropic => check_anthropic_stream(&out),
        Dialect::OpenAiChat => check_openai_stream(&out),
        Dialect::Gemini => Ok(()),
    };
    if let Err(e) = verdict {
        panic!(
            "{from} -> {to}: invalid client stream: {e}\n--- upstream ---\n{}\n--- client ---\n{}",
            show(&events),
            show(&out)
        );
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 1, Shape::Sse)
});
