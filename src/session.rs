//! One live WebSocket connection: feeds the station core and carries out what it asks.
//!
//! Owns the socket, the one timer, the keep-alive pings and half-open detection. No OCPP rule
//! lives here.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::deadline;
use crate::health_task::{HealthFeed, HealthInput};
use crate::link::WsStream;
use crate::sd_notify::Watchdog;
use crate::station::{Event, Station};
use crate::status_source::ConnectorUpdate;

/// How long to wait for the CSMS to acknowledge our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// No traffic at all for this long means the socket is half-open. With pings on (every
/// `ping_interval`), one missed pong ends it; with pings off, twice the heartbeat interval plus
/// a margin, since the CSMS answers every Heartbeat.
fn silence_limit(ping_interval: Duration, heartbeat: Duration) -> Duration {
    if ping_interval.is_zero() {
        heartbeat
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(30))
    } else {
        ping_interval.saturating_mul(2)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The CSMS closed the connection (code and reason, when it sent them).
    ClosedByCsms(Option<String>),
    /// The socket failed.
    Failed(String),
    /// Nothing arrived for too long: the link is half-open.
    HalfOpen,
    /// Shutdown was requested; the socket was closed with 1000.
    Shutdown,
    /// The observer finished the run (the `--once` run is complete); closed with 1000.
    Finished,
}

/// What the observer tells the session after looking at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Close with 1000 and end the session.
    Finish,
}

/// Watches what the core does: the daemon logs, the `--once` run builds its report.
pub trait Observer {
    /// A core event; may drive the station further (the `--once` run asks for a Heartbeat).
    fn on_event(&mut self, now: Instant, station: &mut Station, event: &Event) -> Control;

    /// After each step, with nothing more to drain.
    fn after_step(&mut self, _now: Instant, _station: &mut Station) -> Control {
        Control::Continue
    }
}

/// What feeds a session besides the socket.
pub struct Inputs<'a> {
    /// Connector statuses from the charge controller (or nothing).
    pub updates: &'a mut mpsc::Receiver<ConnectorUpdate>,
    /// The latest health measurement and due metrics from the sampler, when one runs.
    pub health: Option<&'a mut HealthFeed>,
    /// Turns true on SIGTERM/SIGINT.
    pub shutdown: &'a mut watch::Receiver<bool>,
    /// systemd's watchdog, pinged from the loop itself: if the loop hangs, the pings stop and
    /// systemd restarts the station.
    pub watchdog: Option<&'a mut Watchdog>,
}

/// Runs the session until it ends. The caller has already called `handle_connected`.
pub async fn run(
    mut ws: WsStream,
    station: &mut Station,
    inputs: Inputs<'_>,
    observer: &mut dyn Observer,
) -> SessionEnd {
    let Inputs {
        updates,
        mut health,
        shutdown,
        mut watchdog,
    } = inputs;
    let mut last_received = Instant::now();
    // The interval is the station's (the CSMS may change it mid-session).
    let mut ping_interval = station.ping_interval();
    let mut next_ping =
        (!ping_interval.is_zero()).then(|| deadline::after(Instant::now(), ping_interval));
    let mut updates_open = true;

    loop {
        // Events first: what must survive a restart is saved before the answer that made the
        // change leaves (a crash in between must not lose an Accepted change). Then the frames.
        let now = Instant::now();
        let mut control = Control::Continue;
        while let Some(event) = station.poll_event() {
            if observer.on_event(now, station, &event) == Control::Finish {
                control = Control::Finish;
            }
        }
        if observer.after_step(now, station) == Control::Finish {
            control = Control::Finish;
        }
        if let Err(end) = flush(&mut ws, station).await {
            return end;
        }
        if control == Control::Finish {
            close(&mut ws).await;
            return SessionEnd::Finished;
        }
        if *shutdown.borrow() {
            close(&mut ws).await;
            return SessionEnd::Shutdown;
        }

        if station.ping_interval() != ping_interval {
            ping_interval = station.ping_interval();
            next_ping =
                (!ping_interval.is_zero()).then(|| deadline::after(Instant::now(), ping_interval));
        }
        // The watchdog's next ping is one of the wake-ups, so an idle, healthy station keeps
        // pinging.
        if let Some(watchdog) = watchdog.as_deref_mut() {
            watchdog.ping_if_due(Instant::now());
        }
        let watchdog_deadline = watchdog.as_deref().and_then(Watchdog::next_ping);

        let silence_deadline = deadline::after(
            last_received,
            silence_limit(ping_interval, station.heartbeat_interval()),
        );
        let core_deadline = station.poll_timeout();
        let wake = [
            Some(silence_deadline),
            core_deadline,
            next_ping,
            watchdog_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(silence_deadline);

        tokio::select! {
            incoming = ws.next() => {
                let now = Instant::now();
                last_received = now;
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        tracing::trace!(frame = %crate::rpc::loggable(text.as_str()), "received");
                        station.handle_text(now, text.as_str());
                    }
                    Some(Ok(Message::Binary(_))) => {
                        tracing::warn!("binary frame from the CSMS ignored: OCPP-J uses text frames");
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason));
                        return SessionEnd::ClosedByCsms(why);
                    }
                    // Pings are answered by the WebSocket layer on the next flush; pongs only
                    // prove the link is alive.
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return SessionEnd::Failed(error.to_string()),
                    None => return SessionEnd::ClosedByCsms(None),
                }
            }
            update = updates.recv(), if updates_open => {
                match update {
                    Some(update) => apply_update(station, Instant::now(), update),
                    None => updates_open = false,
                }
            }
            input = next_health(&mut health) => {
                match input {
                    Some(input) => apply_health(station, Instant::now(), input),
                    // The sampler stopped: the station keeps its last health.
                    None => health = None,
                }
            }
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                if now >= silence_deadline {
                    tracing::warn!(silent_for = ?now.duration_since(last_received), "no traffic from the CSMS: the link is half-open");
                    return SessionEnd::HalfOpen;
                }
                if next_ping.is_some_and(|t| t <= now) {
                    next_ping = Some(deadline::after(now, ping_interval));
                    if let Err(error) = ws.send(Message::Ping(Vec::new().into())).await {
                        return SessionEnd::Failed(error.to_string());
                    }
                }
                station.handle_timeout(now);
            }
        }
    }
}

/// Hands the sampler's word to the core: offline, it records the health and drops the metrics.
pub fn apply_health(station: &mut Station, now: Instant, input: HealthInput) {
    match input {
        HealthInput::Measured(measured) => {
            station.record_sample(measured.sample);
            station.handle_health(now, measured.health);
        }
        HealthInput::Metrics(data) => station.send_metrics(now, data),
    }
}

/// Hands a charge-controller update to the core.
pub fn apply_update(station: &mut Station, now: Instant, update: ConnectorUpdate) {
    if let Err(error) = station.handle_connector_status(now, update.connector, update.status) {
        tracing::error!(%error, "status update ignored");
    }
}

/// The sampler's next word. Pends forever when there is no sampler; `None` when it stopped.
async fn next_health(health: &mut Option<&mut HealthFeed>) -> Option<HealthInput> {
    match health {
        Some(feed) => feed.next().await,
        None => std::future::pending().await,
    }
}

async fn flush(ws: &mut WsStream, station: &mut Station) -> Result<(), SessionEnd> {
    let mut sent = false;
    while let Some(frame) = station.poll_transmit() {
        tracing::trace!(frame = %crate::rpc::loggable(&frame), "sending");
        ws.feed(Message::Text(frame.into()))
            .await
            .map_err(|e| SessionEnd::Failed(e.to_string()))?;
        sent = true;
    }
    if sent {
        ws.flush()
            .await
            .map_err(|e| SessionEnd::Failed(e.to_string()))?;
    }
    Ok(())
}

/// Closes with 1000 and waits briefly for the CSMS's answer.
async fn close(ws: &mut WsStream) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}
