//! [`HostRoot`]: where the host's filesystem is visible to the agent, and how host paths are
//! looked up under it.
//!
//! The agent runs as a DaemonSet with the host's `/` mounted somewhere (say `/host`), or as a
//! plain service with root `/`. Probes name host paths (`/proc/meminfo`) and the root decides
//! where they are read. Two invariants:
//!
//! - **Nothing escapes the root.** [`HostRoot::join`] is lexical and clamps `..` at the root.
//!   [`HostRoot::resolve`] follows symlinks itself, re-rooting absolute targets, so a host link
//!   such as `/var/lib/rancher -> /mnt/ssd/rancher` (common on edge boxes that keep data off
//!   the SD card) is measured on the host's SSD, not on whatever `/mnt/ssd` is in the agent's
//!   own mount namespace. With root `/` this is exactly what the kernel would do.
//! - **Reads are bounded.** [`HostRoot::read_text`] refuses files above [`READ_LIMIT`]: kernel
//!   interface files are a few KiB, and a mistaken root must not make the agent read a disk image.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::{fs, io};

use super::error::{ParseError, ProbeError};

/// Largest file [`HostRoot::read_text`] reads. `/proc/meminfo` is about 1.5 KiB.
pub const READ_LIMIT: u64 = 64 * 1024;

/// Symlinks followed while resolving one path before giving up with ELOOP (Linux's
/// `MAXSYMLINKS` is 40).
const MAX_SYMLINKS: u32 = 40;

/// The directory under which the host's `/` is visible. Default `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot(PathBuf);

/// A host path after [`HostRoot::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Host-absolute path (as the host sees it, without the root) after following symlinks:
    /// the requested path, or its nearest existing ancestor when `exists` is false.
    pub host_path: PathBuf,
    /// Whether the whole requested path exists.
    pub exists: bool,
}

impl Default for HostRoot {
    fn default() -> Self {
        Self(PathBuf::from("/"))
    }
}

impl HostRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self(root.into())
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// Where host path `host_path` is visible to the agent: `/tmp/x` + `/proc/meminfo` →
    /// `/tmp/x/proc/meminfo`. Lexical: relative paths count from the host's `/`, `..` never
    /// climbs above the root, symlinks are not looked at.
    pub fn join(&self, host_path: impl AsRef<Path>) -> PathBuf {
        self.0.join(normalize(host_path.as_ref()))
    }

    /// Reads a small text file at host path `host_path`.
    pub fn read_text(&self, host_path: impl AsRef<Path>) -> Result<String, ProbeError> {
        let path = self.join(host_path);
        let read = |path: &Path| -> io::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            fs::File::open(path)?
                .take(READ_LIMIT + 1)
                .read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        let bytes = match read(&path) {
            Ok(bytes) => bytes,
            Err(source) => return Err(ProbeError::Read { path, source }),
        };
        if bytes.len() as u64 > READ_LIMIT {
            let source = ParseError::TooLarge { limit: READ_LIMIT };
            return Err(ProbeError::Parse { path, source });
        }
        String::from_utf8(bytes).map_err(|_| ProbeError::Parse {
            path,
            source: ParseError::NotUtf8,
        })
    }

    /// Follows host path `host_path` component by component inside the root, as the host's
    /// kernel would: absolute symlink targets restart at the root, `..` stops at it. Stops at
    /// the first component that does not exist and returns the existing part
    /// (`exists: false`); other errors (permission, a file used as a directory, a symlink
    /// loop) are returned.
    pub fn resolve(&self, host_path: impl AsRef<Path>) -> Result<Resolved, ProbeError> {
        let requested = normalize(host_path.as_ref());
        let fail = |source: io::Error| ProbeError::Resolve {
            path: Path::new("/").join(&requested),
            source,
        };
        let mut pending: Vec<OsString> = components_reversed(&requested);
        let mut done = PathBuf::from("/");
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                done.pop();
                continue;
            }
            let candidate = done.join(&name);
            let on_disk = self.join(&candidate);
            match fs::symlink_metadata(&on_disk) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_SYMLINKS {
                        return Err(fail(rustix::io::Errno::LOOP.into()));
                    }
                    let target = fs::read_link(&on_disk).map_err(fail)?;
                    if target.has_root() {
                        done = PathBuf::from("/");
                    }
                    pending.extend(components_reversed(&target));
                }
                Ok(_) => done = candidate,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Ok(Resolved {
                        host_path: done,
                        exists: false,
                    });
                }
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(Resolved {
            host_path: done,
            exists: true,
        })
    }
}

/// `path` relative to the host's `/`, with `.` dropped and `..` applied but clamped at `/`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The names in `path` (keeping `..`, dropping `/` and `.`), last first: a stack to pop from.
fn components_reversed(path: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    names.reverse();
    names
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("mnt/ssd/rancher/k3s")).expect("mkdir");
        fs::create_dir_all(dir.path().join("var/lib")).expect("mkdir");
        dir
    }

    #[test]
    fn join_puts_host_paths_under_the_root() {
        let root = HostRoot::new("/tmp/x");
        assert_eq!(
            root.join("/proc/meminfo"),
            PathBuf::from("/tmp/x/proc/meminfo")
        );
        assert_eq!(
            root.join("proc/uptime"),
            PathBuf::from("/tmp/x/proc/uptime")
        );
        assert_eq!(
            HostRoot::default().join("/proc/meminfo"),
            PathBuf::from("/proc/meminfo")
        );
    }

    #[test]
    fn join_never_climbs_above_the_root() {
        let root = HostRoot::new("/host");
        assert_eq!(
            root.join("/../../etc/shadow"),
            PathBuf::from("/host/etc/shadow")
        );
        assert_eq!(root.join("/a/./b/../c"), PathBuf::from("/host/a/c"));
    }

    #[test]
    fn resolve_reroots_absolute_symlinks_at_the_host_root() {
        let dir = tree();
        symlink("/mnt/ssd/rancher", dir.path().join("var/lib/rancher")).expect("symlink");
        let root = HostRoot::new(dir.path());
        let resolved = root.resolve("/var/lib/rancher/k3s").expect("resolves");
        assert_eq!(
            resolved,
            Resolved {
                host_path: PathBuf::from("/mnt/ssd/rancher/k3s"),
                exists: true
            }
        );
    }

    #[test]
    fn resolve_follows_relative_symlinks_and_clamps_dotdot_at_the_root() {
        let dir = tree();
        symlink("../../../../mnt/ssd", dir.path().join("var/lib/data")).expect("symlink");
        let root = HostRoot::new(dir.path());
        let resolved = root.resolve("/var/lib/data/rancher").expect("resolves");
        assert_eq!(resolved.host_path, PathBuf::from("/mnt/ssd/rancher"));
        assert!(resolved.exists);
    }

    #[test]
    fn resolve_stops_at_the_nearest_existing_ancestor() {
        let dir = tree();
        let root = HostRoot::new(dir.path());
        let resolved = root.resolve("/var/lib/kubelet/pods").expect("resolves");
        assert_eq!(
            resolved,
            Resolved {
                host_path: PathBuf::from("/var/lib"),
                exists: false
            }
        );
    }

    #[test]
    fn resolve_reports_a_symlink_loop_instead_of_spinning() {
        let dir = tree();
        symlink("/var/lib/b", dir.path().join("var/lib/a")).expect("symlink");
        symlink("/var/lib/a", dir.path().join("var/lib/b")).expect("symlink");
        let err = HostRoot::new(dir.path())
            .resolve("/var/lib/a")
            .expect_err("loop");
        assert!(matches!(err, ProbeError::Resolve { .. }), "{err:?}");
        assert!(err.detail().contains("/var/lib/a"), "{}", err.detail());
    }

    #[test]
    fn read_text_refuses_files_above_the_limit() {
        let dir = tree();
        let big = vec![b'1'; READ_LIMIT as usize + 1];
        fs::write(dir.path().join("big"), big).expect("write");
        fs::write(dir.path().join("ok"), vec![b'1'; READ_LIMIT as usize]).expect("write");
        let root = HostRoot::new(dir.path());
        let err = root.read_text("/big").expect_err("too large");
        assert!(
            matches!(
                err,
                ProbeError::Parse {
                    source: ParseError::TooLarge { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            root.read_text("/ok").expect("fits").len(),
            READ_LIMIT as usize
        );
    }

    #[test]
    fn read_text_refuses_non_utf8() {
        let dir = tree();
        fs::write(dir.path().join("bin"), [0xff, 0xfe, b'1']).expect("write");
        let err = HostRoot::new(dir.path())
            .read_text("/bin")
            .expect_err("not utf-8");
        assert!(
            matches!(
                err,
                ProbeError::Parse {
                    source: ParseError::NotUtf8,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
