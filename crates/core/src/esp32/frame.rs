//! The controller's ASCII side: bytes to lines, lines to status frames, acknowledgements and
//! notices.
//!
//! Everything here is lenient by design. The firmware cannot be changed, prints RFID results
//! without a line end, and shares the wire with boot banners and debug tokens, so a bad line or a
//! bad value is dropped or read as "unknown", never an error, and never a panic.

use std::fmt;

/// The longest line kept, in bytes. Real frames are about 110 bytes; anything much longer is
/// noise, and the bound keeps a line end that never comes from growing memory.
pub const MAX_LINE_BYTES: usize = 512;

/// Cuts the serial byte stream into lines.
///
/// A line ends at `\n` or `\r` (so CRLF, LF and a lone CR all work), is decoded lossily
/// (invalid UTF-8 becomes U+FFFD), and is dropped when blank. A line that grows beyond
/// [`MAX_LINE_BYTES`] without an end is thrown away up to its next line end and counted in
/// [`LineSplitter::discarded`].
#[derive(Debug, Default)]
pub struct LineSplitter {
    /// The bytes of the line being read, at most [`MAX_LINE_BYTES`].
    buf: Vec<u8>,
    /// The current line overflowed: skip to the next line end.
    discarding: bool,
    /// Overlong lines thrown away so far.
    discarded: u64,
}

impl LineSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes as they were read; returns the lines they completed, in order. A partial line
    /// is kept for the next call.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' | b'\r' => {
                    if self.discarding {
                        self.discarding = false;
                    } else if !self.buf.is_empty() {
                        if let Some(line) = decode(&self.buf) {
                            lines.push(line);
                        }
                        self.buf.clear();
                    }
                }
                _ if self.discarding => {}
                _ if self.buf.len() >= MAX_LINE_BYTES => {
                    self.buf.clear();
                    self.discarding = true;
                    self.discarded = self.discarded.saturating_add(1);
                }
                _ => self.buf.push(byte),
            }
        }
        lines
    }

    /// How many overlong lines have been thrown away.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }
}

/// Decodes one line; `None` when it is blank. Replacement characters take three bytes, so the
/// text is cut back to [`MAX_LINE_BYTES`] to keep the bound true for the decoded line too.
fn decode(bytes: &[u8]) -> Option<String> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > MAX_LINE_BYTES {
        // is_char_boundary(0) holds, so this finds a cut.
        let end = (0..=MAX_LINE_BYTES)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
    }
    (!text.trim().is_empty()).then_some(text)
}

/// What one line from the controller says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A valid `<STAT;...;>` status frame.
    Status(StatFrame),
    /// An `<ACK;CMD=...;STATUS=...;>` acknowledgement.
    Ack(Ack),
    /// An `<INFO;...>`, `<WARN;...>` or `<ERR;...>` line; `text` is what sits between the tag
    /// and the closing `>`, without the trailing `;`.
    Notice {
        /// Which tag it carried.
        level: NoticeLevel,
        /// The notice's fields, e.g. `MSG=GF_COUNT;VAL=3`.
        text: String,
    },
    /// Anything else (banners, debug tokens, RFID results, a STAT without a valid STATE): worth
    /// a debug log line at most.
    Ignored(String),
}

/// The tag of a notice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// `<INFO;...>`.
    Info,
    /// `<WARN;...>`.
    Warn,
    /// `<ERR;...>`.
    Error,
}

/// One status frame. Every field but the state is optional: a missing or unreadable value is
/// `None` (the frame still counts as long as its STATE is valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFrame {
    /// `STATE`: the charger state machine.
    pub state: ChargerState,
    /// `PB`: the power board's fault flag (missing reads as [`PowerBoard::Ok`]).
    pub power_board: PowerBoard,
    /// `CP`: pilot class 0..=3 (0 no EV, 1 EV connected, 2 charging, 3 lower/fault).
    pub pilot: Option<u8>,
    /// `CPV`: raw pilot ADC value, 0..=4095.
    pub pilot_adc: Option<u16>,
    /// `PP`: 1 when a valid cable is present, 0 otherwise.
    pub proximity: Option<u8>,
    /// `PPV`: raw proximity ADC value, 0..=4095.
    pub proximity_adc: Option<u16>,
    /// `RL`: the relay flag as the firmware last set it (there is no feedback contact).
    pub relay: Option<bool>,
    /// `LOCK`: the cable lock flag as last set.
    pub lock: Option<bool>,
    /// `MOTOR`: the lock motor flag as last set.
    pub motor: Option<bool>,
    /// `PWM`: pilot duty 0..=255; 255 means no charge offered.
    pub pwm: Option<u8>,
    /// `MAX`: the configured current limit, A.
    pub max_current: Option<u8>,
    /// `CABLE`: the cable's rated ampacity from its PP resistor, A. Not a measured current.
    pub cable_rating: Option<u8>,
    /// `AUTH`: the session is authorized.
    pub authorized: Option<bool>,
    /// `STOP`: a stop was requested.
    pub stop_requested: Option<bool>,
    /// `ID`: an identifier some firmware builds put first.
    pub id: Option<String>,
}

impl StatFrame {
    /// A frame that carries only a state (power board ok, every other field unknown).
    pub fn new(state: ChargerState) -> Self {
        Self {
            state,
            power_board: PowerBoard::Ok,
            pilot: None,
            pilot_adc: None,
            proximity: None,
            proximity_adc: None,
            relay: None,
            lock: None,
            motor: None,
            pwm: None,
            max_current: None,
            cable_rating: None,
            authorized: None,
            stop_requested: None,
            id: None,
        }
    }
}

/// The firmware's charger states, with its own numbering (not IEC letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargerState {
    /// 0: recovering after a fault; becomes Idle by itself.
    HardFaultEnd = 0,
    /// 1: nothing plugged.
    Idle = 1,
    /// 2: a cable is plugged at the station, no EV yet.
    CableDetect = 2,
    /// 3: EV detected, waiting for authorization.
    EvConnected = 3,
    /// 4: authorized, relay closed, waiting for the EV to draw.
    Ready = 4,
    /// 5: energy flowing.
    Charging = 5,
    /// 6: the EV stopped drawing; it resumes through Ready.
    Paused = 6,
    /// 7: session over, until the cable is unplugged.
    Stopped = 7,
    /// 8: relay open after an earth/phase fault or pilot loss.
    FaultHard = 8,
}

impl ChargerState {
    /// The state with this firmware code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::HardFaultEnd,
            1 => Self::Idle,
            2 => Self::CableDetect,
            3 => Self::EvConnected,
            4 => Self::Ready,
            5 => Self::Charging,
            6 => Self::Paused,
            7 => Self::Stopped,
            8 => Self::FaultHard,
            _ => return None,
        })
    }

    /// The firmware code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The firmware's name for the state, e.g. `CHARGING`.
    pub fn name(self) -> &'static str {
        match self {
            Self::HardFaultEnd => "HARDFAULT_END",
            Self::Idle => "IDLE",
            Self::CableDetect => "CABLE_DETECT",
            Self::EvConnected => "EV_CONNECTED",
            Self::Ready => "READY",
            Self::Charging => "CHARGING",
            Self::Paused => "PAUSED",
            Self::Stopped => "STOPPED",
            Self::FaultHard => "FAULT_HARD",
        }
    }
}

impl fmt::Display for ChargerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// The power board's fault flag, `PB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerBoard {
    /// 0 (or missing, or unreadable): no fault.
    Ok,
    /// 1: phase fault.
    PhaseFault,
    /// 2: earth fault.
    EarthFault,
    /// Any other number.
    Unknown(u8),
}

/// An acknowledgement. It carries no value and no correlation id: it is matched to the one
/// command in flight by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// `CMD`: the command it answers.
    pub command: AckCommand,
    /// `STATUS`: how it went.
    pub status: AckStatus,
}

/// The `CMD` of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCommand {
    /// `READSTAT`.
    ReadStat,
    /// `AUTH`.
    Auth,
    /// `SETMAXAMP`.
    SetMaxAmp,
    /// `LOCK`.
    Lock,
    /// `UNLOCK`.
    Unlock,
    /// `UNKNOWN`, or a name this host does not know.
    Unknown,
}

/// The `STATUS` of an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckStatus {
    /// `OK`.
    Ok,
    /// `ERR`.
    Err,
    /// `CLEARED`.
    Cleared,
    /// `NOT CLEARED`.
    NotCleared,
    /// Anything else, as received (trimmed).
    Other(String),
}

/// Reads one line (as [`LineSplitter`] produced it).
///
/// Frames are searched for anywhere in the line, because RFID results arrive without a line end
/// and glue themselves to the next frame. When a line holds several candidates the last valid
/// one wins (a frame cut short by a glitch is usually followed by a whole one). STAT is looked
/// for first, then ACK, then the notice tags.
pub fn parse_line(line: &str) -> Line {
    if let Some(frame) = bodies(line, "<STAT;").find_map(parse_stat) {
        return Line::Status(frame);
    }
    if let Some(ack) = bodies(line, "<ACK;").find_map(parse_ack) {
        return Line::Ack(ack);
    }
    for (tag, level) in [
        ("<INFO;", NoticeLevel::Info),
        ("<WARN;", NoticeLevel::Warn),
        ("<ERR;", NoticeLevel::Error),
    ] {
        if let Some(body) = bodies(line, tag).next() {
            return Line::Notice {
                level,
                text: body.trim().trim_end_matches(';').trim_end().to_owned(),
            };
        }
    }
    Line::Ignored(line.to_owned())
}

/// The bodies of every `tag` frame in `line`, last first: the text after the tag up to the
/// closing `>`, the start of another frame `<`, or the end of the line (a missing `>` is
/// tolerated).
fn bodies<'a>(line: &'a str, tag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    line.rmatch_indices(tag).filter_map(move |(at, _)| {
        let rest = line.get(at.checked_add(tag.len())?..)?;
        let end = rest.find(['>', '<']).unwrap_or(rest.len());
        rest.get(..end)
    })
}

/// `KEY=VALUE` pairs separated by `;`, trimmed; parts without `=` are skipped.
fn fields(body: &str) -> impl Iterator<Item = (&str, &str)> {
    body.split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(key, value)| (key.trim(), value.trim()))
}

/// A status frame body; `None` unless it has a valid STATE.
fn parse_stat(body: &str) -> Option<StatFrame> {
    let mut state = None;
    let mut frame = StatFrame::new(ChargerState::Idle);
    for (key, value) in fields(body) {
        match key {
            "STATE" => state = number::<u8>(value).and_then(ChargerState::from_code),
            "PB" => frame.power_board = power_board(value),
            "CP" => frame.pilot = number(value).filter(|cp| *cp <= 3),
            "CPV" => frame.pilot_adc = adc(value),
            "PP" => frame.proximity = number(value).filter(|pp| *pp <= 1),
            "PPV" => frame.proximity_adc = adc(value),
            "RL" => frame.relay = flag(value),
            "LOCK" => frame.lock = flag(value),
            "MOTOR" => frame.motor = flag(value),
            "PWM" => frame.pwm = number(value),
            "MAX" => frame.max_current = number(value),
            "CABLE" => frame.cable_rating = number(value),
            "AUTH" => frame.authorized = flag(value),
            "STOP" => frame.stop_requested = flag(value),
            "ID" => frame.id = (!value.is_empty()).then(|| value.to_owned()),
            _ => {}
        }
    }
    frame.state = state?;
    Some(frame)
}

/// An acknowledgement body; `None` unless it names both CMD and STATUS.
fn parse_ack(body: &str) -> Option<Ack> {
    let mut command = None;
    let mut status = None;
    for (key, value) in fields(body) {
        match key {
            "CMD" => {
                command = Some(match value {
                    "READSTAT" => AckCommand::ReadStat,
                    "AUTH" => AckCommand::Auth,
                    "SETMAXAMP" => AckCommand::SetMaxAmp,
                    "LOCK" => AckCommand::Lock,
                    "UNLOCK" => AckCommand::Unlock,
                    _ => AckCommand::Unknown,
                })
            }
            "STATUS" => {
                status = Some(match value {
                    "OK" => AckStatus::Ok,
                    "ERR" => AckStatus::Err,
                    "CLEARED" => AckStatus::Cleared,
                    "NOT CLEARED" => AckStatus::NotCleared,
                    other => AckStatus::Other(other.to_owned()),
                })
            }
            _ => {}
        }
    }
    Some(Ack {
        command: command?,
        status: status?,
    })
}

fn number<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.parse().ok()
}

/// A 12-bit ADC reading.
fn adc(value: &str) -> Option<u16> {
    number(value).filter(|v: &u16| *v <= 4095)
}

fn flag(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// `PB`: an unreadable value reads as Ok because the flag only refines the cause of a fault
/// state; it never decides whether the connector is faulted.
fn power_board(value: &str) -> PowerBoard {
    match number::<u8>(value) {
        Some(1) => PowerBoard::PhaseFault,
        Some(2) => PowerBoard::EarthFault,
        Some(0) | None => PowerBoard::Ok,
        Some(other) => PowerBoard::Unknown(other),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const CHARGING: &str = "<STAT;CP=2;CPV=1847;PP=1;PPV=1520;RL=1;LOCK=1;MOTOR=0;PWM=66;MAX=16;CABLE=20;AUTH=1;STATE=5;PB=0;STOP=0;>";
    const IDLE: &str = "<STAT;CP=0;CPV=3931;PP=0;PPV=2457;RL=0;LOCK=0;MOTOR=0;PWM=255;MAX=12;CABLE=0;AUTH=0;STATE=1;PB=0;STOP=0;>";

    fn charging_frame() -> StatFrame {
        StatFrame {
            state: ChargerState::Charging,
            power_board: PowerBoard::Ok,
            pilot: Some(2),
            pilot_adc: Some(1847),
            proximity: Some(1),
            proximity_adc: Some(1520),
            relay: Some(true),
            lock: Some(true),
            motor: Some(false),
            pwm: Some(66),
            max_current: Some(16),
            cable_rating: Some(20),
            authorized: Some(true),
            stop_requested: Some(false),
            id: None,
        }
    }

    fn stat(line: &str) -> StatFrame {
        match parse_line(line) {
            Line::Status(frame) => frame,
            other => panic!("not a status frame: {other:?} from {line:?}"),
        }
    }

    fn ack(line: &str) -> Ack {
        match parse_line(line) {
            Line::Ack(ack) => ack,
            other => panic!("not an ack: {other:?} from {line:?}"),
        }
    }

    #[test]
    fn the_documented_charging_frame_reads_fully() {
        assert_eq!(stat(CHARGING), charging_frame());
    }

    #[test]
    fn the_documented_idle_frame_reads_fully() {
        assert_eq!(
            stat(IDLE),
            StatFrame {
                state: ChargerState::Idle,
                power_board: PowerBoard::Ok,
                pilot: Some(0),
                pilot_adc: Some(3931),
                proximity: Some(0),
                proximity_adc: Some(2457),
                relay: Some(false),
                lock: Some(false),
                motor: Some(false),
                pwm: Some(255),
                max_current: Some(12),
                cable_rating: Some(0),
                authorized: Some(false),
                stop_requested: Some(false),
                id: None,
            }
        );
    }

    #[test]
    fn every_documented_ack_reads() {
        let cases = [
            (
                "<ACK;CMD=READSTAT;STATUS=OK;>",
                AckCommand::ReadStat,
                AckStatus::Ok,
            ),
            ("<ACK;CMD=AUTH;STATUS=OK;>", AckCommand::Auth, AckStatus::Ok),
            (
                "<ACK;CMD=SETMAXAMP;STATUS=OK;>",
                AckCommand::SetMaxAmp,
                AckStatus::Ok,
            ),
            (
                "<ACK;CMD=SETMAXAMP;STATUS=ERR;>",
                AckCommand::SetMaxAmp,
                AckStatus::Err,
            ),
            (
                "<ACK;CMD=LOCK;STATUS=CLEARED;>",
                AckCommand::Lock,
                AckStatus::Cleared,
            ),
            (
                "<ACK;CMD=UNLOCK;STATUS=NOT CLEARED;>",
                AckCommand::Unlock,
                AckStatus::NotCleared,
            ),
            (
                "<ACK;CMD=UNKNOWN;STATUS=ERR;>",
                AckCommand::Unknown,
                AckStatus::Err,
            ),
            (
                "<ACK;CMD=FROBNICATE;STATUS=MAYBE;>",
                AckCommand::Unknown,
                AckStatus::Other("MAYBE".into()),
            ),
            // Reordered and without the closing `;>`.
            ("<ACK;STATUS=OK;CMD=AUTH", AckCommand::Auth, AckStatus::Ok),
        ];
        for (line, command, status) in cases {
            assert_eq!(ack(line), Ack { command, status }, "{line}");
        }
    }

    #[test]
    fn an_ack_without_a_name_or_status_is_ignored() {
        for line in ["<ACK;STATUS=OK;>", "<ACK;CMD=AUTH;>", "<ACK;>"] {
            assert_eq!(parse_line(line), Line::Ignored(line.into()), "{line}");
        }
    }

    #[test]
    fn notices_carry_their_level_and_fields() {
        let cases = [
            (
                "<INFO;MSG=GF_COUNT;VAL=3;>",
                NoticeLevel::Info,
                "MSG=GF_COUNT;VAL=3",
            ),
            (
                "<INFO;MSG=FAULT_CLEARED;>",
                NoticeLevel::Info,
                "MSG=FAULT_CLEARED",
            ),
            (
                "<WARN;MSG=GF_CONFIRMED;>",
                NoticeLevel::Warn,
                "MSG=GF_CONFIRMED",
            ),
            (
                "<WARN;MSG=FAULT_TIMEOUT_RESET;>",
                NoticeLevel::Warn,
                "MSG=FAULT_TIMEOUT_RESET",
            ),
            ("<ERR;INVALID_COMMA>", NoticeLevel::Error, "INVALID_COMMA"),
        ];
        for (line, level, text) in cases {
            assert_eq!(
                parse_line(line),
                Line::Notice {
                    level,
                    text: text.into()
                },
                "{line}"
            );
        }
    }

    #[test]
    fn a_stat_glued_to_an_rfid_result_is_found() {
        let line = format!("<CARDEXISTS=1;>{CHARGING}");
        assert_eq!(stat(&line), charging_frame());
        let mut splitter = LineSplitter::new();
        let lines = splitter.push(format!("<CARDEXISTS=1;>{IDLE}\r\n").as_bytes());
        assert_eq!(lines.len(), 1);
        assert_eq!(stat(&lines[0]).state, ChargerState::Idle);
    }

    #[test]
    fn banners_debug_tokens_and_rfid_results_are_ignored() {
        for line in [
            "ESP32 EVSE controller v4.8.0",
            "ets Jun  8 2016 00:22:57",
            "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
            "CP:2",
            "dbg 17",
            "<CARDEXISTS=1;>",
            "<CARDEXISTS=0;>",
        ] {
            assert_eq!(parse_line(line), Line::Ignored(line.into()), "{line}");
        }
    }

    #[test]
    fn a_stat_without_a_valid_state_is_ignored() {
        for line in [
            "<STAT;CP=2;CPV=1847;PP=1;>",
            "<STAT;STATE=9;PB=0;>",
            "<STAT;STATE=x;>",
            "<STAT;STATE=;>",
            "<STAT;STATE=-1;>",
            "<STAT;STATE=256;>",
            "<STAT;>",
            "<STAT;",
        ] {
            assert_eq!(parse_line(line), Line::Ignored(line.into()), "{line}");
        }
    }

    #[test]
    fn keys_are_read_in_any_order_missing_or_extra() {
        let frame =
            stat("<STAT;STATE=5;NEW=7;PB=0;CABLE=20;MAX=16;X;CP=2;CPV=1847;TEMP=41;AUTH=1;>");
        assert_eq!(frame.state, ChargerState::Charging);
        assert_eq!(frame.pilot, Some(2));
        assert_eq!(frame.pilot_adc, Some(1847));
        assert_eq!(frame.max_current, Some(16));
        assert_eq!(frame.cable_rating, Some(20));
        assert_eq!(frame.authorized, Some(true));
        assert_eq!(frame.proximity, None);
        assert_eq!(frame.relay, None);
        assert_eq!(frame.stop_requested, None);

        assert_eq!(stat("<STAT;STATE=1;>"), StatFrame::new(ChargerState::Idle));
        assert_eq!(
            stat("<STAT; STATE = 7 ; PB = 0 ;>"),
            StatFrame::new(ChargerState::Stopped)
        );
    }

    #[test]
    fn a_leading_id_is_read() {
        let line = CHARGING.replace("<STAT;", "<STAT;ID=evse-01;");
        let frame = stat(&line);
        assert_eq!(frame.id.as_deref(), Some("evse-01"));
        assert_eq!(StatFrame { id: None, ..frame }, charging_frame());
        assert_eq!(stat("<STAT;ID=;STATE=1;>").id, None);
    }

    #[test]
    fn a_missing_closing_is_tolerated() {
        assert_eq!(stat(CHARGING.trim_end_matches(">")), charging_frame());
        assert_eq!(stat(CHARGING.trim_end_matches(";>")), charging_frame());
    }

    #[test]
    fn bad_values_become_none() {
        let frame = stat(
            "<STAT;CP=4;CPV=4096;PP=2;PPV=abc;RL=2;LOCK=yes;MOTOR=;PWM=256;MAX=-1;CABLE=1e3;AUTH=true;STATE=5;PB=x;STOP=01;>",
        );
        assert_eq!(frame, StatFrame::new(ChargerState::Charging));
    }

    #[test]
    fn the_power_board_flag_is_read() {
        let pb = |v: &str| stat(&format!("<STAT;STATE=8;PB={v};>")).power_board;
        assert_eq!(pb("0"), PowerBoard::Ok);
        assert_eq!(pb("1"), PowerBoard::PhaseFault);
        assert_eq!(pb("2"), PowerBoard::EarthFault);
        assert_eq!(pb("7"), PowerBoard::Unknown(7));
        assert_eq!(pb("junk"), PowerBoard::Ok);
        assert_eq!(stat("<STAT;STATE=8;>").power_board, PowerBoard::Ok);
    }

    #[test]
    fn with_several_frames_on_a_line_the_last_valid_one_wins() {
        // A frame cut short by a glitch, then a whole one.
        let line = format!("<STAT;CP=2;CPV=18{IDLE}");
        assert_eq!(stat(&line).state, ChargerState::Idle);
        // A whole frame, then one cut short before its STATE.
        let line = format!("{CHARGING}<STAT;CP=0;CPV=39");
        assert_eq!(stat(&line), charging_frame());
        // A status and its acknowledgement on one line: the status matters more.
        let line = format!("{CHARGING}<ACK;CMD=READSTAT;STATUS=OK;>");
        assert_eq!(stat(&line), charging_frame());
        // A broken status does not hide an acknowledgement.
        let line = "<STAT;CP=2;CP<ACK;CMD=AUTH;STATUS=OK;>";
        assert_eq!(ack(line).command, AckCommand::Auth);
    }

    #[test]
    fn every_state_code_round_trips() {
        for code in 0..=8 {
            let state = ChargerState::from_code(code).unwrap();
            assert_eq!(state.code(), code);
            assert!(!state.name().is_empty());
            assert_eq!(stat(&format!("<STAT;STATE={code};>")).state, state);
        }
        assert_eq!(ChargerState::from_code(9), None);
        assert_eq!(ChargerState::Charging.name(), "CHARGING");
        assert_eq!(ChargerState::HardFaultEnd.name(), "HARDFAULT_END");
        assert_eq!(ChargerState::FaultHard.to_string(), "FAULT_HARD (8)");
    }

    #[test]
    fn crlf_lf_and_cr_all_end_lines() {
        for end in ["\r\n", "\n", "\r"] {
            let mut splitter = LineSplitter::new();
            let input = format!("{CHARGING}{end}{IDLE}{end}");
            assert_eq!(
                splitter.push(input.as_bytes()),
                vec![CHARGING.to_string(), IDLE.to_string()],
                "{end:?}"
            );
        }
    }

    #[test]
    fn blank_lines_are_dropped() {
        let mut splitter = LineSplitter::new();
        assert_eq!(
            splitter.push(b"\r\n\r\n \t \n\n\rA\r\n\n"),
            vec!["A".to_string()]
        );
    }

    #[test]
    fn lines_split_byte_by_byte_come_out_whole() {
        let input = format!(
            "ESP32 EVSE v4.8.0\r\n<CARDEXISTS=1;>{CHARGING}\r\n<ACK;CMD=READSTAT;STATUS=OK;>\r\n{IDLE}\r\npartial"
        );
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for byte in input.as_bytes() {
            lines.extend(splitter.push(std::slice::from_ref(byte)));
        }
        assert_eq!(lines.len(), 4);
        assert_eq!(
            parse_line(&lines[0]),
            Line::Ignored("ESP32 EVSE v4.8.0".into())
        );
        assert_eq!(stat(&lines[1]), charging_frame());
        assert_eq!(ack(&lines[2]).command, AckCommand::ReadStat);
        assert_eq!(stat(&lines[3]).state, ChargerState::Idle);
        // The unfinished line is kept for later.
        assert_eq!(splitter.push(b"\n"), vec!["partial".to_string()]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut splitter = LineSplitter::new();
        let mut input = vec![0xff, 0xfe, b'x', 0xc3];
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&[0x80, 0x00]);
        input.extend_from_slice(CHARGING.as_bytes());
        input.extend_from_slice(b"\r\n");
        let lines = splitter.push(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "\u{fffd}\u{fffd}x\u{fffd}");
        assert_eq!(stat(&lines[1]), charging_frame());
    }

    #[test]
    fn a_huge_line_without_an_end_is_discarded_and_the_next_stat_comes_out() {
        let mut splitter = LineSplitter::new();
        let junk = vec![b'A'; 100 * 1024];
        let mut lines = Vec::new();
        for chunk in junk.chunks(4096) {
            lines.extend(splitter.push(chunk));
            assert!(splitter.buf.len() <= MAX_LINE_BYTES);
        }
        assert!(lines.is_empty());
        assert_eq!(splitter.discarded(), 1);
        lines.extend(splitter.push(format!("\r\n{CHARGING}\r\n").as_bytes()));
        assert_eq!(lines.len(), 1);
        assert_eq!(stat(&lines[0]), charging_frame());
        assert_eq!(splitter.discarded(), 1);
    }

    #[test]
    fn the_line_length_bound_is_exact() {
        let mut splitter = LineSplitter::new();
        let at_limit = "B".repeat(MAX_LINE_BYTES);
        assert_eq!(
            splitter.push(format!("{at_limit}\n").as_bytes()),
            vec![at_limit]
        );
        let over = "C".repeat(MAX_LINE_BYTES + 1);
        assert!(splitter.push(format!("{over}\n").as_bytes()).is_empty());
        assert_eq!(splitter.discarded(), 1);
        // Replacement characters grow a line when decoded; it is cut back to the bound.
        let lines = splitter.push(&[[0xffu8; MAX_LINE_BYTES].as_slice(), b"\n"].concat());
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() <= MAX_LINE_BYTES);
        assert!(lines[0].chars().all(|c| c == '\u{fffd}'));
    }

    /// A small deterministic generator, so the random tests repeat exactly.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A byte biased towards the ones the parser cares about.
        fn byte(&mut self) -> u8 {
            const INTERESTING: &[u8] = b"<>;=\r\nSTATEACKPB0123456789 -\xff\xc3\x80";
            if self.below(3) == 0 {
                self.next() as u8
            } else {
                INTERESTING[self.below(INTERESTING.len())]
            }
        }
    }

    /// Feeds `input` in random chunk sizes and checks every line and every frame that comes out.
    fn feed(rng: &mut XorShift, splitter: &mut LineSplitter, input: &[u8]) -> usize {
        let mut frames = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let take = 1 + rng.below(rest.len().min(64));
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            for line in splitter.push(chunk) {
                assert!(line.len() <= MAX_LINE_BYTES, "{} bytes", line.len());
                assert!(!line.trim().is_empty());
                if let Line::Status(frame) = parse_line(&line) {
                    frames += 1;
                    assert!(frame.state.code() <= 8);
                    assert!(frame.pilot.is_none_or(|v| v <= 3));
                    assert!(frame.proximity.is_none_or(|v| v <= 1));
                    assert!(frame.pilot_adc.is_none_or(|v| v <= 4095));
                    assert!(frame.proximity_adc.is_none_or(|v| v <= 4095));
                }
            }
        }
        frames
    }

    #[test]
    fn random_bytes_never_panic_and_lines_stay_bounded() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut splitter = LineSplitter::new();
        for _ in 0..5_000 {
            let max = if rng.below(50) == 0 { 3_000 } else { 200 };
            let len = rng.below(max);
            let input: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            feed(&mut rng, &mut splitter, &input);
        }
    }

    #[test]
    fn mutated_stat_lines_never_panic_and_lines_stay_bounded() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut splitter = LineSplitter::new();
        let mut intact = 0;
        for round in 0..5_000 {
            let mut line = if round % 2 == 0 { CHARGING } else { IDLE }
                .as_bytes()
                .to_vec();
            for _ in 0..rng.below(6) {
                let at = rng.below(line.len() + 1);
                match rng.below(5) {
                    0 => line.insert(at, rng.byte()),
                    1 if at < line.len() => {
                        line.remove(at);
                    }
                    2 if at < line.len() => line[at] = rng.byte(),
                    3 => {
                        // Duplicate a slice, as a glitch repeating bytes would.
                        let end = (at + rng.below(40)).min(line.len());
                        let copy = line[at..end].to_vec();
                        line.splice(at..at, copy);
                    }
                    _ => line.truncate(at),
                }
            }
            line.extend_from_slice(b"\r\n");
            intact += feed(&mut rng, &mut splitter, &line);
        }
        // Most mutations leave STATE readable: the parser must not be all-or-nothing.
        assert!(intact > 1_000, "only {intact} frames survived");
    }
}
