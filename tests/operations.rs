//! What an operator does from the CSMS, over the wire against the station daemon, in OCPP 2.0.1
//! and 1.6: TriggerMessage, the rules while Boot is Pending or Rejected, the device model
//! (GetVariables, SetVariables, GetBaseReport, GetReport) and the 1.6 configuration keys, a
//! burst of requests whose answers are withheld, ChangeAvailability across a restart, Reset,
//! UnlockConnector, DataTransfer, malformed requests and a new Basic-auth password.
//!
//! The CSMS (tests/csms/csms.py) validates every message the station sends, its answers to the
//! CSMS's CALLs included (against the schema of that action's response). Each test sends one
//! CALL at a time through the CSMS's control port and waits for the answer before the next
//! step, so every check is about what happened and in which order. Deadlines are safety nets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/controller.rs"]
mod controller;
#[path = "common/remote.rs"]
mod remote;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{
    Csms, DEADLINE, Daemon, Env, STATION_NAME, assert_no_secret, csms_config_with, dump,
    fresh_state_dir, is_call, spawn_daemon, station_bin,
};
use controller::FakeController;
use remote::{Answer, Remote};
use serde_json::{Value, json};

/// The password the CSMS gives the station in the password tests (16 to 40 characters).
const NEW_PASSWORD: &str = "n3w-Secret-0f-the-CSMS-42";
/// Seconds between the fake charge controller's STAT lines.
const PERIOD: f64 = 0.3;
/// The by-id name of the fake controller's link, as a CP2102 adapter shows up.
const ADAPTER: &str = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V201,
    V16,
}

use Version::{V16, V201};

impl Version {
    fn primary(self) -> &'static str {
        match self {
            V201 => "2.0.1",
            V16 => "1.6",
        }
    }

    /// The CallError code of a payload that is not a JSON object.
    fn format_violation(self) -> &'static str {
        match self {
            V201 => "FormatViolation",
            V16 => "FormationViolation",
        }
    }

    /// The CallError code of a missing required field or a list of the wrong size.
    fn occurrence_violation(self) -> &'static str {
        match self {
            V201 => "OccurrenceConstraintViolation",
            V16 => "OccurenceConstraintViolation",
        }
    }
}

/// The CallError code of a field of the wrong JSON type (the same in both versions).
const TYPE_VIOLATION: &str = "TypeConstraintViolation";
/// The CallError code of a value the field does not allow (the same in both versions).
const PROPERTY_VIOLATION: &str = "PropertyConstraintViolation";

// ---------------------------------------------------------------------------------------------
// Driving the CSMS
// ---------------------------------------------------------------------------------------------

/// TriggerMessage Heartbeat; returns the position of the Heartbeat it brings. Everything the
/// station sends before that Heartbeat has reached the CSMS by then.
fn heartbeat_marker(remote: &mut Remote) -> usize {
    let answer = remote.call("TriggerMessage", json!({"requestedMessage": "Heartbeat"}));
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    follows(remote.csms, &answer, "Heartbeat").0
}

/// A CSMS with a control port, Boot Accepted (interval 300: no Heartbeat on its own during a
/// test), Basic auth with the test password.
fn start_csms() -> Csms {
    Csms::start(csms_config_with(json!({"control": true})))
}

// ---------------------------------------------------------------------------------------------
// What the CSMS received
// ---------------------------------------------------------------------------------------------

fn is_call_of(event: &Value, action: &str) -> bool {
    is_call(event) && event["action"] == action
}

/// A StatusNotification CALL for `connector` (2.0.1: EVSE `connector`, connector 1).
fn is_status_for(version: Version, event: &Value, connector: u64) -> bool {
    if !is_call_of(event, "StatusNotification") {
        return false;
    }
    let payload = &event["payload"];
    match version {
        V201 => payload["evseId"] == connector && payload["connectorId"] == 1,
        V16 => payload["connectorId"] == connector,
    }
}

/// The connector a StatusNotification CALL is about.
fn status_connector(version: Version, event: &Value) -> u64 {
    let key = match version {
        V201 => "evseId",
        V16 => "connectorId",
    };
    event["payload"][key].as_u64().expect("a connector number")
}

/// The status a StatusNotification CALL carries.
fn status_name(version: Version, event: &Value) -> String {
    let key = match version {
        V201 => "connectorStatus",
        V16 => "status",
    };
    event["payload"][key].as_str().unwrap_or("?").to_owned()
}

/// The first event after position `from` (from the start when `None`) matching `pred`.
fn wait_after(
    csms: &Csms,
    from: Option<usize>,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> (usize, Value) {
    csms.wait_until(what, DEADLINE, |events| {
        events
            .iter()
            .enumerate()
            .skip(from.map_or(0, |f| f + 1))
            .find(|(_, e)| pred(e))
            .map(|(i, e)| (i, e.clone()))
    })
}

/// The position of the CSMS's answer to the station's CALL `call`.
fn wait_answered(csms: &Csms, call: &Value) -> usize {
    let id = call["unique_id"].clone();
    wait_after(csms, None, "the CSMS's answer", |e| {
        e["event"] == "sent" && e["message_type"] == 3 && e["unique_id"] == id
    })
    .0
}

/// The first CALL of `action` the station sent after the CSMS sent the CALL `answer` answers;
/// checks that it went out after that answer.
fn follows(csms: &Csms, answer: &Answer, action: &str) -> (usize, Value) {
    let (at, call) = wait_after(
        csms,
        Some(answer.sent_at),
        &format!("{action} after the answer to {}", answer.action),
        |e| is_call_of(e, action),
    );
    assert!(
        at > answer.at,
        "the answer to {} comes before the {action} it promises:\n{}",
        answer.action,
        dump(&csms.events())
    );
    (at, call)
}

/// Waits until the station has reported what it owes after an Accepted Boot on the connection
/// after position `from` (2.0.1: the statuses, then the security event; 1.6: connectors 0 to
/// `connectors`) and the CSMS answered; returns the position of that answer.
fn wait_settled(csms: &Csms, version: Version, connectors: u64, from: Option<usize>) -> usize {
    let (_, last) = match version {
        V201 => wait_after(csms, from, "SecurityEventNotification", |e| {
            is_call_of(e, "SecurityEventNotification")
        }),
        V16 => wait_after(
            csms,
            from,
            &format!("StatusNotification of connector {connectors}"),
            |e| is_status_for(V16, e, connectors),
        ),
    };
    wait_answered(csms, &last)
}

/// The first StatusNotification of `connector` after position `from`; checks it says `expected`.
fn next_status(
    csms: &Csms,
    version: Version,
    connector: u64,
    from: Option<usize>,
    expected: &str,
) -> usize {
    let (at, call) = wait_after(
        csms,
        from,
        &format!("a StatusNotification of connector {connector}"),
        |e| is_status_for(version, e, connector),
    );
    assert_eq!(
        status_name(version, &call),
        expected,
        "connector {connector} after event {from:?}:\n{}",
        dump(&csms.events())
    );
    at
}

/// The station's CALLs strictly between two positions.
fn calls_between(csms: &Csms, from: usize, to: usize) -> Vec<Value> {
    csms.events()
        .into_iter()
        .enumerate()
        .filter(|(i, e)| *i > from && *i < to && is_call(e))
        .map(|(_, e)| e)
        .collect()
}

/// Waits for `count` Heartbeats after position `from` and checks that nothing else went over
/// the wire meanwhile: only those Heartbeats and the CSMS's answers to them.
fn assert_heartbeats_alone(csms: &Csms, from: usize, count: usize) {
    let last_answer = csms.wait_until(
        &format!("{count} Heartbeats after event {from}"),
        DEADLINE,
        |events| {
            let beats: Vec<&Value> = events
                .iter()
                .skip(from + 1)
                .filter(|e| is_call_of(e, "Heartbeat"))
                .take(count)
                .collect();
            let last = beats.get(count.checked_sub(1)?)?;
            events.iter().position(|e| {
                e["event"] == "sent"
                    && e["message_type"] == 3
                    && e["unique_id"] == last["unique_id"]
            })
        },
    );
    let events = csms.events();
    let beats: BTreeSet<String> = events[from + 1..=last_answer]
        .iter()
        .filter(|e| is_call_of(e, "Heartbeat"))
        .filter_map(|e| e["unique_id"].as_str().map(str::to_owned))
        .collect();
    for event in &events[from + 1..=last_answer] {
        let id = event["unique_id"].as_str().unwrap_or_default();
        let heartbeat_traffic = match event["event"].as_str() {
            Some("recv") => is_call_of(event, "Heartbeat"),
            Some("sent") => event["message_type"] == 3 && beats.contains(id),
            _ => event["event"] == "validation_error",
        };
        assert!(
            heartbeat_traffic,
            "nothing but Heartbeats while the station is idle; found {event}\n{}",
            dump(&events)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The station
// ---------------------------------------------------------------------------------------------

/// The environment for `version` against `csms`, with its state in `state_dir`.
fn station_env(csms: &Csms, version: Version, state_dir: &Path) -> Env {
    Env::for_csms(csms)
        .set("OCPP_PRIMARY", version.primary())
        .set("OCPP_STATE_DIR", &state_dir.to_string_lossy())
}

/// The saved state (`state.json` in `state_dir`).
fn saved_state(state_dir: &Path) -> Value {
    let path = state_dir.join("state.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{} cannot be read: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The state file is readable by its owner only (it may hold the password).
fn assert_private(state_dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let path = state_dir.join("state.json");
    let mode = std::fs::metadata(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{} has mode {mode:o}", path.display());
}

/// The real clock, for deadlines only.
#[allow(
    clippy::disallowed_methods,
    reason = "the test waits on a real process; deadlines only, never assertions"
)]
fn now() -> Instant {
    Instant::now()
}

/// A station daemon whose own exit the test waits for (after a Reset), with PATH plus `env`
/// only, like the harness's daemon.
struct Exiting {
    child: Option<Child>,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Exiting {
    fn spawn(env: &Env) -> Exiting {
        let mut command = Command::new(station_bin());
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let mut child = command
            .envs(env.pairs())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", station_bin()));
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let readers = vec![
            Self::collect(stdout, &output),
            Self::collect(stderr, &output),
        ];
        Exiting {
            child: Some(child),
            output,
            readers,
        }
    }

    fn collect(mut pipe: impl Read + Send + 'static, sink: &Arc<Mutex<String>>) -> JoinHandle<()> {
        let sink = Arc::clone(sink);
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        })
    }

    /// Waits for the process to end by itself; checks that its output holds no password.
    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("waited for once");
        let start = now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() < Duration::from_secs(DEADLINE) => {
                    thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the station did not exit by itself; output:\n{}",
                        self.output()
                    );
                }
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        assert_no_secret(&self.output());
        status
    }

    fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Exiting {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("--- station output ---\n{}", self.output());
        }
    }
}

/// Stops a daemon with SIGTERM and checks the clean exit.
fn stop(daemon: &mut Daemon) {
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
}

// ---------------------------------------------------------------------------------------------
// TriggerMessage
// ---------------------------------------------------------------------------------------------

/// TriggerMessage for one connector's StatusNotification.
fn trigger_status(version: Version, connector: Option<u64>) -> Value {
    match (version, connector) {
        (V201, Some(c)) => json!({
            "requestedMessage": "StatusNotification",
            "evse": {"id": c, "connectorId": 1}
        }),
        (V16, Some(c)) => json!({"requestedMessage": "StatusNotification", "connectorId": c}),
        (_, None) => json!({"requestedMessage": "StatusNotification"}),
    }
}

fn trigger_message(version: Version) {
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, version, &state).set("OCPP_CONNECTORS", "2");
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, version, 2, None);

    // Heartbeat: Accepted, then the Heartbeat, after the answer.
    let answer = remote.call("TriggerMessage", json!({"requestedMessage": "Heartbeat"}));
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let (at, heartbeat) = follows(&csms, &answer, "Heartbeat");
    wait_answered(&csms, &heartbeat);
    assert!(
        calls_between(&csms, answer.at, at).is_empty(),
        "{}",
        dump(&csms.events())
    );

    // StatusNotification of one connector: that one only.
    let answer = remote.call("TriggerMessage", trigger_status(version, Some(2)));
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let (at, status) = follows(&csms, &answer, "StatusNotification");
    assert_eq!(status_connector(version, &status), 2, "{status}");
    assert_eq!(status_name(version, &status), "Unavailable", "{status}");
    let marker = heartbeat_marker(&mut remote);
    let between: Vec<Value> = calls_between(&csms, at, marker);
    assert!(
        between.is_empty(),
        "one StatusNotification for one connector:\n{}",
        dump(&between)
    );

    // StatusNotification without a connector: 1.6 reports every one and the station's
    // connector 0; 2.0.1 needs the evse with its connectorId (F06.FR.12).
    match version {
        V16 => {
            let answer = remote.call("TriggerMessage", trigger_status(version, None));
            assert_eq!(answer.status(), "Accepted", "{}", answer.event);
            follows(&csms, &answer, "StatusNotification");
            let marker = heartbeat_marker(&mut remote);
            let reported: Vec<u64> = calls_between(&csms, answer.at, marker)
                .iter()
                .filter(|c| is_call_of(c, "StatusNotification"))
                .map(|c| status_connector(version, c))
                .collect();
            assert_eq!(reported, vec![0, 1, 2], "{}", dump(&csms.events()));
        }
        V201 => {
            let first = csms.events().len();
            for (payload, reason) in [
                (trigger_status(version, None), "MissingParam"),
                (
                    json!({"requestedMessage": "StatusNotification", "evse": {"id": 1}}),
                    "MissingParam",
                ),
                (
                    json!({"requestedMessage": "StatusNotification",
                           "evse": {"id": 1, "connectorId": 2}}),
                    "UnknownConnectorId",
                ),
            ] {
                let answer = remote.call("TriggerMessage", payload);
                assert_eq!(answer.status(), "Rejected", "{}", answer.event);
                assert_eq!(
                    answer.payload()["statusInfo"]["reasonCode"],
                    reason,
                    "{}",
                    answer.event
                );
            }
            let marker = heartbeat_marker(&mut remote);
            let between = calls_between(&csms, first, marker);
            assert!(
                !between.iter().any(|c| is_call_of(c, "StatusNotification")),
                "no status sent:\n{}",
                dump(&between)
            );
        }
    }

    // A connector the station does not have.
    let answer = remote.call("TriggerMessage", trigger_status(version, Some(9)));
    assert_eq!(answer.status(), "Rejected", "{}", answer.event);

    // A message the station does not send.
    let meter_values = match version {
        V201 => json!({"requestedMessage": "MeterValues", "evse": {"id": 1}}),
        V16 => json!({"requestedMessage": "MeterValues", "connectorId": 1}),
    };
    let answer = remote.call("TriggerMessage", meter_values);
    assert_eq!(answer.status(), "NotImplemented", "{}", answer.event);
    let marker = heartbeat_marker(&mut remote);
    let between = calls_between(&csms, answer.at, marker);
    assert!(between.is_empty(), "nothing triggered:\n{}", dump(&between));

    // BootNotification: 2.0.1 refuses once registered; 1.6 boots again.
    let answer = remote.call(
        "TriggerMessage",
        json!({"requestedMessage": "BootNotification"}),
    );
    match version {
        V201 => {
            assert_eq!(answer.status(), "Rejected", "{}", answer.event);
            let marker = heartbeat_marker(&mut remote);
            let between = calls_between(&csms, answer.at, marker);
            assert!(between.is_empty(), "no Boot:\n{}", dump(&between));
        }
        V16 => {
            assert_eq!(answer.status(), "Accepted", "{}", answer.event);
            let (at, boot) = follows(&csms, &answer, "BootNotification");
            wait_answered(&csms, &boot);
            // Accepted again: every connector is reported again.
            let last = wait_settled(&csms, version, 2, Some(at));
            let reported: Vec<u64> = calls_between(&csms, at, last)
                .iter()
                .filter(|c| is_call_of(c, "StatusNotification"))
                .map(|c| status_connector(version, c))
                .collect();
            assert_eq!(reported, vec![0, 1, 2], "{}", dump(&csms.events()));
        }
    }

    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn trigger_message_on_201() {
    trigger_message(V201);
}

#[test]
fn trigger_message_on_16() {
    trigger_message(V16);
}

// ---------------------------------------------------------------------------------------------
// While Boot is Pending
// ---------------------------------------------------------------------------------------------

fn while_pending(version: Version) {
    let csms = Csms::start(csms_config_with(json!({
        "control": true,
        "boot": {"statuses": ["Pending"], "interval": 300}
    })));
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, version, &state).pairs());
    let mut remote = Remote::new(&csms);
    let (_, boot) = wait_after(&csms, None, "BootNotification", |e| {
        is_call_of(e, "BootNotification")
    });
    let pending_at = wait_answered(&csms, &boot);

    // A triggered Heartbeat goes out while Pending.
    let answer = remote.call("TriggerMessage", json!({"requestedMessage": "Heartbeat"}));
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let (_, heartbeat) = follows(&csms, &answer, "Heartbeat");
    wait_answered(&csms, &heartbeat);

    // Configuration can be read.
    match version {
        V201 => {
            let answer = remote.call(
                "GetVariables",
                json!({"getVariableData": [{
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"}
                }]}),
            );
            let result = &answer.payload()["getVariableResult"][0];
            assert_eq!(result["attributeStatus"], "Accepted", "{}", answer.event);
            assert!(result["attributeValue"].is_string(), "{}", answer.event);
        }
        V16 => {
            let answer = remote.call("GetConfiguration", json!({"key": ["HeartbeatInterval"]}));
            let keys = &answer.payload()["configurationKey"];
            assert_eq!(keys[0]["key"], "HeartbeatInterval", "{}", answer.event);
        }
    }

    // Remote start and stop are refused.
    let (start, start_payload, stop_action, stop_payload) = match version {
        V201 => (
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "TAG-1", "type": "Central"}, "remoteStartId": 1}),
            "RequestStopTransaction",
            json!({"transactionId": "tx-1"}),
        ),
        V16 => (
            "RemoteStartTransaction",
            json!({"idTag": "TAG-1"}),
            "RemoteStopTransaction",
            json!({"transactionId": 1}),
        ),
    };
    assert_eq!(remote.call(start, start_payload).status(), "Rejected");
    assert_eq!(remote.call(stop_action, stop_payload).status(), "Rejected");

    // Everything else is a SecurityError, and nothing happens (a Reset does not restart).
    let others = match version {
        V201 => vec![
            (
                "ChangeAvailability",
                json!({"operationalStatus": "Inoperative"}),
            ),
            ("Reset", json!({"type": "Immediate"})),
            ("UnlockConnector", json!({"evseId": 1, "connectorId": 1})),
            ("DataTransfer", json!({"vendorId": "com.example"})),
        ],
        V16 => vec![
            (
                "ChangeAvailability",
                json!({"connectorId": 0, "type": "Inoperative"}),
            ),
            ("Reset", json!({"type": "Soft"})),
            ("UnlockConnector", json!({"connectorId": 1})),
            ("DataTransfer", json!({"vendorId": "com.example"})),
        ],
    };
    for (action, payload) in others {
        let answer = remote.call(action, payload);
        assert_eq!(answer.error_code(), "SecurityError", "{}", answer.event);
    }

    // Still Pending on the same connection; since Boot nothing but the triggered Heartbeat.
    let marker = heartbeat_marker(&mut remote);
    let calls = calls_between(&csms, pending_at, marker);
    assert!(
        calls.iter().all(|c| is_call_of(c, "Heartbeat")) && calls.len() == 1,
        "only the triggered Heartbeat while Pending:\n{}",
        dump(&csms.events())
    );
    assert!(
        !csms.events().iter().any(|e| e["event"] == "disconnected"),
        "{}",
        dump(&csms.events())
    );

    // A Boot the CSMS asks for: 2.0.1 says why it is sent.
    let answer = remote.call(
        "TriggerMessage",
        json!({"requestedMessage": "BootNotification"}),
    );
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let (_, boot) = follows(&csms, &answer, "BootNotification");
    if version == V201 {
        assert_eq!(boot["payload"]["reason"], "Triggered", "{boot}");
    }
    wait_answered(&csms, &boot);

    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn while_pending_on_201() {
    while_pending(V201);
}

#[test]
fn while_pending_on_16() {
    while_pending(V16);
}

// ---------------------------------------------------------------------------------------------
// While Boot is Rejected
// ---------------------------------------------------------------------------------------------

/// 2.0.1 answers every CALL with SecurityError; 1.6 answers none (section 4.2).
fn while_rejected(version: Version) {
    let csms = Csms::start(csms_config_with(json!({
        "control": true,
        "boot": {"statuses": ["Rejected"], "interval": 300}
    })));
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, version, &state).pairs());
    let mut remote = Remote::new(&csms);
    let (_, boot) = wait_after(&csms, None, "BootNotification", |e| {
        is_call_of(e, "BootNotification")
    });
    wait_answered(&csms, &boot);
    let requests = [
        json!([2, "rejected-1", "TriggerMessage", {"requestedMessage": "Heartbeat"}]),
        json!([2, "rejected-2", "Reset", {"type": "Immediate"}]),
        json!([2, "rejected-3", "NoSuchAction", {}]),
    ];
    match version {
        V201 => {
            for request in &requests {
                let answer =
                    remote.call(request[2].as_str().unwrap_or_default(), request[3].clone());
                assert_eq!(answer.error_code(), "SecurityError", "{}", answer.event);
            }
        }
        V16 => {
            for request in &requests {
                remote.send(&request.to_string());
            }
            // The station says in its log that it leaves each one unanswered.
            let deadline = now() + Duration::from_secs(DEADLINE);
            while daemon
                .stderr()
                .matches("not answered: Boot was Rejected")
                .count()
                < 3
            {
                assert!(now() < deadline, "{}", daemon.stderr());
                thread::sleep(Duration::from_millis(50));
            }
            let answers: Vec<Value> = csms
                .events()
                .into_iter()
                .filter(|e| {
                    e["event"] == "recv"
                        && e["unique_id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with("rejected-"))
                })
                .collect();
            assert!(answers.is_empty(), "no answer at all:\n{}", dump(&answers));
        }
    }
    let calls: Vec<Value> = csms.events().into_iter().filter(is_call).collect();
    assert_eq!(calls.len(), 1, "only the Boot:\n{}", dump(&calls));
    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn while_rejected_on_201() {
    while_rejected(V201);
}

#[test]
fn while_rejected_on_16() {
    while_rejected(V16);
}

// ---------------------------------------------------------------------------------------------
// 2.0.1 device model
// ---------------------------------------------------------------------------------------------

fn get_data(component: &str, variable: &str) -> Value {
    json!({"component": {"name": component}, "variable": {"name": variable}})
}

fn set_data(component: &str, variable: &str, value: &str) -> Value {
    json!({
        "component": {"name": component},
        "variable": {"name": variable},
        "attributeValue": value
    })
}

/// GetVariables of one variable; returns its result.
fn get_variable(remote: &mut Remote, data: Value) -> Value {
    let answer = remote.call("GetVariables", json!({ "getVariableData": [data] }));
    answer.payload()["getVariableResult"][0].clone()
}

#[test]
fn get_and_set_variables_on_201() {
    let csms = start_csms();
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, V201, &state).pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, V201, 1, None);

    let answer = remote.call(
        "GetVariables",
        json!({"getVariableData": [
            get_data("OCPPCommCtrlr", "HeartbeatInterval"),
            get_data("NoSuchCtrlr", "HeartbeatInterval"),
            get_data("OCPPCommCtrlr", "NoSuchVariable"),
            get_data("SecurityCtrlr", "BasicAuthPassword"),
        ]}),
    );
    let results = answer.payload()["getVariableResult"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["attributeStatus"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        [
            "Accepted",
            "UnknownComponent",
            "UnknownVariable",
            "Rejected"
        ],
        "{}",
        answer.event
    );
    assert_eq!(
        results[0]["attributeValue"], "300",
        "the Boot answer's interval"
    );
    assert_eq!(results[1]["component"]["name"], "NoSuchCtrlr", "echoed");
    assert_eq!(results[2]["variable"]["name"], "NoSuchVariable", "echoed");
    assert!(
        results[3].get("attributeValue").is_none(),
        "a write-only variable has no value: {}",
        results[3]
    );

    // Read-only and invalid values are refused, with a reason, and change nothing.
    let answer = remote.call(
        "SetVariables",
        json!({"setVariableData": [
            set_data("SecurityCtrlr", "Identity", "SOMEONE_ELSE"),
            set_data("OCPPCommCtrlr", "HeartbeatInterval", "0"),
            set_data("OCPPCommCtrlr", "HeartbeatInterval", "soon"),
            set_data("OCPPCommCtrlr", "HeartbeatInterval", "+5"),
            set_data("OCPPCommCtrlr", "HeartbeatInterval", " 5"),
        ]}),
    );
    let results = answer.payload()["setVariableResult"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 5, "one result per entry: {}", answer.event);
    for result in results {
        assert_eq!(result["attributeStatus"], "Rejected", "{result}");
        assert!(
            result["attributeStatusInfo"]["reasonCode"].is_string(),
            "{result}"
        );
    }
    let heartbeat = get_variable(&mut remote, get_data("OCPPCommCtrlr", "HeartbeatInterval"));
    assert_eq!(heartbeat["attributeValue"], "300", "{heartbeat}");
    let identity = get_variable(&mut remote, get_data("SecurityCtrlr", "Identity"));
    assert_eq!(identity["attributeValue"], STATION_NAME, "{identity}");

    // A new heartbeat interval is in force at once: Heartbeats follow, and nothing else.
    let answer = remote.call(
        "SetVariables",
        json!({"setVariableData": [set_data("OCPPCommCtrlr", "HeartbeatInterval", "2")]}),
    );
    let result = &answer.payload()["setVariableResult"][0];
    assert_eq!(result["attributeStatus"], "Accepted", "{result}");
    assert_heartbeats_alone(&csms, answer.at, 2);
    let heartbeat = get_variable(&mut remote, get_data("OCPPCommCtrlr", "HeartbeatInterval"));
    assert_eq!(heartbeat["attributeValue"], "2", "{heartbeat}");

    // Saved for the next start.
    let saved = saved_state(&state);
    assert_eq!(
        saved["overrides"]["OCPPCommCtrlr/HeartbeatInterval"], "2",
        "{saved}"
    );
    assert_private(&state);

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

/// Every (component, evse, variable, instance) of report data.
fn report_keys(data: &[Value]) -> Vec<String> {
    data.iter()
        .map(|d| {
            format!(
                "{}/{}/{}/{}",
                d["component"]["name"].as_str().unwrap_or("?"),
                d["component"]["evse"],
                d["variable"]["name"].as_str().unwrap_or("?"),
                d["variable"]["instance"]
            )
        })
        .collect()
}

#[test]
fn get_base_report_on_201() {
    let csms = start_csms();
    let state = fresh_state_dir();
    // Eight EVSEs: more variables than one message carries.
    let env = station_env(&csms, V201, &state).set("OCPP_CONNECTORS", "8");
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, V201, 8, None);
    let per_message = get_variable(
        &mut remote,
        json!({
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}
        }),
    );
    let per_message: usize = per_message["attributeValue"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("ItemsPerMessage[GetReport]");

    let before = csms.calls("NotifyReport").len();
    let data = remote.base_report(42, "FullInventory");
    let parts = csms.calls("NotifyReport").len() - before;
    assert!(
        parts >= 2,
        "a full inventory of 8 EVSEs takes more than one part"
    );
    for part in &csms.calls("NotifyReport")[before..] {
        let items = part["payload"]["reportData"].as_array().map_or(0, Vec::len);
        assert!(
            (1..=per_message).contains(&items),
            "1 to ItemsPerMessage entries per part: {part}"
        );
    }
    let keys = report_keys(&data);
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "each variable once: {keys:?}");

    let find = |component: &str, variable: &str, evse: Option<u64>| -> Value {
        data.iter()
            .find(|d| {
                d["component"]["name"] == component
                    && d["variable"]["name"] == variable
                    && evse.is_none_or(|id| d["component"]["evse"]["id"] == id)
            })
            .cloned()
            .unwrap_or_else(|| panic!("{component}.{variable} ({evse:?}) is reported: {keys:?}"))
    };
    let heartbeat = find("OCPPCommCtrlr", "HeartbeatInterval", None);
    assert_eq!(
        heartbeat["variableAttribute"][0]["mutability"], "ReadWrite",
        "{heartbeat}"
    );
    assert_eq!(
        heartbeat["variableAttribute"][0]["value"], "300",
        "{heartbeat}"
    );
    let password = find("SecurityCtrlr", "BasicAuthPassword", None);
    assert_eq!(
        password["variableAttribute"][0]["mutability"], "WriteOnly",
        "{password}"
    );
    assert!(
        password["variableAttribute"][0].get("value").is_none(),
        "{password}"
    );
    let identity = find("SecurityCtrlr", "Identity", None);
    assert_eq!(
        identity["variableAttribute"][0]["mutability"], "ReadOnly",
        "{identity}"
    );
    for evse in 1..=8 {
        let state = find("EVSE", "AvailabilityState", Some(evse));
        assert_eq!(
            state["variableAttribute"][0]["value"], "Unavailable",
            "no charge controller: {state}"
        );
        find("Connector", "AvailabilityState", Some(evse));
    }

    // The summary: availability only.
    let summary = remote.base_report(43, "SummaryInventory");
    assert!(!summary.is_empty());
    for entry in &summary {
        let name = entry["variable"]["name"].as_str().unwrap_or("?");
        assert!(
            ["AvailabilityState", "Available", "Problem"].contains(&name),
            "{entry}"
        );
    }

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

/// A report request (GetReport or GetBaseReport) answered Accepted; returns the reportData of
/// every NotifyReport part, in order, after checking seqNo from 0 and tbc on every part but
/// the last.
fn report(remote: &mut Remote, action: &str, payload: Value) -> Vec<Value> {
    let request_id = payload["requestId"].clone();
    let answer = remote.call(action, payload);
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let parts = remote
        .csms
        .wait_until("the last NotifyReport part", DEADLINE, |events| {
            let parts: Vec<Value> = events[answer.sent_at..]
                .iter()
                .filter(|e| {
                    is_call_of(e, "NotifyReport") && e["payload"]["requestId"] == request_id
                })
                .cloned()
                .collect();
            let last = parts.iter().position(|p| p["payload"]["tbc"] != true)?;
            Some(parts[..=last].to_vec())
        });
    for (seq_no, part) in parts.iter().enumerate() {
        assert_eq!(part["payload"]["seqNo"], seq_no, "{}", dump(&parts));
        assert_eq!(
            part["payload"]["tbc"] == true,
            seq_no + 1 < parts.len(),
            "{}",
            dump(&parts)
        );
    }
    parts
        .iter()
        .flat_map(|p| {
            p["payload"]["reportData"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn get_report_on_201() {
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, V201, &state).set("OCPP_CONNECTORS", "2");
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, V201, 2, None);

    // A component without evse and a variable without instance: every instance of each.
    let data = report(
        &mut remote,
        "GetReport",
        json!({"requestId": 1, "componentVariable": [
            {"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}},
            {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage"}}
        ]}),
    );
    assert_eq!(
        report_keys(&data),
        [
            "DeviceDataCtrlr/null/ItemsPerMessage/\"GetReport\"",
            "DeviceDataCtrlr/null/ItemsPerMessage/\"GetVariables\"",
            "DeviceDataCtrlr/null/ItemsPerMessage/\"SetVariables\"",
            "EVSE/{\"id\":1}/AvailabilityState/null",
            "EVSE/{\"id\":2}/AvailabilityState/null",
        ]
    );

    // A component without a variable: all of its variables; with criteria too: both hold.
    let data = report(
        &mut remote,
        "GetReport",
        json!({"requestId": 2, "componentCriteria": ["Available"],
               "componentVariable": [{"component": {"name": "Connector", "evse": {"id": 2}}}]}),
    );
    let names: Vec<&str> = data
        .iter()
        .map(|d| d["variable"]["name"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        names,
        ["AvailabilityState", "Available", "Problem", "ConnectorType"]
    );
    assert!(
        data.iter().all(|d| d["component"]["evse"]["id"] == 2),
        "{data:?}"
    );

    // No connector has a problem (no charge controller leaves them Unavailable, not Faulted).
    // Connectors only: the station's own Problem follows this machine's health (a nearly full
    // disk raises it), which a test cannot assume.
    let answer = remote.call(
        "GetReport",
        json!({"requestId": 3, "componentCriteria": ["Problem"],
               "componentVariable": [{"component": {"name": "Connector"}}]}),
    );
    assert_eq!(answer.status(), "EmptyResultSet", "{}", answer.event);
    let answer = remote.call(
        "GetReport",
        json!({"requestId": 4, "componentVariable": [{"component": {"name": "NoSuchCtrlr"}}]}),
    );
    assert_eq!(answer.status(), "EmptyResultSet", "{}", answer.event);

    // What the schema forbids.
    let answer = remote.call(
        "GetReport",
        json!({"requestId": 5, "componentCriteria": []}),
    );
    assert_eq!(
        answer.error_code(),
        "OccurrenceConstraintViolation",
        "{}",
        answer.event
    );
    let answer = remote.call(
        "GetReport",
        json!({"requestId": 5, "componentCriteria": ["Sometimes"]}),
    );
    assert_eq!(answer.error_code(), PROPERTY_VIOLATION, "{}", answer.event);

    // Without filters: the full inventory.
    let everything = report(&mut remote, "GetReport", json!({"requestId": 6}));
    let full = remote.base_report(7, "FullInventory");
    assert_eq!(report_keys(&everything), report_keys(&full));

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn a_burst_of_requests_with_answers_withheld_costs_a_fixed_amount_on_201() {
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, V201, &state)
        .set("OCPP_CONNECTORS", "8")
        .set("OCPP_CALL_TIMEOUT_SECONDS", "2");
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, V201, 8, None);

    // The CSMS withholds the answers to the first report's first two parts.
    remote.command(json!({"answers": {"NotifyReport": [{"drop": true, "times": 2}]}}));
    let burst = 300;
    let first = csms.events().len();
    let sent = remote.command(json!({
        "send": json!([2, "burst-report", "GetBaseReport",
                       {"requestId": 77, "reportBase": "FullInventory"}]).to_string(),
        "repeat": burst,
        "unique_ids": true,
    }));
    assert_eq!(sent["sent"], burst);
    remote.command(json!({
        "send": json!([2, "burst-heartbeat", "TriggerMessage",
                       {"requestedMessage": "Heartbeat"}]).to_string(),
        "repeat": burst,
        "unique_ids": true,
    }));
    remote.command(json!({
        "send": json!([2, "burst-status", "TriggerMessage",
                       {"requestedMessage": "StatusNotification",
                        "evse": {"id": 3, "connectorId": 1}}]).to_string(),
        "repeat": burst,
        "unique_ids": true,
    }));
    let answers = csms.wait_until("an answer to every request", DEADLINE, |events| {
        let answers: Vec<Value> = events[first..]
            .iter()
            .filter(|e| {
                e["event"] == "recv"
                    && e["message_type"] == 3
                    && e["unique_id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("burst-"))
            })
            .cloned()
            .collect();
        (answers.len() == 3 * burst).then_some(answers)
    });
    let of = |prefix: &str| -> Vec<&Value> {
        answers
            .iter()
            .filter(|a| {
                a["unique_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(prefix))
            })
            .collect()
    };
    // One report at a time: the first is taken, the others are refused with the reason.
    let reports = of("burst-report-");
    assert_eq!(
        reports[0]["payload"]["status"], "Accepted",
        "{}",
        reports[0]
    );
    for refused in &reports[1..] {
        assert_eq!(refused["payload"]["status"], "Rejected", "{refused}");
        let info = refused["payload"]["statusInfo"]["additionalInfo"]
            .as_str()
            .unwrap_or_default();
        assert!(info.contains("still being sent"), "{refused}");
    }
    for trigger in of("burst-heartbeat-")
        .iter()
        .chain(of("burst-status-").iter())
    {
        assert_eq!(trigger["payload"]["status"], "Accepted", "{trigger}");
    }

    // The first report still arrives whole, in order, once the CSMS answers again; the
    // triggers were folded into one Heartbeat and one status each time one was waiting.
    let parts = csms.wait_until("the last part of report 77", DEADLINE, |events| {
        let parts: Vec<Value> = events[first..]
            .iter()
            .filter(|e| is_call_of(e, "NotifyReport"))
            .cloned()
            .collect();
        let last = parts.iter().position(|p| p["payload"]["tbc"] != true)?;
        Some(parts[..=last].to_vec())
    });
    for (seq_no, part) in parts.iter().enumerate() {
        assert_eq!(part["payload"]["requestId"], 77, "{}", dump(&parts));
        assert_eq!(part["payload"]["seqNo"], seq_no, "{}", dump(&parts));
    }
    let marker = heartbeat_marker(&mut remote);
    let calls = calls_between(&csms, first, marker);
    let heartbeats = calls.iter().filter(|c| is_call_of(c, "Heartbeat")).count();
    let statuses = calls
        .iter()
        .filter(|c| is_call_of(c, "StatusNotification"))
        .count();
    assert!(
        heartbeats < 20 && statuses < 20,
        "{heartbeats} Heartbeats and {statuses} StatusNotifications for {burst} triggers each"
    );
    // A report asked for now is taken again.
    let data = remote.base_report(78, "SummaryInventory");
    assert!(!data.is_empty());

    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

// ---------------------------------------------------------------------------------------------
// 1.6 configuration keys
// ---------------------------------------------------------------------------------------------

/// The configurationKey entry for `key`.
fn config_key(keys: &Value, key: &str) -> Option<Value> {
    keys.as_array()?.iter().find(|k| k["key"] == key).cloned()
}

#[test]
fn get_and_change_configuration_on_16() {
    let csms = start_csms();
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, V16, &state).pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, V16, 1, None);

    // Every key, none unknown; the write-only AuthorizationKey is not listed.
    let answer = remote.call("GetConfiguration", json!({}));
    let all = answer.payload();
    assert!(all.get("unknownKey").is_none(), "{all}");
    let keys = &all["configurationKey"];
    let heartbeat = config_key(keys, "HeartbeatInterval").expect("HeartbeatInterval");
    assert_eq!(heartbeat["readonly"], false, "{heartbeat}");
    assert_eq!(heartbeat["value"], "300", "{heartbeat}");
    let connectors = config_key(keys, "NumberOfConnectors").expect("NumberOfConnectors");
    assert_eq!(connectors["readonly"], true, "{connectors}");
    assert_eq!(connectors["value"], "1", "{connectors}");
    assert!(config_key(keys, "AuthorizationKey").is_none(), "{all}");
    // Every required Core key (section 9.1), read-only where the station does not act on it.
    for (key, readonly) in [
        ("AuthorizeRemoteTxRequests", true),
        ("ClockAlignedDataInterval", true),
        ("ConnectionTimeOut", false),
        ("ConnectorPhaseRotation", true),
        ("GetConfigurationMaxKeys", true),
        ("LocalAuthorizeOffline", true),
        ("LocalPreAuthorize", true),
        ("MeterValuesAlignedData", true),
        ("MeterValuesSampledData", true),
        ("MeterValueSampleInterval", true),
        ("ResetRetries", true),
        ("StopTransactionOnEVSideDisconnect", true),
        ("StopTransactionOnInvalidId", true),
        ("StopTxnAlignedData", true),
        ("StopTxnSampledData", true),
        ("SupportedFeatureProfiles", true),
        ("TransactionMessageAttempts", true),
        ("TransactionMessageRetryInterval", true),
        ("UnlockConnectorOnEVSideDisconnect", true),
    ] {
        let entry = config_key(keys, key).unwrap_or_else(|| panic!("{key} is listed: {all}"));
        assert_eq!(entry["readonly"], readonly, "{entry}");
        assert!(entry["value"].is_string(), "{entry}");
    }

    // Selected keys, one unknown.
    let answer = remote.call(
        "GetConfiguration",
        json!({"key": ["HeartbeatInterval", "NoSuchKey"]}),
    );
    let payload = answer.payload();
    let listed: Vec<&str> = payload["configurationKey"]
        .as_array()
        .map(|keys| keys.iter().filter_map(|k| k["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, ["HeartbeatInterval"], "{payload}");
    assert_eq!(payload["unknownKey"], json!(["NoSuchKey"]), "{payload}");

    // Read-only, unknown and invalid changes.
    let change = |remote: &mut Remote, key: &str, value: &str| -> String {
        remote
            .call("ChangeConfiguration", json!({"key": key, "value": value}))
            .status()
            .to_owned()
    };
    assert_eq!(change(&mut remote, "NumberOfConnectors", "4"), "Rejected");
    assert_eq!(change(&mut remote, "NoSuchKey", "1"), "NotSupported");
    assert_eq!(change(&mut remote, "HeartbeatInterval", "soon"), "Rejected");
    assert_eq!(change(&mut remote, "HeartbeatInterval", "0"), "Rejected");
    assert_eq!(change(&mut remote, "HeartbeatInterval", "+5"), "Rejected");
    assert_eq!(change(&mut remote, "HeartbeatInterval", " 5"), "Rejected");
    assert_eq!(
        change(&mut remote, "MeterValueSampleInterval", "60"),
        "Rejected"
    );
    let answer = remote.call("GetConfiguration", json!({"key": ["HeartbeatInterval"]}));
    let heartbeat = config_key(&answer.payload()["configurationKey"], "HeartbeatInterval");
    assert_eq!(
        heartbeat.map(|k| k["value"].clone()),
        Some(json!("300")),
        "{}",
        answer.event
    );

    // A new heartbeat interval is in force at once: Heartbeats follow, and nothing else.
    let answer = remote.call(
        "ChangeConfiguration",
        json!({"key": "HeartbeatInterval", "value": "2"}),
    );
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    assert_heartbeats_alone(&csms, answer.at, 2);
    let answer = remote.call("GetConfiguration", json!({"key": ["HeartbeatInterval"]}));
    let heartbeat = config_key(&answer.payload()["configurationKey"], "HeartbeatInterval");
    assert_eq!(
        heartbeat.map(|k| k["value"].clone()),
        Some(json!("2")),
        "{}",
        answer.event
    );
    let saved = saved_state(&state);
    assert_eq!(
        saved["overrides"]["OCPPCommCtrlr/HeartbeatInterval"], "2",
        "{saved}"
    );
    assert_private(&state);

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

// ---------------------------------------------------------------------------------------------
// ChangeAvailability
// ---------------------------------------------------------------------------------------------

fn change_availability_payload(version: Version, connector: Option<u64>, operative: bool) -> Value {
    let kind = if operative {
        "Operative"
    } else {
        "Inoperative"
    };
    match (version, connector) {
        (V201, None) => json!({"operationalStatus": kind}),
        (V201, Some(c)) => json!({"operationalStatus": kind, "evse": {"id": c}}),
        (V16, c) => json!({"connectorId": c.unwrap_or(0), "type": kind}),
    }
}

/// ChangeAvailability; checks the Accepted answer and that connector 1 (and, in 1.6, the
/// station's connector 0) is then reported `expected`.
fn change_availability(
    csms: &Csms,
    remote: &mut Remote,
    version: Version,
    connector: Option<u64>,
    operative: bool,
    expected: &str,
) {
    let answer = remote.call(
        "ChangeAvailability",
        change_availability_payload(version, connector, operative),
    );
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let at = next_status(csms, version, 1, Some(answer.sent_at), expected);
    assert!(at > answer.at, "{}", dump(&csms.events()));
    if version == V16 {
        next_status(csms, version, 0, Some(answer.sent_at), expected);
    }
}

/// The saved state once the station has answered one more CALL (the change is on disk by the
/// time the station takes the next request, not necessarily when its answer arrives).
fn saved_next(remote: &mut Remote, state_dir: &Path) -> Value {
    heartbeat_marker(remote);
    saved_state(state_dir)
}

/// 2.0.1: EVSE 1's AvailabilityState and Available, as GetVariables reads them.
fn evse_availability(remote: &mut Remote) -> (Value, Value) {
    let evse = json!({"name": "EVSE", "evse": {"id": 1}});
    let state = get_variable(
        remote,
        json!({"component": evse, "variable": {"name": "AvailabilityState"}}),
    );
    let available = get_variable(
        remote,
        json!({"component": evse, "variable": {"name": "Available"}}),
    );
    (
        state["attributeValue"].clone(),
        available["attributeValue"].clone(),
    )
}

fn change_availability_survives_a_restart(version: Version) {
    let by_id = tempfile::Builder::new()
        .prefix("operations-by-id-")
        .tempdir()
        .expect("a temporary directory");
    let link = by_id.path().join(ADAPTER);
    let mut fake = FakeController::start(&link, PERIOD);
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, version, &state)
        .set("ESP32_PORT", &link.to_string_lossy())
        .set("ESP32_BY_ID_DIR", &by_id.path().to_string_lossy());
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);

    // The controller vouches for the connector.
    wait_after(&csms, None, "connector 1 Available", |e| {
        is_status_for(version, e, 1) && status_name(version, e) == "Available"
    });
    if version == V16 {
        wait_after(&csms, None, "the station Available", |e| {
            is_status_for(V16, e, 0) && status_name(V16, e) == "Available"
        });
    }
    wait_settled(&csms, version, 1, None);

    // The whole station out of service and back.
    change_availability(&csms, &mut remote, version, None, false, "Unavailable");
    assert_eq!(saved_next(&mut remote, &state)["station_operative"], false);
    change_availability(&csms, &mut remote, version, None, true, "Available");
    assert_eq!(saved_next(&mut remote, &state)["station_operative"], true);

    // Connector 1 out of service, over the controller's Available.
    change_availability(&csms, &mut remote, version, Some(1), false, "Unavailable");
    let saved = saved_next(&mut remote, &state);
    assert_eq!(saved["evse_inoperative"], json!([1]), "{saved}");
    if version == V201 {
        let (state, available) = evse_availability(&mut remote);
        assert_eq!((state, available), (json!("Unavailable"), json!("false")));
    }
    stop(&mut daemon);

    // A restart with the same state directory keeps it out of service.
    let fake_from = fake.events().len();
    let from = csms.events().len() - 1;
    let mut daemon = spawn_daemon(&env.pairs());
    wait_settled(&csms, version, 1, Some(from));
    let reported_at = next_status(&csms, version, 1, Some(from), "Unavailable");
    // The controller says Available, and the station has read it.
    let device = fake.device().to_owned();
    fake.wait_for_after(fake_from, "the station opening the port again", |e| {
        e["event"] == "host_open" && e["device"] == device.as_str()
    });
    fake.wait_delivered_stats(3);
    let answer = remote.call("TriggerMessage", trigger_status(version, Some(1)));
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    next_status(&csms, version, 1, Some(answer.sent_at), "Unavailable");
    if version == V201 {
        let (state, available) = evse_availability(&mut remote);
        assert_eq!((state, available), (json!("Unavailable"), json!("false")));
    }
    let since_restart: Vec<String> = csms.events()[reported_at..]
        .iter()
        .filter(|e| is_status_for(version, e, 1))
        .map(|e| status_name(version, e))
        .collect();
    assert!(
        since_restart.iter().all(|s| s == "Unavailable"),
        "connector 1 stays Unavailable after the restart: {since_restart:?}"
    );

    // Back in service: the controller's Available shows again.
    change_availability(&csms, &mut remote, version, Some(1), true, "Available");
    if version == V201 {
        let (state, available) = evse_availability(&mut remote);
        assert_eq!((state, available), (json!("Available"), json!("true")));
    }
    let saved = saved_next(&mut remote, &state);
    assert_eq!(saved["evse_inoperative"], json!([]), "{saved}");

    // Under a running session the change waits for the session to end.
    let charging = match version {
        V201 => "Occupied",
        V16 => "Charging",
    };
    let from = csms.events().len() - 1;
    fake.set_state(5, 0);
    next_status(&csms, version, 1, Some(from), charging);
    let answer = remote.call(
        "ChangeAvailability",
        change_availability_payload(version, Some(1), false),
    );
    assert_eq!(answer.status(), "Scheduled", "{}", answer.event);
    let marker = heartbeat_marker(&mut remote);
    let between = calls_between(&csms, answer.at, marker);
    assert!(
        between.is_empty(),
        "nothing changes while the session runs:\n{}",
        dump(&between)
    );
    let saved = saved_state(&state);
    assert_eq!(saved["scheduled_unavailable"], json!([1]), "{saved}");
    assert_eq!(saved["evse_inoperative"], json!([]), "{saved}");

    // The station restarts mid-session; the order waits for the session all the same.
    stop(&mut daemon);
    let from = csms.events().len() - 1;
    let mut daemon = spawn_daemon(&env.pairs());
    // Unavailable until the controller speaks, then the session.
    wait_after(&csms, Some(from), "the session after the restart", |e| {
        is_status_for(version, e, 1) && status_name(version, e) == charging
    });
    let marker = heartbeat_marker(&mut remote);
    fake.set_state(1, 0);
    next_status(&csms, version, 1, Some(marker), "Unavailable");
    let saved = saved_next(&mut remote, &state);
    assert_eq!(saved["evse_inoperative"], json!([1]), "{saved}");
    assert!(saved.get("scheduled_unavailable").is_none(), "{saved}");

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn change_availability_survives_a_restart_on_201() {
    change_availability_survives_a_restart(V201);
}

#[test]
fn change_availability_survives_a_restart_on_16() {
    change_availability_survives_a_restart(V16);
}

// ---------------------------------------------------------------------------------------------
// Reset
// ---------------------------------------------------------------------------------------------

/// The Boot of the connection after position `from`, and (2.0.1) the security event type that
/// follows it.
fn boot_after(csms: &Csms, version: Version, from: Option<usize>) -> (Value, Option<String>) {
    let (at, boot) = wait_after(csms, from, "BootNotification", |e| {
        is_call_of(e, "BootNotification")
    });
    let event = (version == V201).then(|| {
        let (_, event) = wait_after(csms, Some(at), "SecurityEventNotification", |e| {
            is_call_of(e, "SecurityEventNotification")
        });
        event["payload"]["type"].as_str().unwrap_or("?").to_owned()
    });
    (boot, event)
}

fn reset(version: Version) {
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, version, &state);

    // First start: a power-up.
    let mut first = Exiting::spawn(&env);
    let mut remote = Remote::new(&csms);
    let (boot, event) = boot_after(&csms, version, None);
    wait_settled(&csms, version, 1, None);
    if version == V201 {
        assert_eq!(boot["payload"]["reason"], "PowerUp", "{boot}");
        assert_eq!(event.as_deref(), Some("StartupOfTheDevice"));
        // One EVSE cannot be restarted on its own.
        let answer = remote.call("Reset", json!({"type": "Immediate", "evseId": 1}));
        assert_eq!(answer.status(), "Rejected", "{}", answer.event);
    }

    let request = match version {
        V201 => json!({"type": "Immediate"}),
        V16 => json!({"type": "Soft"}),
    };
    let answer = remote.call("Reset", request);
    assert_eq!(answer.status(), "Accepted", "{}", answer.event);
    let status = first.wait_exit();
    assert_eq!(
        status.code(),
        Some(10),
        "after a Reset the process exits with 10 for systemd to restart it: {status}"
    );
    let (closed_at, closed) = wait_after(&csms, None, "the station closing", |e| {
        e["event"] == "disconnected"
    });
    assert_eq!(closed["code"], 1000, "{}", dump(&csms.events()));
    assert_eq!(closed["initiated_by"], "station", "{closed}");
    assert!(
        closed_at > answer.at,
        "the answer goes out before the close"
    );
    assert_eq!(
        saved_state(&state)["last_boot_reason"],
        "RemoteReset",
        "{}",
        saved_state(&state)
    );

    // Started again (as systemd would): a RemoteReset boot.
    let from = csms.events().len() - 1;
    let mut second = spawn_daemon(&env.pairs());
    let (boot, event) = boot_after(&csms, version, Some(from));
    wait_settled(&csms, version, 1, Some(from));
    if version == V201 {
        assert_eq!(boot["payload"]["reason"], "RemoteReset", "{boot}");
        assert_eq!(event.as_deref(), Some("ResetOrReboot"));
    }
    let saved = saved_state(&state);
    assert!(
        saved.get("last_boot_reason").is_none(),
        "the reason belongs to one start: {saved}"
    );
    stop(&mut second);

    // A later start is a power-up again.
    let from = csms.events().len() - 1;
    let mut third = spawn_daemon(&env.pairs());
    let (boot, event) = boot_after(&csms, version, Some(from));
    wait_settled(&csms, version, 1, Some(from));
    if version == V201 {
        assert_eq!(boot["payload"]["reason"], "PowerUp", "{boot}");
        assert_eq!(event.as_deref(), Some("StartupOfTheDevice"));
    }
    stop(&mut third);
    csms.assert_no_validation_errors();
}

#[test]
fn reset_restarts_the_process_on_201() {
    reset(V201);
}

#[test]
fn reset_restarts_the_process_on_16() {
    reset(V16);
}

// ---------------------------------------------------------------------------------------------
// UnlockConnector and DataTransfer
// ---------------------------------------------------------------------------------------------

fn unlock_and_data_transfer(version: Version) {
    let csms = start_csms();
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, version, &state).pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, version, 1, None);

    match version {
        V201 => {
            let answer = remote.call("UnlockConnector", json!({"evseId": 1, "connectorId": 1}));
            assert_eq!(answer.status(), "UnlockFailed", "{}", answer.event);
            let info = &answer.payload()["statusInfo"];
            assert!(info["reasonCode"].is_string(), "{}", answer.event);
            assert!(info["additionalInfo"].is_string(), "{}", answer.event);
            let answer = remote.call("UnlockConnector", json!({"evseId": 9, "connectorId": 1}));
            assert_eq!(answer.status(), "UnknownConnector", "{}", answer.event);
        }
        V16 => {
            let answer = remote.call("UnlockConnector", json!({"connectorId": 1}));
            assert_eq!(answer.status(), "NotSupported", "{}", answer.event);
        }
    }

    let answer = remote.call(
        "DataTransfer",
        json!({"vendorId": "com.example.unknown", "messageId": "Hello", "data": "x"}),
    );
    assert_eq!(answer.status(), "UnknownVendorId", "{}", answer.event);
    let answer = remote.call(
        "DataTransfer",
        json!({"vendorId": "ocpp-station", "messageId": "Hello"}),
    );
    assert_eq!(answer.status(), "UnknownMessageId", "{}", answer.event);

    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn unlock_connector_and_data_transfer_on_201() {
    unlock_and_data_transfer(V201);
}

#[test]
fn unlock_connector_and_data_transfer_on_16() {
    unlock_and_data_transfer(V16);
}

// ---------------------------------------------------------------------------------------------
// Malformed requests
// ---------------------------------------------------------------------------------------------

fn malformed_requests(version: Version) {
    let csms = start_csms();
    let state = fresh_state_dir();
    let mut daemon = spawn_daemon(&station_env(&csms, version, &state).pairs());
    let mut remote = Remote::new(&csms);
    let settled = wait_settled(&csms, version, 1, None);
    let occurrence = version.occurrence_violation();

    // Each kind of defect gets its own code (docs/architecture.md, "CallError codes").
    let requests: Vec<(&str, Value, &str)> = match version {
        V201 => vec![
            ("TriggerMessage", json!({}), occurrence),
            (
                "TriggerMessage",
                json!({"requestedMessage": 7}),
                TYPE_VIOLATION,
            ),
            (
                "TriggerMessage",
                json!({"requestedMessage": "Everything"}),
                PROPERTY_VIOLATION,
            ),
            (
                "ChangeAvailability",
                json!({"operationalStatus": 1}),
                TYPE_VIOLATION,
            ),
            (
                "ChangeAvailability",
                json!({"operationalStatus": "Inoperative", "evse": {"id": -1}}),
                PROPERTY_VIOLATION,
            ),
            ("Reset", json!({"type": true}), TYPE_VIOLATION),
            ("Reset", json!({"type": "Hard"}), PROPERTY_VIOLATION),
            (
                "UnlockConnector",
                json!({"evseId": "1", "connectorId": 1}),
                TYPE_VIOLATION,
            ),
            ("UnlockConnector", json!({"evseId": 1}), occurrence),
            ("DataTransfer", json!({}), occurrence),
            (
                "GetVariables",
                json!({"getVariableData": "HeartbeatInterval"}),
                TYPE_VIOLATION,
            ),
            (
                "SetVariables",
                json!({"setVariableData": [{
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"}
                }]}),
                occurrence,
            ),
            (
                "GetBaseReport",
                json!({"reportBase": "FullInventory"}),
                occurrence,
            ),
            (
                "GetBaseReport",
                json!({"requestId": 1, "reportBase": "HalfInventory"}),
                PROPERTY_VIOLATION,
            ),
            ("GetVariables", json!({"getVariableData": []}), occurrence),
            ("Reset", json!(["Immediate"]), version.format_violation()),
        ],
        V16 => vec![
            ("TriggerMessage", json!({}), occurrence),
            (
                "TriggerMessage",
                json!({"requestedMessage": "LogStatusNotification"}),
                PROPERTY_VIOLATION,
            ),
            (
                "ChangeAvailability",
                json!({"connectorId": "0", "type": "Inoperative"}),
                TYPE_VIOLATION,
            ),
            (
                "ChangeAvailability",
                json!({"connectorId": 0, "type": "Out"}),
                PROPERTY_VIOLATION,
            ),
            ("Reset", json!({}), occurrence),
            ("Reset", json!({"type": "Immediate"}), PROPERTY_VIOLATION),
            ("UnlockConnector", json!({}), occurrence),
            (
                "UnlockConnector",
                json!({"connectorId": -1}),
                PROPERTY_VIOLATION,
            ),
            ("DataTransfer", json!({"vendorId": 7}), TYPE_VIOLATION),
            (
                "GetConfiguration",
                json!({"key": "HeartbeatInterval"}),
                TYPE_VIOLATION,
            ),
            (
                "ChangeConfiguration",
                json!({"key": "HeartbeatInterval", "value": 5}),
                TYPE_VIOLATION,
            ),
            (
                "GetConfiguration",
                json!({"key": (0..51).map(|i| format!("Key{i}")).collect::<Vec<_>>()}),
                occurrence,
            ),
            ("Reset", json!("Soft"), version.format_violation()),
        ],
    };
    for (action, payload, code) in requests {
        let answer = remote.call(action, payload.clone());
        assert_eq!(
            answer.error_code(),
            code,
            "{action} {payload}: {}",
            answer.event
        );
        assert_eq!(answer.event["error_details"], json!({}), "{}", answer.event);
    }

    // Nothing changed and the same connection carries on.
    let marker = heartbeat_marker(&mut remote);
    let calls = calls_between(&csms, settled, marker);
    assert!(
        calls.iter().all(|c| is_call_of(c, "Heartbeat")),
        "malformed requests trigger nothing:\n{}",
        dump(&calls)
    );
    assert!(
        !csms.events().iter().any(|e| e["event"] == "disconnected"),
        "{}",
        dump(&csms.events())
    );
    assert!(daemon.is_alive());
    assert!(
        !state.join("state.json").exists() || saved_state(&state)["overrides"] == json!({}),
        "{}",
        saved_state(&state)
    );
    csms.assert_no_validation_errors();
    stop(&mut daemon);
}

#[test]
fn malformed_requests_on_201() {
    malformed_requests(V201);
}

#[test]
fn malformed_requests_on_16() {
    malformed_requests(V16);
}

// ---------------------------------------------------------------------------------------------
// A new Basic-auth password
// ---------------------------------------------------------------------------------------------

/// Every form in which `password` could leak: plain, and the Basic credentials of the station.
fn password_forms(password: &str) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    vec![
        password.to_owned(),
        engine.encode(format!("{STATION_NAME}:{password}")),
    ]
}

fn assert_not_in(text: &str, password: &str, whose: &str) {
    for form in password_forms(password) {
        assert!(!text.contains(&form), "{whose} shows the new password");
    }
}

/// The CSMS sets a new password (and from then on accepts only it for new connections): the
/// station answers Accepted, drops its connection, comes back with the new password, and
/// never reads the password back.
fn give_new_password(csms: &Csms, remote: &mut Remote, version: Version) {
    remote.set_password(NEW_PASSWORD);
    let from = csms.events().len() - 1;
    match version {
        V201 => {
            let answer = remote.call(
                "SetVariables",
                json!({"setVariableData": [
                    set_data("SecurityCtrlr", "BasicAuthPassword", NEW_PASSWORD)
                ]}),
            );
            let result = &answer.payload()["setVariableResult"][0];
            assert_eq!(result["attributeStatus"], "Accepted", "{result}");
        }
        V16 => {
            let answer = remote.call(
                "ChangeConfiguration",
                json!({"key": "AuthorizationKey", "value": NEW_PASSWORD}),
            );
            assert_eq!(answer.status(), "Accepted", "{}", answer.event);
        }
    }
    wait_after(
        csms,
        Some(from),
        &format!(
            "{}: the station dropping its connection to reconnect with the new password",
            version.primary()
        ),
        |e| e["event"] == "disconnected",
    );
    // The CSMS may log the old connection's end after the new one began: the next upgrade is
    // the first after the password was set.
    assert_next_upgrade_accepted(csms, from);
    match version {
        V201 => {
            let read = get_variable(remote, get_data("SecurityCtrlr", "BasicAuthPassword"));
            assert_eq!(read["attributeStatus"], "Rejected", "{read}");
            assert!(read.get("attributeValue").is_none(), "{read}");
        }
        V16 => {
            let answer = remote.call("GetConfiguration", json!({"key": ["AuthorizationKey"]}));
            let key = config_key(&answer.payload()["configurationKey"], "AuthorizationKey")
                .expect("AuthorizationKey is a known key");
            assert!(key.get("value").is_none(), "{key}");
        }
    }
}

/// The first upgrade after position `from` must be accepted with the right password.
fn assert_next_upgrade_accepted(csms: &Csms, from: usize) {
    let (_, next) = wait_after(csms, Some(from), "the station's next connection", |e| {
        e["event"] == "connected" || e["event"] == "rejected_upgrade"
    });
    assert_eq!(next["event"], "connected", "{}", dump(&csms.events()));
    assert_eq!(next["authorization"], "ok", "{next}");
}

fn new_password(version: Version) {
    let csms = start_csms();
    let state = fresh_state_dir();
    let env = station_env(&csms, version, &state);
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    wait_settled(&csms, version, 1, None);
    give_new_password(&csms, &mut remote, version);
    let saved = saved_state(&state);
    assert!(
        saved["overrides"]
            .get("SecurityCtrlr/BasicAuthPassword")
            .is_some(),
        "the password is saved for the next start"
    );
    assert_private(&state);
    stop(&mut daemon);
    assert_not_in(&daemon.stderr(), NEW_PASSWORD, "the station's log");
    assert_not_in(&daemon.stdout(), NEW_PASSWORD, "the station's stdout");

    // The next start uses the saved password, not the env file's.
    let from = csms.events().len() - 1;
    let mut daemon = spawn_daemon(&env.pairs());
    assert_next_upgrade_accepted(&csms, from);
    wait_settled(&csms, version, 1, Some(from));
    stop(&mut daemon);
    assert_not_in(&daemon.stderr(), NEW_PASSWORD, "the station's log");

    // What the station sent never carries it either.
    for event in csms.events() {
        if event["event"] == "recv" {
            assert_not_in(&event.to_string(), NEW_PASSWORD, "a station message");
        }
    }
    csms.assert_no_validation_errors();
}

#[test]
fn a_new_password_is_used_and_never_shown_on_201() {
    new_password(V201);
}

#[test]
fn a_new_password_is_used_and_never_shown_on_16() {
    new_password(V16);
}

/// Once it has accepted a new password the station drops its connection and reconnects with
/// it at once, as OCTT TC_073_CS (1.6) describes, so the CSMS can retire the old one.
#[test]
fn a_new_password_makes_the_station_reconnect_with_it() {
    for version in [V201, V16] {
        let csms = start_csms();
        let state = fresh_state_dir();
        let mut daemon = spawn_daemon(&station_env(&csms, version, &state).pairs());
        let mut remote = Remote::new(&csms);
        wait_settled(&csms, version, 1, None);
        give_new_password(&csms, &mut remote, version);
        stop(&mut daemon);
        assert_not_in(&daemon.stderr(), NEW_PASSWORD, "the station's log");
        csms.assert_no_validation_errors();
    }
}

/// The most detailed log an operator can ask for (`OCPP_LOG=ocpp_station=trace`, as the README
/// suggests) must not show the password the CSMS sets either.
#[test]
fn a_new_password_stays_out_of_the_most_detailed_log() {
    let mut leaks = Vec::new();
    for version in [V201, V16] {
        let csms = start_csms();
        let state = fresh_state_dir();
        let env = station_env(&csms, version, &state).set("OCPP_LOG", "ocpp_station=trace");
        let mut daemon = spawn_daemon(&env.pairs());
        let mut remote = Remote::new(&csms);
        wait_settled(&csms, version, 1, None);
        give_new_password(&csms, &mut remote, version);
        stop(&mut daemon);
        csms.assert_no_validation_errors();
        // Name the log lines that show it, without repeating it.
        let stderr = daemon.stderr();
        for line in stderr.lines() {
            if password_forms(NEW_PASSWORD)
                .iter()
                .any(|form| line.contains(form.as_str()))
            {
                let shown: String = line
                    .replace(NEW_PASSWORD, "<new password>")
                    .chars()
                    .take(200)
                    .collect();
                leaks.push(format!("{}: {shown}", version.primary()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "the trace log shows the new password:\n{}",
        leaks.join("\n")
    );
}
