//! kine/SQLite, the disk audit, and datastores that need no checks.

use edgeward_proto::datastore::{Datastore, IntegrityCheck, Sqlite};
use edgeward_proto::{Sample, Section, UnavailableReason, UnixMillis};

use super::{Row, audit, datastore, newest_at, run, same};
use crate::analysis::finding::{Kind, Severity};
use crate::analysis::node::{NodeState, SqliteTrend};

const KINDS: &[Kind] = &[
    Kind::SqliteCompactionLag,
    Kind::SqliteWalGrowth,
    Kind::SqliteIntegrity,
    Kind::DiskSlowFdatasync,
    Kind::Unknown,
];

const MIB: u64 = 1 << 20;

/// The newest sample runs kine/SQLite with this compaction lag and WAL size.
fn sqlite(s: &mut Sample, lag: i64, wal_bytes: u64) {
    datastore(s).kind = Datastore::KineSqlite(Section::Data(Sqlite {
        current_revision: 1_000_000 + lag,
        compacted_revision: 1_000_000,
        db_bytes: 200 * MIB,
        wal_bytes,
        page_size: 4096,
        page_count: 51_200,
        freelist_count: 10,
        quick_check: Section::NotDue { last: None },
    }));
}

/// Adds an entry `min` minutes before the newest sample to the SQLite history.
fn earlier(st: &mut NodeState, min: i64, lag: i64, wal_bytes: u64) {
    st.sqlite.record(
        UnixMillis(newest_at().0 - min * 60_000),
        SqliteTrend { lag, wal_bytes },
    );
}

#[test]
fn sqlite_compaction_lag_and_wal_growth() {
    run(
        &[
            Row {
                name: "a lag of exactly the limit is fine",
                sample: |s| sqlite(s, 100_000, MIB),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a lag above the limit with no trend yet is a warning",
                sample: |s| sqlite(s, 100_001, MIB),
                state: same,
                expect: &[(Kind::SqliteCompactionLag, Severity::Warning, None)],
                evidence: &[("compaction_lag_revisions", "100001")],
            },
            Row {
                name: "a lag above the limit that grew is a warning",
                sample: |s| sqlite(s, 150_000, MIB),
                state: |st| earlier(st, 20, 120_000, MIB),
                expect: &[(Kind::SqliteCompactionLag, Severity::Warning, None)],
                evidence: &[("lag_change_revisions", "30000")],
            },
            Row {
                name: "a lag above the limit that shrank is catching up: information",
                sample: |s| sqlite(s, 150_000, MIB),
                state: |st| earlier(st, 20, 180_000, MIB),
                expect: &[(Kind::SqliteCompactionLag, Severity::Info, None)],
                evidence: &[("lag_change_revisions", "-30000")],
            },
            Row {
                name: "a shrink before the trend window does not count",
                sample: |s| sqlite(s, 150_000, MIB),
                state: |st| earlier(st, 31, 180_000, MIB),
                expect: &[(Kind::SqliteCompactionLag, Severity::Warning, None)],
                evidence: &[],
            },
            Row {
                name: "a WAL of exactly the limit is fine",
                sample: |s| sqlite(s, 1_000, 256 * MIB),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a large WAL with no trend is information",
                sample: |s| sqlite(s, 1_000, 300 * MIB),
                state: same,
                expect: &[(Kind::SqliteWalGrowth, Severity::Info, None)],
                evidence: &[("wal_bytes", "314572800")],
            },
            Row {
                name: "a large WAL that keeps growing is a warning",
                sample: |s| sqlite(s, 1_000, 300 * MIB),
                state: |st| earlier(st, 10, 1_000, 280 * MIB),
                expect: &[(Kind::SqliteWalGrowth, Severity::Warning, None)],
                evidence: &[("wal_change_bytes", "20971520")],
            },
            Row {
                name: "a large WAL that kept its size is information",
                sample: |s| sqlite(s, 1_000, 300 * MIB),
                state: |st| earlier(st, 10, 1_000, 300 * MIB),
                expect: &[(Kind::SqliteWalGrowth, Severity::Info, None)],
                evidence: &[("wal_change_bytes", "0")],
            },
            Row {
                name: "a failed quick_check is critical",
                sample: |s| {
                    sqlite(s, 1_000, MIB);
                    if let Datastore::KineSqlite(Section::Data(q)) = &mut datastore(s).kind {
                        q.quick_check = Section::Data(IntegrityCheck {
                            ok: false,
                            message: "*** in database main ***".to_owned(),
                            duration_ms: 120,
                        });
                    }
                },
                state: same,
                expect: &[(Kind::SqliteIntegrity, Severity::Critical, None)],
                evidence: &[("message", "*** in database main ***")],
            },
            Row {
                name: "a database the agent cannot open is unknown",
                sample: |s| {
                    datastore(s).kind = Datastore::KineSqlite(Section::unavailable(
                        UnavailableReason::PermissionDenied,
                        "state.db",
                    ));
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("datastore/sqlite"))],
                evidence: &[("reason", "permission_denied")],
            },
        ],
        KINDS,
    );
}

const AUDIT_PATH: &str = "/var/lib/rancher/k3s/server/db";

#[test]
fn disk_fdatasync_audit_at_its_boundaries() {
    run(
        &[
            Row {
                name: "p99 of exactly 10 ms is fine",
                sample: |s| datastore(s).disk_audit = Section::Data(audit(10_000)),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "p99 above 10 ms is a warning on the audited path",
                sample: |s| datastore(s).disk_audit = Section::Data(audit(10_001)),
                state: same,
                expect: &[(Kind::DiskSlowFdatasync, Severity::Warning, Some(AUDIT_PATH))],
                evidence: &[("fdatasync_p99_us", "10001"), ("fdatasync_p50_us", "1500")],
            },
            Row {
                name: "p99 of exactly 100 ms is still a warning",
                sample: |s| datastore(s).disk_audit = Section::Data(audit(100_000)),
                state: same,
                expect: &[(Kind::DiskSlowFdatasync, Severity::Warning, Some(AUDIT_PATH))],
                evidence: &[],
            },
            Row {
                name: "p99 above 100 ms (an SD card) is critical",
                sample: |s| datastore(s).disk_audit = Section::Data(audit(100_001)),
                state: same,
                expect: &[(
                    Kind::DiskSlowFdatasync,
                    Severity::Critical,
                    Some(AUDIT_PATH),
                )],
                evidence: &[("fdatasync_max_us", "102001")],
            },
            Row {
                name: "an audit the agent skipped is unknown",
                sample: |s| {
                    datastore(s).disk_audit =
                        Section::unavailable(UnavailableReason::Skipped, "disk 97 % full");
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("disk_audit"))],
                evidence: &[("reason", "skipped")],
            },
            Row {
                name: "a datastore node that never ran the audit is unknown",
                sample: same,
                state: |st| st.disk_audit = Default::default(),
                expect: &[(Kind::Unknown, Severity::Info, Some("disk_audit"))],
                evidence: &[("reason", "never_reported")],
            },
        ],
        KINDS,
    );
}

#[test]
fn nodes_without_a_local_datastore_have_nothing_to_check_there() {
    type Set = fn(&mut Sample);
    let rows: [(&str, Set); 3] = [
        ("a worker", |s| datastore(s).kind = Datastore::None),
        ("an external datastore", |s| {
            datastore(s).kind = Datastore::External {
                scheme: "postgres".to_owned(),
            }
        }),
        ("a datastore probe that does not apply", |s| {
            s.datastore = Section::unavailable(UnavailableReason::NotApplicable, "agent node");
        }),
    ];
    for (name, set) in rows {
        let mut st = super::node_state(0, set);
        st.disk_audit = Default::default();
        let found = super::super::node(&st, &Default::default(), super::now());
        assert_eq!(found, Vec::new(), "{name}");
    }
}
