//! Cost arithmetic against hand-computed cases, and the table's coverage.

use super::*;

fn usage(input: u64, output: u64, cache_write: u64, cache_read: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_creation_input_tokens: cache_write,
        cache_read_input_tokens: cache_read,
        cache_creation_1h_input_tokens: 0,
    }
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("model is priced");
    assert!(
        (actual - expected).abs() < 1e-12,
        "expected {expected}, got {actual}"
    );
}

#[test]
fn builtin_table_parses() {
    let p = Pricing::from_toml(PRICES_TOML).expect("prices.toml");
    assert!(p.len() > 50, "{}", p.len());
    assert!(!Pricing::builtin().is_empty());
}

#[test]
fn plain_input_and_output() {
    // Sonnet 4.5: $3 in, $15 out. 1,000 × 3 + 500 × 15 = 10,500 µ$ = $0.0105.
    close(
        Pricing::builtin().cost("claude-sonnet-4-5", &usage(1_000, 500, 0, 0)),
        0.0105,
    );
}

#[test]
fn cache_writes_and_reads_at_their_own_rates() {
    // Sonnet 4.5, dated id: 10 × 3 + 3,068 × 3.75 + 6,289 × 0.30 + 42 × 15
    //   = 30 + 11,505 + 1,886.7 + 630 = 14,051.7 µ$.
    close(
        Pricing::builtin().cost("claude-sonnet-4-5-20250929", &usage(10, 42, 3_068, 6_289)),
        0.014_051_7,
    );
}

#[test]
fn one_hour_writes_when_known() {
    // Opus 4.5: 1,000 writes of which 400 for 1 h: 600 × 6.25 + 400 × 10 = 7,750 µ$.
    let p = Pricing::builtin();
    let price = p.find("claude-opus-4-5").expect("opus 4.5");
    let cost = price.cost(&Usage {
        cache_creation_1h_input_tokens: 400,
        ..usage(0, 0, 1_000, 0)
    });
    assert!((cost - 0.007_75).abs() < 1e-12, "{cost}");
    // A split larger than the writes it splits is capped, never negative.
    let capped = price.cost(&Usage {
        cache_creation_1h_input_tokens: 5_000,
        ..usage(0, 0, 1_000, 0)
    });
    assert!((capped - 0.01).abs() < 1e-12, "{capped}");
}

#[test]
fn openai_usage_with_cached_tokens_is_not_counted_twice() {
    // OpenAI reports prompt_tokens = 10,000 of which cached_tokens = 8,000, completion 500.
    // The translator hands the gateway input 2,000 + cache_read 8,000 (Anthropic definition).
    // gpt-5: 2,000 × 1.25 + 8,000 × 0.125 + 500 × 10 = 2,500 + 1,000 + 5,000 = 8,500 µ$.
    let p = Pricing::builtin();
    close(p.cost("gpt-5", &usage(2_000, 500, 0, 8_000)), 0.0085);
    // The same usage in OpenAI's own definition (the prompt count includes the cached tokens).
    close(
        p.cost_as(
            "gpt-5",
            &usage(10_000, 500, 0, 8_000),
            UsageDefinition::PromptIncludesCached,
        ),
        0.0085,
    );
    // Priced naively (all 10,000 prompt tokens as input plus the cached ones again) it would be
    // 12,500 + 1,000 + 5,000: the arithmetic must not do that.
    let naive = p
        .cost("gpt-5", &usage(10_000, 500, 0, 8_000))
        .expect("gpt-5");
    assert!(naive > 0.0085);
}

#[test]
fn deepseek_cache_hits() {
    // deepseek-chat: 1,000,000 misses × 0.28 + 1,000,000 hits × 0.028 + 100,000 out × 0.42.
    close(
        Pricing::builtin().cost("deepseek-chat", &usage(1_000_000, 100_000, 0, 1_000_000)),
        0.28 + 0.028 + 0.042,
    );
}

#[test]
fn unknown_model_has_unknown_cost() {
    let p = Pricing::builtin();
    assert_eq!(p.cost("my-local-llama", &usage(1, 1, 0, 0)), None);
    // No loose prefix matching: an unlisted sibling is not priced as its family head.
    assert_eq!(p.cost("gpt-5-ultra", &usage(1, 1, 0, 0)), None);
    assert_eq!(p.cost("claude-fable-5-2", &usage(1, 1, 0, 0)), None);
    // Zero usage of a known model is a known zero.
    assert_eq!(p.cost("gpt-4o", &Usage::default()), Some(0.0));
}

#[test]
fn long_prompt_tier_applies_to_the_whole_request() {
    let p = Pricing::builtin();
    // Haiku 5.5 at exactly 100,000 prompt tokens: still the short tier, 100,000 × 0.10.
    close(p.cost("claude-haiku-5-5", &usage(100_000, 0, 0, 0)), 0.01);
    // Above it, everything at the long tier: 60,000 × 0.50 + 50,000 × 0.05 + 1,000 × 2.50.
    close(
        p.cost("claude-haiku-5-5", &usage(60_000, 1_000, 0, 50_000)),
        (30_000.0 + 2_500.0 + 2_500.0) / 1e6,
    );
    // Gemini 2.5 Pro over 200K: 250,000 × 2.50 + 1,000 × 15.
    close(p.cost("gemini-2.5-pro", &usage(250_000, 1_000, 0, 0)), 0.64);
}

#[test]
fn matching_is_case_insensitive_and_ignores_decorations() {
    let p = Pricing::builtin();
    for (model, entry) in [
        ("Claude-Sonnet-4.5", "claude-sonnet-4-5"),
        (" claude-sonnet-4-5\t", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4-1"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("GPT-5-mini", "gpt-5-mini"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        (
            "gemini-2.5-flash-lite-preview-06-17",
            "gemini-2.5-flash-lite",
        ),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("grok-4-0709", "grok-4"),
        ("kimi-k2-0711-preview", "kimi-k2-0905-preview"),
        ("glm-4.5", "glm-4.6"),
    ] {
        assert_eq!(p.find(model).map(|e| e.id.as_str()), Some(entry), "{model}");
    }
}

#[test]
fn covers_every_family_the_gateway_routes_to() {
    let p = Pricing::builtin();
    for model in [
        "claude-opus-5-5",
        "claude-opus-5",
        "claude-sonnet-5-5",
        "claude-sonnet-5",
        "claude-haiku-5-5",
        "claude-opus-4-8",
        "claude-opus-4-5",
        "claude-opus-4-1",
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
        "claude-sonnet-4-0",
        "claude-haiku-4-5-20251001",
        "claude-3-7-sonnet-20250219",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-haiku-latest",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5-nano",
        "gpt-5.1",
        "o3",
        "o4-mini",
        "gemini-2.0-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-pro-preview",
        "deepseek-chat",
        "deepseek-reasoner",
        "grok-4",
        "grok-3",
        "grok-3-mini",
        "grok-code-fast-1",
        "kimi-k2-0905-preview",
        "kimi-k2-turbo-preview",
        "glm-4.5",
        "glm-4.6",
        "glm-4.5-air",
    ] {
        assert!(p.find(model).is_some(), "{model} is not priced");
    }
}

#[test]
fn overrides_replace_and_extend_the_table() {
    let mut p = Pricing::builtin();
    let rates = Rates {
        input: 1.0,
        output: 2.0,
        cache_write_5m: 1.5,
        cache_write_1h: 1.5,
        cache_read: 0.5,
    };
    p.set("my-model", rates).expect("valid");
    // 1,000 × 1 + 1,000 × 2 + 1,000 × 1.5 + 1,000 × 0.5 = 5,000 µ$.
    close(
        p.cost("my-model", &usage(1_000, 1_000, 1_000, 1_000)),
        0.005,
    );
    // An override of a built-in model wins, dated ids included.
    p.set("claude-sonnet-4-5", rates).expect("valid");
    close(
        p.cost("claude-sonnet-4-5-20250929", &usage(1_000_000, 0, 0, 0)),
        1.0,
    );
    // Globs work in overrides too; the built-in table still answers for the rest.
    p.set("acme-*", rates).expect("valid");
    close(p.cost("ACME-large", &usage(0, 1_000_000, 0, 0)), 2.0);
    close(p.cost("gpt-4o", &usage(1_000_000, 0, 0, 0)), 2.5);
    // A negative price is refused.
    assert!(
        p.set(
            "bad",
            Rates {
                input: -1.0,
                ..rates
            }
        )
        .is_err()
    );
}

#[test]
fn most_specific_glob_wins() {
    let p = Pricing::from_toml(
        r#"
[[model]]
id = "fam"
match = ["fam-*"]
input = 1.0
output = 1.0
cache_write_5m = 1.0
cache_write_1h = 1.0
cache_read = 1.0

[[model]]
id = "fam-pro"
match = ["fam-pro-*"]
input = 9.0
output = 9.0
cache_write_5m = 9.0
cache_write_1h = 9.0
cache_read = 9.0
"#,
    )
    .expect("table");
    assert_eq!(p.find("fam-pro-2").map(|e| e.id.as_str()), Some("fam-pro"));
    assert_eq!(p.find("fam-lite").map(|e| e.id.as_str()), Some("fam"));
}
