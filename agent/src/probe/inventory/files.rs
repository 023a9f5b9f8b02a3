//! Host files for the inventory: bounded reads, streamed digests and directory listings, all
//! through the [`HostRoot`] with symlinks followed inside it ([`HostRoot::resolve`]), so
//! `/snap/microk8s/current -> 7964` or `/etc/rancher/k3s/config.yaml -> /mnt/cfg/k3s.yaml`
//! are read on the host, not in the agent's own mount namespace.
//!
//! Invariants: a read never holds more than its limit in memory; a streamed digest reads at
//! most [`MAX_STREAM`] bytes; a listing returns at most [`MAX_ENTRIES`] entries, sorted by name.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use edgeward_proto::UnixMillis;
use ring::digest::{Context, SHA256};

use crate::probe::{HostRoot, ParseError, ProbeError};

/// Most bytes a streamed digest reads; a larger file is digested over this prefix and its size.
pub(crate) const MAX_STREAM: u64 = 8 << 20;
/// Most entries one directory listing returns.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// A small host file read whole.
#[derive(Debug)]
pub(crate) struct HostFile {
    pub bytes: Vec<u8>,
    pub modified_at: Option<UnixMillis>,
}

/// What a directory entry is, after following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Other,
}

/// One entry of a listed directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    /// Host path: the listed directory's path as requested, plus `name`.
    pub host_path: PathBuf,
    pub kind: Kind,
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&SHA256, bytes).as_ref());
    out
}

/// Where host path `host_path` is on disk, after following symlinks inside the root.
/// `NotFound` when it does not exist.
pub(crate) fn locate(root: &HostRoot, host_path: &Path) -> Result<PathBuf, ProbeError> {
    let resolved = root.resolve(host_path)?;
    let on_disk = root.join(&resolved.host_path);
    if !resolved.exists {
        return Err(ProbeError::Read {
            path: root.join(host_path),
            source: io::ErrorKind::NotFound.into(),
        });
    }
    Ok(on_disk)
}

/// Whether host path `host_path` exists (symlinks followed inside the root).
pub(crate) fn exists(root: &HostRoot, host_path: impl AsRef<Path>) -> bool {
    root.resolve(host_path.as_ref())
        .is_ok_and(|resolved| resolved.exists)
}

/// Reads host file `host_path`, refusing it when larger than `limit` bytes.
pub(crate) fn read(
    root: &HostRoot,
    host_path: impl AsRef<Path>,
    limit: u64,
) -> Result<HostFile, ProbeError> {
    let on_disk = locate(root, host_path.as_ref())?;
    let fail = |source| ProbeError::Read {
        path: on_disk.clone(),
        source,
    };
    let file = File::open(&on_disk).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(fail(io::Error::other("not a regular file")));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > limit {
        return Err(ProbeError::Parse {
            path: on_disk,
            source: ParseError::TooLarge { limit },
        });
    }
    Ok(HostFile {
        bytes,
        modified_at: modified_at(&meta),
    })
}

/// Reads host file `host_path` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_text(
    root: &HostRoot,
    host_path: impl AsRef<Path>,
    limit: u64,
) -> Result<(String, Option<UnixMillis>), ProbeError> {
    let host_path = host_path.as_ref();
    let file = read(root, host_path, limit)?;
    let text = String::from_utf8(file.bytes).map_err(|_| ProbeError::Parse {
        path: root.join(host_path),
        source: ParseError::NotUtf8,
    })?;
    Ok((text, file.modified_at))
}

/// The last `max` bytes of host file `host_path` (the whole file when smaller), for logs that
/// grow at the end.
pub(crate) fn read_tail(
    root: &HostRoot,
    host_path: impl AsRef<Path>,
    max: u64,
) -> Result<Vec<u8>, ProbeError> {
    let on_disk = locate(root, host_path.as_ref())?;
    let fail = |source| ProbeError::Read {
        path: on_disk.clone(),
        source,
    };
    let mut file = File::open(&on_disk).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max)))
        .map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// SHA-256 of host file `host_path`'s bytes, streamed. A file above [`MAX_STREAM`] bytes is
/// digested over its first [`MAX_STREAM`] bytes followed by its size in decimal.
pub(crate) fn digest_file(
    root: &HostRoot,
    host_path: impl AsRef<Path>,
) -> Result<([u8; 32], Option<UnixMillis>), ProbeError> {
    let on_disk = locate(root, host_path.as_ref())?;
    let fail = |source| ProbeError::Read {
        path: on_disk.clone(),
        source,
    };
    let file = File::open(&on_disk).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    let mut context = Context::new(&SHA256);
    let mut reader = file.take(MAX_STREAM);
    let mut buf = [0_u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => context.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(e)),
        }
    }
    if meta.len() > MAX_STREAM {
        context.update(meta.len().to_string().as_bytes());
    }
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    Ok((out, modified_at(&meta)))
}

/// The entries of host directory `host_dir`, sorted by name, at most [`MAX_ENTRIES`]; names
/// that are not UTF-8 are skipped (no K3s or MicroK8s file has one).
pub(crate) fn list(root: &HostRoot, host_dir: impl AsRef<Path>) -> Result<Vec<Entry>, ProbeError> {
    let host_dir = host_dir.as_ref();
    let on_disk = locate(root, host_dir)?;
    let fail = |source| ProbeError::Read {
        path: on_disk.clone(),
        source,
    };
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(&on_disk).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
        // Bounded before sorting: a directory with a million files costs one pass, not memory.
        if names.len() >= MAX_ENTRIES * 4 {
            break;
        }
    }
    names.sort_unstable();
    names.truncate(MAX_ENTRIES);
    Ok(names
        .into_iter()
        .map(|name| {
            let host_path = host_dir.join(&name);
            let kind = match locate(root, &host_path).and_then(|p| {
                fs::metadata(&p).map_err(|source| ProbeError::Read { path: p, source })
            }) {
                Ok(meta) if meta.is_file() => Kind::File,
                Ok(meta) if meta.is_dir() => Kind::Dir,
                _ => Kind::Other,
            };
            Entry {
                name,
                host_path,
                kind,
            }
        })
        .collect())
}

/// The regular files below host directory `host_dir`, depth first in name order, at most
/// `max_depth` directories down and [`MAX_ENTRIES`] files in all. Each comes with its path
/// relative to `host_dir` as components. Directories for which `skip` is true are not entered.
/// A missing `host_dir` is `NotFound`; unreadable subdirectories are passed over.
pub(crate) fn walk(
    root: &HostRoot,
    host_dir: impl AsRef<Path>,
    max_depth: usize,
    skip: impl Fn(&str) -> bool,
) -> Result<Vec<(Vec<String>, PathBuf)>, ProbeError> {
    let mut out = Vec::new();
    // (entries of one directory, relative path of that directory, depth), innermost last.
    let mut stack = vec![(list(root, host_dir)?.into_iter(), Vec::<String>::new(), 0)];
    while let Some((entries, rel, depth)) = stack.last_mut() {
        let Some(entry) = entries.next() else {
            stack.pop();
            continue;
        };
        let mut path = rel.clone();
        path.push(entry.name.clone());
        match entry.kind {
            Kind::File => {
                out.push((path, entry.host_path));
                if out.len() >= MAX_ENTRIES {
                    break;
                }
            }
            Kind::Dir if *depth < max_depth && !skip(&entry.name) => {
                let depth = *depth + 1;
                if let Ok(children) = list(root, &entry.host_path) {
                    stack.push((children.into_iter(), path, depth));
                }
            }
            Kind::Dir | Kind::Other => {}
        }
    }
    Ok(out)
}

/// A file's modification time on the wire.
pub(crate) fn modified_at(meta: &Metadata) -> Option<UnixMillis> {
    let since_epoch = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(UnixMillis(
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn reads_follow_absolute_symlinks_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("mnt/cfg")).expect("mkdir");
        fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        fs::write(dir.path().join("mnt/cfg/k3s.yaml"), "a: 1\n").expect("write");
        symlink("/mnt/cfg/k3s.yaml", dir.path().join("etc/config.yaml")).expect("symlink");
        let root = HostRoot::new(dir.path());
        let (text, mtime) = read_text(&root, "/etc/config.yaml", 100).expect("reads");
        assert_eq!(text, "a: 1\n");
        assert!(mtime.is_some());
    }

    #[test]
    fn a_file_above_the_limit_is_refused_and_a_missing_one_is_not_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("big"), [b'x'; 11]).expect("write");
        let root = HostRoot::new(dir.path());
        let err = read(&root, "/big", 10).expect_err("too large");
        assert_eq!(err.reason(), edgeward_proto::UnavailableReason::Unparseable);
        let err = read(&root, "/missing", 10).expect_err("missing");
        assert_eq!(err.reason(), edgeward_proto::UnavailableReason::NotFound);
    }

    #[test]
    fn streamed_digest_equals_the_digest_of_the_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("f"), b"hello").expect("write");
        let (digest, _) = digest_file(&HostRoot::new(dir.path()), "/f").expect("digest");
        assert_eq!(digest, sha256(b"hello"));
    }

    #[test]
    fn listings_are_sorted_and_say_what_each_entry_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("d/sub")).expect("mkdir");
        fs::write(dir.path().join("d/b.yaml"), "").expect("write");
        fs::write(dir.path().join("d/a.yaml"), "").expect("write");
        let entries = list(&HostRoot::new(dir.path()), "/d").expect("lists");
        let seen: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(
            seen,
            [
                ("a.yaml", Kind::File),
                ("b.yaml", Kind::File),
                ("sub", Kind::Dir)
            ]
        );
        assert_eq!(entries[0].host_path, PathBuf::from("/d/a.yaml"));
    }

    #[test]
    fn walks_go_depth_first_in_name_order_and_skip_what_they_are_told() {
        let dir = tempfile::tempdir().expect("tempdir");
        for path in ["t/b/x.crt", "t/a.crt", "t/skip/y.crt", "t/b/c/d/deep.crt"] {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "").expect("write");
        }
        let found =
            walk(&HostRoot::new(dir.path()), "/t", 2, |name| name == "skip").expect("walks");
        let rel: Vec<String> = found.iter().map(|(rel, _)| rel.join("/")).collect();
        assert_eq!(rel, ["a.crt", "b/x.crt"]);
        assert_eq!(found[1].1, PathBuf::from("/t/b/x.crt"));
    }
}
