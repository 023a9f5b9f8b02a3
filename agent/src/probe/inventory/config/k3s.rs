//! K3s configuration digests (DOMAIN.md §5): the merged `config.yaml`, the build the data
//! link names, kubelet drop-ins and server manifests.
//!
//! **config.yaml is merged exactly as K3s merges it** (k3s `pkg/configfilearg/parser.go`
//! `readConfigFile`; K3s docs "Configuration file: multiple config files"): `config.yaml`
//! first, then the regular files of `config.yaml.d/` whose names end in `.yaml` or `.yml`
//! (any case) in name order. Only the first YAML document of a file counts. Per top-level
//! key, a later file replaces the value, except that a key ending in `+` appends to a value
//! already set (scalars become one-item lists; a non-string scalar that is empty is dropped).
//! Each merged key becomes the list of flag values K3s passes (`--key=<v>` per list item), and
//! its digest is the SHA-256 of that list as compact JSON: `kubelet-arg: [a, b]` digests
//! `["a","b"]`, `cluster-cidr: 10.42.0.0/16` digests `["10.42.0.0/16"]`. Values are
//! normalised as [`yaml`](super::super::yaml) says, so formatting never changes a digest.
//!
//! The secret-bearing keys (`token`, `agent-token`, `datastore-endpoint`,
//! `etcd-s3-access-key`, `etcd-s3-secret-key`, …) are digested like every other key: no
//! K3s config value ever ships.
//!
//! Manifests and kubelet drop-ins are digested byte for byte: K3s's deploy controller
//! re-applies a manifest when its bytes' checksum changes, so a reformatted manifest is a
//! real change on that server.

use std::path::Path;

use edgeward_proto::UnixMillis;
use tracing::debug;

use super::super::files::{self, Kind, sha256};
use super::super::versions;
use super::super::yaml::{self, Node};
use super::{Digests, flag_name, safe_name};
use crate::probe::{HostRoot, READ_LIMIT};

const CONFIG: &str = "/etc/rancher/k3s/config.yaml";
const CONFIG_D: &str = "/etc/rancher/k3s/config.yaml.d";
const KUBELET_DROPINS: &str = "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d";
const MANIFESTS: &str = "/var/lib/rancher/k3s/server/manifests";
/// How deep below `server/manifests` files are digested.
const MANIFEST_DEPTH: usize = 4;

/// One merged key: its value and the modification time of the last file that set it.
#[derive(Debug)]
struct Merged {
    key: String,
    value: Node,
    modified_at: Option<UnixMillis>,
}

/// The merged config keys, `k3s/config.yaml:<key>`.
pub(crate) fn config(root: &HostRoot, digests: &mut Digests) {
    let mut sources = vec![("k3s/config.yaml".to_owned(), Path::new(CONFIG).to_owned())];
    match files::list(root, CONFIG_D) {
        Ok(entries) => sources.extend(
            entries
                .into_iter()
                .filter(|e| e.kind == Kind::File && is_yaml(&e.name))
                .map(|e| {
                    let key = format!("k3s/config.yaml.d/{}", safe_name(&e.name));
                    (key, e.host_path)
                }),
        ),
        Err(e) => digests.unreadable("k3s/config.yaml.d", &e),
    }
    let mut merged: Vec<Merged> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    for (file_key, path) in sources {
        let (text, modified_at) = match files::read_text(root, &path, READ_LIMIT) {
            Ok(read) => read,
            Err(e) => {
                digests.unreadable(&file_key, &e);
                continue;
            }
        };
        let entries = match yaml::parse_documents(&text).map(|mut docs| {
            if docs.is_empty() {
                Node::Null
            } else {
                docs.swap_remove(0)
            }
        }) {
            Ok(Node::Map(entries)) => entries,
            Ok(Node::Null) => continue,
            Ok(_) | Err(_) => {
                debug!(file = %path.display(), "K3s config file is not a YAML mapping");
                digests.add(
                    format!("{file_key}:!unparseable"),
                    text.as_bytes(),
                    modified_at,
                );
                continue;
            }
        };
        for (key, value) in entries {
            let raw = key.key_text();
            let (name, append) = match raw.strip_suffix('+') {
                Some(name) => (name, true),
                None => (raw.as_str(), false),
            };
            let Some(name) = flag_name(name) else {
                invalid.push(raw.clone());
                continue;
            };
            merge(&mut merged, name, value, append, modified_at);
        }
    }
    for m in merged {
        let flags: Vec<String> = match &m.value {
            Node::Seq(items) => items.iter().map(Node::flag_text).collect(),
            other => vec![other.flag_text()],
        };
        let canonical = serde_json::Value::from(flags).to_string();
        let key = format!("k3s/config.yaml:{}", m.key);
        digests.add(key, canonical.as_bytes(), m.modified_at);
    }
    if !invalid.is_empty() {
        invalid.sort();
        let canonical = serde_json::Value::from(invalid).to_string();
        digests.add(
            "k3s/config.yaml:!invalid-keys".to_owned(),
            canonical.as_bytes(),
            None,
        );
    }
}

/// Applies one file's `name: value` (or `name+: value`) to the merged keys.
fn merge(
    merged: &mut Vec<Merged>,
    name: &str,
    value: Node,
    append: bool,
    modified_at: Option<UnixMillis>,
) {
    match merged.iter_mut().find(|m| m.key == name) {
        Some(existing) => {
            existing.value = if append {
                let old = std::mem::replace(&mut existing.value, Node::Null);
                let mut items = to_slice(old);
                items.extend(to_slice(value));
                Node::Seq(items)
            } else {
                value
            };
            existing.modified_at = modified_at;
        }
        None => merged.push(Merged {
            key: name.to_owned(),
            value,
            modified_at,
        }),
    }
}

/// K3s's `toSlice`: a string is a one-item list, a list stays, anything else becomes its
/// trimmed text, or nothing when that is empty.
fn to_slice(node: Node) -> Vec<Node> {
    match node {
        Node::Str(_) => vec![node],
        Node::Seq(items) => items,
        other => {
            let text = other.flag_text().trim().to_owned();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![Node::Str(text)]
            }
        }
    }
}

/// `.yaml` or `.yml`, any case (K3s's `util.HasSuffixI`).
fn is_yaml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// `k3s/data/current`: the build hash, with the time the link last changed.
pub(crate) fn build(root: &HostRoot, digests: &mut Digests) {
    if let Some((build, changed)) = versions::k3s_build(root) {
        let digest = sha256(build.as_bytes());
        digests.add_digest("k3s/data/current".to_owned(), digest, Some(build), changed);
    }
}

/// `k3s/agent/etc/kubelet.conf.d/<file>` for every `*.conf` drop-in (the kubelet reads only
/// those).
pub(crate) fn kubelet_dropins(root: &HostRoot, digests: &mut Digests) {
    let prefix = "k3s/agent/etc/kubelet.conf.d";
    match files::list(root, KUBELET_DROPINS) {
        Ok(entries) => {
            for e in entries {
                if e.kind == Kind::File && e.name.ends_with(".conf") {
                    let key = format!("{prefix}/{}", safe_name(&e.name));
                    digests.file(root, key, &e.host_path);
                }
            }
        }
        Err(e) => digests.unreadable(prefix, &e),
    }
}

/// `k3s/server/manifests/<relative path>` for every file below the manifests directory,
/// `.skip` markers included (they switch a packaged manifest off).
pub(crate) fn manifests(root: &HostRoot, digests: &mut Digests) {
    let prefix = "k3s/server/manifests";
    match files::walk(root, MANIFESTS, MANIFEST_DEPTH, |_| false) {
        Ok(found) => {
            for (rel, host_path) in found {
                let rel: Vec<String> = rel.iter().map(|c| safe_name(c)).collect();
                digests.file(root, format!("{prefix}/{}", rel.join("/")), &host_path);
            }
        }
        Err(e) => digests.unreadable(prefix, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged_flags(files: &[&str]) -> Vec<(String, Vec<String>)> {
        let mut merged = Vec::new();
        for text in files {
            let docs = yaml::parse_documents(text).expect("parses");
            let Some(Node::Map(entries)) = docs.into_iter().next() else {
                panic!("not a map");
            };
            for (k, v) in entries {
                let raw = k.key_text();
                let (name, append) = match raw.strip_suffix('+') {
                    Some(n) => (n.to_owned(), true),
                    None => (raw.clone(), false),
                };
                merge(&mut merged, &name, v, append, None);
            }
        }
        merged
            .into_iter()
            .map(|m| {
                let flags = match m.value {
                    Node::Seq(items) => items.iter().map(Node::flag_text).collect(),
                    other => vec![other.flag_text()],
                };
                (m.key, flags)
            })
            .collect()
    }

    #[test]
    fn later_files_replace_and_plus_keys_append_as_k3s_does() {
        let merged = merged_flags(&[
            "node-label: [a=1]\ncluster-cidr: 10.42.0.0/16\nwrite-kubeconfig-mode: '0644'\n",
            "node-label+: b=2\ncluster-cidr: 10.52.0.0/16\n",
            "node-label+: [c=3]\ntls-san+: x\n",
        ]);
        assert_eq!(
            merged,
            [
                (
                    "node-label".into(),
                    vec!["a=1".into(), "b=2".into(), "c=3".into()]
                ),
                ("cluster-cidr".into(), vec!["10.52.0.0/16".into()]),
                ("write-kubeconfig-mode".into(), vec!["0644".into()]),
                ("tls-san".into(), vec!["x".into()]),
            ]
        );
    }

    #[test]
    fn appending_to_a_null_drops_it_and_booleans_become_flag_text() {
        // `y` is a YAML 1.1 boolean, as yaml.v2 reads it.
        let merged = merged_flags(&["a: ~\nb: true\n", "a+: [x]\nb+: [y, z]\n"]);
        assert_eq!(
            merged,
            [
                ("a".into(), vec!["x".into()]),
                ("b".into(), vec!["true".into(), "true".into(), "z".into()]),
            ]
        );
    }

    #[test]
    fn drop_ins_are_yaml_files_by_suffix_in_any_case() {
        assert!(is_yaml("10-a.yaml") && is_yaml("20-b.YML") && is_yaml("x.Yaml"));
        assert!(!is_yaml("config.yaml.bak") && !is_yaml("notes.txt"));
    }
}
