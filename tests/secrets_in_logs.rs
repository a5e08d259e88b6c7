//! A password the CSMS sets never reaches the station's log: not at the most detailed levels an
//! operator can ask for (`OCPP_LOG=trace`, `OCPP_LOG=ocpp_station=trace`), in neither log
//! format, whichever spelling of the variable or key the CSMS uses among those the station
//! accepts, and in none of its forms (clear, hex dump, base64 in an Authorization header).
//!
//! The daemon tests run the real binary against the test CSMS; the property test runs the
//! station core against generated frames and checks that `rpc::loggable` withholds every frame
//! the station takes a password from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the station core is handed a real start instant, as the shell would"
)]

mod common;
#[path = "common/registered_station.rs"]
mod registered_station;
#[path = "common/remote.rs"]
mod remote;

use std::sync::Arc;

use common::{
    Csms, DEADLINE, Env, assert_no_password, csms_config_with, hex, password_forms, spawn_daemon,
};
use ocpp_station::clock::SystemClock;
use ocpp_station::device_model;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::rpc;
use ocpp_station::station::Event;
use registered_station::registered_station;
use remote::Remote;
use serde_json::{Value, json};

/// One way the CSMS sets a new password.
struct NewPassword {
    action: &'static str,
    /// The payload as JSON text, written as the CSMS sends it.
    payload: String,
    /// The password the station uses from then on.
    password: String,
}

/// The spellings of BasicAuthPassword the station accepts: any ASCII case, and JSON escapes
/// (names are matched decoded).
const VARIABLE_SPELLINGS: &[&str] = &[
    "BasicAuthPassword",
    "basicauthpassword",
    "BASICAUTHPASSWORD",
    "bAsIcAuThPaSsWoRd",
    "\\u0042asic\\u0041uth\\u0050assword",
];

/// The spellings of AuthorizationKey the station accepts: any ASCII case, surrounding blanks,
/// and JSON escapes.
const KEY_SPELLINGS: &[&str] = &[
    "AuthorizationKey",
    "authorizationkey",
    "AUTHORIZATIONKEY",
    " AuthorizationKey\\t",
    "\\u0041uthorization\\u004bey",
];

/// Every change the CSMS makes in `version`, each with a password of its own.
fn new_passwords(version: OcppVersion) -> Vec<NewPassword> {
    match version {
        OcppVersion::V201 => VARIABLE_SPELLINGS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let password = format!("n3w-201-spelling-{i}-Qz7kW");
                let component = if i % 2 == 0 {
                    "SecurityCtrlr"
                } else {
                    "securityctrlr"
                };
                NewPassword {
                    action: "SetVariables",
                    payload: format!(
                        r#"{{"setVariableData":[{{"attributeValue":"{password}","component":{{"name":"{component}"}},"variable":{{"name":"{name}"}}}}]}}"#
                    ),
                    password,
                }
            })
            .collect(),
        OcppVersion::V16 => {
            let mut changes: Vec<NewPassword> = KEY_SPELLINGS
                .iter()
                .enumerate()
                .map(|(i, key)| {
                    let password = format!("n3w-16-spelling-{i}-Qz7kW");
                    NewPassword {
                        action: "ChangeConfiguration",
                        payload: format!(r#"{{"key":"{key}","value":"{password}"}}"#),
                        password,
                    }
                })
                .collect();
            // As the 1.6 security whitepaper sends it: hex, which the station decodes.
            let password = "n3w-16-hex-Qz7kW3".to_owned();
            changes.push(NewPassword {
                action: "ChangeConfiguration",
                payload: format!(
                    r#"{{"key":"AuthorizationKey","value":"{}"}}"#,
                    hex(password.as_bytes())
                ),
                password,
            });
            changes
        }
    }
}

fn primary(version: OcppVersion) -> &'static str {
    match version {
        OcppVersion::V201 => "2.0.1",
        OcppVersion::V16 => "1.6",
    }
}

/// The CSMS sets every new password of `version` in turn (requiring each from then on), the
/// station accepts it and reconnects with it; then the log must show none of them.
fn passwords_stay_out_of_the_log(version: OcppVersion, log: &str, format: &str) {
    let csms = Csms::start(csms_config_with(json!({"control": true})));
    let env = Env::for_csms(&csms)
        .set("OCPP_PRIMARY", primary(version))
        .set("OCPP_LOG", log)
        .set("OCPP_LOG_FORMAT", format);
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    csms.wait_for(
        |e| common::is_call(e) && e["action"] == "BootNotification",
        DEADLINE,
    );
    let changes = new_passwords(version);
    for change in &changes {
        remote.set_password(&change.password);
        let answer = remote.call_text(change.action, &change.payload);
        let status = match version {
            OcppVersion::V201 => &answer.payload()["setVariableResult"][0]["attributeStatus"],
            OcppVersion::V16 => &answer.payload()["status"],
        };
        assert_eq!(status, "Accepted", "{}: {}", change.payload, answer.event);
        // The station drops the link and comes back with the new password. The CSMS may log
        // the new connection before the old one's end: the connection number tells.
        let conn = answer.event["conn"].as_u64().unwrap();
        let (_, next) = csms.wait_for_after(answer.at, "the station's next connection", |e| {
            e["event"] == "rejected_upgrade"
                || (e["event"] == "connected" && e["conn"].as_u64().is_some_and(|c| c > conn))
        });
        assert_eq!(next["authorization"], "ok", "{}: {next}", change.payload);
    }
    // terminate() also checks the env file's password.
    let status = daemon.terminate();
    assert!(status.success(), "{status}");
    let stderr = daemon.stderr();
    assert!(
        stderr.contains("bytes withheld: the frame may carry a password"),
        "{log}: the frame trace is on, so the password frames are logged withheld:\n{stderr}"
    );
    if format == "json" {
        for line in stderr.lines() {
            assert!(
                serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
                "not a JSON log line: {line}"
            );
        }
    }
    for change in &changes {
        assert_no_password(&stderr, &change.password);
        assert_no_password(&daemon.stdout(), &change.password);
    }
    csms.assert_no_validation_errors();
}

#[test]
fn passwords_set_on_201_stay_out_of_a_full_trace_in_text() {
    passwords_stay_out_of_the_log(OcppVersion::V201, "trace", "text");
}

#[test]
fn passwords_set_on_201_stay_out_of_a_full_trace_in_json() {
    passwords_stay_out_of_the_log(OcppVersion::V201, "trace", "json");
}

#[test]
fn passwords_set_on_201_stay_out_of_the_station_trace_in_text() {
    passwords_stay_out_of_the_log(OcppVersion::V201, "ocpp_station=trace", "text");
}

#[test]
fn passwords_set_on_201_stay_out_of_the_station_trace_in_json() {
    passwords_stay_out_of_the_log(OcppVersion::V201, "ocpp_station=trace", "json");
}

#[test]
fn passwords_set_on_16_stay_out_of_a_full_trace_in_text() {
    passwords_stay_out_of_the_log(OcppVersion::V16, "trace", "text");
}

#[test]
fn passwords_set_on_16_stay_out_of_a_full_trace_in_json() {
    passwords_stay_out_of_the_log(OcppVersion::V16, "trace", "json");
}

#[test]
fn passwords_set_on_16_stay_out_of_the_station_trace_in_text() {
    passwords_stay_out_of_the_log(OcppVersion::V16, "ocpp_station=trace", "text");
}

#[test]
fn passwords_set_on_16_stay_out_of_the_station_trace_in_json() {
    passwords_stay_out_of_the_log(OcppVersion::V16, "ocpp_station=trace", "json");
}

// ---------------------------------------------------------------------------------------------
// Property: loggable withholds every frame the station takes a password from
// ---------------------------------------------------------------------------------------------

/// xorshift64*: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// `name` respelled: each letter's case flipped at random, some characters as JSON escapes,
/// sometimes blanks around it (accepted for 1.6 keys only) or a letter dropped (not accepted).
fn respell(rng: &mut Rng, name: &str) -> String {
    let mut out = String::new();
    if rng.chance(6) {
        out.push_str(if rng.chance(2) { " " } else { "\\t" });
    }
    for c in name.chars() {
        if rng.chance(30) {
            continue;
        }
        let c = if rng.chance(2) {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
        if rng.chance(5) {
            out.push_str(&format!("\\u{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    if rng.chance(6) {
        out.push(' ');
    }
    out
}

fn random_password(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.";
    let len = 16 + rng.below(25);
    (0..len)
        .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len())]))
        .collect()
}

#[test]
fn loggable_withholds_every_frame_the_station_takes_a_password_from() {
    let mut rng = Rng(0x5eed_1e55_c0de_f00d);
    let mut taken = [0usize; 2];
    let mut shown = 0usize;
    for case in 0..4000 {
        let version = if rng.chance(2) {
            OcppVersion::V201
        } else {
            OcppVersion::V16
        };
        let password = random_password(&mut rng);
        let frame = match version {
            OcppVersion::V201 => {
                let name = respell(&mut rng, "BasicAuthPassword");
                let component = respell(&mut rng, "SecurityCtrlr");
                format!(
                    r#"[2,"p-{case}","SetVariables",{{"setVariableData":[{{"attributeValue":"{password}","component":{{"name":"{component}"}},"variable":{{"name":"{name}"}}}}]}}]"#
                )
            }
            OcppVersion::V16 => {
                let key = respell(&mut rng, "AuthorizationKey");
                let value = if rng.chance(3) && password.len() <= 20 {
                    hex(password.as_bytes())
                } else {
                    password.clone()
                };
                format!(
                    r#"[2,"p-{case}","ChangeConfiguration",{{"key":"{key}","value":"{value}"}}]"#
                )
            }
        };
        let (mut station, now) = registered_station(version, "Accepted", Arc::new(SystemClock));
        while station.poll_transmit().is_some() {}
        while station.poll_event().is_some() {}
        station.handle_text(now, &frame);
        let accepted = std::iter::from_fn(|| station.poll_event())
            .any(|event| matches!(event, Event::ReconnectRequested));
        let logged = rpc::loggable(&frame);
        if accepted {
            taken[usize::from(version == OcppVersion::V16)] += 1;
            for form in password_forms(&password) {
                assert!(
                    !logged.contains(&form),
                    "case {case}: the station took the password from {frame} but the log shows {logged}"
                );
            }
        }
        // The other direction: a frame naming no secret (as the device model matches names)
        // is shown, not withheld.
        let decoded: Value = serde_json::from_str(&frame).unwrap();
        let name = match version {
            OcppVersion::V201 => &decoded[3]["setVariableData"][0]["variable"]["name"],
            OcppVersion::V16 => &decoded[3]["key"],
        };
        let names_secret = device_model::names_secret(name.as_str().unwrap());
        if accepted {
            assert!(names_secret, "case {case}: {frame}");
        }
        if !names_secret {
            assert_eq!(logged, frame, "case {case}");
            shown += 1;
        }
    }
    // The generator must reach both sides, in both versions.
    assert!(taken.iter().all(|&n| n > 100), "{taken:?}");
    assert!(shown > 100, "{shown}");
}
