//! What a limit says, in one syntax everywhere: the CLI's flags (`--budget opus:10usd/week`), the
//! admin API's JSON (`"budgets": ["5usd/day"]`), the dashboard and the error a client is shown.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::glob;

/// Nano-dollars in a dollar: budgets and spend in USD are counted in integers, so a sum of many
/// small costs is exact and comparing it with a budget has one answer.
pub const NANOS_PER_USD: f64 = 1e9;

/// Why a limit could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "invalid budget {input:?}: {reason} (expected [FAMILY:]AMOUNT/WINDOW, e.g. 5usd/day, 2000000tok/5h, opus:10usd/week)"
    )]
    Budget { input: String, reason: String },
    #[error("invalid {field} pattern {pattern:?}: {reason}")]
    Pattern {
        field: &'static str,
        pattern: String,
        reason: &'static str,
    },
    #[error("{field} must be at least 1")]
    Zero { field: &'static str },
    #[error("two budgets count {0} over the same window: keep one")]
    Duplicate(String),
    #[error("at most {max} {field} per key")]
    TooMany { field: &'static str, max: usize },
}

/// A window spend is counted over. Windows roll: "a day" is the last 24 hours, not since
/// midnight (see `crate::ring` for the granularity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    FiveHours,
    Day,
    Week,
    /// 30 days.
    Month,
}

impl Window {
    pub const ALL: [Self; 4] = [Self::FiveHours, Self::Day, Self::Week, Self::Month];

    #[must_use]
    pub fn duration(self) -> Duration {
        let hours = match self {
            Self::FiveHours => 5,
            Self::Day => 24,
            Self::Week => 7 * 24,
            Self::Month => 30 * 24,
        };
        Duration::from_secs(hours * 3600)
    }

    /// The canonical spelling: `5h`, `day`, `week`, `month`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FiveHours => "5h",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// How a person says it: "5 hours", "day"…
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::FiveHours => "5 hours",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "30 days",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "5h" | "5hours" => Self::FiveHours,
            "day" | "d" | "1d" | "24h" | "daily" => Self::Day,
            "week" | "w" | "1w" | "7d" | "weekly" => Self::Week,
            "month" | "mo" | "30d" | "monthly" => Self::Month,
            _ => return None,
        })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much: dollars (kept in nano-dollars) or tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amount {
    Usd { nanos: u64 },
    Tokens(u64),
}

/// What an amount counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Usd,
    Tokens,
}

impl Unit {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usd => "usd",
            Self::Tokens => "tokens",
        }
    }
}

impl Amount {
    #[must_use]
    pub fn unit(self) -> Unit {
        match self {
            Self::Usd { .. } => Unit::Usd,
            Self::Tokens(_) => Unit::Tokens,
        }
    }

    /// The amount in its unit's counting integer (nano-dollars or tokens).
    #[must_use]
    pub fn raw(self) -> u64 {
        match self {
            Self::Usd { nanos } => nanos,
            Self::Tokens(n) => n,
        }
    }

    /// `raw` of `unit` as a person reads it: `$4.20`, `1,500,000 tokens`.
    #[must_use]
    pub fn show(unit: Unit, raw: u64) -> String {
        match unit {
            Unit::Usd => show_usd(raw),
            Unit::Tokens => format!("{} tokens", thousands(raw)),
        }
    }
}

/// Nano-dollars as dollars.
#[must_use]
#[expect(
    clippy::cast_precision_loss,
    reason = "a display and report value; exact sums stay integers"
)]
pub fn usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// Dollars as nano-dollars (negative and non-finite costs count as nothing).
#[must_use]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to the range of u64 first"
)]
pub fn nanos(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * NANOS_PER_USD).round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

/// Dollars with cents, and with up to four decimals below a cent so that small budgets don't
/// read as `$0.00`.
fn show_usd(nanos: u64) -> String {
    if nanos >= 10_000_000 || nanos == 0 {
        return format!("${:.2}", usd(nanos));
    }
    let s = format!("{:.4}", usd(nanos));
    let s = s.trim_end_matches('0');
    format!("${s}")
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Tokens(n) => write!(f, "{n}tok"),
            Self::Usd { nanos } => {
                let whole = nanos / 1_000_000_000;
                let frac = nanos % 1_000_000_000;
                if frac == 0 {
                    write!(f, "{whole}usd")
                } else {
                    let frac = format!("{frac:09}");
                    write!(f, "{whole}.{}usd", frac.trim_end_matches('0'))
                }
            }
        }
    }
}

impl FromStr for Amount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        if let Some(n) = lower
            .strip_prefix('$')
            .or_else(|| lower.strip_suffix("usd"))
        {
            let n = n.trim();
            let value: f64 = n
                .parse()
                .map_err(|_| format!("{n:?} is not a number of dollars"))?;
            if !value.is_finite() || value <= 0.0 {
                return Err("the amount must be more than zero".into());
            }
            if value > 1e9 {
                return Err("the amount is too large".into());
            }
            return Ok(Self::Usd {
                nanos: nanos(value),
            });
        }
        let n = lower
            .strip_suffix("tokens")
            .or_else(|| lower.strip_suffix("tok"))
            .ok_or_else(|| {
                format!("{s:?} has no unit: write usd (5usd, $5) or tok (2000000tok, 2mtok)")
            })?;
        let (digits, scale) = match n.trim().as_bytes().last() {
            Some(b'k') => (&n.trim()[..n.trim().len() - 1], 1_000_u64),
            Some(b'm') => (&n.trim()[..n.trim().len() - 1], 1_000_000),
            _ => (n.trim(), 1),
        };
        let digits = digits.replace('_', "");
        let value: u64 = digits
            .parse()
            .map_err(|_| format!("{digits:?} is not a whole number of tokens"))?;
        let value = value
            .checked_mul(scale)
            .ok_or_else(|| "the amount is too large".to_owned())?;
        if value == 0 {
            return Err("the amount must be more than zero".into());
        }
        Ok(Self::Tokens(value))
    }
}

/// A budget: an amount per rolling window, optionally only for one model family (an Opus budget
/// apart): `[FAMILY:]AMOUNT/WINDOW`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Budget {
    pub amount: Amount,
    pub window: Window,
    /// Counts only requests whose model matches (see [`family_matches`]); `None`: every model.
    pub family: Option<String>,
}

impl Budget {
    /// Whether this budget counts a request for `model`.
    #[must_use]
    pub fn applies_to(&self, model: &str) -> bool {
        self.family
            .as_deref()
            .is_none_or(|f| family_matches(f, model))
    }

    /// What the budget counts, for messages: "opus models", "every model".
    #[must_use]
    pub fn scope(&self) -> String {
        match &self.family {
            Some(f) => format!("{f} models"),
            None => "every model".to_owned(),
        }
    }

    /// Budgets that count the same thing over the same window can't both be set.
    fn slot(&self) -> (Option<String>, Window, Unit) {
        (
            self.family.as_ref().map(|f| f.to_ascii_lowercase()),
            self.window,
            self.amount.unit(),
        )
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(family) = &self.family {
            write!(f, "{family}:")?;
        }
        write!(f, "{}/{}", self.amount, self.window)
    }
}

impl FromStr for Budget {
    type Err = LimitError;

    fn from_str(input: &str) -> Result<Self, LimitError> {
        let bad = |reason: String| LimitError::Budget {
            input: input.to_owned(),
            reason,
        };
        let s = input.trim();
        let (family, rest) = match s.split_once(':') {
            Some((f, rest)) => {
                let f = f.trim();
                glob::validate(f).map_err(|r| bad(format!("model family {f:?}: {r}")))?;
                (Some(f.to_owned()), rest)
            }
            None => (None, s),
        };
        let (amount, window) = rest
            .split_once('/')
            .ok_or_else(|| bad("no window: add /5h, /day, /week or /month".into()))?;
        let window = Window::parse(window.trim()).ok_or_else(|| {
            bad(format!(
                "unknown window {:?}: use 5h, day, week or month",
                window.trim()
            ))
        })?;
        let amount: Amount = amount.parse().map_err(bad)?;
        Ok(Self {
            amount,
            window,
            family,
        })
    }
}

impl Serialize for Budget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether model family `family` takes in `model`: a glob (`claude-opus-*`) when it has `*` or
/// `?`, else a word found anywhere in the name (`opus` takes in `claude-opus-4-1`), ignoring
/// ASCII case.
#[must_use]
pub fn family_matches(family: &str, model: &str) -> bool {
    if family.contains(['*', '?']) {
        glob::matches(family, model)
    } else {
        contains_ignore_case(model.as_bytes(), family.as_bytes())
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Most patterns or budgets one key may carry (they are checked on every request).
pub const MAX_RULES: usize = 32;

/// What a client key may do. Every field is optional; `Default` allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Globs on the requested model (`claude-sonnet-*`, `*haiku*`); empty: any model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Names of the endpoints the key's requests may be routed to; empty: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// Globs on the client's `User-Agent` (`claude-cli/*` for Claude Code only); empty: any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// Requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Requests per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens per minute (input, cache writes and output; see [`crate::Usage::tokens`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<Budget>,
}

impl Limits {
    /// Checks patterns, numbers and budgets.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), LimitError> {
        for (field, patterns) in [
            ("models", &self.models),
            ("endpoints", &self.endpoints),
            ("clients", &self.clients),
        ] {
            if patterns.len() > MAX_RULES {
                return Err(LimitError::TooMany {
                    field,
                    max: MAX_RULES,
                });
            }
            for p in patterns {
                glob::validate(p).map_err(|reason| LimitError::Pattern {
                    field,
                    pattern: p.clone(),
                    reason,
                })?;
            }
        }
        if self.concurrency == Some(0) {
            return Err(LimitError::Zero {
                field: "concurrency",
            });
        }
        if self.rpm == Some(0) {
            return Err(LimitError::Zero { field: "rpm" });
        }
        if self.tpm == Some(0) {
            return Err(LimitError::Zero { field: "tpm" });
        }
        validate_budgets(&self.budgets)
    }

    /// Whether `model` is one the key may ask for.
    #[must_use]
    pub fn allows_model(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|p| glob::matches(p, model))
    }

    /// Whether a client with this `User-Agent` may use the key.
    #[must_use]
    pub fn allows_client(&self, user_agent: Option<&str>) -> bool {
        self.clients.is_empty()
            || user_agent.is_some_and(|ua| self.clients.iter().any(|p| glob::matches(p, ua)))
    }

    /// Whether the key's requests may go to endpoint `name`.
    #[must_use]
    pub fn allows_endpoint(&self, name: &str) -> bool {
        self.endpoints.is_empty() || self.endpoints.iter().any(|e| e == name)
    }
}

/// Checks a list of budgets (of a key, a user or a team): at most [`MAX_RULES`], and no two
/// counting the same thing over the same window.
///
/// # Errors
/// [`LimitError::TooMany`], [`LimitError::Duplicate`].
pub fn validate_budgets(budgets: &[Budget]) -> Result<(), LimitError> {
    if budgets.len() > MAX_RULES {
        return Err(LimitError::TooMany {
            field: "budgets",
            max: MAX_RULES,
        });
    }
    let mut seen = Vec::with_capacity(budgets.len());
    for b in budgets {
        let slot = b.slot();
        if seen.contains(&slot) {
            return Err(LimitError::Duplicate(format!(
                "{} of {}",
                b.amount.unit().as_str(),
                b.scope()
            )));
        }
        seen.push(slot);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_print_in_one_syntax() {
        for (input, shown) in [
            ("5usd/day", "5usd/day"),
            ("$2.50/5h", "2.5usd/5h"),
            ("2000000tok/5h", "2000000tok/5h"),
            ("2mtok/week", "2000000tok/week"),
            ("500ktok/month", "500000tok/month"),
            ("opus:10usd/week", "opus:10usd/week"),
            ("claude-opus-*:10USD/7d", "claude-opus-*:10usd/week"),
            (" 0.000001usd / 24h ", "0.000001usd/day"),
        ] {
            let b: Budget = input.parse().expect(input);
            assert_eq!(b.to_string(), shown, "{input}");
            assert_eq!(shown.parse::<Budget>().expect(shown), b);
        }
        for bad in [
            "5usd",
            "5/day",
            "5usd/fortnight",
            "0usd/day",
            "-1usd/day",
            "opus 4:1usd/day",
            "1.5tok/day",
            ":1usd/day",
        ] {
            let e = bad.parse::<Budget>().expect_err(bad);
            assert!(
                e.to_string().contains("expected [FAMILY:]AMOUNT/WINDOW"),
                "{e}"
            );
        }
    }

    #[test]
    fn budgets_are_json_strings() {
        let l = Limits {
            rpm: Some(60),
            budgets: vec!["opus:10usd/week".parse().expect("budget")],
            ..Limits::default()
        };
        let json = serde_json::to_string(&l).expect("json");
        assert_eq!(json, r#"{"rpm":60,"budgets":["opus:10usd/week"]}"#);
        assert_eq!(serde_json::from_str::<Limits>(&json).expect("back"), l);
        assert!(serde_json::from_str::<Limits>(r#"{"budget":[]}"#).is_err());
    }

    #[test]
    fn families_match_a_word_or_a_glob() {
        assert!(family_matches("opus", "claude-opus-4-1-20250805"));
        assert!(family_matches("OPUS", "claude-opus-4-1"));
        assert!(!family_matches("opus", "claude-sonnet-4-5"));
        assert!(family_matches("claude-opus-*", "claude-opus-5-5"));
        assert!(!family_matches("claude-opus-*", "x-claude-opus-5"));
    }

    #[test]
    fn validation_names_the_problem() {
        let dup = Limits {
            budgets: vec![
                "5usd/day".parse().expect("b"),
                "7usd/24h".parse().expect("b"),
            ],
            ..Limits::default()
        };
        assert_eq!(
            dup.validate().expect_err("dup").to_string(),
            "two budgets count usd of every model over the same window: keep one"
        );
        let ok = Limits {
            budgets: vec![
                "5usd/day".parse().expect("b"),
                "100000tok/day".parse().expect("b"),
                "opus:1usd/day".parse().expect("b"),
            ],
            ..Limits::default()
        };
        assert!(ok.validate().is_ok());
        let zero = Limits {
            rpm: Some(0),
            ..Limits::default()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn amounts_show_as_people_read_them() {
        assert_eq!(Amount::show(Unit::Usd, 1_234_567_890), "$1.23");
        assert_eq!(Amount::show(Unit::Usd, 500_000_000), "$0.50");
        assert_eq!(Amount::show(Unit::Usd, 4_500_000), "$0.0045");
        assert_eq!(Amount::show(Unit::Usd, 4_000_000), "$0.004");
        assert_eq!(Amount::show(Unit::Usd, 0), "$0.00");
        assert_eq!(Amount::show(Unit::Tokens, 1_500_000), "1,500,000 tokens");
        assert_eq!(Amount::show(Unit::Tokens, 999), "999 tokens");
        assert_eq!(nanos(0.1), 100_000_000);
        assert_eq!(nanos(f64::NAN), 0);
        assert_eq!(nanos(-3.0), 0);
    }
}
