//! OCPP 2.0.1 messages: the core's [`Request`]s to wire payloads (built on rust-ocpp's types),
//! the CSMS's requests read into [`crate::ocpp::CsmsRequest`] (`requests`) and the station's
//! answers written from [`crate::ocpp::CsmsResponse`] (`responses`).

mod requests;
mod responses;

pub use requests::decode_request;
pub use responses::encode_response;

use chrono::{DateTime, Utc};
use rust_ocpp::v2_0_1::datatypes::charging_station_type::ChargingStationType;
use rust_ocpp::v2_0_1::datatypes::component_type::ComponentType;
use rust_ocpp::v2_0_1::datatypes::event_data_type::EventDataType;
use rust_ocpp::v2_0_1::datatypes::evse_type::EVSEType;
use rust_ocpp::v2_0_1::datatypes::variable_type::VariableType;
use rust_ocpp::v2_0_1::enumerations::boot_reason_enum_type::BootReasonEnumType;
use rust_ocpp::v2_0_1::enumerations::connector_status_enum_type::ConnectorStatusEnumType;
use rust_ocpp::v2_0_1::enumerations::event_notification_enum_type::EventNotificationEnumType;
use rust_ocpp::v2_0_1::enumerations::event_trigger_enum_type::EventTriggerEnumType;
use rust_ocpp::v2_0_1::messages::boot_notification::BootNotificationRequest;
use rust_ocpp::v2_0_1::messages::notify_event::NotifyEventRequest;
use rust_ocpp::v2_0_1::messages::security_event_notification::SecurityEventNotificationRequest;
use rust_ocpp::v2_0_1::messages::status_notification::StatusNotificationRequest;
use serde_json::{Value, json};

use super::{BootReason, ConnectorStatus, Request};
use crate::clock::to_wire_precision;
use crate::ocpp::BootInfo;

/// The payload of `request` at wall time `now`.
pub fn encode(request: &Request, boot: &BootInfo, now: DateTime<Utc>) -> serde_json::Result<Value> {
    let now = to_wire_precision(now);
    match request {
        Request::Boot(reason) => serde_json::to_value(BootNotificationRequest {
            reason: match reason {
                BootReason::PowerUp => BootReasonEnumType::PowerUp,
                BootReason::RemoteReset => BootReasonEnumType::RemoteReset,
                BootReason::Triggered => BootReasonEnumType::Triggered,
            },
            charging_station: ChargingStationType {
                serial_number: boot.serial_number.clone(),
                model: boot.model.clone(),
                vendor_name: boot.vendor.clone(),
                firmware_version: boot.firmware_version.clone(),
                modem: None,
            },
        }),
        Request::Status {
            connector, status, ..
        } => {
            let (evse_id, connector_id) = evse_and_connector(*connector);
            serde_json::to_value(StatusNotificationRequest {
                timestamp: now,
                connector_status: connector_status(status),
                evse_id: i32::try_from(evse_id).unwrap_or(i32::MAX),
                connector_id: i32::try_from(connector_id).unwrap_or(i32::MAX),
            })
        }
        Request::Heartbeat => Ok(json!({})),
        Request::SecurityEvent(kind) => serde_json::to_value(SecurityEventNotificationRequest {
            kind: kind.name().into(),
            timestamp: now,
            tech_info: None,
        }),
        Request::NotifyReport {
            request_id,
            seq_no,
            tbc,
            data,
        } => {
            let mut report = json!({
                "requestId": request_id,
                "generatedAt": crate::clock::format_timestamp(now),
                "seqNo": seq_no,
                "reportData": data,
            });
            // tbc defaults to false: omitted rather than sent as a redundant value.
            if *tbc && let Some(fields) = report.as_object_mut() {
                fields.insert("tbc".into(), json!(true));
            }
            Ok(report)
        }
        Request::DataTransfer { message_id, data } => Ok(json!({
            "vendorId": super::VENDOR_ID,
            "messageId": message_id,
            "data": data,
        })),
        Request::StationProblem {
            event_id,
            warning,
            cleared,
        } => problem_event(now, *event_id, warning, *cleared, None),
        Request::ConnectorProblem {
            connector,
            event_id,
            fault,
            cleared,
        } => problem_event(now, *event_id, fault, *cleared, Some(*connector)),
    }
}

/// NotifyEvent on the standard `Problem` variable of the connector (`Some(evse)`) or of the
/// charging station (`None`).
fn problem_event(
    now: DateTime<Utc>,
    event_id: i32,
    fault: &crate::ocpp::Fault,
    cleared: bool,
    evse: Option<u32>,
) -> serde_json::Result<Value> {
    let component = match evse {
        Some(evse) => ComponentType {
            name: "Connector".into(),
            instance: None,
            evse: Some(EVSEType {
                id: i32::try_from(evse).unwrap_or(i32::MAX),
                connector_id: Some(1),
            }),
        },
        None => ComponentType {
            name: "ChargingStation".into(),
            instance: None,
            evse: None,
        },
    };
    serde_json::to_value(NotifyEventRequest {
        generated_at: now,
        tbc: None,
        seq_no: 0,
        event_data: vec![EventDataType {
            event_id,
            timestamp: now,
            trigger: EventTriggerEnumType::Delta,
            cause: None,
            // The standard Problem variable is a boolean.
            actual_value: if cleared { "false" } else { "true" }.into(),
            // techCode is the short code; techInfo says what happened in the words 1.6 puts
            // in `info`. Both cut to the schema's maxLength (50, 500).
            tech_code: Some(fault.tech_code().chars().take(50).collect()),
            tech_info: fault
                .info
                .as_ref()
                .map(|info| info.chars().take(500).collect()),
            cleared: cleared.then_some(true),
            transaction_id: None,
            variable_monitoring_id: None,
            event_notification_type: EventNotificationEnumType::HardWiredNotification,
            component,
            variable: VariableType {
                name: "Problem".into(),
                instance: None,
            },
        }],
    })
}

/// The 2.0.1 connectorStatus for a version-neutral status.
pub fn connector_status(status: &ConnectorStatus) -> ConnectorStatusEnumType {
    match status {
        ConnectorStatus::Available => ConnectorStatusEnumType::Available,
        ConnectorStatus::Preparing
        | ConnectorStatus::Charging
        | ConnectorStatus::SuspendedEv
        | ConnectorStatus::SuspendedEvse
        | ConnectorStatus::Finishing => ConnectorStatusEnumType::Occupied,
        ConnectorStatus::Unavailable => ConnectorStatusEnumType::Unavailable,
        ConnectorStatus::Faulted(_) => ConnectorStatusEnumType::Faulted,
    }
}

/// The evseId and connectorId of the station's connector `connector`: one connector per EVSE
/// on this hardware, so EVSE n holds connector 1.
pub fn evse_and_connector(connector: u32) -> (u32, u32) {
    (connector, 1)
}

/// The 2.0.1 connectorStatus as written on the wire.
pub fn connector_status_name(status: &ConnectorStatus) -> &'static str {
    match connector_status(status) {
        ConnectorStatusEnumType::Available => "Available",
        ConnectorStatusEnumType::Occupied => "Occupied",
        ConnectorStatusEnumType::Reserved => "Reserved",
        ConnectorStatusEnumType::Unavailable => "Unavailable",
        ConnectorStatusEnumType::Faulted => "Faulted",
    }
}

/// Every action a 2.0.1 CSMS may send to a station.
pub(crate) const CSMS_ACTIONS: &[&str] = &[
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ClearCache",
    "ClearChargingProfile",
    "ClearDisplayMessage",
    "ClearVariableMonitoring",
    "CostUpdated",
    "CustomerInformation",
    "DataTransfer",
    "DeleteCertificate",
    "GetBaseReport",
    "GetChargingProfiles",
    "GetCompositeSchedule",
    "GetDisplayMessages",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "GetMonitoringReport",
    "GetReport",
    "GetTransactionStatus",
    "GetVariables",
    "InstallCertificate",
    "PublishFirmware",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SetDisplayMessage",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "SetNetworkProfile",
    "SetVariableMonitoring",
    "SetVariables",
    "TriggerMessage",
    "UnlockConnector",
    "UnpublishFirmware",
    "UpdateFirmware",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocpp::{Fault, FaultCode};
    use chrono::TimeZone;

    fn boot_info() -> BootInfo {
        BootInfo {
            vendor: "ORGE".into(),
            model: "AC-Pi".into(),
            serial_number: None,
            firmware_version: Some("1.2.3".into()),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789)
    }

    #[test]
    fn boot_omits_absent_fields() {
        let v = encode(&Request::Boot(BootReason::PowerUp), &boot_info(), now()).unwrap();
        assert_eq!(
            v,
            json!({"reason":"PowerUp","chargingStation":{"model":"AC-Pi","vendorName":"ORGE","firmwareVersion":"1.2.3"}})
        );
    }

    #[test]
    fn every_boot_reason_has_its_wire_name() {
        for (reason, wire) in [
            (BootReason::PowerUp, "PowerUp"),
            (BootReason::RemoteReset, "RemoteReset"),
            (BootReason::Triggered, "Triggered"),
        ] {
            let v = encode(&Request::Boot(reason), &boot_info(), now()).unwrap();
            assert_eq!(v["reason"], wire);
        }
    }

    #[test]
    fn status_maps_session_phases_to_occupied_with_ms_timestamp() {
        let v = encode(
            &Request::Status {
                connector: 2,
                status: ConnectorStatus::Charging,
                notice: None,
            },
            &boot_info(),
            now(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"timestamp":"2026-11-22T08:00:00.123Z","connectorStatus":"Occupied","evseId":2,"connectorId":1})
        );
        let fault = ConnectorStatus::Faulted(Fault {
            code: FaultCode::GroundFailure,
            info: None,
            vendor_error_code: None,
        });
        assert_eq!(connector_status(&fault), ConnectorStatusEnumType::Faulted);
    }

    #[test]
    fn security_event_is_startup() {
        let v = encode(
            &Request::SecurityEvent(crate::ocpp::SecurityEventKind::StartupOfTheDevice),
            &boot_info(),
            now(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"type":"StartupOfTheDevice","timestamp":"2026-11-22T08:00:00.123Z"})
        );
    }

    #[test]
    fn a_connector_problem_is_a_notify_event_on_connector_problem() {
        let fault = Fault {
            code: FaultCode::GroundFailure,
            info: Some("earth fault".into()),
            vendor_error_code: None,
        };
        let raised = Request::ConnectorProblem {
            connector: 1,
            event_id: 7,
            fault: fault.clone(),
            cleared: false,
        };
        let v = encode(&raised, &boot_info(), now()).unwrap();
        assert_eq!(
            v,
            json!({"generatedAt":"2026-11-22T08:00:00.123Z","seqNo":0,"eventData":[{
                "eventId":7,"timestamp":"2026-11-22T08:00:00.123Z","trigger":"Delta","actualValue":"true",
                "techCode":"GroundFailure","techInfo":"earth fault","eventNotificationType":"HardWiredNotification",
                "component":{"name":"Connector","evse":{"id":1,"connectorId":1}},"variable":{"name":"Problem"}}]})
        );
        let cleared = Request::ConnectorProblem {
            connector: 1,
            event_id: 8,
            fault,
            cleared: true,
        };
        let v = encode(&cleared, &boot_info(), now()).unwrap();
        assert_eq!(v["eventData"][0]["actualValue"], "false");
        assert_eq!(v["eventData"][0]["cleared"], true);
    }

    #[test]
    fn a_problems_tech_info_keeps_to_the_schemas_length() {
        let fault = Fault {
            code: FaultCode::OtherError,
            info: Some("é".repeat(600)),
            vendor_error_code: None,
        };
        let raised = Request::ConnectorProblem {
            connector: 1,
            event_id: 9,
            fault,
            cleared: false,
        };
        let v = encode(&raised, &boot_info(), now()).unwrap();
        let info = v["eventData"][0]["techInfo"].as_str().unwrap();
        assert_eq!(info.chars().count(), 500);
    }

    #[test]
    fn connector_names_and_addresses_are_as_on_the_wire() {
        assert_eq!(evse_and_connector(3), (3, 1));
        assert_eq!(
            connector_status_name(&ConnectorStatus::SuspendedEv),
            "Occupied"
        );
        assert_eq!(
            connector_status_name(&ConnectorStatus::Unavailable),
            "Unavailable"
        );
    }
}
