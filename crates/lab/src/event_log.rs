//! The operator's view as an event log, for output that is not a terminal (a pipe, a file, CI):
//! one line per change between two snapshots, instead of the whole table again. Pure: two
//! snapshots in, lines out. Station text goes through [`cell`], as in the table, so it cannot move a
//! terminal's cursor when the log is read later.

use std::time::Duration;

use super::render::{
    BootNote, boot_note, cause_text, cell, connector_name, health_text, totals_text,
    transaction_line, transaction_place, unknown_id_text,
};
use super::view::{ConnectorSnapshot, StationSnapshot};

/// What changed from `before` to `after`, one line per change, station by station.
pub fn changes(
    before: &[StationSnapshot],
    after: &[StationSnapshot],
    offline_after: Duration,
) -> Vec<String> {
    let mut lines = Vec::new();
    for station in after {
        let previous = before.iter().find(|s| s.identity == station.identity);
        let name = cell(Some(&station.identity), 48);
        for change in station_changes(previous, station, offline_after) {
            lines.push(format!("{name} {change}"));
        }
    }
    lines
}

fn station_changes(
    before: Option<&StationSnapshot>,
    s: &StationSnapshot,
    offline_after: Duration,
) -> Vec<String> {
    let mut lines = Vec::new();
    let was_connected = before.is_some_and(|b| b.connected);
    let connections_before = before.map_or(0, |b| b.connections);
    if s.connections > connections_before && s.connected {
        lines.push(format!(
            "connected: OCPP {} from {}",
            cell(s.version.as_deref(), 10),
            cell(s.remote.as_deref(), 60)
        ));
    }
    if s.last_refusal.is_some() && s.last_refusal != before.and_then(|b| b.last_refusal.clone()) {
        lines.push(format!(
            "upgrade refused: {}",
            cell(s.last_refusal.as_deref(), 100)
        ));
    }
    boot_changes(&mut lines, before, s);
    for connector in &s.connectors {
        let old = before.and_then(|b| {
            b.connectors
                .iter()
                .find(|c| (c.evse, c.connector) == (connector.evse, connector.connector))
        });
        if let Some(line) = connector_change(old, connector) {
            lines.push(line);
        }
    }
    transaction_changes(&mut lines, before, s);
    if s.last_heartbeat.is_some()
        && s.last_heartbeat != before.and_then(|b| b.last_heartbeat.clone())
    {
        lines.push("Heartbeat".to_owned());
    }
    if let Some(health) = &s.health
        && before.and_then(|b| b.health.as_ref()).map(|h| &h.at) != Some(&health.at)
    {
        lines.push(format!("health: {}", health_text(health)));
    }
    let count_before = before.map_or(0, |b| b.validation_errors.count);
    let new_errors = s.validation_errors.count.saturating_sub(count_before);
    let recent = &s.validation_errors.recent;
    let shown = usize::try_from(new_errors).map_or(recent.len(), |n| n.min(recent.len()));
    for invalid in recent.iter().skip(recent.len().saturating_sub(shown)) {
        lines.push(format!(
            "INVALID {}: {}",
            cell(invalid.action.as_deref(), 40),
            cell(Some(&invalid.message), 160)
        ));
    }
    // Link changes last: a connection that ends after its final messages reads in that order.
    let was_online = before.is_some_and(|b| b.online);
    if was_connected && !s.connected {
        lines.push(format!(
            "connection ended: {}",
            cell(s.last_disconnect.as_deref(), 100)
        ));
    } else if s.connected && was_online && !s.online {
        lines.push(format!(
            "silent: connected, nothing heard for {} s",
            offline_after.as_secs()
        ));
    } else if s.connected && was_connected && !was_online && s.online {
        lines.push("heard from again".to_owned());
    }
    lines
}

/// A line for each transaction that is new or changed (state, energy, events...), one for each
/// new message naming an unknown transaction id, and the station's totals when a transaction
/// ends.
fn transaction_changes(
    lines: &mut Vec<String>,
    before: Option<&StationSnapshot>,
    s: &StationSnapshot,
) {
    let old = before.map(|b| &b.transactions);
    // A 1.6 start is logged with the id its answer brings, a moment later.
    for t in s.transactions.recent.iter().filter(|t| t.id.is_some()) {
        let previous = old.and_then(|o| o.recent.iter().find(|p| p.number == t.number));
        if previous != Some(t) {
            lines.push(format!("{} {}", transaction_place(t), transaction_line(t)));
        }
    }
    let unknown_before = old.map_or(0, |o| o.totals.unknown_id_messages);
    let new_unknown = s
        .transactions
        .totals
        .unknown_id_messages
        .saturating_sub(unknown_before);
    let recent = &s.transactions.unknown_ids;
    let shown = usize::try_from(new_unknown).map_or(recent.len(), |n| n.min(recent.len()));
    for unknown in recent.iter().skip(recent.len().saturating_sub(shown)) {
        lines.push(format!("UNKNOWN TRANSACTION: {}", unknown_id_text(unknown)));
    }
    let ended_before = old.map_or(0, |o| o.totals.ended);
    if s.transactions.totals.ended > ended_before {
        lines.push(format!(
            "transactions: {}",
            totals_text(&s.transactions.totals)
        ));
    }
}

/// The BootNotification's data when it arrives, its answer when that changes, and why there is
/// none when a station carries on without one.
fn boot_changes(lines: &mut Vec<String>, before: Option<&StationSnapshot>, s: &StationSnapshot) {
    let old = before.and_then(|b| b.boot.as_ref());
    let boots = |snapshot: Option<&StationSnapshot>| {
        snapshot.map_or(0, |b| {
            b.messages
                .by_action
                .get("BootNotification")
                .copied()
                .unwrap_or(0)
        })
    };
    if let Some(boot) = &s.boot {
        if boots(Some(s)) > boots(before) {
            let identification = [
                &boot.vendor,
                &boot.model,
                &boot.serial_number,
                &boot.firmware_version,
            ]
            .iter()
            .map(|field| cell(field.as_deref(), 25))
            .collect::<Vec<_>>()
            .join(" / ");
            let reason = boot
                .reason
                .as_deref()
                .map(|r| format!(" ({})", cell(Some(r), 30)))
                .unwrap_or_default();
            lines.push(format!("BootNotification{reason}: {identification}"));
        }
        if boot.status.is_some() && boot.status != old.and_then(|b| b.status.clone()) {
            lines.push(format!(
                "registration: {}",
                cell(boot.status.as_deref(), 20)
            ));
        }
    }
    // Only the settled fact: "not yet" is a passing state the log would keep forever.
    let note = boot_note(s).filter(|n| *n == BootNote::RegisteredBefore);
    if let Some(note) = note
        && before.and_then(boot_note) != Some(note)
    {
        lines.push(format!("boot: {}", note.text()));
    }
}

/// `evse 1 connector 1: Available > Occupied`, with the cause when there is one.
fn connector_change(old: Option<&ConnectorSnapshot>, c: &ConnectorSnapshot) -> Option<String> {
    let name = connector_name(c);
    let status = cell(c.status.as_deref(), 16);
    let cause = c
        .cause
        .as_ref()
        .map(|cause| format!(", cause: {}", cause_text(cause)))
        .unwrap_or_default();
    match old {
        None if c.status.is_some() || c.cause.is_some() => Some(format!("{name}: {status}{cause}")),
        None => None,
        Some(old) if old.status != c.status => Some(format!(
            "{name}: {} > {status}{cause}",
            cell(old.status.as_deref(), 16)
        )),
        Some(old) if old.cause != c.cause => Some(match &c.cause {
            Some(_) => format!("{name}: {status}{cause}"),
            None => format!("{name}: {status}, cause cleared"),
        }),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::view::{BootSnapshot, Cause, MessageCounts};

    fn station() -> StationSnapshot {
        StationSnapshot {
            identity: "CP1".into(),
            online: true,
            connected: true,
            version: Some("2.0.1".into()),
            remote: Some("127.0.0.1:5000".into()),
            connections: 1,
            boot: None,
            connectors: Vec::new(),
            last_heartbeat: None,
            health: None,
            last_seen: None,
            last_disconnect: None,
            last_refusal: None,
            messages: MessageCounts::default(),
            validation_errors: Default::default(),
            transactions: Default::default(),
        }
    }

    fn connector(status: &str, cause: Option<Cause>) -> ConnectorSnapshot {
        ConnectorSnapshot {
            evse: Some(1),
            connector: 1,
            status: Some(status.into()),
            cause,
            since: None,
            history: Vec::new(),
        }
    }

    const OFFLINE: Duration = Duration::from_secs(30);

    #[test]
    fn a_session_reads_as_one_line_per_change() {
        let connected = station();
        let mut booted = connected.clone();
        booted.messages.received = 1;
        booted
            .messages
            .by_action
            .insert("BootNotification".into(), 1);
        booted.boot = Some(BootSnapshot {
            status: Some("Accepted".into()),
            vendor: Some("V".into()),
            model: Some("M".into()),
            serial_number: Some("S".into()),
            firmware_version: Some("1.0".into()),
            reason: Some("PowerUp".into()),
        });
        let mut available = booted.clone();
        available.connectors = vec![connector("Available", None)];
        let mut faulted = available.clone();
        let fault = Cause {
            tech_code: Some("GroundFailure".into()),
            tech_info: Some("earth fault".into()),
            ..Cause::default()
        };
        faulted.connectors = vec![connector("Faulted", Some(fault))];
        let mut heartbeat = faulted.clone();
        heartbeat.last_heartbeat = Some("2026-01-01T00:00:10.000Z".into());
        let mut closed = heartbeat.clone();
        closed.connected = false;
        closed.online = false;
        closed.last_disconnect = Some("closed (1000)".into());

        let steps = [
            Vec::new(),
            vec![connected],
            vec![booted],
            vec![available],
            vec![faulted],
            vec![heartbeat.clone()],
            vec![heartbeat],
            vec![closed],
        ];
        let lines: Vec<String> = steps
            .windows(2)
            .flat_map(|pair| changes(&pair[0], &pair[1], OFFLINE))
            .collect();
        assert_eq!(
            lines,
            [
                "CP1 connected: OCPP 2.0.1 from 127.0.0.1:5000",
                "CP1 BootNotification (PowerUp): V / M / S / 1.0",
                "CP1 registration: Accepted",
                "CP1 evse 1 connector 1: Available",
                "CP1 evse 1 connector 1: Available > Faulted, cause: GroundFailure (earth fault)",
                "CP1 Heartbeat",
                "CP1 connection ended: closed (1000)",
            ]
        );
    }

    #[test]
    fn each_boot_and_its_answer_are_logged() {
        let mut answered = station();
        answered
            .messages
            .by_action
            .insert("BootNotification".into(), 2);
        answered.boot = Some(BootSnapshot {
            status: Some("Pending".into()),
            ..BootSnapshot::default()
        });
        let mut again = answered.clone();
        again
            .messages
            .by_action
            .insert("BootNotification".into(), 3);
        again.boot = Some(BootSnapshot::default());
        let mut answered_again = again.clone();
        answered_again.boot = answered.boot.clone();
        // The same answer as before is logged again: it answers another Boot.
        let lines: Vec<String> = [vec![answered], vec![again], vec![answered_again]]
            .windows(2)
            .flat_map(|pair| changes(&pair[0], &pair[1], OFFLINE))
            .collect();
        assert_eq!(
            lines,
            [
                "CP1 BootNotification: - / - / - / -",
                "CP1 registration: Pending"
            ]
        );
    }

    #[test]
    fn a_station_that_carries_on_without_a_boot_is_explained_once() {
        let mut reconnected = station();
        reconnected.messages.received = 1;
        reconnected.last_heartbeat = Some("2026-01-01T00:00:10.000Z".into());
        let lines = changes(&[], std::slice::from_ref(&reconnected), OFFLINE);
        assert!(
            lines.contains(
                &"CP1 boot: registered before this lab started (a station does not boot again \
                  when it reconnects)"
                    .to_owned()
            ),
            "{lines:?}"
        );
        assert!(changes(&[reconnected.clone()], &[reconnected], OFFLINE).is_empty());
    }

    #[test]
    fn a_transaction_is_one_line_per_change_and_its_end_brings_the_totals() {
        use crate::render::tests::transaction;
        use crate::view::{TransactionState, TransactionTotals, UnknownIdSnapshot};
        let idle = station();
        let mut started = idle.clone();
        let mut tx = transaction(1, TransactionState::Started);
        tx.energy_wh = Some(0.0);
        tx.events = 1;
        tx.duration_seconds = Some(0);
        started.transactions.recent = vec![tx.clone()];
        started.transactions.totals = TransactionTotals {
            transactions: 1,
            in_progress: 1,
            ..TransactionTotals::default()
        };
        let mut charging = started.clone();
        tx.state = TransactionState::Charging;
        tx.energy_wh = Some(1200.0);
        tx.events = 2;
        tx.duration_seconds = Some(60);
        charging.transactions.recent = vec![tx.clone()];
        let mut ended = charging.clone();
        tx.state = TransactionState::Ended;
        tx.stopped_reason = Some("EVDisconnected".into());
        tx.events = 3;
        ended.transactions.recent = vec![tx];
        ended.transactions.totals = TransactionTotals {
            transactions: 1,
            ended: 1,
            energy_wh: 1200.0,
            ..TransactionTotals::default()
        };
        let mut stray = ended.clone();
        stray.transactions.totals.unknown_id_messages = 1;
        stray.transactions.unknown_ids = vec![UnknownIdSnapshot {
            at: "2026-01-01T00:00:20.000Z".into(),
            action: "MeterValues".into(),
            transaction_id: -3,
            allocated: false,
        }];

        let mut awaiting_id = idle.clone();
        let mut unanswered = transaction(1, TransactionState::Started);
        unanswered.id = None;
        awaiting_id.transactions.recent = vec![unanswered];
        let lines: Vec<String> = [
            idle,
            awaiting_id,
            started,
            charging.clone(),
            charging,
            ended,
            stray,
        ]
        .map(|s| vec![s])
        .windows(2)
        .flat_map(|pair| changes(&pair[0], &pair[1], OFFLINE))
        .collect();
        assert_eq!(
            lines,
            [
                "CP1 evse 1 connector 1 transaction tx-1: started, 0 Wh, 0 s, 1 event, seqNo \
                 gaps: none, offline events: 0",
                "CP1 evse 1 connector 1 transaction tx-1: charging, 1.200 kWh, 1 min 0 s, 2 \
                 events, seqNo gaps: none, offline events: 0",
                "CP1 evse 1 connector 1 transaction tx-1: ended (EVDisconnected), 1.200 kWh in 1 \
                 min 0 s, 3 events, seqNo gaps: none, offline events: 0",
                "CP1 transactions: 1 (0 running, 1 ended), 1.200 kWh",
                "CP1 UNKNOWN TRANSACTION: MeterValues names transaction -3, which this lab never \
                 gave",
            ]
        );
    }

    #[test]
    fn silence_and_its_end_are_logged() {
        let online = station();
        let mut silent = online.clone();
        silent.online = false;
        assert_eq!(
            changes(
                std::slice::from_ref(&online),
                std::slice::from_ref(&silent),
                OFFLINE
            ),
            ["CP1 silent: connected, nothing heard for 30 s"]
        );
        assert_eq!(
            changes(&[silent], &[online], OFFLINE),
            ["CP1 heard from again"]
        );
    }

    #[test]
    fn station_text_cannot_drive_a_terminal() {
        let mut hostile = station();
        hostile.identity = "CP\u{1b}[2J".into();
        let lines = changes(&[], &[hostile], OFFLINE);
        assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
    }
}
