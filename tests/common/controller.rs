//! A fake ESP32 charge controller for the integration tests: `tests/esp32/fake_controller.py`
//! on a pseudo-terminal, driven over its stdin and observed through its JSON event lines.
//!
//! Include it next to the shared harness:
//!
//! ```ignore
//! mod common;
//! #[path = "common/controller.rs"]
//! mod controller;
//! ```
//!
//! The station opens the symlink the fake maintains (it stands in for the adapter's
//! `/dev/serial/by-id/` name). Waits have generous deadlines that only keep a broken run from
//! hanging; tests assert what happened, never how fast.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fake controller"
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Captured, DEADLINE, EventLog, dump, manifest_dir, python};

/// The real clock: waits on real processes (deadlines only, never assertions).
#[allow(
    clippy::disallowed_methods,
    reason = "the test harness is outside the station core and waits on real processes"
)]
fn now() -> Instant {
    Instant::now()
}

/// The fake controller's script.
pub fn script() -> PathBuf {
    manifest_dir()
        .join("tests")
        .join("esp32")
        .join("fake_controller.py")
}

/// End a child politely (stdin EOF), then for good.
fn finish(child: &mut Child, stdin: Option<ChildStdin>) {
    drop(stdin);
    let start = now();
    while start.elapsed() < Duration::from_secs(3) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A STAT line the fake delivered to an open port (`sent` of kind STAT, glued or not).
pub fn is_delivered_stat(event: &Value) -> bool {
    event["event"] == "sent"
        && event["delivered"] == true
        && event["kind"]
            .as_str()
            .is_some_and(|kind| kind.ends_with("STAT"))
}

/// A running fake controller.
pub struct FakeController {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    link: PathBuf,
    device: String,
    seq: u64,
    events: EventLog,
    stdout_reader: Option<JoinHandle<()>>,
    stderr: Captured,
    stderr_reader: Option<JoinHandle<()>>,
}

impl FakeController {
    /// Start a fake on a new pty, reachable through the symlink `link`, sending a STAT every
    /// `period_secs`; its fields start as IDLE.
    pub fn start(link: &Path, period_secs: f64) -> FakeController {
        Self::start_with(link, period_secs, &[])
    }

    /// [`FakeController::start`], but saying nothing until [`FakeController::speak`] (the
    /// station's read-status goes unanswered meanwhile).
    pub fn start_silent(link: &Path, period_secs: f64) -> FakeController {
        Self::start_with(link, period_secs, &["--silent"])
    }

    fn start_with(link: &Path, period_secs: f64, extra: &[&str]) -> FakeController {
        let mut child = Command::new(python())
            .arg(script())
            .arg("--link")
            .arg(link)
            .arg("--period")
            .arg(period_secs.to_string())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", script().display()));
        let stdin = child.stdin.take().expect("stdin is piped");
        let (stderr, stderr_reader) =
            Captured::spawn(child.stderr.take().expect("stderr is piped"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        let _ = lines.read_line(&mut first);
        let (events, stdout_reader) = EventLog::collect(lines);
        let ready: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
        let Some(device) = ready["device"]
            .as_str()
            .filter(|_| ready["event"] == "ready")
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = stderr_reader.join();
            panic!(
                "the fake controller did not start; first line {first:?}; stderr:\n{}",
                stderr.text()
            );
        };
        FakeController {
            child: Some(child),
            stdin: Some(stdin),
            link: link.to_owned(),
            device,
            seq: 0,
            events,
            stdout_reader: Some(stdout_reader),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The symlink the station is configured with.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// The pty slave the link points at now (`/dev/pts/N`).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Apply one command (see fake_controller.py) and wait until the fake has applied it;
    /// returns its `done` event.
    pub fn send(&mut self, command: Value) -> Value {
        let stdin = self.stdin.as_mut().expect("the fake controller runs");
        writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|error| panic!("the fake controller does not take {command}: {error}"));
        self.seq += 1;
        let seq = self.seq;
        let what = format!("the fake controller applying {command}");
        let done = self.wait_until(&what, DEADLINE, |events| {
            events
                .iter()
                .find(|e| e["event"] == "done" && e["seq"] == seq)
                .cloned()
        });
        if let Some(error) = self
            .events()
            .iter()
            .find(|e| e["event"] == "error" && e["seq"] == seq)
        {
            panic!("the fake controller refused {command}: {error}");
        }
        done
    }

    /// Set STAT fields verbatim, e.g. `json!({"PB": 2})`.
    pub fn set(&mut self, fields: Value) -> Value {
        self.send(json!({ "set": fields }))
    }

    /// Charger state `state` with the fields the firmware shows with it, and power-board flag
    /// `pb` (0 ok, 1 phase fault, 2 earth fault).
    pub fn set_state(&mut self, state: u8, pb: u8) -> Value {
        self.send(json!({"state": state, "set": {"PB": pb}}))
    }

    /// Print nothing (a hung firmware).
    pub fn silence(&mut self) -> Value {
        self.send(json!({"silence": true}))
    }

    /// Back to normal after [`FakeController::silence`]; a STAT follows at once.
    pub fn speak(&mut self) -> Value {
        self.send(json!({"speak": true}))
    }

    /// Field noise: INFO/WARN/ERR lines, a boot banner, debug tokens, random bytes with invalid
    /// UTF-8, and `<CARDEXISTS=1;>` glued to the next STAT.
    pub fn noise(&mut self) -> Value {
        self.send(json!({"noise": true}))
    }

    /// One STAT now.
    pub fn stat_now(&mut self) -> Value {
        self.send(json!({"stat_now": true}))
    }

    /// One STAT per state in `states`, back to back (each with that state's fields).
    pub fn burst(&mut self, states: &[u8]) -> Value {
        self.send(json!({ "burst": states }))
    }

    /// Unplug the adapter: the station's port hangs up, the device and the link disappear.
    pub fn vanish(&mut self) {
        self.send(json!({"vanish": true}));
    }

    /// Plug it back in: a new pty under another device name, the same link; returns the device.
    pub fn come_back(&mut self) -> String {
        let index = self.events().len();
        self.send(json!({"return": true}));
        let (_, returned) = self.wait_for_after(index, "the fake controller's return", |e| {
            e["event"] == "returned"
        });
        self.device = returned["device"]
            .as_str()
            .expect("`returned` names the device")
            .to_owned();
        self.device.clone()
    }

    /// Every event so far (the `ready` line excluded).
    pub fn events(&self) -> Vec<Value> {
        self.events.events()
    }

    /// The host's commands the fake received, by name (`READSTAT`, `AUTH`, `SETMAXAMP`, `STOP`,
    /// `UNKNOWN`).
    pub fn commands(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == "command" && e["name"] == name)
            .collect()
    }

    /// What the fake wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Wait until `check` finds something in the event list; panic with every event otherwise.
    pub fn wait_until<T>(
        &self,
        what: &str,
        deadline_secs: u64,
        check: impl FnMut(&[Value]) -> Option<T>,
    ) -> T {
        self.events
            .wait_until("the fake controller", what, deadline_secs, check, || {
                format!("stderr:\n{}", self.stderr())
            })
    }

    /// Wait for the first event matching `pred`.
    pub fn wait_for(&self, pred: impl Fn(&Value) -> bool, deadline_secs: u64) -> Value {
        self.wait_until("the expected event", deadline_secs, |events| {
            events.iter().find(|e| pred(e)).cloned()
        })
    }

    /// Wait for the first event at or after position `index` matching `pred`; returns it and
    /// its position.
    pub fn wait_for_after(
        &self,
        index: usize,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> (usize, Value) {
        self.wait_until(what, DEADLINE, |events| {
            events
                .iter()
                .enumerate()
                .skip(index)
                .find(|(_, e)| pred(e))
                .map(|(i, e)| (i, e.clone()))
        })
    }

    /// Wait until `count` more STAT lines reached an open port (the station had the chance to
    /// read them); returns the position of the last one.
    pub fn wait_delivered_stats(&self, count: usize) -> usize {
        let from = self.events().len();
        let what = format!("{count} STAT lines delivered to the station");
        self.wait_until(&what, DEADLINE, |events| {
            events
                .iter()
                .enumerate()
                .skip(from)
                .filter(|(_, e)| is_delivered_stat(e))
                .nth(count.saturating_sub(1))
                .map(|(i, _)| i)
        })
    }

    /// Wait until the station (or anyone) has the current device open.
    pub fn wait_host_open(&self) -> Value {
        let device = self.device.clone();
        self.wait_until(
            &format!("the station opening {device}"),
            DEADLINE,
            |events| {
                events
                    .iter()
                    .find(|e| e["event"] == "host_open" && e["device"] == device.as_str())
                    .cloned()
            },
        )
    }
}

impl Drop for FakeController {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            finish(&mut child, self.stdin.take());
        }
        if let Some(reader) = self.stdout_reader.take() {
            let _ = reader.join();
        }
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        if thread::panicking() {
            eprintln!("--- fake controller events ---\n{}", dump(&self.events()));
            let stderr = self.stderr();
            if !stderr.is_empty() {
                eprintln!("--- fake controller stderr ---\n{stderr}");
            }
        }
    }
}

/// Another program holding a port the way a leftover station would: TIOCEXCL plus
/// `flock(LOCK_EX)` (what pyserial's `exclusive=True` does).
pub struct PortHolder {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    /// The `holding` event: `device`, `resolved`, `flock` (whether the lock was taken).
    pub holding: Value,
}

impl PortHolder {
    /// Open and lock `path`; returns once it is held.
    pub fn hold(path: &Path) -> PortHolder {
        let mut child = Command::new(python())
            .arg(script())
            .arg("--hold")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", script().display()));
        let stdin = child.stdin.take();
        let mut first = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut first);
        let holding: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
        if holding["event"] != "holding" {
            let _ = child.kill();
            let _ = child.wait();
            panic!("could not hold {}: {first:?}", path.display());
        }
        PortHolder {
            child: Some(child),
            stdin,
            holding,
        }
    }
}

impl Drop for PortHolder {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            finish(&mut child, self.stdin.take());
        }
    }
}
