//! `ocpp-station --once`: the provisioning smoke test (docs/once.md).
//!
//! One connection made exactly as the daemon makes it, Boot, the StatusNotifications, one
//! Heartbeat, a clean close, and one line of JSON describing all of it. Bounded by an overall
//! deadline; every outcome has its own exit code.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::{SystemClock, WallClock, format_timestamp};
use crate::config::Config;
use crate::daemon::shutdown_signal;
use crate::esp32;
use crate::esp32::port::{self, SnapshotHandle};
use crate::esp32::view::ControllerView;
use crate::link::{self};
use crate::metrics::{Sample, Sampler, SamplerPaths};
use crate::ocpp::{self, Answer, OcppVersion, RegistrationStatus};
use crate::session::{self, Control, Observer, SessionEnd};
use crate::station::{CallOutcome, CallRecord, Event, Station};
use crate::status_source::StatusSource;
use crate::wiring::{self, Wiring};

/// Exit code: Boot Accepted, everything answered.
pub const EXIT_OK: i32 = 0;
/// Exit code: the configuration is incomplete or invalid.
pub const EXIT_CONFIG: i32 = 2;
/// Exit code: no OCPP connection could be made.
pub const EXIT_CONNECT: i32 = 3;
/// Exit code: the CSMS answered Boot with Pending or Rejected.
pub const EXIT_BOOT_NOT_ACCEPTED: i32 = 4;
/// Exit code: a CallError, a missing answer, or the link closed mid-run.
pub const EXIT_PROTOCOL: i32 = 5;

/// The one JSON line `--once` prints. Field names are read by fleet tooling: keep them.
#[derive(Debug, Clone, Serialize)]
pub struct OnceReport {
    /// The station identity (`null` when the configuration has none).
    pub station_name: Option<String>,
    /// The URL of the connection used (canonical; a URL never carries credentials).
    pub endpoint: Option<String>,
    /// The subprotocol the CSMS selected.
    pub subprotocol: Option<String>,
    /// True exactly when `exit_code` is 0.
    pub ok: bool,
    /// `accepted`, `config_error`, `connect_failed`, `boot_pending`, `boot_rejected`, `protocol_error`.
    pub result: &'static str,
    /// The process exit code.
    pub exit_code: i32,
    /// `config`, `connect`, `boot_not_accepted`, `protocol`, or null.
    pub error_class: Option<&'static str>,
    /// What went wrong, for a person.
    pub error: Option<String>,
    /// When the run started.
    pub run_started_utc: String,
    /// When the run ended.
    pub run_finished_utc: String,
    /// Every dial attempt.
    pub attempts: Vec<AttemptReport>,
    /// Every CALL the station sent, in order.
    pub messages: Vec<MessageReport>,
    /// The charge controller as the run saw it; null when none is configured.
    pub controller: Option<ControllerView>,
    /// The machine's health when the run started (temperature, memory, disks, supply).
    pub metrics: Option<Sample>,
}

/// One dial attempt.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    /// The URL dialled, in canonical form.
    pub url: String,
    /// The version selected, or the first one offered when none was.
    pub ocpp_version: String,
    /// The subprotocols offered, in order of preference.
    pub subprotocols_offered: Vec<&'static str>,
    /// The subprotocol the CSMS selected.
    pub subprotocol_selected: Option<&'static str>,
    /// `connected` or the failure class ([`link::dial::FAILURE_OUTCOMES`]).
    pub outcome: &'static str,
    /// The failure, for a person.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

/// One CALL and a summary of its answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageReport {
    /// The OCPP action.
    pub action: &'static str,
    /// The message id.
    pub unique_id: String,
    /// When it was sent.
    pub utc: String,
    /// `CallResult`, `CallError` or `Timeout`.
    pub response: &'static str,
    /// The answer's `status` (BootNotification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The answer's `interval` (BootNotification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// The answer's `currentTime`, as the CSMS wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_time: Option<String>,
    /// The CALLERROR code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The CALLERROR description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// StatusNotification: the connector (1.6) or EVSE (2.0.1) reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
    /// StatusNotification (2.0.1): the EVSE reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    /// StatusNotification: the status reported, as the version spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_status: Option<String>,
}

impl OnceReport {
    fn new(station_name: Option<String>, started: DateTime<Utc>) -> Self {
        Self {
            station_name,
            endpoint: None,
            subprotocol: None,
            ok: false,
            result: "protocol_error",
            exit_code: EXIT_PROTOCOL,
            error_class: Some("protocol"),
            error: None,
            run_started_utc: format_timestamp(started),
            run_finished_utc: format_timestamp(started),
            attempts: Vec::new(),
            messages: Vec::new(),
            controller: None,
            metrics: None,
        }
    }

    fn set(&mut self, result: &'static str, error: Option<String>) {
        let (exit_code, class) = match result {
            "accepted" => (EXIT_OK, None),
            "config_error" => (EXIT_CONFIG, Some("config")),
            "connect_failed" => (EXIT_CONNECT, Some("connect")),
            "boot_pending" | "boot_rejected" => (EXIT_BOOT_NOT_ACCEPTED, Some("boot_not_accepted")),
            _ => (EXIT_PROTOCOL, Some("protocol")),
        };
        self.result = result;
        self.exit_code = exit_code;
        self.error_class = class;
        self.ok = exit_code == EXIT_OK;
        self.error = error;
    }

    /// The report for a configuration that could not be loaded.
    pub fn config_error(station_name: Option<String>, error: &dyn std::fmt::Display) -> Self {
        let now = SystemClock.now_utc();
        let mut report = Self::new(station_name, now);
        report.set("config_error", Some(error.to_string()));
        report
    }

    /// The report for a run stopped at its deadline before it could report itself (see
    /// `once_deadline`): no connection is known to have been made.
    pub fn deadline_passed(station_name: Option<String>, limit: Duration) -> Self {
        let now = SystemClock.now_utc();
        let mut report = Self::new(station_name, now);
        report.set(
            "connect_failed",
            Some(format!(
                "the run did not complete within {} s (OCPP_ONCE_TIMEOUT_SECONDS) and was stopped",
                limit.as_secs()
            )),
        );
        report
    }

    /// The single line printed on stdout.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            // Serializing plain strings and numbers cannot fail; keep the one-line promise anyway.
            format!("{{\"ok\":false,\"result\":\"protocol_error\",\"exit_code\":{EXIT_PROTOCOL}}}")
        })
    }
}

/// Tracks the run's progress from the core's events.
struct OnceObserver<'a> {
    report: &'a mut OnceReport,
    heartbeat_requested: bool,
    finished: bool,
}

impl Observer for OnceObserver<'_> {
    fn on_event(&mut self, _now: Instant, _station: &mut Station, event: &Event) -> Control {
        let Event::CallFinished(record) = event else {
            // A CSMS Reset or a persisted change does not concern a one-shot run.
            return Control::Continue;
        };
        self.report.messages.push(MessageReport::of(record));
        let action = record.request.action();
        let (result, error) = match &record.outcome {
            CallOutcome::Result(Answer::Boot(boot)) => match boot.status {
                RegistrationStatus::Accepted => return Control::Continue,
                RegistrationStatus::Pending => ("boot_pending", format!(
                    "the CSMS answered BootNotification with Pending (retry in {} s): the station is not registered yet",
                    boot.interval
                )),
                RegistrationStatus::Rejected => ("boot_rejected",
                    "the CSMS rejected the BootNotification: the station is not registered at the CSMS under this identity".into(),
                ),
            },
            CallOutcome::Result(Answer::UnreadableBoot { why, .. }) => (
                "protocol_error",
                format!("unreadable BootNotification answer: {why}"),
            ),
            CallOutcome::Result(Answer::Heartbeat { .. }) if self.heartbeat_requested => {
                self.report.set("accepted", None);
                self.finished = true;
                return Control::Finish;
            }
            CallOutcome::Result(_) => return Control::Continue,
            CallOutcome::Error { code, description } => (
                "protocol_error",
                format!("the CSMS answered {action} with CallError {code}: {description}"),
            ),
            CallOutcome::Timeout => (
                "protocol_error",
                format!("the CSMS did not answer {action} in time"),
            ),
        };
        self.report.set(result, Some(error));
        Control::Finish
    }

    fn after_step(&mut self, now: Instant, station: &mut Station) -> Control {
        if !self.heartbeat_requested
            && station.registration() == Some(RegistrationStatus::Accepted)
            && station.is_idle()
        {
            self.heartbeat_requested = true;
            station.handle_heartbeat_request(now);
        }
        Control::Continue
    }
}

impl MessageReport {
    /// One finished CALL as the report shows it: the connector and status a StatusNotification
    /// reported as its version addressed them, the Boot decision, the CSMS's clock as it wrote
    /// it, or the CALLERROR.
    fn of(record: &CallRecord) -> Self {
        let mut message = MessageReport {
            action: record.request.action(),
            unique_id: record.unique_id.clone(),
            utc: format_timestamp(record.sent_utc),
            ..Default::default()
        };
        if let Some(reported) = record.reported_status() {
            message.evse_id = reported.evse_id;
            message.connector_id = Some(reported.connector_id);
            message.connector_status = Some(reported.status.to_owned());
        }
        match &record.outcome {
            CallOutcome::Result(answer) => {
                message.response = "CallResult";
                match answer {
                    Answer::Boot(boot) => {
                        message.status = Some(boot.status.to_string());
                        message.interval = Some(boot.interval);
                        message.current_time =
                            boot.current_time.as_ref().map(|t| t.as_sent.clone());
                    }
                    Answer::UnreadableBoot { status, .. } => message.status = status.clone(),
                    Answer::Heartbeat { current_time } => {
                        message.current_time = current_time.as_ref().map(|t| t.as_sent.clone());
                    }
                    Answer::Acknowledged => {}
                }
            }
            CallOutcome::Error { code, description } => {
                message.response = "CallError";
                message.error_code = Some(code.clone());
                message.error_description = Some(description.clone());
            }
            CallOutcome::Timeout => message.response = "Timeout",
        }
        message
    }
}

/// How long `--once` waits for the charge controller's first word before reporting the
/// connector with the link-lost cause. The firmware answers a read-status at once.
pub const CONTROLLER_WAIT: Duration = Duration::from_secs(3);

/// Runs the smoke test and returns its report (never fails: every failure is in the report).
/// `controller` is the charge controller's live snapshot, when one is configured.
pub async fn run(
    config: &Config,
    source: Box<dyn StatusSource>,
    controller: Option<SnapshotHandle>,
) -> OnceReport {
    let clock = SystemClock;
    let mut report = OnceReport::new(Some(config.station_name.clone()), clock.now_utc());
    // One measurement of the machine: what a technician needs next to the OCPP outcome.
    let state_dir = config.state_dir.clone();
    report.metrics =
        tokio::task::spawn_blocking(move || Sampler::new(SamplerPaths::system(state_dir)).sample())
            .await
            .ok();
    // What the charge controller said of its connector, as the station core last held it.
    let mut controller_status = None;
    let outcome = tokio::time::timeout(
        config.once_timeout,
        drive(
            config,
            source,
            controller.as_ref(),
            &mut controller_status,
            &mut report,
        ),
    )
    .await;
    if outcome.is_err() {
        let connected = report.subprotocol.is_some();
        report.set(
            if connected {
                "protocol_error"
            } else {
                "connect_failed"
            },
            Some(format!(
                "the run did not complete within {} s (OCPP_ONCE_TIMEOUT_SECONDS)",
                config.once_timeout.as_secs()
            )),
        );
    }
    report.controller = controller.map(|c| ControllerView::new(&c, controller_status.as_ref()));
    report.run_finished_utc = format_timestamp(clock.now_utc());
    report
}

async fn drive(
    config: &Config,
    source: Box<dyn StatusSource>,
    controller: Option<&SnapshotHandle>,
    controller_status: &mut Option<ocpp::ConnectorStatus>,
    report: &mut OnceReport,
) {
    // --once reads the saved state (a password the CSMS set, availability) but never writes:
    // a smoke test leaves the station as it found it.
    let Wiring {
        mut station,
        tls,
        mut plan,
        ..
    } = match Wiring::new(config, source.initial_status()) {
        Ok(wiring) => wiring,
        Err(error) => {
            report.set("config_error", Some(error.to_string()));
            return;
        }
    };
    let mut updates = source.start();
    if controller.is_some() {
        // Report what the hardware says, not the placeholder: wait briefly for its first word.
        let first = tokio::time::timeout(CONTROLLER_WAIT, updates.recv()).await;
        let status = match first {
            Ok(Some(update)) => update.status,
            _ => {
                tracing::warn!("the charge controller did not answer within {CONTROLLER_WAIT:?}");
                esp32::state::link_lost()
            }
        };
        for connector in 1..=config.connectors {
            let _ = station.handle_connector_status(Instant::now(), connector, status.clone());
        }
        *controller_status = Some(status);
    }
    let mut shutdown = shutdown_signal();
    let mut tried: Vec<(link::CsmsUrl, Vec<OcppVersion>)> = Vec::new();

    loop {
        let attempt = plan.next_attempt(Instant::now());
        // --once dials each candidate at most once and never sleeps between attempts: a
        // repeat means every candidate the daemon would use has failed.
        let key = (attempt.url.clone(), attempt.offer.clone());
        if tried.contains(&key) {
            let last = report.attempts.last().and_then(|a| a.error.clone());
            report.set(
                "connect_failed",
                Some(last.unwrap_or_else(|| "no endpoint could be reached".into())),
            );
            return;
        }
        tried.push(key);
        tracing::info!("{}", attempt.reason);

        let started = Instant::now();
        let request = wiring::dial_request(config, &tls, &station, &attempt.url, &attempt.offer);
        let dialed = link::dial(&request).await;
        let mut entry = AttemptReport {
            url: attempt.url.to_string(),
            ocpp_version: attempt
                .offer
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            subprotocols_offered: attempt.offer.iter().map(|v| v.subprotocol()).collect(),
            subprotocol_selected: None,
            outcome: "connected",
            error: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        match dialed {
            Err(error) => {
                tracing::warn!(outcome = error.outcome(), "could not connect: {error}");
                entry.outcome = error.outcome();
                entry.error = Some(error.to_string());
                report.attempts.push(entry);
                plan.handle_failure(Instant::now(), &attempt, error.is_version_mismatch(), 0.0);
            }
            Ok((ws, version)) => {
                entry.ocpp_version = version.to_string();
                entry.subprotocol_selected = Some(version.subprotocol());
                report.attempts.push(entry);
                report.endpoint = Some(attempt.url.to_string());
                report.subprotocol = Some(version.subprotocol().to_owned());
                station.handle_connected(Instant::now(), version);
                let mut observer = OnceObserver {
                    report,
                    heartbeat_requested: false,
                    finished: false,
                };
                let end = session::run(
                    ws,
                    &mut station,
                    session::Inputs {
                        updates: &mut updates,
                        health: None,
                        shutdown: &mut shutdown,
                        watchdog: None,
                    },
                    &mut observer,
                )
                .await;
                let finished = observer.finished;
                *controller_status = station.controller_status(port::CONNECTOR).cloned();
                match end {
                    SessionEnd::Finished => {}
                    SessionEnd::Shutdown => {
                        report.set("protocol_error", Some("interrupted".into()))
                    }
                    other if !finished => report.set(
                        "protocol_error",
                        Some(format!(
                            "the connection ended before the run completed: {other:?}"
                        )),
                    ),
                    _ => {}
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocpp::{BootAnswer, BootReason, ConnectorStatus, CsmsTime, Request};
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn reported(request: Request, version: OcppVersion, outcome: CallOutcome) -> Value {
        let record = CallRecord {
            request,
            version,
            unique_id: "m-1".into(),
            sent_utc: Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap(),
            outcome,
        };
        serde_json::to_value(MessageReport::of(&record)).unwrap()
    }

    fn status(connector: u32) -> Request {
        Request::Status {
            connector,
            status: ConnectorStatus::Charging,
            notice: None,
        }
    }

    #[test]
    fn a_status_is_reported_as_its_version_addressed_it() {
        let acknowledged = || CallOutcome::Result(Answer::Acknowledged);
        assert_eq!(
            reported(status(2), OcppVersion::V201, acknowledged()),
            json!({"action": "StatusNotification", "unique_id": "m-1",
                   "utc": "2026-11-22T08:00:00.000Z", "response": "CallResult",
                   "evse_id": 2, "connector_id": 1, "connector_status": "Occupied"})
        );
        assert_eq!(
            reported(status(0), OcppVersion::V16, acknowledged()),
            json!({"action": "StatusNotification", "unique_id": "m-1",
                   "utc": "2026-11-22T08:00:00.000Z", "response": "CallResult",
                   "connector_id": 0, "connector_status": "Charging"})
        );
    }

    #[test]
    fn answers_are_summarised_as_the_csms_wrote_them() {
        let time = "2026-11-22T09:00:00+01:00";
        let boot = Answer::Boot(BootAnswer {
            status: RegistrationStatus::Accepted,
            interval: 300,
            current_time: Some(CsmsTime {
                utc: crate::clock::parse_timestamp(time).unwrap(),
                as_sent: time.into(),
            }),
        });
        let summary = reported(
            Request::Boot(BootReason::PowerUp),
            OcppVersion::V201,
            CallOutcome::Result(boot),
        );
        assert_eq!(summary["status"], "Accepted");
        assert_eq!(summary["interval"], 300);
        assert_eq!(summary["current_time"], time);
        let unreadable = reported(
            Request::Boot(BootReason::PowerUp),
            OcppVersion::V16,
            CallOutcome::Result(Answer::UnreadableBoot {
                status: Some("Maybe".into()),
                why: "unknown registration status 'Maybe'".into(),
            }),
        );
        assert_eq!(unreadable["status"], "Maybe");
        assert!(unreadable.get("interval").is_none());
        let heartbeat = reported(
            Request::Heartbeat,
            OcppVersion::V16,
            CallOutcome::Result(Answer::Heartbeat { current_time: None }),
        );
        assert!(heartbeat.get("current_time").is_none(), "{heartbeat}");
        let refused = reported(
            Request::Heartbeat,
            OcppVersion::V201,
            CallOutcome::Error {
                code: "GenericError".into(),
                description: "no".into(),
            },
        );
        assert_eq!(refused["response"], "CallError");
        assert_eq!(refused["error_code"], "GenericError");
        assert_eq!(refused["error_description"], "no");
        let late = reported(Request::Heartbeat, OcppVersion::V201, CallOutcome::Timeout);
        assert_eq!(late["response"], "Timeout");
    }
}
