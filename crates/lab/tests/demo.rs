//! `ocpp-lab demo` and `ocpp-lab csms`, end to end, the latter also against the station binary.
//!
//! - The demo runs a whole session per version and its JSON view lines must show the connector
//!   statuses the session produces, in order, the fault's cause in words, and a Heartbeat, with
//!   every message valid against the official schemas. Without a terminal and without `--json`
//!   it prints an event log: one line per change, each verdict once, the same cause words for
//!   either version.
//! - The lab CSMS and the reference CSMS (tests/csms/csms.py on the Python `ocpp` package) must
//!   agree on what is valid: the same station passes both, and the same hand-made frames, valid
//!   and broken, get the same verdict from both.
//! - The lab CSMS answers hand-made transaction messages of either version with valid answers
//!   (a new 1.6 id for every start) and its JSON view shows each transaction: state, energy,
//!   duration, events, seqNo gaps, offline events, and the 1.6 messages that name an id it
//!   never gave.
//!
//! Deadlines are safety nets, never statements about speed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

#[path = "../../../tests/common/mod.rs"]
mod common;
#[path = "../../../tests/common/controller.rs"]
mod controller;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine as _;
use common::{Csms, DEADLINE, Env, STATION_NAME, TEST_PASSWORD, csms_config, dump, is_call};
use controller::FakeController;
use futures_util::{SinkExt as _, StreamExt as _};
use ocpp_lab::schemas::{PayloadKind, SchemaSet};
use ocpp_station::ocpp::OcppVersion;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Seconds per step of the demo's session: short, but several controller periods long.
const STEP_SECONDS: &str = "0.3";

/// The real clock, for deadlines only.
#[allow(
    clippy::disallowed_methods,
    reason = "the test waits on real processes (deadlines only)"
)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The Python `ocpp` package's directory, which holds `v16/schemas` and `v201/schemas`.
fn schema_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let output = Command::new(common::python())
            .args([
                "-c",
                "import ocpp, os; print(os.path.dirname(ocpp.__file__))",
            ])
            .output()
            .expect("python runs");
        assert!(output.status.success(), "python cannot import ocpp");
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        assert!(
            dir.join("v201").join("schemas").is_dir(),
            "{}",
            dir.display()
        );
        dir
    })
}

/// Kill a child that outlives its deadline; its status otherwise.
fn wait(child: &mut Child, what: &str, deadline: Duration) -> ExitStatus {
    let start = now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if start.elapsed() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {} s", deadline.as_secs());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------------------

/// Runs the demo for `version` with `extra` arguments, stdout a pipe; returns its exit code,
/// stdout lines and stderr.
fn run_demo_with(version: &str, extra: &[&str]) -> (i32, Vec<String>, String) {
    let schemas = schema_dir().to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocpp-lab"))
        .args([
            "demo",
            "--version",
            version,
            "--step-seconds",
            STEP_SECONDS,
            "--schemas",
            &schemas,
        ])
        .args(extra)
        .env_remove("OCPP_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lab binary starts");
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out = thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let status = wait(&mut child, "the demo", Duration::from_secs(120));
    (
        status.code().unwrap_or(-1),
        out.join().unwrap(),
        err.join().unwrap(),
    )
}

/// Runs the demo for one version with `--json`; returns its exit code and JSON lines.
fn run_demo(version: &str) -> (i32, Vec<Value>, String) {
    let (code, lines, stderr) = run_demo_with(version, &["--json"]);
    let lines = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line:?}"))
        })
        .collect();
    (code, lines, stderr)
}

/// The session connector (EVSE 1 connector 1, or 1.6 connector 1) in one view line.
fn session_connector(view: &Value) -> Option<&Value> {
    view["stations"]
        .as_array()?
        .iter()
        .find(|s| s["identity"] == "DEMO_AC_001")?["connectors"]
        .as_array()?
        .iter()
        .find(|c| c["connector"] == 1 && (c["evse"].is_null() || c["evse"] == 1))
}

/// The connector statuses the view lines showed, in order, without repeats in a row and
/// without the `Unavailable` the station reports before the controller has spoken.
fn statuses_shown(lines: &[Value]) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    for view in lines.iter().filter(|l| l["event"] == "view") {
        let Some(status) = session_connector(view).and_then(|c| c["status"].as_str()) else {
            continue;
        };
        if shown.last().map(String::as_str) != Some(status) {
            shown.push(status.to_owned());
        }
    }
    if shown.first().map(String::as_str) == Some("Unavailable") {
        shown.remove(0);
    }
    shown
}

/// Checks what every demo run must show, and returns the causes the view gave the connector.
fn check_demo(version: &str, expected: &[&str]) -> Vec<Value> {
    let (code, lines, stderr) = run_demo(version);
    let context = || {
        format!(
            "exit code {code}\nstderr:\n{stderr}\nlines:\n{}",
            dump(&lines)
        )
    };
    assert_eq!(code, 0, "the demo failed\n{}", context());
    assert_eq!(statuses_shown(&lines), expected, "{}", context());
    let views: Vec<&Value> = lines.iter().filter(|l| l["event"] == "view").collect();
    assert!(!views.is_empty(), "{}", context());
    for view in &views {
        for station in view["stations"].as_array().unwrap() {
            assert_eq!(
                station["validation_errors"]["count"],
                0,
                "a message failed validation\n{}",
                context()
            );
        }
    }
    assert!(
        lines.iter().all(|l| l["event"] != "invalid"),
        "{}",
        context()
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary", "{}", context());
    assert_eq!(summary["ok"], true, "{}", context());
    assert_eq!(summary["validated"], true, "{}", context());
    assert_eq!(summary["validation_errors"], 0, "{}", context());
    // The station registered with its boot data.
    let last = views.last().unwrap();
    let boot = &last["stations"][0]["boot"];
    assert_eq!(boot["status"], "Accepted", "{}", context());
    assert_eq!(boot["serial_number"], "DEMO-0001", "{}", context());
    // Every CALL was answered.
    let calls = lines
        .iter()
        .filter(|l| l["event"] == "message" && l["direction"] == "from_station")
        .count();
    let answers = lines
        .iter()
        .filter(|l| l["event"] == "message" && l["direction"] == "to_station")
        .count();
    assert_eq!(calls, answers, "{}", context());
    // All three messages a station exists to send.
    for action in ["BootNotification", "StatusNotification", "Heartbeat"] {
        assert!(
            lines.iter().any(|l| l["event"] == "message"
                && l["direction"] == "from_station"
                && l["action"] == action),
            "no {action} in the demo\n{}",
            context()
        );
    }
    assert!(
        summary["messages"]["by_action"]["Heartbeat"].as_u64() >= Some(1),
        "{}",
        context()
    );
    views
        .iter()
        .filter_map(|v| session_connector(v))
        .filter(|c| c["status"] == "Faulted" && !c["cause"].is_null())
        .map(|c| c["cause"].clone())
        .collect()
}

#[test]
fn the_201_demo_shows_occupied_then_the_earth_fault() {
    let causes = check_demo(
        "2.0.1",
        &["Available", "Occupied", "Available", "Faulted", "Available"],
    );
    // What happened, in the words 1.6 uses too (its info), from the NotifyEvent's techInfo.
    assert!(
        causes
            .iter()
            .any(|c| c["tech_code"] == "GroundFailure" && c["tech_info"] == "earth fault"),
        "the earth fault's techCode and techInfo never showed: {causes:?}"
    );
    assert!(
        causes
            .iter()
            .any(|c| c["tech_info"] == "recovering from a fault (HARDFAULT_END)"),
        "the recovery's techInfo never showed: {causes:?}"
    );
}

#[test]
fn the_16_demo_shows_every_session_phase_then_the_earth_fault() {
    let causes = check_demo(
        "1.6",
        &[
            "Available",
            "Preparing",
            "Charging",
            "SuspendedEV",
            "Charging",
            "Finishing",
            "Available",
            "Faulted",
            "Available",
        ],
    );
    assert!(
        causes
            .iter()
            .any(|c| c["error_code"] == "GroundFailure" && c["info"] == "earth fault"),
        "the earth fault's errorCode never showed: {causes:?}"
    );
}

#[test]
fn without_a_terminal_the_demo_prints_one_line_per_change_and_each_verdict_once() {
    let (code, lines, stderr) = run_demo_with("both", &[]);
    let text = lines.join("\n");
    let context = || format!("exit code {code}\nstderr:\n{stderr}\nstdout:\n{text}");
    assert_eq!(code, 0, "{}", context());
    // No screen redraws and no table: a log.
    assert!(!text.contains('\u{1b}'), "{}", context());
    assert!(!text.contains("STATION "), "{}", context());
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    for title in [
        "ocpp-lab demo, OCPP 2.0.1 (run 1 of 2)",
        "ocpp-lab demo, OCPP 1.6 (run 2 of 2)",
        "Demo, OCPP 2.0.1: OK",
        "Demo, OCPP 1.6: OK",
    ] {
        assert_eq!(count(title), 1, "{title:?}\n{}", context());
    }
    // Each run on its own: the 1.6 run starts at its title.
    let second = lines
        .iter()
        .position(|l| l.contains("ocpp-lab demo, OCPP 1.6"))
        .unwrap();
    let (v201, v16) = lines.split_at(second);
    for (version, run) in [("2.0.1", v201), ("1.6", v16)] {
        let has = |needle: &str| run.iter().any(|l| l.contains(needle));
        for expected in [
            "DEMO_AC_001 registration: Accepted",
            "DEMO_AC_001 Heartbeat",
            "Faulted, cause: GroundFailure (earth fault)",
            "cause: OtherError (recovering from a fault (HARDFAULT_END))",
            "Faulted > Available",
        ] {
            assert!(
                has(expected),
                "OCPP {version}: no {expected:?}\n{}",
                context()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The lab CSMS as a process
// ---------------------------------------------------------------------------------------------

type Events = Arc<(Mutex<Vec<Value>>, Condvar)>;

/// A running `ocpp-lab csms --json`.
struct Lab {
    child: Option<Child>,
    address: String,
    events: Events,
    reader: Option<JoinHandle<()>>,
}

impl Lab {
    fn start(extra: &[&str]) -> Lab {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ocpp-lab"))
            .args(["csms", "--json", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("OCPP_LOG")
            .env_remove("OCPP_LAB_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the station binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first: Value = lines
            .next()
            .and_then(Result::ok)
            .and_then(|l| serde_json::from_str(&l).ok())
            .unwrap_or(Value::Null);
        assert_eq!(first["event"], "listening", "{first}");
        let address = first["address"].as_str().unwrap().to_owned();
        let events: Events = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = events.clone();
        let reader = thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"event": "unparsable_line", "line": line}));
                let (list, changed) = &*sink;
                list.lock().unwrap_or_else(|e| e.into_inner()).push(event);
                changed.notify_all();
            }
        });
        Lab {
            child: Some(child),
            address,
            events,
            reader: Some(reader),
        }
    }

    fn events(&self) -> Vec<Value> {
        self.events
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits for the first event (after position `after`) matching `pred`; its position.
    fn wait_for(&self, after: usize, what: &str, pred: impl Fn(&Value) -> bool) -> usize {
        let deadline = now() + Duration::from_secs(DEADLINE);
        let (list, changed) = &*self.events;
        let mut events = list.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(at) = events.iter().skip(after).position(&pred) {
                return after + at;
            }
            let current = now();
            assert!(
                current < deadline,
                "the lab CSMS did not show {what}; events:\n{}",
                dump(&events)
            );
            events = changed
                .wait_timeout(events, deadline - current)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("stopped once");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = wait(&mut child, "the lab CSMS", Duration::from_secs(DEADLINE));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("--- lab CSMS events ---\n{}", dump(&self.events()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The same station against both CSMSs
// ---------------------------------------------------------------------------------------------

/// Statuses a session walk must produce at the CSMS, per version, after the first Available.
fn walk(version: &str) -> [(u8, u8, &'static str); 3] {
    match version {
        "1.6" => [(5, 0, "Charging"), (8, 2, "Faulted"), (1, 0, "Available")],
        _ => [(5, 0, "Occupied"), (8, 2, "Faulted"), (1, 0, "Available")],
    }
}

/// A CALL's connector status (either version's field).
fn status_of(payload: &Value) -> Option<&str> {
    payload["connectorStatus"]
        .as_str()
        .or_else(|| payload["status"].as_str())
}

/// The station, with the fake controller, against the reference CSMS: what it sent.
fn against_the_reference(version: &str, link: &Path) -> Vec<String> {
    let mut csms = Csms::start(csms_config());
    let mut fake = FakeController::start(link, 0.3);
    let route = if version == "1.6" {
        "/ocpp16"
    } else {
        "/ocpp201"
    };
    let env = Env::for_csms(&csms)
        .set("OCPP_PRIMARY", version)
        .set("OCPP_ALLOW_FALLBACK", "false")
        .set("ESP32_PORT", &link.to_string_lossy())
        .set("OCPP_201_URL", &csms.url(route))
        .set("OCPP_16_URL", &csms.url(route));
    let mut daemon = common::spawn_daemon(&env.pairs());
    let status_call = |status: &'static str| {
        move |e: &Value| {
            is_call(e)
                && e["action"] == "StatusNotification"
                && status_of(&e["payload"]) == Some(status)
        }
    };
    csms.wait_for(status_call("Available"), DEADLINE);
    for (state, pb, status) in walk(version) {
        // The newest event so far: the status to wait for comes after it (it may be the very
        // next one).
        let newest = csms.events().len().saturating_sub(1);
        fake.set_state(state, pb);
        csms.wait_for_after(newest, status, status_call(status));
    }
    // The fault's NotifyEvent (2.0.1) follows its StatusNotification.
    thread::sleep(Duration::from_millis(500));
    assert!(daemon.terminate().success());
    csms.stop();
    csms.assert_no_validation_errors();
    csms.all_calls()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The same station against the lab CSMS with the schemas: what it sent.
fn against_the_lab(version: &str, link: &Path) -> Vec<String> {
    let schemas = schema_dir().to_string_lossy().into_owned();
    let mut lab = Lab::start(&[
        "--schemas",
        &schemas,
        "--password",
        TEST_PASSWORD,
        "--versions",
        version,
        "--interval",
        "300",
    ]);
    let mut fake = FakeController::start(link, 0.3);
    let url = format!("ws://{}/ocpp", lab.address);
    let env = Env::for_port(0)
        .set("OCPP_PRIMARY", version)
        .set("OCPP_ALLOW_FALLBACK", "false")
        .set("ESP32_PORT", &link.to_string_lossy())
        .set("OCPP_201_URL", &url)
        .set("OCPP_16_URL", &url);
    let mut daemon = common::spawn_daemon(&env.pairs());
    let status_message = |status: &'static str| {
        move |e: &Value| {
            e["event"] == "message"
                && e["direction"] == "from_station"
                && e["action"] == "StatusNotification"
                && status_of(&e["payload"]) == Some(status)
        }
    };
    lab.wait_for(0, "Available", status_message("Available"));
    for (state, pb, status) in walk(version) {
        let index = lab.events().len();
        fake.set_state(state, pb);
        lab.wait_for(index, status, status_message(status));
    }
    thread::sleep(Duration::from_millis(500));
    assert!(daemon.terminate().success());
    assert!(lab.stop().success());
    let events = lab.events();
    let invalid: Vec<&Value> = events.iter().filter(|e| e["event"] == "invalid").collect();
    assert!(
        invalid.is_empty(),
        "the lab CSMS found problems: {invalid:?}"
    );
    let view = events
        .iter()
        .rev()
        .find(|e| e["event"] == "view")
        .expect("a view line");
    let station = &view["stations"][0];
    assert_eq!(station["identity"], STATION_NAME);
    assert_eq!(station["validation_errors"]["count"], 0);
    assert_eq!(station["boot"]["status"], "Accepted");
    events
        .iter()
        .filter(|e| e["event"] == "message" && e["direction"] == "from_station")
        .map(|e| e["action"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn both_csmss_accept_the_station(version: &str) {
    let dir = common::fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0");
    let mut reference = against_the_reference(version, &link);
    let mut lab = against_the_lab(version, &link);
    // The order around the boot depends on when the controller first speaks; what was sent
    // must be the same.
    reference.sort();
    reference.dedup();
    lab.sort();
    lab.dedup();
    assert_eq!(
        lab, reference,
        "OCPP {version}: the two CSMSs saw different messages"
    );
}

#[test]
fn a_201_station_is_valid_for_the_lab_and_the_reference_csms() {
    both_csmss_accept_the_station("2.0.1");
}

#[test]
fn a_16_station_is_valid_for_the_lab_and_the_reference_csms() {
    both_csmss_accept_the_station("1.6");
}

// ---------------------------------------------------------------------------------------------
// The same frames against both CSMSs
// ---------------------------------------------------------------------------------------------

/// `(action, payload, valid)`: frames a station might send, and whether they are valid OCPP.
fn cases(version: &str) -> Vec<(&'static str, Value, bool)> {
    let long = "x".repeat(21);
    match version {
        "1.6" => vec![
            (
                "BootNotification",
                json!({"chargePointVendor": "V", "chargePointModel": "M"}),
                true,
            ),
            (
                "BootNotification",
                json!({"chargePointVendor": long, "chargePointModel": "M"}),
                false,
            ),
            ("BootNotification", json!({"chargePointVendor": "V"}), false),
            (
                "BootNotification",
                json!({"chargePointVendor": "V", "chargePointModel": "M", "extra": 1}),
                false,
            ),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
                true,
            ),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Occupied"}),
                false,
            ),
            (
                "StatusNotification",
                json!({"connectorId": "1", "errorCode": "NoError", "status": "Available"}),
                false,
            ),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": null}),
                false,
            ),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Available",
                       "timestamp": "2026-01-01T00:00:00.123456789Z"}),
                false,
            ),
            ("Heartbeat", json!({}), true),
            (
                "MeterValues",
                json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
                       "sampledValue": [{"value": "1"}]}]}),
                true,
            ),
            ("NotifyEvent", json!({}), false),
            ("StartTransaction", start_16(json!({})), true),
            (
                "StartTransaction",
                start_16(json!({"idTag": "x".repeat(21)})),
                false,
            ),
            (
                "StartTransaction",
                start_16(json!({"meterStart": "1000"})),
                false,
            ),
            (
                "MeterValues",
                json!({"connectorId": 1, "transactionId": 7, "meterValue": [
                    {"timestamp": "2026-01-01T00:05:00.000Z", "sampledValue": [
                        {"value": "1500", "context": "Sample.Periodic",
                         "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}),
                true,
            ),
            (
                "MeterValues",
                json!({"connectorId": 1, "transactionId": 7, "meterValue": [
                    {"timestamp": "2026-01-01T00:05:00.000Z", "sampledValue": [{"value": 1500}]}]}),
                false,
            ),
            ("StopTransaction", stop_16(json!({})), true),
            (
                "StopTransaction",
                stop_16(json!({"reason": "Unplugged"})),
                false,
            ),
            (
                "StopTransaction",
                json!({"transactionId": 7, "timestamp": "2026-01-01T00:10:00.000Z"}),
                false,
            ),
        ],
        _ => vec![
            (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}),
                true,
            ),
            (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"model": long, "vendorName": "V"}}),
                false,
            ),
            (
                "BootNotification",
                json!({"reason": "Whatever", "chargingStation": {"model": "M", "vendorName": "V"}}),
                false,
            ),
            (
                "StatusNotification",
                json!({"timestamp": "2026-01-01T00:00:00.000Z", "connectorStatus": "Available",
                       "evseId": 1, "connectorId": 1}),
                true,
            ),
            (
                "StatusNotification",
                json!({"timestamp": "2026-01-01T00:00:00.000Z", "connectorStatus": "Charging",
                       "evseId": 1, "connectorId": 1}),
                false,
            ),
            (
                "StatusNotification",
                json!({"timestamp": "2026-01-01T00:00:00.000Z", "connectorStatus": "Available",
                       "connectorId": 1}),
                false,
            ),
            (
                "NotifyEvent",
                json!({"generatedAt": "2026-01-01T00:00:00.000Z", "seqNo": 0, "eventData": [{
                    "eventId": 1, "timestamp": "2026-01-01T00:00:00.000Z", "trigger": "Delta",
                    "actualValue": "true", "eventNotificationType": "HardWiredNotification",
                    "techCode": "GroundFailure",
                    "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                    "variable": {"name": "Problem"}}]}),
                true,
            ),
            (
                "SecurityEventNotification",
                json!({"type": "StartupOfTheDevice", "timestamp": "2026-01-01T01:00:00+01:00"}),
                false,
            ),
            ("Heartbeat", json!({"extra": null}), false),
            ("Heartbeat", json!({}), true),
            ("FooBar", json!({}), false),
            ("TransactionEvent", transaction_event(json!({})), true),
            (
                "TransactionEvent",
                transaction_event(json!({"eventType": "Ended", "offline": true, "seqNo": 3,
                    "triggerReason": "EVCommunicationLost",
                    "transactionInfo": {"transactionId": "tx-1", "stoppedReason": "EVDisconnected"}})),
                true,
            ),
            (
                "TransactionEvent",
                transaction_event(json!({"eventType": "Begun"})),
                false,
            ),
            (
                "TransactionEvent",
                transaction_event(json!({"transactionInfo": {"transactionId": "x".repeat(37)}})),
                false,
            ),
            (
                "TransactionEvent",
                transaction_event(json!({"transactionInfo": {"transactionId": "tx-1",
                    "stoppedReason": "Unplugged"}})),
                false,
            ),
            (
                "TransactionEvent",
                transaction_event(
                    json!({"meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z",
                    "sampledValue": [{"value": "1000"}]}]}),
                ),
                false,
            ),
            (
                "MeterValues",
                json!({"evseId": 0, "meterValue": [{"timestamp": "2026-01-01T00:15:00.000Z",
                    "sampledValue": [{"value": 1234.5, "context": "Sample.Clock"}]}]}),
                true,
            ),
        ],
    }
}

/// A hand-made station's connection.
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A runtime for a hand-made station.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects to `url` as the test station, speaking `version`, with the test password.
async fn dial(url: &str, version: &str) -> Ws {
    let subprotocol = if version == "1.6" {
        "ocpp1.6"
    } else {
        "ocpp2.0.1"
    };
    let mut request = format!("{url}/{STATION_NAME}")
        .into_client_request()
        .unwrap();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{STATION_NAME}:{TEST_PASSWORD}"));
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(subprotocol),
    );
    headers.insert(
        "Authorization",
        HeaderValue::from_str(&format!("Basic {credentials}")).unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Sends a CALL and returns its answer frame.
async fn call(ws: &mut Ws, id: &str, action: &str, payload: &Value) -> Value {
    let frame = json!([2, id, action, payload]).to_string();
    ws.send(Message::Text(frame.into())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(DEADLINE), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let answer: Value = serde_json::from_str(text.as_str()).unwrap();
                if answer[1] == id {
                    return answer;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no answer to {id}: {other:?}"),
        }
    }
}

/// `base` with `extra`'s top-level fields set (replaced, or removed when `null`).
fn with(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        match value {
            Value::Null => {
                base.as_object_mut().unwrap().remove(key);
            }
            value => base[key] = value.clone(),
        }
    }
    base
}

/// A valid 2.0.1 Started event of a locally authorized session, with `extra`.
fn transaction_event(extra: Value) -> Value {
    let started = json!({
        "eventType": "Started", "timestamp": "2026-01-01T00:00:00.000Z",
        "triggerReason": "CablePluggedIn", "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": "", "type": "NoAuthorization"},
        "meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z", "sampledValue": [
            {"value": 1000, "context": "Transaction.Begin",
             "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}]
    });
    with(started, extra)
}

/// A valid 1.6 StartTransaction, with `extra`.
fn start_16(extra: Value) -> Value {
    let start = json!({"connectorId": 1, "idTag": "LOCAL", "meterStart": 1000,
        "timestamp": "2026-01-01T00:00:00.000Z"});
    with(start, extra)
}

/// A valid 1.6 StopTransaction of transaction 7, with `extra`.
fn stop_16(extra: Value) -> Value {
    let stop = json!({"transactionId": 7, "idTag": "LOCAL", "meterStop": 2500,
        "timestamp": "2026-01-01T00:10:00.000Z", "reason": "EVDisconnected",
        "transactionData": [{"timestamp": "2026-01-01T00:10:00.000Z", "sampledValue": [
            {"value": "2500", "context": "Transaction.End",
             "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]});
    with(stop, extra)
}

/// Sends each case on one connection and returns, per case, whether the CSMS's events between
/// the frame's arrival and its answer hold a validation error.
fn verdicts(
    url: &str,
    version: &str,
    events: impl Fn() -> Vec<Value>,
    arrived: impl Fn(&Value, &str) -> bool,
    answered: impl Fn(&Value, &str) -> bool,
    is_error: impl Fn(&Value) -> bool,
) -> Vec<bool> {
    let cases = cases(version);
    client_runtime().block_on(async {
        let mut ws = dial(url, version).await;
        let mut verdicts = Vec::new();
        for (index, (action, payload, _)) in cases.iter().enumerate() {
            let id = format!("case-{index}");
            // The answer; the CSMS has judged the frame by then.
            call(&mut ws, &id, action, payload).await;
            // Its events are written before the answer's; wait until the answer's is read.
            let deadline = now() + Duration::from_secs(DEADLINE);
            let (start, end) = loop {
                let all = events();
                let start = all.iter().position(|e| arrived(e, &id));
                let end = all.iter().position(|e| answered(e, &id));
                if let (Some(start), Some(end)) = (start, end) {
                    break (start, end);
                }
                assert!(now() < deadline, "{id} never showed:\n{}", dump(&all));
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            verdicts.push(events()[start..end].iter().any(&is_error));
        }
        let _ = ws.close(None).await;
        verdicts
    })
}

fn both_csmss_agree_on_frames(version: &str) {
    let expected: Vec<bool> = cases(version).iter().map(|(_, _, valid)| !valid).collect();

    let mut csms = Csms::start(csms_config());
    let route = if version == "1.6" {
        "/ocpp16"
    } else {
        "/ocpp201"
    };
    let reference = verdicts(
        &csms.url(route),
        version,
        || csms.events(),
        |e, id| e["event"] == "recv" && e["unique_id"] == id,
        |e, id| e["event"] == "sent" && e["unique_id"] == id,
        |e| e["event"] == "validation_error",
    );
    csms.stop();

    let schemas = schema_dir().to_string_lossy().into_owned();
    let mut lab = Lab::start(&["--schemas", &schemas, "--password", TEST_PASSWORD]);
    let lab_verdicts = verdicts(
        &format!("ws://{}/ocpp", lab.address),
        version,
        || lab.events(),
        |e, id| e["event"] == "message" && e["direction"] == "from_station" && e["id"] == id,
        |e, id| e["event"] == "message" && e["direction"] == "to_station" && e["id"] == id,
        |e| e["event"] == "invalid",
    );
    assert!(lab.stop().success());

    let names: Vec<String> = cases(version)
        .iter()
        .map(|(action, payload, _)| format!("{action} {payload}"))
        .collect();
    assert_eq!(
        reference, expected,
        "the reference CSMS's verdicts (true = invalid) for {names:#?}"
    );
    assert_eq!(
        lab_verdicts, reference,
        "the lab CSMS disagrees with the reference (true = invalid) for {names:#?}"
    );
}

#[test]
fn both_csmss_agree_on_201_frames() {
    both_csmss_agree_on_frames("2.0.1");
}

#[test]
fn both_csmss_agree_on_16_frames() {
    both_csmss_agree_on_frames("1.6");
}

// ---------------------------------------------------------------------------------------------
// Transactions at the lab CSMS
// ---------------------------------------------------------------------------------------------

/// The official schemas, loaded by the lab's own loader: the answers are checked with them.
fn schema_set() -> &'static SchemaSet {
    static SET: OnceLock<SchemaSet> = OnceLock::new();
    SET.get_or_init(|| SchemaSet::load(schema_dir()).expect("the schemas load"))
}

/// Panics unless `answer` is a CALLRESULT whose payload is a valid `action` response.
fn assert_valid_result(version: OcppVersion, action: &str, answer: &Value) {
    assert_eq!(
        answer[0], 3,
        "{action} was not answered with a result: {answer}"
    );
    let problems = schema_set().check(version, PayloadKind::Response, action, &answer[2]);
    assert!(
        problems.is_empty(),
        "{action} answer {answer}: {problems:?}"
    );
}

/// `station`'s transactions (`recent`, `totals`, `unknown_ids`) in the newest view line.
fn transactions_shown<'a>(lines: &'a [Value], station: &str) -> &'a Value {
    lines
        .iter()
        .rev()
        .filter(|l| l["event"] == "view")
        .flat_map(|view| view["stations"].as_array().into_iter().flatten())
        .find(|s| s["identity"] == station)
        .map_or(&Value::Null, |s| &s["transactions"])
}

/// The energy (Wh) the view lines showed for `station`'s transaction `number`, in order,
/// without repeats in a row: a billed session's kWh read as a rising list.
fn energy_shown(lines: &[Value], station: &str, number: u64) -> Vec<f64> {
    let mut shown: Vec<f64> = Vec::new();
    for view in lines.iter().filter(|l| l["event"] == "view") {
        let energy = view["stations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["identity"] == station)
            .flat_map(|s| s["transactions"]["recent"].as_array().into_iter().flatten())
            .find(|t| t["number"] == number)
            .and_then(|t| t["energy_wh"].as_f64());
        if let Some(energy) = energy
            && shown.last() != Some(&energy)
        {
            shown.push(energy);
        }
    }
    shown
}

/// Waits until the view shows `station`'s transaction `number` ended.
fn wait_for_ended(lab: &Lab, number: u64) {
    lab.wait_for(0, "the transaction ended", |e| {
        e["event"] == "view"
            && e["stations"].as_array().into_iter().flatten().any(|s| {
                s["identity"] == STATION_NAME
                    && s["transactions"]["recent"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t["number"] == number && t["state"] == "ended")
            })
    });
}

#[test]
fn the_lab_answers_a_201_transaction_and_shows_its_energy_gaps_and_offline_events() {
    let schemas = schema_dir().to_string_lossy().into_owned();
    let mut lab = Lab::start(&["--schemas", &schemas, "--password", TEST_PASSWORD]);
    let url = format!("ws://{}/ocpp", lab.address);
    let register = |wh: u32, minute: u32| {
        json!([{"timestamp": format!("2026-01-01T00:{minute:02}:00.000Z"), "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Import.Register",
             "unitOfMeasure": {"unit": "Wh"}}]}])
    };
    let info = |extra: Value| with(json!({"transactionId": "tx-1"}), extra);
    let events = [
        transaction_event(json!({})),
        transaction_event(json!({"eventType": "Updated", "seqNo": 1,
            "timestamp": "2026-01-01T00:01:00.000Z", "triggerReason": "ChargingStateChanged",
            "transactionInfo": info(json!({"chargingState": "Charging"})),
            "evse": null, "idToken": null, "meterValue": register(1400, 1)})),
        // seqNo 2 never arrives.
        transaction_event(json!({"eventType": "Updated", "seqNo": 3, "offline": true,
            "timestamp": "2026-01-01T00:03:00.000Z", "triggerReason": "MeterValuePeriodic",
            "transactionInfo": info(json!({})), "evse": null, "idToken": null,
            "meterValue": register(1800, 3)})),
        transaction_event(json!({"eventType": "Ended", "seqNo": 4, "offline": true,
            "timestamp": "2026-01-01T00:04:00.000Z", "triggerReason": "EVCommunicationLost",
            "transactionInfo": info(json!({"chargingState": "Idle",
                "stoppedReason": "EVDisconnected"})),
            "evse": null, "idToken": null, "meterValue": register(2250, 4)})),
    ];
    let answers = client_runtime().block_on(async {
        let mut ws = dial(&url, "2.0.1").await;
        let mut answers = Vec::new();
        for (n, event) in events.iter().enumerate() {
            answers.push(call(&mut ws, &format!("t{n}"), "TransactionEvent", event).await);
        }
        let _ = ws.close(None).await;
        answers
    });
    for answer in &answers {
        assert_valid_result(OcppVersion::V201, "TransactionEvent", answer);
    }
    // The token's verdict when the event carries one, else nothing.
    assert_eq!(
        answers[0][2],
        json!({"idTokenInfo": {"status": "Accepted"}})
    );
    assert!(
        answers[1..].iter().all(|a| a[2] == json!({})),
        "{answers:?}"
    );

    wait_for_ended(&lab, 1);
    assert!(lab.stop().success());
    let lines = lab.events();
    assert!(
        lines.iter().all(|l| l["event"] != "invalid"),
        "{}",
        dump(&lines)
    );
    let shown = transactions_shown(&lines, STATION_NAME);
    let tx = &shown["recent"][0];
    let context = || dump(&lines);
    assert_eq!(tx["id"], "tx-1", "{}", context());
    assert_eq!((&tx["evse"], &tx["connector"]), (&json!(1), &json!(1)));
    assert_eq!(tx["state"], "ended");
    assert_eq!(tx["stopped_reason"], "EVDisconnected");
    assert_eq!(tx["energy_wh"], 1250.0);
    assert_eq!(tx["duration_seconds"], 240);
    assert_eq!(tx["events"], 4);
    assert_eq!(tx["seq_nos"]["gaps"], json!(["2"]));
    assert_eq!(tx["seq_nos"]["missing"], 1);
    assert_eq!(tx["offline_events"], 2);
    assert_eq!(
        shown["totals"],
        json!({"transactions": 1, "in_progress": 0, "ended": 1, "energy_wh": 1250.0,
               "with_seq_no_gaps": 1, "offline_events": 2, "unknown_id_messages": 0})
    );
    assert_eq!(
        energy_shown(&lines, STATION_NAME, 1),
        [0.0, 400.0, 800.0, 1250.0]
    );
}

#[test]
fn the_lab_gives_16_transaction_ids_and_shows_a_message_naming_one_it_never_gave() {
    let schemas = schema_dir().to_string_lossy().into_owned();
    let mut lab = Lab::start(&["--schemas", &schemas, "--password", TEST_PASSWORD]);
    let url = format!("ws://{}/ocpp", lab.address);
    let (first, second, answers) = client_runtime().block_on(async {
        let mut ws = dial(&url, "1.6").await;
        let mut answers = Vec::new();
        let start = call(&mut ws, "s1", "StartTransaction", &start_16(json!({}))).await;
        let id = start[2]["transactionId"].as_i64().expect("an integer id");
        answers.push(("StartTransaction", start));
        let meter = json!({"connectorId": 1, "transactionId": id, "meterValue": [
            {"timestamp": "2026-01-01T00:05:00.000Z", "sampledValue": [
                {"value": "1.6", "unit": "kWh", "context": "Sample.Periodic"}]}]});
        answers.push((
            "MeterValues",
            call(&mut ws, "m1", "MeterValues", &meter).await,
        ));
        // The local id of a session started offline, never replaced: the bug to show.
        let local = with(meter.clone(), json!({"transactionId": -1}));
        answers.push((
            "MeterValues",
            call(&mut ws, "m2", "MeterValues", &local).await,
        ));
        let stop = stop_16(json!({"transactionId": id, "transactionData": null}));
        answers.push((
            "StopTransaction",
            call(&mut ws, "p1", "StopTransaction", &stop).await,
        ));
        let again = call(&mut ws, "s2", "StartTransaction", &start_16(json!({}))).await;
        let second = again[2]["transactionId"].as_i64().expect("an integer id");
        answers.push(("StartTransaction", again));
        let untagged = stop_16(json!({"transactionId": second, "idTag": null}));
        answers.push((
            "StopTransaction",
            call(&mut ws, "p2", "StopTransaction", &untagged).await,
        ));
        let _ = ws.close(None).await;
        (id, second, answers)
    });
    for (action, answer) in &answers {
        assert_valid_result(OcppVersion::V16, action, answer);
    }
    assert_ne!(first, second, "the lab gave the same id twice");
    assert_eq!(answers[0].1[2]["idTagInfo"], json!({"status": "Accepted"}));
    assert_eq!(
        answers[3].1[2],
        json!({"idTagInfo": {"status": "Accepted"}})
    );
    assert_eq!(answers[5].1[2], json!({}));

    wait_for_ended(&lab, 2);
    assert!(lab.stop().success());
    let lines = lab.events();
    assert!(
        lines.iter().all(|l| l["event"] != "invalid"),
        "{}",
        dump(&lines)
    );
    let shown = transactions_shown(&lines, STATION_NAME);
    let tx = &shown["recent"][0];
    assert_eq!(tx["id"], first.to_string(), "{}", dump(&lines));
    assert_eq!(tx["connector"], 1);
    assert_eq!(tx["state"], "ended");
    assert_eq!(tx["stopped_reason"], "EVDisconnected");
    assert_eq!(tx["meter_start_wh"], 1000.0);
    assert_eq!(tx["energy_wh"], 1500.0);
    assert_eq!(tx["duration_seconds"], 600);
    assert_eq!(tx["events"], 3);
    assert!(tx.get("seq_nos").is_none(), "{tx}");
    assert_eq!(energy_shown(&lines, STATION_NAME, 1), [0.0, 600.0, 1500.0]);
    assert_eq!(
        shown["unknown_ids"],
        json!([{"at": shown["unknown_ids"][0]["at"], "action": "MeterValues",
                "transaction_id": -1, "allocated": false}])
    );
    assert_eq!(shown["totals"]["transactions"], 2);
    assert_eq!(shown["totals"]["ended"], 2);
    assert_eq!(shown["totals"]["unknown_id_messages"], 1);
}

// ---------------------------------------------------------------------------------------------
// The lab CSMS's door
// ---------------------------------------------------------------------------------------------

#[test]
fn the_lab_refuses_wrong_credentials_and_unknown_subprotocols() {
    let mut lab = Lab::start(&["--password", TEST_PASSWORD, "--versions", "1.6"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dial = |credentials: Option<&str>, subprotocol: &'static str| {
        let mut request = format!("ws://{}/any/prefix/{STATION_NAME}", lab.address)
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(subprotocol),
        );
        if let Some(credentials) = credentials {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            headers.insert(
                "Authorization",
                HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
            );
        }
        runtime.block_on(async {
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(other) => panic!("unexpected failure: {other}"),
            }
        })
    };
    let right = format!("{STATION_NAME}:{TEST_PASSWORD}");
    assert_eq!(dial(None, "ocpp1.6"), 401);
    assert_eq!(dial(Some(&format!("{STATION_NAME}:wrong")), "ocpp1.6"), 401);
    assert_eq!(dial(Some(&right), "ocpp2.0.1"), 400);
    assert_eq!(dial(Some(&right), "ocpp1.6"), 101);
    let refused = lab.wait_for(0, "a refusal", |e| e["event"] == "refused");
    assert_eq!(lab.events()[refused]["status"], 401);
    assert!(lab.stop().success());
    let text = lab
        .events()
        .iter()
        .map(Value::to_string)
        .collect::<String>();
    assert!(
        !text.contains(TEST_PASSWORD),
        "the lab printed the password"
    );
}

#[test]
fn the_lab_serves_wss_with_a_given_certificate() {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "lab test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let ca = write("ca.pem", ca_cert.pem());
    let cert = write("server.pem", cert.pem());
    let key = write("server.key", key.serialize_pem());

    let mut lab = Lab::start(&["--tls-cert", &cert, "--tls-key", &key, "--any-password"]);
    let port = lab.address.rsplit(':').next().unwrap().to_owned();
    let url = format!("wss://localhost:{port}/ocpp");
    let env = Env::for_port(0)
        .set("OCPP_201_URL", &url)
        .set("OCPP_16_URL", &url)
        .set("OCPP_CA_PATH", &ca);
    let run = common::run_once(&env.pairs(), &[]);
    assert_eq!(run.code, 0, "{}", run.context());
    assert_eq!(run.report["subprotocol"], "ocpp2.0.1", "{}", run.context());
    assert!(lab.stop().success());
    let events = lab.events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "connected" && e["station"] == STATION_NAME),
        "{}",
        dump(&events)
    );
}
