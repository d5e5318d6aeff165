//! Small maps shared by the dialects: usage, stop reasons, `max_tokens` clamping, gateway-made
//! ids and thinking signatures.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use switchboard_protocol::{Usage, openai};

/// OpenAI usage → Anthropic's definition. The three input buckets are disjoint: cache reads
/// (`prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens`) and cache
/// writes move out of `input_tokens`, because Claude Code sums the buckets for its context meter.
/// `completion_tokens` already includes reasoning tokens.
#[must_use]
pub(crate) fn usage_from_openai(u: &openai::Usage) -> Usage {
    let details = u.prompt_tokens_details.as_ref();
    let cached = details
        .and_then(|d| d.cached_tokens)
        .filter(|c| *c > 0)
        .or(u.prompt_cache_hit_tokens)
        .unwrap_or(0);
    let written = details.and_then(|d| d.cache_write_tokens).unwrap_or(0);
    Usage {
        input_tokens: u
            .prompt_tokens
            .saturating_sub(cached)
            .saturating_sub(written),
        output_tokens: u.completion_tokens,
        cache_creation_input_tokens: written,
        cache_read_input_tokens: cached,
        cache_creation_1h_input_tokens: 0,
    }
}

/// Anthropic usage → OpenAI's definition (`prompt_tokens` includes the cached buckets).
#[must_use]
pub(crate) fn usage_to_openai(u: &Usage) -> openai::Usage {
    // Counts come from the upstream: saturate rather than overflow (a panic in debug builds,
    // a wrapped total in release).
    let prompt = u
        .input_tokens
        .saturating_add(u.cache_read_input_tokens)
        .saturating_add(u.cache_creation_input_tokens);
    openai::Usage {
        prompt_tokens: prompt,
        completion_tokens: u.output_tokens,
        total_tokens: prompt.saturating_add(u.output_tokens),
        prompt_tokens_details: Some(openai::PromptTokensDetails {
            cached_tokens: Some(u.cache_read_input_tokens),
            cache_write_tokens: None,
        }),
        completion_tokens_details: None,
        prompt_cache_hit_tokens: None,
        prompt_cache_miss_tokens: None,
    }
}

/// OpenAI `finish_reason` → Anthropic `stop_reason`.
#[must_use]
pub(crate) fn stop_reason_from_openai(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
#[must_use]
pub(crate) fn finish_reason_from_anthropic(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// `requested` clamped to the endpoint's limit.
#[must_use]
pub(crate) fn clamp_max_tokens(requested: u32, limit: Option<u32>) -> u32 {
    limit.map_or(requested, |l| requested.min(l))
}

/// The opaque signature the gateway puts on thinking it relays from a non-Anthropic upstream.
/// It is deterministic (a hash of the thinking text) and marked `sb1:` so it can never pass for
/// an Anthropic signature; it only lets the client echo the block back in history.
#[must_use]
pub(crate) fn gateway_signature(thinking: &[u8]) -> String {
    let digest = Sha256::digest(thinking);
    format!(
        "sb1:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18])
    )
}

/// Incremental form of [`gateway_signature`], for streamed thinking.
#[derive(Debug, Default, Clone)]
pub(crate) struct SignatureHasher(Sha256);

impl SignatureHasher {
    pub(crate) fn update(&mut self, text: &str) {
        self.0.update(text.as_bytes());
    }

    pub(crate) fn finish(self) -> String {
        let digest = self.0.finalize();
        format!(
            "sb1:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18])
        )
    }
}

static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh id like `toolu_…` or `msg_…` for something the upstream didn't name. The seed makes
/// it stable for the same upstream response; a process-wide counter keeps two ids from one seed
/// apart.
#[must_use]
pub(crate) fn gateway_id(prefix: &str, seed: &str) -> String {
    let n = ID_COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::digest(format!("{seed}\u{0}{n}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// Seconds since the Unix epoch, for OpenAI's `created` (0 if the clock is before 1970).
#[must_use]
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `fuzz/` (translate_response): upstream counts near `u64::MAX` overflowed the
    /// OpenAI totals (a panic with overflow checks on).
    #[test]
    fn huge_upstream_counts_saturate() {
        let body = br#"{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":18446744073709551615}}"#;
        let ctx = crate::ResponseContext::default();
        let (out, _) = crate::translate_response(
            switchboard_protocol::Dialect::Gemini,
            switchboard_protocol::Dialect::OpenAiChat,
            body,
            &ctx,
        )
        .expect("translates");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["usage"]["total_tokens"], u64::MAX);
        let u = Usage {
            input_tokens: u64::MAX,
            output_tokens: 1,
            cache_creation_input_tokens: 1,
            cache_read_input_tokens: 1,
            cache_creation_1h_input_tokens: 0,
        };
        assert_eq!(usage_to_openai(&u).total_tokens, u64::MAX);
    }

    #[test]
    fn cached_tokens_leave_input() {
        let u = openai::Usage {
            prompt_tokens: 100,
            completion_tokens: 7,
            prompt_tokens_details: Some(openai::PromptTokensDetails {
                cached_tokens: Some(60),
                cache_write_tokens: None,
            }),
            ..openai::Usage::default()
        };
        let a = usage_from_openai(&u);
        assert_eq!(
            (a.input_tokens, a.cache_read_input_tokens, a.output_tokens),
            (40, 60, 7)
        );
        assert_eq!(usage_to_openai(&a).prompt_tokens, 100);
    }

    #[test]
    fn deepseek_cache_hits_count_as_reads() {
        let u = openai::Usage {
            prompt_tokens: 50,
            prompt_cache_hit_tokens: Some(32),
            prompt_tokens_details: Some(openai::PromptTokensDetails::default()),
            ..openai::Usage::default()
        };
        assert_eq!(usage_from_openai(&u).input_tokens, 18);
    }

    #[test]
    fn signatures_are_marked_and_deterministic() {
        let mut h = SignatureHasher::default();
        h.update("ab");
        h.update("c");
        assert_eq!(h.finish(), gateway_signature(b"abc"));
        assert!(gateway_signature(b"x").starts_with("sb1:"));
    }
}
