//! The registration state machine (2.0.1 B01-B03, 1.6 section 4.2).

use std::time::{Duration, Instant};

use crate::deadline;
use crate::ocpp::{OcppVersion, RegistrationStatus};

/// Where the station stands with the CSMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    state: State,
    /// The OCPP version of the last Boot Accepted during this process's life: a CSMS on the
    /// other version (after a fallback) has not registered the station.
    accepted_on: Option<OcppVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No Boot answered yet (none sent, or one in flight).
    Unregistered,
    /// The last Boot failed (error, timeout, unreadable answer): try again at `retry_at`.
    Failed { retry_at: Instant },
    /// Pending: keep the socket, answer the CSMS, Boot again at `retry_at`.
    Pending { retry_at: Instant },
    /// Rejected: send nothing until `retry_at`.
    Rejected { retry_at: Instant },
    /// Registered.
    Accepted,
}

impl Default for Registration {
    fn default() -> Self {
        Self::new()
    }
}

impl Registration {
    /// Before any Boot.
    pub fn new() -> Self {
        Self {
            state: State::Unregistered,
            accepted_on: None,
        }
    }

    /// A BootNotification is going out.
    pub fn boot_sent(&mut self, _now: Instant) {
        self.state = State::Unregistered;
    }

    /// The CSMS accepted, speaking `version`.
    pub fn accepted(&mut self, version: OcppVersion) {
        self.state = State::Accepted;
        self.accepted_on = Some(version);
    }

    /// The CSMS answered Pending or Rejected; Boot again after `wait`.
    pub fn not_accepted(&mut self, now: Instant, status: RegistrationStatus, wait: Duration) {
        let retry_at = deadline::after(now, wait);
        self.state = match status {
            RegistrationStatus::Rejected => State::Rejected { retry_at },
            _ => State::Pending { retry_at },
        };
    }

    /// The Boot got no usable answer; try again after `wait`.
    pub fn boot_failed(&mut self, now: Instant, wait: Duration) {
        self.state = State::Failed {
            retry_at: deadline::after(now, wait),
        };
    }

    /// The decision of the last answer.
    pub fn status(&self) -> Option<RegistrationStatus> {
        match self.state {
            State::Accepted => Some(RegistrationStatus::Accepted),
            State::Pending { .. } => Some(RegistrationStatus::Pending),
            State::Rejected { .. } => Some(RegistrationStatus::Rejected),
            State::Unregistered | State::Failed { .. } => None,
        }
    }

    /// Registered now.
    pub fn is_accepted(&self) -> bool {
        self.state == State::Accepted
    }

    /// Registered over `version` at some point of this process's life (and not over the other
    /// version since).
    pub fn ever_accepted_on(&self, version: OcppVersion) -> bool {
        self.accepted_on == Some(version)
    }

    /// When the next Boot is due, if one is scheduled.
    pub fn retry_at(&self) -> Option<Instant> {
        match self.state {
            State::Failed { retry_at }
            | State::Pending { retry_at }
            | State::Rejected { retry_at } => Some(retry_at),
            State::Unregistered | State::Accepted => None,
        }
    }

    /// A scheduled Boot is due.
    pub fn retry_due(&self, now: Instant) -> bool {
        self.retry_at().is_some_and(|t| t <= now)
    }

    /// A scheduled Boot is still in the future: a new connection must wait for it.
    pub fn waiting_at(&self, now: Instant) -> bool {
        self.retry_at().is_some_and(|t| t > now)
    }
}
