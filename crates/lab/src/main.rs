//! `ocpp-lab`: the lab CSMS and the demo. Wiring only; see the library.

use std::process::ExitCode;

use clap::Parser;
use ocpp_lab::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Demo(args) => ocpp_lab::demo::run(args),
        Command::Csms(args) => ocpp_lab::run(args),
    }
}
