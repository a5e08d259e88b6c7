//! `rpc::parse` on arbitrary text: never a panic, and what it reads is consistent (a readable
//! frame survives being written out and read again; a bad one is owed a CALLERROR that parses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::rpc::{self, Frame};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match rpc::parse(&text) {
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => {
            let again = rpc::call(&id, &action, &payload);
            assert_eq!(
                rpc::parse(&again),
                Ok(Frame::Call {
                    id,
                    action,
                    payload
                })
            );
        }
        Ok(Frame::CallResult { id, payload }) => {
            let again = rpc::call_result(&id, &payload);
            assert_eq!(rpc::parse(&again), Ok(Frame::CallResult { id, payload }));
        }
        Ok(Frame::CallError { id, .. }) => {
            assert!(!id.is_empty() && id.len() <= rpc::MAX_MESSAGE_ID_LEN);
        }
        Err(error) => {
            if let Some((id, code)) = error.owed_error() {
                for version in [OcppVersion::V201, OcppVersion::V16] {
                    let answer = rpc::call_error(&id, code, version, &error.to_string());
                    assert!(matches!(
                        rpc::parse(&answer),
                        Ok(Frame::CallError { id: answered, .. }) if answered == id
                    ));
                }
            }
        }
    }
});
