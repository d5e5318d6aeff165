//! SSE framing: `Decoder` and `FrameSplitter` fed the same bytes in random splits.
//!
//! Input: byte 0 seeds the split points and picks a line limit, the rest is the stream.
//! Invariants: no panic; decoding is independent of chunking (when no line-limit error is
//! involved); frames + remainder == input, frames are independent of chunking, and when the input
//! ends with a frame terminator the remainder is empty and decoding each frame alone gives the
//! same events as decoding the whole stream.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use switchboard_fuzz::{Rng, Shape, hash, mutate};
use switchboard_protocol::sse::{DecodeError, Decoder, Event, FrameSplitter};

fn chunks<'a>(input: &'a [u8], rng: &mut Rng) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        // Mostly tiny pieces (1-3 bytes, to split "\r\n" and UTF-8), sometimes large ones.
        let n = if rng.chance(3, 4) {
            1 + rng.below(3)
        } else {
            1 + rng.below(rest.len())
        };
        let n = n.min(rest.len());
        if rng.chance(1, 16) {
            out.push(&rest[..0]); // empty pushes are legal
        }
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

fn decode(pieces: &[&[u8]], max_line: usize) -> Result<Vec<Event>, DecodeError> {
    let mut d = Decoder::new(max_line);
    let mut out = Vec::new();
    for p in pieces {
        out.extend(d.push(p)?);
    }
    out.extend(d.finish()?);
    Ok(out)
}

fn split_all(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut s = FrameSplitter::default();
    let mut frames = Vec::new();
    for p in pieces {
        let before = s.pending_len();
        let got = s.push(p);
        let emitted: usize = got.iter().map(|f| f.len()).sum();
        assert_eq!(
            before + p.len(),
            emitted + s.pending_len(),
            "splitter lost or invented bytes"
        );
        frames.extend(got.into_iter().map(|b| b.to_vec()));
    }
    (frames, s.remainder().to_vec())
}

/// Ends with a blank line: the last line terminator is preceded by another line terminator.
fn ends_with_terminator(input: &[u8]) -> bool {
    let Some(rest) = input.strip_suffix(b"\n") else {
        return false; // a trailing "\r" may still become "\r\n"
    };
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    rest.is_empty() || rest.ends_with(b"\n") || rest.ends_with(b"\r")
}

/// A complete frame: its last line terminator ("\r\n", "\n" or "\r") ends a blank line.
fn is_frame(f: &[u8]) -> bool {
    let rest = if let Some(r) = f.strip_suffix(b"\r\n") {
        r
    } else if let Some(r) = f.strip_suffix(b"\n").or_else(|| f.strip_suffix(b"\r")) {
        r
    } else {
        return false;
    };
    rest.is_empty() || rest.ends_with(b"\n") || rest.ends_with(b"\r")
}

fuzz_target!(|data: &[u8]| {
    let Some((&hdr, input)) = data.split_first() else {
        return;
    };
    let mut rng = Rng::new(hash(data) ^ u64::from(hdr));

    // Decoder: chunking must not matter (the default limit is far above any fuzz input).
    let whole = decode(&[input], switchboard_protocol::sse::DEFAULT_MAX_LINE);
    let pieces = chunks(input, &mut rng);
    let split = decode(&pieces, switchboard_protocol::sse::DEFAULT_MAX_LINE);
    assert_eq!(whole, split, "decoding depends on chunking");

    // A small line limit: any result, but no panic, and never more memory than the limit
    // plus one chunk.
    let small = 1 + usize::from(hdr >> 2);
    let _ = decode(&pieces, small);

    // FrameSplitter.
    let (frames1, rest1) = split_all(&[input]);
    let (frames, rest) = split_all(&pieces);
    assert_eq!(frames1, frames, "frames depend on chunking");
    assert_eq!(rest1, rest, "remainder depends on chunking");
    let mut joined: Vec<u8> = frames.concat();
    joined.extend_from_slice(&rest);
    assert_eq!(joined, input, "frames + remainder != input");
    for f in &frames {
        assert!(is_frame(f), "frame without a blank-line terminator: {f:?}");
    }
    if ends_with_terminator(input) {
        assert!(
            rest.is_empty(),
            "input ends with a terminator but {rest:?} is left over"
        );
        assert_eq!(frames.concat(), input);
        // Each frame decodes on its own to the same events as the whole stream.
        if let Ok(all) = &whole {
            let mut per_frame = Vec::new();
            for f in &frames {
                match decode(&[f], switchboard_protocol::sse::DEFAULT_MAX_LINE) {
                    Ok(evs) => per_frame.extend(evs),
                    Err(e) => panic!("frame {f:?} fails alone ({e}) but the stream decodes"),
                }
            }
            assert_eq!(
                &per_frame, all,
                "per-frame decoding differs from whole-stream decoding"
            );
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 1, Shape::Sse)
});
