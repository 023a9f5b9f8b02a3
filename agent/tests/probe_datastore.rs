//! Datastore kind detection and the MicroK8s dqlite section, against the host fixtures
//! (`tests/fixtures/hosts/`) and temp host trees built for each kind.
//!
//! The disk audit is configured to write nothing here (`max_bytes: 0` → `Skipped`): these
//! tests read fixture trees in the source directory and must not write into them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use edgeward_agent::probe::datastore::{DatastoreOptions, DatastoreProbe};
use edgeward_agent::probe::disk_audit::DiskAuditOptions;
use edgeward_agent::probe::{HostRoot, blank_sample};
use edgeward_proto::datastore::{Datastore, DatastoreHealth, Dqlite, DqliteMember, DqliteRole};
use edgeward_proto::{Sample, Section, UnavailableReason, UnixMillis};

const MICROK8S_BACKEND: &str = "var/snap/microk8s/current/var/kubernetes/backend";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

fn options() -> DatastoreOptions {
    let mut o = DatastoreOptions {
        disk_audit: Some(DiskAuditOptions {
            max_bytes: 0,
            ..DiskAuditOptions::default()
        }),
        ..DatastoreOptions::default()
    };
    // Nothing listens there: etcd sections must say unreachable, quickly.
    o.etcd.client_url = "https://127.0.0.1:9".parse().expect("url");
    o.etcd.metrics_url = "http://127.0.0.1:9/metrics".parse().expect("url");
    o
}

/// One observation, run as the sampler runs it: on a blocking thread of the agent's
/// single-threaded runtime while that runtime drives the I/O.
fn sample(root: &Path) -> Sample {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut p = DatastoreProbe::new(HostRoot::new(root), options(), rt.handle().clone());
    rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let mut s = blank_sample(UnixMillis(1_700_000_000_000));
            p.observe_at(&mut s, Instant::now());
            s
        })
        .await
    })
    .expect("observe")
}

fn health(root: &Path) -> DatastoreHealth {
    match sample(root).datastore {
        Section::Data(h) => h,
        other => panic!("expected data, got {other:?}"),
    }
}

fn unavailable(root: &Path) -> (UnavailableReason, String) {
    match sample(root).datastore {
        Section::Unavailable(u) => (u.reason, u.detail),
        other => panic!("expected unavailable, got {other:?}"),
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

fn mkdir(root: &Path, path: &str) {
    fs::create_dir_all(root.join(path)).expect("mkdir");
}

#[test]
fn microk8s_fixture_is_a_three_voter_ha_dqlite_cluster() {
    let h = health(&fixture("microk8s"));
    let local = DqliteMember {
        address: "192.168.50.11:19001".into(),
        id: 3_297_041_220_608_546_238,
        role: DqliteRole::Voter,
    };
    let Datastore::Dqlite(Section::Data(d)) = h.kind else {
        panic!("expected dqlite data, got {:?}", h.kind);
    };
    assert!(d.ha);
    assert_eq!(d.local, Some(local.clone()));
    let ids: Vec<u64> = d.members.iter().map(|m| m.id).collect();
    // The second ID exceeds i64::MAX: read from its text, not lost.
    assert_eq!(
        ids,
        vec![
            3_297_041_220_608_546_238,
            15_736_485_960_347_394_741,
            6_419_862_147_223_405_817
        ]
    );
    assert!(d.members.iter().all(|m| m.role == DqliteRole::Voter));
    assert_eq!(d.members[0], local);
    assert!(
        matches!(&h.disk_audit, Section::Unavailable(u) if u.reason == UnavailableReason::Skipped),
        "{:?}",
        h.disk_audit
    );
}

#[test]
fn k3s_server_fixture_with_cluster_init_is_etcd_and_says_why_it_cannot_see_it() {
    let h = health(&fixture("k3s-server"));
    let Datastore::Etcd(etcd) = h.kind else {
        panic!("cluster-init: true means embedded etcd, got {:?}", h.kind);
    };
    // The fixture has the CA but no client certificate: the client port is not tried.
    for (name, section) in [
        ("health", etcd.health.clone().map_unit()),
        ("status", etcd.status.clone().map_unit()),
    ] {
        match section {
            Section::Unavailable(u) => {
                assert_eq!(u.reason, UnavailableReason::NotFound, "{name}: {u:?}");
                assert!(u.detail.contains("client.crt"), "{name}: {}", u.detail);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        matches!(&etcd.metrics, Section::Unavailable(u) if u.reason == UnavailableReason::Unreachable),
        "{:?}",
        etcd.metrics
    );
    assert!(
        matches!(&etcd.snapshots, Section::Unavailable(u) if u.reason == UnavailableReason::NotFound),
        "{:?}",
        etcd.snapshots
    );
}

#[test]
fn k3s_agent_fixture_has_no_datastore() {
    let h = health(&fixture("k3s-agent"));
    assert_eq!(h.kind, Datastore::None);
    assert!(
        matches!(&h.disk_audit, Section::Unavailable(u) if u.reason == UnavailableReason::NotApplicable)
    );
}

#[test]
fn each_kind_is_detected_from_its_files() {
    let tree = |setup: &dyn Fn(&Path)| {
        let dir = tempfile::tempdir().expect("tempdir");
        setup(dir.path());
        dir
    };
    let sqlite = tree(&|r| write(r, "var/lib/rancher/k3s/server/db/state.db", ""));
    assert!(matches!(
        health(sqlite.path()).kind,
        Datastore::KineSqlite(_)
    ));

    let etcd = tree(&|r| {
        mkdir(r, "var/lib/rancher/k3s/server/db/etcd/member/snap");
        // A leftover state.db of a server migrated to etcd does not win.
        write(r, "var/lib/rancher/k3s/server/db/state.db", "");
    });
    assert!(matches!(health(etcd.path()).kind, Datastore::Etcd(_)));

    let relocated = tree(&|r| {
        write(
            r,
            "etc/rancher/k3s/config.yaml",
            "write-kubeconfig-mode: \"0644\"\n",
        );
        write(
            r,
            "etc/rancher/k3s/config.yaml.d/50-data.yaml",
            "data-dir: /mnt/ssd/k3s\n",
        );
        write(r, "mnt/ssd/k3s/server/db/state.db", "");
    });
    assert!(matches!(
        health(relocated.path()).kind,
        Datastore::KineSqlite(_)
    ));

    let worker = tree(&|r| mkdir(r, "var/lib/rancher/k3s/agent/containerd"));
    assert_eq!(health(worker.path()).kind, Datastore::None);

    let microk8s_worker = tree(&|r| mkdir(r, MICROK8S_BACKEND));
    assert_eq!(health(microk8s_worker.path()).kind, Datastore::None);

    let bare_server = tree(&|r| mkdir(r, "var/lib/rancher/k3s/server/tls"));
    let (reason, detail) = unavailable(bare_server.path());
    assert_eq!(reason, UnavailableReason::NotFound);
    assert!(detail.contains("datastore-endpoint"), "{detail}");

    let nothing = tree(&|r| mkdir(r, "etc"));
    let (reason, detail) = unavailable(nothing.path());
    assert_eq!(reason, UnavailableReason::NotApplicable);
    assert!(detail.starts_with("no K3s or MicroK8s under "), "{detail}");
}

/// Each place K3s takes `datastore-endpoint` from; the password must not leave the node.
#[test]
fn external_endpoint_is_reported_by_scheme_and_never_leaks_its_password() {
    let endpoint = "postgres://user:secretpw@db/k3s";
    let places: [(&str, String); 4] = [
        (
            "etc/rancher/k3s/config.yaml",
            format!("datastore-endpoint: {endpoint}\n"),
        ),
        (
            "etc/rancher/k3s/config.yaml.d/90-db.yaml",
            format!("datastore-endpoint: \"{endpoint}\"\n"),
        ),
        (
            "etc/systemd/system/k3s.service.env",
            format!("K3S_TOKEN=abc\nK3S_DATASTORE_ENDPOINT='{endpoint}'\n"),
        ),
        (
            "etc/systemd/system/k3s.service",
            format!(
                "[Service]\nExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--datastore-endpoint={endpoint}' \\\n"
            ),
        ),
    ];
    for (path, text) in places {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), path, &text);
        // A stale state.db from before the move to PostgreSQL.
        write(dir.path(), "var/lib/rancher/k3s/server/db/state.db", "");
        let s = sample(dir.path());
        let Section::Data(h) = &s.datastore else {
            panic!("{path}: {:?}", s.datastore);
        };
        assert_eq!(
            h.kind,
            Datastore::External {
                scheme: "postgres".into()
            },
            "{path}"
        );
        assert_no_secret(&s, path);
    }
}

#[test]
fn an_unreadable_config_holding_the_endpoint_does_not_quote_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/rancher/k3s/config.yaml",
        "datastore-endpoint: postgres://user:secretpw@db/k3s\ntls-san: [a, b\n",
    );
    let s = sample(dir.path());
    let Section::Unavailable(u) = &s.datastore else {
        panic!("{:?}", s.datastore);
    };
    assert_eq!(u.reason, UnavailableReason::Unparseable);
    assert!(u.detail.contains("config.yaml"), "{}", u.detail);
    assert_no_secret(&s, "broken config.yaml");
}

fn assert_no_secret(s: &Sample, what: &str) {
    let bytes = postcard::to_allocvec(s).expect("encode");
    for needle in ["secretpw", "user:"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{what}: {needle} in the postcard bytes"
        );
        assert!(
            !format!("{s:?}").contains(needle),
            "{what}: {needle} in Debug"
        );
    }
}

/// A MicroK8s tree with the given backend files (`None` = absent).
fn dqlite(info: Option<&str>, cluster: &str, ha: bool) -> Section<Dqlite> {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &format!("{MICROK8S_BACKEND}/cluster.yaml"),
        cluster,
    );
    if let Some(info) = info {
        write(dir.path(), &format!("{MICROK8S_BACKEND}/info.yaml"), info);
    }
    if ha {
        write(
            dir.path(),
            "var/snap/microk8s/current/var/lock/ha-cluster",
            "",
        );
    }
    match health(dir.path()).kind {
        Datastore::Dqlite(d) => d,
        other => panic!("expected dqlite, got {other:?}"),
    }
}

#[test]
fn dqlite_single_node_without_ha_or_info() {
    let d = dqlite(
        None,
        "- Address: 127.0.0.1:19001\n  ID: 3297041220608546238\n  Role: 0\n",
        false,
    );
    let Section::Data(d) = d else { panic!("{d:?}") };
    assert!(!d.ha);
    assert_eq!(d.local, None);
    assert_eq!(d.members.len(), 1);
}

#[test]
fn dqlite_broken_files_are_unparseable_naming_file_and_member() {
    for (info, cluster, want) in [
        (
            None,
            "- Address: a:1\n  Role: 0\n",
            "cluster.yaml: member 0: ID missing",
        ),
        (None, "\u{0}\u{1}garbage: [", "cluster.yaml"),
        (None, "", "cluster.yaml: not a YAML list"),
        (
            Some("Address: a:1\nID: -3\n"),
            "- Address: a:1\n  ID: 1\n",
            "info.yaml: ID is not",
        ),
        (
            Some("- not: a mapping\n"),
            "- Address: a:1\n  ID: 1\n",
            "info.yaml: not a mapping",
        ),
    ] {
        match dqlite(info, cluster, true) {
            Section::Unavailable(u) => {
                assert_eq!(u.reason, UnavailableReason::Unparseable, "{cluster:?}");
                assert!(u.detail.contains(want), "{cluster:?}: {}", u.detail);
            }
            other => panic!("{cluster:?}: {other:?}"),
        }
    }
}

/// `Section::map` is not in proto; compare sections without their data type.
trait MapUnit {
    fn map_unit(self) -> Section<()>;
}

impl<T> MapUnit for Section<T> {
    fn map_unit(self) -> Section<()> {
        match self {
            Section::Data(_) => Section::Data(()),
            Section::Unavailable(u) => Section::Unavailable(u),
            Section::NotDue { last } => Section::NotDue { last },
        }
    }
}
