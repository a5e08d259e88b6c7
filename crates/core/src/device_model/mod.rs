//! The station's configurable and reportable values, for both OCPP versions: the 2.0.1 device
//! model (GetVariables, SetVariables, GetBaseReport and GetReport with NotifyReport) and the 1.6
//! configuration keys (GetConfiguration, ChangeConfiguration).
//!
//! Pure: no I/O and no clock. Values start from the env-file configuration ([`Defaults`]);
//! whatever the CSMS changed wins over those and is handed back by [`DeviceModel::overrides`]
//! for the state file, to be passed to [`DeviceModel::new`] on the next start. Live state
//! (time, heartbeat interval, availability) is passed in with every read as a [`LiveView`].
//! A successful change returns [`Change`]s: what the station must apply.
//!
//! Both versions share one store: a 1.6 `HeartbeatInterval` and a 2.0.1
//! `OCPPCommCtrlr.HeartbeatInterval` are the same setting, as are `AuthorizationKey` and
//! `SecurityCtrlr.BasicAuthPassword`, and `ConnectionTimeOut` and `TxCtrlr.EVConnectionTimeOut`.

mod measures;
mod report;
mod settings;
mod v16_keys;
mod variables;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::backoff::BackoffConfig;
use crate::clock::format_timestamp;
use crate::health::Sample;
use crate::redact;
use crate::secret::Secret;

pub use report::ReportSelection;
pub use settings::{
    CONNECTION_TIMEOUT_RANGE, DEFAULT_CONNECTION_TIMEOUT, HEARTBEAT_INTERVAL_RANGE,
    MESSAGE_TIMEOUT_RANGE, OFFLINE_THRESHOLD_RANGE, PASSWORD_LENGTH,
    RETRY_BACKOFF_RANDOM_RANGE_RANGE, RETRY_BACKOFF_REPEAT_TIMES_RANGE,
    RETRY_BACKOFF_WAIT_MINIMUM_RANGE, WEBSOCKET_PING_INTERVAL_RANGE,
};
pub use v16_keys::GET_CONFIGURATION_MAX_KEYS;
pub use variables::{BYTES_PER_MESSAGE, ITEMS_PER_MESSAGE};
pub use wire::{
    AttributeType, Component, ComponentCriterion, ComponentVariable, ConfigurationStatus16,
    CustomReport, DataType, Evse, GetVariableData, GetVariableResult, GetVariableStatus,
    KeyValue16, Mutability, ReportBase, ReportData, SetVariableData, SetVariableResult,
    SetVariableStatus, StatusInfo, Variable, VariableAttribute, VariableCharacteristics,
};

use settings::{Invalid, Parsed, Setting, Values};
use v16_keys::{Access, Key16};
use variables::{Place, Source, Unknown, VarSpec};

/// The values the station starts from: the env-file configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// The station identity (SecurityCtrlr.Identity).
    pub identity: String,
    /// The security profile in use (SecurityCtrlr.SecurityProfile): 1 Basic over ws, 2 Basic
    /// over wss, 3 client certificate; 0 for a lab setup without authentication.
    pub security_profile: u8,
    /// Number of EVSEs, one connector each.
    pub connectors: u32,
    /// The operator's heartbeat interval; zero means the one from the Boot answer.
    pub heartbeat_interval: Duration,
    /// RetryBackOff*.
    pub backoff: BackoffConfig,
    /// WebSocketPingInterval (zero: no pings).
    pub ping_interval: Duration,
    /// OfflineThreshold.
    pub offline_threshold: Duration,
    /// MessageTimeout[Default]: how long a CALL waits for its answer.
    pub message_timeout: Duration,
    /// ChargingStation.VendorName.
    pub vendor: String,
    /// ChargingStation.Model.
    pub model: String,
    /// ChargingStation.SerialNumber (the variable is absent without one).
    pub serial_number: Option<String>,
}

/// Live state a read needs, owned by the station.
#[derive(Debug, Clone, Copy)]
pub struct LiveView<'a> {
    /// Now, for ClockCtrlr.DateTime.
    pub now_utc: DateTime<Utc>,
    /// The heartbeat interval in force (from the Boot answer unless overridden).
    pub heartbeat_interval: Duration,
    /// False while the CSMS has made the whole station Inoperative.
    pub station_operative: bool,
    /// Per EVSE (index = evse id - 1): false while the CSMS has made it Inoperative.
    pub evse_available: &'a [bool],
    /// Per EVSE (index = evse id - 1): the 2.0.1 connectorStatus last determined, e.g.
    /// `"Available"`, `"Occupied"`, `"Faulted"`.
    pub connector_status: &'a [&'static str],
    /// The latest health sample; `None` until the first one.
    pub metrics: Option<&'a Sample>,
    /// The station has a health warning (ChargingStation.Problem).
    pub station_problem: bool,
}

/// What the station must apply after a successful change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Send Heartbeat after this much silence; wins over the Boot answer's interval.
    HeartbeatInterval(Duration),
    /// Reconnect back-off.
    Backoff(BackoffConfig),
    /// WebSocket ping interval (zero: none).
    PingInterval(Duration),
    /// Offline longer than this: report every connector again.
    OfflineThreshold(Duration),
    /// CALL answer timeout.
    MessageTimeout(Duration),
    /// New Basic-auth password: reconnect with it.
    Password(Secret),
}

/// The device model. `Debug` shows no password.
#[derive(Debug, Clone)]
pub struct DeviceModel {
    identity: String,
    security_profile: u8,
    connectors: u32,
    vendor: String,
    model: String,
    serial_number: Option<String>,
    values: Values,
    /// The settings the CSMS changed: these are persisted.
    changed: BTreeSet<Setting>,
    warnings: Vec<String>,
}

/// True when the state-file key holds a secret (its value must never be shown).
pub fn is_secret_key(key: &str) -> bool {
    Setting::from_key(key).is_some_and(Setting::is_secret)
}

/// True when `name`, spelled as a CSMS may spell it in a request, names a setting that holds a
/// secret: the 2.0.1 variable BasicAuthPassword or the 1.6 key AuthorizationKey. Names are
/// matched by the very comparisons SetVariables and ChangeConfiguration use to find the setting
/// (ASCII case ignored; a 1.6 key's surrounding blanks too), so the log redaction
/// (`rpc::loggable`) withholds exactly the spellings the station accepts.
pub fn names_secret(name: &str) -> bool {
    let secret_variable = variables::VARIABLES
        .iter()
        .any(|v| v.setting.is_some_and(Setting::is_secret) && v.is_named(name));
    let secret_key = Key16::find(name).is_some_and(
        |key| matches!(key.access(), Access::WriteOnly(s) | Access::ReadWrite(s) if s.is_secret()),
    );
    secret_variable || secret_key
}

impl DeviceModel {
    /// The model for `defaults` with the CSMS's earlier changes (`overrides`, keyed as
    /// [`DeviceModel::overrides`] returns them) applied on top. An override that is unknown or
    /// no longer valid is ignored and reported by [`DeviceModel::take_warnings`].
    pub fn new(defaults: &Defaults, overrides: &BTreeMap<String, String>) -> Self {
        let heartbeat = Some(defaults.heartbeat_interval).filter(|d| !d.is_zero());
        let mut model = Self {
            identity: defaults.identity.clone(),
            security_profile: defaults.security_profile,
            connectors: defaults.connectors,
            vendor: defaults.vendor.clone(),
            model: defaults.model.clone(),
            serial_number: defaults.serial_number.clone(),
            values: Values {
                heartbeat,
                backoff: defaults.backoff,
                ping: defaults.ping_interval,
                offline_threshold: defaults.offline_threshold,
                message_timeout: defaults.message_timeout,
                password: None,
                ev_connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
                transactions: Default::default(),
            },
            changed: BTreeSet::new(),
            warnings: Vec::new(),
        };
        for (key, value) in overrides {
            let Some(setting) = Setting::from_key(key) else {
                model.warnings.push(format!(
                    "stored setting '{}' is not one this version knows; ignored",
                    redact::printable(key, 60)
                ));
                continue;
            };
            if let Err(why) = model.write(setting, value) {
                let shown = if setting.is_secret() {
                    String::new()
                } else {
                    format!(" '{}'", redact::printable(value, 40))
                };
                model.warnings.push(format!(
                    "stored value{shown} of {key} is no longer valid ({why}); using the default"
                ));
            }
        }
        model
    }

    /// Warnings about ignored overrides, once each.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// What to persist: every setting the CSMS changed, as text under its canonical key
    /// (`OCPPCommCtrlr/HeartbeatInterval`, `SecurityCtrlr/BasicAuthPassword`, ...). The password
    /// is among them, in clear, so that it survives a restart: never log this map.
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.changed
            .iter()
            .filter_map(|&s| Some((s.key().to_owned(), self.values.text(s)?)))
            .collect()
    }

    /// The heartbeat interval that wins over the Boot answer's: the CSMS's setting, else the
    /// operator's. `None`: use the Boot answer's.
    pub fn heartbeat_override(&self) -> Option<Duration> {
        self.values.heartbeat
    }

    /// The reconnect back-off.
    pub fn backoff(&self) -> BackoffConfig {
        self.values.backoff
    }

    /// The WebSocket ping interval (zero: none).
    pub fn ping_interval(&self) -> Duration {
        self.values.ping
    }

    /// The offline threshold.
    pub fn offline_threshold(&self) -> Duration {
        self.values.offline_threshold
    }

    /// The CALL answer timeout.
    pub fn message_timeout(&self) -> Duration {
        self.values.message_timeout
    }

    /// The 1.6 ConnectionTimeOut (stored and reported; the station runs no transactions).
    pub fn connection_timeout(&self) -> Duration {
        self.values.ev_connection_timeout
    }

    /// The Basic-auth password the CSMS set, which replaces the env file's; `None` when it
    /// never set one.
    pub fn password(&self) -> Option<&Secret> {
        self.values.password.as_ref()
    }

    // ----- 2.0.1 ------------------------------------------------------------------------

    /// Answers GetVariablesRequest: one result per request, in order, echoing the component
    /// and variable as given. Write-only variables are Rejected (B06).
    pub fn get_variables(
        &self,
        requests: &[GetVariableData],
        view: &LiveView,
    ) -> Vec<GetVariableResult> {
        requests
            .iter()
            .map(|request| {
                let attribute_type = request.attribute_type.unwrap_or_default();
                let (status, info, value) =
                    match self.locate(&request.component, &request.variable, attribute_type) {
                        Err((status, info)) => (status.into(), info, None),
                        Ok((spec, place)) => match self.value(spec, place, view) {
                            Some(value) => (GetVariableStatus::Accepted, None, Some(value)),
                            None => (GetVariableStatus::Rejected, no_value(spec, view), None),
                        },
                    };
                GetVariableResult {
                    attribute_status: status,
                    attribute_status_info: info,
                    attribute_type: Some(attribute_type),
                    attribute_value: value,
                    component: echo_component(&request.component),
                    variable: echo_variable(&request.variable),
                }
            })
            .collect()
    }

    /// Answers SetVariablesRequest: one result per request, in order, and the changes the
    /// station must apply (at most one per kind, reflecting the final values, and none when a
    /// value did not actually change). Read-only variables and invalid values are Rejected
    /// with a reason.
    pub fn set_variables(
        &mut self,
        requests: &[SetVariableData],
    ) -> (Vec<SetVariableResult>, Vec<Change>) {
        let before = self.values.clone();
        let results = requests
            .iter()
            .map(|request| {
                let attribute_type = request.attribute_type.unwrap_or_default();
                let (status, info) = match self.set_one(request, attribute_type) {
                    Ok(()) => (SetVariableStatus::Accepted, None),
                    Err((status, info)) => (status, info),
                };
                SetVariableResult {
                    attribute_type: Some(attribute_type),
                    attribute_status: status,
                    attribute_status_info: info,
                    component: echo_component(&request.component),
                    variable: echo_variable(&request.variable),
                }
            })
            .collect();
        let changes = changes_between(&before, &self.values);
        (results, changes)
    }

    // ----- 1.6 --------------------------------------------------------------------------

    /// Answers GetConfiguration: the known keys with their values and the unknown keys as
    /// given (cut to 50 characters, duplicates dropped). Without keys (or with an empty list)
    /// every key is listed except the write-only AuthorizationKey; asked for by name, it is
    /// listed without a value.
    pub fn get_configuration(
        &self,
        keys: Option<&[String]>,
        view: &LiveView,
    ) -> (Vec<KeyValue16>, Vec<String>) {
        let mut known = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        match keys.filter(|k| !k.is_empty()) {
            None => known.extend(
                Key16::ALL
                    .into_iter()
                    .filter(|k| !matches!(k.access(), Access::WriteOnly(_)))
                    .map(|k| self.key_value(k, view)),
            ),
            Some(keys) => {
                let mut seen = Vec::new();
                for key in keys {
                    match Key16::find(key) {
                        Some(k) if !seen.contains(&k) => {
                            seen.push(k);
                            known.push(self.key_value(k, view));
                        }
                        Some(_) => {}
                        None => {
                            let shown = clip(key, v16_keys::KEY_MAX_CHARS);
                            if !unknown.contains(&shown) {
                                unknown.push(shown);
                            }
                        }
                    }
                }
            }
        }
        (known, unknown)
    }

    /// Answers ChangeConfiguration: NotSupported for an unknown key, Rejected for a read-only
    /// key or an unacceptable value, Accepted with the change to apply (none when the value did
    /// not actually change).
    pub fn change_configuration(
        &mut self,
        key: &str,
        value: &str,
    ) -> (ConfigurationStatus16, Option<Change>) {
        let Some(key) = Key16::find(key) else {
            return (ConfigurationStatus16::NotSupported, None);
        };
        let before = self.values.clone();
        let written = match key.access() {
            Access::ReadOnly | Access::ReadOnlySetting(_) => {
                return (ConfigurationStatus16::Rejected, None);
            }
            Access::WriteOnly(setting) => v16_keys::authorization_key_password(value)
                .and_then(|password| self.write(setting, &password)),
            Access::ReadWrite(setting) => self.write(setting, value),
        };
        match written {
            Ok(()) => (
                ConfigurationStatus16::Accepted,
                changes_between(&before, &self.values).into_iter().next(),
            ),
            Err(_) => (ConfigurationStatus16::Rejected, None),
        }
    }

    // ----- internals --------------------------------------------------------------------

    /// An override is by definition in force, even before the station applied the change.
    fn heartbeat_in_force(&self, view: &LiveView) -> Duration {
        self.values.heartbeat.unwrap_or(view.heartbeat_interval)
    }

    fn write(&mut self, setting: Setting, text: &str) -> Result<(), Invalid> {
        let parsed: Parsed = settings::parse(setting, text)?;
        self.values.apply(setting, parsed);
        self.changed.insert(setting);
        Ok(())
    }

    /// The variable a request names, if the station has it with that attribute.
    fn locate(
        &self,
        component: &Component,
        variable: &Variable,
        attribute_type: AttributeType,
    ) -> Result<(&'static VarSpec, Place), (Lookup, Option<StatusInfo>)> {
        let found = variables::resolve(
            component,
            variable,
            self.connectors,
            self.serial_number.is_some(),
        );
        match found {
            Err(Unknown::Component { reason_code, info }) => {
                Err((Lookup::UnknownComponent, status_info(reason_code, &info)))
            }
            Err(Unknown::Variable) => Err((
                Lookup::UnknownVariable,
                status_info("NotFound", "the component has no such variable"),
            )),
            Ok(_) if attribute_type != AttributeType::Actual => Err((
                Lookup::NotSupportedAttributeType,
                status_info("UnsupportedParam", "only the Actual attribute exists"),
            )),
            Ok(found) => Ok(found),
        }
    }

    fn set_one(
        &mut self,
        request: &SetVariableData,
        attribute_type: AttributeType,
    ) -> Result<(), (SetVariableStatus, Option<StatusInfo>)> {
        let (spec, _) = self
            .locate(&request.component, &request.variable, attribute_type)
            .map_err(|(status, info)| (status.into(), info))?;
        let Some(setting) = spec.setting else {
            return Err((
                SetVariableStatus::Rejected,
                status_info("ReadOnly", "the variable is read-only"),
            ));
        };
        self.write(setting, &request.attribute_value)
            .map_err(|why| {
                (
                    SetVariableStatus::Rejected,
                    status_info(why.reason_code, &why.info),
                )
            })
    }

    /// The value of `spec` at `place` as OCPP text; `None` for the write-only password and for
    /// a health value not measured (yet, or at all on this machine).
    fn value(&self, spec: &VarSpec, place: Place, view: &LiveView) -> Option<String> {
        let evse = match place {
            Place::Station => None,
            Place::Evse(n) | Place::Connector(n) => Some(n),
        };
        let text = match spec.source {
            Source::Setting(setting) if setting.is_secret() => return None,
            Source::Setting(setting) => self.values.text(setting)?,
            Source::Heartbeat => self.heartbeat_in_force(view).as_secs().to_string(),
            // One connection, configured by the env file: slot 0.
            Source::NetworkConfigurationPriority => "0".to_owned(),
            Source::Identity => self.identity.clone(),
            Source::SecurityProfile => self.security_profile.to_string(),
            Source::ItemsPerMessage => ITEMS_PER_MESSAGE.to_string(),
            Source::BytesPerMessage => BYTES_PER_MESSAGE.to_string(),
            Source::DateTime => format_timestamp(view.now_utc),
            Source::TimeSources => variables::TIME_SOURCE.to_owned(),
            Source::AvailabilityState => match evse {
                None => station_state(view).to_owned(),
                Some(n) => connector_state(view, n).to_owned(),
            },
            Source::Available => match evse {
                None => view.station_operative.to_string(),
                Some(n) => evse_available(view, n).to_string(),
            },
            Source::Problem => match evse {
                None => view.station_problem.to_string(),
                Some(n) => (connector_state(view, n) == "Faulted").to_string(),
            },
            Source::Model => self.model.clone(),
            Source::VendorName => self.vendor.clone(),
            Source::SerialNumber => self.serial_number.clone()?,
            Source::ConnectorType => variables::CONNECTOR_TYPE.to_owned(),
            Source::Measured(measure) => measure.read(view.metrics?)?,
        };
        Some(text)
    }

    fn report_entry(&self, spec: &VarSpec, place: Place, view: &LiveView) -> ReportData {
        let (component, variable) = variables::address(spec, place);
        let limits = spec.setting.and_then(Setting::limits);
        ReportData {
            component,
            variable,
            variable_attribute: vec![VariableAttribute {
                attribute_type: AttributeType::Actual,
                value: self.value(spec, place, view),
                mutability: spec.mutability(),
                persistent: spec.persistent(),
                constant: spec.constant(),
            }],
            variable_characteristics: Some(VariableCharacteristics {
                unit: spec.unit.map(str::to_owned),
                data_type: spec.data_type,
                min_limit: limits.map(|(min, _)| min),
                max_limit: limits.map(|(_, max)| max),
                values_list: spec.values_list.map(str::to_owned),
                supports_monitoring: false,
            }),
        }
    }

    fn key_value(&self, key: Key16, view: &LiveView) -> KeyValue16 {
        let value = match (key, key.access()) {
            (_, Access::WriteOnly(_)) => None,
            (Key16::HeartbeatInterval, _) => {
                Some(self.heartbeat_in_force(view).as_secs().to_string())
            }
            (_, Access::ReadWrite(setting) | Access::ReadOnlySetting(setting)) => {
                self.values.text(setting)
            }
            (Key16::GetConfigurationMaxKeys, _) => Some(GET_CONFIGURATION_MAX_KEYS.to_string()),
            (Key16::NumberOfConnectors, _) => Some(self.connectors.to_string()),
            (Key16::SecurityProfile, _) => Some(self.security_profile.to_string()),
            (Key16::SupportedFeatureProfiles, _) => Some("Core".to_owned()),
            (Key16::ConnectorPhaseRotation, _) => {
                Some(v16_keys::CONNECTOR_PHASE_ROTATION.to_owned())
            }
            // A Reset ends the process and systemd starts it again: nothing to retry.
            (Key16::ResetRetries, _) => Some("0".to_owned()),
            // A fixed cable: there is no connector lock to release.
            (Key16::UnlockConnectorOnEvSideDisconnect, _) => Some("false".to_owned()),
            (_, Access::ReadOnly) => None,
        };
        KeyValue16 {
            key: key.name().to_owned(),
            readonly: key.access().is_read_only(),
            value,
        }
    }
}

/// The lookup outcomes shared by Get and Set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    UnknownComponent,
    UnknownVariable,
    NotSupportedAttributeType,
}

impl From<Lookup> for GetVariableStatus {
    fn from(lookup: Lookup) -> Self {
        match lookup {
            Lookup::UnknownComponent => GetVariableStatus::UnknownComponent,
            Lookup::UnknownVariable => GetVariableStatus::UnknownVariable,
            Lookup::NotSupportedAttributeType => GetVariableStatus::NotSupportedAttributeType,
        }
    }
}

impl From<Lookup> for SetVariableStatus {
    fn from(lookup: Lookup) -> Self {
        match lookup {
            Lookup::UnknownComponent => SetVariableStatus::UnknownComponent,
            Lookup::UnknownVariable => SetVariableStatus::UnknownVariable,
            Lookup::NotSupportedAttributeType => SetVariableStatus::NotSupportedAttributeType,
        }
    }
}

/// The longest additionalInfo (StatusInfoType).
const ADDITIONAL_INFO_MAX_CHARS: usize = 512;
/// The longest component/variable name or instance (ComponentType, VariableType).
const NAME_MAX_CHARS: usize = 50;

fn status_info(reason_code: &str, info: &str) -> Option<StatusInfo> {
    Some(StatusInfo {
        reason_code: clip(reason_code, 20),
        additional_info: Some(clip(info, ADDITIONAL_INFO_MAX_CHARS)),
    })
}

/// Why a variable the station has gives no value (GetVariables answers Rejected with it).
fn no_value(spec: &VarSpec, view: &LiveView) -> Option<StatusInfo> {
    match (spec.mutability(), view.metrics) {
        (Mutability::WriteOnly, _) => status_info("WriteOnly", "the variable is write-only"),
        (_, None) => status_info(
            "Unspecified",
            "not measured yet: the first sample is due shortly",
        ),
        (_, Some(_)) => status_info("Unspecified", "this machine does not report this value"),
    }
}

/// `text` cut to `max` characters, so that an echo stays within the schema's lengths.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn echo_component(component: &Component) -> Component {
    Component {
        name: clip(&component.name, NAME_MAX_CHARS),
        instance: component
            .instance
            .as_deref()
            .map(|i| clip(i, NAME_MAX_CHARS)),
        evse: component.evse,
    }
}

fn echo_variable(variable: &Variable) -> Variable {
    Variable {
        name: clip(&variable.name, NAME_MAX_CHARS),
        instance: variable
            .instance
            .as_deref()
            .map(|i| clip(i, NAME_MAX_CHARS)),
    }
}

/// What changed between two sets of values, one [`Change`] per kind, in a fixed order.
fn changes_between(before: &Values, after: &Values) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.heartbeat != after.heartbeat
        && let Some(interval) = after.heartbeat
    {
        changes.push(Change::HeartbeatInterval(interval));
    }
    if before.backoff != after.backoff {
        changes.push(Change::Backoff(after.backoff));
    }
    if before.ping != after.ping {
        changes.push(Change::PingInterval(after.ping));
    }
    if before.offline_threshold != after.offline_threshold {
        changes.push(Change::OfflineThreshold(after.offline_threshold));
    }
    if before.message_timeout != after.message_timeout {
        changes.push(Change::MessageTimeout(after.message_timeout));
    }
    if before.password != after.password
        && let Some(password) = &after.password
    {
        changes.push(Change::Password(password.clone()));
    }
    changes
}

/// EVSE `n`'s connector status; a missing entry reads Unavailable (nothing vouches for it).
fn connector_state(view: &LiveView, evse: u32) -> &'static str {
    evse.checked_sub(1)
        .and_then(|i| view.connector_status.get(i as usize))
        .copied()
        .unwrap_or("Unavailable")
}

/// EVSE `n` is operative: neither it nor the station was made Inoperative. A missing entry
/// reads operative, as when nothing was ever changed.
fn evse_available(view: &LiveView, evse: u32) -> bool {
    let own = evse
        .checked_sub(1)
        .and_then(|i| view.evse_available.get(i as usize))
        .copied()
        .unwrap_or(true);
    view.station_operative && own
}

/// The station as a whole: Unavailable when Inoperative; otherwise the most usable state any
/// connector is in (Available, then Occupied, Reserved), Faulted when every connector is, and
/// Unavailable when none can be used.
fn station_state(view: &LiveView) -> &'static str {
    if !view.station_operative {
        return "Unavailable";
    }
    let states = view.connector_status;
    for wanted in ["Available", "Occupied", "Reserved"] {
        if states.contains(&wanted) {
            return wanted;
        }
    }
    if !states.is_empty() && states.iter().all(|s| *s == "Faulted") {
        "Faulted"
    } else {
        "Unavailable"
    }
}
