//! Quarantine: batches the aggregator will never accept leave the queue for a bounded area
//! an operator can inspect, and their loss is recorded as a `RejectedByAggregator` gap.
//!
//! Invariant: quarantine payload bytes never exceed `max_bytes / 4`; the oldest items are
//! evicted first (including the oldest items of a batch that alone exceeds the bound). Each
//! quarantine is one atomic sled batch, flushed before it returns.

use edgeward_proto::{GapReason, GapRecord, Sample};
use tracing::error;

use super::Pending;
use super::error::{OutboxError, RecordKey, corrupt, read_err, store};
use super::record::{
    self, GAP, META_KEY, QUARANTINE, Quarantined, QuarantinedItem, clip_detail, key, payload_len,
    sample_key, seal,
};
use super::state::{Inner, less};

impl Inner {
    pub(super) fn quarantine(
        &mut self,
        pending: &Pending,
        detail: &str,
    ) -> Result<(), OutboxError> {
        if pending.stream != self.meta.stream {
            return Err(OutboxError::StaleBatch {
                batch: pending.stream,
                current: self.meta.stream,
            });
        }
        let mut batch = sled::Batch::default();
        let mut taken: Vec<&Sample> = Vec::new();
        let mut taken_bytes = 0;
        for s in &pending.samples {
            if self.handed_through.is_none_or(|h| s.seq > h) {
                continue;
            }
            let k = sample_key(s.seq);
            if let Some(v) = self.db.get(k).map_err(read_err("quarantine"))? {
                batch.remove(&k);
                taken_bytes += payload_len(&v);
                taken.push(s);
            }
        }
        let changes = self.settle_gaps(pending.gaps.iter().map(|(id, _)| id), &mut batch)?;
        if taken.is_empty() && changes.is_empty() {
            return Ok(());
        }
        let mut meta = self.meta;
        meta.quarantined_batches += 1;
        meta.quarantined_samples += taken.len() as u64;
        let detail = clip_detail(detail);
        let items = pending
            .gaps
            .iter()
            .filter(|(id, _)| changes.iter().any(|c| c.id() == id.key))
            .map(|(_, g)| QuarantinedItem::Gap(g.clone()))
            .chain(
                taken
                    .iter()
                    .map(|s| QuarantinedItem::Sample(Box::new((*s).clone()))),
            );
        let mut sealed = Vec::new();
        for item in items {
            let q = Quarantined {
                batch: meta.quarantined_batches,
                detail: detail.clone(),
                item,
            };
            sealed.push(seal(&q, "quarantined item")?);
        }
        // Keep the newest items that fit the quarantine bound (skipping any too large to fit
        // beside them), then evict the oldest stored items to make room.
        let bound = self.cfg.max_bytes / 4;
        let mut new_bytes = 0;
        let mut keep = vec![false; sealed.len()];
        for (i, value) in sealed.iter().enumerate().rev() {
            if new_bytes + payload_len(value) <= bound {
                new_bytes += payload_len(value);
                keep[i] = true;
            }
        }
        let need = (self.quarantine_bytes + new_bytes).saturating_sub(bound);
        let mut freed = 0;
        if need > 0 {
            for item in self.db.scan_prefix([QUARANTINE]) {
                let (k, v) = item.map_err(read_err("evict quarantine"))?;
                batch.remove(k);
                freed += payload_len(&v);
                if freed >= need {
                    break;
                }
            }
        }
        for (value, _) in sealed.into_iter().zip(keep).filter(|(_, k)| *k) {
            batch.insert(&key(QUARANTINE, meta.next_quarantine), value);
            meta.next_quarantine += 1;
        }
        let rejected = match (taken.first(), taken.last()) {
            (Some(first), Some(last)) => {
                let g = GapRecord {
                    stream: meta.stream,
                    first_seq: first.seq,
                    last_seq: last.seq,
                    first_at: Some(first.at),
                    last_at: Some(last.at),
                    count: taken.len() as u64,
                    reason: GapReason::RejectedByAggregator,
                };
                batch.insert(&key(GAP, meta.next_gap), seal(&g, "gap record")?);
                meta.next_gap += 1;
                Some(g)
            }
            _ => None,
        };
        batch.insert(META_KEY, seal(&meta, "meta record")?);
        self.db.apply_batch(batch).map_err(store("quarantine"))?;

        self.meta = meta;
        self.commit_gaps(changes);
        self.gaps += u64::from(rejected.is_some());
        self.pending.samples = less(self.pending.samples, taken.len() as u64);
        self.pending.bytes = less(self.pending.bytes, taken_bytes);
        self.quarantine_bytes = less(self.quarantine_bytes, freed) + new_bytes;
        self.pending.oldest = self.first_sample()?;
        self.db.flush().map_err(store("flush"))?;
        self.save_state();
        error!(
            batch = meta.quarantined_batches,
            samples = taken.len(),
            first_seq = rejected.as_ref().map(|g| g.first_seq.0),
            last_seq = rejected.as_ref().map(|g| g.last_seq.0),
            detail = %detail,
            "Aggregator will never accept a batch: quarantined it and recorded the loss"
        );
        Ok(())
    }

    pub(super) fn read_quarantine(
        &self,
        max_bytes: usize,
    ) -> Result<Vec<Quarantined>, OutboxError> {
        let (mut out, mut bytes) = (Vec::new(), 0usize);
        for item in self.db.scan_prefix([QUARANTINE]) {
            let (k, v) = item.map_err(read_err("read quarantine"))?;
            let len = payload_len(&v) as usize;
            if !out.is_empty() && bytes + len > max_bytes {
                break;
            }
            out.push(record::open(&v).map_err(corrupt(RecordKey::parse(&k)))?);
            bytes += len;
        }
        Ok(out)
    }
}
