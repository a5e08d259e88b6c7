//! Reading a file the station was pointed at (the env file, `state.json`, `status.json`, the TLS
//! CA bundle, client certificate and key, the Pi's sysfs attributes) so that whatever is at the
//! path, the read ends, and ends soon.
//!
//! A FIFO at such a path would block `open` until someone writes to it, a device (`/dev/zero`, a
//! tty) can be read forever, and a huge sparse file fills the memory. So the file is opened
//! non-blocking (opening a FIFO then returns at once) and without becoming the controlling
//! terminal, and the opened handle, not the path (which could be swapped between a check and the
//! open), must be a regular file within the caller's size limit. Only then is it read, and never
//! beyond the limit.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The operating system refused to open or read it (missing, permissions, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Something other than a regular file is at the path.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is larger than the caller's limit.
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
}

impl FileError {
    /// True when there is nothing at the path (callers often treat that as "not configured").
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// The whole of the regular file at `path`, refused when it holds more than `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    // The size may be stale by the time it is read: the bounded read below is what counts, and
    // one byte more than the limit tells "exactly at the limit" from "over it".
    if file.metadata()?.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let bytes = read_at_most(file, limit.saturating_add(1))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The first `limit` bytes of the regular file at `path`, for kernel attribute files (sysfs,
/// procfs) whose stated size says nothing about their content (a page, or zero).
pub fn read_prefix(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    Ok(read_at_most(open_regular(path)?, limit)?)
}

/// `path` opened for reading, provided it is a regular file. `O_NONBLOCK` keeps `open` of a FIFO
/// from waiting for a writer (and is ignored by regular files); `O_NOCTTY` keeps a terminal
/// from becoming the process's controlling terminal.
fn open_regular(path: &Path) -> Result<File, FileError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)?;
    let file_type = file.metadata()?.file_type();
    if file_type.is_file() {
        Ok(file)
    } else {
        Err(FileError::NotRegular(describe(file_type)))
    }
}

fn read_at_most(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What a non-regular file is, for a person.
fn describe(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a panic is a test failure with a message"
    )]

    use super::*;

    #[test]
    fn a_regular_file_is_read_whole_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read(&path, 9),
            Err(FileError::TooLarge { limit: 9 })
        ));
        assert_eq!(read_prefix(&path, 4).unwrap(), b"0123");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read(&path, 0).unwrap(), b"");
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(&dir.path().join("absent"), 10).unwrap_err();
        assert!(error.is_not_found(), "{error:?}");
        assert!(!FileError::NotRegular("a directory").is_not_found());
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Without O_NONBLOCK this open would wait for a writer forever.
        let error = read(&fifo, 10).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        assert!(matches!(
            read_prefix(&fifo, 10),
            Err(FileError::NotRegular(_))
        ));
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(dir.path(), 10).unwrap_err().to_string(),
            "it is a directory, not a regular file"
        );
        // /dev/zero never ends and /dev/null is empty: neither is a file the station reads.
        for device in ["/dev/zero", "/dev/null"] {
            assert_eq!(
                read(Path::new(device), 10).unwrap_err().to_string(),
                "it is a character device, not a regular file",
                "{device}"
            );
        }
    }

    #[test]
    fn a_huge_sparse_file_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        let file = File::create(&path).unwrap();
        // 1 TiB of holes: reading it whole would never end on the Pi.
        file.set_len(1 << 40).unwrap();
        assert!(matches!(
            read(&path, 1024 * 1024),
            Err(FileError::TooLarge { .. })
        ));
        assert_eq!(read_prefix(&path, 8).unwrap(), vec![0; 8]);
    }

    #[test]
    fn a_symlink_to_a_regular_file_is_followed_and_one_to_a_fifo_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read(&link, 10).unwrap(), b"x");

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let to_fifo = dir.path().join("to-fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        assert!(matches!(read(&to_fifo, 10), Err(FileError::NotRegular(_))));
    }
}
