//! Strategies for the datastore and inventory sections. The pieces protocol 1 shares
//! (dqlite members, distro, role) are public for [`super::v1`].

use super::{bounded, float64, millis, section, text};
use edgeward_proto::datastore::*;
use edgeward_proto::inventory::*;
use proptest::option;
use proptest::prelude::*;

fn sqlite() -> impl Strategy<Value = Sqlite> {
    let check = (any::<bool>(), text(), any::<u32>()).prop_map(|(ok, message, duration_ms)| {
        IntegrityCheck {
            ok,
            message,
            duration_ms,
        }
    });
    (any::<[i64; 2]>(), any::<[u64; 5]>(), section(check)).prop_map(|(r, n, quick_check)| Sqlite {
        current_revision: r[0],
        compacted_revision: r[1],
        db_bytes: n[0],
        wal_bytes: n[1],
        page_size: n[2],
        page_count: n[3],
        freelist_count: n[4],
        quick_check,
    })
}

fn etcd_status() -> impl Strategy<Value = EtcdStatus> {
    let member = (any::<u64>(), text(), text(), any::<bool>()).prop_map(
        |(id, name, peer_url, is_learner)| EtcdMember {
            id,
            name,
            peer_url,
            is_learner,
        },
    );
    (
        text(),
        any::<[u64; 7]>(),
        any::<bool>(),
        bounded(text(), 3),
        bounded(text(), 3),
        bounded(member, 3),
    )
        .prop_map(
            |(version, n, is_learner, alarms, errors, members)| EtcdStatus {
                version,
                member_id: n[0],
                leader_id: n[1],
                is_learner,
                raft_term: n[2],
                raft_index: n[3],
                raft_applied_index: n[4],
                db_size_bytes: n[5],
                db_size_in_use_bytes: n[6],
                alarms,
                errors,
                members,
            },
        )
}

fn etcd_metrics() -> impl Strategy<Value = EtcdMetrics> {
    (
        any::<[bool; 2]>(),
        any::<[u64; 6]>(),
        option::of(float64()),
        option::of(float64()),
        option::of(float64()),
    )
        .prop_map(|(b, n, wal, commit, rtt)| EtcdMetrics {
            has_leader: b[0],
            is_leader: b[1],
            leader_changes: n[0],
            proposals_failed: n[1],
            proposals_pending: n[2],
            db_size_bytes: n[3],
            db_size_in_use_bytes: n[4],
            quota_bytes: n[5],
            wal_fsync_p99_secs: wal,
            backend_commit_p99_secs: commit,
            peer_rtt_p99_secs: rtt,
        })
}

fn etcd() -> impl Strategy<Value = Etcd> {
    let health =
        (any::<bool>(), text()).prop_map(|(healthy, reason)| EtcdHealth { healthy, reason });
    let snapshots = (any::<u32>(), option::of(millis()), any::<u64>()).prop_map(
        |(count, newest_at, newest_bytes)| Snapshots {
            count,
            newest_at,
            newest_bytes,
        },
    );
    (
        section(health),
        section(etcd_status()),
        section(etcd_metrics()),
        section(snapshots),
    )
        .prop_map(|(health, status, metrics, snapshots)| Etcd {
            health,
            status,
            metrics,
            snapshots,
        })
}

pub fn dqlite_member() -> impl Strategy<Value = DqliteMember> {
    let role = prop_oneof![
        Just(DqliteRole::Voter),
        Just(DqliteRole::Standby),
        Just(DqliteRole::Spare)
    ];
    (text(), any::<u64>(), role).prop_map(|(address, id, role)| DqliteMember { address, id, role })
}

fn disk_audit() -> impl Strategy<Value = DiskAudit> {
    (text(), any::<[u32; 5]>()).prop_map(|(path, n)| DiskAudit {
        path,
        writes: n[0],
        bytes_per_write: n[1],
        p50_us: n[2],
        p99_us: n[3],
        max_us: n[4],
    })
}

pub fn datastore() -> BoxedStrategy<DatastoreHealth> {
    let dqlite = (
        any::<bool>(),
        option::of(dqlite_member()),
        bounded(dqlite_member(), 5),
    )
        .prop_map(|(ha, local, members)| Dqlite { ha, local, members });
    let kind = prop_oneof![
        Just(Datastore::None),
        text().prop_map(|scheme| Datastore::External { scheme }),
        section(sqlite()).prop_map(Datastore::KineSqlite),
        etcd().prop_map(|e| Datastore::Etcd(Box::new(e))),
        section(dqlite).prop_map(Datastore::Dqlite),
    ];
    (kind, section(disk_audit()))
        .prop_map(|(kind, disk_audit)| DatastoreHealth { kind, disk_audit })
        .boxed()
}

pub fn distro() -> impl Strategy<Value = Distro> {
    prop_oneof![
        Just(Distro::K3s),
        Just(Distro::MicroK8s),
        Just(Distro::Other)
    ]
}

pub fn role() -> impl Strategy<Value = NodeRole> {
    prop_oneof![
        Just(NodeRole::Server),
        Just(NodeRole::Agent),
        Just(NodeRole::Unknown)
    ]
}

/// Versions and names: distro, kubelet, kernel, os, containerd, agent.
pub type Versions = (
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
);

pub fn versions() -> impl Strategy<Value = Versions> {
    (
        option::of(text()),
        option::of(text()),
        text(),
        text(),
        option::of(text()),
        text(),
    )
}

pub fn inventory() -> BoxedStrategy<Inventory> {
    let identity =
        (any::<[u8; 32]>(), text()).prop_map(|(sha256, source)| ClusterIdentity { sha256, source });
    let cert = (text(), text(), millis(), millis(), any::<bool>()).prop_map(
        |(path, subject_cn, not_before, not_after, is_ca)| Certificate {
            path,
            subject_cn,
            not_before,
            not_after,
            is_ca,
        },
    );
    let clock =
        (any::<bool>(), any::<[i64; 3]>(), millis()).prop_map(|(synchronized, n, read_at)| Clock {
            synchronized,
            offset_us: n[0],
            max_error_us: n[1],
            est_error_us: n[2],
            read_at,
        });
    let digest = (
        text(),
        any::<[u8; 32]>(),
        option::of(text()),
        option::of(millis()),
    )
        .prop_map(|(key, sha256, value, modified_at)| ConfigDigest {
            key,
            sha256,
            value,
            modified_at,
        });
    (
        (distro(), versions(), role()),
        section(identity),
        option::of(millis()),
        bounded(cert, 4),
        section(clock),
        bounded(digest, 4),
    )
        .prop_map(
            |(
                (distro, v, role),
                cluster_identity,
                distro_started_at,
                certificates,
                clock,
                config,
            )| Inventory {
                distro,
                distro_version: v.0,
                kubelet_version: v.1,
                kernel: v.2,
                os: v.3,
                containerd_version: v.4,
                agent_version: v.5,
                role,
                cluster_identity,
                distro_started_at,
                certificates,
                clock,
                config,
            },
        )
        .boxed()
}
