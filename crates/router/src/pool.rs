//! A pool in process: its members' breakers, usage and latency, its selector, and the choice of
//! a member for one attempt — with the scoped [`Cooldowns`] and the [`Affinity`] table, which
//! are shared by every pool (they are keyed by account and by pool and session).
//!
//! A member whose breaker has just closed comes back gradually ([`PoolSpec::ramp`]), except for
//! the sessions already bound to it.
//!
//! One attempt is chosen at a time: the attempt loop asks, tries the member, records the
//! outcome, and asks again with the members already tried excluded, until one serves or
//! [`Choice::Exhausted`] names every member and why it was passed over.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::affinity::{Affinity, AffinityConfig};
use crate::breaker::{Breaker, BreakerConfig, BreakerState, Permit};
use crate::classify::{RateLimitFacts, Scope};
use crate::cooldown::Cooldowns;
use crate::select::{Ewma, Member, Selector, SplitMix64, Strategy};
use crate::window::Tally;

/// One member as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// The account (endpoint) name: the key of its cooldowns.
    pub account: String,
    pub tier: u32,
    pub weight: u32,
    /// When the account was added (unix seconds), for `oldest_first`.
    pub added: Option<u64>,
}

/// A pool as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub name: String,
    pub members: Vec<MemberSpec>,
    pub strategy: Strategy,
    /// `None`: no session affinity in this pool.
    pub affinity: Option<AffinityConfig>,
    pub breaker: BreakerConfig,
    /// The window of `least_used`.
    pub usage_window: Duration,
    /// Slow start: a member whose breaker has just closed takes a growing share of the requests
    /// it would otherwise get, from [`MIN_RAMP_SHARE`] to all of them over this long, so that a
    /// recovered account is not hit by everything at once. Zero: no ramp.
    pub ramp: Duration,
}

/// The share of its requests a member gets the moment it recovers.
pub const MIN_RAMP_SHARE: f64 = 0.1;

#[derive(Debug)]
struct Stats {
    last_used: Option<Instant>,
    /// (requests, tokens) over the usage window.
    usage: Tally,
    ttfb: Ewma,
    remaining: Option<u64>,
}

#[derive(Debug)]
struct MemberState {
    spec: MemberSpec,
    breaker: Arc<Breaker>,
    stats: Mutex<Stats>,
}

/// Why a member was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Already tried for this request.
    Tried,
    /// Cooling down at this scope until then.
    Cooling {
        until: Instant,
        scope: Scope,
        reason: &'static str,
    },
    /// Its breaker is open (until then), or half-open with its one trial out.
    BreakerOpen { until: Option<Instant> },
}

/// The answer to "which member next?".
#[derive(Debug)]
pub enum Choice {
    /// Send the attempt to `index`, holding `permit` until the response is over.
    Member { index: usize, permit: Permit },
    /// No member can serve: each one and why.
    Exhausted { skipped: Vec<(usize, Skip)> },
}

/// A pool's live state.
#[derive(Debug)]
pub struct Pool {
    name: String,
    affinity: Option<AffinityConfig>,
    ramp: Duration,
    selector: Selector,
    /// For the slow-start draws (the selector has its own).
    rng: Mutex<SplitMix64>,
    members: Vec<MemberState>,
}

impl Pool {
    #[must_use]
    pub fn new(spec: PoolSpec, seed: u64, now: Instant) -> Self {
        let members = spec
            .members
            .into_iter()
            .map(|m| MemberState {
                breaker: Breaker::new(spec.breaker, now),
                stats: Mutex::new(Stats {
                    last_used: None,
                    usage: Tally::new(spec.usage_window, now),
                    ttfb: Ewma::new(0.3),
                    remaining: None,
                }),
                spec: m,
            })
            .collect();
        Self {
            name: spec.name,
            affinity: spec.affinity,
            ramp: spec.ramp,
            selector: Selector::new(spec.strategy, seed),
            rng: Mutex::new(SplitMix64::new(seed ^ 0x5EED_0F5A_0000_0001)),
            members,
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The account name of member `index`.
    #[must_use]
    pub fn account(&self, index: usize) -> Option<&str> {
        self.members.get(index).map(|m| m.spec.account.as_str())
    }

    /// The breaker of member `index`, for `/status` and admin resets.
    #[must_use]
    pub fn breaker(&self, index: usize) -> Option<&Arc<Breaker>> {
        self.members.get(index).map(|m| &m.breaker)
    }

    /// Chooses the member for the next attempt of a request for `model`, of `session` if it has
    /// one, excluding the members in `tried`.
    pub fn choose(
        &self,
        cooldowns: &Cooldowns,
        affinity: &Affinity,
        model: &str,
        session: Option<&str>,
        tried: &[usize],
        now: Instant,
    ) -> Choice {
        let mut skipped: Vec<(usize, Skip)> = Vec::new();
        let mut eligible: Vec<Member> = Vec::with_capacity(self.members.len());
        let mut ramping: Vec<(Member, f64)> = Vec::new();
        let bound = match (session, self.affinity) {
            (Some(s), Some(_)) => affinity.peek(&self.name, s, now),
            _ => None,
        };
        for (index, m) in self.members.iter().enumerate() {
            if tried.contains(&index) {
                skipped.push((index, Skip::Tried));
                continue;
            }
            if let Some(c) = cooldowns.cooling(&m.spec.account, model, now) {
                skipped.push((
                    index,
                    Skip::Cooling {
                        until: c.until,
                        scope: c.scope,
                        reason: c.reason,
                    },
                ));
                continue;
            }
            match m.breaker.state(now) {
                BreakerState::Open { until } => {
                    skipped.push((index, Skip::BreakerOpen { until: Some(until) }));
                    continue;
                }
                BreakerState::HalfOpen { trial_out: true } => {
                    skipped.push((index, Skip::BreakerOpen { until: None }));
                    continue;
                }
                BreakerState::Closed | BreakerState::HalfOpen { trial_out: false } => {}
            }
            let st = m.stats.lock();
            let (requests, tokens) = st.usage.sum(now);
            let member = Member {
                index,
                tier: m.spec.tier,
                weight: m.spec.weight,
                last_used: st.last_used,
                requests,
                tokens,
                remaining: st.remaining,
                ttfb: st.ttfb.get(),
                added: m.spec.added,
            };
            match self.ramp_share(m, now) {
                // A session already on a ramping member stays: its cache is there.
                Some(share) if bound != Some(index) => ramping.push((member, share)),
                _ => eligible.push(member),
            }
        }
        // Each ramping member is in the running with the probability of its share, and always
        // when nothing else can serve: a ramp never refuses a request.
        if !ramping.is_empty() {
            let mut rng = self.rng.lock();
            for (member, share) in ramping {
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "53 random bits are plenty for a share"
                )]
                let draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if draw < share || eligible.is_empty() {
                    eligible.push(member);
                }
            }
            eligible.sort_by_key(|m| m.index);
        }
        // A breaker may refuse between the look and the ask (another request took the trial):
        // drop that member and choose again.
        while !eligible.is_empty() {
            let usable = |i: usize| eligible.iter().any(|m| m.index == i);
            let picked = match (session, self.affinity) {
                (Some(s), Some(_)) => {
                    affinity.resolve(&self.name, s, now, usable, || self.selector.pick(&eligible))
                }
                _ => self.selector.pick(&eligible),
            };
            let Some(index) = picked else { break };
            match self.members[index].breaker.try_acquire(now) {
                Ok(permit) => {
                    self.members[index].stats.lock().last_used = Some(now);
                    return Choice::Member { index, permit };
                }
                Err(refused) => {
                    skipped.push((
                        index,
                        Skip::BreakerOpen {
                            until: refused.until,
                        },
                    ));
                    eligible.retain(|m| m.index != index);
                }
            }
        }
        skipped.sort_by_key(|(i, _)| *i);
        Choice::Exhausted { skipped }
    }

    /// The share of requests member `m` takes while it ramps up after recovering; `None` once
    /// the ramp is over (or there is none).
    fn ramp_share(&self, m: &MemberState, now: Instant) -> Option<f64> {
        let since = now.saturating_duration_since(m.breaker.recovered_at()?);
        (!self.ramp.is_zero() && since < self.ramp)
            .then(|| (since.as_secs_f64() / self.ramp.as_secs_f64()).max(MIN_RAMP_SHARE))
    }

    /// The members a prober should visit now: behind an open breaker (half-open included: with
    /// no traffic, nobody would take the trial) or under an account-wide cooldown.
    #[must_use]
    pub fn probe_candidates(&self, cooldowns: &Cooldowns, now: Instant) -> Vec<usize> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.breaker.state(now) != BreakerState::Closed
                    || cooldowns
                        .cooling(&m.spec.account, "", now)
                        .is_some_and(|c| c.scope == Scope::Account)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A probe of member `index` succeeded: its breaker closes and its account cooldowns end,
    /// and it comes back through the slow start.
    pub fn probe_succeeded(&self, index: usize, cooldowns: &Cooldowns, now: Instant) {
        if let Some(m) = self.members.get(index) {
            m.breaker.close_after_probe(now);
            cooldowns.clear(&m.spec.account);
        }
    }

    /// A served request: its time to first byte and the tokens it used.
    pub fn record_served(&self, index: usize, ttfb: Duration, tokens: u64, now: Instant) {
        if let Some(m) = self.members.get(index) {
            let mut st = m.stats.lock();
            st.usage.add(now, 1, tokens);
            st.ttfb.observe(ttfb);
        }
    }

    /// What a response's rate-limit headers said about member `index`'s remaining quota.
    pub fn record_quota(&self, index: usize, facts: &RateLimitFacts) {
        if let Some(m) = self.members.get(index)
            && let Some(r) = facts.remaining_tokens.or(facts.remaining_requests)
        {
            m.stats.lock().remaining = Some(r);
        }
    }
}

#[cfg(test)]
mod tests;
