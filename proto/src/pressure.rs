//! Node pressure section: memory, PSI, filesystems, PIDs, load, uptime (read from `/proc`,
//! `/sys` and statvfs by the agent). The kubelet's eviction semantics are in DOMAIN.md §2.

use crate::bounded::Bounded;
use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePressure {
    pub memory: Section<Memory>,
    /// `/proc/pressure/*`; unavailable on kernels without CONFIG_PSI or with `psi=0`.
    pub psi: Section<Psi>,
    /// The configured node and image filesystems (and the datastore's).
    pub filesystems: Bounded<Filesystem, 16>,
    pub pids: Section<Pids>,
    pub load: Load,
    pub uptime_secs: u64,
}

/// `/proc/meminfo`: `memory.available` is close to `MemAvailable` (DOMAIN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    pub cpu: PsiResource,
    pub memory: PsiResource,
    pub io: PsiResource,
}

/// One `/proc/pressure/<resource>` file. `full` is absent for cpu on kernels before 5.13.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsiResource {
    pub some: PsiLine,
    pub full: Option<PsiLine>,
}

/// One PSI line: percentages over 10/60/300 s and the cumulative stall time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    pub avg10: f32,
    pub avg60: f32,
    pub avg300: f32,
    pub total_us: u64,
}

/// What a filesystem is to the kubelet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FsRole {
    /// `nodefs`: the kubelet's root directory.
    Node,
    /// `imagefs`: the container runtime's image store.
    Image,
    /// The local datastore's directory.
    Datastore,
}

/// statvfs of one configured path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filesystem {
    pub role: FsRole,
    pub path: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
}

/// `pid.available` = limit − in use (DOMAIN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pids {
    pub in_use: u64,
    pub limit: u64,
}

/// `/proc/loadavg`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub one: f32,
    pub five: f32,
    pub fifteen: f32,
}
