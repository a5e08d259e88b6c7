//! The long-running station: dial per the plan, run sessions, reconnect with RetryBackOff,
//! stop cleanly on SIGTERM/SIGINT.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::link::{self, DialPlan, DialRequest};
use crate::ocpp::BootReason;
use crate::session::{self, Control, KeepAlive, Observer, SessionEnd};
use crate::station::{CallOutcome, Event, Station};
use crate::status_source::StatusSource;

/// Why the daemon could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The TLS settings (CA bundle, client certificate) are unusable.
    #[error(transparent)]
    Tls(#[from] link::TlsSetupError),
    /// The dial plan has nothing to dial.
    #[error(transparent)]
    Plan(#[from] link::PlanError),
}

/// The pieces the daemon and the `--once` run share: the station core, TLS, the dial plan.
pub struct Wiring {
    /// The station core.
    pub station: Station,
    /// TLS client settings for wss:// endpoints.
    pub tls: Arc<rustls::ClientConfig>,
    /// Which URL and subprotocols to dial.
    pub plan: DialPlan,
}

impl Wiring {
    /// Builds the core, TLS and plan from a validated configuration.
    pub fn new(
        config: &Config,
        initial: crate::ocpp::ConnectorStatus,
    ) -> Result<Self, DaemonError> {
        let client_cert = match (&config.client_cert_path, &config.client_key_path) {
            (Some(cert), Some(key)) if config.auth == crate::config::AuthMode::Mtls => {
                Some((cert.as_path(), key.as_path()))
            }
            _ => None,
        };
        let tls = link::tls::client_config(config.ca_path.as_deref(), client_cert)?;
        let plan = DialPlan::new(link::PlanSettings {
            primary: config.primary,
            url_201: config.endpoint(crate::ocpp::OcppVersion::V201),
            url_16: config.endpoint(crate::ocpp::OcppVersion::V16),
            allow_fallback: config.allow_fallback,
            backoff: config.backoff,
            failures_before_fallback: 3,
            primary_retry_after: std::time::Duration::from_secs(3600),
        })?;
        let station = Station::new(
            crate::station::Settings {
                boot_info: config.boot_info.clone(),
                boot_reason: BootReason::PowerUp,
                connectors: config.connectors,
                heartbeat_override: config.heartbeat_override,
                call_timeout: config.call_timeout,
                boot_on_reconnect: config.boot_on_reconnect,
                offline_threshold: config.offline_threshold,
            },
            Arc::new(SystemClock),
            Box::new(|| uuid::Uuid::new_v4().to_string()),
            initial,
            crate::station::Restorable::default(),
        );
        Ok(Self { station, tls, plan })
    }

    /// The dial request for one attempt.
    pub fn request<'a>(
        config: &'a Config,
        tls: &Arc<rustls::ClientConfig>,
        url: &'a str,
        offer: &'a [crate::ocpp::OcppVersion],
    ) -> DialRequest<'a> {
        DialRequest {
            url,
            offer,
            identity: &config.station_name,
            password: match config.auth {
                crate::config::AuthMode::Basic => config.password.as_ref(),
                _ => None,
            },
            tls: tls.clone(),
            timeout: config.call_timeout,
        }
    }
}

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM/SIGINT.
    Shutdown,
    /// The CSMS asked for a Reset: the process exits so that systemd starts it afresh.
    Reset,
}

/// Logs what the core reports and notices a due Reset.
#[derive(Default)]
struct DaemonObserver {
    reset_due: bool,
}

impl Observer for DaemonObserver {
    fn on_event(&mut self, _now: Instant, _station: &mut Station, event: &Event) -> Control {
        let record = match event {
            Event::CallFinished(record) => record,
            Event::StateChanged => return Control::Continue,
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
pub async fn run(config: &Config, source: Box<dyn StatusSource>) -> Result<Stopped, DaemonError> {
    let Wiring {
        mut station,
        tls,
        mut plan,
    } = Wiring::new(config, source.initial_status())?;
    let mut updates = source.start();
    let mut shutdown = shutdown_signal();
    let keep_alive = KeepAlive {
        ping_interval: config.ping_interval,
    };
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

        let request = Wiring::request(config, &tls, &attempt.url, &attempt.offer);
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
                let mut observer = DaemonObserver::default();
                let end = session::run(
                    ws,
                    &mut station,
                    keep_alive,
                    &mut updates,
                    &mut shutdown,
                    &mut observer,
                )
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
