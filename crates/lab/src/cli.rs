//! The `ocpp-lab` command line.

use clap::{Parser, Subcommand};

use crate::demo::DemoArgs;
use crate::options::LabCsmsArgs;

/// ocpp-lab: the bench tools around the ocpp-station charge-point client.
#[derive(Debug, Parser)]
#[command(
    name = "ocpp-lab",
    version,
    about = "The bench tools of ocpp-station: a lab CSMS and the demo",
    long_about = "The bench tools of ocpp-station: a CSMS for the lab bench that shows what each \
station sends, and a demo that runs the station's own code against it with a simulated charge \
controller.

Typical uses:
  ocpp-lab demo
      one charging session on this computer, OCPP 2.0.1 then 1.6 (exit code 0 = as expected)
  ocpp-lab csms --listen 0.0.0.0:9000 --any-password
      a CSMS on port 9000 for stations on the bench (see docs/bench-testing.md)"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The lab's tools.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Show a whole charging session on this computer: the station's own code against a lab
    /// CSMS, with a simulated charge controller on a pseudo-terminal. Needs no configuration
    /// and nothing installed.
    ///
    /// The operator's view (registration, connector statuses and causes, heartbeats, message
    /// counts, validation errors) is shown live: a table on a terminal, one line per change
    /// when piped; a summary follows. Exit codes: 0 = the view showed every status the session
    /// must produce and a Heartbeat, and no message failed validation; 1 = it did not; 2 = the
    /// demo could not start; 130 = interrupted.
    Demo(DemoArgs),
    /// Run a CSMS for the lab bench: point a real station at it and watch what it sends.
    ///
    /// Accepts any path that ends in a station identity, speaks OCPP 2.0.1 and 1.6, answers Boot,
    /// Heartbeat, StatusNotification, NotifyEvent, NotifyReport, SecurityEventNotification and
    /// DataTransfer (NotImplemented for the rest), optionally checks every message against the
    /// official schemas, and shows each station live (see docs/bench-testing.md).
    Csms(LabCsmsArgs),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_tools_need_no_station_configuration() {
        let cli = Cli::try_parse_from(["ocpp-lab", "demo"]).unwrap();
        let Command::Demo(demo) = cli.command else {
            panic!("not the demo: {:?}", cli.command);
        };
        assert_eq!(demo.versions, crate::demo::DemoVersions::Both);
        assert!(!demo.json && !demo.no_fault);
        let cli = Cli::try_parse_from([
            "ocpp-lab",
            "demo",
            "--version",
            "1.6",
            "--json",
            "--step-seconds",
            "0.3",
        ])
        .unwrap();
        let Command::Demo(demo) = cli.command else {
            panic!("not the demo: {:?}", cli.command);
        };
        assert_eq!(
            demo.versions,
            crate::demo::DemoVersions::One(ocpp_station::ocpp::OcppVersion::V16)
        );
        assert_eq!(demo.step_seconds, std::time::Duration::from_millis(300));
        let cli = Cli::try_parse_from([
            "ocpp-lab",
            "csms",
            "--listen",
            "0.0.0.0:9000",
            "--any-password",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Csms(ref lab) if lab.any_password));
        assert!(Cli::try_parse_from(["ocpp-lab", "demo", "--version", "3"]).is_err());
    }

    #[test]
    fn station_settings_are_not_the_labs() {
        for args in [
            &["ocpp-lab", "demo", "--env-file", "x.env"][..],
            &["ocpp-lab", "csms", "--url-201", "ws://h/x"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{args:?}"
            );
        }
    }
}
