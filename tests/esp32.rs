//! The ESP32 charge-controller bridge, end to end: the station binary reads a fake controller on
//! a pseudo-terminal (tests/esp32/fake_controller.py, behaving like the field firmware) and
//! reports to a real CSMS (tests/csms/csms.py, validating every message), in OCPP 2.0.1 and 1.6.
//!
//! The controller is driven one step at a time; each step waits for its StatusNotification at
//! the CSMS (or, when the step must not change what the CSMS sees, for a few more STAT lines to
//! reach the station), so the sequences compared at the end are exact. Deadlines are safety nets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/controller.rs"]
mod controller;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use common::{
    Csms, DEADLINE, Daemon, Env, csms_config, csms_config_with, dump, is_call, run_once,
    spawn_daemon, validate_once_report,
};
use controller::{FakeController, PortHolder};
use serde_json::{Value, json};

/// Seconds between the fake's STAT lines (the real firmware: 7.5).
const PERIOD: f64 = 0.3;
/// The by-id name the fake's link gets, as a CP2102 adapter shows up.
const ADAPTER: &str = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0";
/// What 1.6 puts in `info` when the controller link is lost.
const LINK_LOST_INFO: &str = "charge controller link lost";

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

    fn subprotocol(self) -> &'static str {
        match self {
            V201 => "ocpp2.0.1",
            V16 => "ocpp1.6",
        }
    }

    /// The connector status the CSMS must see for a controller STATE (docs/esp32.md).
    fn status(self, state: u8) -> &'static str {
        match (self, state) {
            (_, 1) => "Available",
            (_, 0 | 8) => "Faulted",
            (V201, 2..=7) => "Occupied",
            (V16, 2..=4) => "Preparing",
            (V16, 5) => "Charging",
            (V16, 6) => "SuspendedEV",
            (V16, 7) => "Finishing",
            _ => panic!("no such controller state {state}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the CSMS received
// ---------------------------------------------------------------------------------------------

/// A StatusNotification CALL for `connector` (1.6: 0 is the station itself).
fn is_status_for(version: Version, event: &Value, connector: u64) -> bool {
    if !(is_call(event) && event["action"] == "StatusNotification") {
        return false;
    }
    let payload = &event["payload"];
    match version {
        V201 => payload["evseId"] == connector && payload["connectorId"] == connector,
        V16 => payload["connectorId"] == connector,
    }
}

/// The status a StatusNotification payload carries.
fn status_name(version: Version, payload: &Value) -> String {
    let key = match version {
        V201 => "connectorStatus",
        V16 => "status",
    };
    payload[key].as_str().unwrap_or("?").to_owned()
}

/// Connector `connector`'s StatusNotifications so far: (position in the events, payload).
fn statuses(csms: &Csms, version: Version, connector: u64) -> Vec<(usize, Value)> {
    csms.events()
        .iter()
        .enumerate()
        .filter(|(_, e)| is_status_for(version, e, connector))
        .map(|(i, e)| (i, e["payload"].clone()))
        .collect()
}

/// Connector `connector`'s statuses after event position `after` (all when `None`).
fn status_names_after(
    csms: &Csms,
    version: Version,
    connector: u64,
    after: Option<usize>,
) -> Vec<String> {
    statuses(csms, version, connector)
        .iter()
        .filter(|(i, _)| after.is_none_or(|a| *i > a))
        .map(|(_, p)| status_name(version, p))
        .collect()
}

/// Wait for the next StatusNotification of `connector` after position `after` (the first one
/// when `None`) and check that it says `expected`; returns its position and payload.
fn next_status(
    csms: &Csms,
    version: Version,
    connector: u64,
    after: Option<usize>,
    expected: &str,
) -> (usize, Value) {
    let what = format!("a StatusNotification for connector {connector} after event {after:?}");
    let (index, payload) = csms.wait_until(&what, DEADLINE, |events| {
        events
            .iter()
            .enumerate()
            .skip(after.map_or(0, |a| a + 1))
            .find(|(_, e)| is_status_for(version, e, connector))
            .map(|(i, e)| (i, e["payload"].clone()))
    });
    assert_eq!(
        status_name(version, &payload),
        expected,
        "connector {connector}: the next status after event {after:?} must be {expected}; \
         got {payload}\nevents:\n{}",
        dump(&csms.events())
    );
    (index, payload)
}

/// Wait for a StatusNotification of `connector` saying `expected`, whatever came before.
fn some_status(csms: &Csms, version: Version, connector: u64, expected: &str) -> (usize, Value) {
    let what = format!("StatusNotification {expected} for connector {connector}");
    csms.wait_until(&what, DEADLINE, |events| {
        events
            .iter()
            .enumerate()
            .find(|(_, e)| {
                is_status_for(version, e, connector)
                    && status_name(version, &e["payload"]) == expected
            })
            .map(|(i, e)| (i, e["payload"].clone()))
    })
}

/// The 2.0.1 NotifyEvent entries about a connector problem, in order.
fn problem_events(csms: &Csms) -> Vec<Value> {
    csms.calls("NotifyEvent")
        .iter()
        .flat_map(|call| {
            call["payload"]["eventData"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|data| data["variable"]["name"] == "Problem")
        .collect()
}

/// Wait for the `n`-th (1-based) connector problem NotifyEvent entry.
fn nth_problem_event(csms: &Csms, n: usize) -> Value {
    let what = format!("NotifyEvent number {n} about a connector problem");
    csms.wait_until(&what, DEADLINE, |events| {
        events
            .iter()
            .filter(|e| is_call(e) && e["action"] == "NotifyEvent")
            .flat_map(|e| {
                e["payload"]["eventData"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|data| data["variable"]["name"] == "Problem")
            .nth(n - 1)
    })
}

/// A raised problem of connector 1 (2.0.1): component, variable, actualValue "true", techCode.
fn assert_problem_raised(event: &Value, tech_code: &str, csms: &Csms) {
    let context = || format!("{event}\nevents:\n{}", dump(&csms.events()));
    assert_eq!(event["component"]["name"], "Connector", "{}", context());
    assert_eq!(event["component"]["evse"]["id"], 1, "{}", context());
    assert_eq!(
        event["component"]["evse"]["connectorId"],
        1,
        "{}",
        context()
    );
    assert_eq!(event["variable"]["name"], "Problem", "{}", context());
    assert_eq!(event["actualValue"], "true", "{}", context());
    assert_eq!(event["techCode"], tech_code, "{}", context());
    assert_ne!(
        event["cleared"],
        true,
        "a raised problem is not cleared: {}",
        context()
    );
}

/// The problem of connector 1 cleared (2.0.1): actualValue "false", cleared true.
fn assert_problem_cleared(event: &Value, csms: &Csms) {
    let context = || format!("{event}\nevents:\n{}", dump(&csms.events()));
    assert_eq!(event["component"]["name"], "Connector", "{}", context());
    assert_eq!(event["component"]["evse"]["id"], 1, "{}", context());
    assert_eq!(
        event["component"]["evse"]["connectorId"],
        1,
        "{}",
        context()
    );
    assert_eq!(event["variable"]["name"], "Problem", "{}", context());
    assert_eq!(event["actualValue"], "false", "{}", context());
    assert_eq!(event["cleared"], true, "{}", context());
}

/// A 1.6 Faulted payload for a lost controller link.
fn assert_link_lost_16(payload: &Value) {
    assert_eq!(payload["status"], "Faulted", "{payload}");
    assert_eq!(payload["errorCode"], "InternalError", "{payload}");
    assert_eq!(payload["vendorErrorCode"], "LINK_LOST", "{payload}");
    assert_eq!(payload["info"], LINK_LOST_INFO, "{payload}");
}

/// After a Faulted StatusNotification for a lost link: the version's way of saying why.
fn assert_link_lost(csms: &Csms, version: Version, payload: &Value, problem_number: usize) {
    match version {
        V16 => assert_link_lost_16(payload),
        V201 => assert_problem_raised(&nth_problem_event(csms, problem_number), "LINK_LOST", csms),
    }
}

// ---------------------------------------------------------------------------------------------
// The rig: a CSMS, a fake controller behind a by-id style link, the station daemon
// ---------------------------------------------------------------------------------------------

/// A temporary by-id directory.
fn by_id_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("esp32-by-id-")
        .tempdir()
        .expect("a temporary directory")
}

/// The station's environment for `version` with the controller at `port`.
fn station_env(csms: &Csms, version: Version, port: &str, by_id: &Path) -> Env {
    Env::for_csms(csms)
        .set("OCPP_PRIMARY", version.primary())
        .set("OCPP_HEARTBEAT_SECONDS", "3600")
        .set("ESP32_PORT", port)
        .set("ESP32_BY_ID_DIR", &by_id.to_string_lossy())
}

/// Fields drop in this order: the daemon first, the directory last.
struct Rig {
    daemon: Daemon,
    fake: FakeController,
    csms: Csms,
    version: Version,
    dir: tempfile::TempDir,
}

impl Rig {
    /// A CSMS, then a fake controller (`silent`: saying nothing until `speak`) in `state`,
    /// then the daemon with `extra` environment.
    fn start(version: Version, silent: bool, state: u8, extra: &[(&str, &str)]) -> Rig {
        let dir = by_id_dir();
        let csms = Csms::start(csms_config());
        let link = dir.path().join(ADAPTER);
        let mut fake = if silent {
            FakeController::start_silent(&link, PERIOD)
        } else {
            FakeController::start(&link, PERIOD)
        };
        if state != 1 {
            fake.set_state(state, 0);
        }
        let mut env = station_env(&csms, version, &link.to_string_lossy(), dir.path());
        for (key, value) in extra {
            env = env.set(key, value);
        }
        let daemon = spawn_daemon(&env.pairs());
        Rig {
            daemon,
            fake,
            csms,
            version,
            dir,
        }
    }

    fn link(&self) -> PathBuf {
        self.fake.link().to_owned()
    }

    /// Connector 1's statuses after event position `after`.
    fn statuses_after(&self, after: Option<usize>) -> Vec<String> {
        status_names_after(&self.csms, self.version, 1, after)
    }

    /// The next status of connector 1 after `after` is `expected`.
    fn next(&self, after: Option<usize>, expected: &str) -> (usize, Value) {
        next_status(&self.csms, self.version, 1, after, expected)
    }

    /// Connector 1 reports `expected` at some point.
    fn some(&self, expected: &str) -> (usize, Value) {
        some_status(&self.csms, self.version, 1, expected)
    }

    /// Let the station read a few more STAT lines (a step that must not show at the CSMS).
    fn settle(&self) {
        self.fake.wait_delivered_stats(3);
    }

    /// The common end of every daemon test: still alive, valid frames, SIGTERM -> exit 0, no
    /// secret anywhere.
    fn finish(mut self) {
        assert!(
            self.daemon.is_alive(),
            "the daemon is still running; stderr:\n{}",
            self.daemon.stderr()
        );
        self.csms.assert_no_validation_errors();
        let status = self.daemon.terminate();
        assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
    }
}

/// Poll `text` until it satisfies `check` (a log line appearing); panic with it otherwise.
fn wait_for_text(what: &str, text: impl Fn() -> String, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..(DEADLINE * 20) {
        let current = text();
        if check(&current) {
            return current;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} within {DEADLINE} s; got:\n{}", text());
}

// ---------------------------------------------------------------------------------------------
// A whole charging session
// ---------------------------------------------------------------------------------------------

fn full_session(version: Version) {
    let mut rig = Rig::start(version, true, 1, &[]);
    // Nothing from the controller yet: Unavailable (1.6: the station too), and a read-status.
    rig.fake.wait_host_open();
    rig.fake.wait_for(
        |e| e["event"] == "command" && e["bytes"] == "41002c0010",
        DEADLINE,
    );
    let (mut at, _) = rig.next(None, "Unavailable");
    if version == V16 {
        next_status(&rig.csms, version, 0, None, "Unavailable");
    }

    // The controller speaks: IDLE.
    rig.fake.speak();
    at = rig.next(Some(at), "Available").0;
    if version == V16 {
        some_status(&rig.csms, version, 0, "Available");
    }
    let mut shown = "Available";

    // IDLE -> CABLE_DETECT -> EV_CONNECTED -> READY -> CHARGING -> (noise) -> STOPPED -> IDLE.
    for step in [2, 3, 4, 5, 0xFF, 7, 1] {
        if step == 0xFF {
            rig.fake.noise();
            rig.settle();
            continue;
        }
        rig.fake.set_state(step, 0);
        let expected = version.status(step);
        if expected == shown {
            rig.settle();
        } else {
            at = rig.next(Some(at), expected).0;
            shown = expected;
        }
    }
    rig.settle();

    let expected: Vec<&str> = match version {
        V201 => vec!["Unavailable", "Available", "Occupied", "Available"],
        V16 => vec![
            "Unavailable",
            "Available",
            "Preparing",
            "Charging",
            "Finishing",
            "Available",
        ],
    };
    let all = rig.statuses_after(None);
    assert_eq!(
        all,
        expected,
        "connector 1 shows exactly the session, no duplicates, no extras:\n{}",
        dump(&rig.csms.events())
    );
    if version == V16 {
        assert_eq!(
            status_names_after(&rig.csms, version, 0, None),
            ["Unavailable", "Available"],
            "connector 0: Unavailable until the controller reports, then Available:\n{}",
            dump(&rig.csms.events())
        );
        for (_, payload) in statuses(&rig.csms, version, 1) {
            assert_eq!(payload["errorCode"], "NoError", "{payload}");
        }
    } else {
        assert!(
            rig.csms.calls("NotifyEvent").is_empty(),
            "a session without a fault raises no problem:\n{}",
            dump(&rig.csms.calls("NotifyEvent"))
        );
    }
    rig.finish();
}

#[test]
fn a_charging_session_on_201_is_available_occupied_available() {
    full_session(V201);
}

#[test]
fn a_charging_session_on_16_walks_preparing_charging_finishing() {
    full_session(V16);
}

// ---------------------------------------------------------------------------------------------
// Power-board faults
// ---------------------------------------------------------------------------------------------

fn power_board_faults(version: Version) {
    let mut rig = Rig::start(version, false, 5, &[]);
    let (charging_at, _) = rig.some(version.status(5));
    let mut at = charging_at;

    // Earth fault while charging.
    rig.fake.set_state(8, 2);
    let (faulted_at, payload) = rig.next(Some(at), "Faulted");
    at = faulted_at;
    match version {
        V16 => assert_eq!(payload["errorCode"], "GroundFailure", "{payload}"),
        V201 => assert_problem_raised(&nth_problem_event(&rig.csms, 1), "GroundFailure", &rig.csms),
    }
    // Recovering (the fault flag still up), then IDLE.
    rig.fake.set_state(0, 2);
    rig.settle();
    rig.fake.set_state(1, 0);
    let (available_at, payload) = rig.next(Some(at), "Available");
    at = available_at;
    match version {
        V16 => assert_eq!(payload["errorCode"], "NoError", "{payload}"),
        V201 => assert_problem_cleared(&nth_problem_event(&rig.csms, 2), &rig.csms),
    }

    // A phase fault from IDLE.
    rig.fake.set_state(8, 1);
    let (faulted_at, payload) = rig.next(Some(at), "Faulted");
    at = faulted_at;
    match version {
        V16 => {
            assert_eq!(payload["errorCode"], "OtherError", "{payload}");
            assert_eq!(payload["vendorErrorCode"], "PHASE_FAULT", "{payload}");
        }
        V201 => assert_problem_raised(&nth_problem_event(&rig.csms, 3), "PHASE_FAULT", &rig.csms),
    }
    rig.fake.set_state(1, 0);
    rig.next(Some(at), "Available");
    if version == V201 {
        assert_problem_cleared(&nth_problem_event(&rig.csms, 4), &rig.csms);
    }
    rig.settle();

    assert_eq!(
        rig.statuses_after(Some(charging_at)),
        ["Faulted", "Available", "Faulted", "Available"],
        "exactly one Faulted per fault and one Available per recovery:\n{}",
        dump(&rig.csms.events())
    );
    if version == V201 {
        assert_eq!(
            problem_events(&rig.csms).len(),
            4,
            "one NotifyEvent per fault and one per recovery:\n{}",
            dump(&rig.csms.calls("NotifyEvent"))
        );
    }
    rig.finish();
}

#[test]
fn an_earth_fault_and_a_phase_fault_on_201() {
    power_board_faults(V201);
}

#[test]
fn an_earth_fault_and_a_phase_fault_on_16() {
    power_board_faults(V16);
}

// ---------------------------------------------------------------------------------------------
// The adapter vanishing and coming back
// ---------------------------------------------------------------------------------------------

fn adapter_vanishes_and_returns(version: Version) {
    let mut rig = Rig::start(version, false, 5, &[]);
    let charging = version.status(5);
    let (charging_at, _) = rig.some(charging);
    let first_device = rig.fake.device().to_owned();
    rig.fake.wait_host_open();

    rig.fake.vanish();
    let (lost_at, payload) = rig.next(Some(charging_at), "Faulted");
    assert_link_lost(&rig.csms, version, &payload, 1);
    assert!(rig.daemon.is_alive(), "a lost port does not end the daemon");

    let device = rig.fake.come_back();
    assert_ne!(
        device, first_device,
        "the adapter comes back as another device"
    );
    // The station finds it again through the link.
    rig.fake.wait_host_open();
    let (back_at, _) = rig.next(Some(lost_at), charging);
    if version == V201 {
        assert_problem_cleared(&nth_problem_event(&rig.csms, 2), &rig.csms);
    }
    // And it reads the new device: the next change shows.
    rig.fake.set_state(1, 0);
    rig.next(Some(back_at), "Available");
    rig.settle();

    assert_eq!(
        rig.statuses_after(Some(charging_at)),
        ["Faulted", charging, "Available"],
        "{}",
        dump(&rig.csms.events())
    );
    let disconnected = rig
        .csms
        .events()
        .iter()
        .any(|e| e["event"] == "disconnected");
    assert!(
        !disconnected,
        "a lost controller does not cost the OCPP connection"
    );
    rig.finish();
}

#[test]
fn the_adapter_vanishing_and_coming_back_on_201() {
    adapter_vanishes_and_returns(V201);
}

#[test]
fn the_adapter_vanishing_and_coming_back_on_16() {
    adapter_vanishes_and_returns(V16);
}

// ---------------------------------------------------------------------------------------------
// A controller that stops talking
// ---------------------------------------------------------------------------------------------

fn stale_controller(version: Version) {
    let mut rig = Rig::start(version, false, 1, &[("ESP32_STALE_SECONDS", "2")]);
    let (available_at, _) = rig.some("Available");

    rig.fake.silence();
    let (lost_at, payload) = rig.next(Some(available_at), "Faulted");
    assert_link_lost(&rig.csms, version, &payload, 1);

    rig.fake.speak();
    rig.next(Some(lost_at), "Available");
    if version == V201 {
        assert_problem_cleared(&nth_problem_event(&rig.csms, 2), &rig.csms);
    }
    rig.settle();
    assert_eq!(
        rig.statuses_after(Some(available_at)),
        ["Faulted", "Available"],
        "{}",
        dump(&rig.csms.events())
    );
    rig.finish();
}

#[test]
fn a_silent_controller_is_link_lost_on_201() {
    stale_controller(V201);
}

#[test]
fn a_silent_controller_is_link_lost_on_16() {
    stale_controller(V16);
}

// ---------------------------------------------------------------------------------------------
// A change while a StatusNotification is on its way
// ---------------------------------------------------------------------------------------------

/// A cable plugged and pulled at once: CABLE_DETECT then IDLE, back to back, so that the second
/// status arrives while the first one's StatusNotification still waits for its answer. Whatever
/// the station shows in between, the CSMS must end up with the controller's real status.
fn change_during_a_status_in_flight(version: Version) {
    let mut rig = Rig::start(version, false, 1, &[]);
    let (available_at, _) = rig.some("Available");
    rig.settle();
    rig.fake.burst(&[2, 1]);
    // The station has read the burst and more (and sent whatever it sends for it).
    rig.settle();
    let what = "connector 1 showing the controller's real status (Available) again";
    rig.csms.wait_until(what, DEADLINE, |events| {
        events
            .iter()
            .skip(available_at + 1)
            .rfind(|e| is_status_for(version, e, 1))
            .is_none_or(|e| status_name(version, &e["payload"]) == "Available")
            .then_some(())
    });
    let shown = rig.statuses_after(Some(available_at));
    assert!(
        shown.is_empty() || shown == [version.status(2), "Available"],
        "nothing, or the short visit and the way back: {shown:?}"
    );
    rig.finish();
}

#[test]
fn a_change_while_a_status_is_in_flight_is_not_lost_on_201() {
    change_during_a_status_in_flight(V201);
}

#[test]
fn a_change_while_a_status_is_in_flight_is_not_lost_on_16() {
    change_during_a_status_in_flight(V16);
}

// ---------------------------------------------------------------------------------------------
// Field noise
// ---------------------------------------------------------------------------------------------

#[test]
fn a_status_glued_to_an_rfid_result_is_read() {
    // A long period: the only STAT lines are the answers to read-status and the one below.
    let dir = by_id_dir();
    let csms = Csms::start(csms_config());
    let link = dir.path().join(ADAPTER);
    let mut fake = FakeController::start(&link, 600.0);
    let env = station_env(&csms, V16, &link.to_string_lossy(), dir.path());
    let mut daemon = spawn_daemon(&env.pairs());
    let (available_at, _) = some_status(&csms, V16, 1, "Available");

    // Noise, then exactly one STAT carrying CABLE_DETECT, glued to `<CARDEXISTS=1;>`; then the
    // controller says nothing more (so the station cannot learn the state any other way).
    fake.send(json!({"state": 2, "noise": true, "stat_now": true, "silence": true}));
    assert!(
        fake.events()
            .iter()
            .any(|e| e["kind"] == "CARDEXISTS+STAT" && e["delivered"] == true),
        "the glued line reached the port:\n{}",
        dump(&fake.events())
    );
    let (_, payload) = csms.wait_until("the next status of connector 1", DEADLINE, |events| {
        events
            .iter()
            .enumerate()
            .skip(available_at + 1)
            .find(|(_, e)| is_status_for(V16, e, 1))
            .map(|(i, e)| (i, e["payload"].clone()))
    });
    assert_eq!(
        payload["status"], "Preparing",
        "the STAT glued to `<CARDEXISTS=1;>` (after a line of invalid UTF-8) is read: {payload}"
    );
    fake.speak();
    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// A busy port
// ---------------------------------------------------------------------------------------------

/// The second station on a port logs that it is busy, names it, and keeps running.
fn assert_port_busy(daemon: &Daemon, port: &Path) {
    let port = port.to_string_lossy().into_owned();
    wait_for_text(
        &format!("the station logging that {port} is busy"),
        || daemon.stderr(),
        |log| {
            log.lines().any(|line| {
                line.to_ascii_lowercase().contains("busy") && line.contains(port.as_str())
            })
        },
    );
}

fn second_station_on_the_same_port(version: Version) {
    let mut rig = Rig::start(version, false, 1, &[]);
    let (available_at, _) = rig.some("Available");
    rig.fake.wait_host_open();

    let other_csms = Csms::start(csms_config());
    let link = rig.link();
    let env = station_env(
        &other_csms,
        version,
        &link.to_string_lossy(),
        rig.dir.path(),
    )
    .set("ESP32_STALE_SECONDS", "3");
    let mut second = spawn_daemon(&env.pairs());
    let (_, payload) = some_status(&other_csms, version, 1, "Faulted");
    assert_link_lost(&other_csms, version, &payload, 1);
    assert_port_busy(&second, &link);

    // The first station still owns the port and reads whole frames.
    rig.fake.set_state(2, 0);
    rig.next(Some(available_at), version.status(2));
    rig.settle();
    let seen = status_names_after(&other_csms, version, 1, None);
    assert!(
        seen.iter().all(|s| s == "Unavailable" || s == "Faulted"),
        "the second station must not read a port another station holds (it reported {seen:?}); \
         note that TIOCEXCL does not stop root, the usual user of the station:\n{}",
        dump(&other_csms.events())
    );
    assert!(
        second.is_alive(),
        "a busy port does not end the daemon; stderr:\n{}",
        second.stderr()
    );
    other_csms.assert_no_validation_errors();
    let status = second.terminate();
    assert!(status.success(), "{status}");
    rig.finish();
}

#[test]
fn a_second_station_on_the_same_port_reports_it_busy_on_201() {
    second_station_on_the_same_port(V201);
}

#[test]
fn a_second_station_on_the_same_port_reports_it_busy_on_16() {
    second_station_on_the_same_port(V16);
}

#[test]
fn a_port_held_by_another_program_is_busy_until_released() {
    let dir = by_id_dir();
    let csms = Csms::start(csms_config());
    let link = dir.path().join(ADAPTER);
    let fake = FakeController::start(&link, PERIOD);
    let holder = PortHolder::hold(&link);
    assert_eq!(holder.holding["flock"], true, "{}", holder.holding);
    let env = station_env(&csms, V16, &link.to_string_lossy(), dir.path())
        .set("ESP32_STALE_SECONDS", "3");
    let mut daemon = spawn_daemon(&env.pairs());

    let (faulted_at, payload) = some_status(&csms, V16, 1, "Faulted");
    assert_link_lost_16(&payload);
    assert_port_busy(&daemon, &link);
    let seen = status_names_after(&csms, V16, 1, None);
    assert!(
        seen.iter().all(|s| s == "Unavailable" || s == "Faulted"),
        "the station must not read a port another program holds exclusively (it reported \
         {seen:?}); TIOCEXCL does not stop root, flock does:\n{}",
        dump(&csms.events())
    );

    // Released: the station's retries get the port.
    drop(holder);
    next_status(&csms, V16, 1, Some(faulted_at), "Available");
    assert!(daemon.is_alive());
    drop(fake);
    csms.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// `auto`
// ---------------------------------------------------------------------------------------------

#[test]
fn auto_finds_the_adapter_in_the_by_id_directory_and_follows_it() {
    let dir = by_id_dir();
    // Another USB device the station must not take.
    std::os::unix::fs::symlink(
        "/dev/null",
        dir.path()
            .join("usb-Prolific_Technology_Inc._USB-Serial_Controller-if00-port0"),
    )
    .unwrap();
    let csms = Csms::start(csms_config());
    let mut fake = FakeController::start(&dir.path().join(ADAPTER), PERIOD);
    let env = station_env(&csms, V16, "auto", dir.path());

    let run = run_once(&env.pairs(), &[]);
    assert_eq!(run.code, 0, "{}", run.context());
    validate_once_report(&run.report);
    let controller = &run.report["controller"];
    assert_eq!(controller["port"], "auto", "{}", run.context());
    assert_eq!(controller["device"], fake.device(), "{}", run.context());
    assert_eq!(controller["link_up"], true, "{}", run.context());
    assert_eq!(controller["state"], 1, "{}", run.context());
    csms.assert_no_validation_errors();

    let csms = Csms::start(csms_config());
    let env = station_env(&csms, V16, "auto", dir.path());
    let mut daemon = spawn_daemon(&env.pairs());
    let (available_at, _) = some_status(&csms, V16, 1, "Available");
    fake.vanish();
    let (lost_at, payload) = next_status(&csms, V16, 1, Some(available_at), "Faulted");
    assert_link_lost_16(&payload);
    fake.come_back();
    fake.wait_host_open();
    next_status(&csms, V16, 1, Some(lost_at), "Available");
    assert!(daemon.is_alive());
    csms.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// --once
// ---------------------------------------------------------------------------------------------

/// The StatusNotification the CSMS got for connector 1 in a --once run.
fn once_status(csms: &Csms, version: Version) -> Value {
    let found = statuses(csms, version, 1);
    assert_eq!(
        found.len(),
        1,
        "--once sends one StatusNotification for connector 1:\n{}",
        dump(&csms.events())
    );
    found[0].1.clone()
}

fn once_with_a_charging_controller(version: Version) {
    let dir = by_id_dir();
    let csms = Csms::start(csms_config());
    let link = dir.path().join(ADAPTER);
    let mut fake = FakeController::start(&link, PERIOD);
    fake.set_state(5, 0);
    let env = station_env(&csms, version, &link.to_string_lossy(), dir.path());
    let run = run_once(&env.pairs(), &[]);

    run.assert_one_json_line();
    assert_eq!(run.code, 0, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["subprotocol"], version.subprotocol());
    let payload = once_status(&csms, version);
    assert_eq!(
        status_name(version, &payload),
        version.status(5),
        "{payload}"
    );
    if version == V16 {
        assert_eq!(payload["errorCode"], "NoError", "{payload}");
    }
    let reported = run.report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["action"] == "StatusNotification" && m["connector_id"] == 1)
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        reported["connector_status"],
        version.status(5),
        "{}",
        run.context()
    );
    let controller = &run.report["controller"];
    assert_eq!(
        controller,
        &json!({
            "port": link.to_string_lossy(),
            "device": fake.device(),
            "link_up": true,
            "state": 5,
            "state_name": "CHARGING",
            "fault": null,
        }),
        "{}",
        run.context()
    );
    assert!(
        !fake.commands("READSTAT").is_empty(),
        "--once asks the controller for its state"
    );
    csms.assert_no_validation_errors();
}

#[test]
fn once_reports_a_charging_controller_on_201() {
    once_with_a_charging_controller(V201);
}

#[test]
fn once_reports_a_charging_controller_on_16() {
    once_with_a_charging_controller(V16);
}

fn once_with_a_missing_port(version: Version) {
    let dir = by_id_dir();
    let csms = Csms::start(csms_config());
    let port = dir.path().join(ADAPTER);
    let env = station_env(&csms, version, &port.to_string_lossy(), dir.path());
    let run = run_once(&env.pairs(), &[]);

    run.assert_one_json_line();
    assert_eq!(
        run.code,
        0,
        "the CSMS accepted: a missing controller is reported, not an error of the run\n{}",
        run.context()
    );
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "accepted", "{}", run.context());
    let payload = once_status(&csms, version);
    assert_eq!(status_name(version, &payload), "Faulted", "{payload}");
    if version == V16 {
        assert_link_lost_16(&payload);
    }
    let controller = &run.report["controller"];
    assert_eq!(
        controller["port"],
        port.to_string_lossy().as_ref(),
        "{}",
        run.context()
    );
    assert_eq!(controller["device"], Value::Null, "{}", run.context());
    assert_eq!(controller["link_up"], false, "{}", run.context());
    assert_eq!(controller["state"], Value::Null, "{}", run.context());
    assert_eq!(controller["state_name"], Value::Null, "{}", run.context());
    assert!(
        controller["fault"].as_str().is_some_and(|f| !f.is_empty()),
        "the report says why the link is down: {}",
        run.context()
    );
    csms.assert_no_validation_errors();
}

#[test]
fn once_with_a_port_that_does_not_exist_on_201() {
    once_with_a_missing_port(V201);
}

#[test]
fn once_with_a_port_that_does_not_exist_on_16() {
    once_with_a_missing_port(V16);
}

#[test]
fn once_with_a_controller_that_does_not_answer() {
    // The port opens, the firmware is hung: nothing vouches for the connector.
    let dir = by_id_dir();
    let csms = Csms::start(csms_config());
    let link = dir.path().join(ADAPTER);
    let fake = FakeController::start_silent(&link, PERIOD);
    let env = station_env(&csms, V16, &link.to_string_lossy(), dir.path());
    let run = run_once(&env.pairs(), &[]);

    run.assert_one_json_line();
    assert_eq!(run.code, 0, "{}", run.context());
    assert!(
        !fake.commands("READSTAT").is_empty(),
        "--once asks the controller for its state"
    );
    let payload = once_status(&csms, V16);
    assert_link_lost_16(&payload);
    let controller = &run.report["controller"];
    assert_eq!(
        controller["link_up"],
        false,
        "the connector went out as `link lost`: the report must not call the link up\n{}",
        run.context()
    );
    assert_eq!(controller["state"], Value::Null, "{}", run.context());
    assert!(
        controller["fault"].as_str().is_some_and(|f| !f.is_empty()),
        "the report says why the connector is Faulted: {}",
        run.context()
    );
    validate_once_report(&run.report);
    csms.assert_no_validation_errors();
}

#[test]
fn once_without_a_controller_reports_unavailable_and_no_controller() {
    let csms = Csms::start(csms_config());
    let run = run_once(&Env::for_csms(&csms).pairs(), &[]);
    assert_eq!(run.code, 0, "{}", run.context());
    validate_once_report(&run.report);
    assert!(
        run.report.get("controller").is_none_or(Value::is_null),
        "no controller configured: `controller` is null or absent\n{}",
        run.context()
    );
    let payload = once_status(&csms, V201);
    assert_eq!(payload["connectorStatus"], "Unavailable", "{payload}");
    csms.assert_no_validation_errors();
}

// ---------------------------------------------------------------------------------------------
// While the CSMS is away
// ---------------------------------------------------------------------------------------------

#[test]
fn controller_changes_while_offline_show_locally_and_reach_the_csms_when_it_returns() {
    let dir = by_id_dir();
    let mut csms = Csms::start(csms_config());
    let port = csms.port();
    let link = dir.path().join(ADAPTER);
    let mut fake = FakeController::start(&link, PERIOD);
    // Short reconnect waits: the CSMS is back within a few seconds.
    let env = station_env(&csms, V201, &link.to_string_lossy(), dir.path())
        .set("OCPP_RETRY_BACKOFF_REPEAT_TIMES", "1");
    let status_file = PathBuf::from(env.get("OCPP_RUNTIME_DIR").unwrap()).join("status.json");
    let mut daemon = spawn_daemon(&env.pairs());
    some_status(&csms, V201, 1, "Available");
    csms.stop();

    // More changes than any queue between the port and the protocol loop holds, ending in a
    // charging session.
    let mut states = [2u8, 1].repeat(12);
    states.extend([2, 3, 4, 5]);
    fake.burst(&states);
    let text = wait_for_text(
        "the status file shows the connector charging while offline",
        || std::fs::read_to_string(&status_file).unwrap_or_default(),
        |text| {
            serde_json::from_str::<Value>(text)
                .is_ok_and(|s| s["connectors"][0]["status"] == "Charging")
        },
    );
    let status: Value = serde_json::from_str(&text).unwrap();
    assert_ne!(status["link"]["state"], "online", "{status}");
    assert_eq!(status["controller"]["state_name"], "CHARGING", "{status}");

    // The CSMS returns on the same port and learns what it missed.
    let csms = Csms::start(csms_config_with(json!({ "port": port })));
    some_status(&csms, V201, 1, "Occupied");
    assert!(daemon.is_alive(), "{}", daemon.stderr());
    csms.assert_no_validation_errors();
    assert!(daemon.terminate().success());
}
