//! `ocpp-station`: the command line. Wiring only; see the library for the station itself.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use ocpp_station::cli::{Cli, Command};
use ocpp_station::config;
use ocpp_station::daemon::Stopped;
use ocpp_station::esp32::port::ControllerSource;
use ocpp_station::once::{self, OnceReport};
use ocpp_station::once_deadline::{self, OnceDeadline};
use ocpp_station::status_source::{NoController, StatusSource};
use ocpp_station::{logging, redact, sd_notify, status_cmd};
use tracing::Instrument;

/// Exit code when the daemon cannot start (bad configuration, unusable TLS files).
const EXIT_DAEMON_CONFIG: u8 = 2;

/// Exit code after a CSMS Reset: systemd (Restart=always) starts the station afresh.
const EXIT_RESET: u8 = 10;

#[allow(
    clippy::disallowed_methods,
    reason = "the --once deadline counts from the start of the process"
)]
fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --once promises one JSON line even for a bad command line. (args_os: a
            // non-UTF-8 argument must not panic here.)
            if std::env::args_os().any(|a| a == "--once") && error.use_stderr() {
                let report = OnceReport::config_error(
                    None,
                    &format!("invalid command line: {}", error.kind()),
                );
                // Not println!, which panics when stdout is closed.
                let _ = writeln!(std::io::stdout().lock(), "{}", report.to_line());
                eprintln!("{error}");
                return ExitCode::from(once::EXIT_CONFIG as u8);
            }
            error.exit();
        }
    };
    // From here on --once prints its line by its deadline whatever blocks, reading the env
    // file included (src/once_deadline.rs).
    let deadline = cli.once.then(|| {
        let limit = once_deadline::early_limit(
            cli.station_args().timeout,
            std::env::var("OCPP_ONCE_TIMEOUT_SECONDS").ok().as_deref(),
        );
        OnceDeadline::start(started, limit, early_station_name(&cli))
    });
    // Logs go to stderr: stdout belongs to `--once`'s JSON line.
    let env_file = cli.env_file();
    logging::init(env_file);

    let environment = process_environment();
    // `status` reads only OCPP_RUNTIME_DIR: a technician without access to the (0600) env file
    // must still be able to ask.
    if let Some(Command::Status { json, .. }) = cli.command {
        let dir = match config::load_runtime_dir(environment, env_file) {
            Ok(dir) => dir,
            Err(error) => {
                eprintln!("{}", redact::escape_controls(&error.to_string()));
                return ExitCode::from(EXIT_DAEMON_CONFIG);
            }
        };
        let code = status_cmd::run(&dir, json, &mut std::io::stdout());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let loaded = config::load(environment, env_file, &cli.overrides());
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("configuration error: {error}");
            if let Some(deadline) = &deadline {
                let name =
                    config::station_name_hint(process_environment(), env_file, &cli.overrides());
                deadline.print(&OnceReport::config_error(name, &error));
                return ExitCode::from(once::EXIT_CONFIG as u8);
            }
            return ExitCode::from(EXIT_DAEMON_CONFIG);
        }
    };
    if let Some(deadline) = &deadline {
        deadline.configured(&config.station_name, config.once_timeout);
    }
    // check-config prints the warnings once, in its summary on stdout; everything else logs
    // them.
    if let Some(Command::CheckConfig(_)) = cli.command {
        println!("{}", config.summary());
        return ExitCode::SUCCESS;
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Every log line carries the station identity: fleet logs are collected in one place.
    let span = tracing::info_span!("station", identity = %config.station_name);
    // The charge controller, when one is configured; otherwise every connector is Unavailable.
    let (source, snapshot): (Box<dyn StatusSource>, _) = match &config.controller {
        Some(controller) => {
            let source = ControllerSource::new(controller.clone());
            let snapshot = source.snapshot();
            (Box::new(source), Some(snapshot))
        }
        None => (Box::new(NoController), None),
    };
    if let Some(deadline) = &deadline {
        let report = runtime.block_on(once::run(&config, source, snapshot).instrument(span));
        deadline.print(&report);
        return ExitCode::from(report.exit_code as u8);
    }
    let stopped =
        runtime.block_on(ocpp_station::daemon::run(&config, source, snapshot).instrument(span));
    // systemd: the station is going down (SIGTERM, or a Reset that it restarts us for).
    if stopped.is_ok() {
        sd_notify::stopping();
    }
    match stopped {
        Ok(Stopped::Shutdown) => ExitCode::SUCCESS,
        Ok(Stopped::Reset) => ExitCode::from(EXIT_RESET),
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::from(EXIT_DAEMON_CONFIG)
        }
    }
}

/// The process environment. `vars()` would panic on a variable that is not UTF-8; such a value
/// is read lossily instead.
fn process_environment() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    })
}

/// The station identity known before the configuration is read (for a report that cannot wait
/// for it): `--station-name`, else a non-empty `OCPP_STATION_NAME` in the environment.
fn early_station_name(cli: &Cli) -> Option<String> {
    let from_env = std::env::var("OCPP_STATION_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty());
    cli.overrides().station_name.or(from_env)
}
