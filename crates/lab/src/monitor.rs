//! Shows the operator's view as it changes: JSON lines (one per event, plus a `view` snapshot
//! whenever a station's picture changed), a text table redrawn in place on a terminal, or,
//! when the output is not a terminal, an event log with one line per change
//! ([`super::event_log`]).
//!
//! The JSON lines are the lab's interface for scripts and tests:
//!
//! ```text
//! {"event":"message","at":...,"station":"CP_1","version":"2.0.1","direction":"from_station",
//!  "type":"CALL","id":"...","action":"StatusNotification","payload":{...}}
//! {"event":"view","at":...,"stations":[{"identity":"CP_1","online":true,...,
//!  "transactions":{"recent":[{"id":"...","state":"charging","energy_wh":512.0,...}],
//!  "totals":{...},"unknown_ids":[]}}]}
//! ```
//!
//! plus `connected`, `refused`, `failed`, `invalid` and `disconnected` events, and whatever the
//! caller adds with [`Monitor::line`].

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::event_log;
use super::render;
use super::server::LabEvent;
use super::view::{Stamp, StationSnapshot, View};
use ocpp_station::clock::format_timestamp;

/// A terminal is redrawn at most this often between two ticks.
const MIN_REDRAW: Duration = Duration::from_millis(100);

/// How the view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// JSON lines.
    Json,
    /// A text table redrawn in place: for a terminal.
    Table,
    /// One line per change: for a pipe or a file, where a redrawn table would only pile up.
    Log,
}

impl OutputMode {
    /// JSON lines when asked for, else the table on a terminal and the log elsewhere.
    pub fn for_stdout(json: bool) -> Self {
        if json {
            OutputMode::Json
        } else if std::io::stdout().is_terminal() {
            OutputMode::Table
        } else {
            OutputMode::Log
        }
    }
}

/// The view plus its output.
pub struct Monitor<W: Write> {
    view: View,
    mode: OutputMode,
    header: Vec<String>,
    /// Header lines not yet in the log (log mode prints each new header line once).
    header_pending: Vec<String>,
    out: W,
    /// The stations as last shown, to show only changes.
    shown: Option<Vec<StationSnapshot>>,
    last_draw: Option<Instant>,
}

impl<W: Write> Monitor<W> {
    /// A monitor writing to `out`.
    pub fn new(view: View, mode: OutputMode, out: W) -> Self {
        Self {
            view,
            mode,
            header: Vec::new(),
            header_pending: Vec::new(),
            out,
            shown: None,
            last_draw: None,
        }
    }

    /// The lines above the table (ignored in JSON mode); the log shows each line that is new
    /// (a header line that changed, such as the demo controller's step) once.
    pub fn set_header(&mut self, header: Vec<String>) {
        if self.header == header {
            return;
        }
        match self.mode {
            OutputMode::Json => {}
            OutputMode::Table => {
                // The header is part of what is shown: redraw with it.
                self.last_draw = None;
                self.shown = None;
            }
            OutputMode::Log => {
                for (index, line) in header.iter().enumerate() {
                    if self.header.get(index) != Some(line) {
                        self.header_pending.push(line.clone());
                    }
                }
            }
        }
        self.header = header;
    }

    /// Prints one extra JSON line (JSON mode only), with `at` added.
    pub fn line(&mut self, at: Stamp, mut value: Value) {
        if self.mode != OutputMode::Json {
            return;
        }
        if let Some(object) = value.as_object_mut() {
            object.insert("at".into(), json!(format_timestamp(at.wall)));
        }
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }

    /// Prints text as it is (table and log modes): a summary, a notice.
    pub fn text(&mut self, text: &str) {
        if self.mode != OutputMode::Json {
            let _ = write!(self.out, "{text}");
            let _ = self.out.flush();
        }
    }

    /// Applies an event to the view (and prints it in JSON mode).
    pub fn on_event(&mut self, event: LabEvent) {
        if self.mode == OutputMode::Json
            && let Some(line) = event_line(&event)
        {
            let _ = writeln!(self.out, "{line}");
        }
        match event {
            LabEvent::Connected {
                at,
                conn,
                identity,
                version,
                remote,
                ..
            } => self
                .view
                .connected(at, conn, &identity, version, &remote.to_string()),
            LabEvent::Refused {
                at,
                identity: Some(identity),
                status,
                reason,
                ..
            } => self
                .view
                .refused(at, &identity, &format!("HTTP {status}: {reason}")),
            LabEvent::Refused { identity: None, .. } | LabEvent::Failed { .. } => {}
            LabEvent::Message {
                at,
                identity,
                version,
                direction,
                message,
            } => self
                .view
                .message(at, &identity, version, direction, &message),
            LabEvent::Invalid {
                at,
                identity,
                action,
                message,
            } => self
                .view
                .invalid(at, &identity, action.as_deref(), &message),
            LabEvent::Traffic { at, identity } => self.view.traffic(at, &identity),
            LabEvent::Disconnected {
                at,
                conn,
                identity,
                reason,
            } => self.view.disconnected(at, conn, &identity, &reason),
        }
    }

    /// Shows the view if it changed; `tick` marks the periodic call, which also redraws a
    /// terminal (for the "ago" columns) and notices stations going silent.
    pub fn refresh(&mut self, now: Stamp, tick: bool) {
        let stations = self.view.snapshot(now.mono);
        let changed = self.shown.as_ref() != Some(&stations);
        match self.mode {
            OutputMode::Json => {
                if changed {
                    let line = json!({
                        "event": "view",
                        "at": format_timestamp(now.wall),
                        "stations": stations,
                    });
                    let _ = writeln!(self.out, "{line}");
                }
            }
            OutputMode::Table => {
                let recently = self
                    .last_draw
                    .is_some_and(|t| now.mono.saturating_duration_since(t) < MIN_REDRAW);
                if tick || (changed && !recently) {
                    let table = render::table(&self.header, &stations, now.wall);
                    let _ = write!(self.out, "{}{table}", render::CLEAR_SCREEN);
                    self.last_draw = Some(now.mono);
                } else if changed {
                    // Drawn at the next call: keep the change pending.
                    return;
                }
            }
            OutputMode::Log => {
                let time = now.wall.format("%H:%M:%S");
                for line in std::mem::take(&mut self.header_pending) {
                    let _ = writeln!(self.out, "{time} {line}");
                }
                if changed {
                    let before = self.shown.as_deref().unwrap_or_default();
                    for line in event_log::changes(before, &stations, self.view.offline_after()) {
                        let _ = writeln!(self.out, "{time} {line}");
                    }
                }
            }
        }
        let _ = self.out.flush();
        self.shown = Some(stations);
    }

    /// Every station as it stands.
    pub fn snapshot(&self, now: Instant) -> Vec<StationSnapshot> {
        self.view.snapshot(now)
    }

    /// The output, back (for tests).
    pub fn into_output(self) -> W {
        self.out
    }
}

/// The JSON line of an event; `None` for what is not worth a line (pings).
fn event_line(event: &LabEvent) -> Option<Value> {
    let line = match event {
        LabEvent::Connected {
            at,
            conn,
            identity,
            version,
            remote,
            offered,
        } => json!({
            "event": "connected", "at": format_timestamp(at.wall), "station": identity,
            "conn": conn, "version": version.to_string(), "remote": remote.to_string(),
            "offered": offered,
        }),
        LabEvent::Refused {
            at,
            identity,
            remote,
            status,
            reason,
        } => json!({
            "event": "refused", "at": format_timestamp(at.wall), "station": identity,
            "remote": remote.to_string(), "status": status, "reason": reason,
        }),
        LabEvent::Failed { at, remote, reason } => json!({
            "event": "failed", "at": format_timestamp(at.wall), "remote": remote.to_string(),
            "reason": reason,
        }),
        LabEvent::Message {
            at,
            identity,
            version,
            direction,
            message,
        } => {
            let mut line = json!({
                "event": "message", "at": format_timestamp(at.wall), "station": identity,
                "version": version.to_string(), "direction": direction.name(),
                "type": message.kind.name(), "id": message.id, "action": message.action,
                "payload": message.payload,
            });
            if let (Some((code, description)), Some(object)) =
                (&message.error, line.as_object_mut())
            {
                object.insert("error_code".into(), json!(code));
                object.insert("error_description".into(), json!(description));
            }
            line
        }
        LabEvent::Invalid {
            at,
            identity,
            action,
            message,
        } => json!({
            "event": "invalid", "at": format_timestamp(at.wall), "station": identity,
            "action": action, "message": message,
        }),
        LabEvent::Traffic { .. } => return None,
        LabEvent::Disconnected {
            at,
            conn,
            identity,
            reason,
        } => json!({
            "event": "disconnected", "at": format_timestamp(at.wall), "station": identity,
            "conn": conn, "reason": reason,
        }),
    };
    Some(line)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::answer::{MessageKind, WireMessage};
    use crate::view::Direction;
    use chrono::{TimeZone, Utc};
    use ocpp_station::ocpp::OcppVersion;

    fn stamp(start: Instant, seconds: u64) -> Stamp {
        Stamp {
            mono: start + Duration::from_secs(seconds),
            wall: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::seconds(seconds as i64),
        }
    }

    fn lines(output: Vec<u8>) -> Vec<Value> {
        String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn json_mode_prints_events_and_a_view_only_when_it_changed() {
        #[allow(
            clippy::disallowed_methods,
            reason = "a fixed origin for the test clock"
        )]
        let start = Instant::now();
        let mut monitor = Monitor::new(
            View::new(Duration::from_secs(30)),
            OutputMode::Json,
            Vec::new(),
        );
        monitor.on_event(LabEvent::Connected {
            at: stamp(start, 0),
            conn: 1,
            identity: "CP1".into(),
            version: OcppVersion::V201,
            remote: "127.0.0.1:4000".parse().unwrap(),
            offered: "ocpp2.0.1".into(),
        });
        monitor.refresh(stamp(start, 0), false);
        monitor.refresh(stamp(start, 1), true);
        monitor.on_event(LabEvent::Message {
            at: stamp(start, 2),
            identity: "CP1".into(),
            version: OcppVersion::V201,
            direction: Direction::FromStation,
            message: WireMessage {
                kind: MessageKind::Call,
                id: Some("m1".into()),
                action: Some("Heartbeat".into()),
                payload: json!({}),
                error: None,
            },
        });
        monitor.refresh(stamp(start, 2), false);
        // Silence past the threshold changes the view: offline.
        monitor.refresh(stamp(start, 40), true);
        monitor.line(stamp(start, 41), json!({"event": "summary"}));

        let lines = lines(monitor.into_output());
        let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(
            events,
            ["connected", "view", "message", "view", "view", "summary"]
        );
        assert_eq!(lines[2]["direction"], "from_station");
        assert_eq!(lines[2]["type"], "CALL");
        assert_eq!(lines[2]["action"], "Heartbeat");
        assert_eq!(lines[3]["stations"][0]["online"], true);
        assert_eq!(lines[4]["stations"][0]["online"], false);
        assert_eq!(lines[5]["at"], "2026-01-01T00:00:41.000Z");
    }

    #[test]
    fn json_view_lines_carry_the_transactions() {
        #[allow(
            clippy::disallowed_methods,
            reason = "a fixed origin for the test clock"
        )]
        let start = Instant::now();
        let mut monitor = Monitor::new(
            View::new(Duration::from_secs(30)),
            OutputMode::Json,
            Vec::new(),
        );
        for (second, seq, kind, wh) in [(1, 0, "Started", 100.0), (2, 1, "Ended", 350.0)] {
            monitor.on_event(LabEvent::Message {
                at: stamp(start, second),
                identity: "CP1".into(),
                version: OcppVersion::V201,
                direction: Direction::FromStation,
                message: WireMessage {
                    kind: MessageKind::Call,
                    id: Some(format!("t{seq}")),
                    action: Some("TransactionEvent".into()),
                    payload: json!({"eventType": kind, "seqNo": seq, "offline": true,
                        "timestamp": format!("2026-01-01T00:00:0{second}.000Z"),
                        "triggerReason": "Trigger", "evse": {"id": 1, "connectorId": 1},
                        "transactionInfo": {"transactionId": "tx-1"},
                        "meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z",
                            "sampledValue": [{"value": wh}]}]}),
                    error: None,
                },
            });
            monitor.refresh(stamp(start, second), false);
        }
        let lines = lines(monitor.into_output());
        let view = lines.iter().rev().find(|l| l["event"] == "view").unwrap();
        let transactions = &view["stations"][0]["transactions"];
        let tx = &transactions["recent"][0];
        assert_eq!(tx["id"], "tx-1");
        assert_eq!(tx["state"], "ended");
        assert_eq!(tx["energy_wh"], 250.0);
        assert_eq!(tx["duration_seconds"], 1);
        assert_eq!(tx["events"], 2);
        assert_eq!(tx["offline_events"], 2);
        assert_eq!(tx["seq_nos"]["gaps"], json!([]));
        assert_eq!(transactions["totals"]["energy_wh"], 250.0);
        assert_eq!(transactions["unknown_ids"], json!([]));
    }

    #[test]
    fn a_terminal_is_redrawn_in_place() {
        #[allow(
            clippy::disallowed_methods,
            reason = "a fixed origin for the test clock"
        )]
        let start = Instant::now();
        let mut monitor = Monitor::new(
            View::new(Duration::from_secs(30)),
            OutputMode::Table,
            Vec::new(),
        );
        monitor.set_header(vec!["lab CSMS".into()]);
        monitor.refresh(stamp(start, 0), true);
        monitor.refresh(stamp(start, 1), true);
        let text = String::from_utf8(monitor.into_output()).unwrap();
        assert_eq!(text.matches(render::CLEAR_SCREEN).count(), 2);
        assert!(text.contains("lab CSMS"));
    }

    #[test]
    fn without_a_terminal_each_change_is_one_line_and_the_header_is_not_repeated() {
        #[allow(
            clippy::disallowed_methods,
            reason = "a fixed origin for the test clock"
        )]
        let start = Instant::now();
        let mut monitor = Monitor::new(
            View::new(Duration::from_secs(30)),
            OutputMode::Log,
            Vec::new(),
        );
        monitor.set_header(vec!["demo".into(), "step 1".into()]);
        monitor.on_event(LabEvent::Connected {
            at: stamp(start, 0),
            conn: 1,
            identity: "CP1".into(),
            version: OcppVersion::V201,
            remote: "127.0.0.1:4000".parse().unwrap(),
            offered: "ocpp2.0.1".into(),
        });
        monitor.refresh(stamp(start, 0), false);
        // Ticks without a change print nothing.
        for second in 1..5 {
            monitor.refresh(stamp(start, second), true);
        }
        monitor.set_header(vec!["demo".into(), "step 2".into()]);
        let status = WireMessage {
            kind: MessageKind::Call,
            id: Some("m1".into()),
            action: Some("StatusNotification".into()),
            payload: json!({"evseId": 1, "connectorId": 1, "connectorStatus": "Available",
                "timestamp": "2026-01-01T00:00:05.000Z"}),
            error: None,
        };
        monitor.on_event(LabEvent::Message {
            at: stamp(start, 5),
            identity: "CP1".into(),
            version: OcppVersion::V201,
            direction: Direction::FromStation,
            message: status,
        });
        monitor.refresh(stamp(start, 5), false);
        monitor.refresh(stamp(start, 6), true);

        let text = String::from_utf8(monitor.into_output()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "00:00:00 demo",
                "00:00:00 step 1",
                "00:00:00 CP1 connected: OCPP 2.0.1 from 127.0.0.1:4000",
                "00:00:05 step 2",
                "00:00:05 CP1 boot: registered before this lab started (a station does not \
                 boot again when it reconnects)",
                "00:00:05 CP1 evse 1 connector 1: Available",
            ]
        );
        assert!(!text.contains(render::CLEAR_SCREEN));
    }
}
