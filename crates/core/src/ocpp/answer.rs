//! The CSMS's answers to the station's own CALLs, read once into what the station and the shell
//! act on ([`Answer`]), for both versions: the answers the station reads have the same field
//! names in 2.0.1 and 1.6.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{RegistrationStatus, Request};

/// A CALLRESULT, read as the answer to the request it answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// BootNotification: the registration decision.
    Boot(BootAnswer),
    /// A BootNotification answer without a decision the station can read.
    UnreadableBoot {
        /// The `status` text, when the CSMS sent one the station does not know.
        status: Option<String>,
        /// What is wrong, for a person.
        why: String,
    },
    /// Heartbeat: the CSMS's clock.
    Heartbeat {
        /// `currentTime`, when readable.
        current_time: Option<CsmsTime>,
    },
    /// Any other CALL: the CSMS took it, and nothing else in its answer concerns the station.
    Acknowledged,
}

/// Reads `payload` as the CSMS's answer to `request`.
pub fn read(request: &Request, payload: &Value) -> Answer {
    match request {
        Request::Boot(_) => match parse_boot_answer(payload) {
            Ok(answer) => Answer::Boot(answer),
            Err(why) => Answer::UnreadableBoot {
                status: payload
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                why,
            },
        },
        Request::Heartbeat => Answer::Heartbeat {
            current_time: read_current_time(payload),
        },
        _ => Answer::Acknowledged,
    }
}

/// A readable `currentTime` from the CSMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsmsTime {
    /// The instant.
    pub utc: DateTime<Utc>,
    /// The text as the CSMS wrote it (the `--once` report shows it as received).
    pub as_sent: String,
}

/// A BootNotification answer, read leniently: the same field names in both versions, any
/// integer interval (rust-ocpp's 2.0.1 type stops at 65535), any RFC 3339 offset, extra fields
/// ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct BootAnswer {
    /// The decision.
    pub status: RegistrationStatus,
    /// Seconds: heartbeat interval when Accepted, retry delay otherwise. Negative values read 0;
    /// huge ones saturate at `u64::MAX` (the station clamps them, see [`crate::deadline`]).
    pub interval: u64,
    /// The CSMS's clock, when it sent a readable one.
    pub current_time: Option<CsmsTime>,
}

/// Reads a BootNotification answer payload.
pub fn parse_boot_answer(payload: &Value) -> Result<BootAnswer, String> {
    let status = match payload.get("status").and_then(Value::as_str) {
        Some("Accepted") => RegistrationStatus::Accepted,
        Some("Pending") => RegistrationStatus::Pending,
        Some("Rejected") => RegistrationStatus::Rejected,
        Some(other) => return Err(format!("unknown registration status '{other}'")),
        None => return Err("answer has no status".into()),
    };
    let interval = match payload.get("interval") {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(seconds_from_float)),
        Some(Value::String(s)) => {
            let s = s.trim();
            s.parse()
                .ok()
                .or_else(|| s.parse().ok().map(seconds_from_float))
        }
        _ => None,
    }
    .unwrap_or(0);
    Ok(BootAnswer {
        status,
        interval,
        current_time: read_current_time(payload),
    })
}

/// Whole seconds from a JSON float: negative, NaN and fractions below one read 0; anything
/// beyond `u64` saturates (the station clamps it to the longest interval it accepts).
fn seconds_from_float(f: f64) -> u64 {
    if f.is_nan() || f <= 0.0 {
        0
    } else {
        // `as` saturates at u64::MAX and cannot panic.
        f as u64
    }
}

/// The `currentTime` of a Boot or Heartbeat answer, when readable.
pub fn read_current_time(payload: &Value) -> Option<CsmsTime> {
    let as_sent = payload.get("currentTime").and_then(Value::as_str)?;
    Some(CsmsTime {
        utc: crate::clock::parse_timestamp(as_sent)?,
        as_sent: as_sent.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn intervals_beyond_u16_and_odd_shapes_are_read() {
        let a = parse_boot_answer(
            &json!({"status":"Accepted","interval":86_400,"currentTime":"2026-11-22T08:00:00Z"}),
        )
        .unwrap();
        assert_eq!(
            (a.status, a.interval),
            (RegistrationStatus::Accepted, 86_400)
        );
        let a =
            parse_boot_answer(&json!({"status":"Accepted","interval":1_000_000,"currentTime":"x"}))
                .unwrap();
        assert_eq!(a.interval, 1_000_000);
        assert_eq!(a.current_time, None);
        assert_eq!(
            parse_boot_answer(&json!({"status":"Pending","interval":-5}))
                .unwrap()
                .interval,
            0
        );
        assert_eq!(
            parse_boot_answer(&json!({"status":"Pending","interval":"30"}))
                .unwrap()
                .interval,
            30
        );
        assert_eq!(
            parse_boot_answer(&json!({"status":"Rejected"}))
                .unwrap()
                .interval,
            0
        );
    }

    #[test]
    fn huge_intervals_saturate_in_every_shape() {
        let read = |interval: Value| {
            parse_boot_answer(&json!({"status":"Accepted","interval":interval}))
                .unwrap()
                .interval
        };
        assert_eq!(read(json!(18_446_744_073_709_551_615u64)), u64::MAX);
        assert_eq!(read(json!(9_223_372_036_854_775_807i64)), i64::MAX as u64);
        assert_eq!(read(json!(1e300)), u64::MAX);
        assert_eq!(read(json!("18446744073709551615")), u64::MAX);
        assert_eq!(read(json!("1e300")), u64::MAX);
        assert_eq!(read(json!("99999999999999999999999")), u64::MAX);
        assert_eq!(read(json!(-1e300)), 0);
        assert_eq!(read(json!("-5")), 0);
        assert_eq!(read(json!(29.9)), 29);
        assert_eq!(read(json!("soon")), 0);
    }

    #[test]
    fn current_time_with_an_offset_and_extra_fields_are_accepted() {
        let a = parse_boot_answer(&json!({
            "status":"Accepted","interval":300,
            "currentTime":"2026-11-22T09:00:00.123456+01:00","statusInfo":{"reasonCode":"x"},"vendorExtra":1
        }))
        .unwrap();
        assert_eq!(
            crate::clock::format_timestamp(a.current_time.unwrap().utc),
            "2026-11-22T08:00:00.123Z"
        );
    }

    #[test]
    fn a_missing_or_unknown_status_is_an_error() {
        assert!(parse_boot_answer(&json!({"interval":300})).is_err());
        assert!(parse_boot_answer(&json!({"status":"Maybe"})).is_err());
        assert!(parse_boot_answer(&json!([])).is_err());
    }

    #[test]
    fn each_answer_is_read_as_what_it_answers() {
        let boot = Request::Boot(crate::ocpp::BootReason::PowerUp);
        assert!(matches!(
            read(&boot, &json!({"status": "Pending", "interval": 30})),
            Answer::Boot(BootAnswer {
                status: RegistrationStatus::Pending,
                interval: 30,
                current_time: None
            })
        ));
        assert_eq!(
            read(&boot, &json!({"status": "Maybe"})),
            Answer::UnreadableBoot {
                status: Some("Maybe".into()),
                why: "unknown registration status 'Maybe'".into()
            }
        );
        let time = "2026-11-22T09:00:00+01:00";
        let Answer::Heartbeat {
            current_time: Some(current_time),
        } = read(&Request::Heartbeat, &json!({ "currentTime": time }))
        else {
            panic!("a Heartbeat answer carries the CSMS's clock");
        };
        assert_eq!(current_time.as_sent, time);
        assert_eq!(
            crate::clock::format_timestamp(current_time.utc),
            "2026-11-22T08:00:00.000Z"
        );
        assert_eq!(
            read(&Request::Heartbeat, &json!({"currentTime": "soon"})),
            Answer::Heartbeat { current_time: None }
        );
        assert_eq!(
            read(&Request::Heartbeat, &json!({"status": "Accepted"})),
            Answer::Heartbeat { current_time: None }
        );
        let status = Request::SecurityEvent(crate::ocpp::SecurityEventKind::StartupOfTheDevice);
        assert_eq!(read(&status, &json!({"status": "x"})), Answer::Acknowledged);
    }
}
