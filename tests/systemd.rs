//! The daemon under systemd's notification protocol: `READY=1` once it runs, `WATCHDOG=1` pings
//! while it is idle or waiting to reconnect, `STOPPING=1` on SIGTERM. The test plays systemd: it
//! binds the `NOTIFY_SOCKET` datagram socket and sets `WATCHDOG_USEC`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/notify.rs"]
mod notify;

use std::net::TcpListener;

use common::{Csms, DEADLINE, Env, csms_config, is_call, spawn_daemon};
use notify::Manager;

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
