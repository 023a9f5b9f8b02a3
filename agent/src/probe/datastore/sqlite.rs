//! K3s kine on SQLite: revisions, sizes and a rate-limited integrity check of
//! `<data-dir>/server/db/state.db` (DOMAIN.md §3).
//!
//! | field | source |
//! | --- | --- |
//! | `current_revision` | `SELECT MAX(id) FROM kine` (0 on an empty table) |
//! | `compacted_revision` | `SELECT MAX(prev_revision) FROM kine WHERE name='compact_rev_key'` (NULL → 0) |
//! | `db_bytes`, `wal_bytes` | file sizes of `state.db` and `state.db-wal` (0 when absent) |
//! | `page_size`, `page_count`, `freelist_count` | the `PRAGMA`s of those names |
//! | `quick_check` | `PRAGMA quick_check`, at most every `quick_check_every` |
//!
//! **Never a write lock on the live database** (DOMAIN.md §3: "Open read-only; never take a
//! write lock"): the connection is opened `SQLITE_OPEN_READ_ONLY` without `CREATE`, so SQLite
//! never starts a write transaction, never checkpoints and never deletes the WAL on close.
//! In WAL mode (kine's `_journal=WAL`) a reader holds only a WAL read lock: kine's writes and
//! commits proceed while the probe reads. All queries run in one read transaction, so they
//! see one snapshot. Not `immutable=1`: the file changes under us.
//!
//! **Cost.** The revision queries walk one index path; `quick_check` reads the whole file
//! (and, while it runs, a kine `wal_checkpoint(FULL)` after compaction waits for it), hence
//! the rate limit, and the size cap above which it is `Skipped` instead.
//!
//! A missing file is `NotFound`; garbage, a truncated file or a damaged page give
//! `Unparseable` (SQLite's `NOTADB`/`CORRUPT`) or a quick check with `ok: false`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgeward_proto::datastore::{IntegrityCheck, Sqlite};
use edgeward_proto::{Section, Seq, UnavailableReason};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::error::{DatastoreError, cut};
use crate::probe::{ProbeError, io_reason};

/// Lines of a failed `quick_check` answer kept in `message`.
const CHECK_LINES: usize = 10;
/// Bytes of a failed `quick_check` answer kept in `message`.
const CHECK_BYTES: usize = 1024;

/// How the kine database is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long SQLite waits on a lock before giving up. Default 250 ms: in WAL mode a reader
    /// waits only around WAL recovery or a truncating checkpoint.
    pub busy_timeout: Duration,
    /// Minimum time between two `PRAGMA quick_check` runs. Default 1 hour: it reads the whole
    /// file, tens of MB on a typical edge server, seconds on an SD card.
    pub quick_check_every: Duration,
    /// Above this `state.db` size the check is `Skipped`. Default 1 GiB.
    pub quick_check_max_bytes: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_millis(250),
            quick_check_every: Duration::from_secs(3600),
            quick_check_max_bytes: 1 << 30,
        }
    }
}

/// A read-only connection to a kine database.
#[derive(Debug)]
pub struct KineReader {
    conn: Connection,
    path: PathBuf,
}

/// What one read returns, before the quick check is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KineStats {
    pub current_revision: i64,
    pub compacted_revision: i64,
    pub page_size: u64,
    pub page_count: u64,
    pub freelist_count: u64,
}

impl KineReader {
    /// Opens `path` (as the agent sees it) read-only. A missing file is an error, never created.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Self, DatastoreError> {
        let fail = |op, source| DatastoreError::Sqlite {
            path: path.to_owned(),
            op,
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| fail("open", e))?;
        conn.busy_timeout(busy_timeout)
            .map_err(|e| fail("busy_timeout", e))?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    fn fail(&self, op: &'static str) -> impl FnOnce(rusqlite::Error) -> DatastoreError + '_ {
        move |source| DatastoreError::Sqlite {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// Revisions and page counts, from one read snapshot.
    pub fn stats(&self) -> Result<KineStats, DatastoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(self.fail("begin read"))?;
        let tables: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kine'",
                [],
                |r| r.get(0),
            )
            .map_err(self.fail("look up the kine table"))?;
        if tables == 0 {
            return Err(DatastoreError::Shape {
                path: self.path.clone(),
                what: "SQLite database without a kine table".into(),
            });
        }
        let current: Option<i64> = tx
            .query_row("SELECT MAX(id) FROM kine", [], |r| r.get(0))
            .map_err(self.fail("SELECT MAX(id) FROM kine"))?;
        let compacted: Option<i64> = tx
            .query_row(
                "SELECT MAX(prev_revision) FROM kine WHERE name = 'compact_rev_key'",
                [],
                |r| r.get(0),
            )
            .map_err(self.fail("read compact_rev_key"))?;
        let pragma = |name: &'static str| -> Result<u64, DatastoreError> {
            let v: i64 = tx
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(self.fail(name))?;
            u64::try_from(v).map_err(|_| DatastoreError::Shape {
                path: self.path.clone(),
                what: format!("PRAGMA {name} is negative"),
            })
        };
        let stats = KineStats {
            current_revision: current.unwrap_or(0),
            compacted_revision: compacted.unwrap_or(0),
            page_size: pragma("page_size")?,
            page_count: pragma("page_count")?,
            freelist_count: pragma("freelist_count")?,
        };
        tx.finish().map_err(self.fail("end read"))?;
        Ok(stats)
    }

    /// Runs `PRAGMA quick_check`. SQLite refusing the file as corrupt is a failed check
    /// (`ok: false` with its message), not an unavailable one.
    pub fn quick_check(&self) -> Result<IntegrityCheck, DatastoreError> {
        let started = Instant::now();
        let answer = (|| -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare("PRAGMA quick_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut lines = Vec::new();
            for row in rows {
                // Keep reading to the end (the check's duration is the whole check), but keep
                // only the first lines.
                let line = row?;
                if lines.len() < CHECK_LINES {
                    lines.push(line);
                }
            }
            Ok(lines)
        })();
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let lines = match answer {
            Ok(lines) => lines,
            Err(e) if is_corrupt(&e) => vec![e.to_string()],
            Err(e) => return Err(self.fail("PRAGMA quick_check")(e)),
        };
        let ok = lines.len() == 1 && lines[0] == "ok";
        let message = if ok {
            String::new()
        } else {
            cut(lines.join("\n"), CHECK_BYTES)
        };
        Ok(IntegrityCheck {
            ok,
            message,
            duration_ms,
        })
    }
}

fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// The rate limit of the quick check and what the last one shipped in.
#[derive(Debug, Default)]
pub struct QuickCheckSchedule {
    last_run: Option<Instant>,
    /// A result put into a sample whose append has not been confirmed: shipped again until
    /// it is (the `Probe::appended` contract).
    pending: Option<IntegrityCheck>,
    shipped_this_cycle: bool,
    last_seq: Option<Seq>,
}

impl QuickCheckSchedule {
    /// The `quick_check` section for this cycle at `now`, running the check when due.
    fn section(
        &mut self,
        reader: &KineReader,
        db_bytes: u64,
        options: &SqliteOptions,
        now: Instant,
    ) -> Section<IntegrityCheck> {
        if let Some(pending) = &self.pending {
            self.shipped_this_cycle = true;
            return Section::Data(pending.clone());
        }
        let due = self
            .last_run
            .is_none_or(|t| now.saturating_duration_since(t) >= options.quick_check_every);
        if !due {
            return Section::NotDue {
                last: self.last_seq,
            };
        }
        if db_bytes > options.quick_check_max_bytes {
            return Section::unavailable(
                UnavailableReason::Skipped,
                format!(
                    "state.db is {db_bytes} bytes, above quick_check_max_bytes {}",
                    options.quick_check_max_bytes
                ),
            );
        }
        // A failed attempt is retried next cycle; a finished check waits for the interval.
        match reader.quick_check() {
            Ok(check) => {
                self.last_run = Some(now);
                self.pending = Some(check.clone());
                self.shipped_this_cycle = true;
                Section::Data(check)
            }
            Err(e) => e.to_section(),
        }
    }

    /// Call at the start of every cycle.
    pub fn begin_cycle(&mut self) {
        self.shipped_this_cycle = false;
    }

    /// The cycle's sample is durable under `seq`.
    pub fn appended(&mut self, seq: Seq) {
        if std::mem::take(&mut self.shipped_this_cycle) {
            self.pending = None;
            self.last_seq = Some(seq);
        }
    }
}

/// Reads the kine database at `path` (where the agent sees the host's `state.db`).
pub fn observe(
    path: &Path,
    options: &SqliteOptions,
    schedule: &mut QuickCheckSchedule,
    now: Instant,
) -> Section<Sqlite> {
    match read(path, options, schedule, now) {
        Ok(sqlite) => Section::Data(sqlite),
        Err(e) => e.to_section(),
    }
}

fn read(
    path: &Path,
    options: &SqliteOptions,
    schedule: &mut QuickCheckSchedule,
    now: Instant,
) -> Result<Sqlite, DatastoreError> {
    let db_bytes = file_size(path)?.ok_or_else(|| ProbeError::Read {
        path: path.to_owned(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_bytes = file_size(Path::new(&wal))?.unwrap_or(0);
    let reader = KineReader::open(path, options.busy_timeout)?;
    let stats = reader.stats()?;
    let quick_check = schedule.section(&reader, db_bytes, options, now);
    Ok(Sqlite {
        current_revision: stats.current_revision,
        compacted_revision: stats.compacted_revision,
        db_bytes,
        wal_bytes,
        page_size: stats.page_size,
        page_count: stats.page_count,
        freelist_count: stats.freelist_count,
        quick_check,
    })
}

/// The size of `path`, `None` when it does not exist.
fn file_size(path: &Path) -> Result<Option<u64>, ProbeError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if io_reason(e.kind()) == UnavailableReason::NotFound => Ok(None),
        Err(source) => Err(ProbeError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}
