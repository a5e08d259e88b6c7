//! Station configuration: environment variables (the fleet's `/etc/ocpp_station.env`), an optional
//! systemd-style env file (`--env-file`), and command-line flags that override both.
//!
//! Every value is validated once, here; the rest of the station only sees a valid [`Config`].
//! The password lives in a [`Secret`] and is never printed.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::backoff::BackoffConfig;
use crate::device_model;
use crate::envfile::{self, EnvFileError};
use crate::link::csms_url::{self, CsmsUrl, UrlProblem};
use crate::metrics::Thresholds;
use crate::metrics::monitor::DISK_HYSTERESIS_PERCENT;
use crate::ocpp::{OcppVersion, VERSION_SPELLINGS};
use crate::redact;
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
    /// 5 percentage points ([`DISK_HYSTERESIS_PERCENT`]) and has no variable.
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

/// The variable names, spelled once so that the loader, the messages and `env.example` cannot
/// drift apart.
mod var {
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
const OWNED_PREFIXES: &[&str] = &["OCPP_", "ESP32_"];

/// Variables whose value must never appear in an error or a warning.
const SECRET_VARIABLES: &[&str] = &[var::STATION_PASSWORD];

/// Default `OCPP_VENDOR` (fits 1.6 chargePointVendor, <= 20).
const DEFAULT_VENDOR: &str = "ocpp-station";
/// Default `OCPP_MODEL` (fits chargePointModel, <= 20).
const DEFAULT_MODEL: &str = "AC-Pi";
/// Default `OCPP_STATE_DIR`.
const DEFAULT_STATE_DIR: &str = "/var/lib/ocpp-station";
/// Default `OCPP_RUNTIME_DIR`: on tmpfs, so the status file never outlives a reboot.
const DEFAULT_RUNTIME_DIR: &str = "/run/ocpp-station";
/// The shortest `OCPP_METRICS_SECONDS` other than 0: more often only loads the CSMS.
const MIN_METRICS_SECONDS: u64 = 10;

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
    fn assignments(&self) -> Vec<(&'static str, String)> {
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

/// Why the configuration cannot be used. Every message names the variable and what it accepts;
/// none contains the password (the password's own errors carry no value at all, and any other
/// value that happens to contain it is replaced by `[redacted]`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A required variable is not set (or set to an empty value).
    #[error("{var} is not set: {why}{}", near_miss_hint(.near_miss.as_deref(), var))]
    Missing {
        /// The variable.
        var: &'static str,
        /// Why it is needed.
        why: &'static str,
        /// A set variable whose name is a near miss of this one (a typo), if any.
        near_miss: Option<String>,
    },
    /// A CSMS URL (variable or flag) that cannot be used.
    #[error("{}{} {problem}", flag.unwrap_or(var), shown.as_ref().map(|s| format!("='{s}'")).unwrap_or_default())]
    Url {
        /// The variable.
        var: &'static str,
        /// The command-line flag, when the URL was given there.
        flag: Option<&'static str>,
        /// The URL as it may be shown (credentials masked, shortened), or `None` when it might
        /// carry a password.
        shown: Option<String>,
        /// What is wrong.
        problem: UrlProblem,
    },
    /// A variable's value is not acceptable.
    #[error("{var}='{value}' is not valid: expected {allowed}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The value as given: control characters escaped, shortened to 80 characters, URL
        /// credentials removed.
        value: String,
        /// What would be accepted.
        allowed: String,
    },
    /// A secret variable's value is not acceptable; the value is deliberately not kept.
    #[error("{var} is not valid: expected {allowed} (the value is secret and not shown)")]
    InvalidSecret {
        /// The variable.
        var: &'static str,
        /// What would be accepted.
        allowed: String,
    },
    /// A variable names a file that cannot be used.
    #[error("{var}={}: {problem}", .path.display())]
    File {
        /// The variable.
        var: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Two variables contradict each other.
    #[error("{first} and {second} conflict: {why}")]
    Conflict {
        /// The first variable (reported by [`ConfigError::variable`]).
        first: &'static str,
        /// The second variable.
        second: &'static str,
        /// What the contradiction is and how to resolve it.
        why: String,
    },
    /// The `--env-file` could not be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// The variables could not be collected at all (not expected: every field is text).
    #[error("cannot read the OCPP_* variables: {0}")]
    Environment(String),
}

impl ConfigError {
    /// The variable to fix, when the error is about one.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            ConfigError::Missing { var, .. }
            | ConfigError::Url { var, .. }
            | ConfigError::Invalid { var, .. }
            | ConfigError::InvalidSecret { var, .. }
            | ConfigError::File { var, .. } => Some(var),
            ConfigError::Conflict { first, .. } => Some(first),
            ConfigError::EnvFile(_) | ConfigError::Environment(_) => None,
        }
    }

    /// Replaces a value that contains the password (someone pasted it into the wrong variable).
    fn scrubbed(self, password: Option<&str>) -> Self {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return self;
        };
        match self {
            ConfigError::Invalid {
                var,
                value,
                allowed,
            } if value.contains(password) => ConfigError::Invalid {
                var,
                value: "[redacted]".to_owned(),
                allowed,
            },
            ConfigError::Url {
                var,
                flag,
                shown: Some(shown),
                problem,
            } if shown.contains(password) => ConfigError::Url {
                var,
                flag,
                shown: None,
                problem,
            },
            ConfigError::Conflict { first, second, why } if why.contains(password) => {
                ConfigError::Conflict {
                    first,
                    second,
                    why: why.replace(password, "[redacted]"),
                }
            }
            other => other,
        }
    }
}

/// An `Invalid` error with the value made safe to print (or `InvalidSecret` for the password).
fn invalid(var: &'static str, value: &str, allowed: impl Into<String>) -> ConfigError {
    let allowed = allowed.into();
    if SECRET_VARIABLES.contains(&var) {
        return ConfigError::InvalidSecret { var, allowed };
    }
    ConfigError::Invalid {
        var,
        value: redact::printable(value, 80),
        allowed,
    }
}

/// The end of a [`ConfigError::Missing`] message when a set variable looks like a typo of it.
fn near_miss_hint(near_miss: Option<&str>, var: &str) -> String {
    near_miss
        .map(|given| format!(" ({given} is set: did you mean {var}?)"))
        .unwrap_or_default()
}

/// The variable `name` most likely stands for: the same name in another case, or one at most
/// two edits (a letter missing, added, changed or two swapped) away.
fn closest_variable(name: &str) -> Option<&'static str> {
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

/// The variables as text, as envy finds them (prefix stripped, lower-cased). Every field is an
/// optional string so that the validation below, not serde, words the errors. Deliberately no
/// `Debug`: it holds the password in clear.
#[derive(Default, Deserialize)]
struct RawVars {
    station_name: Option<String>,
    station_password: Option<String>,
    primary: Option<String>,
    #[serde(rename = "201_url")]
    url_201: Option<String>,
    #[serde(rename = "16_url")]
    url_16: Option<String>,
    allow_fallback: Option<String>,
    heartbeat_seconds: Option<String>,
    auth_type: Option<String>,
    ca_path: Option<String>,
    mtls_ca_path: Option<String>,
    mtls_cert_path: Option<String>,
    mtls_key_path: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
    firmware_version: Option<String>,
    connectors: Option<String>,
    retry_backoff_wait_minimum: Option<String>,
    retry_backoff_random_range: Option<String>,
    retry_backoff_repeat_times: Option<String>,
    ping_seconds: Option<String>,
    call_timeout_seconds: Option<String>,
    boot_on_reconnect: Option<String>,
    offline_threshold_seconds: Option<String>,
    once_timeout_seconds: Option<String>,
    state_dir: Option<String>,
    temp_fault_c: Option<String>,
    temp_hysteresis_c: Option<String>,
    disk_warn_percent: Option<String>,
    metrics_seconds: Option<String>,
    runtime_dir: Option<String>,
}

/// The `ESP32_*` variables as text (prefix stripped, lower-cased).
#[derive(Default, Deserialize)]
struct RawControllerVars {
    port: Option<String>,
    baudrate: Option<String>,
    stale_seconds: Option<String>,
    by_id_dir: Option<String>,
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
    let controller = controller(raw_controller).map_err(|e| e.scrubbed(password.as_deref()))?;
    let given = Given {
        typos: &unknown.typos,
        url_flags: (cli.url_201.is_some(), cli.url_16.is_some()),
    };
    let mut config =
        validate(raw, unknown.warnings, &given).map_err(|e| e.scrubbed(password.as_deref()))?;
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
struct Given<'a> {
    /// See [`Unknown::typos`].
    typos: &'a [(String, &'static str)],
    /// `--url-201` and `--url-16` were used.
    url_flags: (bool, bool),
}

impl Given<'_> {
    /// A [`ConfigError::Missing`] that names a set variable looking like a typo of `var`.
    fn missing(&self, var: &'static str, why: &'static str) -> ConfigError {
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
    fn url_flag(&self, var: &'static str) -> Option<&'static str> {
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

fn validate(
    raw: RawVars,
    mut warnings: Vec<String>,
    given: &Given<'_>,
) -> Result<Config, ConfigError> {
    let station_name = raw.station_name.ok_or_else(|| {
        given.missing(
            var::STATION_NAME,
            "it is the station identity the CSMS knows this charger by",
        )
    })?;
    check_identity(&station_name)?;

    let auth = match raw.auth_type.as_deref() {
        None => AuthMode::Basic,
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "basic" => AuthMode::Basic,
            "mtls" => AuthMode::Mtls,
            "none" => AuthMode::None,
            _ => return Err(invalid(var::AUTH_TYPE, value, "one of basic, mtls, none")),
        },
    };

    let url_201 = raw
        .url_201
        .map(|url| check_url(var::URL_201, &url, given))
        .transpose()?;
    let url_16 = raw
        .url_16
        .map(|url| check_url(var::URL_16, &url, given))
        .transpose()?;
    let url_of = |version: OcppVersion| match version {
        OcppVersion::V201 => url_201.as_ref(),
        OcppVersion::V16 => url_16.as_ref(),
    };

    let requested = raw
        .primary
        .as_deref()
        .map(|value| {
            value
                .parse::<OcppVersion>()
                .map_err(|_| invalid(var::PRIMARY, value, format!("one of {VERSION_SPELLINGS}")))
        })
        .transpose()?;
    let wanted = requested.unwrap_or(OcppVersion::V201);
    let primary = if url_of(wanted).is_some() {
        wanted
    } else if url_of(wanted.other()).is_some() {
        let other = wanted.other();
        let hint = if requested.is_some() {
            format!("set {} or change {}", url_variable(wanted), var::PRIMARY)
        } else {
            format!("set {}={other} to make this explicit", var::PRIMARY)
        };
        warnings.push(format!(
            "{} is not set, so OCPP {other} ({}) is the primary version; {hint}",
            url_variable(wanted),
            url_variable(other),
        ));
        other
    } else {
        return Err(given.missing(
            url_variable(wanted),
            "at least one of OCPP_201_URL and OCPP_16_URL must name the CSMS endpoint",
        ));
    };
    // Fallback needs somewhere to fall back to; saying so here spares every user of the flag
    // from checking the other URL again.
    let allow_fallback = boolean(var::ALLOW_FALLBACK, raw.allow_fallback, true)?
        && url_of(primary.other()).is_some();

    let password = match (auth, raw.station_password) {
        (AuthMode::Basic, Some(password)) => Some(Secret::new(password)),
        (AuthMode::Basic, None) => {
            return Err(given.missing(
                var::STATION_PASSWORD,
                "it is required when OCPP_AUTH_TYPE is basic (the default)",
            ));
        }
        (other, Some(_)) => {
            warnings.push(format!(
                "{} is set but {}={}: the password is not used",
                var::STATION_PASSWORD,
                var::AUTH_TYPE,
                auth_name(other)
            ));
            None
        }
        (_, None) => None,
    };

    for (name, url) in [(var::URL_201, &url_201), (var::URL_16, &url_16)] {
        let Some(url) = url else { continue };
        let carries_password = password
            .as_ref()
            .is_some_and(|p| !p.is_empty() && url_carries(url, p.expose()));
        if carries_password {
            return Err(ConfigError::Url {
                var: name,
                flag: given.url_flag(name),
                shown: None,
                problem: UrlProblem::Password,
            });
        }
        let plain = !url.is_tls();
        match auth {
            AuthMode::Mtls if plain => {
                return Err(ConfigError::Conflict {
                    first: var::AUTH_TYPE,
                    second: name,
                    why: "mtls (security profile 3) needs a wss:// URL".to_owned(),
                });
            }
            AuthMode::Basic if plain => warnings.push(format!(
                "{name} uses ws://: the password travels unencrypted (security profile 1); \
                 use wss:// unless the network is otherwise protected"
            )),
            _ => {}
        }
    }

    let ca = match (raw.ca_path, raw.mtls_ca_path) {
        (Some(a), Some(b)) if a != b => {
            return Err(ConfigError::Conflict {
                first: var::CA_PATH,
                second: var::MTLS_CA_PATH,
                why: format!(
                    "they name different files ({a} and {b}); {} is an alias, set only one",
                    var::MTLS_CA_PATH
                ),
            });
        }
        (Some(a), _) => Some((var::CA_PATH, a)),
        (None, Some(b)) => Some((var::MTLS_CA_PATH, b)),
        (None, None) => None,
    };
    let ca_path = ca
        .map(|(name, path)| existing_file(name, path))
        .transpose()?;

    let (client_cert_path, client_key_path) = if auth == AuthMode::Mtls {
        let cert = raw.mtls_cert_path.ok_or_else(|| {
            given.missing(
                var::MTLS_CERT_PATH,
                "the client certificate is required when OCPP_AUTH_TYPE is mtls",
            )
        })?;
        let key = raw.mtls_key_path.ok_or_else(|| {
            given.missing(
                var::MTLS_KEY_PATH,
                "the client private key is required when OCPP_AUTH_TYPE is mtls",
            )
        })?;
        (
            Some(existing_file(var::MTLS_CERT_PATH, cert)?),
            Some(existing_file(var::MTLS_KEY_PATH, key)?),
        )
    } else {
        for (name, value) in [
            (var::MTLS_CERT_PATH, &raw.mtls_cert_path),
            (var::MTLS_KEY_PATH, &raw.mtls_key_path),
        ] {
            if value.is_some() {
                warnings.push(format!(
                    "{name} is ignored because {}={}",
                    var::AUTH_TYPE,
                    auth_name(auth)
                ));
            }
        }
        (None, None)
    };

    let boot_info = BootInfo {
        vendor: ci_string(var::VENDOR, raw.vendor, 20)?
            .unwrap_or_else(|| DEFAULT_VENDOR.to_owned()),
        model: ci_string(var::MODEL, raw.model, 20)?.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        serial_number: ci_string(var::SERIAL_NUMBER, raw.serial_number, 25)?,
        firmware_version: Some(
            ci_string(var::FIRMWARE_VERSION, raw.firmware_version, 50)?
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
        ),
    };

    let heartbeat = number(
        var::HEARTBEAT_SECONDS,
        raw.heartbeat_seconds,
        0,
        // 0 is the env file's own "not set": the CSMS's interval is used.
        0..=*device_model::HEARTBEAT_INTERVAL_RANGE.end(),
        "seconds (0 = use the interval the CSMS sends)",
    )?;
    let connectors = number(var::CONNECTORS, raw.connectors, 1, 1..=8, "connectors")?;
    let backoff = BackoffConfig {
        wait_minimum: Duration::from_secs(number(
            var::BACKOFF_WAIT_MINIMUM,
            raw.retry_backoff_wait_minimum,
            3,
            device_model::RETRY_BACKOFF_WAIT_MINIMUM_RANGE,
            "seconds",
        )?),
        random_range: Duration::from_secs(number(
            var::BACKOFF_RANDOM_RANGE,
            raw.retry_backoff_random_range,
            10,
            device_model::RETRY_BACKOFF_RANDOM_RANGE_RANGE,
            "seconds",
        )?),
        repeat_times: number(
            var::BACKOFF_REPEAT_TIMES,
            raw.retry_backoff_repeat_times,
            5,
            device_model::RETRY_BACKOFF_REPEAT_TIMES_RANGE,
            "doublings",
        )?,
    };
    let ping = number(
        var::PING_SECONDS,
        raw.ping_seconds,
        30,
        device_model::WEBSOCKET_PING_INTERVAL_RANGE,
        "seconds (0 = send no pings)",
    )?;
    let call_timeout = number(
        var::CALL_TIMEOUT_SECONDS,
        raw.call_timeout_seconds,
        30,
        device_model::MESSAGE_TIMEOUT_RANGE,
        "seconds",
    )?;
    let offline_threshold = number(
        var::OFFLINE_THRESHOLD_SECONDS,
        raw.offline_threshold_seconds,
        600,
        device_model::OFFLINE_THRESHOLD_RANGE,
        "seconds",
    )?;
    let once_timeout = number(
        var::ONCE_TIMEOUT_SECONDS,
        raw.once_timeout_seconds,
        30,
        1..=600,
        "seconds",
    )?;
    let state_dir = absolute_dir(var::STATE_DIR, raw.state_dir, DEFAULT_STATE_DIR)?;
    let health = Thresholds {
        temp_fault_c: number::<u64>(
            var::TEMP_FAULT_C,
            raw.temp_fault_c,
            80,
            40..=120,
            "degrees Celsius",
        )? as f32,
        temp_hysteresis_c: number::<u64>(
            var::TEMP_HYSTERESIS_C,
            raw.temp_hysteresis_c,
            5,
            1..=30,
            "degrees Celsius",
        )? as f32,
        disk_warn_percent: number::<u64>(
            var::DISK_WARN_PERCENT,
            raw.disk_warn_percent,
            90,
            50..=99,
            "percent",
        )? as f32,
        disk_hysteresis_percent: DISK_HYSTERESIS_PERCENT,
    };
    let metrics_seconds = metrics_seconds(raw.metrics_seconds)?;
    let runtime_dir = absolute_dir(var::RUNTIME_DIR, raw.runtime_dir, DEFAULT_RUNTIME_DIR)?;

    Ok(Config {
        station_name,
        password,
        primary,
        url_201,
        url_16,
        allow_fallback,
        heartbeat_override: (heartbeat > 0).then(|| Duration::from_secs(heartbeat)),
        auth,
        ca_path,
        client_cert_path,
        client_key_path,
        boot_info,
        connectors,
        backoff,
        ping_interval: Duration::from_secs(ping),
        call_timeout: Duration::from_secs(call_timeout),
        boot_on_reconnect: boolean(var::BOOT_ON_RECONNECT, raw.boot_on_reconnect, false)?,
        offline_threshold: Duration::from_secs(offline_threshold),
        once_timeout: Duration::from_secs(once_timeout),
        state_dir,
        health,
        metrics_interval: (metrics_seconds > 0).then(|| Duration::from_secs(metrics_seconds)),
        runtime_dir,
        controller: None,
        warnings,
    })
}

/// `OCPP_METRICS_SECONDS`: 0 (never) or from [`MIN_METRICS_SECONDS`] to a day; 900 when unset.
fn metrics_seconds(value: Option<String>) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(900);
    };
    match value.parse::<u64>() {
        Ok(0) => Ok(0),
        Ok(n) if (MIN_METRICS_SECONDS..=86_400).contains(&n) => Ok(n),
        _ => Err(invalid(
            var::METRICS_SECONDS,
            &value,
            "0 (send no metrics) or a whole number of seconds from 10 to 86400",
        )),
    }
}

/// A directory variable: an absolute path (the daemon's working directory is not something to
/// depend on), or `default` when unset.
fn absolute_dir(
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
    absolute_dir(var::RUNTIME_DIR, value, DEFAULT_RUNTIME_DIR)
}

/// The serial speeds the controller's USB adapters support; the firmware uses 115200.
const BAUD_RATES: &[u32] = &[
    9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

/// The charge controller's settings. Every `ESP32_*` value is checked even without
/// `ESP32_PORT`: a wrong speed must not wait to surface until the port is configured.
fn controller(raw: RawControllerVars) -> Result<Option<ControllerConfig>, ConfigError> {
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

fn url_variable(version: OcppVersion) -> &'static str {
    match version {
        OcppVersion::V201 => var::URL_201,
        OcppVersion::V16 => var::URL_16,
    }
}

fn auth_name(auth: AuthMode) -> &'static str {
    match auth {
        AuthMode::Basic => "basic",
        AuthMode::Mtls => "mtls",
        AuthMode::None => "none",
    }
}

/// OCPP identity rules (at most 48 characters, no `:` because it separates user and password in
/// Basic auth) plus no blanks or non-ASCII, which CSMSs and URL paths handle inconsistently.
/// `.` and `..` are refused too: as the last URL path segment they would be resolved away.
fn check_identity(name: &str) -> Result<(), ConfigError> {
    let valid = (1..=48).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_graphic() && c != ':')
        && name != "."
        && name != "..";
    if valid {
        Ok(())
    } else {
        Err(invalid(
            var::STATION_NAME,
            name,
            "1 to 48 printable ASCII characters without spaces or ':', other than . and ..",
        ))
    }
}

/// A CSMS URL variable (or its flag), parsed as the dialler will use it; see
/// [`CsmsUrl::parse`] for what is refused. The error shows the value only where it cannot carry
/// a password.
fn check_url(var: &'static str, value: &str, given: &Given<'_>) -> Result<CsmsUrl, ConfigError> {
    CsmsUrl::parse(value).map_err(|problem| ConfigError::Url {
        var,
        flag: given.url_flag(var),
        shown: csms_url::shown_in_error(value, problem).map(|s| redact::printable(&s, 80)),
        problem,
    })
}

/// True when `password` appears in `url`, as written or percent-decoded.
fn url_carries(url: &CsmsUrl, password: &str) -> bool {
    url.contains(password)
        || percent_encoding::percent_decode_str(url)
            .decode_utf8_lossy()
            .contains(password)
}

/// The path, which must name an existing regular file (a typo should fail at start-up, not at
/// the first TLS handshake).
fn existing_file(var: &'static str, path: String) -> Result<PathBuf, ConfigError> {
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
fn ci_string(
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

fn boolean(var: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
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
fn number<T: TryFrom<u64>>(
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
    use super::*;

    const PASSWORD: &str = "S3cr3t-pw!";

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The smallest valid configuration, plus `extra` (later entries override earlier ones).
    fn with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://csms.example.com/ocpp"),
        ];
        all.extend_from_slice(extra);
        load(vars(&all), None, &CliOverrides::default())
    }

    fn invalid_var(extra: &[(&str, &str)]) -> &'static str {
        match with(extra) {
            Err(e @ ConfigError::Invalid { .. }) => e.variable().unwrap(),
            other => panic!("expected Invalid for {extra:?}, got {other:?}"),
        }
    }

    fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

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
    fn station_name_rules() {
        assert!(matches!(
            load(
                vars(&[("OCPP_201_URL", "wss://h/x")]),
                None,
                &CliOverrides::default()
            ),
            Err(ConfigError::Missing {
                var: "OCPP_STATION_NAME",
                ..
            })
        ));
        assert!(with(&[("OCPP_STATION_NAME", &"A".repeat(48))]).is_ok());
        for bad in [
            "A".repeat(49),
            "ORGE:1".into(),
            "ORGE 1".into(),
            "ORGÉ".into(),
            "ORGE\u{7}".into(),
        ] {
            assert_eq!(
                invalid_var(&[("OCPP_STATION_NAME", &bad)]),
                "OCPP_STATION_NAME",
                "{bad:?}"
            );
        }
        // Every other printable ASCII character is allowed (and percent-encoded in the URL).
        assert!(with(&[("OCPP_STATION_NAME", "a/b?c#d%e|f~g")]).is_ok());
    }

    #[test]
    fn password_is_required_for_basic_only() {
        let err = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_201_URL", "wss://h/x"),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_STATION_PASSWORD"));
        assert!(err.to_string().contains("basic"), "{err}");

        let cfg = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_201_URL", "wss://h/x"),
                ("OCPP_AUTH_TYPE", "none"),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.auth, AuthMode::None);
        assert_eq!(cfg.password, None);
        assert!(cfg.warnings.is_empty());

        let cfg = with(&[("OCPP_AUTH_TYPE", "None")]).unwrap();
        assert_eq!(cfg.password, None, "an unused password is not kept");
        assert!(cfg.warnings[0].contains("OCPP_STATION_PASSWORD is set but"));
    }

    #[test]
    fn primary_spellings_and_errors() {
        for (spelling, version) in [
            ("2.0.1", OcppVersion::V201),
            ("201", OcppVersion::V201),
            ("OCPP2.0.1", OcppVersion::V201),
            ("1.6", OcppVersion::V16),
            ("1.6J", OcppVersion::V16),
            ("v16", OcppVersion::V16),
        ] {
            let cfg = with(&[
                ("OCPP_PRIMARY", spelling),
                ("OCPP_16_URL", "wss://csms.example.com/ocpp16"),
            ])
            .unwrap();
            assert_eq!(cfg.primary, version, "{spelling}");
            assert!(cfg.allow_fallback);
        }
        let err = with(&[("OCPP_PRIMARY", "2.1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("OCPP_PRIMARY='2.1' is not valid: expected one of {VERSION_SPELLINGS}")
        );
    }

    #[test]
    fn the_version_with_a_url_becomes_primary_with_a_warning() {
        let only_16 = vars(&[
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_16_URL", "wss://csms.example.com/ocpp16"),
        ]);
        let cfg = load(only_16, None, &CliOverrides::default()).unwrap();
        assert_eq!(cfg.primary, OcppVersion::V16);
        assert!(!cfg.allow_fallback);
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].starts_with("OCPP_201_URL is not set, so OCPP 1.6"));
        assert!(cfg.warnings[0].contains("OCPP_PRIMARY=1.6"));

        let cfg = with(&[("OCPP_PRIMARY", "1.6")]).unwrap();
        assert_eq!(cfg.primary, OcppVersion::V201);
        assert!(cfg.warnings[0].starts_with("OCPP_16_URL is not set, so OCPP 2.0.1"));
    }

    #[test]
    fn at_least_one_url_is_required() {
        let err = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_STATION_PASSWORD", PASSWORD),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "OCPP_201_URL",
                ..
            }
        ));
        assert!(err.to_string().contains("OCPP_16_URL"), "{err}");
    }

    #[test]
    fn url_rules() {
        for bad in [
            "http://csms.example.com/ocpp",
            "csms.example.com/ocpp",
            "wss://",
            "wss:///ocpp",
            "wss://:443/ocpp",
            "wss://h/oc pp",
            "wss://h/ocpp#frag",
            "wss://h/ocpp?x=1",
            "wss://h:0/ocpp",
            "wss://h:65536/ocpp",
            "ws://127.0.0.1:99999/ocpp",
            "ws://h:port/ocpp",
            "ftp://h",
        ] {
            for var in ["OCPP_201_URL", "OCPP_16_URL"] {
                let err = with(&[(var, bad)]).unwrap_err();
                assert!(matches!(err, ConfigError::Url { .. }), "{bad}: {err:?}");
                assert_eq!(err.variable(), Some(var), "{bad}");
                assert!(err.to_string().starts_with(var), "{err}");
            }
        }
        let cfg = with(&[("OCPP_201_URL", "WSS://Csms.Example.com:8443/ocpp")]).unwrap();
        assert_eq!(
            cfg.url_201.as_deref(),
            Some("wss://csms.example.com:8443/ocpp")
        );
        let cfg = with(&[("OCPP_201_URL", "wss://[::1]:9000")]).unwrap();
        assert_eq!(cfg.url_201.as_deref(), Some("wss://[::1]:9000/"));
        for port in ["1", "65535"] {
            let cfg = with(&[("OCPP_201_URL", &format!("ws://127.0.0.1:{port}/ocpp"))]).unwrap();
            assert_eq!(cfg.url_201.unwrap().port().to_string(), port);
        }
        assert_eq!(
            with(&[("OCPP_201_URL", "ws://127.0.0.1:99999/ocpp")])
                .unwrap_err()
                .to_string(),
            "OCPP_201_URL='ws://127.0.0.1:99999/ocpp' must have a port from 1 to 65535 after \
             the host, or none (ws:// uses 80, wss:// 443)"
        );
    }

    #[test]
    fn url_credentials_are_refused_and_never_shown() {
        for url in [
            "ws://ORGE_AC_001:hunter2@127.0.0.1:9000/ocpp",
            "ws://ORGE_AC_001:hun?ter2@127.0.0.1:9000/ocpp",
            "ws://ORGE_AC_001:hun#ter2@127.0.0.1:9000/ocpp",
            "wss://hunter2@csms.example.com/ocpp",
            "wss://@csms.example.com/ocpp",
            "https://user:hunter2@csms.example.com/",
        ] {
            let err = with(&[("OCPP_201_URL", url)]).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("hunter2"), "{url}: {text}");
            assert!(
                !text.contains("hun?ter2") && !text.contains("hun#ter2"),
                "{text}"
            );
            assert_eq!(err.variable(), Some("OCPP_201_URL"), "{url}");
        }
        let err = with(&[(
            "OCPP_201_URL",
            "ws://ORGE_AC_001:hunter2@127.0.0.1:9000/ocpp",
        )])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCPP_201_URL='ws://***@127.0.0.1:9000/ocpp' must not contain user:password@ \
             credentials: the station authenticates with OCPP_STATION_NAME and \
             OCPP_STATION_PASSWORD"
        );
        // The flags are refused the same way, and named.
        let cli = CliOverrides {
            url_16: Some("wss://u:hunter2@h/ocpp16".into()),
            ..CliOverrides::default()
        };
        let env = vars(&[
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://h/ocpp"),
        ]);
        let err = load(env, None, &cli).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_16_URL"));
        assert!(
            err.to_string()
                .starts_with("--url-16='wss://***@h/ocpp16' must not"),
            "{err}"
        );
    }

    #[test]
    fn a_url_carrying_the_password_is_refused() {
        for url in [
            format!("wss://h/ocpp/{PASSWORD}"),
            "wss://h/ocpp/S3cr3t-pw%21".to_owned(),
        ] {
            let err = with(&[("OCPP_201_URL", &url)]).unwrap_err();
            assert_eq!(
                err,
                ConfigError::Url {
                    var: "OCPP_201_URL",
                    flag: None,
                    shown: None,
                    problem: UrlProblem::Password
                },
                "{url}"
            );
            assert!(!err.to_string().contains(PASSWORD), "{err}");
        }
    }

    #[test]
    fn the_identity_cannot_be_a_dot_segment() {
        for bad in [".", ".."] {
            assert_eq!(
                invalid_var(&[("OCPP_STATION_NAME", bad)]),
                "OCPP_STATION_NAME"
            );
        }
        assert!(with(&[("OCPP_STATION_NAME", "...")]).is_ok());
    }

    #[test]
    fn plain_ws_with_a_password_warns() {
        let cfg = with(&[("OCPP_201_URL", "ws://10.0.0.1:9000/ocpp")]).unwrap();
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].contains("unencrypted"));
        let cfg = with(&[("OCPP_201_URL", "ws://h/x"), ("OCPP_AUTH_TYPE", "none")]).unwrap();
        assert_eq!(cfg.warnings.len(), 1, "only the unused password: {cfg:?}");
    }

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

    #[test]
    fn boot_info_lengths() {
        assert!(with(&[("OCPP_VENDOR", &"v".repeat(20))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_VENDOR", &"v".repeat(21))]),
            "OCPP_VENDOR"
        );
        assert!(with(&[("OCPP_MODEL", &"m".repeat(20))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_MODEL", &"m".repeat(21))]),
            "OCPP_MODEL"
        );
        assert!(with(&[("OCPP_SERIAL_NUMBER", &"s".repeat(25))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_SERIAL_NUMBER", &"s".repeat(26))]),
            "OCPP_SERIAL_NUMBER"
        );
        assert!(with(&[("OCPP_FIRMWARE_VERSION", &"f".repeat(50))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_FIRMWARE_VERSION", &"f".repeat(51))]),
            "OCPP_FIRMWARE_VERSION"
        );
        assert_eq!(invalid_var(&[("OCPP_MODEL", "a\nb")]), "OCPP_MODEL");
        // Characters, not bytes, as in the JSON schemas.
        assert!(with(&[("OCPP_VENDOR", &"é".repeat(20))]).is_ok());
    }

    #[test]
    fn auth_type_values() {
        assert_eq!(
            with(&[("OCPP_AUTH_TYPE", "BASIC")]).unwrap().auth,
            AuthMode::Basic
        );
        assert_eq!(
            invalid_var(&[("OCPP_AUTH_TYPE", "token")]),
            "OCPP_AUTH_TYPE"
        );
    }

    #[test]
    fn mtls_needs_existing_cert_and_key_and_wss() {
        let dir = tempfile::tempdir().unwrap();
        let cert = write_file(&dir, "client.pem", "cert");
        let key = write_file(&dir, "client.key", "key");
        let cert_s = cert.to_str().unwrap();
        let key_s = key.to_str().unwrap();

        let err = with(&[("OCPP_AUTH_TYPE", "mtls")]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CERT_PATH"));
        let err = with(&[("OCPP_AUTH_TYPE", "mtls"), ("OCPP_MTLS_CERT_PATH", cert_s)]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_KEY_PATH"));

        let missing = dir.path().join("nope.key");
        let err = with(&[
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", cert_s),
            ("OCPP_MTLS_KEY_PATH", missing.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::File {
                var: "OCPP_MTLS_KEY_PATH",
                path: missing.clone(),
                problem: "no such file".into()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("OCPP_MTLS_KEY_PATH={}: no such file", missing.display())
        );
        let err = with(&[
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", dir.path().to_str().unwrap()),
            ("OCPP_MTLS_KEY_PATH", key_s),
        ])
        .unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CERT_PATH"));

        let mtls = [
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", cert_s),
            ("OCPP_MTLS_KEY_PATH", key_s),
        ];
        let cfg = with(&mtls).unwrap();
        assert_eq!(cfg.auth, AuthMode::Mtls);
        assert_eq!(cfg.client_cert_path.as_deref(), Some(cert.as_path()));
        assert_eq!(cfg.client_key_path.as_deref(), Some(key.as_path()));
        assert_eq!(cfg.password, None);

        let mut plain = mtls.to_vec();
        plain.push(("OCPP_16_URL", "ws://h/ocpp16"));
        assert!(matches!(
            with(&plain),
            Err(ConfigError::Conflict {
                first: "OCPP_AUTH_TYPE",
                second: "OCPP_16_URL",
                ..
            })
        ));

        // Certificate paths without mtls are ignored, with a warning.
        let cfg = with(&mtls[1..]).unwrap();
        assert_eq!(cfg.client_cert_path, None);
        assert_eq!(cfg.warnings.len(), 2);
    }

    #[test]
    fn ca_path_and_its_alias() {
        let dir = tempfile::tempdir().unwrap();
        let ca = write_file(&dir, "ca.pem", "ca");
        let other = write_file(&dir, "other.pem", "ca");
        let ca_s = ca.to_str().unwrap();

        for name in ["OCPP_CA_PATH", "OCPP_MTLS_CA_PATH"] {
            assert_eq!(with(&[(name, ca_s)]).unwrap().ca_path, Some(ca.clone()));
        }
        let both = with(&[("OCPP_CA_PATH", ca_s), ("OCPP_MTLS_CA_PATH", ca_s)]).unwrap();
        assert_eq!(both.ca_path, Some(ca.clone()));

        let err = with(&[
            ("OCPP_CA_PATH", ca_s),
            ("OCPP_MTLS_CA_PATH", other.to_str().unwrap()),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Conflict {
                first: "OCPP_CA_PATH",
                second: "OCPP_MTLS_CA_PATH",
                ..
            }
        ));

        let missing = dir.path().join("missing.pem");
        let err = with(&[("OCPP_MTLS_CA_PATH", missing.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CA_PATH"));
        assert!(err.to_string().contains("missing.pem"), "{err}");
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

    #[test]
    fn the_password_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = with(&[("OCPP_16_URL", "ws://h/x")]).unwrap();
        for text in [format!("{cfg:?}"), cfg.summary(), cfg.warnings.join(" ")] {
            assert!(!text.contains(PASSWORD), "{text}");
        }
        assert!(
            cfg.summary()
                .contains("password:            set (not shown)")
        );

        let missing = dir.path().join("x.pem");
        let bad_configs: Vec<Vec<(&str, &str)>> = vec![
            vec![("OCPP_PRIMARY", "3")],
            vec![("OCPP_STATION_NAME", "S3cr3t-pw! x")],
            vec![("OCPP_STATION_NAME", "S3cr3t-pw!:x")],
            vec![("OCPP_VENDOR", "S3cr3t-pw!S3cr3t-pw!S3cr3t-pw!")],
            vec![("OCPP_201_URL", "wss://u:S3cr3t-pw!@h/#")],
            vec![("OCPP_201_URL", "S3cr3t-pw!")],
            vec![("OCPP_AUTH_TYPE", PASSWORD)],
            vec![("OCPP_CONNECTORS", PASSWORD)],
            vec![("OCPP_AUTH_TYPE", "mtls")],
            vec![("OCPP_CA_PATH", missing.to_str().unwrap())],
        ];
        for extra in bad_configs {
            let err = with(&extra).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(PASSWORD), "{extra:?}: {shown}");
        }
        assert_eq!(
            invalid(var::STATION_PASSWORD, PASSWORD, "something"),
            ConfigError::InvalidSecret {
                var: "OCPP_STATION_PASSWORD",
                allowed: "something".into()
            }
        );
    }

    #[test]
    fn shown_values_are_escaped_and_shortened() {
        let err = with(&[("OCPP_PRIMARY", "2\u{1b}[31m")]).unwrap_err();
        assert!(
            err.to_string().contains("OCPP_PRIMARY='2\\u{1b}[31m'"),
            "{err}"
        );
        let long = "9".repeat(500);
        let err = with(&[("OCPP_CONNECTORS", &long)]).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn variable_names_every_kind_of_error() {
        assert_eq!(
            ConfigError::Conflict {
                first: "A",
                second: "B",
                why: String::new()
            }
            .variable(),
            Some("A")
        );
        assert_eq!(ConfigError::Environment(String::new()).variable(), None);
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

    const ENV_EXAMPLE: &str = include_str!("../env.example");

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
    fn the_state_directory_must_be_absolute() {
        let cfg = with(&[("OCPP_STATE_DIR", "/srv/ocpp-state/")]).unwrap();
        assert_eq!(cfg.state_dir, PathBuf::from("/srv/ocpp-state/"));
        assert!(
            cfg.summary()
                .contains("state directory:     /srv/ocpp-state/")
        );
        for bad in ["state", "./state", "~/state"] {
            assert_eq!(invalid_var(&[("OCPP_STATE_DIR", bad)]), "OCPP_STATE_DIR");
        }
    }

    #[test]
    fn metrics_can_be_switched_off_but_not_sent_too_often() {
        assert_eq!(
            with(&[("OCPP_METRICS_SECONDS", "0")])
                .unwrap()
                .metrics_interval,
            None
        );
        assert!(
            with(&[("OCPP_METRICS_SECONDS", "0")])
                .unwrap()
                .summary()
                .contains("metrics to CSMS:     off")
        );
        for bad in ["5", "abc"] {
            assert_eq!(
                with(&[("OCPP_METRICS_SECONDS", bad)])
                    .unwrap_err()
                    .to_string(),
                format!(
                    "OCPP_METRICS_SECONDS='{bad}' is not valid: expected 0 (send no metrics) or \
                     a whole number of seconds from 10 to 86400"
                )
            );
        }
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

    #[test]
    fn the_runtime_directory_must_be_absolute() {
        let cfg = with(&[("OCPP_RUNTIME_DIR", "/var/run/ocpp")]).unwrap();
        assert_eq!(cfg.runtime_dir, PathBuf::from("/var/run/ocpp"));
        assert!(cfg.summary().contains("runtime directory:   /var/run/ocpp"));
        for bad in ["run", "./run", "~/run"] {
            assert_eq!(
                invalid_var(&[("OCPP_RUNTIME_DIR", bad)]),
                "OCPP_RUNTIME_DIR"
            );
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
