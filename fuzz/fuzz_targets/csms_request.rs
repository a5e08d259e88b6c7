//! CSMS requests: `ocpp::csms_request::decode` for both versions (a request is read, or refused
//! with a CALLERROR code its version has), then the whole station core fed the same bytes as
//! frames through its public API. Never a panic, and every CALL (or unreadable
//! frame owed a CALLERROR) gets exactly one answer with its id; none at all from a 1.6 station
//! whose Boot was Rejected (OCPP 1.6 section 4.2).
//!
//! Input: byte 0 picks the version (bit 0) and the registration state (bits 1-2: Accepted,
//! Pending, Rejected); the rest is `action '\n' payload` for the parser, and is also cut at each
//! further `'\n'` into frames for the station.
#![no_main]
#![allow(
    clippy::disallowed_methods,
    reason = "the station is handed a start instant, as the shell would"
)]

#[path = "../../tests/common/registered_station.rs"]
mod registered_station;

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ocpp_station::clock::SystemClock;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::ocpp::csms_request;
use ocpp_station::rpc::{self, Frame};
use ocpp_station::station::Station;
use registered_station::registered_station;
use serde_json::{Value, json};

fn station(version: OcppVersion, boot_status: &str) -> (Station, Instant) {
    registered_station(version, boot_status, Arc::new(SystemClock))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        OcppVersion::V201
    } else {
        OcppVersion::V16
    };
    let boot_status = match (selector >> 1) & 3 {
        1 => "Pending",
        2 => "Rejected",
        _ => "Accepted",
    };
    let text = String::from_utf8_lossy(rest);

    // The request reader alone.
    let (action, payload_text) = text.split_once('\n').unwrap_or((&text, "{}"));
    let payload = serde_json::from_str::<Value>(payload_text).unwrap_or(Value::Null);
    if let Err(error) = csms_request::decode(version, action, &payload) {
        let code = error.code().wire(version);
        assert!(!code.is_empty() && !error.to_string().is_empty());
    }

    // The station: the request as a CALL, then every line as a frame of its own.
    let (mut station, start) = station(version, boot_status);
    let call = json!([2, "fz-1", action, payload]).to_string();
    let frames = std::iter::once(call.as_str()).chain(text.split('\n'));
    for (step, frame) in frames.enumerate() {
        let now = start + Duration::from_millis(step as u64 * 500);
        station.handle_text(now, frame);
        let mut answers = Vec::new();
        while let Some(out) = station.poll_transmit() {
            let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&out) else {
                panic!("the station sent something that is not a JSON array: {out}");
            };
            match items.first().and_then(Value::as_u64) {
                Some(2) => {
                    let reply = json!([3, items[1], {"status": "Accepted", "interval": 300,
                                                     "currentTime": "2026-11-22T08:00:00Z"}]);
                    station.handle_text(now, &reply.to_string());
                }
                Some(3 | 4) => answers.push(items[1].clone()),
                _ => panic!("unexpected frame from the station: {out}"),
            }
        }
        while station.poll_event().is_some() {}
        station.handle_timeout(now);
        while station.poll_transmit().is_some() {}
        while station.poll_event().is_some() {}
        let owed = match rpc::parse(frame) {
            Ok(Frame::Call { id, .. }) => Some(id),
            Ok(_) => None,
            Err(error) => error.owed_error().map(|(id, _)| id),
        };
        let silent = version == OcppVersion::V16 && boot_status == "Rejected";
        match owed {
            Some(_) if silent => assert!(answers.is_empty(), "silent while Rejected: {frame:?}"),
            Some(id) => assert_eq!(answers, [json!(id)], "one answer to {frame:?}"),
            None => assert!(answers.is_empty(), "answers are never answered: {frame:?}"),
        }
    }
});
