//! Admission and body reading (`switchboard_gateway::fuzzing::Harness`): a request's headers
//! through admission — origin, content type, header count and size, credentials against a table
//! of client keys (valid with every limit, revoked, expired) and the gateway token, the key's
//! allowed clients — then its body through the bounded reader, the `model`/`stream` parse, the
//! shape check of a translated body and the key's models and limits.
//!
//! Input: byte 0 picks how the body is cut into chunks; then header lines (`name: value`) up to
//! an empty line; the rest is the body. Invariant: no panic, and no body past the limit is read.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use switchboard_gateway::fuzzing::Harness;

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    // Chunks of 1 to 16 bytes, or the body whole.
    let step = usize::from(cut % 17);
    let chunks: Vec<Bytes> = if step == 0 {
        vec![Bytes::copy_from_slice(body)]
    } else {
        body.chunks(step).map(Bytes::copy_from_slice).collect()
    };
    std::hint::black_box(HARNESS.run(&headers, chunks));
});
