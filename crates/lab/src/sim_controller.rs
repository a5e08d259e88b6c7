//! The simulated ESP32 charge controller: the [`Firmware`] model on a pseudo-terminal, walking
//! a scripted session.
//!
//! It speaks the controller's serial protocol on the pty's slave device (optionally reached
//! through a symlink, as `/dev/serial/by-id/` names are): a STAT line every `period` and after
//! every read-status, and the firmware's answers to the host's commands. Like the real
//! controller it prints nothing extra on a state change: the host learns of it from the next
//! periodic STAT or by asking. What it prints while no host has the port open is lost, as with
//! a real USB adapter.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::firmware::{CommandDecoder, Decoded, Firmware, HostCommand, LINE_END};
use super::pty::Pty;
use super::script::{Output, Step};
use ocpp_station::esp32::frame::ChargerState;

/// How often the simulator looks for the host while nobody has the port open.
const HOST_POLL: Duration = Duration::from_millis(50);

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// Time between two unsolicited STAT lines (7.5 s on the real controller).
    pub period: Duration,
    /// A symlink to create for the slave device (removed again when the simulator stops).
    pub link: Option<PathBuf>,
    /// The session to walk once [`SimController::begin_session`] is called.
    pub steps: Vec<Step>,
}

/// What the simulator did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// The host opened the port.
    HostOpened,
    /// The host closed the port.
    HostClosed,
    /// The host sent a command; `state` is the state after it.
    Command {
        /// The command.
        command: HostCommand,
        /// The charger state afterwards.
        state: ChargerState,
    },
    /// A step of the session began.
    Step {
        /// Its number, from 1.
        number: usize,
        /// How many steps there are.
        of: usize,
        /// What happens.
        what: &'static str,
        /// The charger state it led to.
        state: ChargerState,
    },
    /// The last step's hold is over.
    Finished,
}

/// A running simulated controller. Dropping it stops it and removes its symlink; the host then
/// sees the port hang up, as when an adapter is unplugged.
#[derive(Debug)]
pub struct SimController {
    device: PathBuf,
    link: Option<PathBuf>,
    begin: mpsc::Sender<()>,
    events: mpsc::UnboundedReceiver<SimEvent>,
    task: JoinHandle<()>,
}

impl SimController {
    /// Opens the pty, creates the symlink and starts the firmware. Must run inside a tokio
    /// runtime.
    pub fn start(settings: SimSettings) -> io::Result<Self> {
        let pty = Pty::open()?;
        let device = pty.device().to_path_buf();
        if let Some(link) = &settings.link {
            point_link(link, &device)?;
        }
        let (begin, begin_rx) = mpsc::channel(1);
        let (events_tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(pty, settings.clone(), begin_rx, events_tx));
        Ok(SimController {
            device,
            link: settings.link,
            begin,
            events,
            task,
        })
    }

    /// The path the host should open: the symlink when there is one, else the device.
    pub fn port(&self) -> &Path {
        self.link.as_deref().unwrap_or(&self.device)
    }

    /// The pty's slave device.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Starts the scripted session (once; later calls do nothing).
    pub fn begin_session(&self) {
        let _ = self.begin.try_send(());
    }

    /// The next thing the simulator did; `None` once it has stopped.
    pub async fn next_event(&mut self) -> Option<SimEvent> {
        self.events.recv().await
    }
}

impl Drop for SimController {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(link) = &self.link {
            // Only our own link: the name may have been taken over meanwhile.
            if std::fs::read_link(link).is_ok_and(|target| target == self.device) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

/// Makes `link` a symlink to `device`, replacing an older symlink (never a regular file).
fn point_link(link: &Path, device: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::remove_file(link)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a symlink", link.display()),
            ));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(device, link)
}

/// The firmware's main loop.
async fn run(
    pty: Pty,
    settings: SimSettings,
    mut begin: mpsc::Receiver<()>,
    events: mpsc::UnboundedSender<SimEvent>,
) {
    let mut firmware = Firmware::new();
    let mut decoder = CommandDecoder::new();
    let mut host_open = false;
    let mut stat_timer = interval(settings.period.max(Duration::from_millis(10)));
    stat_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut host_poll = interval(HOST_POLL);
    let mut started = false;
    let steps = settings.steps;
    let mut next_step = 0usize;
    let mut step_due: Option<Instant> = None;
    let mut buf = [0u8; 256];
    let say = |event: SimEvent| {
        let _ = events.send(event);
    };

    loop {
        tokio::select! {
            _ = stat_timer.tick() => {
                print(&pty, host_open, &Output::Line(firmware.stat_line()));
            }
            _ = host_poll.tick(), if !host_open => {
                if pty.host_present() {
                    host_open = true;
                    say(SimEvent::HostOpened);
                }
            }
            read = pty.read(&mut buf), if host_open => match read {
                Ok(n) if n > 0 => {
                    for item in decoder.push(buf.get(..n).unwrap_or_default()) {
                        let Decoded::Command(command) = item else { continue };
                        for line in firmware.on_command(command) {
                            print(&pty, host_open, &Output::Line(line));
                        }
                        say(SimEvent::Command { command, state: firmware.state() });
                    }
                }
                _ => {
                    host_open = false;
                    decoder = CommandDecoder::new();
                    say(SimEvent::HostClosed);
                }
            },
            request = begin.recv(), if !started => {
                started = true;
                if request.is_some() {
                    step_due = Some(Instant::now());
                }
            }
            _ = sleep_until(step_due.unwrap_or_else(Instant::now)), if step_due.is_some() => {
                match steps.get(next_step) {
                    Some(step) => {
                        for output in step.action.apply(&mut firmware) {
                            print(&pty, host_open, &output);
                        }
                        next_step = next_step.saturating_add(1);
                        say(SimEvent::Step {
                            number: next_step,
                            of: steps.len(),
                            what: step.what,
                            state: firmware.state(),
                        });
                        step_due = Some(Instant::from(ocpp_station::deadline::after(
                            Instant::now().into_std(),
                            step.hold,
                        )));
                    }
                    None => {
                        step_due = None;
                        say(SimEvent::Finished);
                    }
                }
            }
        }
    }
}

/// Prints for the host; lost when nobody has the port open.
fn print(pty: &Pty, host_open: bool, output: &Output) {
    if !host_open {
        return;
    }
    let _ = match output {
        Output::Line(line) => pty.write(format!("{line}{LINE_END}").as_bytes()),
        Output::Unterminated(text) => pty.write(text.as_bytes()),
    };
}
