//! K3s etcd snapshots on disk (DOMAIN.md §3: cron `0 */12 * * *`, 5 kept).
//!
//! | field | source |
//! | --- | --- |
//! | `count` | regular files in `etcd-snapshot-dir` (default `<data-dir>/server/db/snapshots`); directories and symlinks are not counted |
//! | `newest_at`, `newest_bytes` | modification time and size of the most recently modified of them |
//!
//! A directory that does not exist is `NotFound` (no snapshot was ever taken, or the directory
//! is elsewhere); an existing empty one is data with `count: 0`. `etcd-disable-snapshots: true`
//! in the K3s config is `Disabled`.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use edgeward_proto::datastore::Snapshots;
use edgeward_proto::{Section, UnavailableReason, UnixMillis};

use super::detect::K3sServer;
use crate::probe::{HostRoot, ProbeError};

/// Directory entries looked at, at most: K3s keeps 5 by default.
const MAX_ENTRIES: usize = 10_000;

/// The snapshots section of a K3s etcd server.
pub fn observe(root: &HostRoot, server: &K3sServer) -> Section<Snapshots> {
    if server.snapshots_disabled {
        return Section::unavailable(
            UnavailableReason::Disabled,
            "etcd-disable-snapshots is set in the K3s config",
        );
    }
    match read(root, &server.snapshot_dir) {
        Ok(s) => Section::Data(s),
        Err(e) => e.to_section(),
    }
}

fn read(root: &HostRoot, dir: &Path) -> Result<Snapshots, ProbeError> {
    let resolved = root.resolve(dir)?;
    let path = root.join(if resolved.exists {
        &resolved.host_path
    } else {
        dir
    });
    let fail = |source| ProbeError::Read {
        path: path.clone(),
        source,
    };
    let entries = fs::read_dir(&path).map_err(fail)?;
    let mut out = Snapshots {
        count: 0,
        newest_at: None,
        newest_bytes: 0,
    };
    for entry in entries.take(MAX_ENTRIES) {
        let entry = entry.map_err(fail)?;
        // symlink_metadata: a link is not a snapshot K3s wrote, and following it could leave
        // the host root.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        out.count = out.count.saturating_add(1);
        let at = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .map(UnixMillis);
        if out.newest_at.is_none() || at > out.newest_at {
            out.newest_at = at;
            out.newest_bytes = meta.len();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use super::*;

    fn server(dir: &str) -> K3sServer {
        K3sServer {
            data_dir: PathBuf::from("/var/lib/rancher/k3s"),
            snapshot_dir: PathBuf::from(dir),
            snapshots_disabled: false,
        }
    }

    #[test]
    fn counts_files_and_picks_the_newest_by_mtime() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("snap");
        fs::create_dir_all(dir.join("subdir")).expect("mkdir");
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (name, len, offset) in [("etcd-snapshot-a", 10, 0), ("etcd-snapshot-b", 20, 3600)] {
            let p = dir.join(name);
            fs::write(&p, vec![0u8; len]).expect("write");
            let f = fs::File::options().write(true).open(&p).expect("open");
            f.set_modified(base + Duration::from_secs(offset))
                .expect("mtime");
        }
        let s = observe(&HostRoot::new(tmp.path()), &server("/snap"));
        assert_eq!(
            s,
            Section::Data(Snapshots {
                count: 2,
                newest_at: Some(UnixMillis(1_700_003_600_000)),
                newest_bytes: 20,
            })
        );
    }

    #[test]
    fn missing_directory_is_not_found_and_disabled_says_so() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = HostRoot::new(tmp.path());
        match observe(&root, &server("/nope")) {
            Section::Unavailable(u) => {
                assert_eq!(u.reason, UnavailableReason::NotFound);
                assert!(u.detail.contains("nope"), "{}", u.detail);
            }
            other => panic!("{other:?}"),
        }
        let mut disabled = server("/nope");
        disabled.snapshots_disabled = true;
        assert!(matches!(
            observe(&root, &disabled),
            Section::Unavailable(u) if u.reason == UnavailableReason::Disabled
        ));
    }
}
