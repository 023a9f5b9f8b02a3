//! Replacing an unreadable outbox: move the directory aside (keeping at most
//! [`KEEP_CORRUPT`] such directories), start a fresh one with a new stream, and put in it a
//! [`GapReason::Corruption`] record describing the loss as precisely as the evidence allows.
//!
//! # What the corruption gap record says
//! - `stream`: the old stream, from the meta record, else from the state file; if neither can
//!   be read, `StreamId(0)` (never drawn for a real stream) stands for "unknown".
//! - When the meta record was readable and every key could be listed, the loss is known
//!   exactly: the range runs from the lowest pending sample to `next_seq - 1` and `count` is
//!   the number of samples that were pending. (If a gap record was unreadable too, the range
//!   starts one past the last acked seq instead, to cover what that record described.) If no
//!   sample was pending (the damage hit a gap, quarantine or meta record only), the record
//!   names the single seq `next_seq`, which the old stream never used, with count 1: a
//!   one-sample overstatement that keeps the recovery visible.
//! - Otherwise the range starts one past the last acked seq from the state file (else at
//!   the lowest sample key still listed, else at 1) and is
//!   open-ended: `last_seq = u64::MAX` (no sample of the old stream
//!   will ever follow) and `count` is a lower bound: the seqs known to have been assigned
//!   after `first_seq`, at least 1.
//! - `first_at` / `last_at` are set only where the sample at the range's end was readable.
//!
//! Readable gap records of the old outbox are copied into the new one first (they still
//! describe losses that have not shipped), so only the samples are lost.

use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use edgeward_proto::{GapReason, GapRecord, Seq, StreamId, UnixMillis};
use tracing::{error, info, warn};

use super::error::{OutboxError, StoreError, store};
use super::record::{GAP, META_KEY, Meta, key, seal};
use super::sidecar::{self, Paths, Saved};
use super::state::{Inner, Scan};
use super::{OutboxConfig, Recovery, open::sled_config};

/// At most this many `<dir>.corrupt-<unix-secs>` directories are kept; older ones are deleted.
pub const KEEP_CORRUPT: usize = 3;

/// What is known about an outbox that could not be read.
#[derive(Debug, Default)]
pub(super) struct Evidence {
    pub stream: Option<StreamId>,
    pub acked_through: Option<Seq>,
    pub next_seq: Option<Seq>,
    /// `next_seq` came from the meta record and every key was listed.
    pub exact: bool,
    pub samples: u64,
    pub lowest: Option<Seq>,
    pub highest: Option<Seq>,
    pub lowest_at: Option<UnixMillis>,
    pub highest_at: Option<UnixMillis>,
    pub unreadable_gaps: u64,
    pub recoveries: u64,
    pub salvaged: Vec<GapRecord>,
}

impl Evidence {
    /// Combines a (partial) scan and the state file; the state file counts only when it
    /// belongs to the same stream as a readable meta record.
    pub(super) fn new(scan: Option<Scan>, saved: Option<Saved>) -> Self {
        let scan = scan.unwrap_or_default();
        let meta = scan.meta;
        let saved = saved.filter(|s| meta.is_none_or(|m| m.stream == s.stream));
        // A meta record behind the state file is stale: the log was cut back.
        let stale = meta
            .zip(saved)
            .is_some_and(|(m, s)| m.next_seq < s.next_seq);
        let next_seq = match (meta, saved) {
            (Some(m), Some(s)) => Some(m.next_seq.max(s.next_seq)),
            (m, s) => m.map(|m| m.next_seq).or(s.map(|s| s.next_seq)),
        };
        Evidence {
            stream: meta.map(|m| m.stream).or(saved.map(|s| s.stream)),
            acked_through: saved.map(|s| s.acked_through),
            next_seq,
            exact: meta.is_some() && scan.complete && !stale,
            samples: scan.samples,
            lowest: scan.lowest,
            highest: scan.highest,
            lowest_at: scan.lowest_at,
            highest_at: scan.highest_at,
            unreadable_gaps: scan.unreadable_gaps,
            recoveries: meta
                .map(|m| m.recoveries)
                .or(saved.map(|s| s.recoveries))
                .unwrap_or(0),
            salvaged: scan.salvaged,
        }
    }

    /// The corruption gap record; see the module doc for what each field means.
    pub(super) fn gap(&self) -> GapRecord {
        let exact = self.next_seq.filter(|_| self.exact);
        let first = match (self.acked_through, self.lowest) {
            // Exactly the pending samples are lost, and no gap record with them.
            (_, Some(l)) if exact.is_some() && self.unreadable_gaps == 0 => l.0,
            (Some(a), _) => a.0.saturating_add(1),
            (None, Some(l)) => l.0,
            (None, None) => 1,
        }
        .max(1);
        let first_at = self.lowest.filter(|l| l.0 == first).and(self.lowest_at);
        let record = |first_seq, last_seq, count, first_at, last_at| GapRecord {
            stream: self.stream.unwrap_or(StreamId(0)),
            first_seq: Seq(first_seq),
            last_seq: Seq(last_seq),
            first_at,
            last_at,
            count,
            reason: GapReason::Corruption,
        };
        match exact {
            Some(next) if self.samples > 0 => {
                let last = next.0.saturating_sub(1).max(first);
                let last_at = self.highest.filter(|h| h.0 == last).and(self.highest_at);
                let count = self.samples.clamp(1, last - first + 1);
                record(first, last, count, first_at, last_at)
            }
            Some(next) => {
                let never_used = next.0.max(first);
                record(never_used, never_used, 1, None, None)
            }
            None => {
                let known = self
                    .next_seq
                    .map(|n| n.0.saturating_sub(1))
                    .max(self.highest.map(|h| h.0));
                let count = known
                    .and_then(|k| k.checked_sub(first))
                    .map_or(1, |d| d.saturating_add(1));
                record(first, u64::MAX, count, first_at, None)
            }
        }
    }
}

/// Moves the outbox aside, starts a fresh one holding the salvaged gaps and the corruption
/// gap, and reports it. The old store may still be open (runtime recovery): renaming an open
/// directory is fine on Unix, and the fresh store lives in a new directory.
pub(super) fn replace(
    cfg: &OutboxConfig,
    paths: &Paths,
    reason: String,
    evidence: Evidence,
) -> Result<(Inner, Recovery), OutboxError> {
    let moved_to = move_aside(paths)?;
    let gap = evidence.gap();
    let mut gaps = evidence.salvaged;
    gaps.push(gap.clone());
    mark(paths, 1);
    let db = sled_config(cfg).open().map_err(|e| OutboxError::Open {
        path: paths.dir.clone(),
        source: StoreError(e),
    })?;
    let mut inner = init(db, cfg, paths, evidence.recoveries.saturating_add(1), gaps)?;
    mark(paths, 0);
    inner.save_state();
    error!(
        moved_to = %moved_to.display(),
        reason = %reason,
        old_stream = gap.stream.0,
        first_seq = gap.first_seq.0,
        last_seq = gap.last_seq.0,
        lost = gap.count,
        new_stream = inner.meta.stream.0,
        "Outbox was unreadable; moved it aside and started a new stream with a corruption gap record"
    );
    Ok((
        inner,
        Recovery {
            moved_to,
            reason,
            gap,
        },
    ))
}

/// Sets the open marker, logging (not failing) when it cannot be written.
pub(super) fn mark(paths: &Paths, attempts: u32) {
    if let Err(e) = sidecar::write_marker(&paths.marker, attempts) {
        warn!(error = %e, path = %paths.marker.display(), "Cannot write outbox open marker");
    }
}

/// Writes the meta record of a fresh outbox (new random stream) and the given gap records.
pub(super) fn init(
    db: sled::Db,
    cfg: &OutboxConfig,
    paths: &Paths,
    recoveries: u64,
    gaps: Vec<GapRecord>,
) -> Result<Inner, OutboxError> {
    let mut meta = Meta::fresh(random_stream()?, recoveries);
    let mut batch = sled::Batch::default();
    for g in &gaps {
        batch.insert(&key(GAP, meta.next_gap), seal(g, "gap record")?);
        meta.next_gap += 1;
    }
    batch.insert(META_KEY, seal(&meta, "meta record")?);
    db.apply_batch(batch).map_err(store("initialise"))?;
    db.flush().map_err(store("flush"))?;
    let scan = Scan {
        gaps: gaps.len() as u64,
        ..Scan::default()
    };
    info!(stream = meta.stream.0, dir = %paths.dir.display(), "Created a new outbox");
    Ok(Inner::new(db, cfg, paths, meta, &scan, Seq(0)))
}

/// A random non-zero stream id (0 means "unknown" in corruption gap records).
fn random_stream() -> Result<StreamId, OutboxError> {
    loop {
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b).map_err(OutboxError::Random)?;
        let id = u64::from_le_bytes(b);
        if id != 0 {
            return Ok(StreamId(id));
        }
    }
}

/// Renames `<dir>` to `<dir>.corrupt-<unix-secs>[-n]` and prunes old ones.
fn move_aside(paths: &Paths) -> Result<PathBuf, OutboxError> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut to = paths.sibling(&format!(".corrupt-{secs}"));
    let mut n = 1u32;
    while to.symlink_metadata().is_ok() {
        to = paths.sibling(&format!(".corrupt-{secs}-{n}"));
        n += 1;
    }
    fs::rename(&paths.dir, &to).map_err(|source| OutboxError::MoveAside {
        from: paths.dir.clone(),
        to: to.clone(),
        source,
    })?;
    prune(paths);
    Ok(to)
}

/// Deletes all but the newest [`KEEP_CORRUPT`] moved-aside directories. Best effort.
fn prune(paths: &Paths) {
    let Some(name) = paths.dir.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!("{name}.corrupt-");
    let Ok(entries) = fs::read_dir(paths.parent()) else {
        return;
    };
    let mut found: Vec<((u64, u64), PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name();
            let rest = file.to_str()?.strip_prefix(&prefix)?;
            let (secs, n) = rest.split_once('-').unwrap_or((rest, "0"));
            Some(((secs.parse().ok()?, n.parse().ok()?), e.path()))
        })
        .collect();
    found.sort();
    let excess = found.len().saturating_sub(KEEP_CORRUPT);
    for (_, path) in found.into_iter().take(excess) {
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => info!(path = %path.display(), "Deleted an old corrupt outbox"),
            Err(e) => {
                warn!(error = %e, path = %path.display(), "Cannot delete an old corrupt outbox")
            }
        }
    }
}
