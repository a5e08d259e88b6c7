//! `rpc::loggable`, what the frame trace shows of a frame: never a control character, and never
//! the password of a frame the station takes a new password from. The input is fed as a frame
//! to a registered station core (byte 0 picks the version) to learn whether it takes one.
#![no_main]

#[path = "../../tests/common/registered_station.rs"]
mod registered_station;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ocpp_station::clock::SystemClock;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::rpc;
use registered_station::registered_station;

/// Where the station keeps the password the CSMS set.
const PASSWORD_KEY: &str = "SecurityCtrlr/BasicAuthPassword";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        OcppVersion::V201
    } else {
        OcppVersion::V16
    };
    let text = String::from_utf8_lossy(rest);
    let shown = rpc::loggable(&text);
    assert!(!shown.chars().any(char::is_control), "{shown:?}");

    let (mut station, now) = registered_station(version, "Accepted", Arc::new(SystemClock));
    let before = station.restorable().overrides.get(PASSWORD_KEY).cloned();
    station.handle_text(now, &text);
    while station.poll_transmit().is_some() {}
    while station.poll_event().is_some() {}
    let after = station.restorable().overrides.get(PASSWORD_KEY).cloned();
    if let Some(password) = after.filter(|password| before.as_ref() != Some(password)) {
        let hex: String = password.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !shown.contains(&password) && !shown.to_lowercase().contains(&hex),
            "the station took a password from {text:?} and the trace shows {shown:?}"
        );
    }
});
