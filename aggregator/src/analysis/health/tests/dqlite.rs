//! Cluster check: dqlite voters of a MicroK8s HA cluster.

use edgeward_proto::datastore::{Datastore, Dqlite, DqliteMember, DqliteRole};
use edgeward_proto::{Bounded, Section, UnixMillis};

use super::cluster::evaluate;
use super::{datastore, now};
use crate::analysis::finding::{Kind, Severity};
use crate::analysis::node::NodeState;

const HOUR: i64 = 3_600_000;

fn dqlite_member(id: u64, role: DqliteRole) -> DqliteMember {
    DqliteMember {
        address: format!("10.0.0.{id}:19001"),
        id,
        role,
    }
}

/// MicroK8s node `k` (dqlite id k+1) seeing `roles` in `cluster.yaml`.
fn dqlite_node(k: u32, ha: bool, roles: &[DqliteRole], stale: bool) -> NodeState {
    let members: Vec<_> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| dqlite_member(i as u64 + 1, *r))
        .collect();
    let mut st = super::node_state(k, |s| {
        datastore(s).kind = Datastore::Dqlite(Section::Data(Dqlite {
            ha,
            local: Some(dqlite_member(u64::from(k) + 1, roles[k as usize])),
            members: Bounded::try_from(members).expect("bounded"),
        }));
    });
    if stale {
        st.last_seen = UnixMillis(now().0 - HOUR);
    }
    st
}

#[test]
fn dqlite_voter_loss() {
    use DqliteRole::{Standby, Voter};
    const V3: &[DqliteRole] = &[Voter, Voter, Voter];
    /// (name, HA, roles in cluster.yaml, which nodes are stale, expected severity)
    type DqliteRow = (
        &'static str,
        bool,
        &'static [DqliteRole],
        [bool; 3],
        Option<Severity>,
    );
    let rows: [DqliteRow; 5] = [
        ("3 fresh voters", true, V3, [false; 3], None),
        (
            "1 voter stale",
            true,
            V3,
            [false, true, false],
            Some(Severity::Warning),
        ),
        (
            "2 voters stale: quorum lost",
            true,
            V3,
            [true, true, false],
            Some(Severity::Critical),
        ),
        (
            "3 members but 2 voters",
            true,
            &[Voter, Voter, Standby],
            [false; 3],
            Some(Severity::Warning),
        ),
        (
            "without HA nothing is judged",
            false,
            V3,
            [false, true, true],
            None,
        ),
    ];
    for (name, ha, roles, stale, want) in rows {
        let nodes: Vec<_> = (0..3)
            .map(|k| dqlite_node(k, ha, roles, stale[k as usize]))
            .collect();
        let found = evaluate(&nodes);
        let got: Vec<_> = found
            .iter()
            .filter(|f| f.kind == Kind::DqliteVoterLoss)
            .map(|f| f.severity)
            .collect();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{name}");
        if name == "1 voter stale" {
            let got = found
                .iter()
                .find(|f| f.kind == Kind::DqliteVoterLoss)
                .and_then(|f| f.evidence.get("implicates.sim-node-00001"))
                .map(ToString::to_string);
            assert_eq!(got.as_deref(), Some("stale"));
        }
    }
}
