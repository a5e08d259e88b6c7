//! One live WebSocket connection: feeds the station core and carries out what it asks.
//!
//! Owns the socket, the one timer, the keep-alive pings and half-open detection. No OCPP rule
//! lives here.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock and feeds it to the core"
)]

use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
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

/// Frames handed to the writer and not yet on the wire, at most. When that many wait, the link
/// is not taking data: the session stops reading the CSMS (whose calls would only add answers)
/// until the writer catches up, or its write times out and ends the session.
const OUTBOX_FRAMES: usize = 32;

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

/// How long one write may take before the link counts as stuck: as long as a missed pong takes
/// to notice, and never longer than the station waits for an answer (a CSMS that cannot take a
/// frame in that time cannot answer it either).
fn write_limit(ping_interval: Duration, message_timeout: Duration) -> Duration {
    let limit = if ping_interval.is_zero() {
        message_timeout
    } else {
        ping_interval.saturating_mul(2).min(message_timeout)
    };
    limit.max(Duration::from_secs(1))
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
    /// The CSMS stopped taking data: a write did not finish within the limit.
    Stalled,
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
///
/// The loop itself never waits on a socket write: frames go to a writer that runs beside it
/// (each write bounded by `write_limit`), so shutdown, the watchdog and the core's timers keep
/// working when the CSMS stops reading.
pub async fn run(
    ws: WsStream,
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
    let (sink, mut stream) = ws.split();
    let (outbox, queued) = mpsc::channel(OUTBOX_FRAMES);
    // Fixed for the session: a new ping interval or MessageTimeout applies from the next one.
    let limit = write_limit(station.ping_interval(), station.message_timeout());
    let writer = write_frames(sink, queued, limit);
    tokio::pin!(writer);
    // A frame taken from the core that the outbox had no room for.
    let mut held: Option<Message> = None;

    let mut last_received = Instant::now();
    // The interval is the station's (the CSMS may change it mid-session).
    let mut ping_interval = station.ping_interval();
    let mut next_ping = next_ping_after(Instant::now(), ping_interval);
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
        hand_over(station, &outbox, &mut held);
        if control == Control::Finish {
            close(outbox, held, writer, &mut stream).await;
            return SessionEnd::Finished;
        }
        if *shutdown.borrow() {
            close(outbox, held, writer, &mut stream).await;
            return SessionEnd::Shutdown;
        }

        if station.ping_interval() != ping_interval {
            ping_interval = station.ping_interval();
            next_ping = next_ping_after(Instant::now(), ping_interval);
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
            // Reading waits while output is held back: every CSMS call would add an answer.
            incoming = stream.next(), if held.is_none() => {
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
                    // Pings are answered by the WebSocket layer on the next write; pongs only
                    // prove the link is alive.
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return SessionEnd::Failed(error.to_string()),
                    None => return SessionEnd::ClosedByCsms(None),
                }
            }
            // The writer only ends by itself when a write failed or timed out.
            end = &mut writer => return end,
            room = outbox.reserve(), if held.is_some() => {
                if let (Ok(permit), Some(frame)) = (room, held.take()) {
                    permit.send(frame);
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
                    tracing::warn!(silent_for = ?now.saturating_duration_since(last_received), "no traffic from the CSMS: the link is half-open");
                    return SessionEnd::HalfOpen;
                }
                if next_ping.is_some_and(|t| t <= now) {
                    next_ping = next_ping_after(now, ping_interval);
                    // With output held back the link is busy or stuck: the write limit decides.
                    if held.is_none() {
                        let _ = outbox.try_send(Message::Ping(Vec::new().into()));
                    }
                }
                station.handle_timeout(now);
            }
        }
    }
}

/// When the next keep-alive ping is due; `None` with pings off.
fn next_ping_after(now: Instant, interval: Duration) -> Option<Instant> {
    (!interval.is_zero()).then(|| deadline::after(now, interval))
}

/// Moves the core's frames to the writer until it has no room; the first frame that does not
/// fit is held until it has.
fn hand_over(station: &mut Station, outbox: &mpsc::Sender<Message>, held: &mut Option<Message>) {
    loop {
        let frame = match held.take() {
            Some(frame) => frame,
            None => match station.poll_transmit() {
                Some(text) => {
                    tracing::trace!(frame = %crate::rpc::loggable(&text), "sending");
                    Message::Text(text.into())
                }
                None => return,
            },
        };
        match outbox.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(frame)) => {
                *held = Some(frame);
                return;
            }
            // The writer ended; the session loop sees why on its next turn.
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

/// Writes what the session hands over, each batch within `limit`. Ends with the reason when a
/// write fails or times out. Once the session closed the outbox and everything was written, it
/// closes the link with 1000, in a write of its own (a CSMS that is busy when the close arrives
/// has read what came before it), and ends with [`SessionEnd::Finished`].
async fn write_frames(
    mut sink: SplitSink<WsStream, Message>,
    mut queued: mpsc::Receiver<Message>,
    limit: Duration,
) -> SessionEnd {
    while let Some(first) = queued.recv().await {
        let written = tokio::time::timeout(limit, async {
            sink.feed(first).await?;
            // Whatever else is already waiting goes out with the same flush.
            while let Ok(next) = queued.try_recv() {
                sink.feed(next).await?;
            }
            sink.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return SessionEnd::Failed(error.to_string()),
            Err(_) => {
                tracing::warn!(
                    limit_s = limit.as_secs(),
                    "the CSMS stopped taking data: a write did not finish in time"
                );
                return SessionEnd::Stalled;
            }
        }
    }
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    match tokio::time::timeout(limit, sink.send(Message::Close(Some(frame)))).await {
        Ok(Ok(())) => SessionEnd::Finished,
        Ok(Err(error)) => SessionEnd::Failed(error.to_string()),
        Err(_) => SessionEnd::Stalled,
    }
}

/// Hands the sampler's word to the core: offline, it records the health and drops the metrics.
pub fn apply_health(station: &mut Station, now: Instant, input: HealthInput) {
    match input {
        HealthInput::Measured(measured) => {
            station.handle_sample(measured.sample);
            station.handle_health(now, measured.health);
        }
        HealthInput::Metrics(data) => station.handle_metrics_due(now, data),
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

/// Sends what is still held, has the writer close the link with 1000 after it, and waits
/// briefly for the CSMS's answer: at most [`CLOSE_GRACE`] in all, whatever the socket does.
async fn close(
    outbox: mpsc::Sender<Message>,
    held: Option<Message>,
    writer: std::pin::Pin<&mut impl Future<Output = SessionEnd>>,
    stream: &mut SplitStream<WsStream>,
) {
    if let Some(message) = held {
        // No room: the link is stuck and nothing more could leave anyway.
        let _ = outbox.try_send(message);
    }
    // The writer writes everything handed over, then the close frame.
    drop(outbox);
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if writer.await == SessionEnd::Finished {
            while let Some(Ok(_)) = stream.next().await {}
        }
    })
    .await;
}
