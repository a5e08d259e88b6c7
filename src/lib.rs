//! ocpp-station: an OCPP 2.0.1 / 1.6J charge-point client for AC chargers, the program that runs
//! on the Pi.
//!
//! This crate is the shell: it owns the sockets ([`link`], [`session`]), the serial port
//! ([`esp32`]), the files ([`config`], [`persist`], [`status_file`]), the clock and the signals
//! ([`daemon`], [`once`]). Every decision is made by the pure core, `ocpp-station-core`, whose
//! modules are re-exported here under the same names. See `docs/architecture.md`.
#![forbid(unsafe_code)]
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

pub use ocpp_station_core::{backoff, deadline, device_model, ocpp, redact, rpc, secret, station};

pub mod bounded_file;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod envfile;
pub mod esp32;
pub mod health_task;
pub mod link;
pub mod logging;
pub mod metrics;
pub mod once;
pub mod once_deadline;
pub mod persist;
pub mod sd_notify;
pub mod session;
pub mod status_cmd;
pub mod status_file;
pub mod status_source;
pub mod status_writer;
pub mod wiring;
