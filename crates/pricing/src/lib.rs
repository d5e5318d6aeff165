//! What a request cost: the price table shipped as data (`prices.toml`, USD per million tokens),
//! overrides from the config, and the arithmetic over token usage.
//!
//! Pure: no I/O, no clock, no global state. The table is embedded at compile time and parsed
//! once by [`Pricing::builtin`].
//!
//! - [`Pricing`]: the table plus overrides; [`Pricing::cost`] prices a [`Usage`] for a model and
//!   answers `None` for a model it doesn't know (unknown cost is never reported as zero).
//! - [`Price`] / [`Rates`]: one model's rates, with an optional higher tier for long prompts.
//! - [`UsageDefinition`]: how a provider counts input tokens, for callers holding raw counts.
//!
//! # The arithmetic
//!
//! The gateway's [`Usage`] is always in Anthropic's definition: `input_tokens` excludes cache
//! reads and cache writes, so the three input buckets are disjoint and add up to the prompt. The
//! translators move OpenAI's `prompt_tokens_details.cached_tokens` (and Gemini's
//! `cachedContentTokenCount`) out of the prompt count into `cache_read_input_tokens`, so the
//! same formula prices every provider and no token is counted twice:
//!
//! ```text
//! cost = (input × in + output × out + writes_5m × write_5m + writes_1h × write_1h
//!         + cache_read × read) / 1e6
//! ```
//!
//! where `writes_1h` is Anthropic's `usage.cache_creation.ephemeral_1h_input_tokens` and
//! `writes_5m` the rest of `cache_creation_input_tokens` (providers that don't split report all
//! writes at the 5-minute rate). A model with a
//! `long` tier is billed entirely at that tier when its prompt (input + cache writes + cache
//! reads) exceeds the tier's threshold, as Anthropic and Google bill it.

mod matching;

use serde::Deserialize;
pub use switchboard_protocol::Usage;

use crate::matching::{Table, normalize};

/// The built-in table, as shipped.
pub const PRICES_TOML: &str = include_str!("../prices.toml");

/// Prices of one tier, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
}

/// A higher tier for long prompts.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongTier {
    /// Prompts of more than this many tokens (input + cache writes + cache reads) use `rates`.
    pub above: u64,
    #[serde(flatten)]
    pub rates: Rates,
}

/// One model's prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// The table entry (or config key) that matched.
    pub id: String,
    pub rates: Rates,
    pub long: Option<LongTier>,
}

impl Price {
    /// A flat price with no long tier.
    #[must_use]
    pub fn flat(id: impl Into<String>, rates: Rates) -> Self {
        Self {
            id: id.into(),
            rates,
            long: None,
        }
    }

    /// The rates that apply to `usage`: the long tier when its prompt is over the threshold.
    #[must_use]
    pub fn rates_for(&self, usage: &Usage) -> &Rates {
        let prompt = usage
            .input_tokens
            .saturating_add(usage.cache_creation_input_tokens)
            .saturating_add(usage.cache_read_input_tokens);
        match &self.long {
            Some(tier) if prompt > tier.above => &tier.rates,
            _ => &self.rates,
        }
    }

    /// The cost of `usage` (Anthropic definition) in USD: 1-hour cache writes at their own
    /// rate, the other writes at the 5-minute rate.
    #[must_use]
    pub fn cost(&self, usage: &Usage) -> f64 {
        let r = self.rates_for(usage);
        let one_hour = usage
            .cache_creation_1h_input_tokens
            .min(usage.cache_creation_input_tokens);
        let five_min = usage.cache_creation_input_tokens - one_hour;
        let micro = per_token(usage.input_tokens, r.input)
            + per_token(usage.output_tokens, r.output)
            + per_token(five_min, r.cache_write_5m)
            + per_token(one_hour, r.cache_write_1h)
            + per_token(usage.cache_read_input_tokens, r.cache_read);
        micro / 1_000_000.0
    }
}

/// Token counts stay far below 2^53, where `u64 as f64` is exact.
fn per_token(tokens: u64, usd_per_million: f64) -> f64 {
    tokens as f64 * usd_per_million
}

/// How a provider's raw usage counts input tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageDefinition {
    /// Anthropic: `input_tokens` excludes cache reads and writes. The gateway's own [`Usage`]
    /// always uses this definition.
    Anthropic,
    /// OpenAI, Gemini, DeepSeek, xAI…: the prompt count includes the cached tokens (reported as
    /// `cache_read_input_tokens` here), and cache writes, when reported, too.
    PromptIncludesCached,
}

impl UsageDefinition {
    /// `usage` in Anthropic's definition.
    #[must_use]
    pub fn normalize(self, usage: &Usage) -> Usage {
        match self {
            Self::Anthropic => *usage,
            Self::PromptIncludesCached => Usage {
                input_tokens: usage
                    .input_tokens
                    .saturating_sub(usage.cache_read_input_tokens)
                    .saturating_sub(usage.cache_creation_input_tokens),
                ..*usage
            },
        }
    }
}

/// Why a price table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("price table is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("price table entry {0:?} has a negative or non-finite price")]
    BadPrice(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    model: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    #[serde(default, rename = "match")]
    matches: Vec<String>,
    #[serde(flatten)]
    rates: Rates,
    #[serde(default)]
    long: Option<LongTier>,
}

/// The price table in force: config overrides first, then the built-in table.
#[derive(Debug, Clone, Default)]
pub struct Pricing {
    overrides: Table,
    builtin: Table,
}

impl Pricing {
    /// The table shipped with this build. (It is checked by a test, so it always parses; should
    /// it not, the result is an empty table that prices nothing, never a wrong price.)
    #[must_use]
    pub fn builtin() -> Self {
        Self::from_toml(PRICES_TOML).unwrap_or_default()
    }

    /// A table in the format of `prices.toml`.
    ///
    /// # Errors
    /// The text is not a valid table, or a price is negative or not finite.
    pub fn from_toml(text: &str) -> Result<Self, PricingError> {
        let file: File = toml::from_str(text)?;
        let mut builtin = Table::default();
        for e in file.model {
            let price = Price {
                id: e.id.clone(),
                rates: e.rates,
                long: e.long,
            };
            check(&price)?;
            builtin.add(&e.id, &price);
            for m in &e.matches {
                builtin.add(m, &price);
            }
        }
        Ok(Self {
            overrides: Table::default(),
            builtin,
        })
    }

    /// Adds (or replaces) the price of `pattern`: an exact model id or a glob. Overrides are
    /// consulted before the built-in table.
    ///
    /// # Errors
    /// A price is negative or not finite.
    pub fn set(&mut self, pattern: &str, rates: Rates) -> Result<(), PricingError> {
        let price = Price::flat(pattern, rates);
        check(&price)?;
        self.overrides.add(pattern, &price);
        Ok(())
    }

    /// The price of `model`, if known. Matching is case-insensitive, treats `.` like `-`, and
    /// ignores dates, routing prefixes and `[1m]`; see `prices.toml`.
    #[must_use]
    pub fn find(&self, model: &str) -> Option<&Price> {
        let key = normalize(model);
        self.overrides
            .find(&key)
            .or_else(|| self.builtin.find(&key))
    }

    /// The cost in USD of `usage` (Anthropic definition) on `model`; `None` when the model's
    /// price is unknown.
    #[must_use]
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.find(model).map(|p| p.cost(usage))
    }

    /// As [`Pricing::cost`], for usage counted in the provider's own definition.
    #[must_use]
    pub fn cost_as(&self, model: &str, usage: &Usage, definition: UsageDefinition) -> Option<f64> {
        self.cost(model, &definition.normalize(usage))
    }

    /// Number of entries (ids and patterns) in the built-in table and the overrides.
    #[must_use]
    pub fn len(&self) -> usize {
        self.overrides.len() + self.builtin.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn check(p: &Price) -> Result<(), PricingError> {
    let ok = |r: &Rates| {
        [
            r.input,
            r.output,
            r.cache_write_5m,
            r.cache_write_1h,
            r.cache_read,
        ]
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0)
    };
    if ok(&p.rates) && p.long.as_ref().is_none_or(|t| ok(&t.rates)) {
        Ok(())
    } else {
        Err(PricingError::BadPrice(p.id.clone()))
    }
}

#[cfg(test)]
mod tests;
