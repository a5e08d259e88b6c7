//! BootNotification answers: any bytes as the payload of the CSMS's answer to the station's
//! Boot, in either version. Never a panic, and every wake-up the station then asks for lies in
//! the future and at most a week ahead (intervals from the CSMS are clamped, instants saturate).
//!
//! Input: byte 0 picks the version (bit 0); the rest is the answer's payload as JSON text.
#![no_main]
#![allow(
    clippy::disallowed_methods,
    reason = "the station is handed a start instant, as the shell would"
)]

#[path = "../../tests/common/registered_station.rs"]
#[allow(dead_code, reason = "only the answer-driven fixture is used here")]
mod registered_station;

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ocpp_station::clock::SystemClock;
use ocpp_station::ocpp::OcppVersion;
use registered_station::station_with_boot_answer;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        OcppVersion::V201
    } else {
        OcppVersion::V16
    };
    let Ok(answer) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let (mut station, start) = station_with_boot_answer(version, &answer, Arc::new(SystemClock));
    let mut now = start;
    for _ in 0..4 {
        while station.poll_transmit().is_some() {}
        while station.poll_event().is_some() {}
        let Some(wake) = station.poll_timeout() else {
            return;
        };
        assert!(wake > now, "a wake-up in the past");
        assert!(wake.duration_since(now) <= Duration::from_secs(7 * 86_400));
        now = wake;
        station.handle_timeout(now);
    }
});
