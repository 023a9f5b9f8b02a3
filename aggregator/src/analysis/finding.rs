//! Findings: what the analysis reports, each with a stable id, a severity, the control loop it
//! belongs to, the measured evidence, and the lower-layer findings that explain it.
//!
//! Invariants:
//! - An id names *what* is wrong *where* (`kind/cluster/node[/subject]`), never a value or a
//!   time, so the same problem keeps its id from one evaluation to the next (alert identity,
//!   `first_seen`).
//! - Evidence holds only values a node measured (or the aggregator observed, such as the time
//!   since the last batch). A check without data emits no "healthy" finding: it emits
//!   [`Kind::Unknown`] with the reason, or nothing.

use std::collections::BTreeMap;
use std::fmt;

use edgeward_proto::{ClusterId, NodeId, UnixMillis};
use serde::{Serialize, Serializer};

/// How bad. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; no action needed now (also: "unknown because …").
    Info,
    /// Needs attention before it becomes an outage.
    Warning,
    /// An outage, or one about to happen.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses the `as_str` form (REST filters).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The control loop a finding belongs to: where an operator looks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlLoop {
    /// Certificates, clocks, cluster membership and the versions nodes run.
    Identity,
    /// The kubelet, pods, node pressure (memory, PIDs, CPU).
    Compute,
    /// Reachability of nodes, peers and registries; data delivery to the aggregator.
    Network,
    /// Datastores (etcd, kine/SQLite, dqlite), disks and filesystems.
    Storage,
}

impl ControlLoop {
    pub const ALL: [ControlLoop; 4] = [
        ControlLoop::Identity,
        ControlLoop::Compute,
        ControlLoop::Network,
        ControlLoop::Storage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlLoop::Identity => "identity",
            ControlLoop::Compute => "compute",
            ControlLoop::Network => "network",
            ControlLoop::Storage => "storage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $loop:ident;)*) => {
        /// What kind of problem a finding reports. The `snake_case` name is the alert's
        /// `alertname` suffix, the metrics label and the REST filter value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The control loop this kind belongs to (drift findings may override per key).
            pub fn control_loop(self) -> ControlLoop {
                match self {
                    $(Kind::$variant => ControlLoop::$loop,)*
                }
            }
        }
    };
}

kinds! {
    // --- data the aggregator lacks -------------------------------------------------------
    /// A section the checks need is unavailable; the evidence says why. Never "healthy".
    Unknown => "unknown", Network;
    /// No batch for `stale_intervals` sampling intervals: stale, never healthy.
    NodeStale => "node_stale", Network;
    /// The agent reported lost samples (gap records), or the aggregator sees unexplained holes.
    DataGap => "data_gap", Network;
    /// The agent's delivery lag keeps growing: its outbox backlog grows.
    BacklogGrowing => "backlog_growing", Network;
    // --- compute ---------------------------------------------------------------------------
    MemoryPressure => "memory_pressure", Compute;
    DiskPressure => "disk_pressure", Storage;
    PidPressure => "pid_pressure", Compute;
    /// An eviction signal is close to its threshold (margin below the policy's fraction).
    ThinMargin => "thin_margin", Compute;
    /// io PSI is high: tasks stall on I/O.
    IoPressure => "io_pressure", Storage;
    KubeletDown => "kubelet_down", Compute;
    PlegUnhealthy => "pleg_unhealthy", Compute;
    RuntimeErrors => "runtime_errors", Compute;
    PodStartErrors => "pod_start_errors", Compute;
    CrashLooping => "crash_looping", Compute;
    OomKilled => "oom_killed", Compute;
    Evictions => "evictions", Compute;
    // --- storage ---------------------------------------------------------------------------
    EtcdUnhealthy => "etcd_unhealthy", Storage;
    EtcdNoLeader => "etcd_no_leader", Storage;
    EtcdLeaderChurn => "etcd_leader_churn", Storage;
    EtcdProposalsFailed => "etcd_proposals_failed", Storage;
    EtcdSlowWalFsync => "etcd_slow_wal_fsync", Storage;
    EtcdSlowBackendCommit => "etcd_slow_backend_commit", Storage;
    EtcdSlowPeers => "etcd_slow_peers", Network;
    EtcdDbNearQuota => "etcd_db_near_quota", Storage;
    EtcdFragmented => "etcd_fragmented", Storage;
    EtcdAlarm => "etcd_alarm", Storage;
    EtcdSnapshotsMissing => "etcd_snapshots_missing", Storage;
    EtcdSnapshotsStale => "etcd_snapshots_stale", Storage;
    /// A cluster's etcd has fewer healthy voters than quorum needs, or no failure tolerance left.
    QuorumAtRisk => "quorum_at_risk", Storage;
    SqliteCompactionLag => "sqlite_compaction_lag", Storage;
    SqliteWalGrowth => "sqlite_wal_growth", Storage;
    SqliteIntegrity => "sqlite_integrity", Storage;
    DqliteVoterLoss => "dqlite_voter_loss", Storage;
    /// The disk fdatasync audit's p99 is above what etcd needs (10 ms).
    DiskSlowFdatasync => "disk_slow_fdatasync", Storage;
    // --- identity --------------------------------------------------------------------------
    /// A K3s leaf certificate inside the 120-day renew-at-restart window.
    CertRenewWindow => "cert_renew_window", Identity;
    CertExpiring => "cert_expiring", Identity;
    CertExpired => "cert_expired", Identity;
    ClockUnsynchronized => "clock_unsynchronized", Identity;
    ClockSkew => "clock_skew", Identity;
    // --- upgrades --------------------------------------------------------------------------
    VersionSkew => "version_skew", Identity;
    VersionUnsupported => "version_unsupported", Identity;
    UpgradeStuck => "upgrade_stuck", Identity;
    RolloutHalted => "rollout_halted", Identity;
    SingleServerDowntime => "single_server_downtime", Storage;
    // --- drift -----------------------------------------------------------------------------
    DriftBaseline => "drift_baseline", Compute;
    DriftPeers => "drift_peers", Compute;
    DriftServerKeys => "drift_server_keys", Network;
    DriftManifests => "drift_manifests", Compute;
    RestartPending => "restart_pending", Network;
    AgentVersionDrift => "agent_version_drift", Identity;
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `kind/cluster/node[/subject]`, with `-` for an absent cluster or node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FindingId(pub String);

impl FindingId {
    pub fn new(
        kind: Kind,
        cluster: Option<&ClusterId>,
        node: Option<&NodeId>,
        subject: Option<&str>,
    ) -> Self {
        let mut s = String::with_capacity(64);
        s.push_str(kind.as_str());
        s.push('/');
        s.push_str(cluster.map_or("-", ClusterId::as_str));
        s.push('/');
        s.push_str(node.map_or("-", NodeId::as_str));
        if let Some(subject) = subject {
            s.push('/');
            s.push_str(subject);
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One measured value. Serialized untagged; a non-finite float as its text (`"+Inf"`), since
/// JSON has no infinity and `null` would read as "not measured".
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

impl Serialize for Measure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Measure::Int(v) => s.serialize_i64(*v),
            Measure::Float(v) if v.is_finite() => s.serialize_f64(*v),
            Measure::Float(v) if v.is_nan() => s.serialize_str("NaN"),
            Measure::Float(v) if *v > 0.0 => s.serialize_str("+Inf"),
            Measure::Float(_) => s.serialize_str("-Inf"),
            Measure::Text(v) => s.serialize_str(v),
            Measure::Bool(v) => s.serialize_bool(*v),
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::Int(v) => write!(f, "{v}"),
            Measure::Float(v) => write!(f, "{v}"),
            Measure::Text(v) => f.write_str(v),
            Measure::Bool(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! measure_from {
    ($($t:ty => $v:ident $(as $cast:ty)?),*) => {
        $(impl From<$t> for Measure {
            fn from(v: $t) -> Self {
                Measure::$v(v $(as $cast)?)
            }
        })*
    };
}
measure_from!(i64 => Int, i32 => Int as i64, u32 => Int as i64, f64 => Float, f32 => Float as f64, bool => Bool, String => Text);

impl From<u64> for Measure {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or_else(|_| Measure::Text(v.to_string()), Measure::Int)
    }
}

impl From<usize> for Measure {
    fn from(v: usize) -> Self {
        Measure::from(v as u64)
    }
}

impl From<&str> for Measure {
    fn from(v: &str) -> Self {
        Measure::Text(v.to_owned())
    }
}

/// What the analysis reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub kind: Kind,
    pub severity: Severity,
    #[serde(rename = "loop")]
    pub control_loop: ControlLoop,
    pub cluster: Option<ClusterId>,
    pub node: Option<NodeId>,
    /// What inside the node or cluster: a certificate path, a config key, a signal.
    pub subject: Option<String>,
    /// One line for a human.
    pub summary: String,
    /// The measured values this finding rests on, by name (units in the name: `_secs`,
    /// `_bytes`, `_ratio`).
    pub evidence: BTreeMap<String, Measure>,
    /// When the evidence was measured, by the node's clock (aggregator's clock for findings
    /// about delivery, such as staleness).
    pub measured_at: Option<UnixMillis>,
    /// Lower-layer findings that explain this one: start there.
    pub caused_by: Vec<FindingId>,
    /// The aggregator's clock: first evaluation that reported this id (since it last cleared).
    pub first_seen: UnixMillis,
    /// The aggregator's clock: latest evaluation that reported it.
    pub last_seen: UnixMillis,
}

impl Finding {
    /// A finding with its id derived from kind, cluster, node and subject, seen `now`.
    pub fn new(
        kind: Kind,
        severity: Severity,
        cluster: Option<&ClusterId>,
        node: Option<&NodeId>,
        subject: Option<&str>,
        summary: impl Into<String>,
        now: UnixMillis,
    ) -> Self {
        Self {
            id: FindingId::new(kind, cluster, node, subject),
            kind,
            severity,
            control_loop: kind.control_loop(),
            cluster: cluster.cloned(),
            node: node.cloned(),
            subject: subject.map(str::to_owned),
            summary: summary.into(),
            evidence: BTreeMap::new(),
            measured_at: None,
            caused_by: Vec::new(),
            first_seen: now,
            last_seen: now,
        }
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, name: &str, value: impl Into<Measure>) -> Self {
        self.evidence.insert(name.to_owned(), value.into());
        self
    }

    /// Adds evidence only when measured.
    pub fn with_opt<V: Into<Measure>>(self, name: &str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    pub fn measured_at(mut self, at: UnixMillis) -> Self {
        self.measured_at = Some(at);
        self
    }

    pub fn in_loop(mut self, control_loop: ControlLoop) -> Self {
        self.control_loop = control_loop;
        self
    }
}

/// Carries `first_seen` from one evaluation to the next: a finding whose id was reported by
/// the previous evaluation keeps that evaluation's `first_seen`.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    first_seen: std::collections::HashMap<FindingId, UnixMillis>,
}

impl Tracker {
    /// Stamps `findings` (all seen `now`) and forgets ids that are no longer reported.
    pub fn stamp(&mut self, findings: &mut [Finding], now: UnixMillis) {
        let mut next = std::collections::HashMap::with_capacity(findings.len());
        for f in findings.iter_mut() {
            let first = self.first_seen.get(&f.id).copied().unwrap_or(now);
            f.first_seen = first;
            f.last_seen = now;
            next.insert(f.id.clone(), first);
        }
        self.first_seen = next;
    }

    /// Seeds first-seen times (e.g. from a persisted copy) for ids not yet tracked.
    pub fn seed(&mut self, seen: impl IntoIterator<Item = (FindingId, UnixMillis)>) {
        for (id, at) in seen {
            self.first_seen.entry(id).or_insert(at);
        }
    }

    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FindingId, &UnixMillis)> {
        self.first_seen.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn an_id_names_kind_cluster_node_and_subject_and_nothing_else() {
        let c = ClusterId::new("c1").unwrap();
        let id = FindingId::new(
            Kind::CertExpiring,
            Some(&c),
            Some(&node("n1")),
            Some("server/tls/serving.crt"),
        );
        assert_eq!(id.as_str(), "cert_expiring/c1/n1/server/tls/serving.crt");
        assert_eq!(
            FindingId::new(Kind::NodeStale, None, Some(&node("n1")), None).as_str(),
            "node_stale/-/n1"
        );
    }

    #[test]
    fn kind_names_are_unique_and_parse_back() {
        let mut names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
    }

    #[test]
    fn a_finding_keeps_its_first_seen_while_reported_and_restarts_after_clearing() {
        let mut t = Tracker::default();
        let f = || {
            Finding::new(
                Kind::KubeletDown,
                Severity::Critical,
                None,
                Some(&node("n")),
                None,
                "down",
                UnixMillis(0),
            )
        };
        let mut a = vec![f()];
        t.stamp(&mut a, UnixMillis(10));
        let mut b = vec![f()];
        t.stamp(&mut b, UnixMillis(20));
        assert_eq!(
            (b[0].first_seen, b[0].last_seen),
            (UnixMillis(10), UnixMillis(20))
        );
        t.stamp(&mut [], UnixMillis(30));
        let mut c = vec![f()];
        t.stamp(&mut c, UnixMillis(40));
        assert_eq!(c[0].first_seen, UnixMillis(40));
    }

    #[test]
    fn infinite_evidence_serializes_as_text_not_null() {
        let json = serde_json::to_string(&Measure::Float(f64::INFINITY)).unwrap();
        assert_eq!(json, "\"+Inf\"");
        assert_eq!(serde_json::to_string(&Measure::Float(0.5)).unwrap(), "0.5");
    }
}
