//! The health sampler task: measures the Pi every [`SAMPLE_PERIOD`] off the protocol loop,
//! tells the station when its health changes, and when the metrics DataTransfer is due.

#![allow(
    clippy::disallowed_methods,
    reason = "shell task: it owns the clock that paces the sampler"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::metrics::{
    Health, HealthChange, HealthMonitor, Sample, Sampler, SamplerPaths, Thresholds,
};

/// How often the machine is measured: often enough to catch a Pi heating up, rare enough to
/// cost nothing.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(30);

/// What the sampler tells the station.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthInput {
    /// The health flags changed.
    Health(Health),
    /// The metrics DataTransfer is due, with this data.
    Metrics(serde_json::Value),
}

/// The latest sample, shared with the status file.
pub type LatestSample = Arc<Mutex<Option<Sample>>>;

/// Starts the sampler; returns its channel and the shared latest sample. The task ends when
/// the receiver is dropped.
pub fn start(
    paths: SamplerPaths,
    thresholds: Thresholds,
    metrics_interval: Option<Duration>,
) -> (mpsc::Receiver<HealthInput>, LatestSample) {
    let (sender, receiver) = mpsc::channel(4);
    let latest: LatestSample = Arc::new(Mutex::new(None));
    let shared = latest.clone();
    tokio::spawn(async move {
        let mut sampler = Some(Sampler::new(paths));
        let mut monitor = HealthMonitor::new(thresholds);
        let mut next_metrics = metrics_interval.map(|d| Instant::now() + d);
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
            *shared.lock().unwrap_or_else(|e| e.into_inner()) = Some(sample.clone());
            if sender
                .send(HealthInput::Health(monitor.current()))
                .await
                .is_err()
            {
                return;
            }
            if let (Some(due), Some(interval)) = (next_metrics, metrics_interval)
                && Instant::now() >= due
            {
                next_metrics = Some(due + interval);
                let data = serde_json::to_value(&sample).unwrap_or_default();
                if sender.send(HealthInput::Metrics(data)).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(SAMPLE_PERIOD).await;
        }
    });
    (receiver, latest)
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
