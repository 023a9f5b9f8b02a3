//! Whether each node of a cluster may be upgraded now, with *named* blockers that reference the
//! health findings they rest on.
//!
//! A node is ready only when nothing below blocks it; missing data blocks (a node whose version,
//! role or datastore state is unknown is never "fine"):
//! - its own findings: memory/PID pressure (warning+), disk pressure or a thin margin on a
//!   filesystem (warning+), datastore findings (etcd, kine/SQLite, dqlite, quorum; warning+),
//!   `node_stale`, `cert_expired`, critical `cert_expiring`, `kubelet_down`;
//! - version or role unknown;
//! - servers only: cluster-wide datastore findings (warning+), an unknown datastore state, and
//!   the quorum rules of [`super::quorum`].

use std::collections::BTreeMap;

use edgeward_proto::NodeId;
use edgeward_proto::inventory::NodeRole;

use super::super::finding::{Finding, Kind, Severity};
use super::super::node::Current;
use super::cluster::NodeFacts;
use super::plan::{Blocker, BlockerKind, DatastoreKind};
use super::quorum;

/// Every node's blockers (an empty list: ready) and what the datastore says about the servers.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Readiness {
    pub blockers: BTreeMap<NodeId, Vec<Blocker>>,
    pub datastore: DatastoreKind,
    /// The etcd leader, upgraded last among the servers.
    pub leader: Option<NodeId>,
}

impl Readiness {
    pub fn of(&self, node: &NodeId) -> &[Blocker] {
        self.blockers.get(node).map_or(&[], Vec::as_slice)
    }
}

/// Assesses every node of one cluster; `findings` are the cluster's health findings (its own
/// and its nodes').
pub(super) fn assess(nodes: &[NodeFacts<'_>], findings: &[&Finding]) -> Readiness {
    let mut blockers: BTreeMap<NodeId, Vec<Blocker>> = BTreeMap::new();
    for n in nodes {
        let mine = blockers.entry(n.id.clone()).or_default();
        mine.extend(
            findings
                .iter()
                .filter(|f| f.node.as_ref() == Some(n.id))
                .filter_map(|f| blocker_for(f)),
        );
        if n.version.is_none() {
            let reason = match n.text {
                Some(t) => format!("version unknown: {t:?} is not a Kubernetes version"),
                None => {
                    "version unknown: neither the kubelet nor the inventory reported one".to_owned()
                }
            };
            mine.push(Blocker {
                kind: BlockerKind::VersionUnknown,
                reason,
                finding: None,
            });
        }
        if n.role == NodeRole::Unknown {
            mine.push(Blocker {
                kind: BlockerKind::RoleUnknown,
                reason: "role unknown: no inventory says whether it is a server".to_owned(),
                finding: None,
            });
        }
    }
    let servers: Vec<&NodeFacts<'_>> = nodes.iter().filter(|n| n.is_server()).collect();
    let cluster_wide: Vec<Blocker> = findings
        .iter()
        .filter(|f| f.node.is_none() && is_datastore(f.kind) && f.severity >= Severity::Warning)
        .map(|f| from_finding(BlockerKind::DatastoreUnhealthy, f))
        .collect();
    for s in &servers {
        let mine = blockers.entry(s.id.clone()).or_default();
        mine.extend(cluster_wide.iter().cloned());
        let unknown = match s.state.datastore.current() {
            Current::Data(_) => None,
            Current::Unavailable(u, _) => Some(format!("{:?}: {}", u.value.reason, u.value.detail)),
            Current::Never => Some("never reported".to_owned()),
        };
        if let Some(why) = unknown {
            mine.push(Blocker {
                kind: BlockerKind::DatastoreUnhealthy,
                reason: format!("datastore state unknown ({why})"),
                finding: None,
            });
        }
    }
    let q = quorum::assess(&servers, findings);
    for (node, extra) in q.blockers {
        blockers.entry(node).or_default().extend(extra);
    }
    for list in blockers.values_mut() {
        list.sort();
        list.dedup();
    }
    Readiness {
        blockers,
        datastore: q.datastore,
        leader: q.leader,
    }
}

/// The datastore family of findings.
pub(super) fn is_datastore(kind: Kind) -> bool {
    use Kind::*;
    matches!(
        kind,
        EtcdUnhealthy
            | EtcdNoLeader
            | EtcdLeaderChurn
            | EtcdProposalsFailed
            | EtcdSlowWalFsync
            | EtcdSlowBackendCommit
            | EtcdSlowPeers
            | EtcdDbNearQuota
            | EtcdFragmented
            | EtcdAlarm
            | EtcdSnapshotsMissing
            | EtcdSnapshotsStale
            | QuorumAtRisk
            | SqliteCompactionLag
            | SqliteWalGrowth
            | SqliteIntegrity
            | DqliteVoterLoss
    )
}

/// Whether a thin margin is a filesystem's (`nodefs.*`, `imagefs.*`, `containerfs.*`, as
/// the pressure check names its subject); one without a subject is treated as one.
fn on_filesystem(f: &Finding) -> bool {
    f.subject.as_deref().is_none_or(|s| s.contains("fs."))
}

/// The blocker a node's own health finding makes, if any.
fn blocker_for(f: &Finding) -> Option<Blocker> {
    let warning = f.severity >= Severity::Warning;
    let kind = match f.kind {
        Kind::MemoryPressure | Kind::PidPressure if warning => BlockerKind::Pressure,
        Kind::DiskPressure if warning => BlockerKind::LowDisk,
        Kind::ThinMargin if warning && on_filesystem(f) => BlockerKind::LowDisk,
        k if is_datastore(k) && warning => BlockerKind::DatastoreUnhealthy,
        Kind::NodeStale => BlockerKind::Stale,
        Kind::CertExpired => BlockerKind::Certificate,
        Kind::CertExpiring if f.severity == Severity::Critical => BlockerKind::Certificate,
        Kind::KubeletDown => BlockerKind::KubeletDown,
        _ => return None,
    };
    Some(from_finding(kind, f))
}

pub(super) fn from_finding(kind: BlockerKind, f: &Finding) -> Blocker {
    Blocker {
        kind,
        reason: format!("{}: {}", f.kind, f.summary),
        finding: Some(f.id.clone()),
    }
}
