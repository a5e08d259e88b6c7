//! Deciding from a series of [`Sample`]s when the station is too hot, under-powered or short of
//! disk space. Pure: no I/O, no clock; the caller feeds samples in order.
//!
//! Every flag has hysteresis so that a value hovering at a threshold produces one change when
//! it crosses and one when it has clearly gone back, not a message per sample.

use serde::{Deserialize, Serialize};

use super::Sample;

/// The fixed hysteresis of the disk warning, in percentage points: a 1 % swing of a log file
/// must not raise and clear the warning over and over.
pub const DISK_HYSTERESIS_PERCENT: f32 = 5.0;

/// When the flags are raised and cleared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Too hot at or above this SoC temperature (°C).
    pub temp_fault_c: f32,
    /// Too hot clears only below `temp_fault_c - temp_hysteresis_c`.
    pub temp_hysteresis_c: f32,
    /// Disk nearly full at or above this use of either filesystem (percent).
    pub disk_warn_percent: f32,
    /// Disk nearly full clears only below `disk_warn_percent - disk_hysteresis_percent`.
    pub disk_hysteresis_percent: f32,
}

impl Default for Thresholds {
    /// The configuration's defaults: 80 °C with 5 °C hysteresis, 90 % with 5 points.
    fn default() -> Self {
        Self {
            temp_fault_c: 80.0,
            temp_hysteresis_c: 5.0,
            disk_warn_percent: 90.0,
            disk_hysteresis_percent: DISK_HYSTERESIS_PERCENT,
        }
    }
}

/// The station's health flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health {
    /// The SoC is at or above the fault temperature (and has not cooled down yet).
    pub too_hot: bool,
    /// The Raspberry Pi firmware reports under-voltage now.
    pub under_voltage: bool,
    /// The root or the state filesystem is at or above the warning level.
    pub disk_nearly_full: bool,
}

impl Health {
    /// No flag raised.
    pub fn is_ok(&self) -> bool {
        *self == Health::default()
    }
}

/// A flag that changed, with the value that changed it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum HealthChange {
    /// The SoC reached the fault temperature.
    TooHot {
        /// The temperature that crossed it (°C).
        temp_c: f32,
    },
    /// The SoC cooled below the fault temperature minus the hysteresis.
    CooledDown {
        /// The temperature that crossed back (°C).
        temp_c: f32,
    },
    /// The firmware started reporting under-voltage.
    UnderVoltage,
    /// The firmware no longer reports under-voltage.
    VoltageRestored,
    /// A filesystem reached the warning level (the fuller one when both did at once).
    DiskNearlyFull {
        /// Its use (percent).
        percent: f32,
        /// `"/"` for the root filesystem, `"state"` for the one holding the state directory.
        mount: &'static str,
    },
    /// Every filesystem that was nearly full is below the warning level minus the hysteresis.
    DiskOk,
}

/// The mount names of [`HealthChange::DiskNearlyFull`].
const ROOT: &str = "/";
const STATE: &str = "state";

/// Turns samples into flag changes.
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    thresholds: Thresholds,
    health: Health,
    /// Per filesystem (root, state): whether it is over the warning level. Kept apart so that
    /// one filesystem going unmeasured does not clear a warning the other one raised.
    disk_full: [bool; 2],
}

impl HealthMonitor {
    /// A monitor with every flag clear.
    pub fn new(thresholds: Thresholds) -> Self {
        Self {
            thresholds,
            health: Health::default(),
            disk_full: [false; 2],
        }
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// The flags after the last sample.
    pub fn current(&self) -> Health {
        self.health
    }

    /// Takes the next sample and returns the flags it changed, in the order temperature,
    /// voltage, disk. A value the sample does not have (no thermal zone, not a Pi, a
    /// filesystem that could not be measured) leaves its flag as it was.
    pub fn update(&mut self, sample: &Sample) -> Vec<HealthChange> {
        let mut changes = Vec::new();
        let t = self.thresholds;

        if let Some(temp_c) = sample.soc_temp_c {
            if !self.health.too_hot && temp_c >= t.temp_fault_c {
                self.health.too_hot = true;
                changes.push(HealthChange::TooHot { temp_c });
            } else if self.health.too_hot && temp_c < t.temp_fault_c - t.temp_hysteresis_c {
                self.health.too_hot = false;
                changes.push(HealthChange::CooledDown { temp_c });
            }
        }

        if let Some(throttled) = sample.throttled
            && throttled.under_voltage != self.health.under_voltage
        {
            self.health.under_voltage = throttled.under_voltage;
            changes.push(if throttled.under_voltage {
                HealthChange::UnderVoltage
            } else {
                HealthChange::VoltageRestored
            });
        }

        let mut newly_full: Option<(f32, &'static str)> = None;
        let [root_full, state_full] = &mut self.disk_full;
        for (full, disk, mount) in [
            (root_full, sample.disk_root, ROOT),
            (state_full, sample.disk_state, STATE),
        ] {
            let Some(disk) = disk else { continue };
            if !*full && disk.percent >= t.disk_warn_percent {
                *full = true;
                if newly_full.is_none_or(|(percent, _)| disk.percent > percent) {
                    newly_full = Some((disk.percent, mount));
                }
            } else if *full && disk.percent < t.disk_warn_percent - t.disk_hysteresis_percent {
                *full = false;
            }
        }
        let disk_nearly_full = self.disk_full.iter().any(|full| *full);
        if disk_nearly_full != self.health.disk_nearly_full {
            self.health.disk_nearly_full = disk_nearly_full;
            changes.push(match newly_full {
                Some((percent, mount)) => HealthChange::DiskNearlyFull { percent, mount },
                None => HealthChange::DiskOk,
            });
        }
        changes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::health::{DiskUse, Throttled};

    fn quiet() -> Sample {
        Sample {
            cpu_percent: 5.0,
            load_average: [0.1, 0.1, 0.1],
            memory_used_bytes: 100,
            memory_total_bytes: 1000,
            soc_temp_c: None,
            disk_root: None,
            disk_state: None,
            uptime_seconds: 60,
            throttled: None,
            process_rss_bytes: None,
        }
    }

    fn temp(c: f32) -> Sample {
        Sample {
            soc_temp_c: Some(c),
            ..quiet()
        }
    }

    fn disk(percent: f32) -> DiskUse {
        DiskUse {
            used_bytes: 0,
            total_bytes: 100,
            percent,
        }
    }

    fn disks(root: Option<f32>, state: Option<f32>) -> Sample {
        Sample {
            disk_root: root.map(disk),
            disk_state: state.map(disk),
            ..quiet()
        }
    }

    fn voltage(raw: u32) -> Sample {
        Sample {
            throttled: Some(Throttled::from_raw(raw)),
            ..quiet()
        }
    }

    fn monitor() -> HealthMonitor {
        HealthMonitor::new(Thresholds::default())
    }

    /// Every change over the sequence, flattened.
    fn run(monitor: &mut HealthMonitor, samples: &[Sample]) -> Vec<HealthChange> {
        samples.iter().flat_map(|s| monitor.update(s)).collect()
    }

    #[test]
    fn starts_healthy() {
        let m = monitor();
        assert_eq!(m.current(), Health::default());
        assert!(m.current().is_ok());
        assert_eq!(*m.thresholds(), Thresholds::default());
    }

    #[test]
    fn too_hot_at_the_threshold_and_cooled_only_below_the_hysteresis() {
        let mut m = monitor();
        assert_eq!(m.update(&temp(79.9)), []);
        assert_eq!(
            m.update(&temp(80.0)),
            [HealthChange::TooHot { temp_c: 80.0 }]
        );
        assert!(m.current().too_hot);
        assert_eq!(m.update(&temp(90.0)), []);
        assert_eq!(m.update(&temp(75.0)), [], "75 is not below 80 - 5");
        assert!(m.current().too_hot);
        assert_eq!(
            m.update(&temp(74.9)),
            [HealthChange::CooledDown { temp_c: 74.9 }]
        );
        assert!(!m.current().too_hot);
    }

    #[test]
    fn flapping_around_the_temperature_threshold_is_one_change_each_way() {
        let mut m = monitor();
        let flapping: Vec<Sample> = [79.5, 80.5, 79.0, 80.1, 78.0, 81.0, 76.0, 80.0, 77.0]
            .into_iter()
            .map(temp)
            .collect();
        assert_eq!(
            run(&mut m, &flapping),
            [HealthChange::TooHot { temp_c: 80.5 }]
        );
        let recovering: Vec<Sample> = [74.0, 76.0, 79.9, 74.5, 70.0]
            .into_iter()
            .map(temp)
            .collect();
        assert_eq!(
            run(&mut m, &recovering),
            [HealthChange::CooledDown { temp_c: 74.0 }]
        );
    }

    #[test]
    fn a_missing_temperature_changes_nothing() {
        let mut m = monitor();
        m.update(&temp(85.0));
        assert_eq!(run(&mut m, &[quiet(), quiet()]), []);
        assert!(m.current().too_hot, "no reading is not a cool reading");
        let mut m = monitor();
        assert_eq!(m.update(&quiet()), []);
        assert!(!m.current().too_hot);
    }

    #[test]
    fn other_thresholds_are_honoured() {
        let mut m = HealthMonitor::new(Thresholds {
            temp_fault_c: 60.0,
            temp_hysteresis_c: 10.0,
            disk_warn_percent: 50.0,
            disk_hysteresis_percent: 5.0,
        });
        assert_eq!(
            run(&mut m, &[temp(60.0), temp(51.0), temp(49.9)]),
            [
                HealthChange::TooHot { temp_c: 60.0 },
                HealthChange::CooledDown { temp_c: 49.9 }
            ]
        );
        assert_eq!(
            m.update(&disks(Some(50.0), None)),
            [HealthChange::DiskNearlyFull {
                percent: 50.0,
                mount: "/"
            }]
        );
    }

    #[test]
    fn under_voltage_follows_the_now_bit_only() {
        let mut m = monitor();
        assert_eq!(m.update(&voltage(0x50000)), [], "only in the past");
        assert_eq!(m.update(&voltage(0x50005)), [HealthChange::UnderVoltage]);
        assert!(m.current().under_voltage);
        assert_eq!(m.update(&voltage(0x50001)), []);
        assert_eq!(m.update(&quiet()), [], "not a reading: nothing changes");
        assert!(m.current().under_voltage);
        assert_eq!(m.update(&voltage(0x50000)), [HealthChange::VoltageRestored]);
        assert!(!m.current().under_voltage);
        // Throttling and the temperature limit are not under-voltage.
        assert_eq!(m.update(&voltage(0b1110)), []);
    }

    #[test]
    fn disk_warning_with_hysteresis() {
        let mut m = monitor();
        assert_eq!(m.update(&disks(Some(89.9), Some(10.0))), []);
        assert_eq!(
            m.update(&disks(Some(90.0), Some(10.0))),
            [HealthChange::DiskNearlyFull {
                percent: 90.0,
                mount: "/"
            }]
        );
        assert!(m.current().disk_nearly_full);
        assert_eq!(
            run(
                &mut m,
                &[
                    disks(Some(89.0), Some(10.0)),
                    disks(Some(91.0), Some(10.0)),
                    disks(Some(85.0), Some(10.0)),
                ]
            ),
            []
        );
        assert_eq!(
            m.update(&disks(Some(84.9), Some(10.0))),
            [HealthChange::DiskOk]
        );
        assert!(!m.current().disk_nearly_full);
    }

    #[test]
    fn flapping_disk_use_is_one_change_each_way() {
        let mut m = monitor();
        let samples: Vec<Sample> = [88.0, 90.5, 89.5, 90.2, 86.0, 92.0, 84.0, 89.0, 90.0, 84.5]
            .into_iter()
            .map(|p| disks(None, Some(p)))
            .collect();
        assert_eq!(
            run(&mut m, &samples),
            [
                HealthChange::DiskNearlyFull {
                    percent: 90.5,
                    mount: "state"
                },
                HealthChange::DiskOk,
                HealthChange::DiskNearlyFull {
                    percent: 90.0,
                    mount: "state"
                },
                HealthChange::DiskOk,
            ]
        );
    }

    #[test]
    fn either_disk_raises_the_warning_and_both_must_recover() {
        let mut m = monitor();
        assert_eq!(
            m.update(&disks(Some(50.0), Some(95.0))),
            [HealthChange::DiskNearlyFull {
                percent: 95.0,
                mount: "state"
            }]
        );
        // The root filling up too is no new change: the warning is already raised.
        assert_eq!(m.update(&disks(Some(93.0), Some(95.0))), []);
        assert_eq!(
            m.update(&disks(Some(93.0), Some(50.0))),
            [],
            "root still full"
        );
        assert_eq!(
            m.update(&disks(Some(60.0), Some(50.0))),
            [HealthChange::DiskOk]
        );

        // Both at once: the fuller one is named.
        assert_eq!(
            m.update(&disks(Some(97.0), Some(92.0))),
            [HealthChange::DiskNearlyFull {
                percent: 97.0,
                mount: "/"
            }]
        );
    }

    #[test]
    fn an_unmeasured_disk_neither_raises_nor_clears() {
        let mut m = monitor();
        m.update(&disks(Some(95.0), Some(10.0)));
        // The root goes unmeasured while the state filesystem is fine: still nearly full.
        assert_eq!(run(&mut m, &[disks(None, Some(10.0)), quiet()]), []);
        assert!(m.current().disk_nearly_full);
        assert_eq!(m.update(&disks(Some(10.0), None)), [HealthChange::DiskOk]);
    }

    #[test]
    fn several_flags_change_in_one_sample_in_a_fixed_order() {
        let mut m = monitor();
        let bad = Sample {
            soc_temp_c: Some(85.0),
            throttled: Some(Throttled::from_raw(1)),
            disk_root: Some(disk(99.0)),
            ..quiet()
        };
        assert_eq!(
            m.update(&bad),
            [
                HealthChange::TooHot { temp_c: 85.0 },
                HealthChange::UnderVoltage,
                HealthChange::DiskNearlyFull {
                    percent: 99.0,
                    mount: "/"
                }
            ]
        );
        assert_eq!(
            m.current(),
            Health {
                too_hot: true,
                under_voltage: true,
                disk_nearly_full: true
            }
        );
        assert!(!m.current().is_ok());
        let good = Sample {
            soc_temp_c: Some(40.0),
            throttled: Some(Throttled::from_raw(0x10000)),
            disk_root: Some(disk(20.0)),
            ..quiet()
        };
        assert_eq!(
            m.update(&good),
            [
                HealthChange::CooledDown { temp_c: 40.0 },
                HealthChange::VoltageRestored,
                HealthChange::DiskOk
            ]
        );
        assert!(m.current().is_ok());
    }

    #[test]
    fn health_serializes_as_three_booleans() {
        let json = serde_json::to_value(Health {
            too_hot: true,
            ..Health::default()
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"too_hot": true, "under_voltage": false, "disk_nearly_full": false})
        );
    }
}
