//! systemd service notifications (`Type=notify`): `READY=1` once the station runs, `STOPPING=1`
//! when it shuts down, and `WATCHDOG=1` pings (`WatchdogSec=`) from the daemon's loops, so that a
//! loop that hangs gets the station restarted.
//!
//! Outside systemd (no `NOTIFY_SOCKET`), every call here does nothing. A failed notification is
//! logged and never stops the station.

use std::time::{Duration, Instant};

// `::sd_notify` is the crate of that name, not this module.
use ::sd_notify::NotifyState;

fn notify(state: NotifyState<'_>) {
    if let Err(error) = ::sd_notify::notify(std::slice::from_ref(&state)) {
        tracing::warn!(%error, "could not notify systemd ({state})");
    }
}

/// Tells systemd the station has started (`READY=1`).
pub fn ready() {
    notify(NotifyState::Ready);
}

/// Tells systemd the station is shutting down (`STOPPING=1`).
pub fn stopping() {
    notify(NotifyState::Stopping);
}

/// systemd's watchdog: `WATCHDOG=1` at least every half of `WATCHDOG_USEC`.
///
/// Time is a parameter: the caller passes `now` to [`Watchdog::ping_if_due`] and wakes up by
/// [`Watchdog::next_ping`] at the latest.
#[derive(Debug)]
pub struct Watchdog {
    /// Half the watchdog timeout: a ping that is late by a whole scheduler hiccup still arrives
    /// in time.
    period: Duration,
    /// When the next ping is due; `None` until the first one, which is due at once.
    next: Option<Instant>,
    /// A failed ping has been logged: the next failures are not (they would repeat every period).
    failure_logged: bool,
}

impl Watchdog {
    /// The watchdog systemd asks for: `WATCHDOG_USEC`, honoured only when `WATCHDOG_PID` is unset
    /// or names this process (a child that inherited the variables must not ping for its parent).
    /// `None` when no watchdog is enabled.
    pub fn from_env() -> Option<Watchdog> {
        ::sd_notify::watchdog_enabled().and_then(Watchdog::new)
    }

    /// A watchdog with this timeout; `None` for a zero timeout (systemd's "disabled").
    pub fn new(timeout: Duration) -> Option<Watchdog> {
        (!timeout.is_zero()).then(|| Watchdog {
            period: timeout.checked_div(2).unwrap_or(timeout),
            next: None,
            failure_logged: false,
        })
    }

    /// How often the watchdog is pinged: half its timeout.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// When the next ping is due; `None` before the first ping (due at once).
    #[must_use]
    pub fn next_ping(&self) -> Option<Instant> {
        self.next
    }

    /// Sends `WATCHDOG=1` when a ping is due at `now`; returns whether it was due.
    pub fn ping_if_due(&mut self, now: Instant) -> bool {
        if self.next.is_some_and(|next| now < next) {
            return false;
        }
        self.next = Some(crate::deadline::after(now, self.period));
        if let Err(error) = ::sd_notify::notify(&[NotifyState::Watchdog])
            && !self.failure_logged
        {
            tracing::warn!(%error, "could not ping the systemd watchdog");
            self.failure_logged = true;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::disallowed_methods,
        reason = "test code: a panic is a test failure; the tests need a base instant"
    )]

    use super::*;

    #[test]
    fn a_zero_timeout_is_no_watchdog() {
        assert!(Watchdog::new(Duration::ZERO).is_none());
        assert_eq!(
            Watchdog::new(Duration::from_secs(30)).unwrap().period(),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn pings_at_once_then_every_half_timeout() {
        let start = Instant::now();
        let mut watchdog = Watchdog::new(Duration::from_secs(30)).unwrap();
        assert_eq!(watchdog.next_ping(), None);
        assert!(watchdog.ping_if_due(start));
        assert_eq!(watchdog.next_ping(), Some(start + Duration::from_secs(15)));
        assert!(!watchdog.ping_if_due(start + Duration::from_secs(14)));
        assert!(watchdog.ping_if_due(start + Duration::from_secs(15)));
        assert_eq!(watchdog.next_ping(), Some(start + Duration::from_secs(30)));
    }

    #[test]
    fn a_huge_watchdog_usec_schedules_far_ahead_without_a_panic() {
        // WATCHDOG_USEC comes from the environment: u64::MAX microseconds is half a million years.
        let start = Instant::now();
        let mut watchdog = Watchdog::new(Duration::from_micros(u64::MAX)).unwrap();
        assert!(watchdog.ping_if_due(start));
        assert!(watchdog.next_ping().unwrap() > start + Duration::from_secs(365 * 86_400));
        assert!(!watchdog.ping_if_due(start));
    }

    #[test]
    fn a_late_wake_up_pings_once_and_starts_a_new_period() {
        let start = Instant::now();
        let mut watchdog = Watchdog::new(Duration::from_secs(2)).unwrap();
        assert!(watchdog.ping_if_due(start));
        let late = start + Duration::from_secs(5);
        assert!(watchdog.ping_if_due(late));
        assert!(!watchdog.ping_if_due(late));
        assert_eq!(watchdog.next_ping(), Some(late + Duration::from_secs(1)));
    }
}
