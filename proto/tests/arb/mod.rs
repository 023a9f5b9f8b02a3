//! proptest strategies for every wire type, shared by the round-trip and hostile-input tests.
#![allow(dead_code)]

use edgeward_proto::batch::{Batch, BatchHeader};
use edgeward_proto::bounded::Bounded;
use edgeward_proto::datastore::*;
use edgeward_proto::gap::{GapReason, GapRecord};
use edgeward_proto::ident::*;
use edgeward_proto::inventory::*;
use edgeward_proto::kubelet::*;
use edgeward_proto::pressure::*;
use edgeward_proto::reply::{RejectReason, Reply, StreamAck, Verdict};
use edgeward_proto::sample::*;
use edgeward_proto::version::ProtocolRange;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._:+-]{0,24}"
}

pub fn float() -> impl Strategy<Value = f32> {
    (0u32..10_000_000).prop_map(|x| x as f32 / 1000.0)
}

fn bounded<T: std::fmt::Debug, const N: usize>(
    s: impl Strategy<Value = T>,
    max: usize,
) -> impl Strategy<Value = Bounded<T, N>> {
    vec(s, 0..=max.min(N)).prop_map(|v| Bounded::try_from(v).unwrap())
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,2}"
        .prop_map(|s| NodeId::new(s).unwrap())
}

pub fn cluster_id() -> impl Strategy<Value = ClusterId> {
    "[A-Za-z0-9._:-]{1,64}".prop_map(|s| ClusterId::new(s).unwrap())
}

pub fn millis() -> impl Strategy<Value = UnixMillis> {
    any::<i64>().prop_map(UnixMillis)
}

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
        Just(Failed)
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

fn psi_line() -> impl Strategy<Value = PsiLine> {
    (float(), float(), float(), any::<u64>()).prop_map(|(avg10, avg60, avg300, total_us)| PsiLine {
        avg10,
        avg60,
        avg300,
        total_us,
    })
}

fn psi_resource() -> impl Strategy<Value = PsiResource> {
    (psi_line(), option::of(psi_line())).prop_map(|(some, full)| PsiResource { some, full })
}

pub fn pressure() -> BoxedStrategy<NodePressure> {
    let memory = (any::<u64>(), any::<u64>()).prop_map(|(total_bytes, available_bytes)| Memory {
        total_bytes,
        available_bytes,
    });
    let psi = (psi_resource(), psi_resource(), psi_resource()).prop_map(|(cpu, memory, io)| Psi {
        cpu,
        memory,
        io,
    });
    let role = prop_oneof![
        Just(FsRole::Node),
        Just(FsRole::Image),
        Just(FsRole::Datastore)
    ];
    let fs = (role, text(), any::<[u64; 4]>()).prop_map(|(role, path, n)| Filesystem {
        role,
        path,
        total_bytes: n[0],
        available_bytes: n[1],
        inodes_total: n[2],
        inodes_free: n[3],
    });
    let pids = (any::<u64>(), any::<u64>()).prop_map(|(in_use, limit)| Pids { in_use, limit });
    let load =
        (float(), float(), float()).prop_map(|(one, five, fifteen)| Load { one, five, fifteen });
    (
        section(memory),
        section(psi),
        bounded(fs, 4),
        section(pids),
        load,
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
    let healthz = prop_oneof![
        Just(Healthz::Ok),
        (any::<u16>(), text()).prop_map(|(status, body)| Healthz::Unhealthy { status, body })
    ];
    let phases = any::<[u32; 5]>().prop_map(|p| PodPhases {
        pending: p[0],
        running: p[1],
        succeeded: p[2],
        failed: p[3],
        unknown: p[4],
    });
    let api = (phases, any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
        |(pods, container_restarts, crash_looping, oom_killed)| KubeletApi {
            pods,
            container_restarts,
            crash_looping,
            oom_killed,
        },
    );
    (healthz, option::of(text()), section(api))
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
    let role = prop_oneof![
        Just(DqliteRole::Voter),
        Just(DqliteRole::Standby),
        Just(DqliteRole::Spare)
    ];
    let member = (text(), any::<u64>(), role).prop_map(|(address, id, role)| DqliteMember {
        address,
        id,
        role,
    });
    let dqlite =
        (any::<bool>(), bounded(member, 5)).prop_map(|(ha, members)| Dqlite { ha, members });
    let kind = prop_oneof![
        Just(Datastore::None),
        Just(Datastore::External),
        sqlite.prop_map(Datastore::KineSqlite),
        etcd.prop_map(Datastore::Etcd),
        dqlite.prop_map(Datastore::Dqlite),
    ];
    let audit = (any::<[u32; 5]>()).prop_map(|n| DiskAudit {
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
    let distro = prop_oneof![
        Just(Distro::K3s),
        Just(Distro::MicroK8s),
        Just(Distro::Other)
    ];
    let role = prop_oneof![
        Just(NodeRole::Server),
        Just(NodeRole::Agent),
        Just(NodeRole::Unknown)
    ];
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
    let versions = (
        option::of(text()),
        option::of(text()),
        text(),
        text(),
        option::of(text()),
        text(),
    );
    (
        distro,
        versions,
        role,
        bounded(cert, 4),
        section(clock),
        bounded(digest, 4),
    )
        .prop_map(
            |(
                distro,
                (distro_version, kubelet_version, kernel, os, containerd_version, agent_version),
                role,
                certificates,
                clock,
                config,
            )| {
                Inventory {
                    distro,
                    distro_version,
                    kubelet_version,
                    kernel,
                    os,
                    containerd_version,
                    agent_version,
                    role,
                    certificates,
                    clock,
                    config,
                }
            },
        )
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

pub fn sample() -> impl Strategy<Value = Sample> {
    any::<u64>().prop_flat_map(sample_at)
}

pub fn gap_reason() -> impl Strategy<Value = GapReason> {
    prop_oneof![
        Just(GapReason::SizeBound),
        Just(GapReason::Corruption),
        Just(GapReason::RejectedByAggregator)
    ]
}

/// A gap record in `stream` covering `first..=last` (count within the range).
pub fn gap_in(stream: StreamId, first: u64, last: u64) -> impl Strategy<Value = GapRecord> {
    (
        1..=last - first + 1,
        option::of(millis()),
        option::of(millis()),
        gap_reason(),
    )
        .prop_map(move |(count, first_at, last_at, reason)| GapRecord {
            stream,
            first_seq: Seq(first),
            last_seq: Seq(last),
            first_at,
            last_at,
            count,
            reason,
        })
}

/// A valid batch: `n_samples` samples with increasing seqs from `first`, then one gap record
/// of this stream after them and one of an older stream.
pub fn batch() -> impl Strategy<Value = Batch> {
    (
        0u64..1 << 40,
        0usize..6,
        any::<bool>(),
        any::<u64>().prop_map(StreamId),
    )
        .prop_flat_map(|(first, n, with_gap, stream)| {
            let samples = (0..n)
                .map(|i| sample_at(first + 2 * i as u64))
                .collect::<Vec<_>>();
            let after = first + 2 * n as u64;
            let gaps = if with_gap || n == 0 {
                vec![
                    gap_in(stream, after, after + 9).boxed(),
                    gap_in(StreamId(stream.0 ^ 1), 1, 50).boxed(),
                ]
            } else {
                vec![]
            };
            let last = if with_gap || n == 0 {
                after + 9
            } else {
                after.saturating_sub(2)
            };
            let header = (
                node_id(),
                option::of(cluster_id()),
                text(),
                any::<[u8; 16]>(),
                millis(),
            )
                .prop_map(
                    move |(node, cluster, agent_version, boot, sent_at)| BatchHeader {
                        protocol_version: edgeward_proto::PROTOCOL_VERSION,
                        node,
                        cluster,
                        agent_version,
                        boot_id: BootId(boot),
                        stream,
                        first_seq: Seq(first),
                        last_seq: Seq(last),
                        sent_at,
                    },
                );
            (header, samples, gaps).prop_map(|(header, samples, gaps)| Batch {
                header,
                samples: Bounded::try_from(samples).unwrap(),
                gaps: Bounded::try_from(gaps).unwrap(),
            })
        })
}

pub fn reply() -> impl Strategy<Value = Reply> {
    let reason = prop_oneof![
        Just(RejectReason::Malformed),
        Just(RejectReason::TooLarge),
        Just(RejectReason::Unauthenticated),
        Just(RejectReason::IdentityMismatch)
    ];
    let verdict = prop_oneof![
        Just(Verdict::Accepted),
        text().prop_map(|detail| Verdict::RetryLater { detail }),
        (reason, text()).prop_map(|(reason, detail)| Verdict::Rejected { reason, detail }),
    ];
    let ack = (any::<u64>(), any::<u64>()).prop_map(|(s, q)| StreamAck {
        stream: StreamId(s),
        acked_through: Seq(q),
    });
    let range = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| ProtocolRange {
        oldest: a.min(b),
        newest: a.max(b),
    });
    (verdict, bounded(ack, 4), option::of(any::<u32>()), range).prop_map(
        |(verdict, acks, retry_after_ms, protocol)| Reply {
            verdict,
            acks,
            retry_after_ms,
            protocol,
        },
    )
}
