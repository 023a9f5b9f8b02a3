//! Protocol version 1, frozen: the wire types of v1 that differ from the current ones, copied
//! from the v1 sources (git `proto/src/*.rs` before protocol 2) together with every type that
//! contains one of them. Do not edit: these types *are* the v1 schema, and
//! `proto/golden/v1/` checks them byte for byte.
//!
//! Types v1 shares with the current protocol, byte for byte, are the current crate's:
//! [`BatchHeader`], [`GapRecord`], [`Bounded`], the identities, [`Memory`], [`Psi`],
//! [`Filesystem`], [`Pids`], [`Load`], [`Healthz`], [`PodPhases`], [`DqliteMember`],
//! [`Distro`], [`NodeRole`] and [`ProtocolRange`]. If one of them ever changes, copy its v1
//! form here first (the v1 golden test fails otherwise).
//!
//! [`Section`], [`Unavailable`] and [`UnavailableReason`] are copied although only the reason
//! changed, by a variant appended at the end: a v1 frame can never carry
//! [`crate::UnavailableReason::Skipped`], and the frozen copy refuses one that does.
//!
//! How v1 values become current ones is in [`super`] and `v1/from.rs`.

mod from;
#[cfg(test)]
mod tests;

use crate::batch::BatchHeader;
use crate::bounded::Bounded;
use crate::datastore::DqliteMember;
use crate::gap::GapRecord;
use crate::ident::{Seq, StreamId, UnixMillis};
use crate::inventory::{Distro, NodeRole};
use crate::kubelet::{Healthz, PodPhases};
use crate::pressure::{Filesystem, Load, Memory, Pids, Psi};
use crate::version::ProtocolRange;
use serde::{Deserialize, Serialize};

/// The protocol version these types encode.
pub const VERSION: u16 = 1;
/// v1's bounds on a batch (the current bounds must not be smaller; checked at compile time).
pub const MAX_SAMPLES: usize = 20_000;
pub const MAX_GAPS: usize = 4_096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub header: BatchHeader,
    pub samples: Bounded<Sample, MAX_SAMPLES>,
    pub gaps: Bounded<GapRecord, MAX_GAPS>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub seq: Seq,
    pub at: UnixMillis,
    pub pressure: Section<NodePressure>,
    pub kubelet: Section<KubeletHealth>,
    pub datastore: Section<DatastoreHealth>,
    pub inventory: Section<Inventory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Section<T> {
    Data(T),
    Unavailable(Unavailable),
    NotDue { last: Option<Seq> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub reason: UnavailableReason,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnavailableReason {
    Disabled,
    NotApplicable,
    NotFound,
    PermissionDenied,
    Unreachable,
    Timeout,
    Unauthorized,
    Unparseable,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePressure {
    pub memory: Section<Memory>,
    pub psi: Section<Psi>,
    pub filesystems: Bounded<Filesystem, 16>,
    pub pids: Section<Pids>,
    pub load: Load,
    pub uptime_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeletHealth {
    pub healthz: Healthz,
    /// `kubernetes_build_info` git version.
    pub version: Option<String>,
    /// `:10250` data.
    pub api: Section<KubeletApi>,
}

/// Pod-level facts from `/pods` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeletApi {
    pub pods: PodPhases,
    pub container_restarts: u64,
    pub crash_looping: u32,
    pub oom_killed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreHealth {
    pub kind: Datastore,
    pub disk_audit: Section<DiskAudit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Datastore {
    None,
    External,
    KineSqlite(Sqlite),
    Etcd(Etcd),
    Dqlite(Dqlite),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sqlite {
    pub current_revision: i64,
    pub compacted_revision: i64,
    pub db_bytes: u64,
    pub wal_bytes: u64,
    pub page_count: u64,
    pub freelist_count: u64,
    /// `Data(true)` when `PRAGMA quick_check` answered `ok`.
    pub quick_check: Section<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Etcd {
    pub healthy: bool,
    pub has_leader: bool,
    pub is_leader: bool,
    pub leader_changes: u64,
    pub proposals_failed: u64,
    pub db_size_bytes: u64,
    pub db_in_use_bytes: u64,
    pub quota_bytes: u64,
    pub wal_fsync_p99_secs: Option<f32>,
    pub backend_commit_p99_secs: Option<f32>,
    pub members: u32,
    pub alarms: Bounded<String, 16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dqlite {
    pub ha: bool,
    pub members: Bounded<DqliteMember, 64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskAudit {
    pub writes: u32,
    pub bytes_per_write: u32,
    pub p50_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub distro: Distro,
    pub distro_version: Option<String>,
    pub kubelet_version: Option<String>,
    pub kernel: String,
    pub os: String,
    pub containerd_version: Option<String>,
    pub agent_version: String,
    pub role: NodeRole,
    pub certificates: Bounded<Certificate, 512>,
    pub clock: Section<Clock>,
    pub config: Bounded<ConfigDigest, 1024>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub path: String,
    pub not_after: UnixMillis,
    pub is_ca: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub synchronized: bool,
    pub offset_us: i64,
    pub max_error_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDigest {
    pub key: String,
    pub sha256: [u8; 32],
}

/// The reply did not change in protocol 2; it is frozen here so that a later change cannot
/// alter what a v1 agent is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub verdict: Verdict,
    pub acks: Bounded<StreamAck, 64>,
    pub retry_after_ms: Option<u32>,
    pub protocol: ProtocolRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAck {
    pub stream: StreamId,
    pub acked_through: Seq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Accepted,
    RetryLater {
        detail: String,
    },
    Rejected {
        reason: RejectReason,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    Malformed,
    TooLarge,
    Unauthenticated,
    IdentityMismatch,
}
