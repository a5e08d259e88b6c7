//! The 2.0.1 components and variables the station has, and how a request names one.
//!
//! Names follow OCPP 2.0.1 Part 2 Appendices (standardized components and variables). Component
//! and variable names and instances are case-insensitive on the wire, so they are matched
//! ignoring ASCII case. Only variables the station really has are listed; required variables of
//! functions it does not implement (transactions, file transfer, network profiles, metering)
//! are left out rather than reported with invented values.

use super::measures::{self, Measure};
use super::settings::Setting;
use super::wire::{Component, DataType, Mutability, Variable};

/// ItemsPerMessage / BytesPerMessage of DeviceDataCtrlr: the most items (and bytes) the station
/// accepts in one GetReport, GetVariables or SetVariables request.
pub const ITEMS_PER_MESSAGE: u32 = 50;
/// See [`ITEMS_PER_MESSAGE`].
pub const BYTES_PER_MESSAGE: u32 = 65_536;

/// The 2.0.1 connector statuses, also the values of AvailabilityState.
pub(crate) const AVAILABILITY_STATES: &str = "Available,Occupied,Reserved,Unavailable,Faulted";

/// How the station's clock is set: by the operating system's NTP client. The station checks the
/// CSMS's `currentTime` but never sets the clock from it.
pub(crate) const TIME_SOURCE: &str = "NTP";

/// The connector of this AC charger: a fixed (tethered) IEC 62196 Type 2 cable.
pub(crate) const CONNECTOR_TYPE: &str = "cType2";

/// Where a variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A controller component, or ChargingStation.
    Station,
    /// EVSE `n`.
    Evse(u32),
    /// Connector 1 of EVSE `n`.
    Connector(u32),
}

/// The kinds of component, by how they are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Station,
    Evse,
    Connector,
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A setting (written by the CSMS, default from the env file).
    Setting(Setting),
    /// The heartbeat interval in force (from the Boot answer unless overridden).
    Heartbeat,
    NetworkConfigurationPriority,
    Identity,
    SecurityProfile,
    ItemsPerMessage,
    BytesPerMessage,
    DateTime,
    TimeSources,
    AvailabilityState,
    Available,
    /// The standard `Problem`: a connector Faulted, the station with a health warning (the
    /// same variable NotifyEvent reports on).
    Problem,
    Model,
    VendorName,
    SerialNumber,
    ConnectorType,
    /// The latest health sample (read-only, changes with every sample).
    Measured(Measure),
}

/// One variable of a component.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VarSpec {
    pub component: &'static str,
    pub scope: Scope,
    pub name: &'static str,
    pub instance: Option<&'static str>,
    pub data_type: DataType,
    pub unit: Option<&'static str>,
    pub values_list: Option<&'static str>,
    pub source: Source,
    /// What SetVariables writes; `None` for read-only variables.
    pub setting: Option<Setting>,
    /// Part of the SummaryInventory report.
    pub summary: bool,
}

impl VarSpec {
    pub(crate) fn mutability(&self) -> Mutability {
        match self.setting {
            None => Mutability::ReadOnly,
            Some(s) if s.is_secret() => Mutability::WriteOnly,
            Some(_) => Mutability::ReadWrite,
        }
    }

    /// Whether a request's variable name names this variable: the comparison [`resolve`] uses,
    /// shared with the log redaction (`super::names_secret`) so the two cannot disagree.
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Fixed for the life of the process (configuration, not state).
    pub(crate) fn constant(&self) -> bool {
        self.setting.is_none()
            && !matches!(
                self.source,
                Source::DateTime
                    | Source::AvailabilityState
                    | Source::Available
                    | Source::Problem
                    | Source::Measured(_)
            )
    }

    /// Survives a restart: configuration, settings and the persisted availability.
    pub(crate) fn persistent(&self) -> bool {
        !matches!(
            self.source,
            Source::DateTime | Source::AvailabilityState | Source::Problem | Source::Measured(_)
        )
    }
}

const fn var(
    component: &'static str,
    scope: Scope,
    name: &'static str,
    data_type: DataType,
    source: Source,
) -> VarSpec {
    VarSpec {
        component,
        scope,
        name,
        instance: None,
        data_type,
        unit: None,
        values_list: None,
        source,
        setting: None,
        summary: false,
    }
}

const fn seconds(setting: Setting, name: &'static str) -> VarSpec {
    VarSpec {
        unit: Some("s"),
        setting: Some(setting),
        ..var(
            "OCPPCommCtrlr",
            Scope::Station,
            name,
            DataType::Integer,
            Source::Setting(setting),
        )
    }
}

const fn count(setting: Setting, name: &'static str) -> VarSpec {
    VarSpec {
        setting: Some(setting),
        ..var(
            "OCPPCommCtrlr",
            Scope::Station,
            name,
            DataType::Integer,
            Source::Setting(setting),
        )
    }
}

const fn device_data(name: &'static str, instance: &'static str, source: Source) -> VarSpec {
    VarSpec {
        instance: Some(instance),
        ..var(
            "DeviceDataCtrlr",
            Scope::Station,
            name,
            DataType::Integer,
            source,
        )
    }
}

const fn availability_state(component: &'static str, scope: Scope) -> VarSpec {
    VarSpec {
        values_list: Some(AVAILABILITY_STATES),
        summary: true,
        ..var(
            component,
            scope,
            "AvailabilityState",
            DataType::OptionList,
            Source::AvailabilityState,
        )
    }
}

const fn available(component: &'static str, scope: Scope) -> VarSpec {
    VarSpec {
        summary: true,
        ..var(
            component,
            scope,
            "Available",
            DataType::Boolean,
            Source::Available,
        )
    }
}

const fn problem(component: &'static str, scope: Scope) -> VarSpec {
    VarSpec {
        summary: true,
        ..var(
            component,
            scope,
            "Problem",
            DataType::Boolean,
            Source::Problem,
        )
    }
}

const fn health(
    name: &'static str,
    instance: Option<&'static str>,
    data_type: DataType,
    unit: Option<&'static str>,
    measure: Measure,
) -> VarSpec {
    VarSpec {
        instance,
        unit,
        ..var(
            measures::COMPONENT,
            Scope::Station,
            name,
            data_type,
            Source::Measured(measure),
        )
    }
}

/// Every variable, in report order. EVSE and Connector entries repeat per EVSE.
pub(crate) const VARIABLES: &[VarSpec] = &[
    VarSpec {
        unit: Some("s"),
        setting: Some(Setting::HeartbeatInterval),
        ..var(
            "OCPPCommCtrlr",
            Scope::Station,
            "HeartbeatInterval",
            DataType::Integer,
            Source::Heartbeat,
        )
    },
    VarSpec {
        instance: Some("Default"),
        ..seconds(Setting::MessageTimeout, "MessageTimeout")
    },
    var(
        "OCPPCommCtrlr",
        Scope::Station,
        "NetworkConfigurationPriority",
        DataType::SequenceList,
        Source::NetworkConfigurationPriority,
    ),
    seconds(Setting::OfflineThreshold, "OfflineThreshold"),
    count(Setting::RetryBackOffRandomRange, "RetryBackOffRandomRange"),
    count(Setting::RetryBackOffRepeatTimes, "RetryBackOffRepeatTimes"),
    count(Setting::RetryBackOffWaitMinimum, "RetryBackOffWaitMinimum"),
    seconds(Setting::WebSocketPingInterval, "WebSocketPingInterval"),
    VarSpec {
        setting: Some(Setting::BasicAuthPassword),
        ..var(
            "SecurityCtrlr",
            Scope::Station,
            "BasicAuthPassword",
            DataType::String,
            Source::Setting(Setting::BasicAuthPassword),
        )
    },
    var(
        "SecurityCtrlr",
        Scope::Station,
        "Identity",
        DataType::String,
        Source::Identity,
    ),
    var(
        "SecurityCtrlr",
        Scope::Station,
        "SecurityProfile",
        DataType::Integer,
        Source::SecurityProfile,
    ),
    device_data("BytesPerMessage", "GetReport", Source::BytesPerMessage),
    device_data("BytesPerMessage", "GetVariables", Source::BytesPerMessage),
    device_data("BytesPerMessage", "SetVariables", Source::BytesPerMessage),
    device_data("ItemsPerMessage", "GetReport", Source::ItemsPerMessage),
    device_data("ItemsPerMessage", "GetVariables", Source::ItemsPerMessage),
    device_data("ItemsPerMessage", "SetVariables", Source::ItemsPerMessage),
    var(
        "ClockCtrlr",
        Scope::Station,
        "DateTime",
        DataType::DateTime,
        Source::DateTime,
    ),
    VarSpec {
        values_list: Some(TIME_SOURCE),
        ..var(
            "ClockCtrlr",
            Scope::Station,
            "TimeSource",
            DataType::SequenceList,
            Source::TimeSources,
        )
    },
    availability_state("ChargingStation", Scope::Station),
    available("ChargingStation", Scope::Station),
    problem("ChargingStation", Scope::Station),
    var(
        "ChargingStation",
        Scope::Station,
        "Model",
        DataType::String,
        Source::Model,
    ),
    var(
        "ChargingStation",
        Scope::Station,
        "SerialNumber",
        DataType::String,
        Source::SerialNumber,
    ),
    var(
        "ChargingStation",
        Scope::Station,
        "VendorName",
        DataType::String,
        Source::VendorName,
    ),
    health(
        "CpuLoad",
        None,
        DataType::Decimal,
        Some("Percent"),
        Measure::CpuLoad,
    ),
    health(
        "LoadAverage",
        Some("1min"),
        DataType::Decimal,
        None,
        Measure::LoadAverage(0),
    ),
    health(
        "LoadAverage",
        Some("5min"),
        DataType::Decimal,
        None,
        Measure::LoadAverage(1),
    ),
    health(
        "LoadAverage",
        Some("15min"),
        DataType::Decimal,
        None,
        Measure::LoadAverage(2),
    ),
    health(
        "MemoryUsed",
        None,
        DataType::Integer,
        Some("B"),
        Measure::MemoryUsed,
    ),
    health(
        "MemoryTotal",
        None,
        DataType::Integer,
        Some("B"),
        Measure::MemoryTotal,
    ),
    health(
        "Temperature",
        None,
        DataType::Decimal,
        Some("Celsius"),
        Measure::Temperature,
    ),
    health(
        "DiskUsed",
        Some("Root"),
        DataType::Decimal,
        Some("Percent"),
        Measure::DiskRoot,
    ),
    health(
        "DiskUsed",
        Some("StateDir"),
        DataType::Decimal,
        Some("Percent"),
        Measure::DiskState,
    ),
    health(
        "Uptime",
        None,
        DataType::Integer,
        Some("s"),
        Measure::Uptime,
    ),
    health(
        "UnderVoltage",
        None,
        DataType::Boolean,
        None,
        Measure::UnderVoltage,
    ),
    health(
        "Throttled",
        None,
        DataType::Boolean,
        None,
        Measure::Throttled,
    ),
    health(
        "ProcessMemory",
        None,
        DataType::Integer,
        Some("B"),
        Measure::ProcessMemory,
    ),
    availability_state("EVSE", Scope::Evse),
    available("EVSE", Scope::Evse),
    availability_state("Connector", Scope::Connector),
    available("Connector", Scope::Connector),
    problem("Connector", Scope::Connector),
    var(
        "Connector",
        Scope::Connector,
        "ConnectorType",
        DataType::String,
        Source::ConnectorType,
    ),
];

/// Why a request names no variable of the station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// No such component, EVSE or connector; the reason code says which.
    Component {
        reason_code: &'static str,
        info: String,
    },
    /// The component has no such variable or instance.
    Variable,
}

/// The variable `component`/`variable` names, given `evses` EVSEs (one connector each).
///
/// A variable that only exists with instances (MessageTimeout[Default], ItemsPerMessage[...])
/// asked for without an instance resolves to its first instance (2.0.1 errata). A Connector
/// addressed without `connectorId` means connector 1, the only one each EVSE has.
pub(crate) fn resolve(
    component: &Component,
    variable: &Variable,
    evses: u32,
    has_serial: bool,
) -> Result<(&'static VarSpec, Place), Unknown> {
    let unknown_component = |info: &str| Unknown::Component {
        reason_code: "NotFound",
        info: info.to_owned(),
    };
    let Some(first) = VARIABLES
        .iter()
        .find(|v| v.component.eq_ignore_ascii_case(&component.name))
    else {
        return Err(unknown_component("no such component"));
    };
    if component.instance.as_deref().is_some_and(|i| !i.is_empty()) {
        return Err(unknown_component("the component has no instances"));
    }
    let place = match (first.scope, component.evse) {
        (Scope::Station, None) => Place::Station,
        (Scope::Station, Some(_)) => {
            return Err(unknown_component(
                "the component belongs to the station, not an EVSE",
            ));
        }
        (Scope::Evse | Scope::Connector, None) => {
            return Err(unknown_component("the component needs an evse id"));
        }
        (scope, Some(evse)) => {
            let id = u32::try_from(evse.id)
                .ok()
                .filter(|id| (1..=evses).contains(id))
                .ok_or_else(|| Unknown::Component {
                    reason_code: "UnknownEvse",
                    info: format!("EVSE ids are 1..{evses}"),
                })?;
            match (scope, evse.connector_id) {
                (Scope::Evse, None) => Place::Evse(id),
                (Scope::Evse, Some(_)) => {
                    return Err(unknown_component("an EVSE component takes no connectorId"));
                }
                (_, None | Some(1)) => Place::Connector(id),
                (_, Some(_)) => {
                    return Err(Unknown::Component {
                        reason_code: "UnknownConnectorId",
                        info: "each EVSE has connector 1 only".to_owned(),
                    });
                }
            }
        }
    };
    let wanted_instance = variable.instance.as_deref().filter(|i| !i.is_empty());
    let spec = VARIABLES
        .iter()
        .filter(|v| v.component.eq_ignore_ascii_case(&component.name) && v.is_named(&variable.name))
        .find(|v| match (wanted_instance, v.instance) {
            (None, _) => true,
            (Some(wanted), Some(have)) => have.eq_ignore_ascii_case(wanted),
            (Some(_), None) => false,
        })
        .filter(|v| has_serial || v.source != Source::SerialNumber)
        .ok_or(Unknown::Variable)?;
    Ok((spec, place))
}

/// Every variable of a station with `evses` EVSEs, in report order.
pub(crate) fn all(evses: u32, has_serial: bool) -> Vec<(&'static VarSpec, Place)> {
    let present = |v: &&VarSpec| has_serial || v.source != Source::SerialNumber;
    let mut out: Vec<(&'static VarSpec, Place)> = VARIABLES
        .iter()
        .filter(|v| v.scope == Scope::Station)
        .filter(present)
        .map(|v| (v, Place::Station))
        .collect();
    for evse in 1..=evses {
        out.extend(
            VARIABLES
                .iter()
                .filter(|v| v.scope == Scope::Evse)
                .map(|v| (v, Place::Evse(evse))),
        );
        out.extend(
            VARIABLES
                .iter()
                .filter(|v| v.scope == Scope::Connector)
                .map(|v| (v, Place::Connector(evse))),
        );
    }
    out
}

/// The ComponentType and VariableType that name `spec` at `place`, for reports.
pub(crate) fn address(spec: &VarSpec, place: Place) -> (Component, Variable) {
    let evse = match place {
        Place::Station => None,
        Place::Evse(n) => Some(super::wire::Evse {
            id: i32::try_from(n).unwrap_or(i32::MAX),
            connector_id: None,
        }),
        Place::Connector(n) => Some(super::wire::Evse {
            id: i32::try_from(n).unwrap_or(i32::MAX),
            connector_id: Some(1),
        }),
    };
    (
        Component {
            name: spec.component.to_owned(),
            instance: None,
            evse,
        },
        Variable {
            name: spec.name.to_owned(),
            instance: spec.instance.map(str::to_owned),
        },
    )
}
