//! The upgrade plan as the REST API and the dashboard read it: per cluster the versions, the
//! path to the target, the steps with their blockers; fleet-wide the waves in rollout order,
//! the halt (if any) and the progress.
//!
//! Invariants: JSON-friendly (no maps with non-string keys), every list in a stable order
//! (clusters by id, steps and waves by execution order, blockers by kind then reason), and no
//! field is "fine" by default: an unknown version is `null` with a `version_unknown` blocker.

use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::{ClusterId, NodeId, UnixMillis};
use serde::Serialize;

use super::super::finding::FindingId;
use crate::policy::WindowState;

/// The fleet's upgrade plan at `evaluated_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradePlan {
    pub evaluated_at: UnixMillis,
    /// Clusters with a known id, by id.
    pub clusters: Vec<ClusterPlan>,
    /// Every pending wave in execution order: rollout group, then cluster, then step.
    pub waves: Vec<Wave>,
    /// Set when a canary cluster went bad after its upgrade started: nothing is scheduled.
    pub halted: Option<Halt>,
    pub progress: Progress,
}

impl Default for UpgradePlan {
    fn default() -> Self {
        Self {
            evaluated_at: UnixMillis(0),
            clusters: Vec::new(),
            waves: Vec::new(),
            halted: None,
            progress: Progress::default(),
        }
    }
}

/// Where a cluster's target comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSource {
    /// `target = "v1.31.4+k3s1"`.
    Version,
    /// `channel = "stable"`, pinned in `[channels]`.
    Channel { name: String },
}

/// The datastore a cluster's servers run, as the plan needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatastoreKind {
    Etcd,
    Sqlite,
    Dqlite,
    External,
    /// No server reported its datastore.
    #[default]
    Unknown,
}

impl DatastoreKind {
    pub const ALL: [DatastoreKind; 5] = [
        Self::Etcd,
        Self::Sqlite,
        Self::Dqlite,
        Self::External,
        Self::Unknown,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Etcd => "etcd",
            Self::Sqlite => "sqlite",
            Self::Dqlite => "dqlite",
            Self::External => "external",
            Self::Unknown => "unknown",
        }
    }
}

/// One cluster's part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterPlan {
    pub cluster: ClusterId,
    /// The policy's display name.
    pub name: Option<String>,
    pub group: String,
    pub canary: bool,
    /// The servers' distribution (`None` when no server reported an inventory).
    pub distro: Option<Distro>,
    pub datastore: DatastoreKind,
    /// The group's target version; `None`: the policy plans no upgrade.
    pub target: Option<String>,
    pub target_source: Option<TargetSource>,
    pub servers: Vec<NodeVersion>,
    pub agents: Vec<NodeVersion>,
    /// Ids of this cluster's `version_skew` findings.
    pub skew: Vec<FindingId>,
    /// From the oldest running version to the target, one minor at a time:
    /// `["v1.28.9", "v1.29", "v1.30", "v1.31.4+k3s1"]`. Intermediate steps name the minor
    /// unless `[channels]` pins a version of it. Empty when at target or blocked.
    pub path: Vec<String>,
    /// The hop the steps go to: `path[1]`.
    pub next: Option<String>,
    /// Steps to the next hop, in execution order; nodes already there are skipped.
    pub steps: Vec<Step>,
    /// What stops the whole cluster (a downgrade, a major version change).
    pub blockers: Vec<Blocker>,
    /// The group's maintenance window at `evaluated_at`.
    pub window: WindowView,
    /// Upgrading the only server takes the control plane down for the restart.
    pub single_server_downtime: bool,
    pub progress: ClusterProgress,
    /// Rancher system-upgrade-controller manifests for the next hop.
    pub suc: SucExport,
}

/// A node's running version, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeVersion {
    pub node: NodeId,
    pub role: NodeRole,
    /// `None`: version unknown (never "fine").
    pub version: Option<String>,
    pub status: VersionStatus,
}

/// A node's version against the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    AtTarget,
    Behind,
    /// Newer than the target: never downgraded.
    Ahead,
    /// No version reported.
    Unknown,
    /// The group has no target.
    NoTarget,
}

/// One node's upgrade to the next hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub node: NodeId,
    pub role: NodeRole,
    pub from: Option<String>,
    pub to: String,
    /// The fleet-wide wave number (1-based) this step belongs to.
    pub wave: u32,
    /// Position inside the cluster's steps (1-based).
    pub order: u32,
    /// The etcd leader: upgraded last among the servers.
    pub leader: bool,
    /// No blockers.
    pub ready: bool,
    pub blockers: Vec<Blocker>,
}

/// Why a node (or a whole cluster) may not be upgraded now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    pub reason: String,
    /// The health finding this rests on, when there is one.
    pub finding: Option<FindingId>,
}

/// The named kinds of blockers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// Taking this server down loses quorum (another voter unhealthy, too few voters, an
    /// alarm, a learner, a follower far behind).
    QuorumWouldBeLost,
    /// The node's datastore has findings of warning or worse, or its state is unknown.
    DatastoreUnhealthy,
    /// Memory or PID pressure.
    Pressure,
    /// Disk pressure or a thin margin on a filesystem.
    LowDisk,
    /// An expired certificate or one expiring critically soon.
    Certificate,
    KubeletDown,
    /// No recent batch: whatever it last said is out of date.
    Stale,
    VersionUnknown,
    /// No inventory says whether it is a server: it could break one-server-at-a-time.
    RoleUnknown,
    /// The target is older than a running version: downgrades are never planned.
    TargetOlderThanRunning,
    /// The target is on another major version: minors cannot be counted.
    MajorVersionChange,
}

impl BlockerKind {
    pub const ALL: [BlockerKind; 11] = [
        Self::QuorumWouldBeLost,
        Self::DatastoreUnhealthy,
        Self::Pressure,
        Self::LowDisk,
        Self::Certificate,
        Self::KubeletDown,
        Self::Stale,
        Self::VersionUnknown,
        Self::RoleUnknown,
        Self::TargetOlderThanRunning,
        Self::MajorVersionChange,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QuorumWouldBeLost => "quorum_would_be_lost",
            Self::DatastoreUnhealthy => "datastore_unhealthy",
            Self::Pressure => "pressure",
            Self::LowDisk => "low_disk",
            Self::Certificate => "certificate",
            Self::KubeletDown => "kubelet_down",
            Self::Stale => "stale",
            Self::VersionUnknown => "version_unknown",
            Self::RoleUnknown => "role_unknown",
            Self::TargetOlderThanRunning => "target_older_than_running",
            Self::MajorVersionChange => "major_version_change",
        }
    }
}

/// The group's maintenance window at the evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowView {
    Open {
        until: UnixMillis,
    },
    /// `next_start`/`next_end` are `None` when the group is frozen (empty window list).
    Closed {
        next_start: Option<UnixMillis>,
        next_end: Option<UnixMillis>,
    },
    Unrestricted,
}

impl From<WindowState> for WindowView {
    fn from(w: WindowState) -> Self {
        match w {
            WindowState::Open { until } => Self::Open { until },
            WindowState::Closed { next } => Self::Closed {
                next_start: next.map(|n| n.0),
                next_end: next.map(|n| n.1),
            },
            WindowState::Unrestricted => Self::Unrestricted,
        }
    }
}

impl WindowView {
    /// Whether a step may start now.
    pub fn allows_now(self) -> bool {
        !matches!(self, Self::Closed { .. })
    }
}

/// Servers go one per wave; agents in batches of the group's `max_unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Servers,
    Agents,
}

/// A set of steps that may run together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    /// 1-based, fleet-wide, in execution order.
    pub number: u32,
    pub group: String,
    pub canary: bool,
    pub cluster: ClusterId,
    pub phase: Phase,
    pub nodes: Vec<NodeId>,
    pub state: WaveState,
    /// Why it is not `ready` (empty when it is).
    pub reason: String,
}

/// Whether a wave may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveState {
    /// Every node ready, predecessors done, inside the window: may start now.
    Ready,
    /// A node of the wave is blocked (see its step's blockers).
    Blocked,
    /// Earlier waves of the cluster, or earlier rollout groups, are not done yet.
    Waiting,
    /// Ready but outside the group's maintenance window (see the cluster's `window`).
    OutsideWindow,
    /// The rollout is halted (see the plan's `halted`).
    Halted,
}

/// Why the rollout stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Halt {
    pub reason: String,
    /// One entry per canary cluster that went bad after its upgrade started.
    pub canaries: Vec<HaltCause>,
}

/// One canary cluster that halts the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaltCause {
    pub cluster: ClusterId,
    /// Its critical health findings.
    pub findings: Vec<FindingId>,
    /// Its nodes with blockers.
    pub blocked_nodes: Vec<NodeId>,
}

/// Nodes at target, per cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterProgress {
    pub at_target: u32,
    pub total: u32,
    /// Nodes without a known version.
    pub unknown: u32,
    /// Nodes run more than one version.
    pub mixed: bool,
    /// Aggregator clock: since when the cluster runs mixed versions without any node's
    /// version changing (`None` when not mixed, or without memory).
    pub mixed_since: Option<UnixMillis>,
    /// Mixed for longer than the group's `stuck_after`.
    pub stuck: bool,
}

/// Nodes and clusters at target, fleet-wide, counted over clusters whose group has a target;
/// `stuck` lists every stuck cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub nodes_at_target: u32,
    pub nodes: u32,
    pub nodes_unknown: u32,
    pub clusters_at_target: u32,
    pub clusters: u32,
    pub stuck: Vec<ClusterId>,
}

/// The system-upgrade-controller export of one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SucExport {
    /// `server-plan` and `agent-plan` as YAML, `None` when there is nothing to export.
    pub manifests: Option<String>,
    /// What the export could not express, or why there is none.
    pub notes: Vec<String>,
}
