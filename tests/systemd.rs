//! The daemon under systemd's notification protocol: `READY=1` once it runs, `WATCHDOG=1` pings
//! while it is idle or waiting to reconnect, `STOPPING=1` on SIGTERM. The test plays systemd: it
//! binds the `NOTIFY_SOCKET` datagram socket and sets `WATCHDOG_USEC`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Csms, DEADLINE, Daemon, Env, csms_config, is_call, spawn_daemon};

/// Two seconds: the station pings every second.
const WATCHDOG_USEC: &str = "2000000";

/// The service manager's end of `NOTIFY_SOCKET`.
struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
    /// Every notification line received so far, in order.
    received: Vec<String>,
    _dir: tempfile::TempDir,
}

#[allow(
    clippy::disallowed_methods,
    reason = "the test waits on a real process: deadlines only, never assertions on timing"
)]
fn now() -> Instant {
    Instant::now()
}

impl Manager {
    fn bind() -> Manager {
        // A short path: unix socket paths are limited to about 100 bytes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        Manager {
            socket,
            path,
            received: Vec::new(),
            _dir: dir,
        }
    }

    fn env(&self, env: Env) -> Env {
        env.set("NOTIFY_SOCKET", &self.path.to_string_lossy())
            .set("WATCHDOG_USEC", WATCHDOG_USEC)
            .unset("WATCHDOG_PID")
    }

    /// Receives until `count` lines equal to `line` have arrived in total; panics at the deadline.
    fn wait_for(&mut self, line: &str, count: usize, daemon: &Daemon) {
        let deadline = now() + Duration::from_secs(DEADLINE);
        let mut buffer = [0u8; 4096];
        while self.received.iter().filter(|l| *l == line).count() < count {
            let left = deadline.saturating_duration_since(now());
            assert!(
                !left.is_zero(),
                "no {count} x {line} within {DEADLINE} s; received {:?}\nstation log:\n{}",
                self.received,
                daemon.stderr()
            );
            self.socket.set_read_timeout(Some(left)).unwrap();
            match self.socket.recv(&mut buffer) {
                Ok(n) => {
                    let datagram = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    self.received.extend(
                        datagram
                            .lines()
                            .map(str::to_owned)
                            .filter(|l| !l.is_empty()),
                    );
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("receiving a notification: {e}"),
            }
        }
    }

    /// Everything still queued on the socket (the sender may have exited).
    fn drain(&mut self) {
        self.socket.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = self.socket.recv(&mut buffer) {
            let datagram = String::from_utf8_lossy(&buffer[..n]).into_owned();
            self.received.extend(
                datagram
                    .lines()
                    .map(str::to_owned)
                    .filter(|l| !l.is_empty()),
            );
        }
        self.socket.set_nonblocking(false).unwrap();
    }

    fn position(&self, line: &str) -> Option<usize> {
        self.received.iter().position(|l| l == line)
    }
}

#[test]
fn ready_then_watchdog_pings_while_idle_then_stopping_on_sigterm() {
    let csms = Csms::start(csms_config());
    let mut manager = Manager::bind();
    // No WebSocket pings: with Boot answered with a 300 s heartbeat, nothing but the watchdog
    // wakes the idle session loop, which must keep pinging all the same.
    let env = manager
        .env(Env::for_csms(&csms))
        .set("OCPP_PING_SECONDS", "0");
    let mut daemon = spawn_daemon(&env.pairs());

    manager.wait_for("READY=1", 1, &daemon);
    csms.wait_for(
        |e| is_call(e) && e["action"] == "StatusNotification",
        DEADLINE,
    );
    manager.drain();
    let before = manager
        .received
        .iter()
        .filter(|l| *l == "WATCHDOG=1")
        .count();
    manager.wait_for("WATCHDOG=1", before + 3, &daemon);

    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM: exit 0, got {status}");
    manager.drain();
    manager.wait_for("STOPPING=1", 1, &daemon);

    let ready = manager.position("READY=1").unwrap();
    let stopping = manager.position("STOPPING=1").unwrap();
    assert!(ready < stopping, "{:?}", manager.received);
    assert_eq!(
        manager.received.iter().filter(|l| *l == "READY=1").count(),
        1,
        "READY=1 once: {:?}",
        manager.received
    );
    for (i, line) in manager.received.iter().enumerate() {
        if line == "WATCHDOG=1" {
            assert!(
                ready < i && i < stopping,
                "pings only while running: {:?}",
                manager.received
            );
        }
    }
    csms.assert_no_validation_errors();
}

#[test]
fn without_a_csms_the_station_is_ready_and_pings_while_it_waits_to_redial() {
    // A port nobody listens on: every dial fails at once and the station waits 5 s, longer than
    // the watchdog's 2 s, before each retry.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut manager = Manager::bind();
    let env = Env::for_port(port).set("OCPP_RETRY_BACKOFF_WAIT_MINIMUM", "5");
    let mut daemon = spawn_daemon(&manager.env(env).pairs());

    manager.wait_for("READY=1", 1, &daemon);
    manager.wait_for("WATCHDOG=1", 4, &daemon);
    assert!(
        daemon.stderr().contains("could not connect"),
        "{}",
        daemon.stderr()
    );

    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM: exit 0, got {status}");
    manager.drain();
    manager.wait_for("STOPPING=1", 1, &daemon);
}

#[test]
fn a_watchdog_meant_for_another_process_is_not_pinged() {
    // WATCHDOG_PID names another process (as for a child that inherited the variables).
    let csms = Csms::start(csms_config());
    let mut manager = Manager::bind();
    let env = manager.env(Env::for_csms(&csms)).set("WATCHDOG_PID", "1");
    let mut daemon = spawn_daemon(&env.pairs());

    manager.wait_for("READY=1", 1, &daemon);
    csms.wait_for(
        |e| is_call(e) && e["action"] == "StatusNotification",
        DEADLINE,
    );
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM: exit 0, got {status}");
    manager.drain();
    manager.wait_for("STOPPING=1", 1, &daemon);
    assert!(
        !manager.received.iter().any(|l| l == "WATCHDOG=1"),
        "{:?}",
        manager.received
    );
}
