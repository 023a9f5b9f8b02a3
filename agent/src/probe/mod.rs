//! Probes: what the agent observes on its node, one [`Probe`] implementation per section of a
//! [`Sample`], one file per probe.
//!
//! A sampling cycle starts from [`blank_sample`], in which every section is `Unavailable`
//! (`Disabled`), and hands it to each registered probe in turn; a probe overwrites only its
//! own section. A section no registered probe fills therefore says so, never "healthy" and
//! never silently absent (the invariant of `edgeward_proto::sample`).
//!
//! Probes read the host through a [`HostRoot`], so the agent works the same as a service
//! (root `/`) and as a DaemonSet with the host mounted at, say, `/host`. That is why they read
//! `/proc` and call `statvfs` themselves rather than use the `sysinfo` crate: `sysinfo` reads
//! the agent's own `/proc` and mounts and cannot be pointed under a host root.
//!
//! Probes never panic and never return errors to the sampler: a failure becomes
//! `Section::Unavailable` with a typed [`UnavailableReason`] (via [`ProbeError::reason`] and
//! [`io_reason`]) and a detail naming the path and the error.
//!
//! Probes:
//! - [`pressure`]: memory, PSI, filesystems, PIDs, load, uptime (DOMAIN.md §2).
//! - [`kubelet`]: `:10248/healthz` and the `:10250` API, and the effective eviction
//!   thresholds (DOMAIN.md §1–2).
//! - [`datastore`]: the datastore's kind and health: kine/SQLite, etcd, dqlite (DOMAIN.md §3).
//! - [`disk_audit`]: the fdatasync latency audit the datastore probe owns (DOMAIN.md §3).
//! - [`inventory`]: versions, certificates, clock, configuration digests (DOMAIN.md §4–5).

pub mod datastore;
pub mod disk_audit;
mod error;
pub mod eviction;
mod host;
pub mod inventory;
pub mod kubelet;
pub mod pressure;
mod procfs;
pub mod prometheus;
pub mod switched;

use edgeward_proto::{BootId, Sample, Section, Seq, UnavailableReason, UnixMillis};

pub use error::{ParseError, ProbeError, io_reason};
pub use host::{HostRoot, READ_LIMIT, Resolved};
pub use pressure::PressureProbe;

/// The host file that holds the kernel's boot id.
pub const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// One source of observations, filling one section of a [`Sample`].
pub trait Probe: Send + 'static {
    /// Short stable name for logs ("pressure").
    fn name(&self) -> &'static str;

    /// Runs one observation and writes this probe's section into `sample`. Blocking I/O is
    /// allowed: the sampler calls it on a blocking thread. Never panics; failures become
    /// `Section::Unavailable` with a typed reason and a detail naming the path or error.
    fn observe(&mut self, sample: &mut Sample);

    /// The sample of this cycle is durable in the outbox under `seq`. A rate-limited probe
    /// that put data into it remembers `seq`, so later cycles report `NotDue { last: Some(seq) }`;
    /// a probe that never hears this (the append failed) must ship its data again.
    fn appended(&mut self, _seq: Seq) {}
}

/// The kernel's boot id, which changes on every reboot; the sampler puts it in batch headers.
pub fn read_boot_id(root: &HostRoot) -> Result<BootId, ProbeError> {
    let text = root.read_text(BOOT_ID)?;
    procfs::boot_id(&text).map_err(|source| ProbeError::Parse {
        path: root.join(BOOT_ID),
        source,
    })
}

/// A sample taken at `at` in which every section is `Unavailable` with reason `Disabled` and
/// detail "`<probe>` probe not built into this agent yet". `seq` is 0: the outbox assigns it.
pub fn blank_sample(at: UnixMillis) -> Sample {
    fn not_built<T>(probe: &str) -> Section<T> {
        Section::unavailable(
            UnavailableReason::Disabled,
            format!("{probe} probe not built into this agent yet"),
        )
    }
    Sample {
        seq: Seq(0),
        at,
        pressure: not_built("pressure"),
        kubelet: not_built("kubelet"),
        datastore: not_built("datastore"),
        inventory: not_built("inventory"),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn blank_sample_marks_every_section_disabled_with_the_probe_name() {
        let s = blank_sample(UnixMillis(1_700_000_000_000));
        assert_eq!(s.seq, Seq(0));
        assert_eq!(s.at, UnixMillis(1_700_000_000_000));
        fn detail<T: std::fmt::Debug>(section: &Section<T>) -> String {
            match section {
                Section::Unavailable(u) if u.reason == UnavailableReason::Disabled => {
                    u.detail.clone()
                }
                other => panic!("expected Disabled, got {other:?}"),
            }
        }
        for (section, probe) in [
            (detail(&s.pressure), "pressure"),
            (detail(&s.kubelet), "kubelet"),
            (detail(&s.datastore), "datastore"),
            (detail(&s.inventory), "inventory"),
        ] {
            assert_eq!(
                section,
                format!("{probe} probe not built into this agent yet")
            );
        }
    }

    #[test]
    fn boot_id_is_read_under_the_host_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let random = dir.path().join("proc/sys/kernel/random");
        fs::create_dir_all(&random).expect("mkdir");
        fs::write(
            random.join("boot_id"),
            "00112233-4455-6677-8899-aabbccddeeff\n",
        )
        .expect("write");
        let id = read_boot_id(&HostRoot::new(dir.path())).expect("boot id");
        assert_eq!(
            id.0,
            [
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff
            ]
        );
    }

    #[test]
    fn missing_boot_id_is_a_read_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_boot_id(&HostRoot::new(dir.path())).expect_err("missing");
        assert_eq!(err.reason(), UnavailableReason::NotFound);
        assert!(
            err.detail().contains("proc/sys/kernel/random/boot_id"),
            "{}",
            err.detail()
        );
    }
}
