//! "Would taking this server down lose quorum?" (DOMAIN.md §3): a member is safe to take down
//! only when every *other* voter is healthy, the voters left still make a quorum
//! (⌊n/2⌋+1), no alarm is active, it is not a learner, and the followers' applied index is
//! close to the leader's. The etcd leader goes last.
//!
//! Voters come from the freshest member list any server reported; a voter is mapped to the
//! node whose own status carries its member id (etcd) or whose `info.yaml` id it is (dqlite).
//! A voter no node reports for, or whose node is stale, has datastore findings of warning or
//! worse, or reports no fresh datastore state, is *not* healthy: unknown is never fine.
//!
//! One voter (kine/SQLite, a one-member etcd, MicroK8s without HA) has no quorum to lose: the
//! plan flags the downtime instead. External datastores are not the servers' to lose.

use std::collections::BTreeMap;

use edgeward_proto::NodeId;
use edgeward_proto::UnixMillis;
use edgeward_proto::datastore::{Datastore, Dqlite, DqliteRole, Etcd, EtcdStatus};

use super::super::finding::{Finding, FindingId, Kind, Severity};
use super::cluster::NodeFacts;
use super::plan::{Blocker, BlockerKind, DatastoreKind};
use super::readiness::is_datastore;

/// Raft entries a follower's applied index may lag the leader's index before taking another
/// member down is refused (etcd's own `maxGapBetweenApplyAndCommitIndex`).
pub const MAX_FOLLOWER_LAG: u64 = 5_000;

/// What the quorum rules add to the servers' blockers.
#[derive(Debug, Default)]
pub(super) struct Quorum {
    pub blockers: BTreeMap<NodeId, Vec<Blocker>>,
    pub datastore: DatastoreKind,
    pub leader: Option<NodeId>,
}

/// One voter and, when it is not healthy, why (and the finding that says so).
struct Voter<'a> {
    label: String,
    node: Option<&'a NodeId>,
    trouble: Option<(String, Option<FindingId>)>,
}

/// Assesses the servers of one cluster.
pub(super) fn assess(servers: &[&NodeFacts<'_>], findings: &[&Finding]) -> Quorum {
    let datastore = servers
        .iter()
        .filter_map(|s| s.state.datastore.data.as_ref())
        .map(|d| kind_of(&d.value.kind))
        .find(|k| *k != DatastoreKind::Unknown)
        .unwrap_or_default();
    let mut q = Quorum {
        datastore,
        ..Quorum::default()
    };
    match datastore {
        DatastoreKind::Etcd => etcd(servers, findings, &mut q),
        DatastoreKind::Dqlite => dqlite(servers, findings, &mut q),
        DatastoreKind::Sqlite | DatastoreKind::External | DatastoreKind::Unknown => {}
    }
    q
}

fn kind_of(d: &Datastore) -> DatastoreKind {
    match d {
        Datastore::Etcd(_) => DatastoreKind::Etcd,
        Datastore::KineSqlite(_) => DatastoreKind::Sqlite,
        Datastore::Dqlite(_) => DatastoreKind::Dqlite,
        Datastore::External { .. } => DatastoreKind::External,
        Datastore::None => DatastoreKind::Unknown,
    }
}

/// The node's newest etcd data (`fresh` only when it is also the newest thing heard).
fn etcd_of<'a>(n: &NodeFacts<'a>, fresh: bool) -> Option<(&'a Etcd, UnixMillis)> {
    let obs = if fresh {
        n.state.datastore.fresh()
    } else {
        n.state.datastore.data.as_ref()
    }?;
    match &obs.value.kind {
        Datastore::Etcd(e) => Some((e.as_ref(), obs.at)),
        _ => None,
    }
}

/// Why a voter's node is not healthy, from its findings (stale first, then datastore).
fn node_trouble(node: &NodeId, findings: &[&Finding]) -> Option<(String, Option<FindingId>)> {
    let mine = || {
        findings
            .iter()
            .filter(move |f| f.node.as_ref() == Some(node))
    };
    let stale = mine().find(|f| f.kind == Kind::NodeStale);
    let ds = mine().find(|f| is_datastore(f.kind) && f.severity >= Severity::Warning);
    stale
        .or(ds)
        .map(|f| (format!("{}: {}", f.kind, f.summary), Some(f.id.clone())))
}

fn etcd(servers: &[&NodeFacts<'_>], findings: &[&Finding], q: &mut Quorum) {
    let fresh: Vec<(&NodeFacts<'_>, &EtcdStatus, UnixMillis)> = servers
        .iter()
        .filter_map(|n| {
            let (e, at) = etcd_of(n, true)?;
            Some((*n, e.status.data()?, at))
        })
        .collect();
    let by_member: BTreeMap<u64, &NodeFacts<'_>> = servers
        .iter()
        .filter_map(|n| Some((etcd_of(n, false)?.0.status.data()?.member_id, *n)))
        .collect();
    let Some(newest) = fresh
        .iter()
        .filter(|s| !s.1.members.is_empty())
        .max_by_key(|s| s.2)
    else {
        return;
    };
    // The leader most statuses agree on; ties go to the newest report.
    let mut votes: BTreeMap<u64, (usize, UnixMillis)> = BTreeMap::new();
    for (_, s, at) in fresh.iter().filter(|s| s.1.leader_id != 0) {
        let e = votes.entry(s.leader_id).or_insert((0, *at));
        e.0 += 1;
        e.1 = e.1.max(*at);
    }
    let leader_id = votes.iter().max_by_key(|(_, v)| **v).map(|(id, _)| *id);
    q.leader = leader_id
        .and_then(|id| by_member.get(&id))
        .map(|n| n.id.clone());
    let voters: Vec<Voter<'_>> = newest
        .1
        .members
        .iter()
        .filter(|m| !m.is_learner)
        .map(|m| {
            let node = by_member.get(&m.id).copied();
            let trouble = match node {
                None => Some((
                    format!("no edgeward agent reports etcd member {}", m.name),
                    None,
                )),
                Some(n) => node_trouble(n.id, findings).or_else(|| match etcd_of(n, true) {
                    None => Some(("etcd state unknown".to_owned(), None)),
                    Some((e, _)) => match e.health.data() {
                        Some(h) if h.healthy => None,
                        Some(h) => Some((format!("etcd reports unhealthy: {}", h.reason), None)),
                        None => Some(("etcd health unknown".to_owned(), None)),
                    },
                }),
            };
            Voter {
                label: format!("etcd member {}", m.name),
                node: node.map(|n| n.id),
                trouble,
            }
        })
        .collect();
    if voters.len() <= 1 {
        return;
    }
    let mut shared = Vec::new();
    for (n, s, _) in &fresh {
        for alarm in s.alarms.iter() {
            let finding = findings
                .iter()
                .find(|f| f.kind == Kind::EtcdAlarm && f.node.as_ref() == Some(n.id))
                .map(|f| f.id.clone());
            shared.push(blocker(
                format!("etcd alarm {alarm} is active (reported by {})", n.id),
                finding,
            ));
        }
    }
    let leader_status = fresh.iter().find(|s| Some(s.1.member_id) == leader_id);
    if let Some((_, ls, _)) = leader_status {
        for (n, s, _) in fresh.iter().filter(|s| Some(s.1.member_id) != leader_id) {
            let gap = ls.raft_index.saturating_sub(s.raft_applied_index);
            if gap > MAX_FOLLOWER_LAG {
                shared.push(blocker(
                    format!("follower {} has applied {gap} entries fewer than the leader's index (at most {MAX_FOLLOWER_LAG})", n.id),
                    None,
                ));
            }
        }
    }
    for n in servers {
        let Some(status) = etcd_of(n, false).and_then(|(e, _)| e.status.data()) else {
            continue;
        };
        let listed = newest.1.members.iter().find(|m| m.id == status.member_id);
        let mut mine = shared.clone();
        if status.is_learner || listed.is_some_and(|m| m.is_learner) {
            mine.push(blocker(
                "quorum would be lost: this member is a learner, not yet a voter".to_owned(),
                None,
            ));
        } else if listed.is_none() {
            mine.push(blocker(
                "quorum would be lost: this member is not in the etcd member list".to_owned(),
                None,
            ));
        } else {
            mine.extend(others_rule(n.id, &voters));
        }
        q.blockers.entry(n.id.clone()).or_default().extend(mine);
    }
}

/// The node's newest dqlite data (`fresh` only when it is also the newest thing heard).
fn dqlite_of<'a>(n: &NodeFacts<'a>, fresh: bool) -> Option<(&'a Dqlite, UnixMillis)> {
    let obs = if fresh {
        n.state.datastore.fresh()
    } else {
        n.state.datastore.data.as_ref()
    }?;
    match &obs.value.kind {
        Datastore::Dqlite(d) => d.data().map(|d| (d, obs.at)),
        _ => None,
    }
}

fn dqlite(servers: &[&NodeFacts<'_>], findings: &[&Finding], q: &mut Quorum) {
    let by_id: BTreeMap<u64, &NodeFacts<'_>> = servers
        .iter()
        .filter_map(|n| Some((dqlite_of(n, false)?.0.local.as_ref()?.id, *n)))
        .collect();
    let Some((newest, _)) = servers
        .iter()
        .filter_map(|n| dqlite_of(n, true))
        .max_by_key(|d| d.1)
    else {
        return;
    };
    let voters: Vec<Voter<'_>> = newest
        .members
        .iter()
        .filter(|m| m.role == DqliteRole::Voter)
        .map(|m| {
            let node = by_id.get(&m.id).copied();
            let trouble = match node {
                None => Some((
                    format!("no edgeward agent reports dqlite voter {}", m.address),
                    None,
                )),
                Some(n) => node_trouble(n.id, findings).or_else(|| {
                    dqlite_of(n, true)
                        .is_none()
                        .then(|| ("dqlite state unknown".to_owned(), None))
                }),
            };
            Voter {
                label: format!("dqlite voter {}", m.address),
                node: node.map(|n| n.id),
                trouble,
            }
        })
        .collect();
    if !newest.ha || voters.len() <= 1 {
        return;
    }
    for n in servers {
        if voters.iter().any(|v| v.node == Some(n.id)) {
            let mine = others_rule(n.id, &voters);
            q.blockers.entry(n.id.clone()).or_default().extend(mine);
        }
    }
}

/// Every other voter healthy, and enough of them left for a quorum.
fn others_rule(candidate: &NodeId, voters: &[Voter<'_>]) -> Vec<Blocker> {
    let others: Vec<&Voter<'_>> = voters
        .iter()
        .filter(|v| v.node != Some(candidate))
        .collect();
    let mut out: Vec<Blocker> = others
        .iter()
        .filter_map(|v| {
            let (why, finding) = v.trouble.clone()?;
            let on = v.node.map_or_else(String::new, |n| format!(" on {n}"));
            Some(blocker(
                format!("quorum would be lost: {}{on} is unhealthy ({why})", v.label),
                finding,
            ))
        })
        .collect();
    let n = voters.len();
    let need = n / 2 + 1;
    let left = others.iter().filter(|v| v.trouble.is_none()).count();
    if out.is_empty() && left < need {
        out.push(blocker(
            format!("quorum would be lost: {n} voters need {need}, only {left} would remain"),
            None,
        ));
    }
    out
}

fn blocker(reason: String, finding: Option<FindingId>) -> Blocker {
    Blocker {
        kind: BlockerKind::QuorumWouldBeLost,
        reason,
        finding,
    }
}
