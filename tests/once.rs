//! `ocpp-station --once` against a real CSMS: the contract of docs/once.md (one JSON line, the
//! report schema, exit codes), version fallback, subprotocol negotiation, Boot not Accepted,
//! authentication and configuration errors, and every connection outcome against a peer that
//! produces it (the Python CSMS, a Python `websockets` server, raw TCP servers, a closed port, a
//! TLS server with an untrusted certificate, a server that never answers).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use common::{
    Csms, DEADLINE, Env, OnceRun, STATION_NAME, TEST_PASSWORD, csms_config, csms_config_with, dump,
    python, run_once, validate_once_report,
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
fn a_configuration_error_names_the_station_from_the_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("station.env");
    std::fs::write(
        &file,
        "OCPP_STATION_NAME=ORGE_AC_007\nOCPP_201_URL=ws://127.0.0.1:9/ocpp\nOCPP_PRIMARY=2.1\n",
    )
    .unwrap();
    let run = run_once(&[], &["--env-file", &file.to_string_lossy()]);
    run.assert_one_json_line();
    assert_eq!(run.report["result"], "config_error", "{}", run.context());
    assert_eq!(
        run.report["station_name"],
        "ORGE_AC_007",
        "{}",
        run.context()
    );
    validate_once_report(&run.report);
}

#[test]
fn utc_millis_shape() {
    assert!(is_utc_millis("2026-11-22T08:00:00Z"));
    assert!(is_utc_millis("2026-11-22T08:00:00.042Z"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.042123Z"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.042+00:00"));
    assert!(!is_utc_millis("2026-11-22T08:00:00.Z"));
}

// ---------------------------------------------------------------------------------------------
// Every connection outcome, against a peer that produces it
// ---------------------------------------------------------------------------------------------

/// A TCP server on loopback that reads each request head and answers it with `answer`, then
/// closes; with `None` it accepts every connection and never answers. Runs until the test
/// process ends. Returns its port.
fn raw_server(answer: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let Some(answer) = answer else {
                silent.push(stream);
                continue;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let _ = stream.write_all(answer);
        }
    });
    port
}

/// The station's environment for a server at `port` with one URL (2.0.1, `/ocpp201`), so that
/// `--once` dials exactly once.
fn one_url(port: u16) -> Env {
    Env::for_port(port).unset("OCPP_16_URL")
}

/// Exit 3, `connect_failed`, every attempt with `outcome`, and an error that gives `advice`.
fn assert_connect_failed(run: &OnceRun, outcome: &str, advice: &str) {
    run.assert_one_json_line();
    assert_eq!(run.code, 3, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "connect_failed", "{}", run.context());
    assert_eq!(run.report["error_class"], "connect");
    let outcomes = run.outcomes();
    assert!(
        !outcomes.is_empty() && outcomes.iter().all(|o| o == outcome),
        "expected only {outcome}: {}",
        run.context()
    );
    let error = run.report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(advice),
        "the error should say {advice:?}: {error:?}"
    );
    for attempt in run.report["attempts"].as_array().unwrap() {
        assert!(attempt["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

#[test]
fn http_statuses_on_the_upgrade_have_their_outcomes() {
    for (answer, outcome, advice) in [
        (
            &b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"[..],
            "unauthorized",
            "OCPP_STATION_PASSWORD",
        ),
        (
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            "not_found",
            "check the URL",
        ),
        // One version offered and refused: that version is not spoken there.
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            "version_mismatch",
            "OCPP_PRIMARY",
        ),
        (
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
            "http_error",
            "try again later",
        ),
        (
            b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
            "http_error",
            "did not answer the WebSocket upgrade with valid HTTP",
        ),
    ] {
        let answer: &'static [u8] = answer;
        let port = raw_server(Some(answer));
        let run = run_once(&one_url(port).pairs(), &[]);
        assert_connect_failed(&run, outcome, advice);
    }
}

/// A Python `websockets` server that accepts only `subprotocols`, as many CSMSs are built: it
/// answers an offer it cannot serve with HTTP 400 and "invalid subprotocol" in the body.
struct WebsocketsServer {
    child: Child,
    port: u16,
}

impl WebsocketsServer {
    fn start(subprotocols: &[&str]) -> Self {
        const SCRIPT: &str = r#"
import asyncio, json, sys
from websockets.asyncio.server import serve
async def handler(ws):
    await ws.wait_closed()
async def main():
    async with serve(handler, "127.0.0.1", 0, subprotocols=json.loads(sys.argv[1])) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"#;
        let mut child = Command::new(python())
            .args(["-c", SCRIPT, &json!(subprotocols).to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the websockets server did not start: {line:?}")
        });
        Self { child, port }
    }
}

impl Drop for WebsocketsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_websockets_server_without_the_offered_version_is_a_version_mismatch() {
    let server = WebsocketsServer::start(&["ocpp2.1"]);
    // One URL for both versions: the first offer holds both, so only the body of the 400 says
    // that the subprotocol was the problem; then each version alone is refused too.
    let url = format!("ws://127.0.0.1:{}/ocpp", server.port);
    let env = Env::for_port(server.port)
        .set("OCPP_201_URL", &url)
        .set("OCPP_16_URL", &url);
    let run = run_once(&env.pairs(), &[]);
    assert_connect_failed(
        &run,
        "version_mismatch",
        "does not accept this OCPP version",
    );
    let offers: Vec<Value> = run.report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subprotocols_offered"].clone())
        .collect();
    assert_eq!(
        offers,
        [
            json!(["ocpp2.0.1", "ocpp1.6"]),
            json!(["ocpp2.0.1"]),
            json!(["ocpp1.6"])
        ],
        "{}",
        run.context()
    );
}

#[test]
fn a_closed_port_is_a_network_error_that_says_what_to_check() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let run = run_once(&one_url(port).pairs(), &[]);
    assert_connect_failed(&run, "network_error", "check that the CSMS is running");
    let error = run.report["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
}

#[test]
fn an_untrusted_certificate_is_a_tls_error_that_names_the_ca_setting() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("server.pem");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let csms = Csms::start(csms_config_with(json!({
        "tls": {"cert": cert_path, "key": key_path}
    })));
    let env = one_url(csms.port()).set(
        "OCPP_201_URL",
        &format!("wss://localhost:{}/ocpp201", csms.port()),
    );
    let run = run_once(&env.pairs(), &[]);
    assert_connect_failed(&run, "tls_error", "OCPP_CA_PATH");
}

#[test]
fn a_server_that_never_answers_the_upgrade_is_a_timeout() {
    let port = raw_server(None);
    let env = one_url(port).set("OCPP_CALL_TIMEOUT_SECONDS", "1");
    let run = run_once(&env.pairs(), &[]);
    assert_connect_failed(
        &run,
        "timeout",
        "did not answer the WebSocket upgrade within 1 s",
    );
}

#[test]
fn bad_urls_are_configuration_errors_that_never_show_the_password() {
    let port = raw_server(Some(b"HTTP/1.1 500 Internal Server Error\r\n\r\n"));
    let with_password = |separator: &str| {
        format!("ws://{STATION_NAME}:{TEST_PASSWORD}{separator}x@127.0.0.1:{port}/ocpp201")
    };
    let cases = [
        (with_password(""), "must not contain user:password@"),
        (with_password("?"), "must not contain user:password@"),
        (with_password("#"), "must not contain user:password@"),
        (
            format!("ws://@127.0.0.1:{port}/ocpp201"),
            "must not contain user:password@",
        ),
        (
            format!("ws://127.0.0.1:{port}/ocpp201?token=1"),
            "must not contain a ?query",
        ),
        (
            format!("ws://127.0.0.1:{port}/ocpp201#x"),
            "must not contain a #fragment",
        ),
        (
            "ws://127.0.0.1:99999/ocpp201".to_owned(),
            "must have a port from 1 to 65535",
        ),
        ("ws://127.0.0.1:0/ocpp201".to_owned(), "must have a port"),
        (
            "http://127.0.0.1/ocpp201".to_owned(),
            "must start with ws://",
        ),
    ];
    for (url, problem) in &cases {
        for (env, args, named) in [
            (
                one_url(port).set("OCPP_201_URL", url),
                vec![],
                "OCPP_201_URL",
            ),
            (one_url(port), vec!["--url-201", url.as_str()], "--url-201"),
        ] {
            // run_once fails the test if stdout or stderr carries the password.
            let run = run_once(&env.pairs(), &args);
            run.assert_one_json_line();
            assert_eq!(run.code, 2, "{url}: {}", run.context());
            validate_once_report(&run.report);
            assert_eq!(run.report["result"], "config_error");
            let error = run.report["error"].as_str().unwrap_or_default();
            assert!(error.starts_with(named), "{url}: {error}");
            assert!(error.contains(problem), "{url}: {error}");
            assert!(run.report["attempts"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn the_report_shows_the_canonical_url_that_was_dialled() {
    let csms = Csms::start(csms_config());
    let given = format!("WS://LOCALHOST:{}/ocpp201/", csms.port());
    let env = one_url(csms.port()).set("OCPP_201_URL", &given);
    let run = run_once(&env.pairs(), &[]);
    assert_eq!(run.code, 0, "{}", run.context());
    let canonical = format!("ws://localhost:{}/ocpp201/{STATION_NAME}", csms.port());
    assert_eq!(run.report["endpoint"], canonical.as_str());
    assert_eq!(run.report["attempts"][0]["url"], canonical.as_str());
    assert!(
        run.stderr.contains(&canonical) && !run.stderr.contains(&given),
        "the log names the canonical URL:\n{}",
        run.stderr
    );
    let connected = csms.wait_for(|e| e["event"] == "connected", DEADLINE);
    assert_eq!(
        connected["path"],
        format!("/ocpp201/{STATION_NAME}").as_str()
    );
}

#[test]
fn every_outcome_is_documented() {
    let read = |path: &str| {
        std::fs::read_to_string(common::manifest_dir().join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let schema: Value = serde_json::from_str(&read("schemas/once-result.schema.json")).unwrap();
    let outcomes: Vec<String> = schema["$defs"]["attempt"]["properties"]["outcome"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let once_doc = read("docs/once.md");
    let troubleshooting = read("docs/troubleshooting.md");
    let headings: Vec<&str> = troubleshooting
        .lines()
        .filter(|l| l.starts_with('#'))
        .collect();
    for outcome in outcomes.iter().filter(|o| *o != "connected") {
        let quoted = format!("`{outcome}`");
        assert!(
            once_doc.contains(&format!("| {quoted} |")),
            "docs/once.md needs a table row for {quoted}"
        );
        assert!(
            headings.iter().any(|h| h.contains(&quoted)),
            "docs/troubleshooting.md needs a section whose heading names {quoted}"
        );
    }
    // Nothing documented that the report cannot say.
    for doc in [&once_doc, &troubleshooting] {
        assert!(!doc.contains("invalid_url"));
    }
}
