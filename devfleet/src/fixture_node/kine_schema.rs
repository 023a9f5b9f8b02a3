//! kine's SQLite schema and insert statement, verbatim from k3s-io/kine
//! (`pkg/drivers/sqlite/sqlite.go` for the table and indexes, `pkg/drivers/generic/generic.go`
//! for the insert). One copy: devfleet's fixture database and the agent's SQLite probe tests
//! (which include this file by path; they cannot depend on devfleet) both write through it.

/// kine's SQLite schema, statement for statement.
pub const KINE_SCHEMA: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS kine
        (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name INTEGER,
            created INTEGER,
            deleted INTEGER,
            create_revision INTEGER,
            prev_revision INTEGER,
            lease INTEGER,
            value BLOB,
            old_value BLOB
        )",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision)",
];
/// kine's insert.
pub const KINE_INSERT: &str = "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value) values(?, ?, ?, ?, ?, ?, ?, ?)";
