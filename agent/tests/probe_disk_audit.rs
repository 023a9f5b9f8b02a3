//! The disk latency audit through its public API: real `write` + `fdatasync` on temporary
//! directories, with instants passed in (no sleeps). The machine's own disk may be nearly
//! full, so tests that must run set the free-space floors to zero; the skip test sets a floor
//! no disk can meet.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgeward_agent::probe::HostRoot;
use edgeward_agent::probe::disk_audit::{
    DiskAudit, DiskAuditOptions, MAX_BYTES_PER_RUN, TEMP_FILE,
};
use edgeward_proto::datastore;
use edgeward_proto::{Section, Seq, UnavailableReason};

const DB: &str = "/var/lib/rancher/k3s/server/db";

/// A host root with an empty datastore directory at [`DB`].
fn host() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join(DB.trim_start_matches('/'))).expect("mkdir");
    dir
}

/// Options that run on any disk: no free-space floor, `writes` writes of 2300 bytes.
fn options(writes: u64) -> DiskAuditOptions {
    DiskAuditOptions {
        dir: PathBuf::from(DB),
        max_bytes: writes * 2300,
        min_free_bytes: 0,
        min_free_percent: 0,
        min_free_inodes_percent: 0,
        ..DiskAuditOptions::default()
    }
}

fn data(section: Section<datastore::DiskAudit>) -> datastore::DiskAudit {
    match section {
        Section::Data(audit) => audit,
        other => panic!("expected audit data, got {other:?}"),
    }
}

fn unavailable(section: Section<datastore::DiskAudit>) -> (UnavailableReason, String) {
    match section {
        Section::Unavailable(u) => (u.reason, u.detail),
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// Every file (not directory) below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn audit_times_real_fdatasyncs_and_removes_its_temp_file() {
    let dir = host();
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), options(50));
    let a = data(audit.run_if_due(Instant::now()));
    assert_eq!(a.path, DB);
    assert_eq!((a.writes, a.bytes_per_write), (50, 2300));
    assert!(a.p50_us <= a.p99_us && a.p99_us <= a.max_us, "{a:?}");
    assert!(
        a.max_us > 0,
        "an fdatasync takes at least a microsecond: {a:?}"
    );
    assert!(
        files_below(dir.path()).is_empty(),
        "{:?}",
        files_below(dir.path())
    );
}

#[test]
fn within_the_interval_the_audit_is_not_due_and_names_the_appended_seq() {
    let dir = host();
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), options(5));
    let t0 = Instant::now();
    data(audit.run_if_due(t0));
    audit.appended(Seq(41));
    let almost = t0 + Duration::from_secs(10 * 60 - 1);
    assert_eq!(
        audit.run_if_due(almost),
        Section::NotDue {
            last: Some(Seq(41))
        }
    );
    // An append confirming a cycle that carried NotDue does not move the seq.
    audit.appended(Seq(42));
    assert_eq!(
        audit.run_if_due(almost),
        Section::NotDue {
            last: Some(Seq(41))
        }
    );
    data(audit.run_if_due(t0 + Duration::from_secs(10 * 60)));
}

#[test]
fn a_result_whose_append_failed_ships_again_without_a_new_run() {
    let dir = host();
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), options(20));
    let t0 = Instant::now();
    let first = data(audit.run_if_due(t0));
    // No `appended`: the sample carrying it never became durable.
    let again = data(audit.run_if_due(t0 + Duration::from_secs(30)));
    assert_eq!(first, again, "the kept result, not a second measurement");
    audit.appended(Seq(9));
    assert_eq!(
        audit.run_if_due(t0 + Duration::from_secs(60)),
        Section::NotDue { last: Some(Seq(9)) }
    );
}

#[test]
fn one_run_never_writes_more_than_one_megabyte_whatever_the_options_say() {
    let dir = host();
    let big = DiskAuditOptions {
        max_bytes: u64::MAX,
        write_size: 250_000,
        ..options(0)
    };
    let a = data(DiskAudit::new(HostRoot::new(dir.path()), big).run_if_due(Instant::now()));
    assert_eq!((a.writes, a.bytes_per_write), (4, 250_000));
    assert!(u64::from(a.writes) * u64::from(a.bytes_per_write) <= MAX_BYTES_PER_RUN);
    let default_size = DiskAuditOptions {
        max_bytes: u64::MAX,
        ..options(0)
    };
    let audit = DiskAudit::new(HostRoot::new(dir.path()), default_size);
    assert_eq!(audit.burst(), (434, 2300));
    assert_eq!(
        DiskAudit::new(HostRoot::default(), DiskAuditOptions::default()).burst(),
        (200, 2300)
    );
}

#[test]
fn a_nearly_full_disk_is_skipped_and_checked_again_next_cycle() {
    let dir = host();
    let full = DiskAuditOptions {
        min_free_bytes: u64::MAX / 2,
        ..options(5)
    };
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), full);
    let t0 = Instant::now();
    let (reason, detail) = unavailable(audit.run_if_due(t0));
    assert_eq!(reason, UnavailableReason::Skipped);
    assert!(
        detail.contains("DiskPressure") && detail.contains(DB),
        "{detail}"
    );
    assert!(files_below(dir.path()).is_empty());
    // Not a run: the next cycle checks again instead of reporting NotDue.
    let (reason, _) = unavailable(audit.run_if_due(t0 + Duration::from_secs(10)));
    assert_eq!(reason, UnavailableReason::Skipped);
}

#[test]
fn default_floors_skip_when_the_burst_would_leave_less_than_ten_percent() {
    // Whatever this machine's disk looks like, 101 % free can never be met.
    let dir = host();
    let strict = DiskAuditOptions {
        min_free_percent: 101,
        ..options(5)
    };
    let (reason, detail) =
        unavailable(DiskAudit::new(HostRoot::new(dir.path()), strict).run_if_due(Instant::now()));
    assert_eq!(reason, UnavailableReason::Skipped);
    assert!(detail.contains("101 %"), "{detail}");
}

#[test]
fn a_missing_directory_is_not_found_and_no_ancestor_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("var/lib")).expect("mkdir");
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), options(5));
    let (reason, detail) = unavailable(audit.run_if_due(Instant::now()));
    assert_eq!(reason, UnavailableReason::NotFound);
    assert!(
        detail.contains(DB) && detail.contains("/var/lib"),
        "{detail}"
    );
    assert!(files_below(dir.path()).is_empty());
}

#[test]
fn a_symlinked_datastore_dir_is_audited_and_reported_at_its_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("mnt/ssd/db")).expect("mkdir");
    fs::create_dir_all(dir.path().join("var/lib/rancher/k3s/server")).expect("mkdir");
    symlink("/mnt/ssd/db", dir.path().join(DB.trim_start_matches('/'))).expect("symlink");
    let a = data(DiskAudit::new(HostRoot::new(dir.path()), options(3)).run_if_due(Instant::now()));
    assert_eq!(a.path, "/mnt/ssd/db");
    assert!(
        fs::read_dir(dir.path().join("mnt/ssd/db"))
            .expect("ls")
            .next()
            .is_none()
    );
}

#[test]
fn a_temp_file_left_by_a_crash_is_replaced_then_removed() {
    let dir = host();
    let stale = dir.path().join(DB.trim_start_matches('/')).join(TEMP_FILE);
    fs::write(&stale, vec![7_u8; 10_000]).expect("write");
    data(DiskAudit::new(HostRoot::new(dir.path()), options(3)).run_if_due(Instant::now()));
    assert!(!stale.exists());
}

#[test]
fn a_write_failure_is_a_run_reported_until_the_next_one_is_due() {
    let dir = host();
    // A directory where the temp file should go: not ours to remove, and creation fails.
    let blocker = dir.path().join(DB.trim_start_matches('/')).join(TEMP_FILE);
    fs::create_dir(&blocker).expect("mkdir");
    let mut audit = DiskAudit::new(HostRoot::new(dir.path()), options(3));
    let t0 = Instant::now();
    let (reason, detail) = unavailable(audit.run_if_due(t0));
    assert_eq!(reason, UnavailableReason::Failed);
    assert!(detail.contains(TEMP_FILE), "{detail}");
    assert!(
        blocker.is_dir(),
        "a directory that is not the audit's is left alone"
    );
    let (again, _) = unavailable(audit.run_if_due(t0 + Duration::from_secs(60)));
    assert_eq!(again, UnavailableReason::Failed);
}
