//! Model-based property test: random sequences of append, read, ack, quarantine and reopen
//! (drop every handle and open again: a crash after the last flush) against a `VecDeque`
//! model. After every step the pending seqs, next seq, byte tally and bound, counters, and
//! the gap accounting must match: every dropped seq is covered by exactly one size-bound gap
//! record (pending, or settled by an ack or quarantine that listed it), every quarantined
//! seq by exactly one rejected-by-aggregator record, and gap counts equal their range
//! lengths (drops and quarantines take contiguous runs).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use edgeward_proto::{GapReason, GapRecord, Section, Seq, UnavailableReason};
use proptest::prelude::*;
use proptest::test_runner::Config;
use tempfile::tempdir;

use super::*;
use crate::buffer::{GapId, Pending};

#[derive(Debug, Clone)]
enum Op {
    /// Append a sample made `n * 40` bytes larger than a typical one, so that one append
    /// sometimes has to drop several.
    Append(u8),
    /// Read with a budget of `n / 2` typical samples (0: the one-sample minimum).
    Read(u8),
    /// Ack through one of the samples of an earlier read, with or without its gaps.
    Ack {
        read: usize,
        sample: usize,
        gaps: bool,
    },
    Quarantine {
        read: usize,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop_oneof![3 => Just(0u8), 1 => 1u8..6].prop_map(Op::Append),
        3 => (0u8..8).prop_map(Op::Read),
        3 => (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(read, sample, gaps)| Op::Ack { read, sample, gaps }),
        1 => any::<usize>().prop_map(|read| Op::Quarantine { read }),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Debug, Default)]
struct Model {
    next_seq: u64,
    max: u64,
    pending: VecDeque<(u64, u64)>,
    bytes: u64,
    handed: Option<u64>,
    dropped: BTreeSet<u64>,
    /// Dropped seqs the outbox stopped reporting as lost because an ack said they were
    /// durable at the aggregator after all (dropped while their batch was in flight).
    forgiven: BTreeSet<u64>,
    quarantined: BTreeSet<u64>,
}

impl Model {
    fn append(&mut self, bytes: u64) -> u64 {
        let mut dropped = 0;
        while self.bytes + bytes > self.max {
            let (seq, b) = self.pending.pop_front().unwrap();
            self.bytes -= b;
            self.dropped.insert(seq);
            dropped += 1;
        }
        self.pending.push_back((self.next_seq, bytes));
        self.bytes += bytes;
        self.next_seq += 1;
        dropped
    }

    fn expect_read(&self, budget: usize) -> Vec<u64> {
        let mut acc = 0;
        let mut out = Vec::new();
        for &(seq, b) in &self.pending {
            if !out.is_empty() && acc + b as usize > budget {
                break;
            }
            acc += b as usize;
            out.push(seq);
        }
        out
    }

    /// Removes the pending seqs for which `gone` holds; returns them.
    fn remove(&mut self, mut gone: impl FnMut(u64) -> bool) -> Vec<u64> {
        let mut removed = Vec::new();
        self.pending.retain(|&(seq, b)| {
            let g = gone(seq);
            if g {
                removed.push(seq);
                self.bytes -= b;
            }
            !g
        });
        removed
    }
}

/// Gap records settled between two snapshots: removed ones whole, trimmed ones' front part.
fn settled(
    before: &BTreeMap<u64, GapRecord>,
    after: &BTreeMap<u64, GapRecord>,
) -> Vec<(u64, GapRecord)> {
    let mut out = Vec::new();
    for (id, b) in before {
        match after.get(id) {
            None => out.push((*id, b.clone())),
            Some(a) if a.first_seq > b.first_seq => {
                let front = GapRecord {
                    last_seq: Seq(a.first_seq.0 - 1),
                    count: b.count - a.count,
                    ..b.clone()
                };
                out.push((*id, front));
            }
            Some(a) => assert_eq!(a.first_seq, b.first_seq),
        }
    }
    out
}

/// The seqs `gaps` of `reason` cover; each must count exactly its range and not overlap.
fn covered(gaps: &[GapRecord], reason: GapReason) -> BTreeSet<u64> {
    let mut seqs = BTreeSet::new();
    for g in gaps.iter().filter(|g| g.reason == reason) {
        assert_eq!(
            Some(g.count),
            g.range_len(),
            "count is not the range: {g:?}"
        );
        for s in g.first_seq.0..=g.last_seq.0 {
            assert!(seqs.insert(s), "seq {s} covered twice");
        }
    }
    seqs
}

fn check(ob: &Outbox, m: &Model, shipped: &[GapRecord]) {
    let want: Vec<u64> = m.pending.iter().map(|p| p.0).collect();
    assert_eq!(pending_seqs(ob), want);
    assert_eq!(ob.next_seq(), Seq(m.next_seq));
    let st = ob.stats();
    assert_eq!(st.pending_samples, want.len() as u64);
    assert_eq!(st.pending_bytes, m.bytes);
    assert!(st.pending_bytes <= m.max);
    assert_eq!(st.oldest_pending_seq, want.first().map(|&s| Seq(s)));
    assert_eq!(st.newest_pending_seq, want.last().map(|&s| Seq(s)));
    assert_eq!(st.dropped_total, m.dropped.len() as u64);
    assert_eq!(st.quarantined_samples_total, m.quarantined.len() as u64);
    let pending = pending_gaps(ob);
    assert_eq!(st.pending_gaps, pending.len() as u64);
    let all: Vec<GapRecord> = pending
        .into_values()
        .chain(shipped.iter().cloned())
        .collect();
    let lost: BTreeSet<u64> = m.dropped.difference(&m.forgiven).copied().collect();
    assert_eq!(covered(&all, GapReason::SizeBound), lost);
    assert_eq!(
        covered(&all, GapReason::RejectedByAggregator),
        m.quarantined
    );
}

fn run(max_samples: u64, ops: Vec<Op>) {
    let tmp = tempdir().unwrap();
    let typical = size(1, 1);
    let c = cfg(tmp.path(), max_samples * typical);
    let mut ob = open(&c);
    let mut m = Model {
        next_seq: 1,
        max: c.max_bytes,
        ..Model::default()
    };
    let mut reads: Vec<Pending> = Vec::new();
    let mut shipped: Vec<GapRecord> = Vec::new();
    for op in ops {
        let before = pending_gaps(&ob);
        let mut allowed: Vec<GapId> = Vec::new();
        // Dropped seqs at or below this were acked in this step: durable after all.
        let mut forgivable = 0;
        match op {
            Op::Append(n) => {
                let seq = m.next_seq;
                let mut s = sample(seq);
                if n > 0 {
                    let detail = "x".repeat(usize::from(n) * 40);
                    s.inventory = Section::unavailable(UnavailableReason::Failed, detail);
                }
                let bytes = {
                    let mut s = s.clone();
                    s.seq = Seq(seq);
                    postcard::to_allocvec(&s).unwrap().len() as u64
                };
                let a = ob.append(s).unwrap();
                assert_eq!(a.seq, Seq(seq));
                assert_eq!(a.dropped, m.append(bytes));
            }
            Op::Read(n) => {
                let budget = (typical * u64::from(n) / 2) as usize;
                let p = ob.read_batch(budget).unwrap();
                let got: Vec<u64> = p.samples.iter().map(|s| s.seq.0).collect();
                assert_eq!(got, m.expect_read(budget));
                assert!(p.bytes <= budget || p.samples.len() == 1);
                assert_eq!(
                    p.gaps.iter().map(|g| g.1.clone()).collect::<Vec<_>>(),
                    before.values().cloned().collect::<Vec<_>>()
                );
                m.handed = m.handed.max(got.last().copied());
                reads.push(p);
                if reads.len() > 6 {
                    reads.remove(0);
                }
            }
            Op::Ack { read, sample, gaps } if !reads.is_empty() => {
                let r = &reads[read % reads.len()];
                let through = r
                    .samples
                    .get(sample % r.samples.len().max(1))
                    .map_or(Seq(0), |s| s.seq);
                if gaps {
                    allowed = r.gaps.iter().map(|g| g.0).collect();
                }
                ob.ack(through, &allowed).unwrap();
                let limit = through.0.min(m.handed.unwrap_or(0));
                m.remove(|seq| seq <= limit);
                forgivable = limit;
            }
            Op::Quarantine { read } if !reads.is_empty() => {
                let r = reads[read % reads.len()].clone();
                allowed = r.gaps.iter().map(|g| g.0).collect();
                ob.quarantine(&r, "model").unwrap();
                let limit = m.handed.unwrap_or(0);
                let listed: BTreeSet<u64> = r.samples.iter().map(|s| s.seq.0).collect();
                let gone = m.remove(|seq| seq <= limit && listed.contains(&seq));
                m.quarantined.extend(gone);
            }
            Op::Reopen => {
                drop(ob);
                ob = open(&c);
                m.handed = None;
            }
            Op::Ack { .. } | Op::Quarantine { .. } => {}
        }
        for (id, g) in settled(&before, &pending_gaps(&ob)) {
            // The part a listed snapshot covered was shipped; anything beyond it may only go
            // because an ack through it says those seqs are durable at the aggregator.
            let snapshot = allowed.iter().find(|a| a.key == id).and_then(|a| {
                reads
                    .iter()
                    .flat_map(|r| r.gaps.iter())
                    .find(|(gid, _)| gid == a)
                    .map(|(_, rec)| rec.clone())
            });
            let shipped_through = match snapshot {
                Some(snap) if snap.first_seq == g.first_seq => {
                    let part = GapRecord {
                        last_seq: snap.last_seq.min(g.last_seq),
                        count: snap.last_seq.min(g.last_seq).0 - g.first_seq.0 + 1,
                        ..g.clone()
                    };
                    let through = part.last_seq.0;
                    shipped.push(part);
                    through
                }
                _ => g.first_seq.0 - 1,
            };
            for seq in shipped_through + 1..=g.last_seq.0 {
                assert!(
                    g.reason == GapReason::SizeBound && seq <= forgivable,
                    "gap {id} settled unasked beyond what was acked: {g:?}"
                );
                m.forgiven.insert(seq);
            }
        }
        check(&ob, &m, &shipped);
    }
}

proptest! {
    #![proptest_config(Config { cases: 128, failure_persistence: None, ..Config::default() })]

    #[test]
    fn outbox_matches_a_vecdeque_model_through_random_operations_and_reopens(
        max_samples in 2u64..10,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(max_samples, ops);
    }
}
