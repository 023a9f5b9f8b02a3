//! etcd member checks: health, leader, latencies, database, alarms, snapshots, counter rates.

use edgeward_proto::{Bounded, Section, UnavailableReason, UnixMillis};

use super::{Row, emetrics, etcd, newest_at, run, same, snapshots, status};
use crate::analysis::finding::{Kind, Severity};
use crate::analysis::node::{EtcdCounters, History, NodeState};

const KINDS: &[Kind] = &[
    Kind::EtcdUnhealthy,
    Kind::EtcdNoLeader,
    Kind::EtcdLeaderChurn,
    Kind::EtcdProposalsFailed,
    Kind::EtcdSlowWalFsync,
    Kind::EtcdSlowBackendCommit,
    Kind::EtcdSlowPeers,
    Kind::EtcdDbNearQuota,
    Kind::EtcdFragmented,
    Kind::EtcdAlarm,
    Kind::EtcdSnapshotsMissing,
    Kind::EtcdSnapshotsStale,
    Kind::Unknown,
];

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const HOUR: i64 = 3_600_000;

/// Database sizes (size, in use, quota) in the metrics.
fn db(s: &mut edgeward_proto::Sample, size: u64, in_use: u64, quota: u64) {
    let m = emetrics(s);
    (m.db_size_bytes, m.db_size_in_use_bytes, m.quota_bytes) = (size, in_use, quota);
}

#[test]
fn etcd_health_leader_and_alarms() {
    run(
        &[
            Row {
                name: "health false is critical with etcd's reason",
                sample: |s| {
                    etcd(s).health = Section::Data(edgeward_proto::datastore::EtcdHealth {
                        healthy: false,
                        reason: "RAFT NO LEADER".to_owned(),
                    });
                },
                state: same,
                expect: &[(Kind::EtcdUnhealthy, Severity::Critical, None)],
                evidence: &[("reason", "RAFT NO LEADER")],
            },
            Row {
                name: "etcd not answering is unhealthy and its other endpoints add nothing",
                sample: |s| {
                    let e = etcd(s);
                    e.health = Section::unavailable(UnavailableReason::Unreachable, ":2379");
                    e.status = Section::unavailable(UnavailableReason::Unreachable, ":2379");
                    e.metrics = Section::unavailable(UnavailableReason::Unreachable, ":2381");
                },
                state: same,
                expect: &[(Kind::EtcdUnhealthy, Severity::Critical, None)],
                evidence: &[("reason", "unreachable")],
            },
            Row {
                name: "health the agent is not allowed to read is unknown",
                sample: |s| {
                    etcd(s).health = Section::unavailable(UnavailableReason::Unauthorized, "cert");
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("etcd/health"))],
                evidence: &[("reason", "unauthorized"), ("detail", "cert")],
            },
            Row {
                name: "no leader in the metrics is critical",
                sample: |s| emetrics(s).has_leader = false,
                state: same,
                expect: &[(Kind::EtcdNoLeader, Severity::Critical, None)],
                evidence: &[("has_leader", "false")],
            },
            Row {
                name: "no leader in the status is critical too",
                sample: |s| status(s).leader_id = 0,
                state: same,
                expect: &[(Kind::EtcdNoLeader, Severity::Critical, None)],
                evidence: &[("leader_id", "0")],
            },
            Row {
                name: "NOSPACE is a critical alarm",
                sample: |s| {
                    status(s).alarms = Bounded::try_from(vec!["NOSPACE".to_owned()]).expect("1");
                },
                state: same,
                expect: &[(Kind::EtcdAlarm, Severity::Critical, None)],
                evidence: &[("alarms", "NOSPACE")],
            },
            Row {
                name: "another alarm is a warning",
                sample: |s| {
                    status(s).alarms = Bounded::try_from(vec!["OTHER".to_owned()]).expect("1");
                },
                state: same,
                expect: &[(Kind::EtcdAlarm, Severity::Warning, None)],
                evidence: &[],
            },
        ],
        KINDS,
    );
}

#[test]
fn etcd_latencies_at_their_boundaries() {
    type Set = fn(&mut edgeward_proto::Sample);
    type Want = Option<(Kind, Severity)>;
    let rows: [(&str, Set, Want); 9] = [
        (
            "wal fsync p99 of 0.5 s is fine",
            |s| emetrics(s).wal_fsync_p99_secs = Some(0.5),
            None,
        ),
        (
            "wal fsync p99 above 0.5 s is a warning",
            |s| emetrics(s).wal_fsync_p99_secs = Some(0.51),
            Some((Kind::EtcdSlowWalFsync, Severity::Warning)),
        ),
        (
            "wal fsync p99 of exactly 1 s is still a warning",
            |s| emetrics(s).wal_fsync_p99_secs = Some(1.0),
            Some((Kind::EtcdSlowWalFsync, Severity::Warning)),
        ),
        (
            "wal fsync p99 above 1 s is critical",
            |s| emetrics(s).wal_fsync_p99_secs = Some(1.01),
            Some((Kind::EtcdSlowWalFsync, Severity::Critical)),
        ),
        (
            "no fsync observed in the interval",
            |s| emetrics(s).wal_fsync_p99_secs = None,
            None,
        ),
        (
            "backend commit of 0.25 s is fine",
            |s| emetrics(s).backend_commit_p99_secs = Some(0.25),
            None,
        ),
        (
            "backend commit above 0.25 s is a warning",
            |s| emetrics(s).backend_commit_p99_secs = Some(0.3),
            Some((Kind::EtcdSlowBackendCommit, Severity::Warning)),
        ),
        (
            "peer rtt of 0.15 s is fine",
            |s| emetrics(s).peer_rtt_p99_secs = Some(0.15),
            None,
        ),
        (
            "peer rtt above 0.15 s is a warning",
            |s| emetrics(s).peer_rtt_p99_secs = Some(0.2),
            Some((Kind::EtcdSlowPeers, Severity::Warning)),
        ),
    ];
    for (name, set, want) in rows {
        let st = super::node_state(0, set);
        let found = super::super::node(&st, &Default::default(), super::now());
        let want: Vec<_> = want.map(|(k, s)| (k, s, None)).into_iter().collect();
        assert_eq!(super::shape(&found, KINDS), want, "{name}");
    }
}

#[test]
fn etcd_database_size_quota_and_fragmentation() {
    run(
        &[
            Row {
                name: "96 % of the quota is near it",
                sample: |s| db(s, 2 * GIB / 100 * 96, 2 * GIB / 100 * 96, 2 * GIB),
                state: same,
                expect: &[(Kind::EtcdDbNearQuota, Severity::Warning, None)],
                evidence: &[("quota_default", "false")],
            },
            Row {
                name: "exactly 95 % is not above the limit",
                sample: |s| db(s, 2 * GIB / 20 * 19, 2 * GIB / 20 * 19, 2 * GIB),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a quota of 0 means etcd's 2 GiB default",
                sample: |s| db(s, 2 * GIB / 100 * 97, 2 * GIB / 100 * 97, 0),
                state: same,
                expect: &[(Kind::EtcdDbNearQuota, Severity::Warning, None)],
                evidence: &[("quota_default", "true"), ("quota_bytes", "2147483648")],
            },
            Row {
                name: "mostly free space above 100 MiB in use is fragmented",
                sample: |s| db(s, 400 * MIB, 150 * MIB, 2 * GIB),
                state: same,
                expect: &[(Kind::EtcdFragmented, Severity::Warning, None)],
                evidence: &[("in_use_ratio", "0.375")],
            },
            Row {
                name: "a small database is not worth defragmenting",
                sample: |s| db(s, 180 * MIB, 80 * MIB, 2 * GIB),
                state: same,
                expect: &[],
                evidence: &[],
            },
        ],
        KINDS,
    );
}

#[test]
fn etcd_snapshots_missing_or_stale() {
    run(
        &[
            Row {
                name: "no snapshot file",
                sample: |s| snapshots(s).count = 0,
                state: same,
                expect: &[(Kind::EtcdSnapshotsMissing, Severity::Warning, None)],
                evidence: &[("snapshots", "0")],
            },
            Row {
                name: "no snapshot directory",
                sample: |s| {
                    etcd(s).snapshots =
                        Section::unavailable(UnavailableReason::NotFound, "db/snapshots");
                },
                state: same,
                expect: &[(Kind::EtcdSnapshotsMissing, Severity::Warning, None)],
                evidence: &[("detail", "db/snapshots")],
            },
            Row {
                name: "newest exactly 13 h old is fine",
                sample: |s| snapshots(s).newest_at = Some(UnixMillis(newest_at().0 - 13 * HOUR)),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "newest older than 13 h is stale",
                sample: |s| {
                    snapshots(s).newest_at = Some(UnixMillis(newest_at().0 - 13 * HOUR - 1));
                },
                state: same,
                expect: &[(Kind::EtcdSnapshotsStale, Severity::Warning, None)],
                evidence: &[("newest_age_secs", "46800.001")],
            },
        ],
        KINDS,
    );
}

/// Replaces the counter history with (minutes before the newest sample, leader changes,
/// failed proposals).
fn counters(st: &mut NodeState, entries: &[(i64, u64, u64)]) {
    st.etcd_counters = History::default();
    for (min, leader_changes, proposals_failed) in entries {
        st.etcd_counters.record(
            UnixMillis(newest_at().0 - min * 60_000),
            EtcdCounters {
                leader_changes: *leader_changes,
                proposals_failed: *proposals_failed,
            },
        );
    }
}

#[test]
fn etcd_counter_rates_over_15_minutes() {
    run(
        &[
            Row {
                name: "3 leader changes in 15 min are fine",
                sample: same,
                state: |st| counters(st, &[(14, 2, 0), (5, 4, 0), (0, 5, 0)]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "4 leader changes in 15 min are churn",
                sample: same,
                state: |st| counters(st, &[(15, 2, 0), (5, 4, 0), (0, 6, 0)]),
                expect: &[(Kind::EtcdLeaderChurn, Severity::Warning, None)],
                evidence: &[("count_15m", "4"), ("counter_resets", "0")],
            },
            Row {
                name: "changes before the window do not count",
                sample: same,
                state: |st| counters(st, &[(20, 0, 0), (10, 2, 0), (0, 5, 0)]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a counter reset counts the restarted value in full",
                sample: same,
                state: |st| counters(st, &[(12, 10, 0), (8, 11, 0), (4, 1, 0), (0, 3, 0)]),
                expect: &[(Kind::EtcdLeaderChurn, Severity::Warning, None)],
                evidence: &[("count_15m", "4"), ("counter_resets", "1")],
            },
            Row {
                name: "a single entry gives no rate",
                sample: same,
                state: |st| counters(st, &[(0, 100, 100)]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "5 failed proposals in 15 min are not above the limit",
                sample: same,
                state: |st| counters(st, &[(10, 2, 10), (0, 2, 15)]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "6 failed proposals in 15 min are",
                sample: same,
                state: |st| counters(st, &[(10, 2, 10), (0, 2, 16)]),
                expect: &[(Kind::EtcdProposalsFailed, Severity::Warning, None)],
                evidence: &[("count_15m", "6")],
            },
        ],
        KINDS,
    );
}

#[test]
fn a_late_sample_with_a_slow_fsync_does_not_override_newer_data() {
    let mut st = super::node_state(0, same);
    let n = edgeward_proto::synthetic::SyntheticNode::new(0);
    let mut late = n.sample(2, UnixMillis(super::START + 15_000 - 1));
    emetrics(&mut late).wal_fsync_p99_secs = Some(5.0);
    st.apply_sample(&late);
    let found = super::super::node(&st, &Default::default(), super::now());
    assert_eq!(super::shape(&found, KINDS), Vec::new());
}
