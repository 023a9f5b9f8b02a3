//! The records of the outbox's one sled tree: key encoding, the checksummed value framing,
//! and the meta and quarantine record types. The layout itself is documented in [`super`].
//!
//! Invariant: every value is `crc32(payload) as u32 LE ++ payload`, `payload` being postcard;
//! [`checked`] is the only way to get at a payload, so nothing reads unchecked bytes.

use edgeward_proto::{GapRecord, Sample, Seq, StreamId, UnixMillis};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{Damage, OutboxError, RecordKey};

/// Bytes of checksum in front of every payload.
pub(super) const HEADER: usize = 4;
/// The on-disk format this build reads and writes, stored in the meta record.
pub(super) const FORMAT: u16 = 1;

pub(super) const META_KEY: &[u8] = b"m";
pub(super) const SAMPLE: u8 = b's';
pub(super) const GAP: u8 = b'g';
pub(super) const QUARANTINE: u8 = b'q';

/// `prefix ++ n as u64 BE`: big-endian so that sled's byte order is numeric order.
pub(super) fn key(prefix: u8, n: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = prefix;
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

pub(super) fn sample_key(seq: Seq) -> [u8; 9] {
    key(SAMPLE, seq.0)
}

impl RecordKey {
    pub(super) fn parse(k: &[u8]) -> Self {
        if k == META_KEY {
            return RecordKey::Meta;
        }
        let Some((&prefix, rest)) = k.split_first() else {
            return RecordKey::Unknown;
        };
        let Ok(n) = <[u8; 8]>::try_from(rest).map(u64::from_be_bytes) else {
            return RecordKey::Unknown;
        };
        match prefix {
            SAMPLE => RecordKey::Sample(Seq(n)),
            GAP => RecordKey::Gap(n),
            QUARANTINE => RecordKey::Quarantine(n),
            _ => RecordKey::Unknown,
        }
    }
}

/// Frames `value` as checksum + postcard.
pub(super) fn seal<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>, OutboxError> {
    let mut out = postcard::to_extend(value, vec![0u8; HEADER])
        .map_err(|source| OutboxError::Encode { what, source })?;
    let crc = crc32fast::hash(&out[HEADER..]);
    out[..HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// The payload of a stored value, after checking its checksum.
pub(super) fn checked(value: &[u8]) -> Result<&[u8], Damage> {
    let (head, payload) = value
        .split_first_chunk::<HEADER>()
        .ok_or(Damage::Short { len: value.len() })?;
    let stored = u32::from_le_bytes(*head);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(Damage::Checksum { stored, computed });
    }
    Ok(payload)
}

/// Checks and decodes a stored value.
pub(super) fn open<T: DeserializeOwned>(value: &[u8]) -> Result<T, Damage> {
    postcard::from_bytes(checked(value)?).map_err(Damage::Decode)
}

/// Checks and decodes a stored sample, which must carry the seq of its key.
pub(super) fn open_sample(seq: Seq, value: &[u8]) -> Result<Sample, Damage> {
    let sample: Sample = open(value)?;
    if sample.seq != seq {
        return Err(Damage::SeqMismatch {
            expected: seq.0,
            found: sample.seq.0,
        });
    }
    Ok(sample)
}

/// The first two fields of a sample, decoded without the rest (postcard is sequential, so
/// a prefix of `Sample`'s fields decodes from a prefix of its bytes).
#[derive(Debug, Clone, Copy, Deserialize)]
pub(super) struct SampleHead {
    pub seq: Seq,
    pub at: UnixMillis,
}

/// Checks a stored sample and decodes its head.
pub(super) fn open_head(seq: Seq, value: &[u8]) -> Result<SampleHead, Damage> {
    let (head, _) =
        postcard::take_from_bytes::<SampleHead>(checked(value)?).map_err(Damage::Decode)?;
    if head.seq != seq {
        return Err(Damage::SeqMismatch {
            expected: seq.0,
            found: head.seq.0,
        });
    }
    Ok(head)
}

/// Encoded size of a stored value's payload: what the byte bounds count.
pub(super) fn payload_len(value: &[u8]) -> u64 {
    value.len().saturating_sub(HEADER) as u64
}

/// The outbox's counters and identity, rewritten in the same atomic batch as every change
/// that moves a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Meta {
    pub format: u16,
    pub stream: StreamId,
    /// The seq the next appended sample gets.
    pub next_seq: Seq,
    pub next_gap: u64,
    pub next_quarantine: u64,
    pub dropped_total: u64,
    pub quarantined_batches: u64,
    pub quarantined_samples: u64,
    /// How many times this outbox's predecessors were found corrupt and replaced.
    pub recoveries: u64,
}

impl Meta {
    pub(super) fn fresh(stream: StreamId, recoveries: u64) -> Self {
        Meta {
            format: FORMAT,
            stream,
            next_seq: Seq(1),
            next_gap: 1,
            next_quarantine: 1,
            dropped_total: 0,
            quarantined_batches: 0,
            quarantined_samples: 0,
            recoveries,
        }
    }
}

/// One item of a batch the aggregator refused, kept for an operator to inspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quarantined {
    /// Which quarantined batch (1, 2, ...) of this outbox the item came from.
    pub batch: u64,
    /// The aggregator's reason, as the caller passed it (at most [`MAX_DETAIL`] bytes).
    pub detail: String,
    pub item: QuarantinedItem,
}

/// At most this many bytes of the refusal detail are kept with each quarantined item.
pub const MAX_DETAIL: usize = 512;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QuarantinedItem {
    Sample(Box<Sample>),
    Gap(GapRecord),
}

/// `detail` cut to at most [`MAX_DETAIL`] bytes on a character boundary.
pub(super) fn clip_detail(detail: &str) -> String {
    let mut end = detail.len().min(MAX_DETAIL);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    detail[..end].to_owned()
}
