//! The canonical messages of protocol 2, blessed into `proto/golden/v2/`: the synthetic node
//! 42's samples 1000–1005 (1002 is a gap) reworked so that every enum variant occurs and
//! every integer field holds a value near its type's maximum somewhere, so retyping a field
//! (u64 → u32, f32 → f64) or reordering variants changes the bytes. When protocol 3 comes,
//! this becomes frozen test support like `legacy_v1/`.
#![allow(dead_code)]

mod sections;

use edgeward_proto::batch::{Batch, BatchHeader};
use edgeward_proto::datastore::*;
use edgeward_proto::gap::{GapReason, GapRecord};
use edgeward_proto::ident::*;
use edgeward_proto::kubelet::*;
use edgeward_proto::pressure::*;
use edgeward_proto::reply::Reply;
use edgeward_proto::sample::*;
use edgeward_proto::synthetic::SyntheticNode;
use sections::*;

pub fn batch() -> Batch {
    let sim = SyntheticNode::new(42);
    let t0 = 1_763_683_200_000i64; // 2025-11-21T00:00:00Z
    // 1000: the synthetic etcd server, its etcd sections at the extremes.
    let mut s1 = sim.sample(1_000, UnixMillis(t0));
    let Section::Data(d) = &mut s1.datastore else {
        panic!("the synthetic node has a datastore");
    };
    let Datastore::Etcd(e) = &mut d.kind else {
        panic!("the synthetic node runs etcd");
    };
    etcd_extremes(e);
    d.disk_audit = gone(UnavailableReason::Timeout, "fdatasync audit took 30s");

    // 1001: pressure at the extremes with thresholds from a file, kubelet sections each in
    // another state, kine, the synthetic inventory.
    let mut s2 = sim.sample(1_001, UnixMillis(t0 + 15_000));
    s2.pressure = Section::Data(NodePressure {
        memory: Section::Data(Memory {
            total_bytes: u64::MAX,
            available_bytes: 1 << 40,
        }),
        psi: gone(UnavailableReason::NotFound, "/proc/pressure/cpu"),
        filesystems: b(vec![Filesystem {
            role: FsRole::Image,
            path: "/var/snap/microk8s/common/var/lib/containerd".into(),
            total_bytes: u64::MAX,
            available_bytes: u64::MAX - 1,
            inodes_total: 1 << 33,
            inodes_free: 1 << 32,
        }]),
        pids: gone(
            UnavailableReason::PermissionDenied,
            "/proc/sys/kernel/pid_max",
        ),
        load: Load {
            one: f32::MAX,
            five: 0.25,
            fifteen: -0.0,
        },
        uptime_secs: u64::MAX,
        eviction: Section::Data(eviction_from_file()),
    });
    s2.kubelet = Section::Data(KubeletHealth {
        healthz: Section::Data(Healthz::Unhealthy {
            status: u16::MAX,
            body: "[-]syncloop failed".into(),
        }),
        metrics: Section::Data(metrics_unexposed()),
        pods: gone(
            UnavailableReason::Unauthorized,
            "403 from :10250/pods, API server unreachable",
        ),
        scheduling: gone(UnavailableReason::Failed, "/stats/summary: no node stats"),
        configz: gone(UnavailableReason::Disabled, "kubelet.configz = false"),
    });
    s2.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::KineSqlite(Section::Data(sqlite_extremes())),
        disk_audit: Section::Data(DiskAudit {
            path: "/var/lib/rancher/k3s/server/db/.edgeward-audit".into(),
            writes: u32::MAX,
            bytes_per_write: 2_300,
            p50_us: 900,
            p99_us: 25_000,
            max_us: u32::MAX,
        }),
    });
    let mut inventory = sim.inventory();
    // The generator names the crate's version; the golden bytes must not follow it.
    inventory.agent_version = "0.1.0".into();
    s2.inventory = Section::Data(inventory);

    // 1003: K3s default thresholds, the kubelet unreachable, dqlite, a MicroK8s inventory.
    let mut s3 = sim.sample(1_003, UnixMillis(t0 + 45_000));
    if let Section::Data(p) = &mut s3.pressure {
        evaluated_with(p, DefaultsOf::K3s);
    }
    s3.kubelet = gone(UnavailableReason::Unreachable, "127.0.0.1:10248 refused");
    s3.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::Dqlite(Section::Data(dqlite_extremes())),
        disk_audit: gone(UnavailableReason::Skipped, "disk 97% full"),
    });
    s3.inventory = Section::Data(inventory_extremes());

    // 1004: the earliest time, big values, MicroK8s default thresholds, every kubelet section
    // at the extremes, no datastore, a worker of another distribution.
    let mut s4 = sim.sample(1_004, UnixMillis(i64::MIN));
    let line = PsiLine {
        avg10: 1.5,
        avg60: 2.5,
        avg300: 3.5,
        total_us: u64::MAX,
    };
    let mut pressure = NodePressure {
        memory: Section::Data(Memory {
            total_bytes: BIG,
            available_bytes: BIG + 1,
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
        filesystems: Default::default(),
        pids: Section::Data(Pids {
            in_use: BIG,
            limit: u64::MAX,
        }),
        load: Load {
            one: 0.0,
            five: 1e-9,
            fifteen: 1e9,
        },
        uptime_secs: BIG,
        eviction: Section::NotDue { last: None },
    };
    evaluated_with(&mut pressure, DefaultsOf::MicroK8s);
    s4.pressure = Section::Data(pressure);
    s4.kubelet = Section::Data(kubelet_extremes());
    s4.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::None,
        disk_audit: Section::NotDue { last: None },
    });
    s4.inventory = Section::Data(inventory_other_agent());

    // 1005: an external datastore, upstream default thresholds, the rest unavailable.
    let mut s5 = sim.sample(1_005, UnixMillis(t0 + 75_000));
    if let Section::Data(p) = &mut s5.pressure {
        evaluated_with(p, DefaultsOf::Upstream);
    }
    s5.datastore = Section::Data(DatastoreHealth {
        kind: Datastore::External {
            scheme: "postgres".into(),
        },
        disk_audit: Section::NotDue { last: None },
    });
    s5.kubelet = gone(
        UnavailableReason::Unparseable,
        "/pods: expected value at line 1",
    );
    s5.inventory = gone(UnavailableReason::NotApplicable, "");

    Batch {
        header: BatchHeader {
            protocol_version: 2,
            node: NodeId::new("shop-0042.eu-west").unwrap(),
            cluster: Some(
                ClusterId::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                    .unwrap(),
            ),
            agent_version: "0.2.0".into(),
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

/// The canonical replies of protocol 2: the reply did not change, so they are v1's.
pub fn replies() -> Vec<Reply> {
    super::legacy_v1::canonical::replies()
        .into_iter()
        .map(Reply::from)
        .collect()
}
