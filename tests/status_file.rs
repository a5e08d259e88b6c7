//! The status file against its published schema (`schemas/station-status.schema.json`): what
//! the station writes validates, as read from disk, with the real charge-controller view type
//! and a real measurement of this machine; and the schema refuses what the station never writes.
//! `ocpp-station status` against a running daemon: online, offline, stopped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use ocpp_station::esp32::port::ControllerSnapshot;
use ocpp_station::esp32::view::ControllerView;
use ocpp_station::metrics::{DiskUse, Health, Sample, Sampler, SamplerPaths, Throttled};
use ocpp_station::status_file::{
    self, ConnectorState, FILE_NAME, LinkState, LinkStatus, StationStatus,
};
use serde_json::{Value, json};

/// The schema's complaints about `value`; empty when it validates.
fn schema_errors(value: &Value) -> String {
    common::schema_errors("station-status.schema.json", value)
}

/// Writes `status` as the station does, validates the file as it is on disk and returns its JSON
/// and what reading it gives.
fn written_file_validates(status: &StationStatus) -> (Value, StationStatus) {
    let dir = tempfile::tempdir().unwrap();
    status_file::write(dir.path(), status).unwrap();
    let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let errors = schema_errors(&value);
    assert!(
        errors.is_empty(),
        "status.json does not match the schema:\n{errors}\n{text}"
    );
    (value, status_file::read(dir.path()).unwrap())
}

/// Like [`written_file_validates`], for a status that reads back unchanged.
fn assert_written_file_validates(status: &StationStatus) {
    let (_, read) = written_file_validates(status);
    assert_eq!(&read, status);
}

fn pi_sample() -> Sample {
    Sample {
        cpu_percent: 3.25,
        load_average: [0.31, 0.22, 0.18],
        memory_used_bytes: 402_653_184,
        memory_total_bytes: 3_980_394_496,
        soc_temp_c: Some(81.3),
        disk_root: DiskUse::from_space(31_000_000_000, 1_200_000_000),
        disk_state: DiskUse::from_space(31_000_000_000, 1_200_000_000),
        uptime_seconds: 1_234_567,
        throttled: Some(Throttled::from_raw(0x50005)),
        process_rss_bytes: Some(11_534_336),
    }
}

fn online() -> StationStatus {
    let controller = ControllerView {
        controller: ControllerSnapshot {
            port: "/dev/serial/by-id/usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0"
                .into(),
            device: Some("/dev/ttyUSB0".into()),
            link_up: true,
            state: Some(5),
            state_name: Some("CHARGING".into()),
        },
        fault: None,
    };
    StationStatus {
        format: status_file::FORMAT,
        pid: std::process::id(),
        station_name: common::STATION_NAME.into(),
        updated_utc: "2026-03-01T12:00:00.123Z".into(),
        link: LinkStatus {
            state: LinkState::Online,
            ocpp_version: Some("2.0.1".into()),
            endpoint: Some("wss://csms.example.com:8443/ocpp/TEST_ST_01".into()),
            since_utc: Some("2026-03-01T08:00:00Z".into()),
        },
        registration: Some("Accepted".into()),
        last_heartbeat_utc: Some("2026-03-01T11:59:00.000Z".into()),
        missed_heartbeats: 1,
        connectors: vec![
            ConnectorState {
                connector: 1,
                status: "Faulted".into(),
                cause: Some("SoC too hot".into()),
            },
            ConnectorState {
                connector: 2,
                status: "Available".into(),
                cause: None,
            },
        ],
        controller: Some(serde_json::to_value(controller).unwrap()),
        health: Health {
            too_hot: true,
            under_voltage: true,
            disk_nearly_full: true,
        },
        metrics: Some(pi_sample()),
    }
}

fn just_started() -> StationStatus {
    StationStatus {
        format: status_file::FORMAT,
        pid: 1,
        station_name: common::STATION_NAME.into(),
        updated_utc: "2026-03-01T12:00:00Z".into(),
        link: LinkStatus {
            state: LinkState::Connecting,
            ocpp_version: None,
            endpoint: None,
            since_utc: None,
        },
        registration: None,
        last_heartbeat_utc: None,
        missed_heartbeats: 0,
        connectors: vec![ConnectorState {
            connector: 1,
            status: "Unavailable".into(),
            cause: None,
        }],
        controller: None,
        health: Health::default(),
        metrics: None,
    }
}

#[test]
fn a_full_status_validates() {
    assert_written_file_validates(&online());
}

#[test]
fn an_endpoint_with_credentials_is_written_without_them_and_validates() {
    let mut status = online();
    status.link.endpoint =
        Some("wss://station:pw@csms.example.com:8443/ocpp/TEST_ST_01?token=x".into());
    let (value, read) = written_file_validates(&status);
    assert_eq!(
        value["link"]["endpoint"],
        "wss://csms.example.com:8443/ocpp/TEST_ST_01"
    );
    assert_eq!(read, online());
}

#[test]
fn a_status_with_nothing_known_yet_validates() {
    assert_written_file_validates(&just_started());
}

#[test]
fn a_real_measurement_of_this_machine_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut sampler = Sampler::new(SamplerPaths::system(dir.path().to_path_buf()));
    let mut status = just_started();
    status.link.state = LinkState::Offline;
    status.metrics = Some(sampler.sample());
    assert_written_file_validates(&status);
    // A second sample measures the CPU over the time between the two.
    status.metrics = Some(sampler.sample());
    assert_written_file_validates(&status);
}

#[test]
fn a_controller_whose_link_is_down_validates() {
    let mut status = online();
    status.controller = Some(
        serde_json::to_value(ControllerView {
            controller: ControllerSnapshot {
                port: "auto".into(),
                ..ControllerSnapshot::default()
            },
            fault: Some("no status frame for 20 s".into()),
        })
        .unwrap(),
    );
    assert_written_file_validates(&status);
}

/// A change to a valid status that makes it something the station never writes.
type Mutation = fn(&mut Value);

#[test]
fn the_schema_refuses_what_the_station_never_writes() {
    let good = serde_json::to_value(online()).unwrap();
    assert_eq!(schema_errors(&good), "");
    let mutations: &[(&str, Mutation)] = &[
        ("format", |v| v["format"] = json!(2)),
        ("link/state", |v| v["link"]["state"] = json!("Online")),
        ("link/endpoint", |v| {
            v["link"]["endpoint"] = json!("wss://u:p@h/ocpp/X")
        }),
        ("link/endpoint", |v| {
            v["link"]["endpoint"] = json!("wss://h/ocpp/X?token=t")
        }),
        ("updated_utc", |v| {
            v["updated_utc"] = json!("2026-03-01 12:00:00")
        }),
        ("registration", |v| v["registration"] = json!("accepted")),
        ("metrics", |v| v["metrics"]["soc_temp_c"] = Value::Null),
        ("metrics", |v| {
            v["metrics"]["load_average"] = json!([1.0, 2.0])
        }),
        ("metrics", |v| v["metrics"]["throttled"] = json!(327_685)),
        ("health", |v| {
            v["health"].as_object_mut().unwrap().remove("too_hot");
        }),
        ("", |v| {
            v.as_object_mut().unwrap().remove("metrics");
        }),
        ("", |v| v["password"] = json!("x")),
        ("pid", |v| v["pid"] = json!(0)),
    ];
    // The validator names the innermost object it could check: for a value inside a
    // `oneOf` (the metrics, a nullable endpoint), that is the `oneOf` itself.
    for (path, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        let errors = schema_errors(&bad);
        assert!(
            errors.starts_with(&format!("/{path}")),
            "the schema should refuse /{path}: {errors:?}\n{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `ocpp-station status` against a running daemon
// ---------------------------------------------------------------------------------------------

/// `ocpp-station status` (with `--json` when asked) for the runtime directory `dir`: exit code
/// and stdout.
fn status_command(dir: &str, json: bool) -> (i32, String) {
    let args: &[&str] = if json {
        &["status", "--json"]
    } else {
        &["status"]
    };
    let output = common::station_command(&[("OCPP_RUNTIME_DIR", dir)], args)
        .output()
        .expect("ocpp-station status runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    common::assert_no_secret(&stdout);
    common::assert_no_secret(&String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), stdout)
}

/// Asks `status --json` until it exits with `code` (the daemon rewrites the file on every
/// change); returns the status it printed, validated against the schema.
fn status_once_it_says(dir: &str, code: i32) -> Value {
    let mut last = (0, String::new());
    for _ in 0..common::DEADLINE * 5 {
        last = status_command(dir, true);
        if last.0 == code {
            let status: Value = serde_json::from_str(last.1.trim()).unwrap_or_else(|error| {
                panic!("status --json printed no JSON ({error}): {}", last.1)
            });
            assert_eq!(schema_errors(&status), "", "{status}");
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("status never exited {code}; last: {last:?}");
}

#[test]
fn status_of_a_running_daemon_online_then_offline_then_stopped() {
    let mut csms = common::Csms::start(common::csms_config());
    let env = common::Env::for_csms(&csms);
    let dir = env.get("OCPP_RUNTIME_DIR").unwrap().to_owned();
    let mut daemon = common::spawn_daemon(&env.pairs());
    csms.wait_for(
        |e| common::is_call(e) && e["action"] == "StatusNotification",
        common::DEADLINE,
    );

    let online = status_once_it_says(&dir, 0);
    assert_eq!(online["station_name"], common::STATION_NAME);
    assert_eq!(online["link"]["state"], "online");
    assert_eq!(online["link"]["ocpp_version"], "2.0.1");
    assert_eq!(online["registration"], "Accepted");
    assert_eq!(online["connectors"][0]["connector"], 1);
    let (code, table) = status_command(&dir, false);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains(common::STATION_NAME), "{table}");
    assert!(table.contains("online"), "{table}");

    // The CSMS goes away: the daemon keeps running and says it is not online.
    csms.stop();
    let offline = status_once_it_says(&dir, 1);
    assert_ne!(offline["link"]["state"], "online", "{offline}");
    let (code, table) = status_command(&dir, false);
    assert_eq!(code, 1, "{table}");

    // Stopped: nothing runs.
    assert!(daemon.is_alive());
    daemon.terminate();
    let (code, out) = status_command(&dir, true);
    assert_eq!((code, out.as_str()), (3, ""), "stdout holds only a status");
    let (code, _) = status_command(&dir, false);
    assert_eq!(code, 3);
}

#[test]
fn a_runtime_directory_that_cannot_be_written_stops_nothing() {
    let csms = common::Csms::start(common::csms_config());
    // A directory cannot be made below a regular file: every write of the status file fails.
    let scratch = common::fresh_state_dir();
    std::fs::create_dir_all(&scratch).unwrap();
    let blocker = scratch.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let runtime = blocker.join("ocpp-station");
    let env = common::Env::for_csms(&csms)
        .set("OCPP_RUNTIME_DIR", runtime.to_str().unwrap())
        .set("OCPP_HEARTBEAT_SECONDS", "1");
    let mut daemon = common::spawn_daemon(&env.pairs());
    csms.wait_for(
        |e| common::is_call(e) && e["action"] == "StatusNotification",
        common::DEADLINE,
    );
    // Several steps later, each with a status it could not write, the station still talks.
    csms.wait_until("three Heartbeats", common::DEADLINE, |events| {
        let heartbeats = events
            .iter()
            .filter(|e| common::is_call(e) && e["action"] == "Heartbeat")
            .count();
        (heartbeats >= 3).then_some(())
    });
    assert!(daemon.is_alive(), "{}", daemon.stderr());
    assert!(daemon.terminate().success());
    let log = daemon.stderr();
    assert_eq!(
        log.matches("cannot write the status file").count(),
        1,
        "the failure is told once: {log}"
    );
    assert!(!runtime.exists());
    csms.assert_no_validation_errors();
}
