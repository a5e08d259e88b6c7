//! The variables the loader reads, spelled once so that the loader, the messages and
//! `env.example` cannot drift apart, and what a misspelled name most likely meant.

/// The variable names, spelled once so that the loader, the messages and `env.example` cannot
/// drift apart.
pub(super) mod var {
    pub const STATION_NAME: &str = "OCPP_STATION_NAME";
    pub const STATION_PASSWORD: &str = "OCPP_STATION_PASSWORD";
    pub const PRIMARY: &str = "OCPP_PRIMARY";
    pub const URL_201: &str = "OCPP_201_URL";
    pub const URL_16: &str = "OCPP_16_URL";
    pub const ALLOW_FALLBACK: &str = "OCPP_ALLOW_FALLBACK";
    pub const HEARTBEAT_SECONDS: &str = "OCPP_HEARTBEAT_SECONDS";
    pub const AUTH_TYPE: &str = "OCPP_AUTH_TYPE";
    pub const CA_PATH: &str = "OCPP_CA_PATH";
    pub const MTLS_CA_PATH: &str = "OCPP_MTLS_CA_PATH";
    pub const MTLS_CERT_PATH: &str = "OCPP_MTLS_CERT_PATH";
    pub const MTLS_KEY_PATH: &str = "OCPP_MTLS_KEY_PATH";
    pub const VENDOR: &str = "OCPP_VENDOR";
    pub const MODEL: &str = "OCPP_MODEL";
    pub const SERIAL_NUMBER: &str = "OCPP_SERIAL_NUMBER";
    pub const FIRMWARE_VERSION: &str = "OCPP_FIRMWARE_VERSION";
    pub const CONNECTORS: &str = "OCPP_CONNECTORS";
    pub const BACKOFF_WAIT_MINIMUM: &str = "OCPP_RETRY_BACKOFF_WAIT_MINIMUM";
    pub const BACKOFF_RANDOM_RANGE: &str = "OCPP_RETRY_BACKOFF_RANDOM_RANGE";
    pub const BACKOFF_REPEAT_TIMES: &str = "OCPP_RETRY_BACKOFF_REPEAT_TIMES";
    pub const PING_SECONDS: &str = "OCPP_PING_SECONDS";
    pub const CALL_TIMEOUT_SECONDS: &str = "OCPP_CALL_TIMEOUT_SECONDS";
    pub const BOOT_ON_RECONNECT: &str = "OCPP_BOOT_ON_RECONNECT";
    pub const OFFLINE_THRESHOLD_SECONDS: &str = "OCPP_OFFLINE_THRESHOLD_SECONDS";
    pub const ONCE_TIMEOUT_SECONDS: &str = "OCPP_ONCE_TIMEOUT_SECONDS";
    pub const STATE_DIR: &str = "OCPP_STATE_DIR";
    pub const TEMP_FAULT_C: &str = "OCPP_TEMP_FAULT_C";
    pub const TEMP_HYSTERESIS_C: &str = "OCPP_TEMP_HYSTERESIS_C";
    pub const DISK_WARN_PERCENT: &str = "OCPP_DISK_WARN_PERCENT";
    pub const METRICS_SECONDS: &str = "OCPP_METRICS_SECONDS";
    pub const RUNTIME_DIR: &str = "OCPP_RUNTIME_DIR";
    pub const ESP32_PORT: &str = "ESP32_PORT";
    pub const ESP32_BAUDRATE: &str = "ESP32_BAUDRATE";
    pub const ESP32_STALE_SECONDS: &str = "ESP32_STALE_SECONDS";
    pub const ESP32_BY_ID_DIR: &str = "ESP32_BY_ID_DIR";
}

/// Every environment variable the loader reads. `env.example` documents each of them (a unit test
/// checks that); any other `OCPP_*` name produces a warning, since it is most likely a typo.
pub const VARIABLES: &[&str] = &[
    var::STATION_NAME,
    var::STATION_PASSWORD,
    var::PRIMARY,
    var::URL_201,
    var::URL_16,
    var::ALLOW_FALLBACK,
    var::HEARTBEAT_SECONDS,
    var::AUTH_TYPE,
    var::CA_PATH,
    var::MTLS_CA_PATH,
    var::MTLS_CERT_PATH,
    var::MTLS_KEY_PATH,
    var::VENDOR,
    var::MODEL,
    var::SERIAL_NUMBER,
    var::FIRMWARE_VERSION,
    var::CONNECTORS,
    var::BACKOFF_WAIT_MINIMUM,
    var::BACKOFF_RANDOM_RANGE,
    var::BACKOFF_REPEAT_TIMES,
    var::PING_SECONDS,
    var::CALL_TIMEOUT_SECONDS,
    var::BOOT_ON_RECONNECT,
    var::OFFLINE_THRESHOLD_SECONDS,
    var::ONCE_TIMEOUT_SECONDS,
    var::STATE_DIR,
    var::TEMP_FAULT_C,
    var::TEMP_HYSTERESIS_C,
    var::DISK_WARN_PERCENT,
    var::METRICS_SECONDS,
    var::RUNTIME_DIR,
    var::ESP32_PORT,
    var::ESP32_BAUDRATE,
    var::ESP32_STALE_SECONDS,
    var::ESP32_BY_ID_DIR,
];

/// Prefixes of the variable families the loader owns: an unknown name with one of them is
/// most likely a typo and gets a warning.
pub(super) const OWNED_PREFIXES: &[&str] = &["OCPP_", "ESP32_"];

/// Variables whose value must never appear in an error or a warning.
pub(super) const SECRET_VARIABLES: &[&str] = &[var::STATION_PASSWORD];

/// The variable `name` most likely stands for: the same name in another case, or one at most
/// two edits (a letter missing, added, changed or two swapped) away.
pub(super) fn closest_variable(name: &str) -> Option<&'static str> {
    let known = || VARIABLES.iter().chain(crate::logging::VARIABLES).copied();
    if let Some(same) = known().find(|v| v.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    known()
        .map(|v| (strsim::damerau_levenshtein(name, v), v))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::{CliOverrides, load};
    use crate::envfile;
    use crate::ocpp::OcppVersion;

    const ENV_EXAMPLE: &str = include_str!("../../env.example");

    /// env.example with every commented-out `#OCPP_...=` default switched on.
    fn env_example_uncommented() -> String {
        ENV_EXAMPLE
            .lines()
            .map(
                |line| match (line.strip_prefix("#OCPP_"), line.strip_prefix("#ESP32_")) {
                    (Some(rest), _) => format!("OCPP_{rest}"),
                    (_, Some(rest)) => format!("ESP32_{rest}"),
                    _ => line.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn env_example_documents_every_variable() {
        let active = envfile::parse(ENV_EXAMPLE).unwrap();
        let all = envfile::parse(&env_example_uncommented()).unwrap();
        for name in VARIABLES {
            assert_eq!(
                all.iter().filter(|(k, _)| k == name).count(),
                1,
                "{name} must appear exactly once in env.example"
            );
        }
        for (name, _) in &all {
            assert!(
                VARIABLES.contains(&name.as_str()),
                "{name} is not a known variable"
            );
        }
        let active: Vec<&str> = active.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            active,
            [
                "OCPP_STATION_NAME",
                "OCPP_STATION_PASSWORD",
                "OCPP_PRIMARY",
                "OCPP_201_URL",
                "OCPP_16_URL"
            ]
        );
        // One comment line above each variable.
        let lines: Vec<&str> = ENV_EXAMPLE.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start_matches('#').starts_with("OCPP_") {
                assert!(
                    i > 0 && lines[i - 1].starts_with("# "),
                    "line {} needs a comment above it",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn env_example_loads_and_its_commented_values_are_the_defaults() {
        let as_is = load(
            envfile::parse(ENV_EXAMPLE).unwrap(),
            None,
            &CliOverrides::default(),
        )
        .unwrap();
        assert!(as_is.warnings.is_empty(), "{:?}", as_is.warnings);
        assert_eq!(
            as_is.endpoint(OcppVersion::V201).as_deref(),
            Some("wss://csms.example.com/ocpp/ORGE_AC_001")
        );
        let with_defaults = load(
            envfile::parse(&env_example_uncommented()).unwrap(),
            None,
            &CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(format!("{as_is:?}"), format!("{with_defaults:?}"));
    }
}
