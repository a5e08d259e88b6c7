//! The decoder: every action the station reads, in both versions, and every kind of defect
//! with the exact CALLERROR code it is owed.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::device_model::{
    AttributeType, Component, ComponentCriterion, Evse, GET_CONFIGURATION_MAX_KEYS,
    ITEMS_PER_MESSAGE, Variable,
};
use crate::rpc::ErrorCode;
use OcppVersion::{V16, V201};

fn read(version: OcppVersion, action: &str, payload: Value) -> Result<CsmsRequest, DecodeError> {
    decode(version, action, &payload)
}

/// The code a request is owed, as its version spells it.
fn owed(version: OcppVersion, action: &str, payload: Value) -> &'static str {
    match read(version, action, payload.clone()) {
        Ok(request) => panic!("{action} {payload} was read: {request:?}"),
        Err(error) => error.code().wire(version),
    }
}

fn component(name: &str) -> Component {
    Component {
        name: name.into(),
        instance: None,
        evse: None,
    }
}

fn variable(name: &str) -> Variable {
    Variable {
        name: name.into(),
        instance: None,
    }
}

// ----- reading ----------------------------------------------------------------------------

#[test]
fn unknown_and_unsupported_actions() {
    for version in [V201, V16] {
        let error = read(version, "NoSuchAction", json!({})).unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotImplemented);
        assert_eq!(
            error.to_string(),
            format!("'NoSuchAction' is not an OCPP {version} action")
        );
        // Known but unsupported: refused before the payload is looked at.
        let error = read(version, "UpdateFirmware", json!(null)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotSupported);
        assert!(is_csms_action(version, "UpdateFirmware"));
        assert!(!is_csms_action(version, "NoSuchAction"));
    }
    // Each version reads its own actions only.
    assert_eq!(owed(V201, "GetConfiguration", json!({})), "NotImplemented");
    assert_eq!(owed(V16, "GetVariables", json!({})), "NotImplemented");
    assert_eq!(
        owed(V16, "GetReport", json!({"requestId": 7})),
        "NotImplemented"
    );
    assert_eq!(
        owed(V201, "RemoteStartTransaction", json!({"idTag": "x"})),
        "NotImplemented"
    );
}

#[test]
fn triggers_are_read_for_both_versions() {
    let status = |target| Ok(CsmsRequest::TriggerMessage(TriggerTarget::Status(target)));
    assert_eq!(
        read(
            V201,
            "TriggerMessage",
            json!({"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}})
        ),
        status(StatusTarget::Evse {
            id: 2,
            connector: Some(1)
        })
    );
    assert_eq!(
        read(
            V201,
            "TriggerMessage",
            json!({"requestedMessage":"StatusNotification","evse":{"id":1}})
        ),
        status(StatusTarget::Evse {
            id: 1,
            connector: None
        })
    );
    assert_eq!(
        read(
            V201,
            "TriggerMessage",
            json!({"requestedMessage":"StatusNotification"})
        ),
        status(StatusTarget::Unspecified)
    );
    assert_eq!(
        read(
            V16,
            "TriggerMessage",
            json!({"requestedMessage":"StatusNotification"})
        ),
        status(StatusTarget::Unspecified)
    );
    assert_eq!(
        read(
            V16,
            "TriggerMessage",
            json!({"requestedMessage":"StatusNotification","connectorId":0})
        ),
        status(StatusTarget::Connector(0))
    );
    for (version, message, target) in [
        (V201, "BootNotification", TriggerTarget::Boot),
        (V16, "BootNotification", TriggerTarget::Boot),
        (V201, "Heartbeat", TriggerTarget::Heartbeat),
        (V16, "Heartbeat", TriggerTarget::Heartbeat),
        // In the version's list, but not a message the station sends.
        (V201, "MeterValues", TriggerTarget::Other),
        (V201, "LogStatusNotification", TriggerTarget::Other),
        (V16, "MeterValues", TriggerTarget::Other),
        (V16, "DiagnosticsStatusNotification", TriggerTarget::Other),
    ] {
        assert_eq!(
            read(
                version,
                "TriggerMessage",
                json!({"requestedMessage": message})
            ),
            Ok(CsmsRequest::TriggerMessage(target)),
            "{version} {message}"
        );
    }
}

#[test]
fn availability_scope_is_read_per_version() {
    let change = |connector, operative| {
        Ok(CsmsRequest::ChangeAvailability {
            connector,
            operative,
        })
    };
    assert_eq!(
        read(
            V16,
            "ChangeAvailability",
            json!({"connectorId":0,"type":"Inoperative"})
        ),
        change(None, false)
    );
    assert_eq!(
        read(
            V16,
            "ChangeAvailability",
            json!({"connectorId":2,"type":"Operative"})
        ),
        change(Some(2), true)
    );
    assert_eq!(
        read(
            V201,
            "ChangeAvailability",
            json!({"operationalStatus":"Operative","evse":{"id":1}})
        ),
        change(Some(1), true)
    );
    for whole_station in [
        json!({"operationalStatus":"Inoperative"}),
        json!({"operationalStatus":"Inoperative","evse":{"id":0}}),
    ] {
        assert_eq!(
            read(V201, "ChangeAvailability", whole_station),
            change(None, false)
        );
    }
}

#[test]
fn resets_unlocks_and_data_transfers() {
    assert_eq!(
        read(V201, "Reset", json!({"type":"OnIdle"})),
        Ok(CsmsRequest::Reset {
            immediate: false,
            evse: None
        })
    );
    assert_eq!(
        read(V201, "Reset", json!({"type":"Immediate","evseId":1})),
        Ok(CsmsRequest::Reset {
            immediate: true,
            evse: Some(1)
        })
    );
    for kind in ["Hard", "Soft"] {
        assert_eq!(
            read(V16, "Reset", json!({ "type": kind })),
            Ok(CsmsRequest::Reset {
                immediate: true,
                evse: None
            })
        );
    }
    assert_eq!(
        read(V201, "UnlockConnector", json!({"evseId":2,"connectorId":1})),
        Ok(CsmsRequest::UnlockConnector { connector: 2 })
    );
    assert_eq!(
        read(V16, "UnlockConnector", json!({"connectorId":1})),
        Ok(CsmsRequest::UnlockConnector { connector: 1 })
    );
    for version in [V201, V16] {
        assert_eq!(
            read(
                version,
                "DataTransfer",
                json!({"vendorId":"com.example","messageId":"Hello","data":"x"})
            ),
            Ok(CsmsRequest::DataTransfer {
                vendor_id: "com.example".into(),
                message_id: Some("Hello".into())
            })
        );
    }
    // 2.0.1 data may be anything.
    assert!(
        read(
            V201,
            "DataTransfer",
            json!({"vendorId":"v","data":{"a":[1]}})
        )
        .is_ok()
    );
}

#[test]
fn device_model_requests_are_read_whole() {
    assert_eq!(
        read(
            V201,
            "GetVariables",
            json!({"getVariableData": [
                {"component": {"name": "OCPPCommCtrlr", "customData": {"vendorId": "x"}},
                 "variable": {"name": "HeartbeatInterval"}, "customData": {"vendorId": "x"}},
                {"attributeType": "Actual",
                 "component": {"name": "EVSE", "instance": "a", "evse": {"id": 1, "connectorId": 1}},
                 "variable": {"name": "Available", "instance": "b"}}
            ]})
        ),
        Ok(CsmsRequest::GetVariables(vec![
            GetVariableData {
                attribute_type: None,
                component: component("OCPPCommCtrlr"),
                variable: variable("HeartbeatInterval"),
            },
            GetVariableData {
                attribute_type: Some(AttributeType::Actual),
                component: Component {
                    name: "EVSE".into(),
                    instance: Some("a".into()),
                    evse: Some(Evse {
                        id: 1,
                        connector_id: Some(1)
                    }),
                },
                variable: Variable {
                    name: "Available".into(),
                    instance: Some("b".into()),
                },
            },
        ]))
    );
    // A component at an EVSE the station does not have is the device model's to judge.
    assert!(
        read(
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "EVSE", "evse": {"id": -1}},
                                        "variable": {"name": "Available"}}]})
        )
        .is_ok()
    );
    assert_eq!(
        read(
            V201,
            "SetVariables",
            json!({"setVariableData": [{"attributeValue": "5", "attributeType": "MaxSet",
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
                "extra": true}]})
        ),
        Ok(CsmsRequest::SetVariables(vec![SetVariableData {
            attribute_type: Some(AttributeType::MaxSet),
            attribute_value: "5".into(),
            component: component("OCPPCommCtrlr"),
            variable: variable("OfflineThreshold"),
        }]))
    );
    assert_eq!(
        read(
            V201,
            "GetBaseReport",
            json!({"requestId": -3, "reportBase": "SummaryInventory"})
        ),
        Ok(CsmsRequest::GetBaseReport {
            request_id: -3,
            base: ReportBase::SummaryInventory
        })
    );
}

#[test]
fn get_report_reads_its_filters() {
    assert_eq!(
        read(V201, "GetReport", json!({"requestId": 7})),
        Ok(CsmsRequest::GetReport {
            request_id: 7,
            filter: CustomReport::default()
        })
    );
    let Ok(CsmsRequest::GetReport { filter, .. }) = read(
        V201,
        "GetReport",
        json!({"requestId": 7, "componentCriteria": ["Problem", "Active"], "componentVariable": [
            {"component": {"name": "EVSE", "evse": {"id": 1}}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
        ]}),
    ) else {
        panic!("GetReport is read");
    };
    assert_eq!(
        filter.criteria,
        [ComponentCriterion::Problem, ComponentCriterion::Active]
    );
    assert_eq!(
        filter.component_variables[0].component.evse.map(|e| e.id),
        Some(1)
    );
    assert_eq!(filter.component_variables[0].variable, None);
    assert_eq!(
        filter.component_variables[1].variable,
        Some(variable("HeartbeatInterval"))
    );
}

#[test]
fn configuration_requests() {
    assert_eq!(
        read(
            V16,
            "GetConfiguration",
            json!({"key":["HeartbeatInterval"]})
        ),
        Ok(CsmsRequest::GetConfiguration {
            keys: Some(vec!["HeartbeatInterval".into()])
        })
    );
    assert_eq!(
        read(V16, "GetConfiguration", json!({})),
        Ok(CsmsRequest::GetConfiguration { keys: None })
    );
    assert_eq!(
        read(V16, "GetConfiguration", json!({"key": []})),
        Ok(CsmsRequest::GetConfiguration { keys: Some(vec![]) })
    );
    assert_eq!(
        read(
            V16,
            "ChangeConfiguration",
            json!({"key":"HeartbeatInterval","value":"60"})
        ),
        Ok(CsmsRequest::ChangeConfiguration {
            key: "HeartbeatInterval".into(),
            value: "60".into()
        })
    );
}

#[test]
fn remote_start_and_stop_are_read_to_be_refused() {
    assert_eq!(
        read(
            V201,
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "TAG-1", "type": "Central"}, "remoteStartId": 1})
        ),
        Ok(CsmsRequest::RemoteStart {
            id_token: "TAG-1".into()
        })
    );
    assert_eq!(
        read(
            V201,
            "RequestStopTransaction",
            json!({"transactionId": "tx-1"})
        ),
        Ok(CsmsRequest::RemoteStop {
            transaction_id: "tx-1".into()
        })
    );
    assert_eq!(
        read(V16, "RemoteStartTransaction", json!({"idTag": "TAG-1"})),
        Ok(CsmsRequest::RemoteStart {
            id_token: "TAG-1".into()
        })
    );
    assert_eq!(
        read(V16, "RemoteStopTransaction", json!({"transactionId": 7})),
        Ok(CsmsRequest::RemoteStop {
            transaction_id: "7".into()
        })
    );
}

#[test]
fn null_is_absent_and_unknown_fields_are_ignored() {
    assert_eq!(
        read(
            V201,
            "Reset",
            json!({"type":"Immediate","evseId":null,"customData":{"vendorId":"x"}})
        ),
        Ok(CsmsRequest::Reset {
            immediate: true,
            evse: None
        })
    );
    assert_eq!(
        read(V16, "GetConfiguration", json!({"key": null, "extra": 1})),
        Ok(CsmsRequest::GetConfiguration { keys: None })
    );
    assert_eq!(
        owed(V16, "Reset", json!({"type": null})),
        "OccurenceConstraintViolation"
    );
}

#[test]
fn only_configuration_and_triggers_are_answered_while_pending() {
    let answered = [
        CsmsRequest::TriggerMessage(TriggerTarget::Heartbeat),
        CsmsRequest::GetVariables(vec![]),
        CsmsRequest::SetVariables(vec![]),
        CsmsRequest::GetBaseReport {
            request_id: 1,
            base: ReportBase::FullInventory,
        },
        CsmsRequest::GetReport {
            request_id: 1,
            filter: CustomReport::default(),
        },
        CsmsRequest::GetConfiguration { keys: None },
        CsmsRequest::ChangeConfiguration {
            key: "k".into(),
            value: "v".into(),
        },
    ];
    for request in answered {
        assert_eq!(
            request.while_pending(),
            WhilePending::Answered,
            "{request:?}"
        );
    }
    for request in [
        CsmsRequest::RemoteStart {
            id_token: "t".into(),
        },
        CsmsRequest::RemoteStop {
            transaction_id: "1".into(),
        },
    ] {
        assert_eq!(request.while_pending(), WhilePending::Rejected);
    }
    for request in [
        CsmsRequest::ChangeAvailability {
            connector: None,
            operative: false,
        },
        CsmsRequest::Reset {
            immediate: true,
            evse: None,
        },
        CsmsRequest::UnlockConnector { connector: 1 },
        CsmsRequest::DataTransfer {
            vendor_id: "v".into(),
            message_id: None,
        },
    ] {
        assert_eq!(request.while_pending(), WhilePending::SecurityError);
    }
}

// ----- defects: each action, each kind, the exact code per version -------------------------

/// Every defect the station detects, one row per (version, action, payload): the code as the
/// version spells it. DataTransfer, GetConfiguration, ChangeConfiguration, 2.0.1
/// RequestStopTransaction and 1.6 RemoteStopTransaction have no field with a list of values or
/// a range, so no PropertyConstraintViolation.
#[test]
fn every_defect_is_owed_its_exact_code() {
    let many = |n: usize, entry: Value| Value::Array(vec![entry; n]);
    let get = json!({"component": {"name": "C"}, "variable": {"name": "V"}});
    let set = json!({"component": {"name": "C"}, "variable": {"name": "V"}, "attributeValue": "1"});
    let items = ITEMS_PER_MESSAGE as usize;
    let keys = GET_CONFIGURATION_MAX_KEYS as usize;
    let cases: Vec<(OcppVersion, &str, Value, &str)> = vec![
        // 2.0.1 TriggerMessage
        (
            V201,
            "TriggerMessage",
            json!({}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": 7}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "Bogus"}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "heartbeat"}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "evse": 1}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "evse": {}}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "evse": {"id": 1.5}}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": -1}}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "Heartbeat", "evse": {"id": -1}}),
            "PropertyConstraintViolation",
        ),
        (V201, "TriggerMessage", json!([]), "FormatViolation"),
        // 1.6 TriggerMessage
        (
            V16,
            "TriggerMessage",
            json!({}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "TriggerMessage",
            json!({"requestedMessage": ["Heartbeat"]}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "TriggerMessage",
            json!({"requestedMessage": "LogStatusNotification"}),
            "PropertyConstraintViolation",
        ),
        (
            V16,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": "1"}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": -1}),
            "PropertyConstraintViolation",
        ),
        (
            V16,
            "TriggerMessage",
            json!("TriggerMessage"),
            "FormationViolation",
        ),
        // ChangeAvailability
        (
            V201,
            "ChangeAvailability",
            json!({}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "ChangeAvailability",
            json!({"operationalStatus": 1}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "ChangeAvailability",
            json!({"operationalStatus": "Maybe"}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "ChangeAvailability",
            json!({"operationalStatus": "Operative", "evse": {"id": "1"}}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "ChangeAvailability",
            json!({"operationalStatus": "Operative", "evse": {"id": -2}}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "ChangeAvailability",
            json!({"operationalStatus": "Operative", "evse": {"id": 4_294_967_296u64}}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "ChangeAvailability",
            json!({"type": "Inoperative"}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "ChangeAvailability",
            json!({"connectorId": 0}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "ChangeAvailability",
            json!({"connectorId": "0", "type": "Inoperative"}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "ChangeAvailability",
            json!({"connectorId": -1, "type": "Operative"}),
            "PropertyConstraintViolation",
        ),
        (
            V16,
            "ChangeAvailability",
            json!({"connectorId": 1, "type": "operative"}),
            "PropertyConstraintViolation",
        ),
        // Reset
        (V201, "Reset", json!({}), "OccurrenceConstraintViolation"),
        (
            V201,
            "Reset",
            json!({"type": true}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "Reset",
            json!({"type": "Hard"}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "Reset",
            json!({"type": "Immediate", "evseId": "1"}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "Reset",
            json!({"type": "Immediate", "evseId": -1}),
            "PropertyConstraintViolation",
        ),
        (V16, "Reset", json!({}), "OccurenceConstraintViolation"),
        (V16, "Reset", json!({"type": 1}), "TypeConstraintViolation"),
        (
            V16,
            "Reset",
            json!({"type": "Immediate"}),
            "PropertyConstraintViolation",
        ),
        // UnlockConnector
        (
            V201,
            "UnlockConnector",
            json!({"evseId": 1}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "UnlockConnector",
            json!({"connectorId": 1}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "UnlockConnector",
            json!({"evseId": "1", "connectorId": 1}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "UnlockConnector",
            json!({"evseId": 1, "connectorId": -1}),
            "PropertyConstraintViolation",
        ),
        (
            V16,
            "UnlockConnector",
            json!({}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "UnlockConnector",
            json!({"connectorId": 1.0}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "UnlockConnector",
            json!({"connectorId": -3}),
            "PropertyConstraintViolation",
        ),
        // DataTransfer
        (
            V201,
            "DataTransfer",
            json!({}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "DataTransfer",
            json!({"vendorId": 7}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "DataTransfer",
            json!({"vendorId": "v", "messageId": {}}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "DataTransfer",
            json!({"messageId": "m"}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "DataTransfer",
            json!({"vendorId": 7}),
            "TypeConstraintViolation",
        ),
        // GetVariables
        (
            V201,
            "GetVariables",
            json!({}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": "HeartbeatInterval"}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": []}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": many(items + 1, get.clone())}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": ["x"]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"variable": {"name": "V"}}]}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {}, "variable": {"name": "V"}}]}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": 1}, "variable": {"name": "V"}}]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "C", "instance": 2}, "variable": {"name": "V"}}]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "C", "evse": {"id": 1.5}}, "variable": {"name": "V"}}]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"}, "attributeType": "Bogus"}]}),
            "PropertyConstraintViolation",
        ),
        // SetVariables
        (
            V201,
            "SetVariables",
            json!({"setVariableData": []}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "SetVariables",
            json!({"setVariableData": many(items + 1, set.clone())}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "SetVariables",
            json!({"setVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"}}]}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "SetVariables",
            json!({"setVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"}, "attributeValue": 5}]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "SetVariables",
            json!({"setVariableData": [{"component": {"name": "C"}, "variable": "V", "attributeValue": "5"}]}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "SetVariables",
            json!({"setVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"},
                                        "attributeValue": "5", "attributeType": "actual"}]}),
            "PropertyConstraintViolation",
        ),
        // GetBaseReport
        (
            V201,
            "GetBaseReport",
            json!({"reportBase": "FullInventory"}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetBaseReport",
            json!({"requestId": 1}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetBaseReport",
            json!({"requestId": "1", "reportBase": "FullInventory"}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetBaseReport",
            json!({"requestId": 1u64 << 40, "reportBase": "FullInventory"}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetBaseReport",
            json!({"requestId": 1, "reportBase": "NoSuchBase"}),
            "PropertyConstraintViolation",
        ),
        // GetReport
        (
            V201,
            "GetReport",
            json!({"componentCriteria": ["Active"]}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentCriteria": []}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentCriteria": many(5, json!("Active"))}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentCriteria": ["Broken"]}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentCriteria": "Active"}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentVariable": []}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentVariable": many(items + 1, json!({"component": {"name": "C"}}))}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentVariable": [{"variable": {"name": "X"}}]}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "GetReport",
            json!({"requestId": 1, "componentVariable": [{"component": {"name": "C"}, "variable": {"name": []}}]}),
            "TypeConstraintViolation",
        ),
        // GetConfiguration, ChangeConfiguration
        (
            V16,
            "GetConfiguration",
            json!({"key": "HeartbeatInterval"}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "GetConfiguration",
            json!({"key": [1]}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "GetConfiguration",
            json!({"key": many(keys + 1, json!("K"))}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "ChangeConfiguration",
            json!({"key": "HeartbeatInterval"}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "ChangeConfiguration",
            json!({"value": "5"}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "ChangeConfiguration",
            json!({"key": "HeartbeatInterval", "value": 5}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "ChangeConfiguration",
            json!(null),
            "FormationViolation",
        ),
        // Remote start and stop
        (
            V201,
            "RequestStartTransaction",
            json!({"remoteStartId": 1}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "T"}, "remoteStartId": 1}),
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "T", "type": "Card"}, "remoteStartId": 1}),
            "PropertyConstraintViolation",
        ),
        (
            V201,
            "RequestStartTransaction",
            json!({"idToken": "T", "remoteStartId": 1}),
            "TypeConstraintViolation",
        ),
        (
            V201,
            "RequestStopTransaction",
            json!({"transactionId": 7}),
            "TypeConstraintViolation",
        ),
        (
            V16,
            "RemoteStartTransaction",
            json!({}),
            "OccurenceConstraintViolation",
        ),
        (
            V16,
            "RemoteStartTransaction",
            json!({"idTag": "T", "connectorId": -1}),
            "PropertyConstraintViolation",
        ),
        (
            V16,
            "RemoteStopTransaction",
            json!({"transactionId": "7"}),
            "TypeConstraintViolation",
        ),
    ];
    // A payload that is not an object, for every action the station reads.
    let read_actions: [(OcppVersion, &[&str]); 2] = [
        (
            V201,
            &[
                "TriggerMessage",
                "ChangeAvailability",
                "Reset",
                "UnlockConnector",
                "DataTransfer",
                "GetVariables",
                "SetVariables",
                "GetBaseReport",
                "GetReport",
                "RequestStartTransaction",
                "RequestStopTransaction",
            ],
        ),
        (
            V16,
            &[
                "TriggerMessage",
                "ChangeAvailability",
                "Reset",
                "UnlockConnector",
                "DataTransfer",
                "GetConfiguration",
                "ChangeConfiguration",
                "RemoteStartTransaction",
                "RemoteStopTransaction",
            ],
        ),
    ];
    let mut cases = cases;
    for (version, actions) in read_actions {
        let format = ErrorCode::FormatViolation.wire(version);
        for action in actions {
            for payload in [json!([]), json!("{}"), json!(7), json!(null)] {
                cases.push((version, action, payload, format));
            }
        }
    }
    for (version, action, payload, code) in cases {
        assert_eq!(
            owed(version, action, payload.clone()),
            code,
            "{version} {action} {payload}"
        );
    }
}

#[test]
fn descriptions_name_the_field_and_never_the_value() {
    let describe = |version, action: &str, payload: Value| {
        read(version, action, payload).unwrap_err().to_string()
    };
    assert_eq!(
        describe(
            V201,
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": -1}})
        ),
        "evse.connectorId must be 0 or more"
    );
    assert_eq!(
        describe(
            V201,
            "SetVariables",
            json!({"setVariableData": [
                {"component": {"name": "C"}, "variable": {"name": "V"}, "attributeValue": "1"},
                {"component": {"name": "C"}, "variable": {"name": "V"}}
            ]})
        ),
        "setVariableData[1].attributeValue is required"
    );
    assert_eq!(
        describe(
            V16,
            "ChangeAvailability",
            json!({"connectorId": 1, "type": "S3cret"})
        ),
        "type must be one of Inoperative, Operative"
    );
    assert_eq!(
        describe(V201, "GetVariables", json!({"getVariableData": []})),
        format!("getVariableData must hold 1 to {ITEMS_PER_MESSAGE} entries")
    );
    assert_eq!(
        describe(V16, "Reset", json!([])),
        "the payload must be a JSON object"
    );
}
