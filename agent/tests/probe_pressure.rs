//! The pressure probe through the public API, against the fixture host trees in
//! `tests/fixtures/hosts/` (exact values: see its README.md) and against this machine's root.

use std::fs;
use std::path::{Path, PathBuf};

use edgeward_agent::probe::eviction::SharedThresholds;
use edgeward_agent::probe::{HostRoot, PressureProbe, Probe, blank_sample, read_boot_id};
use edgeward_proto::pressure::{FsRole, Load, Memory, NodePressure, Pids, PsiLine};
use edgeward_proto::{Section, UnavailableReason, UnixMillis};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

fn k3s_filesystems() -> Vec<(FsRole, PathBuf)> {
    vec![
        (FsRole::Node, PathBuf::from("/var/lib/kubelet")),
        (
            FsRole::Image,
            PathBuf::from("/var/lib/rancher/k3s/agent/containerd"),
        ),
    ]
}

/// Observes once under `root` and returns the pressure section.
fn observe(root: &Path, filesystems: Vec<(FsRole, PathBuf)>) -> Section<NodePressure> {
    let mut probe = PressureProbe::new(
        HostRoot::new(root),
        filesystems,
        SharedThresholds::default(),
    );
    let mut sample = blank_sample(UnixMillis(1_763_690_000_000));
    probe.observe(&mut sample);
    sample.pressure
}

fn data(section: Section<NodePressure>) -> NodePressure {
    match section {
        Section::Data(p) => p,
        other => panic!("expected pressure data, got {other:?}"),
    }
}

#[test]
fn k3s_server_fixture_reads_memory_load_uptime_and_pids_exactly() {
    let p = data(observe(&fixture("k3s-server"), k3s_filesystems()));
    assert_eq!(
        p.memory,
        Section::Data(Memory {
            total_bytes: 24_684_084 * 1024,
            available_bytes: 23_394_672 * 1024,
        })
    );
    assert_eq!(
        p.load,
        Load {
            one: 8.01,
            five: 6.79,
            fifteen: 4.62
        }
    );
    assert_eq!(p.uptime_secs, 4825);
    // limit = min(pid_max 32768, threads-max 192730); in use = 139 from loadavg's "9/139".
    assert_eq!(
        p.pids,
        Section::Data(Pids {
            in_use: 139,
            limit: 32_768
        })
    );
}

#[test]
fn k3s_server_fixture_reads_psi_of_all_three_resources() {
    let p = data(observe(&fixture("k3s-server"), vec![]));
    let Section::Data(psi) = p.psi else {
        panic!("expected psi data, got {:?}", p.psi);
    };
    assert_eq!(
        psi.cpu.some,
        PsiLine {
            avg10: 98.33,
            avg60: 97.15,
            avg300: 88.62,
            total_us: 1_403_520_025
        }
    );
    assert_eq!(psi.cpu.full.map(|f| f.total_us), Some(0));
    assert_eq!(psi.memory.some.total_us, 0);
    assert_eq!(
        psi.io.some,
        PsiLine {
            avg10: 0.36,
            avg60: 0.68,
            avg300: 1.41,
            total_us: 47_668_412
        }
    );
    assert_eq!(psi.io.full.map(|f| f.total_us), Some(26_388_375));
}

#[test]
fn k3s_server_fixture_measures_nodefs_and_imagefs_at_their_paths() {
    let p = data(observe(&fixture("k3s-server"), k3s_filesystems()));
    let got: Vec<(FsRole, &str)> = p
        .filesystems
        .iter()
        .map(|f| (f.role, f.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (FsRole::Node, "/var/lib/kubelet"),
            (FsRole::Image, "/var/lib/rancher/k3s/agent/containerd"),
        ]
    );
    for f in &p.filesystems {
        assert!(f.total_bytes > 0, "{f:?}");
        assert!(f.available_bytes <= f.total_bytes, "{f:?}");
        assert!(f.inodes_free <= f.inodes_total, "{f:?}");
    }
}

#[test]
fn k3s_server_fixture_boot_id_is_the_captured_uuid() {
    let id = read_boot_id(&HostRoot::new(fixture("k3s-server"))).expect("boot id");
    assert_eq!(
        id.0,
        [
            0xd7, 0x03, 0xc7, 0x4f, 0x0c, 0x16, 0x42, 0x4f, 0x88, 0xb5, 0xa2, 0x51, 0x3d, 0x43,
            0x52, 0x06
        ]
    );
}

#[test]
fn kernel_without_psi_reports_psi_not_found_and_keeps_the_rest() {
    let p = data(observe(&fixture("no-psi"), vec![]));
    let Section::Unavailable(u) = &p.psi else {
        panic!("expected psi unavailable, got {:?}", p.psi);
    };
    assert_eq!(u.reason, UnavailableReason::NotFound);
    assert!(
        u.detail
            .contains("kernel without PSI (CONFIG_PSI) or booted with psi=0"),
        "{}",
        u.detail
    );
    assert!(u.detail.contains("proc/pressure/cpu"), "{}", u.detail);
    assert_eq!(p.uptime_secs, 4825);
    assert_eq!(p.pids.data().map(|p| p.limit), Some(32_768));
}

#[test]
fn meminfo_cut_off_mid_number_makes_memory_unparseable_not_small() {
    let p = data(observe(&fixture("no-psi"), vec![]));
    let Section::Unavailable(u) = &p.memory else {
        panic!("expected memory unavailable, got {:?}", p.memory);
    };
    assert_eq!(u.reason, UnavailableReason::Unparseable);
    assert!(u.detail.contains("proc/meminfo"), "{}", u.detail);
    assert!(u.detail.contains("MemAvailable"), "{}", u.detail);
}

#[test]
fn missing_kubelet_dir_is_measured_at_its_nearest_existing_ancestor() {
    let p = data(observe(&fixture("no-psi"), k3s_filesystems()));
    let got: Vec<(FsRole, &str)> = p
        .filesystems
        .iter()
        .map(|f| (f.role, f.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [(FsRole::Node, "/var/lib"), (FsRole::Image, "/var/lib")]
    );
}

#[test]
fn data_dir_symlinked_to_another_disk_is_followed_inside_the_host_root() {
    let host = tempfile::tempdir().expect("tempdir");
    copy_tree(
        &fixture("k3s-server").join("proc"),
        &host.path().join("proc"),
    );
    fs::create_dir_all(host.path().join("mnt/ssd/rancher/k3s/agent/containerd")).expect("mkdir");
    fs::create_dir_all(host.path().join("var/lib")).expect("mkdir");
    // Absolute, as an operator would write it on the host: must not resolve in our namespace.
    std::os::unix::fs::symlink("/mnt/ssd/rancher", host.path().join("var/lib/rancher"))
        .expect("symlink");
    let p = data(observe(host.path(), k3s_filesystems()));
    let image = p
        .filesystems
        .iter()
        .find(|f| f.role == FsRole::Image)
        .expect("imagefs measured");
    assert_eq!(image.path, "/mnt/ssd/rancher/k3s/agent/containerd");
}

#[test]
fn host_root_without_proc_leaves_pressure_unavailable_naming_the_path() {
    let empty = tempfile::tempdir().expect("tempdir");
    let Section::Unavailable(u) = observe(empty.path(), k3s_filesystems()) else {
        panic!("expected unavailable");
    };
    assert_eq!(u.reason, UnavailableReason::NotFound);
    assert!(u.detail.contains("proc/loadavg"), "{}", u.detail);
}

#[test]
fn observing_fills_only_the_pressure_section() {
    let mut probe = PressureProbe::new(
        HostRoot::new(fixture("k3s-server")),
        vec![],
        SharedThresholds::default(),
    );
    assert_eq!(probe.name(), "pressure");
    let blank = blank_sample(UnixMillis(1));
    let mut sample = blank.clone();
    probe.observe(&mut sample);
    assert!(sample.pressure.data().is_some());
    assert_eq!(sample.kubelet, blank.kubelet);
    assert_eq!(sample.datastore, blank.datastore);
    assert_eq!(sample.inventory, blank.inventory);
}

#[test]
fn this_machine_reports_sane_pressure() {
    let p = data(observe(
        Path::new("/"),
        vec![(FsRole::Node, PathBuf::from("/"))],
    ));
    let m = p.memory.data().expect("this machine has /proc/meminfo");
    assert!(m.total_bytes > m.available_bytes, "{m:?}");
    assert!(m.available_bytes > 0, "{m:?}");
    let pids = p.pids.data().expect("this machine has pid_max");
    assert!(pids.limit > pids.in_use && pids.in_use > 0, "{pids:?}");
    assert!(p.uptime_secs > 0);
    assert!(p.load.one >= 0.0 && p.load.five >= 0.0 && p.load.fifteen >= 0.0);
    // CI kernels may lack PSI; then it must say so, not be absent.
    match &p.psi {
        Section::Data(psi) => assert!(psi.cpu.some.avg10 <= 100.0, "{psi:?}"),
        Section::Unavailable(u) => assert_eq!(u.reason, UnavailableReason::NotFound, "{u:?}"),
        other => panic!("unexpected psi {other:?}"),
    }
    let [root] = &p.filesystems[..] else {
        panic!("expected one filesystem, got {:?}", p.filesystems);
    };
    assert_eq!(root.path, "/");
    assert!(root.total_bytes >= root.available_bytes && root.total_bytes > 0);
    assert!(root.inodes_total >= root.inodes_free);
}

#[test]
fn this_machine_has_a_boot_id() {
    let id = read_boot_id(&HostRoot::default()).expect("boot id");
    assert_ne!(id.0, [0; 16]);
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}
