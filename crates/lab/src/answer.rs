//! What the lab CSMS answers, frame by frame. Pure: the caller passes the wall-clock time.
//!
//! Frames are read with the station's own OCPP-J parser ([`ocpp_station::rpc`]), so the lab and the
//! station agree on framing, and a frame that cannot be read gets the CALLERROR the version owes.
//! Payloads are not judged here: the lab answers leniently and reports problems in the view, so a
//! bench session keeps going and shows everything that is wrong.
//!
//! Transactions are accepted as they come: 2.0.1 TransactionEvent and 1.6 Start/StopTransaction
//! get `Accepted` for any token, and every 1.6 StartTransaction a transaction id from
//! [`TransactionIds`], the one piece of state the answers need.

use std::sync::atomic::{AtomicI32, Ordering};

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

/// The 1.6 transaction ids the lab gives: 1, 2, 3... in the order StartTransactions arrive, shared
/// by every station and connection of one lab run, so an id is never given twice while the lab
/// runs. The view relies on them being consecutive to tell an id the lab gave from one it never
/// gave.
#[derive(Debug)]
pub struct TransactionIds {
    next: AtomicI32,
}

impl Default for TransactionIds {
    fn default() -> Self {
        Self {
            next: AtomicI32::new(1),
        }
    }
}

impl TransactionIds {
    /// The next id; `None` once they run out, after about two billion (ids stay within `i32`:
    /// most CSMSs and stations hold the schema's integer in 32 bits).
    pub fn allocate(&self) -> Option<i32> {
        self.next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| id.checked_add(1))
            .ok()
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
            "TransactionEvent",
            "MeterValues",
        ],
        // SecurityEventNotification is part of the 1.6 security extension.
        OcppVersion::V16 => &[
            "BootNotification",
            "Heartbeat",
            "StatusNotification",
            "SecurityEventNotification",
            "DataTransfer",
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        ],
    }
}

/// Reads `text` and decides the answer; a 1.6 StartTransaction takes its id from `ids`.
pub fn reply(
    version: OcppVersion,
    text: &str,
    boot: BootPolicy,
    ids: &TransactionIds,
    now: DateTime<Utc>,
) -> Reply {
    match rpc::parse(text) {
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => {
            let answer = answer_call(version, &id, &action, &payload, boot, ids, now);
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
    payload: &Value,
    boot: BootPolicy,
    ids: &TransactionIds,
    now: DateTime<Utc>,
) -> (String, WireMessage) {
    let result = match action {
        _ if !handled_actions(version).contains(&action) => Err((
            ErrorCode::NotImplemented,
            format!(
                "the lab CSMS does not handle {}",
                ocpp_station::redact::printable(action, 60)
            ),
        )),
        "BootNotification" => Ok(json!({
            "currentTime": format_timestamp(now),
            "interval": boot.interval,
            "status": boot.status.wire(),
        })),
        "Heartbeat" => Ok(json!({"currentTime": format_timestamp(now)})),
        "DataTransfer" => Ok(json!({"status": "Accepted"})),
        "TransactionEvent" => Ok(transaction_event_result(payload)),
        "StartTransaction" => ids
            .allocate()
            .map(|transaction_id| {
                json!({"idTagInfo": {"status": "Accepted"}, "transactionId": transaction_id})
            })
            .ok_or_else(|| {
                (
                    ErrorCode::InternalError,
                    "the lab CSMS has given every transaction id it has: restart it".to_owned(),
                )
            }),
        "StopTransaction" => Ok(stop_transaction_result(payload)),
        _ => Ok(json!({})),
    };
    match result {
        Ok(payload) => {
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
        Err((code, description)) => (
            rpc::call_error(id, code, version, &description),
            error_message(id, Some(action), code, version, &description),
        ),
    }
}

/// A TransactionEvent's answer: the token's verdict when the event carries one (the first event
/// after authorization), an empty answer otherwise, as the schema has it.
fn transaction_event_result(request: &Value) -> Value {
    if request.get("idToken").is_some_and(Value::is_object) {
        json!({"idTokenInfo": {"status": "Accepted"}})
    } else {
        json!({})
    }
}

/// A StopTransaction's answer: the idTag's verdict when the stop names one.
fn stop_transaction_result(request: &Value) -> Value {
    if request.get("idTag").is_some_and(Value::is_string) {
        json!({"idTagInfo": {"status": "Accepted"}})
    } else {
        json!({})
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
        answer_with(version, text, &TransactionIds::default())
    }

    fn answer_with(version: OcppVersion, text: &str, ids: &TransactionIds) -> Value {
        let reply = reply(version, text, ACCEPTED, ids, now());
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
            &TransactionIds::default(),
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
        let answer = answer_of(V16, r#"[2,"m","GetCertificateStatus",{}]"#);
        assert_eq!(answer[0], 4);
        assert_eq!(answer[2], "NotImplemented");
        // NotifyEvent does not exist in 1.6, nor StartTransaction in 2.0.1.
        assert_eq!(
            answer_of(V16, r#"[2,"n","NotifyEvent",{}]"#)[2],
            "NotImplemented"
        );
        assert_eq!(
            answer_of(V201, r#"[2,"s","StartTransaction",{}]"#)[2],
            "NotImplemented"
        );
    }

    #[test]
    fn a_201_transaction_event_gets_the_tokens_verdict_only_when_it_carries_one() {
        let started = r#"[2,"t1","TransactionEvent",{"eventType":"Started","seqNo":0,
            "idToken":{"idToken":"","type":"NoAuthorization"},
            "transactionInfo":{"transactionId":"tx-1"}}]"#;
        assert_eq!(
            answer_of(V201, started),
            json!([3, "t1", {"idTokenInfo": {"status": "Accepted"}}])
        );
        let updated = r#"[2,"t2","TransactionEvent",{"eventType":"Updated","seqNo":1,
            "transactionInfo":{"transactionId":"tx-1"}}]"#;
        assert_eq!(answer_of(V201, updated), json!([3, "t2", {}]));
        // Lenient: a broken event is still answered.
        assert_eq!(
            answer_of(V201, r#"[2,"t3","TransactionEvent",{"idToken":"x"}]"#),
            json!([3, "t3", {}])
        );
        assert_eq!(
            answer_of(V201, r#"[2,"m","MeterValues",{"evseId":0}]"#),
            json!([3, "m", {}])
        );
    }

    #[test]
    fn a_16_start_gets_a_new_id_every_time_and_the_stop_its_tags_verdict() {
        let ids = TransactionIds::default();
        let start = |id: &str| {
            let text = format!(
                r#"[2,"{id}","StartTransaction",{{"connectorId":1,"idTag":"LOCAL","meterStart":0,
                "timestamp":"2026-01-01T00:00:00Z"}}]"#
            );
            answer_with(V16, &text, &ids)
        };
        assert_eq!(
            start("s1"),
            json!([3, "s1", {"idTagInfo": {"status": "Accepted"}, "transactionId": 1}])
        );
        assert_eq!(start("s2")[2]["transactionId"], 2);
        // Even a start without its fields gets an id: the lab answers what it can.
        assert_eq!(
            answer_with(V16, r#"[2,"s3","StartTransaction",{}]"#, &ids)[2]["transactionId"],
            3
        );
        assert_eq!(
            answer_of(
                V16,
                r#"[2,"e","StopTransaction",{"transactionId":1,"idTag":"LOCAL"}]"#
            ),
            json!([3, "e", {"idTagInfo": {"status": "Accepted"}}])
        );
        assert_eq!(
            answer_of(V16, r#"[2,"e","StopTransaction",{"transactionId":1}]"#),
            json!([3, "e", {}])
        );
        assert_eq!(
            answer_of(V16, r#"[2,"m","MeterValues",{"connectorId":1}]"#),
            json!([3, "m", {}])
        );
    }

    #[test]
    fn ids_run_out_with_an_error_never_a_repeat() {
        let ids = TransactionIds {
            next: AtomicI32::new(i32::MAX - 1),
        };
        assert_eq!(ids.allocate(), Some(i32::MAX - 1));
        // The last one cannot be followed: refused from then on.
        assert_eq!(ids.allocate(), None);
        let text = r#"[2,"s","StartTransaction",{}]"#;
        let reply = reply(V16, text, ACCEPTED, &ids, now());
        let (frame, sent) = reply.answer.unwrap();
        assert!(frame.starts_with(r#"[4,"s","InternalError""#), "{frame}");
        assert_eq!(sent.action.as_deref(), Some("StartTransaction"));
    }

    #[test]
    fn garbage_gets_what_it_is_owed_and_is_reported() {
        let ids = TransactionIds::default();
        let reply_to = |text: &str| reply(V16, text, ACCEPTED, &ids, now());
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
