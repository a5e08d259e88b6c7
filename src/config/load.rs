//! Collecting the variables: the process environment, the `--env-file` and the command-line
//! flags, merged by precedence and read with envy into text fields that `validate` turns into a
//! [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cli::CliOverrides;
use super::error::ConfigError;
use super::model::Config;
use super::names::{OWNED_PREFIXES, VARIABLES, closest_variable, var};
use super::validate::{self, runtime_dir};
use crate::envfile;

/// The variables as text, as envy finds them (prefix stripped, lower-cased). Every field is an
/// optional string so that the validation below, not serde, words the errors. Deliberately no
/// `Debug`: it holds the password in clear.
#[derive(Default, Deserialize)]
pub(super) struct RawVars {
    pub(super) station_name: Option<String>,
    pub(super) station_password: Option<String>,
    pub(super) primary: Option<String>,
    #[serde(rename = "201_url")]
    pub(super) url_201: Option<String>,
    #[serde(rename = "16_url")]
    pub(super) url_16: Option<String>,
    pub(super) allow_fallback: Option<String>,
    pub(super) heartbeat_seconds: Option<String>,
    pub(super) auth_type: Option<String>,
    pub(super) ca_path: Option<String>,
    pub(super) mtls_ca_path: Option<String>,
    pub(super) mtls_cert_path: Option<String>,
    pub(super) mtls_key_path: Option<String>,
    pub(super) vendor: Option<String>,
    pub(super) model: Option<String>,
    pub(super) serial_number: Option<String>,
    pub(super) firmware_version: Option<String>,
    pub(super) connectors: Option<String>,
    pub(super) retry_backoff_wait_minimum: Option<String>,
    pub(super) retry_backoff_random_range: Option<String>,
    pub(super) retry_backoff_repeat_times: Option<String>,
    pub(super) ping_seconds: Option<String>,
    pub(super) call_timeout_seconds: Option<String>,
    pub(super) boot_on_reconnect: Option<String>,
    pub(super) offline_threshold_seconds: Option<String>,
    pub(super) once_timeout_seconds: Option<String>,
    pub(super) state_dir: Option<String>,
    pub(super) temp_fault_c: Option<String>,
    pub(super) temp_hysteresis_c: Option<String>,
    pub(super) disk_warn_percent: Option<String>,
    pub(super) metrics_seconds: Option<String>,
    pub(super) runtime_dir: Option<String>,
}

/// The `ESP32_*` variables as text (prefix stripped, lower-cased).
#[derive(Default, Deserialize)]
pub(super) struct RawControllerVars {
    pub(super) port: Option<String>,
    pub(super) baudrate: Option<String>,
    pub(super) stale_seconds: Option<String>,
    pub(super) by_id_dir: Option<String>,
}

/// Loads and validates the configuration.
///
/// Sources, highest precedence first:
/// 1. command-line flags (`cli`);
/// 2. the file named by `--env-file` (`env_file`): a file named explicitly on the command line
///    wins over the process environment, so a stale variable left in a technician's shell (or
///    exported by an earlier `set -a; . /etc/ocpp_station.env`) cannot silently override it;
/// 3. the process environment (`process_env`, normally `std::env::vars_os()` converted lossily).
///
/// The source that mentions a variable decides it, even with an empty value: values are trimmed
/// and an empty value means "not set", so `OCPP_16_URL=` in the env file removes a 1.6 URL
/// inherited from the environment. Within the env file the last assignment wins (as in systemd).
///
/// Unknown `OCPP_*` names, a primary version switched for lack of a URL and similar surprises
/// are reported in [`Config::warnings`]; anything that would make the station misbehave is an
/// error naming the variable.
pub fn load(
    process_env: impl IntoIterator<Item = (String, String)>,
    env_file: Option<&Path>,
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let mut unknown = Unknown::default();
    let mut merged: BTreeMap<&'static str, String> = BTreeMap::new();
    add_source(&mut merged, &mut unknown, process_env, "the environment");
    if let Some(path) = env_file {
        let pairs = envfile::read(path)?;
        add_source(
            &mut merged,
            &mut unknown,
            pairs,
            &path.display().to_string(),
        );
    }
    merged.extend(cli.assignments());

    let vars: Vec<(String, String)> = merged
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value.trim();
            (!value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect();
    let raw: RawVars = envy::prefixed("OCPP_")
        .from_iter(vars.iter().cloned())
        .map_err(|e| ConfigError::Environment(e.to_string()))?;
    let raw_controller: RawControllerVars = envy::prefixed("ESP32_")
        .from_iter(vars)
        .map_err(|e| ConfigError::Environment(e.to_string()))?;
    let password = raw.station_password.clone();
    let controller =
        validate::controller(raw_controller).map_err(|e| e.scrubbed(password.as_deref()))?;
    let given = Given {
        typos: &unknown.typos,
        url_flags: (cli.url_201.is_some(), cli.url_16.is_some()),
    };
    let mut config = validate::validate(raw, unknown.warnings, &given)
        .map_err(|e| e.scrubbed(password.as_deref()))?;
    config.controller = controller;
    Ok(config)
}

/// The station identity as far as it can be read when the configuration as a whole is not
/// usable (for the `--once` report of a configuration error): `--station-name`, else the env
/// file's `OCPP_STATION_NAME`, else the environment's. `None` when none is set or readable.
pub fn station_name_hint(
    process_env: impl IntoIterator<Item = (String, String)>,
    env_file: Option<&Path>,
    cli: &CliOverrides,
) -> Option<String> {
    const NAME: &str = "OCPP_STATION_NAME";
    let named = |pairs: Vec<(String, String)>| {
        pairs
            .into_iter()
            .rev()
            .find(|(k, v)| k == NAME && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let from_file = env_file.and_then(|path| envfile::read(path).ok().and_then(named));
    let from_env = || named(process_env.into_iter().collect());
    cli.station_name.clone().or(from_file).or_else(from_env)
}

/// What the sources held besides the known variables.
#[derive(Default)]
struct Unknown {
    /// One sentence per ignored name.
    warnings: Vec<String>,
    /// Ignored names that look like a typo of a known one: (as given, the known one).
    typos: Vec<(String, &'static str)>,
}

/// How the values were given, for messages that point at the right place.
pub(super) struct Given<'a> {
    /// See [`Unknown::typos`].
    typos: &'a [(String, &'static str)],
    /// `--url-201` and `--url-16` were used.
    url_flags: (bool, bool),
}

impl Given<'_> {
    /// A [`ConfigError::Missing`] that names a set variable looking like a typo of `var`.
    pub(super) fn missing(&self, var: &'static str, why: &'static str) -> ConfigError {
        ConfigError::Missing {
            var,
            why,
            near_miss: self
                .typos
                .iter()
                .find(|(_, meant)| *meant == var)
                .map(|(given, _)| given.clone()),
        }
    }

    /// The flag a URL variable was overridden with, if it was.
    pub(super) fn url_flag(&self, var: &'static str) -> Option<&'static str> {
        match var {
            var::URL_201 if self.url_flags.0 => Some("--url-201"),
            var::URL_16 if self.url_flags.1 => Some("--url-16"),
            _ => None,
        }
    }
}

/// Adds one source's known variables to `merged` (overriding lower sources) and notes the
/// `OCPP_*`/`ESP32_*` names (and other spellings of known ones) that the loader does not read.
fn add_source(
    merged: &mut BTreeMap<&'static str, String>,
    unknown: &mut Unknown,
    pairs: impl IntoIterator<Item = (String, String)>,
    source: &str,
) {
    for (name, value) in pairs {
        if let Some(known) = VARIABLES.iter().copied().find(|v| *v == name) {
            merged.insert(known, value);
            continue;
        }
        if crate::logging::VARIABLES.contains(&name.as_str()) {
            // Read by the logging set-up, before the configuration is loaded.
            continue;
        }
        let miscased = VARIABLES.iter().any(|v| v.eq_ignore_ascii_case(&name));
        if !miscased && !OWNED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let meant = closest_variable(&name);
        let message = match meant {
            Some(known) if miscased => format!(
                "{name} (in {source}) is ignored: variable names are case-sensitive, \
                 did you mean {known}?"
            ),
            Some(known) => format!(
                "{name} (in {source}) is not a variable ocpp-station reads and is ignored: \
                 did you mean {known}?"
            ),
            None => format!(
                "{name} (in {source}) is not a variable ocpp-station reads and is ignored; \
                 check the spelling"
            ),
        };
        if !unknown.warnings.contains(&message) {
            unknown.warnings.push(message);
        }
        if let Some(known) = meant
            && !unknown.typos.iter().any(|(given, _)| *given == name)
        {
            unknown.typos.push((name, known));
        }
    }
}

/// `OCPP_RUNTIME_DIR` alone, from the same sources and with the same precedence and validation
/// as [`load`], without requiring anything else: `ocpp-station status` runs as any user, who may
/// not be allowed to read the env file with the password, and needs no other setting. An
/// `env_file` that cannot be read is an error (it was asked for explicitly).
pub fn load_runtime_dir(
    process_env: impl IntoIterator<Item = (String, String)>,
    env_file: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    let mut merged: BTreeMap<&'static str, String> = BTreeMap::new();
    // Warnings about other variables are for the station's start, not for this question.
    let mut ignored = Unknown::default();
    add_source(&mut merged, &mut ignored, process_env, "the environment");
    if let Some(path) = env_file {
        let pairs = envfile::read(path)?;
        add_source(&mut merged, &mut ignored, pairs, "the env file");
    }
    let value = merged
        .remove(var::RUNTIME_DIR)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    runtime_dir(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backoff::BackoffConfig;
    use crate::config::model::{AuthMode, BootInfo};
    use crate::config::testing::*;
    use crate::metrics::Thresholds;
    use crate::ocpp::OcppVersion;

    #[test]
    fn defaults() {
        let cfg = with(&[]).unwrap();
        assert_eq!(cfg.station_name, "ORGE_AC_001");
        assert_eq!(cfg.password.as_ref().unwrap().expose(), PASSWORD);
        assert_eq!(cfg.primary, OcppVersion::V201);
        assert_eq!(cfg.url_201.as_deref(), Some("wss://csms.example.com/ocpp"));
        assert_eq!(cfg.url_16, None);
        assert!(!cfg.allow_fallback, "no 1.6 URL, nothing to fall back to");
        assert_eq!(cfg.heartbeat_override, None);
        assert_eq!(cfg.auth, AuthMode::Basic);
        assert_eq!(cfg.ca_path, None);
        assert_eq!(cfg.client_cert_path, None);
        assert_eq!(cfg.client_key_path, None);
        assert_eq!(
            cfg.boot_info,
            BootInfo {
                vendor: "ocpp-station".into(),
                model: "AC-Pi".into(),
                serial_number: None,
                firmware_version: Some(env!("CARGO_PKG_VERSION").into()),
            }
        );
        assert_eq!(cfg.connectors, 1);
        assert_eq!(cfg.backoff, BackoffConfig::default());
        assert_eq!(cfg.ping_interval, Duration::from_secs(30));
        assert_eq!(cfg.call_timeout, Duration::from_secs(30));
        assert!(!cfg.boot_on_reconnect);
        assert_eq!(cfg.offline_threshold, Duration::from_secs(600));
        assert_eq!(cfg.once_timeout, Duration::from_secs(30));
        assert_eq!(cfg.state_dir, PathBuf::from("/var/lib/ocpp-station"));
        assert_eq!(
            cfg.health,
            Thresholds {
                temp_fault_c: 80.0,
                temp_hysteresis_c: 5.0,
                disk_warn_percent: 90.0,
                disk_hysteresis_percent: 5.0,
            }
        );
        assert_eq!(cfg.health, Thresholds::default());
        assert_eq!(cfg.metrics_interval, Some(Duration::from_secs(900)));
        assert_eq!(cfg.runtime_dir, PathBuf::from("/run/ocpp-station"));
        assert_eq!(cfg.warnings, Vec::<String>::new());
    }

    #[test]
    fn every_setting_can_be_changed() {
        let cfg = with(&[
            ("OCPP_PRIMARY", "1.6"),
            ("OCPP_16_URL", "wss://csms.example.com/ocpp16"),
            ("OCPP_ALLOW_FALLBACK", "no"),
            ("OCPP_HEARTBEAT_SECONDS", "120"),
            ("OCPP_VENDOR", "ORGE"),
            ("OCPP_MODEL", "AC22"),
            ("OCPP_SERIAL_NUMBER", "SN-0001"),
            ("OCPP_FIRMWARE_VERSION", "1.2.3"),
            ("OCPP_CONNECTORS", "2"),
            ("OCPP_RETRY_BACKOFF_WAIT_MINIMUM", "5"),
            ("OCPP_RETRY_BACKOFF_RANDOM_RANGE", "0"),
            ("OCPP_RETRY_BACKOFF_REPEAT_TIMES", "3"),
            ("OCPP_PING_SECONDS", "0"),
            ("OCPP_CALL_TIMEOUT_SECONDS", "45"),
            ("OCPP_BOOT_ON_RECONNECT", "ON"),
            ("OCPP_OFFLINE_THRESHOLD_SECONDS", "60"),
            ("OCPP_ONCE_TIMEOUT_SECONDS", "90"),
            ("OCPP_STATE_DIR", "/data/ocpp"),
            ("OCPP_TEMP_FAULT_C", "70"),
            ("OCPP_TEMP_HYSTERESIS_C", "8"),
            ("OCPP_DISK_WARN_PERCENT", "75"),
            ("OCPP_METRICS_SECONDS", "60"),
            ("OCPP_RUNTIME_DIR", "/tmp/ocpp-run"),
        ])
        .unwrap();
        assert_eq!(cfg.primary, OcppVersion::V16);
        assert!(!cfg.allow_fallback);
        assert_eq!(cfg.heartbeat_override, Some(Duration::from_secs(120)));
        assert_eq!(cfg.boot_info.vendor, "ORGE");
        assert_eq!(cfg.boot_info.model, "AC22");
        assert_eq!(cfg.boot_info.serial_number.as_deref(), Some("SN-0001"));
        assert_eq!(cfg.boot_info.firmware_version.as_deref(), Some("1.2.3"));
        assert_eq!(cfg.connectors, 2);
        assert_eq!(
            cfg.backoff,
            BackoffConfig {
                wait_minimum: Duration::from_secs(5),
                random_range: Duration::ZERO,
                repeat_times: 3
            }
        );
        assert_eq!(cfg.ping_interval, Duration::ZERO);
        assert_eq!(cfg.call_timeout, Duration::from_secs(45));
        assert!(cfg.boot_on_reconnect);
        assert_eq!(cfg.offline_threshold, Duration::from_secs(60));
        assert_eq!(cfg.once_timeout, Duration::from_secs(90));
        assert_eq!(cfg.state_dir, PathBuf::from("/data/ocpp"));
        assert_eq!(
            cfg.health,
            Thresholds {
                temp_fault_c: 70.0,
                temp_hysteresis_c: 8.0,
                disk_warn_percent: 75.0,
                disk_hysteresis_percent: 5.0,
            }
        );
        assert_eq!(cfg.metrics_interval, Some(Duration::from_secs(60)));
        assert_eq!(cfg.runtime_dir, PathBuf::from("/tmp/ocpp-run"));
    }

    #[test]
    fn values_are_trimmed_and_empty_means_unset() {
        let cfg = with(&[
            ("OCPP_STATION_NAME", "  ORGE_AC_002 \t"),
            ("OCPP_CONNECTORS", " 3 "),
            ("OCPP_SERIAL_NUMBER", "   "),
            ("OCPP_VENDOR", ""),
        ])
        .unwrap();
        assert_eq!(cfg.station_name, "ORGE_AC_002");
        assert_eq!(cfg.connectors, 3);
        assert_eq!(cfg.boot_info.serial_number, None);
        assert_eq!(cfg.boot_info.vendor, "ocpp-station");
        assert_eq!(
            with(&[("OCPP_STATION_NAME", " ")]).unwrap_err().variable(),
            Some("OCPP_STATION_NAME")
        );
    }

    #[test]
    fn precedence_cli_over_file_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let env = vars(&[
            ("OCPP_STATION_NAME", "FROM_ENV"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://env.example/ocpp"),
            ("OCPP_16_URL", "wss://env.example/ocpp16"),
            ("OCPP_CONNECTORS", "2"),
            ("OCPP_PING_SECONDS", "5"),
        ]);
        let file = write_file(
            &dir,
            "station.env",
            "OCPP_STATION_NAME=FROM_FILE\n\
             OCPP_201_URL=wss://file.example/ocpp\n\
             OCPP_CONNECTORS=3\n\
             OCPP_CONNECTORS=4\n\
             OCPP_16_URL=\n",
        );

        let cfg = load(env.clone(), None, &CliOverrides::default()).unwrap();
        assert_eq!(cfg.station_name, "FROM_ENV");

        let cfg = load(env.clone(), Some(&file), &CliOverrides::default()).unwrap();
        assert_eq!(cfg.station_name, "FROM_FILE");
        assert_eq!(cfg.url_201.as_deref(), Some("wss://file.example/ocpp"));
        assert_eq!(cfg.connectors, 4, "the last assignment in the file wins");
        assert_eq!(
            cfg.url_16, None,
            "an empty value in the file unsets the variable"
        );
        assert_eq!(
            cfg.ping_interval,
            Duration::from_secs(5),
            "not in the file: env"
        );
        assert_eq!(cfg.password.as_ref().unwrap().expose(), PASSWORD);

        let cli = CliOverrides {
            station_name: Some("FROM_CLI".into()),
            primary: Some("1.6".into()),
            url_201: Some("wss://cli.example/ocpp".into()),
            url_16: Some("wss://cli.example/ocpp16".into()),
            allow_fallback: Some(false),
            heartbeat_seconds: Some(77),
            connectors: Some(5),
            once_timeout_seconds: Some(12),
        };
        let cfg = load(env, Some(&file), &cli).unwrap();
        assert_eq!(cfg.station_name, "FROM_CLI");
        assert_eq!(cfg.primary, OcppVersion::V16);
        assert_eq!(cfg.url_201.as_deref(), Some("wss://cli.example/ocpp"));
        assert_eq!(cfg.url_16.as_deref(), Some("wss://cli.example/ocpp16"));
        assert!(!cfg.allow_fallback);
        assert_eq!(cfg.heartbeat_override, Some(Duration::from_secs(77)));
        assert_eq!(cfg.connectors, 5);
        assert_eq!(cfg.once_timeout, Duration::from_secs(12));
    }

    #[test]
    fn env_file_problems() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.env");
        let err = load(vars(&[]), Some(&missing), &CliOverrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::EnvFile(_)));
        assert_eq!(err.variable(), None);
        assert!(err.to_string().contains("missing.env"), "{err}");

        let broken = write_file(
            &dir,
            "broken.env",
            &format!("OCPP_STATION_PASSWORD=\"{PASSWORD}\n"),
        );
        let err = load(vars(&[]), Some(&broken), &CliOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(!err.to_string().contains(PASSWORD));
    }

    #[test]
    fn unknown_and_miscased_names_warn_others_are_ignored() {
        let cfg = with(&[
            ("OCPP_HEARTBEAT_SECOND", "60"),
            ("ocpp_connectors", "3"),
            ("PATH", "/usr/bin"),
            ("OCPP_HEARTBEAT_SECOND", "60"),
        ])
        .unwrap();
        assert_eq!(cfg.connectors, 1);
        assert_eq!(cfg.warnings.len(), 2, "{:?}", cfg.warnings);
        assert!(cfg.warnings[0].contains("OCPP_HEARTBEAT_SECOND"));
        assert!(cfg.warnings[1].contains("did you mean OCPP_CONNECTORS"));
    }

    #[test]
    fn every_variable_reaches_its_own_field() {
        fn set_fields(r: &RawVars) -> usize {
            [
                &r.station_name,
                &r.station_password,
                &r.primary,
                &r.url_201,
                &r.url_16,
                &r.allow_fallback,
                &r.heartbeat_seconds,
                &r.auth_type,
                &r.ca_path,
                &r.mtls_ca_path,
                &r.mtls_cert_path,
                &r.mtls_key_path,
                &r.vendor,
                &r.model,
                &r.serial_number,
                &r.firmware_version,
                &r.connectors,
                &r.retry_backoff_wait_minimum,
                &r.retry_backoff_random_range,
                &r.retry_backoff_repeat_times,
                &r.ping_seconds,
                &r.call_timeout_seconds,
                &r.boot_on_reconnect,
                &r.offline_threshold_seconds,
                &r.once_timeout_seconds,
                &r.state_dir,
                &r.temp_fault_c,
                &r.temp_hysteresis_c,
                &r.disk_warn_percent,
                &r.metrics_seconds,
                &r.runtime_dir,
            ]
            .iter()
            .filter(|f| f.is_some())
            .count()
        }
        let ocpp: Vec<&str> = VARIABLES
            .iter()
            .copied()
            .filter(|v| v.starts_with("OCPP_"))
            .collect();
        let all: RawVars = envy::prefixed("OCPP_")
            .from_iter(ocpp.iter().map(|v| (v.to_string(), "x".to_string())))
            .unwrap();
        assert_eq!(set_fields(&all), ocpp.len());
        let esp32: Vec<&str> = VARIABLES
            .iter()
            .copied()
            .filter(|v| v.starts_with("ESP32_"))
            .collect();
        assert_eq!(ocpp.len() + esp32.len(), VARIABLES.len());
        for name in esp32 {
            let one: RawControllerVars = envy::prefixed("ESP32_")
                .from_iter([(name.to_string(), "x".to_string())])
                .unwrap();
            let set = [&one.port, &one.baudrate, &one.stale_seconds, &one.by_id_dir];
            assert_eq!(set.iter().filter(|f| f.is_some()).count(), 1, "{name}");
        }
        for name in ocpp {
            let one: RawVars = envy::prefixed("OCPP_")
                .from_iter([(name.to_string(), "x".to_string())])
                .unwrap();
            assert_eq!(set_fields(&one), 1, "{name}");
        }
    }

    #[test]
    fn the_runtime_directory_alone_needs_nothing_else() {
        let none = Vec::<(String, String)>::new();
        assert_eq!(
            load_runtime_dir(none.clone(), None).unwrap(),
            PathBuf::from("/run/ocpp-station")
        );
        assert_eq!(
            load_runtime_dir(vars(&[("OCPP_RUNTIME_DIR", " /a ")]), None).unwrap(),
            PathBuf::from("/a")
        );
        // The env file wins over the environment, and an empty value means the default.
        let dir = tempfile::tempdir().unwrap();
        let file = write_file(
            &dir,
            "station.env",
            &format!("OCPP_STATION_PASSWORD={PASSWORD}\nOCPP_RUNTIME_DIR=/b\nOCPP_CONNECTORS=99\n"),
        );
        assert_eq!(
            load_runtime_dir(vars(&[("OCPP_RUNTIME_DIR", "/a")]), Some(&file)).unwrap(),
            PathBuf::from("/b")
        );
        let empty = write_file(&dir, "empty.env", "OCPP_RUNTIME_DIR=\n");
        assert_eq!(
            load_runtime_dir(vars(&[("OCPP_RUNTIME_DIR", "/a")]), Some(&empty)).unwrap(),
            PathBuf::from("/run/ocpp-station")
        );
        let err = load_runtime_dir(vars(&[("OCPP_RUNTIME_DIR", "rel")]), None).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_RUNTIME_DIR"));
        let missing = dir.path().join("missing.env");
        assert!(matches!(
            load_runtime_dir(none, Some(&missing)),
            Err(ConfigError::EnvFile(_))
        ));
    }

    #[test]
    fn a_misspelled_required_variable_is_named_in_the_error() {
        let base = [
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://h/ocpp"),
        ];
        for (typo, meant) in [
            ("OCPP_STATON_NAME", "OCPP_STATION_NAME"),
            ("OCPP_STATION_PASSWRD", "OCPP_STATION_PASSWORD"),
            ("ocpp_station_password", "OCPP_STATION_PASSWORD"),
            ("OCPP_201_ULR", "OCPP_201_URL"),
        ] {
            let mut env: Vec<(&str, &str)> =
                base.iter().copied().filter(|(k, _)| *k != meant).collect();
            env.push((typo, "some value"));
            let err = load(vars(&env), None, &CliOverrides::default()).unwrap_err();
            assert_eq!(err.variable(), Some(meant), "{err}");
            assert!(
                err.to_string()
                    .contains(&format!("({typo} is set: did you mean {meant}?)")),
                "{err}"
            );
        }
        // Without a near miss, the error says only what is missing.
        let env: Vec<(&str, &str)> = base[1..].to_vec();
        let err = load(vars(&env), None, &CliOverrides::default()).unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn an_unknown_variable_warning_suggests_the_closest_name() {
        let cfg = with(&[("OCPP_HEARTBEAT_SECOND", "60"), ("OCPP_WHATEVER", "1")]).unwrap();
        assert!(
            cfg.warnings.iter().any(|w| w.contains(
                "OCPP_HEARTBEAT_SECOND (in the environment) is not a variable ocpp-station reads \
                 and is ignored: did you mean OCPP_HEARTBEAT_SECONDS?"
            )),
            "{:?}",
            cfg.warnings
        );
        assert!(
            cfg.warnings
                .iter()
                .any(|w| w.contains("OCPP_WHATEVER") && w.contains("check the spelling")),
            "{:?}",
            cfg.warnings
        );
        assert!(!cfg.warnings.iter().any(|w| w.contains("some value")));
    }

    #[test]
    fn a_mistyped_esp32_variable_is_warned_about() {
        let cfg = with(&[("ESP32_BAUD", "9600")]).unwrap();
        assert!(
            cfg.warnings.iter().any(|w| w.contains("ESP32_BAUD")),
            "{:?}",
            cfg.warnings
        );
    }

    #[test]
    fn the_logging_variables_are_known_and_not_warned_about() {
        let cfg = with(&[("OCPP_LOG", "debug"), ("OCPP_LOG_FORMAT", "json")]).unwrap();
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    }
}
