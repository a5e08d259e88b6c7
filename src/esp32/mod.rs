//! The ESP32 charge controller over its USB serial port (see docs/esp32.md).
//!
//! `frame` reads its ASCII lines, `state` turns its charger states into connector status,
//! `command` keeps its binary commands safe; all three are pure. `port` is the tokio task that
//! owns the serial port.

pub mod command;
pub mod discover;
pub mod frame;
pub mod port;
pub mod state;
