//! The operator's view of the stations connected to the lab CSMS: a pure model fed with what
//! happened and when, read through [`View::snapshot`].
//!
//! Per station: online or offline (offline once nothing has been heard for the offline
//! threshold, or the connection is closed), the OCPP version, the boot data, each connector's
//! status with its cause (1.6 `errorCode`/`info`/`vendorErrorCode`, 2.0.1 the `techCode` and
//! `techInfo` of a `Connector.Problem` NotifyEvent) and the statuses it went through, the last
//! heartbeat, message counts and validation errors, and its charging sessions
//! ([`transactions`]). One entry per identity: the connectors shown are those of the version the
//! station speaks now.

mod energy;
mod seq_nos;
pub mod transactions;

use std::collections::{BTreeMap, VecDeque};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::answer::{MessageKind, WireMessage};
use ocpp_station::clock::format_timestamp;
use ocpp_station::metrics::Sample;
use ocpp_station::ocpp::{OcppVersion, VENDOR_ID};
use ocpp_station::station::METRICS_MESSAGE_ID;
use transactions::Transactions;
pub use transactions::{
    SeqNoSnapshot, TransactionSnapshot, TransactionState, TransactionTotals, TransactionsSnapshot,
    UnknownIdSnapshot,
};

/// How many statuses a connector's history keeps (the newest).
pub const HISTORY_LIMIT: usize = 100;

/// How many validation errors a station keeps for display (the newest); all are counted.
pub const RECENT_ERRORS: usize = 10;

/// Longest text kept from a station's field: enough for every OCPP string field.
const MAX_FIELD_CHARS: usize = 512;

/// When something happened: the monotonic instant for the offline rule, the wall-clock time
/// for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Monotonic time.
    pub mono: Instant,
    /// Wall-clock time.
    pub wall: DateTime<Utc>,
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the station to the CSMS.
    FromStation,
    /// From the CSMS to the station.
    ToStation,
}

impl Direction {
    /// The name used in the JSON lines.
    pub fn name(self) -> &'static str {
        match self {
            Direction::FromStation => "from_station",
            Direction::ToStation => "to_station",
        }
    }
}

/// Every station the lab has heard of.
#[derive(Debug, Clone)]
pub struct View {
    offline_after: Duration,
    stations: BTreeMap<String, StationState>,
    /// The 1.6 transaction ids the lab has given, lowest to highest: the lab gives them in
    /// sequence, so every id in between was given too.
    allocated_ids: Option<RangeInclusive<i64>>,
}

#[derive(Debug, Clone, Default)]
struct StationState {
    /// The current connection's number while connected.
    connection: Option<u64>,
    remote: Option<String>,
    version: Option<OcppVersion>,
    connections: u32,
    last_traffic: Option<Instant>,
    last_seen: Option<DateTime<Utc>>,
    last_disconnect: Option<String>,
    last_refusal: Option<String>,
    boot: Option<BootSnapshot>,
    connectors: BTreeMap<(Option<u32>, u32), ConnectorState>,
    last_heartbeat: Option<DateTime<Utc>>,
    health: Option<HealthSnapshot>,
    counts: MessageCounts,
    invalid_count: u64,
    recent_invalid: VecDeque<InvalidSnapshot>,
    transactions: Transactions,
}

#[derive(Debug, Clone, Default)]
struct ConnectorState {
    status: Option<String>,
    cause: Option<Cause>,
    since: Option<DateTime<Utc>>,
    history: VecDeque<String>,
}

/// A station as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationSnapshot {
    /// The identity from the URL path.
    pub identity: String,
    /// Connected and heard from within the offline threshold.
    pub online: bool,
    /// The WebSocket is open.
    pub connected: bool,
    /// The OCPP version of the latest connection (`2.0.1`, `1.6`).
    pub version: Option<String>,
    /// The peer address of the latest connection.
    pub remote: Option<String>,
    /// How many connections were accepted.
    pub connections: u32,
    /// What the last BootNotification said and how it was answered.
    pub boot: Option<BootSnapshot>,
    /// Every connector reported, in order (1.6 connector 0 is the station as a whole).
    pub connectors: Vec<ConnectorSnapshot>,
    /// When the last Heartbeat arrived.
    pub last_heartbeat: Option<String>,
    /// The Pi's health from the station's last `Metrics` DataTransfer.
    pub health: Option<HealthSnapshot>,
    /// When anything was last heard from the station.
    pub last_seen: Option<String>,
    /// Why the last connection ended.
    pub last_disconnect: Option<String>,
    /// Why the last upgrade was refused (HTTP 401, 400...).
    pub last_refusal: Option<String>,
    /// Message counts.
    pub messages: MessageCounts,
    /// Schema and wire-rule violations in what the station sent.
    pub validation_errors: ValidationSummary,
    /// Its charging sessions.
    pub transactions: TransactionsSnapshot,
}

/// Boot data and answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BootSnapshot {
    /// The registration status the CSMS answered to the last BootNotification (`None` until it
    /// is answered).
    pub status: Option<String>,
    /// The vendor (2.0.1 `vendorName`, 1.6 `chargePointVendor`).
    pub vendor: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The serial number (1.6: the charge point's, else the charge box's).
    pub serial_number: Option<String>,
    /// The firmware version.
    pub firmware_version: Option<String>,
    /// 2.0.1 boot reason.
    pub reason: Option<String>,
}

/// The station's last `Metrics` DataTransfer (vendorId `ocpp-station`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSnapshot {
    /// When it arrived.
    pub at: String,
    /// What it measured.
    pub sample: Sample,
}

/// One connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorSnapshot {
    /// 2.0.1 EVSE id; absent in 1.6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse: Option<u32>,
    /// Connector id (1.6: 0 = the station as a whole).
    pub connector: u32,
    /// The last status reported; `None` when only a cause was heard.
    pub status: Option<String>,
    /// Why it is in that status, when the station said.
    pub cause: Option<Cause>,
    /// When the status last changed.
    pub since: Option<String>,
    /// The statuses it went through, oldest first, without repeats in a row.
    pub history: Vec<String>,
}

/// Why a connector is in its status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// 1.6 `errorCode` (absent for `NoError`).
    pub error_code: Option<String>,
    /// 1.6 `info`.
    pub info: Option<String>,
    /// 1.6 `vendorErrorCode`.
    pub vendor_error_code: Option<String>,
    /// 2.0.1 `techCode` of the `Connector.Problem` NotifyEvent.
    pub tech_code: Option<String>,
    /// 2.0.1 `techInfo` of the same event: what happened, in words.
    pub tech_info: Option<String>,
}

impl Cause {
    fn is_empty(&self) -> bool {
        *self == Cause::default()
    }
}

/// Message counts of one station.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    /// Frames received from the station.
    pub received: u64,
    /// Frames sent to the station.
    pub sent: u64,
    /// CALLs received, by action.
    pub by_action: BTreeMap<String, u64>,
    /// CALLs answered NotImplemented.
    pub not_implemented: u64,
}

/// Validation errors of one station.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationSummary {
    /// How many there were in all.
    pub count: u64,
    /// The newest ones.
    pub recent: Vec<InvalidSnapshot>,
}

/// One validation error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidSnapshot {
    /// When it was received.
    pub at: String,
    /// The action, when known.
    pub action: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl View {
    /// An empty view; a station is offline after `offline_after` without traffic.
    pub fn new(offline_after: Duration) -> Self {
        Self {
            offline_after,
            stations: BTreeMap::new(),
            allocated_ids: None,
        }
    }

    /// The offline threshold.
    pub fn offline_after(&self) -> Duration {
        self.offline_after
    }

    fn station(&mut self, identity: &str) -> &mut StationState {
        self.stations.entry(clip(identity)).or_default()
    }

    /// A station connected (connection number `conn`) and speaks `version`. A station that now
    /// speaks another version than before loses its connectors: they were numbered and named
    /// in the other version's terms, and it reports them again in the new one.
    pub fn connected(
        &mut self,
        at: Stamp,
        conn: u64,
        identity: &str,
        version: OcppVersion,
        remote: &str,
    ) {
        let station = self.station(identity);
        if station.version.is_some_and(|previous| previous != version) {
            station.connectors.clear();
        }
        station.connection = Some(conn);
        station.version = Some(version);
        station.remote = Some(remote.to_owned());
        station.connections = station.connections.saturating_add(1);
        station.last_disconnect = None;
        station.heard(at);
    }

    /// An upgrade for `identity` was refused.
    pub fn refused(&mut self, at: Stamp, identity: &str, reason: &str) {
        let station = self.station(identity);
        station.last_refusal = Some(format!("{} {}", format_timestamp(at.wall), clip(reason)));
    }

    /// Connection `conn` of `identity` ended. An older connection ending after a newer one was
    /// accepted changes nothing.
    pub fn disconnected(&mut self, _at: Stamp, conn: u64, identity: &str, reason: &str) {
        let station = self.station(identity);
        if station.connection == Some(conn) {
            station.connection = None;
            station.last_disconnect = Some(clip(reason));
        }
    }

    /// Something without a payload (a WebSocket ping) was heard from the station.
    pub fn traffic(&mut self, at: Stamp, identity: &str) {
        self.station(identity).heard(at);
    }

    /// A frame went by on a connection of a station speaking `version`.
    pub fn message(
        &mut self,
        at: Stamp,
        identity: &str,
        version: OcppVersion,
        direction: Direction,
        message: &WireMessage,
    ) {
        if direction == Direction::ToStation
            && message.kind == MessageKind::CallResult
            && message.action.as_deref() == Some("StartTransaction")
            && let Some(id) = message.payload.get("transactionId").and_then(Value::as_i64)
        {
            self.allocated_ids = Some(match self.allocated_ids.take() {
                Some(ids) => (*ids.start()).min(id)..=(*ids.end()).max(id),
                None => id..=id,
            });
        }
        let allocated = self.allocated_ids.clone();
        let station = self.station(identity);
        match direction {
            Direction::FromStation => {
                station.heard(at);
                station.counts.received = station.counts.received.saturating_add(1);
                if message.kind == MessageKind::Call {
                    let action = message.action.as_deref().unwrap_or("?");
                    let count = station.counts.by_action.entry(clip(action)).or_default();
                    *count = count.saturating_add(1);
                    let call = Call {
                        at,
                        version,
                        action,
                        id: message.id.as_deref(),
                        payload: &message.payload,
                    };
                    station.on_call(&call, allocated.as_ref());
                }
            }
            Direction::ToStation => {
                station.counts.sent = station.counts.sent.saturating_add(1);
                match (message.kind, message.action.as_deref()) {
                    (MessageKind::CallResult, Some("BootNotification")) => {
                        let boot = station.boot.get_or_insert_with(BootSnapshot::default);
                        boot.status = text(&message.payload, &["status"]);
                    }
                    (MessageKind::CallResult, Some("StartTransaction")) => station
                        .transactions
                        .on_start_answer(message.id.as_deref(), &message.payload),
                    (MessageKind::CallError, _)
                        if message
                            .error
                            .as_ref()
                            .is_some_and(|(code, _)| code == "NotImplemented") =>
                    {
                        station.counts.not_implemented =
                            station.counts.not_implemented.saturating_add(1);
                    }
                    _ => {}
                }
            }
        }
    }

    /// What the station sent breaks a schema or wire rule.
    pub fn invalid(&mut self, at: Stamp, identity: &str, action: Option<&str>, message: &str) {
        let station = self.station(identity);
        station.invalid_count = station.invalid_count.saturating_add(1);
        if station.recent_invalid.len() == RECENT_ERRORS {
            station.recent_invalid.pop_front();
        }
        station.recent_invalid.push_back(InvalidSnapshot {
            at: format_timestamp(at.wall),
            action: action.map(clip),
            message: clip(message),
        });
    }

    /// Every station as it stands at `now`.
    pub fn snapshot(&self, now: Instant) -> Vec<StationSnapshot> {
        self.stations
            .iter()
            .map(|(identity, s)| StationSnapshot {
                identity: identity.clone(),
                online: s.connection.is_some()
                    && s.last_traffic
                        .is_some_and(|t| now.saturating_duration_since(t) <= self.offline_after),
                connected: s.connection.is_some(),
                version: s.version.map(|v| v.to_string()),
                remote: s.remote.clone(),
                connections: s.connections,
                boot: s.boot.clone(),
                connectors: s
                    .connectors
                    .iter()
                    .map(|(&(evse, connector), c)| ConnectorSnapshot {
                        evse,
                        connector,
                        status: c.status.clone(),
                        cause: c.cause.clone(),
                        since: c.since.map(format_timestamp),
                        history: c.history.iter().cloned().collect(),
                    })
                    .collect(),
                last_heartbeat: s.last_heartbeat.map(format_timestamp),
                health: s.health.clone(),
                last_seen: s.last_seen.map(format_timestamp),
                last_disconnect: s.last_disconnect.clone(),
                last_refusal: s.last_refusal.clone(),
                messages: s.counts.clone(),
                validation_errors: ValidationSummary {
                    count: s.invalid_count,
                    recent: s.recent_invalid.iter().cloned().collect(),
                },
                transactions: s.transactions.snapshot(),
            })
            .collect()
    }
}

impl StationState {
    fn heard(&mut self, at: Stamp) {
        self.last_traffic = Some(at.mono);
        self.last_seen = Some(at.wall);
    }

    fn on_call(&mut self, call: &Call<'_>, allocated: Option<&RangeInclusive<i64>>) {
        let &Call {
            at,
            version,
            action,
            payload,
            ..
        } = call;
        match (action, version) {
            // A new Boot waits for a new answer: its status is that answer, not the last one.
            ("BootNotification", OcppVersion::V201) => {
                self.boot = Some(BootSnapshot {
                    status: None,
                    vendor: text(payload, &["chargingStation", "vendorName"]),
                    model: text(payload, &["chargingStation", "model"]),
                    serial_number: text(payload, &["chargingStation", "serialNumber"]),
                    firmware_version: text(payload, &["chargingStation", "firmwareVersion"]),
                    reason: text(payload, &["reason"]),
                });
            }
            ("BootNotification", OcppVersion::V16) => {
                self.boot = Some(BootSnapshot {
                    status: None,
                    vendor: text(payload, &["chargePointVendor"]),
                    model: text(payload, &["chargePointModel"]),
                    serial_number: text(payload, &["chargePointSerialNumber"])
                        .or_else(|| text(payload, &["chargeBoxSerialNumber"])),
                    firmware_version: text(payload, &["firmwareVersion"]),
                    reason: None,
                });
            }
            ("Heartbeat", _) => self.last_heartbeat = Some(at.wall),
            ("DataTransfer", _) => {
                if let Some(sample) = metrics_sample(payload) {
                    self.health = Some(HealthSnapshot {
                        at: format_timestamp(at.wall),
                        sample,
                    });
                }
            }
            ("StatusNotification", OcppVersion::V201) => {
                let (Some(evse), Some(connector)) = (
                    number(payload, &["evseId"]),
                    number(payload, &["connectorId"]),
                ) else {
                    return;
                };
                let status = text(payload, &["connectorStatus"]);
                let entry = self.connectors.entry((Some(evse), connector)).or_default();
                if status.as_deref() != Some("Faulted") {
                    // The Problem event that clears the cause may come later; a healthy
                    // status already says it is over.
                    entry.cause = None;
                }
                entry.set_status(at, status);
            }
            ("StatusNotification", OcppVersion::V16) => {
                let Some(connector) = number(payload, &["connectorId"]) else {
                    return;
                };
                let cause = Cause {
                    error_code: text(payload, &["errorCode"]).filter(|code| code != "NoError"),
                    info: text(payload, &["info"]),
                    vendor_error_code: text(payload, &["vendorErrorCode"]),
                    tech_code: None,
                    tech_info: None,
                };
                let status = text(payload, &["status"]);
                self.transactions
                    .on_connector_status(connector, status.as_deref());
                let entry = self.connectors.entry((None, connector)).or_default();
                entry.cause = (!cause.is_empty()).then_some(cause);
                entry.set_status(at, status);
            }
            ("TransactionEvent", OcppVersion::V201) => {
                self.transactions.on_transaction_event(payload);
            }
            ("StartTransaction", OcppVersion::V16) => self.transactions.on_start(call.id, payload),
            ("MeterValues", OcppVersion::V16) => {
                self.transactions.on_meter_values(at, payload, allocated);
            }
            ("StopTransaction", OcppVersion::V16) => {
                self.transactions.on_stop(at, payload, allocated);
            }
            ("NotifyEvent", OcppVersion::V201) => {
                let Some(events) = payload.get("eventData").and_then(Value::as_array) else {
                    return;
                };
                for event in events {
                    self.on_problem_event(event);
                }
            }
            _ => {}
        }
    }

    /// A `Connector.Problem` event sets or clears the connector's cause.
    fn on_problem_event(&mut self, event: &Value) {
        if text(event, &["component", "name"]).as_deref() != Some("Connector")
            || text(event, &["variable", "name"]).as_deref() != Some("Problem")
        {
            return;
        }
        let Some(evse) = number(event, &["component", "evse", "id"]) else {
            return;
        };
        let connector = number(event, &["component", "evse", "connectorId"]).unwrap_or(1);
        let active = text(event, &["actualValue"]).is_some_and(|v| v.eq_ignore_ascii_case("true"))
            && !event
                .get("cleared")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let entry = self.connectors.entry((Some(evse), connector)).or_default();
        entry.cause = active.then(|| Cause {
            tech_code: text(event, &["techCode"]).or_else(|| Some("Problem".to_owned())),
            tech_info: text(event, &["techInfo"]),
            ..Cause::default()
        });
    }
}

impl ConnectorState {
    fn set_status(&mut self, at: Stamp, status: Option<String>) {
        if status != self.status {
            self.since = Some(at.wall);
        }
        if let Some(status) = &status
            && self.history.back() != Some(status)
        {
            if self.history.len() == HISTORY_LIMIT {
                self.history.pop_front();
            }
            self.history.push_back(status.clone());
        }
        self.status = status;
    }
}

/// The sample of an ocpp-station `Metrics` DataTransfer (1.6 carries it as JSON text, 2.0.1 as
/// an object); `None` for any other DataTransfer or data that is not a sample.
fn metrics_sample(payload: &Value) -> Option<Sample> {
    if payload.get("vendorId")?.as_str()? != VENDOR_ID
        || payload.get("messageId")?.as_str()? != METRICS_MESSAGE_ID
    {
        return None;
    }
    match payload.get("data")? {
        Value::String(text) => serde_json::from_str(text).ok(),
        data => serde_json::from_value(data.clone()).ok(),
    }
}

/// The string at `path`, clipped.
fn text(value: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(clip)
}

/// The small non-negative integer at `path`.
fn number(value: &Value, path: &[&str]) -> Option<u32> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// A CALL from a station, as the view reads it.
struct Call<'a> {
    at: Stamp,
    version: OcppVersion,
    action: &'a str,
    /// The message id.
    id: Option<&'a str>,
    payload: &'a Value,
}

/// A station's text, bounded: the view lives as long as the lab runs.
fn clip(text: &str) -> String {
    clip_to(text, MAX_FIELD_CHARS)
}

/// `text`, at most `max` characters (then `...`).
fn clip_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", text.get(..end).unwrap_or(text)),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    /// A clock for the tests: `at(s)` is `s` seconds after a fixed start.
    struct Clock {
        start: Instant,
    }

    impl Clock {
        fn new() -> Self {
            #[allow(
                clippy::disallowed_methods,
                reason = "a fixed origin for the test clock"
            )]
            let start = Instant::now();
            Clock { start }
        }

        fn at(&self, seconds: u64) -> Stamp {
            Stamp {
                mono: self.start + Duration::from_secs(seconds),
                wall: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(seconds as i64),
            }
        }
    }

    fn call(action: &str, payload: Value) -> WireMessage {
        WireMessage {
            kind: MessageKind::Call,
            id: Some("1".into()),
            action: Some(action.into()),
            payload,
            error: None,
        }
    }

    fn result(action: &str, payload: Value) -> WireMessage {
        WireMessage {
            kind: MessageKind::CallResult,
            id: Some("1".into()),
            action: Some(action.into()),
            payload,
            error: None,
        }
    }

    fn only(view: &View, now: Instant) -> StationSnapshot {
        let mut all = view.snapshot(now);
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn a_201_station_boots_reports_and_heartbeats() {
        use Direction::{FromStation, ToStation};
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        let v = OcppVersion::V201;
        view.connected(clock.at(0), 1, "CP1", v, "127.0.0.1:5000");
        view.message(
            clock.at(1),
            "CP1",
            v,
            FromStation,
            &call(
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"vendorName": "V", "model": "M", "serialNumber": "S1", "firmwareVersion": "1.2"}}),
            ),
        );
        view.message(
            clock.at(1),
            "CP1",
            v,
            ToStation,
            &result("BootNotification", json!({"status": "Accepted"})),
        );
        for (t, status) in [
            (2, "Available"),
            (3, "Occupied"),
            (4, "Occupied"),
            (5, "Available"),
        ] {
            view.message(
                clock.at(t),
                "CP1",
                v,
                FromStation,
                &call(
                    "StatusNotification",
                    json!({"evseId": 1, "connectorId": 1, "connectorStatus": status, "timestamp": "x"}),
                ),
            );
        }
        view.message(
            clock.at(6),
            "CP1",
            v,
            FromStation,
            &call("Heartbeat", json!({})),
        );

        let s = only(&view, clock.at(6).mono);
        assert!(s.online && s.connected);
        assert_eq!(s.version.as_deref(), Some("2.0.1"));
        let boot = s.boot.unwrap();
        assert_eq!(boot.status.as_deref(), Some("Accepted"));
        assert_eq!(boot.vendor.as_deref(), Some("V"));
        assert_eq!(boot.serial_number.as_deref(), Some("S1"));
        assert_eq!(boot.reason.as_deref(), Some("PowerUp"));
        assert_eq!(s.connectors.len(), 1);
        let c = &s.connectors[0];
        assert_eq!((c.evse, c.connector), (Some(1), 1));
        assert_eq!(c.status.as_deref(), Some("Available"));
        assert_eq!(c.history, ["Available", "Occupied", "Available"]);
        assert_eq!(c.since.as_deref(), Some("2026-01-01T00:00:05.000Z"));
        assert_eq!(
            s.last_heartbeat.as_deref(),
            Some("2026-01-01T00:00:06.000Z")
        );
        assert_eq!(s.messages.received, 6);
        assert_eq!(s.messages.sent, 1);
        assert_eq!(s.messages.by_action["StatusNotification"], 4);
        assert_eq!(s.validation_errors.count, 0);
    }

    #[test]
    fn every_boot_waits_for_its_own_answer() {
        use Direction::{FromStation, ToStation};
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        let v = OcppVersion::V16;
        view.connected(clock.at(0), 1, "CP1", v, "r");
        let boot = call(
            "BootNotification",
            json!({"chargePointVendor": "V", "chargePointModel": "M"}),
        );
        let status = |view: &View, t| only(view, clock.at(t).mono).boot.and_then(|b| b.status);
        view.message(clock.at(1), "CP1", v, FromStation, &boot);
        assert_eq!(status(&view, 1), None);
        let pending = result("BootNotification", json!({"status": "Pending"}));
        view.message(clock.at(1), "CP1", v, ToStation, &pending);
        assert_eq!(status(&view, 1).as_deref(), Some("Pending"));
        view.message(clock.at(2), "CP1", v, FromStation, &boot);
        assert_eq!(status(&view, 2), None);
        let accepted = result("BootNotification", json!({"status": "Accepted"}));
        view.message(clock.at(2), "CP1", v, ToStation, &accepted);
        assert_eq!(status(&view, 2).as_deref(), Some("Accepted"));
    }

    #[test]
    fn the_metrics_data_transfer_is_the_stations_health_in_either_version() {
        use Direction::FromStation;
        let clock = Clock::new();
        let sample = json!({"cpu_percent": 1.5, "load_average": [0.1, 0.2, 0.3],
            "memory_used_bytes": 10, "memory_total_bytes": 20, "uptime_seconds": 5});
        for (v, data) in [
            (OcppVersion::V201, sample.clone()),
            (OcppVersion::V16, json!(sample.to_string())),
        ] {
            let mut view = View::new(Duration::from_secs(30));
            view.connected(clock.at(0), 1, "CP1", v, "r");
            // Someone else's DataTransfer, and ours with data that is not a sample, change nothing.
            for payload in [
                json!({"vendorId": "acme", "messageId": "Metrics", "data": data}),
                json!({"vendorId": "ocpp-station", "messageId": "Metrics", "data": "{\"cpu\": 1}"}),
            ] {
                view.message(
                    clock.at(1),
                    "CP1",
                    v,
                    FromStation,
                    &call("DataTransfer", payload),
                );
            }
            assert_eq!(only(&view, clock.at(1).mono).health, None);
            let payload = json!({"vendorId": "ocpp-station", "messageId": "Metrics", "data": data});
            view.message(
                clock.at(2),
                "CP1",
                v,
                FromStation,
                &call("DataTransfer", payload),
            );
            let health = only(&view, clock.at(2).mono).health.unwrap();
            assert_eq!(health.at, "2026-01-01T00:00:02.000Z");
            assert_eq!(health.sample.cpu_percent, 1.5);
            assert_eq!(health.sample.memory_total_bytes, 20);
        }
    }

    #[test]
    fn silence_makes_a_station_offline_and_traffic_brings_it_back() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        view.connected(clock.at(0), 1, "CP1", OcppVersion::V16, "r");
        assert!(only(&view, clock.at(30).mono).online);
        assert!(!only(&view, clock.at(31).mono).online);
        assert!(only(&view, clock.at(31).mono).connected);
        view.traffic(clock.at(40), "CP1");
        assert!(only(&view, clock.at(41).mono).online);
    }

    #[test]
    fn only_the_current_connection_ending_takes_the_station_offline() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        view.connected(clock.at(0), 1, "CP1", OcppVersion::V201, "r");
        view.connected(clock.at(1), 2, "CP1", OcppVersion::V201, "r");
        view.disconnected(clock.at(2), 1, "CP1", "reset");
        assert!(only(&view, clock.at(2).mono).online);
        view.disconnected(clock.at(3), 2, "CP1", "closed (1000)");
        let s = only(&view, clock.at(3).mono);
        assert!(!s.online && !s.connected);
        assert_eq!(s.connections, 2);
        assert_eq!(s.last_disconnect.as_deref(), Some("closed (1000)"));
    }

    #[test]
    fn a_16_fault_carries_its_cause_until_the_connector_recovers() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        let v = OcppVersion::V16;
        view.connected(clock.at(0), 1, "CP1", v, "r");
        let status = |view: &mut View, t, status: &str, extra: Value| {
            let mut payload = json!({"connectorId": 1, "status": status, "errorCode": "NoError"});
            for (k, v) in extra.as_object().unwrap() {
                payload[k] = v.clone();
            }
            view.message(
                clock.at(t),
                "CP1",
                v,
                Direction::FromStation,
                &call("StatusNotification", payload),
            );
        };
        status(&mut view, 1, "Available", json!({}));
        status(
            &mut view,
            2,
            "Faulted",
            json!({"errorCode": "GroundFailure", "info": "earth fault"}),
        );
        let s = only(&view, clock.at(2).mono);
        let cause = s.connectors[0].cause.clone().unwrap();
        assert_eq!(cause.error_code.as_deref(), Some("GroundFailure"));
        assert_eq!(cause.info.as_deref(), Some("earth fault"));
        assert_eq!(s.connectors[0].evse, None);
        status(&mut view, 3, "Available", json!({}));
        let s = only(&view, clock.at(3).mono);
        assert_eq!(s.connectors[0].cause, None);
        assert_eq!(
            s.connectors[0].history,
            ["Available", "Faulted", "Available"]
        );
    }

    #[test]
    fn a_station_that_switches_version_shows_only_the_new_versions_connectors() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        view.connected(clock.at(0), 1, "CP1", OcppVersion::V201, "r");
        view.message(
            clock.at(1),
            "CP1",
            OcppVersion::V201,
            Direction::FromStation,
            &call(
                "StatusNotification",
                json!({"evseId": 1, "connectorId": 1, "connectorStatus": "Available", "timestamp": "t"}),
            ),
        );
        view.disconnected(clock.at(2), 1, "CP1", "closed (1000)");
        // A reconnect on the same version keeps what the station reported.
        view.connected(clock.at(3), 2, "CP1", OcppVersion::V201, "r");
        assert_eq!(only(&view, clock.at(3).mono).connectors.len(), 1);
        view.connected(clock.at(4), 3, "CP1", OcppVersion::V16, "r");
        for connector in [0, 1] {
            view.message(
                clock.at(5),
                "CP1",
                OcppVersion::V16,
                Direction::FromStation,
                &call(
                    "StatusNotification",
                    json!({"connectorId": connector, "status": "Available", "errorCode": "NoError"}),
                ),
            );
        }
        let s = only(&view, clock.at(5).mono);
        assert_eq!(s.version.as_deref(), Some("1.6"));
        let shown: Vec<_> = s.connectors.iter().map(|c| (c.evse, c.connector)).collect();
        assert_eq!(shown, [(None, 0), (None, 1)]);
        assert_eq!(s.connections, 3);
    }

    #[test]
    fn a_201_problem_event_sets_and_clears_the_tech_code() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        let v = OcppVersion::V201;
        view.connected(clock.at(0), 1, "CP1", v, "r");
        let problem = |active: bool, cleared: bool| {
            let mut event = json!({
                "eventId": 1, "timestamp": "t", "trigger": "Delta",
                "actualValue": if active { "true" } else { "false" },
                "eventNotificationType": "HardWiredNotification",
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "Problem"},
                "techCode": "GroundFailure",
                "techInfo": "earth fault"
            });
            if cleared {
                event["cleared"] = json!(true);
            }
            call(
                "NotifyEvent",
                json!({"generatedAt": "t", "seqNo": 0, "eventData": [event]}),
            )
        };
        let faulted = call(
            "StatusNotification",
            json!({"evseId": 1, "connectorId": 1, "connectorStatus": "Faulted", "timestamp": "t"}),
        );
        view.message(clock.at(1), "CP1", v, Direction::FromStation, &faulted);
        view.message(
            clock.at(1),
            "CP1",
            v,
            Direction::FromStation,
            &problem(true, false),
        );
        let cause = only(&view, clock.at(1).mono).connectors[0]
            .cause
            .clone()
            .unwrap();
        assert_eq!(cause.tech_code.as_deref(), Some("GroundFailure"));
        assert_eq!(cause.tech_info.as_deref(), Some("earth fault"));
        view.message(
            clock.at(2),
            "CP1",
            v,
            Direction::FromStation,
            &problem(false, true),
        );
        assert_eq!(only(&view, clock.at(2).mono).connectors[0].cause, None);
        // Other components' events are not connector causes.
        let other = call(
            "NotifyEvent",
            json!({"eventData": [{"component": {"name": "ChargingStation"}, "variable": {"name": "Problem"}, "actualValue": "true"}]}),
        );
        view.message(clock.at(3), "CP1", v, Direction::FromStation, &other);
        assert_eq!(only(&view, clock.at(3).mono).connectors.len(), 1);
    }

    #[test]
    fn errors_are_counted_and_the_newest_kept() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        for i in 0..(RECENT_ERRORS as u64 + 5) {
            view.invalid(
                clock.at(i),
                "CP1",
                Some("Heartbeat"),
                &format!("problem {i}"),
            );
        }
        let s = only(&view, clock.at(0).mono);
        assert_eq!(s.validation_errors.count, RECENT_ERRORS as u64 + 5);
        assert_eq!(s.validation_errors.recent.len(), RECENT_ERRORS);
        assert_eq!(
            s.validation_errors.recent.last().unwrap().message,
            format!("problem {}", RECENT_ERRORS + 4)
        );
        assert!(!s.online);
    }

    #[test]
    fn not_implemented_answers_are_counted_and_odd_payloads_ignored() {
        let clock = Clock::new();
        let mut view = View::new(Duration::from_secs(30));
        let v = OcppVersion::V16;
        view.connected(clock.at(0), 1, "CP1", v, "r");
        view.message(
            clock.at(1),
            "CP1",
            v,
            Direction::ToStation,
            &WireMessage {
                kind: MessageKind::CallError,
                id: Some("1".into()),
                action: Some("MeterValues".into()),
                payload: json!({}),
                error: Some(("NotImplemented".into(), "no".into())),
            },
        );
        for payload in [
            json!({}),
            json!({"connectorId": "one"}),
            json!({"connectorId": -1}),
            json!([1]),
        ] {
            view.message(
                clock.at(2),
                "CP1",
                v,
                Direction::FromStation,
                &call("StatusNotification", payload),
            );
        }
        let s = only(&view, clock.at(2).mono);
        assert_eq!(s.messages.not_implemented, 1);
        assert!(s.connectors.is_empty());
        let long = "x".repeat(MAX_FIELD_CHARS + 10);
        view.refused(clock.at(3), &long, "401");
        assert_eq!(view.snapshot(clock.at(3).mono).len(), 2);
    }
}
