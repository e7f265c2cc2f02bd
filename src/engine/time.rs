//! Time as the engine holds it: microseconds since the Unix epoch, UTC.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};

pub const US_PER_SEC: i64 = 1_000_000;
pub const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// Days (possibly fractional, e.g. W/2 = 15.5) as microseconds, exactly.
pub fn days_to_us(days: f64) -> i64 {
    (days * US_PER_DAY as f64).round() as i64
}

/// 00:00 UTC of the day containing `ts`.
pub fn floor_day(ts: i64) -> i64 {
    ts.div_euclid(US_PER_DAY) * US_PER_DAY
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the anchor format of the feature table.
pub fn fmt_anchor(ts: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(ts) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => format!("<invalid time {ts}>"),
    }
}

/// `YYYY-MM-DD HH:MM:SS`, for human summaries.
pub fn fmt_human(ts: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(ts) {
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => format!("<invalid time {ts}>"),
    }
}

/// Parse an anchor given by a user: `YYYY-MM-DD` (00:00 UTC), `YYYY-MM-DDTHH:MM:SSZ` or
/// `YYYY-MM-DD HH:MM:SS`.
pub fn parse_anchor(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(
            Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
                .timestamp_micros(),
        );
    }
    for fmt in ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&dt).timestamp_micros());
        }
    }
    None
}

/// 00:00 UTC on the first of the month containing `ts`, and on the first of the next month.
pub fn month_start(ts: i64) -> Option<i64> {
    let dt = DateTime::<Utc>::from_timestamp_micros(ts)?;
    let d = NaiveDate::from_ymd_opt(dt.year(), dt.month(), 1)?;
    Some(
        Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
            .timestamp_micros(),
    )
}

pub fn next_month_start(ts: i64) -> Option<i64> {
    let start = month_start(ts)?;
    // 32 days past the 1st is always inside the next month.
    month_start(start + 32 * US_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_round_trip() {
        let t = parse_anchor("2019-11-01").unwrap();
        assert_eq!(t, 1_572_566_400 * US_PER_SEC);
        assert_eq!(fmt_anchor(t), "2019-11-01T00:00:00Z");
        assert_eq!(parse_anchor("2019-11-01T00:00:00Z"), Some(t));
        assert_eq!(parse_anchor("2019-11-01T00:00:00+01:00"), None);
        assert_eq!(next_month_start(t), parse_anchor("2019-12-01"));
        assert_eq!(
            next_month_start(parse_anchor("2019-12-15 10:00:00").unwrap()),
            parse_anchor("2020-01-01")
        );
        assert_eq!(days_to_us(15.5), 15 * US_PER_DAY + US_PER_DAY / 2);
    }
}
