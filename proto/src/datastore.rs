//! Datastore section: which datastore the node runs and how healthy it is (DOMAIN.md §3),
//! plus the fdatasync audit of the disk it lives on.

use crate::bounded::Bounded;
use crate::ident::UnixMillis;
use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreHealth {
    pub kind: Datastore,
    /// Rate-limited (default every 10 minutes): usually `NotDue`.
    pub disk_audit: Section<DiskAudit>,
}

/// The kind of datastore, detected from the node's files, with its health. The kind is known
/// even when the health is not: each variant's health is its own section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Datastore {
    /// No datastore on this node (a K3s or MicroK8s worker).
    None,
    /// The cluster uses an external datastore (K3s `datastore-endpoint`); the agent does not
    /// probe it. The scheme of the endpoint (`postgres`, `mysql`, `https`), never its value.
    External {
        scheme: String,
    },
    KineSqlite(Section<Sqlite>),
    /// Boxed: much larger than the other variants (the wire is the same).
    Etcd(Box<Etcd>),
    Dqlite(Section<Dqlite>),
}

/// K3s kine on SQLite: `server/db/state.db` (DOMAIN.md §3), opened read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sqlite {
    /// `SELECT MAX(id) FROM kine`.
    pub current_revision: i64,
    /// `SELECT MAX(prev_revision) FROM kine WHERE name='compact_rev_key'`; 0 when never compacted.
    pub compacted_revision: i64,
    pub db_bytes: u64,
    /// `state.db-wal`; 0 when absent.
    pub wal_bytes: u64,
    pub page_size: u64,
    pub page_count: u64,
    pub freelist_count: u64,
    /// Rate-limited `PRAGMA quick_check`, usually `NotDue`.
    pub quick_check: Section<IntegrityCheck>,
}

/// The answer of an integrity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityCheck {
    /// The check answered exactly `ok`.
    pub ok: bool,
    /// The first lines of the answer when it is not `ok`.
    pub message: String,
    pub duration_ms: u32,
}

/// K3s embedded etcd. Each source is its own section: metrics (`:2381`, plain HTTP) may answer
/// while the TLS client API (`:2379`) refuses, and snapshots are files on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Etcd {
    /// `GET /health`.
    pub health: Section<EtcdHealth>,
    /// `POST /v3/maintenance/status` and `/v3/cluster/member/list` (JSON gateway).
    pub status: Section<EtcdStatus>,
    /// `GET /metrics`.
    pub metrics: Section<EtcdMetrics>,
    /// `server/db/snapshots`.
    pub snapshots: Section<Snapshots>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdHealth {
    /// `{"health":"true"}`.
    pub healthy: bool,
    /// etcd's `reason` when unhealthy (3.5+), e.g. `RAFT NO LEADER`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdStatus {
    pub version: String,
    pub member_id: u64,
    /// 0 when the member knows no leader.
    pub leader_id: u64,
    pub is_learner: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub db_size_bytes: u64,
    pub db_size_in_use_bytes: u64,
    /// Active alarms, e.g. `NOSPACE`, `CORRUPT`.
    pub alarms: Bounded<String, 16>,
    /// Errors etcd reports in the status answer.
    pub errors: Bounded<String, 16>,
    pub members: Bounded<EtcdMember, 16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdMember {
    pub id: u64,
    pub name: String,
    pub peer_url: String,
    pub is_learner: bool,
}

/// From etcd's Prometheus metrics (thresholds in DOMAIN.md §3). Quantiles are p99 over the
/// interval since the previous scrape, computed from histogram bucket deltas (over the
/// process lifetime on the first scrape); `None` when no observation fell in the interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EtcdMetrics {
    pub has_leader: bool,
    pub is_leader: bool,
    /// `etcd_server_leader_changes_seen_total` (cumulative).
    pub leader_changes: u64,
    /// `etcd_server_proposals_failed_total` (cumulative).
    pub proposals_failed: u64,
    pub proposals_pending: u64,
    pub db_size_bytes: u64,
    pub db_size_in_use_bytes: u64,
    /// `etcd_server_quota_backend_bytes`.
    pub quota_bytes: u64,
    pub wal_fsync_p99_secs: Option<f64>,
    pub backend_commit_p99_secs: Option<f64>,
    /// Worst peer's `etcd_network_peer_round_trip_time_seconds` p99.
    pub peer_rtt_p99_secs: Option<f64>,
}

/// etcd snapshots on disk (K3s takes them by cron `0 */12 * * *`, keeps 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshots {
    pub count: u32,
    /// Modification time of the newest snapshot file.
    pub newest_at: Option<UnixMillis>,
    pub newest_bytes: u64,
}

/// MicroK8s dqlite membership from `backend/cluster.yaml` and `info.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dqlite {
    /// `var/lock/ha-cluster` exists.
    pub ha: bool,
    /// This node, from `info.yaml`.
    pub local: Option<DqliteMember>,
    pub members: Bounded<DqliteMember, 64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DqliteMember {
    pub address: String,
    pub id: u64,
    pub role: DqliteRole,
}

/// Role numbers as in `cluster.yaml`: 0 voter, 1 standby, 2 spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DqliteRole {
    Voter,
    Standby,
    Spare,
}

/// Small sequential writes each followed by fdatasync (etcd's fio recipe, DOMAIN.md §3):
/// healthy when p99 < 10 ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskAudit {
    /// The directory written to (on the datastore's filesystem).
    pub path: String,
    pub writes: u32,
    pub bytes_per_write: u32,
    pub p50_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
}
