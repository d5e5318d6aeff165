//! Time in the browser's zone: the `tz` parameter and the regrouping of the store's UTC slots
//! into local hours and days.
//!
//! The store sums per UTC hour (from the hourly rollups on SQLite). A UTC hour lies inside one
//! local hour, and so inside one local day, whenever the zone's offset is a whole number of
//! hours at both of its ends — true of most zones at most times, DST included. Where it is not
//! (India +5:30, Nepal +5:45, Lord Howe's half-hour DST…), the slots are read again in quarter
//! hours, which every offset in use today divides.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Offset as _, TimeZone as _, Timelike as _, Utc};
use chrono_tz::Tz;
use switchboard_store::{Bucket, Totals};

use super::ApiError;
use super::params::{Kind, Params, Spec};

pub(crate) const TZ: Spec = Spec {
    name: "tz",
    description: "IANA time zone (e.g. Europe/Paris) whose local midnights and hours bound the buckets; default UTC. Each bucket carries its UTC start and its local label.",
    kind: Kind::Text,
};

/// The `tz` parameter, UTC when absent.
pub(crate) fn zone(params: &Params) -> Result<Tz, ApiError> {
    match params.text_of("tz") {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ApiError::bad(
                "tz",
                format!("not an IANA time zone: {name:?} (e.g. UTC, Europe/Paris, Asia/Shanghai)"),
            )
        }),
    }
}

/// Whether the UTC slot `[start, start + width)` lies inside one local hour of `tz`.
fn aligned(tz: Tz, start: DateTime<Utc>, width: Duration) -> bool {
    let whole = |t: DateTime<Utc>| {
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
            % 3600
            == 0
    };
    whole(start) && whole(start + width - Duration::microseconds(1))
}

/// Whether every slot of `starts` (each `width` wide) can be regrouped exactly.
pub(crate) fn all_aligned(
    tz: Tz,
    width: Bucket,
    starts: impl IntoIterator<Item = DateTime<Utc>>,
) -> bool {
    width == Bucket::QuarterHour
        || starts
            .into_iter()
            .all(|s| aligned(tz, s, Duration::microseconds(width.micros())))
}

/// The start (in UTC) of the local hour or day of `tz` that holds the instant `t`.
pub(crate) fn bucket_start(tz: Tz, bucket: Bucket, t: DateTime<Utc>) -> DateTime<Utc> {
    let local = t.with_timezone(&tz);
    match bucket {
        Bucket::QuarterHour => t,
        Bucket::Hour => {
            t - Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()))
        }
        Bucket::Day => local_midnight(tz, local.date_naive()),
    }
}

/// The first instant of the local day `date` (midnight, or the end of a gap that skips it).
pub(crate) fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut at = date.and_time(chrono::NaiveTime::MIN);
    for _ in 0..8 {
        if let Some(t) = tz.from_local_datetime(&at).earliest() {
            return t.with_timezone(&Utc);
        }
        at += Duration::minutes(15);
    }
    // No zone has a gap that long: the UTC reading of the wall clock.
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// The label of a bucket starting at `start`: `2026-01-31` for a day, `2026-01-31T14:00+01:00`
/// for an hour (the offset tells apart the two 01:00s of a DST change).
pub(crate) fn label(tz: Tz, bucket: Bucket, start: DateTime<Utc>) -> String {
    let local = start.with_timezone(&tz);
    match bucket {
        Bucket::Day => local.format("%Y-%m-%d").to_string(),
        _ => local.format("%Y-%m-%dT%H:%M%:z").to_string(),
    }
}

/// Sums `slots` (UTC start, key, totals) into the local buckets holding them, oldest first.
pub(crate) fn regroup<K: Ord + Clone>(
    tz: Tz,
    bucket: Bucket,
    slots: impl IntoIterator<Item = (DateTime<Utc>, K, Totals)>,
) -> Vec<(DateTime<Utc>, K, Totals)> {
    let mut out: BTreeMap<(DateTime<Utc>, K), Totals> = BTreeMap::new();
    for (start, key, totals) in slots {
        out.entry((bucket_start(tz, bucket, start), key))
            .or_default()
            .add(&totals);
    }
    out.into_iter().map(|((s, k), t)| (s, k, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn days_follow_local_midnight_across_dst() {
        let paris: Tz = "Europe/Paris".parse().expect("zone");
        // 2026-03-29 is 23 hours long in Paris, 2026-10-25 25 hours.
        assert_eq!(
            bucket_start(paris, Bucket::Day, utc("2026-03-29T21:30:00Z")),
            utc("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            bucket_start(paris, Bucket::Day, utc("2026-03-29T22:30:00Z")),
            utc("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            bucket_start(paris, Bucket::Day, utc("2026-10-25T22:59:00Z")),
            utc("2026-10-24T22:00:00Z")
        );
        assert_eq!(
            label(paris, Bucket::Day, utc("2026-10-24T22:00:00Z")),
            "2026-10-25"
        );
        // The repeated 02:00 of the fall change: two hours, told apart by their offsets.
        let first = bucket_start(paris, Bucket::Hour, utc("2026-10-25T00:10:00Z"));
        let second = bucket_start(paris, Bucket::Hour, utc("2026-10-25T01:10:00Z"));
        assert_eq!(label(paris, Bucket::Hour, first), "2026-10-25T02:00+02:00");
        assert_eq!(label(paris, Bucket::Hour, second), "2026-10-25T02:00+01:00");
    }

    #[test]
    fn half_hour_zones_need_quarter_hours() {
        let kolkata: Tz = "Asia/Kolkata".parse().expect("zone");
        let hour = Duration::hours(1);
        assert!(!aligned(kolkata, utc("2026-01-01T00:00:00Z"), hour));
        assert!(aligned(Tz::UTC, utc("2026-01-01T00:00:00Z"), hour));
        assert_eq!(
            bucket_start(kolkata, Bucket::Day, utc("2026-01-01T18:45:00Z")),
            utc("2026-01-01T18:30:00Z")
        );
        assert_eq!(
            bucket_start(kolkata, Bucket::Hour, utc("2026-01-01T18:45:00Z")),
            utc("2026-01-01T18:30:00Z")
        );
    }

    #[test]
    fn regrouping_sums_slots_into_local_days() {
        let tokyo: Tz = "Asia/Tokyo".parse().expect("zone");
        let t = |n| Totals {
            requests: n,
            ..Totals::default()
        };
        let got = regroup(
            tokyo,
            Bucket::Day,
            [
                (utc("2026-01-01T14:00:00Z"), (), t(1)),
                (utc("2026-01-01T15:00:00Z"), (), t(2)),
                (utc("2026-01-02T14:00:00Z"), (), t(4)),
            ],
        );
        let got: Vec<(String, u64)> = got
            .into_iter()
            .map(|(s, (), t)| (label(tokyo, Bucket::Day, s), t.requests))
            .collect();
        assert_eq!(
            got,
            [("2026-01-01".to_owned(), 1), ("2026-01-02".to_owned(), 6)]
        );
    }
}
