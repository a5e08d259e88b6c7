//! OCPP versions and the version-neutral model the station core works with.
//!
//! `v201` and `v16` translate between this model and each version's wire messages.

use std::fmt;
use std::str::FromStr;

/// The OCPP versions the station speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcppVersion {
    /// OCPP 2.0.1, WebSocket subprotocol `ocpp2.0.1`.
    V201,
    /// OCPP 1.6J, WebSocket subprotocol `ocpp1.6`.
    V16,
}

impl OcppVersion {
    /// The WebSocket subprotocol name offered and expected for this version.
    pub fn subprotocol(self) -> &'static str {
        match self {
            OcppVersion::V201 => "ocpp2.0.1",
            OcppVersion::V16 => "ocpp1.6",
        }
    }

    /// The version a subprotocol name selects, if it is one the station speaks.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name.trim() {
            "ocpp2.0.1" => Some(OcppVersion::V201),
            "ocpp1.6" => Some(OcppVersion::V16),
            _ => None,
        }
    }

    /// The other version (the fallback target).
    pub fn other(self) -> Self {
        match self {
            OcppVersion::V201 => OcppVersion::V16,
            OcppVersion::V16 => OcppVersion::V201,
        }
    }
}

impl fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OcppVersion::V201 => "2.0.1",
            OcppVersion::V16 => "1.6",
        })
    }
}

/// The vendorId of the station's own DataTransfer messages.
pub const VENDOR_ID: &str = "ocpp-station";

/// The spellings accepted in `OCPP_PRIMARY` and `--primary`.
pub const VERSION_SPELLINGS: &str = "2.0.1, 201, v201, ocpp2.0.1, 1.6, 1.6j, 16, v16, ocpp1.6";

impl FromStr for OcppVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "2.0.1" | "201" | "v201" | "ocpp2.0.1" | "v2.0.1" => Ok(OcppVersion::V201),
            "1.6" | "1.6j" | "16" | "v16" | "ocpp1.6" | "v1.6" | "ocpp1.6j" => Ok(OcppVersion::V16),
            other => Err(format!(
                "unknown OCPP version '{other}' (accepted: {VERSION_SPELLINGS})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spelling_parses() {
        for s in ["2.0.1", "201", "v201", "ocpp2.0.1", "OCPP2.0.1"] {
            assert_eq!(s.parse::<OcppVersion>(), Ok(OcppVersion::V201), "{s}");
        }
        for s in ["1.6", "1.6j", "1.6J", "16", "v16", "ocpp1.6"] {
            assert_eq!(s.parse::<OcppVersion>(), Ok(OcppVersion::V16), "{s}");
        }
        assert!("2.1".parse::<OcppVersion>().is_err());
    }

    #[test]
    fn the_cause_of_a_fault_is_its_text_else_its_code() {
        let fault = |info: Option<&str>, vendor: Option<&str>| {
            ConnectorStatus::Faulted(Fault {
                code: FaultCode::GroundFailure,
                info: info.map(Into::into),
                vendor_error_code: vendor.map(Into::into),
            })
        };
        let cause = |status: ConnectorStatus| status.fault_cause();
        assert_eq!(
            cause(fault(Some("earth fault"), Some("EF"))).as_deref(),
            Some("earth fault")
        );
        assert_eq!(cause(fault(None, Some("EF"))).as_deref(), Some("EF"));
        assert_eq!(cause(fault(None, None)).as_deref(), Some("GroundFailure"));
        assert_eq!(cause(ConnectorStatus::Available), None);
    }

    #[test]
    fn subprotocols_round_trip() {
        for v in [OcppVersion::V201, OcppVersion::V16] {
            assert_eq!(OcppVersion::from_subprotocol(v.subprotocol()), Some(v));
        }
        assert_eq!(OcppVersion::from_subprotocol("ocpp2.1"), None);
    }
}

pub mod csms_request;
pub mod v16;
pub mod v201;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What the operator must see for one connector, version-neutral. 2.0.1 folds the session
/// phases into `Occupied`; 1.6 reports them separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorStatus {
    /// Free, ready for a new user.
    Available,
    /// Cable or EV present, no energy yet (also: authorized, waiting for the EV).
    Preparing,
    /// Energy flowing.
    Charging,
    /// The EV stopped drawing.
    SuspendedEv,
    /// The station is not offering energy.
    SuspendedEvse,
    /// Session over, cable still plugged.
    Finishing,
    /// Taken out of service, or no charge controller to vouch for the connector.
    Unavailable,
    /// Not usable because of a fault; the cause travels with it.
    Faulted(Fault),
}

impl ConnectorStatus {
    /// The status's name as 1.6 spells it (the most detailed one: 2.0.1 folds several into
    /// Occupied).
    pub fn name(&self) -> &'static str {
        match self {
            ConnectorStatus::Available => "Available",
            ConnectorStatus::Preparing => "Preparing",
            ConnectorStatus::Charging => "Charging",
            ConnectorStatus::SuspendedEv => "SuspendedEV",
            ConnectorStatus::SuspendedEvse => "SuspendedEVSE",
            ConnectorStatus::Finishing => "Finishing",
            ConnectorStatus::Unavailable => "Unavailable",
            ConnectorStatus::Faulted(_) => "Faulted",
        }
    }

    /// Why the connector is out of order, for people (the status file, `--once`); `None` when
    /// it is not Faulted.
    pub fn fault_cause(&self) -> Option<String> {
        match self {
            ConnectorStatus::Faulted(fault) => Some(fault.cause()),
            _ => None,
        }
    }

    /// The CSMS would see no difference between `self` and `other` in `version`: 2.0.1 folds
    /// the session phases into Occupied, so Preparing -> Charging is no news there.
    pub fn same_on_wire(&self, other: &ConnectorStatus, version: OcppVersion) -> bool {
        match version {
            OcppVersion::V16 => self == other,
            OcppVersion::V201 => match (self, other) {
                (ConnectorStatus::Faulted(a), ConnectorStatus::Faulted(b)) => a == b,
                (a, b) => v201::connector_status(a) == v201::connector_status(b),
            },
        }
    }
}

/// Why a connector is Faulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The 1.6 errorCode.
    pub code: FaultCode,
    /// Free text for the operator (1.6 `info`, <= 50 characters).
    pub info: Option<String>,
    /// A vendor-specific code (1.6 `vendorErrorCode`, <= 50 characters).
    pub vendor_error_code: Option<String>,
}

/// The 1.6 ChargePointErrorCode values the station can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// Earth fault.
    GroundFailure,
    /// Too hot to charge safely.
    HighTemperature,
    /// The station's own software or hardware link failed.
    InternalError,
    /// Any other fault.
    OtherError,
}

impl Fault {
    /// A short code for the fault: the vendor code when there is one, else the error code.
    pub fn tech_code(&self) -> String {
        self.vendor_error_code
            .clone()
            .unwrap_or_else(|| format!("{:?}", self.code))
    }

    /// The cause as a person reads it: the text when there is one, else the short code.
    pub fn cause(&self) -> String {
        self.info.clone().unwrap_or_else(|| self.tech_code())
    }
}

/// Why the station booted (2.0.1 BootNotification `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootReason {
    /// A normal start.
    PowerUp,
    /// Restarted at the CSMS's request.
    RemoteReset,
    /// Sent because the CSMS asked for a BootNotification (TriggerMessage); never the reason a
    /// process started with.
    Triggered,
}

/// The security events the station reports (2.0.1 SecurityEventNotification `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEventKind {
    /// A normal start.
    StartupOfTheDevice,
    /// A start after a Reset.
    ResetOrReboot,
}

impl SecurityEventKind {
    /// The `type` value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            SecurityEventKind::StartupOfTheDevice => "StartupOfTheDevice",
            SecurityEventKind::ResetOrReboot => "ResetOrReboot",
        }
    }
}

/// A CALL the station sends, version-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// BootNotification.
    Boot(BootReason),
    /// StatusNotification for a connector (0 = the station as a whole, 1.6 only), as it is
    /// sent: the station fills it in from the connector's status when it goes, and its queues
    /// hold only the connector number until then.
    Status {
        /// Connector number (2.0.1: EVSE `connector`, connector 1).
        connector: u32,
        /// The status to report.
        status: ConnectorStatus,
        /// A warning that does not take the connector out of service (1.6 connector 0 carries
        /// the station's health warnings this way: errorCode, info, vendorErrorCode).
        notice: Option<Fault>,
    },
    /// Heartbeat.
    Heartbeat,
    /// SecurityEventNotification announcing this start (2.0.1).
    SecurityEvent(SecurityEventKind),
    /// NotifyEvent on the station's `Problem` variable (2.0.1): a health warning raised or
    /// cleared.
    StationProblem {
        /// Unique per event.
        event_id: i32,
        /// The warning.
        warning: Fault,
        /// True when it has cleared.
        cleared: bool,
    },
    /// DataTransfer of one of the station's own messages (vendorId `ocpp-station`).
    DataTransfer {
        /// The messageId.
        message_id: &'static str,
        /// The data (2.0.1: as JSON; 1.6: as JSON text).
        data: Value,
    },
    /// One part of a NotifyReport answering GetBaseReport (2.0.1).
    NotifyReport {
        /// The GetBaseReport's requestId.
        request_id: i64,
        /// Part number, from 0.
        seq_no: u32,
        /// More parts follow.
        tbc: bool,
        /// The reportData array.
        data: Value,
    },
    /// NotifyEvent on the connector's `Problem` variable (2.0.1): StatusNotification carries no
    /// cause there, so the cause of a fault travels with this, raised and cleared.
    ConnectorProblem {
        /// Connector (EVSE) number.
        connector: u32,
        /// Unique per event.
        event_id: i32,
        /// The fault raised, or the one that cleared.
        fault: Fault,
        /// True when the fault has cleared.
        cleared: bool,
    },
}

impl Request {
    /// The OCPP action name (the same in both versions).
    pub fn action(&self) -> &'static str {
        match self {
            Request::Boot(_) => "BootNotification",
            Request::Status { .. } => "StatusNotification",
            Request::Heartbeat => "Heartbeat",
            Request::SecurityEvent(_) => "SecurityEventNotification",
            Request::ConnectorProblem { .. } => "NotifyEvent",
            Request::NotifyReport { .. } => "NotifyReport",
            Request::StationProblem { .. } => "NotifyEvent",
            Request::DataTransfer { .. } => "DataTransfer",
        }
    }
}

/// The CSMS's registration decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    /// Registered: the station may send anything.
    Accepted,
    /// Not yet: the CSMS wants to look at or configure the station first.
    Pending,
    /// Not registered: send nothing until the interval has passed.
    Rejected,
}

impl fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistrationStatus::Accepted => "Accepted",
            RegistrationStatus::Pending => "Pending",
            RegistrationStatus::Rejected => "Rejected",
        })
    }
}

/// What the station tells the CSMS about itself in BootNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    /// The vendor: 1.6 chargePointVendor (<= 20 characters), 2.0.1 vendorName (<= 50).
    pub vendor: String,
    /// The model, <= 20 characters in both versions.
    pub model: String,
    /// The serial number, <= 25 characters.
    pub serial_number: Option<String>,
    /// The firmware (package) version, <= 50 characters.
    pub firmware_version: Option<String>,
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
    pub current_time: Option<DateTime<Utc>>,
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
pub fn read_current_time(payload: &Value) -> Option<DateTime<Utc>> {
    payload
        .get("currentTime")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_timestamp)
}

/// How the station answers a CALL from the CSMS.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A CALLRESULT with this payload.
    Result(Value),
    /// A CALLERROR.
    Error(crate::rpc::ErrorCode, String),
}

/// What a version module knows about a CSMS-initiated action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Not an action of this version.
    Unknown,
    /// An action of this version that the station does not support.
    Unsupported,
    /// A remote start/stop: refused while not Accepted (B02.FR.05, 1.6 section 4.2).
    RemoteStartStop,
    /// Configuration and triggers: the CSMS may use them while Pending.
    AllowedWhilePending,
}

#[cfg(test)]
mod boot_answer_tests {
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
            crate::clock::format_timestamp(a.current_time.unwrap()),
            "2026-11-22T08:00:00.123Z"
        );
    }

    #[test]
    fn a_missing_or_unknown_status_is_an_error() {
        assert!(parse_boot_answer(&json!({"interval":300})).is_err());
        assert!(parse_boot_answer(&json!({"status":"Maybe"})).is_err());
        assert!(parse_boot_answer(&json!([])).is_err());
    }
}
