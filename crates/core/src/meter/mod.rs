//! The station's energy meter as the core sees it: what one reading holds, and how the shell
//! tells the core what the meter said (or that it said nothing).
//!
//! The meter is a separate Modbus-RTU device on its own serial port; the shell polls it and hands
//! each result to [`crate::station::Station::handle_meter`]. Transactions take their energy from
//! the latest reading the core accepted.

use serde::{Deserialize, Serialize};

/// One reading of the meter, in the units OCPP sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterReading {
    /// The active energy imported since the meter was made (the billing register), Wh.
    pub energy_import_wh: u64,
    /// The total active power, W; negative when exporting. `None` when the meter has no such
    /// register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// Voltage per phase L1, L2, L3, V; `None` for a phase the meter does not measure.
    #[serde(default)]
    pub voltage_v: [Option<f64>; 3],
    /// Current per phase L1, L2, L3, A; `None` for a phase the meter does not measure.
    #[serde(default)]
    pub current_a: [Option<f64>; 3],
}

/// What the shell's meter task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum MeterInput {
    /// A reading, as the meter answered it (the core judges whether it is plausible).
    Reading(MeterReading),
    /// A poll got no usable answer: the meter is silent, answers garbage or its port is gone.
    Missed {
        /// Why, for the log and the operator (never a secret: meters have none).
        reason: String,
    },
}

/// Where the station's energy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterSource {
    /// A real meter: the energy is measured and can be billed.
    Measured,
    /// A simulated meter (bench stations): the energy is not measured, and every report says so.
    Simulated,
    /// No meter: transactions carry no energy.
    Absent,
}
