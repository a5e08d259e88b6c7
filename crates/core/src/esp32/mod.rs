//! The ESP32 charge controller's serial protocol (see docs/esp32.md): `frame` reads its ASCII
//! lines, `state` turns its charger states into connector status, `command` keeps its binary
//! commands safe. The shell's port task owns the device.

pub mod command;
pub mod frame;
pub mod state;
