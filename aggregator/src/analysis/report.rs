//! The result of one evaluation: findings, each node's and each cluster's state, the plan.
//! This is what the REST API, `/metrics` and alerting read; it is immutable once built.

use std::collections::BTreeMap;

use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::{ClusterId, NodeId, UnixMillis};
use serde::Serialize;

use super::finding::{ControlLoop, Finding, Kind, Severity};
use super::fleet::Fleet;
use super::node::NodeState;
use super::upgrade::UpgradePlan;
use crate::policy::Policy;

/// A node's overall state. Never `Healthy` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeHealth {
    /// No finding of warning or worse, and fresh data for kubelet and pressure.
    Healthy,
    /// Not enough data to say (see `unknown_because`).
    Unknown,
    Warning,
    Critical,
    /// No batch for `stale_intervals` intervals: whatever it last said is out of date.
    Stale,
}

impl NodeHealth {
    pub const ALL: [NodeHealth; 5] = [
        NodeHealth::Healthy,
        NodeHealth::Unknown,
        NodeHealth::Warning,
        NodeHealth::Critical,
        NodeHealth::Stale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeHealth::Healthy => "healthy",
            NodeHealth::Unknown => "unknown",
            NodeHealth::Warning => "warning",
            NodeHealth::Critical => "critical",
            NodeHealth::Stale => "stale",
        }
    }
}

/// One node's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeStatus {
    pub id: NodeId,
    pub cluster: Option<ClusterId>,
    pub role: NodeRole,
    pub distro: Option<Distro>,
    /// The kubelet's version (`v1.31.4+k3s1`), when known.
    pub version: Option<String>,
    pub agent_version: String,
    pub health: NodeHealth,
    /// Why the state is `unknown` (empty otherwise).
    pub unknown_because: Vec<String>,
    /// Worst severity per control loop, for loops with a finding.
    pub loops: BTreeMap<ControlLoop, Severity>,
    /// Aggregator clock: newest batch.
    pub last_seen: UnixMillis,
    pub findings: usize,
}

/// One cluster's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReport {
    /// `None` for nodes whose cluster identity is not known yet.
    pub id: Option<ClusterId>,
    /// The policy's display name.
    pub name: Option<String>,
    pub group: String,
    pub nodes: usize,
    pub servers: usize,
    /// Nodes per version (`unknown` for nodes that did not report one).
    pub versions: BTreeMap<String, usize>,
    /// Nodes per state.
    pub health: BTreeMap<NodeHealth, usize>,
    /// Findings per severity, the cluster's own and its nodes'.
    pub findings: BTreeMap<Severity, usize>,
    /// The worst state of its nodes and its own findings.
    pub worst: Option<Severity>,
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub evaluated_at: UnixMillis,
    /// Worst first, then by id.
    pub findings: Vec<Finding>,
    pub nodes: Vec<NodeStatus>,
    pub clusters: Vec<ClusterReport>,
    pub plan: UpgradePlan,
}

impl Analysis {
    /// An evaluation of an empty fleet (before the first tick).
    pub fn empty(now: UnixMillis) -> Self {
        Self {
            evaluated_at: now,
            findings: Vec::new(),
            nodes: Vec::new(),
            clusters: Vec::new(),
            plan: UpgradePlan::default(),
        }
    }

    /// Findings per (kind, severity), for `/metrics`.
    pub fn counts(&self) -> BTreeMap<(Kind, Severity), usize> {
        let mut out = BTreeMap::new();
        for f in &self.findings {
            *out.entry((f.kind, f.severity)).or_insert(0) += 1;
        }
        out
    }
}

/// Why a section gives no data now, or `None` when it does.
fn missing<T>(c: super::node::Current<'_, T>) -> Option<String> {
    use super::node::Current;
    match c {
        Current::Data(_) => None,
        Current::Unavailable(u, _) => Some(format!("{:?}: {}", u.value.reason, u.value.detail)),
        Current::Never => Some("never reported".to_owned()),
    }
}

/// Why a node's state cannot be called healthy, when its data is missing.
fn unknown_reasons(n: &NodeState) -> Vec<String> {
    [
        ("kubelet", missing(n.kubelet.current())),
        ("pressure", missing(n.pressure.current())),
    ]
    .into_iter()
    .filter_map(|(name, why)| why.map(|r| format!("{name}: {r}")))
    .collect()
}

pub(super) fn build(
    fleet: &Fleet,
    policy: &Policy,
    findings: Vec<Finding>,
    plan: UpgradePlan,
    now: UnixMillis,
) -> Analysis {
    let mut by_node: BTreeMap<&NodeId, Vec<&Finding>> = BTreeMap::new();
    let mut by_cluster: BTreeMap<Option<&ClusterId>, Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        if let Some(n) = &f.node {
            by_node.entry(n).or_default().push(f);
        }
        by_cluster.entry(f.cluster.as_ref()).or_default().push(f);
    }
    let mut nodes = Vec::with_capacity(fleet.len());
    for n in fleet.nodes() {
        let Some(id) = n.node() else { continue };
        let mine = by_node.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut loops = BTreeMap::new();
        for f in mine {
            let e = loops.entry(f.control_loop).or_insert(f.severity);
            *e = (*e).max(f.severity);
        }
        let worst = mine.iter().map(|f| f.severity).max();
        let unknown_because = unknown_reasons(n);
        let health = if mine.iter().any(|f| f.kind == Kind::NodeStale) {
            NodeHealth::Stale
        } else if worst == Some(Severity::Critical) {
            NodeHealth::Critical
        } else if worst == Some(Severity::Warning) {
            NodeHealth::Warning
        } else if !unknown_because.is_empty() {
            NodeHealth::Unknown
        } else {
            NodeHealth::Healthy
        };
        nodes.push(NodeStatus {
            id: id.clone(),
            cluster: n.cluster.clone(),
            role: n.role(),
            distro: n.inventory().map(|i| i.value.distro),
            version: n.kubelet_version().map(str::to_owned),
            agent_version: n.agent_version.clone(),
            health,
            unknown_because: if health == NodeHealth::Unknown {
                unknown_because
            } else {
                Vec::new()
            },
            loops,
            last_seen: n.last_seen,
            findings: mine.len(),
        });
    }
    let status: BTreeMap<&NodeId, &NodeStatus> = nodes.iter().map(|s| (&s.id, s)).collect();
    let mut clusters = Vec::new();
    for view in fleet.clusters() {
        let mut versions = BTreeMap::new();
        let mut health = BTreeMap::new();
        for n in &view.nodes {
            let v = n.kubelet_version().unwrap_or("unknown").to_owned();
            *versions.entry(v).or_insert(0) += 1;
            if let Some(s) = n.node().and_then(|id| status.get(id)) {
                *health.entry(s.health).or_insert(0) += 1;
            }
        }
        let mut counts = BTreeMap::new();
        for f in by_cluster
            .get(&view.id)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            *counts.entry(f.severity).or_insert(0) += 1;
        }
        let worst = counts.keys().next_back().copied();
        clusters.push(ClusterReport {
            id: view.id.cloned(),
            name: view
                .id
                .and_then(|c| policy.cluster_name(c))
                .map(str::to_owned),
            group: view.id.map_or_else(
                || "unassigned".to_owned(),
                |c| policy.group_of(c).name.clone(),
            ),
            nodes: view.nodes.len(),
            servers: view.servers().count(),
            versions,
            health,
            findings: counts,
            worst,
        });
    }
    Analysis {
        evaluated_at: now,
        findings,
        nodes,
        clusters,
        plan,
    }
}
