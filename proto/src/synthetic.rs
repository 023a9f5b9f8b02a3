//! Deterministic synthetic samples: what a simulated node ships, and the "typical sample" the
//! benchmarks measure. Values drift like a real K3s server node's would (counters grow,
//! gauges wander), so compression figures are not flattered by identical samples.
//!
//! Same inputs, same output: no clock, no randomness from outside.
//!
//! The golden frames of the current protocol (`proto/golden/v2/`) embed
//! `SyntheticNode::new(42)`'s samples 1000–1005 and inventory. Changing the values generated
//! here fails `proto/tests/golden.rs`: give that test a frozen copy of the old generator rather
//! than re-blessing a released version's files (v1's frozen copy is in `proto/tests/legacy_v1`).

use crate::batch::{Batch, BatchHeader};
use crate::bounded::Bounded;
use crate::datastore::{
    Datastore, DatastoreHealth, Etcd, EtcdHealth, EtcdMember, EtcdMetrics, EtcdStatus, Snapshots,
};
use crate::eviction;
use crate::ident::{BootId, ClusterId, NodeId, Seq, StreamId, UnixMillis};
use crate::inventory::{
    Certificate, Clock, ClusterIdentity, ConfigDigest, Distro, Inventory, NodeRole,
};
use crate::kubelet::{
    Healthz, KubeletConfig, KubeletHealth, KubeletMetrics, PodPhases, Pods, QosClasses, Resources,
    Scheduling,
};
use crate::pressure::{
    DefaultsOf, Filesystem, FsRole, Load, Memory, NodePressure, Pids, Psi, PsiLine, PsiResource,
    ThresholdSource,
};
use crate::sample::{Sample, Section};

/// A simulated node: its identity and the seed its values derive from.
#[derive(Debug, Clone)]
pub struct SyntheticNode {
    pub node: NodeId,
    pub cluster: ClusterId,
    pub boot_id: BootId,
    pub stream: StreamId,
    seed: u64,
    /// Shared by the nodes of one cluster (etcd members, cluster identity).
    cluster_seed: u64,
}

/// splitmix64: a tiny, well-distributed deterministic generator.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in `0.0..1.0` for (seed, seq, slot).
fn unit(seed: u64, seq: u64, slot: u64) -> f64 {
    (mix(seed ^ mix(seq ^ mix(slot))) >> 11) as f64 / (1u64 << 53) as f64
}

impl SyntheticNode {
    /// Node `index` of a simulated fleet; every fourth node is in its own cluster.
    pub fn new(index: u32) -> Self {
        let seed = mix(u64::from(index));
        // Invariant: these formats always give valid identities (lowercase alphanumerics and
        // '-', far below the length limits); the unit test below checks the extremes.
        #[allow(clippy::expect_used)]
        let node = NodeId::new(format!("sim-node-{index:05}")).expect("valid node name");
        #[allow(clippy::expect_used)]
        let cluster =
            ClusterId::new(format!("sim-cluster-{:04}", index / 4)).expect("valid cluster id");
        let mut boot = [0u8; 16];
        boot[..8].copy_from_slice(&seed.to_le_bytes());
        boot[8..].copy_from_slice(&mix(seed).to_le_bytes());
        Self {
            node,
            cluster,
            boot_id: BootId(boot),
            stream: StreamId(mix(seed ^ 1)),
            seed,
            cluster_seed: mix(u64::from(index / 4) ^ 0xC1),
        }
    }

    /// The sample with sequence number `seq`, taken at `at`. Inventory and the disk audit
    /// are `NotDue`, as in the steady state.
    pub fn sample(&self, seq: u64, at: UnixMillis) -> Sample {
        let u = |slot| unit(self.seed, seq, slot);
        let total_mem = 8u64 << 30;
        let psi = |base: f64, slot: u64| PsiResource {
            some: PsiLine {
                avg10: (base * u(slot)) as f32,
                avg60: (base * 0.8 * u(slot + 1)) as f32,
                avg300: (base * 0.6) as f32,
                total_us: seq * 150_000 + (u(slot + 2) * 1e5) as u64,
            },
            full: Some(PsiLine {
                avg10: 0.0,
                avg60: 0.0,
                avg300: 0.0,
                total_us: seq * 9_000,
            }),
        };
        let fs = |role, path: &str, total: u64, used_frac: f64| Filesystem {
            role,
            path: path.to_owned(),
            total_bytes: total,
            available_bytes: (total as f64 * (1.0 - used_frac)) as u64 & !0xFFF,
            inodes_total: total / 16_384,
            inodes_free: (total as f64 / 16_384.0 * (0.9 - used_frac / 4.0)) as u64,
        };
        let pressure = NodePressure {
            memory: Section::Data(Memory {
                total_bytes: total_mem,
                available_bytes: (total_mem as f64 * (0.35 + 0.1 * u(1))) as u64 & !0xFFF,
            }),
            psi: Section::Data(Psi {
                cpu: psi(4.0, 10),
                memory: psi(0.5, 20),
                io: psi(2.0, 30),
            }),
            filesystems: bounded(vec![
                fs(
                    FsRole::Node,
                    "/var/lib/kubelet",
                    64 << 30,
                    0.42 + 0.01 * u(2),
                ),
                fs(
                    FsRole::Image,
                    "/var/lib/rancher/k3s/agent/containerd",
                    64 << 30,
                    0.42 + 0.01 * u(2),
                ),
                fs(
                    FsRole::Datastore,
                    "/var/lib/rancher/k3s/server/db",
                    64 << 30,
                    0.42 + 0.01 * u(2),
                ),
            ]),
            pids: Section::Data(Pids {
                in_use: 400 + (u(3) * 40.0) as u64,
                limit: 4_194_304,
            }),
            load: Load {
                one: (0.5 + u(4)) as f32,
                five: (0.6 + u(5) * 0.5) as f32,
                fifteen: 0.7,
            },
            uptime_secs: 86_400 + seq * 15,
            eviction: Section::NotDue { last: None },
        };
        let thresholds = eviction::defaults(DefaultsOf::Upstream);
        let mut pressure = pressure;
        pressure.eviction = Section::Data(eviction::evaluate(
            ThresholdSource::Configz,
            &thresholds,
            &pressure,
        ));
        let cpu_cores = 4u64;
        let kubelet = KubeletHealth {
            healthz: Section::Data(Healthz::Ok),
            metrics: Section::Data(KubeletMetrics {
                version: Some("v1.31.4+k3s1".to_owned()),
                pleg_last_seen_age_secs: Some(0.5 + u(11)),
                pleg_relist_p99_secs: Some(0.02 + 0.01 * u(12)),
                runtime_operation_errors: Some(3),
                started_pods_errors: Some(0),
                evictions: Bounded::new(),
                client_cert_ttl_secs: Some(200.0 * 86_400.0),
                server_cert_ttl_secs: Some(300.0 * 86_400.0),
            }),
            pods: Section::Data(Pods {
                phases: PodPhases {
                    pending: 0,
                    running: 23,
                    succeeded: 2,
                    failed: 0,
                    unknown: 0,
                },
                qos: QosClasses {
                    guaranteed: 2,
                    burstable: 15,
                    best_effort: 8,
                },
                container_restarts: 7 + seq / 1_000,
                crash_looping: 0,
                oom_killed: 0,
                evicted: 0,
                troubled: Bounded::new(),
            }),
            scheduling: Section::Data(Scheduling {
                capacity: Resources {
                    cpu_millis: cpu_cores * 1000,
                    memory_bytes: total_mem,
                },
                allocatable: Resources {
                    cpu_millis: cpu_cores * 1000,
                    memory_bytes: total_mem - (100 << 20),
                },
                requests: Resources {
                    cpu_millis: 2_350,
                    memory_bytes: 3 << 30,
                },
                limits: Resources {
                    cpu_millis: 6_000,
                    memory_bytes: 9 << 30,
                },
                usage: Resources {
                    cpu_millis: 300 + (u(13) * 400.0) as u64,
                    memory_bytes: (total_mem as f64 * (0.5 + 0.1 * u(1))) as u64 & !0xFFF,
                },
            }),
            configz: Section::Data(KubeletConfig {
                eviction_hard: bounded(thresholds),
                kube_reserved: Resources::default(),
                system_reserved: Resources::default(),
                max_pods: Some(110),
            }),
        };
        let db = 180u64 << 20;
        let member = |i: u64| EtcdMember {
            id: mix(self.cluster_seed ^ i),
            name: format!("sim-server-{i}"),
            peer_url: format!("https://10.0.0.{}:2380", 10 + i),
            is_learner: false,
        };
        let datastore = DatastoreHealth {
            kind: Datastore::Etcd(Box::new(Etcd {
                health: Section::Data(EtcdHealth {
                    healthy: true,
                    reason: String::new(),
                }),
                status: Section::Data(EtcdStatus {
                    version: "3.5.16".to_owned(),
                    member_id: mix(self.cluster_seed ^ (self.seed % 3)),
                    leader_id: mix(self.cluster_seed),
                    is_learner: false,
                    raft_term: 7,
                    raft_index: 100_000 + seq * 12,
                    raft_applied_index: 100_000 + seq * 12,
                    db_size_bytes: db,
                    db_size_in_use_bytes: (db as f64 * (0.6 + 0.05 * u(6))) as u64,
                    alarms: Bounded::new(),
                    errors: Bounded::new(),
                    members: bounded((0..3).map(member).collect()),
                }),
                metrics: Section::Data(EtcdMetrics {
                    has_leader: true,
                    is_leader: self.seed.is_multiple_of(3),
                    leader_changes: 2,
                    proposals_failed: 0,
                    proposals_pending: 0,
                    db_size_bytes: db,
                    db_size_in_use_bytes: (db as f64 * (0.6 + 0.05 * u(6))) as u64,
                    quota_bytes: 2 << 30,
                    wal_fsync_p99_secs: Some(0.004 + 0.004 * u(7)),
                    backend_commit_p99_secs: Some(0.010 + 0.01 * u(8)),
                    peer_rtt_p99_secs: Some(0.001 + 0.002 * u(9)),
                }),
                snapshots: Section::Data(Snapshots {
                    count: 5,
                    newest_at: Some(UnixMillis(at.0 - at.0 % 43_200_000)),
                    newest_bytes: db,
                }),
            })),
            disk_audit: Section::NotDue {
                last: Some(Seq(seq - seq % 40)),
            },
        };
        Sample {
            seq: Seq(seq),
            at,
            pressure: Section::Data(pressure),
            kubelet: Section::Data(kubelet),
            datastore: Section::Data(datastore),
            inventory: Section::NotDue {
                last: Some(Seq(seq - seq % 960)),
            },
        }
    }

    /// The node's inventory, as shipped when it changes (every few hours otherwise).
    pub fn inventory(&self) -> Inventory {
        let digest = |key: &str| {
            let mut d = [0u8; 32];
            for (i, chunk) in d.chunks_mut(8).enumerate() {
                let h = mix((self.cluster_seed)
                    ^ mix(key.len() as u64 ^ key.bytes().map(u64::from).sum::<u64>() ^ i as u64));
                chunk.copy_from_slice(&h.to_le_bytes());
            }
            ConfigDigest {
                key: key.to_owned(),
                sha256: d,
                value: key.strip_prefix("sysctl:").map(|_| "1".to_owned()),
                modified_at: Some(UnixMillis(1_760_000_000_000)),
            }
        };
        let keys = [
            "k3s/config.yaml:cluster-cidr",
            "k3s/config.yaml:service-cidr",
            "k3s/config.yaml:flannel-backend",
            "k3s/config.yaml:disable",
            "k3s/config.yaml:secrets-encryption",
            "k3s/config.yaml:token",
            "k3s/registries.yaml",
            "k3s/kubelet.conf.d",
            "k3s/server/manifests",
            "sysctl:net.ipv4.ip_forward",
            "sysctl:vm.overcommit_memory",
            "sysctl:kernel.panic",
        ];
        let certs = [
            "client-admin",
            "client-controller",
            "client-kube-apiserver",
            "serving-kube-apiserver",
            "server-ca",
            "client-ca",
        ]
        .iter()
        .enumerate()
        .map(|(i, name)| Certificate {
            path: format!("/var/lib/rancher/k3s/server/tls/{name}.crt"),
            subject_cn: format!("k3s-{name}"),
            not_before: UnixMillis(1_760_000_000_000),
            not_after: UnixMillis(1_800_000_000_000 + i as i64 * 86_400_000),
            is_ca: name.ends_with("-ca"),
        })
        .collect();
        Inventory {
            distro: Distro::K3s,
            distro_version: Some("v1.31.4+k3s1".to_owned()),
            kubelet_version: Some("v1.31.4+k3s1".to_owned()),
            kernel: "6.1.0-28-arm64".to_owned(),
            os: "Debian GNU/Linux 12 (bookworm)".to_owned(),
            containerd_version: Some("1.7.23-k3s2".to_owned()),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            role: NodeRole::Server,
            cluster_identity: Section::Data(ClusterIdentity {
                sha256: {
                    let mut d = [0u8; 32];
                    d[..8].copy_from_slice(&mix(self.cluster_seed ^ 0xCA).to_le_bytes());
                    d
                },
                source: "/var/lib/rancher/k3s/server/tls/server-ca.crt".to_owned(),
            }),
            distro_started_at: Some(UnixMillis(1_760_000_100_000)),
            certificates: bounded(certs),
            clock: Section::Data(Clock {
                synchronized: true,
                offset_us: 120,
                max_error_us: 16_000,
                est_error_us: 500,
                read_at: UnixMillis(1_763_683_200_000),
            }),
            config: bounded(keys.iter().map(|k| digest(k)).collect()),
        }
    }

    /// A batch of `n` consecutive samples starting at `first_seq`, 15 s apart.
    pub fn batch(&self, first_seq: u64, n: u64, start: UnixMillis) -> Batch {
        let samples: Vec<Sample> = (0..n)
            .map(|i| self.sample(first_seq + i, UnixMillis(start.0 + i as i64 * 15_000)))
            .collect();
        Batch {
            header: BatchHeader {
                protocol_version: crate::PROTOCOL_VERSION,
                node: self.node.clone(),
                cluster: Some(self.cluster.clone()),
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                boot_id: self.boot_id,
                stream: self.stream,
                first_seq: Seq(first_seq),
                last_seq: Seq(first_seq + n.saturating_sub(1)),
                sent_at: UnixMillis(start.0 + n as i64 * 15_000),
            },
            samples: bounded(samples),
            gaps: Bounded::new(),
        }
    }
}

/// Truncates to the bound: synthetic data never needs more than a `Bounded` holds.
fn bounded<T, const N: usize>(mut v: Vec<T>) -> Bounded<T, N> {
    v.truncate(N);
    Bounded::try_from(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_nodes_have_valid_identities_at_the_extremes() {
        for i in [0, 1, u32::MAX] {
            let n = SyntheticNode::new(i);
            assert!(n.node.as_str().starts_with("sim-node-"));
        }
    }

    #[test]
    fn synthetic_batches_are_valid_and_deterministic() {
        let n = SyntheticNode::new(7);
        let a = n.batch(100, 50, UnixMillis(1_700_000_000_000));
        assert_eq!(a.validate(), Ok(()));
        assert_eq!(a, n.batch(100, 50, UnixMillis(1_700_000_000_000)));
        assert_ne!(a.samples[0], a.samples[1], "samples must vary");
    }
}
