//! Building the station from its configuration and its saved state, and saving that state:
//! what the daemon and the `--once` run share.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SystemClock;
use crate::config::{AuthMode, Config};
use crate::device_model::{Defaults, DeviceModel};
use crate::link::{self, DialPlan, DialRequest};
use crate::ocpp::{BootReason, ConnectorStatus, OcppVersion};
use crate::persist::{self, PersistedState};
use crate::station::{Restorable, Settings, Station};

/// The boot reason saved before a CSMS Reset, read by the next start.
const REMOTE_RESET: &str = "RemoteReset";

/// Why the station could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The TLS settings (CA bundle, client certificate) are unusable.
    #[error(transparent)]
    Tls(#[from] link::TlsSetupError),
    /// The dial plan has nothing to dial.
    #[error(transparent)]
    Plan(#[from] link::PlanError),
}

/// The station core, TLS settings and dial plan, with where the state is saved.
pub struct Wiring {
    /// The station core.
    pub station: Station,
    /// TLS client settings for wss:// endpoints.
    pub tls: Arc<rustls::ClientConfig>,
    /// Which URL and subprotocols to dial.
    pub plan: DialPlan,
    /// Where the state is saved (`OCPP_STATE_DIR`).
    pub state_dir: PathBuf,
    /// This start consumed a saved boot reason (the daemon saves at once so that a later power
    /// cycle does not repeat it).
    pub boot_reason_consumed: bool,
}

impl Wiring {
    /// Builds everything from a validated configuration and the state saved in
    /// `OCPP_STATE_DIR`. A missing or corrupt state file is a warning, never a failure.
    pub fn new(config: &Config, initial: ConnectorStatus) -> Result<Self, WiringError> {
        let client_cert = match (&config.client_cert_path, &config.client_key_path) {
            (Some(cert), Some(key)) if config.auth == AuthMode::Mtls => {
                Some((cert.as_path(), key.as_path()))
            }
            _ => None,
        };
        let tls = link::tls::client_config(config.ca_path.as_deref(), client_cert)?;

        let (saved, warning) = persist::load(&config.state_dir);
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let mut model = DeviceModel::new(&device_model_defaults(config), &saved.overrides);
        for warning in model.take_warnings() {
            tracing::warn!("saved configuration: {warning}");
        }
        let boot_reason_consumed = saved.last_boot_reason.is_some();
        let boot_reason = match saved.last_boot_reason.as_deref() {
            Some(REMOTE_RESET) => BootReason::RemoteReset,
            _ => BootReason::PowerUp,
        };

        let plan = DialPlan::new(link::PlanSettings {
            primary: config.primary,
            url_201: config.endpoint(OcppVersion::V201),
            url_16: config.endpoint(OcppVersion::V16),
            allow_fallback: config.allow_fallback,
            backoff: model.backoff(),
            failures_before_fallback: 3,
            primary_retry_after: Duration::from_secs(3600),
        })?;
        let station = Station::new(
            Settings {
                boot_info: config.boot_info.clone(),
                boot_reason,
                connectors: config.connectors,
                boot_on_reconnect: config.boot_on_reconnect,
            },
            Arc::new(SystemClock),
            Box::new(|| uuid::Uuid::new_v4().to_string()),
            initial,
            Restorable {
                station_operative: saved.station_operative,
                inoperative: saved.evse_inoperative,
                scheduled_inoperative: saved.scheduled_unavailable,
                reset_requested: false,
                overrides: saved.overrides,
            },
            model,
        );
        Ok(Self {
            station,
            tls,
            plan,
            state_dir: config.state_dir.clone(),
            boot_reason_consumed,
        })
    }
}

/// Saves what must survive a restart; a failure is logged and the station keeps running.
pub fn save(state_dir: &Path, station: &Station) {
    let r = station.restorable();
    let state = PersistedState {
        overrides: r.overrides,
        station_operative: r.station_operative,
        evse_inoperative: r.inoperative,
        scheduled_unavailable: r.scheduled_inoperative,
        last_boot_reason: r.reset_requested.then(|| REMOTE_RESET.to_owned()),
        ..PersistedState::default()
    };
    if let Err(error) = persist::save(state_dir, &state) {
        tracing::warn!(
            dir = %state_dir.display(),
            "could not save the station state ({error}): CSMS changes will not survive a restart"
        );
    }
}

/// The dial request for one attempt: the password the CSMS set wins over the configured one.
pub fn dial_request<'a>(
    config: &'a Config,
    tls: &Arc<rustls::ClientConfig>,
    station: &'a Station,
    url: &'a link::CsmsUrl,
    offer: &'a [OcppVersion],
) -> DialRequest<'a> {
    DialRequest {
        url,
        offer,
        identity: &config.station_name,
        password: match config.auth {
            AuthMode::Basic => station.password().or(config.password.as_ref()),
            _ => None,
        },
        tls: tls.clone(),
        timeout: config.call_timeout,
    }
}

/// The defaults a loaded configuration gives. The security profile follows the primary
/// version's URL: Basic auth is profile 2 over `wss://` and profile 1 over `ws://`.
pub fn device_model_defaults(config: &Config) -> Defaults {
    let primary_url = match config.primary {
        OcppVersion::V201 => config.url_201.as_deref(),
        OcppVersion::V16 => config.url_16.as_deref(),
    };
    let security_profile = match config.auth {
        AuthMode::Mtls => 3,
        AuthMode::Basic if primary_url.is_some_and(|u| u.starts_with("wss://")) => 2,
        AuthMode::Basic => 1,
        AuthMode::None => 0,
    };
    Defaults {
        identity: config.station_name.clone(),
        security_profile,
        connectors: config.connectors,
        heartbeat_interval: config.heartbeat_override.unwrap_or(Duration::ZERO),
        backoff: config.backoff,
        ping_interval: config.ping_interval,
        offline_threshold: config.offline_threshold,
        message_timeout: config.call_timeout,
        vendor: config.boot_info.vendor.clone(),
        model: config.boot_info.model.clone(),
        serial_number: config.boot_info.serial_number.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::backoff::BackoffConfig;

    #[test]
    fn defaults_come_from_the_configuration() {
        let load = |extra: &[(&str, &str)]| {
            let mut vars: Vec<(String, String)> = [
                ("OCPP_STATION_NAME", "ORGE_AC_009"),
                ("OCPP_STATION_PASSWORD", "pw"),
                ("OCPP_201_URL", "wss://csms.example.com/ocpp"),
                ("OCPP_16_URL", "ws://csms.example.com/ocpp16"),
                ("OCPP_CONNECTORS", "2"),
                ("OCPP_HEARTBEAT_SECONDS", "120"),
                ("OCPP_SERIAL_NUMBER", "SN-9"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let config =
                crate::config::load(vars, None, &crate::config::CliOverrides::default()).unwrap();
            device_model_defaults(&config)
        };
        let d = load(&[]);
        assert_eq!(d.identity, "ORGE_AC_009");
        assert_eq!(d.security_profile, 2);
        assert_eq!(d.connectors, 2);
        assert_eq!(d.heartbeat_interval, Duration::from_secs(120));
        assert_eq!(d.backoff, BackoffConfig::default());
        assert_eq!(d.ping_interval, Duration::from_secs(30));
        assert_eq!(d.offline_threshold, Duration::from_secs(600));
        assert_eq!(d.message_timeout, Duration::from_secs(30));
        assert_eq!(
            (d.vendor.as_str(), d.model.as_str()),
            ("ocpp-station", "AC-Pi")
        );
        assert_eq!(d.serial_number.as_deref(), Some("SN-9"));
        assert_eq!(load(&[("OCPP_PRIMARY", "1.6")]).security_profile, 1);
        assert_eq!(load(&[("OCPP_AUTH_TYPE", "none")]).security_profile, 0);
        assert_eq!(
            load(&[("OCPP_HEARTBEAT_SECONDS", "0")]).heartbeat_interval,
            Duration::ZERO
        );
    }
}
