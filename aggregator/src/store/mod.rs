//! The aggregator's storage: the [`Store`] trait and its default embedded implementation,
//! [`SledStore`], on sled under the data directory.
//!
//! # Semantics
//!
//! Ingest is exactly once, keyed on (node, stream, seq). The caller has authenticated the
//! node, decoded and validated the batch (`Batch::validate`) and checked that the header
//! names the authenticated node.
//!
//! - Per (node, stream) a **high-water mark** (`hwm`): the highest seq ever stored. A
//!   sample at or below it that is already stored is a duplicate: counted, not stored again.
//!   One at or below it that is not stored arrived late: it is stored and shrinks (or
//!   splits) the sequence hole it falls in.
//! - A sample more than one past the `hwm` opens a **sequence hole** `hwm+1..=seq-1`,
//!   observed by the aggregator and distinct from the agent's gap records. A stream's first
//!   batch opens none: where a stream starts is the agent's to say, by gap records. A hole
//!   that agent gap records of the same stream overlap lists them and says how many of its
//!   seqs they leave unexplained.
//! - **Agent gap records** are stored once per (stream, first, last, reason), so a re-sent
//!   batch does not duplicate them.
//! - **Retention**: at most `history_per_node` samples per node; each ingest prunes the
//!   node's oldest (by stream arrival, then seq) beyond it. Per stream a `floor` records the
//!   highest pruned seq: samples at or below it that come back are duplicates, and holes and
//!   gap records that end at or below it are dropped with the samples.
//! - **Acks**: a batch with samples acks its stream through the header's `last_seq` once
//!   everything in it is durable (stored now or before); a gap-only batch acks the stream's
//!   `hwm`, or nothing for a stream without stored samples.
//! - **Durability**: `ingest` returns only after a flush. Ingests of one node are
//!   serialized, of different nodes run in parallel (see `sled_store.rs`).
//!
//! The key layout is documented in `keys.rs`, the stored records in `record.rs`.

mod error;
mod holes;
mod ingest;
mod keys;
mod query;
mod record;
mod sled_store;
mod view;

#[cfg(test)]
mod tests;

use std::num::NonZeroU32;

use edgeward_proto::{Batch, NodeId, Seq, StreamId, UnixMillis};

pub use error::StoreError;
pub use holes::MAX_EXPLANATIONS;
pub use sled_store::{NODE_LOCKS, SledStore};
pub use view::{
    GapRef, IngestOutcome, NodeDetail, NodeSummary, Registry, SampleRef, SeqHole, StoreStats,
    StoredGap, StoredSample, StreamHistory,
};

/// Where the aggregator keeps what nodes sent. Blocking: async callers use
/// `spawn_blocking`.
pub trait Store: Send + Sync + 'static {
    /// Stores the batch's new samples and gap records; returns only after they are durable
    /// (flushed). See the module docs for duplicates, holes, retention and acks.
    fn ingest(&self, batch: &Batch, received_at: UnixMillis) -> Result<IngestOutcome, StoreError>;

    /// Every node that ever sent a batch, in name order.
    fn nodes(&self) -> Result<Vec<NodeSummary>, StoreError>;

    /// One node in detail; `None` when it never sent a batch.
    fn node(&self, id: &NodeId) -> Result<Option<NodeDetail>, StoreError>;

    /// Stored samples of one node in (stream arrival, seq) order after `after` (exclusive),
    /// at most `limit`. Each comes with its stream, which together with its seq is the
    /// cursor for the next page. An unknown node, or a cursor naming a stream without
    /// stored samples, yields nothing.
    fn samples(
        &self,
        id: &NodeId,
        after: Option<(StreamId, Seq)>,
        limit: usize,
    ) -> Result<Vec<StoredSample>, StoreError>;

    /// The newest `limit` stored samples of one node, oldest first (the analysis rebuilds
    /// its state from them at start-up). Costs `limit` reads, not the node's history.
    fn recent(&self, id: &NodeId, limit: usize) -> Result<Vec<StoredSample>, StoreError>;

    /// One stored sample, if it is still within the retention window.
    fn sample_at(
        &self,
        id: &NodeId,
        stream: StreamId,
        seq: Seq,
    ) -> Result<Option<StoredSample>, StoreError>;

    /// Totals: nodes, samples, gap records, holes, and bytes on disk.
    fn stats(&self) -> Result<StoreStats, StoreError>;
}

/// How a [`SledStore`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// At most this many samples per node are kept; older ones are pruned on ingest.
    /// Default [`StoreOptions::DEFAULT_HISTORY_PER_NODE`] (24 h at a 15 s interval).
    pub history_per_node: NonZeroU32,
    /// sled's page cache size in bytes. Default [`StoreOptions::DEFAULT_CACHE_BYTES`].
    pub cache_bytes: u64,
}

impl StoreOptions {
    /// 5,760 samples: 24 hours at a 15 s interval.
    pub const DEFAULT_HISTORY_PER_NODE: NonZeroU32 = NonZeroU32::MIN.saturating_add(5_759);
    /// 256 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history_per_node: Self::DEFAULT_HISTORY_PER_NODE,
            cache_bytes: Self::DEFAULT_CACHE_BYTES,
        }
    }
}
