//! What the station remembers across restarts: the CSMS's configuration changes, the
//! availability it set, and why the station last restarted.
//!
//! One JSON file, `state.json`, in the state directory (`OCPP_STATE_DIR`). Writes are atomic: a
//! crash leaves the old file or the new one, never half of one. A file that cannot be read is
//! never fatal: the station starts from defaults, says why, and keeps the unreadable file as
//! `state.json.corrupt` for a human to look at. The file holds the Basic-auth password when the
//! CSMS set one, so it is written with mode 0600.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bounded_file;
use crate::device_model::is_secret_key;

/// The state file's name in the state directory.
pub const FILE_NAME: &str = "state.json";
/// Where the next state is written before it replaces [`FILE_NAME`].
pub const TEMP_NAME: &str = "state.json.tmp";
/// Where an unreadable state file is kept.
pub const CORRUPT_NAME: &str = "state.json.corrupt";
/// The one format this version reads and writes.
pub const FORMAT: u32 = 1;
/// A state file is a few hundred bytes; anything beyond this is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The persisted state. Its `Debug` shows secret override values as `[redacted]`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersistedState {
    /// The file format, [`FORMAT`].
    pub format: u32,
    /// The CSMS's configuration changes, keyed as `DeviceModel::overrides` returns them.
    pub overrides: BTreeMap<String, String>,
    /// False while the CSMS has made the whole station Inoperative. (Files written before the
    /// name was unified say `station_available`.)
    #[serde(alias = "station_available")]
    pub station_operative: bool,
    /// The EVSEs the CSMS has made Inoperative. (Older files: `evse_unavailable`.)
    #[serde(alias = "evse_unavailable")]
    pub evse_inoperative: BTreeSet<u32>,
    /// The EVSEs (0: the whole station) the CSMS makes Inoperative once their session ends.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub scheduled_unavailable: BTreeSet<u32>,
    /// Why the station is restarting (e.g. `RemoteReset`); taken by the next BootNotification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_boot_reason: Option<String>,
}

impl Default for PersistedState {
    /// A station the CSMS never configured: available, nothing overridden.
    fn default() -> Self {
        Self {
            format: FORMAT,
            overrides: BTreeMap::new(),
            station_operative: true,
            evse_inoperative: BTreeSet::new(),
            scheduled_unavailable: BTreeSet::new(),
            last_boot_reason: None,
        }
    }
}

impl fmt::Debug for PersistedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let overrides: BTreeMap<&str, &str> = self
            .overrides
            .iter()
            .map(|(key, value)| {
                let shown = if is_secret_key(key) {
                    "[redacted]"
                } else {
                    value.as_str()
                };
                (key.as_str(), shown)
            })
            .collect();
        f.debug_struct("PersistedState")
            .field("format", &self.format)
            .field("overrides", &overrides)
            .field("station_operative", &self.station_operative)
            .field("evse_inoperative", &self.evse_inoperative)
            .field("scheduled_unavailable", &self.scheduled_unavailable)
            .field("last_boot_reason", &self.last_boot_reason)
            .finish()
    }
}

/// The state as the file's text.
pub fn encode(state: &PersistedState) -> String {
    // Serializing maps, sets, strings and numbers cannot fail; the fallback keeps this total.
    let mut text = serde_json::to_string_pretty(state).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// The state in a file's bytes. The error says what is wrong without quoting the content
/// (which may hold the password).
pub fn decode(bytes: &[u8]) -> Result<PersistedState, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| describe(&e))?;
    match value.get("format").and_then(Value::as_u64) {
        Some(n) if n == u64::from(FORMAT) => {}
        Some(n) => return Err(format!("it has format {n}, this version reads {FORMAT}")),
        None => return Err("it has no format number".to_owned()),
    }
    // The JSON is well-formed here, so any error is about a field's content; serde's message
    // would quote it, and it may be the password.
    serde_json::from_value(value).map_err(|_| "a field has the wrong type or value".to_owned())
}

fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "it could not be read",
        Category::Syntax => "it is not valid JSON",
        Category::Eof => "it ends early",
        Category::Data => "a field has the wrong type or value",
    };
    if error.line() == 0 {
        what.to_owned()
    } else {
        format!("{what} (line {}, column {})", error.line(), error.column())
    }
}

/// Reads the state from `dir`. A missing file gives the defaults and no warning. Anything else
/// that prevents reading it (unreadable, corrupt, an unknown format, a directory, FIFO or device
/// in its place, which is never waited on) gives the defaults and a warning naming the file; a
/// regular file is then renamed to [`CORRUPT_NAME`] so that it is neither lost nor read again.
pub fn load(dir: &Path) -> (PersistedState, Option<String>) {
    let path = dir.join(FILE_NAME);
    let problem = match bounded_file::read(&path, MAX_FILE_BYTES) {
        Ok(bytes) => match decode(&bytes) {
            Ok(state) => return (state, None),
            Err(why) => why,
        },
        Err(e) if e.is_not_found() => return (PersistedState::default(), None),
        Err(e @ bounded_file::FileError::Io(_)) => format!("it could not be read: {e}"),
        Err(e) => e.to_string(),
    };
    let is_file = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
    let kept = if is_file {
        let aside = dir.join(CORRUPT_NAME);
        match fs::rename(&path, &aside) {
            Ok(()) => format!("it was kept as {}", aside.display()),
            Err(e) => format!("it could not be set aside as {}: {e}", aside.display()),
        }
    } else {
        "it is not a regular file; remove or rename it".to_owned()
    };
    let warning = format!(
        "state file {} is unusable ({problem}); starting without the CSMS's earlier \
         configuration changes, {kept}",
        path.display()
    );
    (PersistedState::default(), Some(warning))
}

/// Writes the state to `dir` (created, mode 0700, if missing) atomically: the new content goes
/// to [`TEMP_NAME`] (mode 0600) and is flushed to disk, then renamed over [`FILE_NAME`], then the
/// directory is flushed so that the rename itself survives a power cut.
pub fn save(dir: &Path, state: &PersistedState) -> io::Result<()> {
    write_atomically(
        dir,
        FILE_NAME,
        encode(state).as_bytes(),
        FileKind::PrivateDurable,
    )
}

/// Who may read a file written by [`write_atomically`] and whether it must survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// It may hold a secret and must survive a power cut: a new directory gets mode 0700, the
    /// file 0600, and file and directory are flushed to disk.
    PrivateDurable,
    /// Anyone on the machine may read it and it is rebuilt after a restart (it lives on tmpfs):
    /// a new directory gets mode 0755, the file 0644, and nothing is flushed, since flushing an
    /// SD card on every rewrite only wears it.
    PublicVolatile,
}

impl FileKind {
    fn dir_mode(self) -> u32 {
        match self {
            FileKind::PrivateDurable => 0o700,
            FileKind::PublicVolatile => 0o755,
        }
    }

    fn file_mode(self) -> u32 {
        match self {
            FileKind::PrivateDurable => 0o600,
            FileKind::PublicVolatile => 0o644,
        }
    }
}

/// Replaces `dir/file_name` with `contents` so that a reader (and, for a durable file, a power
/// cut) sees the old file or the new one, never half of one: the content goes to `file_name.tmp` first and is renamed over
/// the file. `dir` is created when missing. A directory that exists keeps its mode.
pub fn write_atomically(
    dir: &Path,
    file_name: &str,
    contents: &[u8],
    kind: FileKind,
) -> io::Result<()> {
    create_dir(dir, kind.dir_mode())?;
    let temp = dir.join(format!("{file_name}.tmp"));
    // A leftover from an interrupted write may have other permissions; start afresh.
    if let Err(e) = fs::remove_file(&temp)
        && e.kind() != io::ErrorKind::NotFound
    {
        return Err(e);
    }
    let mut file = new_file(&temp, kind.file_mode())?;
    file.write_all(contents)?;
    let durable = kind == FileKind::PrivateDurable;
    if durable {
        file.sync_all()?;
    }
    drop(file);
    fs::rename(&temp, dir.join(file_name))?;
    if durable {
        open_dir(dir)?.sync_all()?;
    }
    Ok(())
}

/// `dir` opened to flush it. O_DIRECTORY: should something else have taken its place since it
/// was created, the open fails instead of, for a FIFO, waiting for a writer.
#[cfg(unix)]
fn open_dir(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(dir)
}

#[cfg(not(unix))]
fn open_dir(dir: &Path) -> io::Result<File> {
    File::open(dir)
}

#[cfg(unix)]
fn create_dir(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path, _mode: u32) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn new_file(path: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    // The umask may have taken bits away; make the mode exact.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(file)
}

#[cfg(not(unix))]
fn new_file(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const PASSWORD: &str = "S3cr3t-pw!S3cr3t-pw!";

    fn sample() -> PersistedState {
        PersistedState {
            format: FORMAT,
            overrides: BTreeMap::from([
                (
                    "OCPPCommCtrlr/HeartbeatInterval".to_owned(),
                    "120".to_owned(),
                ),
                (
                    "SecurityCtrlr/BasicAuthPassword".to_owned(),
                    PASSWORD.to_owned(),
                ),
            ]),
            station_operative: false,
            evse_inoperative: BTreeSet::from([2, 3]),
            scheduled_unavailable: BTreeSet::from([0, 1]),
            last_boot_reason: Some("RemoteReset".to_owned()),
        }
    }

    #[test]
    fn defaults_are_an_available_unconfigured_station() {
        let d = PersistedState::default();
        assert_eq!(d.format, 1);
        assert!(d.station_operative);
        assert!(d.overrides.is_empty() && d.evse_inoperative.is_empty());
        assert_eq!(d.last_boot_reason, None);
    }

    #[test]
    fn round_trip_and_file_mode() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("nested").join("state");
        save(&state_dir, &sample()).unwrap();
        assert_eq!(load(&state_dir), (sample(), None));
        assert!(!state_dir.join(TEMP_NAME).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&state_dir.join(FILE_NAME)), 0o600);
            assert_eq!(mode(&state_dir), 0o700);
        }
        // A second save replaces the first.
        save(&state_dir, &PersistedState::default()).unwrap();
        assert_eq!(load(&state_dir), (PersistedState::default(), None));
    }

    #[test]
    fn the_temp_name_is_the_one_write_atomically_uses() {
        assert_eq!(TEMP_NAME, format!("{FILE_NAME}.tmp"));
    }

    #[test]
    fn a_leftover_temp_file_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(TEMP_NAME), "half a file").unwrap();
        save(dir.path(), &sample()).unwrap();
        assert_eq!(load(dir.path()).0, sample());
    }

    #[test]
    fn a_missing_file_gives_defaults_without_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), (PersistedState::default(), None));
        assert_eq!(
            load(&dir.path().join("does-not-exist")),
            (PersistedState::default(), None)
        );
    }

    #[test]
    fn a_file_with_the_earlier_availability_names_is_read() {
        let state =
            decode(br#"{"format":1,"station_available":false,"evse_unavailable":[2]}"#).unwrap();
        assert!(!state.station_operative);
        assert_eq!(state.evse_inoperative, BTreeSet::from([2]));
    }

    #[test]
    fn missing_fields_take_their_defaults_and_extra_fields_are_ignored() {
        let state = decode(br#"{"format":1,"future":{"x":1}}"#).unwrap();
        assert_eq!(state, PersistedState::default());
        let state = decode(br#"{"format":1,"evse_inoperative":[1]}"#).unwrap();
        assert!(state.station_operative);
        assert_eq!(state.evse_inoperative, BTreeSet::from([1]));
    }

    fn assert_corrupt(content: &[u8], expected: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, content).unwrap();
        let (state, warning) = load(dir.path());
        assert_eq!(state, PersistedState::default());
        let warning = warning.expect("a warning");
        assert!(warning.contains(&path.display().to_string()), "{warning}");
        assert!(warning.contains(expected), "{warning}");
        assert!(warning.contains(CORRUPT_NAME), "{warning}");
        assert!(!warning.contains(PASSWORD), "{warning}");
        assert!(!path.exists());
        assert_eq!(fs::read(dir.path().join(CORRUPT_NAME)).unwrap(), content);
        // The next start finds no file and is quiet.
        assert_eq!(load(dir.path()).1, None);
    }

    #[test]
    fn corrupt_files_give_defaults_a_warning_and_are_kept_aside() {
        assert_corrupt(b"\x00\xffgarbage", "not valid JSON");
        assert_corrupt(b"", "ends early");
        let full = encode(&sample());
        assert_corrupt(&full.as_bytes()[..full.len() / 2], "ends early");
        assert_corrupt(br#"{"format":1,"station_operative":"yes"}"#, "wrong type");
        assert_corrupt(
            format!(r#"{{"format":1,"evse_inoperative":"{PASSWORD}"}}"#).as_bytes(),
            "wrong type",
        );
        assert_corrupt(br#"{"format":1,"overrides":{"a":5}}"#, "wrong type");
        assert_corrupt(br#"{"format":1,"evse_inoperative":[-1]}"#, "wrong type");
        assert_corrupt(br#"[1,2]"#, "no format");
        assert_corrupt(br#"{"overrides":{}}"#, "no format");
        assert_corrupt(br#"{"format":2}"#, "format 2");
        assert_corrupt(br#"{"format":"1"}"#, "no format");
        let huge = vec![b' '; (MAX_FILE_BYTES + 10) as usize];
        assert_corrupt(&huge, "larger than");
    }

    #[test]
    fn a_directory_in_place_of_the_file_warns_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::create_dir(&path).unwrap();
        let (state, warning) = load(dir.path());
        assert_eq!(state, PersistedState::default());
        let warning = warning.unwrap();
        assert!(warning.contains("not a regular file"), "{warning}");
        assert!(path.is_dir());
        // Nothing can be saved over it either, and that is an error, not a panic.
        assert!(save(dir.path(), &sample()).is_err());
    }

    #[test]
    fn a_fifo_in_place_of_the_file_is_not_waited_on_and_is_replaced_by_the_next_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Reading a FIFO without a writer would block here for ever.
        let (state, warning) = load(dir.path());
        assert_eq!(state, PersistedState::default());
        let warning = warning.unwrap();
        assert!(warning.contains("a FIFO (named pipe)"), "{warning}");
        assert!(warning.contains("not a regular file"), "{warning}");
        // The atomic write renames a regular file over it.
        save(dir.path(), &sample()).unwrap();
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
        assert_eq!(load(dir.path()), (sample(), None));
    }

    #[test]
    fn an_unwritable_place_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        fs::write(&file, "x").unwrap();
        assert!(save(&file, &sample()).is_err(), "the directory is a file");
        assert!(save(&file.join("below"), &sample()).is_err());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let locked = dir.path().join("locked");
            fs::create_dir(&locked).unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
            // Privileged users write anyway; only check where permissions apply.
            let privileged = File::create(locked.join("probe")).is_ok();
            if !privileged {
                assert!(save(&locked, &sample()).is_err());
            }
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
        }
    }

    #[test]
    fn debug_redacts_the_password_only() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(shown.contains("\"120\""), "{shown}");
        assert!(shown.contains("RemoteReset"), "{shown}");
    }

    #[test]
    fn the_file_is_readable_json_without_nulls() {
        let text = encode(&PersistedState::default());
        assert!(!text.contains("null"), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], 1);
        assert_eq!(value["station_operative"], true);
    }
}
