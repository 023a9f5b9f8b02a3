//! A fixture K3s server node in a temporary directory, for end-to-end tests and benchmarks
//! that run every probe with data: the recorded host tree, a real kine database and a
//! stand-in kubelet over real HTTPS, plus an agent config file that points at all three.
//!
//! | part | what | from |
//! | --- | --- | --- |
//! | host tree `host/` | real `/proc` captures and K3s files, symlinks kept | `agent/tests/fixtures/hosts/k3s-server` (README.md there) |
//! | `host/var/lib/rancher/k3s/server/db/state.db` | kine on SQLite, WAL, ~3,000 rows (~11 MB with the WAL), writer kept open | `fixture_node/kine.rs` |
//! | kubelet | `/healthz` + mTLS `:10250` API replaying real payloads, in process or in a child | `fixture_node/kubelet.rs` |
//! | `agent.toml` | `host_root`, `node_fs`/`image_fs`, `[kubelet]`, `[datastore]`, `[disk_audit]`, `[inventory]` | [`FixtureNode::config_text`] |
//!
//! Two deliberate changes to the copied tree, both what a kine server looks like:
//! - `cluster-init: true` is removed from `etc/rancher/k3s/config.yaml`: the recorded config
//!   asks for embedded etcd, and a server on kine/SQLite (K3s's default) has no such line.
//! - `sys/devices/system/cpu/online` is added (`0-1`: the recording VM had 2 vCPUs): the kubelet
//!   probe's scheduling capacity counts online CPUs there.
//!
//! The config has neither `aggregator_url` nor TLS settings for the uplink: those belong to
//! whoever runs the agent (flags). `node_name` is the fixture's node, `edge-srv-1`; `data_dir`
//! is inside the fixture. Everything is removed when the [`FixtureNode`] drops.

mod kine;
mod kubelet;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use thiserror::Error;

pub use kine::{KineContent, KineError};
pub use kubelet::{KubeletEndpoints, KubeletError, KubeletHost, serve_until_stdin_closes};

/// The fixture's node name (its kubelet client certificate is `system:node:edge-srv-1`).
pub const NODE_NAME: &str = "edge-srv-1";
/// The kine database, as a host path.
pub const STATE_DB: &str = "/var/lib/rancher/k3s/server/db/state.db";
/// The kubelet's nodefs and the image filesystem, as host paths (K3s's layout).
pub const NODE_FS: &str = "/var/lib/kubelet";
pub const IMAGE_FS: &str = "/var/lib/rancher/k3s/agent/containerd";
/// The line removed from the copied `config.yaml` (see the module doc).
const CLUSTER_INIT: &str = "cluster-init: true\n";

/// The recorded K3s server host tree this fixture copies.
pub fn recorded_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/tests/fixtures/hosts/k3s-server")
}

#[derive(Debug, Error)]
pub enum FixtureError {
    #[error("cannot create a temporary directory")]
    TempDir(#[source] io::Error),
    #[error("cannot copy {from} to {to}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} no longer holds the line {line:?} this fixture removes")]
    Patch { path: PathBuf, line: &'static str },
    #[error("cannot write the kine database {path}")]
    Kine {
        path: PathBuf,
        #[source]
        source: KineError,
    },
    #[error("cannot start the stand-in kubelet")]
    Kubelet(#[from] KubeletError),
    #[error("{path} is not UTF-8; the config file cannot name it")]
    NotUtf8 { path: PathBuf },
}

/// A running fixture node. Fields drop in order: the kubelet stops, the kine writer closes,
/// then the directory goes.
#[derive(Debug)]
pub struct FixtureNode {
    kubelet: kubelet::StandIn,
    _kine_writer: Connection,
    kine: KineContent,
    host_root: PathBuf,
    data_dir: PathBuf,
    config_file: PathBuf,
    config_text: String,
    _dir: tempfile::TempDir,
}

impl FixtureNode {
    /// Builds the tree and the database in the system's temporary directory, starts the
    /// kubelet where `kubelet` says, and writes `agent.toml`. Takes a second or two.
    pub fn start(kubelet: KubeletHost) -> Result<FixtureNode, FixtureError> {
        Self::start_in(&std::env::temp_dir(), kubelet)
    }

    /// [`FixtureNode::start`] in a new directory inside `parent`. The disk audit runs on
    /// that filesystem, and skips it when less than max(10 %, 1 GiB) would stay available.
    pub fn start_in(parent: &Path, kubelet: KubeletHost) -> Result<FixtureNode, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("edgeward-fixture-node-")
            .tempdir_in(parent)
            .map_err(FixtureError::TempDir)?;
        let host_root = dir.path().join("host");
        copy_tree(&recorded_tree(), &host_root)?;
        let config_yaml = host_root.join("etc/rancher/k3s/config.yaml");
        let text = fs::read_to_string(&config_yaml).map_err(|source| FixtureError::Copy {
            from: config_yaml.clone(),
            to: config_yaml.clone(),
            source,
        })?;
        if !text.contains(CLUSTER_INIT) {
            return Err(FixtureError::Patch {
                path: config_yaml,
                line: CLUSTER_INIT,
            });
        }
        write(&config_yaml, &text.replacen(CLUSTER_INIT, "", 1))?;
        write(&host_root.join("sys/devices/system/cpu/online"), "0-1\n")?;

        let db = host_root.join(STATE_DB.trim_start_matches('/'));
        let db_dir = db.parent().unwrap_or(&host_root).to_owned();
        fs::create_dir_all(&db_dir).map_err(|source| FixtureError::Write {
            path: db_dir,
            source,
        })?;
        let (writer, content) =
            kine::create(&db).map_err(|source| FixtureError::Kine { path: db, source })?;

        let stand_in = kubelet::StandIn::start(kubelet)?;
        let data_dir = dir.path().join("agent-data");
        let config_text = config_text(&host_root, &data_dir, &stand_in.endpoints)?;
        let config_file = dir.path().join("agent.toml");
        write(&config_file, &config_text)?;
        Ok(FixtureNode {
            kubelet: stand_in,
            _kine_writer: writer,
            kine: content,
            host_root,
            data_dir,
            config_file,
            config_text,
            _dir: dir,
        })
    }

    /// The host root (`host_root` in the config).
    pub fn host_root(&self) -> &Path {
        &self.host_root
    }

    /// The agent's data directory named in the config (created by the agent).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `agent.toml`: pass it as `--config`, with `--aggregator-url` and the uplink's TLS flags.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The text of `agent.toml`.
    pub fn config_text(&self) -> &str {
        &self.config_text
    }

    /// What the kine database holds.
    pub fn kine(&self) -> KineContent {
        self.kine
    }

    /// Where the stand-in kubelet listens, and its credentials.
    pub fn kubelet(&self) -> &KubeletEndpoints {
        &self.kubelet.endpoints
    }

    /// The stand-in kubelet's process id when it runs in a child.
    pub fn kubelet_pid(&self) -> Option<u32> {
        self.kubelet.pid()
    }
}

/// The agent config for the tree at `host_root` and the stand-in at `k`.
fn config_text(
    host_root: &Path,
    data_dir: &Path,
    k: &KubeletEndpoints,
) -> Result<String, FixtureError> {
    let mut t =
        String::from("# edgeward-agent on the fixture K3s server node (devfleet fixture_node).\n");
    for (key, value) in [
        ("node_name", NODE_NAME),
        ("host_root", utf8(host_root)?),
        ("data_dir", utf8(data_dir)?),
        ("node_fs", NODE_FS),
        ("image_fs", IMAGE_FS),
    ] {
        let _ = writeln!(t, "{key} = {}", toml_string(value));
    }
    t.push_str("\n[kubelet]\n");
    for (key, value) in [
        ("healthz_url", k.healthz_url.as_str()),
        ("api_url", k.api_url.as_str()),
        ("ca_file", utf8(&k.ca_file)?),
        ("client_cert", utf8(&k.client_cert)?),
        ("client_key", utf8(&k.client_key)?),
    ] {
        let _ = writeln!(t, "{key} = {}", toml_string(value));
    }
    // The documented defaults, spelled out: kine/SQLite needs no datastore keys.
    t.push_str(
        "\n[datastore]\nquick_check_interval = \"1h\"\n\
         \n[disk_audit]\ninterval = \"10m\"\nmax_bytes = 1048576\n\
         \n[inventory]\ncheck_interval = \"1m\"\nrefresh_interval = \"3h\"\n",
    );
    Ok(t)
}

fn utf8(path: &Path) -> Result<&str, FixtureError> {
    path.to_str().ok_or_else(|| FixtureError::NotUtf8 {
        path: path.to_owned(),
    })
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write(path: &Path, text: &str) -> Result<(), FixtureError> {
    let fail = |source| FixtureError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    fs::write(path, text).map_err(fail)
}

/// Copies `from` to `to` recursively; symlinks are copied as symlinks with the same target
/// (K3s's `data/current` is absolute: the agent re-roots it under the host root).
fn copy_tree(from: &Path, to: &Path) -> Result<(), FixtureError> {
    let fail = |source| FixtureError::Copy {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    };
    let meta = fs::symlink_metadata(from).map_err(fail)?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(from).map_err(fail)?;
        std::os::unix::fs::symlink(target, to).map_err(fail)
    } else if meta.is_dir() {
        fs::create_dir_all(to).map_err(fail)?;
        for entry in fs::read_dir(from).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ()).map_err(fail)
    }
}
