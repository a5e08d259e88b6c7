//! The station's answers to the CSMS's CALLs, after the registration rules (B02/B03).
//!
//! Requests arrive decoded ([`CsmsRequest`]) and answers leave typed ([`CsmsResponse`]); the
//! version adapters read and write the JSON. Every answer is decided here and goes out at once;
//! anything the answer promises (a triggered message, a report, a reset) is queued behind it,
//! so the CSMS always sees the CALLRESULT first (F06.FR.04).

use std::time::Instant;

use serde_json::Value;

use super::{Event, PendingReset, Queued, Station};
use crate::device_model::{ConfigurationStatus16, CustomReport, LiveView, ReportBase, StatusInfo};
use crate::ocpp::csms_request::{self, CsmsRequest, StatusTarget, TriggerTarget, WhilePending};
use crate::ocpp::csms_response::{
    ChangeStatus, CsmsResponse, DataTransferStatus, TriggerStatus, UnlockStatus,
};
use crate::ocpp::{
    BootReason, DecodeError, OcppVersion, RegistrationStatus, Reply, Request, VENDOR_ID, v201,
};
use crate::rpc::ErrorCode;

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
        let accepted = self.registration.is_accepted();
        let request = match csms_request::decode(version, action, payload) {
            Ok(request) => request,
            // Not registered: an action the station does not support is one more the CSMS may
            // not use yet (only those `while_pending` answers are allowed).
            Err(DecodeError::UnsupportedAction(_)) if !accepted => return not_registered(),
            Err(error) => return Reply::Error(error.code(), error.to_string()),
        };
        if !accepted {
            match request.while_pending() {
                WhilePending::Answered => {}
                WhilePending::Rejected => {
                    return Reply::Result(CsmsResponse::RemoteStartStopRejected);
                }
                WhilePending::SecurityError => return not_registered(),
            }
        }
        self.act(now, version, action, request)
    }

    /// Carries out a request the registration state allows.
    fn act(
        &mut self,
        now: Instant,
        version: OcppVersion,
        action: &str,
        request: CsmsRequest,
    ) -> Reply {
        let response = match request {
            CsmsRequest::TriggerMessage(target) => self.trigger(now, version, target),
            CsmsRequest::ChangeAvailability {
                connector,
                operative,
            } => CsmsResponse::ChangeAvailability(self.change_availability(connector, operative)),
            CsmsRequest::Reset { immediate, evse } => {
                CsmsResponse::Reset(self.reset(immediate, evse))
            }
            CsmsRequest::UnlockConnector { connector } => {
                CsmsResponse::UnlockConnector(self.unlock(connector))
            }
            // No CSMS-initiated message of ours exists yet: say so precisely.
            CsmsRequest::DataTransfer { vendor_id, .. } => {
                CsmsResponse::DataTransfer(if vendor_id == VENDOR_ID {
                    DataTransferStatus::UnknownMessageId
                } else {
                    DataTransferStatus::UnknownVendorId
                })
            }
            CsmsRequest::GetVariables(requests) => {
                let (evse_available, connector_status) = self.live_state();
                let view = self.live_view(&evse_available, &connector_status);
                CsmsResponse::GetVariables(self.device_model.get_variables(&requests, &view))
            }
            CsmsRequest::SetVariables(requests) => {
                let (results, changes) = self.device_model.set_variables(&requests);
                self.apply_changes(changes);
                CsmsResponse::SetVariables(results)
            }
            CsmsRequest::GetBaseReport { request_id, base } => self.base_report(request_id, base),
            CsmsRequest::GetReport { request_id, filter } => {
                self.custom_report(request_id, &filter)
            }
            CsmsRequest::GetConfiguration { keys } => {
                let (evse_available, connector_status) = self.live_state();
                let view = self.live_view(&evse_available, &connector_status);
                let (known, unknown) = self.device_model.get_configuration(keys.as_deref(), &view);
                CsmsResponse::GetConfiguration { known, unknown }
            }
            CsmsRequest::ChangeConfiguration { key, value } => {
                let (status, change) = self.device_model.change_configuration(&key, &value);
                if status == ConfigurationStatus16::Accepted {
                    self.apply_changes(change.into_iter().collect());
                }
                CsmsResponse::ChangeConfiguration(status)
            }
            // No OCPP transactions on this charger: the session is the controller's.
            CsmsRequest::RemoteStart { .. } | CsmsRequest::RemoteStop { .. } => {
                return Reply::Error(
                    ErrorCode::NotSupported,
                    format!("'{action}' is not supported by this station"),
                );
            }
        };
        Reply::Result(response)
    }

    fn base_report(&mut self, request_id: i64, base: ReportBase) -> CsmsResponse {
        let selection = self.device_model.select_base(base);
        self.start_report(request_id, selection)
    }

    /// GetReport (B08): every criterion is supported; the decoder already held the lists to
    /// what the schema and ItemsPerMessage[GetReport] allow (B08.FR.17).
    fn custom_report(&mut self, request_id: i64, filter: &CustomReport) -> CsmsResponse {
        let (evse_available, connector_status) = self.live_state();
        let view = self.live_view(&evse_available, &connector_status);
        let selection = self.device_model.select_custom(filter, &view);
        self.start_report(request_id, selection)
    }

    /// Availability and 2.0.1 connector status per EVSE, for the device model's live view.
    pub(super) fn live_state(&self) -> (Vec<bool>, Vec<&'static str>) {
        (1..=self.settings.connectors)
            .map(|c| {
                let available = !self.availability.inoperative().contains(&c);
                (available, v201::connector_status_name(&self.effective(c)))
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
            station_operative: self.availability.station_operative(),
            evse_available,
            connector_status,
            metrics: self.latest_sample.as_ref(),
            station_problem: !self.warnings().is_empty(),
        }
    }

    fn trigger(
        &mut self,
        now: Instant,
        version: OcppVersion,
        target: TriggerTarget,
    ) -> CsmsResponse {
        match target {
            TriggerTarget::Boot => {
                // 2.0.1 F06.FR.17: a registered station refuses to boot again on request.
                if version == OcppVersion::V201 && self.registration.is_accepted() {
                    return trigger_answer(TriggerStatus::Rejected, None);
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
            TriggerTarget::Other => return trigger_answer(TriggerStatus::NotImplemented, None),
        }
        trigger_answer(TriggerStatus::Accepted, None)
    }

    /// The connectors a TriggerMessage(StatusNotification) asks for, or the refusal. 1.6: one
    /// connector (0 the charge point) or, without connectorId, all of them and 0. 2.0.1 names
    /// exactly one connector: the evse with its connectorId is required (F06.FR.12).
    fn status_targets(
        &self,
        version: OcppVersion,
        target: StatusTarget,
    ) -> Result<Vec<u32>, CsmsResponse> {
        let last = self.settings.connectors;
        match (version, target) {
            (OcppVersion::V16, StatusTarget::Unspecified) => Ok((0..=last).collect()),
            (OcppVersion::V16, StatusTarget::Connector(c)) if c <= last => Ok(vec![c]),
            (OcppVersion::V16, _) => Err(trigger_answer(TriggerStatus::Rejected, None)),
            (OcppVersion::V201, StatusTarget::Evse { id, connector }) => {
                if !(1..=last).contains(&id) {
                    return Err(trigger_rejected(
                        "UnknownEvse",
                        &format!("EVSE ids are 1..{last}"),
                    ));
                }
                match connector {
                    Some(1) => Ok(vec![id]),
                    Some(_) => Err(trigger_rejected(
                        "UnknownConnectorId",
                        "each EVSE has connector 1 only",
                    )),
                    None => Err(trigger_rejected(
                        "MissingParam",
                        "a StatusNotification is for one connector: give evse.connectorId",
                    )),
                }
            }
            (OcppVersion::V201, _) => Err(trigger_rejected(
                "MissingParam",
                "a StatusNotification is for one connector: give evse with id and connectorId",
            )),
        }
    }

    fn change_availability(&mut self, target: Option<u32>, operative: bool) -> ChangeStatus {
        if target.is_some_and(|c| c > self.settings.connectors) {
            return ChangeStatus::Rejected;
        }
        if self.availability.is(target, operative) {
            return ChangeStatus::Accepted;
        }
        // Taking a connector out of service under a running session waits for it to end.
        if !operative && self.any_in_use(target) {
            self.availability.schedule_inoperative(target);
            // Saved: a restart before the session ends must not forget the operator's order.
            self.events.push_back(Event::StateChanged);
            return ChangeStatus::Scheduled;
        }
        self.availability.apply(target, operative);
        self.events.push_back(Event::StateChanged);
        if self.is_online() && self.registration.is_accepted() {
            self.queue_owed(false);
        }
        ChangeStatus::Accepted
    }

    fn reset(&mut self, immediate: bool, evse: Option<u32>) -> ChangeStatus {
        if evse.is_some() {
            // One EVSE cannot be restarted on its own: the process serves them all.
            return ChangeStatus::Rejected;
        }
        if !immediate && self.any_in_use(None) {
            self.reset = Some(PendingReset::WhenIdle);
            self.events.push_back(Event::StateChanged);
            return ChangeStatus::Scheduled;
        }
        self.reset = Some(PendingReset::Due);
        self.events.push_back(Event::StateChanged);
        self.events.push_back(Event::ResetDue);
        ChangeStatus::Accepted
    }

    fn unlock(&self, connector: u32) -> UnlockStatus {
        if connector == 0 || connector > self.settings.connectors {
            UnlockStatus::UnknownConnector
        } else {
            // The cable lock has no release path the station can drive safely.
            UnlockStatus::NoReleasePath
        }
    }
}

/// The refusal of a request the CSMS may not send before Boot is Accepted.
fn not_registered() -> Reply {
    Reply::Error(
        ErrorCode::SecurityError,
        "the station is not registered yet (Boot Pending)".into(),
    )
}

fn trigger_answer(status: TriggerStatus, info: Option<StatusInfo>) -> CsmsResponse {
    CsmsResponse::TriggerMessage { status, info }
}

/// `Rejected` with the reason (2.0.1 statusInfo).
fn trigger_rejected(reason_code: &str, additional_info: &str) -> CsmsResponse {
    trigger_answer(
        TriggerStatus::Rejected,
        Some(StatusInfo {
            reason_code: reason_code.into(),
            additional_info: Some(additional_info.into()),
        }),
    )
}
