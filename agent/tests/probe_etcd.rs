//! The etcd part of the datastore probe against a real etcd (Debian `etcd-server`, 3.4 here)
//! with TLS client certificates, laid out as K3s lays them out under a temp host root, so the
//! default credential paths are the ones exercised.
//!
//! The probe runs as the sampler runs it: on a blocking thread of a single-threaded runtime.
//! Conditions are awaited by polling the probe with a deadline, never by fixed sleeps.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use edgeward_agent::probe::datastore::{DatastoreOptions, DatastoreProbe};
use edgeward_agent::probe::disk_audit::DiskAuditOptions;
use edgeward_agent::probe::{HostRoot, Probe, blank_sample};
use edgeward_proto::datastore::{Datastore, Etcd, EtcdHealth};
use edgeward_proto::{Section, UnavailableReason, UnixMillis};

#[path = "probe_etcd/cluster.rs"]
mod cluster;

use cluster::{Ca, DATA_DIR, Host, Member, Ports, TLS_DIR};
/// How long a condition may take to appear (elections take about a second).
const DEADLINE: Duration = Duration::from_secs(30);

/// The probe, run as the sampler runs it.
struct Harness {
    rt: tokio::runtime::Runtime,
    probe: Option<DatastoreProbe>,
}

impl Harness {
    fn new(root: &Path, ports: Ports) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut options = DatastoreOptions {
            disk_audit: Some(DiskAuditOptions {
                max_bytes: 0,
                ..DiskAuditOptions::default()
            }),
            ..DatastoreOptions::default()
        };
        options.etcd.client_url = format!("https://127.0.0.1:{}", ports.client)
            .parse()
            .expect("url");
        options.etcd.metrics_url = format!("http://127.0.0.1:{}/metrics", ports.metrics)
            .parse()
            .expect("url");
        let probe = DatastoreProbe::new(HostRoot::new(root), options, rt.handle().clone());
        Self {
            rt,
            probe: Some(probe),
        }
    }

    /// One observation's datastore section and how long it took.
    fn sample(
        &mut self,
    ) -> (
        Section<edgeward_proto::datastore::DatastoreHealth>,
        Duration,
    ) {
        let mut probe = self.probe.take().expect("probe");
        let started = Instant::now();
        let (probe, sample) = self
            .rt
            .block_on(async move {
                tokio::task::spawn_blocking(move || {
                    let mut s = blank_sample(UnixMillis(1_700_000_000_000));
                    probe.observe(&mut s);
                    (probe, s)
                })
                .await
            })
            .expect("observe");
        self.probe = Some(probe);
        (sample.datastore, started.elapsed())
    }

    /// One observation of etcd and how long it took.
    fn observe(&mut self) -> (Etcd, Duration) {
        match self.sample() {
            (Section::Data(h), took) => match h.kind {
                Datastore::Etcd(e) => (*e, took),
                other => panic!("expected etcd, got {other:?}"),
            },
            (other, _) => panic!("expected data, got {other:?}"),
        }
    }

    /// Observes until `done` holds, panicking with the last observation at the deadline.
    /// Before etcd has created its `member` directory the kind is not known yet.
    fn until(&mut self, what: &str, mut done: impl FnMut(&Etcd) -> bool, logs: &[&Member]) -> Etcd {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (section, _) = self.sample();
            if let Section::Data(health) = &section
                && let Datastore::Etcd(etcd) = &health.kind
                && done(etcd)
            {
                return (**etcd).clone();
            }
            if Instant::now() > deadline {
                for m in logs {
                    let log = fs::read_to_string(&m.log).unwrap_or_default();
                    eprintln!("--- {}:\n{log}", m.log.display());
                }
                panic!("{what}: not reached within {DEADLINE:?}; last: {section:?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn healthy(e: &Etcd) -> bool {
    e.health
        == Section::Data(EtcdHealth {
            healthy: true,
            reason: String::new(),
        })
}

fn reason<T: std::fmt::Debug>(s: &Section<T>) -> (UnavailableReason, String) {
    match s {
        Section::Unavailable(u) => (u.reason, u.detail.clone()),
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[test]
fn single_member_reports_every_section() {
    let host = Host::new();
    let ports = Ports::new();
    let snapshots = host.root().join("var/lib/rancher/k3s/server/db/snapshots");
    fs::create_dir_all(&snapshots).expect("mkdir");
    for (name, len, at) in [
        ("etcd-snapshot-srv-1700043200", 8192, 1_700_043_200),
        ("etcd-snapshot-srv-1700000000", 4096, 1_700_000_000),
    ] {
        fs::write(snapshots.join(name), vec![0u8; len]).expect("write");
        let mtime = std::time::UNIX_EPOCH + Duration::from_secs(at);
        fs::File::options()
            .write(true)
            .open(snapshots.join(name))
            .expect("open")
            .set_modified(mtime)
            .expect("mtime");
    }
    let member = host.start(
        "srv",
        ports,
        &[("srv", ports.peer)],
        &host.root().join(DATA_DIR),
    );
    let mut h = Harness::new(host.root(), ports);
    let e = h.until(
        "healthy",
        |e| healthy(e) && e.metrics.data().is_some_and(|m| m.has_leader),
        &[&member],
    );
    let status = e.status.data().expect("status");
    assert!(status.version.starts_with("3."), "{}", status.version);
    assert_ne!(status.member_id, 0);
    assert_eq!(status.leader_id, status.member_id, "a single member leads");
    assert_eq!(status.members.len(), 1);
    assert_eq!(status.members[0].id, status.member_id);
    assert_eq!(status.members[0].name, "srv");
    assert_eq!(
        status.members[0].peer_url,
        format!("http://127.0.0.1:{}", ports.peer)
    );
    assert!(
        status.db_size_bytes > 0 && status.db_size_in_use_bytes > 0,
        "{status:?}"
    );
    assert!(status.raft_applied_index > 0 && status.raft_term > 0);
    assert!(
        status.alarms.is_empty() && status.errors.is_empty(),
        "{status:?}"
    );
    let m = e.metrics.data().expect("metrics");
    assert!(m.has_leader && m.is_leader);
    assert!(m.db_size_bytes > 0 && m.db_size_in_use_bytes > 0);
    assert_eq!(m.quota_bytes, 2 << 30, "etcd's default quota");
    assert!(
        m.wal_fsync_p99_secs.is_some(),
        "lifetime fsyncs on the first scrape"
    );
    assert_eq!(m.peer_rtt_p99_secs, None, "no peers");
    let s = e.snapshots.data().expect("snapshots");
    assert_eq!((s.count, s.newest_bytes), (2, 8192));
    assert_eq!(s.newest_at, Some(UnixMillis(1_700_043_200_000)));
    drop(member);
    // Dead etcd: every network section says so, quickly.
    let (dead, took) = h.observe();
    assert_eq!(reason(&dead.health).0, UnavailableReason::Unreachable);
    assert_eq!(reason(&dead.status).0, UnavailableReason::Unreachable);
    assert_eq!(reason(&dead.metrics).0, UnavailableReason::Unreachable);
    eprintln!("dead etcd cycle took {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn three_members_keep_quorum_with_one_down_and_lose_the_leader_with_two() {
    let host = Host::new();
    let ports = [Ports::new(), Ports::new(), Ports::new()];
    let cluster = [
        ("m0", ports[0].peer),
        ("m1", ports[1].peer),
        ("m2", ports[2].peer),
    ];
    let others = tempfile::tempdir().expect("tempdir");
    let m0 = host.start("m0", ports[0], &cluster, &host.root().join(DATA_DIR));
    let m1 = host.start("m1", ports[1], &cluster, &others.path().join("m1"));
    let m2 = host.start("m2", ports[2], &cluster, &others.path().join("m2"));
    let mut h = Harness::new(host.root(), ports[0]);
    let logs = [&m0, &m1, &m2];
    let three = |e: &Etcd| e.status.data().is_some_and(|s| s.members.len() == 3);
    let leader = |e: &Etcd| e.metrics.data().is_some_and(|m| m.has_leader);
    h.until(
        "3 members, healthy",
        |e| healthy(e) && three(e) && leader(e),
        &logs,
    );

    m2.kill();
    let e = h.until(
        "quorum with one member down",
        |e| healthy(e) && three(e) && leader(e),
        &[&m0, &m1],
    );
    let status = e.status.data().expect("status");
    assert_ne!(status.leader_id, 0);
    assert_eq!(status.members.len(), 3, "a dead member is still listed");

    m1.kill();
    let e = h.until(
        "no leader with two members down",
        |e| e.metrics.data().is_some_and(|m| !m.has_leader),
        &[&m0],
    );
    // etcd 3.4 answers 503 {"health":"false"} without a leader (3.5 adds a reason).
    match &e.health {
        Section::Data(hl) => assert!(!hl.healthy, "{hl:?}"),
        Section::Unavailable(u) => assert_eq!(u.reason, UnavailableReason::Timeout, "{u:?}"),
        other => panic!("{other:?}"),
    }
    let status = e
        .status
        .data()
        .expect("status and member list answer locally");
    assert_eq!(status.leader_id, 0);
    assert!(
        status.errors.iter().any(|e| e.contains("no leader")),
        "{status:?}"
    );
    assert_eq!(status.members.len(), 3);
    assert!(e.metrics.data().is_some_and(|m| !m.is_leader));
    // The alarm GET (a raft request) hangs without a leader: the cycle is still bounded.
    let (again, took) = h.observe();
    eprintln!("leaderless cycle took {took:?}: health {:?}", again.health);
    assert!(
        took < Duration::from_secs(5),
        "a leaderless etcd stalled the cycle {took:?}"
    );
    drop(m0);
}

#[test]
fn a_foreign_client_certificate_fails_tls_while_metrics_still_answer() {
    let host = Host::new();
    let ports = Ports::new();
    let member = host.start(
        "srv",
        ports,
        &[("srv", ports.peer)],
        &host.root().join(DATA_DIR),
    );
    let mut h = Harness::new(host.root(), ports);
    h.until("healthy", healthy, &[&member]);
    let tls = host.root().join(TLS_DIR);
    let keep = |f: &str| fs::read(tls.join(f)).expect("read");
    let (cert, key) = (keep("client.crt"), keep("client.key"));
    // A client certificate from a CA etcd does not trust, at the default paths.
    Ca::new("someone-else").issue(&tls, "client", false);
    let e = h.observe().0;
    for (name, section) in [("health", reason(&e.health)), ("status", reason(&e.status))] {
        assert_eq!(
            section.0,
            UnavailableReason::Unauthorized,
            "{name}: {}",
            section.1
        );
        assert!(section.1.contains("TLS"), "{name}: {}", section.1);
        eprintln!("{name}: {}", section.1);
    }
    assert!(
        e.metrics.data().is_some_and(|m| m.has_leader),
        "{:?}",
        e.metrics
    );
    // An etcd whose server certificate we do not trust fails the same way.
    fs::write(tls.join("client.crt"), &cert).expect("write");
    fs::write(tls.join("client.key"), &key).expect("write");
    fs::write(tls.join("server-ca.crt"), Ca::new("not-etcds-ca").0.pem()).expect("write");
    let e = h.observe().0;
    let (why, detail) = reason(&e.status);
    assert_eq!(why, UnavailableReason::Unauthorized, "{detail}");
    eprintln!("untrusted server: {detail}");
    // The right files again: the client is rebuilt, no restart needed.
    fs::write(tls.join("server-ca.crt"), host.ca.0.pem()).expect("write");
    assert!(healthy(&h.observe().0));
    drop(member);
}
