//! The canonical messages of protocol 1, frozen: exactly what `proto/golden/v1/` was blessed
//! from (the v1 `proto/tests/golden.rs`), built from the v1 types and the frozen v1
//! generator. Do not edit.
//!
//! They use every enum variant of v1 and values near each integer type's maximum.

use super::synthetic::SyntheticNode;
use edgeward_proto::batch::BatchHeader;
use edgeward_proto::bounded::Bounded;
use edgeward_proto::codec::legacy::v1::*;
use edgeward_proto::datastore::{DqliteMember, DqliteRole};
use edgeward_proto::gap::{GapReason, GapRecord};
use edgeward_proto::ident::*;
use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::kubelet::{Healthz, PodPhases};
use edgeward_proto::pressure::{Filesystem, FsRole, Load, Memory, Pids, Psi, PsiLine, PsiResource};
use edgeward_proto::version::ProtocolRange;

fn b<T, const N: usize>(v: Vec<T>) -> Bounded<T, N> {
    Bounded::try_from(v).unwrap()
}

fn gone(reason: UnavailableReason, detail: &str) -> Unavailable {
    Unavailable {
        reason,
        detail: detail.to_owned(),
    }
}

/// The canonical batch of protocol version 1.
pub fn batch() -> Batch {
    let sim = SyntheticNode::new(42);
    let t0 = 1_763_683_200_000i64; // 2025-11-21T00:00:00Z
    let mut s1 = sim.sample(1_000, UnixMillis(t0));
    // Every section state, every healthz state, every datastore kind.
    let mut s2 = sim.sample(1_001, UnixMillis(t0 + 15_000));
    s2.pressure = Section::Data(NodePressure {
        memory: Section::Data(Memory {
            total_bytes: u64::MAX,
            available_bytes: 1 << 40,
        }),
        psi: Section::Unavailable(gone(UnavailableReason::NotFound, "/proc/pressure/cpu")),
        filesystems: b(vec![Filesystem {
            role: FsRole::Image,
            path: "/var/snap/microk8s/common/var/lib/containerd".into(),
            total_bytes: u64::MAX,
            available_bytes: u64::MAX - 1,
            inodes_total: 1 << 33,
            inodes_free: 1 << 32,
        }]),
        pids: Section::Unavailable(gone(
            UnavailableReason::PermissionDenied,
            "/proc/sys/kernel/pid_max",
        )),
        load: Load {
            one: f32::MAX,
            five: 0.25,
            fifteen: -0.0,
        },
        uptime_secs: u64::MAX,
    });
    s2.kubelet = Section::Data(KubeletHealth {
        healthz: Healthz::Unhealthy {
            status: u16::MAX,
            body: "[-]syncloop failed".into(),
        },
        version: None,
        api: Section::Unavailable(gone(
            UnavailableReason::Unauthorized,
            "403 from :10250, API server unreachable",
        )),
    });
    s2.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::KineSqlite(Sqlite {
            current_revision: i64::MAX,
            compacted_revision: i64::MIN,
            db_bytes: 1 << 35,
            wal_bytes: 1 << 34,
            page_count: u64::MAX,
            freelist_count: 3,
            quick_check: Section::Data(false),
        }),
        disk_audit: Section::Data(DiskAudit {
            writes: u32::MAX,
            bytes_per_write: 2_300,
            p50_us: 900,
            p99_us: 25_000,
            max_us: 40_000,
        }),
    });
    s2.inventory = Section::Data(sim.inventory());
    let mut s3 = sim.sample(1_003, UnixMillis(t0 + 45_000));
    s3.pressure = Section::NotDue { last: None };
    s3.kubelet = Section::Unavailable(gone(
        UnavailableReason::Unreachable,
        "127.0.0.1:10248 refused",
    ));
    s3.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::Dqlite(Dqlite {
            ha: true,
            members: b(vec![
                DqliteMember {
                    address: "10.0.0.1:19001".into(),
                    id: u64::MAX,
                    role: DqliteRole::Voter,
                },
                DqliteMember {
                    address: "10.0.0.2:19001".into(),
                    id: 2,
                    role: DqliteRole::Standby,
                },
                DqliteMember {
                    address: "10.0.0.3:19001".into(),
                    id: 3,
                    role: DqliteRole::Spare,
                },
            ]),
        }),
        disk_audit: Section::Unavailable(gone(
            UnavailableReason::Failed,
            "disk 97% full, audit skipped",
        )),
    });
    s3.inventory = Section::Data(Inventory {
        distro: Distro::MicroK8s,
        distro_version: None,
        kubelet_version: None,
        kernel: "5.15.0-1049-raspi".into(),
        os: "Ubuntu 22.04.4 LTS".into(),
        containerd_version: None,
        agent_version: "0.1.0".into(),
        role: NodeRole::Unknown,
        certificates: Bounded::new(),
        clock: Section::Data(Clock {
            synchronized: false,
            offset_us: i64::MIN,
            max_error_us: i64::MAX,
        }),
        config: Bounded::new(),
    });
    let mut s4 = sim.sample(1_004, UnixMillis(i64::MIN));
    s4.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::None,
        disk_audit: Section::NotDue { last: None },
    });
    s4.inventory = Section::Unavailable(gone(UnavailableReason::Timeout, "k3s --version took 5s"));
    // Values above u32::MAX in every u64 field, so narrowing a field changes the bytes.
    let big = u64::from(u32::MAX) + 1;
    let line = PsiLine {
        avg10: 1.5,
        avg60: 2.5,
        avg300: 3.5,
        total_us: u64::MAX,
    };
    s4.pressure = Section::Data(NodePressure {
        memory: Section::Data(Memory {
            total_bytes: big,
            available_bytes: big + 1,
        }),
        psi: Section::Data(Psi {
            cpu: PsiResource {
                some: line,
                full: None,
            },
            memory: PsiResource {
                some: line,
                full: Some(line),
            },
            io: PsiResource {
                some: line,
                full: Some(line),
            },
        }),
        filesystems: Bounded::new(),
        pids: Section::Data(Pids {
            in_use: big,
            limit: u64::MAX,
        }),
        load: Load {
            one: 0.0,
            five: 1e-9,
            fifteen: 1e9,
        },
        uptime_secs: big,
    });
    s4.kubelet = Section::Data(KubeletHealth {
        healthz: Healthz::Ok,
        version: Some("v1.31.4+k3s1".into()),
        api: Section::Data(KubeletApi {
            pods: PodPhases {
                pending: u32::MAX,
                running: 1,
                succeeded: 2,
                failed: 3,
                unknown: 4,
            },
            container_restarts: big,
            crash_looping: u32::MAX,
            oom_killed: u32::MAX,
        }),
    });
    let mut s5 = sim.sample(1_005, UnixMillis(t0 + 75_000));
    s5.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::External,
        disk_audit: Section::NotDue { last: None },
    });
    s5.kubelet = Section::Unavailable(gone(
        UnavailableReason::Unparseable,
        "/pods: expected value at line 1",
    ));
    s5.pressure = Section::Unavailable(gone(UnavailableReason::Disabled, ""));
    s5.inventory = Section::Unavailable(gone(UnavailableReason::NotApplicable, ""));
    if let Section::Data(DatastoreHealth {
        kind: Datastore::Etcd(e),
        ..
    }) = &mut s1.datastore
    {
        e.alarms = b(vec!["NOSPACE".into()]);
        e.leader_changes = u64::MAX;
        e.proposals_failed = u64::MAX;
        e.quota_bytes = u64::MAX;
        e.members = u32::MAX;
        e.wal_fsync_p99_secs = None;
    }
    Batch {
        header: BatchHeader {
            protocol_version: VERSION,
            node: NodeId::new("shop-0042.eu-west").unwrap(),
            cluster: Some(
                ClusterId::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                    .unwrap(),
            ),
            agent_version: "0.1.0".into(),
            boot_id: BootId(*b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10"),
            stream: StreamId(u64::MAX - 7),
            first_seq: Seq(1_000),
            last_seq: Seq(1_005),
            sent_at: UnixMillis(t0 + 90_000),
        },
        samples: b(vec![s1, s2, s3, s4, s5]),
        gaps: b(vec![
            GapRecord {
                stream: StreamId(u64::MAX - 7),
                first_seq: Seq(1_002),
                last_seq: Seq(1_002),
                first_at: Some(UnixMillis(t0 + 30_000)),
                last_at: Some(UnixMillis(t0 + 30_000)),
                count: 1,
                reason: GapReason::RejectedByAggregator,
            },
            GapRecord {
                stream: StreamId(17),
                first_seq: Seq(1),
                last_seq: Seq(u64::MAX),
                first_at: None,
                last_at: None,
                count: u64::MAX,
                reason: GapReason::Corruption,
            },
            GapRecord {
                stream: StreamId(u64::MAX - 7),
                first_seq: Seq(1),
                last_seq: Seq(999),
                first_at: Some(UnixMillis(t0 - 86_400_000)),
                last_at: Some(UnixMillis(t0 - 15_000)),
                count: 999,
                reason: GapReason::SizeBound,
            },
        ]),
    }
}

/// The canonical replies of protocol version 1: one per verdict.
pub fn replies() -> Vec<Reply> {
    let range = ProtocolRange {
        oldest: 1,
        newest: u16::MAX,
    };
    let ack = |s, q| StreamAck {
        stream: StreamId(s),
        acked_through: Seq(q),
    };
    vec![
        Reply {
            verdict: Verdict::Accepted,
            acks: b(vec![ack(u64::MAX - 7, 1_005), ack(17, u64::MAX)]),
            retry_after_ms: None,
            protocol: range,
        },
        Reply {
            verdict: Verdict::RetryLater {
                detail: "store busy".into(),
            },
            acks: Bounded::new(),
            retry_after_ms: Some(u32::MAX),
            protocol: range,
        },
        Reply {
            verdict: Verdict::Rejected {
                reason: RejectReason::Malformed,
                detail: "invalid batch".into(),
            },
            acks: Bounded::new(),
            retry_after_ms: None,
            protocol: range,
        },
        Reply {
            verdict: Verdict::Rejected {
                reason: RejectReason::TooLarge,
                detail: String::new(),
            },
            acks: Bounded::new(),
            retry_after_ms: None,
            protocol: range,
        },
        Reply {
            verdict: Verdict::Rejected {
                reason: RejectReason::Unauthenticated,
                detail: String::new(),
            },
            acks: Bounded::new(),
            retry_after_ms: None,
            protocol: range,
        },
        Reply {
            verdict: Verdict::Rejected {
                reason: RejectReason::IdentityMismatch,
                detail: String::new(),
            },
            acks: Bounded::new(),
            retry_after_ms: None,
            protocol: range,
        },
    ]
}
