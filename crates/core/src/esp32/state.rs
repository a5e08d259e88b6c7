//! From charger states to the connector status the operator sees.
//!
//! [`connector_status`] is the one mapping table; [`StatusTracker`] adds what a single frame
//! cannot know: whether the controller is still talking, whether a resume has lasted, and
//! whether a READY belongs to a session that has already charged.

use std::time::{Duration, Instant};

use super::frame::{ChargerState, PowerBoard, StatFrame};
use crate::ocpp::{ConnectorStatus, Fault, FaultCode};

/// The status a charger state stands for, on its own.
///
/// | STATE | status |
/// |---|---|
/// | 1 IDLE | Available |
/// | 2 CABLE_DETECT, 3 EV_CONNECTED, 4 READY | Preparing |
/// | 5 CHARGING | Charging |
/// | 6 PAUSED | SuspendedEv |
/// | 7 STOPPED | Finishing |
/// | 8 FAULT_HARD, 0 HARDFAULT_END | Faulted: PB=2 GroundFailure; PB=1 OtherError `PHASE_FAULT`; else OtherError |
pub fn connector_status(state: ChargerState, power_board: PowerBoard) -> ConnectorStatus {
    match state {
        ChargerState::Idle => ConnectorStatus::Available,
        ChargerState::CableDetect | ChargerState::EvConnected | ChargerState::Ready => {
            ConnectorStatus::Preparing
        }
        ChargerState::Charging => ConnectorStatus::Charging,
        ChargerState::Paused => ConnectorStatus::SuspendedEv,
        ChargerState::Stopped => ConnectorStatus::Finishing,
        ChargerState::FaultHard | ChargerState::HardFaultEnd => {
            ConnectorStatus::Faulted(fault(state, power_board))
        }
    }
}

/// Why a fault state is a fault. Texts stay within the 50 characters 1.6 allows.
fn fault(state: ChargerState, power_board: PowerBoard) -> Fault {
    match power_board {
        PowerBoard::EarthFault => Fault {
            code: FaultCode::GroundFailure,
            info: Some("earth fault".into()),
            vendor_error_code: None,
        },
        PowerBoard::PhaseFault => Fault {
            code: FaultCode::OtherError,
            info: Some("phase fault".into()),
            vendor_error_code: Some("PHASE_FAULT".into()),
        },
        PowerBoard::Ok | PowerBoard::Unknown(_) => Fault {
            code: FaultCode::OtherError,
            info: Some(if state == ChargerState::HardFaultEnd {
                format!("recovering from a fault ({})", state.name())
            } else {
                format!("charger fault ({})", state.name())
            }),
            vendor_error_code: None,
        },
    }
}

/// The status while the controller cannot be heard: its port is gone or it has sent no valid
/// status frame for too long. Nothing on the station can vouch for the connector then.
pub fn link_lost() -> ConnectorStatus {
    ConnectorStatus::Faulted(Fault {
        code: FaultCode::InternalError,
        info: Some("charge controller link lost".into()),
        vendor_error_code: Some("LINK_LOST".into()),
    })
}

/// Decides what to report for one controller (one connector), from its frames and the clock.
///
/// Rules:
/// - A status is returned only when the reported status changes.
/// - PAUSED -> CHARGING (SuspendedEv -> Charging) is reported only once CHARGING has held for
///   `resume_debounce`, because the EV can flicker between the two; any other frame cancels the
///   pending resume. Every other change is reported at once.
/// - READY (4) after the session has charged (reported Charging or SuspendedEv) reads as
///   SuspendedEv, not Preparing: the firmware resumes PAUSED through READY, and READY there
///   means the EV is not drawing. Before charging, READY is Preparing as in the table.
/// - No valid frame for `stale_after`, or the port lost, reports [`link_lost`] once. Staleness
///   counts from [`StatusTracker::new`] and from every valid frame.
///
/// The caller keeps one timer at [`StatusTracker::poll_timeout`] and calls
/// [`StatusTracker::handle_timeout`] when it fires.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    stale_after: Duration,
    resume_debounce: Duration,
    /// When the controller counts as silent, unless a valid frame comes first. `None` once the
    /// link is reported lost, so a spent deadline never keeps the caller's timer spinning.
    stale_at: Option<Instant>,
    /// When a held CHARGING is reported as a resume.
    resume_at: Option<Instant>,
    reported: Option<ConnectorStatus>,
    last_frame: Option<StatFrame>,
}

impl StatusTracker {
    /// A tracker that has heard nothing yet; staleness counts from `now`.
    pub fn new(now: Instant, stale_after: Duration, resume_debounce: Duration) -> Self {
        Self {
            stale_after,
            resume_debounce,
            stale_at: now.checked_add(stale_after),
            resume_at: None,
            reported: None,
            last_frame: None,
        }
    }

    /// A valid status frame arrived. Returns the status to report, if it changed.
    #[must_use]
    pub fn handle_frame(&mut self, now: Instant, frame: &StatFrame) -> Option<ConnectorStatus> {
        self.stale_at = now.checked_add(self.stale_after);
        self.last_frame = Some(frame.clone());
        let target = self.status_for(frame);

        if self.reported.as_ref() == Some(&target) {
            self.resume_at = None;
            return None;
        }
        if target == ConnectorStatus::Charging
            && self.reported == Some(ConnectorStatus::SuspendedEv)
        {
            let resume_at = *self
                .resume_at
                .get_or_insert_with(|| now.checked_add(self.resume_debounce).unwrap_or(now));
            return if now >= resume_at {
                self.report(ConnectorStatus::Charging)
            } else {
                None
            };
        }
        self.report(target)
    }

    /// The controller's port is gone. Returns [`link_lost`] unless it is already reported.
    #[must_use]
    pub fn handle_link_lost(&mut self, _now: Instant) -> Option<ConnectorStatus> {
        self.stale_at = None;
        self.lose_link()
    }

    /// The next instant [`StatusTracker::handle_timeout`] has work at: the staleness deadline or a
    /// pending resume, whichever is first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.stale_at, self.resume_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires whatever is due at `now`: staleness reports [`link_lost`] (once), a resume that has
    /// held reports Charging. Calling it early or twice is harmless.
    #[must_use]
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ConnectorStatus> {
        if self.stale_at.is_some_and(|at| now >= at) {
            self.stale_at = None;
            return self.lose_link();
        }
        if self.resume_at.is_some_and(|at| now >= at) {
            return self.report(ConnectorStatus::Charging);
        }
        None
    }

    /// The status last returned for reporting, if any.
    pub fn reported(&self) -> Option<&ConnectorStatus> {
        self.reported.as_ref()
    }

    /// The latest valid frame while the link is up; `None` before the first frame and after the
    /// link is lost, so nobody acts on a state that may no longer hold.
    pub fn last_frame(&self) -> Option<&StatFrame> {
        self.last_frame.as_ref()
    }

    fn status_for(&self, frame: &StatFrame) -> ConnectorStatus {
        let in_session = matches!(
            self.reported,
            Some(ConnectorStatus::Charging | ConnectorStatus::SuspendedEv)
        );
        if frame.state == ChargerState::Ready && in_session {
            ConnectorStatus::SuspendedEv
        } else {
            connector_status(frame.state, frame.power_board)
        }
    }

    fn lose_link(&mut self) -> Option<ConnectorStatus> {
        self.last_frame = None;
        self.report(link_lost())
    }

    fn report(&mut self, status: ConnectorStatus) -> Option<ConnectorStatus> {
        self.resume_at = None;
        if self.reported.as_ref() == Some(&status) {
            return None;
        }
        self.reported = Some(status.clone());
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const STALE: Duration = Duration::from_secs(20);
    const DEBOUNCE: Duration = Duration::from_secs(10);

    #[allow(
        clippy::disallowed_methods,
        reason = "tests need one real instant to offset from"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn frame(state: ChargerState) -> StatFrame {
        StatFrame::new(state)
    }

    fn faulted(status: ConnectorStatus) -> Fault {
        match status {
            ConnectorStatus::Faulted(fault) => fault,
            other => panic!("not faulted: {other:?}"),
        }
    }

    #[test]
    fn the_table() {
        use ChargerState::*;
        let ok = PowerBoard::Ok;
        assert_eq!(connector_status(Idle, ok), ConnectorStatus::Available);
        for state in [CableDetect, EvConnected, Ready] {
            assert_eq!(connector_status(state, ok), ConnectorStatus::Preparing);
        }
        assert_eq!(connector_status(Charging, ok), ConnectorStatus::Charging);
        assert_eq!(connector_status(Paused, ok), ConnectorStatus::SuspendedEv);
        assert_eq!(connector_status(Stopped, ok), ConnectorStatus::Finishing);
    }

    #[test]
    fn fault_states_carry_their_cause() {
        for state in [ChargerState::FaultHard, ChargerState::HardFaultEnd] {
            let earth = faulted(connector_status(state, PowerBoard::EarthFault));
            assert_eq!(earth.code, FaultCode::GroundFailure);
            assert_eq!(earth.info.as_deref(), Some("earth fault"));

            let phase = faulted(connector_status(state, PowerBoard::PhaseFault));
            assert_eq!(phase.code, FaultCode::OtherError);
            assert_eq!(phase.vendor_error_code.as_deref(), Some("PHASE_FAULT"));
            assert_eq!(phase.info.as_deref(), Some("phase fault"));
        }
        let hard = faulted(connector_status(ChargerState::FaultHard, PowerBoard::Ok));
        assert_eq!(hard.code, FaultCode::OtherError);
        assert_eq!(hard.info.as_deref(), Some("charger fault (FAULT_HARD)"));
        assert_eq!(hard.vendor_error_code, None);
        let end = faulted(connector_status(
            ChargerState::HardFaultEnd,
            PowerBoard::Unknown(9),
        ));
        assert_eq!(end.code, FaultCode::OtherError);
        assert_eq!(
            end.info.as_deref(),
            Some("recovering from a fault (HARDFAULT_END)")
        );
    }

    #[test]
    fn the_power_board_flag_does_not_fault_a_healthy_state() {
        assert_eq!(
            connector_status(ChargerState::Charging, PowerBoard::EarthFault),
            ConnectorStatus::Charging
        );
    }

    #[test]
    fn every_fault_text_fits_ocpp_16() {
        let boards = [
            PowerBoard::Ok,
            PowerBoard::PhaseFault,
            PowerBoard::EarthFault,
            PowerBoard::Unknown(255),
        ];
        let mut faults = vec![faulted(link_lost())];
        for code in 0..=8 {
            for board in boards {
                if let ConnectorStatus::Faulted(fault) =
                    connector_status(ChargerState::from_code(code).unwrap(), board)
                {
                    faults.push(fault);
                }
            }
        }
        for fault in faults {
            assert!(
                fault.info.as_ref().is_none_or(|s| s.len() <= 50),
                "{fault:?}"
            );
            assert!(
                fault
                    .vendor_error_code
                    .as_ref()
                    .is_none_or(|s| s.len() <= 50),
                "{fault:?}"
            );
        }
    }

    #[test]
    fn link_lost_is_an_internal_error() {
        let fault = faulted(link_lost());
        assert_eq!(fault.code, FaultCode::InternalError);
        assert_eq!(fault.info.as_deref(), Some("charge controller link lost"));
        assert_eq!(fault.vendor_error_code.as_deref(), Some("LINK_LOST"));
    }

    #[test]
    fn only_changes_are_reported() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        assert_eq!(tracker.reported(), None);
        assert_eq!(
            tracker.handle_frame(t, &frame(ChargerState::Idle)),
            Some(ConnectorStatus::Available)
        );
        assert_eq!(
            tracker.handle_frame(t + secs(7), &frame(ChargerState::Idle)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(8), &frame(ChargerState::CableDetect)),
            Some(ConnectorStatus::Preparing)
        );
        // EV_CONNECTED and READY are Preparing too: nothing new to say.
        assert_eq!(
            tracker.handle_frame(t + secs(9), &frame(ChargerState::EvConnected)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(10), &frame(ChargerState::Ready)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(11), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
        assert_eq!(
            tracker.handle_frame(t + secs(12), &frame(ChargerState::Paused)),
            Some(ConnectorStatus::SuspendedEv)
        );
        assert_eq!(
            tracker.handle_frame(t + secs(13), &frame(ChargerState::Stopped)),
            Some(ConnectorStatus::Finishing)
        );
        assert_eq!(tracker.reported(), Some(&ConnectorStatus::Finishing));
        assert_eq!(
            tracker.last_frame().map(|f| f.state),
            Some(ChargerState::Stopped)
        );
    }

    #[test]
    fn a_fault_cause_change_is_a_change() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let mut fault = frame(ChargerState::FaultHard);
        fault.power_board = PowerBoard::EarthFault;
        let earth = tracker.handle_frame(t, &fault).unwrap();
        assert_eq!(faulted(earth).code, FaultCode::GroundFailure);
        assert_eq!(tracker.handle_frame(t + secs(1), &fault), None);
        fault.power_board = PowerBoard::Ok;
        assert!(tracker.handle_frame(t + secs(2), &fault).is_some());
    }

    #[test]
    fn a_resume_is_reported_once_charging_has_held() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Charging));
        assert_eq!(
            tracker.handle_frame(t + secs(1), &frame(ChargerState::Paused)),
            Some(ConnectorStatus::SuspendedEv)
        );
        assert_eq!(
            tracker.handle_frame(t + secs(2), &frame(ChargerState::Charging)),
            None
        );
        assert_eq!(tracker.poll_timeout(), Some(t + secs(12)));
        assert_eq!(
            tracker.handle_frame(t + secs(9), &frame(ChargerState::Charging)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(12), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
        assert_eq!(tracker.poll_timeout(), Some(t + secs(32)));
    }

    #[test]
    fn a_held_resume_is_reported_by_the_timer_between_frames() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        assert_eq!(
            tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging)),
            None
        );
        let due = tracker.poll_timeout().unwrap();
        assert_eq!(due, t + secs(11));
        assert_eq!(tracker.handle_timeout(due - secs(1)), None);
        assert_eq!(tracker.handle_timeout(due), Some(ConnectorStatus::Charging));
        assert_eq!(tracker.handle_timeout(due), None);
        assert_eq!(tracker.poll_timeout(), Some(t + secs(21)));
    }

    #[test]
    fn a_paused_frame_cancels_a_pending_resume() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        let _ = tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging));
        assert_eq!(
            tracker.handle_frame(t + secs(5), &frame(ChargerState::Paused)),
            None
        );
        assert_eq!(tracker.poll_timeout(), Some(t + secs(25)));
        assert_eq!(tracker.handle_timeout(t + secs(11)), None);
        // The debounce starts again with the next CHARGING.
        assert_eq!(
            tracker.handle_frame(t + secs(6), &frame(ChargerState::Charging)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(15), &frame(ChargerState::Charging)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(16), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
    }

    #[test]
    fn a_flicker_reports_one_suspension_and_no_resume() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let mut reports = Vec::new();
        reports.extend(tracker.handle_frame(t, &frame(ChargerState::Charging)));
        reports.clear();
        // Six seconds of PAUSED/CHARGING every half second, the timer polled in between.
        for i in 1..=12u64 {
            let now = t + Duration::from_millis(500 * i);
            let state = if i % 2 == 1 {
                ChargerState::Paused
            } else {
                ChargerState::Charging
            };
            reports.extend(tracker.handle_frame(now, &frame(state)));
            reports.extend(tracker.handle_timeout(now + Duration::from_millis(250)));
        }
        assert_eq!(reports, vec![ConnectorStatus::SuspendedEv]);
    }

    #[test]
    fn ready_after_charging_is_a_suspension_not_preparing() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Ready));
        assert_eq!(tracker.reported(), Some(&ConnectorStatus::Preparing));
        let _ = tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging));
        // PAUSED -> READY -> CHARGING is how the firmware resumes.
        assert_eq!(
            tracker.handle_frame(t + secs(2), &frame(ChargerState::Paused)),
            Some(ConnectorStatus::SuspendedEv)
        );
        assert_eq!(
            tracker.handle_frame(t + secs(3), &frame(ChargerState::Ready)),
            None
        );
        assert_eq!(
            tracker.handle_frame(t + secs(4), &frame(ChargerState::Charging)),
            None
        );
        // READY in the middle of a pending resume cancels it: CHARGING did not hold.
        assert_eq!(
            tracker.handle_frame(t + secs(5), &frame(ChargerState::Ready)),
            None
        );
        assert_eq!(tracker.handle_timeout(t + secs(14)), None);
        // Sampled straight from CHARGING, READY is a suspension too.
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Charging));
        assert_eq!(
            tracker.handle_frame(t + secs(1), &frame(ChargerState::Ready)),
            Some(ConnectorStatus::SuspendedEv)
        );
    }

    #[test]
    fn without_a_debounce_a_resume_is_reported_at_once() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, Duration::ZERO);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        assert_eq!(
            tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
    }

    #[test]
    fn other_changes_from_suspended_are_reported_at_once() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        let _ = tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging));
        assert_eq!(
            tracker.handle_frame(t + secs(2), &frame(ChargerState::Stopped)),
            Some(ConnectorStatus::Finishing)
        );
        assert_eq!(tracker.poll_timeout(), Some(t + secs(22)));
    }

    #[test]
    fn silence_from_the_start_is_a_lost_link() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        assert_eq!(tracker.poll_timeout(), Some(t + STALE));
        assert_eq!(tracker.handle_timeout(t + secs(19)), None);
        assert_eq!(tracker.handle_timeout(t + STALE), Some(link_lost()));
    }

    #[test]
    fn staleness_fires_exactly_once() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t + secs(5), &frame(ChargerState::Charging));
        assert_eq!(tracker.poll_timeout(), Some(t + secs(25)));
        // Early calls are harmless.
        assert_eq!(tracker.handle_timeout(t + secs(24)), None);
        assert_eq!(tracker.reported(), Some(&ConnectorStatus::Charging));

        let mut fired = Vec::new();
        for s in 25..100 {
            fired.extend(tracker.handle_timeout(t + secs(s)));
        }
        assert_eq!(fired, vec![link_lost()]);
        assert_eq!(tracker.poll_timeout(), None);
        assert_eq!(tracker.last_frame(), None);

        // A frame brings the status back and restarts the count.
        assert_eq!(
            tracker.handle_frame(t + secs(100), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
        assert_eq!(tracker.poll_timeout(), Some(t + secs(120)));
    }

    #[test]
    fn staleness_wins_over_a_pending_resume() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, secs(30));
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        let _ = tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging));
        assert_eq!(tracker.poll_timeout(), Some(t + secs(21)));
        assert_eq!(tracker.handle_timeout(t + secs(40)), Some(link_lost()));
        assert_eq!(tracker.poll_timeout(), None);
        assert_eq!(tracker.handle_timeout(t + secs(41)), None);
    }

    #[test]
    fn a_lost_port_is_reported_at_once_and_once() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        let _ = tracker.handle_frame(t, &frame(ChargerState::Paused));
        let _ = tracker.handle_frame(t + secs(1), &frame(ChargerState::Charging));
        assert_eq!(tracker.handle_link_lost(t + secs(2)), Some(link_lost()));
        assert_eq!(tracker.handle_link_lost(t + secs(3)), None);
        assert_eq!(tracker.poll_timeout(), None);
        assert_eq!(tracker.handle_timeout(t + secs(60)), None);
        assert_eq!(tracker.last_frame(), None);
        // After a lost link a CHARGING frame is reported at once: it is not a resume.
        assert_eq!(
            tracker.handle_frame(t + secs(70), &frame(ChargerState::Charging)),
            Some(ConnectorStatus::Charging)
        );
    }

    #[test]
    fn a_lost_port_before_any_frame_is_reported() {
        let t = t0();
        let mut tracker = StatusTracker::new(t, STALE, DEBOUNCE);
        assert_eq!(tracker.handle_link_lost(t), Some(link_lost()));
        assert_eq!(tracker.handle_timeout(t + STALE), None);
    }
}
