//! `ocpp-station check-config` as a technician runs it: the summary and its warnings on stdout
//! (each warning once, not repeated in the log on stderr), configuration errors on stderr with
//! exit code 2, naming the variable and, for a misspelled name, the one it most likely means.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use common::{Env, TEST_PASSWORD, station_command};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check_config(env: &Env) -> Output {
    let output = station_command(&env.pairs(), &["check-config"])
        .output()
        .unwrap();
    let out = Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(TEST_PASSWORD), "{text}");
    }
    out
}

#[test]
fn each_warning_is_printed_once_on_stdout() {
    // ws:// with a password, and a misspelled optional variable: two warnings.
    let env = Env::for_port(9).set("OCPP_HEARTBEAT_SECOND", "60");
    let out = check_config(&env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for warning in [
        "warning: OCPP_201_URL uses ws://",
        "warning: OCPP_16_URL uses ws://",
        "warning: OCPP_HEARTBEAT_SECOND (in the environment) is not a variable ocpp-station \
         reads and is ignored: did you mean OCPP_HEARTBEAT_SECONDS?",
    ] {
        assert_eq!(
            out.stdout.matches(warning).count(),
            1,
            "{warning}\n{}",
            out.stdout
        );
    }
    assert!(!out.stderr.contains("uses ws://"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("OCPP_HEARTBEAT_SECOND"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_misspelled_required_variable_is_named_in_the_error() {
    let name = Env::for_port(9)
        .unset("OCPP_STATION_NAME")
        .set("OCPP_STATON_NAME", "ORGE_AC_001");
    let password = Env::for_port(9)
        .unset("OCPP_STATION_PASSWORD")
        .set("OCPP_STATION_PASSWRD", TEST_PASSWORD);
    for (env, hint) in [
        (
            name,
            "(OCPP_STATON_NAME is set: did you mean OCPP_STATION_NAME?)",
        ),
        (
            password,
            "(OCPP_STATION_PASSWRD is set: did you mean OCPP_STATION_PASSWORD?)",
        ),
    ] {
        let out = check_config(&env);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(hint), "{hint}\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

#[test]
fn the_controller_settings_are_checked_without_a_port() {
    let out = check_config(&Env::for_port(9).set("ESP32_BAUDRATE", "115201"));
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("ESP32_BAUDRATE='115201'"),
        "{}",
        out.stderr
    );
}
