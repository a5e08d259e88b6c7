//! The command line. Flags override the env file and the environment (see [`crate::config::load`]);
//! everything else is configured through `OCPP_*` variables, documented in `env.example`.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::CliOverrides;

/// ocpp-station: connects this charger to its OCPP back office (CSMS).
#[derive(Debug, Parser)]
#[command(
    name = "ocpp-station",
    version,
    about = "OCPP 2.0.1 / 1.6J charge-point client: connects this charger to its CSMS",
    long_about = "OCPP 2.0.1 / 1.6J charge-point client: connects this charger to its back office \
(CSMS) and keeps it connected.

Settings come from OCPP_* environment variables, normally from /etc/ocpp_station.env through \
the systemd unit (every variable is documented in env.example). A file given with --env-file \
overrides the environment, and the flags below override both.

Typical uses:
  ocpp-station check-config --env-file /etc/ocpp_station.env
      check the settings and show what would be used (the password is never shown)
  ocpp-station --once --env-file /etc/ocpp_station.env
      provisioning test: connect, register, report the connectors, send one heartbeat,
      disconnect, and print one JSON line with the result (exit code 0 = success)
  ocpp-station status
      the running station's link, connectors and health (exit code 0 = online)
  ocpp-station
      run as the station service (what systemd starts)"
)]
pub struct Cli {
    /// Run the provisioning smoke test: connect, boot, report status, heartbeat, then exit and
    /// print one JSON line on stdout.
    #[arg(long)]
    pub once: bool,

    /// The settings; `check-config` takes them after its name too.
    #[command(flatten)]
    pub station: StationArgs,

    /// What to do instead of running the station.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The settings flags: where the env file is and the values that override it. Accepted before
/// a subcommand (`ocpp-station --env-file F check-config`) and after the subcommands that use
/// them (`ocpp-station check-config --env-file F`), so both orders people type work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct StationArgs {
    /// Read settings from this env file (KEY=value lines, systemd EnvironmentFile syntax); its
    /// values override the same variables in the environment.
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Station identity (overrides OCPP_STATION_NAME).
    #[arg(long, value_name = "NAME")]
    pub station_name: Option<String>,

    /// OCPP version to try first: 2.0.1 or 1.6 (overrides OCPP_PRIMARY).
    #[arg(long, value_name = "VERSION")]
    pub primary: Option<String>,

    /// OCPP 2.0.1 CSMS URL, ws:// or wss:// without user:password@, ?query or #fragment
    /// (overrides OCPP_201_URL).
    #[arg(long = "url-201", value_name = "URL")]
    pub url_201: Option<String>,

    /// OCPP 1.6 CSMS URL, same rules (overrides OCPP_16_URL).
    #[arg(long = "url-16", value_name = "URL")]
    pub url_16: Option<String>,

    /// Never try the other OCPP version (overrides OCPP_ALLOW_FALLBACK).
    #[arg(long)]
    pub no_fallback: bool,

    /// Heartbeat interval in seconds; 0 = as the CSMS says (overrides OCPP_HEARTBEAT_SECONDS).
    #[arg(long, value_name = "SECONDS")]
    pub heartbeat_seconds: Option<u64>,

    /// Number of connectors, 1 to 8 (overrides OCPP_CONNECTORS).
    #[arg(long, value_name = "N")]
    pub connectors: Option<u32>,

    /// Overall deadline of --once in seconds (overrides OCPP_ONCE_TIMEOUT_SECONDS).
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

impl StationArgs {
    /// `self`, with every flag `later` gives replacing this one.
    fn overridden_by(&self, later: &StationArgs) -> StationArgs {
        StationArgs {
            env_file: later.env_file.clone().or_else(|| self.env_file.clone()),
            station_name: later
                .station_name
                .clone()
                .or_else(|| self.station_name.clone()),
            primary: later.primary.clone().or_else(|| self.primary.clone()),
            url_201: later.url_201.clone().or_else(|| self.url_201.clone()),
            url_16: later.url_16.clone().or_else(|| self.url_16.clone()),
            no_fallback: later.no_fallback || self.no_fallback,
            heartbeat_seconds: later.heartbeat_seconds.or(self.heartbeat_seconds),
            connectors: later.connectors.or(self.connectors),
            timeout: later.timeout.or(self.timeout),
        }
    }
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Validate the configuration and print a summary (the password is never shown); exit code
    /// 0 when it is valid, 2 when it is not.
    CheckConfig(StationArgs),
    /// Show the running station's status: CSMS link, registration, heartbeats, connectors,
    /// charge controller, health and the Pi's measurements.
    ///
    /// Reads status.json in OCPP_RUNTIME_DIR (default /run/ocpp-station), which the running
    /// station keeps up to date; it needs no password and works for any user.
    ///
    /// Exit codes: 0 = running and online; 1 = running but offline or still connecting;
    /// 3 = not running (no status file, an unreadable one, or the process that wrote it is
    /// gone).
    Status {
        /// Print the status file's JSON on one line instead of a table (nothing on stdout when
        /// the station is not running).
        #[arg(long)]
        json: bool,

        /// Read OCPP_RUNTIME_DIR from this env file (as the station does).
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
    },
}

impl Cli {
    /// The settings flags in effect: those after `check-config` win over those before it.
    pub fn station_args(&self) -> StationArgs {
        match &self.command {
            Some(Command::CheckConfig(after)) => self.station.overridden_by(after),
            _ => self.station.clone(),
        }
    }

    /// The `--env-file` in effect, wherever it was given.
    pub fn env_file(&self) -> Option<&Path> {
        match &self.command {
            Some(Command::CheckConfig(StationArgs {
                env_file: Some(path),
                ..
            }))
            | Some(Command::Status {
                env_file: Some(path),
                ..
            }) => Some(path),
            _ => self.station.env_file.as_deref(),
        }
    }

    /// The flags that override configuration variables.
    pub fn overrides(&self) -> CliOverrides {
        let args = self.station_args();
        CliOverrides {
            station_name: args.station_name,
            primary: args.primary,
            url_201: args.url_201,
            url_16: args.url_16,
            // Only an explicit --no-fallback overrides; its absence leaves the variable in charge.
            allow_fallback: args.no_fallback.then_some(false),
            heartbeat_seconds: args.heartbeat_seconds,
            connectors: args.connectors,
            once_timeout_seconds: args.timeout,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_override_nothing() {
        let cli = Cli::try_parse_from(["ocpp-station"]).unwrap();
        assert!(!cli.once);
        assert_eq!(cli.env_file(), None);
        assert_eq!(cli.command, None);
        let o = cli.overrides();
        assert_eq!(o.station_name, None);
        assert_eq!(o.primary, None);
        assert_eq!(o.url_201, None);
        assert_eq!(o.url_16, None);
        assert_eq!(o.allow_fallback, None);
        assert_eq!(o.heartbeat_seconds, None);
        assert_eq!(o.connectors, None);
        assert_eq!(o.once_timeout_seconds, None);
    }

    #[test]
    fn every_flag() {
        let cli = Cli::try_parse_from([
            "ocpp-station",
            "--once",
            "--env-file",
            "/etc/ocpp_station.env",
            "--station-name",
            "ORGE_AC_001",
            "--primary",
            "1.6",
            "--url-201",
            "wss://h/ocpp",
            "--url-16",
            "wss://h/ocpp16",
            "--no-fallback",
            "--heartbeat-seconds",
            "60",
            "--connectors",
            "2",
            "--timeout",
            "45",
        ])
        .unwrap();
        assert!(cli.once);
        assert_eq!(
            cli.env_file(),
            Some(std::path::Path::new("/etc/ocpp_station.env"))
        );
        let o = cli.overrides();
        assert_eq!(o.station_name.as_deref(), Some("ORGE_AC_001"));
        assert_eq!(o.primary.as_deref(), Some("1.6"));
        assert_eq!(o.url_201.as_deref(), Some("wss://h/ocpp"));
        assert_eq!(o.url_16.as_deref(), Some("wss://h/ocpp16"));
        assert_eq!(o.allow_fallback, Some(false));
        assert_eq!(o.heartbeat_seconds, Some(60));
        assert_eq!(o.connectors, Some(2));
        assert_eq!(o.once_timeout_seconds, Some(45));
    }

    #[test]
    fn check_config_takes_the_settings_on_either_side() {
        for args in [
            &["ocpp-station", "--env-file", "x.env", "check-config"][..],
            &["ocpp-station", "check-config", "--env-file", "x.env"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(
                matches!(cli.command, Some(Command::CheckConfig(_))),
                "{args:?}"
            );
            assert_eq!(cli.env_file(), Some(Path::new("x.env")), "{args:?}");
        }
        let cli = Cli::try_parse_from([
            "ocpp-station",
            "--env-file",
            "before.env",
            "--connectors",
            "2",
            "--url-16",
            "wss://h/16",
            "check-config",
            "--env-file",
            "after.env",
            "--connectors",
            "3",
            "--no-fallback",
        ])
        .unwrap();
        assert_eq!(cli.env_file(), Some(Path::new("after.env")));
        let o = cli.overrides();
        assert_eq!(o.connectors, Some(3), "after the subcommand wins");
        assert_eq!(
            o.url_16.as_deref(),
            Some("wss://h/16"),
            "before still counts"
        );
        assert_eq!(o.allow_fallback, Some(false));
    }

    #[test]
    fn status_takes_the_env_file_on_either_side() {
        for args in [
            &["ocpp-station", "--env-file", "x.env", "status"][..],
            &["ocpp-station", "status", "--env-file", "x.env"],
            &["ocpp-station", "status", "--env-file", "x.env", "--json"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(
                matches!(cli.command, Some(Command::Status { .. })),
                "{args:?}"
            );
            assert_eq!(cli.env_file(), Some(Path::new("x.env")), "{args:?}");
        }
    }

    #[test]
    fn status_takes_no_station_settings_after_its_name() {
        let err = Cli::try_parse_from(["ocpp-station", "status", "--connectors", "2"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn status_subcommand() {
        let cli = Cli::try_parse_from(["ocpp-station", "status"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Status {
                json: false,
                env_file: None
            })
        );
        let cli = Cli::try_parse_from(["ocpp-station", "status", "--json"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Status {
                json: true,
                env_file: None
            })
        );
        let help = Cli::try_parse_from(["ocpp-station", "status", "--help"]).unwrap_err();
        let help = help.to_string();
        for code in [
            "0 = running and online",
            "1 = running but offline",
            "3 = not running",
        ] {
            assert!(help.contains(code), "{help}");
        }
    }

    #[test]
    fn bad_input_is_a_clap_error_not_a_panic() {
        for args in [
            &["ocpp-station", "--connectors", "two"][..],
            &["ocpp-station", "--heartbeat-seconds", "-1"],
            &["ocpp-station", "--timeout"],
            &["ocpp-station", "--no-such-flag"],
            &["ocpp-station", "launch"],
            // The demo and the lab CSMS are the lab's (ocpp-lab), not the station's.
            &["ocpp-station", "demo"],
            &["ocpp-station", "lab-csms"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn help_and_version_are_available() {
        let help = Cli::try_parse_from(["ocpp-station", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("check-config"));
        let version = Cli::try_parse_from(["ocpp-station", "--version"]).unwrap_err();
        assert_eq!(version.kind(), clap::error::ErrorKind::DisplayVersion);
    }
}
