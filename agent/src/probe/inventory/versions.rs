//! Which distribution runs here, its version and this node's role, plus the host's kernel, OS
//! and containerd version (DOMAIN.md §4). Files only: no binary is executed.
//!
//! | field | K3s | MicroK8s |
//! | --- | --- | --- |
//! | distro | `/etc/rancher/k3s` or `/var/lib/rancher/k3s` exists | `/var/snap/microk8s` or `/snap/microk8s/current/meta/snap.yaml` exists |
//! | version | name of the `/var/lib/rancher/k3s/data/current` link's target, when it is a version | `version:` of `/snap/microk8s/current/meta/snap.yaml` |
//! | role | Server: `server/tls/server-ca.crt` or `server/db` exists; Agent: only `agent/` | Agent: `var/lock/clustered.lock` (a `--worker` join); Server: `var/kubernetes/backend` or `args/k8s-dqlite` |
//! | containerd | last `msg="starting containerd" … version=` line in the last 256 KiB of `agent/containerd/containerd.log` | none (its log is in journald) |
//!
//! kernel: `/proc/sys/kernel/osrelease`; os: `PRETTY_NAME` of `/etc/os-release`, else
//! `/usr/lib/os-release` (os-release(5)).
//!
//! **The K3s version has no honest file source.** The `data/current` link points at
//! `data/<sha256 of the bundled data archive>` (k3s `scripts/package-cli`, `cmd/k3s/main.go`
//! `getAssetAndDir`), not at a version; only the binary (`k3s --version`) and the kubelet's
//! `kubernetes_build_info` (the kubelet probe) know it. So `distro_version` is `None` for K3s
//! unless the link target happens to be named like a version; the build hash itself ships as
//! the config digest `k3s/data/current` (see `config`), which differs between nodes running
//! different K3s builds. containerd's own start-up line is the one file that names its
//! version: it is taken only when found in the log's tail, so it is the current start's or
//! nothing.

use std::fs;
use std::path::Path;

use edgeward_proto::UnixMillis;
use edgeward_proto::inventory::{Distro, NodeRole};

use super::files;
use super::yaml::{self, Node};
use crate::probe::{HostRoot, ProbeError, READ_LIMIT};

pub(crate) const K3S_ETC: &str = "/etc/rancher/k3s";
pub(crate) const K3S_DATA: &str = "/var/lib/rancher/k3s";
const K3S_DATA_DIR: &str = "/var/lib/rancher/k3s/data";
pub(crate) const SNAP_DATA: &str = "/var/snap/microk8s/current";
const SNAP_ROOT: &str = "/var/snap/microk8s";
const SNAP_YAML: &str = "/snap/microk8s/current/meta/snap.yaml";
const CONTAINERD_LOG: &str = "/var/lib/rancher/k3s/agent/containerd/containerd.log";
/// How much of containerd's log is searched for its start-up line.
const CONTAINERD_LOG_TAIL: u64 = 256 * 1024;
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
/// Longest version or OS name kept; longer ones are cut.
const MAX_TEXT: usize = 128;

/// The distribution whose files are on this host. K3s wins when both are present.
pub(crate) fn distro(root: &HostRoot) -> Distro {
    if files::exists(root, K3S_ETC) || files::exists(root, K3S_DATA) {
        Distro::K3s
    } else if files::exists(root, SNAP_ROOT) || files::exists(root, SNAP_YAML) {
        Distro::MicroK8s
    } else {
        Distro::Other
    }
}

/// This node's role in its cluster.
pub(crate) fn role(root: &HostRoot, distro: Distro) -> NodeRole {
    let has = |path: &str| files::exists(root, path);
    match distro {
        Distro::K3s
            if has("/var/lib/rancher/k3s/server/tls/server-ca.crt")
                || has("/var/lib/rancher/k3s/server/db") =>
        {
            NodeRole::Server
        }
        Distro::K3s if has("/var/lib/rancher/k3s/agent") => NodeRole::Agent,
        Distro::MicroK8s if has(&format!("{SNAP_DATA}/var/lock/clustered.lock")) => NodeRole::Agent,
        Distro::MicroK8s
            if has(&format!("{SNAP_DATA}/var/kubernetes/backend"))
                || has(&format!("{SNAP_DATA}/args/k8s-dqlite")) =>
        {
            NodeRole::Server
        }
        Distro::K3s | Distro::MicroK8s | Distro::Other => NodeRole::Unknown,
    }
}

/// The distribution's version from its files, when they hold one.
pub(crate) fn distro_version(root: &HostRoot, distro: Distro) -> Option<String> {
    match distro {
        Distro::K3s => k3s_build(root).and_then(|(build, _)| k3s_version_from_dir(&build)),
        Distro::MicroK8s => {
            let (text, _) = files::read_text(root, SNAP_YAML, READ_LIMIT).ok()?;
            let docs = yaml::parse_documents(&text).ok()?;
            let Some(Node::Map(entries)) = docs.first() else {
                return None;
            };
            entries
                .iter()
                .rev()
                .find(|(k, _)| k.key_text() == "version")
                .and_then(|(_, v)| clean(&v.flag_text()))
        }
        Distro::Other => None,
    }
}

/// The name of the K3s data directory `data/current` points at (the build's hash), and when
/// the link was last changed (when K3s last switched builds).
pub(crate) fn k3s_build(root: &HostRoot) -> Option<(String, Option<UnixMillis>)> {
    // The link itself is read, not followed: its absolute target is a host path.
    let data = root.resolve(K3S_DATA_DIR).ok().filter(|r| r.exists)?;
    let link_path = root.join(data.host_path).join("current");
    let target = fs::read_link(&link_path).ok()?;
    let name = clean(target.file_name()?.to_str()?)?;
    let changed = fs::symlink_metadata(&link_path)
        .ok()
        .and_then(|meta| files::modified_at(&meta));
    Some((name, changed))
}

/// `v1.31.4+k3s1` from a data directory named `v1.31.4-k3s1…` or `v1.31.4+k3s1…`, if any.
fn k3s_version_from_dir(name: &str) -> Option<String> {
    let rest = name.strip_prefix('v')?;
    let (numbers, suffix) = rest.split_once(['+', '-'])?;
    let parts: Vec<&str> = numbers.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let k3s: String = suffix
        .strip_prefix("k3s")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (numeric && !k3s.is_empty()).then(|| format!("v{numbers}+k3s{k3s}"))
}

/// containerd's version from its start-up log line (K3s only).
pub(crate) fn containerd_version(root: &HostRoot, distro: Distro) -> Option<String> {
    if distro != Distro::K3s {
        return None;
    }
    let tail = files::read_tail(root, CONTAINERD_LOG, CONTAINERD_LOG_TAIL).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("msg=\"starting containerd\""))?;
    let value = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("version="))?;
    clean(value.trim_matches('"'))
}

/// The running kernel's release.
pub(crate) fn kernel(root: &HostRoot) -> Result<String, ProbeError> {
    let text = root.read_text(OSRELEASE)?;
    Ok(cut(text.trim()))
}

/// `PRETTY_NAME` of the host's os-release; empty when neither file has one.
pub(crate) fn os(root: &HostRoot) -> String {
    OS_RELEASE
        .iter()
        .find_map(|path| {
            let (text, _) = files::read_text(root, Path::new(path), READ_LIMIT).ok()?;
            pretty_name(&text)
        })
        .unwrap_or_default()
}

/// `PRETTY_NAME` from os-release text, unquoted as os-release(5) says (shell-style quoting).
pub(crate) fn pretty_name(text: &str) -> Option<String> {
    // The last assignment wins, as when a shell sources the file.
    let raw = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("PRETTY_NAME="))?;
    let value = if let Some(inner) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else if let Some(inner) = raw.strip_prefix('\'') {
        inner.split('\'').next().unwrap_or_default().to_owned()
    } else {
        raw.trim().to_owned()
    };
    let value = cut(&value);
    (!value.is_empty()).then_some(value)
}

/// A version-like token: at most [`MAX_TEXT`] characters of `[A-Za-z0-9.+_~-]`, else `None`.
fn clean(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_TEXT
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b));
    ok.then(|| value.to_owned())
}

/// At most [`MAX_TEXT`] characters of `value`, control characters dropped.
fn cut(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k3s_versions_are_read_from_versioned_dir_names_only() {
        assert_eq!(
            k3s_version_from_dir("v1.31.4-k3s1-6ba2c4e1"),
            Some("v1.31.4+k3s1".into())
        );
        assert_eq!(
            k3s_version_from_dir("v1.32.0+k3s2"),
            Some("v1.32.0+k3s2".into())
        );
        let hash = "c26e7571d760c5f199d18efd197114f1ca4ab1e6ffe494f96feb65c87fcb8cf0";
        assert_eq!(k3s_version_from_dir(hash), None);
        assert_eq!(k3s_version_from_dir("v1.31-k3s1"), None);
    }

    #[test]
    fn pretty_name_is_unquoted_like_a_shell_would() {
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n").as_deref(),
            Some("Ubuntu 24.04.1 LTS")
        );
        assert_eq!(
            pretty_name("PRETTY_NAME='Alpine Linux v3.20'").as_deref(),
            Some("Alpine Linux v3.20")
        );
        assert_eq!(
            pretty_name(r#"PRETTY_NAME="say \"hi\"""#).as_deref(),
            Some(r#"say "hi""#)
        );
        assert_eq!(pretty_name("PRETTY_NAME=Plain").as_deref(), Some("Plain"));
        assert_eq!(pretty_name("NAME=x"), None);
        assert_eq!(pretty_name("PRETTY_NAME=\"\""), None);
    }

    #[test]
    fn version_tokens_refuse_anything_but_version_characters() {
        assert_eq!(clean("v1.7.23-k3s2"), Some("v1.7.23-k3s2".into()));
        assert_eq!(clean("1.0 rm -rf"), None);
        assert_eq!(clean(&"9".repeat(200)), None);
    }
}
