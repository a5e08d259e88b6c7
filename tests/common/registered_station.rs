//! A station core online in one OCPP version with its Boot answered, built through the public
//! API only: the starting point of the property tests (tests/properties.rs) and of the
//! `csms_request` fuzz target, which include this file.

#![allow(
    clippy::disallowed_methods,
    reason = "the station is handed a start instant, as the shell would"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocpp_station::backoff::BackoffConfig;
use ocpp_station::clock::WallClock;
use ocpp_station::config::BootInfo;
use ocpp_station::device_model::{Defaults, DeviceModel};
use ocpp_station::ocpp::{BootReason, ConnectorStatus, OcppVersion};
use ocpp_station::station::{Restorable, Settings, Station};
use serde_json::{Value, json};

/// A two-connector station, connected in `version`, whose BootNotification the CSMS answered
/// `boot_status` (interval 300 s); returns it and the instant it connected.
pub fn registered_station(
    version: OcppVersion,
    boot_status: &str,
    clock: Arc<dyn WallClock>,
) -> (Station, Instant) {
    let answer = json!({"status": boot_status, "interval": 300,
                        "currentTime": "2026-11-22T08:00:00Z"});
    station_with_boot_answer(version, &answer, clock)
}

/// A two-connector station, connected in `version`, whose BootNotification the CSMS answered
/// with `answer`, verbatim; returns it and the instant it connected.
pub fn station_with_boot_answer(
    version: OcppVersion,
    answer: &Value,
    clock: Arc<dyn WallClock>,
) -> (Station, Instant) {
    let defaults = Defaults {
        identity: "PROP_01".into(),
        security_profile: 2,
        connectors: 2,
        heartbeat_interval: Duration::ZERO,
        backoff: BackoffConfig::default(),
        ping_interval: Duration::from_secs(30),
        offline_threshold: Duration::from_secs(600),
        message_timeout: Duration::from_secs(30),
        vendor: "ORGE".into(),
        model: "AC-Pi".into(),
        serial_number: None,
    };
    let settings = Settings {
        boot_info: BootInfo {
            vendor: "ORGE".into(),
            model: "AC-Pi".into(),
            serial_number: None,
            firmware_version: None,
        },
        boot_reason: BootReason::PowerUp,
        connectors: 2,
        boot_on_reconnect: false,
    };
    let mut n = 0u64;
    let mut station = Station::new(
        settings,
        clock,
        Box::new(move || {
            n += 1;
            format!("st-{n}")
        }),
        ConnectorStatus::Available,
        Restorable::default(),
        DeviceModel::new(&defaults, &BTreeMap::new()),
    );
    let now = Instant::now();
    station.handle_connected(now, version);
    // The first frame out of a fresh connection is the BootNotification.
    if let Some(boot) = station.poll_transmit()
        && let Ok(boot) = serde_json::from_str::<Value>(&boot)
    {
        let answer = json!([3, boot[1], answer]);
        station.handle_text(now, &answer.to_string());
    }
    (station, now)
}
