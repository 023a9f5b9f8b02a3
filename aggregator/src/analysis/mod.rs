//! Fleet analysis: state in, findings and plans out. Pure and deterministic: no I/O, no
//! clock reads (the evaluation time is an argument), no randomness, and every collection
//! that reaches the output is ordered. Tested with tables of scenarios.
//!
//! ```text
//! batches ──apply──▶ Fleet (NodeState per node)            [incremental, per batch]
//!                      │
//!   analyze(fleet, policy, now, tracker)                      [full, on a tick]
//!     health::node / health::cluster  →  findings
//!     causes::link                    →  findings name their lower-layer causes
//!     upgrade::evaluate               →  skew findings, readiness, wave plan
//!     drift::evaluate                 →  baseline and peer drift findings
//!     Tracker::stamp                  →  first_seen / last_seen
//! ```
//!
//! Invariant: a node is "healthy" only when it has fresh data for the sections the checks
//! read and no finding of warning or worse; otherwise it is `unknown` (with the reason),
//! `stale`, `warning` or `critical`.

pub mod causes;
pub mod drift;
pub mod finding;
pub mod fleet;
pub mod health;
pub mod node;
pub mod report;
pub mod upgrade;

pub use finding::{ControlLoop, Finding, FindingId, Kind, Measure, Severity, Tracker};
pub use fleet::{ClusterView, Fleet};
pub use node::NodeState;
pub use report::{Analysis, ClusterReport, NodeHealth, NodeStatus};

use edgeward_proto::UnixMillis;

use crate::policy::Policy;

/// Rancher system-upgrade-controller Plans for the plan's clusters (or one), as YAML.
pub fn suc_manifests(plan: &upgrade::UpgradePlan, cluster: Option<&str>) -> String {
    upgrade::suc::manifests(plan, cluster)
}

/// What one evaluation carries to the next: `first_seen` of findings, and since when each
/// cluster has run mixed versions (for stuck upgrades).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub findings: Tracker,
    pub upgrades: upgrade::UpgradeMemory,
}

/// Evaluates the whole fleet at `now`. `memory` carries state between evaluations.
pub fn analyze(fleet: &Fleet, policy: &Policy, now: UnixMillis, memory: &mut Memory) -> Analysis {
    let mut findings = Vec::new();
    for cluster in fleet.clusters() {
        let thresholds = policy.thresholds_for(cluster.id);
        for node in &cluster.nodes {
            findings.extend(health::node(node, thresholds, now));
        }
        findings.extend(health::cluster(&cluster, thresholds, now));
    }
    findings.extend(drift::evaluate(fleet, policy, now));
    let (plan, upgrade_findings) =
        upgrade::evaluate_with_memory(fleet, policy, &findings, now, &mut memory.upgrades);
    findings.extend(upgrade_findings);
    causes::link(&mut findings);
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    findings.dedup_by(|a, b| a.id == b.id);
    memory.findings.stamp(&mut findings, now);
    report::build(fleet, policy, findings, plan, now)
}
