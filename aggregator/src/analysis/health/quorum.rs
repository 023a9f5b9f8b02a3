//! etcd quorum for a K3s cluster (DOMAIN.md §3): quorum = ⌊n/2⌋+1 voters, tolerance
//! n=1→0, 2→0, 3→1, 4→1, 5→2; etcd needs an odd number of servers.
//!
//! Members: the non-learner members of the freshest `EtcdStatus` any node of the cluster
//! reported (membership changes rarely; the newest view wins, ties to the first node by
//! name). Each voter is matched to the node whose own status carries its member id. A voter
//! is healthy only on positive evidence: its node is not stale and the node's fresh datastore
//! data says etcd `/health` is true. A voter with no reporting node, a stale node, or no
//! fresh health is not healthy: unknown is never healthy.
//!
//! QuorumAtRisk severity, the worst that applies:
//! - critical: healthy voters < quorum;
//! - warning: no failure tolerance left (healthy = quorum) with n ≥ 3, or exactly 2 voters
//!   (twice the failure probability of one and no more tolerance);
//! - info: an even number of voters from 4 up (a voter more than its tolerance needs).
//!
//! The unhealthy voters' nodes are named in evidence as `implicates.<node>` = why.

use std::collections::BTreeMap;

use edgeward_proto::UnixMillis;
use edgeward_proto::datastore::{Datastore, Etcd, EtcdStatus};

use super::{Ctx, IMPLICATES, delivery};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::fleet::ClusterView;
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// The etcd part of a node's newest datastore data, and when it was measured.
fn etcd(n: &NodeState) -> Option<(UnixMillis, &Etcd)> {
    let d = n.datastore.data.as_ref()?;
    match &d.value.kind {
        Datastore::Etcd(e) => Some((d.at, e)),
        _ => None,
    }
}

/// Why a voter's node is not healthy, or `None` when it is.
fn unhealthy(n: &NodeState, t: &Thresholds, now: UnixMillis) -> Option<String> {
    if delivery::is_stale(n, t, now) {
        return Some("node stale".to_owned());
    }
    let fresh = n.datastore.fresh().and_then(|d| match &d.value.kind {
        Datastore::Etcd(e) => e.health.data(),
        _ => None,
    });
    match fresh {
        Some(h) if h.healthy => None,
        Some(h) => Some(format!("etcd unhealthy: {}", h.reason)),
        None => Some("no fresh etcd health".to_owned()),
    }
}

/// QuorumAtRisk for one cluster's etcd.
pub(super) fn check(
    ctx: &Ctx<'_>,
    cluster: &ClusterView<'_>,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let mut freshest: Option<(UnixMillis, &EtcdStatus)> = None;
    let mut by_member: BTreeMap<u64, &NodeState> = BTreeMap::new();
    for n in &cluster.nodes {
        let Some((at, s)) = etcd(n).and_then(|(at, e)| Some((at, e.status.data()?))) else {
            continue;
        };
        if freshest.is_none_or(|(best, _)| at > best) {
            freshest = Some((at, s));
        }
        by_member.entry(s.member_id).or_insert(n);
    }
    let Some((at, status)) = freshest else {
        return;
    };
    let voters: Vec<_> = status.members.iter().filter(|m| !m.is_learner).collect();
    let n = voters.len();
    if n == 0 {
        return;
    }
    let mut states: BTreeMap<String, String> = BTreeMap::new();
    let mut implicated: BTreeMap<&str, String> = BTreeMap::new();
    let mut healthy = 0usize;
    for v in &voters {
        let name = if v.name.is_empty() {
            format!("{:x}", v.id)
        } else {
            v.name.clone()
        };
        let why = match by_member.get(&v.id) {
            None => Some("no agent reports this member".to_owned()),
            Some(node) => {
                let why = unhealthy(node, t, ctx.now);
                if let (Some(w), Some(id)) = (&why, node.node()) {
                    implicated.insert(id.as_str(), w.clone());
                }
                why
            }
        };
        if why.is_none() {
            healthy += 1;
        }
        states.insert(name, why.unwrap_or_else(|| "healthy".to_owned()));
    }
    let quorum = n / 2 + 1;
    let tolerance = healthy as i64 - quorum as i64;
    let (severity, summary) = if healthy < quorum {
        (
            Severity::Critical,
            format!("etcd: {healthy} of {n} voters healthy, quorum needs {quorum}"),
        )
    } else if tolerance == 0 && n >= 3 {
        (
            Severity::Warning,
            format!("etcd: {healthy} of {n} voters healthy: one more failure loses quorum"),
        )
    } else if n == 2 {
        (
            Severity::Warning,
            "etcd has 2 voters: no failure tolerance and twice the risk of one; use 3".to_owned(),
        )
    } else if n % 2 == 0 {
        (
            Severity::Info,
            format!(
                "etcd has {n} voters: an even count tolerates no more failures than {}",
                n - 1
            ),
        )
    } else {
        return;
    };
    let mut f = ctx
        .finding(Kind::QuorumAtRisk, severity, None, summary)
        .with("voters", n as u64)
        .with("quorum", quorum as u64)
        .with("healthy_voters", healthy as u64)
        .with("tolerance", tolerance)
        .with("even_voters", n % 2 == 0)
        .measured_at(at);
    for (name, state) in states {
        f = f.with(&format!("voter.{name}"), state);
    }
    for (node, why) in implicated {
        f = f.with(&format!("{IMPLICATES}{node}"), why);
    }
    out.push(f);
}
