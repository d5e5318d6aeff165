//! A sliding window of two counters, in slices: bounded memory whatever the traffic, and an
//! answer accurate to one slice (a tenth of the window). Used for the breaker's error rate
//! (failures, attempts) and `least_used` (requests, tokens).

use std::time::Duration;

use tokio::time::Instant;

const SLICES: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Slice {
    /// Which slice of time this is (slices since `origin`); counts from older epochs are stale.
    epoch: u64,
    a: u64,
    b: u64,
}

/// Two counts over the last `window`.
#[derive(Debug, Clone)]
pub struct Tally {
    origin: Instant,
    slice: Duration,
    slices: [Slice; SLICES],
}

impl Tally {
    /// A window of `window` (at least 10 ms) starting empty at `now`.
    #[must_use]
    pub fn new(window: Duration, now: Instant) -> Self {
        let slice = (window / u32::try_from(SLICES).unwrap_or(10)).max(Duration::from_millis(1));
        Self {
            origin: now,
            slice,
            slices: [Slice::default(); SLICES],
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin);
        u64::try_from(since.as_nanos() / self.slice.as_nanos().max(1)).unwrap_or(u64::MAX)
    }

    /// Adds `a` and `b` at `now`.
    pub fn add(&mut self, now: Instant, a: u64, b: u64) {
        let epoch = self.epoch(now);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the remainder of a division by 10"
        )]
        let s = &mut self.slices[(epoch % SLICES as u64) as usize];
        if s.epoch != epoch {
            *s = Slice { epoch, a: 0, b: 0 };
        }
        s.a = s.a.saturating_add(a);
        s.b = s.b.saturating_add(b);
    }

    /// The two sums over the window ending at `now`.
    #[must_use]
    pub fn sum(&self, now: Instant) -> (u64, u64) {
        let epoch = self.epoch(now);
        let oldest = epoch.saturating_sub(SLICES as u64 - 1);
        self.slices
            .iter()
            .filter(|s| s.epoch >= oldest && s.epoch <= epoch && (s.a | s.b) != 0)
            .fold((0, 0), |(a, b), s| {
                (a.saturating_add(s.a), b.saturating_add(s.b))
            })
    }

    pub fn clear(&mut self) {
        self.slices = [Slice::default(); SLICES];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_the_window_slice_by_slice() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = Tally::new(Duration::from_secs(10), t0);
        t.add(t0, 1, 100);
        t.add(t0 + ms(4_500), 2, 200);
        assert_eq!(t.sum(t0 + ms(9_999)), (3, 300));
        assert_eq!(t.sum(t0 + ms(10_000)), (2, 200));
        assert_eq!(t.sum(t0 + ms(13_999)), (2, 200));
        assert_eq!(t.sum(t0 + ms(14_000)), (0, 0));
        // A slot reused after a full turn starts from zero.
        t.add(t0 + ms(20_000), 5, 0);
        assert_eq!(t.sum(t0 + ms(20_000)), (5, 0));
    }
}
