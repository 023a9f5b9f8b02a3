//! Scenario tests of the upgrade plan: fixtures here (nodes built from the synthetic inventory
//! with the role, distribution, version and datastore a scenario needs; policies parsed from
//! TOML), tables in the submodules.

mod etcd;
mod plan;
mod readiness;
mod rollout;
mod skew;
mod suc;

use edgeward_proto::datastore::{
    Datastore, DatastoreHealth, Etcd, EtcdHealth, EtcdMember, EtcdStatus, Sqlite,
};
use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{ClusterId, NodeId, Section, Seq, UnixMillis};

use super::super::finding::{Finding, Kind, Severity};
use super::super::fleet::Fleet;
use super::super::node::NodeState;
use super::{ClusterPlan, UpgradeMemory, UpgradePlan, evaluate_with_memory};
use crate::policy::Policy;

/// Friday 2025-11-21 12:00 UTC.
pub(super) const NOW: UnixMillis = UnixMillis(1_763_726_400_000);
pub(super) const TARGET: &str = "v1.31.4+k3s1";

pub(super) fn cid(s: &str) -> ClusterId {
    ClusterId::new(s).unwrap()
}

pub(super) fn nid(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// One node of a scenario.
#[derive(Debug, Clone)]
pub(super) struct N {
    pub id: &'static str,
    pub cluster: &'static str,
    pub role: NodeRole,
    pub version: Option<&'static str>,
    pub distro: Distro,
    pub datastore: Option<Datastore>,
    /// No inventory at all (role unknown; the version, if any, comes from nowhere).
    pub no_inventory: bool,
}

pub(super) fn server(cluster: &'static str, id: &'static str, version: &'static str) -> N {
    N {
        id,
        cluster,
        role: NodeRole::Server,
        version: Some(version),
        distro: Distro::K3s,
        datastore: None,
        no_inventory: false,
    }
}

pub(super) fn agent(cluster: &'static str, id: &'static str, version: &'static str) -> N {
    N {
        role: NodeRole::Agent,
        datastore: Some(Datastore::None),
        ..server(cluster, id, version)
    }
}

impl N {
    pub fn with(mut self, ds: Datastore) -> Self {
        self.datastore = Some(ds);
        self
    }

    pub fn version(mut self, v: Option<&'static str>) -> Self {
        self.version = v;
        self
    }

    pub fn distro(mut self, d: Distro) -> Self {
        self.distro = d;
        self
    }

    pub fn state(&self) -> NodeState {
        let at = UnixMillis(NOW.0 - 10_000);
        let mut s = NodeState::new(nid(self.id), at);
        s.cluster = Some(cid(self.cluster));
        if !self.no_inventory {
            let mut inv = SyntheticNode::new(0).inventory();
            inv.role = self.role;
            inv.distro = self.distro;
            inv.kubelet_version = self.version.map(str::to_owned);
            inv.distro_version = self.version.map(str::to_owned);
            s.inventory.apply_data(inv, at, Seq(1));
        }
        if let Some(kind) = &self.datastore {
            let ds = DatastoreHealth {
                kind: kind.clone(),
                disk_audit: Section::NotDue { last: None },
            };
            s.datastore.apply_data(ds, at, Seq(1));
        }
        s
    }
}

pub(super) fn fleet(nodes: &[N]) -> Fleet {
    let mut f = Fleet::new();
    for n in nodes {
        f.insert(n.state());
    }
    f
}

/// An etcd member's view: its id, the leader it follows, the member list (id, learner).
pub(super) fn etcd(member: u64, leader: u64, members: &[(u64, bool)]) -> Etcd {
    Etcd {
        health: Section::Data(EtcdHealth {
            healthy: true,
            reason: String::new(),
        }),
        status: Section::Data(EtcdStatus {
            version: "3.5.16".to_owned(),
            member_id: member,
            leader_id: leader,
            is_learner: members.iter().any(|(id, l)| *id == member && *l),
            raft_term: 7,
            raft_index: 100_000,
            raft_applied_index: 100_000,
            db_size_bytes: 1 << 27,
            db_size_in_use_bytes: 1 << 26,
            alarms: Default::default(),
            errors: Default::default(),
            members: members
                .iter()
                .map(|(id, learner)| EtcdMember {
                    id: *id,
                    name: format!("m{id}"),
                    peer_url: format!("https://10.0.0.{id}:2380"),
                    is_learner: *learner,
                })
                .collect::<Vec<_>>()
                .try_into()
                .unwrap(),
        }),
        metrics: Section::NotDue { last: None },
        snapshots: Section::NotDue { last: None },
    }
}

pub(super) fn sqlite() -> Datastore {
    Datastore::KineSqlite(Section::Data(Sqlite {
        current_revision: 1_000,
        compacted_revision: 900,
        db_bytes: 1 << 24,
        wal_bytes: 0,
        page_size: 4096,
        page_count: 4096,
        freelist_count: 0,
        quick_check: Section::NotDue { last: None },
    }))
}

pub(super) fn finding(
    kind: Kind,
    severity: Severity,
    cluster: &str,
    node: Option<&str>,
) -> Finding {
    let node = node.map(nid);
    Finding::new(
        kind,
        severity,
        Some(&cid(cluster)),
        node.as_ref(),
        None,
        format!("{kind} (test)"),
        NOW,
    )
}

pub(super) fn policy(text: &str) -> Policy {
    Policy::parse(text, "policy.toml").unwrap_or_else(|e| panic!("valid policy expected: {e}"))
}

/// Every cluster in the default group, upgrading to [`TARGET`] at any time.
pub(super) fn anytime(max_unavailable: u32) -> Policy {
    policy(&format!(
        "[defaults]\ntarget = \"{TARGET}\"\nmax_unavailable = {max_unavailable}\n"
    ))
}

pub(super) fn eval(
    fleet: &Fleet,
    policy: &Policy,
    health: &[Finding],
) -> (UpgradePlan, Vec<Finding>) {
    evaluate_with_memory(fleet, policy, health, NOW, &mut UpgradeMemory::default())
}

pub(super) fn cluster<'a>(plan: &'a UpgradePlan, id: &str) -> &'a ClusterPlan {
    plan.clusters
        .iter()
        .find(|c| c.cluster.as_str() == id)
        .unwrap_or_else(|| panic!("cluster {id} planned"))
}

/// Node ids of each wave of `cluster`, in order.
pub(super) fn waves_of(plan: &UpgradePlan, id: &str) -> Vec<Vec<String>> {
    plan.waves
        .iter()
        .filter(|w| w.cluster.as_str() == id)
        .map(|w| w.nodes.iter().map(ToString::to_string).collect())
        .collect()
}
