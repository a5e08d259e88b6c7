//! The Raspberry Pi's own health: what one measurement holds ([`Sample`]: CPU, memory, load, SoC
//! temperature, the two filesystems the station depends on, the firmware's throttling flags and
//! the station's own memory), and [`monitor`], which decides from a series of samples when the
//! station is too hot, under-powered or short of disk. The shell measures; what is measured and
//! what the CSMS sees is described in `docs/health.md`.

pub mod monitor;

use serde::{Deserialize, Serialize};

pub use monitor::{Health, HealthChange, HealthMonitor, Thresholds};

/// One measurement of the machine. Its JSON form is the `data` of the `Metrics` DataTransfer and
/// the `metrics` object of the status file (`schemas/station-status.schema.json`); a value that
/// could not be measured is left out, never sent as 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// CPU busy time across all cores since the previous sample, in percent (0 to 100).
    pub cpu_percent: f32,
    /// The kernel's 1, 5 and 15 minute load averages.
    pub load_average: [f64; 3],
    /// Memory in use: total minus what the kernel reports as available.
    pub memory_used_bytes: u64,
    /// Installed memory as the kernel sees it.
    pub memory_total_bytes: u64,
    /// SoC temperature in °C; absent on machines without a thermal zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc_temp_c: Option<f32>,
    /// The root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_root: Option<DiskUse>,
    /// The filesystem holding the state directory (`OCPP_STATE_DIR`); the same numbers as
    /// `disk_root` when both are on one filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_state: Option<DiskUse>,
    /// Seconds since the machine booted.
    pub uptime_seconds: u64,
    /// The Raspberry Pi firmware's power and throttling flags; absent on other machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled: Option<Throttled>,
    /// Resident memory of the station process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_rss_bytes: Option<u64>,
}

/// How full one filesystem is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiskUse {
    /// Total minus what an unprivileged program may still write: the blocks ext4 reserves for
    /// root count as used, so this reads a few points higher than `df`.
    pub used_bytes: u64,
    /// The filesystem's size.
    pub total_bytes: u64,
    /// `used_bytes` of `total_bytes`, in percent.
    pub percent: f32,
}

impl DiskUse {
    /// The use of a filesystem of `total_bytes` with `available_bytes` left; `None` for a
    /// filesystem without a size (pseudo filesystems report 0).
    pub fn from_space(total_bytes: u64, available_bytes: u64) -> Option<Self> {
        if total_bytes == 0 {
            return None;
        }
        let used_bytes = total_bytes.saturating_sub(available_bytes);
        // f64 keeps the ratio exact enough for terabyte disks before it is rounded to f32.
        let percent = (used_bytes as f64 * 100.0 / total_bytes as f64) as f32;
        Some(Self {
            used_bytes,
            total_bytes,
            percent,
        })
    }
}

/// The Raspberry Pi firmware's `get_throttled` bit field, decoded. "Now" flags describe the
/// present moment, "occurred" flags whether it happened at any time since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttled {
    /// The bit field as the firmware reports it.
    pub raw: u32,
    /// Bit 0: the supply is below about 4.63 V now.
    pub under_voltage: bool,
    /// Bit 1: the ARM frequency is capped now.
    pub frequency_capped: bool,
    /// Bit 2: the CPU is throttled now.
    pub throttled: bool,
    /// Bit 3: the soft temperature limit is active now.
    pub soft_temp_limit: bool,
    /// Bit 16: under-voltage has occurred since boot.
    pub under_voltage_occurred: bool,
    /// Bit 17: frequency capping has occurred since boot.
    pub frequency_capping_occurred: bool,
    /// Bit 18: throttling has occurred since boot.
    pub throttling_occurred: bool,
    /// Bit 19: the soft temperature limit has been reached since boot.
    pub soft_temp_limit_occurred: bool,
}

impl Throttled {
    /// Decodes the firmware's bit field.
    pub fn from_raw(raw: u32) -> Self {
        let bit = |n: u32| raw & (1 << n) != 0;
        Self {
            raw,
            under_voltage: bit(0),
            frequency_capped: bit(1),
            throttled: bit(2),
            soft_temp_limit: bit(3),
            under_voltage_occurred: bit(16),
            frequency_capping_occurred: bit(17),
            throttling_occurred: bit(18),
            soft_temp_limit_occurred: bit(19),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn throttled_bits_decode() {
        let none = Throttled::from_raw(0);
        assert_eq!(
            none,
            Throttled {
                raw: 0,
                under_voltage: false,
                frequency_capped: false,
                throttled: false,
                soft_temp_limit: false,
                under_voltage_occurred: false,
                frequency_capping_occurred: false,
                throttling_occurred: false,
                soft_temp_limit_occurred: false,
            }
        );
        // The classic weak power supply: under-voltage and throttling now and since boot.
        let weak = Throttled::from_raw(0x50005);
        assert!(weak.under_voltage && weak.throttled);
        assert!(!weak.frequency_capped && !weak.soft_temp_limit);
        assert!(weak.under_voltage_occurred && weak.throttling_occurred);
        assert!(!weak.frequency_capping_occurred && !weak.soft_temp_limit_occurred);
        // Recovered: only the "since boot" half is left.
        let past = Throttled::from_raw(0x50000);
        assert!(!past.under_voltage && past.under_voltage_occurred);
        let all = Throttled::from_raw(0x000f_000f);
        assert!(
            all.under_voltage
                && all.frequency_capped
                && all.throttled
                && all.soft_temp_limit
                && all.under_voltage_occurred
                && all.frequency_capping_occurred
                && all.throttling_occurred
                && all.soft_temp_limit_occurred
        );
        // Bits the firmware may add later are kept in raw and otherwise ignored.
        let other = Throttled::from_raw(0xfff0_fff0);
        assert_eq!(other.raw, 0xfff0_fff0);
        assert!(!other.under_voltage && !other.under_voltage_occurred);
    }

    #[test]
    fn disk_use_from_space() {
        let half = DiskUse::from_space(1000, 500).unwrap();
        assert_eq!((half.used_bytes, half.total_bytes), (500, 1000));
        assert!((half.percent - 50.0).abs() < 1e-4);
        assert_eq!(DiskUse::from_space(0, 0), None);
        // More available than total (a filesystem reporting oddly) is empty, not a wrap-around.
        assert_eq!(DiskUse::from_space(100, 200).unwrap().used_bytes, 0);
        let big = DiskUse::from_space(4 << 40, 1 << 40).unwrap();
        assert!((big.percent - 75.0).abs() < 1e-4);
    }

    fn sample() -> Sample {
        Sample {
            cpu_percent: 12.5,
            load_average: [0.5, 0.25, 0.125],
            memory_used_bytes: 300 << 20,
            memory_total_bytes: 4 << 30,
            soc_temp_c: None,
            disk_root: DiskUse::from_space(1000, 100),
            disk_state: None,
            uptime_seconds: 3600,
            throttled: None,
            process_rss_bytes: None,
        }
    }

    #[test]
    fn absent_values_are_left_out_of_the_json_not_zero_or_null() {
        let json = serde_json::to_value(sample()).unwrap();
        let object = json.as_object().unwrap();
        for absent in ["soc_temp_c", "disk_state", "throttled", "process_rss_bytes"] {
            assert!(!object.contains_key(absent), "{absent}: {json}");
        }
        assert_eq!(json["cpu_percent"], 12.5);
        assert_eq!(json["disk_root"]["used_bytes"], 900);
        assert!(!json.to_string().contains("null"), "{json}");
    }

    #[test]
    fn a_sample_survives_a_json_round_trip() {
        let mut full = sample();
        full.soc_temp_c = Some(51.5);
        full.disk_state = DiskUse::from_space(2000, 1500);
        full.throttled = Some(Throttled::from_raw(0x50005));
        full.process_rss_bytes = Some(12 << 20);
        for s in [sample(), full] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Sample>(&text).unwrap(), s);
        }
    }
}
