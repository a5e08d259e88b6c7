//! Driving the core in tests, here and in the crates that build on it (feature `test-util`): a
//! simulated clock, and [`Pair`], a station core wired to a scripted CSMS over that clock, so a
//! test can jump an hour and count heartbeats in microseconds.
//!
//! Nothing here reads the real clock after [`SimClock::new`], and nothing panics on the
//! station's output: frames that are not what a CSMS expects are kept for the test to look at.

#![allow(
    clippy::disallowed_methods,
    reason = "a simulated clock starts from a real instant, any will do"
)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::backoff::BackoffConfig;
use crate::clock::WallClock;
use crate::deadline;
use crate::device_model::{Defaults, DeviceModel};
use crate::ocpp::{BootInfo, BootReason, ConnectorStatus, OcppVersion};
use crate::station::{Event, Restorable, Settings, Station};

/// A clock the test moves by hand: a monotonic instant and the matching UTC time, both
/// advancing together and never going back.
#[derive(Debug, Clone)]
pub struct SimClock {
    start: Instant,
    start_utc: DateTime<Utc>,
    offset: Arc<Mutex<Duration>>,
}

impl SimClock {
    /// A clock reading `start_utc` now.
    pub fn new(start_utc: DateTime<Utc>) -> Self {
        Self {
            start: Instant::now(),
            start_utc,
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    /// The clock the core's own tests use: 2026-11-22 08:00:00.123456789 UTC.
    pub fn at_a_fixed_date() -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
            .single()
            .unwrap_or_default();
        Self::new(
            start
                .checked_add_signed(chrono::TimeDelta::nanoseconds(123_456_789))
                .unwrap_or(start),
        )
    }

    /// The monotonic instant the clock shows.
    pub fn now(&self) -> Instant {
        deadline::after(self.start, self.elapsed())
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock to `t`; an instant before the current one leaves it where it is.
    pub fn set(&self, t: Instant) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset = (*offset).max(t.saturating_duration_since(self.start));
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset = offset.saturating_add(d);
    }
}

impl WallClock for SimClock {
    fn now_utc(&self) -> DateTime<Utc> {
        chrono::TimeDelta::from_std(self.elapsed())
            .ok()
            .and_then(|d| self.start_utc.checked_add_signed(d))
            .unwrap_or(self.start_utc)
    }
}

/// The CSMS side of a [`Pair`]: given each CALL's action and payload, the answer's payload, or
/// `None` to leave it unanswered.
pub type Answer = Box<dyn FnMut(&str, &Value) -> Option<Value>>;

/// A CSMS that accepts the Boot with `interval` and answers every other CALL plainly.
pub fn accept_all(interval: u64) -> Answer {
    Box::new(move |action, _| {
        Some(match action {
            "BootNotification" => {
                json!({"status":"Accepted","interval":interval,"currentTime":"2026-11-22T08:00:00Z"})
            }
            "Heartbeat" => json!({"currentTime":"2026-11-22T08:00:00Z"}),
            _ => json!({}),
        })
    })
}

/// A two-connector station as the tests know it: vendor ORGE, model AC-Pi, powered up.
pub fn example_settings() -> Settings {
    Settings {
        boot_info: BootInfo {
            vendor: "ORGE".into(),
            model: "AC-Pi".into(),
            serial_number: None,
            firmware_version: None,
        },
        boot_reason: BootReason::PowerUp,
        connectors: 2,
        boot_on_reconnect: false,
    }
}

/// The device model's defaults of [`example_settings`], as the env file would give them.
pub fn example_defaults() -> Defaults {
    Defaults {
        identity: "ORGE_AC_001".into(),
        security_profile: 2,
        connectors: 2,
        heartbeat_interval: Duration::ZERO,
        backoff: BackoffConfig::default(),
        ping_interval: Duration::from_secs(30),
        offline_threshold: Duration::from_secs(600),
        message_timeout: Duration::from_secs(30),
        vendor: "ORGE".into(),
        model: "AC-Pi".into(),
        serial_number: None,
    }
}

/// A station core and a scripted CSMS over a [`SimClock`], with a switch for the link.
pub struct Pair {
    /// The simulated clock both sides read.
    pub clock: SimClock,
    /// The station under test.
    pub station: Station,
    /// How the CSMS answers the station's CALLs.
    pub csms: Answer,
    /// Every CALL the station sent: (seconds since the start, action, payload).
    pub calls: Vec<(f64, String, Value)>,
    /// Every frame the station sent that was not a CALL (its answers to the CSMS).
    pub replies: Vec<Value>,
    /// Every event the station reported to its shell.
    pub events: Vec<Event>,
    /// Frames pass only while the link is up.
    pub online: bool,
}

impl Pair {
    /// A station with `settings` and the default device model, not yet connected, every
    /// connector Unavailable.
    pub fn new(settings: Settings, csms: Answer) -> Self {
        Self::with_model(
            settings,
            DeviceModel::new(&example_defaults(), &Default::default()),
            csms,
        )
    }

    /// As [`Pair::new`], with this device model.
    pub fn with_model(settings: Settings, device_model: DeviceModel, csms: Answer) -> Self {
        let clock = SimClock::at_a_fixed_date();
        let mut n: u64 = 0;
        let station = Station::new(
            settings,
            Arc::new(clock.clone()),
            Box::new(move || {
                n = n.saturating_add(1);
                format!("id-{n}")
            }),
            ConnectorStatus::Unavailable,
            Restorable::default(),
            device_model,
        );
        Self {
            clock,
            station,
            csms,
            calls: vec![],
            replies: vec![],
            events: vec![],
            online: false,
        }
    }

    /// Seconds since the start of the test, as the CALL log records them.
    pub fn elapsed(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    /// The link comes up in `version`; frames flow.
    pub fn connect(&mut self, version: OcppVersion) {
        self.online = true;
        let now = self.clock.now();
        self.station.handle_connected(now, version);
        self.exchange();
    }

    /// The link goes down.
    pub fn disconnect(&mut self) {
        self.online = false;
        let now = self.clock.now();
        self.station.handle_disconnected(now);
    }

    /// Delivers frames both ways until both sides are quiet; collects the station's events.
    pub fn exchange(&mut self) {
        while let Some(frame) = self.station.poll_transmit() {
            if !self.online {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(&frame) else {
                self.replies.push(Value::String(frame));
                continue;
            };
            let call = match (v.get(0), v.get(1), v.get(2), v.get(3)) {
                (
                    Some(kind),
                    Some(Value::String(id)),
                    Some(Value::String(action)),
                    Some(payload),
                ) if kind == 2 => Some((id.clone(), action.clone(), payload.clone())),
                _ => None,
            };
            let Some((id, action, payload)) = call else {
                self.replies.push(v);
                continue;
            };
            let t = self.elapsed();
            self.calls.push((t, action.clone(), payload.clone()));
            if let Some(answer) = (self.csms)(&action, &payload) {
                let now = self.clock.now();
                self.station
                    .handle_text(now, &json!([3, id, answer]).to_string());
            }
        }
        while let Some(e) = self.station.poll_event() {
            self.events.push(e);
        }
    }

    /// A frame from the CSMS; returns the station's answers to it.
    pub fn csms_sends(&mut self, text: &str) -> Vec<Value> {
        let before = self.replies.len();
        let now = self.clock.now();
        self.station.handle_text(now, text);
        self.exchange();
        self.replies.get(before..).unwrap_or_default().to_vec()
    }

    /// Runs the simulated clock forward by `d`, firing every timer on the way.
    pub fn run_for(&mut self, d: Duration) {
        let until = deadline::after(self.clock.now(), d);
        while let Some(t) = self.station.poll_timeout() {
            if t > until {
                break;
            }
            self.clock.set(t);
            let now = self.clock.now();
            self.station.handle_timeout(now);
            self.exchange();
        }
        self.clock.set(until);
        let now = self.clock.now();
        self.station.handle_timeout(now);
        self.exchange();
    }

    /// The actions of every CALL sent so far, in order.
    pub fn actions(&self) -> Vec<&str> {
        self.calls.iter().map(|(_, a, _)| a.as_str()).collect()
    }

    /// How many CALLs of `action` were sent.
    pub fn count(&self, action: &str) -> usize {
        self.calls.iter().filter(|(_, a, _)| a == action).count()
    }
}
