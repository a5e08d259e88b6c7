//! The station core: registration (Boot Accepted/Pending/Rejected), the heartbeat, the one
//! outstanding CALL, connector status bookkeeping and the answers to the CSMS's CALLs.
//!
//! It does no I/O and reads no clock. The shell feeds it events with the current monotonic
//! instant (`handle_*`) and drains what it wants done:
//! 1. [`Station::poll_transmit`] until `None`: text frames to send, in order;
//! 2. [`Station::poll_event`] until `None`: finished CALLs, for logs and reports;
//! 3. [`Station::poll_timeout`]: the instant at which to call [`Station::handle_timeout`] next.
//!
//! Drain after every `handle_*` call; `handle_timeout` may be called early or twice, it only acts
//! on what is due.

mod availability;
pub mod journal;
mod operations;
mod registration;
mod report;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::backoff::BackoffConfig;
use crate::clock::{WallClock, format_timestamp};
use crate::deadline;
use crate::device_model::{self, Change, DeviceModel};
use crate::health::{Health, Sample};
use crate::meter::{MeterInput, MeterReading};
use crate::ocpp::BootInfo;
use crate::ocpp::{
    self, Answer, BootAnswer, BootReason, ConnectorStatus, Fault, FaultCode, OcppVersion,
    RegistrationStatus, Reply, Request, SecurityEventKind, StatusOnWire,
};
use crate::rpc::{self, Frame};
use crate::secret::Secret;

pub use availability::Availability;
pub use journal::JournalOp;
pub use registration::Registration;
use report::ReportJob;

/// Used when the CSMS answers Boot with `interval = 0` (or not at all): long enough not to
/// flood it, short enough that a station is not lost for long.
pub const NON_FLOODING_BOOT_RETRY: Duration = Duration::from_secs(60);

/// Heartbeat interval when the CSMS accepts with `interval = 0` and no override is set.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(300);

/// A CSMS clock further off than this gets a warning: the Pi has no RTC and may boot before NTP.
const CLOCK_SKEW_WARNING: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What the core needs to know from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// BootNotification contents.
    pub boot_info: BootInfo,
    /// Why this process booted.
    pub boot_reason: BootReason,
    /// Number of connectors (numbered from 1).
    pub connectors: u32,
    /// Send Boot on every reconnect, not only once per process.
    pub boot_on_reconnect: bool,
}

/// A CALL that got its answer, or did not.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// What was sent.
    pub request: Request,
    /// The OCPP version it was sent in.
    pub version: OcppVersion,
    /// Its message id.
    pub unique_id: String,
    /// When it was sent (wall clock).
    pub sent_utc: DateTime<Utc>,
    /// What came back.
    pub outcome: CallOutcome,
}

impl CallRecord {
    /// For a StatusNotification, the connector and status as the CSMS was told them.
    pub fn reported_status(&self) -> Option<StatusOnWire> {
        self.request.status_on_wire(self.version)
    }
}

/// How a CALL ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// CALLRESULT, read as the answer to the request.
    Result(Answer),
    /// CALLERROR.
    Error {
        /// The code as the CSMS spelled it.
        code: String,
        /// The CSMS's description.
        description: String,
    },
    /// No answer within the call timeout.
    Timeout,
}

/// Something the shell may want to know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A CALL of the station's finished.
    CallFinished(Box<CallRecord>),
    /// Something that must survive a restart changed: save [`Station::restorable`].
    StateChanged,
    /// The CSMS's Reset is due now: send what is queued, close the link, restart the process.
    ResetDue,
    /// The CSMS set a new Basic-auth password: close the link once the answer is out and dial
    /// again with it, at once (OCTT TC_073_CS).
    ReconnectRequested,
    /// A record that must survive a crash changed: make it durable before the frames of this
    /// step are sent.
    Journal(JournalOp),
}

/// What the station restores from disk at start and hands back for saving. Its `Debug` hides
/// the values of secret settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Restorable {
    /// The station as a whole is in service (ChangeAvailability without EVSE / connector 0).
    pub station_operative: bool,
    /// Connectors the operator took out of service.
    pub inoperative: std::collections::BTreeSet<u32>,
    /// Connectors (0: the whole station) the operator takes out of service once their session
    /// ends (ChangeAvailability answered `Scheduled`).
    pub scheduled_inoperative: std::collections::BTreeSet<u32>,
    /// A CSMS Reset is under way: the next Boot says RemoteReset.
    pub reset_requested: bool,
    /// The settings the CSMS changed (device model keys), the password among them.
    pub overrides: std::collections::BTreeMap<String, String>,
}

impl Default for Restorable {
    fn default() -> Self {
        Self {
            station_operative: true,
            inoperative: Default::default(),
            scheduled_inoperative: Default::default(),
            reset_requested: false,
            overrides: Default::default(),
        }
    }
}

impl std::fmt::Debug for Restorable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let overrides: Vec<(&String, &str)> = self
            .overrides
            .iter()
            .map(|(k, v)| {
                let shown = if device_model::is_secret_key(k) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (k, shown)
            })
            .collect();
        f.debug_struct("Restorable")
            .field("station_operative", &self.station_operative)
            .field("inoperative", &self.inoperative)
            .field("scheduled_inoperative", &self.scheduled_inoperative)
            .field("reset_requested", &self.reset_requested)
            .field("overrides", &overrides)
            .finish()
    }
}

/// Where an accepted Reset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingReset {
    /// Scheduled: waits until no connector is in use.
    WhenIdle,
    /// Due now: the shell restarts the station once what is queued is sent.
    Due,
}

/// The caller passed something the core cannot use (a bug in the shell, not in the CSMS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// A connector number outside 1..=connectors.
    #[error("connector {0} does not exist")]
    NoSuchConnector(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not connected; `since` is when the last connection ended (`None`: never connected).
    Offline {
        since: Option<Instant>,
    },
    Online {
        version: OcppVersion,
    },
}

#[derive(Debug)]
struct Outstanding {
    id: String,
    request: Request,
    version: OcppVersion,
    sent_utc: DateTime<Utc>,
    deadline: Instant,
}

/// One connector's status: the one place it lives. Queues name the connector only, and the
/// shell's views (status file, `--once` report) read it through [`Station::connector_status`]
/// and [`Station::controller_status`].
#[derive(Debug, Clone)]
struct ConnectorSlot {
    /// What the charge controller last said.
    current: ConnectorStatus,
    /// What the CSMS last acknowledged; `None` until it acknowledged anything.
    reported: Option<(ConnectorStatus, Option<Fault>)>,
}

/// A CALL waiting for its turn. A StatusNotification waits as its connector number alone and
/// is filled in when it goes, so a queue never holds a status that may be stale by then.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Queued {
    /// StatusNotification for this connector (0: the station as a whole, 1.6 only).
    Status(u32),
    /// Any other CALL, sent as it is.
    Call(Request),
}

impl Queued {
    /// The CALL, unless it is a StatusNotification (whose content is only known at send time).
    fn call(&self) -> Option<&Request> {
        match self {
            Queued::Call(request) => Some(request),
            Queued::Status(_) => None,
        }
    }
}

/// The station core. See the module documentation for the drain order.
pub struct Station {
    settings: Settings,
    clock: Arc<dyn WallClock>,
    next_id: Box<dyn FnMut() -> String + Send>,
    link: Link,
    registration: Registration,
    /// SecurityEventNotification StartupOfTheDevice acknowledged (2.0.1, once per process).
    startup_reported: bool,
    heartbeat_interval: Duration,
    /// Index = connector id; index 0 is the station as a whole (reported in 1.6 only).
    connectors: Vec<ConnectorSlot>,
    availability: Availability,
    /// Variables and configuration keys: what the CSMS can read and change.
    device_model: DeviceModel,
    /// The CSMS's Reset, once one was accepted.
    reset: Option<PendingReset>,
    /// The station's own CALLs, sent once registration allows.
    queue: VecDeque<Queued>,
    /// CALLs the CSMS asked for with TriggerMessage: allowed while Pending too. At most one
    /// Heartbeat and one StatusNotification per connector (a trigger finds its message queued
    /// and adds nothing), so the CSMS cannot make it grow.
    triggered: VecDeque<Queued>,
    /// The report being sent (GetBaseReport, GetReport): at most one, rendered a part at a time.
    report: Option<ReportJob>,
    /// The NotifyEvent with the cause of a fault whose StatusNotification is out: it goes next,
    /// so it can neither be starved by triggered messages nor pile up behind them.
    follow_up: Option<Request>,
    outstanding: Option<Outstanding>,
    last_traffic: Option<Instant>,
    transmit: VecDeque<String>,
    events: VecDeque<Event>,
    /// The next NotifyEvent eventId.
    next_event_id: i32,
    /// The Pi's own health, from the metrics sampler.
    health: Health,
    /// The sampler's latest measurement, for the 2.0.1 StationHealth variables.
    latest_sample: Option<Sample>,
    /// The energy meter's latest accepted reading.
    meter_reading: Option<MeterReading>,
    /// Station warnings the CSMS acknowledged as raised (2.0.1 NotifyEvent).
    warnings_known: BTreeSet<String>,
    /// When the last Heartbeat was answered.
    last_heartbeat_utc: Option<DateTime<Utc>>,
    /// Heartbeats in a row that got no answer.
    missed_heartbeats: u32,
}

impl Station {
    /// A station that has not connected yet. Every connector starts `initial` (Unavailable until
    /// a charge controller vouches for it).
    pub fn new(
        settings: Settings,
        clock: Arc<dyn WallClock>,
        next_id: Box<dyn FnMut() -> String + Send>,
        initial: ConnectorStatus,
        restored: Restorable,
        device_model: DeviceModel,
    ) -> Self {
        let slot = ConnectorSlot {
            current: initial,
            reported: None,
        };
        let connectors = vec![slot; (settings.connectors as usize).saturating_add(1)];
        let heartbeat_interval = device_model
            .heartbeat_override()
            .unwrap_or(DEFAULT_HEARTBEAT);
        // Event ids must not repeat across restarts either: start from the clock.
        let next_event_id = (clock.now_utc().timestamp() % 1_000_000_000) as i32;
        Self {
            settings,
            clock,
            next_id,
            link: Link::Offline { since: None },
            registration: Registration::new(),
            startup_reported: false,
            heartbeat_interval,
            connectors,
            availability: Availability::new(
                restored.station_operative,
                restored.inoperative,
                // 0 is the whole station, as in ChangeAvailability.
                restored
                    .scheduled_inoperative
                    .iter()
                    .map(|&c| Some(c).filter(|c| *c != 0))
                    .collect(),
            ),
            device_model,
            reset: None,
            queue: VecDeque::new(),
            triggered: VecDeque::new(),
            report: None,
            follow_up: None,
            outstanding: None,
            last_traffic: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_event_id,
            health: Health::default(),
            latest_sample: None,
            meter_reading: None,
            warnings_known: BTreeSet::new(),
            last_heartbeat_utc: None,
            missed_heartbeats: 0,
        }
    }

    // ----- inputs -------------------------------------------------------------------------

    /// The WebSocket is up and speaks `version`.
    pub fn handle_connected(&mut self, now: Instant, version: OcppVersion) {
        let offline_since = match self.link {
            Link::Offline { since } => since,
            Link::Online { .. } => Some(now),
        };
        self.link = Link::Online { version };
        self.last_traffic = Some(now);
        self.outstanding = None;
        self.forget_queued();

        // A reconnect is not a reboot, but a CSMS on the other version has not seen this
        // station's Boot.
        let must_boot =
            !self.registration.ever_accepted_on(version) || self.settings.boot_on_reconnect;
        if must_boot {
            if !self.registration.waiting_at(now) {
                self.queue_boot(now, self.settings.boot_reason);
            }
        } else {
            // A reconnect is not a reboot (OCPP-J): no Boot, and statuses per B04.
            let report_all = offline_since.is_none_or(|since| {
                now.saturating_duration_since(since) > self.device_model.offline_threshold()
            });
            self.queue_owed(report_all);
        }
        self.pump(now);
    }

    /// The WebSocket is gone. What was owed is recomputed from state on the next connection.
    pub fn handle_disconnected(&mut self, now: Instant) {
        if let Link::Online { .. } = self.link {
            self.link = Link::Offline { since: Some(now) };
        }
        if let Some(o) = self.outstanding.take() {
            self.forget_unconfirmed_status(&o.request);
        }
        self.forget_queued();
        self.last_traffic = None;
    }

    /// A text frame from the CSMS. Never fails: bad frames are answered or logged.
    pub fn handle_text(&mut self, now: Instant, text: &str) {
        let Link::Online { version } = self.link else {
            return;
        };
        self.last_traffic = Some(now);
        match rpc::parse(text) {
            Ok(Frame::Call { id, action, .. }) if self.silent(version) => {
                tracing::info!(action = %action, message_id = %id, "not answered: Boot was Rejected (OCPP 1.6 section 4.2)");
            }
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => {
                let reply = self.answer(now, version, &action, &payload);
                let frame = answer_frame(&id, &action, version, reply);
                self.transmit.push_back(frame);
            }
            Ok(Frame::CallResult { id, payload }) => {
                self.finish_call(now, &id, Ok(payload));
            }
            Ok(Frame::CallError {
                id,
                code,
                description,
            }) => self.finish_call(now, &id, Err((code, description))),
            Err(error) => {
                tracing::warn!(%error, bytes = text.len(), "unreadable frame from the CSMS");
                if let Some((id, code)) = error.owed_error().filter(|_| !self.silent(version)) {
                    self.transmit.push_back(rpc::call_error(
                        &id,
                        code,
                        version,
                        &error.to_string(),
                    ));
                }
            }
        }
        self.pump(now);
    }

    /// Fires whatever is due at `now`; harmless when nothing is.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(o) = self.outstanding.take_if(|o| o.deadline <= now) {
            tracing::warn!(action = o.request.action(), message_id = %o.id, "no answer from the CSMS in time");
            if matches!(o.request, Request::Boot(_)) {
                self.registration.boot_failed(now, NON_FLOODING_BOOT_RETRY);
            }
            if o.request == Request::Heartbeat {
                self.missed_heartbeats = self.missed_heartbeats.saturating_add(1);
            }
            self.forget_unconfirmed_status(&o.request);
            self.push_record(o, CallOutcome::Timeout);
        }
        if let Link::Online { .. } = self.link {
            if self.registration.retry_due(now) {
                self.queue_boot(now, self.settings.boot_reason);
            }
            // Owed once, however often the shell wakes while a CALL is outstanding.
            if !self.heartbeat_pending() && self.heartbeat_due().is_some_and(|due| due <= now) {
                self.queue.push_back(Queued::Call(Request::Heartbeat));
            }
        }
        self.pump(now);
    }

    /// The charge controller says connector `connector` is now `status`.
    pub fn handle_connector_status(
        &mut self,
        now: Instant,
        connector: u32,
        status: ConnectorStatus,
    ) -> Result<(), UsageError> {
        if connector == 0 || connector > self.settings.connectors {
            return Err(UsageError::NoSuchConnector(connector));
        }
        let Some(slot) = self.connectors.get_mut(connector as usize) else {
            return Err(UsageError::NoSuchConnector(connector));
        };
        if slot.current == status {
            return Ok(());
        }
        slot.current = status;
        // A session ending may release a scheduled availability change or reset.
        let connectors = self.settings.connectors;
        let changed = {
            let slots = &self.connectors;
            self.availability.apply_due(connectors, |c| {
                slots.get(c as usize).is_some_and(|s| in_use(&s.current))
            })
        };
        if changed {
            self.events.push_back(Event::StateChanged);
        }
        self.check_scheduled_reset();
        if self.is_online() && self.registration.is_accepted() {
            self.queue_owed(false);
            self.pump(now);
        }
        Ok(())
    }

    /// The Pi's health changed (too hot, under-voltage, disk nearly full).
    pub fn handle_health(&mut self, now: Instant, health: Health) {
        if health == self.health {
            return;
        }
        self.health = health;
        if self.is_online() && self.registration.is_accepted() {
            self.queue_owed(false);
            self.pump(now);
        }
    }

    /// The sampler's latest measurement: what GetVariables and GetBaseReport show of the Pi's
    /// health. Nothing is sent for it.
    pub fn handle_sample(&mut self, sample: Sample) {
        self.latest_sample = Some(sample);
    }

    /// The journal's records as the shell read them at start, in key order (see [`JournalOp`]).
    /// Called once, before the first connection.
    pub fn restore_journal(&mut self, records: Vec<(u64, Value)>) {
        let _ = records;
    }

    /// What the energy meter said at `now`: a reading, or a poll that got no answer.
    pub fn handle_meter(&mut self, now: Instant, input: MeterInput) {
        let _ = now;
        if let MeterInput::Reading(reading) = input {
            self.meter_reading = Some(reading);
        }
    }

    /// The energy meter's latest accepted reading, if any.
    pub fn meter_reading(&self) -> Option<&MeterReading> {
        self.meter_reading.as_ref()
    }

    /// Sends the station's metrics to the CSMS as DataTransfer `Metrics`, when registered and
    /// online. Metrics are a snapshot: one that cannot go now is dropped, never queued for later.
    pub fn handle_metrics_due(&mut self, now: Instant, data: Value) {
        if !self.is_online() || !self.registration.is_accepted() {
            return;
        }
        self.queue.retain(|r| {
            !matches!(
                r,
                Queued::Call(Request::DataTransfer {
                    message_id: METRICS_MESSAGE_ID,
                    ..
                })
            )
        });
        self.queue.push_back(Queued::Call(Request::DataTransfer {
            message_id: METRICS_MESSAGE_ID,
            data,
        }));
        self.pump(now);
    }

    /// Sends a Heartbeat as soon as the link allows (the `--once` run asks for one).
    pub fn handle_heartbeat_request(&mut self, now: Instant) {
        if self.registration.is_accepted() && !self.heartbeat_pending() {
            self.queue.push_back(Queued::Call(Request::Heartbeat));
            self.pump(now);
        }
    }

    // ----- outputs ------------------------------------------------------------------------

    /// The next frame to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmit.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Station::handle_timeout`] should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let call = self.outstanding.as_ref().map(|o| o.deadline);
        let boot = self.registration.retry_at();
        let heartbeat = if self.is_idle() {
            self.heartbeat_due()
        } else {
            None
        };
        [call, boot, heartbeat].into_iter().flatten().min()
    }

    /// The registration decision of the last Boot answer, if any.
    pub fn registration(&self) -> Option<RegistrationStatus> {
        self.registration.status()
    }

    /// No CALL outstanding and none waiting to be sent.
    pub fn is_idle(&self) -> bool {
        self.outstanding.is_none()
            && self.queue.is_empty()
            && self.triggered.is_empty()
            && self.report.is_none()
            && self.follow_up.is_none()
    }

    /// The heartbeat interval in force.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// The status the CSMS is told for `connector` (0 = the station): the controller's, unless
    /// the operator made it Unavailable.
    pub fn connector_status(&self, connector: u32) -> Option<ConnectorStatus> {
        ((connector as usize) < self.connectors.len()).then(|| self.effective(connector))
    }

    /// What the charge controller last said of `connector` (from 1), before the operator's
    /// availability and the station's health are applied: where the cause of a controller
    /// fault is read. `None` for a connector the station does not have.
    pub fn controller_status(&self, connector: u32) -> Option<&ConnectorStatus> {
        if connector == 0 {
            return None;
        }
        self.connectors.get(connector as usize).map(|s| &s.current)
    }

    /// When the last Heartbeat was answered.
    pub fn last_heartbeat_utc(&self) -> Option<DateTime<Utc>> {
        self.last_heartbeat_utc
    }

    /// Heartbeats in a row that got no answer.
    pub fn missed_heartbeats(&self) -> u32 {
        self.missed_heartbeats
    }

    /// The Pi's health as last reported.
    pub fn health(&self) -> Health {
        self.health
    }

    /// The sampler's latest measurement, if one came yet.
    pub fn latest_sample(&self) -> Option<&Sample> {
        self.latest_sample.as_ref()
    }

    /// The connector numbers the station has (from 1).
    pub fn connectors(&self) -> std::ops::RangeInclusive<u32> {
        1..=self.settings.connectors
    }

    /// The WebSocket ping interval in force (zero: none).
    pub fn ping_interval(&self) -> Duration {
        self.device_model.ping_interval()
    }

    /// How long a CALL may wait for its answer (MessageTimeout).
    pub fn message_timeout(&self) -> Duration {
        self.device_model.message_timeout()
    }

    /// The reconnect back-off in force.
    pub fn backoff(&self) -> BackoffConfig {
        self.device_model.backoff()
    }

    /// The Basic-auth password the CSMS set, which replaces the configured one.
    pub fn password(&self) -> Option<&Secret> {
        self.device_model.password()
    }

    /// What must survive a restart.
    pub fn restorable(&self) -> Restorable {
        Restorable {
            station_operative: self.availability.station_operative(),
            inoperative: self.availability.inoperative().clone(),
            scheduled_inoperative: self
                .availability
                .scheduled()
                .iter()
                .map(|target| target.unwrap_or(0))
                .collect(),
            reset_requested: self.reset.is_some(),
            overrides: self.device_model.overrides(),
        }
    }

    // ----- internals ----------------------------------------------------------------------

    fn is_online(&self) -> bool {
        matches!(self.link, Link::Online { .. })
    }

    /// HeartbeatInterval counts seconds without any OCPP traffic.
    fn heartbeat_due(&self) -> Option<Instant> {
        if !self.is_online() || !self.registration.is_accepted() {
            return None;
        }
        self.last_traffic
            .map(|t| deadline::after(t, self.heartbeat_interval))
    }

    fn queue_boot(&mut self, now: Instant, reason: BootReason) {
        self.registration.boot_sent(now);
        self.queue
            .retain(|r| !matches!(r, Queued::Call(Request::Boot(_))));
        self.queue.push_front(Queued::Call(Request::Boot(reason)));
    }

    /// Everything waiting to be sent belongs to the connection that ended: what is still owed
    /// is worked out again from state on the next one.
    fn forget_queued(&mut self) {
        self.queue.clear();
        self.triggered.clear();
        self.report = None;
        self.follow_up = None;
    }

    /// 1.6 while Boot is Rejected: the charge point SHALL NOT answer the Central System
    /// (section 4.2). 2.0.1 answers SecurityError instead (B03).
    fn silent(&self, version: OcppVersion) -> bool {
        version == OcppVersion::V16
            && self.registration.status() == Some(RegistrationStatus::Rejected)
    }

    /// Queues what the CSMS is owed after Accepted or a reconnect: the connectors whose status
    /// it has not acknowledged (or all of them), then the 2.0.1 startup security event.
    fn queue_owed(&mut self, report_all: bool) {
        let Link::Online { version } = self.link else {
            return;
        };
        let first = match version {
            OcppVersion::V16 => 0,
            OcppVersion::V201 => 1,
        };
        for connector in first..self.connectors.len() as u32 {
            let status = self.effective(connector);
            let notice = self.notice(version, connector);
            // What the CSMS will know once the status in flight (if any) is answered.
            let in_flight = self.outstanding.as_ref().and_then(|o| match &o.request {
                Request::Status {
                    connector: c,
                    status,
                    notice,
                } if *c == connector => Some((status, notice.as_ref())),
                _ => None,
            });
            let known = in_flight.or_else(|| {
                self.connectors
                    .get(connector as usize)
                    .and_then(|s| s.reported.as_ref())
                    .map(|(status, notice)| (status, notice.as_ref()))
            });
            let owed = report_all
                || known.is_none_or(|(known, known_notice)| {
                    !known.same_on_wire(&status, version) || known_notice != notice.as_ref()
                });
            let queued = self.queue.contains(&Queued::Status(connector));
            if owed && !queued {
                self.queue.push_back(Queued::Status(connector));
            }
        }
        if version == OcppVersion::V201 {
            self.queue_station_problems();
        }
        let startup = Request::SecurityEvent(self.startup_event());
        let startup_in_flight = self
            .outstanding
            .as_ref()
            .is_some_and(|o| o.request == startup);
        let startup = Queued::Call(startup);
        if version == OcppVersion::V201
            && !self.startup_reported
            && !startup_in_flight
            && !self.queue.contains(&startup)
        {
            self.queue.push_back(startup);
        }
    }

    /// Sends the next queued CALL when none is outstanding and registration allows it.
    fn pump(&mut self, now: Instant) {
        let Link::Online { version } = self.link else {
            return;
        };
        while self.outstanding.is_none() {
            // Boot first; then the cause of a fault right behind its status; then what the CSMS
            // asked for (allowed while Pending, B02.FR.02): triggered messages, then the next
            // report part; then the station's own messages, only once Accepted.
            let boot_next = matches!(self.queue.front(), Some(Queued::Call(Request::Boot(_))));
            let rejected = self.registration.status() == Some(RegistrationStatus::Rejected);
            let accepted = self.registration.is_accepted();
            let next = if boot_next {
                self.queue.pop_front()
            } else if accepted && self.follow_up.is_some() {
                self.follow_up.take().map(Queued::Call)
            } else if rejected {
                None
            } else if let Some(triggered) = self.triggered.pop_front() {
                Some(triggered)
            } else if let Some(part) = self.next_report_part() {
                Some(Queued::Call(part))
            } else if accepted {
                self.queue.pop_front()
            } else {
                None
            };
            let Some(next) = next else {
                return;
            };
            let request = self.fill_in(version, next);
            let now_utc = self.clock.now_utc();
            let payload = match version {
                OcppVersion::V201 => Some(ocpp::v201::encode(
                    &request,
                    &self.settings.boot_info,
                    now_utc,
                )),
                OcppVersion::V16 => ocpp::v16::encode(&request, &self.settings.boot_info, now_utc),
            };
            let payload = match payload {
                None => continue,
                Some(Ok(payload)) => payload,
                Some(Err(error)) => {
                    tracing::error!(action = request.action(), %error, "could not encode a message; dropped");
                    continue;
                }
            };
            let id = (self.next_id)();
            tracing::debug!(action = request.action(), message_id = %id, "sending");
            if let Some(problem) = self.problem_event(version, &request) {
                // A newer cause replaces one that could not go yet (while Pending): each is
                // judged against what the CSMS acknowledged, so the newest is the truth.
                self.follow_up = Some(problem);
            }
            self.transmit
                .push_back(rpc::call(&id, request.action(), &payload));
            self.last_traffic = Some(now);
            self.outstanding = Some(Outstanding {
                id,
                request,
                version,
                sent_utc: now_utc,
                deadline: deadline::after(now, self.device_model.message_timeout()),
            });
        }
    }

    /// The CALL a queued entry stands for, now: a StatusNotification carries the connector's
    /// status as it is at this moment.
    fn fill_in(&self, version: OcppVersion, queued: Queued) -> Request {
        match queued {
            Queued::Status(connector) => Request::Status {
                connector,
                status: self.effective(connector),
                notice: self.notice(version, connector),
            },
            Queued::Call(request) => request,
        }
    }

    /// 2.0.1: a StatusNotification that raises or clears a fault is followed by a NotifyEvent
    /// with the cause, compared with what the CSMS last acknowledged.
    fn problem_event(&mut self, version: OcppVersion, request: &Request) -> Option<Request> {
        let Request::Status {
            connector, status, ..
        } = request
        else {
            return None;
        };
        if version != OcppVersion::V201 {
            return None;
        }
        let reported = self
            .connectors
            .get(*connector as usize)?
            .reported
            .as_ref()
            .map(|(status, _)| status);
        let (fault, cleared) = match (status, reported) {
            (ConnectorStatus::Faulted(now), Some(ConnectorStatus::Faulted(before)))
                if now == before =>
            {
                return None;
            }
            (ConnectorStatus::Faulted(now), _) => (now.clone(), false),
            (_, Some(ConnectorStatus::Faulted(before))) => (before.clone(), true),
            _ => return None,
        };
        let event_id = self.take_event_id();
        Some(Request::ConnectorProblem {
            connector: *connector,
            event_id,
            fault,
            cleared,
        })
    }

    /// The CSMS answered CALL `id`: with a CALLRESULT payload, or a CALLERROR's code and
    /// description. The payload is read here, once, as the answer to the request it answers.
    fn finish_call(&mut self, now: Instant, id: &str, answer: Result<Value, (String, String)>) {
        let Some(outstanding) = self.outstanding.take_if(|o| o.id == id) else {
            tracing::warn!(message_id = %id, "answer to a message the station is not waiting for; ignored");
            return;
        };
        let outcome = match answer {
            Ok(payload) => CallOutcome::Result(ocpp::answer::read(&outstanding.request, &payload)),
            Err((code, description)) => CallOutcome::Error { code, description },
        };
        match (&outstanding.request, &outcome) {
            (Request::Boot(_), CallOutcome::Result(Answer::Boot(answer))) => {
                self.boot_answered(now, answer)
            }
            (Request::Boot(_), CallOutcome::Result(Answer::UnreadableBoot { why, .. })) => {
                tracing::warn!("unreadable BootNotification answer ({why}); retrying later");
                self.registration.boot_failed(now, NON_FLOODING_BOOT_RETRY);
            }
            (Request::Boot(_), CallOutcome::Error { code, .. }) => {
                tracing::warn!(%code, "the CSMS answered BootNotification with an error");
                self.registration.boot_failed(now, NON_FLOODING_BOOT_RETRY);
            }
            (
                Request::Status {
                    connector,
                    status,
                    notice,
                },
                CallOutcome::Result(_),
            ) => {
                if let Some(slot) = self.connectors.get_mut(*connector as usize) {
                    slot.reported = Some((status.clone(), notice.clone()));
                }
                // Anything that changed meanwhile and is still news goes next. Only after a
                // success: re-sending after an error could loop against a CSMS that refuses.
                if self.registration.is_accepted() {
                    self.queue_owed(false);
                }
            }
            (Request::SecurityEvent(_), CallOutcome::Result(_)) => self.startup_reported = true,
            (Request::Heartbeat, CallOutcome::Result(answer)) => {
                self.last_heartbeat_utc = Some(outstanding.sent_utc);
                self.missed_heartbeats = 0;
                if let Answer::Heartbeat {
                    current_time: Some(time),
                } = answer
                {
                    self.check_clock(time.utc);
                }
            }
            (Request::Heartbeat, _) => {
                self.missed_heartbeats = self.missed_heartbeats.saturating_add(1)
            }
            (
                Request::StationProblem {
                    warning, cleared, ..
                },
                CallOutcome::Result(_),
            ) => {
                let code = warning.tech_code();
                if *cleared {
                    self.warnings_known.remove(&code);
                } else {
                    self.warnings_known.insert(code);
                }
                if self.registration.is_accepted() {
                    self.queue_owed(false);
                }
            }
            _ => {}
        }
        self.push_record(outstanding, outcome);
    }

    fn boot_answered(&mut self, now: Instant, answer: &BootAnswer) {
        if let Some(time) = &answer.current_time {
            self.check_clock(time.utc);
        }
        let (interval, clamped) = deadline::csms_interval(answer.interval);
        tracing::info!(status = %answer.status, interval = answer.interval, "BootNotification answered");
        if clamped {
            tracing::warn!(
                interval = answer.interval,
                used = interval.as_secs(),
                "the CSMS's interval is longer than the station accepts; the longest is used"
            );
        }
        match answer.status {
            RegistrationStatus::Accepted => {
                if let Link::Online { version } = self.link {
                    self.registration.accepted(version);
                }
                self.heartbeat_interval =
                    self.device_model
                        .heartbeat_override()
                        .unwrap_or(if interval.is_zero() {
                            DEFAULT_HEARTBEAT
                        } else {
                            interval
                        });
                self.queue_owed(true);
            }
            status => {
                let wait = if interval.is_zero() {
                    NON_FLOODING_BOOT_RETRY
                } else {
                    interval
                };
                self.registration.not_accepted(now, status, wait);
            }
        }
    }

    /// The status the CSMS must see for `connector`: the operator's Unavailable wins; connector
    /// 0 (1.6) stands for the station: Unavailable when no connector can be used.
    fn effective(&self, connector: u32) -> ConnectorStatus {
        if connector == 0 {
            if !self.availability.station_operative() {
                return ConnectorStatus::Unavailable;
            }
            if self.health.too_hot {
                return too_hot();
            }
            let usable = (1..self.connectors.len() as u32)
                .any(|c| self.effective(c) != ConnectorStatus::Unavailable);
            return if usable {
                ConnectorStatus::Available
            } else {
                ConnectorStatus::Unavailable
            };
        }
        if self.availability.is_unavailable(connector) {
            return ConnectorStatus::Unavailable;
        }
        // Too hot to charge safely: every connector is out of service until it cools down.
        if self.health.too_hot {
            return too_hot();
        }
        self.connectors
            .get(connector as usize)
            .map_or(ConnectorStatus::Unavailable, |s| s.current.clone())
    }

    /// Puts the CSMS's accepted changes into force and has them saved. Everything but the
    /// heartbeat interval is read from the device model where it is used (the shell asks for
    /// the ping interval, back-off and password when it needs them).
    fn apply_changes(&mut self, changes: Vec<Change>) {
        let mut reconnect = false;
        for change in changes {
            match change {
                Change::HeartbeatInterval(interval) => self.heartbeat_interval = interval,
                Change::Password(_) => reconnect = true,
                _ => {}
            }
        }
        // Saved first: the reconnect must find the new password on disk too.
        self.events.push_back(Event::StateChanged);
        if reconnect {
            self.events.push_back(Event::ReconnectRequested);
        }
    }

    /// A Heartbeat is queued (either queue) or in flight: one more would tell the CSMS nothing.
    fn heartbeat_pending(&self) -> bool {
        let heartbeat = Queued::Call(Request::Heartbeat);
        self.queue.contains(&heartbeat)
            || self.triggered.contains(&heartbeat)
            || self
                .outstanding
                .as_ref()
                .is_some_and(|o| o.request == Request::Heartbeat)
    }

    /// A StatusNotification whose answer never came may or may not have reached the CSMS: what
    /// it knows of that connector is unknown, so the next comparison sends the status again
    /// (even one equal to the last acknowledged).
    fn forget_unconfirmed_status(&mut self, request: &Request) {
        if let Request::Status { connector, .. } = request
            && let Some(slot) = self.connectors.get_mut(*connector as usize)
        {
            slot.reported = None;
        }
    }

    /// The station's health warnings that do not take it out of service.
    fn warnings(&self) -> Vec<Fault> {
        let mut warnings = Vec::new();
        if self.health.under_voltage {
            warnings.push(Fault {
                code: FaultCode::OtherError,
                info: Some("power supply under-voltage".into()),
                vendor_error_code: Some("UNDER_VOLTAGE".into()),
            });
        }
        if self.health.disk_nearly_full {
            warnings.push(Fault {
                code: FaultCode::OtherError,
                info: Some("disk nearly full".into()),
                vendor_error_code: Some("DISK_NEARLY_FULL".into()),
            });
        }
        warnings
    }

    /// 1.6 carries a station warning on connector 0's StatusNotification (the first, when there
    /// are several); 2.0.1 uses NotifyEvent instead.
    fn notice(&self, version: OcppVersion, connector: u32) -> Option<Fault> {
        if version != OcppVersion::V16 || connector != 0 {
            return None;
        }
        self.warnings().into_iter().next()
    }

    /// 2.0.1: raises the warnings the CSMS does not know of yet and clears those that ended,
    /// judged against what it acknowledged and what is already on its way.
    fn queue_station_problems(&mut self) {
        let current = self.warnings();
        let pending = |queue: &VecDeque<Queued>, outstanding: &Option<Outstanding>, code: &str| {
            queue
                .iter()
                .filter_map(Queued::call)
                .chain(outstanding.as_ref().map(|o| &o.request))
                .any(|r| matches!(r, Request::StationProblem { warning, .. } if warning.tech_code() == code))
        };
        for warning in &current {
            let code = warning.tech_code();
            if !self.warnings_known.contains(&code)
                && !pending(&self.queue, &self.outstanding, &code)
            {
                let event_id = self.take_event_id();
                self.queue.push_back(Queued::Call(Request::StationProblem {
                    event_id,
                    warning: warning.clone(),
                    cleared: false,
                }));
            }
        }
        let ended: Vec<String> = self
            .warnings_known
            .iter()
            .filter(|code| !current.iter().any(|w| w.tech_code() == **code))
            .cloned()
            .collect();
        for code in ended {
            if !pending(&self.queue, &self.outstanding, &code) {
                let event_id = self.take_event_id();
                self.queue.push_back(Queued::Call(Request::StationProblem {
                    event_id,
                    warning: Fault {
                        code: FaultCode::OtherError,
                        info: None,
                        vendor_error_code: Some(code),
                    },
                    cleared: true,
                }));
            }
        }
    }

    fn take_event_id(&mut self) -> i32 {
        let id = self.next_event_id;
        self.next_event_id = self.next_event_id.wrapping_add(1).max(0);
        id
    }

    /// The 2.0.1 security event that announces this start.
    fn startup_event(&self) -> SecurityEventKind {
        match self.settings.boot_reason {
            BootReason::RemoteReset => SecurityEventKind::ResetOrReboot,
            BootReason::PowerUp | BootReason::Triggered => SecurityEventKind::StartupOfTheDevice,
        }
    }

    /// A Reset waiting for idle connectors becomes due once none is in use.
    fn check_scheduled_reset(&mut self) {
        if self.reset == Some(PendingReset::WhenIdle) && !self.any_in_use(None) {
            self.reset = Some(PendingReset::Due);
            self.events.push_back(Event::ResetDue);
        }
    }

    /// A session runs on `target` (`None`: on any connector).
    fn any_in_use(&self, target: Option<u32>) -> bool {
        self.connectors
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(c, _)| target.is_none_or(|t| *c == t as usize))
            .any(|(_, s)| in_use(&s.current))
    }

    fn check_clock(&self, csms_time: DateTime<Utc>) {
        let skew = self.clock.now_utc().signed_duration_since(csms_time);
        if skew.abs() > CLOCK_SKEW_WARNING {
            tracing::warn!(
                station = %format_timestamp(self.clock.now_utc()),
                csms = %format_timestamp(csms_time),
                "the station's clock differs from the CSMS's by more than a minute: is NTP synchronised?"
            );
        }
    }

    fn push_record(&mut self, o: Outstanding, outcome: CallOutcome) {
        self.events
            .push_back(Event::CallFinished(Box::new(CallRecord {
                request: o.request,
                version: o.version,
                unique_id: o.id,
                sent_utc: o.sent_utc,
                outcome,
            })));
    }
}

/// The frame that answers the CSMS's CALL `id`: the response written as `version` spells it,
/// or the CALLERROR.
fn answer_frame(id: &str, action: &str, version: OcppVersion, reply: Reply) -> String {
    let (code, description) = match reply {
        Reply::Result(response) => match ocpp::csms_response::encode(version, &response) {
            Ok(payload) => return rpc::call_result(id, &payload),
            Err(error) => {
                tracing::error!(action = %action, message_id = %id, %error, "could not write an answer");
                (rpc::ErrorCode::InternalError, error.to_string())
            }
        },
        Reply::Error(code, description) => (code, description),
    };
    tracing::info!(action = %action, message_id = %id, code = code.wire(version), "refused CSMS call: {description}");
    rpc::call_error(id, code, version, &description)
}

/// The messageId of the station's metrics DataTransfer.
pub const METRICS_MESSAGE_ID: &str = "Metrics";

/// Every connector's status while the station is too hot to charge safely.
fn too_hot() -> ConnectorStatus {
    ConnectorStatus::Faulted(Fault {
        code: FaultCode::HighTemperature,
        info: Some("station too hot to charge safely".into()),
        vendor_error_code: None,
    })
}

/// A session runs: a cable or EV is there, energy flows or has just flowed.
fn in_use(status: &ConnectorStatus) -> bool {
    matches!(
        status,
        ConnectorStatus::Preparing
            | ConnectorStatus::Charging
            | ConnectorStatus::SuspendedEv
            | ConnectorStatus::SuspendedEvse
            | ConnectorStatus::Finishing
    )
}
