//! The kine/SQLite part of the datastore probe against real SQLite files written with kine's
//! schema (k3s-io/kine `pkg/drivers/sqlite/sqlite.go`: the same CREATE TABLE and indexes, WAL
//! journal, rows inserted with kine's column list), including a live writer and damaged files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use edgeward_agent::probe::datastore::sqlite::{
    self, KineReader, QuickCheckSchedule, SqliteOptions,
};
use edgeward_agent::probe::datastore::{DatastoreOptions, DatastoreProbe};
use edgeward_agent::probe::{HostRoot, Probe, blank_sample};
use edgeward_proto::datastore::{Datastore, IntegrityCheck, Sqlite};
use edgeward_proto::{Section, Seq, UnavailableReason, UnixMillis};
use rusqlite::Connection;

#[path = "probe_sqlite/kine.rs"]
mod kine;

use kine::{KINE_SCHEMA, Kine, big_db};

/// A K3s server host tree ready for `state.db`; returns the tree and the db path.
fn k3s_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_dir = dir.path().join("var/lib/rancher/k3s/server/db");
    fs::create_dir_all(&db_dir).expect("mkdir");
    fs::create_dir_all(dir.path().join("etc/rancher/k3s")).expect("mkdir");
    (dir, db_dir.join("state.db"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn probe(root: &Path, options: DatastoreOptions, rt: &tokio::runtime::Runtime) -> DatastoreProbe {
    DatastoreProbe::new(HostRoot::new(root), options, rt.handle().clone())
}

/// The kine section of one observation at `now`.
fn observe(p: &mut DatastoreProbe, now: Instant) -> Section<Sqlite> {
    let mut sample = blank_sample(UnixMillis(1_700_000_000_000));
    p.observe_at(&mut sample, now);
    match sample.datastore {
        Section::Data(h) => match h.kind {
            Datastore::KineSqlite(s) => s,
            other => panic!("expected kine, got {other:?}"),
        },
        other => panic!("expected data, got {other:?}"),
    }
}

fn data(s: Section<Sqlite>) -> Sqlite {
    match s {
        Section::Data(d) => d,
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn current_and_compacted_revisions_are_exact() {
    let (tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    // Never compacted: compact_rev_key's prev_revision is 0.
    let fresh = data(observe(&mut p, Instant::now()));
    assert_eq!((fresh.current_revision, fresh.compacted_revision), (1, 0));
    for i in 0..20 {
        kine.put(
            &format!("/registry/pods/default/p{}", i % 7),
            format!("v{i}").as_bytes(),
        );
    }
    kine.compact(15);
    let s = data(observe(&mut p, Instant::now()));
    assert_eq!((s.current_revision, s.compacted_revision), (21, 15));
    assert_eq!(s.page_size, 4096);
    assert!(s.page_count > 0 && s.db_bytes > 0, "{s:?}");
    assert!(
        s.wal_bytes > 0,
        "the writer is open, its WAL not checkpointed away: {s:?}"
    );
    assert!(s.freelist_count <= s.page_count);
    assert_eq!(
        s.quick_check.data().map(|c| (c.ok, c.message.as_str())),
        Some((true, ""))
    );
}

#[test]
fn a_kine_table_without_rows_or_compact_row_reports_zero_revisions() {
    let (tree, db) = k3s_tree();
    let conn = Connection::open(&db).expect("open");
    conn.execute_batch("PRAGMA journal_mode=WAL;").expect("wal");
    for stmt in KINE_SCHEMA {
        conn.execute_batch(stmt).expect("schema");
    }
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    let s = data(observe(&mut p, Instant::now()));
    assert_eq!((s.current_revision, s.compacted_revision), (0, 0));
}

#[test]
fn compaction_lag_is_the_revisions_written_since_the_compact_row() {
    let (tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    let keys = 50;
    for i in 0..200 {
        kine.put(
            &format!("/registry/leases/kube-node-lease/n{}", i % keys),
            b"renew",
        );
    }
    kine.compact(150);
    kine.conn.execute_batch("BEGIN").expect("begin");
    for i in 0..5000 {
        kine.put(
            &format!("/registry/leases/kube-node-lease/n{}", i % keys),
            b"renew",
        );
    }
    kine.conn.execute_batch("COMMIT").expect("commit");
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    let s = data(observe(&mut p, Instant::now()));
    assert_eq!(s.compacted_revision, 150);
    assert_eq!(s.current_revision, 5201);
    assert_eq!(s.current_revision - s.compacted_revision, 5051);
}

#[test]
fn reader_never_blocks_a_writer_holding_a_write_transaction() {
    let (_tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    for i in 0..10 {
        kine.put(&format!("/registry/k{i}"), b"v");
    }
    // The writer holds the write lock with uncommitted rows.
    kine.conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    for i in 0..10 {
        kine.put(&format!("/registry/k{i}"), b"w");
    }
    let reader = KineReader::open(&db, Duration::from_millis(250)).expect("open read-only");
    let before = reader
        .stats()
        .expect("reads beside an open write transaction");
    assert_eq!(
        before.current_revision, 11,
        "sees the committed snapshot only"
    );
    // The reader's connection stays open; the writer commits with busy_timeout 0, so any lock
    // the reader held against it would fail here at once.
    kine.conn
        .execute_batch("COMMIT")
        .expect("commit while the probe's connection is open");
    assert_eq!(reader.stats().expect("stats").current_revision, 21);
    // Another whole write transaction, and a compaction, with the reader still open.
    kine.put("/registry/k0", b"x");
    kine.compact(20);
    let after = reader.stats().expect("stats");
    assert_eq!((after.current_revision, after.compacted_revision), (22, 20));
    assert!(reader.quick_check().expect("check").ok);
}

#[test]
fn writer_commits_never_fail_while_the_probe_runs_full_checks_concurrently() {
    let (tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    for i in 0..2000 {
        kine.put(
            &format!("/registry/configmaps/ns/c{}", i % 300),
            &[b'x'; 300],
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(2));
    let writer = {
        let (stop, start) = (stop.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut commits = 0u32;
            while !stop.load(Ordering::Relaxed) || commits < 50 {
                kine.conn
                    .execute_batch("BEGIN IMMEDIATE")
                    .expect("write lock never refused");
                kine.put(&format!("/registry/events/e{commits}"), b"event");
                kine.conn
                    .execute_batch("COMMIT")
                    .expect("commit never refused");
                commits += 1;
            }
            (commits, kine.conn.last_insert_rowid())
        })
    };
    let rt = runtime();
    let options = DatastoreOptions {
        sqlite: SqliteOptions {
            quick_check_every: Duration::ZERO,
            ..SqliteOptions::default()
        },
        ..DatastoreOptions::default()
    };
    let mut p = probe(tree.path(), options, &rt);
    start.wait();
    let mut last = 0;
    for cycle in 0..20 {
        let s = data(observe(&mut p, Instant::now()));
        assert!(s.current_revision >= last, "revisions never go back");
        last = s.current_revision;
        assert!(
            s.quick_check.data().is_some_and(|c| c.ok),
            "{:?}",
            s.quick_check
        );
        p.appended(Seq(cycle + 1));
    }
    stop.store(true, Ordering::Relaxed);
    let (commits, last_id) = writer.join().expect("writer thread");
    assert!(commits >= 50);
    let final_rev = data(observe(&mut p, Instant::now())).current_revision;
    assert_eq!(final_rev, last_id);
}

#[test]
fn the_probe_neither_creates_nor_changes_database_files() {
    let (tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    kine.put("/registry/a", b"1");
    drop(kine); // closes cleanly: WAL checkpointed and removed
    let bytes = fs::read(&db).expect("read");
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    assert_eq!(data(observe(&mut p, Instant::now())).current_revision, 2);
    assert_eq!(fs::read(&db).expect("read"), bytes, "state.db unchanged");
    let missing = db.with_file_name("gone.db");
    let section = sqlite::observe(
        &missing,
        &SqliteOptions::default(),
        &mut QuickCheckSchedule::default(),
        Instant::now(),
    );
    assert!(
        matches!(&section, Section::Unavailable(u) if u.reason == UnavailableReason::NotFound),
        "{section:?}"
    );
    assert!(!missing.exists(), "a missing database is never created");
}

/// Damaged `state.db` files: each gives a clear Unavailable or a failed quick check.
#[test]
fn damaged_files_never_panic_and_never_pass() {
    let rt = runtime();
    let garbage: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    type Damage = fn(&Path, &[u8]);
    let cases: [(&str, Damage); 4] = [
        ("garbage", |db, g| fs::write(db, g).expect("write")),
        ("truncated", |db, _| {
            big_db(db, 2000);
            let len = fs::metadata(db).expect("meta").len();
            fs::File::options()
                .write(true)
                .open(db)
                .expect("open")
                .set_len(len / 2)
                .expect("truncate");
        }),
        ("flipped page", |db, g| {
            big_db(db, 2000);
            let mut bytes = fs::read(db).expect("read");
            let at = (bytes.len() / 4096 / 2) * 4096;
            bytes[at..at + 4096].copy_from_slice(&g[..4096]);
            fs::write(db, bytes).expect("write");
        }),
        ("another format", |db, _| {
            fs::write(db, b"SQLite format 2\0not really").expect("write")
        }),
    ];
    for (name, damage) in cases {
        let (tree, db) = k3s_tree();
        damage(&db, &garbage);
        let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
        match observe(&mut p, Instant::now()) {
            Section::Unavailable(u) => {
                assert!(
                    matches!(
                        u.reason,
                        UnavailableReason::Unparseable | UnavailableReason::Failed
                    ),
                    "{name}: {u:?}"
                );
                assert!(u.detail.contains("state.db"), "{name}: {}", u.detail);
                eprintln!("{name}: {:?}: {}", u.reason, u.detail);
            }
            Section::Data(s) => match s.quick_check {
                Section::Data(IntegrityCheck {
                    ok: false, message, ..
                }) => {
                    assert!(!message.is_empty(), "{name}");
                    eprintln!("{name}: quick_check: {message}");
                }
                other => panic!("{name}: a damaged file passed: {other:?}"),
            },
            Section::NotDue { .. } => panic!("{name}: the first cycle must check"),
        }
    }
}

#[test]
fn a_sqlite_file_that_is_not_kine_is_unparseable() {
    let (tree, db) = k3s_tree();
    Connection::open(&db)
        .expect("open")
        .execute_batch("CREATE TABLE other(x)")
        .expect("create");
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    let s = observe(&mut p, Instant::now());
    assert!(
        matches!(&s, Section::Unavailable(u)
            if u.reason == UnavailableReason::Unparseable && u.detail.contains("kine table")),
        "{s:?}"
    );
}

#[test]
fn quick_check_runs_hourly_and_ships_again_until_appended() {
    let (tree, db) = k3s_tree();
    let mut kine = Kine::create(&db);
    kine.put("/registry/a", b"1");
    let rt = runtime();
    let mut p = probe(tree.path(), DatastoreOptions::default(), &rt);
    let t0 = Instant::now();
    let min = |m: u64| t0 + Duration::from_secs(60 * m);
    let mut check = |at| data(observe(&mut p, at)).quick_check;
    let first = check(t0);
    assert!(matches!(
        first,
        Section::Data(IntegrityCheck { ok: true, .. })
    ));
    p.appended(Seq(7));
    let mut check = |at| data(observe(&mut p, at)).quick_check;
    assert_eq!(check(min(1)), Section::NotDue { last: Some(Seq(7)) });
    p.appended(Seq(8));
    let mut check = |at| data(observe(&mut p, at)).quick_check;
    assert_eq!(check(min(59)), Section::NotDue { last: Some(Seq(7)) });
    // Due again after an hour; this sample's append fails (no `appended`)...
    let fresh = check(min(60));
    assert!(matches!(
        fresh,
        Section::Data(IntegrityCheck { ok: true, .. })
    ));
    // ...so the next cycle ships the same result again rather than NotDue or a new run.
    assert_eq!(check(min(61)), fresh);
    p.appended(Seq(12));
    let mut check = |at| data(observe(&mut p, at)).quick_check;
    assert_eq!(
        check(min(62)),
        Section::NotDue {
            last: Some(Seq(12))
        }
    );
    assert_eq!(
        check(min(119)),
        Section::NotDue {
            last: Some(Seq(12))
        }
    );
    assert!(matches!(check(min(120)), Section::Data(_)));
}

#[test]
fn quick_check_is_skipped_above_the_size_cap() {
    let (tree, db) = k3s_tree();
    Kine::create(&db).put("/registry/a", b"1");
    let rt = runtime();
    let options = DatastoreOptions {
        sqlite: SqliteOptions {
            quick_check_max_bytes: 1,
            ..SqliteOptions::default()
        },
        ..DatastoreOptions::default()
    };
    let mut p = probe(tree.path(), options, &rt);
    let s = data(observe(&mut p, Instant::now()));
    assert!(
        matches!(&s.quick_check, Section::Unavailable(u) if u.reason == UnavailableReason::Skipped),
        "{:?}",
        s.quick_check
    );
}
