//! The sections of the canonical protocol-2 batch that go beyond the synthetic node: every
//! variant of the types protocol 2 added, and values near each integer type's maximum.

use edgeward_proto::bounded::Bounded;
use edgeward_proto::datastore::*;
use edgeward_proto::eviction;
use edgeward_proto::ident::*;
use edgeward_proto::inventory::*;
use edgeward_proto::kubelet::*;
use edgeward_proto::pressure::*;
use edgeward_proto::sample::*;

pub fn b<T, const N: usize>(v: Vec<T>) -> Bounded<T, N> {
    Bounded::try_from(v).unwrap()
}

pub fn gone<T>(reason: UnavailableReason, detail: &str) -> Section<T> {
    Section::unavailable(reason, detail)
}

/// Above u32::MAX, so narrowing a u64 field changes the bytes.
pub const BIG: u64 = u32::MAX as u64 + 1;

/// One threshold per signal, both quantity kinds.
pub fn thresholds() -> Vec<Threshold> {
    let t = |signal, value| Threshold { signal, value };
    vec![
        t(Signal::MemoryAvailable, Quantity::Absolute(u64::MAX)),
        t(Signal::NodefsAvailable, Quantity::Percent(f32::MAX)),
        t(Signal::NodefsInodesFree, Quantity::Percent(5.0)),
        t(Signal::ImagefsAvailable, Quantity::Absolute(BIG)),
        t(Signal::ImagefsInodesFree, Quantity::Percent(0.1)),
        t(Signal::PidAvailable, Quantity::Absolute(1_000)),
    ]
}

/// Every condition, both margin signs, measured and unmeasured margins.
pub fn eviction_from_file() -> Eviction {
    let ts = thresholds();
    let m = |i: usize, capacity, available, margin| Margin {
        threshold: ts[i],
        capacity,
        available,
        margin,
    };
    Eviction {
        source: ThresholdSource::File("/etc/rancher/k3s/config.yaml".into()),
        margins: b(vec![
            m(0, Some(u64::MAX), Some(BIG), Some(i64::MIN)),
            m(1, Some(BIG), Some(BIG - 1), Some(i64::MAX)),
            m(3, None, None, None),
            m(5, Some(4_194_304), Some(4_000_000), Some(3_999_000)),
        ]),
        memory_pressure: Condition::Pressure,
        disk_pressure: Condition::Unknown,
        pid_pressure: Condition::Clear,
    }
}

/// Kubelet metrics with every counter and quantile absent.
pub fn metrics_unexposed() -> KubeletMetrics {
    KubeletMetrics {
        version: None,
        pleg_last_seen_age_secs: None,
        pleg_relist_p99_secs: None,
        runtime_operation_errors: None,
        started_pods_errors: None,
        evictions: Bounded::new(),
        client_cert_ttl_secs: None,
        server_cert_ttl_secs: None,
    }
}

/// Every kubelet section as data, at the extremes.
pub fn kubelet_extremes() -> KubeletHealth {
    let r = |cpu_millis, memory_bytes| Resources {
        cpu_millis,
        memory_bytes,
    };
    KubeletHealth {
        healthz: Section::Data(Healthz::Ok),
        metrics: Section::Data(KubeletMetrics {
            version: Some("v1.32.0".into()),
            pleg_last_seen_age_secs: Some(f64::MAX),
            pleg_relist_p99_secs: Some(f64::MIN_POSITIVE),
            runtime_operation_errors: Some(u64::MAX),
            started_pods_errors: Some(BIG),
            evictions: b(vec![
                EvictionCount {
                    signal: "memory.available".into(),
                    count: u64::MAX,
                },
                EvictionCount {
                    signal: "nodefs.available".into(),
                    count: 1,
                },
            ]),
            client_cert_ttl_secs: Some(f64::INFINITY),
            server_cert_ttl_secs: Some(-1.5),
        }),
        pods: Section::Data(Pods {
            phases: PodPhases {
                pending: u32::MAX,
                running: 1,
                succeeded: 2,
                failed: 3,
                unknown: 4,
            },
            qos: QosClasses {
                guaranteed: u32::MAX,
                burstable: u32::MAX - 1,
                best_effort: u32::MAX - 2,
            },
            container_restarts: u64::MAX,
            crash_looping: u32::MAX,
            oom_killed: u32::MAX,
            evicted: u32::MAX,
            troubled: b(vec![
                TroubledContainer {
                    name: "kube-system/coredns-abc/coredns".into(),
                    reason: "CrashLoopBackOff".into(),
                    restarts: u32::MAX,
                },
                TroubledContainer {
                    name: "shop/pos-0/app".into(),
                    reason: "OOMKilled".into(),
                    restarts: 0,
                },
            ]),
        }),
        scheduling: Section::Data(Scheduling {
            capacity: r(u64::MAX, u64::MAX),
            allocatable: r(BIG, BIG + 1),
            requests: r(BIG + 2, BIG + 3),
            limits: r(0, 0),
            usage: r(1, u64::MAX - 1),
        }),
        configz: Section::Data(KubeletConfig {
            eviction_hard: b(thresholds()),
            kube_reserved: r(BIG, u64::MAX),
            system_reserved: r(250, 512 << 20),
            max_pods: Some(u32::MAX),
        }),
    }
}

pub fn sqlite_extremes() -> Sqlite {
    Sqlite {
        current_revision: i64::MAX,
        compacted_revision: i64::MIN,
        db_bytes: 1 << 35,
        wal_bytes: 1 << 34,
        page_size: u64::MAX,
        page_count: u64::MAX - 1,
        freelist_count: BIG,
        quick_check: Section::Data(IntegrityCheck {
            ok: false,
            message: "*** in database main ***\nPage 7: btreeInitPage() returns error code 11"
                .into(),
            duration_ms: u32::MAX,
        }),
    }
}

/// Every etcd field near its maximum, a learner, alarms and errors.
pub fn etcd_extremes(etcd: &mut Etcd) {
    etcd.health = Section::Data(EtcdHealth {
        healthy: false,
        reason: "RAFT NO LEADER".into(),
    });
    etcd.status = Section::Data(EtcdStatus {
        version: "3.5.16".into(),
        member_id: u64::MAX,
        leader_id: 0,
        is_learner: true,
        raft_term: u64::MAX,
        raft_index: u64::MAX - 1,
        raft_applied_index: BIG,
        db_size_bytes: u64::MAX,
        db_size_in_use_bytes: BIG,
        alarms: b(vec!["NOSPACE".into(), "CORRUPT".into()]),
        errors: b(vec!["etcdserver: no leader".into()]),
        members: b(vec![EtcdMember {
            id: u64::MAX,
            name: "shop-0042".into(),
            peer_url: "https://10.0.0.42:2380".into(),
            is_learner: true,
        }]),
    });
    etcd.metrics = Section::Data(EtcdMetrics {
        has_leader: false,
        is_leader: true,
        leader_changes: u64::MAX,
        proposals_failed: u64::MAX,
        proposals_pending: u64::MAX,
        db_size_bytes: BIG,
        db_size_in_use_bytes: BIG,
        quota_bytes: u64::MAX,
        wal_fsync_p99_secs: None,
        backend_commit_p99_secs: Some(f64::MAX),
        peer_rtt_p99_secs: Some(1e-300),
    });
    etcd.snapshots = Section::Data(Snapshots {
        count: u32::MAX,
        newest_at: Some(UnixMillis(i64::MAX)),
        newest_bytes: u64::MAX,
    });
}

pub fn dqlite_extremes() -> Dqlite {
    let member = |address: &str, id, role| DqliteMember {
        address: address.into(),
        id,
        role,
    };
    Dqlite {
        ha: true,
        local: Some(member("10.0.0.1:19001", u64::MAX, DqliteRole::Voter)),
        members: b(vec![
            member("10.0.0.1:19001", u64::MAX, DqliteRole::Voter),
            member("10.0.0.2:19001", 2, DqliteRole::Standby),
            member("10.0.0.3:19001", 3, DqliteRole::Spare),
        ]),
    }
}

/// A MicroK8s inventory with the timestamps and clock at their extremes.
pub fn inventory_extremes() -> Inventory {
    Inventory {
        distro: Distro::MicroK8s,
        distro_version: None,
        kubelet_version: None,
        kernel: "5.15.0-1049-raspi".into(),
        os: "Ubuntu 22.04.4 LTS".into(),
        containerd_version: None,
        agent_version: "0.1.0".into(),
        role: NodeRole::Unknown,
        cluster_identity: gone(
            UnavailableReason::NotFound,
            "/var/snap/microk8s/current/certs/ca.crt",
        ),
        distro_started_at: None,
        certificates: b(vec![Certificate {
            path: "/var/snap/microk8s/current/certs/server.crt".into(),
            subject_cn: "127.0.0.1".into(),
            not_before: UnixMillis(i64::MIN),
            not_after: UnixMillis(i64::MAX),
            is_ca: false,
        }]),
        clock: Section::Data(Clock {
            synchronized: false,
            offset_us: i64::MIN,
            max_error_us: i64::MAX,
            est_error_us: i64::MAX - 1,
            read_at: UnixMillis(i64::MIN),
        }),
        config: b(vec![
            ConfigDigest {
                key: "sysctl:kernel.pid_max".into(),
                sha256: [0xFF; 32],
                value: Some("4194304".into()),
                modified_at: Some(UnixMillis(i64::MAX)),
            },
            ConfigDigest {
                key: "microk8s/args/kubelet".into(),
                sha256: [0; 32],
                value: None,
                modified_at: None,
            },
        ]),
    }
}

/// Re-evaluates `pressure`'s eviction against a distribution's documented defaults.
pub fn evaluated_with(pressure: &mut NodePressure, of: DefaultsOf) {
    pressure.eviction = Section::Data(eviction::evaluate(
        ThresholdSource::Default(of),
        &eviction::defaults(of),
        pressure,
    ));
}

/// A worker of another distribution: the remaining `Distro` and `NodeRole` variants.
pub fn inventory_other_agent() -> Inventory {
    Inventory {
        distro: Distro::Other,
        distro_version: Some("v1.31.0".into()),
        kubelet_version: Some("v1.31.0".into()),
        kernel: String::new(),
        os: String::new(),
        containerd_version: Some("2.0.0".into()),
        agent_version: "0.1.0".into(),
        role: NodeRole::Agent,
        cluster_identity: Section::Data(ClusterIdentity {
            sha256: [0xA5; 32],
            source: "/etc/kubernetes/pki/ca.crt".into(),
        }),
        distro_started_at: Some(UnixMillis(i64::MAX)),
        certificates: Bounded::new(),
        clock: Section::NotDue {
            last: Some(Seq(u64::MAX)),
        },
        config: Bounded::new(),
    }
}
