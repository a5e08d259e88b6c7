//! The station's answers as 1.6 writes them: no statusInfo, and 1.6's own values where its
//! enumerations differ from 2.0.1's.

use serde_json::{Map, Value};

use crate::ocpp::OcppVersion;
use crate::ocpp::csms_response::{
    ChangeStatus, CsmsResponse, EncodeError, one_field, status_answer, to_json,
};

/// The CALLRESULT payload of `response`.
pub fn encode_response(response: &CsmsResponse) -> Result<Value, EncodeError> {
    match response {
        CsmsResponse::TriggerMessage { status, .. } => status_answer(status.name(), None),
        CsmsResponse::ChangeAvailability(status) => status_answer(status.name(), None),
        // 1.6 ResetStatus has no Scheduled: Accepted promises the reset all the same.
        CsmsResponse::Reset(ChangeStatus::Scheduled) => status_answer("Accepted", None),
        CsmsResponse::Reset(status) => status_answer(status.name(), None),
        // 1.6 has the honest answer for a charger without a lock release, whichever connector.
        CsmsResponse::UnlockConnector(_) => status_answer("NotSupported", None),
        CsmsResponse::DataTransfer(status) => status_answer(status.name(), None),
        CsmsResponse::GetConfiguration { known, unknown } => {
            let mut answer = Map::new();
            answer.insert("configurationKey".into(), to_json(known)?);
            // unknownKey is optional: left out rather than sent empty.
            if !unknown.is_empty() {
                answer.insert("unknownKey".into(), to_json(unknown)?);
            }
            Ok(Value::Object(answer))
        }
        CsmsResponse::ChangeConfiguration(status) => one_field("status", status),
        CsmsResponse::RemoteStartStopRejected => status_answer("Rejected", None),
        CsmsResponse::GetVariables(_)
        | CsmsResponse::SetVariables(_)
        | CsmsResponse::Report { .. } => Err(EncodeError::NotInVersion(OcppVersion::V16)),
    }
}
