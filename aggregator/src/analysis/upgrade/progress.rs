//! Upgrade progress and stuck upgrades.
//!
//! Progress is counted from what nodes report: nodes at target / total per cluster and for the
//! fleet (clusters whose group has a target). A node of unknown version is never at target.
//!
//! **Stuck.** Nothing the nodes send says *when* a cluster became mixed (inventory ships every
//! few hours when unchanged; version changes are not timestamped), so the aggregator remembers
//! it: [`UpgradeMemory`] carries, per cluster, the first evaluation that saw the cluster's
//! current mix of versions. Any node's version change restarts the clock (a slow upgrade that
//! keeps moving is not stuck); a cluster that is no longer mixed, or no longer reported, is
//! forgotten. Mixed for longer than the group's `stuck_after` → `upgrade_stuck` (warning),
//! whoever started the upgrade (edgeward's plan, SUC, a snap refresh). After an aggregator
//! restart the memory is empty unless seeded, so the clock restarts then.

use std::collections::BTreeMap;

use edgeward_proto::{ClusterId, NodeId, UnixMillis};
use serde::{Deserialize, Serialize};

use super::super::finding::{Finding, Kind, Severity};
use super::cluster::Draft;
use super::plan::Progress;
use crate::policy::Policy;

/// What the upgrade evaluation carries from one evaluation to the next (like the finding
/// `Tracker`): since when each mixed cluster has run its current mix of versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeMemory {
    clusters: BTreeMap<ClusterId, Mix>,
}

/// A cluster's mix of versions and when it was first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    /// Aggregator clock: the first evaluation that saw `versions`.
    pub since: UnixMillis,
    /// Every node's reported version (`None`: unknown), by node id.
    pub versions: Vec<(NodeId, Option<String>)>,
}

impl UpgradeMemory {
    /// Since when `cluster` has run its current mix of versions, if it is mixed.
    pub fn mixed_since(&self, cluster: &ClusterId) -> Option<UnixMillis> {
        self.clusters.get(cluster).map(|m| m.since)
    }

    /// Seeds a cluster's mix (e.g. from a persisted copy); ignored when already tracked.
    pub fn seed(&mut self, cluster: ClusterId, mix: Mix) {
        self.clusters.entry(cluster).or_insert(mix);
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ClusterId, &Mix)> {
        self.clusters.iter()
    }
}

/// Updates `memory` from this evaluation's drafts, fills each plan's `mixed_since` and
/// `stuck`, and returns the `upgrade_stuck` findings.
pub(super) fn track(
    drafts: &mut [Draft],
    policy: &Policy,
    memory: &mut UpgradeMemory,
    now: UnixMillis,
) -> Vec<Finding> {
    let mut next = BTreeMap::new();
    let mut findings = Vec::new();
    for d in drafts.iter_mut() {
        let p = &mut d.plan;
        if !p.progress.mixed {
            continue;
        }
        let mut versions = d.versions.clone();
        versions.sort();
        let since = match memory.clusters.get(&p.cluster) {
            Some(m) if m.versions == versions => m.since,
            _ => now,
        };
        p.progress.mixed_since = Some(since);
        let stuck_after = policy.group_of(&p.cluster).stuck_after;
        let limit = i64::try_from(stuck_after.as_millis()).unwrap_or(i64::MAX);
        let mixed_for = now.0.saturating_sub(since.0);
        if mixed_for > limit {
            p.progress.stuck = true;
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, v) in &versions {
                *counts.entry(v.as_deref().unwrap_or("unknown")).or_default() += 1;
            }
            let mix: Vec<String> = counts.iter().map(|(v, n)| format!("{v} ×{n}")).collect();
            let summary = format!(
                "upgrade stuck: mixed versions ({}) unchanged for {}, longer than {}",
                mix.join(", "),
                humantime::format_duration(std::time::Duration::from_secs(
                    u64::try_from(mixed_for / 1000).unwrap_or(0)
                )),
                humantime::format_duration(stuck_after),
            );
            findings.push(
                Finding::new(
                    Kind::UpgradeStuck,
                    Severity::Warning,
                    Some(&p.cluster),
                    None,
                    None,
                    summary,
                    now,
                )
                .with("mixed_since_ms", since.0)
                .with("mixed_for_secs", mixed_for / 1000)
                .with("stuck_after_secs", stuck_after.as_secs())
                .with("versions", mix.join(", ")),
            );
        }
        next.insert(p.cluster.clone(), Mix { since, versions });
    }
    memory.clusters = next;
    findings
}

/// Fleet-wide totals over clusters whose group has a target; stuck clusters of any group.
pub(super) fn fleet(drafts: &[Draft]) -> Progress {
    let mut p = Progress::default();
    for d in drafts {
        let c = &d.plan.progress;
        if c.stuck {
            p.stuck.push(d.plan.cluster.clone());
        }
        if d.plan.target.is_some() {
            p.nodes_at_target += c.at_target;
            p.nodes += c.total;
            p.nodes_unknown += c.unknown;
            p.clusters += 1;
            p.clusters_at_target += u32::from(d.done);
        }
    }
    p
}
