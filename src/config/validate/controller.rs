//! The ESP32 charge controller's serial link (`ESP32_*`).

use std::path::PathBuf;
use std::time::Duration;

use super::values::{absolute_dir, number};
use crate::config::error::{ConfigError, invalid};
use crate::config::load::RawControllerVars;
use crate::config::model::{ControllerConfig, PortSpec};
use crate::config::names::var;

/// The serial speeds the controller's USB adapters support; the firmware uses 115200.
const BAUD_RATES: &[u32] = &[
    9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

/// The charge controller's settings. Every `ESP32_*` value is checked even without
/// `ESP32_PORT`: a wrong speed must not wait to surface until the port is configured.
pub(in crate::config) fn controller(
    raw: RawControllerVars,
) -> Result<Option<ControllerConfig>, ConfigError> {
    let baud_rate: u32 = number(
        var::ESP32_BAUDRATE,
        raw.baudrate.clone(),
        115_200,
        1..=4_000_000,
        "baud",
    )?;
    if !BAUD_RATES.contains(&baud_rate) {
        let allowed = BAUD_RATES
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(invalid(
            var::ESP32_BAUDRATE,
            &baud_rate.to_string(),
            format!("one of {allowed}"),
        ));
    }
    let stale: u64 = number(
        var::ESP32_STALE_SECONDS,
        raw.stale_seconds,
        20,
        1..=3600,
        "seconds",
    )?;
    let by_id_dir = absolute_dir(var::ESP32_BY_ID_DIR, raw.by_id_dir, "/dev/serial/by-id")?;
    let Some(port) = raw.port else {
        return Ok(None);
    };
    let port = if port.eq_ignore_ascii_case("auto") {
        PortSpec::Auto
    } else if port.starts_with('/') {
        PortSpec::Path(PathBuf::from(port))
    } else {
        return Err(invalid(
            var::ESP32_PORT,
            &port,
            "auto or an absolute device path such as /dev/serial/by-id/usb-Silicon_Labs_CP2102-... or /dev/ttyUSB0",
        ));
    };
    Ok(Some(ControllerConfig {
        port,
        baud_rate,
        stale_after: Duration::from_secs(stale),
        by_id_dir,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::testing::*;

    #[test]
    fn the_charge_controller_is_optional_and_validated() {
        assert_eq!(with(&[]).unwrap().controller, None);
        let cfg = with(&[("ESP32_PORT", "/dev/ttyUSB0")]).unwrap();
        assert_eq!(
            cfg.controller,
            Some(ControllerConfig {
                port: PortSpec::Path("/dev/ttyUSB0".into()),
                baud_rate: 115_200,
                stale_after: Duration::from_secs(20),
                by_id_dir: "/dev/serial/by-id".into(),
            })
        );
        let cfg = with(&[
            ("ESP32_PORT", "AUTO"),
            ("ESP32_STALE_SECONDS", "5"),
            ("ESP32_BY_ID_DIR", "/tmp/x"),
        ])
        .unwrap();
        let c = cfg.controller.unwrap();
        assert_eq!(
            (c.port, c.stale_after, c.by_id_dir),
            (PortSpec::Auto, Duration::from_secs(5), "/tmp/x".into())
        );
        for (var, value) in [
            ("ESP32_PORT", "ttyUSB0"),
            ("ESP32_BAUDRATE", "115201"),
            ("ESP32_BAUDRATE", "fast"),
            ("ESP32_STALE_SECONDS", "0"),
            ("ESP32_BY_ID_DIR", "relative"),
        ] {
            let mut vars = vec![(var, value)];
            if var != "ESP32_PORT" {
                vars.push(("ESP32_PORT", "auto"));
            }
            let err = with(&vars).unwrap_err();
            assert_eq!(err.variable(), Some(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_charge_controller_settings_are_checked_without_a_port_too() {
        for (var, value) in [
            ("ESP32_BAUDRATE", "115201"),
            ("ESP32_BAUDRATE", "fast"),
            ("ESP32_STALE_SECONDS", "0"),
            ("ESP32_STALE_SECONDS", "an hour"),
            ("ESP32_BY_ID_DIR", "relative"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), Some(var), "{var}={value}: {err}");
        }
        let cfg = with(&[("ESP32_BAUDRATE", "9600"), ("ESP32_STALE_SECONDS", "5")]).unwrap();
        assert_eq!(cfg.controller, None);
    }
}
