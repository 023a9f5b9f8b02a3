//! The durable outbox: samples wait here, on disk, until the aggregator confirms them.
//!
//! A tiny API (vector-buffers style): [`Outbox::append`], [`Outbox::read_batch`],
//! [`Outbox::ack`], [`Outbox::quarantine`], [`Outbox::stats`]. This module is the only code
//! in the agent that touches sled; sled types never leave it. Every method blocks (disk I/O
//! and fsync): call it through `spawn_blocking`.
//!
//! # On-disk layout
//! One directory `<dir>` holding one sled tree, and three side files next to it, in the same
//! parent (`sidecar.rs`): `<dir>.lock` (an exclusive advisory lock held while open),
//! `<dir>.opening` (the open marker) and `<dir>.state` (stream, acked-through, next seq).
//! Keys in the tree:
//!
//! | key                      | value                                             |
//! |--------------------------|---------------------------------------------------|
//! | `m`                      | meta: format, stream id, next seq, next gap / quarantine id, counters |
//! | `s` ++ seq (u64 BE)      | a pending [`Sample`]                              |
//! | `g` ++ gap id (u64 BE)   | a pending [`GapRecord`]                           |
//! | `q` ++ item id (u64 BE)  | a [`Quarantined`] item                            |
//!
//! Big-endian ids make sled's byte order the numeric order, so "oldest first" is a prefix
//! scan. Every value is `crc32(payload) LE ++ payload` with `payload` in postcard; a value
//! that fails its checksum or does not decode is corruption. Because there is a single tree,
//! one `apply_batch` changes samples, gap records and the meta record atomically: the next
//! seq survives restarts even when the queue is empty.
//!
//! # Invariants
//! - **Durable before acknowledged**: `append`, `ack` and `quarantine` flush sled before they
//!   return; a sample `append` returned for survives a crash.
//! - **Seqs start at 1 and strictly increase per stream**, across restarts. A stream id is
//!   random, created with a fresh outbox and unchanged across reopen; an outbox recreated
//!   after corruption gets a new stream id (and starts at 1 again).
//! - **Byte bound**: the pending samples' postcard payload bytes (the 4-byte checksums, keys,
//!   gap records, quarantine and sled's own overhead are not counted) never exceed
//!   `max_bytes`. sled's footprint on disk is larger, typically 2–3× while it has not
//!   reclaimed space. An append that would exceed the bound first drops the oldest samples
//!   and records them in a [`GapReason::SizeBound`] gap record; drops that directly follow the
//!   pending size-bound record extend it instead of adding one. Nothing is dropped for any
//!   other reason (there is no expiry). A sample dropped while its batch was in flight and
//!   then acknowledged was delivered after all: the ack takes it out of the pending
//!   size-bound record, so the reported loss is exact.
//! - **Every loss ships**: size-bound drops, quarantined batches
//!   ([`GapReason::RejectedByAggregator`]) and corruption ([`GapReason::Corruption`]) each
//!   leave a gap record, returned by `read_batch` until acked.
//! - **Bounded memory**: sled's cache is `cache_bytes`; `read_batch` iterates and holds at
//!   most `max_bytes` of samples (plus one) and `MAX_GAPS` gap records, whatever the backlog.
//! - **Acks act only on what this handle handed out**: `ack(through)` is capped at the highest
//!   seq `read_batch` returned since the handle was opened or recovered, and gap snapshots
//!   ([`GapId`]) only settle records handed out by it. A batch read before a reopen is
//!   therefore sent again rather than acked, and a stale ack can never delete samples of a
//!   newer stream.
//!
//! # Corruption
//! `open` never crash-loops. It moves a damaged outbox aside to `<dir>.corrupt-<unix-secs>`
//! (keeping at most [`KEEP_CORRUPT`]) and starts a fresh one (new stream) holding a
//! [`GapReason::Corruption`] record when: sled refuses to open it for a reason that is not
//! about the machine (permissions, space, read-only file system are returned as errors
//! instead); the scan at open finds a record that fails its checksum, does not decode, has
//! an unknown key or an id beyond the meta record's counters, or no meta record; the store
//! is empty or *behind* the state file (see below); or the last [`MAX_UNFINISHED_OPENS`]
//! opens never finished, which is how a sled panic (the release profile aborts) shows.
//! `recovery.rs` documents what the gap record then says.
//!
//! sled recovers a damaged or cut log up to its last intact entry, as after a crash: garbage
//! in place of the data file opens as an empty store, a truncated one as an older state,
//! without any error. The state file is what catches this. It is rewritten (atomically) on
//! open, ack, quarantine and whenever `read_batch` hands out a seq at or beyond the next seq
//! it records, so every seq that ever left the agent is below its `next_seq`; a store whose
//! meta record is behind it, or that is empty while it exists, is corrupt. So a damaged
//! store never reuses a seq the aggregator may have seen, as long as the state file could
//! be written (it is best effort: a failed write is logged, it cannot stop the outbox). The
//! known limit: a cut that only loses samples appended since the last state-file write,
//! none of them handed out yet, goes unnoticed. Those samples are lost without a gap record
//! and their seqs are used again, which is safe for exactly-once ingest since nobody saw
//! them. Closing that hole would cost a second fsync per append.
//!
//! Corruption met later (a sample or gap record that fails its checksum in `read_batch` or
//! `quarantine`) is returned as [`OutboxError::Corrupt`]; the caller then calls
//! [`Outbox::recover`], which does the same move-aside in place. A damaged sample that
//! `append` drops for space is simply dropped (its time is then missing from the size-bound
//! gap record).

mod append;
mod error;
mod open;
mod quarantine;
mod queue;
mod record;
mod recovery;
mod sidecar;
mod state;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use edgeward_proto::{GapRecord, Sample, Seq, StreamId};

pub use error::{Damage, OutboxError, RecordKey, StoreError};
pub use open::MAX_UNFINISHED_OPENS;
pub use record::{MAX_DETAIL, Quarantined, QuarantinedItem};
pub use recovery::KEEP_CORRUPT;

#[cfg(doc)]
use edgeward_proto::GapReason;

use recovery::Evidence;
use sidecar::Saved;
use state::Inner;

/// Default bound of pending sample bytes: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default sled page cache: 1 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 1 << 20;

/// Where the outbox lives and how large it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// The outbox directory; its side files go next to it, in the same parent.
    pub dir: PathBuf,
    /// Bound of pending sample payload bytes; default [`DEFAULT_MAX_BYTES`]. Quarantine is
    /// bounded separately to a quarter of it.
    pub max_bytes: u64,
    /// sled's page cache in bytes; default [`DEFAULT_CACHE_BYTES`].
    pub cache_bytes: u64,
}

impl OutboxConfig {
    /// `dir` with the default bounds.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        OutboxConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// What `open` (or `recover`) did about a corrupt outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the unreadable directory went.
    pub moved_to: PathBuf,
    /// Why it was judged unreadable.
    pub reason: String,
    /// The corruption gap record now pending in the fresh outbox.
    pub gap: GapRecord,
}

/// The result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The seq the sample was stored under.
    pub seq: Seq,
    /// Oldest samples dropped to stay within the byte bound.
    pub dropped: u64,
}

/// A pending gap record as it was handed out: acknowledging it settles exactly that
/// snapshot. If the record was extended since, the extension stays pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GapId {
    outbox: StreamId,
    key: u64,
    first_seq: Seq,
    last_seq: Seq,
    count: u64,
}

impl GapId {
    fn of(outbox: StreamId, key: u64, g: &GapRecord) -> Self {
        GapId {
            outbox,
            key,
            first_seq: g.first_seq,
            last_seq: g.last_seq,
            count: g.count,
        }
    }
}

/// The oldest pending items, as `read_batch` returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The stream the samples belong to.
    pub stream: StreamId,
    /// Oldest first, with consecutive seqs.
    pub samples: Vec<Sample>,
    /// Oldest first.
    pub gaps: Vec<(GapId, GapRecord)>,
    /// Payload bytes of `samples`, as the bound counts them.
    pub bytes: usize,
}

/// A snapshot of the outbox's state and counters, for metrics and the local API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStats {
    pub stream: StreamId,
    pub next_seq: Seq,
    pub max_bytes: u64,
    pub pending_samples: u64,
    pub pending_bytes: u64,
    pub oldest_pending_seq: Option<Seq>,
    pub newest_pending_seq: Option<Seq>,
    pub pending_gaps: u64,
    /// Samples dropped for the byte bound (this stream).
    pub dropped_total: u64,
    pub quarantined_batches_total: u64,
    pub quarantined_samples_total: u64,
    pub quarantine_bytes: u64,
    /// How many times an outbox at this path was found corrupt and replaced.
    pub recovered_from_corruption: u64,
}

/// The durable outbox. Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    // Field order is drop order: the store closes before the lock is released.
    inner: Mutex<Inner>,
    _lock: File,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner();
        f.debug_struct("Outbox")
            .field("dir", &inner.paths.dir)
            .field("stream", &inner.meta.stream)
            .field("next_seq", &inner.meta.next_seq)
            .finish()
    }
}

impl Outbox {
    /// Opens (or creates) the outbox at `cfg.dir`. A corrupt outbox is moved aside and
    /// replaced by a fresh one; the `Recovery` says so.
    pub fn open(cfg: &OutboxConfig) -> Result<(Outbox, Option<Recovery>), OutboxError> {
        let (inner, lock, recovery) = open::open(cfg)?;
        let shared = Shared {
            inner: Mutex::new(inner),
            _lock: lock,
        };
        Ok((
            Outbox {
                shared: Arc::new(shared),
            },
            recovery,
        ))
    }

    // A panic while the lock is held can only happen in tests and debug builds (release
    // aborts on panic); the state is then still the last consistent one, as every operation
    // updates it only after its batch was applied.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stream(&self) -> StreamId {
        self.inner().meta.stream
    }

    /// The seq the next appended sample will get.
    pub fn next_seq(&self) -> Seq {
        self.inner().meta.next_seq
    }

    /// Overwrites `sample.seq` with the next sequence number, appends the sample and flushes
    /// it to disk before returning. Drops the oldest samples (recorded in a size-bound gap
    /// record) when the bound would be exceeded; a sample larger than the whole bound is
    /// refused with [`OutboxError::SampleTooLarge`] and changes nothing.
    pub fn append(&self, sample: Sample) -> Result<Appended, OutboxError> {
        self.inner().append(sample)
    }

    /// The oldest pending gap records and samples: at most `max_bytes` of sample payload
    /// (but always at least one sample when any is pending), `MAX_SAMPLES` samples and
    /// `MAX_GAPS` gap records. Removes nothing.
    pub fn read_batch(&self, max_bytes: usize) -> Result<Pending, OutboxError> {
        self.inner().read_batch(max_bytes)
    }

    /// Deletes the samples up to `through` and the listed gap snapshots, which the aggregator
    /// confirmed durable, then flushes. Acts only on what this handle's `read_batch` handed
    /// out (see the module doc).
    pub fn ack(&self, through: Seq, gaps: &[GapId]) -> Result<(), OutboxError> {
        self.inner().ack(through, gaps)
    }

    /// The aggregator will never accept `pending`: moves its samples and gap records into
    /// the quarantine (bounded to `max_bytes / 4`, oldest evicted first), removes them from
    /// the queue, records a `RejectedByAggregator` gap record for the samples' range, and
    /// flushes. `detail` (the aggregator's reason) is kept with the items.
    pub fn quarantine(&self, pending: &Pending, detail: &str) -> Result<(), OutboxError> {
        self.inner().quarantine(pending, detail)
    }

    /// The oldest quarantined items, at most `max_bytes` of payload (at least one if any).
    pub fn read_quarantine(&self, max_bytes: usize) -> Result<Vec<Quarantined>, OutboxError> {
        self.inner().read_quarantine(max_bytes)
    }

    pub fn stats(&self) -> OutboxStats {
        self.inner().stats()
    }

    /// After [`OutboxError::Corrupt`]: moves the outbox aside and continues in a fresh one
    /// (new stream) holding the readable gap records and a corruption gap record for the
    /// pending samples. Batches read before are stale afterwards: acking them does nothing
    /// and quarantining them fails with [`OutboxError::StaleBatch`]. `reason` is logged and
    /// returned in the `Recovery`. Do not call it for other errors: it discards the backlog.
    pub fn recover(&self, reason: &str) -> Result<Recovery, OutboxError> {
        let mut inner = self.inner();
        let mut scan = state::scan(&inner.db);
        scan.meta = Some(inner.meta);
        let saved = Saved {
            stream: inner.meta.stream,
            acked_through: inner.acked_through,
            next_seq: inner.meta.next_seq,
            recoveries: inner.meta.recoveries,
        };
        let evidence = Evidence::new(Some(scan), Some(saved));
        let (fresh, recovery) =
            recovery::replace(&inner.cfg, &inner.paths, reason.to_owned(), evidence)?;
        *inner = fresh;
        Ok(recovery)
    }
}
