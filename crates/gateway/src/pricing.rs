//! The price table in force: built-in prices with the config's `[pricing]` overrides, rebuilt
//! with every `Live` (so on reload), and the cost of a completed log row.

use switchboard_config::PriceOverride;
use switchboard_pricing::{Price, Pricing, Rates};
use switchboard_protocol::Usage;
use switchboard_store::LogRecord;

/// The built-in table plus `overrides` (which the config compiler has already checked).
pub(crate) fn table(overrides: &[PriceOverride]) -> Pricing {
    let mut p = Pricing::builtin();
    for o in overrides {
        let rates = Rates {
            input: o.input,
            output: o.output,
            cache_write_5m: o.cache_write,
            cache_write_1h: o.cache_write_1h,
            cache_read: o.cache_read,
        };
        if let Err(e) = p.set(&o.pattern, rates) {
            tracing::warn!(pattern = %o.pattern, error = %e, "ignoring price override");
        }
    }
    p
}

/// The price of `r`: the routed model's, else the requested model's; `None` when neither has
/// one.
pub(crate) fn price<'p>(pricing: &'p Pricing, r: &LogRecord) -> Option<&'p Price> {
    [r.routed_model.as_deref(), r.requested_model.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|m| pricing.find(m))
}

/// The cost of `r`'s usage at `price`. The usage is in Anthropic's definition (the translators
/// and observers moved cached tokens out of the input count), so one formula serves every
/// provider. `cache_1h` of the cache writes were made with the 1-hour TTL.
pub(crate) fn cost(price: &Price, r: &LogRecord, cache_1h: u64) -> f64 {
    let usage = Usage {
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cache_creation_input_tokens: r.cache_creation_input_tokens,
        cache_read_input_tokens: r.cache_read_input_tokens,
        cache_creation_1h_input_tokens: cache_1h,
    };
    price.cost(&usage)
}
