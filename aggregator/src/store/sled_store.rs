//! [`SledStore`]: the default, embedded [`Store`] on sled under the data directory.
//!
//! Invariants:
//! - **One writer per node.** `ingest` holds the node's stripe of [`NODE_LOCKS`] mutexes
//!   while it reads and writes the node's keys, so a retry racing its original cannot store
//!   anything twice; nodes on other stripes ingest in parallel. The mutexes guard no data:
//!   a panic inside an ingest leaves the tree unchanged (it writes with one atomic
//!   `apply_batch` at the end), so a poisoned stripe is taken over as is.
//! - **Nothing is reported before it is durable.** Every `ingest` flushes after its write
//!   and before returning `Ok`. The flush runs after the lock is released, so concurrent
//!   ingests share fsyncs; a racing retry that finds the original's samples already written
//!   counts them as duplicates and acks them only after its own flush, which covers them.
//! - **Central data is never deleted to recover.** A directory that does not open, holds
//!   another layout version or foreign data is an error for the operator.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use edgeward_proto::{Batch, NodeId, Seq, StreamId, UnixMillis};
use tracing::info;

use super::error::{StoreError, io};
use super::view::{IngestOutcome, NodeDetail, NodeSummary, StoreStats, StoredSample};
use super::{Store, StoreOptions, ingest, keys, query, record};

/// Number of lock stripes: enough that unrelated nodes rarely wait on each other.
pub const NODE_LOCKS: usize = 64;

/// The embedded store.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    history_per_node: u64,
    locks: Box<[Mutex<()>]>,
}

impl SledStore {
    /// Opens the store in `dir`, creating the directory and an empty store if needed.
    ///
    /// Fails when the directory cannot be created, sled cannot open it (another process
    /// has it open, damaged files), or it holds another layout version or foreign data.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(opts.cache_bytes)
            .open()
            .map_err(|source| StoreError::Open {
                path: dir.to_owned(),
                source,
            })?;
        check_schema(&db, dir)?;
        info!(
            path = %dir.display(),
            history_per_node = opts.history_per_node.get(),
            "Store opened"
        );
        Ok(Self {
            db,
            path: dir.to_owned(),
            history_per_node: u64::from(opts.history_per_node.get()),
            locks: (0..NODE_LOCKS).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self, node: &NodeId) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        node.hash(&mut hasher);
        // `locks` has NODE_LOCKS (> 0) entries, so the index is always in range.
        let stripe = (hasher.finish() % NODE_LOCKS as u64) as usize;
        self.locks[stripe]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes the layout version into an empty store; refuses another version or foreign data.
fn check_schema(db: &sled::Db, dir: &Path) -> Result<(), StoreError> {
    let found = db.get(keys::SCHEMA).map_err(|source| StoreError::Open {
        path: dir.to_owned(),
        source,
    })?;
    match found {
        Some(bytes) => {
            let found: u32 = record::decode("layout version", keys::SCHEMA, &bytes)?;
            if found != keys::SCHEMA_VERSION {
                return Err(StoreError::Schema {
                    path: dir.to_owned(),
                    found,
                    expected: keys::SCHEMA_VERSION,
                });
            }
        }
        None if db.is_empty() => {
            let version = record::encode("layout version", &keys::SCHEMA_VERSION)?;
            db.insert(keys::SCHEMA, version)
                .map_err(io("writing the layout version"))?;
            db.flush().map_err(io("flushing the layout version"))?;
        }
        None => {
            return Err(StoreError::Foreign {
                path: dir.to_owned(),
            });
        }
    }
    Ok(())
}

impl Store for SledStore {
    fn ingest(&self, batch: &Batch, received_at: UnixMillis) -> Result<IngestOutcome, StoreError> {
        let outcome = {
            let _node = self.lock(&batch.header.node);
            ingest::ingest(&self.db, self.history_per_node, batch, received_at)?
        };
        self.db.flush().map_err(io("flushing an ingested batch"))?;
        Ok(outcome)
    }

    fn nodes(&self) -> Result<Vec<NodeSummary>, StoreError> {
        query::nodes(&self.db)
    }

    fn node(&self, id: &NodeId) -> Result<Option<NodeDetail>, StoreError> {
        query::node(&self.db, id)
    }

    fn samples(
        &self,
        id: &NodeId,
        after: Option<(StreamId, Seq)>,
        limit: usize,
    ) -> Result<Vec<StoredSample>, StoreError> {
        query::samples(&self.db, id, after, limit)
    }

    fn recent(&self, id: &NodeId, limit: usize) -> Result<Vec<StoredSample>, StoreError> {
        query::recent(&self.db, id, limit)
    }

    fn sample_at(
        &self,
        id: &NodeId,
        stream: StreamId,
        seq: Seq,
    ) -> Result<Option<StoredSample>, StoreError> {
        query::sample_at(&self.db, id, stream, seq)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let bytes = self
            .db
            .size_on_disk()
            .map_err(io("measuring the size on disk"))?;
        query::stats(&self.db, bytes)
    }
}
