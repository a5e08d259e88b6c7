//! The operating system's wall clock, and the core's timestamp rules (re-exported, so that the
//! shell has one `clock` module).

use chrono::{DateTime, Utc};

pub use ocpp_station_core::clock::*;

/// The operating system's clock. The only place that reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl WallClock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one real clock implementation"
    )]
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
