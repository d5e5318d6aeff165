//! Error bodies: `parse_any` on arbitrary bytes, and `translate_error` for every pair.
//!
//! Input: bytes 0-1 = HTTP status (big endian), byte 2 = pair; the rest is the body.
//! Invariants: no panic; the translated body is JSON in the client's error shape; the status is
//! one a client understands (OpenAI clients never see 529).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use serde_json::Value;
use switchboard_fuzz::{Shape, mutate, pair};
use switchboard_protocol::Dialect;
use switchboard_protocol::error::parse_any;
use switchboard_translate::translate_error;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(parse_any(data));
    if data.len() < 3 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let (from, to) = pair(data[2]);
    let body = &data[3..];
    std::hint::black_box(parse_any(body));
    let (code, out) = translate_error(from, to, status, body);
    assert!((400..600).contains(&code), "status {code}");
    let v: Value = serde_json::from_slice(&out).expect("error body is JSON");
    match to {
        Dialect::OpenAiChat => {
            assert_ne!(code, 529, "OpenAI clients get 503 for overload");
            assert!(
                v["error"]["message"].is_string() && v["error"]["type"].is_string(),
                "{v}"
            );
        }
        _ => {
            assert_eq!(v["type"], "error", "{v}");
            assert!(
                v["error"]["message"].is_string() && v["error"]["type"].is_string(),
                "{v}"
            );
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 3, Shape::Json)
});
