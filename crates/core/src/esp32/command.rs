//! The controller's binary commands, and the queue that keeps them safe.
//!
//! The firmware trusts whatever it is sent: set-max-current forces its state machine to IDLE
//! (ending a session), authorize is silently dropped in IDLE, stop is not validated. So every
//! command is checked against the charger state when it is submitted and again when it is about
//! to go out, at most one awaits an acknowledgement (acknowledgements carry no correlation id),
//! and nothing survives a lost link.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::frame::{Ack, AckCommand, AckStatus, ChargerState, StatFrame};

/// How long an acknowledged command may wait for its ACK.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a stop may wait for a status frame with STATE 7 (the stop command has no ACK).
pub const STOP_CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);

/// How many commands may wait behind the one in flight.
pub const QUEUE_CAPACITY: usize = 8;

/// The current limits the firmware accepts, A.
pub const MAX_CURRENT_RANGE: std::ops::RangeInclusive<u8> = 6..=32;

/// The commands the host sends. The firmware knows more, but these four are all the station
/// needs and all that have been checked against its behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Ask for a status frame now (answered by STAT, then `ACK;CMD=READSTAT`).
    ReadStatus,
    /// Authorize the session (`ACK;CMD=AUTH`).
    Authorize,
    /// Set the current limit, A (`ACK;CMD=SETMAXAMP`).
    SetMaxCurrent(u8),
    /// End the session: the firmware goes to STATE 7 and sends no ACK.
    StopCharging,
}

impl Command {
    /// The five bytes on the wire: `0x41 CMD 0x2C VALUE 0x10`.
    pub fn bytes(self) -> [u8; 5] {
        let (cmd, value) = match self {
            Command::ReadStatus => (0x00, 0x00),
            Command::Authorize => (0x01, 0x01),
            Command::SetMaxCurrent(amps) => (0x02, amps),
            Command::StopCharging => (0x04, 0x07),
        };
        [0x41, cmd, 0x2C, value, 0x10]
    }

    /// Whether it changes what the charger does (everything but reading status).
    pub fn is_actuation(self) -> bool {
        self != Command::ReadStatus
    }

    /// The ACK name that answers it; `None` for stop, which is confirmed by STATE 7 instead.
    fn ack_name(self) -> Option<AckCommand> {
        match self {
            Command::ReadStatus => Some(AckCommand::ReadStat),
            Command::Authorize => Some(AckCommand::Auth),
            Command::SetMaxCurrent(_) => Some(AckCommand::SetMaxAmp),
            Command::StopCharging => None,
        }
    }

    /// Whether the firmware handles it safely in `state`.
    fn allowed_in(self, state: Option<ChargerState>) -> bool {
        match self {
            Command::ReadStatus => true,
            // In IDLE the firmware drops it without an ACK.
            Command::Authorize => state.is_some_and(|s| s != ChargerState::Idle),
            // The firmware forces IDLE on receipt: anywhere else it would end a session.
            Command::SetMaxCurrent(_) => state == Some(ChargerState::Idle),
            Command::StopCharging => matches!(
                state,
                Some(ChargerState::Ready | ChargerState::Charging | ChargerState::Paused)
            ),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::ReadStatus => f.write_str("read-status"),
            Command::Authorize => f.write_str("authorize"),
            Command::SetMaxCurrent(amps) => write!(f, "set-max-current {amps} A"),
            Command::StopCharging => f.write_str("stop-charging"),
        }
    }
}

/// Why a command was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The controller cannot be reached; nothing is kept for later.
    #[error("the charge controller link is down")]
    LinkDown,
    /// The firmware would mishandle the command in this state.
    #[error("{command} is not safe in charger state {}", state_name(*.state))]
    NotInState {
        /// The command refused.
        command: Command,
        /// The charger state it was checked against (`None`: unknown).
        state: Option<ChargerState>,
    },
    /// A current limit outside 6..=32 A.
    #[error("{0} A is outside the 6-32 A the charge controller accepts")]
    OutOfRange(u8),
    /// [`QUEUE_CAPACITY`] commands are already waiting.
    #[error("the charge controller command queue is full")]
    QueueFull,
}

fn state_name(state: Option<ChargerState>) -> &'static str {
    state.map_or("unknown", ChargerState::name)
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Acknowledged with OK (or CLEARED); for stop: STATE 7 was seen.
    Done(Command),
    /// Acknowledged with ERR, NOT CLEARED or a status this host does not know.
    Refused(Command),
    /// No ACK within [`ACK_TIMEOUT`]; for stop: no STATE 7 within [`STOP_CONFIRM_TIMEOUT`].
    TimedOut(Command),
    /// Never sent, or its answer will never count: the link went down, or the charger state
    /// changed so that sending it is no longer safe.
    Dropped(Command),
}

/// The command awaiting its ACK.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    command: Command,
    deadline: Instant,
}

/// Commands for one controller: checked, queued, sent one at a time, and resolved.
///
/// Driving it: [`CommandQueue::submit`] what the station wants; call
/// [`CommandQueue::poll_transmit`] until it returns `None` and write each command; then drain
/// [`CommandQueue::poll_outcome`] (commands dropped there because the state changed). Feed every
/// ACK to [`CommandQueue::handle_ack`] and every valid status frame to
/// [`CommandQueue::handle_status`]; keep one timer at [`CommandQueue::poll_timeout`] and call
/// [`CommandQueue::handle_timeout`] when it fires; call [`CommandQueue::handle_link_down`] when the port
/// is lost. After each of these, poll for transmissions again.
///
/// A stop awaits its STATE 7 in its own slot, beside the ACK slot: the read-status queued behind
/// it goes out at once and brings the confirmation. Until the stop resolves only read-status is
/// sent, so no other actuation races it.
///
/// Outcomes of read-status are informational (one is queued behind every stop without being
/// submitted). An ACK that arrives after its command timed out cannot be told apart from the
/// answer to a newer command with the same name; the firmware gives no way to do better.
#[derive(Debug, Clone, Default)]
pub struct CommandQueue {
    queue: VecDeque<Command>,
    in_flight: Option<InFlight>,
    /// The deadline of the stop awaiting STATE 7.
    awaiting_stop: Option<Instant>,
    /// The latest charger state known, from submissions and status frames.
    state: Option<ChargerState>,
    /// Outcomes decided while transmitting, for [`CommandQueue::poll_outcome`].
    outcomes: VecDeque<CommandOutcome>,
}

impl CommandQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `cmd` if it is safe in `state` (the latest status frame's state, `None` when
    /// unknown) and the link is up.
    ///
    /// A read-status already waiting, or a stop already waiting or awaiting STATE 7, absorbs a
    /// new one: it is accepted and answered by the outcome of the one already there.
    pub fn submit(
        &mut self,
        cmd: Command,
        state: Option<ChargerState>,
        link_up: bool,
    ) -> Result<(), CommandError> {
        if !link_up {
            return Err(CommandError::LinkDown);
        }
        self.state = state;
        if let Command::SetMaxCurrent(amps) = cmd
            && !MAX_CURRENT_RANGE.contains(&amps)
        {
            return Err(CommandError::OutOfRange(amps));
        }
        if !cmd.allowed_in(state) {
            return Err(CommandError::NotInState {
                command: cmd,
                state,
            });
        }
        let absorbed = match cmd {
            Command::ReadStatus => self.queue.contains(&cmd),
            Command::StopCharging => self.awaiting_stop.is_some() || self.queue.contains(&cmd),
            Command::Authorize | Command::SetMaxCurrent(_) => false,
        };
        if absorbed {
            return Ok(());
        }
        if self.queue.len() >= QUEUE_CAPACITY {
            return Err(CommandError::QueueFull);
        }
        self.queue.push_back(cmd);
        Ok(())
    }

    /// The next command to write, if one may go now. Commands that are no longer safe in the
    /// latest known state are dropped here (see [`CommandQueue::poll_outcome`]).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<[u8; 5]> {
        if self.in_flight.is_some() {
            return None;
        }
        loop {
            let at = if self.awaiting_stop.is_some() {
                self.queue.iter().position(|c| *c == Command::ReadStatus)?
            } else {
                0
            };
            let cmd = self.queue.remove(at)?;
            if !cmd.allowed_in(self.state) {
                self.outcomes.push_back(CommandOutcome::Dropped(cmd));
                continue;
            }
            if cmd == Command::StopCharging {
                self.awaiting_stop = Some(deadline(now, STOP_CONFIRM_TIMEOUT));
                // Ask at once rather than wait up to 7.5 s for the periodic frame.
                self.queue.retain(|c| *c != Command::ReadStatus);
                self.queue.push_front(Command::ReadStatus);
            } else {
                self.in_flight = Some(InFlight {
                    command: cmd,
                    deadline: deadline(now, ACK_TIMEOUT),
                });
            }
            return Some(cmd.bytes());
        }
    }

    /// The next outcome decided while transmitting (a command dropped because the charger state
    /// changed after it was submitted).
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<CommandOutcome> {
        self.outcomes.pop_front()
    }

    /// An acknowledgement arrived. Resolves the command in flight when the names match; any
    /// other ACK is ignored.
    #[must_use]
    pub fn handle_ack(&mut self, _now: Instant, ack: &Ack) -> Option<CommandOutcome> {
        let in_flight = self.in_flight?;
        if in_flight.command.ack_name() != Some(ack.command) {
            return None;
        }
        self.in_flight = None;
        Some(match ack.status {
            AckStatus::Ok | AckStatus::Cleared => CommandOutcome::Done(in_flight.command),
            AckStatus::Err | AckStatus::NotCleared | AckStatus::Other(_) => {
                CommandOutcome::Refused(in_flight.command)
            }
        })
    }

    /// A valid status frame arrived: it updates the known state and confirms a pending stop
    /// when it shows STATE 7. (A read-status is resolved by its ACK, not by the frame.)
    #[must_use]
    pub fn handle_status(&mut self, _now: Instant, frame: &StatFrame) -> Option<CommandOutcome> {
        self.state = Some(frame.state);
        if self.awaiting_stop.is_some() && frame.state == ChargerState::Stopped {
            self.awaiting_stop = None;
            return Some(CommandOutcome::Done(Command::StopCharging));
        }
        None
    }

    /// The earliest deadline: the ACK awaited or the stop confirmation.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ack = self.in_flight.map(|f| f.deadline);
        match (ack, self.awaiting_stop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Times out whatever is overdue at `now`. Calling it early or twice is harmless.
    #[must_use]
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<CommandOutcome> {
        let mut outcomes = Vec::new();
        if let Some(in_flight) = self.in_flight.filter(|f| now >= f.deadline) {
            self.in_flight = None;
            outcomes.push(CommandOutcome::TimedOut(in_flight.command));
        }
        if self.awaiting_stop.is_some_and(|at| now >= at) {
            self.awaiting_stop = None;
            outcomes.push(CommandOutcome::TimedOut(Command::StopCharging));
        }
        outcomes
    }

    /// The port is gone: everything waiting or in flight is dropped, for good. What it was meant
    /// for has passed by the time the link returns, so nothing is replayed.
    #[must_use]
    pub fn handle_link_down(&mut self) -> Vec<CommandOutcome> {
        let mut outcomes: Vec<CommandOutcome> = self.outcomes.drain(..).collect();
        if let Some(in_flight) = self.in_flight.take() {
            outcomes.push(CommandOutcome::Dropped(in_flight.command));
        }
        if self.awaiting_stop.take().is_some() {
            outcomes.push(CommandOutcome::Dropped(Command::StopCharging));
        }
        outcomes.extend(self.queue.drain(..).map(CommandOutcome::Dropped));
        self.state = None;
        outcomes
    }

    /// The command awaiting its ACK, if any.
    pub fn in_flight(&self) -> Option<Command> {
        self.in_flight.map(|f| f.command)
    }

    /// Whether a stop is awaiting its STATE 7.
    pub fn awaiting_stop(&self) -> bool {
        self.awaiting_stop.is_some()
    }

    /// Whether nothing is waiting, in flight or awaiting confirmation.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_none() && self.awaiting_stop.is_none()
    }
}

/// `now + timeout`; on an overflow no real clock reaches, the deadline is simply now.
fn deadline(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ChargerState::*;
    use Command::*;

    #[allow(
        clippy::disallowed_methods,
        reason = "tests need one real instant to offset from"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ack(command: AckCommand, status: AckStatus) -> Ack {
        Ack { command, status }
    }

    fn ok(command: AckCommand) -> Ack {
        ack(command, AckStatus::Ok)
    }

    const ALL_STATES: [ChargerState; 9] = [
        HardFaultEnd,
        Idle,
        CableDetect,
        EvConnected,
        Ready,
        Charging,
        Paused,
        Stopped,
        FaultHard,
    ];

    #[test]
    fn the_wire_bytes() {
        assert_eq!(ReadStatus.bytes(), [0x41, 0x00, 0x2C, 0x00, 0x10]);
        assert_eq!(Authorize.bytes(), [0x41, 0x01, 0x2C, 0x01, 0x10]);
        assert_eq!(SetMaxCurrent(16).bytes(), [0x41, 0x02, 0x2C, 16, 0x10]);
        assert_eq!(SetMaxCurrent(32).bytes(), [0x41, 0x02, 0x2C, 0x20, 0x10]);
        assert_eq!(StopCharging.bytes(), [0x41, 0x04, 0x2C, 0x07, 0x10]);
        assert!(!ReadStatus.is_actuation());
        assert!(Authorize.is_actuation());
        assert!(SetMaxCurrent(6).is_actuation());
        assert!(StopCharging.is_actuation());
    }

    #[test]
    fn read_status_is_allowed_in_every_state() {
        for state in ALL_STATES.map(Some).into_iter().chain([None]) {
            let mut queue = CommandQueue::new();
            assert_eq!(queue.submit(ReadStatus, state, true), Ok(()), "{state:?}");
        }
    }

    #[test]
    fn authorize_needs_a_known_state_other_than_idle() {
        for state in ALL_STATES {
            let mut queue = CommandQueue::new();
            let result = queue.submit(Authorize, Some(state), true);
            if state == Idle {
                assert_eq!(
                    result,
                    Err(CommandError::NotInState {
                        command: Authorize,
                        state: Some(Idle)
                    })
                );
            } else {
                assert_eq!(result, Ok(()), "{state:?}");
            }
        }
        assert_eq!(
            CommandQueue::new().submit(Authorize, None, true),
            Err(CommandError::NotInState {
                command: Authorize,
                state: None
            })
        );
    }

    #[test]
    fn set_max_current_only_in_idle_and_in_range() {
        for state in ALL_STATES {
            let result = CommandQueue::new().submit(SetMaxCurrent(16), Some(state), true);
            assert_eq!(result.is_ok(), state == Idle, "{state:?}");
        }
        assert!(
            CommandQueue::new()
                .submit(SetMaxCurrent(16), None, true)
                .is_err()
        );
        for amps in [0, 5, 33, 255] {
            assert_eq!(
                CommandQueue::new().submit(SetMaxCurrent(amps), Some(Idle), true),
                Err(CommandError::OutOfRange(amps))
            );
        }
        for amps in [6, 32] {
            assert_eq!(
                CommandQueue::new().submit(SetMaxCurrent(amps), Some(Idle), true),
                Ok(())
            );
        }
    }

    #[test]
    fn stop_only_during_a_session() {
        for state in ALL_STATES {
            let result = CommandQueue::new().submit(StopCharging, Some(state), true);
            assert_eq!(
                result.is_ok(),
                matches!(state, Ready | Charging | Paused),
                "{state:?}"
            );
        }
        assert!(
            CommandQueue::new()
                .submit(StopCharging, None, true)
                .is_err()
        );
    }

    #[test]
    fn nothing_is_accepted_while_the_link_is_down() {
        for cmd in [ReadStatus, Authorize, SetMaxCurrent(16), StopCharging] {
            let mut queue = CommandQueue::new();
            assert_eq!(
                queue.submit(cmd, Some(Charging), false),
                Err(CommandError::LinkDown)
            );
            assert!(queue.is_idle());
        }
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            CommandError::NotInState {
                command: SetMaxCurrent(16),
                state: Some(Charging)
            }
            .to_string(),
            "set-max-current 16 A is not safe in charger state CHARGING"
        );
        assert_eq!(
            CommandError::NotInState {
                command: Authorize,
                state: None
            }
            .to_string(),
            "authorize is not safe in charger state unknown"
        );
        assert_eq!(
            CommandError::OutOfRange(40).to_string(),
            "40 A is outside the 6-32 A the charge controller accepts"
        );
    }

    #[test]
    fn one_command_in_flight_at_a_time() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(Authorize, Some(EvConnected), true).unwrap();
        queue.submit(ReadStatus, Some(EvConnected), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(Authorize.bytes()));
        assert_eq!(queue.in_flight(), Some(Authorize));
        assert_eq!(queue.poll_transmit(t), None);
        assert_eq!(queue.poll_timeout(), Some(t + ACK_TIMEOUT));
        assert_eq!(
            queue.handle_ack(t + ms(100), &ok(AckCommand::Auth)),
            Some(CommandOutcome::Done(Authorize))
        );
        assert_eq!(queue.poll_transmit(t + ms(100)), Some(ReadStatus.bytes()));
        assert_eq!(queue.poll_transmit(t + ms(100)), None);
        assert_eq!(
            queue.handle_ack(t + ms(200), &ok(AckCommand::ReadStat)),
            Some(CommandOutcome::Done(ReadStatus))
        );
        assert_eq!(queue.poll_transmit(t + ms(200)), None);
        assert!(queue.is_idle());
        assert_eq!(queue.poll_timeout(), None);
    }

    #[test]
    fn acks_are_matched_by_name() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(SetMaxCurrent(10), Some(Idle), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(SetMaxCurrent(10).bytes()));
        for other in [
            AckCommand::ReadStat,
            AckCommand::Auth,
            AckCommand::Lock,
            AckCommand::Unlock,
            AckCommand::Unknown,
        ] {
            assert_eq!(queue.handle_ack(t, &ok(other)), None, "{other:?}");
        }
        assert_eq!(queue.in_flight(), Some(SetMaxCurrent(10)));
        assert_eq!(
            queue.handle_ack(t, &ack(AckCommand::SetMaxAmp, AckStatus::Err)),
            Some(CommandOutcome::Refused(SetMaxCurrent(10)))
        );
        // With nothing in flight every ACK is ignored.
        assert_eq!(queue.handle_ack(t, &ok(AckCommand::SetMaxAmp)), None);
    }

    #[test]
    fn ack_statuses_map_to_outcomes() {
        let t = t0();
        let cases = [
            (AckStatus::Ok, true),
            (AckStatus::Cleared, true),
            (AckStatus::Err, false),
            (AckStatus::NotCleared, false),
            (AckStatus::Other("O".into()), false),
        ];
        for (status, done) in cases {
            let mut queue = CommandQueue::new();
            queue.submit(ReadStatus, None, true).unwrap();
            let _ = queue.poll_transmit(t);
            let expected = if done {
                CommandOutcome::Done(ReadStatus)
            } else {
                CommandOutcome::Refused(ReadStatus)
            };
            assert_eq!(
                queue.handle_ack(t, &ack(AckCommand::ReadStat, status)),
                Some(expected)
            );
        }
    }

    #[test]
    fn a_missing_ack_times_out_and_frees_the_slot() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(Authorize, Some(Charging), true).unwrap();
        queue.submit(ReadStatus, Some(Charging), true).unwrap();
        let _ = queue.poll_transmit(t);
        assert!(queue.handle_timeout(t + ms(999)).is_empty());
        assert_eq!(queue.poll_transmit(t + ms(999)), None);
        assert_eq!(
            queue.handle_timeout(t + ACK_TIMEOUT),
            vec![CommandOutcome::TimedOut(Authorize)]
        );
        assert!(queue.handle_timeout(t + ACK_TIMEOUT).is_empty());
        assert_eq!(
            queue.poll_transmit(t + ACK_TIMEOUT),
            Some(ReadStatus.bytes())
        );
        // The late ACK of the timed-out command is ignored.
        assert_eq!(queue.handle_ack(t + ms(1100), &ok(AckCommand::Auth)), None);
    }

    #[test]
    fn a_stop_is_confirmed_by_state_7_with_a_read_status_right_behind_it() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(StopCharging.bytes()));
        assert!(queue.awaiting_stop());
        assert_eq!(queue.in_flight(), None);
        // The read-status goes out at once, while the stop awaits its confirmation.
        assert_eq!(queue.poll_transmit(t), Some(ReadStatus.bytes()));
        assert_eq!(queue.poll_timeout(), Some(t + ACK_TIMEOUT));
        // A frame that is not STATE 7 confirms nothing.
        assert_eq!(
            queue.handle_status(t + ms(40), &StatFrame::new(Charging)),
            None
        );
        assert_eq!(
            queue.handle_status(t + ms(50), &StatFrame::new(Stopped)),
            Some(CommandOutcome::Done(StopCharging))
        );
        assert_eq!(
            queue.handle_ack(t + ms(60), &ok(AckCommand::ReadStat)),
            Some(CommandOutcome::Done(ReadStatus))
        );
        assert!(queue.is_idle());
        // A later STATE 7 frame has no stop to confirm.
        assert_eq!(
            queue.handle_status(t + ms(70), &StatFrame::new(Stopped)),
            None
        );
    }

    #[test]
    fn an_unconfirmed_stop_times_out() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(StopCharging, Some(Paused), true).unwrap();
        let _ = queue.poll_transmit(t);
        let _ = queue.poll_transmit(t);
        assert_eq!(
            queue.handle_timeout(t + ACK_TIMEOUT),
            vec![CommandOutcome::TimedOut(ReadStatus)]
        );
        assert_eq!(queue.poll_timeout(), Some(t + STOP_CONFIRM_TIMEOUT));
        assert!(queue.handle_timeout(t + ms(2999)).is_empty());
        assert_eq!(
            queue.handle_timeout(t + STOP_CONFIRM_TIMEOUT),
            vec![CommandOutcome::TimedOut(StopCharging)]
        );
        assert!(queue.handle_timeout(t + STOP_CONFIRM_TIMEOUT).is_empty());
        assert_eq!(queue.poll_timeout(), None);
        assert!(queue.is_idle());
    }

    #[test]
    fn only_read_status_goes_out_while_a_stop_awaits_confirmation() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        queue.submit(Authorize, Some(Charging), true).unwrap();
        queue.submit(ReadStatus, Some(Charging), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(StopCharging.bytes()));
        // The read-status moved ahead of the authorize and is not sent twice.
        assert_eq!(queue.poll_transmit(t), Some(ReadStatus.bytes()));
        let _ = queue.handle_ack(t, &ok(AckCommand::ReadStat));
        assert_eq!(queue.poll_transmit(t), None);
        // Once the stop is resolved the authorize goes out (STOPPED is not IDLE: it is allowed).
        assert_eq!(
            queue.handle_status(t + ms(10), &StatFrame::new(Stopped)),
            Some(CommandOutcome::Done(StopCharging))
        );
        assert_eq!(queue.poll_transmit(t + ms(10)), Some(Authorize.bytes()));
    }

    #[test]
    fn a_command_no_longer_safe_when_its_turn_comes_is_dropped() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(ReadStatus, Some(Idle), true).unwrap();
        queue.submit(SetMaxCurrent(16), Some(Idle), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(ReadStatus.bytes()));
        // A cable is plugged in meanwhile: forcing IDLE now would break the session.
        let _ = queue.handle_status(t + ms(10), &StatFrame::new(CableDetect));
        let _ = queue.handle_ack(t + ms(20), &ok(AckCommand::ReadStat));
        assert_eq!(queue.poll_transmit(t + ms(20)), None);
        assert_eq!(
            queue.poll_outcome(),
            Some(CommandOutcome::Dropped(SetMaxCurrent(16)))
        );
        assert_eq!(queue.poll_outcome(), None);
        assert!(queue.is_idle());
    }

    #[test]
    fn duplicate_reads_and_stops_are_absorbed() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(ReadStatus, Some(Charging), true).unwrap();
        queue.submit(ReadStatus, Some(Charging), true).unwrap();
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(ReadStatus.bytes()));
        let _ = queue.handle_ack(t, &ok(AckCommand::ReadStat));
        assert_eq!(queue.poll_transmit(t), Some(StopCharging.bytes()));
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        assert_eq!(queue.poll_transmit(t), Some(ReadStatus.bytes()));
        let _ = queue.handle_ack(t, &ok(AckCommand::ReadStat));
        assert_eq!(queue.poll_transmit(t), None);
        assert!(queue.queue.is_empty());
    }

    #[test]
    fn the_queue_is_bounded() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(Authorize, Some(Charging), true).unwrap();
        let _ = queue.poll_transmit(t);
        for _ in 0..QUEUE_CAPACITY {
            queue.submit(Authorize, Some(Charging), true).unwrap();
        }
        assert_eq!(
            queue.submit(Authorize, Some(Charging), true),
            Err(CommandError::QueueFull)
        );
        assert_eq!(
            queue.submit(StopCharging, Some(Charging), true),
            Err(CommandError::QueueFull)
        );
        let _ = queue.handle_ack(t, &ok(AckCommand::Auth));
        let _ = queue.poll_transmit(t);
        assert_eq!(queue.submit(StopCharging, Some(Charging), true), Ok(()));
    }

    #[test]
    fn nothing_is_replayed_after_the_link_returns() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(StopCharging, Some(Charging), true).unwrap();
        queue.submit(Authorize, Some(Charging), true).unwrap();
        let _ = queue.poll_transmit(t); // stop, awaiting STATE 7
        let _ = queue.poll_transmit(t); // read-status, in flight
        let dropped = queue.handle_link_down();
        assert_eq!(
            dropped,
            vec![
                CommandOutcome::Dropped(ReadStatus),
                CommandOutcome::Dropped(StopCharging),
                CommandOutcome::Dropped(Authorize),
            ]
        );
        assert!(queue.is_idle());
        assert_eq!(queue.poll_timeout(), None);
        assert!(queue.handle_timeout(t + Duration::from_secs(60)).is_empty());
        // The link is back: nothing goes out unless asked for again.
        assert_eq!(queue.poll_transmit(t + Duration::from_secs(61)), None);
        assert_eq!(
            queue.handle_status(t + Duration::from_secs(61), &StatFrame::new(Stopped)),
            None
        );
        assert_eq!(queue.handle_ack(t, &ok(AckCommand::ReadStat)), None);
        assert!(queue.handle_link_down().is_empty());
    }

    #[test]
    fn the_link_going_down_also_flushes_undrained_outcomes() {
        let t = t0();
        let mut queue = CommandQueue::new();
        queue.submit(Authorize, Some(Charging), true).unwrap();
        let _ = queue.handle_status(t, &StatFrame::new(Idle));
        assert_eq!(queue.poll_transmit(t), None);
        assert_eq!(
            queue.handle_link_down(),
            vec![CommandOutcome::Dropped(Authorize)]
        );
        assert_eq!(queue.poll_outcome(), None);
    }
}
