//! What the configuration's unit tests share: the smallest valid environment and ways to load
//! it with changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::{CliOverrides, Config, ConfigError, load};

pub(super) const PASSWORD: &str = "S3cr3t-pw!";

pub(super) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The smallest valid configuration, plus `extra` (later entries override earlier ones).
pub(super) fn with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut all = vec![
        ("OCPP_STATION_NAME", "ORGE_AC_001"),
        ("OCPP_STATION_PASSWORD", PASSWORD),
        ("OCPP_201_URL", "wss://csms.example.com/ocpp"),
    ];
    all.extend_from_slice(extra);
    load(vars(&all), None, &CliOverrides::default())
}

pub(super) fn invalid_var(extra: &[(&str, &str)]) -> &'static str {
    match with(extra) {
        Err(e @ ConfigError::Invalid { .. }) => e.variable().unwrap(),
        other => panic!("expected Invalid for {extra:?}, got {other:?}"),
    }
}

pub(super) fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}
