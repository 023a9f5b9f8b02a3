//! The datastore probe: which datastore the node runs and how healthy it is (DOMAIN.md §3),
//! plus the fdatasync audit of the disk it lives on; fills `Sample.datastore`.
//!
//! | part | module | source |
//! | --- | --- | --- |
//! | kind | [`detect`] | K3s config and unit files, `server/db/{state.db,etcd/member}`, MicroK8s `backend/cluster.yaml` (precedence in [`detect`]) |
//! | kine/SQLite | [`sqlite`] | `<data-dir>/server/db/state.db`, read-only |
//! | etcd | [`etcd`] | `https://127.0.0.1:2379` (health, status, alarms, members), `http://127.0.0.1:2381/metrics` |
//! | etcd snapshots | [`snapshots`] | `etcd-snapshot-dir`, default `<data-dir>/server/db/snapshots` |
//! | dqlite | [`dqlite`] | MicroK8s `backend/{info,cluster}.yaml`, `var/lock/ha-cluster` |
//! | disk audit | [`crate::probe::disk_audit`] | writes in the datastore's directory: K3s `<data-dir>/server/db`, MicroK8s `backend/` |
//!
//! **Sections.** The whole section is `Unavailable` only when the kind is unknown: no K3s or
//! MicroK8s under the host root (`NotApplicable`), a K3s server directory without any
//! datastore the probe can see (`NotFound`), or a K3s config that cannot be read (its reason).
//! Once the kind is known it is reported, and each source below it is its own section. A
//! node without a local datastore (`None`, `External`) has the disk audit `NotApplicable`.
//!
//! **Time.** [`DatastoreProbe::observe_at`] takes the monotonic instant the rate limits
//! (quick check, disk audit) are measured against, so tests inject time; `observe` passes
//! `Instant::now()`.
//!
//! **Runtime.** `observe` must run on a blocking thread (the sampler's `spawn_blocking`): the
//! etcd requests are driven with `Handle::block_on` on the runtime handed to
//! [`DatastoreProbe::new`], which panics inside an async task.

pub mod detect;
pub mod dqlite;
pub mod error;
pub mod etcd;
pub mod snapshots;
pub mod sqlite;
mod yaml;

use std::path::PathBuf;
use std::time::Instant;

use edgeward_proto::datastore::{Datastore, DatastoreHealth, DiskAudit as AuditData};
use edgeward_proto::{Sample, Section, Seq, UnavailableReason};
use tokio::runtime::Handle;

use self::detect::{Detected, locate};
use self::etcd::EtcdState;
use self::sqlite::QuickCheckSchedule;
use super::disk_audit::{DiskAudit, DiskAuditOptions};
use super::{HostRoot, Probe};

pub use self::error::DatastoreError;
pub use self::etcd::EtcdOptions;
pub use self::sqlite::SqliteOptions;

/// How the datastore probe looks. Every default suits a stock K3s or MicroK8s node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreOptions {
    /// K3s data directory (host path). Default `None`: K3s's `data-dir` from its config
    /// files, else `/var/lib/rancher/k3s`.
    pub k3s_data_dir: Option<PathBuf>,
    /// kine/SQLite: busy timeout 250 ms, quick check every hour, up to 1 GiB.
    pub sqlite: SqliteOptions,
    /// etcd: endpoints, credentials (default under the K3s data dir), 2 s timeout.
    pub etcd: EtcdOptions,
    /// The disk audit (default every 10 minutes, 200 writes of 2300 bytes); `None` switches it
    /// off (the section then says so). Its `dir` is
    /// ignored: the probe sets it to the detected datastore's directory.
    pub disk_audit: Option<DiskAuditOptions>,
}

impl Default for DatastoreOptions {
    fn default() -> Self {
        Self {
            k3s_data_dir: None,
            sqlite: SqliteOptions::default(),
            etcd: EtcdOptions::default(),
            disk_audit: Some(DiskAuditOptions::default()),
        }
    }
}

/// Fills `Sample.datastore`. Holds the rate limits, the etcd clients and the previous etcd
/// histograms between cycles.
#[derive(Debug)]
pub struct DatastoreProbe {
    root: HostRoot,
    options: DatastoreOptions,
    runtime: Handle,
    quick_check: QuickCheckSchedule,
    etcd: EtcdState,
    /// The audit and the host directory it was built for.
    audit: Option<(PathBuf, DiskAudit)>,
    /// This cycle's sample carries the audit's section.
    audit_in_sample: bool,
}

impl DatastoreProbe {
    pub fn new(root: HostRoot, options: DatastoreOptions, runtime: Handle) -> Self {
        Self {
            root,
            options,
            runtime,
            quick_check: QuickCheckSchedule::default(),
            etcd: EtcdState::default(),
            audit: None,
            audit_in_sample: false,
        }
    }

    /// One observation, with rate limits measured against `now`.
    pub fn observe_at(&mut self, sample: &mut Sample, now: Instant) {
        self.quick_check.begin_cycle();
        self.audit_in_sample = false;
        sample.datastore = self.health(now);
    }

    fn health(&mut self, now: Instant) -> Section<DatastoreHealth> {
        let root = &self.root;
        let detected = match detect::detect(root, self.options.k3s_data_dir.as_deref()) {
            Ok(d) => d,
            Err(e) => return e.to_section(),
        };
        let (kind, dir) = match detected {
            Detected::NoCluster => {
                return Section::unavailable(
                    UnavailableReason::NotApplicable,
                    format!("no K3s or MicroK8s under {}", root.as_path().display()),
                );
            }
            Detected::ServerWithoutDatastore { server_dir } => {
                return Section::unavailable(
                    UnavailableReason::NotFound,
                    format!(
                        "K3s server directory {} has no db/state.db and no db/etcd/member, and no \
                         datastore-endpoint is set in config.yaml, config.yaml.d, k3s.service or \
                         k3s.service.env",
                        server_dir.display()
                    ),
                );
            }
            Detected::None => (Datastore::None, None),
            Detected::External { scheme } => (Datastore::External { scheme }, None),
            Detected::KineSqlite(server) => {
                let db = server.db_dir().join("state.db");
                let section = match locate(root, &db) {
                    Ok(Some(path)) => {
                        sqlite::observe(&path, &self.options.sqlite, &mut self.quick_check, now)
                    }
                    Ok(None) => Section::unavailable(
                        UnavailableReason::NotFound,
                        format!("{} disappeared", db.display()),
                    ),
                    Err(e) => e.to_section(),
                };
                (Datastore::KineSqlite(section), Some(server.db_dir()))
            }
            Detected::Etcd(server) => {
                let etcd = self
                    .etcd
                    .observe(root, &server, &self.options.etcd, &self.runtime);
                (Datastore::Etcd(Box::new(etcd)), Some(server.db_dir()))
            }
            // The audit writes beside dqlite's `backend/`, never inside it: dqlite owns
            // every file there.
            Detected::Dqlite => (
                Datastore::Dqlite(dqlite::observe(root)),
                dqlite::backend_dir().parent().map(PathBuf::from),
            ),
        };
        let disk_audit = match dir {
            Some(dir) => self.audit(dir, now),
            None => Section::unavailable(
                UnavailableReason::NotApplicable,
                "no local datastore on this node",
            ),
        };
        Section::Data(DatastoreHealth { kind, disk_audit })
    }

    /// The audit of `dir`, rebuilt when the datastore's directory changed.
    fn audit(&mut self, dir: PathBuf, now: Instant) -> Section<AuditData> {
        let Some(configured) = &self.options.disk_audit else {
            return Section::unavailable(
                UnavailableReason::Disabled,
                "disk audit disabled in the config (disk_audit.enabled = false)",
            );
        };
        let audit = match &mut self.audit {
            Some((d, audit)) if *d == dir => audit,
            slot => {
                let options = DiskAuditOptions {
                    dir: dir.clone(),
                    ..configured.clone()
                };
                &mut slot
                    .insert((dir, DiskAudit::new(self.root.clone(), options)))
                    .1
            }
        };
        self.audit_in_sample = true;
        audit.run_if_due(now)
    }
}

impl Probe for DatastoreProbe {
    fn name(&self) -> &'static str {
        "datastore"
    }

    fn observe(&mut self, sample: &mut Sample) {
        self.observe_at(sample, Instant::now());
    }

    fn appended(&mut self, seq: Seq) {
        self.quick_check.appended(seq);
        if std::mem::take(&mut self.audit_in_sample)
            && let Some((_, audit)) = &mut self.audit
        {
            audit.appended(seq);
        }
    }
}
