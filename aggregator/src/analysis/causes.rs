//! Root causes: a finding names the lower-layer findings that explain it, so an operator starts
//! at the cause, not the symptom.
//!
//! [`RULES`] is a table of symptom kind → (cause kind, where the cause must be). Links are
//! direct: a chain (slow WAL fsync ← slow disk ← io pressure) is followed finding by finding;
//! where an intermediate check may not have run (the disk audit is rate-limited) the table
//! also names the deeper cause directly.
//!
//! Invariants: `caused_by` is sorted and free of duplicates, never names the finding itself,
//! and keeps what it held before; the result does not depend on the order of the input. The
//! table is acyclic over kinds (a test checks it), so no two findings explain each other.

use std::collections::{BTreeMap, BTreeSet};

use edgeward_proto::{ClusterId, NodeId};

use super::finding::{Finding, FindingId, Kind};
use super::health::IMPLICATES;

/// Where a cause must be, relative to its symptom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On the symptom's node.
    Node,
    /// Anywhere in the symptom's cluster (a node's or the cluster's own finding).
    Cluster,
    /// On another node of the symptom's cluster.
    Peer,
    /// On a node the symptom names as `implicates.<node>` in its evidence.
    Implicated,
}

use super::finding::Kind as K;
use Scope::{Cluster, Implicated, Node, Peer};

/// Symptom → its possible direct causes. One row per symptom kind.
#[rustfmt::skip]
pub const RULES: &[(Kind, &[(Kind, Scope)])] = &[
    // Storage: the disk under the datastore, then etcd.
    (K::DiskSlowFdatasync, &[(K::IoPressure, Node)]),
    (K::EtcdSlowWalFsync, &[(K::DiskSlowFdatasync, Node), (K::IoPressure, Node)]),
    (K::EtcdSlowBackendCommit, &[(K::DiskSlowFdatasync, Node), (K::IoPressure, Node)]),
    (K::EtcdLeaderChurn, &[
        (K::DiskSlowFdatasync, Node), (K::EtcdSlowWalFsync, Node), (K::EtcdSlowPeers, Node),
        (K::ClockSkew, Cluster),
    ]),
    (K::EtcdProposalsFailed, &[
        (K::EtcdLeaderChurn, Node), (K::EtcdNoLeader, Node), (K::QuorumAtRisk, Cluster),
    ]),
    (K::EtcdUnhealthy, &[
        (K::EtcdAlarm, Node), (K::EtcdSlowWalFsync, Node), (K::DiskSlowFdatasync, Node),
        (K::MemoryPressure, Node), (K::DiskPressure, Node),
    ]),
    (K::QuorumAtRisk, &[
        (K::NodeStale, Implicated), (K::EtcdUnhealthy, Implicated), (K::KubeletDown, Implicated),
    ]),
    (K::EtcdNoLeader, &[(K::QuorumAtRisk, Cluster), (K::EtcdUnhealthy, Peer)]),
    (K::EtcdAlarm, &[(K::EtcdDbNearQuota, Node)]),
    (K::EtcdDbNearQuota, &[(K::EtcdFragmented, Node)]),
    (K::EtcdSnapshotsStale, &[(K::DiskPressure, Node), (K::EtcdUnhealthy, Node)]),
    (K::EtcdSnapshotsMissing, &[(K::DiskPressure, Node)]),
    (K::DqliteVoterLoss, &[(K::NodeStale, Implicated)]),
    // Compute.
    (K::PlegUnhealthy, &[
        (K::RuntimeErrors, Node), (K::IoPressure, Node), (K::MemoryPressure, Node),
        (K::PidPressure, Node),
    ]),
    (K::RuntimeErrors, &[(K::DiskPressure, Node)]),
    (K::PodStartErrors, &[(K::RuntimeErrors, Node)]),
    (K::KubeletDown, &[(K::MemoryPressure, Node), (K::PidPressure, Node), (K::DiskPressure, Node)]),
    (K::CrashLooping, &[(K::OomKilled, Node), (K::MemoryPressure, Node), (K::DiskPressure, Node)]),
    (K::OomKilled, &[(K::MemoryPressure, Node)]),
    (K::Evictions, &[(K::MemoryPressure, Node), (K::DiskPressure, Node), (K::PidPressure, Node)]),
    // Identity and delivery.
    (K::ClockSkew, &[(K::ClockUnsynchronized, Cluster)]),
    (K::DataGap, &[(K::BacklogGrowing, Node)]),
];

/// Findings by (kind, node) and by (kind, cluster), so that linking stays proportional to the
/// findings near each symptom rather than to the whole fleet's.
#[derive(Default)]
struct Index<'a> {
    by_node: BTreeMap<(Kind, &'a NodeId), Vec<&'a Finding>>,
    by_cluster: BTreeMap<(Kind, &'a ClusterId), Vec<&'a Finding>>,
}

impl<'a> Index<'a> {
    fn new(findings: &'a [Finding]) -> Self {
        let mut index = Self::default();
        for f in findings {
            if let Some(n) = &f.node {
                index.by_node.entry((f.kind, n)).or_default().push(f);
            }
            if let Some(c) = &f.cluster {
                index.by_cluster.entry((f.kind, c)).or_default().push(f);
            }
        }
        index
    }

    fn on_node(&self, kind: Kind, node: &'a NodeId) -> &[&'a Finding] {
        self.by_node
            .get(&(kind, node))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn in_cluster(&self, kind: Kind, cluster: &'a ClusterId) -> &[&'a Finding] {
        self.by_cluster
            .get(&(kind, cluster))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Sets `caused_by` on every finding that a lower-layer finding explains.
pub fn link(findings: &mut [Finding]) {
    let causes: Vec<BTreeSet<FindingId>> = {
        let index = Index::new(findings);
        findings.iter().map(|f| causes_of(f, &index)).collect()
    };
    for (f, found) in findings.iter_mut().zip(causes) {
        let mut all: BTreeSet<FindingId> = f.caused_by.drain(..).collect();
        all.extend(found);
        all.remove(&f.id);
        f.caused_by = all.into_iter().collect();
    }
}

/// The cause kinds of a symptom kind.
pub fn rules_for(kind: Kind) -> &'static [(Kind, Scope)] {
    RULES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, causes)| causes)
}

fn causes_of(f: &Finding, index: &Index<'_>) -> BTreeSet<FindingId> {
    let implicated: BTreeSet<&str> = f
        .evidence
        .keys()
        .filter_map(|k| k.strip_prefix(IMPLICATES))
        .collect();
    let mut out = BTreeSet::new();
    for (kind, scope) in rules_for(f.kind) {
        let candidates: Vec<&Finding> = match (scope, &f.node, &f.cluster) {
            (Scope::Node, Some(node), _) => index
                .on_node(*kind, node)
                .iter()
                .copied()
                .filter(|c| c.cluster == f.cluster)
                .collect(),
            (Scope::Cluster, _, Some(cluster)) => index.in_cluster(*kind, cluster).to_vec(),
            (Scope::Peer, _, Some(cluster)) => index
                .in_cluster(*kind, cluster)
                .iter()
                .copied()
                .filter(|c| c.node.is_some() && c.node != f.node)
                .collect(),
            (Scope::Implicated, _, Some(cluster)) => index
                .in_cluster(*kind, cluster)
                .iter()
                .copied()
                .filter(|c| {
                    c.node
                        .as_ref()
                        .is_some_and(|n| implicated.contains(n.as_str()))
                })
                .collect(),
            // Node-scoped rules need a node, cluster-scoped ones a known cluster.
            _ => Vec::new(),
        };
        out.extend(
            candidates
                .into_iter()
                .filter(|c| c.id != f.id)
                .map(|c| c.id.clone()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use edgeward_proto::UnixMillis;

    use super::*;
    use crate::analysis::finding::Severity;

    fn at(kind: Kind, cluster: Option<&str>, node: Option<&str>) -> Finding {
        let c = cluster.map(|c| ClusterId::new(c).expect("valid"));
        let n = node.map(|n| NodeId::new(n).expect("valid"));
        let s = Severity::Warning;
        Finding::new(kind, s, c.as_ref(), n.as_ref(), None, "t", UnixMillis(0))
    }

    fn id(kind: Kind, cluster: Option<&str>, node: Option<&str>) -> FindingId {
        at(kind, cluster, node).id
    }

    fn caused_by(found: &[Finding], kind: Kind, node: Option<&str>) -> Vec<FindingId> {
        found
            .iter()
            .find(|f| f.kind == kind && f.node.as_ref().map(NodeId::as_str) == node)
            .map(|f| f.caused_by.clone())
            .unwrap_or_else(|| panic!("no {kind} on {node:?}"))
    }

    #[test]
    fn a_symptom_names_its_causes_on_its_own_node_only() {
        let c = Some("c1");
        let mut found = vec![
            at(K::EtcdSlowWalFsync, c, Some("n1")),
            at(K::DiskSlowFdatasync, c, Some("n1")),
            at(K::IoPressure, c, Some("n1")),
            at(K::IoPressure, c, Some("n2")),
        ];
        link(&mut found);
        let mut want = vec![
            id(K::DiskSlowFdatasync, c, Some("n1")),
            id(K::IoPressure, c, Some("n1")),
        ];
        want.sort();
        assert_eq!(caused_by(&found, K::EtcdSlowWalFsync, Some("n1")), want);
        assert_eq!(
            caused_by(&found, K::DiskSlowFdatasync, Some("n1")),
            vec![id(K::IoPressure, c, Some("n1"))]
        );
        assert!(caused_by(&found, K::IoPressure, Some("n2")).is_empty());
    }

    #[test]
    fn quorum_at_risk_links_only_the_members_it_implicates() {
        let c = Some("c1");
        let mut found = vec![
            at(K::QuorumAtRisk, c, None).with("implicates.n2", "node stale"),
            at(K::NodeStale, c, Some("n2")),
            at(K::KubeletDown, c, Some("n2")),
            at(K::NodeStale, c, Some("agent-7")),
            at(K::EtcdUnhealthy, Some("c2"), Some("n2-other")),
        ];
        link(&mut found);
        let mut want = vec![
            id(K::NodeStale, c, Some("n2")),
            id(K::KubeletDown, c, Some("n2")),
        ];
        want.sort();
        assert_eq!(caused_by(&found, K::QuorumAtRisk, None), want);
    }

    #[test]
    fn no_leader_links_its_cluster_quorum_and_unhealthy_peers_not_itself_or_other_clusters() {
        let (c1, c2) = (Some("c1"), Some("c2"));
        let mut found = vec![
            at(K::EtcdNoLeader, c1, Some("n1")),
            at(K::EtcdUnhealthy, c1, Some("n1")),
            at(K::EtcdUnhealthy, c1, Some("n2")),
            at(K::QuorumAtRisk, c1, None),
            at(K::QuorumAtRisk, c2, None),
            at(K::EtcdUnhealthy, c2, Some("n5")),
        ];
        link(&mut found);
        let mut want = vec![
            id(K::EtcdUnhealthy, c1, Some("n2")),
            id(K::QuorumAtRisk, c1, None),
        ];
        want.sort();
        assert_eq!(caused_by(&found, K::EtcdNoLeader, Some("n1")), want);
    }

    #[test]
    fn cluster_scoped_causes_need_a_known_cluster() {
        let mut found = vec![
            at(K::ClockSkew, None, None),
            at(K::ClockUnsynchronized, None, Some("n1")),
            at(K::EtcdLeaderChurn, None, Some("n1")),
        ];
        link(&mut found);
        assert!(found.iter().all(|f| f.caused_by.is_empty()), "{found:#?}");
    }

    #[test]
    fn caused_by_is_sorted_deduplicated_keeps_what_it_had_and_never_names_itself() {
        let c = Some("c1");
        let mut oom = at(K::OomKilled, c, Some("n1"));
        let own = oom.id.clone();
        let earlier = FindingId("upgrade_stuck/c1/n1".to_owned());
        oom.caused_by = vec![earlier.clone(), own.clone(), earlier.clone()];
        let mut found = vec![
            oom,
            at(K::MemoryPressure, c, Some("n1")),
            at(K::MemoryPressure, c, Some("n1")),
        ];
        link(&mut found);
        let mut want = vec![id(K::MemoryPressure, c, Some("n1")), earlier];
        want.sort();
        assert_eq!(found[0].caused_by, want);
    }

    #[test]
    fn linking_does_not_depend_on_the_order_of_findings() {
        let c = Some("c1");
        let make = || {
            vec![
                at(K::CrashLooping, c, Some("n1")),
                at(K::OomKilled, c, Some("n1")),
                at(K::MemoryPressure, c, Some("n1")),
                at(K::DiskPressure, c, Some("n1")),
                at(K::Evictions, c, Some("n1")),
                at(K::PidPressure, c, Some("n1")),
            ]
        };
        let mut a = make();
        let mut b = make();
        b.reverse();
        link(&mut a);
        link(&mut b);
        let map = |v: Vec<Finding>| -> BTreeMap<FindingId, Vec<FindingId>> {
            v.into_iter().map(|f| (f.id, f.caused_by)).collect()
        };
        let (a, b) = (map(a), map(b));
        assert_eq!(a, b);
        assert_eq!(
            a.get(&id(K::CrashLooping, c, Some("n1"))).map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn each_symptom_has_one_row_in_the_table() {
        let mut kinds: Vec<Kind> = RULES.iter().map(|(k, _)| *k).collect();
        let n = kinds.len();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), n);
    }

    #[test]
    fn the_cause_table_is_acyclic_over_kinds() {
        // Depth-first search from every symptom; a kind met again on the path is a cycle.
        fn visit(kind: Kind, path: &mut Vec<Kind>) {
            assert!(!path.contains(&kind), "cycle: {path:?} -> {kind}");
            path.push(kind);
            for (cause, _) in rules_for(kind) {
                visit(*cause, path);
            }
            path.pop();
        }
        for (kind, _) in RULES {
            visit(*kind, &mut Vec::new());
        }
    }
}
