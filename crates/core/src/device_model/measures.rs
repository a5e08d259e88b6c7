//! The read-only `StationHealth` variables: the Raspberry Pi's latest health sample, so that a
//! 2.0.1 CSMS sees it with GetVariables and GetBaseReport(FullInventory) between the periodic
//! `Metrics` DataTransfers.
//!
//! `StationHealth` is a custom component (OCPP 2.0.1 Part 1 allows them): the standardized
//! components have no variables for a controller board's CPU, memory or disks. The names and
//! units are documented in `docs/health.md`.

use crate::health::{DiskUse, Sample};

/// The custom component that holds the health variables.
pub(crate) const COMPONENT: &str = "StationHealth";

/// One measured value of a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// CPU busy time in percent.
    CpuLoad,
    /// The 1, 5 or 15 minute load average (index 0, 1, 2).
    LoadAverage(usize),
    MemoryUsed,
    MemoryTotal,
    /// SoC temperature.
    Temperature,
    /// Use of the root filesystem, in percent.
    DiskRoot,
    /// Use of the state directory's filesystem, in percent.
    DiskState,
    Uptime,
    /// The Pi firmware reports under-voltage now.
    UnderVoltage,
    /// The Pi firmware throttles the CPU now.
    Throttled,
    /// Resident memory of the station process.
    ProcessMemory,
}

impl Measure {
    /// The value as OCPP text; `None` when the sample lacks it (no thermal zone, not a
    /// Raspberry Pi, a filesystem that could not be measured).
    pub(crate) fn read(self, sample: &Sample) -> Option<String> {
        let percent = |disk: Option<DiskUse>| disk.and_then(|d| decimal(d.percent.into(), 1));
        match self {
            Measure::CpuLoad => decimal(sample.cpu_percent.into(), 1),
            Measure::LoadAverage(i) => sample.load_average.get(i).and_then(|&l| decimal(l, 2)),
            Measure::MemoryUsed => Some(sample.memory_used_bytes.to_string()),
            Measure::MemoryTotal => Some(sample.memory_total_bytes.to_string()),
            Measure::Temperature => sample.soc_temp_c.and_then(|t| decimal(t.into(), 1)),
            Measure::DiskRoot => percent(sample.disk_root),
            Measure::DiskState => percent(sample.disk_state),
            Measure::Uptime => Some(sample.uptime_seconds.to_string()),
            Measure::UnderVoltage => sample.throttled.map(|t| t.under_voltage.to_string()),
            Measure::Throttled => sample.throttled.map(|t| t.throttled.to_string()),
            Measure::ProcessMemory => sample.process_rss_bytes.map(|b| b.to_string()),
        }
    }
}

/// A decimal with `places` fractional digits. A value that is not a number (a sensor gone
/// wrong) reads as absent rather than as "NaN", which is not an OCPP decimal.
fn decimal(value: f64, places: usize) -> Option<String> {
    value.is_finite().then(|| format!("{value:.places$}"))
}
