//! Station configuration: environment variables (the fleet's `/etc/ocpp_station.env`), an optional
//! systemd-style env file (`--env-file`), and command-line flags that override both.
//!
//! Every value is validated once, here; the rest of the station only sees a valid [`Config`].
//! The password lives in a [`Secret`] and is never printed.

use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::ocpp::OcppVersion;
use crate::secret::Secret;

/// How the station authenticates to the CSMS (OCPP security profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// HTTP Basic on the upgrade, user = identity (profile 1 over ws://, profile 2 over wss://).
    Basic,
    /// TLS client certificate, no Basic header (profile 3).
    Mtls,
    /// No credentials (lab CSMSs only).
    None,
}

/// What the station tells the CSMS about itself in BootNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    /// `OCPP_VENDOR`: 1.6 chargePointVendor (<= 20), 2.0.1 vendorName (<= 50).
    pub vendor: String,
    /// `OCPP_MODEL`: <= 20 characters in both versions.
    pub model: String,
    /// `OCPP_SERIAL_NUMBER`: <= 25 characters.
    pub serial_number: Option<String>,
    /// `OCPP_FIRMWARE_VERSION`: <= 50 characters.
    pub firmware_version: Option<String>,
}

/// The validated station configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OCPP_STATION_NAME`: the station identity (<= 48 characters, no `:`).
    pub station_name: String,
    /// `OCPP_STATION_PASSWORD`: Basic-auth password (required when `auth == Basic`).
    pub password: Option<Secret>,
    /// `OCPP_PRIMARY`: the version tried first.
    pub primary: OcppVersion,
    /// `OCPP_201_URL`: the 2.0.1 endpoint as configured (may already end in the identity).
    pub url_201: Option<String>,
    /// `OCPP_16_URL`: the 1.6 endpoint as configured.
    pub url_16: Option<String>,
    /// `OCPP_ALLOW_FALLBACK`: whether the other version may be tried.
    pub allow_fallback: bool,
    /// `OCPP_HEARTBEAT_SECONDS`: `None` (0) = use the Boot response's interval.
    pub heartbeat_override: Option<Duration>,
    /// `OCPP_AUTH_TYPE`.
    pub auth: AuthMode,
    /// `OCPP_CA_PATH` (alias `OCPP_MTLS_CA_PATH`): extra trusted CA bundle (PEM).
    pub ca_path: Option<PathBuf>,
    /// `OCPP_MTLS_CERT_PATH`: client certificate chain (PEM), profile 3.
    pub client_cert_path: Option<PathBuf>,
    /// `OCPP_MTLS_KEY_PATH`: client private key (PEM), profile 3.
    pub client_key_path: Option<PathBuf>,
    /// BootNotification contents.
    pub boot_info: BootInfo,
    /// `OCPP_CONNECTORS`: number of connectors (one EVSE each).
    pub connectors: u32,
    /// `OCPP_RETRY_BACKOFF_*`.
    pub backoff: BackoffConfig,
    /// `OCPP_PING_SECONDS`: WebSocket ping interval; zero sends none (pings are still answered).
    pub ping_interval: Duration,
    /// `OCPP_CALL_TIMEOUT_SECONDS`: how long a CALL may wait for its answer.
    pub call_timeout: Duration,
    /// `OCPP_BOOT_ON_RECONNECT`: send BootNotification on every reconnect.
    pub boot_on_reconnect: bool,
    /// `OCPP_OFFLINE_THRESHOLD_SECONDS`: offline longer than this -> report every connector again.
    pub offline_threshold: Duration,
    /// `OCPP_ONCE_TIMEOUT_SECONDS`: overall deadline of `--once`.
    pub once_timeout: Duration,
}
