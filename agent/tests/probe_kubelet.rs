//! The kubelet probe through its public API, against a stand-in kubelet that replays real
//! payloads (`tests/fixtures/kubelet/`, provenance in SOURCES.md and README.md there) over
//! real HTTPS with mTLS or bearer tokens, and plain HTTP for `/healthz`.
//!
//! Each test builds its own multi-thread runtime: the server runs on it and the probe spawns
//! its requests onto it, while `observe` runs on the test's own thread, as it runs on a
//! blocking thread in the agent. The only sleep is the deliberately slow endpoint.

mod support;

#[path = "probe_kubelet/access.rs"]
mod access;
#[path = "probe_kubelet/failures.rs"]
mod failures;
#[path = "probe_kubelet/replay.rs"]
mod replay;

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgeward_agent::probe::eviction::{ResolvedThresholds, SharedThresholds};
use edgeward_agent::probe::kubelet::{KubeletAuth, KubeletOptions, KubeletProbe};
use edgeward_agent::probe::{HostRoot, Probe, blank_sample};
use edgeward_proto::kubelet::{
    Healthz, KubeletConfig, KubeletHealth, PodPhases, QosClasses, Resources, TroubledContainer,
};
use edgeward_proto::pressure::{DefaultsOf, Quantity, Signal, Threshold, ThresholdSource};
use edgeward_proto::{Section, Unavailable, UnavailableReason, UnixMillis};
use support::kubelet_server::{Auth, KubeletServer, Pki, Reply, closed_port};
use tokio::runtime::Runtime;

/// 60 s after the fixture's `kubelet_pleg_last_seen_seconds 1.648119277e+09`.
fn clock() -> UnixMillis {
    UnixMillis(1_648_119_337_000)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubelet")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

const MEMTOTAL_BYTES: u64 = 24_684_084 * 1024;

/// A stand-in kubelet, a host tree and the thresholds cell of one test.
struct Node {
    rt: Runtime,
    pki: Pki,
    server: KubeletServer,
    host: tempfile::TempDir,
    thresholds: SharedThresholds,
}

impl Node {
    fn start(auth: Auth) -> Node {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let pki = Pki::new();
        let server = rt.block_on(KubeletServer::start(&pki, auth));
        let host = tempfile::tempdir().expect("tempdir");
        // Capacity: 2 online CPUs and the real meminfo of tests/fixtures/hosts/k3s-server.
        write(host.path(), "sys/devices/system/cpu/online", "0-1\n");
        let meminfo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hosts/k3s-server/proc/meminfo");
        write(
            host.path(),
            "proc/meminfo",
            &fs::read_to_string(meminfo).expect("meminfo"),
        );
        Node {
            rt,
            pki,
            server,
            host,
            thresholds: SharedThresholds::default(),
        }
    }

    fn mutual() -> Node {
        Node::start(Auth::Mutual)
    }

    /// Every endpoint answers with its fixture.
    fn healthy(self) -> Node {
        self.server.set("/healthz", Reply::Body(b"ok".to_vec()));
        self.server.set(
            "/metrics",
            Reply::Body(fixture("datadog-kubelet-metrics-1.21.txt")),
        );
        self.server
            .set("/pods", Reply::Body(fixture("datadog-pods.json")));
        self.server.set(
            "/stats/summary",
            Reply::Body(fixture("otel-stats-summary.json")),
        );
        self.server
            .set("/configz", Reply::Body(fixture("configz-k3s.json")));
        self
    }

    /// Options with the test CA and client certificate, no ServiceAccount directory.
    fn options(&self) -> KubeletOptions {
        KubeletOptions {
            healthz_url: self.server.healthz_url.clone(),
            api_url: self.server.api_url.clone(),
            auth: KubeletAuth::ClientCertificate {
                cert: self.pki.client_cert.clone(),
                key: self.pki.client_key.clone(),
            },
            ca_file: Some(self.pki.ca_file.clone()),
            service_account_dir: self.host.path().join("no-service-account"),
            timeout: Duration::from_secs(5),
            ..KubeletOptions::default()
        }
    }

    fn probe(&self, options: KubeletOptions) -> KubeletProbe {
        KubeletProbe::new(
            HostRoot::new(self.host.path()),
            options,
            self.thresholds.clone(),
            self.rt.handle().clone(),
        )
        .with_clock(clock)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.api_url)
    }

    fn thresholds(&self) -> ResolvedThresholds {
        self.thresholds.get().expect("thresholds were set")
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn observe(probe: &mut KubeletProbe) -> KubeletHealth {
    let mut sample = blank_sample(UnixMillis(0));
    probe.observe(&mut sample);
    match sample.kubelet {
        Section::Data(k) => k,
        other => panic!("the kubelet section is always data, got {other:?}"),
    }
}

fn data<T: std::fmt::Debug>(section: Section<T>) -> T {
    match section {
        Section::Data(d) => d,
        other => panic!("expected data, got {other:?}"),
    }
}

fn unavailable<T: std::fmt::Debug>(section: &Section<T>) -> &Unavailable {
    match section {
        Section::Unavailable(u) => u,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

fn t(signal: Signal, value: Quantity) -> Threshold {
    Threshold { signal, value }
}

/// The configz fixture's evictionHard, in key order.
fn configz_thresholds() -> Vec<Threshold> {
    vec![
        t(Signal::ImagefsAvailable, Quantity::Percent(5.0)),
        t(Signal::MemoryAvailable, Quantity::Absolute(100 << 20)),
        t(Signal::NodefsAvailable, Quantity::Percent(5.0)),
    ]
}

/// p99 of the fixture's lifetime relist histogram: rank 0.99 × 1 671 950 = 1 655 230.5 falls
/// in (0.05, 0.1], which holds 1 670 263 − 1 599 946 = 70 317 observations above 1 599 946.
fn lifetime_relist_p99() -> f64 {
    let rank = 0.99 * 1_671_950.0;
    0.05 + (0.1 - 0.05) * (rank - 1_599_946.0) / (1_670_263.0 - 1_599_946.0)
}
