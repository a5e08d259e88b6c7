//! The long-running station: dial per the plan, run sessions, reconnect with RetryBackOff,
//! stop cleanly on SIGTERM/SIGINT.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::future::Future;
use std::path::Path;
use std::time::Instant;

use tokio::sync::watch;

use crate::clock::{SystemClock, WallClock, format_timestamp};
use crate::config::Config;
use crate::deadline;
use crate::esp32::port::SnapshotHandle;
use crate::health_task::{self, HealthFeed};
use crate::link;
use crate::metrics::SamplerPaths;
use crate::sd_notify::{self, Watchdog};
use crate::session::{self, Control, Observer, SessionEnd};
use crate::station::{CallOutcome, Event, Station};
use crate::status_file::{LinkState, LinkStatus};
use crate::status_source::StatusSource;
use crate::status_writer::{self, StatusWriter};
use crate::wiring::{self, Wiring, WiringError};

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM/SIGINT.
    Shutdown,
    /// The CSMS asked for a Reset: the process exits so that systemd starts it afresh.
    Reset,
}

/// Logs what the core reports, saves what must survive a restart, keeps the status file
/// current, notices a due Reset or a reconnect the CSMS asked for.
struct DaemonObserver<'a> {
    state_dir: &'a Path,
    status: &'a mut StatusWriter,
    link: &'a LinkStatus,
    reset_due: bool,
    reconnect_now: bool,
}

impl Observer for DaemonObserver<'_> {
    fn after_step(&mut self, _now: Instant, station: &mut Station) -> Control {
        self.status.update(station, self.link);
        Control::Continue
    }

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
            Event::ReconnectRequested => {
                tracing::info!("the CSMS set a new password: reconnecting with it");
                self.reconnect_now = true;
                return Control::Finish;
            }
            // Nothing emits journal records yet.
            Event::Journal(_) => return Control::Continue,
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
pub async fn run(
    config: &Config,
    source: Box<dyn StatusSource>,
    controller: Option<SnapshotHandle>,
) -> Result<Stopped, WiringError> {
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
    let mut health = health_task::start(
        SamplerPaths::system(config.state_dir.clone()),
        config.health,
        config.metrics_interval,
    );
    let mut status = StatusWriter::new(
        config.runtime_dir.clone(),
        config.station_name.clone(),
        controller,
    );
    let mut link = LinkStatus {
        state: LinkState::Connecting,
        ocpp_version: None,
        endpoint: None,
        since_utc: None,
    };
    let stopped = run_loop(
        config,
        &mut station,
        &tls,
        &mut plan,
        &state_dir,
        &mut updates,
        &mut health,
        &mut shutdown,
        &mut status,
        &mut link,
    )
    .await;
    // No status file means "not running" to `ocpp-station status`.
    status.remove().await;
    Ok(stopped)
}

/// Dials, runs sessions and reconnects until shutdown or a Reset.
#[allow(
    clippy::too_many_arguments,
    reason = "the daemon's state, passed down once"
)]
async fn run_loop(
    config: &Config,
    station: &mut Station,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    plan: &mut link::DialPlan,
    state_dir: &Path,
    updates: &mut tokio::sync::mpsc::Receiver<crate::status_source::ConnectorUpdate>,
    health: &mut HealthFeed,
    shutdown: &mut watch::Receiver<bool>,
    status: &mut StatusWriter,
    link: &mut LinkStatus,
) -> Stopped {
    tracing::info!(
        station = %config.station_name,
        primary = %config.primary,
        fallback = config.allow_fallback,
        "ocpp-station starting"
    );
    // systemd's watchdog, pinged from every wait below and from the session loop.
    let mut watchdog = Watchdog::from_env();
    let mut ready_sent = false;

    // The CSMS asked for a reconnect (a new password): the next dial does not back off.
    let mut dial_at_once = false;
    loop {
        let attempt = plan.next_attempt(Instant::now());
        let wait = if std::mem::take(&mut dial_at_once) {
            std::time::Duration::ZERO
        } else {
            attempt.not_before.saturating_duration_since(Instant::now())
        };
        status.update(station, link);
        if !wait.is_zero() {
            tracing::info!(wait_ms = wait.as_millis() as u64, "{}", attempt.reason);
            let offline = Offline {
                station: &mut *station,
                updates: &mut *updates,
                health: &mut *health,
                status: &mut *status,
                link: &*link,
            };
            offline
                .wait(
                    deadline::after(Instant::now(), wait),
                    shutdown,
                    watchdog.as_mut(),
                )
                .await;
        } else {
            tracing::info!("{}", attempt.reason);
        }
        if *shutdown.borrow() {
            return Stopped::Shutdown;
        }

        // The CSMS may have changed the back-off or the password since the last attempt.
        plan.set_backoff(station.backoff());
        let request = wiring::dial_request(config, tls, station, &attempt.url, &attempt.offer);
        // Started once the first dial begins, answered or not: a station without network is
        // running, waiting for it.
        if !ready_sent {
            sd_notify::ready();
            ready_sent = true;
        }
        let dialed = tokio::select! {
            dialed = pinging(link::dial(&request), watchdog.as_mut()) => dialed,
            _ = shutdown.changed() => return Stopped::Shutdown,
        };
        let random: f64 = rand::random();
        match dialed {
            Ok((ws, version)) => {
                tracing::info!(version = %version, "connected");
                plan.handle_connected(Instant::now(), version);
                station.handle_connected(Instant::now(), version);
                *link = LinkStatus {
                    state: LinkState::Online,
                    ocpp_version: Some(version.to_string()),
                    endpoint: Some(crate::redact::url(&attempt.url)),
                    since_utc: Some(format_timestamp(SystemClock.now_utc())),
                };
                let mut observer = DaemonObserver {
                    state_dir,
                    status: &mut *status,
                    link: &*link,
                    reset_due: false,
                    reconnect_now: false,
                };
                let inputs = session::Inputs {
                    updates: &mut *updates,
                    health: Some(&mut *health),
                    shutdown: &mut *shutdown,
                    watchdog: watchdog.as_mut(),
                };
                let end = session::run(ws, station, inputs, &mut observer).await;
                let (reset_due, reconnect_now) = (observer.reset_due, observer.reconnect_now);
                station.handle_disconnected(Instant::now());
                plan.handle_disconnected(Instant::now(), random);
                *link = LinkStatus {
                    state: LinkState::Offline,
                    ocpp_version: None,
                    endpoint: None,
                    since_utc: Some(format_timestamp(SystemClock.now_utc())),
                };
                status.update(station, link);
                match end {
                    SessionEnd::Finished if reset_due => return Stopped::Reset,
                    SessionEnd::Finished if reconnect_now => dial_at_once = true,
                    SessionEnd::Shutdown | SessionEnd::Finished => return Stopped::Shutdown,
                    other => tracing::warn!(reason = ?other, "connection lost"),
                }
            }
            Err(error) => {
                tracing::warn!(outcome = error.outcome(), "could not connect: {error}");
                plan.handle_failure(
                    Instant::now(),
                    &attempt,
                    error.is_version_mismatch(),
                    random,
                );
            }
        }
    }
}

/// The station between two connections.
struct Offline<'a> {
    station: &'a mut Station,
    updates: &'a mut tokio::sync::mpsc::Receiver<crate::status_source::ConnectorUpdate>,
    health: &'a mut HealthFeed,
    status: &'a mut StatusWriter,
    link: &'a LinkStatus,
}

impl Offline<'_> {
    /// Waits until `until` (or shutdown). The charge controller and the sampler keep talking
    /// meanwhile: the core records what they say (to report it once online again) and the
    /// status file shows it, so neither stalls on a full channel and nothing local goes stale.
    async fn wait(
        self,
        until: Instant,
        shutdown: &mut watch::Receiver<bool>,
        mut watchdog: Option<&mut Watchdog>,
    ) {
        let mut updates_open = true;
        let mut health_open = true;
        loop {
            // Woken at least every REFRESH, so that the status file shows the daemon alive.
            let wake = until.min(deadline::after(Instant::now(), status_writer::REFRESH));
            tokio::select! {
                _ = pinging(tokio::time::sleep_until(wake.into()), watchdog.as_deref_mut()) => {
                    if Instant::now() >= until {
                        return;
                    }
                }
                _ = shutdown.changed() => return,
                update = self.updates.recv(), if updates_open => match update {
                    Some(update) => session::apply_update(self.station, Instant::now(), update),
                    None => updates_open = false,
                },
                input = self.health.next(), if health_open => match input {
                    Some(input) => session::apply_health(self.station, Instant::now(), input),
                    None => health_open = false,
                },
            }
            self.status.update(self.station, self.link);
        }
    }
}

/// Awaits `work`, pinging systemd's watchdog whenever a ping falls due meanwhile: a reconnect
/// back-off or a dial may legitimately outlast the watchdog timeout.
async fn pinging<T>(work: impl Future<Output = T>, mut watchdog: Option<&mut Watchdog>) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        let Some(dog) = watchdog.as_deref_mut() else {
            return work.await;
        };
        dog.ping_if_due(Instant::now());
        let Some(next) = dog.next_ping() else {
            return work.await;
        };
        tokio::select! {
            output = &mut work => return output,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
    }
}
