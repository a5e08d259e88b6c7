//! The energy register in a station's meter values: the `Energy.Active.Import.Register` readings
//! of a `meterValue` array, in Wh, in either version's shape (2.0.1: a number with
//! `unitOfMeasure` `unit` and `multiplier`; 1.6: a string with `unit`).
//!
//! Only the whole-meter register counts: a phase's register (`phase` set) is not what is
//! billed. A reading in another unit, or one that is not a finite number, is skipped: the
//! schema check reports what is malformed, the view shows only what it can trust.

use serde_json::Value;

use ocpp_station::ocpp::OcppVersion;

/// The measurand billed, and the default when a sampled value names none.
const ENERGY_REGISTER: &str = "Energy.Active.Import.Register";

/// The largest power of ten accepted as a 2.0.1 multiplier either way: real meters use 0 or 3.
const MAX_MULTIPLIER: i32 = 9;

/// The first and the last register reading of one message, Wh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readings {
    /// The first `meterValue` entry holding the register.
    pub first: f64,
    /// The last one (the same as `first` when only one holds it).
    pub last: f64,
}

/// The register readings of the `meterValue` array `meter_values` (1.6 StopTransaction:
/// `transactionData`); `None` when none holds the register.
pub fn register_readings(meter_values: Option<&Value>, version: OcppVersion) -> Option<Readings> {
    let mut readings = meter_values?
        .as_array()?
        .iter()
        .filter_map(|entry| entry.get("sampledValue")?.as_array())
        .filter_map(|sampled| sampled.iter().find_map(|value| register_wh(value, version)));
    let first = readings.next()?;
    let last = readings.next_back().unwrap_or(first);
    Some(Readings { first, last })
}

/// One sampled value as the whole-meter register in Wh, when it is that.
fn register_wh(sampled: &Value, version: OcppVersion) -> Option<f64> {
    let measurand = sampled
        .get("measurand")
        .map_or(Some(ENERGY_REGISTER), Value::as_str)?;
    if measurand != ENERGY_REGISTER || sampled.get("phase").is_some() {
        return None;
    }
    let (value, unit, multiplier) = match version {
        OcppVersion::V201 => {
            let unit = sampled.get("unitOfMeasure");
            (
                sampled.get("value")?.as_f64()?,
                unit.and_then(|u| u.get("unit")),
                unit.and_then(|u| u.get("multiplier")),
            )
        }
        OcppVersion::V16 => (
            sampled.get("value")?.as_str()?.trim().parse::<f64>().ok()?,
            sampled.get("unit"),
            None,
        ),
    };
    let unit_factor = match unit.map_or(Some("Wh"), Value::as_str)? {
        "Wh" => 1.0,
        "kWh" => 1000.0,
        _ => return None,
    };
    let multiplier = match multiplier {
        None => 0,
        Some(m) => i32::try_from(m.as_i64()?)
            .ok()
            .filter(|m| m.abs() <= MAX_MULTIPLIER)?,
    };
    let wh = value * unit_factor * 10f64.powi(multiplier);
    wh.is_finite().then_some(wh)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use OcppVersion::{V16, V201};
    use serde_json::json;

    fn readings(meter_values: Value, version: OcppVersion) -> Option<(f64, f64)> {
        register_readings(Some(&meter_values), version).map(|r| (r.first, r.last))
    }

    #[test]
    fn a_201_register_is_a_number_with_its_unit_and_multiplier() {
        let mv = json!([
            {"timestamp": "t", "sampledValue": [
                {"value": 230.1, "measurand": "Voltage", "unitOfMeasure": {"unit": "V"}},
                {"value": 1500, "measurand": "Energy.Active.Import.Register"}
            ]},
            {"timestamp": "t", "sampledValue": [
                {"value": 1.75, "measurand": "Energy.Active.Import.Register",
                 "unitOfMeasure": {"unit": "kWh"}}
            ]},
            {"timestamp": "t", "sampledValue": [
                {"value": 2, "unitOfMeasure": {"unit": "Wh", "multiplier": 3}}
            ]}
        ]);
        assert_eq!(readings(mv, V201), Some((1500.0, 2000.0)));
    }

    #[test]
    fn a_16_register_is_a_string_with_its_unit() {
        let mv = json!([
            {"timestamp": "t", "sampledValue": [{"value": "1200"}]},
            {"timestamp": "t", "sampledValue": [
                {"value": "1.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"}
            ]}
        ]);
        assert_eq!(readings(mv, V16), Some((1200.0, 1500.0)));
        let one = json!([{"timestamp": "t", "sampledValue": [{"value": "7", "unit": "Wh"}]}]);
        assert_eq!(readings(one, V16), Some((7.0, 7.0)));
    }

    #[test]
    fn what_is_not_the_whole_meters_register_is_skipped() {
        for sampled in [
            json!({"value": "5", "phase": "L1"}),
            json!({"value": "5", "measurand": "Power.Active.Import"}),
            json!({"value": "5", "unit": "varh"}),
            json!({"value": "five"}),
            json!({"value": 5}),
            json!({"value": "1e400"}),
            json!({"value": "5", "measurand": 7}),
        ] {
            let mv = json!([{"timestamp": "t", "sampledValue": [sampled.clone()]}]);
            assert_eq!(readings(mv, V16), None, "{sampled}");
        }
        for sampled in [
            json!({"value": "5"}),
            json!({"value": 5, "unitOfMeasure": {"multiplier": 400}}),
            json!({"value": 5, "unitOfMeasure": {"multiplier": 1.5}}),
            json!({"value": 1e308, "unitOfMeasure": {"unit": "kWh", "multiplier": 9}}),
        ] {
            let mv = json!([{"timestamp": "t", "sampledValue": [sampled.clone()]}]);
            assert_eq!(readings(mv, V201), None, "{sampled}");
        }
        for odd in [json!({}), json!([1, "x", {"sampledValue": 3}]), json!("x")] {
            assert_eq!(readings(odd, V201), None);
        }
        assert_eq!(register_readings(None, V201), None);
    }
}
