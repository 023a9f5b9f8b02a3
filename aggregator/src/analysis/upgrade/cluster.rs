//! One cluster's part of the plan, before the fleet-wide schedule numbers its waves: versions,
//! skew, readiness, the route to the target, the steps in execution order and the stages
//! (servers one per stage, the etcd leader last; then agents in batches of `max_unavailable`).

use std::collections::BTreeSet;

use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::{ClusterId, NodeId, UnixMillis};

use super::super::finding::{Finding, FindingId, Kind, Severity};
use super::super::fleet::ClusterView;
use super::super::node::NodeState;
use super::path::{self, Hop, Route};
use super::plan::{
    ClusterPlan, ClusterProgress, NodeVersion, Phase, Step, SucExport, TargetSource, VersionStatus,
};
use super::readiness::{self, Readiness};
use super::skew;
use super::version::{Minor, Version};
use crate::policy::{Group, Policy, Target};

/// What the plan needs of one node.
#[derive(Debug, Clone)]
pub(super) struct NodeFacts<'a> {
    pub state: &'a NodeState,
    pub id: &'a NodeId,
    pub role: NodeRole,
    /// The version as reported.
    pub text: Option<&'a str>,
    /// `None` when unreported or not a version.
    pub version: Option<Version>,
}

impl NodeFacts<'_> {
    pub fn is_server(&self) -> bool {
        self.role == NodeRole::Server
    }
}

/// The facts of every node of `view` that has an id, in the view's order.
pub(super) fn facts<'a>(view: &ClusterView<'a>) -> Vec<NodeFacts<'a>> {
    view.nodes
        .iter()
        .filter_map(|n| {
            let text = n.kubelet_version();
            Some(NodeFacts {
                state: n,
                id: n.node()?,
                role: n.role(),
                text,
                version: text.and_then(|t| Version::parse(t).ok()),
            })
        })
        .collect()
}

/// A cluster's plan and what the fleet-wide schedule needs to know about it.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub plan: ClusterPlan,
    /// Steps grouped into waves, in execution order (node ids of `plan.steps`).
    pub stages: Vec<(Phase, Vec<NodeId>)>,
    /// Every node runs the target (trivially, when there is no target).
    pub done: bool,
    /// Some node already runs the target or the next hop: the upgrade has begun.
    pub started: bool,
    /// The cluster's critical health findings.
    pub critical: Vec<FindingId>,
    /// Nodes with at least one blocker.
    pub blocked_nodes: Vec<NodeId>,
    /// `version_skew`, `version_unsupported`, `single_server_downtime`.
    pub findings: Vec<Finding>,
    /// Every node's reported version, for the stuck-upgrade memory.
    pub versions: Vec<(NodeId, Option<String>)>,
}

/// Inputs shared by every cluster of one evaluation.
#[derive(Debug)]
pub(super) struct Context<'a> {
    pub policy: &'a Policy,
    pub newest_known: Option<Version>,
    pub pins: std::collections::BTreeMap<Minor, (String, Version)>,
    pub now: UnixMillis,
}

/// Plans cluster `id`; `health` are its health findings (its own and its nodes').
pub(super) fn draft(
    id: &ClusterId,
    view: &ClusterView<'_>,
    health: &[&Finding],
    cx: &Context<'_>,
) -> Draft {
    let group = cx.policy.group_of(id);
    let nodes = facts(view);
    let mut findings = skew::check(id, &nodes, cx.now);
    if let Some(newest) = &cx.newest_known {
        findings.extend(skew::unsupported(id, &nodes, newest, cx.now));
    }
    let ready = readiness::assess(&nodes, health);
    let target = group.target.as_ref().and_then(|t| {
        let v = Version::parse(t.version().as_str()).ok()?;
        let source = match t {
            Target::Version(_) => TargetSource::Version,
            Target::Channel { name, .. } => TargetSource::Channel { name: name.clone() },
        };
        Some((v, t.version().as_str().to_owned(), source))
    });
    let route = target.as_ref().map_or_else(Route::default, |(v, text, _)| {
        let running: Vec<(&NodeId, &str, &Version)> = nodes
            .iter()
            .filter_map(|n| Some((n.id, n.text?, n.version.as_ref()?)))
            .collect();
        let mut r = path::route(&running, v, text, &cx.pins);
        if r.hop.is_none() && r.blockers.is_empty() {
            // At target, save nodes of unknown version: they get a (blocked) step to it.
            r.hop = Some(Hop {
                label: text.clone(),
                minor: v.minor_line(),
                pinned: Some(v.clone()),
            });
        }
        r
    });
    let status = |n: &NodeFacts<'_>| match (&n.version, &target) {
        (_, None) => VersionStatus::NoTarget,
        (None, _) => VersionStatus::Unknown,
        (Some(v), Some((t, _, _))) if v == t => VersionStatus::AtTarget,
        (Some(v), Some((t, _, _))) if v > t => VersionStatus::Ahead,
        _ => VersionStatus::Behind,
    };
    let listing = |servers: bool| {
        nodes
            .iter()
            .filter(|n| n.is_server() == servers)
            .map(|n| NodeVersion {
                node: n.id.clone(),
                role: n.role,
                version: n.text.map(str::to_owned),
                status: status(n),
            })
            .collect::<Vec<_>>()
    };
    let (steps, stages) = match &route.hop {
        Some(hop) if route.blockers.is_empty() => steps(&nodes, hop, &ready, group),
        _ => (Vec::new(), Vec::new()),
    };
    let server_count = nodes.iter().filter(|n| n.is_server()).count();
    let single_server_downtime =
        server_count == 1 && steps.iter().any(|s| s.role == NodeRole::Server);
    if single_server_downtime && let Some(s) = steps.iter().find(|s| s.role == NodeRole::Server) {
        let summary = format!(
            "{} is the only server: upgrading it takes the control plane down for the restart",
            s.node
        );
        findings.push(
            Finding::new(
                Kind::SingleServerDowntime,
                Severity::Warning,
                Some(id),
                None,
                None,
                summary,
                cx.now,
            )
            .with("server", s.node.as_str())
            .with("datastore", ready.datastore.as_str())
            .with("to", s.to.as_str()),
        );
    }
    let total = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
    let count = |f: &dyn Fn(&NodeFacts<'_>) -> bool| {
        u32::try_from(nodes.iter().filter(|n| f(n)).count()).unwrap_or(u32::MAX)
    };
    let at_target = count(&|n| status(n) == VersionStatus::AtTarget);
    let unknown = count(&|n| n.version.is_none());
    let distinct: BTreeSet<&Version> = nodes.iter().filter_map(|n| n.version.as_ref()).collect();
    let done = target.is_none() || (total > 0 && at_target == total);
    let started = target.is_some()
        && (at_target > 0
            || route.hop.as_ref().is_some_and(|h| {
                nodes
                    .iter()
                    .any(|n| n.version.as_ref().is_some_and(|v| h.reached_by(v)))
            }));
    let mut critical: Vec<FindingId> = health
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .map(|f| f.id.clone())
        .collect();
    critical.sort();
    critical.dedup();
    let blocked_nodes = ready
        .blockers
        .iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    let mut skew_ids: Vec<FindingId> = findings
        .iter()
        .filter(|f| f.kind == Kind::VersionSkew)
        .map(|f| f.id.clone())
        .collect();
    skew_ids.sort();
    let plan = ClusterPlan {
        cluster: id.clone(),
        name: cx.policy.cluster_name(id).map(str::to_owned),
        group: group.name.clone(),
        canary: group.canary,
        distro: distro(&nodes),
        datastore: ready.datastore,
        target: target.as_ref().map(|t| t.1.clone()),
        target_source: target.as_ref().map(|t| t.2.clone()),
        servers: listing(true),
        agents: listing(false),
        skew: skew_ids,
        path: route.path.clone(),
        next: route
            .hop
            .as_ref()
            .filter(|_| !steps.is_empty())
            .map(|h| h.label.clone()),
        steps,
        blockers: route.blockers,
        window: cx.policy.window_open(group, cx.now).into(),
        single_server_downtime,
        progress: ClusterProgress {
            at_target,
            total,
            unknown,
            mixed: distinct.len() > 1,
            mixed_since: None,
            stuck: false,
        },
        suc: SucExport::default(),
    };
    Draft {
        plan,
        stages,
        done,
        started,
        critical,
        blocked_nodes,
        findings,
        versions: nodes
            .iter()
            .map(|n| (n.id.clone(), n.text.map(str::to_owned)))
            .collect(),
    }
}

/// The servers' distribution (any node's when no server reported an inventory).
fn distro(nodes: &[NodeFacts<'_>]) -> Option<Distro> {
    let of = |n: &NodeFacts<'_>| n.state.inventory().map(|i| i.value.distro);
    nodes
        .iter()
        .filter(|n| n.is_server())
        .find_map(of)
        .or_else(|| nodes.iter().find_map(of))
}

/// Steps to `hop` for every node that has not reached it, and their stages: servers one at a
/// time (ready before blocked, the leader last), then agents in batches of `max_unavailable`.
fn steps(
    nodes: &[NodeFacts<'_>],
    hop: &Hop,
    ready: &Readiness,
    group: &Group,
) -> (Vec<Step>, Vec<(Phase, Vec<NodeId>)>) {
    let pending = |n: &&NodeFacts<'_>| n.version.as_ref().is_none_or(|v| !hop.reached_by(v));
    let blocked = |n: &NodeFacts<'_>| !ready.of(n.id).is_empty();
    let leader = |n: &NodeFacts<'_>| ready.leader.as_ref() == Some(n.id);
    let mut servers: Vec<&NodeFacts<'_>> = nodes
        .iter()
        .filter(|n| n.is_server())
        .filter(pending)
        .collect();
    servers.sort_by_key(|n| (leader(n), blocked(n), n.id));
    let mut agents: Vec<&NodeFacts<'_>> = nodes
        .iter()
        .filter(|n| !n.is_server())
        .filter(pending)
        .collect();
    agents.sort_by_key(|n| (blocked(n), n.id));
    let mut stages: Vec<(Phase, Vec<NodeId>)> = servers
        .iter()
        .map(|n| (Phase::Servers, vec![n.id.clone()]))
        .collect();
    let batch = usize::try_from(group.max_unavailable.get())
        .unwrap_or(usize::MAX)
        .max(1);
    stages.extend(
        agents
            .chunks(batch)
            .map(|c| (Phase::Agents, c.iter().map(|n| n.id.clone()).collect())),
    );
    let steps = servers
        .iter()
        .chain(agents.iter())
        .zip(1u32..)
        .map(|(n, order)| {
            let blockers = ready.of(n.id).to_vec();
            Step {
                node: n.id.clone(),
                role: n.role,
                from: n.text.map(str::to_owned),
                to: hop.label.clone(),
                wave: 0,
                order,
                leader: leader(n),
                ready: blockers.is_empty(),
                blockers,
            }
        })
        .collect();
    (steps, stages)
}
