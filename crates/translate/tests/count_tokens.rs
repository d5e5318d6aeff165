//! The local `count_tokens` estimate against real counts recorded from the Anthropic API (the
//! `input_tokens` of the responses to these requests). The estimate is a heuristic; this test
//! pins how far off it is, so a change that makes it worse is noticed.

use switchboard_translate::estimate_input_tokens;

fn estimate(name: &str) -> u64 {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/count/{name}.request.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    estimate_input_tokens(v["body"].to_string().as_bytes()).expect("estimate")
}

#[test]
fn estimates_are_within_documented_error_of_recorded_counts() {
    // (fixture, real input_tokens, estimate as documented in docs/providers.md)
    let cases = [
        ("thinking-stream", 43, 49),
        ("redacted-thinking-stream", 92, 78),
        ("text-stream-after-tool-result", 1007, 735),
    ];
    for (name, real, documented) in cases {
        let est = estimate(name);
        assert_eq!(
            est, documented,
            "{name}: update docs/providers.md if the estimator changes"
        );
        let err = (est as f64 - real as f64).abs() / real as f64;
        assert!(
            err <= 0.30,
            "{name}: estimate {est} vs real {real} ({:.0}% off)",
            err * 100.0
        );
    }
}

#[test]
fn rejects_non_json() {
    assert!(estimate_input_tokens(b"nope").is_err());
    assert!(estimate_input_tokens(b"[]").is_err());
}
