//! A pseudo-terminal standing in for the charge controller's USB serial adapter: the simulator
//! holds the master side, the station opens the slave device as its serial port.
//!
//! Like a real adapter, the wire only carries data while the host has the port open: the
//! simulator asks [`Pty::host_present`] and drops what it would print meanwhile. The slave is
//! put in raw mode (no echo, no CRLF translation) so the firmware's CRLF lines reach the host as
//! sent.

use std::fs::OpenOptions;
use std::io::{self, Read as _, Write as _};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{PtyMaster, grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::unix::AsyncFd;

/// Registers the master with tokio's reactor.
///
/// `AsyncFd::new` is deprecated because it is unsound for a type whose `as_raw_fd` may change or
/// close its descriptor; its replacement `AsyncFd::register` states that contract as `unsafe`,
/// which this crate forbids. A `PtyMaster` owns its descriptor (an `OwnedFd`) and returns the
/// same one until it is dropped, which is exactly the contract, so the safe form is sound here.
#[allow(
    deprecated,
    reason = "PtyMaster owns its descriptor for its whole life: the condition that makes it sound"
)]
fn register(master: PtyMaster) -> io::Result<AsyncFd<PtyMaster>> {
    AsyncFd::new(master)
}

/// The master side of a pseudo-terminal, registered with tokio.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<PtyMaster>,
    device: PathBuf,
}

impl Pty {
    /// Opens a new pseudo-terminal with its slave in raw mode. Must run inside a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let device = PathBuf::from(ptsname_r(&master)?);
        // The settings stay with the terminal after this descriptor is closed; the host opens
        // the slave on its own later.
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open(&device)?;
        let mut settings = tcgetattr(&slave)?;
        cfmakeraw(&mut settings);
        tcsetattr(&slave, SetArg::TCSANOW, &settings)?;
        drop(slave);
        Ok(Pty {
            master: register(master)?,
            device,
        })
    }

    /// The slave device, e.g. `/dev/pts/7`.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Whether a host has the slave open now: with nobody on it the master reports a hang-up.
    pub fn host_present(&self) -> bool {
        let mut fds = [PollFd::new(
            self.master.get_ref().as_fd(),
            PollFlags::POLLIN,
        )];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(_) => !fds[0]
                .revents()
                .is_some_and(|events| events.contains(PollFlags::POLLHUP)),
            Err(_) => false,
        }
    }

    /// Writes `bytes` for the host; `false` when they did not all fit (the rest is dropped, as
    /// a real adapter drops what the host does not read).
    pub fn write(&self, bytes: &[u8]) -> bool {
        let mut master = self.master.get_ref();
        let mut rest = bytes;
        while !rest.is_empty() {
            match master.write(rest) {
                Ok(0) => return false,
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads what the host sent. `Ok(0)` or an error (EIO) means the host closed the port; do
    /// not call it again until [`Pty::host_present`] says the host is back, since a master
    /// without a host is always "readable".
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|inner| {
                let mut master = inner.get_ref();
                master.read(buf)
            }) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}
