//! Property tests over the four places where outside bytes enter the station: OCPP-J frames
//! (`rpc::parse`), CSMS requests (`ocpp::csms_request::decode`, the station's answer to each
//! matching what its decoding says, and the whole station core fed arbitrary frames through
//! the public `Station` API, also as a flood of requests whose answers the CSMS withholds), the charge controller's serial lines
//! (`esp32::frame::LineSplitter` and `parse_line`) and env files (`envfile::parse`).
//!
//! Inputs come from a deterministic pseudo-random generator (the same cases on every run):
//! structured inputs built to be nearly right, then mutated (cut, bytes flipped, pieces spliced
//! in), and plain token soup. Tens of thousands of cases per entry point, a few seconds in all.
//! The same entry points have cargo-fuzz targets in `fuzz/` for open-ended runs
//! (docs/reliability.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the simulated clock starts from a real instant"
)]

#[path = "common/registered_station.rs"]
mod registered_station;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ocpp_station::clock::WallClock;
use ocpp_station::envfile::{self, EnvFileError};
use ocpp_station::esp32::frame::{ChargerState, Line, LineSplitter, MAX_LINE_BYTES, parse_line};
use ocpp_station::ocpp::csms_request::{self, CsmsRequest, WhilePending};
use ocpp_station::ocpp::{DecodeError, OcppVersion, RegistrationStatus};
use ocpp_station::rpc::{self, ErrorCode, Frame, FrameError};
use ocpp_station::station::Station;
use registered_station::{registered_station, station_with_boot_answer};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// xorshift64*: the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Field names the station reads, so that random payloads often hit real paths.
const KEYS: &[&str] = &[
    "requestedMessage",
    "evse",
    "id",
    "connectorId",
    "evseId",
    "operationalStatus",
    "type",
    "vendorId",
    "messageId",
    "data",
    "getVariableData",
    "setVariableData",
    "component",
    "variable",
    "name",
    "instance",
    "attributeType",
    "attributeValue",
    "requestId",
    "reportBase",
    "componentVariable",
    "componentCriteria",
    "key",
    "value",
    "status",
    "interval",
    "currentTime",
    "customData",
    "",
    "x",
];

/// String values the station reads.
const WORDS: &[&str] = &[
    "StatusNotification",
    "Heartbeat",
    "BootNotification",
    "MeterValues",
    "Operative",
    "Inoperative",
    "Immediate",
    "OnIdle",
    "Hard",
    "Soft",
    "FullInventory",
    "SummaryInventory",
    "ConfigurationInventory",
    "OCPPCommCtrlr",
    "HeartbeatInterval",
    "SecurityCtrlr",
    "BasicAuthPassword",
    "AuthorizationKey",
    "WebSocketPingInterval",
    "OfflineThreshold",
    "MessageTimeout",
    "RetryBackOffWaitMinimum",
    "ChargingStation",
    "AvailabilityState",
    "Actual",
    "Target",
    "Active",
    "Available",
    "Enabled",
    "Problem",
    "EVSE",
    "Connector",
    "Accepted",
    "Central",
    "ocpp-station",
    "com.example",
    "0",
    "60",
    "-5",
    "86400",
    "abc",
    "",
    "\u{0}",
    "\u{fffd}",
    "é",
    "\"",
];

fn random_string(rng: &mut Rng) -> String {
    if rng.chance(80) {
        return (*rng.pick(WORDS)).to_owned();
    }
    let len = rng.below(40);
    (0..len)
        .map(|_| match rng.below(10) {
            0 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'),
            1 => '"',
            2 => '\\',
            _ => char::from(b' ' + rng.below(95) as u8),
        })
        .collect()
}

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(0),
        1 => json!(1),
        2 => json!(-1),
        3 => json!(u64::from(u32::MAX) + 1),
        4 => json!(i64::MIN),
        5 => json!(1.5),
        6 => json!(rng.below(10)),
        _ => json!(rng.next()),
    }
}

/// A random JSON value, objects keyed mostly by field names the station reads.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0 || rng.chance(40);
    match rng.below(if leaf { 4 } else { 6 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => random_number(rng),
        3 => Value::String(random_string(rng)),
        4 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => random_object(rng, depth - 1),
    }
}

fn random_object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(5) {
        let key = if rng.chance(85) {
            (*rng.pick(KEYS)).to_owned()
        } else {
            random_string(rng)
        };
        map.insert(key, random_value(rng, depth));
    }
    Value::Object(map)
}

/// A CSMS request payload close to what `action` takes, with a field or two gone wrong now and
/// then.
fn near_payload(rng: &mut Rng, action: &str) -> Value {
    let word = |rng: &mut Rng| Value::String((*rng.pick(WORDS)).to_owned());
    let mut payload = match action {
        "TriggerMessage" => {
            json!({"requestedMessage": word(rng), "evse": {"id": rng.below(4), "connectorId": 1},
                   "connectorId": rng.below(4)})
        }
        "ChangeAvailability" => json!({"operationalStatus": word(rng), "type": word(rng),
                                      "evse": {"id": rng.below(4)}, "connectorId": rng.below(4)}),
        "Reset" => json!({"type": word(rng), "evseId": rng.below(3)}),
        "UnlockConnector" => json!({"evseId": rng.below(3), "connectorId": rng.below(3)}),
        "DataTransfer" => json!({"vendorId": word(rng), "messageId": word(rng), "data": word(rng)}),
        "GetVariables" => json!({"getVariableData": (0..rng.below(4)).map(|_| json!({
            "component": {"name": word(rng)}, "variable": {"name": word(rng)}})).collect::<Vec<_>>()}),
        "SetVariables" => json!({"setVariableData": (0..rng.below(4)).map(|_| json!({
            "component": {"name": word(rng)}, "variable": {"name": word(rng)},
            "attributeValue": word(rng)})).collect::<Vec<_>>()}),
        "GetBaseReport" => json!({"requestId": rng.below(100), "reportBase": word(rng)}),
        "GetReport" => json!({"requestId": rng.below(100),
            "componentCriteria": (0..rng.below(6)).map(|_| word(rng)).collect::<Vec<_>>(),
            "componentVariable": (0..rng.below(4)).map(|_| json!({
                "component": {"name": word(rng), "evse": {"id": rng.below(4)}},
                "variable": {"name": word(rng)}})).collect::<Vec<_>>()}),
        "GetConfiguration" => json!({"key": [word(rng), word(rng)]}),
        "ChangeConfiguration" => json!({"key": word(rng), "value": word(rng)}),
        "RequestStartTransaction" => json!({"idToken": {"idToken": word(rng), "type": word(rng)},
                                           "remoteStartId": rng.below(100)}),
        "RequestStopTransaction" => json!({"transactionId": word(rng)}),
        "RemoteStartTransaction" => json!({"idTag": word(rng), "connectorId": rng.below(3)}),
        "RemoteStopTransaction" => json!({"transactionId": rng.below(100)}),
        _ => random_object(rng, 2),
    };
    // Break it a little: drop, retype or add a field.
    if rng.chance(30)
        && let Some(map) = payload.as_object_mut()
    {
        let keys: Vec<String> = map.keys().cloned().collect();
        if let Some(key) = keys.get(rng.below(keys.len().max(1))) {
            if rng.chance(50) {
                map.remove(key);
            } else {
                map.insert(key.clone(), random_value(rng, 2));
            }
        }
        if rng.chance(30) {
            map.insert((*rng.pick(KEYS)).to_owned(), random_value(rng, 2));
        }
    }
    payload
}

/// Every action the station may meet: both versions' CSMS actions, its own, and made-up ones.
const ACTIONS: &[&str] = &[
    "TriggerMessage",
    "ChangeAvailability",
    "Reset",
    "UnlockConnector",
    "DataTransfer",
    "GetVariables",
    "SetVariables",
    "GetBaseReport",
    "GetReport",
    "GetConfiguration",
    "ChangeConfiguration",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "UpdateFirmware",
    "SetChargingProfile",
    "ClearCache",
    "GetLog",
    "ExtendedTriggerMessage",
    "GetDiagnostics",
    "SendLocalList",
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "NoSuchAction",
    "triggermessage",
    "",
];

/// A message id: usually a good one, sometimes empty, too long or not a string.
fn random_id(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(""),
        1 => json!("x".repeat(37)),
        2 => json!("x".repeat(36)),
        3 => json!(17),
        4 => Value::Null,
        5 => json!("-1"),
        _ => json!(format!("m-{}", rng.below(1_000_000))),
    }
}

/// An OCPP-J frame that is well formed most of the time.
fn near_frame(rng: &mut Rng) -> Value {
    let id = random_id(rng);
    match rng.below(10) {
        0..=5 => {
            let action = *rng.pick(ACTIONS);
            let payload = if rng.chance(90) {
                near_payload(rng, action)
            } else {
                random_value(rng, 2)
            };
            json!([2, id, action, payload])
        }
        6 => json!([3, id, random_object(rng, 2)]),
        7 => json!([
            4,
            id,
            random_string(rng),
            random_string(rng),
            random_object(rng, 1)
        ]),
        8 => json!([rng.below(8), id]),
        _ => random_value(rng, 3),
    }
}

/// `text` cut, with bytes flipped, removed, duplicated or spliced in.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => bytes[at] = rng.below(256) as u8,
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => {
                let piece = *rng.pick(&[
                    "[", "]", "{", "}", ",", "\"", ":", "2", "3", "4", "null", "\\u0000", "1e999",
                    "-", " ",
                ]);
                bytes.splice(at..at, piece.bytes());
            }
            4 if at < bytes.len() => {
                let end = (at + rng.below(16)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A frame's text: well formed, mutated, or token soup.
fn random_frame_text(rng: &mut Rng) -> String {
    let frame = near_frame(rng).to_string();
    match rng.below(10) {
        0..=5 => frame,
        6..=8 => mutate(rng, &frame),
        _ => (0..rng.below(12))
            .map(|_| {
                *rng.pick(&[
                    "[",
                    "]",
                    "2",
                    "3",
                    "4",
                    ",",
                    "\"",
                    "{",
                    "}",
                    "null",
                    "\"id\"",
                    "1e999",
                    "-",
                    "\\u0000",
                    " ",
                    "\"Reset\"",
                ])
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// rpc::parse
// ---------------------------------------------------------------------------------------------

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= rpc::MAX_MESSAGE_ID_LEN
}

/// The CallError codes a version may carry.
fn codes(version: OcppVersion) -> &'static [&'static str] {
    match version {
        OcppVersion::V201 => &[
            "FormatViolation",
            "GenericError",
            "InternalError",
            "MessageTypeNotSupported",
            "NotImplemented",
            "NotSupported",
            "OccurrenceConstraintViolation",
            "PropertyConstraintViolation",
            "ProtocolError",
            "RpcFrameworkError",
            "SecurityError",
            "TypeConstraintViolation",
        ],
        OcppVersion::V16 => &[
            "NotImplemented",
            "NotSupported",
            "InternalError",
            "ProtocolError",
            "SecurityError",
            "FormationViolation",
            "PropertyConstraintViolation",
            "OccurenceConstraintViolation",
            "TypeConstraintViolation",
            "GenericError",
        ],
    }
}

#[test]
fn rpc_frames_parse_consistently() {
    let mut rng = Rng::new(0x0f0f_1234);
    for case in 0..30_000 {
        let text = random_frame_text(&mut rng);
        let context = || format!("case {case}: {text:?}");
        let json = serde_json::from_str::<Value>(&text);
        match rpc::parse(&text) {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => {
                assert!(valid_id(&id), "{}", context());
                assert!(!action.is_empty() && payload.is_object(), "{}", context());
                let again = rpc::call(&id, &action, &payload);
                assert_eq!(
                    rpc::parse(&again),
                    Ok(Frame::Call {
                        id,
                        action,
                        payload
                    }),
                    "{}",
                    context()
                );
            }
            Ok(Frame::CallResult { id, payload }) => {
                assert!(valid_id(&id), "{}", context());
                let again = rpc::call_result(&id, &payload);
                assert_eq!(
                    rpc::parse(&again),
                    Ok(Frame::CallResult { id, payload }),
                    "{}",
                    context()
                );
            }
            Ok(Frame::CallError { id, .. }) => assert!(valid_id(&id), "{}", context()),
            Err(error) => {
                assert_eq!(
                    error == FrameError::NotJson,
                    json.is_err(),
                    "NotJson exactly when the text is not JSON: {}",
                    context()
                );
                if let Some((id, code)) = error.owed_error() {
                    assert!(id == rpc::UNREADABLE_ID || valid_id(&id), "{}", context());
                    for version in [OcppVersion::V201, OcppVersion::V16] {
                        let answer = rpc::call_error(&id, code, version, &error.to_string());
                        let Ok(Frame::CallError {
                            id: answered,
                            code: spelled,
                            description,
                        }) = rpc::parse(&answer)
                        else {
                            panic!("the owed CALLERROR must parse: {answer} ({})", context());
                        };
                        assert_eq!(answered, id, "{}", context());
                        assert!(codes(version).contains(&spelled.as_str()), "{}", context());
                        assert!(description.chars().count() <= 255, "{}", context());
                        let value: Value = serde_json::from_str(&answer).unwrap();
                        assert_eq!(value[4], json!({}), "{}", context());
                    }
                }
            }
        }
    }
}

#[test]
fn well_formed_frames_parse_to_what_was_built() {
    let mut rng = Rng::new(0x00c0_ffee);
    for case in 0..20_000 {
        let id = format!("id-{}", rng.below(1 << 20));
        let action = (*rng.pick(ACTIONS)).to_owned();
        let payload = random_object(&mut rng, 3);
        let context = || format!("case {case}");
        let text = rpc::call(&id, &action, &payload);
        let parsed = rpc::parse(&text);
        if action.is_empty() {
            assert!(
                matches!(parsed, Err(FrameError::MalformedCall { .. })),
                "{}",
                context()
            );
        } else {
            assert_eq!(
                parsed,
                Ok(Frame::Call {
                    id: id.clone(),
                    action,
                    payload: payload.clone()
                }),
                "{}",
                context()
            );
        }
        // Ids beyond 36 characters cannot be read; the CALLERROR then goes to "-1".
        let long = format!("{id}{}", "x".repeat(37usize.saturating_sub(id.len())));
        let owed = rpc::parse(&rpc::call(&long, "Reset", &payload))
            .unwrap_err()
            .owed_error();
        assert_eq!(
            owed,
            Some((rpc::UNREADABLE_ID.to_owned(), ErrorCode::RpcFrameworkError)),
            "{}",
            context()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ocpp::csms_request::decode
// ---------------------------------------------------------------------------------------------

/// The action a decoded request came from, in `version`.
fn action_of(version: OcppVersion, request: &CsmsRequest) -> &'static str {
    let v201 = version == OcppVersion::V201;
    match request {
        CsmsRequest::TriggerMessage(_) => "TriggerMessage",
        CsmsRequest::ChangeAvailability { .. } => "ChangeAvailability",
        CsmsRequest::Reset { .. } => "Reset",
        CsmsRequest::UnlockConnector { .. } => "UnlockConnector",
        CsmsRequest::DataTransfer { .. } => "DataTransfer",
        CsmsRequest::GetVariables(_) => "GetVariables",
        CsmsRequest::SetVariables(_) => "SetVariables",
        CsmsRequest::GetBaseReport { .. } => "GetBaseReport",
        CsmsRequest::GetReport { .. } => "GetReport",
        CsmsRequest::GetConfiguration { .. } => "GetConfiguration",
        CsmsRequest::ChangeConfiguration { .. } => "ChangeConfiguration",
        CsmsRequest::RemoteStart { .. } if v201 => "RequestStartTransaction",
        CsmsRequest::RemoteStart { .. } => "RemoteStartTransaction",
        CsmsRequest::RemoteStop { .. } if v201 => "RequestStopTransaction",
        CsmsRequest::RemoteStop { .. } => "RemoteStopTransaction",
    }
}

/// The codes a readable CALL's payload may be refused with: the defect classes.
const PAYLOAD_CODES: &[ErrorCode] = &[
    ErrorCode::FormatViolation,
    ErrorCode::TypeConstraintViolation,
    ErrorCode::PropertyConstraintViolation,
    ErrorCode::OccurrenceConstraintViolation,
];

/// A version, an action and a payload close to what the action takes.
fn random_request(rng: &mut Rng) -> (OcppVersion, &'static str, Value) {
    let version = if rng.chance(50) {
        OcppVersion::V201
    } else {
        OcppVersion::V16
    };
    let action = *rng.pick(ACTIONS);
    let payload = if rng.chance(85) {
        near_payload(rng, action)
    } else {
        random_value(rng, 3)
    };
    (version, action, payload)
}

#[test]
fn csms_requests_are_read_or_refused_for_both_versions() {
    let mut rng = Rng::new(0x0bad_cafe);
    let mut read = 0;
    for case in 0..40_000 {
        let (version, action, payload) = random_request(&mut rng);
        let context = || format!("case {case}: {version:?} {action} {payload}");
        let decoded = csms_request::decode(version, action, &payload);
        let known = csms_request::is_csms_action(version, action);
        match &decoded {
            Err(DecodeError::UnknownAction { .. }) => assert!(!known, "{}", context()),
            Err(DecodeError::UnsupportedAction(_)) => assert!(known, "{}", context()),
            Err(error) => {
                assert!(known, "{}", context());
                assert!(PAYLOAD_CODES.contains(&error.code()), "{}", context());
                assert!(
                    codes(version).contains(&error.code().wire(version)),
                    "{}",
                    context()
                );
                assert!(!error.to_string().is_empty(), "{}", context());
                // Only what is not an object is a FormatViolation.
                assert_eq!(
                    error.code() == ErrorCode::FormatViolation,
                    !payload.is_object(),
                    "{}",
                    context()
                );
            }
            Ok(request) => {
                read += 1;
                assert!(known, "{}", context());
                assert_eq!(action, action_of(version, request), "{}", context());
                if let CsmsRequest::ChangeAvailability { operative, .. } = request {
                    let field = match version {
                        OcppVersion::V201 => "operationalStatus",
                        OcppVersion::V16 => "type",
                    };
                    assert_eq!(*operative, payload[field] == "Operative", "{}", context());
                }
            }
        }
        // Unknown, unsupported or read: the action alone decides, whatever the payload.
        let class = |decoded: &Result<CsmsRequest, DecodeError>| match decoded {
            Err(DecodeError::UnknownAction { .. }) => "unknown",
            Err(DecodeError::UnsupportedAction(_)) => "unsupported",
            _ => "read",
        };
        assert_eq!(
            class(&decoded),
            class(&csms_request::decode(version, action, &json!({}))),
            "{}",
            context()
        );
        // The same request read twice reads the same.
        assert_eq!(
            csms_request::decode(version, action, &payload),
            decoded,
            "{}",
            context()
        );
    }
    assert!(read > 5_000, "only {read} requests were readable");
}

/// What the station owes a CALL that decodes to `decoded`, given its registration: `None` for
/// no answer at all (1.6 while Rejected), else the CALLERROR code or `"result"`.
fn owed_answer(
    version: OcppVersion,
    registration: Option<RegistrationStatus>,
    decoded: &Result<CsmsRequest, DecodeError>,
) -> Option<String> {
    let accepted = registration == Some(RegistrationStatus::Accepted);
    let code = |code: ErrorCode| Some(code.wire(version).to_owned());
    match (registration, decoded) {
        (Some(RegistrationStatus::Rejected), _) if version == OcppVersion::V16 => None,
        (Some(RegistrationStatus::Rejected), _) => code(ErrorCode::SecurityError),
        (_, Err(DecodeError::UnsupportedAction(_))) if !accepted => code(ErrorCode::SecurityError),
        (_, Err(error)) => code(error.code()),
        (_, Ok(request)) if !accepted => match request.while_pending() {
            WhilePending::Answered | WhilePending::Rejected => Some("result".into()),
            WhilePending::SecurityError => code(ErrorCode::SecurityError),
        },
        (_, Ok(CsmsRequest::RemoteStart { .. } | CsmsRequest::RemoteStop { .. })) => {
            code(ErrorCode::NotSupported)
        }
        (_, Ok(_)) => Some("result".into()),
    }
}

#[test]
fn the_station_answers_each_request_as_its_decoding_says() {
    let mut rng = Rng::new(0xdec0_de01);
    let mut cases = 0;
    for boot_status in ["Accepted", "Pending", "Rejected"] {
        for version in [OcppVersion::V201, OcppVersion::V16] {
            let (mut station, start) = station(version, boot_status);
            for step in 0..2_500u64 {
                cases += 1;
                let now = start + Duration::from_millis(step * 100);
                let (_, action, payload) = random_request(&mut rng);
                let id = format!("p-{step}");
                let text = json!([2, id, action, payload]).to_string();
                // The framing refuses some first (an empty action, a payload not an object).
                let registration = station.registration();
                let silent = version == OcppVersion::V16
                    && registration == Some(RegistrationStatus::Rejected);
                let expected = match rpc::parse(&text) {
                    // The framing refuses some first (an empty action, a payload that is not
                    // an object).
                    Err(error) => error
                        .owed_error()
                        .filter(|_| !silent)
                        .map(|(_, code)| code.wire(version).to_owned()),
                    Ok(_) => owed_answer(
                        version,
                        registration,
                        &csms_request::decode(version, action, &payload),
                    ),
                };
                let context = || format!("{version:?} {boot_status} {action} {payload}");
                station.handle_text(now, &text);
                let mut answer = None;
                while let Some(out) = station.poll_transmit() {
                    let frame: Value = serde_json::from_str(&out).unwrap();
                    match frame[0].as_u64() {
                        // The station's own CALLs go unanswered: its registration stays.
                        Some(2) => {}
                        Some(3) => answer = Some("result".to_owned()),
                        Some(4) => answer = frame[2].as_str().map(str::to_owned),
                        _ => panic!("unexpected frame {out} ({})", context()),
                    }
                    if frame[0] != 2 {
                        assert_eq!(frame[1], json!(id), "{}", context());
                    }
                }
                while station.poll_event().is_some() {}
                assert_eq!(answer, expected, "{}", context());
            }
        }
    }
    assert!(cases >= 15_000);
}

/// A clock that advances only when told.
struct FixedClock(DateTime<Utc>);

impl WallClock for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A station online in `version`, its Boot answered `boot_status`.
fn station(version: OcppVersion, boot_status: &str) -> (Station, Instant) {
    let clock = FixedClock(Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap());
    registered_station(version, boot_status, Arc::new(clock))
}

/// An `interval` as a CSMS might send it: any size, any sign, as an integer, a float or a string.
fn random_interval(rng: &mut Rng) -> Value {
    let magnitude = match rng.below(6) {
        0 => rng.below(600) as u64,
        1 => rng.next() >> rng.below(64),
        2 => u64::MAX - rng.below(3) as u64,
        3 => (i64::MAX as u64).wrapping_add(rng.below(3) as u64),
        4 => 7 * 86_400 + rng.below(3) as u64 - 1,
        _ => rng.next(),
    };
    let float = magnitude as f64 * 10f64.powi(rng.below(300) as i32);
    match rng.below(9) {
        0 => json!(magnitude),
        1 => json!(-(magnitude as i128).min(i64::MAX as i128) as i64),
        2 => json!(float),
        3 => json!(-float),
        4 => json!(magnitude.to_string()),
        5 => json!(format!("{float:e}")),
        6 => json!(format!(" {magnitude} ")),
        7 => random_value(rng, 2),
        _ => json!(rng.below(2) as f64 / 3.0),
    }
}

#[test]
fn any_boot_interval_leaves_the_station_running_with_future_wake_ups() {
    let mut rng = Rng::new(0x1D7E_57A1);
    let statuses = ["Accepted", "Pending", "Rejected"];
    for case in 0..6000 {
        let version = if case % 2 == 0 {
            OcppVersion::V201
        } else {
            OcppVersion::V16
        };
        let mut answer =
            json!({"status": *rng.pick(&statuses), "interval": random_interval(&mut rng)});
        if rng.chance(50) {
            answer["currentTime"] = json!(random_string(&mut rng));
        }
        let clock = FixedClock(Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap());
        let (mut station, start) = station_with_boot_answer(version, &answer, Arc::new(clock));
        // Follow the station's own wake-ups for a while: each is in the future of the last,
        // never more than a week ahead, and handling it never panics.
        let mut now = start;
        for _ in 0..6 {
            while station.poll_transmit().is_some() {}
            while station.poll_event().is_some() {}
            let Some(wake) = station.poll_timeout() else {
                break;
            };
            assert!(wake > now, "{answer}: a wake-up in the past");
            assert!(
                wake.duration_since(now) <= Duration::from_secs(7 * 86_400),
                "{answer}: a wake-up more than a week ahead"
            );
            now = wake;
            station.handle_timeout(now);
        }
    }
}

/// No JSON null anywhere (absent optional fields are omitted).
fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

#[test]
fn the_station_answers_every_frame_it_owes_an_answer_exactly_once() {
    let mut rng = Rng::new(0x5747_1011);
    let mut cases = 0;
    for (version, boot_status) in [
        (OcppVersion::V201, "Accepted"),
        (OcppVersion::V16, "Accepted"),
        (OcppVersion::V201, "Pending"),
        (OcppVersion::V16, "Pending"),
        (OcppVersion::V201, "Rejected"),
        (OcppVersion::V16, "Rejected"),
    ] {
        let rounds = if boot_status == "Accepted" { 14 } else { 3 };
        for _ in 0..rounds {
            let (mut station, start) = station(version, boot_status);
            for step in 0..800u64 {
                cases += 1;
                let now = start + Duration::from_millis(step * 250);
                let text = random_frame_text(&mut rng);
                let context = || format!("{version:?} {boot_status}, step {step}: {text:?}");
                station.handle_text(now, &text);
                let mut answers = Vec::new();
                while let Some(out) = station.poll_transmit() {
                    let frame: Value = serde_json::from_str(&out)
                        .unwrap_or_else(|_| panic!("not JSON: {out} ({})", context()));
                    assert!(!has_null(&frame), "null in {out} ({})", context());
                    assert!(rpc::parse(&out).is_ok(), "{out} ({})", context());
                    match frame[0].as_u64() {
                        Some(2) => {
                            // The station's own CALL: answer it so that the next one can go.
                            let reply = json!([3, frame[1], {"status": "Accepted",
                                "currentTime": "2026-11-22T08:00:00Z", "interval": 300}]);
                            station.handle_text(now, &reply.to_string());
                        }
                        Some(3) => answers.push((frame[1].clone(), None)),
                        Some(4) => {
                            let code = frame[2].as_str().unwrap_or_default().to_owned();
                            assert!(
                                codes(version).contains(&code.as_str()),
                                "{out} ({})",
                                context()
                            );
                            assert_eq!(frame[4], json!({}), "{out} ({})", context());
                            answers.push((frame[1].clone(), Some(code)));
                        }
                        _ => panic!("unexpected frame {out} ({})", context()),
                    }
                }
                while station.poll_event().is_some() {}
                station.handle_timeout(now);
                while station.poll_transmit().is_some() {}
                while station.poll_event().is_some() {}
                // OCPP 1.6 section 4.2: while Rejected nothing the Central System sends is
                // answered.
                if version == OcppVersion::V16 && boot_status == "Rejected" {
                    assert!(answers.is_empty(), "silent while Rejected ({})", context());
                    continue;
                }
                match rpc::parse(&text) {
                    Ok(Frame::Call { id, .. }) => {
                        assert_eq!(answers.len(), 1, "one answer ({})", context());
                        assert_eq!(answers[0].0, json!(id), "{}", context());
                    }
                    Ok(Frame::CallResult { .. } | Frame::CallError { .. }) => {
                        assert!(
                            answers.is_empty(),
                            "answers are never answered ({})",
                            context()
                        );
                    }
                    Err(error) => match error.owed_error() {
                        Some((id, code)) => {
                            assert_eq!(answers.len(), 1, "one answer ({})", context());
                            assert_eq!(answers[0].0, json!(id), "{}", context());
                            assert_eq!(
                                answers[0].1.as_deref(),
                                Some(code.wire(version)),
                                "{}",
                                context()
                            );
                        }
                        None => assert!(answers.is_empty(), "{}", context()),
                    },
                }
            }
        }
    }
    assert!(cases >= 30_000, "{cases} cases");
}

// ---------------------------------------------------------------------------------------------
// What a flood of CSMS requests leaves behind
// ---------------------------------------------------------------------------------------------

/// A request a CSMS may send over and over: reports, triggers, availability and configuration
/// changes, the odd malformed one.
fn flood_request(rng: &mut Rng, version: OcppVersion, n: usize) -> (String, Value) {
    let bases = [
        "FullInventory",
        "SummaryInventory",
        "ConfigurationInventory",
        "Bogus",
    ];
    let criteria = ["Active", "Available", "Enabled", "Problem"];
    let components = [
        "EVSE",
        "Connector",
        "OCPPCommCtrlr",
        "ChargingStation",
        "Nothing",
    ];
    let (action, payload) = match (version, rng.below(8)) {
        (OcppVersion::V201, 0 | 1) => (
            "GetBaseReport",
            json!({"requestId": n, "reportBase": *rng.pick(&bases)}),
        ),
        (OcppVersion::V201, 2 | 3) => {
            let mut payload = json!({"requestId": n});
            if rng.chance(50) {
                let picked: Vec<&str> = (0..1 + rng.below(3))
                    .map(|_| *rng.pick(&criteria))
                    .collect();
                payload["componentCriteria"] = json!(picked);
            }
            if rng.chance(50) {
                payload["componentVariable"] =
                    json!([{"component": {"name": *rng.pick(&components)}}]);
            }
            ("GetReport", payload)
        }
        (_, 4) => ("TriggerMessage", json!({"requestedMessage": "Heartbeat"})),
        (OcppVersion::V201, 5) => (
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification",
                   "evse": {"id": rng.below(4), "connectorId": rng.below(3)}}),
        ),
        (OcppVersion::V16, 5) => (
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": rng.below(4)}),
        ),
        (OcppVersion::V201, 6) => (
            "ChangeAvailability",
            json!({"operationalStatus": if rng.chance(50) { "Operative" } else { "Inoperative" },
                   "evse": {"id": 1 + rng.below(2)}}),
        ),
        (OcppVersion::V16, 6) => (
            "ChangeAvailability",
            json!({"connectorId": rng.below(3),
                   "type": if rng.chance(50) { "Operative" } else { "Inoperative" }}),
        ),
        (OcppVersion::V16, 0..=3) => (
            "GetConfiguration",
            json!({"key": ["HeartbeatInterval", "MeterValuesSampledData"]}),
        ),
        _ => (
            *rng.pick(&["GetReport", "TriggerMessage", "Bogus"]),
            random_object(rng, 2),
        ),
    };
    (
        json!([2, format!("f-{n}"), action, payload]).to_string(),
        json!(action),
    )
}

#[test]
fn a_flood_of_csms_requests_leaves_a_fixed_amount_behind() {
    let mut rng = Rng::new(0xf100_d5ed);
    for round in 0..12 {
        let version = if round % 3 == 2 {
            OcppVersion::V16
        } else {
            OcppVersion::V201
        };
        let (mut station, start) = station(version, "Accepted");
        let mut now = start;
        let requests = 200 + rng.below(3000);
        // The station's own CALLs (the CSMS withholds every answer during the flood).
        let mut calls: Vec<Value> = Vec::new();
        let mut accepted_reports = Vec::new();
        for n in 0..requests {
            let (frame, action) = flood_request(&mut rng, version, n);
            let context = || format!("round {round} {version:?} request {n}: {frame}");
            station.handle_text(now, &frame);
            let mut answers = Vec::new();
            while let Some(out) = station.poll_transmit() {
                let out: Value = serde_json::from_str(&out).unwrap();
                match out[0].as_u64() {
                    Some(2) => calls.push(out),
                    _ => answers.push(out),
                }
            }
            while station.poll_event().is_some() {}
            assert_eq!(answers.len(), 1, "{}", context());
            let status = &answers[0][2]["status"];
            if (action == "GetBaseReport" || action == "GetReport") && answers[0][0] == 3 {
                match status.as_str() {
                    Some("Accepted") => accepted_reports.push(n),
                    Some("Rejected") => assert!(
                        answers[0][2]["statusInfo"]["additionalInfo"]
                            .as_str()
                            .is_some_and(|i| i.contains("still being sent")),
                        "{}",
                        context()
                    ),
                    Some("EmptyResultSet" | "NotSupported") => {}
                    other => panic!("{other:?} ({})", context()),
                }
            }
            // Now and then time passes: the unanswered CALL times out and the next goes.
            if rng.chance(3) {
                now += Duration::from_secs(31);
                station.handle_timeout(now);
                while let Some(out) = station.poll_transmit() {
                    calls.push(serde_json::from_str(&out).unwrap());
                }
                while station.poll_event().is_some() {}
            }
        }
        // The CSMS answers again: what the station still holds goes out, and it is little,
        // however long the flood was.
        let before = calls.len();
        let mut pending: Vec<Value> = calls.iter().rev().take(1).cloned().collect();
        let mut sent_after = 0;
        while let Some(call) = pending.pop() {
            let answer =
                json!([3, call[1], {"currentTime": "2026-11-22T08:00:00Z", "status": "Accepted"}]);
            station.handle_text(now, &answer.to_string());
            while let Some(out) = station.poll_transmit() {
                let out: Value = serde_json::from_str(&out).unwrap();
                sent_after += 1;
                calls.push(out.clone());
                pending.push(out);
            }
            while station.poll_event().is_some() {}
            assert!(
                sent_after <= 24,
                "round {round}: {sent_after} CALLs were still held"
            );
        }
        assert!(station.is_idle(), "round {round}: something is left queued");
        assert!(calls.len() >= before);
        // Every accepted report arrived whole and in order, whatever crossed it.
        for id in accepted_reports {
            let parts: Vec<&Value> = calls
                .iter()
                .filter(|c| c[2] == "NotifyReport" && c[3]["requestId"] == id)
                .map(|c| &c[3])
                .collect();
            assert!(!parts.is_empty(), "round {round}: report {id} never came");
            for (seq_no, part) in parts.iter().enumerate() {
                assert_eq!(part["seqNo"], seq_no, "round {round}: report {id}");
                assert_eq!(
                    part["tbc"] == true,
                    seq_no + 1 < parts.len(),
                    "round {round}: report {id}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// esp32: LineSplitter and parse_line
// ---------------------------------------------------------------------------------------------

const STAT_KEYS: &[&str] = &[
    "CP", "CPV", "PP", "PPV", "RL", "LOCK", "MOTOR", "PWM", "MAX", "CABLE", "AUTH", "PB", "STOP",
];

/// A status line with `state`, its other fields in random order, sometimes with an `ID=` first
/// or an unknown key.
fn stat_line(rng: &mut Rng, state: u8) -> String {
    let mut fields = Vec::new();
    for key in STAT_KEYS {
        if rng.chance(80) {
            fields.push(format!("{key}={}", rng.below(300)));
        }
    }
    fields.push(format!("STATE={state}"));
    if rng.chance(20) {
        fields.push("NEW=7".to_owned());
    }
    for i in (1..fields.len()).rev() {
        let j = rng.below(i + 1);
        fields.swap(i, j);
    }
    let id = if rng.chance(20) { "ID=ESP-1;" } else { "" };
    format!("<STAT;{id}{};>", fields.join(";"))
}

/// Bytes the serial line may carry: frames, pieces of frames, line ends, noise.
fn serial_bytes(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(30) {
        match rng.below(12) {
            0 => {
                let state = rng.below(10) as u8;
                out.extend(stat_line(rng, state).bytes());
            }
            1 => out.extend(b"<ACK;CMD=READSTAT;STATUS=OK;>"),
            2 => out.extend(b"<INFO;MSG=GF_COUNT;VAL=3;>"),
            3 => out.extend(b"<CARDEXISTS=1;>"),
            4 => out.extend(b"\r\n"),
            5 => out.push(*rng.pick(b"\r\n<>;=")),
            6 => out.extend((0..rng.below(64)).map(|_| rng.below(256) as u8)),
            7 => out.extend(std::iter::repeat_n(b'A', rng.below(700))),
            8 => out.extend(b"<STAT;"),
            9 => out.extend("STATE=5;é\u{fffd}".bytes()),
            10 => out.extend([0xff, 0xfe, 0x00, 0xc3, 0x28]),
            _ => out.extend(b"ets Jun  8 2016 00:22:57"),
        }
    }
    out
}

#[test]
fn serial_bytes_split_into_bounded_lines_whatever_the_chunking() {
    let mut rng = Rng::new(0x5e71_a100);
    for case in 0..20_000 {
        let bytes = serial_bytes(&mut rng);
        let mut whole = LineSplitter::new();
        let lines = whole.push(&bytes);
        let mut chunked = LineSplitter::new();
        let mut again = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let end = (at + 1 + rng.below(40)).min(bytes.len());
            again.extend(chunked.push(&bytes[at..end]));
            at = end;
        }
        assert_eq!(lines, again, "case {case}: chunking changes nothing");
        assert_eq!(whole.discarded(), chunked.discarded(), "case {case}");
        for line in &lines {
            assert!(line.len() <= MAX_LINE_BYTES, "case {case}: {line:?}");
            assert!(!line.contains(['\r', '\n']), "case {case}: {line:?}");
            assert!(!line.trim().is_empty(), "case {case}");
            if let Line::Status(frame) = parse_line(line) {
                assert!(frame.state.code() <= 8, "case {case}: {line:?}");
                assert!(line.contains("<STAT;"), "case {case}: {line:?}");
            }
        }
    }
}

#[test]
fn a_status_line_between_noise_is_read_with_its_state() {
    let mut rng = Rng::new(0x0057_a7e5);
    for case in 0..10_000 {
        let state = rng.below(9) as u8;
        let stat = stat_line(&mut rng, state);
        let mut bytes = serial_bytes(&mut rng);
        // Glued behind a short unterminated piece of noise (an RFID result), or on a line of
        // its own.
        let glue = rng.chance(30);
        if glue {
            bytes.extend(b"\r\n<CARDEXISTS=1;>");
        } else {
            bytes.extend(b"\r\n");
        }
        bytes.extend(stat.as_bytes());
        bytes.extend(b"\r\n");
        bytes.extend(serial_bytes(&mut rng));
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in bytes.chunks(1 + rng.below(64)) {
            lines.extend(splitter.push(chunk));
        }
        let expected = if glue {
            format!("<CARDEXISTS=1;>{stat}")
        } else {
            stat.clone()
        };
        assert!(
            lines.contains(&expected),
            "case {case}: the status line {expected:?} is one of the lines"
        );
        match parse_line(&expected) {
            Line::Status(frame) => {
                assert_eq!(
                    frame.state,
                    ChargerState::from_code(state).unwrap(),
                    "case {case}"
                )
            }
            other => panic!("case {case}: {expected:?} read as {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// envfile::parse
// ---------------------------------------------------------------------------------------------

fn random_name(rng: &mut Rng) -> String {
    const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
    let mut name = String::from(char::from(*rng.pick(FIRST)));
    for _ in 0..rng.below(20) {
        name.push(char::from(*rng.pick(REST)));
    }
    name
}

/// A value of printable characters (and tabs, spaces, quotes, backslashes, `$`, `#`, `=`).
fn random_env_value(rng: &mut Rng) -> String {
    (0..rng.below(30))
        .map(|_| match rng.below(14) {
            0 => ' ',
            1 => '\t',
            2 => '"',
            3 => '\'',
            4 => '\\',
            5 => '$',
            6 => '`',
            7 => '#',
            8 => '=',
            9 => 'é',
            10 => '\n',
            _ => char::from(b'!' + rng.below(94) as u8),
        })
        .collect()
}

/// `value` written so that the parser gives it back: double-quoted with escapes, single-quoted,
/// or unquoted with backslashes.
fn quote(rng: &mut Rng, value: &str) -> String {
    let choice = rng.below(3);
    if choice == 1 && !value.contains(['\'', '\n']) {
        return format!("'{value}'");
    }
    if choice == 2 && !value.contains('\n') {
        let mut out = String::new();
        let count = value.chars().count();
        for (i, c) in value.chars().enumerate() {
            let edge = i == 0 || i + 1 == count;
            if c == '\\' || (edge && (c.is_whitespace() || c == '"' || c == '\'')) {
                out.push('\\');
            }
            out.push(c);
        }
        return out;
    }
    let mut out = String::from('"');
    for c in value.chars() {
        match c {
            '"' | '\\' | '`' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

#[test]
fn env_files_written_by_the_rules_read_back_exactly() {
    let mut rng = Rng::new(0x000e_0f11);
    for case in 0..20_000 {
        let pairs: Vec<(String, String)> = (0..rng.below(8))
            .map(|_| (random_name(&mut rng), random_env_value(&mut rng)))
            .collect();
        let mut text = String::new();
        if rng.chance(10) {
            text.push('\u{feff}');
        }
        let end = if rng.chance(30) { "\r\n" } else { "\n" };
        for (key, value) in &pairs {
            if rng.chance(20) {
                text.push_str(rng.pick::<&str>(&["# a comment", "; another", "", "   ", "\t# x"]));
                text.push_str(end);
            }
            if rng.chance(20) {
                text.push_str("export ");
            }
            if rng.chance(20) {
                text.push_str("  ");
            }
            text.push_str(key);
            text.push_str(if rng.chance(20) { " = " } else { "=" });
            text.push_str(&quote(&mut rng, value));
            text.push_str(end);
        }
        // Unquoted values lose their unescaped outer blanks; the quoting above escapes them.
        assert_eq!(
            envfile::parse(&text),
            Ok(pairs.clone()),
            "case {case}: {text:?}"
        );
    }
}

#[test]
fn env_file_errors_point_at_a_line_and_never_show_a_value() {
    let mut rng = Rng::new(0x0bad_0e17);
    let pieces = [
        "KEY=", "export ", "=", "\"", "'", "\\", "#", ";", " ", "\t", "\r", "\n", "\0", "1KEY",
        "A B", "é", "$", "`", "x",
    ];
    for case in 0..30_000 {
        // A hyphen keeps it from ever being a variable name (names are shown, values never).
        let secret = format!("S3CRET-{}", rng.below(1_000_000));
        let mut text = String::new();
        for _ in 0..rng.below(20) {
            if rng.chance(10) {
                text.push_str(&secret);
            } else {
                text.push_str(rng.pick::<&str>(&pieces));
            }
        }
        let lines = text.split('\n').count();
        match envfile::parse(&text) {
            Ok(pairs) => {
                for (key, _) in pairs {
                    let mut chars = key.chars();
                    assert!(
                        chars
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "case {case}: {key:?} from {text:?}"
                    );
                }
            }
            Err(error) => {
                let line = error.line().expect("a syntax error names its line");
                assert!((1..=lines).contains(&line), "case {case}: {error}");
                assert!(matches!(error, EnvFileError::Syntax { .. }), "case {case}");
                assert!(
                    !error.to_string().contains("S3CRET"),
                    "case {case}: the error shows a value: {error}"
                );
            }
        }
    }
}
