//! MicroK8s dqlite membership (DOMAIN.md §3): `cluster.yaml` lists every member with its role
//! (voter, standby, spare; at most 3 voters), and HA is on when `var/lock/ha-cluster` exists.
//! The agent sees membership, not dqlite's own health, so a voter counts as lost only when
//! its node is stale.
//!
//! DqliteVoterLoss rule (HA clusters only; without HA a single voter is the design):
//! - critical when the voters whose nodes are stale leave fewer than a quorum
//!   (⌊voters/2⌋+1);
//! - warning when any voter's node is stale, or when `cluster.yaml` has at least 3 members
//!   but fewer than 3 voters (dqlite should have promoted one).
//!
//! Voters are matched to nodes by the dqlite id each node reports for itself (`info.yaml`);
//! a voter no agent reports is counted (`voters_without_agent`) but not judged.

use std::collections::BTreeMap;

use edgeward_proto::datastore::{Datastore, Dqlite, DqliteRole};
use edgeward_proto::{Section, UnixMillis};

use super::{Ctx, IMPLICATES, delivery};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::fleet::ClusterView;
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// Voters dqlite keeps when enough members exist (DOMAIN.md §3).
const HA_VOTERS: usize = 3;

/// The newest dqlite data a node ever reported, and when.
fn dqlite(n: &NodeState) -> Option<(UnixMillis, &Dqlite)> {
    let d = n.datastore.data.as_ref()?;
    match &d.value.kind {
        Datastore::Dqlite(Section::Data(q)) => Some((d.at, q)),
        _ => None,
    }
}

/// DqliteVoterLoss for one cluster, judged on the freshest membership any node reported.
pub(super) fn voters(
    ctx: &Ctx<'_>,
    cluster: &ClusterView<'_>,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    // Nodes are in a fixed order: on equal times the first one wins.
    let mut freshest: Option<(UnixMillis, &Dqlite)> = None;
    let mut by_id: BTreeMap<u64, &NodeState> = BTreeMap::new();
    for n in &cluster.nodes {
        let Some((at, q)) = dqlite(n) else { continue };
        if freshest.is_none_or(|(best, _)| at > best) {
            freshest = Some((at, q));
        }
        if let Some(local) = &q.local {
            by_id.entry(local.id).or_insert(n);
        }
    }
    let Some((at, q)) = freshest.filter(|(_, q)| q.ha) else {
        return;
    };
    let voters: Vec<u64> = q
        .members
        .iter()
        .filter(|m| m.role == DqliteRole::Voter)
        .map(|m| m.id)
        .collect();
    if voters.is_empty() {
        return;
    }
    let mut stale: Vec<&str> = Vec::new();
    let mut without_agent = 0u64;
    for id in &voters {
        match by_id.get(id) {
            Some(n) if delivery::is_stale(n, t, ctx.now) => {
                stale.extend(n.node().map(|id| id.as_str()));
            }
            Some(_) => {}
            None => without_agent += 1,
        }
    }
    stale.sort_unstable();
    let quorum = voters.len() / 2 + 1;
    let healthy = voters.len() - stale.len();
    let too_few = q.members.len() >= HA_VOTERS && voters.len() < HA_VOTERS;
    let (severity, summary) = if healthy < quorum {
        (
            Severity::Critical,
            format!(
                "dqlite: {} of {} voters on stale nodes, below quorum {quorum}",
                stale.len(),
                voters.len()
            ),
        )
    } else if !stale.is_empty() {
        (
            Severity::Warning,
            format!("dqlite: voters on stale nodes: {}", stale.join(", ")),
        )
    } else if too_few {
        (
            Severity::Warning,
            format!(
                "dqlite HA with {} members but only {} voters (needs {HA_VOTERS})",
                q.members.len(),
                voters.len()
            ),
        )
    } else {
        return;
    };
    let mut f = ctx
        .finding(Kind::DqliteVoterLoss, severity, None, summary)
        .with("voters", voters.len() as u64)
        .with("members", q.members.len() as u64)
        .with("quorum", quorum as u64)
        .with("stale_voters", stale.len() as u64)
        .with("voters_without_agent", without_agent)
        .with("ha", q.ha)
        .measured_at(at);
    for id in stale {
        f = f.with(&format!("{IMPLICATES}{id}"), "stale");
    }
    out.push(f);
}
