//! The fleet-wide wave schedule: which waves may start now, which wait and why, and the halt.
//!
//! Order: groups in rollout order (canaries first, the default group last), clusters by id,
//! then each cluster's stages (servers one at a time with the etcd leader last, then agent
//! batches). Rules:
//! - a group starts only when every cluster of every earlier group runs its target; canary
//!   groups come first, so every other group waits for the canaries to reach the target, and
//!   a canary that is at target but unhealthy halts the rollout (below);
//! - a canary cluster that has started upgrading (some node at the target or past the next
//!   hop) and then has a critical health finding or a blocked node HALTS the rollout: a
//!   critical `rollout_halted` finding per such canary, and every wave is `halted`;
//! - inside a cluster only the first pending wave can be `ready`: every node of it ready,
//!   inside the group's maintenance window; the rest wait for it.

use std::collections::BTreeMap;

use edgeward_proto::UnixMillis;

use super::super::finding::{Finding, Kind, Severity};
use super::cluster::Draft;
use super::plan::{Halt, HaltCause, Wave, WaveState, WindowView};
use crate::policy::Policy;

/// Numbers the waves of `drafts` (setting each step's `wave`) and decides their state.
pub(super) fn schedule(
    drafts: &mut [Draft],
    policy: &Policy,
    now: UnixMillis,
) -> (Vec<Wave>, Option<Halt>, Vec<Finding>) {
    let (halt, findings) = halt(drafts, now);
    let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        by_group.entry(d.plan.group.as_str()).or_default().push(i);
    }
    let mut order: Vec<(bool, Vec<usize>)> = Vec::new();
    for g in policy.groups_in_rollout_order() {
        if let Some(mut members) = by_group.remove(g.name.as_str()) {
            members.sort_by(|a, b| drafts[*a].plan.cluster.cmp(&drafts[*b].plan.cluster));
            order.push((g.canary, members));
        }
    }
    // Every group comes from this policy, so nothing is left; were it otherwise, such
    // clusters would still be planned, last.
    order.extend(by_group.into_values().map(|m| (false, m)));

    let mut waves = Vec::new();
    let mut number = 0u32;
    // (canary, cluster) of every cluster of an earlier group that is not at its target yet.
    let mut pending_before: Vec<(bool, String)> = Vec::new();
    for (canary, members) in order {
        let canaries: Vec<&str> = pending_before
            .iter()
            .filter(|p| p.0)
            .map(|p| p.1.as_str())
            .collect();
        let gate = if !canary && !canaries.is_empty() {
            Some(format!(
                "waiting for canary clusters to reach their target: {}",
                canaries.join(", ")
            ))
        } else if !pending_before.is_empty() {
            let names: Vec<&str> = pending_before.iter().map(|p| p.1.as_str()).collect();
            Some(format!(
                "waiting for earlier groups to reach their target: {}",
                names.join(", ")
            ))
        } else {
            None
        };
        for &i in &members {
            let d = &mut drafts[i];
            for (stage, (phase, nodes)) in d.stages.iter().enumerate() {
                number += 1;
                for s in d.plan.steps.iter_mut().filter(|s| nodes.contains(&s.node)) {
                    s.wave = number;
                }
                let blocked: Vec<String> = d
                    .plan
                    .steps
                    .iter()
                    .filter(|s| s.wave == number && !s.ready)
                    .map(|s| {
                        let kinds: Vec<&str> = s.blockers.iter().map(|b| b.kind.as_str()).collect();
                        format!("{} ({})", s.node, kinds.join(", "))
                    })
                    .collect();
                let (state, reason) = if let Some(h) = &halt {
                    (WaveState::Halted, h.reason.clone())
                } else if let Some(g) = &gate {
                    (WaveState::Waiting, g.clone())
                } else if stage > 0 {
                    (WaveState::Waiting, format!("after wave {}", number - 1))
                } else if !blocked.is_empty() {
                    (
                        WaveState::Blocked,
                        format!("blocked nodes: {}", blocked.join("; ")),
                    )
                } else if let WindowView::Closed {
                    next_start,
                    next_end,
                } = d.plan.window
                {
                    (
                        WaveState::OutsideWindow,
                        closed_reason(next_start, next_end),
                    )
                } else {
                    (WaveState::Ready, String::new())
                };
                waves.push(Wave {
                    number,
                    group: d.plan.group.clone(),
                    canary: d.plan.canary,
                    cluster: d.plan.cluster.clone(),
                    phase: *phase,
                    nodes: nodes.clone(),
                    state,
                    reason,
                });
            }
        }
        pending_before.extend(
            members
                .iter()
                .filter(|i| !drafts[**i].done)
                .map(|i| (canary, drafts[*i].plan.cluster.to_string())),
        );
    }
    (waves, halt, findings)
}

/// The halt, when a started canary went bad, and its `rollout_halted` findings.
fn halt(drafts: &[Draft], now: UnixMillis) -> (Option<Halt>, Vec<Finding>) {
    let causes: Vec<HaltCause> = drafts
        .iter()
        .filter(|d| {
            d.plan.canary && d.started && (!d.critical.is_empty() || !d.blocked_nodes.is_empty())
        })
        .map(|d| HaltCause {
            cluster: d.plan.cluster.clone(),
            findings: d.critical.clone(),
            blocked_nodes: d.blocked_nodes.clone(),
        })
        .collect();
    if causes.is_empty() {
        return (None, Vec::new());
    }
    let findings = causes
        .iter()
        .map(|c| {
            let mut what = Vec::new();
            if !c.findings.is_empty() {
                what.push(format!("critical findings {}", join(&c.findings)));
            }
            if !c.blocked_nodes.is_empty() {
                what.push(format!("blocked nodes {}", join(&c.blocked_nodes)));
            }
            let summary = format!(
                "rollout halted: canary cluster {} has {} after its upgrade started",
                c.cluster,
                what.join(" and ")
            );
            let mut f = Finding::new(
                Kind::RolloutHalted,
                Severity::Critical,
                Some(&c.cluster),
                None,
                None,
                summary,
                now,
            )
            .with("findings", join(&c.findings))
            .with("blocked_nodes", join(&c.blocked_nodes));
            f.caused_by = c.findings.clone();
            f
        })
        .collect();
    let names: Vec<String> = causes.iter().map(|c| c.cluster.to_string()).collect();
    let reason = format!("rollout halted by canary cluster(s) {}", names.join(", "));
    (
        Some(Halt {
            reason,
            canaries: causes,
        }),
        findings,
    )
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "outside the maintenance window; next opens 2025-11-24T22:00:00Z until …".
fn closed_reason(start: Option<UnixMillis>, end: Option<UnixMillis>) -> String {
    let at = |t: UnixMillis| {
        jiff::Timestamp::from_millisecond(t.0)
            .map_or_else(|_| format!("{} ms", t.0), |ts| ts.to_string())
    };
    match (start, end) {
        (Some(s), Some(e)) => format!(
            "outside the maintenance window; the next opens at {} and closes at {}",
            at(s),
            at(e)
        ),
        (Some(s), None) => format!(
            "outside the maintenance window; the next opens at {}",
            at(s)
        ),
        _ => "the group has no maintenance window: upgrades are frozen".to_owned(),
    }
}
