//! OCPP versions and the version-neutral model the station core works with.
//!
//! `v201` and `v16` translate between this model and each version's wire messages, both ways:
//! the station's own CALLs ([`Request`]) out, the CSMS's requests in ([`csms_request`], read
//! with [`decode`]) and the station's answers to them out ([`csms_response`]). [`answer`] reads
//! the CSMS's answers to the station's CALLs.

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

pub mod answer;
pub mod csms_request;
pub mod csms_response;
pub mod decode;
pub mod v16;
pub mod v201;

pub use answer::{Answer, BootAnswer, CsmsTime, parse_boot_answer};
pub use csms_request::{CsmsRequest, WhilePending};
pub use csms_response::{CsmsResponse, Reply};
pub use decode::DecodeError;

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

/// A StatusNotification as its version addresses and spells it: what the CSMS was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOnWire {
    /// 2.0.1 evseId; 1.6 has no EVSE.
    pub evse_id: Option<u32>,
    /// The connectorId (1.6: 0 is the charge point as a whole; 2.0.1: within the EVSE).
    pub connector_id: u32,
    /// The status as the version spells it (2.0.1 folds the session phases into `Occupied`).
    pub status: &'static str,
}

impl Request {
    /// For a StatusNotification, where and what it reports in `version`.
    pub fn status_on_wire(&self, version: OcppVersion) -> Option<StatusOnWire> {
        let Request::Status {
            connector, status, ..
        } = self
        else {
            return None;
        };
        Some(match version {
            OcppVersion::V201 => {
                let (evse_id, connector_id) = v201::evse_and_connector(*connector);
                StatusOnWire {
                    evse_id: Some(evse_id),
                    connector_id,
                    status: v201::connector_status_name(status),
                }
            }
            OcppVersion::V16 => StatusOnWire {
                evse_id: None,
                connector_id: *connector,
                status: status.name(),
            },
        })
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
