//! Simulated days of the station core: the pure `Station` driven through its public API
//! (`handle_*`, `poll_*`) over a simulated clock and a simulated link, against a model CSMS that
//! answers with random latency and sometimes late, twice, with an error or not at all, sends
//! CALLs of its own (and garbage), while connectors change status and the link drops.
//!
//! Checked all along: never two of the station's CALLs outstanding at once, unique message ids,
//! every StatusNotification well-formed and carrying the status of the moment, every CSMS CALL
//! answered at once and exactly once, nothing sent while offline, no gap without traffic longer
//! than the heartbeat interval while registered, no Heartbeat queued twice, the startup
//! SecurityEventNotification never repeated once acknowledged, no busy loop. Checked after each
//! simulated day, in a quiet hour (no changes, a well-behaved CSMS): the station settles, the
//! CSMS knows every connector's current status (nothing owed was lost), and only Heartbeats go
//! out, as many as the interval allows (no queue grows from one day to the next).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the simulated clock starts from a real instant"
)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ocpp_station::backoff::BackoffConfig;
use ocpp_station::clock::{WallClock, format_timestamp, parse_timestamp, to_wire_precision};
use ocpp_station::config::BootInfo;
use ocpp_station::device_model::{Defaults, DeviceModel};
use ocpp_station::ocpp::{BootReason, ConnectorStatus, Fault, FaultCode, OcppVersion};
use ocpp_station::station::{Event, Restorable, Settings, Station};
use ocpp_station_core::test_util::SimClock;
use serde_json::{Value, json};

const CONNECTORS: u32 = 2;
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const OFFLINE_THRESHOLD: Duration = Duration::from_secs(600);
const BOOT_INTERVAL: u64 = 300;
const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

// ---------------------------------------------------------------------------------------------
// Determinism: a random generator the test owns (the clock is the core's simulated one)
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A duration uniform in `[low, high)`, millisecond steps.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high.saturating_sub(low)).as_millis() as u64;
        low + Duration::from_millis(self.below(span))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// The wire: what the CSMS sees
// ---------------------------------------------------------------------------------------------

/// A connector status as the CSMS sees it in `version` (1.6: with its errorCode).
fn on_wire(status: &ConnectorStatus, version: OcppVersion) -> String {
    let (v201, v16) = match status {
        ConnectorStatus::Available => ("Available", "Available"),
        ConnectorStatus::Preparing => ("Occupied", "Preparing"),
        ConnectorStatus::Charging => ("Occupied", "Charging"),
        ConnectorStatus::SuspendedEv => ("Occupied", "SuspendedEV"),
        ConnectorStatus::SuspendedEvse => ("Occupied", "SuspendedEVSE"),
        ConnectorStatus::Finishing => ("Occupied", "Finishing"),
        ConnectorStatus::Unavailable => ("Unavailable", "Unavailable"),
        ConnectorStatus::Faulted(_) => ("Faulted", "Faulted"),
    };
    match version {
        OcppVersion::V201 => v201.to_owned(),
        OcppVersion::V16 => {
            let code = match status {
                ConnectorStatus::Faulted(fault) => match fault.code {
                    FaultCode::GroundFailure => "GroundFailure",
                    FaultCode::HighTemperature => "HighTemperature",
                    FaultCode::InternalError => "InternalError",
                    FaultCode::OtherError => "OtherError",
                },
                _ => "NoError",
            };
            format!("{v16}/{code}")
        }
    }
}

/// The status a StatusNotification payload carries, spelled like [`on_wire`].
fn payload_status(payload: &Value, version: OcppVersion) -> String {
    match version {
        OcppVersion::V201 => payload["connectorStatus"]
            .as_str()
            .unwrap_or("?")
            .to_owned(),
        OcppVersion::V16 => format!(
            "{}/{}",
            payload["status"].as_str().unwrap_or("?"),
            payload["errorCode"].as_str().unwrap_or("?")
        ),
    }
}

/// An OCPP timestamp: UTC, `Z`, at most three fractional digits.
fn is_wire_timestamp(text: &str) -> bool {
    let Some(body) = text.strip_suffix('Z') else {
        return false;
    };
    let (main, fraction) = body.split_once('.').unwrap_or((body, ""));
    fraction.len() <= 3
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && main.len() == 19
        && DateTime::parse_from_rfc3339(text).is_ok()
}

/// The connector a StatusNotification is about, after checking its shape for `version`.
fn check_status_notification(payload: &Value, version: OcppVersion, now_utc: DateTime<Utc>) -> u32 {
    let context = || format!("StatusNotification {payload}");
    let timestamp = payload["timestamp"].as_str().unwrap_or_default();
    assert!(is_wire_timestamp(timestamp), "{}", context());
    assert_eq!(
        parse_timestamp(timestamp),
        Some(to_wire_precision(now_utc)),
        "stamped with the time of sending: {}",
        context()
    );
    match version {
        OcppVersion::V201 => {
            let keys: BTreeSet<&str> = payload
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                BTreeSet::from(["connectorId", "connectorStatus", "evseId", "timestamp"]),
                "{}",
                context()
            );
            let evse = payload["evseId"].as_u64().unwrap();
            assert!((1..=u64::from(CONNECTORS)).contains(&evse), "{}", context());
            assert_eq!(payload["connectorId"], 1, "{}", context());
            let status = payload["connectorStatus"].as_str().unwrap();
            assert!(
                [
                    "Available",
                    "Occupied",
                    "Reserved",
                    "Unavailable",
                    "Faulted"
                ]
                .contains(&status),
                "{}",
                context()
            );
            evse as u32
        }
        OcppVersion::V16 => {
            let connector = payload["connectorId"].as_u64().unwrap();
            assert!(connector <= u64::from(CONNECTORS), "{}", context());
            let status = payload["status"].as_str().unwrap();
            assert!(
                [
                    "Available",
                    "Preparing",
                    "Charging",
                    "SuspendedEVSE",
                    "SuspendedEV",
                    "Finishing",
                    "Reserved",
                    "Unavailable",
                    "Faulted"
                ]
                .contains(&status),
                "{}",
                context()
            );
            let code = payload["errorCode"].as_str().unwrap();
            assert!(
                [
                    "ConnectorLockFailure",
                    "EVCommunicationError",
                    "GroundFailure",
                    "HighTemperature",
                    "InternalError",
                    "LocalListConflict",
                    "NoError",
                    "OtherError",
                    "OverCurrentFailure",
                    "PowerMeterFailure",
                    "PowerSwitchFailure",
                    "ReaderFailure",
                    "ResetFailure",
                    "UnderVoltage",
                    "OverVoltage",
                    "WeakSignal"
                ]
                .contains(&code),
                "{}",
                context()
            );
            if connector > 0 && status != "Faulted" {
                assert_eq!(code, "NoError", "{}", context());
            }
            for (key, max) in [("info", 50), ("vendorErrorCode", 50)] {
                if let Some(text) = payload.get(key) {
                    assert!(
                        text.as_str().is_some_and(|t| t.chars().count() <= max),
                        "{}",
                        context()
                    );
                }
            }
            connector as u32
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulation
// ---------------------------------------------------------------------------------------------

/// A frame on its way to the station: (delivery time, sequence, connection, text).
type InFlight = Reverse<(Instant, u64, u32, String)>;

/// How the model CSMS answers the station's CALLs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Temper {
    /// Random latency, and sometimes late, twice, an error, or never.
    Unruly,
    /// Every answer within a second.
    Polite,
    /// No answer at all.
    Silent,
}

/// The envelope a soak runs in.
#[derive(Clone, Copy)]
struct Envelope {
    /// The heartbeat intervals the CSMS switches between (seconds).
    intervals: &'static [u64],
    /// The shell's other wake-ups (WebSocket pings): `handle_timeout` is also called this often,
    /// as the shell may (it only acts on what is due).
    wake_every: Duration,
    /// A connector changes while the startup messages are still in flight.
    change_at_boot: bool,
}

/// The station's defaults: Heartbeat 300 s or 120 s (never shorter than the call timeout),
/// pings every 30 s.
const DEFAULTS: Envelope = Envelope {
    intervals: &[300, 120],
    wake_every: Duration::from_secs(30),
    change_at_boot: false,
};

struct Soak {
    version: OcppVersion,
    clock: SimClock,
    station: Station,
    rng: Rng,
    temper: Temper,

    online: bool,
    conn: u32,
    to_station: BinaryHeap<InFlight>,
    seq: u64,

    envelope: Envelope,
    /// The station's CALL in flight as it sees it: (id, sent at, action).
    outstanding: Option<(String, Instant, String)>,
    /// The CSMS acknowledged the startup SecurityEventNotification.
    startup_acknowledged: bool,
    /// When the CSMS's answer to the latest Heartbeat reached the station, if the latest CALL
    /// was a Heartbeat.
    heartbeat_answered: Option<Instant>,
    /// The CSMS asked for a Heartbeat (TriggerMessage) since the last one.
    heartbeat_triggered: bool,
    /// Every message id the station used.
    ids: BTreeSet<String>,
    /// What the CSMS last heard for each connector (spelled by [`on_wire`]).
    known: BTreeMap<u32, String>,
    /// CSMS CALLs sent and not answered yet: id -> connection.
    csms_calls: BTreeMap<String, u32>,
    next_csms_id: u64,
    /// Accepted by the CSMS on this connection: the heartbeat rule applies.
    registered: bool,
    /// Last frame in either direction on the live connection.
    last_traffic: Option<Instant>,
    /// The heartbeat interval in force before the latest step.
    interval: Duration,
    heartbeat_setting: u64,

    /// The station's CALLs, in order: (elapsed seconds, action).
    sent: Vec<(f64, String)>,
    boots: usize,
    status_changes: usize,
    reconnects: usize,
    csms_requests: usize,
    timeouts: usize,
}

impl Soak {
    fn new(version: OcppVersion, seed: u64, envelope: Envelope) -> Soak {
        let clock = SimClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
                + chrono::Duration::nanoseconds(987_654_321),
        );
        let defaults = Defaults {
            identity: "SOAK_01".into(),
            security_profile: 2,
            connectors: CONNECTORS,
            heartbeat_interval: Duration::ZERO,
            backoff: BackoffConfig::default(),
            ping_interval: Duration::from_secs(30),
            offline_threshold: OFFLINE_THRESHOLD,
            message_timeout: CALL_TIMEOUT,
            vendor: "ORGE".into(),
            model: "AC-Pi".into(),
            serial_number: Some("SOAK-0001".into()),
        };
        let settings = Settings {
            boot_info: BootInfo {
                vendor: "ORGE".into(),
                model: "AC-Pi".into(),
                serial_number: Some("SOAK-0001".into()),
                firmware_version: Some("1.0.0".into()),
            },
            boot_reason: BootReason::PowerUp,
            connectors: CONNECTORS,
            boot_on_reconnect: false,
        };
        let mut n = 0u64;
        let station = Station::new(
            settings,
            Arc::new(clock.clone()),
            Box::new(move || {
                n += 1;
                format!("soak-{n}")
            }),
            ConnectorStatus::Unavailable,
            Restorable::default(),
            DeviceModel::new(&defaults, &BTreeMap::new()),
        );
        Soak {
            version,
            clock,
            station,
            rng: Rng(seed | 1),
            temper: Temper::Unruly,
            online: false,
            conn: 0,
            to_station: BinaryHeap::new(),
            seq: 0,
            envelope,
            outstanding: None,
            startup_acknowledged: false,
            heartbeat_answered: None,
            heartbeat_triggered: false,
            ids: BTreeSet::new(),
            known: BTreeMap::new(),
            csms_calls: BTreeMap::new(),
            next_csms_id: 0,
            registered: false,
            last_traffic: None,
            interval: Duration::from_secs(BOOT_INTERVAL),
            heartbeat_setting: BOOT_INTERVAL,
            sent: Vec::new(),
            boots: 0,
            status_changes: 0,
            reconnects: 0,
            csms_requests: 0,
            timeouts: 0,
        }
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn elapsed_secs(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    fn context(&self) -> String {
        format!(
            "{:?} at {:.3} s (day {}), connection {}",
            self.version,
            self.elapsed_secs(),
            self.clock.elapsed().as_secs() / 86_400 + 1,
            self.conn
        )
    }

    /// The first connector the CSMS hears about (1.6 reports the station as connector 0).
    fn first_connector(&self) -> u32 {
        match self.version {
            OcppVersion::V16 => 0,
            OcppVersion::V201 => 1,
        }
    }

    // ----- the link ------------------------------------------------------------------------

    fn connect(&mut self) {
        assert!(!self.online);
        self.online = true;
        self.conn += 1;
        self.reconnects += 1;
        self.outstanding = None;
        self.registered =
            self.station.registration() == Some(ocpp_station::ocpp::RegistrationStatus::Accepted);
        let now = self.now();
        self.last_traffic = Some(now);
        self.station.handle_connected(now, self.version);
        self.drain();
    }

    fn disconnect(&mut self) {
        assert!(self.online);
        self.online = false;
        self.registered = false;
        self.last_traffic = None;
        self.outstanding = None;
        // Whatever was in flight is lost with the link, both ways.
        self.to_station.clear();
        self.csms_calls.clear();
        let now = self.now();
        self.station.handle_disconnected(now);
        self.drain();
    }

    fn schedule_to_station(&mut self, delay: Duration, text: String) {
        self.seq += 1;
        let at = self.now() + delay;
        self.to_station
            .push(Reverse((at, self.seq, self.conn, text)));
    }

    fn note_traffic(&mut self) {
        let now = self.now();
        self.check_gap(now);
        self.last_traffic = Some(now);
    }

    /// While registered, the link never stays silent longer than the heartbeat interval.
    fn check_gap(&self, at: Instant) {
        if !(self.online && self.registered) {
            return;
        }
        let Some(last) = self.last_traffic else {
            return;
        };
        let gap = at.saturating_duration_since(last);
        let allowed = self.interval.max(self.station.heartbeat_interval());
        // A Heartbeat that falls due while a CALL waits for its answer waits with it (one CALL
        // at a time), at most until that CALL times out.
        let mut deadline = last + allowed;
        if let Some((_, sent, _)) = &self.outstanding {
            deadline = deadline.max(*sent + CALL_TIMEOUT);
        }
        assert!(
            at <= deadline,
            "{}: {gap:?} without any traffic, the heartbeat interval is {allowed:?}",
            self.context()
        );
    }

    // ----- what the station sends ----------------------------------------------------------

    /// Takes everything the station wants to send and every event, checking each frame.
    fn drain(&mut self) {
        while let Some(text) = self.station.poll_transmit() {
            assert!(
                self.online,
                "{}: the station sent while offline: {text}",
                self.context()
            );
            self.note_traffic();
            let frame: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", self.context()));
            let items = frame.as_array().expect("an OCPP-J array");
            let id = items[1].as_str().expect("a string message id").to_owned();
            assert!(
                !id.is_empty() && id.len() <= 36,
                "{}: message id {id:?}",
                self.context()
            );
            match items[0].as_u64() {
                Some(2) => self.station_call(&id, items[2].as_str().unwrap(), &items[3]),
                Some(3 | 4) => {
                    // An answer to one of the CSMS's CALLs, checked where the CALL was made.
                    assert!(
                        id == "-1" || self.csms_calls.contains_key(&id),
                        "{}: an answer to nothing the CSMS asked: {text}",
                        self.context()
                    );
                    self.csms_calls.remove(&id);
                    if items[0] == 4 {
                        assert_eq!(items.len(), 5, "{text}");
                        assert_eq!(items[4], json!({}), "{text}");
                    }
                }
                _ => panic!("{}: unknown frame {text}", self.context()),
            }
        }
        while let Some(event) = self.station.poll_event() {
            if let Event::CallFinished(record) = event
                && record.outcome == ocpp_station::station::CallOutcome::Timeout
            {
                self.timeouts += 1;
            }
        }
        self.interval = self.station.heartbeat_interval();
    }

    fn station_call(&mut self, id: &str, action: &str, payload: &Value) {
        let now = self.now();
        if let Some((previous, sent, _)) = &self.outstanding {
            assert!(
                now >= *sent + CALL_TIMEOUT,
                "{}: {action} {id} sent while {previous} (sent {:?} ago) is still outstanding",
                self.context(),
                now - *sent
            );
        }
        assert!(
            self.ids.insert(id.to_owned()),
            "{}: message id {id} used twice",
            self.context()
        );
        if action == "Heartbeat" {
            if let Some(answered) = self.heartbeat_answered
                && !self.heartbeat_triggered
            {
                assert!(
                    now >= answered + self.station.heartbeat_interval(),
                    "{}: a Heartbeat right after an answered one (one queued twice)",
                    self.context()
                );
            }
            self.heartbeat_triggered = false;
        }
        if action == "SecurityEventNotification" {
            assert!(
                !self.startup_acknowledged,
                "{}: the startup SecurityEventNotification again, after the CSMS acknowledged it",
                self.context()
            );
        }
        self.heartbeat_answered = None;
        self.outstanding = Some((id.to_owned(), now, action.to_owned()));
        self.sent.push((self.elapsed_secs(), action.to_owned()));

        let now_utc = format_timestamp(self.clock.now_utc());
        let answer = match action {
            "BootNotification" => {
                self.boots += 1;
                assert!(
                    !self.registered,
                    "{}: Boot again although registered and not asked to",
                    self.context()
                );
                json!({"status": "Accepted", "interval": BOOT_INTERVAL, "currentTime": now_utc})
            }
            "Heartbeat" => json!({"currentTime": now_utc}),
            "StatusNotification" => {
                let connector =
                    check_status_notification(payload, self.version, self.clock.now_utc());
                let heard = payload_status(payload, self.version);
                let current = on_wire(
                    &self.station.connector_status(connector).unwrap(),
                    self.version,
                );
                assert_eq!(
                    heard,
                    current,
                    "{}: a StatusNotification carries the status of the moment",
                    self.context()
                );
                self.known.insert(connector, heard);
                json!({})
            }
            "DataTransfer" => json!({"status": "Accepted"}),
            _ => json!({}),
        };
        let text = json!([3, id, answer]).to_string();
        if self.temper == Temper::Silent {
            return;
        }
        let polite = self.temper == Temper::Polite || action == "BootNotification";
        let roll = self.rng.below(100);
        let fast = self
            .rng
            .between(Duration::from_millis(2), Duration::from_millis(900));
        match roll {
            _ if polite => self.schedule_to_station(fast, text),
            // Late: after the station gave up.
            0..=3 => {
                let late = CALL_TIMEOUT
                    + self
                        .rng
                        .between(Duration::from_secs(1), Duration::from_secs(20));
                self.schedule_to_station(late, text);
            }
            // Never.
            4..=6 => {}
            // Twice.
            7..=8 => {
                self.schedule_to_station(fast, text.clone());
                self.schedule_to_station(fast + Duration::from_millis(5), text);
            }
            // A CALLERROR.
            9 => self.schedule_to_station(
                fast,
                json!([4, id, "InternalError", "busy", {}]).to_string(),
            ),
            // A stray answer with an id nobody used, then the real one.
            10 => {
                self.schedule_to_station(fast, json!([3, "stray-id", {}]).to_string());
                self.schedule_to_station(fast + Duration::from_millis(5), text);
            }
            _ => self.schedule_to_station(fast, text),
        }
    }

    // ----- what the CSMS sends -------------------------------------------------------------

    /// Delivers one frame to the station.
    fn deliver(&mut self, conn: u32, text: &str) {
        if conn != self.conn || !self.online {
            return;
        }
        self.note_traffic();
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text)
            && matches!(items.first().and_then(Value::as_u64), Some(3 | 4))
            && let Some(id) = items.get(1).and_then(Value::as_str)
            && let Some((_, _, action)) = self
                .outstanding
                .take_if(|(outstanding, _, _)| outstanding == id)
        {
            match action.as_str() {
                "Heartbeat" => self.heartbeat_answered = Some(self.now()),
                "SecurityEventNotification" if items[0] == 3 => self.startup_acknowledged = true,
                _ => {}
            }
            if text.contains("\"Accepted\"") && text.contains("\"interval\"") {
                self.registered = true;
            }
        }
        let now = self.now();
        self.station.handle_text(now, text);
        self.drain();
    }

    /// The CSMS sends a CALL (or garbage) of its own; it must be answered at once.
    fn csms_call(&mut self) {
        if !self.online || !self.registered {
            return;
        }
        self.csms_requests += 1;
        self.next_csms_id += 1;
        let id = format!("csms-{}", self.next_csms_id);
        let connector = 1 + self.rng.below(u64::from(CONNECTORS)) as u32;
        let operative = if self.rng.chance(60) {
            "Operative"
        } else {
            "Inoperative"
        };
        // The CSMS changes the heartbeat interval now and then.
        let interval = *self.rng.pick(self.envelope.intervals);
        let (action, payload) = match self.version {
            OcppVersion::V201 => match self.rng.below(10) {
                0 => {
                    self.heartbeat_triggered = true;
                    ("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))
                }
                1 => (
                    "TriggerMessage",
                    json!({"requestedMessage": "StatusNotification",
                           "evse": {"id": connector, "connectorId": 1}}),
                ),
                2 => (
                    "GetVariables",
                    json!({"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"}}]}),
                ),
                3 => {
                    self.heartbeat_setting = interval;
                    (
                        "SetVariables",
                        json!({"setVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                "variable": {"name": "HeartbeatInterval"},
                                "attributeValue": interval.to_string()}]}),
                    )
                }
                4 => (
                    "ChangeAvailability",
                    json!({"operationalStatus": operative, "evse": {"id": connector}}),
                ),
                5 => (
                    "GetBaseReport",
                    json!({"requestId": self.next_csms_id, "reportBase": "SummaryInventory"}),
                ),
                6 => ("DataTransfer", json!({"vendorId": "com.example.other"})),
                7 => ("NoSuchAction", json!({})),
                8 => ("TriggerMessage", json!({})),
                _ => ("", json!(null)),
            },
            OcppVersion::V16 => match self.rng.below(9) {
                0 => {
                    self.heartbeat_triggered = true;
                    ("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))
                }
                1 => (
                    "TriggerMessage",
                    json!({"requestedMessage": "StatusNotification", "connectorId": connector}),
                ),
                2 => ("GetConfiguration", json!({"key": ["HeartbeatInterval"]})),
                3 => {
                    self.heartbeat_setting = interval;
                    (
                        "ChangeConfiguration",
                        json!({"key": "HeartbeatInterval", "value": interval.to_string()}),
                    )
                }
                4 => (
                    "ChangeAvailability",
                    json!({"connectorId": connector, "type": operative}),
                ),
                5 => ("DataTransfer", json!({"vendorId": "com.example.other"})),
                6 => ("NoSuchAction", json!({})),
                7 => ("TriggerMessage", json!({})),
                _ => ("", json!(null)),
            },
        };
        let (text, answer_id) = if action.is_empty() {
            ("this is not json".to_owned(), "-1".to_owned())
        } else {
            (json!([2, id, action, payload]).to_string(), id.clone())
        };
        self.csms_calls.insert(answer_id.clone(), self.conn);
        self.deliver(self.conn, &text);
        assert!(
            !self.csms_calls.contains_key(&answer_id),
            "{}: the CSMS's {action} {answer_id} was not answered at once",
            self.context()
        );
    }

    fn change_status(&mut self) {
        let connector = 1 + self.rng.below(u64::from(CONNECTORS)) as u32;
        let fault = |code, vendor: Option<&str>| {
            ConnectorStatus::Faulted(Fault {
                code,
                info: None,
                vendor_error_code: vendor.map(str::to_owned),
            })
        };
        let choices = [
            ConnectorStatus::Available,
            ConnectorStatus::Preparing,
            ConnectorStatus::Charging,
            ConnectorStatus::SuspendedEv,
            ConnectorStatus::Finishing,
            ConnectorStatus::Available,
            fault(FaultCode::GroundFailure, None),
            fault(FaultCode::OtherError, Some("PHASE_FAULT")),
            ConnectorStatus::Faulted(Fault {
                code: FaultCode::InternalError,
                info: Some("charge controller link lost".into()),
                vendor_error_code: Some("LINK_LOST".into()),
            }),
        ];
        let status = self.rng.pick(&choices).clone();
        self.status_changes += 1;
        let now = self.now();
        self.station
            .handle_connector_status(now, connector, status)
            .unwrap();
        self.drain();
    }

    // ----- time ----------------------------------------------------------------------------

    /// Runs until `until`, firing the station's timers, delivering frames and, when `events`
    /// is on, the random scenario (status churn, CSMS calls, link drops).
    fn run_until(&mut self, until: Instant, events: bool) {
        let mut next_change = self.now() + self.rng.between(Duration::ZERO, HOUR / 3);
        let mut next_call = self.now() + self.rng.between(Duration::ZERO, HOUR / 2);
        let mut next_drop = self.now() + self.rng.between(HOUR, 10 * HOUR);
        let mut reconnect_at: Option<Instant> = None;
        let mut next_wake = self.now() + self.envelope.wake_every;
        let mut stuck = 0;
        loop {
            let now = self.now();
            let mut next = until.min(next_wake);
            if let Some(t) = self.station.poll_timeout() {
                next = next.min(t);
            }
            if let Some(Reverse((t, ..))) = self.to_station.peek() {
                next = next.min(*t);
            }
            if let Some(t) = reconnect_at {
                next = next.min(t);
            }
            if events {
                next = next.min(next_change).min(next_call).min(next_drop);
            }
            let next = next.max(now);
            if next == now {
                stuck += 1;
                assert!(
                    stuck < 10_000,
                    "{}: the station asks to be woken now, again and again",
                    self.context()
                );
            } else {
                stuck = 0;
            }
            self.check_gap(next);
            self.clock.set(next);
            let now = next;

            let woken = next_wake <= now;
            if woken {
                next_wake = now + self.envelope.wake_every;
            }
            if woken || self.station.poll_timeout().is_some_and(|t| t <= now) {
                self.station.handle_timeout(now);
                self.drain();
            }
            while let Some(Reverse((t, ..))) = self.to_station.peek() {
                if *t > now {
                    break;
                }
                let Some(Reverse((_, _, conn, text))) = self.to_station.pop() else {
                    break;
                };
                self.deliver(conn, &text);
            }
            if reconnect_at.is_some_and(|t| t <= now) {
                reconnect_at = None;
                self.connect();
            }
            if events {
                if next_change <= now {
                    self.change_status();
                    // Now and then a quick flicker: a change and back within a second.
                    next_change = if self.rng.chance(15) {
                        now + self
                            .rng
                            .between(Duration::from_millis(10), Duration::from_secs(1))
                    } else {
                        now + self
                            .rng
                            .between(Duration::from_secs(30), Duration::from_secs(1_800))
                    };
                }
                if next_call <= now {
                    self.csms_call();
                    next_call = now
                        + self
                            .rng
                            .between(Duration::from_secs(60), Duration::from_secs(3_600));
                }
                if next_drop <= now {
                    if self.online {
                        self.disconnect();
                        // Mostly short outages, now and then one past the offline threshold.
                        let outage = if self.rng.chance(30) {
                            self.rng.between(OFFLINE_THRESHOLD, 3 * OFFLINE_THRESHOLD)
                        } else {
                            self.rng
                                .between(Duration::from_secs(1), Duration::from_secs(300))
                        };
                        reconnect_at = Some(now + outage);
                    }
                    next_drop = now + self.rng.between(HOUR, 12 * HOUR);
                }
            }
            if now >= until {
                break;
            }
        }
        if reconnect_at.is_some() && !self.online {
            self.connect();
        }
    }

    /// A quiet hour: no changes, a well-behaved CSMS, the link up. The station settles, the
    /// CSMS knows every connector's current status, and only Heartbeats go out.
    fn quiet_hour(&mut self, day: u64) {
        self.temper = Temper::Polite;
        if !self.online {
            self.connect();
        }
        // Whatever is owed, late or lost, is settled within the call timeout and a few
        // exchanges.
        let settle = self.now() + CALL_TIMEOUT * 4;
        self.run_until(settle, false);
        assert!(
            self.station.is_idle(),
            "{}: still busy after settling",
            self.context()
        );
        let first = self.first_connector();
        for connector in first..=CONNECTORS {
            let current = on_wire(
                &self.station.connector_status(connector).unwrap(),
                self.version,
            );
            assert_eq!(
                self.known.get(&connector),
                Some(&current),
                "{}: the CSMS must know connector {connector}'s current status (day {day})",
                self.context()
            );
        }
        let from = self.sent.len();
        let start = self.now();
        self.run_until(start + HOUR, false);
        let calls = &self.sent[from..];
        assert!(
            calls.iter().all(|(_, action)| action == "Heartbeat"),
            "{}: only Heartbeats in a quiet hour, got {:?}",
            self.context(),
            calls
        );
        let interval = self.station.heartbeat_interval().as_secs_f64();
        let most = (HOUR.as_secs_f64() / interval).ceil() as usize + 1;
        // The interval counts from the last traffic, the CSMS's answer included, so each cycle
        // is the interval plus the answer's delay: allow a few percent fewer.
        let fewest = (HOUR.as_secs_f64() / (interval * 1.05)).floor() as usize;
        assert!(
            calls.len() <= most && calls.len() >= fewest,
            "{}: {} Heartbeats in a quiet hour at an interval of {interval} s",
            self.context(),
            calls.len()
        );
        self.temper = Temper::Unruly;
    }
}

fn soak(version: OcppVersion, seed: u64, days: u64, envelope: Envelope) -> Soak {
    let mut s = Soak::new(version, seed, envelope);
    s.connect();
    if envelope.change_at_boot {
        // Step until the startup messages are in flight, then change a connector.
        while !s.sent.iter().any(|(_, a)| a == "SecurityEventNotification")
            && s.clock.elapsed() < Duration::from_secs(10)
        {
            let step = s.now() + Duration::from_millis(1);
            s.run_until(step, false);
        }
        let now = s.now();
        s.station
            .handle_connector_status(now, 1, ConnectorStatus::Preparing)
            .unwrap();
        s.drain();
    }
    // The start: registered within the first minutes.
    let boot_window = s.now() + Duration::from_secs(120);
    s.run_until(boot_window, false);
    assert!(s.registered, "{}: not registered after Boot", s.context());
    for day in 1..=days {
        let end = s.now() + DAY - HOUR;
        s.run_until(end, true);
        s.quiet_hour(day);
    }
    assert_eq!(s.boots, 1, "one Boot per process start: {}", s.context());
    assert!(
        envelope.intervals.contains(&s.heartbeat_setting),
        "{}",
        s.context()
    );
    s
}

fn report(s: &Soak) {
    eprintln!(
        "{:?}: {} days, {} CALLs ({} Heartbeats), {} status changes, {} connections, {} CSMS \
         requests, {} timeouts",
        s.version,
        s.clock.elapsed().as_secs() / 86_400,
        s.sent.len(),
        s.sent.iter().filter(|(_, a)| a == "Heartbeat").count(),
        s.status_changes,
        s.reconnects,
        s.csms_requests,
        s.timeouts
    );
}

#[test]
fn a_simulated_week_on_201() {
    for seed in [0x5eed_0001, 0x5eed_0002] {
        let s = soak(OcppVersion::V201, seed, 7, DEFAULTS);
        report(&s);
    }
}

#[test]
fn a_simulated_week_on_16() {
    for seed in [0x5eed_0003, 0x5eed_0004] {
        let s = soak(OcppVersion::V16, seed, 7, DEFAULTS);
        report(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// Statuses the CSMS heard but never acknowledged
// ---------------------------------------------------------------------------------------------

/// Connector 1 goes Preparing; the CSMS receives that StatusNotification but its answer never
/// reaches the station (`lose`: by timing out, or with the link). Then the connector goes back
/// to Available, the status the CSMS had acknowledged before. The CSMS last heard Preparing, so
/// the station owes it Available. Returns the statuses of connector 1 the CSMS heard, in order.
fn revert_after_a_lost_answer(version: OcppVersion, lose: &str) -> Vec<String> {
    let mut s = Soak::new(version, 7, DEFAULTS);
    s.temper = Temper::Polite;
    s.connect();
    let settle = s.now() + Duration::from_secs(60);
    s.run_until(settle, false);
    let now = s.now();
    s.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    s.drain();
    let settle = s.now() + Duration::from_secs(10);
    s.run_until(settle, false);
    assert_eq!(
        s.known.get(&1),
        Some(&on_wire(&ConnectorStatus::Available, version))
    );

    // Preparing goes out; its answer is lost.
    let heard_before = s.sent.len();
    let now = s.now();
    s.station
        .handle_connector_status(now, 1, ConnectorStatus::Preparing)
        .unwrap();
    s.drain();
    assert_eq!(s.sent.len(), heard_before + 1, "Preparing was sent");
    s.to_station.clear();
    match lose {
        "timeout" => {
            let after = s.now() + CALL_TIMEOUT + Duration::from_secs(1);
            s.run_until(after, false);
        }
        _ => s.disconnect(),
    }
    // Back to Available, and (after a short outage) back online.
    let now = s.now();
    s.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    s.drain();
    if !s.online {
        let back = s.now() + Duration::from_secs(5);
        s.run_until(back, false);
        s.connect();
    }
    let settle = s.now() + Duration::from_secs(60);
    s.run_until(settle, false);
    assert_eq!(
        s.known.get(&1),
        Some(&on_wire(&ConnectorStatus::Available, version)),
        "{}: the CSMS last heard {:?} for connector 1, the connector is Available",
        s.context(),
        s.known.get(&1)
    );
    s.known.values().cloned().collect()
}

#[test]
fn a_status_whose_answer_timed_out_is_corrected_after_a_change_back() {
    for version in [OcppVersion::V201, OcppVersion::V16] {
        revert_after_a_lost_answer(version, "timeout");
    }
}

#[test]
fn a_status_whose_answer_was_lost_with_the_link_is_corrected_after_a_change_back() {
    for version in [OcppVersion::V201, OcppVersion::V16] {
        revert_after_a_lost_answer(version, "link");
    }
}

// ---------------------------------------------------------------------------------------------
// Outside the defaults: a heartbeat interval shorter than the call timeout, and a change while
// the startup messages are in flight
// ---------------------------------------------------------------------------------------------

/// Heartbeat intervals down to 20 s (the call timeout is 30 s: a Heartbeat can fall due while a
/// CALL waits for its answer), pings every 10 s, and a connector change at boot.
const SHORT_INTERVALS: Envelope = Envelope {
    intervals: &[300, 120, 20],
    wake_every: Duration::from_secs(10),
    change_at_boot: true,
};

#[test]
fn a_simulated_week_with_short_heartbeat_intervals() {
    for (version, seed) in [
        (OcppVersion::V201, 0x5eed_0005),
        (OcppVersion::V16, 0x5eed_0006),
    ] {
        let s = soak(version, seed, 7, SHORT_INTERVALS);
        report(&s);
    }
}

/// Heartbeat every 10 s, call timeout 30 s. A StatusNotification goes unanswered; meanwhile the
/// shell wakes every second (pings) and calls `handle_timeout`, as it may. Once the status has
/// timed out, one Heartbeat is owed, not one per wake-up. Returns the times of the Heartbeats.
fn heartbeats_after_an_unanswered_call(version: OcppVersion) -> Vec<f64> {
    let envelope = Envelope {
        intervals: &[10],
        wake_every: Duration::from_secs(1),
        change_at_boot: false,
    };
    let mut s = Soak::new(version, 11, envelope);
    s.temper = Temper::Polite;
    s.connect();
    let settle = s.now() + Duration::from_secs(5);
    s.run_until(settle, false);
    s.next_csms_id += 1;
    let set = match version {
        OcppVersion::V201 => json!([2, "hb", "SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "10"}]}]),
        OcppVersion::V16 => json!([2, "hb", "ChangeConfiguration",
                                   {"key": "HeartbeatInterval", "value": "10"}]),
    };
    s.csms_calls.insert("hb".into(), s.conn);
    let conn = s.conn;
    s.deliver(conn, &set.to_string());
    assert_eq!(s.station.heartbeat_interval(), Duration::from_secs(10));
    let settle = s.now() + Duration::from_secs(3);
    s.run_until(settle, false);

    s.temper = Temper::Silent;
    let from = s.sent.len();
    let now = s.now();
    s.station
        .handle_connector_status(now, 1, ConnectorStatus::Preparing)
        .unwrap();
    s.drain();
    // Silent until just before the status times out: what follows is answered.
    let silent = s.now() + CALL_TIMEOUT - Duration::from_millis(500);
    s.run_until(silent, false);
    s.temper = Temper::Polite;
    let after = s.now() + Duration::from_secs(15);
    s.run_until(after, false);
    s.sent[from..]
        .iter()
        .filter(|(_, action)| action == "Heartbeat")
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn an_overdue_heartbeat_is_owed_once_however_often_the_shell_wakes() {
    for version in [OcppVersion::V201, OcppVersion::V16] {
        // The assertion inside the harness catches a Heartbeat right after an answered one.
        let times = heartbeats_after_an_unanswered_call(version);
        assert!(
            !times.is_empty(),
            "{version:?}: a Heartbeat after the timeout"
        );
    }
}

/// A connector changes while the startup SecurityEventNotification waits for its answer: the
/// event announces the start once.
#[test]
fn the_startup_event_is_sent_once_when_a_status_crosses_it() {
    let mut s = Soak::new(OcppVersion::V201, 13, DEFAULTS);
    s.temper = Temper::Polite;
    s.connect();
    while s
        .outstanding
        .as_ref()
        .is_none_or(|(_, _, action)| action != "SecurityEventNotification")
    {
        assert!(
            s.clock.elapsed() < Duration::from_secs(10),
            "{}",
            s.context()
        );
        let step = s.now() + Duration::from_millis(1);
        s.run_until(step, false);
    }
    let now = s.now();
    s.station
        .handle_connector_status(now, 1, ConnectorStatus::Preparing)
        .unwrap();
    s.drain();
    let settle = s.now() + Duration::from_secs(10);
    s.run_until(settle, false);
    let events = s
        .sent
        .iter()
        .filter(|(_, action)| action == "SecurityEventNotification")
        .count();
    assert_eq!(events, 1, "{}: {:?}", s.context(), s.sent);
}
