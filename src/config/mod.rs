//! Station configuration: environment variables (the fleet's `/etc/ocpp_station.env`), an optional
//! systemd-style env file (`--env-file`), and command-line flags that override both.
//!
//! Every value is validated once, here; the rest of the station only sees a valid [`Config`].
//! The password lives in a [`Secret`](crate::secret::Secret) and is never printed.
//!
//! One module per job: `model` (what a valid configuration is), `names` (the variables and
//! their spellings), `load` (collecting them from the environment and the env file), `cli` (the
//! command-line overrides), `validate` (text to typed values, one module per area), `error`
//! (what can be wrong, never showing the password) and `summary` (`check-config`'s text).

mod cli;
mod error;
mod load;
mod model;
mod names;
mod summary;
mod validate;

#[cfg(test)]
mod testing;

pub use cli::CliOverrides;
pub use error::ConfigError;
pub use load::{load, load_runtime_dir, station_name_hint};
pub use model::{AuthMode, BootInfo, Config, ControllerConfig, PortSpec};
pub use names::VARIABLES;
