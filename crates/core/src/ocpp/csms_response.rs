//! The station's answers to the CSMS's requests, typed and version-neutral; `v201` and `v16`
//! write each one as its version spells it ([`encode`]).

use serde::Serialize;
use serde_json::{Map, Value};

use super::OcppVersion;
use crate::device_model::{
    ConfigurationStatus16, GetVariableResult, KeyValue16, SetVariableResult, StatusInfo,
};
use crate::rpc::ErrorCode;

/// How the station answers a CALL from the CSMS.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A CALLRESULT with this answer.
    Result(CsmsResponse),
    /// A CALLERROR.
    Error(ErrorCode, String),
}

/// A CALLRESULT's content, version-neutral. `info` carries the 2.0.1 statusInfo; 1.6 has no
/// such field and leaves it out.
#[derive(Debug, Clone, PartialEq)]
pub enum CsmsResponse {
    /// TriggerMessage.
    TriggerMessage {
        /// The decision.
        status: TriggerStatus,
        /// Why, when refused.
        info: Option<StatusInfo>,
    },
    /// ChangeAvailability.
    ChangeAvailability(ChangeStatus),
    /// Reset.
    Reset(ChangeStatus),
    /// UnlockConnector.
    UnlockConnector(UnlockStatus),
    /// DataTransfer.
    DataTransfer(DataTransferStatus),
    /// GetVariables (2.0.1): one result per entry, in order.
    GetVariables(Vec<GetVariableResult>),
    /// SetVariables (2.0.1): one result per entry, in order.
    SetVariables(Vec<SetVariableResult>),
    /// GetBaseReport and GetReport (2.0.1).
    Report {
        /// The decision.
        status: ReportStatus,
        /// Why, when refused.
        info: Option<StatusInfo>,
    },
    /// GetConfiguration (1.6).
    GetConfiguration {
        /// The keys the station has, with their values.
        known: Vec<KeyValue16>,
        /// The keys asked for that it does not have.
        unknown: Vec<String>,
    },
    /// ChangeConfiguration (1.6).
    ChangeConfiguration(ConfigurationStatus16),
    /// A remote start or stop while not registered: `Rejected`.
    RemoteStartStopRejected,
}

/// TriggerMessage's answer (the same three values in both versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerStatus {
    /// The message follows the answer.
    Accepted,
    /// Not sent (an unknown connector, or a registered 2.0.1 station asked to boot).
    Rejected,
    /// A message the station does not send.
    NotImplemented,
}

/// ChangeAvailability's and Reset's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    /// Done now.
    Accepted,
    /// Refused.
    Rejected,
    /// Done once the running session ends.
    Scheduled,
}

/// UnlockConnector's answer, in the station's terms; each version says it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockStatus {
    /// No such connector.
    UnknownConnector,
    /// The charger has a fixed cable and no remotely driven lock release.
    NoReleasePath,
}

/// DataTransfer's answer: the station takes no CSMS-initiated message of its own yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataTransferStatus {
    /// Addressed to another vendor.
    UnknownVendorId,
    /// Addressed to the station's vendorId, but no such message exists.
    UnknownMessageId,
}

/// GetBaseReport's and GetReport's answer (GenericDeviceModelStatusEnumType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    /// The NotifyReport parts follow the answer.
    Accepted,
    /// Another report is still being sent.
    Rejected,
    /// Nothing matched.
    EmptyResultSet,
}

impl TriggerStatus {
    /// The value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TriggerStatus::Accepted => "Accepted",
            TriggerStatus::Rejected => "Rejected",
            TriggerStatus::NotImplemented => "NotImplemented",
        }
    }
}

impl ChangeStatus {
    /// The value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ChangeStatus::Accepted => "Accepted",
            ChangeStatus::Rejected => "Rejected",
            ChangeStatus::Scheduled => "Scheduled",
        }
    }
}

impl DataTransferStatus {
    /// The value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            DataTransferStatus::UnknownVendorId => "UnknownVendorId",
            DataTransferStatus::UnknownMessageId => "UnknownMessageId",
        }
    }
}

impl ReportStatus {
    /// The value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ReportStatus::Accepted => "Accepted",
            ReportStatus::Rejected => "Rejected",
            ReportStatus::EmptyResultSet => "EmptyResultSet",
        }
    }
}

/// Why an answer could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The version has no such answer (a request of the other version never decodes here).
    #[error("OCPP {0} has no such answer")]
    NotInVersion(OcppVersion),
    /// A part of the answer could not be turned into JSON.
    #[error("the answer could not be written: {0}")]
    Json(String),
}

/// The CALLRESULT payload of `response` in `version`.
pub fn encode(version: OcppVersion, response: &CsmsResponse) -> Result<Value, EncodeError> {
    match version {
        OcppVersion::V201 => super::v201::encode_response(response),
        OcppVersion::V16 => super::v16::encode_response(response),
    }
}

/// `{"status": status}`, with 2.0.1's `statusInfo` when there is one.
pub(super) fn status_answer(status: &str, info: Option<&StatusInfo>) -> Result<Value, EncodeError> {
    let mut answer = Map::new();
    answer.insert("status".into(), Value::from(status));
    if let Some(info) = info {
        answer.insert("statusInfo".into(), to_json(info)?);
    }
    Ok(Value::Object(answer))
}

/// `{field: value}`.
pub(super) fn one_field(field: &str, value: &impl Serialize) -> Result<Value, EncodeError> {
    let mut answer = Map::new();
    answer.insert(field.into(), to_json(value)?);
    Ok(Value::Object(answer))
}

pub(super) fn to_json(value: &impl Serialize) -> Result<Value, EncodeError> {
    serde_json::to_value(value).map_err(|e| EncodeError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::device_model::{
        Component, GetVariableStatus, KeyValue16, SetVariableStatus, Variable,
    };
    use OcppVersion::{V16, V201};

    /// The payload as it goes on the wire.
    fn text(version: OcppVersion, response: &CsmsResponse) -> String {
        encode(version, response).unwrap().to_string()
    }

    fn info(reason_code: &str, additional_info: &str) -> Option<StatusInfo> {
        Some(StatusInfo {
            reason_code: reason_code.into(),
            additional_info: Some(additional_info.into()),
        })
    }

    #[test]
    fn status_answers_are_written_alike_with_2_0_1_status_info_only() {
        let rejected = CsmsResponse::TriggerMessage {
            status: TriggerStatus::Rejected,
            info: info("UnknownEvse", "EVSE ids are 1..2"),
        };
        assert_eq!(
            text(V201, &rejected),
            r#"{"status":"Rejected","statusInfo":{"additionalInfo":"EVSE ids are 1..2","reasonCode":"UnknownEvse"}}"#
        );
        assert_eq!(text(V16, &rejected), r#"{"status":"Rejected"}"#);
        for version in [V201, V16] {
            for (response, wire) in [
                (
                    CsmsResponse::TriggerMessage {
                        status: TriggerStatus::NotImplemented,
                        info: None,
                    },
                    "NotImplemented",
                ),
                (
                    CsmsResponse::ChangeAvailability(ChangeStatus::Scheduled),
                    "Scheduled",
                ),
                (CsmsResponse::Reset(ChangeStatus::Rejected), "Rejected"),
                (
                    CsmsResponse::DataTransfer(DataTransferStatus::UnknownVendorId),
                    "UnknownVendorId",
                ),
                (
                    CsmsResponse::DataTransfer(DataTransferStatus::UnknownMessageId),
                    "UnknownMessageId",
                ),
                (CsmsResponse::RemoteStartStopRejected, "Rejected"),
            ] {
                assert_eq!(
                    text(version, &response),
                    format!(r#"{{"status":"{wire}"}}"#),
                    "{version} {response:?}"
                );
            }
        }
    }

    #[test]
    fn each_version_says_what_its_enumerations_have() {
        let scheduled = CsmsResponse::Reset(ChangeStatus::Scheduled);
        assert_eq!(text(V201, &scheduled), r#"{"status":"Scheduled"}"#);
        assert_eq!(text(V16, &scheduled), r#"{"status":"Accepted"}"#);
        let no_release = CsmsResponse::UnlockConnector(UnlockStatus::NoReleasePath);
        assert_eq!(
            text(V201, &no_release),
            r#"{"status":"UnlockFailed","statusInfo":{"additionalInfo":"this charger has no remotely driven cable lock release","reasonCode":"NotSupported"}}"#
        );
        assert_eq!(text(V16, &no_release), r#"{"status":"NotSupported"}"#);
        let unknown = CsmsResponse::UnlockConnector(UnlockStatus::UnknownConnector);
        assert_eq!(text(V201, &unknown), r#"{"status":"UnknownConnector"}"#);
        assert_eq!(text(V16, &unknown), r#"{"status":"NotSupported"}"#);
    }

    #[test]
    fn device_model_answers() {
        let get = CsmsResponse::GetVariables(vec![GetVariableResult {
            attribute_status: GetVariableStatus::UnknownVariable,
            attribute_status_info: None,
            attribute_type: None,
            attribute_value: None,
            component: Component {
                name: "C".into(),
                instance: None,
                evse: None,
            },
            variable: Variable {
                name: "V".into(),
                instance: None,
            },
        }]);
        assert_eq!(
            text(V201, &get),
            r#"{"getVariableResult":[{"attributeStatus":"UnknownVariable","component":{"name":"C"},"variable":{"name":"V"}}]}"#
        );
        let set = CsmsResponse::SetVariables(vec![SetVariableResult {
            attribute_type: None,
            attribute_status: SetVariableStatus::Accepted,
            attribute_status_info: None,
            component: Component {
                name: "C".into(),
                instance: None,
                evse: None,
            },
            variable: Variable {
                name: "V".into(),
                instance: None,
            },
        }]);
        assert_eq!(
            text(V201, &set),
            r#"{"setVariableResult":[{"attributeStatus":"Accepted","component":{"name":"C"},"variable":{"name":"V"}}]}"#
        );
        let busy = CsmsResponse::Report {
            status: ReportStatus::Rejected,
            info: info("Unspecified", "busy"),
        };
        assert_eq!(
            text(V201, &busy),
            r#"{"status":"Rejected","statusInfo":{"additionalInfo":"busy","reasonCode":"Unspecified"}}"#
        );
        assert_eq!(
            text(
                V201,
                &CsmsResponse::Report {
                    status: ReportStatus::EmptyResultSet,
                    info: None
                }
            ),
            r#"{"status":"EmptyResultSet"}"#
        );
        for answer in [get, set, busy] {
            assert_eq!(encode(V16, &answer), Err(EncodeError::NotInVersion(V16)));
        }
    }

    #[test]
    fn configuration_answers() {
        let key = KeyValue16 {
            key: "HeartbeatInterval".into(),
            readonly: false,
            value: Some("300".into()),
        };
        let all = CsmsResponse::GetConfiguration {
            known: vec![key.clone()],
            unknown: vec![],
        };
        assert_eq!(
            text(V16, &all),
            r#"{"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}]}"#
        );
        let some = CsmsResponse::GetConfiguration {
            known: vec![],
            unknown: vec!["NoSuchKey".into()],
        };
        assert_eq!(
            text(V16, &some),
            r#"{"configurationKey":[],"unknownKey":["NoSuchKey"]}"#
        );
        let change = CsmsResponse::ChangeConfiguration(ConfigurationStatus16::RebootRequired);
        assert_eq!(text(V16, &change), r#"{"status":"RebootRequired"}"#);
        for answer in [all, change] {
            assert_eq!(encode(V201, &answer), Err(EncodeError::NotInVersion(V201)));
        }
    }
}
