//! The lab's one place that reads the clocks: the server, the monitor and the demo stamp what
//! happens here and hand the stamp to the pure view.

#![allow(
    clippy::disallowed_methods,
    reason = "the lab's shell owns the clocks and passes them to the pure view"
)]

use std::time::Instant;

use ocpp_station::clock::{SystemClock, WallClock};

use super::view::Stamp;

/// Now, on both clocks.
pub fn now() -> Stamp {
    Stamp {
        mono: Instant::now(),
        wall: SystemClock.now_utc(),
    }
}
