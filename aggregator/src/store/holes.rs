//! Sequence holes of one node as one ingest changes them, and how agent gap records explain
//! them.
//!
//! A hole is a range of a stream the aggregator has not received although it has stored
//! samples above it: opened when a sample arrives more than one past the stream's
//! high-water mark, shrunk or split when a late sample lands inside it, dropped when
//! retention passes its end. Holes of one stream are disjoint, so sorted by first seq they
//! are also sorted by last seq; [`HoleSet::load`] relies on that.
//!
//! [`HoleSet`] is an overlay: it loads only the stored holes an ingest can touch, changes them
//! in memory and writes the difference into the ingest's atomic sled batch.

use std::collections::{BTreeMap, BTreeSet};

use edgeward_proto::{NodeId, Seq, StreamId, UnixMillis};

use super::error::{StoreError, io};
use super::keys;
use super::record::{HoleRecord, decode, encode, malformed};
use super::view::GapRef;

/// A hole records at most this many explaining gap records (it counts all of them).
pub const MAX_EXPLANATIONS: usize = 16;

/// (stream, first seq): what a hole key encodes.
pub(super) type HoleId = (StreamId, Seq);

/// The holes of one node touched by one ingest.
#[derive(Debug)]
pub(super) struct HoleSet<'a> {
    tree: &'a sled::Tree,
    node: &'a NodeId,
    /// Holes read from the tree (their original ids), whatever happened to them since.
    loaded: BTreeSet<HoleId>,
    /// The current state of every loaded or opened hole.
    holes: BTreeMap<HoleId, HoleRecord>,
    /// Holes to write and to explain again.
    dirty: BTreeSet<HoleId>,
}

/// How many holes a write added and removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct HoleCount {
    pub added: u64,
    pub removed: u64,
}

impl<'a> HoleSet<'a> {
    pub fn new(tree: &'a sled::Tree, node: &'a NodeId) -> Self {
        Self {
            tree,
            node,
            loaded: BTreeSet::new(),
            holes: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// Reads the stored holes of `stream` that overlap `lo..=hi`, unless already read.
    pub fn load(&mut self, stream: StreamId, lo: Seq, hi: Seq) -> Result<(), StoreError> {
        let start = keys::hole_key(self.node, stream, Seq(0));
        let end = keys::hole_key(self.node, stream, hi);
        for item in self.tree.range(start..=end).rev() {
            let (key, value) = item.map_err(io("reading sequence holes"))?;
            let (_, first) = keys::parse_hole_key(&key).ok_or_else(|| malformed(&key))?;
            let hole: HoleRecord = decode("sequence hole", &key, &value)?;
            if hole.last_seq < lo {
                break; // disjoint and sorted: every earlier hole ends before this one
            }
            if self.loaded.insert((stream, first)) {
                self.holes.insert((stream, first), hole);
            }
        }
        Ok(())
    }

    /// Opens the hole `first..=last` of `stream`, first seen `at`.
    pub fn open(&mut self, stream: StreamId, first: Seq, last: Seq, at: UnixMillis) -> HoleId {
        let id = (stream, first);
        let hole = HoleRecord {
            last_seq: last,
            first_seen: at,
            explained_by: Vec::new(),
            explaining_gaps: 0,
            unexplained: span(first, last),
        };
        self.holes.insert(id, hole);
        self.dirty.insert(id);
        id
    }

    /// Takes `seq` out of the hole that holds it, if a loaded or opened one does.
    pub fn fill(&mut self, stream: StreamId, seq: Seq) {
        let Some((&id, hole)) = self
            .holes
            .range((stream, Seq(0))..=(stream, seq))
            .next_back()
        else {
            return;
        };
        if hole.last_seq < seq {
            return;
        }
        let Some(mut hole) = self.holes.remove(&id) else {
            return;
        };
        let (first, last) = (id.1, hole.last_seq);
        if seq < last {
            let upper = (stream, Seq(seq.0 + 1));
            self.holes.insert(
                upper,
                HoleRecord {
                    last_seq: last,
                    ..hole.clone()
                },
            );
            self.dirty.insert(upper);
        }
        if first < seq {
            hole.last_seq = Seq(seq.0 - 1);
            self.holes.insert(id, hole);
            self.dirty.insert(id);
        }
    }

    /// Marks the holes of `stream` overlapping `lo..=hi` for a new explanation.
    pub fn touch(&mut self, stream: StreamId, lo: Seq, hi: Seq) {
        let ids = self.overlapping(stream, lo, hi);
        self.dirty.extend(ids);
    }

    /// Drops the holes of `stream` that end at or below `floor`.
    pub fn drop_through(&mut self, stream: StreamId, floor: Seq) {
        let gone: Vec<HoleId> = self
            .holes
            .range((stream, Seq(0))..=(stream, floor))
            .filter(|(_, h)| h.last_seq <= floor)
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            self.holes.remove(&id);
        }
    }

    /// Holes that need writing and explaining, present at the end.
    pub fn dirty(&self) -> Vec<HoleId> {
        self.dirty
            .iter()
            .filter(|id| self.holes.contains_key(id))
            .copied()
            .collect()
    }

    pub fn get(&self, id: &HoleId) -> Option<&HoleRecord> {
        self.holes.get(id)
    }

    pub fn get_mut(&mut self, id: &HoleId) -> Option<&mut HoleRecord> {
        self.holes.get_mut(id)
    }

    /// Adds the difference to the stored holes to `batch`.
    pub fn write(&self, batch: &mut sled::Batch) -> Result<HoleCount, StoreError> {
        let mut count = HoleCount::default();
        for id in self.loaded.iter().filter(|id| !self.holes.contains_key(id)) {
            batch.remove(keys::hole_key(self.node, id.0, id.1));
            count.removed += 1;
        }
        for id in self.dirty() {
            if let Some(hole) = self.holes.get(&id) {
                batch.insert(
                    keys::hole_key(self.node, id.0, id.1),
                    encode("sequence hole", hole)?,
                );
                count.added += u64::from(!self.loaded.contains(&id));
            }
        }
        Ok(count)
    }

    fn overlapping(&self, stream: StreamId, lo: Seq, hi: Seq) -> Vec<HoleId> {
        self.holes
            .range((stream, Seq(0))..=(stream, hi))
            .filter(|(_, h)| h.last_seq >= lo)
            .map(|(&id, _)| id)
            .collect()
    }
}

/// Number of seqs in `first..=last` (saturating for the full range).
fn span(first: Seq, last: Seq) -> u64 {
    last.0.saturating_sub(first.0).saturating_add(1)
}

/// Explains the hole `first..=last` by the gap records `gaps` (of its stream, overlapping
/// it, in any order): sets what the hole records and how many of its seqs stay unexplained.
pub(super) fn explain(hole: &mut HoleRecord, first: Seq, mut gaps: Vec<GapRef>) {
    gaps.sort_by_key(|g| (g.first_seq, g.last_seq));
    let last = hole.last_seq;
    let mut covered = 0u64;
    let mut next = first; // first seq not yet counted
    let mut done = false;
    for g in &gaps {
        let lo = g.first_seq.max(next);
        let hi = g.last_seq.min(last);
        if done || lo > hi {
            continue;
        }
        covered = covered.saturating_add(span(lo, hi));
        match hi.0.checked_add(1) {
            Some(n) => next = Seq(n),
            None => done = true,
        }
    }
    hole.unexplained = span(first, last).saturating_sub(covered);
    hole.explaining_gaps = gaps.len() as u64;
    gaps.truncate(MAX_EXPLANATIONS);
    hole.explained_by = gaps;
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeward_proto::GapReason;

    fn hole(last: u64) -> HoleRecord {
        HoleRecord {
            last_seq: Seq(last),
            first_seen: UnixMillis(0),
            explained_by: Vec::new(),
            explaining_gaps: 0,
            unexplained: 0,
        }
    }

    fn gap(first: u64, last: u64) -> GapRef {
        GapRef {
            first_seq: Seq(first),
            last_seq: Seq(last),
            reason: GapReason::SizeBound,
        }
    }

    #[test]
    fn overlapping_gap_records_are_counted_once_in_the_explanation() {
        let mut h = hole(20);
        explain(&mut h, Seq(10), vec![gap(15, 25), gap(5, 12), gap(11, 13)]);
        assert_eq!(h.unexplained, 1, "only seq 14 is not covered");
        assert_eq!(h.explaining_gaps, 3);
    }

    #[test]
    fn a_hole_covered_end_to_end_is_explained_and_a_partial_one_is_not() {
        let mut full = hole(u64::MAX);
        explain(&mut full, Seq(0), vec![gap(0, u64::MAX)]);
        assert_eq!(full.unexplained, 0);
        let mut partial = hole(9);
        explain(&mut partial, Seq(0), vec![gap(2, 3), gap(7, 7)]);
        assert_eq!(partial.unexplained, 7);
    }

    #[test]
    fn filling_the_middle_of_a_hole_splits_it_and_keeps_first_seen() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let node = NodeId::new("edge-1").unwrap();
        let mut set = HoleSet::new(&db, &node);
        let s = StreamId(1);
        set.open(s, Seq(10), Seq(20), UnixMillis(7));
        set.fill(s, Seq(15));
        set.fill(s, Seq(10));
        set.fill(s, Seq(20));
        set.fill(s, Seq(99));
        let left = set.get(&(s, Seq(11))).unwrap();
        let right = set.get(&(s, Seq(16))).unwrap();
        assert_eq!((left.last_seq, right.last_seq), (Seq(14), Seq(19)));
        assert_eq!(right.first_seen, UnixMillis(7));
        assert_eq!(set.dirty(), vec![(s, Seq(11)), (s, Seq(16))]);
    }
}
