//! The 1.6 Central System requests the station acts on, read into [`CsmsRequest`] (the defect
//! rule is in [`crate::ocpp::decode`]).

use serde_json::Value;

use super::CSMS_ACTIONS;
use crate::device_model::GET_CONFIGURATION_MAX_KEYS;
use crate::ocpp::OcppVersion;
use crate::ocpp::csms_request::{CsmsRequest, RequestedMessage, StatusTarget};
use crate::ocpp::decode::{DecodeError, Fields};

/// MessageTrigger.
const MESSAGE_TRIGGERS: &[(&str, RequestedMessage)] = &[
    ("BootNotification", RequestedMessage::Boot),
    ("DiagnosticsStatusNotification", RequestedMessage::Other),
    ("FirmwareStatusNotification", RequestedMessage::Other),
    ("Heartbeat", RequestedMessage::Heartbeat),
    ("MeterValues", RequestedMessage::Other),
    ("StatusNotification", RequestedMessage::Status),
];

/// AvailabilityType: Operative or not.
const AVAILABILITY_TYPES: &[(&str, bool)] = &[("Inoperative", false), ("Operative", true)];

/// ResetType. Both restart the process at once: the station has no session to end gracefully
/// that a restart would not end as well.
const RESET_TYPES: &[(&str, ())] = &[("Hard", ()), ("Soft", ())];

/// Reads a 1.6 Central System request.
pub fn decode_request(action: &str, payload: &Value) -> Result<CsmsRequest, DecodeError> {
    if !CSMS_ACTIONS.contains(&action) {
        return Err(DecodeError::UnknownAction {
            action: action.to_owned(),
            version: OcppVersion::V16,
        });
    }
    let read: fn(&Fields) -> Result<CsmsRequest, DecodeError> = match action {
        "TriggerMessage" => trigger_message,
        "ChangeAvailability" => change_availability,
        "Reset" => reset,
        "UnlockConnector" => unlock_connector,
        "DataTransfer" => data_transfer,
        "GetConfiguration" => get_configuration,
        "ChangeConfiguration" => change_configuration,
        "RemoteStartTransaction" => remote_start_transaction,
        "RemoteStopTransaction" => remote_stop_transaction,
        _ => return Err(DecodeError::UnsupportedAction(action.to_owned())),
    };
    read(&Fields::of_payload(payload)?)
}

fn trigger_message(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let trigger = fields
        .required("requestedMessage")?
        .one_of(MESSAGE_TRIGGERS)?;
    let connector = fields.optional("connectorId").map(|f| f.id()).transpose()?;
    let status = match connector {
        None => StatusTarget::Unspecified,
        Some(connector) => StatusTarget::Connector(connector),
    };
    Ok(CsmsRequest::TriggerMessage(trigger.target(status)))
}

fn change_availability(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let connector = fields.required("connectorId")?.id()?;
    Ok(CsmsRequest::ChangeAvailability {
        // Connector 0 is the charge point as a whole.
        connector: Some(connector).filter(|c| *c != 0),
        operative: fields.required("type")?.one_of(AVAILABILITY_TYPES)?,
    })
}

fn reset(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    fields.required("type")?.one_of(RESET_TYPES)?;
    Ok(CsmsRequest::Reset {
        immediate: true,
        evse: None,
    })
}

fn unlock_connector(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::UnlockConnector {
        connector: fields.required("connectorId")?.id()?,
    })
}

fn data_transfer(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::DataTransfer {
        vendor_id: fields.required("vendorId")?.text()?.to_owned(),
        message_id: fields
            .optional("messageId")
            .map(|f| f.text().map(str::to_owned))
            .transpose()?,
    })
}

fn get_configuration(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let keys = match fields.optional("key") {
        None => None,
        Some(list) => Some(
            // An empty list asks for every key, as an absent one does.
            list.list(0..=GET_CONFIGURATION_MAX_KEYS as usize)?
                .iter()
                .map(|key| key.text().map(str::to_owned))
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(CsmsRequest::GetConfiguration { keys })
}

fn change_configuration(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::ChangeConfiguration {
        key: fields.required("key")?.text()?.to_owned(),
        value: fields.required("value")?.text()?.to_owned(),
    })
}

fn remote_start_transaction(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    fields.optional("connectorId").map(|f| f.id()).transpose()?;
    Ok(CsmsRequest::RemoteStart {
        id_token: fields.required("idTag")?.text()?.to_owned(),
    })
}

fn remote_stop_transaction(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::RemoteStop {
        transaction_id: fields.required("transactionId")?.integer()?.to_string(),
    })
}
