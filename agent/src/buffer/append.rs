//! Appending a sample, and the byte bound: which oldest samples an append drops and the
//! size-bound gap record that accounts for them.
//!
//! Invariant: one append is one atomic sled batch (the dropped samples' removal, the new or
//! extended gap record, the sample and the meta record with the next seq), applied before
//! the in-memory state changes and flushed before `append` returns.

use edgeward_proto::{GapReason, GapRecord, Sample, Seq, UnixMillis};
use tracing::{debug, error, warn};

use super::Appended;
use super::error::{Damage, OutboxError, RecordKey, corrupt, read_err, store};
use super::record::{GAP, META_KEY, Meta, SAMPLE, key, open_head, payload_len, sample_key, seal};
use super::state::{Inner, less};

/// The oldest samples an append drops to stay within the bound.
#[derive(Debug)]
struct Eviction {
    keys: Vec<sled::IVec>,
    count: u64,
    bytes: u64,
    first: (Seq, Option<UnixMillis>),
    last: (Seq, Option<UnixMillis>),
    /// The oldest sample left behind, if any older than the one being appended.
    next_oldest: Option<Seq>,
}

impl Inner {
    pub(super) fn append(&mut self, mut sample: Sample) -> Result<Appended, OutboxError> {
        let seq = self.meta.next_seq;
        sample.seq = seq;
        let value = seal(&sample, "sample")?;
        let bytes = payload_len(&value);
        if bytes > self.cfg.max_bytes {
            return Err(OutboxError::SampleTooLarge {
                bytes,
                max_bytes: self.cfg.max_bytes,
            });
        }
        let mut meta = self.meta;
        meta.next_seq = Seq(seq.0.saturating_add(1));
        let mut batch = sled::Batch::default();
        let over = (self.pending.bytes + bytes).saturating_sub(self.cfg.max_bytes);
        let evict = if over > 0 {
            self.plan_drop(over)?
        } else {
            None
        };
        let mut gap = None;
        if let Some(d) = &evict {
            for k in &d.keys {
                batch.remove(k);
            }
            let (id, g, extended_from) = self.size_gap_for(d, &mut meta);
            batch.insert(&key(GAP, id), seal(&g, "gap record")?);
            meta.dropped_total += d.count;
            gap = Some((id, g, extended_from));
        }
        batch.insert(&sample_key(seq), value);
        batch.insert(META_KEY, seal(&meta, "meta record")?);
        self.db.apply_batch(batch).map_err(store("append"))?;

        self.meta = meta;
        let dropped = evict.as_ref().map_or(0, |d| d.count);
        self.pending.samples = less(self.pending.samples, dropped) + 1;
        self.pending.bytes =
            less(self.pending.bytes, evict.as_ref().map_or(0, |d| d.bytes)) + bytes;
        self.pending.oldest = match &evict {
            Some(d) => d.next_oldest.or(Some(seq)),
            None => self.pending.oldest.or(Some(seq)),
        };
        if let (Some(d), Some((id, g, extended_from))) = (&evict, gap) {
            match extended_from {
                Some(from) => {
                    debug!(
                        gap = id,
                        first_seq = g.first_seq.0,
                        last_seq = g.last_seq.0,
                        count = g.count,
                        "Outbox full: extended the size-bound gap"
                    );
                    if let Some(h) = self.handout.get_mut(&id)
                        && h.last_seq == from
                        && h.next_at.is_none()
                    {
                        h.next_at = d.first.1;
                    }
                }
                None => {
                    error!(
                        gap = id,
                        first_seq = g.first_seq.0,
                        max_bytes = self.cfg.max_bytes,
                        "Outbox full: dropping the oldest samples, recorded in a size-bound gap record"
                    );
                    self.gaps += 1;
                }
            }
            self.size_gap = Some((id, g));
        }
        self.db.flush().map_err(store("flush"))?;
        Ok(Appended { seq, dropped })
    }

    /// The oldest samples whose payloads add up to at least `need` bytes.
    fn plan_drop(&self, need: u64) -> Result<Option<Eviction>, OutboxError> {
        let mut plan: Option<Eviction> = None;
        for item in self.db.scan_prefix([SAMPLE]) {
            let (k, v) = item.map_err(read_err("drop oldest"))?;
            let RecordKey::Sample(seq) = RecordKey::parse(&k) else {
                return Err(corrupt(RecordKey::Unknown)(Damage::UnknownKey));
            };
            if let Some(p) = plan.as_mut().filter(|p| p.bytes >= need) {
                p.next_oldest = Some(seq);
                break;
            }
            // A damaged sample being dropped anyway is only missing its time in the gap.
            let at = open_head(seq, &v)
                .inspect_err(|d| warn!(seq = seq.0, damage = %d, "Dropping an unreadable sample"))
                .ok()
                .map(|h| h.at);
            let len = payload_len(&v);
            match plan.as_mut() {
                None => {
                    plan = Some(Eviction {
                        keys: vec![k],
                        count: 1,
                        bytes: len,
                        first: (seq, at),
                        last: (seq, at),
                        next_oldest: None,
                    })
                }
                Some(p) => {
                    p.keys.push(k);
                    p.count += 1;
                    p.bytes += len;
                    p.last = (seq, at);
                }
            }
        }
        Ok(plan)
    }

    /// The gap record covering `d`: the pending size-bound gap extended when `d` directly
    /// follows it, else a new record. Also returns the extended record's previous `last_seq`.
    fn size_gap_for(&self, d: &Eviction, meta: &mut Meta) -> (u64, GapRecord, Option<Seq>) {
        if let Some((id, g)) = &self.size_gap
            && g.last_seq.0.checked_add(1) == Some(d.first.0.0)
        {
            let mut g = g.clone();
            let from = g.last_seq;
            g.last_seq = d.last.0;
            g.last_at = d.last.1;
            g.count += d.count;
            return (*id, g, Some(from));
        }
        let id = meta.next_gap;
        meta.next_gap += 1;
        let g = GapRecord {
            stream: meta.stream,
            first_seq: d.first.0,
            last_seq: d.last.0,
            first_at: d.first.1,
            last_at: d.last.1,
            count: d.count,
            reason: GapReason::SizeBound,
        };
        (id, g, None)
    }
}
