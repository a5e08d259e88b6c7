//! ocpp-station: an OCPP 2.0.1 / 1.6J charge-point client for AC chargers.
//!
//! The crate is split into a pure protocol core ([`station`], [`rpc`], [`ocpp`]) that does no I/O
//! and reads no clock, and a thin tokio shell ([`link`], [`daemon`], [`once`]) that owns the
//! sockets, the clock and the signals. See `docs/architecture.md`.
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

pub mod backoff;
pub mod bounded_file;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod deadline;
pub mod demo;
pub mod device_model;
pub mod envfile;
pub mod esp32;
pub mod health_task;
pub mod lab;
pub mod link;
pub mod logging;
pub mod metrics;
pub mod ocpp;
pub mod once;
pub mod once_deadline;
pub mod persist;
pub mod redact;
pub mod rpc;
pub mod sd_notify;
pub mod secret;
pub mod session;
pub mod station;
pub mod status_cmd;
pub mod status_file;
pub mod status_source;
pub mod status_writer;
pub mod wiring;
