//! The small files beside the outbox directory `<dir>`, which survive when the directory
//! itself is unreadable or moved aside:
//!
//! - `<dir>.lock`: held with an exclusive advisory lock while an [`Outbox`](super::Outbox) is
//!   open, so a second agent (or a second handle in this process) gets a typed
//!   [`OutboxError::Locked`] instead of reaching sled.
//! - `<dir>.opening`: the open marker. Written (with the number of unfinished attempts)
//!   before sled opens the directory and removed once open and scan succeeded. sled can
//!   panic on some damaged files and the release profile aborts on panic, so the marker is
//!   the only way the next start learns that opening killed the process.
//! - `<dir>.state`: the last known stream id, acked-through seq, next seq and recovery count,
//!   written atomically (temporary file, fsync, rename) on open, ack, quarantine, recovery
//!   and when `read_batch` hands out a seq beyond the recorded next seq. It detects a store
//!   that sled silently recovered to an older (or empty) state, and it sharpens the
//!   corruption gap record when the outbox itself cannot be read. Best effort: a failed
//!   write is logged, never returned.

use std::ffi::OsString;
use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use edgeward_proto::{Seq, StreamId};

use super::error::OutboxError;

/// The outbox directory and its side files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Paths {
    pub dir: PathBuf,
    pub lock: PathBuf,
    pub marker: PathBuf,
    pub state: PathBuf,
}

impl Paths {
    pub(super) fn new(dir: &Path) -> Result<Self, OutboxError> {
        if dir.file_name().is_none() {
            return Err(OutboxError::BadDir {
                path: dir.to_owned(),
            });
        }
        Ok(Paths {
            dir: dir.to_owned(),
            lock: sibling(dir, ".lock"),
            marker: sibling(dir, ".opening"),
            state: sibling(dir, ".state"),
        })
    }

    /// `<dir>` + `suffix`, in the same parent directory.
    pub(super) fn sibling(&self, suffix: &str) -> PathBuf {
        sibling(&self.dir, suffix)
    }

    /// The directory holding `dir` and its side files.
    pub(super) fn parent(&self) -> &Path {
        match self.dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = dir.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Creates the parent directory and takes the outbox's exclusive lock.
pub(super) fn lock(paths: &Paths) -> Result<File, OutboxError> {
    let prepare = |path: &Path| {
        let path = path.to_owned();
        move |source| OutboxError::Prepare { path, source }
    };
    fs::create_dir_all(paths.parent()).map_err(prepare(paths.parent()))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .map_err(prepare(&paths.lock))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OutboxError::Locked {
            dir: paths.dir.clone(),
            lock: paths.lock.clone(),
        }),
        Err(TryLockError::Error(source)) => Err(OutboxError::Prepare {
            path: paths.lock.clone(),
            source,
        }),
    }
}

/// Unfinished open attempts recorded in the marker: 0 when there is none. A marker that
/// exists but does not parse counts as one.
pub(super) fn read_marker(path: &Path) -> u32 {
    match fs::read_to_string(path) {
        Ok(s) => s.trim().parse().unwrap_or(1),
        Err(_) => 0,
    }
}

/// Records `attempts` unfinished opens, or removes the marker when `attempts` is 0.
/// Not fsynced: the marker guards against a crash of this process, whose writes the kernel
/// keeps; after a power cut a lost marker only means one more attempt.
pub(super) fn write_marker(path: &Path, attempts: u32) -> io::Result<()> {
    if attempts == 0 {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    fs::write(path, format!("{attempts}\n"))
}

/// What the state file remembers about the outbox's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Saved {
    pub stream: StreamId,
    /// Every seq up to this one was acknowledged (0: none yet).
    pub acked_through: Seq,
    pub next_seq: Seq,
    pub recoveries: u64,
}

const STATE_HEADER: &str = "edgeward-outbox-state 1";

/// The state file, or `None` when it is missing or unreadable (it is advisory).
pub(super) fn read_state(path: &Path) -> Option<Saved> {
    let text = fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != STATE_HEADER {
        return None;
    }
    let mut field = |name: &str| -> Option<u64> {
        let (k, v) = lines.next()?.split_once(' ')?;
        if k == name { v.parse().ok() } else { None }
    };
    Some(Saved {
        stream: StreamId(field("stream")?),
        acked_through: Seq(field("acked_through")?),
        next_seq: Seq(field("next_seq")?),
        recoveries: field("recoveries")?,
    })
}

/// Replaces the state file atomically: write a temporary file, fsync it, rename it over.
pub(super) fn write_state(path: &Path, s: &Saved) -> io::Result<()> {
    let tmp = sibling(path, ".tmp");
    let mut f = File::create(&tmp)?;
    write!(
        f,
        "{STATE_HEADER}\nstream {}\nacked_through {}\nnext_seq {}\nrecoveries {}\n",
        s.stream.0, s.acked_through.0, s.next_seq.0, s.recoveries
    )?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)
}
