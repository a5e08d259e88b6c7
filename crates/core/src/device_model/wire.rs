//! The 2.0.1 device-model shapes (GetVariables, SetVariables, GetBaseReport, GetReport,
//! NotifyReport) and the 1.6 GetConfiguration/ChangeConfiguration ones.
//!
//! Requests arrive already read and checked (`ocpp::v201`, `ocpp::v16`); answers and reports are
//! written from these types strictly: only schema fields, absent optionals omitted, never `null`.

use serde::Serialize;

/// 2.0.1 ComponentType.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Component name (case-insensitive on input).
    pub name: String,
    /// Component instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The EVSE (and connector) the component belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse: Option<Evse>,
}

/// 2.0.1 EVSEType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evse {
    /// EVSE id, from 1.
    pub id: i32,
    /// Connector id within the EVSE, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i32>,
}

/// 2.0.1 VariableType.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Variable name (case-insensitive on input).
    pub name: String,
    /// Variable instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// 2.0.1 AttributeEnumType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum AttributeType {
    /// The actual value: the only attribute the station has.
    #[default]
    Actual,
    /// Target value.
    Target,
    /// Minimal allowed value.
    MinSet,
    /// Maximum allowed value.
    MaxSet,
}

/// 2.0.1 MutabilityEnumType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mutability {
    /// Reported, never set by the CSMS.
    ReadOnly,
    /// Set by the CSMS, never reported (a secret).
    WriteOnly,
    /// Both.
    ReadWrite,
}

/// 2.0.1 DataEnumType (the ones the station uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DataType {
    /// Free text.
    #[serde(rename = "string")]
    String,
    /// Whole number.
    #[serde(rename = "integer")]
    Integer,
    /// Number with a fractional part.
    #[serde(rename = "decimal")]
    Decimal,
    /// RFC 3339 timestamp.
    #[serde(rename = "dateTime")]
    DateTime,
    /// `true` / `false`.
    #[serde(rename = "boolean")]
    Boolean,
    /// One of `valuesList`.
    OptionList,
    /// An ordered, comma-separated list of `valuesList` entries.
    SequenceList,
}

/// 2.0.1 StatusInfoType.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// A standard reason code, at most 20 characters.
    pub reason_code: String,
    /// A sentence for the operator, at most 512 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
}

/// One entry of GetVariablesRequest.getVariableData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetVariableData {
    /// Which attribute; absent means `Actual`.
    pub attribute_type: Option<AttributeType>,
    /// The component.
    pub component: Component,
    /// The variable.
    pub variable: Variable,
}

/// 2.0.1 GetVariableStatusEnumType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GetVariableStatus {
    /// The value is in `attributeValue`.
    Accepted,
    /// Known but not readable (write-only).
    Rejected,
    /// No such component (or EVSE/connector).
    UnknownComponent,
    /// The component has no such variable (or instance).
    UnknownVariable,
    /// The variable has no such attribute.
    NotSupportedAttributeType,
}

/// One entry of GetVariablesResponse.getVariableResult.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetVariableResult {
    /// The outcome.
    pub attribute_status: GetVariableStatus,
    /// Why, when not Accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_status_info: Option<StatusInfo>,
    /// The attribute asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<AttributeType>,
    /// The value, when Accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_value: Option<String>,
    /// The component as asked for.
    pub component: Component,
    /// The variable as asked for.
    pub variable: Variable,
}

/// One entry of SetVariablesRequest.setVariableData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVariableData {
    /// Which attribute; absent means `Actual`.
    pub attribute_type: Option<AttributeType>,
    /// The new value as text.
    pub attribute_value: String,
    /// The component.
    pub component: Component,
    /// The variable.
    pub variable: Variable,
}

/// 2.0.1 SetVariableStatusEnumType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetVariableStatus {
    /// Set and in force (once the station applied the returned changes).
    Accepted,
    /// Read-only, or the value is not acceptable.
    Rejected,
    /// No such component (or EVSE/connector).
    UnknownComponent,
    /// The component has no such variable (or instance).
    UnknownVariable,
    /// The variable has no such attribute.
    NotSupportedAttributeType,
    /// Set, in force after a reboot (no variable of this station needs one).
    RebootRequired,
}

/// One entry of SetVariablesResponse.setVariableResult.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetVariableResult {
    /// The attribute that was to be set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<AttributeType>,
    /// The outcome.
    pub attribute_status: SetVariableStatus,
    /// Why, when not Accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_status_info: Option<StatusInfo>,
    /// The component as given.
    pub component: Component,
    /// The variable as given.
    pub variable: Variable,
}

/// 2.0.1 ReportBaseEnumType (GetBaseReportRequest.reportBase).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBase {
    /// Every variable the CSMS can set.
    ConfigurationInventory,
    /// Every variable.
    FullInventory,
    /// Availability of the station, its EVSEs and connectors.
    SummaryInventory,
}

/// 2.0.1 ComponentVariableType (GetReportRequest.componentVariable): a component, with or
/// without one of its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentVariable {
    /// The component; without `evse` it stands for every instance of it.
    pub component: Component,
    /// The variable; absent means every variable of the component.
    pub variable: Option<Variable>,
}

/// 2.0.1 ComponentCriterionEnumType (GetReportRequest.componentCriteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentCriterion {
    /// Components whose `Active` is true, or that have no `Active` variable.
    Active,
    /// Components whose `Available` is true, or that have no `Available` variable.
    Available,
    /// Components whose `Enabled` is true, or that have no `Enabled` variable.
    Enabled,
    /// Components whose `Problem` is true.
    Problem,
}

/// What a GetReportRequest asks for (B08), besides its requestId. An empty list filters
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomReport {
    /// Only these components (and variables).
    pub component_variables: Vec<ComponentVariable>,
    /// Only components that meet at least one of these.
    pub criteria: Vec<ComponentCriterion>,
}

/// 2.0.1 VariableAttributeType.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableAttribute {
    /// Which attribute (always `Actual` here).
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    /// The value; omitted for write-only variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Who may read and write it.
    pub mutability: Mutability,
    /// Survives a restart.
    pub persistent: bool,
    /// Never changes while the station runs.
    pub constant: bool,
}

/// 2.0.1 VariableCharacteristicsType.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableCharacteristics {
    /// Unit of measure (`s` for the intervals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The data type.
    pub data_type: DataType,
    /// Lowest value (for a string: shortest length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_limit: Option<u64>,
    /// Highest value (for a string: longest length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_limit: Option<u64>,
    /// The allowed values of a list type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_list: Option<String>,
    /// The station supports no monitors.
    pub supports_monitoring: bool,
}

/// 2.0.1 ReportDataType (NotifyReportRequest.reportData).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    /// The component.
    pub component: Component,
    /// The variable.
    pub variable: Variable,
    /// Its attributes (one: `Actual`).
    pub variable_attribute: Vec<VariableAttribute>,
    /// Its characteristics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_characteristics: Option<VariableCharacteristics>,
}

/// 1.6 KeyValue (GetConfiguration.conf configurationKey).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue16 {
    /// The key, at most 50 characters.
    pub key: String,
    /// True when ChangeConfiguration cannot set it.
    pub readonly: bool,
    /// The value, at most 500 characters; omitted for the write-only AuthorizationKey.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// 1.6 ConfigurationStatus (ChangeConfiguration.conf status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConfigurationStatus16 {
    /// Changed and in force (once the station applied the returned change).
    Accepted,
    /// Read-only key, or an unacceptable value.
    Rejected,
    /// Changed, in force after a reboot (no key of this station needs one).
    RebootRequired,
    /// Unknown key.
    NotSupported,
}
