//! The synthetic generator of protocol 1, frozen: `proto/src/synthetic.rs` as it was when
//! `proto/golden/v1/` was blessed, producing the v1 types. The v1 golden frames embed
//! `SyntheticNode::new(42)`'s samples 1000–1005 and inventory. Do not edit.
//!
//! One change from the original: `agent_version` was the crate's version, `0.1.0` at the
//! time; it is that literal here so that a version bump cannot change v1's bytes.

use edgeward_proto::batch::BatchHeader;
use edgeward_proto::bounded::Bounded;
use edgeward_proto::codec::legacy::v1::*;
use edgeward_proto::ident::{BootId, ClusterId, NodeId, Seq, StreamId, UnixMillis};
use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::kubelet::{Healthz, PodPhases};
use edgeward_proto::pressure::{Filesystem, FsRole, Load, Memory, Pids, Psi, PsiLine, PsiResource};

/// The crate's version when v1 was released.
const AGENT_VERSION: &str = "0.1.0";

/// A simulated node: its identity and the seed its values derive from.
#[derive(Debug, Clone)]
pub struct SyntheticNode {
    pub node: NodeId,
    pub cluster: ClusterId,
    pub boot_id: BootId,
    pub stream: StreamId,
    seed: u64,
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
        let node = NodeId::new(format!("sim-node-{index:05}")).unwrap();
        let cluster = ClusterId::new(format!("sim-cluster-{:04}", index / 4)).unwrap();
        let mut boot = [0u8; 16];
        boot[..8].copy_from_slice(&seed.to_le_bytes());
        boot[8..].copy_from_slice(&mix(seed).to_le_bytes());
        Self {
            node,
            cluster,
            boot_id: BootId(boot),
            stream: StreamId(mix(seed ^ 1)),
            seed,
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
        };
        let kubelet = KubeletHealth {
            healthz: Healthz::Ok,
            version: Some("v1.31.4+k3s1".to_owned()),
            api: Section::Data(KubeletApi {
                pods: PodPhases {
                    pending: 0,
                    running: 23,
                    succeeded: 2,
                    failed: 0,
                    unknown: 0,
                },
                container_restarts: 7 + seq / 1_000,
                crash_looping: 0,
                oom_killed: 0,
            }),
        };
        let db = 180u64 << 20;
        let datastore = DatastoreHealth {
            kind: Datastore::Etcd(Etcd {
                healthy: true,
                has_leader: true,
                is_leader: self.seed.is_multiple_of(3),
                leader_changes: 2,
                proposals_failed: 0,
                db_size_bytes: db,
                db_in_use_bytes: (db as f64 * (0.6 + 0.05 * u(6))) as u64,
                quota_bytes: 2 << 30,
                wal_fsync_p99_secs: Some((0.004 + 0.004 * u(7)) as f32),
                backend_commit_p99_secs: Some((0.010 + 0.01 * u(8)) as f32),
                members: 3,
                alarms: Bounded::new(),
            }),
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
                let h = mix((self.seed / 4)
                    ^ mix(key.len() as u64 ^ key.bytes().map(u64::from).sum::<u64>() ^ i as u64));
                chunk.copy_from_slice(&h.to_le_bytes());
            }
            ConfigDigest {
                key: key.to_owned(),
                sha256: d,
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
            agent_version: AGENT_VERSION.to_owned(),
            role: NodeRole::Server,
            certificates: bounded(certs),
            clock: Section::Data(Clock {
                synchronized: true,
                offset_us: 120,
                max_error_us: 16_000,
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
                protocol_version: VERSION,
                node: self.node.clone(),
                cluster: Some(self.cluster.clone()),
                agent_version: AGENT_VERSION.to_owned(),
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
