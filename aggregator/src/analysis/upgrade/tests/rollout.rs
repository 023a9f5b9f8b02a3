//! The fleet rollout: canaries first, halts, group order, progress and stuck upgrades.

use std::time::Duration;

use super::*;
use crate::analysis::upgrade::WaveState;

const OLD: &str = "v1.30.8+k3s1";

/// Canary group `canary` (cluster `lab`) and group `shops` (cluster `shop`), both to TARGET.
fn groups() -> Policy {
    policy(&format!(
        "[defaults]\ntarget = \"{TARGET}\"\nstuck_after = \"6h\"\n\
         [[groups]]\nname = \"shops\"\nclusters = [\"shop\"]\n\
         [[groups]]\nname = \"canary\"\ncanary = true\nclusters = [\"lab\"]\n"
    ))
}

fn lab(server_v: &'static str, agent_v: &'static str) -> Vec<N> {
    vec![
        server("lab", "l1", server_v).with(sqlite()),
        agent("lab", "l2", agent_v),
    ]
}

fn shop() -> Vec<N> {
    vec![
        server("shop", "p1", OLD).with(sqlite()),
        agent("shop", "p2", OLD),
    ]
}

#[test]
fn a_bad_canary_halts_the_rollout_only_after_its_upgrade_started() {
    let crash = || {
        vec![finding(
            Kind::CrashLooping,
            Severity::Critical,
            "lab",
            Some("l2"),
        )]
    };
    let stale = || {
        vec![finding(
            Kind::NodeStale,
            Severity::Warning,
            "lab",
            Some("l2"),
        )]
    };
    for (name, lab_v, health, halted, shop_state) in [
        (
            "started, critical finding",
            (TARGET, OLD),
            crash(),
            true,
            WaveState::Halted,
        ),
        (
            "done, blocked node",
            (TARGET, TARGET),
            stale(),
            true,
            WaveState::Halted,
        ),
        (
            "not started, critical finding",
            (OLD, OLD),
            crash(),
            false,
            WaveState::Waiting,
        ),
        (
            "started, healthy",
            (TARGET, OLD),
            vec![],
            false,
            WaveState::Waiting,
        ),
        (
            "done, healthy",
            (TARGET, TARGET),
            vec![],
            false,
            WaveState::Ready,
        ),
    ] {
        let mut nodes = lab(lab_v.0, lab_v.1);
        nodes.extend(shop());
        let (plan, findings) = eval(&fleet(&nodes), &groups(), &health);
        assert_eq!(plan.halted.is_some(), halted, "{name}");
        let halt: Vec<_> = findings
            .iter()
            .filter(|f| f.kind == Kind::RolloutHalted)
            .collect();
        assert_eq!(halt.len(), usize::from(halted), "{name}");
        if let (Some(h), Some(f)) = (&plan.halted, halt.first()) {
            assert_eq!(h.canaries[0].cluster, cid("lab"), "{name}");
            assert_eq!(
                (f.severity, f.id.as_str()),
                (Severity::Critical, "rollout_halted/lab/-"),
                "{name}"
            );
            assert!(
                f.summary.contains("canary cluster lab"),
                "{name}: {}",
                f.summary
            );
            assert!(
                plan.waves.iter().all(|w| w.state == WaveState::Halted),
                "{name}"
            );
        }
        let shop_waves: Vec<_> = plan
            .waves
            .iter()
            .filter(|w| w.cluster.as_str() == "shop")
            .collect();
        assert_eq!(
            shop_waves[0].state, shop_state,
            "{name}: {}",
            shop_waves[0].reason
        );
        if shop_state == WaveState::Waiting {
            let want = "waiting for canary clusters to reach their target: lab";
            assert!(
                shop_waves[0].reason.contains(want),
                "{name}: {}",
                shop_waves[0].reason
            );
        }
        assert!(
            shop_waves[1..].iter().all(|w| w.state != WaveState::Ready),
            "{name}"
        );
        // Canary waves come first in the fleet's order.
        if let Some(first_shop) = shop_waves.first() {
            assert!(
                plan.waves
                    .iter()
                    .filter(|w| w.canary)
                    .all(|w| w.number < first_shop.number),
                "{name}"
            );
        }
    }
}

#[test]
fn a_later_group_waits_for_every_cluster_of_earlier_groups() {
    let text = format!(
        "[defaults]\ntarget = \"{TARGET}\"\n\
         [[groups]]\nname = \"first\"\nclusters = [\"one\"]\n\
         [[groups]]\nname = \"second\"\nclusters = [\"two\"]\n"
    );
    for (one_v, two_state) in [(OLD, WaveState::Waiting), (TARGET, WaveState::Ready)] {
        let nodes = [
            server("one", "o1", one_v).with(sqlite()),
            server("two", "t1", OLD).with(sqlite()),
        ];
        let (plan, _) = eval(&fleet(&nodes), &policy(&text), &[]);
        let two = plan
            .waves
            .iter()
            .find(|w| w.cluster.as_str() == "two")
            .expect("wave of two");
        assert_eq!(two.state, two_state, "{one_v}: {}", two.reason);
        assert_eq!(
            plan.waves.first().map(|w| w.state),
            Some(WaveState::Ready),
            "{one_v}"
        );
    }
}

#[test]
fn progress_counts_nodes_and_clusters_at_target() {
    let mut nodes = lab(TARGET, TARGET);
    nodes.extend(shop());
    nodes.push(agent("shop", "p3", TARGET));
    let (plan, _) = eval(&fleet(&nodes), &groups(), &[]);
    let p = &plan.progress;
    assert_eq!(
        (p.nodes_at_target, p.nodes, p.clusters_at_target, p.clusters),
        (3, 5, 1, 2)
    );
    let shop = cluster(&plan, "shop");
    assert_eq!(
        (
            shop.progress.at_target,
            shop.progress.total,
            shop.progress.mixed
        ),
        (1, 3, true)
    );
}

#[test]
fn a_cluster_mixed_for_longer_than_stuck_after_without_change_is_stuck() {
    let hour = 3_600_000;
    let mixed = || {
        let mut n = lab(TARGET, OLD);
        n.extend(shop());
        n
    };
    let moved = || {
        let mut n = lab(TARGET, "v1.31.0+k3s1");
        n.extend(shop());
        n
    };
    let settled = || {
        let mut n = lab(TARGET, TARGET);
        n.extend(shop());
        n
    };
    type Nodes = fn() -> Vec<N>;
    // (hours after the first evaluation, fleet, stuck, mixed_since in hours)
    let timeline: [(i64, Nodes, bool, Option<i64>); 5] = [
        (0, mixed, false, Some(0)),
        (5, mixed, false, Some(0)),
        (7, mixed, true, Some(0)),
        (8, moved, false, Some(8)),
        (9, settled, false, None),
    ];
    let mut memory = UpgradeMemory::default();
    let p = groups();
    assert_eq!(
        p.group("canary").map(|g| g.stuck_after),
        Some(Duration::from_secs(6 * 3600))
    );
    for (h, nodes, stuck, since) in timeline {
        let now = UnixMillis(NOW.0 + h * hour);
        let (plan, findings) = evaluate_with_memory(&fleet(&nodes()), &p, &[], now, &mut memory);
        let c = cluster(&plan, "lab");
        assert_eq!(c.progress.stuck, stuck, "at +{h}h");
        assert_eq!(
            c.progress.mixed_since,
            since.map(|s| UnixMillis(NOW.0 + s * hour)),
            "at +{h}h"
        );
        let found = findings.iter().any(|f| {
            f.kind == Kind::UpgradeStuck
                && f.id.as_str() == "upgrade_stuck/lab/-"
                && f.severity == Severity::Warning
        });
        assert_eq!(found, stuck, "at +{h}h");
        assert_eq!(plan.progress.stuck.contains(&cid("lab")), stuck, "at +{h}h");
        assert_eq!(
            memory.mixed_since(&cid("lab")),
            c.progress.mixed_since,
            "at +{h}h"
        );
    }
}

#[test]
fn without_memory_no_upgrade_is_ever_stuck() {
    let mut nodes = lab(TARGET, OLD);
    nodes.extend(shop());
    let (plan, findings) = crate::analysis::upgrade::evaluate(
        &fleet(&nodes),
        &groups(),
        &[],
        UnixMillis(NOW.0 + 1_000 * 3_600_000),
    );
    assert!(cluster(&plan, "lab").progress.mixed);
    assert!(findings.iter().all(|f| f.kind != Kind::UpgradeStuck));
}
