//! What the lab CSMS answers, frame by frame. Pure: the caller passes the wall-clock time.
//!
//! Frames are read with the station's own OCPP-J parser ([`ocpp_station::rpc`]), so the lab and the
//! station agree on framing, and a frame that cannot be read gets the CALLERROR the version owes.
//! Payloads are not judged here: the lab answers leniently and reports problems in the view, so a
//! bench session keeps going and shows everything that is wrong.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use ocpp_station::clock::format_timestamp;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::rpc::{self, ErrorCode, Frame};

/// How BootNotification is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootPolicy {
    /// The registration status given.
    pub status: BootStatus,
    /// The `interval` given, seconds (heartbeat interval when Accepted, retry delay otherwise).
    pub interval: u32,
}

/// The BootNotification status the lab gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BootStatus {
    /// Registered.
    Accepted,
    /// Not yet: the station must retry after `interval`.
    Pending,
    /// Refused: the station must stay quiet for `interval`.
    Rejected,
}

impl BootStatus {
    /// The status as spelled on the wire.
    pub fn wire(self) -> &'static str {
        match self {
            BootStatus::Accepted => "Accepted",
            BootStatus::Pending => "Pending",
            BootStatus::Rejected => "Rejected",
        }
    }
}

/// One frame as the view records it, in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct WireMessage {
    /// Which kind of frame it is.
    pub kind: MessageKind,
    /// The message id, when readable.
    pub id: Option<String>,
    /// The action: the CALL's own, or the one of the CALL an answer belongs to.
    pub action: Option<String>,
    /// The payload (`{}` for a CALLERROR; the raw text, as a string, for an unreadable frame).
    pub payload: Value,
    /// A CALLERROR's code and description.
    pub error: Option<(String, String)>,
}

/// The OCPP-J frame kinds, plus what is no frame at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `[2, ...]`.
    Call,
    /// `[3, ...]`.
    CallResult,
    /// `[4, ...]`.
    CallError,
    /// Not a readable OCPP-J frame.
    Unreadable,
}

impl MessageKind {
    /// The name used in the JSON lines.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Call => "CALL",
            MessageKind::CallResult => "CALLRESULT",
            MessageKind::CallError => "CALLERROR",
            MessageKind::Unreadable => "UNREADABLE",
        }
    }
}

/// What to do with one received text frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// What was received.
    pub received: WireMessage,
    /// The frame to send back and what it is; `None` when nothing is owed (an answer).
    pub answer: Option<(String, WireMessage)>,
    /// A framing problem to report (the payload is judged separately).
    pub problem: Option<String>,
}

/// The actions the lab answers for `version`; everything else gets NotImplemented.
pub fn handled_actions(version: OcppVersion) -> &'static [&'static str] {
    match version {
        OcppVersion::V201 => &[
            "BootNotification",
            "Heartbeat",
            "StatusNotification",
            "NotifyEvent",
            "NotifyReport",
            "SecurityEventNotification",
            "DataTransfer",
        ],
        // SecurityEventNotification is part of the 1.6 security extension.
        OcppVersion::V16 => &[
            "BootNotification",
            "Heartbeat",
            "StatusNotification",
            "SecurityEventNotification",
            "DataTransfer",
        ],
    }
}

/// Reads `text` and decides the answer.
pub fn reply(version: OcppVersion, text: &str, boot: BootPolicy, now: DateTime<Utc>) -> Reply {
    match rpc::parse(text) {
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => {
            let answer = answer_call(version, &id, &action, boot, now);
            Reply {
                received: WireMessage {
                    kind: MessageKind::Call,
                    id: Some(id),
                    action: Some(action),
                    payload,
                    error: None,
                },
                answer: Some(answer),
                problem: None,
            }
        }
        // The lab sends no CALLs, so no answer is expected.
        Ok(Frame::CallResult { id, payload }) => Reply {
            received: WireMessage {
                kind: MessageKind::CallResult,
                id: Some(id),
                action: None,
                payload,
                error: None,
            },
            answer: None,
            problem: Some("a CALLRESULT although the CSMS sent no CALL".to_owned()),
        },
        Ok(Frame::CallError {
            id,
            code,
            description,
        }) => Reply {
            received: WireMessage {
                kind: MessageKind::CallError,
                id: Some(id),
                action: None,
                payload: json!({}),
                error: Some((code, description)),
            },
            answer: None,
            problem: Some("a CALLERROR although the CSMS sent no CALL".to_owned()),
        },
        Err(error) => {
            let received = WireMessage {
                kind: MessageKind::Unreadable,
                id: None,
                action: None,
                payload: Value::String(ocpp_station::redact::printable(text, 200)),
                error: None,
            };
            let answer = error.owed_error().map(|(id, code)| {
                let description = error.to_string();
                (
                    rpc::call_error(&id, code, version, &description),
                    error_message(&id, None, code, version, &description),
                )
            });
            Reply {
                received,
                answer,
                problem: Some(format!("unreadable frame: {error}")),
            }
        }
    }
}

fn answer_call(
    version: OcppVersion,
    id: &str,
    action: &str,
    boot: BootPolicy,
    now: DateTime<Utc>,
) -> (String, WireMessage) {
    let result = match action {
        "BootNotification" => Some(json!({
            "currentTime": format_timestamp(now),
            "interval": boot.interval,
            "status": boot.status.wire(),
        })),
        "Heartbeat" => Some(json!({"currentTime": format_timestamp(now)})),
        "DataTransfer" => Some(json!({"status": "Accepted"})),
        _ if handled_actions(version).contains(&action) => Some(json!({})),
        _ => None,
    };
    match result {
        Some(payload) => {
            let frame = rpc::call_result(id, &payload);
            let message = WireMessage {
                kind: MessageKind::CallResult,
                id: Some(id.to_owned()),
                action: Some(action.to_owned()),
                payload,
                error: None,
            };
            (frame, message)
        }
        None => {
            let description = format!(
                "the lab CSMS does not handle {}",
                ocpp_station::redact::printable(action, 60)
            );
            (
                rpc::call_error(id, ErrorCode::NotImplemented, version, &description),
                error_message(
                    id,
                    Some(action),
                    ErrorCode::NotImplemented,
                    version,
                    &description,
                ),
            )
        }
    }
}

fn error_message(
    id: &str,
    action: Option<&str>,
    code: ErrorCode,
    version: OcppVersion,
    description: &str,
) -> WireMessage {
    WireMessage {
        kind: MessageKind::CallError,
        id: Some(id.to_owned()),
        action: action.map(str::to_owned),
        payload: json!({}),
        error: Some((code.wire(version).to_owned(), description.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use OcppVersion::{V16, V201};
    use chrono::TimeZone;

    const ACCEPTED: BootPolicy = BootPolicy {
        status: BootStatus::Accepted,
        interval: 10,
    };

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
            + chrono::Duration::nanoseconds(123_456_789)
    }

    fn answer_of(version: OcppVersion, text: &str) -> Value {
        let reply = reply(version, text, ACCEPTED, now());
        serde_json::from_str(&reply.answer.expect("an answer").0).unwrap()
    }

    #[test]
    fn boot_is_answered_with_the_policy_and_a_millisecond_time() {
        assert_eq!(
            answer_of(V201, r#"[2,"b1","BootNotification",{"reason":"PowerUp"}]"#),
            json!([3, "b1", {"currentTime": "2026-03-04T05:06:07.123Z", "interval": 10, "status": "Accepted"}])
        );
        let pending = reply(
            V16,
            r#"[2,"b2","BootNotification",{}]"#,
            BootPolicy {
                status: BootStatus::Pending,
                interval: 30,
            },
            now(),
        );
        let (frame, sent) = pending.answer.unwrap();
        assert!(frame.contains(r#""status":"Pending""#), "{frame}");
        assert_eq!(sent.action.as_deref(), Some("BootNotification"));
        assert_eq!(sent.kind, MessageKind::CallResult);
    }

    #[test]
    fn every_handled_action_gets_a_result() {
        assert_eq!(
            answer_of(V16, r#"[2,"h","Heartbeat",{}]"#),
            json!([3, "h", {"currentTime": "2026-03-04T05:06:07.123Z"}])
        );
        assert_eq!(
            answer_of(V201, r#"[2,"d","DataTransfer",{"vendorId":"x"}]"#),
            json!([3, "d", {"status": "Accepted"}])
        );
        for action in [
            "StatusNotification",
            "NotifyEvent",
            "NotifyReport",
            "SecurityEventNotification",
        ] {
            assert_eq!(
                answer_of(V201, &format!(r#"[2,"x","{action}",{{}}]"#)),
                json!([3, "x", {}]),
                "{action}"
            );
        }
    }

    #[test]
    fn the_rest_is_not_implemented_in_the_version_spelling() {
        let answer = answer_of(V16, r#"[2,"m","MeterValues",{}]"#);
        assert_eq!(answer[0], 4);
        assert_eq!(answer[2], "NotImplemented");
        // NotifyEvent does not exist in 1.6.
        assert_eq!(
            answer_of(V16, r#"[2,"n","NotifyEvent",{}]"#)[2],
            "NotImplemented"
        );
    }

    #[test]
    fn garbage_gets_what_it_is_owed_and_is_reported() {
        let reply_to = |text: &str| reply(V16, text, ACCEPTED, now());
        let not_json = reply_to("hello");
        assert_eq!(not_json.received.kind, MessageKind::Unreadable);
        let (frame, _) = not_json.answer.unwrap();
        assert!(
            frame.starts_with(r#"[4,"-1","FormationViolation""#),
            "{frame}"
        );
        assert!(not_json.problem.unwrap().contains("not valid JSON"));

        let answer = reply_to(r#"[3,"x",{}]"#);
        assert!(answer.answer.is_none());
        assert!(answer.problem.is_some());
        let answer = reply_to(r#"[4,"x","GenericError","no",{}]"#);
        assert!(answer.answer.is_none());
        assert_eq!(
            answer.received.error,
            Some(("GenericError".into(), "no".into()))
        );
        // Control characters never reach the view raw.
        let raw = reply_to("\u{1b}[2J");
        assert_eq!(raw.received.payload, json!("\\u{1b}[2J"));
    }
}
