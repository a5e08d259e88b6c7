//! Keeps `status.json` current: built from the station core, the link, the charge controller
//! and the latest health sample; written when something changed, and at least every
//! [`REFRESH`] so that `updated_utc` shows the daemon is alive.

#![allow(
    clippy::disallowed_methods,
    reason = "shell: it stamps the file with the wall clock and paces rewrites"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::clock::{SystemClock, WallClock, format_timestamp};
use crate::esp32::port::SnapshotHandle;
use crate::ocpp::ConnectorStatus;
use crate::station::Station;
use crate::status_file::{self, ConnectorState, LinkStatus, StationStatus};

/// The longest the file goes without a rewrite while the daemon runs.
pub const REFRESH: Duration = Duration::from_secs(60);

/// Writes the status file for the daemon.
pub struct StatusWriter {
    dir: PathBuf,
    station_name: String,
    controller: Option<SnapshotHandle>,
    /// What was last written, without its timestamp.
    last: Option<String>,
    last_at: Option<Instant>,
    failure_logged: bool,
}

impl StatusWriter {
    /// A writer for `dir` (OCPP_RUNTIME_DIR).
    pub fn new(dir: PathBuf, station_name: String, controller: Option<SnapshotHandle>) -> Self {
        Self {
            dir,
            station_name,
            controller,
            last: None,
            last_at: None,
            failure_logged: false,
        }
    }

    /// Rewrites the file if anything changed or it is due for a refresh. Never fails: a
    /// problem is logged once and the station keeps running.
    pub fn update(&mut self, station: &Station, link: &LinkStatus) {
        let mut status = StationStatus {
            format: status_file::FORMAT,
            pid: std::process::id(),
            station_name: self.station_name.clone(),
            updated_utc: String::new(),
            link: link.clone(),
            registration: station.registration().map(|r| r.to_string()),
            last_heartbeat_utc: station.last_heartbeat_utc().map(format_timestamp),
            missed_heartbeats: station.missed_heartbeats(),
            connectors: station
                .connectors()
                .filter_map(|c| {
                    let status = station.connector_status(c)?;
                    let cause = match &status {
                        ConnectorStatus::Faulted(fault) => {
                            Some(fault.info.clone().unwrap_or_else(|| fault.tech_code()))
                        }
                        _ => None,
                    };
                    Some(ConnectorState {
                        connector: c,
                        status: status.name().to_owned(),
                        cause,
                    })
                })
                .collect(),
            controller: self.controller.as_ref().and_then(|c| {
                let snapshot = c.lock().unwrap_or_else(|e| e.into_inner()).clone();
                serde_json::to_value(snapshot).ok()
            }),
            health: station.health(),
            metrics: station.latest_sample().cloned(),
        };
        let content = serde_json::to_string(&status).unwrap_or_default();
        let due = self.last_at.is_none_or(|at| at.elapsed() >= REFRESH);
        if !due && self.last.as_deref() == Some(content.as_str()) {
            return;
        }
        status.updated_utc = format_timestamp(SystemClock.now_utc());
        match status_file::write(&self.dir, &status) {
            Ok(()) => {
                self.last = Some(content);
                self.last_at = Some(Instant::now());
                self.failure_logged = false;
            }
            Err(error) if !self.failure_logged => {
                self.failure_logged = true;
                tracing::warn!(dir = %self.dir.display(), "cannot write the status file: {error}");
            }
            Err(_) => {}
        }
    }

    /// Removes the file on a clean stop: no status file means "not running".
    pub fn remove(&self) {
        if let Err(error) = status_file::remove(&self.dir) {
            tracing::debug!("could not remove the status file: {error}");
        }
    }
}
