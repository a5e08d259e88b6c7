//! `ocpp-station --once` against a real CSMS: the contract of docs/once.md (one JSON line, the
//! report schema, exit codes), version fallback, subprotocol negotiation, Boot not Accepted,
//! authentication and configuration errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use common::{
    Csms, DEADLINE, Env, STATION_NAME, TEST_PASSWORD, csms_config, csms_config_with, dump,
    run_once, validate_once_report,
};
use serde_json::{Value, json};

/// `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`.
fn is_utc_millis(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| range.into_iter().all(|i| b[i].is_ascii_digit());
    if b.len() < 20 || !b.ends_with(b"Z") {
        return false;
    }
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let fraction = &b[19..b.len() - 1];
    shape
        && (fraction.is_empty()
            || (fraction[0] == b'.'
                && (2..=4).contains(&fraction.len())
                && fraction[1..].iter().all(u8::is_ascii_digit)))
}

/// Every string in `value` that starts like a date-time.
fn timestamps(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s)
            if s.len() >= 10
                && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && s.as_bytes()[4] == b'-'
                && s.contains('T') =>
        {
            out.push(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| timestamps(v, out)),
        Value::Object(map) => map.values().for_each(|v| timestamps(v, out)),
        _ => {}
    }
}

/// Checks shared by every successful run: schema, one line, the CALLs in the report are the
/// CALLs the CSMS received (same order, same ids), all valid, timestamps UTC with <= 3
/// fractional digits, and a clean close.
fn assert_accepted(run: &common::OnceRun, csms: &Csms, subprotocol: &str, actions: &[&str]) {
    run.assert_one_json_line();
    assert_eq!(run.code, 0, "{}", run.context());
    validate_once_report(&run.report);
    let report = &run.report;
    assert_eq!(report["result"], "accepted", "{}", run.context());
    assert_eq!(report["ok"], true);
    assert_eq!(report["subprotocol"], subprotocol, "{}", run.context());
    assert_eq!(report["station_name"], STATION_NAME);
    assert_eq!(run.actions(), actions, "{}", run.context());
    assert_eq!(report["messages"][0]["status"], "Accepted");
    assert_eq!(report["messages"][0]["interval"], 300);
    for message in report["messages"].as_array().unwrap() {
        assert_eq!(message["response"], "CallResult", "{}", run.context());
    }
    let heartbeat = report["messages"].as_array().unwrap().last().unwrap();
    assert!(
        heartbeat["current_time"].is_string(),
        "the Heartbeat summary carries current_time: {heartbeat}"
    );
    let attempts = report["attempts"].as_array().unwrap();
    let last = attempts.last().expect("at least one attempt");
    assert_eq!(last["outcome"], "connected");
    assert_eq!(last["subprotocol_selected"], subprotocol);
    assert_eq!(last["url"], report["endpoint"]);

    // The CSMS closes nothing in these runs: wait for the station's close, then compare.
    let closed = csms.wait_for(|e| e["event"] == "disconnected", DEADLINE);
    assert_eq!(
        closed["code"],
        1000,
        "the station closes with 1000: {closed}\n{}",
        dump(&csms.events())
    );
    let calls = csms.all_calls();
    let received: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or("?"),
                c["unique_id"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let reported: Vec<(&str, &str)> = report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["action"].as_str().unwrap_or("?"),
                m["unique_id"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        received, reported,
        "the report lists exactly the CALLs the CSMS received"
    );
    let mut ids: Vec<&str> = reported.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), reported.len(), "message ids are unique");

    csms.assert_no_validation_errors();
    let mut stamps = Vec::new();
    for call in &calls {
        timestamps(&call["payload"], &mut stamps);
    }
    for key in ["run_started_utc", "run_finished_utc"] {
        stamps.push(report[key].as_str().unwrap_or_default().to_owned());
    }
    for stamp in &stamps {
        assert!(
            is_utc_millis(stamp),
            "timestamp {stamp:?} is not UTC with at most 3 fractional digits"
        );
    }
}

#[test]
fn once_on_201_boots_reports_status_security_event_and_heartbeat() {
    let csms = Csms::start(csms_config());
    let env = Env::for_csms(&csms);
    let run = run_once(&env.pairs(), &[]);
    assert_accepted(
        &run,
        &csms,
        "ocpp2.0.1",
        &[
            "BootNotification",
            "StatusNotification",
            "SecurityEventNotification",
            "Heartbeat",
        ],
    );
    let report = &run.report;
    let endpoint = format!("{}/{STATION_NAME}", csms.url("/ocpp201"));
    assert_eq!(report["endpoint"], endpoint.as_str());
    assert_eq!(report["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["attempts"][0]["subprotocols_offered"],
        json!(["ocpp2.0.1"])
    );
    assert_eq!(report["attempts"][0]["ocpp_version"], "2.0.1");

    let status = &report["messages"][1];
    assert_eq!(status["evse_id"], 1, "{status}");
    assert_eq!(status["connector_id"], 1, "{status}");
    assert_eq!(status["connector_status"], "Unavailable", "{status}");

    let connected = csms.wait_for(|e| e["event"] == "connected", DEADLINE);
    assert_eq!(
        connected["path"],
        format!("/ocpp201/{STATION_NAME}").as_str()
    );
    assert_eq!(connected["authorization"], "ok");
    assert_eq!(connected["subprotocols_offered"], json!(["ocpp2.0.1"]));

    let status = &csms.calls("StatusNotification")[0]["payload"];
    assert_eq!(status["evseId"], 1);
    assert_eq!(status["connectorId"], 1);
    assert_eq!(status["connectorStatus"], "Unavailable");
    let event = &csms.calls("SecurityEventNotification")[0]["payload"];
    assert_eq!(event["type"], "StartupOfTheDevice");
}

#[test]
fn once_on_16_reports_connector_0_and_1() {
    let csms = Csms::start(csms_config());
    let env = Env::for_csms(&csms).set("OCPP_PRIMARY", "1.6");
    let run = run_once(&env.pairs(), &[]);
    assert_accepted(
        &run,
        &csms,
        "ocpp1.6",
        &[
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "Heartbeat",
        ],
    );
    assert_eq!(
        run.report["attempts"][0]["subprotocols_offered"],
        json!(["ocpp1.6"])
    );
    let mut connectors: Vec<i64> = Vec::new();
    for call in csms.calls("StatusNotification") {
        let payload = &call["payload"];
        assert_eq!(payload["status"], "Unavailable", "{payload}");
        assert_eq!(payload["errorCode"], "NoError", "{payload}");
        connectors.push(payload["connectorId"].as_i64().unwrap_or(-1));
    }
    connectors.sort_unstable();
    assert_eq!(connectors, [0, 1]);
    let mut reported: Vec<i64> = run.report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "StatusNotification")
        .map(|m| m["connector_id"].as_i64().unwrap_or(-1))
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, [0, 1], "{}", run.context());
    assert!(csms.calls("SecurityEventNotification").is_empty());
}

#[test]
fn falls_back_to_16_when_201_endpoint_is_not_found() {
    let csms = Csms::start(csms_config_with(json!({
        "routes": [{"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]}]
    })));
    let env = Env::for_csms(&csms);
    let run = run_once(&env.pairs(), &[]);
    assert_accepted(
        &run,
        &csms,
        "ocpp1.6",
        &[
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "Heartbeat",
        ],
    );
    assert_eq!(
        run.outcomes(),
        ["not_found", "connected"],
        "{}",
        run.context()
    );
    let attempts = &run.report["attempts"];
    let url_201 = format!("{}/{STATION_NAME}", csms.url("/ocpp201"));
    let url_16 = format!("{}/{STATION_NAME}", csms.url("/ocpp16"));
    assert_eq!(attempts[0]["url"], url_201.as_str());
    assert_eq!(attempts[0]["ocpp_version"], "2.0.1");
    assert_eq!(attempts[1]["url"], url_16.as_str());
    assert_eq!(attempts[1]["ocpp_version"], "1.6");
    assert_eq!(attempts[1]["subprotocols_offered"], json!(["ocpp1.6"]));
    let rejected = csms.wait_for(|e| e["event"] == "rejected_upgrade", DEADLINE);
    assert_eq!(rejected["status"], 404);
}

#[test]
fn without_fallback_a_missing_201_endpoint_is_connect_failed() {
    let csms = Csms::start(csms_config_with(json!({
        "routes": [{"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]}]
    })));
    let flag = Env::for_csms(&csms);
    let variable = Env::for_csms(&csms).set("OCPP_ALLOW_FALLBACK", "false");
    for (env, args) in [(flag, &["--no-fallback"][..]), (variable, &[][..])] {
        let run = run_once(&env.pairs(), args);
        run.assert_one_json_line();
        assert_eq!(run.code, 3, "{}", run.context());
        validate_once_report(&run.report);
        assert_eq!(run.report["result"], "connect_failed");
        assert_eq!(run.report["error_class"], "connect");
        let outcomes = run.outcomes();
        assert!(
            !outcomes.is_empty() && outcomes.iter().all(|o| o == "not_found"),
            "{}",
            run.context()
        );
        for attempt in run.report["attempts"].as_array().unwrap() {
            assert_eq!(attempt["ocpp_version"], "2.0.1", "{}", run.context());
        }
    }
    assert!(
        !csms
            .events()
            .iter()
            .any(|e| e["path"].as_str().is_some_and(|p| p.starts_with("/ocpp16"))),
        "no fallback means the 1.6 URL is never dialled:\n{}",
        dump(&csms.events())
    );
}

#[test]
fn one_url_for_both_versions_offers_both_and_takes_what_the_csms_selects() {
    for (subprotocols, expected) in [
        (json!(["ocpp1.6"]), "ocpp1.6"),
        (json!(["ocpp2.0.1", "ocpp1.6"]), "ocpp2.0.1"),
    ] {
        let csms = Csms::start(csms_config_with(json!({
            "routes": [{"prefix": "/ocpp", "subprotocols": subprotocols}]
        })));
        let url = csms.url("/ocpp");
        let env = Env::for_csms(&csms)
            .set("OCPP_201_URL", &url)
            .set("OCPP_16_URL", &url);
        let run = run_once(&env.pairs(), &[]);
        let actions: &[&str] = if expected == "ocpp1.6" {
            &[
                "BootNotification",
                "StatusNotification",
                "StatusNotification",
                "Heartbeat",
            ]
        } else {
            &[
                "BootNotification",
                "StatusNotification",
                "SecurityEventNotification",
                "Heartbeat",
            ]
        };
        assert_accepted(&run, &csms, expected, actions);
        let connections: Vec<Value> = csms
            .events()
            .into_iter()
            .filter(|e| e["event"] == "connected")
            .collect();
        assert_eq!(connections.len(), 1, "one dial: {}", dump(&connections));
        assert_eq!(
            connections[0]["subprotocols_offered"],
            json!(["ocpp2.0.1", "ocpp1.6"]),
            "both subprotocols in one offer, the primary first"
        );
        assert_eq!(
            run.report["attempts"][0]["subprotocols_offered"],
            json!(["ocpp2.0.1", "ocpp1.6"]),
            "{}",
            run.context()
        );
    }
}

#[test]
fn a_csms_that_selects_no_subprotocol_is_a_version_mismatch() {
    let csms = Csms::start(csms_config_with(json!({"subprotocol_mode": "omit"})));
    let run = run_once(&Env::for_csms(&csms).pairs(), &[]);
    run.assert_one_json_line();
    assert_eq!(run.code, 3, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "connect_failed");
    let outcomes = run.outcomes();
    assert!(
        !outcomes.is_empty() && outcomes.iter().all(|o| o == "version_mismatch"),
        "{}",
        run.context()
    );
    assert!(
        csms.all_calls().is_empty(),
        "no CALL without an agreed subprotocol:\n{}",
        dump(&csms.events())
    );
}

#[test]
fn boot_pending_and_rejected_end_with_exit_4_and_nothing_but_boot() {
    for (status, result) in [("Pending", "boot_pending"), ("Rejected", "boot_rejected")] {
        let csms = Csms::start(csms_config_with(json!({
            "boot": {"statuses": [status], "interval": 300}
        })));
        let run = run_once(&Env::for_csms(&csms).pairs(), &[]);
        run.assert_one_json_line();
        assert_eq!(run.code, 4, "{}", run.context());
        validate_once_report(&run.report);
        assert_eq!(run.report["result"], result, "{}", run.context());
        assert_eq!(run.report["error_class"], "boot_not_accepted");
        assert_eq!(run.report["messages"][0]["action"], "BootNotification");
        assert_eq!(run.report["messages"][0]["status"], status);
        let calls = csms.all_calls();
        assert!(
            !calls.is_empty() && calls.iter().all(|c| c["action"] == "BootNotification"),
            "only BootNotification before Accepted:\n{}",
            dump(&calls)
        );
        csms.assert_no_validation_errors();
    }
}

#[test]
fn a_refused_password_is_unauthorized_and_never_printed() {
    let csms = Csms::start(csms_config_with(json!({
        "password": "the-csms-expects-another-one"
    })));
    let env = Env::for_csms(&csms).set("OCPP_LOG", "trace");
    // run_once also checks that neither stdout nor stderr carries the password.
    let run = run_once(&env.pairs(), &[]);
    run.assert_one_json_line();
    assert_eq!(run.code, 3, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "connect_failed");
    assert_eq!(
        run.report["attempts"][0]["outcome"],
        "unauthorized",
        "{}",
        run.context()
    );
    let error = run.report["error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        error.contains("401") || error.contains("password"),
        "the error names the refusal: {error:?}"
    );
    let rejected = csms.wait_for(|e| e["event"] == "rejected_upgrade", DEADLINE);
    assert_eq!(rejected["status"], 401);
    assert_eq!(
        rejected["authorization"], "wrong",
        "the station sent credentials"
    );
    assert!(!run.stdout.contains(TEST_PASSWORD) && !run.stderr.contains(TEST_PASSWORD));
}

#[test]
fn configuration_errors_still_print_one_json_line() {
    let csms = Csms::start(csms_config());
    let base = Env::for_csms(&csms);
    for (env, variable) in [
        (base.clone().unset("OCPP_STATION_NAME"), "OCPP_STATION_NAME"),
        (base.clone().set("OCPP_PRIMARY", "2.1"), "OCPP_PRIMARY"),
    ] {
        let run = run_once(&env.pairs(), &[]);
        run.assert_one_json_line();
        assert_eq!(run.code, 2, "{}", run.context());
        validate_once_report(&run.report);
        assert_eq!(run.report["result"], "config_error");
        assert_eq!(run.report["error_class"], "config");
        let error = run.report["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(variable),
            "the error names {variable}: {error:?}"
        );
    }
    assert!(
        csms.events().is_empty(),
        "a configuration error dials nothing:\n{}",
        dump(&csms.events())
    );
}

#[test]
fn utc_millis_shape() {
    assert!(is_utc_millis("2026-11-22T08:00:00Z"));
    assert!(is_utc_millis("2026-11-22T08:00:00.042Z"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.042123Z"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.042+00:00"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.Z"));
}
