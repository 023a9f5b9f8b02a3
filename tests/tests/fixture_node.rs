//! The real agent binary with its production probes on a fixture K3s server node
//! (`edgeward_devfleet::fixture_node`: the recorded host tree, a real kine database, the
//! stand-in kubelet over HTTPS with mTLS replaying real payloads) ships to the real aggregator
//! over mTLS. The stored samples, read back through the REST API and decoded into
//! `edgeward_proto::Sample`, carry every section with data in the first sample, and the
//! rate-limited sections (inventory, disk audit) are `NotDue` afterwards, naming that sample.
//!
//! The fixture lives where the disk audit has room to run (see [`roomy_dir`]): the audit
//! rightly skips a filesystem it could push towards the kubelet's DiskPressure threshold, and
//! a shared build machine's disk is often that full.
//!
//! The agent is started here rather than with `Edge::start`: that one passes its own
//! `--host-root` and `--interval`, and the agent refuses a flag given twice. Everything else
//! (aggregator, PKI, process handling) is the pipeline harness.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use edgeward_devfleet::fixture_node::{FixtureNode, KubeletHost, NODE_NAME};
use edgeward_proto::datastore::Datastore;
use edgeward_proto::inventory::{Distro, NodeRole};
use edgeward_proto::kubelet::{Healthz, PodPhases};
use edgeward_proto::pressure::{Signal, ThresholdSource};
use edgeward_proto::{Sample, Section};
use support::pipeline::{AGENT_LOG, Central, Pki, Process, poll};
use support::{TIMEOUT, agent};

/// MemTotal of the recorded `proc/meminfo`, in bytes.
const MEMTOTAL_BYTES: u64 = 24_684_084 * 1024;

fn data<'a, T: std::fmt::Debug>(section: &'a Section<T>, what: &str) -> &'a T {
    match section {
        Section::Data(d) => d,
        other => panic!("{what}: expected data, got {other:?}"),
    }
}

/// Every stored sample of the node, oldest first.
fn stored_samples(central: &Central) -> Vec<Sample> {
    let page = central
        .get(&format!("/v1/nodes/{NODE_NAME}/samples?limit=100"))
        .expect("the node has samples");
    page.as_array()
        .expect("samples page is an array")
        .iter()
        .map(|item| serde_json::from_value(item["sample"].clone()).expect("a stored Sample"))
        .collect()
}

/// The first of the system temp dir and `/dev/shm` on which the disk audit runs: after its
/// burst (at most 1 MB) more than max(10 % of the filesystem, 1 GiB) stays available (the
/// agent's default floors), with 256 MiB to spare for whatever else writes meanwhile, and
/// more than 5 % of the inodes are free. Fails the test when neither has room: the audit
/// would be `Skipped`, and this test is about data.
fn roomy_dir() -> PathBuf {
    let candidates = [std::env::temp_dir(), PathBuf::from("/dev/shm")];
    let mut seen = Vec::new();
    for dir in &candidates {
        let Ok(st) = rustix::fs::statvfs(dir) else {
            continue;
        };
        let unit = u128::from(st.f_frsize.max(1));
        let (total, available) = (
            u128::from(st.f_blocks) * unit,
            u128::from(st.f_bavail) * unit,
        );
        let floor = (total / 10).max(1 << 30) + (1 << 20) + (256 << 20);
        let inodes = st.f_files == 0 || st.f_ffree * 20 > st.f_files;
        if available > floor && inodes {
            return dir.clone();
        }
        seen.push(format!(
            "{}: {available} of {total} bytes available",
            dir.display()
        ));
    }
    panic!("no filesystem with room for the disk audit (it keeps max(10 %, 1 GiB) free): {seen:?}");
}

#[test]
fn k3s_server_fixture_node_ships_every_section_with_data_then_rate_limited_ones_not_due() {
    let node = FixtureNode::start_in(&roomy_dir(), KubeletHost::InProcess).expect("fixture node");
    let kine = node.kine();
    assert!(kine.rows > 2_000, "a few thousand rows: {kine:?}");
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    central.start();
    let certs = pki.node(NODE_NAME);
    let mut command = agent();
    command
        .arg("--config")
        .arg(node.config_file())
        .args(["--aggregator-url", &central.url(), "--interval", "200ms"])
        .args(["--backoff-max", "500ms", "--log-format", "json"])
        .arg("--tls-ca-file")
        .arg(pki.ca_file())
        .arg("--tls-client-cert")
        .arg(&certs.cert)
        .arg("--tls-client-key")
        .arg(&certs.key)
        .env("RUST_LOG", AGENT_LOG);
    let mut agent = Process::spawn(command);
    agent.wait_for("Agent started");
    poll("3 samples stored", TIMEOUT, || {
        (central.sample_count(NODE_NAME) >= 3).then_some(())
    });
    let (status, _) = agent.terminate();
    assert!(status.success(), "agent exit: {status:?}");
    let samples = stored_samples(&central);
    let first = samples.first().expect("stored samples");
    assert_eq!(first.seq.0, 1);

    // kubelet: every endpoint answered with its fixture.
    let kubelet = data(&first.kubelet, "kubelet");
    assert_eq!(kubelet.healthz, Section::Data(Healthz::Ok));
    let metrics = data(&kubelet.metrics, "kubelet metrics");
    assert_eq!(metrics.version.as_deref(), Some("v1.21.2"));
    let pods = data(&kubelet.pods, "kubelet pods");
    let phases = PodPhases {
        pending: 1,
        running: 5,
        ..PodPhases::default()
    };
    assert_eq!(pods.phases, phases);
    let scheduling = data(&kubelet.scheduling, "kubelet scheduling");
    assert_eq!(scheduling.capacity.cpu_millis, 2_000);
    assert_eq!(scheduling.capacity.memory_bytes, MEMTOTAL_BYTES);
    let configz = data(&kubelet.configz, "kubelet configz");
    assert_eq!(configz.max_pods, Some(110));
    assert_eq!(configz.eviction_hard.len(), 3, "{configz:?}");

    // pressure: margins to the kubelet's own thresholds, each measured.
    let pressure = data(&first.pressure, "pressure");
    let eviction = data(&pressure.eviction, "eviction");
    assert_eq!(eviction.source, ThresholdSource::Configz);
    let margins: BTreeSet<Signal> = eviction
        .margins
        .iter()
        .map(|m| m.threshold.signal)
        .collect();
    let thresholds: BTreeSet<Signal> = configz.eviction_hard.iter().map(|t| t.signal).collect();
    assert_eq!(margins, thresholds);
    for m in eviction.margins.iter() {
        assert!(
            m.capacity.is_some_and(|c| c > 0) && m.available.is_some() && m.margin.is_some(),
            "{m:?}"
        );
    }

    // datastore: the kine database as written, and a real fdatasync audit.
    let datastore = data(&first.datastore, "datastore");
    let Datastore::KineSqlite(sqlite) = &datastore.kind else {
        panic!("expected kine/SQLite, got {:?}", datastore.kind);
    };
    let sqlite = data(sqlite, "kine");
    assert_eq!(
        (sqlite.current_revision, sqlite.compacted_revision),
        (kine.current_revision, kine.compacted_revision)
    );
    assert!(
        sqlite.db_bytes > 0 && sqlite.wal_bytes > 0,
        "writer open: {sqlite:?}"
    );
    assert!(data(&sqlite.quick_check, "quick check").ok, "{sqlite:?}");
    let audit = data(&datastore.disk_audit, "disk audit");
    assert!(audit.writes > 0, "{audit:?}");
    assert!(
        audit.p50_us <= audit.p99_us && audit.p99_us <= audit.max_us,
        "{audit:?}"
    );
    assert!(audit.path.ends_with("server/db"), "{audit:?}");

    // inventory: K3s server, its certificates, identity and config digests.
    let inventory = data(&first.inventory, "inventory");
    assert_eq!(
        (inventory.distro, inventory.role),
        (Distro::K3s, NodeRole::Server)
    );
    assert_eq!(
        inventory.containerd_version.as_deref(),
        Some("v1.7.23-k3s2")
    );
    data(&inventory.cluster_identity, "cluster identity");
    assert!(
        inventory
            .certificates
            .iter()
            .any(|c| c.path.ends_with("server/tls/server-ca.crt") && c.is_ca),
        "{:?}",
        inventory.certificates
    );
    let keys: BTreeSet<&str> = inventory.config.iter().map(|d| d.key.as_str()).collect();
    for key in [
        "k3s/config.yaml:token",
        "k3s/registries.yaml",
        "sysctl:net.ipv4.ip_forward",
    ] {
        assert!(keys.contains(key), "{key} missing from {keys:?}");
    }
    assert!(
        !keys.contains("k3s/config.yaml:cluster-init"),
        "the fixture runs kine, not etcd: {keys:?}"
    );

    // Later samples: everything still measured, the rate-limited parts not due.
    let later = samples.last().expect("samples");
    assert!(later.seq > first.seq);
    let not_due = Some(first.seq);
    assert_eq!(later.inventory, Section::NotDue { last: not_due });
    let later_store = data(&later.datastore, "later datastore");
    assert_eq!(later_store.disk_audit, Section::NotDue { last: not_due });
    let Datastore::KineSqlite(Section::Data(later_kine)) = &later_store.kind else {
        panic!("expected kine data, got {:?}", later_store.kind);
    };
    assert_eq!(later_kine.quick_check, Section::NotDue { last: not_due });
    data(&later.kubelet, "later kubelet");
    data(
        &data(&later.pressure, "later pressure").eviction,
        "later eviction",
    );
}
