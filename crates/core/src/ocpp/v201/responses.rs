//! The station's answers as 2.0.1 writes them.

use serde_json::Value;

use crate::device_model::StatusInfo;
use crate::ocpp::OcppVersion;
use crate::ocpp::csms_response::{
    CsmsResponse, EncodeError, UnlockStatus, one_field, status_answer,
};

/// The CALLRESULT payload of `response`.
pub fn encode_response(response: &CsmsResponse) -> Result<Value, EncodeError> {
    match response {
        CsmsResponse::TriggerMessage { status, info } => {
            status_answer(status.name(), info.as_ref())
        }
        CsmsResponse::ChangeAvailability(status) | CsmsResponse::Reset(status) => {
            status_answer(status.name(), None)
        }
        CsmsResponse::UnlockConnector(UnlockStatus::UnknownConnector) => {
            status_answer("UnknownConnector", None)
        }
        // 2.0.1 has no NotSupported here: the unlock failed, and statusInfo says why.
        CsmsResponse::UnlockConnector(UnlockStatus::NoReleasePath) => status_answer(
            "UnlockFailed",
            Some(&StatusInfo {
                reason_code: "NotSupported".into(),
                additional_info: Some(
                    "this charger has no remotely driven cable lock release".into(),
                ),
            }),
        ),
        CsmsResponse::DataTransfer(status) => status_answer(status.name(), None),
        CsmsResponse::GetVariables(results) => one_field("getVariableResult", results),
        CsmsResponse::SetVariables(results) => one_field("setVariableResult", results),
        CsmsResponse::Report { status, info } => status_answer(status.name(), info.as_ref()),
        CsmsResponse::RemoteStartStopRejected => status_answer("Rejected", None),
        CsmsResponse::GetConfiguration { .. } | CsmsResponse::ChangeConfiguration(_) => {
            Err(EncodeError::NotInVersion(OcppVersion::V201))
        }
    }
}
