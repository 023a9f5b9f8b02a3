//! Tests of the outbox, on real sled files in temporary directories: the queue invariants
//! (`queue`), quarantine (`quarantine`), corruption handling (`corruption`) and a
//! model-based property test against a `VecDeque` (`model`).

mod corruption;
mod model;
mod quarantine;
mod queue;

use std::collections::BTreeMap;
use std::path::Path;

use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{GapReason, GapRecord, Sample, Seq, UnixMillis};

use super::record::{GAP, SAMPLE};
use super::{Outbox, OutboxConfig};

/// A realistic synthetic sample; `i` picks its values and time, the outbox assigns the seq.
pub(super) fn sample(i: u64) -> Sample {
    SyntheticNode::new(7).sample(i, UnixMillis(1_700_000_000_000 + i as i64 * 15_000))
}

/// The payload bytes `sample(i)` takes once stored under `seq`.
pub(super) fn size(i: u64, seq: u64) -> u64 {
    let mut s = sample(i);
    s.seq = Seq(seq);
    postcard::to_allocvec(&s).unwrap().len() as u64
}

pub(super) fn cfg(dir: &Path, max_bytes: u64) -> OutboxConfig {
    OutboxConfig {
        dir: dir.join("outbox"),
        max_bytes,
        cache_bytes: 1 << 20,
    }
}

/// Opens an outbox that must not need recovery.
pub(super) fn open(cfg: &OutboxConfig) -> Outbox {
    let (ob, recovery) = Outbox::open(cfg).unwrap();
    assert_eq!(recovery, None, "unexpected recovery");
    ob
}

/// Appends `sample(i)` for each `i` in `range`.
pub(super) fn fill(ob: &Outbox, range: std::ops::Range<u64>) {
    for i in range {
        ob.append(sample(i)).unwrap();
    }
}

/// Seqs of the pending samples, read straight from the tree (no hand-out bookkeeping).
pub(super) fn pending_seqs(ob: &Outbox) -> Vec<u64> {
    let inner = ob.inner();
    inner
        .db
        .scan_prefix([SAMPLE])
        .keys()
        .map(|k| u64::from_be_bytes(k.unwrap()[1..].try_into().unwrap()))
        .collect()
}

/// The pending gap records by id, read straight from the tree.
pub(super) fn pending_gaps(ob: &Outbox) -> BTreeMap<u64, GapRecord> {
    let inner = ob.inner();
    inner
        .db
        .scan_prefix([GAP])
        .map(|kv| {
            let (k, v) = kv.unwrap();
            let id = u64::from_be_bytes(k[1..].try_into().unwrap());
            (id, super::record::open(&v).unwrap())
        })
        .collect()
}

pub(super) fn gaps_of(ob: &Outbox, reason: GapReason) -> Vec<GapRecord> {
    pending_gaps(ob)
        .into_values()
        .filter(|g| g.reason == reason)
        .collect()
}

/// Rough synthetic payload size, for bounds in tests (sizes vary by a few bytes).
#[test]
fn synthetic_samples_are_a_few_hundred_bytes() {
    let n = size(1, 1);
    assert!((200..2_000).contains(&n), "{n}");
}
