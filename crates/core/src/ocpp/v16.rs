//! OCPP 1.6J messages: the core's [`Request`]s to wire payloads (built on rust-ocpp's types),
//! the Central System's requests read into [`crate::ocpp::CsmsRequest`] (`requests`) and the
//! station's answers written from [`crate::ocpp::CsmsResponse`] (`responses`).

mod requests;
mod responses;

pub use requests::decode_request;
pub use responses::encode_response;

use chrono::{DateTime, Utc};
use rust_ocpp::v1_6::messages::boot_notification::BootNotificationRequest;
use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
use rust_ocpp::v1_6::types::{ChargePointErrorCode, ChargePointStatus};
use serde_json::{Value, json};

use super::{ConnectorStatus, FaultCode, Request};
use crate::clock::to_wire_precision;
use crate::ocpp::BootInfo;

/// The payload of `request` at wall time `now`; `None` for requests 1.6 does not have.
pub fn encode(
    request: &Request,
    boot: &BootInfo,
    now: DateTime<Utc>,
) -> Option<serde_json::Result<Value>> {
    // rust-ocpp's 1.6 types serialize chrono's full nanoseconds: cut to milliseconds first.
    let now = to_wire_precision(now);
    Some(match request {
        Request::Boot(_) => serde_json::to_value(BootNotificationRequest {
            charge_point_vendor: boot.vendor.clone(),
            charge_point_model: boot.model.clone(),
            charge_point_serial_number: boot.serial_number.clone(),
            // The same value as chargePointSerialNumber: older CSMSs read only this one.
            charge_box_serial_number: boot.serial_number.clone(),
            firmware_version: boot.firmware_version.clone(),
            ..Default::default()
        }),
        Request::Status {
            connector,
            status,
            notice,
        } => {
            let (status, error_code, info, vendor_error_code) = match (status, notice) {
                (ConnectorStatus::Faulted(fault), _) => (
                    ChargePointStatus::Faulted,
                    error_code(fault.code),
                    fault.info.clone(),
                    fault.vendor_error_code.clone(),
                ),
                // A warning: the connector stays in service, the cause is still on the wire.
                (other, Some(notice)) => (
                    plain_status(other),
                    error_code(notice.code),
                    notice.info.clone(),
                    notice.vendor_error_code.clone(),
                ),
                (other, None) => (
                    plain_status(other),
                    ChargePointErrorCode::NoError,
                    None,
                    None,
                ),
            };
            serde_json::to_value(StatusNotificationRequest {
                connector_id: *connector,
                error_code,
                info: info.map(|s| truncate(&s, 50)),
                status,
                timestamp: Some(now),
                vendor_id: None,
                vendor_error_code: vendor_error_code.map(|s| truncate(&s, 50)),
            })
        }
        Request::Heartbeat => Ok(json!({})),
        Request::DataTransfer { message_id, data } => Ok(json!({
            "vendorId": super::VENDOR_ID,
            "messageId": message_id,
            // 1.6 data is a string: the JSON as text.
            "data": data.to_string(),
        })),
        // 1.6 carries the fault's cause in StatusNotification itself.
        Request::SecurityEvent(_)
        | Request::ConnectorProblem { .. }
        | Request::StationProblem { .. }
        | Request::NotifyReport { .. } => return None,
    })
}

fn plain_status(status: &ConnectorStatus) -> ChargePointStatus {
    match status {
        ConnectorStatus::Available => ChargePointStatus::Available,
        ConnectorStatus::Preparing => ChargePointStatus::Preparing,
        ConnectorStatus::Charging => ChargePointStatus::Charging,
        ConnectorStatus::SuspendedEv => ChargePointStatus::SuspendedEV,
        ConnectorStatus::SuspendedEvse => ChargePointStatus::SuspendedEVSE,
        ConnectorStatus::Finishing => ChargePointStatus::Finishing,
        ConnectorStatus::Unavailable => ChargePointStatus::Unavailable,
        ConnectorStatus::Faulted(_) => ChargePointStatus::Faulted,
    }
}

fn error_code(code: FaultCode) -> ChargePointErrorCode {
    match code {
        FaultCode::GroundFailure => ChargePointErrorCode::GroundFailure,
        FaultCode::HighTemperature => ChargePointErrorCode::HighTemperature,
        FaultCode::InternalError => ChargePointErrorCode::InternalError,
        FaultCode::OtherError => ChargePointErrorCode::OtherError,
    }
}

/// Cuts to the schema's maximum length, on a character boundary.
fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Every action a 1.6 Central System may send to a charge point.
pub(crate) const CSMS_ACTIONS: &[&str] = &[
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "InstallCertificate",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SignedUpdateFirmware",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocpp::Fault;
    use chrono::TimeZone;

    fn boot_info() -> BootInfo {
        BootInfo {
            vendor: "ORGE".into(),
            model: "AC-Pi".into(),
            serial_number: Some("SN-1".into()),
            firmware_version: None,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789)
    }

    #[test]
    fn boot_carries_vendor_model_and_serial() {
        let v = encode(
            &Request::Boot(crate::ocpp::BootReason::PowerUp),
            &boot_info(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            v,
            json!({"chargePointVendor":"ORGE","chargePointModel":"AC-Pi","chargePointSerialNumber":"SN-1","chargeBoxSerialNumber":"SN-1"})
        );
    }

    #[test]
    fn status_timestamp_has_three_fractional_digits() {
        let v = encode(
            &Request::Status {
                connector: 0,
                status: ConnectorStatus::Unavailable,
                notice: None,
            },
            &boot_info(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            v,
            json!({"connectorId":0,"errorCode":"NoError","status":"Unavailable","timestamp":"2026-11-22T08:00:00.123Z"})
        );
    }

    #[test]
    fn faults_carry_error_code_info_and_vendor_code() {
        let long = "x".repeat(80);
        let fault = Fault {
            code: FaultCode::OtherError,
            info: Some(long),
            vendor_error_code: Some("PHASE_FAULT".into()),
        };
        let v = encode(
            &Request::Status {
                connector: 1,
                status: ConnectorStatus::Faulted(fault),
                notice: None,
            },
            &boot_info(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(v["status"], "Faulted");
        assert_eq!(v["errorCode"], "OtherError");
        assert_eq!(v["vendorErrorCode"], "PHASE_FAULT");
        assert_eq!(v["info"].as_str().unwrap().len(), 50);
    }

    #[test]
    fn no_security_event_in_16() {
        assert!(
            encode(
                &Request::SecurityEvent(crate::ocpp::SecurityEventKind::StartupOfTheDevice),
                &boot_info(),
                now()
            )
            .is_none()
        );
    }
}
