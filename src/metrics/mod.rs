//! Measuring the Raspberry Pi: [`Sampler`] reads `/proc`, `/sys` and the filesystems into the
//! core's [`Sample`]; the core's health monitor (re-exported here) decides what the numbers mean.
//! What is measured and what the CSMS sees is described in `docs/health.md`.

mod sampler;
mod sysfs;

pub use ocpp_station_core::health::*;
pub use sampler::{Sampler, SamplerPaths};
pub use sysfs::{parse_throttled, read_soc_temperature, read_throttled};
