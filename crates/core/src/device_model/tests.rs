#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::TimeZone;
use serde_json::{Value, json};

const PASSWORD: &str = "0123456789abcdef-new";

fn defaults() -> Defaults {
    Defaults {
        identity: "ORGE_AC_001".into(),
        security_profile: 2,
        connectors: 2,
        heartbeat_interval: Duration::ZERO,
        backoff: BackoffConfig::default(),
        ping_interval: Duration::from_secs(30),
        offline_threshold: Duration::from_secs(600),
        message_timeout: Duration::from_secs(30),
        vendor: "ocpp-station".into(),
        model: "AC-Pi".into(),
        serial_number: Some("SN-0001".into()),
    }
}

fn model() -> DeviceModel {
    DeviceModel::new(&defaults(), &BTreeMap::new())
}

const STATUSES: [&str; 2] = ["Available", "Faulted"];

fn view() -> LiveView<'static> {
    LiveView {
        now_utc: Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789),
        heartbeat_interval: Duration::from_secs(300),
        station_operative: true,
        evse_available: &[true, false],
        connector_status: &STATUSES,
        metrics: None,
        station_problem: false,
    }
}

fn component(name: &str) -> Component {
    Component {
        name: name.into(),
        instance: None,
        evse: None,
    }
}

fn at_evse(name: &str, id: i32, connector_id: Option<i32>) -> Component {
    Component {
        name: name.into(),
        instance: None,
        evse: Some(Evse { id, connector_id }),
    }
}

fn variable(name: &str, instance: Option<&str>) -> Variable {
    Variable {
        name: name.into(),
        instance: instance.map(Into::into),
    }
}

fn get_one(model: &DeviceModel, c: Component, v: Variable) -> GetVariableResult {
    let request = GetVariableData {
        attribute_type: None,
        component: c,
        variable: v,
    };
    let mut results = model.get_variables(&[request], &view());
    assert_eq!(results.len(), 1);
    results.remove(0)
}

fn get_value(model: &DeviceModel, c: &str, v: &str, instance: Option<&str>) -> Option<String> {
    let r = get_one(model, component(c), variable(v, instance));
    assert_eq!(r.attribute_status, GetVariableStatus::Accepted, "{c}.{v}");
    r.attribute_value
}

fn set_request(c: Component, v: Variable, value: &str) -> SetVariableData {
    SetVariableData {
        attribute_type: None,
        attribute_value: value.into(),
        component: c,
        variable: v,
    }
}

fn set_one(
    model: &mut DeviceModel,
    c: &str,
    v: &str,
    instance: Option<&str>,
    value: &str,
) -> (SetVariableResult, Vec<Change>) {
    let (mut results, changes) =
        model.set_variables(&[set_request(component(c), variable(v, instance), value)]);
    (results.remove(0), changes)
}

// ----- 2.0.1 GetVariables -------------------------------------------------------------------

#[test]
fn every_variable_reads_its_value() {
    let m = model();
    for (c, v, instance, expected) in [
        ("OCPPCommCtrlr", "HeartbeatInterval", None, "300"),
        ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None, "3"),
        ("OCPPCommCtrlr", "RetryBackOffRandomRange", None, "10"),
        ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None, "5"),
        ("OCPPCommCtrlr", "WebSocketPingInterval", None, "30"),
        ("OCPPCommCtrlr", "OfflineThreshold", None, "600"),
        ("OCPPCommCtrlr", "MessageTimeout", Some("Default"), "30"),
        ("OCPPCommCtrlr", "NetworkConfigurationPriority", None, "0"),
        ("SecurityCtrlr", "Identity", None, "ORGE_AC_001"),
        ("SecurityCtrlr", "SecurityProfile", None, "2"),
        (
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            Some("GetReport"),
            "50",
        ),
        (
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            Some("GetVariables"),
            "50",
        ),
        (
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            Some("SetVariables"),
            "50",
        ),
        (
            "DeviceDataCtrlr",
            "BytesPerMessage",
            Some("GetReport"),
            "65536",
        ),
        (
            "DeviceDataCtrlr",
            "BytesPerMessage",
            Some("GetVariables"),
            "65536",
        ),
        (
            "DeviceDataCtrlr",
            "BytesPerMessage",
            Some("SetVariables"),
            "65536",
        ),
        ("ClockCtrlr", "DateTime", None, "2026-11-22T08:00:00.123Z"),
        ("ClockCtrlr", "TimeSource", None, "NTP"),
        ("ChargingStation", "AvailabilityState", None, "Available"),
        ("ChargingStation", "Available", None, "true"),
        ("ChargingStation", "Model", None, "AC-Pi"),
        ("ChargingStation", "VendorName", None, "ocpp-station"),
        ("ChargingStation", "SerialNumber", None, "SN-0001"),
    ] {
        assert_eq!(
            get_value(&m, c, v, instance).as_deref(),
            Some(expected),
            "{c}.{v}"
        );
    }
}

#[test]
fn evse_and_connector_variables_follow_the_live_view() {
    let m = model();
    let read = |c: Component, v: &str| {
        let r = get_one(&m, c, variable(v, None));
        assert_eq!(r.attribute_status, GetVariableStatus::Accepted, "{v}");
        r.attribute_value.unwrap()
    };
    assert_eq!(
        read(at_evse("EVSE", 1, None), "AvailabilityState"),
        "Available"
    );
    assert_eq!(
        read(at_evse("EVSE", 2, None), "AvailabilityState"),
        "Faulted"
    );
    assert_eq!(read(at_evse("EVSE", 1, None), "Available"), "true");
    assert_eq!(read(at_evse("EVSE", 2, None), "Available"), "false");
    assert_eq!(
        read(at_evse("Connector", 2, Some(1)), "AvailabilityState"),
        "Faulted"
    );
    assert_eq!(read(at_evse("Connector", 2, Some(1)), "Available"), "false");
    assert_eq!(
        read(at_evse("Connector", 1, Some(1)), "ConnectorType"),
        "cType2"
    );
    // Each EVSE has one connector: connectorId may be left out.
    assert_eq!(read(at_evse("Connector", 1, None), "Available"), "true");
}

#[test]
fn station_availability_sums_up_its_connectors() {
    let m = model();
    let state = |station_operative: bool, statuses: &[&'static str]| {
        let v = LiveView {
            station_operative,
            connector_status: statuses,
            ..view()
        };
        let r = m.get_variables(
            &[GetVariableData {
                attribute_type: None,
                component: component("ChargingStation"),
                variable: variable("AvailabilityState", None),
            }],
            &v,
        );
        r[0].attribute_value.clone().unwrap()
    };
    assert_eq!(state(true, &["Faulted", "Available"]), "Available");
    assert_eq!(state(true, &["Faulted", "Occupied"]), "Occupied");
    assert_eq!(state(true, &["Unavailable", "Reserved"]), "Reserved");
    assert_eq!(state(true, &["Faulted", "Faulted"]), "Faulted");
    assert_eq!(state(true, &["Faulted", "Unavailable"]), "Unavailable");
    assert_eq!(state(true, &[]), "Unavailable");
    assert_eq!(state(false, &["Available", "Available"]), "Unavailable");
}

#[test]
fn a_short_live_view_reads_safely() {
    let m = model();
    let v = LiveView {
        evse_available: &[],
        connector_status: &[],
        ..view()
    };
    let r = m.get_variables(
        &[
            GetVariableData {
                attribute_type: None,
                component: at_evse("EVSE", 2, None),
                variable: variable("AvailabilityState", None),
            },
            GetVariableData {
                attribute_type: None,
                component: at_evse("EVSE", 2, None),
                variable: variable("Available", None),
            },
        ],
        &v,
    );
    assert_eq!(r[0].attribute_value.as_deref(), Some("Unavailable"));
    assert_eq!(r[1].attribute_value.as_deref(), Some("true"));
}

#[test]
fn the_password_is_write_only() {
    let mut m = model();
    let r = get_one(
        &m,
        component("SecurityCtrlr"),
        variable("BasicAuthPassword", None),
    );
    assert_eq!(r.attribute_status, GetVariableStatus::Rejected);
    assert_eq!(r.attribute_value, None);
    assert_eq!(r.attribute_status_info.unwrap().reason_code, "WriteOnly");

    set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, PASSWORD);
    let r = get_one(
        &m,
        component("SecurityCtrlr"),
        variable("BasicAuthPassword", None),
    );
    assert_eq!(r.attribute_status, GetVariableStatus::Rejected);
    let shown = serde_json::to_string(&r).unwrap();
    assert!(!shown.contains(PASSWORD), "{shown}");
}

#[test]
fn names_match_ignoring_case_and_are_echoed_as_given() {
    let m = model();
    let r = get_one(
        &m,
        component("ocppcommctrlr"),
        variable("heartbeatINTERVAL", None),
    );
    assert_eq!(r.attribute_status, GetVariableStatus::Accepted);
    assert_eq!(r.component.name, "ocppcommctrlr");
    assert_eq!(r.variable.name, "heartbeatINTERVAL");
    assert_eq!(r.attribute_type, Some(AttributeType::Actual));
    let r = get_one(
        &m,
        component("OCPPCommCtrlr"),
        variable("MessageTimeout", Some("default")),
    );
    assert_eq!(r.attribute_value.as_deref(), Some("30"));
    assert_eq!(r.variable.instance.as_deref(), Some("default"));
}

#[test]
fn a_variable_with_instances_asked_without_one_gives_the_first() {
    let m = model();
    assert_eq!(
        get_value(&m, "OCPPCommCtrlr", "MessageTimeout", None).as_deref(),
        Some("30")
    );
    assert_eq!(
        get_value(&m, "DeviceDataCtrlr", "ItemsPerMessage", None).as_deref(),
        Some("50")
    );
}

fn status_of(m: &DeviceModel, c: Component, v: Variable) -> (GetVariableStatus, Option<String>) {
    let r = get_one(m, c, v);
    (
        r.attribute_status,
        r.attribute_status_info.map(|i| i.reason_code),
    )
}

#[test]
fn unknown_components() {
    let m = model();
    let unknown = GetVariableStatus::UnknownComponent;
    for (c, reason) in [
        (component("NoSuchCtrlr"), "NotFound"),
        (component("EVSE"), "NotFound"),
        (component("Connector"), "NotFound"),
        (at_evse("OCPPCommCtrlr", 1, None), "NotFound"),
        (at_evse("ChargingStation", 1, None), "NotFound"),
        (at_evse("EVSE", 3, None), "UnknownEvse"),
        (at_evse("EVSE", 0, None), "UnknownEvse"),
        (at_evse("EVSE", -1, None), "UnknownEvse"),
        (at_evse("EVSE", 1, Some(1)), "NotFound"),
        (at_evse("Connector", 1, Some(2)), "UnknownConnectorId"),
        (at_evse("Connector", 9, Some(1)), "UnknownEvse"),
        (
            Component {
                instance: Some("Main".into()),
                ..component("OCPPCommCtrlr")
            },
            "NotFound",
        ),
    ] {
        assert_eq!(
            status_of(&m, c.clone(), variable("AvailabilityState", None)),
            (unknown, Some(reason.to_owned())),
            "{c:?}"
        );
    }
}

#[test]
fn unknown_variables() {
    let m = model();
    for (c, v) in [
        (component("OCPPCommCtrlr"), variable("NoSuchVariable", None)),
        (
            component("OCPPCommCtrlr"),
            variable("MessageTimeout", Some("TransactionEvent")),
        ),
        (
            component("OCPPCommCtrlr"),
            variable("HeartbeatInterval", Some("X")),
        ),
        (
            component("ChargingStation"),
            variable("ConnectorType", None),
        ),
        (
            component("SecurityCtrlr"),
            variable("HeartbeatInterval", None),
        ),
    ] {
        assert_eq!(
            status_of(&m, c, v.clone()).0,
            GetVariableStatus::UnknownVariable,
            "{v:?}"
        );
    }
    // Without a serial number, ChargingStation.SerialNumber does not exist.
    let no_serial = DeviceModel::new(
        &Defaults {
            serial_number: None,
            ..defaults()
        },
        &BTreeMap::new(),
    );
    assert_eq!(
        status_of(
            &no_serial,
            component("ChargingStation"),
            variable("SerialNumber", None)
        )
        .0,
        GetVariableStatus::UnknownVariable
    );
}

#[test]
fn only_the_actual_attribute_exists() {
    let m = model();
    for attribute in [
        AttributeType::Target,
        AttributeType::MinSet,
        AttributeType::MaxSet,
    ] {
        let r = m.get_variables(
            &[GetVariableData {
                attribute_type: Some(attribute),
                component: component("OCPPCommCtrlr"),
                variable: variable("HeartbeatInterval", None),
            }],
            &view(),
        );
        assert_eq!(
            r[0].attribute_status,
            GetVariableStatus::NotSupportedAttributeType
        );
        assert_eq!(r[0].attribute_type, Some(attribute));
        assert_eq!(r[0].attribute_value, None);
    }
    // The component is checked first: an unknown one stays unknown whatever the attribute.
    let r = m.get_variables(
        &[GetVariableData {
            attribute_type: Some(AttributeType::Target),
            component: component("Nope"),
            variable: variable("HeartbeatInterval", None),
        }],
        &view(),
    );
    assert_eq!(r[0].attribute_status, GetVariableStatus::UnknownComponent);
}

#[test]
fn results_come_in_request_order_and_overlong_names_are_cut_in_the_echo() {
    let m = model();
    let long = "X".repeat(80);
    let r = m.get_variables(
        &[
            GetVariableData {
                attribute_type: None,
                component: component(&long),
                variable: variable(&long, Some(&long)),
            },
            GetVariableData {
                attribute_type: None,
                component: component("SecurityCtrlr"),
                variable: variable("Identity", None),
            },
        ],
        &view(),
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].attribute_status, GetVariableStatus::UnknownComponent);
    assert_eq!(r[0].component.name.chars().count(), 50);
    assert_eq!(r[0].variable.instance.as_ref().unwrap().chars().count(), 50);
    assert_eq!(r[1].attribute_value.as_deref(), Some("ORGE_AC_001"));
}

// ----- 2.0.1 SetVariables -------------------------------------------------------------------

#[test]
fn every_writable_variable_can_be_set_and_says_what_to_apply() {
    let mut m = model();
    let cases: Vec<(&str, Option<&str>, &str, Change)> = vec![
        (
            "HeartbeatInterval",
            None,
            "120",
            Change::HeartbeatInterval(Duration::from_secs(120)),
        ),
        (
            "RetryBackOffWaitMinimum",
            None,
            "7",
            Change::Backoff(BackoffConfig {
                wait_minimum: Duration::from_secs(7),
                ..BackoffConfig::default()
            }),
        ),
        (
            "RetryBackOffRandomRange",
            None,
            "0",
            Change::Backoff(BackoffConfig {
                wait_minimum: Duration::from_secs(7),
                random_range: Duration::ZERO,
                ..BackoffConfig::default()
            }),
        ),
        (
            "RetryBackOffRepeatTimes",
            None,
            "10",
            Change::Backoff(BackoffConfig {
                wait_minimum: Duration::from_secs(7),
                random_range: Duration::ZERO,
                repeat_times: 10,
            }),
        ),
        (
            "WebSocketPingInterval",
            None,
            "0",
            Change::PingInterval(Duration::ZERO),
        ),
        (
            "OfflineThreshold",
            None,
            "60",
            Change::OfflineThreshold(Duration::from_secs(60)),
        ),
        (
            "MessageTimeout",
            Some("Default"),
            "45",
            Change::MessageTimeout(Duration::from_secs(45)),
        ),
    ];
    for (name, instance, value, change) in cases {
        let (r, changes) = set_one(&mut m, "OCPPCommCtrlr", name, instance, value);
        assert_eq!(r.attribute_status, SetVariableStatus::Accepted, "{name}");
        assert_eq!(r.attribute_status_info, None);
        assert_eq!(changes, vec![change], "{name}");
        assert_eq!(
            get_value(&m, "OCPPCommCtrlr", name, instance).as_deref(),
            Some(value),
            "{name} reads back"
        );
    }
    let (r, changes) = set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, PASSWORD);
    assert_eq!(r.attribute_status, SetVariableStatus::Accepted);
    assert_eq!(changes, vec![Change::Password(Secret::new(PASSWORD))]);
    assert_eq!(m.password().map(Secret::expose), Some(PASSWORD));

    assert_eq!(m.heartbeat_override(), Some(Duration::from_secs(120)));
    assert_eq!(m.ping_interval(), Duration::ZERO);
    assert_eq!(m.offline_threshold(), Duration::from_secs(60));
    assert_eq!(m.message_timeout(), Duration::from_secs(45));
    assert_eq!(m.backoff().repeat_times, 10);
}

#[test]
fn several_changes_in_one_request_give_one_change_per_kind_in_a_fixed_order() {
    let mut m = model();
    let requests: Vec<SetVariableData> = [
        ("SecurityCtrlr", "BasicAuthPassword", PASSWORD),
        ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "1"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "60"),
        ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", "2"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "90"),
        ("OCPPCommCtrlr", "OfflineThreshold", "x"),
    ]
    .into_iter()
    .map(|(c, v, value)| set_request(component(c), variable(v, None), value))
    .collect();
    let (results, changes) = m.set_variables(&requests);
    let statuses: Vec<_> = results.iter().map(|r| r.attribute_status).collect();
    assert_eq!(
        statuses,
        [
            SetVariableStatus::Accepted,
            SetVariableStatus::Accepted,
            SetVariableStatus::Accepted,
            SetVariableStatus::Accepted,
            SetVariableStatus::Accepted,
            SetVariableStatus::Rejected
        ]
    );
    assert_eq!(
        changes,
        vec![
            Change::HeartbeatInterval(Duration::from_secs(90)),
            Change::Backoff(BackoffConfig {
                wait_minimum: Duration::from_secs(1),
                random_range: Duration::from_secs(10),
                repeat_times: 2
            }),
            Change::Password(Secret::new(PASSWORD)),
        ]
    );
}

#[test]
fn setting_the_current_value_changes_nothing() {
    let mut m = model();
    let (r, changes) = set_one(&mut m, "OCPPCommCtrlr", "WebSocketPingInterval", None, "30");
    assert_eq!(r.attribute_status, SetVariableStatus::Accepted);
    assert!(changes.is_empty());
    set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, PASSWORD);
    let (_, changes) = set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, PASSWORD);
    assert!(changes.is_empty());
    // It is still the CSMS's value from now on, and persisted as such.
    assert!(
        m.overrides()
            .contains_key("OCPPCommCtrlr/WebSocketPingInterval")
    );
}

#[test]
fn read_only_variables_are_rejected() {
    let mut m = model();
    for (c, v, instance) in [
        (component("SecurityCtrlr"), "Identity", None),
        (component("SecurityCtrlr"), "SecurityProfile", None),
        (
            component("OCPPCommCtrlr"),
            "NetworkConfigurationPriority",
            None,
        ),
        (
            component("DeviceDataCtrlr"),
            "ItemsPerMessage",
            Some("GetVariables"),
        ),
        (component("ClockCtrlr"), "DateTime", None),
        (component("ClockCtrlr"), "TimeSource", None),
        (component("ChargingStation"), "AvailabilityState", None),
        (component("ChargingStation"), "Available", None),
        (component("ChargingStation"), "Model", None),
        (at_evse("EVSE", 1, None), "Available", None),
        (at_evse("Connector", 1, Some(1)), "ConnectorType", None),
    ] {
        let (mut results, changes) = m.set_variables(&[set_request(c, variable(v, instance), "1")]);
        let r = results.remove(0);
        assert_eq!(r.attribute_status, SetVariableStatus::Rejected, "{v}");
        assert_eq!(r.attribute_status_info.unwrap().reason_code, "ReadOnly");
        assert!(changes.is_empty());
    }
    assert!(m.overrides().is_empty());
}

#[test]
fn bad_values_are_rejected_with_a_reason() {
    let mut m = model();
    for (name, instance, value, reason, info) in [
        (
            "HeartbeatInterval",
            None,
            "0",
            "ValueOutOfRange",
            "out of range 1..604800",
        ),
        (
            "HeartbeatInterval",
            None,
            "604801",
            "ValueOutOfRange",
            "out of range 1..604800",
        ),
        (
            "HeartbeatInterval",
            None,
            "-5",
            "ValueOutOfRange",
            "out of range 1..604800",
        ),
        (
            "HeartbeatInterval",
            None,
            "99999999999999999999999",
            "ValueOutOfRange",
            "out of range",
        ),
        (
            "HeartbeatInterval",
            None,
            "1.5",
            "InvalidValue",
            "not a whole number",
        ),
        (
            "HeartbeatInterval",
            None,
            "",
            "InvalidValue",
            "not a whole number",
        ),
        (
            "HeartbeatInterval",
            None,
            "60s",
            "InvalidValue",
            "not a whole number",
        ),
        (
            "RetryBackOffWaitMinimum",
            None,
            "0",
            "ValueOutOfRange",
            "out of range 1..3600",
        ),
        (
            "RetryBackOffRandomRange",
            None,
            "3601",
            "ValueOutOfRange",
            "out of range 0..3600",
        ),
        (
            "RetryBackOffRepeatTimes",
            None,
            "11",
            "ValueOutOfRange",
            "out of range 0..10",
        ),
        (
            "WebSocketPingInterval",
            None,
            "3601",
            "ValueOutOfRange",
            "out of range 0..3600",
        ),
        (
            "OfflineThreshold",
            None,
            "true",
            "InvalidValue",
            "not a whole number",
        ),
        (
            "MessageTimeout",
            Some("Default"),
            "0",
            "ValueOutOfRange",
            "out of range 1..600",
        ),
    ] {
        let (r, changes) = set_one(&mut m, "OCPPCommCtrlr", name, instance, value);
        assert_eq!(
            r.attribute_status,
            SetVariableStatus::Rejected,
            "{name}={value}"
        );
        let status = r.attribute_status_info.unwrap();
        assert_eq!(status.reason_code, reason, "{name}={value}");
        assert!(status.reason_code.len() <= 20);
        assert!(
            status.additional_info.as_deref().unwrap().contains(info),
            "{name}={value}: {status:?}"
        );
        assert!(changes.is_empty());
    }
    for (password, reason) in [
        ("short", "ValueOutOfRange"),
        (&"x".repeat(41) as &str, "ValueOutOfRange"),
        ("0123456789abcdef\n", "InvalidValue"),
        ("0123456789abcdéf-x", "InvalidValue"),
    ] {
        let (r, changes) = set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, password);
        assert_eq!(r.attribute_status, SetVariableStatus::Rejected);
        let status = r.attribute_status_info.unwrap();
        assert_eq!(status.reason_code, reason);
        assert!(!status.additional_info.unwrap().contains(password));
        assert!(changes.is_empty());
    }
    assert!(m.overrides().is_empty(), "nothing was stored");
    assert_eq!(m.password(), None);
}

#[test]
fn numbers_are_plain_digits_without_sign_or_blanks() {
    let mut m = model();
    for value in [
        "+45", " 45", "45 ", " +45 ", "\t45", "4 5", "45.0", "0x2D", "--45", "-",
    ] {
        let (r, changes) = set_one(&mut m, "OCPPCommCtrlr", "HeartbeatInterval", None, value);
        assert_eq!(r.attribute_status, SetVariableStatus::Rejected, "{value:?}");
        let info = r.attribute_status_info.unwrap();
        assert_eq!(info.reason_code, "InvalidValue", "{value:?}");
        assert!(
            info.additional_info.unwrap().contains("without sign"),
            "{value:?}"
        );
        assert!(changes.is_empty());
        assert_eq!(
            m.change_configuration("HeartbeatInterval", value),
            (ConfigurationStatus16::Rejected, None),
            "{value:?} over 1.6"
        );
    }
    assert!(m.overrides().is_empty(), "nothing was stored");
    // Leading zeros are still decimal digits.
    let (r, _) = set_one(&mut m, "OCPPCommCtrlr", "HeartbeatInterval", None, "045");
    assert_eq!(r.attribute_status, SetVariableStatus::Accepted);
    assert_eq!(m.heartbeat_override(), Some(Duration::from_secs(45)));
    assert_eq!(m.overrides()["OCPPCommCtrlr/HeartbeatInterval"], "45");
}

#[test]
fn set_reports_unknown_components_variables_and_attributes() {
    let mut m = model();
    let requests = vec![
        set_request(component("Nope"), variable("HeartbeatInterval", None), "1"),
        set_request(at_evse("EVSE", 7, None), variable("Available", None), "1"),
        set_request(component("OCPPCommCtrlr"), variable("Nope", None), "1"),
        SetVariableData {
            attribute_type: Some(AttributeType::MaxSet),
            ..set_request(
                component("OCPPCommCtrlr"),
                variable("HeartbeatInterval", None),
                "1",
            )
        },
    ];
    let (results, changes) = m.set_variables(&requests);
    let statuses: Vec<_> = results.iter().map(|r| r.attribute_status).collect();
    assert_eq!(
        statuses,
        [
            SetVariableStatus::UnknownComponent,
            SetVariableStatus::UnknownComponent,
            SetVariableStatus::UnknownVariable,
            SetVariableStatus::NotSupportedAttributeType
        ]
    );
    assert_eq!(results[3].attribute_type, Some(AttributeType::MaxSet));
    assert!(changes.is_empty());
}

#[test]
fn a_csms_heartbeat_wins_over_the_boot_answer_and_the_env_file() {
    let m = DeviceModel::new(
        &Defaults {
            heartbeat_interval: Duration::from_secs(60),
            ..defaults()
        },
        &BTreeMap::new(),
    );
    assert_eq!(m.heartbeat_override(), Some(Duration::from_secs(60)));
    assert_eq!(
        get_value(&m, "OCPPCommCtrlr", "HeartbeatInterval", None).as_deref(),
        Some("60"),
        "the operator's value is in force, not the view's 300"
    );
    let overrides = BTreeMap::from([(
        "OCPPCommCtrlr/HeartbeatInterval".to_owned(),
        "120".to_owned(),
    )]);
    let m = DeviceModel::new(
        &Defaults {
            heartbeat_interval: Duration::from_secs(60),
            ..defaults()
        },
        &overrides,
    );
    assert_eq!(m.heartbeat_override(), Some(Duration::from_secs(120)));
    assert_eq!(model().heartbeat_override(), None, "0 = from Boot");
}

// ----- overrides ----------------------------------------------------------------------------

#[test]
fn overrides_round_trip() {
    let mut m = model();
    let requests: Vec<SetVariableData> = [
        ("SecurityCtrlr", "BasicAuthPassword", None, PASSWORD),
        ("OCPPCommCtrlr", "HeartbeatInterval", None, "77"),
        ("OCPPCommCtrlr", "RetryBackOffRandomRange", None, "4"),
        ("OCPPCommCtrlr", "MessageTimeout", None, "12"),
        ("OCPPCommCtrlr", "WebSocketPingInterval", None, "0"),
    ]
    .into_iter()
    .map(|(c, v, i, value)| set_request(component(c), variable(v, i), value))
    .collect();
    m.set_variables(&requests);
    assert_eq!(
        m.change_configuration("ConnectionTimeOut", "90").0,
        ConfigurationStatus16::Accepted
    );
    let saved = m.overrides();
    assert_eq!(
        saved,
        BTreeMap::from(
            [
                ("OCPPCommCtrlr/HeartbeatInterval", "77"),
                ("OCPPCommCtrlr/MessageTimeout[Default]", "12"),
                ("OCPPCommCtrlr/RetryBackOffRandomRange", "4"),
                ("OCPPCommCtrlr/WebSocketPingInterval", "0"),
                ("SecurityCtrlr/BasicAuthPassword", PASSWORD),
                ("TxCtrlr/EVConnectionTimeOut", "90"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        )
    );
    let mut restored = DeviceModel::new(&defaults(), &saved);
    assert!(restored.take_warnings().is_empty());
    assert_eq!(restored.overrides(), saved);
    assert_eq!(restored.heartbeat_override(), m.heartbeat_override());
    assert_eq!(restored.backoff(), m.backoff());
    assert_eq!(restored.ping_interval(), m.ping_interval());
    assert_eq!(restored.offline_threshold(), m.offline_threshold());
    assert_eq!(restored.message_timeout(), m.message_timeout());
    assert_eq!(restored.connection_timeout(), Duration::from_secs(90));
    assert_eq!(restored.password(), m.password());
    assert_eq!(
        restored.base_report(ReportBase::FullInventory, &view()),
        m.base_report(ReportBase::FullInventory, &view())
    );
    // Values the CSMS never touched are not persisted, so a new env file still applies.
    assert!(!saved.contains_key("OCPPCommCtrlr/OfflineThreshold"));
}

#[test]
fn bad_or_unknown_overrides_are_ignored_with_a_warning() {
    let overrides: BTreeMap<String, String> = [
        ("OCPPCommCtrlr/HeartbeatInterval", "0"),
        ("OCPPCommCtrlr/OfflineThreshold", "120"),
        ("OCPPCommCtrlr/WebSocketPingInterval", "fast"),
        ("SecurityCtrlr/BasicAuthPassword", "tooshort"),
        ("SomethingCtrlr/Gone", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut m = DeviceModel::new(&defaults(), &overrides);
    assert_eq!(m.heartbeat_override(), None);
    assert_eq!(
        m.offline_threshold(),
        Duration::from_secs(120),
        "the good one applies"
    );
    assert_eq!(m.ping_interval(), Duration::from_secs(30));
    assert_eq!(m.password(), None);
    let warnings = m.take_warnings();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    let all = warnings.join("\n");
    for needle in [
        "OCPPCommCtrlr/HeartbeatInterval",
        "out of range 1..604800",
        "'fast'",
        "SecurityCtrlr/BasicAuthPassword",
        "SomethingCtrlr/Gone",
    ] {
        assert!(all.contains(needle), "{needle} in {all}");
    }
    assert!(!all.contains("tooshort"), "{all}");
    assert!(m.take_warnings().is_empty(), "taken once");
    // Only what was valid is persisted again.
    assert_eq!(
        m.overrides().keys().collect::<Vec<_>>(),
        ["OCPPCommCtrlr/OfflineThreshold"]
    );
}

#[test]
fn nothing_shows_the_password() {
    let mut m = model();
    let (_, changes) = set_one(&mut m, "SecurityCtrlr", "BasicAuthPassword", None, PASSWORD);
    let report = serde_json::to_string(&m.base_report(ReportBase::FullInventory, &view())).unwrap();
    let config = serde_json::to_string(&m.get_configuration(None, &view())).unwrap();
    for text in [format!("{m:?}"), format!("{changes:?}"), report, config] {
        assert!(!text.contains(PASSWORD), "{text}");
    }
    assert!(is_secret_key("SecurityCtrlr/BasicAuthPassword"));
    assert!(!is_secret_key("OCPPCommCtrlr/HeartbeatInterval"));
    assert!(!is_secret_key("unknown"));
}

// ----- reports --------------------------------------------------------------------------------

fn names(data: &[ReportData]) -> Vec<String> {
    data.iter()
        .map(|d| {
            let mut name = d.component.name.clone();
            if let Some(evse) = d.component.evse {
                name.push_str(&format!("[{}", evse.id));
                if let Some(c) = evse.connector_id {
                    name.push_str(&format!(",{c}"));
                }
                name.push(']');
            }
            name.push('.');
            name.push_str(&d.variable.name);
            if let Some(i) = &d.variable.instance {
                name.push_str(&format!("[{i}]"));
            }
            name
        })
        .collect()
}

#[test]
fn full_inventory_lists_every_variable_once() {
    let m = model();
    let full = m.base_report(ReportBase::FullInventory, &view());
    assert_eq!(
        names(&full),
        [
            "OCPPCommCtrlr.HeartbeatInterval",
            "OCPPCommCtrlr.MessageTimeout[Default]",
            "OCPPCommCtrlr.NetworkConfigurationPriority",
            "OCPPCommCtrlr.OfflineThreshold",
            "OCPPCommCtrlr.RetryBackOffRandomRange",
            "OCPPCommCtrlr.RetryBackOffRepeatTimes",
            "OCPPCommCtrlr.RetryBackOffWaitMinimum",
            "OCPPCommCtrlr.WebSocketPingInterval",
            "SecurityCtrlr.BasicAuthPassword",
            "SecurityCtrlr.Identity",
            "SecurityCtrlr.SecurityProfile",
            "DeviceDataCtrlr.BytesPerMessage[GetReport]",
            "DeviceDataCtrlr.BytesPerMessage[GetVariables]",
            "DeviceDataCtrlr.BytesPerMessage[SetVariables]",
            "DeviceDataCtrlr.ItemsPerMessage[GetReport]",
            "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
            "DeviceDataCtrlr.ItemsPerMessage[SetVariables]",
            "ClockCtrlr.DateTime",
            "ClockCtrlr.TimeSource",
            "ChargingStation.AvailabilityState",
            "ChargingStation.Available",
            "ChargingStation.Problem",
            "ChargingStation.Model",
            "ChargingStation.SerialNumber",
            "ChargingStation.VendorName",
            "StationHealth.CpuLoad",
            "StationHealth.LoadAverage[1min]",
            "StationHealth.LoadAverage[5min]",
            "StationHealth.LoadAverage[15min]",
            "StationHealth.MemoryUsed",
            "StationHealth.MemoryTotal",
            "StationHealth.Temperature",
            "StationHealth.DiskUsed[Root]",
            "StationHealth.DiskUsed[StateDir]",
            "StationHealth.Uptime",
            "StationHealth.UnderVoltage",
            "StationHealth.Throttled",
            "StationHealth.ProcessMemory",
            "EVSE[1].AvailabilityState",
            "EVSE[1].Available",
            "Connector[1,1].AvailabilityState",
            "Connector[1,1].Available",
            "Connector[1,1].Problem",
            "Connector[1,1].ConnectorType",
            "EVSE[2].AvailabilityState",
            "EVSE[2].Available",
            "Connector[2,1].AvailabilityState",
            "Connector[2,1].Available",
            "Connector[2,1].Problem",
            "Connector[2,1].ConnectorType",
        ]
    );
    // Every reported entry reads back the same value through GetVariables.
    for d in &full {
        let r = get_one(&m, d.component.clone(), d.variable.clone());
        assert_eq!(r.attribute_value, d.variable_attribute[0].value, "{d:?}");
    }
}

#[test]
fn configuration_and_summary_inventories() {
    let m = model();
    let config = m.base_report(ReportBase::ConfigurationInventory, &view());
    assert_eq!(
        names(&config),
        [
            "OCPPCommCtrlr.HeartbeatInterval",
            "OCPPCommCtrlr.MessageTimeout[Default]",
            "OCPPCommCtrlr.OfflineThreshold",
            "OCPPCommCtrlr.RetryBackOffRandomRange",
            "OCPPCommCtrlr.RetryBackOffRepeatTimes",
            "OCPPCommCtrlr.RetryBackOffWaitMinimum",
            "OCPPCommCtrlr.WebSocketPingInterval",
            "SecurityCtrlr.BasicAuthPassword",
        ]
    );
    assert!(
        config
            .iter()
            .all(|d| d.variable_attribute[0].mutability != Mutability::ReadOnly)
    );
    let summary = m.base_report(ReportBase::SummaryInventory, &view());
    assert_eq!(
        names(&summary),
        [
            "ChargingStation.AvailabilityState",
            "ChargingStation.Available",
            "ChargingStation.Problem",
            "EVSE[1].AvailabilityState",
            "EVSE[1].Available",
            "Connector[1,1].AvailabilityState",
            "Connector[1,1].Available",
            "Connector[1,1].Problem",
            "EVSE[2].AvailabilityState",
            "EVSE[2].Available",
            "Connector[2,1].AvailabilityState",
            "Connector[2,1].Available",
            "Connector[2,1].Problem",
        ]
    );
}

#[test]
fn report_entries_have_the_notify_report_shape() {
    let m = model();
    let full = m.base_report(ReportBase::FullInventory, &view());
    let json = serde_json::to_value(&full).unwrap();
    assert!(!json.to_string().contains("null"));
    let find = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|d| d["variable"]["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        find("HeartbeatInterval"),
        json!({
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "variableAttribute": [{
                "type": "Actual", "value": "300", "mutability": "ReadWrite",
                "persistent": true, "constant": false
            }],
            "variableCharacteristics": {
                "unit": "s", "dataType": "integer", "minLimit": 1, "maxLimit": 604_800,
                "supportsMonitoring": false
            }
        })
    );
    assert_eq!(
        find("BasicAuthPassword"),
        json!({
            "component": {"name": "SecurityCtrlr"},
            "variable": {"name": "BasicAuthPassword"},
            "variableAttribute": [{
                "type": "Actual", "mutability": "WriteOnly", "persistent": true, "constant": false
            }],
            "variableCharacteristics": {
                "dataType": "string", "minLimit": 16, "maxLimit": 40, "supportsMonitoring": false
            }
        })
    );
    assert_eq!(
        find("Identity")["variableAttribute"][0],
        json!({"type": "Actual", "value": "ORGE_AC_001", "mutability": "ReadOnly",
               "persistent": true, "constant": true})
    );
    assert_eq!(
        find("DateTime")["variableAttribute"][0],
        json!({"type": "Actual", "value": "2026-11-22T08:00:00.123Z", "mutability": "ReadOnly",
               "persistent": false, "constant": false})
    );
    assert_eq!(
        find("DateTime")["variableCharacteristics"]["dataType"],
        "dateTime"
    );
    assert_eq!(
        find("TimeSource")["variableCharacteristics"],
        json!({"dataType": "SequenceList", "valuesList": "NTP", "supportsMonitoring": false})
    );
    let connector_state = json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["component"]["name"] == "Connector" && d["variable"]["name"] == "AvailabilityState"
        })
        .unwrap();
    assert_eq!(
        connector_state["component"],
        json!({"name": "Connector", "evse": {"id": 1, "connectorId": 1}})
    );
    assert_eq!(
        connector_state["variableCharacteristics"],
        json!({"dataType": "OptionList", "valuesList": "Available,Occupied,Reserved,Unavailable,Faulted",
               "supportsMonitoring": false})
    );
    // Schema lengths: names <= 50, values <= 2500, valuesList <= 1000.
    for d in &full {
        assert!(d.component.name.len() <= 50 && d.variable.name.len() <= 50);
        for a in &d.variable_attribute {
            assert!(a.value.as_ref().is_none_or(|v| v.len() <= 2500));
        }
    }
}

#[test]
fn a_selection_renders_in_parts_that_add_up_to_the_whole_report() {
    let m = model();
    let full = m.base_report(ReportBase::FullInventory, &view());
    let selection = m.select_base(ReportBase::FullInventory);
    assert_eq!(selection.len(), full.len());
    for per_part in [1, 5, 10, 50, full.len(), 1000] {
        let mut parts = Vec::new();
        let mut start = 0;
        while start < selection.len() {
            let part = m.render(&selection, start..start + per_part, &view());
            assert!(!part.is_empty() && part.len() <= per_part);
            start += per_part;
            parts.push(part);
        }
        assert_eq!(parts.concat(), full, "order kept, {per_part} per part");
    }
    assert!(m.render(&selection, 1000..2000, &view()).is_empty());
    #[allow(
        clippy::reversed_empty_ranges,
        reason = "a backwards range must not panic"
    )]
    let backwards = 10..5;
    assert!(m.render(&selection, backwards, &view()).is_empty());
}

// ----- GetReport ------------------------------------------------------------------------------

fn custom(
    m: &DeviceModel,
    component_variables: Vec<ComponentVariable>,
    criteria: Vec<ComponentCriterion>,
) -> Vec<String> {
    let request = CustomReport {
        component_variables,
        criteria,
    };
    let selection = m.select_custom(&request, &view());
    names(&m.render(&selection, 0..selection.len(), &view()))
}

fn cv(component: Component, variable: Option<Variable>) -> ComponentVariable {
    ComponentVariable {
        component,
        variable,
    }
}

#[test]
fn problem_variables_follow_faults_and_warnings() {
    let m = model();
    let connector = |id| {
        get_one(
            &m,
            at_evse("Connector", id, None),
            variable("Problem", None),
        )
    };
    // Connector 2 is Faulted in the view.
    assert_eq!(connector(1).attribute_value.as_deref(), Some("false"));
    assert_eq!(connector(2).attribute_value.as_deref(), Some("true"));
    assert_eq!(
        get_value(&m, "ChargingStation", "Problem", None).as_deref(),
        Some("false")
    );
    let warned = LiveView {
        station_problem: true,
        ..view()
    };
    let r = &m.get_variables(
        &[GetVariableData {
            attribute_type: None,
            component: component("ChargingStation"),
            variable: variable("Problem", None),
        }],
        &warned,
    )[0];
    assert_eq!(r.attribute_value.as_deref(), Some("true"));
}

#[test]
fn a_custom_report_without_filters_is_the_full_inventory() {
    let m = model();
    assert_eq!(
        custom(&m, vec![], vec![]),
        names(&m.base_report(ReportBase::FullInventory, &view()))
    );
}

#[test]
fn component_variables_name_components_variables_and_instances() {
    let m = model();
    // A component without a variable: all of its variables.
    assert_eq!(
        custom(&m, vec![cv(component("securityctrlr"), None)], vec![]),
        [
            "SecurityCtrlr.BasicAuthPassword",
            "SecurityCtrlr.Identity",
            "SecurityCtrlr.SecurityProfile"
        ]
    );
    // A variable without an instance: all of its instances.
    assert_eq!(
        custom(
            &m,
            vec![cv(
                component("DeviceDataCtrlr"),
                Some(variable("itemsPerMessage", None))
            )],
            vec![]
        ),
        [
            "DeviceDataCtrlr.ItemsPerMessage[GetReport]",
            "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
            "DeviceDataCtrlr.ItemsPerMessage[SetVariables]"
        ]
    );
    // With an instance: that one.
    assert_eq!(
        custom(
            &m,
            vec![cv(
                component("DeviceDataCtrlr"),
                Some(variable("ItemsPerMessage", Some("getreport")))
            )],
            vec![]
        ),
        ["DeviceDataCtrlr.ItemsPerMessage[GetReport]"]
    );
    // An EVSE component without evse: every EVSE.
    assert_eq!(
        custom(
            &m,
            vec![cv(
                component("EVSE"),
                Some(variable("AvailabilityState", None))
            )],
            vec![]
        ),
        ["EVSE[1].AvailabilityState", "EVSE[2].AvailabilityState"]
    );
    // A connector component with an EVSE but no connectorId: that EVSE's connector.
    assert_eq!(
        custom(&m, vec![cv(at_evse("Connector", 2, None), None)], vec![]),
        [
            "Connector[2,1].AvailabilityState",
            "Connector[2,1].Available",
            "Connector[2,1].Problem",
            "Connector[2,1].ConnectorType"
        ]
    );
    assert_eq!(
        custom(
            &m,
            vec![cv(
                at_evse("Connector", 1, Some(1)),
                Some(variable("Available", None))
            )],
            vec![]
        ),
        ["Connector[1,1].Available"]
    );
    // Entries asked for twice, or in another order, come once and in report order.
    assert_eq!(
        custom(
            &m,
            vec![
                cv(at_evse("EVSE", 2, None), Some(variable("Available", None))),
                cv(component("EVSE"), Some(variable("Available", None))),
            ],
            vec![]
        ),
        ["EVSE[1].Available", "EVSE[2].Available"]
    );
    // Nothing the station has.
    for nothing in [
        cv(component("NoSuchCtrlr"), None),
        cv(
            component("OCPPCommCtrlr"),
            Some(variable("NoSuchVariable", None)),
        ),
        cv(
            component("DeviceDataCtrlr"),
            Some(variable("ItemsPerMessage", Some("NoSuchInstance"))),
        ),
        cv(at_evse("EVSE", 3, None), None),
        cv(at_evse("EVSE", 1, Some(1)), None),
        cv(at_evse("Connector", 1, Some(2)), None),
        cv(at_evse("OCPPCommCtrlr", 1, None), None),
        cv(
            Component {
                instance: Some("Second".into()),
                ..component("OCPPCommCtrlr")
            },
            None,
        ),
    ] {
        assert!(
            custom(&m, vec![nothing.clone()], vec![]).is_empty(),
            "{nothing:?}"
        );
    }
}

#[test]
fn criteria_select_components_and_combine_with_component_variables() {
    let m = model();
    use ComponentCriterion::{Active, Available, Enabled, Problem};
    let full = custom(&m, vec![], vec![]);
    // No component has Active or Enabled: every component meets them.
    assert_eq!(custom(&m, vec![], vec![Active]), full);
    assert_eq!(custom(&m, vec![], vec![Enabled, Active]), full);
    // Problem: only components whose Problem is true (connector 2 is Faulted).
    assert_eq!(
        custom(&m, vec![], vec![Problem]),
        [
            "Connector[2,1].AvailabilityState",
            "Connector[2,1].Available",
            "Connector[2,1].Problem",
            "Connector[2,1].ConnectorType"
        ]
    );
    // Available: EVSE 2 is Inoperative, so it and its connector are left out; components
    // without an Available variable are in.
    let available = custom(&m, vec![], vec![Available]);
    assert!(available.contains(&"OCPPCommCtrlr.HeartbeatInterval".to_owned()));
    assert!(available.contains(&"ChargingStation.Available".to_owned()));
    assert!(available.contains(&"EVSE[1].Available".to_owned()));
    assert!(available.contains(&"Connector[1,1].Available".to_owned()));
    assert!(!available.iter().any(|n| n.contains("[2")), "{available:?}");
    // Several criteria: a component meeting any of them.
    let either = custom(&m, vec![], vec![Available, Problem]);
    assert!(either.contains(&"Connector[2,1].Problem".to_owned()));
    assert!(either.contains(&"EVSE[1].Available".to_owned()));
    assert!(!either.contains(&"EVSE[2].Available".to_owned()));
    // With componentVariable: both must hold.
    let evse_state = || {
        vec![cv(
            at_evse("EVSE", 1, None),
            Some(variable("AvailabilityState", None)),
        )]
    };
    assert_eq!(
        custom(&m, evse_state(), vec![Available]),
        ["EVSE[1].AvailabilityState"]
    );
    assert!(custom(&m, evse_state(), vec![Problem]).is_empty());
}

// ----- JSON shapes ----------------------------------------------------------------------------

#[test]
fn answers_have_the_schema_fields_only() {
    let request = vec![
        GetVariableData {
            attribute_type: None,
            component: component("OCPPCommCtrlr"),
            variable: variable("HeartbeatInterval", None),
        },
        GetVariableData {
            attribute_type: Some(AttributeType::Actual),
            component: at_evse("EVSE", 1, None),
            variable: variable("Available", None),
        },
    ];
    let results = model().get_variables(&request, &view());
    let json = serde_json::to_value(&results).unwrap();
    assert_eq!(
        json,
        json!([
            {"attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "300",
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "true",
             "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Available"}}
        ])
    );
    let set = vec![
        set_request(
            component("OCPPCommCtrlr"),
            variable("OfflineThreshold", None),
            "5",
        ),
        set_request(component("SecurityCtrlr"), variable("Identity", None), "5"),
    ];
    let (results, _) = model().set_variables(&set);
    assert_eq!(
        serde_json::to_value(&results).unwrap(),
        json!([
            {"attributeType": "Actual", "attributeStatus": "Accepted",
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}},
            {"attributeType": "Actual", "attributeStatus": "Rejected",
             "attributeStatusInfo": {"reasonCode": "ReadOnly", "additionalInfo": "the variable is read-only"},
             "component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}}
        ])
    );
}

// ----- 1.6 ------------------------------------------------------------------------------------

fn kv(key: &str, readonly: bool, value: Option<&str>) -> KeyValue16 {
    KeyValue16 {
        key: key.into(),
        readonly,
        value: value.map(Into::into),
    }
}

#[test]
fn get_configuration_lists_every_readable_key() {
    let (known, unknown) = model().get_configuration(None, &view());
    assert_eq!(
        known,
        vec![
            kv("AuthorizeRemoteTxRequests", true, Some("false")),
            kv("ClockAlignedDataInterval", true, Some("0")),
            kv("ConnectionTimeOut", false, Some("60")),
            kv("ConnectorPhaseRotation", true, Some("0.Unknown")),
            kv("GetConfigurationMaxKeys", true, Some("50")),
            kv("HeartbeatInterval", false, Some("300")),
            kv("LocalAuthorizeOffline", true, Some("false")),
            kv("LocalPreAuthorize", true, Some("false")),
            kv("MeterValueSampleInterval", true, Some("0")),
            kv("MeterValuesAlignedData", true, Some("")),
            kv("MeterValuesSampledData", true, Some("")),
            kv("NumberOfConnectors", true, Some("2")),
            kv("ResetRetries", true, Some("0")),
            kv("SecurityProfile", true, Some("2")),
            kv("StopTransactionOnEVSideDisconnect", true, Some("true")),
            kv("StopTransactionOnInvalidId", true, Some("true")),
            kv("StopTxnAlignedData", true, Some("")),
            kv("StopTxnSampledData", true, Some("")),
            kv("SupportedFeatureProfiles", true, Some("Core")),
            kv("TransactionMessageAttempts", true, Some("3")),
            kv("TransactionMessageRetryInterval", true, Some("60")),
            kv("UnlockConnectorOnEVSideDisconnect", true, Some("false")),
            kv("WebSocketPingInterval", false, Some("30")),
        ]
    );
    assert!(unknown.is_empty());
    let (empty_list, _) = model().get_configuration(Some(&[]), &view());
    assert_eq!(empty_list, known);
    let json = serde_json::to_value(&known[2]).unwrap();
    assert_eq!(
        json,
        json!({"key": "ConnectionTimeOut", "readonly": false, "value": "60"})
    );
}

#[test]
fn every_required_core_key_is_known() {
    // OCPP 1.6 section 9.1: the keys a charge point with the Core profile must have.
    let required = [
        "AuthorizeRemoteTxRequests",
        "ClockAlignedDataInterval",
        "ConnectionTimeOut",
        "ConnectorPhaseRotation",
        "GetConfigurationMaxKeys",
        "HeartbeatInterval",
        "LocalAuthorizeOffline",
        "LocalPreAuthorize",
        "MeterValuesAlignedData",
        "MeterValuesSampledData",
        "MeterValueSampleInterval",
        "NumberOfConnectors",
        "ResetRetries",
        "StopTransactionOnEVSideDisconnect",
        "StopTransactionOnInvalidId",
        "StopTxnAlignedData",
        "StopTxnSampledData",
        "SupportedFeatureProfiles",
        "TransactionMessageAttempts",
        "TransactionMessageRetryInterval",
        "UnlockConnectorOnEVSideDisconnect",
    ];
    let keys: Vec<String> = required.iter().map(|k| k.to_string()).collect();
    let (known, unknown) = model().get_configuration(Some(&keys), &view());
    assert!(unknown.is_empty(), "{unknown:?}");
    let names: Vec<&str> = known.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(names, required);
    assert!(
        known.len() <= GET_CONFIGURATION_MAX_KEYS as usize,
        "all keys fit one answer"
    );
}

#[test]
fn keys_the_station_does_not_act_on_are_read_only() {
    let mut m = model();
    for (key, value) in [
        ("AuthorizeRemoteTxRequests", "true"),
        ("ClockAlignedDataInterval", "900"),
        ("ConnectorPhaseRotation", "0.RST"),
        ("LocalAuthorizeOffline", "true"),
        ("LocalPreAuthorize", "true"),
        ("MeterValuesAlignedData", "Energy.Active.Import.Register"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register"),
        ("MeterValueSampleInterval", "60"),
        ("ResetRetries", "3"),
        ("StopTransactionOnEVSideDisconnect", "false"),
        ("StopTransactionOnInvalidId", "false"),
        ("StopTxnAlignedData", "Energy.Active.Import.Register"),
        ("StopTxnSampledData", "Energy.Active.Import.Register"),
        ("TransactionMessageAttempts", "5"),
        ("TransactionMessageRetryInterval", "30"),
        ("UnlockConnectorOnEVSideDisconnect", "true"),
    ] {
        let before = m.get_configuration(Some(&[key.to_owned()]), &view()).0;
        assert_eq!(
            m.change_configuration(key, value),
            (ConfigurationStatus16::Rejected, None),
            "{key}"
        );
        assert_eq!(
            m.get_configuration(Some(&[key.to_owned()]), &view()).0,
            before,
            "{key} unchanged"
        );
    }
    assert!(m.overrides().is_empty());
}

#[test]
fn stored_transaction_settings_check_their_values_like_writable_ones() {
    use super::settings::{Parsed, Setting, parse};
    assert_eq!(
        parse(Setting::StopTxOnInvalidId, "FALSE"),
        Ok(Parsed::Flag(false))
    );
    assert!(parse(Setting::StopTxOnInvalidId, "no").is_err());
    assert_eq!(
        parse(
            Setting::SampledDataMeasurands,
            "energy.active.import.register, Voltage"
        ),
        Ok(Parsed::Measurands(
            "Energy.Active.Import.Register,Voltage".into()
        ))
    );
    assert_eq!(
        parse(Setting::SampledDataMeasurands, ""),
        Ok(Parsed::Measurands(String::new()))
    );
    assert!(parse(Setting::SampledDataMeasurands, "Voltage,Bogus").is_err());
    assert!(parse(Setting::SampledDataMeasurands, &"Voltage,".repeat(80)).is_err());
    assert_eq!(
        parse(Setting::TransactionMessageAttempts, "11").map_err(|e| e.reason_code),
        Err("ValueOutOfRange")
    );
    // A state file that holds one is read back like any other setting.
    let overrides = BTreeMap::from([(
        "SampledDataCtrlr/TxUpdatedInterval".to_owned(),
        "60".to_owned(),
    )]);
    let mut m = DeviceModel::new(&defaults(), &overrides);
    assert!(m.take_warnings().is_empty());
    let (known, _) = m.get_configuration(Some(&["MeterValueSampleInterval".to_owned()]), &view());
    assert_eq!(
        known,
        vec![kv("MeterValueSampleInterval", true, Some("60"))]
    );
}

#[test]
fn get_configuration_by_name() {
    let keys: Vec<String> = [
        "heartbeatinterval",
        "AuthorizationKey",
        "NoSuchKey",
        "HeartbeatInterval",
        "NoSuchKey",
        &"K".repeat(80),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (known, unknown) = model().get_configuration(Some(&keys), &view());
    assert_eq!(
        known,
        vec![
            kv("HeartbeatInterval", false, Some("300")),
            kv("AuthorizationKey", false, None),
        ]
    );
    assert_eq!(unknown, vec!["NoSuchKey".to_owned(), "K".repeat(50)]);
    let json = serde_json::to_value(&known[1]).unwrap();
    assert_eq!(json, json!({"key": "AuthorizationKey", "readonly": false}));
}

#[test]
fn change_configuration_of_each_key() {
    let mut m = model();
    for (key, value, status, change) in [
        (
            "HeartbeatInterval",
            "90",
            ConfigurationStatus16::Accepted,
            Some(Change::HeartbeatInterval(Duration::from_secs(90))),
        ),
        (
            "webSocketPingInterval",
            "0",
            ConfigurationStatus16::Accepted,
            Some(Change::PingInterval(Duration::ZERO)),
        ),
        (
            "ConnectionTimeOut",
            "120",
            ConfigurationStatus16::Accepted,
            None,
        ),
        (
            "HeartbeatInterval",
            "0",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "HeartbeatInterval",
            "soon",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "ConnectionTimeOut",
            "0",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "WebSocketPingInterval",
            "-1",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "NumberOfConnectors",
            "3",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "SupportedFeatureProfiles",
            "Core",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "GetConfigurationMaxKeys",
            "10",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "SecurityProfile",
            "3",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "MeterValueSampleInterval",
            "60",
            ConfigurationStatus16::Rejected,
            None,
        ),
        (
            "AllowOfflineTxForUnknownId",
            "true",
            ConfigurationStatus16::NotSupported,
            None,
        ),
        ("", "60", ConfigurationStatus16::NotSupported, None),
    ] {
        assert_eq!(
            m.change_configuration(key, value),
            (status, change),
            "{key}={value}"
        );
    }
    assert_eq!(m.connection_timeout(), Duration::from_secs(120));
    // 1.6 and 2.0.1 share the setting.
    assert_eq!(
        get_value(&m, "OCPPCommCtrlr", "HeartbeatInterval", None).as_deref(),
        Some("90")
    );
    let (known, _) = m.get_configuration(Some(&["ConnectionTimeOut".to_owned()]), &view());
    assert_eq!(known, vec![kv("ConnectionTimeOut", false, Some("120"))]);
}

#[test]
fn authorization_key_sets_the_password() {
    // The whitepaper form: hex of the password's bytes.
    let hex: String = PASSWORD.bytes().map(|b| format!("{b:02X}")).collect();
    assert_eq!(hex.len(), 40);
    let mut m = model();
    assert_eq!(
        m.change_configuration("AuthorizationKey", &hex),
        (
            ConfigurationStatus16::Accepted,
            Some(Change::Password(Secret::new(PASSWORD)))
        )
    );
    assert_eq!(m.password().map(Secret::expose), Some(PASSWORD));
    assert_eq!(
        m.overrides()["SecurityCtrlr/BasicAuthPassword"],
        PASSWORD,
        "the decoded password is stored, valid for both versions"
    );
    // A 16-byte key (32 hex digits) in lower case.
    let sixteen = "abcdefghijklmnop";
    let hex: String = sixteen.bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        m.change_configuration("AUTHORIZATIONKEY", &hex).0,
        ConfigurationStatus16::Accepted
    );
    assert_eq!(m.password().map(Secret::expose), Some(sixteen));

    // A password sent in clear is taken as it is.
    let clear = "plain-text-password-1";
    assert_eq!(
        m.change_configuration("AuthorizationKey", clear).0,
        ConfigurationStatus16::Accepted
    );
    assert_eq!(m.password().map(Secret::expose), Some(clear));

    let before = m.password().cloned();
    for rejected in [
        // Random binary: the station cannot send it as text.
        "00112233445566778899aabbccddeeff00112233".to_owned(),
        "short".to_owned(),
        "x".repeat(41),
        "with\ta tab and more".to_owned(),
    ] {
        assert_eq!(
            m.change_configuration("AuthorizationKey", &rejected),
            (ConfigurationStatus16::Rejected, None),
            "{rejected}"
        );
    }
    assert_eq!(
        m.password().cloned(),
        before,
        "a refused key changes nothing"
    );
    // Hex-looking values outside the 16..20-byte window are literal passwords.
    let literal = "deadbeefdeadbeefdeadbeef";
    assert_eq!(
        m.change_configuration("AuthorizationKey", literal).0,
        ConfigurationStatus16::Accepted
    );
    assert_eq!(m.password().map(Secret::expose), Some(literal));
}

#[test]
fn one_six_output_fits_the_schema() {
    let (known, _) = model().get_configuration(None, &view());
    for k in known {
        assert!(k.key.len() <= 50);
        // Only a measurand list may be empty (no meter values).
        let list = k.key.contains("Data");
        assert!(
            k.value
                .as_ref()
                .is_some_and(|v| (list || !v.is_empty()) && v.len() <= 500),
            "{k:?}"
        );
    }
}

#[test]
fn the_reason_codes_are_standard_and_short() {
    // Appendix 5 reason codes used here.
    let standard = [
        "NotFound",
        "UnknownEvse",
        "UnknownConnectorId",
        "UnsupportedParam",
        "WriteOnly",
        "ReadOnly",
        "ValueOutOfRange",
        "InvalidValue",
    ];
    let mut m = model();
    let mut seen = Vec::new();
    let requests = vec![
        set_request(component("X"), variable("Y", None), "1"),
        set_request(at_evse("EVSE", 9, None), variable("Available", None), "1"),
        set_request(
            at_evse("Connector", 1, Some(3)),
            variable("Available", None),
            "1",
        ),
        set_request(component("OCPPCommCtrlr"), variable("Y", None), "1"),
        set_request(component("SecurityCtrlr"), variable("Identity", None), "1"),
        set_request(
            component("OCPPCommCtrlr"),
            variable("OfflineThreshold", None),
            "-1",
        ),
        set_request(
            component("OCPPCommCtrlr"),
            variable("OfflineThreshold", None),
            "x",
        ),
    ];
    let (results, _) = m.set_variables(&requests);
    for r in results {
        seen.push(r.attribute_status_info.unwrap().reason_code);
    }
    for code in &seen {
        assert!(
            standard.contains(&code.as_str()) && code.len() <= 20,
            "{code}"
        );
    }
    let json: Value = serde_json::to_value(seen).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 7);
}

// ----- StationHealth ----------------------------------------------------------------------

fn health_sample() -> crate::health::Sample {
    use crate::health::{DiskUse, Sample, Throttled};
    Sample {
        cpu_percent: 12.345,
        load_average: [0.5, 0.25, 1.126],
        memory_used_bytes: 300 << 20,
        memory_total_bytes: 4 << 30,
        soc_temp_c: Some(51.3),
        disk_root: DiskUse::from_space(1000, 250),
        disk_state: DiskUse::from_space(2000, 1000),
        uptime_seconds: 86_400,
        throttled: Some(Throttled::from_raw(0x50005)),
        process_rss_bytes: Some(7 << 20),
    }
}

fn get_health(
    m: &DeviceModel,
    sample: Option<&crate::health::Sample>,
    v: Variable,
) -> GetVariableResult {
    let view = LiveView {
        metrics: sample,
        ..view()
    };
    let request = GetVariableData {
        attribute_type: None,
        component: component("StationHealth"),
        variable: v,
    };
    m.get_variables(&[request], &view).remove(0)
}

#[test]
fn station_health_variables_show_the_latest_sample() {
    let m = model();
    let sample = health_sample();
    for (name, instance, expected) in [
        ("CpuLoad", None, "12.3"),
        ("LoadAverage", Some("1min"), "0.50"),
        ("LoadAverage", Some("5min"), "0.25"),
        ("LoadAverage", Some("15min"), "1.13"),
        // Asked without an instance: the first one.
        ("LoadAverage", None, "0.50"),
        ("MemoryUsed", None, "314572800"),
        ("MemoryTotal", None, "4294967296"),
        ("Temperature", None, "51.3"),
        ("DiskUsed", Some("Root"), "75.0"),
        ("DiskUsed", Some("StateDir"), "50.0"),
        ("Uptime", None, "86400"),
        ("UnderVoltage", None, "true"),
        ("Throttled", None, "true"),
        ("ProcessMemory", None, "7340032"),
    ] {
        let r = get_health(&m, Some(&sample), variable(name, instance));
        assert_eq!(
            (r.attribute_status, r.attribute_value.as_deref()),
            (GetVariableStatus::Accepted, Some(expected)),
            "{name} {instance:?}"
        );
    }
}

#[test]
fn an_unmeasured_health_value_is_rejected_with_the_reason_never_zero() {
    let m = model();
    let before = get_health(&m, None, variable("CpuLoad", None));
    assert_eq!(before.attribute_status, GetVariableStatus::Rejected);
    assert_eq!(before.attribute_value, None);
    let info = before.attribute_status_info.unwrap();
    assert_eq!(info.reason_code, "Unspecified");
    assert!(info.additional_info.unwrap().contains("not measured yet"));

    // A board without a thermal zone, not a Raspberry Pi, a sensor reading NaN.
    let mut sample = health_sample();
    sample.soc_temp_c = None;
    sample.throttled = None;
    sample.cpu_percent = f32::NAN;
    for name in ["Temperature", "UnderVoltage", "Throttled", "CpuLoad"] {
        let r = get_health(&m, Some(&sample), variable(name, None));
        assert_eq!(r.attribute_status, GetVariableStatus::Rejected, "{name}");
        assert_eq!(r.attribute_value, None, "{name}");
        let info = r.attribute_status_info.unwrap();
        assert!(
            info.additional_info.unwrap().contains("does not report"),
            "{name}"
        );
    }
}

#[test]
fn station_health_is_read_only_and_reported_as_live_state() {
    let mut m = model();
    let (r, changes) = set_one(&mut m, "StationHealth", "CpuLoad", None, "1");
    assert_eq!(r.attribute_status, SetVariableStatus::Rejected);
    assert_eq!(r.attribute_status_info.unwrap().reason_code, "ReadOnly");
    assert!(changes.is_empty());

    let sample = health_sample();
    let measured = LiveView {
        metrics: Some(&sample),
        ..view()
    };
    let full = m.base_report(ReportBase::FullInventory, &measured);
    let health: Vec<&ReportData> = full
        .iter()
        .filter(|d| d.component.name == "StationHealth")
        .collect();
    assert_eq!(health.len(), 13);
    for d in &health {
        let attribute = &d.variable_attribute[0];
        assert_eq!(attribute.mutability, Mutability::ReadOnly, "{d:?}");
        assert!(!attribute.persistent && !attribute.constant, "{d:?}");
        assert!(attribute.value.is_some(), "{d:?}");
        let r = get_health(&m, Some(&sample), d.variable.clone());
        assert_eq!(r.attribute_value, attribute.value, "{d:?}");
    }
    let temperature = health
        .iter()
        .find(|d| d.variable.name == "Temperature")
        .unwrap();
    let characteristics = temperature.variable_characteristics.as_ref().unwrap();
    assert_eq!(characteristics.unit.as_deref(), Some("Celsius"));
    assert_eq!(characteristics.data_type, DataType::Decimal);

    // Before the first sample the variables are listed without a value.
    let bare = m.base_report(ReportBase::FullInventory, &view());
    assert!(
        bare.iter()
            .filter(|d| d.component.name == "StationHealth")
            .all(|d| d.variable_attribute[0].value.is_none())
    );
    // Not configuration, not part of the summary.
    for base in [
        ReportBase::ConfigurationInventory,
        ReportBase::SummaryInventory,
    ] {
        assert!(
            m.base_report(base, &measured)
                .iter()
                .all(|d| d.component.name != "StationHealth")
        );
    }
}
