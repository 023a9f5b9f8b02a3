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
    /// The kubelet's effective hard-eviction thresholds, this node's margin to each, and the
    /// node conditions they imply (DOMAIN.md §2). Computed by [`crate::eviction::evaluate`].
    pub eviction: Section<Eviction>,
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

/// Where the effective eviction thresholds came from, best source first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThresholdSource {
    /// `evictionHard` of `:10250/configz`: what the running kubelet uses.
    Configz,
    /// A kubelet config file or kubelet arguments on disk (K3s `config.yaml` `kubelet-arg`,
    /// a kubelet config drop-in, MicroK8s `args/kubelet`): the host path.
    File(String),
    /// Nothing effective could be read: the documented defaults of this distribution
    /// (DOMAIN.md §2), named as such.
    Default(DefaultsOf),
}

/// Whose documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DefaultsOf {
    /// Upstream kubelet: `memory.available<100Mi`, `nodefs.available<10%`,
    /// `imagefs.available<15%`, `nodefs.inodesFree<5%`.
    Upstream,
    /// MicroK8s default args: `memory.available<100Mi,nodefs.available<1Gi,imagefs.available<1Gi`.
    MicroK8s,
    /// K3s passes its own `eviction-hard=imagefs.available<5%,nodefs.available<5%` to the
    /// kubelet (no memory threshold); recent releases write it as the drop-in
    /// `00-k3s-defaults.conf`, which the agent reads as a file.
    K3s,
}

/// A kubelet eviction signal (the ones a node-level agent can measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Signal {
    MemoryAvailable,
    NodefsAvailable,
    NodefsInodesFree,
    ImagefsAvailable,
    ImagefsInodesFree,
    PidAvailable,
}

/// A threshold value: an absolute quantity (bytes, inodes or PIDs) or a percentage of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Quantity {
    Absolute(u64),
    Percent(f32),
}

/// One hard-eviction threshold: the signal is under pressure when available < value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub signal: Signal,
    pub value: Quantity,
}

/// One threshold against what this sample measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Margin {
    pub threshold: Threshold,
    /// The measured capacity and available amount; `None` when the sample has no measurement
    /// of this signal (its section is unavailable): the margin is then unknown, not fine.
    pub capacity: Option<u64>,
    pub available: Option<u64>,
    /// `available - threshold` in the signal's unit; negative means the threshold is crossed.
    pub margin: Option<i64>,
}

/// Kubelet node conditions as the agent derives them from its own measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Condition {
    /// Every threshold of this condition has a measured, positive margin.
    Clear,
    /// At least one threshold is crossed.
    Pressure,
    /// No threshold is crossed but at least one could not be measured.
    Unknown,
}

/// The effective thresholds, margins and the conditions they imply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eviction {
    pub source: ThresholdSource,
    pub margins: Bounded<Margin, 8>,
    pub memory_pressure: Condition,
    pub disk_pressure: Condition,
    pub pid_pressure: Condition,
}
