//! Finding the controller's serial device: a configured path (often a `/dev/serial/by-id/`
//! link, resolved again on every open because USB adapters re-enumerate) or `auto`.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::PortSpec;

/// Name fragments of the USB-serial adapters the controller boards ship with.
const KNOWN_ADAPTERS: &[&str] = &[
    "cp210",
    "ch340",
    "ch341",
    "1a86",
    "ftdi",
    "ft232",
    "silicon_labs",
];

/// Where the port is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path to open (the link itself, so the kernel follows it at open time).
    pub open_path: PathBuf,
    /// The device it points at, for logs and reports (`/dev/ttyUSB1`, `/dev/pts/3`).
    pub device: PathBuf,
}

/// Why no device could be found.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The configured path does not exist (adapter unplugged, or a wrong name).
    #[error("{path} does not exist (is the USB adapter plugged in? ls -l /dev/serial/by-id/)")]
    Missing {
        /// The configured path.
        path: PathBuf,
    },
    /// `auto` found no known adapter.
    #[error("no CP210x/CH340/FTDI adapter in {dir}")]
    NoAdapter {
        /// The directory searched.
        dir: PathBuf,
    },
    /// The directory or link could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Resolves `spec` to a device, looking in `by_id_dir` for `auto`.
pub fn resolve(spec: &PortSpec, by_id_dir: &Path) -> Result<Resolved, DiscoverError> {
    let path = match spec {
        PortSpec::Path(path) => path.clone(),
        PortSpec::Auto => find_adapter(by_id_dir)?,
    };
    match std::fs::canonicalize(&path) {
        Ok(device) => Ok(Resolved {
            open_path: path,
            device,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DiscoverError::Missing { path }),
        Err(source) => Err(DiscoverError::Io { path, source }),
    }
}

fn find_adapter(dir: &Path) -> Result<PathBuf, DiscoverError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // No by-id directory at all: no USB serial adapter is plugged in.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(DiscoverError::NoAdapter {
                dir: dir.to_owned(),
            });
        }
        Err(source) => {
            return Err(DiscoverError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            KNOWN_ADAPTERS.iter().any(|k| name.contains(k))
        })
        .collect();
    // Sorted, so that the same adapter wins on every start.
    candidates.sort();
    candidates
        .into_iter()
        .next()
        .ok_or_else(|| DiscoverError::NoAdapter {
            dir: dir.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_link_is_opened_as_the_link_and_reported_as_its_device() {
        let dir = tempfile::tempdir().unwrap();
        let device = dir.path().join("ttyUSB1");
        std::fs::write(&device, b"").unwrap();
        let link = dir
            .path()
            .join("usb-Silicon_Labs_CP2102_USB_to_UART-if00-port0");
        std::os::unix::fs::symlink(&device, &link).unwrap();
        let r = resolve(&PortSpec::Path(link.clone()), dir.path()).unwrap();
        assert_eq!(r.open_path, link);
        assert_eq!(r.device, std::fs::canonicalize(&device).unwrap());
    }

    #[test]
    fn auto_picks_a_known_adapter_and_ignores_others() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "usb-Some_Modem-if00",
            "usb-1a86_USB_Serial-if00-port0",
            "usb-FTDI_FT232R-if00-port0",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let r = resolve(&PortSpec::Auto, dir.path()).unwrap();
        assert!(r.open_path.ends_with("usb-1a86_USB_Serial-if00-port0"));
    }

    #[test]
    fn nothing_to_find_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            resolve(&PortSpec::Auto, dir.path()),
            Err(DiscoverError::NoAdapter { .. })
        ));
        assert!(matches!(
            resolve(&PortSpec::Auto, &dir.path().join("absent")),
            Err(DiscoverError::NoAdapter { .. })
        ));
        let missing = dir.path().join("ttyUSB9");
        let err = resolve(&PortSpec::Path(missing), dir.path()).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
