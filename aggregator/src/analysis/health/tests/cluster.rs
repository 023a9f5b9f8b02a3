//! Cluster checks: etcd quorum and clock skew between servers (dqlite voters: `dqlite.rs`).

use edgeward_proto::datastore::{EtcdHealth, EtcdMember};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Bounded, Sample, Section, UnavailableReason, UnixMillis};

use super::{etcd, now, status};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::fleet::ClusterView;
use crate::analysis::node::{History, NodeState};
use crate::policy::Thresholds;

const HOUR: i64 = 3_600_000;

/// How one etcd server of the test cluster is doing.
#[derive(Clone, Copy, PartialEq)]
enum Member {
    Healthy,
    EtcdDown,
    Stale,
    NoFreshHealth,
}

/// Synthetic server `k` of cluster 0, etcd member `members[k]` of `voters` voters.
fn etcd_server(k: usize, voters: usize, learner: Option<usize>, how: Member) -> NodeState {
    let mut st = super::node_state(k as u32, |s: &mut Sample| {
        let st = status(s);
        let mut members = st.members.clone().into_vec();
        while members.len() < voters {
            let i = members.len();
            members.push(EtcdMember {
                id: 1000 + i as u64,
                name: format!("sim-server-{i}"),
                peer_url: format!("https://10.0.0.{}:2380", 10 + i),
                is_learner: false,
            });
        }
        members.truncate(voters);
        if let Some(l) = learner {
            members[l].is_learner = true;
        }
        st.member_id = members[k].id;
        st.members = Bounded::try_from(members).expect("bounded");
        match how {
            Member::EtcdDown => {
                etcd(s).health = Section::Data(EtcdHealth {
                    healthy: false,
                    reason: "RAFT NO LEADER".to_owned(),
                });
            }
            Member::NoFreshHealth => {
                etcd(s).health = Section::unavailable(UnavailableReason::PermissionDenied, "cert");
            }
            Member::Healthy | Member::Stale => {}
        }
    });
    if how == Member::Stale {
        st.last_seen = UnixMillis(now().0 - HOUR);
    }
    st
}

/// Cluster findings for these nodes as sim-cluster-0000.
pub fn evaluate(nodes: &[NodeState]) -> Vec<Finding> {
    let cluster = SyntheticNode::new(0).cluster;
    let view = ClusterView {
        id: Some(&cluster),
        nodes: nodes.iter().collect(),
    };
    super::super::cluster(&view, &Thresholds::default(), now())
}

#[test]
fn nodes_of_unknown_clusters_are_not_judged_as_one_cluster() {
    use Member::{EtcdDown, Healthy, Stale};
    let nodes: Vec<_> = [Healthy, EtcdDown, Stale]
        .into_iter()
        .enumerate()
        .map(|(k, how)| etcd_server(k, 3, None, how))
        .collect();
    assert!(
        !evaluate(&nodes).is_empty(),
        "the same nodes as a known cluster"
    );
    let view = ClusterView {
        id: None,
        nodes: nodes.iter().collect(),
    };
    assert_eq!(
        super::super::cluster(&view, &Thresholds::default(), now()),
        Vec::new()
    );
}

#[test]
fn quorum_at_risk_by_healthy_voters() {
    use Member::{EtcdDown, Healthy, NoFreshHealth, Stale};
    type Expect = Option<(Severity, &'static [(&'static str, &'static str)])>;
    /// (name, voters, learner, members present, expected severity and evidence)
    type QuorumRow = (
        &'static str,
        usize,
        Option<usize>,
        &'static [Member],
        Expect,
    );
    let rows: [QuorumRow; 10] = [
        (
            "3 voters, all healthy",
            3,
            None,
            &[Healthy, Healthy, Healthy],
            None,
        ),
        (
            "3 voters, 1 etcd unhealthy: no tolerance left",
            3,
            None,
            &[Healthy, EtcdDown, Healthy],
            Some((
                Severity::Warning,
                &[
                    ("tolerance", "0"),
                    ("healthy_voters", "2"),
                    (
                        "implicates.sim-node-00001",
                        "etcd unhealthy: RAFT NO LEADER",
                    ),
                ],
            )),
        ),
        (
            "3 voters, 1 stale: no tolerance left",
            3,
            None,
            &[Stale, Healthy, Healthy],
            Some((
                Severity::Warning,
                &[("implicates.sim-node-00000", "node stale")],
            )),
        ),
        (
            "3 voters, 2 unhealthy: quorum lost",
            3,
            None,
            &[Healthy, EtcdDown, Stale],
            Some((
                Severity::Critical,
                &[("healthy_voters", "1"), ("quorum", "2")],
            )),
        ),
        (
            "3 voters, one without fresh health is not counted healthy",
            3,
            None,
            &[Healthy, Healthy, NoFreshHealth],
            Some((
                Severity::Warning,
                &[("implicates.sim-node-00002", "no fresh etcd health")],
            )),
        ),
        (
            "3 voters, one no agent reports",
            3,
            None,
            &[Healthy, Healthy],
            Some((
                Severity::Warning,
                &[("voter.sim-server-2", "no agent reports this member")],
            )),
        ),
        (
            "2 voters, both healthy: an even count",
            2,
            None,
            &[Healthy, Healthy],
            Some((Severity::Warning, &[("even_voters", "true")])),
        ),
        (
            "a learner is not a voter",
            3,
            Some(2),
            &[Healthy, Healthy, Healthy],
            Some((Severity::Warning, &[("voters", "2")])),
        ),
        (
            "4 healthy voters: an even count, information",
            4,
            None,
            &[Healthy, Healthy, Healthy, Healthy],
            Some((Severity::Info, &[("tolerance", "1")])),
        ),
        (
            "1 healthy voter: a single server by design",
            1,
            None,
            &[Healthy],
            None,
        ),
    ];
    for (name, voters, learner, members, want) in rows {
        let nodes: Vec<NodeState> = members
            .iter()
            .enumerate()
            .map(|(k, how)| etcd_server(k, voters, learner, *how))
            .collect();
        let found = evaluate(&nodes);
        let quorum: Vec<_> = found
            .iter()
            .filter(|f| f.kind == Kind::QuorumAtRisk)
            .collect();
        match want {
            None => assert!(quorum.is_empty(), "{name}: {quorum:#?}"),
            Some((severity, evidence)) => {
                assert_eq!(quorum.len(), 1, "{name}: {found:#?}");
                assert_eq!(quorum[0].severity, severity, "{name}");
                assert_eq!(quorum[0].node, None, "{name}: a cluster finding");
                for (k, v) in evidence {
                    let got = quorum[0].evidence.get(*k).map(ToString::to_string);
                    assert_eq!(got.as_deref(), Some(*v), "{name}: {k}");
                }
            }
        }
    }
}

/// Server `k` whose batches (aggregator clock, minutes before now) carried these offsets.
fn offset_server(k: u32, offsets: &[(i64, i64)], stale: bool) -> NodeState {
    let mut st = super::node_state(k, super::same);
    st.send_offset = History::default();
    for (min_ago, offset) in offsets {
        st.send_offset
            .record(UnixMillis(now().0 - min_ago * 60_000), *offset);
    }
    if stale {
        st.last_seen = UnixMillis(now().0 - HOUR);
    }
    st
}

#[test]
fn clock_skew_between_servers() {
    type Servers = [(&'static [(i64, i64)], bool); 3];
    type Evidence = &'static [(&'static str, &'static str)];
    let rows: [(&str, Servers, Option<Evidence>); 5] = [
        (
            "1.3 s apart",
            [
                (&[(1, 0)], false),
                (&[(1, 200)], false),
                (&[(1, 1300)], false),
            ],
            Some(&[
                ("spread_ms", "1300"),
                ("farthest_node", "sim-node-00002"),
                ("offset_ms.sim-node-00002", "1300"),
            ]),
        ),
        (
            "exactly 1 s apart",
            [
                (&[(1, 0)], false),
                (&[(1, 500)], false),
                (&[(1, 1000)], false),
            ],
            None,
        ),
        (
            "the outlier is stale",
            [
                (&[(1, 0)], false),
                (&[(1, 200)], false),
                (&[(1, 1300)], true),
            ],
            None,
        ),
        (
            "the outlier's offsets are older than the window",
            [
                (&[(1, 0)], false),
                (&[(1, 200)], false),
                (&[(20, 1300)], false),
            ],
            None,
        ),
        (
            "a delayed batch does not hide an offset: the maximum counts",
            [
                (&[(2, -3000), (1, 0)], false),
                (&[(1, 0)], false),
                (&[(1, 0)], false),
            ],
            None,
        ),
    ];
    for (name, servers, want) in rows {
        let nodes: Vec<NodeState> = servers
            .iter()
            .enumerate()
            .map(|(k, (offsets, stale))| offset_server(k as u32, offsets, *stale))
            .collect();
        let found = evaluate(&nodes);
        let skew: Vec<_> = found.iter().filter(|f| f.kind == Kind::ClockSkew).collect();
        match want {
            None => assert!(skew.is_empty(), "{name}: {skew:#?}"),
            Some(evidence) => {
                assert_eq!(skew.len(), 1, "{name}");
                assert_eq!(skew[0].severity, Severity::Warning, "{name}");
                for (k, v) in evidence {
                    let got = skew[0].evidence.get(*k).map(ToString::to_string);
                    assert_eq!(got.as_deref(), Some(*v), "{name}: {k}");
                }
            }
        }
    }
}
