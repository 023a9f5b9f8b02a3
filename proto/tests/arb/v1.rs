//! Strategies for the frozen protocol-1 types (`edgeward_proto::codec::legacy::v1`): what a
//! v1 agent can send, every v1 variant included and nothing v1 did not have.

use super::node::{filesystem, healthz, load, memory, phases, pids, psi};
use super::store::{distro, dqlite_member, role, versions};
use super::{batch_parts, bounded, float, millis, text};
use edgeward_proto::bounded::Bounded;
use edgeward_proto::codec::legacy::v1::*;
use edgeward_proto::ident::Seq;
use proptest::option;
use proptest::prelude::*;

pub fn unavailable() -> impl Strategy<Value = Unavailable> {
    use UnavailableReason::*;
    let reason = prop_oneof![
        Just(Disabled),
        Just(NotApplicable),
        Just(NotFound),
        Just(PermissionDenied),
        Just(Unreachable),
        Just(Timeout),
        Just(Unauthorized),
        Just(Unparseable),
        Just(Failed),
    ];
    (reason, text()).prop_map(|(reason, detail)| Unavailable { reason, detail })
}

pub fn section<T: Clone + std::fmt::Debug + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Section<T>> {
    prop_oneof![
        s.prop_map(Section::Data),
        unavailable().prop_map(Section::Unavailable),
        option::of(any::<u64>().prop_map(Seq)).prop_map(|last| Section::NotDue { last }),
    ]
    .boxed()
}

pub fn pressure() -> BoxedStrategy<NodePressure> {
    (
        section(memory()),
        section(psi()),
        bounded(filesystem(), 4),
        section(pids()),
        load(),
        any::<u64>(),
    )
        .prop_map(
            |(memory, psi, filesystems, pids, load, uptime_secs)| NodePressure {
                memory,
                psi,
                filesystems,
                pids,
                load,
                uptime_secs,
            },
        )
        .boxed()
}

pub fn kubelet() -> BoxedStrategy<KubeletHealth> {
    let api = (phases(), any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
        |(pods, container_restarts, crash_looping, oom_killed)| KubeletApi {
            pods,
            container_restarts,
            crash_looping,
            oom_killed,
        },
    );
    (healthz(), option::of(text()), section(api))
        .prop_map(|(healthz, version, api)| KubeletHealth {
            healthz,
            version,
            api,
        })
        .boxed()
}

pub fn datastore() -> BoxedStrategy<DatastoreHealth> {
    let sqlite = (any::<[i64; 2]>(), any::<[u64; 4]>(), section(any::<bool>())).prop_map(
        |(r, n, quick_check)| Sqlite {
            current_revision: r[0],
            compacted_revision: r[1],
            db_bytes: n[0],
            wal_bytes: n[1],
            page_count: n[2],
            freelist_count: n[3],
            quick_check,
        },
    );
    let etcd = (
        any::<[bool; 3]>(),
        any::<[u64; 5]>(),
        option::of(float()),
        option::of(float()),
        any::<u32>(),
        bounded(text(), 3),
    )
        .prop_map(|(b, n, wal, commit, members, alarms)| Etcd {
            healthy: b[0],
            has_leader: b[1],
            is_leader: b[2],
            leader_changes: n[0],
            proposals_failed: n[1],
            db_size_bytes: n[2],
            db_in_use_bytes: n[3],
            quota_bytes: n[4],
            wal_fsync_p99_secs: wal,
            backend_commit_p99_secs: commit,
            members,
            alarms,
        });
    let dqlite = (any::<bool>(), bounded(dqlite_member(), 5))
        .prop_map(|(ha, members)| Dqlite { ha, members });
    let kind = prop_oneof![
        Just(Datastore::None),
        Just(Datastore::External),
        sqlite.prop_map(Datastore::KineSqlite),
        etcd.prop_map(Datastore::Etcd),
        dqlite.prop_map(Datastore::Dqlite),
    ];
    let audit = any::<[u32; 5]>().prop_map(|n| DiskAudit {
        writes: n[0],
        bytes_per_write: n[1],
        p50_us: n[2],
        p99_us: n[3],
        max_us: n[4],
    });
    (kind, section(audit))
        .prop_map(|(kind, disk_audit)| DatastoreHealth { kind, disk_audit })
        .boxed()
}

pub fn inventory() -> BoxedStrategy<Inventory> {
    let cert = (text(), millis(), any::<bool>()).prop_map(|(path, not_after, is_ca)| Certificate {
        path,
        not_after,
        is_ca,
    });
    let clock = (any::<bool>(), any::<i64>(), any::<i64>()).prop_map(
        |(synchronized, offset_us, max_error_us)| Clock {
            synchronized,
            offset_us,
            max_error_us,
        },
    );
    let digest = (text(), any::<[u8; 32]>()).prop_map(|(key, sha256)| ConfigDigest { key, sha256 });
    (
        distro(),
        versions(),
        role(),
        bounded(cert, 4),
        section(clock),
        bounded(digest, 4),
    )
        .prop_map(|(distro, v, role, certificates, clock, config)| Inventory {
            distro,
            distro_version: v.0,
            kubelet_version: v.1,
            kernel: v.2,
            os: v.3,
            containerd_version: v.4,
            agent_version: v.5,
            role,
            certificates,
            clock,
            config,
        })
        .boxed()
}

pub fn sample_at(seq: u64) -> BoxedStrategy<Sample> {
    (
        millis(),
        section(pressure()),
        section(kubelet()),
        section(datastore()),
        section(inventory()),
    )
        .prop_map(
            move |(at, pressure, kubelet, datastore, inventory)| Sample {
                seq: Seq(seq),
                at,
                pressure,
                kubelet,
                datastore,
                inventory,
            },
        )
        .boxed()
}

/// A valid batch as a v1 agent would send it.
pub fn batch() -> impl Strategy<Value = Batch> {
    batch_parts(VERSION, sample_at).prop_map(|(header, samples, gaps)| Batch {
        header,
        samples: Bounded::try_from(samples).unwrap(),
        gaps: Bounded::try_from(gaps).unwrap(),
    })
}

pub fn reply() -> impl Strategy<Value = Reply> {
    super::reply().prop_map(|r| Reply::from(&r))
}
