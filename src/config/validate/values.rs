//! The rules every kind of value follows: whole numbers within a range, booleans, OCPP
//! CiStrings, absolute directories, existing files.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::config::error::{ConfigError, invalid};

/// A directory variable: an absolute path (the daemon's working directory is not something to
/// depend on), or `default` when unset.
pub(super) fn absolute_dir(
    var: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<PathBuf, ConfigError> {
    match value {
        Some(dir) if dir.starts_with('/') => Ok(PathBuf::from(dir)),
        Some(dir) => Err(invalid(
            var,
            &dir,
            format!("an absolute directory path, e.g. {default}"),
        )),
        None => Ok(PathBuf::from(default)),
    }
}

/// The path, which must name an existing regular file (a typo should fail at start-up, not at
/// the first TLS handshake).
pub(super) fn existing_file(var: &'static str, path: String) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(path);
    let problem = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => return Ok(path),
        Ok(_) => "is not a regular file".to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(ConfigError::File { var, path, problem })
}

/// An OCPP CiString field: at most `max` characters (the schemas count characters), no control
/// characters.
pub(super) fn ci_string(
    var: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(invalid(
            var,
            &v,
            format!("at most {max} characters, no control characters"),
        )),
        other => Ok(other),
    }
}

/// `true` or `false` (also 1/0, yes/no, on/off, in any case), or `default` when unset.
pub(super) fn boolean(
    var: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            var,
            &value,
            "true or false (also 1/0, yes/no, on/off)",
        )),
    }
}

/// A whole number within `range`, or `default` when unset.
pub(super) fn number<T: TryFrom<u64>>(
    var: &'static str,
    value: Option<String>,
    default: T,
    range: RangeInclusive<u64>,
    unit: &str,
) -> Result<T, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let bad = || {
        invalid(
            var,
            &value,
            format!(
                "a whole number of {unit} from {} to {}",
                range.start(),
                range.end()
            ),
        )
    };
    let parsed: u64 = value.parse().map_err(|_| bad())?;
    if !range.contains(&parsed) {
        return Err(bad());
    }
    T::try_from(parsed).map_err(|_| bad())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn fallback_and_booleans() {
        let both = [("OCPP_16_URL", "wss://csms.example.com/ocpp16")];
        assert!(with(&both).unwrap().allow_fallback);
        for (text, expected) in [
            ("1", true),
            ("TRUE", true),
            ("Yes", true),
            ("on", true),
            ("0", false),
            ("false", false),
            ("NO", false),
            ("Off", false),
        ] {
            let cfg = with(&[both[0], ("OCPP_ALLOW_FALLBACK", text)]).unwrap();
            assert_eq!(cfg.allow_fallback, expected, "{text}");
            let cfg = with(&[("OCPP_BOOT_ON_RECONNECT", text)]).unwrap();
            assert_eq!(cfg.boot_on_reconnect, expected, "{text}");
        }
        assert_eq!(
            invalid_var(&[("OCPP_ALLOW_FALLBACK", "maybe")]),
            "OCPP_ALLOW_FALLBACK"
        );
        assert_eq!(
            invalid_var(&[("OCPP_BOOT_ON_RECONNECT", "2")]),
            "OCPP_BOOT_ON_RECONNECT"
        );
    }

    #[test]
    fn numbers_and_their_ranges() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "OCPP_HEARTBEAT_SECONDS",
                &["0", "604800"],
                &["604801", "-1", "1.5", "60s"],
            ),
            ("OCPP_CONNECTORS", &["1", "8"], &["0", "9", "x"]),
            (
                "OCPP_RETRY_BACKOFF_WAIT_MINIMUM",
                &["1", "3600"],
                &["0", "3601"],
            ),
            ("OCPP_RETRY_BACKOFF_RANDOM_RANGE", &["0", "3600"], &["3601"]),
            ("OCPP_RETRY_BACKOFF_REPEAT_TIMES", &["0", "10"], &["11"]),
            ("OCPP_PING_SECONDS", &["0", "3600"], &["3601"]),
            ("OCPP_CALL_TIMEOUT_SECONDS", &["1", "600"], &["0", "601"]),
            (
                "OCPP_OFFLINE_THRESHOLD_SECONDS",
                &["0", "604800"],
                &["604801"],
            ),
            ("OCPP_ONCE_TIMEOUT_SECONDS", &["1", "600"], &["0", "601"]),
            (
                "OCPP_TEMP_FAULT_C",
                &["40", "120"],
                &["39", "121", "80.5", "-5"],
            ),
            ("OCPP_TEMP_HYSTERESIS_C", &["1", "30"], &["0", "31"]),
            (
                "OCPP_DISK_WARN_PERCENT",
                &["50", "99"],
                &["49", "100", "90%"],
            ),
            (
                "OCPP_METRICS_SECONDS",
                &["0", "10", "86400"],
                &["1", "9", "86401", "-1", "15m"],
            ),
        ];
        for (name, good, bad) in cases {
            for value in *good {
                assert!(with(&[(name, value)]).is_ok(), "{name}={value}");
            }
            for value in *bad {
                assert_eq!(invalid_var(&[(name, value)]), *name, "{name}={value}");
            }
        }
        assert_eq!(
            with(&[("OCPP_CONNECTORS", "9")]).unwrap_err().to_string(),
            "OCPP_CONNECTORS='9' is not valid: expected a whole number of connectors from 1 to 8"
        );
        assert_eq!(
            with(&[("OCPP_HEARTBEAT_SECONDS", "0")])
                .unwrap()
                .heartbeat_override,
            None
        );
        assert!(with(&[("OCPP_CONNECTORS", "99999999999999999999999")]).is_err());
    }
}
