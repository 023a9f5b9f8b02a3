//! Which datastore this node runs, from its files under the [`HostRoot`] (DOMAIN.md §3).
//!
//! | source (host path) | read for |
//! | --- | --- |
//! | `/etc/rancher/k3s/config.yaml`, then `config.yaml.d/*.yaml`/`*.yml` by name (later files win, as K3s merges them) | `datastore-endpoint`, `cluster-init`, `data-dir`, `etcd-snapshot-dir`, `etcd-disable-snapshots` |
//! | `/etc/systemd/system/k3s.service` (`--datastore-endpoint` in `ExecStart`) and `k3s.service.env` (`K3S_DATASTORE_ENDPOINT=`), both written by the K3s install script | `datastore-endpoint`; the flag wins over the variable, which wins over the config files, as in K3s |
//! | `<data-dir>` (default `/var/lib/rancher/k3s`) `/server/db/etcd/member` | embedded etcd |
//! | `<data-dir>/server/db/state.db` | kine on SQLite |
//! | `/var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml` | MicroK8s dqlite |
//!
//! **Precedence**, first match wins:
//! 1. a K3s `datastore-endpoint` → `External { scheme }`: K3s uses it whatever other files
//!    remain (a server moved to an external database may keep an old `state.db`);
//! 2. `server/db/etcd/member`, or `cluster-init: true` in the config → etcd (K3s renames
//!    `state.db` after migrating it into etcd, and a leftover one is not live; a server
//!    configured for etcd that has not started yet shows its etcd as unreachable);
//! 3. `server/db/state.db` → kine/SQLite;
//! 4. MicroK8s `backend/cluster.yaml` → dqlite;
//! 5. a K3s `server/` directory with none of the above → [`Detected::ServerWithoutDatastore`]
//!    (an endpoint given some other way, e.g. a drop-in unit or `--config` elsewhere, is not
//!    seen: say so, do not guess);
//! 6. K3s (`/etc/rancher/k3s` or the data dir) or MicroK8s (`/var/snap/microk8s/current`)
//!    present → `None` (an agent or worker node);
//! 7. neither → [`Detected::NoCluster`].
//!
//! Invariant: the value of `datastore-endpoint` (it holds passwords) is reduced to its URL
//! scheme the moment it is read, never stored, logged or quoted in an error.

use std::fs;
use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;

use super::error::DatastoreError;
use super::yaml;
use crate::probe::{HostRoot, ProbeError};

pub const K3S_CONFIG: &str = "/etc/rancher/k3s/config.yaml";
pub const K3S_ETC: &str = "/etc/rancher/k3s";
pub const K3S_SERVICE_UNIT: &str = "/etc/systemd/system/k3s.service";
pub const K3S_SERVICE_ENV: &str = "/etc/systemd/system/k3s.service.env";
pub const K3S_DEFAULT_DATA_DIR: &str = "/var/lib/rancher/k3s";
pub const MICROK8S_CURRENT: &str = "/var/snap/microk8s/current";
pub const MICROK8S_BACKEND: &str = "/var/snap/microk8s/current/var/kubernetes/backend";
/// Drop-in files read at most; more are ignored (a node has a handful).
const MAX_DROPINS: usize = 64;

/// What the node's files say about its datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    NoCluster,
    None,
    /// Only the URL scheme of `datastore-endpoint`.
    External {
        scheme: String,
    },
    Etcd(K3sServer),
    KineSqlite(K3sServer),
    Dqlite,
    /// A K3s server directory without a local datastore or a configured endpoint.
    ServerWithoutDatastore {
        server_dir: PathBuf,
    },
}

/// Host paths of a K3s server, after the config is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K3sServer {
    /// `<data-dir>`.
    pub data_dir: PathBuf,
    /// `etcd-snapshot-dir`, default `<data-dir>/server/db/snapshots`.
    pub snapshot_dir: PathBuf,
    /// `etcd-disable-snapshots: true`.
    pub snapshots_disabled: bool,
}

impl K3sServer {
    /// `<data-dir>/server/db`: the datastore's directory.
    pub fn db_dir(&self) -> PathBuf {
        self.data_dir.join("server/db")
    }
}

/// The K3s settings the probe needs, merged over every config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K3sConfig {
    /// The scheme of `datastore-endpoint` (set when the key is non-empty).
    pub endpoint_scheme: Option<String>,
    /// `cluster-init: true`: embedded etcd.
    pub cluster_init: bool,
    pub data_dir: Option<PathBuf>,
    pub snapshot_dir: Option<PathBuf>,
    pub disable_snapshots: bool,
}

/// Detects the datastore. `data_dir` overrides K3s's `data-dir` when given.
pub fn detect(root: &HostRoot, data_dir: Option<&Path>) -> Result<Detected, DatastoreError> {
    let config = read_k3s_config(root)?;
    let data_dir = data_dir
        .map(Path::to_path_buf)
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(K3S_DEFAULT_DATA_DIR));
    if let Some(scheme) = config.endpoint_scheme {
        return Ok(Detected::External { scheme });
    }
    let server = K3sServer {
        snapshot_dir: config
            .snapshot_dir
            .unwrap_or_else(|| data_dir.join("server/db/snapshots")),
        snapshots_disabled: config.disable_snapshots,
        data_dir: data_dir.clone(),
    };
    if config.cluster_init || exists(root, server.db_dir().join("etcd/member"))? {
        return Ok(Detected::Etcd(server));
    }
    if exists(root, server.db_dir().join("state.db"))? {
        return Ok(Detected::KineSqlite(server));
    }
    if exists(root, Path::new(MICROK8S_BACKEND).join("cluster.yaml"))? {
        return Ok(Detected::Dqlite);
    }
    let server_dir = data_dir.join("server");
    if exists(root, &server_dir)? {
        return Ok(Detected::ServerWithoutDatastore { server_dir });
    }
    if exists(root, K3S_ETC)? || exists(root, &data_dir)? || exists(root, MICROK8S_CURRENT)? {
        return Ok(Detected::None);
    }
    Ok(Detected::NoCluster)
}

/// Whether host path `path` exists (symlinks followed inside the root).
pub fn exists(root: &HostRoot, path: impl AsRef<Path>) -> Result<bool, DatastoreError> {
    Ok(root.resolve(path)?.exists)
}

/// Where the agent opens host path `path`: symlinks resolved inside the root; `None` when it
/// does not exist.
pub fn locate(root: &HostRoot, path: impl AsRef<Path>) -> Result<Option<PathBuf>, ProbeError> {
    let resolved = root.resolve(path)?;
    Ok(resolved.exists.then(|| root.join(resolved.host_path)))
}

/// Reads `config.yaml`, its drop-ins in name order, then the service env file.
pub fn read_k3s_config(root: &HostRoot) -> Result<K3sConfig, DatastoreError> {
    let mut config = K3sConfig::default();
    let mut files = vec![PathBuf::from(K3S_CONFIG)];
    let dropins = PathBuf::from(format!("{K3S_CONFIG}.d"));
    if let Some(dir) = locate(root, &dropins)? {
        let entries = fs::read_dir(&dir).map_err(|source| ProbeError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| {
                let lower = n.to_ascii_lowercase();
                lower.ends_with(".yaml") || lower.ends_with(".yml")
            })
            .collect();
        names.sort();
        names.truncate(MAX_DROPINS);
        files.extend(names.into_iter().map(|n| dropins.join(n)));
    }
    for file in files {
        let Some(text) = read_if_exists(root, &file)? else {
            continue;
        };
        let doc = yaml::load(&root.join(&file), &text)?;
        apply(&mut config, &doc);
    }
    let env = read_if_exists(root, Path::new(K3S_SERVICE_ENV))?;
    let unit = read_if_exists(root, Path::new(K3S_SERVICE_UNIT))?;
    if let Some(scheme) = unit
        .as_deref()
        .and_then(unit_endpoint_scheme)
        .or_else(|| env.as_deref().and_then(env_endpoint_scheme))
    {
        config.endpoint_scheme = Some(scheme);
    }
    Ok(config)
}

/// The text of host path `path`, `None` when it does not exist.
pub fn read_if_exists(root: &HostRoot, path: &Path) -> Result<Option<String>, DatastoreError> {
    let resolved = root.resolve(path)?;
    if !resolved.exists {
        return Ok(None);
    }
    Ok(Some(root.read_text(&resolved.host_path)?))
}

/// The text of host path `path`; a missing file is a `NotFound` read error naming it.
pub fn read_host_text(root: &HostRoot, path: &Path) -> Result<String, DatastoreError> {
    read_if_exists(root, path)?.ok_or_else(|| {
        ProbeError::Read {
            path: root.join(path),
            source: std::io::ErrorKind::NotFound.into(),
        }
        .into()
    })
}

/// Applies one config document over `config`: a key present in a later file wins.
fn apply(config: &mut K3sConfig, doc: &Yaml) {
    if let Some(value) = yaml::get(doc, "datastore-endpoint") {
        // An empty value unsets the endpoint, as it would on K3s's command line.
        config.endpoint_scheme = yaml::as_text(value)
            .filter(|v| !v.trim().is_empty())
            .map(|v| scheme_of(&v));
    }
    if let Some(v) = yaml::get(doc, "data-dir").and_then(yaml::as_text) {
        config.data_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = yaml::get(doc, "etcd-snapshot-dir").and_then(yaml::as_text) {
        config.snapshot_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = yaml::get(doc, "etcd-disable-snapshots") {
        config.disable_snapshots = is_true(v);
    }
    if let Some(v) = yaml::get(doc, "cluster-init") {
        config.cluster_init = is_true(v);
    }
}

/// A YAML `true`, or the string `"true"` (any case), as K3s's flag parser reads it.
fn is_true(v: &Yaml) -> bool {
    matches!(v, Yaml::Boolean(true))
        || yaml::as_text(v).is_some_and(|t| t.eq_ignore_ascii_case("true"))
}

/// `K3S_DATASTORE_ENDPOINT=` in a systemd environment file (`KEY=value`, optionally quoted).
fn env_endpoint_scheme(text: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(value) = line.strip_prefix("K3S_DATASTORE_ENDPOINT=") else {
            continue;
        };
        let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
        found = (!value.is_empty()).then(|| scheme_of(value));
    }
    found
}

/// `--datastore-endpoint[=| ]<value>` among the words of a systemd unit (the install script
/// writes each argument quoted on its own continued line); the last one wins.
fn unit_endpoint_scheme(text: &str) -> Option<String> {
    let mut found = None;
    let mut words = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '\\'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '"'))
        .filter(|w| !w.is_empty());
    while let Some(word) = words.next() {
        let value = if let Some(v) = word.strip_prefix("--datastore-endpoint=") {
            v
        } else if word == "--datastore-endpoint" {
            words.next().unwrap_or_default()
        } else {
            continue;
        };
        found = (!value.is_empty()).then(|| scheme_of(value));
    }
    found
}

/// The URL scheme of an endpoint, lower-cased; `unknown` when there is none or it is not a
/// valid scheme. Never returns any other part of `endpoint`. For a comma-separated list of
/// etcd endpoints, the scheme of the first.
pub fn scheme_of(endpoint: &str) -> String {
    let first = endpoint.split(',').next().unwrap_or_default().trim();
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 16
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    match first.split_once("://") {
        Some((scheme, _)) if valid(scheme) => scheme.to_ascii_lowercase(),
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_all_that_is_kept_of_an_endpoint() {
        assert_eq!(scheme_of("postgres://user:secretpw@db/k3s"), "postgres");
        assert_eq!(scheme_of("MySQL://u:p@tcp(db:3306)/k3s"), "mysql");
        assert_eq!(scheme_of("https://a:2379,https://b:2379"), "https");
        assert_eq!(scheme_of("user:secretpw@tcp(db)/k3s"), "unknown");
        assert_eq!(scheme_of("secret-password-looking-scheme-x://h"), "unknown");
        assert_eq!(scheme_of("p@ss://h"), "unknown");
    }

    #[test]
    fn env_file_endpoint_is_read_quoted_or_not_and_last_wins() {
        let text = "K3S_TOKEN=abc\nK3S_DATASTORE_ENDPOINT='mysql://u:pw@tcp(db)/k'\n";
        assert_eq!(env_endpoint_scheme(text).as_deref(), Some("mysql"));
        let text = "K3S_DATASTORE_ENDPOINT=\"postgres://x\"\nK3S_DATASTORE_ENDPOINT=\n";
        assert_eq!(env_endpoint_scheme(text), None);
        assert_eq!(env_endpoint_scheme("K3S_URL=https://s:6443\n"), None);
    }

    #[test]
    fn unit_file_flag_is_read_in_both_spellings() {
        let unit = "[Service]\nExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--datastore-endpoint=postgres://u:pw@db/k3s' \\\n";
        assert_eq!(unit_endpoint_scheme(unit).as_deref(), Some("postgres"));
        let unit =
            "ExecStart=/usr/local/bin/k3s server --datastore-endpoint \"mysql://u:p@tcp(db)/k\"\n";
        assert_eq!(unit_endpoint_scheme(unit).as_deref(), Some("mysql"));
        let unit = "# --datastore-endpoint=postgres://old\nExecStart=/usr/local/bin/k3s server\n";
        assert_eq!(unit_endpoint_scheme(unit), None);
    }

    #[test]
    fn later_documents_override_earlier_keys() {
        let mut c = K3sConfig::default();
        let first = yaml::load(
            Path::new("/a"),
            "datastore-endpoint: postgres://u:pw@db/k3s\ndata-dir: /mnt/ssd/k3s\n",
        )
        .expect("yaml");
        apply(&mut c, &first);
        assert_eq!(c.endpoint_scheme.as_deref(), Some("postgres"));
        let second = yaml::load(Path::new("/b"), "datastore-endpoint: \"\"\n").expect("yaml");
        apply(&mut c, &second);
        assert_eq!(c.endpoint_scheme, None);
        assert_eq!(c.data_dir, Some(PathBuf::from("/mnt/ssd/k3s")));
        let third = yaml::load(Path::new("/c"), "etcd-disable-snapshots: true\n").expect("yaml");
        apply(&mut c, &third);
        assert!(c.disable_snapshots);
    }
}
