//! Configuration digests (DOMAIN.md §5): per key, the SHA-256 of a normalised value, so the
//! aggregator can say *which* key drifted between nodes without receiving any value.
//!
//! | keys | source (under the host root) | file |
//! | --- | --- | --- |
//! | `sysctl:<name>` (with `value`) | `/proc/sys/<name with / for .>` | [`sysctl`] |
//! | `k3s/config.yaml:<flag>` | `/etc/rancher/k3s/config.yaml` + `config.yaml.d/*.yaml`, merged as K3s merges them | [`k3s`] |
//! | `k3s/data/current` (with `value`) | the K3s build hash the data link names | [`k3s`] |
//! | `k3s/agent/etc/kubelet.conf.d/<file>` | kubelet drop-ins, per `*.conf` file, bytes | [`k3s`] |
//! | `k3s/server/manifests/<relative path>` | every file below, bytes | [`k3s`] |
//! | `k3s/registries.yaml`, `…:mirrors/<registry>`, `…:configs/<registry>` | `/etc/rancher/k3s/registries.yaml`, normalised | [`registries`] |
//! | `microk8s/args/<file>:<--flag>`, `microk8s/args/<file>` | `/var/snap/microk8s/current/args/*` | [`microk8s`] |
//!
//! **Values never ship**, except where a key cannot hold a secret: sysctls and the K3s build
//! hash. `modified_at` is the modification time of the file the key came from (for a merged
//! K3s key: the last file that set or appended it); `None` for `/proc/sys`.
//!
//! **A key absent from the list means the setting or file is absent.** Problems are keys of
//! their own, so they show as drift rather than vanish:
//! - `<file key>:!unparseable` — read but not valid YAML or flags; digest of its bytes;
//! - `<file key>:!unreadable` — exists but could not be read (permission, above the size limit,
//!   not UTF-8); digest of the reason's name, so equal problems compare equal;
//! - `…:!invalid-keys` / `…:!invalid-flags` — names that are not flag names, digested together
//!   (their text never ships: a misplaced secret must not become a key).
//!
//! **Bounded** to [`MAX_DIGESTS`]: keys are collected in the order of the table (manifests
//! last); past the bound the rest are counted in one `inventory/omitted-digests` key (with the
//! count as its value). The list is sorted by key.

pub(crate) mod k3s;
pub(crate) mod microk8s;
pub(crate) mod registries;
pub(crate) mod sysctl;

use std::path::Path;

use edgeward_proto::inventory::ConfigDigest;
use edgeward_proto::{Bounded, UnixMillis};
use tracing::debug;

use super::files::{self, sha256};
use crate::probe::{HostRoot, ProbeError};

/// The wire bound of `Inventory::config`.
pub(crate) const MAX_DIGESTS: usize = Bounded::<ConfigDigest, 1024>::MAX;
/// The key counting digests left out by the bound.
pub(crate) const OMITTED_KEY: &str = "inventory/omitted-digests";
/// Longest `value` shipped (the wire type's limit).
const MAX_VALUE: usize = 256;

/// Digests collected for one inventory, bounded.
#[derive(Debug, Default)]
pub(crate) struct Digests {
    items: Vec<ConfigDigest>,
    omitted: usize,
}

impl Digests {
    /// Adds a digest of `bytes` under `key`.
    pub(crate) fn add(&mut self, key: String, bytes: &[u8], modified_at: Option<UnixMillis>) {
        self.add_digest(key, sha256(bytes), None, modified_at);
    }

    /// Adds an already computed digest, with a `value` only for keys that cannot hold secrets.
    pub(crate) fn add_digest(
        &mut self,
        key: String,
        sha256: [u8; 32],
        value: Option<String>,
        modified_at: Option<UnixMillis>,
    ) {
        // One slot stays free for the omitted-digests key.
        if self.items.len() >= MAX_DIGESTS - 1 {
            self.omitted += 1;
            return;
        }
        let value = value.map(|v| cut_bytes(v, MAX_VALUE));
        self.items.push(ConfigDigest {
            key,
            sha256,
            value,
            modified_at,
        });
    }

    /// A `<key>:!unreadable` marker for a file that exists but could not be read; nothing for
    /// a missing one.
    pub(crate) fn unreadable(&mut self, key: &str, error: &ProbeError) {
        let reason = error.reason();
        if reason == edgeward_proto::UnavailableReason::NotFound {
            return;
        }
        debug!(key, error = %error.detail(), "Config file unreadable");
        self.add(
            format!("{key}:!unreadable"),
            format!("{reason:?}").as_bytes(),
            None,
        );
    }

    /// A digest of the bytes of host file `host_path` under `key`, or its problem marker.
    pub(crate) fn file(&mut self, root: &HostRoot, key: String, host_path: &Path) {
        match files::digest_file(root, host_path) {
            Ok((digest, modified_at)) => self.add_digest(key, digest, None, modified_at),
            Err(e) => self.unreadable(&key, &e),
        }
    }

    /// The bounded, sorted list for the wire.
    pub(crate) fn finish(mut self) -> Bounded<ConfigDigest, 1024> {
        if self.omitted > 0 {
            let count = self.omitted.to_string();
            self.items.push(ConfigDigest {
                key: OMITTED_KEY.to_owned(),
                sha256: sha256(count.as_bytes()),
                value: Some(count),
                modified_at: None,
            });
        }
        self.items.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = Bounded::new();
        for item in self.items {
            // Cannot fail: at most MAX_DIGESTS - 1 items plus the omitted key.
            let _ = out.push(item);
        }
        out
    }
}

/// Every configuration digest of this host, for `distro`.
pub(crate) fn collect(
    root: &HostRoot,
    distro: edgeward_proto::inventory::Distro,
    digests: &mut Digests,
) {
    use edgeward_proto::inventory::Distro;
    sysctl::collect(root, digests);
    match distro {
        Distro::K3s => {
            k3s::config(root, digests);
            registries::collect(root, digests);
            k3s::build(root, digests);
            k3s::kubelet_dropins(root, digests);
            k3s::manifests(root, digests);
        }
        Distro::MicroK8s => microk8s::collect(root, digests),
        Distro::Other => {}
    }
}

/// `value` cut to at most `max` bytes, at a character boundary.
fn cut_bytes(mut value: String, max: usize) -> String {
    if value.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| value.is_char_boundary(i))
            .unwrap_or(0);
        value.truncate(cut);
    }
    value
}

/// `name` when it is a flag name (`[A-Za-z0-9][A-Za-z0-9._-]`, at most 64), else `None`.
pub(crate) fn flag_name(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
    ok.then_some(name)
}

/// A registry or directory name as it may appear in a key: kept when it looks like a host
/// name with optional port (`[A-Za-z0-9.:_*\[\]-]`, at most 253), else `sha256:<16 hex>` of
/// it, so a name holding `user:password@` never ships.
pub(crate) fn safe_name(name: &str) -> String {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_*[]-".contains(&b));
    if ok {
        return name.to_owned();
    }
    let digest = sha256(name.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_digests_are_counted_in_one_key() {
        let mut digests = Digests::default();
        for i in 0..MAX_DIGESTS + 10 {
            digests.add(format!("k{i:05}"), b"x", None);
        }
        let list = digests.finish();
        assert_eq!(list.len(), MAX_DIGESTS);
        let omitted = list
            .iter()
            .find(|d| d.key == OMITTED_KEY)
            .expect("omitted key");
        assert_eq!(omitted.value.as_deref(), Some("11"));
        assert!(list.windows(2).all(|w| w[0].key < w[1].key), "sorted");
    }

    #[test]
    fn values_are_cut_to_256_bytes_at_a_character_boundary() {
        assert_eq!(cut_bytes("é".repeat(200), MAX_VALUE).len(), 256);
        assert_eq!(
            cut_bytes(format!("x{}", "é".repeat(200)), MAX_VALUE).len(),
            255
        );
        assert_eq!(cut_bytes("short".into(), MAX_VALUE), "short");
    }

    #[test]
    fn names_that_could_hide_credentials_are_hashed() {
        assert_eq!(
            safe_name("registry.example.com:5000"),
            "registry.example.com:5000"
        );
        assert_eq!(safe_name("*"), "*");
        let hidden = safe_name("user:hunter2@registry.example.com");
        assert!(hidden.starts_with("sha256:"), "{hidden}");
        assert!(!hidden.contains("hunter2"));
        assert_eq!(flag_name("cluster-cidr"), Some("cluster-cidr"));
        assert_eq!(flag_name("K10secret token"), None);
    }
}
