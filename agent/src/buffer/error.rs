//! What can go wrong in the outbox, with the context needed to act on it.
//!
//! Two kinds matter to the caller: [`OutboxError::Corrupt`] means a record cannot be trusted,
//! and the way out is [`Outbox::recover`](super::Outbox::recover) (or dropping every handle and
//! opening again, which recovers the same way). Everything else is an I/O or usage problem that
//! leaves the outbox as it was; retrying later is fine.
//!
//! sled stays private to the buffer: its errors travel wrapped in the opaque [`StoreError`].

use std::fmt;
use std::io;
use std::path::PathBuf;

use edgeward_proto::{Seq, StreamId};
use thiserror::Error;

/// Why an outbox operation failed.
#[derive(Debug, Error)]
pub enum OutboxError {
    #[error("outbox max_bytes must be at least 1")]
    ZeroBound,
    #[error("outbox directory {} has no final path component to name its side files after", path.display())]
    BadDir { path: PathBuf },
    #[error("cannot prepare {}: {source}", path.display())]
    Prepare { path: PathBuf, source: io::Error },
    #[error("outbox {} is already open (the lock {} is held)", dir.display(), lock.display())]
    Locked { dir: PathBuf, lock: PathBuf },
    /// sled could not open the outbox for a reason that says nothing about its content
    /// (permissions, full disk, read-only file system); nothing was moved aside.
    #[error("cannot open outbox {}: {source}", path.display())]
    Open { path: PathBuf, source: StoreError },
    #[error("cannot move the corrupt outbox {} aside to {}: {source}", from.display(), to.display())]
    MoveAside {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error("outbox {op} failed: {source}")]
    Store {
        op: &'static str,
        source: StoreError,
    },
    /// A record failed its checksum or did not decode. Call `Outbox::recover`.
    #[error("outbox record {key} is corrupt: {damage}")]
    Corrupt { key: RecordKey, damage: Damage },
    /// The sample alone is larger than the outbox's bound; nothing was written.
    #[error("sample encodes to {bytes} bytes, more than the outbox bound of {max_bytes} bytes")]
    SampleTooLarge { bytes: u64, max_bytes: u64 },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: postcard::Error,
    },
    /// The batch was read before the outbox was recreated; its stream is gone.
    #[error("batch of stream {batch:?} is stale: the outbox now writes stream {current:?}")]
    StaleBatch { batch: StreamId, current: StreamId },
    #[error("cannot draw a random stream id: {0}")]
    Random(getrandom::Error),
}

impl OutboxError {
    /// True for the errors that [`Outbox::recover`](super::Outbox::recover) is for.
    pub fn is_corruption(&self) -> bool {
        matches!(self, OutboxError::Corrupt { .. })
    }

    /// Maps a sled error met while reading or writing `key`: sled's own corruption reports are
    /// corruption of the outbox, everything else is a storage failure of `op`.
    pub(super) fn from_store(op: &'static str, key: RecordKey, e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => OutboxError::Corrupt {
                key,
                damage: Damage::Storage(StoreError(e)),
            },
            e => OutboxError::Store {
                op,
                source: StoreError(e),
            },
        }
    }
}

/// The `map_err` closure for a record that failed its checks.
pub(super) fn corrupt(key: RecordKey) -> impl FnOnce(Damage) -> OutboxError {
    move |damage| OutboxError::Corrupt { key, damage }
}

/// The `map_err` closure for a sled read.
pub(super) fn read_err(op: &'static str) -> impl FnOnce(sled::Error) -> OutboxError {
    move |e| OutboxError::from_store(op, RecordKey::Unknown, e)
}

/// Builds the `map_err` closure for a sled call that touches no particular record.
pub(super) fn store(op: &'static str) -> impl FnOnce(sled::Error) -> OutboxError {
    move |e| OutboxError::from_store(op, RecordKey::Unknown, e)
}

/// An error of the embedded store, kept opaque so that sled stays private to the buffer.
#[derive(Debug, Error)]
#[error(transparent)]
pub struct StoreError(pub(super) sled::Error);

/// Which record of the outbox an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKey {
    Meta,
    Sample(Seq),
    Gap(u64),
    Quarantine(u64),
    /// A key the outbox never writes, or none in particular.
    Unknown,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKey::Meta => f.write_str("meta"),
            RecordKey::Sample(s) => write!(f, "sample {}", s.0),
            RecordKey::Gap(id) => write!(f, "gap {id}"),
            RecordKey::Quarantine(id) => write!(f, "quarantine {id}"),
            RecordKey::Unknown => f.write_str("(unknown key)"),
        }
    }
}

/// What is wrong with a record, or with the outbox as a whole.
#[derive(Debug, Error)]
pub enum Damage {
    #[error("value is {len} bytes, shorter than its 4-byte checksum")]
    Short { len: usize },
    #[error("checksum {stored:#010x} does not match the content ({computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("content does not decode: {0}")]
    Decode(#[source] postcard::Error),
    #[error("content says seq {found} but the key says {expected}")]
    SeqMismatch { expected: u64, found: u64 },
    #[error("key is not one the outbox writes")]
    UnknownKey,
    #[error("id {id} is not below the meta record's counter {counter}")]
    BeyondCounter { id: u64, counter: u64 },
    #[error("the meta record is missing although other records exist")]
    MissingMeta,
    #[error("on-disk format {found} is not the supported {expected}")]
    Format { found: u16, expected: u16 },
    #[error("the store reported: {0}")]
    Storage(StoreError),
}
