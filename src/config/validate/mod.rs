//! Validation: each variable's text becomes a typed value, or an error naming the variable.
//!
//! One module per area (`identity`: the station and the CSMS URLs; `auth`: passwords, TLS
//! files and what they require of the URLs; `timings`: the link's timers; `health`: the Pi's
//! thresholds and metrics; `controller`: the ESP32's serial link; `values`: the rules every
//! kind of value follows). [`validate`] calls them in a fixed order: the first problem found is
//! the one reported, and the warnings keep that order.

mod auth;
mod controller;
mod health;
mod identity;
mod timings;
mod values;

use std::path::PathBuf;

use super::error::ConfigError;
use super::load::{Given, RawVars};
use super::model::Config;
use super::names::var;

pub(super) use controller::controller;
use values::{absolute_dir, boolean};

/// Default `OCPP_STATE_DIR`.
const DEFAULT_STATE_DIR: &str = "/var/lib/ocpp-station";
/// Default `OCPP_RUNTIME_DIR`: on tmpfs, so the status file never outlives a reboot.
const DEFAULT_RUNTIME_DIR: &str = "/run/ocpp-station";

/// The [`Config`] the `OCPP_*` variables describe (the controller is added by the caller), with
/// `warnings` and the ones found here.
pub(super) fn validate(
    raw: RawVars,
    mut warnings: Vec<String>,
    given: &Given<'_>,
) -> Result<Config, ConfigError> {
    let RawVars {
        station_name,
        station_password,
        primary,
        url_201,
        url_16,
        allow_fallback,
        heartbeat_seconds,
        auth_type,
        ca_path,
        mtls_ca_path,
        mtls_cert_path,
        mtls_key_path,
        vendor,
        model,
        serial_number,
        firmware_version,
        connectors,
        retry_backoff_wait_minimum,
        retry_backoff_random_range,
        retry_backoff_repeat_times,
        ping_seconds,
        call_timeout_seconds,
        boot_on_reconnect,
        offline_threshold_seconds,
        once_timeout_seconds,
        state_dir,
        temp_fault_c,
        temp_hysteresis_c,
        disk_warn_percent,
        metrics_seconds,
        runtime_dir: runtime,
    } = raw;

    let station_name = identity::station_name(station_name, given)?;
    let auth = auth::mode(auth_type)?;
    let endpoints = identity::endpoints(
        url_201,
        url_16,
        primary,
        allow_fallback,
        given,
        &mut warnings,
    )?;
    let password = auth::password(auth, station_password, given, &mut warnings)?;
    auth::check_urls(auth, password.as_ref(), &endpoints, given, &mut warnings)?;
    let ca_path = auth::ca_path(ca_path, mtls_ca_path)?;
    let (client_cert_path, client_key_path) =
        auth::client_certificate(auth, mtls_cert_path, mtls_key_path, given, &mut warnings)?;
    let boot_info = identity::boot_info(vendor, model, serial_number, firmware_version)?;
    let heartbeat_override = timings::heartbeat_override(heartbeat_seconds)?;
    let connectors = identity::connectors(connectors)?;
    let backoff = timings::backoff(
        retry_backoff_wait_minimum,
        retry_backoff_random_range,
        retry_backoff_repeat_times,
    )?;
    let ping_interval = timings::ping_interval(ping_seconds)?;
    let call_timeout = timings::call_timeout(call_timeout_seconds)?;
    let offline_threshold = timings::offline_threshold(offline_threshold_seconds)?;
    let once_timeout = timings::once_timeout(once_timeout_seconds)?;
    let state_dir = absolute_dir(var::STATE_DIR, state_dir, DEFAULT_STATE_DIR)?;
    let health = health::thresholds(temp_fault_c, temp_hysteresis_c, disk_warn_percent)?;
    let metrics_interval = health::metrics_interval(metrics_seconds)?;
    let runtime_dir = runtime_dir(runtime)?;
    let boot_on_reconnect = boolean(var::BOOT_ON_RECONNECT, boot_on_reconnect, false)?;

    Ok(Config {
        station_name,
        password,
        primary: endpoints.primary,
        url_201: endpoints.url_201,
        url_16: endpoints.url_16,
        allow_fallback: endpoints.allow_fallback,
        heartbeat_override,
        auth,
        ca_path,
        client_cert_path,
        client_key_path,
        boot_info,
        connectors,
        backoff,
        ping_interval,
        call_timeout,
        boot_on_reconnect,
        offline_threshold,
        once_timeout,
        state_dir,
        health,
        metrics_interval,
        runtime_dir,
        controller: None,
        warnings,
    })
}

/// `OCPP_RUNTIME_DIR`: an absolute path, [`DEFAULT_RUNTIME_DIR`] when unset.
pub(super) fn runtime_dir(value: Option<String>) -> Result<PathBuf, ConfigError> {
    absolute_dir(var::RUNTIME_DIR, value, DEFAULT_RUNTIME_DIR)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use crate::config::testing::*;

    #[test]
    fn the_state_directory_must_be_absolute() {
        let cfg = with(&[("OCPP_STATE_DIR", "/srv/ocpp-state/")]).unwrap();
        assert_eq!(cfg.state_dir, PathBuf::from("/srv/ocpp-state/"));
        assert!(
            cfg.summary()
                .contains("state directory:     /srv/ocpp-state/")
        );
        for bad in ["state", "./state", "~/state"] {
            assert_eq!(invalid_var(&[("OCPP_STATE_DIR", bad)]), "OCPP_STATE_DIR");
        }
    }

    #[test]
    fn the_runtime_directory_must_be_absolute() {
        let cfg = with(&[("OCPP_RUNTIME_DIR", "/var/run/ocpp")]).unwrap();
        assert_eq!(cfg.runtime_dir, PathBuf::from("/var/run/ocpp"));
        assert!(cfg.summary().contains("runtime directory:   /var/run/ocpp"));
        for bad in ["run", "./run", "~/run"] {
            assert_eq!(
                invalid_var(&[("OCPP_RUNTIME_DIR", bad)]),
                "OCPP_RUNTIME_DIR"
            );
        }
    }
}
