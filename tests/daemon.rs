//! The station daemon against a real CSMS: Boot Pending then Accepted, a CSMS restarting under a
//! running station, malformed and unexpected frames from the CSMS, and SIGTERM.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use common::{Csms, DEADLINE, Env, csms_config, csms_config_with, dump, is_call, spawn_daemon};
use serde_json::{Value, json};

fn is_call_of(event: &Value, action: &str) -> bool {
    is_call(event) && event["action"] == action
}

#[test]
fn boot_pending_then_accepted_sends_nothing_else_before_accepted() {
    let csms = Csms::start(csms_config_with(json!({
        "boot": {"statuses": ["Pending", "Accepted"], "interval": 1}
    })));
    let mut daemon = spawn_daemon(&Env::for_csms(&csms).pairs());
    csms.wait_for(|e| is_call_of(e, "StatusNotification"), DEADLINE);

    let events = csms.events();
    let calls: Vec<(usize, &Value)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| is_call(e))
        .collect();
    let boots: Vec<&Value> = calls
        .iter()
        .map(|(_, e)| *e)
        .filter(|e| e["action"] == "BootNotification")
        .collect();
    assert!(
        boots.len() >= 2,
        "Boot, then Boot again:\n{}",
        dump(&events)
    );
    assert_eq!(
        calls[0].1["action"],
        "BootNotification",
        "{}",
        dump(&events)
    );
    assert_eq!(
        calls[1].1["action"],
        "BootNotification",
        "{}",
        dump(&events)
    );
    let accepted_id = &calls[1].1["unique_id"];
    let accepted_at = events
        .iter()
        .position(|e| {
            e["event"] == "sent" && e["message_type"] == 3 && &e["unique_id"] == accepted_id
        })
        .expect("the CSMS answered the second Boot");
    assert!(
        events[accepted_at]["raw"]
            .as_str()
            .is_some_and(|raw| raw.contains("\"Accepted\"")),
        "{}",
        dump(&events)
    );
    for (index, call) in &calls {
        if *index < accepted_at {
            assert_eq!(
                call["action"],
                "BootNotification",
                "no other CALL before Boot is Accepted:\n{}",
                dump(&events)
            );
        }
    }
    csms.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
}

/// Run a daemon, restart the CSMS on the same port under it, return the second CSMS once the
/// station sent a Heartbeat on the new connection.
fn restart_under_daemon(extra: &[(&str, &str)]) -> (Csms, Csms) {
    let mut first = Csms::start(csms_config());
    let mut env = Env::for_csms(&first).set("OCPP_HEARTBEAT_SECONDS", "1");
    for (key, value) in extra {
        env = env.set(key, value);
    }
    let mut daemon = spawn_daemon(&env.pairs());
    first.wait_for(|e| is_call_of(e, "Heartbeat"), DEADLINE);
    first.stop();
    assert_eq!(
        first.calls("BootNotification").len(),
        1,
        "{}",
        dump(&first.events())
    );

    let second = Csms::start(csms_config_with(json!({"port": first.port()})));
    second.wait_for(|e| is_call_of(e, "Heartbeat"), DEADLINE);
    assert!(daemon.is_alive(), "the daemon survives the CSMS restart");
    first.assert_no_validation_errors();
    second.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
    (first, second)
}

#[test]
fn a_reconnect_is_not_a_reboot() {
    let (_first, second) = restart_under_daemon(&[]);
    let events = second.events();
    let heartbeat = events
        .iter()
        .position(|e| is_call_of(e, "Heartbeat"))
        .unwrap();
    assert!(
        !events[..heartbeat]
            .iter()
            .any(|e| is_call_of(e, "BootNotification")),
        "no BootNotification on a reconnect (Boot once per process):\n{}",
        dump(&events)
    );
    assert!(
        second.calls("BootNotification").is_empty(),
        "no BootNotification on a reconnect (Boot once per process):\n{}",
        dump(&events)
    );
}

#[test]
fn boot_on_reconnect_boots_again() {
    let (_first, second) = restart_under_daemon(&[("OCPP_BOOT_ON_RECONNECT", "true")]);
    let calls = second.all_calls();
    assert_eq!(
        calls.first().map(|c| c["action"].clone()),
        Some(json!("BootNotification")),
        "with OCPP_BOOT_ON_RECONNECT the first CALL of the new connection is Boot:\n{}",
        dump(&calls)
    );
}

/// Send malformed, unknown and unsolicited frames after Boot; check each answer, then that the
/// same connection still carries a Heartbeat and the daemon lives.
fn garbage_after_boot(primary: &str, expected: &[(&str, &str)]) {
    let csms = Csms::start(csms_config_with(json!({
        "after_boot": [
            {"frame": "this is not json"},
            {"frame": "[2,\"u-1\",\"NoSuchAction\",{}]"},
            {"frame": "[2,\"u-2\",\"UpdateFirmware\",{}]"},
            {"frame": "[7,\"u-3\"]"},
            {"frame": "[3,\"nobody-asked\",{}]"},
            {"frame": "[2,\"u-4\",\"NoSuchAction\",{}]", "size_bytes": 1_048_576}
        ]
    })));
    let env = Env::for_csms(&csms)
        .set("OCPP_PRIMARY", primary)
        .set("OCPP_HEARTBEAT_SECONDS", "1");
    let mut daemon = spawn_daemon(&env.pairs());

    let is_error_for = |e: &Value, id: &str| {
        e["event"] == "recv" && e["message_type"] == 4 && e["unique_id"] == id
    };
    let last_answer = csms.wait_until(
        "a CallError for every CALL and garbage frame",
        DEADLINE,
        |events| {
            let mut last = 0;
            for (id, _) in expected {
                last = last.max(events.iter().position(|e| is_error_for(e, id))?);
            }
            Some(last)
        },
    );
    let events = csms.events();
    for (id, code) in expected {
        let answer = events.iter().find(|e| is_error_for(e, id)).unwrap();
        let frame: Value =
            serde_json::from_str(answer["raw"].as_str().unwrap_or_default()).unwrap_or(Value::Null);
        let frame = frame.as_array().cloned().unwrap_or_default();
        assert_eq!(frame.len(), 5, "a CallError has 5 elements: {answer}");
        assert_eq!(frame[2], *code, "answer to {id}: {answer}");
        assert!(frame[3].is_string(), "{answer}");
        assert_eq!(
            frame[4],
            json!({}),
            "CallError details default to {{}}: {answer}"
        );
    }
    assert!(
        !events
            .iter()
            .any(|e| e["event"] == "recv" && e["unique_id"] == "nobody-asked"),
        "a CALLRESULT nobody asked for gets no answer:\n{}",
        dump(&events)
    );
    let connection = events[last_answer]["conn"].clone();

    let (heartbeat_at, heartbeat) =
        csms.wait_for_after(last_answer, "a Heartbeat after the garbage", |e| {
            is_call_of(e, "Heartbeat")
        });
    assert_eq!(
        heartbeat["conn"], connection,
        "the same connection carries on"
    );
    let events = csms.events();
    assert!(
        !events[..heartbeat_at]
            .iter()
            .any(|e| e["event"] == "disconnected"),
        "garbage does not cost the connection:\n{}",
        dump(&events)
    );
    assert!(daemon.is_alive(), "garbage does not kill the daemon");
    csms.assert_no_validation_errors();
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
}

#[test]
fn garbage_from_the_csms_is_answered_on_201() {
    garbage_after_boot(
        "2.0.1",
        &[
            ("-1", "FormatViolation"),
            ("u-1", "NotImplemented"),
            ("u-2", "NotSupported"),
            ("u-3", "MessageTypeNotSupported"),
            ("u-4", "NotImplemented"),
        ],
    );
}

#[test]
fn garbage_from_the_csms_is_answered_on_16() {
    garbage_after_boot(
        "1.6",
        &[
            ("-1", "FormationViolation"),
            ("u-1", "NotImplemented"),
            ("u-2", "NotSupported"),
            ("u-3", "ProtocolError"),
            ("u-4", "NotImplemented"),
        ],
    );
}

#[test]
fn sigterm_closes_with_1000_and_exits_0() {
    let csms = Csms::start(csms_config());
    let mut daemon = spawn_daemon(&Env::for_csms(&csms).pairs());
    csms.wait_for(|e| is_call_of(e, "StatusNotification"), DEADLINE);
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
    let closed = csms.wait_for(|e| e["event"] == "disconnected", DEADLINE);
    assert_eq!(closed["code"], 1000, "{}", dump(&csms.events()));
    assert_eq!(closed["initiated_by"], "station", "{closed}");
    csms.assert_no_validation_errors();
}
