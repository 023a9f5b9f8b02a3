//! One ingest: a validated batch becomes one atomic sled batch.
//!
//! Runs under the node's lock (see `sled_store.rs`), so it reads the node's keys, decides in
//! memory and writes everything (samples, pruned samples, holes, gap records, the node
//! record) with one `apply_batch`: a crash leaves the node before or after the ingest,
//! never between. The caller flushes.
//!
//! Order of decisions: the header updates the registry; samples are classified (expired,
//! duplicate, late fill of a hole, new above the high-water mark, opening a hole when they
//! skip seqs); gap records are deduplicated and mark the holes they overlap; retention
//! prunes the node's oldest samples beyond `history_per_node` and, with them, holes and gap
//! records that end below the new floor; then every changed hole is explained again by the
//! gap records of its stream.

use std::collections::{BTreeMap, BTreeSet};

use edgeward_proto::reply::StreamAck;
use edgeward_proto::{Batch, NodeId, Sample, Seq, StreamId, UnixMillis};

use super::error::{StoreError, io};
use super::holes::{self, HoleId, HoleSet};
use super::keys;
use super::record::{GapValue, Latest, NodeRecord, decode, encode, malformed};
use super::view::{GapRef, IngestOutcome};

/// Stores what is new in `batch` (see the module docs); does not flush.
pub(super) fn ingest(
    tree: &sled::Tree,
    history_per_node: u64,
    batch: &Batch,
    received_at: UnixMillis,
) -> Result<IngestOutcome, StoreError> {
    let node = &batch.header.node;
    let node_key = keys::node_key(node);
    let mut record = match tree.get(&node_key).map_err(io("reading a node record"))? {
        Some(bytes) => decode::<NodeRecord>("node record", &node_key, &bytes)?,
        None => NodeRecord::new(&batch.header, received_at),
    };
    record.note(&batch.header, received_at);
    let mut run = Run {
        tree,
        node,
        record,
        holes: HoleSet::new(tree, node),
        ordinal: None,
        new_samples: Vec::new(),
        stored: 0,
        duplicates: 0,
        pruned: Vec::new(),
        new_gaps: BTreeMap::new(),
        gone_gaps: BTreeSet::new(),
        opened: Vec::new(),
    };
    run.take_samples(batch, received_at)?;
    run.take_gaps(batch, received_at)?;
    run.prune(history_per_node)?;
    run.explain()?;
    run.commit(batch, node_key)
}

/// The decisions of one ingest, before they are written.
struct Run<'a> {
    tree: &'a sled::Tree,
    node: &'a NodeId,
    record: NodeRecord,
    holes: HoleSet<'a>,
    /// Ordinal of the batch's stream, once it had samples.
    ordinal: Option<u32>,
    /// New samples, in seq order, all of `ordinal`.
    new_samples: Vec<&'a Sample>,
    stored: u64,
    duplicates: u64,
    /// Stored sample keys retention removes.
    pruned: Vec<sled::IVec>,
    new_gaps: BTreeMap<Vec<u8>, GapValue>,
    /// Stored gap keys retention removes.
    gone_gaps: BTreeSet<Vec<u8>>,
    opened: Vec<HoleId>,
}

impl<'a> Run<'a> {
    fn take_samples(
        &mut self,
        batch: &'a Batch,
        received_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (batch.samples.first(), batch.samples.last()) else {
            return Ok(());
        };
        let stream = batch.header.stream;
        let ordinal = self.record.ordinal_or_register(stream)?;
        self.ordinal = Some(ordinal);
        let (mut hwm, floor) = match self.record.stream(ordinal) {
            Some(state) => (state.hwm, state.floor),
            None => (None, None),
        };
        if let Some(h) = hwm.filter(|&h| first.seq <= h) {
            self.holes.load(stream, first.seq, last.seq.min(h))?;
        }
        for sample in &batch.samples {
            let seq = sample.seq;
            if floor.is_some_and(|f| seq <= f) {
                self.duplicates += 1; // older than the retention window
                continue;
            }
            match hwm {
                Some(h) if seq <= h => {
                    let key = keys::sample_key(self.node, ordinal, seq);
                    if self
                        .tree
                        .contains_key(key)
                        .map_err(io("looking up a sample"))?
                    {
                        self.duplicates += 1;
                        continue;
                    }
                    self.holes.fill(stream, seq);
                }
                Some(h) => {
                    if seq.0 - h.0 > 1 {
                        let id = self
                            .holes
                            .open(stream, Seq(h.0 + 1), Seq(seq.0 - 1), received_at);
                        self.opened.push(id);
                    }
                    hwm = Some(seq);
                }
                None => hwm = Some(seq),
            }
            self.new_samples.push(sample);
            if self
                .record
                .latest
                .is_none_or(|l| (ordinal, seq) > (l.ordinal, l.seq))
            {
                self.record.latest = Some(Latest {
                    ordinal,
                    seq,
                    at: sample.at,
                });
            }
        }
        self.stored = self.new_samples.len() as u64;
        if let Some(state) = self.record.stream_mut(ordinal) {
            state.hwm = hwm;
            state.samples += self.stored;
        }
        Ok(())
    }

    fn take_gaps(&mut self, batch: &Batch, received_at: UnixMillis) -> Result<(), StoreError> {
        for gap in &batch.gaps {
            if self.floor_of(gap.stream).is_some_and(|f| gap.last_seq <= f) {
                continue; // older than the retention window
            }
            let key = keys::gap_key(self.node, gap);
            if self.new_gaps.contains_key(&key)
                || self
                    .tree
                    .contains_key(&key)
                    .map_err(io("looking up a gap record"))?
            {
                continue;
            }
            self.holes.load(gap.stream, gap.first_seq, gap.last_seq)?;
            self.holes.touch(gap.stream, gap.first_seq, gap.last_seq);
            let value = GapValue {
                record: gap.clone(),
                received_at,
                carried_by: batch.header.stream,
            };
            self.new_gaps.insert(key, value);
        }
        Ok(())
    }

    /// Removes the node's oldest samples (stored or new) beyond `history_per_node`.
    fn prune(&mut self, history_per_node: u64) -> Result<(), StoreError> {
        let mut excess = self.record.samples().saturating_sub(history_per_node);
        if excess == 0 {
            return Ok(());
        }
        let prefix = keys::node_prefix(keys::SAMPLE, self.node);
        let mut stored = self.tree.scan_prefix(prefix).keys();
        let mut next_stored = || -> Result<Option<(sled::IVec, u32, Seq)>, StoreError> {
            let Some(key) = stored.next().transpose().map_err(io("scanning samples"))? else {
                return Ok(None);
            };
            let (ordinal, seq) = keys::parse_sample_key(&key).ok_or_else(|| malformed(&key))?;
            Ok(Some((key, ordinal, seq)))
        };
        let mut oldest_stored = next_stored()?;
        let mut pruned_new = 0;
        let mut floors: BTreeMap<u32, Seq> = BTreeMap::new();
        while excess > 0 {
            let oldest_new = match (self.ordinal, self.new_samples.get(pruned_new)) {
                (Some(o), Some(s)) => Some((o, s.seq)),
                _ => None,
            };
            let (ordinal, seq) = match (oldest_stored.take(), oldest_new) {
                (Some((key, o, s)), new) if new.is_none_or(|n| (o, s) < n) => {
                    self.pruned.push(key);
                    oldest_stored = next_stored()?;
                    (o, s)
                }
                (stored, Some(n)) => {
                    oldest_stored = stored;
                    pruned_new += 1;
                    n
                }
                (_, None) => break, // counts and keys disagree; prune what exists
            };
            if let Some(state) = self.record.stream_mut(ordinal) {
                state.samples = state.samples.saturating_sub(1);
            }
            let floor = floors.entry(ordinal).or_insert(seq);
            *floor = (*floor).max(seq);
            excess -= 1;
        }
        self.new_samples.drain(..pruned_new);
        for (ordinal, floor) in floors {
            let Some(state) = self.record.stream_mut(ordinal) else {
                continue;
            };
            let floor = state.floor.map_or(floor, |f| f.max(floor));
            state.floor = Some(floor);
            let stream = state.id;
            self.forget_through(stream, floor)?;
        }
        Ok(())
    }

    /// Drops holes and gap records of `stream` that end at or below `floor`.
    fn forget_through(&mut self, stream: StreamId, floor: Seq) -> Result<(), StoreError> {
        self.holes.load(stream, Seq(0), floor)?;
        self.holes.drop_through(stream, floor);
        let start = keys::stream_prefix(keys::GAP, self.node, stream);
        let end = keys::gap_key_upper(self.node, stream, floor);
        for key in self.tree.range(start..=end).keys() {
            let key = key.map_err(io("scanning gap records"))?;
            let gap = keys::parse_gap_key(&key).ok_or_else(|| malformed(&key))?;
            if gap.last_seq <= floor {
                self.gone_gaps.insert(key.to_vec());
            }
        }
        self.new_gaps
            .retain(|_, g| !(g.record.stream == stream && g.record.last_seq <= floor));
        Ok(())
    }

    /// Explains every changed hole again by the gap records of its stream that overlap it.
    fn explain(&mut self) -> Result<(), StoreError> {
        for id in self.holes.dirty() {
            let (stream, first) = id;
            let Some(last) = self.holes.get(&id).map(|h| h.last_seq) else {
                continue;
            };
            let start = keys::stream_prefix(keys::GAP, self.node, stream);
            let end = keys::gap_key_upper(self.node, stream, last);
            let mut gaps: Vec<GapRef> = Vec::new();
            for key in self.tree.range(start.clone()..=end.clone()).keys() {
                let key = key.map_err(io("scanning gap records"))?;
                if self.gone_gaps.contains(key.as_ref()) {
                    continue;
                }
                let gap = keys::parse_gap_key(&key).ok_or_else(|| malformed(&key))?;
                gaps.extend(Some(gap).filter(|g| g.last_seq >= first));
            }
            for key in self.new_gaps.range(start..=end).map(|(k, _)| k) {
                let gap = keys::parse_gap_key(key).ok_or_else(|| malformed(key))?;
                gaps.extend(Some(gap).filter(|g| g.last_seq >= first));
            }
            if let Some(hole) = self.holes.get_mut(&id) {
                holes::explain(hole, first, gaps);
            }
        }
        Ok(())
    }

    fn commit(mut self, batch: &Batch, node_key: Vec<u8>) -> Result<IngestOutcome, StoreError> {
        let mut writes = sled::Batch::default();
        if let Some(ordinal) = self.ordinal {
            for sample in &self.new_samples {
                writes.insert(
                    keys::sample_key(self.node, ordinal, sample.seq),
                    encode("sample", *sample)?,
                );
            }
        }
        for key in self.pruned.drain(..) {
            writes.remove(key);
        }
        let holes = self.holes.write(&mut writes)?;
        self.record.holes = (self.record.holes + holes.added).saturating_sub(holes.removed);
        for (key, gap) in &self.new_gaps {
            writes.insert(key.as_slice(), encode("gap record", gap)?);
        }
        for key in &self.gone_gaps {
            writes.remove(key.as_slice());
        }
        self.record.gap_records = (self.record.gap_records + self.new_gaps.len() as u64)
            .saturating_sub(self.gone_gaps.len() as u64);
        writes.insert(node_key, encode("node record", &self.record)?);
        self.tree
            .apply_batch(writes)
            .map_err(io("writing an ingested batch"))?;

        let stream = batch.header.stream;
        let acked_through = if batch.samples.is_empty() {
            self.record
                .ordinal(stream)
                .and_then(|o| self.record.stream(o))
                .and_then(|s| s.hwm)
        } else {
            Some(batch.header.last_seq)
        };
        Ok(IngestOutcome {
            acks: acked_through
                .map(|acked_through| StreamAck {
                    stream,
                    acked_through,
                })
                .into_iter()
                .collect(),
            stored: self.stored,
            duplicates: self.duplicates,
            gap_records: self.new_gaps.len() as u64,
            holes: self
                .opened
                .iter()
                .filter_map(|id| Some(self.holes.get(id)?.to_view(id.0, id.1)))
                .collect(),
        })
    }

    fn floor_of(&self, stream: StreamId) -> Option<Seq> {
        self.record.stream(self.record.ordinal(stream)?)?.floor
    }
}
