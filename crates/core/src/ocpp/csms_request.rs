//! The CSMS's requests, decoded once from either version into one typed model.
//!
//! [`decode`] hands the action and payload to the version's reader (`v201::decode_request`,
//! `v16::decode_request`), which checks every field the station reads and returns either a
//! [`CsmsRequest`] whose fields hold only valid values or the [`DecodeError`] that says which
//! CALLERROR the CSMS is owed (the rule is in [`super::decode`]). Nothing after this point reads
//! the JSON again.

use serde_json::Value;

use super::OcppVersion;
use super::decode::DecodeError;
use crate::device_model::{CustomReport, GetVariableData, ReportBase, SetVariableData};

/// What the CSMS asked for, with every field the station acts on read and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum CsmsRequest {
    /// TriggerMessage.
    TriggerMessage(TriggerTarget),
    /// ChangeAvailability.
    ChangeAvailability {
        /// The connector (EVSE in 2.0.1); `None` is the whole station (1.6 connector 0, 2.0.1
        /// without evse or with evse 0).
        connector: Option<u32>,
        /// Operative (true) or Inoperative.
        operative: bool,
    },
    /// Reset.
    Reset {
        /// Immediate (2.0.1), Hard or Soft (1.6): now. Otherwise OnIdle.
        immediate: bool,
        /// 2.0.1 may name a single EVSE.
        evse: Option<u32>,
    },
    /// UnlockConnector.
    UnlockConnector {
        /// The connector (EVSE in 2.0.1).
        connector: u32,
    },
    /// DataTransfer.
    DataTransfer {
        /// Whose message it is.
        vendor_id: String,
        /// Which of the vendor's messages.
        message_id: Option<String>,
    },
    /// GetVariables (2.0.1): 1 to ItemsPerMessage entries.
    GetVariables(Vec<GetVariableData>),
    /// SetVariables (2.0.1): 1 to ItemsPerMessage entries.
    SetVariables(Vec<SetVariableData>),
    /// GetBaseReport (2.0.1).
    GetBaseReport {
        /// Echoed in every NotifyReport.
        request_id: i64,
        /// Which inventory.
        base: ReportBase,
    },
    /// GetReport (2.0.1); an absent list is no filter (a list that is there holds at least one
    /// entry, as the schema requires).
    GetReport {
        /// Echoed in every NotifyReport.
        request_id: i64,
        /// What to report.
        filter: CustomReport,
    },
    /// GetConfiguration (1.6); `None` (or an empty list) asks for every key.
    GetConfiguration {
        /// The keys asked for, at most GetConfigurationMaxKeys.
        keys: Option<Vec<String>>,
    },
    /// ChangeConfiguration (1.6).
    ChangeConfiguration {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// RequestStartTransaction (2.0.1), RemoteStartTransaction (1.6): refused, the station runs
    /// no OCPP transactions.
    RemoteStart {
        /// The token the session would be for (2.0.1 idToken.idToken, 1.6 idTag).
        id_token: String,
    },
    /// RequestStopTransaction (2.0.1), RemoteStopTransaction (1.6): refused likewise.
    RemoteStop {
        /// The transaction to stop (1.6 sends an integer, shown here as text).
        transaction_id: String,
    },
}

/// What a TriggerMessage asks the station to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerTarget {
    /// BootNotification.
    Boot,
    /// Heartbeat.
    Heartbeat,
    /// StatusNotification.
    Status(StatusTarget),
    /// A message of the version's list that the station does not send (MeterValues, ...).
    Other,
}

/// Which StatusNotification a TriggerMessage asks for, as the request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTarget {
    /// No connector named (1.6 without connectorId, 2.0.1 without evse).
    Unspecified,
    /// 1.6 connectorId (0: the charge point as a whole).
    Connector(u32),
    /// 2.0.1 evse, with its connectorId when given.
    Evse {
        /// evse.id.
        id: u32,
        /// evse.connectorId.
        connector: Option<u32>,
    },
}

/// A TriggerMessage's requestedMessage as the station sorts it; the version's reader adds the
/// connector a StatusNotification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestedMessage {
    Boot,
    Heartbeat,
    Status,
    /// In the version's list, but not a message the station sends.
    Other,
}

impl RequestedMessage {
    /// The trigger's target; `status` is what a StatusNotification is for.
    pub(crate) fn target(self, status: StatusTarget) -> TriggerTarget {
        match self {
            RequestedMessage::Boot => TriggerTarget::Boot,
            RequestedMessage::Heartbeat => TriggerTarget::Heartbeat,
            RequestedMessage::Status => TriggerTarget::Status(status),
            RequestedMessage::Other => TriggerTarget::Other,
        }
    }
}

/// How a request is treated while the station is not registered (Boot Pending, or no Boot
/// answered yet): 2.0.1 B02.FR.02/B02.FR.05, 1.6 section 4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhilePending {
    /// Configuration and triggers: how the CSMS finishes a Pending registration; answered as
    /// when Accepted.
    Answered,
    /// Remote start and stop: answered `Rejected`.
    Rejected,
    /// Everything else (the actions the station does not support too): CALLERROR
    /// SecurityError, and nothing happens.
    SecurityError,
}

impl CsmsRequest {
    /// How the request is treated while the station is not registered. The one place that
    /// decides it: a new kind of request must say.
    pub fn while_pending(&self) -> WhilePending {
        match self {
            CsmsRequest::TriggerMessage(_)
            | CsmsRequest::GetVariables(_)
            | CsmsRequest::SetVariables(_)
            | CsmsRequest::GetBaseReport { .. }
            | CsmsRequest::GetReport { .. }
            | CsmsRequest::GetConfiguration { .. }
            | CsmsRequest::ChangeConfiguration { .. } => WhilePending::Answered,
            CsmsRequest::RemoteStart { .. } | CsmsRequest::RemoteStop { .. } => {
                WhilePending::Rejected
            }
            CsmsRequest::ChangeAvailability { .. }
            | CsmsRequest::Reset { .. }
            | CsmsRequest::UnlockConnector { .. }
            | CsmsRequest::DataTransfer { .. } => WhilePending::SecurityError,
        }
    }
}

/// Reads the CSMS's request `action` with `payload` in `version`.
pub fn decode(
    version: OcppVersion,
    action: &str,
    payload: &Value,
) -> Result<CsmsRequest, DecodeError> {
    match version {
        OcppVersion::V201 => super::v201::decode_request(action, payload),
        OcppVersion::V16 => super::v16::decode_request(action, payload),
    }
}

/// Whether `action` is one a CSMS of `version` may send to a station (supported or not).
pub fn is_csms_action(version: OcppVersion, action: &str) -> bool {
    match version {
        OcppVersion::V201 => super::v201::CSMS_ACTIONS.contains(&action),
        OcppVersion::V16 => super::v16::CSMS_ACTIONS.contains(&action),
    }
}

#[cfg(test)]
mod tests;
