//! The operator's view as a compact text table, for a terminal. Pure: snapshot and time in,
//! text out. Everything a station sent is passed through [`ocpp_station::redact::printable`], so a
//! hostile identity or vendor string cannot move the cursor or clear the screen.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::view::{
    Cause, ConnectorSnapshot, HealthSnapshot, StationSnapshot, TransactionSnapshot,
    TransactionState, TransactionTotals, UnknownIdSnapshot,
};
use ocpp_station::clock::parse_timestamp;
use ocpp_station::redact::printable;

/// Clears the terminal and moves the cursor home, before a redraw.
pub const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

/// The table for `stations`, below the `header` lines.
pub fn table(header: &[String], stations: &[StationSnapshot], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "{line}");
    }
    if !header.is_empty() {
        out.push('\n');
    }
    if stations.is_empty() {
        out.push_str("no station has connected yet\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<20} {:<8} {:<6} {:<9} {:<12} {:<8} {:<9} VENDOR / MODEL / SERIAL / FIRMWARE",
        "STATION", "LINK", "OCPP", "BOOT", "HEARTBEAT", "MSGS", "INVALID"
    );
    for station in stations {
        station_rows(&mut out, station, now);
    }
    if stations.len() > 1 {
        let mut all = TransactionTotals::default();
        for station in stations {
            all.add(&station.transactions.totals);
        }
        if all.transactions > 0 {
            let _ = writeln!(out, "\nall stations: {}", totals_text(&all));
        }
    }
    out
}

fn station_rows(out: &mut String, s: &StationSnapshot, now: DateTime<Utc>) {
    let link = match (s.online, s.connected) {
        (true, _) => "online",
        (false, true) => "silent",
        (false, false) => "offline",
    };
    let boot = s.boot.as_ref();
    let identity = cell(Some(&s.identity), 20);
    let version = s.version.as_deref().unwrap_or("-");
    let status = boot
        .and_then(|b| b.status.as_deref())
        .map(|status| cell(Some(status), 9))
        .unwrap_or_else(|| "-".to_owned());
    let heartbeat = ago(s.last_heartbeat.as_deref(), now);
    let messages = format!("{}/{}", s.messages.received, s.messages.sent);
    let identification = boot
        .map(|b| {
            [&b.vendor, &b.model, &b.serial_number, &b.firmware_version]
                .iter()
                .map(|field| cell(field.as_deref(), 25))
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_else(|| "-".to_owned());
    let _ = writeln!(
        out,
        "{identity:<20} {link:<8} {version:<6} {status:<9} {heartbeat:<12} {messages:<8} {:<9} {identification}",
        s.validation_errors.count
    );
    if let Some(note) = boot_note(s) {
        let _ = writeln!(out, "    boot: {}", note.text());
    }
    let transactions = s.transactions.by_connector();
    for connector in &s.connectors {
        connector_row(out, connector, now);
        for t in transactions
            .iter()
            .filter(|t| (t.evse, t.connector) == (connector.evse, Some(connector.connector)))
        {
            let _ = writeln!(out, "    {:<24} {}", "", transaction_line(t));
        }
    }
    // Transactions on a connector the station has not reported (or did not name).
    for t in transactions.iter().filter(|t| {
        !s.connectors
            .iter()
            .any(|c| (t.evse, t.connector) == (c.evse, Some(c.connector)))
    }) {
        let _ = writeln!(
            out,
            "    {:<24} {}",
            transaction_place(t),
            transaction_line(t)
        );
    }
    if s.transactions.totals.transactions > 0 {
        let _ = writeln!(
            out,
            "    {:<24} {}",
            "transactions",
            totals_text(&s.transactions.totals)
        );
    }
    for unknown in &s.transactions.unknown_ids {
        let _ = writeln!(
            out,
            "    ! {} {}",
            short_time(&unknown.at),
            unknown_id_text(unknown)
        );
    }
    if let Some(health) = &s.health {
        let _ = writeln!(
            out,
            "    {:<24} {} ({})",
            "health",
            health_text(health),
            ago(Some(&health.at), now)
        );
    }
    if let Some(reason) = &s.last_disconnect {
        let _ = writeln!(out, "    connection ended: {}", cell(Some(reason), 100));
    }
    if let Some(reason) = &s.last_refusal {
        let _ = writeln!(out, "    last refusal: {}", cell(Some(reason), 100));
    }
    for invalid in &s.validation_errors.recent {
        let _ = writeln!(
            out,
            "    ! {} {}: {}",
            short_time(&invalid.at),
            cell(invalid.action.as_deref(), 40),
            cell(Some(&invalid.message), 160)
        );
    }
}

/// Why a station that has connected shows no boot data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootNote {
    /// Nothing heard yet: the Boot may still be coming, or the station registered earlier.
    NotYet,
    /// It sent other messages and no Boot: it registered before this lab started. A station
    /// sends BootNotification once per start, not when it reconnects.
    RegisteredBefore,
}

impl BootNote {
    /// The words for the operator.
    pub fn text(self) -> &'static str {
        match self {
            BootNote::NotYet => {
                "no BootNotification yet (a station registered before this lab started sends \
                 none when it reconnects)"
            }
            BootNote::RegisteredBefore => {
                "registered before this lab started (a station does not boot again when it \
                 reconnects)"
            }
        }
    }
}

/// The note for a station that has connected and shows no boot data; `None` once it booted.
pub fn boot_note(s: &StationSnapshot) -> Option<BootNote> {
    if s.boot.is_some() || s.connections == 0 {
        None
    } else if s.messages.received > 0 {
        Some(BootNote::RegisteredBefore)
    } else {
        Some(BootNote::NotYet)
    }
}

/// `transaction 3f2a...: charging, 0.512 kWh, 3 min 5 s, 5 events, seqNo gaps: none, offline
/// events: 0`; an ended one says why and how much: `ended (EVDisconnected), 1.234 kWh in ...`.
pub fn transaction_line(t: &TransactionSnapshot) -> String {
    let id = match &t.id {
        Some(id) => cell(Some(id), 40),
        None => "(id not given yet)".to_owned(),
    };
    let mut parts = Vec::new();
    let energy = energy_text(t.energy_wh);
    let duration = duration_text(t.duration_seconds);
    match t.state {
        TransactionState::Ended => {
            let reason = t
                .stopped_reason
                .as_deref()
                .map(|reason| format!(" ({})", cell(Some(reason), 40)))
                .unwrap_or_default();
            parts.push(format!("ended{reason}, {energy} in {duration}"));
        }
        state => parts.push(format!("{}, {energy}, {duration}", state.name())),
    }
    parts.push(format!(
        "{} event{}",
        t.events,
        if t.events == 1 { "" } else { "s" }
    ));
    if let Some(seq_nos) = &t.seq_nos {
        let gaps = if seq_nos.gaps.is_empty() {
            "none".to_owned()
        } else {
            let more = if seq_nos.more_gaps { ", ..." } else { "" };
            let bound = if seq_nos.untracked > 0 {
                "at most "
            } else {
                ""
            };
            let listed: Vec<String> = seq_nos.gaps.iter().map(|g| cell(Some(g), 45)).collect();
            format!(
                "{}{more} ({bound}{} missing)",
                listed.join(", "),
                seq_nos.missing
            )
        };
        parts.push(format!("seqNo gaps: {gaps}"));
        parts.push(format!("offline events: {}", t.offline_events));
    }
    if t.repeats > 0 {
        parts.push(format!("{} received twice", t.repeats));
    }
    format!("transaction {id}: {}", parts.join(", "))
}

/// Where a transaction runs, for one whose connector has no row: `evse 1`, `connector ?`.
pub fn transaction_place(t: &TransactionSnapshot) -> String {
    match (t.evse, t.connector) {
        (Some(evse), Some(connector)) => format!("evse {evse} connector {connector}"),
        (Some(evse), None) => format!("evse {evse}"),
        (None, Some(connector)) => format!("connector {connector}"),
        (None, None) => "connector ?".to_owned(),
    }
}

/// `3 (1 running, 2 ended), 4.567 kWh`, then what went wrong when something did.
pub fn totals_text(totals: &TransactionTotals) -> String {
    let mut text = format!(
        "{} ({} running, {} ended), {}",
        totals.transactions,
        totals.in_progress,
        totals.ended,
        energy_text(Some(totals.energy_wh))
    );
    if totals.with_seq_no_gaps > 0 {
        let _ = write!(text, ", {} with seqNo gaps", totals.with_seq_no_gaps);
    }
    if totals.offline_events > 0 {
        let _ = write!(text, ", {} events delivered offline", totals.offline_events);
    }
    if totals.unknown_id_messages > 0 {
        let _ = write!(
            text,
            ", {} messages with an unknown transaction id",
            totals.unknown_id_messages
        );
    }
    text
}

/// `StopTransaction names transaction -1, which this lab never gave`.
pub fn unknown_id_text(unknown: &UnknownIdSnapshot) -> String {
    let whose = if unknown.allocated {
        "given to another station or no longer shown"
    } else {
        "which this lab never gave"
    };
    format!(
        "{} names transaction {}, {whose}",
        cell(Some(&unknown.action), 30),
        unknown.transaction_id
    )
}

/// `850 Wh`, `12.345 kWh`; `-` when unknown.
pub fn energy_text(wh: Option<f64>) -> String {
    match wh {
        Some(wh) if wh.abs() >= 1000.0 => format!("{:.3} kWh", wh / 1000.0),
        Some(wh) => format!("{wh:.0} Wh"),
        None => "- Wh".to_owned(),
    }
}

/// `45 s`, `12 min 5 s`, `2 h 05 min`; `-` when unknown.
pub fn duration_text(seconds: Option<u64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        Some(s) => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// `evse 1 connector 1` (2.0.1), `connector 0 (station)`, `connector 1` (1.6).
pub fn connector_name(c: &ConnectorSnapshot) -> String {
    match c.evse {
        Some(evse) => format!("evse {evse} connector {}", c.connector),
        None if c.connector == 0 => "connector 0 (station)".to_owned(),
        None => format!("connector {}", c.connector),
    }
}

fn connector_row(out: &mut String, c: &ConnectorSnapshot, now: DateTime<Utc>) {
    let name = connector_name(c);
    let status = cell(c.status.as_deref(), 16);
    let since = ago(c.since.as_deref(), now);
    let history = c
        .history
        .iter()
        .map(|s| cell(Some(s), 16))
        .collect::<Vec<_>>()
        .join(" > ");
    let _ = writeln!(
        out,
        "    {name:<24} {status:<16} {since:<10} seen: {history}"
    );
    if let Some(cause) = &c.cause {
        let _ = writeln!(out, "    {:<24} cause: {}", "", cause_text(cause));
    }
}

/// The station's last measurement in one line: `SoC 52.6 °C, CPU 3.2 %, load 0.31, memory
/// 384/3796 MiB, disk / 41.4 %`, then the Pi's power and throttling flags when set now.
pub fn health_text(health: &HealthSnapshot) -> String {
    const MIB: u64 = 1 << 20;
    let m = &health.sample;
    let mut parts = Vec::new();
    if let Some(temp) = m.soc_temp_c {
        parts.push(format!("SoC {temp:.1} °C"));
    }
    parts.push(format!("CPU {:.1} %", m.cpu_percent));
    parts.push(format!("load {:.2}", m.load_average[0]));
    parts.push(format!(
        "memory {}/{} MiB",
        m.memory_used_bytes / MIB,
        m.memory_total_bytes / MIB
    ));
    if let Some(disk) = m.disk_root {
        parts.push(format!("disk / {:.1} %", disk.percent));
    }
    if let Some(flags) = m.throttled {
        if flags.under_voltage {
            parts.push("UNDER-VOLTAGE".to_owned());
        }
        if flags.throttled {
            parts.push("THROTTLED".to_owned());
        }
    }
    parts.join(", ")
}

/// A cause in one line, in the same words for either version: the code (1.6 `errorCode`, 2.0.1
/// `techCode`), what happened (1.6 `info`, 2.0.1 `techInfo`) and the vendor's code:
/// `GroundFailure (earth fault)`, `OtherError (phase fault) [PHASE_FAULT]`.
pub fn cause_text(cause: &Cause) -> String {
    let mut parts = Vec::new();
    if let Some(code) = cause.error_code.as_ref().or(cause.tech_code.as_ref()) {
        parts.push(cell(Some(code), 40));
    }
    if let Some(info) = cause.info.as_ref().or(cause.tech_info.as_ref()) {
        parts.push(format!("({})", cell(Some(info), 100)));
    }
    if let Some(vendor) = &cause.vendor_error_code {
        parts.push(format!("[{}]", cell(Some(vendor), 60)));
    }
    parts.join(" ")
}

/// A value for a cell: printable, at most `max` characters, `-` when absent.
pub fn cell(value: Option<&str>, max: usize) -> String {
    match value {
        Some(value) if !value.is_empty() => printable(value, max),
        _ => "-".to_owned(),
    }
}

/// `12 s ago`, `3 min ago`; `-` when absent or unreadable.
fn ago(timestamp: Option<&str>, now: DateTime<Utc>) -> String {
    let Some(then) = timestamp.and_then(parse_timestamp) else {
        return "-".to_owned();
    };
    let seconds = now.signed_duration_since(then).num_seconds().max(0);
    if seconds < 120 {
        format!("{seconds} s ago")
    } else if seconds < 7200 {
        format!("{} min ago", seconds / 60)
    } else {
        format!("{} h ago", seconds / 3600)
    }
}

/// `hh:mm:ss` of an OCPP timestamp, or the text as it is.
fn short_time(timestamp: &str) -> String {
    parse_timestamp(timestamp)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| printable(timestamp, 30))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::view::{
        BootSnapshot, InvalidSnapshot, MessageCounts, SeqNoSnapshot, TransactionsSnapshot,
        ValidationSummary,
    };
    use chrono::TimeZone;

    /// A 2.0.1 transaction on EVSE 1 connector 1 in `state`.
    pub(crate) fn transaction(number: u64, state: TransactionState) -> TransactionSnapshot {
        TransactionSnapshot {
            number,
            id: Some(format!("tx-{number}")),
            evse: Some(1),
            connector: Some(1),
            state,
            charging_state: None,
            stopped_reason: None,
            started: Some("2026-01-01T00:00:00.000Z".into()),
            ended: None,
            duration_seconds: Some(185),
            events: 4,
            energy_wh: Some(512.4),
            meter_start_wh: Some(1000.0),
            meter_last_wh: Some(1512.4),
            seq_nos: Some(SeqNoSnapshot {
                highest: Some(3),
                gaps: Vec::new(),
                more_gaps: false,
                missing: 0,
                untracked: 0,
            }),
            offline_events: 0,
            repeats: 0,
        }
    }

    fn station() -> StationSnapshot {
        StationSnapshot {
            identity: "CP\u{1b}[2J_1".into(),
            online: true,
            connected: true,
            version: Some("1.6".into()),
            remote: Some("127.0.0.1:1".into()),
            connections: 1,
            boot: Some(BootSnapshot {
                status: Some("Accepted".into()),
                vendor: Some("Vendor".into()),
                model: Some("Model".into()),
                serial_number: None,
                firmware_version: Some("1.0".into()),
                reason: None,
            }),
            connectors: vec![
                ConnectorSnapshot {
                    evse: None,
                    connector: 0,
                    status: Some("Available".into()),
                    cause: None,
                    since: Some("2026-01-01T00:00:00.000Z".into()),
                    history: vec!["Available".into()],
                },
                ConnectorSnapshot {
                    evse: None,
                    connector: 1,
                    status: Some("Faulted".into()),
                    cause: Some(Cause {
                        error_code: Some("GroundFailure".into()),
                        info: Some("earth fault".into()),
                        vendor_error_code: None,
                        tech_code: None,
                        tech_info: None,
                    }),
                    since: Some("2026-01-01T00:00:50.000Z".into()),
                    history: vec!["Available".into(), "Faulted".into()],
                },
            ],
            last_heartbeat: Some("2026-01-01T00:00:55.000Z".into()),
            health: Some(HealthSnapshot {
                at: "2026-01-01T00:00:30.000Z".into(),
                sample: serde_json::from_value(serde_json::json!({
                    "cpu_percent": 3.25, "load_average": [0.31, 0.22, 0.18],
                    "memory_used_bytes": 402_653_184u64, "memory_total_bytes": 3_980_394_496u64,
                    "soc_temp_c": 52.6, "uptime_seconds": 100,
                    "disk_root": {"used_bytes": 1, "total_bytes": 2, "percent": 41.4},
                    "throttled": {"raw": 327_685, "under_voltage": true, "frequency_capped": false,
                        "throttled": true, "soft_temp_limit": false,
                        "under_voltage_occurred": true, "frequency_capping_occurred": false,
                        "throttling_occurred": true, "soft_temp_limit_occurred": false}
                }))
                .unwrap(),
            }),
            last_seen: None,
            last_disconnect: None,
            last_refusal: None,
            messages: MessageCounts {
                received: 7,
                sent: 7,
                ..MessageCounts::default()
            },
            validation_errors: ValidationSummary {
                count: 1,
                recent: vec![InvalidSnapshot {
                    at: "2026-01-01T00:00:01.000Z".into(),
                    action: Some("StatusNotification".into()),
                    message: "/status: bad".into(),
                }],
            },
            transactions: Default::default(),
        }
    }

    #[test]
    fn the_table_shows_link_boot_connectors_causes_and_errors() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
        let text = table(&["lab".to_owned()], &[station()], now);
        assert!(text.starts_with("lab\n\nSTATION"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "control characters must be escaped:\n{text}"
        );
        for expected in [
            "online",
            "Accepted",
            "5 s ago",
            "7/7",
            "Vendor / Model / - / 1.0",
            "connector 0 (station)",
            "Faulted",
            "10 s ago",
            "seen: Available > Faulted",
            "cause: GroundFailure (earth fault)",
            "health                   SoC 52.6 °C, CPU 3.2 %, load 0.31, memory 384/3796 MiB, \
             disk / 41.4 %, UNDER-VOLTAGE, THROTTLED (30 s ago)",
            "! 00:00:01 StatusNotification: /status: bad",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn each_connector_shows_its_transaction_and_the_station_its_totals() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
        let mut s = station();
        s.version = Some("2.0.1".into());
        s.connectors.truncate(1);
        s.connectors[0].evse = Some(1);
        s.connectors[0].connector = 1;
        let mut ended = transaction(1, TransactionState::Ended);
        ended.stopped_reason = Some("EVDisconnected".into());
        ended.energy_wh = Some(12_345.0);
        let running = transaction(2, TransactionState::Charging);
        let mut elsewhere = transaction(3, TransactionState::Started);
        elsewhere.evse = Some(2);
        elsewhere.connector = None;
        s.transactions = TransactionsSnapshot {
            recent: vec![ended, running, elsewhere],
            totals: TransactionTotals {
                transactions: 3,
                in_progress: 2,
                ended: 1,
                energy_wh: 13_369.8,
                with_seq_no_gaps: 0,
                offline_events: 2,
                unknown_id_messages: 1,
            },
            unknown_ids: vec![UnknownIdSnapshot {
                at: "2026-01-01T00:00:20.000Z".into(),
                action: "StopTransaction".into(),
                transaction_id: -1,
                allocated: false,
            }],
        };
        let text = table(&[], &[s], now);
        for expected in [
            "transaction tx-2: charging, 512 Wh, 3 min 5 s, 4 events, seqNo gaps: none, offline \
             events: 0",
            "evse 2                   transaction tx-3: started",
            "transactions             3 (2 running, 1 ended), 13.370 kWh, 2 events delivered \
             offline, 1 messages with an unknown transaction id",
            "! 00:00:20 StopTransaction names transaction -1, which this lab never gave",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        // The running transaction is the connector's, not the one that ended before it.
        assert!(!text.contains("tx-1"), "{text}");
    }

    #[test]
    fn a_transaction_reads_as_one_line_in_either_version() {
        let mut ended = transaction(1, TransactionState::Ended);
        ended.stopped_reason = Some("EVDisconnected".into());
        ended.offline_events = 3;
        ended.repeats = 1;
        let seq_nos = ended.seq_nos.as_mut().unwrap();
        seq_nos.gaps = vec!["2".into(), "5-7".into()];
        seq_nos.missing = 4;
        assert_eq!(
            transaction_line(&ended),
            "transaction tx-1: ended (EVDisconnected), 512 Wh in 3 min 5 s, 4 events, seqNo gaps: \
             2, 5-7 (4 missing), offline events: 3, 1 received twice"
        );
        // 1.6: the lab's id once given, no seqNos.
        let mut v16 = transaction(2, TransactionState::Suspended);
        v16.seq_nos = None;
        v16.evse = None;
        v16.id = None;
        v16.events = 1;
        v16.duration_seconds = Some(7300);
        assert_eq!(
            transaction_line(&v16),
            "transaction (id not given yet): suspended, 512 Wh, 2 h 01 min, 1 event"
        );
        v16.id = Some("\u{1b}[2J".into());
        assert!(!transaction_line(&v16).contains('\u{1b}'));
    }

    #[test]
    fn energy_reads_in_wh_then_kwh() {
        assert_eq!(energy_text(Some(0.0)), "0 Wh");
        assert_eq!(energy_text(Some(999.4)), "999 Wh");
        assert_eq!(energy_text(Some(1000.0)), "1.000 kWh");
        assert_eq!(energy_text(Some(-1500.0)), "-1.500 kWh");
        assert_eq!(energy_text(None), "- Wh");
        assert_eq!(duration_text(Some(59)), "59 s");
        assert_eq!(duration_text(Some(3600)), "1 h 00 min");
        assert_eq!(duration_text(None), "-");
    }

    #[test]
    fn several_stations_add_up_below_the_table() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
        let mut a = station();
        a.transactions.totals = TransactionTotals {
            transactions: 2,
            ended: 2,
            energy_wh: 1500.0,
            ..TransactionTotals::default()
        };
        let mut b = a.clone();
        b.identity = "CP2".into();
        let text = table(&[], &[a.clone(), b], now);
        assert!(
            text.contains("all stations: 4 (0 running, 4 ended), 3.000 kWh"),
            "{text}"
        );
        assert!(!table(&[], &[a], now).contains("all stations"));
    }

    #[test]
    fn an_empty_view_says_so() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
        assert!(table(&[], &[], now).contains("no station has connected yet"));
    }

    #[test]
    fn causes_read_as_one_line() {
        let cause = Cause {
            error_code: Some("OtherError".into()),
            info: Some("phase fault".into()),
            vendor_error_code: Some("PHASE_FAULT".into()),
            ..Cause::default()
        };
        assert_eq!(cause_text(&cause), "OtherError (phase fault) [PHASE_FAULT]");
        let cause = Cause {
            tech_code: Some("GroundFailure".into()),
            ..Cause::default()
        };
        assert_eq!(cause_text(&cause), "GroundFailure");
    }

    #[test]
    fn a_cause_reads_the_same_in_either_version() {
        let v16 = Cause {
            error_code: Some("OtherError".into()),
            info: Some("recovering from a fault (HARDFAULT_END)".into()),
            ..Cause::default()
        };
        let v201 = Cause {
            tech_code: Some("OtherError".into()),
            tech_info: Some("recovering from a fault (HARDFAULT_END)".into()),
            ..Cause::default()
        };
        assert_eq!(
            cause_text(&v201),
            "OtherError (recovering from a fault (HARDFAULT_END))"
        );
        assert_eq!(cause_text(&v201), cause_text(&v16));
    }

    #[test]
    fn a_station_without_boot_data_says_why() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap();
        let mut s = station();
        s.boot = None;
        s.messages = MessageCounts::default();
        let text = table(&[], &[s.clone()], now);
        assert!(text.contains("boot: no BootNotification yet"), "{text}");
        // It has sent something, and no Boot: it registered earlier.
        s.messages.received = 1;
        let text = table(&[], &[s.clone()], now);
        assert!(
            text.contains("boot: registered before this lab started"),
            "{text}"
        );
        s.boot = station().boot;
        assert!(!table(&[], &[s], now).contains("boot:"));
    }

    #[test]
    fn durations_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
        assert_eq!(ago(Some("2026-01-01T02:59:30Z"), now), "30 s ago");
        assert_eq!(ago(Some("2026-01-01T02:50:00Z"), now), "10 min ago");
        assert_eq!(ago(Some("2026-01-01T00:00:00Z"), now), "3 h ago");
        assert_eq!(ago(Some("garbage"), now), "-");
        assert_eq!(ago(None, now), "-");
    }
}
