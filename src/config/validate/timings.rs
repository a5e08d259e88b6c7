//! The link's timers: heartbeat, reconnect back-off, pings, how long a CALL and `--once` may
//! take, and when an outage counts as long. The ranges are the device model's, so that the
//! CSMS and the env file are held to the same limits.

use std::time::Duration;

use super::values::number;
use crate::backoff::BackoffConfig;
use crate::config::error::ConfigError;
use crate::config::names::var;
use crate::device_model;

/// `OCPP_HEARTBEAT_SECONDS`: `None` for 0 (or unset), the env file's own "not set": the CSMS's
/// interval is used.
pub(super) fn heartbeat_override(value: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let heartbeat = number(
        var::HEARTBEAT_SECONDS,
        value,
        0,
        0..=*device_model::HEARTBEAT_INTERVAL_RANGE.end(),
        "seconds (0 = use the interval the CSMS sends)",
    )?;
    Ok((heartbeat > 0).then(|| Duration::from_secs(heartbeat)))
}

/// `OCPP_RETRY_BACKOFF_WAIT_MINIMUM`, `_RANDOM_RANGE`, `_REPEAT_TIMES`.
pub(super) fn backoff(
    wait_minimum: Option<String>,
    random_range: Option<String>,
    repeat_times: Option<String>,
) -> Result<BackoffConfig, ConfigError> {
    Ok(BackoffConfig {
        wait_minimum: Duration::from_secs(number(
            var::BACKOFF_WAIT_MINIMUM,
            wait_minimum,
            3,
            device_model::RETRY_BACKOFF_WAIT_MINIMUM_RANGE,
            "seconds",
        )?),
        random_range: Duration::from_secs(number(
            var::BACKOFF_RANDOM_RANGE,
            random_range,
            10,
            device_model::RETRY_BACKOFF_RANDOM_RANGE_RANGE,
            "seconds",
        )?),
        repeat_times: number(
            var::BACKOFF_REPEAT_TIMES,
            repeat_times,
            5,
            device_model::RETRY_BACKOFF_REPEAT_TIMES_RANGE,
            "doublings",
        )?,
    })
}

/// `OCPP_PING_SECONDS`: zero sends no pings.
pub(super) fn ping_interval(value: Option<String>) -> Result<Duration, ConfigError> {
    seconds(
        var::PING_SECONDS,
        value,
        30,
        device_model::WEBSOCKET_PING_INTERVAL_RANGE,
        "seconds (0 = send no pings)",
    )
}

/// `OCPP_CALL_TIMEOUT_SECONDS`.
pub(super) fn call_timeout(value: Option<String>) -> Result<Duration, ConfigError> {
    seconds(
        var::CALL_TIMEOUT_SECONDS,
        value,
        30,
        device_model::MESSAGE_TIMEOUT_RANGE,
        "seconds",
    )
}

/// `OCPP_OFFLINE_THRESHOLD_SECONDS`.
pub(super) fn offline_threshold(value: Option<String>) -> Result<Duration, ConfigError> {
    seconds(
        var::OFFLINE_THRESHOLD_SECONDS,
        value,
        600,
        device_model::OFFLINE_THRESHOLD_RANGE,
        "seconds",
    )
}

/// `OCPP_ONCE_TIMEOUT_SECONDS`.
pub(super) fn once_timeout(value: Option<String>) -> Result<Duration, ConfigError> {
    seconds(var::ONCE_TIMEOUT_SECONDS, value, 30, 1..=600, "seconds")
}

/// A whole number of seconds within `range`, `default` when unset.
fn seconds(
    var: &'static str,
    value: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<Duration, ConfigError> {
    number(var, value, default, range, unit).map(Duration::from_secs)
}
