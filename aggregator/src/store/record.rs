//! The records the store keeps besides samples, and their postcard encoding.
//!
//! Invariants of a [`NodeRecord`], kept by `ingest` under the node's lock and written in the
//! same atomic sled batch as the keys they describe:
//! - `streams[i]` is the stream whose samples are stored under ordinal `i`; streams are
//!   appended in order of their first sample's arrival and never removed.
//! - `streams[i].samples` is the number of `S` keys under ordinal `i`; `gap_records` and
//!   `holes` count the node's `G` and `H` keys.
//! - `hwm` is the highest seq ever stored in the stream; every seq at or below `floor` was
//!   pruned by retention or is older than what was pruned, and is never stored again.
//! - `latest` is the greatest (ordinal, seq) stored; retention never prunes it because
//!   `history_per_node >= 1`.
//!
//! Changing any record here bumps `keys::SCHEMA_VERSION`.

use edgeward_proto::{
    BatchHeader, BootId, ClusterId, GapRecord, NodeId, Seq, StreamId, UnixMillis,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::keys;
use super::view::{GapRef, NodeSummary, Registry, SampleRef, SeqHole, StoredGap};

/// The registry entry and bookkeeping of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct NodeRecord {
    pub id: NodeId,
    pub first_seen: UnixMillis,
    pub last_seen: UnixMillis,
    pub agent_version: String,
    pub cluster: Option<ClusterId>,
    pub boot_id: BootId,
    pub current_stream: StreamId,
    pub last_sent_at: UnixMillis,
    pub streams: Vec<StreamState>,
    pub latest: Option<Latest>,
    pub gap_records: u64,
    pub holes: u64,
}

/// Exactly-once bookkeeping of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StreamState {
    pub id: StreamId,
    pub hwm: Option<Seq>,
    pub floor: Option<Seq>,
    pub samples: u64,
}

/// The greatest stored sample key of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Latest {
    pub ordinal: u32,
    pub seq: Seq,
    pub at: UnixMillis,
}

/// A stored sequence hole; the stream and first seq are in its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct HoleRecord {
    pub last_seq: Seq,
    pub first_seen: UnixMillis,
    pub explained_by: Vec<GapRef>,
    pub explaining_gaps: u64,
    pub unexplained: u64,
}

/// A stored agent gap record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct GapValue {
    pub record: GapRecord,
    pub received_at: UnixMillis,
    pub carried_by: StreamId,
}

impl NodeRecord {
    /// A node seen for the first time, at `received_at`.
    pub fn new(header: &BatchHeader, received_at: UnixMillis) -> Self {
        Self {
            id: header.node.clone(),
            first_seen: received_at,
            last_seen: received_at,
            agent_version: header.agent_version.clone(),
            cluster: header.cluster.clone(),
            boot_id: header.boot_id,
            current_stream: header.stream,
            last_sent_at: header.sent_at,
            streams: Vec::new(),
            latest: None,
            gap_records: 0,
            holes: 0,
        }
    }

    /// Takes the registry fields from the latest batch to arrive. A batch without a
    /// cluster keeps the known one.
    pub fn note(&mut self, header: &BatchHeader, received_at: UnixMillis) {
        self.last_seen = self.last_seen.max(received_at);
        self.agent_version.clone_from(&header.agent_version);
        if let Some(cluster) = &header.cluster {
            self.cluster = Some(cluster.clone());
        }
        self.boot_id = header.boot_id;
        self.current_stream = header.stream;
        self.last_sent_at = header.sent_at;
    }

    /// The ordinal of `stream`, numbering it after the known ones if it is new.
    pub fn ordinal_or_register(&mut self, stream: StreamId) -> Result<u32, StoreError> {
        if let Some(ordinal) = self.ordinal(stream) {
            return Ok(ordinal);
        }
        let ordinal =
            u32::try_from(self.streams.len()).map_err(|_| StoreError::TooManyStreams {
                node: self.id.clone(),
            })?;
        self.streams.push(StreamState {
            id: stream,
            hwm: None,
            floor: None,
            samples: 0,
        });
        Ok(ordinal)
    }

    pub fn stream_mut(&mut self, ordinal: u32) -> Option<&mut StreamState> {
        self.streams.get_mut(usize::try_from(ordinal).ok()?)
    }

    /// Samples stored for the node.
    pub fn samples(&self) -> u64 {
        self.streams.iter().map(|s| s.samples).sum()
    }

    /// The ordinal of `stream`, if it has ever had samples stored.
    pub fn ordinal(&self, stream: StreamId) -> Option<u32> {
        let at = self.streams.iter().position(|s| s.id == stream)?;
        u32::try_from(at).ok()
    }

    /// The state of the stream under `ordinal`.
    pub fn stream(&self, ordinal: u32) -> Option<&StreamState> {
        self.streams.get(usize::try_from(ordinal).ok()?)
    }

    /// The stored latest sample, with its stream.
    pub fn latest_ref(&self) -> Option<SampleRef> {
        let latest = self.latest?;
        Some(SampleRef {
            stream: self.stream(latest.ordinal)?.id,
            seq: latest.seq,
            at: latest.at,
        })
    }

    pub fn summary(&self) -> NodeSummary {
        NodeSummary {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            agent_version: self.agent_version.clone(),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            samples: self.samples(),
            gap_records: self.gap_records,
            holes: self.holes,
            latest: self.latest_ref(),
        }
    }

    pub fn registry(&self) -> Registry {
        Registry {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            agent_version: self.agent_version.clone(),
            boot_id: self.boot_id,
            current_stream: self.current_stream,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            last_sent_at: self.last_sent_at,
        }
    }
}

impl HoleRecord {
    pub fn to_view(&self, stream: StreamId, first_seq: Seq) -> SeqHole {
        SeqHole {
            stream,
            first_seq,
            last_seq: self.last_seq,
            first_seen: self.first_seen,
            explained_by: self.explained_by.clone(),
            explaining_gaps: self.explaining_gaps,
            unexplained: self.unexplained,
        }
    }
}

impl GapValue {
    pub fn to_view(&self) -> StoredGap {
        StoredGap {
            record: self.record.clone(),
            received_at: self.received_at,
            carried_by: self.carried_by,
        }
    }
}

/// postcard bytes of `value`.
pub(super) fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|source| StoreError::Encode { what, source })
}

/// Decodes the value stored at `key`.
pub(super) fn decode<T: DeserializeOwned>(
    what: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|source| StoreError::Corrupt {
        what,
        key: keys::display(key),
        source,
    })
}

/// The error for a key that does not parse.
pub(super) fn malformed(key: &[u8]) -> StoreError {
    StoreError::MalformedKey {
        key: keys::display(key),
    }
}
