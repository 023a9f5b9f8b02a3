//! What the store answers: the outcome of an ingest and the read-side views the REST API
//! serializes (`GET /v1/nodes`, `GET /v1/nodes/{id}`).
//!
//! These types are not stored (the on-disk records live in `record.rs`), so they can change
//! without a store migration, except [`GapRef`], which a stored hole embeds. Times are
//! [`UnixMillis`] as they are: `sent_at` and sample times by the node's clock, `*_seen` and
//! `received_at` by the aggregator's.

use edgeward_proto::reply::StreamAck;
use edgeward_proto::{
    BootId, ClusterId, GapReason, GapRecord, NodeId, Sample, Seq, StreamId, UnixMillis,
};
use serde::{Deserialize, Serialize, Serializer};

/// What one [`Store::ingest`](super::Store::ingest) did. Everything it counts is durable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IngestOutcome {
    /// At most one ack, for the batch's stream: `acked_through` is the batch's `last_seq`
    /// when it carried samples, the stream's high-water mark for a gap-only batch, and
    /// absent for a gap-only batch of a stream without stored samples.
    pub acks: Vec<StreamAck>,
    /// Samples stored by this call (new to the store; retention may have pruned some of
    /// them at once when the batch alone exceeds `history_per_node`).
    pub stored: u64,
    /// Samples already stored, or older than the retention window: not stored again.
    pub duplicates: u64,
    /// Agent gap records stored by this call (re-sent and expired ones excluded).
    pub gap_records: u64,
    /// Sequence holes this batch opened (as stored at the end of the call).
    pub holes: Vec<SeqHole>,
}

/// A stored sample and the stream it belongs to (seqs repeat across streams).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSample {
    pub stream: StreamId,
    pub sample: Sample,
}

/// Where a sample sits and when it was taken, without its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampleRef {
    pub stream: StreamId,
    pub seq: Seq,
    /// When the node took it, by its clock.
    pub at: UnixMillis,
}

/// One line of `GET /v1/nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSummary {
    pub id: NodeId,
    pub cluster: Option<ClusterId>,
    pub agent_version: String,
    /// The aggregator's clock when the node's first batch arrived.
    pub first_seen: UnixMillis,
    /// The aggregator's clock when the node's latest batch arrived.
    pub last_seen: UnixMillis,
    /// Samples currently stored (within the retention window).
    pub samples: u64,
    /// Agent gap records stored.
    pub gap_records: u64,
    /// Open sequence holes.
    pub holes: u64,
    /// The latest stored sample: highest seq of the stream that arrived last.
    pub latest: Option<SampleRef>,
}

/// `GET /v1/nodes/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeDetail {
    pub registry: Registry,
    /// The latest stored sample, in full.
    pub latest: Option<StoredSample>,
    /// Per stream, in order of first arrival: what the retention window holds.
    pub history: Vec<StreamHistory>,
    /// Agent-reported losses, by stream and range.
    pub gap_records: Vec<StoredGap>,
    /// Ranges the aggregator saw missing, by stream and range.
    pub holes: Vec<SeqHole>,
}

/// What the aggregator knows about a node from its batch headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registry {
    pub id: NodeId,
    /// The latest known cluster; a batch without one does not erase it.
    pub cluster: Option<ClusterId>,
    pub agent_version: String,
    /// As a UUID string.
    #[serde(serialize_with = "uuid")]
    pub boot_id: BootId,
    /// The stream of the latest batch.
    pub current_stream: StreamId,
    pub first_seen: UnixMillis,
    pub last_seen: UnixMillis,
    /// `sent_at` of the latest batch, by the node's clock.
    pub last_sent_at: UnixMillis,
}

/// The stored part of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamHistory {
    pub stream: StreamId,
    /// Samples stored.
    pub samples: u64,
    pub oldest: Option<SampleRef>,
    pub newest: Option<SampleRef>,
    /// Highest seq ever stored, even if retention pruned it since.
    pub high_water: Option<Seq>,
}

/// An agent gap record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredGap {
    pub record: GapRecord,
    /// The aggregator's clock when it first arrived.
    pub received_at: UnixMillis,
    /// The stream of the batch that carried it (after corruption not `record.stream`).
    pub carried_by: StreamId,
}

/// A gap record named by what identifies it. Part of a stored hole: changing it is a
/// layout change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRef {
    pub first_seq: Seq,
    pub last_seq: Seq,
    pub reason: GapReason,
}

/// A sequence hole: a range of a stream above which the aggregator has stored samples but
/// within which it has received none. Observed by the aggregator, unlike gap records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqHole {
    pub stream: StreamId,
    pub first_seq: Seq,
    pub last_seq: Seq,
    /// The aggregator's clock when the hole opened (kept when it shrinks or splits).
    pub first_seen: UnixMillis,
    /// Agent gap records of the same stream that overlap the hole (the first
    /// [`MAX_EXPLANATIONS`](super::holes::MAX_EXPLANATIONS) of them).
    pub explained_by: Vec<GapRef>,
    /// How many gap records overlap the hole in all.
    pub explaining_gaps: u64,
    /// Seqs of the hole that no gap record covers: 0 means fully explained.
    pub unexplained: u64,
}

impl SeqHole {
    /// `true` when agent gap records account for every seq of the hole.
    pub fn is_explained(&self) -> bool {
        self.unexplained == 0
    }
}

/// Totals for `/metrics` and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreStats {
    pub nodes: u64,
    pub samples: u64,
    pub gap_records: u64,
    pub holes: u64,
    /// sled's `size_on_disk`.
    pub bytes_on_disk: u64,
}

/// `BootId` as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn uuid<S: Serializer>(id: &BootId, s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(36);
    for (i, b) in id.0.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    s.serialize_str(&out)
}
