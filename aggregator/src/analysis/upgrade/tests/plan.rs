//! One cluster's plan: the single-server case, the path, downgrades, unknown versions, agent
//! batches, windows, and the JSON shape.

use super::*;
use crate::analysis::upgrade::{BlockerKind, Phase, VersionStatus, WaveState, WindowView};

#[test]
fn a_single_sqlite_server_may_upgrade_but_its_downtime_is_flagged() {
    let nodes = [
        server("edge", "e1", "v1.31.2+k3s1").with(sqlite()),
        agent("edge", "e2", "v1.31.2+k3s1"),
    ];
    let (plan, findings) = eval(&fleet(&nodes), &anytime(1), &[]);
    let c = cluster(&plan, "edge");
    assert!(c.single_server_downtime);
    assert_eq!(c.datastore, crate::analysis::upgrade::DatastoreKind::Sqlite);
    assert!(
        c.steps.iter().all(|s| s.ready && s.to == TARGET),
        "{:?}",
        c.steps
    );
    assert_eq!(plan.waves[0].state, WaveState::Ready);
    assert_eq!(plan.waves[0].nodes, [nid("e1")]);
    let downtime: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == Kind::SingleServerDowntime)
        .collect();
    assert_eq!(downtime.len(), 1);
    assert_eq!(downtime[0].severity, Severity::Warning);
    assert_eq!(downtime[0].id.as_str(), "single_server_downtime/edge/-");
    assert!(
        downtime[0].summary.contains("takes the control plane down"),
        "{}",
        downtime[0].summary
    );
}

#[test]
fn a_single_server_at_target_is_not_flagged() {
    let nodes = [
        server("edge", "e1", TARGET).with(sqlite()),
        agent("edge", "e2", "v1.31.2+k3s1"),
    ];
    let (plan, findings) = eval(&fleet(&nodes), &anytime(1), &[]);
    assert!(!cluster(&plan, "edge").single_server_downtime);
    assert!(
        findings
            .iter()
            .all(|f| f.kind != Kind::SingleServerDowntime)
    );
}

#[test]
fn the_path_goes_one_minor_at_a_time_from_the_oldest_node() {
    let pinned =
        format!("[channels]\n\"v1.29\" = \"v1.29.12+k3s1\"\n[defaults]\ntarget = \"{TARGET}\"\n");
    for (server_v, agent_v, path, next, stepping) in [
        (
            "v1.28.9+k3s1",
            "v1.28.9+k3s1",
            vec!["v1.28.9+k3s1", "v1.29.12+k3s1", "v1.30", TARGET],
            "v1.29.12+k3s1",
            vec!["s1", "a1"],
        ),
        (
            "v1.29.12+k3s1",
            "v1.28.9+k3s1",
            vec!["v1.28.9+k3s1", "v1.29.12+k3s1", "v1.30", TARGET],
            "v1.29.12+k3s1",
            vec!["a1"],
        ),
        (
            "v1.30.2+k3s1",
            "v1.30.2+k3s1",
            vec!["v1.30.2+k3s1", TARGET],
            TARGET,
            vec!["s1", "a1"],
        ),
        (
            "v1.31.1+k3s1",
            "v1.31.1+k3s1",
            vec!["v1.31.1+k3s1", TARGET],
            TARGET,
            vec!["s1", "a1"],
        ),
    ] {
        let nodes = [
            server("c", "s1", server_v).with(sqlite()),
            agent("c", "a1", agent_v),
        ];
        let (plan, _) = eval(&fleet(&nodes), &policy(&pinned), &[]);
        let c = cluster(&plan, "c");
        assert_eq!(c.path, path, "{server_v}/{agent_v}");
        assert_eq!(c.next.as_deref(), Some(next), "{server_v}/{agent_v}");
        let steps: Vec<&str> = c.steps.iter().map(|s| s.node.as_str()).collect();
        assert_eq!(steps, stepping, "{server_v}/{agent_v}");
        assert!(c.steps.iter().all(|s| s.to == next));
    }
}

#[test]
fn a_target_older_than_a_running_version_is_refused() {
    for (running, refused) in [
        ("v1.31.5+k3s1", true),
        ("v1.32.0+k3s1", true),
        ("v1.31.4+k3s2", true),
        ("v1.31.3+k3s1", false),
    ] {
        let nodes = [server("c", "s1", running).with(sqlite())];
        let (plan, _) = eval(&fleet(&nodes), &anytime(1), &[]);
        let c = cluster(&plan, "c");
        let blocked = c.blockers.iter().any(|b| {
            b.kind == BlockerKind::TargetOlderThanRunning
                && b.reason.contains("target older than running version")
        });
        assert_eq!(blocked, refused, "{running}");
        assert_eq!(c.steps.is_empty(), refused, "{running}");
        assert_eq!(waves_of(&plan, "c").is_empty(), refused, "{running}");
        if refused {
            assert_eq!(c.servers[0].status, VersionStatus::Ahead);
        }
    }
}

#[test]
fn a_node_of_unknown_version_is_blocked_not_fine() {
    let nodes = [
        server("c", "s1", TARGET).with(sqlite()),
        agent("c", "a1", TARGET),
        agent("c", "a2", TARGET).version(None),
        agent("c", "a3", TARGET).version(Some("banana")),
    ];
    let (plan, _) = eval(&fleet(&nodes), &anytime(2), &[]);
    let c = cluster(&plan, "c");
    let blocked: Vec<(&str, BlockerKind)> = c
        .steps
        .iter()
        .flat_map(|s| s.blockers.iter().map(move |b| (s.node.as_str(), b.kind)))
        .collect();
    assert_eq!(
        blocked,
        [
            ("a2", BlockerKind::VersionUnknown),
            ("a3", BlockerKind::VersionUnknown)
        ]
    );
    assert_eq!(
        c.agents
            .iter()
            .filter(|a| a.status == VersionStatus::Unknown)
            .count(),
        2
    );
    assert_eq!(
        (c.progress.at_target, c.progress.total, c.progress.unknown),
        (2, 4, 2)
    );
    assert_eq!(plan.waves[0].state, WaveState::Blocked);
    assert_eq!(plan.progress.clusters_at_target, 0);
}

#[test]
fn agents_go_in_batches_of_max_unavailable_after_the_servers() {
    let mut nodes = vec![server("c", "s1", "v1.31.1+k3s1").with(sqlite())];
    for id in ["a1", "a2", "a3", "a4", "a5"] {
        nodes.push(agent("c", id, "v1.31.1+k3s1"));
    }
    for (max, batches) in [
        (
            1,
            vec![
                vec!["s1"],
                vec!["a1"],
                vec!["a2"],
                vec!["a3"],
                vec!["a4"],
                vec!["a5"],
            ],
        ),
        (
            2,
            vec![vec!["s1"], vec!["a1", "a2"], vec!["a3", "a4"], vec!["a5"]],
        ),
        (9, vec![vec!["s1"], vec!["a1", "a2", "a3", "a4", "a5"]]),
    ] {
        let (plan, _) = eval(&fleet(&nodes), &anytime(max), &[]);
        assert_eq!(waves_of(&plan, "c"), batches, "max_unavailable {max}");
        assert_eq!(plan.waves[0].phase, Phase::Servers);
        assert!(
            plan.waves[1..]
                .iter()
                .all(|w| w.phase == Phase::Agents && w.state == WaveState::Waiting)
        );
        let c = cluster(&plan, "c");
        assert!(c.steps.iter().all(|s| {
            plan.waves[usize::try_from(s.wave - 1).unwrap()]
                .nodes
                .contains(&s.node)
        }));
    }
}

#[test]
fn a_closed_window_schedules_nothing_now_and_names_the_next_window() {
    let text = format!(
        "[[windows]]\nname = \"weekend\"\ndays = [\"sat\", \"sun\"]\nstart = \"02:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n\
         [defaults]\ntarget = \"{TARGET}\"\nwindows = [\"weekend\"]\n"
    );
    let nodes = [server("c", "s1", "v1.31.1+k3s1").with(sqlite())];
    let sat_02 = UnixMillis(1_763_776_800_000);
    let sat_05 = UnixMillis(1_763_787_600_000);
    for (now, state, window) in [
        (
            NOW,
            WaveState::OutsideWindow,
            WindowView::Closed {
                next_start: Some(sat_02),
                next_end: Some(sat_05),
            },
        ),
        (
            UnixMillis(sat_02.0 + 3_600_000),
            WaveState::Ready,
            WindowView::Open { until: sat_05 },
        ),
    ] {
        let (plan, _) = evaluate_with_memory(
            &fleet(&nodes),
            &policy(&text),
            &[],
            now,
            &mut UpgradeMemory::default(),
        );
        assert_eq!(cluster(&plan, "c").window, window);
        assert_eq!(plan.waves[0].state, state);
        if state == WaveState::OutsideWindow {
            assert!(
                plan.waves[0].reason.contains("2025-11-22T02:00:00Z"),
                "{}",
                plan.waves[0].reason
            );
        }
    }
}

#[test]
fn kind_names_are_the_serialized_names() {
    use crate::analysis::upgrade::{BlockerKind, DatastoreKind};
    for k in BlockerKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
    for k in DatastoreKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
}

#[test]
fn the_plan_serializes_to_json_with_string_keys_and_snake_case_names() {
    let nodes = [
        server("c", "s1", "v1.30.1+k3s1").with(sqlite()),
        agent("c", "a1", "v1.30.1+k3s1"),
    ];
    let health = [finding(Kind::NodeStale, Severity::Warning, "c", Some("a1"))];
    let (plan, _) = eval(&fleet(&nodes), &anytime(1), &health);
    let json = serde_json::to_value(&plan).unwrap();
    let c = &json["clusters"][0];
    assert_eq!(c["target_source"]["kind"], "version");
    assert_eq!(c["window"]["state"], "unrestricted");
    assert_eq!(c["steps"][1]["blockers"][0]["kind"], "stale");
    assert_eq!(c["steps"][1]["blockers"][0]["finding"], "node_stale/c/a1");
    assert_eq!(json["waves"][1]["state"], "waiting");
    assert_eq!(json["progress"]["nodes"], 2);
}
