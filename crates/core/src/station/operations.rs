//! The station's answers to the CSMS's CALLs, after the registration rules (B02/B03).
//!
//! Every answer is decided here and goes out at once; anything the answer promises (a
//! triggered message, a report, a reset) is queued behind it, so the CSMS always sees the
//! CALLRESULT first (F06.FR.04).

use std::time::Instant;

use serde_json::{Value, json};

use super::{Event, Queued, Station};
use crate::device_model::{
    ComponentCriterion, ComponentVariable, ConfigurationStatus16, CustomReport,
    GET_CONFIGURATION_MAX_KEYS, GetVariableData, ITEMS_PER_MESSAGE, LiveView, ReportBase,
    SetVariableData,
};
use crate::ocpp::csms_request::{self, CsmsRequest, StatusTarget, TriggerTarget};
use crate::ocpp::v201;
use crate::ocpp::{BootReason, OcppVersion, RegistrationStatus, Reply, Request};
use crate::rpc::ErrorCode;
use rust_ocpp::v2_0_1::enumerations::connector_status_enum_type::ConnectorStatusEnumType;

use crate::ocpp::VENDOR_ID;

/// The most componentCriteria a GetReportRequest may carry (its schema's maxItems).
const MAX_COMPONENT_CRITERIA: usize = 4;

impl Station {
    /// How the station answers a CALL from the CSMS.
    pub(super) fn answer(
        &mut self,
        now: Instant,
        version: OcppVersion,
        action: &str,
        payload: &Value,
    ) -> Reply {
        // 2.0.1 B03; a 1.6 station does not answer at all and never gets here.
        if self.registration.status() == Some(RegistrationStatus::Rejected) {
            return Reply::Error(
                ErrorCode::SecurityError,
                "the station is not registered (Boot Rejected)".into(),
            );
        }
        let request = match csms_request::parse(version, action, payload) {
            Ok(Some(request)) => request,
            Ok(None) => {
                return Reply::Error(
                    ErrorCode::NotImplemented,
                    format!("'{action}' is not an OCPP {version} action"),
                );
            }
            Err(why) => return Reply::Error(ErrorCode::FormatViolation, why),
        };
        if !self.registration.is_accepted() {
            match request {
                // Configuration and triggers are how the CSMS finishes a Pending registration.
                CsmsRequest::TriggerMessage(_)
                | CsmsRequest::GetVariables(_)
                | CsmsRequest::SetVariables(_)
                | CsmsRequest::GetBaseReport { .. }
                | CsmsRequest::GetReport { .. }
                | CsmsRequest::GetConfiguration { .. }
                | CsmsRequest::ChangeConfiguration { .. } => {}
                CsmsRequest::RemoteStartStop => return status("Rejected"),
                _ => {
                    return Reply::Error(
                        ErrorCode::SecurityError,
                        "the station is not registered yet (Boot Pending)".into(),
                    );
                }
            }
        }
        match request {
            CsmsRequest::TriggerMessage(target) => self.trigger(now, version, target),
            CsmsRequest::ChangeAvailability {
                connector,
                operative,
            } => self.change_availability(connector, operative),
            CsmsRequest::Reset { immediate, evse } => self.reset(immediate, evse),
            CsmsRequest::UnlockConnector { connector } => self.unlock(version, connector),
            CsmsRequest::DataTransfer { vendor_id, .. } => {
                // No CSMS-initiated message of ours exists yet: say so precisely.
                status(if vendor_id == VENDOR_ID {
                    "UnknownMessageId"
                } else {
                    "UnknownVendorId"
                })
            }
            CsmsRequest::GetVariables(payload) => self.get_variables(&payload),
            CsmsRequest::SetVariables(payload) => self.set_variables(&payload),
            CsmsRequest::GetBaseReport { request_id, base } => self.base_report(request_id, &base),
            CsmsRequest::GetReport {
                request_id,
                component_variables,
                criteria,
            } => self.custom_report(request_id, component_variables, criteria),
            CsmsRequest::GetConfiguration { keys } => self.get_configuration(keys.as_deref()),
            CsmsRequest::ChangeConfiguration { key, value } => {
                let (status, change) = self.device_model.change_configuration(&key, &value);
                if status == ConfigurationStatus16::Accepted {
                    self.apply_changes(change.into_iter().collect());
                }
                Reply::Result(json!({ "status": status }))
            }
            CsmsRequest::RemoteStartStop | CsmsRequest::Unsupported => Reply::Error(
                ErrorCode::NotSupported,
                format!("'{action}' is not supported by this station"),
            ),
        }
    }

    fn get_variables(&self, payload: &Value) -> Reply {
        let requests: Vec<GetVariableData> = match items(payload, "getVariableData") {
            Ok(requests) => requests,
            Err(reply) => return reply,
        };
        let (evse_available, connector_status) = self.live_state();
        let view = self.live_view(&evse_available, &connector_status);
        let results = self.device_model.get_variables(&requests, &view);
        Reply::Result(json!({ "getVariableResult": results }))
    }

    fn set_variables(&mut self, payload: &Value) -> Reply {
        let requests: Vec<SetVariableData> = match items(payload, "setVariableData") {
            Ok(requests) => requests,
            Err(reply) => return reply,
        };
        let (results, changes) = self.device_model.set_variables(&requests);
        self.apply_changes(changes);
        Reply::Result(json!({ "setVariableResult": results }))
    }

    fn base_report(&mut self, request_id: i64, base: &str) -> Reply {
        let base: ReportBase = match serde_json::from_value(json!(base)) {
            Ok(base) => base,
            Err(_) => return status("NotSupported"),
        };
        let selection = self.device_model.select_base(base);
        self.start_report(request_id, selection)
    }

    /// GetReport (B08). Every criterion is supported; the lists must hold what the schema
    /// allows, componentVariable at most ItemsPerMessage[GetReport] entries (B08.FR.17).
    fn custom_report(
        &mut self,
        request_id: i64,
        component_variables: Option<Vec<ComponentVariable>>,
        criteria: Option<Vec<ComponentCriterion>>,
    ) -> Reply {
        let too_many = |field: &str, max: u32| {
            Reply::Error(
                ErrorCode::OccurrenceConstraintViolation,
                format!("{field} must hold 1 to {max} entries"),
            )
        };
        // Absent is no filter; a list that is there holds at least one entry.
        let wrong_size = |len: usize, max: usize| len == 0 || len > max;
        if let Some(list) = &component_variables
            && wrong_size(list.len(), ITEMS_PER_MESSAGE as usize)
        {
            return too_many("componentVariable", ITEMS_PER_MESSAGE);
        }
        if let Some(list) = &criteria
            && wrong_size(list.len(), MAX_COMPONENT_CRITERIA)
        {
            return too_many("componentCriteria", MAX_COMPONENT_CRITERIA as u32);
        }
        let request = CustomReport {
            component_variables: component_variables.unwrap_or_default(),
            criteria: criteria.unwrap_or_default(),
        };
        let (evse_available, connector_status) = self.live_state();
        let view = self.live_view(&evse_available, &connector_status);
        let selection = self.device_model.select_custom(&request, &view);
        self.start_report(request_id, selection)
    }

    fn get_configuration(&self, keys: Option<&[String]>) -> Reply {
        if keys.is_some_and(|k| k.len() > GET_CONFIGURATION_MAX_KEYS as usize) {
            return Reply::Error(
                ErrorCode::OccurrenceConstraintViolation,
                format!("at most {GET_CONFIGURATION_MAX_KEYS} keys per request"),
            );
        }
        let (evse_available, connector_status) = self.live_state();
        let view = self.live_view(&evse_available, &connector_status);
        let (known, unknown) = self.device_model.get_configuration(keys, &view);
        let mut answer = json!({ "configurationKey": known });
        if !unknown.is_empty()
            && let Some(fields) = answer.as_object_mut()
        {
            fields.insert("unknownKey".into(), json!(unknown));
        }
        Reply::Result(answer)
    }

    /// Availability and 2.0.1 connector status per EVSE, for the device model's live view.
    pub(super) fn live_state(&self) -> (Vec<bool>, Vec<&'static str>) {
        (1..=self.settings.connectors)
            .map(|c| {
                let available = !self.availability.inoperative().contains(&c);
                let status = match v201::connector_status(&self.effective(c)) {
                    ConnectorStatusEnumType::Available => "Available",
                    ConnectorStatusEnumType::Occupied => "Occupied",
                    ConnectorStatusEnumType::Reserved => "Reserved",
                    ConnectorStatusEnumType::Unavailable => "Unavailable",
                    ConnectorStatusEnumType::Faulted => "Faulted",
                };
                (available, status)
            })
            .unzip()
    }

    pub(super) fn live_view<'a>(
        &'a self,
        evse_available: &'a [bool],
        connector_status: &'a [&'static str],
    ) -> LiveView<'a> {
        LiveView {
            now_utc: self.clock.now_utc(),
            heartbeat_interval: self.heartbeat_interval,
            station_available: self.availability.station_operative(),
            evse_available,
            connector_status,
            metrics: self.latest_sample.as_ref(),
            station_problem: !self.warnings().is_empty(),
        }
    }

    fn trigger(&mut self, now: Instant, version: OcppVersion, target: TriggerTarget) -> Reply {
        match target {
            TriggerTarget::Boot => {
                // 2.0.1 F06.FR.17: a registered station refuses to boot again on request.
                if version == OcppVersion::V201 && self.registration.is_accepted() {
                    return status("Rejected");
                }
                self.queue_boot(now, BootReason::Triggered);
            }
            TriggerTarget::Heartbeat => {
                // One already on its way answers the trigger as well.
                if !self.heartbeat_pending() {
                    self.triggered.push_back(Queued::Call(Request::Heartbeat));
                }
            }
            TriggerTarget::Status(target) => {
                let targets = match self.status_targets(version, target) {
                    Ok(targets) => targets,
                    Err(refusal) => return refusal,
                };
                for connector in targets {
                    // One queued per connector answers every trigger: it is sent as it is then.
                    if !self.triggered.contains(&Queued::Status(connector)) {
                        self.triggered.push_back(Queued::Status(connector));
                    }
                }
            }
            TriggerTarget::Other => return status("NotImplemented"),
        }
        status("Accepted")
    }

    /// The connectors a TriggerMessage(StatusNotification) asks for, or the refusal. 1.6: one
    /// connector (0 the charge point) or, without connectorId, all of them and 0. 2.0.1 names
    /// exactly one connector: the evse with its connectorId is required (F06.FR.12).
    fn status_targets(
        &self,
        version: OcppVersion,
        target: StatusTarget,
    ) -> Result<Vec<u32>, Reply> {
        let last = self.settings.connectors;
        match (version, target) {
            (OcppVersion::V16, StatusTarget::Unspecified) => Ok((0..=last).collect()),
            (OcppVersion::V16, StatusTarget::Connector(c)) if c <= last => Ok(vec![c]),
            (OcppVersion::V16, _) => Err(status("Rejected")),
            (OcppVersion::V201, StatusTarget::Evse { id, connector }) => {
                if !(1..=last).contains(&id) {
                    return Err(rejected("UnknownEvse", &format!("EVSE ids are 1..{last}")));
                }
                match connector {
                    Some(1) => Ok(vec![id]),
                    Some(_) => Err(rejected(
                        "UnknownConnectorId",
                        "each EVSE has connector 1 only",
                    )),
                    None => Err(rejected(
                        "MissingParam",
                        "a StatusNotification is for one connector: give evse.connectorId",
                    )),
                }
            }
            (OcppVersion::V201, _) => Err(rejected(
                "MissingParam",
                "a StatusNotification is for one connector: give evse with id and connectorId",
            )),
        }
    }

    fn change_availability(&mut self, connector: Option<u32>, operative: bool) -> Reply {
        let target = connector.filter(|c| *c != 0);
        if target.is_some_and(|c| c > self.settings.connectors) {
            return status("Rejected");
        }
        if self.availability.is(target, operative) {
            return status("Accepted");
        }
        // Taking a connector out of service under a running session waits for it to end.
        if !operative && self.any_in_use(target) {
            self.availability.schedule_inoperative(target);
            // Saved: a restart before the session ends must not forget the operator's order.
            self.events.push_back(Event::StateChanged);
            return status("Scheduled");
        }
        self.availability.apply(target, operative);
        self.events.push_back(Event::StateChanged);
        if self.is_online() && self.registration.is_accepted() {
            self.queue_owed(false);
        }
        status("Accepted")
    }

    fn reset(&mut self, immediate: bool, evse: Option<u32>) -> Reply {
        if evse.is_some() {
            // One EVSE cannot be restarted on its own: the process serves them all.
            return status("Rejected");
        }
        if !immediate && self.any_in_use(None) {
            self.reset = Some(false);
            self.events.push_back(Event::StateChanged);
            return status("Scheduled");
        }
        self.reset = Some(true);
        self.events.push_back(Event::StateChanged);
        self.events.push_back(Event::ResetDue);
        status("Accepted")
    }

    fn unlock(&self, version: OcppVersion, connector: u32) -> Reply {
        match version {
            // 1.6 has the honest answer.
            OcppVersion::V16 => status("NotSupported"),
            OcppVersion::V201 if connector == 0 || connector > self.settings.connectors => {
                status("UnknownConnector")
            }
            // The cable lock has no release path the station can drive safely.
            OcppVersion::V201 => Reply::Result(json!({
                "status": "UnlockFailed",
                "statusInfo": {
                    "reasonCode": "NotSupported",
                    "additionalInfo": "this charger has no remotely driven cable lock release"
                }
            })),
        }
    }
}

/// The list `field` of a 2.0.1 request, within the advertised ItemsPerMessage.
fn items<T: serde::de::DeserializeOwned>(payload: &Value, field: &str) -> Result<Vec<T>, Reply> {
    let list = payload
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Reply::Error(
                ErrorCode::FormatViolation,
                format!("{field} must be an array"),
            )
        })?;
    if list.is_empty() || list.len() > ITEMS_PER_MESSAGE as usize {
        return Err(Reply::Error(
            ErrorCode::OccurrenceConstraintViolation,
            format!("{field} must hold 1 to {ITEMS_PER_MESSAGE} entries"),
        ));
    }
    list.iter()
        .map(|item| serde_json::from_value(item.clone()))
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| Reply::Error(ErrorCode::FormatViolation, format!("{field}: {e}")))
}

fn status(value: &str) -> Reply {
    Reply::Result(json!({ "status": value }))
}

/// `Rejected` with the reason (2.0.1 statusInfo).
fn rejected(reason_code: &str, additional_info: &str) -> Reply {
    Reply::Result(json!({
        "status": "Rejected",
        "statusInfo": { "reasonCode": reason_code, "additionalInfo": additional_info }
    }))
}
