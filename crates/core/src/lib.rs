//! ocpp-station-core: everything the charge point decides, nothing it waits for.
//!
//! No I/O, no clock, no randomness of its own: the shell (the `ocpp-station` binary, or the
//! lab's simulators) feeds events with the current instant and carries out what comes back.
//!
//! - [`rpc`]: OCPP-J framing and the version-exact CallError codes.
//! - [`ocpp`]: OCPP 2.0.1 and 1.6 messages to and from the version-neutral model.
//! - [`station`]: the state machine: registration, heartbeat, one outstanding CALL, the answers
//!   to the CSMS, availability, reports.
//! - [`device_model`]: the variables (2.0.1) and configuration keys (1.6) the CSMS reads and
//!   changes.
//! - [`dial_plan`] and [`backoff`]: which URL and version to dial next, and when.
//! - [`esp32`]: the charge controller's line protocol, its states as connector statuses, and its
//!   safe command queue.
//! - [`health`]: the Pi's measurements and the thresholds that turn them into warnings.
//! - [`meter`]: the energy meter's readings as the core takes them.
//! - [`clock`], [`deadline`], [`secret`], [`redact`]: timestamps, saturating deadlines, a
//!   password that never prints, and text made safe to show.
//! - `test_util` (feature `test-util`): a simulated clock and the station wired to a scripted
//!   CSMS, for tests here and in the crates built on the core.
#![forbid(unsafe_code)]
// Every public item says what it is for: the core is the project's reference for its rules.
#![deny(missing_docs)]
// No panic from outside input: arithmetic saturates or is checked (instants and durations go
// through `deadline`), and nothing indexes or slices what might be short. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::string_slice
    )
)]

pub mod backoff;
pub mod clock;
pub mod deadline;
pub mod device_model;
pub mod dial_plan;
pub mod esp32;
pub mod health;
pub mod meter;
pub mod ocpp;
pub mod redact;
pub mod rpc;
pub mod secret;
pub mod station;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
