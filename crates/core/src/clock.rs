//! Wall-clock time for OCPP timestamps.
//!
//! The station core never reads a clock itself: it is handed a [`WallClock`] (the operating
//! system's from the shell, a simulated one in tests) and a monotonic `Instant` with every event. On the wire every
//! timestamp is RFC 3339 UTC with `Z` and at most 3 fractional digits: some CSMSs drop messages
//! with more, and chrono's default serialization can print 9.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// A source of UTC wall-clock time.
pub trait WallClock: Send + Sync {
    /// The current UTC time.
    fn now_utc(&self) -> DateTime<Utc>;
}

/// `time` cut to whole milliseconds, so that any serializer prints at most 3 fractional digits.
pub fn to_wire_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(3)
}

/// `time` as an OCPP timestamp: `2026-11-22T08:00:00.042Z`.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    to_wire_precision(time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a timestamp from the CSMS leniently: any RFC 3339 offset, any number of fractional
/// digits. `None` when it is not a timestamp at all.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn with_nanos(nanos: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(i64::from(nanos))
    }

    #[test]
    fn formatted_timestamps_have_millisecond_precision_and_z() {
        assert_eq!(
            format_timestamp(with_nanos(123_456_789)),
            "2026-11-22T08:00:00.123Z"
        );
        assert_eq!(format_timestamp(with_nanos(0)), "2026-11-22T08:00:00.000Z");
    }

    #[test]
    fn chrono_default_serialization_of_truncated_time_has_at_most_3_digits() {
        // rust-ocpp's 1.6 types serialize DateTime<Utc> with chrono's default, which prints
        // nanoseconds unless the value was truncated first.
        let raw = serde_json::to_string(&with_nanos(123_456_789)).unwrap();
        assert_eq!(raw, "\"2026-11-22T08:00:00.123456789Z\"");
        let cut = serde_json::to_string(&to_wire_precision(with_nanos(123_456_789))).unwrap();
        assert_eq!(cut, "\"2026-11-22T08:00:00.123Z\"");
        let whole = serde_json::to_string(&to_wire_precision(with_nanos(999))).unwrap();
        assert_eq!(whole, "\"2026-11-22T08:00:00Z\"");
    }

    #[test]
    fn csms_timestamps_with_offsets_are_accepted() {
        let t = parse_timestamp("2026-11-22T10:00:00.5+02:00").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-22T08:00:00.500Z");
        assert!(parse_timestamp("yesterday").is_none());
    }
}
