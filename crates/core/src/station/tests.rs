//! The core driven against a scripted CSMS over a simulated clock: every registration and timer
//! rule runs here in microseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "the simulated clock starts from a real instant"
)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::device_model::Defaults;
use crate::ocpp::{Fault, FaultCode};
use crate::test_util::{Answer, Pair, SimClock, accept_all, example_defaults, example_settings};

fn settings() -> Settings {
    example_settings()
}

/// The device model's defaults as the env file would give them.
fn defaults() -> Defaults {
    example_defaults()
}

fn model(defaults: &Defaults) -> DeviceModel {
    DeviceModel::new(defaults, &Default::default())
}

#[test]
fn accepted_201_sends_boot_then_every_connector_then_the_startup_event() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    assert_eq!(
        p.actions(),
        [
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "SecurityEventNotification"
        ]
    );
    assert_eq!(p.calls[0].2["reason"], "PowerUp");
    assert_eq!(p.calls[1].2["evseId"], 1);
    assert_eq!(p.calls[2].2["evseId"], 2);
    assert_eq!(p.calls[1].2["connectorStatus"], "Unavailable");
    assert_eq!(p.calls[3].2["type"], "StartupOfTheDevice");
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Accepted));
    assert_eq!(p.station.heartbeat_interval(), Duration::from_secs(300));
}

#[test]
fn accepted_16_reports_connector_zero_too_and_no_security_event() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    assert_eq!(
        p.actions(),
        [
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "StatusNotification"
        ]
    );
    let ids: Vec<u64> = p.calls[1..]
        .iter()
        .map(|c| c.2["connectorId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(p.calls[1].2["status"], "Unavailable");
    assert_eq!(p.calls[1].2["errorCode"], "NoError");
}

#[test]
fn heartbeats_follow_the_interval_for_an_hour() {
    let mut p = Pair::new(settings(), accept_all(60));
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(3600));
    assert_eq!(p.count("Heartbeat"), 60);
    let times: Vec<f64> = p
        .calls
        .iter()
        .filter(|c| c.1 == "Heartbeat")
        .map(|c| c.0)
        .collect();
    for pair in times.windows(2) {
        assert_eq!(pair[1] - pair[0], 60.0);
    }
}

#[test]
fn any_traffic_postpones_the_heartbeat() {
    let mut p = Pair::new(settings(), accept_all(60));
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(50));
    // A CSMS call at t=50 counts as traffic: the next heartbeat is due at 110, not 60.
    p.csms_sends(r#"[2,"c1","NoSuchAction",{}]"#);
    p.run_for(Duration::from_secs(55));
    assert_eq!(p.count("Heartbeat"), 0);
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.count("Heartbeat"), 1);
    assert_eq!(p.calls.last().unwrap().0, 110.0);
}

#[test]
fn operator_heartbeat_override_wins_over_the_csms() {
    let mut d = defaults();
    d.heartbeat_interval = Duration::from_secs(10);
    let mut p = Pair::with_model(settings(), model(&d), accept_all(86_400));
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(100));
    assert_eq!(p.count("Heartbeat"), 10);
}

#[test]
fn an_interval_beyond_u16_is_accepted() {
    let mut p = Pair::new(settings(), accept_all(100_000));
    p.connect(OcppVersion::V201);
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Accepted));
    assert_eq!(p.station.heartbeat_interval(), Duration::from_secs(100_000));
}

fn boot_script(answers: Vec<Value>) -> Answer {
    let mut answers = answers.into_iter();
    let mut last = json!({});
    Box::new(move |action, _| {
        Some(match action {
            "BootNotification" => {
                if let Some(a) = answers.next() {
                    last = a;
                }
                last.clone()
            }
            "Heartbeat" => json!({"currentTime":"2026-11-22T08:00:00Z"}),
            _ => json!({}),
        })
    })
}

#[test]
fn pending_then_accepted_sends_nothing_else_until_accepted() {
    let mut p = Pair::new(
        settings(),
        boot_script(vec![
            json!({"status":"Pending","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
            json!({"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:05:00Z"}),
        ]),
    );
    p.connect(OcppVersion::V201);
    // A status change while Pending is not sent.
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    p.run_for(Duration::from_secs(299));
    assert_eq!(p.actions(), ["BootNotification"]);
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Pending));
    p.run_for(Duration::from_secs(1));
    assert_eq!(
        p.actions()[..3],
        ["BootNotification", "BootNotification", "StatusNotification"]
    );
    assert_eq!(p.calls[1].0, 300.0);
    assert_eq!(p.calls[2].2["connectorStatus"], "Available");
}

#[test]
fn while_pending_the_station_answers_the_csms_by_the_rules() {
    let mut p = Pair::new(
        settings(),
        boot_script(vec![
            json!({"status":"Pending","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
        ]),
    );
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"a","RequestStartTransaction",{"idToken":{"idToken":"x","type":"Central"},"remoteStartId":1}]"#);
    assert_eq!(r, [json!([3, "a", {"status":"Rejected"}])]);
    let r = p.csms_sends(
        r#"[2,"b","GetVariables",{"getVariableData":[{"component":{"name":"SecurityCtrlr"},"variable":{"name":"Identity"}}]}]"#,
    );
    assert_eq!(
        r[0][2]["getVariableResult"][0]["attributeValue"],
        "ORGE_AC_001"
    );
    let r = p.csms_sends(r#"[2,"c","UpdateFirmware",{}]"#);
    assert_eq!(r[0][2], "SecurityError");
    let r = p.csms_sends(r#"[2,"d","Bogus",{}]"#);
    assert_eq!(r[0][2], "NotImplemented");
}

fn rejected_then_accepted() -> Answer {
    boot_script(vec![
        json!({"status":"Rejected","interval":120,"currentTime":"2026-11-22T08:00:00Z"}),
        json!({"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:02:00Z"}),
    ])
}

#[test]
fn rejected_sends_nothing_until_the_interval() {
    for (version, statuses) in [(OcppVersion::V201, 2), (OcppVersion::V16, 3)] {
        let mut p = Pair::new(settings(), rejected_then_accepted());
        p.connect(version);
        p.run_for(Duration::from_secs(119));
        assert_eq!(p.actions(), ["BootNotification"], "{version:?}");
        p.run_for(Duration::from_secs(1));
        assert_eq!(p.count("BootNotification"), 2);
        assert_eq!(p.calls[1].0, 120.0);
        assert_eq!(p.count("StatusNotification"), statuses, "{version:?}");
    }
}

#[test]
fn while_rejected_201_answers_security_error() {
    let mut p = Pair::new(settings(), rejected_then_accepted());
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"a","RequestStartTransaction",{"idToken":{"idToken":"x","type":"Central"},"remoteStartId":1}]"#);
    assert_eq!(
        r,
        [json!([
            4,
            "a",
            "SecurityError",
            "the station is not registered (Boot Rejected)",
            {}
        ])]
    );
    let r = p.csms_sends(r#"[2,"b","TriggerMessage",{"requestedMessage":"Heartbeat"}]"#);
    assert_eq!(r[0][2], "SecurityError");
}

#[test]
fn while_rejected_16_answers_nothing_at_all() {
    let mut p = Pair::new(settings(), rejected_then_accepted());
    p.connect(OcppVersion::V16);
    for frame in [
        r#"[2,"a","RemoteStartTransaction",{"idTag":"x"}]"#,
        r#"[2,"b","TriggerMessage",{"requestedMessage":"Heartbeat"}]"#,
        r#"[2,"c","GetConfiguration",{}]"#,
        r#"[2,"d","Bogus",{}]"#,
        r#"[2,"e","ChangeConfiguration",{"key":5}]"#,
        r#"not json"#,
        r#"[2,"f"]"#,
    ] {
        assert_eq!(p.csms_sends(frame), Vec::<Value>::new(), "{frame}");
    }
    assert_eq!(
        p.actions(),
        ["BootNotification"],
        "nothing triggered either"
    );
    // Accepted again: the CSMS is answered as usual.
    p.run_for(Duration::from_secs(120));
    let r = p.csms_sends(r#"[2,"g","GetConfiguration",{"key":["HeartbeatInterval"]}]"#);
    assert_eq!(r[0][1], "g");
    assert_eq!(r[0][2]["configurationKey"][0]["value"], "300");
}

#[test]
fn a_reconnect_during_a_rejected_wait_still_waits() {
    let mut p = Pair::new(
        settings(),
        boot_script(vec![
            json!({"status":"Rejected","interval":120,"currentTime":"2026-11-22T08:00:00Z"}),
            json!({"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:02:00Z"}),
        ]),
    );
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(30));
    p.disconnect();
    p.run_for(Duration::from_secs(10));
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(79));
    assert_eq!(p.count("BootNotification"), 1);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.count("BootNotification"), 2);
}

#[test]
fn interval_zero_when_not_accepted_uses_the_non_flooding_delay() {
    let mut p = Pair::new(
        settings(),
        boot_script(vec![
            json!({"status":"Pending","interval":0,"currentTime":"2026-11-22T08:00:00Z"}),
        ]),
    );
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(600));
    let boots: Vec<f64> = p.calls.iter().map(|c| c.0).collect();
    let step = NON_FLOODING_BOOT_RETRY.as_secs_f64();
    assert_eq!(boots, (0..=10).map(|i| i as f64 * step).collect::<Vec<_>>());
}

#[test]
fn a_boot_without_answer_times_out_and_is_retried() {
    let mut answered = false;
    let mut p = Pair::new(
        settings(),
        Box::new(move |action, _| match action {
            "BootNotification" if !answered => {
                answered = true;
                None
            }
            "BootNotification" => Some(
                json!({"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
            ),
            _ => Some(json!({})),
        }),
    );
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(30));
    assert!(matches!(
        &p.events[0],
        Event::CallFinished(record) if record.outcome == CallOutcome::Timeout
    ));
    assert_eq!(p.count("BootNotification"), 1);
    p.run_for(NON_FLOODING_BOOT_RETRY);
    assert_eq!(p.count("BootNotification"), 2);
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Accepted));
}

#[test]
fn only_one_call_is_outstanding_at_a_time() {
    let mut p = Pair::new(settings(), Box::new(|_, _| None));
    p.connect(OcppVersion::V201);
    assert_eq!(p.actions(), ["BootNotification"]);
    // The answer to the first call arrives only now; until then nothing else went out.
    p.station.handle_text(
        p.clock.now(),
        r#"[3,"id-1",{"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}]"#,
    );
    p.exchange();
    assert_eq!(p.actions(), ["BootNotification", "StatusNotification"]);
}

#[test]
fn incoming_calls_are_answered_while_a_call_is_outstanding() {
    let mut p = Pair::new(settings(), Box::new(|_, _| None));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"x","NoSuchAction",{}]"#);
    assert_eq!(r[0][0], 4);
    assert_eq!(r[0][1], "x");
}

#[test]
fn a_plain_reconnect_is_not_a_reboot() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    p.run_for(Duration::from_secs(30));
    p.connect(OcppVersion::V201);
    // Short outage, nothing changed: no Boot, no status.
    assert_eq!(p.count("BootNotification"), 1);
    assert_eq!(p.count("StatusNotification"), 2);
    p.run_for(Duration::from_secs(300));
    assert_eq!(p.count("Heartbeat"), 1);
}

#[test]
fn a_reconnect_on_the_other_version_boots_and_reports_every_connector() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    p.run_for(Duration::from_secs(30));
    // The fallback reached the 1.6 endpoint: that CSMS has not registered the station.
    p.connect(OcppVersion::V16);
    assert_eq!(p.count("BootNotification"), 2);
    let after_second_boot: Vec<u64> = p
        .calls
        .iter()
        .skip_while(|c| c.1 != "BootNotification")
        .skip(1)
        .skip_while(|c| c.1 != "BootNotification")
        .filter(|c| c.1 == "StatusNotification")
        .map(|c| c.2["connectorId"].as_u64().unwrap())
        .collect();
    assert_eq!(after_second_boot, [0, 1, 2]);
    // Back on 2.0.1: the last Boot was accepted over 1.6, so the 2.0.1 CSMS hears one again.
    p.disconnect();
    p.connect(OcppVersion::V201);
    assert_eq!(p.count("BootNotification"), 3);
    p.disconnect();
    p.connect(OcppVersion::V201);
    assert_eq!(p.count("BootNotification"), 3, "a plain reconnect again");
}

#[test]
fn boot_on_reconnect_boots_again_when_asked() {
    let mut s = settings();
    s.boot_on_reconnect = true;
    let mut p = Pair::new(s, accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    p.connect(OcppVersion::V201);
    assert_eq!(p.count("BootNotification"), 2);
    assert_eq!(
        p.count("SecurityEventNotification"),
        1,
        "startup is reported once per process"
    );
}

#[test]
fn after_a_short_outage_only_changed_connectors_are_reported() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 2, ConnectorStatus::Available)
        .unwrap();
    p.run_for(Duration::from_secs(60));
    p.connect(OcppVersion::V201);
    let statuses: Vec<&Value> = p
        .calls
        .iter()
        .filter(|c| c.1 == "StatusNotification")
        .map(|c| &c.2)
        .collect();
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses[2]["evseId"], 2);
    assert_eq!(statuses[2]["connectorStatus"], "Available");
}

#[test]
fn after_a_long_outage_every_connector_is_reported() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    p.run_for(Duration::from_secs(601));
    p.connect(OcppVersion::V201);
    assert_eq!(p.count("StatusNotification"), 4);
}

#[test]
fn a_status_lost_with_the_link_is_sent_again() {
    let mut p = Pair::new(settings(), Box::new(|_, _| None));
    p.connect(OcppVersion::V201);
    p.station.handle_text(
        p.clock.now(),
        r#"[3,"id-1",{"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}]"#,
    );
    p.exchange();
    // The first StatusNotification is never answered: the link drops.
    p.disconnect();
    p.csms = accept_all(300);
    p.connect(OcppVersion::V201);
    let evses: Vec<u64> = p
        .calls
        .iter()
        .filter(|c| c.1 == "StatusNotification")
        .map(|c| c.2["evseId"].as_u64().unwrap())
        .collect();
    assert_eq!(evses, [1, 1, 2]);
}

#[test]
fn status_changes_are_sent_once_with_the_latest_value() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let before = p.count("StatusNotification");
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    // Connector 1 and connector 0 (the station became usable).
    assert_eq!(p.count("StatusNotification") - before, 2);
    let fault = Fault {
        code: FaultCode::GroundFailure,
        info: None,
        vendor_error_code: None,
    };
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Faulted(fault))
        .unwrap();
    p.exchange();
    let last = &p.calls.last().unwrap().2;
    assert_eq!(last["status"], "Faulted");
    assert_eq!(last["errorCode"], "GroundFailure");
    assert_eq!(
        p.station
            .handle_connector_status(now, 3, ConnectorStatus::Available),
        Err(UsageError::NoSuchConnector(3))
    );
}

#[test]
fn malformed_frames_get_the_version_spelling_and_never_disconnect() {
    for (version, format, framework, msgtype) in [
        (
            OcppVersion::V201,
            "FormatViolation",
            "RpcFrameworkError",
            "MessageTypeNotSupported",
        ),
        (
            OcppVersion::V16,
            "FormationViolation",
            "ProtocolError",
            "ProtocolError",
        ),
    ] {
        let mut p = Pair::new(settings(), accept_all(300));
        p.connect(version);
        assert_eq!(
            p.csms_sends("this is not json"),
            [json!([4, "-1", format, "frame is not valid JSON", {}])]
        );
        assert_eq!(p.csms_sends("{\"a\":1}")[0][2], framework);
        assert_eq!(
            p.csms_sends(r#"[7,"u-3"]"#)[0],
            json!([4, "u-3", msgtype, "message type 7 is not supported", {}])
        );
        assert_eq!(
            p.csms_sends(r#"[2,"u-1","NoSuchAction",{}]"#)[0][2],
            "NotImplemented"
        );
        assert_eq!(
            p.csms_sends(r#"[2,"u-2","UpdateFirmware",{}]"#)[0][2],
            "NotSupported"
        );
        assert!(p.csms_sends(r#"[3,"nobody-asked",{}]"#).is_empty());
        assert!(
            p.csms_sends(r#"[4,"nobody-asked","GenericError","",{}]"#)
                .is_empty()
        );
        let big = format!(
            r#"[2,"u-4","NoSuchAction",{{"pad":"{}"}}]"#,
            "x".repeat(1 << 20)
        );
        assert_eq!(p.csms_sends(&big)[0][2], "NotImplemented");
        // Still registered and heartbeating.
        p.run_for(Duration::from_secs(300));
        assert_eq!(p.count("Heartbeat"), 1);
    }
}

#[test]
fn wire_timestamps_have_at_most_three_fractional_digits() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    p.connect(OcppVersion::V201);
    for (_, _, payload) in &p.calls {
        if let Some(ts) = payload.get("timestamp") {
            let ts = ts.as_str().unwrap();
            assert_eq!(ts, "2026-11-22T08:00:00.123Z");
        }
    }
}

#[test]
fn handle_timeout_is_idempotent() {
    let mut p = Pair::new(settings(), accept_all(60));
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(60));
    let n = p.calls.len();
    let now = p.clock.now();
    p.station.handle_timeout(now);
    p.station.handle_timeout(now);
    p.exchange();
    assert_eq!(p.calls.len(), n);
}

#[test]
fn requested_heartbeat_goes_out_after_the_owed_statuses() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let now = p.clock.now();
    p.station.handle_heartbeat_request(now);
    p.exchange();
    assert_eq!(p.actions().last(), Some(&"Heartbeat"));
    assert!(p.station.is_idle());
}

#[test]
fn on_201_a_fault_is_followed_by_its_cause_and_its_clearing() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    let fault = Fault {
        code: FaultCode::GroundFailure,
        info: Some("earth fault".into()),
        vendor_error_code: None,
    };
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Faulted(fault))
        .unwrap();
    p.exchange();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    let tail: Vec<(&str, Value)> = p.calls[4..]
        .iter()
        .map(|c| (c.1.as_str(), c.2.clone()))
        .collect();
    assert_eq!(
        tail.iter().map(|t| t.0).collect::<Vec<_>>(),
        [
            "StatusNotification",
            "StatusNotification",
            "NotifyEvent",
            "StatusNotification",
            "NotifyEvent"
        ]
    );
    let raised = &tail[2].1["eventData"][0];
    assert_eq!(
        (raised["actualValue"].as_str(), raised["techCode"].as_str()),
        (Some("true"), Some("GroundFailure"))
    );
    let cleared = &tail[4].1["eventData"][0];
    assert_eq!(
        (
            cleared["actualValue"].as_str(),
            cleared["cleared"].as_bool()
        ),
        (Some("false"), Some(true))
    );
    assert_ne!(raised["eventId"], cleared["eventId"]);
}

#[test]
fn on_16_the_cause_travels_in_the_status_itself() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let now = p.clock.now();
    let fault = Fault {
        code: FaultCode::OtherError,
        info: Some("phase fault".into()),
        vendor_error_code: Some("PHASE_FAULT".into()),
    };
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Faulted(fault))
        .unwrap();
    p.exchange();
    assert_eq!(p.count("NotifyEvent"), 0);
    let last = &p.calls.last().unwrap().2;
    assert_eq!(
        (last["errorCode"].as_str(), last["vendorErrorCode"].as_str()),
        (Some("OtherError"), Some("PHASE_FAULT"))
    );
}

fn pending_forever() -> Answer {
    boot_script(vec![
        json!({"status":"Pending","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
    ])
}

#[test]
fn a_triggered_message_goes_out_after_the_answer_even_while_pending() {
    let mut p = Pair::new(settings(), pending_forever());
    p.connect(OcppVersion::V201);
    let before = p.calls.len();
    let r = p.csms_sends(r#"[2,"t1","TriggerMessage",{"requestedMessage":"Heartbeat"}]"#);
    assert_eq!(r, [json!([3, "t1", {"status":"Accepted"}])]);
    assert_eq!(p.actions()[before..], ["Heartbeat"]);
    // Answered first: the CALLRESULT was in the transmit queue before the triggered CALL.
    let r = p.csms_sends(
        r#"[2,"t2","TriggerMessage",{"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}}]"#,
    );
    assert_eq!(r[0][2]["status"], "Accepted");
    assert_eq!(p.calls.last().unwrap().2["evseId"], 2);
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Pending));
}

#[test]
fn trigger_boot_is_refused_once_registered_on_201_but_not_on_16() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"t","TriggerMessage",{"requestedMessage":"BootNotification"}]"#);
    assert_eq!(r[0][2]["status"], "Rejected");
    assert_eq!(p.count("BootNotification"), 1);

    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let r = p.csms_sends(r#"[2,"t","TriggerMessage",{"requestedMessage":"BootNotification"}]"#);
    assert_eq!(r[0][2]["status"], "Accepted");
    assert_eq!(p.count("BootNotification"), 2);
}

#[test]
fn a_triggered_boot_says_triggered() {
    let mut p = Pair::new(
        settings(),
        boot_script(vec![
            json!({"status":"Pending","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
            json!({"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}),
        ]),
    );
    p.connect(OcppVersion::V201);
    assert_eq!(p.calls[0].2["reason"], "PowerUp");
    let r = p.csms_sends(r#"[2,"t","TriggerMessage",{"requestedMessage":"BootNotification"}]"#);
    assert_eq!(r[0][2]["status"], "Accepted");
    assert_eq!(p.calls[1].1, "BootNotification");
    assert_eq!(p.calls[1].2["reason"], "Triggered");
    assert_eq!(p.station.registration(), Some(RegistrationStatus::Accepted));
    // The process started with PowerUp: the startup event says so.
    let startup = p
        .calls
        .iter()
        .find(|c| c.1 == "SecurityEventNotification")
        .unwrap();
    assert_eq!(startup.2["type"], "StartupOfTheDevice");
}

#[test]
fn on_201_a_triggered_status_needs_one_existing_connector() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let before = p.count("StatusNotification");
    for (evse, reason) in [
        ("", "MissingParam"),
        (r#","evse":{"id":1}"#, "MissingParam"),
        (r#","evse":{"id":1,"connectorId":2}"#, "UnknownConnectorId"),
        (r#","evse":{"id":3,"connectorId":1}"#, "UnknownEvse"),
        (r#","evse":{"id":0,"connectorId":1}"#, "UnknownEvse"),
    ] {
        let r = p.csms_sends(&format!(
            r#"[2,"t","TriggerMessage",{{"requestedMessage":"StatusNotification"{evse}}}]"#
        ));
        assert_eq!(r[0][2]["status"], "Rejected", "{evse}");
        assert_eq!(r[0][2]["statusInfo"]["reasonCode"], reason, "{evse}");
    }
    assert_eq!(p.count("StatusNotification"), before, "nothing sent");
    let r = p.csms_sends(
        r#"[2,"t","TriggerMessage",{"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}}]"#,
    );
    assert_eq!(r[0][2], json!({"status":"Accepted"}));
    assert_eq!(p.count("StatusNotification"), before + 1);
    assert_eq!(p.calls.last().unwrap().2["evseId"], 2);
}

#[test]
fn trigger_status_for_all_one_or_a_missing_connector() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let before = p.count("StatusNotification");
    p.csms_sends(r#"[2,"t","TriggerMessage",{"requestedMessage":"StatusNotification"}]"#);
    assert_eq!(
        p.count("StatusNotification") - before,
        3,
        "connectors 0, 1 and 2"
    );
    let r = p.csms_sends(
        r#"[2,"t","TriggerMessage",{"requestedMessage":"StatusNotification","connectorId":9}]"#,
    );
    assert_eq!(r[0][2]["status"], "Rejected");
    let r = p.csms_sends(r#"[2,"t","TriggerMessage",{"requestedMessage":"MeterValues"}]"#);
    assert_eq!(r[0][2]["status"], "NotImplemented");
}

#[test]
fn inoperative_overrides_the_controller_and_operative_restores_it() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    let r = p.csms_sends(
        r#"[2,"a","ChangeAvailability",{"operationalStatus":"Inoperative","evse":{"id":1}}]"#,
    );
    assert_eq!(r[0][2]["status"], "Accepted");
    assert!(p.events.contains(&Event::StateChanged));
    assert_eq!(p.calls.last().unwrap().2["connectorStatus"], "Unavailable");
    // The controller's news does not undo the operator's decision.
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Preparing)
        .unwrap();
    p.exchange();
    assert_eq!(p.calls.last().unwrap().2["connectorStatus"], "Unavailable");
    assert_eq!(
        p.station
            .restorable()
            .inoperative
            .into_iter()
            .collect::<Vec<_>>(),
        [1]
    );
    p.csms_sends(
        r#"[2,"b","ChangeAvailability",{"operationalStatus":"Operative","evse":{"id":1}}]"#,
    );
    assert_eq!(p.calls.last().unwrap().2["connectorStatus"], "Occupied");
}

#[test]
fn inoperative_during_a_session_is_scheduled_until_it_ends() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Charging)
        .unwrap();
    p.exchange();
    let r = p.csms_sends(r#"[2,"a","ChangeAvailability",{"connectorId":0,"type":"Inoperative"}]"#);
    assert_eq!(r[0][2]["status"], "Scheduled");
    assert_eq!(p.calls.last().unwrap().2["status"], "Charging");
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    let last: Vec<(u64, &str)> = p
        .calls
        .iter()
        .rev()
        .take(2)
        .map(|c| {
            (
                c.2["connectorId"].as_u64().unwrap(),
                c.2["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        last.contains(&(1, "Unavailable")) && last.contains(&(0, "Unavailable")),
        "{last:?}"
    );
    assert!(!p.station.restorable().station_operative);
}

#[test]
fn a_scheduled_change_is_saved_and_survives_a_restart() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Charging)
        .unwrap();
    p.exchange();
    p.events.clear();
    let r = p.csms_sends(
        r#"[2,"a","ChangeAvailability",{"operationalStatus":"Inoperative","evse":{"id":1}}]"#,
    );
    assert_eq!(r[0][2]["status"], "Scheduled");
    assert!(p.events.contains(&Event::StateChanged), "saved at once");
    let saved = p.station.restorable();
    assert_eq!(saved.scheduled_inoperative, BTreeSet::from([1]));
    assert!(saved.inoperative.is_empty());

    // The process restarts mid-session: the session ends later, and the order still holds.
    let clock = SimClock::at_a_fixed_date();
    let mut station = Station::new(
        settings(),
        Arc::new(clock.clone()),
        Box::new(|| "x".into()),
        ConnectorStatus::Unavailable,
        saved,
        model(&defaults()),
    );
    station
        .handle_connector_status(clock.now(), 1, ConnectorStatus::Charging)
        .unwrap();
    assert_eq!(station.connector_status(1), Some(ConnectorStatus::Charging));
    station
        .handle_connector_status(clock.now(), 1, ConnectorStatus::Available)
        .unwrap();
    assert_eq!(
        station.connector_status(1),
        Some(ConnectorStatus::Unavailable)
    );
    let after = station.restorable();
    assert_eq!(after.inoperative, BTreeSet::from([1]));
    assert!(after.scheduled_inoperative.is_empty());

    // 0 is the whole station.
    let mut whole = Restorable::default();
    whole.scheduled_inoperative.insert(0);
    let mut station = Station::new(
        settings(),
        Arc::new(clock.clone()),
        Box::new(|| "x".into()),
        ConnectorStatus::Available,
        whole,
        model(&defaults()),
    );
    station
        .handle_connector_status(clock.now(), 2, ConnectorStatus::Charging)
        .unwrap();
    station
        .handle_connector_status(clock.now(), 2, ConnectorStatus::Available)
        .unwrap();
    assert!(!station.restorable().station_operative);
}

#[test]
fn a_restored_unavailable_connector_is_reported_unavailable_after_boot() {
    let clock = SimClock::at_a_fixed_date();
    let mut restored = Restorable::default();
    restored.inoperative.insert(2);
    let mut station = Station::new(
        settings(),
        Arc::new(clock.clone()),
        Box::new(|| "x".into()),
        ConnectorStatus::Available,
        restored,
        model(&defaults()),
    );
    assert_eq!(
        station.connector_status(2),
        Some(ConnectorStatus::Unavailable)
    );
    assert_eq!(
        station.connector_status(1),
        Some(ConnectorStatus::Available)
    );
    station.handle_connected(clock.now(), OcppVersion::V201);
    assert!(station.poll_transmit().is_some());
}

#[test]
fn reset_immediate_is_due_at_once_and_on_idle_waits_for_the_session() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"r","Reset",{"type":"Immediate"}]"#);
    assert_eq!(r[0][2]["status"], "Accepted");
    assert!(p.events.contains(&Event::ResetDue));
    assert!(p.station.restorable().reset_requested);

    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 2, ConnectorStatus::Charging)
        .unwrap();
    p.exchange();
    let r = p.csms_sends(r#"[2,"r","Reset",{"type":"OnIdle"}]"#);
    assert_eq!(r[0][2]["status"], "Scheduled");
    assert!(!p.events.contains(&Event::ResetDue));
    p.station
        .handle_connector_status(now, 2, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    assert!(p.events.contains(&Event::ResetDue));
    let r = p.csms_sends(r#"[2,"r2","Reset",{"type":"Immediate","evseId":1}]"#);
    assert_eq!(r[0][2]["status"], "Rejected");
}

#[test]
fn after_a_remote_reset_the_boot_and_security_event_say_so() {
    let mut s = settings();
    s.boot_reason = BootReason::RemoteReset;
    let mut p = Pair::new(s, accept_all(300));
    p.connect(OcppVersion::V201);
    assert_eq!(p.calls[0].2["reason"], "RemoteReset");
    let event = p
        .calls
        .iter()
        .find(|c| c.1 == "SecurityEventNotification")
        .unwrap();
    assert_eq!(event.2["type"], "ResetOrReboot");
}

#[test]
fn unlock_and_data_transfer_get_honest_answers() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(r#"[2,"u","UnlockConnector",{"evseId":1,"connectorId":1}]"#);
    assert_eq!(r[0][2]["status"], "UnlockFailed");
    let r = p.csms_sends(r#"[2,"u","UnlockConnector",{"evseId":7,"connectorId":1}]"#);
    assert_eq!(r[0][2]["status"], "UnknownConnector");
    let r = p.csms_sends(r#"[2,"d","DataTransfer",{"vendorId":"com.example"}]"#);
    assert_eq!(r[0][2]["status"], "UnknownVendorId");
    let r = p.csms_sends(r#"[2,"d","DataTransfer",{"vendorId":"ocpp-station","messageId":"x"}]"#);
    assert_eq!(r[0][2]["status"], "UnknownMessageId");

    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let r = p.csms_sends(r#"[2,"u","UnlockConnector",{"connectorId":1}]"#);
    assert_eq!(r[0][2]["status"], "NotSupported");
    let r = p.csms_sends(r#"[2,"x","ChangeAvailability",{"type":"Inoperative"}]"#);
    assert_eq!(r[0][2], "OccurenceConstraintViolation");
}

#[test]
fn set_variables_heartbeat_interval_takes_effect_and_is_saved() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(
        r#"[2,"s","SetVariables",{"setVariableData":[{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},"attributeValue":"5"}]}]"#,
    );
    assert_eq!(
        r[0][2]["setVariableResult"][0]["attributeStatus"],
        "Accepted"
    );
    assert!(p.events.contains(&Event::StateChanged));
    assert_eq!(
        p.station
            .restorable()
            .overrides
            .get("OCPPCommCtrlr/HeartbeatInterval")
            .map(String::as_str),
        Some("5")
    );
    p.run_for(Duration::from_secs(50));
    assert_eq!(p.count("Heartbeat"), 10);
}

#[test]
fn a_base_report_arrives_in_parts_after_the_answer_even_while_pending() {
    let mut p = Pair::new(settings(), pending_forever());
    p.connect(OcppVersion::V201);
    let r =
        p.csms_sends(r#"[2,"g","GetBaseReport",{"requestId":42,"reportBase":"FullInventory"}]"#);
    assert_eq!(r[0][2]["status"], "Accepted");
    let reports: Vec<&Value> = p
        .calls
        .iter()
        .filter(|c| c.1 == "NotifyReport")
        .map(|c| &c.2)
        .collect();
    assert!(!reports.is_empty());
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report["requestId"], 42);
        assert_eq!(report["seqNo"], i);
        assert_eq!(report.get("tbc").is_some(), i + 1 < reports.len());
    }
    let r = p.csms_sends(r#"[2,"g","GetBaseReport",{"requestId":43,"reportBase":"NoSuchBase"}]"#);
    assert_eq!(r[0][2], "PropertyConstraintViolation");
}

#[test]
fn change_configuration_on_16_sets_the_heartbeat_and_rejects_read_only_keys() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let r =
        p.csms_sends(r#"[2,"c","ChangeConfiguration",{"key":"HeartbeatInterval","value":"7"}]"#);
    assert_eq!(r[0][2]["status"], "Accepted");
    assert_eq!(p.station.heartbeat_interval(), Duration::from_secs(7));
    let r =
        p.csms_sends(r#"[2,"c","ChangeConfiguration",{"key":"NumberOfConnectors","value":"3"}]"#);
    assert_eq!(r[0][2]["status"], "Rejected");
    let r = p.csms_sends(r#"[2,"c","ChangeConfiguration",{"key":"NoSuchKey","value":"3"}]"#);
    assert_eq!(r[0][2]["status"], "NotSupported");
    let r = p.csms_sends(r#"[2,"g","GetConfiguration",{"key":["HeartbeatInterval","Bogus"]}]"#);
    assert_eq!(r[0][2]["configurationKey"][0]["value"], "7");
    assert_eq!(r[0][2]["unknownKey"], json!(["Bogus"]));
}

#[test]
fn a_password_set_by_the_csms_is_offered_to_the_shell_and_saved_but_never_shown() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(
        r#"[2,"s","SetVariables",{"setVariableData":[{"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},"attributeValue":"a-new-password-0123"}]}]"#,
    );
    assert_eq!(
        r[0][2]["setVariableResult"][0]["attributeStatus"],
        "Accepted"
    );
    assert_eq!(
        p.station.password().map(|s| s.expose()),
        Some("a-new-password-0123")
    );
    assert!(!format!("{:?}", p.station.restorable()).contains("a-new-password-0123"));
}

#[test]
fn on_201_session_phases_are_one_occupied() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    let before = p.count("StatusNotification");
    for status in [
        ConnectorStatus::Available,
        ConnectorStatus::Preparing,
        ConnectorStatus::Charging,
        ConnectorStatus::SuspendedEv,
        ConnectorStatus::Finishing,
        ConnectorStatus::Available,
    ] {
        p.station.handle_connector_status(now, 1, status).unwrap();
        p.exchange();
    }
    let sent: Vec<&str> = p
        .calls
        .iter()
        .filter(|c| c.1 == "StatusNotification")
        .skip(before)
        .map(|c| c.2["connectorStatus"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["Available", "Occupied", "Available"]);
}

#[test]
fn a_status_waiting_for_its_turn_goes_out_as_it_is_when_sent() {
    // The CSMS answers only when told, so a Heartbeat can be kept in flight.
    let mut p = Pair::new(settings(), Box::new(|_, _| None));
    p.connect(OcppVersion::V201);
    let answer = |p: &mut Pair, payload: &str| {
        let id = p.calls.len();
        p.station
            .handle_text(p.clock.now(), &format!(r#"[3,"id-{id}",{payload}]"#));
        p.exchange();
    };
    answer(
        &mut p,
        r#"{"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}"#,
    );
    // Statuses for EVSE 1 and 2, then the startup security event.
    for _ in 0..3 {
        answer(&mut p, "{}");
    }
    let now = p.clock.now();
    p.station.handle_heartbeat_request(now);
    p.exchange();
    // The CSMS asks for EVSE 2 and the controller moves on while the Heartbeat is in flight.
    let r = p.csms_sends(
        r#"[2,"t","TriggerMessage",{"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}}]"#,
    );
    assert_eq!(r[0][2]["status"], "Accepted");
    for status in [
        ConnectorStatus::Preparing,
        fault(),
        ConnectorStatus::Available,
    ] {
        p.station.handle_connector_status(now, 2, status).unwrap();
        p.exchange();
    }
    assert_eq!(p.calls.last().unwrap().1, "Heartbeat");
    answer(&mut p, r#"{"currentTime":"2026-11-22T08:00:00Z"}"#);
    let (_, action, payload) = p.calls.last().unwrap();
    assert_eq!(action, "StatusNotification");
    assert_eq!(
        (&payload["evseId"], &payload["connectorStatus"]),
        (&json!(2), &json!("Available")),
        "the status as it is now, not as it was when the trigger came"
    );
}

#[test]
fn a_change_while_a_status_is_in_flight_is_sent_after_it() {
    // The CSMS answers only when told, so a status can be kept in flight.
    let mut p = Pair::new(settings(), Box::new(|_, _| None));
    p.connect(OcppVersion::V201);
    let answer = |p: &mut Pair, payload: &str| {
        let id = p.calls.len();
        p.station
            .handle_text(p.clock.now(), &format!(r#"[3,"id-{id}",{payload}]"#));
        p.exchange();
    };
    answer(
        &mut p,
        r#"{"status":"Accepted","interval":300,"currentTime":"2026-11-22T08:00:00Z"}"#,
    );
    // Statuses for EVSE 1 and 2, then the startup security event.
    for _ in 0..3 {
        answer(&mut p, "{}");
    }
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Preparing)
        .unwrap();
    p.exchange();
    // Back to Unavailable before the CSMS answered the Occupied one.
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Unavailable)
        .unwrap();
    p.exchange();
    answer(&mut p, "{}");
    let evse1: Vec<&str> = p
        .calls
        .iter()
        .filter(|c| c.1 == "StatusNotification" && c.2["evseId"] == 1)
        .map(|c| c.2["connectorStatus"].as_str().unwrap())
        .collect();
    assert_eq!(evse1, ["Unavailable", "Occupied", "Unavailable"]);
}

fn health(too_hot: bool, under_voltage: bool, disk_nearly_full: bool) -> crate::health::Health {
    crate::health::Health {
        too_hot,
        under_voltage,
        disk_nearly_full,
    }
}

#[test]
fn too_hot_faults_every_connector_until_it_cools_down() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Charging)
        .unwrap();
    p.exchange();
    let before = p.calls.len();
    p.station.handle_health(now, health(true, false, false));
    p.exchange();
    let faulted: Vec<(u64, &str, &str)> = p.calls[before..]
        .iter()
        .map(|c| {
            (
                c.2["connectorId"].as_u64().unwrap(),
                c.2["status"].as_str().unwrap(),
                c.2["errorCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        faulted.contains(&(1, "Faulted", "HighTemperature")),
        "{faulted:?}"
    );
    assert!(
        faulted.contains(&(0, "Faulted", "HighTemperature")),
        "{faulted:?}"
    );
    p.station.handle_health(now, health(false, false, false));
    p.exchange();
    assert_eq!(
        p.station.connector_status(1),
        Some(ConnectorStatus::Charging)
    );
    let last = &p.calls.last().unwrap().2;
    assert_eq!(last["errorCode"], "NoError");
}

#[test]
fn on_16_a_warning_rides_on_connector_zero_without_taking_it_out_of_service() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V16);
    let now = p.clock.now();
    p.station
        .handle_connector_status(now, 1, ConnectorStatus::Available)
        .unwrap();
    p.exchange();
    p.station.handle_health(now, health(false, true, false));
    p.exchange();
    let last = &p.calls.last().unwrap().2;
    assert_eq!(
        (
            last["connectorId"].as_u64(),
            last["status"].as_str(),
            last["errorCode"].as_str(),
            last["vendorErrorCode"].as_str()
        ),
        (
            Some(0),
            Some("Available"),
            Some("OtherError"),
            Some("UNDER_VOLTAGE")
        )
    );
    p.station.handle_health(now, health(false, false, false));
    p.exchange();
    let last = &p.calls.last().unwrap().2;
    assert_eq!(
        (last["connectorId"].as_u64(), last["errorCode"].as_str()),
        (Some(0), Some("NoError"))
    );
    assert!(last.get("vendorErrorCode").is_none());
}

#[test]
fn on_201_warnings_are_station_problem_events_raised_and_cleared_once() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let now = p.clock.now();
    p.station.handle_health(now, health(false, false, true));
    p.exchange();
    p.station.handle_health(now, health(false, false, true));
    p.exchange();
    let events: Vec<&Value> = p
        .calls
        .iter()
        .filter(|c| c.1 == "NotifyEvent")
        .map(|c| &c.2["eventData"][0])
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["component"], json!({"name":"ChargingStation"}));
    assert_eq!(events[0]["techCode"], "DISK_NEARLY_FULL");
    assert_eq!(
        p.count("StatusNotification"),
        2,
        "a warning changes no connector status"
    );
    p.station.handle_health(now, health(false, false, false));
    p.exchange();
    let last = &p.calls.last().unwrap().2["eventData"][0];
    assert_eq!(
        (last["actualValue"].as_str(), last["cleared"].as_bool()),
        (Some("false"), Some(true))
    );
}

#[test]
fn a_warning_raised_while_offline_reaches_the_csms_after_the_reconnect() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    p.disconnect();
    let now = p.clock.now();
    p.station.handle_health(now, health(false, true, false));
    p.run_for(Duration::from_secs(10));
    p.connect(OcppVersion::V201);
    let last = &p.calls.last().unwrap();
    assert_eq!(last.1, "NotifyEvent");
    assert_eq!(last.2["eventData"][0]["techCode"], "UNDER_VOLTAGE");
}

#[test]
fn metrics_go_out_as_data_transfer_in_each_versions_shape_and_only_when_registered() {
    for (version, expected) in [
        (
            OcppVersion::V201,
            json!({"vendorId":"ocpp-station","messageId":"Metrics","data":{"cpu":1}}),
        ),
        (
            OcppVersion::V16,
            json!({"vendorId":"ocpp-station","messageId":"Metrics","data":"{\"cpu\":1}"}),
        ),
    ] {
        let mut p = Pair::new(settings(), pending_forever());
        p.connect(version);
        let now = p.clock.now();
        p.station.handle_metrics_due(now, json!({"cpu": 1}));
        p.exchange();
        assert_eq!(p.count("DataTransfer"), 0, "not while Pending");
        let mut p = Pair::new(settings(), accept_all(300));
        p.connect(version);
        p.station.handle_metrics_due(now, json!({"cpu": 1}));
        p.exchange();
        assert_eq!(p.calls.last().unwrap().2, expected);
    }
}

#[test]
fn get_variables_and_the_full_report_show_the_latest_health_sample() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let ask = r#"[2,"h","GetVariables",{"getVariableData":[{"component":{"name":"StationHealth"},"variable":{"name":"Uptime"}}]}]"#;
    let r = p.csms_sends(ask);
    assert_eq!(
        r[0][2]["getVariableResult"][0]["attributeStatus"],
        "Rejected"
    );
    let mut sample: crate::health::Sample = serde_json::from_value(json!({
        "cpu_percent": 3.5, "load_average": [0.1, 0.2, 0.3],
        "memory_used_bytes": 1000, "memory_total_bytes": 4000, "uptime_seconds": 42
    }))
    .unwrap();
    p.station.handle_sample(sample.clone());
    let r = p.csms_sends(ask);
    let result = &r[0][2]["getVariableResult"][0];
    assert_eq!(
        (&result["attributeStatus"], &result["attributeValue"]),
        (&json!("Accepted"), &json!("42"))
    );
    // The newest sample wins; the report carries the same values.
    sample.uptime_seconds = 72;
    p.station.handle_sample(sample);
    p.csms_sends(r#"[2,"g","GetBaseReport",{"requestId":7,"reportBase":"FullInventory"}]"#);
    let uptime = p
        .calls
        .iter()
        .filter(|c| c.1 == "NotifyReport")
        .flat_map(|c| c.2["reportData"].as_array().cloned().unwrap_or_default())
        .find(|d| d["component"]["name"] == "StationHealth" && d["variable"]["name"] == "Uptime")
        .unwrap();
    assert_eq!(uptime["variableAttribute"][0]["value"], "72");
    assert_eq!(uptime["variableAttribute"][0]["mutability"], "ReadOnly");
}

#[test]
fn unanswered_heartbeats_are_counted_and_an_answer_resets_the_count() {
    // The CSMS starts answering Heartbeats only when the flag is set.
    let flag = std::rc::Rc::new(std::cell::Cell::new(false));
    let seen = flag.clone();
    let mut p = Pair::new(
        settings(),
        Box::new(move |action, _| match action {
            "BootNotification" => Some(
                json!({"status":"Accepted","interval":60,"currentTime":"2026-11-22T08:00:00Z"}),
            ),
            "Heartbeat" if seen.get() => Some(json!({"currentTime":"2026-11-22T08:00:00Z"})),
            "Heartbeat" => None,
            _ => Some(json!({})),
        }),
    );
    p.connect(OcppVersion::V201);
    p.run_for(Duration::from_secs(200));
    assert!(
        p.station.missed_heartbeats() >= 2,
        "{}",
        p.station.missed_heartbeats()
    );
    assert_eq!(p.station.last_heartbeat_utc(), None);
    flag.set(true);
    p.run_for(Duration::from_secs(100));
    assert_eq!(p.station.missed_heartbeats(), 0);
    assert!(p.station.last_heartbeat_utc().is_some());
}

// ----- intervals beyond any real wait ----------------------------------------------------------

/// A Boot answer with `status` and this `interval`, verbatim.
fn boot_answer_with(status: &'static str, interval: Value) -> Answer {
    Box::new(move |action, _| {
        Some(match action {
            "BootNotification" => {
                json!({"status":status,"interval":interval,"currentTime":"2026-11-22T08:00:00Z"})
            }
            "Heartbeat" => json!({"currentTime":"2026-11-22T08:00:00Z"}),
            _ => json!({}),
        })
    })
}

fn hostile_intervals() -> Vec<Value> {
    vec![
        json!(u64::MAX),
        json!(i64::MAX),
        json!(1e300),
        json!("18446744073709551615"),
        json!("1e300"),
        json!(f64::MAX),
    ]
}

#[test]
fn a_huge_accepted_interval_gives_a_weekly_heartbeat() {
    for version in [OcppVersion::V201, OcppVersion::V16] {
        for interval in hostile_intervals() {
            let mut p = Pair::new(settings(), boot_answer_with("Accepted", interval.clone()));
            p.connect(version);
            assert_eq!(p.station.registration(), Some(RegistrationStatus::Accepted));
            assert_eq!(
                p.station.heartbeat_interval(),
                crate::deadline::MAX_CSMS_INTERVAL,
                "{interval}"
            );
            // The heartbeat timer is a week ahead, not in the past and not never.
            let start = p.clock.now();
            let due = p.station.poll_timeout().expect("a heartbeat is scheduled");
            assert_eq!(due - start, crate::deadline::MAX_CSMS_INTERVAL);
            p.run_for(Duration::from_secs(6 * 86_400));
            assert_eq!(p.count("Heartbeat"), 0, "{interval}");
            p.run_for(Duration::from_secs(86_400));
            assert_eq!(p.count("Heartbeat"), 1, "{interval}");
        }
    }
}

#[test]
fn a_huge_pending_or_rejected_interval_retries_boot_after_a_week() {
    for status in ["Pending", "Rejected"] {
        for interval in hostile_intervals() {
            let mut p = Pair::new(settings(), boot_answer_with(status, interval.clone()));
            p.connect(OcppVersion::V201);
            assert_eq!(p.count("BootNotification"), 1);
            p.run_for(Duration::from_secs(7 * 86_400 - 1));
            assert_eq!(p.count("BootNotification"), 1, "{status} {interval}");
            p.run_for(Duration::from_secs(1));
            assert_eq!(p.count("BootNotification"), 2, "{status} {interval}");
        }
    }
}

#[test]
fn any_boot_interval_schedules_a_future_wakeup() {
    // Every shape and size of interval: the next wake-up is never in the past (a spin) and the
    // station keeps answering.
    let mut intervals = hostile_intervals();
    intervals.extend([
        json!(0),
        json!(-1),
        json!(-1e300),
        json!(0.5),
        json!(""),
        json!(null),
        json!([1]),
        json!({"s": 1}),
        json!(604_800),
        json!(604_801),
        json!(u32::MAX),
    ]);
    for status in ["Accepted", "Pending", "Rejected"] {
        for interval in &intervals {
            let mut p = Pair::new(settings(), boot_answer_with(status, interval.clone()));
            p.connect(OcppVersion::V201);
            let now = p.clock.now();
            let wake = p.station.poll_timeout().expect("something is scheduled");
            assert!(wake > now, "{status} {interval}: wake-up in the past");
            assert!(
                wake - now <= crate::deadline::MAX_CSMS_INTERVAL,
                "{status} {interval}"
            );
        }
    }
}

// ----- reports and what the CSMS can make the station hold ----------------------------------

/// A CSMS that answers every BootNotification and, while `answering` is set, every other CALL;
/// otherwise it withholds the answer.
fn withholding(answering: std::rc::Rc<std::cell::Cell<bool>>) -> Answer {
    let mut accept = accept_all(300);
    Box::new(move |action, payload| {
        if action == "BootNotification" || answering.get() {
            accept(action, payload)
        } else {
            None
        }
    })
}

/// The NotifyReport parts the CSMS received for `request_id`, in order.
fn report_parts(p: &Pair, request_id: i64) -> Vec<Value> {
    p.calls
        .iter()
        .filter(|c| c.1 == "NotifyReport" && c.2["requestId"] == request_id)
        .map(|c| c.2.clone())
        .collect()
}

/// Checks seqNo from 0 and tbc on every part but the last; returns every reportData entry as
/// `Component[evse].Variable[instance]`.
fn report_entries(parts: &[Value]) -> Vec<String> {
    assert!(!parts.is_empty());
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part["seqNo"], i, "{parts:?}");
        assert_eq!(part["tbc"] == true, i + 1 < parts.len(), "{parts:?}");
        let n = part["reportData"].as_array().unwrap().len();
        assert!((1..=50).contains(&n), "{n} entries in part {i}");
    }
    parts
        .iter()
        .flat_map(|p| p["reportData"].as_array().unwrap().clone())
        .map(|d| {
            let evse = d["component"]["evse"]["id"]
                .as_u64()
                .map_or(String::new(), |id| format!("[{id}]"));
            let instance = d["variable"]["instance"]
                .as_str()
                .map_or(String::new(), |i| format!("[{i}]"));
            format!(
                "{}{evse}.{}{instance}",
                d["component"]["name"].as_str().unwrap(),
                d["variable"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn fault() -> ConnectorStatus {
    ConnectorStatus::Faulted(Fault {
        code: FaultCode::GroundFailure,
        info: Some("earth fault".into()),
        vendor_error_code: None,
    })
}

#[test]
fn get_report_sends_what_the_components_variables_and_criteria_select() {
    let mut p = Pair::new(settings(), accept_all(300));
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(
        r#"[2,"r1","GetReport",{"requestId":1,"componentVariable":[{"component":{"name":"EVSE"},"variable":{"name":"AvailabilityState"}}]}]"#,
    );
    assert_eq!(r, [json!([3, "r1", {"status":"Accepted"}])]);
    assert_eq!(
        report_entries(&report_parts(&p, 1)),
        ["EVSE[1].AvailabilityState", "EVSE[2].AvailabilityState"]
    );

    // Nothing has a problem yet.
    let r = p.csms_sends(r#"[2,"r2","GetReport",{"requestId":2,"componentCriteria":["Problem"]}]"#);
    assert_eq!(r[0][2], json!({"status":"EmptyResultSet"}));
    assert!(report_parts(&p, 2).is_empty());
    let now = p.clock.now();
    p.station.handle_connector_status(now, 2, fault()).unwrap();
    p.exchange();
    let r = p.csms_sends(r#"[2,"r3","GetReport",{"requestId":3,"componentCriteria":["Problem"]}]"#);
    assert_eq!(r[0][2], json!({"status":"Accepted"}));
    let entries = report_entries(&report_parts(&p, 3));
    assert!(
        entries.contains(&"Connector[2].Problem".to_owned()),
        "{entries:?}"
    );
    assert!(
        entries.iter().all(|e| e.starts_with("Connector[2]")),
        "{entries:?}"
    );

    // No filter at all: the full inventory, in parts.
    p.csms_sends(r#"[2,"b","GetBaseReport",{"requestId":4,"reportBase":"FullInventory"}]"#);
    p.csms_sends(r#"[2,"r4","GetReport",{"requestId":5}]"#);
    assert_eq!(
        report_entries(&report_parts(&p, 5)),
        report_entries(&report_parts(&p, 4))
    );

    // What the schema forbids.
    for (payload, code) in [
        (
            r#"{"requestId":6,"componentVariable":[]}"#,
            "OccurrenceConstraintViolation",
        ),
        (
            r#"{"requestId":6,"componentCriteria":["Active","Active","Active","Active","Active"]}"#,
            "OccurrenceConstraintViolation",
        ),
        (
            r#"{"requestId":6,"componentCriteria":["Broken"]}"#,
            "PropertyConstraintViolation",
        ),
        (
            r#"{"componentCriteria":["Active"]}"#,
            "OccurrenceConstraintViolation",
        ),
    ] {
        let r = p.csms_sends(&format!(r#"[2,"x","GetReport",{payload}]"#));
        assert_eq!(r[0][0], 4, "{payload}");
        assert_eq!(r[0][2], code, "{payload}");
    }
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"component":{"name":"OCPPCommCtrlr"}}))
        .collect();
    let r = p.csms_sends(
        &json!([2, "x", "GetReport", {"requestId": 6, "componentVariable": many}]).to_string(),
    );
    assert_eq!(r[0][2], "OccurrenceConstraintViolation");
    assert!(report_parts(&p, 6).is_empty());
}

#[test]
fn get_report_works_while_pending() {
    let mut p = Pair::new(settings(), pending_forever());
    p.connect(OcppVersion::V201);
    let r = p.csms_sends(
        r#"[2,"r","GetReport",{"requestId":9,"componentVariable":[{"component":{"name":"SecurityCtrlr"},"variable":{"name":"Identity"}}]}]"#,
    );
    assert_eq!(r[0][2], json!({"status":"Accepted"}));
    assert_eq!(
        report_entries(&report_parts(&p, 9)),
        ["SecurityCtrlr.Identity"]
    );
}

#[test]
fn a_report_asked_for_while_one_is_being_sent_is_rejected_with_the_reason() {
    let answering = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut settings = settings();
    settings.connectors = 8;
    let defaults = Defaults {
        connectors: 8,
        ..defaults()
    };
    let mut p = Pair::with_model(settings, model(&defaults), withholding(answering.clone()));
    p.connect(OcppVersion::V201);
    answering.set(false);
    let r = p.csms_sends(r#"[2,"a","GetBaseReport",{"requestId":1,"reportBase":"FullInventory"}]"#);
    assert_eq!(r[0][2], json!({"status":"Accepted"}));
    for (id, frame) in [
        (
            "b",
            r#"[2,"b","GetBaseReport",{"requestId":2,"reportBase":"SummaryInventory"}]"#,
        ),
        ("c", r#"[2,"c","GetReport",{"requestId":3}]"#),
    ] {
        let r = p.csms_sends(frame);
        assert_eq!(r[0][1], id);
        assert_eq!(r[0][2]["status"], "Rejected");
        assert_eq!(r[0][2]["statusInfo"]["reasonCode"], "Unspecified");
        assert!(
            r[0][2]["statusInfo"]["additionalInfo"]
                .as_str()
                .unwrap()
                .contains("report 1 is still being sent"),
            "{r:?}"
        );
    }
    // A request that selects nothing needs no room: EmptyResultSet as always.
    let r = p.csms_sends(r#"[2,"d","GetReport",{"requestId":4,"componentVariable":[{"component":{"name":"Nothing"}}]}]"#);
    assert_eq!(r[0][2], json!({"status":"EmptyResultSet"}));
    // Once the last part is out, the next report is taken.
    answering.set(true);
    p.run_for(Duration::from_secs(31));
    let first = report_parts(&p, 1);
    assert!(first.len() >= 2, "8 EVSEs take several parts");
    report_entries(&first);
    let r =
        p.csms_sends(r#"[2,"e","GetBaseReport",{"requestId":5,"reportBase":"SummaryInventory"}]"#);
    assert_eq!(r[0][2], json!({"status":"Accepted"}));
    assert!(p.station.is_idle());
}

/// The largest each of the station's queues may become with `connectors` connectors: every
/// kind of message is queued at most once (per connector, for statuses).
fn assert_bounded(station: &Station, connectors: usize) {
    assert!(
        station.triggered.len() <= connectors + 1,
        "triggered: {:?}",
        station.triggered
    );
    // Boot, a status per connector, the startup event, a Heartbeat, two health warnings.
    assert!(
        station.queue.len() <= connectors + 5,
        "queue: {:?}",
        station.queue
    );
    assert!(station.transmit.is_empty(), "answers go out at once");
}

#[test]
fn a_flood_of_requests_with_answers_withheld_holds_a_fixed_amount() {
    let answering = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut p = Pair::new(settings(), withholding(answering.clone()));
    p.connect(OcppVersion::V201);
    answering.set(false);
    let now = p.clock.now();
    p.station.handle_connector_status(now, 1, fault()).unwrap();
    p.exchange();
    let mut accepted_reports = Vec::new();
    for i in 0..10_000u32 {
        let frame = match i % 5 {
            0 => format!(
                r#"[2,"m{i}","GetBaseReport",{{"requestId":{i},"reportBase":"FullInventory"}}]"#
            ),
            1 => format!(r#"[2,"m{i}","GetReport",{{"requestId":{i}}}]"#),
            2 => format!(r#"[2,"m{i}","TriggerMessage",{{"requestedMessage":"Heartbeat"}}]"#),
            3 => format!(
                r#"[2,"m{i}","TriggerMessage",{{"requestedMessage":"StatusNotification","evse":{{"id":1,"connectorId":1}}}}]"#
            ),
            _ => format!(
                r#"[2,"m{i}","ChangeAvailability",{{"operationalStatus":"{}"}}]"#,
                if i % 10 == 4 {
                    "Inoperative"
                } else {
                    "Operative"
                }
            ),
        };
        let r = p.csms_sends(&frame);
        assert_eq!(r.len(), 1, "one answer to {frame}");
        let status = r[0][2]["status"].as_str().unwrap();
        match i % 5 {
            0 | 1 if status == "Accepted" => accepted_reports.push(i64::from(i)),
            0 | 1 => assert_eq!(r[0][2]["statusInfo"]["reasonCode"], "Unspecified"),
            _ => assert_eq!(status, "Accepted", "{frame}"),
        }
        assert_bounded(&p.station, 2);
        // Now and then a withheld answer times out and the next message goes (unanswered).
        if i % 1000 == 999 {
            p.run_for(Duration::from_secs(31));
            assert_bounded(&p.station, 2);
        }
    }
    assert!(!accepted_reports.is_empty());
    // The answers flow again: everything owed goes out and nothing is left behind.
    answering.set(true);
    p.run_for(Duration::from_secs(31));
    assert!(p.station.is_idle(), "nothing left queued");
    assert!(p.station.report.is_none() && p.station.follow_up.is_none());
    // Every report that was accepted arrived whole, parts in order.
    let full = {
        let mut q = Pair::new(settings(), accept_all(300));
        q.connect(OcppVersion::V201);
        q.csms_sends(r#"[2,"f","GetBaseReport",{"requestId":0,"reportBase":"FullInventory"}]"#);
        report_parts(&q, 0).len()
    };
    for id in &accepted_reports {
        let parts = report_parts(&p, *id);
        assert_eq!(parts.len(), full, "report {id}");
        report_entries(&parts);
    }
    // The Heartbeat triggers were folded into the few that could go.
    assert!(
        p.count("Heartbeat") < 100,
        "{} Heartbeats",
        p.count("Heartbeat")
    );
}

#[test]
fn a_fault_triggered_again_and_again_keeps_one_cause_waiting() {
    let answering = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut p = Pair::new(settings(), withholding(answering.clone()));
    p.connect(OcppVersion::V201);
    answering.set(false);
    let now = p.clock.now();
    p.station.handle_connector_status(now, 1, fault()).unwrap();
    p.exchange();
    // Each status goes out unanswered, so the CSMS never acknowledges the fault and each one
    // brings its cause again.
    for _ in 0..200 {
        p.csms_sends(
            r#"[2,"t","TriggerMessage",{"requestedMessage":"StatusNotification","evse":{"id":1,"connectorId":1}}]"#,
        );
        p.run_for(Duration::from_secs(31));
        assert_bounded(&p.station, 2);
    }
    answering.set(true);
    p.run_for(Duration::from_secs(31));
    assert!(p.station.is_idle());
    // Each status that raised the fault was followed by its cause.
    let sent: Vec<&str> = p.actions();
    for (i, action) in sent.iter().enumerate() {
        if *action == "StatusNotification" && p.calls[i].2["connectorStatus"] == "Faulted" {
            assert_eq!(sent.get(i + 1), Some(&"NotifyEvent"), "{sent:?}");
        }
    }
}
