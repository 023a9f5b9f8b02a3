//! Datastore section: which datastore the node runs and how healthy it is (DOMAIN.md §3),
//! plus the fdatasync audit of the disk it lives on.

use crate::bounded::Bounded;
use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreHealth {
    pub kind: Datastore,
    /// Rate-limited (default every 10 minutes): usually `NotDue`.
    pub disk_audit: Section<DiskAudit>,
}

/// The kind of datastore, detected from the node's files, with its health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Datastore {
    /// No datastore on this node (a K3s or MicroK8s worker).
    None,
    /// The cluster uses an external datastore; the agent does not probe it.
    External,
    KineSqlite(Sqlite),
    Etcd(Etcd),
    Dqlite(Dqlite),
}

/// K3s kine on SQLite: `server/db/state.db`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sqlite {
    pub current_revision: i64,
    pub compacted_revision: i64,
    pub db_bytes: u64,
    pub wal_bytes: u64,
    pub page_count: u64,
    pub freelist_count: u64,
    /// Rate-limited `PRAGMA quick_check`: `Data(true)` when it answered `ok`.
    pub quick_check: Section<bool>,
}

/// K3s embedded etcd.
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
    /// p99 over the interval since the previous sample, from histogram deltas.
    pub wal_fsync_p99_secs: Option<f32>,
    pub backend_commit_p99_secs: Option<f32>,
    pub members: u32,
    /// Active alarms, e.g. `NOSPACE`.
    pub alarms: Bounded<String, 16>,
}

/// MicroK8s dqlite membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dqlite {
    pub ha: bool,
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

/// Small sequential writes each followed by fdatasync (etcd's fio recipe, DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskAudit {
    pub writes: u32,
    pub bytes_per_write: u32,
    pub p50_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
}
