//! The CSMS's requests the station acts on, read from either version into one model.
//!
//! Reading is lenient where the station can still act safely (extra fields are ignored) and
//! strict where guessing could do harm: a missing or mistyped required field is a
//! `FormatViolation` for the CSMS to fix, never a default.

use serde_json::Value;

use super::OcppVersion;
use crate::device_model::{ComponentCriterion, ComponentVariable};

/// What the CSMS asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum CsmsRequest {
    /// TriggerMessage.
    TriggerMessage(TriggerTarget),
    /// ChangeAvailability; `connector: None` is the whole station (1.6 connector 0).
    ChangeAvailability {
        /// The connector (EVSE in 2.0.1), or the station.
        connector: Option<u32>,
        /// Operative (true) or Inoperative.
        operative: bool,
    },
    /// Reset.
    Reset {
        /// Immediate (2.0.1), Hard or Soft (1.6): now. Otherwise OnIdle.
        immediate: bool,
        /// 2.0.1 may name a single EVSE.
        evse: Option<u32>,
    },
    /// UnlockConnector.
    UnlockConnector {
        /// The connector (EVSE in 2.0.1).
        connector: u32,
    },
    /// DataTransfer.
    DataTransfer {
        /// Whose message it is.
        vendor_id: String,
        /// Which of the vendor's messages.
        message_id: Option<String>,
    },
    /// GetVariables (2.0.1), the raw payload for the device model.
    GetVariables(Value),
    /// SetVariables (2.0.1), the raw payload for the device model.
    SetVariables(Value),
    /// GetBaseReport (2.0.1).
    GetBaseReport {
        /// Echoed in every NotifyReport.
        request_id: i64,
        /// ConfigurationInventory, FullInventory or SummaryInventory.
        base: String,
    },
    /// GetReport (2.0.1). The lists are as given (`None`: absent), so that the station can
    /// tell an empty list, which the schema forbids, from an absent one.
    GetReport {
        /// Echoed in every NotifyReport.
        request_id: i64,
        /// componentVariable.
        component_variables: Option<Vec<ComponentVariable>>,
        /// componentCriteria.
        criteria: Option<Vec<ComponentCriterion>>,
    },
    /// GetConfiguration (1.6); `None` asks for every key.
    GetConfiguration {
        /// The keys asked for.
        keys: Option<Vec<String>>,
    },
    /// ChangeConfiguration (1.6).
    ChangeConfiguration {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// RequestStart/StopTransaction (2.0.1), RemoteStart/StopTransaction (1.6).
    RemoteStartStop,
    /// An action of this version the station does not support.
    Unsupported,
}

/// What a TriggerMessage asks the station to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerTarget {
    /// BootNotification.
    Boot,
    /// Heartbeat.
    Heartbeat,
    /// StatusNotification.
    Status(StatusTarget),
    /// A message the station does not send.
    Other,
}

/// Which StatusNotification a TriggerMessage asks for, as the request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTarget {
    /// No connector named (1.6 without connectorId, 2.0.1 without evse).
    Unspecified,
    /// 1.6 connectorId (0: the charge point as a whole).
    Connector(u32),
    /// 2.0.1 evse, with its connectorId when given.
    Evse {
        /// evse.id.
        id: u32,
        /// evse.connectorId.
        connector: Option<u32>,
    },
}

/// Reads the CSMS's request. `Ok(None)`: not an action of this version.
pub fn parse(
    version: OcppVersion,
    action: &str,
    payload: &Value,
) -> Result<Option<CsmsRequest>, String> {
    let kind = match version {
        OcppVersion::V201 => super::v201::action_kind(action),
        OcppVersion::V16 => super::v16::action_kind(action),
    };
    if kind == super::ActionKind::Unknown {
        return Ok(None);
    }
    let request = match (version, action) {
        (_, "TriggerMessage") => {
            let target = match text(payload, "requestedMessage")? {
                "BootNotification" => TriggerTarget::Boot,
                "Heartbeat" => TriggerTarget::Heartbeat,
                "StatusNotification" => TriggerTarget::Status(status_target(version, payload)?),
                _ => TriggerTarget::Other,
            };
            CsmsRequest::TriggerMessage(target)
        }
        (OcppVersion::V201, "ChangeAvailability") => CsmsRequest::ChangeAvailability {
            connector: optional_evse(payload)?,
            operative: match text(payload, "operationalStatus")? {
                "Operative" => true,
                "Inoperative" => false,
                other => return Err(format!("operationalStatus '{other}' is not allowed")),
            },
        },
        (OcppVersion::V16, "ChangeAvailability") => {
            let connector = number(payload, "connectorId")?;
            CsmsRequest::ChangeAvailability {
                connector: (connector != 0).then_some(connector),
                operative: match text(payload, "type")? {
                    "Operative" => true,
                    "Inoperative" => false,
                    other => return Err(format!("type '{other}' is not allowed")),
                },
            }
        }
        (OcppVersion::V201, "Reset") => CsmsRequest::Reset {
            immediate: match text(payload, "type")? {
                "Immediate" => true,
                "OnIdle" => false,
                other => return Err(format!("type '{other}' is not allowed")),
            },
            evse: optional_number(payload, "evseId")?,
        },
        (OcppVersion::V16, "Reset") => match text(payload, "type")? {
            "Hard" | "Soft" => CsmsRequest::Reset {
                immediate: true,
                evse: None,
            },
            other => return Err(format!("type '{other}' is not allowed")),
        },
        (OcppVersion::V201, "UnlockConnector") => CsmsRequest::UnlockConnector {
            connector: number(payload, "evseId")?,
        },
        (OcppVersion::V16, "UnlockConnector") => CsmsRequest::UnlockConnector {
            connector: number(payload, "connectorId")?,
        },
        (_, "DataTransfer") => CsmsRequest::DataTransfer {
            vendor_id: text(payload, "vendorId")?.to_owned(),
            message_id: match payload.get("messageId") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("messageId must be a string".into()),
            },
        },
        (OcppVersion::V201, "GetVariables") => CsmsRequest::GetVariables(payload.clone()),
        (OcppVersion::V201, "SetVariables") => CsmsRequest::SetVariables(payload.clone()),
        (OcppVersion::V201, "GetBaseReport") => CsmsRequest::GetBaseReport {
            request_id: payload
                .get("requestId")
                .and_then(Value::as_i64)
                .ok_or("requestId must be an integer")?,
            base: text(payload, "reportBase")?.to_owned(),
        },
        (OcppVersion::V201, "GetReport") => CsmsRequest::GetReport {
            request_id: payload
                .get("requestId")
                .and_then(Value::as_i64)
                .ok_or("requestId must be an integer")?,
            component_variables: optional_list(payload, "componentVariable")?,
            criteria: optional_list(payload, "componentCriteria")?,
        },
        (OcppVersion::V16, "GetConfiguration") => CsmsRequest::GetConfiguration {
            keys: match payload.get("key") {
                None => None,
                Some(Value::Array(keys)) => Some(
                    keys.iter()
                        .map(|k| {
                            k.as_str()
                                .map(str::to_owned)
                                .ok_or("key entries must be strings")
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err("key must be an array of strings".into()),
            },
        },
        (OcppVersion::V16, "ChangeConfiguration") => CsmsRequest::ChangeConfiguration {
            key: text(payload, "key")?.to_owned(),
            value: text(payload, "value")?.to_owned(),
        },
        _ if kind == super::ActionKind::RemoteStartStop => CsmsRequest::RemoteStartStop,
        _ => CsmsRequest::Unsupported,
    };
    Ok(Some(request))
}

fn text<'a>(payload: &'a Value, field: &str) -> Result<&'a str, String> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field} must be a string"))
}

fn number(payload: &Value, field: &str) -> Result<u32, String> {
    payload
        .get(field)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{field} must be a non-negative integer"))
}

fn optional_number(payload: &Value, field: &str) -> Result<Option<u32>, String> {
    match payload.get(field) {
        None => Ok(None),
        Some(_) => number(payload, field).map(Some),
    }
}

/// The `evse.id` of a 2.0.1 request; `None` when the request names no EVSE.
fn optional_evse(payload: &Value) -> Result<Option<u32>, String> {
    match payload.get("evse") {
        None => Ok(None),
        Some(evse) => number(evse, "id").map(Some),
    }
}

/// The connector a TriggerMessage(StatusNotification) names, in the version's terms.
fn status_target(version: OcppVersion, payload: &Value) -> Result<StatusTarget, String> {
    Ok(match version {
        OcppVersion::V16 => match optional_number(payload, "connectorId")? {
            None => StatusTarget::Unspecified,
            Some(connector) => StatusTarget::Connector(connector),
        },
        OcppVersion::V201 => match payload.get("evse") {
            None => StatusTarget::Unspecified,
            Some(evse) => StatusTarget::Evse {
                id: number(evse, "id")?,
                connector: optional_number(evse, "connectorId")?,
            },
        },
    })
}

/// An optional array field read into `T`s; `None` when absent.
fn optional_list<T: serde::de::DeserializeOwned>(
    payload: &Value,
    field: &str,
) -> Result<Option<Vec<T>>, String> {
    match payload.get(field) {
        None => Ok(None),
        Some(list @ Value::Array(_)) => serde_json::from_value(list.clone())
            .map(Some)
            .map_err(|e| format!("{field}: {e}")),
        Some(_) => Err(format!("{field} must be an array")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use OcppVersion::{V16, V201};
    use serde_json::json;

    fn p(v: OcppVersion, action: &str, payload: Value) -> Result<Option<CsmsRequest>, String> {
        parse(v, action, &payload)
    }

    #[test]
    fn triggers_are_read_for_both_versions() {
        assert_eq!(
            p(
                V201,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Status(
                StatusTarget::Evse {
                    id: 2,
                    connector: Some(1)
                }
            ))))
        );
        assert_eq!(
            p(
                V201,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification","evse":{"id":1}})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Status(
                StatusTarget::Evse {
                    id: 1,
                    connector: None
                }
            ))))
        );
        assert_eq!(
            p(
                V201,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification"})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Status(
                StatusTarget::Unspecified
            ))))
        );
        assert!(
            p(
                V201,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification","evse":{"id":1,"connectorId":-1}})
            )
            .is_err()
        );
        assert_eq!(
            p(
                V16,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification"})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Status(
                StatusTarget::Unspecified
            ))))
        );
        assert_eq!(
            p(
                V16,
                "TriggerMessage",
                json!({"requestedMessage":"StatusNotification","connectorId":0})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Status(
                StatusTarget::Connector(0)
            ))))
        );
        assert_eq!(
            p(
                V16,
                "TriggerMessage",
                json!({"requestedMessage":"MeterValues","connectorId":1})
            ),
            Ok(Some(CsmsRequest::TriggerMessage(TriggerTarget::Other)))
        );
        assert!(p(V201, "TriggerMessage", json!({})).is_err());
    }

    #[test]
    fn availability_scope_is_read_per_version() {
        assert_eq!(
            p(
                V16,
                "ChangeAvailability",
                json!({"connectorId":0,"type":"Inoperative"})
            ),
            Ok(Some(CsmsRequest::ChangeAvailability {
                connector: None,
                operative: false
            }))
        );
        assert_eq!(
            p(
                V201,
                "ChangeAvailability",
                json!({"operationalStatus":"Operative","evse":{"id":1}})
            ),
            Ok(Some(CsmsRequest::ChangeAvailability {
                connector: Some(1),
                operative: true
            }))
        );
        assert!(
            p(
                V201,
                "ChangeAvailability",
                json!({"operationalStatus":"Maybe"})
            )
            .is_err()
        );
        assert!(
            p(
                V16,
                "ChangeAvailability",
                json!({"connectorId":-1,"type":"Operative"})
            )
            .is_err()
        );
    }

    #[test]
    fn reset_kinds() {
        assert_eq!(
            p(V201, "Reset", json!({"type":"OnIdle"})),
            Ok(Some(CsmsRequest::Reset {
                immediate: false,
                evse: None
            }))
        );
        assert_eq!(
            p(V16, "Reset", json!({"type":"Soft"})),
            Ok(Some(CsmsRequest::Reset {
                immediate: true,
                evse: None
            }))
        );
        assert!(p(V16, "Reset", json!({"type":"Immediate"})).is_err());
    }

    #[test]
    fn unknown_and_unsupported_actions() {
        assert_eq!(p(V201, "NoSuchAction", json!({})), Ok(None));
        assert_eq!(p(V201, "GetConfiguration", json!({})), Ok(None));
        assert_eq!(p(V16, "GetVariables", json!({})), Ok(None));
        assert_eq!(
            p(V201, "UpdateFirmware", json!({})),
            Ok(Some(CsmsRequest::Unsupported))
        );
        assert_eq!(
            p(V16, "RemoteStartTransaction", json!({"idTag":"x"})),
            Ok(Some(CsmsRequest::RemoteStartStop))
        );
    }

    #[test]
    fn configuration_requests() {
        assert_eq!(
            p(
                V16,
                "GetConfiguration",
                json!({"key":["HeartbeatInterval"]})
            ),
            Ok(Some(CsmsRequest::GetConfiguration {
                keys: Some(vec!["HeartbeatInterval".into()])
            }))
        );
        assert_eq!(
            p(V16, "GetConfiguration", json!({})),
            Ok(Some(CsmsRequest::GetConfiguration { keys: None }))
        );
        assert!(p(V16, "GetConfiguration", json!({"key":[1]})).is_err());
        assert!(
            p(
                V16,
                "ChangeConfiguration",
                json!({"key":"HeartbeatInterval","value":5})
            )
            .is_err()
        );
        assert!(p(V201, "GetBaseReport", json!({"reportBase":"FullInventory"})).is_err());
    }

    #[test]
    fn get_report_keeps_absent_and_empty_lists_apart() {
        assert_eq!(
            p(V201, "GetReport", json!({"requestId": 7})),
            Ok(Some(CsmsRequest::GetReport {
                request_id: 7,
                component_variables: None,
                criteria: None
            }))
        );
        assert_eq!(
            p(
                V201,
                "GetReport",
                json!({"requestId": 7, "componentVariable": [], "componentCriteria": ["Problem"]})
            ),
            Ok(Some(CsmsRequest::GetReport {
                request_id: 7,
                component_variables: Some(vec![]),
                criteria: Some(vec![ComponentCriterion::Problem])
            }))
        );
        let Ok(Some(CsmsRequest::GetReport {
            component_variables: Some(cv),
            ..
        })) = p(
            V201,
            "GetReport",
            json!({"requestId": 7, "componentVariable": [
                {"component": {"name": "EVSE", "evse": {"id": 1}}},
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            ]}),
        )
        else {
            panic!("componentVariable is read");
        };
        assert_eq!(cv[0].component.evse.map(|e| e.id), Some(1));
        assert_eq!(cv[0].variable, None);
        assert_eq!(
            cv[1].variable.as_ref().map(|v| v.name.as_str()),
            Some("HeartbeatInterval")
        );
        for bad in [
            json!({}),
            json!({"requestId": "7"}),
            json!({"requestId": 7, "componentCriteria": ["Broken"]}),
            json!({"requestId": 7, "componentCriteria": "Active"}),
            json!({"requestId": 7, "componentVariable": [{"variable": {"name": "X"}}]}),
        ] {
            assert!(p(V201, "GetReport", bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(p(V16, "GetReport", json!({"requestId": 7})), Ok(None));
    }
}
