//! The kubelet's effective hard-eviction thresholds (DOMAIN.md §2), resolved every cycle from
//! the best source available, for the pressure probe ([`crate::probe::eviction`]).
//!
//! | order | source | [`ThresholdSource`] |
//! | --- | --- | --- |
//! | 1 | `:10250/configz` `evictionHard` (what the running kubelet uses) | `Configz` |
//! | 2 | K3s `kubelet-arg` `eviction-hard=...` in `/etc/rancher/k3s/config.yaml`, then `config.yaml.d/*.y{a,}ml` | `File(<file of the last such arg>)` |
//! | 3 | K3s kubelet drop-ins `/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/*.conf`, `evictionHard:` | `File(<last drop-in that set it>)` |
//! | 4 | MicroK8s `/var/snap/microk8s/current/args/kubelet` `--eviction-hard` | `File(<that path>)` |
//! | 5 | the distribution's documented defaults | `Default(MicroK8s)` on MicroK8s, else `Default(Upstream)` |
//!
//! The order of 2 and 3 is the kubelet's precedence: a command-line flag (K3s passes
//! `kubelet-arg` as flags) replaces the whole map from its config files, and drop-ins are
//! merged in lexical order with a JSON merge patch, so later files win per key and `null`
//! removes a key (cmd/kubelet `mergeKubeletConfigurations`). K3s config files: later files win
//! per key, `kubelet-arg+` appends (K3s "Configuration File" docs); of several
//! `eviction-hard=` args the last wins, as with any repeated kubelet flag. Whatever is read,
//! the thresholds are exactly the ones listed: setting any threshold zeroes the unset ones
//! (DOMAIN.md §2), so a file with only `memory.available` yields exactly that one.
//!
//! Files are host paths read under the [`HostRoot`]; a source that cannot be read or parsed
//! is skipped and reported to the caller (which logs it), so a broken drop-in never hides a
//! valid `kubelet-arg`. Known gaps: the K3s `--config`/`K3S_CONFIG_FILE` override, kubelet
//! `--config` files and nested drop-in directories are not read.
//!
//! **K3s's own defaults.** K3s generates `evictionHard: {imagefs.available: 5%,
//! nodefs.available: 5%}` for its kubelet (k3s `pkg/daemons/agent`; recent versions write it
//! as the drop-in `00-k3s-defaults.conf`, which source 3 reads). On an older K3s without that
//! drop-in and with no `kubelet-arg`, the result is `Default(Upstream)`, which the wire format
//! documents for K3s; the effective K3s values differ (no `memory.available` threshold).

use std::path::{Path, PathBuf};
use std::{fs, io};

use edgeward_proto::eviction::{self, ThresholdError};
use edgeward_proto::kubelet::KubeletConfig;
use edgeward_proto::pressure::{DefaultsOf, Threshold, ThresholdSource};
use thiserror::Error;
use yaml_rust2::{Yaml, YamlLoader};

use crate::probe::eviction::ResolvedThresholds;
use crate::probe::{HostRoot, ProbeError, io_reason};

pub const K3S_CONFIG: &str = "/etc/rancher/k3s/config.yaml";
pub const K3S_CONFIG_DIR: &str = "/etc/rancher/k3s/config.yaml.d";
pub const K3S_KUBELET_DROPINS: &str = "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d";
pub const MICROK8S_KUBELET_ARGS: &str = "/var/snap/microk8s/current/args/kubelet";
/// Present on every K3s node (agent data) and server.
pub const K3S_DATA: &str = "/var/lib/rancher/k3s";
pub const K3S_ETC: &str = "/etc/rancher/k3s";
pub const MICROK8S_SNAP: &str = "/var/snap/microk8s";

/// The Kubernetes distribution, from its directories under the host root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    K3s,
    MicroK8s,
    Other,
}

impl Distro {
    pub fn detect(root: &HostRoot) -> Distro {
        let exists = |p: &str| root.join(p).exists();
        if exists(K3S_DATA) || exists(K3S_ETC) {
            Distro::K3s
        } else if exists(MICROK8S_SNAP) {
            Distro::MicroK8s
        } else {
            Distro::Other
        }
    }
}

/// A threshold source on disk that could not be used.
#[derive(Debug, Error)]
pub enum FileError {
    #[error(transparent)]
    Read(#[from] ProbeError),
    #[error("cannot list {}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not YAML", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: yaml_rust2::ScanError,
    },
    #[error("{}: {what}", path.display())]
    Shape { path: PathBuf, what: &'static str },
    #[error("{}: eviction-hard", path.display())]
    Threshold {
        path: PathBuf,
        #[source]
        source: ThresholdError,
    },
}

/// One `kubelet-arg` entry and the K3s config file (host path) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletArg {
    pub file: PathBuf,
    pub arg: String,
}

/// The effective thresholds: `configz` when the kubelet answered, else the files, else the
/// defaults of the detected distribution. Sources skipped for an error are appended to
/// `problems`.
pub fn resolve(
    root: &HostRoot,
    configz: Option<&KubeletConfig>,
    problems: &mut Vec<FileError>,
) -> ResolvedThresholds {
    if let Some(c) = configz {
        return ResolvedThresholds {
            source: ThresholdSource::Configz,
            thresholds: c.eviction_hard.to_vec(),
        };
    }
    let sources: [FileSource; 3] = [from_kubelet_args, from_dropins, from_microk8s_args];
    for source in sources {
        match source(root) {
            Ok(Some((path, thresholds))) => {
                return ResolvedThresholds {
                    source: ThresholdSource::File(path.display().to_string()),
                    thresholds,
                };
            }
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    let of = match Distro::detect(root) {
        Distro::MicroK8s => DefaultsOf::MicroK8s,
        Distro::K3s | Distro::Other => DefaultsOf::Upstream,
    };
    ResolvedThresholds {
        source: ThresholdSource::Default(of),
        thresholds: eviction::defaults(of),
    }
}

/// Thresholds read from a file, with its host path.
type FromFile = (PathBuf, Vec<Threshold>);
/// One source on disk: its thresholds, `None` when it does not state any.
type FileSource = fn(&HostRoot) -> Result<Option<FromFile>, FileError>;

/// The K3s `kubelet-arg` list after merging `config.yaml` and `config.yaml.d/*.yaml` (`.yml`
/// too) in lexical order: `kubelet-arg` replaces the list so far, `kubelet-arg+` appends. A
/// single string counts as a one-entry list. This is the one function to swap for the shared
/// K3s config merger.
pub fn k3s_kubelet_args(root: &HostRoot) -> Result<Vec<KubeletArg>, FileError> {
    let mut files = vec![PathBuf::from(K3S_CONFIG)];
    files.extend(list(root, K3S_CONFIG_DIR, |n| {
        n.ends_with(".yaml") || n.ends_with(".yml")
    })?);
    let mut args = Vec::new();
    for file in files {
        let Some(doc) = yaml(root, &file)? else {
            continue;
        };
        for (key, value) in doc.as_hash().into_iter().flatten() {
            let append = match key.as_str() {
                Some("kubelet-arg") => false,
                Some("kubelet-arg+") => true,
                _ => continue,
            };
            let entries: Vec<&Yaml> = match value {
                Yaml::Array(items) => items.iter().collect(),
                Yaml::Null => Vec::new(),
                single => vec![single],
            };
            let mut read = Vec::new();
            for entry in entries {
                let arg = scalar(entry).ok_or_else(|| FileError::Shape {
                    path: file.clone(),
                    what: "kubelet-arg entries must be strings",
                })?;
                read.push(KubeletArg {
                    file: file.clone(),
                    arg,
                });
            }
            if !append {
                args.clear();
            }
            args.extend(read);
        }
    }
    Ok(args)
}

/// Source 2: the last `eviction-hard=` among the K3s `kubelet-arg`s.
fn from_kubelet_args(root: &HostRoot) -> Result<Option<FromFile>, FileError> {
    let last = k3s_kubelet_args(root)?.into_iter().rev().find_map(|a| {
        let flag = a.arg.trim().trim_start_matches('-');
        let value = flag.strip_prefix("eviction-hard=")?.to_owned();
        Some((a.file, value))
    });
    let Some((file, value)) = last else {
        return Ok(None);
    };
    let thresholds = eviction::parse_flag(&value).map_err(|source| FileError::Threshold {
        path: file.clone(),
        source,
    })?;
    Ok(Some((file, thresholds)))
}

/// Source 3: `evictionHard` merged over the K3s kubelet drop-ins.
fn from_dropins(root: &HostRoot) -> Result<Option<FromFile>, FileError> {
    let mut merged: Vec<(String, String)> = Vec::new();
    let mut last = None;
    for file in list(root, K3S_KUBELET_DROPINS, |n| n.ends_with(".conf"))? {
        let Some(doc) = yaml(root, &file)? else {
            continue;
        };
        match &doc["evictionHard"] {
            Yaml::BadValue => continue,
            Yaml::Null => {
                merged.clear();
                last = None;
            }
            Yaml::Hash(map) => {
                for (k, v) in map {
                    let shape = || FileError::Shape {
                        path: file.clone(),
                        what: "evictionHard must map signals to quantities",
                    };
                    let key = scalar(k).ok_or_else(shape)?;
                    merged.retain(|(name, _)| *name != key);
                    if !matches!(v, Yaml::Null) {
                        merged.push((key, scalar(v).ok_or_else(shape)?));
                    }
                }
                last = Some(file.clone());
            }
            _ => {
                return Err(FileError::Shape {
                    path: file,
                    what: "evictionHard is not a map",
                });
            }
        }
    }
    let Some(file) = last else {
        return Ok(None);
    };
    let entries = merged.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let thresholds = eviction::parse_map(entries).map_err(|source| FileError::Threshold {
        path: file.clone(),
        source,
    })?;
    Ok(Some((file, thresholds)))
}

/// Source 4: the last `--eviction-hard` of MicroK8s's kubelet arguments, in any of the forms
/// `--eviction-hard=V`, `--eviction-hard V`, with `V` optionally in single or double quotes.
fn from_microk8s_args(root: &HostRoot) -> Result<Option<FromFile>, FileError> {
    let path = PathBuf::from(MICROK8S_KUBELET_ARGS);
    let Some(text) = read_optional(root, &path)? else {
        return Ok(None);
    };
    let value = text.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix("--eviction-hard")?;
        let value = match rest.strip_prefix('=') {
            Some(v) => v,
            None if rest.starts_with([' ', '\t']) => rest.trim_start(),
            None => return None,
        };
        Some(unquote(value.trim()).to_owned())
    });
    let Some(value) = value else {
        return Ok(None);
    };
    let thresholds = eviction::parse_flag(&value).map_err(|source| FileError::Threshold {
        path: path.clone(),
        source,
    })?;
    Ok(Some((path, thresholds)))
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// The files of host directory `dir` whose names `keep` accepts, as host paths, in lexical
/// (byte) order; none when the directory does not exist.
fn list(root: &HostRoot, dir: &str, keep: fn(&str) -> bool) -> Result<Vec<PathBuf>, FileError> {
    let fail = |source| FileError::List {
        path: root.join(dir),
        source,
    };
    let entries = match fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(fail)?;
        if entry.file_type().map_err(fail)?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str().filter(|n| keep(n)) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| Path::new(dir).join(n)).collect())
}

/// A small text file at a host path; `None` when it does not exist.
fn read_optional(root: &HostRoot, path: &Path) -> Result<Option<String>, FileError> {
    match root.read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.reason() == io_reason(io::ErrorKind::NotFound) => Ok(None),
        Err(e) => Err(FileError::Read(e)),
    }
}

/// The first YAML document of a host file; `None` when the file is missing or empty.
fn yaml(root: &HostRoot, path: &Path) -> Result<Option<Yaml>, FileError> {
    let Some(text) = read_optional(root, path)? else {
        return Ok(None);
    };
    let docs = YamlLoader::load_from_str(&text).map_err(|source| FileError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    match docs.into_iter().next() {
        None | Some(Yaml::Null) => Ok(None),
        Some(doc @ Yaml::Hash(_)) => Ok(Some(doc)),
        Some(_) => Err(FileError::Shape {
            path: path.to_owned(),
            what: "not a YAML mapping",
        }),
    }
}

/// A YAML scalar as text (`100Mi`, `5`, `0.5`).
fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "thresholds_tests.rs"]
mod tests;
