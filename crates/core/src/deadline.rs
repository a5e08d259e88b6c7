//! Deadlines and waits that cannot overflow.
//!
//! Every wait the station schedules starts as a number from outside: the CSMS's Boot `interval`
//! and HeartbeatInterval, the env file, systemd's `WATCHDOG_USEC`. A number far beyond any real
//! wait (a CSMS answering `interval: 18446744073709551615`) must neither panic ("overflow when
//! adding duration to instant") nor wrap around into a deadline in the past, which would spin.
//! So waits from the CSMS are clamped where they are read ([`csms_interval`]), and every
//! `Instant + Duration` in the station goes through [`after`], which saturates. Lints keep it so:
//! `clippy::arithmetic_side_effects` refuses a plain `+` or `*` on instants and durations (and on
//! integers) outside tests, so the only arithmetic left is `saturating_*`, `checked_*` and this
//! module.

use std::time::{Duration, Instant};

/// The longest interval the station takes from the CSMS: one week, the largest
/// HeartbeatInterval it accepts through SetVariables or ChangeConfiguration. A Boot answer asking
/// for more (a heartbeat every 584 billion years, a Boot retry after the heat death of the
/// universe) is read as a week.
pub const MAX_CSMS_INTERVAL: Duration = Duration::from_secs(7 * 86_400);

/// A deadline this far ahead never comes in practice: the stand-in for "later than any
/// representable instant".
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `now + wait`, or, when that instant cannot be represented, the farthest one within
/// a century that can: late, never early, never a panic.
#[must_use]
pub fn after(now: Instant, wait: Duration) -> Instant {
    if let Some(deadline) = now.checked_add(wait) {
        return deadline;
    }
    let mut step = FAR_FUTURE.min(wait);
    while !step.is_zero() {
        if let Some(deadline) = now.checked_add(step) {
            return deadline;
        }
        step = step.checked_div(2).unwrap_or_default();
    }
    now
}

/// A number of seconds from the CSMS as a wait, at most [`MAX_CSMS_INTERVAL`]. The second value
/// says whether it was cut, so that the caller can say so in the log.
#[must_use]
pub fn csms_interval(seconds: u64) -> (Duration, bool) {
    let requested = Duration::from_secs(seconds);
    if requested > MAX_CSMS_INTERVAL {
        (MAX_CSMS_INTERVAL, true)
    } else {
        (requested, false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    #![allow(
        clippy::disallowed_methods,
        reason = "any real instant will do as a starting point"
    )]
    use super::*;

    #[test]
    fn ordinary_waits_are_added_exactly() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(30)),
            now + Duration::from_secs(30)
        );
        assert_eq!(after(now, Duration::ZERO), now);
    }

    #[test]
    fn an_unrepresentable_deadline_saturates_into_the_far_future() {
        let now = Instant::now();
        for wait in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(i64::MAX as u64),
            Duration::from_secs(u64::MAX / 2) + Duration::from_nanos(999_999_999),
        ] {
            let deadline = after(now, wait);
            assert!(
                deadline >= now + Duration::from_secs(365 * 86_400),
                "{wait:?} must give a deadline far ahead, not now"
            );
        }
    }

    #[test]
    fn csms_intervals_are_clamped_to_a_week() {
        assert_eq!(csms_interval(0), (Duration::ZERO, false));
        assert_eq!(csms_interval(86_400), (Duration::from_secs(86_400), false));
        assert_eq!(csms_interval(7 * 86_400), (MAX_CSMS_INTERVAL, false));
        assert_eq!(csms_interval(7 * 86_400 + 1), (MAX_CSMS_INTERVAL, true));
        assert_eq!(csms_interval(u64::MAX), (MAX_CSMS_INTERVAL, true));
    }

    #[test]
    fn the_cap_is_the_largest_heartbeat_interval_the_device_model_accepts() {
        assert_eq!(
            MAX_CSMS_INTERVAL.as_secs(),
            *crate::device_model::HEARTBEAT_INTERVAL_RANGE.end()
        );
    }
}
