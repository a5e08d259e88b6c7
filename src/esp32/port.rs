//! The serial port task: owns the ESP32's port, feeds the pure parser, status tracker and
//! command queue, and sends connector statuses to the station, whose core holds them. The task
//! keeps only what is the controller's own: whether it is talking and the state it last sent.
//!
//! On EIO, hang-up or unplug the port is closed and looked for again with a back-off (a
//! `/dev/serial/by-id/` link or `auto` follows the adapter to its new device name). Two
//! processes on one port corrupt each other's frames, so the port is locked exclusively and a
//! busy port is reported as such (the serial layer opens with TIOCEXCL and an exclusive flock).

#![allow(
    clippy::disallowed_methods,
    reason = "the port task is shell: it owns the clock for the pure tracker and queue"
)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_serial::{DataBits, FlowControl, Parity, SerialPortBuilderExt, SerialStream, StopBits};

use super::command::{Command, CommandError, CommandOutcome, CommandQueue};
use super::discover::{self, Resolved};
use super::frame::{Line, LineSplitter, NoticeLevel, parse_line};
use super::state::{self, StatusTracker};
use crate::config::{ControllerConfig, PortSpec};
use crate::deadline;
use crate::ocpp::ConnectorStatus;
use crate::status_source::{ConnectorUpdate, StatusSource};

/// The firmware sends a status frame this often on its own.
pub const STAT_PERIOD: Duration = Duration::from_millis(7500);

/// Ask for a status when the last one is older than a period plus this margin.
const READ_STATUS_MARGIN: Duration = Duration::from_secs(1);

/// CHARGING must hold this long after PAUSED before a resume is reported (the EV flickers).
pub const RESUME_DEBOUNCE: Duration = Duration::from_secs(8);

/// Reopen back-off: first wait, and the ceiling it doubles up to.
const REOPEN_FIRST: Duration = Duration::from_secs(1);
const REOPEN_MAX: Duration = Duration::from_secs(30);

/// The controller drives one connector.
pub const CONNECTOR: u32 = 1;

/// What the controller itself says right now, for the status file and `--once`. Its
/// connector's status is not here: the station core holds it ([`super::view`] puts the two
/// together).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ControllerSnapshot {
    /// The configured port (`auto` or a path).
    pub port: String,
    /// The device it resolved to when last opened.
    pub device: Option<String>,
    /// The controller is talking: the port is open and its last valid status frame is recent.
    pub link_up: bool,
    /// The last valid STATE.
    pub state: Option<u8>,
    /// Its firmware name (`CHARGING`).
    pub state_name: Option<String>,
}

/// A shared view of the snapshot. The lock is never held across an await.
pub type SnapshotHandle = Arc<Mutex<ControllerSnapshot>>;

/// A command for the controller and where its outcome goes.
#[derive(Debug)]
pub struct CommandRequest {
    /// The command.
    pub command: Command,
    /// Receives how it ended.
    pub reply: oneshot::Sender<Result<CommandOutcome, CommandError>>,
}

/// Sends commands to the controller while its task runs.
#[derive(Debug, Clone)]
pub struct ControllerHandle {
    commands: mpsc::Sender<CommandRequest>,
}

impl ControllerHandle {
    /// Sends `command` and waits for its outcome. Refused at once when the firmware would not
    /// handle it safely in the current state or the link is down.
    pub async fn send(&self, command: Command) -> Result<CommandOutcome, CommandError> {
        let (reply, outcome) = oneshot::channel();
        self.commands
            .send(CommandRequest { command, reply })
            .await
            .map_err(|_| CommandError::LinkDown)?;
        outcome.await.unwrap_or(Err(CommandError::LinkDown))
    }
}

/// The ESP32 as a [`StatusSource`].
pub struct ControllerSource {
    config: ControllerConfig,
    snapshot: SnapshotHandle,
    commands: mpsc::Receiver<CommandRequest>,
    handle: ControllerHandle,
}

impl ControllerSource {
    /// A source for the controller at `config.port`; nothing happens until `start`.
    pub fn new(config: ControllerConfig) -> Self {
        let snapshot = ControllerSnapshot {
            port: match &config.port {
                PortSpec::Auto => "auto".into(),
                PortSpec::Path(p) => p.display().to_string(),
            },
            ..Default::default()
        };
        let (sender, commands) = mpsc::channel(8);
        Self {
            config,
            snapshot: Arc::new(Mutex::new(snapshot)),
            commands,
            handle: ControllerHandle { commands: sender },
        }
    }

    /// The live snapshot.
    pub fn snapshot(&self) -> SnapshotHandle {
        self.snapshot.clone()
    }

    /// A handle for sending commands.
    pub fn handle(&self) -> ControllerHandle {
        self.handle.clone()
    }
}

impl StatusSource for ControllerSource {
    fn initial_status(&self) -> ConnectorStatus {
        // Until the controller has said anything, nothing vouches for the connector.
        ConnectorStatus::Unavailable
    }

    fn start(self: Box<Self>) -> mpsc::Receiver<ConnectorUpdate> {
        let (updates, receiver) = mpsc::channel(16);
        let task = PortTask {
            tracker: StatusTracker::new(Instant::now(), self.config.stale_after, RESUME_DEBOUNCE),
            config: self.config,
            snapshot: self.snapshot,
            commands: self.commands,
            queue: CommandQueue::new(),
            waiters: VecDeque::new(),
            updates,
            commands_open: true,
        };
        tokio::spawn(task.run());
        receiver
    }
}

struct PortTask {
    config: ControllerConfig,
    tracker: StatusTracker,
    snapshot: SnapshotHandle,
    commands: mpsc::Receiver<CommandRequest>,
    queue: CommandQueue,
    /// Callers waiting for a command's outcome, in submission order.
    waiters: VecDeque<(
        Command,
        oneshot::Sender<Result<CommandOutcome, CommandError>>,
    )>,
    updates: mpsc::Sender<ConnectorUpdate>,
    /// Some [`ControllerHandle`] may still send commands.
    commands_open: bool,
}

/// An open port and what it resolved to.
struct OpenPort {
    stream: SerialStream,
    resolved: Resolved,
}

impl PortTask {
    async fn run(mut self) {
        let mut wait = REOPEN_FIRST;
        let mut last_error = String::new();
        loop {
            match self.open() {
                Ok(port) => {
                    wait = REOPEN_FIRST;
                    last_error.clear();
                    tracing::info!(port = %port.resolved.open_path.display(), device = %port.resolved.device.display(), "charge controller port open");
                    self.edit_snapshot(|s| {
                        s.device = Some(port.resolved.device.display().to_string());
                    });
                    let why = self.run_link(port).await;
                    if self.updates.is_closed() {
                        return;
                    }
                    tracing::warn!("charge controller link lost: {why}");
                }
                Err(error) => {
                    // The same failure every few seconds is one warning, then debug lines.
                    if error != last_error {
                        tracing::warn!("charge controller port unavailable: {error}");
                        last_error = error;
                    } else {
                        tracing::debug!("charge controller port still unavailable: {error}");
                    }
                }
            }
            self.link_down().await;
            if !self.pause(wait).await {
                return;
            }
            wait = wait.saturating_mul(2).min(REOPEN_MAX);
        }
    }

    fn open(&self) -> Result<OpenPort, String> {
        let resolved = discover::resolve(&self.config.port, &self.config.by_id_dir)
            .map_err(|e| e.to_string())?;
        let path = resolved.open_path.to_string_lossy().into_owned();
        let stream = tokio_serial::new(&path, self.config.baud_rate)
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .open_native_async()
            .map_err(|e| {
                // The serial layer opens exclusively (TIOCEXCL plus an advisory flock, which
                // also stops root): either refusal means another process holds the port.
                let text = e.description.to_ascii_lowercase();
                if matches!(
                    e.kind,
                    tokio_serial::ErrorKind::Io(std::io::ErrorKind::ResourceBusy)
                ) || text.contains("busy")
                    || text.contains("exclusive lock")
                {
                    busy(&path)
                } else {
                    format!("cannot open {path}: {}", e.description)
                }
            })?;
        Ok(OpenPort { stream, resolved })
    }

    /// Runs one open link until it fails; returns why.
    async fn run_link(&mut self, port: OpenPort) -> String {
        let OpenPort { stream, .. } = port;
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut splitter = LineSplitter::default();
        let mut buf = [0u8; 512];
        let mut last_status = Instant::now();
        let _ = self.queue.submit(Command::ReadStatus, self.state(), true);

        loop {
            let now = Instant::now();
            while let Some(bytes) = self.queue.poll_transmit(now) {
                if let Err(e) = writer.write_all(&bytes).await {
                    return format!("write failed: {e}");
                }
            }
            while let Some(outcome) = self.queue.poll_outcome() {
                self.settle(outcome);
            }
            let read_status_at =
                deadline::after(last_status, STAT_PERIOD.saturating_add(READ_STATUS_MARGIN));
            let wake = [
                self.tracker.poll_timeout(),
                self.queue.poll_timeout(),
                Some(read_status_at),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(read_status_at);
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) => return "the port closed (adapter unplugged?)".into(),
                    Err(e) => return format!("read failed: {e}"),
                    Ok(n) => {
                        let lines = splitter.push(buf.get(..n).unwrap_or_default());
                        for line in lines {
                            if self.handle_line(&line).await {
                                last_status = Instant::now();
                            }
                        }
                    }
                },
                request = self.commands.recv(), if self.commands_open => {
                    match request {
                        Some(request) => self.submit(request, true),
                        // Nobody can send commands any more: stop polling a closed channel,
                        // which would answer at once, forever.
                        None => self.commands_open = false,
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if let Some(status) = self.tracker.handle_timeout(now) {
                        self.report(status).await;
                    }
                    for outcome in self.queue.handle_timeout(now) {
                        self.settle(outcome);
                    }
                    if now >= read_status_at {
                        // Quiet for longer than the firmware's own period: ask.
                        let _ = self.queue.submit(Command::ReadStatus, self.state(), true);
                        last_status = now;
                    }
                }
                _ = self.updates.closed() => return "the station is stopping".into(),
            }
        }
    }

    /// Handles one line; true when it was a valid status frame.
    async fn handle_line(&mut self, line: &str) -> bool {
        let now = Instant::now();
        match parse_line(line) {
            Line::Status(frame) => {
                if let Some(outcome) = self.queue.handle_status(now, &frame) {
                    self.settle(outcome);
                }
                let changed = self.tracker.handle_frame(now, &frame);
                self.edit_snapshot(|s| {
                    s.link_up = true;
                    s.state = Some(frame.state.code());
                    s.state_name = Some(frame.state.name().to_owned());
                });
                if let Some(status) = changed {
                    self.report(status).await;
                }
                true
            }
            Line::Ack(ack) => {
                if let Some(outcome) = self.queue.handle_ack(now, &ack) {
                    self.settle(outcome);
                }
                false
            }
            Line::Notice { level, text } => {
                match level {
                    NoticeLevel::Info | NoticeLevel::Warn => {
                        tracing::info!(line = %crate::redact::printable(&text, 120), "charge controller notice")
                    }
                    NoticeLevel::Error => {
                        tracing::debug!(line = %crate::redact::printable(&text, 120), "charge controller error line")
                    }
                }
                false
            }
            Line::Ignored(text) => {
                tracing::debug!(line = %crate::redact::printable(&text, 120), "ignored controller line");
                false
            }
        }
    }

    /// The port is gone: drop every command (never replayed) and report the link lost.
    async fn link_down(&mut self) {
        for outcome in self.queue.handle_link_down() {
            self.settle(outcome);
        }
        if let Some(status) = self.tracker.handle_link_lost(Instant::now()) {
            self.report(status).await;
        }
    }

    /// Waits before the next open, refusing commands meanwhile; false when the station stopped.
    async fn pause(&mut self, wait: Duration) -> bool {
        let until: tokio::time::Instant = deadline::after(Instant::now(), wait).into();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                request = self.commands.recv(), if self.commands_open => {
                    match request {
                        Some(request) => self.submit(request, false),
                        None => self.commands_open = false,
                    }
                }
                _ = self.updates.closed() => return false,
            }
        }
    }

    fn submit(&mut self, request: CommandRequest, link_up: bool) {
        match self.queue.submit(request.command, self.state(), link_up) {
            Ok(()) => self.waiters.push_back((request.command, request.reply)),
            Err(error) => {
                let _ = request.reply.send(Err(error));
            }
        }
    }

    fn settle(&mut self, outcome: CommandOutcome) {
        let command = match &outcome {
            CommandOutcome::Done(c)
            | CommandOutcome::Refused(c)
            | CommandOutcome::TimedOut(c)
            | CommandOutcome::Dropped(c) => *c,
        };
        tracing::debug!(?outcome, "controller command finished");
        if let Some(i) = self.waiters.iter().position(|(c, _)| *c == command)
            && let Some((_, reply)) = self.waiters.remove(i)
        {
            let _ = reply.send(Ok(outcome));
        }
    }

    fn state(&self) -> Option<super::frame::ChargerState> {
        self.tracker.last_frame().map(|f| f.state)
    }

    async fn report(&mut self, status: ConnectorStatus) {
        tracing::info!(
            connector = CONNECTOR,
            ?status,
            "connector status from the charge controller"
        );
        if status == state::link_lost() {
            self.edit_snapshot(|s| {
                s.link_up = false;
                s.state = None;
                s.state_name = None;
            });
        }
        let _ = self
            .updates
            .send(ConnectorUpdate {
                connector: CONNECTOR,
                status,
            })
            .await;
    }

    fn edit_snapshot(&self, edit: impl FnOnce(&mut ControllerSnapshot)) {
        // A poisoned lock only means another thread panicked mid-edit; the data is still usable.
        let mut guard = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        edit(&mut guard);
    }
}

fn busy(path: &str) -> String {
    format!(
        "{path} is busy: another process has it open (a second ocpp-station, the old station \
         software, ModemManager or a serial console?)"
    )
}
