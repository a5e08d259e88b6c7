//! Text from outside (a status file, the CSMS, a path) reaches the terminal and the journal only
//! with its control characters escaped: no ESC sequence, BEL, C1 CSI or line feed from outside
//! ever drives a technician's terminal or forges a log line. The real binary, against the test
//! CSMS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/remote.rs"]
mod remote;

use std::fs;
use std::path::Path;

use chrono::TimeZone as _;
use common::{
    Csms, DEADLINE, Env, csms_config_with, fresh_state_dir, is_call, run_once, run_station,
    spawn_daemon,
};
use ocpp_station::{redact, status_cmd, status_file};
use remote::Remote;
use serde_json::{Value, json};

/// ESC `[2J` (clear the screen), an OSC title with BEL, a C1 CSI, DEL, a line feed that would
/// forge a line, a carriage return and NUL.
const CONTROLS: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{7f}\nFORGED\r\u{0}";

/// Panics when a line of `text` holds a control character; `text`'s own line feeds end lines.
fn assert_printable(what: &str, text: &str) {
    for line in text.split('\n') {
        assert!(
            !line.chars().any(char::is_control),
            "{what} prints a control character: {line:?}"
        );
    }
}

/// A status.json of the running test process with `text` in every string field.
fn status_with(text: &str) -> Value {
    json!({
        "format": 1,
        "pid": std::process::id(),
        "station_name": format!("ST{text}"),
        "updated_utc": text,
        "link": {
            "state": "online",
            "ocpp_version": text,
            "endpoint": format!("wss://csms.example/{text}"),
            "since_utc": text
        },
        "registration": text,
        "last_heartbeat_utc": text,
        "missed_heartbeats": 0,
        "connectors": [{"connector": 1, "status": text, "cause": text}],
        "controller": {
            "port": text, "device": text, "link_up": false, "state": 2,
            "state_name": text, "fault": text
        },
        "health": {"too_hot": false, "under_voltage": false, "disk_nearly_full": false},
        "metrics": null
    })
}

fn status_runs(runtime: &Path) -> Vec<common::OnceRun> {
    let env = [("OCPP_RUNTIME_DIR", runtime.to_str().unwrap())];
    vec![
        run_station(&env, &["status"]),
        run_station(&env, &["status", "--json"]),
    ]
}

#[test]
fn status_shows_every_field_of_a_hostile_status_file_escaped() {
    let runtime = fresh_state_dir();
    fs::create_dir_all(&runtime).unwrap();
    let value = status_with(CONTROLS);
    fs::write(runtime.join("status.json"), value.to_string()).unwrap();
    let [table, json] = <[_; 2]>::try_from(status_runs(&runtime)).unwrap();
    assert_eq!(table.code, 0, "{}", table.context());
    assert_printable("status", &table.stdout);
    assert!(table.stdout.contains("\\u{1b}[2J"), "{}", table.stdout);
    assert_eq!(json.code, 0, "{}", json.context());
    assert_printable("status --json", &json.stdout);
    // Escaped, the JSON still says what the file says.
    assert_eq!(json.report, value, "{}", json.context());
}

#[test]
fn status_reports_an_unusable_status_file_escaped() {
    let runtime = fresh_state_dir();
    fs::create_dir_all(&runtime).unwrap();
    let mut unknown_variant = status_with("x");
    unknown_variant["link"]["state"] = json!(CONTROLS);
    let mut wrong_type = status_with("x");
    wrong_type["missed_heartbeats"] = json!(CONTROLS);
    let files: Vec<Vec<u8>> = vec![
        // serde quotes the value it did not expect.
        unknown_variant.to_string().into_bytes(),
        wrong_type.to_string().into_bytes(),
        // Control bytes and invalid UTF-8 where the parser stops.
        b"{\"format\": 1, \"station_name\": \"\xff\xfe\x1b[2J\"}".to_vec(),
        b"{\"format\": 1,\x1b[2J\x07\x9b31m }".to_vec(),
        b"\x1b]0;owned\x07\n\x9b2J".to_vec(),
    ];
    for bytes in files {
        fs::write(runtime.join("status.json"), &bytes).unwrap();
        for run in status_runs(&runtime) {
            assert_eq!(run.code, 3, "{}", run.context());
            assert!(
                format!("{}{}", run.stdout, run.stderr).contains("is not usable"),
                "{}",
                run.context()
            );
            assert_printable("status", &run.stdout);
            assert_printable("status", &run.stderr);
        }
    }
}

#[test]
fn the_once_line_and_log_show_a_hostile_path_escaped() {
    let dir = fresh_state_dir();
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("station{CONTROLS}.env").replace('\u{0}', ""));
    let env = [("OCPP_STATION_NAME", "TEST_ST_01")];
    let run = run_once(&env, &["--env-file", path.to_str().unwrap()]);
    run.assert_one_json_line();
    assert_eq!(run.code, 2, "{}", run.context());
    assert_printable("--once", &run.stdout);
    assert_printable("--once's log", &run.stderr);
    // The JSON still names the file as it is.
    let error = run.report["error"].as_str().unwrap();
    assert!(error.contains(path.to_str().unwrap()), "{error}");
}

/// The CSMS sends text full of control characters where the station logs it (an unknown
/// action, a message id, a CallError description, an unreadable frame, a close reason); the
/// station answers, reconnects after the close, and its log (every level) holds none of them.
fn csms_text_is_logged_escaped(format: &str) {
    let csms = Csms::start(csms_config_with(json!({"control": true})));
    let env = Env::for_csms(&csms)
        .set("OCPP_LOG", "trace")
        .set("OCPP_LOG_FORMAT", format);
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    csms.wait_for(
        |e| is_call(e) && e["action"] == "SecurityEventNotification",
        DEADLINE,
    );
    let id = "id\u{1b}[2J\u{9b}\nX";
    let frames = [
        // An unknown action: answered NotImplemented, logged as refused.
        json!([2, "csms-esc-1", format!("Act{CONTROLS}"), {}]).to_string(),
        // A message id the station echoes and logs.
        json!([2, id, "Heartbeat", {}]).to_string(),
        // Answers to nothing: logged and ignored.
        json!([4, id, "GenericError", CONTROLS, {}]).to_string(),
        json!([3, id, {"status": CONTROLS}]).to_string(),
        // Not JSON at all, raw control characters in the frame.
        "[2,\"x\u{1b}[2J\u{7}\u{9b}\n".to_owned(),
    ];
    for frame in &frames {
        remote.send(frame);
    }
    // A DataTransfer round trip after them: everything before it has been handled.
    let answer = remote.call("DataTransfer", json!({"vendorId": CONTROLS}));
    assert!(answer.event["message_type"] == 3 || answer.event["message_type"] == 4);
    let from = csms.events().len() - 1;
    remote.command(json!({"close": 1001, "reason": "bye\u{1b}[2J\u{9b}\nFORGED"}));
    csms.wait_for_after(from, "the station's next connection", |e| {
        e["event"] == "connected"
    });
    let status = daemon.terminate();
    assert!(status.success(), "{status}");
    let stderr = daemon.stderr();
    assert!(stderr.contains("refused CSMS call"), "{stderr}");
    assert_printable("the station's log", &stderr);
    assert!(!stderr.contains("\nFORGED"), "a forged log line:\n{stderr}");
}

#[test]
fn csms_text_is_logged_escaped_in_text_lines() {
    csms_text_is_logged_escaped("text");
}

#[test]
fn csms_text_is_logged_escaped_in_json_lines() {
    csms_text_is_logged_escaped("json");
}

// ---------------------------------------------------------------------------------------------
// Property: whatever status.json holds, what `status` shows of it is printable
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
}

/// Text mixing letters with every kind of control character (C0, DEL, C1) and a JSON-hostile
/// quote and backslash.
fn hostile_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        " ",
        "\u{1b}[2J",
        "\u{1b}]0;t\u{7}",
        "\u{9b}",
        "\u{85}",
        "\u{7f}",
        "\n",
        "\r",
        "\t",
        "\u{0}",
        "\"",
        "\\",
        "é",
        "\u{fffd}",
    ];
    (0..rng.below(12))
        .map(|_| PIECES[rng.below(PIECES.len())])
        .collect()
}

/// Every string in `value` replaced by hostile text now and then.
fn poison(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::String(s) if rng.below(2) == 0 => *s = hostile_text(rng),
        Value::Array(items) => items.iter_mut().for_each(|v| poison(rng, v)),
        Value::Object(map) => map.values_mut().for_each(|v| poison(rng, v)),
        _ => {}
    }
}

#[test]
fn whatever_the_status_file_holds_status_shows_it_printable() {
    let mut rng = Rng(0x00dd_ba11_5eed_7e57);
    let now = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let path = Path::new("/run/ocpp-station/status.json");
    let mut parsed = 0;
    for case in 0..5000 {
        let mut value = status_with("x");
        poison(&mut rng, &mut value);
        let mut bytes = value.to_string().into_bytes();
        // Now and then a cut, a flipped byte or raw control bytes spliced in.
        match rng.below(4) {
            0 => bytes.truncate(rng.below(bytes.len() + 1)),
            1 => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            2 => {
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, *b"\x1b[2J\x9b\xc2\x9b\x07\xff");
            }
            _ => {}
        }
        match status_file::parse(path, &bytes) {
            Ok((status, value)) => {
                parsed += 1;
                let table = status_cmd::render(&status, now);
                assert!(
                    !table.lines().any(|l| l.chars().any(char::is_control)),
                    "case {case}: {table:?}"
                );
                let line = redact::json_printable(&value.to_string()).into_owned();
                assert!(!line.chars().any(char::is_control), "case {case}: {line:?}");
            }
            Err(error) => {
                let shown = error.to_string();
                assert!(
                    !shown.chars().any(char::is_control),
                    "case {case}: {shown:?}"
                );
            }
        }
    }
    assert!(parsed > 500, "{parsed}");
}
