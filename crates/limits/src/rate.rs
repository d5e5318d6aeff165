//! Rates per minute as a generic cell rate algorithm (GCRA): one instant per limit, the
//! theoretical arrival time (TAT) — when everything counted so far would have been paid back at
//! the allowed rate. A request may start while the debt fits in one period, so a full minute's
//! allowance can be used in a burst, and after that requests are let through as fast as the
//! rate pays back: no counter reset at the top of the minute that lets twice the rate through.

use std::time::Duration;

use tokio::time::Instant;

/// The period of `rpm` and `tpm`.
pub const MINUTE: Duration = Duration::from_secs(60);

/// One rate limit's state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gcra {
    tat: Option<Instant>,
}

/// The time one unit pays back at `limit` per [`MINUTE`], in nanoseconds.
fn unit_nanos(limit: u64) -> u128 {
    MINUTE.as_nanos() / u128::from(limit.max(1))
}

fn nanos(d: u128) -> Duration {
    Duration::from_nanos(u64::try_from(d).unwrap_or(u64::MAX))
}

impl Gcra {
    /// `Err(retry_after)` when one more unit does not fit under `limit` per minute now.
    pub fn check(&self, limit: u64, now: Instant) -> Result<(), Duration> {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let after = tat.duration_since(now).as_nanos() + unit_nanos(limit);
        let period = MINUTE.as_nanos();
        if after <= period {
            Ok(())
        } else {
            Err(nanos(after - period))
        }
    }

    /// Counts `units` at `now` (after [`Gcra::check`], or after the fact: tokens are known when
    /// a request ends).
    pub fn charge(&mut self, limit: u64, units: u64, now: Instant) {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let debt = unit_nanos(limit).saturating_mul(u128::from(units));
        self.tat = Some(tat + nanos(debt));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_minute_of_requests_in_a_burst_then_at_the_rate() {
        let mut g = Gcra::default();
        for _ in 0..3 {
            g.check(3, Instant::now()).expect("within the burst");
            g.charge(3, 1, Instant::now());
        }
        // The fourth waits until the first has been paid back: 20 s.
        assert_eq!(g.check(3, Instant::now()), Err(Duration::from_secs(20)));
        tokio::time::advance(Duration::from_secs(19)).await;
        assert_eq!(g.check(3, Instant::now()), Err(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(g.check(3, Instant::now()), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_charged_after_the_fact() {
        let mut g = Gcra::default();
        g.check(1000, Instant::now()).expect("nothing used yet");
        // A request used 1,500 tokens of 1,000 a minute: 90 s of debt, 30 s more than fits.
        g.charge(1000, 1500, Instant::now());
        let wait = g.check(1000, Instant::now()).expect_err("over");
        assert_eq!(wait, Duration::from_millis(30_060));
        tokio::time::advance(wait).await;
        assert_eq!(g.check(1000, Instant::now()), Ok(()));
    }
}
