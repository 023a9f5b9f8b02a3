//! The disk latency audit: etcd's recommended fio check (DOMAIN.md §3) done natively, on the
//! filesystem that holds the datastore. A component the datastore probe owns and puts into
//! `DatastoreHealth::disk_audit`; it is not a [`Probe`](super::Probe) of its own.
//!
//! | step | source (under the host root) |
//! | --- | --- |
//! | where | [`DiskAuditOptions::dir`], symlinks followed inside the root ([`HostRoot::resolve`]) |
//! | free space | statvfs of that directory: `f_bavail`, `f_blocks`, `f_ffree`, `f_files` |
//! | latency | sequential `write`s of `write_size` bytes to a temp file, each followed by `fdatasync`, timed with the monotonic clock |
//!
//! Invariants:
//! - **Bounded writes.** At most [`MAX_BYTES_PER_RUN`] bytes per run (434 writes of 2300 bytes)
//!   whatever the options say, and at most one run per [`DiskAuditOptions::interval`].
//! - **Never the cause of DiskPressure.** The audit is `Skipped` unless, *after* the burst, the
//!   filesystem keeps more than max(`min_free_percent` of its size, `min_free_bytes`) available
//!   and more than `min_free_inodes_percent` of its inodes free. The defaults are the kubelet's
//!   own hard eviction defaults (`nodefs.available<10%`, `nodefs.inodesFree<5%`, DOMAIN.md §2)
//!   and MicroK8s's `nodefs.available<1Gi`, so the default rule holds on both distributions.
//! - **Nothing is left behind.** The temp file (`.edgeward-disk-audit.tmp`) is created with
//!   `O_EXCL` (never through a symlink, never over someone else's file), mode 0600, and removed
//!   when the run ends, also on error. A file of that name left by a crashed agent is removed
//!   before the next run.
//! - **Only existing directories.** A `dir` that does not exist is `NotFound`. Unlike the
//!   pressure probe's filesystems, the audit does not fall back to the nearest existing
//!   ancestor: that is often another disk (an SSD mounted at the data directory is missing,
//!   the ancestor is the SD card), and a latency figure for the wrong disk is worse than none.
//!
//! **Rate and shipping.** A run's result is kept and shipped as `Data` until [`DiskAudit::appended`]
//! names the sample that carried it; from then on, until the interval has passed, the section is
//! `NotDue { last: Some(seq) }`. A failed append does not trigger a new run (the disk has
//! already been written to once this interval): the kept result ships again next cycle. A
//! precondition failure (missing directory, nearly full disk) is not a run: it writes nothing and
//! is checked again the next cycle. A failure while writing is a run: it is reported until the
//! next run is due.
//!
//! **Figures** are nearest-rank percentiles of the `fdatasync` latencies, in whole microseconds
//! (saturating at `u32::MAX`). The writes themselves land in the page cache and are not timed,
//! as in etcd's recipe (`fio --rw=write --ioengine=sync --fdatasync=1 --bs=2300`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use edgeward_proto::datastore;
use edgeward_proto::{Section, Seq, Unavailable, UnavailableReason};
use tracing::{debug, warn};

use super::error::ProbeError;
use super::host::HostRoot;
use burst::Target;

mod burst;

/// Hard cap on the bytes one run writes, whatever the options say.
pub const MAX_BYTES_PER_RUN: u64 = 1_000_000;

/// The temp file's name inside [`DiskAuditOptions::dir`].
pub const TEMP_FILE: &str = ".edgeward-disk-audit.tmp";

/// How, where and how often to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskAuditOptions {
    /// Host path of a directory on the datastore's filesystem. Default
    /// `/var/lib/rancher/k3s/server/db` (K3s, DOMAIN.md §3): the parent of kine's `state.db` and
    /// of etcd's data dir, so the temp file never lands inside etcd's own directory.
    pub dir: PathBuf,
    /// At most one run per interval. Default 10 minutes.
    pub interval: Duration,
    /// Bytes written per run, capped at [`MAX_BYTES_PER_RUN`]. Default 460 000 (200 writes).
    pub max_bytes: u64,
    /// Bytes per write. Default 2300 (etcd's recipe). Clamped to 1..=[`MAX_BYTES_PER_RUN`].
    pub write_size: u32,
    /// Available bytes that must remain after the burst. Default 1 GiB (MicroK8s's
    /// `nodefs.available<1Gi`, DOMAIN.md §2).
    pub min_free_bytes: u64,
    /// Available share of the filesystem that must remain after the burst, in percent.
    /// Default 10 (the kubelet's `nodefs.available<10%`, DOMAIN.md §2).
    pub min_free_percent: u8,
    /// Free share of inodes required, in percent. Default 5 (`nodefs.inodesFree<5%`).
    pub min_free_inodes_percent: u8,
}

impl Default for DiskAuditOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("/var/lib/rancher/k3s/server/db"),
            interval: Duration::from_secs(10 * 60),
            max_bytes: 200 * 2300,
            write_size: 2300,
            min_free_bytes: 1 << 30,
            min_free_percent: 10,
            min_free_inodes_percent: 5,
        }
    }
}

/// The audit's state between cycles: when it last ran and what it found.
#[derive(Debug)]
pub struct DiskAudit {
    root: HostRoot,
    options: DiskAuditOptions,
    last_run: Option<Instant>,
    kept: Kept,
    /// The last [`DiskAudit::run_if_due`] returned `Data`: the next `appended` refers to it.
    returned_data: bool,
}

/// What the last run left to report.
#[derive(Debug)]
enum Kept {
    Nothing,
    /// Data not yet known to be in the outbox: shipped again every cycle.
    Unshipped(datastore::DiskAudit),
    /// Data durable in the sample with this seq.
    Shipped(Seq),
    /// The run failed while writing.
    Failed(Unavailable),
}

impl DiskAudit {
    pub fn new(root: HostRoot, options: DiskAuditOptions) -> Self {
        Self {
            root,
            options,
            last_run: None,
            kept: Kept::Nothing,
            returned_data: false,
        }
    }

    /// Writes per run and bytes per write after the hard cap: `write_size` clamped to
    /// 1..=[`MAX_BYTES_PER_RUN`], writes = min(`max_bytes`, cap) / `write_size`.
    pub fn burst(&self) -> (u32, u32) {
        let cap = self.options.max_bytes.min(MAX_BYTES_PER_RUN);
        let size = u64::from(self.options.write_size).clamp(1, MAX_BYTES_PER_RUN);
        // Both fit: size ≤ 1e6 and cap / size ≤ 1e6.
        let writes = u32::try_from(cap / size).unwrap_or(u32::MAX);
        (writes, u32::try_from(size).unwrap_or(u32::MAX))
    }

    /// Runs the audit when none ran within the interval before `now` (a monotonic instant;
    /// tests pass their own), else reports the kept result. Blocking: up to a few seconds on a
    /// slow disk.
    pub fn run_if_due(&mut self, now: Instant) -> Section<datastore::DiskAudit> {
        self.returned_data = false;
        let due = self
            .last_run
            .is_none_or(|last| now.saturating_duration_since(last) >= self.options.interval);
        if !due {
            return self.kept_section();
        }
        let target = match self.check() {
            Ok(target) => target,
            Err(section) => return section,
        };
        self.last_run = Some(now);
        let (writes, size) = self.burst();
        match burst::run(&target, writes, size) {
            Ok(audit) => {
                debug!(path = %audit.path, p99_us = audit.p99_us, "Disk audit ran");
                self.kept = Kept::Unshipped(audit);
            }
            Err(e) => {
                let unavailable = e.to_unavailable();
                warn!(error = %unavailable.detail, "Disk audit failed");
                self.kept = Kept::Failed(unavailable);
            }
        }
        self.kept_section()
    }

    /// The sample carrying the section last returned by [`run_if_due`](Self::run_if_due) is
    /// durable under `seq`. Call it only for samples that carry that section.
    pub fn appended(&mut self, seq: Seq) {
        if self.returned_data {
            self.kept = Kept::Shipped(seq);
            self.returned_data = false;
        }
    }

    fn kept_section(&mut self) -> Section<datastore::DiskAudit> {
        match &self.kept {
            Kept::Unshipped(audit) => {
                self.returned_data = true;
                Section::Data(audit.clone())
            }
            Kept::Shipped(seq) => Section::NotDue { last: Some(*seq) },
            Kept::Failed(u) => Section::Unavailable(u.clone()),
            Kept::Nothing => Section::NotDue { last: None },
        }
    }

    /// The directory exists and the burst leaves enough room; else the section to report.
    fn check(&self) -> Result<Target, Section<datastore::DiskAudit>> {
        let dir = &self.options.dir;
        let (writes, size) = self.burst();
        if writes == 0 {
            return Err(Section::unavailable(
                UnavailableReason::Skipped,
                format!(
                    "max_bytes {} is below one write of {size} bytes",
                    self.options.max_bytes
                ),
            ));
        }
        let resolved = self.root.resolve(dir).map_err(|e| e.to_section())?;
        if !resolved.exists {
            return Err(Section::unavailable(
                UnavailableReason::NotFound,
                format!(
                    "{} does not exist (nearest existing: {}); the audit writes only in the \
                     datastore's own directory, never in an ancestor that may be another disk",
                    dir.display(),
                    resolved.host_path.display()
                ),
            ));
        }
        let on_disk = self.root.join(&resolved.host_path);
        let st = rustix::fs::statvfs(&on_disk).map_err(|e| {
            let e = ProbeError::Statvfs {
                path: on_disk.clone(),
                source: e.into(),
            };
            e.to_section()
        })?;
        let unit = u128::from(if st.f_frsize == 0 {
            st.f_bsize
        } else {
            st.f_frsize
        });
        let total = u128::from(st.f_blocks) * unit;
        let available = u128::from(st.f_bavail) * unit;
        let burst = u128::from(writes) * u128::from(size);
        let floor = (total * u128::from(self.options.min_free_percent) / 100)
            .max(u128::from(self.options.min_free_bytes));
        if available < floor + burst {
            return Err(Section::unavailable(
                UnavailableReason::Skipped,
                format!(
                    "{}: {available} bytes available; the audit writes {burst} and keeps at least \
                     {floor} available (max of {} % of {total} and {} bytes) so it never causes \
                     DiskPressure",
                    resolved.host_path.display(),
                    self.options.min_free_percent,
                    self.options.min_free_bytes,
                ),
            ));
        }
        let inodes_pct = u128::from(self.options.min_free_inodes_percent);
        // Filesystems without a fixed inode table (btrfs) report f_files = 0.
        if st.f_files > 0 && u128::from(st.f_ffree) * 100 < u128::from(st.f_files) * inodes_pct {
            return Err(Section::unavailable(
                UnavailableReason::Skipped,
                format!(
                    "{}: {} of {} inodes free, below {inodes_pct} %",
                    resolved.host_path.display(),
                    st.f_ffree,
                    st.f_files
                ),
            ));
        }
        Ok(Target {
            host_path: resolved.host_path,
            on_disk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_capped_at_one_megabyte_whatever_the_options() {
        let audit = |max_bytes, write_size| {
            let options = DiskAuditOptions {
                max_bytes,
                write_size,
                ..DiskAuditOptions::default()
            };
            DiskAudit::new(HostRoot::default(), options).burst()
        };
        assert_eq!(audit(460_000, 2300), (200, 2300));
        assert_eq!(audit(u64::MAX, 2300), (434, 2300));
        assert_eq!(audit(u64::MAX, u32::MAX), (1, 1_000_000));
        assert_eq!(audit(10, 0), (10, 1));
        assert_eq!(audit(100, 2300), (0, 2300));
    }
}
