//! Selection strategies: which member of a pool gets the next attempt.
//!
//! The caller passes the members that may serve now (in service, breaker not open, not cooling
//! for this model, not yet tried for this request), in pool order, each with the facts the
//! strategies read ([`Member`]). Selection never sees an ineligible member, so no strategy can
//! pick one while an eligible one exists; when a pick fails, the caller removes it and asks
//! again, which is also how priority tiers fall through: the lowest tier with an eligible
//! member is the only one considered ("spread within tier 1, fall to tier 2").
//!
//! | strategy | picks |
//! |---|---|
//! | `priority` | the first in pool order (today's ordered failover; returns to the first once it recovers) |
//! | `round_robin` | each in turn |
//! | `weighted` | at random in proportion to `weight` |
//! | `lru` | the least recently used (never used first) |
//! | `least_used` | the fewest requests, or tokens, in the usage window |
//! | `most_remaining` | the most remaining quota as the provider last reported it (unknown first) |
//! | `oldest_first` | the account added longest ago |
//! | `fill_first` | the one in use until it drops out, then the first; it does not go back when an earlier one recovers |
//! | `lowest_latency` | the faster of two picked at random, by EWMA of time to first byte (power of two choices) |
//!
//! Randomness comes from a seeded [`SplitMix64`], so tests are deterministic.

mod rng;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
pub use rng::SplitMix64;
use tokio::time::Instant;

/// What `least_used` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Requests,
    Tokens,
}

/// A pool's selection strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Priority,
    RoundRobin,
    Weighted,
    Lru,
    LeastUsed(Usage),
    MostRemaining,
    OldestFirst,
    FillFirst,
    LowestLatency,
}

/// The strategies by their config names.
pub const STRATEGY_NAMES: &[&str] = &[
    "priority",
    "round_robin",
    "weighted",
    "lru",
    "least_used",
    "least_used_tokens",
    "most_remaining",
    "oldest_first",
    "fill_first",
    "lowest_latency",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy {name:?} (expected one of: {})", STRATEGY_NAMES.join(", "))]
pub struct UnknownStrategy {
    pub name: String,
}

impl FromStr for Strategy {
    type Err = UnknownStrategy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "priority" => Self::Priority,
            "round_robin" => Self::RoundRobin,
            "weighted" => Self::Weighted,
            "lru" => Self::Lru,
            "least_used" => Self::LeastUsed(Usage::Requests),
            "least_used_tokens" => Self::LeastUsed(Usage::Tokens),
            "most_remaining" => Self::MostRemaining,
            "oldest_first" => Self::OldestFirst,
            "fill_first" => Self::FillFirst,
            "lowest_latency" => Self::LowestLatency,
            _ => {
                return Err(UnknownStrategy {
                    name: s.chars().take(64).collect(),
                });
            }
        })
    }
}

/// One eligible member as selection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Member {
    /// Position in the pool's member list: the identity returned by a pick, and the tie-break.
    pub index: usize,
    /// Priority tier; lower is preferred. Members without tiers are all tier 0.
    pub tier: u32,
    /// For `weighted`; 0 is never picked while a member with weight is eligible.
    pub weight: u32,
    pub last_used: Option<Instant>,
    /// Requests and tokens in the usage window (a [`crate::Tally`]), for `least_used`.
    pub requests: u64,
    pub tokens: u64,
    /// Remaining quota the provider last reported, for `most_remaining`.
    pub remaining: Option<u64>,
    /// EWMA of time to first byte ([`Ewma`]), for `lowest_latency`.
    pub ttfb: Option<Duration>,
    /// When the account was added (unix seconds), for `oldest_first`; unknown sorts last.
    pub added: Option<u64>,
}

/// A pool's selector: the strategy and the little state some strategies keep.
#[derive(Debug)]
pub struct Selector {
    strategy: Strategy,
    cursor: AtomicU64,
    /// `fill_first`: the member in use (`usize::MAX`: none yet).
    current: AtomicUsize,
    rng: Mutex<SplitMix64>,
}

impl Selector {
    #[must_use]
    pub fn new(strategy: Strategy, seed: u64) -> Self {
        Self {
            strategy,
            cursor: AtomicU64::new(0),
            current: AtomicUsize::new(usize::MAX),
            rng: Mutex::new(SplitMix64::new(seed)),
        }
    }

    #[must_use]
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Picks one of `eligible` (in pool order) and returns its [`Member::index`]; `None` only
    /// when `eligible` is empty. Only the lowest tier present is considered.
    #[must_use]
    pub fn pick(&self, eligible: &[Member]) -> Option<usize> {
        let tier = eligible.iter().map(|m| m.tier).min()?;
        let in_tier = || eligible.iter().filter(move |m| m.tier == tier);
        let first = || in_tier().next().map(|m| m.index);
        let picked = match self.strategy {
            Strategy::Priority => first(),
            Strategy::RoundRobin => {
                let n = in_tier().count() as u64;
                let k = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
                in_tier()
                    .nth(usize::try_from(k).unwrap_or(0))
                    .map(|m| m.index)
            }
            Strategy::Weighted => {
                let total: u64 = in_tier().map(|m| u64::from(m.weight)).sum();
                if total == 0 {
                    first()
                } else {
                    let mut r = self.rng.lock().below(total);
                    in_tier()
                        .find(|m| {
                            let w = u64::from(m.weight);
                            if r < w {
                                true
                            } else {
                                r -= w;
                                false
                            }
                        })
                        .map(|m| m.index)
                }
            }
            // `None` (never used) sorts before any instant.
            Strategy::Lru => in_tier().min_by_key(|m| m.last_used).map(|m| m.index),
            Strategy::LeastUsed(Usage::Requests) => {
                in_tier().min_by_key(|m| m.requests).map(|m| m.index)
            }
            Strategy::LeastUsed(Usage::Tokens) => {
                in_tier().min_by_key(|m| m.tokens).map(|m| m.index)
            }
            // Unknown first: an account is explored until it has reported its quota. Ties go
            // to the earlier member (`min_by_key` keeps the first of equals).
            Strategy::MostRemaining => in_tier()
                .min_by_key(|m| std::cmp::Reverse(m.remaining.unwrap_or(u64::MAX)))
                .map(|m| m.index),
            Strategy::OldestFirst => in_tier()
                .min_by_key(|m| m.added.unwrap_or(u64::MAX))
                .map(|m| m.index),
            Strategy::FillFirst => {
                let current = self.current.load(Ordering::Relaxed);
                let pick = if in_tier().any(|m| m.index == current) {
                    Some(current)
                } else {
                    first()
                };
                if let Some(p) = pick {
                    self.current.store(p, Ordering::Relaxed);
                }
                pick
            }
            Strategy::LowestLatency => {
                let n = in_tier().count() as u64;
                if n < 2 {
                    first()
                } else {
                    let (i, j) = {
                        let mut rng = self.rng.lock();
                        let i = rng.below(n);
                        // A second, different member: one of the other n - 1.
                        let j = (i + 1 + rng.below(n - 1)) % n;
                        (i, j)
                    };
                    let nth = |k: u64| in_tier().nth(usize::try_from(k).unwrap_or(0));
                    match (nth(i), nth(j)) {
                        (Some(a), Some(b)) => {
                            // Unknown latency counts as zero: a new member gets tried.
                            let (la, lb) = (a.ttfb.unwrap_or_default(), b.ttfb.unwrap_or_default());
                            Some(if (lb, b.index) < (la, a.index) {
                                b.index
                            } else {
                                a.index
                            })
                        }
                        _ => first(),
                    }
                }
            }
        };
        picked.or_else(first)
    }
}

/// An exponentially weighted moving average of durations (time to first byte).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewma {
    value: Option<Duration>,
    /// Weight of a new sample, in (0, 1].
    alpha: f64,
}

impl Ewma {
    /// `alpha` is clamped to (0, 1]; 0.3 follows a change within a few requests.
    #[must_use]
    pub fn new(alpha: f64) -> Self {
        Self {
            value: None,
            alpha: if alpha.is_finite() {
                alpha.clamp(0.01, 1.0)
            } else {
                0.3
            },
        }
    }

    pub fn observe(&mut self, sample: Duration) {
        self.value = Some(match self.value {
            None => sample,
            Some(v) => Duration::from_secs_f64(
                (self.alpha * sample.as_secs_f64() + (1.0 - self.alpha) * v.as_secs_f64()).max(0.0),
            ),
        });
    }

    #[must_use]
    pub fn get(&self) -> Option<Duration> {
        self.value
    }
}
