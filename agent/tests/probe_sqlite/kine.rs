//! A kine-like SQLite writer for the probe tests: kine's schema and statements
//! (k3s-io/kine `pkg/drivers/sqlite/sqlite.go`, `pkg/drivers/generic/generic.go`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, params};

// The schema has one copy, in devfleet; this test crate cannot depend on devfleet.
#[path = "../../../devfleet/src/fixture_node/kine_schema.rs"]
mod kine_schema;
pub use kine_schema::{KINE_INSERT, KINE_SCHEMA};

/// A kine-like writer: a connection in WAL mode and the latest revision of each key.
pub struct Kine {
    pub conn: Connection,
    /// key → (create revision, latest revision, latest value)
    latest: HashMap<String, (i64, i64, Vec<u8>)>,
}

impl Kine {
    pub fn create(path: &Path) -> Self {
        let conn = Connection::open(path).expect("open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .expect("wal");
        assert_eq!(mode, "wal");
        for stmt in KINE_SCHEMA {
            conn.execute_batch(stmt).expect("schema");
        }
        // Writers must never wait on the probe: any lock conflict fails at once.
        conn.busy_timeout(Duration::ZERO).expect("busy");
        // kine inserts the compact_rev_key row before anything else.
        let none: Option<Vec<u8>> = None;
        conn.execute(
            KINE_INSERT,
            params!["compact_rev_key", 0, 0, 0, 0, 0, none, none],
        )
        .expect("compact row");
        Self {
            conn,
            latest: HashMap::new(),
        }
    }

    /// Creates or updates `key` as kine does; returns the new revision.
    pub fn put(&mut self, key: &str, value: &[u8]) -> i64 {
        let (created, create_rev, prev, old) = match self.latest.get(key) {
            Some((create_rev, prev, old)) => (0, *create_rev, *prev, old.clone()),
            None => (1, 0, 0, Vec::new()),
        };
        self.conn
            .execute(
                KINE_INSERT,
                params![key, created, 0, create_rev, prev, 0, value, old],
            )
            .expect("insert");
        let id = self.conn.last_insert_rowid();
        let create_rev = if created == 1 { id } else { create_rev };
        self.latest
            .insert(key.to_owned(), (create_rev, id, value.to_vec()));
        id
    }

    /// kine's compaction up to `rev`: delete superseded and deleted rows, record the floor.
    pub fn compact(&mut self, rev: i64) {
        let tx = self.conn.transaction().expect("tx");
        tx.execute(
            "DELETE FROM kine AS kv WHERE kv.id IN (
                SELECT kp.prev_revision AS id FROM kine AS kp
                WHERE kp.name != 'compact_rev_key' AND kp.prev_revision != 0 AND kp.id <= ?1
                UNION
                SELECT kd.id AS id FROM kine AS kd WHERE kd.deleted != 0 AND kd.id <= ?1)",
            params![rev],
        )
        .expect("compact");
        tx.execute(
            "UPDATE kine SET prev_revision = ? WHERE name = 'compact_rev_key'",
            params![rev],
        )
        .expect("compact rev");
        tx.commit().expect("commit");
    }
}

/// A closed, checkpointed kine database of about `rows` × 1 KiB.
pub fn big_db(db: &Path, rows: usize) {
    let mut kine = Kine::create(db);
    kine.conn.execute_batch("BEGIN").expect("begin");
    for i in 0..rows {
        kine.put(
            &format!("/registry/secrets/ns/s{i}"),
            &vec![(i % 251) as u8; 1024],
        );
    }
    kine.conn.execute_batch("COMMIT").expect("commit");
    drop(kine);
    assert!(!PathBuf::from(format!("{}-wal", db.display())).exists());
}
