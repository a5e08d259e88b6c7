//! Keeps `status.json` current without ever holding up the station.
//!
//! The daemon publishes a view of the station (built in memory from the core, the link, the
//! charge controller and the latest health sample) after each step; a thread of its own writes
//! it. Writing (mkdir, open, chmod, write, rename) takes longer than everything else between a
//! controller's status line and its StatusNotification, and a slow or failing disk would stall
//! the wire, so it never happens on the protocol loop. The thread also lets a view settle
//! briefly ([`SETTLE`]) before writing it, so that its disk work comes after the step's frames
//! are on the socket rather than competing with them, and a burst of changes is one write. Views
//! published meanwhile, or while a write is under way, coalesce: the newest wins. The file is
//! rewritten when something changed and at least every [`REFRESH`], so that `updated_utc` shows
//! the daemon is alive, and removed when the daemon stops.

#![allow(
    clippy::disallowed_methods,
    reason = "shell: it stamps the file with the wall clock and paces rewrites"
)]

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::clock::{SystemClock, WallClock, format_timestamp};
use crate::deadline;
use crate::esp32::port::{self, SnapshotHandle};
use crate::esp32::view::ControllerView;
use crate::station::Station;
use crate::status_file::{self, ConnectorState, LinkStatus, StationStatus};

/// The longest the file goes without a rewrite while the daemon runs.
pub const REFRESH: Duration = Duration::from_secs(60);

/// How long a view waits before it is written, taking newer ones in its place. Short enough
/// that nobody reading the file notices; long enough that the step that published it has put
/// its frames on the socket.
pub const SETTLE: Duration = Duration::from_millis(50);

/// How long a stopping daemon waits for the file to be removed (after a write under way): a
/// disk that takes longer does not keep the station from stopping.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// Publishes the daemon's status views to the writer thread.
pub struct StatusWriter {
    station_name: String,
    controller: Option<SnapshotHandle>,
    /// Where the next view waits for the writer thread; `None` when the thread could not start.
    handoff: Option<Arc<Handoff>>,
    /// Fires once the thread has removed the file and ended.
    stopped: Option<oneshot::Receiver<()>>,
    /// Where the file goes, for the messages.
    dir: PathBuf,
    /// What was last published, without its timestamp.
    last: Option<StationStatus>,
    last_at: Option<Instant>,
}

impl StatusWriter {
    /// A writer for `dir` (OCPP_RUNTIME_DIR); its thread starts at once. A thread that cannot
    /// start is logged, and the station runs without a status file.
    pub fn new(dir: PathBuf, station_name: String, controller: Option<SnapshotHandle>) -> Self {
        let sink = FileSink { dir: dir.clone() };
        Self::with_sink(dir, station_name, controller, sink)
    }

    fn with_sink(
        dir: PathBuf,
        station_name: String,
        controller: Option<SnapshotHandle>,
        sink: impl Sink,
    ) -> Self {
        let handoff = Arc::new(Handoff::default());
        let (done, stopped) = oneshot::channel();
        let thread_handoff = handoff.clone();
        let place = dir.display().to_string();
        // The thread's log lines carry the station identity like every other.
        let span = tracing::Span::current();
        let started = std::thread::Builder::new()
            .name("status-file".into())
            .spawn(move || {
                let _entered = span.enter();
                write_views(&thread_handoff, sink, &place);
                let _ = done.send(());
            });
        let (handoff, stopped) = match started {
            Ok(_) => (Some(handoff), Some(stopped)),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), "no status file: cannot start its writer: {error}");
                (None, None)
            }
        };
        Self {
            station_name,
            controller,
            handoff,
            stopped,
            dir,
            last: None,
            last_at: None,
        }
    }

    /// Publishes the station's status if anything changed or the file is due for a refresh.
    /// Never waits for the disk and never fails: the writer thread logs a problem once.
    pub fn update(&mut self, station: &Station, link: &LinkStatus) {
        let view = self.view(station, link);
        self.publish(view);
    }

    /// Stops the writer and removes the file: no status file means "not running". A write
    /// under way finishes first; this waits at most `STOP_WAIT` for both.
    pub async fn remove(mut self) {
        let Some(handoff) = self.handoff.take() else {
            // No writer ever ran: only a file left by an earlier run can be there.
            if let Err(error) = status_file::remove(&self.dir) {
                tracing::debug!("could not remove the status file: {error}");
            }
            return;
        };
        handoff.stop();
        if let Some(stopped) = self.stopped.take()
            && tokio::time::timeout(STOP_WAIT, stopped).await.is_err()
        {
            tracing::warn!(dir = %self.dir.display(), "the status file could not be removed in time: the disk is not answering");
        }
    }

    fn publish(&mut self, view: StationStatus) {
        let due = self.last_at.is_none_or(|at| at.elapsed() >= REFRESH);
        if !due && self.last.as_ref() == Some(&view) {
            return;
        }
        self.last_at = Some(Instant::now());
        self.last = Some(view.clone());
        if let Some(handoff) = &self.handoff {
            handoff.offer(view);
        }
    }

    /// The status file's content, but for `updated_utc`, which the writer stamps.
    fn view(&self, station: &Station, link: &LinkStatus) -> StationStatus {
        StationStatus {
            format: status_file::FORMAT,
            pid: std::process::id(),
            station_name: self.station_name.clone(),
            updated_utc: String::new(),
            link: link.clone(),
            registration: station.registration().map(|r| r.to_string()),
            last_heartbeat_utc: station.last_heartbeat_utc().map(format_timestamp),
            missed_heartbeats: station.missed_heartbeats(),
            connectors: station
                .connectors()
                .filter_map(|c| {
                    let status = station.connector_status(c)?;
                    Some(ConnectorState {
                        connector: c,
                        status: status.name().to_owned(),
                        cause: status.fault_cause(),
                    })
                })
                .collect(),
            controller: self.controller.as_ref().and_then(|c| {
                let status = station.controller_status(port::CONNECTOR);
                serde_json::to_value(ControllerView::new(c, status)).ok()
            }),
            health: station.health(),
            metrics: station.latest_sample().cloned(),
        }
    }
}

impl Drop for StatusWriter {
    fn drop(&mut self) {
        // Dropped without `remove` (the daemon ended some other way): the thread still ends.
        if let Some(handoff) = &self.handoff {
            handoff.stop();
        }
    }
}

/// Where the status goes: the file, or in tests a disk that is slow or fails.
trait Sink: Send + 'static {
    /// Replaces the file with `status`.
    fn write(&mut self, status: &StationStatus) -> io::Result<()>;
    /// Removes the file.
    fn remove(&mut self) -> io::Result<()>;
}

/// `status.json` in the runtime directory.
struct FileSink {
    dir: PathBuf,
}

impl Sink for FileSink {
    fn write(&mut self, status: &StationStatus) -> io::Result<()> {
        status_file::write(&self.dir, status)
    }

    fn remove(&mut self) -> io::Result<()> {
        status_file::remove(&self.dir)
    }
}

/// The newest view not yet taken by the writer thread, and whether to stop.
#[derive(Default)]
struct Handoff {
    slot: Mutex<Slot>,
    wake: Condvar,
}

#[derive(Default)]
struct Slot {
    view: Option<StationStatus>,
    stop: bool,
}

/// What the writer thread does next.
enum Next {
    Write(Box<StationStatus>),
    Stop,
}

impl Handoff {
    /// Leaves `view` for the writer, replacing one it has not taken yet.
    fn offer(&self, view: StationStatus) {
        self.lock().view = Some(view);
        self.wake.notify_one();
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_one();
    }

    /// Waits for a view, lets it settle for `settle` (a newer one published meanwhile takes its
    /// place) and returns the newest; or the order to stop, which wins over a view not yet
    /// written.
    fn next(&self, settle: Duration) -> Next {
        let mut slot = self.lock();
        loop {
            while !slot.stop && slot.view.is_none() {
                // A poisoned lock only means another thread panicked mid-edit; the data is
                // usable.
                slot = self.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            let until = deadline::after(Instant::now(), settle);
            loop {
                if slot.stop {
                    return Next::Stop;
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                slot = match self.wake.wait_timeout(slot, left) {
                    Ok((slot, _)) => slot,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            // Only this thread takes views, so the one that started the wait is still there.
            if let Some(view) = slot.view.take() {
                return Next::Write(Box::new(view));
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer thread: writes each view it is handed, stamped with the time of writing, until
/// told to stop; then removes the file. A failure is logged once until a write succeeds again.
fn write_views(handoff: &Handoff, mut sink: impl Sink, place: &str) {
    let mut failure_logged = false;
    while let Next::Write(mut view) = handoff.next(SETTLE) {
        view.updated_utc = format_timestamp(SystemClock.now_utc());
        match sink.write(&view) {
            Ok(()) => failure_logged = false,
            Err(error) if !failure_logged => {
                failure_logged = true;
                tracing::warn!(dir = %place, "cannot write the status file: {error}");
            }
            Err(_) => {}
        }
    }
    if let Err(error) = sink.remove() {
        tracing::debug!(dir = %place, "could not remove the status file: {error}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::status_file::fixtures;

    /// A disk that takes each write only when the test lets it, and says what it was given.
    struct SlowDisk {
        started: mpsc::Sender<u32>,
        go: mpsc::Receiver<()>,
        written: Arc<Mutex<Vec<u32>>>,
        removed: Arc<Mutex<bool>>,
    }

    impl Sink for SlowDisk {
        fn write(&mut self, status: &StationStatus) -> io::Result<()> {
            let _ = self.started.send(status.missed_heartbeats);
            // The test lets the write finish (or has given up and dropped the sender).
            let _ = self.go.recv();
            self.written.lock().unwrap().push(status.missed_heartbeats);
            Ok(())
        }

        fn remove(&mut self) -> io::Result<()> {
            *self.removed.lock().unwrap() = true;
            Ok(())
        }
    }

    /// A view told apart from others by its heartbeat count.
    fn numbered(n: u32) -> StationStatus {
        let mut status = fixtures::offline(1);
        status.missed_heartbeats = n;
        status
    }

    #[tokio::test]
    async fn a_slow_disk_holds_up_nothing_and_the_newest_view_wins() {
        let (started, writes_started) = mpsc::channel();
        let (go, disk_go) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let removed = Arc::new(Mutex::new(false));
        let disk = SlowDisk {
            started,
            go: disk_go,
            written: written.clone(),
            removed: removed.clone(),
        };
        let mut writer = StatusWriter::with_sink(PathBuf::from("/slow"), "ST".into(), None, disk);
        writer.publish(numbered(1));
        assert_eq!(
            writes_started.recv().unwrap(),
            1,
            "the first view is being written"
        );
        // The disk is stuck on the first write: publishing does not wait for it.
        for n in 2..=4 {
            writer.publish(numbered(n));
        }
        go.send(()).unwrap();
        assert_eq!(
            writes_started.recv().unwrap(),
            4,
            "the views published meanwhile coalesce into the newest"
        );
        go.send(()).unwrap();
        writer.remove().await;
        assert_eq!(*written.lock().unwrap(), [1, 4]);
        assert!(*removed.lock().unwrap(), "the file is removed on stop");
    }

    #[tokio::test]
    async fn an_unchanged_view_is_not_written_again_before_the_refresh() {
        let (started, writes_started) = mpsc::channel();
        let (go, disk_go) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let disk = SlowDisk {
            started,
            go: disk_go,
            written: written.clone(),
            removed: Arc::new(Mutex::new(false)),
        };
        let mut writer = StatusWriter::with_sink(PathBuf::from("/x"), "ST".into(), None, disk);
        writer.publish(numbered(1));
        assert_eq!(writes_started.recv().unwrap(), 1);
        // While the disk holds the first write, nothing new waits for the writer.
        writer.publish(numbered(1));
        let waiting = |writer: &StatusWriter| {
            let handoff = writer.handoff.as_ref().unwrap();
            handoff.lock().view.as_ref().map(|v| v.missed_heartbeats)
        };
        assert_eq!(
            waiting(&writer),
            None,
            "the same view is not handed over again"
        );
        writer.publish(numbered(2));
        assert_eq!(waiting(&writer), Some(2));
        go.send(()).unwrap();
        assert_eq!(writes_started.recv().unwrap(), 2);
        go.send(()).unwrap();
        writer.remove().await;
        assert_eq!(*written.lock().unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn a_directory_that_cannot_be_created_is_survived_and_nothing_is_left() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        // A directory below a regular file cannot exist: every write fails.
        let dir = file.join("runtime");
        let mut writer = StatusWriter::new(dir.clone(), "ST".into(), None);
        for n in 0..3 {
            writer.publish(numbered(n));
        }
        writer.remove().await;
        assert!(!dir.exists());
    }

    #[tokio::test]
    async fn the_file_is_written_and_removed_on_stop() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("run");
        let mut writer = StatusWriter::new(dir.clone(), "ST".into(), None);
        writer.publish(numbered(7));
        let written = loop {
            // The thread writes in its own time; the test waits for the file, not a duration.
            if let Ok(status) = status_file::read(&dir) {
                break status;
            }
            tokio::task::yield_now().await;
            std::thread::yield_now();
        };
        assert_eq!(written.missed_heartbeats, 7);
        assert!(!written.updated_utc.is_empty(), "stamped when written");
        writer.remove().await;
        assert!(status_file::read(&dir).is_err());
    }
}
