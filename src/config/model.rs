//! What a valid configuration is: the [`Config`] the rest of the station reads, and its parts.

use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::link::csms_url::CsmsUrl;
use crate::metrics::Thresholds;
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

pub use crate::ocpp::BootInfo;

/// Which serial port the ESP32 charge controller is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// The first CP210x/CH340/FTDI adapter in the by-id directory.
    Auto,
    /// A device path, preferably a `/dev/serial/by-id/` link: it survives re-enumeration.
    Path(PathBuf),
}

/// The ESP32 charge controller's serial link (`ESP32_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `ESP32_PORT`.
    pub port: PortSpec,
    /// `ESP32_BAUDRATE`.
    pub baud_rate: u32,
    /// `ESP32_STALE_SECONDS`: no valid status frame (or no port) this long -> link lost.
    pub stale_after: Duration,
    /// `ESP32_BY_ID_DIR`: where `auto` looks for adapters.
    pub by_id_dir: PathBuf,
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
    /// `OCPP_201_URL`: the 2.0.1 endpoint as configured, in canonical form (may already end in
    /// the identity).
    pub url_201: Option<CsmsUrl>,
    /// `OCPP_16_URL`: the 1.6 endpoint as configured, in canonical form.
    pub url_16: Option<CsmsUrl>,
    /// `OCPP_ALLOW_FALLBACK`: whether the other version may be tried (the loader sets it to false
    /// when the other version has no URL, so no user needs to check that again).
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
    /// `OCPP_STATE_DIR`: where the station keeps what must survive a restart (the CSMS's
    /// configuration changes, availability); an absolute path.
    pub state_dir: PathBuf,
    /// `OCPP_TEMP_FAULT_C`, `OCPP_TEMP_HYSTERESIS_C`, `OCPP_DISK_WARN_PERCENT`: when the station
    /// reports itself too hot or short of disk space. The disk warning's hysteresis is fixed at
    /// 5 percentage points
    /// ([`DISK_HYSTERESIS_PERCENT`](crate::metrics::monitor::DISK_HYSTERESIS_PERCENT)) and has no variable.
    pub health: Thresholds,
    /// `OCPP_METRICS_SECONDS`: how often the Pi's measurements are sent to the CSMS (DataTransfer
    /// `Metrics`); `None` (0) = never.
    pub metrics_interval: Option<Duration>,
    /// `OCPP_RUNTIME_DIR`: where the station keeps `status.json` while it runs; an absolute path.
    pub runtime_dir: PathBuf,
    /// The charge controller; `None` when `ESP32_PORT` is not set (connectors Unavailable).
    pub controller: Option<ControllerConfig>,
    /// Things the operator should know that did not stop the load (a version switched because its
    /// URL is missing, an ignored variable, ...): one human sentence each, never a secret.
    pub warnings: Vec<String>,
}

impl Config {
    /// The URL to dial for `version`, or `None` when that version has no URL: the configured
    /// URL ending in the station identity (see [`CsmsUrl::with_identity`]).
    pub fn endpoint(&self, version: OcppVersion) -> Option<CsmsUrl> {
        let url = match version {
            OcppVersion::V201 => self.url_201.as_ref(),
            OcppVersion::V16 => self.url_16.as_ref(),
        }?;
        Some(url.with_identity(&self.station_name))
    }
}

pub(super) fn auth_name(auth: AuthMode) -> &'static str {
    match auth {
        AuthMode::Basic => "basic",
        AuthMode::Mtls => "mtls",
        AuthMode::None => "none",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::testing::*;
    use crate::config::{CliOverrides, load};

    fn cfg_with_urls(name: &str, url_201: &str, url_16: Option<&str>) -> Config {
        let mut all = vec![
            ("OCPP_STATION_NAME", name),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", url_201),
        ];
        if let Some(url) = url_16 {
            all.push(("OCPP_16_URL", url));
        }
        load(vars(&all), None, &CliOverrides::default()).unwrap()
    }

    fn endpoint(name: &str, url: &str) -> String {
        cfg_with_urls(name, url, None)
            .endpoint(OcppVersion::V201)
            .unwrap()
            .to_string()
    }

    #[test]
    fn endpoint_appends_the_identity_only_when_missing() {
        let id = "ORGE_AC_001";
        for (url, expected) in [
            (
                "wss://csms.example.com/ocpp",
                "wss://csms.example.com/ocpp/ORGE_AC_001",
            ),
            (
                "wss://csms.example.com/ocpp/",
                "wss://csms.example.com/ocpp/ORGE_AC_001",
            ),
            (
                "wss://csms.example.com",
                "wss://csms.example.com/ORGE_AC_001",
            ),
            (
                "wss://csms.example.com/ocpp/ORGE_AC_001",
                "wss://csms.example.com/ocpp/ORGE_AC_001",
            ),
            (
                "wss://csms.example.com/ocpp/ORGE_AC_001/",
                "wss://csms.example.com/ocpp/ORGE_AC_001",
            ),
            (
                "wss://csms.example.com/ocpp/ORGE%5FAC%5F001",
                "wss://csms.example.com/ocpp/ORGE%5FAC%5F001",
            ),
            (
                "wss://csms.example.com/ocpp/ORGE_AC_0011",
                "wss://csms.example.com/ocpp/ORGE_AC_0011/ORGE_AC_001",
            ),
        ] {
            assert_eq!(endpoint(id, url), expected, "{url}");
        }
    }

    #[test]
    fn endpoint_encodes_the_identity() {
        assert_eq!(
            endpoint("a/b?c#d%e", "wss://h/ocpp"),
            "wss://h/ocpp/a%2Fb%3Fc%23d%25e"
        );
        assert_eq!(endpoint("a/b", "wss://h/ocpp/a%2Fb"), "wss://h/ocpp/a%2Fb");
    }

    #[test]
    fn endpoint_per_version() {
        let cfg = cfg_with_urls("ID1", "wss://h/ocpp", Some("ws://h/ocpp16/"));
        assert_eq!(
            cfg.endpoint(OcppVersion::V201).as_deref(),
            Some("wss://h/ocpp/ID1")
        );
        assert_eq!(
            cfg.endpoint(OcppVersion::V16).as_deref(),
            Some("ws://h/ocpp16/ID1")
        );
        let cfg = cfg_with_urls("ID1", "wss://h/ocpp", None);
        assert_eq!(cfg.endpoint(OcppVersion::V16), None);
    }
}
