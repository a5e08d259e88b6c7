//! What must survive a crash, as records the shell keeps durably: the core decides what the
//! records are and when they change, the shell stores them (written and synced before the frames
//! of the same step leave) and hands them back at the next start.

/// One change to the journal, emitted as [`super::Event::Journal`].
#[derive(Debug, Clone, PartialEq)]
pub enum JournalOp {
    /// Insert `record` under `key`, or replace the record already there.
    Put {
        /// The record's key, chosen by the core.
        key: u64,
        /// The record, in a form of the core's choosing.
        record: serde_json::Value,
    },
    /// Remove the record under `key` (nothing happens when there is none).
    Delete {
        /// The record's key.
        key: u64,
    },
}
