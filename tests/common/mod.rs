//! Shared harness of the integration tests: a real CSMS (`tests/csms/csms.py`, built on the
//! `ocpp` Python package, which validates every message against the official OCPP schemas) and
//! the `ocpp-station` binary, both driven as separate processes on loopback.
//!
//! Waits have generous deadlines that only keep a broken run from hanging; tests assert what
//! happened, never how fast.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses a different part of it"
)]

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The station identity every test uses.
pub const STATION_NAME: &str = "TEST_ST_01";
/// The password every test uses; it must never show up in any output of the station.
pub const TEST_PASSWORD: &str = "s3cr3t-Pa55w0rd-never-printed";
/// Safety net for every wait, in seconds. Never a statement about speed.
pub const DEADLINE: u64 = 30;

/// The workspace root (the station's package), whichever member's tests include this module:
/// it holds `tests/csms`, `schemas` and `.venv`.
pub fn manifest_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("tests").join("csms").join("csms.py").is_file())
        .map_or(here.clone(), Path::to_path_buf)
}

// ---------------------------------------------------------------------------------------------
// Python with the `ocpp` package
// ---------------------------------------------------------------------------------------------

/// The Python interpreter of a virtualenv holding `tests/csms/requirements.txt`.
///
/// `$OCPP_TEST_PYTHON` when set; otherwise `<crate>/.venv/bin/python`, created on first use
/// (`python3 -m venv` + `pip install -r tests/csms/requirements.txt`).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(find_or_create_python)
}

fn python_has_packages(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import ocpp, websockets, jsonschema"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn find_or_create_python() -> PathBuf {
    if let Some(python) = std::env::var_os("OCPP_TEST_PYTHON").filter(|v| !v.is_empty()) {
        let python = PathBuf::from(python);
        assert!(
            python_has_packages(&python),
            "OCPP_TEST_PYTHON={} cannot import ocpp, websockets and jsonschema; install \
             tests/csms/requirements.txt into it or unset OCPP_TEST_PYTHON",
            python.display()
        );
        return python;
    }
    let root = manifest_dir();
    let venv = root.join(".venv");
    let venv_python = venv.join("bin").join("python");
    if python_has_packages(&venv_python) {
        return venv_python;
    }

    let python3_works = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        python3_works,
        "the integration tests need python3 (Debian/Ubuntu: `apt-get install python3 \
         python3-venv`), or OCPP_TEST_PYTHON pointing at a Python with \
         tests/csms/requirements.txt installed"
    );

    // One staging directory per process; the OnceLock keeps threads of this process out.
    let staging = root.join(format!(".venv.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let venv_made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&staging)
        .status()
        .is_ok_and(|status| status.success());
    if !venv_made {
        let _ = fs::remove_dir_all(&staging);
        panic!(
            "`python3 -m venv` failed: install the venv module (Debian/Ubuntu: \
             `apt-get install python3-venv`), or run scripts/test.sh as root once"
        );
    }
    let requirements = root.join("tests").join("csms").join("requirements.txt");
    let installed = Command::new(staging.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        let _ = fs::remove_dir_all(&staging);
        panic!(
            "pip could not install {} (it needs access to PyPI; with python3-pip/venv \
             installed, see the output above)",
            requirements.display()
        );
    }
    // Publish atomically. Another test process may have won the race: then use its copy.
    if fs::rename(&staging, &venv).is_err() {
        if python_has_packages(&venv_python) {
            let _ = fs::remove_dir_all(&staging);
            return venv_python;
        }
        // A broken leftover: replace it.
        let _ = fs::remove_dir_all(&venv);
        if let Err(error) = fs::rename(&staging, &venv) {
            let _ = fs::remove_dir_all(&staging);
            panic!(
                "cannot move the new virtualenv to {}: {error}",
                venv.display()
            );
        }
    }
    assert!(
        python_has_packages(&venv_python),
        "{} was created but cannot import ocpp",
        venv.display()
    );
    venv_python
}

// ---------------------------------------------------------------------------------------------
// Output capture
// ---------------------------------------------------------------------------------------------

/// Text read from a child's pipe by a background thread.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<String>>);

impl Captured {
    /// Starts the thread that reads `pipe` to its end.
    pub fn spawn(mut pipe: impl Read + Send + 'static) -> (Self, JoinHandle<()>) {
        let captured = Self::default();
        let sink = captured.clone();
        let handle = thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .0
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_str(&String::from_utf8_lossy(&buffer[..n])),
                }
            }
        });
        (captured, handle)
    }

    /// Everything read so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The JSON event lines a helper process (the CSMS, the fake controller) prints on stdout,
/// collected by a background thread; tests wait on them. A line that is not JSON becomes an
/// `unparsable_line` event.
#[derive(Clone, Default)]
pub struct EventLog(Arc<(Mutex<Vec<Value>>, Condvar)>);

impl EventLog {
    /// Starts the thread that reads the rest of `lines` (the caller has read the first).
    pub fn collect(lines: impl BufRead + Send + 'static) -> (Self, JoinHandle<()>) {
        let log = Self::default();
        let sink = log.clone();
        let handle = thread::spawn(move || {
            for line in lines.lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"event": "unparsable_line", "line": line}));
                let (list, changed) = &*sink.0;
                list.lock().unwrap_or_else(|e| e.into_inner()).push(event);
                changed.notify_all();
            }
        });
        (log, handle)
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Value> {
        self.0.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until `check` finds something in the events; after `deadline_secs` panics with
    /// "`who` did not see `what`", every event and `context()` (e.g. the process's stderr).
    pub fn wait_until<T>(
        &self,
        who: &str,
        what: &str,
        deadline_secs: u64,
        mut check: impl FnMut(&[Value]) -> Option<T>,
        context: impl FnOnce() -> String,
    ) -> T {
        let deadline = now() + Duration::from_secs(deadline_secs);
        let (list, changed) = &*self.0;
        let mut events = list.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(found) = check(&events) {
                return found;
            }
            let current = now();
            if current >= deadline {
                let all = events.clone();
                drop(events);
                panic!(
                    "{who} did not see {what} within {deadline_secs} s; events:\n{}{}",
                    dump(&all),
                    context()
                );
            }
            events = changed
                .wait_timeout(events, deadline - current)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The real clock: the harness waits on real processes (deadlines only, never assertions).
#[allow(
    clippy::disallowed_methods,
    reason = "the test harness is outside the station core and waits on real processes"
)]
fn now() -> Instant {
    Instant::now()
}

/// Wait for a child with a safety deadline; kill it and panic when the deadline passes.
fn wait_with_deadline(child: &mut Child, what: &str, deadline: Duration) -> ExitStatus {
    let start = now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if start.elapsed() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not exit within {} s", deadline.as_secs());
            }
            Err(error) => panic!("waiting for {what}: {error}"),
        }
    }
}

/// Send SIGTERM to a process (std has no portable signal API; `kill(1)` is everywhere).
fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap_or_else(|error| panic!("cannot run kill(1): {error}"));
    assert!(status.success(), "kill -TERM {pid} failed");
}

/// Shorten long strings (a 1 MiB frame) so a dump stays readable.
fn abbreviate(value: &Value) -> Value {
    match value {
        Value::String(s) if s.len() > 600 => {
            let cut = (0..=300)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            Value::String(format!("{}... ({} bytes)", &s[..cut], s.len()))
        }
        Value::Array(items) => Value::Array(items.iter().map(abbreviate).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), abbreviate(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Events as readable lines, for panic messages.
pub fn dump(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        let _ = writeln!(out, "  {}", abbreviate(event));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The CSMS
// ---------------------------------------------------------------------------------------------

/// A running `tests/csms/csms.py`.
pub struct Csms {
    child: Option<Child>,
    port: u16,
    tls: bool,
    events: EventLog,
    stdout_reader: Option<JoinHandle<()>>,
    stderr: Captured,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Csms {
    /// Start a CSMS with `config` (see the docstring of csms.py) and wait until it listens.
    pub fn start(config: Value) -> Csms {
        let script = manifest_dir().join("tests").join("csms").join("csms.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg("--config")
            .arg(config.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", script.display()));
        let stdout: ChildStdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe: ChildStderr = child.stderr.take().expect("stderr is piped");
        let (stderr, stderr_reader) = Captured::spawn(stderr_pipe);

        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let listening = match lines.read_line(&mut first) {
            Ok(n) if n > 0 => serde_json::from_str::<Value>(&first).ok(),
            _ => None,
        };
        let Some(port) = listening
            .as_ref()
            .filter(|event| event["event"] == "listening")
            .and_then(|event| event["port"].as_u64())
            .and_then(|port| u16::try_from(port).ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = stderr_reader.join();
            panic!(
                "the CSMS did not start (config {config}); first line {first:?}; stderr:\n{}",
                stderr.text()
            );
        };

        let (events, stdout_reader) = EventLog::collect(lines);
        let tls = listening
            .as_ref()
            .and_then(|event| event["tls"].as_bool())
            .unwrap_or(false);
        Csms {
            child: Some(child),
            port,
            tls,
            events,
            stdout_reader: Some(stdout_reader),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The TCP port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint URL for a route prefix, e.g. `url("/ocpp201")`, without the identity.
    pub fn url(&self, prefix: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}{prefix}", self.port)
    }

    /// Every event so far (the `listening` line excluded).
    pub fn events(&self) -> Vec<Value> {
        self.events.events()
    }

    /// What the CSMS wrote on stderr so far.
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
            .wait_until("the CSMS", what, deadline_secs, check, String::new)
    }

    /// Wait for the first event matching `pred`.
    pub fn wait_for(&self, pred: impl Fn(&Value) -> bool, deadline_secs: u64) -> Value {
        self.wait_until("the expected event", deadline_secs, |events| {
            events.iter().find(|e| pred(e)).cloned()
        })
    }

    /// Wait for the first event after position `index` in the event list matching `pred`;
    /// returns the event and its position.
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
                .skip(index + 1)
                .find(|(_, e)| pred(e))
                .map(|(i, e)| (i, e.clone()))
        })
    }

    /// Station CALLs received for `action`, in order (the `recv` events).
    pub fn calls(&self, action: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| is_call(e) && e["action"] == action)
            .collect()
    }

    /// Every CALL the station sent, in order.
    pub fn all_calls(&self) -> Vec<Value> {
        self.events().into_iter().filter(is_call).collect()
    }

    /// Panic when any station frame failed the official schema or the wire rules, or carried the
    /// password.
    pub fn assert_no_validation_errors(&self) {
        let events = self.events();
        let errors: Vec<Value> = events
            .iter()
            .filter(|e| e["event"] == "validation_error")
            .cloned()
            .collect();
        assert!(
            errors.is_empty(),
            "the station sent invalid frames:\n{}\nall events:\n{}",
            dump(&errors),
            dump(&events)
        );
        // What the station sent must not carry the password either.
        for event in &events {
            assert_no_secret(&event.to_string());
        }
    }

    /// SIGTERM, then wait for exit; every event is collected afterwards.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sigterm(child.id());
            let status = wait_with_deadline(&mut child, "the CSMS", Duration::from_secs(DEADLINE));
            if let Some(reader) = self.stdout_reader.take() {
                let _ = reader.join();
            }
            if let Some(reader) = self.stderr_reader.take() {
                let _ = reader.join();
            }
            assert!(
                status.success(),
                "the CSMS exited with {status}; stderr:\n{}",
                self.stderr()
            );
        }
    }
}

impl Drop for Csms {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() && !self.stderr().is_empty() {
            eprintln!("--- CSMS stderr ---\n{}", self.stderr());
        }
    }
}

/// A `recv` event carrying a CALL from the station.
pub fn is_call(event: &Value) -> bool {
    event["event"] == "recv" && event["message_type"] == 2
}

/// Default CSMS configuration: both routes, Basic auth with [`TEST_PASSWORD`], Boot Accepted.
pub fn csms_config() -> Value {
    json!({
        "routes": [
            {"prefix": "/ocpp201", "subprotocols": ["ocpp2.0.1"]},
            {"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]}
        ],
        "password": TEST_PASSWORD,
        "boot": {"statuses": ["Accepted"], "interval": 300}
    })
}

/// [`csms_config`] with `overrides` merged in at the top level.
pub fn csms_config_with(overrides: Value) -> Value {
    let mut config = csms_config();
    if let (Some(base), Some(extra)) = (config.as_object_mut(), overrides.as_object()) {
        for (key, value) in extra {
            base.insert(key.clone(), value.clone());
        }
    }
    config
}

// ---------------------------------------------------------------------------------------------
// The station
// ---------------------------------------------------------------------------------------------

/// A new, empty directory under cargo's per-target scratch space.
pub fn fresh_state_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("state-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The station's environment, built on the test defaults.
#[derive(Clone, Debug)]
pub struct Env(Vec<(String, String)>);

impl Env {
    /// Defaults for a CSMS at `ws://127.0.0.1:<port>`: both versions' URLs, 2.0.1 first, short
    /// retry and call timeouts, and state and runtime directories of its own (never the
    /// system's).
    pub fn for_port(port: u16) -> Env {
        Env(vec![])
            .set("OCPP_STATE_DIR", &fresh_state_dir().to_string_lossy())
            .set("OCPP_RUNTIME_DIR", &fresh_state_dir().to_string_lossy())
            .set("OCPP_STATION_NAME", STATION_NAME)
            .set("OCPP_STATION_PASSWORD", TEST_PASSWORD)
            .set("OCPP_PRIMARY", "2.0.1")
            .set("OCPP_201_URL", &format!("ws://127.0.0.1:{port}/ocpp201"))
            .set("OCPP_16_URL", &format!("ws://127.0.0.1:{port}/ocpp16"))
            .set("OCPP_RETRY_BACKOFF_WAIT_MINIMUM", "1")
            .set("OCPP_RETRY_BACKOFF_RANDOM_RANGE", "0")
            .set("OCPP_CALL_TIMEOUT_SECONDS", "5")
            .set("OCPP_ONCE_TIMEOUT_SECONDS", "20")
            // The station measures the machine it runs on: a test machine's nearly full disk
            // or hot CPU must not raise warnings the test did not ask for (health tests set
            // their own thresholds).
            .set("OCPP_DISK_WARN_PERCENT", "99")
            .set("OCPP_TEMP_FAULT_C", "120")
    }

    /// Defaults for `csms`.
    pub fn for_csms(csms: &Csms) -> Env {
        Env::for_port(csms.port())
    }

    /// Set (or replace) a variable.
    pub fn set(mut self, key: &str, value: &str) -> Env {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The value of a variable, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Remove a variable.
    pub fn unset(mut self, key: &str) -> Env {
        self.0.retain(|(k, _)| k != key);
        self
    }

    /// The variables as borrowed pairs.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The station binary under test: the one `OCPP_STATION_BIN` names (`.ci/run` runs the
/// integration tests again against the static package build that way), else the one this test
/// build made; from another workspace member's tests (the lab's), the one beside this test's
/// build directory, which `cargo test --workspace` builds with the station's own tests.
pub fn station_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("OCPP_STATION_BIN")
            .ok()
            .filter(|path| !path.is_empty())
            .or_else(|| option_env!("CARGO_BIN_EXE_ocpp-station").map(str::to_owned))
            .unwrap_or_else(|| sibling_bin("ocpp-station"))
    })
}

/// `name` in the build directory this test binary runs from (`target/<profile>/deps/..`).
fn sibling_bin(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(name))
        .expect("the test binary sits in target/<profile>/deps");
    assert!(
        bin.is_file(),
        "{} is not built: run the whole suite (scripts/test.sh), or cargo build -p {name}",
        bin.display()
    );
    bin.to_string_lossy().into_owned()
}

/// A command for the station with a cleared environment: PATH plus `env` only, so that the
/// developer's own `OCPP_*` variables never reach the station.
pub fn station_command(env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(station_bin());
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// What one run of the station binary that ends by itself (`--once`, `status`, a bad
/// configuration) produced.
#[derive(Debug)]
pub struct OnceRun {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The stdout line as JSON; `Null` when stdout is not exactly one JSON line.
    pub report: Value,
}

impl OnceRun {
    /// Panic unless stdout is exactly one line holding one JSON object.
    pub fn assert_one_json_line(&self) {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert!(
            lines.len() == 1 && self.stdout.ends_with('\n') && self.report.is_object(),
            "stdout must be exactly one line with one JSON object; got {:?}\n{}",
            self.stdout,
            self.context()
        );
    }

    /// Exit code, report and stderr, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "exit code {}\nreport: {}\nstderr:\n{}",
            self.code,
            serde_json::to_string_pretty(&self.report).unwrap_or_default(),
            self.stderr
        )
    }

    /// The `action`s of `messages[]`, in order.
    pub fn actions(&self) -> Vec<String> {
        self.report["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| m["action"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `outcome`s of `attempts[]`, in order.
    pub fn outcomes(&self) -> Vec<String> {
        self.report["attempts"]
            .as_array()
            .map(|attempts| {
                attempts
                    .iter()
                    .map(|a| a["outcome"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Run `ocpp-station --once <args>` with exactly `env` (plus PATH). Checks that no output
/// carries the password.
pub fn run_once(env: &[(&str, &str)], args: &[&str]) -> OnceRun {
    let mut all_args = vec!["--once"];
    all_args.extend_from_slice(args);
    run_station(env, &all_args)
}

/// Run `ocpp-station <args>` with exactly `env` (plus PATH) until it exits by itself (a net of
/// 90 s kills it and fails the test). Checks that no output carries the password.
pub fn run_station(env: &[(&str, &str)], args: &[&str]) -> OnceRun {
    let mut child = station_command(env, args)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", station_bin()));
    let (stdout, stdout_reader) = Captured::spawn(child.stdout.take().expect("stdout is piped"));
    let (stderr, stderr_reader) = Captured::spawn(child.stderr.take().expect("stderr is piped"));
    // --once bounds itself (OCPP_ONCE_TIMEOUT_SECONDS); this is only a net for a hang.
    let what = format!("ocpp-station {}", args.join(" "));
    let status = wait_with_deadline(&mut child, &what, Duration::from_secs(90));
    let _ = stdout_reader.join();
    let _ = stderr_reader.join();
    let stdout = stdout.text();
    let stderr = stderr.text();
    let report = match stdout.lines().collect::<Vec<_>>().as_slice() {
        [line] => serde_json::from_str(line).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    OnceRun {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        report,
    }
}

/// A station daemon (`ocpp-station` without `--once`).
pub struct Daemon {
    child: Option<Child>,
    stdout: Captured,
    stderr: Captured,
    readers: Vec<JoinHandle<()>>,
}

/// Start the daemon with exactly `env` (plus PATH).
pub fn spawn_daemon(env: &[(&str, &str)]) -> Daemon {
    let mut child = station_command(env, &[])
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", station_bin()));
    let (stdout, stdout_reader) = Captured::spawn(child.stdout.take().expect("stdout is piped"));
    let (stderr, stderr_reader) = Captured::spawn(child.stderr.take().expect("stderr is piped"));
    Daemon {
        child: Some(child),
        stdout,
        stderr,
        readers: vec![stdout_reader, stderr_reader],
    }
}

impl Daemon {
    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// stderr so far (the daemon's log).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// SIGTERM, wait for the exit and return its status. Checks that no output carries the
    /// password.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self
            .child
            .take()
            .expect("the daemon is terminated only once");
        sigterm(child.id());
        let status = wait_with_deadline(&mut child, "the daemon", Duration::from_secs(DEADLINE));
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        assert_no_secret(&self.stdout());
        assert_no_secret(&self.stderr());
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("--- station stderr ---\n{}", self.stderr());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The --once report
// ---------------------------------------------------------------------------------------------

const VALIDATE_SCRIPT: &str = r#"
import json, sys
from jsonschema import validators
with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
instance = json.loads(sys.stdin.read())
cls = validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
for e in errors:
    print("/" + "/".join(map(str, e.absolute_path)) + ": " + e.message)
sys.exit(1 if errors else 0)
"#;

/// What the JSON Schema `schemas/<schema>` says against `value`, one line per complaint; empty
/// when it validates. Validated with Python's `jsonschema`, independent of the station's code.
pub fn schema_errors(schema: &str, value: &Value) -> String {
    use std::io::Write as _;
    let schema = manifest_dir().join("schemas").join(schema);
    let mut child = Command::new(python())
        .args(["-c", VALIDATE_SCRIPT])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run the schema validator: {error}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(value.to_string().as_bytes())
        .expect("the validator reads the document");
    let output = child.wait_with_output().expect("the validator runs");
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.success(),
        complaints.is_empty(),
        "the validator itself failed on {}: {complaints}",
        schema.display()
    );
    complaints
}

/// Panic unless `report` validates against `schemas/once-result.schema.json`.
pub fn validate_once_report(report: &Value) {
    let errors = schema_errors("once-result.schema.json", report);
    assert!(
        errors.is_empty(),
        "the --once report does not match its schema:\n{errors}\nreport: {}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every form in which `password` could leak: plain, the Basic credentials of the test
/// identity, the part of `base64(<anything>:<password>)` that does not depend on what precedes
/// the password (one per alignment), and hexadecimal (a WebSocket library's frame dump, a 1.6
/// AuthorizationKey as the whitepaper sends it) in either case.
pub fn password_forms(password: &str) -> Vec<String> {
    let mut forms = vec![
        password.to_owned(),
        base64(format!("{STATION_NAME}:{password}").as_bytes()),
    ];
    for prefix in ["", "a", "ab"] {
        let encoded = base64(format!("{prefix}{password}").as_bytes());
        // Skip the quantum holding the prefix, drop the padded tail.
        let start = if prefix.is_empty() { 0 } else { 4 };
        let end = encoded.len().saturating_sub(4);
        if end > start + 8 {
            forms.push(encoded[start..end].to_owned());
        }
    }
    let hex = hex(password.as_bytes());
    forms.push(hex.to_uppercase());
    forms.push(hex);
    forms
}

/// Lower-case hexadecimal, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Panic when `text` contains `password` in any of its forms, naming the form and what
/// precedes it, never the password itself.
pub fn assert_no_password(text: &str, password: &str) {
    for (n, form) in password_forms(password).iter().enumerate() {
        if let Some(at) = text.find(form.as_str()) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            panic!(
                "output leaks a password (form {n} of password_forms) after: {:?}",
                &text[from..at]
            );
        }
    }
}

/// Panic when `text` contains the test password in any of its forms.
pub fn assert_no_secret(text: &str) {
    assert_no_password(text, TEST_PASSWORD);
}

#[test]
fn base64_matches_rfc4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    let header = base64(format!("{STATION_NAME}:{TEST_PASSWORD}").as_bytes());
    let other = base64(format!("OTHER_ID:{TEST_PASSWORD}").as_bytes());
    let forms = password_forms(TEST_PASSWORD);
    assert!(forms.iter().any(|form| header.contains(form.as_str())));
    assert!(
        forms
            .iter()
            .skip(2)
            .any(|form| other.contains(form.as_str()))
    );
    // A frame dump shows the payload's bytes as hex, wherever the password starts.
    let dump = format!(
        "payload: 0x{}",
        hex(format!("[\"{TEST_PASSWORD}\"]").as_bytes())
    );
    assert!(forms.iter().any(|form| dump.contains(form.as_str())));
    assert_eq!(hex(b"A\x0f"), "410f");
}
