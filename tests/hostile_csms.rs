//! A broken or hostile CSMS against the station daemon: Boot answers whose `interval` is beyond
//! any real wait.
//!
//! The station must not crash (a panic is exit 101, and a crash loop under `Restart=always`). Waits have generous deadlines
//! that only keep a broken run from hanging; nothing here asserts how fast anything happened.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{Csms, DEADLINE, Daemon, Env, csms_config_with, spawn_daemon};
use serde_json::{Value, json};

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
