//! Gap records: the only way edgeward loses data is visible. Every sample an agent drops
//! (outbox size bound, unreadable outbox, batch the aggregator will never accept) is
//! accounted for by a gap record that ships like data.

use crate::ident::{Seq, StreamId, UnixMillis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRecord {
    /// The stream the lost samples belonged to: after outbox corruption that is the old
    /// stream, not the one this record travels in.
    pub stream: StreamId,
    /// First and last sequence number of the range lost (inclusive).
    pub first_seq: Seq,
    pub last_seq: Seq,
    /// Time range of the lost samples, when the agent still knows it.
    pub first_at: Option<UnixMillis>,
    pub last_at: Option<UnixMillis>,
    /// Samples lost. At most the length of the range.
    pub count: u64,
    pub reason: GapReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GapReason {
    /// The outbox reached its size bound and dropped its oldest samples.
    SizeBound,
    /// The outbox could not be read and was moved aside.
    Corruption,
    /// The aggregator answered that it will never accept the batch; it was quarantined.
    RejectedByAggregator,
}

impl GapRecord {
    /// Length of the sequence range, `None` when `last_seq < first_seq`.
    pub fn range_len(&self) -> Option<u64> {
        self.last_seq
            .0
            .checked_sub(self.first_seq.0)
            .map(|d| d.saturating_add(1))
    }
}
