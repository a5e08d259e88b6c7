//! The health sampler task: measures the Pi every [`SAMPLE_PERIOD`] (or every
//! `OCPP_METRICS_SECONDS`, when that is shorter) off the protocol loop, publishes each
//! measurement with the health flags decided on it, and says when the metrics DataTransfer is due.

#![allow(
    clippy::disallowed_methods,
    reason = "shell task: it owns the clock that paces the sampler"
)]

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::deadline;
use crate::metrics::{
    Health, HealthChange, HealthMonitor, Sample, Sampler, SamplerPaths, Thresholds,
};

/// How often the machine is measured: often enough to catch a Pi heating up, rare enough to
/// cost nothing.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(30);

/// The sampler's latest word: the health flags and the sample they were decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub health: Health,
    pub sample: Sample,
}

/// What the sampler feeds the daemon.
pub struct HealthFeed {
    /// The latest measurement, `None` until the first. A watch channel: the reader gets the
    /// newest, and a reader that was busy misses nothing that still matters.
    latest: watch::Receiver<Option<Measured>>,
    /// The data of a `Metrics` DataTransfer that is due. Metrics are snapshots: one due while
    /// the previous is still unread is dropped, never queued up.
    metrics: mpsc::Receiver<serde_json::Value>,
}

/// What the sampler said.
#[derive(Debug)]
pub enum HealthInput {
    /// A measurement the reader has not seen yet (also one taken while it was away).
    Measured(Box<Measured>),
    /// The data of a `Metrics` DataTransfer that is due.
    Metrics(serde_json::Value),
}

impl HealthFeed {
    /// The sampler's next word; `None` once it stopped.
    pub async fn next(&mut self) -> Option<HealthInput> {
        loop {
            tokio::select! {
                changed = self.latest.changed() => {
                    changed.ok()?;
                    if let Some(measured) = self.latest.borrow_and_update().clone() {
                        return Some(HealthInput::Measured(Box::new(measured)));
                    }
                }
                data = self.metrics.recv() => return data.map(HealthInput::Metrics),
            }
        }
    }
}

/// Starts the sampler. The task ends when every receiver of the feed is dropped.
pub fn start(
    paths: SamplerPaths,
    thresholds: Thresholds,
    metrics_interval: Option<Duration>,
) -> HealthFeed {
    let (latest_sender, latest) = watch::channel(None);
    let (metrics_sender, metrics) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut sampler = Some(Sampler::new(paths));
        let mut monitor = HealthMonitor::new(thresholds);
        let mut next_metrics = metrics_interval.map(|d| deadline::after(Instant::now(), d));
        // Metrics more often than the sampling would send the same sample twice.
        let period = metrics_interval.map_or(SAMPLE_PERIOD, |d| d.min(SAMPLE_PERIOD));
        loop {
            // sysinfo reads /proc and statvfs: off the protocol loop's thread.
            let Some(mut owned) = sampler.take() else {
                return;
            };
            let Ok((back, sample)) = tokio::task::spawn_blocking(move || {
                let sample = owned.sample();
                (owned, sample)
            })
            .await
            else {
                tracing::warn!("the health sampler stopped");
                return;
            };
            sampler = Some(back);
            for change in monitor.update(&sample) {
                log(&change);
            }
            if let (Some(due), Some(interval)) = (next_metrics, metrics_interval)
                && Instant::now() >= due
            {
                next_metrics = Some(deadline::after(due, interval));
                let data = serde_json::to_value(&sample).unwrap_or_default();
                if let Err(mpsc::error::TrySendError::Closed(_)) = metrics_sender.try_send(data) {
                    return;
                }
            }
            let measured = Measured {
                health: monitor.current(),
                sample,
            };
            if latest_sender.send(Some(measured)).is_err() {
                return;
            }
            tokio::time::sleep(period).await;
        }
    });
    HealthFeed { latest, metrics }
}

fn log(change: &HealthChange) {
    match change {
        HealthChange::TooHot { temp_c } => {
            tracing::error!(
                temp_c,
                "the station is too hot to charge safely: connectors Faulted"
            )
        }
        HealthChange::CooledDown { temp_c } => tracing::info!(temp_c, "the station cooled down"),
        HealthChange::UnderVoltage => {
            tracing::warn!("the Raspberry Pi reports under-voltage: check its power supply")
        }
        HealthChange::VoltageRestored => tracing::info!("the supply voltage is back to normal"),
        HealthChange::DiskNearlyFull { percent, mount } => {
            tracing::warn!(percent, mount, "a disk is nearly full")
        }
        HealthChange::DiskOk => tracing::info!("disk use is back below the warning level"),
    }
}
