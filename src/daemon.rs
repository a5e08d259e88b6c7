//! The long-running station: dial per the plan, run sessions, reconnect with RetryBackOff,
//! stop cleanly on SIGTERM/SIGINT.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::path::Path;
use std::time::Instant;

use tokio::sync::watch;

use crate::config::Config;
use crate::link;
use crate::session::{self, Control, Observer, SessionEnd};
use crate::station::{CallOutcome, Event, Station};
use crate::status_source::StatusSource;
use crate::wiring::{self, Wiring, WiringError};

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM/SIGINT.
    Shutdown,
    /// The CSMS asked for a Reset: the process exits so that systemd starts it afresh.
    Reset,
}

/// Logs what the core reports, saves what must survive a restart, notices a due Reset.
struct DaemonObserver<'a> {
    state_dir: &'a Path,
    reset_due: bool,
}

impl Observer for DaemonObserver<'_> {
    fn on_event(&mut self, _now: Instant, station: &mut Station, event: &Event) -> Control {
        let record = match event {
            Event::CallFinished(record) => record,
            Event::StateChanged => {
                wiring::save(self.state_dir, station);
                return Control::Continue;
            }
            Event::ResetDue => {
                tracing::info!("the CSMS asked for a reset: closing the connection and restarting");
                self.reset_due = true;
                return Control::Finish;
            }
        };
        match &record.outcome {
            CallOutcome::Result(_) => {
                tracing::debug!(action = record.request.action(), message_id = %record.unique_id, "answered")
            }
            CallOutcome::Error { code, description } => tracing::warn!(
                action = record.request.action(),
                message_id = %record.unique_id,
                %code,
                "the CSMS answered with an error: {description}"
            ),
            CallOutcome::Timeout => tracing::warn!(
                action = record.request.action(),
                message_id = %record.unique_id,
                "no answer from the CSMS"
            ),
        }
        Control::Continue
    }
}

/// A watch channel that turns true on SIGTERM or SIGINT.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        let _ = sender.send(true);
    });
    receiver
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            tracing::error!("cannot install signal handlers; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs until shutdown or a CSMS Reset. Returns once the WebSocket (if any) is closed with 1000.
pub async fn run(config: &Config, source: Box<dyn StatusSource>) -> Result<Stopped, WiringError> {
    let Wiring {
        mut station,
        tls,
        mut plan,
        state_dir,
        boot_reason_consumed,
    } = Wiring::new(config, source.initial_status())?;
    if boot_reason_consumed {
        // The saved reason belongs to this start only.
        wiring::save(&state_dir, &station);
    }
    let mut updates = source.start();
    let mut shutdown = shutdown_signal();
    tracing::info!(
        station = %config.station_name,
        primary = %config.primary,
        fallback = config.allow_fallback,
        "ocpp-station starting"
    );

    loop {
        let attempt = plan.next_attempt(Instant::now());
        let wait = attempt.not_before.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            tracing::info!(wait_ms = wait.as_millis() as u64, "{}", attempt.reason);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        } else {
            tracing::info!("{}", attempt.reason);
        }
        if *shutdown.borrow() {
            return Ok(Stopped::Shutdown);
        }

        // The CSMS may have changed the back-off or the password since the last attempt.
        plan.set_backoff(station.backoff());
        let request = wiring::dial_request(config, &tls, &station, &attempt.url, &attempt.offer);
        let dialed = tokio::select! {
            dialed = link::dial(&request) => dialed,
            _ = shutdown.changed() => return Ok(Stopped::Shutdown),
        };
        let random: f64 = rand::random();
        match dialed {
            Ok((ws, version)) => {
                tracing::info!(version = %version, "connected");
                plan.record_connected(Instant::now(), version);
                station.handle_connected(Instant::now(), version);
                let mut observer = DaemonObserver {
                    state_dir: &state_dir,
                    reset_due: false,
                };
                let end =
                    session::run(ws, &mut station, &mut updates, &mut shutdown, &mut observer)
                        .await;
                station.handle_disconnected(Instant::now());
                plan.record_disconnected(Instant::now(), random);
                match end {
                    SessionEnd::Finished if observer.reset_due => return Ok(Stopped::Reset),
                    SessionEnd::Shutdown | SessionEnd::Finished => return Ok(Stopped::Shutdown),
                    other => tracing::warn!(reason = ?other, "connection lost"),
                }
            }
            Err(error) => {
                tracing::warn!(outcome = error.outcome(), "could not connect: {error}");
                plan.record_failure(
                    Instant::now(),
                    &attempt,
                    error.is_version_mismatch(),
                    random,
                );
            }
        }
    }
}
