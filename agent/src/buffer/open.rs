//! Opening the outbox: lock, open marker, sled open, full scan, and the decision between
//! "use it", "start fresh" and "move it aside as corrupt".
//!
//! Invariant: `open` never crash-loops on a damaged outbox. A sled error that is about the
//! content (anything but permission, space, read-only or resource errors), any record the
//! scan rejects, an empty store although the state file says one existed, or
//! [`MAX_UNFINISHED_OPENS`] earlier opens that never finished (sled
//! panicked, and the release profile aborts) all lead to [`recovery::replace`]. Errors about
//! the environment are returned unchanged, with nothing moved.

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use edgeward_proto::Seq;

use super::error::{OutboxError, StoreError};
use super::recovery::{self, Evidence, mark};
use super::sidecar::{self, Paths, Saved};
use super::state::{Inner, Scan, scan};
use super::{OutboxConfig, Recovery};

/// After this many consecutive opens that died before finishing, the outbox is treated as
/// corrupt without trying again. 2 rather than 1: a power cut during an open (edge boxes
/// lose power often, frequently right at boot) must not throw the backlog away, while a
/// store that crashes the process on every open costs just one extra restart.
pub const MAX_UNFINISHED_OPENS: u32 = 2;

/// sled configured as the outbox uses it: bounded cache, low-space mode, and no background
/// flushing (every operation flushes explicitly before it returns).
pub(super) fn sled_config(cfg: &OutboxConfig) -> sled::Config {
    sled::Config::new()
        .path(&cfg.dir)
        .cache_capacity(cfg.cache_bytes)
        .mode(sled::Mode::LowSpace)
        .flush_every_ms(None)
}

enum Failure {
    /// Not about the outbox's content: report, move nothing.
    Environment(sled::Error),
    /// Something else holds sled's own lock on the data file.
    Locked(PathBuf),
    Corrupt {
        reason: String,
        scan: Option<Box<Scan>>,
    },
}

pub(super) fn open(cfg: &OutboxConfig) -> Result<(Inner, File, Option<Recovery>), OutboxError> {
    if cfg.max_bytes == 0 {
        return Err(OutboxError::ZeroBound);
    }
    let paths = Paths::new(&cfg.dir)?;
    let lock = sidecar::lock(&paths)?;
    let saved = sidecar::read_state(&paths.state);
    let attempts = sidecar::read_marker(&paths.marker);
    let exists = paths.dir.symlink_metadata().is_ok();
    let outcome = if exists && attempts >= MAX_UNFINISHED_OPENS {
        Err(Failure::Corrupt {
            reason: format!(
                "the last {attempts} attempts to open it never finished (the store crashed \
                 the process, or it was killed)"
            ),
            scan: None,
        })
    } else {
        mark(&paths, attempts.saturating_add(1));
        attempt(cfg)
    };
    let outcome = outcome.and_then(|(db, scan)| check_against_state(db, scan, saved));
    match settle(cfg, &paths, saved, outcome) {
        Ok((mut inner, recovery)) => {
            mark(&paths, 0);
            inner.save_state();
            Ok((inner, lock, recovery))
        }
        Err(e) => {
            // The attempt did not crash: leave the count of crashed ones as it was.
            mark(&paths, attempts);
            Err(e)
        }
    }
}

/// A state file is only written once a meta record was flushed: if the store is now empty,
/// or behind the state file, its log was cut short. sled recovers a damaged log up to the
/// last intact entry, as after a crash, so this is how a damaged tail shows.
fn check_against_state(
    db: sled::Db,
    scan: Scan,
    saved: Option<Saved>,
) -> Result<(sled::Db, Scan), Failure> {
    let reason = match (saved, scan.meta) {
        (Some(s), None) => format!(
            "the store is empty although the state file says stream {} reached seq {}",
            s.stream.0,
            s.next_seq.0.saturating_sub(1)
        ),
        (Some(s), Some(m)) if m.stream == s.stream && m.next_seq < s.next_seq => format!(
            "the store went back to seq {} although seqs up to {} were handed out or acked \
             (its log was cut short and recovered to an older state)",
            m.next_seq.0.saturating_sub(1),
            s.next_seq.0.saturating_sub(1)
        ),
        _ => return Ok((db, scan)),
    };
    drop(db);
    Err(Failure::Corrupt {
        reason,
        scan: Some(Box::new(scan)),
    })
}

/// Turns the outcome of the attempt into an open outbox: the store as found, a fresh one,
/// or a fresh one replacing a corrupt one.
fn settle(
    cfg: &OutboxConfig,
    paths: &Paths,
    saved: Option<Saved>,
    outcome: Result<(sled::Db, Scan), Failure>,
) -> Result<(Inner, Option<Recovery>), OutboxError> {
    match outcome {
        Ok((db, scan)) => match scan.meta {
            Some(meta) => {
                let acked = saved
                    .filter(|s| s.stream == meta.stream)
                    .map_or(Seq(0), |s| s.acked_through);
                Ok((Inner::new(db, cfg, paths, meta, &scan, acked), None))
            }
            None => Ok((recovery::init(db, cfg, paths, 0, Vec::new())?, None)),
        },
        Err(Failure::Locked(file)) => Err(OutboxError::Locked {
            dir: paths.dir.clone(),
            lock: file,
        }),
        Err(Failure::Environment(e)) => Err(OutboxError::Open {
            path: paths.dir.clone(),
            source: StoreError(e),
        }),
        Err(Failure::Corrupt { reason, scan }) => {
            let evidence = Evidence::new(scan.map(|s| *s), saved);
            let (inner, recovery) = recovery::replace(cfg, paths, reason, evidence)?;
            Ok((inner, Some(recovery)))
        }
    }
}

/// Opens sled and scans everything; the store is closed again when it is not usable.
fn attempt(cfg: &OutboxConfig) -> Result<(sled::Db, Scan), Failure> {
    wait_for_sled_lock(cfg)?;
    let db = sled_config(cfg).open().map_err(|e| match &e {
        sled::Error::Io(io) if is_environment(io.kind()) => Failure::Environment(e),
        _ => Failure::Corrupt {
            reason: format!("the store cannot open it: {e}"),
            scan: None,
        },
    })?;
    let mut scan = scan(&db);
    match scan.problem.take() {
        Some((key, damage)) => {
            drop(db);
            Err(Failure::Corrupt {
                reason: format!("record {key}: {damage}"),
                scan: Some(Box::new(scan)),
            })
        }
        None => Ok((db, scan)),
    }
}

/// sled reports a lock it cannot take as an untyped I/O error, which would look like
/// corruption, so probe its lock (an flock on `<dir>/db`) first. Our own lock file already
/// excludes other handles, but sled's background threads may keep a just-closed store's
/// file open for a moment, so a held lock is retried for up to [`SLED_LOCK_WAIT`].
fn wait_for_sled_lock(cfg: &OutboxConfig) -> Result<(), Failure> {
    let data = cfg.dir.join("db");
    let start = Instant::now();
    loop {
        let Ok(f) = File::open(&data) else {
            return Ok(());
        };
        match f.try_lock() {
            Err(TryLockError::WouldBlock) if start.elapsed() < SLED_LOCK_WAIT => {
                drop(f);
                thread::sleep(Duration::from_millis(5));
            }
            Err(TryLockError::WouldBlock) => return Err(Failure::Locked(data)),
            Ok(()) | Err(TryLockError::Error(_)) => return Ok(()),
        }
    }
}

/// How long `open` waits for sled's lock on a store that was just closed.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);

/// I/O errors that say something about the machine, not about the outbox's files.
fn is_environment(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::PermissionDenied
            | ErrorKind::StorageFull
            | ErrorKind::QuotaExceeded
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::OutOfMemory
            | ErrorKind::ResourceBusy
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
            | ErrorKind::TimedOut
    )
}
