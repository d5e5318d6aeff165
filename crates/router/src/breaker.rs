//! A circuit breaker per account.
//!
//! ```text
//!   Closed ──(N consecutive failures, or failure rate ≥ R over the window)──▶ Open
//!   Open ──(open_for elapsed; the next caller takes the one trial)──▶ HalfOpen
//!   HalfOpen ──trial succeeds──▶ Closed        HalfOpen ──trial fails──▶ Open
//! ```
//!
//! Invariants:
//! - in half-open, at most one trial is out at a time: [`Breaker::try_acquire`] hands out one
//!   trial [`Permit`] under the lock, and every other caller is refused;
//! - a trial permit dropped without a verdict (its request was cancelled, or ended in a way
//!   that says nothing about the account) gives the trial slot back, so a cancelled trial can
//!   never wedge the breaker half-open (cc-switch#7206);
//! - verdicts on permits granted before the last transition are ignored, so a slow request
//!   that started before the breaker opened cannot close it;
//! - the permit is held until the response is over: a stream that fails after its first event
//!   is reported with [`Permit::failure`] like any other failure (cc-switch#7425).
//!
//! What counts as a failure is the caller's call: provider-scoped failures (5xx, 529, network,
//! mid-stream errors). A client error or a quota limit says the account answered; drop the
//! permit (or call [`Permit::success`] for a trial that got a well-formed answer).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::window::Tally;

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Opens after this many failures in a row; 0 never opens on a streak.
    pub consecutive_failures: u32,
    /// Opens when at least this percentage of the attempts in `window` failed (with at least
    /// `min_requests` of them); 0 disables the rate.
    pub failure_rate_percent: u8,
    pub min_requests: u32,
    pub window: Duration,
    /// How long it stays open before a trial.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate_percent: 50,
            min_requests: 10,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
        }
    }
}

/// The breaker's state, for `/status` and selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Refusing requests until `until`, then half-open.
    Open {
        until: Instant,
    },
    /// One trial may go (or is out).
    HalfOpen {
        trial_out: bool,
    },
}

/// Refused: the breaker is open (until then), or half-open with its trial out (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open")]
pub struct Refused {
    pub until: Option<Instant>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    /// Bumped on every transition; permits from an older generation have no say.
    generation: u64,
    consecutive: u32,
    /// (failures, attempts) over the window.
    tally: Tally,
    /// Times the breaker has opened, for `/metrics`.
    opened: u64,
    /// When a trial last closed it: the start of the member's gradual return.
    recovered_at: Option<Instant>,
}

/// One account's breaker.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl Breaker {
    #[must_use]
    pub fn new(config: BreakerConfig, now: Instant) -> Arc<Self> {
        Arc::new(Self {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                generation: 0,
                consecutive: 0,
                tally: Tally::new(config.window, now),
                opened: 0,
                recovered_at: None,
            }),
        })
    }

    /// The state at `now` (an open breaker whose time is up reads as half-open).
    #[must_use]
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.inner.lock().state {
            BreakerState::Open { until } if now >= until => {
                BreakerState::HalfOpen { trial_out: false }
            }
            s => s,
        }
    }

    /// When a successful trial last closed it (`None` if it never has, or was reset by hand
    /// since): the pool brings such a member back gradually.
    #[must_use]
    pub fn recovered_at(&self) -> Option<Instant> {
        self.inner.lock().recovered_at
    }

    /// How many times it has opened.
    #[must_use]
    pub fn times_opened(&self) -> u64 {
        self.inner.lock().opened
    }

    /// Asks to send a request. Closed: a permit. Open with its time up, or half-open with no
    /// trial out: the one trial permit. Otherwise refused.
    ///
    /// # Errors
    /// [`Refused`] while open, or while a trial is out.
    pub fn try_acquire(self: &Arc<Self>, now: Instant) -> Result<Permit, Refused> {
        let mut inner = self.inner.lock();
        let trial = match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open { until } if now < until => {
                return Err(Refused { until: Some(until) });
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { trial_out: false } => {
                if matches!(inner.state, BreakerState::Open { .. }) {
                    inner.generation += 1;
                }
                inner.state = BreakerState::HalfOpen { trial_out: true };
                true
            }
            BreakerState::HalfOpen { trial_out: true } => return Err(Refused { until: None }),
        };
        Ok(Permit {
            breaker: Arc::clone(self),
            generation: inner.generation,
            trial,
            settled: false,
        })
    }

    /// Closes the breaker after a successful probe, as a successful trial would: the member
    /// then comes back gradually ([`Self::recovered_at`]). A closed breaker is left alone.
    pub fn close_after_probe(&self, now: Instant) {
        let mut inner = self.inner.lock();
        if inner.state != BreakerState::Closed {
            inner.state = BreakerState::Closed;
            inner.generation += 1;
            inner.consecutive = 0;
            inner.tally.clear();
            inner.recovered_at = Some(now);
        }
    }

    /// Closes the breaker by hand (an admin reset): at once, without a gradual return.
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        inner.state = BreakerState::Closed;
        inner.generation += 1;
        inner.consecutive = 0;
        inner.tally.clear();
        inner.recovered_at = None;
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        inner.state = BreakerState::Open {
            until: now + self.config.open_for,
        };
        inner.generation += 1;
        inner.consecutive = 0;
        inner.tally.clear();
        inner.opened += 1;
    }

    fn settle(&self, generation: u64, trial: bool, ok: bool, now: Instant) {
        let mut inner = self.inner.lock();
        if generation != inner.generation {
            return;
        }
        if trial {
            if ok {
                inner.state = BreakerState::Closed;
                inner.generation += 1;
                inner.consecutive = 0;
                inner.tally.clear();
                inner.recovered_at = Some(now);
            } else {
                self.open(&mut inner, now);
            }
            return;
        }
        if inner.state != BreakerState::Closed {
            return;
        }
        if ok {
            inner.consecutive = 0;
            inner.tally.add(now, 0, 1);
            return;
        }
        inner.consecutive += 1;
        inner.tally.add(now, 1, 1);
        let c = &self.config;
        let (failures, attempts) = inner.tally.sum(now);
        let streak = c.consecutive_failures > 0 && inner.consecutive >= c.consecutive_failures;
        let rate = c.failure_rate_percent > 0
            && attempts >= u64::from(c.min_requests.max(1))
            && failures * 100 >= u64::from(c.failure_rate_percent) * attempts;
        if streak || rate {
            self.open(&mut inner, now);
        }
    }

    fn release_trial(&self, generation: u64) {
        let mut inner = self.inner.lock();
        if generation == inner.generation
            && inner.state == (BreakerState::HalfOpen { trial_out: true })
        {
            inner.state = BreakerState::HalfOpen { trial_out: false };
        }
    }
}

/// Leave to send one request through a breaker. Report how it went with [`Permit::success`]
/// or [`Permit::failure`]; dropping it says nothing, and gives a trial slot back.
#[derive(Debug)]
#[must_use = "a permit reports its request's outcome; dropped, it counts for nothing"]
pub struct Permit {
    breaker: Arc<Breaker>,
    generation: u64,
    trial: bool,
    settled: bool,
}

impl Permit {
    /// Whether this is the half-open state's one trial.
    #[must_use]
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    pub fn success(mut self, now: Instant) {
        self.settled = true;
        self.breaker.settle(self.generation, self.trial, true, now);
    }

    pub fn failure(mut self, now: Instant) {
        self.settled = true;
        self.breaker.settle(self.generation, self.trial, false, now);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.trial && !self.settled {
            self.breaker.release_trial(self.generation);
        }
    }
}

#[cfg(test)]
mod tests;
