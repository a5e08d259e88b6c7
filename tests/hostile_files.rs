//! Whatever sits at a path the station reads (a FIFO, a directory, a device, a huge sparse
//! file), the station never waits on it and never reads it without bound: the env file is a
//! configuration error (`--once` still prints its JSON line), state.json is set aside for the
//! defaults while the daemon dials and stops on SIGTERM, `ocpp-station status` answers "not
//! running", and a TLS file is a configuration error. The real binary, against the test CSMS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/remote.rs"]
mod remote;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use common::{
    Csms, DEADLINE, Env, OnceRun, csms_config, csms_config_with, fresh_state_dir, is_call,
    run_once, run_station, spawn_daemon, validate_once_report,
};
use nix::sys::stat::Mode;
use remote::Remote;
use serde_json::json;

/// A thing that is not a usable file, and what the station must call it.
struct Hostile {
    path: PathBuf,
    called: &'static str,
}

/// A FIFO, a directory, /dev/zero (by a symbolic link) and a 1 TiB sparse file, all named
/// `name` in directories of their own under `root`.
fn hostile_files(root: &Path, name: &str) -> Vec<Hostile> {
    let place = |kind: &str| {
        let dir = root.join(kind);
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    };
    let fifo = place("fifo");
    nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
    let directory = place("directory");
    fs::create_dir(&directory).unwrap();
    let device = place("device");
    std::os::unix::fs::symlink("/dev/zero", &device).unwrap();
    let sparse = place("sparse");
    File::create(&sparse).unwrap().set_len(1 << 40).unwrap();
    vec![
        Hostile {
            path: fifo,
            called: "a FIFO (named pipe), not a regular file",
        },
        Hostile {
            path: directory,
            called: "a directory, not a regular file",
        },
        Hostile {
            path: device,
            called: "a character device, not a regular file",
        },
        Hostile {
            path: sparse,
            called: "larger than",
        },
    ]
}

fn scratch() -> PathBuf {
    let dir = fresh_state_dir();
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_config_error(run: &OnceRun, expected: &str) {
    run.assert_one_json_line();
    assert_eq!(run.code, 2, "{}", run.context());
    assert_eq!(run.report["result"], "config_error", "{}", run.context());
    let error = run.report["error"].as_str().unwrap_or_default();
    assert!(error.contains(expected), "{expected}: {}", run.context());
    validate_once_report(&run.report);
}

#[test]
fn an_env_file_that_is_not_a_regular_file_is_a_configuration_error() {
    let root = scratch();
    let env = [("OCPP_STATION_NAME", "TEST_ST_01")];
    for hostile in hostile_files(&root, "station.env") {
        let path = hostile.path.to_str().unwrap();
        // --once: its one JSON line, naming the file and what it is.
        let run = run_once(&env, &["--env-file", path, "--timeout", "5"]);
        assert_config_error(&run, hostile.called);
        assert!(run.report["error"].as_str().unwrap().contains(path));
        // The daemon and `status` stop with the same sentence instead of waiting.
        for args in [vec!["--env-file", path], vec!["--env-file", path, "status"]] {
            let run = run_station(&env, &args);
            assert_eq!(run.code, 2, "{args:?}: {}", run.context());
            assert!(
                run.stderr.contains(hostile.called),
                "{args:?}: {}",
                run.context()
            );
        }
    }
}

#[test]
fn a_state_file_that_is_not_a_regular_file_gives_defaults_and_the_daemon_runs() {
    let csms = Csms::start(csms_config_with(json!({"control": true})));
    let state = fresh_state_dir();
    fs::create_dir_all(&state).unwrap();
    let state_file = state.join("state.json");
    nix::unistd::mkfifo(&state_file, Mode::S_IRWXU).unwrap();
    let env = Env::for_csms(&csms).set("OCPP_STATE_DIR", state.to_str().unwrap());
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    // It dials and registers as a station the CSMS never configured.
    csms.wait_for(
        |e| is_call(e) && e["action"] == "SecurityEventNotification",
        DEADLINE,
    );
    assert!(
        daemon
            .stderr()
            .contains("a FIFO (named pipe), not a regular file"),
        "the log says why the saved state was not used:\n{}",
        daemon.stderr()
    );
    // A change from the CSMS is saved: the atomic write renames a regular file over the FIFO.
    let answer = remote.call(
        "SetVariables",
        json!({"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "120"
        }]}),
    );
    assert_eq!(
        answer.payload()["setVariableResult"][0]["attributeStatus"],
        "Accepted"
    );
    // The station saves after it answered: look at the file until it is there (a safety net
    // of DEADLINE seconds, not a statement about speed).
    let rewritten = (0..DEADLINE * 20).any(|_| {
        let is_file = fs::symlink_metadata(&state_file).is_ok_and(|m| m.file_type().is_file());
        if !is_file {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        is_file
    });
    assert!(rewritten, "state.json was not saved:\n{}", daemon.stderr());
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state_file).unwrap()).unwrap();
    assert_eq!(
        saved["overrides"]["OCPPCommCtrlr/HeartbeatInterval"], "120",
        "{saved}"
    );
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
    csms.assert_no_validation_errors();
}

#[test]
fn once_with_a_state_file_that_is_not_a_regular_file_still_registers() {
    let csms = Csms::start(csms_config());
    let root = scratch();
    for hostile in hostile_files(&root, "state.json") {
        let state = hostile.path.parent().unwrap();
        let env = Env::for_csms(&csms).set("OCPP_STATE_DIR", state.to_str().unwrap());
        let run = run_once(&env.pairs(), &[]);
        run.assert_one_json_line();
        assert_eq!(run.code, 0, "{}", run.context());
        assert!(run.stderr.contains(hostile.called), "{}", run.context());
        validate_once_report(&run.report);
    }
}

#[test]
fn status_with_a_status_file_that_is_not_a_regular_file_is_not_running() {
    let root = scratch();
    for hostile in hostile_files(&root, "status.json") {
        let runtime = hostile.path.parent().unwrap().to_str().unwrap();
        let env = [("OCPP_RUNTIME_DIR", runtime)];
        let run = run_station(&env, &["status"]);
        assert_eq!(run.code, 3, "{}", run.context());
        assert!(
            run.stdout.starts_with("ocpp-station is not running")
                && run.stdout.contains(hostile.called),
            "{}",
            run.context()
        );
        // --json keeps stdout for statuses only.
        let run = run_station(&env, &["status", "--json"]);
        assert_eq!(run.code, 3, "{}", run.context());
        assert_eq!(run.stdout, "", "{}", run.context());
        assert!(run.stderr.contains(hostile.called), "{}", run.context());
    }
}

#[test]
fn tls_files_that_are_not_regular_files_are_configuration_errors() {
    let root = scratch();
    let base = Env::for_port(9)
        .set("OCPP_201_URL", "wss://127.0.0.1:9/ocpp201")
        .unset("OCPP_16_URL");
    for hostile in hostile_files(&root, "ca.pem") {
        let path = hostile.path.to_str().unwrap();
        // The sparse file is a regular file: it is refused when read, at the first dial.
        if hostile.called == "larger than" {
            continue;
        }
        let env = base.clone().set("OCPP_CA_PATH", path);
        assert_config_error(&run_once(&env.pairs(), &[]), "OCPP_CA_PATH");
        let env = base
            .clone()
            .set("OCPP_AUTH_TYPE", "mtls")
            .set("OCPP_MTLS_CERT_PATH", path)
            .set("OCPP_MTLS_KEY_PATH", path);
        assert_config_error(&run_once(&env.pairs(), &[]), "OCPP_MTLS_CERT_PATH");
        let run = run_station(&env.pairs(), &[]);
        assert_eq!(run.code, 2, "{}", run.context());
    }
    // A CA bundle that is a regular file but far too large is refused when the TLS
    // configuration is built, still before any dial, with the file named.
    let sparse = root.join("sparse").join("ca.pem");
    let env = base.set("OCPP_CA_PATH", sparse.to_str().unwrap());
    let run = run_once(&env.pairs(), &[]);
    assert_config_error(&run, "larger than");
}
