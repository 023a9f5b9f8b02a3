//! One run of the disk audit: the temp file, the timed `write` + `fdatasync` burst, and the
//! figures (nearest-rank percentiles in whole microseconds, saturating at `u32::MAX`).
//!
//! Invariant: the temp file is created with `O_EXCL` (never through a symlink, never over
//! another file), mode 0600, and removed on every way out of [`run`], errors included
//! ([`RemoveOnDrop`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgeward_proto::Unavailable;
use edgeward_proto::datastore;
use thiserror::Error;
use tracing::{debug, warn};

use super::TEMP_FILE;
use crate::probe::io_reason;

/// Where a run writes: checked, with room to spare.
pub(super) struct Target {
    /// Host path of the directory, after symlinks.
    pub(super) host_path: PathBuf,
    /// The same directory as the agent sees it.
    pub(super) on_disk: PathBuf,
}

/// Why a run could not complete.
#[derive(Debug, Error)]
pub(super) enum AuditError {
    #[error("cannot remove the stale {}", path.display())]
    Stale {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write to {} failed", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("fdatasync of {} failed", path.display())]
    Sync {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl AuditError {
    pub(super) fn to_unavailable(&self) -> Unavailable {
        let (Self::Stale { source, .. }
        | Self::Create { source, .. }
        | Self::Write { source, .. }
        | Self::Sync { source, .. }) = self;
        Unavailable {
            reason: io_reason(source.kind()),
            detail: format!("{self}: {source}"),
        }
    }
}

/// Removes the temp file when dropped, so every way out of [`run`] cleans up.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(self.0) {
            warn!(path = %self.0.display(), error = %e, "Cannot remove the disk audit's temp file");
        }
    }
}

/// One burst: `writes` writes of `size` bytes, each followed by a timed `fdatasync`.
pub(super) fn run(
    target: &Target,
    writes: u32,
    size: u32,
) -> Result<datastore::DiskAudit, AuditError> {
    let path = target.on_disk.join(TEMP_FILE);
    match fs::remove_file(&path) {
        Ok(()) => debug!(path = %path.display(), "Removed a stale disk audit temp file"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(AuditError::Stale { path, source }),
    }
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| AuditError::Create {
            path: path.clone(),
            source,
        })?;
    let _remove = RemoveOnDrop(&path);
    // usize is at least 32 bits on every target the agent builds for.
    let block = vec![0x5a_u8; usize::try_from(size).unwrap_or(usize::MAX)];
    let mut latencies = Vec::with_capacity(usize::try_from(writes).unwrap_or(0));
    for _ in 0..writes {
        file.write_all(&block).map_err(|source| AuditError::Write {
            path: path.clone(),
            source,
        })?;
        let start = Instant::now();
        rustix::fs::fdatasync(&file).map_err(|e| AuditError::Sync {
            path: path.clone(),
            source: e.into(),
        })?;
        latencies.push(start.elapsed());
    }
    drop(file);
    latencies.sort_unstable();
    Ok(datastore::DiskAudit {
        path: target.host_path.to_string_lossy().into_owned(),
        writes,
        bytes_per_write: size,
        p50_us: micros(percentile(&latencies, 500)),
        p99_us: micros(percentile(&latencies, 990)),
        max_us: micros(latencies.last().copied().unwrap_or_default()),
    })
}

/// Nearest-rank percentile of sorted `values`, `permille` in 1..=1000; zero for no values.
fn percentile(sorted: &[Duration], permille: usize) -> Duration {
    let n = sorted.len();
    if n == 0 {
        return Duration::ZERO;
    }
    let rank = (permille.saturating_mul(n)).div_ceil(1000).clamp(1, n);
    sorted[rank - 1]
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted = ms(&(1..=200).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 500), Duration::from_millis(100));
        assert_eq!(percentile(&sorted, 990), Duration::from_millis(198));
        assert_eq!(percentile(&ms(&[7]), 990), Duration::from_millis(7));
        assert_eq!(percentile(&[], 500), Duration::ZERO);
    }

    #[test]
    fn micros_saturate_instead_of_wrapping() {
        assert_eq!(micros(Duration::from_secs(10_000)), u32::MAX);
        assert_eq!(micros(Duration::from_micros(1_234)), 1_234);
    }
}
