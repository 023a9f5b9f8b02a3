//! Reading and acknowledging: `read_batch`, `ack`, and how an acked (or quarantined) gap
//! snapshot settles the stored record.
//!
//! Invariant: `read_batch` removes nothing and holds at most its byte budget of samples.
//! `ack` removes a long acknowledged range in sled batches of at most [`ACK_CHUNK`] keys to
//! bound memory; a crash between chunks only means some acknowledged samples are sent again,
//! which the aggregator deduplicates. It flushes before it returns.

use edgeward_proto::batch::{MAX_GAPS, MAX_SAMPLES};
use edgeward_proto::{GapRecord, Seq};

use super::error::{Damage, OutboxError, RecordKey, corrupt, read_err, store};
use super::record::{self, GAP, SAMPLE, key, open_sample, payload_len, sample_key, seal};
use super::state::{Handout, Inner, less};
use super::{GapId, Pending};

/// Acknowledged samples are deleted in sled batches of at most this many keys.
const ACK_CHUNK: usize = 4_096;

/// How settling an acked or quarantined gap snapshot changes a stored gap record.
#[derive(Debug)]
pub(super) enum GapChange {
    Removed(u64),
    /// Extended since it was handed out: only the extension stays pending.
    Trimmed(u64, GapRecord),
}

impl Inner {
    pub(super) fn read_batch(&mut self, max_bytes: usize) -> Result<Pending, OutboxError> {
        let stream = self.meta.stream;
        let mut gaps = Vec::new();
        for item in self.db.scan_prefix([GAP]).take(MAX_GAPS) {
            let (k, v) = item.map_err(read_err("read gaps"))?;
            let key = RecordKey::parse(&k);
            let RecordKey::Gap(id) = key else {
                return Err(corrupt(key)(Damage::UnknownKey));
            };
            let g: GapRecord = record::open(&v).map_err(corrupt(key))?;
            gaps.push((GapId::of(stream, id, &g), g));
        }
        let (mut samples, mut bytes) = (Vec::new(), 0usize);
        for item in self.db.scan_prefix([SAMPLE]) {
            if samples.len() >= MAX_SAMPLES {
                break;
            }
            let (k, v) = item.map_err(read_err("read samples"))?;
            let key = RecordKey::parse(&k);
            let RecordKey::Sample(seq) = key else {
                return Err(corrupt(key)(Damage::UnknownKey));
            };
            let len = payload_len(&v) as usize;
            if !samples.is_empty() && bytes + len > max_bytes {
                break;
            }
            samples.push(open_sample(seq, &v).map_err(corrupt(key))?);
            bytes += len;
        }
        if let Some(last) = samples.last() {
            self.handed_through = self.handed_through.max(Some(last.seq));
            // Record that these seqs left, so that a store cut back to before them is
            // detected at the next open instead of reusing their seqs.
            if last.seq >= self.saved_next_seq {
                self.save_state();
            }
        }
        for (id, _) in &gaps {
            let handout = Handout {
                last_seq: id.last_seq,
                next_at: None,
            };
            self.handout.insert(id.key, handout);
        }
        Ok(Pending {
            stream,
            samples,
            gaps,
            bytes,
        })
    }

    pub(super) fn ack(&mut self, through: Seq, gaps: &[GapId]) -> Result<(), OutboxError> {
        // Only what this handle handed out can have been acknowledged.
        let through = self.handed_through.map_or(Seq(0), |h| through.min(h));
        let mut batch = sled::Batch::default();
        let changes = self.settle_gaps(gaps.iter(), &mut batch)?;
        let mut changed = !changes.is_empty();
        if changed {
            self.db.apply_batch(batch).map_err(store("ack gaps"))?;
            self.commit_gaps(changes);
        }
        changed |= self.forget_delivered_drops(through)?;
        loop {
            let (mut batch, mut n, mut bytes) = (sled::Batch::default(), 0usize, 0u64);
            let range = sample_key(Seq(0))..=sample_key(through);
            for item in self.db.range(range).take(ACK_CHUNK) {
                let (k, v) = item.map_err(read_err("ack samples"))?;
                bytes += payload_len(&v);
                batch.remove(k);
                n += 1;
            }
            if n == 0 {
                break;
            }
            self.db.apply_batch(batch).map_err(store("ack samples"))?;
            self.pending.samples = less(self.pending.samples, n as u64);
            self.pending.bytes = less(self.pending.bytes, bytes);
            changed = true;
            if n < ACK_CHUNK {
                break;
            }
        }
        if !changed && through <= self.acked_through {
            return Ok(());
        }
        self.pending.oldest = self.first_sample()?;
        self.acked_through = self.acked_through.max(through);
        self.db.flush().map_err(store("flush"))?;
        self.save_state();
        Ok(())
    }

    /// Samples dropped for space while their batch was in flight were delivered after all:
    /// takes them out of the pending size-bound gap record so that the loss it reports is
    /// exact. After the gap snapshots of the acknowledged batch are settled, what is left of
    /// the pending size-bound record was dropped after that batch was read; drops take the
    /// oldest samples first, so its seqs up to `through` are exactly the batch's samples that
    /// were dropped in flight. Returns whether anything changed.
    fn forget_delivered_drops(&mut self, through: Seq) -> Result<bool, OutboxError> {
        let Some((id, g)) = self.size_gap.clone() else {
            return Ok(false);
        };
        if g.stream != self.meta.stream || g.first_seq > through || self.handout.contains_key(&id) {
            return Ok(false);
        }
        let end = g.last_seq.min(through);
        let delivered = end.0 - g.first_seq.0 + 1;
        let k = key(GAP, id);
        if end == g.last_seq || delivered >= g.count {
            self.db.remove(k).map_err(store("forget delivered drops"))?;
            self.gaps = less(self.gaps, 1);
            self.size_gap = None;
        } else {
            let trimmed = GapRecord {
                first_seq: Seq(end.0 + 1),
                first_at: None,
                count: g.count - delivered,
                ..g
            };
            self.db
                .insert(k, seal(&trimmed, "gap record")?)
                .map_err(store("forget delivered drops"))?;
            self.size_gap = Some((id, trimmed));
        }
        Ok(true)
    }

    /// Works out what acknowledging (or quarantining) the handed-out gap snapshots `ids`
    /// does to the stored records, adding the writes to `batch`. Snapshots of another stream,
    /// not handed out by this handle, already settled, or listed twice change nothing.
    pub(super) fn settle_gaps<'a>(
        &self,
        ids: impl Iterator<Item = &'a GapId>,
        batch: &mut sled::Batch,
    ) -> Result<Vec<GapChange>, OutboxError> {
        let mut out: Vec<GapChange> = Vec::new();
        for id in ids {
            let Some(handout) = self.handout.get(&id.key) else {
                continue;
            };
            if id.outbox != self.meta.stream || out.iter().any(|c| c.id() == id.key) {
                continue;
            }
            let k = key(GAP, id.key);
            let Some(v) = self.db.get(k).map_err(read_err("settle gaps"))? else {
                continue;
            };
            let Ok(stored) = record::open::<GapRecord>(&v) else {
                // Unreadable now, but the aggregator has the copy it was handed.
                batch.remove(&k);
                out.push(GapChange::Removed(id.key));
                continue;
            };
            if stored.first_seq != id.first_seq || stored.last_seq < id.last_seq {
                continue;
            }
            let rest = stored.count.saturating_sub(id.count);
            if stored.last_seq == id.last_seq || rest == 0 {
                batch.remove(&k);
                out.push(GapChange::Removed(id.key));
                continue;
            }
            let first_at = handout.next_at.filter(|_| handout.last_seq == id.last_seq);
            let g = GapRecord {
                first_seq: Seq(id.last_seq.0 + 1),
                first_at,
                count: rest,
                ..stored
            };
            batch.insert(&k, seal(&g, "gap record")?);
            out.push(GapChange::Trimmed(id.key, g));
        }
        Ok(out)
    }

    pub(super) fn commit_gaps(&mut self, changes: Vec<GapChange>) {
        for change in changes {
            let id = change.id();
            self.handout.remove(&id);
            let ours = self.size_gap.as_ref().is_some_and(|(s, _)| *s == id);
            match change {
                GapChange::Removed(_) => {
                    self.gaps = less(self.gaps, 1);
                    if ours {
                        self.size_gap = None;
                    }
                }
                GapChange::Trimmed(_, g) if ours => self.size_gap = Some((id, g)),
                GapChange::Trimmed(..) => {}
            }
        }
    }

    pub(super) fn first_sample(&self) -> Result<Option<Seq>, OutboxError> {
        match self.db.scan_prefix([SAMPLE]).next() {
            None => Ok(None),
            Some(item) => {
                let (k, _) = item.map_err(read_err("find oldest"))?;
                match RecordKey::parse(&k) {
                    RecordKey::Sample(seq) => Ok(Some(seq)),
                    key => Err(corrupt(key)(Damage::UnknownKey)),
                }
            }
        }
    }
}

impl GapChange {
    pub(super) fn id(&self) -> u64 {
        match self {
            GapChange::Removed(id) | GapChange::Trimmed(id, _) => *id,
        }
    }
}
