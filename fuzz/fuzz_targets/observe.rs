//! Passthrough observers: `AnthropicStreamObserver`, `OpenAiStreamObserver` over the SSE events
//! of the input, and `anthropic_response` / `openai_response` over the raw bytes.
//!
//! Input: byte 0 picks how events are made (decoded SSE, or one event per line with the line as
//! data and an arbitrary event name), the rest is the payload. Invariant: no panic.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use switchboard_fuzz::{Shape, decode_events, mutate};
use switchboard_protocol::observe::{
    AnthropicStreamObserver, OpenAiStreamObserver, anthropic_response, openai_response,
};
use switchboard_protocol::sse::Event;

fuzz_target!(|data: &[u8]| {
    let Some((&hdr, payload)) = data.split_first() else {
        return;
    };
    let events: Vec<Event> = if hdr & 1 == 0 {
        decode_events(payload)
    } else {
        // Lossy lines: any text as data, names taken from the first word (or none).
        String::from_utf8_lossy(payload)
            .lines()
            .map(|l| match l.split_once(' ') {
                Some((name, data)) if hdr & 2 == 0 => Event::new(name, data),
                _ => Event::data(l),
            })
            .collect()
    };
    let mut a = AnthropicStreamObserver::default();
    let mut o = OpenAiStreamObserver::default();
    for ev in &events {
        a.observe(ev);
        o.observe(ev);
    }
    std::hint::black_box((&a.summary, &o.summary));
    std::hint::black_box(anthropic_response(payload));
    std::hint::black_box(openai_response(payload));
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 1, Shape::Sse)
});
