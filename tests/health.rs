//! The Pi's health as the CSMS sees it: the periodic `Metrics` DataTransfer for both OCPP
//! versions and, on 2.0.1, the read-only `StationHealth` variables read with GetVariables and
//! GetBaseReport. Against the CSMS on the Python `ocpp` package, which validates every message
//! against the official schemas.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/remote.rs"]
mod remote;

use common::{Csms, Env, csms_config_with, dump, spawn_daemon};
use remote::Remote;
use serde_json::{Value, json};

/// The shortest metrics interval the station accepts: the test waits for one or two.
const METRICS_SECONDS: &str = "10";
/// Generous: two metrics intervals plus start-up.
const METRICS_DEADLINE: u64 = 60;

/// The `data` of the first `Metrics` DataTransfer, as JSON (1.6 carries it as a string).
fn first_metrics(csms: &Csms) -> Value {
    let call = csms.wait_for(
        |e| {
            common::is_call(e)
                && e["action"] == "DataTransfer"
                && e["payload"]["messageId"] == "Metrics"
        },
        METRICS_DEADLINE,
    );
    assert_eq!(call["payload"]["vendorId"], "ocpp-station", "{call}");
    match &call["payload"]["data"] {
        Value::String(text) => serde_json::from_str(text).expect("1.6 metrics data is JSON"),
        data => data.clone(),
    }
}

/// What every metrics sample carries on any Linux machine.
fn assert_is_a_sample(data: &Value) {
    for key in [
        "cpu_percent",
        "load_average",
        "memory_used_bytes",
        "memory_total_bytes",
        "uptime_seconds",
    ] {
        assert!(data.get(key).is_some(), "{key} missing in {data}");
    }
    assert!(data["memory_total_bytes"].as_u64().unwrap() > 0, "{data}");
    assert!(
        !data.to_string().contains("null"),
        "absent values are left out: {data}"
    );
}

fn station(csms: &Csms, primary: &str) -> Env {
    Env::for_csms(csms)
        .set("OCPP_PRIMARY", primary)
        .set("OCPP_METRICS_SECONDS", METRICS_SECONDS)
}

#[test]
fn metrics_reach_the_csms_and_get_variables_show_them_on_201() {
    let csms = Csms::start(csms_config_with(json!({"control": true})));
    let mut daemon = spawn_daemon(&station(&csms, "2.0.1").pairs());
    let mut remote = Remote::new(&csms);

    let data = first_metrics(&csms);
    assert_is_a_sample(&data);

    // The same measurement through the device model.
    let names = ["MemoryTotal", "Uptime", "CpuLoad", "MemoryUsed"];
    let request: Vec<Value> = names
        .iter()
        .map(|n| json!({"component": {"name": "StationHealth"}, "variable": {"name": n}}))
        .collect();
    let answer = remote.call("GetVariables", json!({ "getVariableData": request }));
    let results = answer.payload()["getVariableResult"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(results.len(), names.len());
    for (name, result) in names.iter().zip(&results) {
        assert_eq!(result["variable"]["name"], *name);
        assert_eq!(result["attributeStatus"], "Accepted", "{result}");
    }
    let value = |i: usize| results[i]["attributeValue"].as_str().unwrap().to_owned();
    assert_eq!(
        value(0).parse::<u64>().unwrap(),
        data["memory_total_bytes"].as_u64().unwrap(),
        "the machine's memory does not change"
    );
    assert!(value(1).parse::<u64>().unwrap() >= data["uptime_seconds"].as_u64().unwrap());
    let cpu: f64 = value(2).parse().unwrap();
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");

    // Writing one is refused: the CSMS can read health, not set it.
    let answer = remote.call(
        "SetVariables",
        json!({"setVariableData": [{
            "component": {"name": "StationHealth"},
            "variable": {"name": "Uptime"},
            "attributeValue": "1"
        }]}),
    );
    let result = &answer.payload()["setVariableResult"][0];
    assert_eq!(result["attributeStatus"], "Rejected", "{result}");

    // The full inventory lists them, read-only, with values.
    let health: Vec<Value> = remote
        .base_report(5, "FullInventory")
        .into_iter()
        .filter(|d| d["component"]["name"] == "StationHealth")
        .collect();
    let reported: Vec<&str> = health
        .iter()
        .map(|d| d["variable"]["name"].as_str().unwrap())
        .collect();
    for name in names {
        assert!(reported.contains(&name), "{name} not in {reported:?}");
    }
    for entry in &health {
        assert_eq!(
            entry["variableAttribute"][0]["mutability"], "ReadOnly",
            "{entry}"
        );
    }
    let uptime = health
        .iter()
        .find(|d| d["variable"]["name"] == "Uptime")
        .unwrap();
    assert!(
        uptime["variableAttribute"][0]["value"].is_string(),
        "{uptime}"
    );

    daemon.terminate();
    csms.assert_no_validation_errors();
}

#[test]
fn metrics_reach_the_csms_on_16() {
    let csms = Csms::start(common::csms_config());
    let mut daemon = spawn_daemon(&station(&csms, "1.6").pairs());
    let data = first_metrics(&csms);
    assert_is_a_sample(&data);
    // The data is a snapshot of a sample: nothing queued up while it was not due.
    let metrics = csms
        .calls("DataTransfer")
        .into_iter()
        .filter(|c| c["payload"]["messageId"] == "Metrics")
        .count();
    assert!(metrics >= 1, "{}", dump(&csms.events()));
    daemon.terminate();
    csms.assert_no_validation_errors();
}

#[test]
fn no_metrics_when_turned_off() {
    let csms = Csms::start(csms_config_with(json!({"control": true})));
    let env = station(&csms, "2.0.1").set("OCPP_METRICS_SECONDS", "0");
    let mut daemon = spawn_daemon(&env.pairs());
    let mut remote = Remote::new(&csms);
    csms.wait_for(
        |e| common::is_call(e) && e["action"] == "StatusNotification",
        common::DEADLINE,
    );
    // The health variables still answer once the first sample is in.
    let ask = json!({"getVariableData": [
        {"component": {"name": "StationHealth"}, "variable": {"name": "MemoryTotal"}}
    ]});
    let mut answered = false;
    for _ in 0..common::DEADLINE {
        let answer = remote.call("GetVariables", ask.clone());
        if answer.payload()["getVariableResult"][0]["attributeStatus"] == "Accepted" {
            answered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    assert!(answered, "{}", dump(&csms.events()));
    daemon.terminate();
    assert!(
        csms.calls("DataTransfer").is_empty(),
        "{}",
        dump(&csms.events())
    );
    csms.assert_no_validation_errors();
}
