//! The inventory probe: what runs on this node and how it is configured (DOMAIN.md §4–5),
//! from files under the [`HostRoot`] and one read-only syscall, never from an API server and
//! never by executing a binary.
//!
//! | field | source | file |
//! | --- | --- | --- |
//! | `distro`, `distro_version`, `role`, `containerd_version` | K3s and MicroK8s files | [`versions`] |
//! | `kernel` | `/proc/sys/kernel/osrelease` | [`versions`] |
//! | `os` | `PRETTY_NAME` of `/etc/os-release`, else `/usr/lib/os-release` | [`versions`] |
//! | `kubelet_version` | always `None` here: the kubelet probe reports the live one | — |
//! | `agent_version` | this build (`CARGO_PKG_VERSION`) | — |
//! | `cluster_identity` | SHA-256 of the cluster CA's DER | [`identity`] |
//! | `distro_started_at` | `/proc/<pid>/stat` of `k3s-server`/`k3s-agent`/`kubelite`, `/proc/stat` `btime` | [`process`] |
//! | `certificates` | `*.crt`/`*.pem` under the distro's TLS directories | [`certs`] |
//! | `clock` | adjtimex(2), read-only | [`clock`] |
//! | `config` | per-key SHA-256 digests: sysctls, K3s config/registries/drop-ins/manifests, MicroK8s args | [`config`] |
//!
//! **Sections.** The inventory is `Unavailable` only when `/proc/sys/kernel/osrelease` cannot
//! be read: every Linux has it, so its absence means the host root is wrong, and nothing else
//! read under it could be trusted. Otherwise it is `Data`, with each missing part `None`,
//! empty, or an `Unavailable` section of its own, and never a panic on any file content.
//!
//! **Rate** ([`InventoryOptions`]). The inventory is recomputed at most every `check_every`
//! and ships as `Data` when (a) nothing has been shipped since the agent started, (b) it differs
//! from the last shipped one, or (c) `refresh_every` has passed since that was shipped.
//! "Shipped" means [`Probe::appended`] confirmed the sample carrying it: when an append fails,
//! the next cycle ships it again. Otherwise the section is `NotDue { last: Some(seq) }`. The
//! comparison ignores the clock's readings (offset, errors, read time), which move every
//! second, but not whether it is synchronised; a shipped inventory carries a fresh clock reading.
//!
//! Logs: DEBUG per unreadable file; nothing above DEBUG per cycle.

mod certs;
mod clock;
mod config;
mod files;
mod identity;
mod process;
mod versions;
mod yaml;

use std::time::{Duration, Instant};

use edgeward_proto::inventory::{Clock, Inventory};
use edgeward_proto::{Sample, Section, Seq, Unavailable};
use tracing::debug;

use super::{HostRoot, Probe};
use config::Digests;

/// The config digest key counting certificate files that could not be read or parsed.
pub const UNREADABLE_CERTIFICATES_KEY: &str = "inventory/unreadable-certificates";
/// The config digest key counting certificate files past the wire bound.
pub const OMITTED_CERTIFICATES_KEY: &str = "inventory/omitted-certificates";

/// How often the inventory is recomputed and shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryOptions {
    /// Recompute at most this often. Default 1 minute.
    pub check_every: Duration,
    /// Ship even when unchanged after this long. Default 3 hours.
    pub refresh_every: Duration,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(60),
            refresh_every: Duration::from_secs(3 * 3600),
        }
    }
}

/// Reads the [`Inventory`] and decides when it ships.
#[derive(Debug)]
pub struct InventoryProbe {
    root: HostRoot,
    options: InventoryOptions,
    last_check: Option<Instant>,
    /// The inventory of the last check, or why there was none.
    current: Option<Result<Inventory, Unavailable>>,
    /// What the last confirmed sample carried.
    shipped: Option<Shipped>,
    /// The last observation returned `Data`: what it carried, for [`Probe::appended`].
    pending: Option<(Inventory, Instant)>,
}

#[derive(Debug)]
struct Shipped {
    /// The inventory with the clock's moving readings blanked ([`change_key`]).
    key: Inventory,
    at: Instant,
    seq: Seq,
}

impl InventoryProbe {
    pub fn new(root: HostRoot, options: InventoryOptions) -> Self {
        Self {
            root,
            options,
            last_check: None,
            current: None,
            shipped: None,
            pending: None,
        }
    }

    /// One observation at monotonic instant `now` (tests pass their own instants).
    pub fn observe_at(&mut self, now: Instant) -> Section<Inventory> {
        self.pending = None;
        let due = self
            .last_check
            .is_none_or(|last| now.saturating_duration_since(last) >= self.options.check_every);
        if due || self.current.is_none() {
            self.current = Some(read(&self.root));
            self.last_check = Some(now);
        }
        let inventory = match &self.current {
            Some(Ok(inventory)) => inventory,
            Some(Err(unavailable)) => return Section::Unavailable(unavailable.clone()),
            None => return Section::NotDue { last: None },
        };
        let key = change_key(inventory);
        let ship = match &self.shipped {
            None => true,
            Some(shipped) => {
                shipped.key != key
                    || now.saturating_duration_since(shipped.at) >= self.options.refresh_every
            }
        };
        if !ship {
            return Section::NotDue {
                last: self.shipped.as_ref().map(|s| s.seq),
            };
        }
        let mut fresh = inventory.clone();
        fresh.clock = clock::read(edgeward_runtime::clock::now);
        self.pending = Some((key, now));
        Section::Data(fresh)
    }
}

impl Probe for InventoryProbe {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn observe(&mut self, sample: &mut Sample) {
        sample.inventory = self.observe_at(Instant::now());
    }

    /// Only an observation that returned `Data` is confirmed; the sampler calls this after
    /// every successful append.
    fn appended(&mut self, seq: Seq) {
        if let Some((key, at)) = self.pending.take() {
            self.shipped = Some(Shipped { key, at, seq });
        }
    }
}

/// `inventory` with the clock's moving readings blanked: what a change is judged on.
fn change_key(inventory: &Inventory) -> Inventory {
    let mut key = inventory.clone();
    if let Section::Data(clock) = &key.clock {
        key.clock = Section::Data(Clock {
            synchronized: clock.synchronized,
            offset_us: 0,
            max_error_us: 0,
            est_error_us: 0,
            read_at: edgeward_proto::UnixMillis(0),
        });
    }
    key
}

/// Reads the whole inventory under `root` now.
fn read(root: &HostRoot) -> Result<Inventory, Unavailable> {
    let kernel = versions::kernel(root).map_err(|e| Unavailable {
        reason: e.reason(),
        detail: format!("{}; is the host root right?", e.detail()),
    })?;
    let distro = versions::distro(root);
    let scan = certs::scan(root, distro);
    let mut digests = Digests::default();
    if !scan.unreadable.is_empty() {
        let count = scan.unreadable.len().to_string();
        let paths = scan.unreadable.join("\n");
        let digest = files::sha256(paths.as_bytes());
        digests.add_digest(
            UNREADABLE_CERTIFICATES_KEY.to_owned(),
            digest,
            Some(count),
            None,
        );
    }
    if scan.omitted > 0 {
        let count = scan.omitted.to_string();
        let digest = files::sha256(count.as_bytes());
        digests.add_digest(
            OMITTED_CERTIFICATES_KEY.to_owned(),
            digest,
            Some(count),
            None,
        );
    }
    config::collect(root, distro, &mut digests);
    let inventory = Inventory {
        distro,
        distro_version: versions::distro_version(root, distro),
        kubelet_version: None,
        kernel,
        os: versions::os(root),
        containerd_version: versions::containerd_version(root, distro),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        role: versions::role(root, distro),
        cluster_identity: identity::cluster_identity(root, distro),
        distro_started_at: process::started_at(root, distro),
        certificates: scan.certificates,
        clock: clock::read(edgeward_runtime::clock::now),
        config: digests.finish(),
    };
    debug!(
        distro = ?inventory.distro,
        certificates = inventory.certificates.len(),
        digests = inventory.config.len(),
        "Inventory read"
    );
    Ok(inventory)
}
