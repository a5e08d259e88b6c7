//! A broken or hostile CSMS against the station daemon: Boot answers whose `interval` is beyond
//! any real wait, and a CSMS that stops reading so that the station's writes block.
//!
//! The station must neither crash (a panic is exit 101, and a crash loop under `Restart=always`)
//! nor hang: a link that takes no more data is left and dialled again like a half-open one, and
//! SIGTERM and the systemd watchdog never wait on a socket write. Waits have generous deadlines
//! that only keep a broken run from hanging; nothing here asserts how fast anything happened.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/notify.rs"]
mod notify;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Csms, DEADLINE, Daemon, Env, csms_config_with, spawn_daemon};
use notify::Manager;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, accept_hdr};

/// The real clock, for safety deadlines only.
#[allow(
    clippy::disallowed_methods,
    reason = "the test harness waits on real processes: deadlines only, never assertions on timing"
)]
fn now() -> Instant {
    Instant::now()
}

/// Polls `check` until it holds; panics with `what` and the station's log at the deadline.
fn wait(what: &str, daemon: &Daemon, mut check: impl FnMut() -> bool) {
    let deadline = now() + Duration::from_secs(DEADLINE);
    while !check() {
        assert!(
            now() < deadline,
            "{what}: not within {DEADLINE} s\nstation log:\n{}",
            daemon.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Boot answers with intervals beyond any real wait
// ---------------------------------------------------------------------------------------------

/// The shapes a huge interval arrived in: u64::MAX, i64::MAX, a float and a string.
fn huge_intervals() -> Vec<Value> {
    vec![
        json!(18_446_744_073_709_551_615u64),
        json!(9_223_372_036_854_775_807i64),
        json!(1e300),
        json!("18446744073709551615"),
    ]
}

/// One CSMS answers the N-th Boot with `status` and the N-th huge interval; a fresh station is
/// started for each, must read the answer, keep running and stop cleanly on SIGTERM.
fn survives_huge_intervals(version: &str, status: &str) {
    let intervals = huge_intervals();
    let answers: Vec<Value> = intervals
        .iter()
        .map(|interval| json!({"merge": {"interval": interval}}))
        .collect();
    let csms = Csms::start(csms_config_with(json!({
        "boot": {"statuses": [status], "interval": 300},
        "answers": {"BootNotification": answers},
    })));
    for (n, interval) in intervals.iter().enumerate() {
        let env = Env::for_csms(&csms).set("OCPP_PRIMARY", version);
        let mut daemon = spawn_daemon(&env.pairs());
        wait(
            &format!("Boot {status} with interval {interval} read"),
            &daemon,
            || daemon.stderr().contains("BootNotification answered"),
        );
        assert_eq!(
            csms.events()
                .iter()
                .filter(|e| e["event"] == "misbehaved")
                .count(),
            n + 1,
            "the CSMS answered this Boot with the hostile interval"
        );
        if status == "Accepted" {
            // Registered: the statuses that follow show the station went on after the answer.
            wait("StatusNotification after Accepted", &daemon, || {
                csms.calls("StatusNotification").len() > n
            });
        }
        let exit = daemon.terminate();
        let log = daemon.stderr();
        assert!(
            exit.success(),
            "{version} {status} interval {interval}: SIGTERM must give exit 0, got {exit}\n{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
        assert!(
            log.contains("longer than the station accepts"),
            "the clamp is logged: {log}"
        );
    }
    csms.assert_no_validation_errors();
}

#[test]
fn huge_intervals_in_an_accepted_boot_answer_201() {
    survives_huge_intervals("2.0.1", "Accepted");
}

#[test]
fn huge_intervals_in_a_pending_boot_answer_201() {
    survives_huge_intervals("2.0.1", "Pending");
}

#[test]
fn huge_intervals_in_a_rejected_boot_answer_201() {
    survives_huge_intervals("2.0.1", "Rejected");
}

#[test]
fn huge_intervals_in_an_accepted_boot_answer_16() {
    survives_huge_intervals("1.6", "Accepted");
}

#[test]
fn huge_intervals_in_a_pending_boot_answer_16() {
    survives_huge_intervals("1.6", "Pending");
}

#[test]
fn huge_intervals_in_a_rejected_boot_answer_16() {
    survives_huge_intervals("1.6", "Rejected");
}

// ---------------------------------------------------------------------------------------------
// A CSMS that stops reading
// ---------------------------------------------------------------------------------------------

/// A minimal OCPP 2.0.1 CSMS on a raw WebSocket: it answers every CALL until the first
/// connection's StatusNotification, then never reads that connection again and floods it with
/// GetVariables requests whose answers the station cannot get rid of. Later connections are
/// served normally.
struct StallingCsms {
    port: u16,
    shared: Arc<Stall>,
}

#[derive(Default)]
struct Stall {
    /// WebSocket connections accepted.
    connections: AtomicUsize,
    /// Bytes of requests written into the stalled connection.
    flooded: AtomicU64,
    stop: AtomicBool,
}

impl StallingCsms {
    fn start() -> StallingCsms {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Stall::default());
        let serving = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let shared = Arc::clone(&serving);
                thread::spawn(move || serve(stream, &shared));
            }
        });
        StallingCsms { port, shared }
    }

    fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until the flood no longer moves: the station stopped reading the stalled link.
    fn wait_until_stuck(&self, daemon: &Daemon) {
        wait("the flood to start", daemon, || {
            self.shared.flooded.load(Ordering::SeqCst) > 0
        });
        let mut last = 0;
        let mut still_since = now();
        wait("the station to stop taking data", daemon, || {
            let flooded = self.shared.flooded.load(Ordering::SeqCst);
            if flooded != last {
                last = flooded;
                still_since = now();
            }
            now().duration_since(still_since) >= Duration::from_secs(1)
        });
    }
}

impl Drop for StallingCsms {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback type, not ours"
)]
fn serve(stream: TcpStream, shared: &Stall) {
    let raw = stream.try_clone().unwrap();
    let accept_201 = |_: &Request, mut response: Response| {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
        Ok(response)
    };
    let Ok(mut ws) = accept_hdr(stream, accept_201) else {
        return;
    };
    let number = shared.connections.fetch_add(1, Ordering::SeqCst);
    while let Ok(message) = ws.read() {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if frame.first() != Some(&json!(2)) {
            continue;
        }
        let id = frame.get(1).cloned().unwrap_or(json!("-1"));
        let action = frame.get(2).and_then(Value::as_str).unwrap_or_default();
        let payload = match action {
            "BootNotification" => json!({
                "status": "Accepted",
                "interval": 300,
                "currentTime": "2026-12-01T08:00:00.000Z"
            }),
            "Heartbeat" => json!({"currentTime": "2026-12-01T08:00:00.000Z"}),
            _ => json!({}),
        };
        if ws
            .send(Message::text(json!([3, id, payload]).to_string()))
            .is_err()
        {
            return;
        }
        if number == 0 && action == "StatusNotification" {
            flood(raw, shared);
            // Keeps the connection open, unread, until the station gives up on it.
            while !shared.stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
            return;
        }
    }
}

/// Writes GetVariables requests (50 unknown components each, so that every answer is a few
/// kilobytes) into the connection until writing fails or blocks for good.
fn flood(mut raw: TcpStream, shared: &Stall) {
    let items: Vec<Value> = (0..50)
        .map(|i| {
            json!({
                "component": {"name": format!("NoSuchComponentWithAVeryLongName_{i:016}")},
                "variable": {"name": format!("NoSuchVariableWithAVeryLongName_{i:017}")}
            })
        })
        .collect();
    let mut n: u64 = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        n += 1;
        let call = json!([2, format!("flood-{n}"), "GetVariables", {"getVariableData": items}]);
        let frame = server_text_frame(call.to_string().as_bytes());
        if raw.write_all(&frame).is_err() {
            return;
        }
        shared
            .flooded
            .fetch_add(frame.len() as u64, Ordering::SeqCst);
    }
}

/// An unmasked WebSocket text frame, as a server sends it.
fn server_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// The station's environment for the raw CSMS: 2.0.1 only.
fn stall_env(csms: &StallingCsms) -> Env {
    Env::for_port(csms.port).unset("OCPP_16_URL")
}

#[test]
fn a_csms_that_stops_reading_is_left_and_dialled_again() {
    let csms = StallingCsms::start();
    // Pings every 5 s: a write that cannot finish is given up like a missed pong.
    let env = stall_env(&csms).set("OCPP_PING_SECONDS", "5");
    let mut daemon = spawn_daemon(&env.pairs());
    csms.wait_until_stuck(&daemon);
    wait("a second connection", &daemon, || csms.connections() >= 2);
    assert!(daemon.is_alive(), "{}", daemon.stderr());
    let exit = daemon.terminate();
    assert!(exit.success(), "SIGTERM: exit 0, got {exit}");
}

#[test]
fn sigterm_and_the_watchdog_never_wait_on_a_blocked_write() {
    let csms = StallingCsms::start();
    let mut manager = Manager::bind();
    // No pings and a long MessageTimeout: the stuck write would hold for a minute, longer than
    // every wait below.
    let env = manager
        .env(stall_env(&csms))
        .set("OCPP_PING_SECONDS", "0")
        .set("OCPP_CALL_TIMEOUT_SECONDS", "120");
    let mut daemon = spawn_daemon(&env.pairs());
    csms.wait_until_stuck(&daemon);

    // systemd keeps hearing from a station whose link is stuck.
    manager.drain();
    let before = manager.count("WATCHDOG=1");
    manager.wait_for("WATCHDOG=1", before + 3, &daemon);
    assert_eq!(csms.connections(), 1, "still on the stuck link");

    let exit = daemon.terminate();
    assert!(exit.success(), "SIGTERM: exit 0, got {exit}");
    manager.drain();
    manager.wait_for("STOPPING=1", 1, &daemon);
}
