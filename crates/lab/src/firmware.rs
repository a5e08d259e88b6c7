//! The simulated charge controller's firmware: the fields it shows with each state, the STAT
//! line it prints, and how it handles the host's four commands, quirks included. Pure; the pty
//! and the clock live in [`super::sim_controller`].
//!
//! It behaves like the field firmware (docs/esp32.md) and like the test suite's fake controller:
//! read-status answers one STAT then `<ACK;CMD=READSTAT;STATUS=OK;>`; authorize is acknowledged
//! (AUTH=1) unless the state is IDLE, where it is silently dropped; set-max-current 6..32 A is
//! acknowledged and forces the state to IDLE (the firmware bug the host works around), out of
//! range it answers ERR; stop sets STATE 7 and STOP=1 without an answer; anything else gets
//! `<ACK;CMD=UNKNOWN;STATUS=ERR;>`.

use ocpp_station::esp32::command::{Command, MAX_CURRENT_RANGE};
use ocpp_station::esp32::frame::{ChargerState, PowerBoard};

/// The first byte of every host command.
const SYNC: u8 = 0x41;
/// The separator at byte 2 of a command.
const SEPARATOR: u8 = 0x2C;
/// The last byte of a command.
const END: u8 = 0x10;

/// Lines end in CRLF on the wire.
pub const LINE_END: &str = "\r\n";

/// An RFID result as the firmware prints it: without a line end, so the next frame lands on
/// its line.
pub const CARD_RESULT: &str = "<CARDEXISTS=1;>";

/// What the host sent, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCommand {
    /// One of the commands the station sends (set-max-current carries any value here; the
    /// firmware judges the range).
    Known(Command),
    /// A well-formed frame with a command code the firmware does not know.
    Unknown {
        /// The command byte.
        code: u8,
        /// The value byte.
        value: u8,
    },
}

/// Cuts the host's byte stream into 5-byte commands, skipping what cannot start one (the
/// firmware resynchronises on the 0x41 sync byte).
#[derive(Debug, Default)]
pub struct CommandDecoder {
    pending: Vec<u8>,
}

/// One item from the host's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A command.
    Command(HostCommand),
    /// Bytes that are no command, dropped.
    Garbage(Vec<u8>),
}

impl CommandDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the commands and garbage they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match self.pending.iter().position(|&b| b == SYNC) {
                None => {
                    if !self.pending.is_empty() {
                        out.push(Decoded::Garbage(std::mem::take(&mut self.pending)));
                    }
                    return out;
                }
                Some(0) => {}
                Some(at) => {
                    let junk: Vec<u8> = self.pending.drain(..at).collect();
                    out.push(Decoded::Garbage(junk));
                }
            }
            let Some(&[_, code, separator, value, end]) = self.pending.get(..5) else {
                return out;
            };
            if separator != SEPARATOR || end != END {
                // Not a frame after all: drop the sync byte and look again.
                out.push(Decoded::Garbage(vec![SYNC]));
                self.pending.drain(..1);
                continue;
            }
            self.pending.drain(..5);
            out.push(Decoded::Command(decode(code, value)));
        }
    }
}

fn decode(code: u8, value: u8) -> HostCommand {
    match code {
        0x00 => HostCommand::Known(Command::ReadStatus),
        0x01 => HostCommand::Known(Command::Authorize),
        0x02 => HostCommand::Known(Command::SetMaxCurrent(value)),
        0x04 => HostCommand::Known(Command::StopCharging),
        _ => HostCommand::Unknown { code, value },
    }
}

/// The fields of a STAT line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// Pilot class 0..=3.
    pub cp: u8,
    /// Raw pilot ADC value.
    pub cpv: u16,
    /// Proximity: 1 cable present.
    pub pp: u8,
    /// Raw proximity ADC value.
    pub ppv: u16,
    /// Relay flag.
    pub relay: bool,
    /// Lock flag.
    pub lock: bool,
    /// Lock motor flag.
    pub motor: bool,
    /// Pilot duty 0..=255 (255: no charge offered).
    pub pwm: u8,
    /// Current limit, A.
    pub max: u8,
    /// Cable rating from the PP resistor, A.
    pub cable: u8,
    /// Session authorized.
    pub auth: bool,
    /// Charger state.
    pub state: ChargerState,
    /// Power board fault flag.
    pub pb: PowerBoard,
    /// Stop requested.
    pub stop: bool,
}

impl Fields {
    /// What the firmware shows at power-up: IDLE, 16 A.
    pub fn power_up() -> Self {
        Fields {
            cp: 0,
            cpv: 3931,
            pp: 0,
            ppv: 2457,
            relay: false,
            lock: false,
            motor: false,
            pwm: 255,
            max: 16,
            cable: 0,
            auth: false,
            state: ChargerState::Idle,
            pb: PowerBoard::Ok,
            stop: false,
        }
    }
}

/// The simulated firmware.
#[derive(Debug, Clone)]
pub struct Firmware {
    fields: Fields,
}

impl Default for Firmware {
    fn default() -> Self {
        Self::new()
    }
}

impl Firmware {
    /// Freshly powered up, in IDLE.
    pub fn new() -> Self {
        Firmware {
            fields: Fields::power_up(),
        }
    }

    /// The current fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The current state.
    pub fn state(&self) -> ChargerState {
        self.fields.state
    }

    /// Enters `state` with the pilot, proximity, relay and PWM values the field firmware shows
    /// with it (the same values as the test suite's fake controller). Values a state does not
    /// touch (MAX, the lock in some states) keep what they were.
    pub fn enter(&mut self, state: ChargerState) {
        let f = &mut self.fields;
        f.state = state;
        // Pilot and proximity: (CP, CPV, PP, PPV); PP is left alone where the firmware does.
        let (cp, cpv) = match state {
            ChargerState::Idle | ChargerState::CableDetect | ChargerState::HardFaultEnd => {
                (0, 3931)
            }
            ChargerState::EvConnected
            | ChargerState::Ready
            | ChargerState::Paused
            | ChargerState::Stopped => (1, 2650),
            ChargerState::Charging => (2, 1847),
            ChargerState::FaultHard => (3, 512),
        };
        f.cp = cp;
        f.cpv = cpv;
        match state {
            ChargerState::Idle => {
                f.pp = 0;
                f.ppv = 2457;
                f.cable = 0;
                f.lock = false;
                f.motor = false;
                f.auth = false;
                f.stop = false;
            }
            // A 20 A cable (the PP resistor of the demo's cable).
            ChargerState::CableDetect | ChargerState::EvConnected => {
                f.pp = 1;
                f.ppv = 1520;
                f.cable = 20;
                f.stop = false;
                f.lock = state == ChargerState::EvConnected;
            }
            ChargerState::Ready | ChargerState::Charging | ChargerState::Paused => {
                f.pp = 1;
                f.ppv = 1520;
                f.cable = 20;
                f.lock = true;
                f.auth = true;
            }
            ChargerState::Stopped => f.stop = true,
            ChargerState::HardFaultEnd => {
                f.lock = false;
                f.motor = false;
                f.auth = false;
                f.stop = false;
            }
            ChargerState::FaultHard => {}
        }
        // The relay is closed and a charge offered only while a session may draw energy.
        let offering = matches!(
            state,
            ChargerState::Ready | ChargerState::Charging | ChargerState::Paused
        );
        f.relay = offering;
        f.pwm = if offering { pwm_for(f.max) } else { 255 };
    }

    /// Sets the power board's fault flag.
    pub fn set_power_board(&mut self, pb: PowerBoard) {
        self.fields.pb = pb;
    }

    /// A card the controller's own whitelist accepts: the session is authorized, READY follows
    /// when an EV is waiting.
    pub fn card_accepted(&mut self) {
        self.fields.auth = true;
        if self.fields.state == ChargerState::EvConnected {
            self.enter(ChargerState::Ready);
        }
    }

    /// The status line, without its line end.
    pub fn stat_line(&self) -> String {
        let f = &self.fields;
        let pb = match f.pb {
            PowerBoard::Ok => 0,
            PowerBoard::PhaseFault => 1,
            PowerBoard::EarthFault => 2,
            PowerBoard::Unknown(n) => n,
        };
        format!(
            "<STAT;CP={};CPV={};PP={};PPV={};RL={};LOCK={};MOTOR={};PWM={};MAX={};CABLE={};AUTH={};STATE={};PB={};STOP={};>",
            f.cp,
            f.cpv,
            f.pp,
            f.ppv,
            u8::from(f.relay),
            u8::from(f.lock),
            u8::from(f.motor),
            f.pwm,
            f.max,
            f.cable,
            u8::from(f.auth),
            f.state.code(),
            pb,
            u8::from(f.stop),
        )
    }

    /// Handles one host command; returns the lines to print, in order (without line ends).
    pub fn on_command(&mut self, command: HostCommand) -> Vec<String> {
        match command {
            HostCommand::Known(Command::ReadStatus) => {
                vec![self.stat_line(), ack("READSTAT", "OK")]
            }
            HostCommand::Known(Command::Authorize) => {
                if self.fields.state == ChargerState::Idle {
                    // Dropped without an answer in IDLE.
                    return Vec::new();
                }
                self.fields.auth = true;
                if self.fields.state == ChargerState::EvConnected {
                    self.enter(ChargerState::Ready);
                }
                vec![ack("AUTH", "OK")]
            }
            HostCommand::Known(Command::SetMaxCurrent(amps)) => {
                if !MAX_CURRENT_RANGE.contains(&amps) {
                    return vec![ack("SETMAXAMP", "ERR")];
                }
                self.fields.max = amps;
                // The firmware bug: any accepted limit ends whatever was going on.
                self.enter(ChargerState::Idle);
                vec![ack("SETMAXAMP", "OK")]
            }
            HostCommand::Known(Command::StopCharging) => {
                self.enter(ChargerState::Stopped);
                Vec::new()
            }
            HostCommand::Unknown { .. } => vec![ack("UNKNOWN", "ERR")],
        }
    }
}

/// Pilot duty for a current limit (IEC 61851: A = duty% x 0.6, duty on a 0-255 scale).
fn pwm_for(amps: u8) -> u8 {
    let duty_percent = f64::from(amps) / 0.6;
    (duty_percent * 255.0 / 100.0).round().clamp(0.0, 254.0) as u8
}

fn ack(name: &str, status: &str) -> String {
    format!("<ACK;CMD={name};STATUS={status};>")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ocpp_station::esp32::frame::{AckCommand, AckStatus, Line, parse_line};

    fn stat(firmware: &Firmware) -> ocpp_station::esp32::frame::StatFrame {
        match parse_line(&firmware.stat_line()) {
            Line::Status(frame) => frame,
            other => panic!("not a STAT: {other:?}"),
        }
    }

    #[test]
    fn the_power_up_line_is_the_documented_idle_frame() {
        assert_eq!(
            Firmware::new().stat_line(),
            "<STAT;CP=0;CPV=3931;PP=0;PPV=2457;RL=0;LOCK=0;MOTOR=0;PWM=255;MAX=16;CABLE=0;AUTH=0;STATE=1;PB=0;STOP=0;>"
        );
    }

    #[test]
    fn the_station_parser_reads_every_state_as_sent() {
        let mut firmware = Firmware::new();
        for code in 0..=8 {
            let state = ChargerState::from_code(code).unwrap();
            firmware.enter(state);
            let frame = stat(&firmware);
            assert_eq!(frame.state, state);
            assert_eq!(frame.max_current, Some(16));
        }
    }

    #[test]
    fn charging_shows_pilot_c_relay_closed_and_a_16_a_duty() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::Charging);
        let frame = stat(&firmware);
        assert_eq!(frame.pilot, Some(2));
        assert_eq!(frame.relay, Some(true));
        assert_eq!(frame.lock, Some(true));
        assert_eq!(frame.authorized, Some(true));
        // 16 A = 26.7 % duty = 68/255.
        assert_eq!(frame.pwm, Some(68));
        assert_eq!(frame.cable_rating, Some(20));
        firmware.enter(ChargerState::Stopped);
        let frame = stat(&firmware);
        assert_eq!(
            (frame.relay, frame.pwm, frame.stop_requested),
            (Some(false), Some(255), Some(true))
        );
    }

    #[test]
    fn an_earth_fault_shows_pilot_d_and_pb_2() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::FaultHard);
        firmware.set_power_board(PowerBoard::EarthFault);
        let frame = stat(&firmware);
        assert_eq!(frame.pilot, Some(3));
        assert_eq!(frame.power_board, PowerBoard::EarthFault);
        assert_eq!(frame.relay, Some(false));
    }

    #[test]
    fn read_status_answers_a_stat_then_its_ack() {
        let mut firmware = Firmware::new();
        let lines = firmware.on_command(HostCommand::Known(Command::ReadStatus));
        assert_eq!(lines.len(), 2);
        assert!(matches!(parse_line(&lines[0]), Line::Status(_)));
        match parse_line(&lines[1]) {
            Line::Ack(ack) => {
                assert_eq!(ack.command, AckCommand::ReadStat);
                assert_eq!(ack.status, AckStatus::Ok);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn authorize_is_dropped_in_idle_and_moves_a_waiting_ev_to_ready() {
        let mut firmware = Firmware::new();
        assert!(
            firmware
                .on_command(HostCommand::Known(Command::Authorize))
                .is_empty()
        );
        assert!(!firmware.fields().auth);
        firmware.enter(ChargerState::EvConnected);
        assert_eq!(
            firmware.on_command(HostCommand::Known(Command::Authorize)),
            ["<ACK;CMD=AUTH;STATUS=OK;>"]
        );
        assert_eq!(firmware.state(), ChargerState::Ready);
        assert!(firmware.fields().auth);
    }

    #[test]
    fn set_max_current_forces_idle_as_the_firmware_bug_does() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::Charging);
        assert_eq!(
            firmware.on_command(HostCommand::Known(Command::SetMaxCurrent(10))),
            ["<ACK;CMD=SETMAXAMP;STATUS=OK;>"]
        );
        assert_eq!(firmware.state(), ChargerState::Idle);
        assert_eq!(firmware.fields().max, 10);
        firmware.enter(ChargerState::Charging);
        assert_eq!(
            firmware.on_command(HostCommand::Known(Command::SetMaxCurrent(40))),
            ["<ACK;CMD=SETMAXAMP;STATUS=ERR;>"]
        );
        assert_eq!(firmware.state(), ChargerState::Charging);
    }

    #[test]
    fn stop_sets_state_7_silently_and_unknown_commands_get_err() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::Charging);
        assert!(
            firmware
                .on_command(HostCommand::Known(Command::StopCharging))
                .is_empty()
        );
        assert_eq!(firmware.state(), ChargerState::Stopped);
        assert!(firmware.fields().stop);
        assert_eq!(
            firmware.on_command(HostCommand::Unknown { code: 9, value: 0 }),
            ["<ACK;CMD=UNKNOWN;STATUS=ERR;>"]
        );
    }

    #[test]
    fn a_card_authorizes_a_waiting_ev() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::EvConnected);
        firmware.card_accepted();
        assert_eq!(firmware.state(), ChargerState::Ready);
        let glued = format!("{CARD_RESULT}{}", firmware.stat_line());
        assert!(matches!(parse_line(&glued), Line::Status(f) if f.state == ChargerState::Ready));
    }

    #[test]
    fn the_decoder_reads_what_the_station_sends_and_resynchronises() {
        let mut decoder = CommandDecoder::new();
        let mut bytes = Vec::new();
        for command in [
            Command::ReadStatus,
            Command::Authorize,
            Command::SetMaxCurrent(16),
            Command::StopCharging,
        ] {
            bytes.extend_from_slice(&command.bytes());
        }
        let decoded = decoder.push(&bytes);
        assert_eq!(
            decoded,
            [
                Decoded::Command(HostCommand::Known(Command::ReadStatus)),
                Decoded::Command(HostCommand::Known(Command::Authorize)),
                Decoded::Command(HostCommand::Known(Command::SetMaxCurrent(16))),
                Decoded::Command(HostCommand::Known(Command::StopCharging)),
            ]
        );
        // Split across reads, with junk before and a false sync byte.
        assert_eq!(
            decoder.push(&[0xff, 0x00, 0x41, 0x00]),
            [Decoded::Garbage(vec![0xff, 0x00])]
        );
        assert_eq!(
            decoder.push(&[0x2c, 0x00, 0x10]),
            [Decoded::Command(HostCommand::Known(Command::ReadStatus))]
        );
        assert_eq!(
            decoder.push(&[0x41, 0x41, 0x09, 0x2c, 0x03, 0x10]),
            [
                Decoded::Garbage(vec![0x41]),
                Decoded::Command(HostCommand::Unknown { code: 9, value: 3 })
            ]
        );
        assert!(decoder.push(&[]).is_empty());
    }
}
