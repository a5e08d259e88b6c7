//! The text `ocpp-station check-config` prints: every setting, the URLs that will be dialed
//! (without credentials), the warnings, and never the password.

use std::path::PathBuf;
use std::time::Duration;

use super::model::{AuthMode, Config, PortSpec, auth_name};
use crate::ocpp::OcppVersion;

impl Config {
    /// A multi-line, human-readable summary for `ocpp-station check-config`: every setting, the
    /// URLs that will be dialed (without credentials), the warnings, and never the password.
    pub fn summary(&self) -> String {
        let seconds = |d: Duration| format!("{} s", d.as_secs());
        let dial = |version: OcppVersion| {
            self.endpoint(version)
                .map_or_else(|| "(no URL)".to_owned(), |url| url.to_string())
        };
        let password = match &self.password {
            Some(_) => "set (not shown)",
            None => "not set",
        };
        let mut lines = vec![
            format!("station name:        {}", self.station_name),
            format!("password:            {password}"),
            format!("auth:                {}", auth_name(self.auth)),
            format!(
                "primary:             OCPP {} -> {}",
                self.primary,
                dial(self.primary)
            ),
            if self.allow_fallback {
                format!(
                    "fallback:            OCPP {} -> {}",
                    self.primary.other(),
                    dial(self.primary.other())
                )
            } else {
                "fallback:            off".to_owned()
            },
            format!(
                "heartbeat:           {}",
                self.heartbeat_override
                    .map_or_else(|| "as the CSMS says".to_owned(), seconds)
            ),
        ];
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.display().to_string())
        };
        lines.push(format!("CA bundle:           {}", path(&self.ca_path)));
        if self.auth == AuthMode::Mtls {
            lines.push(format!(
                "client certificate:  {}",
                path(&self.client_cert_path)
            ));
            lines.push(format!(
                "client key:          {}",
                path(&self.client_key_path)
            ));
        }
        let b = &self.boot_info;
        lines.extend([
            format!("vendor / model:      {} / {}", b.vendor, b.model),
            format!(
                "serial number:       {}",
                b.serial_number.as_deref().unwrap_or("-")
            ),
            format!(
                "firmware version:    {}",
                b.firmware_version.as_deref().unwrap_or("-")
            ),
            format!("connectors:          {}", self.connectors),
            format!(
                "reconnect back-off:  {} s + random 0..{} s, doubled up to {} times",
                self.backoff.wait_minimum.as_secs(),
                self.backoff.random_range.as_secs(),
                self.backoff.repeat_times
            ),
            format!(
                "WebSocket ping:      {}",
                if self.ping_interval.is_zero() {
                    "off".to_owned()
                } else {
                    seconds(self.ping_interval)
                }
            ),
            format!("call timeout:        {}", seconds(self.call_timeout)),
            format!("boot on reconnect:   {}", self.boot_on_reconnect),
            format!("offline threshold:   {}", seconds(self.offline_threshold)),
            format!("--once deadline:     {}", seconds(self.once_timeout)),
            format!("state directory:     {}", self.state_dir.display()),
            format!(
                "too hot at:          {} °C (clears below {} °C)",
                self.health.temp_fault_c,
                self.health.temp_fault_c - self.health.temp_hysteresis_c
            ),
            format!(
                "disk warning at:     {} % (clears below {} %)",
                self.health.disk_warn_percent,
                self.health.disk_warn_percent - self.health.disk_hysteresis_percent
            ),
            format!(
                "metrics to CSMS:     {}",
                self.metrics_interval
                    .map_or_else(|| "off".to_owned(), seconds)
            ),
            format!("runtime directory:   {}", self.runtime_dir.display()),
        ]);
        lines.push(match &self.controller {
            None => "charge controller:   none (ESP32_PORT not set: connectors Unavailable)".into(),
            Some(c) => format!(
                "charge controller:   {} at {} baud, link lost after {}",
                match &c.port {
                    PortSpec::Auto => format!("auto (in {})", c.by_id_dir.display()),
                    PortSpec::Path(p) => p.display().to_string(),
                },
                c.baud_rate,
                seconds(c.stale_after)
            ),
        });
        for warning in &self.warnings {
            lines.push(format!("warning: {warning}"));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn summary_lists_what_will_be_dialed() {
        let cfg = with(&[("OCPP_16_URL", "WSS://H/ocpp16")]).unwrap();
        let summary = cfg.summary();
        assert!(summary.contains("OCPP 2.0.1 -> wss://csms.example.com/ocpp/ORGE_AC_001"));
        assert!(
            summary.contains("OCPP 1.6 -> wss://h/ocpp16/ORGE_AC_001"),
            "{summary}"
        );
        let cfg = with(&[("OCPP_16_URL", "ws://h/ocpp16")]).unwrap();
        assert!(cfg.summary().contains("warning: OCPP_16_URL uses ws://"));
    }

    #[test]
    fn health_thresholds_in_the_summary() {
        let summary = with(&[
            ("OCPP_TEMP_FAULT_C", "70"),
            ("OCPP_DISK_WARN_PERCENT", "95"),
        ])
        .unwrap()
        .summary();
        assert!(
            summary.contains("too hot at:          70 °C (clears below 65 °C)"),
            "{summary}"
        );
        assert!(
            summary.contains("disk warning at:     95 % (clears below 90 %)"),
            "{summary}"
        );
        assert!(summary.contains("metrics to CSMS:     900 s"), "{summary}");
    }
}
