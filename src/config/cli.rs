//! The command-line flags that override the environment and the env file.

use super::names::var;

/// Command-line values that override the environment and the env file. `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    /// `--station-name`, overrides `OCPP_STATION_NAME`.
    pub station_name: Option<String>,
    /// `--primary`, overrides `OCPP_PRIMARY`.
    pub primary: Option<String>,
    /// `--url-201`, overrides `OCPP_201_URL`.
    pub url_201: Option<String>,
    /// `--url-16`, overrides `OCPP_16_URL`.
    pub url_16: Option<String>,
    /// `--no-fallback` gives `Some(false)`, overrides `OCPP_ALLOW_FALLBACK`.
    pub allow_fallback: Option<bool>,
    /// `--heartbeat-seconds`, overrides `OCPP_HEARTBEAT_SECONDS`.
    pub heartbeat_seconds: Option<u64>,
    /// `--connectors`, overrides `OCPP_CONNECTORS`.
    pub connectors: Option<u32>,
    /// `--timeout`, overrides `OCPP_ONCE_TIMEOUT_SECONDS`.
    pub once_timeout_seconds: Option<u64>,
}

impl CliOverrides {
    /// The overrides as variable assignments, so they go through the same validation (a
    /// `--connectors 9` is refused exactly like `OCPP_CONNECTORS=9`).
    pub(super) fn assignments(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut set = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                out.push((name, value));
            }
        };
        set(var::STATION_NAME, self.station_name.clone());
        set(var::PRIMARY, self.primary.clone());
        set(var::URL_201, self.url_201.clone());
        set(var::URL_16, self.url_16.clone());
        set(
            var::ALLOW_FALLBACK,
            self.allow_fallback.map(|b| b.to_string()),
        );
        set(
            var::HEARTBEAT_SECONDS,
            self.heartbeat_seconds.map(|n| n.to_string()),
        );
        set(var::CONNECTORS, self.connectors.map(|n| n.to_string()));
        set(
            var::ONCE_TIMEOUT_SECONDS,
            self.once_timeout_seconds.map(|n| n.to_string()),
        );
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::load;
    use crate::config::testing::*;

    #[test]
    fn cli_values_are_validated_like_variables() {
        let cli = CliOverrides {
            connectors: Some(9),
            ..CliOverrides::default()
        };
        let env = vars(&[
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://h/x"),
        ]);
        let err = load(env.clone(), None, &cli).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_CONNECTORS"));
        let cli = CliOverrides {
            heartbeat_seconds: Some(0),
            ..CliOverrides::default()
        };
        assert_eq!(load(env, None, &cli).unwrap().heartbeat_override, None);
    }
}
