//! OCPP-J RPC framing (2.0.1 Part 4 section 4, OCPP-J 1.6 section 4).
//!
//! `[2, id, action, payload]` CALL, `[3, id, payload]` CALLRESULT,
//! `[4, id, code, description, details]` CALLERROR. Parsing never panics: every way a frame can
//! be wrong is a [`FrameError`] that knows which CALLERROR (if any) it is owed.

use serde_json::{Map, Value, json};

use crate::device_model;
use crate::ocpp::OcppVersion;

/// The longest message id OCPP allows (a UUID is 36 characters).
pub const MAX_MESSAGE_ID_LEN: usize = 36;

/// The id a CALLERROR carries when the offending frame's own id could not be read.
pub const UNREADABLE_ID: &str = "-1";

/// One parsed OCPP-J frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A request.
    Call {
        /// Message id, echoed in the answer.
        id: String,
        /// The OCPP action name.
        action: String,
        /// The request payload (a JSON object).
        payload: Value,
    },
    /// A successful answer.
    CallResult {
        /// The id of the CALL it answers.
        id: String,
        /// The response payload.
        payload: Value,
    },
    /// An error answer.
    CallError {
        /// The id of the CALL it answers.
        id: String,
        /// The error code as spelled on the wire.
        code: String,
        /// The peer's description.
        description: String,
    },
}

/// RPC error codes, version-neutral. [`ErrorCode::wire`] spells them for a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Payload for the action is syntactically incorrect (1.6: `FormationViolation`).
    FormatViolation,
    /// Any other error.
    GenericError,
    /// An internal error kept the receiver from processing the message.
    InternalError,
    /// The message type number is not supported (1.6 has no such code: `ProtocolError`).
    MessageTypeNotSupported,
    /// The action is not known.
    NotImplemented,
    /// The action is known but not supported.
    NotSupported,
    /// A required field is missing (1.6: `OccurenceConstraintViolation`).
    OccurrenceConstraintViolation,
    /// A field holds a value that is not allowed.
    PropertyConstraintViolation,
    /// The payload is incomplete.
    ProtocolError,
    /// The frame is not a valid RPC message (1.6 has no such code: `ProtocolError`).
    RpcFrameworkError,
    /// The message is not allowed in the current security/registration state.
    SecurityError,
    /// A field has the wrong type.
    TypeConstraintViolation,
}

impl ErrorCode {
    /// The code as the given version spells it.
    pub fn wire(self, version: OcppVersion) -> &'static str {
        use ErrorCode::*;
        let v16 = version == OcppVersion::V16;
        match self {
            FormatViolation if v16 => "FormationViolation",
            FormatViolation => "FormatViolation",
            GenericError => "GenericError",
            InternalError => "InternalError",
            MessageTypeNotSupported if v16 => "ProtocolError",
            MessageTypeNotSupported => "MessageTypeNotSupported",
            NotImplemented => "NotImplemented",
            NotSupported => "NotSupported",
            OccurrenceConstraintViolation if v16 => "OccurenceConstraintViolation",
            OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            PropertyConstraintViolation => "PropertyConstraintViolation",
            ProtocolError => "ProtocolError",
            RpcFrameworkError if v16 => "ProtocolError",
            RpcFrameworkError => "RpcFrameworkError",
            SecurityError => "SecurityError",
            TypeConstraintViolation => "TypeConstraintViolation",
        }
    }
}

/// Why a frame could not be parsed, and what the sender is owed for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not JSON at all.
    #[error("frame is not valid JSON")]
    NotJson,
    /// JSON, but not an array with a message type number and an id.
    #[error("frame is not an OCPP-J array: {0}")]
    NotRpc(String),
    /// A message type number other than 2, 3 or 4.
    #[error("message type {type_id} is not supported")]
    UnknownMessageType {
        /// The frame's id, when readable.
        id: Option<String>,
        /// The number that was sent.
        type_id: String,
    },
    /// A CALL whose parts have the wrong shape.
    #[error("malformed CALL: {what}")]
    MalformedCall {
        /// The frame's id.
        id: String,
        /// What is wrong.
        what: String,
    },
    /// A CALLRESULT or CALLERROR whose parts have the wrong shape; never answered.
    #[error("malformed answer: {0}")]
    MalformedAnswer(String),
}

impl FrameError {
    /// The CALLERROR owed for this frame as `(id, code)`, or `None` when the frame was an answer
    /// (answers are never answered).
    pub fn owed_error(&self) -> Option<(String, ErrorCode)> {
        match self {
            FrameError::NotJson => Some((UNREADABLE_ID.to_owned(), ErrorCode::FormatViolation)),
            FrameError::NotRpc(_) => Some((UNREADABLE_ID.to_owned(), ErrorCode::RpcFrameworkError)),
            FrameError::UnknownMessageType { id, .. } => Some((
                id.clone().unwrap_or_else(|| UNREADABLE_ID.to_owned()),
                ErrorCode::MessageTypeNotSupported,
            )),
            FrameError::MalformedCall { id, .. } => Some((id.clone(), ErrorCode::FormatViolation)),
            FrameError::MalformedAnswer(_) => None,
        }
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Frame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|_| FrameError::NotJson)?;
    let Value::Array(items) = value else {
        return Err(FrameError::NotRpc("not an array".into()));
    };
    let type_id = items
        .first()
        .ok_or_else(|| FrameError::NotRpc("empty array".into()))?;
    let id = match items.get(1) {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_MESSAGE_ID_LEN => {
            Some(id.clone())
        }
        _ => None,
    };
    match type_id.as_u64() {
        Some(2) => {
            let id = id.ok_or_else(|| FrameError::NotRpc("CALL without a readable id".into()))?;
            let action = match items.get(2) {
                Some(Value::String(a)) if !a.is_empty() => a.clone(),
                _ => {
                    return Err(FrameError::MalformedCall {
                        id,
                        what: "action is not a string".into(),
                    });
                }
            };
            match (items.get(3), items.len()) {
                (Some(payload @ Value::Object(_)), 4) => Ok(Frame::Call {
                    id,
                    action,
                    payload: payload.clone(),
                }),
                _ => Err(FrameError::MalformedCall {
                    id,
                    what: "a CALL has 4 elements and an object payload".into(),
                }),
            }
        }
        Some(3) => match (id, items.get(2), items.len()) {
            (Some(id), Some(payload), 3) => Ok(Frame::CallResult {
                id,
                payload: payload.clone(),
            }),
            _ => Err(FrameError::MalformedAnswer("CALLRESULT shape".into())),
        },
        Some(4) => {
            let Some(id) = id else {
                return Err(FrameError::MalformedAnswer(
                    "CALLERROR without an id".into(),
                ));
            };
            let text_at = |i: usize| {
                items
                    .get(i)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            Ok(Frame::CallError {
                id,
                code: text_at(2),
                description: text_at(3),
            })
        }
        _ => Err(FrameError::UnknownMessageType {
            id,
            type_id: type_id.to_string(),
        }),
    }
}

/// `text` (a frame, either direction) as it may appear in a log line: control characters
/// escaped, and a frame that may carry a secret withheld whole (which value is the secret
/// depends on the request's shape; withholding all is the safe rule).
///
/// A frame may carry a secret when any of its JSON strings (keys included) names a secret
/// setting as the device model matches names, [`device_model::names_secret`]: 2.0.1
/// SetVariables of BasicAuthPassword and 1.6 ChangeConfiguration of AuthorizationKey in every
/// spelling the station accepts, `\u` escapes included since names are compared decoded. Text
/// that is not JSON is withheld when a word of it names a secret, or when it holds a `\u` escape
/// that could spell one.
pub fn loggable(text: &str) -> std::borrow::Cow<'_, str> {
    if may_carry_secret(text) {
        format!(
            "[{} bytes withheld: the frame may carry a password]",
            text.len()
        )
        .into()
    } else {
        crate::redact::escape_controls(text)
    }
}

fn may_carry_secret(text: &str) -> bool {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => any_string(&value, device_model::names_secret),
        Err(_) => {
            text.contains("\\u")
                || text
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(device_model::names_secret)
        }
    }
}

/// Whether `pred` holds for a string anywhere in `value`, object keys included. serde_json
/// refuses documents nested deeper than 128 levels, which bounds the recursion.
fn any_string(value: &Value, pred: fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => pred(s),
        Value::Array(items) => items.iter().any(|item| any_string(item, pred)),
        Value::Object(map) => map.iter().any(|(k, v)| pred(k) || any_string(v, pred)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A CALL frame.
pub fn call(id: &str, action: &str, payload: &Value) -> String {
    json!([2, id, action, payload]).to_string()
}

/// A CALLRESULT frame.
pub fn call_result(id: &str, payload: &Value) -> String {
    json!([3, id, payload]).to_string()
}

/// A CALLERROR frame with empty details, the code spelled for `version`.
pub fn call_error(id: &str, code: ErrorCode, version: OcppVersion, description: &str) -> String {
    // Descriptions are for people; keep them short so a hostile frame cannot make them large.
    let description: String = description.chars().take(255).collect();
    json!([
        4,
        id,
        code.wire(version),
        description,
        Value::Object(Map::new())
    ])
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use OcppVersion::{V16, V201};

    #[test]
    fn parses_the_three_frame_kinds() {
        assert_eq!(
            parse(r#"[2,"a1","Reset",{"type":"Immediate"}]"#),
            Ok(Frame::Call {
                id: "a1".into(),
                action: "Reset".into(),
                payload: json!({"type":"Immediate"})
            })
        );
        assert_eq!(
            parse(r#"[3,"a1",{}]"#),
            Ok(Frame::CallResult {
                id: "a1".into(),
                payload: json!({})
            })
        );
        assert_eq!(
            parse(r#"[4,"a1","NotSupported","nope",{}]"#),
            Ok(Frame::CallError {
                id: "a1".into(),
                code: "NotSupported".into(),
                description: "nope".into()
            })
        );
    }

    #[test]
    fn garbage_is_owed_the_right_error() {
        let owed = |t: &str| parse(t).unwrap_err().owed_error();
        assert_eq!(
            owed("not json"),
            Some(("-1".into(), ErrorCode::FormatViolation))
        );
        assert_eq!(
            owed("{}"),
            Some(("-1".into(), ErrorCode::RpcFrameworkError))
        );
        assert_eq!(
            owed("[]"),
            Some(("-1".into(), ErrorCode::RpcFrameworkError))
        );
        assert_eq!(
            owed("[2]"),
            Some(("-1".into(), ErrorCode::RpcFrameworkError))
        );
        assert_eq!(
            owed(r#"[2,17,"X",{}]"#),
            Some(("-1".into(), ErrorCode::RpcFrameworkError))
        );
        assert_eq!(
            owed(r#"[7,"u-3"]"#),
            Some(("u-3".into(), ErrorCode::MessageTypeNotSupported))
        );
        assert_eq!(
            owed(r#"[2,"u",5,{}]"#),
            Some(("u".into(), ErrorCode::FormatViolation))
        );
        assert_eq!(
            owed(r#"[2,"u","X",[]]"#),
            Some(("u".into(), ErrorCode::FormatViolation))
        );
        assert_eq!(
            owed(r#"[2,"u","X"]"#),
            Some(("u".into(), ErrorCode::FormatViolation))
        );
        assert_eq!(owed(r#"[3,"u"]"#), None);
        assert_eq!(owed("[4]"), None);
    }

    #[test]
    fn an_over_long_id_is_unreadable() {
        let long = "x".repeat(37);
        let owed = parse(&format!(r#"[2,"{long}","Heartbeat",{{}}]"#))
            .unwrap_err()
            .owed_error();
        assert_eq!(owed, Some(("-1".into(), ErrorCode::RpcFrameworkError)));
    }

    #[test]
    fn error_codes_are_spelled_per_version() {
        assert_eq!(ErrorCode::FormatViolation.wire(V201), "FormatViolation");
        assert_eq!(ErrorCode::FormatViolation.wire(V16), "FormationViolation");
        assert_eq!(
            ErrorCode::OccurrenceConstraintViolation.wire(V201),
            "OccurrenceConstraintViolation"
        );
        assert_eq!(
            ErrorCode::OccurrenceConstraintViolation.wire(V16),
            "OccurenceConstraintViolation"
        );
        assert_eq!(ErrorCode::RpcFrameworkError.wire(V16), "ProtocolError");
        assert_eq!(
            ErrorCode::MessageTypeNotSupported.wire(V16),
            "ProtocolError"
        );
        assert_eq!(ErrorCode::NotImplemented.wire(V16), "NotImplemented");
    }

    #[test]
    fn call_errors_have_five_elements_and_empty_details() {
        let frame = call_error("-1", ErrorCode::FormatViolation, V16, "bad");
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v, json!([4, "-1", "FormationViolation", "bad", {}]));
    }

    #[test]
    fn frames_that_may_carry_a_password_are_withheld_from_logs() {
        let set = r#"[2,"a","SetVariables",{"setVariableData":[{"attributeValue":"s3cret-value-0123","component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]}]"#;
        assert!(!loggable(set).contains("s3cret"));
        let change = r#"[2,"a","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret"}]"#;
        assert!(!loggable(change).contains("s3cret"));
        assert_eq!(
            loggable(r#"[2,"a","Heartbeat",{}]"#),
            r#"[2,"a","Heartbeat",{}]"#
        );
    }

    /// Spellings of a name the device model accepts: any ASCII case, JSON `\u` escapes (decoded
    /// before matching), and for a 1.6 key surrounding blanks.
    fn accepted_spellings(name: &str) -> Vec<String> {
        let mut spellings = vec![
            name.to_owned(),
            name.to_lowercase(),
            name.to_uppercase(),
            name.chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
        ];
        // Every character as a JSON escape: the frame text never holds the name itself.
        let escaped: String = name
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        spellings.push(escaped);
        spellings
    }

    #[test]
    fn every_spelling_the_station_accepts_is_withheld() {
        const PASSWORD: &str = "Spelled-Secret-0123456789";
        for spelling in accepted_spellings("BasicAuthPassword") {
            let frame = format!(
                r#"[2,"a","SetVariables",{{"setVariableData":[{{"attributeValue":"{PASSWORD}","component":{{"name":"securityctrlr"}},"variable":{{"name":"{spelling}"}}}}]}}]"#
            );
            let parsed: Value = serde_json::from_str(&frame).unwrap();
            let name = parsed[3]["setVariableData"][0]["variable"]["name"]
                .as_str()
                .unwrap();
            assert!(device_model::names_secret(name), "{spelling}");
            assert!(!loggable(&frame).contains(PASSWORD), "{spelling}");
        }
        let mut keys = accepted_spellings("AuthorizationKey");
        keys.push("  AuthorizationKey\\t".to_owned());
        for spelling in keys {
            let frame = format!(
                r#"[2,"a","ChangeConfiguration",{{"key":"{spelling}","value":"{PASSWORD}"}}]"#
            );
            assert!(!loggable(&frame).contains(PASSWORD), "{spelling}");
        }
    }

    #[test]
    fn frames_naming_no_secret_are_shown_escaped() {
        for frame in [
            r#"[2,"a","SetVariables",{"setVariableData":[{"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]"#,
            r#"[2,"a","ChangeConfiguration",{"key":"HeartbeatInterval","value":"60"}]"#,
            // Close to a secret name, but not one the station accepts.
            r#"[2,"a","ChangeConfiguration",{"key":"Authorization Key","value":"60"}]"#,
        ] {
            assert_eq!(loggable(frame), frame);
        }
        assert_eq!(loggable("not json \u{1b}[2J"), "not json \\u{1b}[2J");
    }

    #[test]
    fn text_that_is_not_json_is_judged_word_by_word() {
        let cut = r#"[2,"a","ChangeConfiguration",{"key":"authorizationkey","value":"s3cret"#;
        assert!(!loggable(cut).contains("s3cret"));
        let escaped =
            r#"[2,"a","ChangeConfiguration",{"key":"\u0041uthorizationKey","value":"s3cret"#;
        assert!(!loggable(escaped).contains("s3cret"));
        assert_eq!(loggable("[2, garbage"), "[2, garbage");
    }

    #[test]
    fn hostile_input_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let pieces = [
            "[", "]", "2", "3", "4", ",", "\"", "{", "}", "null", "\"id\"", "1e999", "-",
            "\\u0000", " ",
        ];
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = parse(&text).map_err(|e| e.owed_error());
        }
    }
}
