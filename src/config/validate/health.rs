//! The Pi's own health: when it reports itself too hot or short of disk space, and how often
//! its measurements go to the CSMS.

use std::time::Duration;

use super::values::number;
use crate::config::error::{ConfigError, invalid};
use crate::config::names::var;
use crate::metrics::Thresholds;
use crate::metrics::monitor::DISK_HYSTERESIS_PERCENT;

/// The shortest `OCPP_METRICS_SECONDS` other than 0: more often only loads the CSMS.
const MIN_METRICS_SECONDS: u64 = 10;

/// `OCPP_TEMP_FAULT_C`, `OCPP_TEMP_HYSTERESIS_C`, `OCPP_DISK_WARN_PERCENT`; the disk warning's
/// hysteresis is fixed ([`DISK_HYSTERESIS_PERCENT`]).
pub(super) fn thresholds(
    temp_fault_c: Option<String>,
    temp_hysteresis_c: Option<String>,
    disk_warn_percent: Option<String>,
) -> Result<Thresholds, ConfigError> {
    Ok(Thresholds {
        temp_fault_c: number::<u64>(
            var::TEMP_FAULT_C,
            temp_fault_c,
            80,
            40..=120,
            "degrees Celsius",
        )? as f32,
        temp_hysteresis_c: number::<u64>(
            var::TEMP_HYSTERESIS_C,
            temp_hysteresis_c,
            5,
            1..=30,
            "degrees Celsius",
        )? as f32,
        disk_warn_percent: number::<u64>(
            var::DISK_WARN_PERCENT,
            disk_warn_percent,
            90,
            50..=99,
            "percent",
        )? as f32,
        disk_hysteresis_percent: DISK_HYSTERESIS_PERCENT,
    })
}

/// `OCPP_METRICS_SECONDS`: `None` (never) for 0.
pub(super) fn metrics_interval(value: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let metrics_seconds = metrics_seconds(value)?;
    Ok((metrics_seconds > 0).then(|| Duration::from_secs(metrics_seconds)))
}

/// `OCPP_METRICS_SECONDS`: 0 (never) or from [`MIN_METRICS_SECONDS`] to a day; 900 when unset.
fn metrics_seconds(value: Option<String>) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(900);
    };
    match value.parse::<u64>() {
        Ok(0) => Ok(0),
        Ok(n) if (MIN_METRICS_SECONDS..=86_400).contains(&n) => Ok(n),
        _ => Err(invalid(
            var::METRICS_SECONDS,
            &value,
            "0 (send no metrics) or a whole number of seconds from 10 to 86400",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn metrics_can_be_switched_off_but_not_sent_too_often() {
        assert_eq!(
            with(&[("OCPP_METRICS_SECONDS", "0")])
                .unwrap()
                .metrics_interval,
            None
        );
        assert!(
            with(&[("OCPP_METRICS_SECONDS", "0")])
                .unwrap()
                .summary()
                .contains("metrics to CSMS:     off")
        );
        for bad in ["5", "abc"] {
            assert_eq!(
                with(&[("OCPP_METRICS_SECONDS", bad)])
                    .unwrap_err()
                    .to_string(),
                format!(
                    "OCPP_METRICS_SECONDS='{bad}' is not valid: expected 0 (send no metrics) or \
                     a whole number of seconds from 10 to 86400"
                )
            );
        }
    }
}
