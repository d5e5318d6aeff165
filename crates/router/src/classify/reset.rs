//! Reset times that rate-limited responses announce, parsed defensively.
//!
//! Providers announce "try again at" in several shapes, and a bad one must never freeze an
//! account (a 24 h `retry-after` on a 504 did, in another gateway) or make it come back early.
//! Every parser here:
//! - refuses anything longer than [`MAX_VALUE_LEN`] bytes, and anything it does not fully
//!   understand (`None`, never a guess);
//! - returns a delay relative to `now_unix`, clamped to `0..=`[`MAX_RESET`] (a reset in the past
//!   is zero: the window has already reset);
//! - never panics, whatever the bytes (the proptests check it).

use std::time::Duration;

/// The longest delay any announced reset is believed: a weekly window plus a day.
pub(crate) const MAX_RESET: Duration = Duration::from_secs(8 * 86_400);

/// Longer header values are not parsed at all.
pub(crate) const MAX_VALUE_LEN: usize = 64;

/// Epoch values above this are milliseconds (1e11 seconds is the year 5138).
const EPOCH_MS_ABOVE: f64 = 1e11;

/// Bare numbers above this are epoch seconds rather than a delay (1e9 s is 2001; no provider
/// announces a delay of 31 years).
const EPOCH_S_ABOVE: f64 = 1e9;

fn clamp(secs: f64) -> Option<Duration> {
    if secs.is_nan() {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.clamp(0.0, MAX_RESET.as_secs_f64()),
    ))
}

fn short(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty() && v.len() <= MAX_VALUE_LEN).then_some(v)
}

fn number(v: &str) -> Option<f64> {
    // `f64::from_str` also takes "inf", "NaN" and "1e400": only plain decimals are accepted.
    if !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') || v.starts_with('.') {
        return None;
    }
    v.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `retry-after`: delay-seconds (a decimal fraction is tolerated) or an HTTP date
/// (RFC 9110 §10.2.3, IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`).
#[must_use]
pub(crate) fn retry_after(value: &str, now_unix: f64) -> Option<Duration> {
    let v = short(value)?;
    if let Some(secs) = number(v) {
        return clamp(secs);
    }
    clamp(parse_http_date(v)? - now_unix)
}

/// `anthropic-ratelimit-*-reset`: RFC 3339 for API-key buckets, epoch seconds for the unified
/// subscription windows (milliseconds when the number is that large, as sub2api found).
#[must_use]
pub(crate) fn reset_at(value: &str, now_unix: f64) -> Option<Duration> {
    let v = short(value)?;
    if let Some(n) = number(v) {
        let at = if n > EPOCH_MS_ABOVE { n / 1000.0 } else { n };
        return clamp(at - now_unix);
    }
    clamp(parse_rfc3339_unix(v)? - now_unix)
}

/// `x-ratelimit-reset-*` (OpenAI and those who copy it): a Go-style duration such as `1m30s`,
/// `6ms`, `0.5s`, `1h2m3s`; or a bare number, which is a delay in seconds when small and an
/// epoch time (seconds or milliseconds) when large (OpenRouter sends epoch milliseconds).
#[must_use]
pub(crate) fn reset_after(value: &str, now_unix: f64) -> Option<Duration> {
    let v = short(value)?;
    if let Some(n) = number(v) {
        return if n > EPOCH_MS_ABOVE {
            clamp(n / 1000.0 - now_unix)
        } else if n > EPOCH_S_ABOVE {
            clamp(n - now_unix)
        } else {
            clamp(n)
        };
    }
    clamp(parse_go_duration(v)?)
}

/// `1h2m3.5s`, `250ms`, `10us`: a sequence of decimal numbers, each with a unit.
fn parse_go_duration(v: &str) -> Option<f64> {
    let mut rest = v;
    let mut total = 0.0;
    while !rest.is_empty() {
        let n_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n_len == 0 {
            return None;
        }
        let n = number(&rest[..n_len])?;
        rest = &rest[n_len..];
        let u_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = match &rest[..u_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[u_len..];
        total += n * unit;
    }
    Some(total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, mo: i64, d: i64) -> i64 {
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn valid_civil(mo: i64, d: i64, h: i64, mi: i64, s: i64) -> bool {
    (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..=23).contains(&h)
        && (0..=59).contains(&mi)
        && (0..=60).contains(&s)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "unix seconds fit f64 exactly for millennia"
)]
fn unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> f64 {
    (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) as f64
}

/// IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, to unix seconds. The obsolete RFC 850 and
/// asctime forms are not accepted (no provider sends them).
pub(crate) fn parse_http_date(v: &str) -> Option<f64> {
    let mut parts = v.split_ascii_whitespace();
    let (_dow, d, mon, y, hms, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" || d.len() != 2 || y.len() != 4 || hms.len() != 8 {
        return None;
    }
    let mo = 1 + [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == mon)?;
    let int = |s: &str| -> Option<i64> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (d, y) = (int(d)?, int(y)?);
    let (h, mi, s) = (
        int(hms.get(0..2)?)?,
        int(hms.get(3..5)?)?,
        int(hms.get(6..8)?)?,
    );
    let mo = i64::try_from(mo).ok()?;
    if &hms[2..3] != ":" || &hms[5..6] != ":" || !valid_civil(mo, d, h, mi, s) {
        return None;
    }
    Some(unix(y, mo, d, h, mi, s))
}

/// RFC 3339 (`2026-11-22T10:00:30Z`, with an optional fraction and offset) to unix seconds.
pub(crate) fn parse_rfc3339_unix(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse::<i64>().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !valid_civil(mo, d, h, mi, sec) {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = format!("0.{}", &r[..n]).parse().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = (num_of(&o[1..3])?, num_of(&o[4..6])?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "an offset is at most a day of seconds"
    )]
    Some(unix(y, mo, d, h, mi, sec) - offset as f64 + frac)
}

fn num_of(s: &str) -> Option<i64> {
    s.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| s.parse().ok())?
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: f64 = 1_795_000_000.0; // 2026-11-18

    fn secs(d: Option<Duration>) -> Option<f64> {
        d.map(|d| d.as_secs_f64())
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let cases: &[(&str, Option<f64>)] = &[
            ("7", Some(7.0)),
            (" 7835 ", Some(7835.0)),
            ("2.5", Some(2.5)),
            ("0", Some(0.0)),
            ("99999999", Some(MAX_RESET.as_secs_f64())),
            ("-3", None),
            ("soon", None),
            ("inf", None),
            ("NaN", None),
            ("1e3", None),
            ("", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0.0)),
            ("Wed, 18 Nov 2026 11:07:00 GMT", Some(1_795_000_020.0 - NOW)),
            ("Wed, 18 Nov 2026 11:07:00 PST", None),
            ("Wed, 31 Feb 2026 25:00:00 GMT", None),
        ];
        for (v, want) in cases {
            assert_eq!(secs(retry_after(v, NOW)), *want, "retry-after {v:?}");
        }
    }

    #[test]
    fn anthropic_resets_are_rfc3339_or_epoch_seconds_or_ms() {
        let cases: &[(&str, Option<f64>)] = &[
            ("2026-11-18T11:07:00Z", Some(20.0)),
            ("2026-11-18T11:07:00.5Z", Some(20.5)),
            ("2026-11-18T12:07:00+01:00", Some(20.0)),
            ("1795000020", Some(20.0)),
            ("1795000020000", Some(20.0)),
            ("1794999000", Some(0.0)),
            ("2026-11-18T08:27:00", None),
            ("2026-13-18T08:27:00Z", None),
            ("2026-11-18T08:27:00+1:00", None),
            ("9999-12-31T23:59:59Z", Some(MAX_RESET.as_secs_f64())),
        ];
        for (v, want) in cases {
            assert_eq!(secs(reset_at(v, NOW)), *want, "reset {v:?}");
        }
    }

    #[test]
    fn openai_style_resets_are_durations_or_numbers() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1m30s", Some(90.0)),
            ("6ms", Some(0.006)),
            ("0.5s", Some(0.5)),
            ("1h2m3s", Some(3723.0)),
            ("2m59.56s", Some(179.56)),
            ("20", Some(20.0)),
            ("1795000020", Some(20.0)),
            ("1795000020000", Some(20.0)),
            ("1x", None),
            ("s", None),
            ("1m30", None),
            ("1000h", Some(MAX_RESET.as_secs_f64())),
        ];
        for (v, want) in cases {
            let got = secs(reset_after(v, NOW));
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{v:?}: {g} != {w}"),
                _ => assert_eq!(got, *want, "reset-after {v:?}"),
            }
        }
    }

    #[test]
    fn overlong_values_are_refused() {
        let long = format!("{}s", "1".repeat(MAX_VALUE_LEN));
        assert_eq!(reset_after(&long, NOW), None);
        assert_eq!(retry_after(&"1".repeat(MAX_VALUE_LEN + 1), NOW), None);
    }

    #[test]
    fn rfc3339_matches_known_epochs() {
        assert_eq!(parse_rfc3339_unix("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339_unix("2000-03-01T00:00:00+01:00"),
            Some(951_865_200.0)
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777.0)
        );
    }

    proptest! {
        #[test]
        fn any_input_is_bounded_and_never_panics(v in "\\PC{0,80}", now in 0.0f64..4e9) {
            for d in [retry_after(&v, now), reset_at(&v, now), reset_after(&v, now)]
                .into_iter()
                .flatten()
            {
                prop_assert!(d <= MAX_RESET);
            }
        }

        #[test]
        fn go_durations_round_trip(h in 0u64..200, m in 0u64..60, s in 0u64..60, ms in 0u64..1000) {
            let v = format!("{h}h{m}m{s}s{ms}ms");
            let want = (h * 3600 + m * 60 + s) as f64 + ms as f64 / 1000.0;
            let got = reset_after(&v, NOW).expect("a valid duration parses").as_secs_f64();
            prop_assert!((got - want.min(MAX_RESET.as_secs_f64())).abs() < 1e-6);
        }

        #[test]
        fn epoch_resets_agree_in_seconds_ms_and_rfc3339(delay in 0u32..600_000) {
            let at = NOW as u64 + u64::from(delay);
            let want = Some(Duration::from_secs(u64::from(delay)));
            prop_assert_eq!(reset_at(&at.to_string(), NOW), want);
            prop_assert_eq!(reset_at(&(at * 1000).to_string(), NOW), want);
            let days = i64::try_from(at / 86_400).expect("fits");
            let rem = at % 86_400;
            let (y, mo, d) = civil_from_days(days);
            let text = format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            );
            prop_assert_eq!(reset_at(&text, NOW), want, "{}", text);
        }
    }

    /// Inverse of `days_from_civil`, for the property test only.
    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}
