//! What a client key may do and how much it may spend, and the state that enforces it.
//!
//! - [`Limits`]: a key's allowed models, endpoints and clients (globs), its concurrency, requests
//!   and tokens per minute, and its [`Budget`]s; users and teams have budgets shared by all
//!   their keys. One syntax everywhere: `5usd/day`, `2000000tok/5h`, `opus:10usd/week`.
//! - [`LimitState`]: requests in flight, rates and rolling budget windows per key, user and
//!   team, with [`InProcess`], the implementation for one gateway process. Admission and
//!   completion are synchronous and local (the overspend bound and the multi-gateway design
//!   are in the docs of `state.rs`).
//! - [`ring`]: a rolling window in 60 slices; [`rate`]: per-minute rates as GCRA.
//!
//! This crate must never do I/O or read a clock of its own: every time is a
//! `tokio::time::Instant` passed in, so paused-time tests are exact.

pub mod glob;
pub mod rate;
pub mod ring;
mod spec;
mod state;

pub use spec::{
    Amount, Budget, LimitError, Limits, MAX_RULES, NANOS_PER_USD, Unit, Window, family_matches,
    nanos, usd, validate_budgets,
};
pub use state::{
    Admission, BudgetState, Exhausted, InProcess, Installed, KeyHandle, KeySpec, LimitState,
    OwnerSpec, RateUnit, Refusal, Report, Subject, Table, Usage, human,
};

#[cfg(test)]
mod tests;
