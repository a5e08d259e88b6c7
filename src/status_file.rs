//! The station's own status for people on the Pi and for local programs: `status.json` in the
//! runtime directory (`OCPP_RUNTIME_DIR`, normally `/run/ocpp-station`), rewritten atomically
//! while the station runs and read by `ocpp-station status`.
//!
//! The file is readable by everyone (mode 0644), so nothing secret ever goes into it: the
//! endpoint is written without `user:pass@` and without its query string (some CSMSs take a
//! token there). Its shape is `schemas/station-status.schema.json`.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bounded_file::{self, FileError};
use crate::metrics::{Health, Sample};
use crate::persist::{self, FileKind};
use crate::redact;

/// The status file's name in the runtime directory.
pub const FILE_NAME: &str = "status.json";
/// The one format this version writes and reads.
pub const FORMAT: u32 = 1;
/// A status file is a few kilobytes; anything beyond this is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The longest reason shown for an unusable file.
const MAX_REASON_CHARS: usize = 300;

/// The state of the link to the CSMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Connected, WebSocket open.
    Online,
    /// Not connected and waiting to dial again.
    Offline,
    /// Dialling: TCP, TLS or the WebSocket upgrade in progress.
    Connecting,
}

/// The link to the CSMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// Online, offline or connecting.
    pub state: LinkState,
    /// The OCPP version agreed (`2.0.1`, `1.6`) while online or connecting, else the last one.
    pub ocpp_version: Option<String>,
    /// The URL dialled, identity included; credentials and query string are removed on write.
    pub endpoint: Option<String>,
    /// When `state` began (RFC 3339 UTC, e.g. `2026-11-22T08:00:00.042Z`).
    pub since_utc: Option<String>,
}

/// One connector as the station reports it to the CSMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// The connector number (1-based).
    pub connector: u32,
    /// Its OCPP status (`Available`, `Charging`, `Faulted`, ...).
    pub status: String,
    /// Why it is in that status, when there is a reason worth showing (a fault's cause).
    pub cause: Option<String>,
}

/// Everything `status.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationStatus {
    /// The file format, [`FORMAT`].
    pub format: u32,
    /// The process that writes the file; a reader checks that it still runs.
    pub pid: u32,
    /// The station identity (`OCPP_STATION_NAME`).
    pub station_name: String,
    /// When the file was written (RFC 3339 UTC).
    pub updated_utc: String,
    /// The link to the CSMS.
    pub link: LinkStatus,
    /// The answer to the last BootNotification: `Accepted`, `Pending` or `Rejected`; `None`
    /// before the first answer.
    pub registration: Option<String>,
    /// When the CSMS last answered a Heartbeat (RFC 3339 UTC).
    pub last_heartbeat_utc: Option<String>,
    /// Heartbeats in a row that went unanswered.
    pub missed_heartbeats: u32,
    /// Every connector, in order.
    pub connectors: Vec<ConnectorState>,
    /// The charge controller's snapshot (`esp32::port::ControllerSnapshot` as JSON); `None`
    /// without a controller.
    pub controller: Option<Value>,
    /// The health flags.
    pub health: Health,
    /// The last measurement of the machine; `None` before the first one.
    pub metrics: Option<Sample>,
}

/// Why the status file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusFileError {
    /// There is no status file: the station is not running (or runs with another
    /// `OCPP_RUNTIME_DIR`).
    #[error(
        "ocpp-station is not running: there is no status file {} (the station writes it while \
         it runs; if it runs with another OCPP_RUNTIME_DIR, use the same setting here)",
        .path.display()
    )]
    NotRunning {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file exists but cannot be read (permissions, a directory or FIFO in its place, ...).
    #[error("cannot read the status file {}: {source}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: FileError,
    },
    /// The file was read but is not a status file this version understands.
    #[error("the status file {} is not usable: {why}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

/// Writes `status` to `dir/status.json` atomically (readers see the old file or the new one),
/// creating `dir` (mode 0755) when missing. The file gets mode 0644. The endpoint is written
/// without credentials or query string whatever the caller put there.
pub fn write(dir: &Path, status: &StationStatus) -> io::Result<()> {
    let mut text = serde_json::to_vec_pretty(&for_everyone(status)).map_err(io::Error::other)?;
    text.push(b'\n');
    persist::write_atomically(dir, FILE_NAME, &text, FileKind::PublicVolatile)
}

/// Removes `dir/status.json`, so that `ocpp-station status` says "not running" after a clean
/// stop even if another process later gets the same pid. A missing file is not an error.
pub fn remove(dir: &Path) -> io::Result<()> {
    match std::fs::remove_file(dir.join(FILE_NAME)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads `dir/status.json`.
pub fn read(dir: &Path) -> Result<StationStatus, StatusFileError> {
    read_with_json(dir).map(|(status, _)| status)
}

/// Reads `dir/status.json` and also returns its JSON as it is, including any field a newer
/// version added that [`StationStatus`] does not know.
pub fn read_with_json(dir: &Path) -> Result<(StationStatus, Value), StatusFileError> {
    let path = dir.join(FILE_NAME);
    let bytes = match bounded_file::read(&path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Err(StatusFileError::NotRunning { path }),
        Err(source) => return Err(StatusFileError::Unreadable { path, source }),
    };
    parse(&path, &bytes)
}

/// The status in `bytes`, the content of the status file at `path`, with its JSON as it is.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(StationStatus, Value), StatusFileError> {
    // serde's messages quote what they found (an unknown variant, a bad string), which may hold
    // terminal control sequences: the reason is made printable here, once for every reader.
    let corrupt = |why: String| StatusFileError::Corrupt {
        path: path.to_path_buf(),
        why: redact::printable(&why, MAX_REASON_CHARS),
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    match value.get("format").and_then(Value::as_u64) {
        Some(n) if n == u64::from(FORMAT) => {}
        Some(n) => {
            return Err(corrupt(format!(
                "it has format {n} and this ocpp-station reads format {FORMAT} (the running \
                 station is another version)"
            )));
        }
        None => return Err(corrupt("it has no format number".to_owned())),
    }
    let status = StationStatus::deserialize(&value).map_err(|e| corrupt(e.to_string()))?;
    Ok((status, value))
}

/// `status` as it may be shown to every user of the machine.
fn for_everyone(status: &StationStatus) -> StationStatus {
    let mut status = status.clone();
    status.link.endpoint = status.link.endpoint.as_deref().map(public_endpoint);
    status
}

fn public_endpoint(url: &str) -> String {
    let url = redact::url(url);
    match url.split_once(['?', '#']) {
        Some((base, _)) => base.to_owned(),
        None => url,
    }
}

/// Example statuses shared by the unit tests of this module and of `status_cmd`.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::metrics::{DiskUse, Throttled};

    /// An online 2.0.1 station with two connectors, a controller and a full sample.
    pub(crate) fn online(pid: u32) -> StationStatus {
        StationStatus {
            format: FORMAT,
            pid,
            station_name: "ORGE_AC_001".into(),
            updated_utc: "2026-03-01T12:00:00.000Z".into(),
            link: LinkStatus {
                state: LinkState::Online,
                ocpp_version: Some("2.0.1".into()),
                endpoint: Some("wss://csms.example.com/ocpp/ORGE_AC_001".into()),
                since_utc: Some("2026-03-01T09:59:30.000Z".into()),
            },
            registration: Some("Accepted".into()),
            last_heartbeat_utc: Some("2026-03-01T11:58:00.000Z".into()),
            missed_heartbeats: 0,
            connectors: vec![
                ConnectorState {
                    connector: 1,
                    status: "Charging".into(),
                    cause: None,
                },
                ConnectorState {
                    connector: 2,
                    status: "Faulted".into(),
                    cause: Some("charge controller link lost".into()),
                },
            ],
            controller: Some(serde_json::json!({
                "port": "/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0",
                "device": "/dev/ttyUSB0",
                "link_up": true,
                "state": 5,
                "state_name": "CHARGING",
                "fault": null
            })),
            health: Health::default(),
            metrics: Some(Sample {
                cpu_percent: 7.5,
                load_average: [0.42, 0.3, 0.25],
                memory_used_bytes: 412 << 20,
                memory_total_bytes: 3796 << 20,
                soc_temp_c: Some(52.5),
                disk_root: DiskUse::from_space(29 << 30, 17 << 30),
                disk_state: DiskUse::from_space(29 << 30, 17 << 30),
                uptime_seconds: 93_784,
                throttled: Some(Throttled::from_raw(0x50000)),
                process_rss_bytes: Some(9 << 20),
            }),
        }
    }

    /// A station that has never reached its CSMS: no controller, no sample yet.
    pub(crate) fn offline(pid: u32) -> StationStatus {
        StationStatus {
            format: FORMAT,
            pid,
            station_name: "ORGE_AC_002".into(),
            updated_utc: "2026-03-01T12:00:00.000Z".into(),
            link: LinkStatus {
                state: LinkState::Offline,
                ocpp_version: None,
                endpoint: None,
                since_utc: None,
            },
            registration: None,
            last_heartbeat_utc: None,
            missed_heartbeats: 0,
            connectors: vec![ConnectorState {
                connector: 1,
                status: "Unavailable".into(),
                cause: None,
            }],
            controller: None,
            health: Health::default(),
            metrics: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::fixtures::{offline, online};
    use super::*;
    use std::fs;

    #[test]
    fn round_trip_creates_the_directory_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run").join("ocpp-station");
        for status in [online(42), offline(43)] {
            write(&runtime, &status).unwrap();
            assert_eq!(read(&runtime).unwrap(), status);
        }
        let names: Vec<_> = fs::read_dir(&runtime)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["status.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn everyone_may_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("ocpp-station");
        write(&runtime, &online(1)).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&runtime.join(FILE_NAME)), 0o644);
        assert_eq!(mode(&runtime), 0o755);
        // A leftover temp file with other permissions does not carry them over.
        let temp = runtime.join(format!("{FILE_NAME}.tmp"));
        fs::write(&temp, "half").unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o600)).unwrap();
        write(&runtime, &offline(1)).unwrap();
        assert_eq!(mode(&runtime.join(FILE_NAME)), 0o644);
        assert!(!temp.exists());
    }

    #[test]
    fn the_json_has_every_key_and_lowercase_link_states() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &offline(7)).unwrap();
        let value: Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join(FILE_NAME)).unwrap()).unwrap();
        assert_eq!(value["format"], 1);
        assert_eq!(value["link"]["state"], "offline");
        // Absent station values are null, so a reader finds every key in every file.
        for key in [
            "registration",
            "last_heartbeat_utc",
            "controller",
            "metrics",
        ] {
            assert_eq!(value.get(key), Some(&Value::Null), "{key}");
        }
        assert_eq!(
            value["health"],
            serde_json::json!({"too_hot": false, "under_voltage": false, "disk_nearly_full": false})
        );
        for (state, text) in [
            (LinkState::Online, "\"online\""),
            (LinkState::Offline, "\"offline\""),
            (LinkState::Connecting, "\"connecting\""),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap(), text);
        }
    }

    #[test]
    fn no_credentials_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for (endpoint, written) in [
            (
                "wss://user:hunter2@csms.example.com/ocpp/ID",
                "wss://csms.example.com/ocpp/ID",
            ),
            (
                "wss://csms.example.com/ocpp/ID?token=hunter2",
                "wss://csms.example.com/ocpp/ID",
            ),
            ("ws://10.0.0.1:9000/ocpp/ID", "ws://10.0.0.1:9000/ocpp/ID"),
        ] {
            let mut status = online(1);
            status.link.endpoint = Some(endpoint.into());
            write(dir.path(), &status).unwrap();
            let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
            assert!(!text.contains("hunter2"), "{text}");
            assert_eq!(
                read(dir.path()).unwrap().link.endpoint.as_deref(),
                Some(written)
            );
        }
    }

    #[test]
    fn a_missing_file_means_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, StatusFileError::NotRunning { .. }), "{err}");
        let text = err.to_string();
        assert!(text.starts_with("ocpp-station is not running"), "{text}");
        assert!(text.contains("status.json"), "{text}");
        assert!(matches!(
            read(&dir.path().join("no-such-dir")),
            Err(StatusFileError::NotRunning { .. })
        ));
    }

    #[test]
    fn corrupt_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let full = serde_json::to_string(&online(1)).unwrap();
        for (content, expected) in [
            ("", "EOF"),
            ("{not json", "key must be a string"),
            (&full[..full.len() / 2], "EOF"),
            ("[1, 2]", "no format"),
            (
                r#"{"format": 2}"#,
                "format 2 and this ocpp-station reads format 1",
            ),
            (r#"{"format": 1}"#, "missing field"),
            (
                &full.replace("\"online\"", "\"up\""),
                "unknown variant `up`",
            ),
        ] {
            fs::write(dir.path().join(FILE_NAME), content).unwrap();
            let err = read(dir.path()).unwrap_err();
            assert!(matches!(err, StatusFileError::Corrupt { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("is not usable"), "{text}");
            assert!(text.contains(expected), "{content}: {text}");
        }
        let huge = vec![b' '; MAX_FILE_BYTES as usize + 10];
        fs::write(dir.path().join(FILE_NAME), huge).unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(StatusFileError::Unreadable { .. })
        ));
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_unreadable_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, StatusFileError::Unreadable { .. }), "{err}");
        assert!(write(dir.path(), &online(1)).is_err());
    }

    #[test]
    fn a_fifo_or_device_in_place_of_the_file_is_unreadable_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, StatusFileError::Unreadable { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("it is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
    }

    #[test]
    fn reasons_quoting_the_file_are_printable() {
        let dir = tempfile::tempdir().unwrap();
        let mut value = serde_json::to_value(online(1)).unwrap();
        value["link"]["state"] = Value::String("\u{1b}[2J\u{7}\u{9b}31m".into());
        fs::write(dir.path().join(FILE_NAME), value.to_string()).unwrap();
        let text = read(dir.path()).unwrap_err().to_string();
        assert!(text.contains("unknown variant"), "{text}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }

    #[test]
    fn fields_from_a_newer_version_are_kept_in_the_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut value = serde_json::to_value(online(5)).unwrap();
        value["solar"] = serde_json::json!({"watts": 1200});
        fs::write(dir.path().join(FILE_NAME), value.to_string()).unwrap();
        let (status, json) = read_with_json(dir.path()).unwrap();
        assert_eq!(status, online(5));
        assert_eq!(json["solar"]["watts"], 1200);
    }

    #[test]
    fn remove_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &online(1)).unwrap();
        remove(dir.path()).unwrap();
        remove(dir.path()).unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(StatusFileError::NotRunning { .. })
        ));
    }
}
