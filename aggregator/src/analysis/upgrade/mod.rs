//! Upgrade coordination: version skew and N-2 findings, per-node readiness with named
//! blockers, the path to each group's target one minor at a time, the fleet's wave plan
//! (canaries first, servers one at a time with the etcd leader last, agents in batches, only
//! inside maintenance windows), halts, progress, stuck upgrades, and system-upgrade-controller
//! manifests. edgeward plans; operators' executors (SUC, snap) execute.
//!
//! Pure like the rest of the analysis: no I/O, no clock (`now` is an argument), every output
//! list in a stable order. The only state carried between evaluations is [`UpgradeMemory`]
//! (since when a cluster has run mixed versions), passed in and out explicitly.
//!
//! ```text
//! fleet.clusters() ─▶ cluster::draft   (per cluster)
//!                       skew      → version_skew, version_unsupported
//!                       readiness → blockers per node (+ quorum)
//!                       path      → route to the target, next hop
//!                       steps and stages (servers, leader last; agent batches)
//!                  ─▶ waves::schedule  (fleet: rollout order, canary gate, halt, windows)
//!                  ─▶ progress::track  (memory → mixed_since, upgrade_stuck)
//!                  ─▶ suc::export      (per cluster)
//! ```

mod cluster;
mod path;
pub mod plan;
pub mod progress;
mod quorum;
mod readiness;
mod skew;
pub mod suc;
#[cfg(test)]
mod tests;
pub mod version;
mod waves;

use std::collections::BTreeMap;

use edgeward_proto::{ClusterId, UnixMillis};

pub use plan::{
    Blocker, BlockerKind, ClusterPlan, ClusterProgress, DatastoreKind, Halt, HaltCause,
    NodeVersion, Phase, Progress, Step, SucExport, TargetSource, UpgradePlan, VersionStatus, Wave,
    WaveState, WindowView,
};
pub use progress::{Mix, UpgradeMemory};

use super::finding::Finding;
use super::fleet::Fleet;
use crate::policy::Policy;

/// Version findings and the wave plan, given the health findings, *without* memory: every
/// cluster's `mixed_since` starts now, so `upgrade_stuck` never fires. Kept so callers compile
/// while they move to [`evaluate_with_memory`].
pub fn evaluate(
    fleet: &Fleet,
    policy: &Policy,
    health: &[Finding],
    now: UnixMillis,
) -> (UpgradePlan, Vec<Finding>) {
    let mut memory = UpgradeMemory::default();
    evaluate_with_memory(fleet, policy, health, now, &mut memory)
}

/// Version findings and the wave plan at `now`, given the health (and drift) findings;
/// `memory` carries since when each cluster runs mixed versions from one evaluation to the
/// next. Findings come back sorted by id.
pub fn evaluate_with_memory(
    fleet: &Fleet,
    policy: &Policy,
    health: &[Finding],
    now: UnixMillis,
    memory: &mut UpgradeMemory,
) -> (UpgradePlan, Vec<Finding>) {
    let cx = cluster::Context {
        policy,
        newest_known: skew::newest_known(policy),
        pins: path::minor_pins(policy.channels().iter().map(|(k, v)| (k, v.as_str()))),
        now,
    };
    let mut by_cluster: BTreeMap<&ClusterId, Vec<&Finding>> = BTreeMap::new();
    for f in health {
        // A node's finding belongs to the node's cluster even when the check left it unset.
        let cluster = f.cluster.as_ref().or_else(|| {
            f.node
                .as_ref()
                .and_then(|n| fleet.node(n)?.cluster.as_ref())
        });
        if let Some(c) = cluster {
            by_cluster.entry(c).or_default().push(f);
        }
    }
    let mut drafts = Vec::new();
    for view in fleet.clusters() {
        let Some(id) = view.id else { continue };
        let mine = by_cluster.get(id).map(Vec::as_slice).unwrap_or_default();
        drafts.push(cluster::draft(id, &view, mine, &cx));
    }
    let (waves, halted, mut findings) = waves::schedule(&mut drafts, policy, now);
    findings.extend(progress::track(&mut drafts, policy, memory, now));
    let progress = progress::fleet(&drafts);
    let mut clusters = Vec::with_capacity(drafts.len());
    for d in drafts {
        findings.extend(d.findings);
        let mut plan = d.plan;
        plan.suc = suc::export(&plan, policy.group_of(&plan.cluster), policy);
        clusters.push(plan);
    }
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    let plan = UpgradePlan {
        evaluated_at: now,
        clusters,
        waves,
        halted,
        progress,
    };
    (plan, findings)
}
