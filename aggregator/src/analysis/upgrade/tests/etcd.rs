//! Clusters with a quorum: embedded etcd (quorum blockers, the leader last, learners,
//! alarms, lagging followers) and MicroK8s HA dqlite.

use edgeward_proto::datastore::{Datastore, Dqlite, DqliteMember, DqliteRole, Etcd};

use super::*;
use crate::analysis::upgrade::{BlockerKind, WaveState};

const OLD: &str = "v1.30.8+k3s1";

/// Servers s1..sN of cluster `prod` (member ids 1..N, all voters unless `learners`), each
/// following `leader`, then `tweak`ed per member id; two agents.
fn prod(n: u64, leader: u64, learners: &[u64], tweak: &dyn Fn(u64, &mut Etcd)) -> Vec<N> {
    let members: Vec<(u64, bool)> = (1..=n).map(|id| (id, learners.contains(&id))).collect();
    let ids = ["s1", "s2", "s3", "s4", "s5"];
    let mut nodes: Vec<N> = (1..=n)
        .map(|id| {
            let mut e = etcd(id, leader, &members);
            tweak(id, &mut e);
            server("prod", ids[usize::try_from(id - 1).unwrap()], OLD)
                .with(Datastore::Etcd(Box::new(e)))
        })
        .collect();
    nodes.push(agent("prod", "a1", OLD));
    nodes.push(agent("prod", "a2", OLD));
    nodes
}

fn unhealthy(id: u64) -> impl Fn(u64, &mut Etcd) {
    move |m, e| {
        if m == id
            && let Section::Data(h) = &mut e.health
        {
            h.healthy = false;
            h.reason = "context deadline exceeded".to_owned();
        }
    }
}

/// `(kind, text in the reason, finding id)` of each blocker of `node`'s step.
fn blockers(plan: &UpgradePlan, node: &str) -> Vec<(BlockerKind, String, Option<String>)> {
    let step = cluster(plan, "prod")
        .steps
        .iter()
        .find(|s| s.node.as_str() == node)
        .unwrap_or_else(|| panic!("step for {node}"));
    assert_eq!(step.ready, step.blockers.is_empty());
    step.blockers
        .iter()
        .map(|b| {
            (
                b.kind,
                b.reason.clone(),
                b.finding.as_ref().map(ToString::to_string),
            )
        })
        .collect()
}

#[test]
fn an_unhealthy_member_blocks_the_other_servers_on_quorum_and_itself_on_its_findings() {
    let health = [finding(
        Kind::EtcdUnhealthy,
        Severity::Critical,
        "prod",
        Some("s2"),
    )];
    let (plan, _) = eval(
        &fleet(&prod(3, 1, &[], &unhealthy(2))),
        &anytime(1),
        &health,
    );
    let quorum = |b: &[(BlockerKind, String, Option<String>)]| {
        b.iter().any(|(k, r, f)| {
            *k == BlockerKind::QuorumWouldBeLost
                && r.contains("etcd member m2 on s2 is unhealthy")
                && f.as_deref() == Some("etcd_unhealthy/prod/s2")
        })
    };
    for (node, want_quorum, want_own) in [
        ("s1", true, false),
        ("s3", true, false),
        ("s2", false, true),
    ] {
        let b = blockers(&plan, node);
        assert_eq!(quorum(&b), want_quorum, "{node}: {b:?}");
        let own = b.iter().any(|(k, _, f)| {
            *k == BlockerKind::DatastoreUnhealthy && f.as_deref() == Some("etcd_unhealthy/prod/s2")
        });
        assert_eq!(own, want_own, "{node}: {b:?}");
    }
    let first = plan.waves.first().expect("waves");
    assert_eq!(first.state, WaveState::Blocked);
    assert!(
        first.reason.contains(&first.nodes[0].to_string()),
        "{}",
        first.reason
    );
}

#[test]
fn a_member_unhealthy_only_in_its_data_still_blocks_the_others() {
    let (plan, _) = eval(&fleet(&prod(3, 1, &[], &unhealthy(3))), &anytime(1), &[]);
    let b = blockers(&plan, "s1");
    assert!(
        b.iter()
            .any(|(k, r, f)| *k == BlockerKind::QuorumWouldBeLost
                && r.contains("context deadline exceeded")
                && f.is_none()),
        "{b:?}"
    );
}

#[test]
fn the_etcd_leader_is_upgraded_last_among_the_servers() {
    for (leader, order) in [
        (1, ["s2", "s3", "s1"]),
        (2, ["s1", "s3", "s2"]),
        (3, ["s1", "s2", "s3"]),
    ] {
        let (plan, _) = eval(&fleet(&prod(3, leader, &[], &|_, _| {})), &anytime(1), &[]);
        let c = cluster(&plan, "prod");
        let servers: Vec<&str> = c
            .steps
            .iter()
            .filter(|s| s.role == NodeRole::Server)
            .map(|s| s.node.as_str())
            .collect();
        assert_eq!(servers, order, "leader m{leader}");
        assert!(
            c.steps
                .iter()
                .filter(|s| s.role == NodeRole::Server)
                .all(|s| s.ready && s.leader == (s.node.as_str() == order[2]))
        );
        let waves = waves_of(&plan, "prod");
        assert_eq!(
            waves[..3],
            [
                vec![order[0].to_owned()],
                vec![order[1].to_owned()],
                vec![order[2].to_owned()]
            ]
        );
        assert_eq!(plan.waves[0].state, WaveState::Ready);
        assert!(
            plan.waves[1..]
                .iter()
                .all(|w| w.state == WaveState::Waiting)
        );
    }
}

#[test]
fn quorum_rules_block_every_server_for_cluster_wide_reasons() {
    type Tweak = Box<dyn Fn(u64, &mut Etcd)>;
    let alarm: Tweak = Box::new(|m, e| {
        if m == 1
            && let Section::Data(s) = &mut e.status
        {
            s.alarms = vec!["NOSPACE".to_owned()].try_into().unwrap();
        }
    });
    let lagging: Tweak = Box::new(|m, e| {
        if m == 3
            && let Section::Data(s) = &mut e.status
        {
            s.raft_applied_index = 90_000;
        }
    });
    let none: Tweak = Box::new(|_, _| {});
    let untouched: Tweak = Box::new(|_, _| {});
    for (name, n, learners, tweak, blocked, reason) in [
        (
            "alarm",
            3,
            vec![],
            alarm,
            vec!["s1", "s2", "s3"],
            "etcd alarm NOSPACE is active",
        ),
        (
            "follower behind",
            3,
            vec![],
            lagging,
            vec!["s1", "s2", "s3"],
            "has applied 10000 entries fewer",
        ),
        (
            "two voters",
            2,
            vec![],
            untouched,
            vec!["s1", "s2"],
            "2 voters need 2, only 1 would remain",
        ),
        (
            "learner",
            3,
            vec![3],
            none,
            vec!["s3"],
            "this member is a learner",
        ),
    ] {
        let (plan, _) = eval(&fleet(&prod(n, 1, &learners, &tweak)), &anytime(1), &[]);
        for node in ["s1", "s2", "s3"].iter().take(usize::try_from(n).unwrap()) {
            let b = blockers(&plan, node);
            let hit = b
                .iter()
                .any(|(k, r, _)| *k == BlockerKind::QuorumWouldBeLost && r.contains(reason));
            assert_eq!(hit, blocked.contains(node), "{name}: {node}: {b:?}");
        }
    }
}

#[test]
fn a_member_no_agent_reports_counts_as_unhealthy() {
    let mut nodes = prod(3, 1, &[], &|_, _| {});
    nodes.retain(|n| n.id != "s3");
    let (plan, _) = eval(&fleet(&nodes), &anytime(1), &[]);
    for node in ["s1", "s2"] {
        let b = blockers(&plan, node);
        assert!(
            b.iter()
                .any(|(k, r, _)| *k == BlockerKind::QuorumWouldBeLost
                    && r.contains("no edgeward agent reports etcd member m3")),
            "{node}: {b:?}"
        );
    }
}

#[test]
fn an_unhealthy_dqlite_voter_blocks_the_other_voters_but_not_a_standby() {
    let member = |id: u64, role| DqliteMember {
        address: format!("10.0.0.{id}:19001"),
        id,
        role,
    };
    let all = vec![
        member(1, DqliteRole::Voter),
        member(2, DqliteRole::Voter),
        member(3, DqliteRole::Voter),
        member(4, DqliteRole::Standby),
    ];
    let node = |id: u64, name: &'static str| {
        let d = Dqlite {
            ha: true,
            local: Some(all[usize::try_from(id - 1).unwrap()].clone()),
            members: all.clone().try_into().unwrap(),
        };
        server("mk", name, "v1.30.5")
            .distro(Distro::MicroK8s)
            .with(Datastore::Dqlite(Section::Data(d)))
    };
    let nodes = [node(1, "m1"), node(2, "m2"), node(3, "m3"), node(4, "m4")];
    let health = [finding(
        Kind::DqliteVoterLoss,
        Severity::Warning,
        "mk",
        Some("m3"),
    )];
    let text = "[defaults]\ntarget = \"v1.31.2\"\n";
    let (plan, _) = eval(&fleet(&nodes), &policy(text), &health);
    let c = cluster(&plan, "mk");
    for (name, quorum) in [("m1", true), ("m2", true), ("m3", false), ("m4", false)] {
        let step = c
            .steps
            .iter()
            .find(|s| s.node.as_str() == name)
            .expect("step");
        let hit = step.blockers.iter().any(|b| {
            b.kind == BlockerKind::QuorumWouldBeLost
                && b.reason
                    .contains("dqlite voter 10.0.0.3:19001 on m3 is unhealthy")
                && b.finding.as_ref().map(ToString::to_string).as_deref()
                    == Some("dqlite_voter_loss/mk/m3")
        });
        assert_eq!(hit, quorum, "{name}: {:?}", step.blockers);
    }
    assert_eq!(c.datastore, crate::analysis::upgrade::DatastoreKind::Dqlite);
    assert!(
        c.suc.notes.iter().any(|n| n.contains("snap refresh")),
        "{:?}",
        c.suc.notes
    );
}
