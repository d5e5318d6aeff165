//! Spend over a rolling window, counted in [`SLICES`] slices of it: a day is 60 slices of 24
//! minutes, and spend leaves the window a slice at a time, so "the last 24 hours" is the last 23
//! h 36 min to 24 h depending on where in its slice the clock is. Memory and time per charge are
//! constant; the sum is kept as it goes, so reading it costs no loop.

use std::time::Duration;

use tokio::time::Instant;

/// Slices in a window.
pub const SLICES: usize = 60;

/// Dollars (in nano-dollars) and tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub nanos: u64,
    pub tokens: u64,
}

impl Spend {
    fn add(&mut self, o: Self) {
        self.nanos = self.nanos.saturating_add(o.nanos);
        self.tokens = self.tokens.saturating_add(o.tokens);
    }

    fn sub(&mut self, o: Self) {
        self.nanos = self.nanos.saturating_sub(o.nanos);
        self.tokens = self.tokens.saturating_sub(o.tokens);
    }

    /// The amount of `unit` in it.
    #[must_use]
    pub fn of(self, unit: crate::Unit) -> u64 {
        match unit {
            crate::Unit::Usd => self.nanos,
            crate::Unit::Tokens => self.tokens,
        }
    }
}

/// One rolling window.
#[derive(Debug, Clone)]
pub struct Ring {
    slice: Duration,
    /// Start of the newest slice, `cells[head]`.
    head_start: Instant,
    head: usize,
    cells: [Spend; SLICES],
    total: Spend,
}

impl Ring {
    #[must_use]
    pub fn new(window: Duration, now: Instant) -> Self {
        let slice = (window / u32::try_from(SLICES).unwrap_or(60)).max(Duration::from_millis(1));
        Self {
            slice,
            head_start: now,
            head: 0,
            cells: [Spend::default(); SLICES],
            total: Spend::default(),
        }
    }

    /// Moves the window to `now`: slices that left it are emptied.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.head_start);
        if elapsed < self.slice {
            return;
        }
        let steps = elapsed.as_nanos() / self.slice.as_nanos();
        let steps_usize = usize::try_from(steps).unwrap_or(usize::MAX);
        if steps_usize >= SLICES {
            self.cells = [Spend::default(); SLICES];
            self.total = Spend::default();
            self.head = 0;
        } else {
            for _ in 0..steps_usize {
                self.head = (self.head + 1) % SLICES;
                let old = std::mem::take(&mut self.cells[self.head]);
                self.total.sub(old);
            }
        }
        let step = u32::try_from(steps.min(u128::from(u32::MAX))).unwrap_or(u32::MAX);
        self.head_start += self.slice.saturating_mul(step);
    }

    /// Adds `spend` at `now`.
    pub fn charge(&mut self, spend: Spend, now: Instant) {
        self.advance(now);
        self.cells[self.head].add(spend);
        self.total.add(spend);
    }

    /// Adds `spend` made at `at` (history read back from the log at start): it lands in the
    /// slice `at` falls in, or nowhere if it has left the window (or is in the future).
    pub fn charge_at(&mut self, spend: Spend, at: Instant, now: Instant) {
        self.advance(now);
        if at > now {
            return;
        }
        let back = self.head_start.saturating_duration_since(at);
        let slices_back = if at >= self.head_start {
            0
        } else {
            // `at` is in the slice that starts `ceil(back / slice)` slices before the head's.
            back.as_nanos().div_ceil(self.slice.as_nanos())
        };
        let Ok(back) = usize::try_from(slices_back) else {
            return;
        };
        if back >= SLICES {
            return;
        }
        let i = (self.head + SLICES - back) % SLICES;
        self.cells[i].add(spend);
        self.total.add(spend);
    }

    /// Spend in the window at `now`.
    pub fn total(&mut self, now: Instant) -> Spend {
        self.advance(now);
        self.total
    }

    /// When the spend in `unit` drops below `limit` again, if nothing more is spent: the end of
    /// the slice whose leaving brings it under. `now` (or earlier) if it is under already.
    pub fn frees_at(&mut self, unit: crate::Unit, limit: u64, now: Instant) -> Instant {
        self.advance(now);
        let mut spent = self.total.of(unit);
        if spent < limit {
            return now;
        }
        // The oldest slice is the one after the head; it leaves when the head moves once more.
        for k in 1..=SLICES {
            let i = (self.head + k) % SLICES;
            spent = spent.saturating_sub(self.cells[i].of(unit));
            if spent < limit {
                let k = u32::try_from(k).unwrap_or(u32::MAX);
                return self.head_start + self.slice.saturating_mul(k);
            }
        }
        self.head_start
            + self
                .slice
                .saturating_mul(u32::try_from(SLICES).unwrap_or(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Unit;

    const MIN: Duration = Duration::from_secs(60);

    fn usd(n: u64) -> Spend {
        Spend {
            nanos: n,
            tokens: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn spend_leaves_the_window_a_slice_at_a_time() {
        // 5 hours in 60 slices of 5 minutes.
        let start = Instant::now();
        let mut r = Ring::new(Duration::from_secs(5 * 3600), start);
        r.charge(usd(10), Instant::now());
        tokio::time::advance(MIN * 60).await;
        r.charge(usd(5), Instant::now());
        assert_eq!(r.total(Instant::now()).nanos, 15);
        // The first charge leaves once its slice is 5 hours old; the second an hour later.
        tokio::time::advance(MIN * 239).await;
        assert_eq!(r.total(Instant::now()).nanos, 15);
        tokio::time::advance(MIN).await;
        assert_eq!(r.total(Instant::now()).nanos, 5);
        tokio::time::advance(MIN * 60).await;
        assert_eq!(r.total(Instant::now()).nanos, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn frees_at_is_when_the_slice_that_brings_it_under_leaves() {
        let start = Instant::now();
        let mut r = Ring::new(Duration::from_secs(24 * 3600), start); // slices of 24 min
        r.charge(usd(6), Instant::now());
        tokio::time::advance(MIN * 60).await;
        r.charge(usd(6), Instant::now());
        let now = Instant::now();
        assert_eq!(
            r.frees_at(Unit::Usd, 20, now),
            now,
            "under the limit: free now"
        );
        // Limit 10 with 12 spent: under once the first 6 leave, 24 h after its slice began.
        assert_eq!(
            r.frees_at(Unit::Usd, 10, now),
            start + Duration::from_secs(24 * 3600)
        );
        // Limit 5: both must leave; the second's slice began at 48 min (60 min in slices of 24).
        assert_eq!(
            r.frees_at(Unit::Usd, 5, now),
            start + MIN * 48 + Duration::from_secs(24 * 3600)
        );
        tokio::time::advance(Duration::from_secs(24 * 3600) - MIN * 60).await;
        assert_eq!(r.total(Instant::now()).nanos, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn history_lands_in_its_slice() {
        let start = Instant::now();
        tokio::time::advance(MIN * 300).await;
        let now = Instant::now();
        let mut r = Ring::new(Duration::from_secs(5 * 3600), now);
        // The window reaches 59 slices back from the newest one's start (4 h 55 min here).
        r.charge_at(usd(1), start + MIN * 2, now); // 4 h 58 min ago: out
        r.charge_at(usd(2), start + MIN * 6, now); // 4 h 54 min ago: the oldest slice
        r.charge_at(usd(4), now, now);
        r.charge_at(usd(8), now + MIN, now); // the future: ignored
        assert_eq!(r.total(now).nanos, 6);
        tokio::time::advance(MIN * 5).await;
        assert_eq!(r.total(Instant::now()).nanos, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_silence_empties_the_window() {
        let mut r = Ring::new(Duration::from_secs(3600), Instant::now());
        r.charge(usd(3), Instant::now());
        tokio::time::advance(Duration::from_secs(86_400 * 400)).await;
        assert_eq!(r.total(Instant::now()), Spend::default());
        r.charge(usd(1), Instant::now());
        assert_eq!(r.total(Instant::now()).nanos, 1);
    }
}
