//! The open outbox's in-memory state, and the scan that builds it from disk at open.
//!
//! Invariant: between operations, [`Inner`]'s tallies equal what a full scan of the tree would
//! compute (pending samples, their payload bytes, the oldest seq, gap and quarantine sizes);
//! every operation updates them only after its sled batch was applied.

use std::collections::HashMap;

use edgeward_proto::{GapReason, GapRecord, Seq, UnixMillis, batch::MAX_GAPS};
use tracing::warn;

use super::error::{Damage, RecordKey};
use super::record::{self, FORMAT, META_KEY, Meta, payload_len};
use super::sidecar::{self, Paths, Saved};
use super::{OutboxConfig, OutboxStats};

/// `total - part` for the in-memory tallies. By the module invariant `part <= total`; a
/// tally bug must not wrap around (and make every append drop everything) in release builds,
/// so it saturates there and fails loudly in debug builds and tests.
pub(super) fn less(total: u64, part: u64) -> u64 {
    debug_assert!(part <= total, "tally underflow: {total} - {part}");
    total.saturating_sub(part)
}

/// Pending samples: how many, their payload bytes (what the bound counts) and the oldest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub samples: u64,
    pub bytes: u64,
    pub oldest: Option<Seq>,
}

/// A gap record handed out by `read_batch`: its `last_seq` then, and the time of the first
/// sample dropped after that point if the record has been extended since (an ack of the
/// handed-out snapshot then leaves the extension pending, starting at that time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Handout {
    pub last_seq: Seq,
    pub next_at: Option<UnixMillis>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub db: sled::Db,
    pub cfg: OutboxConfig,
    pub paths: Paths,
    pub meta: Meta,
    pub pending: Tally,
    pub gaps: u64,
    /// The newest pending SizeBound gap of this stream: contiguous drops extend it.
    pub size_gap: Option<(u64, GapRecord)>,
    pub quarantine_bytes: u64,
    /// Highest seq acknowledged so far (0: none); for the state file.
    pub acked_through: Seq,
    /// Highest sample seq `read_batch` handed out since this handle opened or recovered;
    /// acks and quarantines act on nothing above it.
    pub handed_through: Option<Seq>,
    /// Gap records `read_batch` handed out since this handle opened or recovered, by id.
    pub handout: HashMap<u64, Handout>,
    /// The next seq last written to the state file: every seq that ever left through
    /// `read_batch` is below it.
    pub saved_next_seq: Seq,
}

impl Inner {
    pub(super) fn new(
        db: sled::Db,
        cfg: &OutboxConfig,
        paths: &Paths,
        meta: Meta,
        scan: &Scan,
        acked_through: Seq,
    ) -> Self {
        Inner {
            db,
            cfg: cfg.clone(),
            paths: paths.clone(),
            meta,
            pending: Tally {
                samples: scan.samples,
                bytes: scan.bytes,
                oldest: scan.lowest,
            },
            gaps: scan.gaps,
            size_gap: scan.size_gap.clone(),
            quarantine_bytes: scan.quarantine_bytes,
            acked_through,
            handed_through: None,
            handout: HashMap::new(),
            saved_next_seq: Seq(0),
        }
    }

    /// Rewrites the state file; a failure is logged, never returned (the file is advisory).
    pub(super) fn save_state(&mut self) {
        let saved = Saved {
            stream: self.meta.stream,
            acked_through: self.acked_through,
            next_seq: self.meta.next_seq,
            recoveries: self.meta.recoveries,
        };
        match sidecar::write_state(&self.paths.state, &saved) {
            Ok(()) => self.saved_next_seq = saved.next_seq,
            Err(e) => {
                warn!(error = %e, path = %self.paths.state.display(), "Cannot write outbox state file")
            }
        }
    }

    pub(super) fn stats(&self) -> OutboxStats {
        let p = self.pending;
        OutboxStats {
            stream: self.meta.stream,
            next_seq: self.meta.next_seq,
            max_bytes: self.cfg.max_bytes,
            pending_samples: p.samples,
            pending_bytes: p.bytes,
            oldest_pending_seq: p.oldest,
            // Appends go to the end and nothing removes the newest sample without removing
            // all older ones (ack, drop and quarantine take a prefix), so the newest pending
            // sample is always the last one appended.
            newest_pending_seq: p
                .oldest
                .map(|_| Seq(self.meta.next_seq.0.saturating_sub(1))),
            pending_gaps: self.gaps,
            dropped_total: self.meta.dropped_total,
            quarantined_batches_total: self.meta.quarantined_batches,
            quarantined_samples_total: self.meta.quarantined_samples,
            quarantine_bytes: self.quarantine_bytes,
            recovered_from_corruption: self.meta.recoveries,
        }
    }
}

/// What one pass over the tree found. It reads every key and checks every value's checksum
/// (decoding sample heads, gaps and the meta record), one record at a time, so memory does
/// not grow with the backlog except for salvaged gap records (at most `MAX_GAPS`).
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub meta: Option<Meta>,
    /// Sample keys seen (readable or not), their payload bytes, lowest and highest seq, and
    /// the times of the lowest and highest when those were readable.
    pub samples: u64,
    pub bytes: u64,
    pub lowest: Option<Seq>,
    pub highest: Option<Seq>,
    pub lowest_at: Option<UnixMillis>,
    pub highest_at: Option<UnixMillis>,
    pub gaps: u64,
    pub size_gap: Option<(u64, GapRecord)>,
    /// Readable gap records, oldest first.
    pub salvaged: Vec<GapRecord>,
    pub quarantine_bytes: u64,
    /// Gap keys whose value could not be read.
    pub unreadable_gaps: u64,
    /// Whether the store yielded every key (false when iteration itself failed).
    pub complete: bool,
    /// The first thing found wrong, if any.
    pub problem: Option<(RecordKey, Damage)>,
    /// Whether the tree holds any key at all.
    pub any_key: bool,
}

impl Scan {
    fn flag(&mut self, key: RecordKey, damage: Damage) {
        if self.problem.is_none() {
            self.problem = Some((key, damage));
        }
    }
}

/// Reads the whole tree once and reports what it holds and the first problem found.
pub(super) fn scan(db: &sled::Db) -> Scan {
    let mut s = Scan::default();
    match db.get(META_KEY) {
        Ok(Some(v)) => match record::open::<Meta>(&v) {
            Ok(m) if m.format != FORMAT => s.flag(
                RecordKey::Meta,
                Damage::Format {
                    found: m.format,
                    expected: FORMAT,
                },
            ),
            Ok(m) => s.meta = Some(m),
            Err(d) => s.flag(RecordKey::Meta, d),
        },
        Ok(None) => {}
        Err(e) => s.flag(
            RecordKey::Meta,
            Damage::Storage(super::error::StoreError(e)),
        ),
    }
    let meta = s.meta;
    s.complete = true;
    for item in db.iter() {
        let (k, v) = match item {
            Ok(kv) => kv,
            Err(e) => {
                s.complete = false;
                s.flag(
                    RecordKey::Unknown,
                    Damage::Storage(super::error::StoreError(e)),
                );
                break;
            }
        };
        s.any_key = true;
        let key = RecordKey::parse(&k);
        let beyond = |id: u64, counter: u64| {
            (id >= counter).then_some(Damage::BeyondCounter { id, counter })
        };
        match key {
            RecordKey::Meta => {}
            RecordKey::Sample(seq) => {
                s.samples += 1;
                s.bytes += payload_len(&v);
                let at = match record::open_head(seq, &v) {
                    Ok(head) => Some(head.at),
                    Err(d) => {
                        s.flag(key, d);
                        None
                    }
                };
                if s.lowest.is_none() {
                    (s.lowest, s.lowest_at) = (Some(seq), at);
                }
                (s.highest, s.highest_at) = (Some(seq), at);
                if let Some(d) = meta.and_then(|m| beyond(seq.0, m.next_seq.0)) {
                    s.flag(key, d);
                }
            }
            RecordKey::Gap(id) => {
                s.gaps += 1;
                match record::open::<GapRecord>(&v) {
                    Ok(g) => {
                        let newer = s
                            .size_gap
                            .as_ref()
                            .is_none_or(|(_, o)| g.last_seq > o.last_seq);
                        let ours = meta.is_some_and(|m| m.stream == g.stream);
                        if g.reason == GapReason::SizeBound && ours && newer {
                            s.size_gap = Some((id, g.clone()));
                        }
                        if s.salvaged.len() < MAX_GAPS - 1 {
                            s.salvaged.push(g);
                        }
                    }
                    Err(d) => {
                        s.unreadable_gaps += 1;
                        s.flag(key, d);
                    }
                }
                if let Some(d) = meta.and_then(|m| beyond(id, m.next_gap)) {
                    s.flag(key, d);
                }
            }
            RecordKey::Quarantine(id) => {
                s.quarantine_bytes += payload_len(&v);
                if let Err(d) = record::checked(&v) {
                    s.flag(key, d);
                }
                if let Some(d) = meta.and_then(|m| beyond(id, m.next_quarantine)) {
                    s.flag(key, d);
                }
            }
            RecordKey::Unknown => s.flag(key, Damage::UnknownKey),
        }
    }
    if s.any_key && s.meta.is_none() {
        s.flag(RecordKey::Meta, Damage::MissingMeta);
    }
    s
}
