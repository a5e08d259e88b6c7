//! systemd's end of the notification protocol for the daemon tests: the test binds the
//! `NOTIFY_SOCKET` datagram socket, sets `WATCHDOG_USEC` and reads `READY=1`, `WATCHDOG=1` and
//! `STOPPING=1` as the station sends them.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses a different part of it"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::common::{DEADLINE, Daemon, Env};

/// Two seconds: the station pings every second.
pub const WATCHDOG_USEC: &str = "2000000";

/// The service manager's end of `NOTIFY_SOCKET`.
pub struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
    /// Every notification line received so far, in order.
    pub received: Vec<String>,
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
    pub fn bind() -> Manager {
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

    pub fn env(&self, env: Env) -> Env {
        env.set("NOTIFY_SOCKET", &self.path.to_string_lossy())
            .set("WATCHDOG_USEC", WATCHDOG_USEC)
            .unset("WATCHDOG_PID")
    }

    /// Receives until `count` lines equal to `line` have arrived in total; panics at the deadline.
    pub fn wait_for(&mut self, line: &str, count: usize, daemon: &Daemon) {
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
    pub fn drain(&mut self) {
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

    /// Where `line` first arrived.
    pub fn position(&self, line: &str) -> Option<usize> {
        self.received.iter().position(|l| l == line)
    }

    /// How many `line`s arrived so far.
    pub fn count(&self, line: &str) -> usize {
        self.received.iter().filter(|l| *l == line).count()
    }
}
