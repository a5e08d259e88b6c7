//! The 2.0.1 CSMS requests the station acts on, read into [`CsmsRequest`] (the defect rule is in
//! [`crate::ocpp::decode`]).

use serde_json::Value;

use super::CSMS_ACTIONS;
use crate::device_model::{
    AttributeType, Component, ComponentCriterion, ComponentVariable, CustomReport, Evse,
    GetVariableData, ITEMS_PER_MESSAGE, ReportBase, SetVariableData, Variable,
};
use crate::ocpp::OcppVersion;
use crate::ocpp::csms_request::{CsmsRequest, RequestedMessage, StatusTarget};
use crate::ocpp::decode::{DecodeError, Field, Fields};

/// The most entries of a list the station takes in one request: the ItemsPerMessage it
/// advertises for GetVariables, SetVariables and GetReport (B08.FR.17).
const MAX_ITEMS: usize = ITEMS_PER_MESSAGE as usize;

/// GetReportRequest.componentCriteria holds 1 to 4 entries (its schema).
const MAX_COMPONENT_CRITERIA: usize = 4;

/// MessageTriggerEnumType.
const MESSAGE_TRIGGERS: &[(&str, RequestedMessage)] = &[
    ("BootNotification", RequestedMessage::Boot),
    ("LogStatusNotification", RequestedMessage::Other),
    ("FirmwareStatusNotification", RequestedMessage::Other),
    ("Heartbeat", RequestedMessage::Heartbeat),
    ("MeterValues", RequestedMessage::Other),
    ("SignChargingStationCertificate", RequestedMessage::Other),
    ("SignV2GCertificate", RequestedMessage::Other),
    ("StatusNotification", RequestedMessage::Status),
    ("TransactionEvent", RequestedMessage::Other),
    ("SignCombinedCertificate", RequestedMessage::Other),
    ("PublishFirmwareStatusNotification", RequestedMessage::Other),
];

/// OperationalStatusEnumType: Operative or not.
const OPERATIONAL_STATUSES: &[(&str, bool)] = &[("Inoperative", false), ("Operative", true)];

/// ResetEnumType: immediate or not.
const RESET_TYPES: &[(&str, bool)] = &[("Immediate", true), ("OnIdle", false)];

/// ReportBaseEnumType.
const REPORT_BASES: &[(&str, ReportBase)] = &[
    ("ConfigurationInventory", ReportBase::ConfigurationInventory),
    ("FullInventory", ReportBase::FullInventory),
    ("SummaryInventory", ReportBase::SummaryInventory),
];

/// ComponentCriterionEnumType.
const COMPONENT_CRITERIA: &[(&str, ComponentCriterion)] = &[
    ("Active", ComponentCriterion::Active),
    ("Available", ComponentCriterion::Available),
    ("Enabled", ComponentCriterion::Enabled),
    ("Problem", ComponentCriterion::Problem),
];

/// AttributeEnumType.
const ATTRIBUTE_TYPES: &[(&str, AttributeType)] = &[
    ("Actual", AttributeType::Actual),
    ("Target", AttributeType::Target),
    ("MinSet", AttributeType::MinSet),
    ("MaxSet", AttributeType::MaxSet),
];

/// IdTokenEnumType.
const ID_TOKEN_TYPES: &[(&str, ())] = &[
    ("Central", ()),
    ("eMAID", ()),
    ("ISO14443", ()),
    ("ISO15693", ()),
    ("KeyCode", ()),
    ("Local", ()),
    ("MacAddress", ()),
    ("NoAuthorization", ()),
];

/// Reads a 2.0.1 CSMS request.
pub fn decode_request(action: &str, payload: &Value) -> Result<CsmsRequest, DecodeError> {
    if !CSMS_ACTIONS.contains(&action) {
        return Err(DecodeError::UnknownAction {
            action: action.to_owned(),
            version: OcppVersion::V201,
        });
    }
    let read: fn(&Fields) -> Result<CsmsRequest, DecodeError> = match action {
        "TriggerMessage" => trigger_message,
        "ChangeAvailability" => change_availability,
        "Reset" => reset,
        "UnlockConnector" => unlock_connector,
        "DataTransfer" => data_transfer,
        "GetVariables" => get_variables,
        "SetVariables" => set_variables,
        "GetBaseReport" => get_base_report,
        "GetReport" => get_report,
        "RequestStartTransaction" => request_start_transaction,
        "RequestStopTransaction" => request_stop_transaction,
        _ => return Err(DecodeError::UnsupportedAction(action.to_owned())),
    };
    read(&Fields::of_payload(payload)?)
}

fn trigger_message(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let trigger = fields
        .required("requestedMessage")?
        .one_of(MESSAGE_TRIGGERS)?;
    let evse = fields
        .optional("evse")
        .map(|f| station_evse(&f))
        .transpose()?;
    let status = match evse {
        None => StatusTarget::Unspecified,
        Some((id, connector)) => StatusTarget::Evse { id, connector },
    };
    Ok(CsmsRequest::TriggerMessage(trigger.target(status)))
}

fn change_availability(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let operative = fields
        .required("operationalStatus")?
        .one_of(OPERATIONAL_STATUSES)?;
    let evse = fields
        .optional("evse")
        .map(|f| station_evse(&f))
        .transpose()?;
    Ok(CsmsRequest::ChangeAvailability {
        // EVSE 0 is the station as a whole, as no evse is; each EVSE has one connector.
        connector: evse.map(|(id, _)| id).filter(|id| *id != 0),
        operative,
    })
}

fn reset(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::Reset {
        immediate: fields.required("type")?.one_of(RESET_TYPES)?,
        evse: fields.optional("evseId").map(|f| f.id()).transpose()?,
    })
}

fn unlock_connector(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let connector = fields.required("evseId")?.id()?;
    // Each EVSE has one connector: its connectorId is checked, the EVSE names the connector.
    fields.required("connectorId")?.id()?;
    Ok(CsmsRequest::UnlockConnector { connector })
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

fn get_variables(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let entries = fields.required("getVariableData")?.list(1..=MAX_ITEMS)?;
    let data = entries
        .iter()
        .map(|entry| {
            let entry = entry.object()?;
            Ok(GetVariableData {
                attribute_type: attribute_type(&entry)?,
                component: component(&entry.required("component")?)?,
                variable: variable(&entry.required("variable")?)?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(CsmsRequest::GetVariables(data))
}

fn set_variables(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let entries = fields.required("setVariableData")?.list(1..=MAX_ITEMS)?;
    let data = entries
        .iter()
        .map(|entry| {
            let entry = entry.object()?;
            Ok(SetVariableData {
                attribute_type: attribute_type(&entry)?,
                attribute_value: entry.required("attributeValue")?.text()?.to_owned(),
                component: component(&entry.required("component")?)?,
                variable: variable(&entry.required("variable")?)?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(CsmsRequest::SetVariables(data))
}

fn get_base_report(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::GetBaseReport {
        request_id: fields.required("requestId")?.integer()?.into(),
        base: fields.required("reportBase")?.one_of(REPORT_BASES)?,
    })
}

fn get_report(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let request_id = fields.required("requestId")?.integer()?.into();
    let component_variables = match fields.optional("componentVariable") {
        None => Vec::new(),
        Some(list) => list
            .list(1..=MAX_ITEMS)?
            .iter()
            .map(|entry| {
                let entry = entry.object()?;
                Ok(ComponentVariable {
                    component: component(&entry.required("component")?)?,
                    variable: entry
                        .optional("variable")
                        .map(|v| variable(&v))
                        .transpose()?,
                })
            })
            .collect::<Result<_, DecodeError>>()?,
    };
    let criteria = match fields.optional("componentCriteria") {
        None => Vec::new(),
        Some(list) => list
            .list(1..=MAX_COMPONENT_CRITERIA)?
            .iter()
            .map(|entry| entry.one_of(COMPONENT_CRITERIA))
            .collect::<Result<_, DecodeError>>()?,
    };
    Ok(CsmsRequest::GetReport {
        request_id,
        filter: CustomReport {
            component_variables,
            criteria,
        },
    })
}

fn request_start_transaction(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    let token = fields.required("idToken")?.object()?;
    let id_token = token.required("idToken")?.text()?.to_owned();
    token.required("type")?.one_of(ID_TOKEN_TYPES)?;
    fields.required("remoteStartId")?.integer()?;
    Ok(CsmsRequest::RemoteStart { id_token })
}

fn request_stop_transaction(fields: &Fields) -> Result<CsmsRequest, DecodeError> {
    Ok(CsmsRequest::RemoteStop {
        transaction_id: fields.required("transactionId")?.text()?.to_owned(),
    })
}

/// An optional attributeType; absent means Actual, and stays absent in the echo.
fn attribute_type(entry: &Fields) -> Result<Option<AttributeType>, DecodeError> {
    entry
        .optional("attributeType")
        .map(|f| f.one_of(ATTRIBUTE_TYPES))
        .transpose()
}

/// ComponentType.
fn component(field: &Field) -> Result<Component, DecodeError> {
    let fields = field.object()?;
    Ok(Component {
        name: fields.required("name")?.text()?.to_owned(),
        instance: optional_text(&fields, "instance")?,
        evse: fields.optional("evse").map(|f| evse(&f)).transpose()?,
    })
}

/// VariableType.
fn variable(field: &Field) -> Result<Variable, DecodeError> {
    let fields = field.object()?;
    Ok(Variable {
        name: fields.required("name")?.text()?.to_owned(),
        instance: optional_text(&fields, "instance")?,
    })
}

/// EVSEType, as the device model addresses it (any integer: an EVSE the station does not have
/// is an unknown component there).
fn evse(field: &Field) -> Result<Evse, DecodeError> {
    let fields = field.object()?;
    Ok(Evse {
        id: fields.required("id")?.integer()?,
        connector_id: fields
            .optional("connectorId")
            .map(|f| f.integer())
            .transpose()?,
    })
}

/// EVSEType naming one of the station's EVSEs, and its connector: ids are 0 or more.
fn station_evse(field: &Field) -> Result<(u32, Option<u32>), DecodeError> {
    let fields = field.object()?;
    Ok((
        fields.required("id")?.id()?,
        fields.optional("connectorId").map(|f| f.id()).transpose()?,
    ))
}

fn optional_text(fields: &Fields, name: &str) -> Result<Option<String>, DecodeError> {
    fields
        .optional(name)
        .map(|f| f.text().map(str::to_owned))
        .transpose()
}
