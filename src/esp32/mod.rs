//! The ESP32 charge controller over its USB serial port (see docs/esp32.md).
//!
//! The protocol is the core's (`frame`, `state`, `command`, re-exported here); `discover`
//! resolves the port (a by-id link or `auto`), `port` is the tokio task that owns it, and
//! `view` is how the controller is shown.

pub use ocpp_station_core::esp32::{command, frame, state};

pub mod discover;
pub mod port;
pub mod view;
