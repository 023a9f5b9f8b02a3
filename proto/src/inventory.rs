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
    pub certificates: Bounded<Certificate, 512>,
    pub clock: Section<Clock>,
    pub config: Bounded<ConfigDigest, 1024>,
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
    pub not_after: UnixMillis,
    pub is_ca: bool,
}

/// adjtimex: whether the kernel clock is synchronised, and its estimated error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub synchronized: bool,
    pub offset_us: i64,
    pub max_error_us: i64,
}

/// One configuration key and the SHA-256 of its normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDigest {
    /// e.g. `k3s/config.yaml:cluster-cidr`, `k3s/registries.yaml`, `sysctl:net.ipv4.ip_forward`.
    pub key: String,
    pub sha256: [u8; 32],
}
