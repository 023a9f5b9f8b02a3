//! A batch: what an agent ships in one request. A header that says who sent it and which
//! range of its stream it carries, then samples and gap records.

use crate::bounded::Bounded;
use crate::gap::GapRecord;
use crate::ident::{BootId, ClusterId, NodeId, Seq, StreamId, UnixMillis};
use crate::sample::Sample;
use serde::{Deserialize, Serialize};

/// At most this many samples in one batch. A day of backlog at a 15 s interval is 5,760.
pub const MAX_SAMPLES: usize = 20_000;
/// At most this many gap records in one batch.
pub const MAX_GAPS: usize = 4_096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub header: BatchHeader,
    pub samples: Bounded<Sample, MAX_SAMPLES>,
    pub gaps: Bounded<GapRecord, MAX_GAPS>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// Must equal the envelope's version; checked on decode.
    pub protocol_version: u16,
    pub node: NodeId,
    /// Unknown until the inventory probe has derived it.
    pub cluster: Option<ClusterId>,
    pub agent_version: String,
    pub boot_id: BootId,
    pub stream: StreamId,
    /// Inclusive range of this stream's sequence numbers that the batch carries.
    pub first_seq: Seq,
    pub last_seq: Seq,
    pub sent_at: UnixMillis,
}

/// A batch that decodes but breaks an invariant the aggregator relies on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBatch {
    #[error("batch carries no samples and no gap records")]
    Empty,
    #[error("first_seq {first} is after last_seq {last}")]
    InvertedRange { first: u64, last: u64 },
    #[error("sample seq {seq} is outside the batch range {first}..={last}")]
    SampleOutsideRange { seq: u64, first: u64, last: u64 },
    #[error("sample seq {seq} does not increase over the previous {prev}")]
    SamplesNotIncreasing { seq: u64, prev: u64 },
    #[error("gap record {index}: range {first}..={last} is inverted")]
    GapInverted { index: usize, first: u64, last: u64 },
    #[error("gap record {index}: count {count} is not within 1..={len}")]
    GapCount { index: usize, count: u64, len: u64 },
    #[error("gap record {index} covers sample seq {seq} of the same stream")]
    GapOverlapsSample { index: usize, seq: u64 },
}

impl Batch {
    /// Checks the invariants that make exactly-once ingest well defined.
    pub fn validate(&self) -> Result<(), InvalidBatch> {
        let (first, last) = (self.header.first_seq.0, self.header.last_seq.0);
        if self.samples.is_empty() && self.gaps.is_empty() {
            return Err(InvalidBatch::Empty);
        }
        if first > last {
            return Err(InvalidBatch::InvertedRange { first, last });
        }
        let mut prev: Option<u64> = None;
        for s in &self.samples {
            let seq = s.seq.0;
            if !(first..=last).contains(&seq) {
                return Err(InvalidBatch::SampleOutsideRange { seq, first, last });
            }
            if let Some(p) = prev.filter(|&p| seq <= p) {
                return Err(InvalidBatch::SamplesNotIncreasing { seq, prev: p });
            }
            prev = Some(seq);
        }
        for (index, g) in self.gaps.iter().enumerate() {
            let (gf, gl) = (g.first_seq.0, g.last_seq.0);
            let len = g.range_len().ok_or(InvalidBatch::GapInverted {
                index,
                first: gf,
                last: gl,
            })?;
            if g.count == 0 || g.count > len {
                return Err(InvalidBatch::GapCount {
                    index,
                    count: g.count,
                    len,
                });
            }
            if g.stream == self.header.stream {
                // Samples are sorted: the first one at or after `gf` is the only candidate.
                let at = self.samples.partition_point(|s| s.seq.0 < gf);
                if let Some(s) = self.samples.get(at).filter(|s| s.seq.0 <= gl) {
                    return Err(InvalidBatch::GapOverlapsSample {
                        index,
                        seq: s.seq.0,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decode memory bound in `envelope`'s docs rests on this: a batch holds at most
    /// MAX_SAMPLES samples whose fixed part is this small; everything variable (strings,
    /// bounded vectors) is built from at least as many input bytes.
    #[test]
    fn a_full_batch_of_samples_has_a_small_fixed_memory_footprint() {
        let per_sample = std::mem::size_of::<Sample>();
        let per_gap = std::mem::size_of::<GapRecord>();
        let fixed = MAX_SAMPLES * per_sample + MAX_GAPS * per_gap;
        assert!(per_sample <= 1_280, "Sample is {per_sample} bytes");
        assert!(
            fixed <= 26 << 20,
            "a full batch's fixed part is {fixed} bytes"
        );
    }
}
