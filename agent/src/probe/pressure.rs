//! The node pressure probe: the numbers behind the kubelet's eviction signals (DOMAIN.md §2),
//! read straight from the host's kernel interfaces under the [`HostRoot`], so they are there
//! when the kubelet's own API (`:10250`) is not (DOMAIN.md §1).
//!
//! | field | source (under the host root) |
//! | --- | --- |
//! | `memory` | `/proc/meminfo` `MemTotal`, `MemAvailable`, kB × 1024 (DOMAIN.md §2) |
//! | `psi` | `/proc/pressure/{cpu,memory,io}`, `some` and `full` lines (DOMAIN.md §2) |
//! | `filesystems` | statvfs: `f_frsize` × `f_blocks`/`f_bavail`, `f_files`, `f_ffree` |
//! | `pids.limit` | min(`/proc/sys/kernel/pid_max`, `/proc/sys/kernel/threads-max`) |
//! | `pids.in_use` | the total after the `/` in the fourth field of `/proc/loadavg` |
//! | `load` | the first three fields of `/proc/loadavg` |
//! | `uptime_secs` | the first field of `/proc/uptime`, whole seconds |
//!
//! **PIDs** follow the kubelet's `pidlimit.Stats` (pkg/kubelet/stats/pidlimit/pidlimit_linux.go),
//! whose `rlimit` feeds `pid.available` = maxpid − current (DOMAIN.md §2): the limit is the
//! smaller of the two sysctls that both cap the number of tasks, using whichever can be read;
//! the count is every existing scheduling entity (processes and threads) from `/proc/loadavg`,
//! which the kubelet prefers to sysinfo(2)'s `procs` because that truncates above 65 535.
//!
//! **Sections.** The whole [`NodePressure`] is `Data` once `/proc/loadavg` and `/proc/uptime`
//! are read, the two fields with no section of their own. `memory`, `psi` and `pids` are each
//! `Unavailable` with a typed reason on their own failure, so an unreadable or truncated
//! meminfo does not hide PSI, PIDs and disks. A missing `/proc/pressure/*` is `NotFound`
//! "kernel without PSI (CONFIG_PSI) or booted with psi=0".
//!
//! **Filesystems** have no per-entry error on the wire, so the list holds what could be
//! measured, with `path` set to the host path actually measured:
//! - symlinks are followed inside the host root ([`HostRoot::resolve`]), so
//!   `/var/lib/rancher -> /mnt/ssd/rancher` reports `/mnt/ssd/rancher/...` and its filesystem;
//! - a configured path that does not exist is measured at its nearest existing ancestor: the
//!   kubelet's nodefs is "the filesystem containing its root directory", and a directory not yet
//!   created lands on its parent's filesystem. `path` then names the ancestor, not the
//!   configured path, so the consumer can tell;
//! - a path that cannot be resolved or measured (permission, a symlink loop) is left out.
//!
//! Both of the last two are logged at WARN when they start or change and at DEBUG while they
//! persist, so a misconfigured path is visible once, not every cycle.

use std::path::{Path, PathBuf};

use edgeward_proto::pressure::{Filesystem, FsRole, NodePressure, Pids, Psi};
use edgeward_proto::{Bounded, Sample, Section, UnavailableReason};
use tracing::{debug, info, warn};

use edgeward_proto::eviction;

use super::error::{ParseError, ProbeError};
use super::eviction::SharedThresholds;
use super::host::HostRoot;
use super::{Probe, procfs};

const MEMINFO: &str = "/proc/meminfo";
const LOADAVG: &str = "/proc/loadavg";
const UPTIME: &str = "/proc/uptime";
const PID_MAX: &str = "/proc/sys/kernel/pid_max";
const THREADS_MAX: &str = "/proc/sys/kernel/threads-max";
const PSI_CPU: &str = "/proc/pressure/cpu";
const PSI_MEMORY: &str = "/proc/pressure/memory";
const PSI_IO: &str = "/proc/pressure/io";

/// Why `/proc/pressure/*` can be missing.
pub const PSI_MISSING: &str = "kernel without PSI (CONFIG_PSI) or booted with psi=0";

/// How many filesystems one sample carries (the wire bound of `NodePressure::filesystems`).
pub const MAX_FILESYSTEMS: usize = Bounded::<Filesystem, 16>::MAX;

/// Reads [`NodePressure`] from the host. Holds no data between observations beyond which
/// configured filesystems were last in trouble (for logging).
#[derive(Debug)]
pub struct PressureProbe {
    root: HostRoot,
    filesystems: Vec<Configured>,
    thresholds: SharedThresholds,
}

#[derive(Debug)]
struct Configured {
    role: FsRole,
    /// Host-absolute path as configured.
    path: PathBuf,
    /// The problem last logged for this path, to log each new problem once.
    problem: Option<String>,
}

impl PressureProbe {
    /// A probe reading under `root` and measuring `filesystems`, host paths such as
    /// `(FsRole::Node, "/var/lib/kubelet")`. Relative paths count from the host's `/`. Only the
    /// first [`MAX_FILESYSTEMS`] are kept (logged at WARN).
    /// The eviction margins use what the kubelet probe put into `thresholds` this cycle.
    pub fn new(
        root: HostRoot,
        filesystems: Vec<(FsRole, PathBuf)>,
        thresholds: SharedThresholds,
    ) -> Self {
        if filesystems.len() > MAX_FILESYSTEMS {
            warn!(
                configured = filesystems.len(),
                kept = MAX_FILESYSTEMS,
                "More filesystems configured than a sample carries; ignoring the rest"
            );
        }
        let filesystems = filesystems
            .into_iter()
            .take(MAX_FILESYSTEMS)
            .map(|(role, path)| Configured {
                role,
                path,
                problem: None,
            })
            .collect();
        Self {
            root,
            filesystems,
            thresholds,
        }
    }

    /// One observation of the whole section.
    fn read(&mut self) -> Section<NodePressure> {
        let loadavg = match read_parsed(&self.root, LOADAVG, procfs::loadavg) {
            Ok(l) => l,
            Err(e) => return e.to_section(),
        };
        let uptime_secs = match read_parsed(&self.root, UPTIME, procfs::uptime_secs) {
            Ok(u) => u,
            Err(e) => return e.to_section(),
        };
        let memory = match read_parsed(&self.root, MEMINFO, procfs::meminfo) {
            Ok(m) => Section::Data(m),
            Err(e) => {
                debug!(error = %e.detail(), "Memory unavailable");
                e.to_section()
            }
        };
        let mut pressure = NodePressure {
            memory,
            psi: self.psi(),
            filesystems: self.filesystems(),
            pids: self.pids(loadavg.tasks),
            load: loadavg.load,
            uptime_secs,
            eviction: Section::unavailable(
                UnavailableReason::Disabled,
                "no kubelet probe resolves the eviction thresholds",
            ),
        };
        if let Some(t) = self.thresholds.get() {
            pressure.eviction =
                Section::Data(eviction::evaluate(t.source, &t.thresholds, &pressure));
        }
        Section::Data(pressure)
    }

    fn psi(&self) -> Section<Psi> {
        let read = |path| read_parsed(&self.root, path, procfs::psi_resource);
        let all = || -> Result<Psi, ProbeError> {
            Ok(Psi {
                cpu: read(PSI_CPU)?,
                memory: read(PSI_MEMORY)?,
                io: read(PSI_IO)?,
            })
        };
        match all() {
            Ok(psi) => Section::Data(psi),
            Err(e) if e.reason() == UnavailableReason::NotFound => {
                debug!(error = %e.detail(), "PSI unavailable");
                Section::unavailable(
                    UnavailableReason::NotFound,
                    format!("{}; {PSI_MISSING}", e.detail()),
                )
            }
            Err(e) => {
                debug!(error = %e.detail(), "PSI unavailable");
                e.to_section()
            }
        }
    }

    fn pids(&self, in_use: u64) -> Section<Pids> {
        let read = |path, field| read_parsed(&self.root, path, |t| procfs::integer(field, t));
        let limit = match (read(PID_MAX, "pid_max"), read(THREADS_MAX, "threads-max")) {
            (Ok(pid_max), Ok(threads_max)) => pid_max.min(threads_max),
            // As the kubelet does: the limit is whichever of the two could be read.
            (Ok(limit), Err(e)) | (Err(e), Ok(limit)) => {
                debug!(error = %e.detail(), "PID limit from one sysctl only");
                limit
            }
            (Err(e), Err(_)) => {
                debug!(error = %e.detail(), "PIDs unavailable");
                return e.to_section();
            }
        };
        Section::Data(Pids { in_use, limit })
    }

    fn filesystems(&mut self) -> Bounded<Filesystem, 16> {
        let mut out = Bounded::new();
        for fs in &mut self.filesystems {
            let problem = match measure(&self.root, fs.role, &fs.path) {
                Ok((measured, exists)) => {
                    let problem = (!exists).then(|| {
                        format!(
                            "{} does not exist; measuring its nearest existing ancestor {}",
                            fs.path.display(),
                            measured.path
                        )
                    });
                    // Cannot fail: at most MAX_FILESYSTEMS are configured (see `new`).
                    let _ = out.push(measured);
                    problem
                }
                Err(e) => Some(format!("left out of the sample: {}", e.detail())),
            };
            note(fs, problem);
        }
        out
    }
}

impl Probe for PressureProbe {
    fn name(&self) -> &'static str {
        "pressure"
    }

    fn observe(&mut self, sample: &mut Sample) {
        sample.pressure = self.read();
    }
}

/// Reads host file `path` and parses it.
fn read_parsed<T>(
    root: &HostRoot,
    path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, ProbeError> {
    let text = root.read_text(path)?;
    parse(&text).map_err(|source| ProbeError::Parse {
        path: root.join(path),
        source,
    })
}

/// statvfs of the filesystem holding host path `path`, and whether `path` itself exists.
fn measure(root: &HostRoot, role: FsRole, path: &Path) -> Result<(Filesystem, bool), ProbeError> {
    let resolved = root.resolve(path)?;
    let on_disk = root.join(&resolved.host_path);
    let st = rustix::fs::statvfs(&on_disk).map_err(|e| ProbeError::Statvfs {
        path: on_disk.clone(),
        source: e.into(),
    })?;
    // Linux fills f_frsize from f_bsize when a filesystem leaves it 0; be as kind to others.
    let unit = if st.f_frsize == 0 {
        st.f_bsize
    } else {
        st.f_frsize
    };
    let bytes = |field, blocks: u64| {
        blocks
            .checked_mul(unit)
            .ok_or_else(|| ProbeError::StatvfsOverflow {
                path: on_disk.clone(),
                field,
            })
    };
    let measured = Filesystem {
        role,
        path: resolved.host_path.to_string_lossy().into_owned(),
        total_bytes: bytes("f_blocks", st.f_blocks)?,
        available_bytes: bytes("f_bavail", st.f_bavail)?,
        inodes_total: st.f_files,
        inodes_free: st.f_ffree,
    };
    Ok((measured, resolved.exists))
}

/// Logs a configured filesystem's problem at WARN when it appears or changes, at DEBUG while
/// it persists, and at INFO when it clears.
fn note(fs: &mut Configured, problem: Option<String>) {
    let path = fs.path.display();
    match (&fs.problem, &problem) {
        (None, None) => {}
        (Some(_), None) => info!(role = ?fs.role, %path, "Filesystem measurable again"),
        (last, Some(now)) if last.as_ref() == Some(now) => {
            let msg = "Filesystem still not measured as configured";
            debug!(role = ?fs.role, %path, problem = %now, "{msg}");
        }
        (_, Some(now)) => {
            let msg = "Filesystem not measured as configured";
            warn!(role = ?fs.role, %path, problem = %now, "{msg}");
        }
    }
    fs.problem = problem;
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A host root with readable loadavg and uptime and nothing else.
    fn minimal_host() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("proc/sys/kernel")).expect("mkdir");
        fs::write(
            dir.path().join("proc/loadavg"),
            "0.50 0.40 0.30 2/300 999\n",
        )
        .expect("write");
        fs::write(dir.path().join("proc/uptime"), "120.00 100.00\n").expect("write");
        dir
    }

    fn observe(dir: &Path, filesystems: Vec<(FsRole, PathBuf)>) -> Section<NodePressure> {
        PressureProbe::new(HostRoot::new(dir), filesystems, SharedThresholds::default()).read()
    }

    #[test]
    fn pid_limit_is_the_smaller_of_pid_max_and_threads_max() {
        let dir = minimal_host();
        let kernel = dir.path().join("proc/sys/kernel");
        fs::write(kernel.join("pid_max"), "4194304\n").expect("write");
        fs::write(kernel.join("threads-max"), "62000\n").expect("write");
        let Section::Data(p) = observe(dir.path(), vec![]) else {
            panic!("expected data");
        };
        assert_eq!(
            p.pids,
            Section::Data(Pids {
                in_use: 300,
                limit: 62_000
            })
        );
    }

    #[test]
    fn pid_limit_uses_the_readable_sysctl_when_the_other_is_missing() {
        let dir = minimal_host();
        fs::write(dir.path().join("proc/sys/kernel/pid_max"), "32768\n").expect("write");
        let Section::Data(p) = observe(dir.path(), vec![]) else {
            panic!("expected data");
        };
        assert_eq!(p.pids.data().map(|p| p.limit), Some(32_768));
    }

    #[test]
    fn pids_are_unavailable_when_neither_sysctl_reads() {
        let dir = minimal_host();
        let Section::Data(p) = observe(dir.path(), vec![]) else {
            panic!("expected data");
        };
        let Section::Unavailable(u) = p.pids else {
            panic!("expected unavailable pids, got {:?}", p.pids);
        };
        assert_eq!(u.reason, UnavailableReason::NotFound);
        assert!(u.detail.contains("pid_max"), "{}", u.detail);
    }

    #[test]
    fn garbage_psi_file_is_unparseable_not_missing() {
        let dir = minimal_host();
        let psi = dir.path().join("proc/pressure");
        fs::create_dir_all(&psi).expect("mkdir");
        for name in ["cpu", "memory", "io"] {
            fs::write(psi.join(name), "some avg10=x\n").expect("write");
        }
        let Section::Data(p) = observe(dir.path(), vec![]) else {
            panic!("expected data");
        };
        let Section::Unavailable(u) = p.psi else {
            panic!("expected unavailable psi");
        };
        assert_eq!(u.reason, UnavailableReason::Unparseable);
        assert!(u.detail.contains("proc/pressure/cpu"), "{}", u.detail);
    }

    #[test]
    fn unreadable_loadavg_makes_the_whole_section_unavailable() {
        let dir = minimal_host();
        fs::write(dir.path().join("proc/loadavg"), "").expect("write");
        let Section::Unavailable(u) = observe(dir.path(), vec![]) else {
            panic!("expected unavailable");
        };
        assert_eq!(u.reason, UnavailableReason::Unparseable);
        assert!(u.detail.contains("proc/loadavg"), "{}", u.detail);
    }

    #[test]
    fn a_filesystem_that_cannot_be_resolved_is_left_out_and_the_rest_kept() {
        let dir = minimal_host();
        fs::write(dir.path().join("file"), "x").expect("write");
        let Section::Data(p) = observe(
            dir.path(),
            vec![
                (FsRole::Node, PathBuf::from("/file/below-a-file")),
                (FsRole::Image, PathBuf::from("/proc")),
            ],
        ) else {
            panic!("expected data");
        };
        assert_eq!(p.filesystems.len(), 1);
        assert_eq!(p.filesystems[0].role, FsRole::Image);
        assert_eq!(p.filesystems[0].path, "/proc");
    }

    #[test]
    fn more_filesystems_than_the_wire_holds_are_cut_to_the_bound() {
        let dir = minimal_host();
        let many = vec![(FsRole::Datastore, PathBuf::from("/")); MAX_FILESYSTEMS + 3];
        let Section::Data(p) = observe(dir.path(), many) else {
            panic!("expected data");
        };
        assert_eq!(p.filesystems.len(), MAX_FILESYSTEMS);
    }
}
