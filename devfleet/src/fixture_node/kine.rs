//! A kine database as a K3s server on SQLite leaves it: kine's exact schema and statements
//! (k3s-io/kine `pkg/drivers/sqlite/sqlite.go` for the table and indexes, WAL journal;
//! `pkg/drivers/generic/generic.go` for the insert and the compaction), filled with a day of a
//! small edge server's writes.
//!
//! The content is deterministic. A bootstrap creates ~400 objects under the real `/registry/`
//! prefixes (namespaces, RBAC, CRDs, API services, pods, secrets, ...); then 2-second ticks
//! renew the leader-election leases (kube-scheduler, kube-controller-manager, k3s, cloud
//! controller), the node lease every 10 s and the node status every minute, record events
//! (with a one-hour lease, deleted again later) and move pods. Halfway through, kine's
//! compaction runs keeping the newest 1,000 revisions, as K3s's compactor does; the rest
//! happens after it, so the table holds live rows, superseded rows newer than the compaction,
//! deleted rows and the `compact_rev_key` row. Values are `k8s\0`-prefixed like the API
//! server's protobuf encoding, with realistic sizes (a lease ~250 B, a pod ~3 KB, the node
//! ~6 KB).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, params};
use thiserror::Error;

#[path = "kine_schema.rs"]
mod kine_schema;
use kine_schema::{KINE_INSERT as INSERT, KINE_SCHEMA as SCHEMA};

/// kine's compaction: superseded and deleted rows up to the revision.
const COMPACT: &str = "DELETE FROM kine AS kv WHERE kv.id IN (
    SELECT kp.prev_revision AS id FROM kine AS kp
    WHERE kp.name != 'compact_rev_key' AND kp.prev_revision != 0 AND kp.id <= ?1
    UNION
    SELECT kd.id AS id FROM kine AS kd WHERE kd.deleted != 0 AND kd.id <= ?1)";
/// kine's record of the compaction floor.
const COMPACT_REV: &str = "UPDATE kine SET prev_revision = ? WHERE name = 'compact_rev_key'";
/// K3s's compactor keeps this many revisions.
const RETAIN: i64 = 1_000;
/// 2-second ticks before and after the compaction (~3 hours in all).
const TICKS_BEFORE: u32 = 1_200;
const TICKS_AFTER: u32 = 300;

/// Why the database could not be written.
#[derive(Debug, Error)]
pub enum KineError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("SQLite chose journal_mode {0}, not wal")]
    NotWal(String),
}

/// What was written: the figures the datastore probe must report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KineContent {
    /// The newest revision (`MAX(id)`).
    pub current_revision: i64,
    /// The compaction floor recorded in `compact_rev_key`.
    pub compacted_revision: i64,
    /// Rows in the table, `compact_rev_key` included.
    pub rows: u64,
    /// Keys whose newest row is not a deletion.
    pub live_keys: u64,
}

/// Creates `path` with kine's schema and content; returns the open writer (a live K3s keeps
/// it open, so the WAL stays) and what it wrote.
pub fn create(path: &Path) -> Result<(Connection, KineContent), KineError> {
    let mut kine = Kine::create(path)?;
    let mut rng = Rng(0x6b69_6e65_2d65_6467);
    bootstrap(&mut kine, &mut rng)?;
    for tick in 0..TICKS_BEFORE {
        kine.tick(tick, &mut rng)?;
    }
    let floor = kine.revision - RETAIN;
    kine.compact(floor)?;
    for tick in TICKS_BEFORE..TICKS_BEFORE + TICKS_AFTER {
        kine.tick(tick, &mut rng)?;
    }
    let rows: i64 = kine
        .conn
        .query_row("SELECT count(*) FROM kine", [], |r| r.get(0))?;
    let content = KineContent {
        current_revision: kine.revision,
        compacted_revision: floor,
        rows: u64::try_from(rows).unwrap_or(0),
        live_keys: kine.latest.values().filter(|k| !k.deleted).count() as u64,
    };
    Ok((kine.conn, content))
}

/// A deterministic xorshift generator: the same database on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The newest row of a key.
struct Latest {
    create_revision: i64,
    revision: i64,
    value: Vec<u8>,
    deleted: bool,
}

/// A kine-like writer: each write one insert, as kine does.
struct Kine {
    conn: Connection,
    latest: HashMap<String, Latest>,
    revision: i64,
}

impl Kine {
    fn create(path: &Path) -> Result<Self, KineError> {
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            return Err(KineError::NotWal(mode));
        }
        for stmt in SCHEMA {
            conn.execute_batch(stmt)?;
        }
        // kine inserts the compact_rev_key row before anything else.
        let none: Option<Vec<u8>> = None;
        conn.execute(
            INSERT,
            params!["compact_rev_key", 0, 0, 0, 0, 0, none, none],
        )?;
        Ok(Self {
            revision: conn.last_insert_rowid(),
            conn,
            latest: HashMap::new(),
        })
    }

    /// Creates or updates `key` (kine's Create and Update); `lease` in seconds, 0 for none.
    fn put(&mut self, key: &str, value: Vec<u8>, lease: i64) -> rusqlite::Result<()> {
        let (created, create_rev, prev, old) = match self.latest.get(key) {
            Some(l) if !l.deleted => (0, l.create_revision, l.revision, l.value.clone()),
            // A create after a delete names the deletion as its previous revision.
            Some(l) => (1, 0, l.revision, Vec::new()),
            None => (1, 0, 0, Vec::new()),
        };
        self.conn.execute(
            INSERT,
            params![key, created, 0, create_rev, prev, lease, value, old],
        )?;
        self.revision = self.conn.last_insert_rowid();
        let create_revision = if created == 1 {
            self.revision
        } else {
            create_rev
        };
        self.latest.insert(
            key.to_owned(),
            Latest {
                create_revision,
                revision: self.revision,
                value,
                deleted: false,
            },
        );
        Ok(())
    }

    /// kine's Delete: a row with `deleted = 1` carrying the last value.
    fn delete(&mut self, key: &str) -> rusqlite::Result<()> {
        let Some(l) = self.latest.get_mut(key).filter(|l| !l.deleted) else {
            return Ok(());
        };
        self.conn.execute(
            INSERT,
            params![
                key,
                0,
                1,
                l.create_revision,
                l.revision,
                0,
                l.value,
                l.value
            ],
        )?;
        self.revision = self.conn.last_insert_rowid();
        l.revision = self.revision;
        l.deleted = true;
        Ok(())
    }

    fn compact(&mut self, rev: i64) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(COMPACT, params![rev])?;
        tx.execute(COMPACT_REV, params![rev])?;
        tx.commit()
    }

    /// Two seconds of a running server's writes, in one transaction (kine commits each write
    /// on its own; the rows are the same, the fixture is just built faster).
    fn tick(&mut self, tick: u32, rng: &mut Rng) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN")?;
        for name in [
            "kube-scheduler",
            "kube-controller-manager",
            "k3s",
            "k3s-cloud-controller-manager",
        ] {
            let key = format!("/registry/leases/kube-system/{name}");
            self.put(
                &key,
                object("coordination.k8s.io/v1", "Lease", name, 250, rng),
                0,
            )?;
        }
        if tick.is_multiple_of(5) {
            let key = "/registry/leases/kube-node-lease/edge-srv-1";
            self.put(
                key,
                object("coordination.k8s.io/v1", "Lease", "edge-srv-1", 240, rng),
                0,
            )?;
        }
        if tick.is_multiple_of(30) {
            let node = object("v1", "Node", "edge-srv-1", 6_000, rng);
            self.put("/registry/minions/edge-srv-1", node, 0)?;
        }
        if rng.below(4) == 0 {
            let pod = POD_NAMES[rng.below(POD_NAMES.len() as u64) as usize];
            let event = format!("/registry/events/kube-system/{pod}.{:016x}", rng.next());
            self.put(&event, object("v1", "Event", pod, 700, rng), 3_600)?;
        }
        if tick.is_multiple_of(15) {
            // Events expire after their lease: delete the oldest still live.
            let oldest = self
                .latest
                .iter()
                .filter(|(k, l)| k.starts_with("/registry/events/") && !l.deleted)
                .min_by_key(|(_, l)| l.revision)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.delete(&oldest)?;
            }
        }
        if rng.below(20) == 0 {
            let pod = POD_NAMES[rng.below(POD_NAMES.len() as u64) as usize];
            let key = format!("/registry/pods/kube-system/{pod}");
            self.put(&key, object("v1", "Pod", pod, 3_000, rng), 0)?;
        }
        self.conn.execute_batch("COMMIT")
    }
}

const POD_NAMES: [&str; 8] = [
    "coredns-ccb96694c-x7k2p",
    "local-path-provisioner-5cf85fd84d-9qz4m",
    "metrics-server-5985cbc9d7-h2lnv",
    "svclb-ingress-7f3c2-8w5dq",
    "node-exporter-l4b9x",
    "fluent-bit-2xj7r",
    "edge-gateway-6d9f8b7c54-tm2wz",
    "mqtt-broker-0",
];

/// The objects a fresh K3s server with a few apps holds: (prefix, apiVersion, kind, count, size).
#[rustfmt::skip]
const BOOTSTRAP: [(&str, &str, &str, u32, usize); 19] = [
    ("/registry/namespaces/", "v1", "Namespace", 6, 300),
    ("/registry/clusterroles/", "rbac.authorization.k8s.io/v1", "ClusterRole", 72, 900),
    ("/registry/clusterrolebindings/", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", 58, 500),
    ("/registry/roles/kube-system/", "rbac.authorization.k8s.io/v1", "Role", 14, 600),
    ("/registry/rolebindings/kube-system/", "rbac.authorization.k8s.io/v1", "RoleBinding", 16, 500),
    ("/registry/serviceaccounts/kube-system/", "v1", "ServiceAccount", 46, 250),
    ("/registry/secrets/kube-system/", "v1", "Secret", 38, 1_800),
    ("/registry/configmaps/kube-system/", "v1", "ConfigMap", 28, 1_500),
    ("/registry/apiregistration.k8s.io/apiservices/", "apiregistration.k8s.io/v1", "APIService", 26, 400),
    ("/registry/apiextensions.k8s.io/customresourcedefinitions/", "apiextensions.k8s.io/v1", "CustomResourceDefinition", 22, 9_000),
    ("/registry/flowschemas/", "flowcontrol.apiserver.k8s.io/v1", "FlowSchema", 13, 700),
    ("/registry/prioritylevelconfigurations/", "flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", 8, 400),
    ("/registry/priorityclasses/", "scheduling.k8s.io/v1", "PriorityClass", 2, 250),
    ("/registry/services/specs/kube-system/", "v1", "Service", 9, 700),
    ("/registry/services/endpoints/kube-system/", "v1", "Endpoints", 9, 600),
    ("/registry/endpointslices/kube-system/", "discovery.k8s.io/v1", "EndpointSlice", 9, 800),
    ("/registry/deployments/kube-system/", "apps/v1", "Deployment", 6, 2_500),
    ("/registry/replicasets/kube-system/", "apps/v1", "ReplicaSet", 11, 2_200),
    ("/registry/daemonsets/kube-system/", "apps/v1", "DaemonSet", 3, 2_400),
];

fn bootstrap(kine: &mut Kine, rng: &mut Rng) -> rusqlite::Result<()> {
    kine.conn.execute_batch("BEGIN")?;
    for (prefix, api, kind, count, size) in BOOTSTRAP {
        for i in 0..count {
            let name = format!("{}-{i:02}", kind.to_ascii_lowercase());
            let key = format!("{prefix}{name}");
            kine.put(&key, object(api, kind, &name, size, rng), 0)?;
        }
    }
    for pod in POD_NAMES {
        let key = format!("/registry/pods/kube-system/{pod}");
        kine.put(&key, object("v1", "Pod", pod, 3_000, rng), 0)?;
    }
    for (key, size) in [
        ("/registry/minions/edge-srv-1", 6_000),
        ("/registry/ranges/serviceips", 200),
        ("/registry/ranges/servicenodeports", 200),
        ("/registry/masterleases/10.0.0.10", 150),
        ("/registry/health", 50),
    ] {
        kine.put(key, object("v1", "Object", key, size, rng), 0)?;
    }
    kine.conn.execute_batch("COMMIT")
}

/// An object as the API server stores it: `k8s\0`, a type header, the name, then `size`
/// bytes of content in all.
fn object(api: &str, kind: &str, name: &str, size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::with_capacity(size.max(64));
    v.extend_from_slice(b"k8s\0\n");
    for part in [api, kind, name] {
        v.push(u8::try_from(part.len().min(255)).unwrap_or(255));
        v.extend_from_slice(part.as_bytes());
    }
    while v.len() < size {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v
}
