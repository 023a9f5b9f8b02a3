//! Inventory section: versions, certificates, clock and per-key configuration digests
//! (DOMAIN.md §4 and §5). Digests, never values: credentials never leave the node.

use crate::bounded::Bounded;
use crate::ident::UnixMillis;
use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub distro: Distro,
    /// e.g. `v1.31.4+k3s1`.
    pub distro_version: Option<String>,
    pub kubelet_version: Option<String>,
    pub kernel: String,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub os: String,
    pub containerd_version: Option<String>,
    pub agent_version: String,
    pub role: NodeRole,
    /// Derived alike by every node of one cluster without the API server: the SHA-256 of the
    /// DER of the cluster's server CA certificate.
    pub cluster_identity: Section<ClusterIdentity>,
    /// When the distribution's main process (`k3s server`/`k3s agent`, MicroK8s kubelite)
    /// started, from `/proc/<pid>/stat`: configuration changed after it is pending a restart.
    pub distro_started_at: Option<UnixMillis>,
    /// Every certificate under the distribution's TLS directories.
    pub certificates: Bounded<Certificate, 512>,
    pub clock: Section<Clock>,
    pub config: Bounded<ConfigDigest, 1024>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdentity {
    pub sha256: [u8; 32],
    /// The host path of the CA certificate it was derived from.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distro {
    K3s,
    MicroK8s,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeRole {
    Server,
    Agent,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub path: String,
    /// The subject's common name, for the operator.
    pub subject_cn: String,
    pub not_before: UnixMillis,
    pub not_after: UnixMillis,
    pub is_ca: bool,
}

/// adjtimex(2): whether the kernel clock is synchronised, and its estimated error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The kernel's state is not `TIME_ERROR` and `STA_UNSYNC` is clear.
    pub synchronized: bool,
    pub offset_us: i64,
    pub max_error_us: i64,
    pub est_error_us: i64,
    /// The node's wall clock when it was read, for skew between a cluster's servers.
    pub read_at: UnixMillis,
}

/// One configuration key and the SHA-256 of its normalised value. Values never ship, except
/// for keys that cannot hold secrets (sysctls), where `value` helps the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDigest {
    /// e.g. `k3s/config.yaml:cluster-cidr`, `k3s/registries.yaml`, `sysctl:net.ipv4.ip_forward`.
    pub key: String,
    pub sha256: [u8; 32],
    /// Only for keys that cannot hold secrets; at most 256 bytes.
    pub value: Option<String>,
    /// Modification time of the file the key came from.
    pub modified_at: Option<UnixMillis>,
}
