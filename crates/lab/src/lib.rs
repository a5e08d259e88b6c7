//! ocpp-lab: a CSMS for the bench (`ocpp-lab csms`) and a simulated charge controller, which
//! together with the station's own code make `ocpp-lab demo`. None of this goes on the Pi: the
//! station's package carries only the `ocpp-station` binary.
//!
//! - [`cli`] is the command line, [`demo`] the demo.
//! - [`server`] accepts stations and answers them; [`handshake`], [`answer`] and [`schemas`]
//!   are its pure parts (who may connect, what is answered, what is valid).
//! - [`view`] is the operator's view of every station (pure), [`render`] draws it as a table,
//!   [`event_log`] as one line per change, [`monitor`] keeps it and prints it.
//! - [`firmware`] and [`script`] are the simulated controller's behaviour (pure);
//!   [`sim_controller`] runs them on a pseudo-terminal ([`pty`]).
//!
//! Bench use: docs/bench-testing.md.

pub mod answer;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod event_log;
pub mod firmware;
pub mod handshake;
pub mod monitor;
pub mod options;
pub mod pty;
pub mod render;
pub mod schemas;
pub mod script;
pub mod server;
pub mod sim_controller;
pub mod tls;
pub mod view;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, watch};

use self::monitor::{Monitor, OutputMode};
use self::options::LabCsmsArgs;
use self::server::LabSettings;
use self::view::View;
use ocpp_station::logging;

/// Exit code when the lab cannot start (bad flags, files or address).
pub const EXIT_SETUP: u8 = 2;

/// How often the view is refreshed without events (offline detection, "ago" columns).
pub const TICK: Duration = Duration::from_secs(1);

/// Logging for the lab tools: to stderr, `OCPP_LOG` as filter, else `default` (a quiet level,
/// so that the view on stdout stays readable).
pub fn init_logging(default: &str) {
    let filter = std::env::var("OCPP_LOG").ok();
    let settings = logging::Settings::from_values(Some(filter.as_deref().unwrap_or(default)), None);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(settings.filter)
        .try_init();
    for warning in settings.warnings {
        tracing::warn!("{warning}");
    }
}

/// `ocpp-lab csms`: runs until SIGINT/SIGTERM.
pub fn run(args: &LabCsmsArgs) -> ExitCode {
    init_logging("warn");
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("ocpp-lab csms: {error}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ocpp-lab csms: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    runtime.block_on(serve_until_stopped(args, settings))
}

async fn serve_until_stopped(args: &LabCsmsArgs, settings: LabSettings) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("ocpp-lab csms: cannot listen on {}: {error}", args.listen);
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let address = listener.local_addr().unwrap_or(args.listen);
    let scheme = if settings.tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://{address}/ocpp");
    let mode = OutputMode::for_stdout(args.json);
    let mut monitor = Monitor::new(View::new(args.offline_after()), mode, std::io::stdout());
    monitor.set_header(header(args, &settings, &url));
    monitor.line(
        clock::now(),
        json!({
            "event": "listening",
            "address": address.to_string(),
            "url": url,
            "versions": settings.versions.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            "schemas": settings.schemas.as_ref().map(|s| s.dir().display().to_string()),
        }),
    );

    let (events_tx, mut events) = mpsc::channel(1024);
    let (stop, stopping) = watch::channel(false);
    let server = tokio::spawn(server::serve(
        listener,
        Arc::new(settings),
        events_tx,
        stopping,
    ));
    let mut shutdown = ocpp_station::daemon::shutdown_signal();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    monitor.on_event(event);
                    monitor.refresh(clock::now(), false);
                }
                None => break,
            },
            _ = tick.tick() => monitor.refresh(clock::now(), true),
            _ = shutdown.changed() => break,
        }
    }
    let _ = stop.send(true);
    // Connections close with 1001; what they report meanwhile is still shown.
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    while let Ok(event) = events.try_recv() {
        monitor.on_event(event);
    }
    monitor.refresh(clock::now(), true);
    ExitCode::SUCCESS
}

fn header(args: &LabCsmsArgs, settings: &LabSettings, url: &str) -> Vec<String> {
    let versions = settings
        .versions
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let auth = match &settings.auth {
        handshake::AuthPolicy::Open => "no credentials required",
        handshake::AuthPolicy::AnyPassword => "Basic auth, any password",
        handshake::AuthPolicy::Password(_) => "Basic auth, password checked",
    };
    let schemas = match &settings.schemas {
        Some(set) => format!("schemas: {} ({} files)", set.dir().display(), set.len()),
        None => "schemas: not checked (--schemas DIR)".to_owned(),
    };
    vec![
        format!("ocpp-station lab CSMS on {url}/<identity>   (Ctrl-C to stop)"),
        format!(
            "OCPP {versions}; {auth}; Boot {} with interval {} s; offline after {} s; {schemas}",
            settings.boot.status.wire(),
            settings.boot.interval,
            args.offline_after().as_secs()
        ),
    ]
}
