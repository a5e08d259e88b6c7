//! Fault injection on loopback: the station daemon against a CSMS (tests/csms/csms.py) reached
//! through a TCP proxy in this test that can drop, black-hole and cut connections, a CSMS that
//! answers late, twice, with the wrong id or not at all, crosses the station's CALLs with its own,
//! floods and sends 1 MiB frames, and a fake charge controller (tests/esp32/fake_controller.py)
//! that floods the serial line with garbage and cuts lines mid-way.
//!
//! Each test checks that the process stays alive, that every CALL owed an answer gets the right
//! one, that a dead link is noticed and redialled per RetryBackOff, and that nothing the station
//! owed the CSMS is lost on the way. Waits have generous deadlines that only keep a broken run
//! from hanging; nothing here asserts how fast anything happened.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/controller.rs"]
mod controller;
#[path = "common/remote.rs"]
mod remote;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{Csms, DEADLINE, Daemon, Env, csms_config_with, dump, is_call, spawn_daemon};
use controller::FakeController;
use remote::Remote;
use serde_json::{Value, json};

/// Seconds between the fake controller's STAT lines (the real firmware: 7.5).
const PERIOD: f64 = 0.3;
/// The by-id name of the fake controller's link, as a CP2102 adapter shows up.
const ADAPTER: &str = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0";

/// The real clock, for safety deadlines only.
#[allow(
    clippy::disallowed_methods,
    reason = "the test harness is outside the station core and waits on real processes"
)]
fn now() -> Instant {
    Instant::now()
}

// ---------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------

/// Which way bytes travel through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// Station to CSMS.
    Up,
    /// CSMS to station.
    Down,
}

/// One proxied connection.
struct Link {
    /// Both sockets (station side, CSMS side), kept to shut them down.
    sockets: [TcpStream; 2],
    /// Stop forwarding in both directions without closing anything.
    black_holed: Arc<AtomicBool>,
    /// Forward half of the next chunk in this direction, then close both sides.
    cut_up: CutSwitch,
    cut_down: CutSwitch,
}

#[derive(Default)]
struct ProxyState {
    /// Accept and close at once instead of forwarding (the CSMS is unreachable).
    refuse: bool,
    /// Connections the station opened, refused ones included.
    attempts: usize,
    /// Connections refused.
    refused: usize,
    links: Vec<Link>,
    pumps: Vec<JoinHandle<()>>,
}

struct ProxyShared {
    upstream: SocketAddr,
    stop: AtomicBool,
    state: Mutex<ProxyState>,
    changed: Condvar,
}

/// A TCP proxy between the station and the CSMS that the test can break.
struct Proxy {
    port: u16,
    shared: Arc<ProxyShared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on an ephemeral loopback port forwarding to `upstream_port`.
    fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(ProxyShared {
            upstream: SocketAddr::from(([127, 0, 0, 1], upstream_port)),
            stop: AtomicBool::new(false),
            state: Mutex::new(ProxyState::default()),
            changed: Condvar::new(),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(&listener, &accepting));
        Proxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuse (accept and close at once) every new connection, or forward them again.
    fn set_refuse(&self, refuse: bool) {
        self.state().refuse = refuse;
    }

    /// Wait until `check` holds for the proxy's state.
    fn wait(&self, what: &str, check: impl Fn(&ProxyState) -> bool) {
        let deadline = now() + Duration::from_secs(DEADLINE);
        let mut state = self.state();
        while !check(&state) {
            let left = deadline.saturating_duration_since(now());
            assert!(
                !left.is_zero(),
                "the proxy did not see {what} within {DEADLINE} s ({} attempts, {} refused)",
                state.attempts,
                state.refused
            );
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Close every open connection at once (both sides see the TCP connection end).
    fn drop_all(&self) {
        let mut state = self.state();
        for link in state.links.drain(..) {
            for socket in &link.sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }

    /// Stop forwarding on every open connection without closing it: both ends keep a socket
    /// that looks healthy and never carries another byte.
    fn black_hole_all(&self) {
        for link in &self.state().links {
            link.black_holed.store(true, Ordering::SeqCst);
        }
    }

    /// The next frame in `direction` on the newest connection is forwarded only up to its
    /// middle, then both sides are closed: a frame cut in the middle. Which frame: see [`Cut`].
    fn cut_next(&self, direction: Direction, cut: Cut) {
        let state = self.state();
        let link = state.links.last().expect("an open connection to cut");
        let switch = match direction {
            Direction::Up => &link.cut_up,
            Direction::Down => &link.cut_down,
        };
        *switch.lock().unwrap_or_else(|e| e.into_inner()) = Some(cut);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let pumps = {
            let mut state = self.state();
            for link in state.links.drain(..) {
                for socket in &link.sockets {
                    let _ = socket.shutdown(Shutdown::Both);
                }
            }
            std::mem::take(&mut state.pumps)
        };
        for pump in pumps {
            let _ = pump.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<ProxyShared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let station = match listener.accept() {
            Ok((station, _)) => station,
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = station.set_nonblocking(false);
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.attempts += 1;
        if state.refuse {
            state.refused += 1;
            let _ = station.shutdown(Shutdown::Both);
            drop(station);
            shared.changed.notify_all();
            continue;
        }
        let Ok(csms) = TcpStream::connect(shared.upstream) else {
            let _ = station.shutdown(Shutdown::Both);
            shared.changed.notify_all();
            continue;
        };
        let _ = station.set_nodelay(true);
        let _ = csms.set_nodelay(true);
        let (Ok(station2), Ok(csms2), Ok(station3), Ok(csms3)) = (
            station.try_clone(),
            csms.try_clone(),
            station.try_clone(),
            csms.try_clone(),
        ) else {
            continue;
        };
        let link = Link {
            sockets: [station3, csms3],
            black_holed: Arc::new(AtomicBool::new(false)),
            cut_up: CutSwitch::default(),
            cut_down: CutSwitch::default(),
        };
        let up = Pump {
            from: station,
            to: csms,
            black_holed: Arc::clone(&link.black_holed),
            cut: Arc::clone(&link.cut_up),
        };
        let down = Pump {
            from: csms2,
            to: station2,
            black_holed: Arc::clone(&link.black_holed),
            cut: Arc::clone(&link.cut_down),
        };
        state.pumps.push(thread::spawn(move || up.run()));
        state.pumps.push(thread::spawn(move || down.run()));
        state.links.push(link);
        shared.changed.notify_all();
    }
}

/// Which frame [`Proxy::cut_next`] cuts.
#[derive(Clone, Debug)]
enum Cut {
    /// The next chunk holding these bytes (the CSMS's frames travel unmasked), cut in the
    /// middle of them.
    Containing(&'static str),
    /// The station's next text frame whose payload has one of these lengths (its frames are
    /// masked: only the WebSocket header can be read on the way), cut in the middle.
    StationText(Vec<usize>),
}

impl Cut {
    /// Where to cut `chunk`, if this is the chunk to cut.
    fn position(&self, chunk: &[u8]) -> Option<usize> {
        match self {
            Cut::Containing(marker) => chunk
                .windows(marker.len())
                .position(|w| w == marker.as_bytes())
                .map(|at| at + marker.len() / 2),
            Cut::StationText(lengths) => lengths.iter().find_map(|&len| {
                // FIN + text, masked, then the length (7 bits, or 126 and 16 bits), then the
                // 4-byte mask.
                let header: Vec<u8> = match u16::try_from(len) {
                    Ok(short) if short < 126 => vec![0x81, 0x80 | short as u8],
                    Ok(long) => [vec![0x81, 0x80 | 126], long.to_be_bytes().to_vec()].concat(),
                    Err(_) => return None,
                };
                chunk
                    .windows(header.len())
                    .position(|w| w == header.as_slice())
                    .map(|at| at + header.len() + 4 + len / 2)
                    .filter(|&cut| cut < chunk.len())
            }),
        }
    }
}

/// The payload lengths of the station's 2.0.1 StatusNotification for EVSE 1 with `status`: a
/// UUID message id, and a timestamp with milliseconds (or, on a whole second, without).
fn status_notification_lengths(status: &str) -> Vec<usize> {
    ["2026-11-22T08:00:00.123Z", "2026-11-22T08:00:00Z"]
        .iter()
        .map(|timestamp| {
            json!([2, "x".repeat(36), "StatusNotification", {
                "connectorId": 1, "connectorStatus": status, "evseId": 1, "timestamp": timestamp
            }])
            .to_string()
            .len()
        })
        .collect()
}

type CutSwitch = Arc<Mutex<Option<Cut>>>;

/// Copies one direction of one connection.
struct Pump {
    from: TcpStream,
    to: TcpStream,
    black_holed: Arc<AtomicBool>,
    cut: CutSwitch,
}

impl Pump {
    fn run(mut self) {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match self.from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if self.black_holed.load(Ordering::SeqCst) {
                // Swallowed: neither forwarded nor refused, as on a dead route.
                continue;
            }
            let chunk = &buffer[..n];
            let cut_at = {
                let mut cut = self.cut.lock().unwrap_or_else(|e| e.into_inner());
                let at = cut.as_ref().and_then(|c| c.position(chunk));
                if at.is_some() {
                    *cut = None;
                }
                at
            };
            if let Some(at) = cut_at {
                let _ = self.to.write_all(&chunk[..at]);
                let _ = self.to.flush();
                self.close_both();
                return;
            }
            if self.to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        // A black-holed connection stays as it is: the far end must find out by itself.
        if !self.black_holed.load(Ordering::SeqCst) {
            self.close_both();
        }
    }

    fn close_both(&self) {
        let _ = self.from.shutdown(Shutdown::Both);
        let _ = self.to.shutdown(Shutdown::Both);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn is_call_of(event: &Value, action: &str) -> bool {
    is_call(event) && event["action"] == action
}

/// A 2.0.1 StatusNotification for EVSE 1.
fn is_status(event: &Value) -> bool {
    is_call_of(event, "StatusNotification") && event["payload"]["evseId"] == 1
}

fn status_of(event: &Value) -> &str {
    event["payload"]["connectorStatus"].as_str().unwrap_or("?")
}

/// What the station sent that answers a CSMS CALL (CALLRESULT or CALLERROR) with this id.
fn answer_to<'a>(events: &'a [Value], id: &str) -> Option<(usize, &'a Value)> {
    events.iter().enumerate().find(|(_, e)| {
        e["event"] == "recv"
            && (e["message_type"] == 3 || e["message_type"] == 4)
            && e["unique_id"] == id
    })
}

/// The station's environment: 2.0.1 only, through `port` (the proxy or the CSMS itself), a
/// one-second ping, RetryBackOff 1 s doubled once and no random part, JSON logs.
fn station_env(port: u16) -> Env {
    Env::for_port(port)
        .unset("OCPP_16_URL")
        .set("OCPP_ALLOW_FALLBACK", "false")
        .set("OCPP_PING_SECONDS", "1")
        .set("OCPP_RETRY_BACKOFF_WAIT_MINIMUM", "1")
        .set("OCPP_RETRY_BACKOFF_RANDOM_RANGE", "0")
        .set("OCPP_RETRY_BACKOFF_REPEAT_TIMES", "1")
        .set("OCPP_HEARTBEAT_SECONDS", "3600")
        .set("OCPP_METRICS_SECONDS", "0")
        .set("OCPP_LOG_FORMAT", "json")
}

/// The daemon is still running and never panicked.
fn assert_alive(daemon: &mut Daemon) {
    assert!(
        daemon.is_alive(),
        "the station exited; its log:\n{}",
        daemon.stderr()
    );
    assert!(
        !daemon.stderr().contains("panicked"),
        "the station panicked; its log:\n{}",
        daemon.stderr()
    );
}

/// SIGTERM ends the daemon with 0.
fn finish(daemon: &mut Daemon, csms: &Csms) {
    assert_alive(daemon);
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM ends the daemon with 0: {status}");
    csms.assert_no_validation_errors();
}

/// Every wait the station logged before a dial, in whole seconds, in order (JSON log lines). The
/// log says how much of the wait is left when the wait starts, a few microseconds less than
/// planned: rounding gives the planned value back.
fn planned_waits(daemon: &Daemon) -> Vec<u64> {
    daemon
        .stderr()
        .lines()
        .filter_map(|line| {
            serde_json::from_str::<Value>(line.trim_start_matches(|c| c != '{')).ok()
        })
        .filter_map(|entry| find_field(&entry, "wait_ms"))
        .map(|ms| (ms + 500) / 1000)
        .collect()
}

fn find_field(value: &Value, key: &str) -> Option<u64> {
    match value {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_u64)
            .or_else(|| map.values().find_map(|v| find_field(v, key))),
        _ => None,
    }
}

/// The position of the CSMS's newest event: [`Csms::wait_for_after`] looks after it.
fn last_event(csms: &Csms) -> usize {
    csms.events().len().saturating_sub(1)
}

/// The `connected` events of the CSMS, in order.
fn connections(csms: &Csms) -> Vec<Value> {
    csms.events()
        .into_iter()
        .filter(|e| e["event"] == "connected")
        .collect()
}

/// Wait for connection number `n` (1-based) at the CSMS; returns its `conn`.
fn wait_connection(csms: &Csms, n: usize) -> Value {
    csms.wait_until(&format!("connection number {n}"), DEADLINE, |events| {
        events
            .iter()
            .filter(|e| e["event"] == "connected")
            .nth(n - 1)
            .map(|e| e["conn"].clone())
    })
}

/// Wait for a StatusNotification of EVSE 1 saying `status` on connection `conn`.
fn wait_status_on(csms: &Csms, conn: &Value, status: &str) -> usize {
    csms.wait_until(
        &format!("StatusNotification {status} on connection {conn}"),
        DEADLINE,
        |events| {
            events
                .iter()
                .position(|e| is_status(e) && e["conn"] == *conn && status_of(e) == status)
        },
    )
}

/// A CSMS (Boot Accepted), a fake controller on a pty in IDLE, the daemon through a proxy.
struct Rig {
    daemon: Daemon,
    fake: FakeController,
    proxy: Proxy,
    csms: Csms,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn start(csms_extra: Value, extra: &[(&str, &str)]) -> Rig {
        let dir = tempfile::Builder::new()
            .prefix("faults-by-id-")
            .tempdir()
            .expect("a temporary directory");
        let csms = Csms::start(csms_config_with(csms_extra));
        let proxy = Proxy::start(csms.port());
        let link = dir.path().join(ADAPTER);
        let fake = FakeController::start(&link, PERIOD);
        let mut env = station_env(proxy.port())
            .set("ESP32_PORT", &link.to_string_lossy())
            .set("ESP32_BY_ID_DIR", &dir.path().to_string_lossy());
        for (key, value) in extra {
            env = env.set(key, value);
        }
        let daemon = spawn_daemon(&env.pairs());
        let rig = Rig {
            daemon,
            fake,
            proxy,
            csms,
            _dir: dir,
        };
        let first = wait_connection(&rig.csms, 1);
        let available = wait_status_on(&rig.csms, &first, "Available");
        let id = rig.csms.events()[available]["unique_id"].clone();
        rig.csms
            .wait_for_after(available, "the answer to Available", |e| {
                e["event"] == "sent" && e["unique_id"] == id
            });
        rig
    }

    /// Set the controller's state and wait until a STAT carrying it reached the station.
    fn set_state(&mut self, state: u8) {
        let from = self.fake.events().len();
        self.fake.set_state(state, 0);
        self.fake
            .wait_for_after(from, "a STAT with the new state delivered", |e| {
                controller::is_delivered_stat(e) && e["state"] == state
            });
    }
}

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

/// The proxy drops the connection and refuses the next dials: the station waits per
/// RetryBackOff between attempts (1 s, doubled once, then kept), and once the CSMS is reachable
/// again it reconnects without a new Boot and reports the status that changed while offline.
#[test]
fn a_dropped_link_is_redialled_per_retry_backoff_and_the_change_made_offline_arrives() {
    let mut rig = Rig::start(json!({}), &[]);
    rig.proxy.set_refuse(true);
    rig.proxy.drop_all();
    rig.proxy.wait("a refused dial", |state| state.refused >= 1);
    rig.set_state(2);
    rig.proxy
        .wait("three refused dials", |state| state.refused >= 3);
    rig.proxy.set_refuse(false);

    let second = wait_connection(&rig.csms, 2);
    wait_status_on(&rig.csms, &second, "Occupied");
    let events = rig.csms.events();
    assert!(
        !events
            .iter()
            .any(|e| e["conn"] == second && is_call_of(e, "BootNotification")),
        "a reconnect is not a reboot:\n{}",
        dump(&events)
    );
    let (attempts, refused) = {
        let state = rig.proxy.state();
        (state.attempts, state.refused)
    };
    assert!(
        refused >= 3 && attempts == refused + 2,
        "one connection, the refused dials, one that got through: {attempts} attempts, \
         {refused} refused"
    );
    // RetryBackOff: minimum 1 s, no random part, one doubling: 1, 2, then 2 for ever.
    let waits = planned_waits(&rig.daemon);
    assert_eq!(
        waits.get(..4),
        Some(&[1, 2, 2, 2][..]),
        "the waits before each dial; log:\n{}",
        rig.daemon.stderr()
    );
    finish(&mut rig.daemon, &rig.csms);
}

/// The proxy stops forwarding without closing anything. With one-second pings the station
/// notices the silence, drops the link and dials again; the status it could not deliver over the
/// dead link arrives over the new one.
#[test]
fn a_black_holed_link_is_detected_and_the_status_sent_into_it_arrives_after_the_reconnect() {
    let mut rig = Rig::start(json!({}), &[]);
    let first = wait_connection(&rig.csms, 1);
    rig.proxy.black_hole_all();
    rig.set_state(2);

    let second = wait_connection(&rig.csms, 2);
    wait_status_on(&rig.csms, &second, "Occupied");
    let events = rig.csms.events();
    assert!(
        !events
            .iter()
            .any(|e| is_status(e) && e["conn"] == first && status_of(e) == "Occupied"),
        "nothing crossed the black hole:\n{}",
        dump(&events)
    );
    assert!(
        !events
            .iter()
            .any(|e| e["conn"] == second && is_call_of(e, "BootNotification")),
        "a reconnect is not a reboot:\n{}",
        dump(&events)
    );
    finish(&mut rig.daemon, &rig.csms);
}

/// A frame cut in the middle, once towards the station and once towards the CSMS: the station
/// drops the broken link and dials again, and the StatusNotification whose frame was cut is
/// sent again in full.
#[test]
fn frames_cut_mid_way_cost_the_link_but_nothing_owed() {
    let mut rig = Rig::start(json!({"control": true}), &[]);
    let mut control = Remote::new(&rig.csms);

    // Towards the station: the CSMS's next frame arrives half.
    rig.proxy
        .cut_next(Direction::Down, Cut::Containing("TriggerMessage"));
    control.send(r#"[2,"cut-1","TriggerMessage",{"requestedMessage":"Heartbeat"}]"#);
    let second = wait_connection(&rig.csms, 2);
    assert_alive(&mut rig.daemon);

    // Towards the CSMS: the StatusNotification for the new state arrives half.
    let marker = rig.csms.events().len();
    rig.proxy.cut_next(
        Direction::Up,
        Cut::StationText(status_notification_lengths("Occupied")),
    );
    rig.set_state(2);
    let third = wait_connection(&rig.csms, 3);
    wait_status_on(&rig.csms, &third, "Occupied");
    let events = rig.csms.events();
    assert!(
        !events[marker..]
            .iter()
            .any(|e| is_status(e) && e["conn"] == second && status_of(e) == "Occupied"),
        "the cut StatusNotification never arrived whole on the old link:\n{}",
        dump(&events)
    );
    finish(&mut rig.daemon, &rig.csms);
}

// ---------------------------------------------------------------------------------------------
// A misbehaving CSMS
// ---------------------------------------------------------------------------------------------

/// The CSMS answers Heartbeats late (after the call timeout), twice, and with the wrong id. The
/// station gives up on the late one and carries on, ignores the stray answers (answers are never
/// answered) and keeps its one connection.
#[test]
fn late_duplicate_and_misaddressed_answers_are_ignored() {
    let csms = Csms::start(csms_config_with(json!({
        "answers": {"Heartbeat": [
            {"delay_seconds": 4},
            {"twice": true},
            {"wrong_id": true},
            {"drop": true}
        ]}
    })));
    let env = station_env(csms.port())
        .set("OCPP_HEARTBEAT_SECONDS", "1")
        .set("OCPP_CALL_TIMEOUT_SECONDS", "2");
    let mut daemon = spawn_daemon(&env.pairs());

    // Six Heartbeats: the four misbehaviours, then two answered normally.
    csms.wait_until("six Heartbeats", DEADLINE, |events| {
        (events.iter().filter(|e| is_call_of(e, "Heartbeat")).count() >= 6).then_some(())
    });
    let late = csms.wait_for(
        |e| e["event"] == "misbehaved" && e["how"]["delay_seconds"] == 4,
        DEADLINE,
    );
    let late_id = late["unique_id"].as_str().unwrap().to_owned();
    // The late answer itself goes out 4 s after the Heartbeat.
    let (late_sent, _) = csms.wait_for_after(0, "the late answer", |e| {
        e["event"] == "sent" && e["message_type"] == 3 && e["unique_id"] == late_id.as_str()
    });
    csms.wait_until("two Heartbeats after the late answer", DEADLINE, |events| {
        (events[late_sent..]
            .iter()
            .filter(|e| is_call_of(e, "Heartbeat"))
            .count()
            >= 2)
            .then_some(())
    });

    let events = csms.events();
    let heartbeats: Vec<&Value> = events
        .iter()
        .filter(|e| is_call_of(e, "Heartbeat"))
        .collect();
    let second_at = events
        .iter()
        .position(|e| is_call_of(e, "Heartbeat") && e["unique_id"] != late_id.as_str())
        .unwrap();
    assert!(
        second_at < late_sent,
        "the station moved on before the late answer came:\n{}",
        dump(&events)
    );
    let ids: std::collections::BTreeSet<&str> = heartbeats
        .iter()
        .filter_map(|e| e["unique_id"].as_str())
        .collect();
    assert_eq!(ids.len(), heartbeats.len(), "message ids are never reused");
    assert!(
        !events
            .iter()
            .any(|e| e["event"] == "recv" && (e["message_type"] == 3 || e["message_type"] == 4)),
        "the station answered an answer:\n{}",
        dump(&events)
    );
    assert_eq!(
        connections(&csms).len(),
        1,
        "stray answers do not cost the connection:\n{}",
        dump(&events)
    );
    finish(&mut daemon, &csms);
}

/// While the station's Heartbeat waits for its answer, the CSMS sends four CALLs of its own.
/// Each is answered at once with what it is owed, and the StatusNotification one of them
/// triggered waits until the Heartbeat is answered: never two of the station's CALLs at once.
#[test]
fn csms_calls_crossing_an_outstanding_call_are_answered_at_once() {
    let crossing = [
        r#"[2,"x-1","NoSuchAction",{}]"#,
        r#"[2,"x-2","DataTransfer",{"vendorId":"com.example.other"}]"#,
        r#"[2,"x-3","GetVariables",{"getVariableData":[{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]"#,
        r#"[2,"x-4","TriggerMessage",{"requestedMessage":"StatusNotification","evse":{"id":1,"connectorId":1}}]"#,
    ];
    let csms = Csms::start(csms_config_with(json!({
        "answers": {"Heartbeat": [{"delay_seconds": 2, "send_first": crossing}]}
    })));
    let env = station_env(csms.port())
        .set("OCPP_HEARTBEAT_SECONDS", "1")
        .set("OCPP_CALL_TIMEOUT_SECONDS", "10");
    let mut daemon = spawn_daemon(&env.pairs());

    let heartbeat = csms.wait_for(|e| is_call_of(e, "Heartbeat"), DEADLINE);
    let heartbeat_id = heartbeat["unique_id"].as_str().unwrap().to_owned();
    let (answered, _) = csms.wait_for_after(0, "the Heartbeat's answer", |e| {
        e["event"] == "sent" && e["message_type"] == 3 && e["unique_id"] == heartbeat_id.as_str()
    });
    let (triggered, _) = csms.wait_for_after(answered, "the triggered status", is_status);
    csms.wait_until("every crossing CALL answered", DEADLINE, |events| {
        ["x-1", "x-2", "x-3", "x-4"]
            .iter()
            .all(|id| answer_to(events, id).is_some())
            .then_some(())
    });

    let events = csms.events();
    let heartbeat_at = events
        .iter()
        .position(|e| is_call(e) && e["unique_id"] == heartbeat_id.as_str())
        .unwrap();
    for id in ["x-1", "x-2", "x-3", "x-4"] {
        let (at, _) = answer_to(&events, id).unwrap();
        assert!(
            at < answered,
            "{id} was answered while the Heartbeat waited:\n{}",
            dump(&events)
        );
    }
    let (_, x1) = answer_to(&events, "x-1").unwrap();
    assert_eq!(x1["message_type"], 4, "{x1}");
    assert_eq!(x1["error_code"], "NotImplemented", "{x1}");
    let (_, x2) = answer_to(&events, "x-2").unwrap();
    assert_eq!(x2["payload"]["status"], "UnknownVendorId", "{x2}");
    let (_, x3) = answer_to(&events, "x-3").unwrap();
    assert_eq!(
        x3["payload"]["getVariableResult"][0]["attributeStatus"], "Accepted",
        "{x3}"
    );
    let (_, x4) = answer_to(&events, "x-4").unwrap();
    assert_eq!(x4["payload"]["status"], "Accepted", "{x4}");
    let station_calls_meanwhile: Vec<&Value> = events[heartbeat_at + 1..answered]
        .iter()
        .filter(|e| is_call(e))
        .collect();
    assert!(
        station_calls_meanwhile.is_empty(),
        "no second CALL of the station while the Heartbeat is outstanding:\n{}",
        dump(&events)
    );
    assert!(triggered > answered);
    finish(&mut daemon, &csms);
}

/// A thousand CALLs back to back: every one gets its own answer (NotImplemented for an unknown
/// action, a DataTransfer answer for the other half), and the connection carries on.
#[test]
fn a_flood_of_a_thousand_calls_is_answered_call_by_call() {
    let csms = Csms::start(csms_config_with(json!({
        "after_boot": [
            {"frame": r#"[2,"u","NoSuchAction",{}]"#, "repeat": 500, "unique_ids": true},
            {"frame": r#"[2,"d","DataTransfer",{"vendorId":"com.example.other"}]"#,
             "repeat": 500, "unique_ids": true}
        ]
    })));
    let env = station_env(csms.port()).set("OCPP_HEARTBEAT_SECONDS", "1");
    let mut daemon = spawn_daemon(&env.pairs());

    let last = csms.wait_until(
        "an answer to every CALL of the flood",
        DEADLINE * 2,
        |events| {
            let answered = events
                .iter()
                .filter(|e| {
                    e["event"] == "recv"
                        && (e["message_type"] == 3 || e["message_type"] == 4)
                        && e["unique_id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with("u-") || id.starts_with("d-"))
                })
                .count();
            (answered >= 1000).then(|| events.len() - 1)
        },
    );
    let events = csms.events();
    for n in 1..=500 {
        let (_, unknown) = answer_to(&events, &format!("u-{n}")).unwrap();
        assert_eq!(unknown["error_code"], "NotImplemented", "{unknown}");
        let (_, transfer) = answer_to(&events, &format!("d-{n}")).unwrap();
        assert_eq!(
            transfer["payload"]["status"], "UnknownVendorId",
            "{transfer}"
        );
    }
    let answers = events
        .iter()
        .filter(|e| e["event"] == "recv" && (e["message_type"] == 3 || e["message_type"] == 4))
        .count();
    assert_eq!(answers, 1000, "exactly one answer per CALL");
    csms.wait_for_after(last, "a Heartbeat after the flood", |e| {
        is_call_of(e, "Heartbeat")
    });
    assert_eq!(connections(&csms).len(), 1, "{}", dump(&csms.events()));
    finish(&mut daemon, &csms);
}

/// 1 MiB frames in both kinds: a CALL for an unknown action (NotImplemented), a DataTransfer
/// (answered), and a 1 MiB answer to the station's Heartbeat (taken). A 5 MiB frame is beyond
/// what the station buffers (4 MiB): it drops that link and dials again, and carries on.
#[test]
fn one_mib_frames_are_handled_and_an_oversized_one_costs_only_the_link() {
    let mib = 1_048_576;
    let csms = Csms::start(csms_config_with(json!({
        "control": true,
        "answers": {"Heartbeat": [{"size_bytes": mib}]},
        "after_boot": [
            {"frame": r#"[2,"big-1","NoSuchAction",{}]"#, "size_bytes": mib},
            {"frame": r#"[2,"big-2","DataTransfer",{"vendorId":"com.example.other"}]"#,
             "size_bytes": mib}
        ]
    })));
    let env = station_env(csms.port()).set("OCPP_HEARTBEAT_SECONDS", "1");
    let mut daemon = spawn_daemon(&env.pairs());

    csms.wait_until("answers to both 1 MiB CALLs", DEADLINE, |events| {
        (answer_to(events, "big-1").is_some() && answer_to(events, "big-2").is_some()).then_some(())
    });
    let events = csms.events();
    assert_eq!(
        answer_to(&events, "big-1").unwrap().1["error_code"],
        "NotImplemented"
    );
    assert_eq!(
        answer_to(&events, "big-2").unwrap().1["payload"]["status"],
        "UnknownVendorId"
    );
    let padded = csms.wait_for(|e| e["event"] == "misbehaved", DEADLINE);
    let (answer_at, _) = csms.wait_for_after(0, "the 1 MiB Heartbeat answer", |e| {
        e["event"] == "sent"
            && e["unique_id"] == padded["unique_id"]
            && e["size"].as_u64() > Some(mib - 100)
    });
    csms.wait_for_after(answer_at, "a Heartbeat after the 1 MiB answer", |e| {
        is_call_of(e, "Heartbeat")
    });
    assert_eq!(connections(&csms).len(), 1, "{}", dump(&csms.events()));

    let mut control = Remote::new(&csms);
    let huge = format!(
        r#"[2,"huge","DataTransfer",{{"vendorId":"com.example.other","data":"{}"}}]"#,
        "x".repeat(5 * mib as usize)
    );
    // The station may close the link before the CSMS has written the whole frame.
    control.try_command(json!({ "send": huge }));
    let second = wait_connection(&csms, 2);
    csms.wait_for_after(
        last_event(&csms),
        "a Heartbeat on the new connection",
        |e| is_call_of(e, "Heartbeat") && e["conn"] == second,
    );
    finish(&mut daemon, &csms);
}

// ---------------------------------------------------------------------------------------------
// The serial line
// ---------------------------------------------------------------------------------------------

/// Garbage floods and lines cut mid-way on the charge controller's serial line: the station
/// keeps reading the real status frames between them, reports no fault it did not see, and
/// follows the state changes that come after. Last, the adapter vanishes in the middle of a
/// line and comes back: the station reads the new port cleanly.
#[test]
fn serial_garbage_and_cut_lines_do_not_disturb_the_station() {
    let mut rig = Rig::start(json!({}), &[]);
    let first = wait_connection(&rig.csms, 1);

    // 256 KiB of random bytes with line ends among them, 64 KiB on one endless line.
    rig.fake
        .send(json!({"garbage": {"bytes": 262_144, "line_ends": true}}));
    rig.fake
        .send(json!({"garbage": {"bytes": 65_536, "line_ends": false}}));
    // The state-2 line cut at every length, alone (the next line continues it) or ended.
    rig.fake.set_state(2, 0);
    let line_len = 110;
    for cut in (1..line_len).step_by(7) {
        rig.fake.send(json!({"cut": cut, "cut_eol": cut % 2 == 0}));
    }
    rig.set_state(2);
    wait_status_on(&rig.csms, &first, "Occupied");
    rig.set_state(1);
    let back = wait_status_on(&rig.csms, &first, "Available");

    // Before the controller's first status frame the station reports Unavailable; from then
    // on only what the controller said.
    let events = rig.csms.events();
    let seen: Vec<&str> = events[..=back]
        .iter()
        .filter(|e| is_status(e))
        .map(status_of)
        .skip_while(|s| *s == "Unavailable")
        .collect();
    assert!(
        seen.iter().all(|s| *s == "Available" || *s == "Occupied"),
        "garbage is not a status: {seen:?}\n{}",
        dump(&events)
    );
    let garbage = rig
        .fake
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "GARBAGE")
        .collect::<Vec<_>>();
    assert_eq!(
        garbage
            .iter()
            .map(|e| e["delivered_bytes"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        262_144 + 65_536,
        "the station read every garbage byte: {garbage:?}"
    );

    // A line cut by the adapter vanishing under it.
    rig.fake.send(json!({"cut": 40}));
    rig.fake.vanish();
    rig.fake.come_back();
    rig.fake.wait_host_open();
    let marker = last_event(&rig.csms);
    rig.set_state(2);
    rig.csms
        .wait_for_after(marker, "Occupied after the adapter came back", |e| {
            is_status(e) && status_of(e) == "Occupied"
        });
    assert_eq!(connections(&rig.csms).len(), 1);
    finish(&mut rig.daemon, &rig.csms);
}

/// The CSMS receives the StatusNotification for Occupied but never answers it; the station gives
/// up on it after its call timeout. The connector then goes back to Available, the status the
/// CSMS had acknowledged before: the CSMS last heard Occupied, so it is owed Available.
#[test]
fn a_status_heard_but_not_answered_is_corrected_when_the_connector_changes_back() {
    let mut rig = Rig::start(
        json!({"control": true}),
        &[
            ("OCPP_CALL_TIMEOUT_SECONDS", "2"),
            ("OCPP_HEARTBEAT_SECONDS", "1"),
        ],
    );
    let first = wait_connection(&rig.csms, 1);
    let mut control = Remote::new(&rig.csms);
    control.command(json!({"answers": {"StatusNotification": [{"drop": true}]}}));
    rig.set_state(2);
    let occupied = wait_status_on(&rig.csms, &first, "Occupied");
    // Heartbeats go out once the station has given up on the unanswered status.
    rig.csms.wait_until(
        "two Heartbeats after the unanswered status",
        DEADLINE,
        |events| {
            (events[occupied..]
                .iter()
                .filter(|e| is_call_of(e, "Heartbeat"))
                .count()
                >= 2)
                .then_some(())
        },
    );
    rig.set_state(1);
    rig.csms
        .wait_for_after(occupied, "Available after the change back", |e| {
            is_status(e) && status_of(e) == "Available"
        });
    finish(&mut rig.daemon, &rig.csms);
}
